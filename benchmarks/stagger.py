"""NeuralStagger benchmark: rollout error, time per step and training cost of the
spatio-temporal decompositions (s_H, s_W, s_T) against the classical MAC solver.

Cases: decaying turbulence on 64² (all decompositions, separate and shared
sub-networks; the same models also roll out Taylor–Green vortices), decaying
turbulence on 128², and flow past a cylinder in a 64 × 128 channel. Every model is
trained on the physics loss alone (no data) for the same number of iterations;
errors are relative L² velocity errors against the classical Crank–Nicolson
solver (``mac-cn``, the exact solution of the scheme the loss encodes).

    python benchmarks/stagger.py --write         # train, measure, write docs/
    python benchmarks/stagger.py --models DIR    # reuse / keep the trained models

``--quick`` runs a tiny setting (smoke test) and writes nothing.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

SPEED_TARGET, ERROR_TARGET = 3.0, 1.5


def _tag(s, shared, **kw):
    t = kw.get("tendency")
    return "x".join(map(str, s)) + ("-shared" if shared else "") + \
        ("-tendency" if t in (True, "euler") else f"-tendency-{t}" if t else "")


def _label(s, shared):
    return f"({s[0]},{s[1]},{s[2]})" + (" shared" if shared else "")


def _model(st, template, s, shared, args, iterations, batch, models, name, **kw):
    path = None if models is None else models / f"{name}_{_tag(s, shared, **kw)}.pt"
    if path is not None and path.is_file():
        return st.StaggerModel.load(path)
    m = st.train(template, s=s, shared=shared, width=args.width, iterations=iterations,
                 batch=batch, pool=args.pool, lr=args.lr, seed=0,
                 progress_bar=not args.quick, **kw)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        m.save(path)
    return m


def _stepper(model, tests, steps, torch, strided=False):
    """A closure running a rollout's network loop (``steps`` Δt, batch len(tests); every
    time sub-sequence, or with ``strided`` the one through ψ⁰ alone). A ``skip_only``
    model (:func:`_skip_only`) runs its tendency step without the network pass."""
    psi0, p0 = model._initial(tests, 1 if strided else None)
    advance = _skip_advance(model) if getattr(model, "skip_only", False) else model.advance

    def run():
        psi, p = psi0, p0
        with torch.inference_mode():
            for _ in range(steps // model.s[2]):
                psi, p = advance(psi, p)
        if psi.is_cuda:   # the loop only queued the GPU's work: wait for it
            torch.cuda.synchronize()

    run()  # warm-up
    return run


def _coarse_error(model, problem, offset=(0, 0)):
    """Relative L² velocity error at the last step of a single sub-grid rolled out alone
    (square sub-grid cells: s_H = s_W), against the reference on the same nodes."""
    from unisolve.problems.mac_flow import FlowProblem, MacFlow
    from unisolve.solvers.mac_projection import reference_rollout

    s_h, s_w, _ = model.s
    f = problem.flow
    coarse = MacFlow(f.ny // s_h, f.nx // s_w, f.h * s_h, f.nu, f.dt, mean_flow=f.mean_flow)
    ref = reference_rollout(problem)[:, offset[0]::s_h, offset[1]::s_w]
    on_subgrid = FlowProblem(coarse, ref[0], problem.steps, reference=ref)
    return float(on_subgrid.velocity_error(model.coarse_rollout(problem, offset))[-1])


def run_case(name, template, tests, configs, iterations, batch, args, torch, st,
             extra_tests=None):
    """Train (or load) every configuration, roll out the test problems, time everything."""
    from unisolve.solvers.mac_projection import MacProjection, reference_rollout

    steps = tests[0].steps
    t0 = time.perf_counter()
    refs = [reference_rollout(p) for p in tests]
    classical = (time.perf_counter() - t0) / (len(tests) * steps)
    for p in extra_tests or ():
        reference_rollout(p)  # stored on the problem for velocity_error
    picard = MacProjection(template.flow).rollout(tests[0].psi0, 5)[1]["picard"]
    rows, curves, snaps = [], {}, {"reference": refs[0][-1]}
    models = {}
    for s, shared in configs:
        m = _model(st, template, s, shared, args, iterations, batch, args.models, name)
        models[(s, shared)] = m
        traj = m.rollout(tests)
        errs = np.array([p.velocity_error(t) for p, t in zip(tests, traj, strict=False)])
        curves[_label(s, shared)] = errs.mean(axis=0)
        snaps[_label(s, shared)] = traj[0][-1]
        extra = None
        if extra_tests:
            extra = float(np.mean([p.velocity_error(m.rollout(p))[-1] for p in extra_tests]))
        coarse = None
        if s[2] == 1 and s[0] == s[1] > 1:
            coarse = float(np.mean([_coarse_error(m, p) for p in tests]))
        rows.append({"s": s, "shared": shared, "params": m.parameters,
                     "nets": 1 if shared else s[0] * s[1], "width": m.config["width"],
                     "train_s": m.meta.get("seconds", float("nan")),
                     "loss": float(np.mean(m.log.train_loss[-50:])),
                     "err1": float(errs[:, 1].mean()),
                     "err10": float(errs[:, min(10, steps)].mean()),
                     "err": float(errs[:, -1].mean()), "extra": extra, "coarse": coarse})
        print(f"[{name}] {_label(s, shared)}: {m.parameters} weights, trained in "
              f"{rows[-1]['train_s']:.0f} s, error at step {steps}: {rows[-1]['err']:.3f}",
              file=sys.stderr, flush=True)
    # timing: every configuration interleaved, batch 1 and the whole test ensemble
    fns1, fnsk = {}, {}
    for (s, shared), m in models.items():
        fns1[_label(s, shared)] = _stepper(m, tests[:1], steps, torch)
        fnsk[_label(s, shared)] = _stepper(m, tests, steps, torch)
    # training cost per step, measured here in one quiet stretch: (T(n + 10) − T(n)) / 10
    few = 1 if args.quick else 2
    for r in rows:
        def fit(k, r=r):
            st.train(template, s=r["s"], shared=r["shared"], width=args.width, iterations=k,
                     batch=batch, pool=args.pool, lr=args.lr, seed=0, progress_bar=False)
        rate = _report.median_times({"a": lambda fit=fit: fit(few),
                                     "b": lambda fit=fit: fit(few + 10)}, 1)
        r["s_per_it"] = max(0.0, rate["b"] - rate["a"]) / 10
    t1 = _report.median_times(fns1, args.repeats)
    tk = _report.median_times(fnsk, args.repeats)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # one core: no thread scaling to flatter the bigger network
    t1one = _report.median_times(fns1, args.repeats)
    torch.set_num_threads(threads)
    for r in rows:
        key = _label(r["s"], r["shared"])
        r["t1"], r["tk"], r["t1one"] = t1[key] / steps, tk[key] / steps, t1one[key] / steps
    return {"name": name, "rows": rows, "classical": classical, "picard": picard,
            "curves": curves, "snaps": snaps, "tests": len(tests), "steps": steps,
            "flow": template.flow, "iterations": iterations, "batch": batch}


def table(case):
    rows = case["rows"]
    base = rows[0]
    has_extra = any(r["extra"] is not None for r in rows)
    k = case["tests"]
    n = case["steps"]
    head = ("| (s_H, s_W, s_T) | networks × width | weights | training (s) | s / training "
            "step | final loss | "
            f"error step 1 | error step {min(10, n)} | error step {n} | error / (1,1,1) | "
            "ms / step (batch 1) | speed-up | ms / step (batch 1, 1 thread) | speed-up | "
            "ms / step / traj (batch "
            f"{k}) | speed-up |" + (f" Taylor–Green error step {n} |" if has_extra else "")
            + f" one sub-grid alone: error step {n} |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        lines.append(
            f"| {_label(r['s'], r['shared'])} | {r['nets']} × {r['width']} | {r['params']:,} | "
            f"{r['train_s']:.0f} | {r['s_per_it']:.3f} | {r['loss']:.2e} | {r['err1']:.2e} | "
            f"{r['err10']:.2e} | "
            f"{r['err']:.3f} | {r['err'] / base['err']:.2f} | {1e3 * r['t1']:.2f} | "
            f"{base['t1'] / r['t1']:.2f} | {1e3 * r['t1one']:.2f} | "
            f"{base['t1one'] / r['t1one']:.2f} | {1e3 * r['tk'] / k:.2f} | "
            f"{base['tk'] / r['tk']:.2f} |"
            + (f" {r['extra']:.3f} |" if has_extra else "")
            + (f" {r['coarse']:.3f} |" if r["coarse"] is not None else " — |"))
    c = case["classical"]
    lines.append(f"| classical mac-cn (Picard {min(case['picard'])}–{max(case['picard'])} "
                 f"per step) | — | — | — | — | 0 | 0 | 0 | 0 | — | {1e3 * c:.2f} | "
                 f"{base['t1'] / c:.2f} | — | — | — | — |" + (" 0 |" if has_extra else "") + " — |")
    return "\n".join(lines) + "\n"


def targets(case, torch_threads=2):
    """The target lines for (2,2,1) (separate and shared sub-networks) against (1,1,1)."""
    rows = {(_label(r["s"], r["shared"])): r for r in case["rows"]}
    base = rows.get("(1,1,1)")
    text, met_any = "", False
    for key in ("(2,2,1)", "(2,2,1) shared"):
        st = rows.get(key)
        if base is None or st is None:
            continue
        sp1, spk = base["t1"] / st["t1"], base["tk"] / st["tk"]
        sp1one = base["t1one"] / st["t1one"]
        ratio = st["err"] / base["err"]
        ok_err, ok1 = ratio <= ERROR_TARGET, sp1 >= SPEED_TARGET
        met_any |= ok_err and ok1

        def verdict(ok):
            return "met" if ok else "MISSED"

        text += (f"- {key} vs (1,1,1), {case['name']}: error at step {case['steps']} "
                 f"×{ratio:.2f} (target ≤ {ERROR_TARGET}: {verdict(ok_err)}); time per step "
                 f"{sp1:.2f}× faster at batch 1, {torch_threads} threads (target ≥ "
                 f"{SPEED_TARGET}: {verdict(ok1)}); {sp1one:.2f}× on one thread "
                 f"({verdict(sp1one >= SPEED_TARGET)}); {spk:.2f}× for the batch of "
                 f"{case['tests']} trajectories ({verdict(spk >= SPEED_TARGET)})\n")
    return text, met_any or base is None


def figures(cases, plt):
    paths = []
    main = cases[0]
    f = main["flow"]
    names = ["reference"] + [k for k in main["snaps"] if k != "reference"]
    fig, axes = plt.subplots(1, len(names), figsize=(2.6 * len(names), 2.8))
    from unisolve.problems.mac_flow import FlowProblem

    prob = FlowProblem(f, main["snaps"]["reference"], 1)
    w_ref = prob.vorticity(main["snaps"]["reference"])
    lim = np.abs(w_ref).max()
    for ax, k in zip(axes, names, strict=False):
        ax.imshow(prob.vorticity(main["snaps"][k]), origin="lower", cmap="RdBu_r", vmin=-lim,
                  vmax=lim)
        ax.set_title(k, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"vorticity after {main['steps']} steps, {main['name']}", fontsize=10)
    paths.append(_report.save_figure(fig, "stagger_vorticity.png"))
    fig, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 3.4), squeeze=False)
    for ax, case in zip(axes[0], cases, strict=False):
        for k, c in case["curves"].items():
            ax.semilogy(np.arange(1, len(c)), c[1:], label=k)
        ax.set_title(case["name"], fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("relative L² velocity error")
        ax.legend(fontsize=7)
    paths.append(_report.save_figure(fig, "stagger_errors.png"))
    return paths


# ----------------------------------------------------------------------------- issue 29
UNIT_SPEED_TARGET, UNIT_ERROR_TARGET = 3.0, 0.2   # per unit time vs mac-cn; error at t = 1
STEP_SPEED_TARGET = 3.0                           # (2,2,1) vs (1,1,1) per step, batch 8
CYL_ERROR_TARGET, CYL_RATIO_TARGET, STROUHAL_TOL = 0.2, 1.5, 0.10


def per_unit_time(seconds, calls, s_t, dt):
    """Wall seconds per unit of simulated time of a rollout of ``calls`` network calls
    (or classical steps, s_t = 1), each advancing s_t·dt: seconds / (calls · s_t · dt)."""
    if calls < 1 or s_t < 1 or dt <= 0:
        raise ValueError("calls and s_t must be >= 1 and dt > 0")
    return seconds / (calls * s_t * dt)


CLASSICAL = [  # (label, Δt multiple of the problem's, Picard tol, Picard maxiter)
    ("mac-cn (default: tol 1e-11)", 1, 1e-11, 100),
    ("mac-cn, 2Δt", 2, 1e-11, 100),
    ("mac-cn, tol 1e-4", 1, 1e-4, 100),
    ("mac-cn, 2 Picard sweeps", 1, 0.0, 2),
    ("mac-cn, 2 Picard sweeps, 2Δt", 2, 0.0, 2),
]


def _classical_traj(problem, dt_mult, tol, maxiter, horizon):
    """mac-cn with the given settings from the problem's ψ⁰ to the time ``horizon``:
    (trajectory, seconds, steps, status)."""
    from unisolve.solvers.mac_projection import MacProjection

    flow = dataclasses.replace(problem.flow, dt=problem.flow.dt * dt_mult)
    steps = round(horizon / flow.dt)
    t0 = time.perf_counter()
    traj, rec = MacProjection(flow, tol, maxiter).rollout(problem.psi0, steps)
    return traj, time.perf_counter() - t0, steps, rec["status"]


def _classical_run(problem, dt_mult, tol, maxiter, horizon):
    """Roll mac-cn out to the time ``horizon`` with the given settings: (ψ at the end,
    seconds, steps, status)."""
    traj, sec, steps, status = _classical_traj(problem, dt_mult, tol, maxiter, horizon)
    return traj[-1], sec, steps, status


def _error_at(problem, psi_end, level):
    """Relative L² velocity error of ψ against the reference at time level ``level``."""
    if not np.all(np.isfinite(psi_end)):
        return float("inf")
    return float(problem.velocity_error(np.stack([problem.psi0, psi_end]), every=level)[1])


def time_case(n, models, tests, repeats, torch):
    """The per-unit-time table: every classical setting and every model (strided when
    s_T > 1) rolled out to t = steps·Δt; wall time of one trajectory (batch 1) and per
    trajectory of the batch of all tests; error at the end against mac-cn's default."""
    import warnings

    from unisolve.solvers.mac_projection import reference_rollout

    dt = tests[0].flow.dt
    steps = tests[0].steps
    horizon = steps * dt
    for p in tests:
        reference_rollout(p)
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # diverging settings overflow
        for label, mult, tol, maxit in CLASSICAL:
            errs, status = [], None
            for p in tests:
                end, _, k, status_p = _classical_run(p, mult, tol, maxit, horizon)
                errs.append(_error_at(p, end, steps))
                status = status_p if status is None else status
            fn = {"x": lambda p=tests[0], m=mult, t=tol, it=maxit:
                  _classical_run(p, m, t, it, horizon)}
            sec = _report.median_times(fn, repeats)["x"]
            rows.append({"label": label, "kind": "classical", "dt": dt * mult, "calls": k,
                         "s_t": 1, "unit1": per_unit_time(sec, k, 1, dt * mult),
                         "unitk": None, "err": float(np.mean(errs)),
                         "status": status.name})
    fns1, fnsk = {}, {}
    for label, m in models.items():
        s_t = m.s[2]
        strided = s_t > 1
        trajs = [m.rollout(p, strided=strided) for p in tests]
        every = s_t if strided else 1
        errs = [float(p.velocity_error(t, every=every)[-1]) for p, t in zip(tests, trajs,
                                                                           strict=True)]
        rows.append({"label": label, "kind": "neural", "dt": dt * s_t, "calls": steps // s_t,
                     "s_t": s_t, "err": float(np.mean(errs)), "status": "COMPLETED"
                     if all(np.isfinite(errs)) else "NONFINITE", "model": m})
        fns1[label] = _stepper(m, tests[:1], steps, torch, strided)
        fnsk[label] = _stepper(m, tests, steps, torch, strided)
    t1 = _report.median_times(fns1, repeats)
    tk = _report.median_times(fnsk, repeats)
    for r in rows:
        if r["kind"] == "neural":
            r["unit1"] = per_unit_time(t1[r["label"]], r["calls"], r["s_t"], dt)
            r["unitk"] = per_unit_time(tk[r["label"]] / len(tests), r["calls"], r["s_t"], dt)
    return {"n": n, "rows": rows, "tests": len(tests), "horizon": horizon, "dt": dt}


def _skip_only(st, template, s, shared, tendency=True, **kw):
    """A ``tendency`` model whose network output is zero: the classical step (explicit
    Euler, or ``tendency="rk3"``) of the vorticity equation on each sub-grid, of s_T·Δt
    (the row the trained network has to beat)."""
    import torch

    m = st.train(template, s=s, shared=shared, width=4, iterations=1, batch=1, pool=1,
                 seed=0, tendency=tendency, progress_bar=False, **kw)
    with torch.no_grad():
        for q in m.net.out.parameters():
            q.zero_()
    m.skip_only = True   # timed without the (zero) network: see _stepper
    return m


def _skip_advance(model):
    """(ψ, p) → ψ + s_T Δt ψ_t: the tendency skip alone, without the network pass."""
    from unisolve.learned.stagger import merge_space

    s_h, s_w, s_t = model.s

    def advance(psi, p):
        psi_s, _, const = model._split(psi, p)
        tend = model._tendency(psi_s, None, const)
        return psi + s_t * model.flow.dt * merge_space(tend, s_h, s_w), p

    return advance


def time_table(case):
    rows = case["rows"]
    base = rows[0]
    ok_rows = [r for r in rows if r["kind"] == "classical" and r["err"] <= UNIT_ERROR_TARGET]
    best = min(ok_rows, key=lambda r: r["unit1"])
    k = case["tests"]
    head = (f"| solver | Δt per call | calls to t = {case['horizon']:g} | error at "
            f"t = {case['horizon']:g} | s per unit time (batch 1) | speed-up vs mac-cn "
            f"default | vs fastest classical with error ≤ {UNIT_ERROR_TARGET} | s per unit "
            f"time per trajectory (batch {k}) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        fine = r["status"] in ("CONVERGED", "COMPLETED", "MAX_ITER") and np.isfinite(r["err"])
        # a mean relative error above 1: some test blew up without leaving the floats
        err = (f"{r['err']:.3g}" if fine and r["err"] <= 1 else
               f"diverged (mean error {r['err']:.2g})" if fine else
               f"diverged ({r['status']})")
        lines.append(
            f"| {r['label']} | {r['dt']:g} | {r['calls']} | {err} | {r['unit1']:.3f} | "
            f"{base['unit1'] / r['unit1']:.2f} | {best['unit1'] / r['unit1']:.2f} | "
            + (f"{r['unitk']:.3f} |" if r["unitk"] is not None else "— |"))
    neural = [r for r in rows if r["kind"] == "neural" and "alone" not in r["label"]]
    good = [r for r in neural if r["err"] <= UNIT_ERROR_TARGET]
    text = ""
    if good:
        top = min(good, key=lambda r: r["unit1"])
        sp = base["unit1"] / top["unit1"]
        text = (f"- best staggered setting with error ≤ {UNIT_ERROR_TARGET} at "
                f"t = {case['horizon']:g}: {top['label']}, {sp:.2f}× faster than mac-cn's "
                f"default per unit time (target ≥ {UNIT_SPEED_TARGET}: "
                f"{'met' if sp >= UNIT_SPEED_TARGET else 'MISSED'}); "
                f"{best['unit1'] / top['unit1']:.2f}× the fastest classical setting with "
                f"error ≤ {UNIT_ERROR_TARGET} ({best['label']})\n")
    elif neural:
        top = min(neural, key=lambda r: r["err"])
        text = (f"- no staggered setting reaches error ≤ {UNIT_ERROR_TARGET} at "
                f"t = {case['horizon']:g} (best {top['label']}: {top['err']:.3f}): target "
                "MISSED\n")
    return "\n".join(lines) + "\n", text


def step_table(n, models, k, repeats, torch):
    """Time per network call at batch 1 and batch k of s_T = 1 models (one call = one Δt)
    and the speed-ups against the first model, (1,1,1)."""
    from unisolve.problems import mac_flow as mf

    tests = [mf.decaying_turbulence(n, seed=1000 + j, steps=8) for j in range(k)]
    fns1 = {lbl: _stepper(m, tests[:1], 8, torch) for lbl, m in models.items()}
    fnsk = {lbl: _stepper(m, tests, 8, torch) for lbl, m in models.items()}
    t1 = _report.median_times(fns1, repeats)
    tk = _report.median_times(fnsk, repeats)
    base = next(iter(models))
    lines = [f"| model at {n}² | ms per call, batch 1 | speed-up | ms per call per trajectory, "
             f"batch {k} | speed-up |", "|---|---|---|---|---|"]
    out = {}
    for lbl in models:
        a, b = t1[lbl] / 8 * 1e3, tk[lbl] / 8 / k * 1e3
        out[lbl] = (t1[base] / t1[lbl], tk[base] / tk[lbl])
        lines.append(f"| {lbl} | {a:.2f} | {out[lbl][0]:.2f} | {b:.2f} | {out[lbl][1]:.2f} |")
    text = ""
    for lbl in models:
        if lbl.startswith("(2,2,1)"):
            sp = out[lbl][1]
            text += (f"- {lbl} vs (1,1,1) at {n}², batch {k}: {sp:.2f}× faster per step "
                     f"(target ≥ {STEP_SPEED_TARGET}: "
                     f"{'met' if sp >= STEP_SPEED_TARGET else 'MISSED'}); batch 1: "
                     f"{out[lbl][0]:.2f}×\n")
    return "\n".join(lines) + "\n", text


def shedding_starts(ny, nx, warm, spacing, k, long_steps):
    """mac-cn from the plug flow (seed 0) for ``warm`` steps (into periodic shedding), then
    k test starts ``spacing`` steps apart; plus the reference's probe series over
    ``long_steps`` steps from the first start (for its Strouhal number)."""
    from unisolve.problems import mac_flow as mf
    from unisolve.solvers.mac_projection import MacProjection

    base = mf.cylinder_channel(ny, nx, steps=1)
    stepper = MacProjection(base.flow)
    total = warm + max((k - 1) * spacing, long_steps)
    traj, _ = stepper.rollout(base.psi0, total)
    starts = [traj[warm + j * spacing] for j in range(k)]
    probe = mf.wake_probe(base, traj[warm: warm + long_steps + 1])
    return base, starts, probe


def _strouhal(mf, signal, dt, d, u):
    """St, or the reason there is none ("no shedding", "blew up") as a string."""
    if not np.all(np.isfinite(signal)):
        return "blew up"
    try:
        return mf.strouhal(signal, dt, d, u)
    except ValueError:
        return "no shedding"


def cylinder_case(models, ny, nx, warm, spacing, k, steps, long_steps, repeats, torch):
    """Errors at step ``steps`` from k shedding starts, Strouhal of a ``long_steps``
    rollout, time per unit of simulated time against mac-cn, vorticity snapshots."""
    from unisolve.problems import mac_flow as mf
    from unisolve.solvers.mac_projection import reference_rollout

    base, starts, probe = shedding_starts(ny, nx, warm, spacing, k, long_steps)
    dt = base.flow.dt
    _, _, d = base.meta["cylinder"]
    u_in = 1.0
    st_ref = _strouhal(mf, probe, dt, d, u_in)
    tests = [mf.FlowProblem(base.flow, psi, steps, f"cylinder-start-{j}",
                            dict(base.meta, start=warm + j * spacing))
             for j, psi in enumerate(starts)]
    t0 = time.perf_counter()
    for p in tests:
        reference_rollout(p)
    cn_unit = per_unit_time((time.perf_counter() - t0) / len(tests), steps, 1, dt)
    long = mf.FlowProblem(base.flow, starts[0], long_steps, "cylinder-long", base.meta)
    rows, snaps = [], {"reference": tests[0].reference_rollout()}
    fns = {}
    for label, m in models.items():
        s_t = m.s[2]
        strided = s_t > 1
        every = s_t if strided else 1
        trajs = [m.rollout(p, strided=strided) for p in tests]
        errs = np.array([p.velocity_error(t, every=every) for p, t in zip(tests, trajs,
                                                                           strict=True)])
        snaps[label] = trajs[0]
        lt = m.rollout(long, strided=strided)
        st_net = _strouhal(mf, mf.wake_probe(long, lt), dt * every, d, u_in)
        fns[label] = _stepper(m, tests[:1], steps, torch, strided)
        rows.append({"label": label, "s_t": s_t, "err": errs.mean(axis=0), "st": st_net,
                     "every": every})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # diverging settings overflow
        for label, mult, tol, maxit in CLASSICAL[1:]:     # the default is the reference
            horizon = steps * dt
            errs = []
            for p in tests:
                traj = _classical_traj(p, mult, tol, maxit, horizon)[0]
                errs.append(p.velocity_error(traj, every=mult) if np.all(np.isfinite(traj))
                            else np.full(steps // mult + 1, np.inf))
            lt = _classical_traj(long, mult, tol, maxit, long_steps * dt)[0]
            st_c = _strouhal(mf, mf.wake_probe(long, lt), dt * mult, d, u_in)
            fns[label] = (lambda p=tests[0], m=mult, tl=tol, it=maxit, h=horizon:
                          _classical_traj(p, m, tl, it, h))
            rows.append({"label": label, "s_t": mult, "err": np.mean(errs, axis=0),
                         "st": st_c, "every": mult, "classical": True})
    t = _report.median_times(fns, repeats)
    for r in rows:
        r["unit"] = per_unit_time(t[r["label"]], steps // r["s_t"], r["s_t"], dt)
    return {"rows": rows, "st_ref": st_ref, "cn_unit": cn_unit, "snaps": snaps,
            "steps": steps, "long": long_steps, "k": k, "flow": base.flow, "warm": warm,
            "spacing": spacing, "problem": base}


def cylinder_table(case):
    n = case["steps"]
    head = (f"| solver | error step 1 | error step 10 | error step {n} | error / fine | "
            f"Strouhal ({case['long']} steps) | vs mac-cn's | s per unit time | speed-up vs "
            "mac-cn |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    fine = next((r for r in case["rows"] if r["label"].startswith("(1,1,1)")), None)
    ref_txt = (f"{case['st_ref']:.4f}" if isinstance(case["st_ref"], float)
               else case["st_ref"])
    text = ""

    def st_within(r):   # the Strouhal target: within STROUHAL_TOL of mac-cn's
        return (isinstance(r["st"], float) and isinstance(case["st_ref"], float)
                and abs(r["st"] / case["st_ref"] - 1) <= STROUHAL_TOL)

    for r in case["rows"]:
        e = r["err"]

        def at(step, e=e, r=r):
            j = step // r["every"]
            return f"{e[j]:.3g}" if j < len(e) and step % r["every"] == 0 else "—"

        st_ok = isinstance(r["st"], float) and isinstance(case["st_ref"], float)
        st_txt = f"{r['st']:.4f}" if isinstance(r["st"], float) else r["st"]
        rel = f"{(r['st'] / case['st_ref'] - 1) * 100:+.1f} %" if st_ok else "—"
        ratio = e[-1] / fine["err"][-1] if fine is not None else float("nan")
        lines.append(f"| {r['label']} | {at(1)} | {at(10)} | {e[-1]:.3g} | {ratio:.2f} | "
                     f"{st_txt} | {rel} | {r['unit']:.3f} | {case['cn_unit'] / r['unit']:.2f} |")
        if "alone" in r["label"] or r.get("classical"):   # classical rows: no target
            continue
        if r is fine:
            ok = e[-1] <= CYL_ERROR_TARGET
            text += (f"- fine model: error at step {n} {e[-1]:.3f} (target ≤ "
                     f"{CYL_ERROR_TARGET}: {'met' if ok else 'MISSED'})\n")
        elif fine is not None and r["label"].startswith("(2,2,1)"):
            text += (f"- {r['label']}: error at step {n} ×{ratio:.2f} the fine model's "
                     f"(target ≤ {CYL_RATIO_TARGET}: "
                     f"{'met' if ratio <= CYL_RATIO_TARGET else 'MISSED'})\n")
        text += (f"- {r['label']}: Strouhal {st_txt} vs mac-cn's {ref_txt} "
                 f"(target within {STROUHAL_TOL:.0%}: {'met' if st_within(r) else 'MISSED'})\n")
    at10 = "0" if n >= 10 else "—"
    lines.append(f"| mac-cn (default: tol 1e-11; the reference) | 0 | {at10} | 0 | — | "
                 f"{ref_txt} | — | {case['cn_unit']:.3f} | 1.00 |")
    # the currency: the fine model against the fastest classical setting that meets the
    # same two targets (error ≤ 0.2 at step n, Strouhal within 10 %), in the same run
    def meets(r):
        return r["err"][-1] <= CYL_ERROR_TARGET and st_within(r)

    ok = [r for r in case["rows"] if r.get("classical") and meets(r)]
    best = min(ok, key=lambda r: r["unit"]) if ok else None
    if best is not None:
        text += (f"- per unit time against the fastest classical setting that meets both "
                 f"targets ({best['label']}: error {best['err'][-1]:.3g}, "
                 f"{best['unit']:.3f} s):\n")
        for r in case["rows"]:
            if not r.get("classical"):
                text += (f"  - {r['label']}: **{best['unit'] / r['unit']:.2f}×** "
                         f"({'meets both targets' if meets(r) else 'misses them'})\n")
    return "\n".join(lines) + "\n", text


def cylinder_figure(case, plt):
    """Vorticity at steps 0, n/2 and n of the first test start: reference, then each model."""
    from unisolve.problems.mac_flow import FlowProblem

    snaps = case["snaps"]
    n = case["steps"]
    prob = FlowProblem(case["flow"], snaps["reference"][0], 1)
    lim = np.abs(prob.vorticity(snaps["reference"][0])[:, 8:]).max() * 0.6
    names = list(snaps)
    fig, axes = plt.subplots(len(names), 3, figsize=(9.6, 1.9 * len(names)), squeeze=False)
    every = {r["label"]: r["every"] for r in case["rows"]}
    for i, k in enumerate(names):
        for j, step in enumerate((0, n // 2, n)):
            ax = axes[i, j]
            e = every.get(k, 1)
            if step % e == 0 and step // e < len(snaps[k]):
                ax.imshow(prob.vorticity(snaps[k][step // e]), origin="lower", cmap="RdBu_r",
                          vmin=-lim, vmax=lim)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(k.replace(" (no network)", "").replace(" step alone", "\nstep alone"),
                              fontsize=8)
            if i == 0:
                ax.set_title(f"step {step}", fontsize=9)
    fig.suptitle("cylinder 64×128, Re 100: vorticity from a shedding state", fontsize=10)
    return _report.save_figure(fig, "stagger_cylinder.png")


# (s, shared, tendency): the per-unit-time models; RK3 skips take the long s_T = 5 step
# (Euler blows up past s_T = 2 at 128²: the table of issue 29 in docs/BENCHMARKS.md)
TIME_CONFIGS = [((2, 2, 1), True, "euler"), ((2, 2, 2), True, "euler"),
                ((2, 2, 5), True, "rk3")]
STEP_CONFIGS = [((1, 1, 1), False), ((2, 2, 1), False), ((2, 2, 1), True)]
CYL_CONFIGS = [((1, 1, 1), False), ((2, 2, 1), False)]
# the cylinder's training options (issue 29 item 1): the RK3 skip with the Brinkman term
# and the projection (the network corrects a classical coarse step), training states from
# the skip's own rollout past 2000 steps (its wake), penalised faces weighted 1/(λ + 1)
# (their residual is λ + 1 times the velocity error), the loss-minimising pressure
CYL_TRAIN: dict = {"tendency": "rk3", "starts": "self", "self_warm": 2000,
                   "solid_weight": 0.05, "pressure": "projected"}
SCHEME = {"euler": "Euler", "rk3": "RK3"}


def run_issue29(args, wanted, torch, st, mf):
    """The issue-29 cases: per-unit-time and per-step speed (time64, time128) and the
    shedding cylinder (cylshed). Returns (sections: name → body, all targets met)."""
    q = args.quick
    sections, ok_all = {}, True
    speed_body = ""
    for n in (64, 128):
        if f"time{n}" not in wanted or (q and n == 128):   # --quick: one tiny grid
            continue
        nn = 16 if q else n
        steps = 10 if q else args.steps   # a multiple of every s_T
        k = 2 if q else args.tests
        tests = [mf.decaying_turbulence(nn, seed=1000 + j, steps=steps) for j in range(k)]
        template = mf.decaying_turbulence(nn, steps=steps)
        its = 3 if q else args.iterations_time
        targs = argparse.Namespace(**{**vars(args), "lr": args.lr_time})
        models = {f"{_label(s, sh)} + {SCHEME[t]} tendency": _model(
            st, template, s, sh, targs, its, 2 if q else 4, args.models, f"t{nn}",
            tendency=t) for s, sh, t in TIME_CONFIGS}
        for s, sh, t in TIME_CONFIGS:   # the skip alone: the coarse classical step
            if s[2] > 1:
                models[f"{_label(s, sh)} {SCHEME[t]} step alone (no network)"] = _skip_only(
                    st, template, s, sh, tendency=t)
        case = time_case(nn, models, tests, args.repeats, torch)
        tab, tgt = time_table(case)
        ok_all &= "MISSED" not in tgt or nn != 128
        # per step: untrained networks of each shape (the weights do not change the time)
        shapes = {_label(s, sh): st.train(template, s=s, shared=sh, width=args.width,
                                          iterations=1, batch=1, pool=1, seed=0,
                                          progress_bar=False) for s, sh in STEP_CONFIGS}
        stab, stgt = step_table(nn, shapes, 2 if q else 8, args.repeats, torch)
        speed_body += (f"### decaying turbulence {nn}², per unit of simulated time\n\n"
                       f"{k} test trajectories to t = {steps * template.flow.dt:g} "
                       f"(Δt = {template.flow.dt:g}); models trained {its} Adam steps of "
                       f"batch 4 (pool {args.pool}, lr {args.lr_time:g}, fine width {args.width}, "
                       "seed 0); staggered models with s_T > 1 roll out strided (one network "
                       "call per s_T·Δt, `rollout(strided=True)`); classical rows are mac-cn "
                       "with the settings named (errors against mac-cn's default at Δt); "
                       "times are medians of interleaved runs of the network loop alone.\n\n"
                       + tab + "\n" + tgt + "\n"
                       + f"#### time per network call at {nn}² (untrained networks of each "
                       "shape: the weights do not change the time)\n\n" + stab + "\n"
                       + stgt + "\n")
    if speed_body:
        sections["stagger-speed"] = ("## NeuralStagger per unit of simulated time (issue 29)"
                                     "\n\n" + speed_body)
    if "cylshed" in wanted:
        ny, nx = (16, 32) if q else (64, 128)
        warm, spacing, k = (8, 2, 2) if q else (2000, 50, 4)
        steps, long_steps = (4, 40) if q else (args.steps, 800)
        template = mf.cylinder_channel(ny, nx, steps=steps)
        its = 3 if q else args.iterations_cylshed
        kw = dict(CYL_TRAIN, self_warm=20) if q and "self_warm" in CYL_TRAIN else CYL_TRAIN
        cargs = argparse.Namespace(**{**vars(args), "lr": args.lr_cylshed})
        models = {_label(s, sh): _model(st, template, s, sh, cargs, its, 2 if q else 8,
                                        args.models, "cylself", **kw)
                  for s, sh in CYL_CONFIGS}
        if CYL_TRAIN.get("tendency"):   # the skip alone: the coarse classical step
            for s, sh in CYL_CONFIGS:
                models[f"{_label(s, sh)} {SCHEME[CYL_TRAIN['tendency']]} step alone "
                       "(no network)"] = _skip_only(st, template, s, sh,
                                                    tendency=CYL_TRAIN["tendency"])
        case = cylinder_case(models, ny, nx, warm, spacing, k, steps, long_steps,
                             args.repeats, torch)
        tab, tgt = cylinder_table(case)
        ok_all &= "MISSED" not in tgt
        body = (f"## NeuralStagger on the shedding cylinder (issue 29)\n\n{k} test starts from "
                f"mac-cn's periodic shedding (steps {warm}, {warm + spacing}, … of a run from "
                f"the plug flow), errors against mac-cn over {steps} steps; Strouhal number "
                f"St = f·D/U from the wake probe (`wake_probe`, `strouhal`) over a "
                f"{long_steps}-step rollout from the first start; models trained {its} Adam "
                f"steps of batch 8, options {CYL_TRAIN or 'the defaults'}.\n\n" + tab + "\n"
                + tgt + "\n")
        sections["stagger-cylinder"] = body
        if not q and not args.no_write:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            path = cylinder_figure(case, plt)
            sections["stagger-cylinder"] += f"![stagger_cylinder](img/{Path(path).name})\n"
    return sections, ok_all


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny setting; writes nothing")
    _report.add_write_options(ap)
    ap.add_argument("--iterations", type=int, default=1200, help="training steps, 64² case")
    ap.add_argument("--iterations-128", type=int, default=500, help="training steps, 128²")
    ap.add_argument("--iterations-cyl", type=int, default=600, help="training steps, channel")
    ap.add_argument("--iterations-cylshed", type=int, default=600,
                    help="training steps, shedding cylinder (issue 29)")
    ap.add_argument("--lr-cylshed", type=float, default=3e-4,
                    help="learning rate of the shedding-cylinder models (issue 29)")
    ap.add_argument("--width", type=int, default=32, help="hidden channels of the fine net")
    ap.add_argument("--pool", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--tests", type=int, default=8, help="test trajectories (64²)")
    ap.add_argument("--steps", type=int, default=50, help="rollout steps")
    ap.add_argument("--repeats", type=int, default=5, help="timing repeats")
    ap.add_argument("--iterations-time", type=int, default=500,
                    help="training steps, per-unit-time models (issue 29)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default min(2, available); mac-cn is single-threaded)")
    ap.add_argument("--lr-time", type=float, default=1e-3,
                    help="learning rate of the per-unit-time models (2e-3 diverged at 128²)")
    ap.add_argument("--cases", default="turb64,turb128,cylinder,time64,time128,cylshed",
                    help="issue 10: turb64, turb128, cylinder; issue 29: time64, time128, "
                    "cylshed")
    ap.add_argument("--models", type=Path, default=None,
                    help="directory to keep trained models in and reuse them from")
    args = ap.parse_args(argv)
    import torch

    from unisolve.learned import stagger as st
    from unisolve.problems import mac_flow as mf
    from unisolve.solvers.mac_projection import reference_rollout

    torch.set_num_threads(args.threads or max(1, min(torch.get_num_threads(), 2)))
    q = args.quick
    if q:
        args.width, args.pool, args.repeats = 8, 4, 1
    t_start = time.perf_counter()
    all_configs = [((1, 1, 1), False), ((2, 2, 1), False), ((2, 2, 1), True),
                   ((2, 2, 2), False), ((4, 4, 1), False)]
    cases = []
    wanted = args.cases.split(",")
    steps = 4 if q else args.steps
    if "turb64" in wanted:
        n = 16 if q else 64
        tests = [mf.decaying_turbulence(n, seed=1000 + k, steps=steps)
                 for k in range(2 if q else args.tests)]
        tg = [mf.taylor_green_flow(n, steps=steps, k=k) for k in (1, 2)]
        cases.append(run_case(f"turbulence {n}²", mf.decaying_turbulence(n, steps=steps),
                              tests, all_configs, 3 if q else args.iterations, 2 if q else 16,
                              args, torch, st, extra_tests=tg))
    if "turb128" in wanted and not q:
        tests = [mf.decaying_turbulence(128, seed=1000 + k, steps=steps) for k in range(4)]
        cases.append(run_case("turbulence 128²", mf.decaying_turbulence(128, steps=steps),
                              tests, [((1, 1, 1), False), ((2, 2, 1), False),
                                      ((2, 2, 1), True), ((4, 4, 1), False)],
                              args.iterations_128, 4, args, torch, st))
    if "cylinder" in wanted:
        ny, nx = (16, 32) if q else (64, 128)
        warm = 4 if q else 200
        tests = []
        for k in range(2 if q else 4):
            start = mf.cylinder_channel(ny, nx, seed=1000 + k, steps=warm)
            psi = reference_rollout(start)[-1]
            tests.append(mf.FlowProblem(start.flow, psi, steps, f"cylinder-{k}",
                                        dict(start.meta, warmup=warm)))
        cases.append(run_case(f"cylinder {ny}×{nx}, Re 100",
                              mf.cylinder_channel(ny, nx, steps=steps), tests,
                              [((1, 1, 1), False), ((2, 2, 1), False), ((2, 2, 1), True)],
                              3 if q else args.iterations_cyl, 2 if q else 8, args, torch, st))
    sections29, ok29 = run_issue29(args, wanted, torch, st, mf)
    total = time.perf_counter() - t_start
    body_tables, ok_all = "", ok29
    for case in cases:
        f = case["flow"]
        desc = (f"### {case['name']}\n\n{case['tests']} test trajectories of {case['steps']} "
                f"steps (Δt = {f.dt:g}, ν = {f.nu:g}, h = {f.h:.4g}); every model "
                f"{case['iterations']} Adam steps of batch {case['batch']} from a pool of "
                f"{args.pool} states, lr {args.lr:g} cosine to lr/20, float32, "
                f"fine width {args.width}.\n\n")
        tgt, ok = targets(case, torch.get_num_threads())
        ok_all &= ok
        body_tables += desc + table(case) + "\n" + tgt + "\n"
    print(body_tables)
    for body in sections29.values():
        print(body)
    print(f"whole benchmark {total / 60:.1f} min")
    if not q and not args.no_write:
        head = (_report.header(_report.command_line())
                + "- CPU numbers only (GPU timings: `benchmarks/stagger_gpu.py`)\n"
                + f"- threads: {torch.get_num_threads()}; times are medians of "
                  f"{args.repeats} interleaved runs; whole benchmark {total / 60:.0f} min\n\n")
        if cases:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            paths = figures(cases, plt)
            body = ("## NeuralStagger: physics-constrained flow stepping with spatio-temporal "
                    "decomposition\n\n" + head + body_tables
                    + "".join(f"![{Path(p).stem}](img/{Path(p).name})\n\n" for p in paths))
            _report.write_section("stagger", body)
        for name, body in sections29.items():
            title, rest = body.split("\n\n", 1)
            _report.write_section(name, title + "\n\n" + head + rest)
    return 0 if (ok_all or q) else 1


if __name__ == "__main__":
    raise SystemExit(main())

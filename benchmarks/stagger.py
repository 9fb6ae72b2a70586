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
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

SPEED_TARGET, ERROR_TARGET = 3.0, 1.5


def _tag(s, shared):
    return "x".join(map(str, s)) + ("-shared" if shared else "")


def _label(s, shared):
    return f"({s[0]},{s[1]},{s[2]})" + (" shared" if shared else "")


def _model(st, template, s, shared, args, iterations, batch, models, name):
    path = None if models is None else models / f"{name}_{_tag(s, shared)}.pt"
    if path is not None and path.is_file():
        return st.StaggerModel.load(path)
    m = st.train(template, s=s, shared=shared, width=args.width, iterations=iterations,
                 batch=batch, pool=args.pool, lr=args.lr, seed=0,
                 progress_bar=not args.quick)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        m.save(path)
    return m


def _stepper(model, tests, steps, torch):
    """A closure running a rollout's network loop (``steps`` steps, batch len(tests))."""
    psi0, p0 = model._initial(tests)

    def run():
        psi, p = psi0, p0
        with torch.inference_mode():
            for _ in range(steps // model.s[2]):
                psi, p = model.advance(psi, p)

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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny setting; writes nothing")
    _report.add_write_options(ap)
    ap.add_argument("--iterations", type=int, default=1200, help="training steps, 64² case")
    ap.add_argument("--iterations-128", type=int, default=500, help="training steps, 128²")
    ap.add_argument("--iterations-cyl", type=int, default=600, help="training steps, channel")
    ap.add_argument("--width", type=int, default=32, help="hidden channels of the fine net")
    ap.add_argument("--pool", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--tests", type=int, default=8, help="test trajectories (64²)")
    ap.add_argument("--steps", type=int, default=50, help="rollout steps")
    ap.add_argument("--repeats", type=int, default=5, help="timing repeats")
    ap.add_argument("--cases", default="turb64,turb128,cylinder")
    ap.add_argument("--models", type=Path, default=None,
                    help="directory to keep trained models in and reuse them from")
    args = ap.parse_args(argv)
    import torch

    from unisolve.learned import stagger as st
    from unisolve.problems import mac_flow as mf
    from unisolve.solvers.mac_projection import reference_rollout

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 2)))
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
    total = time.perf_counter() - t_start
    body_tables, ok_all = "", True
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
    print(f"whole benchmark {total / 60:.1f} min")
    if not q and not args.no_write:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        paths = figures(cases, plt)
        body = ("## NeuralStagger: physics-constrained flow stepping with spatio-temporal "
                "decomposition\n\n" + _report.header(_report.command_line())
                + "- GPU: none lent to this session (CPU numbers only)\n"
                + f"- threads: {torch.get_num_threads()}; times are medians of "
                  f"{args.repeats} interleaved runs of the network loop alone; whole "
                  f"benchmark {total / 60:.0f} min\n\n" + body_tables
                + "".join(f"![{Path(p).stem}](img/{Path(p).name})\n\n" for p in paths))
        _report.write_section("stagger", body)
    return 0 if (ok_all or q) else 1


if __name__ == "__main__":
    raise SystemExit(main())

"""DCDM against classical preconditioned CG on unseen pressure-Poisson layouts.

Kaneda et al. (ICML 2023) solve the pressure projection of a fluid with solid
obstacles by conjugate directions whose search direction is a CNN's guess of
A⁻¹r (``method="dcdm"``). This script measures, on obstacle layouts the model
never saw (``pressure_poisson(n, seed=s)`` for s = 1, 2, ...; training uses
seeds ≥ 1000), at 64², 128² and 256² cells (the 256² case uses the 64² model,
as the paper tests generalisation across resolution):

* iterations to rtol 1e-6 (true residual) of CG, IC(0)-PCG, SSOR-PCG, AMG-PCG
  (PyAMG smoothed aggregation) and DCDM, mean over layouts;
* wall time, median of interleaved repeats per layout, then mean over layouts;
  IC(0) and AMG times are set-up + solve (the factorisation / hierarchy is
  built inside every solve); DCDM's share spent in the network is reported;
* the issue's targets: DCDM iterations ≤ 1/5 of CG's at 128²; DCDM's
  iteration growth from the smallest to the largest size below CG's; and
  where DCDM's wall time loses on a CPU, by how much.

SSOR-PCG uses ``--omega`` (default ``tune``: the weight with the fewest
iterations on a grid 1.0, 1.05, ..., 1.95, picked on the first layout of each
size, so the peer is as strong as a fixed weight can make it). Every run's
true residual is checked; a DCDM run that does not converge is a result and is
listed in the table; a classical peer that does not converge is a bug: the
script then exits with status 1 without touching docs/. DCDM's ``maxiter`` is
``max(200, 2 x CG's iterations)`` on the same system (``--dcdm-maxiter-factor``),
so a poor model stops instead of running to n iterations, and a method that
fails in the first timing round is not repeated. PyAMG's set-up draws a random start
vector from numpy's global generator (spectral-radius estimate of the
smoother); it is seeded (0) before every AMG-PCG solve so that runs repeat.

Writes the tables into docs/BENCHMARKS.md (section ``dcdm``) and
docs/img/dcdm_residuals.png, docs/img/dcdm_growth.png.

Usage::

    python benchmarks/dcdm.py                       # the default model, 64² 128² 256²
    python benchmarks/dcdm.py --model my_model.pt --sizes 64 128
    python benchmarks/dcdm.py --quick               # smoke test: a model trained here, 24² 32²
    python benchmarks/dcdm.py --outside             # outside the training family, 64²
    python benchmarks/dcdm.py --outside --dim 3     # the same in 3D, 16³ 32³
    python benchmarks/dcdm.py --plain               # the main table with safeguard=False

The main table's DCDM is the default, safeguarded method (Jacobi-PCG runs beside the
network and takes over once it is ahead; on the training family the network stays and
the iterates are the paper's) with the default model of ``method="dcdm"``: in 2D the
multilevel one (``weights/dcdm2d_ml.pt``; ``--model unisolve/learned/weights/dcdm2d_64.pt``
for the pooled one), in 3D ``dcdm3d_32.pt``. ``--outside`` writes the section ``dcdm-outside``
(``dcdm-3d-outside``): CG, IC(0)-PCG, the paper's DCDM (``safeguard=False``) and the
safeguarded one on Dirichlet boxes, one large obstacle, thin walls, a maze, a varying
coefficient and a pinned cell, with the issue-28 target (≤ 1.0x CG's iterations).
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

import unisolve as us

RTOL = 1e-6
OMEGA_GRID = tuple(round(1.0 + 0.05 * i, 2) for i in range(20))  # 1.0 ... 1.95
METHODS = ("CG", "IC(0)-PCG", "SSOR-PCG", "AMG-PCG", "DCDM")
PEERS = METHODS[:-1]
#: grid dimension, torch device of the network, DCDM's k: set by main() (--dim, --device, --k)
SETUP = {"dim": 2, "device": "cpu", "k": 2, "safeguard": True}
#: in-script model of --quick: one 24² layout, 5-10 s on one core of the 2-core machine. A weak
#: model (it may need more iterations than CG): --quick checks the plumbing, not the targets.
QUICK_TRAINING = {"n": 24, "seed": 1000, "samples": 200, "m": 300, "epochs": 6, "lr": 3e-3}


# ------------------------------------------------------------------ model


def problem(n: int, seed: int):
    """The benchmark's system: an unseen obstacle layout at n cells per side."""
    return us.problems.pressure_poisson(n, dim=SETUP["dim"], seed=seed)


def cells(n: int) -> str:
    return f"{n}²" if SETUP["dim"] == 2 else f"{n}³"


def device_words() -> str:
    import torch

    if SETUP["device"] == "cpu":
        return f"torch on the CPU, {torch.get_num_threads()} thread(s)"
    return (f"the network on {torch.cuda.get_device_name()} (torch {torch.__version__}); "
            f"everything else, and all peers, on the CPU ({torch.get_num_threads()} torch "
            f"thread(s))")


def quick_model():
    """A small DCDM trained here on one 24² layout (for the smoke test only)."""
    import torch

    from unisolve.learned.dcdm import DCDM

    q = QUICK_TRAINING
    p = us.problems.pressure_poisson(q["n"], seed=q["seed"])
    t0 = time.perf_counter()
    model = DCDM.train([p], epochs=q["epochs"], seed=0, samples=q["samples"], m=q["m"],
                       lr=q["lr"], progress=False)
    model.meta["training"]["command"] = (
        f"benchmarks/dcdm.py --quick: DCDM.train([pressure_poisson({q['n']}, "
        f"seed={q['seed']})], epochs={q['epochs']}, samples={q['samples']}, m={q['m']}, "
        f"lr={q['lr']}, seed=0)")
    model.meta["training"]["wall_seconds_with_data"] = time.perf_counter() - t0
    model.meta["training"]["threads"] = torch.get_num_threads()
    return model, "trained in-script (--quick)"


def load_model(path: Path | None):
    """The model to benchmark and a line saying where it came from."""
    from unisolve.learned import dcdm

    if path is not None:
        return dcdm.DCDM.load(path), f"`{path}`"
    if SETUP["dim"] in (2, 3):  # the default of method="dcdm" (issue 28)
        from unisolve.learned import dcdm_multilevel

        dim = SETUP["dim"]
        return (dcdm_multilevel.pretrained_multilevel(dim),
                f"shipped, the {dim}D default (`unisolve/learned/weights/"
                f"{dcdm_multilevel.PRETRAINED_FILES[dim]}`)")
    try:
        return (dcdm.pretrained(SETUP["dim"]),
                f"shipped (`unisolve/learned/weights/{dcdm.PRETRAINED_FILES[SETUP['dim']]}`)")
    except FileNotFoundError as err:
        raise SystemExit(
            f"{err}\nThe shipped DCDM model is missing: make it with "
            "`python benchmarks/train_dcdm.py`, or pass --model PATH (or run --quick)."
        ) from None


def training_seeds(model) -> set[int]:
    """Layout seeds the model was trained on (parsed from its training record)."""
    names = model.meta.get("training", {}).get("problems", [])
    return {int(m.group(1)) for name in names if (m := re.search(r"seed=(\d+)", name))}


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def training_record(model) -> str:
    t = model.meta.get("training", {})
    if not t:
        return "- training record: none in the model file"
    sizes = sorted({m.group(1) for name in t.get("problems", [])
                    if (m := re.search(r"n=(\d+)", name))})
    loss = t.get("train_loss") or [math.nan]
    val = [v for v in (t.get("val_loss") or []) if v is not None] or [math.nan]
    wall = t.get("wall_seconds_with_data")
    return (f"- model training: {t.get('epochs')} epochs, {_duration(t.get('seconds', 0))} of "
            f"training"
            + (f" ({_duration(wall)} with the Ritz data)" if wall else "")
            + f" on {_trained_on(t)}; {len(t.get('problems', []))} "
            f"layout(s) at {'/'.join(cells(int(s)) for s in sizes) or '?'} x {t.get('samples')} "
            f"Ritz vectors (m = {t.get('m')}), lr {t.get('lr')}"
            + (f" (x {t['lr_decay']:.3g} per epoch)" if t.get("lr_decay", 1.0) != 1.0 else "")
            + f"; loss {loss[0]:.3f} → "
            f"{loss[-1]:.3f} (validation {val[-1]:.3f}); torch {t.get('torch', '?')}\n"
            f"- training command: `{t.get('command', '?')}`"
            + "".join(f"\n- earlier stage {i}: `{st.get('command', '?')}` — {st.get('epochs')} "
                      f"epochs, {_duration(st.get('wall_seconds_with_data', 0))} on "
                      f"{_trained_on(st)}"
                      for i, st in enumerate(model.meta.get("lineage", []), 1)))


def _trained_on(stage: dict) -> str:
    return stage.get("gpu") or f"the CPU ({stage.get('threads', '?')} threads)"


# ------------------------------------------------------------------ runs


def method_options(name: str, model, omega: float) -> dict:
    return {
        "CG": {"method": "cg"},
        "IC(0)-PCG": {"method": "pcg", "preconditioner": "ic0"},
        "SSOR-PCG": {"method": "ssor-pcg", "omega": omega},
        "AMG-PCG": {"method": "pcg", "preconditioner": "amg"},
        "DCDM": {"method": "dcdm", "model": model, "device": SETUP["device"], "k": SETUP["k"],
                 "safeguard": SETUP["safeguard"]},
    }[name]


def solve(p, name: str, model, omega: float, **extra):
    """One solve of method ``name``; PyAMG's set-up is seeded (see the module docstring)."""
    if name == "AMG-PCG":
        np.random.seed(0)  # noqa: NPY002 -- pyamg draws its spectral-radius guess from here
    return us.solve(p, rtol=RTOL, **method_options(name, model, omega), **extra)


def warm_up(model) -> None:
    """Compile the numba kernels and start torch, so no timed run pays for it."""
    p = problem(16 if SETUP["dim"] == 2 else 8, seed=0)
    for name in METHODS:
        solve(p, name, model, 1.5)


def tune_omega(p) -> float:
    """SSOR weight with the fewest SSOR-PCG iterations on the grid (ties: the smaller ω)."""
    its = [us.solve(p, method="ssor-pcg", omega=w, rtol=RTOL).iterations for w in OMEGA_GRID]
    return OMEGA_GRID[int(np.argmin(its))]


def true_residual_ok(p, r) -> tuple[bool, float]:
    """Converged status AND ‖b − A x‖ ≤ rtol‖b‖, recomputed here."""
    bnorm = float(np.linalg.norm(p.b))
    rel = float(np.linalg.norm(p.b - p.A @ r.x)) / bnorm
    return bool(r.converged and rel <= RTOL * (1 + 1e-9)), rel


def dcdm_maxiter(p, factor: float) -> int:
    """DCDM's iteration cap on ``p``: ``max(200, factor x CG's iterations)``."""
    return max(200, int(factor * us.solve(p, method="cg", rtol=RTOL).iterations))


def run_layout(p, model, omega: float, repeats: int, cap_factor: float) -> dict:
    """Every method on one system: iterations, median wall time, checks.

    ``repeats`` interleaved rounds (one ``_report.median_times`` call each); a method
    that fails its check in the first round is not run again (a stalled DCDM at 256²
    would otherwise cost minutes per repeat).
    """
    cap = dcdm_maxiter(p, cap_factor)
    last: dict = {}

    def solver(name):
        extra = {"maxiter": cap} if name == "DCDM" else {}

        def run():
            last[name] = solve(p, name, model, omega, **extra)
        return run

    times: dict[str, list[float]] = {name: [] for name in METHODS}
    active = list(METHODS)
    for _ in range(repeats):
        for name, t in _report.median_times({k: solver(k) for k in active}, 1).items():
            times[name].append(t)
        active = [k for k in active if true_residual_ok(p, last[k])[0]]
    out = {}
    for name in METHODS:
        r = last[name]
        ok, rel = true_residual_ok(p, r)
        out[name] = {"iterations": r.iterations, "time": statistics.median(times[name]),
                     "converged": ok, "status": r.status.name, "rel_residual": rel,
                     "network_share": (r.info["network_seconds"] / r.time
                                       if name == "DCDM" else None)}
    out["DCDM"]["maxiter"] = cap
    return out


def run_size(n: int, seeds: list[int], model, omega_opt, repeats: int,
             cap_factor: float) -> dict:
    problems = [problem(n, seed=s) for s in seeds]
    omega = tune_omega(problems[0]) if omega_opt == "tune" else float(omega_opt)
    layouts = []
    for s, p in zip(seeds, problems, strict=True):
        t0 = time.perf_counter()
        res = run_layout(p, model, omega, repeats, cap_factor)
        layouts.append(res)
        print(f"  {cells(n)} seed {s} ({p.n} unknowns, {time.perf_counter() - t0:.0f} s): "
              + ", ".join(f"{k} {v['iterations']} its {v['time']:.3g} s"
                          + ("" if v["converged"] else f" NOT CONVERGED ({v['status']})")
                          for k, v in res.items()), flush=True)
    summary = {"n": n, "omega": omega, "unknowns": float(np.mean([p.n for p in problems])),
               "layouts": layouts, "seeds": list(seeds)}
    for name in METHODS:
        summary[name] = {
            "iterations": float(np.mean([lay[name]["iterations"] for lay in layouts])),
            "time": float(np.mean([lay[name]["time"] for lay in layouts])),
            "converged": sum(lay[name]["converged"] for lay in layouts),
        }
    summary["DCDM"]["network_share"] = float(np.mean([lay["DCDM"]["network_share"]
                                                      for lay in layouts]))
    return summary


def residual_curves(n: int, seed: int, model, omega: float, cap_factor: float) -> dict:
    """True relative residual histories of all five methods on one layout."""
    p = problem(n, seed=seed)
    bnorm = float(np.linalg.norm(p.b))
    curves = {}
    for name in METHODS:
        if name != "DCDM":
            extra = {"residual": "true"}  # ‖b − A x_k‖ at every iterate (DCDM always does)
        else:
            extra = {"maxiter": dcdm_maxiter(p, cap_factor)}
        curves[name] = np.asarray(solve(p, name, model, omega, **extra).residuals) / bnorm
    return curves


# ------------------------------------------------------------------ report


def _growth(sizes: list[dict], name: str) -> float:
    return sizes[-1][name]["iterations"] / sizes[0][name]["iterations"]


def _exponent(sizes: list[dict], name: str) -> float:
    """γ in iterations ∝ n^γ between the smallest and the largest size."""
    return math.log(_growth(sizes, name)) / math.log(sizes[-1]["n"] / sizes[0]["n"])


def _speed(ratio: float) -> str:
    return f"{ratio:.1f}x slower" if ratio >= 1 else f"{1 / ratio:.1f}x faster"


def targets(sizes: list[dict]) -> tuple[list[str], list[str]]:
    """The targets table and the plain-words wall-time verdicts."""
    by_n = {s["n"]: s for s in sizes}
    at = 128 if 128 in by_n else sizes[-1]["n"]
    where = cells(at) + ("" if at == 128 else " (largest size run; the issue's target is at 128²)")
    ratio = by_n[at]["DCDM"]["iterations"] / by_n[at]["CG"]["iterations"]
    rows = ["| target | measured | goal | verdict |", "|---|---:|---|---|",
            f"| DCDM its / CG its at {where} | {ratio:.3f} | ≤ 0.2 | "
            f"{'met' if ratio <= 0.2 else '**NOT met**'} |"]
    if len(sizes) > 1:
        lo, hi = sizes[0]["n"], sizes[-1]["n"]
        g_d, g_c = _growth(sizes, "DCDM"), _growth(sizes, "CG")
        rows.append(f"| iteration growth its({cells(hi)}) / its({cells(lo)}): DCDM vs CG | "
                    f"{g_d:.2f} (∝ n^{_exponent(sizes, 'DCDM'):.2f}) vs {g_c:.2f} "
                    f"(∝ n^{_exponent(sizes, 'CG'):.2f}) | DCDM's smaller | "
                    f"{'met' if g_d < g_c else '**NOT met**'} |")
    words = []
    for s in sizes:
        d = s["DCDM"]["time"]
        fastest = min(PEERS, key=lambda k: s[k]["time"])
        r_cg, r_best = d / s["CG"]["time"], d / s[fastest]["time"]
        rows.append(f"| wall time DCDM / CG at {cells(s['n'])} | {r_cg:.2f} | report | "
                    f"{_speed(r_cg)} |")
        rows.append(f"| wall time DCDM / fastest peer ({fastest}) at {cells(s['n'])} | "
                    f"{r_best:.2f} | report | {_speed(r_best)} |")
        share = s["DCDM"]["network_share"]
        words.append(f"- {cells(s['n'])}: DCDM is {_speed(r_cg)} than CG and {_speed(r_best)} "
                     f"than the fastest peer ({fastest}) on this machine; {100 * share:.0f}% of "
                     f"its time is the network (the rest — matvecs, A-orthogonalisation, "
                     f"transfers — takes {d * (1 - share):.3g} s vs CG's whole solve "
                     f"{s['CG']['time']:.3g} s).")
    return rows, words


def summarise(sizes: list[dict], args, model, origin: str, cmd: str, threads: int,
              failures: list[str]) -> str:
    seeds = sizes[0]["seeds"]
    head = ("| n | unknowns | " + " | ".join(METHODS) + " | DCDM time in network |\n"
            "|---|---:|" + "---:|" * len(METHODS) + "---:|")
    rows = []
    for s in sizes:
        row = []
        for name in METHODS:
            v = s[name]
            cell = f"{v['iterations']:.0f} its, {v['time']:.3g} s"
            if name == "SSOR-PCG":
                cell += f" (ω {s['omega']:g})"
            if v["converged"] < len(seeds):
                cell += f" **{len(seeds) - v['converged']} not converged**"
            row.append(cell)
        rows.append(f"| {cells(s['n'])} | {s['unknowns']:,.0f} | " + " | ".join(row)
                    + f" | {100 * s['DCDM']['network_share']:.0f}% |")
    target_rows, words = targets(sizes)
    used = sorted(training_seeds(model))
    trained_on = ("the model's training seeds are not recorded" if not used else
                  f"the model was trained on seed {used[0]}" if len(used) == 1 else
                  f"the model was trained on seeds {used[0]}-{used[-1]}")
    omega_note = ("tuned per size: the fewest SSOR-PCG iterations on the grid 1.0, 1.05, ..., "
                  "1.95 on the first layout" if args.omega == "tune" else f"fixed {args.omega}")
    lines = [
        f"## DCDM vs preconditioned CG on unseen {SETUP['dim']}D obstacle layouts "
        f"(`benchmarks/dcdm.py`{', GPU' if SETUP['device'] != 'cpu' else ''})", "",
        _report.header(cmd).rstrip(),
        f"- problems: `pressure_poisson(n, dim={SETUP['dim']}, seed=s)` (Neumann walls and "
        f"obstacles, singular consistent system on the fluid cells), "
        f"seeds {', '.join(map(str, seeds))} — "
        f"unseen layouts ({trained_on}); rtol {RTOL:g} on the true residual "
        f"from x0 = 0, every run checked",
        f"- DCDM model: {origin}, `{model!r}`, the same model at every size; k = {SETUP['k']} "
        f"previous directions; "
        + ("safeguarded (the default: Jacobi-PCG beside it)" if SETUP["safeguard"] else
           "`safeguard=False` (the paper's method)") + f"; {device_words()}; maxiter = max(200, "
        f"{args.dcdm_maxiter_factor:g} x CG's iterations on the same system)",
        training_record(model),
        f"- SSOR-PCG ω: {omega_note}",
        f"- iterations: mean over the {len(seeds)} layout(s); time: median of {args.repeats} "
        f"interleaved runs per layout, then the mean over layouts, wall time of the whole "
        f"`unisolve.solve` call — for IC(0)-PCG and AMG-PCG that is set-up (factorisation, "
        f"AMG hierarchy) + solve", "",
        head, *rows, "",
        "Targets:", "", *target_rows, "",
        "Wall time in plain words:", "", *words, "",
    ]
    if failures:
        lines += ["**Runs that did not converge:**", "", *[f"- {f}" for f in failures], ""]
    return "\n".join(lines)


def plot_residuals(curves: dict, n: int, seed: int) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, c in curves.items():
        ax.semilogy(np.arange(c.size), c, lw=2 if name == "DCDM" else 1.3, label=name)
    ax.axhline(RTOL, color="k", lw=0.8, ls=":")
    ax.set(xlabel="iteration", ylabel="‖b − A x_k‖ / ‖b‖ (true residual)",
           title=f"pressure_poisson({n}, seed={seed}), unseen layout")
    ax.legend()
    return _report.save_figure(fig, "dcdm_residuals.png")


def plot_growth(sizes: list[dict]) -> str:
    import matplotlib.pyplot as plt

    ns = [s["n"] for s in sizes]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for name in METHODS:
        ax.loglog(ns, [s[name]["iterations"] for s in sizes], "o-",
                  lw=2 if name == "DCDM" else 1.3, label=name)
    ax.set_xticks(ns, [cells(n) for n in ns])
    ax.minorticks_off()
    ax.set(xlabel="grid (cells per side)", ylabel=f"iterations to rtol {RTOL:g}",
           title=f"iterations vs resolution, mean of {len(sizes[0]['seeds'])} layouts")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    return _report.save_figure(fig, "dcdm_growth.png")


# ------------------------------------------------------------------ outside the family

OUTSIDE_METHODS = ("CG", "IC(0)-PCG", "DCDM (paper)", "DCDM")


def _slab_walls(n: int, dim: int) -> np.ndarray:
    """One-cell walls every 8 cells along the first axis, 4 cells short of the side walls."""
    ob = np.zeros((n,) * dim, bool)
    ob[(slice(8, None, 8),) + (slice(4, n - 4),) * (dim - 1)] = True
    return ob


def _large_obstacle(n: int, dim: int) -> np.ndarray:
    """One block over the middle half of every axis (5/16..11/16 across the second)."""
    ob = np.zeros((n,) * dim, bool)
    ob[(slice(n // 4, 3 * n // 4), slice(5 * n // 16, 11 * n // 16))
       + (slice(n // 4, 3 * n // 4),) * (dim - 2)] = True
    return ob


def _maze(n: int) -> np.ndarray:
    """A 2D serpentine: one-cell walls every 4 rows, the 2-cell gap alternating sides."""
    ob = np.zeros((n, n), bool)
    for i, row in enumerate(range(4, n - 1, 4)):
        ob[row, 2:] = i % 2 == 0
        ob[row, : n - 2] |= i % 2 == 1
    return ob


def outside_problems(n: int, dim: int) -> list[tuple[str, object]]:
    """The 'outside the family' systems at n cells per side (the first row is in the family)."""
    pp = us.problems.pressure_poisson
    rows = [(f"in the family: `pressure_poisson({n}, seed=1)`", pp(n, dim=dim, seed=1))]
    if dim == 2:
        coeff = np.exp(np.random.default_rng(0).normal(0.0, 1.5, (n, n)))
        rows += [
            ("Dirichlet box (`poisson2d`)", us.problems.poisson2d(n)),
            ("Dirichlet box, one large obstacle", us.problems.poisson2d(
                n, obstacle=_large_obstacle(n, 2))),
            ("Dirichlet box, coefficient e^N(0, 1.5²) per cell",
             us.problems.poisson2d(n, coeff=coeff)),
            ("Neumann, one large obstacle", pp(n, obstacle=_large_obstacle(n, 2))),
            ("Neumann, thin walls every 8 rows", pp(n, obstacle=_slab_walls(n, 2))),
            ("Neumann, a maze (serpentine)", pp(n, obstacle=_maze(n))),
            ("random obstacles, one pinned cell (SPD)", pp(n, seed=4, boundary="pinned")),
        ]
    else:
        rows += [
            ("Dirichlet box (`poisson3d`)", us.problems.poisson3d(n)),
            ("Neumann, one large obstacle", pp(n, dim=3, obstacle=_large_obstacle(n, 3))),
            ("Neumann, thin walls every 8 planes", pp(n, dim=3, obstacle=_slab_walls(n, 3))),
            ("random obstacles, one pinned cell (SPD)",
             pp(n, dim=3, seed=4, boundary="pinned")),
        ]
    return rows


def outside_options(name: str, model) -> dict:
    base = {"method": "dcdm", "model": model, "device": SETUP["device"], "k": SETUP["k"]}
    return {
        "CG": {"method": "cg"},
        "IC(0)-PCG": {"method": "pcg", "preconditioner": "ic0"},
        "DCDM (paper)": {**base, "safeguard": False},
        "DCDM": base,
    }[name]


def run_outside_problem(p, model, repeats: int, cap_factor: float) -> dict:
    """Iterations and the min of ``repeats`` interleaved wall times of each method on ``p``.

    A run that fails its check is not repeated (the paper's DCDM stalling at its cap).
    """
    cap = dcdm_maxiter(p, cap_factor)
    last: dict = {}

    def solver(name):
        extra = {"maxiter": cap} if name.startswith("DCDM") else {}

        def run():
            last[name] = us.solve(p, rtol=RTOL, **outside_options(name, model), **extra)
        return run

    times: dict[str, list[float]] = {name: [] for name in OUTSIDE_METHODS}
    active = list(OUTSIDE_METHODS)
    for _ in range(repeats):
        for name, t in _report.median_times({k: solver(k) for k in active}, 1).items():
            times[name].append(t)
        active = [k for k in active if true_residual_ok(p, last[k])[0]]
    out = {}
    for name in OUTSIDE_METHODS:
        r = last[name]
        ok, rel = true_residual_ok(p, r)
        out[name] = {"iterations": r.iterations, "time": min(times[name]), "converged": ok,
                     "status": r.status.name, "rel_residual": rel}
    out["DCDM"].update(kept=last["DCDM"].info["network_directions"],
                       applied=last["DCDM"].info["network_applications"],
                       fallback=last["DCDM"].info["fallback"])
    out["cap"] = cap
    return out


def summarise_outside(rows: list[tuple[str, int, dict]], args, model, origin: str,
                      cmd: str) -> tuple[str, list[str]]:
    """The markdown section and the list of targets missed."""
    head = ("| problem | n | unknowns | CG | IC(0)-PCG | DCDM (paper) | DCDM (safeguarded) | "
            "network its used / applied | its / CG | its / IC(0)-PCG | time / CG | "
            "time / IC(0)-PCG | ≤ 1.0x CG's its |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    lines, missed = [], []
    for name, n, res in rows:
        cells_ = []
        for m in OUTSIDE_METHODS:
            v = res[m]
            cell = f"{v['iterations']} its, {v['time']:.3g} s"
            if not v["converged"]:
                cell = (f"**not converged** ({v['status']} after {v['iterations']} its, "
                        f"residual {v['rel_residual']:.1e})")
            cells_.append(cell)
        d, cg, ic = res["DCDM"], res["CG"], res["IC(0)-PCG"]
        ok = d["converged"] and d["iterations"] <= cg["iterations"]
        if not ok:
            missed.append(f"{name} at {cells(n)}")
        lines.append(
            f"| {name} | {cells(n)} | {res['unknowns']:,} | " + " | ".join(cells_)
            + f" | {d['kept']} / {d['applied']} | {d['iterations'] / cg['iterations']:.2f} | "
            f"{d['iterations'] / ic['iterations']:.2f} | {d['time'] / cg['time']:.1f} | "
            f"{d['time'] / ic['time']:.1f} | {'met' if ok else '**NOT met**'} |")
    body = "\n".join([
        f"## DCDM outside its training family ({SETUP['dim']}D, `benchmarks/dcdm.py --outside`"
        f"{', GPU' if SETUP['device'] != 'cpu' else ''})", "",
        _report.header(cmd).rstrip(),
        f"- model: {origin}, `{model!r}` (trained on `pressure_poisson` layouts: Neumann walls, "
        f"random obstacles, at {'64²' if SETUP['dim'] == 2 else '32³'}); k = {SETUP['k']}; "
        f"{device_words()}",
        "- DCDM (paper): `safeguard=False`, equations (1)-(4); DCDM (safeguarded): the default, "
        "Jacobi-PCG run beside the network, the network dropped once PCG's iterate is closer "
        "in the energy norm for 3 iterations in a row (or meets the stopping test first); "
        "maxiter = max(200, "
        f"{args.dcdm_maxiter_factor:g} x CG's iterations)",
        f"- rtol {RTOL:g} on the true residual from x0 = 0, every run checked; time: the "
        f"minimum of {args.repeats} interleaved runs (a run that fails is not repeated), "
        f"the whole `unisolve.solve` call (IC(0): factorisation + solve)",
        "- network its used / applied: network directions in the returned iterate (0 = the "
        "answer is IC(0)-PCG's) / network applications made", "",
        head, *lines, "",
    ])
    return body, missed


def main_outside(args, model, origin: str, cmd: str, t_start: float) -> int:
    sizes = args.sizes if args.sizes_given else ([64] if SETUP["dim"] == 2 else [16, 32])
    rows = []
    for n in sizes:
        for name, p in outside_problems(n, SETUP["dim"]):
            t0 = time.perf_counter()
            res = run_outside_problem(p, model, args.repeats, args.dcdm_maxiter_factor)
            res["unknowns"] = p.n
            rows.append((name, n, res))
            print(f"  {cells(n)} {name} ({time.perf_counter() - t0:.0f} s): "
                  + ", ".join(f"{m} {res[m]['iterations']} its {res[m]['time']:.3g} s"
                              + ("" if res[m]["converged"] else " NOT CONVERGED")
                              for m in OUTSIDE_METHODS), flush=True)
    body, missed = summarise_outside(rows, args, model, origin, cmd)
    body += ("\nTarget (issue 28 item 1): the safeguarded DCDM converges whenever CG does, in "
             "≤ 1.0x CG's iterations: "
             + ("met on every row." if not missed else f"**NOT met** on {', '.join(missed)}.")
             + f"\n\nRun time: {time.perf_counter() - t_start:.0f} s.\n")
    print(body)
    if any(not res[m]["converged"] for _, _, res in rows for m in ("CG", "IC(0)-PCG")):
        print("a classical peer did not converge: docs/ left untouched", file=sys.stderr)
        return 1
    if not args.no_write:
        _report.write_section(args.section, body)
    return 0


# ------------------------------------------------------------------ main


def _omega(text: str):
    if text == "tune":
        return text
    value = float(text)
    if not 0 < value < 2:
        raise argparse.ArgumentTypeError(f"omega must be in (0, 2) or 'tune', got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=None,
                    help="cells per side (default 64 128 256; with --outside 64, or 16 32 "
                         "with --dim 3)")
    ap.add_argument("--layouts", type=int, default=3,
                    help="unseen obstacle layouts, seeds 1..N (default 3)")
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats, median (default 3)")
    ap.add_argument("--model", type=Path, default=None,
                    help="DCDM model file (default: the default model of method='dcdm', "
                         "in 2D the multilevel one)")
    ap.add_argument("--omega", type=_omega, default="tune",
                    help="SSOR-PCG weight, or 'tune' (default): best of 1.0..1.95 per size")
    ap.add_argument("--dcdm-maxiter-factor", type=float, default=None,
                    help="DCDM's maxiter = max(200, FACTOR x CG's iterations) (default 2; "
                         "5 with --quick, whose model is weak)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: sizes 24 32, 1 layout, 1 repeat, a model trained here "
                         "(or --model)")
    ap.add_argument("--dim", type=int, choices=(2, 3), default=2,
                    help="grid dimension (3: give a 3D --model and --sizes, e.g. 32 64)")
    ap.add_argument("--device", default="cpu",
                    help="torch device of DCDM's network (cuda: the GPU timings)")
    ap.add_argument("--k", type=int, default=2,
                    help="DCDM's number of previous directions to A-orthogonalise against "
                         "(default 2, the method's default)")
    ap.add_argument("--section", default=None,
                    help="BENCHMARKS.md section (default dcdm; dcdm-gpu / dcdm-3d with "
                         "--device / --dim 3); the figures are drawn for 'dcdm' only")
    ap.add_argument("--plain", action="store_true",
                    help="the main table's DCDM without the safeguard (safeguard=False, the "
                         "paper's method)")
    ap.add_argument("--outside", action="store_true",
                    help="the 'outside the family' table instead: Dirichlet boxes, hand-made "
                         "masks, varying coefficients, a pinned cell; CG, IC(0)-PCG, the "
                         "paper's DCDM and the safeguarded one")
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    args.sizes_given = args.sizes is not None
    if args.sizes is None:
        args.sizes = [64, 128, 256]
    SETUP.update(dim=args.dim, device=args.device, k=args.k, safeguard=not args.plain)
    if args.section is None:
        args.section = "-".join(["dcdm"] + ["3d"] * (args.dim == 3)
                                + ["gpu"] * (args.device != "cpu")
                                + [f"k{args.k}"] * (args.k != 2)
                                + ["outside"] * args.outside)
    import matplotlib

    matplotlib.use("Agg")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.sizes, args.layouts, args.repeats = [24, 32], 1, 1
    if args.dcdm_maxiter_factor is None:
        args.dcdm_maxiter_factor = 5.0 if args.quick else 2.0
    args.sizes = sorted(set(args.sizes))
    t_start = time.perf_counter()
    cmd = _report.command_line()
    model, origin = (quick_model() if args.quick and args.model is None
                     else load_model(args.model))
    seeds = list(range(1, args.layouts + 1))
    seen = training_seeds(model) & set(seeds)
    if seen:
        raise SystemExit(f"layouts {sorted(seen)} were in the model's training set: "
                         "the benchmark is on unseen layouts only")
    print(f"model: {origin} {model!r}; torch threads {torch.get_num_threads()}", flush=True)
    warm_up(model)
    if args.outside:
        return main_outside(args, model, origin, cmd, t_start)
    sizes = []
    for n in args.sizes:
        print(f"{cells(n)}:", flush=True)
        sizes.append(run_size(n, seeds, model, args.omega, args.repeats,
                              args.dcdm_maxiter_factor))
    failures = [f"{cells(s['n'])} seed {seed}: {name} {lay[name]['status']} after "
                f"{lay[name]['iterations']} iterations, ‖b − A x‖/‖b‖ = "
                f"{lay[name]['rel_residual']:.2e}"
                for s in sizes for seed, lay in zip(s["seeds"], s["layouts"], strict=True)
                for name in METHODS if not lay[name]["converged"]]
    body = summarise(sizes, args, model, origin, cmd, torch.get_num_threads(), failures)
    body += f"\nRun time: {time.perf_counter() - t_start:.0f} s.\n"
    print(body)
    if failures:
        print(f"{len(failures)} run(s) did not converge (listed in the table):\n  "
              + "\n  ".join(failures), file=sys.stderr)
    peer_failed = any(": DCDM " not in f for f in failures)
    if peer_failed:  # a classical solver failing is a bug, not a measurement
        print("a classical peer did not converge: docs/ left untouched", file=sys.stderr)
        return 1
    if not args.no_write and args.section != "dcdm":
        _report.write_section(args.section, body)
    elif not args.no_write:
        n_plot = 128 if 128 in args.sizes else args.sizes[-1]
        s_plot = next(s for s in sizes if s["n"] == n_plot)
        curves = residual_curves(n_plot, seeds[0], model, s_plot["omega"],
                                 args.dcdm_maxiter_factor)
        plot_residuals(curves, n_plot, seeds[0])
        plot_growth(sizes)
        _report.write_section("dcdm", body + "\n![residuals](img/dcdm_residuals.png)\n"
                                             "![growth](img/dcdm_growth.png)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

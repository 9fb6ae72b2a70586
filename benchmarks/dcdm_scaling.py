"""DCDM across grid sizes: the multilevel network against the single-level one (issue 28).

On unseen ``pressure_poisson(n, seed=s)`` layouts (training uses seeds ≥ 1000), all
in one run, torch and BLAS on one thread:

(a) **network time per application** of the single-level model (``dcdm2d_64.pt``)
    and the multilevel model (``dcdm2d_ml.pt``) at each size: min of ``--repeats``
    interleaved calls of the solver's grid operator under ``torch.inference_mode``;
(b) **iterations** to rtol 1e-6 (true residual, from x0 = 0) of CG, DCDM with the
    old model and DCDM with the multilevel model (``k = 2``, the plain method:
    ``safeguard=False`` where ``dcdm`` has a safeguard,
    ``maxiter = max(200, 2 x CG's)``), per layout and the mean; the growth from the
    smallest to the largest size and the ratio to CG's, against the issue's targets
    (multilevel its(256²) ≤ 2.0 x its(64²), ≤ 0.1 x CG's at 256²);
(c) **wall time** of the whole ``unisolve.solve`` call (set-up included) of CG,
    IC(0)-PCG, AMG-PCG (PyAMG, seeded) and DCDM with the multilevel model, min of
    ``--repeats`` interleaved runs per layout, then the mean over layouts, and DCDM's
    share in the network (target: DCDM ≤ 2 x CG at 256²).

The old model's solves are slow on a CPU (0.2 s per network call at 256²), so it
runs at ``--old-sizes`` only (default 64 128 256 with one layout at 256²: ``--old-seeds-256``).

Usage::

    python benchmarks/dcdm_scaling.py                        # all three parts
    python benchmarks/dcdm_scaling.py --part net             # (a) only
    python benchmarks/dcdm_scaling.py --part its --sizes 64 128 --seeds 1 2
    python benchmarks/dcdm_scaling.py --model my_ml.pt --write

Writes docs/BENCHMARKS.md (section ``dcdm-scaling``) with ``--write`` (off by default).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import add_write_options, command_line, header, write_section  # noqa: E402

import unisolve as us  # noqa: E402

RTOL = 1e-6
WEIGHTS = Path(us.__file__).resolve().parent / "learned" / "weights"
PEERS = ("CG", "IC(0)-PCG", "AMG-PCG")


def _plain() -> dict:
    """Options that make ``dcdm`` the paper's plain method (no classical safeguard)."""
    import inspect

    from unisolve.learned.dcdm import dcdm

    return {"safeguard": False} if "safeguard" in inspect.signature(dcdm).parameters else {}


PLAIN: dict = {}


def solve(p, name: str, model=None, maxiter: int | None = None):
    opts = {"CG": {"method": "cg"},
            "IC(0)-PCG": {"method": "pcg", "preconditioner": "ic0"},
            "AMG-PCG": {"method": "pcg", "preconditioner": "amg"}}.get(name)
    if opts is None:
        opts = {"method": "dcdm", "model": model, "maxiter": maxiter, **PLAIN}
    if name == "AMG-PCG":
        np.random.seed(0)  # noqa: NPY002 -- pyamg draws its spectral-radius guess from here
    return us.solve(p, rtol=RTOL, **opts)


def network_times(models: dict, sizes, repeats: int) -> list[str]:
    """(a): seconds per network application, interleaved, min of ``repeats``."""
    import torch

    from unisolve.learned.dcdm import _grid_layout, _GridOperator

    lines = ["| n | " + " | ".join(f"{k}: s per application" for k in models)
             + " | old / multilevel |", "|---|" + "---:|" * (len(models) + 1)]
    for n in sizes:
        p = us.problems.pressure_poisson(n, seed=1)
        shape, idx = _grid_layout(p, 2)
        ops = {k: _GridOperator(m.net, shape, idx, torch.device("cpu")) for k, m in models.items()}
        v = torch.from_numpy((p.b / np.linalg.norm(p.b)).astype(np.float32))[None]
        best = dict.fromkeys(models, np.inf)
        with torch.inference_mode():
            for op in ops.values():
                op(v)  # warm-up: allocations, the workspace
            for _ in range(repeats):
                for k, op in ops.items():
                    t0 = time.perf_counter()
                    op(v)
                    best[k] = min(best[k], time.perf_counter() - t0)
        vals = list(best.values())
        ratio = f"{vals[0] / vals[-1]:.1f}x" if len(vals) > 1 else "—"
        lines.append(f"| {n}² | " + " | ".join(f"{t:.4f}" for t in vals) + f" | {ratio} |")
        print(lines[-1], flush=True)
    return lines


def iterations(models: dict, sizes, seeds, old_sizes, old_seeds_256) -> tuple[list[str], dict]:
    """(b): iterations of CG and of DCDM with each model, per layout (None: no convergence);
    returns the table's lines and ``{(method, n, seed): iterations}``."""
    its: dict = {}
    for n in sizes:
        for s in seeds:
            p = us.problems.pressure_poisson(n, seed=s)
            cg = solve(p, "CG")
            its[("CG", n, s)] = cg.iterations
            for k, m in models.items():
                if k == "old" and (n not in old_sizes or (n >= 256 and s not in old_seeds_256)):
                    continue
                r = solve(p, k, m, maxiter=max(200, 2 * cg.iterations))
                ok = r.converged and np.linalg.norm(p.b - p.A @ r.x) <= RTOL * np.linalg.norm(
                    p.b) * 1.0001
                its[(k, n, s)] = r.iterations if ok else None
                print(f"n={n} seed={s} {k}: {r.iterations} its ({r.status.name}), "
                      f"CG {cg.iterations}, {r.time:.1f} s", flush=True)
    names = ["CG", *models]
    lines = ["| n | " + " | ".join(names) + " | multilevel / CG | old / CG |",
             "|---|" + "---|" * (len(names) + 2)]
    means: dict = {}
    for n in sizes:
        cells = []
        for k in names:
            vals = [its.get((k, n, s)) for s in seeds if (k, n, s) in its]
            if not vals:
                cells.append("—")
                continue
            conv = [v for v in vals if v is not None]
            means[(k, n)] = np.mean(conv) if len(conv) == len(vals) else None
            cells.append(", ".join("stall" if v is None else str(v) for v in vals)
                         + (f" (mean {means[(k, n)]:.0f})" if means[(k, n)] else ""))
        frac = [f"{means[(k, n)] / means[('CG', n)]:.3f}"
                if means.get((k, n)) and means.get(("CG", n)) else "—"
                for k in ("multilevel", "old")]
        lines.append(f"| {n}² | " + " | ".join(cells) + f" | {frac[0]} | {frac[1]} |")
    return lines, its


def wall_times(model, sizes, seeds, repeats: int) -> list[str]:
    """(c): whole-solve wall time, min of ``repeats`` interleaved runs, mean over layouts."""
    names = [*PEERS, "DCDM"]
    lines = ["| n | " + " | ".join(names) + " | DCDM / CG | DCDM / fastest peer | network "
             "share |", "|---|" + "---:|" * (len(names) + 3)]
    for n in sizes:
        t = {k: [] for k in names}
        it = {k: [] for k in names}
        share = []
        for s in seeds:
            p = us.problems.pressure_poisson(n, seed=s)
            maxiter = max(200, 2 * solve(p, "CG").iterations)
            best = dict.fromkeys(names, np.inf)
            for _ in range(repeats):
                for k in names:
                    t0 = time.perf_counter()
                    r = solve(p, k, model, maxiter=maxiter)
                    best[k] = min(best[k], time.perf_counter() - t0)
                    it[k].append(r.iterations)
                    if k == "DCDM":
                        share.append(r.info["network_seconds"] / max(r.time, 1e-12))
            for k in names:
                t[k].append(best[k])
        mean = {k: float(np.mean(v)) for k, v in t.items()}
        fastest = min(PEERS, key=mean.get)
        lines.append(f"| {n}² | " + " | ".join(f"{np.mean(it[k]):.0f} its, {mean[k]:.3g} s"
                                               for k in names)
                     + f" | {mean['DCDM'] / mean['CG']:.2f} | {mean['DCDM'] / mean[fastest]:.2f} "
                       f"({fastest}) | {100 * np.mean(share):.0f}% |")
        print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=WEIGHTS / "dcdm2d_ml.pt",
                    help="the multilevel model file")
    ap.add_argument("--old", type=Path, default=WEIGHTS / "dcdm2d_64.pt",
                    help="the single-level model file")
    ap.add_argument("--part", choices=("net", "its", "wall", "all"), default="all")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--old-sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--old-seeds-256", type=int, nargs="+", default=[1],
                    help="layouts the old model solves at 256² and above (slow)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    add_write_options(ap)
    args = ap.parse_args(argv)
    import torch

    from unisolve.learned.dcdm import DCDM

    torch.set_num_threads(args.threads)
    PLAIN.update(_plain())
    models = {"old": DCDM.load(args.old), "multilevel": DCDM.load(args.model)}
    if min(s for s in args.seeds) >= 1000:
        raise SystemExit("--seeds must be unseen layouts (< 1000; training uses >= 1000)")
    t_start = time.perf_counter()
    out = [header(command_line()).rstrip(),
           f"- models: old `{args.old.name}` {models['old']!r}; multilevel `{args.model.name}` "
           f"{models['multilevel']!r}",
           f"- layouts: pressure_poisson(n, seed=s), s in {args.seeds} (unseen); rtol {RTOL}; "
           f"torch {torch.get_num_threads()} thread(s), BLAS 1 thread; DCDM is the plain "
           f"method (k = 2, {PLAIN or 'no safeguard'})", ""]
    if args.part in ("net", "all"):
        out += ["Network time per application (min of interleaved calls):", "",
                *network_times(models, args.sizes, max(args.repeats, 3)), ""]
    if args.part in ("its", "all"):
        lines, its = iterations(models, args.sizes, args.seeds, args.old_sizes,
                                args.old_seeds_256)
        out += ["Iterations to rtol 1e-6 (per layout):", "", *lines, ""]
        lo, hi = min(args.sizes), max(args.sizes)
        for k in ("CG", "multilevel", "old"):  # over the layouts run at both sizes
            both = [s for s in args.seeds if its.get((k, lo, s)) and its.get((k, hi, s))]
            if both:
                growth = np.mean([its[(k, hi, s)] for s in both]) / np.mean(
                    [its[(k, lo, s)] for s in both])
                out.append(f"- growth its({hi}²) / its({lo}²), {k}: {growth:.2f} "
                           f"(layouts {both})")
        out.append("")
    if args.part in ("wall", "all"):
        out += ["Wall time of the whole solve (min of interleaved runs, mean over layouts):",
                "", *wall_times(models["multilevel"], args.sizes, args.seeds, args.repeats), ""]
    out.append(f"Run time: {time.perf_counter() - t_start:.0f} s.")
    text = "\n".join(out)
    print(text)
    write_section("dcdm-scaling", "## DCDM across grid sizes (`benchmarks/dcdm_scaling.py`)\n\n"
                  + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

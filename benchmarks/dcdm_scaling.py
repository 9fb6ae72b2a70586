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

``--dim 3`` runs the same three parts on 3D layouts ``pressure_poisson(n, dim=3, seed=s)``
(default sizes 32³ 64³ 128³; the old model ``dcdm3d_32.pt`` at 32³ only, the multilevel
``dcdm3d_ml.pt``; target its(128³) ≤ 1.5 x its(32³), DCDM ≤ 1 x CG's wall time at 128³).
Part (c) times DCDM twice in the same interleaved run: the plain method
(``safeguard=False``) and the safeguarded one (``dcdm``'s default).

Usage::

    python benchmarks/dcdm_scaling.py                        # all three parts
    python benchmarks/dcdm_scaling.py --part net             # (a) only
    python benchmarks/dcdm_scaling.py --part its --sizes 64 128 --seeds 1 2
    python benchmarks/dcdm_scaling.py --model my_ml.pt --write
    python benchmarks/dcdm_scaling.py --dim 3 --seeds 1 2 --repeats 2   # 32³ 64³ 128³

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
#: grid dimension of the run (--dim); the default model files and sizes per dimension
DIM = [2]
DEFAULTS = {2: {"model": "dcdm2d_ml.pt", "old": "dcdm2d_64.pt", "sizes": [64, 128, 256],
                "old_sizes": [64, 128, 256], "growth": 2.0},
            3: {"model": "dcdm3d_ml.pt", "old": "dcdm3d_32.pt", "sizes": [32, 64, 128],
                "old_sizes": [32], "growth": 1.5}}


def problem(n: int, seed: int):
    """The unseen layout ``pressure_poisson(n, dim=DIM, seed=seed)``."""
    return us.problems.pressure_poisson(n, dim=DIM[0], seed=seed)


def cells(n: int) -> str:
    """``64²`` / ``32³``: the grid of side n in the run's dimension."""
    return f"{n}{'²' if DIM[0] == 2 else '³'}"


def _plain() -> dict:
    """Options that make ``dcdm`` the paper's plain method (no classical safeguard)."""
    import inspect

    from unisolve.learned.dcdm import dcdm

    return {"safeguard": False} if "safeguard" in inspect.signature(dcdm).parameters else {}


PLAIN: dict = {}


def solve(p, name: str, model=None, maxiter: int | None = None):
    """One ``unisolve.solve`` call of a peer, of DCDM (plain) or of "DCDM-safe" (safeguarded)."""
    opts = {"CG": {"method": "cg"},
            "IC(0)-PCG": {"method": "pcg", "preconditioner": "ic0"},
            "AMG-PCG": {"method": "pcg", "preconditioner": "amg"}}.get(name)
    if opts is None:
        opts = {"method": "dcdm", "model": model, "maxiter": maxiter,
                **({} if name == "DCDM-safe" else PLAIN)}
    if name == "AMG-PCG":
        np.random.seed(0)  # noqa: NPY002 -- pyamg draws its spectral-radius guess from here
    return us.solve(p, rtol=RTOL, **opts)


class ChannelWise:
    """The multilevel net as it ran before the one-channel path (8): the C-channel cycle
    (2)-(7) with torch's convolution and interpolation (no blocks only), for the
    before / after column of (a)."""

    def __init__(self, net) -> None:
        self.net = net

    def __call__(self, x):
        from unisolve.learned.dcdm_multilevel import channelwise_reference

        return channelwise_reference(self.net, x)


def network_times(models: dict, sizes, repeats: int, old_sizes=()) -> list[str]:
    """(a): seconds per network application, interleaved, min of ``repeats``; the old model
    at ``old_sizes`` only, and the multilevel one also as its C-channel cycle (before (8))."""
    import torch

    from unisolve.learned.dcdm import _grid_layout, _GridOperator

    nets = {k: m.net for k, m in models.items()}
    if not sum(nets["multilevel"].blocks):
        nets["multilevel, C-channel cycle (before)"] = ChannelWise(nets["multilevel"])
    nets["multilevel"] = nets.pop("multilevel")  # the last column: the ratios' denominator
    lines = ["| n | " + " | ".join(f"{k}: s per application" for k in nets)
             + " | old / multilevel | before / after |", "|---|" + "---:|" * (len(nets) + 2)]
    for n in sizes:
        p = problem(n, 1)
        shape, idx = _grid_layout(p, DIM[0])
        ops = {k: _GridOperator(net, shape, idx, torch.device("cpu")) for k, net in nets.items()
               if k != "old" or n in old_sizes}
        v = torch.from_numpy((p.b / np.linalg.norm(p.b)).astype(np.float32))[None]
        best = dict.fromkeys(ops, np.inf)
        with torch.inference_mode():
            for op in ops.values():
                op(v)  # warm-up: allocations, the workspace
            for _ in range(repeats):
                for k, op in ops.items():
                    t0 = time.perf_counter()
                    op(v)
                    best[k] = min(best[k], time.perf_counter() - t0)
        after = best["multilevel"]
        ratios = [f"{best[k] / after:.1f}x" if k in best else "—"
                  for k in ("old", "multilevel, C-channel cycle (before)")]
        lines.append(f"| {cells(n)} | " + " | ".join(f"{best[k]:.4f}" if k in best else "—"
                                                     for k in nets)
                     + f" | {ratios[0]} | {ratios[1]} |")
        print(lines[-1], flush=True)
    return lines


def iterations(models: dict, sizes, seeds, old_sizes, old_seeds_256) -> tuple[list[str], dict]:
    """(b): iterations of CG and of DCDM with each model, per layout (None: no convergence);
    returns the table's lines and ``{(method, n, seed): iterations}``."""
    its: dict = {}
    for n in sizes:
        for s in seeds:
            p = problem(n, s)
            cg = solve(p, "CG")
            its[("CG", n, s)] = cg.iterations
            for k, m in models.items():
                if k == "old" and (n not in old_sizes or (n >= 256 and s not in old_seeds_256)
                                   or (DIM[0] == 3 and n > 32 and s not in old_seeds_256)):
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
        row = []
        for k in names:
            vals = [its.get((k, n, s)) for s in seeds if (k, n, s) in its]
            if not vals:
                row.append("—")
                continue
            conv = [v for v in vals if v is not None]
            means[(k, n)] = np.mean(conv) if len(conv) == len(vals) else None
            row.append(", ".join("stall" if v is None else str(v) for v in vals)
                         + (f" (mean {means[(k, n)]:.0f})" if means[(k, n)] else ""))
        frac = [f"{means[(k, n)] / means[('CG', n)]:.3f}"
                if means.get((k, n)) and means.get(("CG", n)) else "—"
                for k in ("multilevel", "old")]
        lines.append(f"| {cells(n)} | " + " | ".join(row) + f" | {frac[0]} | {frac[1]} |")
    return lines, its


def wall_times(model, sizes, seeds, repeats: int) -> list[str]:
    """(c): whole-solve wall time, min of ``repeats`` interleaved runs, mean over layouts;
    DCDM plain and safeguarded ("DCDM-safe") in the same run."""
    names = [*PEERS, "DCDM", "DCDM-safe"]
    lines = ["| n | " + " | ".join(names) + " | DCDM / CG | DCDM-safe / CG | DCDM / fastest "
             "peer | network share (plain, safe) |", "|---|" + "---:|" * (len(names) + 4)]
    for n in sizes:
        t = {k: [] for k in names}
        it = {k: [] for k in names}
        share: dict = {"DCDM": [], "DCDM-safe": []}
        for s in seeds:
            p = problem(n, s)
            maxiter = max(200, 2 * solve(p, "CG").iterations)
            best = dict.fromkeys(names, np.inf)
            for _ in range(repeats):
                for k in names:
                    t0 = time.perf_counter()
                    r = solve(p, k, model, maxiter=maxiter)
                    best[k] = min(best[k], time.perf_counter() - t0)
                    it[k].append(r.iterations)
                    if k in share:
                        share[k].append(r.info["network_seconds"] / max(r.time, 1e-12))
            for k in names:
                t[k].append(best[k])
        mean = {k: float(np.mean(v)) for k, v in t.items()}
        fastest = min(PEERS, key=mean.get)
        lines.append(f"| {cells(n)} | " + " | ".join(f"{np.mean(it[k]):.0f} its, {mean[k]:.3g} s"
                                                     for k in names)
                     + f" | {mean['DCDM'] / mean['CG']:.2f} | {mean['DCDM-safe'] / mean['CG']:.2f}"
                       f" | {mean['DCDM'] / mean[fastest]:.2f} ({fastest}) | "
                       f"{100 * np.mean(share['DCDM']):.0f}%, "
                       f"{100 * np.mean(share['DCDM-safe']):.0f}% |")
        print(lines[-1], flush=True)
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dim", type=int, choices=(2, 3), default=2, help="grid dimension")
    ap.add_argument("--model", type=Path, default=None,
                    help="the multilevel model file (default dcdm2d_ml.pt / dcdm3d_ml.pt)")
    ap.add_argument("--old", type=Path, default=None,
                    help="the single-level model file (default dcdm2d_64.pt / dcdm3d_32.pt)")
    ap.add_argument("--part", choices=("net", "its", "wall", "all"), default="all")
    ap.add_argument("--sizes", type=int, nargs="+", default=None,
                    help="cells per side (default 64 128 256 in 2D, 32 64 128 in 3D)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--old-sizes", type=int, nargs="+", default=None,
                    help="sizes the old model solves (default 64 128 256 in 2D, 32 in 3D)")
    ap.add_argument("--old-seeds-256", type=int, nargs="+", default=[1],
                    help="layouts the old model solves at 256² (3D: above 32³) and up (slow)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    add_write_options(ap)
    args = ap.parse_args(argv)
    DIM[0] = args.dim
    defaults = DEFAULTS[args.dim]
    args.model = args.model or WEIGHTS / defaults["model"]
    args.old = args.old or WEIGHTS / defaults["old"]
    args.sizes = args.sizes or defaults["sizes"]
    args.old_sizes = args.old_sizes or defaults["old_sizes"]
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
           f"- layouts: pressure_poisson(n, dim={args.dim}, seed=s), s in {args.seeds} (unseen); "
           f"rtol {RTOL}; "
           f"torch {torch.get_num_threads()} thread(s), BLAS 1 thread; DCDM is the plain "
           f"method (k = 2, {PLAIN or 'no safeguard'}); DCDM-safe in (c) is dcdm's default "
           f"(safeguarded)", ""]
    if args.part in ("net", "all"):
        out += ["Network time per application (min of interleaved calls):", "",
                *network_times(models, args.sizes, max(args.repeats, 3), args.old_sizes),
                ""]
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
                target = (f" (target ≤ {defaults['growth']})" if k == "multilevel" else "")
                out.append(f"- growth its({cells(hi)}) / its({cells(lo)}), {k}: {growth:.2f}"
                           f"{target} (layouts {both})")
        out.append("")
    if args.part in ("wall", "all"):
        out += ["Wall time of the whole solve (min of interleaved runs, mean over layouts):",
                "", *wall_times(models["multilevel"], args.sizes, args.seeds, args.repeats), ""]
    out.append(f"Run time: {time.perf_counter() - t_start:.0f} s.")
    text = "\n".join(out)
    print(text)
    name = "dcdm-scaling" if args.dim == 2 else "dcdm-scaling-3d"
    title = "DCDM across grid sizes" + ("" if args.dim == 2 else ", 3D")
    write_section(name, f"## {title} (`benchmarks/dcdm_scaling.py`)\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

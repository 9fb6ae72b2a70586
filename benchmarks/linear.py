"""Linear-solver kernels and Krylov methods against their peers, in one run.

Measured (each ratio = unisolve time / peer time, both timed in this process,
median of interleaved repeats):

1. numba CSR SOR sweep vs ``pyamg.relaxation.relaxation.sor`` (one forward
   sweep) on 2D Poisson 1024² and 3D Poisson 96³ — target ≤ 1.0;
2. matrix-free red-black stencil sweep vs the same PyAMG CSR sweep — target ≤ 0.5;
3. ``cg`` vs ``scipy.sparse.linalg.cg`` on 2D Poisson 1024², rtol 1e-8 —
   iterations equal ±2, time ratio ≤ 1.1;
4. ``pcg(preconditioner="amg")`` vs ``pyamg.smoothed_aggregation_solver(A).solve(
   b, accel="cg")`` — both reported (setup + solve).

Writes the table to docs/BENCHMARKS.md (section ``linear``) and a bar chart to
docs/benchmarks_linear.png.

Usage: ``python benchmarks/linear.py [--quick] [--write]`` (``--write``: into docs/)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pyamg
import scipy.sparse.linalg as spla
from pyamg.relaxation.relaxation import sor as pyamg_sor

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

import unisolve as us
from unisolve.solvers.kernels.red_black import (
    red_black_sor_sweep_2d,
    red_black_sor_sweep_3d,
)
from unisolve.solvers.kernels.sor_csr import inverse_diagonal, sor_sweep

OMEGA = 1.5


def bench_sweeps(problem, repeats: int) -> dict:
    A, b = problem.A, problem.b
    inv_diag = inverse_diagonal(A)
    st = problem.stencil
    sweep_rb = red_black_sor_sweep_2d if len(st.shape) == 2 else red_black_sor_sweep_3d
    x_ours = np.zeros_like(b)
    x_peer = np.zeros_like(b)
    x_rb = np.zeros_like(b)
    b_grid = b.reshape(st.shape)
    x_rb_grid = x_rb.reshape(st.shape)
    fns = {
        "numba CSR": lambda: sor_sweep(A, x_ours, b, OMEGA, "forward", inv_diag),
        "pyamg CSR": lambda: pyamg_sor(A, x_peer, b, OMEGA, iterations=1, sweep="forward"),
        "red-black stencil": lambda: sweep_rb(x_rb_grid, b_grid, st.diagonal,
                                              st.offdiagonal, OMEGA),
    }
    for fn in fns.values():  # compile + warm caches
        fn()
    t = _report.median_times(fns, repeats)
    # same iterate after the same number of sweeps: the kernels agree
    agree = float(np.abs(x_ours - x_peer).max() / np.abs(x_peer).max())
    return {"times": t, "agree": agree}


def bench_cg(problem, repeats: int) -> dict:
    A, b = problem.A, problem.b
    counts = {}

    def scipy_cg():
        its = [0]
        x, _info = spla.cg(A, b, rtol=1e-8, maxiter=20000,
                          callback=lambda xk: its.__setitem__(0, its[0] + 1))
        counts["scipy"] = its[0]
        counts["scipy_res"] = float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))

    def ours():
        r = us.solve(problem, method="cg", rtol=1e-8, maxiter=20000)
        counts["unisolve"] = r.iterations
        counts["unisolve_res"] = float(np.linalg.norm(b - A @ r.x) / np.linalg.norm(b))

    t = _report.median_times({"unisolve cg": ours, "scipy cg": scipy_cg}, repeats)
    return {"times": t, "counts": counts}


def bench_amg(problem, repeats: int) -> dict:
    A, b = problem.A, problem.b
    counts = {}

    def pyamg_pcg():
        res = []
        ml = pyamg.smoothed_aggregation_solver(A)
        x = ml.solve(b, tol=1e-8, accel="cg", residuals=res, maxiter=500)
        counts["pyamg"] = len(res) - 1
        counts["pyamg_res"] = float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))

    def ours():
        r = us.solve(problem, method="pcg", preconditioner="amg", rtol=1e-8)
        counts["unisolve"] = r.iterations
        counts["unisolve_res"] = float(np.linalg.norm(b - A @ r.x) / np.linalg.norm(b))

    t = _report.median_times({"unisolve pcg(amg)": ours, "pyamg SA + cg": pyamg_pcg}, repeats)
    return {"times": t, "counts": counts}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    _report.add_write_options(ap)
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    n2, n3 = (128, 24) if args.quick else (1024, 96)
    rep_sweep = args.repeats or (5 if args.quick else 15)
    rep_solve = args.repeats or (1 if args.quick else 2)
    p2 = us.problems.poisson2d(n2, rhs="random", seed=0)
    p3 = us.problems.poisson3d(n3, rhs="random", seed=0)
    rows = []
    sweeps = {}
    for label, p in ((f"2D Poisson {n2}²", p2), (f"3D Poisson {n3}³", p3)):
        s = bench_sweeps(p, rep_sweep)
        sweeps[label] = s
        t = s["times"]
        rows.append((f"SOR sweep, {label} (n={p.n:,})", "numba CSR vs pyamg CSR",
                     f"{t['numba CSR'] * 1e3:.2f} ms", f"{t['pyamg CSR'] * 1e3:.2f} ms",
                     t["numba CSR"] / t["pyamg CSR"], "≤ 1.0",
                     f"iterates agree to {s['agree']:.1e}"))
        rows.append((f"SOR sweep, {label}", "red-black stencil vs pyamg CSR",
                     f"{t['red-black stencil'] * 1e3:.2f} ms", f"{t['pyamg CSR'] * 1e3:.2f} ms",
                     t["red-black stencil"] / t["pyamg CSR"], "≤ 0.5", "matrix-free, prange"))
        print(rows[-2], rows[-1], flush=True)
    c = bench_cg(p2, rep_solve)
    t, k = c["times"], c["counts"]
    rows.append((f"CG, 2D Poisson {n2}², rtol 1e-8", "unisolve cg vs scipy cg",
                 f"{t['unisolve cg']:.2f} s", f"{t['scipy cg']:.2f} s",
                 t["unisolve cg"] / t["scipy cg"], "≤ 1.1 (its ±2)",
                 f"its {k['unisolve']} vs {k['scipy']}; ‖r‖/‖b‖ {k['unisolve_res']:.1e} vs "
                 f"{k['scipy_res']:.1e}"))
    print(rows[-1], flush=True)
    a = bench_amg(p2, rep_solve)
    t, k = a["times"], a["counts"]
    rows.append((f"AMG-PCG, 2D Poisson {n2}², rtol 1e-8", "pcg(amg) vs pyamg SA accel=cg",
                 f"{t['unisolve pcg(amg)']:.2f} s", f"{t['pyamg SA + cg']:.2f} s",
                 t["unisolve pcg(amg)"] / t["pyamg SA + cg"], "report",
                 f"its {k['unisolve']} vs {k['pyamg']}; ‖r‖/‖b‖ {k['unisolve_res']:.1e} vs "
                 f"{k['pyamg_res']:.1e}"))
    print(rows[-1], flush=True)

    table = _report.ratio_table(rows)
    body = ("## Linear solvers and kernels (`benchmarks/linear.py`)\n\n"
            + _report.header(_report.command_line())
            + f"- SOR ω = {OMEGA}, one forward sweep, median of {rep_sweep} interleaved runs; "
              f"solves: median of {rep_solve} (AMG times include setup)\n\n"
            + "\n".join(table) + "\n\n![linear benchmark](benchmarks_linear.png)\n")
    print(body)
    if not args.no_write:
        _report.write_section("linear", body)
        _plot(rows, _report.DOCS.parent / "benchmarks_linear.png")
    return 0


def _plot(rows, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r[0]}\n{r[1]}" for r in rows]
    ratios = [r[4] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(rows) + 1.2))
    ax.barh(range(len(rows)), ratios, color=["tab:blue" if v <= 1 else "tab:red" for v in ratios])
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio unisolve / peer (lower is better)")
    ax.set_title(f"unisolve linear benchmark — {time.strftime('%Y-%m-%d')}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())

"""The SOR sweep and the fused SSOR-PCG iteration against their peers, in one run.

Measured (ratio = time of the first / time of the second, both timed in this
process, runs interleaved, minimum of ``repeats``):

(a) one forward CSR SOR sweep, ``sor_sweep`` vs ``pyamg.relaxation.relaxation.sor``,
    ω = 1.5, both from the same x and b, on 2D Poisson 1024² and 3D Poisson
    96³ — target ≤ 1.0;
(b) seconds per iteration of ``ssor-pcg`` (matrix-free stencil kernels, CSR
    kernels, and the old PCG + SSOR sweeps path, ``pcg(preconditioner="ssor")``)
    over fused ``cg``: on 2D Poisson 1024² (``maxiter`` iterations each, set-up
    included) and on warm-started instances of ``heat_sequence(nx=100)``
    (converged solves, rtol 1e-8, ω = 1.7, total time / total iterations) —
    target ≤ 1.4 for ssor-pcg;
(c) when petsc4py imports: ``ssor-pcg`` per iteration vs PETSc's KSPCG + PCSOR
    (``-pc_sor_symmetric``, same ω = 1.5) on 2D Poisson 1024², the same fixed
    number of iterations each — target ≤ 1.0.

``benchmarks/sequences.py`` imports :func:`sweep_rows`, :func:`iteration_rows`
and :func:`petsc_rows`; each returns rows ``(what, ours [s], peer [s], ratio,
target)``.

Usage: ``python benchmarks/kernels_ssor.py [--quick] [--repeats K] [--cpu-time]``
(``--cpu-time`` times with the thread's CPU clock, steadier on a busy machine).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from pyamg.relaxation.relaxation import sor as pyamg_sor

import unisolve as us
from unisolve.problems import LinearProblem
from unisolve.solvers.kernels.sor_csr import inverse_diagonal, sor_sweep

OMEGA = 1.5
HEAT_OMEGA = 1.7

Row = tuple  # (what, ours seconds, peer seconds, ratio, target)


def min_times(fns: dict[str, Callable[[], object]], repeats: int,
              setup: Callable[[], None] | None = None,
              clock: Callable[[], float] = time.perf_counter) -> dict[str, float]:
    """Minimum time of each callable over ``repeats`` interleaved rounds (setup untimed)."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if setup is not None:
                setup()
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return {k: min(v) for k, v in times.items()}


def _poisson(dim: int, quick: bool):
    if dim == 2:
        return us.problems.poisson2d(128 if quick else 1024, rhs="random", seed=0)
    return us.problems.poisson3d(24 if quick else 96, rhs="random", seed=0)


def sweep_rows(quick: bool = False, repeats: int = 7,
               clock: Callable[[], float] = time.perf_counter) -> list[Row]:
    """(a) One forward CSR SOR sweep: ours vs PyAMG's C++ kernel, same x and b."""
    rows = []
    for dim in (2, 3):
        p = _poisson(dim, quick)
        A, b = p.A, p.b
        inv_diag = inverse_diagonal(A)
        x0 = np.random.default_rng(1).standard_normal(p.n)
        x_ours, x_peer = x0.copy(), x0.copy()

        def reset(x_ours=x_ours, x_peer=x_peer, x0=x0):
            x_ours[:] = x0
            x_peer[:] = x0

        fns = {
            "ours": lambda A=A, b=b, x=x_ours, d=inv_diag: sor_sweep(A, x, b, OMEGA, "forward", d),
            "pyamg": lambda A=A, b=b, x=x_peer: pyamg_sor(A, x, b, OMEGA, iterations=1,
                                                          sweep="forward"),
        }
        reset()
        for fn in fns.values():  # compile, warm the caches
            fn()
        assert np.abs(x_ours - x_peer).max() <= 1e-12 * np.abs(x_peer).max()  # same sweep
        t = min_times(fns, repeats, reset, clock)
        what = f"SOR sweep, {dim}D Poisson {'x'.join(map(str, p.grid_shape))} (n={p.n:,})"
        rows.append((what + ": sor_sweep vs pyamg sor", t["ours"], t["pyamg"],
                     t["ours"] / t["pyamg"], "≤ 1.0"))
    return rows


def _heat_instances(nx: int, steps: int) -> list:
    """Instances 1..steps of heat_sequence(nx), each warm-started from the exact trajectory."""
    seq = us.problems.heat_sequence(nx=nx, steps=steps + 1, seed=0)
    out, prev = [], None
    for t in range(steps + 1):
        p = seq.instance(t, prev)
        if t > 0:
            out.append(p)
        prev = us.solve(p, method="cg", rtol=1e-12).x
    return out


def _per_iteration(problems: list, clock, **options) -> Callable[[], tuple]:
    def run() -> tuple:
        its = 0
        t0 = clock()
        for p in problems:
            its += us.solve(p, **options).iterations
        return clock() - t0, its
    return run


def iteration_rows(quick: bool = False, repeats: int = 5, maxiter: int = 40,
                   clock: Callable[[], float] = time.perf_counter) -> list[Row]:
    """(b) Seconds per iteration of ssor-pcg (stencil, CSR, sweeps) over fused cg."""
    rows = []
    p = _poisson(2, quick)
    bare = LinearProblem(p.A, p.b)  # no stencil: the CSR kernels
    heat = _heat_instances(40 if quick else 100, 5 if quick else 20)
    heat_bare = [LinearProblem(q.A, q.b, x0=q.x0) for q in heat]
    cases = [
        (f"2D Poisson {p.grid_shape[0]}², {maxiter} iterations", [p], [bare],
         {"rtol": 0.0, "maxiter": maxiter}, OMEGA),
        (f"heat nx={heat[0].grid_shape[0] + 1}, {len(heat)} warm-started solves, rtol 1e-8",
         heat, heat_bare, {"rtol": 1e-8}, HEAT_OMEGA),
    ]
    for label, probs, probs_bare, common, omega in cases:
        runs = {
            "cg": _per_iteration(probs, clock, method="cg", **common),
            "ssor-pcg (stencil)": _per_iteration(probs, clock, method="ssor-pcg", omega=omega,
                                                 **common),
            "ssor-pcg (CSR)": _per_iteration(probs_bare, clock, method="ssor-pcg", omega=omega,
                                             **common),
            "pcg + SSOR sweeps (old)": _per_iteration(probs, clock, method="pcg",
                                                      preconditioner="ssor", omega=omega,
                                                      **common),
        }
        kernel = us.solve(probs[0], method="ssor-pcg", omega=omega, **common).info["kernel"]
        assert kernel == "eisenstat-stencil", kernel
        per_it: dict[str, list[float]] = {k: [] for k in runs}
        for fn in runs.values():
            fn()  # compile
        for _ in range(repeats):
            for name, fn in runs.items():
                seconds, its = fn()
                per_it[name].append(seconds / its)
        best = {k: min(v) for k, v in per_it.items()}
        for name in list(runs)[1:]:
            rows.append((f"{label}: {name} / cg, per iteration", best[name], best["cg"],
                         best[name] / best["cg"], "≤ 1.4" if "old" not in name else "report"))
    return rows


def petsc_rows(quick: bool = False, repeats: int = 5, maxiter: int = 40,
               clock: Callable[[], float] = time.perf_counter) -> list[Row]:
    """(c) ssor-pcg per iteration vs PETSc's KSPCG + SSOR; [] without petsc4py.

    Peers: PCSOR symmetric (what the issue names) and PCEISENSTAT (PETSc's own
    Eisenstat trick), both with ω = 1.5; ours with the stencil kernels and with
    the CSR kernels (PETSc sees an AIJ matrix). Same fixed iteration count.
    """
    try:
        from petsc4py import PETSc

        from unisolve.interop.petsc import scoped_options, to_petsc
    except ImportError:
        return []
    p = _poisson(2, quick)
    bare = LinearProblem(p.A, p.b)
    M, bv = to_petsc(p.A), to_petsc(p.b)
    xv = to_petsc(np.zeros(p.n))
    counts = {}

    def native(label: str, pc: str) -> Callable[[], None]:
        prefix, _ = scoped_options(f"-ksp_type cg {pc} -ksp_norm_type unpreconditioned")
        ksp = PETSc.KSP().create(PETSc.COMM_SELF)
        ksp.setOptionsPrefix(prefix)
        ksp.setOperators(M)
        ksp.setTolerances(rtol=1e-300, atol=0.0, max_it=maxiter)
        ksp.setFromOptions()
        ksp.setUp()

        def run() -> None:
            xv.set(0.0)
            ksp.solve(bv, xv)
            counts[label] = ksp.getIterationNumber()
        return run

    def ours(label: str, q) -> Callable[[], None]:
        def run() -> None:
            counts[label] = us.solve(q, method="ssor-pcg", omega=OMEGA, rtol=0.0,
                                     maxiter=maxiter).iterations
        return run

    fns = {"stencil": ours("stencil", p), "csr": ours("csr", bare),
           "PCSOR": native("PCSOR", f"-pc_type sor -pc_sor_symmetric -pc_sor_omega {OMEGA}"),
           "PCEISENSTAT": native("PCEISENSTAT",
                                 f"-pc_type eisenstat -pc_eisenstat_omega {OMEGA}")}
    for fn in fns.values():
        fn()
    t = min_times(fns, repeats, clock=clock)
    assert set(counts.values()) == {maxiter}, counts
    rows = []
    for mine, label in (("stencil", "ssor-pcg (stencil)"), ("csr", "ssor-pcg (CSR)")):
        for peer in ("PCSOR", "PCEISENSTAT"):
            what = (f"SSOR-PCG ω={OMEGA}, 2D Poisson {p.grid_shape[0]}², {maxiter} iterations: "
                    f"{label} vs KSPCG+{peer}, per iteration")
            rows.append((what, t[mine] / maxiter, t[peer] / maxiter, t[mine] / t[peer],
                         "≤ 1.0"))
    return rows


def format_table(rows: list[Row]) -> str:
    """The rows as a Markdown table."""
    lines = ["| what | ours | peer | ratio | target |", "|---|---:|---:|---:|---|"]
    lines += [f"| {what} | {ours * 1e3:.3f} ms | {peer * 1e3:.3f} ms | **{ratio:.2f}** | "
              f"{target} |" for what, ours, peer, ratio, target in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--repeats", type=int, default=None, help="rounds per timing (min taken)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with the thread's CPU clock instead of the wall clock")
    ap.add_argument("--write", "--no-write", action="store_true", dest="write",
                    help="accepted for `unisolve bench --write`; this script only prints "
                         "(its tables are not part of docs/BENCHMARKS.md)")
    args = ap.parse_args(argv)
    clock = time.thread_time if args.cpu_time else time.perf_counter
    repeats = args.repeats or (2 if args.quick else 7)
    rows = sweep_rows(args.quick, repeats, clock)
    rows += iteration_rows(args.quick, max(repeats // 2, 1) if not args.quick else 1,
                           clock=clock)
    rows += petsc_rows(args.quick, repeats, clock=clock)
    print(format_table(rows))
    if not rows[-1][0].startswith("SSOR-PCG"):
        print("(petsc4py not importable: the PETSc row is skipped)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

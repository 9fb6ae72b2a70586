"""The ``unisolve`` command (also ``python -m unisolve``).

    unisolve demo        heat-equation sequence solved by five methods: table + PNG
    unisolve methods     the method registry; ``unisolve methods NAME``: options, defaults, docs
    unisolve bench N     run benchmarks/N.py from a source checkout (prints; ``--write``
                         also updates docs/BENCHMARKS.md and docs/img/)
    unisolve petsc-heat  the heat sequence on a PETSc DMDA, CG + BanditSOR; runs under
                         ``mpiexec -n N`` (needs the petsc extra); PETSc options pass through
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "run_demo"]

#: (label, method, options) of the demo's contenders: fixed configurations, then the
#: ones that learn across the sequence (ω by a bandit, the AMG hierarchy kept while it
#: pays, and the configuration itself chosen by a bandit on wall time).
DEMO_METHODS = (
    ("CG", "cg", {}),
    ("SOR w=1", "sor", {"omega": 1.0}),
    ("SOR w=1.9", "sor", {"omega": 1.9}),
    ("SSOR-PCG w=1.5", "ssor-pcg", {"omega": 1.5}),
    ("SSOR-PCG w=auto", "ssor-pcg", {"omega": "auto"}),
    ("AMG-PCG", "pcg", {"preconditioner": "amg", "reuse": "never"}),
    ("AMG-PCG reuse", "pcg", {"preconditioner": "amg", "reuse": "auto"}),
    ("auto (bandit)", "auto", {}),
)


def run_demo(nx: int = 100, steps: int = 200, rtol: float = 1e-8, seed: int = 0,
             out: str | os.PathLike | None = "out/heat_demo.png", progress: bool = True,
             stream=None) -> list[dict]:
    """Solve ``heat_sequence(nx, steps)`` with each demo method; print a table; plot.

    Returns one row per method: label, total iterations, wall time of the whole
    sequence (solves, preconditioner set-ups, learners and assembling the
    instances), its ratio to CG's, and the relative error of the final state
    against the direct-solve trajectory. The plot shows iterations per step,
    cumulative wall time and the last step's convergence.

    Examples
    --------
    >>> import io
    >>> rows = run_demo(nx=12, steps=4, out=None, progress=False, stream=io.StringIO())
    >>> [r["label"] for r in rows][:2], all(r["final_error"] < 1e-6 for r in rows)
    (['CG', 'SOR w=1'], True)
    >>> rows[0]["vs_cg"], sorted(rows[-1])[:3]
    (1.0, ['converged', 'final_error', 'label'])
    """
    import unisolve as us

    stream = stream or sys.stdout
    seq = us.problems.heat_sequence(nx=nx, steps=steps, seed=seed)
    t0 = time.perf_counter()
    reference = seq.reference()
    t_direct = time.perf_counter() - t0
    u_ref = reference[-1]
    rows = []
    histories = {}
    for label, name, opts in DEMO_METHODS:
        rs = us.solve(seq, method=name, rtol=rtol, progress=progress, **opts)
        err = float(np.linalg.norm(rs.results[-1].x - u_ref) / np.linalg.norm(u_ref))
        rows.append({
            "label": label, "method": name, "total_iterations": rs.total_iterations,
            "time": rs.total_time, "final_error": err,
            "converged": sum(r.converged for r in rs.results),
        })
        histories[label] = rs
    for r in rows:
        r["vs_cg"] = round(r["time"] / rows[0]["time"], 3)
    print(f"heat_sequence(nx={nx}, steps={steps}): {seq.instance(0).n} unknowns per system, "
          f"rtol={rtol:g}, warm starts; wall = solves + set-ups + learners + assembly",
          file=stream)
    head = f"{'method':<18}{'total its':>10}{'its/step':>10}{'wall [s]':>10}{'/ CG':>7}" \
           f"{'final rel. error':>18}{'converged':>11}"
    print(head, file=stream)
    print("-" * len(head), file=stream)
    for r in rows:
        print(f"{r['label']:<18}{r['total_iterations']:>10d}"
              f"{r['total_iterations'] / steps:>10.1f}{r['time']:>10.2f}{r['vs_cg']:>7.2f}"
              f"{r['final_error']:>18.2e}{r['converged']:>7d}/{steps}", file=stream)
    print(f"{'direct (SuperLU)':<18}{'':>10}{'':>10}{t_direct:>10.2f}{'':>7}{'(reference)':>18}",
          file=stream)
    auto = histories[DEMO_METHODS[-1][0]].info.get("choices")
    if auto is not None:
        names, counts = np.unique(np.asarray(auto, dtype=str), return_counts=True)
        print("auto chose: " + ", ".join(f"{n} x{c}" for n, c in zip(names, counts, strict=True)),
              file=stream)
    if out is not None:
        path = _plot_demo(histories, seq, Path(out))
        print(f"plot: {path}", file=stream)
    return rows


def _step_times(rs) -> np.ndarray:
    """Wall time of every step of a sequence solve (solve + set-up + learner + assembly)."""
    times = rs.info.get("times")
    if times is None:
        return np.array([r.time for r in rs.results])
    return np.sum([np.asarray(v, dtype=float) for v in times.values()], axis=0)


def _plot_demo(histories: dict, seq, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 4.6))
    for label, rs in histories.items():
        line, = ax1.plot(rs.iterations, label=label, lw=1)
        ax2.plot(np.cumsum(_step_times(rs)), label=label, color=line.get_color())
        ax3.semilogy(rs.results[-1].residuals, label=label, color=line.get_color())
    ax1.set_xlabel("time step t")
    ax1.set_ylabel("iterations to rtol")
    ax1.set_yscale("log")
    ax1.set_title("iterations per Crank–Nicolson step")
    ax2.set_xlabel("time step t")
    ax2.set_ylabel("cumulative wall time [s]")
    ax2.set_title("what a simulation pays: cumulative wall time")
    ax2.legend(fontsize=8)
    ax3.set_xlabel("iteration")
    ax3.set_ylabel("‖b − A x‖ (true residual)")
    ax3.set_title("convergence on the last step")
    fig.suptitle(seq.name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _cmd_demo(args: argparse.Namespace) -> int:
    run_demo(nx=args.nx, steps=args.steps, rtol=args.rtol, seed=args.seed,
             out=None if args.no_plot else args.out, progress=not args.no_progress)
    return 0


def _cmd_methods(args: argparse.Namespace) -> int:
    import unisolve as us

    if args.name is not None:  # one method: matrix it needs, options, docstring
        try:
            text = us.describe(args.name)
        except ValueError as err:
            print(f"unisolve methods: {err}", file=sys.stderr)
            return 2
        print(text, end="")
        return 0
    print(f"{'name':<14} {'problem kinds':<24} {'matrix':<18} description")
    for info in us.methods(args.kind):
        print(info)
    return 0


BENCH_DIR = Path(__file__).resolve().parents[1] / "benchmarks"


def benchmark_names(root: Path = BENCH_DIR) -> list[str]:
    """The benchmarks ``unisolve bench`` runs: benchmarks/*.py without the ``_`` helpers."""
    if not root.exists():
        return []
    return sorted(p.stem for p in root.glob("*.py") if not p.stem.startswith("_"))


def _cmd_bench(args: argparse.Namespace) -> int:
    found = benchmark_names()
    hint = f"available: {', '.join(found)}" if found else \
        "benchmarks live in the source checkout's benchmarks/ folder"
    if args.name is None:
        print(f"unisolve bench: name a benchmark, e.g. `unisolve bench linear --quick` ({hint})",
              file=sys.stderr)
        return 2
    if args.name not in found:
        print(f"unisolve bench: no benchmark {args.name!r} ({hint})", file=sys.stderr)
        return 2
    extra = list(args.extra)
    if args.write and "--write" not in extra:
        extra.append("--write")
    return subprocess.call([sys.executable, str(BENCH_DIR / f"{args.name}.py"), *extra])


def _cmd_petsc_heat(args: argparse.Namespace) -> int:
    import petsc4py

    fresh = "petsc4py.PETSc" not in sys.modules
    if fresh:  # PETSc reads -ksp_monitor, -ksp_view, ... at start-up
        petsc4py.init([sys.argv[0], *args.petsc_options])
    from petsc4py import PETSc

    if not fresh and args.petsc_options:  # PETSc already running in this process
        PETSc.Options().insertString(" ".join(args.petsc_options))

    from .interop.petsc import most_used
    from .interop.petsc_heat import heat_dmda

    comm = PETSc.COMM_WORLD
    rank = comm.getRank()
    run = heat_dmda(nx=args.nx, steps=args.steps, dt=args.dt, seed=args.seed,
                    omega=args.omega, rtol=args.rtol, learner_seed=args.learner_seed,
                    progress=not args.no_progress)
    omegas_by_rank = comm.tompi4py().gather(run.omegas, root=0) if run.ranks > 1 else \
        [run.omegas]
    if rank != 0:
        return 0
    agree = all(np.array_equal(w, omegas_by_rank[0]) for w in omegas_by_rank)
    print(f"petsc-heat: nx={args.nx} ({run.unknowns} unknowns), {args.steps} steps, "
          f"{run.ranks} rank(s), CG + BanditSOR(omega={args.omega!r}), rtol={args.rtol:g}")
    print(f"  total CG iterations {int(run.iterations.sum())} "
          f"({run.iterations.mean():.1f} per step), converged {run.converged}/{args.steps}")
    print(f"  time loop {run.seconds:.2f} s; omegas most used: {most_used(run.omegas)}; last omega "
          f"{run.omegas[-1]:.3g}; ranks agree on every omega: {agree}")
    if args.check:
        import unisolve as us

        ref = us.problems.heat_sequence(nx=args.nx, steps=args.steps, dt=args.dt,
                                        seed=args.seed).reference()[-1]
        err = float(np.linalg.norm(run.u - ref) / np.linalg.norm(ref))
        print(f"  final state vs the serial direct-solve trajectory: relative error {err:.2e}")
    if args.save:
        np.savez(args.save, u=run.u, iterations=run.iterations, omegas=np.asarray(omegas_by_rank),
                 seconds=run.seconds, ranks=run.ranks)
        print(f"  saved {args.save}")
    return 0 if agree else 1


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``unisolve`` command."""
    parser = argparse.ArgumentParser(
        prog="unisolve",
        description="Classical iterative methods and learned PDE solvers behind one call.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo", help="solve a heat-equation sequence with five methods; table + PNG",
        description="Solve heat_sequence(nx, steps) (Crank–Nicolson, warm starts) with CG, "
                    "SOR w=1, SOR w=1.9, SSOR-PCG and AMG-PCG; print total iterations, "
                    "wall time and the final error against a direct solve; write a "
                    "convergence plot.")
    demo.add_argument("--nx", type=int, default=100, help="cells per side (default 100)")
    demo.add_argument("--steps", type=int, default=200, help="time steps (default 200)")
    demo.add_argument("--rtol", type=float, default=1e-8,
                      help="relative tolerance (default: %(default)g)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the diffusivity path")
    demo.add_argument("--out", default="out/heat_demo.png",
                      help="PNG path (default: %(default)s)")
    demo.add_argument("--no-plot", action="store_true", help="skip the PNG")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(func=_cmd_demo)
    meth = sub.add_parser("methods", help="list the registered methods (NAME: its options)",
                          description="List every registered method with the problem "
                                      "kinds it solves and a one-line description; "
                                      "`unisolve methods NAME` shows one method's options "
                                      "with their defaults and its docstring (in Python: "
                                      "unisolve.describe(NAME)).")
    meth.add_argument("name", nargs="?", default=None,
                      help="show one method: the matrix it needs, its options, its docstring")
    meth.add_argument("--kind", default=None, help="only methods for this problem kind")
    meth.set_defaults(func=_cmd_methods)
    names = ", ".join(benchmark_names()) or "none found: run from a source checkout"
    bench = sub.add_parser("bench", help="run a benchmark script (benchmarks/NAME.py)",
                           description="Run benchmarks/NAME.py from a source checkout; "
                                       "extra arguments are passed on (e.g. --quick). It "
                                       "prints its tables; only with --write does it also "
                                       "update docs/BENCHMARKS.md and docs/img/ "
                                       f"(`make bench` does). Benchmarks: {names}.")
    bench.add_argument("--write", action="store_true",
                       help="also write the results into docs/BENCHMARKS.md and docs/img/")
    bench.add_argument("name", nargs="?", default=None,
                       help="benchmark name, e.g. 'linear' (see the list above)")
    bench.add_argument("extra", nargs=argparse.REMAINDER,
                       help="arguments for the script (e.g. --quick, --write)")
    bench.set_defaults(func=_cmd_bench)
    heat = sub.add_parser(
        "petsc-heat", help="heat sequence on a PETSc DMDA, CG + BanditSOR (mpiexec -n N ...)",
        description="The 2D heat sequence (as `unisolve demo`) assembled on a PETSc DMDA and "
                    "distributed over the MPI ranks; each step is one KSPSolve with CG "
                    "preconditioned by BanditSOR (PETSc's SSOR, omega learned on rank 0). "
                    "Other arguments starting with '-' go to PETSc (-ksp_monitor, -ksp_view, "
                    "-pc_bandit_omega 1.5, ...). Needs the petsc extra.")
    heat.add_argument("--nx", type=int, default=200, help="cells per side (default 200)")
    heat.add_argument("--steps", type=int, default=500, help="time steps (default 500)")
    heat.add_argument("--dt", type=float, default=1e-3, help="time step (default 1e-3)")
    heat.add_argument("--seed", type=int, default=0, help="seed of the diffusivity path")
    heat.add_argument("--omega", default="auto",
                      help="BanditSOR learner ('auto', 'tsallis') or a fixed weight")
    heat.add_argument("--learner-seed", type=int, default=0, help="seed of the learner")
    heat.add_argument("--rtol", type=float, default=1e-8, help="CG relative tolerance")
    heat.add_argument("--check", action="store_true",
                      help="compare the final state with the serial direct-solve trajectory")
    heat.add_argument("--save", default=None, help="write u, iterations, omegas to an .npz")
    heat.add_argument("--no-progress", action="store_true", help="no progress bar")
    heat.set_defaults(func=_cmd_petsc_heat)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``unisolve`` command; returns the exit code.

    Examples
    --------
    >>> main(["methods", "--kind", "linear"])  # doctest: +ELLIPSIS
    name           problem kinds            matrix             description
    auto ...
    cg ...
    0
    """
    try:
        return _main(argv)
    except BrokenPipeError:  # `unisolve methods | head`: the reader left; not an error of ours
        _silence_stdout()
        return 0


def _silence_stdout() -> None:
    """Point stdout at devnull so the interpreter's final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (e.g. StringIO)
        pass


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command == "petsc-heat":
        args.petsc_options = unknown  # PETSc's own options, e.g. -ksp_monitor
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:
        parser.print_help()
        return 0
    return args.func(args)

"""The ``unisolve`` command (also ``python -m unisolve``).

    unisolve demo     heat-equation sequence solved by five methods: table + PNG
    unisolve methods  the method registry
    unisolve bench N  run benchmarks/N.py from a source checkout
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

#: (label, method, options) of the demo's contenders.
DEMO_METHODS = (
    ("CG", "cg", {}),
    ("SOR w=1", "sor", {"omega": 1.0}),
    ("SOR w=1.9", "sor", {"omega": 1.9}),
    ("SSOR-PCG w=1.5", "pcg", {"preconditioner": "ssor", "omega": 1.5}),
    ("AMG-PCG", "pcg", {"preconditioner": "amg"}),
)


def run_demo(nx: int = 100, steps: int = 200, rtol: float = 1e-8, seed: int = 0,
             out: str | os.PathLike | None = "out/heat_demo.png", progress: bool = True,
             stream=None) -> list[dict]:
    """Solve ``heat_sequence(nx, steps)`` with each demo method; print a table; plot.

    Returns one row per method: label, total iterations, wall time and the
    relative error of the final state against the direct-solve trajectory.

    Examples
    --------
    >>> import io
    >>> rows = run_demo(nx=12, steps=4, out=None, progress=False, stream=io.StringIO())
    >>> [r["label"] for r in rows][:2], all(r["final_error"] < 1e-6 for r in rows)
    (['CG', 'SOR w=1'], True)
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
    print(f"heat_sequence(nx={nx}, steps={steps}): {seq.instance(0).n} unknowns per system, "
          f"rtol={rtol:g}, warm starts", file=stream)
    head = f"{'method':<16}{'total its':>10}{'its/step':>10}{'time [s]':>10}" \
           f"{'final rel. error':>18}{'converged':>11}"
    print(head, file=stream)
    print("-" * len(head), file=stream)
    for r in rows:
        print(f"{r['label']:<16}{r['total_iterations']:>10d}"
              f"{r['total_iterations'] / steps:>10.1f}{r['time']:>10.2f}"
              f"{r['final_error']:>18.2e}{r['converged']:>7d}/{steps}", file=stream)
    print(f"{'direct (SuperLU)':<16}{'':>10}{'':>10}{t_direct:>10.2f}{'(reference)':>18}",
          file=stream)
    if out is not None:
        path = _plot_demo(histories, seq, Path(out))
        print(f"convergence plot: {path}", file=stream)
    return rows


def _plot_demo(histories: dict, seq, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, rs in histories.items():
        ax1.plot(rs.iterations, label=label, lw=1)
        last = rs.results[-1]
        ax2.semilogy(last.residuals, label=label)
    ax1.set_xlabel("time step t")
    ax1.set_ylabel("iterations to rtol")
    ax1.set_yscale("log")
    ax1.set_title("iterations per Crank–Nicolson step")
    ax2.set_xlabel("iteration")
    ax2.set_ylabel("‖b − A x‖ (true residual)")
    ax2.set_title("convergence on the last step")
    ax2.legend(fontsize=8)
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

    print(f"{'name':<14} {'problem kinds':<24} description")
    for info in us.methods(args.kind):
        print(info)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    root = Path(__file__).resolve().parents[1] / "benchmarks"
    script = root / f"{args.name}.py"
    if not script.exists():
        found = sorted(p.stem for p in root.glob("*.py")) if root.exists() else []
        hint = f"available: {', '.join(found)}" if found else \
            "benchmarks live in the source checkout's benchmarks/ folder"
        print(f"unisolve bench: no benchmark {args.name!r} ({hint})", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, str(script), *args.extra])


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
    demo.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance")
    demo.add_argument("--seed", type=int, default=0, help="seed of the diffusivity path")
    demo.add_argument("--out", default="out/heat_demo.png", help="PNG path")
    demo.add_argument("--no-plot", action="store_true", help="skip the PNG")
    demo.add_argument("--no-progress", action="store_true", help="no progress bars")
    demo.set_defaults(func=_cmd_demo)
    meth = sub.add_parser("methods", help="list the registered methods",
                          description="List every registered method with the problem "
                                      "kinds it solves and a one-line description.")
    meth.add_argument("--kind", default=None, help="only methods for this problem kind")
    meth.set_defaults(func=_cmd_methods)
    bench = sub.add_parser("bench", help="run a benchmark script (benchmarks/NAME.py)",
                           description="Run benchmarks/NAME.py from a source checkout; "
                                       "extra arguments are passed on.")
    bench.add_argument("name", help="benchmark name, e.g. 'linear'")
    bench.add_argument("extra", nargs=argparse.REMAINDER, help="arguments for the script")
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``unisolve`` command; returns the exit code.

    Examples
    --------
    >>> main(["methods", "--kind", "linear"])  # doctest: +ELLIPSIS
    name           problem kinds            description
    cg ...
    0
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.func(args)

"""What the issue-26 hardening costs, and what it buys, measured in one run.

(a) **Safe norm.** :func:`unisolve.norms.nrm2` (one pass, Blue's three
    accumulators: no overflow or underflow for any finite vector) against the
    plain ``sqrt(x @ x)`` it replaced in the stopping tests and against
    ``numpy.linalg.norm`` (which is ``sqrt(dot)`` for a 1-D float vector, so it
    underflows at 1e-170), at n = 10⁴, 10⁵, 10⁶ (median of ``--repeats`` runs).
(b) **Equilibration wrapper on normal data.** ``unisolve.solve(p, method=m)``
    (which runs the method under :func:`unisolve.scaling.run_linear`: two max
    passes, nothing scaled in range) against calling the registered method
    function directly, interleaved, on the systems of the other benchmarks:
    ``poisson2d(256)`` for cg / ssor-pcg / minres, ``poisson2d(96)`` for sor, and
    ``convection_diffusion_system(256, peclet=10)`` for gmres / bicgstab with
    ILU(0). Both paths use the safe norms; the ratio is the wrapper's cost.
(c) **What it buys.** Every method above (at 16²) on the issue's out-of-range systems
    (b·1e-170; A, b·1e-170; A, b·1e150 from x0 = 1.001·x; A, b·1e-150): status,
    iterations (the same as on the unscaled system when the scaling is exact)
    and the true relative residual computed with the safe norm.

BLAS runs on one thread (set before numpy loads), as our kernels do.

Writes docs/BENCHMARKS.md (section ``hardening``) with ``--write`` (off by default).

(d) With ``--baseline DIR`` (a checkout of an older version, e.g. the main branch
    before issue 26: ``git worktree add /tmp/old 8f3ab89``): the (b) solves through
    ``solve()`` there and here, in separate processes alternated old/new.

Usage: ``python benchmarks/hardening.py [--quick] [--write] [--repeats K]
[--baseline DIR [--rounds R]]``
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
from unisolve.problems import LinearProblem  # noqa: E402
from unisolve.registry import get_method  # noqa: E402

RTOL = 1e-8


def _median(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def norm_table(sizes: list[int], repeats: int) -> list[str]:
    """(a): seconds per call of nrm2, sqrt(dot) and numpy.linalg.norm."""
    from unisolve.norms import nrm2  # here, not at the top: --baseline imports this module
    rng = np.random.default_rng(0)
    lines = ["| n | nrm2 (safe) | sqrt(x @ x) | numpy.linalg.norm | nrm2 / sqrt(dot) | "
             "agree to |", "|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        x = rng.standard_normal(n)
        nrm2(x)  # compiled before timing
        inner = max(1, 2_000_000 // n)  # enough calls per sample to time reliably

        def many(f, x=x, inner=inner):
            return lambda: [f(x) for _ in range(inner)]

        t_safe = _median(many(nrm2), repeats) / inner
        t_dot = _median(many(lambda v: np.sqrt(v @ v)), repeats) / inner
        t_np = _median(many(np.linalg.norm), repeats) / inner
        rel = abs(nrm2(x) - np.sqrt(x @ x)) / np.sqrt(x @ x)
        lines.append(f"| {n:,} | {1e6 * t_safe:.1f} µs | {1e6 * t_dot:.1f} µs | "
                     f"{1e6 * t_np:.1f} µs | **{t_safe / t_dot:.2f}** | {rel:.0e} |")
    return lines


def _cases(quick: bool, small: bool = False) -> list[tuple[str, str, LinearProblem, dict]]:
    n2, nsor, nc = (16, 16, 16) if small else (64, 32, 64) if quick else (256, 96, 256)
    p = us.problems.poisson2d(n2)
    q = us.problems.poisson2d(nsor)
    c = us.problems.convection_diffusion_system(nc, peclet=10.0)
    return [
        ("cg", f"poisson2d({n2})", p, {}),
        ("ssor-pcg", f"poisson2d({n2})", p, {"omega": 1.8}),
        ("minres", f"poisson2d({n2})", p, {}),
        ("sor", f"poisson2d({nsor})", q, {"omega": 1.9}),
        ("gmres", f"convection({nc}, Pe 10)", c, {"preconditioner": "ilu0"}),
        ("bicgstab", f"convection({nc}, Pe 10)", c, {"preconditioner": "ilu0"}),
    ]


def wrapper_table(cases, repeats: int) -> list[str]:
    """(b): solve() (under run_linear) against the bare method function, interleaved."""
    lines = ["| method | system | iterations | solve() | method function | ratio |",
             "|---|---|---:|---:|---:|---:|"]
    for name, label, p, opts in cases:
        func = get_method(name).func

        def via_solve(p=p, name=name, opts=opts):
            return us.solve(p, method=name, rtol=RTOL, **opts)

        def bare(p=p, func=func, opts=opts):
            return func(p, rtol=RTOL, **opts)

        r = via_solve()
        bare()  # warm (compiled kernels, cached structure checks)
        t_s, t_b = [], []
        for _ in range(repeats):
            for f, acc in ((via_solve, t_s), (bare, t_b)):
                t0 = time.perf_counter()
                f()
                acc.append(time.perf_counter() - t0)
        ts, tb = float(np.median(t_s)), float(np.median(t_b))
        lines.append(f"| {name} | {label} | {r.iterations} | {1e3 * ts:.1f} ms | "
                     f"{1e3 * tb:.1f} ms | **{ts / tb:.3f}** |")
    return lines


def out_of_range_table() -> tuple[list[str], int]:
    """(c): status, iterations and true relative residual on the issue's systems, and the
    number of false CONVERGED claims (true residual above rtol: must be 0)."""
    from unisolve.norms import safe_norm
    lines = ["| method | system | scale 1 | b·1e-170 | A, b·1e-170 | "
             "A, b·1e150 (x0 = 1.001 x) | A, b·1e-150 |", "|---|---|---|---|---|---|---|"]
    false = 0
    for name, label, p, opts in _cases(quick=True, small=True):
        A, b = p.A, p.b
        x = us.solve(p, method=name, rtol=1e-12, **opts).x
        runs = [(A, b, None), (A, 1e-170 * b, None), (1e-170 * A, 1e-170 * b, None),
                (1e150 * A, 1e150 * b, 1.001 * x), (1e-150 * A, 1e-150 * b, None)]
        cells = []
        for Ak, bk, x0 in runs:
            r = us.solve(LinearProblem(Ak, bk), method=name, rtol=RTOL, x0=x0, **opts)
            true = safe_norm(bk - Ak @ r.x) / safe_norm(bk)
            false += bool(r.converged and not true <= RTOL)
            cells.append(f"{r.status.name} {r.iterations} it, {true:.0e}")
        lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return lines, false


_CHILD = """
import sys, time
import unisolve as us
sys.path.insert(0, {bench!r})
import hardening
out = []
for name, label, p, opts in hardening._cases({quick!r}):
    us.solve(p, method=name, rtol=hardening.RTOL, **opts)
    ts = []
    for _ in range({repeats}):
        t0 = time.perf_counter()
        r = us.solve(p, method=name, rtol=hardening.RTOL, **opts)
        ts.append(time.perf_counter() - t0)
    out.append((name, label, min(ts), r.iterations))
print(repr((us.__file__, out)))
"""


def baseline_table(baseline: str, quick: bool, repeats: int, rounds: int) -> list[str]:
    """``solve()`` of this checkout against another checkout's package (``--baseline DIR``,
    e.g. ``git worktree add /tmp/old 8f3ab89``), in separate processes alternated old/new,
    min over ``repeats`` runs per process and over ``rounds`` processes."""
    import ast
    import subprocess

    here = str(Path(__file__).resolve().parents[1])
    code = _CHILD.format(bench=str(Path(__file__).resolve().parent), quick=quick,
                         repeats=repeats)
    best: dict[str, dict] = {"old": {}, "new": {}}
    for _ in range(rounds):
        for tag, root in (("old", baseline), ("new", here)):
            env = dict(os.environ, PYTHONPATH=root)
            res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                 text=True, check=True, cwd=root)
            where, out = ast.literal_eval(res.stdout.strip().splitlines()[-1])
            if not where.startswith(str(Path(root).resolve())):
                raise RuntimeError(f"the {tag} run imported unisolve from {where}, not {root}")
            for name, label, t, its in out:
                prev = best[tag].get(name)
                if prev is None or t < prev[1]:
                    best[tag][name] = (label, t, its)
    lines = ["| method | system | before (baseline) | this checkout | ratio | iterations |",
             "|---|---|---:|---:|---:|---|"]
    for name, (label, t_new, it_new) in best["new"].items():
        _, t_old, it_old = best["old"][name]
        lines.append(f"| {name} | {label} | {1e3 * t_old:.1f} ms | {1e3 * t_new:.1f} ms | "
                     f"**{t_new / t_old:.2f}** | {it_old} → {it_new} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--repeats", type=int, default=7, help="timed runs per entry (median)")
    ap.add_argument("--baseline", metavar="DIR", default=None,
                    help="a checkout of an older unisolve (e.g. `git worktree add /tmp/old "
                         "8f3ab89`): time solve() there and here, alternated processes")
    ap.add_argument("--rounds", type=int, default=5,
                    help="processes per side for --baseline (min over them)")
    add_write_options(ap)
    args = ap.parse_args(argv)
    repeats = 2 if args.quick else args.repeats
    sizes = [10_000, 100_000] if args.quick else [10_000, 100_000, 1_000_000]
    cases = _cases(args.quick)
    body = [header(command_line()), "- BLAS on one thread; medians of "
            f"{repeats} interleaved runs", ""]
    body += ["### (a) the safe norm against sqrt(dot) (seconds per call)", ""]
    body += norm_table(sizes, repeats)
    body += ["", f"### (b) solve() under the equilibration wrapper against the bare method "
             f"(normal-range data, rtol {RTOL:g})", ""]
    body += wrapper_table(cases, repeats)
    if args.baseline:
        import subprocess

        rev = subprocess.run(["git", "-C", args.baseline, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip() or "?"
        body += ["", f"### (d) solve() against commit {rev} (`--baseline {args.baseline}`; "
                 f"separate processes alternated, min of {repeats} runs × {args.rounds} "
                 "processes)", ""]
        body += baseline_table(args.baseline, args.quick, repeats, args.rounds)
    body += ["", "### (c) out-of-range systems (the systems above at 16²; status, "
             f"iterations, true ‖b − A x‖/‖b‖ by the safe norm; rtol {RTOL:g})", ""]
    lines, false = out_of_range_table()
    body += [*lines, "", f"False CONVERGED claims: {false} (target 0; on the main branch "
                         "before issue 26 every method claimed CONVERGED on b·1e-170 at x = 0)"]
    text = "\n".join(body)
    print(text)
    write_section("hardening", "## Hardening: safe norms and equilibration (issue 26)\n\n"
                  + text)
    return 1 if false else 0


if __name__ == "__main__":
    raise SystemExit(main())

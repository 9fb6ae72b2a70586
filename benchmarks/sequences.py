"""Fast sequences (issue 24): wall time of the learning solvers against CG and the best
fixed configuration, measured in one run.

1. **Per iteration** (``benchmarks/kernels_ssor.py``): one SSOR-PCG iteration (Eisenstat's
   fused form, CSR and matrix-free) against one fused CG iteration on 2D Poisson 1024²
   and on a heat instance (nx = 100) — target ≤ 1.4; against PETSc KSPCG + PCSOR
   (symmetric, same ω) when petsc4py is present — target ≤ 1.0; the CSR SOR sweep
   against ``pyamg.relaxation.relaxation.sor`` — target ≤ 1.0.
2. **Heat sequences** ``heat_sequence(nx, steps=2000)``, nx = 100 and 200, rtol 1e-8, warm
   starts: total wall time (solves + preconditioner set-ups + learners + assembling the
   instances) of CG, SSOR-PCG with fixed ω and with ``omega="auto"``, PCG + IC(0) and
   PCG + AMG with ``reuse="never"`` / ``"auto"``, and ``method="auto"``. Every
   configuration runs end to end through ``unisolve.solve``; the configurations run in
   rounds, the order reversed each round, and each keeps its fastest round (drift and
   other processes hit all alike). Targets: AMG ``reuse="auto"`` ≤ 0.3× rebuilding every
   step; ``method="auto"`` ≤ 1.1× the best single configuration in hindsight and ≤ 0.5×
   CG.
3. **The ω learner on short horizons** (``benchmarks/omega.py``, ``short_horizon_table``):
   learned ω against the best fixed grid ω at T = 200 and T = 5000.

Writes docs/BENCHMARKS.md (section ``sequences``) and docs/img/sequences_heat.png (the
cumulative wall time per configuration). ``--quick`` is a smoke-test size.

Usage: ``python benchmarks/sequences.py [--quick] [--write] [--steps N] [--rounds R]
[--parts kernels,heat,omega] [--nx 100 200]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

import unisolve as us

RTOL = 1e-8
FIXED_OMEGAS = (1.6, 1.7, 1.8, 1.9)


def heat_configurations(nx: int, quick: bool) -> list[tuple[str, str, dict]]:
    """(label, method, options) of every configuration timed on ``heat_sequence(nx)``."""
    configs = [("CG", "cg", {})]
    configs += [(f"SSOR-PCG ω={w}", "ssor-pcg", {"omega": w}) for w in FIXED_OMEGAS]
    configs += [
        ("SSOR-PCG ω=auto", "ssor-pcg", {"omega": "auto"}),
        ("IC(0)-PCG reuse=never", "pcg", {"preconditioner": "ic0", "reuse": "never"}),
        ("IC(0)-PCG reuse=auto", "pcg", {"preconditioner": "ic0", "reuse": "auto"}),
        ("AMG-PCG reuse=never", "pcg", {"preconditioner": "amg", "reuse": "never"}),
        ("AMG-PCG reuse=auto", "pcg", {"preconditioner": "amg", "reuse": "auto"}),
        ("auto", "auto", {}),
    ]
    if nx > 150 and not quick:  # rebuilding every step at 39,601 unknowns: minutes, no target
        configs = [c for c in configs
                   if c[0] not in ("AMG-PCG reuse=never", "IC(0)-PCG reuse=never")]
    return configs


#: The configurations ``method="auto"`` chooses among by default (its candidates).
CANDIDATE_LABELS = ("CG", "SSOR-PCG ω=auto", "IC(0)-PCG reuse=auto", "AMG-PCG reuse=auto")


def step_times(rs) -> np.ndarray:
    """Wall time of every step: solve + set-up + learner + assembly."""
    times = rs.info["times"]
    return np.sum([np.asarray(times[k], dtype=float) for k in times], axis=0)


def run_heat(nx: int, steps: int, rounds: int, quick: bool) -> dict:
    """Every configuration on ``heat_sequence(nx, steps)``; the fastest of ``rounds`` rounds."""
    seq = us.problems.heat_sequence(nx=nx, steps=steps, seed=0)
    configs = heat_configurations(nx, quick)
    # compile / load every kernel once, on a short copy of the sequence, untimed
    warm = us.problems.heat_sequence(nx=nx, steps=3, seed=1)
    for _, method, opts in configs:
        us.solve(warm, method=method, rtol=RTOL, progress=False, **opts)
    best: dict = {}
    for k in range(rounds):
        order = configs if k % 2 == 0 else configs[::-1]
        for label, method, opts in order:
            t0 = time.perf_counter()
            rs = us.solve(seq, method=method, rtol=RTOL, progress=False, **opts)
            wall = time.perf_counter() - t0
            rec = {
                "wall": wall, "total": rs.total_time, "solve": rs.solve_time,
                "setup": rs.setup_time, "learner": rs.learner_time,
                "assembly": rs.assembly_time, "its": rs.total_iterations,
                "converged": sum(r.converged for r in rs.results),
                "cumulative": np.cumsum(step_times(rs)),
                "rebuilt": len(rs.info.get("rebuilt", [])),
                "choices": rs.info.get("choices"),
            }
            if label not in best or rec["total"] < best[label]["total"]:
                best[label] = rec
            print(f"  nx={nx} round {k + 1}: {label:<24} {rec['total']:8.2f} s "
                  f"({rec['its']} its, {rec['converged']}/{steps} converged)", flush=True)
    return {"nx": nx, "steps": steps, "n": seq.instance(0).n, "rows": best,
            "order": [c[0] for c in configs]}


def heat_table(res: dict) -> list[str]:
    rows, steps = res["rows"], res["steps"]
    cg = rows["CG"]["total"]
    singles = {k: v for k, v in rows.items() if k != "auto" and "never" not in k}
    best_label = min(singles, key=lambda k: singles[k]["total"])
    best = singles[best_label]["total"]
    cands = {k: rows[k]["total"] for k in CANDIDATE_LABELS if k in rows}
    best_cand = min(cands, key=cands.get)
    lines = [
        f"### heat_sequence(nx={res['nx']}) — {res['n']:,} unknowns, {steps} steps, "
        f"rtol {RTOL:g}, warm starts",
        "",
        "| configuration | total its | solve [s] | set-up [s] | learner [s] | assembly [s] "
        "| total [s] | / CG | / best single | converged | builds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label in res["order"]:
        if label not in rows:
            continue
        r = rows[label]
        builds = r["rebuilt"] if "reuse" in label else ""
        lines.append(
            f"| {label} | {r['its']:,} | {r['solve']:.2f} | {r['setup']:.2f} | "
            f"{r['learner']:.2f} | {r['assembly']:.2f} | {r['total']:.2f} | "
            f"{r['total'] / cg:.2f} | {r['total'] / best:.2f} | {r['converged']}/{steps} | "
            f"{builds} |")
    lines.append("")
    auto = rows.get("auto")
    if auto is not None:
        lines.append(
            f"- `method=\"auto\"`: **{auto['total'] / best:.2f}×** the best single configuration "
            f"in hindsight ({best_label}, {best:.2f} s; target ≤ 1.1), "
            f"{auto['total'] / cands[best_cand]:.2f}× the best of its own candidates "
            f"({best_cand}), **{auto['total'] / cg:.2f}×** CG (target ≤ 0.5).")
        if auto["choices"] is not None:
            names, counts = np.unique(np.asarray(auto["choices"], dtype=str),
                                      return_counts=True)
            lines.append("  Choices: " + ", ".join(
                f"{n} ×{c}" for n, c in zip(names, counts, strict=True)))
    if "AMG-PCG reuse=never" in rows and "AMG-PCG reuse=auto" in rows:
        ratio = rows["AMG-PCG reuse=auto"]["total"] / rows["AMG-PCG reuse=never"]["total"]
        lines.append(
            f"- AMG-PCG `reuse=\"auto\"` / rebuilding every step: **{ratio:.2f}** (target ≤ 0.3), "
            f"{rows['AMG-PCG reuse=auto']['rebuilt']} builds in {steps} steps, "
            f"{rows['AMG-PCG reuse=auto']['converged']}/{steps} converged.")
    ssor_auto = rows.get("SSOR-PCG ω=auto")
    if ssor_auto is not None:
        lines.append(f"- SSOR-PCG `omega=\"auto\"`: {ssor_auto['total'] / cg:.2f}× CG's wall "
                     f"time with {ssor_auto['its'] / rows['CG']['its']:.2f}× its iterations.")
    return lines


def plot_heat(results: list[dict]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(7 * len(results), 4.8), squeeze=False)
    for ax, res in zip(axes[0], results, strict=True):
        for label in res["order"]:
            if label in res["rows"]:
                style = "-" if label in (*CANDIDATE_LABELS, "auto") else ":"
                ax.plot(res["rows"][label]["cumulative"], style, label=label,
                        lw=2.2 if label == "auto" else 1.2)
        ax.set_yscale("log")
        ax.set_xlabel("time step")
        ax.set_ylabel("cumulative wall time [s]")
        ax.set_title(f"heat_sequence(nx={res['nx']}), {res['n']:,} unknowns")
        ax.legend(fontsize=7)
    return _report.save_figure(fig, "sequences_heat.png")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke-test sizes")
    _report.add_write_options(ap)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--parts", default="kernels,heat,omega")
    ap.add_argument("--nx", type=int, nargs="+", default=None, help="heat grids (100 200)")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    steps = args.steps or (12 if args.quick else 2000)
    rounds = args.rounds or (1 if args.quick else 2)
    sizes = args.nx or ((12, 16) if args.quick else (100, 200))
    sections: list[str] = ["## Fast sequences (`benchmarks/sequences.py`, issue 24)", "",
                           _report.header(_report.command_line())]
    ok = True
    if "kernels" in parts:
        import kernels_ssor

        rows = kernels_ssor.sweep_rows(args.quick, 2 if args.quick else 7)
        rows += kernels_ssor.iteration_rows(args.quick, 1 if args.quick else 3)
        rows += kernels_ssor.petsc_rows(args.quick, 2 if args.quick else 5)
        table = kernels_ssor.format_table(rows)
        sections += ["### Per iteration: fused SSOR-PCG, CSR SOR sweep", "",
                     "Minimum of interleaved repeats, in this process"
                     + ("" if any("KSPCG" in r[0] for r in rows)
                        else " (petsc4py not importable: no PETSc row)") + ".", "", table, ""]
        print(table, flush=True)
    if "heat" in parts:
        results = [run_heat(nx, steps, rounds, args.quick) for nx in sizes]
        for res in results:
            lines = heat_table(res)
            sections += [*lines, ""]
            print("\n".join(lines), flush=True)
            ok &= all(r["converged"] == res["steps"] for r in res["rows"].values())
        if not args.no_write:
            plot_heat(results)
            sections += ["![cumulative wall time](img/sequences_heat.png)", ""]
    if "omega" in parts:
        import omega

        text, _ = omega.short_horizon_table(
            (0,) if args.quick else (0, 1, 2), nx=12 if args.quick else 50,
            T_long=0 if args.quick else 5000, pcg=not args.quick, jobs=1,
            cache=not args.quick, command=_report.command_line())
        text = text.split("\n", 1)[1] if text.startswith("## ") else text  # our heading
        sections += ["### The ω learner on short and long horizons", "", text, ""]
        print(text, flush=True)
    body = "\n".join(sections)
    if not args.no_write:
        _report.write_section("sequences", body)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

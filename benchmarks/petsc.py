"""unisolve against PETSc, in one process, on the same matrices; BanditSOR in a PETSc time loop.

Measured (ratio = unisolve time / PETSc time, both timed in this run; PETSc
sequential, built -O3 without debugging, as `make petsc` builds it):

1. 2D Poisson 1024² and 3D Poisson 96³ (random right-hand side):
   * SOR: our numba CSR sweep vs PETSc's (``-ksp_type richardson -pc_type sor
     -pc_sor_local_forward``, the fast path: K sweeps in one MatSOR call),
     K forward sweeps each, ω = 1.5; the iterates after K sweeps must agree;
   * CG: ``cg`` vs KSPCG (``-ksp_type cg -pc_type none -ksp_norm_type
     unpreconditioned``, PETSc's own convergence test), rtol 1e-8 — target ≤ 1.3;
   * SSOR-PCG: ``ssor-pcg`` vs ``-ksp_type cg -pc_type sor -pc_sor_symmetric``,
     ω = 1.5, rtol 1e-8;
   and ``petsc-cg`` (PETSc under our API) vs native KSPCG: the cost of our
   stopping rule and record.
2. The 2D heat sequence (``heat_dmda``, nx = 100, 2000 steps, CG rtol 1e-8):
   BanditSOR (learner ``auto``) vs every fixed ``-pc_sor_omega`` of its grid
   (1, 1.05, …, 1.95) — target: total iterations ≤ 1.1 × the best fixed ω.
3. MPI: ``mpiexec -n 1`` and ``-n 2`` of ``python -m unisolve petsc-heat
   --nx 200 --steps 500``; the ratio of the time-loop seconds is reported.

Writes the tables to docs/BENCHMARKS.md (section ``petsc``) and figures to
docs/img/petsc_*.png.

Usage: ``python benchmarks/petsc.py [--quick] [--write] [--skip-mpi]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report
from petsc4py import PETSc

import unisolve as us
from unisolve.interop.petsc import most_used, scoped_options, to_petsc
from unisolve.interop.petsc_heat import heat_dmda
from unisolve.solvers.kernels.sor_csr import inverse_diagonal, sor_sweep
from unisolve.solvers.omega import DEFAULT_GRID

OMEGA = 1.5
LEARNER_SEEDS = (0, 1, 2)


def _ksp(A: PETSc.Mat, options: str, rtol: float, max_it: int) -> PETSc.KSP:
    """A KSP configured only by PETSc options (PETSc's own convergence test)."""
    prefix, _ = scoped_options(options)
    ksp = PETSc.KSP().create(PETSc.COMM_SELF)
    ksp.setOptionsPrefix(prefix)
    ksp.setOperators(A)
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=max_it)
    ksp.setFromOptions()
    ksp.setUp()
    return ksp


def bench_sor(p, sweeps: int, repeats: int) -> dict:
    A, b = p.A, p.b
    inv_diag = inverse_diagonal(A)
    M = to_petsc(A)
    ksp = _ksp(M, f"-ksp_type richardson -pc_type sor -pc_sor_omega {OMEGA} "
                  "-pc_sor_local_forward", 0.0, sweeps)
    bv, xv = to_petsc(b), to_petsc(np.zeros_like(b))
    x = np.zeros_like(b)

    def ours():
        x[:] = 0.0
        for _ in range(sweeps):
            sor_sweep(A, x, b, OMEGA, "forward", inv_diag)

    def theirs():
        xv.set(0.0)
        ksp.solve(bv, xv)

    ours()
    theirs()
    t = _report.median_times({"ours": ours, "petsc": theirs}, repeats)
    agree = float(np.abs(x - xv.getArray()).max() / np.abs(x).max())
    assert ksp.getIterationNumber() == sweeps
    return {"ours": t["ours"] / sweeps, "petsc": t["petsc"] / sweeps, "agree": agree}


def bench_krylov(p, repeats: int, rtol: float = 1e-8) -> dict:
    """cg vs KSPCG, ssor-pcg vs KSPCG + PCSOR symmetric, petsc-cg vs KSPCG."""
    A, b = p.A, p.b
    M = to_petsc(A)
    bv = to_petsc(b)
    maxit = 20 * p.n
    counts: dict = {}  # label -> iterations and ‖r‖/‖b‖ of its last run

    def native(label, options):
        ksp = _ksp(M, options, rtol, maxit)
        xv = to_petsc(np.zeros_like(b))

        def run():
            xv.set(0.0)
            ksp.solve(bv, xv)
            counts[label] = {"its": ksp.getIterationNumber(),
                             "res": float(np.linalg.norm(b - A @ xv.getArray())
                                          / np.linalg.norm(b))}
        return run

    def ours(label, method, **options):
        def run():
            r = us.solve(p, method=method, rtol=rtol, maxiter=maxit, **options)
            counts[label] = {"its": r.iterations, "res": r.residuals[-1] / np.linalg.norm(b)}
        return run

    cg_opts = "-ksp_type cg -pc_type none -ksp_norm_type unpreconditioned"
    ssor_opts = (f"-ksp_type cg -pc_type sor -pc_sor_symmetric -pc_sor_omega {OMEGA} "
                 "-ksp_norm_type unpreconditioned")
    fns = {"cg": ours("cg", "cg"), "KSPCG": native("KSPCG", cg_opts),
           "ssor-pcg": ours("ssor-pcg", "ssor-pcg", omega=OMEGA),
           "KSPCG+SSOR": native("KSPCG+SSOR", ssor_opts),
           "petsc-cg": ours("petsc-cg", "petsc-cg")}
    fns["cg"]()  # compile the numba kernels before timing
    times = _report.median_times(fns, repeats)
    return {"times": times, "counts": counts}


def bench_heat(nx: int, steps: int, grid) -> dict:
    fixed = {}
    for w in grid:
        run = heat_dmda(nx=nx, steps=steps, omega=float(w), rtol=1e-8)
        fixed[float(w)] = run
        print(f"  fixed omega {w:.2f}: {int(run.iterations.sum())} iterations, "
              f"{run.seconds:.2f} s", flush=True)
    learned = {}
    for seed in LEARNER_SEEDS:
        learned[seed] = heat_dmda(nx=nx, steps=steps, omega="auto", rtol=1e-8,
                                  learner_seed=seed)
        print(f"  BanditSOR auto (learner seed {seed}): "
              f"{int(learned[seed].iterations.sum())} iterations, "
              f"{learned[seed].seconds:.2f} s", flush=True)
    return {"fixed": fixed, "auto": learned[LEARNER_SEEDS[0]], "seeds": learned}


def bench_mpi(nx: int, steps: int) -> dict | None:
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        print("  no mpiexec: MPI scaling skipped")
        return None
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for ranks in (1, 2):
            path = Path(tmp) / f"heat{ranks}.npz"
            cmd = [mpiexec, "-n", str(ranks), sys.executable, "-m", "unisolve", "petsc-heat",
                   "--nx", str(nx), "--steps", str(steps), "--no-progress", "--save", str(path)]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, text=True)
            wall = time.perf_counter() - t0
            data = np.load(path)
            out[ranks] = {"loop": float(data["seconds"]), "wall": wall,
                          "its": int(data["iterations"].sum()), "u": data["u"],
                          "agree": bool(np.all(data["omegas"] == data["omegas"][0]))}
            print(f"  {ranks} rank(s): loop {out[ranks]['loop']:.2f} s, "
                  f"{out[ranks]['its']} iterations", flush=True)
    u1, u2 = out[1]["u"], out[2]["u"]
    out["diff"] = float(np.linalg.norm(u2 - u1) / np.linalg.norm(u1))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    _report.add_write_options(ap)
    ap.add_argument("--skip-mpi", action="store_true", help="no mpiexec runs")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    n2, n3 = (64, 16) if args.quick else (1024, 96)
    heat_nx, heat_steps = (20, 60) if args.quick else (100, 2000)
    mpi_nx, mpi_steps = (40, 20) if args.quick else (200, 500)
    grid = DEFAULT_GRID[::6] if args.quick else DEFAULT_GRID
    rep_sweep = args.repeats or (2 if args.quick else 7)
    rep_solve = args.repeats or (1 if args.quick else 2)
    sweeps = 10

    rows = []
    for label, p in ((f"2D Poisson {n2}²", us.problems.poisson2d(n2, rhs="random", seed=0)),
                     (f"3D Poisson {n3}³", us.problems.poisson3d(n3, rhs="random", seed=0))):
        s = bench_sor(p, sweeps, rep_sweep)
        rows.append((f"SOR sweep, {label} (n={p.n:,})", "numba CSR vs richardson+sor",
                     f"{s['ours'] * 1e3:.2f} ms", f"{s['petsc'] * 1e3:.2f} ms",
                     s["ours"] / s["petsc"], "report",
                     f"per forward sweep, ω={OMEGA}; iterates after {sweeps} sweeps agree "
                     f"to {s['agree']:.1e}"))
        print(rows[-1], flush=True)
        k = bench_krylov(p, rep_solve)
        t, c = k["times"], k["counts"]
        for ours, theirs, target, what in (
            ("cg", "KSPCG", "≤ 1.3", "CG"),
            ("ssor-pcg", "KSPCG+SSOR", "report", f"SSOR-PCG ω={OMEGA}"),
            ("petsc-cg", "KSPCG", "report", "petsc-cg (our API) vs native"),
        ):
            rows.append((f"{what}, {label}, rtol 1e-8", f"{ours} vs {theirs}",
                         f"{t[ours]:.2f} s", f"{t[theirs]:.2f} s", t[ours] / t[theirs], target,
                         f"its {c[ours]['its']} vs {c[theirs]['its']}; ‖r‖/‖b‖ "
                         f"{c[ours]['res']:.1e} vs {c[theirs]['res']:.1e}"))
            print(rows[-1], flush=True)

    print(f"heat sequence nx={heat_nx}, {heat_steps} steps:", flush=True)
    heat = bench_heat(heat_nx, heat_steps, grid)
    totals = {w: int(r.iterations.sum()) for w, r in heat["fixed"].items()}
    best_w = min(totals, key=totals.get)
    auto_total = int(heat["auto"].iterations.sum())
    heat_ratio = auto_total / totals[best_w]
    seed_ratios = {seed: int(run.iterations.sum()) / totals[best_w]
                   for seed, run in heat["seeds"].items()}

    mpi = None if args.skip_mpi else bench_mpi(mpi_nx, mpi_steps)

    table = _report.ratio_table(rows, peer="PETSc")
    heat_rows = ["| ω | total CG iterations | per step | ratio to best fixed |",
                 "|---|---:|---:|---:|"]
    for w, total in totals.items():
        heat_rows.append(f"| fixed {w:.2f}{' (best)' if w == best_w else ''} | {total} | "
                         f"{total / heat_steps:.2f} | {total / totals[best_w]:.3f} |")
    heat_rows.append(f"| **BanditSOR auto** (learner seed {LEARNER_SEEDS[0]}) | "
                     f"**{auto_total}** | {auto_total / heat_steps:.2f} "
                     f"| **{heat_ratio:.3f}** (target ≤ 1.1) |")
    others = ", ".join(f"seed {k}: {v:.3f}" for k, v in seed_ratios.items())
    played = most_used(heat["auto"].omegas[-heat_steps // 4:])
    body = ("## PETSc interop (`benchmarks/petsc.py`)\n\n"
            + _report.header(_report.command_line())
            + f"- PETSc {'.'.join(map(str, PETSc.Sys.getVersion()))} (petsc4py), sequential, "
              "built by `make petsc` (-O3, no debugging); unisolve single-threaded numba\n"
            + f"- SOR: median of {rep_sweep} interleaved runs of {sweeps} sweeps; solves: "
              f"median of {rep_solve} interleaved runs\n\n"
            + "\n".join(table)
            + f"\n\n### BanditSOR in a PETSc time loop: heat sequence nx={heat_nx} "
              f"({(heat_nx - 1) ** 2:,} unknowns), {heat_steps} steps, KSPCG rtol 1e-8, "
              "warm starts\n\n"
            + "\n".join(heat_rows)
            + f"\n\nBanditSOR's ratio to the best fixed ω for each learner seed: {others}. "
              f"Its most used ω over the last quarter (seed {LEARNER_SEEDS[0]}): {played}. "
              "The best fixed ω is chosen in hindsight, after running all of them; the "
              "learner runs the sequence once.\n")
    if mpi is not None:
        speedup = mpi[1]["loop"] / mpi[2]["loop"]
        per_iteration = (mpi[1]["loop"] / mpi[1]["its"]) / (mpi[2]["loop"] / mpi[2]["its"])
        body += (f"\n### MPI: `mpiexec -n N python -m unisolve petsc-heat --nx {mpi_nx} "
                 f"--steps {mpi_steps}`\n\n"
                 "| ranks | time loop [s] | whole run [s] | total CG iterations | "
                 "ms per iteration |\n"
                 "|---:|---:|---:|---:|---:|\n"
                 + "".join(f"| {k} | {mpi[k]['loop']:.2f} | {mpi[k]['wall']:.2f} | "
                           f"{mpi[k]['its']} | {1e3 * mpi[k]['loop'] / mpi[k]['its']:.3f} |\n"
                           for k in (1, 2))
                 + f"\nRatio of the time loop, 1 rank / 2 ranks: **{speedup:.2f}×** (report; "
                 f"the machine has {_report.os.cpu_count()} cores); per CG iteration "
                 f"**{per_iteration:.2f}×**. In parallel PCSOR, and so BanditSOR, sweeps each "
                 "rank's block on its own (block Jacobi with SSOR inside), a weaker "
                 "preconditioner than the global SSOR of one rank: that costs the iterations "
                 f"above. Final states differ by {mpi['diff']:.1e} (relative); the ranks "
                 f"agreed on every ω: {mpi[2]['agree']}.\n")
    body += "\n![PETSc benchmark](img/petsc_heat.png)\n"
    print(body)
    if not (args.no_write or args.quick):
        _report.write_section("petsc", body)
        _plot(heat, totals, best_w)
    return 0


def _plot(heat: dict, totals: dict, best_w: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.2))
    ws = sorted(totals)
    ax1.plot(ws, [totals[w] for w in ws], "o-", label="fixed ω (PCSOR)")
    ax1.axhline(int(heat["auto"].iterations.sum()), color="tab:red",
                label="BanditSOR auto")
    ax1.set_xlabel("ω")
    ax1.set_ylabel("total CG iterations")
    ax1.set_title("whole sequence")
    ax1.legend()
    steps = np.arange(1, len(heat["auto"].iterations) + 1)
    for w, style in ((best_w, "-"), (ws[0], ":"), (ws[-1], "--")):
        ax2.plot(steps, np.cumsum(heat["fixed"][w].iterations) / steps, style,
                 label=f"fixed ω = {w:.2f}")
    ax2.plot(steps, np.cumsum(heat["auto"].iterations) / steps, color="tab:red",
             label="BanditSOR auto")
    ax2.set_xlabel("time step")
    ax2.set_ylabel("mean iterations so far")
    ax2.set_title("running mean cost")
    ax2.legend(fontsize=8)
    ax3.plot(steps, heat["auto"].omegas, ".", ms=2, color="tab:red")
    ax3.set_xlabel("time step")
    ax3.set_ylabel("ω chosen")
    ax3.set_title("BanditSOR's choices")
    _report.save_figure(fig, "petsc_heat.png")


if __name__ == "__main__":
    raise SystemExit(main())

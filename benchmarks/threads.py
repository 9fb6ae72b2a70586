"""Parallel kernels beside a busy core (issue 24, point 5), in one run.

A *busy* measurement runs while a CPU burner (a subprocess in a busy loop, pinned
to the last CPU this process may use) competes for the machine; the burner is
started before and stopped after each busy measurement, and idle and busy rounds
alternate. Each time is the minimum over the rounds. Measured:

1. one forward red-black SOR sweep (ω = 1.5) on 2D Poisson 1024² with the
   automatic thread choice, as a block of 20 sweeps starting from fresh timings
   (the probes of the serial/parallel chooser are paid inside the block):
   busy / idle — target ≤ 1.5. The forced serial and forced 2-thread kernels
   are shown beside it;
2. the README line ``us.solve(poisson2d(256), method="sor", omega=1.97,
   rtol=1e-8, ordering="red-black")`` from fresh timings: busy / idle — target
   ≤ 1.5; the forced serial / parallel time per iteration beside it;
3. the idle automatic sweep vs PyAMG's CSR sweeps
   (``pyamg.relaxation.relaxation.sor`` and ``gauss_seidel``, forward, one
   sweep) — target ≤ 0.1 (the bandwidth floor: the stencil sweep reads x and b
   only).

The 1-minute load average before and after is printed: on a shared machine the
"idle" rounds are not idle.

Usage: ``python benchmarks/threads.py [--quick] [--write] [--repeats K]``
(writes the ``threads`` section of docs/BENCHMARKS.md with ``--write``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pyamg.relaxation.relaxation import gauss_seidel as pyamg_gauss_seidel
from pyamg.relaxation.relaxation import sor as pyamg_sor

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

import unisolve as us
from unisolve.solvers.kernels import red_black as rb

OMEGA_SWEEP = 1.5
SWEEP_BLOCK = 20
README = {"method": "sor", "omega": 1.97, "rtol": 1e-8, "ordering": "red-black"}


@contextmanager
def cpu_burner():
    """A subprocess busy-looping on the last CPU of this process's affinity set."""
    try:
        cpu = max(os.sched_getaffinity(0))
        pin = f"os.sched_setaffinity(0, {{{cpu}}})"
    except AttributeError:  # no affinity API (macOS): let the scheduler place it
        cpu, pin = None, "pass"
    code = f"import os\n{pin}\nprint('ready', flush=True)\nwhile True:\n    pass\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        proc.stdout.readline()
        time.sleep(0.1)  # let it take its core
        yield cpu
    finally:
        proc.kill()
        proc.wait()


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def sweep_cases(n: int) -> dict:
    """Callables of case 1 and 3 on 2D Poisson n²: each returns seconds per sweep."""
    p = us.problems.poisson2d(n, rhs="random", seed=0)
    st, A, b = p.stencil, p.A, p.b
    x = np.zeros(p.n)
    grid_x, grid_b = x.reshape(st.shape), b.reshape(st.shape)
    x_peer = np.zeros(p.n)

    def ours(threads=None):
        def run():
            if threads is None:
                rb.forget_kernel_timings()  # the chooser's probes are part of the block
            t0 = time.perf_counter()
            for _ in range(SWEEP_BLOCK):
                rb.red_black_sor_sweep_2d(grid_x, grid_b, st.diagonal, st.offdiagonal,
                                          OMEGA_SWEEP, threads=threads)
            return (time.perf_counter() - t0) / SWEEP_BLOCK
        return run

    return {
        "sweep auto": ours(None),
        "sweep serial": ours(1),
        "sweep 2 threads": ours(2),
        "pyamg sor": lambda: timed(lambda: pyamg_sor(A, x_peer, b, OMEGA_SWEEP, iterations=1,
                                                     sweep="forward")),
        "pyamg gauss_seidel": lambda: timed(lambda: pyamg_gauss_seidel(
            A, x_peer, b, iterations=1, sweep="forward")),
    }


def readme_cases(n: int, forced_iterations: int) -> tuple[dict, dict]:
    """Callables of case 2: the README solve (seconds) and forced kernels (s / iteration)."""
    p = us.problems.poisson2d(n)
    st = p.stencil
    info = {}

    def auto():
        rb.forget_kernel_timings()  # as in a fresh process
        t0 = time.perf_counter()
        r = us.solve(p, **README)
        seconds = time.perf_counter() - t0
        info["iterations"], info["converged"] = r.iterations, r.converged
        return seconds

    def forced(threads):
        def run():
            x = np.zeros(st.shape)
            res = np.empty(forced_iterations + 1)
            t0 = time.perf_counter()
            its, _ = rb.red_black_sor_solve(x, p.b.reshape(st.shape), st.diagonal,
                                            st.offdiagonal, README["omega"], "forward", 0.0,
                                            forced_iterations, 1e8, res, threads=threads)
            return (time.perf_counter() - t0) / its
        return run

    return {"readme auto": auto, "readme serial": forced(1),
            "readme 2 threads": forced(2)}, info


def measure(cases: dict, repeats: int) -> dict:
    """Min over interleaved idle / busy rounds: {case: {"idle": s, "busy": s}}."""
    for fn in cases.values():  # compile, warm caches
        fn()
    best = {name: {"idle": np.inf, "busy": np.inf} for name in cases}
    for _ in range(repeats):
        for state in ("idle", "busy"):
            if state == "busy":
                with cpu_burner():
                    times = {name: fn() for name, fn in cases.items()}
            else:
                times = {name: fn() for name, fn in cases.items()}
            for name, t in times.items():
                best[name][state] = min(best[name][state], t)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    _report.add_write_options(ap)
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args(argv)
    n_sweep, n_readme, forced_its = (128, 64, 20) if args.quick else (1024, 256, 200)
    repeats = args.repeats or (1 if args.quick else 3)
    load_before = os.getloadavg()

    sweeps = measure(sweep_cases(n_sweep), repeats)
    readme_fns, readme_info = readme_cases(n_readme, forced_its)
    readme = measure(readme_fns, repeats)
    load_after = os.getloadavg()

    def ms(t):
        return f"{t * 1e3:.2f} ms"

    auto, ser, par = sweeps["sweep auto"], sweeps["sweep serial"], sweeps["sweep 2 threads"]
    r_auto, r_ser, r_par = (readme["readme auto"], readme["readme serial"],
                            readme["readme 2 threads"])
    rows = [
        (f"red-black SOR sweep, 2D Poisson {n_sweep}², automatic threads",
         "busy core vs idle", ms(auto["busy"]), ms(auto["idle"]), auto["busy"] / auto["idle"],
         "≤ 1.5",
         f"forced serial {ms(ser['idle'])} idle / {ms(ser['busy'])} busy; forced 2 threads "
         f"{ms(par['idle'])} / {ms(par['busy'])}"),
        (f"README line, poisson2d({n_readme}) sor ω=1.97 red-black",
         "busy core vs idle", f"{r_auto['busy']:.3f} s", f"{r_auto['idle']:.3f} s",
         r_auto["busy"] / r_auto["idle"], "≤ 1.5",
         f"{readme_info['iterations']} its; per iteration forced serial "
         f"{ms(r_ser['idle'])} idle / {ms(r_ser['busy'])} busy, forced 2 threads "
         f"{ms(r_par['idle'])} / {ms(r_par['busy'])}"),
        (f"red-black SOR sweep, 2D Poisson {n_sweep}², forced serial", "busy core vs idle",
         ms(ser["busy"]), ms(ser["idle"]), ser["busy"] / ser["idle"], "reference",
         "one thread: what the burner costs any code on this machine"),
        (f"red-black SOR sweep, 2D Poisson {n_sweep}², idle", "automatic vs pyamg sor (CSR)",
         ms(auto["idle"]), ms(sweeps["pyamg sor"]["idle"]),
         auto["idle"] / sweeps["pyamg sor"]["idle"], "≤ 0.1", "one forward sweep"),
        (f"red-black SOR sweep, 2D Poisson {n_sweep}², idle",
         "automatic vs pyamg gauss_seidel (CSR)", ms(auto["idle"]),
         ms(sweeps["pyamg gauss_seidel"]["idle"]),
         auto["idle"] / sweeps["pyamg gauss_seidel"]["idle"], "≤ 0.1", "one forward sweep"),
        (f"red-black SOR sweep, 2D Poisson {n_sweep}², idle", "serial vs pyamg sor (CSR)",
         ms(ser["idle"]), ms(sweeps["pyamg sor"]["idle"]),
         ser["idle"] / sweeps["pyamg sor"]["idle"], "report", "one thread"),
    ]
    for row in rows:
        print(row, flush=True)
    table = _report.ratio_table(rows, peer="reference")
    body = ("## Parallel kernels beside a busy core (`benchmarks/threads.py`)\n\n"
            + _report.header(_report.command_line())
            + f"- unisolve threads {us.get_num_threads()} (CPUs available "
              f"{len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}); "
              f"busy = a busy-loop process pinned to the last CPU; min of {repeats} "
              f"interleaved idle/busy rounds; load average (1 min) {load_before[0]:.2f} "
              f"before, {load_after[0]:.2f} after\n\n"
            + "\n".join(table) + "\n")
    print(body)
    if not args.no_write:
        _report.write_section("threads", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

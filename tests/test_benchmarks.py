"""The benchmark scripts still run (tiny sizes; no timing is asserted, only agreement)."""

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_linear_benchmark_quick(capsys):
    linear = _load("linear")
    assert linear.main(["--quick", "--no-write", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "numba CSR vs pyamg CSR" in out and "unisolve cg vs scipy cg" in out


def test_sweep_kernels_agree_in_the_benchmark_setting():
    import unisolve as us

    linear = _load("linear")
    res = linear.bench_sweeps(us.problems.poisson2d(40, rhs="random"), repeats=2)
    assert res["agree"] < 1e-12
    assert set(res["times"]) == {"numba CSR", "pyamg CSR", "red-black stencil"}


def test_omega_benchmark_quick(capsys):
    """Both experiments at smoke size; the script itself asserts online == table costs."""
    omega = _load("omega")
    assert omega.main(["--quick", "--no-write"]) == 0
    out = capsys.readouterr().out
    assert "Online = table check" in out and "best fixed grid ω in hindsight" in out
    assert "SSOR-PCG auto (context κ)" in out and "| CG | " in out

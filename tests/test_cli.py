"""The command line: demo, methods, bench, --help."""

import io
import subprocess
import sys

import numpy as np
import pytest

from unisolve.cli import DEMO_METHODS, main, run_demo


def test_methods_command(capsys):
    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    for name in ("cg", "pcg", "sor", "ssor", "jacobi", "gauss-seidel", "ssor-pcg"):
        assert f"\n{name} " in out


def test_demo_small(tmp_path):
    stream = io.StringIO()
    png = tmp_path / "demo.png"
    rows = run_demo(nx=16, steps=6, out=png, progress=False, stream=stream)
    assert [r["label"] for r in rows] == [d[0] for d in DEMO_METHODS]
    for r in rows:
        assert r["converged"] == 6
        assert r["final_error"] < 1e-6
    its = {r["label"]: r["total_iterations"] for r in rows}
    # the textbook ordering on an SPD model problem
    assert its["AMG-PCG"] < its["CG"] < its["SOR w=1"]
    # (at this small size the heat matrix is strongly diagonally dominant: omega=1.9 over-relaxes)
    text = stream.getvalue()
    assert "total its" in text and "AMG-PCG" in text
    # the learning contenders sit beside the fixed ones, with wall time relative to CG
    assert {"SSOR-PCG w=auto", "AMG-PCG reuse", "auto (bandit)"} <= set(its)
    assert rows[0]["vs_cg"] == 1.0 and all(r["vs_cg"] > 0 for r in rows)
    assert "/ CG" in text and "auto chose:" in text
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args", [["--help"], ["demo", "--help"], ["methods", "--help"],
                                  ["bench", "--help"]])
def test_help(args):
    out = subprocess.run([sys.executable, "-m", "unisolve", *args], capture_output=True,
                         text=True, check=True).stdout
    assert "usage: unisolve" in out


def test_bench_unknown_name(capsys):
    assert main(["bench", "no-such-benchmark"]) == 2
    assert "no benchmark" in capsys.readouterr().err


def test_import_stays_light():
    # numba too: the safe-norm kernels (unisolve.norms) load on the first linear solve
    code = ("import sys, unisolve; heavy = [m for m in ('torch', 'cupy', 'petsc4py', 'numba') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_petsc_heat_command_passes_petsc_options(capfd, tmp_path):
    pytest.importorskip("petsc4py.PETSc", reason="petsc4py is not installed: `make petsc`")
    out_file = tmp_path / "heat.npz"
    assert main(["petsc-heat", "--nx", "10", "--steps", "4", "--no-progress", "--check",
                 "--omega", "1.4", "--save", str(out_file), "-ksp_converged_reason"]) == 0
    out = capfd.readouterr().out
    assert "Linear solve converged due to CONVERGED_RTOL" in out
    assert "ranks agree on every omega: True" in out and "relative error" in out
    data = np.load(out_file)
    assert data["omegas"].shape == (1, 4) and np.all(data["omegas"] == 1.4)
    from petsc4py import PETSc

    PETSc.Options().delValue("ksp_converged_reason")


# --- issue 26 -------------------------------------------------------------------------------


def test_item15_methods_name_prints_options_with_defaults_and_docstring(capsys):
    """`unisolve methods sor` lists sor's options with their defaults and its docstring."""
    assert main(["methods", "sor"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sor: ") and "omega=1.0" in out and "sweep='forward'" in out
    assert "Parameters\n----------" in out  # the docstring follows


def test_item15_describe_and_methods_name_from_python():
    """Old: `us.describe` did not exist and `us.methods("sor")` returned [] (a kind filter)."""
    import unisolve as us

    text = us.describe("ssor-pcg")
    assert text.startswith("ssor-pcg: ") and "omega=" in text and "rtol" in text
    assert repr(text) == str(text)  # shows as plain text at the prompt, not as '...\n...'
    assert us.methods("ssor-pcg") == text
    assert us.methods("no-such-kind") == []  # a kind filter still filters
    with pytest.raises(ValueError, match="registered methods are"):
        us.describe("no-such-method")


def test_item15_public_classes_in_dir_and_help_points_to_options():
    """Old: dir(unisolve) lacked OmegaTuner and SolverTuner (imported lazily); help(solve)
    did not say where a method's options are listed."""
    import unisolve as us

    names = dir(us)
    assert {"OmegaTuner", "SolverTuner", "describe", "methods", "solve", "solvers"} <= set(names)
    assert "describe" in us.solve.__doc__ and "unisolve methods NAME" in us.solve.__doc__
    code = "import sys, unisolve; dir(unisolve); print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"  # listing the lazy names imports nothing heavy


def test_item16_bench_without_name_lists_benchmarks(capsys):
    """Old: argparse's 'the following arguments are required: name, extra'."""
    assert main(["bench"]) == 2
    err = capsys.readouterr().err
    assert "required: name, extra" not in err and "linear" in err and "_report" not in err


def test_item16_bench_unknown_name_does_not_list_helpers(capsys):
    """Old: `unisolve bench foo` listed `_report` (the shared helper) as a benchmark."""
    assert main(["bench", "foo"]) == 2
    err = capsys.readouterr().err
    assert "no benchmark 'foo'" in err and "linear" in err and "_report" not in err


def test_item16_help_shows_defaults():
    """Old: `unisolve demo --help` said only 'PNG path' for --out."""
    out = subprocess.run([sys.executable, "-m", "unisolve", "demo", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "default: out/heat_demo.png" in out
    out = subprocess.run([sys.executable, "-m", "unisolve", "bench", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "--write" in out and "linear" in out


def test_item16_methods_into_a_closed_pipe_is_quiet():
    """Old: `unisolve methods | head -1` ended in a BrokenPipeError traceback on stderr."""
    proc = subprocess.run(f"'{sys.executable}' -m unisolve methods | head -1", shell=True,
                          capture_output=True, text=True, check=False)
    assert proc.stdout.startswith("name ")
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_item16_bench_writes_docs_only_with_write(monkeypatch, tmp_path, capsys):
    """Old: `unisolve bench NAME` (and `python benchmarks/NAME.py`) rewrote
    docs/BENCHMARKS.md by default. Now the scripts' write_section/save_figure do nothing
    unless --write was given; `unisolve bench --write NAME` passes --write on."""
    import importlib.util
    from pathlib import Path

    import unisolve.cli as cli

    root = Path(cli.__file__).resolve().parents[1] / "benchmarks"
    spec = importlib.util.spec_from_file_location("_report", root / "_report.py")
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    monkeypatch.setattr(report, "DOCS", tmp_path / "BENCHMARKS.md")
    import argparse

    for argv, writes in (([], False), (["--no-write"], False), (["--write"], True)):
        ap = argparse.ArgumentParser()
        report.add_write_options(ap)
        args = ap.parse_args(argv)
        assert args.no_write is (not writes)
        report.write_section("x", "body")
        assert report.DOCS.exists() is writes
    calls = []
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd: calls.append(cmd) or 0)
    assert main(["bench", "linear", "--quick"]) == 0
    assert main(["bench", "--write", "linear", "--quick"]) == 0
    assert "--write" not in calls[0] and calls[1][-2:] == ["--quick", "--write"]
    makefile = (root.parent / "Makefile").read_text()
    bench = makefile[makefile.index("\nbench:"):makefile.index("\nclean:")]
    assert bench.count("benchmarks/") == bench.count("--write") >= 10


def test_every_listed_benchmark_takes_write():
    """`unisolve bench --write NAME` passes --write on: every listed script must accept it
    (kernels_ssor.py did not: 'unrecognized arguments: --write')."""
    from unisolve.cli import BENCH_DIR, benchmark_names

    for name in benchmark_names():
        text = (BENCH_DIR / f"{name}.py").read_text(encoding="utf-8")
        assert "add_write_options(" in text or '"--write"' in text, name

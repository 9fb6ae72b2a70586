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
    code = ("import sys, unisolve; heavy = [m for m in ('torch', 'cupy', 'petsc4py') "
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

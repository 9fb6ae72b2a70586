"""The distributed heat run under `mpiexec -n 2`: same solution as the serial run, and
every rank applied the same ω at every step (rank 0's learner broadcasts it)."""

import shutil
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("petsc4py.PETSc",
                    reason="petsc4py is not installed: `make petsc` or pip install "
                           "'unisolve[petsc]'")
pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install 'unisolve[petsc]'")
MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None,
                                reason="no mpiexec on PATH (Debian: apt-get install mpich)")


def _run(ranks, path, *extra):
    cmd = [MPIEXEC, "-n", str(ranks), sys.executable, "-m", "unisolve", "petsc-heat",
           "--nx", "30", "--steps", "40", "--rtol", "1e-12", "--no-progress",
           "--save", str(path), *extra]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return np.load(path), done.stdout


def test_two_ranks_match_one_rank_and_agree_on_omega(tmp_path):
    import unisolve as us

    two, out = _run(2, tmp_path / "two.npz", "--check")
    one, _ = _run(1, tmp_path / "one.npz")
    assert int(two["ranks"]) == 2 and int(one["ranks"]) == 1
    assert "ranks agree on every omega: True" in out
    omegas = two["omegas"]  # one row per rank
    assert omegas.shape == (2, 40) and np.array_equal(omegas[0], omegas[1])
    assert np.all((omegas >= 1.0) & (omegas <= 1.95))
    u2, u1 = two["u"], one["u"]
    assert np.linalg.norm(u2 - u1) <= 1e-8 * np.linalg.norm(u1)
    ref = us.problems.heat_sequence(nx=30, steps=40).reference()[-1]
    assert np.linalg.norm(u2 - ref) <= 1e-8 * np.linalg.norm(ref)


def test_distributed_matrix_through_solve():
    """An mpiaij Mat and MPI Vecs: gathered for our CG, distributed for PETSc's CG (plain
    and with UnisolvePC on each rank's block); every answer is the direct solution."""
    from pathlib import Path

    script = Path(__file__).with_name("_mpi_solve.py")
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "ranks 2 type mpiaij"
    assert lines[1] == "round trip 0 0.0"
    for line in lines[2:]:
        method, status, err, ranks, owned = line.split()
        assert status == "CONVERGED" and float(err) < 1e-8 and owned == "True", line
        if method.startswith("petsc"):
            assert ranks == "2", line
    assert len(lines) == 5

"""The numba V-cycle equals pyamg's ``aspreconditioner(cycle="V")`` to rounding."""

import numpy as np
import pyamg
import pytest

import unisolve as us
from unisolve.solvers.kernels import amg_cycle
from unisolve.solvers.kernels.amg_cycle import AMGCycle, vcycle_reference
from unisolve.solvers.preconditioners import AMGPreconditioner


def hierarchy(A, **kwargs):
    np.random.seed(0)  # noqa: NPY002 -- pyamg draws its start vectors from the global generator
    return pyamg.smoothed_aggregation_solver(A, **kwargs)


def rel_err(z, ref):
    return np.linalg.norm(z - ref) / np.linalg.norm(ref)


MATRICES = {
    "poisson2d(40)": lambda: us.problems.poisson2d(40).A,
    "heat nx=30": lambda: us.problems.heat_sequence(nx=30, steps=3, seed=1).instance(2).A,
    "variable coefficient": lambda: us.problems.poisson2d(
        30, coeff=lambda x, y: 1.0 + 50.0 * (x > 0.5) + np.sin(7 * y) ** 2
    ).A,
    "poisson3d(12)": lambda: us.problems.poisson3d(12).A,
    "one level (n=9)": lambda: us.problems.poisson2d(3).A,
}


@pytest.mark.parametrize("name", list(MATRICES))
def test_vcycle_equals_pyamg(name):
    A = MATRICES[name]()
    ml = hierarchy(A)
    cycle = AMGCycle.from_pyamg(ml)
    assert cycle is not None
    rng = np.random.default_rng(3)
    for _ in range(4):
        b = rng.standard_normal(A.shape[0])
        assert rel_err(cycle(b), vcycle_reference(ml, b)) <= 1e-12
    if name != "one level (n=9)":
        assert len(ml.levels) >= 3  # the recursion really runs over several levels


@pytest.mark.parametrize(
    "smoother",
    [
        ("gauss_seidel", {"sweep": "forward"}),
        ("gauss_seidel", {"sweep": "backward", "iterations": 2}),
        ("gauss_seidel", {"sweep": "symmetric", "iterations": 2}),
    ],
)
def test_vcycle_other_gauss_seidel_smoothers(smoother):
    A = us.problems.poisson2d(24).A
    ml = hierarchy(A, presmoother=smoother, postsmoother=smoother)
    cycle = AMGCycle.from_pyamg(ml)
    b = np.random.default_rng(0).standard_normal(A.shape[0])
    assert rel_err(cycle(b), vcycle_reference(ml, b)) <= 1e-12


def test_vcycle_zero_rhs_gives_zero():
    A = us.problems.poisson2d(20).A
    cycle = AMGCycle.from_pyamg(hierarchy(A))
    assert np.array_equal(cycle(np.zeros(400)), np.zeros(400))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"presmoother": "jacobi", "postsmoother": "jacobi"},
        {"coarse_solver": "splu"},
    ],
)
def test_unsupported_hierarchies_are_refused(kwargs):
    ml = hierarchy(us.problems.poisson2d(20).A, **kwargs)
    assert AMGCycle.from_pyamg(ml) is None


def test_wrong_length_is_a_clear_error():
    cycle = AMGCycle.from_pyamg(hierarchy(us.problems.poisson2d(10).A))
    with pytest.raises(ValueError, match=r"needs \(100,\)"):
        cycle(np.ones(99))


def test_preconditioner_uses_numba_and_equals_pyamg():
    A = us.problems.poisson2d(30).A
    M = AMGPreconditioner(A)
    assert M.kernel == "numba"
    b = np.random.default_rng(5).standard_normal(900)
    assert rel_err(M(b), hierarchy(A).aspreconditioner(cycle="V").matvec(b)) <= 1e-12


def test_preconditioner_falls_back_to_pyamg(monkeypatch):
    monkeypatch.setattr(amg_cycle.AMGCycle, "from_pyamg", classmethod(lambda cls, ml: None))
    A = us.problems.poisson2d(30).A
    M = AMGPreconditioner(A)
    assert M.kernel == "pyamg" and M.cycle is None
    b = np.random.default_rng(5).standard_normal(900)
    assert np.array_equal(M(b), hierarchy(A).aspreconditioner(cycle="V").matvec(b))


@pytest.mark.parametrize(
    "problem",
    [
        lambda: us.problems.poisson2d(40),
        lambda: us.problems.heat_sequence(nx=30, steps=3, seed=1).instance(2),
    ],
)
def test_pcg_amg_iterations_unchanged(problem):
    p = problem()
    ours = us.solve(p, method="pcg", preconditioner="amg", rtol=1e-10)
    pyamg_M = hierarchy(p.A).aspreconditioner(cycle="V")
    ref = us.solve(p, method="pcg", preconditioner=pyamg_M.matvec, rtol=1e-10)
    assert ours.iterations == ref.iterations
    assert np.linalg.norm(ours.x - ref.x) <= 1e-8 * np.linalg.norm(ref.x)

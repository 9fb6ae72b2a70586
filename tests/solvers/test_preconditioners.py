"""Preconditioners: each applies exactly its M⁻¹; bad specifications raise clearly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import unisolve as us
from unisolve.solvers.kernels.amg_cycle import AMGCycle
from unisolve.solvers.preconditioners import (
    PRECONDITIONERS,
    AMGPreconditioner,
    IC0Preconditioner,
    ILU0Preconditioner,
    ILUTPreconditioner,
    JacobiPreconditioner,
    SORPreconditioner,
    SSORPreconditioner,
    make_preconditioner,
)


def ssor_matrix(A, omega):
    """M = (D + ωL) D⁻¹ (D + ωU) / (ω(2 − ω)), dense."""
    A = A.toarray()
    D = np.diag(np.diag(A))
    L, U = np.tril(A, -1), np.triu(A, 1)
    return (D + omega * L) @ np.linalg.inv(D) @ (D + omega * U) / (omega * (2 - omega))


@pytest.mark.parametrize("omega", [0.6, 1.0, 1.5, 1.9])
def test_ssor_applies_exactly_the_inverse_of_the_ssor_matrix(omega):
    A = us.problems.poisson2d(6, coeff=lambda x, y: 1 + 3 * x + y).A
    r = np.random.default_rng(0).standard_normal(A.shape[0])
    z = SSORPreconditioner(A, omega=omega)(r)
    z_ref = np.linalg.solve(ssor_matrix(A, omega), r)
    np.testing.assert_allclose(z, z_ref, rtol=1e-12, atol=1e-12 * np.abs(z_ref).max())


def test_jacobi_divides_by_the_diagonal():
    A = us.problems.poisson2d(5, coeff=lambda x, y: 2 + x).A
    r = np.arange(25.0)
    np.testing.assert_allclose(JacobiPreconditioner(A)(r), r / A.diagonal(), rtol=1e-15)
    with pytest.raises(ValueError, match="zero"):
        JacobiPreconditioner(sp.csr_array(np.array([[0.0, 1.0], [1.0, 1.0]])))


def test_amg_preconditioner_is_one_pyamg_v_cycle():
    import pyamg

    A = us.problems.poisson2d(20).A
    r = np.random.default_rng(1).standard_normal(A.shape[0])
    np.random.seed(0)  # noqa: NPY002 -- pyamg estimates spectral radii from a random start vector
    ref = pyamg.smoothed_aggregation_solver(A).aspreconditioner(cycle="V").matvec(r)
    np.random.seed(0)  # noqa: NPY002
    np.testing.assert_allclose(AMGPreconditioner(A)(r), ref, rtol=1e-12, atol=1e-14)


def test_make_preconditioner_validates_its_input():
    A = us.problems.poisson2d(4).A
    with pytest.raises(ValueError, match="choose one of 'jacobi', 'ssor', 'sor', 'ic0', 'ilu0'"):
        make_preconditioner("ilu", A)
    for garbage in (3.0, [1, 2], np.eye(16)):
        with pytest.raises(TypeError, match="callable r -> M⁻¹ r or a scipy LinearOperator"):
            make_preconditioner(garbage, A)
    with pytest.raises(ValueError, match=r"omega must lie in \(0, 2\)"):
        make_preconditioner("ssor", A, omega=0.0)
    with pytest.raises(ValueError, match="n x n"):
        make_preconditioner(spla.aslinearoperator(np.eye(3)), A)
    for name in ("jacobi", "ssor", "ic0", "amg"):
        with pytest.raises(ValueError, match="LinearOperator"):
            make_preconditioner(name, spla.aslinearoperator(A))
    assert make_preconditioner(spla.aslinearoperator(np.eye(16)), A).name == "LinearOperator"


# --- nonsymmetric matrices: sor, ssor, jacobi, ilu0, ilut, amg (issue 25) ---------------------


def test_sor_ssor_and_jacobi_apply_their_dense_formulas_on_a_nonsymmetric_matrix():
    A = us.problems.convection_diffusion_system(6, 20.0).A
    Ad = A.toarray()
    assert not np.allclose(Ad, Ad.T)
    D, L, U = np.diag(np.diag(Ad)), np.tril(Ad, -1), np.triu(Ad, 1)
    r = np.random.default_rng(2).standard_normal(A.shape[0])
    for w in (0.7, 1.0, 1.6):
        np.testing.assert_allclose(SORPreconditioner(A, omega=w)(r),
                                   np.linalg.solve((D + w * L) / w, r), rtol=1e-12)
        M = (D + w * L) @ np.linalg.solve(D, D + w * U) / (w * (2 - w))  # not symmetric here
        np.testing.assert_allclose(SSORPreconditioner(A, omega=w)(r), np.linalg.solve(M, r),
                                   rtol=1e-10)
    np.testing.assert_allclose(JacobiPreconditioner(A)(r), r / np.diag(Ad), rtol=1e-15)
    with pytest.raises(ValueError, match="omega"):
        SORPreconditioner(A, omega=2.0)
    assert make_preconditioner("sor", A, omega=1.5).omega == 1.5


def test_make_preconditioner_builds_every_name():
    A = us.problems.poisson2d(6).A
    classes = {"jacobi": JacobiPreconditioner, "ssor": SSORPreconditioner,
               "sor": SORPreconditioner, "ic0": IC0Preconditioner, "ilu0": ILU0Preconditioner,
               "ilut": ILUTPreconditioner, "amg": AMGPreconditioner}
    assert set(classes) == set(PRECONDITIONERS)
    for name, cls in classes.items():
        M = make_preconditioner(name, A, omega=1.3)
        assert type(M) is cls and M.name == name
    assert make_preconditioner("sor", A, omega=1.3).omega == 1.3


def test_ilu0_preconditioner_is_the_ilu0_solve_and_names_the_fix_when_it_fails():
    p = us.problems.convection_diffusion_system(8, 10.0)
    r = np.random.default_rng(0).standard_normal(p.n)
    M = ILU0Preconditioner(p.A)
    z = M(r)
    np.testing.assert_array_equal(z, M.factor.solve(r))
    out = np.empty(p.n)
    assert M(r, out=out) is out
    np.testing.assert_array_equal(out, z)
    A = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])  # u_11 = 1 − 1 = 0
    with pytest.raises(ValueError, match=r"pivot u_ii of row 1 vanished.*'ilut'.*'amg'"):
        make_preconditioner("ilu0", A)
    b = np.array([2.0, 3.0, 3.0])
    np.testing.assert_allclose(A @ make_preconditioner("ilut", A)(b), b, rtol=1e-12)
    with pytest.raises(ValueError, match=r"diagonal entry.*'ilut'"):
        ILU0Preconditioner(np.array([[0.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="LinearOperator"):
        ILU0Preconditioner(spla.aslinearoperator(p.A))


def test_ilut_is_scipys_spilu_with_the_given_options():
    p = us.problems.convection_diffusion_system(10, 30.0)
    r = np.random.default_rng(3).standard_normal(p.n)
    A = sp.csc_array(p.A)
    for kw in ({}, {"drop_tol": 1e-2, "fill_factor": 2.0}, {"drop_tol": 0.0, "fill_factor": 30,
                                                          "permc_spec": "NATURAL"}):
        ref = spla.spilu(A, **({"drop_tol": 1e-4, "fill_factor": 10.0} | kw)).solve(r)
        np.testing.assert_allclose(ILUTPreconditioner(p.A, **kw)(r), ref, rtol=1e-14)
    exact = ILUTPreconditioner(p.A, drop_tol=0.0, fill_factor=100)  # no dropping: z = A⁻¹ r
    np.testing.assert_allclose(exact(r), spla.spsolve(A, r), rtol=1e-10)
    with pytest.raises(ValueError, match=r"singular.*drop_tol.*'amg'"):
        ILUTPreconditioner(np.diag([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="drop_tol"):
        ILUTPreconditioner(np.eye(2), drop_tol=-1.0)
    with pytest.raises(ValueError, match="fill_factor"):
        ILUTPreconditioner(np.eye(2), fill_factor=0.5)


def test_an_ilut_instance_is_a_preconditioner_for_gmres():
    p = us.problems.convection_diffusion_system(16, 30.0)
    M = ILUTPreconditioner(p.A, drop_tol=1e-6, fill_factor=20)
    r = us.solve(p, method="gmres", preconditioner=M, rtol=1e-10)
    assert r.converged and r.info["preconditioner"] == "ilut"
    assert r.iterations <= us.solve(p, method="gmres", preconditioner="ilu0",
                                    rtol=1e-10).iterations
    np.testing.assert_allclose(r.x, p.exact, rtol=1e-8)


def _rootnode(A):
    import pyamg

    np.random.seed(0)  # noqa: NPY002 -- as AMGPreconditioner does
    return pyamg.rootnode_solver(A, symmetry="nonsymmetric")


def test_amg_builds_a_nonsymmetric_rootnode_hierarchy_and_applies_its_v_cycle():
    A = us.problems.convection_diffusion_system(24, 10.0).A
    M = AMGPreconditioner(A)
    assert (M.kind, M.symmetric) == ("rootnode", False)
    r = np.random.default_rng(4).standard_normal(A.shape[0])
    ref = _rootnode(A).aspreconditioner(cycle="V").matvec(r)
    assert not np.allclose(ref, _rootnode(sp.csr_array(A.T)).aspreconditioner(cycle="V").matvec(r))
    # root-node keeps R ≠ Pᵀ; the compiled cycle applies R as given, or pyamg runs it
    assert M.kernel in ("numba", "pyamg")
    np.testing.assert_allclose(M(r), ref, rtol=1e-12, atol=1e-14 * np.abs(ref).max())
    # symmetric= skips the check: forced choices build the other hierarchy
    assert AMGPreconditioner(us.problems.poisson2d(8).A, symmetric=False).kind == "rootnode"
    assert AMGPreconditioner(A, symmetric=True).kind == "smoothed-aggregation"
    S = AMGPreconditioner(us.problems.poisson2d(16).A)
    assert (S.kind, S.symmetric, S.kernel) == ("smoothed-aggregation", True, "numba")


def test_a_hierarchy_the_compiled_cycle_does_not_reproduce_falls_back_to_pyamg(monkeypatch):
    import pyamg

    A = us.problems.convection_diffusion_system(16, 100.0).A
    assert AMGCycle.from_pyamg(pyamg.air_solver(A)) is None  # F/C Jacobi: not Gauss–Seidel
    monkeypatch.setattr(AMGCycle, "from_pyamg", classmethod(lambda cls, ml: None))
    M = AMGPreconditioner(A)
    assert (M.kind, M.kernel) == ("rootnode", "pyamg")
    r = np.random.default_rng(5).standard_normal(A.shape[0])
    ref = _rootnode(A).aspreconditioner(cycle="V").matvec(r)
    np.testing.assert_allclose(M(r), ref, rtol=1e-15, atol=1e-15 * np.abs(ref).max())


def test_amg_preconditions_gmres_on_convection_diffusion():
    p = us.problems.convection_diffusion_system(32, 10.0)
    plain = us.solve(p, method="gmres", rtol=1e-8)
    r = us.solve(p, method="gmres", preconditioner="amg", rtol=1e-8)
    assert r.converged and r.iterations * 5 < plain.iterations
    np.testing.assert_allclose(r.x, p.exact, rtol=1e-6)


@pytest.mark.parametrize("pc", ["ilu0", "ilut", "sor", "ssor", "jacobi", "amg"])
def test_gmres_converges_with_every_preconditioner_on_a_nonsymmetric_matrix(pc):
    p = us.problems.convection_diffusion_system(24, 30.0)
    r = us.solve(p, method="gmres", preconditioner=pc, rtol=1e-10)
    assert r.converged
    assert np.linalg.norm(p.b - p.A @ r.x) <= 1e-10 * np.linalg.norm(p.b)
    np.testing.assert_allclose(r.x, p.exact, rtol=1e-7, atol=1e-9)

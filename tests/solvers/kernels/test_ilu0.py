"""ILU(0): the numba factor and solve against dense references; nonsymmetric preconditioners."""

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
from unisolve.solvers.kernels.ilu0 import ilu0_factor, ilu0_reference, ilu0_solve_reference
from unisolve.solvers.preconditioners import (
    AMGPreconditioner,
    ILU0Preconditioner,
    ILUTPreconditioner,
    SORPreconditioner,
    SSORPreconditioner,
    make_preconditioner,
)


def _pattern(A):
    return sp.csr_array((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape).toarray() > 0


@pytest.mark.parametrize("peclet, scheme, dim", [(0.0, "upwind", 2), (30.0, "upwind", 2),
                                                 (30.0, "central", 2), (5.0, "upwind", 3)])
def test_factor_equals_dense_reference_on_the_pattern(peclet, scheme, dim):
    p = us.problems.convection_diffusion_system(9 if dim == 2 else 4, peclet, dim=dim,
                                                scheme=scheme)
    f = ilu0_factor(p.A)
    L, U = ilu0_reference(p.A.toarray(), _pattern(p.A))
    LU = f.LU.toarray()
    np.testing.assert_allclose(np.tril(LU, -1), np.tril(L, -1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(np.triu(LU), U, rtol=1e-12, atol=1e-14)
    assert not (f.LU.toarray() != 0)[~_pattern(p.A)].any()  # no fill outside the pattern
    r = np.random.default_rng(0).standard_normal(p.n)
    np.testing.assert_allclose(f.solve(r), ilu0_solve_reference(L, U, r), rtol=1e-11,
                               atol=1e-13)


def test_no_fill_matrix_gives_the_exact_lu():
    rng = np.random.default_rng(3)
    n = 40  # tridiagonal, nonsymmetric, diagonally dominant: LU has no fill
    A = sp.diags([rng.uniform(-1, 0, n - 1), 4 + rng.uniform(0, 1, n), rng.uniform(-2, 0, n - 1)],
                 [-1, 0, 1], format="csr")
    b = rng.standard_normal(n)
    np.testing.assert_allclose(A @ ILU0Preconditioner(A)(b), b, rtol=1e-12, atol=1e-12)


def test_unsorted_duplicate_entries_are_summed_first():
    # row 0 stores (0, 1) as -0.5 twice and out of order: A = [[4, -1], [-2, 4]]
    A = sp.csr_array((np.array([-0.5, 4.0, -0.5, -2.0, 4.0]), np.array([1, 0, 1, 0, 1]),
                      np.array([0, 3, 5])), shape=(2, 2))
    z = ILU0Preconditioner(A)(np.array([3.0, 2.0]))
    np.testing.assert_allclose(z, [1.0, 1.0])


def test_vanishing_pivot_names_ilut_and_amg():
    A = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])  # u_11 = 1 − 1 = 0
    with pytest.raises(ValueError, match=r"pivot u_ii of row 1 vanished.*'ilut'.*'amg'"):
        ILU0Preconditioner(A)
    z = ILUTPreconditioner(A)(np.array([2.0, 3.0, 3.0]))  # pivoting copes
    np.testing.assert_allclose(A @ z, [2.0, 3.0, 3.0], rtol=1e-10)
    with pytest.raises(ValueError, match="diagonal entry"):
        ILU0Preconditioner(np.array([[0.0, 1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match="singular"):
        ILUTPreconditioner(np.zeros((3, 3)) + np.eye(3) * [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="drop_tol"):
        ILUTPreconditioner(np.eye(2), drop_tol=-1.0)


def test_sor_and_ssor_preconditioners_on_a_nonsymmetric_matrix():
    A = us.problems.convection_diffusion_system(6, 20.0).A
    Ad = A.toarray()
    D, L, U = np.diag(np.diag(Ad)), np.tril(Ad, -1), np.triu(Ad, 1)
    r = np.random.default_rng(2).standard_normal(A.shape[0])
    w = 1.2
    np.testing.assert_allclose(SORPreconditioner(A, omega=w)(r),
                               np.linalg.solve((D + w * L) / w, r), rtol=1e-12)
    M = (D + w * L) @ np.linalg.solve(D, D + w * U) / (w * (2 - w))
    np.testing.assert_allclose(SSORPreconditioner(A, omega=w)(r), np.linalg.solve(M, r),
                               rtol=1e-10)
    with pytest.raises(ValueError, match="omega"):
        SORPreconditioner(A, omega=2.0)
    assert make_preconditioner("sor", A, omega=1.5).omega == 1.5


def test_amg_picks_rootnode_for_a_nonsymmetric_matrix_and_it_preconditions_gmres():
    p = us.problems.convection_diffusion_system(32, 10.0)
    M = AMGPreconditioner(p.A)
    assert (M.kind, M.symmetric) == ("rootnode", False)
    plain = us.solve(p, method="gmres", rtol=1e-8)
    r = us.solve(p, method="gmres", preconditioner="amg", rtol=1e-8)
    assert r.converged and r.iterations * 5 < plain.iterations
    np.testing.assert_allclose(r.x, p.exact, rtol=1e-6)
    S = AMGPreconditioner(us.problems.poisson2d(16).A)
    assert (S.kind, S.symmetric) == ("smoothed-aggregation", True)


@pytest.mark.parametrize("pc", ["ilu0", "ilut", "sor", "ssor", "jacobi", "amg"])
def test_gmres_converges_with_every_preconditioner(pc):
    p = us.problems.convection_diffusion_system(24, 30.0)
    r = us.solve(p, method="gmres", preconditioner=pc, rtol=1e-10)
    assert r.converged
    assert np.linalg.norm(p.b - p.A @ r.x) <= 1e-10 * np.linalg.norm(p.b)
    np.testing.assert_allclose(r.x, p.exact, rtol=1e-7, atol=1e-9)

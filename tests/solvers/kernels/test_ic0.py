"""IC(0) kernels against their references, closed forms and the defining property."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
from unisolve.solvers.kernels.ic0 import (
    ic0_factor,
    ic0_reference,
    solve_lower,
    solve_lower_reference,
    solve_upper,
    solve_upper_reference,
)
from unisolve.solvers.preconditioners import IC0Preconditioner


def random_spd_pattern(n, density, seed):
    """Symmetric, strictly diagonally dominant with negative off-diagonals (an M-matrix)."""
    rng = np.random.default_rng(seed)
    B = sp.random_array((n, n), density=density, rng=rng, format="csr")
    B = -(B + B.T)
    d = -np.asarray(B.sum(axis=1)).ravel() + rng.uniform(0.1, 1.0, n)
    return sp.csr_array(B + sp.diags_array(d))


MATRICES = {
    "poisson2d": lambda: us.problems.poisson2d(7).A,
    "poisson3d": lambda: us.problems.poisson3d(4).A,
    "variable-coefficient": lambda: us.problems.poisson2d(
        6, coeff=lambda x, y: 1 + 10 * x * y
    ).A,
    "random-M-matrix": lambda: random_spd_pattern(60, 0.08, seed=2),
}


@pytest.mark.parametrize("name", sorted(MATRICES))
def test_ic0_factor_matches_dense_reference(name):
    A = MATRICES[name]()
    L = ic0_factor(A)
    L_ref = ic0_reference(A)
    np.testing.assert_allclose(L.toarray(), L_ref, rtol=0, atol=1e-12 * np.abs(L_ref).max())
    # defining property: L Lᵀ = A on the pattern of tril(A), L on that pattern only
    pattern = np.tril(A.toarray()) != 0
    LLt = (L @ L.T).toarray()
    np.testing.assert_allclose(LLt[pattern], np.tril(A.toarray())[pattern], rtol=1e-12, atol=1e-12)
    assert not np.any(L.toarray()[~pattern])


@pytest.mark.parametrize("n", [1, 2, 5, 40])
def test_ic0_of_a_tridiagonal_matrix_is_its_exact_cholesky_in_closed_form(n):
    # tridiag(−1, 2, −1) = L Lᵀ with l_ii = sqrt((i+2)/(i+1)), l_{i+1,i} = −sqrt((i+1)/(i+2))
    A = sp.diags_array([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], offsets=[-1, 0, 1],
                       format="csr")
    L = ic0_factor(A).toarray()
    i = np.arange(n)
    np.testing.assert_allclose(np.diag(L), np.sqrt((i + 2) / (i + 1)), rtol=1e-14)
    np.testing.assert_allclose(np.diag(L, -1), -np.sqrt((i[:-1] + 1) / (i[:-1] + 2)), rtol=1e-14)
    np.testing.assert_allclose(L, np.linalg.cholesky(A.toarray()), atol=1e-14)


def _triangular_factor(n, seed, lower):
    rng = np.random.default_rng(seed)
    T = sp.random_array((n, n), density=0.1, rng=rng, format="csr")
    T = sp.tril(T, -1) if lower else sp.triu(T, 1)
    T = sp.csr_array(T + sp.diags_array(rng.uniform(1.0, 2.0, n)))
    T.sort_indices()
    return T


@pytest.mark.parametrize("seed", [0, 1])
def test_triangular_solves_match_scipy(seed):
    n = 80
    rng = np.random.default_rng(10 + seed)
    b = rng.standard_normal(n)
    L = _triangular_factor(n, seed, lower=True)
    U = _triangular_factor(n, seed + 5, lower=False)
    y, y_ref = solve_lower(L, b), solve_lower_reference(L, b)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12 * np.abs(y_ref).max())
    z, z_ref = solve_upper(U, b), solve_upper_reference(U, b)
    np.testing.assert_allclose(z, z_ref, rtol=1e-12, atol=1e-12 * np.abs(z_ref).max())
    # in place (out aliasing the right-hand side) gives the same answer
    w = b.copy()
    np.testing.assert_allclose(solve_upper(U, w, out=w), z_ref, rtol=1e-12, atol=1e-12)


def test_ic0_preconditioner_applies_the_inverse_of_L_Lt():
    A = MATRICES["random-M-matrix"]()
    M = IC0Preconditioner(A)
    L = ic0_reference(A)
    r = np.random.default_rng(4).standard_normal(A.shape[0])
    np.testing.assert_allclose(M(r), np.linalg.solve(L @ L.T, r), rtol=1e-10, atol=1e-12)


def test_ic0_breakdown_raises_a_helpful_value_error():
    A = sp.csr_array(np.array([[1.0, 2.0], [2.0, 1.0]]))  # indefinite: pivot 1 − 4 < 0
    with pytest.raises(ValueError, match=r"pivot .* row 1.*'jacobi' or 'amg'"):
        ic0_factor(A)
    with pytest.raises(ValueError, match="row 1 has none"):
        ic0_factor(sp.csr_array(np.array([[1.0, 0.0], [0.5, 0.0]])))
    with pytest.raises(ValueError, match="'jacobi' or 'amg'"):
        us.solve(us.problems.LinearProblem(A, np.ones(2)), method="pcg", preconditioner="ic0")

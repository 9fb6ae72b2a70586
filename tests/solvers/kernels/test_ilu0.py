"""ILU(0): the numba factorisation and solve against the dense IKJ reference and scipy."""

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
from unisolve.solvers.kernels.ilu0 import ilu0_factor, ilu0_reference, ilu0_solve_reference


def _pattern(A):
    A = sp.csr_array(A)
    return sp.csr_array((np.ones(A.nnz), A.indices, A.indptr), shape=A.shape).toarray() > 0


def _random_sparse(n, density, seed):
    """Nonsymmetric, diagonally dominant, irregular pattern (rows with and without a_{i,i±1})."""
    rng = np.random.default_rng(seed)
    R = sp.random_array((n, n), density=density, rng=rng, format="csr")
    R.data = rng.uniform(-1.0, 1.0, R.nnz)
    d = np.abs(R).sum(axis=1) + 1.0 + rng.uniform(0, 1, n)
    return sp.csr_array(R + sp.diags_array(d))


def _check_against_reference(A, r):
    f = ilu0_factor(A)
    L, U = ilu0_reference(A.toarray(), _pattern(A))
    np.testing.assert_allclose(f.L.toarray(), np.tril(L, -1), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(f.U.toarray(), U, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(f.pivots, np.diag(U), rtol=1e-12)
    assert not (f.LU.toarray() != 0)[~_pattern(A)].any()  # no fill outside the pattern
    z_ref = ilu0_solve_reference(L, U, r)
    np.testing.assert_allclose(f.solve(r), z_ref, rtol=1e-11, atol=1e-13 * np.abs(z_ref).max())


@pytest.mark.parametrize("peclet, scheme, dim", [(0.0, "upwind", 2), (30.0, "upwind", 2),
                                                 (30.0, "central", 2), (5.0, "upwind", 3)])
def test_factor_equals_dense_reference_on_the_pattern(peclet, scheme, dim):
    p = us.problems.convection_diffusion_system(9 if dim == 2 else 4, peclet, dim=dim,
                                                scheme=scheme)
    _check_against_reference(p.A, np.random.default_rng(0).standard_normal(p.n))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_factor_equals_dense_reference_on_an_irregular_pattern(seed):
    A = _random_sparse(40, 0.12, seed)
    _check_against_reference(A, np.random.default_rng(seed).standard_normal(40))


def test_reference_is_the_exact_lu_on_a_full_pattern():
    A = _random_sparse(12, 1.0, 5).toarray()  # dense pattern: ILU(0) = LU without pivoting
    L, U = ilu0_reference(A)
    np.testing.assert_allclose(L @ U, A, rtol=1e-13, atol=1e-13)


def test_no_fill_matrix_gives_the_exact_lu():
    rng = np.random.default_rng(3)
    n = 40  # tridiagonal, nonsymmetric, diagonally dominant: LU has no fill
    A = sp.diags_array([rng.uniform(-1, 0, n - 1), 4 + rng.uniform(0, 1, n),
                        rng.uniform(-2, 0, n - 1)], offsets=[-1, 0, 1], format="csr")
    b = rng.standard_normal(n)
    z = ilu0_factor(A).solve(b)
    np.testing.assert_allclose(A @ z, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(z, np.linalg.solve(A.toarray(), b), rtol=1e-12)


def test_inputs_in_any_form_give_the_same_factor_and_a_is_untouched():
    A = _random_sparse(30, 0.15, 7)
    before = A.data.copy()
    r = np.random.default_rng(1).standard_normal(30)
    z = ilu0_factor(A).solve(r)
    assert np.array_equal(A.data, before)
    A32 = sp.csr_matrix((A.data, A.indices.astype(np.int32), A.indptr.astype(np.int32)),
                        shape=A.shape)
    for other in (A.toarray(), A32, sp.coo_array(A), sp.csc_array(A)):
        np.testing.assert_allclose(ilu0_factor(other).solve(r), z, rtol=1e-14, atol=1e-16)
    # float32 entries are factored in float64: the answer moves by rounding of A only
    np.testing.assert_allclose(ilu0_factor(A.astype(np.float32)).solve(r), z, rtol=0,
                               atol=1e-6 * np.abs(z).max())


def test_unsorted_duplicate_entries_are_summed_first():
    # row 0 stores (0, 1) as -0.5 twice and out of order: A = [[4, -1], [-2, 4]]
    A = sp.csr_array((np.array([-0.5, 4.0, -0.5, -2.0, 4.0]), np.array([1, 0, 1, 0, 1]),
                      np.array([0, 3, 5])), shape=(2, 2))
    np.testing.assert_allclose(ilu0_factor(A).solve(np.array([3.0, 2.0])), [1.0, 1.0])
    assert A.data.size == 5  # the caller's matrix was not canonicalised in place


def test_solve_in_place_and_into_a_buffer():
    A = _random_sparse(25, 0.2, 4)
    f = ilu0_factor(A)
    r = np.random.default_rng(2).standard_normal(25)
    z = f.solve(r)
    out = np.empty(25)
    assert f.solve(r, out=out) is out
    np.testing.assert_array_equal(out, z)
    r2 = r.copy()
    f.solve(r2, out=r2)  # z overwrites r
    np.testing.assert_array_equal(r2, z)
    with pytest.raises(ValueError, match="length 25"):
        f.solve(np.ones(24))


def test_bad_pivots_and_patterns_raise_naming_the_fix():
    A = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])  # u_11 = 1 − 1 = 0
    with pytest.raises(ValueError, match=r"pivot u_ii of row 1 vanished.*'ilut'.*'amg'"):
        ilu0_factor(A)
    tiny = np.array([[1.0, 1.0], [1.0, 1.0 + 4e-16]])  # u_11 = 4.4e-16, below 1e-14 x row
    with pytest.raises(ValueError, match="row 1 vanished"):
        ilu0_factor(tiny)
    ok = np.array([[1.0, 1.0], [1.0, 1.0 + 1e-10]])  # small but far above rounding
    np.testing.assert_allclose(ilu0_factor(ok).pivots, [1.0, 1e-10], rtol=1e-5)
    with pytest.raises(ValueError, match=r"row 0 vanished.*not finite"):
        ilu0_factor(np.array([[np.nan, 1.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"diagonal entry.*row 1 has none.*'ilut'"):
        ilu0_factor(sp.csr_array(np.array([[1.0, 1.0], [1.0, 0.0]])))
    with pytest.raises(ValueError, match="square"):
        ilu0_factor(np.ones((2, 3)))

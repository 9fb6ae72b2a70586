"""The Eisenstat SSOR-PCG kernels (numba) against their scipy references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
from unisolve.problems import Stencil
from unisolve.solvers.kernels import ssor_pcg as K
from unisolve.solvers.kernels.sor_csr import unsigned_indices


def shuffled_rows(A, seed=0):
    """The same matrix with the column order of every row permuted (unsorted CSR)."""
    A = sp.csr_array(A, copy=True)
    rng = np.random.default_rng(seed)
    for i in range(A.shape[0]):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        perm = rng.permutation(hi - lo)
        A.indices[lo:hi] = A.indices[lo:hi][perm]
        A.data[lo:hi] = A.data[lo:hi][perm]
    A.has_sorted_indices = False
    return A


def random_spd(n=120, seed=0):
    """Sparse SPD with a nonuniform diagonal and unsorted rows."""
    rng = np.random.default_rng(seed)
    B = sp.random_array((n, n), density=0.04, rng=rng, format="csr")
    S = sp.csr_array(B + B.T)
    A = S + sp.diags_array(abs(S).sum(axis=1) + 0.1 + 3 * rng.random(n))
    return shuffled_rows(sp.csr_array(A), seed)


MATRICES = {
    "poisson2d": lambda: us.problems.poisson2d(9).A,
    "varcoef": lambda: us.problems.poisson2d(9, coeff=lambda x, y: 1 + x + y * y).A,
    "poisson3d": lambda: us.problems.poisson3d(5).A,
    "random": random_spd,
}


def csr_parts(split, n):
    """The L and U of split_csr as scipy matrices."""
    lptr, lidx, lval, uptr, uidx, uval, _, _ = split
    L = sp.csr_array((lval[: lptr[-1]], lidx[: lptr[-1]], lptr), shape=(n, n))
    U = sp.csr_array((uval[: uptr[-1]], uidx[: uptr[-1]], uptr), shape=(n, n))
    return L, U


@pytest.mark.parametrize("name", sorted(MATRICES))
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_split_matches_reference(name, index_dtype):
    A = MATRICES[name]()
    A = sp.csr_array((A.data, A.indices.astype(index_dtype), A.indptr.astype(index_dtype)),
                     shape=A.shape)
    omega = 1.3
    split = K.split_csr(A, omega)
    L, U = csr_parts(split, A.shape[0])
    L_ref, U_ref, dt_ref = K.split_csr_reference(A, omega)
    assert abs(L - L_ref).max() == 0 and abs(U - U_ref).max() == 0
    np.testing.assert_allclose(split[6], dt_ref, rtol=1e-15)
    np.testing.assert_allclose(split[7], 1.0 / dt_ref, rtol=1e-15)
    # the nearest neighbours sit where the passes read them from registers
    lptr, lidx, _, uptr, uidx, _, _, _ = split
    for i in range(A.shape[0]):
        row_l, row_u = lidx[lptr[i]:lptr[i + 1]], uidx[uptr[i]:uptr[i + 1]]
        if i - 1 in row_l:
            assert row_l[-1] == i - 1
        if i + 1 in row_u:
            assert row_u[0] == i + 1


def test_split_sums_duplicates_and_names_zero_pivot():
    A = sp.csr_array((np.array([1.0, 2.0, -1.0, -1.0, 3.0]), np.array([0, 0, 1, 0, 1]),
                      np.array([0, 3, 5])), shape=(2, 2))  # a_00 = 1 + 2, stored twice
    split = K.split_csr(A, 1.0)
    np.testing.assert_array_equal(split[6], [3.0, 3.0])
    Z = sp.csr_array(np.array([[1.0, 2.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match=r"zero on the diagonal \(row 1\)"):
        K.split_csr(Z, 1.0)


def grid_args(stencil, omega):
    return K.grid_operator(tuple(stencil.shape), stencil.diagonal, stencil.offdiagonal, omega)


OPERATORS = {  # name -> (A, use_grid, split-or-grid builder)
    "csr-random": lambda w: (random_spd(), False),
    "csr-varcoef": lambda w: (MATRICES["varcoef"](), False),
    "grid2d": lambda w: (Stencil((7, 9), 4.2, -1.1), True),
    "grid3d": lambda w: (Stencil((4, 5, 6), 6.5, -0.9), True),
}


def operator(name, omega):
    obj, use_grid = OPERATORS[name](omega)
    if use_grid:
        A = obj.to_csr()
        return A, True, K.no_split(), grid_args(obj, omega)
    return obj, False, K.split_csr(obj, omega), K.no_grid()


@pytest.mark.parametrize("name", sorted(OPERATORS))
@pytest.mark.parametrize("omega", [1.0, 1.5, 1.9])
def test_lower_solve_matches_reference(name, omega):
    A, use_grid, split, grid = operator(name, omega)
    y = np.random.default_rng(1).standard_normal(A.shape[0])
    out = np.empty_like(y)
    yy, rho = K.lower_solve(use_grid, split, grid, y, out)
    ref = K.lower_solve_reference(A, omega, y)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    assert yy == pytest.approx(y @ y, rel=1e-13)
    assert rho == pytest.approx(ref @ (A.diagonal() / omega * ref), rel=1e-12)


@pytest.mark.parametrize("name", sorted(OPERATORS))
@pytest.mark.parametrize("omega", [1.0, 1.5, 1.9])
def test_iteration_matches_reference(name, omega):
    A, use_grid, split, grid = operator(name, omega)
    n = A.shape[0]
    rng = np.random.default_rng(2)
    x, r, phat = (rng.standard_normal(n) for _ in range(3))
    beta = 0.7
    rhat = np.empty(n)
    _, rho = K.lower_solve(use_grid, split, grid, r, rhat)
    ref = K.eisenstat_iteration_reference(A, omega, rho, beta, x, r, phat)
    t = np.empty(n)
    tat, alpha, rr, rho_next = K.eisenstat_iteration(use_grid, split, grid, omega, rho, beta,
                                                     x, r, rhat, phat, t)
    assert tat == pytest.approx(ref["tAt"], rel=1e-11)
    assert alpha == pytest.approx(ref["alpha"], rel=1e-11)
    assert rr == pytest.approx(ref["rr"], rel=1e-11)
    assert rho_next == pytest.approx(ref["rho"], rel=1e-11)
    for key, got in (("phat", phat), ("t", t), ("x", x), ("r", r), ("rhat", rhat)):
        np.testing.assert_allclose(got, ref[key], rtol=1e-10, atol=1e-11 * np.abs(ref[key]).max(),
                                   err_msg=key)


def test_iteration_reports_breakdown_without_touching_x():
    A = sp.csr_array(np.array([[1.0, 2.0], [2.0, 1.0]]))  # symmetric indefinite
    split = K.split_csr(A, 1.0)
    x, r, phat, t = np.zeros(2), np.array([1.0, -1.0]), np.zeros(2), np.empty(2)
    rhat = np.empty(2)
    _, rho = K.lower_solve(False, split, K.no_grid(), r, rhat)
    tat, alpha, rr, _ = K.eisenstat_iteration(False, split, K.no_grid(), 1.0, rho, 0.0, x, r,
                                              rhat, phat, t)
    assert tat < 0 and np.isnan(alpha) and np.isnan(rr)
    np.testing.assert_array_equal(x, [0.0, 0.0])


@pytest.mark.parametrize("name", ["csr-random", "grid2d", "grid3d"])
def test_true_residual(name):
    A, use_grid, _, grid = operator(name, 1.4)
    rng = np.random.default_rng(3)
    x, b = rng.standard_normal(A.shape[0]), rng.standard_normal(A.shape[0])
    r = np.empty_like(b)
    matrix = (A.indptr, unsigned_indices(A.indices), A.data)
    rr = K.true_residual(use_grid, matrix, grid, x, b, r)
    np.testing.assert_allclose(r, b - A @ x, rtol=1e-13, atol=1e-13)
    assert rr == pytest.approx(float((b - A @ x) @ (b - A @ x)), rel=1e-12)


def test_stencil_check_agrees_with_the_entrywise_comparison():
    heat = us.problems.heat_sequence(nx=12, steps=2).instance(1)
    cases = [
        (us.problems.poisson2d(6).A, Stencil((6, 6), 4.0, -1.0), True),
        (us.problems.poisson3d(4).A, Stencil((4, 4, 4), 6.0, -1.0), True),
        (heat.A, heat.stencil, True),
        (us.problems.poisson2d(6).A, Stencil((4, 9), 4.0, -1.0), False),  # other grid
        (us.problems.poisson2d(6).A, Stencil((6, 6), 4.0, -1.0 + 1e-15), False),
        (us.problems.poisson2d(6, coeff=lambda x, y: 1 + x).A, Stencil((6, 6), 4.0, -1.0),
         False),
    ]
    for A, stencil, expected in cases:
        assert K.stencil_matches_reference(A, stencil) is expected
        assert K.stencil_matches_csr(A, stencil.shape, stencil.diagonal,
                                     stencil.offdiagonal) is expected
    # the same matrix in another layout is not recognised (the CSR kernels then run)
    A = us.problems.poisson2d(6).A
    assert K.stencil_matches_reference(shuffled_rows(A), Stencil((6, 6), 4.0, -1.0))
    assert not K.stencil_matches_csr(shuffled_rows(A), (6, 6), 4.0, -1.0)
    one_value_off = A.copy()
    one_value_off.data[17] *= 1.0 + 1e-15
    assert not K.stencil_matches_csr(one_value_off, (6, 6), 4.0, -1.0)


def test_whole_solve_matches_the_iteration_loop():
    p = us.problems.poisson2d(12, coeff=lambda x, y: 1 + x * y)
    omega = 1.6
    split = K.split_csr(p.A, omega)
    grid = K.no_grid()
    matrix = (p.A.indptr, unsigned_indices(p.A.indices), p.A.data)
    n = p.n
    threshold = 1e-9 * np.linalg.norm(p.b)

    def fresh():
        r = p.b.copy()
        rhat = np.empty(n)
        _, rho = K.lower_solve(False, split, grid, r, rhat)
        return np.zeros(n), r, rhat, np.zeros(n), np.empty(n), rho

    x, r, rhat, phat, t, rho = fresh()
    residuals, flags, out = np.empty(500), np.zeros(500, np.uint8), np.zeros(6)
    k = K.eisenstat_solve(False, split, matrix, grid, omega, p.b, x, r, rhat, phat, t, rho, 0.0,
                          threshold, 1e300, 0, 500, residuals, flags, out)
    assert out[1] == K.SOLVE_CONVERGED and flags[k - 1] == 1
    x2, r2, rhat2, phat2, t2, rho2 = fresh()
    beta, history = 0.0, []
    for _ in range(k):
        _, _, rr, rho_next = K.eisenstat_iteration(False, split, grid, omega, rho2, beta, x2,
                                                   r2, rhat2, phat2, t2)
        history.append(np.sqrt(rr))
        beta, rho2 = rho_next / rho2, rho_next
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(residuals[: k - 1], history[:-1])
    assert residuals[k - 1] == pytest.approx(np.linalg.norm(p.b - p.A @ x), rel=1e-12)

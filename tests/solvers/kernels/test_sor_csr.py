"""The numba CSR SOR sweeps agree with pyamg and with the plain-numpy reference."""

import numpy as np
import pytest
import scipy.sparse as sp
from pyamg.relaxation.relaxation import sor as pyamg_sor

from unisolve.problems.linear import Stencil
from unisolve.solvers.kernels.sor_csr import (
    inverse_diagonal,
    sor_backward_csr,
    sor_forward_csr,
    sor_sweep,
    sor_sweep_csr,
    sor_sweep_csr_ordered,
    sor_sweep_reference,
    unsigned_indices,
)

OMEGAS = [0.5, 1.0, 1.3, 1.9]


def poisson_2d(n=9):
    return Stencil((n, n), 4.0, -1.0).to_csr()


def nonsymmetric(n=60, seed=0):
    """Random sparse nonsymmetric matrix, strictly diagonally dominant by rows."""
    rng = np.random.default_rng(seed)
    A = sp.random_array((n, n), density=0.1, rng=rng, format="csr")
    A = sp.csr_array(A - A.T * 0.3)  # make it visibly nonsymmetric, with signs
    A.setdiag(0)
    A.eliminate_zeros()
    A.setdiag(abs(A).sum(axis=1) + 1.0 + rng.random(n))
    return sp.csr_array(A)


MATRICES = {"poisson2d": poisson_2d, "nonsymmetric": nonsymmetric}


def with_index_dtype(A, dtype):
    A = A.copy()
    A.indices = A.indices.astype(dtype)
    A.indptr = A.indptr.astype(dtype)
    return A


def relative_error(x, ref):
    return np.linalg.norm(x - ref) / np.linalg.norm(ref)


def start(A, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(A.shape[0]), rng.standard_normal(A.shape[0])


@pytest.mark.parametrize("name", sorted(MATRICES))
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("omega", OMEGAS)
@pytest.mark.parametrize("sweep", ["forward", "backward"])
def test_one_direction_matches_pyamg(name, index_dtype, omega, sweep):
    A = with_index_dtype(MATRICES[name](), index_dtype)
    assert A.indices.dtype == index_dtype
    x, b = start(A)
    ours, theirs = x.copy(), x.copy()
    for _ in range(3):  # several sweeps: the rows must see the freshest values each time
        sor_sweep(A, ours, b, omega, sweep=sweep)
        # pyamg's C++ kernels take int32 indices; the int32 copy is the same matrix
        pyamg_sor(with_index_dtype(A, np.int32), theirs, b, omega, sweep=sweep)
    assert relative_error(ours, theirs) < 1e-12
    assert relative_error(ours, x) > 1e-3  # the sweep did something


@pytest.mark.parametrize("name", sorted(MATRICES))
@pytest.mark.parametrize("omega", OMEGAS)
def test_symmetric_is_forward_then_backward_pyamg(name, omega):
    # pyamg 5.4's gauss_seidel(..., sweep='symmetric') calls itself for the two
    # directions WITHOUT passing omega on, so sor(..., sweep='symmetric') is a
    # symmetric Gauss-Seidel sweep whatever omega says (a pyamg bug). Compare
    # against two one-direction pyamg calls instead.
    A = MATRICES[name]()
    x, b = start(A)
    ours, theirs = x.copy(), x.copy()
    sor_sweep(A, ours, b, omega, sweep="symmetric")
    pyamg_sor(A, theirs, b, omega, sweep="forward")
    pyamg_sor(A, theirs, b, omega, sweep="backward")
    assert relative_error(ours, theirs) < 1e-12


def test_pyamg_symmetric_ignores_omega():
    """Documents the pyamg bug above; if this fails, pyamg fixed it (good news)."""
    A = poisson_2d()
    x, b = start(A)
    with_omega, gauss_seidel = x.copy(), x.copy()
    pyamg_sor(A, with_omega, b, 1.7, sweep="symmetric")
    pyamg_sor(A, gauss_seidel, b, 1.0, sweep="symmetric")
    np.testing.assert_array_equal(with_omega, gauss_seidel)


@pytest.mark.parametrize("name", sorted(MATRICES))
@pytest.mark.parametrize("omega", [0.7, 1.0, 1.6])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_numba_kernels_match_reference(name, omega, index_dtype):
    A = with_index_dtype(MATRICES[name](), index_dtype)
    n = A.shape[0]
    x, b = start(A, seed=2)
    inv = inverse_diagonal(A)
    idx = unsigned_indices(A.indices)
    rows = np.random.default_rng(3).permutation(n)  # any order, e.g. red-black

    ours = x.copy()
    sor_sweep_csr(A.indptr, idx, A.data, inv, ours, b, omega, n - 1, -1, -1)
    ref = x.copy()
    sor_sweep_reference(A, ref, b, omega, range(n - 1, -1, -1))
    assert relative_error(ours, ref) < 1e-12

    ours = x.copy()
    sor_sweep_csr_ordered(A.indptr, idx, A.data, inv, ours, b, omega, rows)
    ref = x.copy()
    sor_sweep_reference(A, ref, b, omega, rows)
    assert relative_error(ours, ref) < 1e-12


def test_unsigned_indices_is_a_view():
    A = poisson_2d(4)
    u = unsigned_indices(A.indices)
    assert u.dtype == np.uint32 and np.shares_memory(u, A.indices)
    assert unsigned_indices(A.indices.astype(np.int64)).dtype == np.uint64


def test_zero_diagonal_is_named():
    A = sp.csr_array(np.array([[1.0, 2.0, 0.0], [2.0, 0.0, 1.0], [0.0, 1.0, 3.0]]))
    with pytest.raises(ValueError, match=r"zero on the diagonal \(row 1\)"):
        inverse_diagonal(A)


def test_bad_sweep_name():
    A = poisson_2d(3)
    with pytest.raises(ValueError, match="sweep must be"):
        sor_sweep(A, np.zeros(9), np.ones(9), 1.0, sweep="sideways")


def shuffled_with_duplicates(A, seed=4):
    """A in non-canonical CSR: rows' columns shuffled, every (i, i−1) entry split in two."""
    A = sp.coo_array(A)
    rng = np.random.default_rng(seed)
    sub = A.row == A.col + 1
    rows = np.concatenate([A.row, A.row[sub]])
    cols = np.concatenate([A.col, A.col[sub]])
    vals = np.concatenate([np.where(sub, 0.25 * A.data, A.data), 0.75 * A.data[sub]])
    order = np.lexsort((rng.random(rows.size), rows))  # by row, random within a row
    rows, cols, vals = rows[order], cols[order], vals[order]
    indptr = np.searchsorted(rows, np.arange(A.shape[0] + 1))
    B = sp.csr_array((vals, cols, indptr), shape=A.shape)
    B.has_sorted_indices = False
    B.has_canonical_format = False
    return B


@pytest.mark.parametrize("name", sorted(MATRICES))
@pytest.mark.parametrize("omega", [0.8, 1.5])
def test_register_kernels_on_partial_ranges_and_non_canonical_rows(name, omega):
    A = MATRICES[name]()
    n = A.shape[0]
    x, b = start(A, seed=5)
    inv = inverse_diagonal(A)
    for M in (A, shuffled_with_duplicates(A)):
        assert abs(M - A).max() < 1e-14  # the same matrix
        idx, ptr = unsigned_indices(M.indices), unsigned_indices(M.indptr)
        # a forward sweep over rows 5..n-4: row 5 reads x_4 from memory, not the register
        ours, ref = x.copy(), x.copy()
        sor_forward_csr(ptr, idx, M.data, inv, ours, b, omega, 5, n - 3)
        sor_sweep_reference(A, ref, b, omega, range(5, n - 3))
        assert relative_error(ours, ref) < 1e-12
        np.testing.assert_array_equal(ours[:5], x[:5])
        ours, ref = x.copy(), x.copy()
        sor_backward_csr(ptr, idx, M.data, inv, ours, b, omega, n - 4, 2)
        sor_sweep_reference(A, ref, b, omega, range(n - 4, 2, -1))
        assert relative_error(ours, ref) < 1e-12
        np.testing.assert_array_equal(ours[n - 3:], x[n - 3:])

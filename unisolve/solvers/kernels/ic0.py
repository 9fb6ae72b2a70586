"""Zero-fill incomplete Cholesky, IC(0), and sparse triangular solves (numba).

IC(0) (Meijerink & van der Vorst 1977) keeps the sparsity pattern P of
``tril(A)`` and asks that ``L Lᵀ`` match A on it: for (i, k) in P, k < i,

    l_ik = (a_ik − Σ_{j<k} l_ij l_kj) / l_kk,                        (1)
    l_ii = sqrt(a_ii − Σ_{j<i} l_ij²),                                (2)

the sums running only over entries of P (no fill). Rows are computed top to
bottom (an "up-looking" Cholesky); the sum in (1) is a merge of the sorted
column lists of rows i and k. A pivot in (2) that is not positive means IC(0)
does not exist for A (A not SPD, or SPD but not an H-matrix).

The preconditioner solve ``z = (L Lᵀ)⁻¹ r`` is two substitutions:

    forward   y_i = (r_i − Σ_{j<i} l_ij y_j) / l_ii      on the CSR rows of L   (3)
    backward  z_i = (y_i − Σ_{j>i} u_ij z_j) / u_ii      on the CSR rows of U = Lᵀ (4)

L is stored as sorted CSR with the diagonal last in each row, U = Lᵀ as sorted
CSR with the diagonal first. The plain-numpy/scipy references
(:func:`ic0_reference`, :func:`solve_lower_reference`,
:func:`solve_upper_reference`) are for tests on small matrices.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from .sor_csr import unsigned_indices

__all__ = [
    "backward_substitution_csr",
    "forward_substitution_csr",
    "ic0_factor",
    "ic0_factor_csr",
    "ic0_reference",
    "solve_lower",
    "solve_lower_reference",
    "solve_upper",
    "solve_upper_reference",
]

_OK, _NONPOSITIVE_PIVOT, _MISSING_DIAGONAL = 0, 1, 2


@njit(cache=True, nogil=True)
def ic0_factor_csr(indptr, indices, data):
    """In place: ``data`` holds sorted CSR rows of tril(A) (diagonal last) and becomes L.

    Returns ``(code, row, pivot)``: code 0 on success, 1 for a non-positive
    pivot ``a_ii − Σ l_ij²`` at ``row`` (value ``pivot``), 2 when ``row`` has
    no diagonal entry.

    Examples
    --------
    >>> import numpy as np
    >>> data = np.array([4.0, 2.0, 5.0])       # tril of [[4, 2], [2, 5]]
    >>> ic0_factor_csr(np.array([0, 1, 3]), np.array([0, 0, 1]), data), data
    ((0, -1, 0.0), array([2., 1., 2.]))
    """
    n = indptr.shape[0] - 1
    for i in range(n):
        start = indptr[i]
        diag = indptr[i + 1] - 1
        if diag < start or indices[diag] != i:
            return 2, i, 0.0
        for p in range(start, diag):
            k = indices[p]
            s = data[p]
            a = start
            c = indptr[k]
            kdiag = indptr[k + 1] - 1
            while a < p and c < kdiag:  # merge: Σ_{j<k} l_ij l_kj over the pattern
                ja = indices[a]
                jc = indices[c]
                if ja == jc:
                    s -= data[a] * data[c]
                    a += 1
                    c += 1
                elif ja < jc:
                    a += 1
                else:
                    c += 1
            data[p] = s / data[kdiag]  # (1) l_ik = (a_ik − Σ l_ij l_kj) / l_kk
        d = data[diag]
        for p in range(start, diag):
            d -= data[p] * data[p]
        if not d > 0.0:
            return 1, i, d
        data[diag] = math.sqrt(d)  # (2) l_ii = sqrt(a_ii − Σ l_ij²)
    return 0, -1, 0.0


@njit(cache=True, nogil=True)
def forward_substitution_csr(indptr, indices, data, b, x):
    """``x ← L⁻¹ b`` for lower-triangular sorted CSR L (diagonal last); x may alias b.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.empty(2)                        # L = [[2, 0], [1, 4]]
    >>> forward_substitution_csr(np.array([0, 1, 3]), np.array([0, 0, 1]),
    ...                          np.array([2.0, 1.0, 4.0]), np.array([2.0, 9.0]), x); x
    array([1., 2.])
    """
    n = indptr.shape[0] - 1
    for i in range(n):
        s = b[i]
        diag = indptr[i + 1] - 1
        for jj in range(indptr[i], diag):
            s -= data[jj] * x[indices[jj]]
        x[i] = s / data[diag]  # (3) y_i = (r_i − Σ_{j<i} l_ij y_j) / l_ii


@njit(cache=True, nogil=True)
def backward_substitution_csr(indptr, indices, data, b, x):
    """``x ← U⁻¹ b`` for upper-triangular sorted CSR U (diagonal first); x may alias b.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.empty(2)                        # U = [[2, 1], [0, 4]]
    >>> backward_substitution_csr(np.array([0, 2, 3]), np.array([0, 1, 1]),
    ...                           np.array([2.0, 1.0, 4.0]), np.array([4.0, 8.0]), x); x
    array([1., 2.])
    """
    n = indptr.shape[0] - 1
    for i in range(n - 1, -1, -1):
        diag = indptr[i]
        s = b[i]
        for jj in range(diag + 1, indptr[i + 1]):
            s -= data[jj] * x[indices[jj]]
        x[i] = s / data[diag]  # (4) z_i = (y_i − Σ_{j>i} u_ij z_j) / u_ii


def ic0_factor(A) -> sp.csr_array:
    """IC(0) factor L (sorted CSR, diagonal last) of a symmetric scipy sparse matrix.

    Only ``tril(A)`` is read.

    Raises
    ------
    ValueError
        When a diagonal entry is missing or a pivot is not positive (IC(0) does
        not exist for A); the message suggests the 'jacobi' or 'amg' preconditioner.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[4.0, -1.0, 0.0], [-1.0, 4.0, -1.0], [0.0, -1.0, 4.0]]))
    >>> L = ic0_factor(A)
    >>> bool(np.allclose((L @ L.T).toarray(), A.toarray()))   # tridiagonal: exact Cholesky
    True
    """
    L = sp.csr_array(sp.tril(A, format="csr"), dtype=np.float64, copy=True)
    L.sum_duplicates()
    L.sort_indices()
    code, row, pivot = ic0_factor_csr(L.indptr, L.indices, L.data)
    if code == _MISSING_DIAGONAL:
        raise ValueError(
            f"IC(0) needs every diagonal entry of A, but row {row} has none stored: "
            "A is not SPD; use preconditioner='jacobi' or 'amg', or method='cg'"
        )
    if code == _NONPOSITIVE_PIVOT:
        raise ValueError(
            f"IC(0) broke down: pivot {pivot:.3g} <= 0 at row {row} (A is not SPD, or "
            "its incomplete Cholesky factor does not exist); use preconditioner='jacobi' "
            "or 'amg' instead"
        )
    return L


def solve_lower(L: sp.csr_array, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``L⁻¹ b`` for lower-triangular sorted CSR L with the diagonal last in each row.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> L = sp.csr_array(np.array([[2.0, 0.0], [1.0, 4.0]]))
    >>> solve_lower(L, np.array([2.0, 9.0]))
    array([1., 2.])
    """
    x = np.empty_like(b, dtype=np.float64) if out is None else out
    forward_substitution_csr(L.indptr, unsigned_indices(L.indices), L.data, b, x)
    return x


def solve_upper(U: sp.csr_array, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``U⁻¹ b`` for upper-triangular sorted CSR U with the diagonal first in each row.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> U = sp.csr_array(np.array([[2.0, 1.0], [0.0, 4.0]]))
    >>> solve_upper(U, np.array([4.0, 8.0]))
    array([1., 2.])
    """
    x = np.empty_like(b, dtype=np.float64) if out is None else out
    backward_substitution_csr(U.indptr, unsigned_indices(U.indices), U.data, b, x)
    return x


def ic0_reference(A) -> np.ndarray:
    """Plain-numpy IC(0) by the dense right-looking loop (Golub & Van Loan §11.5.8).

    For k = 0..n−1: ``l_kk = sqrt(a_kk)``, scale column k below the diagonal,
    then update ``a_ij −= l_ik l_jk`` only where (i, j) is in the pattern of
    tril(A). Returns a dense lower-triangular L; for small matrices only.

    Examples
    --------
    >>> import numpy as np
    >>> ic0_reference(np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    M = np.tril(A.toarray() if sp.issparse(A) else np.asarray(A, dtype=np.float64))
    pattern = M != 0
    n = M.shape[0]
    for k in range(n):
        if not M[k, k] > 0:
            raise ValueError(f"IC(0) reference broke down at row {k}")
        M[k, k] = np.sqrt(M[k, k])
        M[k + 1:, k] = np.where(pattern[k + 1:, k], M[k + 1:, k] / M[k, k], 0.0)
        for j in range(k + 1, n):
            rows = np.arange(j, n)
            keep = pattern[j:, j]
            M[rows[keep], j] -= M[rows[keep], k] * M[j, k]
    return M


def solve_lower_reference(L, b: np.ndarray) -> np.ndarray:
    """``L⁻¹ b`` by :func:`scipy.sparse.linalg.spsolve_triangular`.

    Examples
    --------
    >>> import numpy as np
    >>> solve_lower_reference(np.array([[2.0, 0.0], [1.0, 4.0]]), np.array([2.0, 9.0]))
    array([1., 2.])
    """
    return spla.spsolve_triangular(sp.csr_array(L), b, lower=True)


def solve_upper_reference(U, b: np.ndarray) -> np.ndarray:
    """``U⁻¹ b`` by :func:`scipy.sparse.linalg.spsolve_triangular`.

    Examples
    --------
    >>> import numpy as np
    >>> solve_upper_reference(np.array([[2.0, 1.0], [0.0, 4.0]]), np.array([4.0, 8.0]))
    array([1., 2.])
    """
    return spla.spsolve_triangular(sp.csr_array(U), b, lower=False)

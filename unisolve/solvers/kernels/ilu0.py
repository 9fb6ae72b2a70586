"""Zero-fill incomplete LU, ILU(0), and its triangular solves (numba).

ILU(0) (Saad, *Iterative Methods for Sparse Linear Systems*, 2nd ed., §10.3.2,
Algorithm 10.4, the IKJ variant) keeps the sparsity pattern P of A and computes
``A ≈ L U`` with L unit lower and U upper triangular, both on P. Row by row, for
``i = 1 … n−1`` and every ``k < i`` with ``(i, k) ∈ P``, in increasing k:

    a_ik ← a_ik / a_kk                                                  (1)
    a_ij ← a_ij − a_ik a_kj      for j > k with (i, j) ∈ P and (k, j) ∈ P   (2)

after which the strict lower part of the rows holds L (its unit diagonal is not
stored) and the upper part, diagonal included, holds U. Entries (2) would create
outside P are dropped: that is the "zero fill". The factors live in one CSR
array with A's pattern, plus the position of each diagonal entry.

The preconditioner solve ``z = U⁻¹ L⁻¹ r`` is one call:

    forward   y_i = r_i − Σ_{j<i} l_ij y_j                               (3)
    backward  z_i = (y_i − Σ_{j>i} u_ij z_j) / u_ii                      (4)

A pivot ``u_kk`` that vanishes (``|u_kk| ≤ 1e-14·max_j |a_kj|``) or is not finite
stops the factorisation; :func:`ilu0_factor` turns that into a ``ValueError``.
:func:`ilu0_reference` (dense numpy, same loop on the pattern) and
:func:`ilu0_solve_reference` (scipy triangular solves) are the references.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from .sor_csr import unsigned_indices

__all__ = [
    "ILU0Factor",
    "ilu0_factor",
    "ilu0_reference",
    "ilu0_solve",
    "ilu0_solve_reference",
]

_PIVOT_RTOL = 1e-14


@njit(cache=True, nogil=True)
def _ilu0_csr(indptr, indices, data, diag):
    """Factor in place (1)-(2); returns −1 on success, else the row of a bad pivot.

    ``diag[i]`` must hold the position of (i, i) in row i (sorted rows).
    """
    n = indptr.size - 1
    where = np.full(n, -1, dtype=np.int64)  # column -> position in the current row i
    for i in range(n):
        start, stop = indptr[i], indptr[i + 1]
        for p in range(start, stop):
            where[indices[p]] = p
        for p in range(start, diag[i]):  # (i, k) ∈ P with k < i, increasing k
            k = indices[p]
            lik = data[p] / data[diag[k]]  # (1) a_ik / a_kk
            data[p] = lik
            for q in range(diag[k] + 1, indptr[k + 1]):  # (k, j), j > k
                pos = where[indices[q]]
                if pos >= 0:
                    data[pos] -= lik * data[q]  # (2)
        for p in range(start, stop):
            where[indices[p]] = -1
        scale = 0.0
        for p in range(start, stop):
            scale = max(scale, abs(data[p]))
        pivot = data[diag[i]]
        if not np.isfinite(pivot) or abs(pivot) <= _PIVOT_RTOL * scale or scale == 0.0:
            return i
    return -1


@njit(cache=True, nogil=True, fastmath={"contract"})
def ilu0_solve(indptr, indices, data, diag, inv_diag, r, z):
    """``z = U⁻¹ L⁻¹ r`` by (3)-(4); ``z`` may be ``r`` (in place)."""
    n = indptr.size - 1
    for i in range(n):  # (3) unit lower
        s = r[i]
        for p in range(indptr[i], diag[i]):
            s -= data[p] * z[indices[p]]
        z[i] = s
    for i in range(n - 1, -1, -1):  # (4) upper
        s = z[i]
        for p in range(diag[i] + 1, indptr[i + 1]):
            s -= data[p] * z[indices[p]]
        z[i] = s * inv_diag[i]
    return z


class ILU0Factor:
    """L and U of ILU(0) in one CSR array; ``solve(r)`` applies ``U⁻¹ L⁻¹``.

    Attributes
    ----------
    LU : scipy.sparse.csr_array
        Strictly lower part: L (unit diagonal implied); upper part: U.
    diag : ndarray
        Position of each diagonal entry in ``LU.data``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[4.0, -1.0, 0.0], [-2.0, 4.0, -1.0], [0.0, -2.0, 4.0]]))
    >>> f = ilu0_factor(A)   # tridiagonal: no fill, so ILU(0) is the exact LU
    >>> bool(np.allclose(A @ f.solve(np.ones(3)), 1.0))
    True
    """

    def __init__(self, LU: sp.csr_array, diag: np.ndarray) -> None:
        self.LU = LU
        self.diag = diag
        self.inv_diag = 1.0 / LU.data[diag]
        self._args = (unsigned_indices(LU.indptr), unsigned_indices(LU.indices), LU.data,
                      diag, self.inv_diag)

    def solve(self, r: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``z = U⁻¹ L⁻¹ r`` (float64); ``out`` receives z if given."""
        r = np.ascontiguousarray(r, dtype=np.float64)
        z = np.empty_like(r) if out is None else out
        return ilu0_solve(*self._args, r, z)


def _diagonal_positions(A: sp.csr_array) -> np.ndarray:
    n = A.shape[0]
    rows = np.repeat(np.arange(n), np.diff(A.indptr))
    on_diag = np.flatnonzero(A.indices == rows)
    diag = np.full(n, -1, dtype=np.int64)
    diag[rows[on_diag]] = on_diag
    return diag


def ilu0_factor(A) -> ILU0Factor:
    """ILU(0) of a square sparse (or dense) matrix: (1)-(2) of the module docstring.

    Raises
    ------
    ValueError
        A diagonal entry missing from the pattern, or a pivot that vanishes
        (the message names ``'ilut'`` and ``'amg'`` as the fixes).

    Examples
    --------
    >>> import numpy as np
    >>> ilu0_factor(np.array([[0.0, 1.0], [1.0, 0.0]]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ILU(0) needs every diagonal entry of A in its sparsity pattern; row 0 has none...
    """
    LU = sp.csr_array(A, dtype=np.float64, copy=True)
    LU.sum_duplicates()  # sorted indices, no duplicates
    diag = _diagonal_positions(LU)
    missing = np.flatnonzero(diag < 0)
    if missing.size:
        raise ValueError(
            f"ILU(0) needs every diagonal entry of A in its sparsity pattern; row "
            f"{int(missing[0])} has none: use preconditioner='ilut' (threshold ILU with "
            "pivoting) or 'amg', or reorder A"
        )
    bad = _ilu0_csr(unsigned_indices(LU.indptr), unsigned_indices(LU.indices), LU.data, diag)
    if bad >= 0:
        raise ValueError(
            f"ILU(0) broke down: the pivot u_ii of row {bad} vanished "
            f"({LU.data[diag[bad]]:.3g}): use preconditioner='ilut' (threshold ILU with "
            "pivoting) or 'amg', or no preconditioner"
        )
    return ILU0Factor(LU, diag)


def ilu0_reference(A: np.ndarray, pattern: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Dense ``(L, U)`` of ILU(0) by the IKJ loop on the pattern (plain numpy; tests).

    ``pattern`` (bool, n x n) defaults to the nonzeros of A; pass a sparse
    matrix's stored pattern when it keeps explicit zeros.
    """
    a = np.array(A, dtype=np.float64)
    pattern = a != 0 if pattern is None else np.asarray(pattern, dtype=bool)
    n = a.shape[0]
    for i in range(1, n):
        for k in range(i):
            if not pattern[i, k]:
                continue
            a[i, k] /= a[k, k]  # (1)
            for j in range(k + 1, n):
                if pattern[i, j] and pattern[k, j]:
                    a[i, j] -= a[i, k] * a[k, j]  # (2)
    return np.tril(a, -1) + np.eye(n), np.triu(a)


def ilu0_solve_reference(L: np.ndarray, U: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``U⁻¹ L⁻¹ r`` by scipy's sparse triangular solves (tests)."""
    y = spla.spsolve_triangular(sp.csr_array(L), r, lower=True)
    return spla.spsolve_triangular(sp.csr_array(U), y, lower=False)

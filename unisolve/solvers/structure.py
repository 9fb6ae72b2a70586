"""What the matrix is: exact symmetry checks, and the default method chosen from them.

``solve(LinearProblem(A, b))`` without ``method`` looks at A once, cheaply:

==========================================  ============================  ===================
structure of A                              method                        cost of the check
==========================================  ============================  ===================
symmetric, every diagonal entry > 0         ``cg``                        O(nnz) (CSR), O(n²)
symmetric, some diagonal entry ≤ 0          ``minres``                    same
nonsymmetric                                ``gmres`` + ``ilu0``          same
nonsymmetric with a zero diagonal entry     ``gmres`` + ``ilut``          same
``spd=True`` on the problem                 ``cg``                        none
unknown (LinearOperator)                    ``gmres``                     none
==========================================  ============================  ===================

The symmetry test is exact: ``A[i, j] == A[j, i]`` bit for bit for every stored
entry (a missing partner counts as 0), by a binary search in row j of the CSR
arrays (:func:`csr_is_symmetric`, numba, O(nnz log d) for rows of length d).
A positive diagonal is necessary, not sufficient, for a symmetric A to be
positive definite; a symmetric matrix with a positive diagonal that is
indefinite is caught by CG's own ``pᵀAp ≤ 0`` breakdown test, reported in
``Result.status``. ``info["chosen_because"]`` says which row of the table applied.

CG and the methods built on it refuse a matrix that is detectably nonsymmetric
(:func:`require_symmetric`), naming ``gmres`` and ``bicgstab``; their option
``assume_symmetric=True`` skips the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from .. import backend
from ..registry import register_chooser

__all__ = [
    "Structure",
    "choose_method",
    "csr_is_symmetric",
    "is_symmetric",
    "matrix_structure",
    "require_symmetric",
]


@njit(cache=True, nogil=True)
def _find(indices: np.ndarray, start: int, stop: int, col: int) -> int:
    """Position of ``col`` in the sorted ``indices[start:stop]``, or −1."""
    lo, hi = start, stop
    while lo < hi:
        mid = (lo + hi) // 2
        c = indices[mid]
        if c < col:
            lo = mid + 1
        elif c > col:
            hi = mid
        else:
            return mid
    return -1


@njit(cache=True, nogil=True)
def _csr_symmetric(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray) -> bool:
    n = indptr.size - 1
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if j == i:
                continue
            pos = _find(indices, indptr[j], indptr[j + 1], i)
            partner = 0.0 if pos < 0 else data[pos]  # A[j, i]; missing entries are 0
            if data[k] != partner:
                return False
    return True


def csr_is_symmetric(A: sp.csr_array | sp.csr_matrix) -> bool:
    """Whether the scipy CSR matrix A equals its transpose exactly (numba, O(nnz log d)).

    Duplicate entries are summed and indices sorted first (in place, as scipy's
    own ``sum_duplicates`` does; the matrix it represents is unchanged).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> csr_is_symmetric(sp.csr_array([[2.0, 1.0], [1.0, 2.0]]))
    True
    >>> csr_is_symmetric(sp.csr_array([[2.0, 1.0], [0.0, 2.0]]))
    False
    """
    if not A.has_canonical_format:
        A.sum_duplicates()
    return bool(_csr_symmetric(A.indptr, A.indices, A.data))


def is_symmetric(A: Any) -> bool | None:
    """Whether ``A == Aᵀ`` exactly; ``None`` when A's entries are not at hand.

    Scipy sparse matrices are checked by :func:`csr_is_symmetric`, dense arrays
    (numpy, CuPy, torch) by comparing with their transpose, cupyx sparse
    matrices on the device; a ``LinearOperator`` gives ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> is_symmetric(np.array([[1.0, 2.0], [2.0, 1.0]])), is_symmetric(np.eye(2)[::-1] * [1, 2])
    (True, False)
    """
    if isinstance(A, spla.LinearOperator):
        return None
    if sp.issparse(A):
        return csr_is_symmetric(A if A.format == "csr" else sp.csr_array(A))
    if backend.is_cupy_sparse(A):
        return bool((A != A.T).nnz == 0)
    if backend.is_torch(A):
        return bool((A == A.T).all())
    if backend.is_cupy(A):
        return bool((A == A.T).all())
    A = np.asarray(A)
    return bool(np.array_equal(A, A.T))


def _diagonal_signs(A: Any) -> tuple[bool, bool]:
    """``(all(diag > 0), all(diag != 0))``."""
    d = A.diagonal()
    return bool((d > 0).all()), bool((d != 0).all())


@dataclass(frozen=True)
class Structure:
    """What :func:`matrix_structure` found: ``symmetric`` (None: unknown), diagonal sign.

    Examples
    --------
    >>> Structure(symmetric=True, positive_diagonal=True).method
    'cg'
    """

    symmetric: bool | None
    positive_diagonal: bool | None
    nonzero_diagonal: bool = True

    @property
    def method(self) -> str:
        """The default method for this structure (the table of the module docstring)."""
        return choose_method(self)[0]


def matrix_structure(problem: Any) -> Structure:
    """Symmetry and diagonal sign of ``problem.A``, computed once per problem object.

    The answer is kept on the problem (attribute ``_structure``), so the solves
    of one problem pay for the check once. ``problem.spd = True`` is trusted.

    Examples
    --------
    >>> import unisolve as us
    >>> matrix_structure(us.problems.poisson2d(4))
    Structure(symmetric=True, positive_diagonal=True, nonzero_diagonal=True)
    """
    cached = getattr(problem, "_structure", None)
    if cached is not None and cached[0] is problem.A:
        return cached[1]
    A = problem.A
    if getattr(problem, "spd", None) is True:
        found = Structure(True, True)
    else:
        sym = is_symmetric(A)
        found = Structure(sym, None) if sym is None else Structure(sym, *_diagonal_signs(A))
    try:
        problem._structure = (A, found)
    except AttributeError:  # a frozen or slotted problem-like object: no cache
        pass
    return found


def choose_method(structure: Structure) -> tuple[str, dict, str]:
    """``(method, options, reason)`` for a matrix of this structure (module table).

    Examples
    --------
    >>> choose_method(Structure(symmetric=False, positive_diagonal=True))[:2]
    ('gmres', {'preconditioner': 'ilu0'})
    >>> print(choose_method(Structure(symmetric=True, positive_diagonal=False))[2])
    A is symmetric with a diagonal entry <= 0 (not positive definite): MINRES
    """
    if structure.symmetric is None:
        return "gmres", {}, (
            "A's entries are not at hand (LinearOperator), so its structure is unknown: "
            "GMRES, which needs only a nonsingular A (pass method='cg' or "
            "LinearProblem(..., spd=True) if A is SPD)"
        )
    if structure.symmetric and structure.positive_diagonal:
        return "cg", {}, "A is symmetric with a positive diagonal: CG"
    if structure.symmetric:
        return "minres", {}, (
            "A is symmetric with a diagonal entry <= 0 (not positive definite): MINRES"
        )
    if structure.positive_diagonal is None or structure.nonzero_diagonal:
        return "gmres", {"preconditioner": "ilu0"}, "A is not symmetric: GMRES with ILU(0)"
    return "gmres", {"preconditioner": "ilut"}, (
        "A is not symmetric and has a zero on its diagonal (ILU(0) would divide by it): "
        "GMRES with ILUT (threshold ILU with pivoting)"
    )


def require_symmetric(problem: Any, method: str, assume_symmetric: bool = False) -> None:
    """Raise ``ValueError`` if ``problem.A`` is detectably nonsymmetric (CG needs A = Aᵀ).

    ``assume_symmetric=True`` skips the check (e.g. for a huge matrix known to be
    symmetric); a LinearOperator cannot be checked and passes.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.LinearProblem(np.array([[2.0, 1.0], [0.0, 2.0]]), np.ones(2))
    >>> require_symmetric(p, "cg")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: method 'cg' needs a symmetric matrix, but A != Aᵀ: use method='gmres' ...
    """
    if not isinstance(assume_symmetric, (bool, np.bool_)):
        raise TypeError(f"assume_symmetric must be True or False, got {assume_symmetric!r}")
    if assume_symmetric:
        return
    if matrix_structure(problem).symmetric is False:
        raise ValueError(
            f"method {method!r} needs a symmetric matrix, but A != Aᵀ: use method='gmres' "
            "(optionally preconditioner='ilu0') or method='bicgstab' for a nonsymmetric "
            "system, or pass assume_symmetric=True if the asymmetry is only rounding and "
            "you accept that CG may then fail"
        )


def _choose_for(problem: Any) -> tuple[str, dict, str]:
    return choose_method(matrix_structure(problem))


register_chooser("linear", _choose_for)

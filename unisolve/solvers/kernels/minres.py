"""Fused vector kernels for MINRES on the CPU (numba, one thread).

One MINRES iteration (Paige & Saunders 1975, see :mod:`unisolve.solvers.minres`)
in four passes over the vectors, with ``v = y / β_k`` never stored:

    q = A y                                      one pass over A   bicgstab.csr_matvec
    yᵀq,  yᵀr₁                                   one (cached) pass bicgstab.dot2
    r₂' = q/β_k − (β_k/β_{k−1}) r₁ − (α_k/β_k) r₂,  ‖r₂'‖²            lanczos_update
    w ← (v − ε_k w₋₂ − δ_k w₋₁) / γ_k,  x ← x + φ_k w                 solution_update
      (preconditioned: also r ← s_k² r − c r₂',  ‖r‖²)              solution_residual_update

The Lanczos coefficient is ``α_k = vᵀ(A v − (β_k/β_{k−1}) r₁) =
(yᵀq)/β_k² − (β_k/β_{k−1}) (yᵀr₁)/β_k``. The product and the true residual
use the CSR kernels of :mod:`unisolve.solvers.kernels.bicgstab`.

The plain-numpy references (``*_reference``) are for tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .cg_fused import dot

__all__ = [
    "lanczos_update",
    "lanczos_update_reference",
    "solution_residual_update",
    "solution_residual_update_reference",
    "solution_update",
    "solution_update_reference",
]

_ONE = np.uint64(1)  # unsigned row and entry counters: no negative-index test


@njit(cache=True, nogil=True)
def lanczos_update(q, scale, c1, r1, c2, r2, out):
    """``out ← scale · q − c₁ r₁ − c₂ r₂`` (out may be r₁ or q); returns ``‖out‖²``.

    With ``q = A y`` and ``scale = 1/β_k`` the first term is ``A v``. The terms
    are subtracted in this order, as in Paige & Saunders' code: the loop has
    no ``fastmath``, because letting LLVM reassociate the three-term expression
    (as ``reassoc`` for a vectorised ‖out‖² in the same loop would) cost
    MINRES 2-3% more iterations on shifted 2D Laplacians (Lanczos' loss of
    orthogonality is sensitive to it). ‖out‖² is a second, vectorised sweep
    over the freshly written (cached) vector.

    Examples
    --------
    >>> import numpy as np
    >>> out = np.empty(2)
    >>> lanczos_update(np.array([6.0, 6.0]), 0.5, 1.0, np.array([1.0, 0.0]), 2.0,
    ...                np.array([1.0, 1.0]), out), out
    (1.0, array([0., 1.]))
    """
    for i in range(out.shape[0]):
        out[i] = scale * q[i] - c1 * r1[i] - c2 * r2[i]  # β_{k+1} z_{k+1}
    return dot(out, out)


@njit(cache=True, nogil=True)
def solution_update(y, scale, eps, delta, ginv, w2, w1, phi, x):
    """``w₂ ← (scale·y − ε w₂ − δ w₁) · γ⁻¹`` (the new w, in w₂'s array), ``x ← x + φ w``.

    Here ``w₂`` holds w_{k−2} on entry, ``w₁`` holds w_{k−1}.

    Examples
    --------
    >>> import numpy as np
    >>> w2, w1, x = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2)
    >>> solution_update(np.array([4.0, 4.0]), 0.5, 1.0, 1.0, 0.5, w2, w1, 2.0, x); w2, x
    (array([0.5, 0.5]), array([1., 1.]))
    """
    for i in range(x.shape[0]):
        wi = (scale * y[i] - eps * w2[i] - delta * w1[i]) * ginv  # w_k = (v_k − ε w − δ w)/γ
        w2[i] = wi
        x[i] += phi * wi  # x_k = x_{k−1} + φ_k w_k


@njit(cache=True, nogil=True)
def solution_residual_update(y, scale, eps, delta, ginv, w2, w1, phi, x, sq, coef, r2, r):
    """:func:`solution_update` and ``r ← sq · r − coef · r₂`` in the same pass; returns ``‖r‖²``.

    With ``sq = s_k²`` and ``coef = φ̄_k c_k / β_{k+1}`` this is the recursion of
    the unpreconditioned residual of preconditioned MINRES. (No ``fastmath`` in
    the loop, as in :func:`lanczos_update`; ‖r‖² is a vectorised second sweep.)

    Examples
    --------
    >>> import numpy as np
    >>> w2, w1, x, r = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros(2), np.ones(2)
    >>> solution_residual_update(np.array([4.0, 4.0]), 0.5, 1.0, 1.0, 0.5, w2, w1, 2.0, x,
    ...                          0.5, 1.0, np.array([0.5, 0.0]), r), r
    (0.25, array([0. , 0.5]))
    """
    for i in range(x.shape[0]):
        wi = (scale * y[i] - eps * w2[i] - delta * w1[i]) * ginv  # w_k
        w2[i] = wi
        x[i] += phi * wi  # x_k = x_{k−1} + φ_k w_k
        r[i] = sq * r[i] - coef * r2[i]  # r_k = s_k² r_{k−1} − (φ̄_k c_k / β_{k+1}) r₂
    return dot(r, r)


# ---------------------------------------------------------------- references


def lanczos_update_reference(q, scale: float, c1: float, r1, c2: float,
                             r2) -> tuple[np.ndarray, float]:
    """Plain numpy: ``(scale · q − c₁ r₁ − c₂ r₂, its squared norm)``.

    Examples
    --------
    >>> import numpy as np
    >>> lanczos_update_reference(np.array([6.0, 6.0]), 0.5, 1.0, np.array([1.0, 0.0]), 2.0,
    ...                          np.array([1.0, 1.0]))
    (array([0., 1.]), 1.0)
    """
    out = scale * q - c1 * r1 - c2 * r2
    return out, float(out @ out)


def solution_update_reference(y, scale: float, eps: float, delta: float, ginv: float, w2,
                              w1, phi: float, x) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy: ``(w, x + φ w)`` with ``w = (scale·y − ε w₂ − δ w₁) γ⁻¹``.

    Examples
    --------
    >>> import numpy as np
    >>> solution_update_reference(np.array([4.0, 4.0]), 0.5, 1.0, 1.0, 0.5,
    ...                           np.array([1.0, 0.0]), np.array([0.0, 1.0]), 2.0, np.zeros(2))
    (array([0.5, 0.5]), array([1., 1.]))
    """
    w = (scale * y - eps * w2 - delta * w1) * ginv
    return w, x + phi * w


def solution_residual_update_reference(y, scale: float, eps: float, delta: float,
                                       ginv: float, w2, w1, phi: float, x, sq: float,
                                       coef: float, r2, r) -> tuple:
    """Plain numpy: ``(w, x + φ w, sq·r − coef·r₂, its squared norm)``.

    Examples
    --------
    >>> import numpy as np
    >>> out = solution_residual_update_reference(
    ...     np.array([4.0, 4.0]), 0.5, 1.0, 1.0, 0.5, np.array([1.0, 0.0]),
    ...     np.array([0.0, 1.0]), 2.0, np.zeros(2), 0.5, 1.0, np.array([0.5, 0.0]), np.ones(2))
    >>> out[2], out[3]
    (array([0. , 0.5]), 0.25)
    """
    w, x_new = solution_update_reference(y, scale, eps, delta, ginv, w2, w1, phi, x)
    r_new = sq * r - coef * r2
    return w, x_new, r_new, float(r_new @ r_new)

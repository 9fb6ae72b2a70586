"""Overflow- and underflow-safe Euclidean norms, for every stopping test.

``sqrt(xᵀx)`` is wrong long before ‖x‖ itself leaves the floating-point
range: in float64 ``xᵀx`` overflows to inf once ‖x‖ > 1.3e154 and underflows
to 0 once ‖x‖ < 1.5e-154 (or loses all its digits among the subnormals a
little above). A stopping test ``‖b − A x‖ ≤ rtol‖b‖`` formed with such a norm
claims convergence at x = 0 when ‖b‖ = 2e-170 (both sides 0), or after no
iteration when ‖b‖ = 1e155 (the right side inf). This module computes
‖x‖₂ the way BLAS ``nrm2`` does, without intermediate over- or underflow:

* :func:`nrm2` — numba, one pass, Blue's three accumulators (J. L. Blue, "A
  portable Fortran program to find the Euclidean norm of a vector", ACM TOMS
  4 (1978); constants as in E. Anderson, "Algorithm 978: Safe scaling in the
  Level 1 BLAS", ACM TOMS 44 (2017)). Entries are read as float64 and
  sorted by size into three sums: ``|v| > T_big`` squared after scaling by
  ``S_big`` (down), ``|v| < T_sml`` squared after scaling by ``S_sml`` (up),
  the rest squared as they are. No sum can overflow or underflow, so the
  result is correct to a few ulps over the whole float64 range; in the
  normal range the cost is two comparisons per entry. The same accumulator
  is exposed as :func:`blue_add` / :func:`blue_finish` for kernels that form
  a residual entry by entry (:func:`csr_residual_norm`, the SOR kernels).
* :func:`nrm2_reference` — plain numpy, two passes (``s = max|x|``, then
  ``s·sqrt(Σ (x_i/s)²)``); the test oracle, and the path for dtypes numba
  does not take (longdouble, float16, non-contiguous views).
* :func:`safe_norm` — any supported array: numpy via :func:`nrm2`, CuPy and
  torch via the same two-pass scaling in their own namespace (on the device).
* :func:`csr_residual_norm` — ``‖b − A x‖₂`` for CSR A with every product
  and sum in float64 (mixed precision: float32 data are read, never copied):
  the certified stopping test for float32 input.

Special values follow ``numpy.linalg.norm``: any NaN gives NaN, else any
±inf gives inf, an empty vector gives 0.

Examples
--------
>>> import numpy as np
>>> from unisolve.norms import safe_norm
>>> float(np.sqrt(np.dot(np.full(4, 1e-170), np.full(4, 1e-170))))  # the unscaled way
0.0
>>> safe_norm(np.full(4, 1e-170)), safe_norm(np.full(4, 3e200))
(2e-170, 6e+200)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

__all__ = [
    "blue_add",
    "blue_finish",
    "csr_residual_norm",
    "csr_residual_norm_reference",
    "nrm2",
    "nrm2_reference",
    "safe_norm",
]

# Blue's constants for float64 (radix 2, 53 digits, exponents 2^-1022 .. 2^1023),
# from Anderson (2017), section 3: squares of values in [T_SML, T_BIG] neither
# underflow nor overflow; values outside are scaled by S_SML / S_BIG first.
_T_SML = 2.0 ** -511  # 2^ceil((e_min − 1)/2),  e_min = −1021
_T_BIG = 2.0 ** 486  # 2^floor((e_max − t + 1)/2),  e_max = 1024, t = 53
_S_SML = 2.0 ** 537  # 2^−floor((e_min − t)/2)
_S_BIG = 2.0 ** -538  # 2^−ceil((e_max + t − 1)/2)


@njit(cache=True, nogil=True, inline="always")
def blue_add(v, small, mid, big):
    """Fold one entry ``v`` into Blue's accumulators ``(small, mid, big)``; returns them.

    ``big`` sums ``(|v|·S_big)²`` for ``|v| > T_big``, ``small`` sums
    ``(|v|·S_sml)²`` for ``|v| < T_sml``, ``mid`` sums ``v²`` otherwise (NaN
    lands in ``mid``). Start from ``(0.0, 0.0, 0.0)``; :func:`blue_finish`
    turns the three sums into the norm.

    Examples
    --------
    >>> blue_finish(*blue_add(1e-300, *blue_add(3.0, 0.0, 0.0, 0.0)))
    3.0
    """
    a = abs(np.float64(v))  # float32 entries are squared in float64
    if a > _T_BIG:
        s = a * _S_BIG
        big += s * s
    elif a < _T_SML:
        s = a * _S_SML
        small += s * s
    else:
        mid += a * a
    return small, mid, big


@njit(cache=True, nogil=True, inline="always")
def blue_finish(small, mid, big):
    """The Euclidean norm from Blue's three sums (see :func:`blue_add`).

    Examples
    --------
    >>> blue_finish(0.0, 25.0, 0.0)
    5.0
    """
    if mid != mid:  # a NaN entry
        return mid
    if big > 0.0:
        # the small sum is below big's rounding; mid joins big after scaling
        if big != big or big == np.inf:
            return big  # inf entry (NaN handled above)
        big += (mid * _S_BIG) * _S_BIG
        return math.sqrt(big) / _S_BIG
    if small > 0.0:
        if mid > 0.0:  # both: combine as ymax·sqrt(1 + (ymin/ymax)²)
            ymid = math.sqrt(mid)
            ysml = math.sqrt(small) / _S_SML
            ymax, ymin = (ymid, ysml) if ymid >= ysml else (ysml, ymid)
            q = ymin / ymax
            return ymax * math.sqrt(1.0 + q * q)
        return math.sqrt(small) / _S_SML
    return math.sqrt(mid)


# Fast path: a plain Σ x_i² that lands in [FAST_LO, FAST_HI] is the norm's square to
# rounding. No partial sum overflowed (all are ≤ the total < 2^1000), and the squares that
# underflowed lost less than 2^-1074 each, n·2^-1074 ≪ eps·2^-960. Outside (and for NaN,
# which fails both comparisons) the careful Blue pass decides.
_FAST_LO = 2.0 ** -960
_FAST_HI = 2.0 ** 1000


@njit(cache=True, nogil=True)
def _nrm2_blue(x):
    small = 0.0
    mid = 0.0
    big = 0.0
    for i in range(x.shape[0]):
        small, mid, big = blue_add(np.float64(x[i]), small, mid, big)
    return blue_finish(small, mid, big)


@njit(cache=True, nogil=True)
def nrm2(x):
    """‖x‖₂ of a 1-D float array without over- or underflow (float64 sums).

    One plain pass of Σ x_i² (four partial sums, so the loop is not bound by
    one addition's latency); when that sum lies in [2^-960, 2^1000] it is the
    answer to rounding, otherwise a second pass with Blue's three scaled
    accumulators (:func:`blue_add`) gives the norm of any finite vector.

    Examples
    --------
    >>> import numpy as np
    >>> nrm2(np.array([3e-200, 4e-200])), nrm2(np.array([3.0, 4.0]) * 2.0**700) == 5 * 2.0**700
    (5e-200, True)
    """
    n = x.shape[0]
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        a0 = np.float64(x[i])
        a1 = np.float64(x[i + 1])
        a2 = np.float64(x[i + 2])
        a3 = np.float64(x[i + 3])
        s0 += a0 * a0
        s1 += a1 * a1
        s2 += a2 * a2
        s3 += a3 * a3
    for i in range(m, n):
        a0 = np.float64(x[i])
        s0 += a0 * a0
    s = (s0 + s1) + (s2 + s3)
    if _FAST_LO <= s <= _FAST_HI:
        return math.sqrt(s)
    return _nrm2_blue(x)


def nrm2_reference(x: Any) -> float:
    """Plain numpy, two passes: ``s = max|x_i|``, ``‖x‖ = s·sqrt(Σ (x_i/s)²)``.

    Computed in float64 (longdouble stays longdouble); NaN if any entry is NaN,
    inf if any is ±inf, 0 for an empty or zero vector.

    Examples
    --------
    >>> import numpy as np
    >>> nrm2_reference(np.array([3e-200, 4e-200])), nrm2_reference(np.array([]))
    (5e-200, 0.0)
    """
    a = np.abs(np.asarray(x).ravel())
    if a.dtype != np.longdouble:
        a = a.astype(np.float64)
    if a.size == 0:
        return 0.0
    s = a.max()  # NaN propagates: then the result is NaN
    if not np.isfinite(s) or s == 0:
        return float(s)
    return float(s * np.sqrt(np.sum((a / s) ** 2)))  # s·sqrt(Σ (x_i/s)²)


def safe_norm(x: Any) -> float:
    """‖x‖₂ as a Python float for any supported array, without over- or underflow.

    numpy float32/float64 vectors use :func:`nrm2` (numba: one plain pass, a
    scaled second pass only when the sum of squares leaves the safe range); other
    numpy dtypes :func:`nrm2_reference`; CuPy arrays and torch tensors a
    two-pass scaled sum on their own device.

    Examples
    --------
    >>> import numpy as np
    >>> safe_norm(np.full(4, 1e-170)), safe_norm(np.array([np.inf, 1.0]))
    (2e-170, inf)
    """
    root = type(x).__module__.split(".", 1)[0]
    if root in ("cupy", "torch"):
        return _array_api_norm(x)
    a = np.asarray(x)
    if a.dtype in (np.float64, np.float32) and a.ndim == 1 and a.flags.c_contiguous:
        return float(nrm2(a))
    if a.dtype.kind in "biu":
        a = a.astype(np.float64)
    return nrm2_reference(a)


def _array_api_norm(x: Any) -> float:
    """Two-pass scaled norm in x's own namespace (CuPy, torch): max|x|, then Σ (x/2^e)²."""
    import array_api_compat

    xp = array_api_compat.array_namespace(x)
    flat = xp.reshape(x, (-1,))
    if flat.shape[0] == 0:
        return 0.0
    s = float(xp.max(xp.abs(flat)))
    if not math.isfinite(s) or s == 0.0:
        return s
    e = math.frexp(s)[1]  # s = m·2^e, m in [0.5, 1): dividing by 2^e is exact
    y = flat * (2.0 ** -e)
    return math.ldexp(math.sqrt(float(xp.sum(y * y))), e)  # 2^e·sqrt(Σ (x_i/2^e)²)


@njit(cache=True, nogil=True)
def csr_residual_norm(indptr, indices, data, x, b):
    """``‖b − A x‖₂`` for CSR A, every product and sum in float64, safely scaled.

    Entries of float32 ``data``, ``x``, ``b`` are widened one at a time (no
    copy of A); the norm is accumulated by :func:`blue_add`.

    Examples
    --------
    >>> import numpy as np                     # A = [[2, -1], [-1, 2]], x = (1, 1), b = (2, 2)
    >>> csr_residual_norm(np.array([0, 2, 4]), np.array([0, 1, 0, 1]),
    ...                   np.array([2.0, -1.0, -1.0, 2.0], dtype=np.float32),
    ...                   np.ones(2, dtype=np.float32), np.full(2, 2.0, dtype=np.float32))
    1.4142135623730951
    """
    small = 0.0
    mid = 0.0
    big = 0.0
    for i in range(b.shape[0]):
        r = np.float64(b[i])
        for jj in range(indptr[i], indptr[i + 1]):
            r -= np.float64(data[jj]) * np.float64(x[indices[jj]])  # r_i = b_i − Σ_j a_ij x_j
        small, mid, big = blue_add(r, small, mid, big)
    return blue_finish(small, mid, big)


def csr_residual_norm_reference(A: Any, x: Any, b: Any) -> float:
    """Plain numpy/scipy: ``nrm2_reference(b − A x)`` with A, x, b widened to float64.

    Examples
    --------
    >>> import numpy as np
    >>> csr_residual_norm_reference(np.array([[2.0, -1.0], [-1.0, 2.0]]), np.ones(2),
    ...                             np.full(2, 2.0))
    1.4142135623730951
    """
    A64 = A.astype(np.float64)
    return nrm2_reference(np.asarray(b, dtype=np.float64) - A64 @ np.asarray(x, np.float64))

"""Randomized iterative sketching steps for a dense symmetric system K z = b (numba).

Both keep the residual r = K z − b up to date and stop as soon as ‖r‖ ≤ tol:

* Kaczmarz (row sketch): row i drawn with probability ‖K_i‖² / ‖K‖_F² (by inverse
  CDF of a given uniform u), then

      z ← z − (r_i / ‖K_i‖²) K_iᵀ,     r ← r − (r_i / ‖K_i‖²) K K_iᵀ;              (1)

  with KK = K K precomputed (K symmetric, so K K_iᵀ is row i of KK) a step is O(N).
* Gaussian vector sketch: for a given S ~ N(0, I),

      z ← z − (Sᵀr / ‖KᵀS‖²) KᵀS,     r ← r − (Sᵀr / ‖KᵀS‖²) K KᵀS.              (2)

The random numbers come in as arrays, so the numba kernels and the numpy
references (:func:`kaczmarz_reference`, :func:`gaussian_reference`) walk the
same path and can be compared exactly. Each returns the number of steps taken
(fewer than the random draws when the tolerance is met first).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["gaussian", "gaussian_reference", "kaczmarz", "kaczmarz_reference"]


@numba.njit(cache=True)
def _norm(v: np.ndarray) -> float:
    s = 0.0
    for k in range(v.size):
        s += v[k] * v[k]
    return np.sqrt(s)


@numba.njit(cache=True)
def kaczmarz(K, KK, row_sq, cdf, u, z, r, tol):  # pragma: no cover - numba
    """Kaczmarz steps (1) in place on z, r; one uniform per step. Returns the steps."""
    N = z.size
    for s in range(u.size):
        if _norm(r) <= tol:
            return s
        i = np.searchsorted(cdf, u[s] * cdf[N - 1])
        if i >= N:
            i = N - 1
        if row_sq[i] == 0.0:
            continue
        scale = r[i] / row_sq[i]
        for k in range(N):
            z[k] -= scale * K[i, k]
            r[k] -= scale * KK[i, k]
    return u.size


@numba.njit(cache=True)
def gaussian(K, S, z, r, tol):  # pragma: no cover - numba
    """Gaussian sketch steps (2) in place on z, r; row s of S is the s-th sketch."""
    N = z.size
    KS = np.empty(N)
    KKS = np.empty(N)
    for s in range(S.shape[0]):
        if _norm(r) <= tol:
            return s
        for a in range(N):  # KᵀS = K S (K symmetric)
            acc = 0.0
            for c in range(N):
                acc += K[a, c] * S[s, c]
            KS[a] = acc
        denom = 0.0
        sr = 0.0
        for a in range(N):
            denom += KS[a] * KS[a]
            sr += S[s, a] * r[a]
        if denom == 0.0:
            continue
        for a in range(N):
            acc = 0.0
            for c in range(N):
                acc += K[a, c] * KS[c]
            KKS[a] = acc
        step = sr / denom
        for a in range(N):
            z[a] -= step * KS[a]
            r[a] -= step * KKS[a]
    return S.shape[0]


def kaczmarz_reference(K, KK, row_sq, cdf, u, z, r, tol) -> int:
    """Plain-numpy (1), the same draws as :func:`kaczmarz`.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[2.0, 1.0], [1.0, 3.0]]); b = np.array([1.0, 2.0])
    >>> z, r = np.zeros(2), -b.copy()
    >>> row_sq = (K * K).sum(1); cdf = np.cumsum(row_sq)
    >>> u = np.random.default_rng(0).random(500)
    >>> steps = kaczmarz_reference(K, K @ K, row_sq, cdf, u, z, r, 1e-10)
    >>> steps < 500, bool(np.allclose(K @ z, b))
    (True, True)
    """
    N = z.size
    for s in range(u.size):
        if np.linalg.norm(r) <= tol:
            return s
        i = min(int(np.searchsorted(cdf, u[s] * cdf[-1])), N - 1)
        if row_sq[i] == 0.0:
            continue
        scale = r[i] / row_sq[i]
        z -= scale * K[i]
        r -= scale * KK[i]
    return u.size


def gaussian_reference(K, S, z, r, tol) -> int:
    """Plain-numpy (2), the same sketches as :func:`gaussian`.

    Examples
    --------
    >>> import numpy as np
    >>> K = np.array([[2.0, 1.0], [1.0, -3.0]]); b = np.array([1.0, 2.0])
    >>> z, r = np.zeros(2), -b.copy()
    >>> S = np.random.default_rng(0).standard_normal((2000, 2))
    >>> steps = gaussian_reference(K, S, z, r, 1e-10)
    >>> steps < 2000, bool(np.allclose(K @ z, b))
    (True, True)
    """
    for s in range(S.shape[0]):
        if np.linalg.norm(r) <= tol:
            return s
        KS = K.T @ S[s]
        denom = KS @ KS
        if denom == 0.0:
            continue
        step = (S[s] @ r) / denom
        z -= step * KS
        r -= step * (K @ KS)
    return S.shape[0]

"""Randomized iterative sketching steps for a dense symmetric system K z = b (numba).

Both keep the residual r = K z − b up to date and stop as soon as ‖r‖ ≤ tol:

* Kaczmarz (row sketch): row i drawn with probability ‖K_i‖² / ‖K‖_F² (by inverse
  CDF of a given uniform u), then

      z ← z − (r_i / ‖K_i‖²) K_iᵀ,     r ← r − (r_i / ‖K_i‖²) K K_iᵀ;              (1)

  with KK = K K precomputed (K symmetric, so K K_iᵀ is row i of KK) a step is O(N).
* Gaussian vector sketch: for a given S ~ N(0, I),

      z ← z − (Sᵀr / ‖KᵀS‖²) KᵀS,     r ← r − (Sᵀr / ‖KᵀS‖²) K KᵀS.              (2)

* Kaczmarz on a sparse symmetric K (CSR arrays): the same step (1) with
  K K_iᵀ = Σ_j K_ij K_jᵀ gathered from the rows j of row i, so a step costs
  O(Σ_{j ∈ row i} nnz_j) instead of O(N); ‖r‖² is updated entry by entry and
  recomputed exactly every ``REFRESH`` steps and before any stop.

The random numbers come in as arrays, so the numba kernels and the numpy
references (:func:`kaczmarz_reference`, :func:`gaussian_reference`) walk the
same path and can be compared exactly. Each returns the number of steps taken
(fewer than the random draws when the tolerance is met first).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["gaussian", "gaussian_reference", "kaczmarz", "kaczmarz_csr", "kaczmarz_csr_reference",
           "kaczmarz_reference"]

#: steps between exact recomputations of ‖r‖² in the CSR Kaczmarz kernel
REFRESH = 1024


@numba.njit(cache=True)
def _norm(v: np.ndarray) -> float:
    s = 0.0
    for k in range(v.size):
        s += v[k] * v[k]
    return np.sqrt(s)


@numba.njit(cache=True)
def _draw(cdf: np.ndarray, u: float) -> int:
    """Row i with probability ‖K_i‖² / ‖K‖²_F, by inverse CDF of the uniform u."""
    N = cdf.size
    return min(np.searchsorted(cdf, u * cdf[N - 1]), N - 1)


@numba.njit(cache=True)
def kaczmarz(K, KK, row_sq, cdf, u, z, r, tol):  # pragma: no cover - numba
    """Kaczmarz steps (1) in place on z, r; one uniform per step. Returns the steps."""
    N = z.size
    for s in range(u.size):
        if _norm(r) <= tol:
            return s
        i = _draw(cdf, u[s])
        if row_sq[i] == 0.0:
            continue
        scale = r[i] / row_sq[i]
        for k in range(N):
            z[k] -= scale * K[i, k]
            r[k] -= scale * KK[i, k]
    return u.size


@numba.njit(cache=True)
def _sq(v: np.ndarray) -> float:
    s = 0.0
    for k in range(v.size):
        s += v[k] * v[k]
    return s


@numba.njit(cache=True)
def kaczmarz_csr(indptr, indices, data, row_sq, cdf, u, z, r, tol, flops):  # pragma: no cover
    """Kaczmarz steps (1) on a symmetric CSR matrix, in place on z, r.

    ``flops[0]`` accumulates the floating-point operations. Returns the steps taken.
    """
    N = z.size
    tol2 = tol * tol
    rsq = _sq(r)
    flops[0] += 2.0 * N
    for s in range(u.size):
        if s % REFRESH == 0 or rsq <= tol2:  # exact ‖r‖² now and then, and before a stop
            rsq = _sq(r)
            flops[0] += 2.0 * N
            if rsq <= tol2:
                return s
        i = _draw(cdf, u[s])
        if row_sq[i] == 0.0:
            continue
        scale = r[i] / row_sq[i]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            z[j] -= scale * data[p]
            c = scale * data[p]  # r ← r − scale K_ij K_jᵀ
            for q in range(indptr[j], indptr[j + 1]):
                k = indices[q]
                old = r[k]
                new = old - c * data[q]
                r[k] = new
                rsq += new * new - old * old
            flops[0] += 4.0 + 7.0 * (indptr[j + 1] - indptr[j])
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


def kaczmarz_csr_reference(indptr, indices, data, row_sq, cdf, u, z, r, tol, flops) -> int:
    """Plain-numpy twin of :func:`kaczmarz_csr` (same draws, same stopping points).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> K = sp.csr_array(np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, -2.0]]))
    >>> b = np.array([1.0, 2.0, 3.0]); z, r = np.zeros(3), -b.copy()
    >>> row_sq = np.asarray(K.multiply(K).sum(axis=1)).ravel(); cdf = np.cumsum(row_sq)
    >>> u = np.random.default_rng(0).random(3000); flops = np.zeros(1)
    >>> steps = kaczmarz_csr_reference(K.indptr, K.indices, K.data, row_sq, cdf, u, z, r,
    ...                                1e-10, flops)
    >>> steps < 3000, bool(np.allclose(K @ z, b))
    (True, True)
    """
    N = z.size
    tol2 = tol * tol
    rsq = float(r @ r)
    flops[0] += 2.0 * N
    for s in range(u.size):
        if s % REFRESH == 0 or rsq <= tol2:
            rsq = float(r @ r)
            flops[0] += 2.0 * N
            if rsq <= tol2:
                return s
        i = min(int(np.searchsorted(cdf, u[s] * cdf[-1])), N - 1)
        if row_sq[i] == 0.0:
            continue
        scale = r[i] / row_sq[i]
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            z[j] -= scale * data[p]
            lo, hi = indptr[j], indptr[j + 1]
            cols = indices[lo:hi]
            old = r[cols].copy()
            # entry by entry, as the kernel does (a column index appears once per row)
            new = old - (scale * data[p]) * data[lo:hi]
            r[cols] = new
            rsq += float(np.sum(new * new - old * old))
            flops[0] += 4.0 + 7.0 * (hi - lo)
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

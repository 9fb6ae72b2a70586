"""Inner loops of the stochastic Halpern / extragradient methods on an affine finite sum.

The operator is F(z) = Mz + q = (1/n) Σᵢ Fᵢ(z), Fᵢ(z) = n M[:, Iᵢ] z[Iᵢ] + q, with the
coordinates Iᵢ of component i in row i of ``cols`` (padded with −1), and
``MT`` = Mᵀ (C order) so that M[:, Iᵢ] d[Iᵢ] = Σ_{j∈Iᵢ} d_j MT[j] touches |Iᵢ| rows.
The set C is a list of segments of z (``seg_start``, ``seg_stop``, ``seg_type``:
0 free, 1 simplex of ``seg_radius``, 2 box [``lo``, ``hi``]).

Three loops, each consuming pre-drawn random numbers from a buffer at ``pos`` and
returning where it stopped, so that the numba kernel and its numpy reference
(``*_reference``) walk the same path:

* :func:`page_chunk`   Algorithm 1 of Cai–Alacaoglu–Diakonikolas: Halpern steps with
  the PAGE estimator (one uniform for the full/partial toss, b uniforms that Floyd's
  algorithm turns into a batch without replacement);
* :func:`vreg_chunk`   the loopless variance-reduced extragradient (one index, one toss);
* :func:`vrfrb`        the variance-reduced forward-reflected-backward inner loop of
  Algorithm 2 on B(v) = cF(v) + v − z.

The chunk loops stop early when the call count reaches ``stop_calls`` (the next
residual checkpoint).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["floyd", "page_chunk", "page_chunk_reference", "project", "project_reference",
           "vreg_chunk", "vreg_chunk_reference", "vrfrb", "vrfrb_reference"]

_EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------- numba
@numba.njit(cache=True)
def _simplex(v, radius, out):  # pragma: no cover - numba
    """out = Π_{Δ_radius}(v) by Michelot's algorithm; a feasible v (to n·eps·r) is copied."""
    n = v.size
    s = 0.0
    lo = np.inf
    for j in range(n):
        s += v[j]
        lo = min(lo, v[j])
    if lo >= 0.0 and abs(s - radius) <= n * _EPS * radius:
        out[:] = v
        return
    # Michelot's active-set iteration: τ ← (Σ_{vⱼ>τ} vⱼ − r)/#{vⱼ > τ}, from τ = (Σv − r)/n,
    # increases monotonically to the τ of the sort-based formula in a few O(n) passes.
    tau = (s - radius) / n
    count = n
    while True:
        s = 0.0
        m = 0
        for j in range(n):
            if v[j] > tau:
                s += v[j]
                m += 1
        new = (s - radius) / m
        if m == count or new <= tau:
            tau = max(tau, new) if m == count else tau
            break
        tau, count = new, m
    for j in range(n):
        out[j] = max(v[j] - tau, 0.0)


@numba.njit(cache=True)
def project(z, seg, out):  # pragma: no cover - numba
    """out = Π_C(z) segment by segment; seg = (start, stop, type, radius, lo, hi)."""
    start, stop, kind, radius, lo, hi = seg
    for s in range(start.size):
        a, b = start[s], stop[s]
        if kind[s] == 1:
            _simplex(z[a:b], radius[s], out[a:b])
        elif kind[s] == 2:
            for j in range(a, b):
                out[j] = min(max(z[j], lo[j]), hi[j])
        else:
            out[a:b] = z[a:b]


@numba.njit(cache=True)
def floyd(u, n, out):  # pragma: no cover - numba
    """b = u.size distinct indices of range(n) by Floyd's algorithm from b uniforms."""
    m = 0
    for j in range(n - u.size, n):
        t = min(int(u[m] * (j + 1)), j)
        for r in range(m):
            if out[r] == t:
                t = j
                break
        out[m] = t
        m += 1


@numba.njit(cache=True)
def _diff(MT, cols, batch, z, w, scale, out):  # pragma: no cover - numba
    """out = scale Σ_{i∈batch} M[:, Iᵢ](z − w)[Iᵢ]."""
    out[:] = 0.0
    for i in batch:
        for j in cols[i]:
            if j < 0:
                break
            d = scale * (z[j] - w[j])
            if d != 0.0:
                row = MT[j]
                for t in range(out.size):
                    out[t] += d * row[t]


@numba.njit(cache=True)
def page_chunk(M, MT, q, cols, seg, z0, z, z_prev, g, k, calls, stop_calls, eta, toss, bu,
               pos):  # pragma: no cover - numba
    """Algorithm 1 steps until ``stop_calls`` calls or the end of the draws.

    z_{k+1} = Π(λ_k z₀ + (1 − λ_k) z_k − η g_k), λ_k = 2/(k + 4); g, z, z_prev in place.
    Returns (k, calls, pos).
    """
    n = cols.shape[0]
    b = bu.shape[1]
    sqrt_n = np.sqrt(n)
    batch = np.empty(b, dtype=np.int64)
    tmp = np.empty_like(z)
    while pos < toss.size and calls < stop_calls:
        lam = 2.0 / (k + 4)
        if k <= 1:
            p = 1.0
        elif k - 1 <= sqrt_n:
            p = 4.0 / (k + 4)
        else:
            p = 4.0 / (sqrt_n + 5)
        if toss[pos] < p:  # g_k = F(z_k)
            g[:] = M @ z + q
            calls += n
        else:  # g_k = g_{k−1} + (1/b) Σ_B [Fᵢ(z_k) − Fᵢ(z_{k−1})]
            floyd(bu[pos], n, batch)
            _diff(MT, cols, batch, z, z_prev, n / b, tmp)
            for t in range(z.size):
                g[t] += tmp[t]
            calls += 2 * b
        for t in range(z.size):
            z_prev[t] = z[t]
            tmp[t] = lam * z0[t] + (1.0 - lam) * z[t] - eta * g[t]
        project(tmp, seg, z)
        k += 1
        pos += 1
    return k, calls, pos


@numba.njit(cache=True)
def vreg_chunk(M, MT, q, cols, seg, z, w, Fw, k, calls, stop_calls, gamma, idx, toss,
               pos):  # pragma: no cover - numba
    """Loopless VR-EG steps (p = 1/n) until ``stop_calls`` or the end of the draws.

    z̄ = αz + (1 − α)w, z_h = Π(z̄ − γF(w)), z ← Π(z̄ − γ[F(w) + Fᵢ(z_h) − Fᵢ(w)]),
    w ← z (and F(w) recomputed) with probability p. Returns (k, calls, pos).
    """
    n = cols.shape[0]
    p = 1.0 / n
    alpha = 1.0 - p
    one = np.empty(1, dtype=np.int64)
    z_bar = np.empty_like(z)
    z_half = np.empty_like(z)
    tmp = np.empty_like(z)
    while pos < idx.size and calls < stop_calls:
        for t in range(z.size):
            z_bar[t] = alpha * z[t] + (1.0 - alpha) * w[t]
            tmp[t] = z_bar[t] - gamma * Fw[t]
        project(tmp, seg, z_half)
        one[0] = idx[pos]
        _diff(MT, cols, one, z_half, w, float(n), tmp)
        for t in range(z.size):
            tmp[t] = z_bar[t] - gamma * (Fw[t] + tmp[t])
        project(tmp, seg, z)
        calls += 2
        if toss[pos] < p:
            w[:] = z
            Fw[:] = M @ w + q
            calls += n
        k += 1
        pos += 1
    return k, calls, pos


@numba.njit(cache=True)
def vrfrb(M, MT, q, cols, seg, z, c, gamma, idx, toss, v):  # pragma: no cover - numba
    """VR forward-reflected-backward on B(v) = cF(v) + v − z over C, p = 1/n, from v = z.

    v̄ = αv + (1 − α)w,  v ← Π(v̄ − γ[B(w) + Bᵢ(v) − Bᵢ(w₋)]),  w₋ ← w,  w ← v w.p. p,
    one step per entry of ``idx``; the result is left in ``v``. Returns the calls.
    """
    n = cols.shape[0]
    p = 1.0 / n
    alpha = 1.0 - p
    one = np.empty(1, dtype=np.int64)
    v[:] = z
    w = z.copy()
    w_prev = z.copy()
    Bw = c * (M @ w + q) + (w - z)
    calls = n
    tmp = np.empty_like(z)
    for s in range(idx.size):
        one[0] = idx[s]
        _diff(MT, cols, one, v, w_prev, float(n), tmp)
        for t in range(z.size):
            tmp[t] = alpha * v[t] + (1.0 - alpha) * w[t] - gamma * (
                Bw[t] + c * tmp[t] + (v[t] - w_prev[t]))
        project(tmp, seg, v)
        calls += 2
        w_prev[:] = w
        if toss[s] < p:
            w[:] = v
            Bw[:] = c * (M @ w + q) + (w - z)
            calls += n
    return calls


# ----------------------------------------------------------------------------- numpy
def project_reference(z: np.ndarray, seg: tuple) -> np.ndarray:
    """Π_C(z) with numpy (the reference for :func:`project`)."""
    start, stop, kind, radius, lo, hi = seg
    out = z.copy()
    for a, b, t, r in zip(start, stop, kind, radius, strict=True):
        if t == 1:
            v = z[a:b]
            s = np.cumsum(v)[-1]
            if v.min() >= 0 and abs(s - r) <= v.size * _EPS * r:
                continue
            u = np.sort(v)[::-1]
            css = np.cumsum(u) - r
            ok = u - css / np.arange(1, v.size + 1) > 0
            rho = np.argmin(ok) - 1 if not ok.all() else v.size - 1
            out[a:b] = np.maximum(v - css[rho] / (rho + 1), 0.0)
        elif t == 2:
            out[a:b] = np.minimum(np.maximum(z[a:b], lo[a:b]), hi[a:b])
    return out


def _floyd_reference(u: np.ndarray, n: int) -> np.ndarray:
    chosen: list[int] = []
    for m, j in enumerate(range(n - u.size, n)):
        t = min(int(u[m] * (j + 1)), j)
        chosen.append(j if t in chosen else t)
    return np.array(chosen, dtype=np.int64)


def _diff_reference(MT: np.ndarray, cols: np.ndarray, batch: np.ndarray, z: np.ndarray,
                    w: np.ndarray, scale: float) -> np.ndarray:
    I = cols[batch].ravel()
    I = I[I >= 0]
    return scale * ((z[I] - w[I]) @ MT[I])


def page_chunk_reference(M, MT, q, cols, seg, z0, z, z_prev, g, k, calls, stop_calls, eta,
                         toss, bu, pos):
    """numpy twin of :func:`page_chunk` (same arguments, same in-place updates)."""
    n, b = cols.shape[0], bu.shape[1]
    while pos < toss.size and calls < stop_calls:
        lam = 2.0 / (k + 4)
        p = 1.0 if k <= 1 else 4.0 / (k + 4) if k - 1 <= np.sqrt(n) else 4.0 / (np.sqrt(n) + 5)
        if toss[pos] < p:
            g[:] = M @ z + q
            calls += n
        else:
            g += _diff_reference(MT, cols, _floyd_reference(bu[pos], n), z, z_prev, n / b)
            calls += 2 * b
        z_prev[:] = z
        z[:] = project_reference(lam * z0 + (1.0 - lam) * z - eta * g, seg)
        k += 1
        pos += 1
    return k, calls, pos


def vreg_chunk_reference(M, MT, q, cols, seg, z, w, Fw, k, calls, stop_calls, gamma, idx,
                         toss, pos):
    """numpy twin of :func:`vreg_chunk`."""
    n = cols.shape[0]
    p = 1.0 / n
    while pos < idx.size and calls < stop_calls:
        z_bar = (1.0 - p) * z + p * w
        z_half = project_reference(z_bar - gamma * Fw, seg)
        est = Fw + _diff_reference(MT, cols, idx[pos:pos + 1], z_half, w, float(n))
        z[:] = project_reference(z_bar - gamma * est, seg)
        calls += 2
        if toss[pos] < p:
            w[:] = z
            Fw[:] = M @ w + q
            calls += n
        k += 1
        pos += 1
    return k, calls, pos


def vrfrb_reference(M, MT, q, cols, seg, z, c, gamma, idx, toss, v):
    """numpy twin of :func:`vrfrb`."""
    n = cols.shape[0]
    p = 1.0 / n
    v[:] = z
    w, w_prev = z.copy(), z.copy()
    Bw = c * (M @ w + q) + (w - z)
    calls = n
    for s in range(idx.size):
        est = Bw + c * _diff_reference(MT, cols, idx[s:s + 1], v, w_prev, float(n)) + (v - w_prev)
        v[:] = project_reference((1.0 - p) * v + p * w - gamma * est, seg)
        calls += 2
        w_prev[:] = w
        if toss[s] < p:
            w[:] = v
            Bw = c * (M @ w + q) + (w - z)
            calls += n
    return calls

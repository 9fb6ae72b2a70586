"""Hot loops of block coordinate descent (numba), each with a plain-numpy twin.

* :func:`block_scores` — the greedy score of every block of a fixed partition,
  blocks given as ``order[offsets[k]:offsets[k+1]]``:

      GS   ‖g_b‖²,   GSL  ‖g_b‖² / L_b,   GSD  (Σ_{i∈b} |gᵢ| / √Lᵢ)²,
      GSQ  g_bᵀ M_b⁻¹ g_b   (M_b⁻¹ precomputed, zero-padded to the largest block).

* :func:`csc_axpy` — out += A[:, cols] d for a CSC matrix, touching only those
  columns (the sparse update of A x after a block step).
* :func:`tree_solve` — the exact solve of H d = r for a symmetric H whose graph is a
  forest, by Gaussian elimination along the trees ("message passing"): nodes are
  given leaves-first (``order``), each with its parent (−1 at a root) and the entry
  H[i, parent(i)]. Eliminating a leaf i into its parent p,

      D_p ← D_p − H_ip² / D_i,     r_p ← r_p − H_ip r_i / D_i,                 (1)

  then back-substituting root to leaves, d_i = (r_i − H_ip d_p) / D_i, costs O(|b|)
  instead of the O(|b|³) of a dense solve.
* :func:`elastic_net_scores` — for r(x) = λ‖x‖₁ + (μ/2)‖x‖², every coordinate's proximal
  step and greedy score (Nutini, Laradji, Schmidt; JMLR 2022, the non-smooth rules),
  with tᵢ the step (1/Lᵢ or 1/L_b):

      dᵢ = S_{tᵢλ}(xᵢ − tᵢgᵢ)/(1 + tᵢμ) − xᵢ,   S_a(v) = sign(v) max(|v| − a, 0),
      GS-s  sᵢ², sᵢ the minimum-norm subgradient: gᵢ + λ sign xᵢ + μxᵢ (xᵢ ≠ 0),
            sign(gᵢ) max(|gᵢ| − λ, 0) (xᵢ = 0),
      GS-r  dᵢ²,
      GS-q  −[gᵢdᵢ + dᵢ²/(2tᵢ) + rᵢ(xᵢ + dᵢ) − rᵢ(xᵢ)]  (decrease of the quadratic bound + r).
* :func:`greedy_prox_ls` — the whole loop of one-coordinate greedy prox steps on
  ½‖Ax − b‖² + r, r the elastic net: per update one fused pass over n
  (:func:`greedy_prox_step`: ∇f += (AᵀA)[:, j] d, every prox step, the score, its argmax
  and the measure), x_j += d_j, and F updated in O(1); it returns to the caller for a
  missing Gram column or an exact recomputation of ∇f and F.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["GS", "GSD", "GSL", "GSQ", "GS_Q", "GS_R", "GS_S", "block_scores",
           "block_scores_reference", "csc_axpy", "elastic_net_scores",
           "elastic_net_scores_reference", "greedy_prox_ls", "greedy_prox_step",
           "greedy_prox_step_reference", "tree_solve", "tree_solve_reference"]

GS, GSL, GSD, GSQ = 0, 1, 2, 3
GS_S, GS_R, GS_Q = 0, 1, 2


@numba.njit(cache=True)
def block_scores(g, order, offsets, L, Lb, Minv, kind):  # pragma: no cover - numba
    """Score of every block (see the module docstring); ``kind`` is GS, GSL, GSD or GSQ."""
    nb = offsets.size - 1
    out = np.empty(nb)
    for k in range(nb):
        lo, hi = offsets[k], offsets[k + 1]
        s = 0.0
        if kind == GSD:
            for p in range(lo, hi):
                i = order[p]
                s += abs(g[i]) / np.sqrt(L[i])
            s = s * s
        elif kind == GSQ:
            for a in range(hi - lo):
                ga = g[order[lo + a]]
                for c in range(hi - lo):
                    s += ga * Minv[k, a, c] * g[order[lo + c]]
        else:
            for p in range(lo, hi):
                s += g[order[p]] * g[order[p]]
            if kind == GSL:
                s /= Lb[k]
        out[k] = s
    return out


def block_scores_reference(g, order, offsets, L, Lb, Minv, kind) -> np.ndarray:
    """Plain-numpy twin of :func:`block_scores`.

    Examples
    --------
    >>> import numpy as np
    >>> g = np.array([3.0, -4.0, 1.0, 0.0]); order = np.arange(4); offsets = np.array([0, 2, 4])
    >>> L = np.ones(4); Lb = np.array([2.0, 1.0]); Minv = np.zeros((2, 2, 2))
    >>> block_scores_reference(g, order, offsets, L, Lb, Minv, GS).tolist()
    [25.0, 1.0]
    >>> block_scores_reference(g, order, offsets, L, Lb, Minv, GSL).tolist()
    [12.5, 1.0]
    """
    out = np.empty(offsets.size - 1)
    for k in range(out.size):
        idx = order[offsets[k]:offsets[k + 1]]
        gb = g[idx]
        if kind == GSD:
            out[k] = np.sum(np.abs(gb) / np.sqrt(L[idx])) ** 2
        elif kind == GSQ:
            out[k] = gb @ Minv[k, :idx.size, :idx.size] @ gb
        else:
            out[k] = gb @ gb / (Lb[k] if kind == GSL else 1.0)
    return out


@numba.njit(cache=True)
def csc_axpy(indptr, indices, data, cols, d, out):  # pragma: no cover - numba
    """out += A[:, cols] @ d, A in CSC arrays (numpy twin: ``out += A[:, cols] @ d``)."""
    for t in range(cols.size):
        j = cols[t]
        dj = d[t]
        for q in range(indptr[j], indptr[j + 1]):
            out[indices[q]] += data[q] * dj


@numba.njit(cache=True)
def tree_solve(order, parent, diag, off, rhs):  # pragma: no cover - numba
    """Solve H d = rhs on a forest by (1); all arrays indexed by local node number."""
    n = order.size
    D = diag.copy()
    r = rhs.copy()
    for t in range(n):  # leaves first: every child is eliminated before its parent
        i = order[t]
        p = parent[i]
        if p >= 0:
            D[p] -= off[i] * off[i] / D[i]
            r[p] -= off[i] * r[i] / D[i]
    d = np.empty(n)
    for t in range(n - 1, -1, -1):  # roots first
        i = order[t]
        p = parent[i]
        d[i] = (r[i] - (off[i] * d[p] if p >= 0 else 0.0)) / D[i]
    return d


def tree_solve_reference(order, parent, diag, off, rhs) -> np.ndarray:
    """Plain-numpy twin of :func:`tree_solve`.

    Examples
    --------
    >>> import numpy as np
    >>> # path 0 - 1 - 2 rooted at 2: H = [[2, -1, 0], [-1, 2, -1], [0, -1, 2]]
    >>> order = np.array([0, 1, 2]); parent = np.array([1, 2, -1])
    >>> d = tree_solve_reference(order, parent, np.full(3, 2.0), np.array([-1.0, -1.0, 0.0]),
    ...                          np.array([1.0, 0.0, 1.0]))
    >>> np.round(d, 12).tolist()
    [1.0, 1.0, 1.0]
    """
    D, r = diag.astype(float).copy(), rhs.astype(float).copy()
    for i in order:
        p = parent[i]
        if p >= 0:
            D[p] -= off[i] ** 2 / D[i]
            r[p] -= off[i] * r[i] / D[i]
    d = np.empty(order.size)
    for i in order[::-1]:
        p = parent[i]
        d[i] = (r[i] - (off[i] * d[p] if p >= 0 else 0.0)) / D[i]
    return d


@numba.njit(cache=True, nogil=True)
def elastic_net_scores(x, g, step, l1, l2, kind, d):  # pragma: no cover - numba
    """Scores (returned) and prox steps (written to ``d``); see the module docstring."""
    n = x.size
    out = np.empty(n)
    for i in range(n):
        t = step[i]
        xi = x[i]
        v = xi - t * g[i]
        a = abs(v) - t * l1
        u = 0.0
        if a > 0.0:
            u = (a if v > 0.0 else -a) / (1.0 + t * l2)  # S_{tλ}(v) / (1 + tμ)
        di = u - xi
        d[i] = di
        if kind == GS_S:
            if xi != 0.0:
                s = g[i] + (l1 if xi > 0.0 else -l1) + l2 * xi
            else:
                s = max(abs(g[i]) - l1, 0.0)
            out[i] = s * s
        elif kind == GS_R:
            out[i] = di * di
        else:
            out[i] = -(g[i] * di + 0.5 * di * di / t + l1 * (abs(u) - abs(xi))
                       + 0.5 * l2 * (u * u - xi * xi))
    return out


def elastic_net_scores_reference(x, g, step, l1, l2, kind, d) -> np.ndarray:
    """Plain-numpy twin of :func:`elastic_net_scores`.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([0.0, 1.0]); g = np.array([3.0, 0.5]); d = np.empty(2)
    >>> elastic_net_scores_reference(x, g, np.ones(2), 1.0, 0.0, GS_S, d).tolist(), d.tolist()
    ([4.0, 2.25], [-2.0, -1.0])
    >>> elastic_net_scores_reference(x, g, np.ones(2), 1.0, 0.0, GS_Q, d).tolist()
    [2.0, 1.0]
    """
    v = x - step * g
    u = np.sign(v) * np.maximum(np.abs(v) - step * l1, 0.0) / (1.0 + step * l2)
    d[:] = u - x
    if kind == GS_S:
        s = np.where(x != 0, g + l1 * np.sign(x) + l2 * x, np.maximum(np.abs(g) - l1, 0.0))
        return s * s
    if kind == GS_R:
        return d * d
    return -(g * d + 0.5 * d * d / step + l1 * (np.abs(u) - np.abs(x))
             + 0.5 * l2 * (u * u - x * x))


# -- the whole greedy loop for the LASSO / elastic net (one coordinate, least squares) ----
# Return codes of :func:`greedy_prox_ls`; the first four end the solve.
CONVERGED, MAX_ITER, DIVERGED, NONFINITE, NEED_EXACT, MISS, GROW = range(7)


@numba.njit(cache=True, nogil=True)
def greedy_prox_ls(x, g, L, invL, l1, l2, kind, gram, slot_of, ctl, fl, f_hist, m_hist,
                   maxiter, threshold, divcap, refresh):  # pragma: no cover - numba
    """Greedy one-coordinate prox steps on ½‖Ax − b‖² + λ‖x‖₁ + (μ/2)‖x‖², until a return code.

    Each iteration, one pass over the n coordinates (:func:`greedy_prox_step`) applies the
    pending gradient change gᵢ += (AᵀA)ᵢⱼ d, finds every prox step dᵢ (step 1/Lᵢ), the
    greedy score and its argmax j, and the measure ‖L ⊙ d‖; then

        x_j += d_j,   F += d_j g_j + ½ d_j² L_j + r_j(x_j + d_j) − r_j(x_j)     (O(1))

    with L_j = ‖a_j‖² (the exact change of ½‖Ax − b‖²), and ∇f += (AᵀA)[:, j] d_j is left
    pending for the next pass. (AᵀA)[:, j] is row ``slot_of[j]`` of ``gram``; when it is
    not stored (−1) the kernel returns ``MISS`` (j in ``ctl[4]``) for the caller to fill
    one. It returns ``NEED_EXACT`` when the measure reaches ``threshold`` or ``refresh``
    updates have passed without an exact gradient (the caller recomputes g and F from x,
    sets ``ctl[1] = 1``, ``ctl[2] = 0``, ``ctl[3] = −1``), ``GROW`` when the history
    arrays are full, else the status: ``CONVERGED``, ``MAX_ITER``, ``DIVERGED``
    (measure > ``divcap``), ``NONFINITE``.

    ``ctl`` (int64): k (updates done), exact flag, updates since the exact gradient,
    pending Gram slot (−1: none), j (out); ``fl`` (float): F, pending d.
    ``f_hist[k]``, ``m_hist[k]``: F and the measure after k updates.
    """
    k, exact, since, pend = ctl[0], ctl[1], ctl[2], ctl[3]
    f, dp = fl[0], fl[1]
    last = f_hist.size - 1
    while True:
        meas, j, dj = greedy_prox_step(x, g, L, invL, l1, l2, kind, gram, pend, dp)
        pend = -1
        if exact == 0 and (meas <= threshold or since >= refresh):
            code = NEED_EXACT
            break
        exact = 0
        m_hist[k] = meas
        f_hist[k] = f
        if not np.isfinite(meas):
            code = NONFINITE
            break
        if meas <= threshold:
            code = CONVERGED
            break
        if k > 0 and meas > divcap:
            code = DIVERGED
            break
        if k >= maxiter:
            code = MAX_ITER
            break
        if k >= last:
            code = GROW
            break
        s = slot_of[j]
        if s < 0:
            ctl[4] = j
            code = MISS
            break
        xj = x[j]
        u = xj + dj
        # ΔF = d g_j + ½ d² ‖a_j‖² + λ(|x_j + d| − |x_j|) + ½μ((x_j + d)² − x_j²)
        f += dj * g[j] + 0.5 * dj * dj * L[j] + l1 * (abs(u) - abs(xj)) \
            + 0.5 * l2 * (u * u - xj * xj)
        x[j] = u
        pend, dp = s, dj
        k += 1
        since += 1
    ctl[0], ctl[1], ctl[2], ctl[3] = k, exact, since, pend
    fl[0], fl[1] = f, dp
    return code


@numba.njit(cache=True, nogil=True, inline="always")
def greedy_prox_step(x, g, L, invL, l1, l2, kind, gram, pend, dp):  # pragma: no cover - numba
    """The pass of :func:`greedy_prox_ls`: gᵢ += gram[pend, i]·dp (when pend ≥ 0), then
    for every i the prox step dᵢ = S_{λ/Lᵢ}(xᵢ − gᵢ/Lᵢ)/(1 + μ/Lᵢ) − xᵢ and the score of
    :func:`elastic_net_scores` (tᵢ = 1/Lᵢ); returns (‖L ⊙ d‖, argmax score, d at it)."""
    n = x.size
    if pend >= 0:
        for i in range(n):
            g[i] += gram[pend, i] * dp
    best = -np.inf
    j = 0
    dj = 0.0
    m0 = 0.0
    m1 = 0.0  # two partial sums: half the latency chain of ‖L ⊙ d‖²
    for i in range(n):
        gi = g[i]
        xi = x[i]
        if xi == 0.0 and abs(gi) <= l1:  # d = 0 and score 0 (most coordinates of a LASSO)
            if best < 0.0:
                best, j, dj = 0.0, i, 0.0
            continue
        t = invL[i]
        v = xi - t * gi
        a = abs(v) - t * l1
        u = 0.0
        if a > 0.0:
            u = a if v > 0.0 else -a
            if l2 != 0.0:
                u /= 1.0 + t * l2  # S_{tλ}(v) / (1 + tμ)
        di = u - xi
        if kind == GS_R:
            s = di * di
        elif kind == GS_S:
            if xi != 0.0:
                s = gi + (l1 if xi > 0.0 else -l1) + l2 * xi
            else:
                s = max(abs(gi) - l1, 0.0)
            s = s * s
        else:  # GS-q: −[gᵢdᵢ + Lᵢdᵢ²/2 + rᵢ(xᵢ + dᵢ) − rᵢ(xᵢ)]
            s = -(gi * di + 0.5 * di * di * L[i] + l1 * (abs(u) - abs(xi))
                  + 0.5 * l2 * (u * u - xi * xi))
        if s > best:  # the first maximum, as np.argmax
            best, j, dj = s, i, di
        w = L[i] * di
        if i & 1:
            m1 += w * w
        else:
            m0 += w * w
    return np.sqrt(m0 + m1), j, dj


def greedy_prox_step_reference(x, g, L, l1, l2, kind, col, dp):
    """Plain-numpy twin of :func:`greedy_prox_step` followed by the update of x_j and F:
    applies g += col·dp, then returns (measure, j, d_j, ΔF) and moves x_j (both in place).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros(2); g = np.array([-3.0, 1.0]); L = np.ones(2)
    >>> meas, j, dj, df = greedy_prox_step_reference(x, g, L, 1.0, 0.0, GS_R, np.zeros(2), 0.0)
    >>> j, dj, df, x.tolist()
    (0, 2.0, -2.0, [2.0, 0.0])
    """
    g += col * dp
    d = np.empty_like(x)
    score = elastic_net_scores_reference(x, g, 1.0 / L, l1, l2, kind, d)
    j = int(np.argmax(score))
    dj = float(d[j])
    u = x[j] + dj
    df = dj * g[j] + 0.5 * dj * dj * L[j] + l1 * (abs(u) - abs(x[j])) \
        + 0.5 * l2 * (u * u - x[j] ** 2)
    x[j] = u
    return float(np.linalg.norm(L * d)), j, dj, float(df)

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
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["GS", "GSD", "GSL", "GSQ", "GS_Q", "GS_R", "GS_S", "block_scores",
           "block_scores_reference", "csc_axpy", "elastic_net_scores",
           "elastic_net_scores_reference", "tree_solve", "tree_solve_reference"]

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

"""Arnoldi kernels for restarted GMRES on the CPU (numba, one thread).

The Krylov basis is stored as the rows of one C-contiguous array ``V`` of
shape ``(m + 1, n)`` together with a scale vector ``s``: the basis vector is
``v_i = s_i V[i]``. Storing the unnormalised vector and its scale saves the
pass that divides ``w`` by ``h_{j+1,j}``: the scale is folded into the
coefficients of the next passes (``h_i = s_i V[i]ᵀw``, ``w ← w − (h_i s_i) V[i]``)
and into the next matrix-vector product (``A v_j = s_j (A V[j])``).

One Arnoldi step ``j`` (``w = A z_j``, ``z_j = M⁻¹ v_j``; M = I without a
preconditioner) makes ``w`` orthogonal to ``v_0 … v_j``::

    h_ij = v_iᵀ w,  w ← w − h_ij v_i   (i = 0 … j)                     (1)
    h_{j+1,j} = ‖w‖,  v_{j+1} = w / h_{j+1,j}                          (2)

The first sweep over w (the CSR product itself, or a scaling of a product
made in Python) also yields ``‖w‖²`` and ``v_0ᵀ w``. Then (1) by

* MGS (modified Gram–Schmidt, ``orth = 0``): pass i subtracts ``h_ij v_i`` and
  in the same loop forms the next coefficient ``v_{i+1}ᵀ w`` (the last pass
  forms ``‖w‖²``): j + 1 sweeps over w, each reading two rows of V;
* CGS (classical Gram–Schmidt, ``orth = 1``): all ``h_ij = v_iᵀ w`` in one sweep
  over V, then ``w ← w − V h`` and ``‖w‖²`` in a second; four rows of V per
  load / update of w. V is read twice, w about (j + 1)/2 times.

A second pass of the same kind (reorthogonalisation, its coefficients added to
column j of H) runs never (``reorth = 0``), when the DGKS / Kahan "twice is
enough" test

    ‖w after‖ < ‖w before‖ / √2                                       (3)

says cancellation ate more than half of w's norm (``reorth = 1``), or always
(``reorth = 2``). Then the Givens rotations (Saad & Schultz 1986)::

    [h_ij; h_{i+1,j}] ← [c_i s_i; −s_i c_i] [h_ij; h_{i+1,j}]   (i < j)   (4)
    r = hypot(h_jj, h_{j+1,j}),  c_j = h_jj / r,  s_j = h_{j+1,j} / r      (5)
    g_{j+1} = −s_j g_j,  g_j ← c_j g_j;  ‖β e_1 − H_j y‖_min = |g_{j+1}|   (6)

turn H into the upper triangular R and ``|g_{j+1}|`` is the least-squares
residual, which for right preconditioning is ``‖b − A x_{j+1}‖`` in exact
arithmetic. ``x = x_0 + M⁻¹ Σ y_i v_i`` with ``R y = g`` (back substitution).

The whole cycle (product, orthogonalisation, rotations, the residual test)
runs in one call, :func:`arnoldi_cycle_csr`, when A is CSR and there is no
preconditioner; :func:`arnoldi_step_csr` and :func:`arnoldi_step` (after a
product done in Python) do one step. No kernel allocates. Every sweep runs
along whole rows: on a 2-core EPYC with a 32 MB L3, blocking the sweeps into
cache-sized chunks of n was measured 2-3x slower (each chunk restarts the
hardware prefetcher on every row), while w stays in L3 anyway. The
plain-numpy references (``*_reference``) are for tests.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "BREAKDOWN_HAPPY",
    "BREAKDOWN_SINGULAR",
    "NONFINITE",
    "OK",
    "ORTHOGONALIZATIONS",
    "REORTHOGONALIZE",
    "add_combination",
    "add_combination_reference",
    "arnoldi_cycle_csr",
    "arnoldi_step",
    "arnoldi_step_csr",
    "arnoldi_step_reference",
    "back_substitution",
    "back_substitution_reference",
    "csr_matvec_first",
    "csr_matvec_first_reference",
    "givens_column",
    "givens_column_reference",
    "mgs_sweep",
    "mgs_sweep_reference",
    "project",
    "project_reference",
    "scale_first",
    "scale_first_reference",
    "subtract",
    "subtract_reference",
]

#: Gram–Schmidt variants (the ``orth`` argument of the kernels).
ORTHOGONALIZATIONS = {"mgs": 0, "cgs": 1}

#: When the second pass runs (the ``reorth`` argument): never, when (3) asks, always.
REORTHOGONALIZE = {"never": 0, "ifneeded": 1, "always": 2}

#: Step outcomes: go on; h_{j+1,j} = 0 with R nonsingular (x_{j+1} solves A x = b
#: exactly); h_{j+1,j} = 0 with r = 0 in (5) (H_j singular, no progress possible);
#: a NaN or inf.
OK, BREAKDOWN_HAPPY, BREAKDOWN_SINGULAR, NONFINITE = 0, 1, 2, 3

_EPS = float(np.finfo(np.float64).eps)
_ONE = np.uint64(1)
_FAST = {"reassoc", "contract"}


# ---------------------------------------------------------------- passes over V


@njit(cache=True, nogil=True, fastmath=_FAST)
def csr_matvec_first(indptr, indices, data, V, s, j):
    """``w = V[j+1] ← A (s_j V[j])``; returns ``(‖w‖², v_0ᵀw)`` from the same sweep.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[2.0, 1.0], [0.0, 3.0]]))
    >>> V, s = np.array([[1.0, 0.0], [0.0, 0.0]]), np.ones(2)
    >>> csr_matvec_first(A.indptr, A.indices, A.data, V, s, 0), V[1]
    ((4.0, 2.0), array([2., 0.]))
    """
    src = V[j]
    w = V[j + 1]
    v0 = V[0]
    sj = s[j]
    ww = 0.0
    d0 = 0.0
    n = np.uint64(w.shape[0])
    r = np.uint64(0)
    start = np.uint64(indptr[0])
    while r < n:  # unsigned counters: no negative-index test in the inner loop
        stop = np.uint64(indptr[r + _ONE])
        acc = 0.0
        jj = start
        while jj < stop:
            acc += data[jj] * src[indices[jj]]  # (A V[j])_r
            jj += _ONE
        start = stop
        acc *= sj  # w_r = (A v_j)_r
        w[r] = acc
        ww += acc * acc  # ‖w‖²
        d0 += v0[r] * acc  # V[0]ᵀ w
        r += _ONE
    return ww, d0 * s[0]


@njit(cache=True, nogil=True, fastmath=_FAST)
def scale_first(V, s, j, wscale):
    """``w = V[j+1] ← wscale · w``; returns ``(‖w‖², v_0ᵀw)``.

    The first sweep when the product ``A M⁻¹ V[j]`` was made outside (Python
    preconditioner or matvec); ``wscale = s_j`` makes it ``A M⁻¹ v_j`` (M linear).

    Examples
    --------
    >>> import numpy as np
    >>> V = np.array([[1.0, 0.0], [3.0, 4.0]])
    >>> scale_first(V, np.ones(2), 0, 0.5), V[1]
    ((6.25, 1.5), array([1.5, 2. ]))
    """
    w = V[j + 1]
    v0 = V[0]
    ww = 0.0
    d0 = 0.0
    for r in range(w.shape[0]):
        wr = wscale * w[r]
        w[r] = wr
        ww += wr * wr
        d0 += v0[r] * wr
    return ww, d0 * s[0]


@njit(cache=True, nogil=True, fastmath=_FAST)
def project(V, s, j, i0, h):
    """``h_i = v_iᵀ w = s_i V[i]ᵀ V[j+1]`` for ``i0 ≤ i ≤ j``: one sweep over V.

    Four rows at a time share each load of w.

    Examples
    --------
    >>> import numpy as np
    >>> V, h = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]]), np.zeros(2)
    >>> project(V, np.array([1.0, 0.5, 1.0]), 1, 0, h); h
    array([3., 4.])
    """
    w = V[j + 1]
    n = w.shape[0]
    i = i0
    while i + 4 <= j + 1:
        v0, v1, v2, v3 = V[i], V[i + 1], V[i + 2], V[i + 3]
        t0 = t1 = t2 = t3 = 0.0
        for r in range(n):
            wr = w[r]
            t0 += v0[r] * wr
            t1 += v1[r] * wr
            t2 += v2[r] * wr
            t3 += v3[r] * wr
        h[i], h[i + 1], h[i + 2], h[i + 3] = t0 * s[i], t1 * s[i + 1], t2 * s[i + 2], t3 * s[i + 3]
        i += 4
    while i <= j:
        vi = V[i]
        t = 0.0
        for r in range(n):
            t += vi[r] * w[r]
        h[i] = t * s[i]
        i += 1


@njit(cache=True, nogil=True, fastmath=_FAST)
def subtract(V, s, j, h, coef):
    """``w = V[j+1] ← w − Σ_{i≤j} h_i v_i`` (one sweep over V); returns the new ‖w‖².

    Four rows at a time per update of w; the last group also sums ‖w‖².
    ``coef`` is work space of length ≥ j + 1.

    Examples
    --------
    >>> import numpy as np
    >>> V = np.array([[1.0, 0.0], [3.0, 4.0]])
    >>> subtract(V, np.ones(2), 0, np.array([3.0]), np.empty(1)), V[1]
    (16.0, array([0., 4.]))
    """
    w = V[j + 1]
    n = w.shape[0]
    for i in range(j + 1):
        coef[i] = h[i] * s[i]  # h_i v_i = (h_i s_i) V[i]
    ww = 0.0
    i = 0
    while i <= j:
        last = i + 4 >= j + 1
        if i + 4 <= j + 1:
            v0, v1, v2, v3 = V[i], V[i + 1], V[i + 2], V[i + 3]
            c0, c1, c2, c3 = coef[i], coef[i + 1], coef[i + 2], coef[i + 3]
            if last:
                for r in range(n):
                    wr = w[r] - ((c0 * v0[r] + c1 * v1[r]) + (c2 * v2[r] + c3 * v3[r]))
                    w[r] = wr  # (1) w ← w − Σ h_ij v_i
                    ww += wr * wr
            else:
                for r in range(n):
                    w[r] -= (c0 * v0[r] + c1 * v1[r]) + (c2 * v2[r] + c3 * v3[r])
            i += 4
        else:
            vi = V[i]
            c = coef[i]
            if i == j:
                for r in range(n):
                    wr = w[r] - c * vi[r]
                    w[r] = wr
                    ww += wr * wr
            else:
                for r in range(n):
                    w[r] -= c * vi[r]
            i += 1
    return ww


@njit(cache=True, nogil=True, fastmath=_FAST)
def _mgs_pass(vi, c, vn, w):
    """``w ← w − c v_i`` and return ``V[i+1]ᵀ w`` (new w) in the same loop."""
    acc = 0.0
    for r in range(w.shape[0]):
        wr = w[r] - c * vi[r]
        w[r] = wr
        acc += vn[r] * wr
    return acc


@njit(cache=True, nogil=True, fastmath=_FAST)
def _mgs_last(vi, c, w, v0):
    """``w ← w − c v_i`` and return ``(‖w‖², V[0]ᵀw)`` of the new w."""
    acc = 0.0
    d0 = 0.0
    for r in range(w.shape[0]):
        wr = w[r] - c * vi[r]
        w[r] = wr
        acc += wr * wr
        d0 += v0[r] * wr
    return acc, d0


@njit(cache=True, nogil=True)
def mgs_sweep(V, s, j, h0, h):
    """Modified Gram–Schmidt of ``w = V[j+1]`` against ``v_0 … v_j``.

    ``h0 = v_0ᵀ w`` comes from the first sweep. Pass i does ``w ← w − h_i v_i``
    and, in the same loop, ``h_{i+1} = v_{i+1}ᵀ w``; the last pass forms
    ``‖w‖²`` and ``v_0ᵀ w`` (what a second pass starts from). ``h[0..j]``
    receives the coefficients. Returns ``(‖w‖², v_0ᵀ w)`` of the new w.

    Examples
    --------
    >>> import numpy as np
    >>> V, h = np.array([[1.0, 0.0], [3.0, 4.0]]), np.zeros(1)
    >>> mgs_sweep(V, np.ones(2), 0, 3.0, h), V[1], h
    ((16.0, 0.0), array([0., 4.]), array([3.]))
    """
    w = V[j + 1]
    hi = h0
    for i in range(j):
        h[i] = hi
        # (1) w ← w − h_ij v_i, then h_{i+1,j} = v_{i+1}ᵀ w
        hi = _mgs_pass(V[i], hi * s[i], V[i + 1], w) * s[i + 1]
    h[j] = hi
    ww, d0 = _mgs_last(V[j], hi * s[j], w, V[0])
    return ww, d0 * s[0]


# ---------------------------------------------------------------- one column of H


@njit(cache=True, nogil=True)
def _gram_schmidt(V, s, j, orth, d0, h, work):
    """One pass (1) of MGS (orth 0) or CGS (orth 1); h receives its coefficients.

    ``d0 = v_0ᵀ w`` when known (NaN: not known, CGS computes it). Returns
    ``(‖w‖², v_0ᵀ w or NaN)`` of the new w.
    """
    if orth == 0:
        return mgs_sweep(V, s, j, d0, h)
    if math.isnan(d0):
        project(V, s, j, 0, h)  # h_i = v_iᵀ w, i = 0 … j
    else:
        h[0] = d0
        project(V, s, j, 1, h)  # h_0 came with the first sweep
    return subtract(V, s, j, h, work), math.nan


@njit(cache=True, nogil=True)
def _orthogonalize(V, s, H, j, orth, reorth, ww0, d0, h, work):
    """(1)-(3) after the first sweep (``ww0 = ‖w‖²``, ``d0 = v_0ᵀ w``).

    Writes column j of H (rows 0 … j); returns (‖w‖ after, passes beyond the first).
    ``reorth``: 0 never, 1 when (3) asks, 2 always.
    """
    ww, d0 = _gram_schmidt(V, s, j, orth, d0, h, work)
    for i in range(j + 1):
        H[i, j] = h[i]
    extra = 0
    if reorth == 2 or (reorth == 1 and ww < 0.5 * ww0):  # (3) ‖w after‖² < ‖w before‖² / 2
        extra = 1
        ww, _ = _gram_schmidt(V, s, j, orth, d0, h, work)
        for i in range(j + 1):
            H[i, j] += h[i]  # h_ij = first + second pass coefficients
    return math.sqrt(ww), extra


@njit(cache=True, nogil=True)
def givens_column(H, cs, sn, g, j, tol=0.0):
    """Rotate column j of H by the previous rotations (4), make rotation j (5), update g (6).

    Returns ``|g_{j+1}|``, the least-squares residual after step j. When
    ``r = hypot(h_jj, h_{j+1,j}) ≤ tol`` (0 by default: exactly zero) H is
    singular: the rotation is ``c = 0, s = 1``, so ``|g_{j+1}|`` keeps the old
    residual, and ``R_jj = 0`` marks the singularity.

    Examples
    --------
    >>> import numpy as np
    >>> H = np.array([[3.0], [4.0]]); cs, sn, g = np.zeros(1), np.zeros(1), np.array([1.0, 0])
    >>> givens_column(H, cs, sn, g, 0), H.ravel(), g
    (0.8, array([5., 0.]), array([ 0.6, -0.8]))
    """
    for i in range(j):
        a = H[i, j]
        b = H[i + 1, j]
        H[i, j] = cs[i] * a + sn[i] * b  # (4)
        H[i + 1, j] = -sn[i] * a + cs[i] * b
    a = H[j, j]
    b = H[j + 1, j]
    r = math.hypot(a, b)  # (5)
    if r <= tol:
        r, c, sj = 0.0, 0.0, 1.0
    else:
        c, sj = a / r, b / r
    cs[j] = c
    sn[j] = sj
    H[j, j] = r
    H[j + 1, j] = 0.0
    gj = g[j]
    g[j + 1] = -sj * gj  # (6)
    g[j] = c * gj
    return abs(g[j + 1])


@njit(cache=True, nogil=True)
def _finish_step(V, s, H, cs, sn, g, j, hn, ww0):
    """(2) and (4)-(6) after the orthogonalisation; returns (LS residual, outcome code)."""
    wnorm = math.sqrt(ww0)
    if not (math.isfinite(hn) and math.isfinite(wnorm)):
        return math.nan, NONFINITE
    code = OK
    tol = 0.0
    if hn <= _EPS * wnorm:  # w ∈ span(v_0 … v_j) to rounding: the Krylov space is invariant
        hn = 0.0
        code = BREAKDOWN_HAPPY
        s[j + 1] = 0.0
        tol = 8.0 * (j + 1) * _EPS * wnorm  # R_jj this small: H singular to rounding
    else:
        s[j + 1] = 1.0 / hn  # (2) v_{j+1} = w / h_{j+1,j}
    H[j + 1, j] = hn
    res = givens_column(H, cs, sn, g, j, tol)
    if code == BREAKDOWN_HAPPY and H[j, j] == 0.0:
        code = BREAKDOWN_SINGULAR
    if not math.isfinite(res):
        return res, NONFINITE
    return res, code


@njit(cache=True, nogil=True)
def arnoldi_step(V, s, H, cs, sn, g, j, orth, reorth, wscale, h, work, stats):
    """Step j after the product: ``V[j+1]`` holds ``A M⁻¹ V[j]``, ``wscale = s_j``.

    Scales w, orthogonalises it (1)-(3) (``orth``: 0 MGS, 1 CGS; ``reorth``: 0
    never, 1 when (3) asks, 2 always), rotates (4)-(6). ``h`` and ``work`` are
    work arrays of length ≥ j + 1; ``stats[0]`` counts second passes.
    Returns ``(|g_{j+1}|, code)``.

    Examples
    --------
    >>> import numpy as np
    >>> m, n = 2, 3
    >>> V, s = np.zeros((m + 1, n)), np.zeros(m + 1)
    >>> H, cs, sn, g = np.zeros((m + 1, m)), np.zeros(m), np.zeros(m), np.zeros(m + 1)
    >>> V[0], s[0], g[0] = [1.0, 0.0, 0.0], 1.0, 1.0       # r_0 = e_0, β = 1
    >>> V[1] = [2.0, 1.0, 0.0]                              # A v_0 for some A
    >>> res, code = arnoldi_step(V, s, H, cs, sn, g, 0, 0, 1, 1.0, np.zeros(m), np.zeros(m),
    ...                          np.zeros(1, np.int64))
    >>> round(res, 10), code, V[1], float(s[1])
    (0.4472135955, 0, array([0., 1., 0.]), 1.0)
    """
    ww0, d0 = scale_first(V, s, j, wscale)
    hn, extra = _orthogonalize(V, s, H, j, orth, reorth, ww0, d0, h, work)
    stats[0] += extra
    return _finish_step(V, s, H, cs, sn, g, j, hn, ww0)


@njit(cache=True, nogil=True)
def arnoldi_step_csr(indptr, indices, data, V, s, H, cs, sn, g, j, orth, reorth, h, work,
                     stats):
    """Step j without a preconditioner: ``V[j+1] ← A v_j`` made here, then as
    :func:`arnoldi_step`.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[2.0, 0.0], [1.0, 1.0]]))
    >>> V, s = np.zeros((3, 2)), np.zeros(3)
    >>> H, cs, sn, g = np.zeros((3, 2)), np.zeros(2), np.zeros(2), np.zeros(3)
    >>> V[0], s[0], g[0] = [1.0, 0.0], 1.0, 1.0
    >>> st = np.zeros(1, np.int64)
    >>> args = (V, s, H, cs, sn, g)
    >>> [arnoldi_step_csr(A.indptr, A.indices, A.data, *args, j, 0, 1, np.zeros(2),
    ...                   np.zeros(2), st)[1] for j in (0, 1)]
    [0, 1]
    >>> bool(abs(g[2]) < 1e-15)                # n = 2 steps: the exact solution
    True
    """
    ww0, d0 = csr_matvec_first(indptr, indices, data, V, s, j)
    hn, extra = _orthogonalize(V, s, H, j, orth, reorth, ww0, d0, h, work)
    stats[0] += extra
    return _finish_step(V, s, H, cs, sn, g, j, hn, ww0)


@njit(cache=True, nogil=True)
def arnoldi_cycle_csr(indptr, indices, data, V, s, H, cs, sn, g, j0, jend, threshold, orth,
                      reorth, h, work, residuals, stats):
    """Steps ``j0, j0 + 1, …`` until ``|g_{j+1}| ≤ threshold``, a breakdown, or ``jend``.

    ``residuals[j]`` receives ``|g_{j+1}|``. Returns ``(steps done so far in
    this cycle, code)``: the last step taken is ``returned − 1``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.diag([1.0, 2.0, 3.0]))
    >>> m = 3
    >>> V, s = np.zeros((m + 1, 3)), np.zeros(m + 1)
    >>> H, cs, sn, g = np.zeros((m + 1, m)), np.zeros(m), np.zeros(m), np.zeros(m + 1)
    >>> V[0], s[0], g[0] = [1.0, 1.0, 1.0], 1 / np.sqrt(3), np.sqrt(3)
    >>> res = np.zeros(m)
    >>> arnoldi_cycle_csr(A.indptr, A.indices, A.data, V, s, H, cs, sn, g, 0, m, 1e-12, 1, 1,
    ...                   np.zeros(m), np.zeros(m), res, np.zeros(1, np.int64))
    (3, 1)
    """
    j = j0
    code = OK
    while j < jend:
        res, code = arnoldi_step_csr(indptr, indices, data, V, s, H, cs, sn, g, j, orth,
                                     reorth, h, work, stats)
        residuals[j] = res
        j += 1
        if code != OK or res <= threshold:
            break
    return j, code


# ---------------------------------------------------------------- the iterate


@njit(cache=True, nogil=True)
def back_substitution(H, g, k, y):
    """``y ← R⁻¹ g[:k]`` for the rotated, upper triangular ``R = H[:k, :k]``.

    A zero ``R_ii`` (singular H) gets ``y_i = 0``, the least-squares choice.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.zeros(2)
    >>> back_substitution(np.array([[2.0, 1.0], [0.0, 4.0]]), np.array([4.0, 8.0]), 2, y); y
    array([1., 2.])
    """
    for i in range(k - 1, -1, -1):
        t = g[i]
        for c in range(i + 1, k):
            t -= H[i, c] * y[c]
        y[i] = t / H[i, i] if H[i, i] != 0.0 else 0.0


@njit(cache=True, nogil=True, fastmath={"contract"})
def add_combination(V, s, y, k, x):
    """``x ← x + Σ_{i<k} y_i v_i``, four basis rows per update of x.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones(2)
    >>> add_combination(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 2.0]),
    ...                 np.array([3.0, 1.0]), 2, x); x
    array([4., 3.])
    """
    n = x.shape[0]
    i = 0
    while i + 4 <= k:
        v0, v1, v2, v3 = V[i], V[i + 1], V[i + 2], V[i + 3]
        c0, c1, c2, c3 = y[i] * s[i], y[i + 1] * s[i + 1], y[i + 2] * s[i + 2], y[i + 3] * s[i + 3]
        for r in range(n):
            x[r] += (c0 * v0[r] + c1 * v1[r]) + (c2 * v2[r] + c3 * v3[r])
        i += 4
    while i < k:
        vi = V[i]
        c = y[i] * s[i]
        for r in range(n):
            x[r] += c * vi[r]
        i += 1


# ---------------------------------------------------------------- references


def csr_matvec_first_reference(A, V, s, j: int):
    """Plain numpy: ``w = A (s_j V[j])``, ``‖w‖²`` and ``v_0ᵀ w``.

    Examples
    --------
    >>> import numpy as np
    >>> csr_matvec_first_reference(np.eye(2), np.array([[1.0, 0.0], [0, 0]]), np.ones(2), 0)
    (array([1., 0.]), 1.0, 1.0)
    """
    w = A @ (s[j] * V[j])
    return w, float(w @ w), float(s[0] * V[0] @ w)


def scale_first_reference(V, s, j: int, wscale: float):
    """Plain numpy: ``w = wscale V[j+1]``, ``‖w‖²`` and ``v_0ᵀ w``.

    Examples
    --------
    >>> import numpy as np
    >>> scale_first_reference(np.array([[1.0, 0.0], [3.0, 4.0]]), np.ones(2), 0, 0.5)
    (array([1.5, 2. ]), 6.25, 1.5)
    """
    w = wscale * V[j + 1]
    return w, float(w @ w), float(s[0] * V[0] @ w)


def project_reference(V, s, j: int):
    """Plain numpy: ``h_i = s_i V[i]ᵀ V[j+1]``, i = 0 … j.

    Examples
    --------
    >>> import numpy as np
    >>> project_reference(np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]]), np.array([1, 0.5, 1]), 1)
    array([3., 4.])
    """
    return s[: j + 1] * (V[: j + 1] @ V[j + 1])


def subtract_reference(V, s, j: int, h):
    """Plain numpy: ``w − Σ h_i s_i V[i]`` and its squared norm.

    Examples
    --------
    >>> import numpy as np
    >>> subtract_reference(np.array([[1.0, 0.0], [3.0, 4.0]]), np.ones(2), 0, [3.0])
    (array([0., 4.]), 16.0)
    """
    w = V[j + 1] - (np.asarray(h)[: j + 1] * s[: j + 1]) @ V[: j + 1]
    return w, float(w @ w)


def mgs_sweep_reference(V, s, j: int):
    """Plain numpy modified Gram–Schmidt: ``(w, h, ‖w‖², v_0ᵀ w)`` for ``w = V[j+1]``.

    Examples
    --------
    >>> import numpy as np
    >>> mgs_sweep_reference(np.array([[1.0, 0.0], [3.0, 4.0]]), np.ones(2), 0)
    (array([0., 4.]), array([3.]), 16.0, 0.0)
    """
    w = V[j + 1].copy()
    h = np.zeros(j + 1)
    for i in range(j + 1):
        v = s[i] * V[i]
        h[i] = v @ w  # h_ij = v_iᵀ w
        w -= h[i] * v  # w ← w − h_ij v_i
    return w, h, float(w @ w), float(s[0] * V[0] @ w)


def givens_column_reference(H, cs, sn, g, j: int, tol: float = 0.0):
    """Plain numpy (4)-(6) on copies: ``(H, cs, sn, g, |g_{j+1}|)``.

    Examples
    --------
    >>> import numpy as np
    >>> out = givens_column_reference(np.array([[3.0], [4.0]]), np.zeros(1), np.zeros(1),
    ...                               np.array([1.0, 0.0]), 0)
    >>> out[0].ravel(), out[4]
    (array([5., 0.]), 0.8)
    """
    H, cs, sn, g = (np.array(a, dtype=float) for a in (H, cs, sn, g))
    for i in range(j):
        G = np.array([[cs[i], sn[i]], [-sn[i], cs[i]]])
        H[i:i + 2, j] = G @ H[i:i + 2, j]
    a, b = H[j, j], H[j + 1, j]
    r = float(np.hypot(a, b))
    r, c, sj = (0.0, 0.0, 1.0) if r <= tol else (r, a / r, b / r)
    cs[j], sn[j] = c, sj
    H[j, j], H[j + 1, j] = r, 0.0
    g[j], g[j + 1] = c * g[j], -sj * g[j]
    return H, cs, sn, g, float(abs(g[j + 1]))


def arnoldi_step_reference(w, V, s, j: int, orthogonalization: str = "mgs",
                           reorthogonalize: str = "ifneeded"):
    """Plain numpy (1)-(3): the unrotated column ``H[:j+2, j]`` and ``v_{j+1}``.

    ``w`` is ``A z_j``; options as in :data:`ORTHOGONALIZATIONS` and
    :data:`REORTHOGONALIZE`. Returns ``(h, v_next, second_pass)``.

    Examples
    --------
    >>> import numpy as np
    >>> V = np.array([[1.0, 0.0], [0.0, 0.0]])
    >>> h, v, again = arnoldi_step_reference(np.array([2.0, 1.0]), V, np.ones(2), 0)
    >>> h, v, again
    (array([2., 1.]), array([0., 1.]), True)
    """
    basis = s[: j + 1, None] * V[: j + 1]
    w = np.array(w, dtype=float)
    ww0 = float(w @ w)

    def one_pass(w):
        if orthogonalization == "mgs":
            h = np.zeros(j + 1)
            for i in range(j + 1):
                h[i] = basis[i] @ w
                w = w - h[i] * basis[i]
            return w, h
        h = basis @ w
        return w - h @ basis, h

    w, h = one_pass(w)
    again = reorthogonalize == "always" or (reorthogonalize == "ifneeded"
                                            and float(w @ w) < 0.5 * ww0)
    if again:
        w, h2 = one_pass(w)
        h = h + h2
    hn = float(np.linalg.norm(w))
    return np.append(h, hn), w / hn, again


def back_substitution_reference(H, g, k: int):
    """Plain numpy: ``solve(triu(H[:k, :k]), g[:k])``.

    Examples
    --------
    >>> import numpy as np
    >>> back_substitution_reference(np.array([[2.0, 1.0], [0.0, 4.0]]), np.array([4.0, 8.0]), 2)
    array([1., 2.])
    """
    return np.linalg.solve(np.triu(H[:k, :k]), g[:k])


def add_combination_reference(V, s, y, k: int, x):
    """Plain numpy: ``x + (y s)[:k] @ V[:k]``.

    Examples
    --------
    >>> import numpy as np
    >>> add_combination_reference(np.eye(2), np.ones(2), np.array([3.0, 1.0]), 2, np.ones(2))
    array([4., 2.])
    """
    return x + (y[:k] * s[:k]) @ V[:k]



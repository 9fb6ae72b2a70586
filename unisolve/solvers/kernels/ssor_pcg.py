"""SSOR-preconditioned CG with Eisenstat's trick: one iteration in two half sweeps (numba).

A = L + D + U symmetric (strictly lower, diagonal, strictly upper; U = Lᵀ),
ω ∈ (0, 2), ``D̃ = D / ω`` and ``E = D̃ + L`` (so ``Eᵀ = D̃ + U``). The SSOR
preconditioner of :class:`~unisolve.solvers.preconditioners.SSORPreconditioner`
is ``M_SSOR = (D + ωL) D⁻¹ (D + ωU) / (ω(2 − ω)) = E D̃⁻¹ Eᵀ / (2 − ω)``. PCG's
iterates do not change when M is scaled, so PCG with ``M_E = E D̃⁻¹ Eᵀ`` has
the same ``x_k``. Written with ``r̂ = E⁻¹ r`` and ``p̂ = Eᵀ p`` (``t = E⁻ᵀ p̂`` is
PCG's search direction p), PCG with ``M_E`` reads (Eisenstat, "Efficient
implementation of a class of preconditioned conjugate gradient methods", SIAM
J. Sci. Stat. Comput. 2, 1981):

    ρ = r̂ᵀ D̃ r̂                        (= rᵀ M_E⁻¹ r)                   (1)
    p̂ ← D̃ r̂ + β p̂                     (β = 0 at the start / a restart)  (2)
    (D̃ + U) t = p̂                      upper triangular solve            (3)
    tᵀA t = 2 tᵀU t + tᵀD t,  α = ρ / tᵀA t                                (4)
    A t = L t + (D − D̃) t + p̂          (U t = p̂ − D̃ t by (3))            (5)
    x ← x + α t,  r ← r − α A t                                            (6)
    (D̃ + L) r̂ = r                      lower triangular solve            (7)
    β = ρ₊ / ρ                                                             (8)

One iteration is one backward pass over the rows, (2)-(4) — ``(U t)_i`` is the
sum that (3) forms anyway, so ``tᵀU t`` and α are known when the pass ends —
and one forward pass, (5)-(7), which forms ``(L t)_i`` and the solve for r̂ from
the same nonzeros, updates x and r and sums ``rᵀr`` and ``ρ₊``. Each pass reads
one triangle of A, so an iteration reads A about once, like the matvec of CG,
and no matvec is needed: that is Eisenstat's trick. The residual r is updated
as in CG, (6), and r̂ is solved afresh from it, (7), as PCG forms ``M⁻¹ r``;
Eisenstat's own variant updates r̂ recursively, ``r̂ ← r̂ − α E⁻¹A t``, which
loses digits when ω is near 2 (``E⁻¹A t = t + u`` is then a small difference
of large terms): measured on 3D Poisson 9³ at ω = 1.9, its residuals left
those of exact arithmetic about 100× sooner than PCG's with the sweeps, and
it took one iteration more; the form here stays as close as the sweeps do.

The passes are sequential: row i needs the row just finished. Each row is
written ``t_i = c_i − (a_{i,i+1} / D̃_i) t_{i+1}`` with ``t_{i+1}`` kept in a
register and everything else in ``c_i``, so one fused multiply-add separates
two rows; the other neighbours were finished long before.

Two storage schemes:

* CSR (any sparse A): :func:`split_csr` copies the strict triangles into their
  own CSR arrays (``L`` and ``U``: a pass reads only its triangle, not the whole
  rows that hold it), moving the entries ``(i, i − 1)`` and ``(i, i + 1)`` to the
  ends where the passes expect them. Column order within a row is free.
* Matrix-free (``*_grid``): the 5-/7-point :class:`~unisolve.problems.Stencil`
  matrix (diagonal d, off-diagonal o, Dirichlet, C order) on a grid
  ``(m1, m2, m3)``; a 2D grid is ``(1, m2, m3)``. The lower neighbours of
  ``(a, b, c)`` are ``(a, b, c − 1)``, ``(a, b − 1, c)`` and ``(a − 1, b, c)``.
  :func:`stencil_matches_csr` checks that a CSR matrix is that stencil.

:func:`eisenstat_solve` runs a whole solve in one call (no callback): the
iteration, the true residual ``‖b − A x‖`` whenever ``‖r‖`` meets the threshold,
residual replacement (``r ← b − A x``, ``r̂ ← E⁻¹ r``, restart) as in
:func:`unisolve.solvers.krylov._conjugate_gradients`, and the stopping rule of
:class:`unisolve.result.IterationMonitor`. A Python loop (callback, or the true
residual at every iterate) calls :func:`eisenstat_iteration`,
:func:`true_residual` and :func:`lower_solve`, the same compiled arithmetic,
so both give the same iterates.

The plain-numpy references (``*_reference``) use scipy's triangular solves and
are for tests.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from ...norms import nrm2
from .sor_csr import (
    SOLVE_CONVERGED,
    SOLVE_DIVERGED,
    SOLVE_MAX_ITER,
    SOLVE_NONFINITE,
    residual_status,
    unsigned_indices,
)

__all__ = [
    "SOLVE_BREAKDOWN_PAP",
    "SOLVE_BREAKDOWN_RHO",
    "SOLVE_CONVERGED",
    "SOLVE_DIVERGED",
    "SOLVE_MAX_ITER",
    "SOLVE_NONFINITE",
    "SOLVE_PAUSED",
    "eisenstat_iteration",
    "eisenstat_iteration_reference",
    "eisenstat_solve",
    "grid_operator",
    "lower_solve",
    "lower_solve_reference",
    "no_grid",
    "no_split",
    "split_csr",
    "split_csr_reference",
    "stencil_matches_csr",
    "stencil_matches_reference",
    "true_residual",
]

#: Codes returned by :func:`eisenstat_solve` (in ``out[1]``): those of
#: :func:`~unisolve.solvers.kernels.sor_csr.sor_solve_csr`, and three of its own.
SOLVE_BREAKDOWN_PAP, SOLVE_BREAKDOWN_RHO, SOLVE_PAUSED = 4, 5, 6

_FMA = {"contract"}  # LLVM may fuse a * b + c (rounding only); no reassociation
_ONE = np.uint64(1)  # unsigned row indices: numba skips the negative-index wrap test


# ---------------------------------------------------------------------------------------
# Set-up
# ---------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def _split_row_unsorted(indptr, indices, data, i, nl, nu, lidx, lval, uidx, uval):
    """Row i of :func:`_split` for any column order; returns ``(nl, nu, a_ii)``."""
    first_l, first_u = nl, nu
    d = 0.0
    for jj in range(indptr[i], indptr[i + _ONE]):
        j = indices[jj]
        if j < i:
            lidx[nl] = j
            lval[nl] = data[jj]
            nl += _ONE
        elif j > i:
            uidx[nu] = j
            uval[nu] = data[jj]
            nu += _ONE
        else:
            d += data[jj]
    for k in range(first_l, nl):  # (i, i − 1) to the end of the L row
        if lidx[k] + _ONE == i:
            last = nl - _ONE
            lidx[k], lidx[last] = lidx[last], lidx[k]
            lval[k], lval[last] = lval[last], lval[k]
            break
    for k in range(first_u, nu):  # (i, i + 1) to the front of the U row
        if uidx[k] == i + _ONE:
            uidx[k], uidx[first_u] = uidx[first_u], uidx[k]
            uval[k], uval[first_u] = uval[first_u], uval[k]
            break
    return nl, nu, d


@njit(cache=True, nogil=True)
def _split(indptr, indices, data, lptr, lidx, lval, uptr, uidx, uval, diag):
    """Copy the strict triangles of A into L and U (one pass); ``diag[i] = Σ a_ii``.

    A sorted row is copied as two blocks, split at its diagonal, which leaves
    (i, i − 1) last in its L row and (i, i + 1) first in its U row, where the
    passes read them from registers. A row found unsorted is redone entry by
    entry and those two entries moved there.
    """
    n = indptr.shape[0] - 1
    nl = np.uint64(0)
    nu = np.uint64(0)
    lptr[0] = 0
    uptr[0] = 0
    for k in range(n):
        i = np.uint64(k)
        start, stop = indptr[i], indptr[i + _ONE]
        pos = start
        while pos < stop and indices[pos] < i:
            pos += _ONE
        row_l, row_u = nl, nu
        for jj in range(start, pos):
            lidx[nl] = indices[jj]
            lval[nl] = data[jj]
            nl += _ONE
        d = 0.0
        while pos < stop and indices[pos] == i:
            d += data[pos]
            pos += _ONE
        ordered = True
        for jj in range(pos, stop):
            j = indices[jj]
            uidx[nu] = j
            uval[nu] = data[jj]
            nu += _ONE
            ordered &= j > i
        if not ordered:
            nl, nu, d = _split_row_unsorted(indptr, indices, data, i, row_l, row_u, lidx,
                                            lval, uidx, uval)
        lptr[i + _ONE] = nl
        uptr[i + _ONE] = nu
        diag[i] = d


def split_csr(A: sp.csr_array, omega: float) -> tuple:
    """``(lptr, lidx, lval, uptr, uidx, uval, dt, inv_dt)`` for the CSR kernels.

    L and U are the strict triangles of A in CSR form (unsigned index arrays;
    the value and index buffers may be longer than ``lptr[-1]``),
    ``dt = diag(A) / ω`` (``D̃``) and ``inv_dt = ω / diag(A)``. Any column order;
    duplicates are summed. Raises ``ValueError`` for a zero on the diagonal.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[4.0, -1.0, 0.0], [-1.0, 4.0, -2.0], [0.0, -2.0, 5.0]]))
    >>> lptr, lidx, lval, uptr, uidx, uval, dt, inv_dt = split_csr(A, 2.0)
    >>> lptr, lidx[:lptr[-1]], lval[:lptr[-1]], dt
    (array([0, 0, 1, 2], dtype=uint32), array([0, 1], dtype=uint32), array([-1., -2.]), \
array([2. , 2. , 2.5]))
    """
    n, nnz = A.shape[0], A.nnz
    itype = np.uint64 if max(nnz, n) >= 2**31 - 1 else np.uint32
    lptr, uptr = np.empty(n + 1, itype), np.empty(n + 1, itype)
    lidx, uidx = np.empty(nnz, itype), np.empty(nnz, itype)
    lval, uval = np.empty(nnz), np.empty(nnz)
    diag = np.empty(n)
    _split(unsigned_indices(A.indptr), unsigned_indices(A.indices), A.data, lptr, lidx, lval,
           uptr, uidx, uval, diag)
    if not diag.all():
        zero = np.flatnonzero(diag == 0.0)
        raise ValueError(
            f"A has a zero on the diagonal (row {int(zero[0])}"
            f"{f' and {zero.size - 1} more' if zero.size > 1 else ''}): the SSOR "
            "preconditioner divides by a_ii. Use method='cg', or pcg with "
            "preconditioner='ic0' or 'amg'"
        )
    omega = float(omega)
    return lptr, lidx, lval, uptr, uidx, uval, diag / omega, omega / diag


def no_split() -> tuple:
    """An empty CSR split (placeholder argument of the grid path).

    Examples
    --------
    >>> [a.size for a in no_split()]
    [0, 0, 0, 0, 0, 0, 0, 0]
    """
    e = np.empty(0, np.uint32)
    return e, e, np.empty(0), e, e, np.empty(0), np.empty(0), np.empty(0)


def grid_operator(shape: tuple, diagonal: float, offdiagonal: float, omega: float) -> tuple:
    """``(m1, m2, m3, D̃, 1/D̃, o, d)`` of a 2D ``(m2, m3)`` or 3D ``(m1, m2, m3)`` stencil.

    Examples
    --------
    >>> grid_operator((4, 5), 4.0, -1.0, 2.0)
    (1, 4, 5, 2.0, 0.5, -1.0, 4.0)
    """
    dims = (1, *shape) if len(shape) == 2 else tuple(shape)
    m1, m2, m3 = (int(m) for m in dims)
    dt = float(diagonal) / float(omega)
    return m1, m2, m3, dt, 1.0 / dt, float(offdiagonal), float(diagonal)


def no_grid() -> tuple:
    """A placeholder grid operator (argument of the CSR path).

    Examples
    --------
    >>> no_grid()
    (0, 0, 0, 1.0, 1.0, 0.0, 1.0)
    """
    return 0, 0, 0, 1.0, 1.0, 0.0, 1.0


@functools.lru_cache(maxsize=2)
def _stencil_pattern(shape: tuple) -> tuple:
    """``(indptr, indices, diagonal positions)`` of ``Stencil(shape, ·, ·).to_csr()``."""
    from ...problems.linear import Stencil

    S = Stencil(tuple(shape), 2.0, -1.0).to_csr()
    S.sort_indices()
    diag_pos = np.flatnonzero(S.data == 2.0)
    for a in (S.indptr, S.indices, diag_pos):
        a.flags.writeable = False
    return S.indptr, S.indices, diag_pos


@njit(cache=True, nogil=True)
def _same_pattern(indptr, indices, ref_indptr, ref_indices):
    """Whether two CSR index structures are identical (an OR of XORs: vectorised)."""
    if indptr.shape[0] != ref_indptr.shape[0] or indices.shape[0] != ref_indices.shape[0]:
        return False
    bad = 0
    for k in range(indptr.shape[0]):
        bad |= indptr[k] ^ ref_indptr[k]
    for k in range(indices.shape[0]):
        bad |= indices[k] ^ ref_indices[k]
    return bad == 0


@njit(cache=True, nogil=True)
def _stencil_values(data, diag_pos, d, o):
    """Whether ``data`` is o everywhere but at ``diag_pos``, where it is d (d ≠ o)."""
    off = 0
    for k in range(data.shape[0]):
        off += data[k] != o
    for k in range(diag_pos.shape[0]):
        if data[diag_pos[k]] != d:
            return False
    return off == diag_pos.shape[0]


def stencil_matches_csr(A: sp.csr_array, shape: tuple, diagonal: float,
                        offdiagonal: float) -> bool:
    """Whether CSR ``A`` is exactly the stencil matrix, stored as ``Stencil.to_csr()`` does.

    A's index arrays must equal the stencil's (sorted columns, no explicit
    zeros) and its values equal d and o: one vectorised pass over A (the
    stencil's pattern is cached per shape). Any other layout or a value off by
    rounding answers False, which only means the caller uses the CSR kernels.

    Examples
    --------
    >>> from unisolve.problems import Stencil
    >>> A = Stencil((3, 4), 4.0, -1.0).to_csr()
    >>> stencil_matches_csr(A, (3, 4), 4.0, -1.0), stencil_matches_csr(A, (4, 3), 4.0, -1.0)
    (True, False)
    >>> stencil_matches_csr(A, (3, 4), 4.0, -1.01)
    False
    """
    shape = tuple(int(m) for m in shape)
    d, o = float(diagonal), float(offdiagonal)
    if len(shape) not in (2, 3) or A.shape[0] != math.prod(shape) or d == o:
        return False
    ref_indptr, ref_indices, diag_pos = _stencil_pattern(shape)
    return bool(_same_pattern(A.indptr, A.indices, ref_indptr, ref_indices)
                and _stencil_values(A.data, diag_pos, d, o))


# ---------------------------------------------------------------------------------------
# CSR passes
# ---------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, fastmath=_FMA)
def _backward_csr(split, beta, rhat, phat, t):
    """(2)-(3) and the sums of (4): returns ``(tᵀU t, tᵀD̃ t)``."""
    _, _, _, uptr, uidx, uval, dt, inv_dt = split
    n = rhat.shape[0]
    tut = 0.0
    tdt = 0.0
    tnext = 0.0  # t_{i+1}, the row just finished
    for k in range(n):
        i = np.uint64(n - 1 - k)
        d = dt[i]
        ph = d * rhat[i] + beta * phat[i]  # (2) p̂ ← D̃ r̂ + β p̂
        phat[i] = ph
        s, e = uptr[i], uptr[i + _ONE]
        g = 0.0
        if s < e and uidx[s] == i + _ONE:  # a_{i,i+1}: from the register, not memory
            g = uval[s]
            s += _ONE
        far = 0.0
        for jj in range(s, e):
            far += uval[jj] * t[uidx[jj]]
        w = inv_dt[i]
        ti = (ph - far) * w - (g * w) * tnext  # (3) t_i = (p̂_i − Σ_{j>i} a_ij t_j) / D̃_i
        t[i] = ti
        tut += ti * (far + g * tnext)  # tᵀU t, (U t)_i = Σ_{j>i} a_ij t_j
        tdt += d * ti * ti  # tᵀD̃ t
        tnext = ti
    return tut, tdt


@njit(cache=True, nogil=True, fastmath=_FMA)
def _forward_csr(split, omega, alpha, phat, t, x, r, rhat):
    """(5)-(7): returns ``(rᵀr, ρ₊)`` of the updated vectors."""
    lptr, lidx, lval, _, _, _, dt, inv_dt = split
    n = rhat.shape[0]
    c_q = omega - 1.0  # (D − D̃)_i = (ω − 1) D̃_i
    rr = 0.0
    rho = 0.0
    prev = 0.0  # r̂_{i−1} (new), in a register
    tprev = 0.0  # t_{i−1}
    for k in range(n):
        i = np.uint64(k)
        s, e = lptr[i], lptr[i + _ONE]
        g = 0.0
        if e > s and lidx[e - _ONE] + _ONE == i:  # a_{i,i−1}: from the registers
            e -= _ONE
            g = lval[e]
        far = 0.0
        lt = 0.0
        for jj in range(s, e):
            a = lval[jj]
            j = lidx[jj]
            lt += a * t[j]
            far += a * rhat[j]
        ti = t[i]
        d = dt[i]
        qi = (lt + g * tprev) + c_q * d * ti + phat[i]  # (5) (At)_i = (Lt)_i + (D−D̃)_i t_i + p̂_i
        x[i] += alpha * ti  # (6)
        ri = r[i] - alpha * qi
        r[i] = ri
        w = inv_dt[i]
        rh = (ri - far) * w - (g * w) * prev  # (7) r̂_i = (r_i − Σ_{j<i} a_ij r̂_j) / D̃_i
        rhat[i] = rh
        rr += ri * ri
        rho += d * rh * rh  # (1) ρ₊ = r̂ᵀD̃r̂
        prev = rh
        tprev = ti
    return rr, rho


@njit(cache=True, nogil=True, fastmath=_FMA)
def _lower_csr(split, y, out):
    """``out ← E⁻¹ y`` (forward substitution); returns ``(yᵀy, outᵀD̃ out)``."""
    lptr, lidx, lval, _, _, _, dt, inv_dt = split
    n = y.shape[0]
    yy = 0.0
    rho = 0.0
    prev = 0.0
    for k in range(n):
        i = np.uint64(k)
        s, e = lptr[i], lptr[i + _ONE]
        g = 0.0
        if e > s and lidx[e - _ONE] + _ONE == i:
            e -= _ONE
            g = lval[e]
        far = 0.0
        for jj in range(s, e):
            far += lval[jj] * out[lidx[jj]]
        w = inv_dt[i]
        yi = y[i]
        c = (yi - far) * w - (g * w) * prev  # out_i = (y_i − Σ_{j<i} a_ij out_j) / D̃_i
        out[i] = c
        yy += yi * yi
        rho += dt[i] * c * c
        prev = c
    return yy, rho


@njit(cache=True, nogil=True, fastmath=_FMA)
def _residual_csr(matrix, x, b, r):
    """``r ← b − A x`` with the original CSR A; returns ``rᵀr``."""
    indptr, indices, data = matrix
    n = b.shape[0]
    total = 0.0
    for i in range(n):
        s = b[i]
        for jj in range(indptr[i], indptr[i + 1]):
            s -= data[jj] * x[indices[jj]]
        r[i] = s
        total += s * s
    return total


# ---------------------------------------------------------------------------------------
# Matrix-free passes: 7-point stencil on (m1, m2, m3); 2D is m1 = 1
# ---------------------------------------------------------------------------------------


@njit(cache=True, nogil=True, fastmath=_FMA)
def _backward_grid(grid, beta, rhat, phat, t):
    """(2)-(3) and the sums of (4) for the stencil: returns ``(tᵀU t, tᵀD̃ t)``."""
    m1, m2, m3, d, w, o, _ = grid
    row = np.uint64(m3)
    plane = np.uint64(m2 * m3)
    ow = o * w
    tut = 0.0
    tt = 0.0
    for ka in range(m1):
        a = m1 - 1 - ka
        for kb in range(m2):
            b = m2 - 1 - kb
            below = b < m2 - 1  # (a, b + 1, ·) exists
            behind = a < m1 - 1  # (a + 1, ·, ·) exists
            base = np.uint64((a * m2 + b) * m3)
            tnext = 0.0
            for kc in range(m3):
                i = base + np.uint64(m3 - 1 - kc)
                ph = d * rhat[i] + beta * phat[i]  # (2)
                phat[i] = ph
                far = 0.0
                if below:
                    far += t[i + row]
                if behind:
                    far += t[i + plane]
                far *= o
                ti = (ph - far) * w - ow * tnext  # (3)
                t[i] = ti
                tut += ti * (far + o * tnext)
                tt += ti * ti
                tnext = ti
    return tut, d * tt


@njit(cache=True, nogil=True, fastmath=_FMA)
def _forward_grid(grid, omega, alpha, phat, t, x, r, rhat):
    """(5)-(7) for the stencil: returns ``(rᵀr, ρ₊)``."""
    m1, m2, m3, d, w, o, _ = grid
    row = np.uint64(m3)
    plane = np.uint64(m2 * m3)
    ow = o * w
    c_q = (omega - 1.0) * d
    rr = 0.0
    rhoh = 0.0
    for a in range(m1):
        for b in range(m2):
            above = b > 0  # (a, b − 1, ·) exists
            before = a > 0  # (a − 1, ·, ·) exists
            base = np.uint64((a * m2 + b) * m3)
            prev = 0.0
            tprev = 0.0
            for c in range(m3):
                i = base + np.uint64(c)
                far = 0.0
                lt = tprev
                if above:
                    lt += t[i - row]
                    far += rhat[i - row]
                if before:
                    lt += t[i - plane]
                    far += rhat[i - plane]
                ti = t[i]
                qi = o * lt + c_q * ti + phat[i]  # (5)
                x[i] += alpha * ti  # (6)
                ri = r[i] - alpha * qi
                r[i] = ri
                rh = (ri - o * far) * w - ow * prev  # (7)
                rhat[i] = rh
                rr += ri * ri
                rhoh += rh * rh
                prev = rh
                tprev = ti
    return rr, d * rhoh


@njit(cache=True, nogil=True, fastmath=_FMA)
def _lower_grid(grid, y, out):
    """``out ← E⁻¹ y`` for the stencil; returns ``(yᵀy, outᵀD̃ out)``."""
    m1, m2, m3, d, w, o, _ = grid
    row = np.uint64(m3)
    plane = np.uint64(m2 * m3)
    ow = o * w
    yy = 0.0
    oo = 0.0
    for a in range(m1):
        for b in range(m2):
            above = b > 0
            before = a > 0
            base = np.uint64((a * m2 + b) * m3)
            prev = 0.0
            for c in range(m3):
                i = base + np.uint64(c)
                far = 0.0
                if above:
                    far += out[i - row]
                if before:
                    far += out[i - plane]
                yi = y[i]
                ci = (yi - o * far) * w - ow * prev
                out[i] = ci
                yy += yi * yi
                oo += ci * ci
                prev = ci
    return yy, d * oo


@njit(cache=True, nogil=True, fastmath=_FMA)
def _residual_grid(grid, x, b, r):
    """``r ← b − A x`` for the stencil; returns ``rᵀr``.

    Terms are subtracted in increasing column order, as :func:`_residual_csr`
    does on ``Stencil.to_csr()``, so both give the same bits.
    """
    m1, m2, m3, _, _, o, dd = grid
    row = np.uint64(m3)
    plane = np.uint64(m2 * m3)
    total = 0.0
    for a in range(m1):
        for bb in range(m2):
            base = np.uint64((a * m2 + bb) * m3)
            for c in range(m3):
                i = base + np.uint64(c)
                s = b[i]
                if a > 0:
                    s -= o * x[i - plane]
                if bb > 0:
                    s -= o * x[i - row]
                if c > 0:
                    s -= o * x[i - _ONE]
                s -= dd * x[i]
                if c < m3 - 1:
                    s -= o * x[i + _ONE]
                if bb < m2 - 1:
                    s -= o * x[i + row]
                if a < m1 - 1:
                    s -= o * x[i + plane]
                r[i] = s
                total += s * s
    return total


# ---------------------------------------------------------------------------------------
# One iteration, solves, the whole solve
# ---------------------------------------------------------------------------------------


@njit(cache=True, nogil=True)
def eisenstat_iteration(use_grid, split, grid, omega, rho, beta, x, r, rhat, phat, t):
    """One iteration (2)-(7) in place; returns ``(tᵀA t, α, rᵀr, ρ₊)``.

    ``split`` is :func:`split_csr`'s tuple (used when ``use_grid`` is False),
    ``grid`` :func:`grid_operator`'s. ``rhat`` holds ``E⁻¹ r`` and ``rho`` its ρ,
    ``beta`` the β of (2) (0 for ``p̂ = D̃ r̂``). When ``tᵀA t`` is not positive
    (or NaN) only p̂ and t change and ``(tᵀA t, nan, nan, nan)`` is returned.
    """
    if use_grid:
        tut, tdt = _backward_grid(grid, beta, rhat, phat, t)
    else:
        tut, tdt = _backward_csr(split, beta, rhat, phat, t)
    tat = 2.0 * tut + omega * tdt  # (4) tᵀAt = 2 tᵀUt + tᵀDt,  D = ω D̃
    if not tat > 0.0:
        return tat, np.nan, np.nan, np.nan
    alpha = rho / tat
    if use_grid:
        rr, rho_next = _forward_grid(grid, omega, alpha, phat, t, x, r, rhat)
    else:
        rr, rho_next = _forward_csr(split, omega, alpha, phat, t, x, r, rhat)
    return tat, alpha, rr, rho_next


@njit(cache=True, nogil=True)
def lower_solve(use_grid, split, grid, y, out):
    """``out ← E⁻¹ y``; returns ``(yᵀy, ρ = outᵀ D̃ out)``."""
    if use_grid:
        return _lower_grid(grid, y, out)
    return _lower_csr(split, y, out)


@njit(cache=True, nogil=True)
def true_residual(use_grid, matrix, grid, x, b, r):
    """``r ← b − A x`` (CSR ``matrix = (indptr, indices, data)`` or the stencil); ``rᵀr``."""
    if use_grid:
        return _residual_grid(grid, x, b, r)
    return _residual_csr(matrix, x, b, r)


@njit(cache=True, nogil=True)
def eisenstat_solve(use_grid, split, matrix, grid, omega, b, x, r, rhat, phat, t, rho, beta,
                    threshold, limit, k0, maxiter, residuals, true_flags, out):
    """Iterations ``k0 + 1, …`` of a whole solve, in place.

    On entry r and r̂ hold the residual and ``E⁻¹ r`` at iteration ``k0``,
    ``rho`` its ρ and ``beta`` the β for the next p̂ (0 to start or restart).
    ``residuals[m]`` and ``true_flags[m]`` receive ‖r‖ of iteration
    ``k0 + 1 + m`` and whether it is the true residual (recomputed because the
    recursive one met ``threshold``; if the true one does not, r is replaced
    by it, r̂ solved afresh and the direction restarted). Stops as
    ``IterationMonitor`` does (converged, ``‖r‖ > limit`` diverged, NaN,
    ``maxiter``), when ρ or ``tᵀAt`` is not positive
    (:data:`SOLVE_BREAKDOWN_RHO` / :data:`SOLVE_BREAKDOWN_PAP`, also for NaN),
    or pauses (:data:`SOLVE_PAUSED`) when ``residuals`` is full. ``out``
    receives ``[iterations, code, rho, beta, replacements, last tᵀAt]``.
    """
    cap = residuals.shape[0]
    code = SOLVE_PAUSED
    replacements = 0
    k = k0
    m = 0
    tat = 0.0
    while True:
        if k >= maxiter:
            code = SOLVE_MAX_ITER
            break
        if m >= cap:
            code = SOLVE_PAUSED
            break
        if not rho > 0.0:  # ρ ≤ 0 or NaN
            code = SOLVE_BREAKDOWN_RHO
            break
        tat, _, rr, rho_next = eisenstat_iteration(use_grid, split, grid, omega, rho, beta,
                                                   x, r, rhat, phat, t)
        if not tat > 0.0:  # tᵀAt ≤ 0 or NaN
            code = SOLVE_BREAKDOWN_PAP
            break
        k += 1
        rnorm = np.sqrt(rr)
        flag = 0
        restart = False
        if rnorm <= threshold:  # confirm with b − A x (into t, free until the next pass)
            true_residual(use_grid, matrix, grid, x, b, t)
            true_norm = nrm2(t)  # ‖b − A x‖, scaled (Blue): no over/underflow
            flag = 1
            if threshold < true_norm:  # residual replacement: r = b − A x, r̂ = E⁻¹ r
                r[:] = t
                _, rho_next = lower_solve(use_grid, split, grid, r, rhat)
                restart = True
                replacements += 1
            rnorm = true_norm
        residuals[m] = rnorm
        true_flags[m] = flag
        m += 1
        code = residual_status(rnorm, threshold, limit)
        if code >= 0:
            break
        beta = 0.0 if restart else rho_next / rho  # (8)
        rho = rho_next
    out[0] = k
    out[1] = code
    out[2] = rho
    out[3] = beta
    out[4] = replacements
    out[5] = tat
    return k


# ---------------------------------------------------------------------------------------
# Plain numpy / scipy references (tests)
# ---------------------------------------------------------------------------------------


def split_csr_reference(A, omega: float) -> tuple:
    """``(L, U, D̃)``: strict triangles (scipy) and ``diag(A) / ω``.

    Examples
    --------
    >>> import numpy as np
    >>> L, U, dt = split_csr_reference(np.array([[4.0, -1.0], [-1.0, 4.0]]), 2.0)
    >>> L.toarray(), dt
    (array([[ 0.,  0.],
           [-1.,  0.]]), array([2., 2.]))
    """
    A = sp.csr_array(A)
    return sp.tril(A, -1, format="csr"), sp.triu(A, 1, format="csr"), A.diagonal() / omega


def lower_solve_reference(A, omega: float, y: np.ndarray) -> np.ndarray:
    """``E⁻¹ y``, ``E = D/ω + L``, by scipy's sparse triangular solve.

    Examples
    --------
    >>> import numpy as np
    >>> lower_solve_reference(np.array([[2.0, 0.0], [-1.0, 2.0]]), 1.0, np.array([2.0, 1.0]))
    array([1., 1.])
    """
    L, _, dt = split_csr_reference(A, omega)
    E = sp.csr_array(L + sp.diags_array(dt))
    return spla.spsolve_triangular(E, y, lower=True)


def eisenstat_iteration_reference(A, omega: float, rho: float, beta: float, x, r, phat):
    """One iteration (2)-(8) with scipy's triangular solves, on copies.

    ``r`` is the residual (r̂ = E⁻¹ r is solved from it). Returns
    ``dict(tAt, alpha, rr, rho, phat, t, x, r, rhat)`` of the new values.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, -1.0], [-1.0, 2.0]]); b = np.array([3.0, 1.0])
    >>> rhat = lower_solve_reference(A, 1.0, b); rho = float(rhat @ (A.diagonal() * rhat))
    >>> s = eisenstat_iteration_reference(A, 1.0, rho, 0.0, np.zeros(2), b, np.zeros(2))
    >>> s = eisenstat_iteration_reference(A, 1.0, s["rho"], s["rho"] / rho, s["x"], s["r"],
    ...                                   s["phat"])
    >>> bool(np.allclose(s["x"], [1.0, 1.0]))          # CG on 2 unknowns: exact in 2 steps
    True
    """
    _, U, dt = split_csr_reference(A, omega)
    A = sp.csr_array(A)
    rhat = lower_solve_reference(A, omega, r)  # (1) r̂ = E⁻¹ r
    phat = dt * rhat + beta * phat  # (2)
    t = spla.spsolve_triangular(sp.csr_array(U + sp.diags_array(dt)), phat, lower=False)  # (3)
    q = A @ t
    tat = float(t @ q)  # (4)
    alpha = rho / tat
    x = x + alpha * t  # (6)
    r = r - alpha * q
    rhat = lower_solve_reference(A, omega, r)  # (7)
    return {"tAt": tat, "alpha": alpha, "rr": float(r @ r), "rho": float(rhat @ (dt * rhat)),
            "phat": phat, "t": t, "x": x, "r": r, "rhat": rhat}


def stencil_matches_reference(A, stencil) -> bool:
    """Whether A equals ``stencil.to_csr()`` entry by entry (scipy comparison).

    Examples
    --------
    >>> from unisolve.problems import Stencil
    >>> s = Stencil((3, 3), 4.0, -1.0)
    >>> stencil_matches_reference(s.to_csr(), s), stencil_matches_reference(2 * s.to_csr(), s)
    (True, False)
    """
    S = stencil.to_csr()
    return A.shape == S.shape and (sp.csr_array(A) != S).nnz == 0

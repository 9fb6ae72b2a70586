"""One AMG V-cycle of a pyamg hierarchy in a single numba call.

``pyamg.MultilevelSolver.aspreconditioner(cycle="V").matvec(b)`` runs
``solve(b, x0=0, maxiter=1)``: one V-cycle from ``x = 0`` (pyamg/multilevel.py,
``__solve``). On level l with matrix ``A_l``, restriction ``R_l`` and
prolongation ``P_l``, starting from ``x_l = 0``:

    x_l ← S_pre(A_l, x_l, b_l)                  presmoother                 (1)
    b_{l+1} = R_l (b_l − A_l x_l)               restricted residual        (2)
    x_{l+1} = V-cycle on level l + 1 from 0,    or ``A_c⁺ b_c`` (pinv) on
                                                the coarsest level         (3)
    x_l ← x_l + P_l x_{l+1}                     coarse-grid correction     (4)
    x_l ← S_post(A_l, x_l, b_l)                 postsmoother               (5)

``smoothed_aggregation_solver`` defaults to ``('block_gauss_seidel',
{'sweep': 'symmetric'})`` before and after, which on its levels (CSR on the
finest, BSR with 1×1 blocks below) is plain Gauss–Seidel
(``relaxation.gauss_seidel``, one iteration, ω = 1): a forward
then a backward sweep of

    x_i ← (1 − ω) x_i + ω (b_i − Σ_{j≠i} a_ij x_j) / a_ii                  (6)

rows with ``a_ii = 0`` left alone; and the coarse solver ``'pinv'``:
``x = pinv(A_c.toarray()) @ b`` (scipy's SVD pseudo-inverse, precomputed).

pyamg runs (1)-(5) with a Python recursion and a C++ call per sweep and
product: on 2D heat with 9,801 unknowns (4 levels) about 1.6–2.5 ms per cycle,
mostly the Python around the calls. :func:`vcycle` does the whole cycle in one
compiled call, looping down the levels and back up. The sweeps are
:func:`~unisolve.solvers.kernels.sor_csr.sor_forward_csr` /
:func:`~unisolve.solvers.kernels.sor_csr.sor_backward_csr` (one fused
multiply-add between rows); the first presmoothing sweep starts from
``x_l = 0``, so when it runs forward the entries right of the diagonal
multiply zeros and are skipped (:func:`_forward_from_zero`; ``0 · a = 0``
exactly, so this changes nothing but the time). The result equals pyamg's to
rounding (tested to 1e-12 relative).

:class:`AMGCycle` flattens a hierarchy into arrays (O(nnz), no pyamg calls
after that); :meth:`AMGCycle.from_pyamg` returns None for a hierarchy it does
not reproduce (other smoothers, BSR levels, another coarse solver,
duplicate entries), and the caller keeps pyamg's cycle. The plain-numpy
reference is :func:`vcycle_reference` (pyamg itself).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit

from unisolve.solvers.kernels.sor_csr import sor_backward_csr, sor_forward_csr

__all__ = ["AMGCycle", "vcycle", "vcycle_reference"]

_ONE = np.uint64(1)
#: Sweep codes of a smoother: forward, backward, symmetric (forward then backward).
_SWEEPS = {"forward": 0, "backward": 1, "symmetric": 2}


@njit(cache=True, nogil=True, fastmath={"contract"})
def _forward_from_zero(indptr, indices, data, inv_diag, x, b, omega, n):
    """Forward sweep (6) from ``x = 0``: only the entries left of the diagonal count.

    ``x_i = ω (b_i − Σ_{j<i} a_ij x_j) / a_ii``, ``a_{i,i−1} x_{i−1}`` from a
    register as in :func:`~unisolve.solvers.kernels.sor_csr.sor_forward_csr`.
    """
    xprev = 0.0  # x_{i−1}
    for k in range(n):
        i = np.uint64(k)
        fresh = 0.0  # Σ_{j < i − 1} a_ij x_j
        g = 0.0  # a_{i,i−1}
        for jj in range(indptr[i], indptr[i + _ONE]):
            j = indices[jj]
            if j < i:
                if j + _ONE == i:
                    g += data[jj]
                else:
                    fresh += data[jj] * x[j]
        w = omega * inv_diag[i]
        xi = w * (b[i] - fresh) - (w * g) * xprev  # (6) with x = 0
        x[i] = xi
        xprev = xi


@njit(cache=True, nogil=True, fastmath={"contract"})
def _smooth(indptr, indices, data, inv_diag, x, b, omega, sweep, iterations, from_zero):
    """``iterations`` sweeps (6) in place; ``from_zero``: x is 0 on entry."""
    n = x.shape[0]
    for it in range(iterations):
        if sweep != 1:  # forward, or the first half of symmetric
            if from_zero and it == 0:
                _forward_from_zero(indptr, indices, data, inv_diag, x, b, omega, n)
            else:
                sor_forward_csr(indptr, indices, data, inv_diag, x, b, omega, 0, n)
        if sweep != 0:  # backward, or the second half of symmetric
            sor_backward_csr(indptr, indices, data, inv_diag, x, b, omega, n - 1, -1)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _csr_matvec(indptr, indices, data, v, out):
    """``out = M v`` for CSR M (row sums left to right, like scipy)."""
    for k in range(out.shape[0]):
        i = np.uint64(k)
        s = 0.0
        for jj in range(indptr[i], indptr[i + _ONE]):
            s += data[jj] * v[indices[jj]]
        out[i] = s


@njit(cache=True, nogil=True, fastmath={"contract"})
def vcycle(b, out, sizes, a_ptr_off, a_nnz_off, a_ptr, a_idx, a_dat, inv_diag,
           p_ptr_off, p_nnz_off, p_ptr, p_idx, p_dat,
           r_ptr_off, r_nnz_off, r_ptr, r_idx, r_dat,
           smoother, omega, coarse, vec_off, xs, bs, rs):
    """``out = V-cycle(b)`` from ``x = 0``: (1)-(5) on every level, no recursion.

    Level l (of ``L = sizes.shape[0]``) has ``sizes[l]`` unknowns; its A is
    ``a_ptr[a_ptr_off[l]:a_ptr_off[l+1]]``, ``a_idx/a_dat[a_nnz_off[l]:…]``
    (local CSR), likewise P and R for l < L − 1. ``smoother[l]`` holds
    (pre sweep, pre iterations, post sweep, post iterations) with sweep codes
    0 forward / 1 backward / 2 symmetric, ``omega[l]`` (pre ω, post ω).
    ``coarse`` is the dense pseudo-inverse of the coarsest A. ``xs``, ``bs``,
    ``rs`` are work vectors, level l at ``vec_off[l]:vec_off[l+1]``.
    """
    nlev = sizes.shape[0]
    last = nlev - 1
    bs[vec_off[0]:vec_off[1]] = b
    for lvl in range(last):  # down: (1), (2)
        a0, a1 = a_ptr_off[lvl], a_ptr_off[lvl + 1]
        z0, z1 = a_nnz_off[lvl], a_nnz_off[lvl + 1]
        v0, v1, v2 = vec_off[lvl], vec_off[lvl + 1], vec_off[lvl + 2]
        indptr, indices, data = a_ptr[a0:a1], a_idx[z0:z1], a_dat[z0:z1]
        x, bl, r = xs[v0:v1], bs[v0:v1], rs[v0:v1]
        x[:] = 0.0
        _smooth(indptr, indices, data, inv_diag[v0:v1], x, bl, omega[lvl, 0],
                smoother[lvl, 0], smoother[lvl, 1], True)  # (1)
        _csr_matvec(indptr, indices, data, x, r)
        for i in range(r.shape[0]):
            r[i] = bl[i] - r[i]  # b_l − A_l x_l
        _csr_matvec(r_ptr[r_ptr_off[lvl]:r_ptr_off[lvl + 1]],
                    r_idx[r_nnz_off[lvl]:r_nnz_off[lvl + 1]],
                    r_dat[r_nnz_off[lvl]:r_nnz_off[lvl + 1]], r, bs[v1:v2])  # (2)
    c0, c1 = vec_off[last], vec_off[last + 1]
    xc, bc = xs[c0:c1], bs[c0:c1]
    for i in range(c1 - c0):  # (3): x_c = A_c⁺ b_c
        s = 0.0
        for j in range(c1 - c0):
            s += coarse[i, j] * bc[j]
        xc[i] = s
    for lvl in range(last - 1, -1, -1):  # up: (4), (5)
        v0, v1, v2 = vec_off[lvl], vec_off[lvl + 1], vec_off[lvl + 2]
        x, bl, xcoarse = xs[v0:v1], bs[v0:v1], xs[v1:v2]
        pp, pz0, pz1 = p_ptr[p_ptr_off[lvl]:p_ptr_off[lvl + 1]], p_nnz_off[lvl], p_nnz_off[lvl + 1]
        p_indices, p_data = p_idx[pz0:pz1], p_dat[pz0:pz1]
        for k in range(x.shape[0]):  # (4): x_l += P_l x_{l+1}
            i = np.uint64(k)
            s = 0.0
            for jj in range(pp[i], pp[i + _ONE]):
                s += p_data[jj] * xcoarse[p_indices[jj]]
            x[i] += s
        a0, a1 = a_ptr_off[lvl], a_ptr_off[lvl + 1]
        z0, z1 = a_nnz_off[lvl], a_nnz_off[lvl + 1]
        _smooth(a_ptr[a0:a1], a_idx[z0:z1], a_dat[z0:z1], inv_diag[v0:v1], x, bl,
                omega[lvl, 1], smoother[lvl, 2], smoother[lvl, 3], False)  # (5)
    out[:] = xs[vec_off[0]:vec_off[1]]


def vcycle_reference(ml: Any, b: np.ndarray) -> np.ndarray:
    """pyamg's own V-cycle from zero, the reference :func:`vcycle` is tested against.

    Examples
    --------
    >>> import numpy as np, pyamg, unisolve as us
    >>> ml = pyamg.smoothed_aggregation_solver(us.problems.poisson2d(12).A)
    >>> b = np.ones(144)
    >>> bool(np.allclose(vcycle_reference(ml, b), AMGCycle.from_pyamg(ml)(b)))
    True
    """
    return ml.aspreconditioner(cycle="V").matvec(b)


def _gauss_seidel_params(smoother: Any) -> tuple[int, int, float] | None:
    """(sweep code, iterations, ω) of a pyamg Gauss–Seidel smoother, else None."""
    from pyamg.relaxation import relaxation

    if not isinstance(smoother, functools.partial) or smoother.func is not relaxation.gauss_seidel:
        return None
    if smoother.args or set(smoother.keywords) - {"iterations", "sweep", "omega"}:
        return None
    sweep = smoother.keywords.get("sweep", "forward")
    iterations = smoother.keywords.get("iterations", 1)
    omega = smoother.keywords.get("omega", 1.0)
    if sweep not in _SWEEPS or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        return None
    return _SWEEPS[sweep], int(iterations), float(omega)


def _plain_csr(M: Any) -> sp.csr_array | None:
    """M as a float64 CSR without duplicate entries, or None."""
    if not sp.issparse(M) or M.dtype != np.float64:
        return None
    M = sp.csr_array(M)
    if not M.has_canonical_format:
        C = M.copy()
        C.sum_duplicates()
        if C.nnz != M.nnz:
            return None  # pyamg's sweeps read duplicates differently from a matvec
    return M


def _concat(mats: list[sp.csr_array]) -> tuple[np.ndarray, ...]:
    """Concatenated local CSR arrays and their offsets (indptr, nnz)."""
    ptr_off = np.zeros(len(mats) + 1, dtype=np.int64)
    nnz_off = np.zeros(len(mats) + 1, dtype=np.int64)
    for k, M in enumerate(mats):
        ptr_off[k + 1] = ptr_off[k] + M.shape[0] + 1
        nnz_off[k + 1] = nnz_off[k] + M.nnz
    if not mats:
        return (ptr_off, nnz_off, np.zeros(1, np.int64), np.zeros(1, np.uint32), np.zeros(1))
    ptr = np.concatenate([M.indptr.astype(np.int64) for M in mats])
    wide = max(max(M.shape) for M in mats) >= 2**31
    idx = np.concatenate([M.indices.astype(np.int64 if wide else np.int32) for M in mats])
    idx = idx.view(np.uint64 if wide else np.uint32)  # unsigned: no wrap-around test
    dat = np.concatenate([M.data for M in mats])
    return ptr_off, nnz_off, ptr, idx, dat


class AMGCycle:
    """pyamg's V-cycle preconditioner as one numba call per application.

    Build with :meth:`from_pyamg`; ``cycle(b)`` returns
    ``ml.aspreconditioner(cycle="V").matvec(b)`` to rounding.

    Examples
    --------
    >>> import numpy as np, pyamg, unisolve as us
    >>> A = us.problems.poisson2d(20).A
    >>> ml = pyamg.smoothed_aggregation_solver(A)
    >>> cycle = AMGCycle.from_pyamg(ml)
    >>> b = np.arange(400.0)
    >>> z, z_ref = cycle(b), ml.aspreconditioner(cycle="V").matvec(b)
    >>> bool(np.linalg.norm(z - z_ref) <= 1e-12 * np.linalg.norm(z_ref))
    True
    """

    def __init__(self, args: tuple[Any, ...], n: int) -> None:
        self._args = args
        self.n = n

    @classmethod
    def from_pyamg(cls, ml: Any) -> AMGCycle | None:
        """Flatten a pyamg ``MultilevelSolver``; None when it is not reproduced here.

        Reproduced: float64 CSR or 1×1-block BSR levels, Gauss–Seidel pre/post smoothers (any
        sweep, iterations, ω; the smoothed-aggregation default) and the 'pinv'
        coarse solver (pyamg's default).
        """
        levels = ml.levels
        if ml.coarse_solver.name() not in ("'pinv'", "'pinv2'"):
            return None
        As, Ps, Rs = [], [], []
        smoother = np.zeros((max(len(levels) - 1, 1), 4), dtype=np.int64)
        omega = np.ones((max(len(levels) - 1, 1), 2))
        for lvl, level in enumerate(levels):
            A = _plain_csr(level.A)
            if A is None or A.shape[0] != A.shape[1]:
                return None
            As.append(A)
            if lvl == len(levels) - 1:
                break
            P, R = _plain_csr(level.P), _plain_csr(level.R)
            pre = _gauss_seidel_params(getattr(level, "presmoother", None))
            post = _gauss_seidel_params(getattr(level, "postsmoother", None))
            if P is None or R is None or pre is None or post is None:
                return None
            if level.A.format == "bsr":
                if level.A.blocksize != (1, 1):
                    return None  # pyamg runs block Gauss–Seidel on larger blocks
                pre, post = (*pre[:2], 1.0), (*post[:2], 1.0)  # pyamg's BSR sweep ignores ω
            elif level.A.format != "csr":
                return None
            Ps.append(P)
            Rs.append(R)
            smoother[lvl] = pre[0], pre[1], post[0], post[1]
            omega[lvl] = pre[2], post[2]
        Ac = levels[-1].A
        if Ac.nnz == 0:
            coarse = np.zeros(Ac.shape)  # pyamg: no correction
        else:
            # the coarse solver's own pseudo-inverse (same kwargs): solve once to cache it
            ml.coarse_solver(Ac, np.zeros(Ac.shape[0]))
            coarse = getattr(ml.coarse_solver, "P", None)
            if coarse is None:
                return None
            coarse = np.ascontiguousarray(coarse, dtype=np.float64)
        sizes = np.array([A.shape[0] for A in As], dtype=np.int64)
        vec_off = np.zeros(len(As) + 2, dtype=np.int64)
        vec_off[1:-1] = np.cumsum(sizes)
        vec_off[-1] = vec_off[-2]
        inv_diag = np.zeros(vec_off[-2])
        for lvl, A in enumerate(As):
            d = A.diagonal()
            nz = d != 0.0  # pyamg leaves rows with a_ii = 0 alone: 1/a_ii := 0 does too
            inv = np.zeros_like(d)
            inv[nz] = 1.0 / d[nz]
            inv_diag[vec_off[lvl]:vec_off[lvl + 1]] = inv
        a = _concat(As)
        p = _concat(Ps)
        r = _concat(Rs)
        total = int(vec_off[-2])
        work = (np.zeros(total), np.zeros(total), np.zeros(total))
        args = (sizes, *a, inv_diag, *p, *r, smoother, omega, coarse, vec_off, *work)
        return cls(args, int(sizes[0]))

    def __call__(self, b: np.ndarray) -> np.ndarray:
        """``z = V-cycle(b)`` from zero (a new array)."""
        b = np.ascontiguousarray(b, dtype=np.float64)
        if b.shape != (self.n,):
            raise ValueError(f"b has shape {b.shape}; this hierarchy needs ({self.n},)")
        out = np.empty(self.n)
        vcycle(b, out, *self._args)
        return out

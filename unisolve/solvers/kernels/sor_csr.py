"""SOR sweeps over the rows of a CSR matrix (numba), for any sparse matrix.

One row update of SOR with relaxation weight ω (Young 1950):

    x_i ← x_i + ω (b_i − Σ_j a_ij x_j) / a_ii            (1)

which equals ``(1 − ω) x_i + ω (b_i − Σ_{j≠i} a_ij x_j) / a_ii``; the row
residual in (1) is taken with the freshest values of x, rows visited in the
given order. A forward sweep visits rows 0..n−1, a backward sweep n−1..0, a
symmetric sweep forward then backward (one SSOR step). ``inv_diag`` holds
``1 / a_ii`` (the caller checks that no diagonal entry is zero).

Speed. A sweep is sequential: row i reads ``x_{i−1}``, written by the row just
before. Summed left to right, the whole row sum and the update wait for that
value (a store, a reload, then four dependent adds), so the sweep ran at the
latency of that chain, not at memory speed: 1.4–1.7× PyAMG's C++ kernel. The
kernels below sum the entries of this sweep's rows apart, keep ``x_{i−1}`` in
a register and finish with ``x_i = c_i − ω a_{i,i−1} x_{i−1} / a_ii``: one
fused multiply-add between two rows. Measured on an AMD EPYC (2 cores, the
other busy): 0.41× PyAMG per forward sweep on 2D Poisson 1024², 0.53× on 3D
96³ (``benchmarks/kernels_ssor.py``). Index width (int32 vs int64), bounds
checks (off in numba) and fastmath were not the cause. A sweep timed right
after a numba ``prange`` kernel also pays for the OpenMP workers still
spinning on the second core (measured +30–50 %, PyAMG alike).

:func:`sor_solve_csr` runs a whole solve in compiled calls of up to
:data:`SOLVE_CHUNK` iterations (:func:`sor_iterations_csr`): sweep, true
residual ``‖b − A x‖`` after every sweep, stop on the rule of
:class:`unisolve.result.IterationMonitor`; the residual buffer is reused, never
sized by ``maxiter``. For small systems (the
Learning-to-Relax sequences have n = 100) the Python work between sweeps
dominates otherwise.

The plain-numpy reference, :func:`sor_sweep_reference`, loops in Python and is
only for tests on small matrices.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ...norms import blue_add, blue_finish

__all__ = [
    "SOLVE_CHUNK",
    "SOLVE_CONVERGED",
    "SOLVE_DIVERGED",
    "SOLVE_MAX_ITER",
    "SOLVE_NONFINITE",
    "inverse_diagonal",
    "residual_status",
    "sor_backward_csr",
    "sor_forward_csr",
    "sor_iterations_csr",
    "sor_solve_csr",
    "sor_sweep",
    "sor_sweep_csr",
    "sor_sweep_csr_ordered",
    "sor_sweep_reference",
    "unsigned_indices",
]


def unsigned_indices(indices: np.ndarray) -> np.ndarray:
    """View CSR column indices as unsigned ints of the same width (no copy).

    numba must guard every signed index against Python-style negative
    wrap-around; unsigned indices skip that test in the innermost loop
    (measured: about 20% faster sweeps on 2D Poisson 1024²).
    """
    return indices.view(np.uint32 if indices.itemsize == 4 else np.uint64)


_ONE = np.uint64(1)  # unsigned row numbers: no negative-index wrap test in the loops


@njit(cache=True, nogil=True, fastmath={"contract"})
def sor_forward_csr(indptr, indices, data, inv_diag, x, b, omega, row_start, row_stop):
    """In-place SOR (1) over rows ``row_start, …, row_stop − 1``, in that order.

    Row i's sum is split into the entries updated earlier in this sweep
    (``j < i``, summed last) and the rest; the entry ``a_{i,i−1}`` multiplies
    ``x_{i−1}`` kept in a register. So the row-to-row dependency is one fused
    multiply-add, ``x_i = c_i − ω a_{i,i−1} x_{i−1} / a_ii``, instead of a store,
    a reload and the whole row sum (about 2× faster than that plain loop on 2D
    Poisson 1024²). The result differs from (1) summed left to right by
    rounding only.
    """
    if row_start >= row_stop:
        return
    xprev = x[row_start - 1] if row_start > 0 else 0.0  # x_{i−1}
    for k in range(row_start, row_stop):
        i = np.uint64(k)
        stale = b[i]  # b_i − Σ_{j ≥ i} a_ij x_j
        fresh = 0.0  # Σ_{j < i − 1} a_ij x_j (this sweep's values)
        g = 0.0  # a_{i,i−1}
        for jj in range(indptr[i], indptr[i + _ONE]):
            j = indices[jj]
            if j < i:
                if j + _ONE == i:
                    g += data[jj]
                else:
                    fresh += data[jj] * x[j]
            else:
                stale -= data[jj] * x[j]
        w = omega * inv_diag[i]
        xi = (x[i] + w * (stale - fresh)) - (w * g) * xprev  # (1)
        x[i] = xi
        xprev = xi


@njit(cache=True, nogil=True, fastmath={"contract"})
def sor_backward_csr(indptr, indices, data, inv_diag, x, b, omega, row_start, row_stop):
    """In-place SOR (1) over rows ``row_start, row_start − 1, …, row_stop + 1``.

    The mirror of :func:`sor_forward_csr`: entries ``j > i`` are this sweep's,
    ``a_{i,i+1}`` multiplies ``x_{i+1}`` from a register.
    """
    n = x.shape[0]
    if row_start <= row_stop:
        return
    xnext = x[row_start + 1] if row_start + 1 < n else 0.0  # x_{i+1}
    for k in range(row_start - row_stop):
        i = np.uint64(row_start - k)
        stale = b[i]  # b_i − Σ_{j ≤ i} a_ij x_j
        fresh = 0.0  # Σ_{j > i + 1} a_ij x_j (this sweep's values)
        g = 0.0  # a_{i,i+1}
        for jj in range(indptr[i], indptr[i + _ONE]):
            j = indices[jj]
            if j > i:
                if j == i + _ONE:
                    g += data[jj]
                else:
                    fresh += data[jj] * x[j]
            else:
                stale -= data[jj] * x[j]
        w = omega * inv_diag[i]
        xi = (x[i] + w * (stale - fresh)) - (w * g) * xnext  # (1)
        x[i] = xi
        xnext = xi


@njit(cache=True, nogil=True)
def sor_sweep_csr(indptr, indices, data, inv_diag, x, b, omega, row_start, row_stop, row_step):
    """In-place SOR sweep over rows ``range(row_start, row_stop, row_step)``.

    Steps ±1 run :func:`sor_forward_csr` / :func:`sor_backward_csr`; other
    steps the plain loop.
    """
    if row_step == 1:
        sor_forward_csr(indptr, indices, data, inv_diag, x, b, omega, row_start, row_stop)
        return
    if row_step == -1:
        sor_backward_csr(indptr, indices, data, inv_diag, x, b, omega, row_start, row_stop)
        return
    for i in range(row_start, row_stop, row_step):
        r = b[i]
        for jj in range(indptr[i], indptr[i + 1]):
            r -= data[jj] * x[indices[jj]]
        x[i] += omega * r * inv_diag[i]  # (1)


@njit(cache=True, nogil=True)
def sor_sweep_csr_ordered(indptr, indices, data, inv_diag, x, b, omega, rows):
    """In-place SOR sweep visiting the rows in the order given by ``rows``."""
    for k in range(rows.shape[0]):
        i = rows[k]
        r = b[i]
        for jj in range(indptr[i], indptr[i + 1]):
            r -= data[jj] * x[indices[jj]]
        x[i] += omega * r * inv_diag[i]  # (1)


#: Codes returned by :func:`sor_solve_csr` (and the other whole-solve kernels).
SOLVE_CONVERGED, SOLVE_MAX_ITER, SOLVE_DIVERGED, SOLVE_NONFINITE = 0, 1, 2, 3


@njit(cache=True, nogil=True, inline="always")
def residual_status(rnorm, threshold, limit):
    """The monitor's rule inside a compiled solve: a ``SOLVE_*`` code, or −1 to go on.

    Nonfinite first, then converged (``rnorm ≤ threshold``), then diverged
    (``rnorm > limit``), as :class:`unisolve.result.IterationMonitor` decides.
    """
    if not np.isfinite(rnorm):
        return SOLVE_NONFINITE
    if rnorm <= threshold:
        return SOLVE_CONVERGED
    if rnorm > limit:
        return SOLVE_DIVERGED
    return -1


@njit(cache=True, nogil=True)
def _residual_norm(indptr, indices, data, x, b):
    """``‖b − A x‖₂``, summed by Blue's scaled accumulators (no over/underflow)."""
    small = 0.0
    mid = 0.0
    big = 0.0
    for i in range(b.shape[0]):
        r = b[i]
        for jj in range(indptr[i], indptr[i + 1]):
            r -= data[jj] * x[indices[jj]]  # r_i = b_i − Σ_j a_ij x_j
        small, mid, big = blue_add(r, small, mid, big)
    return blue_finish(small, mid, big)


@njit(cache=True, nogil=True)
def sor_iterations_csr(indptr, indices, data, inv_diag, x, b, omega, forward, backward,
                       threshold, divtol, limit, first, residuals):
    """SOR iterations from ``first`` on, in place, one residual per entry of ``residuals``.

    ``first = 0`` starts the solve: ``residuals[0] = ‖b − A x₀‖`` (nonfinite or
    converged ends it there) and the divergence limit becomes
    ``divtol · max(‖r₀‖, threshold)``; a later call passes that ``limit``
    back with the next iteration number. Each iteration k is a forward and/or
    backward sweep (1), then the true residual norm, stored in
    ``residuals[k − first]``. Returns ``(last, code, limit)``: the last
    iteration recorded, a ``SOLVE_*`` code, or −1 when the buffer is full and
    the solve goes on (see :func:`residual_status`).
    """
    n = b.shape[0]
    j0 = 0
    if first == 0:
        rnorm = _residual_norm(indptr, indices, data, x, b)
        residuals[0] = rnorm
        if not np.isfinite(rnorm):
            return 0, SOLVE_NONFINITE, limit
        if rnorm <= threshold:
            return 0, SOLVE_CONVERGED, limit
        limit = divtol * max(rnorm, threshold)
        j0 = 1
    for j in range(j0, residuals.shape[0]):
        if forward:
            sor_forward_csr(indptr, indices, data, inv_diag, x, b, omega, 0, n)
        if backward:
            sor_backward_csr(indptr, indices, data, inv_diag, x, b, omega, n - 1, -1)
        rnorm = _residual_norm(indptr, indices, data, x, b)
        residuals[j] = rnorm
        code = residual_status(rnorm, threshold, limit)
        if code >= 0:
            return first + j, code, limit
    return first + residuals.shape[0] - 1, -1, limit


#: Entries of the residual buffer :func:`sor_solve_csr` reuses across its calls.
SOLVE_CHUNK = 4096


def sor_solve_csr(indptr, indices, data, inv_diag, x, b, omega, forward, backward,
                  threshold, maxiter, divtol, chunk=SOLVE_CHUNK) -> tuple[int, int, list]:
    """Whole SOR solve in place; returns ``(iterations, code, residuals)``.

    Each iteration is a forward and/or backward sweep (1), then the true
    residual norm; ``residuals`` (a list) has ``‖r₀‖`` at x0 first, then one
    entry per iteration. Codes: converged when ``‖r‖ ≤ threshold``; diverged
    when ``‖r‖ > divtol · max(‖r₀‖, threshold)``; nonfinite on NaN/inf;
    max_iter after ``maxiter`` sweeps. The compiled iterations
    (:func:`sor_iterations_csr`) run in calls of at most ``chunk`` residuals
    into one reused buffer, so memory does not grow with ``maxiter`` (any
    Python int, e.g. ``10**12``), only with the iterations done; a solve of
    fewer than ``chunk`` iterations is one compiled call.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[4.0, -1.0], [-1.0, 4.0]])); b = np.array([3.0, 3.0])
    >>> x = np.zeros(2)
    >>> its, code, res = sor_solve_csr(A.indptr, A.indices, A.data, inverse_diagonal(A), x, b,
    ...                                1.0, True, False, 1e-12, 10**12, 1e8)
    >>> code == SOLVE_CONVERGED, len(res) == its + 1, np.allclose(x, 1.0)
    (True, True, True)
    """
    buffer = np.empty(max(1, min(int(chunk), int(maxiter) + 1)))
    residuals: list = []
    k, limit = 0, np.inf
    while True:
        count = min(buffer.shape[0], maxiter - k + 1)  # iterations k .. k + count − 1
        last, code, limit = sor_iterations_csr(indptr, indices, data, inv_diag, x, b, omega,
                                               forward, backward, threshold, divtol, limit,
                                               k, buffer[:count])
        residuals.extend(buffer[: last - k + 1].tolist())
        if code >= 0:
            return int(last), int(code), residuals
        if last >= maxiter:
            return int(maxiter), SOLVE_MAX_ITER, residuals
        k = int(last) + 1


def inverse_diagonal(A) -> np.ndarray:
    """``1 / diag(A)`` of a scipy sparse matrix; ``ValueError`` names a zero pivot."""
    d = np.asarray(A.diagonal(), dtype=np.float64)
    zero = np.flatnonzero(d == 0)
    if zero.size:
        raise ValueError(
            f"A has a zero on the diagonal (row {int(zero[0])}"
            f"{f' and {zero.size - 1} more' if zero.size > 1 else ''}): SOR, SSOR, "
            "Gauss-Seidel and Jacobi divide by a_ii. Reorder the unknowns (e.g. a "
            "permutation that puts nonzeros on the diagonal) or use method='cg'/'pcg'"
        )
    return 1.0 / d


def sor_sweep(A, x: np.ndarray, b: np.ndarray, omega: float, sweep: str = "forward",
              inv_diag: np.ndarray | None = None) -> None:
    """One in-place SOR sweep of a scipy CSR matrix: 'forward', 'backward' or 'symmetric'.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[4.0, -1.0], [-1.0, 4.0]]))
    >>> x = np.zeros(2); sor_sweep(A, x, np.array([3.0, 3.0]), omega=1.0)
    >>> x
    array([0.75  , 0.9375])
    """
    if sweep not in ("forward", "backward", "symmetric"):
        raise ValueError(f"sweep must be 'forward', 'backward' or 'symmetric', got {sweep!r}")
    if inv_diag is None:
        inv_diag = inverse_diagonal(A)
    n = A.shape[0]
    args = (unsigned_indices(A.indptr), unsigned_indices(A.indices), A.data, inv_diag, x, b,
            float(omega))
    if sweep in ("forward", "symmetric"):
        sor_forward_csr(*args, 0, n)
    if sweep in ("backward", "symmetric"):
        sor_backward_csr(*args, n - 1, -1)


def sor_sweep_reference(A, x: np.ndarray, b: np.ndarray, omega: float, rows) -> None:
    """Plain-numpy reference: ``x_i ← (1 − ω) x_i + ω (b_i − Σ_{j≠i} a_ij x_j) / a_ii``."""
    A = A.tocsr()
    for i in rows:
        lo, hi = A.indptr[i], A.indptr[i + 1]
        cols, vals = A.indices[lo:hi], A.data[lo:hi]
        off = cols != i
        diag = vals[~off].sum()
        x[i] = (1 - omega) * x[i] + omega * (b[i] - vals[off] @ x[cols[off]]) / diag

"""Matrix-free red-black SOR sweeps for constant-coefficient 5/7-point stencils (numba).

The matrix is the :class:`~unisolve.problems.Stencil` one: row ``p`` reads
``diagonal * x_p + offdiagonal * Σ_{q ~ p} x_q`` over the grid neighbours ``q``
of node ``p``, homogeneous Dirichlet data outside the grid, unknowns in C order.
Node ``(i, j)`` (``(i, j, k)`` in 3D) is red when ``(i + j [+ k]) % 2 == 0`` and
black otherwise. A red node's neighbours are all black and vice versa, so all
nodes of one colour can be updated at once, in parallel, with the SOR update
(Young 1950; red-black ordering: Adams & Ortega 1982)

    x_p ← x_p + ω (b_p − d x_p − o Σ_{q ~ p} x_q) / d              (1)

where ``d`` is the diagonal and ``o`` the off-diagonal coefficient. A forward
sweep updates red then black, a backward sweep black then red, a symmetric
sweep (one SSOR step) red, black, black, red. Because (1) never reads a node of
its own colour, the result equals the sequential CSR sweep that visits the rows
in the order :func:`red_black_rows` returns (all red, then all black).

How the kernels run (one pass over memory per sweep). Call a grid row (2D) or
plane (3D) a *unit*, and the colours of a sweep its stages ``s = 0..S−1``.
Stage ``s`` of unit ``r`` reads units ``r ± 1`` after their stage ``s − 1``, so
the sweep is a wavefront: step ``i`` does stage ``s`` of unit ``i − s`` for
``s = 0..S−1`` (and, in a solve, the residual of unit ``i − S``, whose
neighbours are then final). Every update reads exactly the values the
colour-by-colour sweep reads, so the results are bitwise equal, while x and b
stream through the cache once instead of ``S`` times. The parallel kernel cuts
the units into bands (:data:`BANDS_PER_THREAD` per thread) and runs the
wavefront in each band with *ghost units*: the ``S`` units beyond each band
edge are copied before the threads start, and a band recomputes the first
``S − 1`` of them (stage ``s`` of the ghost ``g`` units away, ``s ≤ S − 1 −
g``) in a private buffer, with the same arithmetic as their owner. So the
bands are independent: one parallel region per sweep, no barrier inside it,
and each thread claims the next free band (an atomic counter) when it is done
with one, so a thread slowed by another process on its core sweeps fewer
bands instead of holding the others up. The result is bitwise that of the
serial kernel, for any number of bands or threads. The innermost loop visits
every other node of a row, branch free (the row ends are peeled), which LLVM
vectorises with strided loads.

Threads: :mod:`unisolve.threads` sets how many; grids below
:data:`PARALLEL_MIN_NODES` nodes always run serially, and larger ones pick the
serial or the parallel kernel by the time each took so far
(:class:`~unisolve.threads.SerialOrParallel`), so an oversubscribed machine
makes them serial instead of slow. numba's OpenMP threads are started with
passive waiting (:func:`~unisolve.threads.passive_openmp_wait`): spinning
threads are what made the parallel sweeps collapse beside a busy core.

:func:`red_black_sor_sweep_reference` is the plain-numpy reference (vectorised
with slicing; any number of dimensions).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import numba
import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic, overload

from ...threads import SerialOrParallel, get_num_threads, passive_openmp_wait
from .sor_csr import (
    SOLVE_CONVERGED,
    SOLVE_MAX_ITER,
    SOLVE_NONFINITE,
    residual_status,
)

__all__ = [
    "PARALLEL_MIN_NODES",
    "SWEEP_COLOURS",
    "forget_kernel_timings",
    "red_black_residual_norm",
    "red_black_rows",
    "red_black_sor_solve",
    "red_black_sor_sweep_2d",
    "red_black_sor_sweep_3d",
    "red_black_sor_sweep_reference",
    "sweep_colours",
]

#: Colour sequence of each sweep direction: 0 = red, 1 = black.
SWEEP_COLOURS = {
    "forward": np.array([0, 1], dtype=np.int64),
    "backward": np.array([1, 0], dtype=np.int64),
    "symmetric": np.array([0, 1, 1, 0], dtype=np.int64),
}


#: Grids with fewer nodes are swept by the serial kernel: below this size a
#: parallel launch costs more than it saves (measured: benchmarks/threads.py).
PARALLEL_MIN_NODES = 1 << 15

#: Fewest units (rows / planes) per band of the parallel kernel.
MIN_BAND_UNITS = 8

#: Bands per thread: threads take the next free band when done with one, so a
#: thread that shares its core with another process sweeps fewer of them.
BANDS_PER_THREAD = 4

#: A solve hands control back to Python after about this many seconds of
#: sweeps, to time them and choose between the serial and the parallel kernel.
SOLVE_CHUNK_SECONDS = 2e-3
#: Most iterations in one chunk (the size of the reused residual buffer).
_MAX_CHUNK = 4096


def sweep_colours(sweep: str) -> np.ndarray:
    """Colour order of a sweep direction (``ValueError`` naming the choices otherwise).

    Examples
    --------
    >>> sweep_colours("symmetric")
    array([0, 1, 1, 0])
    """
    try:
        return SWEEP_COLOURS[sweep]
    except (KeyError, TypeError):
        raise ValueError(
            f"sweep must be 'forward', 'backward' or 'symmetric', got {sweep!r}"
        ) from None


# ------------------------------------------------------------- one grid row

@njit(cache=True, nogil=True, inline="always")
def _relax_row_5pt(xr, up, dn, br, diagonal, offdiagonal, w, start):
    """(1) on nodes ``start, start + 2, …`` of a 2D grid row; ``w = ω / d``.

    ``up``/``dn`` are the rows above and below (zeros outside the grid). The
    neighbour sum is ``((up + dn) + left) + right``; the row ends are peeled
    so that the inner loop has no branch.
    """
    n = xr.shape[0]
    j = start
    if j == 0:
        s = up[0] + dn[0]
        if n > 1:
            s += xr[1]
        # (1)  x_p ← x_p + ω (b_p − d x_p − o Σ_q x_q) / d
        xr[0] += w * (br[0] - diagonal * xr[0] - offdiagonal * s)
        j = 2
    m = (n - j) // 2  # nodes j, j + 2, … ≤ n − 2: both row neighbours exist
    for k in range(m):
        jj = j + 2 * k
        s = up[jj] + dn[jj] + xr[jj - 1] + xr[jj + 1]
        xr[jj] += w * (br[jj] - diagonal * xr[jj] - offdiagonal * s)
    jj = j + 2 * m
    if jj == n - 1 and jj > 0:
        s = up[jj] + dn[jj] + xr[jj - 1]
        xr[jj] += w * (br[jj] - diagonal * xr[jj] - offdiagonal * s)


@njit(cache=True, nogil=True, inline="always")
def _relax_row_7pt(xr, ui, di, uj, dj, br, diagonal, offdiagonal, w, start):
    """(1) on nodes ``start, start + 2, …`` of a 3D grid row (fixed ``i, j``).

    ``ui``/``di``: the same row in planes ``i ∓ 1``; ``uj``/``dj``: rows
    ``j ∓ 1`` of plane ``i`` (zeros outside the grid). Neighbour sum
    ``((((ui + di) + uj) + dj) + left) + right``.
    """
    n = xr.shape[0]
    k = start
    if k == 0:
        s = ui[0] + di[0] + uj[0] + dj[0]
        if n > 1:
            s += xr[1]
        # (1)  x_p ← x_p + ω (b_p − d x_p − o Σ_q x_q) / d
        xr[0] += w * (br[0] - diagonal * xr[0] - offdiagonal * s)
        k = 2
    m = (n - k) // 2
    for q in range(m):
        kk = k + 2 * q
        s = ui[kk] + di[kk] + uj[kk] + dj[kk] + xr[kk - 1] + xr[kk + 1]
        xr[kk] += w * (br[kk] - diagonal * xr[kk] - offdiagonal * s)
    kk = k + 2 * m
    if kk == n - 1 and kk > 0:
        s = ui[kk] + di[kk] + uj[kk] + dj[kk] + xr[kk - 1]
        xr[kk] += w * (br[kk] - diagonal * xr[kk] - offdiagonal * s)


# Sums of squares may be reassociated (vectorised); they are added in the same
# order for every band split, so the norm does not depend on the thread count.
_SUM_FLAGS = {"reassoc"}


@njit(cache=True, nogil=True, fastmath=_SUM_FLAGS)
def _residual_row_5pt(xr, up, dn, br, diagonal, offdiagonal):
    """``Σ_j r_j²`` over a 2D grid row, ``r_p = b_p − d x_p − o Σ_q x_q`` (ends peeled)."""
    n = xr.shape[0]
    if n == 1:
        r = br[0] - diagonal * xr[0] - offdiagonal * (up[0] + dn[0])
        return r * r
    r = br[0] - diagonal * xr[0] - offdiagonal * (up[0] + dn[0] + xr[1])
    total = r * r
    for j in range(1, n - 1):
        r = br[j] - diagonal * xr[j] - offdiagonal * (up[j] + dn[j] + xr[j - 1] + xr[j + 1])
        total += r * r
    j = n - 1
    r = br[j] - diagonal * xr[j] - offdiagonal * (up[j] + dn[j] + xr[j - 1])
    return total + r * r


@njit(cache=True, nogil=True, fastmath=_SUM_FLAGS)
def _residual_row_7pt(xr, ui, di, uj, dj, br, diagonal, offdiagonal):
    """``Σ_k r_k²`` over a 3D grid row (ends peeled)."""
    n = xr.shape[0]
    if n == 1:
        r = br[0] - diagonal * xr[0] - offdiagonal * (ui[0] + di[0] + uj[0] + dj[0])
        return r * r
    r = br[0] - diagonal * xr[0] - offdiagonal * (ui[0] + di[0] + uj[0] + dj[0] + xr[1])
    total = r * r
    for k in range(1, n - 1):
        r = br[k] - diagonal * xr[k] - offdiagonal * (
            ui[k] + di[k] + uj[k] + dj[k] + xr[k - 1] + xr[k + 1])
        total += r * r
    k = n - 1
    r = br[k] - diagonal * xr[k] - offdiagonal * (ui[k] + di[k] + uj[k] + dj[k] + xr[k - 1])
    return total + r * r


# ------------------------------------------------- one unit (2D row, 3D plane)

def _relax_unit(xu, up, dn, bu, zero, diagonal, offdiagonal, w, parity):
    """(1) on the nodes of one colour of unit ``xu`` (numba overload below)."""
    raise NotImplementedError("only callable from numba kernels")


def _residual_unit(xu, up, dn, bu, zero, diagonal, offdiagonal):
    """``Σ r_p²`` over unit ``xu`` (numba overload below)."""
    raise NotImplementedError("only callable from numba kernels")


@overload(_relax_unit, inline="always")
def _relax_unit_impl(xu, up, dn, bu, zero, diagonal, offdiagonal, w, parity):
    if xu.ndim == 1:  # 2D grid: a row; parity = (i + colour) & 1 is the first node
        def relax_row(xu, up, dn, bu, zero, diagonal, offdiagonal, w, parity):
            _relax_row_5pt(xu, up, dn, bu, diagonal, offdiagonal, w, parity)
        return relax_row

    def relax_plane(xu, up, dn, bu, zero, diagonal, offdiagonal, w, parity):
        n1 = xu.shape[0]
        for j in range(n1):
            uj = xu[j - 1] if j > 0 else zero[0]
            dj = xu[j + 1] if j < n1 - 1 else zero[0]
            _relax_row_7pt(xu[j], up[j], dn[j], uj, dj, bu[j], diagonal, offdiagonal, w,
                           (parity + j) & 1)
    return relax_plane


@overload(_residual_unit)
def _residual_unit_impl(xu, up, dn, bu, zero, diagonal, offdiagonal):
    if xu.ndim == 1:
        def residual_row(xu, up, dn, bu, zero, diagonal, offdiagonal):
            return _residual_row_5pt(xu, up, dn, bu, diagonal, offdiagonal)
        return residual_row

    def residual_plane(xu, up, dn, bu, zero, diagonal, offdiagonal):
        n1 = xu.shape[0]
        total = 0.0
        for j in range(n1):
            uj = xu[j - 1] if j > 0 else zero[0]
            dj = xu[j + 1] if j < n1 - 1 else zero[0]
            total += _residual_row_7pt(xu[j], up[j], dn[j], uj, dj, bu[j], diagonal,
                                       offdiagonal)
        return total
    return residual_plane


@njit(cache=True, nogil=True, inline="always")
def _unit(x, top, bottom, zero, r, lo, hi):
    """Unit ``r`` as band ``[lo, hi)`` sees it: its own in x, a ghost copy, or zeros."""
    if r < 0 or r >= x.shape[0]:
        return zero
    if r < lo:
        return top[r - lo + top.shape[0]]  # top holds units lo − S .. lo − 1
    if r >= hi:
        return bottom[r - hi]              # bottom holds units hi .. hi + S − 1
    return x[r]


# contract: a·b + c as one fused multiply-add in (1) (15 % faster on cache-sized grids);
# every unit runs through this one loop, so owners and ghosts still round alike
@njit(cache=True, nogil=True, fastmath={"contract"})
def _sweep_band(x, b, diagonal, offdiagonal, w, colours, lo, hi, top, bottom, zero, rsq):
    """Wavefront sweep of units ``[lo, hi)`` with ghost units (module docstring).

    ``top``/``bottom`` hold copies of the ``S`` units beyond each edge taken
    before the sweep (ghosts are updated there, never in x). With a non-empty
    ``rsq`` it also stores ``Σ r_p²`` of each unit in ``rsq[r]``, except for
    edge units whose neighbour belongs to another band (the caller does those).
    """
    n0 = x.shape[0]
    n_stages = colours.shape[0]
    want_residual = rsq.shape[0] > 0
    first = lo - min(n_stages - 1, lo)            # top ghosts that exist
    last = hi + min(n_stages - 1, n0 - hi)        # bottom ghosts that exist
    lag = n_stages + 1 if want_residual else n_stages
    for i in range(first, last + lag - 1):
        for s in range(n_stages):
            r = i - s
            if r < first or r >= last:
                continue
            # ghost g units beyond an edge: only stages s ≤ S − 1 − g reach the band
            if r < lo and s > n_stages - 1 - (lo - r):
                continue
            if r >= hi and s > n_stages - 1 - (r - hi + 1):
                continue
            _relax_unit(_unit(x, top, bottom, zero, r, lo, hi),
                        _unit(x, top, bottom, zero, r - 1, lo, hi),
                        _unit(x, top, bottom, zero, r + 1, lo, hi),
                        b[r], zero, diagonal, offdiagonal, w, (r + colours[s]) & 1)
        r = i - n_stages  # its neighbours have had their last stage
        if want_residual and lo <= r < hi:
            if (r == lo and lo > 0) or (r == hi - 1 and hi < n0):
                continue  # a neighbour lives in another band: after the sweep
            rsq[r] = _residual_unit(x[r], _unit(x, top, bottom, zero, r - 1, lo, hi),
                                    _unit(x, top, bottom, zero, r + 1, lo, hi),
                                    b[r], zero, diagonal, offdiagonal)


@njit(cache=True, nogil=True)
def _sweep_serial(x, b, diagonal, offdiagonal, omega, colours, rsq):
    """The whole grid as one band (no ghosts, no threads)."""
    zero = np.zeros(x.shape[1:], dtype=x.dtype)
    none = np.empty((0,) + x.shape[1:], dtype=x.dtype)  # noqa: RUF005 (numba)
    _sweep_band(x, b, diagonal, offdiagonal, omega / diagonal, colours, 0, x.shape[0],
                none, none, zero, rsq)


@intrinsic
def _claim(typingctx, counter):
    """``counter[0] += 1`` atomically, returning the old value (numba has no CPU atomics)."""
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", array.data, one, "monotonic")

    return types.int64(counter), codegen


@njit(parallel=True, cache=True, nogil=True)
def _sweep_parallel(x, b, diagonal, offdiagonal, omega, colours, n_threads, n_bands, rsq):
    """``n_bands`` bands shared out to ``n_threads`` threads on demand; bitwise equal to
    :func:`_sweep_serial`.

    Every band is independent (ghost units), so a thread takes the next band
    when it is done with one: a thread that shares its core with another
    process simply sweeps fewer bands.
    """
    n0 = x.shape[0]
    n_stages = colours.shape[0]
    w = omega / diagonal
    zero = np.zeros(x.shape[1:], dtype=x.dtype)
    # (no star-unpacking: numba's parfor lowering rejects it)
    ghosts = np.zeros((n_bands, 2, n_stages) + x.shape[1:], dtype=x.dtype)  # noqa: RUF005
    for t in range(n_bands):  # copies of the S units beyond each band edge, before any update
        lo, hi = t * n0 // n_bands, (t + 1) * n0 // n_bands
        for g in range(n_stages):
            if 0 <= lo - n_stages + g < n0:
                ghosts[t, 0, g] = x[lo - n_stages + g]
            if hi + g < n0:
                ghosts[t, 1, g] = x[hi + g]
    next_band = np.zeros(1, dtype=np.int64)
    for _ in prange(n_threads):
        t = _claim(next_band)
        while t < n_bands:
            lo, hi = t * n0 // n_bands, (t + 1) * n0 // n_bands
            _sweep_band(x, b, diagonal, offdiagonal, w, colours, lo, hi, ghosts[t, 0],
                        ghosts[t, 1], zero, rsq)
            t = _claim(next_band)
    if rsq.shape[0] > 0:  # residuals of the units next to another band
        for t in range(1, n_bands):
            for r in (t * n0 // n_bands - 1, t * n0 // n_bands):
                rsq[r] = _residual_unit(x[r], x[r - 1] if r > 0 else zero,
                                        x[r + 1] if r < n0 - 1 else zero, b[r], zero,
                                        diagonal, offdiagonal)


@njit(cache=True, nogil=True)
def _residual_norm(x, b, diagonal, offdiagonal, rsq):
    """``‖b − A x‖``: per-unit sums of squares, added in unit order."""
    n0 = x.shape[0]
    zero = np.zeros(x.shape[1:], dtype=x.dtype)
    for r in range(n0):
        rsq[r] = _residual_unit(x[r], x[r - 1] if r > 0 else zero,
                                x[r + 1] if r < n0 - 1 else zero, b[r], zero,
                                diagonal, offdiagonal)
    return math.sqrt(rsq.sum())


@njit(cache=True, nogil=True)
def _solve_iterations(x, b, diagonal, offdiagonal, omega, colours, n_threads, n_bands, first,
                      stop, threshold, limit, residuals, rsq):
    """Iterations ``first..stop − 1`` of a solve; returns ``(last, code)``, code −1: go on.

    Each iteration: one sweep with the residual fused, ``residuals[k − first] = ‖r‖``
    (a buffer of at least ``stop − first`` entries), then the stopping rule of
    :func:`~unisolve.solvers.kernels.sor_csr.sor_solve_csr`.
    """
    for k in range(first, stop):
        if n_threads > 1:
            _sweep_parallel(x, b, diagonal, offdiagonal, omega, colours, n_threads, n_bands,
                            rsq)
        else:
            _sweep_serial(x, b, diagonal, offdiagonal, omega, colours, rsq)
        rnorm = math.sqrt(rsq.sum())  # units added in order: the same for any n_bands
        residuals[k - first] = rnorm
        code = residual_status(rnorm, threshold, limit)
        if code >= 0:
            return k, code
    return stop - 1, -1


# ---------------------------------------------------------------- dispatch

_CHOOSERS: dict = {}


def _chooser(shape: tuple, n_stages: int) -> SerialOrParallel:
    """The serial/parallel chooser of one grid shape and sweep length (kept across calls)."""
    key = (shape, n_stages)
    chooser = _CHOOSERS.get(key)
    if chooser is None:
        if len(_CHOOSERS) > 64:
            _CHOOSERS.clear()
        chooser = _CHOOSERS[key] = SerialOrParallel()
    return chooser


def forget_kernel_timings() -> None:
    """Forget the measured serial and parallel times: the next calls measure afresh.

    Examples
    --------
    >>> forget_kernel_timings()
    """
    _CHOOSERS.clear()


def _threads(x: np.ndarray, threads: int | None) -> int:
    """Threads to run with (1: the serial kernel); ``None``: by size and :mod:`unisolve.threads`."""
    if threads is not None:
        return max(1, int(threads))
    if x.size < PARALLEL_MIN_NODES:
        return 1
    return max(1, min(get_num_threads(), x.shape[0] // MIN_BAND_UNITS))


def _band_count(n0: int, threads: int) -> int:
    """Bands of the parallel kernel: :data:`BANDS_PER_THREAD` per thread, ≥ MIN_BAND_UNITS
    units each where the grid allows, never more than ``n0``."""
    if threads <= 1:
        return 1
    return max(1, min(n0, max(threads, min(BANDS_PER_THREAD * threads, n0 // MIN_BAND_UNITS))))


_warm: set = set()  # (kernel, ndim, dtype) that have run once in this process


@contextmanager
def _team(threads: int) -> Iterator[None]:
    """numba's thread team no wider than ``threads`` inside the block."""
    wide = numba.get_num_threads() if threads > 1 else 1
    if wide > threads:
        numba.set_num_threads(threads)
    try:
        yield
    finally:
        if wide > threads:
            numba.set_num_threads(wide)


def _run_timed(threads: int, fn, *args) -> tuple:
    """``(fn(*args), seconds)`` with at most ``threads`` threads.

    The first call of a kernel for a grid type is not timed (``None``): it may
    compile or load the kernel and start numba's threads, which it does with
    passive OpenMP waiting (:func:`~unisolve.threads.passive_openmp_wait`).
    """
    key = (fn, args[0].ndim, args[0].dtype)
    first = key not in _warm
    # before _team: numba.get_num_threads() starts the threads if none run yet
    start_threads = passive_openmp_wait() if first and threads > 1 else nullcontext()
    with start_threads, _team(threads):
        t0 = time.perf_counter()
        value = fn(*args)
        seconds = time.perf_counter() - t0
    _warm.add(key)
    return value, None if first else seconds


def _prepare(x: np.ndarray, b: np.ndarray, ndim: int):
    """The C-contiguous float grids the kernels need (x copied only if it is not)."""
    if x.ndim != ndim or b.shape != x.shape:
        raise ValueError(
            f"x and b must be {ndim}D grids of one shape, got {x.shape} and {b.shape}"
        )
    work = x if x.flags.c_contiguous and x.flags.writeable else np.ascontiguousarray(x)
    return work, np.ascontiguousarray(b, dtype=work.dtype)


def _sweep(x, b, diagonal, offdiagonal, omega, sweep, threads, ndim) -> None:
    colours = sweep_colours(sweep)
    work, b = _prepare(x, b, ndim)
    args = (work, b, float(diagonal), float(offdiagonal), float(omega), colours)
    no_residual = np.empty(0, dtype=work.dtype)
    top = _threads(work, threads)
    chooser = _chooser(work.shape, colours.shape[0]) if top > 1 and threads is None else None
    n = chooser.pick(top) if chooser is not None else top
    if n > 1:
        _, seconds = _run_timed(n, _sweep_parallel, *args, n, _band_count(work.shape[0], n),
                                no_residual)
    else:
        _, seconds = _run_timed(1, _sweep_serial, *args, no_residual)
    if chooser is not None and seconds is not None:
        chooser.record(n, seconds, work.size)
    if work is not x:
        x[...] = work


def red_black_sor_sweep_2d(
    x: np.ndarray,
    b: np.ndarray,
    diagonal: float,
    offdiagonal: float,
    omega: float,
    sweep: str = "forward",
    threads: int | None = None,
) -> None:
    """One in-place red-black SOR sweep of the 5-point stencil on a 2D grid.

    Parameters
    ----------
    x : (n0, n1) ndarray
        Iterate, updated in place (a C-ordered view of the flat vector,
        ``x_flat.reshape(shape)``).
    b : (n0, n1) ndarray
        Right-hand side on the same grid.
    diagonal, offdiagonal : float
        Stencil coefficients (4 and −1 for the plain Laplacian).
    omega : float
        Relaxation weight ω.
    sweep : {'forward', 'backward', 'symmetric'}
        Colour order: red-black, black-red, or red-black-black-red (one SSOR step).
    threads : int, optional
        Bands of the parallel kernel (1: the serial kernel); default automatic.

    Notes
    -----
    Update (1) of the module docstring as one wavefront pass (serial) or one
    band per thread (parallel, bitwise the same result). ``threads=None``
    picks serial or parallel by size and measured time (module docstring);
    an int forces that many bands (1: serial). The caller guarantees
    ``diagonal != 0``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 2)); b = np.ones((2, 2))
    >>> red_black_sor_sweep_2d(x, b, 4.0, -1.0, 1.0)
    >>> x                       # red (0,0), (1,1) see zeros; black sees two 0.25s
    array([[0.25 , 0.375],
           [0.375, 0.25 ]])
    """
    _sweep(x, b, diagonal, offdiagonal, omega, sweep, threads, 2)


def red_black_sor_sweep_3d(
    x: np.ndarray,
    b: np.ndarray,
    diagonal: float,
    offdiagonal: float,
    omega: float,
    sweep: str = "forward",
    threads: int | None = None,
) -> None:
    """One in-place red-black SOR sweep of the 7-point stencil on a 3D grid.

    Same parameters as :func:`red_black_sor_sweep_2d` with ``(n0, n1, n2)``
    arrays; node ``(i, j, k)`` is red when ``(i + j + k) % 2 == 0``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 2, 2)); b = np.full((2, 2, 2), 6.0)
    >>> red_black_sor_sweep_3d(x, b, 6.0, -1.0, 1.0)
    >>> x[0, 0, 0], x[0, 0, 1]      # red: b/6; black: (6 + 3 * 1) / 6
    (np.float64(1.0), np.float64(1.5))
    """
    _sweep(x, b, diagonal, offdiagonal, omega, sweep, threads, 3)


def red_black_residual_norm(
    x: np.ndarray, b: np.ndarray, diagonal: float, offdiagonal: float
) -> float:
    """``‖b − A x‖`` of the stencil matrix on a 2D or 3D grid, matrix-free.

    Row sums of squares are added in a fixed order, so the value does not
    depend on the thread count.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((3, 3)); b = np.zeros((3, 3))
    >>> round(red_black_residual_norm(x, b, 4.0, -1.0) ** 2, 12)  # 4 corners 2², 4 edges 1²
    20.0
    """
    work, b = _prepare(x, b, x.ndim if x.ndim in (2, 3) else 2)
    rsq = np.empty(work.shape[0], dtype=np.float64)
    return float(_residual_norm(work, b, float(diagonal), float(offdiagonal), rsq))


def red_black_sor_solve(
    x: np.ndarray,
    b: np.ndarray,
    diagonal: float,
    offdiagonal: float,
    omega: float,
    sweep: str,
    threshold: float,
    maxiter: int,
    divtol: float,
    residuals: np.ndarray | list,
    threads: int | None = None,
) -> tuple[int, int]:
    """Whole red-black SOR solve in place on a 2D or 3D grid; returns ``(iterations, code)``.

    Each iteration is one sweep (``sweep``) with the true residual
    ``‖b − A x‖`` fused into the same pass, stored in ``residuals[k]``
    (``residuals[0]`` at x0): an array of at least ``iterations + 1`` entries,
    or a list, which is appended to (then nothing is sized by ``maxiter``, which
    may be any Python int). Codes
    and stopping rule as :func:`~unisolve.solvers.kernels.sor_csr.sor_solve_csr`:
    converged when ``‖r‖ ≤ threshold``, diverged when ``‖r‖ > divtol ·
    max(‖r₀‖, threshold)``, nonfinite on NaN/inf, max_iter after ``maxiter``.

    The sweeps run in chunks of about :data:`SOLVE_CHUNK_SECONDS`; before
    each chunk the serial or the parallel kernel is chosen by the time each
    took so far (``threads=None``; an int forces that many bands). Iterates
    and residuals do not depend on the choice.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((16, 16)); b = np.ones((16, 16)); res = np.empty(201)
    >>> its, code = red_black_sor_solve(x, b, 4.0, -1.0, 1.7, "forward", 1e-8 * 16,
    ...                                 200, 1e8, res)
    >>> code, bool(res[its] <= 1e-8 * 16 < res[its - 1])
    (0, True)
    """
    colours = sweep_colours(sweep)
    if x.ndim not in (2, 3):
        raise ValueError(f"x must be a 2D or 3D grid, got shape {x.shape}")
    work, b = _prepare(x, b, x.ndim)
    d, o, omega = float(diagonal), float(offdiagonal), float(omega)
    rsq = np.zeros(work.shape[0], dtype=np.float64)
    rnorm = _residual_norm(work, b, d, o, rsq)
    if isinstance(residuals, list):
        residuals.append(float(rnorm))
    else:
        residuals[0] = rnorm
    if not np.isfinite(rnorm):
        return 0, SOLVE_NONFINITE
    if rnorm <= threshold:
        return 0, SOLVE_CONVERGED
    limit = divtol * max(rnorm, threshold)
    top = _threads(work, threads)
    chooser = _chooser(work.shape, colours.shape[0]) if top > 1 and threads is None else None
    cost = {}  # seconds per node and iteration, when there is no chooser
    buffer = np.empty(max(1, min(_MAX_CHUNK, maxiter)))  # one chunk's residuals, reused
    k, its, code = 1, maxiter, SOLVE_MAX_ITER
    while k <= maxiter:
        n = chooser.pick(top) if chooser is not None else top
        known = (chooser.cost if chooser is not None else cost).values()
        # a chunk of about SOLVE_CHUNK_SECONDS at the best speed seen; probes a quarter
        chunk = (1 if not known else
                 int(min(_MAX_CHUNK, max(1, SOLVE_CHUNK_SECONDS / (min(known) * work.size)))))
        if chooser is not None and chooser.probing:
            chunk = max(1, chunk // 4)
        stop = min(k + chunk, maxiter + 1)
        (last, status), seconds = _run_timed(
            n, _solve_iterations, work, b, d, o, omega, colours, n,
            _band_count(work.shape[0], n), k, stop, threshold, limit, buffer, rsq)
        done = buffer[: last - k + 1]
        if isinstance(residuals, list):
            residuals.extend(done.tolist())
        else:
            residuals[k: last + 1] = done
        nodes = (last - k + 1) * work.size
        if seconds is None:
            pass  # the kernel's first call: compilation, thread start
        elif chooser is not None:
            chooser.record(n, seconds, nodes)
        else:
            cost[n] = seconds / nodes
        if status != -1:
            its, code = int(last), int(status)
            break
        k = stop
    if work is not x:
        x[...] = work
    return its, code


def red_black_rows(shape: tuple) -> np.ndarray:
    """Flat (C-order) indices of all red nodes, then all black nodes.

    Passing these rows to :func:`~unisolve.solvers.kernels.sor_csr.sor_sweep_csr_ordered`
    makes the CSR sweep the red-black forward sweep; reversed, the backward one.

    Examples
    --------
    >>> red_black_rows((2, 3))
    array([0, 2, 4, 1, 3, 5])
    """
    parity = np.indices(shape).sum(axis=0).ravel() % 2
    return np.concatenate([np.flatnonzero(parity == 0), np.flatnonzero(parity == 1)])


def red_black_sor_sweep_reference(
    x: np.ndarray,
    b: np.ndarray,
    diagonal: float,
    offdiagonal: float,
    omega: float,
    sweep: str = "forward",
) -> None:
    """Plain-numpy red-black SOR sweep on a grid of any dimension (reference for tests).

    ``x_p ← (1 − ω) x_p + ω (b_p − o Σ_{q ~ p} x_q) / d`` for all nodes ``p`` of
    one colour at once (vectorised), colours in the order of ``sweep``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 2)); b = np.ones((2, 2))
    >>> red_black_sor_sweep_reference(x, b, 4.0, -1.0, 1.0)
    >>> x
    array([[0.25 , 0.375],
           [0.375, 0.25 ]])
    """
    ndim = x.ndim
    parity = np.indices(x.shape).sum(axis=0) % 2
    inner = (slice(1, -1),) * ndim
    for colour in sweep_colours(sweep):
        padded = np.pad(x, 1)  # zero Dirichlet data outside the grid
        neighbours = np.zeros_like(x)
        for axis in range(ndim):
            for shift in (0, 2):
                sl = list(inner)
                sl[axis] = slice(shift, shift + x.shape[axis])
                neighbours += padded[tuple(sl)]
        mine = parity == colour
        jacobi = (b - offdiagonal * neighbours) / diagonal
        x[mine] = (1.0 - omega) * x[mine] + omega * jacobi[mine]

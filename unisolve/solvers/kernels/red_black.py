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

:func:`red_black_sor_sweep_reference` is the plain-numpy reference (vectorised
with slicing; any number of dimensions).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "PARALLEL_MIN_NODES",
    "SWEEP_COLOURS",
    "red_black_rows",
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
#: parallel launch costs more than it saves (and much more on a busy machine).
PARALLEL_MIN_NODES = 1 << 15


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


@njit(cache=True, inline="always")
def _relax_line_2d(x, b, diagonal, offdiagonal, w, colour, i):
    """Update (1) on the nodes of ``colour`` in grid row ``i``; ``w = ω / d``."""
    n0, n1 = x.shape
    for j in range((i + colour) & 1, n1, 2):
        s = 0.0
        if i > 0:
            s += x[i - 1, j]
        if i < n0 - 1:
            s += x[i + 1, j]
        if j > 0:
            s += x[i, j - 1]
        if j < n1 - 1:
            s += x[i, j + 1]
        # (1)  x_p ← x_p + ω (b_p − d x_p − o Σ_q x_q) / d
        x[i, j] += w * (b[i, j] - diagonal * x[i, j] - offdiagonal * s)


@njit(cache=True, inline="always")
def _relax_plane_3d(x, b, diagonal, offdiagonal, w, colour, i):
    """Update (1) on the nodes of ``colour`` in grid plane ``i``; ``w = ω / d``."""
    n0, n1, n2 = x.shape
    for j in range(n1):
        for k in range((i + j + colour) & 1, n2, 2):
            s = 0.0
            if i > 0:
                s += x[i - 1, j, k]
            if i < n0 - 1:
                s += x[i + 1, j, k]
            if j > 0:
                s += x[i, j - 1, k]
            if j < n1 - 1:
                s += x[i, j + 1, k]
            if k > 0:
                s += x[i, j, k - 1]
            if k < n2 - 1:
                s += x[i, j, k + 1]
            # (1)  x_p ← x_p + ω (b_p − d x_p − o Σ_q x_q) / d
            x[i, j, k] += w * (b[i, j, k] - diagonal * x[i, j, k] - offdiagonal * s)


@njit(parallel=True, cache=True)
def _red_black_colours_2d_parallel(x, b, diagonal, offdiagonal, omega, colours):
    """The colours one after another; the rows of one colour in parallel (prange)."""
    w = omega / diagonal
    for c in colours:
        for i in prange(x.shape[0]):
            _relax_line_2d(x, b, diagonal, offdiagonal, w, c, i)


@njit(cache=True)
def _red_black_colours_2d_serial(x, b, diagonal, offdiagonal, omega, colours):
    """Serial twin of :func:`_red_black_colours_2d_parallel` for small grids."""
    w = omega / diagonal
    for c in colours:
        for i in range(x.shape[0]):
            _relax_line_2d(x, b, diagonal, offdiagonal, w, c, i)


@njit(parallel=True, cache=True)
def _red_black_colours_3d_parallel(x, b, diagonal, offdiagonal, omega, colours):
    """The colours one after another; the planes ``i`` of one colour in parallel."""
    w = omega / diagonal
    for c in colours:
        for i in prange(x.shape[0]):
            _relax_plane_3d(x, b, diagonal, offdiagonal, w, c, i)


@njit(cache=True)
def _red_black_colours_3d_serial(x, b, diagonal, offdiagonal, omega, colours):
    """Serial twin of :func:`_red_black_colours_3d_parallel` for small grids."""
    w = omega / diagonal
    for c in colours:
        for i in range(x.shape[0]):
            _relax_plane_3d(x, b, diagonal, offdiagonal, w, c, i)


def red_black_sor_sweep_2d(
    x: np.ndarray,
    b: np.ndarray,
    diagonal: float,
    offdiagonal: float,
    omega: float,
    sweep: str = "forward",
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

    Notes
    -----
    Update (1) of the module docstring, ``numba.prange`` over ``i`` within one
    colour (grids of fewer than :data:`PARALLEL_MIN_NODES` nodes use the
    serial twin of the kernel). The caller guarantees ``diagonal != 0`` and
    matching shapes.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((2, 2)); b = np.ones((2, 2))
    >>> red_black_sor_sweep_2d(x, b, 4.0, -1.0, 1.0)
    >>> x                       # red (0,0), (1,1) see zeros; black sees two 0.25s
    array([[0.25 , 0.375],
           [0.375, 0.25 ]])
    """
    _launch(_red_black_colours_2d_parallel, _red_black_colours_2d_serial,
            x, b, diagonal, offdiagonal, omega, sweep)


def red_black_sor_sweep_3d(
    x: np.ndarray,
    b: np.ndarray,
    diagonal: float,
    offdiagonal: float,
    omega: float,
    sweep: str = "forward",
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
    _launch(_red_black_colours_3d_parallel, _red_black_colours_3d_serial,
            x, b, diagonal, offdiagonal, omega, sweep)


def _launch(parallel, serial, x, b, diagonal, offdiagonal, omega, sweep) -> None:
    """Run the parallel kernel on large grids, its serial twin on small ones."""
    kernel = parallel if x.size >= PARALLEL_MIN_NODES else serial
    kernel(x, b, float(diagonal), float(offdiagonal), float(omega), sweep_colours(sweep))


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

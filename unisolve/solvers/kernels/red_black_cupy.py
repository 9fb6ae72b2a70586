"""Red-black SOR sweeps of the 5/7-point stencil for CuPy arrays (one launch per colour).

The GPU twin of :mod:`unisolve.solvers.kernels.red_black`: node ``(i, j[, k])``
is red when ``(i + j [+ k]) % 2 == 0``, and each launch updates every node of
one colour with the SOR update (Young 1950; red-black ordering: Adams & Ortega
1982)

    x_p ← x_p + ω (b_p − d x_p − o Σ_{q ~ p} x_q) / d              (1)

one thread per node of the colour (threads index the nodes of one colour
densely: ``ceil(n_last / 2)`` per grid line). Colours go red, black (forward),
black, red (backward) or red, black, black, red (symmetric).

cupy is imported inside the functions, so this module imports without it.
The plain-numpy reference is
:func:`~unisolve.solvers.kernels.red_black.red_black_sor_sweep_reference`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .red_black import sweep_colours

__all__ = ["KERNEL_SOURCE", "red_black_sor_sweep_cupy"]

#: CUDA source; ``REAL`` is replaced by ``double`` or ``float``.
KERNEL_SOURCE = r"""
extern "C" __global__
void red_black_colour_2d(REAL* __restrict__ x, const REAL* __restrict__ b,
                         const long long n0, const long long n1,
                         const REAL diagonal, const REAL offdiagonal, const REAL omega,
                         const int colour)
{
    const long long half = (n1 + 1) / 2;
    const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n0 * half) return;
    const long long i = t / half;
    const long long j = 2 * (t - i * half) + ((i + colour) & 1);
    if (j >= n1) return;
    const long long p = i * n1 + j;
    REAL s = 0;
    if (i > 0) s += x[p - n1];
    if (i < n0 - 1) s += x[p + n1];
    if (j > 0) s += x[p - 1];
    if (j < n1 - 1) s += x[p + 1];
    /* (1)  x_p <- x_p + omega (b_p - d x_p - o sum_q x_q) / d */
    x[p] += omega * (b[p] - diagonal * x[p] - offdiagonal * s) / diagonal;
}

extern "C" __global__
void red_black_colour_3d(REAL* __restrict__ x, const REAL* __restrict__ b,
                         const long long n0, const long long n1, const long long n2,
                         const REAL diagonal, const REAL offdiagonal, const REAL omega,
                         const int colour)
{
    const long long half = (n2 + 1) / 2;
    const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n0 * n1 * half) return;
    const long long line = t / half;            /* line = i * n1 + j */
    const long long i = line / n1;
    const long long j = line - i * n1;
    const long long k = 2 * (t - line * half) + ((i + j + colour) & 1);
    if (k >= n2) return;
    const long long plane = n1 * n2;
    const long long p = line * n2 + k;
    REAL s = 0;
    if (i > 0) s += x[p - plane];
    if (i < n0 - 1) s += x[p + plane];
    if (j > 0) s += x[p - n2];
    if (j < n1 - 1) s += x[p + n2];
    if (k > 0) s += x[p - 1];
    if (k < n2 - 1) s += x[p + 1];
    /* (1)  x_p <- x_p + omega (b_p - d x_p - o sum_q x_q) / d */
    x[p] += omega * (b[p] - diagonal * x[p] - offdiagonal * s) / diagonal;
}
"""

_THREADS = 256


@functools.cache
def _module(real: str) -> Any:
    import cupy

    return cupy.RawModule(code=KERNEL_SOURCE.replace("REAL", real))


def red_black_sor_sweep_cupy(
    x: Any,
    b: Any,
    diagonal: float,
    offdiagonal: float,
    omega: float,
    sweep: str = "forward",
) -> None:
    """One in-place red-black SOR sweep of a 2D or 3D CuPy grid array.

    Parameters
    ----------
    x : cupy.ndarray, (n0, n1) or (n0, n1, n2), float32 or float64, C-contiguous
        Iterate, updated in place.
    b : cupy.ndarray
        Right-hand side, same shape (made C-contiguous and of x's dtype if needed).
    diagonal, offdiagonal : float
        Stencil coefficients (4, −1 in 2D; 6, −1 in 3D for the plain Laplacian).
    omega : float
        Relaxation weight ω.
    sweep : {'forward', 'backward', 'symmetric'}
        Colour order: red-black, black-red, or red-black-black-red.

    Examples
    --------
    >>> import numpy as np
    >>> import cupy                                          # doctest: +SKIP
    >>> x = cupy.zeros((2, 2)); b = cupy.ones((2, 2))        # doctest: +SKIP
    >>> red_black_sor_sweep_cupy(x, b, 4.0, -1.0, 1.0)       # doctest: +SKIP
    >>> x.get()                                              # doctest: +SKIP
    array([[0.25 , 0.375],
           [0.375, 0.25 ]])
    >>> red_black_sor_sweep_cupy(np.zeros((2, 2)), np.ones((2, 2)), 4.0, -1.0, 1.0)
    Traceback (most recent call last):
    ...
    TypeError: needs CuPy arrays; for numpy use red_black_sor_sweep_2d / _3d
    """
    if type(x).__module__.split(".", 1)[0] != "cupy":
        raise TypeError("needs CuPy arrays; for numpy use red_black_sor_sweep_2d / _3d")
    import cupy

    if x.dtype == cupy.float64:
        real, scalar = "double", np.float64
    elif x.dtype == cupy.float32:
        real, scalar = "float", np.float32
    else:
        raise TypeError(f"x must be float32 or float64, got {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError("x must be C-contiguous (a reshape of the flat iterate)")
    if tuple(b.shape) != tuple(x.shape):
        raise ValueError(f"b has shape {tuple(b.shape)}, x has shape {tuple(x.shape)}")
    b = cupy.ascontiguousarray(b, dtype=x.dtype)
    colours = sweep_colours(sweep)
    coeffs = (scalar(diagonal), scalar(offdiagonal), scalar(omega))
    if x.ndim == 2:
        kernel = _module(real).get_function("red_black_colour_2d")
        dims = (np.int64(x.shape[0]), np.int64(x.shape[1]))
        threads = x.shape[0] * ((x.shape[1] + 1) // 2)
    elif x.ndim == 3:
        kernel = _module(real).get_function("red_black_colour_3d")
        dims = (np.int64(x.shape[0]), np.int64(x.shape[1]), np.int64(x.shape[2]))
        threads = x.shape[0] * x.shape[1] * ((x.shape[2] + 1) // 2)
    else:
        raise ValueError(f"x must be a 2D or 3D grid array, got {x.ndim} dimensions")
    if threads == 0:
        return
    blocks = (threads + _THREADS - 1) // _THREADS
    for colour in colours:
        kernel((blocks,), (_THREADS,), (x, b, *dims, *coeffs, np.int32(colour)))

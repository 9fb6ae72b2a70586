"""Dirichlet Poisson problems on the unit square / cube.

The matrices are the plain (unscaled) finite-difference stencils, as in
``pyamg.gallery.poisson``: 4 on the diagonal and −1 for the four neighbours in
2D, 6 and −1 in 3D, on an ``n``-per-side grid of interior nodes
``x_i = (i + 1) h, h = 1 / (n + 1)``. A variable diffusion coefficient ``k``
uses harmonic means on the faces,

    (A u)_i = Σ_faces k_f (u_i − u_j),    k_f = 2 k_i k_j / (k_i + k_j),

and solid (obstacle) cells are removed, their faces acting as homogeneous
Dirichlet walls. The default right-hand side is manufactured, ``b = A u*`` for a
smooth ``u*`` that is not a discrete eigenvector, so ``problem.exact = u*`` is
the solution to rounding error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from .linear import LinearProblem, Stencil

__all__ = ["poisson2d", "poisson3d", "shifted_laplacian"]


def _grid(n: int, dim: int) -> list[np.ndarray]:
    h = 1.0 / (n + 1)
    x = (np.arange(n) + 1) * h
    return np.meshgrid(*([x] * dim), indexing="ij")


def _manufactured(coords: list[np.ndarray]) -> np.ndarray:
    """A smooth bubble times an exponential: many Fourier modes, zero on the walls."""
    u = np.ones_like(coords[0])
    for k, c in enumerate(coords):
        u = u * 4.0 * c * (1.0 - c) * np.exp((k + 1) * c)
    return u.ravel()


def _rhs(A: sp.csr_array, coords: list[np.ndarray], rhs: str, seed: int, keep=None):
    if rhs == "manufactured":
        exact = _manufactured(coords)
        if keep is not None:
            exact = exact[keep]
        return A @ exact, exact
    n = A.shape[0]
    if rhs == "ones":
        return np.ones(n), None
    if rhs == "random":
        return np.random.default_rng(seed).standard_normal(n), None
    raise ValueError(f"rhs must be 'manufactured', 'ones' or 'random', got {rhs!r}")


def _check_n(n: int, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name}: n must be a positive integer (nodes per side), got {n!r}")
    return int(n)


def _variable_coefficient_2d(k: np.ndarray) -> sp.csr_array:
    """Assemble Σ_faces k_f (u_i − u_j) with harmonic-mean faces on an n x n grid."""
    n = k.shape[0]
    idx = np.arange(n * n).reshape(n, n)
    diag = np.zeros((n, n))
    rows, cols, vals = [], [], []
    for axis in (0, 1):
        a = k[:-1, :] if axis == 0 else k[:, :-1]
        c = k[1:, :] if axis == 0 else k[:, 1:]
        kf = 2.0 * a * c / (a + c)  # harmonic mean on interior faces
        i = idx[:-1, :] if axis == 0 else idx[:, :-1]
        j = idx[1:, :] if axis == 0 else idx[:, 1:]
        rows += [i.ravel(), j.ravel()]
        cols += [j.ravel(), i.ravel()]
        vals += [-kf.ravel(), -kf.ravel()]
        if axis == 0:
            diag[:-1, :] += kf
            diag[1:, :] += kf
            diag[0, :] += k[0, :]  # wall faces take the cell's own coefficient
            diag[-1, :] += k[-1, :]
        else:
            diag[:, :-1] += kf
            diag[:, 1:] += kf
            diag[:, 0] += k[:, 0]
            diag[:, -1] += k[:, -1]
    rows.append(idx.ravel())
    cols.append(idx.ravel())
    vals.append(diag.ravel())
    A = sp.coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n * n,) * 2
    )
    return sp.csr_array(A.tocsr())


def poisson2d(
    n: int,
    coeff: np.ndarray | Callable | None = None,
    obstacle: np.ndarray | None = None,
    rhs: str = "manufactured",
    seed: int = 0,
) -> LinearProblem:
    """2D Dirichlet Poisson problem, 5-point stencil, ``n x n`` interior nodes.

    Parameters
    ----------
    n : int
        Interior nodes per side (``n**2`` unknowns, ``h = 1/(n+1)``).
    coeff : (n, n) array or callable ``k(x, y)``, optional
        Positive diffusion coefficient at the nodes; faces use harmonic means.
    obstacle : (n, n) bool array, optional
        True on solid cells. They are removed from the system and act as
        homogeneous Dirichlet walls; ``problem.mask`` marks the kept cells.
    rhs : {'manufactured', 'ones', 'random'}
        'manufactured' sets ``b = A u*`` and ``exact = u*``.
    seed : int
        Seed for ``rhs='random'``.

    Returns
    -------
    LinearProblem
        SPD, scipy CSR, ``grid_shape=(n, n)``; ``stencil`` is set for constant
        coefficients without obstacles.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.poisson2d(32)
    >>> p.n, p.A.nnz, bool(np.allclose(p.A @ p.exact, p.b))
    (1024, 4992, True)
    >>> r = us.solve(p, rtol=1e-10)
    >>> bool(np.linalg.norm(r.x - p.exact) < 1e-8 * np.linalg.norm(p.exact))
    True
    """
    n = _check_n(n, "poisson2d")
    coords = _grid(n, 2)
    stencil = None
    if coeff is None:
        stencil = Stencil(shape=(n, n), diagonal=4.0, offdiagonal=-1.0)
        A = stencil.to_csr()
    else:
        k = coeff(*coords) if callable(coeff) else np.asarray(coeff, dtype=float)
        if k.shape != (n, n):
            raise ValueError(f"coeff must have shape ({n}, {n}), got {k.shape}")
        if not np.all(np.isfinite(k)) or np.any(k <= 0):
            raise ValueError("coeff must be finite and strictly positive everywhere")
        A = _variable_coefficient_2d(k)
    keep = None
    mask = None
    if obstacle is not None:
        obstacle = np.asarray(obstacle, dtype=bool)
        if obstacle.shape != (n, n):
            raise ValueError(f"obstacle must be a bool mask of shape ({n}, {n})")
        if obstacle.all():
            raise ValueError("obstacle covers every cell: nothing is left to solve for")
        mask = ~obstacle
        keep = np.flatnonzero(mask.ravel())
        A = sp.csr_array(A[keep][:, keep])
        stencil = None
    b, exact = _rhs(A, coords, rhs, seed, keep)
    return LinearProblem(
        A, b, exact=exact, grid_shape=(n, n), stencil=stencil, mask=mask, spd=True,
        name=f"poisson2d(n={n})",
    )


def poisson3d(n: int, rhs: str = "manufactured", seed: int = 0) -> LinearProblem:
    """3D Dirichlet Poisson problem, 7-point stencil, ``n**3`` unknowns.

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.poisson3d(6)
    >>> p.n, p.stencil.diagonal, p.grid_shape
    (216, 6.0, (6, 6, 6))
    """
    n = _check_n(n, "poisson3d")
    stencil = Stencil(shape=(n, n, n), diagonal=6.0, offdiagonal=-1.0)
    A = stencil.to_csr()
    b, exact = _rhs(A, _grid(n, 3), rhs, seed)
    return LinearProblem(
        A, b, exact=exact, grid_shape=(n, n, n), stencil=stencil, spd=True,
        name=f"poisson3d(n={n})",
    )


def shifted_laplacian(n: int, shift: float) -> sp.csr_array:
    """``L + shift * I`` with L the 2D 5-point stencil (4, −1) on ``n x n`` nodes.

    Examples
    --------
    >>> shifted_laplacian(2, 0.5).toarray()
    array([[ 4.5, -1. , -1. ,  0. ],
           [-1. ,  4.5,  0. , -1. ],
           [-1. ,  0. ,  4.5, -1. ],
           [ 0. , -1. , -1. ,  4.5]])
    """
    return Stencil(shape=(n, n), diagonal=4.0 + shift, offdiagonal=-1.0).to_csr()

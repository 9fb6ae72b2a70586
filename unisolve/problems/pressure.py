"""Pressure-Poisson systems of a fluid in a box with solid obstacles (the DCDM test bed).

A cell-centred grid of ``n`` cells per side fills the unit square (cube); some
cells are solid. The pressure projection of an incompressible-flow step solves

    Σ_{fluid faces f of cell i} (p_i − p_j(f))  =  b_i,     b = div(u*)        (1)

with zero flux through the box walls and through every solid face (Neumann),
so a solid neighbour contributes nothing and row ``i`` has the number of fluid
neighbours on its diagonal. Rows of solid cells are removed, as in the DCDM
paper (Kaneda et al., ICML 2023, Sec. 5): ``problem.mask`` marks the fluid
cells and ``problem.to_grid`` lays a solution back on the grid.

Pure Neumann (1) is singular: the constant is in the null space of every
connected fluid region. Fluid pockets cut off from the largest connected
region are turned solid (they hold no flow a projection could fix), so the
null space is exactly the constant vector, and then:

* ``boundary="neumann"`` (the default, the paper's case): A is symmetric
  positive SEMI-definite and every right-hand side is made consistent,
  ``Σ b = 0`` (``1ᵀb = 0``), so solutions exist and differ by a constant; CG and
  DCDM started from ``x0 = 0`` stay in range(A) and converge in the ordinary
  residual norm. ``exact`` (when known) is the mean-free solution.
* ``boundary="pinned"``: one cell — the fluid cell nearest the centre of the
  wall at the high end of axis 0 (the last grid row; the top of an
  ``imshow(origin="lower")`` plot) — gets one Dirichlet face ``p = 0`` (an outlet of one cell), i.e.
  ``+1`` on its diagonal. A is then SPD, with a lowest eigenvalue of
  O(h²/|Ω|) instead of 0 — the hard case for every Krylov method and for a
  convolutional network, which must answer a nearly constant mode amplified
  by 1/λ_min. ``problem.meta["pinned"]`` gives the pinned cell's flat grid
  index.

The default right-hand side is the divergence of a smooth random velocity
field (what a projection step sees), seeded, with zero normal flux on walls
and solids, so Σ b = 0: consistent without any correction.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp

from .linear import LinearProblem

__all__ = ["pressure_poisson", "random_obstacles"]

_RHS = ("divergence", "manufactured", "random")


def _check_dim(dim: int) -> int:
    if dim not in (2, 3) or isinstance(dim, bool):
        raise ValueError(f"dim must be 2 or 3, got {dim!r}")
    return int(dim)


def random_obstacles(n: int, dim: int = 2, seed: int = 0, count: int | None = None) -> np.ndarray:
    """A seeded random layout of solid discs / balls and boxes in an ``n``-per-side grid.

    Parameters
    ----------
    n : int
        Cells per side.
    dim : {2, 3}
        Grid dimension.
    seed : int
        Seed of the layout; the same seed gives the same layout at every ``n``
        (obstacles are placed in unit-box coordinates).
    count : int, optional
        Number of obstacles (default: 2 to 6, drawn from the seed).

    Returns
    -------
    ndarray of bool, shape ``(n,) * dim``
        True on solid cells.

    Examples
    --------
    >>> m = random_obstacles(64, seed=3)
    >>> m.shape, m.dtype.name, bool(0.02 < m.mean() < 0.5)
    ((64, 64), 'bool', True)
    >>> bool((random_obstacles(64, seed=3) == m).all())
    True
    """
    dim = _check_dim(dim)
    rng = np.random.default_rng(seed)
    count = int(rng.integers(2, 7)) if count is None else int(count)
    centres = (np.arange(n) + 0.5) / n
    coords = np.meshgrid(*([centres] * dim), indexing="ij")
    solid = np.zeros((n,) * dim, dtype=bool)
    for _ in range(count):
        c = rng.uniform(0.15, 0.85, size=dim)
        if rng.random() < 0.5:  # disc / ball of radius 0.05 to 0.15
            radius = rng.uniform(0.05, 0.15)
            solid |= sum((x - ci) ** 2 for x, ci in zip(coords, c, strict=True)) <= radius**2
        else:  # axis-aligned box with half-widths 0.03 to 0.15
            half = rng.uniform(0.03, 0.15, size=dim)
            inside = np.ones_like(solid)
            for x, ci, hi in zip(coords, c, half, strict=True):
                inside &= np.abs(x - ci) <= hi
            solid |= inside
    return solid


def _largest_fluid_region(solid: np.ndarray) -> np.ndarray:
    """Fluid mask of the largest face-connected fluid region."""
    labels, count = ndi.label(~solid)  # face connectivity (the default structure)
    if count == 0:
        raise ValueError("obstacle covers every cell: nothing is left to solve for")
    sizes = np.bincount(labels.ravel())[1:]
    return labels == 1 + int(np.argmax(sizes))


def _pinned_cell(fluid: np.ndarray) -> int:
    """Flat index (full grid) of the fluid cell nearest the centre of the last row's wall."""
    n = fluid.shape
    target = np.array([m - 0.5 for m in n[:1]] + [(m - 1) / 2 for m in n[1:]])
    idx = np.argwhere(fluid)
    nearest = idx[np.argmin(((idx - target) ** 2).sum(axis=1))]
    return int(np.ravel_multi_index(tuple(nearest), n))


def _fluid_faces(fluid: np.ndarray):
    """Per axis: index tuples of the lower and upper cell of every interior face along it,
    and the mask of faces between two fluid cells (the only faces that carry flux)."""
    for axis in range(fluid.ndim):
        lo = [slice(None)] * fluid.ndim
        hi = [slice(None)] * fluid.ndim
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        lo, hi = tuple(lo), tuple(hi)
        yield lo, hi, fluid[lo] & fluid[hi]


def _neumann_matrix(fluid: np.ndarray, pinned: int | None) -> sp.csr_array:
    """Assemble (1) on the fluid cells (removed solids), plus the pin, in fluid numbering."""
    shape = fluid.shape
    number = np.full(shape, -1, dtype=np.int64)
    number[fluid] = np.arange(int(fluid.sum()))
    diag = np.zeros(shape)
    rows, cols = [], []
    for lo, hi, both in _fluid_faces(fluid):
        i, j = number[lo][both], number[hi][both]
        rows += [i, j]
        cols += [j, i]
        for side in (lo, hi):
            view = diag[side]
            view[both] += 1.0  # each fluid face adds 1 to both cells' diagonals
    diag_fluid = diag[fluid]
    if pinned is not None:
        diag_fluid[number.ravel()[pinned]] += 1.0  # one Dirichlet face p = 0 at the pin
    m = int(fluid.sum())
    r = np.concatenate([*rows, np.arange(m)])
    c = np.concatenate([*cols, np.arange(m)])
    v = np.concatenate([-np.ones(sum(len(x) for x in rows)), diag_fluid])
    return sp.csr_array(sp.coo_array((v, (r, c)), shape=(m, m)).tocsr())


def _divergence_rhs(fluid: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """div(u) of a smooth random velocity field with zero flux through walls and solids."""
    n = fluid.shape[0]
    b = np.zeros(fluid.shape)
    for lo, hi, both in _fluid_faces(fluid):  # one velocity component per axis
        u = ndi.gaussian_filter(rng.standard_normal(fluid.shape), sigma=max(n / 16, 1.0),
                                mode="wrap")
        u /= np.std(u) or 1.0
        flux = np.where(both, u[lo], 0.0)  # face velocity; 0 at solid faces
        b[lo] += flux  # outflow of the lower cell
        b[hi] -= flux  # inflow of the upper cell
    return b[fluid]


def pressure_poisson(
    n: int,
    dim: int = 2,
    seed: int = 0,
    obstacle: np.ndarray | None = None,
    rhs: str = "divergence",
    boundary: str = "neumann",
) -> LinearProblem:
    """Pressure-Poisson system in a box with solid obstacles and Neumann walls.

    See the module docstring for the equations, the pin that removes the
    constant null space, and the removal of cut-off fluid pockets.

    Parameters
    ----------
    n : int
        Cells per side (``n**dim`` cells before removing solids).
    dim : {2, 3}
        2D (5-point) or 3D (7-point) grid.
    seed : int
        Seed of the obstacle layout (:func:`random_obstacles`) and of the
        right-hand side.
    obstacle : bool array of shape ``(n,) * dim``, optional
        Your own solid mask instead of the random layout (True = solid).
    rhs : {'divergence', 'manufactured', 'random'}
        'divergence': div of a smooth random velocity (no known solution);
        'manufactured': ``b = A p*`` for a smooth random ``p*``, with
        ``exact = p*``; 'random': white noise. With ``boundary='neumann'`` the
        mean is removed (``Σ b = 0``, ``exact`` mean-free).
    boundary : {'neumann', 'pinned'}
        All walls zero-flux and a consistent ``b`` (singular, semi-definite A),
        or one Dirichlet face at one cell (SPD A); see the module docstring.

    Returns
    -------
    LinearProblem
        Symmetric, scipy CSR over the fluid cells; ``grid_shape = (n,) * dim``,
        ``mask`` (True on fluid cells); ``meta["boundary"]``, ``meta["pinned"]``
        (flat grid index of the pinned cell, None for 'neumann'),
        ``meta["obstacle"]`` (the solid mask actually used, cut-off pockets
        included) and ``meta["null_space"]`` (the constant vector for
        'neumann', else None).

    Raises
    ------
    ValueError
        Bad ``n``/``dim``/``rhs``, a mask of the wrong shape, or no fluid cell.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.pressure_poisson(64, seed=1)
    >>> p.grid_shape, p.n == int(p.mask.sum()), p.meta["boundary"]
    ((64, 64), True, 'neumann')
    >>> bool(abs(p.b.sum()) < 1e-10)        # a divergence: zero net flux
    True
    >>> r = us.solve(p, method="cg", rtol=1e-6)
    >>> r.converged
    True
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"pressure_poisson: n must be an integer >= 2 (cells per side), got {n!r}")
    n = int(n)
    dim = _check_dim(dim)
    if rhs not in _RHS:
        raise ValueError(f"rhs must be one of {', '.join(map(repr, _RHS))}, got {rhs!r}")
    if boundary not in ("neumann", "pinned"):
        raise ValueError(
            f"boundary must be 'neumann' (singular, consistent b) or 'pinned' (one Dirichlet "
            f"cell, SPD), got {boundary!r}"
        )
    if obstacle is None:
        solid = random_obstacles(n, dim, seed)
    else:
        solid = np.asarray(obstacle)
        if solid.shape != (n,) * dim:
            raise ValueError(
                f"obstacle must be a bool mask of shape {(n,) * dim} (True = solid), "
                f"got shape {solid.shape}"
            )
        solid = solid.astype(bool)
    fluid = _largest_fluid_region(solid)
    pinned = _pinned_cell(fluid) if boundary == "pinned" else None
    A = _neumann_matrix(fluid, pinned)
    singular = pinned is None
    rng = np.random.default_rng([seed, 1])
    exact = None
    if rhs == "divergence":
        b = _divergence_rhs(fluid, rng)
    elif rhs == "manufactured":
        smooth = ndi.gaussian_filter(rng.standard_normal(fluid.shape), sigma=max(n / 8, 1.0))
        exact = smooth[fluid] / np.std(smooth[fluid])
        if singular:
            exact -= exact.mean()  # the mean-free member of the solution set
        b = A @ exact
    else:
        b = rng.standard_normal(A.shape[0])
    if singular:
        b = b - b.mean()  # 1ᵀb = 0: consistent with the constant null space
    m = A.shape[0]
    return LinearProblem(
        A, b, exact=exact, grid_shape=(n,) * dim, mask=fluid, spd=None if singular else True,
        name=f"pressure_poisson(n={n}, dim={dim}, seed={seed}, boundary={boundary!r})",
        meta={"boundary": boundary, "pinned": pinned, "obstacle": ~fluid,
              "null_space": np.full(m, 1 / np.sqrt(m)) if singular else None},
    )

"""Nonsymmetric test problems: steady and time-dependent convection–diffusion.

* :func:`convection_diffusion_system` — the steady problem

      −Δu + w·∇u = f  in (0, 1)^d,   u = 0 on the walls,   d = 2 or 3,

  on ``n`` interior nodes per side, ``x_i = (i + 1) h``, ``h = 1/(n + 1)``,
  discretised by the 5-point (2D) / 7-point (3D) Laplacian and first-order
  upwind or second-order central differences for ``w·∇u``, the whole row
  multiplied by ``h²`` so the entries stay O(1):

      A = h² (−Δ_h + w·∇_h),   b = h² f.

  Péclet number: ``Pe = |w| L / ν`` with ``L = 1`` (the side) and ``ν = 1``
  (the coefficient of ``−Δu``), so ``|w| = Pe`` (``max |w|`` for the vortex);
  the cell Péclet number is ``|w| h / 2``.
* :func:`convection_diffusion_sequence` — the nonsymmetric twin of
  :func:`~unisolve.problems.heat_sequence`: backward Euler steps of
  ``u_t + w(t)·∇u = ν Δu + f`` on the unit square with a velocity of fixed
  speed ``Pe`` whose direction turns by a seeded random walk, so the matrix
  changes every step.

Both keep the full star pattern (5 or 7 entries a row less the wall
couplings), even where a coefficient happens to be 0, so every matrix of a
sequence shares one CSR pattern and assembles by one vectorised combination of
fixed value arrays.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from .heat import bump, heat_forcing
from .linear import LinearProblem, LinearSequence

__all__ = ["convection_diffusion_sequence", "convection_diffusion_system", "flow_angles"]

_SCHEMES = ("upwind", "central")
_VELOCITIES = ("diagonal", "vortex")
_RHS = ("manufactured", "pde", "ones", "random")


# ---------------------------------------------------------------- validation

def _check_int(value, name: str, low: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low} ({what}), got {value!r}")
    return int(value)


def _check_peclet(peclet) -> float:
    try:
        pe = float(peclet)
    except (TypeError, ValueError):
        pe = math.nan
    if not math.isfinite(pe) or pe < 0:
        raise ValueError(
            f"peclet must be a finite number >= 0 (the speed |w| with nu = 1), got {peclet!r}")
    return pe


def _check_scheme(scheme) -> str:
    if scheme not in _SCHEMES:
        raise ValueError(f"scheme must be 'upwind' or 'central', got {scheme!r}")
    return scheme


# ---------------------------------------------------------------- assembly

def _assemble_star(n: int, dim: int, center, lower, upper) -> sp.csr_array:
    """CSR matrix of the star stencil on an ``n``-per-side grid (C order, axis 0 slowest).

    Row ``r`` (grid index ``i``) is ``center[r] u_r + Σ_k lower[k][r] u_{i − e_k}
    + upper[k][r] u_{i + e_k}``; couplings across a wall are left out (homogeneous
    Dirichlet data), every other one is stored, zero or not. ``center`` and the
    entries of ``lower``/``upper`` are scalars or arrays of length ``n**dim``.
    """
    N = n**dim
    strides = [n ** (dim - 1 - k) for k in range(dim)]  # axis 0 has the largest stride
    index = np.indices((n,) * dim).reshape(dim, N)      # grid index of every row
    rows = np.arange(N)
    # columns in ascending order: −s_0, …, −s_{d−1}, 0, +s_{d−1}, …, +s_0
    order = [(k, -1) for k in range(dim)] + [(None, 0)] + [(k, 1) for k in reversed(range(dim))]
    width = len(order)
    vals = np.empty((N, width))
    cols = np.empty((N, width), dtype=np.int64)
    keep = np.ones((N, width), dtype=bool)
    for c, (k, side) in enumerate(order):
        if k is None:
            vals[:, c] = center
            cols[:, c] = rows
            continue
        vals[:, c] = lower[k] if side < 0 else upper[k]
        cols[:, c] = rows + side * strides[k]
        keep[:, c] = index[k] > 0 if side < 0 else index[k] < n - 1
    indptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=indptr[1:])
    A = sp.csr_array((vals[keep], cols[keep], indptr), shape=(N, N))
    A.has_sorted_indices = True
    return A


def _convection_coefficients(w: list, h: float, scheme: str, dim: int):
    """Star coefficients of ``h² w·∇_h`` (``w`` per axis, scalar or per node).

    upwind:  ``h² w_k ∂_k u ≈ h max(w_k, 0)(u_i − u_{i−e_k}) + h min(w_k, 0)(u_{i+e_k} − u_i)``
    central: ``h² w_k ∂_k u ≈ (h w_k / 2)(u_{i+e_k} − u_{i−e_k})``
    """
    center = 0.0
    lower, upper = [], []
    for k in range(dim):
        if scheme == "upwind":
            plus, minus = np.maximum(w[k], 0.0), np.minimum(w[k], 0.0)
            center = center + h * (plus - minus)        # h |w_k|
            lower.append(-h * plus)                     # −h max(w_k, 0)
            upper.append(h * minus)                     # +h min(w_k, 0)
        else:
            lower.append(-0.5 * h * w[k])               # −h w_k / 2
            upper.append(0.5 * h * w[k])                # +h w_k / 2
    return center, lower, upper


def _velocity(velocity, peclet: float, coords: list, dim: int) -> list:
    """Velocity components at the nodes (scalars when constant), scaled so ``|w| = Pe``."""
    if isinstance(velocity, str):
        if velocity == "diagonal":                      # w = Pe (1, …, 1)/√d
            return [peclet / math.sqrt(dim)] * dim
        if velocity == "vortex":                        # ψ = sin πx sin πy / π, w = (ψ_y, −ψ_x)
            x, y = coords[0].ravel(), coords[1].ravel()
            w = [peclet * np.sin(np.pi * x) * np.cos(np.pi * y),
                 -peclet * np.cos(np.pi * x) * np.sin(np.pi * y)]
            return w + [0.0] * (dim - 2)
        raise ValueError(
            f"velocity must be 'diagonal', 'vortex' or a tuple of {dim} numbers (a direction), "
            f"got {velocity!r}")
    try:
        d = np.asarray(velocity, dtype=float)
    except (TypeError, ValueError):
        d = np.full(0, np.nan)
    if d.shape != (dim,) or not np.all(np.isfinite(d)) or not np.any(d):
        raise ValueError(
            f"velocity must be 'diagonal', 'vortex' or a nonzero tuple of {dim} finite numbers "
            f"(a direction, scaled to |w| = peclet), got {velocity!r}")
    d = d / np.linalg.norm(d)
    return [peclet * float(c) for c in d]


# ------------------------------------------------- manufactured solution u*

def _bubble(c: np.ndarray, a: float):
    """g(c) = 4c(1 − c)e^{ac} and its first two derivatives."""
    e = np.exp(a * c)
    g = 4.0 * c * (1.0 - c) * e
    g1 = 4.0 * e * ((1.0 - 2.0 * c) + a * c * (1.0 - c))                    # g'
    g2 = 4.0 * e * (-2.0 + 2.0 * a * (1.0 - 2.0 * c) + a * a * c * (1.0 - c))  # g''
    return g, g1, g2


def _manufactured(coords: list, w: list):
    """``u* = Π_k g_k(x_k)``, ``g_k(c) = 4c(1 − c)e^{(k+1)c}``, and ``f = −Δu* + w·∇u*``."""
    parts = [_bubble(c.ravel(), k + 1.0) for k, c in enumerate(coords)]
    dim = len(coords)
    u = np.ones_like(parts[0][0])
    for g, _, _ in parts:
        u = u * g
    f = np.zeros_like(u)
    for k in range(dim):
        others = np.ones_like(u)
        for j in range(dim):
            if j != k:
                others = others * parts[j][0]
        f += -parts[k][2] * others + w[k] * parts[k][1] * others  # −∂²_k u* + w_k ∂_k u*
    return u, f


def convection_diffusion_system(
    n: int,
    peclet: float = 10.0,
    *,
    dim: int = 2,
    scheme: str = "upwind",
    velocity: str | tuple = "diagonal",
    rhs: str = "manufactured",
    seed: int = 0,
) -> LinearProblem:
    """Steady convection–diffusion ``−Δu + w·∇u = f`` on the unit square or cube.

    Homogeneous Dirichlet walls, ``n`` interior nodes per side, ``h = 1/(n + 1)``,
    unknowns in C order of ``grid_shape = (n,)*dim`` (axis ``k`` is ``x_k``).
    Row ``i`` of ``A = h² (−Δ_h + w·∇_h)`` is

    * diffusion (5-/7-point): ``2d u_i − Σ_k (u_{i−e_k} + u_{i+e_k})``;
    * ``scheme='upwind'`` (first order): ``+ Σ_k h max(w_k, 0)(u_i − u_{i−e_k})
      + h min(w_k, 0)(u_{i+e_k} − u_i)`` — the one-sided difference on the side the
      flow comes from. Off-diagonals ``−1 − h max(w_k, 0)`` and ``−1 + h min(w_k, 0)``
      are ≤ 0 and every row sum is ≥ 0 (> 0 next to a wall): a nonsymmetric,
      weakly diagonally dominant M-matrix for every Péclet number;
    * ``scheme='central'`` (second order): ``+ Σ_k (h w_k / 2)(u_{i+e_k} − u_{i−e_k})``.
      Off-diagonals ``−1 ∓ h w_k / 2`` change sign and the rows lose diagonal
      dominance once a component's cell Péclet number ``|w_k| h / 2`` exceeds 1
      (the discrete solution then oscillates; upwind does not).

    ``w_k`` is taken at node ``i``. The Péclet number is global,
    ``Pe = |w| L / ν`` with ``L = 1`` and ``ν = 1``, so ``|w| = Pe``; the cell
    Péclet number ``max |w| h / 2`` is stored in ``meta['cell_peclet']``.

    Parameters
    ----------
    n : int
        Interior nodes per side (``n**dim`` unknowns).
    peclet : float
        ``Pe ≥ 0``: the speed ``|w|`` (for the vortex its maximum over the domain).
        ``Pe = 0`` gives exactly ``poisson2d(n).A`` / ``poisson3d(n).A``.
    dim : {2, 3}
        Unit square (5-point) or unit cube (7-point).
    scheme : {'upwind', 'central'}
        Difference for ``w·∇u`` (see above).
    velocity : 'diagonal', 'vortex' or tuple of ``dim`` floats
        'diagonal': constant ``w = Pe (1, 1)/√2`` (``Pe (1, 1, 1)/√3`` in 3D).
        'vortex': the divergence-free recirculating field of the stream function
        ``ψ = Pe sin(πx) sin(πy) / π``, ``w = (∂ψ/∂y, −∂ψ/∂x) = Pe (sin πx cos πy,
        −cos πx sin πy)`` (``w_z = 0`` in 3D: the same vortex in every z-plane);
        ``|w| ≤ Pe``, with equality at the wall midpoints.
        A tuple is a constant direction, normalised to ``|w| = Pe``.
    rhs : {'manufactured', 'pde', 'ones', 'random'}
        'manufactured': ``b = A u*`` and ``exact = u*`` (the discrete solution, to
        rounding), ``u* = Π_k 4x_k(1 − x_k) e^{(k+1) x_k}``, the bubble of
        :func:`~unisolve.problems.poisson2d`.
        'pde': ``b = h² f`` with ``f = −Δu* + w·∇u*`` in closed form, so ``u*`` solves
        the PDE (not the linear system): ``exact = None``, ``meta['pde_solution'] = u*``
        at the nodes; the discretisation error ``‖x − u*‖`` is O(h) upwind, O(h²)
        central. 'ones': ``f = 1`` (``b = h²``). 'random': ``f`` standard normal at
        the nodes (``seed``).
    seed : int
        Seed for ``rhs='random'``.

    Returns
    -------
    LinearProblem
        scipy CSR, ``grid_shape=(n,)*dim``, ``spd=True`` only for ``Pe = 0``;
        ``meta`` holds ``peclet``, ``cell_peclet``, ``scheme``, ``velocity``, ``h``,
        ``dim`` and ``rhs``.

    Raises
    ------
    ValueError
        ``n < 1``, ``peclet < 0``, ``dim`` not 2 or 3, an unknown scheme, velocity
        or rhs, a velocity tuple of the wrong length or zero.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.convection_diffusion_system(3, peclet=10.0)
    >>> p.A.toarray()[4].round(3).tolist()   # centre row: h = 1/4, w = (7.071, 7.071)
    [0.0, -2.768, 0.0, -2.768, 7.536, -1.0, 0.0, -1.0, 0.0]
    >>> p.meta["cell_peclet"], bool(np.allclose(p.A @ p.exact, p.b))
    (1.25, True)
    >>> q = us.problems.convection_diffusion_system(32, 0.0)   # Pe = 0: the Poisson matrix
    >>> float(abs(q.A - us.problems.poisson2d(32).A).max())
    0.0
    """
    n = _check_int(n, "n", 1, "interior nodes per side")
    pe = _check_peclet(peclet)
    if dim not in (2, 3) or isinstance(dim, bool):
        raise ValueError(f"dim must be 2 (unit square) or 3 (unit cube), got {dim!r}")
    scheme = _check_scheme(scheme)
    if rhs not in _RHS:
        raise ValueError(f"rhs must be one of {', '.join(map(repr, _RHS))}, got {rhs!r}")
    h = 1.0 / (n + 1)
    x = (np.arange(n) + 1) * h
    coords = np.meshgrid(*([x] * dim), indexing="ij")
    w = _velocity(velocity, pe, coords, dim)
    speed = np.sqrt(sum(np.square(c) for c in w))
    cell_peclet = float(np.max(speed)) * h / 2.0       # max |w| h / 2
    conv_center, conv_lower, conv_upper = _convection_coefficients(w, h, scheme, dim)
    A = _assemble_star(                                # h²(−Δ_h) + h² w·∇_h
        n, dim, 2.0 * dim + conv_center,
        [-1.0 + c for c in conv_lower], [-1.0 + c for c in conv_upper])
    exact = None
    meta = {"peclet": pe, "cell_peclet": cell_peclet, "scheme": scheme,
            "velocity": velocity if isinstance(velocity, str) else tuple(velocity),
            "h": h, "dim": dim, "rhs": rhs}
    if rhs in ("manufactured", "pde"):
        u_star, f = _manufactured(coords, w)
        if rhs == "manufactured":
            b, exact = A @ u_star, u_star
        else:
            b = h * h * f                              # b = h² f
            meta["pde_solution"] = u_star
    elif rhs == "ones":
        b = np.full(n**dim, h * h)
    else:
        b = h * h * np.random.default_rng(seed).standard_normal(n**dim)
    name = f"convection_diffusion_system(n={n}, peclet={pe:g}, dim={dim}, scheme={scheme!r})"
    return LinearProblem(A, b, exact=exact, grid_shape=(n,) * dim, spd=pe == 0,
                         name=name, meta=meta)


# ---------------------------------------------------------------- sequence

def _circling_forcing(x: np.ndarray, y: np.ndarray, s: float) -> np.ndarray:
    """:func:`~unisolve.problems.heat.heat_forcing` on the grid ``x, y`` (``indexing="ij"``),
    evaluated only on the rows and columns the bump (radius 1/8) meets; 0 elsewhere."""
    c = (0.5 + np.cos(16 * np.pi * s) / 4, 0.5 + np.sin(16 * np.pi * s) / 4)
    rows = np.flatnonzero(np.abs(x[:, 0] - c[0]) < 0.125)
    cols = np.flatnonzero(np.abs(y[0, :] - c[1]) < 0.125)
    out = np.zeros(x.shape)
    if rows.size and cols.size:
        box = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        out[box] = heat_forcing(x[box], y[box], s)
    return out


def flow_angles(steps: int, dt: float, seed: int) -> np.ndarray:
    """Directions ``θ(s_t)``, ``s_t = (t + 1) dt``, of the sequence's velocity.

    ``θ(s) = θ_0 + 2π s + π B(s)``: one turn per unit time on average plus a
    Brownian wobble (``B`` a standard Brownian path), ``θ_0`` uniform in
    ``[0, 2π)``; all drawn from ``seed``. Returned modulo 2π.

    Examples
    --------
    >>> theta = flow_angles(5, 1e-3, seed=0)
    >>> theta.shape, bool(((0 <= theta) & (theta < 2 * np.pi)).all())
    ((5,), True)
    """
    rng = np.random.default_rng(seed)
    theta0 = 2.0 * np.pi * rng.random()
    steps_ = 2.0 * np.pi * dt + np.pi * math.sqrt(dt) * rng.standard_normal(steps)
    return np.mod(theta0 + np.cumsum(steps_), 2.0 * np.pi)


def convection_diffusion_sequence(
    nx: int = 100,
    steps: int = 2000,
    dt: float = 1e-3,
    *,
    peclet: float = 10.0,
    scheme: str = "upwind",
    seed: int = 0,
) -> LinearSequence:
    """Backward Euler steps of 2D convection–diffusion with a turning velocity.

    ``u_t + w(t)·∇u = ν Δu + f`` on the unit square, ``u = 0`` on the walls,
    ``ν = 1``, ``(nx − 1)**2`` unknowns, ``h = 1/nx`` (as in
    :func:`~unisolve.problems.heat_sequence`). Step ``t`` solves, multiplied by ``dt``,

        (I + (ν dt/h²) K + (dt/h) C(w_t)) u_{t+1} = u_t + dt f(s_t, ·),   s_t = (t + 1) dt,

    ``K`` the 5-point stencil (4, −1) = ``−h² Δ_h``, ``C(w) = h w·∇_h``:
    upwind ``Σ_k max(w_k, 0) D_k⁻ + min(w_k, 0) D_k⁺``, central
    ``Σ_k w_k (D_k⁻ + D_k⁺)/2``, with ``D_k⁻ u = u_i − u_{i−e_k}`` and
    ``D_k⁺ u = u_{i+e_k} − u_i`` (zero outside the walls). The velocity
    ``w_t = Pe (cos θ_t, sin θ_t)`` has the fixed speed ``Pe`` and turns by
    :func:`flow_angles` (``θ(s) = θ_0 + 2π s + π B(s)``, seeded), so the matrix
    changes every step; the forcing is
    :func:`~unisolve.problems.heat.heat_forcing` (a source circling the centre)
    and ``u_0 = bump(x; (.5, .5), .25)``.

    Parameters
    ----------
    nx : int
        Cells per side (``>= 3``).
    steps : int
        Number of time steps (= linear systems).
    dt : float
        Time step (> 0).
    peclet : float
        ``Pe = |w| L / ν`` with ``L = 1``, ``ν = 1``: the speed.
    scheme : {'upwind', 'central'}
        As in :func:`convection_diffusion_system`; upwind keeps every ``A_t`` an
        M-matrix.
    seed : int
        Seed of the direction's random walk.

    Returns
    -------
    LinearSequence
        Warm-started: instance ``t`` is built from the solution of ``t − 1`` (``u_0``
        for ``t = 0``), which is also its ``x0``. Context: the flow direction
        ``θ_t`` in ``[0, 2π)`` (``context_range = (0, 2π)``; the quadrant fixes
        which one-sided differences upwind uses). All matrices share one CSR
        pattern; ``meta`` holds ``u0``, ``times``, ``angles``, ``dt``, ``h``, ``nu``,
        ``peclet``, ``cell_peclet``, ``scheme``, ``seed``.

    Raises
    ------
    ValueError
        ``nx < 3``, ``steps < 1``, ``dt <= 0``, ``peclet < 0``, an unknown scheme.

    Examples
    --------
    >>> import numpy as np
    >>> seq = convection_diffusion_sequence(nx=20, steps=3, seed=0)
    >>> p = seq.instance(0)
    >>> p.n, bool(np.allclose(p.x0, seq.meta["u0"])), bool(p.context == seq.contexts[0])
    (361, True, True)
    >>> bool(abs(p.A - p.A.T).max() > 0)                 # nonsymmetric
    True
    """
    nx = _check_int(nx, "nx", 3, "cells per side")
    steps = _check_int(steps, "steps", 1, "number of time steps")
    try:
        dt = float(dt)
    except (TypeError, ValueError):
        dt = math.nan
    if not math.isfinite(dt) or dt <= 0:
        raise ValueError(f"dt must be a finite time step > 0, got {dt!r}")
    pe = _check_peclet(peclet)
    scheme = _check_scheme(scheme)
    nu = 1.0
    m = nx - 1
    h = 1.0 / nx
    grid = (np.arange(m) + 1) * h
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    # value arrays on the one shared pattern: I, K, D_x⁻, D_x⁺, D_y⁻, D_y⁺
    zero = [0.0, 0.0]
    pattern = _assemble_star(m, 2, 4.0, [-1.0, -1.0], [-1.0, -1.0])       # K
    parts = [
        _assemble_star(m, 2, 1.0, zero, zero),                            # I
        pattern,                                                          # K
        _assemble_star(m, 2, 1.0, [-1.0, 0.0], zero),                     # D_x⁻
        _assemble_star(m, 2, -1.0, zero, [1.0, 0.0]),                     # D_x⁺
        _assemble_star(m, 2, 1.0, [0.0, -1.0], zero),                     # D_y⁻
        _assemble_star(m, 2, -1.0, zero, [0.0, 1.0]),                     # D_y⁺
    ]
    basis = np.ascontiguousarray(np.stack([P.data for P in parts]))      # (6, nnz)
    indices, indptr = pattern.indices, pattern.indptr
    angles = flow_angles(steps, dt, seed)
    times = (np.arange(steps) + 1) * dt
    wx, wy = pe * np.cos(angles), pe * np.sin(angles)
    diffusion, convection = nu * dt / h**2, dt / h
    u0 = bump(X, Y, (0.5, 0.5), 0.25).ravel()

    def coefficients(t: int) -> np.ndarray:
        """Weights of (I, K, D_x⁻, D_x⁺, D_y⁻, D_y⁺) in A_t."""
        if scheme == "upwind":
            cx = (max(wx[t], 0.0), min(wx[t], 0.0))
            cy = (max(wy[t], 0.0), min(wy[t], 0.0))
        else:
            cx = (0.5 * wx[t], 0.5 * wx[t])
            cy = (0.5 * wy[t], 0.5 * wy[t])
        return np.array([1.0, diffusion, convection * cx[0], convection * cx[1],
                         convection * cy[0], convection * cy[1]])

    def make(t: int, previous=None) -> LinearProblem:
        u = u0 if previous is None else np.asarray(previous)
        data = coefficients(t) @ basis   # A_t = I + (ν dt/h²) K + (dt/h) C(w_t), one pass
        A = sp.csr_array((data, indices, indptr), shape=pattern.shape, copy=False)
        b = u + dt * _circling_forcing(X, Y, times[t]).ravel()   # u_t + dt f(s_t)
        return LinearProblem(
            A, b, x0=u.copy(), context=float(angles[t]), grid_shape=(m, m), spd=False,
            name=f"convection-diffusion[{t}]", meta={"w": (float(wx[t]), float(wy[t]))},
        )

    return LinearSequence(
        length=steps, make_instance=make, warm_start=True,
        name=(f"convection_diffusion_sequence(nx={nx}, steps={steps}, dt={dt}, "
              f"peclet={pe:g}, scheme={scheme!r})"),
        contexts=angles, context_range=(0.0, 2.0 * np.pi),
        meta={"u0": u0, "times": times, "angles": angles, "dt": dt, "h": h, "nu": nu,
              "peclet": pe, "cell_peclet": pe * h / 2.0, "scheme": scheme, "seed": seed},
    )

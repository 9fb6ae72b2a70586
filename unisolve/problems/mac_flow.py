"""2D incompressible flow on a staggered (MAC) grid: the NeuralStagger problems.

The discretisation the physics-constrained networks are trained on (Wandel et al.
2021, "Learning incompressible fluid dynamics from scratch"; Huang et al. 2023,
"NeuralStagger"), and that the classical solver :mod:`unisolve.solvers.mac_projection`
solves exactly. An ``ny × nx`` grid of square cells of side ``h``, periodic in both
directions; every field is an array (..., ny, nx) indexed [i, j] (row i ↔ y, column
j ↔ x), and entry [i, j] of each field lives at its own place of cell (i, j):

* ψ (stream function)        at the lower-left node      (j h,       i h)
* u (x-velocity)             on the left face            (j h,       (i + ½) h)
* v (y-velocity)             on the bottom face          ((j + ½) h, i h)
* p (pressure)               at the centre               ((j + ½) h, (i + ½) h)

The velocity is the discrete curl of ψ plus a constant mean flow U,

    u = U_x + (ψ[i+1, j] − ψ[i, j]) / h,      v = U_y − (ψ[i, j+1] − ψ[i, j]) / h,

so its discrete divergence is zero to the last bit (incompressibility by
construction). One step Δt is the Crank–Nicolson scheme

    (u¹ − u⁰)/Δt + A(ū) + ∇p + G − ν Δ_h ū + κ (u¹ − u_b) = 0,     ū = (u⁰ + u¹)/2,

with A(u) = ∇·(u ⊗ u) in conservative central differences (the Harlow–Welch MAC
stencil: momentum- and energy-conserving), Δ_h the 5-point Laplacian, κ = λ/Δt on
the faces of solid cells (Brinkman penalisation of the obstacle, walls and inflow,
velocity u_b there) and G a constant vector (the mean pressure gradient that
holds the mean flow at U; it removes the residual's mean). :meth:`MacFlow.residual`
evaluates the left-hand side, on NumPy arrays or torch tensors alike; the
physics loss of :mod:`unisolve.learned.stagger` is its mean square.

Problems (:class:`FlowProblem`, kind ``"flow"``):

* :func:`taylor_green_flow` — the exact decaying vortex array (closed form);
* :func:`decaying_turbulence` — a random vorticity field, energy spectrum
  E(k) ∝ k⁴ exp(−2 (k/k₀)²), seeded, on [0, 2π)²;
* :func:`cylinder_channel` — flow past a cylinder between two walls, fed by a
  penalised inflow band (the fluid leaving at the right re-enters the periodic box
  through the inflow band, which resets it to the inflow profile: the fringe
  method of spatially developing flows).

Importing this module does not import torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["FlowProblem", "MacFlow", "channel_flow", "check_divisible", "cylinder_channel",
           "decaying_turbulence", "laplacian_symbol", "plug_flow_psi",
           "random_turbulence_psi", "strouhal", "taylor_green_flow",
           "taylor_green_psi", "wake_probe"]


def _roll(a: Any, shift: int, axis: int) -> Any:
    """``np.roll`` for arrays, ``Tensor.roll`` for torch tensors."""
    return np.roll(a, shift, axis) if isinstance(a, np.ndarray) else a.roll(shift, axis)


# neighbours on the periodic grid: east a[i, j+1], west a[i, j-1], north a[i+1, j], south a[i-1, j]
def _e(a: Any) -> Any:
    return _roll(a, -1, -1)


def _w(a: Any) -> Any:
    return _roll(a, 1, -1)


def _n(a: Any) -> Any:
    return _roll(a, -1, -2)


def _s(a: Any) -> Any:
    return _roll(a, 1, -2)


def _mean(a: Any) -> Any:
    return a.mean(axis=(-2, -1), keepdims=True) if isinstance(a, np.ndarray) else \
        a.mean(dim=(-2, -1), keepdim=True)


def laplacian_symbol(ny: int, nx: int, dy: float, dx: float) -> np.ndarray:
    """Eigenvalues of the periodic 5-point Laplacian (spacings dy, dx) on the rfft2 modes.

    −(4/dx²) sin²(π k_x/nx) − (4/dy²) sin²(π k_y/ny), shape (ny, nx // 2 + 1).

    Examples
    --------
    >>> lam = laplacian_symbol(8, 8, 1.0, 1.0)
    >>> lam.shape, float(lam[0, 1]), float(lam[4, 4])
    ((8, 5), -0.585786437626905, -8.0)
    """
    ky = np.fft.fftfreq(ny)[:, None]
    kx = np.fft.rfftfreq(nx)[None, :]
    return -(4 / dx**2 * np.sin(np.pi * kx) ** 2 + 4 / dy**2 * np.sin(np.pi * ky) ** 2)


def check_divisible(shape: tuple[int, int], s_h: int, s_w: int) -> None:
    """Raise ``ValueError`` unless an (ny, nx) grid splits into s_h × s_w sub-grids.

    Examples
    --------
    >>> check_divisible((64, 64), 2, 2)
    >>> check_divisible((64, 48), 4, 5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: a 64 x 48 grid does not split into 4 x 5 interleaved sub-grids: nx = 48 ...
    """
    ny, nx = shape
    for side, s, name, sname in ((ny, s_h, "ny", "s_H"), (nx, s_w, "nx", "s_W")):
        if side % s:
            raise ValueError(f"a {ny} x {nx} grid does not split into {s_h} x {s_w} "
                             f"interleaved sub-grids: {name} = {side} is not a multiple of "
                             f"{sname} = {s} (use a grid whose sides are multiples of "
                             f"(s_H, s_W))")


@dataclass(eq=False)
class MacFlow:
    """The grid, the physics and the boundary data of one MAC-grid flow.

    Parameters
    ----------
    ny, nx : int
        Cells in y and x (periodic both ways).
    h : float
        Cell side.
    nu : float
        Kinematic viscosity (≥ 0).
    dt : float
        The time step Δt of the scheme.
    solid : ndarray of bool (ny, nx) or None
        Penalised cells (obstacle, walls, inflow band); None: a fully periodic box.
    u_b, v_b : ndarray (ny, nx) or None
        The velocity imposed on the penalised faces (zero when None).
    mean_flow : (float, float)
        U = (U_x, U_y), the mean velocity over the box (kept by G).
    penalty : float
        λ in κ = λ/Δt on the faces of solid cells.

    Examples
    --------
    >>> f = MacFlow(16, 16, 2 * np.pi / 16, nu=0.01, dt=0.05)
    >>> psi = taylor_green_psi(f, 0.0)
    >>> u, v = f.velocity(psi)
    >>> float(np.abs(f.divergence(u, v)).max()) < 1e-13
    True
    """

    ny: int
    nx: int
    h: float
    nu: float
    dt: float
    solid: np.ndarray | None = None
    u_b: np.ndarray | None = None
    v_b: np.ndarray | None = None
    mean_flow: tuple[float, float] = (0.0, 0.0)
    penalty: float = 20.0
    kappa_u: np.ndarray | None = field(default=None, init=False, repr=False)
    kappa_v: np.ndarray | None = field(default=None, init=False, repr=False)
    _lam: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("ny", "nx"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 4:
                raise ValueError(f"{name} must be an integer >= 4, got {v!r}")
            setattr(self, name, int(v))
        for name, allow_zero in (("h", False), ("nu", True), ("dt", False),
                                 ("penalty", False)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or \
                    not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
                raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'}"
                                 f" 0, got {v!r}")
            setattr(self, name, float(v))
        self.mean_flow = (float(self.mean_flow[0]), float(self.mean_flow[1]))
        shape = (self.ny, self.nx)
        if self.solid is not None:
            solid = np.asarray(self.solid, dtype=bool)
            if solid.shape != shape:
                raise ValueError(f"solid must have shape {shape}, got {solid.shape}")
            self.solid = solid
            # a face is penalised when either of its two cells is solid
            kappa = self.penalty / self.dt
            self.kappa_u = kappa * (solid | _w(solid)).astype(np.float64)
            self.kappa_v = kappa * (solid | _s(solid)).astype(np.float64)
        for name in ("u_b", "v_b"):
            v = getattr(self, name)
            if v is not None:
                v = np.asarray(v, dtype=np.float64)
                if v.shape != shape:
                    raise ValueError(f"{name} must have shape {shape}, got {v.shape}")
                setattr(self, name, v)

    @property
    def shape(self) -> tuple[int, int]:
        return self.ny, self.nx

    # -- the staggered operators (NumPy arrays or torch tensors, any leading batch) -------
    def velocity(self, psi: Any) -> tuple[Any, Any]:
        """(u, v) = U + discrete curl of ψ (face values; divergence-free exactly)."""
        h = self.h
        return ((_n(psi) - psi) / h + self.mean_flow[0],
                -(_e(psi) - psi) / h + self.mean_flow[1])

    def divergence(self, u: Any, v: Any) -> Any:
        """(∂u/∂x + ∂v/∂y) at the cell centres."""
        return (_e(u) - u + _n(v) - v) / self.h

    def vorticity(self, u: Any, v: Any) -> Any:
        """ω = ∂v/∂x − ∂u/∂y at the nodes (ω = −Δ_h ψ)."""
        return (v - _w(v) - u + _s(u)) / self.h

    def laplacian(self, a: Any) -> Any:
        """The 5-point Laplacian Δ_h (periodic)."""
        return (_e(a) + _w(a) + _n(a) + _s(a) - 4 * a) / self.h**2

    def gradient(self, p: Any) -> tuple[Any, Any]:
        """∇p on the u-faces and v-faces."""
        return (p - _w(p)) / self.h, (p - _s(p)) / self.h

    def advection(self, u: Any, v: Any) -> tuple[Any, Any]:
        """A(u) = ∇·(u ⊗ u) on the faces (conservative central MAC stencil).

        u² and v² are taken at the cell centres, uv at the nodes; their differences
        land on the faces: A_u = δ_x(u_c²) + δ_y(u_n v_n), A_v = δ_x(u_n v_n) + δ_y(v_c²).
        """
        h = self.h
        u_c = (u + _e(u)) / 2        # u at the cell centres
        v_c = (v + _n(v)) / 2        # v at the cell centres
        uv = (u + _s(u)) * (v + _w(v)) / 4   # u v at the nodes
        a_u = (u_c**2 - _w(u_c) ** 2 + _n(uv) - uv) / h
        a_v = (_e(uv) - uv + v_c**2 - _s(v_c) ** 2) / h
        return a_u, a_v

    def residual(self, psi0: Any, psi1: Any, p: Any) -> tuple[Any, Any]:
        """The scheme's residual (R_u, R_v) for one step ψ⁰ → ψ¹ with pressure p.

        Zero exactly at the solution of the Crank–Nicolson step (up to round-off);
        the mean of each component is removed (the mean pressure gradient G).

        Examples
        --------
        >>> f = MacFlow(32, 32, 2 * np.pi / 32, nu=0.01, dt=0.01)
        >>> r_u, r_v = f.residual(taylor_green_psi(f, 0.0), taylor_green_psi(f, 0.01),
        ...                       taylor_green_pressure(f, 0.005))
        >>> float(np.sqrt((r_u**2 + r_v**2).mean())) < 1e-2
        True
        """
        u0, v0 = self.velocity(psi0)
        u1, v1 = self.velocity(psi1)
        um, vm = (u0 + u1) / 2, (v0 + v1) / 2
        a_u, a_v = self.advection(um, vm)
        g_u, g_v = self.gradient(p)
        r_u = (u1 - u0) / self.dt + a_u + g_u - self.nu * self.laplacian(um)
        r_v = (v1 - v0) / self.dt + a_v + g_v - self.nu * self.laplacian(vm)
        if self.kappa_u is not None:
            k_u, k_v = self.kappa_u, self.kappa_v
            u_b = 0.0 if self.u_b is None else self.u_b
            v_b = 0.0 if self.v_b is None else self.v_b
            if not isinstance(r_u, np.ndarray):  # torch: the constants as tensors
                k_u, k_v = (r_u.new_tensor(k) for k in (k_u, k_v))
                u_b, v_b = (b if isinstance(b, float) else r_u.new_tensor(b)
                            for b in (u_b, v_b))
            r_u = r_u + k_u * (u1 - u_b)
            r_v = r_v + k_v * (v1 - v_b)
        return r_u - _mean(r_u), r_v - _mean(r_v)

    # -- spectral helpers (NumPy; poisson takes torch tensors too) ----------------------
    def poisson(self, f: Any) -> Any:
        """The zero-mean q with Δ_h q = f − ⟨f⟩, by FFT (any leading batch shape; a torch
        tensor gives a torch tensor, differentiable).

        Examples
        --------
        >>> flow = MacFlow(8, 8, 0.5, nu=0.0, dt=0.1)
        >>> f = np.random.default_rng(0).standard_normal((8, 8))
        >>> bool(np.allclose(flow.laplacian(flow.poisson(f)), f - f.mean()))
        True
        """
        if self._lam is None:   # the symbol, made once; its zero mode is left out
            lam = laplacian_symbol(self.ny, self.nx, self.h, self.h)
            lam[0, 0] = 1.0
            self._lam = lam
        if not isinstance(f, np.ndarray):   # torch (imported only when given a tensor)
            import torch

            inv = 1 / self._lam
            inv[0, 0] = 0.0
            return torch.fft.irfft2(torch.fft.rfft2(f) * f.new_tensor(inv), s=self.shape)
        q_hat = np.fft.rfft2(f) / self._lam
        q_hat[..., 0, 0] = 0.0
        return np.fft.irfft2(q_hat, s=self.shape)

    def psi_from_velocity(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """The zero-mean ψ with U + curl ψ = (u, v) (solves Δ_h ψ = −ω by FFT).

        Exact for every divergence-free (u, v) whose mean is ``mean_flow``.
        """
        return self.poisson(-self.vorticity(np.asarray(u), np.asarray(v)))

    def kinetic_energy(self, psi: Any) -> float:
        """½ ⟨u² + v²⟩ (mean over the box)."""
        u, v = self.velocity(psi)
        return float(0.5 * ((u**2).mean() + (v**2).mean()))


# ----------------------------------------------------------------------------- fields
def _nodes(flow: MacFlow) -> tuple[np.ndarray, np.ndarray]:
    y = np.arange(flow.ny)[:, None] * flow.h
    x = np.arange(flow.nx)[None, :] * flow.h
    return np.broadcast_to(x, flow.shape), np.broadcast_to(y, flow.shape)


def taylor_green_psi(flow: MacFlow, t: float, k: int = 1) -> np.ndarray:
    """ψ = sin(kx) sin(ky) e^{−2νk²t} / k at the nodes: the decaying Taylor–Green vortices.

    u = sin kx cos ky e^{−2νk²t}, v = −cos kx sin ky e^{−2νk²t} solve the
    Navier–Stokes equations on [0, 2π)² with p = ¼ (cos 2kx + cos 2ky) e^{−4νk²t}.

    Examples
    --------
    >>> f = MacFlow(8, 8, 2 * np.pi / 8, nu=0.1, dt=0.1)
    >>> float(taylor_green_psi(f, 0.0)[2, 2])   # sin(π/2)²
    1.0
    """
    x, y = _nodes(flow)
    return np.sin(k * x) * np.sin(k * y) * math.exp(-2 * flow.nu * k**2 * t) / k


def taylor_green_pressure(flow: MacFlow, t: float, k: int = 1) -> np.ndarray:
    """p = ¼ (cos 2kx + cos 2ky) e^{−4νk²t} at the cell centres.

    Examples
    --------
    >>> f = MacFlow(8, 8, 2 * np.pi / 8, nu=0.1, dt=0.1)
    >>> taylor_green_pressure(f, 0.0).shape
    (8, 8)
    """
    x, y = _nodes(flow)
    x, y = x + flow.h / 2, y + flow.h / 2
    return 0.25 * (np.cos(2 * k * x) + np.cos(2 * k * y)) * math.exp(-4 * flow.nu * k**2 * t)


def random_turbulence_psi(flow: MacFlow, batch: int | None = None, *, k0: float = 4.0,
                          u_rms: float = 1.0, seed: int | None = 0) -> np.ndarray:
    """Random ψ with energy spectrum E(k) ∝ k⁴ exp(−2 (k/k₀)²) and rms velocity ``u_rms``.

    Wavenumbers count periods per box side (k = 1 is the box). Seeded: the same
    seed gives the same fields.

    Examples
    --------
    >>> f = MacFlow(32, 32, 2 * np.pi / 32, nu=0.01, dt=0.02)
    >>> psi = random_turbulence_psi(f, 2, seed=1)
    >>> psi.shape, round(2 * f.kinetic_energy(psi[0]), 12)
    ((2, 32, 32), 1.0)
    """
    rng = np.random.default_rng(seed)
    n_b = 1 if batch is None else int(batch)
    ky = np.fft.fftfreq(flow.ny, 1.0 / flow.ny)[:, None]
    kx = np.fft.rfftfreq(flow.nx, 1.0 / flow.nx)[None, :]
    k = np.sqrt(kx**2 + ky**2)
    energy = k**4 * np.exp(-2 * (k / k0) ** 2)
    # E(k) dk over a shell of 2πk modes: |û|² ∝ E/k, |ψ̂| = |û| / k
    amp = np.zeros_like(k)
    amp[k > 0] = np.sqrt(energy[k > 0] / k[k > 0]) / k[k > 0]
    phase = rng.uniform(0, 2 * np.pi, (n_b, *k.shape))
    psi = np.fft.irfft2(amp * np.exp(1j * phase), s=flow.shape)
    psi -= psi.mean(axis=(-2, -1), keepdims=True)
    for b in range(n_b):
        u, v = flow.velocity(psi[b])
        scale = u_rms / math.sqrt(((u - flow.mean_flow[0]) ** 2).mean()
                                  + ((v - flow.mean_flow[1]) ** 2).mean())
        psi[b] *= scale
    return psi[0] if batch is None else psi


# ----------------------------------------------------------------------------- problems
@dataclass(eq=False)
class FlowProblem:
    """Roll a MAC-grid flow forward ``steps`` steps of Δt from ψ⁰ (kind ``"flow"``).

    Attributes
    ----------
    flow : MacFlow
        Grid, viscosity, Δt, penalised cells.
    psi0 : ndarray (ny, nx)
        The initial stream function (zero mean; the velocity is U + curl ψ⁰).
    steps : int
        How many steps to take.
    name : str
    meta : dict
        How the problem was made (case, seed, Reynolds number).
    reference : ndarray (steps + 1, ny, nx) or None
        The classical solver's ψ trajectory, filled by :meth:`reference_rollout`.

    Examples
    --------
    >>> p = taylor_green_flow(16, steps=4)
    >>> p.kind, p.psi0.shape, p.steps
    ('flow', (16, 16), 4)
    """

    flow: MacFlow
    psi0: np.ndarray
    steps: int
    name: str = ""
    meta: dict = field(default_factory=dict)
    reference: np.ndarray | None = None
    kind: str = field(default="flow", init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.flow, MacFlow):
            raise TypeError(f"flow must be a MacFlow, got {type(self.flow).__name__}")
        psi = np.asarray(self.psi0, dtype=np.float64)
        if psi.shape != self.flow.shape:
            raise ValueError(f"psi0 must have the grid's shape {self.flow.shape}, got "
                             f"{psi.shape}")
        self.psi0 = psi
        if isinstance(self.steps, bool) or not isinstance(self.steps, (int, np.integer)) \
                or self.steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {self.steps!r}")
        self.steps = int(self.steps)

    def reference_rollout(self) -> np.ndarray:
        """The classical solver's trajectory ψ⁰ … ψ^steps, once it has been computed.

        A problem does not know its solver: the trajectory is stored here by
        ``unisolve.solve(problem, method="mac-cn")`` (at its default tolerance) or
        by :func:`unisolve.solvers.mac_projection.reference_rollout`, or given as
        ``reference=`` when the problem is built.

        Raises
        ------
        ValueError
            No reference trajectory (for all ``steps``) has been stored yet.

        Examples
        --------
        >>> import unisolve as us
        >>> p = taylor_green_flow(16, steps=2)
        >>> _ = us.solve(p, method="mac-cn")   # stores the reference
        >>> p.reference_rollout().shape
        (3, 16, 16)
        """
        if self.reference is None or len(self.reference) < self.steps + 1:
            raise ValueError(
                "this FlowProblem has no reference trajectory yet: run "
                "unisolve.solve(problem, method='mac-cn') or "
                "unisolve.solvers.mac_projection.reference_rollout(problem) first, or pass "
                "reference= (steps + 1 ψ fields) when building it"
            )
        return self.reference[: self.steps + 1]

    def velocity_error(self, psi: Any, every: int = 1) -> np.ndarray:
        """Relative L2 error of the velocity at each step against the reference.

        ``psi`` is a trajectory (k + 1, ny, nx) starting at ψ⁰ whose entry m is the
        time level m · ``every`` (``every = s_T`` for a strided NeuralStagger
        rollout); entry m of the result is ‖u_m − u_m^ref‖ / ‖u_m^ref‖ (velocity
        fluctuation about the mean flow). The reference is :meth:`reference_rollout`
        (computed by the classical solver, see there).

        Examples
        --------
        >>> import unisolve as us
        >>> p = taylor_green_flow(16, steps=2)
        >>> r = us.solve(p, method="mac-cn")
        >>> p.velocity_error(r.x).tolist(), p.velocity_error(r.x[::2], every=2).tolist()
        ([0.0, 0.0, 0.0], [0.0, 0.0])
        """
        psi = np.asarray(psi, dtype=np.float64)
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"every must be an integer >= 1, got {every!r}")
        if psi.ndim != 3 or psi.shape[1:] != self.flow.shape or \
                (len(psi) - 1) * every > self.steps:
            raise ValueError(f"a trajectory has shape (k + 1, {self.flow.ny}, "
                             f"{self.flow.nx}) with k * every <= steps = {self.steps}, got "
                             f"{psi.shape} with every = {every}")
        ref = self.reference_rollout()[: (len(psi) - 1) * every + 1: every]
        f = self.flow
        du, dv = (a - b for a, b in zip(f.velocity(psi), f.velocity(ref), strict=True))
        u, v = self.flow.velocity(ref)
        u, v = u - self.flow.mean_flow[0], v - self.flow.mean_flow[1]
        num = np.sqrt((du**2 + dv**2).sum(axis=(-2, -1)))
        return num / np.sqrt((u**2 + v**2).sum(axis=(-2, -1)))

    def vorticity(self, psi: Any) -> np.ndarray:
        """ω at the nodes of ψ (any leading shape)."""
        return self.flow.vorticity(*self.flow.velocity(np.asarray(psi, dtype=np.float64)))


def _periodic_flow(n: int, nu: float, dt: float) -> MacFlow:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise ValueError(f"n must be an integer >= 4, got {n!r}")
    return MacFlow(int(n), int(n), 2 * np.pi / n, nu=nu, dt=dt)


def taylor_green_flow(n: int = 64, *, nu: float = 0.01, dt: float = 0.02, steps: int = 50,
                      k: int = 1) -> FlowProblem:
    """Taylor–Green vortices on an n × n periodic grid of [0, 2π)².

    Examples
    --------
    >>> p = taylor_green_flow(32, steps=10)
    >>> p.name, p.meta["closed_form"]
    ('taylor-green-32', True)
    """
    flow = _periodic_flow(n, nu, dt)
    return FlowProblem(flow, taylor_green_psi(flow, 0.0, k), steps, f"taylor-green-{n}",
                       {"case": "taylor-green", "k": k, "closed_form": True})


def decaying_turbulence(n: int = 64, *, seed: int = 0, nu: float = 0.01, dt: float = 0.02,
                        steps: int = 50, k0: float = 4.0, u_rms: float = 1.0) -> FlowProblem:
    """Decaying 2D turbulence on an n × n periodic grid of [0, 2π)² (seeded start).

    Examples
    --------
    >>> p = decaying_turbulence(32, seed=3, steps=5)
    >>> p.name, p.meta["seed"]
    ('turbulence-32-seed3', 3)
    """
    flow = _periodic_flow(n, nu, dt)
    psi = random_turbulence_psi(flow, k0=k0, u_rms=u_rms, seed=seed)
    return FlowProblem(flow, psi, steps, f"turbulence-{n}-seed{seed}",
                       {"case": "turbulence", "seed": seed, "k0": k0, "u_rms": u_rms})


def channel_flow(ny: int = 64, nx: int = 128, *, reynolds: float = 100.0,
                 u_in: float = 1.0, radius: float | None = None,
                 dt: float | None = None, penalty: float = 20.0) -> MacFlow:
    """The MacFlow of a cylinder in a channel of height 1 (walls and inflow penalised).

    Two solid rows make the walls at y = 0 and y = 1 (one band across the periodic
    edge), four columns at the left the inflow band (u_b = ``u_in``); the cylinder
    of radius ``radius`` (default 0.1) sits at x = 0.5, y = 0.5 + h/2 (a half cell off
    the centre line, so shedding starts without a kick). Re = u_in · 2r / ν.

    Examples
    --------
    >>> f = channel_flow(32, 64)
    >>> f.shape, round(f.nu, 6), int(f.solid.sum()) > 0
    ((32, 64), 0.002, True)
    """
    h = 1.0 / ny
    r = 0.1 if radius is None else float(radius)
    nu = u_in * 2 * r / reynolds
    dt = 0.25 * h / u_in if dt is None else dt
    y = (np.arange(ny)[:, None] + 0.5) * h
    x = (np.arange(nx)[None, :] + 0.5) * h
    solid = np.zeros((ny, nx), dtype=bool)
    solid[:1, :] = solid[-1:, :] = True          # the walls (one band through the edge)
    inflow = np.zeros((ny, nx), dtype=bool)
    inflow[:, :4] = True
    cylinder = (x - 0.5) ** 2 + (y - 0.5 - h / 2) ** 2 <= r**2
    u_b = np.where(inflow & ~solid, u_in, 0.0)
    fluid_rows = ny - 2
    mean_u = u_in * fluid_rows / ny  # the flux of the inflow band, spread over the box
    return MacFlow(ny, nx, h, nu, dt, solid=solid | inflow | cylinder, u_b=u_b,
                   mean_flow=(mean_u, 0.0), penalty=penalty)


def plug_flow_psi(flow: MacFlow) -> np.ndarray:
    """ψ of the plug flow of a channel: u = 0 in the wall rows, uniform in the others.

    Wall rows are the rows whose cells are all solid; the fluid rows share the flux
    so that the mean over the box is ``flow.mean_flow[0]`` (ψ is uniform in x).

    Examples
    --------
    >>> f = channel_flow(16, 32)
    >>> u, v = f.velocity(plug_flow_psi(f))
    >>> float(u[0, 0]), round(float(u[5, 7]), 12), float(np.abs(v).max())
    (0.0, 1.0, 0.0)
    """
    walls = flow.solid.all(axis=1) if flow.solid is not None else np.zeros(flow.ny, bool)
    u_rows = np.where(walls, 0.0, flow.mean_flow[0] * flow.ny / max(1, (~walls).sum()))
    # ψ[i+1] − ψ[i] = h (u_i − U): the fluctuation about the mean flow, row by row
    psi_rows = np.concatenate([[0.0], np.cumsum(flow.h * (u_rows - flow.mean_flow[0]))[:-1]])
    psi = np.repeat((psi_rows - psi_rows.mean())[:, None], flow.nx, axis=1)
    return psi - psi.mean()


def cylinder_channel(ny: int = 64, nx: int = 128, *, reynolds: float = 100.0,
                     seed: int = 0, steps: int = 50, noise: float = 0.05,
                     dt: float | None = None) -> FlowProblem:
    """Flow past a cylinder in a channel, started from the plug flow plus seeded noise.

    Examples
    --------
    >>> p = cylinder_channel(32, 64, steps=3)
    >>> p.name, p.flow.mean_flow[0] < 1.0
    ('cylinder-32x64-Re100', True)
    """
    flow = channel_flow(ny, nx, reynolds=reynolds, dt=dt)
    psi = plug_flow_psi(flow) + noise * random_turbulence_psi(flow, k0=4.0, u_rms=1.0,
                                                              seed=seed)
    h = flow.h
    return FlowProblem(flow, psi, steps, f"cylinder-{ny}x{nx}-Re{reynolds:g}",
                       {"case": "cylinder", "seed": seed, "reynolds": reynolds,
                        "noise": noise, "cylinder": (0.5, 0.5 + h / 2, 0.2)})


# ----------------------------------------------------------------------------- shedding
def wake_probe(problem: FlowProblem, psi: Any, every: int = 1) -> np.ndarray:
    """The cross-stream velocity v on the centre line 1.3 diameters behind the cylinder.

    ``psi`` is a trajectory (k + 1, ny, nx) of a :func:`cylinder_channel` problem;
    the probe is the v-face at x ≈ x_c + 1.3 D on the centre line y ≈ y_c (the cylinder's centre
    (x_c, y_c) and diameter D are in ``problem.meta``; for the default 64 × 128
    channel it is face (32, 48)). v changes sign with every shed vortex, so its
    dominant frequency is the shedding frequency (:func:`strouhal`).

    Examples
    --------
    >>> p = cylinder_channel(64, 128, steps=2)
    >>> wake_probe(p, np.stack([p.psi0, p.psi0])).shape
    (2,)
    """
    meta = problem.meta
    if "cylinder" not in meta:
        raise ValueError("wake_probe needs a cylinder_channel problem (its meta['cylinder'] "
                         "gives the centre and diameter)")
    x_c, y_c, d = meta["cylinder"]
    h = problem.flow.h
    i = math.floor(y_c / h)   # v-face (i, j) sits at ((j + ½) h, i h): at/below y_c
    j = round((x_c + 1.3 * d) / h - 0.5)
    psi = np.asarray(psi, dtype=np.float64)
    _, v = problem.flow.velocity(psi)
    return v[..., i, j]


def strouhal(signal: Any, dt: float, length: float = 1.0, velocity: float = 1.0,
             min_periods: int = 3) -> float:
    """The Strouhal number St = f L / U of an oscillating signal, f from its up-crossings.

    The mean is removed; every up-crossing of zero is located by linear
    interpolation between its two samples, and f = (number of full periods) /
    (time from the first to the last up-crossing): the mean period over the
    complete periods, insensitive to where the record starts and ends.

    Parameters
    ----------
    signal : array_like, shape (m,)
        Samples at spacing ``dt`` (e.g. :func:`wake_probe` of a rollout).
    dt : float
        Time between samples (Δt, or s_T·Δt for a strided rollout).
    length, velocity : float
        The reference length L (the cylinder's diameter) and velocity U.
    min_periods : int
        Raise unless the record holds at least this many full periods.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Fewer than ``min_periods`` full periods (no shedding, or a record too
        short: roll out longer), non-finite samples, or bad parameters.

    Examples
    --------
    >>> t = np.arange(2000) * 0.004
    >>> round(strouhal(np.sin(2 * np.pi * 1.2 * t + 0.3) + 0.5, 0.004, length=0.2), 4)
    0.24
    """
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"signal must be one-dimensional, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("signal has non-finite samples (the rollout blew up)")
    for name, v in (("dt", dt), ("length", length), ("velocity", velocity)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or \
                not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
    if isinstance(min_periods, bool) or not isinstance(min_periods, (int, np.integer)) or \
            min_periods < 1:
        raise ValueError(f"min_periods must be an integer >= 1, got {min_periods!r}")
    x = x - x.mean()
    k = np.nonzero((x[:-1] < 0) & (x[1:] >= 0))[0]
    # the crossing time between samples k and k+1 (linear interpolation)
    t = (k + x[k] / (x[k] - x[k + 1])) * dt
    periods = len(t) - 1
    if periods < min_periods:
        raise ValueError(f"the signal holds {max(periods, 0)} full period(s), fewer than "
                         f"min_periods = {min_periods}: no shedding, or a record too short "
                         "(roll out longer)")
    f = periods / (t[-1] - t[0])
    return float(f * length / velocity)

"""2D incompressible Navier–Stokes in vorticity form on the periodic unit square (torch).

The equation of the neural-operator benchmarks (Li et al. 2021, "Fourier neural
operator"; Cao et al. 2025, "Spectral-Refiner"):

    ω_t + u·∇ω = ν Δω + f,      u = ∇^⊥ψ = (ψ_y, −ψ_x),      −Δψ = ω,

on [0, 1)² periodic, with ν = 1e-3 and the forcing

    f(x, y) = 0.1 (sin 2π(x + y) + cos 2π(x + y)).

Pseudo-spectral in torch (CPU or GPU tensors, any batch shape in front of the
(n, n) grid): the state is ω̂ = rfft2(ω); derivatives are multiplications by
2πi k; the product u·∇ω is formed on the grid and transformed back with the
2/3 rule (every mode with |k_x| or |k_y| > n/3 is zeroed in the state and in
the product, so the quadratic term is alias-free). Time stepping is implicit
for ν Δω (a diagonal solve) and explicit for the rest, two schemes:

* ``"cn-heun"``  Crank–Nicolson + Heun (Chandler & Kerswell 2013, §3): 2nd order.
* ``"cn-rk4"``   Crank–Nicolson + the low-storage 5-stage RK4 of Carpenter &
  Kennedy (Canuto et al., Spectral Methods, App. D.3): 2nd order in ν Δω, 4th
  order in the explicit terms (4th order overall when ν = 0).

The initial vorticity is a Gaussian random field with covariance
(4π²|k|² + τ²)^(−α) (α = 2.5, τ = 7; mean zero). :func:`navier_stokes_dataset`
is the data generator of the operator benchmarks: it runs a batch of random
initial fields on a fine grid, discards a warm-up, and keeps frames every
``dt_frame`` subsampled to ``resolution`` (cached on disk, nothing downloaded).

Importing this module does not import torch; the functions that compute do.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..progress import progress as progress_bar

__all__ = ["NavierStokesDataset", "NavierStokesProblem", "SpectralNavierStokes",
           "cn_residual", "forcing", "grf_vorticity", "hminus1_norm", "navier_stokes",
           "navier_stokes_dataset", "taylor_green"]

NU = 1e-3
SCHEMES = ("cn-heun", "cn-rk4")
_FORMAT = "unisolve-navier-stokes-1"

# Carpenter & Kennedy low-storage RK4(3)5: stage times a_k, h ← F + β_k h, ω ← ω + γ_k Δt h
_CK_ALPHA = (0.0, 0.1496590219993, 0.3704009573644, 0.6222557631345, 0.9582821306748, 1.0)
_CK_BETA = (0.0, -0.4178904745, -1.192151694643, -1.697784692471, -1.514183444257)
_CK_GAMMA = (0.1496590219993, 0.3792103129999, 0.8229550293869, 0.6994504559488,
             0.1530572479681)


def _torch():
    import torch

    return torch


def _check_resolution(n: Any, name: str = "resolution") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 8 or n % 2:
        raise ValueError(f"{name} must be an even integer >= 8 (grid points per side), "
                         f"got {n!r}")
    return int(n)


def check_int(name: str, v: Any, least: int) -> int:
    """``v`` as an int, or ``ValueError`` naming ``name`` when it is not an integer >= least.

    Examples
    --------
    >>> check_int("frames", 3, 1)
    3
    """
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
    return int(v)


def _check_positive(name: str, v: Any, allow_zero: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be finite and {'>= 0' if allow_zero else '> 0'}, "
                         f"got {v}")
    return v


def forcing(n: int, scale: float = 0.1) -> np.ndarray:
    """The forcing f = scale·(sin 2π(x+y) + cos 2π(x+y)) on the n × n grid x_i = i/n.

    Examples
    --------
    >>> f = forcing(8)
    >>> f.shape, round(float(f[0, 0]), 12), round(float(f.mean()), 12)
    ((8, 8), 0.1, 0.0)
    """
    n = _check_resolution(n, "n")
    x = np.arange(n) / n
    s = 2 * np.pi * (x[:, None] + x[None, :])
    return scale * (np.sin(s) + np.cos(s))


class SpectralNavierStokes:
    """Pseudo-spectral right-hand side and time steppers on an n × n periodic grid.

    Arrays are indexed ``w[..., i, j] = ω(x_i, y_j)`` with x_i = i/n; every method
    works on a batch in front of the grid. The state the steppers advance is
    ``w_hat = torch.fft.rfft2(w)``.

    Parameters
    ----------
    n : int
        Grid points per side (even, ≥ 8).
    nu : float
        Viscosity ν ≥ 0.
    force : array (n, n), float or None
        Forcing f on the grid; ``None`` means the benchmark forcing
        :func:`forcing`, ``0`` means none.
    dealias : bool
        Apply the 2/3 rule (default).
    device, dtype
        Where and in what precision to compute (default CPU float64).

    Examples
    --------
    >>> import torch
    >>> ns = SpectralNavierStokes(32, nu=1e-3, force=0)
    >>> w = taylor_green(32, 0.0)                       # a steady Euler state: u·∇ω = 0
    >>> n_hat = ns.nonlinear(torch.fft.rfft2(torch.as_tensor(w)))
    >>> float(n_hat.abs().max()) < 1e-10
    True
    """

    def __init__(self, n: int, nu: float = NU, force: Any = None, *, dealias: bool = True,
                 device: Any = "cpu", dtype: Any = None) -> None:
        torch = _torch()
        self.n = _check_resolution(n, "n")
        self.nu = _check_positive("nu", nu, allow_zero=True)
        self.dtype = torch.float64 if dtype is None else dtype
        self.device = torch.device(device)
        n = self.n
        kx = torch.fft.fftfreq(n, 1.0 / n, dtype=self.dtype, device=self.device)[:, None]
        ky = torch.fft.rfftfreq(n, 1.0 / n, dtype=self.dtype, device=self.device)[None, :]
        self.dx = 2j * math.pi * kx          # ∂/∂x in Fourier space
        self.dy = 2j * math.pi * ky          # ∂/∂y
        k2 = 4 * math.pi**2 * (kx**2 + ky**2)
        self.lap = -k2                       # Δ
        inv = torch.where(k2 > 0, 1.0 / torch.where(k2 > 0, k2, 1.0), 0.0)
        self.inv_minus_lap = inv             # (−Δ)⁻¹ on mean-zero fields
        cut = n / 3.0
        self.mask = ((kx.abs() <= cut) & (ky.abs() <= cut)).to(self.dtype) if dealias \
            else torch.ones_like(k2)
        if force is None:
            force = forcing(n)
        f = torch.as_tensor(np.broadcast_to(np.asarray(force, dtype=np.float64), (n, n)).copy(),
                            dtype=self.dtype, device=self.device)
        self.f_hat = torch.fft.rfft2(f) * self.mask

    # -- spectral calculus ----------------------------------------------------------------
    def rfft(self, w: Any) -> Any:
        """ω̂ = rfft2(ω) of grid values (numpy or torch), masked by the 2/3 rule."""
        torch = _torch()
        w = torch.as_tensor(w, dtype=self.dtype, device=self.device)
        self._check_grid(w)
        return torch.fft.rfft2(w) * self.mask

    def irfft(self, w_hat: Any) -> Any:
        """Grid values of ω̂."""
        return _torch().fft.irfft2(w_hat, s=(self.n, self.n))

    def velocity(self, w_hat: Any) -> tuple[Any, Any]:
        """(û, v̂) = (ψ̂_y, −ψ̂_x) with ψ̂ = (−Δ)⁻¹ ω̂ (Biot–Savart)."""
        psi = w_hat * self.inv_minus_lap
        return self.dy * psi, -self.dx * psi

    def nonlinear(self, w_hat: Any) -> Any:
        """The de-aliased advection term (u·∇ω)^ = rfft2(u ω_x + v ω_y)·mask."""
        u_hat, v_hat = self.velocity(w_hat)
        u, v, wx, wy = (self.irfft(z) for z in (u_hat, v_hat, self.dx * w_hat,
                                                  self.dy * w_hat))
        return _torch().fft.rfft2(u * wx + v * wy) * self.mask

    def explicit(self, w_hat: Any) -> Any:
        """F(ω̂) = f̂ − (u·∇ω)^, the explicitly treated terms."""
        return self.f_hat - self.nonlinear(w_hat)

    def rhs(self, w_hat: Any) -> Any:
        """ω̂_t = −(u·∇ω)^ + ν Δ ω̂ + f̂."""
        return self.explicit(w_hat) + self.nu * self.lap * w_hat

    # -- time stepping --------------------------------------------------------------------
    def _implicit_solve(self, rhs: Any, mu: float) -> Any:
        """Solve (1 − μ ν Δ) ω̂ = rhs (diagonal)."""
        return rhs / (1.0 - mu * self.nu * self.lap)

    def step(self, w_hat: Any, dt: float, scheme: str = "cn-heun") -> Any:
        """One time step of length ``dt`` with ``scheme`` (``"cn-heun"`` or ``"cn-rk4"``).

        cn-heun:  g = ω̂ + ½Δt νΔω̂;   ω* = (1 − ½Δt νΔ)⁻¹ (g + Δt F(ω̂));
                  ω̂⁺ = (1 − ½Δt νΔ)⁻¹ (g + Δt ½(F(ω̂) + F(ω*))).
        cn-rk4:   for k = 0..4:  h ← F(ω̂) + β_k h;  μ = ½Δt (a_{k+1} − a_k);
                  ω̂ ← (1 − μνΔ)⁻¹ (ω̂ + γ_k Δt h + μ νΔ ω̂).
        """
        if scheme == "cn-heun":
            g = w_hat + 0.5 * dt * self.nu * self.lap * w_hat
            h = self.explicit(w_hat)
            w_star = self._implicit_solve(g + dt * h, 0.5 * dt)
            h = 0.5 * (h + self.explicit(w_star))
            return self._implicit_solve(g + dt * h, 0.5 * dt)
        if scheme == "cn-rk4":
            h = 0.0
            for k in range(5):
                h = self.explicit(w_hat) + _CK_BETA[k] * h
                mu = 0.5 * dt * (_CK_ALPHA[k + 1] - _CK_ALPHA[k])
                w_hat = self._implicit_solve(
                    w_hat + _CK_GAMMA[k] * dt * h + mu * self.nu * self.lap * w_hat, mu)
            return w_hat
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")

    def simulate(self, w0: Any, dt_frame: float, frames: int, *, dt: float | None = None,
                 scheme: str = "cn-heun", progress: bool = False, desc: str = "navier-stokes"
                 ) -> Any:
        """Frames ω(k·dt_frame), k = 1..frames, from ω(0) = w0 (grid values, any batch).

        ``dt`` (default: the largest step ≤ 1e-2 dividing ``dt_frame``) is the solver
        step; it is shrunk so that a whole number of steps makes one frame. Returns a
        tensor of shape (*batch, frames, n, n) on this solver's device.

        Examples
        --------
        >>> ns = SpectralNavierStokes(16)
        >>> out = ns.simulate(grf_vorticity(16, seed=0), 0.1, 3)
        >>> tuple(out.shape)
        (3, 16, 16)
        """
        torch = _torch()
        dt_frame = _check_positive("dt_frame", dt_frame)
        frames = check_int("frames", frames, 1)
        substeps = max(1, math.ceil(dt_frame / (1e-2 if dt is None else
                                                _check_positive("dt", dt)) - 1e-9))
        h = dt_frame / substeps
        w_hat = self.rfft(w0)
        out = []
        for _ in progress_bar(range(frames), desc, disable=not progress):
            for _ in range(substeps):
                w_hat = self.step(w_hat, h, scheme)
            out.append(self.irfft(w_hat))
        return torch.stack(out, dim=-3)

    def _check_grid(self, w: Any) -> None:
        if w.ndim < 2 or tuple(w.shape[-2:]) != (self.n, self.n):
            raise ValueError(f"vorticity must end in the grid shape ({self.n}, {self.n}), "
                             f"got shape {tuple(w.shape)}")


def taylor_green(n: int, t: float | Sequence[float], nu: float = NU, k: int = 1,
                 amplitude: float = 1.0) -> np.ndarray:
    """Exact Taylor–Green vorticity ω = A sin(2πkx) sin(2πky) e^{−8π²k²νt} (no forcing).

    ω is proportional to its stream function, so u·∇ω = 0 and only viscosity acts.
    ``t`` a scalar gives (n, n), a sequence gives (len(t), n, n).

    Examples
    --------
    >>> w = taylor_green(8, [0.0, 1.0], nu=0.01)
    >>> w.shape, bool(np.isclose(w[1].max() / w[0].max(), np.exp(-0.08 * np.pi**2)))
    ((2, 8, 8), True)
    """
    n = _check_resolution(n, "n")
    x = np.arange(n) / n
    shape = np.sin(2 * np.pi * k * x)[:, None] * np.sin(2 * np.pi * k * x)[None, :]
    decay = np.exp(-8 * np.pi**2 * k**2 * nu * np.asarray(t, dtype=np.float64))
    return amplitude * decay[..., None, None] * shape


def grf_vorticity(n: int, batch: int | None = None, *, alpha: float = 2.5, tau: float = 7.0,
                  seed: int = 0) -> np.ndarray:
    """Gaussian random field with covariance (4π²|k|² + τ²)^(−α), mean zero, seeded.

    Each Fourier mode is an independent complex normal scaled by
    n²·√2·σ·(4π²|k|² + τ²)^(−α/2), σ = τ^(α − 1), and the field is the real part of
    its inverse FFT (the normalisation of the FNO data sets). ``batch=None`` gives
    one (n, n) field, an integer a (batch, n, n) stack.

    Examples
    --------
    >>> w = grf_vorticity(32, 2, seed=1)
    >>> w.shape, bool(abs(w.mean()) < 1e-12), bool(np.all(w == grf_vorticity(32, 2, seed=1)))
    ((2, 32, 32), True, True)
    """
    n = _check_resolution(n, "n")
    alpha = _check_positive("alpha", alpha)
    tau = _check_positive("tau", tau)
    rng = np.random.default_rng(seed)
    m = 1 if batch is None else int(batch)
    k = np.fft.fftfreq(n, 1.0 / n)
    k2 = 4 * np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2)
    sigma = tau ** (alpha - 1.0)
    amp = n**2 * math.sqrt(2.0) * sigma * (k2 + tau**2) ** (-alpha / 2.0)
    amp[0, 0] = 0.0
    coeff = rng.standard_normal((m, n, n)) + 1j * rng.standard_normal((m, n, n))
    w = np.fft.ifft2(amp * coeff).real
    return w[0] if batch is None else w


# ----------------------------------------------------------------------------- residual
def cn_residual(w: Any, dt: float, ns: SpectralNavierStokes) -> Any:
    """Crank–Nicolson residual of a trajectory of frames, in Fourier space.

    For consecutive frames ω⁰, ω¹, … (axis −3) a time ``dt`` apart,

        R̂^{k+½} = (ω̂^{k+1} − ω̂^k)/Δt + ½[N(ω̂^{k+1}) + N(ω̂^k)] − νΔ ½(ω̂^{k+1} + ω̂^k) − f̂,

    N the de-aliased advection term: zero for the exact CN time-discrete solution
    and O(Δt²) for the true one. Returns (*, frames − 1, n, n//2 + 1) complex.

    Examples
    --------
    >>> import torch
    >>> ns = SpectralNavierStokes(16, nu=1e-3, force=0)
    >>> w = torch.as_tensor(taylor_green(16, [0.0, 0.01, 0.02]))
    >>> r = cn_residual(w, 0.01, ns)                 # O(Δt²): (λΔt)²/12 relative to ω_t
    >>> w_t = ns.rhs(ns.rfft(w[:2]))
    >>> tuple(r.shape), float(hminus1_norm(r, ns).max() / hminus1_norm(w_t, ns).max()) < 1e-7
    ((2, 16, 9), True)
    """
    torch = _torch()
    w = torch.as_tensor(w, dtype=ns.dtype, device=ns.device) if not torch.is_tensor(w) else w
    if w.ndim < 3 or w.shape[-3] < 2:
        raise ValueError(f"cn_residual needs at least two frames on axis -3, got shape "
                         f"{tuple(w.shape)}")
    w_hat = torch.fft.rfft2(w) * ns.mask
    nl = ns.nonlinear(w_hat)
    mid = 0.5 * (w_hat[..., 1:, :, :] + w_hat[..., :-1, :, :])
    return ((w_hat[..., 1:, :, :] - w_hat[..., :-1, :, :]) / dt
            + 0.5 * (nl[..., 1:, :, :] + nl[..., :-1, :, :])
            - ns.nu * ns.lap * mid - ns.f_hat)


def hminus1_norm(r_hat: Any, ns: SpectralNavierStokes, alpha: float = 10**-1.5) -> Any:
    """‖(α − Δ)^{−1/2} r‖_{L²} per frame, by Parseval from r̂ = rfft2(r).

    ‖g‖²_{L²([0,1]²)} = (1/n⁴) Σ_k |ĝ_k|² over the full spectrum; the half
    spectrum of rfft2 counts the columns 0 < k_y < n/2 twice. Returns a tensor of
    shape ``r_hat.shape[:-2]``.

    Examples
    --------
    >>> import torch
    >>> ns = SpectralNavierStokes(16, force=0)
    >>> r = torch.fft.rfft2(torch.as_tensor(np.ones((16, 16))))   # the constant 1
    >>> round(float(hminus1_norm(r, ns, alpha=4.0)), 12)             # ‖(4)^{-1/2}·1‖ = 0.5
    0.5
    """
    torch = _torch()
    n = ns.n
    weight = torch.full((r_hat.shape[-1],), 2.0, dtype=ns.dtype, device=ns.device)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0
    sym = 1.0 / (alpha - ns.lap)
    s = (weight * sym * r_hat.abs() ** 2).sum(dim=(-2, -1))
    return torch.sqrt(s) / n**2


# ----------------------------------------------------------------------------- problems
@dataclass(eq=False)
class NavierStokesProblem:
    """Predict ``t_out`` vorticity frames from ``t_in`` given ones (one trajectory).

    Attributes
    ----------
    w_in : ndarray (t_in, n, n)
        The given frames, the last at t = 0.
    w_ref : ndarray (t_out, n, n) or None
        The truth at t = dt_frame, 2·dt_frame, … (from a finer solver), if known.
    dt_frame : float
        Time between frames.
    nu : float
        Viscosity.
    force : ndarray (n, n)
        The forcing on the grid.
    name : str
    meta : dict
        How the truth was made (solver resolution, step, scheme, seed).

    Examples
    --------
    >>> p = navier_stokes(16, t_in=2, t_out=3, seed=0, solver_resolution=32, warmup=0.2)
    >>> p.kind, p.w_in.shape, p.w_ref.shape, p.t_out
    ('navier-stokes', (2, 16, 16), (3, 16, 16), 3)
    >>> p.rel_l2(p.w_ref)
    0.0
    """

    w_in: np.ndarray
    w_ref: np.ndarray | None
    dt_frame: float
    nu: float = NU
    force: np.ndarray | None = None
    name: str = ""
    meta: dict = field(default_factory=dict)
    t_out_: int | None = None
    kind: str = field(default="navier-stokes", init=False)

    def __post_init__(self) -> None:
        w = np.asarray(self.w_in, dtype=np.float64)
        if w.ndim != 3 or w.shape[1] != w.shape[2] or w.shape[0] < 1:
            raise ValueError(f"w_in must have shape (t_in, n, n), got {w.shape}")
        self.w_in = w
        n = _check_resolution(w.shape[1], "the grid size of w_in")
        if self.w_ref is not None:
            r = np.asarray(self.w_ref, dtype=np.float64)
            if r.ndim != 3 or r.shape[1:] != (n, n):
                raise ValueError(f"w_ref must have shape (t_out, {n}, {n}) like w_in, got "
                                 f"{r.shape}")
            self.w_ref = r
        elif self.t_out_ is None:
            raise ValueError("give w_ref (the truth) or t_out_ (how many frames to predict)")
        self.force = forcing(n) if self.force is None else np.asarray(self.force, np.float64)
        if self.force.shape != (n, n):
            raise ValueError(f"force must have shape ({n}, {n}), got {self.force.shape}")
        self.dt_frame = _check_positive("dt_frame", self.dt_frame)
        self.nu = _check_positive("nu", self.nu, allow_zero=True)

    @property
    def n(self) -> int:
        return self.w_in.shape[-1]

    @property
    def t_in(self) -> int:
        return self.w_in.shape[0]

    @property
    def t_out(self) -> int:
        return self.w_ref.shape[0] if self.w_ref is not None else int(self.t_out_)

    def rel_l2(self, w: Any) -> float:
        """‖w − w_ref‖ / ‖w_ref‖ over all predicted frames."""
        if self.w_ref is None:
            raise ValueError("this problem has no reference (w_ref is None)")
        w = np.asarray(w, dtype=np.float64)
        if w.shape != self.w_ref.shape:
            raise ValueError(f"a prediction has shape {self.w_ref.shape} (t_out, n, n), "
                             f"got {w.shape}")
        return float(np.linalg.norm(w - self.w_ref) / np.linalg.norm(self.w_ref))

    def solver(self, device: Any = "cpu", dtype: Any = None) -> SpectralNavierStokes:
        """The :class:`SpectralNavierStokes` of this problem's grid, ν and forcing."""
        return SpectralNavierStokes(self.n, self.nu, self.force, device=device, dtype=dtype)


@dataclass(eq=False)
class NavierStokesDataset:
    """Vorticity trajectories ``w`` of shape (n_traj, t_in + t_out, n, n), float32.

    Examples
    --------
    >>> d = navier_stokes_dataset(3, 16, 2, 3, seed=0, solver_resolution=32, warmup=0.2,
    ...                           cache=False, progress=False)
    >>> d.w.shape, len(d), d.problem(1).w_ref.shape
    ((3, 5, 16, 16), 3, (3, 16, 16))
    """

    w: np.ndarray
    t_in: int
    t_out: int
    dt_frame: float
    nu: float
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.w.shape[0]

    @property
    def n(self) -> int:
        return self.w.shape[-1]

    def problem(self, i: int) -> NavierStokesProblem:
        """Trajectory ``i`` as a :class:`NavierStokesProblem` (inputs and truth)."""
        w = self.w[i]
        return NavierStokesProblem(w[: self.t_in], w[self.t_in:], self.dt_frame, self.nu,
                                   forcing(self.n), name=f"navier-stokes #{i}",
                                   meta={**self.meta, "index": int(i)})

    def split(self, n_first: int) -> tuple[NavierStokesDataset, NavierStokesDataset]:
        """The first ``n_first`` trajectories and the rest (train / test)."""
        if not 0 < n_first < len(self):
            raise ValueError(f"n_first must be in 1..{len(self) - 1}, got {n_first}")
        a, b = self.w[:n_first], self.w[n_first:]
        return (NavierStokesDataset(a, self.t_in, self.t_out, self.dt_frame, self.nu, self.meta),
                NavierStokesDataset(b, self.t_in, self.t_out, self.dt_frame, self.nu, self.meta))


def _cache_dir(cache: Any) -> Path | None:
    if cache is False or cache is None:
        return None
    if cache is True:
        root = os.environ.get("UNISOLVE_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "unisolve")
        return Path(root) / "navier_stokes"
    return Path(cache)


def navier_stokes_dataset(n_traj: int, resolution: int = 64, t_in: int = 10, t_out: int = 40,
                          seed: int = 0, *, dt_frame: float = 0.2,
                          solver_resolution: int | None = None, warmup: float = 5.0,
                          dt: float = 1e-2, scheme: str = "cn-heun", nu: float = NU,
                          batch_size: int = 32, cache: Any = True, progress: bool = True,
                          device: Any = "cpu") -> NavierStokesDataset:
    """Generate (or read from the cache) vorticity trajectories of forced 2D turbulence.

    Trajectory i starts from :func:`grf_vorticity` (seed ``seed``, i-th field of
    the stream) on a ``solver_resolution`` grid (default 2 × ``resolution``),
    runs ``warmup`` time units, then records ``t_in + t_out`` frames every
    ``dt_frame``, each subsampled (every s-th point) to ``resolution``.

    Parameters
    ----------
    n_traj : int
        Number of trajectories.
    resolution : int
        Grid of the stored frames.
    t_in, t_out : int
        Input and output frames per trajectory.
    seed : int
        Seed of the initial fields (same seed, same data).
    dt_frame, warmup, dt, scheme, nu
        Frame interval, discarded spin-up time, solver step, time stepper, viscosity.
    solver_resolution : int, optional
        The fine grid the truth is computed on (a multiple of ``resolution``).
    batch_size : int
        Trajectories advanced together.
    cache : bool or path
        ``True``: an npz file under ``$UNISOLVE_CACHE`` (default
        ``~/.cache/unisolve``)/navier_stokes named by a hash of every parameter;
        a path: that directory; ``False``: always compute.
    progress : bool
        Progress bar over the batches.
    device : str
        Torch device for the solver.

    Returns
    -------
    NavierStokesDataset

    Examples
    --------
    >>> d = navier_stokes_dataset(2, 16, 1, 2, solver_resolution=32, warmup=0.1, cache=False,
    ...                           progress=False)
    >>> d.w.shape, d.w.dtype
    ((2, 3, 16, 16), dtype('float32'))
    """
    torch = _torch()
    resolution = _check_resolution(resolution)
    solver_resolution = 2 * resolution if solver_resolution is None else \
        _check_resolution(solver_resolution, "solver_resolution")
    if solver_resolution % resolution:
        raise ValueError(f"solver_resolution ({solver_resolution}) must be a multiple of "
                         f"resolution ({resolution}) so that frames are subsampled exactly")
    for name, v in (("n_traj", n_traj), ("t_in", t_in), ("t_out", t_out),
                    ("batch_size", batch_size)):
        check_int(name, v, 1)
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    params = {"format": _FORMAT, "n_traj": int(n_traj), "resolution": resolution,
              "t_in": int(t_in), "t_out": int(t_out), "seed": int(seed),
              "dt_frame": _check_positive("dt_frame", dt_frame),
              "solver_resolution": solver_resolution,
              "warmup": _check_positive("warmup", warmup, allow_zero=True),
              "dt": _check_positive("dt", dt), "scheme": scheme,
              "nu": _check_positive("nu", nu, allow_zero=True), "alpha": 2.5, "tau": 7.0}
    folder = _cache_dir(cache)
    key = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    path = None if folder is None else folder / f"ns_{resolution}_{n_traj}_{key}.npz"
    if path is not None and path.is_file():
        with np.load(path) as z:
            return NavierStokesDataset(z["w"], t_in, t_out, dt_frame, nu,
                                       {**params, "cache": str(path),
                                        "seconds": float(z["seconds"])})
    import time

    t0 = time.perf_counter()
    ns = SpectralNavierStokes(solver_resolution, nu, device=device)
    stride = solver_resolution // resolution
    w0 = grf_vorticity(solver_resolution, n_traj, seed=seed)
    frames = int(t_in) + int(t_out)
    out = np.empty((n_traj, frames, resolution, resolution), dtype=np.float32)
    starts = range(0, n_traj, batch_size)
    for s in progress_bar(starts, f"navier-stokes {solver_resolution}²", disable=not progress):
        w = torch.as_tensor(w0[s:s + batch_size])
        if params["warmup"] > 0:
            w = ns.simulate(w, params["warmup"], 1, dt=dt, scheme=scheme)[:, 0]
        else:
            w = ns.irfft(ns.rfft(w))         # the de-aliased start, as every frame is
        w = torch.cat([w[:, None], ns.simulate(w, dt_frame, frames - 1, dt=dt, scheme=scheme)],
                      dim=1)
        out[s:s + batch_size] = w[..., ::stride, ::stride].cpu().numpy()
    seconds = time.perf_counter() - t0
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, w=out, seconds=seconds, params=json.dumps(params))
        os.replace(tmp, path)
    return NavierStokesDataset(out, int(t_in), int(t_out), dt_frame, nu,
                               {**params, "seconds": seconds,
                                "cache": None if path is None else str(path)})


def navier_stokes(resolution: int = 64, t_in: int = 10, t_out: int = 40, seed: int = 0,
                  **options: Any) -> NavierStokesProblem:
    """One trajectory as a :class:`NavierStokesProblem` (uncached; options as
    :func:`navier_stokes_dataset`).

    Examples
    --------
    >>> p = navier_stokes(16, 2, 2, seed=3, solver_resolution=32, warmup=0.1)
    >>> p.name, p.w_in.shape
    ('navier-stokes seed 3', (2, 16, 16))
    """
    options.setdefault("cache", False)
    options.setdefault("progress", False)
    d = navier_stokes_dataset(1, resolution, t_in, t_out, seed, **options)
    p = d.problem(0)
    p.name = f"navier-stokes seed {seed}"
    return p

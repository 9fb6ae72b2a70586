"""1D periodic PDEs for the learned solvers, each with a reference on a space-time grid.

The convection-dominated test cases of Mojgani, Balajewicz, Hassanzadeh,
"Lagrangian PINNs: a causality-conforming solution to failure modes of
physics-informed neural networks" (CMAME 2023), on x ∈ [0, 2π) periodic, t ∈ [0, T]:

* :func:`convection`            u_t + c u_x = 0,          u₀ = sin x   exact u₀(x − ct)
* :func:`convection_diffusion`  u_t + c u_x = ν u_xx                   exact, Fourier modes
                                û_k(t) = û_k(0) exp(−(νk² + ick) t)
* :func:`burgers`               u_t + u u_x = ν u_xx,  u₀ = sin x + C  pseudo-spectral
                                (ETDRK4, 2/3 de-aliasing), verified against Cole–Hopf

Every problem is a :class:`PDEProblem`: a grid (``x`` of ``nx`` points with
spacing 2π/nx, ``t`` of ``nt`` points from 0 to T inclusive), the reference
``u_ref`` of shape (nt, nx), and the PDE written two ways for physics-informed
training: the Eulerian residual ``R = u_t + a(u) u_x − ν u_xx`` and the
characteristic speed ``a(u)`` (c, or u for Burgers) that a Lagrangian method
follows with X_t = a(u).

The error of an approximation is :meth:`PDEProblem.rel_l2`,

    ‖u − u_ref‖₂ / ‖u_ref − ū‖₂     over the whole space-time grid,

with ū the spatial mean of u₀ (conserved by all three PDEs); for Burgers with
C = 50 the mean would otherwise hide any error (the LPINN reference code
normalises by ‖u_ref − C‖ for the same reason).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["EQUATIONS", "PDEProblem", "burgers", "burgers_cole_hopf", "burgers_spectral",
           "check_equation", "convection", "convection_diffusion", "custom"]

TWO_PI = 2.0 * math.pi

# the forms of u_t + a(u) u_x = ν u_xx that PDEProblem.speed and the learned solvers know
EQUATIONS = {
    "convection": "a(u) = c, nu = 0",
    "convection-diffusion": "a(u) = c, nu >= 0",
    "burgers": "a(u) = u, nu > 0",
    "custom": "a(u) = your callable a, nu >= 0",
}


def check_equation(equation: Any) -> str:
    """``equation`` if it names a supported form, else a ``ValueError`` listing them.

    Parameters
    ----------
    equation : str
        One of :data:`EQUATIONS`: ``"convection"``, ``"convection-diffusion"``, ``"burgers"``,
        ``"custom"`` (with the problem's callable ``a``).

    Returns
    -------
    str

    Raises
    ------
    TypeError
        ``equation`` is not a string.
    ValueError
        An unknown name; the message lists the forms and the closest one.

    Examples
    --------
    >>> from unisolve.problems.pde import check_equation
    >>> check_equation("burgers")
    'burgers'
    >>> check_equation("convection-difusion")
    Traceback (most recent call last):
    ...
    ValueError: unknown equation 'convection-difusion' (did you mean 'convection-diffusion'?); \
the supported forms of u_t + a(u) u_x = nu u_xx are 'convection' (a(u) = c, nu = 0), \
'convection-diffusion' (a(u) = c, nu >= 0), 'burgers' (a(u) = u, nu > 0), \
'custom' (a(u) = your callable a, nu >= 0)
    """
    if not isinstance(equation, str):
        raise TypeError(f"equation must be a string, one of {list(EQUATIONS)}, got "
                        f"{type(equation).__name__}")
    if equation not in EQUATIONS:
        close = difflib.get_close_matches(equation, list(EQUATIONS), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        forms = ", ".join(f"{k!r} ({v})" for k, v in EQUATIONS.items())
        raise ValueError(f"unknown equation {equation!r}{hint}; the supported forms of "
                         f"u_t + a(u) u_x = nu u_xx are {forms}")
    return equation


@dataclass(eq=False)
class PDEProblem:
    """A 1D periodic PDE u_t + a(u) u_x = ν u_xx on [0, 2π) × [0, T] with a reference.

    Attributes
    ----------
    equation : str
        ``"convection"``, ``"convection-diffusion"`` or ``"burgers"``.
    c : float
        Convection speed (for Burgers: the constant C added to u₀, the shock's speed).
    nu : float
        Viscosity ν ≥ 0.
    u0 : callable
        Initial condition, ``u0(x) -> array`` on numpy arrays (2π-periodic).
    x, t : ndarray
        The grid: ``x = 2π j / nx`` (j < nx) and ``t`` from 0 to T inclusive.
    u_ref : ndarray, shape (nt, nx)
        The reference solution on the grid (row i is time ``t[i]``).
    reference : str
        How ``u_ref`` was made (``"exact"``, ``"fourier"``, ``"pseudo-spectral ..."``).
    name : str
    meta : dict
        Extra facts (the reference solver's resolution and time step).

    Raises
    ------
    ValueError
        ``equation`` is not one of :data:`EQUATIONS` (see :func:`check_equation`).

    Notes
    -----
    **Your own PDE.** u_t + a(u) u_x = ν u_xx on [0, 2π) periodic is posed by choosing
    the form of a(u), then ν, the initial condition and the time span:

    * a(u) = c (any real c) and ν ≥ 0: ``convection_diffusion(c, nu, u0=..., t_final=...)``
      (``equation`` becomes ``"convection"`` when ν = 0); reference exact by Fourier modes.
    * a(u) = u (Burgers) and ν > 0: ``burgers(C, nu=..., u0=...)`` with u₀ + C as the
      initial condition (a(u) = u with a mean flow C); pseudo-spectral reference.
    * Any other a(u): ``custom(a, nu, u0=...)`` with ``a`` a callable written with
      operations that work on numpy arrays and torch tensors (``lambda u: 1 + u ** 2``);
      reference by the method of lines (valid while u stays smooth).
    * With a reference of your own on the grid (from your solver or data), build the
      problem directly: ``PDEProblem(equation, c, nu, u0, x, t, u_ref, reference=...)``
      (``a=`` as well for ``equation="custom"``).

    ``u0`` is a 2π-periodic callable on numpy arrays. ``equation`` must name one of
    :data:`EQUATIONS`: a misspelt name is an error, not a silent fall-back to a(u) = c.

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems import pde
    >>> p = pde.convection(30.0, nx=64, nt=11)
    >>> p.kind, p.grid_shape, p.speed(0.0)
    ('pde', (11, 64), 30.0)
    >>> p.rel_l2(p.u_ref), round(p.rel_l2(np.zeros(p.grid_shape)), 12)
    (0.0, 1.0)

    Your own: u_t + 2 u_x = 0.05 u_xx with u₀ = exp(cos x) up to T = 0.5:

    >>> mine = pde.convection_diffusion(2.0, 0.05, u0=lambda x: np.exp(np.cos(x)),
    ...                                 nx=64, nt=11, t_final=0.5)
    >>> mine.equation, mine.speed(1.0), mine.nu, mine.t_final
    ('convection-diffusion', 2.0, 0.05, 0.5)
    """

    equation: str
    c: float
    nu: float
    u0: Callable[[np.ndarray], np.ndarray]
    x: np.ndarray
    t: np.ndarray
    u_ref: np.ndarray
    reference: str
    name: str = ""
    meta: dict = field(default_factory=dict)
    a: Callable[[Any], Any] | None = None
    kind: str = field(default="pde", init=False)

    length: float = field(default=TWO_PI, init=False)

    def __post_init__(self) -> None:
        check_equation(self.equation)  # a misspelt name must not fall back to a(u) = c
        if (self.equation == "custom") != (self.a is not None) or (
                self.a is not None and not callable(self.a)):
            raise ValueError("equation='custom' goes with a callable a(u) (numpy and torch "
                             "arrays), and a is only for equation='custom'; got "
                             f"equation={self.equation!r}, a={self.a!r}")

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(nt, nx): the shape of ``u_ref`` and of every solution on the grid."""
        return (self.t.size, self.x.size)

    @property
    def t_final(self) -> float:
        return float(self.t[-1])

    @property
    def mean(self) -> float:
        """Spatial mean ū of u₀, conserved in time."""
        return float(np.mean(self.u_ref[0]))

    def speed(self, u: Any) -> Any:
        """Characteristic speed a(u): ``c`` for (convection-)diffusion, ``u`` for Burgers,
        the callable ``a`` for ``"custom"``."""
        if self.a is not None:
            return self.a(u)
        return u if self.equation == "burgers" else self.c

    def residual(self, u: Any, u_t: Any, u_x: Any, u_xx: Any) -> Any:
        """Eulerian residual ``R = u_t + a(u) u_x − ν u_xx`` (numpy or torch arrays)."""
        return u_t + self.speed(u) * u_x - self.nu * u_xx

    def rel_l2(self, u: Any) -> float:
        """‖u − u_ref‖₂ / ‖u_ref − ū‖₂ over the grid (see the module docstring)."""
        u = np.asarray(u, dtype=np.float64)
        if u.shape != self.grid_shape:
            raise ValueError(f"a solution on this grid has shape {self.grid_shape} "
                             f"(nt, nx), got {u.shape}")
        return float(np.linalg.norm(u - self.u_ref) / np.linalg.norm(self.u_ref - self.mean))


# ----------------------------------------------------------------------------- validation
def _check_grid(nx: Any, nt: Any, t_final: Any) -> None:
    for name, v, least in (("nx", nx, 4), ("nt", nt, 2)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
            raise ValueError(f"{name} must be an integer >= {least} (number of grid points "
                             f"in {'x' if name == 'nx' else 't'}), got {v!r}")
    if not (isinstance(t_final, (int, float)) and math.isfinite(t_final) and t_final > 0):
        raise ValueError(f"t_final must be a finite number > 0, got {t_final!r}")


def _check_number(name: str, v: Any, nonnegative: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if nonnegative and v < 0:
        raise ValueError(f"{name} must be >= 0 (a negative viscosity makes the problem "
                         f"ill-posed: backward diffusion), got {v}")
    return v


def _grid(nx: int, nt: int, t_final: float) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(nx) * (TWO_PI / nx), np.linspace(0.0, float(t_final), nt)


def _initial(u0: Callable | None, x: np.ndarray) -> tuple[Callable, np.ndarray]:
    f = np.sin if u0 is None else u0
    if not callable(f):
        raise TypeError(f"u0 must be a callable u0(x) on numpy arrays, got {type(u0).__name__}")
    v = np.asarray(f(x), dtype=np.float64)
    if v.shape != x.shape or not np.all(np.isfinite(v)):
        raise ValueError("u0(x) must return finite values of the same shape as x")
    return f, v


def _fine_start(u0: Callable | None, nx: int, nt: int, t_final: float, resolution: Any
                ) -> tuple[np.ndarray, np.ndarray, Callable, np.ndarray, np.ndarray]:
    """Checked grid (x, t), u₀ (the callable, its values on x and on the reference's fine
    grid of ``resolution`` points)."""
    _check_grid(nx, nt, t_final)
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or (
            resolution < nx or resolution % nx):
        raise ValueError(f"resolution must be a multiple of nx={nx}, got {resolution!r}")
    x, t = _grid(nx, nt, t_final)
    f, v0 = _initial(u0, x)
    xf = np.arange(resolution) * (TWO_PI / resolution)
    return x, t, f, v0, np.asarray(f(xf), dtype=np.float64)


# ----------------------------------------------------------------------------- problems
def convection_diffusion(c: float, nu: float, *, nx: int = 256, nt: int = 100,
                         t_final: float = 1.0, u0: Callable | None = None) -> PDEProblem:
    """u_t + c u_x = ν u_xx, periodic, u₀ = sin x; reference exact by Fourier modes.

    Each mode of u₀ (the FFT of u₀ on the grid, exact for a u₀ band-limited to
    nx/2 modes) evolves as û_k(t) = û_k(0) exp(−(νk² + ick) t); for u₀ = sin x,
    u = e^{−νt} sin(x − ct).

    Parameters
    ----------
    c : float
        Convection speed.
    nu : float
        Viscosity ν ≥ 0.
    nx, nt : int
        Grid points in x (spacing 2π/nx) and t (0 to ``t_final`` inclusive).
    t_final : float
        Final time T > 0.
    u0 : callable, optional
        2π-periodic initial condition ``u0(x)``; default ``np.sin``.

    Returns
    -------
    PDEProblem

    Raises
    ------
    ValueError
        ν < 0, too few grid points, T ≤ 0, non-finite parameters or u₀.

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems import pde
    >>> p = pde.convection_diffusion(5.0, 0.1, nx=32, nt=5)
    >>> T, X = np.meshgrid(p.t, p.x, indexing="ij")
    >>> bool(np.allclose(p.u_ref, np.exp(-0.1 * T) * np.sin(X - 5 * T), atol=1e-13))
    True
    >>> pde.convection_diffusion(1.0, -0.1)
    Traceback (most recent call last):
    ...
    ValueError: nu must be >= 0 (a negative viscosity makes the problem ill-posed: \
backward diffusion), got -0.1
    """
    c = _check_number("c", c)
    nu = _check_number("nu", nu, nonnegative=True)
    _check_grid(nx, nt, t_final)
    x, t = _grid(nx, nt, t_final)
    f, v0 = _initial(u0, x)
    k = np.fft.rfftfreq(nx, d=1.0 / nx)  # integer wavenumbers 0..nx/2
    growth = np.exp(-np.outer(t, nu * k**2 + 1j * c * k))
    u = np.fft.irfft(np.fft.rfft(v0)[None, :] * growth, n=nx, axis=1)
    eq = "convection-diffusion" if nu > 0 else "convection"
    return PDEProblem(eq, c, nu, f, x, t, u, reference="fourier",
                      name=f"convection-diffusion c={c:g} nu={nu:g}")


def custom(a: Callable[[Any], Any], nu: float, *, u0: Callable | None = None, nx: int = 256,
           nt: int = 100, t_final: float = 1.0, resolution: int = 512,
           rtol: float = 1e-9) -> PDEProblem:
    """u_t + a(u) u_x = ν u_xx with your own speed a(u), periodic; reference by the method
    of lines.

    The reference integrates u_t = −a(u) u_x + ν u_xx on ``resolution`` Fourier points,
    u_x and u_xx spectrally (û_x = ik û, û_xx = −k² û), in time by SciPy's adaptive
    RK45 (``rtol``, ``atol = rtol``); the grid is a subset of the solver's. It is
    accurate while u stays smooth: ν must be large enough that no shock forms before
    ``t_final`` on that resolution (compare two resolutions to be sure).

    Parameters
    ----------
    a : callable
        a(u) on numpy arrays and (for PINN/LPINN training) torch tensors, e.g.
        ``lambda u: 1 + u ** 2``.
    nu : float
        Viscosity ν ≥ 0.
    u0 : callable, optional
        2π-periodic initial condition; default ``np.sin``.
    nx, nt, t_final
        As in :func:`convection_diffusion`.
    resolution : int
        Fourier points of the reference solver (a multiple of ``nx``).
    rtol : float
        Relative and absolute tolerance of the time integration.

    Returns
    -------
    PDEProblem
        ``equation == "custom"``, ``speed(u) == a(u)``, ``c`` = max |a(u₀)| (the largest
        initial speed; LPINN scales its displacement by it).

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems import pde
    >>> p = pde.custom(lambda u: 2.0 + 0 * u, 0.1, nx=32, nt=5, resolution=64)
    >>> T, X = np.meshgrid(p.t, p.x, indexing="ij")      # a = 2: e^{−νt} sin(x − 2t)
    >>> bool(np.abs(p.u_ref - np.exp(-0.1 * T) * np.sin(X - 2 * T)).max() < 1e-7)
    True
    >>> p.equation, float(p.speed(np.array(3.0)))
    ('custom', 2.0)
    """
    from scipy.integrate import solve_ivp

    if not callable(a):
        raise TypeError(f"a must be a callable a(u), got {type(a).__name__}")
    nu = _check_number("nu", nu, nonnegative=True)
    x, t, f, v0, uf0 = _fine_start(u0, nx, nt, t_final, resolution)
    k = np.fft.rfftfreq(resolution, d=1.0 / resolution)
    if resolution % 2 == 0:
        k_odd = k.copy()
        k_odd[-1] = 0.0  # the Nyquist mode has no real first derivative
    else:
        k_odd = k

    def rhs(_t: float, u: np.ndarray) -> np.ndarray:
        uh = np.fft.rfft(u)
        u_x = np.fft.irfft(1j * k_odd * uh, n=resolution)
        u_xx = np.fft.irfft(-(k ** 2) * uh, n=resolution)
        return -np.asarray(a(u), dtype=np.float64) * u_x + nu * u_xx  # u_t = −a(u)u_x + νu_xx

    sol = solve_ivp(rhs, (0.0, float(t_final)), uf0, method="RK45", t_eval=t, rtol=rtol,
                    atol=rtol)
    if not sol.success or sol.y.shape[1] != nt or not np.all(np.isfinite(sol.y)):
        raise ValueError(f"the reference integration failed ({sol.message}): raise nu or "
                         "resolution, or shorten t_final")
    u = sol.y.T[:, :: resolution // nx]
    speed0 = float(np.max(np.abs(np.asarray(a(v0), dtype=np.float64))))
    return PDEProblem("custom", speed0, nu, f, x, t, u,
                      reference=f"method of lines, Fourier {resolution} points, RK45 "
                                f"rtol={rtol:g}",
                      name=f"custom a(u) nu={nu:g}", meta={"resolution": resolution,
                                                           "rhs_evaluations": int(sol.nfev)},
                      a=a)


def convection(c: float, *, nx: int = 256, nt: int = 100, t_final: float = 1.0,
               u0: Callable | None = None) -> PDEProblem:
    """u_t + c u_x = 0, periodic, u₀ = sin x; reference exact, u(x, t) = u₀(x − ct).

    The failure-mode case of physics-informed networks: a plain PINN trains to a
    small loss but a wrong (nearly flat) solution once c ≳ 30.

    Parameters
    ----------
    c : float
        Convection speed.
    nx, nt, t_final, u0
        As in :func:`convection_diffusion`.

    Returns
    -------
    PDEProblem

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems import pde
    >>> p = pde.convection(30.0, nx=16, nt=3)
    >>> bool(np.allclose(p.u_ref[-1], np.sin(p.x - 30.0)))
    True
    >>> pde.convection(1.0, nx=0)
    Traceback (most recent call last):
    ...
    ValueError: nx must be an integer >= 4 (number of grid points in x), got 0
    """
    c = _check_number("c", c)
    _check_grid(nx, nt, t_final)
    x, t = _grid(nx, nt, t_final)
    f, _ = _initial(u0, x)
    u = np.asarray(f(np.mod(x[None, :] - c * t[:, None], TWO_PI)), dtype=np.float64)
    return PDEProblem("convection", c, 0.0, f, x, t, u, reference="exact",
                      name=f"convection c={c:g}")


def burgers(C: float = 0.0, *, nu: float = 0.01, nx: int = 256, nt: int = 100,
            t_final: float = 1.0, u0: Callable | None = None,
            resolution: int = 2048) -> PDEProblem:
    """Viscous Burgers u_t + u u_x = ν u_xx, periodic, u₀ = sin x + C (ν = 0.01).

    The sine steepens into a shock at t ≈ 1 that moves at speed C (Galilean
    invariance: u(x, t) = C + v(x − Ct, t) with v the C = 0 solution). The
    reference comes from :func:`burgers_spectral` at ``resolution`` Fourier
    points (a multiple of ``nx``; the grid is a subset of the solver's),
    which tests/problems/test_pde.py checks for convergence under refinement and
    against the exact Cole–Hopf solution :func:`burgers_cole_hopf`.

    Parameters
    ----------
    C : float
        Constant added to u₀ (the shock's speed).
    nu : float
        Viscosity ν > 0.
    nx, nt, t_final
        As in :func:`convection_diffusion`.
    u0 : callable, optional
        2π-periodic initial condition before C is added; default ``np.sin``.
    resolution : int
        Fourier points of the reference solver (a multiple of ``nx``).

    Returns
    -------
    PDEProblem
        ``meta`` records the solver's resolution and time step.

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems import pde
    >>> p = pde.burgers(10.0, nx=64, nt=5, resolution=512)
    >>> exact = pde.burgers_cole_hopf(p.x, p.t, nu=0.01, C=10.0)
    >>> bool(np.abs(p.u_ref - exact).max() < 1e-6), p.mean
    (True, 10.0)
    """
    C = _check_number("C", C)
    nu = _check_number("nu", nu, nonnegative=True)
    if nu == 0:
        raise ValueError("Burgers needs nu > 0: the inviscid equation forms a shock at t = 1 "
                         "that no smooth reference resolves")
    x, t, f, _, v0 = _fine_start(u0, nx, nt, t_final, resolution)
    v0 = v0 + C
    fine, dt = burgers_spectral(v0, t, nu)
    u = fine[:, :: resolution // nx]
    return PDEProblem("burgers", C, nu, lambda z: np.asarray(f(z), dtype=np.float64) + C,
                      x, t, u, reference=f"pseudo-spectral ETDRK4, {resolution} points",
                      name=f"burgers C={C:g} nu={nu:g}",
                      meta={"resolution": resolution, "dt": dt})


# ----------------------------------------------------------------------------- solvers
def burgers_spectral(u0: Any, t: Any, nu: float, dt: float | None = None
                     ) -> tuple[np.ndarray, float]:
    """Pseudo-spectral viscous Burgers on [0, 2π): ETDRK4 in time, 2/3 de-aliasing.

    With ū = mean(u₀) (conserved), Galilean invariance gives u(x, t) = ū + v(x − ūt, t)
    where v solves Burgers with zero mean; its Fourier modes obey

        v̂_t = L v̂ + N(v),   L = −νk²,   N(v) = −(ik/2) (v²)^     (de-aliased)

    integrated by the exponential time-differencing RK4 scheme of Cox and
    Matthews (2002), with its φ-functions evaluated by contour integrals as in
    Kassam and Trefethen (2005); the shift by ūt is applied exactly to the
    modes, v̂_k e^{−ikūt}, at each output time. So the stiff diffusion and the
    mean flow (any size, e.g. C = 50) cost nothing and only |v| limits the step.
    (Folding ū into L instead leaves the nonlinear term rotating at frequency
    ūk inside each step, which ETDRK4 treats as a polynomial in time: at
    C = 50 and 2048 points the error grows from 2e-11 to 3e-4.)

    Parameters
    ----------
    u0 : array_like, shape (n,)
        Initial values on ``x = 2π j / n`` (n even).
    t : array_like
        Increasing output times, ``t[0] = 0``.
    nu : float
        Viscosity ν > 0.
    dt : float, optional
        Time step; default ``0.5 / (kmax · max|v₀|)`` with kmax = n/3 (well inside
        RK4's stability region), shrunk so that every output time is hit exactly.

    Returns
    -------
    u : ndarray, shape (len(t), n)
    dt : float
        The step used.

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems.pde import burgers_spectral
    >>> x = np.arange(64) * 2 * np.pi / 64
    >>> u, dt = burgers_spectral(np.sin(x), [0.0, 0.5], nu=1.0)
    >>> bool(np.abs(u[-1]).max() < np.exp(-0.5))  # diffusion-dominated decay
    True
    """
    u0 = np.asarray(u0, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    n = u0.size
    if u0.ndim != 1 or n < 4 or n % 2:
        raise ValueError(f"u0 must be a 1D array of an even number (>= 4) of values, "
                         f"got shape {u0.shape}")
    if t.ndim != 1 or t.size < 1 or t[0] != 0 or np.any(np.diff(t) <= 0):
        raise ValueError("t must be increasing output times starting at 0")
    mean = float(u0.mean())
    v_hat = np.fft.rfft(u0 - mean)
    k = np.fft.rfftfreq(n, d=1.0 / n)
    keep = k < n / 3  # 2/3 rule: products of kept modes alias only onto dropped ones
    vmax = max(float(np.abs(u0 - mean).max()), 1e-12)
    if dt is None:
        dt = 0.5 / ((n / 3) * vmax)
    out = np.empty((t.size, n))
    out[0] = u0
    L = -nu * k**2
    g = -0.5j * k * keep  # N(v) = g · FFT(v²)

    def nonlinear(vh: np.ndarray) -> np.ndarray:
        v = np.fft.irfft(vh * keep, n=n)
        return g * np.fft.rfft(v * v)

    cache: dict[float, tuple] = {}
    for i in range(1, t.size):
        span = t[i] - t[i - 1]
        steps = max(1, math.ceil(span / dt - 1e-9))
        h = span / steps
        key = round(h, 15)
        if key not in cache:
            cache[key] = _etdrk4_coefficients(L, h)
        E, E2, Q, f1, f2, f3 = cache[key]
        for _ in range(steps):
            Nv = nonlinear(v_hat)
            a = E2 * v_hat + Q * Nv
            Na = nonlinear(a)
            b = E2 * v_hat + Q * Na
            Nb = nonlinear(b)
            cc = E2 * a + Q * (2 * Nb - Nv)
            Nc = nonlinear(cc)
            v_hat = E * v_hat + f1 * Nv + 2 * f2 * (Na + Nb) + f3 * Nc
        out[i] = np.fft.irfft(v_hat * np.exp(-1j * k * mean * t[i]), n=n) + mean
    return out, float(dt)


def _etdrk4_coefficients(L: np.ndarray, h: float, points: int = 64) -> tuple:
    """exp(hL), exp(hL/2) and the ETDRK4 weights Q, f1, f2, f3 (contour means)."""
    z = h * L
    r = np.exp(2j * np.pi * (np.arange(points) + 0.5) / points)  # unit circle about each z
    zr = z[:, None] + r[None, :]
    ez = np.exp(zr)
    Q = h * np.mean((np.exp(zr / 2) - 1) / zr, axis=1)
    f1 = h * np.mean((-4 - zr + ez * (4 - 3 * zr + zr**2)) / zr**3, axis=1)
    f2 = h * np.mean((2 + zr + ez * (zr - 2)) / zr**3, axis=1)
    f3 = h * np.mean((-4 - 3 * zr - zr**2 + ez * (4 - zr)) / zr**3, axis=1)
    return np.exp(z), np.exp(z / 2), Q, f1, f2, f3


def burgers_cole_hopf(x: Any, t: Any, nu: float = 0.01, C: float = 0.0,
                      quadrature: int = 4001) -> np.ndarray:
    """Exact viscous Burgers solution for u₀ = sin x + C, by the Cole–Hopf transform.

    u = C + v(x − Ct, t) and v = −2ν φ_x / φ with φ the heat-equation solution
    from φ₀(y) = exp(−(1 − cos y)/(2ν)):

        v(x, t) = ∫ ((x − y)/t) w(y) dy / ∫ w(y) dy,
        w(y)    = exp(−(1 − cos y)/(2ν) − (x − y)²/(4νt)),

    evaluated with y = x − s√(4νt) by the trapezoidal rule on s ∈ [−16, 16]
    (spectrally accurate for this smooth, rapidly decaying integrand), the
    exponent shifted by its maximum so that nothing overflows at small ν.

    Parameters
    ----------
    x, t : array_like
        1D grids; the result has shape (len(t), len(x)).
    nu : float
        Viscosity ν > 0.
    C : float
        Constant added to u₀.
    quadrature : int
        Number of trapezoidal nodes in s.

    Returns
    -------
    ndarray, shape (len(t), len(x))

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems.pde import burgers_cole_hopf
    >>> u = burgers_cole_hopf([0.5, np.pi], [0.0, 0.3], nu=0.05)
    >>> bool(np.allclose(u[0], np.sin([0.5, np.pi]))), abs(float(u[1, 1])) < 1e-12
    (True, True)
    """
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    nu = _check_number("nu", nu, nonnegative=True)
    if nu == 0:
        raise ValueError("Cole–Hopf needs nu > 0")
    s = np.linspace(-16.0, 16.0, quadrature)
    out = np.empty((t.size, x.size))
    for i, ti in enumerate(t):
        if ti == 0:
            out[i] = np.sin(x) + C
            continue
        width = math.sqrt(4 * nu * ti)
        xs = x - C * ti  # Galilean shift
        y = xs[:, None] - width * s[None, :]
        log_w = -(1 - np.cos(y)) / (2 * nu) - s[None, :] ** 2
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        out[i] = C + (width / ti) * (w @ s) / w.sum(axis=1)
    return out

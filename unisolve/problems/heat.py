"""Sequences of related linear systems (the Learning-to-Relax test beds).

* :func:`shifted_laplacian_sequence` — ``A_t = L + c_t I`` on a 10 x 10 grid,
  ``c_t = −0.15 + 0.6 Beta(0.5, 1.5)`` ("high" variance) or
  ``−0.15 + 0.6 Beta(2, 6)`` ("low"); ``b_t ~ N(0, I)`` redrawn until
  ``‖b_t‖ ≤ √n``; context ``c_t``.
* :func:`heat_sequence` — 2D heat equation ``u_t = κ(t) Δu + f`` on the unit
  square with Dirichlet walls, Crank–Nicolson in time:

      (I − ½ κ(s) dt L_h) u_{t+1} = (I + ½ κ(s) dt L_h) u_t + dt f(s, ·),
      s = t + dt/2,

  ``L_h`` the 5-point Laplacian (−4 on the diagonal) / h², h = 1/nx,
  ``κ(t) = exp(−2 cos 2πt) + e·B(t)`` with B a Brownian path normalised to
  [0, 1], forcing ``f = 32 bump(x; (.5 + cos(16πt)/4, .5 + sin(16πt)/4), .125)``
  and ``u_0 = bump(x; (.5, .5), .25)``, where
  ``bump(x; c, r) = exp(1 − 1/(1 − min(1, |x − c|²/r²)))``.
  Each solution is the next state and the next warm start; context ``κ(s)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .linear import LinearProblem, LinearSequence, Stencil

__all__ = ["bump", "diffusivity", "heat_forcing", "heat_sequence", "shifted_laplacian_sequence"]

_SHIFT_LOW, _SHIFT_SPAN, _SHIFT_HIGH = -0.15, 0.6, 0.45
_BETA = {"high": (0.5, 1.5), "low": (2.0, 6.0)}


def shifted_laplacian_sequence(
    T: int, variance: str = "high", seed: int = 0, side: int = 10
) -> LinearSequence:
    """``A_t = L + c_t I`` with random shifts ``c_t`` (Learning to Relax, exp. a).

    Parameters
    ----------
    T : int
        Number of instances.
    variance : {'high', 'low'}
        ``c_t = −0.15 + 0.6 Beta(0.5, 1.5)`` or ``−0.15 + 0.6 Beta(2, 6)``.
    seed : int
        Seed for the shifts and right-hand sides.
    side : int
        Interior grid side (10 in the paper: n = 100 unknowns).

    Examples
    --------
    >>> seq = shifted_laplacian_sequence(T=5, variance="low", seed=0)
    >>> p = seq.instance(2)
    >>> p.n, bool(p.context == seq.contexts[2]), bool(p.A[0, 0] == 4 + p.context)
    (100, True, True)
    """
    if variance not in _BETA:
        raise ValueError(f"variance must be 'high' or 'low', got {variance!r}")
    if T < 1:
        raise ValueError(f"T must be a positive number of instances, got {T}")
    rng = np.random.default_rng(seed)
    a, bb = _BETA[variance]
    shifts = _SHIFT_LOW + _SHIFT_SPAN * rng.beta(a, bb, size=T)
    n = side * side
    rhs = np.empty((T, n))
    for t in range(T):
        while True:  # redraw until ||b|| <= sqrt(n)
            v = rng.standard_normal(n)
            if np.linalg.norm(v) <= np.sqrt(n):
                rhs[t] = v
                break

    def make(t: int, previous=None) -> LinearProblem:
        c = float(shifts[t])
        stencil = Stencil(shape=(side, side), diagonal=4.0 + c, offdiagonal=-1.0)
        return LinearProblem(
            stencil.to_csr(), rhs[t].copy(), context=c, grid_shape=(side, side),
            stencil=stencil, spd=True, name=f"shifted-laplacian[{t}]",
        )

    return LinearSequence(
        length=T, make_instance=make, warm_start=False,
        name=f"shifted_laplacian_sequence(T={T}, variance={variance!r})",
        contexts=shifts, context_range=(_SHIFT_LOW, _SHIFT_HIGH),
        meta={"variance": variance, "seed": seed},
    )


def bump(x: np.ndarray, y: np.ndarray, center: tuple, radius: float) -> np.ndarray:
    """``exp(1 − 1/(1 − min(1, |x − c|²/r²)))``: 1 at the centre, 0 outside radius r.

    Examples
    --------
    >>> float(bump(np.array(0.5), np.array(0.5), (0.5, 0.5), 0.25))
    1.0
    >>> float(bump(np.array(0.9), np.array(0.5), (0.5, 0.5), 0.25))
    0.0
    """
    q = np.minimum(1.0, ((x - center[0]) ** 2 + (y - center[1]) ** 2) / radius**2)
    out = np.zeros(np.broadcast(x, y).shape)
    inside = q < 1.0
    out[inside] = np.exp(1.0 - 1.0 / (1.0 - q[inside]))
    return out


def diffusivity(steps: int, dt: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Half-step times ``s_t`` and ``κ(s_t) = exp(−2 cos 2πs) + e·B(s)``, B Brownian in [0, 1].

    Examples
    --------
    >>> s, kappa = diffusivity(4, 1e-3, seed=0)
    >>> s.tolist(), bool(kappa.min() >= np.exp(-2.0))
    ([0.0005, 0.0015, 0.0025, 0.0035], True)
    """
    rng = np.random.default_rng(seed)
    s = (np.arange(steps) + 0.5) * dt
    path = np.cumsum(rng.standard_normal(steps) * np.sqrt(dt))
    span = path.max() - path.min()
    brown = (path - path.min()) / span if span > 0 else np.zeros(steps)
    return s, np.exp(-2.0 * np.cos(2.0 * np.pi * s)) + np.e * brown


def heat_forcing(x: np.ndarray, y: np.ndarray, s: float) -> np.ndarray:
    """``f(s, x) = 32 bump(x; (.5 + cos(16πs)/4, .5 + sin(16πs)/4), .125)``: a circling source.

    Examples
    --------
    >>> float(heat_forcing(np.array(0.75), np.array(0.5), 0.0))
    32.0
    """
    c = (0.5 + np.cos(16 * np.pi * s) / 4, 0.5 + np.sin(16 * np.pi * s) / 4)
    return 32.0 * bump(x, y, c, 0.125)


def _forcing_on(x: np.ndarray, y: np.ndarray, s: float) -> np.ndarray:
    """:func:`heat_forcing` on the grid ``x, y`` (``indexing="ij"``), evaluated only
    on the rows and columns that meet the bump's support (it is 0 elsewhere)."""
    c = (0.5 + np.cos(16 * np.pi * s) / 4, 0.5 + np.sin(16 * np.pi * s) / 4)
    rows = np.flatnonzero(np.abs(x[:, 0] - c[0]) < 0.125)
    cols = np.flatnonzero(np.abs(y[0, :] - c[1]) < 0.125)
    out = np.zeros(x.shape)
    if rows.size and cols.size:
        box = np.s_[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        out[box] = heat_forcing(x[box], y[box], s)
    return out


def heat_sequence(
    nx: int = 100, steps: int = 5000, dt: float = 1e-3, seed: int = 0
) -> LinearSequence:
    """Crank–Nicolson steps of the 2D heat equation with time-varying diffusivity.

    Parameters
    ----------
    nx : int
        Cells per side: ``(nx − 1)**2`` unknowns, ``h = 1/nx``.
    steps : int
        Number of time steps (= linear systems).
    dt : float
        Time step.
    seed : int
        Seed of the Brownian part of κ.

    Returns
    -------
    LinearSequence
        Warm-started: instance ``t`` is built from the solution of ``t − 1``
        (``u_0`` for ``t = 0``) and uses it as ``x0``.

    Examples
    --------
    >>> import numpy as np
    >>> seq = heat_sequence(nx=20, steps=3, seed=0)
    >>> p = seq.instance(0)
    >>> p.n, bool(np.allclose(p.x0, seq.meta["u0"])), bool(p.context == seq.contexts[0])
    (361, True, True)
    """
    if nx < 3:
        raise ValueError(f"nx must be at least 3 cells per side, got {nx}")
    if steps < 1 or dt <= 0:
        raise ValueError("steps must be >= 1 and dt > 0")
    m = nx - 1
    h = 1.0 / nx
    grid = (np.arange(m) + 1) * h
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    K = Stencil(shape=(m, m), diagonal=4.0, offdiagonal=-1.0).to_csr()  # K = −h² L_h
    K.sort_indices()
    # A_t = I + a_t K has K's pattern (K stores its diagonal): only the values change,
    # so every instance shares K's index arrays and assembles in one pass over K.data
    on_diagonal = (K.indices == np.repeat(np.arange(m * m), np.diff(K.indptr))).astype(float)
    times, kappa = diffusivity(steps, dt, seed)
    u0 = bump(X, Y, (0.5, 0.5), 0.25).ravel()

    def make(t: int, previous=None) -> LinearProblem:
        u = u0 if previous is None else np.asarray(previous)
        a = 0.5 * kappa[t] * dt / h**2  # ½ κ dt / h²: A_t = I + a K, rhs = (I − a K) u + dt f
        A = sp.csr_array((a * K.data + on_diagonal, K.indices, K.indptr), shape=K.shape,
                         copy=False)
        b = u - a * (K @ u) + dt * _forcing_on(X, Y, times[t]).ravel()
        stencil = Stencil(shape=(m, m), diagonal=1.0 + 4.0 * a, offdiagonal=-a)
        return LinearProblem(
            A, b, x0=u.copy(), context=float(kappa[t]), grid_shape=(m, m),
            stencil=stencil, spd=True, name=f"heat[{t}]",
        )

    return LinearSequence(
        length=steps, make_instance=make, warm_start=True,
        name=f"heat_sequence(nx={nx}, steps={steps}, dt={dt})",
        contexts=kappa, context_range=(float(kappa.min()), float(kappa.max())),
        meta={"u0": u0, "times": times, "dt": dt, "h": h, "seed": seed},
    )

"""The classical solver of the MAC-grid flows: Crank–Nicolson by Picard + exact projection.

Each step solves the scheme of :class:`unisolve.problems.mac_flow.MacFlow` to a
tolerance: Picard iteration on the midpoint velocity,

    r^k     = u⁰ + Δt (ν Δ_h ū^k − A(ū^k)) + Δt κ u_b,            ū^k = (u⁰ + u^k)/2,
    u^{k+1} = c (r^k − Δt ∇p − Δt G),   ∇·u^{k+1} = 0,   ⟨u^{k+1}⟩ = U,   c = 1/(1 + Δt κ),

where the projection solves ∇·(c ∇p) = ∇·(c r^k)/Δt — by FFT when there are no
penalised cells (c ≡ 1), else by one sparse LU factorisation made at set-up —
and G (two numbers) holds the mean flow. At the fixed point the residual of
:meth:`MacFlow.residual` vanishes; the iteration contracts when
Δt (4ν/h² + |u|/h) < 1, which the problems' default steps satisfy.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..problems.mac_flow import FlowProblem, MacFlow
from ..registry import method
from ..result import Result, Status

__all__ = ["MacProjection", "mac_cn", "reference_rollout"]


def _shift(ny: int, nx: int, di: int, dj: int) -> sp.csr_matrix:
    """The sparse matrix of a ↦ a[i + di, j + dj] on the periodic grid (flattened)."""
    idx = np.arange(ny * nx).reshape(ny, nx)
    src = np.roll(np.roll(idx, -di, 0), -dj, 1).ravel()
    return sp.csr_matrix((np.ones(ny * nx), (idx.ravel(), src)), shape=(ny * nx,) * 2)


class MacProjection:
    """Crank–Nicolson stepper for a :class:`MacFlow` (Picard on ū, exact projection).

    Parameters
    ----------
    flow : MacFlow
    tol : float
        Stop the Picard iteration when max|u^{k+1} − u^k| ≤ tol · max|u^{k+1}|.
    maxiter : int
        Picard iterations per step at most.

    Examples
    --------
    >>> from unisolve.problems.mac_flow import taylor_green_flow
    >>> p = taylor_green_flow(16, steps=3)
    >>> psi, info = MacProjection(p.flow).rollout(p.psi0, 3)
    >>> psi.shape, info["status"]
    ((4, 16, 16), <Status.CONVERGED: 'converged'>)
    """

    def __init__(self, flow: MacFlow, tol: float = 1e-11, maxiter: int = 100) -> None:
        if not isinstance(flow, MacFlow):
            raise TypeError(f"flow must be a MacFlow, got {type(flow).__name__}")
        self.flow, self.tol, self.maxiter = flow, float(tol), int(maxiter)
        f = flow
        if f.kappa_u is None:   # no penalised cells: the projection is an FFT solve
            self.c_u = self.c_v = None
        else:
            self.c_u = 1.0 / (1.0 + f.dt * f.kappa_u)
            self.c_v = 1.0 / (1.0 + f.dt * f.kappa_v)
            ny, nx, h = f.ny, f.nx, f.h
            eye = sp.identity(ny * nx, format="csr")
            grad_u = (eye - _shift(ny, nx, 0, -1)) / h   # p − p[i, j−1]
            grad_v = (eye - _shift(ny, nx, -1, 0)) / h   # p − p[i−1, j]
            div_u = (_shift(ny, nx, 0, 1) - eye) / h     # u[i, j+1] − u
            div_v = (_shift(ny, nx, 1, 0) - eye) / h     # v[i+1, j] − v
            m = (div_u @ sp.diags(self.c_u.ravel()) @ grad_u
                 + div_v @ sp.diags(self.c_v.ravel()) @ grad_v).tolil()
            m[0, :] = 0.0   # pin p[0, 0] = 0: the constant null space of the periodic grid
            m[0, 0] = 1.0
            self._lu = spla.splu(m.tocsc())
        # the responses to a unit mean pressure gradient, for the mean-flow condition
        one, zero = np.ones(f.shape), np.zeros(f.shape)
        self._resp = (self._project(one, zero), self._project(zero, one))
        self._g_matrix = np.array([[r[c].mean() for r in self._resp] for c in (0, 1)])

    def _project(self, r_u: np.ndarray, r_v: np.ndarray) -> tuple:
        """(u, v, q) with u = c (r − ∇q) and ∇·u = 0 (q = Δt p)."""
        f = self.flow
        if self.c_u is None:
            q = f.poisson(f.divergence(r_u, r_v))
            g_u, g_v = f.gradient(q)
            return r_u - g_u, r_v - g_v, q
        rhs = f.divergence(self.c_u * r_u, self.c_v * r_v).ravel()
        rhs[0] = 0.0
        q = self._lu.solve(rhs).reshape(f.shape)
        g_u, g_v = f.gradient(q)
        return self.c_u * (r_u - g_u), self.c_v * (r_v - g_v), q

    def _project_mean(self, r_u: np.ndarray, r_v: np.ndarray) -> tuple:
        """The projection with G chosen so that the mean velocity is U (linear in G)."""
        u, v, q = self._project(r_u, r_v)
        target = np.array(self.flow.mean_flow)
        g = np.linalg.solve(self._g_matrix, np.array([u.mean(), v.mean()]) - target)
        (ux, vx, qx), (uy, vy, qy) = self._resp
        return (u - g[0] * ux - g[1] * uy, v - g[0] * vx - g[1] * vy,
                q - g[0] * qx - g[1] * qy)

    def step(self, psi0: np.ndarray, p_guess: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, int, bool]:
        """One step from ψ⁰: returns (ψ¹, p, Picard iterations, converged)."""
        f = self.flow
        dt = f.dt
        u0, v0 = f.velocity(psi0)
        u1, v1 = u0, v0
        b_u = 0.0 if f.u_b is None or f.kappa_u is None else dt * f.kappa_u * f.u_b
        b_v = 0.0 if f.v_b is None or f.kappa_v is None else dt * f.kappa_v * f.v_b
        converged = False
        k = 0
        while k < self.maxiter:
            k += 1
            um, vm = (u0 + u1) / 2, (v0 + v1) / 2
            a_u, a_v = f.advection(um, vm)
            r_u = u0 + dt * (f.nu * f.laplacian(um) - a_u) + b_u
            r_v = v0 + dt * (f.nu * f.laplacian(vm) - a_v) + b_v
            u_new, v_new, q = self._project_mean(r_u, r_v)
            change = max(np.abs(u_new - u1).max(), np.abs(v_new - v1).max())
            u1, v1 = u_new, v_new
            if not np.isfinite(change):
                break
            if change <= self.tol * max(np.abs(u1).max(), np.abs(v1).max(), 1e-300):
                converged = True
                break
        return f.psi_from_velocity(u1, v1), q / dt, k, converged

    def rollout(self, psi0: np.ndarray, steps: int, progress: bool = False
                ) -> tuple[np.ndarray, dict]:
        """ψ⁰ … ψ^steps (shape (steps + 1, ny, nx)) and a record of the run.

        The record: ``status``, ``picard`` (iterations per step), ``p`` (the last
        pressure), ``seconds``.
        """
        from ..progress import progress as bar

        t0 = time.perf_counter()
        f = self.flow
        out = np.empty((steps + 1, *f.shape))
        out[0] = psi0
        picard, status, p = [], Status.CONVERGED, np.zeros(f.shape)
        for m in bar(range(steps), "mac-cn", disable=not progress):
            out[m + 1], p, k, ok = self.step(out[m])
            picard.append(k)
            if not np.all(np.isfinite(out[m + 1])):
                status = Status.NONFINITE
                out = out[: m + 2]
                break
            if not ok and status is Status.CONVERGED:
                status = Status.MAX_ITER
        return out, {"status": status, "picard": picard, "p": p,
                     "seconds": time.perf_counter() - t0}


def reference_rollout(problem: FlowProblem, progress: bool = False) -> np.ndarray:
    """The problem's reference trajectory: computed by ``mac-cn`` once, then kept.

    The classical solver at its default tolerance (Picard ``tol=1e-11``) rolls
    ``problem.psi0`` out over ``problem.steps`` steps and stores the trajectory as
    ``problem.reference``, which :meth:`FlowProblem.velocity_error` compares
    against (the problem layer never calls a solver itself).

    Parameters
    ----------
    problem : FlowProblem
    progress : bool
        Progress bar over the steps (only when the reference is computed here).

    Returns
    -------
    numpy.ndarray
        ψ⁰ … ψ^steps, shape (steps + 1, ny, nx).

    Examples
    --------
    >>> from unisolve.problems.mac_flow import taylor_green_flow
    >>> p = taylor_green_flow(16, steps=2)
    >>> reference_rollout(p).shape, p.velocity_error(p.reference).tolist()
    ((3, 16, 16), [0.0, 0.0, 0.0])
    """
    if not isinstance(problem, FlowProblem):
        raise TypeError(f"reference_rollout takes a FlowProblem, got {type(problem).__name__}")
    if problem.reference is None or len(problem.reference) < problem.steps + 1:
        problem.reference = MacProjection(problem.flow).rollout(problem.psi0, problem.steps,
                                                                progress)[0]
    return problem.reference_rollout()


@method("mac-cn", kinds=("flow",), default_for=("flow",))
def mac_cn(problem: FlowProblem, *, tol: float = 1e-11, maxiter: int = 100,
           progress: bool = False) -> Result:
    """Crank–Nicolson MAC-grid flow solver: Picard on the midpoint, exact projection.

    Parameters
    ----------
    problem : FlowProblem
    tol : float
        Relative change of the velocity that ends each step's Picard iteration.
    maxiter : int
        Picard iterations per step at most (``Status.MAX_ITER`` if a step needs more).
    progress : bool
        Progress bar over the steps.

    Returns
    -------
    Result
        ``x``: the ψ trajectory (steps + 1, ny, nx); ``iterations``: Picard
        iterations in all; ``info["picard"]`` per step, ``info["p"]`` the last
        pressure, ``info["seconds_per_step"]``, ``info["seconds_per_unit_time"]``
        (wall seconds per unit of simulated time), ``info["stopping_test"]``.
        ``CONVERGED`` means every step's Picard iteration met ``tol``;
        ``residuals`` is empty (the rollout records no residual).

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.problems.mac_flow import taylor_green_flow
    >>> p = taylor_green_flow(32, steps=10)
    >>> r = us.solve(p)
    >>> r.method, r.x.shape, bool(p.velocity_error(r.x).max() == 0)
    ('mac-cn', (11, 32, 32), True)
    """
    if not isinstance(problem, FlowProblem):
        raise TypeError(f"mac-cn solves a FlowProblem (unisolve.problems.mac_flow), got "
                        f"{type(problem).__name__}")
    t0 = time.perf_counter()
    psi, rec = MacProjection(problem.flow, tol, maxiter).rollout(problem.psi0, problem.steps,
                                                                 progress)
    if problem.reference is None and tol <= 1e-11 and rec["status"] is Status.CONVERGED:
        problem.reference = psi
    seconds = time.perf_counter() - t0
    per_step = rec["seconds"] / max(1, len(psi) - 1)
    return Result(x=psi, status=rec["status"], iterations=int(sum(rec["picard"])),
                  residuals=[], time=seconds, method="mac-cn",
                  info={"picard": rec["picard"], "p": rec["p"],
                        "seconds_per_step": per_step,
                        "simulated_time": (len(psi) - 1) * problem.flow.dt,
                        "seconds_per_unit_time": per_step / problem.flow.dt,
                        "stopping_test": "per time step: the Picard iteration's relative "
                        f"velocity change <= tol = {tol:g} (CONVERGED: every step met it); "
                        "no residual is recorded (residuals is empty)"})


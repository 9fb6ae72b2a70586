"""The 2D heat sequence on a PETSc DMDA, distributed over MPI ranks, solved by CG + BanditSOR.

The same Crank–Nicolson steps as :func:`unisolve.problems.heat_sequence`
(same diffusivity path κ, forcing and start), assembled in parallel:

    (I + a_t K) u_{t+1} = (I − a_t K) u_t + dt f(s_t),   a_t = ½ κ(s_t) dt / h²,

K the 5-point matrix (4 on the diagonal, −1 to each neighbour, Dirichlet
walls) on the ``(nx − 1)²`` interior nodes of a DMDA split over the ranks.
Each step is one ``KSPSolve`` — CG, warm-started from ``u_t``, preconditioned
by :class:`~unisolve.interop.petsc.BanditSOR` (PETSc's SSOR on each rank's
block, ω chosen by the learner on rank 0 and broadcast). PETSc options on
the command line (``-ksp_monitor``, ``-ksp_view``, ``-pc_bandit_omega 1.5``,
``-ksp_type``) apply to the KSP.

Run it as ``mpiexec -n 2 python -m unisolve petsc-heat --nx 200 --steps 500``.

DMDA ordering: the DMDA's first axis is our y index j, its second our x
index i, so its natural ordering ``j + m·i`` is the C order of
:func:`~unisolve.problems.heat_sequence`'s vectors, and each rank's local
block, read in C order as ``(i, j)``, is the same layout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from petsc4py import PETSc

from ..problems.heat import bump, diffusivity, heat_forcing
from ..progress import progress as progress_bar
from .petsc import BanditSOR

__all__ = ["HeatRun", "heat_dmda"]


@dataclass
class HeatRun:
    """What :func:`heat_dmda` returns (on every rank).

    Attributes
    ----------
    u : ndarray or None
        Final state in :func:`~unisolve.problems.heat_sequence` order, on rank 0
        (None on the other ranks).
    iterations : ndarray
        CG iterations of every step.
    omegas : ndarray
        ω BanditSOR used at every step (this rank's record).
    seconds : float
        Wall time of the time loop (assembly of each step + solves).
    ranks, unknowns : int
        MPI ranks and ``(nx − 1)²``.
    converged : int
        Steps whose solve converged.
    pc : BanditSOR
        The preconditioner context (its learner on rank 0).
    """

    u: np.ndarray | None
    iterations: np.ndarray
    omegas: np.ndarray
    seconds: float
    ranks: int
    unknowns: int
    converged: int
    pc: Any = field(repr=False, default=None)


def _stencil_matrix(da: PETSc.DMDA) -> PETSc.Mat:
    """K: 4 on the diagonal, −1 to each in-grid neighbour (Dirichlet walls), on the DMDA."""
    K = da.createMat()
    m = da.getSizes()[0]
    (js, je), (is_, ie) = da.getRanges()
    row, col = PETSc.Mat.Stencil(), PETSc.Mat.Stencil()
    for i in range(is_, ie):
        for j in range(js, je):
            row.index = (j, i)
            for dj, di, value in ((0, 0, 4.0), (-1, 0, -1.0), (1, 0, -1.0), (0, -1, -1.0),
                                  (0, 1, -1.0)):
                if 0 <= j + dj < m and 0 <= i + di < m:
                    col.index = (j + dj, i + di)
                    K.setValueStencil(row, col, value)
    K.assemble()
    return K


def heat_dmda(nx: int = 100, steps: int = 200, dt: float = 1e-3, seed: int = 0, *,
              omega: Any = "auto", rtol: float = 1e-8, learner_seed: int = 0,
              comm: PETSc.Comm | None = None, progress: bool = False) -> HeatRun:
    """Run the heat sequence on a DMDA with CG + :class:`BanditSOR`; see the module docstring.

    Parameters
    ----------
    nx : int
        Cells per side (``(nx − 1)²`` unknowns).
    steps, dt, seed
        As for :func:`~unisolve.problems.heat_sequence` (``seed`` draws κ's path).
    omega : str or float
        BanditSOR's learner (``'auto'``) or a fixed weight.
    rtol : float
        CG stops when ``‖r_k‖ ≤ rtol ‖b‖`` (unpreconditioned recursive residual).
    learner_seed : int
        Seed of the learner.
    comm : PETSc.Comm, optional
        Default ``PETSc.COMM_WORLD`` (all ranks of ``mpiexec``).
    progress : bool
        A progress bar on rank 0.

    Returns
    -------
    HeatRun

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> run = heat_dmda(nx=16, steps=10, rtol=1e-12)
    >>> ref = us.problems.heat_sequence(nx=16, steps=10).reference()[-1]
    >>> bool(np.linalg.norm(run.u - ref) <= 1e-9 * np.linalg.norm(ref)), len(run.omegas)
    (True, 10)
    """
    if nx < 3:
        raise ValueError(f"nx must be at least 3 cells per side, got {nx}")
    if steps < 1 or dt <= 0:
        raise ValueError("steps must be >= 1 and dt > 0")
    comm = PETSc.COMM_WORLD if comm is None else comm
    m, h = nx - 1, 1.0 / nx
    da = PETSc.DMDA().create(dim=2, dof=1, sizes=(m, m), stencil_width=1,
                             stencil_type=PETSc.DMDA.StencilType.STAR, comm=comm)
    (js, je), (is_, ie) = da.getRanges()
    X, Y = np.meshgrid((np.arange(is_, ie) + 1) * h, (np.arange(js, je) + 1) * h,
                       indexing="ij")  # this rank's block, C order (i, j)
    K = _stencil_matrix(da)
    A = K.duplicate(copy=True)
    u, b, Ku = da.createGlobalVec(), da.createGlobalVec(), da.createGlobalVec()
    u.setArray(bump(X, Y, (0.5, 0.5), 0.25).ravel())
    times, kappa = diffusivity(steps, dt, seed)

    ksp = PETSc.KSP().create(comm)
    ksp.setType("cg")
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=10_000)
    ksp.setInitialGuessNonzero(True)
    pc = ksp.getPC()
    pc.setType("python")
    bandit = BanditSOR(omega=omega, sweep="ssor", seed=learner_seed)
    pc.setPythonContext(bandit)
    ksp.setFromOptions()  # the command line's -ksp_* / -pc_bandit_* options
    iterations, converged = [], 0
    bar = progress_bar(range(steps), f"petsc-heat on {comm.getSize()} rank(s)",
                       disable=not (progress and comm.getRank() == 0))
    t0 = time.perf_counter()
    for t in bar:
        a = 0.5 * kappa[t] * dt / h**2
        K.copy(A, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        A.scale(a)
        A.shift(1.0)  # A_t = I + a K
        K.mult(u, Ku)
        b.setArray(u.getArray(readonly=True) - a * Ku.getArray(readonly=True)
                   + dt * heat_forcing(X, Y, times[t]).ravel())  # (I − a K) u + dt f
        ksp.setOperators(A)
        ksp.solve(b, u)  # warm start: u_t is the initial guess of u_{t+1}
        iterations.append(ksp.getIterationNumber())
        converged += ksp.getConvergedReason() > 0
        bar.set_postfix(its=iterations[-1], omega=f"{bandit.omega:.3g}", refresh=False)
    seconds = time.perf_counter() - t0

    natural = da.createNaturalVec()
    da.globalToNatural(u, natural)
    scatter, on_zero = PETSc.Scatter.toZero(natural)
    scatter.scatter(natural, on_zero, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
    final = np.array(on_zero.getArray(readonly=True)) if comm.getRank() == 0 else None
    for obj in (scatter, on_zero, natural, ksp, A, K, u, b, Ku, da):
        obj.destroy()
    return HeatRun(u=final, iterations=np.asarray(iterations), omegas=np.asarray(bandit.omegas),
                   seconds=seconds, ranks=comm.getSize(), unknowns=m * m,
                   converged=int(converged), pc=bandit)

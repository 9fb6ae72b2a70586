"""Stationary relaxation methods: weighted Jacobi, Gauss–Seidel, SOR and SSOR.

With ``A = D + L + U`` (diagonal, strictly lower, strictly upper) the methods are

    Jacobi (weighted)   x ← x + ω D⁻¹ (b − A x)                                  (J)
    SOR (Young 1950)    x_i ← x_i + ω (b_i − Σ_j a_ij x_j) / a_ii, i = 0..n−1    (S)
    Gauss–Seidel        (S) with ω = 1
    SSOR (Sheldon 1955) one forward sweep (S) then one backward sweep (i = n−1..0)

where (S) uses the freshest x_j. The ``ordering`` option chooses the order of
the rows: ``"natural"`` (0..n−1, any sparse matrix) or ``"red-black"`` (all
nodes with even ``i + j [+ k]`` first, matrix-free, parallel; needs a
constant-coefficient stencil problem). Kahan (1958) showed SOR can only
converge for ``0 < ω < 2``; Ostrowski–Reich: it does for every SPD matrix. For
consistently ordered matrices Young's optimum is ``ω* = 2 / (1 + √(1 − ρ_J²))``,
``ρ_J`` the Jacobi spectral radius; on the 2D Poisson matrix ``ρ_J = cos(πh)``
so ``ω* = 2 / (1 + sin(πh))``. The default cap ``maxiter=10000`` is the one of
Khodak et al. (ICLR 2024), "Learning to relax: setting solver parameters across
a sequence of linear system instances".

Every method stops on the TRUE residual, recomputed after each sweep:
``‖b − A x‖ ≤ max(rtol ‖b‖, atol)``. A residual that grows past ``1e8`` times its
initial value ends the solve as ``Status.DIVERGED``, a NaN/inf as
``Status.NONFINITE``.

Backends: numpy/scipy input runs the numba kernels of
:mod:`unisolve.solvers.kernels`; a CuPy ``b`` runs on the GPU (red-black SOR
with the CuPy kernel, Jacobi with cupyx sparse products); torch tensors are
solved on the host and returned as tensors on their device.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import backend
from ..norms import safe_norm
from ..options import working_precision
from ..problems.linear import LinearProblem
from ..registry import method
from ..result import IterationMonitor, IterationState, Result, Status
from .kernels.red_black import (
    red_black_sor_solve,
    red_black_sor_sweep_2d,
    red_black_sor_sweep_3d,
)
from .kernels.sor_csr import (
    SOLVE_CONVERGED,
    SOLVE_DIVERGED,
    SOLVE_MAX_ITER,
    SOLVE_NONFINITE,
    inverse_diagonal,
    sor_solve_csr,
    sor_sweep,
    unsigned_indices,
)
from .young import stencil_mismatch

__all__ = ["gauss_seidel", "jacobi", "optimal_omega_poisson", "sor", "ssor"]

#: Iteration cap when ``maxiter`` is not given (Khodak et al. 2024).
DEFAULT_MAXITER = 10000
SWEEPS = ("forward", "backward", "symmetric")
ORDERINGS = ("natural", "red-black")


def optimal_omega_poisson(n: int) -> float:
    """Young's optimal SOR weight for the ``n x n`` 2D Poisson matrix: ``2 / (1 + sin(πh))``.

    ``h = 1 / (n + 1)``; the Jacobi spectral radius is ``cos(πh)``.

    Examples
    --------
    >>> round(optimal_omega_poisson(16), 4)
    1.6895
    """
    return 2.0 / (1.0 + math.sin(math.pi / (n + 1)))


# --------------------------------------------------------------------- checks


def _check_omega(omega: Any, name: str) -> float:
    """``omega`` as a float in (0, 2), else a ValueError that says what to pass."""
    real = isinstance(omega, (int, float, np.integer, np.floating)) and not isinstance(
        omega, (bool, np.bool_)
    )
    if not real or not 0.0 < float(omega) < 2.0:
        hint = (
            " (learner names such as 'auto' apply to sequences: "
            "unisolve.solve(sequence, method='sor', omega='auto'))"
            if isinstance(omega, str)
            else ""
        )
        raise ValueError(
            f"omega must lie in (0, 2) for method {name!r}: relaxation with omega <= 0 "
            f"or >= 2 cannot converge (Kahan 1958); got {omega!r}{hint}"
        )
    return float(omega)


def _check_choice(value: Any, choices: tuple, option: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"{option} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )
    return value


# ------------------------------------------------------------- the system


@dataclass
class _System:
    """A, b, x on one device, plus what the loop needs."""

    A: Any  # scipy csr_array (host) or cupyx csr_matrix (GPU)
    b: Any
    x: Any  # fresh, writable, C-contiguous iterate
    inv_diag: Any  # 1 / a_ii on the same device
    gpu: bool
    to_output: Callable[[Any], Any]  # host/GPU iterate -> the caller's array type


def _system(problem: LinearProblem, x0: Any, name: str) -> _System:
    A, b = problem.A, problem.b
    if isinstance(A, spla.LinearOperator):
        raise TypeError(
            f"method {name!r} needs the matrix entries (it divides by a_ii and sweeps "
            "rows), but A is a LinearOperator: pass A as a scipy.sparse matrix or an "
            "ndarray, or use a Krylov method such as method='cg'"
        )
    if backend.is_cupy(b):
        import cupy
        import cupyx.scipy.sparse as csp

        if backend.is_cupy_sparse(A):
            A = A.tocsr()
        elif backend.is_cupy(A) or sp.issparse(A):
            A = csp.csr_matrix(A)
        else:
            A = csp.csr_matrix(cupy.asarray(np.asarray(A)))
        d = cupy.asnumpy(A.diagonal())
        inv = cupy.asarray(inverse_diagonal(sp.diags_array(d)), dtype=b.dtype)
        x = cupy.ascontiguousarray(problem.initial_guess(x0))
        return _System(A, cupy.ascontiguousarray(b), x, inv, True, lambda x: x)
    to_output: Callable[[Any], Any] = lambda x: x  # noqa: E731
    if backend.is_torch(b) or backend.is_torch(A):
        import torch

        like = b if backend.is_torch(b) else A
        if backend.is_torch(A):
            A = backend.to_numpy(A.to_dense() if A.layout != torch.strided else A)
        b = backend.to_numpy(b)
        x = np.array(backend.to_numpy(problem.initial_guess(x0)), dtype=b.dtype)

        def to_output(x: Any) -> Any:
            return torch.as_tensor(x, dtype=like.dtype, device=like.device)
    else:
        x = np.ascontiguousarray(problem.initial_guess(x0))
    if backend.is_cupy(A) or backend.is_cupy_sparse(A):
        A = A.get()
    A = sp.csr_array(A) if not (sp.issparse(A) and A.format == "csr") else A
    b = np.ascontiguousarray(b)
    return _System(A, b, x, inverse_diagonal(A), False, to_output)


def _array_module(system: _System) -> Any:
    """``cupy`` for a GPU system, else ``numpy`` (for ufuncs with ``out=``)."""
    if system.gpu:
        import cupy

        return cupy
    return np


def _residual(system: _System) -> tuple[Any, Callable[[], float]]:
    """A buffer ``r`` and ``norm()``, which stores ``b − A x`` in ``r`` and returns ``‖r‖``."""
    A, b, x = system.A, system.b, system.x
    xp = _array_module(system)
    r = xp.empty_like(b)

    def norm() -> float:
        xp.subtract(b, A @ x, out=r)
        return safe_norm(r)  # ‖b − A x‖ scaled (nrm2): no over/underflow

    return r, norm


def _iterate(
    system: _System,
    step: Callable[[], None],
    residual_norm: Callable[[], float],
    name: str,
    rtol: float,
    atol: float,
    maxiter: int | None,
    callback: Callable[[IterationState], Any] | None,
    info: dict,
) -> Result:
    """Run ``step()`` until the monitor stops: true residual after every sweep."""
    x = system.x
    bnorm = safe_norm(system.b)
    maxiter = DEFAULT_MAXITER if maxiter is None else maxiter
    monitor = IterationMonitor(bnorm, rtol, atol, maxiter, callback)
    # the callback gets a copy: x itself keeps changing in place
    snapshot = (lambda: x.copy()) if callback is not None else (lambda: x)
    status = monitor.start(snapshot(), residual_norm())
    while status is None:
        step()
        status = monitor.step(snapshot(), residual_norm())
    return monitor.result(system.to_output(x), status, method=name, **info)


# -------------------------------------------------------------------- methods


@method("jacobi", kinds=("linear",), matrix="diag. dominant")
def jacobi(
    problem: LinearProblem,
    *,
    omega: float = 1.0,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = DEFAULT_MAXITER,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
) -> Result:
    """Weighted Jacobi iteration x ← x + ω D⁻¹(b − A x).

    Parameters
    ----------
    problem : LinearProblem
        ``A`` with entries (scipy sparse, ndarray, cupyx sparse); no zero on
        the diagonal.
    omega : float
        Damping weight in (0, 2). For SPD ``A`` the iteration converges iff
        ``ω < 2 / λ_max(D⁻¹A)``; since the eigenvalues of ``D⁻¹A`` average 1,
        ``ω < 2`` is necessary. ``ω = 1`` is plain Jacobi (converges for
        strictly diagonally dominant ``A``); ``ω ≈ 2/3`` is the classical smoother.
    rtol, atol : float
        Stop when ``‖b − A x‖ ≤ max(rtol ‖b‖, atol)`` (true residual).
    maxiter : int
        Iteration cap (default 10000).
    x0 : array, optional
        Initial guess (default ``problem.x0``, else zeros).
    callback : callable, optional
        ``callback(state)`` on x0 and after every iteration (``state.x`` is a
        copy); raising ``StopIteration`` stops with ``Status.STOPPED``.
    seed : int, optional
        Unused (deterministic method).

    Returns
    -------
    Result
        ``info`` has ``omega`` and ``threshold``.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.poisson2d(8)
    >>> r = us.solve(p, method="jacobi", rtol=1e-6)
    >>> r.status.name, r.iterations
    ('CONVERGED', 214)
    >>> A = np.array([[1.0, 2.0], [2.0, 1.0]])       # not diagonally dominant
    >>> us.solve(us.problems.LinearProblem(A, np.ones(2)), method="jacobi").status.name
    'DIVERGED'
    """
    name = "jacobi"
    omega = _check_omega(omega, name)
    problem, precision = working_precision(problem)  # np.longdouble / float16 -> float64
    system = _system(problem, x0, name)
    r, residual_norm = _residual(system)
    scaled_inv_diag = omega * system.inv_diag  # ω D⁻¹
    x = system.x

    xp = _array_module(system)

    def step() -> None:
        # (J)  x ← x + ω D⁻¹ (b − A x); r holds b − A x from the last residual check
        xp.multiply(r, scaled_inv_diag, out=r)
        xp.add(x, r, out=x)

    info = {"omega": omega} if precision is None else {"omega": omega, "precision": precision}
    return _iterate(system, step, residual_norm, name, rtol, atol, maxiter, callback, info)


def _stencil_grids(problem: LinearProblem, system: _System, name: str) -> tuple:
    """``(x, b, d, o)``: x and b as grid views of the stencil, its two coefficients."""
    stencil = problem.stencil
    if stencil is None:
        raise ValueError(
            f"ordering='red-black' in method {name!r} needs a constant-coefficient "
            "stencil problem (problem.stencil), and this problem has none: use "
            "ordering='natural', or a stencil problem such as "
            "unisolve.problems.poisson2d(n) / poisson3d(n) without coeff/obstacle"
        )
    shape = tuple(int(m) for m in stencil.shape)
    x, b = system.x, system.b
    # the sweeps use the stencil, not A: it must be A (entry by entry on the host; on the GPU
    # only its size and diagonal are checked, A is not copied back)
    why = stencil_mismatch(problem.A, stencil, entries=not system.gpu)
    if why is not None:
        raise ValueError(
            f"{why}; ordering='red-black' in method {name!r} sweeps the stencil instead of "
            "A: fix problem.stencil, or use ordering='natural'"
        )
    return x.reshape(shape), b.reshape(shape), float(stencil.diagonal), float(stencil.offdiagonal)


def _sor_step(
    problem: LinearProblem, system: _System, omega: float, sweep: str, ordering: str, name: str
) -> Callable[[], None]:
    """The in-place sweep ``step()`` for the given direction, ordering and device."""
    if ordering == "red-black":
        grid_x, grid_b, d, o = _stencil_grids(problem, system, name)
        if system.gpu:
            from .kernels.red_black_cupy import red_black_sor_sweep_cupy as kernel
        else:
            kernel = red_black_sor_sweep_2d if grid_x.ndim == 2 else red_black_sor_sweep_3d

        def step() -> None:
            # (S) on all red nodes, then all black (order per `sweep`), in place
            kernel(grid_x, grid_b, d, o, omega, sweep)

        return step
    x, b = system.x, system.b
    if system.gpu:
        raise ValueError(
            f"ordering='natural' in method {name!r} is a sequential sweep with no GPU "
            "kernel: use ordering='red-black' (stencil problems such as poisson2d), "
            "method='jacobi', or pass numpy arrays to run on the CPU"
        )
    A, inv_diag = system.A, system.inv_diag

    def step() -> None:
        # (S)  x_i ← x_i + ω (b_i − Σ_j a_ij x_j) / a_ii, rows in the order of `sweep`
        sor_sweep(A, x, b, omega, sweep, inv_diag=inv_diag)

    return step


def _sor(
    problem: LinearProblem,
    name: str,
    omega: Any,
    sweep: Any,
    ordering: Any,
    rtol: float,
    atol: float,
    maxiter: int | None,
    x0: Any,
    callback: Callable[[IterationState], Any] | None,
) -> Result:
    omega = _check_omega(omega, name)
    sweep = _check_choice(sweep, SWEEPS, "sweep")
    if ordering is None:
        ordering = "red-black" if backend.is_cupy(problem.b) else "natural"
    ordering = _check_choice(ordering, ORDERINGS, "ordering")
    problem, precision = working_precision(problem)  # np.longdouble / float16 -> float64
    system = _system(problem, x0, name)
    info = {"omega": omega, "sweep": sweep, "ordering": ordering}
    if precision is not None:
        info["precision"] = precision
    if callback is None and not system.gpu:
        if ordering == "red-black":
            return _sor_red_black_compiled(problem, system, omega, sweep, name, rtol, atol,
                                           maxiter, info)
        return _sor_compiled(system, omega, sweep, name, rtol, atol, maxiter, info)
    step = _sor_step(problem, system, omega, sweep, ordering, name)
    return _iterate(system, step, _residual(system)[1], name, rtol, atol, maxiter, callback,
                    info)


_STATUS = {
    SOLVE_CONVERGED: Status.CONVERGED,
    SOLVE_MAX_ITER: Status.MAX_ITER,
    SOLVE_DIVERGED: Status.DIVERGED,
    SOLVE_NONFINITE: Status.NONFINITE,
}


def _sor_compiled(system: _System, omega: float, sweep: str, name: str, rtol: float,
                  atol: float, maxiter: int | None, info: dict) -> Result:
    """The whole natural-order solve in one numba call (no callback to honour).

    Same sweeps, true residual and stopping rule as the :func:`_iterate` loop;
    it saves the Python work between sweeps, which dominates on small systems
    such as the n = 100 Learning-to-Relax instances.
    """
    A, b, x = system.A, system.b, system.x
    maxiter = DEFAULT_MAXITER if maxiter is None else maxiter
    threshold = max(rtol * safe_norm(b), atol)
    # the residual history grows with the iterations done, never sized by maxiter
    its, code, residuals = sor_solve_csr(
        A.indptr, unsigned_indices(A.indices), A.data, system.inv_diag, x, b, omega,
        sweep != "backward", sweep != "forward", threshold, maxiter, 1e8,
    )
    return Result(x=system.to_output(x), status=_STATUS[code], iterations=int(its),
                  residuals=residuals, method=name,
                  info={**info, "threshold": threshold, "maxiter": maxiter})


def _sor_red_black_compiled(problem: LinearProblem, system: _System, omega: float, sweep: str,
                            name: str, rtol: float, atol: float, maxiter: int | None,
                            info: dict) -> Result:
    """The whole red-black solve in numba chunks (no callback to honour).

    The same sweeps and stopping rule as the :func:`_iterate` loop; the true
    residual is computed matrix-free in the sweep's own pass over the grid (it
    equals ``‖b − A x‖`` to rounding), and the serial or parallel kernel is
    chosen by measured time (:func:`~unisolve.solvers.kernels.red_black.red_black_sor_solve`).
    """
    grid_x, grid_b, d, o = _stencil_grids(problem, system, name)
    maxiter = DEFAULT_MAXITER if maxiter is None else maxiter
    threshold = max(rtol * safe_norm(system.b), atol)
    residuals: list = []  # appended chunk by chunk: never sized by maxiter
    its, code = red_black_sor_solve(grid_x, grid_b, d, o, omega, sweep, threshold, maxiter,
                                    1e8, residuals)
    return Result(x=system.to_output(system.x), status=_STATUS[code], iterations=int(its),
                  residuals=residuals, method=name,
                  info={**info, "threshold": threshold, "maxiter": maxiter})


@method("sor", kinds=("linear",), matrix="SPD or diag. dom.")
def sor(
    problem: LinearProblem,
    *,
    omega: float = 1.0,
    sweep: str = "forward",
    ordering: str | None = None,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = DEFAULT_MAXITER,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
) -> Result:
    """Successive over-relaxation x_i ← x_i + ω(b_i − Σ_j a_ij x_j)/a_ii, row by row.

    Parameters
    ----------
    problem : LinearProblem
        ``A`` with entries (scipy sparse, ndarray; cupyx sparse with a CuPy
        ``b``); no zero on the diagonal.
    omega : float
        Relaxation weight in (0, 2) (Kahan: outside it SOR cannot converge;
        Ostrowski–Reich: inside it SOR converges for SPD ``A``). ``1`` is
        Gauss–Seidel. For 2D Poisson the optimum is ``2 / (1 + sin(πh))``
        (:func:`optimal_omega_poisson`).
    sweep : {'forward', 'backward', 'symmetric'}
        Row order of one iteration: ascending, descending, or both (one SSOR step).
    ordering : {'natural', 'red-black'}, optional
        ``'natural'``: rows 0..n−1 of the CSR matrix (default on the CPU).
        ``'red-black'``: matrix-free, parallel sweep over the colours of a
        constant-coefficient stencil (needs ``problem.stencil``; default and
        only choice for CuPy input).
    rtol, atol : float
        Stop when ``‖b − A x‖ ≤ max(rtol ‖b‖, atol)`` (true residual, recomputed
        after every sweep).
    maxiter : int
        Iteration cap (default 10000).
    x0 : array, optional
        Initial guess (default ``problem.x0``, else zeros).
    callback : callable, optional
        ``callback(state)`` on x0 and after every iteration (``state.x`` is a
        copy); raising ``StopIteration`` stops with ``Status.STOPPED``.
    seed : int, optional
        Unused (deterministic method).

    Returns
    -------
    Result
        ``info`` has ``omega``, ``sweep``, ``ordering`` and ``threshold``.

    Raises
    ------
    ValueError
        ``omega`` outside (0, 2) or not a real number; unknown ``sweep`` /
        ``ordering``; red-black without a stencil; a zero on the diagonal.
    TypeError
        ``A`` is a LinearOperator (no entries to sweep).

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.poisson2d(16)
    >>> gs = us.solve(p, method="sor", omega=1.0, rtol=1e-8)
    >>> fast = us.solve(p, method="sor", omega=1.69, rtol=1e-8)
    >>> rb = us.solve(p, method="sor", omega=1.69, ordering="red-black", rtol=1e-8)
    >>> gs.converged, fast.converged, rb.converged, fast.iterations < gs.iterations / 5
    (True, True, True, True)
    >>> us.solve(p, method="sor", omega=2.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: omega must lie in (0, 2) for method 'sor': ... got 2.0
    """
    return _sor(problem, "sor", omega, sweep, ordering, rtol, atol, maxiter, x0, callback)


@method("gauss-seidel", kinds=("linear",), matrix="SPD or diag. dom.")
def gauss_seidel(
    problem: LinearProblem,
    *,
    sweep: str = "forward",
    ordering: str | None = None,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = DEFAULT_MAXITER,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
) -> Result:
    """Gauss–Seidel iteration: SOR with ω = 1, x_i ← (b_i − Σ_{j≠i} a_ij x_j)/a_ii.

    Same options as :func:`sor` without ``omega``; ``sweep='symmetric'`` is
    symmetric Gauss–Seidel.

    Examples
    --------
    >>> import unisolve as us
    >>> r = us.solve(us.problems.poisson2d(8), method="gauss-seidel", rtol=1e-8)
    >>> r.status.name, r.info["omega"]
    ('CONVERGED', 1.0)
    """
    return _sor(problem, "gauss-seidel", 1.0, sweep, ordering, rtol, atol, maxiter, x0,
                callback)


@method("ssor", kinds=("linear",), matrix="SPD or diag. dom.")
def ssor(
    problem: LinearProblem,
    *,
    omega: float = 1.0,
    ordering: str | None = None,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = DEFAULT_MAXITER,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
) -> Result:
    """Symmetric SOR: a forward then a backward SOR sweep per iteration.

    The stationary method ``sor(..., sweep='symmetric')``; one iteration costs
    two sweeps. Options as for :func:`sor` (``omega`` in (0, 2)).

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.poisson2d(16)
    >>> r = us.solve(p, method="ssor", omega=1.5, rtol=1e-8)
    >>> r.status.name, r.info["sweep"]
    ('CONVERGED', 'symmetric')
    """
    return _sor(problem, "ssor", omega, "symmetric", ordering, rtol, atol, maxiter, x0,
                callback)

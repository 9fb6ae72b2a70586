"""Conjugate gradients, plain and preconditioned: methods "cg", "pcg", "ssor-pcg".

Hestenes & Stiefel, "Methods of conjugate gradients for solving linear
systems", J. Res. Nat. Bur. Standards 49 (1952). For SPD A and SPD M (M = I
for plain CG), with ``z = M⁻¹ r``:

    r_0 = b − A x_0,   z_0 = M⁻¹ r_0,   p_0 = z_0
    α_k = r_kᵀ z_k / p_kᵀ A p_k                                        (1)
    x_{k+1} = x_k + α_k p_k                                            (2)
    r_{k+1} = r_k − α_k A p_k          (the recursive residual)         (3)
    β_k = r_{k+1}ᵀ z_{k+1} / r_kᵀ z_k                                  (4)
    p_{k+1} = z_{k+1} + β_k p_k                                        (5)

Stopping rule (the project's): ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` with the
TRUE residual. The recursive r of (3) drifts from ``b − A x`` in floating
point, so when ``‖r_k‖`` meets the threshold, ``b − A x_k`` is recomputed;
if it meets the threshold too the solve has CONVERGED, else r is replaced by
the true residual and the direction restarted, ``p = M⁻¹ r`` (residual
replacement, as in van der Vorst & Ye, SIAM J. Sci. Comput. 22, 2000).
``residual="true"`` recomputes ``b − A x_k`` at every iterate (one more
matvec per iteration) and records that; the iterates are the same.

``pᵀAp ≤ 0`` (A not SPD) or ``rᵀz ≤ 0`` for r ≠ 0 (M not SPD) ends the solve
with ``Status.BREAKDOWN`` at the last good iterate.

The vector work runs on the input's own library: fused one-thread numba
kernels for numpy (:mod:`unisolve.solvers.kernels.cg_fused`: ``A p`` with
``pᵀAp`` in one pass, the x and r updates with ``rᵀr`` in another, no
temporaries), plain array arithmetic for CuPy and torch. A may be a scipy
sparse matrix, a dense array, a scipy ``LinearOperator``, a cupyx sparse
matrix or a CuPy array.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import backend
from ..norms import safe_norm
from ..options import working_precision
from ..registry import method
from ..result import IterationMonitor, IterationState, Result, Status
from .kernels import cg_fused
from .kernels import ssor_pcg as ssor_pcg_kernels
from .kernels.sor_csr import unsigned_indices
from .preconditioners import check_ssor_omega, make_preconditioner
from .structure import require_symmetric

if TYPE_CHECKING:
    from ..problems.linear import LinearProblem

__all__ = ["cg", "pcg", "ssor_pcg"]

_RESIDUAL_MODES = ("recursive", "true")
#: Named preconditioners whose M is not symmetric (for gmres / bicgstab, not CG).
_NONSYMMETRIC_PRECONDITIONERS = ("sor", "ilu0", "ilut")


class _HostVectorOps:
    """numpy float vectors: fused one-thread numba kernels, preallocated A p buffer."""

    def __init__(self, A: Any, x: np.ndarray) -> None:
        self.matvec = _matvec(A)
        self._csr = A if sp.issparse(A) and A.format == "csr" else None
        self._q = np.empty_like(x) if self._csr is not None else None

    def matvec_dot(self, p: np.ndarray) -> tuple[np.ndarray, float]:
        if self._csr is not None:
            return self._q, cg_fused.csr_matvec_dot(self._csr, p, self._q)  # q = A p, pᵀq
        q = self.matvec(p)
        return q, self.dot(p, q)

    @staticmethod
    def dot(u: np.ndarray, v: np.ndarray) -> float:
        return float(cg_fused.dot(u, v))

    @staticmethod
    def update(alpha: float, p: np.ndarray, q: np.ndarray, x: np.ndarray,
               r: np.ndarray) -> float:
        return float(cg_fused.cg_update_dot(alpha, p, q, x, r))  # x += αp, r −= αq; rᵀr

    @staticmethod
    def xpby(z: np.ndarray, beta: float, p: np.ndarray) -> None:
        cg_fused.xpby(z, beta, p)  # p ← z + β p

    @staticmethod
    def copy(x: np.ndarray) -> np.ndarray:
        return np.array(x, copy=True, order="C")


class _ArrayVectorOps:
    """Any array-API library (CuPy, torch, unusual numpy dtypes): plain arithmetic."""

    def __init__(self, A: Any, x: Any) -> None:
        self.matvec = _matvec(A)
        self.xp = backend.namespace(x)

    def matvec_dot(self, p: Any) -> tuple[Any, float]:
        q = self.matvec(p)  # q = A p
        return q, self.dot(p, q)

    def dot(self, u: Any, v: Any) -> float:
        return float(self.xp.vecdot(u, v))

    def update(self, alpha: float, p: Any, q: Any, x: Any, r: Any) -> float:
        x += alpha * p  # x ← x + α p
        r -= alpha * q  # r ← r − α A p
        return self.dot(r, r)

    @staticmethod
    def xpby(z: Any, beta: float, p: Any) -> None:
        p *= beta
        p += z  # p ← z + β p

    def copy(self, x: Any) -> Any:
        return self.xp.asarray(x, copy=True)


def _vector_ops(A: Any, x: Any):
    if backend.library_of(x) == "numpy" and x.dtype in (np.float32, np.float64):
        return _HostVectorOps(A, x)
    return _ArrayVectorOps(A, x)


def _matvec(A: Any) -> Callable[[Any], Any]:
    if isinstance(A, spla.LinearOperator):
        return A.matvec
    return A.__matmul__  # scipy / cupyx sparse, numpy / cupy / torch dense


def _working_problem(problem: LinearProblem, info: dict) -> tuple[LinearProblem, dict]:
    """The problem in float32/float64 (np.longdouble → float64, said in ``info['precision']``)."""
    problem, precision = working_precision(problem)
    return problem, info if precision is None else {**info, "precision": precision}


def _check_residual_mode(residual: Any) -> None:
    if residual not in _RESIDUAL_MODES:
        raise ValueError(
            f"residual must be 'recursive' (record sqrt(rᵀr), verify with b − A x at the "
            f"end) or 'true' (record ‖b − A x‖ every iteration), got {residual!r}"
        )


def _residual_kind(residual: str, preconditioned: bool) -> str:
    if residual == "true":
        return "true: residuals[k] = ‖b − A x_k‖, recomputed at every iterate"
    which = (
        "the unpreconditioned recursive residual sqrt(r_kᵀ r_k), not rᵀM⁻¹r"
        if preconditioned
        else "the recursive residual sqrt(r_kᵀ r_k)"
    )
    return (
        f"recursive: residuals[k] is {which} (equal to ‖b − A x_k‖ in exact arithmetic), "
        "except at the indices in info['true_residual_indices'] (x0, every iterate where "
        "the recursive norm met the threshold, and the last entry), where it is the true "
        "‖b − A x_k‖"
    )


def _deflated(precond: Callable[[Any], Any], null: np.ndarray) -> Callable[[Any], Any]:
    """z = M⁻¹r with the known null space of a consistent singular A projected out.

    For A = Aᵀ ⪰ 0 whose null space is spanned by the unit vector n, and a
    consistent b (nᵀb = 0), PCG needs z ∈ range(A); a preconditioner (AMG,
    IC) may add a large n-component, after which pᵀAp ≈ 0 ends the solve in a
    false breakdown. ``problem.meta["null_space"]`` supplies n.
    """
    def apply(r: Any) -> Any:
        z = precond(r)
        return z - (null @ z) * null  # z ← (I − n nᵀ) z

    return apply


def _conjugate_gradients(
    problem: LinearProblem,
    precond: Callable[[Any], Any] | None,
    *,
    rtol: float,
    atol: float,
    maxiter: int | None,
    x0: Any,
    callback: Callable[[IterationState], Any] | None,
    residual: str,
    name: str,
    info: dict,
) -> Result:
    """CG (precond None) or PCG on ``problem``: equations (1)-(5) of the module docstring."""
    _check_residual_mode(residual)
    A, b = problem.A, problem.b
    null = (getattr(problem, "meta", None) or {}).get("null_space")
    if precond is not None and null is not None and backend.library_of(b) == "numpy":
        precond = _deflated(precond, np.asarray(null))
    x = problem.initial_guess(x0)
    b, x, _ = backend.working_vectors(A, b, x)
    ops = _vector_ops(A, x)
    dot, matvec = ops.dot, ops.matvec
    maxiter = 10 * problem.n if maxiter is None else maxiter
    monitor = IterationMonitor(safe_norm(b), rtol, atol, maxiter, callback)  # scaled ‖b‖
    threshold = monitor.threshold
    every_iterate = residual == "true"

    zero_start = x0 is None and problem.x0 is None
    r = ops.copy(b) if zero_start else b - matvec(x)  # r_0 = b − A x_0
    true_at = [0]
    replacements = 0
    status = monitor.start(x, safe_norm(r))
    if status is None:
        z = r if precond is None else precond(r)  # z_0 = M⁻¹ r_0
        rho = dot(r, z)  # r_kᵀ z_k
        p = ops.copy(z)  # p_0 = z_0
        while True:
            if precond is not None and not rho > 0:
                status = Status.NONFINITE if math.isnan(rho) else Status.BREAKDOWN
                info["breakdown"] = f"rᵀM⁻¹r = {rho:.6g} <= 0: the preconditioner is not SPD"
                break
            q, pq = ops.matvec_dot(p)  # q = A p_k,  p_kᵀ A p_k
            if not pq > 0:
                status = Status.NONFINITE if math.isnan(pq) else Status.BREAKDOWN
                info["breakdown"] = f"pᵀAp = {pq:.6g} <= 0: A is not symmetric positive definite"
                info["pAp"] = pq
                break
            alpha = rho / pq  # (1) α = rᵀz / pᵀAp
            rr = ops.update(alpha, p, q, x, r)  # (2) x ← x + α p, (3) r ← r − α A p; rᵀr
            rnorm = math.sqrt(rr)
            if precond is None:
                z, rho_next = r, rr
            else:
                z = precond(r)  # z = M⁻¹ r
                rho_next = dot(r, z)
            restart = False
            if every_iterate or rnorm <= threshold:
                r_true = b - matvec(x)  # the true residual b − A x_{k+1}
                true_norm = safe_norm(r_true)  # ‖b − A x‖ without over/underflow (nrm2)
                true_at.append(monitor.iterations + 1)
                if rnorm <= threshold < true_norm:  # residual replacement + restart
                    r = r_true
                    z = r if precond is None else precond(r)
                    rho_next = dot(r, z)
                    restart = True
                    replacements += 1
                rnorm = true_norm
            status = monitor.step(x, rnorm)
            if status is not None:
                break
            if restart:
                p = ops.copy(z)  # p = M⁻¹ r
            else:
                ops.xpby(z, rho_next / rho, p)  # (4)-(5) p ← z + β p,  β = r₊ᵀz₊ / rᵀz
            rho = rho_next

    last = len(monitor.residuals) - 1
    if true_at[-1] != last:  # make residuals[-1] the true residual at the returned x
        r_true = b - matvec(x)
        monitor.replace_last(safe_norm(r_true))
        true_at.append(last)
    info["residual_kind"] = _residual_kind(residual, precond is not None)
    info["true_residual_indices"] = true_at
    info["replacements"] = replacements
    return monitor.result(x, status, method=name, **info)


@method("cg", kinds=("linear",), matrix="SPD", default_for=("linear",))
def cg(
    problem: LinearProblem,
    *,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
    residual: str = "recursive",
    assume_symmetric: bool = False,
) -> Result:
    """Conjugate gradients (Hestenes–Stiefel) for SPD systems.

    Stops when ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` for the true residual.

    Parameters
    ----------
    problem : LinearProblem
        SPD ``A`` (scipy sparse, dense, LinearOperator, cupyx sparse) and ``b``.
    rtol, atol : float
        Tolerances of the stopping rule above.
    maxiter : int, optional
        Iteration cap; default ``10 * n`` (as scipy).
    x0 : array, optional
        Initial guess (default ``problem.x0``, else zeros).
    callback : callable, optional
        ``callback(state)`` at x0 and after every iteration; ``state.x`` is the
        solver's working array (copy it to keep it). ``StopIteration`` stops.
    seed : int, optional
        Unused (CG is deterministic); accepted like in every method.
    residual : {'recursive', 'true'}
        'recursive' records the cheap ``sqrt(rᵀr)`` and recomputes ``b − A x``
        only when it meets the threshold (residual replacement if the true
        one does not); 'true' recomputes ``b − A x`` every iteration.
    assume_symmetric : bool
        Skip the exact O(nnz) check that A = Aᵀ (done once per problem; a
        nonsymmetric A raises ``ValueError`` naming ``gmres`` / ``bicgstab``).

    Returns
    -------
    Result
        ``residuals[-1]`` is always the true ``‖b − A x‖`` at the returned x;
        ``info['residual_kind']`` says exactly what the other entries are.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.poisson2d(32)
    >>> r = us.solve(p, method="cg", rtol=1e-10)
    >>> r.status.name, r.iterations
    ('CONVERGED', 111)
    >>> bool(r.residuals[-1] == np.linalg.norm(p.b - p.A @ r.x) <= r.info["threshold"])
    True
    """
    problem, info = _working_problem(problem, {"preconditioner": None})
    require_symmetric(problem, "cg", assume_symmetric)
    return _conjugate_gradients(
        problem, None, rtol=rtol, atol=atol, maxiter=maxiter, x0=x0, callback=callback,
        residual=residual, name="cg", info=info,
    )


@method("pcg", kinds=("linear",), matrix="SPD")
def pcg(
    problem: LinearProblem,
    *,
    preconditioner: Any = "jacobi",
    omega: float = 1.0,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
    residual: str = "recursive",
    assume_symmetric: bool = False,
) -> Result:
    """Preconditioned conjugate gradients: jacobi, ssor, ic0, amg or your own M⁻¹.

    Stops when ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` for the true, unpreconditioned
    residual; ``residuals`` holds ``sqrt(rᵀr)`` of the unpreconditioned r,
    never ``rᵀM⁻¹r`` (see ``info['residual_kind']``).

    Parameters
    ----------
    problem : LinearProblem
        SPD system.
    preconditioner : {'jacobi', 'ssor', 'ic0', 'amg'}, callable or LinearOperator
        ``M⁻¹``: a name (see :mod:`unisolve.solvers.preconditioners`), a callable
        ``r -> M⁻¹ r`` or a LinearOperator applying ``M⁻¹``. M must be SPD; the
        nonsymmetric 'sor', 'ilu0' and 'ilut' raise ``ValueError`` (they are for
        ``gmres`` / ``bicgstab``).
    omega : float
        SSOR relaxation weight in (0, 2) (only for 'ssor').
    rtol, atol, maxiter, x0, callback, seed, residual, assume_symmetric
        As for :func:`cg`.

    Returns
    -------
    Result
        ``info['preconditioner']`` names M; ``residuals[-1]`` is the true
        ``‖b − A x‖`` at the returned x.

    Raises
    ------
    ValueError
        Unknown preconditioner name (the message lists them), omega outside
        (0, 2), IC(0) breakdown.
    TypeError
        A preconditioner that is neither a name, a callable nor a LinearOperator.

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.poisson2d(32)
    >>> [us.solve(p, method="pcg", preconditioner=m).iterations for m in ("jacobi", "ic0")]
    [97, 35]
    """
    _check_residual_mode(residual)  # before a possibly costly set-up (ic0, amg)
    problem, info = _working_problem(problem, {})
    require_symmetric(problem, "pcg", assume_symmetric)
    if isinstance(preconditioner, str) and preconditioner in _NONSYMMETRIC_PRECONDITIONERS:
        raise ValueError(
            f"preconditioner {preconditioner!r} is not symmetric, and CG needs an SPD M: use "
            "'ssor' (the symmetric sweep), 'ic0' or 'amg' with pcg, or method='gmres' / "
            f"'bicgstab' with {preconditioner!r}"
        )
    M = make_preconditioner(preconditioner, problem.A, omega=omega)
    info = {"preconditioner": M.name, **info}
    if M.name == "ssor":
        info["omega"] = M.omega
    return _conjugate_gradients(
        problem, M, rtol=rtol, atol=atol, maxiter=maxiter, x0=x0, callback=callback,
        residual=residual, name="pcg", info=info,
    )


#: Residual buffer of one :func:`ssor_pcg_kernels.eisenstat_solve` call; a longer solve
#: resumes where the call paused.
_FUSED_CHUNK = 4096
#: Largest iteration cap a compiled kernel takes (``maxiter`` may be any Python int).
_INT64_MAX = 2**63 - 1

_FUSED_STATUS = {
    ssor_pcg_kernels.SOLVE_CONVERGED: Status.CONVERGED,
    ssor_pcg_kernels.SOLVE_MAX_ITER: Status.MAX_ITER,
    ssor_pcg_kernels.SOLVE_DIVERGED: Status.DIVERGED,
    ssor_pcg_kernels.SOLVE_NONFINITE: Status.NONFINITE,
}


def _fused_ssor_applies(problem: LinearProblem) -> bool:
    """Whether the fused Eisenstat kernels can run ``problem`` (else the PCG + sweeps path).

    They need float64 numpy vectors, a scipy sparse A (LinearProblem stores it as
    CSR) and no null space to deflate (singular pressure systems deflate z = M⁻¹r,
    which the split form never forms).
    """
    A, b = problem.A, problem.b
    return (
        backend.library_of(b) == "numpy" and b.dtype == np.float64
        and sp.issparse(A) and A.format == "csr" and A.dtype == np.float64
        and (getattr(problem, "meta", None) or {}).get("null_space") is None
    )


def _ssor_operator(problem: LinearProblem, omega: float) -> tuple:
    """``(use_grid, split, grid, kernel name)``: matrix-free when A is ``problem.stencil``.

    The stencil is used only after :func:`ssor_pcg_kernels.stencil_matches_csr`
    has checked A against it entry by entry (one pass over A); otherwise the
    strict triangles are copied into their own CSR arrays.
    """
    A, st = problem.A, problem.stencil
    if (st is not None and float(st.diagonal) != 0.0
            and ssor_pcg_kernels.stencil_matches_csr(A, tuple(st.shape), st.diagonal,
                                                     st.offdiagonal)):
        grid = ssor_pcg_kernels.grid_operator(tuple(st.shape), st.diagonal, st.offdiagonal,
                                              omega)
        return True, ssor_pcg_kernels.no_split(), grid, "eisenstat-stencil"
    split = ssor_pcg_kernels.split_csr(A, omega)
    return False, split, ssor_pcg_kernels.no_grid(), "eisenstat-csr"


def _fused_ssor_pcg(
    problem: LinearProblem,
    omega: float,
    *,
    rtol: float,
    atol: float,
    maxiter: int | None,
    x0: Any,
    callback: Callable[[IterationState], Any] | None,
    residual: str,
) -> Result:
    """SSOR-PCG by Eisenstat's trick (:mod:`.kernels.ssor_pcg`): same iterates as PCG + sweeps.

    The bookkeeping is that of :func:`_conjugate_gradients` (recursive ‖r‖, the
    true residual when it meets the threshold, residual replacement with a
    restart, breakdown checks). Without a callback and with
    ``residual="recursive"`` the whole solve runs in compiled code; otherwise
    a Python loop calls the same compiled iteration, so the iterates agree.
    """
    kern = ssor_pcg_kernels
    t_setup = time.perf_counter()
    A = problem.A
    b = np.ascontiguousarray(problem.b)
    x = problem.initial_guess(x0)
    n = problem.n
    use_grid, split, grid, kernel = _ssor_operator(problem, omega)
    matrix = (A.indptr, unsigned_indices(A.indices), A.data)
    info: dict = {"preconditioner": "ssor", "omega": omega, "kernel": kernel,
                  "setup_time": time.perf_counter() - t_setup}
    maxiter = 10 * n if maxiter is None else maxiter
    monitor = IterationMonitor(safe_norm(b), rtol, atol, maxiter, callback)
    threshold = monitor.threshold
    scale = 2.0 - omega  # M_SSOR = M_E / (2 − ω): report rᵀM⁻¹r and pᵀAp as PCG would

    rhat, t = np.empty(n), np.empty(n)
    phat = np.zeros(n)
    if x0 is None and problem.x0 is None:
        r = b.copy()  # r_0 = b − A 0
        rnorm = safe_norm(r)
    else:
        r = np.empty(n)
        kern.true_residual(use_grid, matrix, grid, x, b, r)  # r = b − A x_0
        rnorm = safe_norm(r)
    true_at = [0]
    replacements = 0
    rho = beta = tat = 0.0
    code = None
    status = monitor.start(x, rnorm)
    if status is None:
        _, rho = kern.lower_solve(use_grid, split, grid, r, rhat)  # r̂_0 = E⁻¹ r_0, ρ_0
        if callback is None and residual == "recursive":
            limit = monitor.divtol * max(rnorm, threshold)
            out = np.zeros(6)
            while True:
                k0 = monitor.iterations
                cap = min(_FUSED_CHUNK, maxiter - k0)
                residuals, flags = np.empty(cap), np.zeros(cap, dtype=np.uint8)
                # the kernel's cap is an int64: a larger maxiter is never reached anyway
                k = kern.eisenstat_solve(use_grid, split, matrix, grid, omega, b, x, r, rhat,
                                         phat, t, rho, beta, threshold, limit, k0,
                                         min(maxiter, _INT64_MAX), residuals, flags, out)
                monitor.residuals.extend(residuals[: k - k0].tolist())
                true_at.extend((k0 + 1 + np.flatnonzero(flags[: k - k0])).tolist())
                monitor.iterations = k
                rho, beta, replacements = float(out[2]), float(out[3]), replacements + int(out[4])
                code, tat = int(out[1]), float(out[5])
                if code != kern.SOLVE_PAUSED:
                    break
            if code in _FUSED_STATUS:
                status = _FUSED_STATUS[code]
            else:  # ρ or tᵀAt not positive: NaN is NONFINITE, as in _conjugate_gradients
                value = rho if code == kern.SOLVE_BREAKDOWN_RHO else tat
                status = Status.NONFINITE if math.isnan(value) else Status.BREAKDOWN
        else:
            every_iterate = residual == "true"
            while True:
                if not rho > 0:
                    status = Status.NONFINITE if math.isnan(rho) else Status.BREAKDOWN
                    code = kern.SOLVE_BREAKDOWN_RHO
                    break
                tat, _, rr, rho_next = kern.eisenstat_iteration(
                    use_grid, split, grid, omega, rho, beta, x, r, rhat, phat, t)
                if not tat > 0:
                    status = Status.NONFINITE if math.isnan(tat) else Status.BREAKDOWN
                    code = kern.SOLVE_BREAKDOWN_PAP
                    break
                rnorm = math.sqrt(rr)
                restart = False
                if every_iterate or rnorm <= threshold:
                    kern.true_residual(use_grid, matrix, grid, x, b, t)  # t = b − A x
                    true_norm = safe_norm(t)
                    true_at.append(monitor.iterations + 1)
                    if rnorm <= threshold < true_norm:  # residual replacement + restart
                        r[:] = t
                        _, rho_next = kern.lower_solve(use_grid, split, grid, r, rhat)
                        restart = True
                        replacements += 1
                    rnorm = true_norm
                status = monitor.step(x, rnorm)
                if status is not None:
                    break
                beta = 0.0 if restart else rho_next / rho  # β = ρ₊ / ρ
                rho = rho_next
    if code == kern.SOLVE_BREAKDOWN_RHO:
        info["breakdown"] = (f"rᵀM⁻¹r = {scale * rho:.6g} <= 0: the preconditioner is not "
                             "SPD")
    elif code == kern.SOLVE_BREAKDOWN_PAP:
        pq = scale * scale * tat  # p = (2 − ω) t
        info["breakdown"] = f"pᵀAp = {pq:.6g} <= 0: A is not symmetric positive definite"
        info["pAp"] = pq

    last = len(monitor.residuals) - 1
    if true_at[-1] != last:  # make residuals[-1] the true residual at the returned x
        kern.true_residual(use_grid, matrix, grid, x, b, t)  # t = b − A x
        monitor.replace_last(safe_norm(t))
        true_at.append(last)
    info["residual_kind"] = _residual_kind(residual, True)
    info["true_residual_indices"] = true_at
    info["replacements"] = replacements
    return monitor.result(x, status, method="ssor-pcg", **info)


@method("ssor-pcg", kinds=("linear",), matrix="SPD")
def ssor_pcg(
    problem: LinearProblem,
    *,
    omega: float = 1.0,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
    residual: str = "recursive",
    assume_symmetric: bool = False,
) -> Result:
    """SSOR-preconditioned CG: the iterates of "pcg" with preconditioner="ssor", fused.

    ``M = (D + ωL) D⁻¹ (D + ωU) / (ω(2 − ω))``. On the CPU with a scipy sparse
    A and float64 vectors each iteration is Eisenstat's split form
    (:mod:`unisolve.solvers.kernels.ssor_pcg`): one backward and one forward
    half sweep, about one matvec's worth of memory traffic, instead of a
    matvec plus two SOR sweeps; matrix-free when A is the problem's 5-/7-point
    ``stencil`` (checked entry by entry). ``info['kernel']`` says which ran:
    ``'eisenstat-stencil'``, ``'eisenstat-csr'`` or ``'sweeps'`` (PCG with the
    SSOR sweeps, for GPU arrays, LinearOperators, float32 and systems with a
    null space to deflate). All give the same iterates up to rounding. A must
    be symmetric, as for any CG (checked unless ``assume_symmetric=True``).
    Options as for :func:`pcg`.

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.poisson2d(32)
    >>> r = us.solve(p, method="ssor-pcg", omega=1.6)
    >>> r.converged, r.info["preconditioner"], r.info["omega"], r.info["kernel"]
    (True, 'ssor', 1.6, 'eisenstat-stencil')
    >>> sweeps = us.solve(p, method="pcg", preconditioner="ssor", omega=1.6)
    >>> r.iterations == sweeps.iterations
    True
    """
    _check_residual_mode(residual)
    problem, info = _working_problem(problem, {"preconditioner": "ssor"})
    require_symmetric(problem, "ssor-pcg", assume_symmetric)
    omega = check_ssor_omega(omega)
    if _fused_ssor_applies(problem):
        result = _fused_ssor_pcg(problem, omega, rtol=rtol, atol=atol, maxiter=maxiter,
                                 x0=x0, callback=callback, residual=residual)
        result.info.update(info)  # the precision note, if the input was converted
        return result
    M = make_preconditioner("ssor", problem.A, omega=omega)
    return _conjugate_gradients(
        problem, M, rtol=rtol, atol=atol, maxiter=maxiter, x0=x0, callback=callback,
        residual=residual, name="ssor-pcg",
        info={**info, "omega": M.omega, "kernel": "sweeps"},
    )

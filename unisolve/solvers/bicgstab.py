"""BiCGSTAB with right preconditioning: method "bicgstab".

van der Vorst, "Bi-CGSTAB: a fast and smoothly converging variant of Bi-CG
for the solution of nonsymmetric linear systems", SIAM J. Sci. Stat. Comput.
13 (1992). With a right preconditioner M (M = I without one) the method works
on ``A M⁻¹ u = b`` and keeps ``x = x_0 + M⁻¹ u``, so its residual r is the
TRUE, unpreconditioned ``b − A x`` (in exact arithmetic)::

    r_0 = b − A x_0,   r̂_0 = r_0 (shadow residual),   p_0 = r_0
    for k = 0, 1, …:
        ρ_k = r̂_0ᵀ r_k                                                     (1)
        β_k = (ρ_k / ρ_{k−1}) (α_{k−1} / ω_{k−1})                          (2)
        p_k = r_k + β_k (p_{k−1} − ω_{k−1} v_{k−1})       (k ≥ 1)          (3)
        p̂ = M⁻¹ p_k,   v_k = A p̂,   α_k = ρ_k / r̂_0ᵀ v_k                   (4)
        s = r_k − α_k v_k          (the residual of x_k + α_k p̂)           (5)
        ŝ = M⁻¹ s,   t = A ŝ,   ω_k = tᵀs / tᵀt                            (6)
        x_{k+1} = x_k + α_k p̂ + ω_k ŝ                                      (7)
        r_{k+1} = s − ω_k t                                                (8)

One iteration is one pass through (1)-(8): two products with A and two
applications of M⁻¹, as in scipy's ``bicgstab`` (whose iteration count is the
number of its callback calls). When the half step (5) already meets the
stopping rule, ``x_k + α_k p̂`` is returned and that half step counts as the
last iteration (``info['half_step'] = True``).

Stopping rule (the project's): ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` with the
TRUE residual. The recursive ``‖s‖`` of (5) and ``‖r_{k+1}‖`` of (8) drift
from the true residual in floating point; when either meets the threshold,
``b − A x`` is recomputed for that iterate (for the half step without forming
it: ``b − A (x_k + α_k p̂)``). If the true residual meets the threshold the
solve has CONVERGED; if not, after a full step, r is replaced by the true
residual and the iteration continues from it (residual replacement, van der
Vorst & Ye, SIAM J. Sci. Comput. 22, 2000), counted in
``info['replacements']``; ``residuals`` then records the true norm.
``info['true_residual_indices']`` lists where ``residuals`` holds the true
residual (x0, every check, and the last entry always).

Honest endings (``info['reason']`` says which):

* ``ρ_k = r̂_0ᵀ r_k = 0``, ``r̂_0ᵀ v_k = 0`` or ``ω_k = 0`` is a breakdown of
  the method, not of the system: ``Status.BREAKDOWN``, x the last iterate (for
  ``ω = 0`` the half step ``x_k + α_k p̂`` is taken first). GMRES does not
  break down this way. Only exact zeros count: these quantities legitimately
  fall far below ``ε ‖r̂_0‖ ‖r_k‖`` in long, converging runs (measured cosines
  of 1e-13 on convection–diffusion 512² that converge afterwards), so a
  relative test would stop good solves; a near-breakdown shows up as
  stagnation, overflow (NONFINITE) or maxiter instead.
* Stagnation: when the recursive residual keeps meeting the threshold but the
  true residual has not halved over :data:`STALL_CHECKS` replacements in a row,
  x is as accurate as floating point allows for this system
  (``‖b − A x‖ ≈ ε‖A‖‖x‖``): ``Status.BREAKDOWN`` with ``'stagnation: …'``.
* A NaN or inf in a coefficient: ``Status.NONFINITE``, x the last finite iterate.

Iteration counts agree with scipy's on short runs (same recurrences, same
shadow residual); on long ones (hundreds of iterations) BiCGSTAB's path is
chaotic under rounding: scipy's own count on convection–diffusion 128² moves
between 239 and 281 when b is perturbed by 1e-15 relative (and changes with
the BLAS thread count), so counts of different implementations differ by a
few percent there, in either direction.

The vector work runs on the input's own library: one-thread numba kernels
(:mod:`unisolve.solvers.kernels.bicgstab`) for float64 numpy vectors: a
compiled CSR product (indices narrowed to 32 bits) followed by one cached,
vectorised pass for its dot products, the vector updates fused with their
norms and the next ρ, no allocation per iteration (M⁻¹ writes into buffers
when it takes ``out=``, as ILU(0) does); plain array-API arithmetic
(:func:`unisolve.backend.namespace`) for CuPy, torch and float32 vectors and
any A with a product (dense, LinearOperator, cupyx sparse).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import backend
from ..norms import safe_norm
from ..registry import method
from ..result import IterationMonitor, IterationState, Result, Status
from .kernels import bicgstab as kern
from .kernels import cg_fused
from .preconditioners import make_preconditioner

if TYPE_CHECKING:
    from ..problems.linear import LinearProblem

__all__ = ["STALL_CHECKS", "accepts_out", "bicgstab"]

#: Failed true-residual checks in a row, without the true residual halving, that
#: count as stagnation.
STALL_CHECKS = 3


def _matvec(A: Any) -> Callable[[Any], Any]:
    if isinstance(A, spla.LinearOperator):
        return A.matvec
    return A.__matmul__  # scipy / cupyx sparse, numpy / cupy / torch dense


def accepts_out(func: Any) -> bool:
    """Whether ``func(r, out=z)`` is allowed (e.g. ILU(0)): then M⁻¹ writes into a buffer.

    Examples
    --------
    >>> accepts_out(lambda r, out=None: r), accepts_out(lambda r: r)
    (True, False)
    """
    try:
        return "out" in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


class _HostOps:
    """float64 numpy vectors: fused numba kernels, every buffer allocated once.

    A scipy CSR A is applied by the fused kernels; any other A (dense,
    LinearOperator) by its own product into a preallocated buffer.
    """

    def __init__(self, A: Any, b: np.ndarray, precond: Any) -> None:
        self.b = b
        self.precond_fn = precond
        self.precond_out = precond is not None and accepts_out(precond)
        if sp.issparse(A) and A.format == "csr" and A.dtype == np.float64:
            self.csr: tuple | None = kern.compact_csr(A)
            self.kernel = "numba"
        else:
            self.csr = None
            self.matvec = _matvec(A)
            self.kernel = "numba-vectors"

    def _product(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.matvec(x), dtype=np.float64).reshape(-1)

    def zeros(self) -> np.ndarray:
        return np.zeros_like(self.b)

    def copy(self, x: np.ndarray) -> np.ndarray:
        return np.array(x, copy=True, order="C")

    @staticmethod
    def dot(u: np.ndarray, v: np.ndarray) -> float:
        return float(cg_fused.dot(u, v))

    def residual(self, x: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, float]:
        """``out = b − A x``, ``‖out‖²``."""
        if self.csr is not None:
            return out, float(kern.csr_residual(*self.csr, x, self.b, out))
        np.subtract(self.b, self._product(x), out=out)
        return out, self.dot(out, out)

    def shifted_residual(self, x: np.ndarray, alpha: float, p: np.ndarray,
                         out: np.ndarray) -> tuple[np.ndarray, float]:
        """``out = b − A (x + α p)``, ``‖out‖²`` (x unchanged)."""
        if self.csr is not None:
            return out, float(kern.csr_residual_shifted(*self.csr, x, alpha, p, self.b, out))
        np.subtract(self.b, self._product(x + alpha * p), out=out)
        return out, self.dot(out, out)

    def product(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``out = A x``."""
        if self.csr is not None:
            kern.csr_matvec(*self.csr, x, out)
        else:
            out[:] = self._product(x)
        return out

    @staticmethod
    def dot2(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[float, float]:
        ab, ac = kern.dot2(a, b, c)  # aᵀb, aᵀc in one pass
        return float(ab), float(ac)

    def precond(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``M⁻¹ v`` (v itself without M), into ``out`` when M takes ``out=``."""
        if self.precond_fn is None:
            return v
        z = self.precond_fn(v, out=out) if self.precond_out else self.precond_fn(v)
        if not (isinstance(z, np.ndarray) and z.dtype == np.float64 and z.ndim == 1
                and z.flags.c_contiguous):
            z = np.ascontiguousarray(backend.to_numpy(z), dtype=np.float64).reshape(-1)
        return z

    @staticmethod
    def direction(r: np.ndarray, beta: float, omega: float, v: np.ndarray,
                  p: np.ndarray) -> np.ndarray:
        kern.direction_update(r, beta, omega, v, p)  # (3) p ← r + β (p − ω v)
        return p

    @staticmethod
    def half(alpha: float, v: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, float]:
        return r, float(kern.half_step(alpha, v, r))  # (5) s = r − α v, in r's array

    @staticmethod
    def full(alpha: float, phat: np.ndarray, omega: float, shat: np.ndarray, x: np.ndarray,
             s: np.ndarray, t: np.ndarray, rhat: np.ndarray) -> tuple[float, float]:
        rr, hr = kern.full_step(alpha, phat, omega, shat, x, s, t, rhat)  # (7), (8) in s
        return float(rr), float(hr)

    @staticmethod
    def axpy(alpha: float, p: np.ndarray, x: np.ndarray) -> None:
        x += alpha * p


class _ArrayOps:
    """Any array-API library (CuPy, torch, float32 numpy): plain ``xp`` arithmetic."""

    kernel = "array-api"

    def __init__(self, A: Any, b: Any, precond: Any) -> None:
        self.b = b
        self.xp = backend.namespace(b)
        self.matvec = _matvec(A)
        self.precond_fn = precond

    def zeros(self) -> Any:
        return self.b * 0

    def copy(self, x: Any) -> Any:
        return self.xp.asarray(x, copy=True)

    def dot(self, u: Any, v: Any) -> float:
        return float(self.xp.vecdot(u, v))

    def residual(self, x: Any, out: Any) -> tuple[Any, float]:
        r = self.b - self.matvec(x)  # b − A x
        return r, self.dot(r, r)

    def shifted_residual(self, x: Any, alpha: float, p: Any, out: Any) -> tuple[Any, float]:
        r = self.b - self.matvec(x + alpha * p)  # b − A (x + α p)
        return r, self.dot(r, r)

    def product(self, x: Any, out: Any) -> Any:
        return self.matvec(x)

    def dot2(self, a: Any, b: Any, c: Any) -> tuple[float, float]:
        return self.dot(a, b), self.dot(a, c)

    def precond(self, v: Any, out: Any) -> Any:
        return v if self.precond_fn is None else self.precond_fn(v)

    @staticmethod
    def direction(r: Any, beta: float, omega: float, v: Any, p: Any) -> Any:
        return r + beta * (p - omega * v)  # (3)

    def half(self, alpha: float, v: Any, r: Any) -> tuple[Any, float]:
        s = r - alpha * v  # (5)
        return s, self.dot(s, s)

    def full(self, alpha: float, phat: Any, omega: float, shat: Any, x: Any, s: Any, t: Any,
             rhat: Any) -> tuple[float, float]:
        x += alpha * phat + omega * shat  # (7)
        s -= omega * t  # (8) r = s − ω t, in s's array
        return self.dot(s, s), self.dot(rhat, s)

    @staticmethod
    def axpy(alpha: float, p: Any, x: Any) -> None:
        x += alpha * p


def _residual_kind() -> str:
    return (
        "recursive: residuals[k] is the unpreconditioned recursive residual ‖r_k‖ of "
        "BiCGSTAB's r = s − ω t (equal to ‖b − A x_k‖ in exact arithmetic: right "
        "preconditioning), except at the indices in info['true_residual_indices'] (x0, every "
        "iterate where the recursive ‖r‖ or the half step's ‖s‖ met the threshold, and the "
        "last entry), where it is the true ‖b − A x_k‖ recomputed"
    )


def _breakdown_reason(which: str, k: int) -> str:
    what = {
        "rho": ("ρ = r̂₀ᵀr", "the residual became orthogonal to the shadow residual r̂₀"),
        "sigma": ("r̂₀ᵀv = r̂₀ᵀA M⁻¹p", "A M⁻¹ p is orthogonal to the shadow residual r̂₀ "
                  "(e.g. a skew-symmetric A, for which r̂₀ᵀA r̂₀ = 0)"),
        "omega": ("ω = tᵀs / tᵀt", "t = A M⁻¹ s is orthogonal to s (A's symmetric part is "
                  "indefinite, or A M⁻¹ is singular); x is the half step x + α p̂"),
    }[which]
    return (
        f"breakdown: {what[0]} = 0 at iteration {k}: {what[1]}, so BiCGSTAB cannot "
        "continue; use method='gmres', which does not break down this way, or try another x0"
    )


def _run(
    problem: LinearProblem,
    precond: Any,
    *,
    rtol: float,
    atol: float,
    maxiter: int | None,
    x0: Any,
    callback: Callable[[IterationState], Any] | None,
    info: dict,
) -> Result:
    """Equations (1)-(8) of the module docstring with the true-residual stopping rule."""
    A, b = problem.A, problem.b
    x = problem.initial_guess(x0)
    b, x, host = backend.working_vectors(A, b, x)  # b contiguous on the host
    if host:
        ops: Any = _HostOps(A, b, precond)
    else:
        ops = _ArrayOps(A, b, precond)
    info["kernel"] = ops.kernel
    maxiter = 10 * problem.n if maxiter is None else maxiter
    monitor = IterationMonitor(safe_norm(b), rtol, atol, maxiter, callback)  # scaled ‖b‖
    threshold = monitor.threshold

    r = ops.zeros()
    if x0 is None and problem.x0 is None:
        r = ops.copy(b)  # r_0 = b − A 0
        rr = ops.dot(r, r)
    else:
        r, rr = ops.residual(x, r)  # r_0 = b − A x_0
    rt = ops.zeros()  # the true residual, when recomputed
    rhat = ops.copy(r)  # r̂_0 = r_0
    status = monitor.start(x, safe_norm(r))  # ‖r_0‖ without over/underflow
    true_at = [0]
    replacements = stalls = 0
    best_failed = math.inf
    half_step = False
    p, v, t = ops.zeros(), ops.zeros(), ops.zeros()
    phat_buf = shat_buf = None
    if getattr(ops, "precond_out", False):
        phat_buf, shat_buf = ops.zeros(), ops.zeros()
    rho, rho_prev, alpha, omega = rr, 1.0, 1.0, 1.0  # (1) ρ_0 = r̂_0ᵀ r_0 = ‖r_0‖²
    first = True
    while status is None:
        k = monitor.iterations + 1  # the iteration in progress
        if not math.isfinite(rho):
            status, info["reason"] = Status.NONFINITE, f"ρ = r̂₀ᵀr = {rho} at iteration {k}"
            break
        if rho == 0.0:
            status = Status.BREAKDOWN
            info["reason"] = _breakdown_reason("rho", k)
            break
        beta = 0.0 if first else (rho / rho_prev) * (alpha / omega)  # (2)
        p = ops.direction(r, beta, omega, v, p)  # (3) p = r + β (p − ω v)
        phat = ops.precond(p, phat_buf)  # p̂ = M⁻¹ p
        v = ops.product(phat, v)  # (4) v = A p̂
        sigma = ops.dot(rhat, v)  # r̂₀ᵀv
        if not math.isfinite(sigma):
            status, info["reason"] = Status.NONFINITE, (
                f"a NaN or inf appeared in A M⁻¹ p at iteration {k} (check the preconditioner "
                "and the scaling of A); x is the last finite iterate")
            break
        if sigma == 0.0:
            status = Status.BREAKDOWN
            info["reason"] = _breakdown_reason("sigma", k)
            break
        alpha = rho / sigma  # (4) α = ρ / r̂₀ᵀv
        s, ss = ops.half(alpha, v, r)  # (5) s = r − α v (host: in r's array)
        if math.sqrt(ss) <= threshold:  # the half step may be the answer: check it
            rt, tt_true = ops.shifted_residual(x, alpha, phat, rt)  # b − A (x + α p̂)
            true_norm = safe_norm(rt)  # scaled, as BLAS nrm2
            if true_norm <= threshold:
                ops.axpy(alpha, phat, x)  # x ← x + α p̂
                half_step = True
                true_at.append(k)
                status = monitor.step(x, true_norm)
                break
        shat = ops.precond(s, shat_buf)  # ŝ = M⁻¹ s
        t = ops.product(shat, t)  # (6) t = A ŝ
        ts, tt = ops.dot2(t, s, t)  # tᵀs, tᵀt
        if not (math.isfinite(ts) and math.isfinite(tt)):
            status, info["reason"] = Status.NONFINITE, (
                f"a NaN or inf appeared in A M⁻¹ s at iteration {k} (check the preconditioner "
                "and the scaling of A); x is the last finite iterate")
            break
        omega = ts / tt if tt > 0 else 0.0  # (6) ω = tᵀs / tᵀt
        omega_vanished = omega == 0.0
        rr, rho_next = ops.full(alpha, phat, omega, shat, x, s, t, rhat)  # (7), (8); r̂₀ᵀr
        r = s
        rnorm = math.sqrt(rr)
        if rnorm <= threshold:  # (8)'s recursive residual met the threshold: check it
            rt, tt_true = ops.residual(x, rt)  # the true residual b − A x_{k+1}
            true_norm = safe_norm(rt)  # scaled, as BLAS nrm2
            true_at.append(k)
            if true_norm > threshold:  # residual replacement: continue from b − A x
                r, rt = rt, r
                rr, rho_next = tt_true, ops.dot(rhat, r)
                replacements += 1
                if true_norm < 0.5 * best_failed:
                    best_failed, stalls = true_norm, 0
                else:
                    stalls += 1
            rnorm = true_norm
        status = monitor.step(x, rnorm)
        if status is None and omega_vanished:
            status = Status.BREAKDOWN
            info["reason"] = _breakdown_reason("omega", k)
        elif status is None and stalls >= STALL_CHECKS:
            status = Status.BREAKDOWN
            info["reason"] = (
                f"stagnation: the recursive residual met the threshold {threshold:.3g} "
                f"{replacements} times, but the true ‖b − A x‖ stayed near {best_failed:.3g} "
                f"({STALL_CHECKS} replacements in a row without halving it): x is as accurate "
                "as floating point allows for this system (about ε‖A‖‖x‖); raise rtol or "
                "atol, or rescale the system"
            )
        rho_prev, rho = rho, rho_next
        first = False

    last = len(monitor.residuals) - 1
    if true_at[-1] != last:  # make residuals[-1] the true residual at the returned x
        rt, tt_true = ops.residual(x, rt)
        monitor.replace_last(safe_norm(rt))
        true_at.append(last)
    info["residual_kind"] = _residual_kind()
    info["true_residual_indices"] = true_at
    info["replacements"] = replacements
    info["half_step"] = half_step
    return monitor.result(x, status, method="bicgstab", **info)


@method("bicgstab", kinds=("linear",), matrix="any nonsingular")
def bicgstab(
    problem: LinearProblem,
    *,
    preconditioner: Any = None,
    omega: float = 1.0,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
) -> Result:
    """BiCGSTAB (van der Vorst 1992) with right preconditioning, for nonsymmetric systems.

    Works on ``A M⁻¹ u = b`` with ``x = x_0 + M⁻¹ u`` (equations (1)-(8) of
    :mod:`unisolve.solvers.bicgstab`), so its residual is the true,
    unpreconditioned ``b − A x``. Stops when ``‖b − A x‖ ≤ max(rtol‖b‖, atol)``
    for the recomputed true residual. Two products with A per iteration, short
    recurrences (a fixed amount of memory, unlike GMRES), but an irregular
    residual history and possible breakdowns (reported, never hidden).

    Parameters
    ----------
    problem : LinearProblem
        Square, nonsingular ``A`` (scipy sparse, dense, LinearOperator, CuPy /
        cupyx, torch) and ``b``; A need not be symmetric.
    preconditioner : None, str, callable or LinearOperator
        Right preconditioner ``M⁻¹``: anything
        :func:`~unisolve.solvers.preconditioners.make_preconditioner` accepts
        (names such as 'jacobi', 'ssor', 'amg', 'ilu0', 'ilut', 'sor'; a
        callable ``r -> M⁻¹ r``; a LinearOperator). M must be linear and fixed.
        None (default): no preconditioner.
    omega : float
        Relaxation weight of 'ssor' / 'sor' (not BiCGSTAB's ω_k).
    rtol, atol : float
        Tolerances of the stopping rule above.
    maxiter : int, optional
        Iteration cap; default ``10 * n`` (as scipy). One iteration is one
        full step (two products with A), as in scipy.
    x0 : array, optional
        Initial guess (default ``problem.x0``, else zeros).
    callback : callable, optional
        ``callback(state)`` at x0 and after every iteration; ``state.x`` is the
        solver's working array (copy it to keep it). ``StopIteration`` stops
        (``Status.STOPPED``).
    seed : int, optional
        Unused (the shadow residual is r_0, as in scipy and PETSc); accepted
        like in every method.

    Returns
    -------
    Result
        ``residuals[-1]`` is the true ``‖b − A x‖`` at the returned x;
        ``info['residual_kind']`` says exactly what the other entries are.
        ``info`` also has ``preconditioner`` (name or None), ``omega`` (for
        ssor / sor), ``replacements``, ``true_residual_indices``, ``half_step``
        (whether x is a half step ``x_k + α_k p̂``), ``kernel`` ('numba': fused
        CSR kernels; 'numba-vectors': A's own product; 'array-api') and, when
        the solve ended in a breakdown, stagnation or a NaN, ``reason``.

    Raises
    ------
    ValueError
        An unknown preconditioner name or omega outside its range.
    TypeError
        A preconditioner that is neither a name, a callable nor a LinearOperator.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.convection_diffusion_system(24, peclet=50.0)
    >>> r = us.solve(p, method="bicgstab", rtol=1e-10)
    >>> r.status.name, len(r.residuals) == r.iterations + 1
    ('CONVERGED', True)
    >>> true = np.linalg.norm(p.b - p.A @ r.x)     # residuals[-1] is the true residual
    >>> bool(np.isclose(r.residuals[-1], true, rtol=1e-12) and true <= r.info["threshold"])
    True
    >>> fast = us.solve(p, method="bicgstab", preconditioner="ssor", omega=1.2, rtol=1e-10)
    >>> fast.converged, fast.iterations < r.iterations, fast.info["omega"]
    (True, True, 1.2)
    """
    info: dict = {}
    M = None
    if preconditioner is not None:
        M = make_preconditioner(preconditioner, problem.A, omega=omega)
        info["preconditioner"] = M.name
        if M.name in ("ssor", "sor"):
            info["omega"] = getattr(M, "omega", omega)
    else:
        info["preconditioner"] = None
    return _run(problem, M, rtol=rtol, atol=atol, maxiter=maxiter, x0=x0, callback=callback,
                info=info)

"""MINRES for symmetric (indefinite) systems: method "minres".

Paige & Saunders, "Solution of sparse indefinite systems of linear equations",
SIAM J. Numer. Anal. 12 (1975). For symmetric A and a symmetric positive
definite preconditioner M (M = I without one) MINRES minimises
``‖b − A x_k‖_{M⁻¹}`` over ``x_0 + K_k(M⁻¹A, M⁻¹r_0)`` by the preconditioned
Lanczos process and a QR factorisation of its tridiagonal matrix, updated by
one Givens rotation per step. With ``z_k`` the Lanczos vectors
(``z_jᵀ M⁻¹ z_k = δ_jk``), ``r₁, r₂`` holding ``β_{k−1} z_{k−1}, β_k z_k`` and
``y = M⁻¹ r₂``::

    r_0 = b − A x_0,   y = M⁻¹ r_0,   β_1 = √(r_0ᵀ y),   φ̄_0 = β_1          (0)
    for k = 1, 2, …:
        v = y / β_k                                                          (1)
        α_k = vᵀ(A v − (β_k/β_{k−1}) r₁)                                     (2)
        r₁, r₂ ← r₂, A v − (β_k/β_{k−1}) r₁ − (α_k/β_k) r₂                    (3)
        y = M⁻¹ r₂,   β_{k+1} = √(r₂ᵀ y)                                     (4)
        δ_k = c δ̄_k + s α_k,   γ̄_k = s δ̄_k − c α_k                          (5)
        ε_{k+1} = s β_{k+1},   δ̄_{k+1} = −c β_{k+1}                          (6)
        γ_k = ‖(γ̄_k, β_{k+1})‖,  c = γ̄_k/γ_k,  s = β_{k+1}/γ_k   (rotation) (7)
        φ_k = c φ̄_{k−1},   φ̄_k = s φ̄_{k−1}                                 (8)
        w_k = (v − ε_k w_{k−2} − δ_k w_{k−1}) / γ_k                          (9)
        x_k = x_{k−1} + φ_k w_k                                              (10)

(c = −1, s = 0, δ̄_1 = ε_1 = 0 at the start.) In exact arithmetic
``φ̄_k = ‖b − A x_k‖_{M⁻¹}``: without a preconditioner that IS the residual
norm. With one it is not, and ``‖r‖_{M⁻¹}`` can be far from ``‖r‖`` (by up
to ``√cond(M)``), so the unpreconditioned residual is carried along by its
own recursion (from ``r_k = φ̄_k Q_kᵀ e_{k+1}`` in the Lanczos basis):

    r_k = s_k² r_{k−1} − (φ̄_k c_k / β_{k+1}) r₂                              (11)

one extra vector, updated in the pass that does (9)-(10). ``residuals`` records
``φ̄_k`` (no preconditioner) or ``‖r_k‖`` of (11): the unpreconditioned norm,
never the M⁻¹-norm.

Stopping rule (the project's): ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` with the
TRUE residual. When the recursive norm meets the threshold, ``b − A x_k`` is
recomputed; if it meets the threshold too the solve has CONVERGED, else MINRES
restarts from x_k with that residual (a replacement, ``info['replacements']``;
the Lanczos vectors drift from the true residual in floating point).
``info['true_residual_indices']`` lists where ``residuals`` holds the true
residual (x0, every check, and the last entry always).

Honest endings (``info['reason']`` says which):

* A singular and b outside its range (an inconsistent system): no x meets the
  rule. MINRES then converges to a least-squares solution, recognised as in
  Paige & Saunders by ``‖A r_{k−1}‖ ≤ tol · ‖A‖ ‖r_{k−1}‖``, where
  ``‖A r_{k−1}‖ = φ̄_{k−1} ‖(γ̄_k, δ̄_{k+1})‖``, ‖A‖ is estimated by
  ``max_k ‖(β_k, α_k, β_{k+1})‖`` (a lower bound, as in MINRES-QLP, Choi,
  Paige & Saunders 2011; P&S's growing ‖T_k‖_F would fire early on merely
  ill-conditioned systems) and ``tol = √ε ≈ 1.5e-8`` (M⁻¹-inner products
  when preconditioned). Unlike P&S's ``tol = rtol`` this cannot fire on a
  consistent system whose residual is merely dominated by small eigenvalues
  (smooth modes of a Laplacian have ``|λ| ≈ 1e-3 ‖A‖``) unless
  ``cond(A) ≳ 1/√ε``. The true residual is then recomputed: if it meets
  the rule the solve has CONVERGED, else ``Status.BREAKDOWN`` with
  ``info['least_squares'] = True`` and x that least-squares solution (not
  the minimum-norm one). In floating point plain MINRES cannot refine such an
  x much further: its recursive norm drifts below the least-squares residual
  while x grows along the null space (why MINRES-QLP exists), so stopping
  here is also the accurate choice.
* ``γ_k = 0`` (T_k singular on an invariant Krylov space): ``BREAKDOWN``.
* ``rᵀM⁻¹r < 0``: M is not positive definite: ``BREAKDOWN``.
* Stagnation: the recursive norm keeps meeting the threshold but the true
  residual has not halved over :data:`STALL_CHECKS` restarts in a row:
  ``BREAKDOWN`` with ``'stagnation: …'``.
* A NaN or inf: ``NONFINITE``.

A must be symmetric: a matrix that is detectably not (exact O(nnz) check,
:func:`unisolve.solvers.structure.require_symmetric`) raises a ValueError
naming ``gmres`` / ``bicgstab``; ``assume_symmetric=True`` skips the check.

The vector work runs on the input's own library: fused one-thread numba
kernels (:mod:`unisolve.solvers.kernels.minres`: the product, one pass for
the two dot products of α_k, one for (3) with ‖r₂‖², one for (9)-(11)) for
float64 numpy vectors with a scipy CSR A; the same kernels with A's own
product for other float64 host matrices; plain array-API arithmetic for CuPy,
torch and float32.
"""

from __future__ import annotations

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
from .bicgstab import accepts_out
from .kernels import bicgstab as bicgstab_kern
from .kernels import cg_fused
from .kernels import minres as kern
from .preconditioners import make_preconditioner
from .structure import require_symmetric

if TYPE_CHECKING:
    from ..problems.linear import LinearProblem

__all__ = ["STALL_CHECKS", "minres"]

#: Failed true-residual checks in a row, without the true residual halving, that
#: count as stagnation.
STALL_CHECKS = 3

#: Preconditioner names that never give a symmetric positive definite M.
_NOT_SPD = ("sor", "ilu0", "ilut")


def _matvec(A: Any) -> Callable[[Any], Any]:
    if isinstance(A, spla.LinearOperator):
        return A.matvec
    return A.__matmul__


class _HostOps:
    """float64 numpy vectors: fused numba kernels, every buffer allocated once."""

    def __init__(self, A: Any, b: np.ndarray, precond: Any) -> None:
        self.b = b
        self.precond_fn = precond
        self.precond_out = precond is not None and accepts_out(precond)
        if sp.issparse(A) and A.format == "csr" and A.dtype == np.float64:
            self.csr: tuple | None = bicgstab_kern.compact_csr(A)
            self.kernel = "numba"
        else:
            self.csr = None
            self.matvec = _matvec(A)
            self.kernel = "numba-vectors"

    def _product(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.matvec(x), dtype=np.float64).reshape(-1)

    def zeros(self) -> np.ndarray:
        return np.zeros_like(self.b)

    @staticmethod
    def copy_into(src: np.ndarray, out: np.ndarray) -> np.ndarray:
        out[:] = src
        return out

    @staticmethod
    def dot(u: np.ndarray, v: np.ndarray) -> float:
        return float(cg_fused.dot(u, v))

    def residual(self, x: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, float]:
        """``out = b − A x``, ``‖out‖²``."""
        if self.csr is not None:
            return out, float(bicgstab_kern.csr_residual(*self.csr, x, self.b, out))
        np.subtract(self.b, self._product(x), out=out)
        return out, self.dot(out, out)

    def precond(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``M⁻¹ v`` (v itself without M), into ``out`` when M takes ``out=``."""
        if self.precond_fn is None:
            return v
        z = self.precond_fn(v, out=out) if self.precond_out else self.precond_fn(v)
        if not (isinstance(z, np.ndarray) and z.dtype == np.float64 and z.ndim == 1
                and z.flags.c_contiguous):
            z = np.ascontiguousarray(backend.to_numpy(z), dtype=np.float64).reshape(-1)
        return z

    def lanczos_product(self, y: np.ndarray, r1: np.ndarray,
                        q: np.ndarray) -> tuple[np.ndarray, float, float]:
        """``q = A y``; ``yᵀq``, ``yᵀr₁``."""
        if self.csr is not None:
            bicgstab_kern.csr_matvec(*self.csr, y, q)
        else:
            q[:] = self._product(y)
        yq, yr = bicgstab_kern.dot2(y, q, r1)
        return q, float(yq), float(yr)

    @staticmethod
    def lanczos_update(q: np.ndarray, scale: float, c1: float, r1: np.ndarray, c2: float,
                       r2: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, float]:
        return out, float(kern.lanczos_update(q, scale, c1, r1, c2, r2, out))  # (3)

    @staticmethod
    def solution_update(y: np.ndarray, scale: float, eps: float, delta: float, ginv: float,
                        w2: np.ndarray, w1: np.ndarray, phi: float, x: np.ndarray) -> np.ndarray:
        kern.solution_update(y, scale, eps, delta, ginv, w2, w1, phi, x)  # (9)-(10) in w2
        return w2

    @staticmethod
    def solution_residual_update(y: np.ndarray, scale: float, eps: float, delta: float,
                                 ginv: float, w2: np.ndarray, w1: np.ndarray, phi: float,
                                 x: np.ndarray, sq: float, coef: float, r2: np.ndarray,
                                 r: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        rr = kern.solution_residual_update(y, scale, eps, delta, ginv, w2, w1, phi, x, sq,
                                           coef, r2, r)  # (9)-(11)
        return w2, r, float(rr)


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

    def copy_into(self, src: Any, out: Any) -> Any:
        return self.xp.asarray(src, copy=True)

    def dot(self, u: Any, v: Any) -> float:
        return float(self.xp.vecdot(u, v))

    def residual(self, x: Any, out: Any) -> tuple[Any, float]:
        r = self.b - self.matvec(x)
        return r, self.dot(r, r)

    def precond(self, v: Any, out: Any) -> Any:
        return v if self.precond_fn is None else self.precond_fn(v)

    def lanczos_product(self, y: Any, r1: Any, q: Any) -> tuple[Any, float, float]:
        q = self.matvec(y)  # q = A y
        return q, self.dot(y, q), self.dot(y, r1)

    def lanczos_update(self, q: Any, scale: float, c1: float, r1: Any, c2: float, r2: Any,
                       out: Any) -> tuple[Any, float]:
        out = scale * q - c1 * r1 - c2 * r2  # (3)
        return out, self.dot(out, out)

    @staticmethod
    def solution_update(y: Any, scale: float, eps: float, delta: float, ginv: float, w2: Any,
                        w1: Any, phi: float, x: Any) -> Any:
        w = (scale * y - eps * w2 - delta * w1) * ginv  # (9)
        x += phi * w  # (10)
        return w

    def solution_residual_update(self, y: Any, scale: float, eps: float, delta: float,
                                 ginv: float, w2: Any, w1: Any, phi: float, x: Any, sq: float,
                                 coef: float, r2: Any, r: Any) -> tuple[Any, Any, float]:
        w = self.solution_update(y, scale, eps, delta, ginv, w2, w1, phi, x)
        r = sq * r - coef * r2  # (11)
        return w, r, self.dot(r, r)


def _residual_kind(preconditioned: bool) -> str:
    which = (
        "‖r_k‖ of the recursion r_k = s_k² r_{k−1} − (φ̄_k c_k/β_{k+1}) r₂ for the "
        "unpreconditioned residual (not MINRES's own φ̄_k = ‖r_k‖_{M⁻¹})"
        if preconditioned
        else "MINRES's recursive residual norm φ̄_k"
    )
    return (
        f"recursive: residuals[k] is {which} (equal to ‖b − A x_k‖ in exact arithmetic), "
        "except at the indices in info['true_residual_indices'] (x0, every iterate where "
        "the recursive norm met the threshold, and the last entry), where it is the true "
        "‖b − A x_k‖ recomputed"
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
    """Equations (0)-(11) of the module docstring with the true-residual stopping rule."""
    A, b = problem.A, problem.b
    x = problem.initial_guess(x0)
    b, x, host = backend.working_vectors(A, b, x)  # b contiguous on the host
    if host:
        ops: Any = _HostOps(A, b, precond)
        eps = float(np.finfo(np.float64).eps)
    else:
        ops = _ArrayOps(A, b, precond)
        eps = float(np.finfo(backend.to_numpy(b[:1]).dtype).eps)
    info["kernel"] = ops.kernel
    preconditioned = precond is not None
    maxiter = 10 * problem.n if maxiter is None else maxiter
    monitor = IterationMonitor(safe_norm(b), rtol, atol, maxiter, callback)  # scaled ‖b‖
    threshold = monitor.threshold

    rt = ops.zeros()  # the true residual
    if x0 is None and problem.x0 is None:
        rt = ops.copy_into(b, rt)  # r_0 = b − A 0
        rr = ops.dot(rt, rt)
    else:
        rt, rr = ops.residual(x, rt)  # r_0 = b − A x_0
    status = monitor.start(x, safe_norm(rt))  # ‖r_0‖ without over/underflow
    r1, r2, q, w1, w2 = ops.zeros(), ops.zeros(), ops.zeros(), ops.zeros(), ops.zeros()
    res = ops.zeros() if preconditioned else None  # (11)'s unpreconditioned residual
    ybufs = [None, None]  # M⁻¹ r₂ of this and the previous step, when M writes into them
    if getattr(ops, "precond_out", False):
        ybufs = [ops.zeros(), ops.zeros()]
    true_at = [0]
    replacements = stalls = runs = 0
    best_failed = math.inf
    anorm = 0.0  # max_k ‖T_k e_k‖, a lower bound of ‖A‖ (in the M⁻¹ metric)
    lsq_tol = math.sqrt(eps)  # numerical rank: ‖A r‖ below this relative size is zero
    fresh = True
    while status is None:
        if fresh:  # (0): start (or restart) the Lanczos process from r = b − A x in rt
            runs += 1
            r2 = ops.copy_into(rt, r2)  # r₂ = β_1 z_1 = r_0
            y = ops.precond(r2, ybufs[0])
            beta1_sq = rr if precond is None else ops.dot(r2, y)  # β_1² = r_0ᵀ M⁻¹ r_0
            if not beta1_sq > 0:
                status, info["reason"] = _bad_beta(beta1_sq, monitor.iterations + 1)
                break
            if res is not None:
                res = ops.copy_into(rt, res)
            beta = math.sqrt(beta1_sq)
            oldb, dbar, epsln, phibar, cs, sn = 0.0, 0.0, 0.0, beta, -1.0, 0.0
            w1, w2 = ops.zeros(), ops.zeros()  # w_{k−1}, w_{k−2}
            first, fresh = True, False
        k = monitor.iterations + 1  # the iteration in progress
        scale = 1.0 / beta  # (1) v = y / β_k
        q, yq, yr1 = ops.lanczos_product(y, r1, q)  # q = A y = β_k A v, yᵀq, yᵀr₁
        c1 = 0.0 if first else beta / oldb
        alfa = scale * (scale * yq - c1 * yr1)  # (2) α_k = vᵀ(A v − (β_k/β_{k−1}) r₁)
        out, yy = ops.lanczos_update(q, scale, c1, r1, alfa / beta, r2, r1)  # (3), in r₁
        y_old = y
        r1, r2 = r2, out
        ybufs = ybufs[::-1]  # y_old stays intact
        y = ops.precond(r2, ybufs[0])  # (4) y = M⁻¹ r₂
        beta_sq = yy if precond is None else ops.dot(r2, y)  # β_{k+1}² = r₂ᵀ M⁻¹ r₂
        if not (beta_sq >= 0 and math.isfinite(alfa)):
            status, info["reason"] = _bad_beta(beta_sq if math.isfinite(alfa) else alfa, k)
            break
        oldb, beta = beta, math.sqrt(beta_sq)
        anorm = max(anorm, math.sqrt(oldb * oldb + alfa * alfa + beta * beta))  # ≤ ‖T‖ ≤ ‖A‖
        if beta <= eps * anorm:  # invariant Krylov space: β_{k+1} = 0
            beta = 0.0
        oldeps = epsln
        delta = cs * dbar + sn * alfa  # (5) δ_k
        gbar = sn * dbar - cs * alfa  # (5) γ̄_k
        epsln = sn * beta  # (6) ε_{k+1}
        dbar = -cs * beta  # (6) δ̄_{k+1}
        root = math.hypot(gbar, dbar)  # ‖A r_{k−1}‖ = φ̄_{k−1} · root
        gamma = math.hypot(gbar, beta)  # (7) γ_k
        if gamma == 0.0:
            status = Status.BREAKDOWN
            info["reason"] = (
                f"breakdown: γ_{k} = 0 at iteration {k}: the Lanczos tridiagonal matrix is "
                "singular on an invariant Krylov space (A is singular and b is not in its "
                "range); x is the last iterate"
            )
            break
        cs, sn = gbar / gamma, beta / gamma  # (7) c, s
        phibar_old = phibar
        phi, phibar = cs * phibar, sn * phibar  # (8) φ_k, φ̄_k
        if res is None:
            w2 = ops.solution_update(y_old, scale, oldeps, delta, 1.0 / gamma, w2, w1, phi, x)
            estimate = abs(phibar)  # φ̄_k = ‖r_k‖ (exact arithmetic)
        else:
            coef = phibar * cs / beta if beta > 0 else 0.0
            w2, res, res2 = ops.solution_residual_update(
                y_old, scale, oldeps, delta, 1.0 / gamma, w2, w1, phi, x, sn * sn, coef, r2,
                res)  # (9)-(11)
            estimate = math.sqrt(res2)
        w1, w2 = w2, w1  # w_k, w_{k−1}
        first = False
        rnorm = estimate
        # ‖A r_{k−1}‖ / (‖A‖ ‖r_{k−1}‖) = root / ‖A‖ small: x is a least-squares solution
        least_squares = root <= lsq_tol * anorm and phibar_old > 0
        if estimate <= threshold or least_squares:  # check the true residual
            rt, rr = ops.residual(x, rt)  # the true residual b − A x_k
            rnorm = safe_norm(rt)  # scaled, as BLAS nrm2
            true_at.append(k)
            if rnorm > threshold and not least_squares:  # replacement: restart from it
                fresh = True
                replacements += 1
                if rnorm < 0.5 * best_failed:
                    best_failed, stalls = rnorm, 0
                else:
                    stalls += 1
        status = monitor.step(x, rnorm)
        if status is not None:
            break
        if stalls >= STALL_CHECKS:
            status = Status.BREAKDOWN
            info["reason"] = (
                f"stagnation: the recursive residual met the threshold {threshold:.3g} "
                f"{replacements} times, but the true ‖b − A x‖ stayed near {best_failed:.3g} "
                f"({STALL_CHECKS} restarts in a row without halving it): x is as accurate as "
                "floating point allows for this system (about ε‖A‖‖x‖); raise rtol or atol"
            )
        elif least_squares:
            status = Status.BREAKDOWN
            info["least_squares"] = True
            info["reason"] = (
                f"A is singular (or nearly) and b is not in its range: at iteration {k} "
                f"‖A r‖ ≤ {lsq_tol:.3g} · ‖A‖ ‖r‖, so x is a least-squares solution and "
                f"‖b − A x‖ = {rnorm:.6g} cannot fall to the threshold {threshold:.3g}; "
                "project b onto the range of A (e.g. remove its mean for a pure-Neumann "
                "Laplacian) to get a consistent system"
            )

    last = len(monitor.residuals) - 1
    if true_at[-1] != last:  # make residuals[-1] the true residual at the returned x
        rt, rr = ops.residual(x, rt)
        monitor.replace_last(safe_norm(rt))
        true_at.append(last)
    info.setdefault("least_squares", False)
    info["residual_kind"] = _residual_kind(preconditioned)
    info["true_residual_indices"] = true_at
    info["replacements"] = replacements
    info["restarts"] = runs - 1
    return monitor.result(x, status, method="minres", **info)


def _bad_beta(value: float, k: int) -> tuple[Status, str]:
    """Status and reason for ``rᵀM⁻¹r`` that is not positive, or a NaN."""
    if not math.isfinite(value):
        return Status.NONFINITE, (
            f"a NaN or inf appeared in the Lanczos process at iteration {k} (check the "
            "preconditioner and the scaling of A); x is the last finite iterate"
        )
    return Status.BREAKDOWN, (
        f"breakdown: rᵀM⁻¹r = {value:.6g} <= 0 at iteration {k}: the preconditioner is not "
        "positive definite, which MINRES needs (use an SPD M such as 'jacobi' on a positive "
        "diagonal, 'ssor' or 'amg', or method='gmres' / 'bicgstab' with this one)"
    )


def _check_spd_preconditioner(preconditioner: Any, A: Any) -> None:
    """ValueError for a named preconditioner that cannot be SPD for this A."""
    if not isinstance(preconditioner, str):
        return
    if preconditioner in _NOT_SPD:
        raise ValueError(
            f"MINRES needs a symmetric positive definite preconditioner, and "
            f"{preconditioner!r} is not symmetric: use 'jacobi' or 'ssor' (positive "
            "diagonal), 'amg', a callable r -> M⁻¹ r with M SPD, or method='gmres' / "
            f"'bicgstab' with preconditioner={preconditioner!r}"
        )
    if preconditioner in ("jacobi", "ssor") and not isinstance(A, spla.LinearOperator):
        d = A.diagonal()
        if not bool((d > 0).all()):
            raise ValueError(
                f"MINRES needs a symmetric positive definite preconditioner, but "
                f"{preconditioner!r} built from a diagonal with entries <= 0 is not: pass "
                "preconditioner=lambda r: r / abs(d) (d = A.diagonal(), no zeros) or 'amg', "
                "or no preconditioner"
            )


@method("minres", kinds=("linear",), matrix="symmetric")
def minres(
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
    assume_symmetric: bool = False,
) -> Result:
    """MINRES (Paige & Saunders 1975) for symmetric, possibly indefinite systems.

    Lanczos with a Givens QR of the tridiagonal matrix (equations (0)-(10) of
    :mod:`unisolve.solvers.minres`); x_k minimises ``‖b − A x‖_{M⁻¹}`` over the
    Krylov space. Stops when ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` for the
    recomputed true residual; with a preconditioner the monitored norm is the
    unpreconditioned residual of recursion (11), never the M⁻¹-norm. One
    product with A per iteration, short recurrences.

    Parameters
    ----------
    problem : LinearProblem
        Symmetric ``A`` (scipy sparse, dense, LinearOperator, CuPy / cupyx,
        torch), definite or not, and ``b``.
    preconditioner : None, str, callable or LinearOperator
        ``M⁻¹`` with M symmetric positive definite (MINRES needs that, also
        for an indefinite A): 'jacobi' or 'ssor' when diag(A) > 0, 'amg', a
        callable ``r -> M⁻¹ r`` or a LinearOperator. 'sor', 'ilu0' and 'ilut'
        are refused (not symmetric). None (default): no preconditioner.
    omega : float
        Relaxation weight of 'ssor'.
    rtol, atol : float
        Tolerances of the stopping rule above.
    maxiter : int, optional
        Iteration cap (one product with A each); default ``10 * n``.
    x0 : array, optional
        Initial guess (default ``problem.x0``, else zeros).
    callback : callable, optional
        ``callback(state)`` at x0 and after every iteration; ``state.x`` is the
        solver's working array (copy it to keep it). ``StopIteration`` stops
        (``Status.STOPPED``).
    seed : int, optional
        Unused (MINRES is deterministic); accepted like in every method.
    assume_symmetric : bool
        Skip the exact O(nnz) check that A = Aᵀ (a nonsymmetric A raises
        ``ValueError`` naming ``gmres`` / ``bicgstab``).

    Returns
    -------
    Result
        ``residuals[-1]`` is the true ``‖b − A x‖`` at the returned x;
        ``info['residual_kind']`` says exactly what the other entries are.
        ``info`` also has ``preconditioner``, ``omega`` (for 'ssor'),
        ``replacements``, ``restarts``, ``true_residual_indices``,
        ``least_squares`` (True when x is a least-squares solution of an
        inconsistent system), ``kernel`` and, when the solve ended in a
        breakdown, stagnation or a NaN, ``reason``.

    Raises
    ------
    ValueError
        A detectably nonsymmetric A, a preconditioner that cannot be SPD
        ('sor', 'ilu0', 'ilut'; 'jacobi' / 'ssor' on a diagonal with entries
        <= 0), an unknown preconditioner name or omega outside (0, 2).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp, unisolve as us
    >>> P = us.problems.poisson2d(20)          # eigenvalues in (0, 8); shifted: indefinite
    >>> A = sp.csr_array(P.A - 4.2 * sp.identity(P.n))
    >>> p = us.problems.LinearProblem(A, np.ones(P.n))
    >>> r = us.solve(p, method="minres", rtol=1e-10)
    >>> r.status.name, len(r.residuals) == r.iterations + 1
    ('CONVERGED', True)
    >>> true = np.linalg.norm(p.b - p.A @ r.x)     # residuals[-1] is the true residual
    >>> bool(np.isclose(r.residuals[-1], true, rtol=1e-12) and true <= r.info["threshold"])
    True
    >>> us.solve(p).method               # the default for a symmetric A with diagonal <= 0
    'minres'
    """
    require_symmetric(problem, "minres", assume_symmetric)
    _check_spd_preconditioner(preconditioner, problem.A)
    info: dict = {}
    M = None
    if preconditioner is not None:
        M = make_preconditioner(preconditioner, problem.A, omega=omega)
        info["preconditioner"] = M.name
        if M.name == "ssor":
            info["omega"] = getattr(M, "omega", omega)
    else:
        info["preconditioner"] = None
    return _run(problem, M, rtol=rtol, atol=atol, maxiter=maxiter, x0=x0, callback=callback,
                info=info)

"""Young's instance-optimal SOR weight from the Jacobi spectral radius.

For a consistently ordered matrix whose Jacobi iteration matrix
``J = I − D⁻¹A`` has real eigenvalues and spectral radius ``β < 1`` (D. M. Young,
"Iterative methods for solving partial difference equations of elliptic
type", 1950), the SOR weight that minimises the asymptotic convergence factor is

    ω* = 2 / (1 + √(1 − β²)) = 1 + (β / (1 + √(1 − β²)))²,

and then ``ρ(SOR_ω*) = ω* − 1``. The Learning-to-Relax paper uses ω* as the
"instance-optimal" comparator. ``β`` comes from

* the closed form for a constant-coefficient star stencil with Dirichlet walls
  on a grid of shape ``(n_1, ..., n_d)``: the eigenvalues of J are
  ``−(o/d) Σ_k 2 cos(π j_k / (n_k + 1))``, so ``β = (2|o|/|d|) Σ_k cos(π/(n_k + 1))``;
* otherwise, for symmetric A with a positive diagonal, a few Lanczos steps on
  ``Â = D^{−1/2} A D^{−1/2}`` (similar to ``D⁻¹A``): ``β = max(1 − λ_min(Â), λ_max(Â) − 1)``
  from the extreme Ritz values, stopped when their residual bounds fall below ``tol``;
* for a nonsymmetric A, implicitly restarted Arnoldi (ARPACK ``eigs``) on J
  (a dense eigensolve only below 65 unknowns).

:func:`jacobi_radius_estimate` is the cheap version a learner's prior needs
(:class:`~unisolve.OmegaTuner` primes ``omega="auto"`` with it): the closed
form, or a fixed number of plain Lanczos steps (three vectors of memory).

No dense eigensolve of a large matrix is done (the reference code's ``eig(full(...))``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg import eigh_tridiagonal

__all__ = ["jacobi_radius_estimate", "jacobi_spectral_radius", "optimal_omega",
           "stencil_mismatch", "young_omega"]


def stencil_mismatch(A: Any, stencil: Any, *, entries: bool = True) -> str | None:
    """Why ``stencil`` does not describe the matrix ``A``, or None when it does.

    The methods that use a problem's stencil instead of A (red-black SOR sweeps,
    Young's closed form) call this first: a stencil that contradicts A would
    solve, or tune for, another system. A is compared entry by entry with
    ``stencil.to_csr()`` (equal up to ``1e-12`` of the largest stencil
    coefficient); an exact layout match is answered by one vectorised pass.
    ``entries=False`` (or a LinearOperator A) checks only the size and the
    stencil's diagonal.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.problems import Stencil
    >>> p = us.problems.poisson2d(4)
    >>> stencil_mismatch(p.A, p.stencil) is None
    True
    >>> print(stencil_mismatch(p.A, Stencil((4, 4), 8.0, -1.0)))  # doctest: +ELLIPSIS
    problem.stencil (diagonal 8.0, off-diagonal -1.0) does not describe A: ...
    """
    from .kernels.ssor_pcg import stencil_matches_csr  # numba kernels, loaded on first use

    shape = tuple(int(m) for m in stencil.shape)
    d, o = float(stencil.diagonal), float(stencil.offdiagonal)
    n = math.prod(shape)
    if A.shape[0] != n:
        return (f"problem.stencil has shape {shape} ({n} unknowns) but A has {A.shape[0]} "
                "rows: the stencil does not describe A")
    if d == 0.0:
        return (f"problem.stencil has diagonal 0 (off-diagonal {o}), and SOR and Jacobi "
                "divide by the diagonal")
    if not entries or isinstance(A, spla.LinearOperator):
        return None  # no entries to compare: the stencil is trusted
    A = A if sp.issparse(A) and A.format == "csr" else sp.csr_array(A)
    if len(shape) in (2, 3) and stencil_matches_csr(A, shape, d, o):
        return None
    diff = abs(sp.csr_array(A) - stencil.to_csr())
    worst = float(diff.max()) if diff.nnz else 0.0
    if worst > 1e-12 * max(abs(d), abs(o)):  # rounding of a scaled stencil is fine
        return (f"problem.stencil (diagonal {d}, off-diagonal {o}) does not describe A: an "
                f"entry of A differs from the stencil's by {worst:.3g}")
    return None


def young_omega(beta: float) -> float:
    """``ω* = 1 + (β / (1 + √(1 − β²)))²`` for a Jacobi spectral radius ``0 ≤ β < 1``.

    Examples
    --------
    >>> young_omega(0.0), round(young_omega(0.99), 4)
    (1.0, 1.7527)
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(
            f"Young's formula needs a Jacobi spectral radius in [0, 1), got {beta!r}: the "
            "Jacobi iteration of this matrix does not converge, so the formula for the "
            "optimal SOR weight does not apply; let a learner pick omega (omega='auto')"
        )
    return 1.0 + (beta / (1.0 + math.sqrt(1.0 - beta * beta))) ** 2


def _stencil_radius(stencil: Any) -> float:
    d, o = float(stencil.diagonal), float(stencil.offdiagonal)
    if d == 0.0:
        raise ValueError(
            f"problem.stencil has diagonal 0 (off-diagonal {o}): the Jacobi iteration and "
            "SOR divide by the diagonal, so Young's omega is undefined; fix the stencil or "
            "let a learner pick omega (omega='auto')"
        )
    return 2.0 * abs(o) / abs(d) * sum(math.cos(math.pi / (m + 1)) for m in stencil.shape)


def _is_symmetric(A: Any) -> bool:
    if sp.issparse(A):
        diff = abs(A - A.T)
        return diff.nnz == 0 or float(diff.max()) <= 1e-12 * float(abs(A).max())
    A = np.asarray(A)
    return bool(np.allclose(A, A.T, rtol=0.0, atol=1e-12 * np.abs(A).max()))


def _lanczos_extremes(matvec: Any, n: int, tol: float, maxiter: int,
                      rng: np.random.Generator) -> tuple[float, float]:
    """Extreme eigenvalues of a symmetric operator: Lanczos, full reorthogonalisation."""
    steps = min(maxiter, n)
    V = np.zeros((steps + 1, n))
    alpha, beta = np.zeros(steps), np.zeros(steps)
    v = rng.standard_normal(n)
    V[0] = v / np.linalg.norm(v)
    theta = np.array([0.0])
    for j in range(steps):
        w = matvec(V[j])
        alpha[j] = w @ V[j]
        w -= V[: j + 1].T @ (V[: j + 1] @ w)  # three-term recurrence + full reorthogonalisation
        w -= V[: j + 1].T @ (V[: j + 1] @ w)
        beta[j] = np.linalg.norm(w)
        k = j + 1
        if k == 1:
            theta, S = np.array([alpha[0]]), np.ones((1, 1))
        else:
            theta, S = eigh_tridiagonal(alpha[:k], beta[: k - 1])
        if beta[j] <= 1e-14 * max(1.0, abs(theta).max()):
            break  # invariant subspace: the Ritz values are eigenvalues
        # |β_k s_{k,i}| bounds the distance of Ritz value θ_i from the spectrum
        bounds = beta[j] * np.abs(S[-1, [0, -1]])
        if k >= 2 and np.all(bounds <= tol * np.maximum(np.abs(theta[[0, -1]]), 1.0)):
            break
        V[j + 1] = w / beta[j]
    return float(theta[0]), float(theta[-1])


def jacobi_spectral_radius(A: Any, *, stencil: Any = None, tol: float = 1e-10,
                           maxiter: int = 300, seed: int = 0) -> float:
    """Spectral radius ``β`` of the Jacobi iteration matrix ``I − D⁻¹A``.

    Parameters
    ----------
    A : scipy sparse matrix or ndarray
        Square, no zero on the diagonal.
    stencil : Stencil, optional
        When A is a constant-coefficient star stencil (``problem.stencil``), the
        closed form is used and A is not touched.
    tol : float
        Relative accuracy of the extreme Ritz values (Lanczos path).
    maxiter : int
        Cap on Lanczos steps (and, times n, on Arnoldi matvecs).
    seed : int
        Seed of the random start vector.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.shifted_laplacian_sequence(T=1, seed=0).instance(0)
    >>> closed = jacobi_spectral_radius(p.A, stencil=p.stencil)
    >>> lanczos = jacobi_spectral_radius(p.A)
    >>> D = np.diag(p.A.diagonal()); J = np.eye(p.n) - np.linalg.solve(D, p.A.toarray())
    >>> dense = max(abs(np.linalg.eigvals(J)))
    >>> bool(abs(closed - dense) < 1e-12), bool(abs(lanczos - dense) < 1e-9)
    (True, True)
    """
    if stencil is not None:
        return _stencil_radius(stencil)
    n = A.shape[0]
    if n == 0:
        return 0.0  # the empty system: J has no eigenvalues, ρ = 0 (so ω* = 1)
    d = np.asarray(A.diagonal() if sp.issparse(A) else np.diag(A), dtype=float)
    if np.any(d == 0):
        raise ValueError("A has a zero on the diagonal: the Jacobi iteration is undefined")
    rng = np.random.default_rng(seed)
    if _is_symmetric(A) and np.all(d > 0):
        s = 1.0 / np.sqrt(d)
        lo, hi = _lanczos_extremes(lambda v: s * (A @ (s * v)), n, tol, maxiter, rng)
        return max(1.0 - lo, hi - 1.0)  # eigenvalues of J = I − Â
    # nonsymmetric: implicitly restarted Arnoldi (ARPACK) for the largest |eigenvalue| of J;
    # power iteration is not enough here, its norm ratios of a non-normal J converge slowly
    if n <= 64:
        dense = A.toarray() if sp.issparse(A) else np.asarray(A, dtype=float)
        return float(np.abs(np.linalg.eigvals(np.eye(n) - dense / d[:, None])).max())
    J = spla.LinearOperator((n, n), matvec=lambda v: v - (A @ v) / d, dtype=float)
    vals = spla.eigs(J, k=1, which="LM", tol=tol, maxiter=maxiter * n,
                     v0=rng.standard_normal(n), return_eigenvectors=False)
    return float(np.abs(vals).max())


def optimal_omega(problem_or_matrix: Any, **kwargs: Any) -> float:
    """Young's ω* for a :class:`LinearProblem` (uses its stencil) or a matrix.

    Parameters
    ----------
    problem_or_matrix : LinearProblem or matrix
        The system. ``problem.stencil``, when present, gives β in closed form.
    **kwargs
        Passed to :func:`jacobi_spectral_radius` (``tol``, ``maxiter``, ``seed``).

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.solvers.relaxation import optimal_omega_poisson
    >>> p = us.problems.poisson2d(31)
    >>> round(optimal_omega(p), 10) == round(optimal_omega_poisson(31), 10)
    True
    """
    A = getattr(problem_or_matrix, "A", problem_or_matrix)
    stencil = getattr(problem_or_matrix, "stencil", None)
    if stencil is not None:
        why = stencil_mismatch(A, stencil)
        if why is not None:
            raise ValueError(f"{why}: fix problem.stencil, or drop it (stencil=None) to "
                             "estimate omega* from A")
    return young_omega(jacobi_spectral_radius(A, stencil=stencil, **kwargs))


def jacobi_radius_estimate(problem_or_matrix: Any, *, steps: int = 40,
                           seed: int = 0) -> float | None:
    """A cheap estimate of β for a learner's prior, or None when there is none cheap.

    Closed form when the problem has a ``stencil``. Otherwise, for a symmetric
    A with a positive diagonal, ``steps`` Lanczos steps on ``Â = D^{−1/2} A D^{−1/2}``
    without reorthogonalisation (three vectors of memory; lost orthogonality
    repeats Ritz values but leaves the extreme ones accurate), and
    ``β ≈ max(1 − θ_min, θ_max − 1)`` from the extreme Ritz values of the
    tridiagonal matrix. Ritz values lie inside the spectrum, so an unconverged
    estimate is low (a smaller ω*), the side a learner's data corrects. Cost:
    ``steps + 2`` products with A, about what as many CG iterations cost (A is
    taken as symmetric when ``|yᵀAx − xᵀAy| ≤ 1e-10 ‖Ax‖ ‖y‖`` for two random
    vectors). None for a nonsymmetric A, a non-positive diagonal, or an estimate ≥ 1 (Jacobi
    diverges: Young's theory says nothing).

    Parameters
    ----------
    problem_or_matrix : LinearProblem or matrix
        The system (its ``stencil`` is used when present).
    steps : int
        Lanczos steps (at most n).
    seed : int
        Seed of the random start vector.

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.shifted_laplacian_sequence(T=1, seed=0).instance(0)
    >>> exact = jacobi_spectral_radius(p.A, stencil=p.stencil)
    >>> jacobi_radius_estimate(p) == exact                       # the closed form
    True
    >>> abs(jacobi_radius_estimate(p.A) - exact) < 1e-6          # 40 Lanczos steps
    True
    >>> print(jacobi_radius_estimate(-p.A))                      # negative diagonal
    None
    """
    stencil = getattr(problem_or_matrix, "stencil", None)
    if stencil is not None:
        if float(stencil.diagonal) == 0.0:
            return None  # Jacobi undefined: no prior
        radius = _stencil_radius(stencil)
        return radius if 0.0 <= radius < 1.0 else None
    A = getattr(problem_or_matrix, "A", problem_or_matrix)
    d = np.asarray(A.diagonal() if sp.issparse(A) else np.diag(A), dtype=float)
    if d.size == 0 or not np.all(d > 0):
        return None
    n = d.size
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    Ax, Ay = A @ x, A @ y
    if abs(y @ Ax - x @ Ay) > 1e-10 * np.linalg.norm(Ax) * np.linalg.norm(y):
        return None  # yᵀAx ≠ xᵀAy: not symmetric (two products instead of forming A − Aᵀ)
    s = 1.0 / np.sqrt(d)
    v = rng.standard_normal(n)
    v /= np.linalg.norm(v)
    v_prev = np.zeros(n)
    alpha, beta = [], []
    b_prev = 0.0
    for _ in range(min(int(steps), n)):
        w = s * (A @ (s * v)) - b_prev * v_prev  # Â v_j − β_{j−1} v_{j−1}
        a = float(w @ v)
        w -= a * v
        alpha.append(a)
        b = float(np.linalg.norm(w))
        if b <= 1e-14 * max(1.0, abs(a)):
            break  # invariant subspace: the Ritz values are eigenvalues
        beta.append(b)
        v_prev, v, b_prev = v, w / b, b
    k = len(alpha)
    theta = eigh_tridiagonal(np.asarray(alpha), np.asarray(beta[: k - 1]),
                             eigvals_only=True) if k > 1 else np.asarray(alpha)
    radius = max(1.0 - float(theta[0]), float(theta[-1]) - 1.0)  # eigenvalues of J = I − Â
    return radius if 0.0 <= radius < 1.0 else None

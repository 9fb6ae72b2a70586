"""Exact value, gradient and Hessian of the terms the CUTEst test problems are made of.

A CUTEst objective or constraint is a sum of a few *terms*; each term here maps
x to ``(value, gradient, Hessian)`` computed from its closed form:

* :func:`power`   w (aᵀx − b)^p                  ∇ = w p t^{p−1} a,  ∇² = w p(p−1) t^{p−2} a aᵀ
* :func:`monomial` w Πᵢ xᵢ^{pᵢ}                  ∂ⱼ = w pⱼ xⱼ^{pⱼ−1} Π_{i≠j} xᵢ^{pᵢ}
* :func:`sine`    w sin(aᵀx − b)                  ∇ = w cos t a,      ∇² = −w sin t a aᵀ
* :func:`sine_squared` w sin²(aᵀx − b)            ∇ = w sin 2t a,     ∇² = 2w cos 2t a aᵀ

(t = aᵀx − b). Each term also carries ``term.value(x)``, the same closed form written
with operations that work on a numpy array and on a torch tensor alike, from which
automatic differentiation rebuilds ∇ and ∇² independently (``meta["formula"]`` of a
built problem holds f and c made of these values; tests/problems/test_autodiff.py
compares them with the hand-coded derivatives).

:func:`build` turns an objective and a list of constraints, each a list of terms, into
an :class:`~unisolve.problems.constrained.EqualityConstrainedProblem` whose Hessian
of the Lagrangian is ∇²f + Σᵢ λᵢ ∇²cᵢ. The problem modules write each test problem
as its published formula in these terms; the finite-difference checker in the tests
confirms every derivative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .constrained import EqualityConstrainedProblem

Term = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


def _vector(n: int, a: dict[int, float]) -> np.ndarray:
    v = np.zeros(n)
    for i, ai in a.items():
        v[i] = ai
    return v


def _math(t):
    """The module whose sin/cos apply to ``t``: torch for a torch tensor, else numpy."""
    if type(t).__module__.startswith("torch"):
        import torch
        return torch
    return np


def _ridge(n: int, a: dict[int, float], b: float,
           phi: Callable[[float], tuple[float, float, float]],
           value: Callable[[object], object]) -> Term:
    """φ(aᵀx − b): ∇ = φ'(t) a, ∇² = φ''(t) a aᵀ, with phi(t) = (φ, φ', φ''), value(t) = φ."""
    av = _vector(n, a)
    aa = np.outer(av, av)

    def term(x):
        v, d1, d2 = phi(av @ x - b)
        return v, d1 * av, d2 * aa
    term.value = lambda x: value(sum(ai * x[i] for i, ai in a.items()) - b)
    return term


def power(n: int, a: dict[int, float], b: float = 0.0, p: int = 2, w: float = 1.0) -> Term:
    """w (aᵀx − b)^p with a given as {index: coefficient} (0-based)."""
    return _ridge(n, a, b, lambda t: (w * t ** p, w * p * t ** (p - 1),
                                      w * p * (p - 1) * t ** (p - 2) if p >= 2 else 0.0),
                  lambda t: w * t ** p)


def monomial(n: int, powers: dict[int, int], w: float = 1.0) -> Term:
    """w Πᵢ xᵢ^{pᵢ} with powers given as {index: exponent} (0-based, exponents ≥ 1)."""
    idx = list(powers)
    pw = [powers[i] for i in idx]

    def lowered(x, lower):
        # w Π xᵢ^{pᵢ − lower[i]}: the monomial with some exponents lowered by 1 or 2
        out = w
        for i, p in zip(idx, pw, strict=True):
            e = p - lower.get(i, 0)
            if e < 0:
                return 0.0
            out = out * x[i] ** e
        return out

    def term(x):
        g = np.zeros(n)
        H = np.zeros((n, n))
        for j, pj in zip(idx, pw, strict=True):
            g[j] = pj * lowered(x, {j: 1})
            H[j, j] = pj * (pj - 1) * lowered(x, {j: 2}) if pj >= 2 else 0.0
            for k, pk in zip(idx, pw, strict=True):
                if k != j:
                    H[j, k] = pj * pk * lowered(x, {j: 1, k: 1})
        return lowered(x, {}), g, H
    term.value = lambda x: lowered(x, {})
    return term


def sine(n: int, a: dict[int, float], b: float = 0.0, w: float = 1.0) -> Term:
    """w sin(aᵀx − b)."""
    return _ridge(n, a, b, lambda t: (w * np.sin(t), w * np.cos(t), -w * np.sin(t)),
                  lambda t: w * _math(t).sin(t))


def sine_squared(n: int, a: dict[int, float], b: float = 0.0, w: float = 1.0) -> Term:
    """w sin²(aᵀx − b)."""
    return _ridge(n, a, b, lambda t: (w * np.sin(t) ** 2, w * np.sin(2 * t),
                                      2 * w * np.cos(2 * t)),
                  lambda t: w * _math(t).sin(t) ** 2)


def constant(n: int, value: float) -> Term:
    """A constant (the right-hand side of c(x) = value is written as constant(−value))."""
    zero_g, zero_h = np.zeros(n), np.zeros((n, n))

    def term(x):
        return float(value), zero_g.copy(), zero_h.copy()
    term.value = lambda x: float(value)
    return term


def _sum(terms: Sequence[Term], n: int, x: np.ndarray):
    v, g, H = 0.0, np.zeros(n), np.zeros((n, n))
    for t in terms:
        tv, tg, tH = t(x)
        v, g, H = v + tv, g + tg, H + tH
    return float(v), g, H


def build(name: str, source: str, n: int, objective: Sequence[Term],
          constraints: Sequence[Sequence[Term]], x0: Sequence[float], f_star: float | None,
          x_star: Sequence[float] | None = None, meta: dict | None = None
          ) -> EqualityConstrainedProblem:
    """The problem min Σ objective s.t. Σ constraints[i] = 0 for every i."""
    m = len(constraints)

    def f(x):
        return _sum(objective, n, x)[0]

    def grad(x):
        return _sum(objective, n, x)[1]

    def c(x):
        return np.array([_sum(ci, n, x)[0] for ci in constraints])

    def jac(x):
        return np.array([_sum(ci, n, x)[1] for ci in constraints]).reshape(m, n)

    def hess_lag(x, lam):
        H = _sum(objective, n, x)[2]
        for li, ci in zip(lam, constraints, strict=True):
            H = H + li * _sum(ci, n, x)[2]
        return H

    meta = dict(meta or {})
    if all(hasattr(t, "value") for t in [*objective, *(t for ci in constraints for t in ci)]):
        # f and c from the terms' values alone (numpy or torch x): for automatic differentiation
        meta["formula"] = (lambda x: sum((t.value(x) for t in objective), 0.0),
                           lambda x: [sum((t.value(x) for t in ci), 0.0) for ci in constraints])
    return EqualityConstrainedProblem(
        f=f, grad=grad, c=c, jac=jac, hess_lag=hess_lag, x0=np.asarray(x0, dtype=float),
        f_star=f_star, x_star=None if x_star is None else np.asarray(x_star, dtype=float),
        name=name, source=source, meta=meta,
    )

"""Hock–Schittkowski equality-constrained test problems, hand-coded.

Formulas, start points and optimal values from W. Hock and K. Schittkowski,
*Test Examples for Nonlinear Programming Codes* (Springer, 1981), as published
in the CUTEst SIF collection. Each constructor registers itself with
:func:`unisolve.problems.constrained.test_set`.
"""

from __future__ import annotations

import numpy as np

from .constrained import EqualityConstrainedProblem, register

HS = "Hock & Schittkowski (1981), problem {}; CUTEst {}"


@register("HS6")
def hs6() -> EqualityConstrainedProblem:
    """min (1 − x₁)²  s.t.  10(x₂ − x₁²) = 0;  x0 = (−1.2, 1), f* = 0 at (1, 1)."""
    return EqualityConstrainedProblem(
        f=lambda x: (1 - x[0]) ** 2,
        grad=lambda x: np.array([-2 * (1 - x[0]), 0.0]),
        c=lambda x: np.array([10 * (x[1] - x[0] ** 2)]),
        jac=lambda x: np.array([[-20 * x[0], 10.0]]),
        hess_lag=lambda x, lam: np.array([[2 - 20 * lam[0], 0.0], [0.0, 0.0]]),
        x0=np.array([-1.2, 1.0]), f_star=0.0, x_star=np.array([1.0, 1.0]),
        name="HS6", source=HS.format(6, "HS6"),
    )


def _linear(A: list, d: list):
    """c(x) = A x − d, its (constant) Jacobian, and a zero constraint Hessian."""
    A, d = np.asarray(A, dtype=float), np.asarray(d, dtype=float)
    return (lambda x: A @ x - d), (lambda x: A.copy())


@register("HS7")
def hs7() -> EqualityConstrainedProblem:
    """min log(1 + x₁²) − x₂  s.t.  (1 + x₁²)² + x₂² − 4 = 0;  x0 = (2, 2), f* = −√3."""
    def hess(x, lam):
        s = 1 + x[0] ** 2
        return np.array([[2 * (1 - x[0] ** 2) / s ** 2 + lam[0] * (4 + 12 * x[0] ** 2), 0.0],
                         [0.0, 2 * lam[0]]])

    return EqualityConstrainedProblem(
        f=lambda x: np.log1p(x[0] ** 2) - x[1],
        grad=lambda x: np.array([2 * x[0] / (1 + x[0] ** 2), -1.0]),
        c=lambda x: np.array([(1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4]),
        jac=lambda x: np.array([[4 * x[0] * (1 + x[0] ** 2), 2 * x[1]]]),
        hess_lag=hess, x0=np.array([2.0, 2.0]), f_star=-np.sqrt(3),
        x_star=np.array([0.0, np.sqrt(3)]), name="HS7", source=HS.format(7, "HS7"),
    )


@register("HS28")
def hs28() -> EqualityConstrainedProblem:
    """min (x₁ + x₂)² + (x₂ + x₃)²  s.t.  x₁ + 2x₂ + 3x₃ − 1 = 0;  x0 = (−4, 1, 1), f* = 0."""
    c, jac = _linear([[1, 2, 3]], [1])
    H = 2 * np.array([[1.0, 1, 0], [1, 2, 1], [0, 1, 1]])
    return EqualityConstrainedProblem(
        f=lambda x: (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2,
        grad=lambda x: H @ x, c=c, jac=jac, hess_lag=lambda x, lam: H.copy(),
        x0=np.array([-4.0, 1.0, 1.0]), f_star=0.0, x_star=np.array([0.5, -0.5, 0.5]),
        name="HS28", source=HS.format(28, "HS28"),
    )


@register("HS40")
def hs40() -> EqualityConstrainedProblem:
    """min −x₁x₂x₃x₄  s.t.  x₁³ + x₂² = 1, x₁²x₄ = x₃, x₄² = x₂;  x0 = 0.8·1, f* = −0.25."""
    def grad(x):
        return -np.array([x[1] * x[2] * x[3], x[0] * x[2] * x[3], x[0] * x[1] * x[3],
                          x[0] * x[1] * x[2]])

    def hess(x, lam):
        H = np.zeros((4, 4))
        for i in range(4):  # ∇²(−Π xᵢ): −Π_{k≠i,j} x_k off the diagonal
            for j in range(4):
                if i != j:
                    H[i, j] = -np.prod([x[k] for k in range(4) if k not in (i, j)])
        H[0, 0] += 6 * lam[0] * x[0]
        H[1, 1] += 2 * lam[0]
        H[0, 0] += 2 * lam[1] * x[3]
        H[0, 3] += 2 * lam[1] * x[0]
        H[3, 0] += 2 * lam[1] * x[0]
        H[3, 3] += 2 * lam[2]
        return H

    return EqualityConstrainedProblem(
        f=lambda x: -np.prod(x), grad=grad,
        c=lambda x: np.array([x[0] ** 3 + x[1] ** 2 - 1, x[0] ** 2 * x[3] - x[2],
                              x[3] ** 2 - x[1]]),
        jac=lambda x: np.array([[3 * x[0] ** 2, 2 * x[1], 0, 0],
                                [2 * x[0] * x[3], 0, -1, x[0] ** 2],
                                [0, -1, 0, 2 * x[3]]]),
        hess_lag=hess, x0=np.full(4, 0.8), f_star=-0.25, name="HS40",
        source=HS.format(40, "HS40"),
    )


@register("HS48")
def hs48() -> EqualityConstrainedProblem:
    """min (x₁−1)² + (x₂−x₃)² + (x₄−x₅)²  s.t.  Σxᵢ = 5, x₃ − 2(x₄+x₅) = −3;  f* = 0."""
    c, jac = _linear([[1, 1, 1, 1, 1], [0, 0, 1, -2, -2]], [5, -3])
    H = 2 * np.array([[1.0, 0, 0, 0, 0], [0, 1, -1, 0, 0], [0, -1, 1, 0, 0],
                      [0, 0, 0, 1, -1], [0, 0, 0, -1, 1]])
    e1 = np.array([1.0, 0, 0, 0, 0])
    return EqualityConstrainedProblem(
        f=lambda x: (x[0] - 1) ** 2 + (x[1] - x[2]) ** 2 + (x[3] - x[4]) ** 2,
        grad=lambda x: H @ x - 2 * e1, c=c, jac=jac, hess_lag=lambda x, lam: H.copy(),
        x0=np.array([3.0, 5.0, -3.0, 2.0, -2.0]), f_star=0.0, x_star=np.ones(5),
        name="HS48", source=HS.format(48, "HS48"),
    )


@register("HS51")
def hs51() -> EqualityConstrainedProblem:
    """min (x₁−x₂)² + (x₂+x₃−2)² + (x₄−1)² + (x₅−1)²  s.t.  x₁+3x₂ = 4, x₃+x₄−2x₅ = 0,
    x₂ − x₅ = 0;  x0 = (2.5, 0.5, 2, −1, 0.5), f* = 0."""
    c, jac = _linear([[1, 3, 0, 0, 0], [0, 0, 1, 1, -2], [0, 1, 0, 0, -1]], [4, 0, 0])

    def grad(x):
        a, b = x[0] - x[1], x[1] + x[2] - 2
        return 2 * np.array([a, -a + b, b, x[3] - 1, x[4] - 1])

    H = 2 * np.array([[1.0, -1, 0, 0, 0], [-1, 2, 1, 0, 0], [0, 1, 1, 0, 0],
                      [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]])
    return EqualityConstrainedProblem(
        f=lambda x: ((x[0] - x[1]) ** 2 + (x[1] + x[2] - 2) ** 2 + (x[3] - 1) ** 2
                     + (x[4] - 1) ** 2),
        grad=grad, c=c, jac=jac, hess_lag=lambda x, lam: H.copy(),
        x0=np.array([2.5, 0.5, 2.0, -1.0, 0.5]), f_star=0.0, x_star=np.ones(5),
        name="HS51", source=HS.format(51, "HS51"),
    )


@register("HS52")
def hs52() -> EqualityConstrainedProblem:
    """min (4x₁−x₂)² + (x₂+x₃−2)² + (x₄−1)² + (x₅−1)²  s.t.  x₁+3x₂ = 0, x₃+x₄−2x₅ = 0,
    x₂ − x₅ = 0;  x0 = 2·1, f* = 1859/349."""
    c, jac = _linear([[1, 3, 0, 0, 0], [0, 0, 1, 1, -2], [0, 1, 0, 0, -1]], [0, 0, 0])

    def grad(x):
        a, b = 4 * x[0] - x[1], x[1] + x[2] - 2
        return 2 * np.array([4 * a, -a + b, b, x[3] - 1, x[4] - 1])

    H = 2 * np.array([[16.0, -4, 0, 0, 0], [-4, 2, 1, 0, 0], [0, 1, 1, 0, 0],
                      [0, 0, 0, 1, 0], [0, 0, 0, 0, 1]])
    return EqualityConstrainedProblem(
        f=lambda x: ((4 * x[0] - x[1]) ** 2 + (x[1] + x[2] - 2) ** 2 + (x[3] - 1) ** 2
                     + (x[4] - 1) ** 2),
        grad=grad, c=c, jac=jac, hess_lag=lambda x, lam: H.copy(),
        x0=np.full(5, 2.0), f_star=1859 / 349, name="HS52", source=HS.format(52, "HS52"),
    )

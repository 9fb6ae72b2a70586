"""Hock–Schittkowski equality-constrained test problems, hand-coded.

Formulas, start points and optimal values from W. Hock and K. Schittkowski,
*Test Examples for Nonlinear Programming Codes* (Springer, 1981), as published
in the CUTEst SIF collection. Each constructor registers itself with
:func:`unisolve.problems.constrained.test_set`.
"""

from __future__ import annotations

import numpy as np

from ._terms import build, constant, monomial, power, sine, sine_squared
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


@register("HS26")
def hs26() -> EqualityConstrainedProblem:
    """min (x₁−x₂)² + (x₂−x₃)⁴  s.t.  (1 + x₂²)x₁ + x₃⁴ = 3;  x0 = (−2.6, 2, 2), f* = 0."""
    n = 3
    return build("HS26", HS.format(26, "HS26"), n,
                 [power(n, {0: 1, 1: -1}), power(n, {1: 1, 2: -1}, p=4)],
                 [[monomial(n, {0: 1}), monomial(n, {0: 1, 1: 2}), monomial(n, {2: 4}),
                   constant(n, -3)]],
                 x0=[-2.6, 2.0, 2.0], f_star=0.0, x_star=[1.0, 1.0, 1.0])


@register("HS27")
def hs27() -> EqualityConstrainedProblem:
    """min 0.01(x₁−1)² + (x₂ − x₁²)²  s.t.  x₁ + x₃² = −1;  x0 = 2·1, f* = 0.04 at (−1, 1, 0)."""
    n = 3
    # (x₂ − x₁²)² = x₂² − 2x₁²x₂ + x₁⁴
    return build("HS27", HS.format(27, "HS27"), n,
                 [power(n, {0: 1}, 1, w=0.01), monomial(n, {1: 2}), monomial(n, {0: 2, 1: 1}, -2),
                  monomial(n, {0: 4})],
                 [[power(n, {0: 1}, -1, p=1), power(n, {2: 1})]],
                 x0=[2.0, 2.0, 2.0], f_star=0.04, x_star=[-1.0, 1.0, 0.0])


@register("GENHS28")
def genhs28(n: int = 10) -> EqualityConstrainedProblem:
    """min Σᵢ₌₁ⁿ⁻¹ (xᵢ + xᵢ₊₁)²  s.t.  xᵢ + 2xᵢ₊₁ + 3xᵢ₊₂ = 1 (i ≤ n−2);  x0 = (−4, 1, …, 1).

    HS28 generalised (CUTEst n = 10). A convex QP with a unique minimiser, so f* and x*
    come from one solve of its KKT system here; f* = 0.9271737… for n = 10. (The SIF
    file's "SOLTN 0.0" is a lower bound: no feasible point has all xᵢ + xᵢ₊₁ = 0.)
    """
    obj = [power(n, {i: 1, i + 1: 1}) for i in range(n - 1)]
    cons = [[power(n, {i: 1, i + 1: 2, i + 2: 3}, 1, p=1)] for i in range(n - 2)]
    # KKT of the QP: [Q Aᵀ; A 0] (x, λ) = (0, 1), with f = xᵀ(Q/2)x
    Q = sum(t(np.zeros(n))[2] for t in obj)
    A = np.array([t[0](np.zeros(n))[1] for t in cons])
    K = np.block([[Q, A.T], [A, np.zeros((n - 2, n - 2))]])
    x_star = np.linalg.solve(K, np.concatenate([np.zeros(n), np.ones(n - 2)]))[:n]
    return build("GENHS28", "CUTEst GENHS28 (generalised Hock & Schittkowski 28)", n, obj, cons,
                 x0=[-4.0] + [1.0] * (n - 1), f_star=float(0.5 * x_star @ Q @ x_star),
                 x_star=x_star, meta={"cutest_soltn": 0.0})


@register("HS39")
def hs39() -> EqualityConstrainedProblem:
    """min −x₁  s.t.  x₂ − x₁³ − x₃² = 0, x₁² − x₂ − x₄² = 0;  x0 = 2·1, f* = −1."""
    n = 4
    return build("HS39", HS.format(39, "HS39"), n, [power(n, {0: 1}, p=1, w=-1)],
                 [[monomial(n, {1: 1}), monomial(n, {0: 3}, -1), power(n, {2: 1}, w=-1)],
                  [power(n, {0: 1}), monomial(n, {1: 1}, -1), power(n, {3: 1}, w=-1)]],
                 x0=np.full(n, 2.0), f_star=-1.0, x_star=[1.0, 1.0, 0.0, 0.0])


@register("HS42")
def hs42() -> EqualityConstrainedProblem:
    """min Σᵢ (xᵢ − i)²  s.t.  x₁ = 2, x₃² + x₄² = 2;  x0 = 1·1, f* = 28 − 10√2."""
    n = 4
    return build("HS42", HS.format(42, "HS42"), n,
                 [power(n, {i: 1}, i + 1) for i in range(n)],
                 [[power(n, {0: 1}, 2, p=1)],
                  [power(n, {2: 1}), power(n, {3: 1}), constant(n, -2)]],
                 x0=np.ones(n), f_star=28 - 10 * np.sqrt(2),
                 x_star=[2.0, 2.0, 0.6 * np.sqrt(2), 0.8 * np.sqrt(2)])


def _hs46_49_objective(n: int) -> list:
    # (x₁−x₂)² + (x₃−1)² + (x₄−1)⁴ + (x₅−1)⁶
    return [power(n, {0: 1, 1: -1}), power(n, {2: 1}, 1), power(n, {3: 1}, 1, p=4),
            power(n, {4: 1}, 1, p=6)]


@register("HS46")
def hs46() -> EqualityConstrainedProblem:
    """min (x₁−x₂)² + (x₃−1)² + (x₄−1)⁴ + (x₅−1)⁶  s.t.  x₁²x₄ + sin(x₄ − x₅) = 1,
    x₂ + x₃⁴x₄² = 2;  x0 = (√2/2, 1.75, 0.5, 2, 2), f* = 0 at 1."""
    n = 5
    return build("HS46", HS.format(46, "HS46"), n, _hs46_49_objective(n),
                 [[monomial(n, {0: 2, 3: 1}), sine(n, {3: 1, 4: -1}), constant(n, -1)],
                  [monomial(n, {1: 1}), monomial(n, {2: 4, 3: 2}), constant(n, -2)]],
                 x0=[np.sqrt(2) / 2, 1.75, 0.5, 2.0, 2.0], f_star=0.0, x_star=np.ones(n))


@register("HS47")
def hs47() -> EqualityConstrainedProblem:
    """min (x₁−x₂)² + (x₂−x₃)³ + (x₃−x₄)⁴ + (x₄−x₅)⁴  s.t.  x₁ + x₂² + x₃³ = 3,
    x₂ − x₃² + x₄ = 1, x₁x₅ = 1;  x0 = (2, √2, −1, 2 − √2, ½), f* = 0 at 1."""
    n = 5
    return build("HS47", HS.format(47, "HS47"), n,
                 [power(n, {0: 1, 1: -1}), power(n, {1: 1, 2: -1}, p=3),
                  power(n, {2: 1, 3: -1}, p=4), power(n, {3: 1, 4: -1}, p=4)],
                 [[monomial(n, {0: 1}), monomial(n, {1: 2}), monomial(n, {2: 3}), constant(n, -3)],
                  [power(n, {1: 1, 3: 1}, 1, p=1), power(n, {2: 1}, w=-1)],
                  [monomial(n, {0: 1, 4: 1}), constant(n, -1)]],
                 x0=[2.0, np.sqrt(2), -1.0, 2 - np.sqrt(2), 0.5], f_star=0.0, x_star=np.ones(n))


@register("HS49")
def hs49() -> EqualityConstrainedProblem:
    """min (x₁−x₂)² + (x₃−1)² + (x₄−1)⁴ + (x₅−1)⁶  s.t.  x₁ + x₂ + x₃ + 4x₄ = 7,
    x₃ + 5x₅ = 6;  x0 = (10, 7, 2, −3, 0.8), f* = 0 at 1."""
    n = 5
    return build("HS49", HS.format(49, "HS49"), n, _hs46_49_objective(n),
                 [[power(n, {0: 1, 1: 1, 2: 1, 3: 4}, 7, p=1)], [power(n, {2: 1, 4: 5}, 6, p=1)]],
                 x0=[10.0, 7.0, 2.0, -3.0, 0.8], f_star=0.0, x_star=np.ones(n))


@register("HS50")
def hs50() -> EqualityConstrainedProblem:
    """min (x₁−x₂)² + (x₂−x₃)² + (x₃−x₄)⁴ + (x₄−x₅)²  s.t.  xᵢ + 2xᵢ₊₁ + 3xᵢ₊₂ = 6
    (i = 1, 2, 3);  x0 = (35, −31, 11, 5, −5), f* = 0 at 1."""
    n = 5
    return build("HS50", HS.format(50, "HS50"), n,
                 [power(n, {0: 1, 1: -1}), power(n, {1: 1, 2: -1}), power(n, {2: 1, 3: -1}, p=4),
                  power(n, {3: 1, 4: -1})],
                 [[power(n, {i: 1, i + 1: 2, i + 2: 3}, 6, p=1)] for i in range(3)],
                 x0=[35.0, -31.0, 11.0, 5.0, -5.0], f_star=0.0, x_star=np.ones(n))


@register("HS56")
def hs56() -> EqualityConstrainedProblem:
    """min −x₁x₂x₃  s.t.  xᵢ = 4.2 sin²xᵢ₊₃ (i = 1, 2, 3), x₁ + 2x₂ + 2x₃ = 7.2 sin²x₇;
    x0 = (1, 1, 1, a, a, a, b), a = asin √(1/4.2), b = asin √(5/7.2); f* = −3.456."""
    n = 7
    a, b = np.arcsin(np.sqrt(1 / 4.2)), np.arcsin(np.sqrt(5 / 7.2))
    cons = [[power(n, {i: 1}, p=1), sine_squared(n, {i + 3: 1}, w=-4.2)] for i in range(3)]
    cons.append([power(n, {0: 1, 1: 2, 2: 2}, p=1), sine_squared(n, {6: 1}, w=-7.2)])
    return build("HS56", HS.format(56, "HS56"), n, [monomial(n, {0: 1, 1: 1, 2: 1}, -1)], cons,
                 x0=[1.0, 1.0, 1.0, a, a, a, b], f_star=-3.456)


@register("HS77")
def hs77() -> EqualityConstrainedProblem:
    """min (x₁−1)² + (x₁−x₂)² + (x₃−1)² + (x₄−1)⁴ + (x₅−1)⁶  s.t.
    x₁²x₄ + sin(x₄ − x₅) = 2√2,  x₂ + x₃⁴x₄² = 8 + √2;  x0 = 2·1, f* = 0.24150513."""
    n = 5
    r2 = np.sqrt(2)
    return build("HS77", HS.format(77, "HS77"), n,
                 [power(n, {0: 1}, 1), power(n, {0: 1, 1: -1}), power(n, {2: 1}, 1),
                  power(n, {3: 1}, 1, p=4), power(n, {4: 1}, 1, p=6)],
                 [[monomial(n, {0: 2, 3: 1}), sine(n, {3: 1, 4: -1}), constant(n, -2 * r2)],
                  [monomial(n, {1: 1}), monomial(n, {2: 4, 3: 2}), constant(n, -(8 + r2))]],
                 x0=np.full(n, 2.0), f_star=0.24150513)


@register("HS78")
def hs78() -> EqualityConstrainedProblem:
    """min x₁x₂x₃x₄x₅  s.t.  Σxᵢ² = 10, x₂x₃ − 5x₄x₅ = 0, x₁³ + x₂³ = −1;
    x0 = (−2, 1.5, 2, −1, −1), f* = −2.91970041."""
    n = 5
    return build("HS78", HS.format(78, "HS78"), n, [monomial(n, {i: 1 for i in range(n)})],
                 [[power(n, {i: 1}) for i in range(n)] + [constant(n, -10)],
                  [monomial(n, {1: 1, 2: 1}), monomial(n, {3: 1, 4: 1}, -5)],
                  [monomial(n, {0: 3}), monomial(n, {1: 3}), constant(n, 1)]],
                 x0=[-2.0, 1.5, 2.0, -1.0, -1.0], f_star=-2.91970041)


@register("HS79")
def hs79() -> EqualityConstrainedProblem:
    """min (x₁−1)² + (x₁−x₂)² + (x₂−x₃)² + (x₃−x₄)⁴ + (x₄−x₅)⁴  s.t.
    x₁ + x₂² + x₃³ = 2 + 3√2,  x₂ − x₃² + x₄ = −2 + 2√2,  x₁x₅ = 2;  x0 = 2·1,
    f* = 0.0787768209."""
    n = 5
    r2 = np.sqrt(2)
    return build("HS79", HS.format(79, "HS79"), n,
                 [power(n, {0: 1}, 1), power(n, {0: 1, 1: -1}), power(n, {1: 1, 2: -1}),
                  power(n, {2: 1, 3: -1}, p=4), power(n, {3: 1, 4: -1}, p=4)],
                 [[monomial(n, {0: 1}), monomial(n, {1: 2}), monomial(n, {2: 3}),
                   constant(n, -(2 + 3 * r2))],
                  [power(n, {1: 1, 3: 1}, -2 + 2 * r2, p=1), power(n, {2: 1}, w=-1)],
                  [monomial(n, {0: 1, 4: 1}), constant(n, -2)]],
                 x0=np.full(n, 2.0), f_star=0.0787768209)


# ----------------------------------------------------------------------------- issue 27 additions
# Hand-coded f, ∇f, c, G and ∇²ₓL (checked by check_derivatives in the tests). HS60, HS63,
# HS80 and HS81 carry simple bounds in Hock & Schittkowski that are inactive at x*: the
# equality-constrained programs here drop them (f* unchanged; scipy's SLSQP from x0 agrees).


@register("HS8")
def hs8() -> EqualityConstrainedProblem:
    """min −1  s.t.  x₁² + x₂² − 25 = 0, x₁x₂ − 9 = 0;  x0 = (2, 1), f* = −1.

    A feasibility problem: f is constant, so any of the four intersection points
    (e.g. (4.6016, 1.9558)) is optimal and λ* = 0.
    """
    return EqualityConstrainedProblem(
        f=lambda x: -1.0, grad=lambda x: np.zeros(2),
        c=lambda x: np.array([x[0] ** 2 + x[1] ** 2 - 25, x[0] * x[1] - 9]),
        jac=lambda x: np.array([[2 * x[0], 2 * x[1]], [x[1], x[0]]]),
        hess_lag=lambda x, lam: np.array([[2 * lam[0], lam[1]], [lam[1], 2 * lam[0]]]),
        x0=np.array([2.0, 1.0]), f_star=-1.0, name="HS8", source=HS.format(8, "HS8"),
    )


@register("HS9")
def hs9() -> EqualityConstrainedProblem:
    """min sin(πx₁/12) cos(πx₂/16)  s.t.  4x₁ − 3x₂ = 0;  x0 = (0, 0), f* = −0.5."""
    a, b = np.pi / 12, np.pi / 16
    c, jac = _linear([[4, -3]], [0])

    def hess(x, lam):
        s1, c1, s2, c2 = np.sin(a * x[0]), np.cos(a * x[0]), np.sin(b * x[1]), np.cos(b * x[1])
        off = -a * b * c1 * s2
        return np.array([[-a * a * s1 * c2, off], [off, -b * b * s1 * c2]])

    return EqualityConstrainedProblem(
        f=lambda x: np.sin(a * x[0]) * np.cos(b * x[1]),
        grad=lambda x: np.array([a * np.cos(a * x[0]) * np.cos(b * x[1]),
                                 -b * np.sin(a * x[0]) * np.sin(b * x[1])]),
        c=c, jac=jac, hess_lag=hess, x0=np.zeros(2), f_star=-0.5,
        name="HS9", source=HS.format(9, "HS9"),
    )


@register("HS60")
def hs60() -> EqualityConstrainedProblem:
    """min (x₁−1)² + (x₁−x₂)² + (x₂−x₃)⁴  s.t.  x₁(1 + x₂²) + x₃⁴ − 4 − 3√2 = 0;
    x0 = (2, 2, 2), f* = 0.0325682003 (bounds −10 ≤ xᵢ ≤ 10 inactive)."""
    def grad(x):
        d = x[1] - x[2]
        return np.array([2 * (x[0] - 1) + 2 * (x[0] - x[1]), -2 * (x[0] - x[1]) + 4 * d ** 3,
                         -4 * d ** 3])

    def hess(x, lam):
        q = 12 * (x[1] - x[2]) ** 2
        H = np.array([[4.0, -2, 0], [-2, 2 + q, -q], [0, -q, q]])
        H += lam[0] * np.array([[0, 2 * x[1], 0], [2 * x[1], 2 * x[0], 0],
                                [0, 0, 12 * x[2] ** 2]])
        return H

    return EqualityConstrainedProblem(
        f=lambda x: (x[0] - 1) ** 2 + (x[0] - x[1]) ** 2 + (x[1] - x[2]) ** 4, grad=grad,
        c=lambda x: np.array([x[0] * (1 + x[1] ** 2) + x[2] ** 4 - 4 - 3 * np.sqrt(2)]),
        jac=lambda x: np.array([[1 + x[1] ** 2, 2 * x[0] * x[1], 4 * x[2] ** 3]]),
        hess_lag=hess, x0=np.full(3, 2.0), f_star=0.0325682003,
        name="HS60", source=HS.format(60, "HS60"),
    )


@register("HS61")
def hs61() -> EqualityConstrainedProblem:
    """min 4x₁² + 2x₂² + 2x₃² − 33x₁ + 16x₂ − 24x₃  s.t.  3x₁ − 2x₂² − 7 = 0,
    4x₁ − x₃² − 11 = 0;  x0 = (0, 0, 0), f* = −143.6461422.

    The constraint Jacobian [[3, −4x₂, 0], [4, 0, −2x₃]] has rank 1 at x0.
    """
    q = np.array([8.0, 4.0, 4.0])
    lin = np.array([-33.0, 16.0, -24.0])
    return EqualityConstrainedProblem(
        f=lambda x: 4 * x[0] ** 2 + 2 * x[1] ** 2 + 2 * x[2] ** 2 + lin @ x,
        grad=lambda x: q * x + lin,
        c=lambda x: np.array([3 * x[0] - 2 * x[1] ** 2 - 7, 4 * x[0] - x[2] ** 2 - 11]),
        jac=lambda x: np.array([[3.0, -4 * x[1], 0.0], [4.0, 0.0, -2 * x[2]]]),
        hess_lag=lambda x, lam: np.diag(q + np.array([0.0, -4 * lam[0], -2 * lam[1]])),
        x0=np.zeros(3), f_star=-143.6461422, name="HS61", source=HS.format(61, "HS61"),
    )


@register("HS63")
def hs63() -> EqualityConstrainedProblem:
    """min 1000 − x₁² − 2x₂² − x₃² − x₁x₂ − x₁x₃  s.t.  8x₁ + 14x₂ + 7x₃ − 56 = 0,
    x₁² + x₂² + x₃² − 25 = 0;  x0 = (2, 2, 2), f* = 961.7151721 (bounds x ≥ 0 inactive)."""
    Q = -np.array([[2.0, 1, 1], [1, 4, 0], [1, 0, 2]])  # ∇²f
    return EqualityConstrainedProblem(
        f=lambda x: 1000 + 0.5 * x @ Q @ x, grad=lambda x: Q @ x,
        c=lambda x: np.array([8 * x[0] + 14 * x[1] + 7 * x[2] - 56, x @ x - 25]),
        jac=lambda x: np.array([[8.0, 14.0, 7.0], 2 * x]),
        hess_lag=lambda x, lam: Q + 2 * lam[1] * np.eye(3), x0=np.full(3, 2.0),
        f_star=961.7151721, name="HS63", source=HS.format(63, "HS63"),
    )


def _hs80_constraints():
    """Σxᵢ² − 10, x₂x₃ − 5x₄x₅, x₁³ + x₂³ + 1: values, Jacobian, Σλᵢ∇²cᵢ."""
    def c(x):
        return np.array([x @ x - 10, x[1] * x[2] - 5 * x[3] * x[4], x[0] ** 3 + x[1] ** 3 + 1])

    def jac(x):
        return np.array([2 * x, [0, x[2], x[1], -5 * x[4], -5 * x[3]],
                         [3 * x[0] ** 2, 3 * x[1] ** 2, 0, 0, 0]])

    def hess(x, lam):
        H = 2 * lam[0] * np.eye(5)
        H[1, 2] = H[2, 1] = lam[1]
        H[3, 4] = H[4, 3] = -5 * lam[1]
        H[0, 0] += 6 * lam[2] * x[0]
        H[1, 1] += 6 * lam[2] * x[1]
        return H

    return c, jac, hess


def _exp_prod(x):
    """e^{x₁x₂x₃x₄x₅}, its gradient and Hessian."""
    with np.errstate(over="ignore"):  # inf far from x*: a method shortens its step
        e = np.exp(np.prod(x))
    p = np.array([np.prod(np.delete(x, i)) for i in range(5)])  # ∂(Πx)/∂xᵢ
    P2 = np.zeros((5, 5))
    for i in range(5):
        for j in range(5):
            if i != j:
                P2[i, j] = np.prod(np.delete(x, [i, j]))
    return e, e * p, e * (np.outer(p, p) + P2)


@register("HS80")
def hs80() -> EqualityConstrainedProblem:
    """min exp(x₁x₂x₃x₄x₅)  s.t.  Σxᵢ² = 10, x₂x₃ = 5x₄x₅, x₁³ + x₂³ = −1;
    x0 = (−2, 2, 2, −1, −1), f* = 0.0539498478 (bounds inactive)."""
    c, jac, hc = _hs80_constraints()
    return EqualityConstrainedProblem(
        f=lambda x: _exp_prod(x)[0], grad=lambda x: _exp_prod(x)[1], c=c, jac=jac,
        hess_lag=lambda x, lam: _exp_prod(x)[2] + hc(x, lam),
        x0=np.array([-2.0, 2.0, 2.0, -1.0, -1.0]), f_star=0.0539498478,
        name="HS80", source=HS.format(80, "HS80"),
    )


@register("HS81")
def hs81() -> EqualityConstrainedProblem:
    """min exp(x₁x₂x₃x₄x₅) − ½(x₁³ + x₂³ + 1)²  s.t.  the constraints of HS80;
    x0 = (−2, 2, 2, −1, −1), f* = 0.0539498478 (bounds inactive)."""
    c, jac, hc = _hs80_constraints()

    def grad(x):
        s = x[0] ** 3 + x[1] ** 3 + 1
        return _exp_prod(x)[1] - s * np.array([3 * x[0] ** 2, 3 * x[1] ** 2, 0, 0, 0])

    def hess(x, lam):
        s = x[0] ** 3 + x[1] ** 3 + 1
        u = np.array([3 * x[0] ** 2, 3 * x[1] ** 2, 0, 0, 0])
        H = _exp_prod(x)[2] - np.outer(u, u) + hc(x, lam)
        H[0, 0] -= 6 * s * x[0]
        H[1, 1] -= 6 * s * x[1]
        return H

    return EqualityConstrainedProblem(
        f=lambda x: _exp_prod(x)[0] - 0.5 * (x[0] ** 3 + x[1] ** 3 + 1) ** 2, grad=grad,
        c=c, jac=jac, hess_lag=hess, x0=np.array([-2.0, 2.0, 2.0, -1.0, -1.0]),
        f_star=0.0539498478, name="HS81", source=HS.format(81, "HS81"),
    )


@register("HS100LNP")
def hs100lnp() -> EqualityConstrainedProblem:
    """HS100 with its two active inequalities as equalities (CUTEst HS100LNP):
    min (x₁−10)² + 5(x₂−12)² + x₃⁴ + 3(x₄−11)² + 10x₅⁶ + 7x₆² + x₇⁴ − 4x₆x₇ − 10x₆ − 8x₇
    s.t. 2x₁² + 3x₂⁴ + x₃ + 4x₄² + 5x₅ − 127 = 0,
    −4x₁² − x₂² + 3x₁x₂ − 2x₃² − 5x₆ + 11x₇ = 0;  x0 = (1, 2, 0, 4, 0, 1, 1), f* = 680.630057."""
    def f(x):
        return ((x[0] - 10) ** 2 + 5 * (x[1] - 12) ** 2 + x[2] ** 4 + 3 * (x[3] - 11) ** 2
                + 10 * x[4] ** 6 + 7 * x[5] ** 2 + x[6] ** 4 - 4 * x[5] * x[6] - 10 * x[5]
                - 8 * x[6])

    def grad(x):
        return np.array([2 * (x[0] - 10), 10 * (x[1] - 12), 4 * x[2] ** 3, 6 * (x[3] - 11),
                         60 * x[4] ** 5, 14 * x[5] - 4 * x[6] - 10, 4 * x[6] ** 3 - 4 * x[5] - 8])

    def hess(x, lam):
        H = np.diag([2.0, 10.0, 12 * x[2] ** 2, 6.0, 300 * x[4] ** 4, 14.0, 12 * x[6] ** 2])
        H[5, 6] = H[6, 5] = -4.0
        H += lam[0] * np.diag([4.0, 36 * x[1] ** 2, 0, 8.0, 0, 0, 0])
        H2 = np.zeros((7, 7))
        H2[0, 0], H2[1, 1], H2[2, 2] = -8.0, -2.0, -4.0
        H2[0, 1] = H2[1, 0] = 3.0
        return H + lam[1] * H2

    return EqualityConstrainedProblem(
        f=f, grad=grad,
        c=lambda x: np.array([2 * x[0] ** 2 + 3 * x[1] ** 4 + x[2] + 4 * x[3] ** 2 + 5 * x[4]
                              - 127,
                              -4 * x[0] ** 2 - x[1] ** 2 + 3 * x[0] * x[1] - 2 * x[2] ** 2
                              - 5 * x[5] + 11 * x[6]]),
        jac=lambda x: np.array([[4 * x[0], 12 * x[1] ** 3, 1.0, 8 * x[3], 5.0, 0.0, 0.0],
                                [-8 * x[0] + 3 * x[1], -2 * x[1] + 3 * x[0], -4 * x[2], 0.0,
                                 0.0, -5.0, 11.0]]),
        hess_lag=hess, x0=np.array([1.0, 2.0, 0.0, 4.0, 0.0, 1.0, 1.0]), f_star=680.630057,
        name="HS100LNP", source=HS.format(100, "HS100LNP"),
    )


_HS111_C = np.array([-6.089, -17.164, -34.054, -5.914, -24.721, -14.986, -24.1, -10.708,
                     -26.662, -22.179])
_HS111_A = np.array([[1.0, 2, 2, 0, 0, 1, 0, 0, 0, 1],
                     [0, 0, 0, 1, 2, 1, 1, 0, 0, 0],
                     [0, 0, 1, 0, 0, 0, 1, 1, 2, 1]])
_HS111_D = np.array([2.0, 1.0, 1.0])


@register("HS111LNP")
def hs111lnp() -> EqualityConstrainedProblem:
    """Chemical equilibrium (CUTEst HS111LNP, HS111 without its bounds):
    min Σⱼ yⱼ (cⱼ + xⱼ − ln S), yⱼ = e^{xⱼ}, S = Σₖ yₖ,  s.t.  A y = (2, 1, 1);
    x0 = −2.3·1, f* = −47.76109026.

    ∇f = y ∘ (c + x − ln S);  ∇²f = diag(y ∘ (c + x − ln S + 1)) − y yᵀ/S;
    G = A diag(y);  Σᵢ λᵢ∇²cᵢ = diag(y ∘ Aᵀλ).
    """
    C, A, d = _HS111_C, _HS111_A, _HS111_D

    def f(x):
        y = np.exp(x)
        return y @ (C + x - np.log(y.sum()))

    def grad(x):
        y = np.exp(x)
        return y * (C + x - np.log(y.sum()))

    def hess(x, lam):
        y = np.exp(x)
        S = y.sum()
        return np.diag(y * (C + x - np.log(S) + 1 + A.T @ lam)) - np.outer(y, y) / S

    return EqualityConstrainedProblem(
        f=f, grad=grad, c=lambda x: A @ np.exp(x) - d, jac=lambda x: A * np.exp(x),
        hess_lag=hess, x0=np.full(10, -2.3), f_star=-47.76109026,
        name="HS111LNP", source=HS.format(111, "HS111LNP"),
    )

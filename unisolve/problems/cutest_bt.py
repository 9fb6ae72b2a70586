"""The BT equality-constrained test problems (Byrd & Tapia), hand-coded.

Formulas, start points and optimal values as published in the CUTEst SIF
collection (problems BT1–BT12; origin: P.T. Boggs and J.W. Tolle, "A strategy
for global convergence in a sequential quadratic programming algorithm", SINUM
26, 1989). Each term is written with :mod:`._terms` so that the code reads as
the formula; indices below are 0-based (x[0] is the paper's x₁).
"""

from __future__ import annotations

import numpy as np

from ._terms import build, constant, monomial, power, sine
from .constrained import EqualityConstrainedProblem, register

BT = "Boggs & Tolle (1989) via CUTEst {}"
R2 = np.sqrt(2.0)


@register("BT1")
def bt1() -> EqualityConstrainedProblem:
    """min 100x₁² + 100x₂² − x₁ − 100  s.t.  x₁² + x₂² = 1;  f* = −1 at (1, 0)."""
    n = 2
    return build("BT1", BT.format("BT1"), n,
                 [power(n, {0: 1}, w=100), power(n, {1: 1}, w=100), power(n, {0: 1}, p=1, w=-1),
                  constant(n, -100)],
                 [[power(n, {0: 1}), power(n, {1: 1}), constant(n, -1)]],
                 x0=[0.08, 0.06], f_star=-1.0, x_star=[1.0, 0.0])


@register("BT2")
def bt2() -> EqualityConstrainedProblem:
    """min (x₁−1)² + (x₁−x₂)² + (x₂−x₃)⁴  s.t.  x₁(1 + x₂²) + x₃⁴ = 4 + 3√2;  x0 = 10·1."""
    n = 3
    return build("BT2", BT.format("BT2"), n,
                 [power(n, {0: 1}, 1), power(n, {0: 1, 1: -1}), power(n, {1: 1, 2: -1}, p=4)],
                 [[monomial(n, {0: 1}), monomial(n, {0: 1, 1: 2}), monomial(n, {2: 4}),
                   constant(n, -(4 + 3 * R2))]],
                 x0=[10.0, 10.0, 10.0], f_star=0.032568200)


@register("BT3")
def bt3() -> EqualityConstrainedProblem:
    """min (x₁−x₂)² + (x₂+x₃−2)² + (x₄−1)² + (x₅−1)²  s.t.  x₁ + 3x₂ = 0, x₃ + x₄ − 2x₅ = 0,
    x₂ − x₅ = 0;  x0 = 20·1. A convex QP: its KKT system gives x* = (−33, 11, 27, −5, 11)/43
    and f* = 176/43 = 4.0930232558...; the SIF file's 4.09301056 is off in the 6th digit
    (kept as ``meta["cutest_soltn"]``)."""
    n = 5
    return build("BT3", BT.format("BT3"), n,
                 [power(n, {0: 1, 1: -1}), power(n, {1: 1, 2: 1}, 2), power(n, {3: 1}, 1),
                  power(n, {4: 1}, 1)],
                 [[power(n, {0: 1, 1: 3}, p=1)], [power(n, {2: 1, 3: 1, 4: -2}, p=1)],
                  [power(n, {1: 1, 4: -1}, p=1)]],
                 x0=np.full(n, 20.0), f_star=176 / 43,
                 x_star=np.array([-33.0, 11.0, 27.0, -5.0, 11.0]) / 43,
                 meta={"cutest_soltn": 4.09301056})


@register("BT4")
def bt4() -> EqualityConstrainedProblem:
    """min x₁ − x₂ + x₂³  s.t.  x₁² + x₂² + x₃² = 25, x₁ + x₂ + x₃ = 1;
    x0 = (4.0382, −2.9470, −0.09115). CUTEst lists two local optima, f = 3.28903771
    and −45.510551; the line search from x0 reaches the second."""
    n = 3
    return build("BT4", BT.format("BT4"), n,
                 [power(n, {0: 1, 1: -1}, p=1), monomial(n, {1: 3})],
                 [[power(n, {0: 1}), power(n, {1: 1}), power(n, {2: 1}), constant(n, -25)],
                  [power(n, {0: 1, 1: 1, 2: 1}, 1, p=1)]],
                 x0=[4.0382, -2.9470, -0.09115], f_star=-45.510551,
                 meta={"other_local_f": 3.28903771})


@register("BT5")
def bt5() -> EqualityConstrainedProblem:
    """min 1000 − x₁² − 2x₂² − x₃² − x₁x₂ − x₁x₃  s.t.  x₁² + x₂² + x₃² = 25,
    8x₁ + 14x₂ + 7x₃ = 56;  x0 = 2·1 (HS63 without its bounds)."""
    n = 3
    return build("BT5", BT.format("BT5"), n,
                 [constant(n, 1000), power(n, {0: 1}, w=-1), power(n, {1: 1}, w=-2),
                  power(n, {2: 1}, w=-1), monomial(n, {0: 1, 1: 1}, -1),
                  monomial(n, {0: 1, 2: 1}, -1)],
                 [[power(n, {0: 1}), power(n, {1: 1}), power(n, {2: 1}), constant(n, -25)],
                  [power(n, {0: 8, 1: 14, 2: 7}, 56, p=1)]],
                 x0=[2.0, 2.0, 2.0], f_star=961.71517219)


@register("BT6")
def bt6() -> EqualityConstrainedProblem:
    """min (x₁−1)² + (x₁−x₂)² + (x₃−1)² + (x₄−1)⁴ + (x₅−1)⁶  s.t.
    x₄x₁² + sin(x₄ − x₅) = 2√2,  x₃⁴x₂² + x₂ = 8 + √2;  x0 = 2·1."""
    n = 5
    return build("BT6", BT.format("BT6"), n,
                 [power(n, {0: 1}, 1), power(n, {0: 1, 1: -1}), power(n, {2: 1}, 1),
                  power(n, {3: 1}, 1, p=4), power(n, {4: 1}, 1, p=6)],
                 [[monomial(n, {0: 2, 3: 1}), sine(n, {3: 1, 4: -1}), constant(n, -2 * R2)],
                  [monomial(n, {1: 2, 2: 4}), monomial(n, {1: 1}), constant(n, -(8 + R2))]],
                 x0=np.full(n, 2.0), f_star=0.277044924)


@register("BT7")
def bt7() -> EqualityConstrainedProblem:
    """min 100(x₂ − x₁²)² + (x₁−1)²  s.t.  x₁x₂ − x₃² = 1, x₂² − x₄² + x₁ = 0,
    x₅² + x₁ = 0.5;  x0 = (−2, 1, 1, 1, 1). The line search from x0 reaches the KKT point
    x* = (1/2, 2, 0, −3/√2, 0), λ* = (−700, 0, 1751), f* = 100·(7/4)² + 1/4 = 306.5 exactly,
    with reduced Hessian diag(1400, 3502) ≻ 0: a strict local minimum. The SIF file's
    306.49640688 is no KKT point of these formulas (kept as ``meta["cutest_soltn"]``);
    the other local minimum, f = 360.3797, is where SLSQP goes."""
    n = 5
    # 100(x₂ − x₁²)² = 100x₂² − 200x₁²x₂ + 100x₁⁴
    return build("BT7", BT.format("BT7"), n,
                 [monomial(n, {1: 2}, 100), monomial(n, {0: 2, 1: 1}, -200),
                  monomial(n, {0: 4}, 100), power(n, {0: 1}, 1)],
                 [[monomial(n, {0: 1, 1: 1}), power(n, {2: 1}, w=-1), constant(n, -1)],
                  [power(n, {1: 1}), power(n, {3: 1}, w=-1), power(n, {0: 1}, p=1)],
                  [power(n, {4: 1}), power(n, {0: 1}, 0.5, p=1)]],
                 x0=[-2.0, 1.0, 1.0, 1.0, 1.0], f_star=306.5,
                 x_star=[0.5, 2.0, 0.0, -3 / np.sqrt(2), 0.0],
                 meta={"cutest_soltn": 306.49640688})


@register("BT8")
def bt8() -> EqualityConstrainedProblem:
    """min x₁² + x₂² + x₃²  s.t.  x₁ − 1 − x₄² + x₂² = 0, x₁² + x₂² − x₅² − 1 = 0;
    x0 = (1, 1, 1, 0, 0), f* = 1."""
    n = 5
    return build("BT8", BT.format("BT8"), n,
                 [power(n, {0: 1}), power(n, {1: 1}), power(n, {2: 1})],
                 [[power(n, {0: 1}, 1, p=1), power(n, {3: 1}, w=-1), power(n, {1: 1})],
                  [power(n, {0: 1}), power(n, {1: 1}), power(n, {4: 1}, w=-1), constant(n, -1)]],
                 x0=[1.0, 1.0, 1.0, 0.0, 0.0], f_star=1.0)


@register("BT9")
def bt9() -> EqualityConstrainedProblem:
    """min −x₁  s.t.  x₂ − x₁³ − x₃² = 0, x₁² − x₂ − x₄² = 0;  x0 = 2·1, f* = −1."""
    n = 4
    return build("BT9", BT.format("BT9"), n, [power(n, {0: 1}, p=1, w=-1)],
                 [[monomial(n, {1: 1}), monomial(n, {0: 3}, -1), power(n, {2: 1}, w=-1)],
                  [power(n, {0: 1}), monomial(n, {1: 1}, -1), power(n, {3: 1}, w=-1)]],
                 x0=np.full(n, 2.0), f_star=-1.0, x_star=[1.0, 1.0, 0.0, 0.0])


@register("BT10")
def bt10() -> EqualityConstrainedProblem:
    """min −x₁  s.t.  x₂ − x₁³ = 0, x₁² − x₂ = 0;  x0 = (2, 2), f* = −1 at (1, 1)."""
    n = 2
    return build("BT10", BT.format("BT10"), n, [power(n, {0: 1}, p=1, w=-1)],
                 [[monomial(n, {1: 1}), monomial(n, {0: 3}, -1)],
                  [power(n, {0: 1}), monomial(n, {1: 1}, -1)]],
                 x0=[2.0, 2.0], f_star=-1.0, x_star=[1.0, 1.0])


@register("BT11")
def bt11() -> EqualityConstrainedProblem:
    """min (x₁−1)² + (x₁−x₂)² + (x₂−x₃)² + (x₃−x₄)⁴ + (x₄−x₅)⁴  s.t.
    x₁ + x₂² + x₃³ = −2 + √18,  x₂ + x₄ − x₃² = −2 + √8,  x₁ − x₅ = 2;  x0 = 2·1."""
    n = 5
    return build("BT11", BT.format("BT11"), n,
                 [power(n, {0: 1}, 1), power(n, {0: 1, 1: -1}), power(n, {1: 1, 2: -1}),
                  power(n, {2: 1, 3: -1}, p=4), power(n, {3: 1, 4: -1}, p=4)],
                 [[monomial(n, {0: 1}), monomial(n, {1: 2}), monomial(n, {2: 3}),
                   constant(n, 2 - np.sqrt(18))],
                  [power(n, {1: 1, 3: 1}, -2 + np.sqrt(8), p=1), power(n, {2: 1}, w=-1)],
                  [power(n, {0: 1, 4: -1}, 2, p=1)]],
                 x0=np.full(n, 2.0), f_star=0.824891647)


@register("BT12")
def bt12() -> EqualityConstrainedProblem:
    """min 0.01x₁² + x₂²  s.t.  x₁ + x₂ − x₃² = 25, x₁² + x₂² − x₄² = 25, x₁ − x₅² = 2;
    x0 = (15.811, 1.5811, 0, 15.083, 3.7164)."""
    n = 5
    return build("BT12", BT.format("BT12"), n, [power(n, {0: 1}, w=0.01), power(n, {1: 1})],
                 [[power(n, {0: 1, 1: 1}, 25, p=1), power(n, {2: 1}, w=-1)],
                  [power(n, {0: 1}), power(n, {1: 1}), power(n, {3: 1}, w=-1),
                   constant(n, -25)],
                  [power(n, {0: 1}, 2, p=1), power(n, {4: 1}, w=-1)]],
                 x0=[15.811, 1.5811, 0.0, 15.083, 3.7164], f_star=6.18811881)

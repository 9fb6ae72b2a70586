"""More CUTEst equality-constrained problems: nonlinear equations and two others.

The ``…NE`` problems and HIMMELBA/BC, BOOTH, GOTTFR, ZANGWIL3 are square systems
c(x) = 0 written as constrained programs with objective f ≡ 0 (CUTEst's
"NE" form), so f* = 0 and solving means finding a root. MWRIGHT and ORTHREGB
have objectives. Formulas, starts and optimal values as published in the CUTEst
SIF collection; indices are 0-based (x[0] is x₁).
"""

from __future__ import annotations

import numpy as np

from ._terms import build, constant, monomial, power
from .constrained import EqualityConstrainedProblem, register

SIF = "CUTEst {} (origin: {})"


@register("HIMMELBA")
def himmelba() -> EqualityConstrainedProblem:
    """4x₁ − 20 = 0, x₂ − 6 = 0;  x0 = (8, 9), root (5, 6)."""
    n = 2
    return build("HIMMELBA", SIF.format("HIMMELBA", "Himmelblau (1972), problem 25"), n, [],
                 [[power(n, {0: 4}, 20, p=1)], [power(n, {1: 1}, 6, p=1)]],
                 x0=[8.0, 9.0], f_star=0.0, x_star=[5.0, 6.0])


@register("HIMMELBC")
def himmelbc() -> EqualityConstrainedProblem:
    """x₁² + x₂ − 11 = 0, x₁ + x₂² − 7 = 0;  x0 = (1, 1), root (3, 2)."""
    n = 2
    return build("HIMMELBC", SIF.format("HIMMELBC", "Himmelblau (1972), problem 28"), n, [],
                 [[power(n, {0: 1}), power(n, {1: 1}, 11, p=1)],
                  [power(n, {0: 1}, 7, p=1), power(n, {1: 1})]],
                 x0=[1.0, 1.0], f_star=0.0, x_star=[3.0, 2.0])


@register("BOOTH")
def booth() -> EqualityConstrainedProblem:
    """x₁ + 2x₂ − 7 = 0, 2x₁ + x₂ − 5 = 0;  x0 = (0, 0), root (1, 3)."""
    n = 2
    return build("BOOTH", SIF.format("BOOTH", "Himmelblau (1972), problem 7"), n, [],
                 [[power(n, {0: 1, 1: 2}, 7, p=1)], [power(n, {0: 2, 1: 1}, 5, p=1)]],
                 x0=[0.0, 0.0], f_star=0.0, x_star=[1.0, 3.0])


@register("CUBENE")
def cubene() -> EqualityConstrainedProblem:
    """x₁ − 1 = 0, 10(x₂ − x₁³) = 0;  x0 = (−1.2, 1), root (1, 1)."""
    n = 2
    return build("CUBENE", SIF.format("CUBENE", "Leon's cube function"), n, [],
                 [[power(n, {0: 1}, 1, p=1)], [monomial(n, {1: 1}, 10), monomial(n, {0: 3}, -10)]],
                 x0=[-1.2, 1.0], f_star=0.0, x_star=[1.0, 1.0])


@register("RSNBRNE")
def rsnbrne() -> EqualityConstrainedProblem:
    """10(x₂ − x₁²) = 0, x₁ − 1 = 0 (Rosenbrock's residuals);  x0 = (−1.2, 1), root (1, 1)."""
    n = 2
    return build("RSNBRNE", SIF.format("RSNBRNE", "Rosenbrock (1960)"), n, [],
                 [[monomial(n, {1: 1}, 10), power(n, {0: 1}, w=-10)],
                  [power(n, {0: 1}, 1, p=1)]],
                 x0=[-1.2, 1.0], f_star=0.0, x_star=[1.0, 1.0])


def _helix_angle_term(n: int, w: float):
    """w θ(x₁, x₂), θ = atan2(x₂, x₁)/(2π), the angle of (x₁, x₂) in turns (CUTEst's form).

    With r² = x₁² + x₂²: ∇θ = (−x₂, x₁)/(2π r²), and ∇²θ has entries
    (2x₁x₂, x₂² − x₁², −2x₁x₂)/(2π r⁴).
    """
    def term(x):
        x1, x2 = x[0], x[1]
        r2 = x1 * x1 + x2 * x2
        theta = np.arctan2(x2, x1) / (2 * np.pi)
        g, H = np.zeros(n), np.zeros((n, n))
        g[:2] = np.array([-x2, x1]) / (2 * np.pi * r2)
        H[:2, :2] = np.array([[2 * x1 * x2, x2 * x2 - x1 * x1],
                              [x2 * x2 - x1 * x1, -2 * x1 * x2]]) / (2 * np.pi * r2 * r2)
        return w * theta, w * g, w * H
    return term


def _radius_term(n: int, w: float):
    """w √(x₁² + x₂²): ∇ = w u, ∇² = w (I − u uᵀ)/r with u = (x₁, x₂)/r."""
    def term(x):
        r = np.hypot(x[0], x[1])
        u = np.array([x[0], x[1]]) / r
        g, H = np.zeros(n), np.zeros((n, n))
        g[:2] = u
        H[:2, :2] = (np.eye(2) - np.outer(u, u)) / r
        return w * r, w * g, w * H
    return term


@register("HELIXNE")
def helixne() -> EqualityConstrainedProblem:
    """10(x₃ − 10θ(x₁, x₂)) = 0, 10(√(x₁² + x₂²) − 1) = 0, x₃ = 0 (Fletcher–Powell helical
    valley);  x0 = (−1, 0, 0), root (1, 0, 0)."""
    n = 3
    return build("HELIXNE", SIF.format("HELIXNE", "Fletcher & Powell (1963)"), n, [],
                 [[power(n, {2: 10}, p=1), _helix_angle_term(n, -100.0)],
                  [_radius_term(n, 10.0), constant(n, -10)], [power(n, {2: 1}, p=1)]],
                 x0=[-1.0, 0.0, 0.0], f_star=0.0, x_star=[1.0, 0.0, 0.0])


@register("DENSCHNFNE")
def denschnfne() -> EqualityConstrainedProblem:
    """2(x₁+x₂)² + (x₁−x₂)² − 8 = 0, 5x₁² + (x₂−3)² − 9 = 0;  x0 = (2, 0)."""
    n = 2
    return build("DENSCHNFNE", SIF.format("DENSCHNFNE", "Dennis & Schnabel (1983), problem F"),
                 n, [],
                 [[power(n, {0: 1, 1: 1}, w=2), power(n, {0: 1, 1: -1}), constant(n, -8)],
                  [power(n, {0: 1}, w=5), power(n, {1: 1}, 3), constant(n, -9)]],
                 x0=[2.0, 0.0], f_star=0.0)


@register("GOTTFR")
def gottfr() -> EqualityConstrainedProblem:
    """x₁ − 0.1136(x₁ + 3x₂)(1 − x₁) = 0, x₂ + 7.5(2x₁ − x₂)(1 − x₂) = 0;  x0 = (½, ½)."""
    n = 2
    # expanded: x₁ − 0.1136(x₁ + 3x₂ − x₁² − 3x₁x₂) and x₂ + 7.5(2x₁ − x₂ − 2x₁x₂ + x₂²)
    return build("GOTTFR", SIF.format("GOTTFR", "Grippo, Lampariello & Lucidi"), n, [],
                 [[power(n, {0: 1 - 0.1136, 1: -0.3408}, p=1), power(n, {0: 1}, w=0.1136),
                   monomial(n, {0: 1, 1: 1}, 0.3408)],
                  [power(n, {0: 15, 1: 1 - 7.5}, p=1), monomial(n, {0: 1, 1: 1}, -15),
                   power(n, {1: 1}, w=7.5)]],
                 x0=[0.5, 0.5], f_star=0.0)


@register("PRICE4NE")
def price4ne() -> EqualityConstrainedProblem:
    """2x₁³x₂ − x₂³ = 0, 6x₁ − x₂² + x₂ = 0;  x0 = (1, 5)."""
    n = 2
    return build("PRICE4NE", SIF.format("PRICE4NE", "Price (1977)"), n, [],
                 [[monomial(n, {0: 3, 1: 1}, 2), monomial(n, {1: 3}, -1)],
                  [power(n, {0: 6, 1: 1}, p=1), power(n, {1: 1}, w=-1)]],
                 x0=[1.0, 5.0], f_star=0.0)


@register("ZANGWIL3")
def zangwil3() -> EqualityConstrainedProblem:
    """x₁ − x₂ + x₃ = 0, −x₁ + x₂ + x₃ = 0, x₁ + x₂ − x₃ = 0;  x0 = (100, −1, 2.5), root 0."""
    n = 3
    return build("ZANGWIL3", SIF.format("ZANGWIL3", "Zangwill (1967)"), n, [],
                 [[power(n, {0: 1, 1: -1, 2: 1}, p=1)], [power(n, {0: -1, 1: 1, 2: 1}, p=1)],
                  [power(n, {0: 1, 1: 1, 2: -1}, p=1)]],
                 x0=[100.0, -1.0, 2.5], f_star=0.0, x_star=np.zeros(3))


@register("MWRIGHT")
def mwright() -> EqualityConstrainedProblem:
    """min x₁² + (x₁−x₂)² + (x₂−x₃)³ + (x₃−x₄)⁴ + (x₄−x₅)⁴  s.t.  x₁ + x₂² + x₃² = 2 + 3√2,
    x₂ − x₃² + x₄ = −2 + 2√2, x₁x₅ = 2;  x0 = (−1, 2, 1, −2, −2).

    Several local minima: CUTEst lists f = 32.851791437 (``meta["cutest_soltn"]``), but
    from the published x0 every method here and SciPy's SLSQP reach the KKT point with
    f = 24.9788, so ``f_star`` is left unset and only the KKT residual is judged.
    """
    n = 5
    r2 = np.sqrt(2)
    return build("MWRIGHT", SIF.format("MWRIGHT", "M.H. Wright (1976)"), n,
                 [power(n, {0: 1}), power(n, {0: 1, 1: -1}), power(n, {1: 1, 2: -1}, p=3),
                  power(n, {2: 1, 3: -1}, p=4), power(n, {3: 1, 4: -1}, p=4)],
                 [[power(n, {0: 1}, 2 + 3 * r2, p=1), power(n, {1: 1}), power(n, {2: 1})],
                  [power(n, {1: 1, 3: 1}, -2 + 2 * r2, p=1), power(n, {2: 1}, w=-1)],
                  [monomial(n, {0: 1, 4: 1}), constant(n, -2)]],
                 x0=[-1.0, 2.0, 1.0, -2.0, -2.0], f_star=None,
                 meta={"cutest_soltn": 32.851791437})


# ORTHREGB: fit the quadric xᵀHx − 2gᵀx = 1 (H symmetric, 6 + 3 unknowns) orthogonally
# to the 6 points d ± (a, a), d ± (b, −b), d ± (0, 0, c) around the centre d = (½, ½, ½).
_ORTHREGB_A, _ORTHREGB_B, _ORTHREGB_C = 9.0, 6.0, 7.0


def _orthregb_data() -> np.ndarray:
    a, b, c = _ORTHREGB_A, _ORTHREGB_B, _ORTHREGB_C
    offsets = [(a, a, 0), (b, -b, 0), (-a, -a, 0), (-b, b, 0), (0, 0, c), (0, 0, -c)]
    return 0.5 + np.array(offsets, dtype=float)


@register("ORTHREGB")
def orthregb() -> EqualityConstrainedProblem:
    """Orthogonal regression of a quadric on 6 points: min Σⱼ ‖pⱼ − dⱼ‖² s.t. pⱼᵀHpⱼ − 2gᵀpⱼ = 1.

    Unknowns (27, CUTEst order): h₁₁, h₁₂, h₁₃, h₂₂, h₂₃, h₃₃, g₁, g₂, g₃, then (xⱼ, yⱼ, zⱼ)
    for each point; x0: H = I, g = 0, pⱼ = dⱼ; f* = 0 (the data lie on a quadric).
    """
    n = 27
    H11, H12, H13, H22, H23, H33, G1, G2, G3 = range(9)
    d = _orthregb_data()
    obj, cons = [], []
    for j, dj in enumerate(d):
        X, Y, Z = 9 + 3 * j, 10 + 3 * j, 11 + 3 * j
        obj += [power(n, {X: 1}, dj[0]), power(n, {Y: 1}, dj[1]), power(n, {Z: 1}, dj[2])]
        # h₁₁x² + 2h₁₂xy + h₂₂y² − 2g₁x − 2g₂y + 2h₁₃xz + 2h₂₃yz + h₃₃z² − 2g₃z − 1
        cons.append([monomial(n, {H11: 1, X: 2}), monomial(n, {H12: 1, X: 1, Y: 1}, 2),
                     monomial(n, {H22: 1, Y: 2}), monomial(n, {G1: 1, X: 1}, -2),
                     monomial(n, {G2: 1, Y: 1}, -2), monomial(n, {H13: 1, X: 1, Z: 1}, 2),
                     monomial(n, {H23: 1, Y: 1, Z: 1}, 2), monomial(n, {H33: 1, Z: 2}),
                     monomial(n, {G3: 1, Z: 1}, -2), constant(n, -1)])
    x0 = np.concatenate([[1, 0, 0, 1, 0, 1, 0, 0, 0], d.ravel()])
    return build("ORTHREGB", SIF.format("ORTHREGB", "M. Gulliksson (1990)"), n, obj, cons,
                 x0=x0, f_star=0.0)


@register("MARATOS")
def maratos() -> EqualityConstrainedProblem:
    """min −x₁ + τ(x₁² + x₂² − 1), τ = 1e-6  s.t.  x₁² + x₂² − 1 = 0;  x0 = (1.1, 0.1),
    f* = −1 at (1, 0): the Maratos-effect example (a full Newton step raises a merit
    function near x*)."""
    tau = 1e-6
    return EqualityConstrainedProblem(
        f=lambda x: -x[0] + tau * (x @ x - 1), grad=lambda x: np.array([-1.0, 0.0]) + 2 * tau * x,
        c=lambda x: np.array([x @ x - 1]), jac=lambda x: 2 * x.reshape(1, 2),
        hess_lag=lambda x, lam: 2 * (tau + lam[0]) * np.eye(2), x0=np.array([1.1, 0.1]),
        f_star=-1.0, x_star=np.array([1.0, 0.0]), name="MARATOS",
        source=SIF.format("MARATOS", "N. Maratos, PhD thesis (1978)"),
    )

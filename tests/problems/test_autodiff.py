"""Issue 27 item 3: EqualityConstrainedProblem.from_callables, derivatives by torch or by FD.

The reference for "exact" is the hand-coded derivatives of every test-set problem: the
problem's f and c are re-evaluated under torch autograd (the terms' ``value`` closed forms
for problems made by ``_terms.build``; the problem's own numpy f and c, run on an object
array of traced scalars, for the hand-written ones) and the gradient, Jacobian and
Hessian of the Lagrangian that autograd returns must equal the hand-coded ones to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import unisolve as us
from unisolve.problems.autodiff import FD_STEP_FIRST, FD_STEP_SECOND
from unisolve.problems.constrained import (
    EqualityConstrainedProblem,
    check_derivatives,
    test_set,
)


# ----------------------------------------------------------------------------- a numpy tracer
class Traced:
    """A torch scalar that numpy treats as an opaque object: ufuncs call its methods
    (np.sin(x) -> x.sin()), so numpy code on an object array of these is differentiable."""

    def __init__(self, t):
        self.t = t

    @staticmethod
    def _u(v):
        return v.t if isinstance(v, Traced) else v

    def _op(self, o, fun):
        if isinstance(o, np.ndarray):  # let numpy apply the operation elementwise
            return NotImplemented
        return Traced(fun(self.t, self._u(o)))

    def __add__(self, o): return self._op(o, lambda a, b: a + b)
    def __radd__(self, o): return self._op(o, lambda a, b: b + a)
    def __sub__(self, o): return self._op(o, lambda a, b: a - b)
    def __rsub__(self, o): return self._op(o, lambda a, b: b - a)
    def __mul__(self, o): return self._op(o, lambda a, b: a * b)
    def __rmul__(self, o): return self._op(o, lambda a, b: b * a)
    def __truediv__(self, o): return self._op(o, lambda a, b: a / b)
    def __rtruediv__(self, o): return self._op(o, lambda a, b: b / a)
    def __pow__(self, o): return self._op(o, lambda a, b: a ** b)
    def __rpow__(self, o): return self._op(o, lambda a, b: torch.as_tensor(b) ** a)
    def __neg__(self): return Traced(-self.t)
    def __pos__(self): return self
    def __abs__(self): return Traced(self.t.abs())
    def sin(self): return Traced(torch.sin(self.t))
    def cos(self): return Traced(torch.cos(self.t))
    def exp(self): return Traced(torch.exp(self.t))
    def log(self): return Traced(torch.log(self.t))
    def log1p(self): return Traced(torch.log1p(self.t))
    def sqrt(self): return Traced(torch.sqrt(self.t))
    def arctan2(self, o): return Traced(torch.atan2(self.t, torch.as_tensor(self._u(o))))
    def hypot(self, o): return Traced(torch.hypot(self.t, torch.as_tensor(self._u(o))))

    def __float__(self):
        # for code that stores derivatives next to the value in float arrays (HS80's
        # _exp_prod); a value path that went through float() would lose its derivative
        # and show up below as a mismatch, never as a false pass
        return float(self.t.detach())


def _untrace(v):
    if isinstance(v, Traced):
        return v.t
    if isinstance(v, np.ndarray) and v.dtype == object:
        return torch.stack([_untrace(e).reshape(()) for e in v.ravel()]) if v.ndim else \
            _untrace(v.item())
    return torch.as_tensor(np.asarray(v, dtype=float), dtype=torch.float64)


def _traced(fun):
    def run(x):
        return _untrace(fun(np.array([Traced(x[i]) for i in range(x.shape[0])], dtype=object)))
    return run


def _helixne():
    """HELIXNE in torch (Fletcher–Powell): 10(x₃ − 10θ), 10(r − 1), x₃, θ = atan2(x₂, x₁)/2π."""
    def c(x):
        theta = torch.atan2(x[1], x[0]) / (2 * np.pi)
        return [10 * (x[2] - 10 * theta), 10 * (torch.hypot(x[0], x[1]) - 1), x[2]]
    return (lambda x: 0.0), c


def _hs111lnp(p):
    """HS111LNP in torch: f = Σⱼ yⱼ(cⱼ + xⱼ − ln Σₖyₖ), y = eˣ, c = A y − d. Its numpy f ends
    in float(), which no tracer can differentiate through; A, d and the cⱼ are read off
    the problem at x = 0 (y = 1, S = 10): A = G(0), d = A·1 − c(0), cⱼ = ∂f/∂xⱼ(0) + ln 10."""
    zero = np.zeros(p.n)
    A = _dense(p.jac(zero))
    d = A.sum(axis=1) - p.c(zero)
    C = torch.as_tensor(p.grad(zero) + np.log(p.n))
    At, dt = torch.as_tensor(A), torch.as_tensor(d)

    def f(x):
        y = torch.exp(x)
        return y @ (C + x - torch.log(y.sum()))
    return f, (lambda x: At @ torch.exp(x) - dt)


# the problems whose numpy f or c leaves torch's graph (a float() in the value path, or
# custom terms without a value): written in torch here from the published formula
OWN_TORCH = {"HELIXNE": lambda p: _helixne(), "HS111LNP": _hs111lnp}


def autograd_twin(p: EqualityConstrainedProblem) -> tuple[EqualityConstrainedProblem, str]:
    """p rebuilt by from_callables from f and c alone, and which route gave f and c."""
    if p.name in OWN_TORCH:
        f, c = OWN_TORCH[p.name](p)
        route = "torch"
    elif "formula" in p.meta:
        f, c = p.meta["formula"]
        route = "terms"
    else:
        f, c = _traced(p.f), _traced(p.c)
        route = "tracer"
    return EqualityConstrainedProblem.from_callables(f, c, p.x0, lam0=p.lam0), route


def _rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(1.0, np.linalg.norm(b)))


def _point(p, seed=1):
    rng = np.random.default_rng(seed)
    x = p.x0 + 0.1 * np.maximum(1.0, np.abs(p.x0)) * rng.standard_normal(p.n)
    return x, rng.standard_normal(p.m)


def _dense(M):
    return M.toarray() if hasattr(M, "toarray") else np.asarray(M, dtype=float)


# ----------------------------------------------------------------------------- exactness
def test_autograd_equals_the_hand_coded_derivatives_on_every_test_set_problem():
    problems = test_set()
    routes = {}
    for name, p in problems.items():
        q, routes[name] = autograd_twin(p)
        for seed in (1,):
            x, lam = _point(p, seed)
            assert q.f(x) == pytest.approx(p.f(x), rel=1e-13, abs=1e-13), name
            errors = (_rel(q.grad(x), p.grad(x)), _rel(q.c(x), p.c(x)),
                      _rel(q.jac(x), _dense(p.jac(x))),
                      _rel(q.hess_lag(x, lam), _dense(p.hess_lag(x, lam))))
            assert max(errors) < 1e-12, (name, routes[name], errors)  # exact to rounding
        if name in ("HS7", "BT4", "HS56", "HELIXNE", "HS111LNP"):  # and against FD
            assert check_derivatives(q).ok(1e-6), name
    assert len(routes) == len(problems) >= 44  # every test-set problem, none skipped
    assert sum(r == "terms" for r in routes.values()) >= 35  # the _terms.build problems


def test_the_comparison_catches_a_wrong_hand_coded_hessian():
    p = test_set(["HS7"])["HS7"]
    wrong = EqualityConstrainedProblem(p.f, p.grad, p.c, p.jac,
                                       lambda x, lam: p.hess_lag(x, lam) + 1e-9, p.x0)
    q, _ = autograd_twin(p)
    x, lam = _point(p)
    assert _rel(q.hess_lag(x, lam), wrong.hess_lag(x, lam)) > 1e-10


def test_finite_differences_agree_with_the_hand_coded_derivatives():
    for name, p in test_set(["HS7", "HS40", "BT4", "HS56", "HELIXNE"]).items():
        q = EqualityConstrainedProblem.from_callables(p.f, p.c, p.x0, derivatives="fd")
        x, lam = _point(p)
        assert _rel(q.grad(x), p.grad(x)) < 1e-8, name       # h = ε^{1/3}: O(ε^{2/3})
        assert _rel(q.jac(x), _dense(p.jac(x))) < 1e-8, name
        assert _rel(q.hess_lag(x, lam), _dense(p.hess_lag(x, lam))) < 1e-5, name  # ε^{1/2}
        assert q.meta["derivatives"] == "fd"
    assert FD_STEP_FIRST == pytest.approx(6.055e-6, rel=1e-3)
    assert FD_STEP_SECOND == pytest.approx(1.221e-4, rel=1e-3)


# ----------------------------------------------------------------------------- solving
def hs6_torch():
    return EqualityConstrainedProblem.from_callables(
        lambda x: (1 - x[0]) ** 2, lambda x: [10 * (x[1] - x[0] ** 2)], [-1.2, 1.0])


def hs7_torch():
    return EqualityConstrainedProblem.from_callables(
        lambda x: torch.log1p(x[0] ** 2) - x[1],
        lambda x: torch.stack([(1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4]), [2.0, 2.0])


@pytest.mark.parametrize("name, make", [("HS6", hs6_torch), ("HS7", hs7_torch)])
@pytest.mark.parametrize("method, options", [("newton-kkt", {}), ("sketch-newton", {}),
                                             ("sketch-newton", {"sketch": "gaussian"})])
def test_every_constrained_method_solves_a_problem_written_in_torch(name, make, method,
                                                                     options):
    mine, registered = make(), test_set([name])[name]
    r = us.solve(mine, method=method, **options)
    ref = us.solve(registered, method=method, **options)
    assert r.converged, (name, method, r.status)
    assert mine.f(r.x) == pytest.approx(registered.f_star, abs=1e-5)
    # the same iterates as with the hand-coded derivatives, to rounding
    assert r.iterations == ref.iterations
    np.testing.assert_allclose(r.x, ref.x, rtol=1e-8, atol=1e-10)


def test_fd_problem_written_in_numpy_is_solved_too():
    p = EqualityConstrainedProblem.from_callables(
        lambda x: np.log1p(x[0] ** 2) - x[1],
        lambda x: np.array([(1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4]), [2.0, 2.0],
        derivatives="fd")
    r = us.solve(p, method="newton-kkt")
    assert r.converged and p.f(r.x) == pytest.approx(-np.sqrt(3), abs=1e-6)


def test_constant_objective_and_list_constraints():
    # HS8-like feasibility problem: f ≡ −1 has zero derivatives
    p = EqualityConstrainedProblem.from_callables(
        lambda x: -1.0, lambda x: [x[0] ** 2 + x[1] ** 2 - 25, x[0] * x[1] - 9], [2.0, 1.0])
    np.testing.assert_array_equal(p.grad(np.array([1.0, 2.0])), [0.0, 0.0])
    np.testing.assert_array_equal(p.jac(np.array([1.0, 2.0])), [[2.0, 4.0], [2.0, 1.0]])
    np.testing.assert_array_equal(p.hess_lag(np.array([1.0, 2.0]), np.array([1.0, 3.0])),
                                  [[2.0, 3.0], [3.0, 2.0]])


# ----------------------------------------------------------------------------- bad input
def test_numpy_code_under_autograd_names_the_fix():
    with pytest.raises(TypeError, match=r"derivatives='fd'"):
        EqualityConstrainedProblem.from_callables(
            lambda x: np.sin(x[0]), lambda x: [x[0] + x[1] - 1], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"derivatives must be one of \['autograd', 'fd'\]"):
        EqualityConstrainedProblem.from_callables(
            lambda x: x[0], lambda x: [x[0] + x[1]], [0.0, 0.0], derivatives="exact")
    with pytest.raises(TypeError, match="c must be callable"):
        EqualityConstrainedProblem.from_callables(lambda x: x[0], [1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="x0 must be a non-empty 1-D array"):
        EqualityConstrainedProblem.from_callables(lambda x: x[0], lambda x: [x[0]], 1.0)

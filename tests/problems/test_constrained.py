"""EqualityConstrainedProblem, the derivative checker and the test-set registry."""

from __future__ import annotations

import numpy as np
import pytest

from unisolve.problems.constrained import (
    EqualityConstrainedProblem,
    check_derivatives,
    register,
    test_set,
)


def circle(grad_error=0.0, hess_error=0.0):
    """min x₁ + x₂ s.t. x₁² + x₂² = 2: optimum (−1, −1), λ* = 1/2, f* = −2."""
    return EqualityConstrainedProblem(
        f=lambda x: x[0] + x[1], grad=lambda x: np.array([1.0 + grad_error, 1.0]),
        c=lambda x: np.array([x @ x - 2.0]), jac=lambda x: 2 * x[None, :],
        hess_lag=lambda x, lam: (2 * lam[0] + hess_error) * np.eye(2),
        x0=np.array([-0.5, -1.5]), f_star=-2.0, x_star=np.array([-1.0, -1.0]), name="circle")


def test_kkt_residual_is_zero_at_the_kkt_point_only():
    p = circle()
    assert p.kkt_residual(p.x_star, np.array([0.5])) == pytest.approx(0.0, abs=1e-15)
    assert p.kkt_residual(p.x_star, np.array([0.4])) == pytest.approx(0.2 * np.sqrt(2))
    np.testing.assert_allclose(p.lagrangian_grad(p.x0, np.array([1.0])), [0.0, -2.0])
    assert (p.n, p.m, p.kind) == (2, 1, "constrained")
    assert "circle" in repr(p) and "f*=-2" in repr(p)


def test_the_checker_passes_correct_derivatives_and_catches_wrong_ones():
    assert check_derivatives(circle()).ok(1e-8)
    bad_grad = check_derivatives(circle(grad_error=1e-3))
    assert not bad_grad.ok(1e-5) and bad_grad.grad > 1e-4 and bad_grad.jac < 1e-8
    bad_hess = check_derivatives(circle(hess_error=1e-3))
    assert not bad_hess.ok(1e-5) and bad_hess.hess_lag > 1e-4


def test_lam0_and_x_star_shapes_are_checked():
    p = circle()
    with pytest.raises(ValueError, match=r"lam0 must have shape \(1,\)"):
        EqualityConstrainedProblem(p.f, p.grad, p.c, p.jac, p.hess_lag, p.x0, lam0=np.ones(2))
    with pytest.raises(ValueError, match="x_star must have shape"):
        EqualityConstrainedProblem(p.f, p.grad, p.c, p.jac, p.hess_lag, p.x0, x_star=np.ones(3))
    with pytest.raises(ValueError, match="x0 holds NaN"):
        EqualityConstrainedProblem(p.f, p.grad, p.c, p.jac, p.hess_lag, np.array([np.nan, 0]))
    with pytest.raises(ValueError, match="m >= 1"):
        EqualityConstrainedProblem(p.f, p.grad, lambda x: np.zeros(0), p.jac, p.hess_lag, p.x0)


def test_test_set_selection_and_errors():
    everything = test_set()
    assert "HS6" in everything
    assert list(test_set(["HS6"])) == ["HS6"]
    with pytest.raises(ValueError, match="unknown test-set problem"):
        test_set(["HS999"])
    with pytest.raises(ValueError, match="registered twice"):
        register("HS6")(lambda: circle())


def test_every_test_set_problem_passes_the_derivative_check():
    for name, p in test_set().items():
        check = check_derivatives(p)
        assert check.ok(1e-6), (name, check)
        assert p.f_star is not None, name

"""EqualityConstrainedProblem, the derivative checker and the test-set registry."""

from __future__ import annotations

import numpy as np
import pytest

from unisolve.problems import constrained_logistic, pde_constrained
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
        # every problem has f*, except MWRIGHT: its CUTEst value is a local minimum
        # that x0 does not lead to (kept in meta)
        assert p.f_star is not None or "cutest_soltn" in p.meta, name


def test_the_test_set_holds_at_least_25_issue_problems():
    named = {"HS6", "HS7", "HS26", "HS27", "HS28", "GENHS28", "HS39", "HS40", "HS42", "HS46",
             "HS47", "HS48", "HS49", "HS50", "HS51", "HS52", "HS56", "HS77", "HS78", "HS79",
             *(f"BT{k}" for k in range(1, 13)), "HIMMELBA", "HIMMELBC", "HIMMELBE", "BOOTH",
             "CUBENE", "HELIXNE", "MWRIGHT", "ORTHREGB", "RSNBRNE", "SINVALNE", "ZANGWIL3",
             "DENSCHNCNE", "DENSCHNFNE", "GOTTFR", "PRICE4NE", "MOREBVNE",
             # issue 27
             "HS8", "HS9", "HS60", "HS61", "HS63", "HS80", "HS81", "HS100LNP", "HS111LNP",
             "MARATOS"}
    have = set(test_set())
    assert len(have & named) >= 25 and have <= named, have - named


# ----------------------------------------------------------------------------- model problems
def test_pde_problem_laplacian_is_exact_on_a_biquadratic():
    """u = (1 − x²)(1 − y²) vanishes on ∂[−1, 1]²; the 5-point Δ_h is exact on it."""
    N = 7
    p = pde_constrained(N)
    h = p.meta["h"]
    assert h == pytest.approx(2 / (N + 1))
    t = -1 + h * np.arange(1, N + 1)
    X, Y = np.meshgrid(t, t, indexing="ij")  # row-major node (i, j) ↔ (x_i, y_j)
    u = ((1 - X ** 2) * (1 - Y ** 2)).ravel()
    G = p.jac(p.x0)
    lap = G[:, : N * N] @ u
    np.testing.assert_allclose(lap, (-2 * (1 - Y ** 2) - 2 * (1 - X ** 2)).ravel(), atol=1e-11)
    np.testing.assert_allclose(G[:, N * N:].toarray(), np.eye(N * N))  # … + z
    s = 0.1 / np.sqrt(15)
    wt = np.sin(4 + s * (1 - 4)) + np.cos(3 + s * (1 - 4))  # i = j = 1, (N + 1)/2 = 4
    assert p.meta["w_target"][0, 0] == pytest.approx(wt)
    np.testing.assert_array_equal(p.x0, 1.0)
    np.testing.assert_array_equal(p.lam0, 1.0)


def test_pde_problem_optimum_and_bad_arguments():
    p = pde_constrained(5)
    assert check_derivatives(p).ok(1e-6)
    assert p.kkt_residual(p.x_star, p.meta["lam_star"]) < 1e-10
    assert p.f(p.x_star) == pytest.approx(p.f_star, rel=1e-14)
    for bad in (2, 3.5, True):
        with pytest.raises(ValueError, match="N must be an int >= 3"):
            pde_constrained(bad)
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        pde_constrained(4, alpha=-1.0)


def test_logistic_problem_is_feasible_reproducible_and_checked():
    p = constrained_logistic(100, 12, k=4, seed=3)
    q = constrained_logistic(100, 12, k=4, seed=3)
    np.testing.assert_array_equal(p.x0, q.x0)
    assert (p.n, p.m) == (12, 5) and check_derivatives(p).ok(1e-6)
    C, d = p.meta["C"], p.meta["d"]
    assert np.linalg.norm(p.c(p.x0)) > 1e-3  # the start is infeasible
    # feasible set {Cw = d} ∩ {‖w‖ = 1} not empty: its least-norm point lies inside the ball
    assert np.linalg.matrix_rank(C) == 4 and np.linalg.norm(np.linalg.pinv(C) @ d) <= 1
    with pytest.raises(ValueError, match="k must be an int"):
        constrained_logistic(100, 12, k=11)
    with pytest.raises(ValueError, match="n_samples must be an int >= 2"):
        constrained_logistic(1, 12)
    with pytest.raises(ValueError, match="dataset must be None or 'breast_cancer'"):
        constrained_logistic(dataset="iris")


def test_logistic_on_breast_cancer_ships_with_scikit_learn():
    pytest.importorskip("sklearn")
    p = constrained_logistic(dataset="breast_cancer", seed=0)
    assert (p.n, p.m) == (30, 11) and p.meta["A"].shape == (569, 30)
    np.testing.assert_allclose(p.meta["A"].mean(0), 0, atol=1e-12)
    assert set(np.unique(p.meta["y"])) == {-1.0, 1.0}
    assert check_derivatives(p).ok(1e-6)


def test_logistic_without_scikit_learn_names_the_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        constrained_logistic(dataset="breast_cancer")

"""BCD with a prox (issue 27 item 1): LASSO and elastic net against scikit-learn, every
non-smooth greedy rule (GS-s / GS-r / GS-q) and the plain ones, the generic ``prox=``
hook, the elastic-net score kernel against its numpy twin, and the two-metric
projection (``update="tmp"``) that stalled on the split x = u − v."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import ElasticNet, Lasso

import unisolve as us
from unisolve.problems.composite import CompositeProblem
from unisolve.solvers.kernels import bcd as kernels


def data(m=40, n=60, seed=0):
    """Gaussian X, 10 % nonzero truth, small noise."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    w = np.zeros(n)
    w[: max(1, n // 10)] = rng.standard_normal(max(1, n // 10))
    return X, X @ w + 0.1 * rng.standard_normal(m)


def sklearn_objective(X, y, lam, mu=0.0):
    """min ½‖Xw − y‖² + λ‖w‖₁ + (μ/2)‖w‖² by scikit-learn. Its objective is
    (1/2m)‖y − Xw‖² + α ρ‖w‖₁ + (α(1 − ρ)/2)‖w‖²: multiplied by m, αρ = λ/m and
    α(1 − ρ) = μ/m."""
    m = X.shape[0]
    if mu == 0:
        est = Lasso(alpha=lam / m, fit_intercept=False, tol=1e-14, max_iter=200_000)
    else:
        alpha = (lam + mu) / m
        est = ElasticNet(alpha=alpha, l1_ratio=lam / (lam + mu), fit_intercept=False,
                         tol=1e-14, max_iter=200_000)
    w = est.fit(X, y).coef_
    return 0.5 * np.sum((X @ w - y) ** 2) + lam * np.abs(w).sum() + 0.5 * mu * w @ w


RULES = [("variable", r, 1) for r in ("gs-s", "gs-r", "gs-q")] + \
        [("variable", r, 4) for r in ("gs-s", "gs-r", "gs-q")] + \
        [("sorted", r, 3) for r in ("cyclic", "random", "lipschitz", "gs-s", "gs-r", "gs-q")]


@pytest.mark.parametrize("frac", [0.02, 0.3])
@pytest.mark.parametrize(("partition", "rule", "block_size"), RULES)
def test_lasso_reaches_sklearn_objective(partition, rule, block_size, frac):
    X, y = data()
    lam = frac * np.max(np.abs(X.T @ y))  # λ_max = ‖Xᵀy‖_∞: w = 0 is optimal above it
    f_ref = sklearn_objective(X, y, lam)
    p = CompositeProblem("least_squares", X, y, l1=lam)
    r = us.solve(p, method="bcd", partition=partition, rule=rule, block_size=block_size,
                 rtol=1e-10, maxiter=20_000, seed=0)
    assert r.status.name == "CONVERGED", r.status
    assert (r.info["f"] - f_ref) / f_ref <= 1e-8, (r.info["f"] - f_ref) / f_ref
    np.testing.assert_allclose(r.info["f"], p.f(r.x), rtol=1e-12)  # the state tracks x
    f = np.array(r.info["f_history"])
    assert np.all(np.diff(f) <= 1e-12 * f[0])  # prox steps with 1/L_b never go uphill


def test_lasso_with_sparse_data_and_the_default_rule():
    import scipy.sparse as sp

    X, y = data(50, 80, seed=3)
    X[np.abs(X) < 0.8] = 0.0
    lam = 0.08 * np.max(np.abs(X.T @ y))
    f_ref = sklearn_objective(X, y, lam)
    p = CompositeProblem("least_squares", sp.csc_array(X), y, l1=lam)
    r = us.solve(p, method="bcd", rtol=1e-10, maxiter=20_000)
    assert r.info["rule"] == "gs-q" and r.info["update"] == "prox"
    assert (r.info["f"] - f_ref) / f_ref <= 1e-8


@pytest.mark.parametrize(("lam_frac", "mu"), [(0.05, 1.0), (0.0, 3.0), (0.2, 0.1)])
@pytest.mark.parametrize("rule", ["gs-s", "gs-r", "gs-q"])
def test_elastic_net_and_ridge_reach_sklearn_objective(lam_frac, mu, rule):
    X, y = data(30, 50, seed=1)
    lam = lam_frac * np.max(np.abs(X.T @ y))
    if lam == 0:  # ridge: closed form (XᵀX + μI)w = Xᵀy
        w = np.linalg.solve(X.T @ X + mu * np.eye(X.shape[1]), X.T @ y)
        f_ref = 0.5 * np.sum((X @ w - y) ** 2) + 0.5 * mu * w @ w
    else:
        f_ref = sklearn_objective(X, y, lam, mu)
    p = CompositeProblem("least_squares", X, y, l1=lam, l2=mu)
    r = us.solve(p, method="bcd", partition="variable", rule=rule, block_size=2,
                 rtol=1e-10, maxiter=20_000)
    assert (r.info["f"] - f_ref) / f_ref <= 1e-8, (r.info["f"] - f_ref) / f_ref


def test_logistic_lasso_reaches_sklearn_l1_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 10))
    b = np.sign(X @ rng.standard_normal(10) + rng.standard_normal(80))
    lam = 2.0  # sklearn: C Σ log(1 + e^{−bᵢxᵢᵀw}) + ‖w‖₁, so C = 1/λ
    w = LogisticRegression(l1_ratio=1.0, C=1 / lam, solver="liblinear", fit_intercept=False,
                           tol=1e-12, max_iter=100_000).fit(X, b).coef_.ravel()
    p = CompositeProblem("logistic", X, b, l1=lam)
    f_ref = p.f(w)
    r = us.solve(p, method="bcd", partition="variable", rule="gs-q", block_size=1,
                 rtol=1e-9, maxiter=20_000)
    assert r.info["f"] <= f_ref * (1 + 1e-7), (r.info["f"] - f_ref) / f_ref


def test_prox_hook_box_constraint_matches_scipy_bounded_least_squares():
    from scipy.optimize import lsq_linear

    X, y = data(40, 15, seed=4)
    y = 3 * y
    ref = lsq_linear(X, y, bounds=(-0.5, 0.5), tol=1e-14).x
    f_ref = 0.5 * np.sum((X @ ref - y) ** 2)
    p = CompositeProblem("least_squares", X, y, prox=lambda v, t: np.clip(v, -0.5, 0.5),
                         prox_value=lambda x: np.zeros_like(x))
    for rule in ("gs-r", "gs-q", "cyclic"):
        r = us.solve(p, method="bcd", partition="variable" if rule != "cyclic" else "sorted",
                     rule=rule, block_size=3, rtol=1e-10, maxiter=20_000)
        assert np.all(np.abs(r.x) <= 0.5)
        assert (r.info["f"] - f_ref) / f_ref <= 1e-8, rule


def test_prox_hook_reproduces_the_builtin_lasso():
    X, y = data(30, 40, seed=5)
    lam = 0.1 * np.max(np.abs(X.T @ y))

    def soft(v, t):  # prox of t·λ|·|
        return np.sign(v) * np.maximum(np.abs(v) - t * lam, 0.0)

    own = CompositeProblem("least_squares", X, y, prox=soft, prox_value=lambda x: lam * np.abs(x))
    built = CompositeProblem("least_squares", X, y, l1=lam)
    kw = dict(partition="variable", rule="gs-q", block_size=1, rtol=1e-10, maxiter=5000)
    a, b = us.solve(own, method="bcd", **kw), us.solve(built, method="bcd", **kw)
    assert a.iterations == b.iterations
    np.testing.assert_allclose(a.x, b.x, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", [kernels.GS_S, kernels.GS_R, kernels.GS_Q])
@pytest.mark.parametrize(("l1", "l2"), [(0.7, 0.0), (0.3, 2.0), (0.0, 0.5)])
def test_elastic_net_scores_kernel_matches_its_twin(kind, l1, l2):
    rng = np.random.default_rng(kind)
    x = rng.standard_normal(50)
    x[::3] = 0.0
    g = rng.standard_normal(50)
    step = rng.random(50) + 0.1
    d1, d2 = np.empty(50), np.empty(50)
    s1 = kernels.elastic_net_scores(x, g, step, l1, l2, kind, d1)
    s2 = kernels.elastic_net_scores_reference(x, g, step, l1, l2, kind, d2)
    np.testing.assert_allclose(s1, s2, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(d1, d2, rtol=1e-13, atol=1e-15)
    if kind == kernels.GS_Q:  # the decrease of the quadratic bound + r is never negative
        assert np.all(s1 >= -1e-14)


@pytest.mark.parametrize("rule", ["gs", "gsq", "gsl"])
def test_two_metric_projection_does_not_stall_on_the_split_lasso(rule):
    """Issue 27: on x = u − v ≥ 0 at λ = 0.02 λ_max, variable GS blocks of 20 with
    update="tmp" stalled 1.1e-2 above the optimum (a pair u_j, v_j both positive, a
    singular Newton system, a ~1e-17 step accepted, the same block picked forever)."""
    X, y = data(200, 100, seed=0)
    lam = 0.02 * np.max(np.abs(X.T @ y))
    f_ref = sklearn_objective(X, y, lam)
    p = CompositeProblem("least_squares", np.hstack([X, -X]), y, l1=lam, nonneg=True)
    r = us.solve(p, method="bcd", partition="variable", rule=rule, update="tmp",
                 block_size=20, rtol=1e-10, maxiter=3000)
    assert r.status.name == "CONVERGED", r.status
    assert (r.info["f"] - f_ref) / f_ref <= 1e-8


def test_bad_input_names_the_fix():
    X, y = data(10, 5)
    lasso = CompositeProblem("least_squares", X, y, l1=1.0)
    with pytest.raises(ValueError, match="use update='prox'"):
        us.solve(lasso, method="bcd", update="gradient")
    with pytest.raises(ValueError, match="gs-s, gs-r, gs-q"):
        us.solve(lasso, method="bcd", rule="gsl")
    with pytest.raises(ValueError, match="use it with update='prox'"):
        us.solve(CompositeProblem("least_squares", X, y), method="bcd", rule="gs-q",
                 update="gradient")
    with pytest.raises(ValueError, match="L2 weight"):
        CompositeProblem("least_squares", X, y, l2=-1.0)
    with pytest.raises(ValueError, match="pass prox= and prox_value= together"):
        CompositeProblem("least_squares", X, y, prox=lambda v, t: v)
    with pytest.raises(ValueError, match="replaces l1="):
        CompositeProblem("least_squares", X, y, l1=1.0, prox=lambda v, t: v,
                         prox_value=np.zeros_like)
    with pytest.raises(ValueError, match="elementwise values"):
        CompositeProblem("least_squares", X, y, prox=lambda v, t: v, prox_value=np.sum)
    own = CompositeProblem("least_squares", X, y, prox=lambda v, t: v, prox_value=np.zeros_like)
    with pytest.raises(ValueError, match="with a custom prox= use 'gs-r' or 'gs-q'"):
        us.solve(own, method="bcd", rule="gs-s")

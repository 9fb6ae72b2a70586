"""The numba loop of one-coordinate greedy prox BCD on least squares + elastic net (issue 27
item 1): the same iterates as the Python loop (run by passing a callback), scikit-learn's
objective in fewer coordinate updates than its cyclic coordinate descent, the Gram store
when it is too small (misses, eviction), sparse A, and the growth of the history."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

import unisolve as us
from unisolve.problems.composite import CompositeProblem
from unisolve.solvers import bcd as bcd_module


def data(m=60, n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    w = np.zeros(n)
    w[rng.choice(n, n // 10, replace=False)] = rng.standard_normal(n // 10)
    return X, X @ w + 0.1 * rng.standard_normal(m)


def solve(p, rule, python=False, **kw):
    kw = dict(partition="variable", rule=rule, block_size=1, rtol=1e-9, maxiter=20_000) | kw
    if python:  # a callback keeps the Python loop
        kw["callback"] = lambda state: None
    return us.solve(p, method="bcd", **kw)


@pytest.mark.parametrize("rule", ["gs-s", "gs-r", "gs-q"])
@pytest.mark.parametrize(("frac", "l2"), [(0.05, 0.0), (0.3, 0.0), (0.1, 0.5)])
def test_numba_loop_equals_the_python_loop(rule, frac, l2):
    X, y = data()
    lam = frac * np.max(np.abs(X.T @ y))
    p = CompositeProblem("least_squares", X, y, l1=lam, l2=l2)
    fast, slow = solve(p, rule), solve(p, rule, python=True)
    assert fast.info.get("kernel") and not slow.info.get("kernel")
    assert fast.status.name == slow.status.name == "CONVERGED"
    assert fast.iterations == slow.iterations
    np.testing.assert_allclose(fast.x, slow.x, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.info["f_history"], slow.info["f_history"], rtol=1e-12)
    np.testing.assert_allclose(fast.residuals, slow.residuals, rtol=1e-8,
                               atol=1e-10 * slow.residuals[0])
    assert fast.info["f"] == pytest.approx(p.f(fast.x), rel=1e-14)


def sklearn_updates_to(X, y, lam, f_target):
    """scikit-learn's coordinate updates (epochs × n, tol = 0) until F ≤ f_target."""
    m, n = X.shape
    for epochs in range(1, 100_000):
        est = Lasso(alpha=lam / m, fit_intercept=False, tol=0.0, max_iter=epochs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            w = est.fit(X, y).coef_
        if 0.5 * np.sum((X @ w - y) ** 2) + lam * np.abs(w).sum() <= f_target:
            return epochs * n
    raise AssertionError("scikit-learn did not get there")


@pytest.mark.parametrize("rule", ["gs-r", "gs-q"])
def test_reaches_sklearn_objective_in_fewer_updates(rule):
    X, y = data(80, 300, seed=1)
    lam = 0.08 * np.max(np.abs(X.T @ y))
    est = Lasso(alpha=lam / 80, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y)
    f_ref = 0.5 * np.sum((X @ est.coef_ - y) ** 2) + lam * np.abs(est.coef_).sum()
    r = solve(CompositeProblem("least_squares", X, y, l1=lam), rule, rtol=1e-10)
    f = np.asarray(r.info["f_history"])
    assert r.info["kernel"] and (f[-1] - f_ref) / f_ref <= 1e-8
    ours = int(np.flatnonzero(f <= f_ref * (1 + 1e-8))[0])  # one coordinate per update
    theirs = sklearn_updates_to(X, y, lam, f_ref * (1 + 1e-8))
    assert ours < theirs, (ours, theirs)


def test_small_gram_store_misses_and_evicts(monkeypatch):
    X, y = data(seed=2)
    p = CompositeProblem("least_squares", X, y, l1=0.05 * np.max(np.abs(X.T @ y)))
    ref = solve(p, "gs-q")
    n = p.n
    for cap in (1, 3):  # the store holds `cap` columns of AᵀA: most updates miss
        monkeypatch.setattr(bcd_module, "_GRAM_BYTES", 8 * n * cap)
        r = solve(p, "gs-q")
        assert r.iterations == ref.iterations
        np.testing.assert_allclose(r.x, ref.x, rtol=1e-9, atol=1e-12)


def test_sparse_data_history_growth_and_exact_refresh(monkeypatch):
    X, y = data(seed=4)
    X[np.abs(X) < 0.7] = 0.0
    lam = 0.05 * np.max(np.abs(X.T @ y))
    dense = solve(CompositeProblem("least_squares", X, y, l1=lam), "gs-r")
    monkeypatch.setattr(bcd_module, "_HISTORY_CHUNK", 7)  # history arrays grow 8 → 16 → …
    monkeypatch.setattr(bcd_module, "_REFRESH_MIN", 5)  # an exact gradient every 5 updates
    monkeypatch.setattr(bcd_module, "_REFRESH_PER_ROW", 0)
    p = CompositeProblem("least_squares", sp.csc_array(X), y, l1=lam)
    r = solve(p, "gs-r")
    assert r.info["kernel"] and r.status.name == "CONVERGED"
    assert r.iterations == dense.iterations and len(r.info["f_history"]) == r.iterations + 1
    np.testing.assert_allclose(r.x, dense.x, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r.info["f_history"], dense.info["f_history"], rtol=1e-12)


def test_maxiter_and_lambda_max():
    X, y = data(seed=5)
    lam_max = np.max(np.abs(X.T @ y))
    p = CompositeProblem("least_squares", X, y, l1=0.02 * lam_max)
    r = solve(p, "gs-s", maxiter=25)
    assert r.status.name == "MAX_ITER" and r.iterations == 25 and len(r.residuals) == 26
    assert r.info["f"] == pytest.approx(p.f(r.x), rel=1e-14)
    at_max = solve(CompositeProblem("least_squares", X, y, l1=lam_max), "gs-q")
    assert at_max.status.name == "CONVERGED" and at_max.iterations == 0  # x = 0 is optimal
    assert not np.any(at_max.x)


# -- working_set=True: greedy on a growing working set, exact checks over all n ----------
@pytest.mark.parametrize("rule", ["gs-s", "gs-r", "gs-q"])
def test_working_set_reaches_sklearn_objective_in_fewer_updates(rule):
    X, y = data(80, 300, seed=1)
    lam = 0.08 * np.max(np.abs(X.T @ y))
    est = Lasso(alpha=lam / 80, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y)
    f_ref = 0.5 * np.sum((X @ est.coef_ - y) ** 2) + lam * np.abs(est.coef_).sum()
    p = CompositeProblem("least_squares", X, y, l1=lam)
    r = solve(p, rule, rtol=1e-10, working_set=True)
    f = np.asarray(r.info["f_history"])
    assert r.status.name == "CONVERGED" and (f[-1] - f_ref) / f_ref <= 1e-8
    assert r.info["f"] == pytest.approx(p.f(r.x), rel=1e-14)
    assert r.info["working_set"] < p.n and r.info["full_gradients"] >= 2
    assert np.all(np.diff(f) <= 1e-12 * f[0])  # exact coordinate minimisation: downhill
    ours = int(np.flatnonzero(f <= f_ref * (1 + 1e-8))[0])
    assert ours < sklearn_updates_to(X, y, lam, f_ref * (1 + 1e-8))


def test_working_set_elastic_net_sparse_and_the_fallback(monkeypatch):
    from sklearn.linear_model import ElasticNet

    X, y = data(50, 120, seed=6)
    X[np.abs(X) < 0.5] = 0.0
    lam, mu, m = 0.1 * np.max(np.abs(X.T @ y)), 0.5, 50
    w = ElasticNet(alpha=(lam + mu) / m, l1_ratio=lam / (lam + mu), fit_intercept=False,
                   tol=1e-14, max_iter=100_000).fit(X, y).coef_
    f_ref = 0.5 * np.sum((X @ w - y) ** 2) + lam * np.abs(w).sum() + 0.5 * mu * w @ w
    p = CompositeProblem("least_squares", sp.csc_array(X), y, l1=lam, l2=mu)
    r = solve(p, "gs-q", working_set=True)
    assert r.status.name == "CONVERGED" and (r.info["f"] - f_ref) / f_ref <= 1e-8
    monkeypatch.setattr(bcd_module, "_GRAM_BYTES", 8 * 20 ** 2)  # (AᵀA)_WW ≤ 20 × 20
    with pytest.warns(RuntimeWarning, match="working set too large"):
        r = solve(p, "gs-q", working_set=True)
    assert r.status.name == "CONVERGED" and (r.info["f"] - f_ref) / f_ref <= 1e-8
    assert len(r.info["f_history"]) == len(r.residuals) == r.iterations + 1


def test_working_set_needs_the_numba_loop():
    X, y = data()
    p = CompositeProblem("least_squares", X, y, l1=1.0)
    with pytest.raises(ValueError, match="working_set=True is for the numba loop"):
        us.solve(p, method="bcd", partition="variable", rule="gs-q", block_size=2,
                 working_set=True)


def test_default_lasso_route_is_the_working_set_loop_and_matches_sklearn():
    """solve(lasso) with no options takes the measured-fastest route (issue 27): variable
    one-coordinate blocks, the numba loop on a working set; it reaches scikit-learn's
    objective (tol 1e-10) to 1e-8 relative at rtol 1e-9. Before, the default was fixed
    'sorted' blocks of 5 in the Python loop with maxiter 1000 (MAX_ITER here)."""
    from sklearn.linear_model import Lasso

    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 300))
    w = np.zeros(300)
    w[:12] = rng.standard_normal(12)
    y = X @ w + 0.1 * rng.standard_normal(80)
    lam = 0.05 * np.max(np.abs(X.T @ y))
    p = CompositeProblem("least_squares", X, y, l1=lam)
    r = us.solve(p, rtol=1e-9)
    assert r.method == "bcd" and r.converged
    assert r.info["partition"] == "variable" and "working_set" in r.info
    est = Lasso(alpha=lam / 80, fit_intercept=False, tol=1e-10, max_iter=100_000).fit(X, y)

    def F(v):
        return 0.5 * np.sum((X @ v - y) ** 2) + lam * np.abs(v).sum()

    assert F(r.x) <= F(est.coef_) * (1 + 1e-8)
    # a callback keeps the Python loop (fixed 'sorted' blocks are the non-LASSO default)
    seen = []
    r2 = us.solve(p, callback=lambda s: seen.append(s.iteration), maxiter=50)
    assert r2.info["partition"] == "sorted" and len(seen) == r2.iterations + 1

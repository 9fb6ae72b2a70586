"""sketch-newton and newton-kkt: closed forms, published optima, kernels, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
from unisolve import Status
from unisolve.problems.constrained import EqualityConstrainedProblem, test_set
from unisolve.solvers.kernels import sketch as kernels

METHODS = [("newton-kkt", {}), ("sketch-newton", {"sketch": "kaczmarz"}),
           ("sketch-newton", {"sketch": "gaussian"})]


def quadratic(n=6, m=2, seed=0, sparse=False):
    """min ½ xᵀQx + pᵀx s.t. Ax = d: the KKT point solves one linear system."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    Q = M @ M.T + n * np.eye(n)
    p, A, d = rng.standard_normal(n), rng.standard_normal((m, n)), rng.standard_normal(m)
    K = np.block([[Q, A.T], [A, np.zeros((m, m))]])
    sol = np.linalg.solve(K, np.concatenate([-p, d]))
    wrap = sp.csr_array if sparse else np.asarray
    prob = EqualityConstrainedProblem(
        f=lambda x: 0.5 * x @ Q @ x + p @ x, grad=lambda x: Q @ x + p,
        c=lambda x: A @ x - d, jac=lambda x: wrap(A), hess_lag=lambda x, lam: wrap(Q),
        x0=np.zeros(n), x_star=sol[:n], name="quadratic")
    return prob, sol[:n], sol[n:]


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize(("name", "opts"), METHODS)
def test_equality_constrained_quadratic_reaches_the_closed_form(name, opts, sparse):
    p, x_star, lam_star = quadratic(sparse=sparse)
    r = us.solve(p, method=name, atol=1e-9, **opts)
    assert r.status is Status.CONVERGED, (r.status, r.info.get("reason"))
    np.testing.assert_allclose(r.x, x_star, rtol=0, atol=1e-8)
    np.testing.assert_allclose(r.info["lam"], lam_star, rtol=0, atol=1e-7)
    assert r.residuals[-1] <= 1e-9 and r.residuals[0] == pytest.approx(p.kkt_residual(p.x0,
                                                                                      p.lam0))
    assert r.info["f"] == pytest.approx(p.f(x_star), rel=1e-10)
    if name == "newton-kkt":
        assert r.iterations <= 2 and r.info["flops"] > 0  # Newton is exact on a QP


@pytest.mark.parametrize(("name", "opts"), METHODS)
def test_hs6_reaches_the_published_optimum(name, opts):
    p = test_set(["HS6"])["HS6"]
    r = us.solve(p, method=name, atol=1e-8, **opts)
    assert r.converged
    assert abs(r.info["f"] - p.f_star) <= 1e-10
    np.testing.assert_allclose(r.x, p.x_star, atol=1e-6)


def test_sketch_statistics_and_reproducibility():
    p, *_ = quadratic(seed=3)
    a = us.solve(p, method="sketch-newton", sketch="gaussian", seed=5)
    b = us.solve(p, method="sketch-newton", sketch="gaussian", seed=5)
    c = us.solve(p, method="sketch-newton", sketch="gaussian", seed=6)
    assert a.info["inner_iterations"] == b.info["inner_iterations"]
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)  # other sketches, another inexact step
    assert len(a.info["inner_iterations"]) == a.iterations
    assert all(k > 0 for k in a.info["inner_iterations"]) and a.info["flops"] > 0


@pytest.mark.parametrize("N", [3, 8])
def test_kernels_match_their_numpy_references(N):
    rng = np.random.default_rng(N)
    M = rng.standard_normal((N, N))
    K = M + M.T  # symmetric indefinite, like a KKT matrix
    b = rng.standard_normal(N)
    row_sq = (K * K).sum(1)
    cdf = np.cumsum(row_sq)
    u = rng.random(300)
    S = rng.standard_normal((300, N))
    z1, r1, z2, r2 = np.zeros(N), -b.copy(), np.zeros(N), -b.copy()
    s1 = kernels.kaczmarz(K, K @ K, row_sq, cdf, u, z1, r1, 1e-12)
    s2 = kernels.kaczmarz_reference(K, K @ K, row_sq, cdf, u, z2, r2, 1e-12)
    assert s1 == s2
    np.testing.assert_allclose(z1, z2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r1, K @ z1 - b, atol=1e-9)  # r stays the true residual
    z1, r1, z2, r2 = np.zeros(N), -b.copy(), np.zeros(N), -b.copy()
    s1 = kernels.gaussian(K, S, z1, r1, 1e-12)
    s2 = kernels.gaussian_reference(K, S, z2, r2, 1e-12)
    assert s1 == s2
    np.testing.assert_allclose(z1, z2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(r1, K @ z1 - b, atol=1e-9)


def test_gaussian_sketch_converges_on_an_indefinite_system():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((5, 5))
    K = M + M.T
    b = rng.standard_normal(5)
    z, r = np.zeros(5), -b.copy()
    steps = kernels.gaussian(K, rng.standard_normal((200_000, 5)), z, r, 1e-10)
    assert steps < 200_000  # measured: 51 202 steps (cond(K) = 63; the rate goes as cond²)
    np.testing.assert_allclose(z, np.linalg.solve(K, b), atol=1e-8)


# ----------------------------------------------------------------------------- bad input
def test_singular_jacobian_is_a_breakdown():
    p = EqualityConstrainedProblem(  # two copies of one constraint: G Gᵀ is singular
        f=lambda x: x @ x, grad=lambda x: 2 * x,
        c=lambda x: np.array([x.sum() - 1, 2 * x.sum() - 2]),
        jac=lambda x: np.array([[1.0, 1.0], [2.0, 2.0]]),
        hess_lag=lambda x, lam: 2 * np.eye(2), x0=np.zeros(2))
    for name, opts in METHODS:
        r = us.solve(p, method=name, **opts)
        assert r.status is Status.BREAKDOWN and "singular Jacobian" in r.info["reason"]


def test_nan_from_f_during_the_solve_is_reported():
    calls = {"n": 0}

    def f(x):
        calls["n"] += 1
        return float("nan") if calls["n"] > 3 else float(x @ x)

    p = EqualityConstrainedProblem(
        f=f, grad=lambda x: 2 * x, c=lambda x: np.array([x[0] - 1.0]),
        jac=lambda x: np.array([[1.0, 0.0]]), hess_lag=lambda x, lam: 2 * np.eye(2),
        x0=np.array([3.0, 2.0]))
    r = us.solve(p, method="newton-kkt", atol=1e-12)
    assert r.status in (Status.NONFINITE, Status.BREAKDOWN)
    assert "reason" in r.info and not r.converged


def test_nan_at_the_start_and_shape_mismatches_are_clear_errors():
    base = {"grad": lambda x: 2 * x, "c": lambda x: np.array([x.sum()]),
            "jac": lambda x: np.ones((1, 2)), "hess_lag": lambda x, lam: 2 * np.eye(2),
            "x0": np.ones(2)}
    with pytest.raises(ValueError, match="f\\(x0\\) is not finite"):
        EqualityConstrainedProblem(f=lambda x: float("nan"), **base)
    with pytest.raises(ValueError, match=r"grad\(x0\) has shape \(3,\), expected \(2,\)"):
        EqualityConstrainedProblem(f=lambda x: x @ x, **{**base, "grad": lambda x: np.ones(3)})
    with pytest.raises(ValueError, match=r"jac\(x0\) has shape"):
        EqualityConstrainedProblem(f=lambda x: x @ x, **{**base, "jac": lambda x: np.ones(2)})
    with pytest.raises(ValueError, match="hess_lag"):
        EqualityConstrainedProblem(f=lambda x: x @ x,
                                   **{**base, "hess_lag": lambda x, lam: np.eye(3)})
    with pytest.raises(TypeError, match="callable"):
        EqualityConstrainedProblem(f=1.0, **base)


def test_bad_options_name_the_fix():
    p = test_set(["HS6"])["HS6"]
    with pytest.raises(ValueError, match="sketch must be one of"):
        us.solve(p, method="sketch-newton", sketch="srht")
    with pytest.raises(ValueError, match="beta"):
        us.solve(p, method="sketch-newton", beta=0.7)
    with pytest.raises(ValueError, match="nu"):
        us.solve(p, method="newton-kkt", nu=1.0)
    with pytest.raises(TypeError, match="omega"):
        us.solve(p, method="sketch-newton", omega=1.5)
    with pytest.raises(ValueError, match="x0 must have shape"):
        us.solve(p, method="newton-kkt", x0=np.zeros(3))
    with pytest.raises(TypeError, match="EqualityConstrainedProblem"):
        from unisolve.solvers.sketch_newton import newton_kkt
        newton_kkt(us.problems.poisson2d(4))


def test_callback_sees_x0_first_and_can_stop():
    p = test_set(["HS6"])["HS6"]
    seen = []

    def cb(state):
        seen.append((state.iteration, state.x.copy(), state.residual))
        if state.iteration == 2:
            raise StopIteration

    r = us.solve(p, method="newton-kkt", callback=cb, atol=1e-12)
    assert r.status is Status.STOPPED and r.iterations == 2
    np.testing.assert_array_equal(seen[0][1], p.x0)
    assert [s[0] for s in seen] == [0, 1, 2]
    assert [s[2] for s in seen] == r.residuals


def test_maxiter_and_the_default_method():
    p = test_set(["HS6"])["HS6"]
    r = us.solve(p, method="newton-kkt", maxiter=1, atol=1e-14)
    assert r.status is Status.MAX_ITER and r.iterations == 1
    assert us.solve(p).method == "sketch-newton"


@pytest.mark.parametrize("name", list(test_set()))
@pytest.mark.parametrize(("method", "opts"), METHODS)
def test_every_test_set_problem_reaches_its_published_optimum(name, method, opts):
    """f to 1e-6 relative (1e-8 absolute at f* = 0) from the published start, KKT ≤ 1e-8."""
    p = test_set([name])[name]
    r = us.solve(p, method=method, atol=1e-8, **opts)
    assert r.status is Status.CONVERGED, (r.status, r.info.get("reason"))
    assert abs(r.info["f"] - p.f_star) <= max(1e-6 * abs(p.f_star), 1e-8), r.info["f"]
    assert np.linalg.norm(p.c(r.x)) <= 1e-8
    if p.x_star is not None:
        np.testing.assert_allclose(r.x, p.x_star, atol=1e-5)


@pytest.mark.parametrize("name", list(test_set()))
def test_scipy_slsqp_agrees_with_the_published_optimum(name):
    """The hand-coded formulas, checked by an independent solver from the same start."""
    import scipy.optimize as so

    p = test_set([name])[name]
    res = so.minimize(p.f, p.x0, jac=p.grad, method="SLSQP",
                      constraints=[{"type": "eq", "fun": p.c, "jac": p.jac}],
                      options={"ftol": 1e-12, "maxiter": 500})
    # (on HS7 SLSQP reaches f* but reports its iteration limit at ftol 1e-12: the point counts)
    assert np.linalg.norm(p.c(res.x)) <= 1e-8
    assert abs(res.fun - p.f_star) <= max(1e-6 * abs(p.f_star), 1e-8)


@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian"])
def test_the_sparse_path_takes_the_same_steps_as_the_dense_kernels(sketch, monkeypatch):
    """Systems above DENSE_LIMIT rows stay sparse (row sketches on CSC columns); with the
    same random draws they must walk the dense kernels' path exactly."""
    from unisolve.solvers import sketch_newton as module

    rng = np.random.default_rng(4)
    A = sp.random(10, 10, density=0.3, random_state=4) + 4 * sp.identity(10)
    K = sp.csr_array(A + A.T)
    b = rng.standard_normal(10)
    dense = module._Sketcher(K.toarray(), b, sketch, np.random.default_rng(9))
    dense.run(0.0, 700)
    monkeypatch.setattr(module, "DENSE_LIMIT", 3)
    sparse = module._Sketcher(K, b, sketch, np.random.default_rng(9))
    assert sparse.sparse and not dense.sparse
    sparse.run(0.0, 700)
    assert sparse.steps == dense.steps == 700
    np.testing.assert_allclose(sparse.z, dense.z, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(sparse.r, K @ sparse.z - b, atol=1e-9)
    assert np.linalg.norm(sparse.r) < 0.5 * np.linalg.norm(b)

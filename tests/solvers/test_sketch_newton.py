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


@pytest.mark.parametrize("tol", [0.0, 1e-3])
def test_csr_kaczmarz_kernel_matches_its_numpy_twin(tol):
    rng = np.random.default_rng(7)
    A = sp.random(40, 40, density=0.1, random_state=7) + 3 * sp.identity(40)
    K = sp.csr_array(A + A.T)
    K.sort_indices()
    b = rng.standard_normal(40)
    row_sq = np.asarray(K.multiply(K).sum(axis=1)).ravel()
    cdf = np.cumsum(row_sq)
    u = rng.random(5000)
    out = []
    for fn in (kernels.kaczmarz_csr, kernels.kaczmarz_csr_reference):
        z, r, flops = np.zeros(40), -b.copy(), np.zeros(1)
        steps = fn(K.indptr, K.indices, K.data, row_sq, cdf, u, z, r, tol, flops)
        out.append((steps, z, r, flops[0]))
    (s1, z1, r1, f1), (s2, z2, r2, f2) = out
    assert s1 == s2 and f1 == f2 > 0
    np.testing.assert_allclose(z1, z2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r1, r2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(r1, K @ z1 - b, atol=1e-10)  # r stays the true residual
    if tol > 0:  # stopped at the first exact ‖r‖ ≤ tol, well before the draws ran out
        assert s1 < 5000 and np.linalg.norm(r1) <= tol
    else:
        assert s1 == 5000 and np.linalg.norm(r1) < 1e-6 * np.linalg.norm(b)


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
    for name, opts in METHODS:  # regularize=False: no regularised steps (issue 27)
        r = us.solve(p, method=name, regularize=False, **opts)
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


#: every method reaches f* (1e-6 relative) at KKT 1e-8 from the published start on these
ALL_METHODS = ["BT2", "BT3", "BT4", "BT5", "BT6", "BT9", "BT10", "BT11", "BT12", "HS6", "HS7",
               "HS27", "HS28", "GENHS28", "HS39", "HS40", "HS42", "HS48", "HS50", "HS51", "HS52",
               "HS56", "HS77", "HS78", "HS79", "HIMMELBA", "HIMMELBC", "BOOTH", "CUBENE",
               "RSNBRNE", "HELIXNE", "DENSCHNFNE", "GOTTFR", "ZANGWIL3",
               "HS8", "HS9", "HS60", "HS63", "HS80", "HS100LNP", "MARATOS"]
#: newton-kkt reaches f* on these too; the sketches need more than 500 outer iterations at
#: KKT 1e-8 (BT1, BT7, HS26, HS46, HS47, HS49) or minutes (ORTHREGB with Gaussian sketches):
#: benchmarks/constrained.py reports them at the benchmark tolerance 1e-4
NEWTON_ONLY = ["BT1", "BT7", "HS26", "HS46", "HS47", "HS49", "ORTHREGB"]
#: f − f* vanishes to 4th order or more at x* (terms like (x₁ − x₂)⁴, (x₃ − 1)⁶): a KKT
#: residual of 1e-8 pins x only to ~1e-3
DEGENERATE = {"HS26", "HS46", "HS47", "HS49"}
#: both sketches reach f* at KKT 1e-8; newton-kkt's full steps run to x₄ = x₅ ≈ 0, where
#: e^{x₁⋯x₅} − ½(x₁³ + x₂³ + 1)² leaves no decrease of L_η (line search failed, f = 0.73)
SKETCHES_ONLY = ["HS81"]
#: HS61 (singular Jacobian at x0) and HS111LNP: tests/solvers/test_robust_start.py
ROBUST_START = {"HS61", "HS111LNP"}


def _reaches_f_star(p, r):
    assert r.status is Status.CONVERGED, (r.status, r.info.get("reason"))
    assert abs(r.info["f"] - p.f_star) <= max(1e-6 * abs(p.f_star), 1e-8), r.info["f"]
    assert np.linalg.norm(p.c(r.x)) <= 1e-8
    if p.x_star is not None:
        np.testing.assert_allclose(r.x, p.x_star, atol=5e-3 if p.name in DEGENERATE else 1e-5)


def test_the_named_lists_cover_the_set():
    named = (set(ALL_METHODS) | set(NEWTON_ONLY) | set(SKETCHES_ONLY)
             | {"BT8", "PRICE4NE", "MWRIGHT"} | ROBUST_START)
    assert named == set(test_set()) and len(ALL_METHODS) >= 10


@pytest.mark.parametrize("name", ALL_METHODS)
@pytest.mark.parametrize(("method", "opts"), METHODS)
def test_test_set_problems_reach_their_published_optimum(name, method, opts):
    """f to 1e-6 relative (1e-8 absolute at f* = 0) from the published start, KKT ≤ 1e-8."""
    p = test_set([name])[name]
    _reaches_f_star(p, us.solve(p, method=method, atol=1e-8, seed=0, **opts))


@pytest.mark.parametrize("name", SKETCHES_ONLY)
@pytest.mark.parametrize("sketch", ["kaczmarz", "gaussian"])
def test_the_sketches_reach_the_published_optimum_where_newton_kkt_fails(name, sketch):
    p = test_set([name])[name]
    _reaches_f_star(p, us.solve(p, method="sketch-newton", sketch=sketch, atol=1e-8, seed=0))
    r = us.solve(p, method="newton-kkt", atol=1e-8)
    assert r.status is Status.BREAKDOWN and "line search failed" in r.info["reason"]


@pytest.mark.parametrize("name", NEWTON_ONLY)
def test_newton_kkt_reaches_the_published_optimum_on_the_harder_problems(name):
    p = test_set([name])[name]
    _reaches_f_star(p, us.solve(p, method="newton-kkt", atol=1e-8))


def test_singular_at_the_solution_is_a_breakdown_near_f_star():
    """BT8 (LICQ fails at x*) and PRICE4NE (G(x*) = 0): BREAKDOWN, reported, close to f*,
    with the regularised steps of regularize=True (regularize=False: the immediate stop).

    (newton-kkt's full steps reach BT8's singular set early, at f = 1.16: also a BREAKDOWN.
    On PRICE4NE its regularised steps reach KKT 1e-8: it converges since issue 27.)"""
    for name, method, opts in (("BT8", "sketch-newton", {"sketch": "kaczmarz",
                                                         "regularize": False}),
                               ("PRICE4NE", "newton-kkt", {"regularize": False}),
                               ("PRICE4NE", "sketch-newton", {"sketch": "kaczmarz"})):
        p = test_set([name])[name]
        r = us.solve(p, method=method, atol=1e-8, seed=0, **opts)
        assert r.status is Status.BREAKDOWN and "singular Jacobian" in r.info["reason"]
        assert abs(r.info["f"] - p.f_star) <= 1e-3 * max(1.0, abs(p.f_star)), (name, r.info["f"])


def test_mwright_all_methods_agree_with_slsqp():
    """MWRIGHT has several local minima; from x0 every method lands on the same one."""
    import scipy.optimize as so

    p = test_set(["MWRIGHT"])["MWRIGHT"]
    res = so.minimize(p.f, p.x0, jac=p.grad, method="SLSQP",
                      constraints=[{"type": "eq", "fun": p.c, "jac": p.jac}],
                      options={"ftol": 1e-12, "maxiter": 500})
    for name, opts in METHODS:
        r = us.solve(p, method=name, atol=1e-8, seed=0, **opts)
        assert r.converged and r.info["f"] == pytest.approx(res.fun, rel=1e-8)
        np.testing.assert_allclose(r.x, res.x, atol=1e-5)


def test_singular_tol_is_relative_and_tunable():
    """GOTTFR: λ_min(GGᵀ) = 1.1e-3 at the first iterate (1.6e-5 ‖G‖²_F, measured): the
    reference code's absolute 1e-2 test stops there; the default floor 1e-10 ‖G‖²_F does
    not, and a floor of 1e-4 ‖G‖²_F stops it at that iterate."""
    p = test_set(["GOTTFR"])["GOTTFR"]
    assert us.solve(p, method="newton-kkt", atol=1e-8).converged
    r = us.solve(p, method="newton-kkt", atol=1e-8, singular_tol=1e-4, regularize=False)
    assert r.status is Status.BREAKDOWN and "λ_min(G Gᵀ)" in r.info["reason"]
    assert r.iterations == 1
    with pytest.raises(ValueError, match="singular_tol"):
        us.solve(p, method="sketch-newton", singular_tol=0.0)


@pytest.mark.parametrize("name", [n for n, p in test_set().items()
                                  if p.f_star is not None
                                  and n not in ("BT1", "BT7", "HS61")])
def test_scipy_slsqp_agrees_with_the_published_optimum(name):
    """The hand-coded formulas, checked by an independent solver from the same start.

    (SLSQP leaves BT1 at f = −1.00002 with ‖c‖ > 1e-8 and takes BT7 to another local
    point, f = 360.38; newton-kkt reaches both f*. SLSQP stops at HS61's x0, where the
    Jacobian has rank 1: test_robust_start.py checks HS61 against trust-constr.)"""
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
    """Sparse systems run the CSR Kaczmarz kernel (Gaussian sketches: above DENSE_LIMIT
    rows); with the same random draws they must walk the dense kernels' path exactly."""
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


# ----------------------------------------------------------------------------- model problems
def test_pde_control_newton_kkt_is_exact_and_the_sketch_converges_at_n_3():
    from unisolve.problems import pde_constrained

    p = pde_constrained(8)
    r = us.solve(p, method="newton-kkt", atol=1e-10)
    assert r.converged and r.iterations == 1  # a QP: one exact Newton step
    np.testing.assert_allclose(r.x, p.x_star, atol=1e-10)
    p = pde_constrained(3)
    r = us.solve(p, method="sketch-newton", atol=1e-4, seed=0)
    assert r.converged and r.residuals[-1] <= 1e-4
    assert r.info["f"] == pytest.approx(p.f_star, rel=1e-6)
    assert sum(r.info["inner_iterations"]) > 0 and r.info["flops"] > 0


@pytest.mark.parametrize(("name", "opts", "atol"),
                         [("newton-kkt", {}, 1e-8), ("sketch-newton", {"sketch": "kaczmarz"}, 1e-8),
                          ("sketch-newton", {"sketch": "gaussian"}, 1e-6)])
def test_constrained_logistic_agrees_with_slsqp(name, opts, atol):
    import scipy.optimize as so

    from unisolve.problems import constrained_logistic

    p = constrained_logistic(200, 20, seed=1)
    ref = so.minimize(p.f, p.x0, jac=p.grad, method="SLSQP",
                      constraints=[{"type": "eq", "fun": p.c, "jac": p.jac}],
                      options={"ftol": 1e-14, "maxiter": 500})
    r = us.solve(p, method=name, atol=atol, seed=0, **opts)
    assert r.converged, (r.status, r.info.get("reason"))
    assert r.info["f"] == pytest.approx(ref.fun, rel=1e-6)
    np.testing.assert_allclose(r.x, ref.x, atol=1e-4)
    assert abs(r.x @ r.x - 1) <= 10 * atol
    np.testing.assert_allclose(p.meta["C"] @ r.x, p.meta["d"], atol=10 * atol)


def test_constrained_logistic_on_real_data_matches_slsqp():
    pytest.importorskip("sklearn")
    import scipy.optimize as so

    from unisolve.problems import constrained_logistic

    p = constrained_logistic(dataset="breast_cancer", seed=0)
    ref = so.minimize(p.f, p.x0, jac=p.grad, method="SLSQP",
                      constraints=[{"type": "eq", "fun": p.c, "jac": p.jac}],
                      options={"ftol": 1e-14, "maxiter": 1000})
    r = us.solve(p, method="newton-kkt", atol=1e-8)
    assert r.converged and r.info["f"] == pytest.approx(ref.fun, rel=1e-6)

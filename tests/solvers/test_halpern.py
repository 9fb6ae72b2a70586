"""Halpern, variance-reduced Halpern (Algorithms 1 and 2), EG, EAG and VR-EG."""

import numpy as np
import pytest

import unisolve as us
from unisolve.problems.monotone import (
    FixedPointProblem,
    bilinear_game,
    constrained_qp,
    matrix_game,
)
from unisolve.result import Status
from unisolve.solvers import halpern as H
from unisolve.solvers.kernels import halpern as K


def _rotation(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


@pytest.mark.parametrize("rho", [1.0, 0.9])
def test_halpern_on_rotation_plus_contraction_meets_the_one_over_k_bound(rho):
    centre = np.array([2.0, -1.0])
    R = rho * _rotation(2.0)
    p = FixedPointProblem(lambda z: centre + R @ (z - centre), np.array([5.0, 3.0]))
    r = us.solve(p, method="halpern", rtol=0.0, maxiter=2000)
    dist0 = np.linalg.norm(p.z0 - centre)
    k = np.arange(len(r.residuals))
    # Lieder (2021): ‖z_k − T z_k‖ ≤ 2‖z₀ − z*‖/(k + 1) for λ_k = 1/(k + 2)
    assert np.all(np.array(r.residuals) <= 2 * dist0 / (k + 1) * (1 + 1e-12))
    assert np.linalg.norm(r.x - centre) < 2 * dist0 / 2000  # the iterate, not only T's gap
    assert r.status is Status.MAX_ITER and r.info["oracle_calls"] == 2001
    if rho == 1.0:  # the rate is tight up to a constant on a pure rotation
        assert r.residuals[-1] > 0.05 * dist0 / 2000


def test_picard_cycles_where_halpern_converges():
    """The reason for anchoring: on a rotation z ← T z never gets closer."""
    T = _rotation(1.0)
    z = np.array([1.0, 0.0])
    for _ in range(100):
        z = T @ z
    assert np.linalg.norm(z - T @ z) == pytest.approx(np.linalg.norm([1.0, 0.0] - T[:, 0]))
    r = us.solve(FixedPointProblem(lambda v: T @ v, np.array([1.0, 0.0])), method="halpern",
                 maxiter=100, rtol=0.0)
    assert r.residuals[-1] < 0.02


def test_halpern_on_a_gradient_step_map_finds_least_squares():
    rng = np.random.default_rng(0)
    A, b = rng.standard_normal((30, 8)), rng.standard_normal(30)
    L = np.linalg.norm(A, 2) ** 2
    p = FixedPointProblem(lambda x: x - (A.T @ (A @ x - b)) / L, np.zeros(8))
    r = us.solve(p, method="halpern", rtol=0.0, maxiter=20_000)
    x_star = np.linalg.lstsq(A, b, rcond=None)[0]
    k = np.arange(len(r.residuals))
    assert np.all(np.array(r.residuals) <= 2 * np.linalg.norm(x_star) / (k + 1))
    # Halpern is only O(1/k) even on this contraction: the price of anchoring
    assert np.linalg.norm(r.x - x_star) <= 1e-3 * np.linalg.norm(x_star)


def test_expansive_map_is_reported_as_diverged():
    p = FixedPointProblem(lambda z: 1.5 * _rotation(0.3) @ z + 1.0, np.zeros(2))
    r = us.solve(p, method="halpern", maxiter=100)
    assert r.status is Status.DIVERGED
    assert "not nonexpansive" in r.info["message"] and r.iterations < 5


def test_halpern_on_inclusions_via_the_resolvent():
    qp = constrained_qp(12)
    eta = 50.0
    r = us.solve(qp, method="halpern", step=eta, rtol=0.0, maxiter=2000)
    k = np.arange(len(r.residuals))
    # ‖F(z)‖ ≤ (1/η + L)‖z − J z‖ ≤ (1/η + L) 2‖z₀ − z*‖/(k + 1)
    bound = (1 / eta + qp.lipschitz) * 2 * np.linalg.norm(qp.z0 - qp.z_star) / (k + 1)
    assert np.all(np.array(r.residuals) <= bound)
    assert np.linalg.norm(r.x - qp.z_star) <= 1e-2 * np.linalg.norm(qp.z_star)
    # one solve per step is one F; the LU factorisation counts ⌈d/3⌉ F's, once
    assert r.info["oracle_calls"] == qp.n * (2000 + -(-qp.dim // 3))
    game = bilinear_game(np.random.default_rng(4).random((6, 9)))
    r = us.solve(game, method="halpern", rtol=0.0, maxiter=300)
    res = np.array(r.residuals)
    assert res[300] < 0.2 * res[30] and game.meta["gap"](r.x) < 1e-2
    assert r.info["oracle_calls"] > 300 * game.n  # several F's per resolvent


@pytest.mark.parametrize("method", ["eg", "eag"])
def test_extragradients_solve_games_and_the_qp(method):
    game = bilinear_game(np.random.default_rng(4).random((6, 9)))
    r = us.solve(game, method=method, rtol=3e-5, maxiter=50_000, step=1.0)
    assert r.converged
    x, y = r.x[:6], r.x[6:]
    A = game.meta["A"]
    assert float(x @ A @ y) == pytest.approx(game.meta["value"], abs=1e-5)
    assert game.meta["gap"](r.x) < 1e-4
    qp = constrained_qp(6)
    r = us.solve(qp, method=method, rtol=1e-3, maxiter=50_000, step=0.9 / qp.lipschitz)
    assert r.converged  # O(L‖z₀ − z*‖/k) for EAG: 1e-3 is ~10⁴ iterations here
    np.testing.assert_allclose(r.x, qp.z_star, atol=1e-2 * np.linalg.norm(qp.z_star))
    assert r.info["oracle_calls"] == qp.n * (1 + 2 * r.iterations)
    assert r.info["epochs"][-1] == 1 + 2 * r.iterations


def test_vr_halpern_algorithm1_converges_on_the_qp():
    qp = constrained_qp(16)  # the hard instance: O(1/k) is all one gets
    r = us.solve(qp, method="vr-halpern", variant=1, step=0.6, max_epochs=8000, rtol=0.0,
                 seed=3, check_every=100)
    res, ep = np.array(r.residuals), np.array(r.info["epochs"])
    at = res[np.searchsorted(ep, [800, 8000])]
    assert at[1] < 0.2 * at[0]  # ten times the epochs, at least five times smaller
    assert res[-1] < 2e-2 * res[0]
    err = np.linalg.norm(r.x - qp.z_star) / np.linalg.norm(qp.z_star)
    assert err < 0.05
    assert r.info["epochs"][-1] == pytest.approx(r.info["oracle_calls"] / qp.n)
    assert r.info["batch"] == 4


def test_vr_halpern_algorithm2_and_vr_eg_solve_a_small_game():
    game = bilinear_game(np.random.default_rng(7).random((8, 8)))
    for method, opts in (("vr-halpern", {"variant": 2}), ("vr-eg", {})):
        r = us.solve(game, method=method, max_epochs=5_000, rtol=0.0, seed=0, **opts)
        res, ep = np.array(r.residuals), np.array(r.info["epochs"])
        at = res[np.searchsorted(ep, [50, 500, 5000])]
        assert at[2] < 2e-2 * res[0] and at[2] < 0.5 * at[1] < 0.25 * at[0], (method, at)
        assert game.meta["gap"](r.x) < 1e-2
        # last iterate, measured on epochs that grow
        assert np.all(np.diff(r.info["epochs"]) > 0)


def test_stochastic_methods_are_reproducible_from_the_seed():
    p = matrix_game(12, seed=0)
    for method, opts in (("vr-halpern", {"variant": 1}), ("vr-halpern", {"variant": 2}),
                         ("vr-eg", {})):
        a = us.solve(p, method=method, max_epochs=30, rtol=0.0, seed=5, **opts)
        b = us.solve(p, method=method, max_epochs=30, rtol=0.0, seed=5, **opts)
        c = us.solve(p, method=method, max_epochs=30, rtol=0.0, seed=6, **opts)
        assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, c.x)
        # the random stream does not depend on how often the residual is measured
        d = us.solve(p, method=method, max_epochs=30, rtol=0.0, seed=5, check_every=7.0,
                     **opts)
        assert np.array_equal(d.x, a.x) and d.info["steps"] == a.info["steps"]


def test_page_estimator_is_unbiased_monte_carlo():
    p = constrained_qp(20)
    rng = np.random.default_rng(0)
    z, z_prev = rng.standard_normal(p.dim), rng.standard_normal(p.dim)
    g_prev = p.operator(z_prev)
    b, trials = 4, 20_000
    batch = np.empty(b, dtype=np.int64)
    draws = np.empty((trials, p.dim))
    for t in range(trials):
        K.floyd(rng.random(b), p.n, batch)  # the sampler the kernel uses
        assert len(set(batch.tolist())) == b
        draws[t] = H.page_estimate(p, g_prev, z, z_prev, batch)
    mean, se = draws.mean(axis=0), draws.std(axis=0) / np.sqrt(trials)
    target = p.operator(z)
    assert np.all(np.abs(mean - target) <= 5 * se + 1e-12)
    # and it is not trivially exact: the estimator has variance
    assert se.max() > 1e-3


def test_floyd_sampler_is_uniform():
    rng = np.random.default_rng(1)
    n, b, trials = 7, 3, 40_000
    counts = np.zeros(n)
    out = np.empty(b, dtype=np.int64)
    for _ in range(trials):
        K.floyd(rng.random(b), n, out)
        counts[out] += 1
    expected = trials * b / n
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected))


def test_methods_reject_bad_options():
    p = matrix_game(6, seed=0)
    with pytest.raises(ValueError, match="variant must be 1"):
        us.solve(p, method="vr-halpern", variant=3)
    with pytest.raises(ValueError, match="step must be"):
        us.solve(p, method="eg", step=-1.0)
    with pytest.raises(ValueError, match="batch must be"):
        us.solve(p, method="vr-halpern", variant=1, batch=7)
    with pytest.raises(ValueError, match="inner_step is for variant=2"):
        us.solve(p, method="vr-halpern", variant=1, inner_step=0.1)
    with pytest.raises(ValueError, match="x0 must have shape"):
        us.solve(p, method="eag", x0=np.ones(3))
    with pytest.raises(ValueError, match="max_epochs"):
        us.solve(p, method="vr-eg", max_epochs=-1)
    fp = FixedPointProblem(lambda z: z, np.zeros(2))
    with pytest.raises(ValueError, match="kind"):
        us.solve(fp, method="vr-halpern")
    with pytest.raises(ValueError, match="resolvent"):
        us.solve(fp, method="halpern", step=0.5)


def test_default_methods_and_divergence_status():
    assert us.solve(matrix_game(6, seed=0), max_epochs=5).method == "eag"  # issue 27
    assert us.solve(FixedPointProblem(lambda z: 0.5 * z, np.ones(2)), rtol=1e-3).converged
    # a step far beyond 1/L makes extragradient blow up on the unconstrained QP
    r = us.solve(constrained_qp(10), method="eg", step=1e3, maxiter=200)
    assert r.status in (Status.DIVERGED, Status.NONFINITE)


# ----------------------------------------------------------------------------- kernels
def _draws(rng, size, n, b):
    return rng.random(size), rng.random((size, b)), rng.integers(n, size=size)


@pytest.mark.parametrize("make", [lambda: matrix_game(15, seed=1), lambda: constrained_qp(15),
                                  lambda: bilinear_game(np.random.default_rng(0).random((4, 9)))])
def test_kernels_match_their_numpy_references(make):
    p = make()
    M, MT, q, cols, seg = H._arrays(p)
    rng = np.random.default_rng(2)
    toss, bu, idx = _draws(rng, 300, p.n, 3)
    z0 = p.z0.copy()
    for fn, ref in ((K.page_chunk, K.page_chunk_reference),):
        states = [[z0.copy(), z0.copy(), np.zeros_like(z0)] for _ in range(2)]
        out = [f(M, MT, q, cols, seg, z0, *st, 0, 0, 10 ** 9, 0.05, toss, bu, 0)
               for f, st in zip((fn, ref), states, strict=True)]
        assert out[0] == out[1]
        for a, b in zip(*states, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    states = [[z0.copy(), z0.copy(), p.operator(z0)] for _ in range(2)]
    out = [f(M, MT, q, cols, seg, *st, 0, 0, 10 ** 9, 0.05, idx, toss, 0)
           for f, st in zip((K.vreg_chunk, K.vreg_chunk_reference), states, strict=True)]
    assert out[0] == out[1]
    np.testing.assert_allclose(states[0][0], states[1][0], rtol=1e-10, atol=1e-12)
    vs = [np.empty_like(z0), np.empty_like(z0)]
    calls = [f(M, MT, q, cols, seg, z0, 0.5, 0.01, idx, toss, v)
             for f, v in zip((K.vrfrb, K.vrfrb_reference), vs, strict=True)]
    assert calls[0] == calls[1]
    np.testing.assert_allclose(vs[0], vs[1], rtol=1e-10, atol=1e-12)


def test_kernel_projection_matches_the_sort_based_one():
    from unisolve.problems.monotone import Box, Product, Simplex, Whole, project_simplex
    rng = np.random.default_rng(3)
    C = Product([Simplex(1.0), Box(-0.5, 0.5), Simplex(3.0), Whole()], [50, 4, 7, 3])
    seg = H._segments(C, 64)
    out = np.empty(64)
    for scale in (1e-3, 1.0, 1e3):
        z = scale * rng.standard_normal(64)
        K.project(z, seg, out)
        np.testing.assert_allclose(out, C.project(z), atol=1e-12 * max(1, scale))
        np.testing.assert_allclose(out, K.project_reference(z, seg), atol=1e-12 * max(1, scale))
        once = out.copy()
        K.project(once, seg, out)
        assert np.array_equal(out, once)  # idempotent, exact on feasible points
    feasible = rng.dirichlet(np.ones(50))
    np.testing.assert_array_equal(project_simplex(feasible), feasible)

"""Monotone inclusion problems: projections, the two paper problems, the finite-sum split."""

import numpy as np
import pytest
import scipy.optimize as so

from unisolve.problems.monotone import (
    Box,
    FiniteSumProblem,
    FixedPointProblem,
    Product,
    Simplex,
    Whole,
    bilinear_game,
    constrained_qp,
    matrix_game,
    project_box,
    project_simplex,
)


def _simplex_by_bisection(v, r):
    """τ with Σ max(v − τ, 0) = r by bisection: an independent projection."""
    lo, hi = v.min() - r, v.max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.maximum(v - mid, 0).sum() > r else (lo, mid)
    return np.maximum(v - 0.5 * (lo + hi), 0)


@pytest.mark.parametrize("radius", [1.0, 0.3, 7.0])
def test_simplex_projection_matches_bisection_and_kkt(radius):
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 50, 500):
        for scale in (0.01, 1.0, 100.0):
            v = scale * rng.standard_normal(n)
            x = project_simplex(v, radius)
            np.testing.assert_allclose(x, _simplex_by_bisection(v, radius), atol=1e-12 * max(
                1, scale))
            assert x.min() >= 0 and abs(x.sum() - radius) <= 1e-12 * radius * n
            # KKT: v − x = τ on the support, ≤ τ off it
            support = x > 0
            tau = (v - x)[support]
            assert np.ptp(tau) <= 1e-12 * max(1.0, scale)
            assert np.all((v - x)[~support] <= tau[0] + 1e-12 * max(1.0, scale))


def test_simplex_projection_is_exact_on_feasible_points_and_idempotent():
    rng = np.random.default_rng(1)
    for n in (1, 3, 500):
        p = rng.dirichlet(np.ones(n))
        assert np.array_equal(project_simplex(p), p)  # the reference code fails here
        vertex = np.zeros(n)
        vertex[0] = 1.0
        assert np.array_equal(project_simplex(vertex), vertex)
        v = rng.standard_normal(n) * 3
        once = project_simplex(v)
        assert np.array_equal(project_simplex(once), once)


def test_simplex_projection_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        project_simplex(np.ones((2, 2)))
    with pytest.raises(ValueError, match="radius"):
        project_simplex(np.ones(3), radius=0.0)
    assert np.isnan(project_simplex(np.array([1.0, np.nan]))).all()


def test_box_projection():
    v = np.array([-2.0, 0.5, 3.0])
    x = project_box(v, -1.0, np.array([1.0, 1.0, 2.0]))
    assert x.tolist() == [-1.0, 0.5, 2.0]
    assert np.array_equal(project_box(x, -1.0, np.array([1.0, 1.0, 2.0])), x)
    with pytest.raises(ValueError, match="lo <= hi"):
        project_box(v, 1.0, 0.0)


def test_product_projects_each_slice():
    C = Product([Simplex(2.0), Box(-1.0, 1.0), Whole()], [3, 2, 2])
    z = np.array([3.0, 0.0, 0.0, 5.0, -5.0, 9.0, -9.0])
    assert C.project(z).tolist() == [2.0, 0.0, 0.0, 1.0, -1.0, 9.0, -9.0]
    assert C.contains(C.project(z))


def test_matrix_game_is_the_papers_instance():
    p = matrix_game(40, seed=3)
    A = p.meta["A"]
    w = np.abs(np.random.default_rng(3).standard_normal(40))
    i, j = 7, 19
    assert A[i, j] == pytest.approx(w[j] * (1 - np.exp(-0.8 * 12)), rel=1e-15)
    # the paper's orientation: F(x, y) = (Aᵀy, −Ax)
    z = np.random.default_rng(0).random(80)
    np.testing.assert_allclose(p.operator(z), np.concatenate([A.T @ z[40:], -A @ z[:40]]),
                               rtol=1e-14)
    assert p.z0.tolist() == [1 / 40] * 80 and p.n == 40


def test_game_value_and_gap_against_linear_programming():
    assert bilinear_game([[0.0, 1.0], [1.0, 0.0]]).meta["value"] == pytest.approx(0.5, abs=1e-12)
    rps = np.array([[0, 1, -1], [-1, 0, 1], [1, -1, 0]], dtype=float)
    p = bilinear_game(rps)
    assert p.meta["value"] == pytest.approx(0.0, abs=1e-12)
    assert p.meta["gap"](p.z0) == pytest.approx(0.0, abs=1e-15)  # uniform play is optimal
    # non-square: the maximiser's LP gives the same value (LP duality)
    A = np.random.default_rng(2).random((3, 5))
    q = bilinear_game(A)
    res = so.linprog(np.r_[np.zeros(5), -1.0], A_ub=np.hstack([-A, np.ones((3, 1))]),
                     b_ub=np.zeros(3), A_eq=np.r_[np.ones(5), 0.0][None], b_eq=[1.0],
                     bounds=[(0, None)] * 5 + [(None, None)])
    assert q.meta["value"] == pytest.approx(-res.fun, abs=1e-9)
    assert q.n == 5 and q.dim == 8


def test_bad_payoff_matrix():
    with pytest.raises(ValueError, match="2-D"):
        bilinear_game(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        bilinear_game([[1.0, np.nan]])
    with pytest.raises(ValueError, match="int >= 2"):
        matrix_game(1)


def test_constrained_qp_structure_and_solution():
    n = 30
    p = constrained_qp(n)
    A, H, b = p.meta["A"], p.meta["H"], p.meta["b"]
    assert A[0, n - 1] == 0.25 and A[0, n - 2] == -0.25 and A[n - 1, 0] == 0.25
    np.testing.assert_allclose(H, 2 * A.T @ A, rtol=0, atol=0)
    x, y = p.z_star[:n], p.z_star[n:]
    np.testing.assert_allclose(A @ x, b, atol=1e-12)  # feasible
    np.testing.assert_allclose(H @ x - p.meta["h"], A.T @ y, atol=1e-10)  # stationary
    assert p.residual(p.z_star) < 1e-10
    assert p.residual(p.z0) == pytest.approx(np.linalg.norm(p.operator(p.z0)), rel=1e-15)


@pytest.mark.parametrize("make", [lambda: matrix_game(12, seed=0), lambda: constrained_qp(12),
                                  lambda: bilinear_game(np.arange(12.0).reshape(3, 4))])
def test_components_average_to_the_operator(make):
    p = make()
    rng = np.random.default_rng(5)
    z, w = rng.standard_normal(p.dim), rng.standard_normal(p.dim)
    mean = sum(p.component(z, i) for i in range(p.n)) / p.n
    np.testing.assert_allclose(mean, p.operator(z), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.component_diff(z, w, np.arange(p.n)),
                               p.operator(z) - p.operator(w), rtol=1e-12, atol=1e-12)
    B = np.array([1, 2])
    np.testing.assert_allclose(p.component_diff(z, w, B), 0.5 * sum(
        p.component(z, i) - p.component(w, i) for i in B), rtol=1e-12, atol=1e-12)
    # mean-square Lipschitz bound, with the exact expectation over i
    ms = np.mean([np.sum((p.component(z, i) - p.component(w, i)) ** 2) for i in range(p.n)])
    assert ms <= p.lipschitz_avg ** 2 * np.sum((z - w) ** 2) * (1 + 1e-12)
    assert np.linalg.norm(p.operator(z) - p.operator(w)) <= p.lipschitz * np.linalg.norm(
        z - w) * (1 + 1e-12)


def test_resolvent_solves_its_inclusion():
    qp = constrained_qp(10)
    z = np.random.default_rng(0).standard_normal(20)
    u, _ = qp.resolvent(z, 2.0)
    np.testing.assert_allclose(u - z + 2.0 * qp.operator(u), 0, atol=1e-12)
    game = matrix_game(10, seed=0)
    z = game.project(np.random.default_rng(1).random(20))
    u, k = game.resolvent(z, 0.5 / game.lipschitz)
    # 0 ∈ u − z + ηF(u) + N_C(u)  ⇔  u = Π(u − (u − z + ηF(u)))
    g = u - z + 0.5 / game.lipschitz * game.operator(u)
    np.testing.assert_allclose(game.project(u - g), u, atol=1e-11)
    assert k > 1


def test_finite_sum_problem_rejects_bad_input():
    M = np.array([[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="not monotone"):
        FiniteSumProblem(M, np.zeros(2), np.array([0, 1]), Whole(), np.zeros(2))
    with pytest.raises(ValueError, match="every component"):
        FiniteSumProblem(np.eye(2), np.zeros(2), np.array([0, 2]), Whole(), np.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        FiniteSumProblem(np.eye(2), np.zeros(3), np.array([0, 1]), Whole(), np.zeros(2))
    with pytest.raises(TypeError, match="integer"):
        FiniteSumProblem(np.eye(2), np.zeros(2), np.array([0.0, 1.0]), Whole(), np.zeros(2))


def test_fixed_point_problem_rejects_bad_maps():
    with pytest.raises(TypeError, match="callable"):
        FixedPointProblem(np.eye(2), np.zeros(2))
    with pytest.raises(ValueError, match="same length"):
        FixedPointProblem(lambda z: z[:1], np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        FixedPointProblem(lambda z: z, np.array([np.nan]))

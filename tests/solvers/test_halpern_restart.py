"""Restarted and reflected Halpern (issue 30): the adaptive rule, linear rates, bad input."""

import numpy as np
import pytest

import unisolve as us
from unisolve.problems.monotone import (
    FiniteSumProblem,
    FixedPointProblem,
    Whole,
    bilinear_game,
    constrained_qp,
    matrix_game,
)


def _rotation(theta):
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def test_adaptive_rule_restarts_on_a_contraction_and_wins():
    centre = np.array([1.0, -2.0, 0.5])
    p = FixedPointProblem(lambda z: centre + 0.5 * (z - centre), np.zeros(3))
    plain = us.solve(p, method="halpern", rtol=1e-10, maxiter=2000)
    # anchoring slows even a contraction to O(1/k): e_k = (2 − 2^{−k})/(k + 1) e₀ / 2 …
    assert not plain.converged and plain.residuals[-1] > 1e-4 * plain.residuals[0]
    r = us.solve(p, method="halpern", rtol=1e-10, maxiter=2000, restart="adaptive")
    assert r.converged and r.iterations < 200 and r.info["restarts"] >= 5
    assert np.linalg.norm(r.x - centre) < 1e-9 * np.linalg.norm(centre)
    # each restart epoch is a T-evaluation count, increasing
    assert np.all(np.diff(r.info["restart_epochs"]) > 0)


def test_adaptive_rule_does_not_restart_on_a_slow_rotation_where_it_would_not_pay():
    """Rotation by θ about c: the residual after k Halpern steps is
    |sin((k + 1)θ/2)| / ((k + 1) sin(θ/2)) × its start, falling and above 0.95 for
    θ = 0.01, k ≤ 100: neither decay test fires, and restarting (every 10 steps) loses."""
    theta, centre = 0.01, np.array([3.0, -1.0])
    R = _rotation(theta)
    p = FixedPointProblem(lambda z: centre + R @ (z - centre), np.zeros(2))
    plain = us.solve(p, method="halpern", rtol=0.0, maxiter=100)
    r = us.solve(p, method="halpern", rtol=0.0, maxiter=100, restart="adaptive")
    assert r.info["restarts"] == 0 and np.array_equal(r.x, plain.x)
    k = 100
    closed = abs(np.sin((k + 1) * theta / 2)) / ((k + 1) * np.sin(theta / 2))
    assert plain.residuals[-1] / plain.residuals[0] == pytest.approx(closed, rel=1e-9)
    forced = us.solve(p, method="halpern", rtol=0.0, maxiter=100, restart="fixed",
                      restart_every=10)
    assert forced.info["restarts"] == 9 and forced.residuals[-1] > 1.02 * plain.residuals[-1]


def _strongly_monotone(d=12, mu=0.5, seed=0):
    rng = np.random.default_rng(seed)
    S = rng.standard_normal((d, d))
    M = mu * np.eye(d) + (S - S.T) / 2
    q = rng.standard_normal(d)
    return FiniteSumProblem(M, q, np.arange(d), Whole(), np.zeros(d),
                            z_star=np.linalg.solve(M, -q))


@pytest.mark.parametrize("reflect", [False, True])
def test_restarted_halpern_is_linear_on_a_strongly_monotone_linear_operator(reflect):
    p = _strongly_monotone()
    K = 20
    r = us.solve(p, method="halpern", step=1.0, restart="fixed", restart_every=K,
                 reflect=reflect, rtol=0.0, maxiter=300)
    ep, res = np.array(r.info["epochs"]), np.array(r.residuals)
    cycles = np.array([res[np.searchsorted(ep, e)] for e in r.info["restart_epochs"]])
    cycles = cycles[cycles > 1e-11]  # above the rounding floor
    ratios = cycles[1:] / cycles[:-1]
    assert len(ratios) >= 8 and np.all(ratios < 0.5)  # a constant factor per cycle
    assert np.linalg.norm(r.x - p.z_star) < 1e-10 * np.linalg.norm(p.z_star)
    plain = us.solve(p, method="halpern", step=1.0, rtol=0.0, maxiter=300, reflect=reflect)
    assert plain.residuals[-1] > 1e6 * r.residuals[-1]  # O(1/k) without restarts
    adaptive = us.solve(p, method="halpern", step=1.0, restart="adaptive", reflect=reflect,
                        rtol=1e-10, maxiter=300)
    assert adaptive.converged and adaptive.info["restarts"] >= 5


def test_reflected_step_is_the_formula():
    A = np.array([[0.5, 0.2], [-0.1, 0.3]])
    b = np.array([1.0, -1.0])

    def T(z):
        return A @ z + b

    z0 = np.array([2.0, 1.0])
    rho = 0.8
    r = us.solve(FixedPointProblem(T, z0), method="halpern", reflect=rho, rtol=0.0,
                 maxiter=3)
    z = z0.copy()
    for k in range(3):  # z_{k+1} = λ_k z₀ + (1 − λ_k)((1 − ρ)z_k + ρ(2T z_k − z_k))
        lam = 1 / (k + 2)
        z = lam * z0 + (1 - lam) * ((1 - rho) * z + rho * (2 * T(z) - z))
    np.testing.assert_allclose(r.x, z, rtol=1e-15)
    assert r.info["reflect"] == rho
    half = us.solve(FixedPointProblem(T, z0), method="halpern", reflect=0.5, rtol=0.0,
                    maxiter=3)
    plain = us.solve(FixedPointProblem(T, z0), method="halpern", rtol=0.0, maxiter=3)
    assert np.array_equal(half.x, plain.x)


def test_restarted_reflected_pdhg_solves_a_game_to_the_lp_value():
    g = bilinear_game(np.random.default_rng(4).standard_normal((6, 9)))
    r = us.solve(g, method="halpern", operator="pdhg", restart="adaptive", reflect=True,
                 rtol=1e-11, maxiter=20_000)
    assert r.converged and r.info["restarts"] > 0 and r.info["operator"] == "pdhg"
    assert g.meta["gap"](r.x) < 1e-9  # against the LP value (scipy HiGHS)
    m = 6
    assert r.x[:m] @ g.M[:m, m:] @ r.x[m:] == pytest.approx(g.meta["value"], abs=1e-9)
    # one full F per PDHG step
    assert r.info["oracle_calls"] == g.n * r.iterations


def test_restarted_extragradient_map_on_a_game():
    g = bilinear_game(np.random.default_rng(5).standard_normal((5, 5)))
    r = us.solve(g, method="halpern", operator="extragradient", restart="adaptive",
                 rtol=1e-10, maxiter=20_000)
    assert r.converged and g.meta["gap"](r.x) < 1e-8
    assert r.info["oracle_calls"] == 2 * g.n * r.iterations


def test_restarted_vr_halpern_is_reproducible_under_a_seed():
    p = matrix_game(20, seed=1)
    kw = dict(method="vr-halpern", restart="adaptive", step=2.0, max_epochs=400, rtol=0.0,
              check_every=2.0)
    a = us.solve(p, seed=3, **kw)
    b = us.solve(p, seed=3, **kw)
    c = us.solve(p, seed=4, **kw)
    assert a.info["restarts"] > 0
    assert np.array_equal(a.x, b.x) and a.residuals == b.residuals
    assert a.info["restart_epochs"] == b.info["restart_epochs"]
    assert not np.array_equal(a.x, c.x)


def test_restarted_vr_halpern_beats_plain_on_the_hard_qp():
    p = constrained_qp(20)
    kw = dict(method="vr-halpern", step=0.3, max_epochs=3000, rtol=0.0, check_every=10.0)
    plain = us.solve(p, **kw)
    r = us.solve(p, restart="adaptive", **kw)
    assert r.info["restarts"] > 0 and r.residuals[-1] < 0.5 * plain.residuals[-1]
    r2 = us.solve(p, method="vr-halpern", variant=2, restart="fixed", restart_every=50,
                  reflect=True, max_epochs=200, rtol=0.0, inner_factor=1.0)
    assert r2.info["restarts"] >= 3 and r2.info["reflect"] == 1.0


@pytest.mark.parametrize(("kw", "match"), [
    ({"restart": "sometimes"}, "restart must be one of"),
    ({"restart": True}, "restart must be one of"),
    ({"restart": "fixed"}, "restart_every=K"),
    ({"restart": "fixed", "restart_every": 0}, "restart_every must be"),
    ({"restart": "fixed", "restart_every": -5}, "restart_every must be"),
    ({"restart": "adaptive", "restart_every": 5}, "restart_every is for"),
    ({"restart": "adaptive", "restart_beta": 0.0}, "restart_beta must be"),
    ({"restart": "adaptive", "restart_beta": 1.0}, "restart_beta must be"),
    ({"restart": "adaptive", "restart_beta": 1.5}, "restart_beta must be"),
    ({"restart": "adaptive", "restart_necessary": 1.0}, "restart_necessary must be"),
    ({"restart": "adaptive", "restart_beta": 0.6, "restart_necessary": 0.5}, "weaker"),
    ({"reflect": 2.0}, "reflect must be"),
    ({"reflect": 0.2}, "reflect must be"),
    ({"operator": "newton"}, "operator must be one of"),
    ({"operator": "pdhg"}, "needs a bilinear game"),
])
def test_bad_restart_options_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        us.solve(constrained_qp(6), method="halpern", maxiter=5, **kw)


def test_bad_options_of_vr_halpern_and_fixed_point_problems():
    with pytest.raises(ValueError, match="reflect is for variant=2"):
        us.solve(constrained_qp(6), method="vr-halpern", reflect=True, max_epochs=5)
    with pytest.raises(ValueError, match="restart_beta must be"):
        us.solve(constrained_qp(6), method="vr-halpern", restart="adaptive", restart_beta=-1,
                 max_epochs=5)
    p = FixedPointProblem(lambda z: 0.5 * z, np.ones(2))
    with pytest.raises(ValueError, match="brings its own T"):
        us.solve(p, method="halpern", operator="pdhg")


def test_halpern_games_benchmark_quick(capsys):
    """benchmarks/halpern_games.py --quick: the small games, restarted reflected PDHG."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "halpern_games.py"
    spec = importlib.util.spec_from_file_location("halpern_games", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--quick", "--variants", "2"]) == 0
    out = capsys.readouterr().out
    assert "| RPSLS |" in out and "restarted + reflected: 4/4." in out

"""Issue 27 item 2: the default method for monotone problems converges on games.

The duality gap is computed here from the payoff matrix alone (min over x, max over y of
xᵀAy): gap(x, y) = max_j (Aᵀx)_j − min_i (Ay)_i, zero exactly at a saddle point; each
test also checks it against the game value by linear programming (scipy's HiGHS).
"""

import numpy as np
import pytest
import scipy.optimize as so

import unisolve as us
from unisolve.problems.monotone import bilinear_game, matrix_game

# rock–paper–scissors–lizard–Spock: row i pays A[i, j] = 1 when j beats i, −1 when i beats j
_BEATS = {0: (2, 3), 1: (0, 4), 2: (1, 3), 3: (4, 1), 4: (2, 0)}  # R, P, S, L, Spock


def rpsls() -> np.ndarray:
    A = np.zeros((5, 5))
    for i, losers in _BEATS.items():
        for j in losers:
            A[i, j], A[j, i] = -1.0, 1.0
    return A


def gap(A: np.ndarray, z: np.ndarray) -> float:
    m = A.shape[0]
    x, y = z[:m], z[m:]
    assert abs(x.sum() - 1) < 1e-12 and abs(y.sum() - 1) < 1e-12
    assert x.min() >= 0 and y.min() >= 0
    return float(np.max(A.T @ x) - np.min(A @ y))


def lp_value(A: np.ndarray) -> float:
    """min_x max_j (Aᵀx)_j by an LP written out here (not the library's)."""
    m, n = A.shape
    res = so.linprog(np.r_[np.zeros(m), 1.0], A_ub=np.c_[A.T, -np.ones(n)], b_ub=np.zeros(n),
                     A_eq=np.r_[np.ones(m), 0.0][None], b_eq=[1.0],
                     bounds=[(0, None)] * m + [(None, None)], method="highs")
    return float(res.fun)


def _games():
    z0 = np.zeros(10)
    z0[0] = z0[6] = 1.0  # pure strategies (rock, paper): the uniform start is the solution
    pb = matrix_game(10, seed=1)  # policeman–burglar; its F uses Aᵀ, so the payoff is M's block
    return [("rpsls", rpsls(), bilinear_game(rpsls(), z0=z0)),
            ("rand10x15-0", *_rand(0)), ("rand10x15-1", *_rand(1)),
            ("policeman-burglar-10", pb.M[:10, 10:], pb)]


def _rand(seed):
    A = np.random.default_rng(seed).standard_normal((10, 15))
    return A, bilinear_game(A)


@pytest.mark.parametrize("name, A, game", _games(), ids=[g[0] for g in _games()])
def test_default_reaches_gap_1e6_within_20000_epochs(name, A, game):
    r = us.solve(game, rtol=0.0, max_epochs=20_000,
                 callback=lambda s: _stop_at(A, s.x))  # no method, no step
    assert r.info["epochs"][-1] <= 20_000
    assert gap(A, r.x) <= 1e-6
    m = A.shape[0]
    assert float(r.x[:m] @ A @ r.x[m:]) == pytest.approx(lp_value(A), abs=1e-6)
    assert r.method != "vr-halpern" or r.info.get("variant") == 2  # Algorithm 1 needs cocoercive
    assert "cocoercive" in r.info["chosen_because"]


def _stop_at(A, z):
    if gap(A, z) <= 1e-6:
        raise StopIteration


def test_eg_default_step_is_strictly_inside_one_over_l():
    game = bilinear_game(rpsls())
    r = us.solve(game, method="eg", maxiter=1)
    L = np.linalg.norm(game.M, 2)
    assert 0 < r.info["step"] < 1.0 / L
    assert r.info["step"] <= 0.95 / L  # a margin that damps the top mode, not rounding


def test_eg_at_its_default_step_makes_progress_on_rpsls():
    z0 = np.zeros(10)
    z0[0] = z0[6] = 1.0
    game = bilinear_game(rpsls(), z0=z0)
    r = us.solve(game, method="eg", rtol=0.0, maxiter=1000)  # at η = 1/L: gap 0.56 for ever
    assert gap(rpsls(), r.x) < 1e-6


def test_line_search_keeps_khobotovs_test_and_beats_the_fixed_step_on_policeman_burglar():
    game = matrix_game(10, seed=1)
    A = game.M[:10, 10:]
    fixed = us.solve(game, method="eg", rtol=0.0, max_epochs=4000)
    adaptive = us.solve(game, method="eg", line_search=True, rtol=0.0, max_epochs=4000)
    assert gap(A, adaptive.x) < 1e-5 < 1e-4 < gap(A, fixed.x)  # fixed 0.9/L: 1e-3 at 20k
    assert adaptive.info["step"] > 1.0 / game.lipschitz  # steps beyond 1/L, by the test
    assert adaptive.info["trials"] >= adaptive.iterations
    assert adaptive.info["oracle_calls"] == game.n * (1 + adaptive.iterations
                                                      + adaptive.info["trials"])
    with pytest.raises(TypeError, match="line_search"):
        us.solve(game, method="eg", line_search="yes")


def test_restarted_eag_with_line_search_solves_the_game_the_default_does_not():
    A = np.random.default_rng(1).standard_normal((50, 80))
    game = bilinear_game(A)
    r = us.solve(game, method="eag", line_search=True, restart=0.2, rtol=0.0,
                 max_epochs=20_000, callback=lambda s: _stop_at(A, s.x))
    assert gap(A, r.x) <= 1e-6 and r.info["epochs"][-1] <= 20_000  # the default: 2.8e-5
    assert r.info["restarts"] >= 5
    assert float(r.x[:50] @ A @ r.x[50:]) == pytest.approx(lp_value(A), abs=1e-6)
    for bad in (0.0, 1.0, True, "0.2"):
        with pytest.raises(ValueError, match="restart"):
            us.solve(game, method="eag", restart=bad)

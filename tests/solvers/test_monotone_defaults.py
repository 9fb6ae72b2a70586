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
from unisolve.solvers import halpern as H

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
    out = [("rpsls", rpsls(), bilinear_game(rpsls(), z0=z0)),
           ("gauss10x15-0", *_rand(0, 10, 15)), ("gauss10x15-1", *_rand(1, 10, 15)),
           # eg with its line search (the default before): gap 2.8e-5 after 20,000 epochs
           ("gauss50x80-1", *_rand(1, 50, 80))]
    U = np.random.default_rng(2).uniform(size=(50, 80))  # the same default: 4e-5 at 20k
    out.append(("uniform50x80-2", U, bilinear_game(U)))
    for n in (5, 10):  # policeman–burglar; its F uses Aᵀ, so the payoff is M's block
        pb = matrix_game(n, seed=1)
        out.append((f"policeman-burglar-{n}", pb.M[:n, n:], pb))
    return out


def _rand(seed, m, n):
    A = np.random.default_rng(seed).standard_normal((m, n))
    return A, bilinear_game(A)


@pytest.mark.parametrize("name, A, game", _games(), ids=[g[0] for g in _games()])
def test_default_reaches_gap_1e6_within_20000_epochs(name, A, game):
    r = us.solve(game, rtol=0.0, max_epochs=20_000,
                 callback=lambda s: _stop_at(A, s.x))  # no method, no step
    assert r.info["epochs"][-1] <= 20_000
    assert gap(A, r.x) <= 1e-6
    m = A.shape[0]
    assert float(r.x[:m] @ A @ r.x[m:]) == pytest.approx(lp_value(A), abs=1e-6)
    # the chosen method, its options and the reason are in the result
    assert (r.method, r.info["line_search"], r.info["restart"]) == ("eag", True,
                                                                    H.DEFAULT_RESTART)
    assert "cocoercive" in r.info["chosen_because"] and "eag" in r.info["chosen_because"]


def _stop_at(A, z):
    if gap(A, z) <= 1e-6:
        raise StopIteration


def _lipschitz_avg(game):
    """L_Q² = max over unit z of E_i‖Fᵢ(z)‖² with Fᵢ(z) = n M[:, Iᵢ] z[Iᵢ] (disjoint Iᵢ)."""
    worst = max(np.linalg.norm(game.M[:, game.coords(i)], 2) for i in range(game.n))
    return float(np.sqrt(game.n) * worst)


def test_every_default_step_lies_strictly_inside_its_proven_range():
    A = np.random.default_rng(4).standard_normal((6, 9))
    game = bilinear_game(A)
    L = np.linalg.norm(A, 2)  # ‖M‖₂ of the skew M = [[0, A], [−Aᵀ, 0]] is ‖A‖₂
    LQ, n = _lipschitz_avg(game), game.n
    p = 1.0 / n

    def step(**opts):
        return us.solve(game, rtol=0.0, maxiter=1, **opts).info

    # Korpelevich / Khobotov EG: η < 1/L; the line search starts there and accepts
    # η‖F(z_h) − F(z)‖ ≤ θ‖z_h − z‖ with θ < 1
    assert 0 < step(method="eg")["step"] < 1 / L
    assert 0 < step(method="eg", line_search=True)["first_step"] < 1 / L
    assert 0 < H.LS_THETA < 1
    # projected EAG (Cai, Oikonomou, Zheng 2022): η < 1/(√3 L); its line search (the
    # default, a heuristic) starts there and accepts by Khobotov's test, θ < 1
    assert 0 < step(method="eag")["step"] < 1 / (np.sqrt(3) * L)
    assert 0 < step(method="eag", line_search=True)["first_step"] < 1 / (np.sqrt(3) * L)
    assert 0 < H.EAG_LS_THETA < 1
    # VR-EG (Alacaoglu and Malitsky 2022): γ < √(1 − α)/L_Q with α = 1 − p, p = 1/n
    assert 0 < step(method="vr-eg")["step"] < np.sqrt(p) / LQ
    # VR-Halpern Algorithm 1: η < 2/L (Π(I − ηF) nonexpansive), with the PAGE margin < 1/L
    assert 0 < step(method="vr-halpern", variant=1)["step"] < 1 / L
    # Algorithm 2: any c > 0; the inner VR-FRB γ < √(p(1 − p))/(cL_Q + 1)
    info = step(method="vr-halpern", variant=2)
    assert 0 < info["step"] < np.inf
    assert 0 < info["inner_step"] < np.sqrt(p * (1 - p)) / (info["step"] * LQ + 1)
    # Halpern on the resolvent: any η > 0
    assert 0 < step(method="halpern")["step"] < np.inf
    # margins that damp the top mode, not rounding
    assert step(method="eg")["step"] <= 0.95 / L
    assert step(method="vr-eg")["step"] <= 0.995 * np.sqrt(p) / LQ


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


def test_the_previous_default_misses_the_game_the_default_solves():
    """eg with its line search (the default before) stays above 1e-6 on Gaussian 50×80,
    seed 1, within 20,000 epochs; the default (restarted EAG) reaches it."""
    A = np.random.default_rng(1).standard_normal((50, 80))
    game = bilinear_game(A)
    r = us.solve(game, method="eg", line_search=True, rtol=0.0, max_epochs=20_000)
    assert gap(A, r.x) > 1e-5
    r = us.solve(game, rtol=0.0, max_epochs=20_000, callback=lambda s: _stop_at(A, s.x))
    assert gap(A, r.x) <= 1e-6 and r.info["restarts"] >= 5
    for bad in (0.0, 1.0, True, "0.2"):
        with pytest.raises(ValueError, match="restart"):
            us.solve(game, method="eag", restart=bad)

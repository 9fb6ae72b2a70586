"""Online learners of the SOR weight: distributions, learning, persistence, bad input."""

import itertools
import json
import math

import numpy as np
import pytest

from unisolve.solvers.omega import (
    DEFAULT_GRID,
    LEARNERS,
    AutoOmega,
    ChebCB,
    TsallisINF,
    TsallisINFCB,
    chebyshev_features,
    make_learner,
)

RANGE = (0.0, 1.0)  # context interval of the synthetic contextual bandits

LEARNER_FACTORIES = {
    "tsallis": lambda seed=0, grid=None: TsallisINF(grid=grid, seed=seed),
    "tsallis-cb": lambda seed=0, grid=None: TsallisINFCB(grid=grid, context_range=RANGE,
                                                         seed=seed),
    "chebcb": lambda seed=0, grid=None: ChebCB(grid=grid, context_range=RANGE, seed=seed),
    "auto": lambda seed=0, grid=None: AutoOmega(grid=grid, seed=seed),
    "auto-contextual": lambda seed=0, grid=None: AutoOmega(grid=grid, context_range=RANGE,
                                                           seed=seed),
}


def best_omega(c):
    """The cheapest weight of the synthetic contextual bandit moves with the context."""
    return 1.2 + 0.6 * c


def contextual_cost(omega, c, rng):
    """Iteration-like cost: ≥ 10, quadratic in ω around best_omega(c), noisy."""
    return 10.0 + 400.0 * (omega - best_omega(c)) ** 2 * rng.exponential() + rng.exponential()


def play(learner, rounds, rng, cost=contextual_cost):
    """``rounds`` rounds of choose → cost → update with uniform contexts in RANGE."""
    for _ in range(rounds):
        c = float(rng.uniform(*RANGE))
        omega = learner.choose(context=c if learner.uses_context else None)
        learner.update(cost(omega, c, rng))


def assert_distribution(p, d):
    assert p.shape == (d,)
    assert np.all(np.isfinite(p)) and np.all(p >= 0.0)
    assert abs(p.sum() - 1.0) <= 1e-12


# ------------------------------------------------------------ distributions


@pytest.mark.parametrize("name", list(LEARNER_FACTORIES))
@pytest.mark.parametrize("grid", [None, [1.0, 1.3, 1.5, 1.7, 1.9]], ids=["default", "5 arms"])
def test_probabilities_are_a_distribution_throughout_a_run(name, grid):
    learner = LEARNER_FACTORIES[name](seed=1, grid=grid)
    d = 20 if grid is None else len(grid)
    assert learner.d == d
    rng = np.random.default_rng(0)
    contexts = [0.0, 0.37, 1.0] if learner.uses_context else [None]
    done = 0
    for checkpoint in (0, 1, 2, 10, 60, 200):
        play(learner, checkpoint - done, rng)
        done = checkpoint
        assert learner.t == checkpoint
        for c in contexts:
            assert_distribution(learner.probabilities(context=c), d)
    # the record of play is consistent: every ω is a grid point, ``arms`` index it
    assert len(learner.omegas) == len(learner.costs) == len(learner.contexts) == 200
    np.testing.assert_array_equal(learner.grid[learner.arms], learner.omegas)
    if learner.uses_context:
        assert all(RANGE[0] <= c <= RANGE[1] for c in learner.contexts)
    else:
        assert all(c is None for c in learner.contexts)


@pytest.mark.parametrize("name", ["tsallis", "auto"])
def test_non_contextual_learners_ignore_a_context(name):
    learner = LEARNER_FACTORIES[name]()
    play(learner, 30, np.random.default_rng(0))
    np.testing.assert_array_equal(learner.probabilities(), learner.probabilities(context=0.3))


def test_first_choice_is_uniform():
    for name, factory in LEARNER_FACTORIES.items():
        learner = factory()
        p = learner.probabilities(context=0.5 if learner.uses_context else None)
        np.testing.assert_allclose(p, np.full(20, 1 / 20), rtol=1e-12, err_msg=name)


def recovered_weights(learner):
    """Tsallis weights ``4 / (η (K̂/s − x))²`` at the x implied by the played distribution.

    x is recovered from the most likely arm, so the check is independent of how
    the learner found it: if the normaliser were not the root of Σ p = 1, the
    distribution (weights divided by their sum) would not have this form.
    """
    eta = 2.0 / math.sqrt(learner.t + 1)  # η_t = 2/√t, t the 1-based round
    k = learner.K / learner.scale
    q = learner.probabilities()
    j = int(np.argmax(q))
    x = k[j] - 2.0 / (eta * math.sqrt(q[j]))
    return 4.0 / (eta * (k - x)) ** 2, q


def stochastic_cost(means):
    def cost(omega, c, rng):
        arm = int(np.flatnonzero(DEFAULT_GRID == omega)[0])
        return 1.0 + means[arm] * rng.exponential()

    return cost


MEANS = np.linspace(1.6, 4.0, 20)
BEST = 13
MEANS[BEST] = 1.0  # the unique best arm: mean cost 2, next best 2.6


def test_tsallis_exact_normaliser_makes_the_weights_sum_to_one():
    learner = TsallisINF(seed=0)
    rng = np.random.default_rng(0)
    done = 0
    for checkpoint in (1, 5, 50, 150, 400, 1000):
        play(learner, checkpoint - done, rng, cost=stochastic_cost(MEANS))
        done = checkpoint
        w, q = recovered_weights(learner)
        assert abs(w.sum() - 1.0) <= 1e-12, checkpoint
        np.testing.assert_allclose(w, q, rtol=1e-9, atol=1e-15)
    assert learner.scale > 1.0  # the cost scale s = mean(cost) − 1 is in use


def test_tsallis_reference_normaliser_fails_the_same_check():
    """The published Newton loop (x₀ = −1) lands on a spurious root: the check sees it."""
    learner = TsallisINF(seed=0, normaliser="reference")
    play(learner, 400, np.random.default_rng(0), cost=stochastic_cost(MEANS))
    w, q = recovered_weights(learner)
    assert abs(w.sum() - 1.0) > 1e-3
    assert_distribution(q, 20)  # still a distribution after normalising


# ------------------------------------------------------------- learning


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", ["tsallis", "auto"])
def test_concentrates_on_the_best_arm_of_a_stochastic_bandit(name, seed):
    learner = LEARNER_FACTORIES[name](seed=seed)
    play(learner, 3000, np.random.default_rng(seed + 10), cost=stochastic_cost(MEANS))
    p = learner.probabilities()
    assert int(np.argmax(p)) == BEST and p[BEST] > 0.5
    last = np.asarray(learner.arms[-500:])
    assert np.mean(last == BEST) > 0.8
    # ... and regret is small: the total cost is close to always playing the best arm
    expected = np.sum(1.0 + MEANS[np.asarray(learner.arms)])
    assert expected < 1.25 * 3000 * (1.0 + MEANS[BEST])


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("name", ["chebcb", "auto-contextual"])
def test_contextual_learner_follows_the_best_arm_across_contexts(name, seed):
    learner = LEARNER_FACTORIES[name](seed=seed)
    play(learner, 800, np.random.default_rng(seed + 20))
    argmins = []
    for c in np.linspace(0.05, 0.95, 7):
        model = learner.model(c)
        argmin = float(learner.grid[np.nanargmin(model)])
        assert abs(argmin - best_omega(c)) <= 0.1 + 1e-12, (c, argmin)  # within two arms
        p = learner.probabilities(context=c)
        assert float(learner.grid[np.argmax(p)]) == argmin  # it plays what it believes best
        argmins.append(argmin)
    # a learner that ignored the context would pick one ω for all of them
    assert argmins[-1] - argmins[0] >= 0.4
    assert all(a <= b + 0.05 + 1e-12 for a, b in itertools.pairwise(argmins))


def test_chebcb_model_is_the_scaled_cost():
    """ChebCB predicts (cost − 1)/S: on a cost that is linear in the context it fits."""
    learner = ChebCB(grid=[1.2, 1.6], context_range=RANGE, degree=3, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        c = float(rng.uniform(*RANGE))
        omega = learner.choose(context=c)
        learner.update(50.0 + 40.0 * c if omega == 1.2 else 90.0 - 40.0 * c)
    for c in (0.1, 0.5, 0.9):
        predicted = 1.0 + learner.S * learner.model(c)
        np.testing.assert_allclose(predicted, [50 + 40 * c, 90 - 40 * c], rtol=1e-6)


def test_tsallis_cb_keeps_one_tsallis_per_bin():
    learner = TsallisINFCB(context_range=(-1.0, 1.0), bins=4, seed=0)
    assert [learner.bin_of(c) for c in (-1.0, -0.51, -0.49, 0.0, 0.49, 0.51, 1.0)] == [
        0, 0, 1, 2, 2, 3, 3]
    for c in (0.9, 0.8, -0.9):
        learner.choose(context=c)
        learner.update(40)
    assert [e.t for e in learner.experts] == [1, 0, 0, 2]
    assert learner.t == 3
    np.testing.assert_array_equal(learner.probabilities(context=0.95),
                                  learner.experts[3].probabilities())


def test_chebyshev_features_match_numpy():
    for z in (-1.0, -0.3, 0.0, 0.8, 1.0):
        np.testing.assert_allclose(chebyshev_features(z, 7),
                                   np.polynomial.chebyshev.chebvander([z], 6)[0], atol=1e-14)
    np.testing.assert_array_equal(chebyshev_features(0.4, 1), [1.0])


def test_make_learner_builds_each_learner():
    assert set(LEARNERS) == {"auto", "tsallis", "tsallis-cb", "chebcb"}
    for name, cls in LEARNERS.items():
        learner = make_learner(name, context_range=RANGE, seed=4, grid=[1.1, 1.5])
        assert type(learner) is cls and learner.name == name and learner.seed == 4
        np.testing.assert_array_equal(learner.grid, [1.1, 1.5])
    assert not make_learner("auto").uses_context
    assert make_learner("auto", context_range=RANGE).uses_context
    assert not make_learner("tsallis", context_range=RANGE).uses_context
    np.testing.assert_array_equal(make_learner("tsallis").grid, np.linspace(1.0, 1.95, 20))


def test_same_seed_same_play_different_seed_different_play():
    def omegas(seed):
        learner = ChebCB(context_range=RANGE, seed=seed)
        play(learner, 60, np.random.default_rng(5))
        return learner.omegas

    assert omegas(3) == omegas(3)
    assert omegas(3) != omegas(4)


# ------------------------------------------------------------ persistence


def json_round_trip(state):
    """``state`` through JSON text (it must be plain Python data)."""
    return json.loads(json.dumps(state))


@pytest.mark.parametrize("name", list(LEARNER_FACTORIES))
def test_state_is_plain_json(name):
    learner = LEARNER_FACTORIES[name](seed=7)
    play(learner, 5, np.random.default_rng(1))
    learner.choose(context=0.5 if learner.uses_context else None)  # one choice pending
    state = learner.state_dict()
    assert json.loads(json.dumps(state)) == state


@pytest.mark.parametrize("name", list(LEARNER_FACTORIES))
def test_state_round_trips_through_json(name):
    a = LEARNER_FACTORIES[name](seed=7)
    rng = np.random.default_rng(1)
    play(a, 37, rng)
    state = json_round_trip(a.state_dict())
    b = LEARNER_FACTORIES[name](seed=123)  # another seed: the state must carry the stream
    b.load_state_dict(state)
    assert b.t == a.t == 37 and b.omegas == a.omegas and b.costs == a.costs
    contexts = [0.0, 0.5, 1.0] if a.uses_context else [None]
    for c in contexts:
        np.testing.assert_array_equal(a.probabilities(context=c), b.probabilities(context=c))
    # both continue identically, with the same contexts and costs
    rng_a, rng_b = np.random.default_rng(2), np.random.default_rng(2)
    play(a, 40, rng_a)
    play(b, 40, rng_b)
    assert a.omegas == b.omegas and a.costs == b.costs and a.arms == b.arms


@pytest.mark.parametrize("name", list(LEARNER_FACTORIES))
def test_state_taken_between_choose_and_update_resumes(name):
    a = LEARNER_FACTORIES[name](seed=2)
    play(a, 12, np.random.default_rng(0))
    ctx = 0.25 if a.uses_context else None
    omega = a.choose(context=ctx)
    b = LEARNER_FACTORIES[name](seed=9)
    b.load_state_dict(json_round_trip(a.state_dict()))
    a.update(33.0)
    b.update(33.0)  # the pending choice was restored
    assert b.omegas[-1] == omega and b.contexts[-1] == a.contexts[-1]
    assert a.choose(context=ctx) == b.choose(context=ctx)


@pytest.mark.parametrize(("source", "target"), [("tsallis", "auto"), ("auto", "chebcb"),
                                                ("chebcb", "tsallis-cb"),
                                                ("tsallis-cb", "tsallis")])
def test_loading_another_learners_state_is_refused(source, target):
    state = LEARNER_FACTORIES[source]().state_dict()
    learner = LEARNER_FACTORIES[target]()
    with pytest.raises(ValueError, match=f"belongs to learner '{source}'"):
        learner.load_state_dict(state)


# -------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", list(LEARNERS))
@pytest.mark.parametrize(
    ("grid", "match"),
    [
        ([], "empty"),
        ([1.0, 0.0], r"\(0, 2\)"),
        ([1.0, 2.0], r"\(0, 2\)"),
        ([-1.0, 1.5], r"\(0, 2\)"),
        ([1.0, float("nan")], r"\(0, 2\)"),
        ([1.2, 1.5, 1.2], "repeated"),
    ],
    ids=["empty", "zero", "two", "negative", "nan", "repeated"],
)
def test_bad_grid(name, grid, match):
    with pytest.raises(ValueError, match=match):
        make_learner(name, grid=grid, context_range=RANGE)


@pytest.mark.parametrize("name", ["tsallis-cb", "chebcb", "auto-contextual"])
@pytest.mark.parametrize("context", [-0.2, 1.5, float("nan"), float("inf")])
def test_context_outside_the_range(name, context):
    learner = LEARNER_FACTORIES[name]()
    with pytest.raises(ValueError, match="context_range"):
        learner.choose(context=context)
    with pytest.raises(ValueError, match="context_range"):
        learner.probabilities(context=context)


@pytest.mark.parametrize("name", ["tsallis-cb", "chebcb", "auto-contextual"])
def test_missing_or_bad_context(name):
    learner = LEARNER_FACTORIES[name]()
    with pytest.raises(ValueError, match="needs a context"):
        learner.choose()
    with pytest.raises(TypeError, match="context must be a real number"):
        learner.choose(context="0.5")
    assert learner._pending is None  # nothing was drawn


@pytest.mark.parametrize("name", ["tsallis-cb", "chebcb"])
@pytest.mark.parametrize("context_range", [None, (1.0, 0.0), (0.0, 0.0), (0.0, math.inf), 3.0])
def test_contextual_learner_needs_a_context_range(name, context_range):
    with pytest.raises(ValueError, match="context_range"):
        make_learner(name, context_range=context_range)


def test_unknown_learner_name():
    with pytest.raises(ValueError, match=r"unknown omega learner 'exp3'.*'auto'"):
        make_learner("exp3")


@pytest.mark.parametrize(
    ("cls", "options", "match"),
    [
        (TsallisINF, {"normaliser": "newton"}, "normaliser"),
        (TsallisINFCB, {"context_range": RANGE, "bins": 0}, "bins"),
        (ChebCB, {"context_range": RANGE, "degree": 0}, "degree"),
        (AutoOmega, {"gamma": 0.0}, "gamma"),
        (AutoOmega, {"gamma": float("inf")}, "gamma"),
        (AutoOmega, {"degree": 2.5}, "degree"),
        (AutoOmega, {"ridge": -1.0}, "ridge"),
    ],
)
def test_bad_learner_options(cls, options, match):
    with pytest.raises(ValueError, match=match):
        cls(**options)


@pytest.mark.parametrize("name", list(LEARNER_FACTORIES))
def test_update_before_choose(name):
    learner = LEARNER_FACTORIES[name]()
    with pytest.raises(RuntimeError, match="must follow choose"):
        learner.update(10)
    learner.choose(context=0.5 if learner.uses_context else None)
    learner.update(10)
    with pytest.raises(RuntimeError, match="must follow choose"):
        learner.update(10)  # one update per choice
    assert learner.t == 1


@pytest.mark.parametrize("name", list(LEARNER_FACTORIES))
@pytest.mark.parametrize(
    ("cost", "error"),
    [(-1.0, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
     ("12", TypeError), (None, TypeError), (True, TypeError)],
)
def test_bad_cost(name, cost, error):
    learner = LEARNER_FACTORIES[name]()
    learner.choose(context=0.5 if learner.uses_context else None)
    with pytest.raises(error, match="cost must be"):
        learner.update(cost)
    assert learner.t == 0
    learner.update(np.int64(12))  # the choice is still pending; numpy integers are fine
    assert learner.costs == [12.0]


def test_bandit_is_designs_alias_of_auto():
    assert isinstance(make_learner("bandit"), make_learner("auto").__class__)

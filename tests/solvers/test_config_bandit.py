"""method="auto": the configuration bandit, SolverTuner, its accounting and bad input."""

import threading
from collections import Counter

import numpy as np
import pytest

import unisolve as us
from unisolve.sequence import _postfix
from unisolve.solvers.auto import ConfigBandit, SolverTuner, check_candidates

CHEAP = [("cg", {}), ("pcg", {"preconditioner": "ic0"}), ("sor", {"omega": 1.5})]


@pytest.fixture(scope="module")
def heat():
    return us.problems.heat_sequence(nx=12, steps=60, seed=0)


# ------------------------------------------------------------ the bandit


def test_bandit_finds_the_cheapest_arm_of_a_cost_table():
    table = [3.0, 2.0, 0.5, 4.0]
    bandit = ConfigBandit(4, seed=1)
    rng = np.random.default_rng(0)
    for _ in range(400):
        arm = bandit.choose()
        bandit.update(table[arm] * rng.lognormal(0.0, 0.3))  # noisy, heavy-ish tail
    p = bandit.probabilities()
    assert p.sum() == pytest.approx(1.0) and (p >= 0).all()
    assert int(np.argmax(p)) == 2 and p[2] > 0.9
    assert set(bandit.arms[:20]) == {0, 1, 2, 3}  # every arm is tried early
    assert Counter(bandit.arms[200:])[2] > 180


def test_an_arms_first_cost_leaves_out_its_start_up(heat):
    # the first play of a reuse arm builds the preconditioner: the bandit sees the
    # solve only; later plays are charged in full (a rebuild included)
    tuner = SolverTuner([("pcg", {"preconditioner": "amg", "reuse": "never"})])
    results = [tuner.solve(heat.instance(t)) for t in range(3)]
    assert all(r.info["setup_time"] > 0 for r in results)
    assert tuner.costs[0] == results[0].time - results[0].info["setup_time"]
    assert tuner.costs[1:] == [r.time for r in results[1:]]


def test_the_discounted_mean_follows_an_arm_that_gets_cheaper():
    costs = [3.0] * 100 + [1.0] * 30  # the arm's cost drops (its ω learner got better)
    for memory in (20, None):
        bandit = ConfigBandit(1, memory=memory)
        for c in costs:
            bandit.choose()
            bandit.update(c)
        lam = 1.0 if memory is None else 1.0 - 1.0 / memory
        w = lam ** np.arange(len(costs))[::-1]  # the newest cost weighs 1
        expected = float(w @ costs / w.sum())
        assert bandit.estimates()[0] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(330.0 / 130.0)  # memory=None: the plain mean


def test_contextual_bandit_learns_a_best_arm_per_context():
    bandit = ConfigBandit(2, context_range=(0.0, 1.0), bins=2, seed=0)
    rng = np.random.default_rng(3)
    for _ in range(600):
        c = rng.random()
        arm = bandit.choose(c)
        best = 0 if c < 0.5 else 1
        bandit.update(1.0 if arm == best else 3.0)
    assert int(np.argmax(bandit.probabilities(0.2))) == 0
    assert int(np.argmax(bandit.probabilities(0.8))) == 1


def test_bandit_bad_input():
    with pytest.raises(ValueError, match="positive number of arms"):
        ConfigBandit(0)
    with pytest.raises(ValueError, match="memory must be"):
        ConfigBandit(2, memory=0)
    bandit = ConfigBandit(2)
    with pytest.raises(RuntimeError, match="must follow choose"):
        bandit.update(1.0)
    bandit.choose()
    with pytest.raises(ValueError, match="finite and >= 0"):
        bandit.update(float("nan"))


# ------------------------------------------------------------ method="auto"


def test_auto_picks_the_configuration_a_cost_table_says_is_fastest(heat):
    table = {"cg": 10.0, "pcg ic0": 1.0, "sor ω=1.5": 10.0}
    rs = us.solve(heat, method="auto", candidates=CHEAP, progress=False,
                  cost=lambda r: table[r.info["config"]])
    assert rs.converged
    assert rs.info["candidates"] == list(table)
    assert len(rs.info["choices"]) == len(heat)
    late = Counter(rs.info["choices"][30:])
    assert late["pcg ic0"] >= 28
    assert [r.info["config"] for r in rs.results] == rs.info["choices"]


def test_auto_by_iterations_prefers_the_preconditioned_solver(heat):
    rs = us.solve(heat, method="auto", candidates=CHEAP[:2], cost="iterations",
                  progress=False)
    its = {}
    for r in rs.results:
        its.setdefault(r.info["config"], []).append(r.iterations)
    assert np.mean(its["pcg ic0"]) < np.mean(its["cg"])  # the table the bandit saw
    assert Counter(rs.info["choices"][20:]).most_common(1)[0][0] == "pcg ic0"


def test_auto_solutions_follow_the_direct_trajectory():
    seq = us.problems.heat_sequence(nx=10, steps=15, seed=2)
    rs = us.solve(seq, method="auto", rtol=1e-10, progress=False)
    ref = seq.reference()
    assert rs.converged
    for r, x in zip(rs.results, ref, strict=True):
        assert np.linalg.norm(r.x - x) <= 1e-7 * np.linalg.norm(x)
    assert set(rs.info["choices"]) <= set(rs.info["candidates"])
    assert rs.info["candidates"] == ["cg", "ssor-pcg ω=auto", "pcg ic0 reuse=auto",
                                     "pcg amg reuse=auto"]


def test_same_seed_same_choices_even_in_parallel_threads(heat):
    # deterministic costs (iterations; no wall-time-driven reuse="auto") -> the
    # choices depend on the seed only, also with two runs at once
    out = {}
    candidates = [("cg", {}), ("pcg", {"preconditioner": "ic0", "reuse": "always"}),
                  ("sor", {"omega": 1.5}), ("ssor-pcg", {"omega": "auto"})]

    def run(key, seed):
        rs = us.solve(heat, method="auto", progress=False, seed=seed, cost="iterations",
                      candidates=candidates)
        out[key] = rs.info["choices"]

    threads = [threading.Thread(target=run, args=(k, 7)) for k in ("a", "b")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    run("c", 7)
    assert out["a"] == out["b"] == out["c"]


def test_auto_accounting_parts_sum_and_the_warm_up_is_learner_time(heat):
    rs = us.solve(heat, method="auto", progress=False, cost="iterations")
    times = rs.info["times"]
    parts = rs.solve_time + rs.setup_time + rs.learner_time + rs.assembly_time
    assert rs.total_time == pytest.approx(parts, rel=1e-12)
    assert all((times[k] >= 0).all() for k in times)
    assert times["learner"][0] > 0 and (times["assembly"] > 0).all()
    # the reuse arms pay set-up exactly on the steps where they built
    for t, r in enumerate(rs.results):
        if "rebuilt" in r.info:
            assert (times["setup"][t] > 0) == r.info["rebuilt"]
        assert times["setup"][t] == r.info["setup_time"]
    assert "setup" in repr(rs) and "learner" in repr(rs)


def test_progress_bar_shows_configuration_and_omega():
    r = us.Result(None, us.Status.CONVERGED, 7, [1.0] * 8,
                  info={"config": "ssor-pcg ω=auto", "omega": 1.712})
    assert _postfix(r) == {"its": 7, "cfg": "ssor-pcg ω=auto", "ω": "1.71"}
    assert _postfix(us.Result(None, us.Status.CONVERGED, 3, [1.0] * 4)) == {"its": 3}


# ------------------------------------------------------------ one system at a time


def test_solver_tuner_takes_matrices_and_learns():
    seq = us.problems.shifted_laplacian_sequence(T=30, seed=0)
    tuner = us.SolverTuner(CHEAP[:2], cost="iterations", context_range=seq.context_range)
    for t in range(30):
        p = seq.instance(t)
        r = tuner.solve(p.A, p.b, context=p.context)
        assert r.converged and r.info["config"] in tuner.labels
    assert len(tuner.choices) == 30 and tuner.learner.t == 30
    with pytest.raises(ValueError, match="pass context="):
        tuner.solve(p.A, p.b)
    with pytest.raises(TypeError, match="right-hand side b is missing"):
        tuner.solve(p.A)
    with pytest.raises(TypeError, match="not both"):
        tuner.solve(p, p.b)


def test_solver_tuner_is_exported_lazily():
    assert us.SolverTuner is SolverTuner and "SolverTuner" in us.__all__


def test_auto_on_a_single_system_is_the_default_method():
    p = us.problems.poisson2d(10)
    r = us.solve(p, method="auto", rtol=1e-10)
    cg = us.solve(p, method="cg", rtol=1e-10)
    assert r.converged and r.info["config"] == "cg" and r.iterations == cg.iterations
    assert "nothing to learn" in r.info["chosen_because"]
    r = us.solve(p, method="auto", candidates=[("pcg", {"preconditioner": "ic0"}), "cg"])
    assert r.info["config"] == "pcg ic0" and r.info["preconditioner"] == "ic0"


# ------------------------------------------------------------ bad input


@pytest.mark.parametrize("candidates, error, match", [
    ([], ValueError, "candidates is empty"),
    ([("bcd", {})], ValueError, "'bcd' is not a method for linear systems.*cg"),
    ([("pinn", {})], ValueError, "'pinn' is not a method for linear systems"),
    ([("auto", {})], ValueError, "'auto' is not a method for linear systems"),
    ([("no-such", {})], ValueError, "not a method for linear systems"),
    (["cg", "cg"], ValueError, "listed twice"),
    ("cg", TypeError, "list of \\(method, options\\) pairs"),
    ([("cg",)], TypeError, "\\(method name, options dict\\) pair"),
    ([("cg", "fast")], TypeError, "\\(method name, options dict\\) pair"),
    ([42], TypeError, "\\(method name, options dict\\) pair"),
    ([("cg", {"omga": 1})], TypeError, "unknown option"),
    ([("pcg", {"preconditioner": "amg", "reuse": "sometimes"})], ValueError,
     "reuse must be one of"),
])
def test_bad_candidates(heat, candidates, error, match):
    with pytest.raises(error, match=match):
        check_candidates(candidates)
    with pytest.raises(error, match=match):
        us.solve(heat, method="auto", candidates=candidates, progress=False)


def test_bad_cost_and_options(heat):
    with pytest.raises(ValueError, match="cost must be"):
        us.solve(heat, method="auto", cost="speed", progress=False)
    with pytest.raises(TypeError, match="unknown option"):
        us.solve(heat, method="auto", preconditioner="amg", progress=False)
    with pytest.raises(TypeError, match="put method options in the candidates"):
        SolverTuner(CHEAP, omega=1.5)

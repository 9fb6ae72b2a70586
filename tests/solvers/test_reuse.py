"""Preconditioner reuse across a sequence: the rule, the bookkeeping, the answers."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import unisolve as us
from unisolve.sequence import run_sequence
from unisolve.solvers.krylov import pcg
from unisolve.solvers.preconditioners import IC0Preconditioner
from unisolve.solvers.reuse import RebuildRule, ReusingPCG, check_reuse


@pytest.fixture(scope="module")
def heat():
    return us.problems.heat_sequence(nx=14, steps=12, seed=0)


# ------------------------------------------------------------ the rule itself


def test_ski_rental_rule_on_injected_costs():
    rule = RebuildRule()
    rule.built(6.0)  # S = 6 s
    assert not rule.due and rule.iteration_cap() is None
    rule.observe(seconds=0.5, iterations=0)  # converged at x0: sets no k₀
    assert rule.base is None and not rule.due
    rule.observe(seconds=4.0, iterations=4)  # k₀ = 4, τ = 4.5/4
    assert rule.base == 4 and rule.rent == 0.0
    rule.observe(seconds=3.0, iterations=3)  # fewer than k₀: no rent
    assert rule.rent == 0.0
    rule.observe(seconds=6.5, iterations=6)  # 2 extra at τ = 14/13
    tau = 14.0 / 13.0
    assert rule.rent == pytest.approx(2 * tau) and not rule.due
    # cap: k₀ + max(k₀, ⌈(S − rent)/τ⌉) = 4 + max(4, ⌈(6 − 2τ)/τ⌉)
    assert rule.iteration_cap() == 4 + max(4, int(np.ceil((6.0 - 2 * tau) / tau)))
    rule.observe(seconds=6.0, iterations=7)  # 3 more extra: 5 τ' ≥ 6 with τ' = 20/20
    assert rule.rent == pytest.approx(2 * tau + 3 * 1.0) and not rule.due
    rule.observe(seconds=5.0, iterations=5)  # 1 more: rent ≈ 6.15 ≥ 6
    assert rule.due
    rule.built(1.0)  # a new cycle forgets the old one
    assert rule.rent == 0.0 and rule.base is None and not rule.due


def test_rule_rebuild_period_matches_the_optimal_cycle_for_linear_growth():
    # iterations k₀ + c j: ski rental rebuilds after about √(2 S/(c τ)) steps,
    # the period minimising (S + Σ solve)/steps
    S, tau, k0, c = 50.0, 1.0, 5, 1
    rule = RebuildRule()
    rule.built(S)
    steps = 0
    while not rule.due:
        its = k0 + c * steps
        rule.observe(seconds=its * tau, iterations=its)
        steps += 1
    assert abs(steps - np.sqrt(2 * S / (c * tau))) <= 2


def test_check_reuse_lists_the_choices():
    assert check_reuse("never") == "never"
    for bad in ("sometimes", None, 1, True):
        with pytest.raises(ValueError, match="'auto', 'always', 'never'"):
            check_reuse(bad)


# ------------------------------------------------------------ bookkeeping


class ScriptedRule(RebuildRule):
    """Says 'rebuild' before exactly the calls in ``due_at``; no cap."""

    def __init__(self, due_at):
        super().__init__()
        self.due_at = set(due_at)
        self.calls = 0

    @property
    def due(self):
        return self.calls in self.due_at

    def observe(self, seconds, iterations):
        super().observe(seconds, iterations)
        self.calls += 1

    def iteration_cap(self):
        return None


def _run(solver, seq):
    results, x = [], None
    for t in range(len(seq)):
        r = solver.solve(seq.instance(t, x))
        results.append(r)
        x = r.x
    return results


@pytest.mark.parametrize("reuse, builds", [("never", list(range(12))), ("always", [0])])
def test_never_rebuilds_every_step_always_builds_once(heat, reuse, builds):
    rs = us.solve(heat, method="pcg", preconditioner="ic0", reuse=reuse, progress=False)
    assert rs.info["rebuilt"] == builds and rs.converged
    assert [t for t, r in enumerate(rs.results) if r.info["rebuilt"]] == builds
    assert len(rs.info["setup_times"]) == len(builds)


def test_auto_rebuilds_exactly_when_the_rule_says(heat):
    solver = ReusingPCG("ic0", reuse="auto", rule=ScriptedRule({3, 7, 8}))
    results = _run(solver, heat)
    assert solver.rebuilt == [0, 3, 7, 8]
    assert [r.info["rebuilt"] for r in results] == [t in (0, 3, 7, 8) for t in range(12)]
    assert all(r.converged for r in results)


def test_reused_factor_is_the_one_of_the_build_step(heat):
    # with reuse='always', step t runs PCG with IC(0) of A_0: the same iterates as
    # passing that factor by hand
    solver = ReusingPCG("ic0", reuse="always")
    results = _run(solver, heat)
    M0 = IC0Preconditioner(heat.instance(0).A)
    for t in (3, 9):
        p = heat.instance(t, results[t - 1].x)
        by_hand = pcg(p, preconditioner=lambda r: M0(r))
        assert results[t].iterations == by_hand.iterations
        np.testing.assert_array_equal(results[t].x, by_hand.x)


@pytest.mark.parametrize("preconditioner", ["ic0", "amg"])
@pytest.mark.parametrize("reuse", ["auto", "always"])
def test_every_step_converges_to_the_direct_trajectory(heat, preconditioner, reuse):
    rs = us.solve(heat, method="pcg", preconditioner=preconditioner, reuse=reuse,
                  rtol=1e-10, progress=False)
    assert rs.converged
    for t, r in enumerate(rs.results):
        p = heat.instance(t, None if t == 0 else rs.results[t - 1].x)
        assert np.linalg.norm(p.b - p.A @ r.x) <= 1e-10 * np.linalg.norm(p.b)
        direct = spla.spsolve(sp.csc_array(p.A), p.b)
        assert np.linalg.norm(r.x - direct) <= 1e-8 * np.linalg.norm(direct)
        assert len(r.residuals) == r.iterations + 1


def test_a_stale_solve_past_its_cap_rebuilds_and_continues(heat):
    class TightCap(RebuildRule):
        def iteration_cap(self):
            return None if self.base is None else 1

    solver = ReusingPCG("ic0", reuse="auto", rule=TightCap(), rtol=1e-10)
    results = _run(solver, heat)
    assert all(r.converged for r in results)
    # step 1 is the first with a stale factor: one iteration, then a fresh one
    r1 = results[1]
    assert r1.info["stale_attempt"]["iterations"] == 1
    assert r1.info["stale_attempt"]["status"] == "MAX_ITER"
    assert r1.info["rebuilt"] and 1 in solver.rebuilt and r1.info["setup_time"] > 0
    assert len(r1.residuals) == r1.iterations + 1
    p1 = heat.instance(1, results[0].x)
    assert r1.residuals[0] == pytest.approx(np.linalg.norm(p1.b - p1.A @ p1.x0))
    assert r1.residuals[-1] == pytest.approx(np.linalg.norm(p1.b - p1.A @ r1.x))


def test_setup_time_is_nonzero_exactly_on_rebuild_steps_and_parts_sum(heat):
    solver = ReusingPCG("amg", reuse="auto", rule=ScriptedRule({4, 9}))
    rs = run_sequence(heat, solver.solve, "pcg", progress=False)
    setup = rs.info["times"]["setup"]
    assert np.flatnonzero(setup > 0).tolist() == solver.rebuilt == [0, 4, 9]
    parts = rs.solve_time + rs.setup_time + rs.learner_time + rs.assembly_time
    assert rs.total_time == pytest.approx(parts, rel=1e-12)
    assert rs.setup_time == pytest.approx(sum(solver.setup_times))
    assert rs.wall_time >= rs.total_time


# ------------------------------------------------------------ options and bad input


def test_reuse_on_a_single_problem_is_accepted_and_changes_nothing():
    p = us.problems.poisson2d(12)
    plain = us.solve(p, method="pcg", preconditioner="ic0")
    for reuse in ("auto", "always", "never"):
        r = us.solve(p, method="pcg", preconditioner="ic0", reuse=reuse)
        assert r.iterations == plain.iterations
        np.testing.assert_array_equal(r.x, plain.x)


def test_bad_reuse_values(heat):
    with pytest.raises(ValueError, match="reuse must be one of 'auto', 'always', 'never'"):
        us.solve(heat, method="pcg", preconditioner="amg", reuse="sometimes", progress=False)
    with pytest.raises(ValueError, match="reuse must be one of"):
        us.solve(us.problems.poisson2d(6), method="pcg", reuse="sometimes")
    with pytest.raises(TypeError, match=r"unknown option.*'reuse'"):
        us.solve(heat, method="cg", reuse="auto", progress=False)  # cg has nothing to reuse


def test_reuse_with_a_callable_preconditioner(heat):
    M = IC0Preconditioner(heat.instance(0).A)
    with pytest.raises(ValueError, match="cannot be rebuilt"):
        us.solve(heat, method="pcg", preconditioner=M, reuse="never", progress=False)
    rs = us.solve(heat, method="pcg", preconditioner=M, progress=False)  # applied as given
    assert rs.converged and "rebuilt" not in rs.info


def test_reusing_pcg_rejects_what_it_cannot_build():
    with pytest.raises(ValueError, match="'jacobi', 'ssor', 'ic0', 'amg'"):
        ReusingPCG("ilu")
    for nonsymmetric in ("sor", "ilu0", "ilut"):  # PCG needs an SPD M
        with pytest.raises(ValueError, match="not symmetric"):
            ReusingPCG(nonsymmetric)
    with pytest.raises(ValueError, match="reuse must be one of"):
        ReusingPCG("amg", reuse="sometimes")
    with pytest.raises(TypeError, match="unknown option"):
        ReusingPCG("amg", omga=1.0)


def test_a_new_shape_builds_a_new_preconditioner():
    solver = ReusingPCG("ic0", reuse="always")
    assert solver.solve(us.problems.poisson2d(6)).converged
    assert solver.solve(us.problems.poisson2d(8)).converged
    assert solver.rebuilt == [0, 1]


def test_ssor_reuse_reports_its_omega(heat):
    rs = us.solve(heat, method="pcg", preconditioner="ssor", omega=1.4, reuse="always",
                  progress=False)
    assert rs.converged and {r.info["omega"] for r in rs.results} == {1.4}
    assert {r.info["preconditioner"] for r in rs.results} == {"ssor"}

"""solve(), the registry, Result / SequenceResult, the callback contract.

The import directions are checked in tests/test_layers.py.
"""


import numpy as np
import pytest

import unisolve as us
from unisolve.registry import get_method
from unisolve.result import IterationMonitor, Status


def test_default_method_is_cg_and_result_fields():
    p = us.problems.poisson2d(10)
    r = us.solve(p)
    assert r.method == "cg" and r.converged and r.status is Status.CONVERGED
    assert len(r.residuals) == r.iterations + 1
    assert r.residuals[0] == pytest.approx(np.linalg.norm(p.b))  # x0 = 0
    assert r.residuals[-1] <= 1e-8 * np.linalg.norm(p.b)
    assert np.linalg.norm(p.b - p.A @ r.x) <= 1e-8 * np.linalg.norm(p.b)
    assert r.time > 0
    assert "CONVERGED" in repr(r)


def test_methods_lists_name_kinds_description():
    infos = {m.name: m for m in us.methods()}
    for name in ("cg", "pcg", "ssor-pcg", "jacobi", "gauss-seidel", "sor", "ssor"):
        assert name in infos
        assert "linear" in infos[name].kinds
        assert len(infos[name].description) > 10
    assert us.methods("no-such-kind") == []


@pytest.mark.parametrize("method", ["cg", "pcg", "sor", "ssor", "gauss-seidel", "jacobi"])
def test_callback_sees_x0_and_every_iterate(method):
    p = us.problems.poisson2d(6)
    seen = []
    r = us.solve(p, method=method, rtol=1e-6, callback=lambda s: seen.append(
        (s.iteration, s.residual, np.linalg.norm(p.b - p.A @ s.x))))
    assert [s[0] for s in seen] == list(range(r.iterations + 1))
    assert seen[0][1] == pytest.approx(np.linalg.norm(p.b))
    assert [s[1] for s in seen] == r.residuals
    # the last recorded measure is the true residual at the returned x
    assert r.residuals[-1] == pytest.approx(np.linalg.norm(p.b - p.A @ r.x), rel=1e-6)


@pytest.mark.parametrize("method", ["cg", "sor"])
def test_stop_iteration_ends_cleanly(method):
    p = us.problems.poisson2d(8)

    def stop_at_3(state):
        if state.iteration == 3:
            raise StopIteration

    r = us.solve(p, method=method, callback=stop_at_3)
    assert r.status is Status.STOPPED and r.iterations == 3 and not r.converged


@pytest.mark.parametrize("method", ["cg", "sor"])
def test_maxiter(method):
    r = us.solve(us.problems.poisson2d(16), method=method, maxiter=4)
    assert r.status is Status.MAX_ITER and r.iterations == 4 and len(r.residuals) == 5


def test_atol_and_x0_options():
    p = us.problems.poisson2d(8)
    r = us.solve(p, method="cg", rtol=0.0, atol=1e-3)
    assert r.residuals[-1] <= 1e-3 and r.residuals[-2] > 1e-3
    r0 = us.solve(p, method="sor", x0=p.exact)
    assert r0.iterations == 0 and r0.converged


def test_sequence_warm_starts_and_totals():
    seq = us.problems.heat_sequence(nx=12, steps=5, seed=0)
    rs = us.solve(seq, method="cg", progress=False, rtol=1e-10)
    assert isinstance(rs, us.SequenceResult) and len(rs) == 5
    assert rs.total_iterations == sum(r.iterations for r in rs.results)
    # total = solve + setup + learner + assembly, each summed over the steps
    times = rs.info["times"]
    assert rs.total_time == pytest.approx(sum(times[k].sum() for k in times), rel=1e-12)
    assert rs.solve_time >= sum(r.time for r in rs.results)  # the call, glue included
    assert rs.setup_time == rs.learner_time == 0.0 and rs.assembly_time > 0
    assert rs.wall_time >= rs.total_time
    ref = seq.reference()
    err = np.linalg.norm(rs.results[-1].x - ref[-1]) / np.linalg.norm(ref[-1])
    assert err < 1e-8
    # each instance started from the previous solution: its first residual is the
    # residual of the previous solution in the new system
    p2 = seq.instance(2, rs.results[1].x)
    assert rs.results[2].residuals[0] == pytest.approx(np.linalg.norm(p2.b - p2.A @ p2.x0))
    assert "SequenceResult" in repr(rs)


def test_independent_sequence():
    seq = us.problems.shifted_laplacian_sequence(T=4, seed=0)
    rs = us.solve(seq, method="sor", omega=1.5, progress=False)
    assert rs.converged and len(rs.iterations) == 4


def test_solver_object():
    class Direct:
        def solve(self, problem, **options):
            x = np.linalg.solve(problem.A.toarray(), problem.b)
            return us.Result(x, us.Status.CONVERGED, 0, [0.0], method="direct")

    p = us.problems.poisson2d(4)
    r = us.solve(p, method=Direct())
    np.testing.assert_allclose(r.x, p.exact)
    assert r.time > 0
    with pytest.raises(TypeError, match="registered name"):
        us.solve(p, method=42)


def test_registry_spec_and_duplicates():
    spec = get_method("sor")
    assert "omega" in spec.options
    from unisolve.registry import method

    with pytest.raises(ValueError, match="already registered"):
        method("sor")(lambda problem: None)


def test_monitor_divergence_and_nonfinite():
    m = IterationMonitor(bnorm=1.0, rtol=1e-8, atol=0.0, maxiter=100, divtol=10)
    assert m.start(None, 1.0) is None
    assert m.step(None, 5.0) is None
    assert m.step(None, 11.0) is Status.DIVERGED
    m = IterationMonitor(bnorm=1.0, rtol=1e-8, atol=0.0, maxiter=100)
    m.start(None, 1.0)
    assert m.step(None, float("nan")) is Status.NONFINITE
    for s in Status:
        assert isinstance(s.message, str) and s.message


def test_sequence_result_built_by_hand_reports_its_parts():
    ok = us.Status.CONVERGED
    results = [us.Result(None, ok, 3, [1.0] * 4, time=0.5, info={"setup_time": 0.2}),
               us.Result(None, ok, 2, [1.0] * 3, time=0.25, info={"learner_time": 0.1})]
    rs = us.SequenceResult(results)
    assert (rs.solve_time, rs.setup_time, rs.learner_time, rs.assembly_time) == (
        pytest.approx(0.55), 0.2, 0.1, 0.0)
    assert rs.total_time == pytest.approx(0.85) and rs.wall_time == rs.total_time


def test_sequence_loop_with_an_injected_clock():
    from unisolve.sequence import run_sequence

    ticks = iter(range(1000))
    seq = us.problems.shifted_laplacian_sequence(T=3, seed=0)

    def solve_one(problem):
        r = get_method("cg").func(problem)
        r.info["setup_time"], r.info["learner_time"] = 0.25, 0.5
        next(ticks)  # the solve takes one tick more than the others
        return r

    rs = run_sequence(seq, solve_one, "cg", progress=False, clock=lambda: float(next(ticks)))
    times = rs.info["times"]
    assert times["assembly"].tolist() == [1.0] * 3  # one tick per instance
    assert times["setup"].tolist() == [0.25] * 3 and times["learner"].tolist() == [0.5] * 3
    assert times["solve"].tolist() == [2.0 - 0.75] * 3  # the call (2 ticks) minus the rest
    assert rs.total_time == 9.0


def test_api_still_exports_the_sequence_loop():
    from unisolve import api, sequence

    assert api.run_sequence is sequence.run_sequence

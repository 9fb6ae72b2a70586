"""ω learned while solving: OmegaTuner, ``solve(sequence, omega=<learner>)``, compiled SOR."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
import unisolve.solvers.relaxation as relaxation
from unisolve.problems import LinearProblem, poisson2d
from unisolve.solvers.omega import (
    DEFAULT_GRID,
    AutoOmega,
    ChebCB,
    OmegaLearner,
    TsallisINF,
    TsallisINFCB,
    make_learner,
)
from unisolve.solvers.tuning import OmegaTuner
from unisolve.solvers.young import jacobi_spectral_radius, optimal_omega

LEARNER_NAMES = ["tsallis", "auto", "chebcb", "tsallis-cb"]


# ------------------------------------------------- the requirement


@pytest.fixture(scope="module")
def high_variance():
    """The paper's sequence (T = 300) and the total SOR iterations of ω = 1."""
    seq = us.problems.shifted_laplacian_sequence(T=300, variance="high", seed=0)
    baseline = us.solve(seq, method="sor", omega=1.0, progress=False)
    assert baseline.converged
    return seq, baseline.total_iterations


@pytest.mark.parametrize("name", LEARNER_NAMES)
def test_learned_omega_halves_the_iterations_of_gauss_seidel(high_variance, name):
    seq, baseline = high_variance
    rs = us.solve(seq, method="sor", omega=name, progress=False)
    assert rs.converged and len(rs) == 300
    assert rs.total_iterations < 0.5 * baseline, (rs.total_iterations, baseline)
    learner = rs.info["learner"]
    assert isinstance(learner, OmegaLearner) and learner.name == name and learner.t == 300
    np.testing.assert_array_equal(rs.info["omegas"], learner.omegas)
    np.testing.assert_array_equal(rs.info["omegas"], [r.info["omega"] for r in rs.results])
    assert np.isin(rs.info["omegas"], DEFAULT_GRID).all()
    np.testing.assert_array_equal(rs.info["contexts"], seq.contexts)
    assert learner.costs == [float(r.iterations) for r in rs.results]
    assert rs.info["tuner"].learner is learner
    # the contextual learners were given the sequence's context interval
    if name in ("chebcb", "tsallis-cb", "auto"):
        assert learner.context_range == seq.context_range


# ------------------------------------- the offline simulation is the real thing


@pytest.fixture(scope="module")
def iteration_table():
    """SOR iterations of every (instance, grid ω) of a T = 60 sequence: the lookup table."""
    seq = us.problems.shifted_laplacian_sequence(T=60, variance="high", seed=3)
    table = np.array([[us.solve(seq.instance(t), method="sor", omega=w).iterations
                       for w in DEFAULT_GRID] for t in range(len(seq))])
    return seq, table


LEARNER_CLASSES = {"tsallis": TsallisINF, "auto": AutoOmega, "chebcb": ChebCB,
                   "tsallis-cb": TsallisINFCB}


@pytest.mark.parametrize("name", LEARNER_NAMES)
def test_table_lookup_simulation_equals_solving(iteration_table, name):
    seq, table = iteration_table
    cls = LEARNER_CLASSES[name]
    learner = cls(seed=5) if cls is TsallisINF else cls(context_range=seq.context_range, seed=5)
    if learner.wants_prime:  # what OmegaTuner does: β of the first system (closed form)
        learner.prime(jacobi_spectral_radius(None, stencil=seq.instance(0).stencil))
    for t in range(len(seq)):
        omega = learner.choose(context=seq.contexts[t] if learner.uses_context else None)
        learner.update(table[t, np.flatnonzero(DEFAULT_GRID == omega)[0]])
    rs = us.solve(seq, method="sor", omega=name, seed=5, progress=False)
    real = rs.info["learner"]
    assert type(real) is cls
    assert real.omegas == learner.omegas
    assert real.costs == learner.costs
    assert len(set(real.omegas)) > 3  # it explored: the agreement is not trivial
    assert getattr(real, "beta", None) == getattr(learner, "beta", None)


def test_learner_object_is_used_and_keeps_learning(iteration_table):
    seq, _ = iteration_table
    learner = make_learner("chebcb", context_range=seq.context_range, seed=1)
    rs = us.solve(seq, method="sor", omega=learner, progress=False)
    assert rs.info["learner"] is learner and learner.t == len(seq)
    rs2 = us.solve(seq, method="sor", omega=learner, progress=False)
    assert rs2.converged and learner.t == 2 * len(seq)


def test_optimal_on_a_sequence_uses_youngs_omega_per_instance(iteration_table):
    seq, table = iteration_table
    rs = us.solve(seq, method="sor", omega="optimal", progress=False)
    assert rs.info["learner"] == "optimal" and rs.converged
    expected = [optimal_omega(seq.instance(t)) for t in range(len(seq))]
    np.testing.assert_array_equal(rs.info["omegas"], expected)
    assert len(set(expected)) == len(seq)  # one ω per instance, not one for all
    # ω* beats the best single grid weight on this sequence
    assert rs.total_iterations < table.sum(axis=0).min()


def test_learned_ssor_pcg_on_the_warm_started_heat_sequence():
    seq = us.problems.heat_sequence(nx=12, steps=25, seed=0)
    rs = us.solve(seq, method="ssor-pcg", omega="auto", seed=2, progress=False, rtol=1e-10)
    assert rs.converged and len(rs) == 25
    assert rs.info["learner"].uses_context  # the sequence declares its context interval
    np.testing.assert_array_equal(rs.info["contexts"], seq.contexts)
    reference = seq.reference()
    for r, x in zip(rs.results, reference, strict=True):
        assert np.linalg.norm(r.x - x) <= 1e-8 * np.linalg.norm(x)


def test_seed_of_the_learner():
    seq = us.problems.shifted_laplacian_sequence(T=30, seed=0)

    def omegas(seed):
        return list(us.solve(seq, method="sor", omega="tsallis", seed=seed,
                             progress=False).info["omegas"])

    assert omegas(1) == omegas(1) and omegas(1) != omegas(2)


# ---------------------------------------------------------------- OmegaTuner


@pytest.fixture(scope="module")
def seq40():
    return us.problems.shifted_laplacian_sequence(T=40, variance="high", seed=1)


def test_tuner_takes_a_problem_or_a_matrix_and_rhs(seq40):
    a = OmegaTuner(method="sor", learner="auto", context_range=seq40.context_range, seed=3)
    b = OmegaTuner(method="sor", learner="auto", context_range=seq40.context_range, seed=3)
    for t in range(20):
        p = seq40.instance(t)
        ra = a.solve(p)  # context from the problem
        rb = b.solve(p.A, p.b, context=p.context)
        assert ra.converged and rb.converged and ra.info["omega"] == rb.info["omega"]
        np.testing.assert_array_equal(ra.x, rb.x)
        assert ra.info["learner"] == "auto" and ra.method == "sor"
        assert ra.time > 0
    assert a.omegas == b.omegas and a.costs == b.costs == a.learner.costs


def test_tuner_warm_start(seq40):
    p = seq40.instance(0)
    tuner = OmegaTuner(method="ssor", learner="tsallis")
    x = us.solve(p, method="cg", rtol=1e-12).x
    r = tuner.solve(p.A, p.b, x0=x)
    assert r.converged and r.iterations == 0 and tuner.costs == [0.0]


def test_tuner_optimal_uses_youngs_omega(seq40):
    tuner = OmegaTuner(method="ssor-pcg", learner="optimal")
    assert tuner.learner is None and tuner.name == "optimal"
    for t in range(3):
        p = seq40.instance(t)
        r = tuner.solve(p)
        assert r.converged and r.info["omega"] == optimal_omega(p)
        assert r.info["learner"] == "optimal"
    # a bare matrix has no stencil: β from Lanczos, the same ω* to high accuracy
    r = tuner.solve(p.A, p.b)
    assert r.info["omega"] == pytest.approx(optimal_omega(p), rel=1e-9)


def test_tuner_charges_maxiter_for_a_solve_that_does_not_converge(seq40):
    tuner = OmegaTuner(method="sor", learner="tsallis", maxiter=5)
    for t in range(4):
        r = tuner.solve(seq40.instance(t))
        assert r.status is us.Status.MAX_ITER and r.iterations == 5
    assert tuner.costs == tuner.learner.costs == [5.0] * 4


def test_a_weight_that_fails_fast_is_still_charged_maxiter():
    # Gauss–Seidel matrix of [[1, 2], [-2, 1]] has spectral radius 4: diverges in a few sweeps
    A = sp.csr_array(np.array([[1.0, 2.0], [-2.0, 1.0]]))
    tuner = OmegaTuner(method="sor", learner="tsallis", grid=[1.0, 1.5], maxiter=300)
    r = tuner.solve(A, np.ones(2))
    assert r.status in (us.Status.DIVERGED, us.Status.NONFINITE) and r.iterations < 300
    assert tuner.costs == [300.0]
    default = OmegaTuner(method="sor", learner="tsallis", grid=[1.0, 1.5])
    default.solve(A, np.ones(2))
    assert default.costs == [float(relaxation.DEFAULT_MAXITER)]
    pcg = OmegaTuner(method="ssor-pcg", learner="tsallis", maxiter=1)
    p = poisson2d(6)
    r = pcg.solve(p)
    assert not r.converged and pcg.costs == [1.0]


def test_tuner_time_cost(seq40):
    tuner = OmegaTuner(method="sor", learner="auto", cost="time")
    results = [tuner.solve(seq40.instance(t)) for t in range(10)]
    assert len(tuner.costs) == 10 and all(c > 1.0 for c in tuner.costs)
    assert all(np.isfinite(tuner.costs))
    assert tuner.learner.costs == tuner.costs
    # costs are in units of the first solve's seconds per iteration
    assert tuner.costs[0] == pytest.approx(1.0 + results[0].iterations, rel=1e-9)
    assert tuner.costs != [float(r.iterations) for r in results]


def test_tuner_state_round_trips_through_json(seq40):
    def tuner(seed):
        return OmegaTuner(method="sor", learner="auto", context_range=seq40.context_range,
                          seed=seed)

    a = tuner(4)
    for t in range(15):
        a.solve(seq40.instance(t))
    b = tuner(99)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert b.omegas == a.omegas and b.costs == a.costs and b.learner.t == 15
    for t in range(15, 40):
        p = seq40.instance(t)
        assert a.solve(p).info["omega"] == b.solve(p).info["omega"]
    assert a.omegas == b.omegas and a.costs == b.costs


@pytest.mark.parametrize("name", LEARNER_NAMES)
def test_tuner_state_of_each_learner(seq40, name):
    def tuner(seed):
        return OmegaTuner(method="sor", learner=name, context_range=seq40.context_range,
                          seed=seed)

    a = tuner(4)
    for t in range(10):
        a.solve(seq40.instance(t))
    b = tuner(5)
    b.load_state_dict(a.state_dict())
    for t in range(10, 25):
        a.solve(seq40.instance(t))
        b.solve(seq40.instance(t))
    assert a.omegas == b.omegas


def test_tuner_refuses_a_foreign_state(seq40):
    a = OmegaTuner(method="sor", learner="tsallis")
    a.solve(seq40.instance(0))
    with pytest.raises(ValueError, match="belongs to learner 'tsallis'"):
        OmegaTuner(method="sor", learner="auto").load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="method 'sor'"):
        OmegaTuner(method="ssor", learner="tsallis").load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="omega='optimal'"):
        OmegaTuner(method="sor", learner="optimal").load_state_dict(a.state_dict())


def test_omega_tuner_is_exported_lazily():
    assert us.OmegaTuner is OmegaTuner
    assert "OmegaTuner" in us.__all__


# ---------------------------------------------------------------- bad input


def test_unknown_learner_on_a_sequence():
    seq = us.problems.shifted_laplacian_sequence(T=2, seed=0)
    with pytest.raises(ValueError,
                       match=r"omega must be a number in \(0, 2\) or a learner.*'exp3'"):
        us.solve(seq, method="sor", omega="exp3", progress=False)


@pytest.mark.parametrize("omega", [2.5, 0.0, -1.0])
def test_out_of_range_omega_on_a_sequence(omega):
    seq = us.problems.shifted_laplacian_sequence(T=2, seed=0)
    with pytest.raises(ValueError, match=r"omega must lie in \(0, 2\)"):
        us.solve(seq, method="sor", omega=omega, progress=False)


def test_contextual_learner_on_a_sequence_without_contexts():
    p = poisson2d(5)
    seq = us.problems.linear.LinearSequence(length=3, make_instance=lambda t, prev: p)
    with pytest.raises(ValueError, match="context_range"):
        us.solve(seq, method="sor", omega="chebcb", progress=False)
    rs = us.solve(seq, method="sor", omega="auto", progress=False)  # non-contextual then
    assert rs.converged and not rs.info["learner"].uses_context


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "cg"}, ValueError, "got method='cg'"),
        ({"method": "jacobi"}, ValueError, "got method='jacobi'"),
        ({"method": "sor", "omega": 1.2}, TypeError, "do not pass omega"),
        ({"method": "sor", "cost": "flops"}, ValueError, "cost must be"),
        ({"method": "sor", "learner": "exp3"}, ValueError, "unknown omega learner"),
        ({"method": "sor", "learner": 3}, TypeError, "learner must be"),
        ({"method": "sor", "learner": "chebcb"}, ValueError, "context_range"),
        ({"method": "sor", "tolerance": 1e-3}, TypeError, "unknown option"),
        ({"method": "sor", "grid": [1.0, 2.0]}, ValueError, r"\(0, 2\)"),
    ],
)
def test_bad_tuner_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        OmegaTuner(**kwargs)


def test_bad_tuner_solve_arguments(seq40):
    p = seq40.instance(0)
    tuner = OmegaTuner(method="sor", learner="chebcb", context_range=seq40.context_range)
    with pytest.raises(TypeError, match="right-hand side b is missing"):
        tuner.solve(p.A)
    with pytest.raises(TypeError, match="not both"):
        tuner.solve(p, p.b)
    with pytest.raises(ValueError, match="needs a context"):
        tuner.solve(p.A, p.b)
    with pytest.raises(ValueError, match="context_range"):
        tuner.solve(p.A, p.b, context=5.0)
    assert tuner.omegas == [] and tuner.learner.t == 0


# ------------------------------------------------------- compiled SOR path


def nonsymmetric_dd(n=40, seed=0):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=0.15, random_state=rng, format="csr")
    A = A - sp.diags(A.diagonal())
    d = np.asarray(abs(A).sum(axis=1)).ravel() + rng.uniform(0.5, 2.0, n)
    return LinearProblem(sp.csr_array(A + sp.diags(d)), rng.standard_normal(n))


def overflowing():
    """A sweep overflows to inf/NaN before the residual grows 1e8-fold: NONFINITE."""
    A = sp.csr_array(np.array([[1e-300, 0.0], [1e300, 1.0]]))
    return LinearProblem(A, np.ones(2))


PATH_CASES = {
    "poisson converged": (lambda: poisson2d(10), {"omega": 1.5}),
    "poisson max_iter": (lambda: poisson2d(10), {"omega": 1.5, "maxiter": 7}),
    "shifted near-singular": (
        lambda: us.problems.shifted_laplacian_sequence(T=5, seed=0).instance(4),
        {"omega": 1.7, "rtol": 1e-10}),
    "nonsymmetric": (nonsymmetric_dd, {"omega": 1.2, "atol": 1e-9, "rtol": 0.0}),
    "warm start": (lambda: poisson2d(8), {"omega": 1.3, "x0": np.linspace(0, 1, 64)}),
    "diverged": (
        lambda: LinearProblem(np.array([[1.0, 2.0], [-2.0, 1.0]]), np.array([1.0, 1.0])),
        {"omega": 1.5}),
    "nonfinite": (overflowing, {"omega": 1.5}),
}
EXPECTED_STATUS = {"poisson max_iter": us.Status.MAX_ITER, "diverged": us.Status.DIVERGED,
                   "nonfinite": us.Status.NONFINITE}


@pytest.mark.parametrize("sweep", ["forward", "backward", "symmetric"])
@pytest.mark.parametrize("case", list(PATH_CASES))
def test_compiled_sor_equals_the_sweep_loop(monkeypatch, case, sweep):
    make, options = PATH_CASES[case]
    p = make()
    calls = []
    compiled = relaxation.sor_solve_csr

    def spy(*args):
        calls.append(1)
        return compiled(*args)

    monkeypatch.setattr(relaxation, "sor_solve_csr", spy)
    with np.errstate(all="ignore"):
        fast = us.solve(p, method="sor", sweep=sweep, **options)
        assert len(calls) == 1  # no callback: the one-call numba solve
        slow = us.solve(p, method="sor", sweep=sweep, callback=lambda s: None, **options)
        assert len(calls) == 1  # a callback: the per-sweep loop
    assert fast.status is slow.status is EXPECTED_STATUS.get(case, us.Status.CONVERGED)
    assert fast.iterations == slow.iterations
    assert len(fast.residuals) == fast.iterations + 1
    # the same sweeps in the same order: the iterates agree to the last bit
    np.testing.assert_array_equal(fast.x, slow.x)
    assert_same_residuals(fast, slow, p)
    assert fast.info == slow.info


def assert_same_residuals(fast, slow, p):
    """Equal to rtol 1e-10, up to the rounding of ``b − A x`` (a few ulps of ‖b‖).

    The compiled path subtracts row by row, the loop forms ``A @ x`` first: once
    ‖r‖ ≪ ‖b‖ the two differ by about ε‖b‖ (measured ≤ 1.1e-15 with ‖b‖ ≈ 9).
    """
    with np.errstate(invalid="ignore"):
        bnorm = float(np.linalg.norm(p.b))
    np.testing.assert_allclose(fast.residuals, slow.residuals, rtol=1e-10,
                               atol=1e-13 * bnorm)


@pytest.mark.parametrize("name", ["ssor", "gauss-seidel"])
def test_compiled_path_serves_ssor_and_gauss_seidel(name):
    p = poisson2d(9)
    options = {"omega": 1.4} if name == "ssor" else {}
    fast = us.solve(p, method=name, **options)
    slow = us.solve(p, method=name, callback=lambda s: None, **options)
    assert fast.converged and fast.iterations == slow.iterations
    np.testing.assert_array_equal(fast.x, slow.x)
    assert_same_residuals(fast, slow, p)


# ------------------------------------------------ priming the default learner


def test_tuner_primes_auto_with_the_first_systems_jacobi_radius(seq40):
    tuner = OmegaTuner(method="sor", learner="auto")
    p = seq40.instance(0)
    r = tuner.solve(p)
    exact = jacobi_spectral_radius(None, stencil=p.stencil)  # the closed form
    assert tuner.prime_beta == exact and tuner.learner.beta == exact
    # its first ω is Young's ω* of that system, to the grid
    assert r.info["omega"] == pytest.approx(
        DEFAULT_GRID[np.argmin(abs(DEFAULT_GRID - optimal_omega(p)))])
    tuner.solve(seq40.instance(1))
    assert tuner.learner.beta == exact  # once


def test_tuner_primes_from_a_bare_matrix_by_lanczos(seq40):
    p = seq40.instance(0)
    tuner = OmegaTuner(method="ssor-pcg", learner="auto")
    tuner.solve(p.A, p.b)
    assert tuner.prime_beta == pytest.approx(jacobi_spectral_radius(p.A), rel=1e-6)


def test_tuner_prime_off_and_learners_without_a_model(seq40):
    p = seq40.instance(0)
    off = OmegaTuner(method="sor", learner="auto", prime=False)
    off.solve(p)
    assert off.prime_beta is None and not off.learner.primed
    for name in ("tsallis", "chebcb"):
        tuner = OmegaTuner(method="sor", learner=name, context_range=seq40.context_range)
        tuner.solve(p)
        assert tuner.prime_beta is None  # not even computed
    # a learner object that has already played is not primed again
    used = AutoOmega(seed=1)
    used.choose()
    used.update(50)
    tuner = OmegaTuner(method="sor", learner=used)
    tuner.solve(p)
    assert tuner.prime_beta is None and not used.primed


def test_tuner_leaves_auto_unprimed_for_a_nonsymmetric_matrix():
    p = nonsymmetric_dd(n=40, seed=0)
    tuner = OmegaTuner(method="sor", learner="auto")
    tuner.solve(p)  # (this draw may diverge: it is charged maxiter, as before)
    assert tuner.prime_beta is None and not tuner.learner.primed
    assert tuner.learner.probabilities().max() < 0.5  # still the unprimed learner


def test_primed_tuner_state_resumes_in_a_new_process_like_json(seq40):
    a = OmegaTuner(method="sor", learner="auto", context_range=seq40.context_range, seed=2)
    for t in range(25):
        a.solve(seq40.instance(t))
    b = OmegaTuner(method="sor", learner="auto", context_range=seq40.context_range, seed=7)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert b.learner.primed and b.learner.beta == a.learner.beta
    assert not b.learner.wants_prime  # a restored learner is not primed again
    for t in range(25, 40):
        p = seq40.instance(t)
        assert a.solve(p).info["omega"] == b.solve(p).info["omega"]
    assert b.prime_beta is None  # b computed no estimate of its own


def test_short_heat_loop_with_the_primed_learner_beats_the_unprimed_one():
    """A 60-step implicit heat loop, SOR, warm starts: the issue's short-horizon case.

    Total iterations of ``OmegaTuner(learner="auto")`` (primed on the first
    system) against the same tuner with ``prime=False`` (every arm tried early).
    """
    seq = us.problems.heat_sequence(nx=16, steps=60, seed=0)
    totals = {}
    for prime in (True, False):
        tuner = OmegaTuner(method="sor", learner="auto", prime=prime)
        x, total = None, 0
        for t in range(len(seq)):
            r = tuner.solve(seq.instance(t, x))
            assert r.converged
            x, total = r.x, total + r.iterations
        totals[prime] = total
        assert (tuner.prime_beta is not None) == prime
    assert totals[True] < totals[False]


# ------------------------------------------------- issue 25: ω of GMRES's preconditioner


@pytest.fixture(scope="module")
def convection_seq():
    return us.problems.convection_diffusion_sequence(nx=24, steps=120, peclet=10.0, seed=0)


def test_gmres_learns_the_weight_of_its_sor_preconditioner(convection_seq):
    opts = {"method": "gmres", "preconditioner": "ssor", "progress": False}
    learned = us.solve(convection_seq, omega="auto", **opts)
    assert learned.converged and learned.info["method"] == "gmres"
    assert len(learned.info["omegas"]) == 120
    fixed = {w: us.solve(convection_seq, omega=float(w), **opts).total_iterations
             for w in DEFAULT_GRID}
    best = min(fixed.values())
    # the learner pays for exploring on 120 short steps (no Young prior for a
    # nonsymmetric A): it must beat the grid's mean and stay within 45 % of the best
    # fixed weight (measured 1.38; benchmarks/nonsymmetric.py checks 1.15 at 2000 steps)
    assert learned.total_iterations <= 1.45 * best
    assert learned.total_iterations < np.mean(list(fixed.values()))
    # the solutions are those of the sequence: compare the last state with a direct solve
    ref = convection_seq.reference()[-1]
    assert np.linalg.norm(learned.results[-1].x - ref) <= 1e-6 * np.linalg.norm(ref)


def test_gmres_tuner_needs_a_relaxation_preconditioner():
    with pytest.raises(ValueError, match="preconditioner='sor' or 'ssor'"):
        OmegaTuner(method="gmres")
    with pytest.raises(ValueError, match="preconditioner='sor' or 'ssor'"):
        OmegaTuner(method="gmres", preconditioner="ilu0")
    seq = us.problems.convection_diffusion_sequence(nx=8, steps=3, seed=0)
    with pytest.raises(ValueError, match="preconditioner='sor' or 'ssor'"):
        us.solve(seq, method="gmres", omega="auto", progress=False)

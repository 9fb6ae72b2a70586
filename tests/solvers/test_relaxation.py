"""Jacobi, Gauss-Seidel, SOR and SSOR: convergence, Young's theory, options, bad input."""

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from pyamg.relaxation.relaxation import sor as pyamg_sor

import unisolve as us
from unisolve.problems import LinearProblem, poisson2d, poisson3d
from unisolve.registry import get_method
from unisolve.solvers.relaxation import optimal_omega_poisson

N = 14
RTOL = 1e-8


@pytest.fixture(scope="module")
def problem():
    return poisson2d(N)


def smallest_eigenvalue_poisson2d(n):
    """λ_min of the (4, −1) 5-point matrix: 2 · 4 sin²(πh/2), h = 1/(n+1)."""
    return 8.0 * math.sin(math.pi / (2 * (n + 1))) ** 2


def true_residual(p, x):
    return float(np.linalg.norm(p.b - p.A @ x))


CASES = [
    ("jacobi", {}),
    ("jacobi", {"omega": 0.8}),
    ("gauss-seidel", {}),
    ("gauss-seidel", {"sweep": "symmetric", "ordering": "red-black"}),
    ("sor", {"omega": 1.5}),
    ("sor", {"omega": 1.5, "sweep": "backward"}),
    ("sor", {"omega": 1.5, "sweep": "symmetric"}),
    ("sor", {"omega": 1.5, "ordering": "red-black"}),
    ("sor", {"omega": 1.5, "ordering": "red-black", "sweep": "backward"}),
    ("ssor", {"omega": 1.3}),
    ("ssor", {"omega": 1.3, "ordering": "red-black"}),
]


@pytest.mark.parametrize(("name", "options"), CASES, ids=lambda c: str(c))
def test_converges_to_exact_solution(problem, name, options):
    p = problem
    r = us.solve(p, method=name, rtol=RTOL, **options)
    assert r.status is us.Status.CONVERGED and r.method == name
    assert len(r.residuals) == r.iterations + 1 > 1
    # the stopping rule holds for the true residual, and the last recorded one is it
    bnorm = np.linalg.norm(p.b)
    assert true_residual(p, r.x) <= RTOL * bnorm
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-10)
    assert r.residuals[0] == pytest.approx(bnorm)  # x0 = 0
    # error bound ‖x − x*‖ ≤ ‖b − A x‖ / λ_min (A SPD)
    err = np.linalg.norm(r.x - p.exact)
    assert err <= 1.001 * RTOL * bnorm / smallest_eigenvalue_poisson2d(N)
    assert err < 1e-6 * np.linalg.norm(p.exact)
    for key, value in options.items():
        assert r.info[key] == value


def test_red_black_3d_converges():
    p = poisson3d(7)
    r = us.solve(p, method="sor", omega=1.5, ordering="red-black", rtol=RTOL)
    nat = us.solve(p, method="sor", omega=1.5, rtol=RTOL)
    assert r.converged and nat.converged
    assert true_residual(p, r.x) <= RTOL * np.linalg.norm(p.b)
    assert np.linalg.norm(r.x - p.exact) < 1e-6 * np.linalg.norm(p.exact)
    assert np.linalg.norm(r.x - nat.x) < 1e-6 * np.linalg.norm(p.exact)


def iterates(p, **options):
    xs = []
    r = us.solve(p, callback=lambda s: xs.append(s.x), **options)
    return r, xs


def test_sor_omega_one_is_gauss_seidel(problem):
    r_sor, xs_sor = iterates(problem, method="sor", omega=1.0, maxiter=20)
    r_gs, xs_gs = iterates(problem, method="gauss-seidel", maxiter=20)
    assert len(xs_sor) == len(xs_gs) == 21
    for a, b in zip(xs_sor, xs_gs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert r_sor.residuals == r_gs.residuals


@pytest.mark.parametrize("sweep", ["forward", "backward"])
@pytest.mark.parametrize("omega", [1.0, 1.6])
def test_iterates_match_pyamg(problem, sweep, omega):
    r = us.solve(problem, method="sor", omega=omega, sweep=sweep, maxiter=7)
    x = np.zeros(problem.n)
    pyamg_sor(problem.A, x, problem.b, omega, iterations=7, sweep=sweep)
    assert r.status is us.Status.MAX_ITER
    assert np.linalg.norm(r.x - x) <= 1e-12 * np.linalg.norm(x)


def test_jacobi_iterates_match_formula():
    p = poisson2d(5)
    r = us.solve(p, method="jacobi", omega=0.7, maxiter=4)
    x = np.zeros(p.n)
    for _ in range(4):
        x = x + 0.7 * (p.b - p.A @ x) / p.A.diagonal()  # x ← x + ω D⁻¹ (b − A x)
    np.testing.assert_allclose(r.x, x, rtol=1e-13)


@pytest.mark.parametrize(
    ("name", "factor"),
    [
        ("jacobi", lambda h: math.cos(math.pi * h)),
        ("gauss-seidel", lambda h: math.cos(math.pi * h) ** 2),
    ],
)
def test_asymptotic_rate_is_the_theoretical_spectral_radius(problem, name, factor):
    """ρ_J = cos(πh), ρ_GS = ρ_J² on 2D Poisson: the residual shrinks by exactly that."""
    r = us.solve(problem, method=name, rtol=1e-10)
    res = np.asarray(r.residuals)
    measured = (res[-1] / res[-21]) ** (1 / 20)
    assert measured == pytest.approx(factor(1 / (N + 1)), abs=1e-6)


def test_sor_count_drops_to_youngs_optimum():
    n = 16
    p = poisson2d(n)
    h = 1.0 / (n + 1)
    w_opt = optimal_omega_poisson(n)
    assert w_opt == pytest.approx(2 / (1 + math.sin(math.pi * h)))
    omegas = [1.0, 1.2, 1.4, 1.6, w_opt]
    counts = [us.solve(p, method="sor", omega=w, rtol=RTOL).iterations for w in omegas]
    assert all(a > b for a, b in itertools.pairwise(counts)), counts
    gs, best = counts[0], counts[-1]
    # Young: ρ(SOR_ω*) = ω* − 1 versus ρ(GS) = cos²(πh)
    reduction = math.log(RTOL)
    predicted_gs = reduction / math.log(math.cos(math.pi * h) ** 2)
    predicted_best = reduction / math.log(w_opt - 1)
    assert gs == pytest.approx(predicted_gs, rel=0.05)
    # at ω* the SOR matrix has a 2x2 Jordan block, so the count exceeds the pure
    # rate prediction by a slowly growing factor (~1.28 here), but stays ≪ GS
    assert predicted_best <= best <= 1.4 * predicted_best
    assert best < gs / 7
    # ω* beats its neighbours on both sides
    for w in (w_opt - 0.1, w_opt + 0.1):
        assert us.solve(p, method="sor", omega=w, rtol=RTOL).iterations > best


def test_red_black_and_natural_agree(problem):
    w = optimal_omega_poisson(N)
    nat = us.solve(problem, method="sor", omega=w, rtol=1e-10)
    rb = us.solve(problem, method="sor", omega=w, rtol=1e-10, ordering="red-black")
    assert nat.converged and rb.converged
    assert np.linalg.norm(nat.x - rb.x) < 1e-8 * np.linalg.norm(nat.x)
    assert not np.array_equal(nat.residuals[:5], rb.residuals[:5])  # different iterations
    # both orderings are consistently ordered: same Young rate, similar counts
    assert abs(nat.iterations - rb.iterations) <= 0.1 * nat.iterations


@pytest.mark.parametrize("name", ["jacobi", "gauss-seidel", "sor", "ssor"])
def test_callback_sees_x0_and_every_iterate(problem, name):
    x0 = np.linspace(0.0, 1.0, problem.n)
    states = []
    r = us.solve(problem, method=name, x0=x0, maxiter=6, callback=states.append)
    assert [s.iteration for s in states] == list(range(7))
    np.testing.assert_array_equal(states[0].x, x0)
    assert states[0].residual == pytest.approx(true_residual(problem, x0))
    assert [s.residual for s in states] == r.residuals
    np.testing.assert_array_equal(states[-1].x, r.x)
    for s in states[1:]:
        assert s.residual == pytest.approx(true_residual(problem, s.x), rel=1e-12)
    np.testing.assert_array_equal(x0, np.linspace(0.0, 1.0, problem.n))  # not touched


def test_stop_iteration_stops(problem):
    def stop_at_3(state):
        if state.iteration == 3:
            raise StopIteration

    r = us.solve(problem, method="sor", omega=1.5, callback=stop_at_3)
    assert r.status is us.Status.STOPPED and r.iterations == 3 and not r.converged


@pytest.mark.parametrize("name", ["jacobi", "gauss-seidel", "sor", "ssor"])
def test_maxiter(problem, name):
    r = us.solve(problem, method=name, maxiter=5)
    assert r.status is us.Status.MAX_ITER and r.iterations == 5 and len(r.residuals) == 6
    r0 = us.solve(problem, method=name, maxiter=0)
    assert r0.status is us.Status.MAX_ITER and r0.iterations == 0
    assert get_method(name).defaults["maxiter"] == 10000


def test_exact_start_converges_at_iteration_zero(problem):
    r = us.solve(problem, method="sor", omega=1.5, x0=problem.exact, rtol=1e-6)
    assert r.converged and r.iterations == 0


def test_jacobi_diverges_on_non_diagonally_dominant():
    p = LinearProblem(np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([1.0, 0.5]))
    r = us.solve(p, method="jacobi")
    assert r.status in (us.Status.DIVERGED, us.Status.NONFINITE) and not r.converged
    assert r.iterations < 100  # the residual doubles every step: caught early


def test_sor_near_two_diverges_on_nonsymmetric():
    # Gauss-Seidel matrix of [[1, 2], [-2, 1]] has spectral radius 4
    p = LinearProblem(np.array([[1.0, 2.0], [-2.0, 1.0]]), np.array([1.0, 1.0]))
    for omega in (1.0, 1.95):
        r = us.solve(p, method="sor", omega=omega)
        assert r.status in (us.Status.DIVERGED, us.Status.NONFINITE), omega


def test_dense_matrix_is_accepted(problem):
    dense = LinearProblem(problem.A.toarray(), problem.b)
    a = us.solve(dense, method="sor", omega=1.5, maxiter=10)
    b = us.solve(problem, method="sor", omega=1.5, maxiter=10)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-13)


@pytest.mark.parametrize("name", ["sor", "ssor", "jacobi"])
@pytest.mark.parametrize("omega", [0, 0.0, 2, 2.0, -1.0, float("nan"), float("inf"), "auto", True])
def test_bad_omega(problem, name, omega):
    with pytest.raises(ValueError, match=r"omega must lie in \(0, 2\).*got"):
        us.solve(problem, method=name, omega=omega)


def test_gauss_seidel_has_no_omega(problem):
    with pytest.raises(TypeError, match="omega"):
        us.solve(problem, method="gauss-seidel", omega=1.2)


@pytest.mark.parametrize("name", ["jacobi", "gauss-seidel", "sor", "ssor"])
def test_zero_diagonal(name):
    A = sp.csr_array(np.array([[0.0, 1.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="diagonal"):
        us.solve(LinearProblem(A, np.ones(2)), method=name)


def test_red_black_needs_a_stencil():
    p = poisson2d(6, coeff=np.ones((6, 6)))
    assert p.stencil is None
    with pytest.raises(ValueError, match="ordering='natural'"):
        us.solve(p, method="sor", ordering="red-black")


@pytest.mark.parametrize(
    ("option", "value"), [("sweep", "sideways"), ("ordering", "random"), ("sweep", None)]
)
def test_bad_sweep_or_ordering(problem, option, value):
    with pytest.raises(ValueError, match=f"{option} must be one of"):
        us.solve(problem, method="sor", **{option: value})


def test_linear_operator_is_refused(problem):
    op = spla.aslinearoperator(problem.A)
    with pytest.raises(TypeError, match="matrix entries"):
        us.solve(LinearProblem(op, problem.b), method="sor")


def test_float32_input_stays_float32():
    p = poisson2d(8)
    p32 = LinearProblem(p.A.astype(np.float32), p.b.astype(np.float32))
    r = us.solve(p32, method="sor", omega=1.5, rtol=1e-5)
    assert r.converged and r.x.dtype == np.float32


def test_torch_input_comes_back_as_torch():
    torch = pytest.importorskip("torch")
    p = poisson2d(8)
    q = LinearProblem(p.A, torch.tensor(p.b), stencil=p.stencil)
    for options in ({"method": "sor", "omega": 1.5}, {"method": "jacobi"},
                    {"method": "ssor", "ordering": "red-black"}):
        r = us.solve(q, rtol=RTOL, **options)
        assert r.converged and isinstance(r.x, torch.Tensor) and r.x.dtype == torch.float64
        assert np.linalg.norm(r.x.numpy() - p.exact) < 1e-6 * np.linalg.norm(p.exact)


@pytest.mark.gpu
@pytest.mark.parametrize(
    "options",
    [
        {"method": "sor", "omega": 1.6},
        {"method": "ssor", "omega": 1.3},
        {"method": "gauss-seidel", "sweep": "backward"},
        {"method": "jacobi"},
    ],
    ids=str,
)
def test_cupy_input_runs_on_the_gpu(cupy, options):
    p = poisson2d(12)
    q = LinearProblem(p.A, cupy.asarray(p.b), stencil=p.stencil)
    r = us.solve(q, rtol=RTOL, **options)
    method = options["method"]
    cpu_options = options if method == "jacobi" else {**options, "ordering": "red-black"}
    cpu = us.solve(p, rtol=RTOL, **cpu_options)
    assert r.converged and isinstance(r.x, cupy.ndarray)
    # the same iteration on both devices; rounding may move the stop by one sweep
    assert abs(r.iterations - cpu.iterations) <= 1
    assert np.linalg.norm(cupy.asnumpy(r.x) - p.exact) < 1e-6 * np.linalg.norm(p.exact)
    if method != "jacobi":
        assert r.info["ordering"] == "red-black"


@pytest.mark.gpu
def test_cupy_natural_ordering_is_refused(cupy):
    p = poisson2d(6)
    q = LinearProblem(p.A, cupy.asarray(p.b), stencil=p.stencil)
    with pytest.raises(ValueError, match="ordering='red-black'"):
        us.solve(q, method="sor", ordering="natural")

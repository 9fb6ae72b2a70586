"""BiCGSTAB: agreement with spsolve and scipy, the true-residual rule, honest statuses."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import unisolve as us
from unisolve import Status
from unisolve.problems import LinearProblem


def true_residual(p, x):
    return float(np.linalg.norm(p.b - p.A @ x))


def nonsymmetric(n=24, peclet=40.0):
    return us.problems.convection_diffusion_system(n, peclet=peclet)  # n² unknowns


def symmetric_indefinite():
    """5-point Laplacian on 20² shifted by 0.3: 8 negative eigenvalues, none near 0."""
    P = us.problems.poisson2d(20)
    A = sp.csr_array(P.A - 0.3 * sp.identity(P.n))
    b = np.random.default_rng(0).standard_normal(P.n)
    return LinearProblem(A, b)


def ill_conditioned():
    """Convection–diffusion 16² with rows and columns scaled over two decades (cond 6e4)."""
    p = nonsymmetric(16, 20.0)
    d = np.logspace(-1, 1, p.n)
    D = sp.diags(d)
    A = sp.csr_array(D @ p.A @ D)
    return LinearProblem(A, np.random.default_rng(1).standard_normal(p.n))


def spilu_solve(A):
    ilu = spla.spilu(sp.csc_matrix(A), drop_tol=1e-5, fill_factor=10, permc_spec="NATURAL")
    return ilu.solve


CASES = {"nonsymmetric": lambda: nonsymmetric(32, 40.0), "indefinite": symmetric_indefinite,
         "ill-conditioned": ill_conditioned}


@pytest.mark.parametrize("preconditioner", [None, "jacobi", "ilu0", "callable"])
@pytest.mark.parametrize("case", list(CASES))
def test_bicgstab_matches_spsolve(case, preconditioner):
    p = CASES[case]()
    x_ref = spla.spsolve(sp.csc_matrix(p.A), p.b)
    pc = spilu_solve(p.A) if preconditioner == "callable" else preconditioner
    r = us.solve(p, method="bicgstab", rtol=1e-10, preconditioner=pc, maxiter=20 * p.n)
    assert r.status is Status.CONVERGED, r.info.get("reason")
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)
    assert r.residuals[-1] <= 1e-10 * np.linalg.norm(p.b)
    cond = 1e5 if case == "ill-conditioned" else 1e3
    assert np.linalg.norm(r.x - x_ref) <= 1e-10 * cond * np.linalg.norm(x_ref)
    assert len(r.residuals) == r.iterations + 1
    assert r.info["preconditioner"] == {None: None, "jacobi": "jacobi", "ilu0": "ilu0",
                                        "callable": "callable"}[preconditioner]
    assert r.info["kernel"] == "numba"


@pytest.mark.parametrize("preconditioner", ["ssor", "sor"])
def test_relaxation_preconditioners_report_omega(preconditioner):
    p = nonsymmetric(24, 40.0)
    plain = us.solve(p, method="bicgstab", rtol=1e-8)
    r = us.solve(p, method="bicgstab", rtol=1e-8, preconditioner=preconditioner, omega=1.2)
    assert r.converged and r.info["omega"] == 1.2 and r.info["preconditioner"] == preconditioner
    assert r.iterations < plain.iterations
    assert true_residual(p, r.x) <= r.info["threshold"]


def scipy_bicgstab_iterations(A, b, rtol, M=None):
    """scipy's iteration count: its callbacks, plus one when it returns at a half step."""
    xs = []
    x, info = spla.bicgstab(A, b, rtol=rtol, atol=0.0, M=M, maxiter=5000,
                            callback=lambda xk: xs.append(xk.copy()))
    assert info == 0
    half = not xs or not np.array_equal(x, xs[-1])
    return len(xs) + int(half)


@pytest.mark.parametrize(("n", "peclet", "preconditioner"),
                         [(24, 50.0, None), (16, 5.0, None), (24, 50.0, "ilu0")])
def test_iteration_count_matches_scipy(n, peclet, preconditioner):
    """Same iterations as scipy within ±2 (one iteration = two products with A, as scipy).

    Small systems: on long runs (hundreds of iterations) BiCGSTAB's count is
    chaotic under rounding (scipy's own count moves by ±20 when b is perturbed
    by 1e-15 relative), so only short runs can be compared this tightly.
    """
    p = nonsymmetric(n, peclet)
    M = None
    if preconditioner is not None:
        f = us.solvers.preconditioners.make_preconditioner(preconditioner, p.A)
        M = spla.LinearOperator(p.A.shape, matvec=f)
    ours = us.solve(p, method="bicgstab", rtol=1e-8, preconditioner=preconditioner)
    theirs = scipy_bicgstab_iterations(p.A, p.b, 1e-8, M=M)
    assert ours.converged
    assert abs(ours.iterations - theirs) <= 2, (ours.iterations, theirs)


def test_recorded_true_residuals_are_those_of_the_iterates():
    p = nonsymmetric(20, 60.0)
    xs = []
    r = us.solve(p, method="bicgstab", rtol=1e-10, callback=lambda s: xs.append(s.x.copy()))
    assert len(xs) == r.iterations + 1
    assert np.array_equal(xs[-1], r.x)
    idx = r.info["true_residual_indices"]
    assert idx[0] == 0 and idx[-1] == r.iterations
    for k in idx:
        assert r.residuals[k] == pytest.approx(true_residual(p, xs[k]), rel=1e-12)
    # the recursive entries agree with the true ones to rounding on this well-scaled system
    for k in range(0, r.iterations, 7):
        assert r.residuals[k] == pytest.approx(true_residual(p, xs[k]), rel=1e-6, abs=1e-12)
    assert "recursive" in r.info["residual_kind"]


def test_callback_sees_x0_and_can_stop():
    p = nonsymmetric(16, 10.0)
    x0 = np.full(p.n, 0.5)
    seen = []

    def cb(state):
        seen.append((state.iteration, state.x.copy(), state.residual))
        if state.iteration == 3:
            raise StopIteration

    r = us.solve(p, method="bicgstab", x0=x0, callback=cb)
    assert r.status is Status.STOPPED and r.iterations == 3
    assert seen[0][0] == 0 and np.array_equal(seen[0][1], x0)
    assert seen[0][2] == pytest.approx(true_residual(p, x0), rel=1e-12)
    assert np.array_equal(seen[-1][1], r.x)
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)


def test_maxiter_gives_max_iter():
    p = nonsymmetric(24, 40.0)
    r = us.solve(p, method="bicgstab", rtol=1e-12, maxiter=5)
    assert r.status is Status.MAX_ITER and r.iterations == 5 and len(r.residuals) == 6
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)


def test_breakdown_sigma_on_a_rotation():
    """r̂₀ᵀ A r̂₀ = 0 for the rotation A = [[0, 1], [−1, 0]]: r̂₀ᵀv vanishes at once."""
    p = LinearProblem(np.array([[0.0, 1.0], [-1.0, 0.0]]), np.array([1.0, 0.0]))
    r = us.solve(p, method="bicgstab")
    assert r.status is Status.BREAKDOWN and r.iterations == 0
    assert "r̂₀ᵀv" in r.info["reason"] and "gmres" in r.info["reason"]
    assert us.solve(p, method="gmres").converged  # what the message recommends works


def test_breakdown_omega_returns_the_half_step():
    """A = diag(1, −1) ⊕ rotation, b = (2, 1, 2, 0): s = (−4, 4, 2, 6), tᵀs = 0 exactly."""
    A = np.array([[1.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, 0, 1.0], [0, 0, -1.0, 0]])
    b = np.array([2.0, 1.0, 2.0, 0.0])
    r = us.solve(LinearProblem(A, b), method="bicgstab")
    assert r.status is Status.BREAKDOWN and r.iterations == 1
    assert "ω" in r.info["reason"] and "gmres" in r.info["reason"]
    np.testing.assert_array_equal(r.x, 3.0 * b)  # x_0 + α p̂ with α = ρ/σ = 9/3, p̂ = b
    assert r.residuals[-1] == pytest.approx(np.linalg.norm(b - A @ r.x), rel=1e-14)


def test_half_step_convergence_counts_one_iteration():
    p = LinearProblem(3.0 * np.eye(4), np.arange(1.0, 5.0))
    r = us.solve(p, method="bicgstab")
    assert r.converged and r.iterations == 1 and r.info["half_step"]
    np.testing.assert_allclose(r.x, np.arange(1.0, 5.0) / 3.0, rtol=1e-15)


def test_stagnation_below_attainable_accuracy():
    p = nonsymmetric(16, 20.0)
    r = us.solve(p, method="bicgstab", rtol=1e-19)
    assert r.status is Status.BREAKDOWN and r.info["reason"].startswith("stagnation")
    assert r.info["replacements"] >= 3 and r.iterations < 1000
    assert r.residuals[-1] <= 1e-12 * np.linalg.norm(p.b)  # x is as good as it gets


def test_nan_from_the_preconditioner_is_nonfinite_and_keeps_a_finite_x():
    p = nonsymmetric(12, 10.0)
    calls = [0]

    def bad(r):
        calls[0] += 1
        return r * np.nan if calls[0] > 4 else r

    r = us.solve(p, method="bicgstab", preconditioner=bad)
    assert r.status is Status.NONFINITE and "NaN" in r.info["reason"]
    assert np.isfinite(r.x).all() and r.iterations == 2


def test_x0_and_linear_operator():
    p = nonsymmetric(16, 30.0)
    op = spla.aslinearoperator(p.A)
    x0 = np.random.default_rng(3).standard_normal(p.n)
    r = us.solve(LinearProblem(op, p.b), method="bicgstab", x0=x0, rtol=1e-10)
    assert r.converged and r.info["kernel"] == "numba-vectors"
    assert true_residual(p, r.x) <= 1e-10 * np.linalg.norm(p.b)
    assert r.residuals[0] == pytest.approx(true_residual(p, x0), rel=1e-12)


def test_float32_and_torch_take_the_array_api_path():
    p = nonsymmetric(16, 30.0)
    ref = us.solve(p, method="bicgstab", rtol=1e-10).x
    p32 = LinearProblem(sp.csr_array(p.A, dtype=np.float32), p.b.astype(np.float32))
    r32 = us.solve(p32, method="bicgstab", rtol=1e-5)
    assert r32.converged and r32.info["kernel"] == "array-api" and r32.x.dtype == np.float32
    assert np.linalg.norm(r32.x - ref) <= 1e-3 * np.linalg.norm(ref)
    torch = pytest.importorskip("torch")
    At = torch.tensor(p.A.toarray())
    bt = torch.tensor(p.b)
    rt = us.solve(LinearProblem(At, bt), method="bicgstab", rtol=1e-10, preconditioner="jacobi")
    assert rt.converged and isinstance(rt.x, torch.Tensor) and rt.info["kernel"] == "array-api"
    assert np.linalg.norm(rt.x.numpy() - ref) <= 1e-7 * np.linalg.norm(ref)
    assert rt.residuals[-1] == pytest.approx(true_residual(p, rt.x.numpy()), rel=1e-8)


def test_bad_preconditioner_name():
    with pytest.raises(ValueError, match="unknown preconditioner"):
        us.solve(nonsymmetric(8), method="bicgstab", preconditioner="nope")


def test_listed_with_the_matrix_it_needs():
    info = {m.name: m for m in us.methods("linear")}
    assert info["bicgstab"].matrix == "any nonsingular"


@pytest.mark.gpu
def test_cupy(cupy):
    import cupyx.scipy.sparse as csp

    p = nonsymmetric(24, 40.0)
    ref = us.solve(p, method="bicgstab", rtol=1e-10).x
    pg = LinearProblem(csp.csr_matrix(sp.csr_matrix(p.A)), cupy.asarray(p.b))
    r = us.solve(pg, method="bicgstab", rtol=1e-10)
    assert r.converged and isinstance(r.x, cupy.ndarray) and r.info["kernel"] == "array-api"
    assert np.linalg.norm(r.x.get() - ref) <= 1e-7 * np.linalg.norm(ref)
    rj = us.solve(pg, method="bicgstab", rtol=1e-10, preconditioner="jacobi")
    assert rj.converged and rj.residuals[-1] <= rj.info["threshold"]

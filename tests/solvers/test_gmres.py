"""Restarted GMRES(m): agreement with spsolve and scipy, the least-squares residual, statuses."""

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


def spilu_solve(A):
    """A callable r -> M⁻¹ r from scipy's incomplete LU (a user-supplied preconditioner)."""
    ilu = spla.spilu(sp.csc_matrix(A), drop_tol=1e-5, fill_factor=10, permc_spec="NATURAL")
    return ilu.solve


def scipy_gmres_iterations(A, b, rtol, restart, x0=None):
    count = [0]

    def cb(_):
        count[0] += 1

    _, info = spla.gmres(A, b, x0=x0, rtol=rtol, atol=0.0, restart=restart, callback=cb,
                         callback_type="pr_norm", maxiter=1000)
    assert info == 0
    return count[0]


@pytest.mark.parametrize("preconditioner", [None, "jacobi", "ssor", "callable"])
@pytest.mark.parametrize("case", ["nonsymmetric", "indefinite"])
def test_gmres_matches_spsolve(case, preconditioner):
    p = nonsymmetric(32, 40.0) if case == "nonsymmetric" else symmetric_indefinite()
    x_ref = spla.spsolve(sp.csc_matrix(p.A), p.b)
    pc = spilu_solve(p.A) if preconditioner == "callable" else preconditioner
    restart = 30 if case == "nonsymmetric" else 60
    r = us.solve(p, method="gmres", restart=restart, rtol=1e-10, preconditioner=pc)
    assert r.status is Status.CONVERGED
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-10)
    assert r.residuals[-1] <= 1e-10 * np.linalg.norm(p.b)
    assert np.linalg.norm(r.x - x_ref) <= 1e-7 * np.linalg.norm(x_ref)
    assert len(r.residuals) == r.iterations + 1
    expected = {None: None, "jacobi": "jacobi", "ssor": "ssor", "callable": "callable"}
    assert r.info["preconditioner"] == expected[preconditioner]
    assert ("omega" in r.info) == (preconditioner == "ssor")


def test_preconditioning_cuts_iterations():
    p = nonsymmetric(32, 40.0)
    plain = us.solve(p, method="gmres", rtol=1e-8)
    ssor = us.solve(p, method="gmres", rtol=1e-8, preconditioner="ssor", omega=1.3)
    ilu = us.solve(p, method="gmres", rtol=1e-8, preconditioner=spilu_solve(p.A))
    assert ssor.info["omega"] == 1.3
    assert ilu.iterations < ssor.iterations < plain.iterations


@pytest.mark.parametrize("preconditioner", [None, "ssor"])
@pytest.mark.parametrize("orthogonalization", ["mgs", "cgs"])
def test_least_squares_residual_is_the_true_residual_of_every_iterate(preconditioner,
                                                                      orthogonalization):
    p = nonsymmetric(20, 60.0)
    iterates = []
    r = us.solve(p, method="gmres", restart=15, rtol=1e-9, preconditioner=preconditioner,
                 orthogonalization=orthogonalization,
                 callback=lambda st: iterates.append(st.x.copy()))
    assert r.converged and len(iterates) == r.iterations + 1
    true = np.array([true_residual(p, x) for x in iterates])
    ls = np.array(r.residuals)
    # |g_k| = ‖b − A x_k‖ (right preconditioning), up to rounding of the recurrences
    np.testing.assert_allclose(ls, true, rtol=1e-10, atol=1e-14 * np.linalg.norm(p.b))
    # the solve without a callback takes the same steps (x_k is then never built)
    quiet = us.solve(p, method="gmres", restart=15, rtol=1e-9, preconditioner=preconditioner,
                     orthogonalization=orthogonalization)
    assert quiet.iterations == r.iterations
    np.testing.assert_allclose(quiet.residuals, r.residuals, rtol=1e-12)
    np.testing.assert_allclose(quiet.x, r.x, rtol=0, atol=1e-14 * np.abs(r.x).max())


@pytest.mark.parametrize("rtol", [1e-5, 1e-8, 1e-10])
@pytest.mark.parametrize("restart", [10, 30])
@pytest.mark.parametrize("nonzero_x0", [False, True])
def test_iteration_count_matches_scipy(rtol, restart, nonzero_x0):
    p = nonsymmetric(20, 60.0)
    x0 = np.random.default_rng(3).standard_normal(p.n) if nonzero_x0 else None
    r = us.solve(p, method="gmres", restart=restart, rtol=rtol, x0=x0)
    assert r.converged
    assert abs(r.iterations - scipy_gmres_iterations(p.A, p.b, rtol, restart, x0)) <= 2


def test_true_residual_indices_hold_true_residuals():
    p = nonsymmetric(16, 80.0)
    iterates = []
    r = us.solve(p, method="gmres", restart=7, rtol=1e-8,
                 callback=lambda st: iterates.append(st.x.copy()))
    idx = r.info["true_residual_indices"]
    assert idx[0] == 0 and idx[-1] == r.iterations
    assert set(range(7, r.iterations, 7)) <= set(idx)  # the end of every cycle
    assert r.info["cycles"] == -(-r.iterations // 7)
    for i in idx:
        assert r.residuals[i] == pytest.approx(true_residual(p, iterates[i]), rel=1e-12)
    assert "least-squares" in r.info["residual_kind"]


def test_callback_sees_x0_and_stop_iteration_stops():
    p = nonsymmetric(16, 20.0)
    seen = []

    def cb(state):
        seen.append((state.iteration, state.residual))
        if state.iteration == 5:
            raise StopIteration

    r = us.solve(p, method="gmres", callback=cb)
    assert r.status is Status.STOPPED and r.iterations == 5
    assert [i for i, _ in seen] == list(range(6))
    assert seen[0][1] == pytest.approx(np.linalg.norm(p.b))
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)
    assert r.residuals[-1] == pytest.approx(seen[-1][1], rel=1e-10)  # x is the iterate seen


def test_maxiter_gives_max_iter_with_a_true_last_residual():
    p = nonsymmetric(20, 10.0)
    r = us.solve(p, method="gmres", restart=30, maxiter=45, rtol=1e-12)
    assert r.status is Status.MAX_ITER and r.iterations == 45
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)
    assert us.solve(p, method="gmres", maxiter=0).status is Status.MAX_ITER


def test_zero_rhs_and_exact_x0_converge_at_once():
    p = nonsymmetric(8, 10.0)
    r = us.solve(LinearProblem(p.A, np.zeros(p.n)), method="gmres")
    assert r.converged and r.iterations == 0 and not r.x.any()
    x = spla.spsolve(sp.csc_matrix(p.A), p.b)
    assert us.solve(p, method="gmres", x0=x, rtol=1e-8).iterations == 0


@pytest.mark.parametrize("restart", [0, -3, 2.5, True, "30"])
def test_bad_restart_is_a_value_error_naming_the_fix(restart):
    with pytest.raises(ValueError, match="restart must be a positive integer"):
        us.solve(nonsymmetric(4), method="gmres", restart=restart)


def test_bad_orthogonalization_and_unknown_option():
    p = nonsymmetric(4)
    with pytest.raises(ValueError, match=r"'mgs'.*'cgs'"):
        us.solve(p, method="gmres", orthogonalization="householder")
    with pytest.raises(ValueError, match="ifneeded"):
        us.solve(p, method="gmres", reorthogonalize="sometimes")
    with pytest.raises(TypeError, match="restart"):
        us.solve(p, method="gmres", restrat=10)
    with pytest.raises(ValueError, match="unknown preconditioner"):
        us.solve(p, method="gmres", preconditioner="nope")


def test_restart_is_clipped_to_n_and_full_gmres_is_exact_in_n_steps():
    rng = np.random.default_rng(8)
    A = rng.standard_normal((12, 12)) + 12 * np.eye(12)
    p = LinearProblem(A, rng.standard_normal(12))
    r = us.solve(p, method="gmres", restart=100, rtol=1e-13)
    assert r.info["restart"] == 12 and r.converged and r.iterations <= 12
    np.testing.assert_allclose(r.x, np.linalg.solve(A, p.b), rtol=1e-10)


def test_stagnation_on_a_cyclic_shift_is_reported_honestly():
    n = 10
    A = sp.csr_array(np.roll(np.eye(n), 1, axis=0))  # e_i -> e_{i+1}: GMRES(m < n) stalls
    b = np.zeros(n)
    b[0] = 1.0
    p = LinearProblem(A, b)
    r = us.solve(p, method="gmres", restart=5)
    assert r.status is Status.BREAKDOWN and r.iterations == 5
    assert r.info["reason"].startswith("stagnation")
    assert r.residuals[-1] == pytest.approx(1.0)
    full = us.solve(p, method="gmres", restart=n, rtol=1e-12)
    assert full.converged and full.iterations == n
    np.testing.assert_allclose(full.x, np.roll(b, -1), atol=1e-12)


def test_inconsistent_singular_system_ends_in_breakdown_at_the_least_squares_optimum():
    A = sp.csr_array(np.diag([1.0, 2.0, 3.0, 0.0]))
    p = LinearProblem(A, np.ones(4))  # b has a unit component in the null space
    # one Gram–Schmidt pass (the default) leaves rounding where the Krylov space closes,
    # so GMRES goes on restarting until a cycle stagnates: not converged, and said so
    default = us.solve(p, method="gmres", restart=4)
    assert default.status is Status.BREAKDOWN and "stagnation" in default.info["reason"]
    # it returns the better end of the last cycle: never worse than any iterate it checked
    checked = [default.residuals[k] for k in default.info["true_residual_indices"]]
    assert default.residuals[-1] == pytest.approx(true_residual(p, default.x), rel=1e-12)
    assert default.residuals[-1] <= min(checked) * (1 + 1e-12) < 1.1
    # with the DGKS second pass the exact breakdown is seen and x is the LS optimum
    r = us.solve(p, method="gmres", restart=4, reorthogonalize="ifneeded")
    assert r.status is Status.BREAKDOWN and "singular" in r.info["reason"]
    assert r.residuals[-1] == pytest.approx(1.0, rel=1e-12)  # min ‖b − A x‖ = 1
    np.testing.assert_allclose(r.x[:3], [1.0, 0.5, 1.0 / 3.0], rtol=1e-12)


def test_nan_from_the_preconditioner_is_nonfinite_with_a_finite_x():
    p = nonsymmetric(8, 10.0)
    r = us.solve(p, method="gmres", preconditioner=lambda v: v * np.nan)
    assert r.status is Status.NONFINITE and "NaN" in r.info["reason"]
    assert np.isfinite(r.x).all() and np.isfinite(r.residuals[-1])
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x))


@pytest.mark.parametrize("orthogonalization", ["mgs", "cgs"])
@pytest.mark.parametrize("reorthogonalize", ["ifneeded", "always", "never"])
def test_orthogonalization_variants_agree(orthogonalization, reorthogonalize):
    p = nonsymmetric(20, 60.0)
    ref = us.solve(p, method="gmres", rtol=1e-9)
    r = us.solve(p, method="gmres", rtol=1e-9, orthogonalization=orthogonalization,
                 reorthogonalize=reorthogonalize)
    assert r.converged and r.iterations == ref.iterations
    assert r.info["orthogonalization"] == orthogonalization
    count = r.info["reorthogonalizations"]
    assert (count == 0) if reorthogonalize == "never" else (0 < count <= r.iterations)
    if reorthogonalize == "always":
        assert count == r.iterations


def test_linear_operator_dense_float32_and_torch_paths_agree():
    p = nonsymmetric(10, 30.0)
    ref = us.solve(p, method="gmres", restart=10, rtol=1e-10)
    assert ref.info["kernel"] == "numba-cycle"
    op = us.solve(LinearProblem(spla.aslinearoperator(p.A), p.b), method="gmres", restart=10,
                  rtol=1e-10)
    dense = us.solve(LinearProblem(p.A.toarray(), p.b), method="gmres", restart=10, rtol=1e-10)
    for r in (op, dense):
        assert r.info["kernel"] == "numba-step" and r.iterations == ref.iterations
        np.testing.assert_allclose(r.x, ref.x, rtol=1e-9)
    p32 = LinearProblem(p.A.astype(np.float32), p.b.astype(np.float32))
    r32 = us.solve(p32, method="gmres", restart=10, rtol=1e-5)
    assert r32.converged and r32.x.dtype == np.float32 and r32.info["kernel"] == "array-api"
    j32 = us.solve(p32, method="gmres", restart=10, rtol=1e-5, preconditioner="jacobi")
    assert j32.converged and j32.x.dtype == np.float32  # a float64 M⁻¹ does not widen x
    assert abs(r32.iterations - us.solve(p, method="gmres", restart=10, rtol=1e-5).iterations) <= 2


@pytest.mark.parametrize("orthogonalization", ["mgs", "cgs"])
def test_array_api_path_on_torch_tensors_matches_numpy(orthogonalization):
    torch = pytest.importorskip("torch")
    p = nonsymmetric(10, 30.0)
    tp = LinearProblem(torch.tensor(p.A.toarray()), torch.tensor(p.b))
    ref = us.solve(p, method="gmres", restart=10, rtol=1e-10, preconditioner="jacobi",
                   orthogonalization=orthogonalization)
    r = us.solve(tp, method="gmres", restart=10, rtol=1e-10, preconditioner="jacobi",
                 orthogonalization=orthogonalization)
    assert isinstance(r.x, torch.Tensor) and r.converged and r.info["kernel"] == "array-api"
    assert r.iterations == ref.iterations
    np.testing.assert_allclose(r.x.numpy(), ref.x, rtol=1e-9)
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x.numpy()), rel=1e-9)


@pytest.mark.gpu
def test_cupy_arrays_solve_on_the_gpu():
    cp = pytest.importorskip("cupy")
    try:
        cp.cuda.runtime.getDeviceCount()
    except Exception:
        pytest.skip("no CUDA device")
    import cupyx.scipy.sparse as csp

    p = nonsymmetric(32, 40.0)
    cpu = us.solve(p, method="gmres", rtol=1e-10)
    gp = LinearProblem(csp.csr_matrix(p.A), cp.asarray(p.b))
    gpu = us.solve(gp, method="gmres", rtol=1e-10, orthogonalization="cgs")
    assert isinstance(gpu.x, cp.ndarray) and gpu.converged
    assert abs(gpu.iterations - cpu.iterations) <= 2
    x = cp.asnumpy(gpu.x)
    assert gpu.residuals[-1] == pytest.approx(true_residual(p, x), rel=1e-8)
    jac = us.solve(gp, method="gmres", rtol=1e-10, preconditioner="jacobi")
    assert jac.converged


def test_gmres_is_registered_for_linear_problems():
    names = {m.name: m for m in us.methods("linear")}
    assert "gmres" in names and names["gmres"].matrix == "any nonsingular"

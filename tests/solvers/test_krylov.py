"""CG / PCG: convergence to known solutions, agreement with scipy and pyamg, statuses."""

from __future__ import annotations

import numpy as np
import pyamg
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import unisolve as us
from unisolve import Status
from unisolve.problems import LinearProblem


def true_residual(p, x):
    return float(np.linalg.norm(p.b - p.A @ x))


def lambda_min_poisson2d(n):
    """Smallest eigenvalue of the 5-point (4, −1) matrix: 8 sin²(π h / 2), h = 1/(n+1)."""
    return 8.0 * np.sin(np.pi / (2 * (n + 1))) ** 2


def scipy_cg_iterations(A, b, rtol, x0=None):
    count = [0]

    def cb(_):
        count[0] += 1

    _, info = spla.cg(A, b, x0=x0, rtol=rtol, callback=cb)
    assert info == 0
    return count[0]


def test_cg_converges_to_exact_solution_within_the_rtol_bound():
    n = 30
    p = us.problems.poisson2d(n)
    r = us.solve(p, method="cg", rtol=1e-10)
    assert r.status is Status.CONVERGED
    res = true_residual(p, r.x)
    assert res <= 1e-10 * np.linalg.norm(p.b)
    assert r.residuals[-1] == pytest.approx(res, rel=1e-12)
    # ‖x − x*‖ ≤ ‖A⁻¹‖ ‖b − A x‖ = ‖b − A x‖ / λ_min (plus rounding in b = A x*)
    bound = res / lambda_min_poisson2d(n) + 1e-13 * np.linalg.norm(p.exact)
    assert np.linalg.norm(r.x - p.exact) <= bound
    assert len(r.residuals) == r.iterations + 1
    assert r.method == "cg" and r.time > 0


def test_cg_is_the_default_for_linear_problems():
    p = us.problems.poisson2d(10)
    assert us.solve(p).method == "cg"


@pytest.mark.parametrize("rtol", [1e-6, 1e-8, 1e-10])
@pytest.mark.parametrize("nonzero_x0", [False, True])
def test_iteration_count_matches_scipy(rtol, nonzero_x0):
    p = us.problems.poisson2d(30)
    x0 = np.random.default_rng(3).standard_normal(p.n) if nonzero_x0 else None
    ours = us.solve(p, method="cg", rtol=rtol, x0=x0)
    theirs = scipy_cg_iterations(p.A, p.b, rtol, x0=x0)
    assert ours.status is Status.CONVERGED
    assert abs(ours.iterations - theirs) <= 2


@pytest.mark.parametrize("eigenvalues", [(1.0, 3.0, 10.0, 40.0), (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)])
def test_cg_with_k_distinct_eigenvalues_converges_in_k_iterations(eigenvalues):
    # the Krylov space of A with k distinct eigenvalues has dimension ≤ k, so x_k = x*;
    # with b touching every eigenspace, x_{k−1} is still far from it
    n, k = 60, len(eigenvalues)
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.array(eigenvalues)[np.arange(n) % k]
    A = (Q * lam) @ Q.T
    A = (A + A.T) / 2
    b = rng.standard_normal(n)
    r = us.solve(LinearProblem(A, b), method="cg", rtol=1e-10)
    assert r.status is Status.CONVERGED
    assert r.iterations == k
    assert r.residuals[k - 1] > 1e-2 * np.linalg.norm(b)
    assert np.allclose(r.x, np.linalg.solve(A, b), rtol=0, atol=1e-9)


def _inverse_diagonal_operator(p):
    d = p.A.diagonal()
    return spla.LinearOperator(p.A.shape, matvec=lambda r: r / d, dtype=float)


@pytest.mark.parametrize(
    "preconditioner",
    ["jacobi", "ssor", "ic0", "amg", "callable", "LinearOperator"],
)
def test_pcg_converges_to_exact_solution(preconditioner):
    n = 24
    p = us.problems.poisson2d(n)
    if preconditioner == "callable":
        preconditioner = lambda r: r / 4.0  # noqa: E731
    elif preconditioner == "LinearOperator":
        preconditioner = _inverse_diagonal_operator(p)
    r = us.solve(p, method="pcg", preconditioner=preconditioner, omega=1.5, rtol=1e-10)
    assert r.status is Status.CONVERGED
    res = true_residual(p, r.x)
    assert res <= r.info["threshold"]
    assert r.residuals[-1] == pytest.approx(res, rel=1e-12)
    bound = res / lambda_min_poisson2d(n) + 1e-13 * np.linalg.norm(p.exact)
    assert np.linalg.norm(r.x - p.exact) <= bound


def test_preconditioner_iteration_counts_are_ordered_as_theory_says():
    p = us.problems.poisson2d(32)

    def its(**kw):
        r = us.solve(p, rtol=1e-8, **kw)
        assert r.converged
        return r.iterations

    cg = its(method="cg")
    jacobi = its(method="pcg", preconditioner="jacobi")
    ic0 = its(method="pcg", preconditioner="ic0")
    amg = its(method="pcg", preconditioner="amg")
    assert amg < ic0 < jacobi
    assert abs(jacobi - cg) <= 1  # constant diagonal: D⁻¹ = I/4 changes nothing but scale
    assert amg <= 15 and ic0 <= 0.6 * cg
    for omega in (1.5, 1.7, 1.8):
        assert its(method="pcg", preconditioner="ssor", omega=omega) < cg
    assert its(method="ssor-pcg", omega=1.7) == its(
        method="pcg", preconditioner="ssor", omega=1.7
    )


def test_pcg_amg_agrees_with_pyamg_cg():
    n = 32
    p = us.problems.poisson2d(n)
    ml = pyamg.smoothed_aggregation_solver(p.A)
    x_pyamg = ml.solve(p.b, accel="cg", tol=1e-10, maxiter=200)
    r = us.solve(p, method="pcg", preconditioner="amg", rtol=1e-10)
    assert r.converged
    res_ours, res_pyamg = true_residual(p, r.x), true_residual(p, x_pyamg)
    assert res_pyamg <= 1e-8 * np.linalg.norm(p.b)  # pyamg really converged
    # both lie within ‖r‖/λ_min of the solution, hence of each other
    assert np.linalg.norm(r.x - x_pyamg) <= (res_ours + res_pyamg) / lambda_min_poisson2d(n)
    assert np.linalg.norm(r.x - x_pyamg) <= 1e-7 * np.linalg.norm(x_pyamg)


@pytest.mark.parametrize("method", ["cg", "pcg"])
def test_callback_sees_x0_and_every_iterate(method):
    p = us.problems.poisson2d(16)
    x0 = np.full(p.n, 0.5)
    seen = []
    r = us.solve(p, method=method, x0=x0, rtol=1e-8,
                 callback=lambda s: seen.append((s.iteration, s.residual)))
    assert r.converged
    assert [it for it, _ in seen] == list(range(r.iterations + 1))
    assert seen[0][1] == pytest.approx(true_residual(p, x0), rel=1e-14)
    assert [res for _, res in seen] == r.residuals
    assert len(r.residuals) == r.iterations + 1


def test_stop_iteration_in_callback_stops_cleanly():
    p = us.problems.poisson2d(16)

    def stop_at_3(state):
        if state.iteration == 3:
            raise StopIteration

    r = us.solve(p, method="cg", callback=stop_at_3)
    assert r.status is Status.STOPPED
    assert r.iterations == 3 and len(r.residuals) == 4
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)


def test_maxiter_gives_max_iter_with_the_true_residual_last():
    p = us.problems.poisson2d(16)
    r = us.solve(p, method="cg", maxiter=5)
    assert r.status is Status.MAX_ITER
    assert r.iterations == 5
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)
    assert r.info["true_residual_indices"][-1] == 5


@pytest.mark.parametrize(
    "diagonal", [np.tile([1.0, -1.0], 5), -np.ones(10), np.r_[np.ones(9), -30.0]]
)
def test_indefinite_matrix_is_breakdown_not_converged(diagonal):
    A = sp.diags_array(diagonal, format="csr")
    r = us.solve(LinearProblem(A, np.ones(len(diagonal))), method="cg")
    assert r.status is Status.BREAKDOWN
    assert r.info["pAp"] <= 0 and "pᵀAp" in r.info["breakdown"]
    assert r.residuals[-1] == pytest.approx(np.linalg.norm(np.ones(len(diagonal)) - A @ r.x))


def test_non_spd_preconditioner_is_breakdown():
    p = us.problems.poisson2d(8)
    r = us.solve(p, method="pcg", preconditioner=lambda r: -r)
    assert r.status is Status.BREAKDOWN and "preconditioner" in r.info["breakdown"]


def test_nan_from_the_preconditioner_is_nonfinite():
    p = us.problems.poisson2d(8)
    calls = [0]

    def poisoned(r):
        calls[0] += 1
        return r * (np.nan if calls[0] > 3 else 1.0)

    r = us.solve(p, method="pcg", preconditioner=poisoned)
    assert r.status is Status.NONFINITE
    assert not r.converged


def test_exact_x0_takes_zero_iterations():
    p = us.problems.poisson2d(16)
    x_star = spla.spsolve(sp.csc_array(p.A), p.b)
    r = us.solve(p, method="cg", x0=x_star)
    assert r.status is Status.CONVERGED and r.iterations == 0
    assert r.residuals == [pytest.approx(true_residual(p, x_star), rel=1e-14)]
    np.testing.assert_array_equal(r.x, x_star)


def test_zero_rhs_returns_zero():
    p = LinearProblem(us.problems.poisson2d(4).A, np.zeros(16))
    r = us.solve(p, method="cg")
    assert r.converged and r.iterations == 0 and not r.x.any()


@pytest.mark.parametrize("form", ["dense", "LinearOperator"])
def test_dense_and_linear_operator_inputs_match_sparse(form):
    p = us.problems.poisson2d(16)
    A = p.A.toarray() if form == "dense" else spla.aslinearoperator(p.A)
    ref = us.solve(p, method="cg", rtol=1e-10)
    r = us.solve(LinearProblem(A, p.b), method="cg", rtol=1e-10)
    assert r.converged and abs(r.iterations - ref.iterations) <= 1
    assert np.linalg.norm(r.x - ref.x) <= 1e-8 * np.linalg.norm(ref.x)
    assert np.linalg.norm(p.b - p.A @ r.x) <= 1e-10 * np.linalg.norm(p.b)


def test_float32_system_converges():
    p = us.problems.poisson2d(12)
    p32 = LinearProblem(p.A.astype(np.float32), p.b.astype(np.float32))
    r = us.solve(p32, method="cg", rtol=1e-5)
    assert r.converged and r.x.dtype == np.float32
    assert np.linalg.norm(r.x - p.exact) <= 1e-3 * np.linalg.norm(p.exact)


@pytest.mark.parametrize("method", ["cg", "pcg"])
def test_true_residual_mode_records_true_residuals_with_the_same_iterates(method):
    p = us.problems.poisson2d(20)
    xs_rec, xs_true = [], []
    rec = us.solve(p, method=method, rtol=1e-9, callback=lambda s: xs_rec.append(s.x.copy()))
    tru = us.solve(p, method=method, rtol=1e-9, residual="true",
                   callback=lambda s: xs_true.append(s.x.copy()))
    assert rec.converged and tru.converged
    assert abs(rec.iterations - tru.iterations) <= 1
    for a, b in zip(xs_rec, xs_true, strict=False):  # lengths may differ by one
        assert np.linalg.norm(a - b) <= 1e-10 * max(np.linalg.norm(b), 1.0)
    assert len(xs_true) == len(tru.residuals)
    for x_k, recorded in zip(xs_true, tru.residuals, strict=True):
        assert recorded == pytest.approx(true_residual(p, x_k), rel=1e-12)
    assert tru.info["true_residual_indices"] == list(range(tru.iterations + 1))
    assert tru.info["residual_kind"].startswith("true")
    # recursive mode: true at x0 and at the end, recursive in between (close, not equal)
    assert rec.info["true_residual_indices"] == [0, rec.iterations]
    assert rec.info["residual_kind"].startswith("recursive")
    mid = rec.iterations // 2
    assert rec.residuals[mid] == pytest.approx(true_residual(p, xs_rec[mid]), rel=1e-6)


def test_residual_replacement_never_reports_a_false_convergence():
    # the true residual of a Poisson solve stalls near eps‖A‖‖x‖ ≈ 1e-14‖b‖ here, while
    # the recursive one keeps falling: below that floor only the true one may decide
    p = us.problems.poisson2d(30)
    r = us.solve(p, method="cg", rtol=1e-14, maxiter=600)
    assert r.converged and r.info["replacements"] >= 1
    assert true_residual(p, r.x) <= r.info["threshold"]
    r = us.solve(p, method="cg", rtol=1e-15, maxiter=600)
    assert r.status is Status.MAX_ITER
    assert r.info["replacements"] >= 1
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)
    assert r.residuals[-1] > r.info["threshold"]
    for k in r.info["true_residual_indices"][1:-1]:  # each replacement restarted from a
        assert r.residuals[k] > r.info["threshold"]  # true residual above the threshold


def test_bad_preconditioner_and_options_raise():
    p = us.problems.poisson2d(8)
    with pytest.raises(ValueError, match="'jacobi', 'ssor', 'sor', 'ic0', 'ilu0', 'ilut', 'amg'"):
        us.solve(p, method="pcg", preconditioner="ilu")
    with pytest.raises(TypeError, match="callable"):
        us.solve(p, method="pcg", preconditioner=42)
    with pytest.raises(ValueError, match=r"\(0, 2\)"):
        us.solve(p, method="ssor-pcg", omega=2.5)
    with pytest.raises(ValueError, match="recursive"):
        us.solve(p, method="cg", residual="exact")
    with pytest.raises(ValueError, match="LinearOperator"):
        us.solve(LinearProblem(spla.aslinearoperator(p.A), p.b), method="pcg",
                 preconditioner="ic0")


def test_unknown_option_lists_the_accepted_ones():
    p = us.problems.poisson2d(8)
    with pytest.raises(TypeError, match=r"'omga'.*accepted options are: .*omega.*preconditioner"):
        us.solve(p, method="pcg", omga=1.0)
    with pytest.raises(TypeError, match="residual"):
        us.solve(p, method="cg", preconditioner="jacobi")


def test_array_api_path_on_torch_tensors_matches_numpy():
    # the generic (non-numpy) vector path that CuPy uses, exercised on CPU tensors
    torch = pytest.importorskip("torch")
    p = us.problems.poisson2d(12)
    tp = LinearProblem(torch.tensor(p.A.toarray()), torch.tensor(p.b))
    ref = us.solve(p, method="cg", rtol=1e-10)
    for kw in ({}, {"residual": "true"}, {"method": "pcg", "preconditioner": "jacobi"}):
        r = us.solve(tp, **{"method": "cg", "rtol": 1e-10, **kw})
        assert isinstance(r.x, torch.Tensor) and r.converged
        assert abs(r.iterations - ref.iterations) <= 1
        assert np.linalg.norm(r.x.numpy() - ref.x) <= 1e-8 * np.linalg.norm(ref.x)
        assert r.residuals[-1] == pytest.approx(true_residual(p, r.x.numpy()), rel=1e-10)


@pytest.mark.gpu
def test_cg_on_cupy_matches_cpu(cupy):
    cp = cupy
    import cupyx.scipy.sparse as cpx_sparse

    p = us.problems.poisson2d(32)
    gp = LinearProblem(cpx_sparse.csr_matrix(sp.csr_matrix(p.A)), cp.asarray(p.b))
    cpu = us.solve(p, method="cg", rtol=1e-10)
    gpu = us.solve(gp, method="cg", rtol=1e-10)
    assert isinstance(gpu.x, cp.ndarray)
    assert gpu.converged and abs(gpu.iterations - cpu.iterations) <= 2
    x = cp.asnumpy(gpu.x)
    assert np.linalg.norm(x - cpu.x) <= 1e-8 * np.linalg.norm(cpu.x)
    assert gpu.residuals[-1] == pytest.approx(true_residual(p, x), rel=1e-6)
    jac = us.solve(gp, method="pcg", preconditioner="jacobi", rtol=1e-10)
    assert jac.converged and abs(jac.iterations - cpu.iterations) <= 2


# --- ssor-pcg: Eisenstat's fused kernels against PCG with the SSOR sweeps ---------------


def _random_spd_unsorted(n=150, seed=0):
    """Sparse SPD, nonuniform diagonal, every row's column order shuffled."""
    rng = np.random.default_rng(seed)
    B = sp.random_array((n, n), density=0.04, rng=rng, format="csr")
    S = sp.csr_array(B + B.T)
    A = sp.csr_array(S + sp.diags_array(abs(S).sum(axis=1) + 0.05 + 4 * rng.random(n)))
    for i in range(n):
        lo, hi = A.indptr[i], A.indptr[i + 1]
        perm = rng.permutation(hi - lo)
        A.indices[lo:hi], A.data[lo:hi] = A.indices[lo:hi][perm], A.data[lo:hi][perm]
    A.has_sorted_indices = False
    return LinearProblem(A, rng.standard_normal(n))


SSOR_PROBLEMS = {  # name -> (problem, kernel the fused path must pick)
    "poisson2d": (lambda: us.problems.poisson2d(20), "eisenstat-stencil"),
    "varcoef": (lambda: us.problems.poisson2d(20, coeff=lambda x, y: 1 + x + 2 * y * y),
                "eisenstat-csr"),
    "heat": (lambda: us.problems.heat_sequence(nx=24, steps=3, seed=1).instance(2),
             "eisenstat-stencil"),
    "poisson3d": (lambda: us.problems.poisson3d(7), "eisenstat-stencil"),
    "random": (_random_spd_unsorted, "eisenstat-csr"),
}


def _iterates(p, **options):
    xs = []
    r = us.solve(p, callback=lambda s: xs.append(s.x.copy()), **options)
    return r, xs


@pytest.mark.parametrize("name", sorted(SSOR_PROBLEMS))
@pytest.mark.parametrize("omega", [1.0, 1.5, 1.9])
def test_fused_ssor_pcg_has_the_iterates_of_pcg_with_ssor_sweeps(name, omega):
    make, kernel = SSOR_PROBLEMS[name]
    p = make()
    x0 = np.random.default_rng(7).standard_normal(p.n)
    fused, xs = _iterates(p, method="ssor-pcg", omega=omega, x0=x0, rtol=1e-8)
    sweeps, xs_ref = _iterates(p, method="pcg", preconditioner="ssor", omega=omega, x0=x0,
                               rtol=1e-8)
    assert fused.info["kernel"] == kernel and "kernel" not in sweeps.info
    assert fused.status is sweeps.status is Status.CONVERGED
    assert fused.iterations == sweeps.iterations
    for a, b in list(zip(xs, xs_ref, strict=True))[:30]:
        assert np.linalg.norm(a - b) <= 1e-10 * np.linalg.norm(b)
    np.testing.assert_allclose(fused.residuals[:10], sweeps.residuals[:10], rtol=1e-9,
                               atol=1e-13 * sweeps.residuals[0])
    assert fused.residuals[-1] == pytest.approx(true_residual(p, fused.x), rel=1e-12)
    assert fused.info["true_residual_indices"] == sweeps.info["true_residual_indices"]
    for key in ("preconditioner", "omega", "threshold", "maxiter", "replacements"):
        assert fused.info[key] == sweeps.info[key], key
    # the compiled whole solve (no callback) gives the very same result
    whole = us.solve(p, method="ssor-pcg", omega=omega, x0=x0, rtol=1e-8)
    np.testing.assert_array_equal(whole.x, fused.x)
    assert whole.residuals == fused.residuals
    assert {**whole.info, "setup_time": 0} == {**fused.info, "setup_time": 0}


@pytest.mark.parametrize("name", ["poisson2d", "poisson3d"])
def test_matrix_free_and_csr_kernels_give_the_same_iterates(name):
    p = SSOR_PROBLEMS[name][0]()
    bare = LinearProblem(p.A, p.b)  # no stencil: the CSR kernels
    grid, xs = _iterates(p, method="ssor-pcg", omega=1.7, rtol=1e-9)
    csr, xs_csr = _iterates(bare, method="ssor-pcg", omega=1.7, rtol=1e-9)
    assert (grid.info["kernel"], csr.info["kernel"]) == ("eisenstat-stencil", "eisenstat-csr")
    assert grid.iterations == csr.iterations
    for a, b in zip(xs, xs_csr, strict=True):
        assert np.linalg.norm(a - b) <= 1e-10 * np.linalg.norm(b)


def test_a_stencil_that_does_not_describe_a_is_not_used():
    p = us.problems.poisson2d(12)
    lying = LinearProblem(2.0 * p.A, p.b, stencil=p.stencil)
    r = us.solve(lying, method="ssor-pcg", omega=1.5, rtol=1e-10)
    assert r.info["kernel"] == "eisenstat-csr" and r.converged
    assert true_residual(lying, r.x) <= r.info["threshold"]


@pytest.mark.parametrize("bare", [False, True])
def test_fused_ssor_pcg_replacement_true_mode_and_chunks(bare, monkeypatch):
    p = us.problems.poisson2d(30)
    if bare:
        p = LinearProblem(p.A, p.b)
    opts = {"method": "ssor-pcg", "omega": 1.5, "maxiter": 120}
    # rtol 1e-14 is near the attainable accuracy: the recursive residual passes first
    ref = us.solve(p, rtol=1e-14, **opts)
    old = us.solve(p, method="pcg", preconditioner="ssor", omega=1.5, maxiter=120, rtol=1e-14)
    assert ref.converged and ref.info["replacements"] >= 1
    assert (ref.iterations, ref.info["replacements"]) == (old.iterations,
                                                          old.info["replacements"])
    assert true_residual(p, ref.x) <= ref.info["threshold"]
    monkeypatch.setattr(us.solvers.krylov, "_FUSED_CHUNK", 7)  # the compiled solve pauses
    chunked = us.solve(p, rtol=1e-14, **opts)
    np.testing.assert_array_equal(chunked.x, ref.x)
    assert chunked.residuals == ref.residuals
    assert chunked.info["true_residual_indices"] == ref.info["true_residual_indices"]
    assert chunked.info["replacements"] == ref.info["replacements"]
    tru, xs_true = _iterates(p, rtol=1e-8, residual="true", **opts)
    rec, xs_rec = _iterates(p, rtol=1e-8, **opts)
    assert tru.iterations == rec.iterations
    for a, b, recorded in zip(xs_true, xs_rec, tru.residuals, strict=True):
        assert np.linalg.norm(a - b) <= 1e-12 * max(np.linalg.norm(b), 1.0)
        assert recorded == pytest.approx(true_residual(p, a), rel=1e-12)
    assert tru.info["true_residual_indices"] == list(range(tru.iterations + 1))


@pytest.mark.parametrize("maxiter", [0, 1, 6])
def test_fused_ssor_pcg_max_iter(maxiter):
    p = us.problems.poisson2d(16)
    r = us.solve(p, method="ssor-pcg", omega=1.5, maxiter=maxiter)
    old = us.solve(p, method="pcg", preconditioner="ssor", omega=1.5, maxiter=maxiter)
    assert r.status is old.status is Status.MAX_ITER
    assert r.iterations == maxiter and len(r.residuals) == maxiter + 1
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)
    assert r.info["true_residual_indices"] == old.info["true_residual_indices"]
    assert r.residuals == pytest.approx(old.residuals, rel=1e-9)


@pytest.mark.parametrize("callback", [None, lambda s: None])
def test_fused_ssor_pcg_breakdowns_are_those_of_pcg(callback):
    A = sp.csr_array(np.array([[2.0, 3.0, 0.0], [3.0, 2.0, 1.0], [0.0, 1.0, 2.0]]))  # indefinite
    b = np.array([1.0, -1.0, 0.5])
    negative = sp.csr_array(-us.problems.poisson2d(4).A)  # M_SSOR negative definite
    for p, word in ((LinearProblem(A, b), "pᵀAp"),
                    (LinearProblem(negative, np.ones(16)), "rᵀM⁻¹r")):
        r = us.solve(p, method="ssor-pcg", omega=1.2, callback=callback)
        old = us.solve(p, method="pcg", preconditioner="ssor", omega=1.2, callback=callback)
        assert r.status is old.status is Status.BREAKDOWN
        assert r.info["breakdown"].startswith(word) and old.info["breakdown"].startswith(word)
        value = [float(m.info["breakdown"].split(" = ")[1].split(" ")[0]) for m in (r, old)]
        assert value[0] == pytest.approx(value[1], rel=1e-5)  # both print 6 digits
        if "pAp" in old.info:
            assert r.info["pAp"] == pytest.approx(old.info["pAp"], rel=1e-9)
        assert r.iterations == old.iterations
        assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)


def test_fused_ssor_pcg_falls_back_where_it_cannot_run():
    p = us.problems.poisson2d(10)
    cases = {
        "float32": LinearProblem(p.A.astype(np.float32), p.b.astype(np.float32)),
        "dense": LinearProblem(p.A.toarray(), p.b),
        "null space": us.problems.pressure_poisson(12, seed=0),
    }
    for name, q in cases.items():
        r = us.solve(q, method="ssor-pcg", omega=1.4, rtol=1e-5)  # float32 reaches it
        assert r.info["kernel"] == "sweeps", name
        assert r.converged, name
    assert cases["null space"].meta["null_space"] is not None
    with pytest.raises(ValueError, match="diagonal"):
        us.solve(LinearProblem(sp.csr_array(np.array([[0.0, 1.0], [1.0, 2.0]])), np.ones(2)),
                 method="ssor-pcg")

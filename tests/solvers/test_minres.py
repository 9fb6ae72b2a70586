"""MINRES: agreement with spsolve and scipy's iterates, the residual it monitors, statuses."""

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


def indefinite(n=20, shift=0.3, seed=0):
    """5-point Laplacian on n² shifted by ``shift``: symmetric indefinite, none near 0."""
    P = us.problems.poisson2d(n)
    A = sp.csr_array(P.A - shift * sp.identity(P.n))
    return LinearProblem(A, np.random.default_rng(seed).standard_normal(P.n))


def ill_conditioned():
    """Symmetric indefinite, rows and columns scaled over two decades (cond 3.6e5)."""
    p = indefinite(12, 0.3)
    D = sp.diags(np.logspace(-1.0, 1.0, p.n))
    return LinearProblem(sp.csr_array(D @ p.A @ D), p.b)


def neumann_laplacian(n=20):
    """Pure-Neumann 5-point Laplacian (singular: constants span its null space)."""
    L1 = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1]).tolil()
    L1[0, 0] = L1[n - 1, n - 1] = 1.0
    eye = sp.identity(n)
    return sp.csr_array(sp.kron(L1, eye) + sp.kron(eye, L1))


CASES = {"indefinite": indefinite, "spd": lambda: us.problems.poisson2d(20),
         "ill-conditioned": ill_conditioned}


@pytest.mark.parametrize("preconditioner", [None, "absdiag"])
@pytest.mark.parametrize("case", list(CASES))
def test_minres_matches_spsolve(case, preconditioner):
    p = CASES[case]()
    x_ref = spla.spsolve(sp.csc_matrix(p.A), p.b)
    d = np.abs(p.A.diagonal())
    pc = (lambda r: r / d) if preconditioner == "absdiag" else None
    r = us.solve(p, method="minres", rtol=1e-10, preconditioner=pc, maxiter=20 * p.n)
    assert r.status is Status.CONVERGED, r.info.get("reason")
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)
    assert r.residuals[-1] <= 1e-10 * np.linalg.norm(p.b)
    cond = 1e6 if case == "ill-conditioned" else 1e3
    assert np.linalg.norm(r.x - x_ref) <= 1e-10 * cond * np.linalg.norm(x_ref)
    assert len(r.residuals) == r.iterations + 1
    assert r.info["kernel"] == "numba" and not r.info["least_squares"]


@pytest.mark.parametrize("preconditioner", ["jacobi", "ssor", "amg", "ic0"])
def test_spd_preconditioners(preconditioner):
    p = us.problems.poisson2d(24)
    plain = us.solve(p, method="minres", rtol=1e-8)
    r = us.solve(p, method="minres", rtol=1e-8, preconditioner=preconditioner, omega=1.5)
    assert r.converged and r.info["preconditioner"] == preconditioner
    assert ("omega" in r.info) == (preconditioner == "ssor")
    assert true_residual(p, r.x) <= r.info["threshold"]
    if preconditioner != "jacobi":  # Jacobi on a constant diagonal only rescales
        assert r.iterations < plain.iterations


def test_iterates_equal_scipys():
    """Same x_k as scipy.sparse.linalg.minres, iteration by iteration (same x0, no M)."""
    p = indefinite(10, 0.5, seed=2)
    x0 = np.random.default_rng(5).standard_normal(p.n)
    ours, theirs = [], []
    r = us.solve(p, method="minres", x0=x0, rtol=1e-10, callback=lambda s: ours.append(s.x.copy()))
    spla.minres(p.A, p.b, x0=x0, rtol=1e-14, maxiter=r.iterations,
                callback=lambda xk: theirs.append(xk.copy()))
    assert r.converged and r.iterations >= 20
    np.testing.assert_array_equal(ours[0], x0)
    k = min(len(theirs), r.iterations)
    assert k >= r.iterations - 1
    for mine, scipys in zip(ours[1: k + 1], theirs[:k], strict=True):
        assert np.linalg.norm(mine - scipys) <= 1e-8 * np.linalg.norm(scipys)


def test_recursive_norm_is_the_unpreconditioned_residual():
    """With M ≠ I the monitored norm is ‖b − A x_k‖ (recursion (11)), not ‖r‖_{M⁻¹}."""
    p = indefinite(16, 0.3)
    d = np.abs(p.A.diagonal()) * np.linspace(0.2, 5.0, p.n)  # M far from I

    def pc(r):
        return r / d

    seen = []
    r = us.solve(p, method="minres", rtol=1e-9, preconditioner=pc,
                 callback=lambda s: seen.append((s.x.copy(), s.residual)))
    assert r.converged
    for x, recorded in seen[:: max(1, len(seen) // 15)]:
        true = true_residual(p, x)
        assert recorded == pytest.approx(true, rel=1e-6, abs=1e-12 * np.linalg.norm(p.b))
        mnorm = float(np.sqrt((p.b - p.A @ x) @ pc(p.b - p.A @ x)))
        if true > 1e-6:
            assert abs(mnorm - true) > 1e-3 * true  # the M⁻¹-norm is a different number
    for k in r.info["true_residual_indices"]:
        assert r.residuals[k] == pytest.approx(true_residual(p, seen[k][0]), rel=1e-12)


def test_invariant_krylov_space_converges_exactly():
    """Three distinct eigenvalues: β_4 = 0 after three steps, x exact, no NaN."""
    A = sp.csr_array(np.diag([1.0, 1.0, 2.0, 2.0, -3.0, -3.0]))
    r = us.solve(LinearProblem(A, np.ones(6)), method="minres", rtol=1e-12)
    assert r.converged and r.iterations == 3
    np.testing.assert_allclose(r.x, [1, 1, 0.5, 0.5, -1 / 3, -1 / 3], rtol=1e-14)


def test_callback_sees_x0_and_can_stop():
    p = indefinite(12)
    x0 = np.full(p.n, 0.25)
    seen = []

    def cb(state):
        seen.append((state.iteration, state.x.copy()))
        if state.iteration == 4:
            raise StopIteration

    r = us.solve(p, method="minres", x0=x0, callback=cb)
    assert r.status is Status.STOPPED and r.iterations == 4
    assert seen[0][0] == 0 and np.array_equal(seen[0][1], x0)
    assert r.residuals[-1] == pytest.approx(true_residual(p, r.x), rel=1e-12)


def test_maxiter_gives_max_iter():
    p = indefinite(20)
    r = us.solve(p, method="minres", maxiter=7)
    assert r.status is Status.MAX_ITER and r.iterations == 7 and len(r.residuals) == 8


def test_refuses_a_nonsymmetric_matrix():
    p = us.problems.convection_diffusion_system(8, peclet=10.0)
    with pytest.raises(ValueError, match=r"gmres.*bicgstab"):
        us.solve(p, method="minres")
    r = us.solve(p, method="minres", assume_symmetric=True, maxiter=5)  # check skipped
    assert r.iterations == 5


@pytest.mark.parametrize("name", ["ilu0", "sor", "ilut"])
def test_refuses_a_preconditioner_that_is_not_spd(name):
    with pytest.raises(ValueError, match="symmetric positive definite"):
        us.solve(indefinite(8), method="minres", preconditioner=name)


def test_refuses_jacobi_on_a_negative_diagonal():
    p = indefinite(8, shift=5.0)  # diagonal 4 − 5 < 0
    with pytest.raises(ValueError, match="positive definite"):
        us.solve(p, method="minres", preconditioner="jacobi")


def test_indefinite_preconditioner_is_a_breakdown():
    p = indefinite(10)
    r = us.solve(p, method="minres", preconditioner=lambda r: -r)
    assert r.status is Status.BREAKDOWN and "positive definite" in r.info["reason"]


def test_singular_inconsistent_system_gives_a_least_squares_solution():
    L = neumann_laplacian(20)
    b = np.random.default_rng(1).standard_normal(L.shape[0])
    r = us.solve(LinearProblem(L, b), method="minres", rtol=1e-10)
    assert r.status is Status.BREAKDOWN and r.info["least_squares"]
    assert "least-squares" in r.info["reason"]
    ls_residual = abs(b.mean()) * np.sqrt(b.size)  # ‖b − A x_LS‖ = ‖mean(b) 1‖
    assert r.residuals[-1] == pytest.approx(ls_residual, rel=1e-6)
    assert r.residuals[-1] == pytest.approx(np.linalg.norm(b - L @ r.x), rel=1e-12)
    consistent = us.solve(LinearProblem(L, b - b.mean()), method="minres", rtol=1e-10)
    assert consistent.converged and not consistent.info["least_squares"]


def test_stagnation_below_attainable_accuracy():
    p = us.problems.poisson2d(16)
    r = us.solve(p, method="minres", rtol=1e-19)
    assert r.status is Status.BREAKDOWN and r.info["reason"].startswith("stagnation")
    assert r.info["restarts"] >= 3
    assert r.residuals[-1] <= 1e-12 * np.linalg.norm(p.b)


def test_nan_from_the_preconditioner_is_nonfinite():
    p = indefinite(8)
    calls = [0]

    def bad(r):
        calls[0] += 1
        return r * np.nan if calls[0] > 3 else r / 4.0

    r = us.solve(p, method="minres", preconditioner=bad)
    assert r.status is Status.NONFINITE and "NaN" in r.info["reason"]
    assert np.isfinite(r.x).all()


def test_default_method_for_symmetric_indefinite():
    r = us.solve(indefinite(20, shift=4.2), rtol=1e-10)  # diagonal −0.2: not CG's
    assert r.method == "minres" and r.converged
    assert "MINRES" in r.info["chosen_because"]


def test_float32_torch_and_linear_operator():
    p = indefinite(12)
    ref = us.solve(p, method="minres", rtol=1e-12).x
    p32 = LinearProblem(sp.csr_array(p.A, dtype=np.float32), p.b.astype(np.float32))
    r32 = us.solve(p32, method="minres", rtol=1e-5)
    assert r32.converged and r32.info["kernel"] == "array-api" and r32.x.dtype == np.float32
    assert np.linalg.norm(r32.x - ref) <= 1e-3 * np.linalg.norm(ref)
    op = LinearProblem(spla.aslinearoperator(p.A), p.b)
    ro = us.solve(op, method="minres", rtol=1e-10)
    assert ro.converged and ro.info["kernel"] == "numba-vectors"
    torch = pytest.importorskip("torch")
    pt = LinearProblem(torch.tensor(p.A.toarray()), torch.tensor(p.b))
    rt = us.solve(pt, method="minres", rtol=1e-10)
    assert rt.converged and isinstance(rt.x, torch.Tensor) and rt.info["kernel"] == "array-api"
    assert np.linalg.norm(rt.x.numpy() - ref) <= 1e-8 * np.linalg.norm(ref)


def test_listed_with_the_matrix_it_needs():
    info = {m.name: m for m in us.methods("linear")}
    assert info["minres"].matrix == "symmetric"


@pytest.mark.gpu
def test_cupy(cupy):
    import cupyx.scipy.sparse as csp

    p = indefinite(20)
    ref = us.solve(p, method="minres", rtol=1e-10).x
    pg = LinearProblem(csp.csr_matrix(sp.csr_matrix(p.A)), cupy.asarray(p.b))
    r = us.solve(pg, method="minres", rtol=1e-10)
    assert r.converged and isinstance(r.x, cupy.ndarray) and r.info["kernel"] == "array-api"
    assert np.linalg.norm(r.x.get() - ref) <= 1e-7 * np.linalg.norm(ref)


@pytest.mark.parametrize("rtol", [1e-2, 1e-3])
def test_loose_rtol_is_not_mistaken_for_a_least_squares_solution(rtol):
    """Paige–Saunders' ‖A r‖ ≤ rtol ‖A‖ ‖r‖ fires here (‖b − A x‖ ≈ 0.05 ‖b‖); ours does not."""
    p = indefinite(32, shift=0.05)
    r = us.solve(p, method="minres", rtol=rtol)
    assert r.converged and not r.info["least_squares"]
    assert true_residual(p, r.x) <= rtol * np.linalg.norm(p.b)

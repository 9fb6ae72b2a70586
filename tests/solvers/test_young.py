"""Young's ω*: Jacobi spectral radius by closed form, Lanczos, Arnoldi."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
from unisolve.problems import LinearProblem, poisson2d, poisson3d
from unisolve.problems.linear import Stencil
from unisolve.solvers.relaxation import optimal_omega_poisson
from unisolve.solvers.young import (
    jacobi_radius_estimate,
    jacobi_spectral_radius,
    optimal_omega,
    young_omega,
)


def dense_radius(A):
    """``max |λ(I − D⁻¹A)|`` by a dense eigensolve (the reference code's way)."""
    A = A.toarray() if sp.issparse(A) else np.asarray(A)
    J = np.eye(A.shape[0]) - A / np.diag(A)[:, None]
    return float(np.max(np.abs(np.linalg.eigvals(J))))


def shifted_laplacian(c, side=10):
    """The shifted-Laplacian instance ``L + c I`` of the Learning-to-Relax sequence."""
    stencil = Stencil(shape=(side, side), diagonal=4.0 + c, offdiagonal=-1.0)
    b = np.random.default_rng(0).standard_normal(side * side)
    return LinearProblem(stencil.to_csr(), b, stencil=stencil, context=c)


STENCIL_PROBLEMS = {
    "shift -0.15": lambda: shifted_laplacian(-0.15),
    "shift 0": lambda: shifted_laplacian(0.0),
    "shift 0.45": lambda: shifted_laplacian(0.45),
    "sequence instance": lambda: us.problems.shifted_laplacian_sequence(T=3, seed=0).instance(2),
    "heat nx=12": lambda: us.problems.heat_sequence(nx=12, steps=3, seed=0).instance(1),
    "poisson2d(15)": lambda: poisson2d(15),
    "poisson3d(5)": lambda: poisson3d(5),
    "rectangle 6x9": lambda: LinearProblem(
        Stencil(shape=(6, 9), diagonal=5.0, offdiagonal=-1.0).to_csr(), np.ones(54),
        stencil=Stencil(shape=(6, 9), diagonal=5.0, offdiagonal=-1.0)),
}


@pytest.mark.parametrize("name", list(STENCIL_PROBLEMS))
def test_closed_form_and_lanczos_match_a_dense_eigensolve(name):
    p = STENCIL_PROBLEMS[name]()
    assert p.stencil is not None
    dense = dense_radius(p.A)
    closed = jacobi_spectral_radius(p.A, stencil=p.stencil)
    lanczos = jacobi_spectral_radius(p.A)
    assert closed == pytest.approx(dense, rel=1e-12, abs=1e-14)
    assert lanczos == pytest.approx(dense, rel=1e-9, abs=1e-12)
    # the dense radius of a matrix without its stencil goes the Lanczos way too
    assert jacobi_spectral_radius(p.A.toarray()) == pytest.approx(dense, rel=1e-9, abs=1e-12)


def test_closed_form_uses_only_the_stencil():
    """With a stencil A is not touched (not even its diagonal)."""
    p = poisson2d(9)
    assert jacobi_spectral_radius(None, stencil=p.stencil) == pytest.approx(
        math.cos(math.pi / 10), rel=1e-14)


@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_lanczos_on_random_spd_with_nonconstant_diagonal(fmt):
    rng = np.random.default_rng(0)
    n = 60
    M = rng.standard_normal((n, n))
    A = M @ M.T + n * np.diag(rng.uniform(0.5, 3.0, n))  # SPD, diagonal varies 4x
    assert np.ptp(np.diag(A)) > 50
    A = sp.csr_array(A) if fmt == "csr" else A
    assert jacobi_spectral_radius(A) == pytest.approx(dense_radius(A), rel=1e-9)


def test_lanczos_on_sparse_spd_with_radius_below_one():
    rng = np.random.default_rng(1)
    n = 200
    B = sp.random(n, n, density=0.03, random_state=rng, format="csr")
    B = B + B.T
    d = np.asarray(abs(B).sum(axis=1)).ravel() * rng.uniform(1.1, 3.0, n) + 0.1
    A = sp.csr_array(B + sp.diags(d))  # symmetric, strictly diagonally dominant
    beta = jacobi_spectral_radius(A)
    assert 0.0 < beta < 1.0
    assert beta == pytest.approx(dense_radius(A), rel=1e-9)


@pytest.mark.parametrize("seed", [0, 1])
def test_arnoldi_on_a_nonsymmetric_diagonally_dominant_matrix(seed):
    rng = np.random.default_rng(seed)
    n = 60
    B = rng.uniform(-1.0, 1.0, (n, n))
    B += np.diag(rng.uniform(0.0, 1.0, n))  # nonsymmetric, positive off-diagonal bias
    np.fill_diagonal(B, 0.0)
    B += np.diag(np.abs(B).sum(axis=1) * rng.uniform(1.2, 2.0, n))
    dense = dense_radius(B)
    assert 0.0 < dense < 1.0
    for A in (B, sp.csr_array(B)):
        assert jacobi_spectral_radius(A) == pytest.approx(dense, rel=1e-2)


def convection_diffusion(n):
    """Upwinded 1D convection–diffusion: nonsymmetric, non-normal Jacobi matrix, real spectrum."""
    main, lower, upper = 2.0, -1.3, -0.7
    A = sp.diags_array([lower * np.ones(n - 1), main * np.ones(n), upper * np.ones(n - 1)],
                       offsets=[-1, 0, 1], format="csr")
    return A, 2.0 * math.sqrt(lower * upper) / main * math.cos(math.pi / (n + 1))


@pytest.mark.parametrize(("n", "rel"), [(30, 1e-10), (100, 1e-4), (400, 1e-3)])
def test_arnoldi_on_a_non_normal_jacobi_matrix(n, rel):
    """Nonsymmetric path. Power iteration failed here: the norm growth of a non-normal J^k
    is transient for hundreds of steps (it gave 0.9906 for β = 0.9535 at n = 100). The
    eigenvalues of this J are ill-conditioned (eigenvector condition ~ (1.3/0.7)^(n/2)), so
    floating point cannot resolve β beyond ~1e-5 at n ≥ 100; the ω* it gives is then off
    by ~1e-4, far below the grid spacing of 0.05. At n = 400 the result depends on the
    CPU's floating-point kernels: β off by < 1e-4 on an Intel Xeon, by 4.5e-4 on an AMD
    EPYC (ω* by 1.1e-3), both measured with the same wheels."""
    A, exact = convection_diffusion(n)
    assert jacobi_spectral_radius(A) == pytest.approx(exact, rel=rel)
    assert optimal_omega(A) == pytest.approx(young_omega(exact), rel=10 * rel)


def test_zero_diagonal_is_refused():
    A = sp.csr_array(np.array([[0.0, 1.0], [1.0, 2.0]]))
    with pytest.raises(ValueError, match="zero on the diagonal"):
        jacobi_spectral_radius(A)


@pytest.mark.parametrize("n", [3, 8, 16, 31])
def test_optimal_omega_of_poisson_is_youngs_formula(n):
    assert optimal_omega(poisson2d(n)) == pytest.approx(optimal_omega_poisson(n), rel=1e-13)
    # the matrix alone (no stencil) gives the same through Lanczos
    assert optimal_omega(poisson2d(n).A) == pytest.approx(optimal_omega_poisson(n), rel=1e-8)


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9, 0.999])
def test_young_omega_formula(beta):
    w = young_omega(beta)
    assert w == pytest.approx(2.0 / (1.0 + math.sqrt(1.0 - beta**2)), rel=1e-14)
    assert 1.0 <= w < 2.0


@pytest.mark.parametrize("beta", [1.0, 1.5, -0.1, float("nan"), float("inf")])
def test_young_omega_needs_a_convergent_jacobi(beta):
    with pytest.raises(ValueError, match=r"Jacobi spectral radius in \[0, 1\)"):
        young_omega(beta)


def test_optimal_omega_refuses_a_matrix_whose_jacobi_diverges():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((60, 60))
    A = M @ M.T + 60 * np.diag(rng.uniform(0.5, 3.0, 60))  # SPD, yet Jacobi diverges
    assert jacobi_spectral_radius(A) > 1
    with pytest.raises(ValueError, match="omega='auto'"):
        optimal_omega(A)


def test_youngs_omega_is_near_the_best_weight_in_practice():
    """On a sequence instance SOR at ω* is within 10% of the best ω of a fine grid.

    Measured: 43 iterations at ω* = 1.608, 42 at the best of 99 weights, 272 at ω = 1.
    """
    p = us.problems.shifted_laplacian_sequence(T=1, seed=0).instance(0)
    w_star = optimal_omega(p)
    its_star = us.solve(p, method="sor", omega=w_star).iterations
    omegas = np.linspace(1.0, 1.98, 99)
    its = [us.solve(p, method="sor", omega=w).iterations for w in omegas]
    assert its_star <= 1.1 * min(its)
    assert its[0] > 1.1 * min(its) * 5  # Gauss–Seidel (ω = 1) would fail this by far
    # the grid's best weight is near ω*
    assert abs(omegas[int(np.argmin(its))] - w_star) < 0.05


@pytest.mark.parametrize("c", [-0.15, 0.0, 0.45])
def test_sor_at_omega_star_converges_at_youngs_rate(c):
    """ρ(SOR_ω*) = ω* − 1: the asymptotic residual reduction per sweep approaches it."""
    p = shifted_laplacian(c)
    w = optimal_omega(p)
    r = us.solve(p, method="sor", omega=w, rtol=1e-12)
    res = np.asarray(r.residuals)
    measured = (res[-1] / res[-21]) ** (1 / 20)
    # the Jordan block at ω* slows the approach: the rate is a little above ω* − 1
    assert w - 1 <= measured <= (w - 1) * 1.15 + 0.01


# ------------------------------------------------- the cheap estimate (priming)


@pytest.mark.parametrize("name", list(STENCIL_PROBLEMS))
def test_radius_estimate_closed_form_and_forty_lanczos_steps(name):
    p = STENCIL_PROBLEMS[name]()
    dense = dense_radius(p.A)
    assert jacobi_radius_estimate(p) == pytest.approx(dense, rel=1e-12)  # the stencil
    # 40 steps without reorthogonalisation on these small systems (n ≤ 361): converged
    assert jacobi_radius_estimate(p.A) == pytest.approx(dense, rel=1e-6)


def test_radius_estimate_is_low_when_not_converged():
    """Ritz values lie inside the spectrum: a short run underestimates β, never over."""
    p = poisson2d(64)
    exact = jacobi_spectral_radius(None, stencil=p.stencil)
    for steps in (5, 15, 40):
        est = jacobi_radius_estimate(p.A, steps=steps)
        assert est <= exact + 1e-12
    assert jacobi_radius_estimate(p.A, steps=5) < jacobi_radius_estimate(p.A, steps=40)


def test_radius_estimate_on_a_variable_diagonal():
    rng = np.random.default_rng(3)
    B = sp.random(80, 80, density=0.05, random_state=rng)
    A = (B + B.T).tocsr()
    A = A + sp.diags(np.asarray(abs(A).sum(axis=1)).ravel() + rng.uniform(0.1, 2.0, 80))
    assert jacobi_radius_estimate(A) == pytest.approx(dense_radius(A), rel=1e-6)


def test_radius_estimate_has_no_answer_where_young_does_not_apply():
    nonsym = sp.csr_array(np.array([[4.0, -1.0, 0.0], [-2.0, 4.0, -1.0], [0.0, -1.0, 4.0]]))
    assert jacobi_radius_estimate(nonsym) is None
    p = poisson2d(5)
    assert jacobi_radius_estimate(-p.A) is None  # negative diagonal
    # Jacobi diverges (β = 2 cos(π/4)·(1/1.2) ≥ 1): no estimate either
    indefinite = Stencil(shape=(3, 3), diagonal=1.2, offdiagonal=-1.0).to_csr()
    assert dense_radius(indefinite) >= 1.0
    assert jacobi_radius_estimate(indefinite) is None
    stencil = Stencil(shape=(3, 3), diagonal=1.2, offdiagonal=-1.0)
    assert jacobi_radius_estimate(LinearProblem(indefinite, np.ones(9), stencil=stencil)) is None

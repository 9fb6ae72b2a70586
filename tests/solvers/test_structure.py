"""Exact symmetry checks, the structure-based default method, CG refusing A != Aᵀ."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import unisolve as us
from unisolve.problems import LinearProblem
from unisolve.solvers.structure import (
    Structure,
    choose_method,
    csr_is_symmetric,
    is_symmetric,
    matrix_structure,
)


def _random_symmetric(n, density, seed):
    rng = np.random.default_rng(seed)
    B = sp.random(n, n, density=density, random_state=rng, format="csr")
    return sp.csr_array(B + B.T + sp.identity(n))


@pytest.mark.parametrize("seed", range(5))
def test_csr_check_agrees_with_dense_reference(seed):
    A = _random_symmetric(60, 0.1, seed)
    assert csr_is_symmetric(A) is True
    assert np.array_equal(A.toarray(), A.toarray().T)
    rng = np.random.default_rng(seed)
    B = A.tolil()
    i, j = rng.integers(0, 60, size=2)
    while i == j:
        i, j = rng.integers(0, 60, size=2)
    B[i, j] = B[i, j] + 1e-14 * (1 + abs(B[i, j]))  # one entry off by rounding
    B = sp.csr_array(B)
    assert csr_is_symmetric(B) is np.array_equal(B.toarray(), B.toarray().T) is False


def test_missing_partner_counts_as_zero_and_explicit_zeros_are_fine():
    # A[0, 1] = 0 stored explicitly, A[1, 0] absent: still symmetric
    A = sp.csr_array((np.array([2.0, 0.0, 2.0]), np.array([0, 1, 1]), np.array([0, 2, 3])),
                     shape=(2, 2))
    assert csr_is_symmetric(A)
    # a stored nonzero without its partner is not
    A = sp.csr_array((np.array([2.0, 1.0, 2.0]), np.array([0, 1, 1]), np.array([0, 2, 3])),
                     shape=(2, 2))
    assert not csr_is_symmetric(A)


def test_unsorted_indices_and_duplicates_are_canonicalised():
    # row 0 has (0,1) twice: 0.5 + 0.5 = 1 = A[1, 0]; columns out of order
    A = sp.csr_array((np.array([0.5, 3.0, 0.5, 1.0, 3.0]), np.array([1, 0, 1, 0, 1]),
                      np.array([0, 3, 5])), shape=(2, 2))
    assert csr_is_symmetric(A)
    assert np.array_equal(A.toarray(), [[3.0, 1.0], [1.0, 3.0]])


def test_is_symmetric_on_dense_and_operator():
    A = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert is_symmetric(A) is True
    assert is_symmetric(A + np.triu(A, 1)) is False
    assert is_symmetric(spla.aslinearoperator(A)) is None


def test_structure_is_cached_per_problem_and_trusts_spd():
    p = LinearProblem(sp.csr_array(_random_symmetric(30, 0.2, 0)), np.ones(30))
    s = matrix_structure(p)
    assert s.symmetric and p._structure[1] is s
    assert matrix_structure(p) is s
    q = LinearProblem(np.array([[2.0, 1.0], [0.0, 2.0]]), np.ones(2), spd=True)
    assert matrix_structure(q).symmetric is True  # trusted, not checked


@pytest.mark.parametrize(
    "structure, method, options",
    [
        (Structure(True, True, True), "cg", {}),
        (Structure(True, False, True), "minres", {}),
        (Structure(True, False, False), "minres", {}),
        (Structure(False, True, True), "gmres", {"preconditioner": "ilu0"}),
        (Structure(False, False, True), "gmres", {"preconditioner": "ilu0"}),
        (Structure(False, False, False), "gmres", {"preconditioner": "ilut"}),
        (Structure(None, None), "gmres", {}),
    ],
)
def test_chooser_table(structure, method, options):
    name, opts, reason = choose_method(structure)
    assert (name, opts) == (method, options)
    assert reason


def test_default_on_spd_problem_is_cg_and_says_why():
    r = us.solve(us.problems.poisson2d(8), rtol=1e-10)
    assert r.method == "cg" and r.converged
    assert r.info["chosen_because"] == "A is symmetric with a positive diagonal: CG"


def _convection(n=20, w=20.0):
    """Upwind −Δu + w ∂u/∂x on an n x n grid (h² scaled): nonsymmetric M-matrix."""
    h = 1.0 / (n + 1)
    T = sp.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1])
    D = sp.diags([-np.ones(n - 1), np.ones(n)], [-1, 0])  # backward difference (w > 0)
    I = sp.identity(n)
    return sp.csr_array(sp.kron(I, T) + sp.kron(T, I) + w * h * sp.kron(I, D))


@pytest.mark.parametrize("method", ["cg", "pcg", "ssor-pcg"])
def test_cg_family_refuses_a_nonsymmetric_matrix(method):
    # regression: CG used to run 10 n iterations on this and return MAX_ITER with garbage
    A = _convection()
    p = LinearProblem(A, np.ones(A.shape[0]))
    with pytest.raises(ValueError, match=r"gmres.*bicgstab"):
        us.solve(p, method=method)


def test_assume_symmetric_skips_the_check():
    A = _convection(8, w=1e-3)  # nearly symmetric: CG still converges on it
    p = LinearProblem(A, np.ones(A.shape[0]))
    with pytest.raises(ValueError):
        us.solve(p, method="cg")
    r = us.solve(p, method="cg", assume_symmetric=True, maxiter=5)
    assert r.iterations == 5
    with pytest.raises(TypeError, match="assume_symmetric"):
        us.solve(p, method="cg", assume_symmetric="yes")


def test_default_solves_the_issues_convection_diffusion_system():
    # regression for issue 25's report: 10⁴ unknowns, Péclet 10, no method given; the old
    # default (CG) ran 100,000 iterations and returned MAX_ITER with relative error 9.4e3
    p = us.problems.convection_diffusion_system(100, 10.0)
    r = us.solve(p, rtol=1e-10)
    assert (r.method, r.info["preconditioner"]) == ("gmres", "ilu0")
    assert r.info["chosen_because"] == "A is not symmetric: GMRES with ILU(0)"
    assert r.converged and r.iterations < 200
    assert np.linalg.norm(r.x - p.exact) <= 1e-7 * np.linalg.norm(p.exact)


def test_default_with_a_zero_diagonal_uses_ilut():
    rng = np.random.default_rng(0)
    A = sp.random(50, 50, density=0.1, random_state=rng, format="csr") + 5 * sp.eye(50)
    A = sp.lil_array(A)
    A[0, 0] = 0.0
    A[0, 1] = 5.0
    p = LinearProblem(sp.csr_array(A), rng.standard_normal(50))
    r = us.solve(p, rtol=1e-10)
    assert (r.method, r.info["preconditioner"]) == ("gmres", "ilut") and r.converged
    np.testing.assert_allclose(r.x, spla.spsolve(sp.csc_array(A), p.b), rtol=1e-8)


def test_default_on_a_linear_operator_is_plain_gmres():
    p0 = us.problems.convection_diffusion_system(10, 5.0)
    p = LinearProblem(spla.aslinearoperator(p0.A), p0.b)
    r = us.solve(p, rtol=1e-10)
    assert r.method == "gmres" and r.converged and "LinearOperator" in r.info["chosen_because"]


@pytest.mark.parametrize("pc", ["sor", "ilu0", "ilut"])
def test_pcg_refuses_a_nonsymmetric_preconditioner(pc):
    with pytest.raises(ValueError, match=r"not symmetric.*gmres"):
        us.solve(us.problems.poisson2d(6), method="pcg", preconditioner=pc)


def test_default_on_a_symmetric_indefinite_matrix_is_minres():
    p0 = us.problems.poisson2d(12)
    A = sp.csr_array(p0.A - 1.0 * sp.identity(p0.n))  # shifted into the spectrum's interior
    A = sp.csr_array(A - sp.diags(np.where(np.arange(p0.n) % 7 == 0, 10.0, 0.0)))
    p = LinearProblem(A, p0.b)
    r = us.solve(p, rtol=1e-10)
    assert r.method == "minres" and r.converged
    assert "diagonal entry <= 0" in r.info["chosen_because"]
    np.testing.assert_allclose(r.x, spla.spsolve(sp.csc_array(A), p.b), rtol=1e-7, atol=1e-9)

"""Poisson matrices against PyAMG's gallery and closed-form spectra."""

import numpy as np
import pyamg.gallery
import pytest
import scipy.sparse as sp

import unisolve as us


@pytest.mark.parametrize("n", [1, 5, 12])
def test_poisson2d_equals_pyamg_gallery(n):
    p = us.problems.poisson2d(n)
    ref = pyamg.gallery.poisson((n, n), format="csr")
    assert (abs(p.A - ref)).max() == 0
    assert p.grid_shape == (n, n) and p.spd and p.stencil.diagonal == 4.0


@pytest.mark.parametrize("n", [2, 5])
def test_poisson3d_equals_pyamg_gallery(n):
    p = us.problems.poisson3d(n)
    ref = pyamg.gallery.poisson((n, n, n), format="csr")
    assert (abs(p.A - ref)).max() == 0


@pytest.mark.parametrize(("make", "dim"), [(us.problems.poisson2d, 2), (us.problems.poisson3d, 3)])
def test_spectrum_matches_closed_form(make, dim):
    n = 7
    lam = np.linalg.eigvalsh(make(n).A.toarray())
    # eigenvalues of the 1D stencil (2, -1): 2 - 2 cos(k pi / (n + 1)), summed over dims
    one_d = 2 - 2 * np.cos(np.arange(1, n + 1) * np.pi / (n + 1))
    grids = np.meshgrid(*([one_d] * dim), indexing="ij")
    expected = np.sort(sum(grids).ravel())
    np.testing.assert_allclose(lam, expected, rtol=0, atol=1e-12)


def test_manufactured_solution_is_exact_and_not_an_eigenvector():
    p = us.problems.poisson2d(20)
    np.testing.assert_allclose(p.A @ p.exact, p.b, rtol=1e-14)
    # CG must need many iterations: the exact solution mixes many modes
    r = us.solve(p, method="cg", rtol=1e-10)
    assert r.iterations > 20
    np.testing.assert_allclose(r.x, p.exact, rtol=0, atol=1e-8 * np.abs(p.exact).max() * 10)


def test_rhs_options():
    ones = us.problems.poisson2d(4, rhs="ones")
    assert ones.exact is None and np.all(ones.b == 1)
    r1 = us.problems.poisson2d(4, rhs="random", seed=3).b
    r2 = us.problems.poisson2d(4, rhs="random", seed=3).b
    np.testing.assert_array_equal(r1, r2)
    with pytest.raises(ValueError, match="rhs must be"):
        us.problems.poisson2d(4, rhs="sinusoidal")


def test_constant_coefficient_scales_the_stencil():
    n = 6
    p = us.problems.poisson2d(n, coeff=np.full((n, n), 2.5))
    assert abs(p.A - 2.5 * us.problems.poisson2d(n).A).max() < 1e-14
    assert p.stencil is None


def test_variable_coefficient_harmonic_mean_faces():
    n = 5
    rng = np.random.default_rng(0)
    k = rng.uniform(0.5, 4.0, (n, n))
    A = us.problems.poisson2d(n, coeff=k).A
    assert abs(A - A.T).max() == 0
    i, j = (2, 2), (2, 3)
    row, col = np.ravel_multi_index(i, (n, n)), np.ravel_multi_index(j, (n, n))
    assert A[row, col] == pytest.approx(-2 * k[i] * k[j] / (k[i] + k[j]), rel=1e-14)
    # interior row: diagonal = sum of the four face coefficients
    assert A[row, row] == pytest.approx(-A[[row], :].sum() + A[row, row], rel=1e-14)
    assert np.linalg.eigvalsh(A.toarray()).min() > 0


def test_callable_coefficient():
    n = 6
    p = us.problems.poisson2d(n, coeff=lambda x, y: 1 + x + y)
    np.testing.assert_allclose(p.A @ p.exact, p.b)
    r = us.solve(p, rtol=1e-12)
    np.testing.assert_allclose(r.x, p.exact, atol=1e-10)


def test_obstacle_removes_cells_and_stays_spd():
    n = 8
    obstacle = np.zeros((n, n), dtype=bool)
    obstacle[3:5, 2:6] = True
    p = us.problems.poisson2d(n, obstacle=obstacle)
    assert p.n == n * n - obstacle.sum()
    assert np.linalg.eigvalsh(p.A.toarray()).min() > 0
    grid = p.to_grid(p.exact)
    assert np.isnan(grid[obstacle]).all() and np.isfinite(grid[~obstacle]).all()
    # a fluid cell next to the obstacle keeps diagonal 4 (wall = Dirichlet)
    keep = np.flatnonzero(~obstacle.ravel())
    row = int(np.searchsorted(keep, np.ravel_multi_index((2, 3), (n, n))))
    assert p.A[row, row] == 4.0 and p.A[[row], :].nnz == 4


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_sizes(bad):
    with pytest.raises(ValueError, match="positive integer"):
        us.problems.poisson2d(bad)


def test_bad_coefficients_and_masks():
    with pytest.raises(ValueError, match="strictly positive"):
        us.problems.poisson2d(3, coeff=-np.ones((3, 3)))
    with pytest.raises(ValueError, match="shape"):
        us.problems.poisson2d(3, coeff=np.ones((2, 2)))
    with pytest.raises(ValueError, match="bool mask"):
        us.problems.poisson2d(3, obstacle=np.zeros((4, 4), bool))
    with pytest.raises(ValueError, match="nothing is left"):
        us.problems.poisson2d(3, obstacle=np.ones((3, 3), bool))


def test_stencil_to_csr_matches_kron_3d():
    s = us.problems.Stencil(shape=(3, 4, 5), diagonal=7.0, offdiagonal=-0.5)
    A = s.to_csr()
    T = [sp.diags([np.ones(m - 1)] * 2, [-1, 1]) for m in s.shape]
    eye = [sp.identity(m) for m in s.shape]
    ref = (sp.kron(sp.kron(T[0], eye[1]), eye[2]) + sp.kron(sp.kron(eye[0], T[1]), eye[2])
           + sp.kron(sp.kron(eye[0], eye[1]), T[2])) * -0.5 + 7.0 * sp.identity(60)
    assert abs(A - ref).max() == 0

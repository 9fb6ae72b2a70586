"""Pressure-Poisson systems: matrix against a loop-by-loop assembly, spectrum, layouts, rhs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import unisolve as us
from unisolve import Status

pressure_poisson = us.problems.pressure_poisson
random_obstacles = us.problems.random_obstacles


def reference_matrix(fluid: np.ndarray, pinned: int | None) -> np.ndarray:
    """Dense (1) assembled cell by cell: −1 per fluid face, diagonal = fluid-neighbour count."""
    shape = fluid.shape
    cells = [tuple(c) for c in np.argwhere(fluid)]  # C order = the fluid numbering
    number = {c: k for k, c in enumerate(cells)}
    A = np.zeros((len(cells), len(cells)))
    for c in cells:
        i = number[c]
        for axis, step in itertools.product(range(len(shape)), (-1, 1)):
            nb = list(c)
            nb[axis] += step
            nb = tuple(nb)
            if 0 <= nb[axis] < shape[axis] and fluid[nb]:
                A[i, number[nb]] = -1.0
                A[i, i] += 1.0
    if pinned is not None:
        A[number[np.unravel_index(pinned, shape)], number[np.unravel_index(pinned, shape)]] += 1
    return A


def ring_obstacle(n: int) -> np.ndarray:
    """A closed square ring of solid cells around a 3x3 fluid pocket at [3:6, 3:6]."""
    solid = np.zeros((n, n), dtype=bool)
    solid[2:7, 2:7] = True
    solid[3:6, 3:6] = False
    return solid


CASES = [(2, 16, 0), (2, 20, 3), (3, 8, 1), (3, 10, 2)]


@pytest.mark.parametrize(("dim", "n", "seed"), CASES)
@pytest.mark.parametrize("boundary", ["neumann", "pinned"])
def test_matrix_matches_a_cell_by_cell_assembly(dim, n, seed, boundary):
    p = pressure_poisson(n, dim=dim, seed=seed, boundary=boundary)
    assert p.grid_shape == (n,) * dim and p.mask.shape == (n,) * dim
    assert p.n == int(p.mask.sum()) and p.A.shape == (p.n, p.n)
    assert sp.issparse(p.A)
    pinned = p.meta["pinned"]
    assert (pinned is None) == (boundary == "neumann")
    A = p.A.toarray()
    np.testing.assert_array_equal(A, reference_matrix(p.mask, pinned))
    assert np.abs(A - A.T).max() == 0
    # diagonal = number of fluid face neighbours (+1 at the pin); rows sum to 0 except there
    rows = A.sum(axis=1)
    if boundary == "neumann":
        assert np.abs(rows).max() == 0
        assert p.spd is None
        ns = p.meta["null_space"]
        np.testing.assert_allclose(ns, 1 / np.sqrt(p.n))
        assert np.abs(p.A @ ns).max() < 1e-14
    else:
        assert p.spd is True and p.meta["null_space"] is None
        pin_row = int(np.searchsorted(np.flatnonzero(p.mask.ravel()), pinned))
        assert p.mask.ravel()[pinned]
        expected = np.zeros(p.n)
        expected[pin_row] = 1.0
        np.testing.assert_array_equal(rows, expected)
    assert p.meta["boundary"] == boundary


def test_diagonal_counts_fluid_neighbours_on_the_grid():
    p = pressure_poisson(14, seed=5, boundary="pinned")
    fluid = p.mask
    padded = np.pad(fluid, 1, constant_values=False)
    count = (padded[:-2, 1:-1].astype(int) + padded[2:, 1:-1] + padded[1:-1, :-2]
             + padded[1:-1, 2:])
    expected = count[fluid].astype(float)
    expected[int(np.searchsorted(np.flatnonzero(fluid.ravel()), p.meta["pinned"]))] += 1
    np.testing.assert_array_equal(p.A.diagonal(), expected)
    assert set(np.unique(count[fluid])) <= {1, 2, 3, 4}
    assert (count[fluid] < 4).any()  # walls and solids really remove faces


@pytest.mark.parametrize(("dim", "n", "seed"), [(2, 16, 0), (2, 24, 4), (3, 8, 3)])
def test_spectrum_neumann_has_one_zero_eigenvalue_pinned_is_positive(dim, n, seed):
    neumann = pressure_poisson(n, dim=dim, seed=seed)
    lam = np.linalg.eigvalsh(neumann.A.toarray())
    scale = lam[-1]
    assert abs(lam[0]) < 1e-12 * scale
    assert lam[1] > 1e-6 * scale  # multiplicity 1: the fluid is one connected region
    assert lam[-1] <= 2 * 2 * dim + 1e-12  # Gershgorin: |row| ≤ 2 · (2·dim)
    pinned = pressure_poisson(n, dim=dim, seed=seed, boundary="pinned")
    mu = np.linalg.eigvalsh(pinned.A.toarray())
    assert mu[0] > 1e-6 * scale
    # the pin is a rank-one update e eᵀ: eigenvalues interlace with the singular ones
    assert np.all(mu >= lam - 1e-12) and np.all(mu[:-1] <= lam[1:] + 1e-12)
    assert mu[0] < lam[1]  # λ_min is much smaller than the first nonzero Neumann eigenvalue


def test_pinned_cell_is_at_the_centre_of_the_top_wall_in_an_empty_box():
    n = 9
    p = pressure_poisson(n, obstacle=np.zeros((n, n), bool), boundary="pinned")
    assert np.unravel_index(p.meta["pinned"], (n, n)) == (n - 1, (n - 1) // 2)
    # block that cell: the pin moves to the nearest fluid cell
    solid = np.zeros((n, n), bool)
    solid[n - 1, (n - 1) // 2] = True
    q = pressure_poisson(n, obstacle=solid, boundary="pinned")
    row, col = np.unravel_index(q.meta["pinned"], (n, n))
    assert q.mask[row, col]
    assert (row, col) in {(n - 1, (n - 1) // 2 - 1), (n - 1, (n - 1) // 2 + 1),
                          (n - 2, (n - 1) // 2)}


@pytest.mark.parametrize(
    ("dim", "n", "seed"),
    [(2, 24, 0), (2, 24, 1), (2, 64, 2), (2, 64, 3), (3, 12, 0), (3, 12, 1),
     (2, 32, 5), (2, 32, 216)],  # seeds 5, 216 at n=32 cut off 1 and 4 fluid cells
)
def test_kept_fluid_is_one_face_connected_region(dim, n, seed):
    p = pressure_poisson(n, dim=dim, seed=seed)
    _, count = ndi.label(p.mask)  # face connectivity
    assert count == 1
    solid = p.meta["obstacle"]
    np.testing.assert_array_equal(solid, ~p.mask)
    # the layout's own solids are all solid; fluid cells are removed only if cut off
    layout = random_obstacles(n, dim, seed)
    assert np.all(solid[layout])
    labels, _ = ndi.label(~layout)
    sizes = np.bincount(labels.ravel())[1:]
    np.testing.assert_array_equal(p.mask, labels == 1 + int(np.argmax(sizes)))
    assert 0.02 < layout.mean() < 0.6
    if (n, seed) == (32, 5):
        assert p.n == (~layout).sum() - 1
    if (n, seed) == (32, 216):
        assert p.n == (~layout).sum() - 4


def test_cut_off_pocket_is_made_solid():
    n = 12
    solid = ring_obstacle(n)
    p = pressure_poisson(n, obstacle=solid)
    pocket = np.zeros((n, n), bool)
    pocket[3:6, 3:6] = True
    assert not p.mask[pocket].any()
    np.testing.assert_array_equal(p.meta["obstacle"], solid | pocket)
    assert p.n == n * n - solid.sum() - pocket.sum()
    lam = np.linalg.eigvalsh(p.A.toarray())
    assert abs(lam[0]) < 1e-12 and lam[1] > 1e-3  # one null vector, not two
    # the user's mask is not modified
    np.testing.assert_array_equal(solid, ring_obstacle(n))


def test_wall_that_splits_the_box_keeps_the_larger_side():
    n = 12
    solid = np.zeros((n, n), bool)
    solid[:, 4] = True  # 4 columns on the left, 7 on the right
    p = pressure_poisson(n, obstacle=solid)
    assert not p.mask[:, :5].any() and p.mask[:, 5:].all()
    assert p.n == 7 * n


@pytest.mark.parametrize("pattern", ["random30", "checkerboard-blocks", "stripes", "int01"])
def test_any_shape_correct_user_mask_works(pattern):
    n = 16
    rng = np.random.default_rng(11)
    if pattern == "random30":
        solid = rng.random((n, n)) < 0.3
    elif pattern == "checkerboard-blocks":
        i, j = np.indices((n, n))
        solid = ((i // 2 + j // 2) % 2 == 0) & (i % 2 == 0) & (j % 2 == 0)
    elif pattern == "stripes":
        solid = np.zeros((n, n), bool)
        solid[::3, : n - 2] = True
    else:
        solid = (rng.random((n, n)) < 0.2).astype(np.int64)  # 0/1 integers
    p = pressure_poisson(n, obstacle=solid, boundary="pinned")
    fluid = p.mask
    assert not fluid[solid.astype(bool)].any()
    labels, _ = ndi.label(~solid.astype(bool))
    sizes = np.bincount(labels.ravel())[1:]
    np.testing.assert_array_equal(fluid, labels == 1 + int(np.argmax(sizes)))
    np.testing.assert_array_equal(p.A.toarray(), reference_matrix(fluid, p.meta["pinned"]))
    assert np.linalg.eigvalsh(p.A.toarray())[0] > 0
    if pattern == "random30":
        assert p.n < (~solid).sum()  # this mask leaves pockets, and they were removed
    r = us.solve(p, method="cg", rtol=1e-10)
    assert r.status is Status.CONVERGED
    assert np.linalg.norm(p.b - p.A @ r.x) <= 1e-10 * np.linalg.norm(p.b)


def test_3d_user_mask():
    n = 8
    solid = np.zeros((n, n, n), bool)
    solid[2:6, 2:6, 2:6] = True
    p = pressure_poisson(n, dim=3, obstacle=solid)
    assert p.n == n**3 - 64 and p.grid_shape == (n, n, n)
    np.testing.assert_array_equal(p.A.toarray(), reference_matrix(p.mask, None))


def test_bad_masks():
    with pytest.raises(ValueError, match=r"shape \(12, 12\)"):
        pressure_poisson(12, obstacle=np.zeros((10, 12), bool))
    with pytest.raises(ValueError, match=r"shape \(6, 6, 6\)"):
        pressure_poisson(6, dim=3, obstacle=np.zeros((6, 6), bool))
    with pytest.raises(ValueError, match="every cell"):
        pressure_poisson(8, obstacle=np.ones((8, 8), bool))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 1}, "n must be"),
        ({"n": 0}, "n must be"),
        ({"n": 12.0}, "n must be"),
        ({"n": True}, "n must be"),
        ({"n": 8, "dim": 1}, "dim must be"),
        ({"n": 8, "dim": 4}, "dim must be"),
        ({"n": 8, "dim": True}, "dim must be"),
        ({"n": 8, "rhs": "ones"}, "rhs must be"),
        ({"n": 8, "boundary": "dirichlet"}, "boundary must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pressure_poisson(**kwargs)


@pytest.mark.parametrize(("dim", "n"), [(2, 20), (3, 10)])
@pytest.mark.parametrize("boundary", ["neumann", "pinned"])
def test_divergence_rhs_has_zero_net_flux(dim, n, boundary):
    p = pressure_poisson(n, dim=dim, seed=2, boundary=boundary)
    assert p.exact is None
    assert abs(p.b.sum()) <= 1e-12 * np.abs(p.b).sum()
    assert np.linalg.norm(p.b) > 1.0  # not trivially zero
    assert np.all(np.isfinite(p.b)) and p.b.shape == (p.n,)


def test_random_rhs_is_consistent_only_for_neumann():
    b = pressure_poisson(16, seed=1, rhs="random").b
    assert abs(b.sum()) <= 1e-12 * np.abs(b).sum()
    c = pressure_poisson(16, seed=1, rhs="random", boundary="pinned").b
    assert abs(c.sum()) > 1e-3 * np.abs(c).sum()  # white noise, not made mean-free


@pytest.mark.parametrize(("dim", "n"), [(2, 20), (3, 9)])
@pytest.mark.parametrize("boundary", ["neumann", "pinned"])
def test_manufactured_exact_solution(dim, n, boundary):
    p = pressure_poisson(n, dim=dim, seed=4, rhs="manufactured", boundary=boundary)
    assert p.exact is not None and p.exact.shape == (p.n,)
    np.testing.assert_allclose(p.A @ p.exact, p.b, rtol=0, atol=1e-12 * np.abs(p.b).max())
    assert np.std(p.exact) > 0.5  # a real field, not a constant
    if boundary == "neumann":
        assert abs(p.exact.mean()) < 1e-13
        assert abs(p.b.sum()) < 1e-10
    else:
        x = spla.spsolve(sp.csc_array(p.A), p.b)
        np.testing.assert_allclose(x, p.exact, rtol=0, atol=1e-8)


@pytest.mark.parametrize("rhs", ["divergence", "manufactured", "random"])
def test_same_seed_same_problem_different_seed_different(rhs):
    a = pressure_poisson(20, seed=3, rhs=rhs)
    b = pressure_poisson(20, seed=3, rhs=rhs)
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.b, b.b)
    assert abs(a.A - b.A).max() == 0
    c = pressure_poisson(20, seed=4, rhs=rhs)
    assert not np.array_equal(a.mask, c.mask)
    # a user mask pins the layout: the seed then changes only the rhs
    d = pressure_poisson(20, seed=5, rhs=rhs, obstacle=a.meta["obstacle"])
    np.testing.assert_array_equal(d.mask, a.mask)
    assert not np.allclose(d.b, a.b)


def test_random_obstacles_layouts():
    m = random_obstacles(32, seed=3)
    assert m.shape == (32, 32) and m.dtype == bool
    np.testing.assert_array_equal(m, random_obstacles(32, 2, 3))
    assert not np.array_equal(m, random_obstacles(32, 2, 4))
    assert not random_obstacles(32, seed=3, count=0).any()
    m3 = random_obstacles(12, dim=3, seed=1, count=4)
    assert m3.shape == (12, 12, 12) and 0 < m3.mean() < 0.7
    # more obstacles from the same stream only add solid cells
    assert np.all(random_obstacles(32, seed=6, count=5)[random_obstacles(32, seed=6, count=2)])
    with pytest.raises(ValueError, match="dim must be"):
        random_obstacles(8, dim=1)


def test_cg_matches_a_direct_solve_on_the_pinned_problem():
    p = pressure_poisson(20, seed=6, boundary="pinned")
    r = us.solve(p, method="cg", rtol=1e-10)
    assert r.status is Status.CONVERGED
    res = np.linalg.norm(p.b - p.A @ r.x)
    assert res <= 1e-10 * np.linalg.norm(p.b)
    ref = spla.spsolve(sp.csc_array(p.A), p.b)
    lam_min = np.linalg.eigvalsh(p.A.toarray())[0]
    # ‖x − x*‖ ≤ ‖b − A x‖ / λ_min, plus rounding of the direct solve
    assert np.linalg.norm(r.x - ref) <= res / lam_min + 1e-10 * np.linalg.norm(ref)
    assert np.linalg.norm(ref) > 1.0


@pytest.mark.parametrize(("dim", "n"), [(2, 20), (3, 8)])
def test_cg_matches_the_mean_free_solution_on_the_neumann_problem(dim, n):
    p = pressure_poisson(n, dim=dim, seed=6)
    r = us.solve(p, method="cg", rtol=1e-10)
    assert r.status is Status.CONVERGED
    res = np.linalg.norm(p.b - p.A @ r.x)
    assert res <= 1e-10 * np.linalg.norm(p.b)
    # reference: the bordered system [A 1; 1ᵀ 0] [x; μ] = [b; 0] (x mean-free, μ = 0)
    ones = np.ones((p.n, 1))
    K = sp.bmat([[p.A, ones], [ones.T, None]], format="csc")
    sol = spla.spsolve(K, np.append(p.b, 0.0))
    ref, mu = sol[:-1], sol[-1]
    assert abs(mu) < 1e-10 and abs(ref.mean()) < 1e-12
    lam = np.linalg.eigvalsh(p.A.toarray())
    x = r.x - r.x.mean()  # compare modulo the constant (CG from 0 stays mean-free anyway)
    assert abs(r.x.mean()) < 1e-8 * np.abs(r.x).max()
    assert np.linalg.norm(x - ref) <= res / lam[1] + 1e-10 * np.linalg.norm(ref)
    lstsq = np.linalg.lstsq(p.A.toarray(), p.b, rcond=None)[0]
    np.testing.assert_allclose(lstsq, ref, rtol=0, atol=1e-8 * np.abs(ref).max())


# ----------------------------------------------------------------------------- poisson2d masks
@pytest.mark.parametrize("pattern", ["random30", "checkerboard", "islands"])
def test_poisson2d_accepts_any_user_obstacle(pattern):
    n = 20
    if pattern == "random30":
        solid = np.random.default_rng(2).random((n, n)) < 0.3
    elif pattern == "checkerboard":
        solid = np.indices((n, n)).sum(axis=0) % 2 == 0  # every fluid cell isolated
    else:
        solid = np.zeros((n, n), bool)
        solid[5, :] = solid[:, 9] = True  # cuts the box into separate Dirichlet regions
    p = us.problems.poisson2d(n, obstacle=solid)
    keep = np.flatnonzero(~solid.ravel())
    assert p.n == keep.size
    np.testing.assert_array_equal(p.mask, ~solid)
    full = us.problems.poisson2d(n).A.toarray()
    np.testing.assert_array_equal(p.A.toarray(), full[np.ix_(keep, keep)])
    np.testing.assert_allclose(p.A @ p.exact, p.b, rtol=1e-13)
    r = us.solve(p, method="cg", rtol=1e-12)
    assert r.status is Status.CONVERGED
    np.testing.assert_allclose(r.x, p.exact, rtol=0, atol=1e-9 * np.abs(p.exact).max())
    if pattern == "checkerboard":
        assert r.iterations == 1  # A = 4 I: the first step is exact

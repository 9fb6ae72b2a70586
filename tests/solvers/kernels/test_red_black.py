"""Red-black stencil sweeps: numba == CSR sweep in red-black row order == numpy reference."""

import numpy as np
import pytest

from unisolve.problems.linear import Stencil
from unisolve.solvers.kernels import red_black
from unisolve.solvers.kernels.red_black import (
    red_black_rows,
    red_black_sor_sweep_2d,
    red_black_sor_sweep_3d,
    red_black_sor_sweep_reference,
)
from unisolve.solvers.kernels.sor_csr import (
    inverse_diagonal,
    sor_sweep_csr_ordered,
    unsigned_indices,
)

SHAPES_2D = [(1, 1), (1, 6), (5, 1), (2, 2), (6, 6), (7, 7), (7, 10), (10, 7)]
SHAPES_3D = [(1, 1, 3), (2, 3, 4), (5, 5, 5), (4, 4, 4), (3, 6, 5)]
# (diagonal, offdiagonal): the Laplacian and a shifted, rescaled one
COEFFS = [(4.0, -1.0), (2.5, 0.5)]
KERNELS = {2: red_black_sor_sweep_2d, 3: red_black_sor_sweep_3d}


@pytest.fixture(params=["serial", "parallel"])
def kernel_kind(request, monkeypatch):
    """Run a test with the serial kernel (small grids) and again with the prange one."""
    threshold = 0 if request.param == "parallel" else 1 << 62
    monkeypatch.setattr(red_black, "PARALLEL_MIN_NODES", threshold)
    return request.param


def csr_red_black_sweep(shape, diagonal, offdiagonal, x, b, omega, sweep):
    """The same sweep by the general CSR kernel, rows in red-black order."""
    A = Stencil(shape, diagonal, offdiagonal).to_csr()
    rows = red_black_rows(shape)
    orders = {
        "forward": [rows],
        "backward": [rows[::-1].copy()],
        "symmetric": [rows, rows[::-1].copy()],
    }[sweep]
    for order in orders:
        sor_sweep_csr_ordered(
            A.indptr, unsigned_indices(A.indices), A.data, inverse_diagonal(A), x, b, omega,
            order,
        )


def random_start(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape)


def rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


def test_red_black_rows_colours_and_permutation():
    shape = (4, 5, 3)
    rows = red_black_rows(shape)
    assert np.array_equal(np.sort(rows), np.arange(60))
    colour = np.indices(shape).sum(axis=0).ravel() % 2
    n_red = int((colour == 0).sum())
    assert (colour[rows[:n_red]] == 0).all() and (colour[rows[n_red:]] == 1).all()
    assert np.array_equal(red_black_rows((2, 3)), [0, 2, 4, 1, 3, 5])


@pytest.mark.parametrize("shape", SHAPES_2D + SHAPES_3D, ids=str)
@pytest.mark.parametrize("sweep", ["forward", "backward", "symmetric"])
@pytest.mark.parametrize("omega", [0.8, 1.0, 1.7])
@pytest.mark.parametrize("coeffs", COEFFS, ids=str)
def test_numba_equals_csr_in_red_black_order(shape, sweep, omega, coeffs, kernel_kind):
    d, o = coeffs
    x0, b = random_start(shape)
    grid = x0.copy()
    KERNELS[len(shape)](grid, b, d, o, omega, sweep)
    flat = x0.ravel().copy()
    csr_red_black_sweep(shape, d, o, flat, b.ravel(), omega, sweep)
    assert rel(grid.ravel(), flat) < 1e-12
    assert rel(grid, x0) > 1e-3  # it did move


@pytest.mark.parametrize("shape", SHAPES_2D + SHAPES_3D, ids=str)
@pytest.mark.parametrize("sweep", ["forward", "backward", "symmetric"])
def test_numba_equals_numpy_reference(shape, sweep, kernel_kind):
    x0, b = random_start(shape, seed=1)
    ours, ref = x0.copy(), x0.copy()
    for _ in range(3):
        KERNELS[len(shape)](ours, b, 4.0 + 2.0 * (len(shape) == 3), -1.0, 1.4, sweep)
        red_black_sor_sweep_reference(ref, b, 4.0 + 2.0 * (len(shape) == 3), -1.0, 1.4, sweep)
    assert rel(ours, ref) < 1e-12


def test_views_of_the_flat_vector_are_updated_in_place(kernel_kind):
    x = np.zeros(7 * 10)
    b = np.ones(7 * 10)
    red_black_sor_sweep_2d(x.reshape(7, 10), b.reshape(7, 10), 4.0, -1.0, 1.0)
    # red (0, 0) sees zeros; black (0, 1) sees three updated red neighbours
    assert x[0] == 0.25 and x[1] == pytest.approx((1 + 3 * 0.25) / 4)


def test_gauss_seidel_red_black_leaves_black_residual_zero():
    # with omega = 1 the last colour updated has zero residual rows (exact local solve)
    shape = (7, 10)
    A = Stencil(shape, 4.0, -1.0).to_csr()
    x, b = random_start(shape, seed=4)
    red_black_sor_sweep_2d(x, b, 4.0, -1.0, 1.0, "forward")
    r = (b.ravel() - A @ x.ravel()).reshape(shape)
    black = np.indices(shape).sum(axis=0) % 2 == 1
    assert np.abs(r[black]).max() < 1e-12 and np.abs(r[~black]).max() > 1e-3


def test_bad_sweep_name():
    with pytest.raises(ValueError, match="sweep must be"):
        red_black_sor_sweep_2d(np.zeros((3, 3)), np.zeros((3, 3)), 4.0, -1.0, 1.0, "up")


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(7, 10), (6, 6), (1, 5), (3, 6, 5), (4, 4, 4)], ids=str)
@pytest.mark.parametrize("sweep", ["forward", "backward", "symmetric"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cupy_equals_numpy_reference(cupy, shape, sweep, dtype):
    from unisolve.solvers.kernels.red_black_cupy import red_black_sor_sweep_cupy

    d = 4.0 if len(shape) == 2 else 6.0
    x0, b = random_start(shape, seed=5)
    x0, b = x0.astype(dtype), b.astype(dtype)
    ref = x0.astype(np.float64)
    gpu = cupy.asarray(x0)
    for _ in range(3):
        red_black_sor_sweep_cupy(gpu, cupy.asarray(b), d, -1.0, 1.3, sweep)
        red_black_sor_sweep_reference(ref, b.astype(np.float64), d, -1.0, 1.3, sweep)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert rel(cupy.asnumpy(gpu).astype(np.float64), ref) < tol

"""Red-black stencil sweeps: numba == CSR sweep in red-black row order == numpy reference.

The serial (wavefront) and parallel (banded, ghost units) kernels give bitwise the same
iterates for any number of bands or threads.
"""

import numba
import numpy as np
import pytest

import unisolve as us
from unisolve.problems.linear import Stencil
from unisolve.solvers.kernels import red_black
from unisolve.solvers.kernels.red_black import (
    red_black_residual_norm,
    red_black_rows,
    red_black_sor_solve,
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


@pytest.fixture(params=[1, 2, 3])
def kernel_kind(request, monkeypatch):
    """Run a test with the serial kernel (1 band) and the parallel one (2 and 3 bands)."""
    bands = request.param
    for name in ("red_black_sor_sweep_2d", "red_black_sor_sweep_3d"):
        kernel = getattr(red_black, name)
        monkeypatch.setitem(KERNELS, 2 if name.endswith("2d") else 3,
                            lambda *a, _k=kernel, **kw: _k(*a, threads=bands, **kw))
    return bands


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
    KERNELS[2](x.reshape(7, 10), b.reshape(7, 10), 4.0, -1.0, 1.0)
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


# ------------------------------------------------------------ bands and threads

BAND_SHAPES = [(1, 1), (2, 7), (9, 8), (33, 17), (40, 41), (3, 4, 5), (11, 6, 7), (17, 9, 4)]


@pytest.mark.parametrize("shape", BAND_SHAPES, ids=str)
@pytest.mark.parametrize("sweep", ["forward", "backward", "symmetric"])
def test_any_band_count_gives_bitwise_the_serial_sweep(shape, sweep):
    """Ghost units reproduce their owner's arithmetic exactly: no rounding difference."""
    x0, b = random_start(shape, seed=7)
    d = 4.0 if len(shape) == 2 else 6.0
    serial = x0.copy()
    for _ in range(2):
        KERNELS[len(shape)](serial, b, d, -1.0, 1.3, sweep, threads=1)
    ref = x0.copy()
    for _ in range(2):
        red_black_sor_sweep_reference(ref, b, d, -1.0, 1.3, sweep)
    assert rel(serial, ref) < 1e-12
    for bands in (2, 3, 5, 64):
        banded = x0.copy()
        for _ in range(2):
            KERNELS[len(shape)](banded, b, d, -1.0, 1.3, sweep, threads=bands)
        np.testing.assert_array_equal(banded, serial)


def test_numba_thread_count_does_not_change_the_result():
    """1 and 2 numba threads (and the automatic choice) give identical iterates."""
    shape = (64, 48)
    x0, b = random_start(shape, seed=8)
    saved = numba.get_num_threads()
    outs = []
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            x = x0.copy()
            for _ in range(3):
                red_black_sor_sweep_2d(x, b, 4.0, -1.0, 1.5, "symmetric", threads=2)
            outs.append(x)
    finally:
        numba.set_num_threads(saved)
    x = x0.copy()
    for _ in range(3):
        red_black_sor_sweep_2d(x, b, 4.0, -1.0, 1.5, "symmetric")
    outs.append(x)
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


@pytest.mark.parametrize("shape", [(30, 20), (9, 8, 7)], ids=str)
@pytest.mark.parametrize("sweep", ["forward", "symmetric"])
def test_solve_residuals_are_the_true_ones_for_any_band_count(shape, sweep):
    d = 4.0 if len(shape) == 2 else 6.0
    x0, b = random_start(shape, seed=9)
    A = Stencil(shape, d, -1.0).to_csr()
    runs = []
    for bands in (1, 2, 3):
        x, res = x0.copy(), np.empty(9)
        its, code = red_black_sor_solve(x, b, d, -1.0, 1.2, sweep, 0.0, 8, 1e8, res,
                                        threads=bands)
        assert (its, code) == (8, 1)  # max_iter
        runs.append((x, res))
    for x, res in runs[1:]:
        np.testing.assert_array_equal(x, runs[0][0])
        np.testing.assert_array_equal(res, runs[0][1])
    # the same sweeps as the sweep kernel, and the fused residual is ‖b − A x‖ (scipy)
    x = x0.copy()
    for k in range(8):
        KERNELS[len(shape)](x, b, d, -1.0, 1.2, sweep, threads=1)
        true = np.linalg.norm(b.ravel() - A @ x.ravel())
        assert runs[0][1][k + 1] == pytest.approx(true, rel=1e-13)
    np.testing.assert_array_equal(x, runs[0][0])
    assert runs[0][1][0] == pytest.approx(np.linalg.norm(b.ravel() - A @ x0.ravel()), rel=1e-13)


def test_residual_norm_matches_scipy():
    shape = (13, 11)
    x, b = random_start(shape, seed=10)
    A = Stencil(shape, 4.5, -1.0).to_csr()
    assert red_black_residual_norm(x, b, 4.5, -1.0) == pytest.approx(
        np.linalg.norm(b.ravel() - A @ x.ravel()), rel=1e-13)


def test_solve_stops_like_the_monitor():
    """Converged exactly when the residual first meets the threshold; NaN → nonfinite."""
    x, res = np.zeros((12, 12)), np.empty(501)
    b = np.ones((12, 12))
    its, code = red_black_sor_solve(x, b, 4.0, -1.0, 1.6, "forward", 1e-6, 500, 1e8, res)
    assert code == 0 and res[its] <= 1e-6 < res[its - 1]
    x = np.zeros((12, 12))
    x[3, 4] = np.nan
    its, code = red_black_sor_solve(x, b, 4.0, -1.0, 1.6, "forward", 1e-6, 500, 1e8, res)
    assert (its, code) == (0, 3)


def test_non_contiguous_grid_is_updated_in_place():
    x0, b = random_start((8, 6), seed=11)
    base = np.asfortranarray(x0)
    ref = x0.copy()
    red_black_sor_sweep_2d(ref, b, 4.0, -1.0, 1.3)
    red_black_sor_sweep_2d(base, b, 4.0, -1.0, 1.3)
    np.testing.assert_array_equal(base, ref)


def _spy_bands(monkeypatch):
    """Record the band count of every kernel launch."""
    launches = []
    run = red_black._run_timed

    def spy(n_bands, fn, *args):
        launches.append(n_bands)
        return run(n_bands, fn, *args)

    monkeypatch.setattr(red_black, "_run_timed", spy)
    return launches


def test_small_grids_and_one_thread_run_serially(monkeypatch):
    launches = _spy_bands(monkeypatch)
    x, b = random_start((20, 20))
    red_black_sor_sweep_2d(x, b, 4.0, -1.0, 1.3)  # below PARALLEL_MIN_NODES
    monkeypatch.setattr(red_black, "PARALLEL_MIN_NODES", 0)
    with us.num_threads(1):
        red_black_sor_sweep_2d(x, b, 4.0, -1.0, 1.3)
        us.solve(us.problems.poisson2d(24), method="sor", omega=1.5, ordering="red-black",
                 maxiter=5)
    assert launches and set(launches) == {1}


def test_a_slow_parallel_kernel_is_dropped_for_the_serial_one(monkeypatch):
    """Regression (issue 24): a busy core made every parallel sweep wait; now the dispatch
    sees the parallel kernel's time and runs the serial one instead."""
    launches = []
    run = red_black._run_timed
    x, b = random_start((64, 64))
    ref = x.copy()
    for bands in (1, 2):  # compile / start threads first: those calls are not timed
        red_black_sor_sweep_2d(x.copy(), b, 4.0, -1.0, 1.3, threads=bands)

    def slow_parallel(n_bands, fn, *args):  # a busy second core: parallel takes 20× as long
        launches.append(n_bands)
        value, seconds = run(n_bands, fn, *args)
        return value, seconds * (20.0 if n_bands > 1 else 1.0)

    monkeypatch.setattr(red_black, "_run_timed", slow_parallel)
    monkeypatch.setattr(red_black, "PARALLEL_MIN_NODES", 0)
    monkeypatch.setattr(red_black, "_CHOOSERS", {})
    with us.num_threads(2):
        for _ in range(40):
            red_black_sor_sweep_2d(x, b, 4.0, -1.0, 1.3)
    for _ in range(40):
        red_black_sor_sweep_2d(ref, b, 4.0, -1.0, 1.3, threads=1)
    np.testing.assert_array_equal(x, ref)
    assert launches[:2] == [2, 1]                   # each measured once
    assert launches[2:].count(2) <= 3               # then probed rarely (8, 16, 32 calls)
    assert launches[-5:] == [1] * 5


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

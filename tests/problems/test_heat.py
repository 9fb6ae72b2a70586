"""The Learning-to-Relax sequences: shifted Laplacians and Crank–Nicolson heat steps."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

import unisolve as us
from unisolve.problems.heat import bump


@pytest.mark.parametrize(("variance", "a", "b"), [("high", 0.5, 1.5), ("low", 2.0, 6.0)])
def test_shift_distribution(variance, a, b):
    seq = us.problems.shifted_laplacian_sequence(T=3000, variance=variance, seed=0)
    c = np.asarray(seq.contexts)
    assert c.min() >= -0.15 and c.max() <= 0.45
    # (c + 0.15) / 0.6 ~ Beta(a, b): Kolmogorov–Smirnov against the exact cdf
    ks = stats.kstest((c + 0.15) / 0.6, stats.beta(a, b).cdf)
    assert ks.pvalue > 1e-3


def test_shifted_instances():
    seq = us.problems.shifted_laplacian_sequence(T=20, seed=7)
    for t in (0, 19):
        p = seq.instance(t)
        L = us.problems.poisson2d(10).A
        assert abs(p.A - (L + p.context * sp.identity(100))).max() < 1e-15
        assert np.linalg.norm(p.b) <= 10.0
        assert p.stencil.diagonal == pytest.approx(4 + p.context)
    again = us.problems.shifted_laplacian_sequence(T=20, seed=7).instance(5)
    np.testing.assert_array_equal(again.b, seq.instance(5).b)
    with pytest.raises(IndexError):
        seq.instance(20)
    with pytest.raises(ValueError, match="variance"):
        us.problems.shifted_laplacian_sequence(T=3, variance="medium")


def test_bump():
    assert bump(np.array(0.5), np.array(0.5), (0.5, 0.5), 0.25) == 1.0
    # exp(1 - 1/(1 - q)) at q = 1/4
    x = np.array(0.5 + 0.125)
    assert float(bump(x, np.array(0.5), (0.5, 0.5), 0.25)) == pytest.approx(np.exp(1 - 4 / 3))
    assert float(bump(np.array(0.76), np.array(0.5), (0.5, 0.5), 0.25)) == 0.0


def test_heat_step_is_crank_nicolson():
    nx, dt = 16, 1e-3
    seq = us.problems.heat_sequence(nx=nx, steps=5, dt=dt, seed=3)
    h = 1.0 / nx
    m = nx - 1
    Lh = -us.problems.poisson2d(m).A / h**2  # 5-point Laplacian, -4/h^2 on the diagonal
    eye = sp.identity(m * m)
    u = np.random.default_rng(0).standard_normal(m * m)
    p = seq.instance(2, u)
    k = seq.contexts[2]
    s = 2.5 * dt
    assert k == pytest.approx(p.context)
    assert abs(p.A - (eye - 0.5 * k * dt * Lh)).max() < 1e-12
    grid = (np.arange(m) + 1) * h
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    f = 32 * bump(X, Y, (0.5 + np.cos(16 * np.pi * s) / 4, 0.5 + np.sin(16 * np.pi * s) / 4),
                  0.125).ravel()
    np.testing.assert_allclose(p.b, (eye + 0.5 * k * dt * Lh) @ u + dt * f, rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_array_equal(p.x0, u)  # warm start = previous solution
    assert abs(p.stencil.to_csr() - p.A).max() < 1e-12


def test_diffusivity_path():
    seq = us.problems.heat_sequence(nx=8, steps=400, seed=1)
    s = seq.meta["times"]
    brownian = (np.asarray(seq.contexts) - np.exp(-2 * np.cos(2 * np.pi * s))) / np.e
    assert brownian.min() == pytest.approx(0, abs=1e-12)
    assert brownian.max() == pytest.approx(1, abs=1e-12)


def test_heat_reference_trajectory_solves_each_system():
    seq = us.problems.heat_sequence(nx=10, steps=4, seed=0)
    xs = seq.reference()
    prev = None
    for t, x in enumerate(xs):
        p = seq.instance(t, prev)
        np.testing.assert_allclose(p.A @ x, p.b, rtol=1e-12, atol=1e-14)
        prev = x


def test_heat_bad_arguments():
    with pytest.raises(ValueError, match="nx"):
        us.problems.heat_sequence(nx=2, steps=3)
    with pytest.raises(ValueError, match="dt"):
        us.problems.heat_sequence(nx=10, steps=3, dt=0)


def test_heat_assembly_shares_pattern_and_clips_forcing_exactly():
    """The fast assembly (K's pattern, forcing on the bump's bounding box) equals the
    textbook one at every position of the circling source."""
    from unisolve.problems.heat import heat_forcing

    nx, dt = 24, 3e-3
    seq = us.problems.heat_sequence(nx=nx, steps=45, dt=dt, seed=2)
    m, h = nx - 1, 1.0 / nx
    K = us.problems.poisson2d(m).A
    grid = (np.arange(m) + 1) * h
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    u = np.random.default_rng(1).standard_normal(m * m)
    for t in range(0, 45, 4):
        p = seq.instance(t, u)
        a = 0.5 * seq.contexts[t] * dt / h**2
        assert abs(p.A - (sp.identity(m * m) + a * K)).max() < 1e-13
        f = heat_forcing(X, Y, seq.meta["times"][t]).ravel()
        np.testing.assert_allclose(p.b, u - a * (K @ u) + dt * f, rtol=1e-13, atol=1e-13)

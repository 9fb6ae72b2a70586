"""Nonsymmetric test problems: steady convection–diffusion and its backward Euler sequence."""

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import unisolve as us
from unisolve.problems.convection import flow_angles
from unisolve.problems.heat import heat_forcing

system = us.problems.convection_diffusion_system
sequence = us.problems.convection_diffusion_sequence


def vortex(x, pe):
    """w = Pe (sin πx cos πy, −cos πx sin πy[, 0])."""
    w = [pe * math.sin(math.pi * x[0]) * math.cos(math.pi * x[1]),
         -pe * math.cos(math.pi * x[0]) * math.sin(math.pi * x[1])]
    return w + [0.0] * (len(x) - 2)


def loop_reference(n, dim, scheme, wfun):
    """h²(−Δ_h + w·∇_h) assembled one grid point at a time (dense)."""
    h = 1.0 / (n + 1)
    shape = (n,) * dim
    A = np.zeros((n**dim, n**dim))
    for idx in np.ndindex(*shape):
        r = np.ravel_multi_index(idx, shape)
        w = wfun([(i + 1) * h for i in idx])

        def add(k, side, value, idx=idx, r=r):
            j = list(idx)
            j[k] += side
            if 0 <= j[k] < n:  # outside: homogeneous Dirichlet, dropped
                A[r, np.ravel_multi_index(j, shape)] += value

        A[r, r] += 2 * dim
        for k in range(dim):
            add(k, -1, -1.0)
            add(k, +1, -1.0)
            if scheme == "upwind":
                if w[k] > 0:  # backward difference h w (u_i − u_{i−1})
                    A[r, r] += h * w[k]
                    add(k, -1, -h * w[k])
                else:         # forward difference h w (u_{i+1} − u_i)
                    A[r, r] -= h * w[k]
                    add(k, +1, h * w[k])
            else:             # central (h w / 2)(u_{i+1} − u_{i−1})
                add(k, +1, 0.5 * h * w[k])
                add(k, -1, -0.5 * h * w[k])
    return A


@pytest.mark.parametrize("scheme", ["upwind", "central"])
@pytest.mark.parametrize(("dim", "n"), [(2, 5), (3, 3)])
@pytest.mark.parametrize("velocity", ["diagonal", "vortex", "tuple"])
def test_matrix_equals_loop_reference(scheme, dim, n, velocity):
    pe = 7.0
    if velocity == "diagonal":
        def wfun(x):
            return [pe / math.sqrt(dim)] * dim
        arg = "diagonal"
    elif velocity == "vortex":
        def wfun(x):
            return vortex(x, pe)
        arg = "vortex"
    else:
        d = np.array([-3.0, 1.0, 2.0][:dim])
        def wfun(x):
            return list(pe * d / np.linalg.norm(d))
        arg = tuple(d)
    p = system(n, pe, dim=dim, scheme=scheme, velocity=arg, rhs="ones")
    np.testing.assert_allclose(p.A.toarray(), loop_reference(n, dim, scheme, wfun),
                               rtol=0, atol=1e-14)
    assert p.grid_shape == (n,) * dim and p.spd is False
    h = 1.0 / (n + 1)
    np.testing.assert_allclose(p.b, h * h)
    assert p.meta["h"] == h and p.meta["scheme"] == scheme and p.meta["peclet"] == pe
    assert p.meta["velocity"] == arg
    assert abs(p.A - p.A.T).max() > 0.1  # nonsymmetric for Pe > 0


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("scheme", ["upwind", "central"])
@pytest.mark.parametrize("velocity", ["diagonal", "vortex"])
def test_peclet_zero_is_poisson(dim, scheme, velocity):
    p = system(6, 0.0, dim=dim, scheme=scheme, velocity=velocity)
    poisson = us.problems.poisson2d(6) if dim == 2 else us.problems.poisson3d(6)
    assert abs(p.A - poisson.A).max() == 0.0
    assert p.A.nnz == poisson.A.nnz and p.spd is True and p.meta["cell_peclet"] == 0.0
    np.testing.assert_allclose(p.exact, poisson.exact, rtol=1e-15)


@pytest.mark.parametrize("dim", [2, 3])
def test_central_constant_velocity_is_poisson_plus_skew(dim):
    """For constant w the central convection matrix is skew: sym(A) = the Poisson matrix."""
    p = system(7, 25.0, dim=dim, scheme="central")
    poisson = (us.problems.poisson2d(7) if dim == 2 else us.problems.poisson3d(7)).A
    assert abs(0.5 * (p.A + p.A.T) - poisson).max() < 1e-14
    skew = 0.5 * (p.A - p.A.T)
    h = 1.0 / 8
    assert abs(skew).max() == pytest.approx(0.5 * h * 25.0 / math.sqrt(dim))


@pytest.mark.parametrize("velocity", ["diagonal", "vortex", (1.0, -2.0)])
@pytest.mark.parametrize("pe", [0.5, 10.0, 1000.0])
def test_upwind_is_an_m_matrix(velocity, pe):
    A = system(12, pe, velocity=velocity).A.toarray()
    off = A - np.diag(np.diag(A))
    assert off.max() <= 0.0  # nonpositive off-diagonals
    assert np.diag(A).min() > 0
    slack = np.diag(A) - np.abs(off).sum(axis=1)  # weakly diagonally dominant rows
    assert slack.min() >= -1e-12 and slack.max() > 0.5
    assert np.linalg.inv(A).min() >= -1e-12  # M-matrix: nonnegative inverse


def test_central_loses_diagonal_dominance_above_cell_peclet_one():
    n = 15  # h = 1/16; component cell Péclet |w_k| h/2 = 1 at |w_k| = 32
    for pe_component, dominant in [(30.0, True), (34.0, False)]:
        p = system(n, pe_component, velocity=(1.0, 0.0), scheme="central")
        A = p.A.toarray()
        off = A - np.diag(np.diag(A))
        slack = np.diag(A) - np.abs(off).sum(axis=1)
        assert bool(slack.min() >= -1e-12) is dominant
        assert bool(off.max() <= 0) is dominant
        assert p.meta["cell_peclet"] == pytest.approx(pe_component / 32)


def test_vortex_is_bounded_and_recorded():
    p = system(31, 40.0, velocity="vortex", rhs="ones")
    h = 1.0 / 32
    # |w| ≤ Pe, reached at the wall midpoints; the node nearest (1/2, 0) is (1/2, h)
    assert p.meta["cell_peclet"] == pytest.approx(40.0 * math.cos(math.pi * h) * h / 2)
    assert p.meta["cell_peclet"] <= 40.0 * h / 2


def test_manufactured_rhs_is_the_discrete_solution():
    p = system(20, 50.0, velocity="vortex", scheme="central")
    np.testing.assert_allclose(spla.spsolve(sp.csc_array(p.A), p.b), p.exact,
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("scheme", "dim", "sizes", "order"), [
    ("upwind", 2, (15, 31, 63), 1.0),
    ("central", 2, (15, 31, 63), 2.0),
    ("upwind", 3, (7, 15), 1.0),
    ("central", 3, (7, 15), 2.0),
])
@pytest.mark.parametrize("velocity", ["diagonal", "vortex"])
def test_discretisation_error_order(scheme, dim, sizes, order, velocity):
    """rhs='pde': f = −Δu* + w·∇u* exactly; the max error falls as h (upwind), h² (central)."""
    errors = []
    for n in sizes:
        p = system(n, 5.0, dim=dim, scheme=scheme, velocity=velocity, rhs="pde")
        assert p.exact is None
        x = spla.spsolve(sp.csc_array(p.A), p.b)
        errors.append(np.abs(x - p.meta["pde_solution"]).max())
    rates = [math.log2(errors[i] / errors[i + 1]) for i in range(len(errors) - 1)]
    # measured: upwind 0.84-1.21 (3D, n = 7 -> 15), 0.97-1.00 (2D, 31 -> 63); central 1.99-2.00
    assert rates[-1] == pytest.approx(order, abs=0.3 if order == 1 else 0.15), (errors, rates)


def test_random_rhs_is_seeded():
    a = system(8, 3.0, rhs="random", seed=4)
    b = system(8, 3.0, rhs="random", seed=4)
    c = system(8, 3.0, rhs="random", seed=5)
    np.testing.assert_array_equal(a.b, b.b)
    assert not np.array_equal(a.b, c.b)
    assert a.exact is None


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"n": 0}, "n must be"),
    ({"n": 2.5}, "n must be"),
    ({"n": 4, "dim": 4}, "dim must be 2"),
    ({"n": 4, "dim": 1}, "dim must be 2"),
    ({"n": 4, "scheme": "lax"}, "scheme must be 'upwind' or 'central'"),
    ({"n": 4, "velocity": "swirl"}, "velocity must be 'diagonal', 'vortex'"),
    ({"n": 4, "velocity": (1.0, 2.0, 3.0)}, "tuple of 2"),
    ({"n": 4, "velocity": (0.0, 0.0)}, "nonzero"),
    ({"n": 4, "peclet": -1.0}, "peclet must be a finite number >= 0"),
    ({"n": 4, "peclet": float("nan")}, "peclet"),
    ({"n": 4, "rhs": "bump"}, "rhs must be one of"),
])
def test_system_bad_input(kwargs, match):
    n = kwargs.pop("n")
    with pytest.raises(ValueError, match=match):
        system(n, **kwargs)


# ---------------------------------------------------------------- sequence

def test_sequence_step_is_backward_euler():
    nx, dt, pe = 12, 2e-3, 15.0
    m, h = nx - 1, 1.0 / nx
    grid = (np.arange(m) + 1) * h
    X, Y = np.meshgrid(grid, grid, indexing="ij")
    u = np.random.default_rng(0).standard_normal(m * m)
    for scheme in ("upwind", "central"):
        seq = sequence(nx, 9, dt, peclet=pe, scheme=scheme, seed=3)
        for t in (0, 4, 8):
            p = seq.instance(t, u)
            theta = seq.contexts[t]
            w = [pe * math.cos(theta), pe * math.sin(theta)]
            # (I/dt − Δ_h + w·∇_h) u⁺ = u/dt + f, times dt: I + (dt/h²) h²(−Δ_h + w·∇_h)
            ref = np.eye(m * m) + dt / h**2 * loop_reference(m, 2, scheme, lambda x, w=w: w)
            np.testing.assert_allclose(p.A.toarray(), ref, rtol=1e-13, atol=1e-12)
            f = heat_forcing(X, Y, (t + 1) * dt).ravel()
            np.testing.assert_allclose(p.b, u + dt * f, rtol=1e-14, atol=1e-14)
            np.testing.assert_array_equal(p.x0, u)  # warm start = previous solution
            assert p.meta["w"] == pytest.approx(tuple(w))
            assert p.context == theta and p.spd is False and p.grid_shape == (m, m)


def test_sequence_warm_start_trajectory_with_spsolve():
    seq = sequence(10, 6, 1e-2, peclet=20.0, seed=1)
    assert seq.warm_start
    prev, xs, mats = None, [], []
    for t in range(len(seq)):
        p = seq.instance(t, prev)
        np.testing.assert_array_equal(p.x0, seq.meta["u0"] if prev is None else prev)
        lo, hi = seq.context_range
        assert lo <= p.context < hi
        prev = spla.spsolve(sp.csc_array(p.A), p.b)
        xs.append(prev)
        mats.append(p.A)
    for a, b in itertools.pairwise(mats):  # one pattern, new values every step
        np.testing.assert_array_equal(a.indices, b.indices)
        np.testing.assert_array_equal(a.indptr, b.indptr)
        assert abs(a - b).max() > 1e-6
    for x, ref in zip(xs, seq.reference(), strict=True):
        np.testing.assert_allclose(x, ref, rtol=1e-12, atol=1e-14)


def test_sequence_is_seeded():
    a, b = sequence(8, 50, seed=7), sequence(8, 50, seed=7)
    c = sequence(8, 50, seed=8)
    np.testing.assert_array_equal(a.contexts, b.contexts)
    assert not np.array_equal(a.contexts, c.contexts)
    u = np.ones(49)
    pa, pb = a.instance(30, u), b.instance(30, u)
    np.testing.assert_array_equal(pa.A.data, pb.A.data)
    np.testing.assert_array_equal(pa.b, pb.b)
    assert abs(pa.A - c.instance(30, u).A).max() > 0


def test_flow_angles_random_walk():
    """θ increments: mean 2π dt, standard deviation π √dt (modulo 2π)."""
    dt = 1e-3
    theta = flow_angles(20001, dt, seed=0)
    assert theta.min() >= 0 and theta.max() < 2 * np.pi
    inc = np.angle(np.exp(1j * np.diff(theta)))  # unwrap each step
    assert inc.mean() == pytest.approx(2 * np.pi * dt, abs=4 * np.pi * math.sqrt(dt / 20000))
    assert inc.std() == pytest.approx(np.pi * math.sqrt(dt), rel=0.03)
    # every quadrant of directions is visited
    assert len(np.unique(np.floor(theta / (np.pi / 2)))) == 4


@pytest.mark.parametrize(("args", "kwargs", "match"), [
    ((2, 5), {}, "nx must be"),
    ((10, 0), {}, "steps must be"),
    ((10, 3, 0.0), {}, "dt must be"),
    ((10, 3, -1e-3), {}, "dt must be"),
    ((10, 3), {"scheme": "centred"}, "scheme must be"),
    ((10, 3), {"peclet": -2.0}, "peclet must be"),
])
def test_sequence_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        sequence(*args, **kwargs)

"""NeuralStagger: decomposition, physics loss, sub-networks, training, methods."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import unisolve as us  # noqa: E402
from unisolve.learned import stagger as st  # noqa: E402
from unisolve.problems import mac_flow as mf  # noqa: E402
from unisolve.solvers.mac_projection import MacProjection, reference_rollout  # noqa: E402

CONFIGS = [(1, 1, 1), (2, 2, 1), (2, 2, 2), (4, 4, 1)]


# ----------------------------------------------------------------------------- decomposition
@pytest.mark.parametrize("s", [*CONFIGS, (2, 4, 3), (4, 2, 1)])
@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_decompose_and_reassemble_are_exact_inverses(s, lib):
    rng = np.random.default_rng(0)
    traj = rng.standard_normal((6 * s[2], 3, 16, 24))   # (T, batch, ny, nx)
    x = traj if lib == "numpy" else torch.as_tensor(traj)
    sub = st.decompose(x, s)
    assert tuple(sub.shape) == (s[2], 6, 3, s[0] * s[1], 16 // s[0], 24 // s[1])
    back = st.reassemble(sub, s)
    back = back if lib == "numpy" else back.numpy()
    assert back.dtype == traj.dtype and np.array_equal(back, traj)   # bit for bit
    # and the sub-tasks are the interleaved sub-grids / sub-sequences
    a, b, k = s[0] - 1, s[1] - 1, s[2] - 1
    got = sub[k, :, :, a * s[1] + b]
    got = got if lib == "numpy" else got.numpy()
    assert np.array_equal(got, traj[k::s[2], :, a::s[0], b::s[1]])


def test_split_merge_space_round_trip_float32_nan_inf():
    x = np.array([[np.nan, 1.0, -0.0, np.inf]] * 4, dtype=np.float32)
    back = st.merge_space(st.split_space(x, 2, 2), 2, 2)
    assert np.array_equal(back.view(np.uint32), x.view(np.uint32))


@pytest.mark.parametrize("call, match", [
    (lambda: st.split_space(np.zeros((30, 32)), 4, 2), "ny = 30 is not a multiple of s_H = 4"),
    (lambda: st.decompose(np.zeros((4, 16, 18)), (2, 4, 1)),
     "nx = 18 is not a multiple of s_W = 4"),
    (lambda: st.split_time(np.zeros((5, 4, 4)), 2), "5 time levels do not split into 2"),
    (lambda: st.decompose(np.zeros((4, 8, 8)), (2, 2)), r"s must be three integers"),
    (lambda: st.merge_space(np.zeros((3, 4, 4)), 2, 2), "expected s_h \\* s_w = 4"),
])
def test_decomposition_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_train_rejects_a_grid_that_does_not_split():
    p = mf.decaying_turbulence(20, steps=2)
    with pytest.raises(ValueError, match="nx = 20 is not a multiple of s_W = 8"):
        st.train(p, s=(2, 8, 1), iterations=1, batch=1, pool=1, progress_bar=False)


# ----------------------------------------------------------------------------- physics loss
def _tg_loss(n, dt, t1, pressure=True):
    f = mf.MacFlow(n, n, 2 * np.pi / n, nu=0.01, dt=dt)
    t = torch.as_tensor
    p = mf.taylor_green_pressure(f, dt / 2) if pressure else np.zeros((n, n))
    return float(st.physics_loss(f, t(mf.taylor_green_psi(f, 0.0)), t(mf.taylor_green_psi(f, t1)),
                                 t(p)))


def test_physics_loss_vanishes_on_exact_taylor_green():
    exact64, exact128 = _tg_loss(64, 0.01, 0.01), _tg_loss(128, 0.01, 0.01)
    still = _tg_loss(64, 0.01, 0.0, pressure=False)   # the zero update: ψ¹ = ψ⁰, p = 0
    assert exact64 < 1e-4 * still
    assert 14 < exact64 / exact128 < 18   # it is the O(h²) truncation error, squared
    # the same loss in float32 (training precision) agrees
    f = mf.MacFlow(64, 64, 2 * np.pi / 64, nu=0.01, dt=0.01)
    t = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    l32 = float(st.physics_loss(f, t(mf.taylor_green_psi(f, 0.0)), t(mf.taylor_green_psi(f, 0.01)),
                                t(mf.taylor_green_pressure(f, 0.005))))
    assert abs(l32 - exact64) < 1e-2 * exact64


def test_physics_loss_is_zero_at_the_classical_step():
    p = mf.decaying_turbulence(32, steps=1, seed=5)
    psi1, pres, _, ok = MacProjection(p.flow).step(p.psi0)
    assert ok
    t = torch.as_tensor
    loss = float(st.physics_loss(p.flow, t(p.psi0), t(psi1), t(pres)))
    assert loss < 1e-20
    # and in the channel, penalised cells included
    c = mf.cylinder_channel(32, 64, steps=1)
    psi1, pres, _, ok = MacProjection(c.flow).step(c.psi0)
    assert ok and float(st.physics_loss(c.flow, t(c.psi0), t(psi1), t(pres))) < 1e-18


# ----------------------------------------------------------------------------- networks
def test_group_extraction_matches_the_grouped_net():
    torch.manual_seed(0)
    net = st.StaggerNet(2, 2, width=4, levels=1, groups=4)
    for par in net.out.parameters():        # leave the zero start
        torch.nn.init.normal_(par)
    x = torch.randn(2, 8, 8, 8)
    y = net(x)
    for g in range(4):
        one = net.group(g)(x[:, 2 * g:2 * g + 2])
        assert torch.allclose(one, y[:, 2 * g:2 * g + 2], atol=1e-5)


def test_widths_keep_the_weight_count_of_the_fine_network():
    p = mf.decaying_turbulence(32, steps=2)
    counts = {s: st.train(p, s=s, width=16, iterations=1, batch=1, pool=1,
                          progress_bar=False).parameters for s in [(1, 1, 1), (2, 2, 1)]}
    # the fine U-Net has one more level (same physical receptive field)
    assert 0.5 < counts[(2, 2, 1)] / counts[(1, 1, 1)] < 1.0


# ----------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def tiny():
    """(problem, trained (2, 2, 1), trained (1, 1, 1)) on 32² turbulence."""
    p = mf.decaying_turbulence(32, steps=8, seed=11, dt=0.05, k0=2.0)
    kw = dict(width=16, iterations=300, batch=8, pool=32, lr=3e-3, seed=0, progress_bar=False)
    return p, st.train(p, s=(2, 2, 1), **kw), st.train(p, s=(1, 1, 1), **kw)


@pytest.mark.parametrize("which, factor", [(1, 0.75), (2, 0.5)])
def test_trained_one_step_beats_the_zero_update(tiny, which, factor):
    p, model = tiny[0], tiny[which]
    losses = model.log.train_loss
    assert np.mean(losses[-30:]) < 0.2 * np.mean(losses[:10])
    traj = model.rollout(p, 1)
    reference_rollout(p)  # mac-cn's trajectory, stored on the problem
    err = p.velocity_error(traj)[1]
    zero = p.velocity_error(np.stack([p.psi0, p.psi0]))[1]
    assert err < factor * zero   # (2,2,1) at 32²: 0.59; (1,1,1): < 0.5 (measured)


def test_sub_grids_roll_out_alone(tiny):
    p, model = tiny[0], tiny[1]
    full = model.rollout(p, 4)
    for a, b in [(0, 0), (1, 0), (1, 1)]:
        coarse = model.coarse_rollout(p, (a, b), steps=4)
        assert coarse.shape == (5, 16, 16)
        assert np.allclose(coarse, full[:, a::2, b::2], atol=1e-5)


def test_methods_and_persistence(tiny, tmp_path):
    p, stag, fine = tiny
    r = us.solve(p, method="neural-stagger", model=stag)
    assert r.method == "neural-stagger" and r.x.shape == (9, 32, 32)
    assert r.info["s"] == (2, 2, 1) and len(r.info["velocity_error"]) == 9
    assert r.info["velocity_error"][-1] < 1.0
    path = stag.save(tmp_path / "stag.pt")
    again = st.StaggerModel.load(path)
    assert np.array_equal(again.rollout(p), r.x)
    r2 = us.solve(p, method="neural-stagger", model=str(path))
    assert np.array_equal(r2.x, r.x)
    assert us.solve(p, method="neural-fine", model=fine).x.shape == (9, 32, 32)
    with pytest.raises(ValueError, match="use method='neural-fine'"):
        us.solve(p, method="neural-stagger", model=fine)
    with pytest.raises(ValueError, match="needs a trained model"):
        us.solve(p, method="neural-stagger")
    with pytest.raises(TypeError, match="model must be a StaggerModel"):
        us.solve(p, method="neural-fine", model=3)
    other = mf.decaying_turbulence(16, steps=2)
    with pytest.raises(ValueError, match="trained for another flow set-up"):
        stag.rollout(other)


def test_time_staggered_model_and_shared_net():
    p = mf.decaying_turbulence(16, steps=4, seed=2, dt=0.05)
    m = st.train(p, s=(2, 2, 2), width=8, iterations=30, batch=4, pool=8, progress_bar=False)
    traj = m.rollout(p)
    assert traj.shape == (5, 16, 16)
    # the first step is the classical solver's (a two-level start)
    assert np.allclose(traj[1], reference_rollout(p)[1], atol=1e-6)
    with pytest.raises(ValueError, match="positive multiple of s_T = 2"):
        m.rollout(p, 3)
    with pytest.raises(ValueError, match="coarse_rollout needs s_T = 1"):
        m.coarse_rollout(p)
    shared = st.train(p, s=(2, 2, 1), shared=True, width=8, iterations=30, batch=4, pool=8,
                      progress_bar=False)
    assert shared.parameters < m.parameters
    full = shared.rollout(p)
    assert np.allclose(shared.coarse_rollout(p, (0, 1)), full[:, 0::2, 1::2], atol=1e-5)


def test_channel_training_and_batch_rollout():
    p = mf.cylinder_channel(16, 32, steps=4)
    m = st.train(p, s=(2, 2, 1), width=8, iterations=20, batch=2, pool=4, progress_bar=False)
    q = mf.cylinder_channel(16, 32, steps=4, seed=1)
    both = m.rollout([p, q])
    assert both.shape == (2, 5, 16, 32)
    assert np.allclose(both[0], m.rollout(p), atol=1e-6)


def test_training_is_reproducible():
    p = mf.decaying_turbulence(16, steps=2)
    a, b = (st.train(p, s=(2, 2, 1), width=8, iterations=5, batch=2, pool=4, seed=3,
                     progress_bar=False) for _ in range(2))
    assert a.log.train_loss == b.log.train_loss


@pytest.mark.parametrize("kwargs, match", [
    ({"iterations": 0}, "iterations must be an integer >= 1"),
    ({"batch": 5, "pool": 4}, r"batch \(5\) must be <= pool \(4\)"),
    ({"lr": -1.0}, "lr must be a number > 0"),
    ({"s": (2, 2, 0)}, "s must be three integers"),
    ({"dtype": torch.int32}, "dtype must be torch.float32 or torch.float64"),
])
def test_bad_training_options(kwargs, match):
    p = mf.decaying_turbulence(16, steps=2)
    with pytest.raises(ValueError, match=match):
        st.train(p, **{"iterations": 1, "batch": 1, "pool": 1, "progress_bar": False,
                       **kwargs})

"""NeuralStagger, issue 29: temporal sub-task rollouts, the per-unit-time accounting, and
the Strouhal estimator of the cylinder benchmark."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import unisolve as us  # noqa: E402
from unisolve.learned import stagger as st  # noqa: E402
from unisolve.problems import mac_flow as mf  # noqa: E402
from unisolve.solvers.mac_projection import reference_rollout  # noqa: E402


def _perturbed(model, scale=0.05, seed=0):
    """Give every per-sub-task filter and the (zero-initialised) output layer random
    values, so that a rollout is far from the zero update and differs per sub-grid."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for q in model.net.parameters():
            q.add_(scale * torch.randn(q.shape, generator=gen, dtype=q.dtype))
    return model


@pytest.fixture(scope="module", params=[(1, 1, 2), (2, 2, 2), (2, 2, 4)])
def timed(request):
    p = mf.decaying_turbulence(16, steps=8, seed=4, dt=0.02)
    m = st.train(p, s=request.param, width=8, iterations=2, batch=2, pool=4, seed=1,
                 progress_bar=False)
    return p, _perturbed(m)


# ----------------------------------------------------------------------------- time sub-tasks
def test_strided_rollout_is_the_interleaved_rollouts_levels(timed):
    p, m = timed
    s_t = m.s[2]
    full = m.rollout(p)
    strided = m.rollout(p, strided=True)
    assert full.shape == (9, 16, 16)
    assert strided.shape == (8 // s_t + 1, 16, 16)
    # the levels 0, s_T, 2 s_T, ... of the interleaved rollout (sub-sequence 0) ...
    assert np.allclose(strided, full[::s_t], rtol=1e-5, atol=1e-6)
    # ... and not the other sub-sequences' levels (the test can tell them apart)
    assert not np.allclose(strided[1:], full[1:: s_t][: len(strided) - 1], atol=1e-3)
    # batched over problems as well
    q = mf.decaying_turbulence(16, steps=8, seed=5, dt=0.02)
    both = m.rollout([p, q], strided=True)
    assert both.shape == (2, *strided.shape)
    assert np.allclose(both[0], strided, rtol=1e-5, atol=1e-6)


def test_strided_rollout_calls_the_network_once_per_s_T_steps(timed, monkeypatch):
    p, m = timed
    s_t = m.s[2]
    calls = []
    advance = m.advance

    def counting(psi, q):
        calls.append(psi.shape[0])
        return advance(psi, q)

    monkeypatch.setattr(m, "advance", counting)
    m.rollout(p, strided=True)
    assert calls == [1] * (8 // s_t)               # batch 1, one call per s_T Δt
    calls.clear()
    m.rollout(p)
    assert calls == [s_t] * (8 // s_t)             # all s_T sub-sequences per call


def test_strided_rollout_errors():
    p = mf.decaying_turbulence(16, steps=6, dt=0.02)
    m = st.train(p, s=(2, 2, 2), width=8, iterations=1, batch=1, pool=1, progress_bar=False)
    with pytest.raises(ValueError, match="positive multiple of s_T = 2"):
        m.rollout(p, 5, strided=True)
    with pytest.raises(TypeError, match="strided must be True or False"):
        m.rollout(p, strided="yes")


# ----------------------------------------------------------------------------- accounting
def test_per_unit_time_accounting_on_a_tiny_case(timed):
    p, m = timed
    s_t, dt = m.s[2], p.flow.dt
    r = us.solve(p, method="neural-stagger", model=m, strided=True)
    info = r.info
    assert r.x.shape == (8 // s_t + 1, 16, 16)
    assert info["network_calls"] == 8 // s_t
    assert info["time_levels_every"] == s_t
    assert math.isclose(info["simulated_time"], 8 * dt)
    # wall seconds per unit of simulated time = (calls · seconds per call) / (calls · s_T · Δt)
    sec = info["rollout_seconds"]
    assert 0 < sec <= r.time        # Result.time also holds the reference run
    assert math.isclose(info["seconds_per_unit_time"] * info["simulated_time"], sec,
                        rel_tol=1e-12)
    assert math.isclose(info["seconds_per_step"] * 8, sec, rel_tol=1e-12)
    # the strided errors are the interleaved rollout's errors at the same time levels
    full = us.solve(p, method="neural-stagger", model=m)
    assert full.info["network_calls"] == 8 // s_t
    assert np.allclose(info["velocity_error"], full.info["velocity_error"][::s_t],
                       rtol=1e-4, atol=1e-7)
    ref = reference_rollout(p)
    assert np.allclose(p.velocity_error(ref[::s_t], every=s_t), 0.0)


def test_mac_cn_reports_seconds_per_unit_time():
    p = mf.taylor_green_flow(16, steps=5, dt=0.05)
    r = us.solve(p, method="mac-cn")
    assert math.isclose(r.info["simulated_time"], 0.25)
    assert math.isclose(r.info["seconds_per_unit_time"],
                        r.info["seconds_per_step"] / 0.05, rel_tol=1e-12)


def test_velocity_error_every_rejects_bad_input():
    p = mf.taylor_green_flow(16, steps=4)
    ref = reference_rollout(p)
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        p.velocity_error(ref, every=0)
    with pytest.raises(ValueError, match="k \\* every <= steps = 4"):
        p.velocity_error(ref[:4], every=2)


# ----------------------------------------------------------------------------- Strouhal
def test_strouhal_recovers_the_frequency_of_a_synthetic_signal():
    dt, f, d, u = 0.004, 1.225, 0.2, 1.0
    t = np.arange(3000) * dt
    rng = np.random.default_rng(0)
    # a shedding-like signal: offset, first and second harmonics, small noise
    sig = 0.4 + np.sin(2 * np.pi * f * t + 0.7) + 0.2 * np.sin(4 * np.pi * f * t) \
        + 0.01 * rng.standard_normal(t.size)
    st_num = mf.strouhal(sig, dt, length=d, velocity=u)
    assert abs(st_num - f * d / u) < 2e-3 * f * d / u
    # a wrong frequency is told apart (the test can fail)
    assert abs(mf.strouhal(np.sin(2 * np.pi * 1.1 * f * t), dt, d) - f * d) > 0.05 * f * d


def test_strouhal_needs_enough_periods_and_finite_samples():
    t = np.arange(500) * 0.01
    with pytest.raises(ValueError, match="fewer than min_periods = 3"):
        mf.strouhal(np.sin(2 * np.pi * 0.5 * t), 0.01)          # 2.5 periods
    with pytest.raises(ValueError, match="no shedding"):
        mf.strouhal(np.exp(-t), 0.01)                           # no oscillation
    with pytest.raises(ValueError, match="non-finite"):
        mf.strouhal(np.array([0.0, np.nan, 1.0]), 0.01)
    with pytest.raises(ValueError, match="dt must be a finite number > 0"):
        mf.strouhal(np.sin(t), 0.0)


def test_wake_probe_reads_v_behind_the_cylinder():
    """The probe of the default 64 × 128 channel is the v-face (32, 48): x = 48.5 h =
    0.758 = x_c + 1.3 D, y = 32 h = 0.5 (mac-cn's series there: period 209 steps,
    St = 0.2447, measured 2026-12-03)."""
    p = mf.cylinder_channel(64, 128, steps=2)
    psi = np.random.default_rng(0).standard_normal((3, 64, 128))
    assert np.array_equal(mf.wake_probe(p, psi), p.flow.velocity(psi)[1][:, 32, 48])
    with pytest.raises(ValueError, match="needs a cylinder_channel problem"):
        mf.wake_probe(mf.taylor_green_flow(16, steps=1), np.zeros((1, 16, 16)))

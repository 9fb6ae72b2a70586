"""NeuralStagger ``tendency=True`` (issue 29): the coarse explicit vorticity tendency as
input and skip connection of every sub-network."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unisolve.learned import stagger as st  # noqa: E402
from unisolve.problems import mac_flow as mf  # noqa: E402
from unisolve.solvers.mac_projection import reference_rollout  # noqa: E402


def _zero_network(model):
    with torch.no_grad():
        for q in model.net.out.parameters():
            q.zero_()
    return model


def _euler_tendency(flow, psi):
    """∂ψ/∂t = (−Δ)⁻¹(−u·∇ω + νΔω) on ``flow``'s grid, in NumPy, written independently:
    u, v at the nodes from ψ's centred differences of the face values, ∇ω centred."""
    h = flow.h
    u = (np.roll(psi, -1, 0) - psi) / h + flow.mean_flow[0]   # faces
    v = -(np.roll(psi, -1, 1) - psi) / h + flow.mean_flow[1]
    w = flow.vorticity(*flow.velocity(psi))
    u_n = (u + np.roll(u, 1, 0)) / 2
    v_n = (v + np.roll(v, 1, 1)) / 2
    w_x = (np.roll(w, -1, 1) - np.roll(w, 1, 1)) / (2 * h)
    w_y = (np.roll(w, -1, 0) - np.roll(w, 1, 0)) / (2 * h)
    w_t = -(u_n * w_x + v_n * w_y) + flow.nu * flow.laplacian(w)
    return flow.poisson(-w_t)            # Δ ψ_t = −ω_t


@pytest.mark.parametrize("s", [(1, 1, 1), (2, 2, 1), (2, 2, 2)])
def test_untrained_tendency_model_is_the_coarse_explicit_euler_step(s):
    p = mf.decaying_turbulence(32, seed=3, steps=2, dt=0.02)
    m = _zero_network(st.train(p, s=s, shared=True, width=4, iterations=1, batch=1, pool=1,
                               tendency=True, dtype=torch.float64, progress_bar=False))
    got = m.rollout(p, s[2], strided=True)[1]
    s_h, s_w, s_t = s
    f = p.flow
    coarse = mf.MacFlow(f.ny // s_h, f.nx // s_w, f.h * s_h, f.nu, f.dt)
    want = np.empty_like(p.psi0)
    for a in range(s_h):
        for b in range(s_w):
            sub = p.psi0[a::s_h, b::s_w]
            want[a::s_h, b::s_w] = sub + s_t * f.dt * _euler_tendency(coarse, sub)
    # up to the mean of ψ (irrelevant: the velocity is its curl)
    d = got - want
    assert np.abs(d - d.mean()).max() < 1e-10 * np.abs(want).max()


def test_tendency_skip_makes_the_untrained_model_accurate():
    """The zero network plus the skip (the untrained model) is 10× closer to mac-cn after
    one step than the zero update of a model without it (the test fails without the
    skip)."""
    p = mf.decaying_turbulence(32, seed=5, steps=4, dt=0.02, k0=2.0)   # resolved scales
    reference_rollout(p)
    errs = {}
    for tend in (False, True):
        m = _zero_network(st.train(p, s=(1, 1, 1), shared=True, width=4, iterations=1,
                                   batch=1, pool=1, tendency=tend, progress_bar=False))
        errs[tend] = p.velocity_error(m.rollout(p))[1:]
    assert np.all(errs[True] < 0.1 * errs[False])


def test_tendency_models_train_save_and_load(tmp_path):
    p = mf.decaying_turbulence(16, seed=1, steps=4, dt=0.02)
    m = st.train(p, s=(2, 2, 2), shared=True, width=8, iterations=5, batch=2, pool=4,
                 tendency=True, progress_bar=False)
    assert m.config["tendency"] and m.config["c_in"] == 6 + 4   # 5 fields + ψ_t + offsets
    path = m.save(tmp_path / "t.pt")
    back = st.StaggerModel.load(path)
    assert np.array_equal(back.rollout(p), m.rollout(p))
    assert np.array_equal(back.rollout(p, strided=True), m.rollout(p, strided=True))


def test_a_tendency_sub_grid_rolls_out_alone():
    p = mf.decaying_turbulence(16, seed=2, steps=3, dt=0.02)
    m = st.train(p, s=(2, 2, 1), shared=True, width=8, iterations=5, batch=2, pool=4,
                 tendency=True, progress_bar=False)
    assert np.allclose(m.coarse_rollout(p, (1, 0)), m.rollout(p)[:, 1::2, 0::2], atol=1e-5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # the classical start-up overflows
def test_training_guard_skips_blown_up_states():
    """An explicit step far past its stability limit (Δt = 0.4 on 16²) blows the pool
    states up; the guard skips those updates and replaces the states, so the weights stay
    finite and the model still rolls out a finite step."""
    p = mf.decaying_turbulence(16, seed=1, steps=2, dt=0.4)
    m = st.train(p, s=(1, 1, 2), width=4, iterations=120, batch=2, pool=4, tendency=True,
                 progress_bar=False)
    assert all(torch.isfinite(q).all() for q in m.net.parameters())
    assert m.meta["skipped_steps"] > 0

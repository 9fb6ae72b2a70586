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


def _euler(flow, psi, tau):
    return psi + tau * _euler_tendency(flow, psi)


def _rk3(flow, psi, tau):
    """The Shu–Osher SSP-RK3 step of τ of the Euler tendency above, independently."""
    y1 = _euler(flow, psi, tau)
    y2 = 0.75 * psi + 0.25 * _euler(flow, y1, tau)
    return psi / 3 + 2 / 3 * _euler(flow, y2, tau)


@pytest.mark.parametrize("scheme, s", [(True, (1, 1, 1)), (True, (2, 2, 1)),
                                       ("euler", (2, 2, 2)), ("rk3", (1, 1, 1)),
                                       ("rk3", (2, 2, 5))])
def test_untrained_tendency_model_is_the_coarse_classical_step(scheme, s):
    """Zero network: the model is the Euler (``True`` or "euler") or SSP-RK3 step of s_T·Δt
    on every coarse sub-grid, written independently in NumPy."""
    p = mf.decaying_turbulence(32, seed=3, steps=5, dt=0.02)
    m = _zero_network(st.train(p, s=s, shared=True, width=4, iterations=1, batch=1, pool=1,
                               tendency=scheme, dtype=torch.float64, progress_bar=False))
    assert m.scheme == ("euler" if scheme is True else scheme)
    step = _rk3 if scheme == "rk3" else _euler
    got = m.rollout(p, s[2], strided=True)[1]
    s_h, s_w, s_t = s
    f = p.flow
    coarse = mf.MacFlow(f.ny // s_h, f.nx // s_w, f.h * s_h, f.nu, f.dt)
    want = np.empty_like(p.psi0)
    for a in range(s_h):
        for b in range(s_w):
            want[a::s_h, b::s_w] = step(coarse, p.psi0[a::s_h, b::s_w], s_t * f.dt)
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


def test_rk3_skip_beats_euler_at_long_steps():
    """Central advection with explicit Euler is unstable at any Δt (its error grows with
    the step); at s_T = 10 (τ = 0.2) on 32² the RK3 skip ends t = 1 within 0.06 of mac-cn
    and ≥ 3× closer than the Euler skip (the reason the long steps of s_T > 1 need it)."""
    p = mf.decaying_turbulence(32, seed=4, steps=50, dt=0.02, k0=2.0)
    reference_rollout(p)
    errs = {}
    for scheme in ("euler", "rk3"):
        m = _zero_network(st.train(p, s=(1, 1, 10), shared=True, width=4, iterations=1,
                                   batch=1, pool=1, tendency=scheme, progress_bar=False))
        errs[scheme] = float(p.velocity_error(m.rollout(p, strided=True), every=10)[-1])
    assert errs["rk3"] < 0.06
    assert errs["euler"] > 3 * errs["rk3"]


def test_tendency_option_is_checked():
    p = mf.decaying_turbulence(16, steps=2)
    with pytest.raises(ValueError, match="tendency must be"):
        st.train(p, width=4, iterations=1, batch=1, pool=1, tendency="rk4",
                 progress_bar=False)


def _shedding_start(ny=32, nx=64, warm=150):
    from unisolve.solvers.mac_projection import MacProjection

    base = mf.cylinder_channel(ny, nx, steps=1)
    traj, _ = MacProjection(base.flow).rollout(base.psi0, warm)
    return base, traj[-1]


def test_channel_skip_takes_the_penalisation_and_tracks_mac_cn():
    """With penalised cells the skip adds the Brinkman term (implicit) and projects back
    to a stream function: the untrained fine model follows mac-cn past a cylinder to
    ≤ 0.05 over 20 steps, its wall row as mac-cn's; the same step without the
    penalisation (the Euler tendency before issue 29's second pass) leaves the body
    and the walls to the fluid and is 3× further off."""
    base, psi = _shedding_start()
    p = mf.FlowProblem(base.flow, psi, 20, "start", base.meta)
    reference_rollout(p)
    m = _zero_network(st.train(p, s=(1, 1, 1), width=4, iterations=1, batch=1, pool=1,
                               tendency="rk3", dtype=torch.float64, progress_bar=False))
    traj = m.rollout(p)
    err = p.velocity_error(traj)[-1]
    assert err < 0.05
    u, _ = base.flow.velocity(traj[-1])
    u_ref, _ = base.flow.velocity(p.reference_rollout()[-1])
    # the penalised wall row (at rest but for the inflow band's corner) as mac-cn has it
    assert np.abs(u[0] - u_ref[0]).max() < 0.05 * np.abs(u_ref).max()
    # the old skip: the same RK3 step without the penalisation (const=None)
    plain = m._tendency
    m._tendency = lambda psi, fields=None, const=None: plain(psi, fields, None)
    err_plain = p.velocity_error(m.rollout(p))[-1]
    assert err_plain > 3 * err


def test_penalised_projection_recovers_the_penalised_vorticity():
    """ψ̃ = (−Δ_H)⁻¹ ω_H(u_pen, v_pen): the curl of the projected stream function is the
    vorticity of the penalised velocity, and where the body is there the velocity is
    damped towards u_b by 1/(1 + λ)."""
    base, psi = _shedding_start(16, 32, 20)
    m = st.train(mf.FlowProblem(base.flow, psi, 1, "x", base.meta), s=(1, 1, 1), width=4,
                 iterations=1, batch=1, pool=1, tendency="rk3", dtype=torch.float64,
                 progress_bar=False)
    psi_t = torch.as_tensor(psi)[None, None]
    _, _, const = m._split(psi_t[:, 0], psi_t[:, 0])
    tau = base.flow.dt
    new = m._penalised(psi_t, const, tau)[0, 0].numpy()
    f = base.flow
    lam = f.penalty
    u, v = f.velocity(psi)
    pen_u = f.kappa_u > 0
    pen_v = f.kappa_v > 0
    u_b = f.u_b
    u_pen = np.where(pen_u, (u + lam * u_b) / (1 + lam), u)
    v_pen = np.where(pen_v, v / (1 + lam), v)
    w_want = f.vorticity(u_pen, v_pen)
    w_got = f.vorticity(*f.velocity(new))
    assert np.allclose(w_got, w_want, atol=1e-10 * np.abs(w_want).max())


def test_self_starts_are_the_untrained_models_own_rollout():
    """starts='self': the training states are the skip's own rollout from ψ⁰ after
    ``self_warm`` steps (no solver data); without a skip it is refused."""
    p = mf.decaying_turbulence(16, seed=6, steps=2, dt=0.02)
    m = _zero_network(st.train(p, s=(2, 2, 2), shared=True, width=4, iterations=1, batch=1,
                               pool=1, tendency="rk3", progress_bar=False))
    bank = st._self_states(m, p, warm=6, keep=4)
    run = mf.FlowProblem(p.flow, p.psi0, 10, "run", p.meta)
    assert np.array_equal(bank, m.rollout(run, strided=True)[3:])
    trained = st.train(p, s=(2, 2, 2), shared=True, width=4, iterations=3, batch=2, pool=3,
                       tendency="rk3", starts="self", self_warm=6, progress_bar=False)
    assert trained.meta["starts"] == "self" and trained.meta["self_warm"] == 6
    with pytest.raises(ValueError, match="tendency"):
        st.train(p, width=4, iterations=1, batch=1, pool=1, starts="self", progress_bar=False)


def test_projected_pressure_is_the_loss_minimising_one():
    """physics_loss(p=None) ≤ the loss with any pressure (here mac-cn's own and zero),
    and an exact Crank–Nicolson step has zero loss without its pressure."""
    from unisolve.solvers.mac_projection import MacProjection

    base, psi = _shedding_start(16, 32, 30)
    f = base.flow
    psi1, p1, _, _ = MacProjection(f).step(psi)
    t = lambda a: torch.as_tensor(a)[None]   # noqa: E731
    exact = float(st.physics_loss(f, t(psi), t(psi1), None))
    still = float(st.physics_loss(f, t(psi), t(psi), None))
    assert exact < 1e-12 * still
    other = psi1 + 1e-3 * np.random.default_rng(0).standard_normal(psi1.shape)
    best = float(st.physics_loss(f, t(psi), t(other), None))
    for p in (p1, np.zeros_like(p1), p1 + np.random.default_rng(1).standard_normal(p1.shape)):
        assert best <= float(st.physics_loss(f, t(psi), t(other), t(p))) * (1 + 1e-12)


def test_projected_pressure_training_leaves_the_pressure_output_at_zero():
    base, psi = _shedding_start(16, 32, 30)
    p = mf.FlowProblem(base.flow, psi, 2, "x", base.meta)
    m = st.train(p, s=(1, 1, 1), width=4, iterations=4, batch=2, pool=2, tendency="rk3",
                 pressure="projected", progress_bar=False)
    assert m.meta["pressure"] == "projected"
    w = m.net.out.weight.detach()
    assert float(w[1].abs().max()) == 0.0    # no gradient reaches it
    assert float(w[0].abs().max()) > 0.0
    with pytest.raises(ValueError, match="pressure must be"):
        st.train(p, width=4, iterations=1, batch=1, pool=1, pressure="exact",
                 progress_bar=False)

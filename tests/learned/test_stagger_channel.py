"""NeuralStagger on the channel: hard walls/inflow, face weights of the loss, start states."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unisolve.learned import stagger as st  # noqa: E402
from unisolve.problems import mac_flow as mf  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _problem(steps=2):
    return mf.cylinder_channel(16, 32, steps=steps)


def _static_faces_by_hand(flow):
    # walls: the all-solid rows 0 and 15; inflow band: the all-solid columns 0-3.
    # u-face (i, j) sits between cells (i, j-1), (i, j); v-face (i, j) between (i-1, j), (i, j)
    static = np.zeros(flow.shape, bool)
    static[[0, 15], :] = True
    static[:, :4] = True
    f_u = static | static[:, list(range(-1, 31))]
    f_v = static | static[list(range(-1, 15)), :]
    return f_u, f_v


def test_static_nodes_are_the_nodes_of_the_wall_and_inflow_faces():
    flow = _problem().flow
    nodes = st.static_nodes(flow)
    assert np.nonzero(nodes.all(axis=1))[0].tolist() == [0, 1, 15]
    assert np.nonzero(nodes.all(axis=0))[0].tolist() == [0, 1, 2, 3, 4]
    assert int(nodes.sum()) == 3 * 32 + 5 * 13
    # changing ψ anywhere else leaves every wall and inflow face velocity as it was
    f_u, f_v = _static_faces_by_hand(flow)
    rng = np.random.default_rng(0)
    psi = rng.standard_normal(flow.shape)
    psi2 = psi + np.where(nodes, 0.0, rng.standard_normal(flow.shape))
    (u, v), (u2, v2) = flow.velocity(psi), flow.velocity(psi2)
    assert np.array_equal(u[f_u], u2[f_u]) and np.array_equal(v[f_v], v2[f_v])
    # and the cylinder is free (its faces are not static)
    body = flow.solid.copy()
    body[[0, 15], :] = False
    body[:, :4] = False
    assert body.any() and not (nodes & body).any()


@pytest.mark.parametrize("s", [(1, 1, 1), (2, 2, 1)])
def test_hard_walls_keep_wall_and_inflow_velocities_exactly(s):
    p = _problem()
    m = st.train(p, s=s, width=8, iterations=2, batch=2, pool=4, hard_walls=True,
                 starts="blocked", progress_bar=False)
    assert m.config["hard_walls"] is True
    free = st.train(p, s=s, width=8, iterations=2, batch=2, pool=4, progress_bar=False)
    for model in (m, free):
        with torch.no_grad():
            model.net.out.weight.normal_(0.0, 1.0)
            model.net.out.bias.normal_(0.0, 1.0)
    free.net.load_state_dict(m.net.state_dict())   # the same network, no hard walls
    f_u, f_v = _static_faces_by_hand(p.flow)
    traj = m.rollout(p, 2)
    u0, v0 = p.flow.velocity(traj[0])
    for psi in traj[1:]:
        u, v = p.flow.velocity(psi)
        assert np.array_equal(u[f_u], u0[f_u]) and np.array_equal(v[f_v], v0[f_v])
        assert np.abs(u - u0).max() > 1e-3        # the fluid moves
    u, v = p.flow.velocity(free.rollout(p, 1)[1])
    assert np.abs(u[f_u] - u0[f_u]).max() > 1e-3  # without the constraint the walls move
    # the constraint is part of the saved model
    m2 = st.StaggerModel.load(m.save(_tmp_file()))
    assert np.array_equal(m2.rollout(p, 2), traj)


def _tmp_file():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp()) / "m.pt"


def test_face_weights_scale_the_residual_face_by_face():
    flow = _problem().flow
    f_u, f_v = _static_faces_by_hand(flow)
    pen_u, pen_v = flow.kappa_u > 0, flow.kappa_v > 0
    w_u, w_v = st.face_weights(flow, 0.25, hard_walls=True)
    assert np.all(w_u[f_u] == 0) and np.all(w_v[f_v] == 0)
    assert np.all(w_u[pen_u & ~f_u] == 0.25) and np.all(w_v[pen_v & ~f_v] == 0.25)
    assert np.all(w_u[~pen_u] == 1) and np.all(w_v[~pen_v] == 1)
    w_u2, w_v2 = st.face_weights(flow, 0.25)
    assert np.all(w_u2[pen_u] == 0.25) and np.all(w_v2[pen_v] == 0.25)
    # physics_loss with weights = the mean of the weighted squared residual, by hand
    rng = np.random.default_rng(1)
    psi0, psi1, p = (mf.plug_flow_psi(flow) + 0.01 * rng.standard_normal(flow.shape)
                     for _ in range(3))
    r_u, r_v = flow.residual(psi0, psi1, p)
    # the mean pressure gradient is fitted on the faces that count (w > 0) only
    c_u, c_v = r_u - r_u[w_u > 0].mean(), r_v - r_v[w_v > 0].mean()
    by_hand = np.mean((w_u * c_u) ** 2 + (w_v * c_v) ** 2) * flow.dt**2
    t = torch.as_tensor
    got = st.physics_loss(flow, t(psi0), t(psi1), t(p), (w_u, w_v))
    assert float(got) == pytest.approx(by_hand, rel=1e-12)
    plain = st.physics_loss(flow, t(psi0), t(psi1), t(p))
    assert float(plain) == pytest.approx(np.mean(r_u**2 + r_v**2) * flow.dt**2, rel=1e-12)
    # the penalised faces dominate the unweighted loss (the term λ (u¹ − u_b), λ = 20)
    assert float(got) < 0.1 * float(plain)
    # no face left out: the recentring changes nothing (MacFlow.residual has mean zero)
    ones = (np.ones(flow.shape), np.ones(flow.shape))
    assert float(st.physics_loss(flow, t(psi0), t(psi1), t(p), ones)) == \
        pytest.approx(float(plain), rel=1e-12)
    # a batch recentres each state on its own
    two = st.physics_loss(flow, t(np.stack([psi0, psi1])), t(np.stack([psi1, psi0])),
                          t(np.stack([p, p])), (w_u, w_v))
    other = st.physics_loss(flow, t(psi1), t(psi0), t(p), (w_u, w_v))
    assert float(two) == pytest.approx((float(got) + float(other)) / 2, rel=1e-12)


def test_left_out_wall_faces_do_not_shift_the_fluid_residual():
    # the blocked start with p = 0: the inflow faces' penalty (u = 1 against u_b = 0 on
    # the band's downstream face) is huge; left out, it must not leak into the mean
    flow = mf.channel_flow(16, 32)
    b = torch.as_tensor(st._blocked_plug_psi(flow))
    z = torch.zeros_like(b)
    w = st.face_weights(flow, 1.0, hard_walls=True)
    r_u, r_v = flow.residual(b.numpy(), b.numpy(), z.numpy())
    by_hand = np.mean((w[0] * (r_u - r_u[w[0] > 0].mean())) ** 2
                      + (w[1] * (r_v - r_v[w[1] > 0].mean())) ** 2) * flow.dt**2
    shifted = np.mean((w[0] * r_u) ** 2 + (w[1] * r_v) ** 2) * flow.dt**2
    got = float(st.physics_loss(flow, b, b, z, w))
    assert got == pytest.approx(by_hand, rel=1e-12) and got < 0.1 * shifted


def test_blocked_starts_hold_the_body_at_rest_and_put_noise_in_the_fluid_only():
    p = _problem()
    flow = p.flow
    states = st._random_states(p, 6, np.random.default_rng(3), "blocked", wake=0.5)
    again = st._random_states(p, 6, np.random.default_rng(3), "blocked", wake=0.5)
    assert np.array_equal(states, again)                      # seeded
    base = st._blocked_plug_psi(flow)
    penalised_nodes = st._face_nodes(flow.kappa_u > 0, flow.kappa_v > 0)
    assert np.all(states[:, penalised_nodes] == base[penalised_nodes])
    assert np.abs(states - base).max() > 1e-3                 # but not all the same
    # the base: u = 0 on every face inside the body, the plug flow on the walls/inflow
    u, v = flow.velocity(base)
    u_plug, v_plug = flow.velocity(mf.plug_flow_psi(flow))
    f_u, f_v = _static_faces_by_hand(flow)
    body = flow.solid & ~(np.isin(np.arange(16), [0, 15])[:, None] | (np.arange(32) < 4))
    inside_u = body & np.roll(body, 1, axis=1)                  # both cells in the body
    assert inside_u.any() and np.abs(u[inside_u]).max() < 1e-12
    assert np.allclose(u[f_u], u_plug[f_u], atol=1e-12)
    assert np.allclose(v[f_v], v_plug[f_v], atol=1e-12)
    # and it is discretely harmonic on the free nodes (a potential flow round the body)
    free = ~(st.static_nodes(flow) | penalised_nodes)
    assert np.abs(flow.laplacian(base)[free]).max() < 1e-6 * np.abs(base).max() / flow.h**2


def test_wake_starts_put_the_vortices_behind_the_body():
    flow = _problem().flow
    psi = st._wake_psi(flow, np.random.default_rng(0), x_body=0.5)
    w = np.abs(flow.vorticity(*flow.velocity(psi)))
    x = (np.arange(flow.nx) + 0.5) * flow.h
    assert w[:, x > 0.5].sum() > 20 * w[:, x < 0.35].sum()


def test_channel_options_train_reproducibly_and_reject_bad_input():
    p = _problem()
    kw = dict(s=(1, 1, 1), width=8, iterations=4, batch=2, pool=4, hard_walls=True,
              solid_weight=0.5, starts="blocked", wake=0.5, progress_bar=False)
    a, b = st.train(p, **kw, seed=2), st.train(p, **kw, seed=2)
    assert a.log.train_loss == b.log.train_loss
    assert a.meta["solid_weight"] == 0.5 and a.meta["starts"] == "blocked"
    turb = mf.decaying_turbulence(16, steps=2)
    with pytest.raises(ValueError, match="for flows with penalised cells"):
        st.train(turb, s=(1, 1, 1), iterations=1, batch=1, pool=1, hard_walls=True,
                 progress_bar=False)
    with pytest.raises(ValueError, match="starts must be 'plug', 'blocked' or 'self'"):
        st.train(p, iterations=1, batch=1, pool=1, starts="wake", progress_bar=False)
    with pytest.raises(ValueError, match="wake > 0 needs starts='blocked'"):
        st.train(p, iterations=1, batch=1, pool=1, wake=0.5, progress_bar=False)
    with pytest.raises(ValueError, match="solid_weight must be a finite number >= 0"):
        st.train(p, iterations=1, batch=1, pool=1, solid_weight=-1.0, progress_bar=False)

"""The MAC-grid flow discretisation and its classical Crank–Nicolson solver."""

import numpy as np
import pytest

import unisolve as us
from unisolve.problems import mac_flow as mf
from unisolve.result import Status
from unisolve.solvers.mac_projection import MacProjection, mac_cn


def _periodic(n, nu=0.01, dt=0.02):
    return mf.MacFlow(n, n, 2 * np.pi / n, nu=nu, dt=dt)


def _rms(r):
    return float(np.sqrt((r[0] ** 2 + r[1] ** 2).mean()))


def test_velocity_of_psi_is_divergence_free_and_inverts():
    f = _periodic(32)
    psi = mf.random_turbulence_psi(f, seed=4)
    u, v = f.velocity(psi)
    assert np.abs(f.divergence(u, v)).max() < 1e-12
    assert np.allclose(f.psi_from_velocity(u, v), psi, atol=1e-12, rtol=0)
    # ω = −Δ_h ψ at the nodes
    assert np.allclose(f.vorticity(u, v), -f.laplacian(psi), atol=1e-10)


def test_staggered_stencils_on_a_single_mode():
    # the MAC differences of sin are exact up to the symbols 2 sin(kh/2)/h
    n = 16
    f = _periodic(n)
    x = np.arange(n)[None, :] * f.h
    psi = np.broadcast_to(np.sin(x), (n, n)).copy()
    _, v = f.velocity(psi)
    sym = 2 * np.sin(f.h / 2) / f.h
    assert np.allclose(v, -sym * np.cos(x + f.h / 2), atol=1e-13)
    lap = f.laplacian(psi)
    assert np.allclose(lap, -sym**2 * psi, atol=1e-12)


def test_advection_conserves_momentum_and_energy():
    f = _periodic(32)
    u, v = f.velocity(mf.random_turbulence_psi(f, seed=7))
    a_u, a_v = f.advection(u, v)
    assert abs(a_u.sum()) < 1e-10 and abs(a_v.sum()) < 1e-10
    # Σ u·A(u) = 0 for a discretely divergence-free u (Morinishi et al. 1998)
    work = (u * a_u + v * a_v).sum()
    assert abs(work) < 1e-10 * np.abs(u * a_u).sum()


@pytest.mark.parametrize("n", [32, 64])
def test_taylor_green_residual_is_second_order(n):
    def rms(m):
        f = _periodic(m, dt=0.01)
        return _rms(f.residual(mf.taylor_green_psi(f, 0.0), mf.taylor_green_psi(f, f.dt),
                               mf.taylor_green_pressure(f, f.dt / 2)))

    f = _periodic(n, dt=0.01)
    still = _rms(f.residual(mf.taylor_green_psi(f, 0.0), mf.taylor_green_psi(f, 0.0),
                            np.zeros((n, n))))
    assert rms(n) < 2e-2 * still
    assert 3.8 < rms(n) / rms(2 * n) < 4.2


def test_solver_zeroes_the_residual_and_matches_taylor_green():
    errs = []
    for n in (32, 64):
        p = mf.taylor_green_flow(n, steps=25)
        psi, rec = MacProjection(p.flow).rollout(p.psi0, p.steps)
        assert rec["status"] is Status.CONVERGED
        r = p.flow.residual(psi[-2], psi[-1], rec["p"])
        assert np.abs(r).max() < 1e-9
        exact = mf.taylor_green_psi(p.flow, p.steps * p.flow.dt)
        errs.append(np.abs(psi[-1] - exact).max())
    assert errs[0] < 1e-4
    assert 3.5 < errs[0] / errs[1] < 4.5   # second order in h (and Δt fixed, CN O(Δt²) tiny)


def test_inviscid_energy_is_conserved():
    f = _periodic(32, nu=0.0, dt=0.02)
    psi0 = mf.random_turbulence_psi(f, seed=2)
    psi, _ = MacProjection(f).rollout(psi0, 10)
    e0, e1 = f.kinetic_energy(psi[0]), f.kinetic_energy(psi[-1])
    assert abs(e1 - e0) < 1e-9 * e0
    # with viscosity it decays
    fv = _periodic(32, nu=0.05, dt=0.02)
    psiv, _ = MacProjection(fv).rollout(psi0, 10)
    assert fv.kinetic_energy(psiv[-1]) < 0.9 * e0


def test_channel_keeps_the_flux_and_stops_the_flow_in_the_solid():
    p = mf.cylinder_channel(32, 64, steps=40)
    f = p.flow
    psi, rec = MacProjection(f).rollout(p.psi0, p.steps)
    assert rec["status"] is Status.CONVERGED
    u, v = f.velocity(psi[-1])
    assert abs(u.mean() - f.mean_flow[0]) < 1e-12 and abs(v.mean()) < 1e-12
    cylinder = f.solid.copy()
    cylinder[[0, -1]] = False      # not the walls
    cylinder[:, :4] = False        # not the inflow band
    inside = cylinder & np.roll(cylinder, 1, -1)   # u-faces with both cells in the cylinder
    assert inside.sum() > 10
    assert np.abs(u[inside]).max() < 0.01 * f.mean_flow[0]   # penalty λ = 20
    # the flux through every column is the same (discrete incompressibility)
    flux = u.sum(axis=0) * f.h
    assert np.ptp(flux) < 1e-10
    assert np.abs(p.flow.residual(psi[-2], psi[-1], rec["p"])).max() < 1e-8


def test_solve_uses_mac_cn_by_default_and_fills_the_reference():
    p = mf.decaying_turbulence(16, steps=5, seed=1)
    r = us.solve(p)
    assert r.method == "mac-cn" and r.status is Status.CONVERGED
    assert r.x.shape == (6, 16, 16) and len(r.info["picard"]) == 5
    assert np.array_equal(p.reference_rollout(), r.x)
    err = p.velocity_error(np.stack([p.psi0] * 6))
    assert err[0] == 0 and err[-1] > 1e-3


def test_maxiter_is_reported():
    p = mf.decaying_turbulence(16, steps=2, seed=1)
    r = us.solve(p, maxiter=1)
    assert r.status is Status.MAX_ITER


@pytest.mark.parametrize("kwargs, match", [
    ({"ny": 3}, "ny must be an integer >= 4"),
    ({"nu": -1.0}, "nu must be a finite number >= 0"),
    ({"dt": 0.0}, "dt must be a finite number > 0"),
    ({"solid": np.zeros((3, 3), bool)}, r"solid must have shape \(8, 8\)"),
])
def test_bad_flow_setup(kwargs, match):
    base = {"ny": 8, "nx": 8, "h": 0.1, "nu": 0.01, "dt": 0.01}
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        mf.MacFlow(**base)


def test_bad_problem():
    f = _periodic(8)
    with pytest.raises(ValueError, match=r"psi0 must have the grid's shape \(8, 8\)"):
        mf.FlowProblem(f, np.zeros((4, 4)), 3)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        mf.FlowProblem(f, np.zeros((8, 8)), 0)
    with pytest.raises(TypeError, match="flow must be a MacFlow"):
        mf.FlowProblem("flow", np.zeros((8, 8)), 3)
    p = mf.FlowProblem(f, np.zeros((8, 8)), 3)
    with pytest.raises(ValueError, match=r"a trajectory has shape \(k \+ 1, 8, 8\)"):
        p.velocity_error(np.zeros((9, 8, 8)))
    with pytest.raises(TypeError, match="mac-cn solves a FlowProblem"):
        mac_cn("not a problem")


def test_non_divisible_grid_message():
    with pytest.raises(ValueError, match="nx = 30 is not a multiple of s_W = 4"):
        mf.check_divisible((32, 30), 2, 4)

"""The pseudo-spectral 2D Navier–Stokes solver, its residual and the dataset generator."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unisolve.problems import navier_stokes as nsp  # noqa: E402
from unisolve.problems.navier_stokes import SpectralNavierStokes  # noqa: E402


def rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


@pytest.mark.parametrize("scheme", ["cn-heun", "cn-rk4"])
@pytest.mark.parametrize("k, dt", [(1, 1e-2), (2, 1e-3)])
def test_taylor_green_decays_exactly(scheme, k, dt):
    # u·∇ω = 0 for Taylor-Green: only νΔ acts; CN's relative error after time t is
    # t λ³Δt²/12 with λ = 8π²k²ν (5e-10 for k = 1, Δt = 1e-2; 5e-9 for k = 2, Δt = 1e-3)
    ns = SpectralNavierStokes(32, nu=1e-3, force=0)
    out = ns.simulate(nsp.taylor_green(32, 0.0, k=k), 0.5, 4, dt=dt, scheme=scheme)
    exact = nsp.taylor_green(32, [0.5, 1.0, 1.5, 2.0], nu=1e-3, k=k)
    assert rel(out.numpy(), exact) < 1e-8


def _order(ns, w0, scheme, steps=(8, 16, 32)):
    ref = ns.simulate(w0, 0.5, 1, dt=0.5 / 512, scheme=scheme)[..., 0, :, :]
    errs = [float((ns.simulate(w0, 0.5, 1, dt=0.5 / m, scheme=scheme)[..., 0, :, :] - ref)
                  .norm() / ref.norm()) for m in steps]
    return np.log2(np.array(errs[:-1]) / np.array(errs[1:]))


@pytest.mark.parametrize("scheme", ["cn-heun", "cn-rk4"])
def test_temporal_convergence_is_second_order(scheme):
    ns = SpectralNavierStokes(32, nu=1e-3)
    orders = _order(ns, nsp.grf_vorticity(32, 2, seed=0), scheme)
    assert np.all(np.abs(orders - 2.0) < 0.1), orders


def test_cn_rk4_is_fourth_order_without_viscosity():
    ns = SpectralNavierStokes(32, nu=0.0)
    orders = _order(ns, nsp.grf_vorticity(32, seed=1), "cn-rk4")
    assert np.all(np.abs(orders - 4.0) < 0.2), orders


def test_mean_vorticity_stays_zero():
    ns = SpectralNavierStokes(32)
    w = ns.simulate(nsp.grf_vorticity(32, 3, seed=2), 0.5, 20, dt=1e-2)
    assert float(w.abs().max()) > 0.1
    assert float(w.mean(dim=(-2, -1)).abs().max()) < 1e-12


def test_inviscid_unforced_flow_conserves_energy_and_enstrophy():
    # the de-aliased advection term conserves both quadratic invariants exactly in space;
    # CN-RK4 (4th order at ν = 0) leaves an O(Δt⁴) drift
    ns = SpectralNavierStokes(32, nu=0.0, force=0)
    w0 = torch.as_tensor(nsp.grf_vorticity(32, seed=3))
    w = ns.simulate(w0, 0.5, 4, dt=2.5e-3, scheme="cn-rk4")

    def invariants(w):
        wh = ns.rfft(w)
        u, v = (ns.irfft(z) for z in ns.velocity(wh))
        return float((u**2 + v**2).mean()), float((ns.irfft(wh) ** 2).mean())

    e0, z0 = invariants(w0)
    for frame in w:
        e, z = invariants(frame)
        assert abs(e / e0 - 1) < 1e-9 and abs(z / z0 - 1) < 1e-9


def test_steady_forced_state_is_a_fixed_point():
    # f is one Fourier shell with ψ ∝ ω, so ω = f / (8π²ν) is an exact steady solution
    nu = 1e-2
    f = nsp.forcing(32)
    ns = SpectralNavierStokes(32, nu=nu)
    w_s = f / (8 * np.pi**2 * nu)
    out = ns.simulate(w_s, 1.0, 2, dt=1e-2, scheme="cn-rk4")
    assert rel(out[-1].numpy(), w_s) < 1e-12


def test_grf_is_seeded_and_has_the_covariance_spectrum():
    a = nsp.grf_vorticity(32, 200, seed=5)
    assert np.array_equal(a, nsp.grf_vorticity(32, 200, seed=5))
    assert not np.array_equal(a, nsp.grf_vorticity(32, 200, seed=6))
    power = (np.abs(np.fft.fft2(a)) ** 2).mean(axis=0)
    lam = lambda k: (4 * np.pi**2 * k**2 + 49.0) ** -2.5  # noqa: E731  α = 2.5, τ = 7
    # E|ŵ_k|² ∝ λ_k for modes (1, 0) and (4, 0) (and their ±, x/y copies), to sampling error
    p1 = np.mean([power[1, 0], power[0, 1], power[-1, 0], power[0, -1]])
    p4 = np.mean([power[4, 0], power[0, 4], power[-4, 0], power[0, -4]])
    assert abs((p4 / p1) / (lam(4) / lam(1)) - 1) < 0.15
    assert np.abs(a.mean(axis=(1, 2))).max() < 1e-12


def test_cn_residual_of_exact_solution_vanishes_at_second_order():
    # exact decay e^{−λt}: the CN residual relative to ω_t at the left frame is
    # (1 + e^{−x})/2 − (1 − e^{−x})/x = x²/12 + O(x³), x = λΔt
    ns = SpectralNavierStokes(32, nu=1e-3, force=0)
    ratios = []
    for dt in (0.1, 0.05):
        w = torch.as_tensor(nsp.taylor_green(32, dt * np.arange(5), nu=1e-3, k=2))
        r = nsp.hminus1_norm(nsp.cn_residual(w, dt, ns), ns)
        w_t = nsp.hminus1_norm(ns.rhs(ns.rfft(w[:-1])), ns)
        ratios.append(float((r / w_t).max()))
    lam = 8 * np.pi**2 * 4 * 1e-3
    x = lam * 0.1
    assert ratios[0] == pytest.approx((1 + np.exp(-x)) / 2 - (1 - np.exp(-x)) / x, rel=1e-9)
    assert 3.9 < ratios[0] / ratios[1] < 4.1


def test_cn_residual_of_a_fine_trajectory_is_small():
    # truth from a fine-step solver: its residual at Δt = 0.2 is far below that of a 1% error
    ns = SpectralNavierStokes(32)
    w0 = ns.simulate(nsp.grf_vorticity(32, seed=4), 2.0, 1, dt=1e-2)[0]    # past the transient
    w = ns.simulate(w0, 0.2, 6, dt=1e-2)
    r_true = nsp.hminus1_norm(nsp.cn_residual(w, 0.2, ns), ns)
    r_bad = nsp.hminus1_norm(nsp.cn_residual(w * 1.01, 0.2, ns), ns)
    assert float(r_true.max()) < 0.05 * float(r_bad.min())


def test_hminus1_norm_is_parseval():
    ns = SpectralNavierStokes(16, force=0)
    r = np.random.default_rng(0).standard_normal((3, 16, 16))
    alpha = 0.3
    k = np.fft.fftfreq(16, 1 / 16)
    sym = alpha + 4 * np.pi**2 * (k[:, None] ** 2 + k[None, :] ** 2)
    g = np.fft.ifft2(np.fft.fft2(r) / np.sqrt(sym)).real        # (α − Δ)^{−1/2} r on the grid
    direct = np.sqrt((g**2).mean(axis=(1, 2)))                  # L² on [0, 1)²: h² Σ = mean
    parseval = nsp.hminus1_norm(torch.fft.rfft2(torch.as_tensor(r)), ns, alpha).numpy()
    np.testing.assert_allclose(parseval, direct, rtol=1e-12)


def test_dataset_subsamples_the_fine_solver_and_caches(tmp_path):
    kw = dict(solver_resolution=32, warmup=0.3, dt_frame=0.1, cache=tmp_path, progress=False)
    d = nsp.navier_stokes_dataset(3, 16, 2, 3, seed=7, batch_size=2, **kw)
    assert d.w.shape == (3, 5, 16, 16) and d.w.dtype == np.float32
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1
    again = nsp.navier_stokes_dataset(3, 16, 2, 3, seed=7, batch_size=2, **kw)
    assert again.meta["cache"] == str(files[0]) and np.array_equal(again.w, d.w)
    # trajectory 2 by hand: GRF #2 of the seed's stream on 32², warm-up, frames, every 2nd point
    ns = SpectralNavierStokes(32)
    w0 = nsp.grf_vorticity(32, 3, seed=7)[2]
    w_hat = ns.rfft(w0)
    for _ in range(30):
        w_hat = ns.step(w_hat, 0.01)
    frames = ns.simulate(ns.irfft(w_hat), 0.1, 4, dt=1e-2)
    expect = torch.cat([ns.irfft(w_hat)[None], frames])[:, ::2, ::2].numpy()
    np.testing.assert_allclose(d.w[2], expect, rtol=0, atol=1e-6)
    p = d.problem(2)
    assert p.w_in.shape == (2, 16, 16) and p.w_ref.shape == (3, 16, 16)
    assert p.rel_l2(p.w_ref) == 0.0
    other = nsp.navier_stokes_dataset(3, 16, 2, 3, seed=8, batch_size=2, **kw)
    assert not np.array_equal(other.w, d.w)
    assert len(list(tmp_path.glob("*.npz"))) == 2


@pytest.mark.parametrize("kwargs, match", [
    (dict(resolution=15), "even integer"),
    (dict(resolution=16, solver_resolution=40), "multiple of resolution"),
    (dict(t_in=0), "t_in must be an integer >= 1"),
    (dict(scheme="euler"), "scheme must be one of"),
    (dict(dt_frame=-0.1), "dt_frame must be finite and > 0"),
])
def test_dataset_rejects_bad_input(kwargs, match):
    base = dict(n_traj=1, resolution=16, t_in=1, t_out=1, cache=False, progress=False)
    with pytest.raises(ValueError, match=match):
        nsp.navier_stokes_dataset(**{**base, **kwargs})


def test_problem_and_solver_reject_shape_mismatches():
    with pytest.raises(ValueError, match=r"w_ref must have shape \(t_out, 16, 16\)"):
        nsp.NavierStokesProblem(np.zeros((2, 16, 16)), np.zeros((3, 8, 8)), 0.1)
    with pytest.raises(ValueError, match=r"w_in must have shape \(t_in, n, n\)"):
        nsp.NavierStokesProblem(np.zeros((16, 16)), None, 0.1, t_out_=3)
    p = nsp.NavierStokesProblem(np.zeros((2, 16, 16)), np.ones((3, 16, 16)), 0.1)
    with pytest.raises(ValueError, match=r"a prediction has shape \(3, 16, 16\)"):
        p.rel_l2(np.zeros((3, 8, 8)))
    ns = SpectralNavierStokes(16)
    with pytest.raises(ValueError, match=r"end in the grid shape \(16, 16\)"):
        ns.rfft(np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match="scheme must be one of"):
        ns.step(ns.rfft(np.zeros((16, 16))), 0.1, "rk2")
    with pytest.raises(ValueError, match="nu must be finite and >= 0"):
        SpectralNavierStokes(16, nu=-1.0)

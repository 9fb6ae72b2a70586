"""PINN and LPINN: autograd residuals of exact solutions, the failure mode at small size,
reproducibility, the Result contract, persistence and bad input."""

import numpy as np
import pytest
import torch

import unisolve as us
from unisolve.learned.lpinn import LPINN, lagrangian_residuals
from unisolve.learned.physics import eulerian_residual
from unisolve.learned.pinn import PINN
from unisolve.problems import pde
from unisolve.result import Status

SMALL = {"epochs": 150, "lbfgs": 60, "collocation": (24, 16), "progress": False}


def _points(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (2 * torch.pi * torch.rand(n, 1, generator=g, dtype=torch.float64)).requires_grad_(True)
    t = torch.rand(n, 1, generator=g, dtype=torch.float64).requires_grad_(True)
    return x, t


def _burgers_exact(C, nu):
    """Cole–Hopf with φ = 2 + e^{−νt} cos(x − Ct): u = C + 2ν e^{−νt} sin ξ / φ."""

    def u(x, t):
        xi = x - C * t
        decay = torch.exp(-nu * t)
        return C + 2 * nu * decay * torch.sin(xi) / (2 + decay * torch.cos(xi))

    return u


@pytest.mark.parametrize("problem, exact", [
    (pde.convection(30.0, nx=8, nt=2), lambda x, t: torch.sin(x - 30.0 * t)),
    (pde.convection_diffusion(5.0, 0.2, nx=8, nt=2),
     lambda x, t: torch.exp(-0.2 * t) * torch.sin(x - 5.0 * t)),
    (pde.burgers(3.0, nu=0.01, nx=8, nt=2, resolution=64), _burgers_exact(3.0, 0.01)),
    (pde.burgers(0.0, nu=0.5, nx=8, nt=2, resolution=64), _burgers_exact(0.0, 0.5)),
])
def test_autograd_residual_of_an_exact_solution_vanishes(problem, exact):
    x, t = _points()
    r = eulerian_residual(problem, exact, x, t)
    assert float(r.detach().abs().max()) < 1e-5
    # and it is not vacuous: a perturbed solution leaves a residual
    wrong = eulerian_residual(problem, lambda x, t: exact(x, t) + 0.1 * torch.sin(2 * x), x, t)
    assert float(wrong.detach().abs().max()) > 1e-2


def test_lagrangian_residuals_of_exact_characteristics_vanish():
    """X = x₀ + ct + 0.3 sin x₀ (J = 1 + 0.3 cos x₀) carrying e^{−νt} sin(X − ct)."""
    c, nu = 3.0, 0.1
    p = pde.convection_diffusion(c, nu, nx=8, nt=2)
    x0, t = _points()
    disp = c * t + 0.3 * torch.sin(x0)
    u = torch.exp(-nu * t) * torch.sin(x0 + disp - c * t)
    r_x, r_u = lagrangian_residuals(p, disp, u, x0, t)
    assert float(r_x.detach().abs().max()) < 1e-10 and float(r_u.detach().abs().max()) < 1e-10
    r_x, r_u = lagrangian_residuals(p, disp, u * (1 + 0.1 * t), x0, t)  # wrong in time
    assert float(r_u.detach().abs().max()) > 1e-2


def test_lpinn_beats_pinn_at_c30_with_the_same_small_budget():
    """The paper's failure mode at test size: same state network, budget and seed."""
    p = pde.convection(30.0, nx=64, nt=20)
    budget = {"epochs": 300, "lbfgs": 150, "collocation": (32, 16), "progress": False}
    r_p = us.solve(p, method="pinn", seed=0, **budget)
    r_l = us.solve(p, method="lpinn", seed=0, **budget)
    assert r_l.info["rel_l2"] < 0.05
    assert r_p.info["rel_l2"] > 0.5
    assert r_p.info["rel_l2"] > 10 * r_l.info["rel_l2"]
    assert r_l.info["min_jacobian"] > 0.5  # X = x₀ + 30t: the labels stay in order


def test_lpinn_learns_burgers_characteristics_that_compress_into_the_shock():
    p = pde.burgers(0.0, nx=64, nt=20, resolution=512)
    r = us.solve(p, method="lpinn", seed=0, epochs=300, lbfgs=150, collocation=(48, 24),
                 progress=False)
    assert r.info["rel_l2"] < 0.2
    X = r.info["characteristics"]
    np.testing.assert_allclose(X[0], p.x, atol=0.05)  # X(x₀, 0) = x₀
    assert 0 < r.info["min_jacobian"] < 0.5  # labels crowd into the shock at x = π


def test_result_contract_and_reproducibility():
    p = pde.convection(1.0, nx=32, nt=10)
    seen = []
    r1 = us.solve(p, method="pinn", seed=3, callback=seen.append, **SMALL)
    r2 = us.solve(p, method="pinn", seed=3, **SMALL)
    r3 = us.solve(p, method="pinn", seed=4, **SMALL)
    assert r1.x.shape == p.grid_shape and r1.method == "pinn"
    assert r1.status is Status.MAX_ITER and r1.iterations == 210
    assert len(r1.residuals) == r1.iterations + 1
    assert r1.info["rel_l2"] == pytest.approx(p.rel_l2(r1.x))
    assert isinstance(r1.info["model"], PINN) and r1.info["parameters"] == 7901
    assert [s.iteration for s in seen] == list(range(211))
    assert [s.residual for s in seen] == r1.residuals and seen[0].x is r1.info["model"]
    assert r1.residuals == r2.residuals and np.array_equal(r1.x, r2.x)  # same seed
    assert not np.array_equal(r1.x, r3.x)  # another seed, another network


def test_callback_stop_and_atol_end_training_early():
    p = pde.convection(1.0, nx=32, nt=10)

    def stop(state):
        if state.iteration == 5:
            raise StopIteration

    r = us.solve(p, method="lpinn", callback=stop, **SMALL)
    assert r.status is Status.STOPPED and r.iterations == 5
    r = us.solve(p, method="pinn", atol=1.0, **SMALL)
    assert r.status is Status.CONVERGED and r.residuals[-1] <= 1.0 < r.residuals[0]
    assert r.iterations < 210


def test_save_load_round_trip_and_solving_with_a_model(tmp_path):
    p = pde.convection(10.0, nx=32, nt=10)
    r = us.solve(p, method="lpinn", seed=1, **SMALL)
    model = r.info["model"]
    path = model.save(tmp_path / "lpinn.pt")
    back = LPINN.load(path)
    np.testing.assert_array_equal(back.predict(p.x, p.t), r.x)
    again = us.solve(p, method=back)
    assert again.info["rel_l2"] == r.info["rel_l2"] and again.residuals == r.residuals
    with pytest.raises(ValueError, match="not a unisolve pinn model file"):
        PINN.load(path)
    with pytest.raises(ValueError, match="trained for convection with c=10"):
        us.solve(pde.convection(20.0, nx=32, nt=10), method=back)
    with pytest.raises(TypeError, match="takes no solve options"):
        us.solve(p, method=back, epochs=3)


@pytest.mark.parametrize("options, error, match", [
    ({"epochs": -1}, ValueError, "epochs must be an int >= 0"),
    ({"lr": 0.0}, ValueError, "lr must be a finite number > 0"),
    ({"collocation": (2,)}, ValueError, r"collocation must be \(nx, nt\)"),
    ({"depth": 0}, ValueError, "depth"),
    ({"epoch": 10}, TypeError, "unknown option"),
])
def test_bad_options_raise_clear_errors(options, error, match):
    p = pde.convection(1.0, nx=8, nt=2)
    with pytest.raises(error, match=match):
        us.solve(p, method="pinn", progress=False, **options)


def test_a_non_pde_problem_is_refused():
    with pytest.raises(ValueError, match="solves problems of kind pde"):
        us.solve(us.problems.poisson2d(4), method="lpinn")
    with pytest.raises(TypeError, match="PDEProblem"):
        PINN(us.problems.poisson2d(4))


def test_state_networks_start_from_the_conserved_mean():
    """Burgers with C = 50: the layers learn u − 50, not the constant (exactly 0 for sin x)."""
    p = pde.burgers(50.0, nx=16, nt=3, resolution=256)
    for cls in (PINN, LPINN):
        model = cls(p)
        assert model.nets["u"].offset == 50.0
        assert abs(model.predict(p.x, p.t).mean() - 50.0) < 2.0
    assert PINN(pde.convection(3.0, nx=16, nt=3)).nets["u"].offset == 0.0

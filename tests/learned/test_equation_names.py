"""Issue 27 item 5: a PDE's ``equation`` must name a supported form (PINN and LPINN
accepted "convection-difusion" and "heat" silently and trained a(u) = c for them)."""

import dataclasses

import numpy as np
import pytest
import torch

import unisolve as us
from unisolve.learned.lpinn import LPINN
from unisolve.learned.physics import eulerian_residual
from unisolve.learned.pinn import PINN
from unisolve.problems import pde


def _own(equation, **kw):
    base = pde.convection_diffusion(1.0, 0.1, nx=8, nt=3)
    return pde.PDEProblem(equation, base.c, base.nu, base.u0, base.x, base.t, base.u_ref,
                          reference="mine", **kw)


@pytest.mark.parametrize("name, hint", [("convection-difusion", "'convection-diffusion'"),
                                        ("Burgers", "'burgers'"), ("convecton", "'convection'")])
def test_a_misspelt_equation_is_refused_with_the_closest_name(name, hint):
    with pytest.raises(ValueError, match=f"did you mean {hint}") as err:
        _own(name)
    for form in pde.EQUATIONS:
        assert repr(form) in str(err.value)


def test_an_unknown_equation_lists_the_supported_forms():
    with pytest.raises(ValueError, match=r"unknown equation 'heat'; the supported forms of "
                                         r"u_t \+ a\(u\) u_x = nu u_xx are 'convection'"):
        _own("heat")
    with pytest.raises(TypeError, match="equation must be a string"):
        _own(None)


@pytest.mark.parametrize("model", [PINN, LPINN])
def test_pinn_and_lpinn_refuse_a_reassigned_equation(model):
    p = _own("convection-diffusion")
    model(p)  # accepted
    bad = dataclasses.replace(p)
    object.__setattr__(bad, "equation", "heat")  # around __post_init__
    with pytest.raises(ValueError, match="unknown equation 'heat'"):
        model(bad)
    with pytest.raises(ValueError, match="unknown equation 'heat'"):
        us.solve(bad, method=model.method, epochs=1, lbfgs=0, progress=False)


def test_every_constructor_still_builds_a_supported_equation():
    made = [pde.convection(1.0, nx=8, nt=2), pde.convection_diffusion(1.0, 0.0, nx=8, nt=2),
            pde.convection_diffusion(1.0, 0.1, nx=8, nt=2),
            pde.burgers(0.0, nu=0.1, nx=8, nt=2, resolution=64)]
    assert [p.equation for p in made] == ["convection", "convection", "convection-diffusion",
                                          "burgers"]
    assert np.isfinite(made[-1].u_ref).all()


# ----------------------------------------------------------------------------- own a(u)
def test_custom_reference_equals_the_exact_solutions_for_constant_and_burgers_speeds():
    p = pde.custom(lambda u: 2.0 + 0 * u, 0.1, nx=32, nt=6, resolution=64)
    exact = pde.convection_diffusion(2.0, 0.1, nx=32, nt=6)
    assert np.abs(p.u_ref - exact.u_ref).max() < 1e-7
    b = pde.custom(lambda u: u, 0.1, u0=lambda x: 1.0 + np.sin(x), nx=32, nt=6,
                   resolution=128)
    cole_hopf = pde.burgers_cole_hopf(b.x, b.t, nu=0.1, C=1.0)
    assert np.abs(b.u_ref - cole_hopf).max() < 1e-6
    assert (b.equation, b.c) == ("custom", 2.0)  # c = max |a(u₀)|


def test_custom_nonlinear_speed_converges_under_refinement_and_trains():
    a = lambda u: 1 + u ** 2  # noqa: E731  (works on numpy and torch)
    coarse = pde.custom(a, 0.2, nx=16, nt=4, t_final=0.5, resolution=64)
    fine = pde.custom(a, 0.2, nx=16, nt=4, t_final=0.5, resolution=128)
    assert np.abs(coarse.u_ref - fine.u_ref).max() < 1e-7
    assert float(coarse.speed(np.array(2.0))) == 5.0
    # the residual PINN trains on uses a(u): for u = sin(x − t), R = u² cos(x − t) + ν sin(x − t)
    x = torch.linspace(0, 6, 7, dtype=torch.float64).reshape(-1, 1).requires_grad_(True)
    t = torch.linspace(0, 0.5, 7, dtype=torch.float64).reshape(-1, 1).requires_grad_(True)
    r = eulerian_residual(coarse, lambda x, t: torch.sin(x - t), x, t)
    xi = (x - t).detach()
    torch.testing.assert_close(r.detach(), torch.sin(xi) ** 2 * torch.cos(xi)
                               + 0.2 * torch.sin(xi))
    for model in (PINN, LPINN):
        m = model(coarse, seed=0).fit(coarse, epochs=3, lbfgs=0, collocation_points=(8, 4),
                                      progress=False)
        assert np.isfinite(m.log.train_loss).all()


def test_custom_needs_a_callable_and_only_custom_takes_one():
    base = pde.convection_diffusion(1.0, 0.1, nx=8, nt=3)
    with pytest.raises(ValueError, match="equation='custom' goes with a callable a"):
        _own("custom")
    with pytest.raises(ValueError, match="a is only for equation='custom'"):
        _own("burgers", a=lambda u: u)
    with pytest.raises(TypeError, match="a must be a callable"):
        pde.custom(1.0, 0.1)
    assert _own("custom", a=lambda u: 0 * u + 1.0).speed(np.ones(2)).tolist() == [1.0, 1.0]
    assert base.a is None

"""PDE problems: exact references, the Burgers solver's convergence, Cole–Hopf, bad input."""

import numpy as np
import pytest

from unisolve.problems import pde


def test_convection_reference_is_the_shifted_initial_condition():
    p = pde.convection(37.5, nx=64, nt=9)
    T, X = np.meshgrid(p.t, p.x, indexing="ij")
    np.testing.assert_allclose(p.u_ref, np.sin(X - 37.5 * T), atol=1e-12)
    assert p.equation == "convection" and p.nu == 0 and p.grid_shape == (9, 64)
    assert p.x[1] - p.x[0] == pytest.approx(2 * np.pi / 64) and p.x[-1] < 2 * np.pi


def test_convection_diffusion_reference_matches_each_fourier_mode():
    def u0(x):
        return np.sin(3 * x) + 0.5 * np.cos(x)

    c, nu = 4.0, 0.05
    p = pde.convection_diffusion(c, nu, nx=32, nt=6, t_final=2.0, u0=u0)
    T, X = np.meshgrid(p.t, p.x, indexing="ij")
    exact = (np.exp(-9 * nu * T) * np.sin(3 * (X - c * T))
             + 0.5 * np.exp(-nu * T) * np.cos(X - c * T))
    np.testing.assert_allclose(p.u_ref, exact, atol=1e-13)
    # nu = 0 is plain convection, the same numbers as the exact formula
    q = pde.convection_diffusion(c, 0.0, nx=32, nt=6, t_final=2.0, u0=u0)
    np.testing.assert_allclose(q.u_ref, pde.convection(c, nx=32, nt=6, t_final=2.0, u0=u0).u_ref,
                               atol=1e-12)


def test_cole_hopf_quadrature_is_converged_and_has_the_symmetries():
    x = np.linspace(0, 2 * np.pi, 41)
    t = np.array([0.1, 0.5, 1.0])
    u = pde.burgers_cole_hopf(x, t, nu=0.01)
    finer = pde.burgers_cole_hopf(x, t, nu=0.01, quadrature=16001)
    assert np.abs(u - finer).max() < 1e-12
    np.testing.assert_allclose(u, -pde.burgers_cole_hopf(-x, t, nu=0.01), atol=1e-12)  # odd
    assert np.abs(pde.burgers_cole_hopf([np.pi], t, nu=0.01)).max() < 1e-12  # shock at π
    # Galilean invariance: u(x, t; C) = C + u(x − Ct, t; 0)
    shifted = np.stack([pde.burgers_cole_hopf(x - 7.0 * ti, [ti], nu=0.01)[0] for ti in t])
    np.testing.assert_allclose(pde.burgers_cole_hopf(x, t, nu=0.01, C=7.0), 7.0 + shifted,
                               atol=1e-12)


@pytest.mark.parametrize("C", [0.0, 50.0])
def test_burgers_reference_converges_under_refinement(C):
    """Errors against the 4096-point run fall fast with resolution; the default (2048
    points) agrees with the exact Cole–Hopf solution to 1e-10 at C = 0 and at C = 50."""
    t = np.linspace(0, 1, 11)
    fine = pde.burgers(C, nx=256, nt=11, resolution=4096).u_ref
    errs = [np.abs(pde.burgers(C, nx=256, nt=11, resolution=n).u_ref - fine).max()
            for n in (256, 512, 1024)]
    assert errs[0] > 100 * errs[1] > 1e4 * errs[2]  # spectral convergence
    assert errs[2] < 1e-8
    p = pde.burgers(C, nx=256, nt=11)
    exact = pde.burgers_cole_hopf(p.x, t, nu=0.01, C=C)
    assert np.abs(p.u_ref - exact).max() < 1e-10
    x = np.arange(512) * 2 * np.pi / 512
    u, _ = pde.burgers_spectral(np.sin(x) + C, t, nu=0.01)
    assert np.abs(u.mean(axis=1) - C).max() < 1e-12  # the mean is conserved
    assert p.meta["resolution"] == 2048 and p.reference.startswith("pseudo-spectral")


def test_rel_l2_is_normalised_by_the_deviation_from_the_mean():
    p = pde.burgers(50.0, nx=64, nt=5, resolution=512)
    assert p.mean == pytest.approx(50.0)
    assert p.rel_l2(p.u_ref) == 0.0
    assert p.rel_l2(np.full(p.grid_shape, 50.0)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"shape \(5, 64\)"):
        p.rel_l2(np.zeros((64, 5)))


@pytest.mark.parametrize("make, match", [
    (lambda: pde.convection_diffusion(1.0, -0.01), "nu must be >= 0"),
    (lambda: pde.burgers(1.0, nu=-1.0), "nu must be >= 0"),
    (lambda: pde.burgers(1.0, nu=0.0), "needs nu > 0"),
    (lambda: pde.convection(1.0, nx=0), "nx must be an integer >= 4"),
    (lambda: pde.convection(1.0, nt=0), "nt must be an integer >= 2"),
    (lambda: pde.convection(1.0, t_final=0.0), "t_final must be a finite number > 0"),
    (lambda: pde.convection(float("nan")), "c must be finite"),
    (lambda: pde.burgers(1.0, nx=64, resolution=100), "multiple of nx=64"),
    (lambda: pde.convection(1.0, u0=lambda x: x * np.nan), "finite values"),
])
def test_bad_parameters_raise_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_types_raise_type_errors():
    with pytest.raises(TypeError, match="c must be a real number"):
        pde.convection("fast")
    with pytest.raises(TypeError, match="u0 must be a callable"):
        pde.convection(1.0, u0=np.zeros(8))

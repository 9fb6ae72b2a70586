"""DCDM's safeguard (issue 28 item 1): never worse than (P)CG, whatever the network returns.

Adversarial stand-in networks (noise, zeros, NaN), the shipped models outside their
training family (Dirichlet boxes, hand-made masks, varying coefficients, 3D), the
A-orthogonality of the directions, the count in ``info``, and ``safeguard=False`` (the
paper's method, unchanged). The default side PCG is Jacobi's (it was IC(0)'s): the
guarantee is the same, at most the side PCG's iterations, which are at most CG's.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import unisolve as us
from unisolve import Status
from unisolve.learned.dcdm import DCDM, DCDMNet, pretrained
from unisolve.learned.dcdm_multilevel import pretrained_multilevel

RTOL = 1e-6


pytestmark = pytest.mark.usefixtures("one_torch_thread")


class NoiseNet(DCDMNet):
    """Returns seeded white noise on the grid, whatever the residual."""

    def __init__(self, dim: int = 2, seed: int = 0) -> None:
        super().__init__(dim)
        self.gen = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.randn(x[:, :1].shape, generator=self.gen, dtype=x.dtype)


class ZeroNet(DCDMNet):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x[:, :1])


class NaNNet(DCDMNet):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x[:, :1], float("nan"))


def with_net(net: DCDMNet) -> DCDM:
    model = DCDM(dim=net.dim)
    model.net = net
    return model


def cg_iterations(p) -> int:
    r = us.solve(p, method="cg", rtol=RTOL)
    assert r.converged
    return r.iterations


def a_cosine(A, u, v) -> float:
    return abs(u @ (A @ v)) / np.sqrt((u @ (A @ u)) * (v @ (A @ v)))


def true_relres(p, x) -> float:
    return float(np.linalg.norm(p.b - p.A @ x) / np.linalg.norm(p.b))


# ----------------------------------------------------------------- outside-the-family problems
def large_obstacle(n: int) -> np.ndarray:
    ob = np.zeros((n, n), bool)
    ob[n // 4: 3 * n // 4, 5 * n // 16: 11 * n // 16] = True
    return ob


def thin_walls(n: int) -> np.ndarray:
    """One-cell walls every 8 rows, open at both ends."""
    ob = np.zeros((n, n), bool)
    ob[8::8, 4: n - 4] = True
    return ob


def maze(n: int) -> np.ndarray:
    """A serpentine: one-cell walls every 4 rows, the gap alternating left and right."""
    ob = np.zeros((n, n), bool)
    for i, row in enumerate(range(4, n - 1, 4)):
        ob[row, 2:] = True if i % 2 == 0 else False
        if i % 2:
            ob[row, : n - 2] = True
    return ob


def outside_problems(n: int) -> dict:
    coeff = np.exp(np.random.default_rng(0).normal(0.0, 1.5, (n, n)))
    return {
        "Dirichlet box": us.problems.poisson2d(n),
        "Dirichlet, large obstacle": us.problems.poisson2d(n, obstacle=large_obstacle(n)),
        "Neumann, large obstacle": us.problems.pressure_poisson(n, obstacle=large_obstacle(n)),
        "Neumann, thin walls": us.problems.pressure_poisson(n, obstacle=thin_walls(n)),
        "Neumann, maze": us.problems.pressure_poisson(n, obstacle=maze(n)),
        "Dirichlet, varying coefficient": us.problems.poisson2d(n, coeff=coeff),
        "pinned": us.problems.pressure_poisson(n, seed=4, boundary="pinned"),
    }


# ----------------------------------------------------------------- adversarial networks
@pytest.mark.parametrize("safeguard, side", [(True, "jacobi"), ("ic0", "ic0")])
@pytest.mark.parametrize("boundary", ["neumann", "pinned"])
def test_a_network_of_noise_is_dropped_and_the_solve_converges_like_cg(boundary, safeguard,
                                                                       side):
    p = us.problems.pressure_poisson(24, seed=2, boundary=boundary)
    cg = cg_iterations(p)
    r = us.solve(p, method="dcdm", model=with_net(NoiseNet()), rtol=RTOL, safeguard=safeguard)
    assert r.converged and true_relres(p, r.x) <= RTOL
    pcg = us.solve(p, method="pcg", preconditioner=side, rtol=RTOL)
    assert r.iterations == pcg.iterations <= cg
    # dropped after `patience` = 3 iterations behind the PCG; the answer is PCG's iterate
    assert r.info["network_applications"] == 3 and r.info["network_directions"] == 0
    assert len(r.info["fallback"]) == 1 and "iteration 3: PCG's iterate was closer" in \
        r.info["fallback"][0]
    assert r.info["safeguard"] == side
    # the paper's method on the same noise does not converge within CG's iterations
    plain = us.solve(p, method="dcdm", model=with_net(NoiseNet()), rtol=RTOL, maxiter=cg,
                     safeguard=False)
    assert not plain.converged


@pytest.mark.parametrize("safeguard, side", [(True, "jacobi"), ("ic0", "ic0")])
def test_a_network_of_zeros_gives_exactly_the_side_pcg(safeguard, side):
    p = us.problems.pressure_poisson(24, seed=3)
    pcg = us.solve(p, method="pcg", preconditioner=side, rtol=RTOL, residual="true")
    r = us.solve(p, method="dcdm", model=with_net(ZeroNet()), rtol=RTOL, safeguard=safeguard)
    assert r.converged and r.iterations == pcg.iterations <= cg_iterations(p)
    np.testing.assert_allclose(r.residuals, pcg.residuals, rtol=1e-8)
    assert r.info["network_directions"] == 0 and r.info["network_applications"] == 1
    assert r.info["fallback"] == ["iteration 1: the network's direction broke down "
                                  f"(q̃ᵀAq̃ = 0): continuing as {side}-PCG"]
    # the paper's method stops at the first step: today's behaviour with safeguard=False
    plain = us.solve(p, method="dcdm", model=with_net(ZeroNet()), safeguard=False)
    assert plain.status is Status.BREAKDOWN and plain.iterations == 0


def test_jacobi_safeguard_with_a_network_of_zeros_is_jacobi_pcg():
    p = us.problems.poisson2d(20, coeff=lambda x, y: 1 + 9 * (x > 0.5))
    jac = us.solve(p, method="pcg", preconditioner="jacobi", rtol=RTOL)
    r = us.solve(p, method="dcdm", model=with_net(ZeroNet()), rtol=RTOL, safeguard="jacobi")
    assert r.converged and r.iterations == jac.iterations and r.info["safeguard"] == "jacobi"


def test_a_network_of_nans_falls_back_instead_of_stopping():
    p = us.problems.pressure_poisson(20, seed=1)
    r = us.solve(p, method="dcdm", model=with_net(NaNNet()), rtol=RTOL)
    assert r.converged and r.iterations <= cg_iterations(p)
    assert "broke down (q̃ᵀAq̃ = nan)" in r.info["fallback"][0]
    assert r.info["network_directions"] == 0
    plain = us.solve(p, method="dcdm", model=with_net(NaNNet()), safeguard=False)
    assert plain.status is Status.NONFINITE


# ----------------------------------------------------------------- the shipped models
@pytest.mark.parametrize("model, fraction", [(pretrained, 1 / 4), (pretrained_multilevel, 1 / 2)])
def test_on_its_family_the_safeguard_keeps_every_network_direction(model, fraction):
    # unseen 32² layouts of the training family: the same iterates as the paper's method
    # (measured: pooled model 11, 20 iterations, multilevel 46, 70; CG 161, 170)
    for seed in (1, 2):
        p = us.problems.pressure_poisson(32, seed=seed)
        r = us.solve(p, method="dcdm", model=model(), rtol=RTOL, keep_directions=True)
        plain = us.solve(p, method="dcdm", model=model(), rtol=RTOL, safeguard=False)
        assert r.converged and r.iterations == plain.iterations < cg_iterations(p) * fraction
        assert r.info["network_directions"] == r.iterations and r.info["fallback"] == []
        np.testing.assert_allclose(r.residuals, plain.residuals, rtol=1e-12)
        D = r.info["directions"]
        # (2): each direction A-orthogonal to the k = 2 before it
        assert max(a_cosine(p.A, D[i], D[i - j]) for j in (1, 2)
                   for i in range(j, len(D))) <= 1e-8


@pytest.mark.parametrize("model", [None, pretrained], ids=["default", "pooled"])
@pytest.mark.parametrize("name", list(outside_problems(8)))
def test_outside_the_family_it_converges_where_cg_does_in_fewer_iterations(name, model):
    p = outside_problems(32)[name]
    cg = cg_iterations(p)
    r = us.solve(p, method="dcdm", rtol=RTOL, model=None if model is None else model())
    assert r.converged and true_relres(p, r.x) <= RTOL
    assert r.iterations <= cg, (r.iterations, cg, r.info["fallback"])
    assert 0 <= r.info["network_directions"] <= r.iterations


def test_3d_outside_the_family_dirichlet_box():
    p = us.problems.poisson3d(12)
    cg = cg_iterations(p)
    r = us.solve(p, method="dcdm", model=pretrained(3), rtol=RTOL)
    assert r.converged and r.iterations <= cg


def test_after_the_drop_the_directions_are_pcgs_and_a_orthogonal():
    p = us.problems.pressure_poisson(20, seed=5, boundary="pinned")
    r = us.solve(p, method="dcdm", model=with_net(NoiseNet()), rtol=1e-8,
                 keep_directions=True)
    D = r.info["directions"]
    assert r.converged and len(D) == r.iterations and r.info["network_directions"] == 0
    # PCG's directions from x0: each A-orthogonal to the one before to rounding, and to every
    # earlier one up to CG's slow loss of global orthogonality (measured with Jacobi-PCG's
    # 127 directions: 4e-16 and 2.7e-6; IC(0)-PCG's 42: 6e-16 and 1.5e-8)
    assert max(a_cosine(p.A, D[i], D[i - 1]) for i in range(1, len(D))) <= 1e-12
    assert max(a_cosine(p.A, D[i], D[j]) for i in range(len(D)) for j in range(i)) <= 1e-5


# ----------------------------------------------------------------- options
def test_safeguard_options_are_checked():
    p = us.problems.pressure_poisson(8, seed=0)
    model = with_net(ZeroNet())
    with pytest.raises(ValueError, match="safeguard must be"):
        us.solve(p, method="dcdm", model=model, safeguard="amg")
    with pytest.raises(ValueError, match="patience must be"):
        us.solve(p, method="dcdm", model=model, patience=0)


def test_safeguard_false_is_the_papers_method():
    p = us.problems.pressure_poisson(16, seed=0)
    r = us.solve(p, method="dcdm", model=with_net(NoiseNet()), safeguard=False, maxiter=20)
    assert r.status is Status.MAX_ITER and r.info["network_directions"] == 20
    assert r.info["network_applications"] == 20
    assert r.info["safeguard"] is None and r.info["fallback"] == []

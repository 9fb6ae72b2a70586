"""Lagrangian physics-informed neural network (LPINN): method "lpinn".

Mojgani, Balajewicz, Hassanzadeh, "Lagrangian PINNs: a causality-conforming
solution to failure modes of physics-informed neural networks" (CMAME 2023).
Written along the characteristics X(x₀, t) that start at x₀, the PDE
u_t + a(u) u_x = ν u_xx becomes the pair

    X_t = a(u)           (c for convection, u for Burgers),     X(x₀, 0) = x₀       (1)
    u_t = ν u_XX         (u as a function of (x₀, t)),           u(x₀, 0) = u₀(x₀)   (2)

so the state no longer has to carry the steep x–t structure that convection
draws: for pure convection u(x₀, t) = u₀(x₀) and X = x₀ + ct. Two tanh
networks of the embedded label (cos x₀, sin x₀, t): a state branch u(x₀, t)
and a characteristics branch that gives the displacement,

    X(x₀, t) = x₀ + S · ξ(x₀, t),       S = T · max(1, |speed|),                 (3)

trained on the mean squares (msq) of the residuals and initial misfits,

    loss = 10 msq(R_X / S) + msq(R_u) + 100 (msq(ξ(x₀, 0)) + msq(u(x₀, 0) − u₀)),
    R_X = X_t − a(u),   R_u = u_t − ν u_XX,                                          (4)

(R_X and the initial displacement measured in units of S). With J = ∂X/∂x₀, the
chain rule gives u_XX = ∂_{x₀}(u_{x₀}/J)/J, whose 1/J blows up wherever a
randomly initialised displacement folds the labels (J ≤ 0); the state residual
is therefore multiplied by J³, a polynomial in the derivatives that equals R_u
where J = 1 and never divides:

    J³ R_u = J³ u_t − ν (J u_{x₀x₀} − u_{x₀} J_{x₀})                              (5)

The solution is brought back to the Eulerian grid by periodic linear
interpolation along the characteristics: at each t, u(X(x₀, t) mod 2π) = u(x₀, t).

Departures from the reference code (rmojgani/LPINNs), each for correctness on
a periodic domain: (3) learns the displacement X − x₀, which is 2π-periodic in
x₀, where the reference learns X itself from (cos x₀, sin x₀, t) and so cannot
represent X(x₀, 0) = x₀ across the seam x₀ = 0 ≡ 2π (it drops two points at each
end of the domain from its error); S only rescales the network's output to O(1);
(5) uses the chain rule with J where the reference differentiates in x₀ (the
same for convection, where J = 1; for Burgers J shrinks into the shock); the two
branches do not share layers; mean squares replace unsquared norms (see
:mod:`unisolve.learned.physics`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..problems.pde import PDEProblem
from ..registry import method
from ..result import IterationState, Result
from .physics import PeriodicMLP, PhysicsModel, derivative, grid_tensors, msq

__all__ = ["LPINN", "lagrangian_residuals", "lpinn"]


class LPINN(PhysicsModel):
    """Two-branch Lagrangian PINN for one periodic 1D PDE (a solver object).

    Parameters
    ----------
    problem : PDEProblem
        The PDE it is trained for.
    depth, width : int
        Hidden tanh layers and units of the state branch u(x₀, t) (4 × 50).
    char_depth : int
        Hidden layers of the characteristics branch (2, as in the reference code).
    char_weight, ic_weight : float
        The weights 10 and 100 of (4).
    seed : int
        Seed of the initial weights.
    device : str
        torch device.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.learned.lpinn import LPINN
    >>> from unisolve.problems import pde
    >>> p = pde.convection(30.0, nx=64, nt=20)
    >>> model = LPINN(p, seed=0).fit(p, epochs=50, lbfgs=20, collocation_points=(16, 8),
    ...                              progress=False)
    >>> model.parameters, model.log.train_loss[-1] < model.log.train_loss[0]
    (10702, True)
    >>> r = us.solve(p, method=model)
    >>> r.method, r.x.shape, r.info["characteristics"].shape
    ('lpinn', (20, 64), (20, 64))
    """

    method = "lpinn"

    def __init__(self, problem: PDEProblem, *, depth: int = 4, width: int = 50,
                 char_depth: int = 2, char_weight: float = 10.0, ic_weight: float = 100.0,
                 seed: int = 0, device: Any = "cpu") -> None:
        super().__init__(problem, depth=depth, width=width, seed=seed, device=device,
                         char_depth=char_depth, char_weight=float(char_weight),
                         ic_weight=float(ic_weight))

    @property
    def scale(self) -> float:
        """S of (3): T times the largest speed (|c|, or max|u₀| for Burgers), at least T."""
        speed = self.pde["u0_max"] if self.pde["equation"] == "burgers" else abs(self.pde["c"])
        return self.pde["t_final"] * max(1.0, speed)

    def _build(self) -> dict[str, nn.Module]:
        period, t_final = self.pde["period"], self.pde["t_final"]
        return {"u": PeriodicMLP(self.config["depth"], self.config["width"], period, t_final,
                                 offset=self.pde["mean"]),
                "xi": PeriodicMLP(self.config["char_depth"], self.config["width"], period,
                                  t_final)}

    def _loss(self, problem: PDEProblem, x: torch.Tensor, t: torch.Tensor,
              x0: torch.Tensor, u0: torch.Tensor) -> torch.Tensor:
        u_net, xi_net = self.nets["u"], self.nets["xi"]
        r_x, r_u = lagrangian_residuals(problem, self.scale * xi_net(x, t), u_net(x, t), x, t)
        zero = torch.zeros_like(x0)
        ic = msq(xi_net(x0, zero)) + msq(u_net(x0, zero) - u0)  # X(x₀, 0) − x₀ = S ξ
        cfg = self.config
        return cfg["char_weight"] * msq(r_x / self.scale) + msq(r_u) + cfg["ic_weight"] * ic

    def lagrangian(self, x0: Any, t: Any) -> tuple[np.ndarray, np.ndarray]:
        """(X, u) on the labels ``x0`` × ``t``, each of shape (len(t), len(x0)).

        Examples
        --------
        >>> from unisolve.problems import pde
        >>> p = pde.convection(5.0, nx=8, nt=3)
        >>> X, u = LPINN(p).lagrangian(p.x, p.t)
        >>> X.shape, u.shape
        ((3, 8), (3, 8))
        """
        xx, tt = grid_tensors(x0, t, self.device)
        with torch.no_grad():
            disp = self.scale * self.nets["xi"](xx, tt)
            u = self.nets["u"](xx, tt)
        shape = (len(t), len(x0))
        X = np.asarray(x0, dtype=np.float64)[None, :] + disp.cpu().double().numpy().reshape(shape)
        return X, u.cpu().double().numpy().reshape(shape)

    def predict(self, x: Any, t: Any) -> np.ndarray:
        """u on the Eulerian grid ``x`` × ``t``, shape (len(t), len(x)).

        The labels are the grid points themselves; at each time the values
        u(x₀, t) sit at X(x₀, t) mod 2π and are interpolated (periodic, linear)
        back onto ``x``.

        Examples
        --------
        >>> from unisolve.problems import pde
        >>> p = pde.convection(5.0, nx=8, nt=3)
        >>> LPINN(p).predict(p.x, p.t).shape
        (3, 8)
        """
        x = np.asarray(x, dtype=np.float64)
        return self._eulerian(x, *self.lagrangian(x, t))

    def _eulerian(self, x: np.ndarray, X: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Row by row, the values u at X mod L interpolated (periodic, linear) onto x."""
        period = self.pde["period"]
        return np.stack([np.interp(x, np.mod(X[i], period), u[i], period=period)
                         for i in range(X.shape[0])])

    def _evaluate(self, problem: PDEProblem) -> tuple[np.ndarray, dict]:
        X, u = self.lagrangian(problem.x, problem.t)  # the networks run once per solve
        gaps = np.diff(np.concatenate([X, X[:, :1] + problem.length], axis=1), axis=1)
        jac = gaps / (problem.length / problem.x.size)
        return (self._eulerian(problem.x, X, u),
                {"characteristics": X, "min_jacobian": float(jac.min())})


def lagrangian_residuals(problem: PDEProblem, disp: torch.Tensor, u: torch.Tensor,
                         x0: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """R_X = X_t − a(u) of (1) and J³ R_u of (5), by autograd.

    ``disp`` = X(x₀, t) − x₀ and ``u`` = u(x₀, t) are computed from the (N, 1)
    tensors ``x0`` and ``t`` (``requires_grad=True``).

    Examples
    --------
    Characteristics of u_t + 2u_x = 0.1u_xx that start from relabelled points
    (J = 1 + 0.3 cos x₀ ≠ 1), carrying the exact solution:

    >>> import torch
    >>> from unisolve.problems import pde
    >>> p = pde.convection_diffusion(2.0, 0.1, nx=8, nt=2)
    >>> x0 = torch.rand(40, 1, dtype=torch.float64, requires_grad=True)
    >>> t = torch.rand(40, 1, dtype=torch.float64, requires_grad=True)
    >>> disp = 2.0 * t + 0.3 * torch.sin(x0)
    >>> u = torch.exp(-0.1 * t) * torch.sin(x0 + disp - 2.0 * t)
    >>> r_x, r_u = lagrangian_residuals(p, disp, u, x0, t)
    >>> float(r_x.detach().abs().max()) < 1e-12, float(r_u.detach().abs().max()) < 1e-12
    (True, True)
    """
    r_x = derivative(disp, t) - problem.speed(u)  # (1)
    u_t = derivative(u, t)
    if not problem.nu:
        return r_x, u_t
    jac = 1.0 + derivative(disp, x0)  # J = ∂X/∂x₀
    u_x = derivative(u, x0)
    return r_x, jac**3 * u_t - problem.nu * (jac * derivative(u_x, x0) - u_x * derivative(jac, x0))


@method("lpinn", kinds=("pde",))
def lpinn(
    problem: PDEProblem,
    *,
    epochs: int = 2000,
    lbfgs: int = 500,
    lr: float = 1e-3,
    collocation: tuple[int, int] = (128, 64),
    depth: int = 4,
    width: int = 50,
    char_depth: int = 2,
    char_weight: float = 10.0,
    ic_weight: float = 100.0,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    callback: Callable[[IterationState], Any] | None = None,
    atol: float = 0.0,
    maxiter: int | None = None,
) -> Result:
    """Lagrangian PINN (Mojgani et al. 2023): learn the characteristics and u along them.

    Trains an :class:`LPINN` (loss (4) of the module docstring: Adam for
    ``epochs`` steps, then ``lbfgs`` L-BFGS iterations, full batch on a uniform
    ``collocation = (nx, nt)`` grid of labels and times) and maps its solution
    back to the problem's Eulerian grid along the characteristics.

    Parameters
    ----------
    problem : PDEProblem
        From :mod:`unisolve.problems.pde`.
    epochs, lbfgs, lr, collocation, progress, callback, atol, maxiter
        As for method ``"pinn"``.
    depth, width, char_depth, char_weight, ic_weight, seed, device
        See :class:`LPINN`.

    Returns
    -------
    Result
        As for ``"pinn"``; ``info["characteristics"]`` is X(x₀, t) on the grid's
        labels and ``info["min_jacobian"]`` the smallest ∂X/∂x₀ (≤ 0 means the
        learned characteristics cross and the interpolation is ill-posed).

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.problems import pde
    >>> p = pde.convection(30.0, nx=64, nt=20)
    >>> r = us.solve(p, method="lpinn", epochs=300, lbfgs=150, collocation=(32, 16),
    ...              seed=0, progress=False)
    >>> r.info["rel_l2"] < 0.05, r.info["min_jacobian"] > 0.5
    (True, True)
    """
    model = LPINN(problem, depth=depth, width=width, char_depth=char_depth,
                  char_weight=char_weight, ic_weight=ic_weight, seed=seed, device=device)
    return model.fit(problem, epochs=epochs, lbfgs=lbfgs, lr=lr, collocation_points=collocation,
                     progress=progress, callback=callback, atol=atol,
                     maxiter=maxiter).solve(problem)

"""Physics-informed neural network (PINN): method "pinn".

Raissi, Perdikaris, Karniadakis (2019), in the periodic form of the LPINN
paper's baseline (Mojgani, Balajewicz, Hassanzadeh, CMAME 2023): one tanh
network u(x, t) of the embedded input (cos x, sin x, t), trained on

    loss = mean(R²) + γ_ic · mean((u(x, 0) − u₀(x))²),   R = u_t + a(u) u_x − ν u_xx   (1)

with R by autograd at the collocation points, γ_ic = 100 (see
:mod:`unisolve.learned.physics` on the loss), and no boundary term:
the embedding makes u periodic in x exactly. Adam, then L-BFGS.

The failure mode this baseline exhibits: for convection with c ≳ 30 (c ≥ 20
at the budget of ``benchmarks/pinn.py``) the optimiser finds a small loss on a
nearly flat, wrong u (relative error ≈ 1),
because (1) is then dominated by the steep u_t + c u_x balance that a smooth
network reaches only through the trivial solution (Krishnapriyan et al. 2021).
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
from .physics import PeriodicMLP, PhysicsModel, eulerian_residual, grid_tensors, msq

__all__ = ["PINN", "pinn"]


class PINN(PhysicsModel):
    """A PINN u(x, t) for one periodic 1D PDE (a solver object).

    Parameters
    ----------
    problem : PDEProblem
        The PDE it is trained for (its equation, c, ν, T and u₀).
    depth, width : int
        Hidden tanh layers and their units (4 × 50: the LPINN's state branch).
    ic_weight : float
        γ_ic in (1).
    seed : int
        Seed of the initial weights.
    device : str
        torch device.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.learned.pinn import PINN
    >>> from unisolve.problems import pde
    >>> p = pde.convection(1.0, nx=64, nt=20)
    >>> model = PINN(p, seed=0).fit(p, epochs=50, lbfgs=20, collocation_points=(16, 8),
    ...                             progress=False)
    >>> model.parameters, model.log.train_loss[-1] < model.log.train_loss[0]
    (7901, True)
    >>> r = us.solve(p, method=model)      # evaluates the trained network on p's grid
    >>> r.method, r.iterations, r.x.shape
    ('pinn', 70, (20, 64))
    """

    method = "pinn"

    def __init__(self, problem: PDEProblem, *, depth: int = 4, width: int = 50,
                 ic_weight: float = 100.0, seed: int = 0, device: Any = "cpu") -> None:
        super().__init__(problem, depth=depth, width=width, seed=seed, device=device,
                         ic_weight=float(ic_weight))

    def _build(self) -> dict[str, nn.Module]:
        return {"u": PeriodicMLP(self.config["depth"], self.config["width"],
                                 self.pde["period"], self.pde["t_final"],
                                 offset=self.pde["mean"])}

    def _loss(self, problem: PDEProblem, x: torch.Tensor, t: torch.Tensor,
              x0: torch.Tensor, u0: torch.Tensor) -> torch.Tensor:
        net = self.nets["u"]
        residual = eulerian_residual(problem, net, x, t)
        misfit = net(x0, torch.zeros_like(x0)) - u0
        return msq(residual) + self.config["ic_weight"] * msq(misfit)  # (1)

    def predict(self, x: Any, t: Any) -> np.ndarray:
        """u on the grid ``x`` × ``t``, shape (len(t), len(x)), float64.

        Examples
        --------
        >>> from unisolve.problems import pde
        >>> p = pde.convection(1.0, nx=8, nt=3)
        >>> PINN(p).predict(p.x, p.t).shape
        (3, 8)
        """
        xx, tt = grid_tensors(x, t, self.device)
        with torch.no_grad():
            u = self.nets["u"](xx, tt)
        return u.cpu().double().numpy().reshape(len(t), len(x))


@method("pinn", kinds=("pde",))
def pinn(
    problem: PDEProblem,
    *,
    epochs: int = 2000,
    lbfgs: int = 500,
    lr: float = 1e-3,
    collocation: tuple[int, int] = (128, 64),
    depth: int = 4,
    width: int = 50,
    ic_weight: float = 100.0,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
    callback: Callable[[IterationState], Any] | None = None,
    atol: float = 0.0,
    maxiter: int | None = None,
) -> Result:
    """Physics-informed network (Raissi et al. 2019) with a periodic input embedding.

    Trains a :class:`PINN` on the PDE (loss (1) of the module docstring: Adam for
    ``epochs`` steps, then ``lbfgs`` L-BFGS iterations, full batch on a uniform
    ``collocation = (nx, nt)`` grid) and evaluates it on the problem's grid.

    Parameters
    ----------
    problem : PDEProblem
        From :mod:`unisolve.problems.pde`.
    epochs, lbfgs, lr
        Adam steps, L-BFGS iterations, Adam's learning rate.
    collocation : (int, int)
        Training points in x and t (the result is on the problem's own grid).
    depth, width, ic_weight, seed, device
        See :class:`PINN`.
    progress : bool
        Progress bar over the training steps.
    callback : callable, optional
        ``callback(state)`` after every step; ``state.residual`` is the loss,
        ``state.x`` the model; raise ``StopIteration`` to stop training.
    atol : float
        Stop training once the loss is ≤ atol (status ``CONVERGED``); by default
        the whole budget runs (status ``MAX_ITER``).
    maxiter : int, optional
        Cap on the total training steps.

    Returns
    -------
    Result
        ``x``: u on the grid, shape (nt, nx); ``residuals``: the training loss at
        the initial weights and after every step; ``info["rel_l2"]``: error
        against the reference; ``info["model"]``: the trained :class:`PINN`.

    Raises
    ------
    TypeError
        The problem is not a ``PDEProblem``.
    ValueError
        Bad budget, learning rate, collocation grid or network shape.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.problems import pde
    >>> p = pde.convection(1.0, nx=64, nt=20)
    >>> r = us.solve(p, method="pinn", epochs=200, lbfgs=100, collocation=(32, 16),
    ...              seed=0, progress=False)
    >>> r.x.shape, r.info["rel_l2"] < 0.05
    ((20, 64), True)
    """
    model = PINN(problem, depth=depth, width=width, ic_weight=ic_weight, seed=seed,
                 device=device)
    return model.fit(problem, epochs=epochs, lbfgs=lbfgs, lr=lr, collocation_points=collocation,
                     progress=progress, callback=callback, atol=atol,
                     maxiter=maxiter).solve(problem)

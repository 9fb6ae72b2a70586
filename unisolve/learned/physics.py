"""What the PINN and the Lagrangian PINN share (torch).

* :class:`PeriodicMLP` — the tanh network with the periodic input embedding
  (cos(2πx/L), sin(2πx/L), t/T) of the LPINN paper's code: periodicity in x is
  exact, so no boundary loss is needed;
* :func:`derivative` — ∂y/∂z by autograd, kept in the graph for training;
* :func:`eulerian_residual` — R = u_t + a(u) u_x − ν u_xx of any differentiable
  u(x, t), by autograd (the PINN's loss; the tests apply it to exact solutions);
* :func:`msq` and :func:`collocation` — the loss measure and the training grid;
* :class:`PhysicsModel` — training (:func:`~unisolve.learned.training.adam_then_lbfgs`),
  ``solve``, ``save`` / ``load``; :class:`~unisolve.learned.pinn.PINN` and
  :class:`~unisolve.learned.lpinn.LPINN` supply the networks, the loss and the
  prediction on a grid.

Both losses keep the LPINN code's weights (10 on the characteristics residual,
1 on the state residual, a large weight on the initial conditions) but measure
each term by its mean square, the usual PINN loss, where the reference code
sums unsquared norms ‖r‖₂: the square is smooth at r = 0, which L-BFGS needs
(with unsquared norms the same runs ended 6–30× less accurate), and a mean does
not depend on the number of collocation points. The initial-condition weight is
100. Networks and training are float32 (twice as fast on the CPU as float64, and
as accurate at these error levels).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..problems.pde import PDEProblem, check_equation
from ..result import IterationState, Result, Status
from .training import TrainingLog, adam_then_lbfgs, read_model_file, torch_device

__all__ = ["PeriodicMLP", "PhysicsModel", "collocation", "derivative", "eulerian_residual",
           "msq"]

_FORMAT = "unisolve-physics-model-1"
DTYPE = torch.float32


class PeriodicMLP(nn.Module):
    """tanh MLP of (cos(2πx/L), sin(2πx/L), t/T) → one output.

    Parameters
    ----------
    depth : int
        Hidden layers (≥ 1).
    width : int
        Units per hidden layer.
    period, t_final : float
        L and T of the embedding.
    offset : float
        Added to the output: the state branches start from the conserved mean ū
        of u₀, so the layers learn u − ū (O(1)) rather than, for Burgers with
        C = 50, a constant 50 that the initial-condition term would dominate.

    Examples
    --------
    >>> import math, torch
    >>> net = PeriodicMLP(depth=2, width=8)
    >>> x, t = torch.tensor([[0.3]]), torch.tensor([[0.5]])
    >>> bool(torch.allclose(net(x, t), net(x + 2 * math.pi, t), atol=1e-6))
    True
    """

    def __init__(self, depth: int = 4, width: int = 50, period: float = 2 * math.pi,
                 t_final: float = 1.0, offset: float = 0.0) -> None:
        super().__init__()
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"depth (hidden layers) must be an int >= 1, got {depth!r}")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width (units per layer) must be an int >= 1, got {width!r}")
        self.depth, self.width = depth, width
        self.wavenumber = 2 * math.pi / period
        self.t_final = float(t_final)
        self.offset = float(offset)
        sizes = [3] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in itertools.pairwise(sizes))
        self.out = nn.Linear(width, 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        kx = self.wavenumber * x
        h = torch.cat((torch.cos(kx), torch.sin(kx), t / self.t_final), dim=-1)
        for layer in self.hidden:
            h = torch.tanh(layer(h))
        return self.out(h) + self.offset


def derivative(y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """∂y/∂z pointwise (y[i] depends on z[i] only), kept in the graph.

    Examples
    --------
    >>> import torch
    >>> z = torch.linspace(0, 1, 5).reshape(-1, 1).requires_grad_(True)
    >>> bool(torch.allclose(derivative(z ** 3, z), 3 * z ** 2))
    True
    """
    return torch.autograd.grad(y, z, torch.ones_like(y), create_graph=True)[0]


def eulerian_residual(problem: PDEProblem, u_fn: Callable, x: torch.Tensor,
                      t: torch.Tensor) -> torch.Tensor:
    """R = u_t + a(u) u_x − ν u_xx of ``u = u_fn(x, t)`` by autograd.

    ``x`` and ``t`` are (N, 1) tensors with ``requires_grad=True``.

    Examples
    --------
    >>> import torch
    >>> from unisolve.problems import pde
    >>> p = pde.convection_diffusion(3.0, 0.1, nx=8, nt=2)
    >>> x = torch.rand(50, 1, dtype=torch.float64, requires_grad=True)
    >>> t = torch.rand(50, 1, dtype=torch.float64, requires_grad=True)
    >>> exact = lambda x, t: torch.exp(-0.1 * t) * torch.sin(x - 3.0 * t)
    >>> float(eulerian_residual(p, exact, x, t).detach().abs().max()) < 1e-12
    True
    """
    u = u_fn(x, t)
    u_x = derivative(u, x)
    u_t = derivative(u, t)
    u_xx = derivative(u_x, x) if problem.nu else 0.0
    return problem.residual(u, u_t, u_x, u_xx)


def msq(r: torch.Tensor) -> torch.Tensor:
    """Mean square ‖r‖₂² / N, what every loss term measures."""
    return torch.mean(r * r)


def collocation(problem: PDEProblem, points: tuple[int, int], device: Any = "cpu"
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Uniform training grid: ``points = (nx, nt)`` on [0, L) × [0, T], flattened to (N, 1).

    Examples
    --------
    >>> from unisolve.problems import pde
    >>> x, t = collocation(pde.convection(1.0, nx=8, nt=2), (4, 3))
    >>> x.shape, float(t.detach().max()), x.requires_grad
    (torch.Size([12, 1]), 1.0, True)
    """
    nx, nt = _check_points(points)
    x = torch.arange(nx, dtype=DTYPE) * (problem.length / nx)
    t = torch.linspace(0.0, problem.t_final, nt, dtype=DTYPE)
    xx, tt = grid_tensors(x.numpy(), t.numpy(), device)  # float32 → 64 → 32 is exact
    return xx.requires_grad_(True), tt.requires_grad_(True)


def _check_points(points: Any) -> tuple[int, int]:
    ok = (isinstance(points, (tuple, list)) and len(points) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) for v in points))
    if not ok or points[0] < 4 or points[1] < 2:
        raise ValueError(f"collocation must be (nx, nt) integers with nx >= 4 and nt >= 2, "
                         f"got {points!r}")
    return int(points[0]), int(points[1])


def check_problem(problem: Any, method: str) -> PDEProblem:
    """The problem as a :class:`PDEProblem`, or a ``TypeError`` naming the constructors."""
    if not isinstance(problem, PDEProblem):
        raise TypeError(f"{method} solves a unisolve.problems.pde.PDEProblem (pde.convection, "
                        f"pde.burgers, pde.convection_diffusion, pde.custom), got "
                        f"{type(problem).__name__}")
    check_equation(problem.equation)  # again: the field may have been reassigned
    return problem


class PhysicsModel:
    """A physics-informed network trained for one PDE; a solver object for ``solve``.

    Subclasses set ``method``, build their networks in ``_build`` and define
    ``_loss(x, t, x0, u0)`` and ``predict(x, t)``.
    """

    method: ClassVar[str] = ""

    def __init__(self, problem: PDEProblem, *, depth: int = 4, width: int = 50,
                 seed: int = 0, device: Any = "cpu", **config: Any) -> None:
        problem = check_problem(problem, self.method)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.pde = {"equation": problem.equation, "c": problem.c, "nu": problem.nu,
                    "t_final": problem.t_final, "period": problem.length,
                    "u0_max": float(np.max(np.abs(problem.u_ref[0]))),
                    "mean": float(np.round(problem.mean, 12))}  # 0.0 exactly for sin x
        self.config = {"depth": depth, "width": width, "seed": seed, **config}
        self.device = torch_device(device)  # 'cuda' on a CPU-only torch: clear ValueError
        with torch.random.fork_rng():  # seeded weights, the caller's torch RNG untouched
            torch.manual_seed(seed)
            self.nets = nn.ModuleDict(self._build()).to(DTYPE)
        self.nets.to(self.device)
        self.log = TrainingLog()
        self.status = Status.MAX_ITER
        self.meta: dict = {}

    # -- subclass interface ------------------------------------------------------------
    def _build(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def _loss(self, problem: PDEProblem, x: torch.Tensor, t: torch.Tensor,
              x0: torch.Tensor, u0: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def predict(self, x: Any, t: Any) -> np.ndarray:
        """The solution on the grid ``x`` × ``t``, shape (len(t), len(x))."""
        raise NotImplementedError

    # -- training ----------------------------------------------------------------------
    @property
    def parameters(self) -> int:
        """Number of trainable weights."""
        return sum(p.numel() for p in self.nets.parameters())

    def fit(self, problem: PDEProblem, *, epochs: int = 2000, lbfgs: int = 500,
            lr: float = 1e-3, collocation_points: tuple[int, int] = (128, 64),
            progress: bool = True, callback: Callable[[IterationState], Any] | None = None,
            atol: float = 0.0, maxiter: int | None = None) -> PhysicsModel:
        """Train on ``problem``'s PDE: Adam for ``epochs``, then ``lbfgs`` L-BFGS steps."""
        problem = check_problem(problem, self.method)
        for name, v in (("epochs", epochs), ("lbfgs", lbfgs)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be an int >= 0, got {v!r}")
        if not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        x, t = collocation(problem, collocation_points, self.device)
        nx = collocation_points[0]
        x0 = x[:nx].detach().clone().requires_grad_(True)  # the t = 0 row
        u0 = torch.as_tensor(problem.u0(x0.detach().cpu().double().numpy()),
                             dtype=DTYPE, device=self.device).reshape(-1, 1)
        t0 = time.perf_counter()
        self.log, self.status = adam_then_lbfgs(
            list(self.nets.parameters()), lambda: self._loss(problem, x, t, x0, u0),
            epochs=epochs, lbfgs=lbfgs, lr=lr, log=self.log, model=self,
            desc=f"{self.method} on {problem.name}", show_progress=progress,
            callback=callback, atol=atol, maxiter=maxiter)
        self.meta["training"] = {"epochs": epochs, "lbfgs": lbfgs, "lr": lr,
                                 "collocation": list(collocation_points),
                                 "seconds": time.perf_counter() - t0,
                                 "threads": torch.get_num_threads(),
                                 "device": str(self.device), "torch": str(torch.__version__)}
        return self

    # -- solving -----------------------------------------------------------------------
    def solve(self, problem: PDEProblem, **options: Any) -> Result:
        """Evaluate the trained model on ``problem``'s grid (no training).

        ``Result.residuals`` is the training loss history, ``info["rel_l2"]``
        the error against the problem's reference.
        """
        problem = check_problem(problem, self.method)
        if options:
            raise TypeError(f"a trained {self.method} model takes no solve options "
                            f"(got {', '.join(sorted(options))}); train with "
                            f"unisolve.solve(problem, method={self.method!r}, ...)")
        same = all(np.isclose(self.pde[k], getattr(problem, k)) for k in ("c", "nu")) and (
            self.pde["equation"] == problem.equation)
        if not same:
            raise ValueError(f"this model was trained for {self.pde['equation']} with "
                             f"c={self.pde['c']:g}, nu={self.pde['nu']:g}; the problem is "
                             f"{problem.name}: train a new one")
        t0 = time.perf_counter()
        u, extra = self._evaluate(problem)
        info = {"rel_l2": problem.rel_l2(u), "model": self, "parameters": self.parameters,
                "training_seconds": self.meta.get("training", {}).get("seconds", 0.0),
                **extra}
        losses = list(self.log.train_loss)
        return Result(x=u, status=self.status, iterations=max(len(losses) - 1, 0),
                      residuals=losses, time=time.perf_counter() - t0, method=self.method,
                      info=info)

    def _evaluate(self, problem: PDEProblem) -> tuple[np.ndarray, dict]:
        """u on the problem's grid and any method-specific ``info`` entries."""
        return self.predict(problem.x, problem.t), {}

    # -- persistence -------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the weights, the PDE, the network shape and the training record."""
        path = Path(path)
        torch.save({"format": _FORMAT, "method": self.method, "pde": self.pde,
                    "config": self.config, "state_dict": self.nets.state_dict(),
                    "log": self.log.as_dict(), "status": self.status.value,
                    "meta": self.meta}, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> PhysicsModel:
        """Read a model written by :meth:`save` (weights only: no code is unpickled)."""
        blob = read_model_file(path, _FORMAT, cls.method)
        if blob.get("method") != cls.method:
            raise ValueError(f"{path} is not a unisolve {cls.method} model file (it holds a "
                             f"{blob.get('method')!r} model)")
        model = cls.__new__(cls)
        model.pde, model.config = blob["pde"], blob["config"]
        model.device = torch.device("cpu")
        model.nets = nn.ModuleDict(model._build())
        model.nets.load_state_dict(blob["state_dict"])
        model.log = TrainingLog.from_dict(blob["log"])
        model.status = Status(blob["status"])
        model.meta = dict(blob["meta"])
        return model

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({self.pde['equation']}, c={self.pde['c']:g}, "
                f"nu={self.pde['nu']:g}, params={self.parameters}, "
                f"steps={max(self.log.epochs - 1, 0)})")


def grid_tensors(x: Any, t: Any, device: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattened (len(t)·len(x), 1) tensors of the grid x × t (t-major)."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=DTYPE)
    t = torch.as_tensor(np.asarray(t, dtype=np.float64), dtype=DTYPE)
    tt, xx = torch.meshgrid(t, x, indexing="ij")
    return xx.reshape(-1, 1).to(device), tt.reshape(-1, 1).to(device)

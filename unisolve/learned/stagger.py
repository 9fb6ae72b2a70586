"""NeuralStagger (Huang et al., ICML 2023): physics-constrained neural flow stepping,
accelerated by spatio-temporal decomposition.

A network maps the flow state (ψ, p) at t to the state s_T·Δt later and is
trained with no data, only on the residual of the MAC-grid Crank–Nicolson scheme
(:meth:`unisolve.problems.mac_flow.MacFlow.residual`; the velocity is the curl of
the predicted ψ, so it is divergence-free by construction). The decomposition:

* space: the fine ny × nx grid splits into s_H · s_W interleaved coarse sub-grids,
  sub-grid (a, b) holding the cells (a + s_H I, b + s_W J) (:func:`split_space`);
* time: a trajectory splits into s_T interleaved sub-sequences, sub-sequence k
  holding the steps k, k + s_T, k + 2 s_T, … (:func:`split_time`).

Each spatial sub-task has its own coarse network (``shared=False``: s_H s_W
dilated CNNs of width ``width / √(s_H s_W)``, run as one grouped convolution, so
the total number of weights is about that of the fine network while the
arithmetic per step falls by s_H s_W or more) or one network shared by all, told
its offset by one-hot input channels (``shared=True``). Every network ends in the
fixed layer (−Δ_H)^(−1/2) on its own grid (:meth:`StaggerModel._spectral`). The
time sub-tasks are one map (the equations do not depend on t) applied to the s_T
sub-sequences as one batch. All sub-tasks
train jointly: their outputs are re-assembled on the fine grid and scored by the
fine-grid physics loss

    L = ⟨(Δt R_u)² + (Δt R_v)²⟩ over the s_T fine steps the outputs close,

from a pool of states that starts from seeded random fields and is refreshed by
the models' own predictions (Wandel et al. 2021). Because a sub-network reads only
its own sub-grid of (ψ, p), any subset of the sub-grids can be rolled out alone:
the coarse-only, multi-resolution solution (:meth:`StaggerModel.coarse_rollout`).

Methods: ``neural-stagger`` and ``neural-fine`` (the same design with
(s_H, s_W, s_T) = (1, 1, 1)).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..problems.mac_flow import (
    FlowProblem,
    MacFlow,
    check_divisible,
    laplacian_symbol,
    plug_flow_psi,
    random_turbulence_psi,
)
from ..progress import progress as _bar
from ..registry import method
from ..result import Result, Status
from ..solvers.mac_projection import reference_rollout
from .stagger_conv import fast_pass_enabled, inference_forward
from .training import TrainingLog, read_model_file, resolve_model, torch_device

__all__ = ["StaggerModel", "StaggerNet", "decompose", "face_weights", "merge_space",
           "merge_time", "neural_fine", "neural_stagger", "physics_loss", "reassemble",
           "split_space", "split_time", "static_nodes", "train"]

_FORMAT = "unisolve-neural-stagger-1"
_BOTTOM = 8   # dilations grow until one spans about a 1/8 of the (sub-)grid


# ----------------------------------------------------------------------------- decomposition
def _permute(x: Any, axes: tuple[int, ...]) -> Any:
    return x.transpose(axes) if isinstance(x, np.ndarray) else x.permute(axes)


def split_space(x: Any, s_h: int, s_w: int) -> Any:
    """(..., ny, nx) → (..., s_h·s_w, ny/s_h, nx/s_w); sub-grid a·s_w + b is x[..., a::s_h, b::s_w].

    Works on NumPy arrays and torch tensors; the entries are copied, not computed.

    Examples
    --------
    >>> x = np.arange(16).reshape(4, 4)
    >>> split_space(x, 2, 2)[1]        # the offset (0, 1) sub-grid
    array([[ 1,  3],
           [ 9, 11]])
    """
    *lead, ny, nx = x.shape
    check_divisible((ny, nx), s_h, s_w)
    m = len(lead)
    y = x.reshape(*lead, ny // s_h, s_h, nx // s_w, s_w)
    y = _permute(y, (*tuple(range(m)), m + 1, m + 3, m, m + 2))
    return y.reshape(*lead, s_h * s_w, ny // s_h, nx // s_w)


def merge_space(y: Any, s_h: int, s_w: int) -> Any:
    """The inverse of :func:`split_space`: (..., s_h·s_w, ny/s_h, nx/s_w) → (..., ny, nx).

    Examples
    --------
    >>> x = np.random.default_rng(0).random((3, 6, 8))
    >>> bool(np.array_equal(merge_space(split_space(x, 3, 2), 3, 2), x))
    True
    """
    *lead, g, my, mx = y.shape
    if g != s_h * s_w:
        raise ValueError(f"expected s_h * s_w = {s_h * s_w} sub-grids in axis -3, got {g}")
    m = len(lead)
    z = y.reshape(*lead, s_h, s_w, my, mx)
    z = _permute(z, (*tuple(range(m)), m + 2, m, m + 3, m + 1))
    return z.reshape(*lead, my * s_h, mx * s_w)


def split_time(seq: Any, s_t: int) -> Any:
    """(T, ...) → (s_t, T/s_t, ...): sub-sequence k is seq[k::s_t].

    Examples
    --------
    >>> split_time(np.arange(6), 2)
    array([[0, 2, 4],
           [1, 3, 5]])
    """
    n_t = seq.shape[0]
    if n_t % s_t:
        raise ValueError(f"{n_t} time levels do not split into {s_t} interleaved "
                         f"sub-sequences: use a multiple of s_T = {s_t}")
    rest = tuple(seq.shape[1:])
    y = seq.reshape(n_t // s_t, s_t, *rest)
    axes = (1, 0, *tuple(range(2, 2 + len(rest))))
    return _permute(y, axes)


def merge_time(sub: Any) -> Any:
    """The inverse of :func:`split_time`: (s_t, T/s_t, ...) → (T, ...).

    Examples
    --------
    >>> merge_time(split_time(np.arange(6), 3)).tolist()
    [0, 1, 2, 3, 4, 5]
    """
    s_t, m = sub.shape[:2]
    rest = tuple(sub.shape[2:])
    axes = (1, 0, *tuple(range(2, 2 + len(rest))))
    return _permute(sub, axes).reshape(s_t * m, *rest)


def decompose(traj: Any, s: Sequence[int]) -> Any:
    """Split a trajectory (T, ..., ny, nx) into the s_T · s_H · s_W sub-tasks.

    Returns shape (s_T, T/s_T, ..., s_H·s_W, ny/s_H, nx/s_W); :func:`reassemble`
    inverts it bit for bit.

    Examples
    --------
    >>> traj = np.random.default_rng(1).random((4, 8, 8))
    >>> sub = decompose(traj, (2, 2, 2))
    >>> sub.shape, bool(np.array_equal(reassemble(sub, (2, 2, 2)), traj))
    ((2, 2, 4, 4, 4), True)
    """
    s_h, s_w, s_t = _check_s(s)
    return split_space(split_time(traj, s_t), s_h, s_w)


def reassemble(sub: Any, s: Sequence[int]) -> Any:
    """The inverse of :func:`decompose`.

    Examples
    --------
    >>> reassemble(decompose(np.zeros((2, 4, 4)), (2, 2, 1)), (2, 2, 1)).shape
    (2, 4, 4)
    """
    s_h, s_w, _s_t = _check_s(s)
    return merge_time(merge_space(sub, s_h, s_w))


def _check_s(s: Any) -> tuple[int, int, int]:
    try:
        vals = tuple(s)
    except TypeError:
        vals = ()
    if len(vals) != 3 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer))
                             or v < 1 for v in vals):
        raise ValueError(f"s must be three integers (s_H, s_W, s_T) >= 1, got {s!r}")
    return tuple(int(v) for v in vals)


# ----------------------------------------------------------------------------- physics loss
def physics_loss(flow: MacFlow, psi0: torch.Tensor, psi1: torch.Tensor,
                 p: torch.Tensor | None, weights: tuple[Any, Any] | None = None
                 ) -> torch.Tensor:
    """⟨(Δt R_u)² + (Δt R_v)²⟩ of the step ψ⁰ → ψ¹ with pressure p (mean over batch and grid).

    Δt·R is the velocity error of the step, so the loss is in (velocity)².
    ``p=None`` takes the pressure that minimises the (unweighted) loss, p* = −q with
    Δ_h q = ∇·R(p = 0) (FFT; div∘grad is Δ_h on the MAC grid): R(p*) = R(0) − ∇q is
    the divergence-free part of the residual, the only part that ψ¹ can change.
    ``weights`` = (w_u, w_v), arrays of the grid's shape, scales the residual face by
    face: ⟨(w_u Δt R_u)² + (w_v Δt R_v)²⟩ (see :func:`face_weights`), each component's
    mean (the mean pressure gradient) taken over the faces with w > 0.

    Examples
    --------
    >>> from unisolve.problems import mac_flow as mf
    >>> f = mf.MacFlow(32, 32, 2 * np.pi / 32, nu=0.01, dt=0.01)
    >>> t = lambda a: torch.as_tensor(a)
    >>> exact = physics_loss(f, t(mf.taylor_green_psi(f, 0.0)), t(mf.taylor_green_psi(f, 0.01)),
    ...                      t(mf.taylor_green_pressure(f, 0.005)))
    >>> still = physics_loss(f, t(mf.taylor_green_psi(f, 0.0)), t(mf.taylor_green_psi(f, 0.0)),
    ...                      t(np.zeros((32, 32))))
    >>> float(exact) < 1e-3 * float(still)
    True
    >>> half = (np.full((32, 32), 0.5), np.full((32, 32), 0.5))
    >>> still_half = physics_loss(f, t(mf.taylor_green_psi(f, 0.0)),
    ...                           t(mf.taylor_green_psi(f, 0.0)), t(np.zeros((32, 32))), half)
    >>> bool(np.isclose(float(still_half), 0.25 * float(still)))
    True
    """
    if p is None:
        r_u, r_v = flow.residual(psi0, psi1, torch.zeros_like(psi1))
        q = flow.poisson(flow.divergence(r_u, r_v))
        g_u, g_v = flow.gradient(q)
        r_u, r_v = r_u - g_u, r_v - g_v
    else:
        r_u, r_v = flow.residual(psi0, psi1, p)
    if weights is not None:
        w_u, w_v = (r_u.new_tensor(np.asarray(w)) for w in weights)
        # the mean pressure gradient G is free: fit it on the weighted faces only, so
        # faces left out (w = 0) do not shift every other face's residual
        on_u, on_v = (w > 0 for w in (w_u, w_v))
        r_u = w_u * (r_u - r_u[..., on_u].mean(-1, keepdim=True)[..., None])
        r_v = w_v * (r_v - r_v[..., on_v].mean(-1, keepdim=True)[..., None])
    return ((r_u**2 + r_v**2) * flow.dt**2).mean()


# ----------------------------------------------------------------------------- channel options
def _static_faces(flow: MacFlow) -> tuple[np.ndarray, np.ndarray]:
    """The u- and v-faces penalised by the solid rows and columns that span the box
    (a channel's walls and inflow band): faces whose velocity never changes."""
    if flow.solid is None:
        return np.zeros(flow.shape, bool), np.zeros(flow.shape, bool)
    static = flow.solid.all(axis=1)[:, None] | flow.solid.all(axis=0)[None, :]
    # a u-face (i, j) lies between cells (i, j−1) and (i, j); a v-face between (i−1, j), (i, j)
    return static | np.roll(static, 1, axis=1), static | np.roll(static, 1, axis=0)


def _face_nodes(f_u: np.ndarray, f_v: np.ndarray) -> np.ndarray:
    """The ψ nodes the faces f_u, f_v read: u[i, j] = U + (ψ[i+1, j] − ψ[i, j])/h,
    v[i, j] = −(ψ[i, j+1] − ψ[i, j])/h."""
    return f_u | np.roll(f_u, 1, axis=0) | f_v | np.roll(f_v, 1, axis=1)


def static_nodes(flow: MacFlow) -> np.ndarray:
    """The ψ nodes that touch a face of the walls or the inflow band (bool (ny, nx)).

    With ``train(..., hard_walls=True)`` the network's ψ update is zero on these
    nodes, so every velocity on those faces keeps its starting value exactly (the
    channel's walls and inflow are steady); the body inside the channel (a cylinder)
    is not included: its flux split has to change for the wake to shed.

    Examples
    --------
    >>> from unisolve.problems.mac_flow import channel_flow
    >>> m = static_nodes(channel_flow(16, 32))
    >>> np.nonzero(m.all(axis=1))[0].tolist(), np.nonzero(m.all(axis=0))[0].tolist()
    ([0, 1, 15], [0, 1, 2, 3, 4])
    """
    return _face_nodes(*_static_faces(flow))


def face_weights(flow: MacFlow, solid_weight: float = 1.0,
                 hard_walls: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Weights (w_u, w_v) of the residual on every face for :func:`physics_loss`.

    1 on the fluid faces, ``solid_weight`` on the penalised faces (where the term
    Δt κ (u¹ − u_b) = λ (u¹ − u_b) makes the residual λ + 1 times the velocity error),
    and 0 on the faces :func:`static_nodes` freezes when ``hard_walls``.

    Examples
    --------
    >>> from unisolve.problems.mac_flow import channel_flow
    >>> f = channel_flow(16, 32)
    >>> w_u, w_v = face_weights(f, 0.1, hard_walls=True)
    >>> sorted(np.unique(w_u).tolist()), float(w_u[8, 20]), float(w_u[0, 20])
    ([0.0, 0.1, 1.0], 1.0, 0.0)
    """
    w_u, w_v = np.ones(flow.shape), np.ones(flow.shape)
    if flow.solid is not None:
        w_u[flow.kappa_u > 0] = solid_weight
        w_v[flow.kappa_v > 0] = solid_weight
        if hard_walls:
            f_u, f_v = _static_faces(flow)
            w_u[f_u] = 0.0
            w_v[f_v] = 0.0
    return w_u, w_v


def _blocked_plug_psi(flow: MacFlow, sweeps: int = 3000) -> np.ndarray:
    """The plug flow led round the body: a generated start, not a solver state.

    ψ keeps the plug flow's values on :func:`static_nodes`, is u = 0 on the body's
    nodes (ψ = c − U h (i − ny/2), c the centre-line value) and harmonic (Δ_h ψ = 0,
    Jacobi sweeps) on the others: a potential flow past the body.
    """
    psi = plug_flow_psi(flow)
    fixed = static_nodes(flow)
    body = _face_nodes(flow.kappa_u > 0, flow.kappa_v > 0) & ~fixed
    rows = np.broadcast_to(np.arange(flow.ny)[:, None] - flow.ny // 2, flow.shape)
    psi[body] = (psi[flow.ny // 2, 0] - flow.mean_flow[0] * flow.h * rows)[body]
    free = ~(fixed | body)
    for _ in range(sweeps):
        avg = (np.roll(psi, 1, 0) + np.roll(psi, -1, 0) + np.roll(psi, 1, 1)
               + np.roll(psi, -1, 1)) / 4
        psi = np.where(free, avg, psi)
    return psi - psi.mean()


def _wake_psi(flow: MacFlow, rng: np.random.Generator, x_body: float = 0.5) -> np.ndarray:
    """A seeded random vortex street behind the body (generated, not solver data).

    Alternating Gaussian vortices ω = Γ/(π σ²) exp(−r²/σ²) on two rows about the
    centre line, downstream of x_body; random spacing, row distance, core size,
    circulation (decaying downstream). ψ solves Δ_h ψ = −ω, tapered to zero towards
    the walls and the inflow.
    """
    h = flow.h
    y = np.arange(flow.ny)[:, None] * h
    x = np.arange(flow.nx)[None, :] * h
    length, height = flow.nx * h, flow.ny * h
    spacing, b = rng.uniform(0.55, 0.9), rng.uniform(0.12, 0.3)
    sig, gam = rng.uniform(0.04, 0.09), rng.uniform(0.15, 0.6)
    x0 = x_body + rng.uniform(0.15, 0.15 + spacing)
    sign = rng.choice([-1.0, 1.0])
    w = np.zeros(flow.shape)
    xv, k = x0, 0
    while xv < length - 0.1:
        side = sign * (1 if k % 2 == 0 else -1)
        g = gam * side * rng.uniform(0.7, 1.0) * math.exp(-0.3 * (xv - x0))
        w += g / (math.pi * sig**2) * np.exp(-((x - xv) ** 2 + (y - height / 2 - side * b / 2)
                                               ** 2) / sig**2)
        xv += spacing / 2 * rng.uniform(0.9, 1.1)
        k += 1
    taper_y = np.sin(np.pi * np.clip((y - 2 * h) / (height - 4 * h), 0, 1))
    taper_x = np.clip((x - x_body + 0.15) / 0.2, 0, 1) * np.clip((length - 0.05 - x) / 0.2, 0, 1)
    return flow.poisson(-w) * taper_y * taper_x


# ----------------------------------------------------------------------------- networks
class TiedConv2d(nn.Module):
    """``groups`` periodic convolutions with weights w_g = w + δ_g (one per sub-task).

    The common part w and the deviations δ_g (zero at start) together are just
    ``groups`` independent filters; the split lets training move the common part
    first (see :func:`train`): the sub-grids are shifted samples of one field, so the
    sub-tasks are nearly one map, and sub-networks that drift apart make the
    re-assembled ψ jump between neighbouring sub-grids — a velocity error of order
    1/h that swamps the loss (Adam moves every weight by about lr per step, so
    separately trained copies drift apart even where the loss does not ask them to).

    Examples
    --------
    >>> conv = TiedConv2d(2, 3, groups=4)
    >>> conv(torch.randn(1, 8, 6, 6)).shape
    torch.Size([1, 12, 6, 6])
    """

    def __init__(self, c_in: int, c_out: int, kernel: int = 3, dilation: int = 1,
                 groups: int = 1) -> None:
        super().__init__()
        self.groups, self.dilation, self.kernel = groups, dilation, kernel
        one = nn.Conv2d(c_in, c_out, kernel)
        self.weight = nn.Parameter(one.weight.detach().clone())
        self.bias = nn.Parameter(one.bias.detach().clone())
        self.delta_weight = nn.Parameter(torch.zeros((groups, *tuple(self.weight.shape))))
        self.delta_bias = nn.Parameter(torch.zeros(groups, c_out))

    def filters(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The grouped weight (groups·c_out, c_in, k, k) and bias."""
        w = (self.weight + self.delta_weight).flatten(0, 1)
        b = (self.bias + self.delta_bias).flatten()
        return w, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.filters()
        pad = self.dilation * (self.kernel // 2)
        if pad:
            x = F.pad(x, (pad, pad, pad, pad), mode="circular")
        return F.conv2d(x, w, b, dilation=self.dilation, groups=self.groups)


class StaggerNet(nn.Module):
    """``groups`` independent stride-1 dilated CNNs evaluated as one grouped network.

    lift (3×3) → residual layers z ← z + GELU(conv3×3, dilation d)(z) for
    d = 1, 2, …, 2^levels, …, 2, 1 → 1×1 projection (zero at start: the zero
    update). Periodic padding. Input (B, groups·c_in, h, w), output
    (B, groups·c_out, h, w); group g's channels pass through group g's weights only.

    Stride 1 everywhere (no pooling): every layer is a stencil or a pointwise map,
    both of which commute with sampling a smooth field on a shifted lattice, so
    sub-networks computing the same function give outputs that interleave
    smoothly — a U-Net's pooling would make each sub-grid's output jump on its own
    2-cell pattern.

    Examples
    --------
    >>> net = StaggerNet(2, 2, width=4, levels=1, groups=3)
    >>> with torch.no_grad():
    ...     _ = net.out.delta_weight.normal_(), net.lift.delta_weight.normal_()
    >>> x = torch.randn(1, 6, 8, 8)
    >>> y = net(x)
    >>> x2 = x.clone(); x2[:, :2] += 1.0         # change group 0's input only
    >>> bool(torch.equal(net(x2)[:, 2:], y[:, 2:]))   # groups 1, 2 do not see it
    True
    """

    def __init__(self, c_in: int, c_out: int, width: int = 32, levels: int = 3,
                 groups: int = 1) -> None:
        super().__init__()
        self.c_in, self.c_out, self.width, self.levels, self.groups = (c_in, c_out, width,
                                                                       levels, groups)
        self.dilations = [2**k for k in range(levels + 1)] + [2**k for k in
                                                              reversed(range(levels))]
        self.lift = TiedConv2d(c_in, width, 3, 1, groups)
        self.layers = nn.ModuleList([TiedConv2d(width, width, 3, d, groups)
                                     for d in self.dilations])
        self.out = TiedConv2d(width, c_out, 1, 1, groups)
        with torch.no_grad():   # start at the zero update
            self.out.weight.zero_()
            self.out.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() and fast_pass_enabled():
            return inference_forward(self, x)   # in-place GELU/add, same values (rollouts)
        z = F.gelu(self.lift(x))
        for layer in self.layers:
            z = z + F.gelu(layer(z))
        return self.out(z)

    def common(self) -> list[nn.Parameter]:
        """The filters w shared by all sub-tasks (with :meth:`deviations`, every weight)."""
        return [q for m in self.modules() if isinstance(m, TiedConv2d)
                for q in (m.weight, m.bias)]

    def deviations(self) -> list[nn.Parameter]:
        """The per-sub-task parts δ_g of every layer."""
        return [m.delta_weight for m in self.modules() if isinstance(m, TiedConv2d)] + \
            [m.delta_bias for m in self.modules() if isinstance(m, TiedConv2d)]

    def group(self, g: int) -> StaggerNet:
        """Sub-network g alone (groups = 1), its filters w + δ_g copied out."""
        one = StaggerNet(self.c_in, self.c_out, self.width, self.levels, 1)
        with torch.no_grad():
            for mine, theirs in zip(self.modules(), one.modules(), strict=False):
                if isinstance(mine, TiedConv2d):
                    theirs.weight.copy_(mine.weight + mine.delta_weight[g])
                    theirs.bias.copy_(mine.bias + mine.delta_bias[g])
        return one


def _levels(ny: int, nx: int) -> int:
    levels = 0
    while min(ny, nx) >> (levels + 1) >= _BOTTOM and ny % (2 << levels) == 0 \
            and nx % (2 << levels) == 0:
        levels += 1
    return levels


@contextmanager
def _cudnn_autotuned(device: torch.device) -> Iterator[None]:
    """On a CUDA device, let cuDNN time its convolution algorithms for the rollout's shapes
    (``torch.backends.cudnn.benchmark``) and restore the caller's setting afterwards.

    The separate sub-networks are one grouped convolution (4 groups of width 16 for
    (2, 2, 1)), for which cuDNN's default choice is slow: on an H200 the (2, 2, 1) step
    at 512², batch 8, takes 59.4 ms with it and 9.3 ms after the timing, against the
    fine network's 20.3 ms (``benchmarks/stagger_gpu.py``, 2026-12-04). The timing costs
    a few milliseconds at the first step of each new shape. torch keeps the algorithm it
    chose per convolution shape for the process, whatever the flag is later, so this
    helps where a shape is first run inside a rollout (measured: 9.85 ms per step then,
    59.5 ms when the same shapes were first run with the flag off).
    """
    if device.type != "cuda":
        yield
        return
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = before


# ----------------------------------------------------------------------------- the model
class StaggerModel:
    """A trained NeuralStagger (or fine) model for one flow set-up.

    Attributes
    ----------
    s : (int, int, int)
        (s_H, s_W, s_T).
    shared : bool
        One network for all spatial offsets (offset as input) or one per offset.
    config : dict
        Widths, levels, the flow set-up it was trained for.
    log : TrainingLog
        Loss per iteration, seconds.

    Examples
    --------
    >>> from unisolve.problems.mac_flow import taylor_green_flow
    >>> p = taylor_green_flow(16, steps=4)
    >>> m = train(p, s=(2, 2, 1), width=8, iterations=5, batch=2, pool=4,
    ...           progress_bar=False)
    >>> m.s, m.rollout(p).shape
    ((2, 2, 1), (5, 16, 16))
    """

    def __init__(self, s: tuple[int, int, int], shared: bool, config: dict,
                 net: StaggerNet) -> None:
        self.s, self.shared, self.config, self.net = s, shared, config, net
        self.log = TrainingLog()
        self.meta: dict = {}
        self.flow = _flow_from(config)
        self._const: dict = {}

    # -- facts ---------------------------------------------------------------------------
    @property
    def groups(self) -> int:
        return self.s[0] * self.s[1]

    @property
    def parameters(self) -> int:
        # each sub-task's filters w + δ_g count once (w alone when there is one net)
        return sum(p.numel() for p in self.net.deviations())

    @property
    def name(self) -> str:
        return "neural-fine" if self.s == (1, 1, 1) else "neural-stagger"

    # -- one network pass -----------------------------------------------------------------
    def _split(self, psi: torch.Tensor, p: torch.Tensor) -> tuple:
        """Fine (B, ny, nx) ψ and p → sub-grids (B, G, h, w), and the constant channels."""
        s_h, s_w, _ = self.s
        const = None
        if self.flow.solid is not None:   # the solid mask and u_b on the sub-grids
            def make() -> torch.Tensor:
                u_b = self.flow.u_b if self.flow.u_b is not None else np.zeros(self.flow.shape)
                fine = self._as(np.stack([self.flow.solid.astype(np.float64), u_b]), psi)
                return split_space(fine, s_h, s_w).transpose(0, 1)  # (G, 2, h, w)
            const = self._constant("solid", psi, make)
        return split_space(psi, s_h, s_w), split_space(p, s_h, s_w), const

    # -- constants and device ------------------------------------------------------------
    @staticmethod
    def _as(a: Any, like: torch.Tensor) -> torch.Tensor:
        """``a`` as a tensor of ``like``'s dtype on ``like``'s device."""
        return torch.as_tensor(a, dtype=like.dtype, device=like.device)

    def _constant(self, key: Any, like: torch.Tensor, make: Any) -> Any:
        """A constant of the step (mask, FFT symbol, penalty factors), made once per
        (key, dtype, device) by ``make()``.

        It is made outside inference mode even when the caller runs under
        ``torch.inference_mode`` (every rollout): an inference tensor cannot be saved
        for backward, so a constant first made by a rollout would otherwise break the
        training of the same model object afterwards.
        """
        full = (key, like.dtype, like.device)
        c = self._const.get(full)
        if c is None:
            with torch.inference_mode(False):
                c = make()
            self._const[full] = c
        return c

    @property
    def device(self) -> torch.device:
        """Where the sub-networks' weights live (and the rollouts run)."""
        return next(self.net.parameters()).device

    def to(self, device: Any) -> StaggerModel:
        """Move the sub-networks to ``device`` ("cpu", "cuda", a ``torch.device``); the
        rollouts then run there and return NumPy arrays as before. Returns the model.

        Examples
        --------
        >>> from unisolve.problems.mac_flow import decaying_turbulence
        >>> p = decaying_turbulence(16, steps=2)
        >>> m = train(p, s=(2, 2, 1), width=4, iterations=2, batch=2, pool=4,
        ...           progress_bar=False)
        >>> m.to("cpu").device.type
        'cpu'
        """
        self.net.to(torch_device(device))
        self._const.clear()   # the cached constants live on the old device
        return self

    def _features(self, psi: torch.Tensor, p: torch.Tensor, const: Any) -> torch.Tensor:
        """Sub-grid inputs (B, G, c, h, w): ψ, u_H, v_H, ω_H, p (+ solid mask, u_b).

        u_H, v_H, ω_H are the MAC differences of ψ on the sub-grid itself
        (spacings s_W h, s_H h), so a sub-network reads nothing outside its sub-grid.
        """
        u, v, w = self._sub_grid_fields(psi)
        chans = [psi, u, v, w, p]
        if const is not None:
            c = const.expand(psi.shape[0], *const.shape)
            chans += [c[:, :, 0], c[:, :, 1]]
        if self.config.get("tendency"):   # last channel: the coarse classical ψ tendency
            chans.append(self._tendency(psi, (u, v, w), const))
        return torch.stack(chans, dim=2)

    def _sub_grid_fields(self, psi: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """u_H, v_H (fluctuation about the mean flow) and ω_H: the MAC differences of the
        sub-grid ψ (..., h, w) on the sub-grid itself (spacings s_H h, s_W h)."""
        dy, dx = self.s[0] * self.flow.h, self.s[1] * self.flow.h
        u = (psi.roll(-1, -2) - psi) / dy
        v = -(psi.roll(-1, -1) - psi) / dx
        return u, v, self._sub_grid_vorticity(u, v)

    def _sub_grid_vorticity(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """ω_H = δ_x v − δ_y u at the sub-grid's nodes (spacings s_H h, s_W h)."""
        dy, dx = self.s[0] * self.flow.h, self.s[1] * self.flow.h
        return (v - v.roll(1, -1)) / dx - (u - u.roll(1, -2)) / dy

    def _rate(self, u: torch.Tensor, v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """∂ψ/∂t of the vorticity equation on the sub-grid, explicitly:

            ∂ω/∂t = −(U + u)·∇ω + ν Δ_H ω,      ∂ψ/∂t = (−Δ_H)⁻¹ ∂ω/∂t   (ω = −Δψ),

        with u, v (faces, fluctuation about the mean flow U) averaged to the nodes,
        ∇ω by central differences and Δ_H, (−Δ_H)⁻¹ (FFT) on the sub-grid itself
        (spacings s_H h, s_W h).
        """
        dy, dx = self.s[0] * self.flow.h, self.s[1] * self.flow.h
        u_n = (u + u.roll(1, -2)) / 2 + self.flow.mean_flow[0]
        v_n = (v + v.roll(1, -1)) / 2 + self.flow.mean_flow[1]
        w_x = (w.roll(-1, -1) - w.roll(1, -1)) / (2 * dx)
        w_y = (w.roll(-1, -2) - w.roll(1, -2)) / (2 * dy)
        lap = (w.roll(-1, -1) + w.roll(1, -1) - 2 * w) / dx**2 + \
            (w.roll(-1, -2) + w.roll(1, -2) - 2 * w) / dy**2
        return self._inverse_laplacian(-(u_n * w_x + v_n * w_y) + self.flow.nu * lap)

    def _sub_grid_symbol(self, hh: int, ww: int) -> np.ndarray:
        """The rfft2 symbol of −Δ_H on an (hh, ww) sub-grid (spacings s_H h, s_W h), with
        ∞ at the mean mode: its inverse and inverse square root leave the mean out."""
        lam = -laplacian_symbol(hh, ww, self.s[0] * self.flow.h, self.s[1] * self.flow.h)
        lam[0, 0] = np.inf   # the mean of ψ (and p) is irrelevant
        return lam

    def _inverse_laplacian(self, w: torch.Tensor) -> torch.Tensor:
        """(−Δ_H)⁻¹ w on the sub-grid (FFT; the mean of the result is zero)."""
        hh, ww = w.shape[-2:]
        inv = self._constant(("inverse", hh, ww), w,
                             lambda: self._as(1 / self._sub_grid_symbol(hh, ww), w))
        return torch.fft.irfft2(torch.fft.rfft2(w) * inv, s=(hh, ww))

    @property
    def scheme(self) -> str | None:
        """The classical step of the tendency skip: None, "euler" or "rk3"."""
        t = self.config.get("tendency")
        return None if not t else ("euler" if t is True else str(t))

    def _tendency(self, psi: torch.Tensor, fields: tuple | None = None,
                  const: Any = None) -> torch.Tensor:
        """(ψ̃ − ψ)/(s_T Δt) of the coarse classical step ψ → ψ̃ of s_T Δt on every
        sub-grid (B, G, h, w): the physics input and skip connection of ``tendency``
        models, so that the untrained model (zero network output) *is* that step.

        ``"euler"``: ψ̃ = ψ + τ ψ_t (τ = s_T Δt, ψ_t from :meth:`_rate`); ``"rk3"``: the
        three-stage strong-stability-preserving Runge–Kutta step (Shu–Osher),

            ψ⁽¹⁾ = ψ + τ ψ_t(ψ),   ψ⁽²⁾ = ¾ ψ + ¼ (ψ⁽¹⁾ + τ ψ_t(ψ⁽¹⁾)),
            ψ̃ = ⅓ ψ + ⅔ (ψ⁽²⁾ + τ ψ_t(ψ⁽²⁾)),

        stable for central advection up to a Courant number √3 where Euler is not
        stable at any (so it allows the long steps of s_T > 1). Flows with penalised
        cells then take the Brinkman term implicitly on the sub-grid's faces and
        project back to a stream function (``const``: the sub-grid solid mask and u_b,
        see :meth:`_penalised`).
        """
        u, v, w = self._sub_grid_fields(psi) if fields is None else fields
        tau = self.s[2] * self.flow.dt
        if self.scheme == "rk3":
            y1 = psi + tau * self._rate(u, v, w)
            y2 = 0.75 * psi + 0.25 * (y1 + tau * self._rate(*self._sub_grid_fields(y1)))
            new = psi / 3 + 2 / 3 * (y2 + tau * self._rate(*self._sub_grid_fields(y2)))
        else:
            new = psi + tau * self._rate(u, v, w)
        if const is not None:
            new = self._penalised(new, const, tau)
        return (new - psi) / tau

    def _penalised(self, psi: torch.Tensor, const: Any, tau: float) -> torch.Tensor:
        """The Brinkman term of τ, implicitly, then the projection back to a stream function.

        On a face of a solid sub-grid cell (or of its west / south neighbour, the fine
        grid's rule) u ← (u + λ u_b)/(1 + λ), v ← v/(1 + λ), λ = κ τ (κ = penalty/Δt)
        applied to the whole velocity U + u; then ψ = (−Δ_H)⁻¹ ω_H(u, v): the
        divergence-free part of the penalised velocity (its mean stays U: the mean
        pressure gradient G of the scheme).
        """
        def make() -> tuple[torch.Tensor, ...]:
            solid, u_b = const[:, 0] > 0.5, const[:, 1]        # (G, h, w)
            lam = self.flow.penalty / self.flow.dt * tau
            pen_u = (solid | solid.roll(1, -1)).to(psi.dtype)
            pen_v = (solid | solid.roll(1, -2)).to(psi.dtype)
            return (1 / (1 + lam * pen_u), lam * pen_u * u_b / (1 + lam * pen_u),
                    1 / (1 + lam * pen_v))
        # per sub-grid set: all G (a rollout) or one (coarse_rollout's view const[g:g+1])
        fac = self._constant(("penalty", tau, const.data_ptr(), tuple(const.shape)), psi, make)
        u, v, _ = self._sub_grid_fields(psi)
        big_u, big_v = self.flow.mean_flow
        u = (big_u + u) * fac[0] + fac[1]
        v = (big_v + v) * fac[2]
        return self._inverse_laplacian(self._sub_grid_vorticity(u, v)) + \
            psi.mean(dim=(-2, -1), keepdim=True)

    def _with_offsets(self, x: torch.Tensor, offsets: Sequence[int]) -> torch.Tensor:
        """Append to x (B, len(offsets), c, h, w) the one-hot channels of each sub-grid's
        offset: what the shared network is told about which sub-grid it sees."""
        b, g, _, hh, ww = x.shape
        offsets = tuple(offsets)
        hot = self._constant(("offsets", offsets), x, lambda: torch.eye(
            self.groups, dtype=x.dtype, device=x.device)[list(offsets)])
        return torch.cat([x, hot[None, :, :, None, None].expand(b, g, self.groups, hh, ww)],
                         dim=2)

    def _net_pass(self, x: torch.Tensor) -> torch.Tensor:
        """(B, G, c_in, h, w) → (B, G, 2, h, w) through the sub-networks."""
        b, g, c, hh, ww = x.shape
        if self.shared:
            z = self._with_offsets(x, range(g)).reshape(b * g, c + g, hh, ww)
            return self.net(z).reshape(b, g, 2, hh, ww)
        return self.net(x.reshape(b, g * c, hh, ww)).reshape(b, g, 2, hh, ww)

    def _spectral(self, out: torch.Tensor) -> torch.Tensor:
        """The fixed last layer of every sub-network: (−Δ_H)^(−1/2) on its own sub-grid.

        Δ_H is the 5-point Laplacian of the coarse sub-grid (spacings s_W h, s_H h).
        The loss sees the velocity curl ψ and the force ∇p, one derivative of the
        outputs; with this layer both have a symbol of size one at every wavenumber,
        so the physics loss is equally conditioned on large and small scales.
        """
        hh, ww = out.shape[-2:]
        sym = self._constant(("spectral", hh, ww), out,
                             lambda: self._as(1 / np.sqrt(self._sub_grid_symbol(hh, ww)), out))
        return torch.fft.irfft2(torch.fft.rfft2(out) * sym, s=(hh, ww))

    def _with_skip(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``tendency`` models: ψ update = the explicit coarse tendency (the last input
        channel of x, (B, G, c, h, w)) + the network's; the pressure is the network's."""
        if not self.config.get("tendency"):
            return out
        return torch.cat([out[:, :, :1] + x[:, :, -1:], out[:, :, 1:]], dim=2)

    def advance(self, psi: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(ψ, p) at t → (ψ, p) at t + s_T Δt for a batch (B, ny, nx) of fine states."""
        s_h, s_w, s_t = self.s
        x = self._features(*self._split(psi, p))
        out = self._with_skip(self._spectral(self._net_pass(x)), x)
        out = merge_space(out.transpose(1, 2), s_h, s_w)  # (B, 2, ny, nx)
        upd = out[:, 0]
        if self.config.get("hard_walls"):   # walls and inflow keep their velocities exactly
            keep = self._constant("keep", upd, lambda: self._as(~static_nodes(self.flow), upd))
            upd = upd * keep
        return psi + s_t * self.flow.dt * upd, out[:, 1]

    # -- rollouts ------------------------------------------------------------------------
    def _initial(self, problems: Sequence[FlowProblem], lanes: int | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """ψ and p of every problem's first ``lanes`` states (default s_T), (K · lanes, ny, nx),
        trajectory-major: ψ⁰ (p⁰ = 0) and lanes − 1 classical steps after it. ``lanes = 1``
        starts the time sub-sequence through ψ⁰ alone (a strided rollout)."""
        lanes = self.s[2] if lanes is None else lanes
        starts = [_multilevel_start(q.psi0, lanes, q.flow) for q in problems]
        w = next(self.net.parameters())
        shape = self.flow.shape
        psi = self._as(np.stack([a for a, _ in starts]), w).reshape(-1, *shape)
        p = self._as(np.stack([b for _, b in starts]), w).reshape(-1, *shape)
        return psi, p

    def check(self, problem: Any) -> None:
        """Raise if ``problem`` is not the flow set-up this model was trained for."""
        if not isinstance(problem, FlowProblem):
            raise TypeError(f"{self.name} solves a FlowProblem (unisolve.problems.mac_flow), "
                            f"got {type(problem).__name__}")
        mine, theirs = self.config["flow"], _flow_facts(problem.flow)
        if mine != theirs:
            diff = {k: (mine.get(k), theirs.get(k)) for k in set(mine) | set(theirs)
                    if mine.get(k) != theirs.get(k)}
            raise ValueError(f"the model was trained for another flow set-up; (model, "
                             f"problem) differ in {diff}: train a model on this problem")

    def rollout(self, problem: FlowProblem | Sequence[FlowProblem],
                steps: int | None = None, *, strided: bool = False) -> np.ndarray:
        """ψ⁰ … ψ^steps, float64 (steps + 1, ny, nx); steps a multiple of s_T.

        Given a list of problems (same set-up) they are rolled out as one batch and
        the result has shape (len(problems), steps + 1, ny, nx). The first s_T − 1
        steps (only when s_T > 1) are the classical solver's.

        ``strided=True`` advances only the time sub-sequence through ψ⁰ (sub-task
        k = 0 of :func:`split_time`): one network call per s_T·Δt of simulated time,
        no classical start-up steps, and the result holds the time levels
        0, s_T, 2 s_T, …, steps only (shape (steps/s_T + 1, ny, nx)). The
        sub-sequences of the interleaved rollout never read each other, so these are
        the interleaved rollout's levels ``[::s_T]``.

        The rollout runs where the model is (:meth:`to`); on a CUDA device with cuDNN's
        algorithm timing on (``torch.backends.cudnn.benchmark``, the caller's setting
        restored afterwards), which the grouped convolutions of separate sub-networks
        need to be fast.

        Examples
        --------
        >>> from unisolve.problems.mac_flow import decaying_turbulence
        >>> p = decaying_turbulence(16, steps=4)
        >>> m = train(p, s=(2, 2, 2), width=8, iterations=3, batch=2, pool=4,
        ...           progress_bar=False)
        >>> full, every2 = m.rollout(p), m.rollout(p, strided=True)
        >>> full.shape, every2.shape, bool(np.allclose(full[::2], every2, atol=1e-6))
        ((5, 16, 16), (3, 16, 16), True)
        """
        many = isinstance(problem, (list, tuple))
        probs = list(problem) if many else [problem]
        if not probs:
            raise ValueError("rollout needs at least one problem")
        for q in probs:
            self.check(q)
        steps = probs[0].steps if steps is None else steps
        s_t = self.s[2]
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1 \
                or steps % s_t:
            raise ValueError(f"steps must be a positive multiple of s_T = {s_t}, got "
                             f"{steps!r}")
        if not isinstance(strided, (bool, np.bool_)):
            raise TypeError(f"strided must be True or False, got {strided!r}")
        shape = self.flow.shape
        lanes = 1 if strided else s_t     # the sub-sequences advanced: through ψ⁰ only, or all
        psi, p = self._initial(probs, lanes)      # the K · lanes current states
        out = [psi.reshape(len(probs), lanes, *shape)]
        with torch.inference_mode(), _cudnn_autotuned(psi.device):
            for _ in range(steps // s_t):
                psi, p = self.advance(psi, p)
                out.append(psi.reshape(len(probs), lanes, *shape))
        traj = torch.cat(out, dim=1).to("cpu", torch.float64).numpy()
        traj = traj if strided else traj[:, : steps + 1]
        return traj if many else traj[0]

    def coarse_rollout(self, problem: FlowProblem, offset: tuple[int, int] = (0, 0),
                       steps: int | None = None) -> np.ndarray:
        """Roll out one sub-grid alone: ψ on the nodes (a + s_H I, b + s_W J) only.

        The multi-resolution option: 1/(s_H s_W) of the arithmetic. Returns
        (steps + 1, ny/s_H, nx/s_W); s_T must be 1.

        Examples
        --------
        >>> from unisolve.problems.mac_flow import taylor_green_flow
        >>> p = taylor_green_flow(16, steps=2)
        >>> m = train(p, s=(2, 2, 1), width=8, iterations=2, batch=2, pool=4,
        ...           progress_bar=False)
        >>> m.coarse_rollout(p, (1, 0)).shape
        (3, 8, 8)
        """
        self.check(problem)
        s_h, s_w, s_t = self.s
        if s_t != 1:
            raise ValueError("coarse_rollout needs s_T = 1 (a time sub-sequence depends on "
                             "the fine start-up steps)")
        a, b = offset
        if not (0 <= a < s_h and 0 <= b < s_w):
            raise ValueError(f"offset must be (a, b) with 0 <= a < {s_h}, 0 <= b < {s_w}, "
                             f"got {offset!r}")
        steps = problem.steps if steps is None else int(steps)
        g = a * s_w + b
        w = next(self.net.parameters())
        net = self.net if self.shared else self.net.group(g).to(device=w.device, dtype=w.dtype)
        psi_s, p_s, const = self._split(self._as(problem.psi0[None], w),
                                        w.new_zeros((1, *problem.flow.shape)))
        psi, p = psi_s[:, g:g + 1], p_s[:, g:g + 1]          # (1, 1, h, w)
        const = None if const is None else const[g:g + 1]
        out = [psi[:, 0]]
        with torch.inference_mode(), _cudnn_autotuned(psi.device):
            for _ in range(steps):
                x = self._features(psi, p, const)            # (1, 1, c, h, w)
                z = self._with_offsets(x, [g]) if self.shared else x
                upd = self._with_skip(self._spectral(net(z[:, 0]))[:, None], x)
                psi, p = psi + self.flow.dt * upd[:, :, 0], upd[:, :, 1]
                out.append(psi[:, 0])
        return torch.cat(out).to("cpu", torch.float64).numpy()

    def solve(self, problem: FlowProblem, steps: int | None = None, *,
              strided: bool = False, device: Any = None) -> Result:
        """Roll out and report (see the ``neural-stagger`` method); ``device`` moves the
        model there first (:meth:`to`)."""
        if device is not None:
            self.to(device)
        t0 = time.perf_counter()
        traj = self.rollout(problem, steps, strided=strided)
        seconds = time.perf_counter() - t0
        every = self.s[2] if strided else 1      # time steps between stored levels
        n = (len(traj) - 1) * every              # Δt steps simulated
        finite = bool(np.all(np.isfinite(traj)))
        info = {"s": self.s, "shared": self.shared, "parameters": self.parameters,
                "device": str(self.device),
                "strided": bool(strided), "time_levels_every": every,
                "network_calls": n // self.s[2], "simulated_time": n * self.flow.dt,
                "rollout_seconds": seconds,   # the rollout alone (no reference run)
                # the currency: wall seconds per unit of simulated time (calls · s_T · Δt)
                "seconds_per_unit_time": seconds / (n * self.flow.dt),
                "seconds_per_step": seconds / n,
                "stopping_test": f"none: a fixed number of network time steps ({n})"}
        if problem.reference is not None or problem.steps <= 400:
            reference_rollout(problem)  # mac-cn's trajectory, computed once and kept
            info["velocity_error"] = problem.velocity_error(traj, every=every) \
                if finite else None
        # no stopping test ran: COMPLETED, never CONVERGED (no residual is recorded)
        return Result(x=traj, status=Status.COMPLETED if finite else Status.NONFINITE,
                      iterations=n, residuals=[], time=seconds, method=self.name, info=info)

    # -- persistence ---------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write weights, configuration and training record (no code is pickled)."""
        path = Path(path)
        torch.save({"format": _FORMAT, "s": list(self.s), "shared": self.shared,
                    "config": self.config, "state_dict": self.net.state_dict(),
                    "log": self.log.as_dict(), "meta": self.meta}, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> StaggerModel:
        """Read a model written by :meth:`save`."""
        blob = read_model_file(path, _FORMAT, "NeuralStagger")
        c = blob["config"]
        net = StaggerNet(c["c_in"], 2, c["width"], c["levels"], c["net_groups"])
        net.load_state_dict(blob["state_dict"])
        model = cls(tuple(blob["s"]), bool(blob["shared"]), c, net)
        model.log = TrainingLog.from_dict(blob["log"])
        model.meta = dict(blob["meta"])
        return model

    def __repr__(self) -> str:
        kind = "shared" if self.shared else "separate"
        return (f"StaggerModel(s={self.s}, {kind}, width={self.config['width']}, "
                f"params={self.parameters}, iterations={self.log.epochs})")


# ----------------------------------------------------------------------------- set-up facts
def _flow_facts(flow: MacFlow) -> dict:
    """What identifies a flow set-up: scalars and a fingerprint of the geometry."""
    import hashlib

    geo = "periodic"
    if flow.solid is not None:
        u_b = np.zeros(flow.shape) if flow.u_b is None else flow.u_b
        geo = hashlib.sha1(flow.solid.tobytes() + np.ascontiguousarray(u_b).tobytes()
                           ).hexdigest()[:16]
    return {"ny": flow.ny, "nx": flow.nx, "h": flow.h, "nu": flow.nu, "dt": flow.dt,
            "mean_flow": list(flow.mean_flow), "penalty": flow.penalty, "geometry": geo}


def _flow_from(config: dict) -> MacFlow:
    f, geo = config["flow"], config.get("geometry_arrays")
    solid = u_b = None
    if geo is not None:
        solid = np.asarray(geo["solid"], dtype=bool)
        u_b = np.asarray(geo["u_b"], dtype=np.float64)
    return MacFlow(f["ny"], f["nx"], f["h"], f["nu"], f["dt"], solid=solid, u_b=u_b,
                   mean_flow=tuple(f["mean_flow"]), penalty=f["penalty"])


def _multilevel_start(psi0: np.ndarray, s_t: int, flow: MacFlow,
                      stepper: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """ψ⁰ and s_t − 1 classical steps after it, with their pressures (p⁰ = 0).

    Returns two arrays (s_t, ny, nx): a model that advances s_T sub-sequences at
    once needs s_T consecutive states to start from.
    """
    psi = np.empty((s_t, *flow.shape))
    p = np.zeros((s_t, *flow.shape))
    psi[0] = psi0
    if s_t > 1:
        from ..solvers.mac_projection import MacProjection

        stepper = MacProjection(flow) if stepper is None else stepper
        for j in range(1, s_t):
            psi[j], p[j], _, _ = stepper.step(psi[j - 1])
    return psi, p


def _random_states(problem: FlowProblem, k: int, rng: np.random.Generator,
                   starts: str = "plug", wake: float = 0.0) -> np.ndarray:
    """k random starting fields ψ of the problem's kind (the data-free training inputs).

    Periodic cases: random spectra E(k) ∝ k⁴ exp(−2 (k/k₀)²) with k₀ drawn from
    [0.375, 1.25] × the problem's k₀ ([1.5, 5] for the default k₀ = 4) and rms
    velocity from [0.5, 1.2] × its u_rms. Channel, ``starts="plug"``: the plug flow
    (walls at rest) plus noise of rms in [0, 0.1] everywhere; ``starts="blocked"``:
    the plug flow led round the body (:func:`_blocked_plug_psi`) plus that noise on
    the fluid's nodes only (zero on every node of a penalised face), and with
    probability ``wake`` a random vortex street (:func:`_wake_psi`) plus 0.3 × the noise.
    """
    flow = problem.flow
    k0 = float(problem.meta.get("k0", 4.0))
    u_rms = float(problem.meta.get("u_rms", 1.0))
    out = np.empty((k, *flow.shape))
    if flow.solid is not None and starts == "blocked":
        base = _blocked_plug_psi(flow)
        fluid = ~_face_nodes(flow.kappa_u > 0, flow.kappa_v > 0)
    for m in range(k):
        seed = int(rng.integers(2**31))
        if flow.solid is None:
            out[m] = random_turbulence_psi(flow, k0=rng.uniform(0.375, 1.25) * k0,
                                           u_rms=rng.uniform(0.5, 1.2) * u_rms, seed=seed)
        elif starts == "plug":
            out[m] = plug_flow_psi(flow) + rng.uniform(0.0, 0.1) * random_turbulence_psi(
                flow, k0=4.0, seed=seed)
        else:
            extra = rng.uniform(0.0, 0.1) * random_turbulence_psi(flow, k0=4.0, seed=seed)
            if wake > 0 and rng.random() < wake:
                extra = _wake_psi(flow, rng) + 0.3 * extra
            out[m] = base + extra * fluid
    return out


def _self_states(model: StaggerModel, problem: FlowProblem, warm: int,
                 keep: int = 400) -> np.ndarray:
    """States ``warm`` … ``warm + keep`` of the (untrained: its classical skip) model's
    own rollout from the problem's ψ⁰, (≈ keep / s_T + 1, ny, nx): ``starts="self"``."""
    s_t = model.s[2]
    steps = -(-(warm + keep) // s_t) * s_t
    run = FlowProblem(problem.flow, problem.psi0, steps, problem.name, problem.meta)
    traj = model.rollout(run, strided=True)
    bank = traj[-(-warm // s_t):]
    if not np.all(np.isfinite(bank)):
        raise ValueError("the untrained model's own rollout blew up before the training "
                         "states: use starts='blocked' or a smaller self_warm")
    return bank


def _check_count(name: str, v: Any, least: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {v!r}")
    return int(v)


def train(problem: FlowProblem, *, s: Sequence[int] = (2, 2, 1), shared: bool = False,
          width: int = 32, iterations: int = 1000, batch: int = 16, pool: int = 64,
          lr: float = 2e-3, reset_every: int = 4, untie: float = 0.5,
          deviation_lr: float = 0.1, seed: int = 0,
          dtype: torch.dtype = torch.float32, progress_bar: bool = True,
          hard_walls: bool = False, solid_weight: float = 1.0, starts: str = "plug",
          wake: float = 0.0, tendency: bool | str = False,
          self_warm: int = 2000, pressure: str = "network") -> StaggerModel:
    """Train a NeuralStagger model on the physics loss alone (no data).

    Parameters
    ----------
    problem : FlowProblem
        Gives the flow set-up (grid, ν, Δt, geometry); its ψ⁰ is not used — the
        pool starts from seeded random fields of the same kind.
    s : (s_H, s_W, s_T)
        The decomposition; (1, 1, 1) is the undecomposed fine network.
    shared : bool
        One network for all spatial offsets (one-hot offset channels) instead of
        one per offset.
    width : int
        Hidden channels of the fine network; each sub-network gets
        round(width / √(s_H s_W)) (so s_H s_W separate sub-networks hold as many
        weights as the fine one).
    iterations, batch, pool, lr
        Adam steps (learning rate cosine-decayed to lr/20), states per step,
        states in the pool.
    reset_every : int
        Replace one pool state by a fresh random field every this many steps.
    untie, deviation_lr : float
        Separate sub-networks (``shared=False``, s_H s_W > 1) train their common
        filters w from the start and their own parts δ_g from step
        ``untie · iterations`` on, at ``deviation_lr`` times the learning rate
        (see :class:`TiedConv2d`).
    seed : int
        Seeds the weights, the random fields and the pool draws.
    dtype : torch.dtype
        float32 (default; 2x faster on the CPU) or float64.
    progress_bar : bool
    hard_walls : bool
        Channel flows: the ψ update is zero on :func:`static_nodes` (a hard
        constraint, kept by the model's rollouts too), so the walls and the inflow
        band keep their velocities exactly, and their faces leave the loss.
    solid_weight : float
        Weight of the residual on the penalised faces (the body's, and the walls'
        unless ``hard_walls``) relative to the fluid faces (:func:`face_weights`).
    starts : {"plug", "blocked", "self"}
        Channel start states: the plug flow plus noise everywhere (``"plug"``), or
        the plug flow led round the body plus noise in the fluid only (``"blocked"``,
        see :func:`_random_states`). ``"self"`` (``tendency`` models, any flow): the
        states of the untrained model's own rollout from the problem's ψ⁰, steps
        ``self_warm`` to ``self_warm`` + 400 (for a channel: the wake it sheds by
        then) — generated by the model's classical skip, no solver data.
    self_warm : int
        With ``starts="self"``: the rollout steps before the first state kept.
    pressure : {"network", "projected"}
        The pressure in the loss: the network's second output (the paper's set-up),
        or the one that minimises the loss for the ψ¹ given (``p=None`` of
        :func:`physics_loss`), so the loss measures ψ¹ alone. With penalised cells
        a network pressure that lags lets ψ¹ absorb pressure errors and the rollouts
        drift; ``"projected"`` leaves the network's pressure output at zero.
    wake : float
        With ``starts="blocked"``: the fraction of start states that carry a seeded
        random vortex street behind the body (generated, no solver data).
    tendency : bool or {"euler", "rk3"}
        Give every sub-network the ψ tendency of a classical step of s_T·Δt of the
        vorticity equation on its own sub-grid (:meth:`StaggerModel._tendency`) as an
        input and add it to its ψ output: the untrained model is that coarse step,
        and the network learns the correction that zeroes the fine-grid
        Crank–Nicolson residual (the loss is unchanged: still no data). ``True`` or
        ``"euler"``: explicit Euler; ``"rk3"``: the SSP Runge–Kutta step, stable at
        the long steps of s_T > 1. With penalised cells the step includes the
        Brinkman term (implicitly) and the projection back to a stream function.

    Returns
    -------
    StaggerModel

    Examples
    --------
    >>> from unisolve.problems.mac_flow import decaying_turbulence
    >>> p = decaying_turbulence(16, steps=2)
    >>> m = train(p, s=(2, 2, 2), width=8, iterations=20, batch=4, pool=8,
    ...           progress_bar=False)
    >>> m, len(m.log.train_loss)
    (StaggerModel(s=(2, 2, 2), separate, width=4, params=1368, iterations=20), 20)
    """
    if not isinstance(problem, FlowProblem):
        raise TypeError(f"train needs a FlowProblem (unisolve.problems.mac_flow), got "
                        f"{type(problem).__name__}")
    s_h, s_w, s_t = _check_s(s)
    flow = problem.flow
    check_divisible(flow.shape, s_h, s_w)
    width = _check_count("width", width, 2)
    iterations = _check_count("iterations", iterations, 1)
    pool = _check_count("pool", pool, 1)
    batch = _check_count("batch", batch, 1)
    if batch > pool:
        raise ValueError(f"batch ({batch}) must be <= pool ({pool})")
    reset_every = _check_count("reset_every", reset_every, 1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    for name, v in (("untie", untie), ("deviation_lr", deviation_lr)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise ValueError(f"{name} must be a number in [0, 1], got {v!r}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    if not isinstance(hard_walls, (bool, np.bool_)):
        raise TypeError(f"hard_walls must be True or False, got {hard_walls!r}")
    if isinstance(solid_weight, bool) or not isinstance(solid_weight, (int, float)) or \
            not 0 <= solid_weight < math.inf:
        raise ValueError(f"solid_weight must be a finite number >= 0, got {solid_weight!r}")
    if starts not in ("plug", "blocked", "self"):
        raise ValueError(f"starts must be 'plug', 'blocked' or 'self', got {starts!r}")
    self_warm = _check_count("self_warm", self_warm, 0)
    if pressure not in ("network", "projected"):
        raise ValueError(f"pressure must be 'network' or 'projected', got {pressure!r}")
    if isinstance(wake, bool) or not isinstance(wake, (int, float)) or not 0 <= wake <= 1:
        raise ValueError(f"wake must be a number in [0, 1], got {wake!r}")
    if tendency not in (False, True, "euler", "rk3"):
        raise ValueError(f"tendency must be False, True, 'euler' or 'rk3', got {tendency!r}")
    tendency = "euler" if tendency is True else tendency
    if starts == "self" and not tendency:
        raise ValueError("starts='self' rolls the untrained model out, which is a zero "
                         "update without the skip: pass tendency='rk3' (or 'euler')")
    if flow.solid is None and (hard_walls or starts == "blocked" or wake):
        raise ValueError("hard_walls, starts='blocked' and wake are for flows with penalised "
                         "cells (a channel); leave them at their defaults for a periodic box")
    if wake and starts != "blocked":
        raise ValueError("wake > 0 needs starts='blocked'")
    groups = s_h * s_w
    sub_width = max(2, round(width / math.sqrt(groups)))
    ny, nx = flow.ny // s_h, flow.nx // s_w
    c_in = (5 if flow.solid is None else 7) + (1 if tendency else 0)
    config = {"width": sub_width, "fine_width": width, "levels": _levels(ny, nx),
              "c_in": c_in + (groups if shared else 0),
              "net_groups": 1 if shared else groups, "flow": _flow_facts(flow),
              "geometry_arrays": None if flow.solid is None else
              {"solid": flow.solid.tolist(),
               "u_b": (np.zeros(flow.shape) if flow.u_b is None else flow.u_b).tolist()},
              "case": problem.meta.get("case", ""), "hard_walls": bool(hard_walls),
              "tendency": tendency}
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = StaggerNet(config["c_in"], 2, sub_width, config["levels"],
                     config["net_groups"]).to(dtype)
    model = StaggerModel((s_h, s_w, s_t), bool(shared), config, net)

    from ..solvers.mac_projection import MacProjection

    stepper = MacProjection(flow) if s_t > 1 else None

    bank = _self_states(model, problem, self_warm) if starts == "self" else None

    def fresh(k: int) -> tuple[np.ndarray, np.ndarray]:
        states = bank[rng.choice(len(bank), k)] if bank is not None else \
            _random_states(problem, k, rng, starts, wake)
        pairs = [_multilevel_start(psi0, s_t, flow, stepper) for psi0 in states]
        return np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])

    pool_psi, pool_p = (torch.as_tensor(a, dtype=dtype) for a in fresh(pool))
    # blow-up guard: a pool state whose |ψ| passes 10× the largest start's is replaced
    limit = 10.0 * float(pool_psi.abs().max())
    skipped = 0
    weights = None if flow.solid is None or (solid_weight == 1 and not hard_walls) else \
        face_weights(flow, solid_weight, hard_walls)
    # Adam on the common filters w for the whole run; the per-sub-task parts δ_g join
    # after a fraction ``untie`` of it, at ``deviation_lr`` times the learning rate
    groups_ = [{"params": net.common()}]
    separate = not shared and groups > 1
    if separate:
        groups_.append({"params": net.deviations()})
    opt = torch.optim.Adam(groups_, lr=lr)
    start = int(untie * iterations)

    def cosine(k: int) -> float:   # lr → lr/20
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * k / iterations))

    rules = [cosine] + ([lambda k: deviation_lr * cosine(k) if k >= start else 0.0]
                        if separate else [])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, rules)
    t0 = time.perf_counter()
    loop = _bar(range(iterations), f"train {model.name} s={(s_h, s_w, s_t)}",
                disable=not progress_bar)
    for it in loop:
        idx = torch.as_tensor(rng.choice(pool, batch, replace=False))
        psi, p = pool_psi[idx], pool_p[idx]                        # (B, s_T, ny, nx)
        psi_new, p_new = model.advance(psi.reshape(-1, *flow.shape),
                                       p.reshape(-1, *flow.shape))
        psi_new = psi_new.reshape(batch, s_t, *flow.shape)
        p_new = p_new.reshape(batch, s_t, *flow.shape)
        # the fine sequence t_0 … t_{2 s_T − 1}; the outputs close the steps s_T−1 → 2 s_T−1
        seq = torch.cat([psi, psi_new], dim=1)
        loss = sum(physics_loss(flow, seq[:, s_t - 1 + k], seq[:, s_t + k],
                                None if pressure == "projected" else p_new[:, k], weights)
                   for k in range(s_t)) / s_t
        opt.zero_grad(set_to_none=True)
        value = float(loss.detach())
        recent = model.log.train_loss[-50:]
        # a loss 100× the recent median (a state the model has blown up) or non-finite:
        # no weight update from it, and its states are replaced below
        spike = not math.isfinite(value) or (len(recent) >= 50 and
                                             value > 100 * float(np.median(recent)))
        if spike:
            skipped += 1
        else:
            loss.backward()
            opt.step()
        sched.step()
        model.log.add(value)
        with torch.no_grad():
            pool_psi[idx], pool_p[idx] = psi_new.detach(), p_new.detach()
            bad = ~torch.isfinite(pool_psi).all(dim=(1, 2, 3)) | \
                (pool_psi.abs().amax(dim=(1, 2, 3)) > limit)
            if spike:
                bad[idx] = True
            if (it + 1) % reset_every == 0:
                bad[int(rng.integers(pool))] = True
            for m in torch.nonzero(bad).flatten().tolist():
                a, b = fresh(1)
                pool_psi[m], pool_p[m] = torch.as_tensor(a[0]), torch.as_tensor(b[0])
        if it % 25 == 0:
            loop.set_postfix(loss=f"{value:.3g}", refresh=False)
    model.meta = {"seconds": time.perf_counter() - t0, "threads": torch.get_num_threads(),
                  "torch": str(torch.__version__), "iterations": iterations, "batch": batch,
                  "pool": pool, "lr": lr, "seed": seed, "reset_every": reset_every,
                  "untie": untie, "deviation_lr": deviation_lr,
                  "dtype": str(dtype), "hard_walls": bool(hard_walls),
                  "solid_weight": solid_weight, "starts": starts, "wake": wake,
                  "self_warm": self_warm if starts == "self" else None,
                  "pressure": pressure,
                  "tendency": tendency,
                  "skipped_steps": int(skipped)}   # loss spikes that updated nothing
    return model


def _solve(name: str, problem: Any, model: Any, steps: int | None,
           strided: bool = False, device: Any = None) -> Result:
    s = "(1, 1, 1)" if name == "neural-fine" else "(2, 2, 1)"
    model = resolve_model(model, StaggerModel, name,
                          f"model = unisolve.learned.stagger.train(problem, s={s})")
    if model.name != name:
        raise ValueError(f"method {name!r} got a model with s = {model.s}: use "
                         f"method={model.name!r}")
    return model.solve(problem, steps, strided=strided, device=device)


@method("neural-stagger", kinds=("flow",))
def neural_stagger(problem: FlowProblem, *, model: Any = None,
                   steps: int | None = None, strided: bool = False,
                   device: Any = None) -> Result:
    """NeuralStagger (Huang et al. 2023): coarse sub-grid networks, re-assembled each step.

    Parameters
    ----------
    problem : FlowProblem
    model : StaggerModel or path
        From :func:`train` with s ≠ (1, 1, 1) (or its saved file).
    steps : int, optional
        Steps to roll out (default ``problem.steps``); a multiple of s_T.
    strided : bool
        Advance only the time sub-sequence through ψ⁰: one network call per s_T·Δt,
        ``x`` holds the levels 0, s_T, 2 s_T, … (see :meth:`StaggerModel.rollout`).
    device : str or torch.device, optional
        Run the rollout there ("cuda": the GPU); the model is moved
        (:meth:`StaggerModel.to`) and stays there. Default: where the model is.

    Returns
    -------
    Result
        ``x``: the ψ trajectory (steps + 1, ny, nx), or (steps/s_T + 1, ny, nx) when
        ``strided``; ``info["seconds_per_unit_time"]`` is the wall time per unit of
        simulated time (the number to compare with ``mac-cn``'s), with
        ``info["network_calls"]`` and ``info["simulated_time"]``; ``info["velocity_error"]``
        per step against the classical solver (run once and kept on the problem if
        it has no reference yet and steps ≤ 400; not part of ``Result.time``),
        ``info["seconds_per_step"]``. ``status`` is ``COMPLETED``: the network runs
        a fixed number of steps and has no stopping test (``info["stopping_test"]``
        says so; ``residuals`` is empty), NONFINITE if the rollout blew up.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.problems.mac_flow import decaying_turbulence
    >>> p = decaying_turbulence(16, steps=4)
    >>> m = train(p, s=(2, 2, 1), width=8, iterations=10, batch=2, pool=4,
    ...           progress_bar=False)
    >>> r = us.solve(p, method="neural-stagger", model=m)
    >>> r.x.shape, len(r.info["velocity_error"]), r.status.name
    ((5, 16, 16), 5, 'COMPLETED')
    """
    return _solve("neural-stagger", problem, model, steps, strided, device)


@method("neural-fine", kinds=("flow",))
def neural_fine(problem: FlowProblem, *, model: Any = None, steps: int | None = None,
                device: Any = None) -> Result:
    """Physics-constrained neural time-stepper on the full grid (NeuralStagger's baseline).

    Parameters
    ----------
    problem : FlowProblem
    model : StaggerModel or path
        From :func:`train` with s = (1, 1, 1).
    steps : int, optional
        Steps to roll out (default ``problem.steps``).
    device : str or torch.device, optional
        As for ``neural-stagger``.

    Returns
    -------
    Result
        As for ``neural-stagger``.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.problems.mac_flow import decaying_turbulence
    >>> p = decaying_turbulence(16, steps=3)
    >>> m = train(p, s=(1, 1, 1), width=4, iterations=5, batch=2, pool=4,
    ...           progress_bar=False)
    >>> us.solve(p, method="neural-fine", model=m).x.shape
    (4, 16, 16)
    """
    return _solve("neural-fine", problem, model, steps, device=device)

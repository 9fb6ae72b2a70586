"""A multilevel DCDM network: a learned V-cycle whose level weights are shared.

The DCDM network of :mod:`unisolve.learned.dcdm` (:class:`~unisolve.learned.dcdm.DCDMNet`)
has one 2× pooled level: its receptive field (±45 cells) is fixed, so on a grid
larger than the one it was trained on it is a local operator, and any local
preconditioner's iteration count grows like CG's on a 2D Poisson problem
(issue 28: 5.2–5.6× from 64² to 256² against CG's 4.0×). A preconditioner
whose cost does not grow faster than the grid must instead pass information
across the whole domain in every application, as a multigrid V-cycle does
(Brandt 1977; the learned versions: hybrid neural multigrid PCG, OpenReview
TyxMbTd2V5; NPSDO, Lan et al.).

:class:`MultilevelNet` is such a V-cycle with learned smoothers. On a grid whose
shortest side has ``n`` cells it uses

    L = ⌊log₂ n⌋ − 2 levels  (64²: 4 levels 64, 32, 16, 8; 256²: 6 levels)     (1)

so the coarsest grid has 8–15 cells per side at every size. One application is

    h₀ = m₀ · stem(r)                                  lift r to C channels    (2)
    for l = 0 … L−2:  s_l = pre(h_l; m_l)              pre-smooth, keep skip   (3)
                      h_{l+1} = m_{l+1} · pool₂(s_l)   restrict (2× average)   (4)
    h_{L−1} = coarse(h_{L−1}; m_{L−1})                 coarsest-level blocks   (5)
    for l = L−2 … 0:  h_l = post(s_l + g · m_l · up(h_{l+1}); m_l)  prolongate (6)
    net(r) = head(h₀)                                  pointwise, C → 1        (7)

Without residual blocks every step after the stem is linear and acts on each
channel alike (pooling, interpolation, the masks, g), so the pointwise head
commutes with all of them and the net is one channel wide:

    net(r) = V(m₀ · (w ∗ r)),   w = Σ_c head_c · stem_c   (one 3×3 / 3×3×3 kernel)  (8)

with V the one-channel cycle (3)-(6). The forward pass uses (8) whenever
``blocks == (0, 0, 0)`` (the shipped models): the same function to float32
rounding, C times less pooling and interpolation.

``pre``, ``post`` and ``coarse`` are residual blocks
``h ← h + m·conv(m·relu(conv(h)))`` (3×3 or 3×3×3, no biases); ``m_l`` is the
fluid mask on level l (``m_{l+1} = [pool₂(m_l) > 0]``); ``up`` is bilinear
(trilinear) interpolation of cell-centred values; ``g`` is one learned scalar,
initialised to 4: the inverse of a Laplacian stencil on a grid of spacing 2h is
(2h)²/h² = 4 times that on spacing h, so a coarse-level correction is about 4×
larger per level. **Every level uses the same weights**, so the number of
parameters does not depend on the grid: a model trained on 64² (4 levels)
applies unchanged at 256² with 6 levels, and its receptive field covers the
whole domain at every size.

What it keeps from :class:`~unisolve.learned.dcdm.DCDMNet` (``geometry="gate"``), for
the reasons given in that module: no biases and every feature multiplied by the
mask, so ``net(0) = 0``, ``net(c r) = c net(r)`` for c > 0 (an input-free part of
the output would be a fixed direction that DCDM's A-orthogonalisation removes at
every step) and the output is zero in the solids. The input is
``(batch, 2, *grid)`` like DCDMNet's (residual, fluid mask), so it drops into
:class:`~unisolve.learned.dcdm.DCDM` (``DCDM(kind="multilevel")``), its training
(:meth:`~unisolve.learned.dcdm.DCDM.fit`, the scale-invariant loss on Ritz
vectors) and its solver unchanged.

Start and training: the weights start as the BPX preconditioner (Bramble, Pasciak,
Xu 1990; :meth:`MultilevelNet._bpx_start`), ``net(r) = Σ_l g^l P^l R^l r``, whose
condition number grows like log² n, so DCDM's iterations grow slowly with the grid
before any training (measured: 55 → 73 from 32² to 128², CG 161 → 645). The
shipped model ``weights/dcdm2d_ml.pt`` (:func:`pretrained_multilevel`) is that
start with 4 channels and no residual blocks, its stem, head and gain trained on
64² layouts (41 weights, a learned BPX): 46 / 60 / 66 iterations at 64² / 128² /
256² on an unseen layout. Training the residual blocks with the scale-invariant
loss lowered the loss (0.56 → 0.11) but made the plain method stall, so none ships;
the file's ``meta['session_budget']`` lists every run of its 40-minute CPU budget.
The 3D model ``weights/dcdm3d_ml.pt`` (``pretrained_multilevel(3)``) is the same
recipe on 32³ layouts (4 channels, no blocks, BPX start; 5.3 min on one CPU
thread, the loss 0.40 → 0.35): 34 / 41 / 46 iterations at 32³ / 64³ / 128³ on an
unseen layout (the BPX start: 48 / 51 at 32³ / 64³; CG: 197 / 413 / 831).

CPU cost: the channels (8 by default, 4 shipped) and the blocks set it. Without
blocks (the shipped models) the net runs as (8): one kernel as a sum of shifted
copies and a one-channel cycle whose 2× interpolation goes one axis at a time
(measured per application through the solver's grid operator, one thread:
3.4 / 24 / 456 ms at 32³ / 64³ / 128³ as the 4-channel cycle, 1.3 / 5.6 / 43 ms
so). With blocks the features are channels-last (8-channel convolutions run several times
faster so), the masks of all levels are computed once per solve and kept, and the
solver runs the net under ``torch.inference_mode`` with a reused input buffer.
torch's CPU thread count is the caller's (``torch.set_num_threads``; the benchmarks
use 1, the fastest per core on this 2-core machine shared with other jobs).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from importlib import resources
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["MIN_CELLS", "MultilevelNet", "channelwise_reference", "levels_for",
           "pretrained_multilevel"]

#: the shortest grid side the network accepts: ⌊log₂ 8⌋ − 2 = 1 level
MIN_CELLS = 8


def levels_for(shape: Sequence[int]) -> int:
    """Number of levels (1) for a grid: ``⌊log₂ min(shape)⌋ − 2``.

    Raises ``ValueError`` below :data:`MIN_CELLS` cells per side.

    Examples
    --------
    >>> levels_for((64, 64)), levels_for((256, 256)), levels_for((33, 70)), levels_for((8, 8))
    (4, 6, 3, 1)
    >>> levels_for((7, 64))
    Traceback (most recent call last):
    ...
    ValueError: the multilevel DCDM network needs at least 8 cells on every side of the grid, \
got (7, 64): use a finer grid, or the single-level DCDMNet (DCDM(kind='pooled'))
    """
    shape = tuple(int(s) for s in shape)
    if not shape or min(shape) < MIN_CELLS:
        raise ValueError(
            f"the multilevel DCDM network needs at least {MIN_CELLS} cells on every side of "
            f"the grid, got {shape}: use a finer grid, or the single-level DCDMNet "
            f"(DCDM(kind='pooled'))")
    return min(shape).bit_length() - 3  # (1): ⌊log₂ n⌋ = bit_length(n) − 1


class _Block(nn.Module):
    """``h + m·conv_b(m·relu(conv_a(h)))``: a bias-free residual block, gated by m.

    No ReLU after ``conv_b``: the block starts as the identity with ``conv_b = 0``
    (see :meth:`MultilevelNet._bpx_start`), and a ReLU there would have zero
    gradient at 0, so ``conv_b`` would never leave it.
    """

    def __init__(self, layer: type, channels: int) -> None:
        super().__init__()
        self.a = layer(channels, channels, 3, padding=1, bias=False)
        self.b = layer(channels, channels, 3, padding=1, bias=False)

    def forward(self, h: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():  # training: out of place, autograd keeps the pieces
            return h + self.b(F.relu(self.a(h)) * gate) * gate
        t = self.a(h).clamp_(min=0.0).mul_(gate)  # inference: the same, in place
        return h + self.b(t).mul_(gate)


class MultilevelNet(nn.Module):
    """A learned V-cycle (equations (1)-(7) of the module docstring), weights shared by level.

    The input is ``(batch, 2, *grid)``: channel 0 the residual on the grid
    (zero in solid cells), channel 1 the fluid mask (1 fluid, 0 solid); the
    output is ``(batch, 1, *grid)``, zero in the solids.

    Parameters
    ----------
    dim : {2, 3}
        Grid dimension.
    channels : int
        Feature channels C (8 by default: a third of the old net's cost per cell).
    blocks : tuple of 3 ints
        Residual blocks of ``pre`` (3), of ``coarse`` (5) and of ``post`` (6); each
        set is shared by all levels.
    geometry : {'gate'}
        Only the gated form (bias-free, mask-multiplied features) exists here;
        the argument is accepted so that :class:`~unisolve.learned.dcdm.DCDM` can
        build either network from the same settings.

    Raises
    ------
    ValueError
        Bad dim / channels / blocks / geometry; in ``forward``, a grid with
        fewer than :data:`MIN_CELLS` cells on a side or an input that is not
        ``(batch, 2, *grid)``.

    Examples
    --------
    >>> import torch
    >>> net = MultilevelNet(dim=2)
    >>> x = torch.randn(1, 2, 37, 20); x[:, 1] = 1.0             # any size >= 8, odd too
    >>> net(x).shape, net.levels(x.shape[2:])
    (torch.Size([1, 1, 37, 20]), 2)
    >>> y = x.clone(); y[:, 0] *= 3.0
    >>> bool(torch.allclose(net(y), 3.0 * net(x), atol=1e-5))    # net(c r) = c net(r)
    True
    >>> float(net(torch.zeros(1, 2, 16, 16)).detach().abs().max())   # net(0) = 0
    0.0
    """

    kind = "multilevel"

    def __init__(self, dim: int = 2, channels: int = 8, blocks: Sequence[int] = (1, 2, 1),
                 geometry: str = "gate") -> None:
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim!r}")
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        blocks = tuple(int(v) for v in blocks)
        if len(blocks) != 3 or min(blocks) < 0:
            raise ValueError(f"blocks must be three non-negative ints (pre, coarse, post), "
                             f"got {blocks!r}")
        if geometry != "gate":
            raise ValueError(f"the multilevel network is always gated (bias-free, features "
                             f"multiplied by the mask): geometry must be 'gate', got "
                             f"{geometry!r}")
        layer = nn.Conv2d if dim == 2 else nn.Conv3d
        self.dim, self.channels, self.blocks, self.geometry = dim, channels, blocks, geometry
        self.stem = layer(1, channels, 3, padding=1, bias=False)  # (2), linear
        self.pre = nn.ModuleList([_Block(layer, channels) for _ in range(blocks[0])])
        self.coarse = nn.ModuleList([_Block(layer, channels) for _ in range(blocks[1])])
        self.post = nn.ModuleList([_Block(layer, channels) for _ in range(blocks[2])])
        self.gain = nn.Parameter(torch.tensor(4.0))  # g of (6): (2h)²/h² = 4
        self._masks: tuple | None = None  # (fluid mask, its level masks) of the last solve
        self.head = layer(channels, 1, 1, bias=False)  # (7), pointwise linear
        self._bpx_start()
        self.to(memory_format=self._layout())  # weights in the features' layout

    @torch.no_grad()
    def _bpx_start(self) -> None:
        """Initial weights that make the net the BPX preconditioner, plus small noise.

        Channel 0 carries r unchanged (a centred delta stem, a head that reads it),
        every block starts as the identity (its second convolution zero: the "zero
        residual" start), so at the start net(r) = Σ_l g^l P^l R^l r exactly (the
        masks aside) with R the 2× average, P the bilinear interpolation and
        g = 4 = h_l² / h_0² per level: the additive multilevel preconditioner of
        Bramble, Pasciak and Xu (1990), whose condition number grows only like
        log² n. Training then learns the smoothers.
        """
        self.stem.weight.mul_(0.1)  # channels 1.. see a little of r: they start learning
        self.stem.weight[0].zero_()
        self.stem.weight[(0, 0, *(1,) * self.dim)] = 1.0  # channel 0 = r: the centre tap
        self.head.weight.zero_()
        self.head.weight[(0, 0, *(0,) * self.dim)] = 1.0
        for block in (*self.pre, *self.coarse, *self.post):
            block.b.weight.zero_()

    @staticmethod
    def levels(shape: Sequence[int]) -> int:
        """``⌊log₂ min(shape)⌋ − 2`` levels on this grid (see :func:`levels_for`)."""
        return levels_for(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dim + 2 or x.shape[1] != 2:
            raise ValueError(f"input must be (batch, 2, *grid) with a {self.dim}D grid "
                             f"(residual, fluid mask), got shape {tuple(x.shape)}")
        pool = F.avg_pool2d if self.dim == 2 else F.avg_pool3d
        fused = not sum(self.blocks)
        layout = self._layout()
        masks = self._level_masks(x[:, 1:2], 1 if fused else self.channels, layout)
        if fused:  # no blocks: the net is linear, (8) collapses it onto one channel
            h = _stencil(x[:, :1], self._fused_kernel()) * masks[0]  # (8)
        else:
            h = self.stem(x[:, :1].contiguous(memory_format=layout)) * masks[0]  # (2)
        skips = []
        for level in range(len(masks) - 1):
            for block in self.pre:  # (3)
                h = block(h, masks[level])
            skips.append(h)
            h = pool(h, 2, ceil_mode=True) * masks[level + 1]  # (4)
        for block in self.coarse:  # (5)
            h = block(h, masks[-1])
        for level in range(len(masks) - 2, -1, -1):  # (6)
            h = skips[level] + self.gain * _upsample(h, skips[level].shape[2:]) * masks[level]
            for block in self.post:
                h = block(h, masks[level])
        return h.contiguous() if fused else self.head(h).contiguous()  # (7)

    def _level_masks(self, fluid: torch.Tensor, channels: int,
                     layout: torch.memory_format) -> list[torch.Tensor]:
        """``m_l`` of every level (``m_{l+1} = [pool₂(m_l) > 0]``), ``channels`` wide; kept
        between the calls of a solve (the same mask at every iteration)."""
        cached = self._masks
        if (cached is not None and not torch.is_grad_enabled()
                and cached[0].shape == fluid.shape
                and cached[0].device == fluid.device and cached[0].dtype == fluid.dtype
                and cached[1][0].shape[1] == channels and torch.equal(cached[0], fluid)):
            return cached[1]
        pool = F.avg_pool2d if self.dim == 2 else F.avg_pool3d
        levels = [fluid]
        for _ in range(levels_for(fluid.shape[2:]) - 1):
            levels.append((pool(levels[-1], 2, ceil_mode=True) > 0).to(fluid.dtype))
        # expanded to C channels in the features' memory layout: the gating products
        # are then plain elementwise (a broadcast over channels-last is 3x slower)
        masks = [m.expand(-1, channels, *m.shape[2:]).contiguous(memory_format=layout)
                 for m in levels]
        if not torch.is_grad_enabled():
            self._masks = (fluid.clone(), masks)
        return masks

    def _fused_kernel(self) -> torch.Tensor:
        """``w = Σ_c head_c · stem_c``, the one 3×3(×3) kernel of (8) (no blocks only)."""
        head = self.head.weight.reshape(1, self.channels, *(1,) * self.dim)
        return (head * self.stem.weight.transpose(0, 1)).sum(dim=1, keepdim=True)

    def _layout(self) -> torch.memory_format:
        """Channels-last when there are residual blocks: their 8-channel convolutions run
        several times faster in it on a CPU; without blocks the bilinear interpolation
        dominates, and it is faster in the plain layout."""
        if not sum(self.blocks):
            return torch.contiguous_format
        return torch.channels_last if self.dim == 2 else torch.channels_last_3d


def _stencil(r: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``conv(r, w)`` for one channel in, one out, zero padding 1: the 9 (27) shifted copies
    of r summed with their weights, without autograd; with autograd, ``F.conv2d/3d``.

    torch's one-channel CPU convolution is slow and erratic (measured on this
    CPU, one thread: 8-80 ms at 64³, 180 ms at 128³, against 1.5 and 9 ms here).
    """
    if torch.is_grad_enabled():
        return (F.conv2d if r.dim() == 4 else F.conv3d)(r, w, padding=1)
    padded = F.pad(r, (1, 1) * (r.dim() - 2))
    out = torch.zeros_like(r)
    taps = w.reshape(-1).tolist()
    shape = r.shape[2:]
    for t, offset in enumerate(itertools.product(range(3), repeat=r.dim() - 2)):
        if taps[t]:
            view = padded[(slice(None), slice(None),
                           *(slice(o, o + n) for o, n in zip(offset, shape, strict=True)))]
            out.add_(view, alpha=taps[t])
    return out


def _upsample(h: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``up`` of (6): bi/trilinear interpolation of cell-centred values to ``size``.

    Where a side doubles exactly (every side of a power-of-2 grid), one axis at a
    time: fine cells 2i and 2i+1 are ``¾ c_i + ¼ c_{i∓1}`` (the neighbour clamped at
    the wall), the same numbers as ``F.interpolate(..., align_corners=False)``, 3-4×
    faster on a CPU in 3D; any other size goes to ``F.interpolate``.
    """
    if torch.is_grad_enabled() or any(2 * c != f for c, f in zip(h.shape[2:], size,
                                                                    strict=True)):
        mode = "bilinear" if h.dim() == 4 else "trilinear"
        return F.interpolate(h, size=tuple(size), mode=mode, align_corners=False)
    for axis in range(2, h.dim()):
        m = h.shape[axis]
        near = h.mul(0.75)
        left = torch.cat((h.narrow(axis, 0, 1), h.narrow(axis, 0, m - 1)), dim=axis)
        right = torch.cat((h.narrow(axis, 1, m - 1), h.narrow(axis, m - 1, 1)), dim=axis)
        even = left.mul_(0.25).add_(near)  # fine 2i:   ¾ c_i + ¼ c_{i−1}
        odd = right.mul_(0.25).add_(near)  # fine 2i+1: ¾ c_i + ¼ c_{i+1}
        h = torch.stack((even, odd), dim=axis + 1).flatten(axis, axis + 1)
    return h


#: the shipped multilevel model per grid dimension (unisolve/learned/weights/)
PRETRAINED_FILES = {2: "dcdm2d_ml.pt", 3: "dcdm3d_ml.pt"}
_PRETRAINED: dict[int, Any] = {}


def channelwise_reference(net: MultilevelNet, x: torch.Tensor) -> torch.Tensor:
    """Equations (2)-(7) with C channels and torch's own convolution and interpolation: the
    block-free net as it ran before the one-channel path (8), kept as the reference that
    (8) is checked against and as the "before" of benchmarks/dcdm_scaling.py.

    Examples
    --------
    >>> import torch
    >>> net = MultilevelNet(channels=4, blocks=(0, 0, 0))
    >>> x = torch.stack([torch.randn(32, 32), torch.ones(32, 32)])[None]
    >>> with torch.no_grad():
    ...     bool(torch.allclose(channelwise_reference(net, x), net(x), atol=1e-5))
    True
    """
    if sum(net.blocks):
        raise ValueError("channelwise_reference is the block-free net's cycle: this net has "
                         f"residual blocks {tuple(net.blocks)}")
    pool = F.avg_pool2d if net.dim == 2 else F.avg_pool3d
    mode = "bilinear" if net.dim == 2 else "trilinear"
    masks = [x[:, 1:2]]
    for _ in range(levels_for(x.shape[2:]) - 1):  # m_{l+1} = [pool₂(m_l) > 0]
        masks.append((pool(masks[-1], 2, ceil_mode=True) > 0).to(x.dtype))
    masks = [m.expand(-1, net.channels, *m.shape[2:]).contiguous() for m in masks]
    h = net.stem(x[:, :1].contiguous()) * masks[0]  # (2)
    skips = []
    for level in range(len(masks) - 1):
        skips.append(h)
        h = pool(h, 2, ceil_mode=True) * masks[level + 1]  # (4)
    for level in range(len(masks) - 2, -1, -1):  # (6)
        up = F.interpolate(h, size=skips[level].shape[2:], mode=mode, align_corners=False)
        h = skips[level] + net.gain * up * masks[level]
    return net.head(h).contiguous()  # (7)


def pretrained_multilevel(dim: int = 2) -> Any:
    """The shipped multilevel DCDM model of dimension ``dim``, loaded once and cached.

    ``dim=2``: ``weights/dcdm2d_ml.pt``, trained on 64² layouts; ``dim=3``:
    ``weights/dcdm3d_ml.pt``, trained on 32³ layouts (each file's ``meta`` holds its
    training command, losses and budget). Use it with
    ``unisolve.solve(p, method="dcdm", model=pretrained_multilevel(len(p.grid_shape)))``; it is
    the default model of ``method="dcdm"`` on grids of at least 8 cells a side (2D and 3D).

    Raises
    ------
    ValueError
        ``dim`` other than 2 or 3.

    Examples
    --------
    >>> import unisolve as us
    >>> model = pretrained_multilevel()
    >>> model.kind, model.dim
    ('multilevel', 2)
    >>> p = us.problems.pressure_poisson(32, seed=2)
    >>> us.solve(p, method="dcdm", model=model, rtol=1e-6).converged
    True
    >>> q = us.problems.pressure_poisson(16, dim=3, seed=2)
    >>> us.solve(q, method="dcdm", model=pretrained_multilevel(3), rtol=1e-6).converged
    True
    """
    from .dcdm import DCDM

    if dim not in PRETRAINED_FILES:
        raise ValueError(f"unisolve ships multilevel DCDM models for dim 2 and 3 only, not "
                         f"dim={dim!r}: train one with DCDM.train(problems, kind='multilevel')")
    if dim not in _PRETRAINED:
        ref = resources.files("unisolve.learned").joinpath("weights", PRETRAINED_FILES[dim])
        with resources.as_file(ref) as path:
            _PRETRAINED[dim] = DCDM.load(path)
    return _PRETRAINED[dim]

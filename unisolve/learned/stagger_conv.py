"""The inference pass of NeuralStagger's sub-networks, without the per-layer temporaries.

:class:`~unisolve.learned.stagger.StaggerNet` is, per layer,

    z ← z + GELU(W_g ⋆_d pad_d(z) + b_g)        (g = the sub-network, d = the dilation)

with W_g = w + δ_g and the ``groups`` sub-networks evaluated as one grouped
convolution. Written with out-of-place operations (as autograd needs them) every
layer allocates, besides the padded input and the convolution's output, two more
tensors of the whole activation's size (the GELU output, the sum), each a pass over
fresh memory. Where nothing needs gradients the GELU and the residual add can run in
place on the convolution's output:

    y ← W_g ⋆_d pad_d(z) + b_g;   y ← GELU(y);   y ← y + z;   z ← y

the same operations in the same order on the same values, so the result is equal
bit for bit (the tests check it). The combined filters (w + δ_g) are kept between
calls, keyed on the parameters' versions, so they are formed once per weight update
rather than once per step.

Where the (2, 2, 1) advantage goes (``benchmarks/stagger_flops.py``, one thread): a
3×3 layer does 2·9·c² FLOPs per cell while its activation, residual add and padding
are O(c) per cell, so at width 16 (8) the pointwise work weighs 2× (4×) what it does
in the width-32 fine network (the exact GELU, an erf per value, is most of it: 8× the
cost of the add); and oneDNN runs the width-16 grouped convolution at 0.55–0.7× and
the width-8 one at 0.2–0.35× the width-32 FLOP rate. Measured and not kept: the
sub-grids as a batch of one dense width-16 convolution (``shared=True`` does exactly
that) runs at the grouped convolution's rate; im2col (``F.unfold``) + batched matmul
at 0.2–0.5× of it; one batched matmul per tap on a flat padded layout at 0.6–1.3×
(a gain only at width 8); channels-last at 0.8–1.2× (and not bit-equal); a halo
buffer written by the residual add instead of ``F.pad`` at 0.9–1.1×; the tanh GELU
costs more than the exact one here. So the convolution stays
``torch.nn.functional.conv2d`` and this module removes the temporaries around it.

The fast pass is used only when gradients are off (``torch.no_grad`` /
``torch.inference_mode``: every rollout); training keeps the out-of-place pass that
autograd differentiates. :func:`use_fast_pass` turns it off (benchmarks, tests).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.nn import functional as F

__all__ = ["combined_filters", "fast_pass_enabled", "inference_forward", "use_fast_pass"]

_STATE = {"fast": True}
# module → (weight, delta_weight, bias, delta_bias, their versions, (W, b)); weak keys so a
# dropped network frees its cached filters
_FILTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def fast_pass_enabled() -> bool:
    """Whether :class:`StaggerNet` uses :func:`inference_forward` when gradients are off.

    Examples
    --------
    >>> fast_pass_enabled()
    True
    """
    return _STATE["fast"]


@contextmanager
def use_fast_pass(enabled: bool) -> Iterator[None]:
    """Within the block, StaggerNet's no-grad forward is the fast pass (True) or the
    reference out-of-place one (False); the previous choice is restored afterwards.

    Examples
    --------
    >>> with use_fast_pass(False):
    ...     fast_pass_enabled()
    False
    >>> fast_pass_enabled()
    True
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"use_fast_pass needs True or False, got {enabled!r}")
    before = _STATE["fast"]
    _STATE["fast"] = enabled
    try:
        yield
    finally:
        _STATE["fast"] = before


def combined_filters(conv: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """The grouped weight (groups·c_out, c_in, k, k) and bias of a ``TiedConv2d``:
    W_g = w + δ_g, b_g = b + δb_g, stacked over g.

    Without gradients the result is cached and re-formed only when a parameter has
    changed (its in-place version counter moved, e.g. by an optimiser step or
    ``load_state_dict``) or its storage was swapped (``.to(dtype)``, ``.double()``);
    with gradients it is
    formed anew (autograd must see the sum).

    Examples
    --------
    >>> from unisolve.learned.stagger import TiedConv2d
    >>> conv = TiedConv2d(2, 3, groups=4)
    >>> with torch.no_grad():
    ...     w, b = combined_filters(conv)
    ...     again = combined_filters(conv)[0]
    >>> tuple(w.shape), tuple(b.shape), again is w
    ((12, 2, 3, 3), (12,), True)
    >>> with torch.no_grad():
    ...     _ = conv.delta_weight.add_(1.0)            # an update: the cache is stale
    ...     bool(torch.equal(combined_filters(conv)[0], w + 1.0))
    True
    """
    params = (conv.weight, conv.delta_weight, conv.bias, conv.delta_bias)
    if torch.is_grad_enabled() and any(q.requires_grad for q in params):
        return conv.filters()
    # the version counter moves on in-place updates; .data swaps (module.to / .double())
    # keep the Parameter but change its storage and dtype
    versions = tuple((q._version, q.data_ptr(), q.dtype, q.device) for q in params)
    hit = _FILTERS.get(conv)
    if hit is not None and all(a is b for a, b in zip(hit[0], params, strict=True)) \
            and hit[1] == versions:
        return hit[2]
    with torch.no_grad():
        w = (conv.weight + conv.delta_weight).flatten(0, 1)   # W_g = w + δ_g, g-major
        b = (conv.bias + conv.delta_bias).flatten()
    _FILTERS[conv] = (params, versions, (w, b))
    return w, b


def _conv(conv: Any, z: torch.Tensor) -> torch.Tensor:
    """W_g ⋆_d pad_d(z) + b_g: one grouped, dilated, periodic convolution (new tensor)."""
    w, b = combined_filters(conv)
    pad = conv.dilation * (conv.kernel // 2)
    if pad:
        z = F.pad(z, (pad, pad, pad, pad), mode="circular")
    return F.conv2d(z, w, b, dilation=conv.dilation, groups=conv.groups)


def inference_forward(net: Any, x: torch.Tensor) -> torch.Tensor:
    """StaggerNet's forward pass with the activation and the residual add in place.

    Parameters
    ----------
    net : StaggerNet
        Its ``lift``, ``layers`` and ``out`` (``TiedConv2d``) are read.
    x : torch.Tensor
        (B, groups·c_in, h, w).

    Returns
    -------
    torch.Tensor
        (B, groups·c_out, h, w), equal bit for bit to ``net``'s out-of-place pass.

    Raises
    ------
    RuntimeError
        When gradients are on and a parameter or ``x`` requires them (in-place
        operations would hide the graph autograd needs): use ``net(x)``.

    Examples
    --------
    >>> from unisolve.learned.stagger import StaggerNet
    >>> net = StaggerNet(3, 2, width=4, levels=1, groups=4)
    >>> x = torch.randn(2, 12, 8, 8)
    >>> with torch.no_grad():
    ...     _ = net.out.weight.normal_()
    ...     fast = inference_forward(net, x)
    ...     with use_fast_pass(False):
    ...         ref = net(x)
    >>> fast.shape, bool(torch.equal(fast, ref))
    (torch.Size([2, 8, 8, 8]), True)
    """
    if torch.is_grad_enabled() and (x.requires_grad or any(q.requires_grad
                                                           for q in net.parameters())):
        raise RuntimeError("inference_forward runs its activations in place and cannot be "
                           "differentiated: call it under torch.no_grad() or "
                           "torch.inference_mode(), or use net(x)")
    gelu_ = torch._C._nn.gelu_                           # GELU(y) = y Φ(y), exact (erf)
    z = gelu_(_conv(net.lift, x))                        # z = GELU(lift(x))
    for layer in net.layers:
        z = gelu_(_conv(layer, z)).add_(z)               # z ← GELU(W ⋆_d pad_d(z) + b) + z
    return _conv(net.out, z)                             # 1×1 projection

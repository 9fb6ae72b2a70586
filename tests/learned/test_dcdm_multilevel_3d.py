"""The shipped 3D multilevel DCDM model and the one-channel fast path (issue 28, items 2-4).

The fast path (equation (8) of :mod:`unisolve.learned.dcdm_multilevel`: without residual
blocks the net is one kernel followed by a one-channel V-cycle) is checked against the
channel-wise cycle written out with torch's own convolution and interpolation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import unisolve as us
from unisolve.learned.dcdm import DCDM
from unisolve.learned.dcdm_multilevel import (
    MultilevelNet,
    _upsample,
    channelwise_reference,
    pretrained_multilevel,
)

WEIGHTS = Path(us.__file__).resolve().parent / "learned" / "weights"


pytestmark = pytest.mark.usefixtures("one_torch_thread")



@pytest.mark.parametrize("shape", [(32, 32), (37, 20), (16, 16, 16), (20, 16, 33)])
def test_the_one_channel_path_is_the_channelwise_cycle(shape, grid_input):
    net = MultilevelNet(dim=len(shape), channels=4, blocks=(0, 0, 0))
    with torch.no_grad():  # a general kernel: every tap and channel non-zero
        net.stem.weight.normal_()
        net.head.weight.normal_()
        net.gain.fill_(3.7)
    x = grid_input(shape, seed=len(shape))
    with torch.no_grad():
        ref = channelwise_reference(net, x)
    scale = float(ref.abs().max())
    with torch.inference_mode():  # the solver's path: shifted sums, the axis-wise upsampling
        fast = net(x)
    torch.testing.assert_close(fast, ref, rtol=0, atol=1e-5 * scale)
    slow = net(x)  # the training path (autograd: F.conv, F.interpolate)
    torch.testing.assert_close(slow.detach(), ref, rtol=0, atol=1e-5 * scale)
    slow.sum().backward()
    assert net.stem.weight.grad is not None and float(net.head.weight.grad.abs().sum()) > 0


@pytest.mark.parametrize("coarse", [(4, 4), (3, 5), (4, 4, 4), (2, 3, 5)])
def test_the_doubling_upsampling_is_torchs_interpolation(coarse):
    h = torch.randn(2, 3, *coarse, generator=torch.Generator().manual_seed(1))
    fine = tuple(2 * c for c in coarse)
    mode = "bilinear" if len(coarse) == 2 else "trilinear"
    ref = F.interpolate(h, size=fine, mode=mode, align_corners=False)
    with torch.inference_mode():
        torch.testing.assert_close(_upsample(h, fine), ref, rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------- shipped model
def test_the_shipped_3d_model_loads_offline_with_its_lineage(offline):
    model = DCDM.load(WEIGHTS / "dcdm3d_ml.pt")
    assert model.kind == "multilevel" and model.dim == 3
    assert isinstance(model.net, MultilevelNet) and model.net.blocks == (0, 0, 0)
    training = model.meta["training"]
    assert training["command"].startswith("python benchmarks/train_dcdm.py --kind multilevel")
    assert "--dim 3" in training["command"] and "--n 32" in training["command"]
    assert all("n=32, dim=3" in p for p in training["problems"])
    assert all(int(p.split("seed=")[1].split(",")[0]) >= 1000 for p in training["problems"])
    assert training["device"] == "cpu" and training["threads"] <= 2
    assert training["epochs"] >= 1 and training["wall_seconds_with_data"] > 0
    assert model.meta["start"].startswith("BPX")
    runs = model.meta["session_budget"]["runs"]
    assert sum(r.get("minutes", 0) for r in runs) <= 20.0  # the stated CPU budget, all runs
    assert pretrained_multilevel(3).dim == 3 and pretrained_multilevel(2).dim == 2


def test_pretrained_multilevel_names_the_dimensions_it_has():
    with pytest.raises(ValueError, match="dim 2 and 3"):
        pretrained_multilevel(4)


@pytest.mark.parametrize("shape", [(8, 8, 8), (9, 12, 16), (16, 16, 16), (8, 30, 17)])
def test_the_3d_model_accepts_every_size_at_or_above_the_minimum(shape, grid_input):
    net = pretrained_multilevel(3).net
    x = grid_input(shape, seed=3)
    with torch.inference_mode():
        y = net(x)
    assert y.shape == (1, 1, *shape) and torch.isfinite(y).all()
    assert float(y[0, 0][x[0, 1] == 0].abs().max()) == 0.0 < float(y.abs().max())


@pytest.mark.parametrize("shape", [(7, 16, 16), (16, 16, 4)])
def test_the_3d_model_raises_below_the_minimum(shape, grid_input):
    with pytest.raises(ValueError, match="at least 8 cells"):
        pretrained_multilevel(3).net(grid_input(shape))


def test_the_3d_model_is_positively_homogeneous_and_maps_zero_to_zero(grid_input):
    net = pretrained_multilevel(3).net
    x = grid_input((16, 16, 16), seed=5)
    y = x.clone()
    y[:, 0] *= 7.5
    with torch.inference_mode():
        ref = 7.5 * net(x)  # float32 sums: agreement to rounding of the largest output
        torch.testing.assert_close(net(y), ref, rtol=0, atol=1e-5 * float(ref.abs().max()))
        assert float(net(torch.zeros(1, 2, 16, 16, 16)).abs().max()) == 0.0


def test_the_3d_model_beats_cg_on_an_unseen_16_cubed_layout():
    # the plain method (the network's own quality) and the default (safeguarded) one, rtol 1e-6
    # on layout 3 (training used seeds >= 1000); CG needs about 100 iterations here
    p = us.problems.pressure_poisson(16, dim=3, seed=3)
    cg = us.solve(p, method="cg", rtol=1e-6)
    model = pretrained_multilevel(3)
    for options in ({"safeguard": False}, {}):
        r = us.solve(p, method="dcdm", model=model, rtol=1e-6, maxiter=200, **options)
        assert r.converged
        assert np.linalg.norm(p.b - p.A @ r.x) <= 1.0001e-6 * np.linalg.norm(p.b)
        assert r.iterations < cg.iterations, (r.iterations, cg.iterations)

"""NeuralStagger on a device (issue 29, item 2's GPU half) and the step's cached constants.

The constants of a step (solid mask, FFT symbols, Brinkman factors) are made once per
(dtype, device) and always outside inference mode: before, a rollout (which runs under
``torch.inference_mode``) made them as inference tensors, and training the same model
object afterwards failed with "Inference tensors cannot be saved for backward".
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import unisolve as us  # noqa: E402
from unisolve.learned import stagger as st  # noqa: E402
from unisolve.problems import mac_flow as mf  # noqa: E402


def _perturbed(model, seed=0, scale=0.05):
    """Non-zero weights everywhere (the output layer starts at zero), so a check of the
    network's arithmetic is not a check of the skip alone."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for q in model.net.parameters():
            q.add_(scale * torch.randn(q.shape, generator=g, dtype=q.dtype))
    return model


def _cylinder_model(s=(2, 2, 1), dtype=torch.float64):
    p = mf.cylinder_channel(16, 32, steps=4)
    m = st.train(p, s=s, width=4, iterations=1, batch=1, pool=1, tendency="rk3",
                 dtype=dtype, progress_bar=False)
    return p, _perturbed(m)


def test_rollout_then_autograd_on_the_same_model():
    """Every cached constant (mask, symbols, penalty factors) is first made by a rollout
    under inference mode, then used by a differentiated step: the gradient flows (it
    raised on the old code) and equals the gradient of a fresh model object."""
    p, m = _cylinder_model()
    m._const.clear()                      # as loaded: nothing made yet (train made them)
    m.rollout(p, 2)                       # makes every constant under inference mode
    assert m._const
    psi = torch.as_tensor(p.psi0[None]).requires_grad_(True)
    new, _ = m.advance(psi, torch.zeros_like(psi))
    new.square().sum().backward()
    fresh = st.StaggerModel(m.s, m.shared, m.config, m.net)   # nothing cached
    psi2 = torch.as_tensor(p.psi0[None]).requires_grad_(True)
    new2, _ = fresh.advance(psi2, torch.zeros_like(psi2))
    new2.square().sum().backward()
    assert torch.equal(new, new2)
    assert torch.allclose(psi.grad, psi2.grad, rtol=1e-12, atol=0)


@pytest.mark.parametrize("coarse_first", [False, True])
def test_a_coarse_rollout_and_a_full_rollout_share_the_cache(coarse_first):
    """The Brinkman factors are cached per sub-grid set: one sub-grid rolled out alone
    (coarse_rollout) is the full rollout on its nodes, in either order on one model
    object. Before, the factors of whichever ran first were reused by the other (a shape
    error one way round, the wrong body for every sub-grid the other)."""
    p, m = _cylinder_model()
    m._const.clear()
    if coarse_first:
        coarse = m.coarse_rollout(p, (1, 0), 3)
        full = m.rollout(p, 3)
    else:
        full = m.rollout(p, 3)
        coarse = m.coarse_rollout(p, (1, 0), 3)
    # (the same arithmetic in another order: the grouped convolution and the FFTs of four
    # sub-grids against one; the stiff Brinkman factors lift the rounding to ~1e-11)
    assert np.allclose(coarse, full[:, 1::2, 0::2], rtol=0, atol=1e-9 * np.abs(full).max())
    fresh = st.StaggerModel(m.s, m.shared, m.config, m.net)   # nothing cached before
    assert np.array_equal(full, fresh.rollout(p, 3))


def test_to_cpu_keeps_the_rollout_and_clears_the_cache():
    p, m = _cylinder_model()
    before = m.rollout(p, 2)
    assert m.to("cpu") is m and m.device == torch.device("cpu") and not m._const
    assert np.array_equal(m.rollout(p, 2), before)
    r = us.solve(p, method="neural-stagger", model=m, steps=2, device="cpu")
    assert np.array_equal(r.x, before) and r.info["device"] == "cpu"


def test_a_bad_device_names_the_fix():
    p, m = _cylinder_model()
    with pytest.raises(ValueError, match=r"not a torch device.*device='cpu'"):
        m.to("gpu")
    with pytest.raises(ValueError, match=r"not a torch device.*device='cpu'"):
        us.solve(p, method="neural-stagger", model=m, steps=2, device="gpu")


def test_no_cuda_names_the_fix(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    p, m = _cylinder_model((1, 1, 1))
    with pytest.raises(ValueError, match=r"device='cuda'.*is_available\(\) is False"):
        us.solve(p, method="neural-fine", model=m, steps=2, device="cuda")


def test_cudnn_autotuning_is_scoped_to_cuda_rollouts():
    """cuDNN's algorithm timing is on inside a CUDA rollout only, and the caller's setting
    comes back, also after an error (a torch.device('cuda') needs no GPU to exist)."""
    before = torch.backends.cudnn.benchmark
    try:
        for start in (False, True):
            torch.backends.cudnn.benchmark = start
            with st._cudnn_autotuned(torch.device("cpu")):
                assert torch.backends.cudnn.benchmark is start
            with pytest.raises(RuntimeError, match="inside"):
                with st._cudnn_autotuned(torch.device("cuda")):
                    assert torch.backends.cudnn.benchmark is True
                    raise RuntimeError("inside")
            assert torch.backends.cudnn.benchmark is start
    finally:
        torch.backends.cudnn.benchmark = before


def _cuda():
    if not torch.cuda.is_available():
        pytest.skip("torch has no usable CUDA device")


@pytest.mark.gpu
@pytest.mark.parametrize("s, shared", [((1, 1, 1), False), ((2, 2, 1), False),
                                       ((2, 2, 1), True), ((2, 2, 2), True)])
def test_cuda_rollout_equals_the_cpu_rollout(s, shared):
    """The whole step on the GPU (features, grouped or shared network, cuFFT spectral
    layer and skip, Brinkman projection) equals the CPU's in float64 to rounding."""
    _cuda()
    p = mf.cylinder_channel(16, 32, steps=4)
    m = _perturbed(st.train(p, s=s, shared=shared, width=4, iterations=1, batch=1, pool=1,
                            tendency="rk3", dtype=torch.float64, progress_bar=False))
    cpu = m.rollout(p, 4)
    gpu = m.to("cuda").rollout(p, 4)
    assert m.device.type == "cuda" and isinstance(gpu, np.ndarray)
    assert np.abs(gpu - cpu).max() <= 1e-10 * np.abs(cpu).max()
    r = us.solve(p, method=m.name, model=m.to("cpu"), steps=4, device="cuda")
    assert r.info["device"].startswith("cuda")
    assert np.abs(r.x - cpu).max() <= 1e-10 * np.abs(cpu).max()

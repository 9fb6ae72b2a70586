"""NeuralStagger's inference pass (unisolve.learned.stagger_conv) against the grouped
convolution it replaces and against each sub-network run alone in float64."""


import numpy as np
import pytest

torch = pytest.importorskip("torch")

from unisolve.learned import stagger as st  # noqa: E402
from unisolve.learned import stagger_conv as sc  # noqa: E402
from unisolve.problems import mac_flow as mf  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _random_net(c_in, width, levels, groups, seed=0):
    """A StaggerNet with random common filters and random per-group deviations δ_g (and a
    non-zero projection), so every group computes a different function."""
    torch.manual_seed(seed)
    net = st.StaggerNet(c_in, 2, width, levels, groups)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, st.TiedConv2d):
                m.weight.normal_(0.0, 0.3)
                m.bias.normal_(0.0, 0.1)
                m.delta_weight.normal_(0.0, 0.1)
                m.delta_bias.normal_(0.0, 0.05)
    return net


@pytest.mark.parametrize("groups, width, levels, shape", [
    (1, 8, 2, (16, 16)), (4, 6, 1, (7, 9)), (16, 3, 0, (5, 6)), (4, 5, 2, (12, 10)),
])
def test_fast_pass_equals_grouped_convolution_and_each_sub_network(groups, width, levels,
                                                                   shape):
    net = _random_net(3, width, levels, groups)
    x = torch.randn(2, groups * 3, *shape)
    with torch.no_grad():
        fast = sc.inference_forward(net, x)
        with sc.use_fast_pass(False):
            ref = net(x)                    # the out-of-place grouped pass (training's)
    # same operations, same order: equal bit for bit
    assert torch.equal(fast, ref)
    # and, independently, every sub-network alone (dense convolution) in float64
    for g in range(groups):
        one = net.group(g).double()
        with sc.use_fast_pass(False), torch.no_grad():
            want = one(x[:, 3 * g:3 * g + 3].double())
        np.testing.assert_allclose(fast[:, 2 * g:2 * g + 2].double().numpy(), want.numpy(),
                                   rtol=0, atol=1e-5 * float(want.abs().max()))


@pytest.mark.skipif(not hasattr(st, "inference_forward"),
                    reason="StaggerNet.forward is not yet wired to stagger_conv")
def test_no_grad_forward_takes_the_fast_pass_and_training_does_not(monkeypatch):
    net = _random_net(3, 4, 1, 4)
    x = torch.randn(1, 12, 8, 8)
    calls = []
    real = sc.inference_forward
    monkeypatch.setattr(st, "inference_forward",
                        lambda n, z: calls.append(1) or real(n, z))
    with torch.inference_mode():
        net(x)
    with torch.no_grad():
        net(x)
    assert len(calls) == 2
    with sc.use_fast_pass(False), torch.no_grad():
        net(x)
    y = net(x)                              # gradients on: the differentiable pass
    assert len(calls) == 2 and y.requires_grad
    y.square().mean().backward()
    grads = [q.grad for q in net.parameters()]
    assert all(g is not None and bool(torch.isfinite(g).all()) for g in grads)
    assert float(net.layers[0].delta_weight.grad.abs().sum()) > 0


def test_fast_pass_refuses_to_run_with_gradients():
    net = _random_net(3, 4, 1, 4)
    with pytest.raises(RuntimeError, match="no_grad"):
        sc.inference_forward(net, torch.randn(1, 12, 8, 8))


def test_use_fast_pass_needs_a_bool():
    with pytest.raises(TypeError, match="True or False"):
        with sc.use_fast_pass(1):
            pass
    assert sc.fast_pass_enabled()


def test_cached_filters_follow_updates_and_dtype():
    """An optimiser step, load_state_dict and .to(float64) all reach the cached W_g."""
    net = _random_net(3, 4, 1, 4)
    conv = net.layers[0]
    x = torch.randn(1, 12, 8, 8)
    with torch.no_grad():
        before = net(x)
        w0 = sc.combined_filters(conv)[0]
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net(x).square().mean().backward()
    opt.step()
    with torch.no_grad():
        w1 = sc.combined_filters(conv)[0]
        assert not torch.equal(w1, w0)
        assert torch.equal(w1, (conv.weight + conv.delta_weight).flatten(0, 1))
        with sc.use_fast_pass(False):
            assert torch.equal(net(x), sc.inference_forward(net, x))
    other = _random_net(3, 4, 1, 4, seed=1)
    net.load_state_dict(other.state_dict())
    with torch.no_grad():
        assert torch.equal(net(x), other(x)) and not torch.equal(net(x), before)
    net64 = net.double()
    with torch.no_grad():
        y64 = net64(x.double())
    assert y64.dtype == torch.float64
    assert torch.allclose(y64.float(), other(x).detach(), atol=1e-5)


@pytest.mark.parametrize("s, shared", [((2, 2, 1), False), ((1, 1, 1), False),
                                       ((2, 2, 1), True)])
def test_trained_model_rollout_is_unchanged_by_the_fast_pass(s, shared):
    p = mf.decaying_turbulence(16, steps=6)
    model = st.train(p, s=s, shared=shared, width=8, iterations=12, batch=2, pool=4,
                     progress_bar=False)
    fast = model.rollout(p)
    with sc.use_fast_pass(False):
        ref = model.rollout(p)
    assert np.all(np.isfinite(ref)) and np.abs(ref[-1] - ref[0]).max() > 0
    np.testing.assert_array_equal(fast, ref)
    if s != (1, 1, 1):
        got = model.coarse_rollout(p, (1, 0))
        with sc.use_fast_pass(False):
            want = model.coarse_rollout(p, (1, 0))
        np.testing.assert_array_equal(got, want)

"""FNO2d, ST-FNO and the Spectral-Refiner (unisolve.learned.operators)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import unisolve as us  # noqa: E402
from unisolve.learned import operators as ops  # noqa: E402
from unisolve.problems import navier_stokes as nsp  # noqa: E402


@pytest.fixture(scope="module")
def data():
    d = nsp.navier_stokes_dataset(40, 16, 4, 6, seed=11, solver_resolution=32, warmup=1.0,
                                  dt_frame=0.2, cache=False, progress=False)
    return d.split(32)


@pytest.fixture(scope="module")
def st_model(data):
    train, _ = data
    return ops.train(train, arch="st-fno", epochs=30, batch_size=4, lr=1e-2, width=12, modes=5,
                     modes_t=4, layers=3, seed=0, progress_bar=False)


@pytest.fixture(scope="module")
def fno_model(data):
    train, _ = data
    return ops.train(train, arch="fno", epochs=10, batch_size=8, lr=1e-2, width=12, modes=5,
                     layers=3, windows=6, seed=0, progress_bar=False)


def _hermitian_weights(layer, seed=0):
    """Random weights whose k_y = 0 column is Hermitian in k_x, so irfft keeps them intact.

    Block 0 holds k_x = 0..m−1, block 1 holds k_x = n−m..n−1 (index j ↔ k_x = n−m+j):
    −k_x for k_x = j ≥ 1 is block 1 index m − j; block 1 index 0 (k_x = n − m) has no
    mirror among the kept modes and is set to zero.
    """
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(layer.weight.shape, dtype=torch.complex64, generator=g)
    m = layer.modes[0]
    w[0, :, :, 0, 0] = w[0, :, :, 0, 0].real
    w[1, :, :, 0, 0] = 0
    for j in range(1, m):
        w[1, :, :, m - j, 0] = torch.conj(w[0, :, :, j, 0])
    with torch.no_grad():
        layer.weight.copy_(w)
    return w


def test_spectral_conv_is_the_dense_circular_convolution():
    n, mx, my, c_in, c_out = 8, 3, 3, 2, 3
    layer = ops.SpectralConv(c_in, c_out, (mx, my))
    w = _hermitian_weights(layer).to(torch.complex128)
    # full-spectrum multiplier M[i, o, kx, ky] from the weights, Hermitian-completed
    M = np.zeros((c_in, c_out, n, n), dtype=complex)
    for kx in list(range(mx)) + list(range(n - mx, n)):
        block, j = (0, kx) if kx < mx else (1, kx - (n - mx))
        for ky in range(my):
            M[:, :, kx, ky] = w[block, :, :, j, ky].numpy()
            M[:, :, -kx % n, -ky % n] = np.conj(w[block, :, :, j, ky].numpy())
    kernel = np.fft.ifft2(M).real            # y_o(x) = Σ_i Σ_x' k_io(x − x') v_i(x')
    v = np.random.default_rng(1).standard_normal((2, c_in, n, n))
    direct = np.zeros((2, c_out, n, n))
    for a in range(n):
        for b in range(n):
            shifted = np.roll(np.roll(v, a, axis=2), b, axis=3)     # v(x − (a, b))
            direct += np.einsum("io,bixy->boxy", kernel[:, :, a, b], shifted)
    out = layer(torch.as_tensor(v)).detach().numpy()
    np.testing.assert_allclose(out, direct, rtol=0, atol=1e-5)


def test_spectral_conv_3d_resamples_a_band_limited_signal_in_time():
    # weights 1 on the kept modes: the layer is the band-limited interpolant, so a signal
    # inside the band is reproduced on the new time grid
    layer = ops.SpectralConv(1, 1, (4, 4, 3))
    with torch.no_grad():
        layer.weight.fill_(1.0)
    x = np.arange(8) / 8

    def signal(t):
        tt = t[None, None, :]
        return (np.sin(2 * np.pi * x)[:, None, None] * np.cos(2 * np.pi * 2 * x)[None, :, None]
                * (1 + 0.5 * np.cos(2 * np.pi * tt) + 0.2 * np.sin(4 * np.pi * tt)))

    v = torch.as_tensor(signal(np.arange(6) / 6))[None, None]
    out = layer(v, out_len=11)[0, 0].detach().numpy()
    np.testing.assert_allclose(out, signal(np.arange(11) / 11), atol=1e-12)


@pytest.mark.parametrize("modes", [(3, 3), (3, 2, 2)])
def test_widened_layer_equals_the_old_one(modes):
    layer = ops.SpectralConv(2, 2, modes, seed=3)
    wide = layer.widened(tuple(m + 2 for m in modes))
    shape = (2, 2, 12, 12) if len(modes) == 2 else (2, 2, 12, 12, 8)
    v = torch.randn(shape)
    torch.testing.assert_close(wide(v), layer(v), rtol=0, atol=1e-6)
    assert wide.weight.shape[-len(modes):] == tuple(m + 2 for m in modes)
    with pytest.raises(ValueError, match="must be >= the old"):
        layer.widened(tuple(m - 1 for m in modes))


def test_bad_shapes_give_clear_errors(st_model, fno_model):
    with pytest.raises(ValueError, match="keeps modes"):
        ops.SpectralConv(1, 1, (5, 5))(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r"takes 4 input frames"):
        st_model.predict(np.zeros((3, 16, 16)))
    with pytest.raises(ValueError, match=r"FNO2d takes \(batch, 4, n, n\)"):
        fno_model.net(torch.zeros(1, 4, 16, 8))
    with pytest.raises(ValueError, match=r"needs grids of at least 10² \(it was trained on 16²\)"):
        st_model.predict(np.zeros((4, 8, 8)))          # 8² cannot hold 5 modes per sign
    assert st_model.predict(np.zeros((4, 32, 32))).shape == (6, 32, 32)   # zero-shot 32²
    with pytest.raises(ValueError, match="lower modes"):
        ops.train(nsp.NavierStokesDataset(np.zeros((2, 3, 8, 8), np.float32), 1, 2, 0.1, 1e-3),
                  modes=6, progress_bar=False)


def test_trained_operators_beat_persistence(data, st_model, fno_model):
    _, test = data
    truth = test.w[:, 4:]
    persistence = np.repeat(test.w[:, 3:4], 6, axis=1)

    def err(pred):
        return np.mean(np.linalg.norm((pred - truth).reshape(len(test), -1), axis=1)
                       / np.linalg.norm(truth.reshape(len(test), -1), axis=1))

    base = err(persistence)
    assert err(st_model.predict(test.w[:, :4])) < 0.5 * base
    assert err(fno_model.predict(test.w[:, :4])) < 0.5 * base
    assert st_model.log.epochs == 30 and st_model.log.train_loss[-1] < st_model.log.train_loss[0]


def test_refiner_lowers_residual_and_error(data, st_model):
    _, test = data
    p = test.problem(0)
    plain = us.solve(p, method="st-fno", model=st_model)
    ref = us.solve(p, method="st-fno", model=st_model, refine=True, refine_steps=60)
    rec = ref.info["refine"]
    assert rec["residual_before"] == pytest.approx(plain.info["residual"], rel=1e-3)
    assert rec["residual_after"] < 0.2 * rec["residual_before"]
    assert ref.info["rel_l2"] < plain.info["rel_l2"]
    # the refiner never saw the truth: the residual of the truth itself is far lower
    assert st_model.residual(p, p.w_ref) < 0.2 * rec["residual_after"]
    assert len(ref.residuals) == 61 and ref.residuals[-1] == rec["residual_after"]


def test_save_load_round_trip(tmp_path, data, st_model, fno_model):
    _, test = data
    for model in (st_model, fno_model):
        path = model.save(tmp_path / f"{model.arch}.pt")
        back = ops.NeuralOperator.load(path)
        assert back.config == model.config and back.log.train_loss == model.log.train_loss
        np.testing.assert_array_equal(back.predict(test.w[0, :4]), model.predict(test.w[0, :4]))
        r = us.solve(test.problem(1), method=model.arch, model=str(path))
        assert r.x.shape == (6, 16, 16)
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="not a unisolve neural operator model file"):
        ops.NeuralOperator.load(tmp_path / "junk.pt")


def test_training_is_reproducible(data):
    train, _ = data
    kw = dict(arch="st-fno", epochs=1, width=6, modes=3, modes_t=2, layers=2, progress_bar=False)
    a, b = ops.train(train, seed=4, **kw), ops.train(train, seed=4, **kw)
    c = ops.train(train, seed=5, **kw)
    x = train.w[0, :4]
    assert np.array_equal(a.predict(x), b.predict(x))
    assert not np.array_equal(a.predict(x), c.predict(x))


def test_solve_rejects_bad_use(data, st_model, fno_model):
    _, test = data
    p = test.problem(0)
    with pytest.raises(ValueError, match="needs a trained model"):
        us.solve(p, method="st-fno")
    with pytest.raises(ValueError, match="use method='fno'"):
        us.solve(p, method="st-fno", model=fno_model)
    with pytest.raises(ValueError, match="output layer of an ST-FNO"):
        us.solve(p, method="fno", model=fno_model, refine=True)
    short = nsp.NavierStokesProblem(p.w_in[1:], p.w_ref, p.dt_frame)
    with pytest.raises(ValueError, match="maps 4 -> 6 frames"):
        us.solve(short, method="st-fno", model=st_model)
    slow = nsp.NavierStokesProblem(p.w_in, p.w_ref, 0.5)
    with pytest.raises(ValueError, match=r"dt_frame=0\.2"):
        us.solve(slow, method="st-fno", model=st_model)
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        us.solve(p, method="st-fno", model=st_model, refine=True, refine_lr=0.0)
    with pytest.raises(ValueError, match="steps must be an integer >= 0"):
        st_model.refine(p, steps=-1)
    with pytest.raises(TypeError, match="model must be a NeuralOperator"):
        us.solve(p, method="st-fno", model=object())

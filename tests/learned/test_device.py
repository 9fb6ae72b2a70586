"""Issue 26, item 14: device="cuda" on a torch without CUDA is a clear ValueError.

Old behaviour: torch's bare ``AssertionError: Torch not compiled with CUDA enabled`` from the
first ``.to("cuda")`` deep inside the method. ``torch.cuda.is_available`` is patched to False so
the test means the same on a machine with a GPU.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import unisolve as us  # noqa: E402
from unisolve.learned.training import torch_device  # noqa: E402
from unisolve.problems import pde  # noqa: E402

NO_CUDA = r"device='cuda'.*torch\.cuda\.is_available\(\) is False.*device='cpu'"


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


def test_item14_torch_device_names_the_fix(no_cuda):
    assert torch_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match=NO_CUDA):
        torch_device("cuda")
    with pytest.raises(ValueError, match=r"device='cuda:1'"):
        torch_device("cuda:1")
    with pytest.raises(ValueError, match=r"not a torch device.*device='cpu'"):
        torch_device("gpu")


def test_item14_dcdm_solve_preconditioner_and_fit(no_cuda):
    from unisolve.learned.dcdm import DCDM, pretrained

    p = us.problems.pressure_poisson(16, seed=0)
    with pytest.raises(ValueError, match=NO_CUDA):
        us.solve(p, method="dcdm", device="cuda")
    with pytest.raises(ValueError, match=NO_CUDA):
        pretrained().preconditioner(p.grid_shape, device="cuda")
    with pytest.raises(ValueError, match=NO_CUDA):
        DCDM(dim=2).fit([p], epochs=1, samples=4, m=8, device="cuda", progress=False)
    r = us.solve(p, method="dcdm", device="cpu", rtol=1e-6)  # the CPU path is unchanged
    assert np.linalg.norm(p.b - p.A @ r.x) <= 1e-6 * np.linalg.norm(p.b) * 1.0001


@pytest.mark.parametrize("name", ["pinn", "lpinn"])
def test_item14_physics_models(no_cuda, name):
    from unisolve.learned.lpinn import LPINN
    from unisolve.learned.pinn import PINN

    p = pde.convection(1.0, nx=8, nt=2)
    with pytest.raises(ValueError, match=NO_CUDA):
        us.solve(p, method=name, device="cuda", progress=False)
    cls = PINN if name == "pinn" else LPINN
    with pytest.raises(ValueError, match=NO_CUDA):
        cls(p, device="cuda")

"""Shared test set-up: `gpu`-marked tests skip cleanly where no CUDA device is present;
one torch thread for the tests that need repeatable float32 sums."""

import pytest


def _gpu_available() -> tuple[bool, str]:
    try:
        import cupy
    except ImportError:
        return False, "CuPy is not installed (pip install -e .[gpu])"
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            return False, "no CUDA device"
    except Exception as exc:  # driver missing, no device, ...
        return False, f"no usable CUDA device ({type(exc).__name__})"
    return True, ""


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    ok, why = _gpu_available()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"gpu test skipped: {why}")
    for item in gpu_items:
        item.add_marker(skip)


@pytest.fixture
def cupy():
    """The cupy module, for `gpu`-marked tests (which are skipped without a device)."""
    ok, why = _gpu_available()
    if not ok:
        pytest.skip(why)
    import cupy

    return cupy


@pytest.fixture
def one_torch_thread():
    """One torch thread: the network's float32 summation order (the thread count) changes
    the iterates in the last digits, so one thread makes iteration counts repeatable (and
    the runs quick on a shared 2-core machine)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

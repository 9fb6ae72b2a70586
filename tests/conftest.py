"""Shared test set-up: `gpu`-marked tests skip cleanly where no CUDA device is present."""

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

"""Fixtures shared by the learned-method tests."""

import pytest
import torch


@pytest.fixture
def one_torch_thread():
    """One torch thread: the network's float32 summation order (the thread count) changes
    the iterates in the last digits, so one thread makes iteration counts repeatable (and
    the runs quick on a shared 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

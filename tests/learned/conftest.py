"""Fixtures shared by the learned-method tests (``one_torch_thread`` is in tests/conftest.py)."""

import socket

import pytest
import torch


def _grid_input(shape, seed=0, solid=0.2):
    """(1, 2, *shape): a random residual, zero in the solids, and a random fluid mask."""
    g = torch.Generator().manual_seed(seed)
    mask = (torch.rand(*shape, generator=g) > solid).float()
    r = torch.randn(*shape, generator=g) * mask
    return torch.stack([r, mask])[None]


@pytest.fixture
def grid_input():
    """The maker of a DCDM network input: ``grid_input(shape, seed=0, solid=0.2)``."""
    return _grid_input


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to open a network connection fails the test (shipped weights load
    from the package, never from the network)."""
    def no_network(*args, **kwargs):
        raise AssertionError("loading the shipped model must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)

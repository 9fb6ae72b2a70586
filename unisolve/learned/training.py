"""What every training loop of unisolve shares: seeding, the progress bar, a clock.

Kept free of any one model so that DCDM, the PINNs and the neural operators
train the same reproducible way: ``seed_everything(seed)`` before building data
and weights, ``progress(...)`` for the bar, :class:`TrainingLog` for the losses
and the wall time that the saved model records.
"""

from __future__ import annotations

import random
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TrainingLog", "progress", "seed_everything"]


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's, numpy's and torch's global generators; return a numpy Generator.

    Examples
    --------
    >>> import torch
    >>> _ = seed_everything(3); a = torch.rand(2)
    >>> _ = seed_everything(3); bool((a == torch.rand(2)).all())
    True
    """
    import torch

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)  # noqa: NPY002 (legacy global state users may rely on)
    torch.manual_seed(int(seed))
    return np.random.default_rng(int(seed))


def progress(iterable: Any, desc: str, disable: bool = False, total: int | None = None):
    """tqdm progress bar (the notebook widget where ipywidgets is installed).

    Examples
    --------
    >>> sum(progress(range(4), "demo", disable=True))
    6
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TqdmWarning: no ipywidgets -> text bar
        from tqdm.auto import tqdm
    return tqdm(iterable, desc=desc, disable=disable, total=total, leave=False)


@dataclass
class TrainingLog:
    """Per-epoch training / validation losses and the wall time they took.

    Examples
    --------
    >>> log = TrainingLog()
    >>> log.add(0.5, 0.6); log.add(0.25, 0.3)
    >>> log.epochs, log.train_loss[-1], log.as_dict()["epochs"]
    (2, 0.25, 2)
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def add(self, train: float, val: float | None = None) -> None:
        """Record one epoch and update the elapsed wall time."""
        self.train_loss.append(float(train))
        if val is not None:
            self.val_loss.append(float(val))
        self.seconds = time.perf_counter() - self._t0

    def as_dict(self) -> dict:
        """Plain-JSON form, saved inside a model file."""
        return {"epochs": self.epochs, "train_loss": self.train_loss,
                "val_loss": self.val_loss, "seconds": self.seconds}

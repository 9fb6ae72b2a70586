"""What every training loop of unisolve shares: the progress bar and a clock.

Kept free of any one model so that DCDM, the PINNs and the neural operators
train the same way: ``progress(...)`` for the bar, :class:`TrainingLog` for the
losses and the wall time that the saved model records. Seeding is local to each
model (seeded generators, ``torch.random.fork_rng`` for the initial weights), so
training never resets the caller's global random state.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrainingLog", "progress"]


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

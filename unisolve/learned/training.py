"""What every training loop of unisolve shares: the progress bar and a clock.

Kept free of any one model so that DCDM, the PINNs and the neural operators
train the same way: ``progress(...)`` for the bar (from :mod:`unisolve.progress`),
:class:`TrainingLog` for the losses and the wall time that the saved model records.
Seeding is local to each model (seeded generators, ``torch.random.fork_rng`` for the
initial weights), so training never resets the caller's global random state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..progress import progress
from ..result import IterationState, Status

__all__ = ["TrainingLog", "adam_then_lbfgs", "progress", "read_model_file", "resolve_model",
           "torch_device"]


def torch_device(device: Any) -> Any:
    """``device`` as a ``torch.device``, checked against what this torch build can run.

    A CUDA (or MPS) device on a torch built without it fails here with a
    ``ValueError`` that names the fix, instead of torch's bare ``AssertionError``
    ("Torch not compiled with CUDA enabled") deep inside the first ``.to(device)``.

    Examples
    --------
    >>> torch_device("cpu")
    device(type='cpu')
    >>> torch_device("gpu")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: device='gpu' is not a torch device (...); pass e.g. device='cpu' or 'cuda'
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"device={device!r} is not a torch device ({reason}); pass e.g. "
                         "device='cpu' or 'cuda'") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} but this torch ({torch.__version__}) has no usable CUDA "
                "(torch.cuda.is_available() is False); use device='cpu', or install a CUDA "
                "build of torch on a machine with an NVIDIA GPU")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r} but only {torch.cuda.device_count()} CUDA "
                             f"device(s) are visible; use an index below that")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} but torch.backends.mps.is_available() is False; "
                         "use device='cpu'")
    return dev


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

    @classmethod
    def from_dict(cls, d: dict) -> TrainingLog:
        """The log :meth:`as_dict` wrote.

        Examples
        --------
        >>> log = TrainingLog(train_loss=[1.0, 0.5], seconds=2.0)
        >>> TrainingLog.from_dict(log.as_dict()).train_loss
        [1.0, 0.5]
        """
        return cls(train_loss=list(d["train_loss"]), val_loss=list(d.get("val_loss", [])),
                   seconds=d["seconds"])


def adam_then_lbfgs(params: Sequence[Any], loss_fn: Callable[[], Any], *, epochs: int,
                    lbfgs: int, lr: float = 1e-3, log: TrainingLog | None = None,
                    desc: str = "training", show_progress: bool = True,
                    callback: Callable[[IterationState], Any] | None = None, model: Any = None,
                    atol: float = 0.0, maxiter: int | None = None) -> tuple[TrainingLog, Status]:
    """Full-batch Adam for ``epochs`` steps, then L-BFGS (strong Wolfe) for ``lbfgs``.

    The optimiser pair of physics-informed training: Adam leaves the flat start,
    L-BFGS polishes. ``log.train_loss`` holds the loss at the initial weights and
    after every step (``len == steps + 1``); ``callback(state)`` sees the same
    numbers (``state.x`` is ``model``) and may raise ``StopIteration``.

    Parameters
    ----------
    params : sequence of torch.Tensor
        The trainable parameters.
    loss_fn : callable
        ``loss_fn() -> scalar tensor``, differentiable in ``params``.
    epochs, lbfgs : int
        Adam steps, then L-BFGS iterations (each may evaluate the loss a few times).
    lr : float
        Adam's learning rate (L-BFGS uses 1 with the line search).
    log : TrainingLog, optional
        Appended to (a new one by default).
    desc, show_progress
        Progress bar label, and whether to show it.
    callback, model
        See above.
    atol : float
        Stop (``CONVERGED``) once the loss is ≤ atol; 0 never stops early.
    maxiter : int, optional
        Cap on the total number of steps.

    Returns
    -------
    (TrainingLog, Status)
        ``MAX_ITER`` when the budget was spent, ``CONVERGED`` (loss ≤ atol),
        ``STOPPED`` (callback) or ``NONFINITE`` (the loss became NaN/inf; training
        stops at once).

    Examples
    --------
    >>> import torch
    >>> w = torch.zeros(2, requires_grad=True)
    >>> target = torch.tensor([1.0, -2.0])
    >>> log, status = adam_then_lbfgs([w], lambda: ((w - target) ** 2).sum(), epochs=5,
    ...                               lbfgs=5, lr=0.1, show_progress=False)
    >>> status.name, log.epochs, bool(torch.allclose(w, target, atol=1e-5))
    ('MAX_ITER', 11, True)
    """
    import torch

    params = list(params)
    log = TrainingLog() if log is None else log
    total = epochs + lbfgs if maxiter is None else min(epochs + lbfgs, maxiter)
    adam = torch.optim.Adam(params, lr=lr)
    # one iteration per step() so that every iteration is recorded; max_eval must then be
    # set, or torch's default (5/4 · max_iter) leaves the line search no evaluations
    quasi = torch.optim.LBFGS(params, lr=1.0, max_iter=1, max_eval=26, history_size=50,
                              line_search_fn="strong_wolfe", tolerance_grad=0.0,
                              tolerance_change=0.0)

    def closure() -> Any:
        quasi.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    def record(k: int, value: float) -> Status | None:
        log.add(value)
        if not math.isfinite(value):
            return Status.NONFINITE
        if callback is not None:
            try:
                callback(IterationState(k, model, value))
            except StopIteration:
                return Status.STOPPED
        if atol > 0 and value <= atol:
            return Status.CONVERGED
        return None

    status = None
    bar = progress(range(total), desc, disable=not show_progress)
    for k in bar:
        if k < epochs:
            adam.zero_grad()
            loss = loss_fn()
            value = float(loss.detach())
            status = record(k, value)
            if status is not None:
                break
            loss.backward()
            adam.step()
        else:
            value = float(quasi.step(closure).detach())  # the loss before this iteration
            status = record(k, value)
            if status is not None:
                break
        if k % 25 == 0:
            bar.set_postfix(loss=f"{value:.3g}", refresh=False)
    if status is None:  # the loss at the final weights (needs autograd: derivatives inside)
        status = record(total, float(loss_fn().detach())) or Status.MAX_ITER
    return log, status


def read_model_file(path: str | Path, fmt: str, what: str) -> dict:
    """The dict a model's ``save`` wrote, read with ``weights_only`` (no code unpickled).

    Raises ``FileNotFoundError`` when there is no file and ``ValueError`` when it
    is not a torch archive of the format ``fmt``; ``what`` names the model kind in
    the messages.

    Examples
    --------
    >>> read_model_file("/no/such/file.pt", "x-1", "DCDM")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no DCDM model file at /no/such/file.pt
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} model file at {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # not a torch archive, or one holding code objects
        raise ValueError(f"{path} is not a unisolve {what} model file ({fmt}): {exc}") from None
    if not isinstance(blob, dict) or blob.get("format") != fmt:
        raise ValueError(f"{path} is not a unisolve {what} model file (format {fmt})")
    return blob


def resolve_model(model: Any, cls: type, method_name: str, how: str) -> Any:
    """The model a learned method was handed: an instance of ``cls`` or the path of one.

    ``None`` raises ``ValueError`` saying ``how`` to get one; a path is read with
    ``cls.load``; anything else raises ``TypeError``.

    Examples
    --------
    >>> resolve_model(None, dict, "demo", "m = train()")
    Traceback (most recent call last):
    ...
    ValueError: method 'demo' needs a trained model: m = train() or a path saved by model.save(path)
    """
    if model is None:
        raise ValueError(f"method {method_name!r} needs a trained model: {how} or a path "
                         f"saved by model.save(path)")
    if isinstance(model, (str, Path)):
        model = cls.load(model)
    if not isinstance(model, cls):
        raise TypeError(f"model must be a {cls.__name__} or the path of a saved one, got "
                        f"{type(model).__name__}")
    return model


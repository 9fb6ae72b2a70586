"""The one progress bar of unisolve (sequences, training loops, data generation).

A leaf module (no unisolve imports), so every layer may use it.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ["progress"]


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

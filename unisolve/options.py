"""Checks of the options every method shares, and the working precision of a linear system.

This module sits below both the face (:mod:`unisolve.api`) and the solvers, so
that :func:`unisolve.solve` and the objects that pass options on to solvers
(:class:`~unisolve.OmegaTuner`, :class:`~unisolve.SolverTuner`, ...) reject the
same bad values with the same messages.

* :func:`check_common` — ``rtol``, ``atol``: finite numbers ``>= 0``;
  ``maxiter``: a non-negative integer (or None); ``callback``: callable.
* :func:`working_precision` — the solvers compute in float32 or float64
  (numba kernels, LAPACK, PETSc); a numpy system in another floating dtype
  (``np.longdouble``, ``np.float16``) is converted to float64 once, and the
  returned note says so (it goes to ``Result.info["precision"]``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
from typing import Any

import numpy as np

__all__ = ["SUPPORTED_DTYPES", "check_common", "working_precision"]

#: Floating dtypes the linear solvers compute in; others are converted to float64.
SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_common(options: dict) -> None:
    """Raise a clear error for a bad ``rtol``, ``atol``, ``maxiter`` or ``callback``.

    Parameters
    ----------
    options : dict
        Solver options; only the four shared keys are looked at.

    Raises
    ------
    ValueError
        ``rtol``/``atol`` not a finite number ``>= 0`` (NaN, inf, negative, a
        string), ``maxiter`` not a non-negative integer.
    TypeError
        ``callback`` not callable.

    Examples
    --------
    >>> check_common({"rtol": 1e-8, "maxiter": 100, "callback": None})
    >>> check_common({"maxiter": 1.5})
    Traceback (most recent call last):
    ...
    ValueError: maxiter must be a non-negative integer, got 1.5: pass e.g. maxiter=2
    >>> check_common({"rtol": float("nan")})
    Traceback (most recent call last):
    ...
    ValueError: rtol must be a finite number >= 0, got nan: pass e.g. rtol=1e-08
    """
    for name, example in (("rtol", 1e-8), ("atol", 0.0)):
        if name in options:
            v = options[name]
            # rtol: the stopping rule is ‖b − A x‖ <= max(rtol ‖b‖, atol)
            if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_)) or not (
                    v >= 0 and math.isfinite(v)):
                raise ValueError(
                    f"{name} must be a finite number >= 0, got {v!r}: pass e.g. "
                    f"{name}={example!r}"
                )
    if "maxiter" in options and options["maxiter"] is not None:
        v = options["maxiter"]
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 0:
            hint = (f"maxiter={math.ceil(v)}" if isinstance(v, numbers.Real)
                    and math.isfinite(v) and v > 0 else "maxiter=1000")
            raise ValueError(f"maxiter must be a non-negative integer, got {v!r}: pass e.g. "
                             f"{hint}")
    if "callback" in options and options["callback"] is not None:
        if not callable(options["callback"]):
            raise TypeError(
                f"callback must be callable as callback(state), got "
                f"{type(options['callback']).__name__}: pass a function or None"
            )


def _numpy_dtype(a: Any) -> np.dtype | None:
    """The numpy dtype of a numpy array or scipy sparse matrix, else None."""
    if isinstance(a, np.ndarray):
        return a.dtype
    if type(a).__module__.startswith("scipy.sparse") and hasattr(a, "dtype"):
        return np.dtype(a.dtype)
    return None


def _dtype_label(dt: np.dtype) -> str:
    """``'longdouble (float128)'`` for numpy's extended type, else the dtype's name."""
    return f"longdouble ({dt})" if dt == np.longdouble and dt != np.float64 else str(dt)


def working_precision(problem: Any) -> tuple[Any, str | None]:
    """The problem in a dtype the solvers compute in, and a note when it was converted.

    A linear problem whose numpy/scipy ``A``, ``b`` or ``x0`` is a floating dtype
    other than float32 / float64 (``np.longdouble``, ``np.float16``) is copied
    to float64; the note says so, and ``solve()`` stores it in
    ``Result.info["precision"]``: the result is a float64 solution, accurate
    to what float64 reaches, not to the input's precision. Any other problem
    comes back unchanged with ``None``.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.LinearProblem(np.eye(2, dtype=np.longdouble), np.ones(2, np.longdouble))
    >>> q, note = working_precision(p)
    >>> q.A.dtype, q.b.dtype, note.split(":")[0]
    (dtype('float64'), dtype('float64'), 'float64')
    >>> working_precision(us.problems.poisson2d(2))[1] is None
    True
    """
    if getattr(problem, "kind", None) != "linear":
        return problem, None
    fields = {name: getattr(problem, name, None) for name in ("A", "b", "x0", "exact")}
    odd = sorted({_dtype_label(dt) for dt in map(_numpy_dtype, fields.values())
                  if dt is not None and dt.kind == "f" and dt not in SUPPORTED_DTYPES})
    if not odd:
        return problem, None
    changes = {name: value.astype(np.float64) for name, value in fields.items()
               if (dt := _numpy_dtype(value)) is not None and dt.kind == "f"
               and dt != np.float64}
    note = (f"float64: the input ({', '.join(odd)}) was converted to float64, the "
            "precision the solvers compute in; x is float64")
    if dataclasses.is_dataclass(problem):
        return dataclasses.replace(problem, **changes), note
    problem = copy.copy(problem)  # not a dataclass: a shallow copy with the new arrays
    for name, value in changes.items():
        setattr(problem, name, value)
    return problem, note

"""unisolve: classical iterative methods and learned PDE solvers behind one call.

Examples
--------
>>> import unisolve as us
>>> p = us.problems.poisson2d(32)
>>> r = us.solve(p)                       # CG, the default for SPD systems
>>> r.converged, r.method
(True, 'cg')
>>> print(us.describe("sor").splitlines()[2])  # a method's options, defaults, docstring
matrix: SPD or diag. dom.
"""

from . import interop, learned, problems  # noqa: F401  (importing registers lazily)
from .api import solve
from .registry import describe, methods, register_source
from .result import Result, SequenceResult, Status
from .threads import get_num_threads, num_threads, set_num_threads

__all__ = ["OmegaTuner", "Result", "SequenceResult", "SolverTuner", "Status", "describe",
           "methods", "problems", "solve"]
__all__ += ["get_num_threads", "num_threads", "set_num_threads"]  # unisolve.threads
__version__ = "0.1.0"

register_source("unisolve.solvers")  # its @method decorators run on the first lookup

_LAZY = {"OmegaTuner": "unisolve.solvers.tuning", "SolverTuner": "unisolve.solvers.auto"}


def __getattr__(name: str):
    """Import the solver-side names (numba kernels) only when first used."""
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "solvers":  # the subpackage, imported on first use (it loads numba)
        return importlib.import_module("unisolve.solvers")
    raise AttributeError(f"module 'unisolve' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, the lazily imported ones (``OmegaTuner``, ``solvers``) included."""
    return sorted(set(globals()) | set(_LAZY) | {"solvers"})

"""unisolve: classical iterative methods and learned PDE solvers behind one call.

Examples
--------
>>> import unisolve as us
>>> p = us.problems.poisson2d(32)
>>> r = us.solve(p)                       # CG, the default for SPD systems
>>> r.converged, r.method
(True, 'cg')
"""

from . import problems
from .api import solve
from .registry import methods
from .result import Result, SequenceResult, Status

__all__ = ["Result", "SequenceResult", "Status", "methods", "problems", "solve"]
__version__ = "0.1.0"

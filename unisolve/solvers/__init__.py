"""Classical solvers, one module per method family; importing registers them."""

from . import krylov, relaxation

__all__ = ["krylov", "relaxation"]

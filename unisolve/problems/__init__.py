"""What is solved: problem dataclasses and generators (no solver logic here)."""

from .heat import heat_sequence, shifted_laplacian_sequence
from .linear import LinearProblem, LinearSequence, Stencil
from .poisson import poisson2d, poisson3d, shifted_laplacian
from .pressure import pressure_poisson, random_obstacles

__all__ = [
    "LinearProblem",
    "LinearSequence",
    "Stencil",
    "heat_sequence",
    "poisson2d",
    "poisson3d",
    "pressure_poisson",
    "random_obstacles",
    "shifted_laplacian",
    "shifted_laplacian_sequence",
]

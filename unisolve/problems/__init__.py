"""What is solved: problem dataclasses and generators (no solver logic here)."""

from . import composite, monotone, pde
from .composite import CompositeProblem
from .constrained import EqualityConstrainedProblem, check_derivatives, test_set
from .constrained_models import constrained_logistic, pde_constrained
from .heat import heat_sequence, shifted_laplacian_sequence
from .linear import LinearProblem, LinearSequence, Stencil
from .monotone import FiniteSumProblem, FixedPointProblem
from .pde import PDEProblem
from .poisson import poisson2d, poisson3d, shifted_laplacian
from .pressure import pressure_poisson, random_obstacles

__all__ = [
    "CompositeProblem",
    "EqualityConstrainedProblem",
    "FiniteSumProblem",
    "FixedPointProblem",
    "LinearProblem",
    "LinearSequence",
    "PDEProblem",
    "Stencil",
    "check_derivatives",
    "composite",
    "constrained_logistic",
    "heat_sequence",
    "monotone",
    "pde",
    "pde_constrained",
    "poisson2d",
    "poisson3d",
    "pressure_poisson",
    "random_obstacles",
    "shifted_laplacian",
    "shifted_laplacian_sequence",
    "test_set",
]

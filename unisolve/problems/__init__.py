"""What is solved: problem dataclasses and generators (no solver logic here)."""

from . import composite, mac_flow, monotone, navier_stokes, pde
from .composite import CompositeProblem
from .constrained import EqualityConstrainedProblem, check_derivatives, test_set
from .constrained_models import constrained_logistic, pde_constrained
from .convection import convection_diffusion_sequence, convection_diffusion_system
from .heat import heat_sequence, shifted_laplacian_sequence
from .linear import LinearProblem, LinearSequence, Stencil
from .mac_flow import FlowProblem
from .monotone import FiniteSumProblem, FixedPointProblem
from .navier_stokes import NavierStokesProblem, navier_stokes_dataset
from .pde import PDEProblem
from .poisson import poisson2d, poisson3d, shifted_laplacian
from .pressure import pressure_poisson, random_obstacles

__all__ = [
    "CompositeProblem",
    "EqualityConstrainedProblem",
    "FiniteSumProblem",
    "FixedPointProblem",
    "FlowProblem",
    "LinearProblem",
    "LinearSequence",
    "NavierStokesProblem",
    "PDEProblem",
    "Stencil",
    "check_derivatives",
    "composite",
    "constrained_logistic",
    "convection_diffusion_sequence",
    "convection_diffusion_system",
    "heat_sequence",
    "mac_flow",
    "monotone",
    "navier_stokes",
    "navier_stokes_dataset",
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

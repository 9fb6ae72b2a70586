"""Learned solvers (torch). Importing this package does NOT import torch.

The methods below are registered by name here and their modules (which import
torch) are loaded the first time one of them is used.
"""

from ..registry import register_lazy

register_lazy(
    "dcdm", "unisolve.learned.dcdm", kinds=("linear",), matrix="SPD (grid Poisson)",
    description="Deep conjugate directions (Kaneda et al. 2023): a CNN proposes A⁻¹r.",
)
register_lazy(
    "fno", "unisolve.learned.operators", kinds=("navier-stokes",),
    description="Fourier neural operator (Li et al. 2021), rolled out one frame at a time.",
)
register_lazy(
    "lpinn", "unisolve.learned.lpinn", kinds=("pde",),
    description="Lagrangian PINN (Mojgani et al. 2023): learn the characteristics and u along "
                "them.",
)
register_lazy(
    "neural-fine", "unisolve.learned.stagger", kinds=("flow",),
    description="Physics-constrained neural time-stepper on the full grid (NeuralStagger's "
                "baseline).",
)
register_lazy(
    "neural-stagger", "unisolve.learned.stagger", kinds=("flow",),
    description="NeuralStagger (Huang et al. 2023): coarse sub-grid networks, re-assembled "
                "each step.",
)
register_lazy(
    "pinn", "unisolve.learned.pinn", kinds=("pde",),
    description="Physics-informed network (Raissi et al. 2019) with a periodic input embedding.",
)
register_lazy(
    "st-fno", "unisolve.learned.operators", kinds=("navier-stokes",),
    description="Space-time FNO (Cao et al. 2025), optionally with the Spectral-Refiner.",
)

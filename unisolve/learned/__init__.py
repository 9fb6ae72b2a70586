"""Learned solvers (torch). Importing this package does NOT import torch.

The methods below are registered by name here and their modules (which import
torch) are loaded the first time one of them is used.
"""

from ..registry import register_lazy

register_lazy(
    "dcdm", "unisolve.learned.dcdm", kinds=("linear",),
    description="Deep conjugate directions (Kaneda et al. 2023): a CNN proposes A⁻¹r.",
)

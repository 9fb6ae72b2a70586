"""Classical solvers, one module per method family; importing registers them."""

from . import (
    auto,
    bcd,
    bicgstab,
    gmres,
    halpern,
    krylov,
    mac_projection,
    minres,
    omega,
    relaxation,
    reuse,
    sketch_newton,
    structure,
    tuning,
    young,
)
from .auto import ConfigBandit, SolverTuner
from .omega import AutoOmega, ChebCB, OmegaLearner, TsallisINF, TsallisINFCB, make_learner
from .reuse import ReusingPCG
from .tuning import OmegaTuner
from .young import optimal_omega

__all__ = [
    "AutoOmega",
    "ChebCB",
    "ConfigBandit",
    "OmegaLearner",
    "OmegaTuner",
    "ReusingPCG",
    "SolverTuner",
    "TsallisINF",
    "TsallisINFCB",
    "auto",
    "bcd",
    "bicgstab",
    "gmres",
    "halpern",
    "krylov",
    "mac_projection",
    "make_learner",
    "minres",
    "omega",
    "optimal_omega",
    "relaxation",
    "reuse",
    "sketch_newton",
    "structure",
    "tuning",
    "young",
]

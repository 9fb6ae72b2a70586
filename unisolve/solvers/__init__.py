"""Classical solvers, one module per method family; importing registers them."""

from . import bcd, halpern, krylov, mac_projection, omega, relaxation, sketch_newton, tuning, young
from .omega import AutoOmega, ChebCB, OmegaLearner, TsallisINF, TsallisINFCB, make_learner
from .tuning import OmegaTuner
from .young import optimal_omega

__all__ = [
    "AutoOmega",
    "ChebCB",
    "OmegaLearner",
    "OmegaTuner",
    "TsallisINF",
    "TsallisINFCB",
    "bcd",
    "halpern",
    "krylov",
    "mac_projection",
    "make_learner",
    "omega",
    "optimal_omega",
    "relaxation",
    "sketch_newton",
    "tuning",
    "young",
]

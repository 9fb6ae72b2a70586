"""Interoperability with other solver frameworks. Importing this imports no petsc4py.

:mod:`unisolve.interop.petsc` (needs the ``petsc`` extra: petsc4py, mpi4py)
lets ``unisolve.solve`` take PETSc ``Mat`` / ``Vec`` objects, runs PETSc's
KSP under unisolve's API (the methods below, registered here and imported on
first use), and gives PETSc programs our preconditioners as Python PC contexts.
"""

from ..registry import register_lazy

register_lazy(
    "petsc", "unisolve.interop.petsc", kinds=("linear",), matrix="any (per KSP)",
    description="Any PETSc KSP/PC pair (options='-ksp_type ... -pc_type ...') under "
                "unisolve's API.",
)
register_lazy(
    "petsc-cg", "unisolve.interop.petsc", kinds=("linear",), matrix="SPD",
    description="PETSc's KSPCG (unpreconditioned unless options add a PC).",
)
register_lazy(
    "petsc-gmres", "unisolve.interop.petsc", kinds=("linear",), matrix="any nonsingular",
    description="PETSc's KSPGMRES, right-preconditioned so it stops on the true residual.",
)
register_lazy(
    "petsc-sor", "unisolve.interop.petsc", kinds=("linear",), matrix="SPD or diag. dom.",
    description="PETSc's SOR iteration (KSPRICHARDSON + PCSOR) with weight omega.",
)

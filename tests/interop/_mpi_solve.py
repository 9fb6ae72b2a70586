"""Run under `mpiexec -n 2`: a distributed (mpiaij) system through unisolve.solve.

Prints one line per check on rank 0; test_petsc_mpi.py reads them.
"""

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from petsc4py import PETSc

import unisolve as us
from unisolve.interop.petsc import mat_to_csr, to_petsc, vec_to_numpy


def main() -> None:
    comm = PETSc.COMM_WORLD
    p = us.problems.poisson2d(20, rhs="random", seed=1)
    A, b = to_petsc(p.A, comm=comm), to_petsc(p.b, comm=comm)
    exact = spla.spsolve(sp.csc_array(p.A), p.b)
    lines = [f"ranks {comm.getSize()} type {A.getType()}",
             f"round trip {int((mat_to_csr(A) != p.A).nnz)} {np.abs(vec_to_numpy(b) - p.b).max()}"]
    problem = us.problems.LinearProblem(A, b)
    for method, options in (("cg", {}), ("petsc-cg", {}),
                            ("petsc-cg", {"options": "-pc_type python -pc_python_type "
                                                     "unisolve.interop.petsc.UnisolvePC"})):
        r = us.solve(problem, method=method, rtol=1e-10, **options)
        x = vec_to_numpy(r.x)
        lo, hi = r.x.getOwnershipRange()
        owned = b.getOwnershipRange() == (lo, hi)
        err = np.linalg.norm(x - exact) / np.linalg.norm(exact)
        lines.append(f"{method}{'+pc' if options else ''} {r.status.name} {err:.3e} "
                     f"{r.info.get('ranks', 0)} {owned}")
    if comm.getRank() == 0:
        print("\n".join(lines))


if __name__ == "__main__":
    main()

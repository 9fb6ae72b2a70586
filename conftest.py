"""Collection set-up: modules of optional extras whose dependency is missing are not
collected for their doctests (their tests in tests/ skip with a reason), and helper scripts
that run under mpiexec are never imported by pytest."""

collect_ignore = ["tests/interop/_mpi_solve.py"]
collect_ignore_glob = []
try:
    import petsc4py  # noqa: F401
except ImportError:
    collect_ignore_glob.append("unisolve/interop/petsc*.py")

"""PETSc ``Mat`` / ``Vec`` <-> scipy / numpy conversion: the ground floor under interop.

:mod:`unisolve.backend` (which accepts PETSc objects as input) and
:mod:`unisolve.problems` read PETSc data through these functions, so the
problem and backend layers never import :mod:`unisolve.interop`, the glue
layer that sits on top of the solvers. Importing this module imports
petsc4py; :mod:`unisolve.backend` imports it only once it has been handed a
petsc4py object. :mod:`unisolve.interop.petsc` re-exports every public name.

Examples
--------
>>> import numpy as np
>>> from unisolve.petsc_convert import to_host, to_petsc
>>> to_host(to_petsc(np.array([1.0, 2.0])), "b")
array([1., 2.])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

try:
    from petsc4py import PETSc
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "PETSc objects need petsc4py: `pip install 'unisolve[petsc]'`, or `make petsc` in "
        "a source checkout (installs MPICH and builds PETSc; the first build takes about "
        "18 minutes)"
    ) from exc

__all__ = ["mat_to_csr", "to_host", "to_petsc", "vec_like", "vec_to_numpy"]


def _mpi_comm(comm: PETSc.Comm) -> Any:
    """The mpi4py communicator of a PETSc one (needed only when it has several ranks)."""
    try:
        return comm.tompi4py()
    except ImportError as exc:  # pragma: no cover - mpi4py is part of the extra
        raise ImportError("distributed PETSc objects need mpi4py: "
                          "`pip install 'unisolve[petsc]'`") from exc


def _check_mat(A: Any, name: str) -> None:
    """TypeError / ValueError, naming the fix, for a Mat unisolve cannot read."""
    if not isinstance(A, PETSc.Mat):
        raise TypeError(f"{name} must be a PETSc Mat, got {type(A).__name__}")
    kind = A.getType() or "unset"
    if "aij" not in kind:
        raise TypeError(
            f"{name} is a PETSc Mat of type {kind!r}; unisolve reads AIJ (CSR) matrices: "
            f"convert it with {name}.convert('aij') first"
        )
    if not A.isAssembled():
        raise ValueError(
            f"{name} is not assembled: call {name}.assemble() (MatAssemblyBegin/End) after "
            "setting its values, before solving"
        )
    rows, cols = A.getSize()
    if rows != cols:
        raise ValueError(
            f"{name} must be square, got a {rows} x {cols} PETSc Mat: a least-squares "
            "problem needs a different method (e.g. PETSc's -ksp_type lsqr)"
        )


def mat_to_csr(A: PETSc.Mat, name: str = "A") -> sp.csr_array:
    """An assembled AIJ Mat as a scipy CSR copy of the whole matrix.

    A distributed (``mpiaij``) matrix is gathered: every rank gets all rows.

    Raises
    ------
    TypeError
        Not an AIJ Mat (the message says to ``convert('aij')``).
    ValueError
        Not assembled, or not square.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> A = sp.csr_array(np.array([[2.0, -1.0], [-1.0, 2.0]]))
    >>> mat_to_csr(to_petsc(A)).toarray()
    array([[ 2., -1.],
           [-1.,  2.]])
    """
    _check_mat(A, name)
    shape = A.getSize()
    indptr, indices, data = A.getValuesCSR()  # own rows, global column indices
    if A.getComm().getSize() > 1:
        parts = _mpi_comm(A.getComm()).allgather((indptr, indices, data))
        offsets = np.cumsum([0] + [int(p[0][-1]) for p in parts])
        indptr = np.concatenate([p[0][:-1] + off for p, off in zip(parts, offsets[:-1],
                                                                    strict=True)]
                                + [offsets[-1:]])
        indices = np.concatenate([p[1] for p in parts])
        data = np.concatenate([p[2] for p in parts])
    return sp.csr_array((np.asarray(data, dtype=np.float64), indices, indptr), shape=shape)


def vec_to_numpy(v: PETSc.Vec) -> np.ndarray:
    """A Vec's entries as a numpy array (all of them, on every rank, when distributed).

    Examples
    --------
    >>> vec_to_numpy(to_petsc(np.array([1.0, 2.0])))
    array([1., 2.])
    """
    if not isinstance(v, PETSc.Vec):
        raise TypeError(f"expected a PETSc Vec, got {type(v).__name__}")
    if v.getComm().getSize() == 1:
        return np.array(v.getArray(readonly=True), dtype=np.float64)
    scatter, full = PETSc.Scatter.toAll(v)
    try:
        scatter.scatter(v, full, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
        return np.array(full.getArray(readonly=True), dtype=np.float64)
    finally:
        scatter.destroy()
        full.destroy()


def to_host(obj: Any, name: str = "A") -> Any:
    """A PETSc Mat as scipy CSR (:func:`mat_to_csr`), a Vec as numpy (:func:`vec_to_numpy`).

    Examples
    --------
    >>> to_host(to_petsc(np.ones(3)), "b")
    array([1., 1., 1.])
    """
    if isinstance(obj, PETSc.Mat):
        return mat_to_csr(obj, name)
    if isinstance(obj, PETSc.Vec):
        return vec_to_numpy(obj)
    raise TypeError(
        f"{name} is a {type(obj).__name__}; from PETSc, unisolve takes an assembled AIJ Mat "
        "and Vecs"
    )


def _ownership(n: int, comm: PETSc.Comm) -> tuple[int, int]:
    """PETSc's default split of n rows over the ranks of comm: this rank's [lo, hi)."""
    v = PETSc.Vec().createMPI(n, comm=comm)
    try:
        return v.getOwnershipRange()
    finally:
        v.destroy()


def to_petsc(x: Any, comm: PETSc.Comm | None = None) -> PETSc.Mat | PETSc.Vec:
    """A scipy / numpy matrix as an assembled AIJ Mat, a 1-D array as a Vec.

    Parameters
    ----------
    x : scipy sparse matrix, 2-D or 1-D array
        The same data on every rank.
    comm : PETSc.Comm, optional
        Communicator (default ``COMM_SELF``: a sequential object). With several
        ranks each keeps its rows of PETSc's default split.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> A = to_petsc(sp.identity(3, format="csr"))
    >>> A.getType(), A.getSize(), A.isAssembled()
    ('seqaij', (3, 3), True)
    """
    comm = PETSc.COMM_SELF if comm is None else comm
    if sp.issparse(x) or (isinstance(x, np.ndarray) and x.ndim == 2):
        A = sp.csr_array(x, dtype=np.float64)
        A.sum_duplicates()
        A.sort_indices()
        n_rows, n_cols = A.shape
        local, size = A, (n_rows, n_cols)
        if comm.getSize() > 1:  # this rank's rows of PETSc's default split
            (lo, hi), (clo, chi) = _ownership(n_rows, comm), _ownership(n_cols, comm)
            local, size = A[lo:hi], ((hi - lo, n_rows), (chi - clo, n_cols))
        indptr = local.indptr.astype(PETSc.IntType)
        indices = local.indices.astype(PETSc.IntType)
        mat = PETSc.Mat().createAIJ(size=size, csr=(indptr, indices, local.data), comm=comm)
        mat.assemble()
        return mat
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"to_petsc takes a matrix or a 1-D vector, got shape {arr.shape}")
    lo, hi = _ownership(arr.size, comm) if comm.getSize() > 1 else (0, arr.size)
    v = PETSc.Vec().createMPI((hi - lo, arr.size), comm=comm)
    v.setArray(arr[lo:hi])
    return v


def vec_like(x: np.ndarray, template: PETSc.Vec) -> PETSc.Vec:
    """A new Vec with ``template``'s layout holding the (global) numpy vector ``x``.

    Examples
    --------
    >>> b = to_petsc(np.zeros(3))
    >>> vec_like(np.array([1.0, 2.0, 3.0]), b).getArray()
    array([1., 2., 3.])
    """
    v = template.duplicate()
    lo, hi = v.getOwnershipRange()
    v.setArray(np.asarray(x, dtype=np.float64)[lo:hi])
    return v

"""The one place that knows which array library an input belongs to.

numpy / scipy.sparse inputs run on the CPU (numba kernels where loops are hot),
cupy / cupyx.scipy.sparse inputs run on the GPU, torch tensors on their device.
PETSc ``Mat`` / ``Vec`` objects (petsc4py) are turned into scipy / numpy data
by :mod:`unisolve.petsc_convert` (ground floor, not interop) and solutions are
handed back as ``Vec``.
Nothing here imports cupy, torch or petsc4py unless the caller already handed
us one of their objects, so ``import unisolve`` stays light.

Examples
--------
>>> import numpy as np
>>> from unisolve import backend
>>> backend.library_of(np.zeros(3))
'numpy'
>>> backend.namespace(np.zeros(3)).__name__
'array_api_compat.numpy'
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "all_finite",
    "is_cupy",
    "is_cupy_sparse",
    "is_petsc",
    "is_torch",
    "library_of",
    "namespace",
    "norm",
    "to_numpy",
]


def _module_root(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def is_cupy(x: Any) -> bool:
    """True for a CuPy ndarray (never imports cupy)."""
    return _module_root(x) == "cupy" and hasattr(x, "__cuda_array_interface__")


def is_cupy_sparse(A: Any) -> bool:
    """True for a ``cupyx.scipy.sparse`` matrix (never imports cupy)."""
    return _module_root(A) == "cupyx" and hasattr(A, "tocsr")


def is_torch(x: Any) -> bool:
    """True for a ``torch.Tensor`` (never imports torch)."""
    return "torch" in sys.modules and _module_root(x) == "torch"


def is_petsc(x: Any) -> bool:
    """True for a petsc4py object (``PETSc.Mat``, ``PETSc.Vec``; never imports petsc4py)."""
    return _module_root(x) == "petsc4py"


def petsc_to_host(x: Any, name: str) -> Any:
    """A PETSc Mat as a scipy CSR matrix, a Vec as a numpy array (gathered on every rank)."""
    from . import petsc_convert

    return petsc_convert.to_host(x, name)


def petsc_vec_like(x: Any, template: Any) -> Any:
    """``x`` as a PETSc Vec laid out like ``template`` (x itself when it already is one)."""
    if is_petsc(x):
        return x
    from . import petsc_convert

    return petsc_convert.vec_like(to_numpy(x), template)


def library_of(x: Any) -> str:
    """'numpy', 'cupy' or 'torch': the library whose device the input lives on.

    scipy.sparse matrices and plain numpy arrays are 'numpy'; cupyx sparse
    matrices are 'cupy'.
    """
    if is_cupy(x) or is_cupy_sparse(x):
        return "cupy"
    if is_torch(x):
        return "torch"
    return "numpy"


def namespace(*arrays: Any):
    """Array-API namespace of the arrays (``array_api_compat.array_namespace``)."""
    import array_api_compat

    return array_api_compat.array_namespace(*arrays)


def working_vectors(A: Any, b: Any, x: Any) -> tuple[Any, Any, bool]:
    """``(b, x, host)``: numpy b and x cast to the common dtype of A and b.

    ``host`` is True for float64 numpy vectors, the case the numba kernels
    serve (b then comes back C-contiguous, as they need); other libraries'
    arrays come back unchanged with ``host=False``.

    Examples
    --------
    >>> import numpy as np
    >>> b, x, host = working_vectors(np.eye(2), np.ones(2, dtype=np.float32), np.zeros(2))
    >>> b.dtype, x.dtype, host
    (dtype('float64'), dtype('float64'), True)
    """
    if library_of(b) != "numpy":
        return b, x, False
    dtype = np.result_type(b.dtype, getattr(A, "dtype", b.dtype))
    b, x, host = b.astype(dtype, copy=False), x.astype(dtype, copy=False), dtype == np.float64
    return (np.ascontiguousarray(b) if host else b), x, host


def to_numpy(x: Any) -> np.ndarray:
    """Copy any supported array to a host numpy array."""
    if is_cupy(x):
        return x.get()
    if is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def norm(x: Any) -> float:
    """Euclidean norm as a Python float, for any supported array."""
    if is_cupy(x):
        import cupy

        return float(cupy.linalg.norm(x))
    if is_torch(x):
        import torch

        return float(torch.linalg.vector_norm(x))
    return float(np.linalg.norm(x))


def all_finite(x: Any) -> bool:
    """True when a dense array or the stored entries of a sparse matrix are finite."""
    if sp.issparse(x):
        return bool(np.isfinite(x.data).all())
    if is_cupy_sparse(x):
        import cupy

        return bool(cupy.isfinite(x.data).all())
    if is_cupy(x):
        import cupy

        return bool(cupy.isfinite(x).all())
    if is_torch(x):
        import torch

        if x.layout != torch.strided:  # sparse COO / CSR: check the stored values
            x = x.coalesce().values() if x.layout == torch.sparse_coo else x.values()
        return bool(torch.isfinite(x).all())
    return bool(np.isfinite(x).all())

"""Linear systems ``A x = b`` and sequences of related ones.

:class:`LinearProblem` validates its input once, here, so that no solver ever
meets a non-square matrix, a right-hand side of the wrong length or a NaN deep
inside a kernel. :class:`LinearSequence` describes T related systems
``A_t x_t = b_t`` produced one at a time (instance ``t`` may depend on the
solution of instance ``t - 1``, as in time stepping).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import backend

__all__ = ["LinearProblem", "LinearSequence", "Stencil"]


@dataclass(frozen=True)
class Stencil:
    """Constant-coefficient star stencil: the 5-point (2D) or 7-point (3D) matrix.

    Row ``i`` of the matrix is ``diagonal * x_i + offdiagonal * sum(x_j)`` over the
    grid neighbours ``j`` of ``i``, with homogeneous Dirichlet data outside the grid.
    Unknowns are numbered in C (row-major) order of ``shape``.

    Examples
    --------
    >>> s = Stencil(shape=(3, 3), diagonal=4.0, offdiagonal=-1.0)
    >>> s.to_csr().toarray()[4]
    array([ 0., -1.,  0., -1.,  4., -1.,  0., -1.,  0.])
    """

    shape: tuple
    diagonal: float
    offdiagonal: float

    def __post_init__(self) -> None:
        if len(self.shape) not in (2, 3):
            raise ValueError(f"Stencil shape must be 2D or 3D, got {self.shape}")

    def to_csr(self) -> sp.csr_array:
        """Assemble the stencil as a scipy CSR matrix (natural ordering)."""
        eyes = [sp.identity(m, format="csr") for m in self.shape]
        total = None
        for axis, m in enumerate(self.shape):
            path = sp.diags([np.ones(m - 1), np.ones(m - 1)], [-1, 1], format="csr")
            factors = [path if k == axis else eyes[k] for k in range(len(self.shape))]
            term = factors[0]
            for f in factors[1:]:
                term = sp.kron(term, f, format="csr")
            total = term if total is None else total + term
        n = int(np.prod(self.shape))
        A = self.offdiagonal * total + self.diagonal * sp.identity(n, format="csr")
        return sp.csr_array(A)


def _as_matrix(A: Any) -> Any:
    """Normalise A: scipy sparse → CSR, lists → ndarray; integer → float64."""
    if isinstance(A, spla.LinearOperator):
        return A
    if sp.issparse(A):
        A = sp.csr_array(A) if not isinstance(A, sp.csr_array) else A
        if A.dtype.kind in "biu":
            A = A.astype(np.float64)
    elif backend.is_cupy_sparse(A):
        A = A.tocsr()
    elif backend.is_cupy(A) or backend.is_torch(A):
        pass
    else:
        A = np.asarray(A)
        if A.dtype.kind in "biu":
            A = A.astype(np.float64)
    kind = _dtype_kind(A)
    if kind == "c":
        raise TypeError(
            "complex matrices are not supported yet: split into real and imaginary "
            "parts or solve the real 2n x 2n system"
        )
    if kind != "f":
        raise TypeError(f"A must hold real floating-point numbers, got dtype {A.dtype}")
    return A


def _dtype_kind(a: Any) -> str:
    """numpy-style dtype kind ('f', 'c', 'i', ...) of any supported array."""
    if backend.is_torch(a):
        if a.dtype.is_complex:
            return "c"
        return "f" if a.dtype.is_floating_point else "i"
    return np.dtype(getattr(a, "dtype", np.float64)).kind


def _as_vector(v: Any, n: int, name: str) -> Any:
    if backend.is_cupy(v) or backend.is_torch(v):
        if v.ndim == 2 and v.shape[1] == 1:
            v = v.reshape(-1)
    else:
        v = np.asarray(v)
        if v.dtype.kind in "biu":
            v = v.astype(np.float64)
        if v.ndim == 2 and v.shape[1] == 1:
            v = v.ravel()
        if v.dtype.kind == "c":
            raise TypeError(f"{name} is complex: complex systems are not supported yet")
        if v.dtype.kind not in "f":
            raise TypeError(f"{name} must hold real floating-point numbers, got {v.dtype}")
    if v.ndim != 1 or v.shape[0] != n:
        raise ValueError(
            f"{name} has shape {tuple(v.shape)} but A is {n} x {n}: pass a vector of "
            f"length {n}"
        )
    if not backend.all_finite(v):
        raise ValueError(f"{name} contains NaN or inf: clean the input before solving")
    return v


@dataclass
class LinearProblem:
    """The linear system ``A x = b``.

    Parameters
    ----------
    A : scipy.sparse matrix, ndarray, LinearOperator, cupy array / cupyx sparse, PETSc Mat
        Square matrix. scipy sparse input is stored as ``csr_array``. An
        assembled PETSc AIJ ``Mat`` (sequential or MPI) is stored as its scipy
        CSR copy (every rank holds the whole matrix) and kept, with the Vecs,
        in ``meta['petsc']`` for the ``petsc-*`` methods.
    b : array or PETSc Vec
        Right-hand side of length ``n``. When ``b`` is a PETSc Vec, solutions
        come back as Vecs laid out like it (see :meth:`output`).
    x0 : array, optional
        Initial guess (default zeros). Used as the warm start in sequences.
    exact : array, optional
        The known solution, when there is one (manufactured solutions).
    context : float, optional
        A scalar describing the instance (used by contextual learners).
    grid_shape : tuple, optional
        Shape of the grid the unknowns live on.
    stencil : Stencil, optional
        Set when ``A`` is a constant-coefficient 5/7-point stencil (enables the
        matrix-free red-black sweeps).
    mask : ndarray of bool, optional
        For grids with removed (solid) cells: True where an unknown lives.
    spd : bool, optional
        Whether A is known to be symmetric positive definite (None: unknown).
    name : str
        A short label.
    meta : dict
        Generator-specific facts (e.g. the pinned cell of a pressure problem).

    Raises
    ------
    ValueError
        Non-square A, b or x0 of the wrong length, NaN/inf in A, b or x0.
    TypeError
        Complex or non-numeric data.

    Examples
    --------
    >>> import numpy as np
    >>> p = LinearProblem(np.array([[4.0, 1.0], [1.0, 3.0]]), np.array([1.0, 2.0]))
    >>> p.n, p.kind
    (2, 'linear')
    >>> LinearProblem(np.ones((2, 3)), np.ones(2))
    Traceback (most recent call last):
    ...
    ValueError: A must be square, got shape (2, 3): a least-squares problem needs a different method
    """

    A: Any
    b: Any
    x0: Any = None
    exact: Any = None
    context: Any = None
    grid_shape: tuple | None = None
    stencil: Stencil | None = None
    mask: Any = None
    spd: bool | None = None
    name: str = ""
    meta: dict = field(default_factory=dict)

    kind = "linear"

    def __post_init__(self) -> None:
        handles = {name: getattr(self, name) for name in ("A", "b", "x0", "exact")
                   if backend.is_petsc(getattr(self, name))}
        if handles:  # PETSc Mat / Vec in: scipy / numpy copies here, the handles in meta
            self.meta = {**self.meta, "petsc": handles}
            for name, obj in handles.items():
                setattr(self, name, backend.petsc_to_host(obj, name))
        self.A = _as_matrix(self.A)
        shape = tuple(self.A.shape)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError(
                f"A must be square, got shape {shape}: a least-squares problem needs "
                "a different method"
            )
        n = shape[0]
        if not isinstance(self.A, spla.LinearOperator) and not backend.all_finite(self.A):
            raise ValueError("A contains NaN or inf: clean the matrix before solving")
        self.b = _as_vector(self.b, n, "b")
        if self.x0 is not None:
            self.x0 = _as_vector(self.x0, n, "x0")
        if self.exact is not None:
            self.exact = _as_vector(self.exact, n, "exact")

    @property
    def n(self) -> int:
        """Number of unknowns."""
        return int(self.A.shape[0])

    def initial_guess(self, x0: Any = None) -> Any:
        """A fresh, writable copy of the starting vector: ``x0``, else ``self.x0``, else 0.

        The copy has b's array type, device and (floating) dtype.

        Examples
        --------
        >>> import numpy as np
        >>> p = LinearProblem(np.eye(2), np.ones(2))
        >>> p.initial_guess(), p.initial_guess([1, 2])
        (array([0., 0.]), array([1., 2.]))
        """
        start = x0 if x0 is not None else self.x0
        if start is None:
            if backend.is_cupy(self.b) or backend.is_torch(self.b):
                return self.b * 0
            return np.zeros(self.n, dtype=self.b.dtype)
        start = _as_vector(start, self.n, "x0")
        if backend.is_cupy(start):
            return start.astype(self.b.dtype, copy=True)
        if backend.is_torch(start):
            return start.clone().to(self.b.dtype)
        return np.array(start, dtype=self.b.dtype, copy=True)

    def output(self, x: Any) -> Any:
        """A solution in the input's form: a PETSc Vec laid out like ``b`` if b was one.

        Examples
        --------
        >>> import numpy as np
        >>> p = LinearProblem(np.eye(2), np.ones(2))
        >>> p.output(np.array([1.0, 1.0]))
        array([1., 1.])
        """
        handles = self.meta.get("petsc", {})
        if "b" in handles:
            return backend.petsc_vec_like(x, handles["b"])
        return x

    def to_grid(self, x: Any) -> np.ndarray:
        """Lay a solution vector out on ``grid_shape`` (NaN in removed cells).

        Examples
        --------
        >>> import unisolve as us
        >>> p = us.problems.poisson2d(4)
        >>> p.to_grid(p.exact).shape
        (4, 4)
        """
        if self.grid_shape is None:
            raise ValueError("this problem has no grid_shape: it is not a grid problem")
        x = backend.to_numpy(x)
        if self.mask is None:
            return x.reshape(self.grid_shape)
        grid = np.full(self.grid_shape, np.nan)
        grid[self.mask] = x
        return grid


@dataclass
class LinearSequence:
    """T related linear systems, produced one at a time.

    ``instance(t, previous)`` returns the ``t``-th :class:`LinearProblem`;
    ``previous`` is the solution of instance ``t - 1`` (None for ``t = 0``).
    When ``warm_start`` is True the instance carries ``previous`` as its ``x0``
    (and, for time stepping, builds ``b_t`` from it).

    ``len(seq)`` is T and ``for problem in seq`` yields the T instances *cold*:
    each is ``instance(t, None)``, built without a previous solution. For
    independent systems (``shifted_laplacian_sequence``) that is the whole story;
    for time stepping (``heat_sequence``, ``convection_diffusion_sequence``) a cold
    instance builds its right-hand side from the initial state, not from the
    previous step's solution, so the loop does not follow the trajectory. To
    follow it, solve the whole sequence (``us.solve(seq, ...)``, which feeds each
    solution to the next instance) or call ``instance(t, previous)`` yourself.

    Examples
    --------
    >>> import unisolve as us
    >>> seq = us.problems.shifted_laplacian_sequence(T=4, seed=1)
    >>> len(seq), seq.instance(0).n, seq.context_range
    (4, 100, (-0.15, 0.45))
    >>> [us.solve(p, method="cg").status.name for p in seq]      # cold instances
    ['CONVERGED', 'CONVERGED', 'CONVERGED', 'CONVERGED']
    >>> x = None                                                  # warm: follow a trajectory
    >>> for t in range(len(seq)):
    ...     x = us.solve(seq.instance(t, x), method="cg").x
    """

    length: int
    make_instance: Callable[[int, Any], LinearProblem]
    warm_start: bool = False
    name: str = ""
    contexts: Sequence[float] | None = None
    context_range: tuple | None = None
    meta: dict = field(default_factory=dict)

    kind = "linear-sequence"

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[LinearProblem]:
        """The T instances in order, each built cold: ``instance(t, None)``.

        Examples
        --------
        >>> import unisolve as us
        >>> seq = us.problems.shifted_laplacian_sequence(T=3, seed=0)
        >>> [p.n for p in seq]
        [100, 100, 100]
        """
        for t in range(self.length):
            yield self.instance(t, None)

    def instance(self, t: int, previous: Any = None) -> LinearProblem:
        """The ``t``-th system; ``previous`` is the solution of system ``t - 1``."""
        if not 0 <= t < self.length:
            raise IndexError(f"instance {t} out of range for a sequence of {self.length}")
        return self.make_instance(t, previous)

    def reference(self) -> list[np.ndarray]:
        """Solutions of every instance by a sparse direct solve (SuperLU), in order.

        Each solution is fed to the next instance, so for time stepping this is
        the trajectory an exact linear solver would produce.
        """
        xs: list[np.ndarray] = []
        prev = None
        for t in range(self.length):
            p = self.instance(t, prev)
            A = sp.csc_array(p.A) if sp.issparse(p.A) else p.A
            prev = spla.spsolve(A, p.b) if sp.issparse(A) else np.linalg.solve(A, p.b)
            xs.append(prev)
        return xs

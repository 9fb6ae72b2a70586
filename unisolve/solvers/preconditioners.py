"""Preconditioners for the Krylov methods: each is a callable ``z = M⁻¹ r`` with a ``name``.

    name    M                                       z = M⁻¹ r
    jacobi  D                                       D⁻¹ r
    ssor    (D + ωL) D⁻¹ (D + ωU) / (ω(2 − ω))      symmetric SOR sweep on A z = r from z = 0
    sor     (D + ωL) / ω  (nonsymmetric)            forward SOR sweep on A z = r from z = 0
    ic0     L Lᵀ, zero-fill incomplete Cholesky     L⁻ᵀ (L⁻¹ r)
    ilu0    L U, zero-fill incomplete LU            U⁻¹ (L⁻¹ r)
    ilut    L U, threshold ILU with pivoting        scipy's spilu (SuperLU)
    amg     one AMG V-cycle (pyamg) from z = 0: smoothed aggregation for symmetric A,
            root-node aggregation (symmetry='nonsymmetric') otherwise

For CG (``pcg``) and MINRES, M must be SPD: jacobi (positive diagonal), ssor, ic0
and amg on an SPD A. sor, ilu0 and ilut are nonsymmetric preconditioners for
``gmres`` and ``bicgstab``, which take every name here.

Here A = L + D + U (strictly lower, diagonal, strictly upper). That one
symmetric SOR sweep from zero applies exactly the SSOR ``M⁻¹`` is the classical
identity behind SSOR preconditioning (Axelsson 1972; Saad, *Iterative Methods
for Sparse Linear Systems*, 2nd ed., §10.2). A user may pass any callable
``r -> M⁻¹ r`` or a scipy ``LinearOperator`` instead of a name; M must be SPD
for PCG.

Examples
--------
>>> import numpy as np, unisolve as us
>>> p = us.problems.poisson2d(8)
>>> M = make_preconditioner("jacobi", p.A)
>>> M.name, bool(np.allclose(M(p.b), p.b / 4.0))
('jacobi', True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import backend
from .kernels.ic0 import ic0_factor, solve_lower, solve_upper
from .kernels.ilu0 import ilu0_factor
from .kernels.sor_csr import inverse_diagonal, sor_sweep

__all__ = [
    "PRECONDITIONERS",
    "AMGPreconditioner",
    "CallablePreconditioner",
    "IC0Preconditioner",
    "ILU0Preconditioner",
    "ILUTPreconditioner",
    "JacobiPreconditioner",
    "SORPreconditioner",
    "SSORPreconditioner",
    "check_ssor_omega",
    "make_preconditioner",
]

#: Preconditioner names accepted by ``make_preconditioner`` (``pcg`` needs an SPD one).
PRECONDITIONERS = ("jacobi", "ssor", "sor", "ic0", "ilu0", "ilut", "amg")


def _host_csr(A: Any, name: str) -> sp.csr_array:
    """A as a float64 scipy CSR matrix; ValueError for inputs without stored entries."""
    if isinstance(A, spla.LinearOperator):
        raise ValueError(
            f"preconditioner {name!r} needs the entries of A, but A is a LinearOperator: "
            "pass A as a sparse or dense matrix, or pass preconditioner=<callable r -> M⁻¹r>"
        )
    if backend.library_of(A) != "numpy":
        raise ValueError(
            f"preconditioner {name!r} runs on the CPU only, but A is a {backend.library_of(A)} "
            "array: use preconditioner='jacobi' on the GPU, or move A and b to numpy/scipy"
        )
    return sp.csr_array(A, dtype=np.float64)


class JacobiPreconditioner:
    """``z = D⁻¹ r`` with D the diagonal of A (any backend with ``A.diagonal()``).

    Examples
    --------
    >>> import numpy as np
    >>> M = JacobiPreconditioner(np.array([[2.0, 1.0], [1.0, 4.0]]))
    >>> M(np.array([2.0, 2.0]))
    array([1. , 0.5])
    """

    name = "jacobi"

    def __init__(self, A: Any) -> None:
        if isinstance(A, spla.LinearOperator):
            raise ValueError(
                "preconditioner 'jacobi' needs the diagonal of A, but A is a LinearOperator: "
                "pass preconditioner=<callable r -> r / diag(A)> instead"
            )
        d = A.diagonal()
        if backend.library_of(d) == "numpy":
            d = np.asarray(d, dtype=np.float64)
        if not bool((d != 0).all()):
            raise ValueError(
                "preconditioner 'jacobi' divides by diag(A), which has a zero: use "
                "preconditioner='amg' or method='cg'"
            )
        self.inv_diag = 1.0 / d

    def __call__(self, r: Any) -> Any:
        return self.inv_diag * r  # z = D⁻¹ r


def check_ssor_omega(omega: Any) -> float:
    """ω as a float in (0, 2), the range where SSOR is an SPD preconditioner.

    Raises ``TypeError`` for a non-number and ``ValueError`` outside (0, 2).

    Examples
    --------
    >>> check_ssor_omega(1.5)
    1.5
    """
    if isinstance(omega, bool) or not isinstance(omega, (int, float, np.floating)):
        raise TypeError(f"omega must be a number in (0, 2), got {omega!r}")
    if not 0.0 < float(omega) < 2.0:
        raise ValueError(
            f"omega must lie in (0, 2) for SSOR to be a convergent, SPD preconditioner, "
            f"got {omega!r}"
        )
    return float(omega)


class SSORPreconditioner:
    """``z = M⁻¹ r``, ``M = (D + ωL) D⁻¹ (D + ωU) / (ω(2 − ω))``: one SSOR sweep from 0.

    Parameters
    ----------
    A : scipy sparse or dense matrix
        Symmetric with a nonzero diagonal (M is then SPD when A is).
    omega : float
        Relaxation weight in (0, 2).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, -1.0], [-1.0, 4.0]])
    >>> D, L, U = np.diag(np.diag(A)), np.tril(A, -1), np.triu(A, 1)
    >>> w = 1.2
    >>> M = (D + w * L) @ np.linalg.inv(D) @ (D + w * U) / (w * (2 - w))
    >>> r = np.array([1.0, 2.0])
    >>> bool(np.allclose(SSORPreconditioner(A, omega=w)(r), np.linalg.solve(M, r)))
    True
    """

    name = "ssor"

    def __init__(self, A: Any, omega: float = 1.0) -> None:
        self.omega = check_ssor_omega(omega)
        self.A = _host_csr(A, "ssor")
        self.inv_diag = inverse_diagonal(self.A)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        r = np.ascontiguousarray(r, dtype=np.float64)
        z = np.zeros_like(r)
        # forward then backward SOR sweep on A z = r from z = 0  ⇔  z = M_SSOR⁻¹ r
        sor_sweep(self.A, z, r, self.omega, sweep="symmetric", inv_diag=self.inv_diag)
        return z


class SORPreconditioner:
    """``z = M⁻¹ r = ω (D + ωL)⁻¹ r``: one forward SOR sweep on A z = r from z = 0.

    Not symmetric: for ``gmres`` and ``bicgstab``, not for CG.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, -1.0], [-2.0, 4.0]])
    >>> w, r = 1.3, np.array([1.0, 2.0])
    >>> M = (np.diag(np.diag(A)) + w * np.tril(A, -1)) / w
    >>> bool(np.allclose(SORPreconditioner(A, omega=w)(r), np.linalg.solve(M, r)))
    True
    """

    name = "sor"

    def __init__(self, A: Any, omega: float = 1.0) -> None:
        self.omega = check_ssor_omega(omega)
        self.A = _host_csr(A, "sor")
        self.inv_diag = inverse_diagonal(self.A)

    def __call__(self, r: np.ndarray) -> np.ndarray:
        r = np.ascontiguousarray(r, dtype=np.float64)
        z = np.zeros_like(r)
        # x_i ← x_i + ω (r_i − Σ_j a_ij x_j) / a_ii from x = 0, i = 1..n  ⇔  z = ω (D + ωL)⁻¹ r
        sor_sweep(self.A, z, r, self.omega, sweep="forward", inv_diag=self.inv_diag)
        return z


class ILU0Preconditioner:
    """``z = U⁻¹ L⁻¹ r`` with ``A ≈ L U`` the zero-fill ILU (:mod:`.kernels.ilu0`).

    Factorised once at construction (numba, O(nnz · row length)); each apply is
    one compiled forward + backward substitution, about half of PETSc's PCILU
    apply on 2D convection–diffusion 512² (:mod:`.kernels.ilu0`). ``M(r, out=z)``
    writes into a buffer. A vanishing pivot or a diagonal entry missing from
    A's pattern raises ``ValueError`` naming ``'ilut'`` and ``'amg'``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, -1.0], [-2.0, 4.0]])
    >>> bool(np.allclose(ILU0Preconditioner(A)(np.array([3.0, 2.0])), [1.0, 1.0]))
    True
    """

    name = "ilu0"

    def __init__(self, A: Any) -> None:
        self.factor = ilu0_factor(_host_csr(A, "ilu0"))

    def __call__(self, r: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return self.factor.solve(r, out=out)  # z = U⁻¹ (L⁻¹ r), into out if given


class ILUTPreconditioner:
    """Threshold ILU with pivoting: ``scipy.sparse.linalg.spilu`` (SuperLU's ILUTP).

    Parameters
    ----------
    A : matrix
        Square, nonsingular.
    drop_tol : float
        Entries below ``drop_tol`` (relative) are dropped; smaller keeps more fill.
    fill_factor : float
        At most ``fill_factor · nnz(A)`` entries in L + U.
    **options
        Passed to ``spilu`` (e.g. ``drop_rule``, ``permc_spec``, ``diag_pivot_thresh``).

    Pass an instance as ``preconditioner=`` for other parameters than the defaults
    of the name ``'ilut'``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.0, 2.0], [1.0, 1.0]])   # zero diagonal: ILU(0) fails, ILUT pivots
    >>> bool(np.allclose(ILUTPreconditioner(A)(np.array([2.0, 2.0])), [1.0, 1.0]))
    True
    """

    name = "ilut"

    def __init__(self, A: Any, drop_tol: float = 1e-4, fill_factor: float = 10.0,
                 **options: Any) -> None:
        if not drop_tol >= 0 or not fill_factor >= 1:
            raise ValueError(
                f"ilut needs drop_tol >= 0 and fill_factor >= 1, got drop_tol={drop_tol!r}, "
                f"fill_factor={fill_factor!r}"
            )
        A = sp.csc_array(_host_csr(A, "ilut"))
        try:
            self.ilu = spla.spilu(A, drop_tol=drop_tol, fill_factor=fill_factor, **options)
        except RuntimeError as err:  # SuperLU: "Factor is exactly singular"
            raise ValueError(
                f"ILUT failed ({err}): A looks singular to SuperLU; try a smaller drop_tol, "
                "preconditioner='amg', or no preconditioner"
            ) from None
        self.drop_tol, self.fill_factor = drop_tol, fill_factor

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self.ilu.solve(np.asarray(r, dtype=np.float64))


class IC0Preconditioner:
    """``z = (L Lᵀ)⁻¹ r`` with L the zero-fill incomplete Cholesky factor of A.

    Raises ``ValueError`` (suggesting 'jacobi' or 'amg') when IC(0) breaks down.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[4.0, -1.0], [-1.0, 4.0]])
    >>> bool(np.allclose(IC0Preconditioner(A)(np.array([3.0, 3.0])), [1.0, 1.0]))
    True
    """

    name = "ic0"

    def __init__(self, A: Any) -> None:
        self.L = ic0_factor(_host_csr(A, "ic0"))  # A ≈ L Lᵀ on the pattern of tril(A)
        self.U = sp.csr_array(self.L.T)  # Lᵀ as sorted CSR: diagonal first in each row
        self.U.sort_indices()

    def __call__(self, r: np.ndarray) -> np.ndarray:
        r = np.ascontiguousarray(r, dtype=np.float64)
        y = solve_lower(self.L, r)  # y = L⁻¹ r
        return solve_upper(self.U, y, out=y)  # z = L⁻ᵀ y


class AMGPreconditioner:
    """One AMG V-cycle: ``pyamg.smoothed_aggregation_solver(A)``, or root-node for A ≠ Aᵀ.

    A symmetric A (checked exactly, or ``symmetric=`` given) gets smoothed
    aggregation, an SPD preconditioner for CG. A nonsymmetric A gets PyAMG's
    root-node aggregation with ``symmetry='nonsymmetric'`` (``kind`` says which).
    The symmetry check is exact and done once (O(nnz)); ``symmetric=True`` or
    ``False`` skips it.

    Root-node rather than AIR (``pyamg.air_solver``), measured with GMRES(30),
    rtol 1e-8, on 2D upwind convection–diffusion 128² (AMD EPYC, busy 2-core
    machine, ``convection_diffusion_system(128, Pe)``):

        Péclet                   1      10     100
        root-node iterations     8       9       8   one V-cycle 0.9–1.6 ms (compiled)
        AIR iterations          22      20       6   one V-cycle 20–27 ms (pyamg's)

    Set-up took 0.2–0.7 s for either; set-up + solve was 0.19–0.73 s for
    root-node against 0.35–1.3 s for AIR at every Péclet number. AIR wins on
    iterations only in the strongly advective case (and its F/C-Jacobi cycle
    is not compiled here), so root-node is the default that never loses by much.

    The cycle runs in one numba call
    (:class:`~unisolve.solvers.kernels.amg_cycle.AMGCycle`, pyamg's V-cycle to
    rounding, about 2x faster) when the hierarchy has Gauss–Seidel smoothers and
    the 'pinv' coarse solver (pyamg's defaults, for smoothed aggregation and
    root-node alike: R is applied as stored, so R ≠ Pᵀ is reproduced too);
    otherwise (AIR's F/C-Jacobi, other smoothers) pyamg's own
    ``aspreconditioner``. ``kernel`` tells which: ``"numba"`` or ``"pyamg"``.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.poisson2d(16)
    >>> M = AMGPreconditioner(p.A)
    >>> z = M(p.b)
    >>> M.kernel
    'numba'
    >>> bool(np.linalg.norm(p.b - p.A @ z) < 0.5 * np.linalg.norm(p.b))
    True
    """

    name = "amg"

    def __init__(self, A: Any, symmetric: bool | None = None) -> None:
        import pyamg

        from .structure import csr_is_symmetric

        A = _host_csr(A, "amg")
        self.symmetric = csr_is_symmetric(A) if symmetric is None else bool(symmetric)
        # pyamg draws a start vector from numpy's global generator: seed it for a
        # reproducible hierarchy, and give the caller's state back afterwards
        state = np.random.get_state()  # noqa: NPY002
        np.random.seed(0)  # noqa: NPY002
        try:
            if self.symmetric:
                self.ml = pyamg.smoothed_aggregation_solver(A)
                self.kind = "smoothed-aggregation"
            else:  # see the class docstring for why root-node and not AIR
                self.ml = pyamg.rootnode_solver(A, symmetry="nonsymmetric")
                self.kind = "rootnode"
        finally:
            np.random.set_state(state)  # noqa: NPY002
        self.M = self.ml.aspreconditioner(cycle="V")
        from unisolve.solvers.kernels.amg_cycle import AMGCycle

        self.cycle = AMGCycle.from_pyamg(self.ml)  # None: a hierarchy it does not reproduce
        self.kernel = "pyamg" if self.cycle is None else "numba"

    def __call__(self, r: np.ndarray) -> np.ndarray:
        if self.cycle is not None and isinstance(r, np.ndarray) and r.dtype == np.float64:
            return self.cycle(r.ravel())
        return self.M.matvec(r)


class CallablePreconditioner:
    """Wrap a user's ``r -> M⁻¹ r`` callable (e.g. a LinearOperator's ``matvec``).

    Examples
    --------
    >>> import numpy as np
    >>> M = CallablePreconditioner(lambda r: r / 2, name="half")
    >>> M.name, M(np.array([2.0, 4.0]))
    ('half', array([1., 2.]))
    """

    def __init__(self, func: Callable[[Any], Any], name: str = "callable") -> None:
        self.func = func
        self.name = name

    def __call__(self, r: Any) -> Any:
        return checked_output(self.func(r), r, self.func)


def _label(func: Any) -> str:
    """A readable name of a user's callable for error messages."""
    owner = getattr(func, "__self__", None)  # a bound method, e.g. LinearOperator.matvec
    if owner is not None and not isinstance(owner, type(math)):  # (builtins: a module)
        return f"{type(owner).__name__}.{getattr(func, '__name__', 'matvec')}"
    return getattr(func, "__qualname__", None) or type(func).__name__


def checked_output(z: Any, r: Any, func: Any) -> Any:
    """``z = M⁻¹ r`` from a user's preconditioner, checked: r's shape, real floats.

    A list or an integer array is converted to r's dtype (numpy r); ``None``, a
    complex array, another shape or a non-numeric value raises an error that
    names the callable and what it must return. O(1) work besides a conversion.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.ones(3)
    >>> checked_output([1, 2, 3], r, abs)
    array([1., 2., 3.])
    >>> checked_output(r[:2], r, abs)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: preconditioner abs returned an array of shape (2,) for r of shape (3,): ...
    """
    shape = tuple(r.shape)
    expect = (f"it must return M⁻¹ r as a real floating-point array of r's shape {shape} "
              f"(dtype {r.dtype})")
    if z is None:
        raise TypeError(
            f"preconditioner {_label(func)} returned None for r of shape {shape}: {expect}; "
            "is a `return` missing?"
        )
    given = type(z).__name__
    if isinstance(r, np.ndarray):
        if not isinstance(z, np.ndarray):
            try:
                z = np.asarray(z)
            except (TypeError, ValueError) as err:
                raise TypeError(f"preconditioner {_label(func)} returned a "
                                f"{type(z).__name__}, not an array: {expect}") from err
        kind = z.dtype.kind
    elif backend.is_torch(r):
        kind = ("c" if z.dtype.is_complex else "f" if z.dtype.is_floating_point else "i"
                ) if backend.is_torch(z) else "O"
    else:
        kind = np.dtype(getattr(z, "dtype", object)).kind
    if kind == "c":
        raise TypeError(
            f"preconditioner {_label(func)} returned complex values ({z.dtype}): {expect}; "
            "return the real part if M is real, or use a real M"
        )
    if kind not in "fiub":
        raise TypeError(
            f"preconditioner {_label(func)} returned {given} (dtype "
            f"{getattr(z, 'dtype', None)}): {expect}"
        )
    if tuple(z.shape) != shape:
        fix = (f" (reshape it: z.reshape({shape}))" if math.prod(z.shape) == math.prod(shape)
               else "")
        raise ValueError(
            f"preconditioner {_label(func)} returned an array of shape {tuple(z.shape)} for r "
            f"of shape {shape}: {expect}{fix}"
        )
    if isinstance(z, np.ndarray):
        if kind != "f":
            z = z.astype(r.dtype)
        return np.ascontiguousarray(z)
    if kind != "f":
        z = z.to(r.dtype) if backend.is_torch(z) else z.astype(r.dtype)
    return z


def make_preconditioner(spec: Any, A: Any, *, omega: float = 1.0) -> Callable[[Any], Any]:
    """Build ``z = M⁻¹ r`` from a name, a callable or a ``LinearOperator``.

    Parameters
    ----------
    spec : {'jacobi', 'ssor', 'sor', 'ic0', 'ilu0', 'ilut', 'amg'}, callable or LinearOperator
        What to apply. A callable receives r and returns ``M⁻¹ r``; a
        LinearOperator is applied with ``.matvec``.
    A : matrix
        The system matrix the named preconditioners are built from.
    omega : float
        Relaxation weight for 'ssor' and 'sor'.

    Raises
    ------
    ValueError
        Unknown name (the message lists the choices), or one that cannot be
        built for this A.
    TypeError
        Anything that is neither a name, a callable nor a LinearOperator.

    Examples
    --------
    >>> import numpy as np
    >>> make_preconditioner("ilu", np.eye(2))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown preconditioner 'ilu'; choose one of 'jacobi', 'ssor', 'sor', 'ic0', ...
    >>> make_preconditioner(lambda r: r / 2, np.eye(2)).name
    'callable'
    """
    if isinstance(spec, str):
        if spec == "jacobi":
            return JacobiPreconditioner(A)
        if spec == "ssor":
            return SSORPreconditioner(A, omega=omega)
        if spec == "sor":
            return SORPreconditioner(A, omega=omega)
        if spec == "ilu0":
            return ILU0Preconditioner(A)
        if spec == "ilut":
            return ILUTPreconditioner(A)
        if spec == "ic0":
            return IC0Preconditioner(A)
        if spec == "amg":
            return AMGPreconditioner(A)
        raise ValueError(
            f"unknown preconditioner {spec!r}; choose one of "
            f"{', '.join(map(repr, PRECONDITIONERS))}, or pass a callable r -> M⁻¹ r "
            "or a scipy LinearOperator"
        )
    if isinstance(spec, spla.LinearOperator):
        if tuple(spec.shape) != tuple(A.shape):
            raise ValueError(
                f"preconditioner LinearOperator has shape {tuple(spec.shape)} but A is "
                f"{tuple(A.shape)}: M⁻¹ must be n x n"
            )
        return CallablePreconditioner(spec.matvec, name="LinearOperator")
    if callable(spec):
        name = getattr(spec, "name", None)
        return CallablePreconditioner(spec, name=name if isinstance(name, str) else "callable")
    raise TypeError(
        f"preconditioner must be one of {', '.join(map(repr, PRECONDITIONERS))}, a callable "
        f"r -> M⁻¹ r or a scipy LinearOperator, got {type(spec).__name__}"
    )

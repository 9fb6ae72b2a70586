"""Equality-constrained nonlinear programs: min f(x) subject to c(x) = 0.

The problem object carries callables for the objective ``f``, its gradient, the
constraints ``c``, their Jacobian ``G = ∂c/∂x`` and the Hessian of the Lagrangian

    L(x, λ) = f(x) + λᵀ c(x),      ∇²ₓL(x, λ) = ∇²f(x) + Σᵢ λᵢ ∇²cᵢ(x),

dense (numpy) or sparse (scipy), plus a start ``x0``, ``λ0`` and, where a
reference publishes it, the optimal value ``f_star``. The KKT residual
‖(∇ₓL, c)‖ is the measure every constrained method reports.

:func:`check_derivatives` compares the three derivative callables with central
finite differences; :func:`test_set` returns the hand-coded CUTEst / Hock–
Schittkowski problems (formulas, starts and optimal values from the published
definitions; :mod:`.cutest_hs`, :mod:`.cutest_bt` and :mod:`.cutest_misc` hold them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

__all__ = [
    "DerivativeCheck",
    "EqualityConstrainedProblem",
    "check_derivatives",
    "check_output",
    "register",
    "test_set",
]

_WHAT = {"f": "a real scalar (one float)", "grad": "a real vector", "c": "a real vector",
         "jac": "a real matrix (dense or scipy.sparse)",
         "hess_lag": "a real matrix (dense or scipy.sparse)"}


def _dense(M: Any) -> np.ndarray:
    return M.toarray() if sp.issparse(M) else np.asarray(M, dtype=float)


def check_output(name: str, value: Any, shape: tuple, where: str = "x") -> Any:
    """Check what a user callable returned: real numbers of the expected shape.

    Every constrained method calls this on each evaluation of ``f``, ``grad``,
    ``c``, ``jac`` and ``hess_lag`` (a shape test: cheap beside the evaluation).
    Finiteness is not checked here: a method reports NaN or inf as
    ``Status.NONFINITE`` (or shortens a line-search step).

    Parameters
    ----------
    name : {"f", "grad", "c", "jac", "hess_lag"}
        The callable, as the problem names it.
    value : any
        What it returned.
    shape : tuple
        The expected shape: ``()`` for f, ``(n,)``, ``(m,)``, ``(m, n)``, ``(n, n)``.
    where : str
        Where it was evaluated, for the message (e.g. ``"x0"``, ``"x"``).

    Returns
    -------
    float, ndarray or scipy.sparse.csr_array
        ``float`` for ``shape == ()``, else a float64 array (sparse input stays sparse).

    Raises
    ------
    TypeError
        ``None``, non-numeric or complex output.
    ValueError
        The wrong shape; the message names the callable, the returned and the
        expected shape.

    Examples
    --------
    >>> import numpy as np
    >>> check_output("f", np.float64(2.5), ())
    2.5
    >>> try:
    ...     check_output("f", np.ones(2), ())
    ... except ValueError as err:
    ...     print(str(err)[:52])
    f(x) returned an array of shape (2,), expected a rea
    """
    out = _real(name, value, shape, where)
    if out.shape != shape:
        kind = "a scalar" if out.shape == () else f"an array of shape {out.shape}"
        raise ValueError(f"{_label(name, where)} returned {kind}, expected "
                         f"{_WHAT.get(name, 'an array')} of shape {shape}: {name} must return "
                         "that for every x, not only at x0")
    return float(out) if shape == () else out


def _label(name: str, where: str) -> str:
    return f"hess_lag({where}, lam)" if name == "hess_lag" else f"{name}({where})"


def _real(name: str, value: Any, shape: Any, where: str) -> Any:
    """``value`` as float64 (dense array or CSR); TypeError naming the callable if it
    is None, non-numeric or complex. The shape is not checked here."""
    label = _label(name, where)
    expected = _WHAT.get(name, "an array")
    if sp.issparse(value):
        if np.iscomplexobj(value.data):
            raise TypeError(f"{label} returned complex entries, expected {expected}")
        out: Any = sp.csr_array(value, dtype=float)
    else:
        if value is None:
            raise TypeError(f"{label} returned None, expected {expected} of shape {shape} "
                            f"(did {name} forget to return its value?)")
        try:
            arr = np.asarray(value)
        except Exception as err:  # ragged lists and the like
            raise TypeError(f"{label} returned {type(value).__name__} that is not an array "
                            f"({err}), expected {expected} of shape {shape}") from None
        if np.iscomplexobj(arr):
            raise TypeError(f"{label} returned complex values, expected {expected}: the "
                            "problem must be real")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"{label} returned {type(value).__name__} of dtype {arr.dtype}, "
                            f"expected {expected} of shape {shape}")
        out = arr.astype(float, copy=False)
    return out


@dataclass
class EqualityConstrainedProblem:
    """min f(x) s.t. c(x) = 0, with first and second derivatives.

    Parameters
    ----------
    f : callable x -> float
    grad : callable x -> (n,) array
        ∇f(x).
    c : callable x -> (m,) array
    jac : callable x -> (m, n) array or sparse matrix
        G(x) = ∂c/∂x (row i is ∇cᵢ(x)ᵀ).
    hess_lag : callable (x, lam) -> (n, n) array or sparse matrix
        ∇²ₓL(x, λ) = ∇²f(x) + Σᵢ λᵢ ∇²cᵢ(x).
    x0 : (n,) array
        Start (the published one for test-set problems).
    lam0 : (m,) array, optional
        Start multipliers; default zeros.
    f_star : float, optional
        Published optimal objective value (None when none is published).
    x_star : (n,) array, optional
        A published minimiser, when one is.
    name, source : str
        Identification and where the formulas and ``f_star`` come from.

    The callables are checked once at ``x0``: output shapes must match ``n``
    and ``m``, values must be finite; anything else raises ``ValueError``
    naming the callable.

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems.constrained import EqualityConstrainedProblem
    >>> p = EqualityConstrainedProblem(          # min x² + y² s.t. x + y = 1
    ...     f=lambda x: x @ x, grad=lambda x: 2 * x,
    ...     c=lambda x: np.array([x.sum() - 1]), jac=lambda x: np.ones((1, 2)),
    ...     hess_lag=lambda x, lam: 2 * np.eye(2), x0=np.zeros(2), f_star=0.5)
    >>> p.n, p.m, p.kkt_residual(np.array([0.5, 0.5]), np.array([-1.0]))
    (2, 1, 0.0)
    """

    f: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    c: Callable[[np.ndarray], np.ndarray]
    jac: Callable[[np.ndarray], Any]
    hess_lag: Callable[[np.ndarray, np.ndarray], Any]
    x0: np.ndarray
    lam0: np.ndarray | None = None
    f_star: float | None = None
    x_star: np.ndarray | None = None
    name: str = ""
    source: str = ""
    meta: dict = field(default_factory=dict)

    kind = "constrained"

    def __post_init__(self) -> None:
        for label in ("f", "grad", "c", "jac", "hess_lag"):
            if not callable(getattr(self, label)):
                raise TypeError(f"{label} must be callable, got {type(getattr(self, label))}")
        x0 = np.asarray(self.x0, dtype=float)
        if x0.ndim != 1 or x0.size == 0:
            raise ValueError(f"x0 must be a non-empty 1-D array, got shape {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise ValueError("x0 holds NaN or inf: give a finite start point")
        self.x0 = x0
        n = x0.size
        c0 = _dense(_real("c", self.c(x0), "(m,)", "x0"))  # its length defines m
        if c0.ndim != 1 or c0.size == 0:
            raise ValueError(f"c(x0) must be a non-empty 1-D array, got shape {c0.shape}: "
                             "an equality-constrained problem needs m >= 1 constraints")
        m = c0.size
        lam0 = np.zeros(m) if self.lam0 is None else np.asarray(self.lam0, dtype=float)
        if lam0.shape != (m,):
            raise ValueError(f"lam0 must have shape ({m},) (one multiplier per constraint), "
                             f"got {lam0.shape}")
        self.lam0 = lam0
        checks = {
            "f(x0)": ("f", self.f(x0), ()),
            "grad(x0)": ("grad", self.grad(x0), (n,)),
            "c(x0)": ("c", c0, (m,)),
            "jac(x0)": ("jac", self.jac(x0), (m, n)),
            "hess_lag(x0, lam0)": ("hess_lag", self.hess_lag(x0, lam0), (n, n)),
        }
        for label, (name, raw, shape) in checks.items():
            value = _dense(_real(name, raw, shape, "x0"))  # TypeError: None, str, complex
            if value.shape != shape:
                raise ValueError(f"{label} has shape {value.shape}, expected {shape} "
                                 f"(n = {n} variables, m = {m} constraints)")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{label} is not finite (NaN or inf at the start point)")
        if self.x_star is not None:
            self.x_star = np.asarray(self.x_star, dtype=float)
            if self.x_star.shape != (n,):
                raise ValueError(f"x_star must have shape ({n},), got {self.x_star.shape}")
        if self.f_star is not None:
            self.f_star = float(self.f_star)

    @property
    def n(self) -> int:
        """Number of variables."""
        return self.x0.size

    @property
    def m(self) -> int:
        """Number of equality constraints."""
        return self.lam0.size

    def lagrangian_grad(self, x: np.ndarray, lam: np.ndarray) -> np.ndarray:
        """∇ₓL(x, λ) = ∇f(x) + G(x)ᵀλ (outputs checked by :func:`check_output`)."""
        g = check_output("grad", self.grad(x), (self.n,))
        return g + check_output("jac", self.jac(x), (self.m, self.n)).T @ lam

    def kkt_residual(self, x: np.ndarray, lam: np.ndarray) -> float:
        """‖(∇ₓL(x, λ), c(x))‖₂, zero exactly at a KKT point."""
        r = np.concatenate([self.lagrangian_grad(x, lam),
                            check_output("c", self.c(x), (self.m,))])
        return float(np.linalg.norm(r))

    @classmethod
    def from_callables(cls, f: Callable, c: Callable, x0: Any, *,
                       derivatives: str = "autograd", lam0: Any = None,
                       f_star: float | None = None, x_star: Any = None, name: str = "",
                       source: str = "", meta: dict | None = None
                       ) -> EqualityConstrainedProblem:
        """min f(x) s.t. c(x) = 0 from f and c alone: the derivatives are made for you.

        With ``derivatives="autograd"`` (default) torch computes ∇f, the Jacobian
        G = ∂c/∂x and the Hessian of the Lagrangian ∇²ₓL(x, λ) = ∇²f + Σᵢ λᵢ∇²cᵢ
        exactly (to rounding); ``f`` and ``c`` then receive a 1-D float64 torch tensor
        and must be written with torch operations (``torch.exp``, ``x @ x``, ``x[0]``);
        ``c`` returns a tensor or a list of scalars. ``derivatives="fd"`` uses central
        differences of ``f`` and ``c`` called on numpy arrays instead (steps
        ε^{1/3}·max(1, |xᵢ|) for first and ε^{1/4}·max(1, |xᵢ|) for second derivatives;
        see :mod:`unisolve.problems.autodiff`), for callables torch cannot trace.

        Parameters
        ----------
        f : callable x -> scalar
        c : callable x -> (m,) vector
        x0 : (n,) array
            Start.
        derivatives : {"autograd", "fd"}
        lam0, f_star, x_star, name, source, meta
            As for the class.

        Returns
        -------
        EqualityConstrainedProblem
            ``meta["derivatives"]`` records the mode.

        Examples
        --------
        >>> import numpy as np, torch
        >>> import unisolve as us
        >>> from unisolve.problems.constrained import EqualityConstrainedProblem
        >>> p = EqualityConstrainedProblem.from_callables(   # HS7, written once in torch
        ...     f=lambda x: torch.log1p(x[0] ** 2) - x[1],
        ...     c=lambda x: [(1 + x[0] ** 2) ** 2 + x[1] ** 2 - 4], x0=[2.0, 2.0])
        >>> p.jac(np.array([1.0, 1.0]))
        array([[8., 2.]])
        >>> r = us.solve(p, method="newton-kkt")           # f* = −√3 at (0, √3)
        >>> r.converged, bool(abs(p.f(r.x) + np.sqrt(3)) < 1e-6)
        (True, True)
        """
        from .autodiff import derivatives as make

        x0 = np.asarray(x0, dtype=float)
        if x0.ndim != 1 or x0.size == 0:
            raise ValueError(f"x0 must be a non-empty 1-D array, got shape {x0.shape}")
        for label, fun in (("f", f), ("c", c)):
            if not callable(fun):
                raise TypeError(f"{label} must be callable, got {type(fun).__name__}")
        d = make(f, c, x0.size, derivatives)
        return cls(f=d["f"], grad=d["grad"], c=d["c"], jac=d["jac"], hess_lag=d["hess_lag"],
                   x0=x0, lam0=lam0, f_star=f_star, x_star=x_star, name=name, source=source,
                   meta={**(meta or {}), "derivatives": derivatives})

    def __repr__(self) -> str:
        return (f"EqualityConstrainedProblem({self.name or 'unnamed'}, n={self.n}, m={self.m}"
                + (f", f*={self.f_star:.10g}" if self.f_star is not None else "") + ")")


# ----------------------------------------------------------------------------- derivative check
@dataclass
class DerivativeCheck:
    """Relative errors of the derivative callables against central differences."""

    grad: float
    jac: float
    hess_lag: float
    x: np.ndarray
    lam: np.ndarray

    def ok(self, tol: float = 1e-5) -> bool:
        """All three relative errors at most ``tol``."""
        return max(self.grad, self.jac, self.hess_lag) <= tol


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(1.0, np.linalg.norm(b)))


def check_derivatives(problem: EqualityConstrainedProblem, x: np.ndarray | None = None,
                      lam: np.ndarray | None = None, h: float = 1e-6,
                      seed: int = 0) -> DerivativeCheck:
    """Compare grad, jac and hess_lag with central finite differences.

    Central differences of f, c and ∇ₓL along each coordinate (step ``h``
    scaled by ``max(1, |xᵢ|)``); errors are ‖analytic − FD‖ / max(1, ‖FD‖).
    The default point is ``x0`` plus a seeded perturbation of relative size
    1e-2 (a start point often sits on a symmetry where mistakes cancel), and
    the default multipliers are seeded standard normals.

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems.constrained import EqualityConstrainedProblem, check_derivatives
    >>> p = EqualityConstrainedProblem(
    ...     f=lambda x: x[0] ** 3 + x[1] ** 2, grad=lambda x: np.array([3 * x[0] ** 2, 2 * x[1]]),
    ...     c=lambda x: np.array([x[0] * x[1] - 1]), jac=lambda x: np.array([[x[1], x[0]]]),
    ...     hess_lag=lambda x, l: np.array([[6 * x[0], l[0]], [l[0], 2.0]]), x0=np.ones(2))
    >>> check_derivatives(p).ok()
    True
    """
    rng = np.random.default_rng(seed)
    if x is None:
        x = problem.x0 + 1e-2 * np.maximum(1.0, np.abs(problem.x0)) * rng.standard_normal(problem.n)
    if lam is None:
        lam = rng.standard_normal(problem.m)
    x = np.asarray(x, dtype=float)
    lam = np.asarray(lam, dtype=float)
    n = x.size
    g_fd = np.empty(n)
    J_fd = np.empty((problem.m, n))
    H_fd = np.empty((n, n))
    for i in range(n):
        step = h * max(1.0, abs(x[i]))
        e = np.zeros(n)
        e[i] = step
        g_fd[i] = (problem.f(x + e) - problem.f(x - e)) / (2 * step)
        J_fd[:, i] = (np.asarray(problem.c(x + e)) - np.asarray(problem.c(x - e))) / (2 * step)
        H_fd[:, i] = (problem.lagrangian_grad(x + e, lam)
                      - problem.lagrangian_grad(x - e, lam)) / (2 * step)
    return DerivativeCheck(
        grad=_rel(np.asarray(problem.grad(x), dtype=float), g_fd),
        jac=_rel(_dense(problem.jac(x)), J_fd),
        hess_lag=_rel(_dense(problem.hess_lag(x, lam)), H_fd),
        x=x, lam=lam,
    )


# ----------------------------------------------------------------------------- the test set
_TEST_SET: dict[str, Callable[[], EqualityConstrainedProblem]] = {}


def register(name: str) -> Callable:
    """Add a problem constructor (no arguments) to :func:`test_set` under ``name``."""

    def deco(make: Callable[[], EqualityConstrainedProblem]) -> Callable:
        if name in _TEST_SET:
            raise ValueError(f"test-set problem {name!r} registered twice")
        _TEST_SET[name] = make
        return make

    return deco


def test_set(names: list[str] | None = None) -> dict[str, EqualityConstrainedProblem]:
    """The hand-coded CUTEst / Hock–Schittkowski equality-constrained problems.

    Parameters
    ----------
    names : list of str, optional
        A subset (default: all, in a fixed order).

    Returns
    -------
    dict
        name -> EqualityConstrainedProblem with the published ``x0`` and ``f_star``.

    Examples
    --------
    >>> from unisolve.problems.constrained import test_set
    >>> p = test_set(["HS6"])["HS6"]
    >>> p.n, p.m, p.f_star
    (2, 1, 0.0)
    """
    from . import cutest_bt, cutest_hs, cutest_misc  # noqa: F401  (they register their problems)

    if names is None:
        names = list(_TEST_SET)
    unknown = [n for n in names if n not in _TEST_SET]
    if unknown:
        raise ValueError(f"unknown test-set problem(s) {unknown}; known: {sorted(_TEST_SET)}")
    return {n: _TEST_SET[n]() for n in names}


test_set.__test__ = False  # not a pytest test, despite the name

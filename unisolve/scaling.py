"""The one place every registered linear method runs through: scale, certify, warn.

``solve()`` runs a linear method as ``run_linear(spec, problem, options)``.
Three things happen around the method, none of which it needs to know about.

**1. Exact power-of-two equilibration (overflow / underflow).** A stopping
test ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` built from ``sqrt(rᵀr)`` fails when the
data leave the middle of the floating-point range: ``‖b‖ = 2e-170`` gives
``bᵀb = 0`` and a CONVERGED x = 0; ``‖b‖ = 1e155`` gives ``bᵀb = inf`` and a
CONVERGED x0; CG's ``pᵀAp`` overflows for A ~ 1e150. When ``max|b_i|`` or
``max|a_ij|`` lies outside ``[2^-E, 2^E]`` (``E = e_max/6``: 2^±170 ≈ 1e±51
in float64, 2^±21 ≈ 2e6 in float32) the method solves instead

    A' x' = b',   A' = 2^-e_A A,   b' = 2^-e_b b,   x = 2^(e_b − e_A) x'      (1)

with ``2^(e−1) ≤ max|·| < 2^e`` (only the out-of-range side is scaled; the
other exponent is 0). Multiplying by a power of two is exact (barring entries
that fall into the subnormals, which are below 2^-1022 relative to the largest
and cannot change a norm), so the scaled system has the same solution bits,
and ``b' − A' x' = 2^-e_b (b − A x)`` exactly: ``x``, ``residuals``,
``info['threshold']``, ``atol`` and the callback's ``state`` are converted by
(1) to and from the user's units, and ``residuals[-1]`` is ‖b − A x‖ of the
returned x in those units. Inside the window nothing is copied or scaled;
the cost is one pass over b and over A's stored entries for their maxima.

Why this makes the methods' plain norms safe: after (1), ``max|b'|`` and
``max|a'|`` lie in ``[2^-E, 2^E]`` and everything a Krylov or relaxation
method forms is a product of at most three such magnitudes and n ≤ 2^40
terms: ``bᵀb ≤ 2^(2E+40)``, ``pᵀAp ≤ 2^(3E+40)`` (< 2^551 in float64, < 2^103
in float32) cannot overflow; a residual at a threshold ``rtol‖b'‖`` with
rtol ≥ eps has ``rᵀr ≥ (eps·2^-E)²`` = 2^-446 (float64), 2^-90 (float32),
and ``rᵀAr`` ≥ 2^-616 / 2^-111: no underflow. So the per-iteration fused
``rᵀr`` of CG (and the other recursive norms) may stay plain dots. The
*true*-residual norms that decide CONVERGED (and ‖b‖) use the safe
:func:`unisolve.norms.safe_norm` / :func:`~unisolve.norms.nrm2`, which also
covers tolerances far below eps and methods that see unscaled data (a
LinearOperator A is never scaled: only b is; see below).

What is scaled: scipy sparse / numpy / CuPy / torch A, b, ``x0``,
``problem.x0``, ``exact``, the ``Stencil`` (both coefficients), and the PETSc
Mat / Vec handles in ``meta['petsc']`` (scaled copies; the user's objects are
never changed). A ``scipy.sparse.linalg.LinearOperator`` A is not scaled (its
entries are unknown; scaling it would add a product per matvec): only b is.
A problem that is not a dataclass (a duck-typed object with ``kind =
"linear"``) runs unscaled.

**2. Precision (float32 and other narrow dtypes).** A dtype with machine
epsilon ε cannot be relied on to reach ``rtol < 10ε`` (float32: 1.2e-6): the
residual computed in that dtype stalls near ε‖A‖‖x‖ and may even *look*
converged when it is not. For a non-float64 working dtype ``info['precision']``
says so from the start, a :class:`PrecisionWarning` is raised when rtol (and
atol) ask for less than 10ε, and the solve then stops when the residual
stagnates (no 0.1% decrease of its best value in 100 iterations) instead of
running to ``maxiter``: ``Status.BREAKDOWN`` with ``info['reason']`` starting
``'stagnation'``.

**3. Certified stopping test in float64.** For a non-float64 working dtype
the residual at the returned x is recomputed as ``b − A x`` with every
product and sum in float64 (:func:`unisolve.norms.csr_residual_norm` reads the
float32 CSR entries without copying A) and the threshold as ``max(rtol‖b‖,
atol)`` in float64. That value replaces ``residuals[-1]`` and is in
``info['certified_residual']``; a CONVERGED claim it does not confirm becomes
``BREAKDOWN`` with ``info['reason']`` saying why (and a stagnated solve the
float64 test does confirm becomes CONVERGED). float64 input is not re-checked:
its methods' true residual already is a float64, safely scaled norm.

Examples
--------
>>> import numpy as np, scipy.sparse as sp, unisolve as us
>>> p = us.problems.LinearProblem(sp.identity(4, format="csr"), np.full(4, 1e-170))
>>> r = us.solve(p, method="cg")
>>> r.status.name, r.x[0], r.residuals[-1] <= 1e-8 * 2e-170, r.info["scaling"]["b_exponent"]
('CONVERGED', np.float64(1e-170), True, 564)
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import backend
from .norms import csr_residual_norm, nrm2_reference, safe_norm
from .result import IterationState, Result, Status

__all__ = ["PrecisionWarning", "exponent_window", "run_linear", "scale_exponent"]

#: Stagnation: no decrease of the best residual by this relative amount ...
_STAGNATION_DROP = 1e-3
#: ... in this many iterations (only where the dtype cannot reach the tolerance).
_STAGNATION_WINDOW = 100
#: A dtype with epsilon ε is not trusted to reach rtol below this many ε.
_REACHABLE_EPS = 10.0


class PrecisionWarning(UserWarning):
    """The requested tolerance is below what the data's dtype can reach."""


def exponent_window(dtype: Any) -> int:
    """E such that magnitudes in ``[2^-E, 2^E]`` need no scaling: ``e_max // 6``.

    ``e_max`` is capped at float64's 1024 (norms and scalars go through float64).

    Examples
    --------
    >>> import numpy as np
    >>> exponent_window(np.float64), exponent_window(np.float32)
    (170, 21)
    """
    return min(int(np.finfo(dtype).maxexp), 1024) // 6


def scale_exponent(magnitude: float, window: int, smallest: float | None = None,
                   dtype: Any = np.float64) -> int:
    """e with ``2^(e−1) ≤ magnitude < 2^e`` if the magnitude is outside ``[2^-E, 2^E]``, else 0.

    Scaling down (e > 0) stops where the ``smallest`` nonzero magnitude would
    leave the normal range with 53 bits to spare (``2^(e_min + t)``), so no
    stored entry turns subnormal or zero (a tiny diagonal must stay nonzero);
    such wide-ranging data are then scaled only part of the way.

    Examples
    --------
    >>> scale_exponent(1e-170, 170), scale_exponent(3.0, 170), scale_exponent(0.0, 170)
    (-564, 0, 0)
    >>> scale_exponent(1e300, 170), scale_exponent(1e300, 170, smallest=1e-300)
    (997, 0)
    """
    if not magnitude > 0 or not math.isfinite(magnitude):
        return 0
    e = math.frexp(magnitude)[1]  # magnitude = m·2^e, m in [0.5, 1)
    if abs(e) <= window:
        return 0
    if e > 0 and smallest is not None and smallest > 0:
        info = np.finfo(dtype)
        floor = int(info.minexp) + int(info.nmant) + 1  # 2^floor: normal, t bits to spare
        e = min(e, math.frexp(smallest)[1] - floor)  # smallest·2^-e stays ≥ 2^floor
        return max(e, 0)
    return e


def _stored_entries(a: Any) -> Any:
    """A vector's entries or a sparse matrix's stored entries (None for a LinearOperator)."""
    if isinstance(a, spla.LinearOperator):
        return None
    if sp.issparse(a) or backend.is_cupy_sparse(a):
        return a.data
    if backend.is_torch(a):
        import torch

        if a.layout != torch.strided:
            return a.coalesce().values() if a.layout == torch.sparse_coo else a.values()
    return a


def _min_abs_nonzero(a: Any) -> float | None:
    """Smallest nonzero |entry| of a vector or of A's stored entries (None if unknown)."""
    a = _stored_entries(a)
    if a is None:
        return None
    nz = abs(a[a != 0])
    return float(nz.min()) if nz.shape[0] else None


def _np_dtype(a: Any) -> np.dtype:
    dtype = getattr(a, "dtype", np.float64)
    if backend.is_torch(a):
        try:
            return np.dtype(str(dtype).rsplit(".", 1)[-1])
        except TypeError:  # bfloat16 and other torch-only types: as narrow as float32
            return np.dtype(np.float32)
    return np.dtype(dtype)


def _max_abs(a: Any) -> float | None:
    """max |entry| of a vector or of A's stored entries; None for a LinearOperator."""
    a = _stored_entries(a)
    if a is None:
        return None
    if backend.is_torch(a):
        return float(a.abs().max()) if a.numel() else 0.0
    if a.size == 0:
        return 0.0
    return float(max(a.max(), -a.min()))  # two reductions, no |a| temporary


def _times_pow2(a: Any, k: int) -> Any:
    """``a · 2^k`` exactly (a new array; numpy / scipy / CuPy / torch / float)."""
    if k == 0:
        return a
    if isinstance(a, float):
        return math.ldexp(a, k)
    if sp.issparse(a):
        return sp.csr_array((np.ldexp(a.data, k), a.indices, a.indptr), shape=a.shape)
    if isinstance(a, np.ndarray):
        return np.ldexp(a, k)
    while k:  # other libraries: steps of at most 2^±60, exact while in range
        step = max(-60, min(60, k))
        a = a * (2.0 ** step)
        k -= step
    return a


def _scale_petsc(handles: dict, e_A: int, e_b: int) -> tuple[dict, list]:
    """Scaled copies of the PETSc Mat / Vec handles (the user's are untouched)."""
    out, made = {k: v for k, v in handles.items() if k in ("A", "b")}, []
    for key, e in (("A", e_A), ("b", e_b)):
        if key in out and e:
            if key == "A":
                copy = out[key].duplicate(copy=True)
            else:
                copy = out[key].duplicate()
                out[key].copy(copy)
            _petsc_scale(copy, -e)
            out[key] = copy
            made.append(copy)
    return out, made


def _petsc_scale(obj: Any, k: int) -> None:
    while k:
        step = max(-60, min(60, k))
        obj.scale(2.0 ** step)
        k -= step


class _Watch:
    """The callback the method sees: the user's (in the user's units) and the stagnation test."""

    def __init__(self, user: Callable | None, x_exp: int, r_exp: int, watch: bool) -> None:
        self.user, self.x_exp, self.r_exp, self.watch = user, x_exp, r_exp, watch
        self.best, self.since, self.stagnated = math.inf, 0, False

    def __call__(self, state: IterationState) -> None:
        if self.user is not None:
            if self.x_exp or self.r_exp:
                state = IterationState(state.iteration, _times_pow2(state.x, self.x_exp),
                                       math.ldexp(float(state.residual), self.r_exp))
            self.user(state)  # StopIteration from the user passes through
        if self.watch:
            rnorm = float(state.residual)
            if rnorm < self.best * (1.0 - _STAGNATION_DROP):
                self.best, self.since = rnorm, 0
            else:
                self.since += 1
                if self.since >= _STAGNATION_WINDOW:
                    self.stagnated = True
                    raise StopIteration


def _certified_residual(problem: Any, x: Any) -> tuple[float, float, str]:
    """(‖b − A x‖, ‖b‖) with products and sums in float64, safely scaled; how it was done."""
    A, b = problem.A, problem.b
    if backend.is_petsc(x):
        x = backend.petsc_to_host(x, "x")
    if isinstance(b, np.ndarray) and isinstance(x, np.ndarray):
        bnorm = safe_norm(b)
        if sp.issparse(A) and A.format == "csr":
            xc = np.ascontiguousarray(x)
            return (float(csr_residual_norm(A.indptr, A.indices, A.data, xc, b)), bnorm,
                    "float64 CSR residual (mixed precision)")
        if isinstance(A, spla.LinearOperator):  # products in A's own dtype, difference in f64
            r = b.astype(np.float64) - np.asarray(A.matvec(x), dtype=np.float64)
            return nrm2_reference(r), bnorm, "LinearOperator product in its dtype, f64 sum"
        r = b.astype(np.float64) - np.asarray(A, dtype=np.float64) @ x.astype(np.float64)
        return nrm2_reference(r), bnorm, "float64 dense residual"
    if backend.is_torch(b):
        import torch

        A64, b64, x64 = (t.to(torch.float64) for t in (A, b, x))
        return safe_norm(b64 - A64 @ x64), safe_norm(b64), "float64 residual (torch)"
    A64 = A.astype("float64")
    b64, x64 = b.astype("float64"), x.astype("float64")
    return safe_norm(b64 - A64 @ x64), safe_norm(b64), "float64 residual"


def run_linear(spec: Any, problem: Any, options: dict) -> Result:
    """Run the registered linear method ``spec`` on ``problem`` (see the module docstring).

    ``spec`` is a :class:`unisolve.registry.MethodSpec`; ``options`` are the
    options it accepts (already checked).

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> from unisolve.registry import get_method
    >>> p = us.problems.poisson2d(4)
    >>> big = us.problems.LinearProblem(1e150 * p.A, 1e150 * p.b)
    >>> r = run_linear(get_method("cg"), big, {})
    >>> r.status.name, bool(np.allclose(r.x, p.exact)), r.info["scaling"]["A_exponent"]
    ('CONVERGED', True, -501)
    """
    A, b = problem.A, problem.b
    dtype = np.result_type(_np_dtype(b), _np_dtype(A))
    if dtype.kind != "f":
        dtype = np.dtype(np.float64)
    window = exponent_window(dtype)
    e_b = scale_exponent(_max_abs(b), window)
    if e_b > 0:  # scaling down: keep b's smallest entries normal
        e_b = scale_exponent(_max_abs(b), window, _min_abs_nonzero(b), dtype)
    mA = _max_abs(A)
    e_A = 0 if mA is None else scale_exponent(mA, window)
    if e_A > 0:  # scaling down: keep A's smallest entries normal
        e_A = scale_exponent(mA, window, _min_abs_nonzero(A), dtype)
    scaled = (e_b or e_A) and dataclasses.is_dataclass(problem)
    if not scaled:
        e_b = e_A = 0
    x_exp = e_b - e_A  # x = 2^(e_b − e_A) x'

    defaults = getattr(spec, "defaults", {})
    rtol = options.get("rtol", defaults.get("rtol"))
    atol = options.get("atol", defaults.get("atol", 0.0)) or 0.0
    narrow = dtype != np.float64 and np.finfo(dtype).eps > np.finfo(np.float64).eps
    info: dict = {}
    watch = False
    if narrow:
        eps = float(np.finfo(dtype).eps)
        reachable = _REACHABLE_EPS * eps
        info["precision"] = (
            f"{dtype.name} data: the stopping test is certified in float64 (b − A x with "
            f"float64 products and sums at the returned x)")
        bmax = _max_abs(b) or 0.0
        if rtol is not None and rtol < reachable and atol < reachable * bmax:
            watch = "callback" in spec.options
            info["precision"] += (
                f"; rtol={rtol:g} is below 10·eps({dtype.name}) = {reachable:.3g}, which "
                f"{dtype.name} arithmetic cannot be relied on to reach: pass float64 data or "
                f"rtol >= {reachable:.3g}; the solve stops when the residual stagnates")
            warnings.warn(f"{spec.name}: {info['precision']}", PrecisionWarning, stacklevel=4)

    opts = dict(options)
    made: list = []
    work = problem
    if scaled:
        changes: dict = {"A": _times_pow2(A, -e_A) if mA is not None else A,
                         "b": _times_pow2(b, -e_b)}
        if mA is None:  # LinearOperator: b only, so x = 2^e_b x'
            x_exp = e_b
        for name in ("x0", "exact"):
            v = getattr(problem, name, None)
            if v is not None:
                changes[name] = _times_pow2(v, -x_exp)
        stencil = getattr(problem, "stencil", None)
        if stencil is not None and mA is not None:
            changes["stencil"] = dataclasses.replace(
                stencil, diagonal=math.ldexp(stencil.diagonal, -e_A),
                offdiagonal=math.ldexp(stencil.offdiagonal, -e_A))
        meta = getattr(problem, "meta", None)
        if meta and "petsc" in meta:
            handles, made = _scale_petsc(meta["petsc"], e_A if mA is not None else 0, e_b)
            changes["meta"] = {**meta, "petsc": handles}
        work = dataclasses.replace(problem, **changes)
        if opts.get("x0") is not None:
            opts["x0"] = _times_pow2(problem.initial_guess(opts["x0"]), -x_exp)
        if opts.get("atol"):
            opts["atol"] = math.ldexp(float(opts["atol"]), -e_b)
    user_cb = opts.get("callback")
    monitor = None
    if (user_cb is not None and scaled) or watch:
        monitor = _Watch(user_cb, x_exp if scaled else 0, e_b if scaled else 0, watch)
        opts["callback"] = monitor
    try:
        res = spec.func(work, **opts)
    finally:
        for obj in made:
            obj.destroy()

    if scaled:
        if backend.is_petsc(res.x):
            _petsc_scale(res.x, x_exp)
        else:
            res.x = _times_pow2(res.x, x_exp)
        res.residuals = [math.ldexp(float(r), e_b) for r in res.residuals]
        if isinstance(res.info.get("threshold"), (int, float)):
            res.info["threshold"] = math.ldexp(float(res.info["threshold"]), e_b)
        res.info["scaling"] = {
            "b_exponent": -e_b, "A_exponent": -e_A if mA is not None else 0,
            "note": ("solved 2^A_exponent·A x' = 2^b_exponent·b exactly (the data were "
                     "outside the safe range); x, residuals, threshold and the callback are "
                     "in your units, other info entries in the scaled ones")}
    res.info.update(info)
    stagnated = monitor is not None and monitor.stagnated and res.status is Status.STOPPED
    if stagnated:
        res.status = Status.BREAKDOWN
        res.info["reason"] = (
            f"stagnation: the residual has not decreased by {_STAGNATION_DROP:.1%} in "
            f"{_STAGNATION_WINDOW} iterations; {dtype.name} cannot reach rtol={rtol:g}")
    if narrow:
        _certify(problem, res, rtol, atol, dtype)
    return res


def _certify(problem: Any, res: Result, rtol: Any, atol: float, dtype: np.dtype) -> None:
    """Replace residuals[-1] by the float64 residual and let it decide CONVERGED."""
    try:
        rnorm, bnorm, how = _certified_residual(problem, res.x)
    except (TypeError, ValueError, AttributeError) as exc:  # an exotic operator
        res.info["certified_residual"] = None
        res.info["precision"] += f" (not certified: {exc})"
        return
    threshold = max((rtol or 0.0) * bnorm, atol)
    if res.residuals:
        res.residuals[-1] = rnorm
    res.info["certified_residual"] = rnorm
    res.info["certified_by"] = how
    res.info["threshold"] = threshold
    if res.status is Status.CONVERGED and not rnorm <= threshold:
        res.status = Status.BREAKDOWN
        res.info["reason"] = (
            f"stagnation: the {dtype.name} residual met the threshold, but b − A x in float64 "
            f"is {rnorm:.3g} > {threshold:.3g}: {dtype.name} cannot certify rtol={rtol:g}; "
            "pass float64 data or a larger rtol")
    elif (res.status is Status.BREAKDOWN and str(res.info.get("reason", "")).startswith(
            "stagnation") and rnorm <= threshold):
        res.status = Status.CONVERGED

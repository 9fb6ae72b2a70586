"""PETSc interop: PETSc objects into ``unisolve.solve``, PETSc's KSP under our API,
our preconditioners inside PETSc programs. Needs the ``petsc`` extra.

1. **PETSc in.** ``LinearProblem(A, b)`` takes an assembled AIJ ``Mat``
   (``seqaij`` or ``mpiaij``) and ``Vec`` objects; the problem keeps a scipy
   CSR copy (gathered on every rank) for our own methods and the PETSc
   handles, in ``meta['petsc']``, for the PETSc methods; ``Result.x`` comes
   back as a ``Vec`` laid out like ``b``.

2. **PETSc under our API.** ``petsc`` runs any KSP/PC pair given by an options
   string (``options="-ksp_type cg -pc_type gamg"``); ``petsc-cg``,
   ``petsc-gmres`` and ``petsc-sor`` preset the pair. The iterations are
   PETSc's; the stopping rule, ``Result``, ``callback`` and statuses are ours:

       stop when ‖b − A x‖ ≤ max(rtol‖b‖, atol).

   The KSP monitors the unpreconditioned residual norm where the Krylov
   method can (CG and Richardson with the PC on the left; GMRES-type methods
   with it on the right), through a convergence test that also records
   ``residuals`` and calls ``callback``; at the end ``b − A x`` is recomputed
   and, if the recursive norm drifted below the threshold while the true
   one did not, the KSP restarts from x (as our CG's residual replacement).
   Every KSP solve, restarts included, solves the residual equation
   ``A d = b − A x`` from d = 0 and adds d to x, so KSP types that refuse a
   nonzero initial guess (``preonly``) work too. PETSc errors come back as a
   ``ValueError`` naming the fix (bad options, a matrix the PC cannot use) or
   as a status with PETSc's reason in ``info['reason']`` (a numerical failure).

3. **Our preconditioners in PETSc.** Two Python PC contexts, usable from any
   PETSc program by ``-pc_type python -pc_python_type
   unisolve.interop.petsc.<Class>`` or ``pc.setPythonContext(<Class>(...))``:

   * :class:`BanditSOR` — PETSc's own ``MatSOR`` (SSOR or SOR; in parallel
     the local-block sweeps, as PCSOR does) whose weight ω an online learner
     (:mod:`unisolve.solvers.omega`, default ``auto``) chooses before every
     ``KSPSolve`` (``PCPreSolve``) and is taught the solve's iteration count
     after it (``PCPostSolve``): Learning to Relax inside a PETSc time loop.
     In parallel rank 0 learns and broadcasts ω, so every rank uses the same.
   * :class:`UnisolvePC` — any of our preconditioners (jacobi, ssor, ic0,
     amg, or a DCDM network) applied to each rank's diagonal block (block
     Jacobi across ranks).

   Both print their state in ``-ksp_view`` and drop their work data in
   ``reset`` / ``destroy``.

Examples
--------
>>> import numpy as np, unisolve as us
>>> from unisolve.interop.petsc import to_petsc
>>> p = us.problems.poisson2d(16)
>>> A, b = to_petsc(p.A), to_petsc(p.b)                # PETSc Mat and Vec
>>> r = us.solve(us.problems.LinearProblem(A, b))      # our CG on the PETSc system
>>> type(r.x).__name__, r.converged
('Vec', True)
>>> r2 = us.solve(p, method="petsc-cg")                # PETSc's CG, our Result
>>> r2.iterations == us.solve(p, method="cg").iterations
True
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..petsc_convert import (  # raises the ImportError naming the fix without petsc4py
    PETSc,
    _mpi_comm,
    mat_to_csr,
    to_host,
    to_petsc,
    vec_like,
    vec_to_numpy,
)
from ..problems.linear import LinearProblem
from ..registry import method
from ..result import IterationState, Result, Status
from ..solvers.omega import ALIASES, LEARNERS, OmegaLearner, make_learner
from ..solvers.preconditioners import PRECONDITIONERS, make_preconditioner

__all__ = [
    "BanditSOR",
    "UnisolvePC",
    "mat_to_csr",
    "most_used",
    "petsc_cg",
    "petsc_gmres",
    "petsc_ksp",
    "petsc_sor",
    "scoped_options",
    "to_host",
    "to_petsc",
    "vec_like",
    "vec_to_numpy",
]

_Reason = PETSc.KSP.ConvergedReason
#: KSP converged-reason code -> name (CONVERGED_RTOL, DIVERGED_MAX_IT, ...).
REASON_NAMES = {getattr(_Reason, k): k for k in dir(_Reason) if k.isupper()}


# ----------------------------------------------------------------------------- KSP under our API
def scoped_options(options: str) -> tuple[str, list[str]]:
    """Insert PETSc ``options`` under a fresh prefix; return the prefix and the keys added.

    Give the prefix to a KSP (``ksp.setOptionsPrefix``) so only it sees them; delete
    the keys afterwards (``PETSc.Options().delValue``) to leave the database as it was.

    Examples
    --------
    >>> prefix, keys = scoped_options("-ksp_type cg -pc_type jacobi")
    >>> [k[len(prefix):] for k in keys]
    ['ksp_type', 'pc_type']
    >>> for k in keys:
    ...     PETSc.Options().delValue(k)
    """
    scoped_options.counter = getattr(scoped_options, "counter", 0) + 1
    prefix = f"unisolve{scoped_options.counter}_"
    db = PETSc.Options()
    before = set(db.getAll())
    db.prefixPush(prefix)
    try:
        db.insertString(options)
    finally:
        db.prefixPop()
    return prefix, sorted(set(db.getAll()) - before)


def _prefer_true_residual_norm(ksp: PETSc.KSP, user_set: bool) -> str:
    """Make the KSP monitor ‖b − A x‖ (unpreconditioned) when its method allows it."""
    if not user_set:
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        for side in (None, PETSc.PC.Side.RIGHT):
            try:
                if side is not None:
                    ksp.setPCSide(side)
                ksp.setUp()
                break
            except PETSc.Error:
                continue
        else:  # this Krylov method has no unpreconditioned norm: use its default
            ksp.setNormType(PETSc.KSP.NormType.DEFAULT)
            ksp.setPCSide(PETSc.PC.Side.LEFT)
    ksp.setUp()
    return {v: k for k, v in vars(PETSc.KSP.NormType).items() if k.isupper()}.get(
        ksp.getNormType(), str(ksp.getNormType())).lower()


class _Monitor:
    """The convergence test handed to KSP: our rule, residual record, callback.

    One monitor serves a whole solve, restarts included: :meth:`begin` sets it up
    for each ``KSPSolve`` on the residual equation ``A d = b − A x`` (d₀ = 0), so
    PETSc's iteration ``its`` of that solve is our iteration ``offset + its`` and its
    iterate is ``x + d``. ``residuals[k]`` is written once per iteration index k:
    a second call with the same k (GMRES re-tests the residual it recomputes at each
    restart of its cycle; a KSP restart re-tests its start) replaces the entry and
    does not call ``callback`` again, so ``len(residuals) == iterations + 1`` and the
    callback runs once on x0 and once per iteration.
    """

    def __init__(self, threshold: float, divtol: float, callback: Callable | None,
                 residuals: list[float]) -> None:
        self.threshold, self.divtol, self.callback = threshold, divtol, callback
        self.residuals = residuals
        self.called = -1  # the last iteration index the callback has seen
        self.stopped = False
        self.error: Exception | None = None
        self.offset, self.max_it = 0, 0
        self.base: np.ndarray | None = None
        self.first: float | None = None

    def record(self, k: int, rnorm: float, x: Callable[[], np.ndarray]) -> None:
        """Store ``rnorm`` as ``residuals[k]``; call ``callback`` the first time k is seen.

        ``x()`` builds the iterate (only called when there is a callback). A skipped
        index (a KSP that does not test every iteration) is NaN.
        """
        if k < len(self.residuals):
            self.residuals[k] = rnorm
        else:
            self.residuals.extend([math.nan] * (k - len(self.residuals)))
            self.residuals.append(rnorm)
        if self.callback is None or k <= self.called:
            return
        self.called = k
        try:
            self.callback(IterationState(iteration=k, x=x(), residual=rnorm))
        except StopIteration:
            self.stopped = True
        except Exception as exc:  # re-raised after KSPSolve, not as PETSc error 101
            self.error = exc

    def begin(self, offset: int, base: np.ndarray | None, max_it: int) -> None:
        """Prepare for a KSPSolve from our iteration ``offset`` at the iterate ``base``."""
        self.offset, self.base, self.max_it, self.first = offset, base, max_it, None

    def __call__(self, ksp: PETSc.KSP, its: int, rnorm: float) -> int:
        if self.first is None:
            self.first = rnorm
        if its > 0:  # its = 0 is the start, already recorded with its true residual
            self.record(self.offset + its, rnorm,
                        lambda: self.base + vec_to_numpy(ksp.buildSolution()))
            if self.stopped:
                return _Reason.CONVERGED_USER
            if self.error is not None:
                return _Reason.DIVERGED_USER
        if not math.isfinite(rnorm):
            return _Reason.DIVERGED_NANORINF
        if rnorm <= self.threshold:
            return _Reason.CONVERGED_ATOL
        if rnorm > self.divtol * max(self.first, self.threshold):
            return _Reason.DIVERGED_DTOL
        if its >= self.max_it:
            return _Reason.DIVERGED_MAX_IT
        return _Reason.CONVERGED_ITERATING


def _status(reason: int, stopped: bool) -> Status:
    if stopped:
        return Status.STOPPED
    if reason > 0:
        return Status.CONVERGED
    name = REASON_NAMES.get(reason, "")
    if name == "DIVERGED_MAX_IT":
        return Status.MAX_ITER
    if name == "DIVERGED_NANORINF":
        return Status.NONFINITE
    if name == "DIVERGED_DTOL":
        return Status.DIVERGED
    return Status.BREAKDOWN  # breakdown, indefinite matrix / PC, PC set-up failure


def _petsc_system(problem: LinearProblem) -> tuple[PETSc.Mat, PETSc.Vec, bool]:
    """(A, b, b_is_users_vec): the problem's own PETSc handles, else sequential copies."""
    handles = problem.meta.get("petsc", {})
    if "A" in handles:
        A = handles["A"]
    elif isinstance(problem.A, spla.LinearOperator):
        raise TypeError(
            "the PETSc methods need the entries of A, but A is a LinearOperator: pass a "
            "sparse or dense matrix (or a PETSc Mat)"
        )
    else:
        A = to_petsc(problem.A)
    if "b" in handles:
        return A, handles["b"], True
    return A, vec_like(problem.b, A.createVecLeft()), False


#: The largest PetscInt of this PETSc build (2**31 − 1 unless PETSc was configured
#: with 64-bit indices). KSP counts iterations in a PetscInt, so a larger ``maxiter``
#: is clamped to it (``info['maxiter']`` says the value used).
PETSC_INT_MAX = int(np.iinfo(PETSc.IntType).max)

#: PETSc error codes that mean the numerics failed, not the input: the solve ends with
#: a status and ``info['reason']`` (the KSP's reason when it set one, else this name).
_NUMERICAL_ERRORS = {
    71: "DIVERGED_PC_FAILED",  # PETSC_ERR_MAT_LU_ZRPVT: zero pivot in LU / ILU
    81: "DIVERGED_PC_FAILED",  # PETSC_ERR_MAT_CH_ZRPVT: zero pivot in Cholesky / ICC
    72: "DIVERGED_NANORINF",  # PETSC_ERR_FP: floating-point exception
    82: "DIVERGED_BREAKDOWN",  # PETSC_ERR_CONV_FAILED
    91: "DIVERGED_BREAKDOWN",  # PETSC_ERR_NOT_CONVERGED (-ksp_error_if_not_converged)
}


def _petsc_message(exc: PETSc.Error) -> tuple[str, str]:
    """(where, what): the innermost PETSc function and the error's text lines."""
    where, what = "", []
    for line in str(exc).splitlines()[1:]:
        line = re.sub(r"^\[\d+\]\s*", "", line).strip()
        call = re.match(r"^(\w+)\(\) at \S+$", line)
        if call:
            where = call.group(1)
        elif line:
            what.append(line)
    return where, "; ".join(what) or f"PETSc error code {exc.ierr}"


def _reason_of_error(code: int, what: str) -> int:
    """The KSP converged reason a numerical PETSc error stands for (read off its text)."""
    named = re.search(r"reason (\w+)", what)  # -ksp_error_if_not_converged names it
    if named:
        name = named.group(1)
    elif "indefinite preconditioner" in what:
        name = "DIVERGED_INDEFINITE_PC"
    elif "indefinite matrix" in what:
        name = "DIVERGED_INDEFINITE_MAT"
    else:
        name = _NUMERICAL_ERRORS[code]
    return getattr(_Reason, name, _Reason.DIVERGED_BREAKDOWN)


def _missing_diagonal(problem: LinearProblem) -> np.ndarray:
    """Rows of A with no stored diagonal entry (what PETSc's SOR / ILU / ICC cannot use)."""
    A = sp.coo_array(sp.csr_array(problem.A))
    stored = np.zeros(problem.n, dtype=bool)
    stored[A.row[A.row == A.col]] = True
    return np.flatnonzero(~stored)


def _input_error(exc: PETSc.Error, problem: LinearProblem, options: str,
                 pc_type: str) -> ValueError:
    """A PETSc error caused by the matrix or the options, as a ValueError naming the fix."""
    where, what = _petsc_message(exc)
    cause = exc.__cause__  # error 101: a Python context (a python PC) raised this
    if exc.ierr == 101 and isinstance(cause, ValueError):
        return cause
    if exc.ierr == 101 and cause is not None:
        return ValueError(
            f"PETSc's call of a Python context in {where or 'PETSc'} raised "
            f"{type(cause).__name__}: {cause} (options={options!r}): fix the "
            "-pc_python_type / -ksp_python_type it names")
    unknown = re.search(r"Unable to find requested (\w+) type (\S+)", what)
    if exc.ierr == 86 and unknown and unknown.group(1) in ("KSP", "PC"):
        kind, given = unknown.group(1), unknown.group(2)
        names = getattr(PETSc, kind).Type
        valid = sorted({v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)})
        return ValueError(
            f"PETSc has no {kind} type {given!r} (from options={options!r}): change "
            f"-{kind.lower()}_type to one of {', '.join(valid)} (some need an external "
            "package PETSc was built with)")
    if exc.ierr == 73 and "diagonal" in what:
        rows = _missing_diagonal(problem)
        shown = ", ".join(map(str, rows[:8])) + (", ..." if rows.size > 8 else "")
        return ValueError(
            f"A has no stored diagonal entry in {rows.size} of its {problem.n} rows "
            f"(rows {shown}), and PETSc's preconditioner {pc_type!r} needs one in every "
            f"row (PETSc, in {where}: {what}). Add the missing diagonal entries to A, or "
            "use a preconditioner that does not touch the diagonal: method='petsc' or "
            "'petsc-gmres' with options='-pc_type none' (SOR, petsc-sor, divides by it)")
    return ValueError(
        f"PETSc rejected this solve (error code {exc.ierr} in {where or 'PETSc'}): {what}. "
        f"Change the options ({options!r}) or the matrix as PETSc's message says")


def _solve_with_ksp(problem: LinearProblem, defaults: str, name: str, *, options: str,
                    rtol: float, atol: float, maxiter: int | None, x0: Any,
                    callback: Callable[[IterationState], Any] | None) -> Result:
    """Run a KSP built from ``defaults`` then ``options`` under our stopping rule.

    Every ``KSPSolve`` (the first and each restart) solves the residual equation
    ``A d = b − A x`` from d = 0 and sets ``x ← x + d``: the same Krylov iterates as a
    solve from x, and right for KSP types that refuse a nonzero guess (preonly).
    """
    if not isinstance(options, str):
        raise TypeError(f"options must be a string of PETSc options, got {type(options).__name__}")
    A, b, users_b = _petsc_system(problem)
    comm = A.getComm()
    maxiter = 10 * problem.n if maxiter is None else operator.index(maxiter)
    if maxiter < 0:
        raise ValueError(f"maxiter must be a non-negative integer, got {maxiter!r}")
    requested, maxiter = maxiter, min(maxiter, PETSC_INT_MAX)  # PETSc counts in a PetscInt
    threshold = max(rtol * b.norm(), atol)
    x = A.createVecRight()
    start = problem.initial_guess(x0)
    lo, hi = x.getOwnershipRange()
    x.setArray(np.asarray(start, dtype=np.float64)[lo:hi])
    everything = f"{defaults} {options}".strip()
    prefix, keys = scoped_options(everything)
    ksp = PETSc.KSP().create(comm)
    r, d = b.duplicate(), x.duplicate()
    residuals: list[float] = []
    true_at: list[int] = []
    failure = ""
    try:
        ksp.setOptionsPrefix(prefix)
        ksp.setOperators(A)
        # PETSc wants rtol < 1; the test below is ours, so a larger one need not reach it
        ksp.setTolerances(rtol=rtol if rtol < 1 else None, atol=atol, max_it=max(maxiter, 1))
        try:
            ksp.setFromOptions()
            norm_type = _prefer_true_residual_norm(
                ksp, user_set=any(k.endswith("ksp_norm_type") for k in keys))
        except PETSc.Error as exc:
            raise _input_error(exc, problem, everything, ksp.getPC().getType() or "?") from exc
        test = _Monitor(threshold, 1e8, callback, residuals)
        iterations, solves, reason = 0, 0, 0
        A.mult(x, r)
        r.aypx(-1.0, b)  # r = b − A x: the true residual at x0
        rnorm = r.norm()
        test.record(0, rnorm, lambda: vec_to_numpy(x))
        true_at.append(0)
        while True:
            if test.error is not None:
                raise test.error
            if test.stopped:
                break
            if not math.isfinite(rnorm):
                reason = _Reason.DIVERGED_NANORINF
                break
            if rnorm <= threshold:  # the stopping rule, on the true residual
                reason = reason if reason > 0 else _Reason.CONVERGED_ATOL
                break
            if reason < 0:  # the last KSPSolve failed
                break
            if iterations >= maxiter:
                reason = _Reason.DIVERGED_MAX_IT
                break
            if solves > 10:  # at most 10 restarts; the status comes out MAX_ITER
                break
            # a restart (solves > 0): PETSc's norm met the threshold, the true one did not
            solves += 1
            test.begin(iterations, vec_to_numpy(x) if callback is not None else None,
                       max_it=maxiter - iterations)
            d.zeroEntries()
            ksp.setInitialGuessNonzero(False)
            ksp.setTolerances(max_it=maxiter - iterations)
            ksp.setConvergenceTest(test)
            try:
                ksp.solve(r, d)  # A d = r from d = 0
                reason = int(ksp.getConvergedReason())
            except PETSc.Error as exc:
                if exc.ierr not in _NUMERICAL_ERRORS:
                    raise _input_error(exc, problem, everything,
                                       ksp.getPC().getType() or "?") from exc
                where, what = _petsc_message(exc)
                failure = f"PETSc error code {exc.ierr} in {where}: {what}"
                reason = int(ksp.getConvergedReason())
                if reason >= 0:  # the KSP raised before setting a reason
                    reason = _reason_of_error(exc.ierr, what)
                # the error skipped KSPSolve's unlock of its right-hand side: use a fresh r
                r = b.duplicate()
            if test.error is not None:
                raise test.error
            its = int(ksp.getIterationNumber())
            if reason == _Reason.CONVERGED_ITERATING:  # the KSP ran out of iterations
                reason = _Reason.DIVERGED_MAX_IT
            if math.isfinite(d.norm()):
                x.axpy(1.0, d)  # x ← x + d
            elif reason > 0:  # a failed KSP leaves NaN in d: keep x where it was
                reason = _Reason.DIVERGED_NANORINF
            iterations += its
            del residuals[iterations + 1:]
            A.mult(x, r)
            r.aypx(-1.0, b)  # r = b − A x: the true residual
            rnorm = r.norm()
            # a KSP that computes no norm (e.g. preonly) never calls the test: NaN there,
            # and the callback sees the last iterate here
            test.record(iterations, rnorm, lambda: vec_to_numpy(x))
            true_at.append(iterations)
        status = _status(reason, test.stopped)
        if status is Status.CONVERGED and residuals[-1] > threshold:
            status = Status.MAX_ITER
        info = {
            "ksp_type": ksp.getType(), "pc_type": ksp.getPC().getType(),
            "norm_type": norm_type, "reason": REASON_NAMES.get(reason, str(reason)),
            "restarts": max(solves - 1, 0), "threshold": threshold, "maxiter": maxiter,
            "options": everything, "ranks": comm.getSize(),
            "residual_kind": (f"residuals[k] is PETSc's {norm_type} residual norm at "
                              "iterate k, except at the indices in "
                              "info['true_residual_indices'] (x0, the end of every KSPSolve, "
                              "the last entry), where it is the true ‖b − A x_k‖"),
            "true_residual_indices": sorted(set(true_at)),
        }
        if solves > 10 and status is Status.MAX_ITER and reason > 0:
            info["restart_note"] = (
                f"PETSc's KSP reported {info['reason']} in {solves} solves while the true "
                "‖b − A x‖ stayed above the threshold: stopped after 10 restarts (preonly "
                "applies the PC once; -ksp_type richardson iterates it)")
        if requested != maxiter:
            info["maxiter_note"] = (f"maxiter={requested} is more than PETSc's PetscInt "
                                    f"holds; clamped to {maxiter}")
        if "PC_FAILED" in info["reason"] or "PCSETUP_FAILED" in info["reason"]:
            failed = ksp.getPC().getFailedReason()
            names = {v: k for k, v in vars(PETSc.PC.FailedReason).items() if k.isupper()}
            info["pc_failed_reason"] = names.get(failed, str(failed))
        if failure:
            info["petsc_error"] = failure
        out = x if users_b else vec_to_numpy(x)
    finally:
        ksp.destroy()
        r.destroy()
        d.destroy()
        if not users_b:
            b.destroy()
        db = PETSc.Options()
        for key in keys:
            db.delValue(key)
    if not users_b:
        x.destroy()
    return Result(x=out, status=status, iterations=iterations, residuals=residuals,
                  method=name, info=info)


@method("petsc", kinds=("linear",), matrix="any (per KSP)")
def petsc_ksp(problem: LinearProblem, *, options: str = "", rtol: float = 1e-8,
              atol: float = 0.0, maxiter: int | None = None, x0: Any = None,
              callback: Callable[[IterationState], Any] | None = None,
              seed: int | None = None) -> Result:
    """Any PETSc KSP/PC pair (options='-ksp_type ... -pc_type ...') under unisolve's API.

    Parameters
    ----------
    problem : LinearProblem
        With PETSc handles (``LinearProblem(Mat, Vec)``) the KSP runs on them,
        distributed if they are; otherwise on sequential copies of A and b.
    options : str
        PETSc options for this solve (``-ksp_type``, ``-pc_type``, ``-ksp_monitor``,
        ``-ksp_view``, ``-pc_python_type unisolve.interop.petsc.BanditSOR``, ...).
        They live under a private prefix, so they do not leak into other
        solves; what they leave out is PETSc's default (GMRES + ILU in serial).
    rtol, atol : float
        Stop when ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` (checked on the true residual
        at the end).
    maxiter : int, optional
        Iteration cap (default ``10 n``); any non-negative int, clamped to
        :data:`PETSC_INT_MAX` (PETSc counts iterations in a PetscInt:
        2**31 − 1 unless built with 64-bit indices; ``info['maxiter']`` is the cap used).
    x0 : array, optional
        Initial guess (default ``problem.x0``, else zeros).
    callback : callable, optional
        ``callback(state)`` once at x0 and once after every iteration (``state.x``
        is ``x + KSPBuildSolution`` as numpy), restarts included;
        ``StopIteration`` stops the solve.
    seed : int, optional
        Unused (PETSc's Krylov methods are deterministic).

    Returns
    -------
    Result
        ``x`` a Vec when ``b`` was a Vec, else numpy. ``info`` has ``ksp_type``,
        ``pc_type``, ``norm_type`` (what ``residuals`` hold before the last
        entry, which is the true ``‖b − A x‖``), ``reason`` (PETSc's converged
        reason; with ``pc_failed_reason`` when the PC failed, and ``petsc_error``
        when PETSc raised a numerical error) and ``restarts``.

    Raises
    ------
    ValueError
        PETSc rejected the options (an unknown ``-ksp_type`` / ``-pc_type``:
        the message lists the valid ones) or the matrix (a row without a stored
        diagonal entry under SOR / ILU / ICC: the message names the rows and the
        fix). Numerical failures (zero pivot, breakdown) are statuses instead:
        ``BREAKDOWN`` / ``DIVERGED`` with ``info['reason']``.

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.poisson2d(16)
    >>> r = us.solve(p, method="petsc", options="-ksp_type cg -pc_type jacobi")
    >>> r.converged, r.info["ksp_type"], r.info["pc_type"], r.info["norm_type"]
    (True, 'cg', 'jacobi', 'unpreconditioned')
    """
    return _solve_with_ksp(problem, "", "petsc", options=options, rtol=rtol, atol=atol,
                           maxiter=maxiter, x0=x0, callback=callback)


@method("petsc-cg", kinds=("linear",), matrix="SPD")
def petsc_cg(problem: LinearProblem, *, options: str = "", rtol: float = 1e-8,
             atol: float = 0.0, maxiter: int | None = None, x0: Any = None,
             callback: Callable[[IterationState], Any] | None = None,
             seed: int | None = None) -> Result:
    """PETSc's KSPCG (unpreconditioned unless options add a PC).

    Options as for :func:`petsc_ksp`; ``options="-pc_type sor"`` gives
    SSOR-PCG, ``"-pc_type python -pc_python_type unisolve.interop.petsc.BanditSOR"``
    the same with a learned ω.

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.poisson2d(32)
    >>> us.solve(p, method="petsc-cg").iterations, us.solve(p, method="cg").iterations
    (97, 97)
    """
    return _solve_with_ksp(problem, "-ksp_type cg -pc_type none", "petsc-cg",
                           options=options, rtol=rtol, atol=atol, maxiter=maxiter, x0=x0,
                           callback=callback)


@method("petsc-gmres", kinds=("linear",), matrix="any nonsingular")
def petsc_gmres(problem: LinearProblem, *, options: str = "", rtol: float = 1e-8,
                atol: float = 0.0, maxiter: int | None = None, x0: Any = None,
                callback: Callable[[IterationState], Any] | None = None,
                seed: int | None = None) -> Result:
    """PETSc's KSPGMRES, right-preconditioned so it stops on the true residual.

    Restart length 30 (``options="-ksp_gmres_restart 50"`` to change); no PC
    unless options add one. Options as for :func:`petsc_ksp`.

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.poisson2d(16)
    >>> r = us.solve(p, method="petsc-gmres", options="-pc_type jacobi")
    >>> r.converged, r.info["norm_type"]
    (True, 'unpreconditioned')
    """
    return _solve_with_ksp(problem, "-ksp_type gmres -pc_type none", "petsc-gmres",
                           options=options, rtol=rtol, atol=atol, maxiter=maxiter, x0=x0,
                           callback=callback)


@method("petsc-sor", kinds=("linear",), matrix="SPD or diag. dom.")
def petsc_sor(problem: LinearProblem, *, omega: float = 1.0, symmetric: bool = False,
              options: str = "", rtol: float = 1e-8, atol: float = 0.0,
              maxiter: int | None = 10_000, x0: Any = None,
              callback: Callable[[IterationState], Any] | None = None,
              seed: int | None = None) -> Result:
    """PETSc's SOR iteration (KSPRICHARDSON + PCSOR) with weight omega.

    ``x ← x + M⁻¹(b − A x)`` with ``M = D/ω + L`` (forward sweeps; ``symmetric``
    for SSOR sweeps). In parallel PETSc sweeps each rank's block (local SOR).

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.poisson2d(16)
    >>> ours = us.solve(p, method="sor", omega=1.7)
    >>> theirs = us.solve(p, method="petsc-sor", omega=1.7)
    >>> theirs.iterations == ours.iterations
    True
    """
    if isinstance(omega, (bool, np.bool_)) or not isinstance(omega, (numbers.Real, np.number)):
        raise TypeError(f"omega must be a real number in (0, 2), got {type(omega).__name__} "
                        f"{omega!r}; pass e.g. omega=1.5")
    value = float(omega)  # numpy scalars too: PETSc's option parser reads only '1.5'
    if not 0.0 < value < 2.0:  # also rejects NaN
        raise ValueError(f"omega must be a number in (0, 2) for SOR to converge, got "
                         f"{omega!r}; pass e.g. omega=1.5")
    sweep = "-pc_sor_symmetric" if symmetric else "-pc_sor_forward"
    defaults = f"-ksp_type richardson -pc_type sor -pc_sor_omega {value!r} {sweep}"
    return _solve_with_ksp(problem, defaults, "petsc-sor", options=options, rtol=rtol,
                           atol=atol, maxiter=maxiter, x0=x0, callback=callback)


# ----------------------------------------------------------------------------- Python PCs
def _option(pc: PETSc.PC, name: str, kind: type) -> Any:
    """``-<prefix>name`` from the options database as ``kind``; None when absent."""
    db = PETSc.Options(pc.getOptionsPrefix() or "")
    if not db.hasName(name):
        return None
    return {str: db.getString, float: db.getReal, int: db.getInt}[kind](name)


#: Learners that condition on a per-solve context, which BanditSOR does not have.
CONTEXTUAL = ("tsallis-cb", "chebcb")


def _parse_grid(text: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(":", ",").split(",") if v.strip()]
    except ValueError as exc:
        raise ValueError(f"-pc_bandit_grid takes comma-separated weights, got {text!r}") from exc


class BanditSOR:
    """PETSc's SOR/SSOR as a PC, its weight ω chosen by an online learner before every solve.

    Before each ``KSPSolve`` (``PCPreSolve``) the learner draws ω; after it
    (``PCPostSolve``) it is taught the cost, the solve's iteration count
    (``maxit`` when the solve did not converge, so a weight that fails fast is
    never preferred) — the bandit of Learning to Relax (Khodak et al., ICLR 2024)
    inside an existing PETSc time loop. Each application is PETSc's own
    ``MatSOR`` with ``SOR_ZERO_INITIAL_GUESS``, exactly what PCSOR applies:
    for ``ssor`` ``M⁻¹`` of ``M = (D/ω + L)(((2 − ω)/ω) D)⁻¹(D/ω + U)`` (SPD:
    use it with CG); in parallel the local-block sweeps PETSc uses. Rank 0
    learns and broadcasts ω, so every rank applies the same weight.

    Parameters
    ----------
    omega : str or float
        A learner name (``'auto'`` default, ``'tsallis'``; see
        :mod:`unisolve.solvers.omega`), an :class:`OmegaLearner`, or a fixed
        weight in (0, 2) (no learning).
    sweep : {'ssor', 'sor'}
        Symmetric (local symmetric in parallel) or forward sweeps.
    its : int
        Sweeps per application.
    grid : sequence of float, optional
        The learner's candidate weights (default ``linspace(1, 1.95, 20)``).
    seed : int
        Seed of the learner.

    Notes
    -----
    From the options database (with the PC's prefix): ``-pc_bandit_omega``
    (learner name or number), ``-pc_bandit_type ssor|sor``, ``-pc_bandit_its``,
    ``-pc_bandit_grid 1,1.2,1.4``, ``-pc_bandit_seed``. After the solves,
    ``omegas`` and ``iterations`` hold the record on every rank.

    Examples
    --------
    >>> import unisolve as us
    >>> from petsc4py import PETSc
    >>> seq = us.problems.heat_sequence(nx=20, steps=30)
    >>> ksp = PETSc.KSP().create(PETSc.COMM_SELF)
    >>> ksp.setType("cg"); ksp.getPC().setType("python"); ksp.setTolerances(rtol=1e-10)
    >>> bandit = BanditSOR(omega="auto", seed=0)
    >>> ksp.getPC().setPythonContext(bandit)
    >>> u = None
    >>> for t in range(len(seq)):
    ...     p = seq.instance(t, u)
    ...     ksp.setOperators(to_petsc(p.A))
    ...     x = to_petsc(p.x0); ksp.setInitialGuessNonzero(True)
    ...     ksp.solve(to_petsc(p.b), x)
    ...     u = x.getArray().copy()
    >>> len(bandit.omegas), all(1.0 <= w <= 1.95 for w in bandit.omegas)
    (30, True)
    >>> bool(abs(u - seq.reference()[-1]).max() < 1e-8)
    True
    """

    def __init__(self, omega: Any = "auto", *, sweep: str = "ssor", its: int = 1,
                 grid: Sequence[float] | None = None, seed: int = 0) -> None:
        self._configure(omega, sweep, its, grid, seed)
        self.omegas: list[float] = []
        self.iterations: list[int] = []
        self.omega = float(self.fixed) if self.fixed is not None else 1.0
        self.P: PETSc.Mat | None = None
        self._mpi: Any = None
        self._drawn = False  # True between this rank's learner choosing ω and its update

    def _configure(self, omega: Any, sweep: str, its: int, grid: Any, seed: int) -> None:
        if sweep not in ("ssor", "sor"):
            raise ValueError(f"sweep must be 'ssor' (symmetric, for CG) or 'sor' (forward), "
                             f"got {sweep!r}")
        if isinstance(its, bool) or not isinstance(its, int) or its < 1:
            raise ValueError(f"its (sweeps per application) must be an int >= 1, got {its!r}")
        self.fixed: float | None = None
        self.learner: OmegaLearner | None = None
        if isinstance(omega, OmegaLearner):
            self.learner = omega
        elif omega in CONTEXTUAL:
            raise ValueError(f"learner {omega!r} needs a context per solve; BanditSOR learns "
                             "from iteration counts only: use 'auto' or 'tsallis'")
        elif isinstance(omega, str) and omega in (*LEARNERS, *ALIASES):
            self.learner = make_learner(omega, grid=grid, seed=seed)
        else:
            try:
                value = float(omega)
            except (TypeError, ValueError):
                raise ValueError(
                    f"omega must be a weight in (0, 2) or a learner: "
                    f"{', '.join(map(repr, LEARNERS))}; got {omega!r}") from None
            if not 0.0 < value < 2.0:
                raise ValueError(f"omega must lie in (0, 2) for SOR to converge, got {omega!r}")
            self.fixed = omega = value
        if self.learner is not None and self.learner.uses_context:
            raise ValueError(f"learner {self.learner.name!r} needs a context per solve; "
                             "BanditSOR learns from iteration counts only: use 'auto' or "
                             "'tsallis' without context_range")
        self.sweep, self.its, self.seed = sweep, its, seed
        self.settings = (omega, sweep, its, None if grid is None else tuple(grid), seed)

    # -- PETSc's calls -------------------------------------------------------------
    def setFromOptions(self, pc: PETSc.PC) -> None:
        """Read ``-pc_bandit_*``; settings that change rebuild the learner (its record too)."""
        omega, sweep, its, grid, seed = self.settings
        given = _option(pc, "pc_bandit_omega", str)
        if given is not None:
            try:
                omega = float(given)
            except ValueError:
                omega = given
        sweep = _option(pc, "pc_bandit_type", str) or sweep
        its = _option(pc, "pc_bandit_its", int) or its
        given_seed = _option(pc, "pc_bandit_seed", int)
        seed = seed if given_seed is None else given_seed
        text = _option(pc, "pc_bandit_grid", str)
        grid = tuple(_parse_grid(text)) if text else grid
        if isinstance(omega, OmegaLearner) or (omega, sweep, its, grid, seed) == self.settings:
            return  # unchanged: keep what the learner has learned
        self._configure(omega, sweep, its, grid, seed)
        self.omega = self.fixed if self.fixed is not None else 1.0

    def setUp(self, pc: PETSc.PC) -> None:
        """Take the preconditioning matrix; check that SOR can sweep it."""
        _, P = pc.getOperators()
        rows, cols = P.getSize()
        if rows != cols:
            raise ValueError(f"BanditSOR needs a square matrix, got {rows} x {cols}")
        diagonal = P.getDiagonal()
        try:
            zero = bool((diagonal.getArray(readonly=True) == 0).any())
            if pc.getComm().getSize() > 1:
                zero = bool(self._comm(pc).allreduce(zero, op=_mpi_or()))
        finally:
            diagonal.destroy()
        if zero:
            raise ValueError("BanditSOR divides by diag(A), which has a zero: SOR cannot be "
                             "applied (use -pc_type gamg or a Krylov method without SOR)")
        self.P = P

    def preSolve(self, pc: PETSc.PC, ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec) -> None:
        """Choose ω for this solve (rank 0's learner; broadcast to the others)."""
        if self.fixed is not None:
            self.omega = self.fixed
            return
        size = pc.getComm().getSize()
        comm = self._comm(pc) if size > 1 else None
        self._drawn = comm is None or comm.Get_rank() == 0  # this rank's learner chose
        choice = self.learner.choose() if self._drawn else None
        self.omega = float(choice if comm is None else comm.bcast(choice, root=0))

    def apply(self, pc: PETSc.PC, x: PETSc.Vec, y: PETSc.Vec) -> None:
        """``y = M⁻¹ x``: ``its`` SOR/SSOR sweeps on ``P y = x`` from ``y = 0``."""
        kind = PETSc.Mat.SORType
        sweep = kind.LOCAL_SYMMETRIC_SWEEP if self.sweep == "ssor" else kind.LOCAL_FORWARD_SWEEP
        self.P.SOR(x, y, self.omega, sweep | kind.ZERO_INITIAL_GUESS, 0.0, self.its, 1)

    def postSolve(self, pc: PETSc.PC, ksp: PETSc.KSP, b: PETSc.Vec, x: PETSc.Vec) -> None:
        """Teach the learner the cost of the solve: its iterations (maxit if it failed)."""
        its = int(ksp.getIterationNumber())
        cost = its if ksp.getConvergedReason() > 0 else max(its, int(ksp.getTolerances()[3]))
        self.omegas.append(self.omega)
        self.iterations.append(its)
        if self._drawn:
            self.learner.update(max(cost, 1))  # costs are >= 1 (a solve at x0 costs 1)
            self._drawn = False

    def reset(self, pc: PETSc.PC) -> None:
        """Drop the matrix reference (a new one comes with the next setUp)."""
        self.P = None

    def destroy(self, pc: PETSc.PC) -> None:
        """Release what reset releases; the record of ω stays readable."""
        self.reset(pc)

    def view(self, pc: PETSc.PC, viewer: PETSc.Viewer) -> None:
        """The lines ``-ksp_view`` prints under ``Python: ...BanditSOR``."""
        how = (f"fixed omega = {self.fixed:g}" if self.fixed is not None else
               f"omega learned by {self.learner.name!r} over {self.learner.d} weights in "
               f"[{self.learner.grid[0]:g}, {self.learner.grid[-1]:g}] (rank 0 draws)")
        viewer.printfASCII(f"  BanditSOR (unisolve): {self.sweep.upper()} x {self.its} "
                           f"sweep(s) of MatSOR, {how}\n")
        if self.omegas:
            viewer.printfASCII(f"  {len(self.omegas)} solves, {sum(self.iterations)} "
                               f"iterations; last omega {self.omegas[-1]:g}; most used: "
                               f"{most_used(self.omegas)}\n")
        else:
            viewer.printfASCII(f"  no solve yet; next omega {self.omega:g} (1 = Gauss-Seidel "
                               "until the learner draws)\n")

    # -- helpers -----------------------------------------------------------------------
    def _comm(self, pc: PETSc.PC) -> Any:
        if self._mpi is None:
            self._mpi = _mpi_comm(pc.getComm())
        return self._mpi

    def __repr__(self) -> str:
        what = f"omega={self.fixed!r}" if self.fixed is not None else (
            f"learner={self.learner!r}")
        return f"BanditSOR({what}, sweep={self.sweep!r}, solves={len(self.omegas)})"


def most_used(omegas: Sequence[float], k: int = 3) -> str:
    """The ``k`` most frequent weights with their counts, e.g. ``'1.7 x12, 1.65 x3'``.

    Examples
    --------
    >>> most_used([1.5, 1.7, 1.7, 1.0, 1.7, 1.5])
    '1.7 x3, 1.5 x2, 1 x1'
    """
    values, counts = np.unique(np.round(np.asarray(omegas, dtype=float), 4),
                               return_counts=True)
    order = np.argsort(-counts, kind="stable")[:k]
    return ", ".join(f"{values[i]:g} x{counts[i]}" for i in order)


def _mpi_or() -> Any:
    from mpi4py import MPI

    return MPI.LOR


class UnisolvePC:
    """Any unisolve preconditioner as a PETSc PC: jacobi, ssor, ic0, amg, or a DCDM network.

    In parallel each rank applies it to its diagonal block of the matrix
    (block Jacobi across ranks, as PETSc's ``-pc_type bjacobi``).

    Parameters
    ----------
    preconditioner : {'jacobi', 'ssor', 'sor', 'ic0', 'ilu0', 'ilut', 'amg', 'dcdm'}
        Which one (:mod:`unisolve.solvers.preconditioners`; 'sor', 'ilu0' and
        'ilut' are nonsymmetric, for ``-ksp_type gmres``/``bcgs``; 'dcdm' is the
        network ``z = ‖r‖ net(r/‖r‖)``, nonlinear in r: use ``-ksp_type fcg``
        or ``fgmres``).
    omega : float
        SSOR weight.
    model : DCDM or path, optional
        For 'dcdm': the network (default the shipped 2D/3D model).
    grid_shape : sequence of int, optional
        For 'dcdm': the grid of each rank's unknowns (needed; the matrix does
        not say it).

    Notes
    -----
    From the options database: ``-pc_unisolve_type``, ``-pc_unisolve_omega``,
    ``-pc_unisolve_model PATH``, ``-pc_unisolve_grid 64,64``.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> from petsc4py import PETSc
    >>> p = us.problems.poisson2d(16)
    >>> ksp = PETSc.KSP().create(PETSc.COMM_SELF)
    >>> ksp.setOperators(to_petsc(p.A)); ksp.setType("cg")
    >>> ksp.getPC().setType("python")
    >>> ksp.getPC().setPythonContext(UnisolvePC("ic0"))
    >>> ksp.setTolerances(rtol=1e-10); ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    >>> x = to_petsc(np.zeros(p.n)); ksp.solve(to_petsc(p.b), x)
    >>> ours = us.solve(p, method="pcg", preconditioner="ic0", rtol=1e-10)
    >>> ksp.getIterationNumber(), ours.iterations
    (23, 23)
    """

    def __init__(self, preconditioner: str = "ssor", *, omega: float = 1.0, model: Any = None,
                 grid_shape: Sequence[int] | None = None) -> None:
        self._configure(preconditioner, omega, model, grid_shape)
        self.M: Callable[[np.ndarray], np.ndarray] | None = None
        self.local_size = 0

    def _configure(self, preconditioner: str, omega: float, model: Any,
                   grid_shape: Any) -> None:
        choices = (*PRECONDITIONERS, "dcdm")
        if preconditioner not in choices:
            raise ValueError(f"unknown preconditioner {preconditioner!r}; choose one of "
                             f"{', '.join(map(repr, choices))}")
        if preconditioner == "dcdm" and grid_shape is None:
            raise ValueError("UnisolvePC('dcdm') needs grid_shape (the grid of each rank's "
                             "unknowns, e.g. -pc_unisolve_grid 64,64): the network convolves "
                             "over it")
        self.preconditioner, self.omega = preconditioner, float(omega)
        self.model = model
        self.grid_shape = None if grid_shape is None else tuple(int(s) for s in grid_shape)

    def setFromOptions(self, pc: PETSc.PC) -> None:
        """Read ``-pc_unisolve_*``."""
        kind = _option(pc, "pc_unisolve_type", str) or self.preconditioner
        omega = _option(pc, "pc_unisolve_omega", float)
        model = _option(pc, "pc_unisolve_model", str) or self.model
        grid = _option(pc, "pc_unisolve_grid", str)
        shape = tuple(int(v) for v in grid.split(",")) if grid else self.grid_shape
        self._configure(kind, self.omega if omega is None else omega, model, shape)

    def setUp(self, pc: PETSc.PC) -> None:
        """Build our preconditioner from this rank's diagonal block of P."""
        _, P = pc.getOperators()
        local = P if P.getComm().getSize() == 1 else P.getDiagonalBlock()
        A = mat_to_csr(local)
        self.local_size = A.shape[0]
        if self.preconditioner == "dcdm":
            from ..learned.dcdm import DCDM, pretrained
            from ..learned.training import resolve_model

            model = pretrained(len(self.grid_shape)) if self.model is None else resolve_model(
                self.model, DCDM, "dcdm", "DCDM.train(problems, ...)")
            self.M = model.preconditioner(self.grid_shape)
        else:
            self.M = make_preconditioner(self.preconditioner, A, omega=self.omega)

    def apply(self, pc: PETSc.PC, x: PETSc.Vec, y: PETSc.Vec) -> None:
        """``y = M⁻¹ x`` on this rank's entries."""
        y.setArray(self.M(x.getArray(readonly=True)))

    def reset(self, pc: PETSc.PC) -> None:
        """Free the preconditioner's factors / hierarchy (rebuilt at the next setUp)."""
        self.M = None

    def destroy(self, pc: PETSc.PC) -> None:
        """As reset."""
        self.reset(pc)

    def view(self, pc: PETSc.PC, viewer: PETSc.Viewer) -> None:
        """The lines ``-ksp_view`` prints under ``Python: ...UnisolvePC``."""
        what = {"ssor": f"SSOR, omega = {self.omega:g}", "jacobi": "Jacobi",
                "ic0": "zero-fill incomplete Cholesky", "amg": "smoothed-aggregation AMG "
                "V-cycle (pyamg)", "dcdm": f"DCDM network on a {self.grid_shape} grid"}
        where = " on each rank's diagonal block" if pc.getComm().getSize() > 1 else ""
        viewer.printfASCII(f"  UnisolvePC (unisolve): {what[self.preconditioner]}{where}\n")
        viewer.printfASCII(f"  local rows {self.local_size}, "
                           f"{'set up' if self.M is not None else 'not set up'}\n")

    def __repr__(self) -> str:
        return f"UnisolvePC({self.preconditioner!r}, omega={self.omega:g})"

"""``solve(problem, method=None, **options)``: pick, check, run, time.

A linear-sequence problem is solved instance by instance, in order, each
instance built from the previous solution (warm start) when the sequence says
so, with a tqdm progress bar (``progress=False`` turns it off), by the loop of
:mod:`unisolve.sequence` (also re-exported here as ``run_sequence``); methods
that learn across instances (ω learners, preconditioner reuse, ``method="auto"``)
attach a ``solve_sequence`` hook to their function and run that loop themselves.
"""

from __future__ import annotations

import time
from typing import Any

from .options import check_common as _check_common
from .options import working_precision
from .registry import choose_default, default_method, get_method
from .result import Result, SequenceResult
from .sequence import run_sequence

__all__ = ["run_sequence", "solve"]


def _run(problem: Any, method: Any, options: dict, progress: bool = True) -> Result:
    reason = None
    problem, precision = working_precision(problem)  # e.g. np.longdouble -> float64
    if precision is not None and options.get("x0") is not None:
        options = {**options, "x0": problem.initial_guess(options["x0"])}
    if method is None:  # chosen from the problem (linear: from A's structure)
        name, chosen, reason = choose_default(problem)
        options = {**chosen, **options}
    elif isinstance(method, str):
        name = method
    else:  # a solver object (e.g. a trained model)
        if not hasattr(method, "solve"):
            raise TypeError(
                "method must be a registered name (see unisolve.methods()) or an object "
                f"with a .solve(problem, **options) method, got {type(method).__name__}"
            )
        t0 = time.perf_counter()
        res = method.solve(problem, **options)
        if not res.time:
            res.time = time.perf_counter() - t0
        if precision is not None:
            res.info["precision"] = precision
        return _in_input_form(problem, res)
    spec = get_method(name)
    if problem.kind not in spec.kinds:
        raise ValueError(
            f"method {name!r} solves problems of kind {', '.join(spec.kinds)}, "
            f"not {problem.kind!r}"
        )
    spec.check_options(options)
    accepted = {k: v for k, v in options.items() if k in spec.options}
    if "progress" in spec.options and "progress" not in accepted:
        accepted["progress"] = progress  # methods with their own bar (training) honour it
    t0 = time.perf_counter()
    if problem.kind == "linear":  # equilibrated when out of range, certified (scaling.py)
        from .scaling import run_linear  # its safe-norm kernels load numba: not at import

        res = run_linear(spec, problem, accepted)
    else:
        res = spec.func(problem, **accepted)
    res.time = time.perf_counter() - t0
    res.method = name
    if reason is not None:
        res.info["chosen_because"] = reason
    if precision is not None:
        res.info["precision"] = precision
    return _in_input_form(problem, res)


def _in_input_form(problem: Any, res: Result) -> Result:
    output = getattr(problem, "output", None)
    if output is not None:  # e.g. a PETSc Vec back for a PETSc Vec in
        res.x = output(res.x)
    return res


def _solve_sequence(seq: Any, method: Any, options: dict, progress: bool) -> SequenceResult:
    if isinstance(method, str) or method is None:
        spec = get_method(method or default_method("linear"))
        spec.check_options(options)
        hook = getattr(spec.func, "solve_sequence", None)
        if hook is not None:  # methods that learn across instances (bandit omega, ...)
            out = hook(seq, options=options, progress=progress)
            if out is not NotImplemented:
                return out
    label = method if isinstance(method, str) else (
        default_method("linear") if method is None else type(method).__name__)
    return run_sequence(seq, lambda problem: _run(problem, method, dict(options)), label,
                        progress)


def solve(problem: Any, method: Any = None, *, progress: bool = True, **options: Any):
    """Solve a problem with a registered method or a solver object.

    Parameters
    ----------
    problem : LinearProblem, LinearSequence, ...
        What to solve (see :mod:`unisolve.problems`).
    method : str or object, optional
        A registered name (``unisolve.methods()`` lists them) or an object with
        ``.solve(problem, **options)``. Default: for a linear system, chosen
        from A's structure (symmetric with a positive diagonal → ``"cg"``,
        symmetric otherwise → ``"minres"``, nonsymmetric → ``"gmres"`` with
        ILU(0); see :mod:`unisolve.solvers.structure`) and explained in
        ``info["chosen_because"]``; for other kinds, the kind's default. On a sequence,
        ``"auto"`` picks among solver configurations by wall time
        (:mod:`unisolve.solvers.auto`), and ``"pcg"`` with a named
        preconditioner keeps it while it pays (``reuse="auto"``,
        :mod:`unisolve.solvers.reuse`).
    progress : bool
        Show a progress bar: over the instances of a sequence, or over the
        training steps of a learned PDE method (``"pinn"``, ``"lpinn"``).
    **options
        Method options. Common to all: ``rtol``, ``atol`` (stop when
        ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` with the true residual), ``maxiter``,
        ``x0``, ``callback(state)`` (called on x0 and every iterate; raise
        ``StopIteration`` to stop), ``seed``. A method's own options, with their
        defaults and its docstring: ``unisolve.describe("sor")`` (or
        ``unisolve.methods("sor")``), or ``unisolve methods NAME`` in a shell.

    Returns
    -------
    Result or SequenceResult
        A sequence gives one Result per instance; its time is split into
        ``solve_time``, ``setup_time``, ``learner_time`` and ``assembly_time``
        (summing to ``total_time``).

    Raises
    ------
    ValueError
        Unknown method, method not made for this kind of problem, bad tolerance.
    TypeError
        Unknown option (the message lists the accepted ones).

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> p = us.problems.poisson2d(16)
    >>> r = us.solve(p, method="sor", omega=1.7, rtol=1e-8)
    >>> r.status.name, bool(np.linalg.norm(p.b - p.A @ r.x) <= 1e-8 * np.linalg.norm(p.b))
    ('CONVERGED', True)
    >>> us.solve(p, method="cg", omga=1.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: method 'cg' got unknown option(s) 'omga'; accepted options are: ...
    """
    _check_common(options)
    kind = getattr(problem, "kind", None)
    if kind is None:
        raise TypeError(
            f"solve() needs a problem object (e.g. unisolve.problems.LinearProblem(A, b)), "
            f"got {type(problem).__name__}"
        )
    if kind == "linear-sequence":
        return _solve_sequence(problem, method, options, progress)
    return _run(problem, method, options, progress)

"""The loop over a sequence's instances: warm starts, progress bar, per-step accounting.

A ground-floor module (it imports only :mod:`unisolve.result` and
:mod:`unisolve.progress`): :func:`unisolve.solve` runs every sequence through
:func:`run_sequence`, and so do the sequence-aware methods (ω tuning, the
configuration bandit ``method="auto"``, preconditioner reuse).

Per step ``t`` the loop reads one clock four times and the step's ``Result.info``::

    assembly_t = time of seq.instance(t, previous)       (building A_t, b_t)
    call_t     = time of solve_one(problem)              (everything the solve did)
    setup_t    = info.get("setup_time", 0)               (preconditioner builds it paid)
    learner_t  = info.get("learner_time", 0)             (choosing / learning ω or a configuration)
    solve_t    = call_t − setup_t − learner_t            (the iterations and their glue)

so ``assembly_t + setup_t + solve_t + learner_t`` is exactly the loop's measured time
of step ``t``; only the progress bar's update between steps is left out (it is in
``info["wall_time"]``, the whole loop).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .progress import progress as progress_bar
from .result import Result, SequenceResult

__all__ = ["TIME_PARTS", "run_sequence"]

#: The parts of a step's time, in the order ``SequenceResult`` reports them.
TIME_PARTS = ("solve", "setup", "learner", "assembly")


def _postfix(res: Result) -> dict:
    """What the bar shows after a step: iterations, configuration, ω."""
    extra: dict = {"its": res.iterations}
    if "config" in res.info:
        extra["cfg"] = res.info["config"]
    if res.info.get("omega") is not None:
        extra["ω"] = f"{res.info['omega']:.3g}"
    return extra


def run_sequence(
    seq: Any,
    solve_one: Callable[[Any], Result],
    label: str,
    progress: bool,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> SequenceResult:
    """Solve the instances in order, each built from the previous solution, and time them.

    Parameters
    ----------
    seq : LinearSequence
        ``seq.instance(t, previous)`` builds instance t from the solution of t − 1.
    solve_one : callable
        ``solve_one(problem) -> Result``. A solve that built a preconditioner
        reports the seconds in ``info["setup_time"]``; one that ran a learner,
        the learner's seconds in ``info["learner_time"]``.
    label : str
        The progress bar's title.
    progress : bool
        Show the bar (iterations, and the configuration and ω in use when the
        step's ``info`` has ``"config"`` / ``"omega"``).
    clock : callable
        Seconds; ``time.perf_counter`` (tests inject a fake one).

    Returns
    -------
    SequenceResult
        ``info["times"]``: per-step arrays ``"solve"``, ``"setup"``, ``"learner"``,
        ``"assembly"`` (module docstring); ``info["wall_time"]``: the whole loop.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.solvers.krylov import cg
    >>> seq = us.problems.heat_sequence(nx=8, steps=3)
    >>> rs = run_sequence(seq, lambda p: cg(p), "cg", progress=False)
    >>> len(rs), rs.converged, sorted(rs.info["times"])
    (3, True, ['assembly', 'learner', 'setup', 'solve'])
    >>> bool(abs(rs.total_time - sum(v.sum() for v in rs.info["times"].values())) < 1e-12)
    True
    """
    n = len(seq)
    times = {part: np.zeros(n) for part in TIME_PARTS}
    results: list[Result] = []
    previous = None
    bar = progress_bar(range(n), f"{label} on {seq.name or 'sequence'}", disable=not progress)
    start = clock()
    for t in bar:
        t0 = clock()
        problem = seq.instance(t, previous)
        t1 = clock()
        res = solve_one(problem)
        t2 = clock()
        setup = float(res.info.get("setup_time", 0.0))
        learner = float(res.info.get("learner_time", 0.0))
        times["assembly"][t] = t1 - t0
        times["setup"][t] = setup
        times["learner"][t] = learner
        times["solve"][t] = (t2 - t1) - setup - learner  # the call minus what it reported
        results.append(res)
        previous = res.x
        if progress:
            bar.set_postfix(**_postfix(res), refresh=False)
    wall = clock() - start
    return SequenceResult(results=results, info={
        "sequence": seq.name, "method": label, "times": times, "wall_time": wall})

"""Outcome of a solve: :class:`Status`, :class:`Result`, :class:`SequenceResult`.

Also home of :class:`IterationMonitor`, the one piece of bookkeeping every
iterative linear method shares: it records the true-residual history, calls
the user's ``callback`` (on x0 too), applies the stopping rule

    stop when  ||b - A x|| <= max(rtol * ||b||, atol),

and turns non-finite or exploding residuals into a :class:`Status`.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["IterationMonitor", "IterationState", "Result", "SequenceResult", "Status"]


class Status(enum.Enum):
    """How a solve ended. ``Status.X.message`` is a sentence for humans.

    A status says whether the method's *own* stopping test was met. ``CONVERGED``
    is claimed only by a method that ran such a test and met it. A method without
    one (a single network inference, a fixed number of time steps or refiner
    steps) ends in ``COMPLETED`` ("ran what was asked; no stopping test") and says
    so in ``info["stopping_test"]`` (e.g. ``"none: one network inference"``); its
    accuracy is whatever ``info`` reports (an error against a reference, a
    residual), not a tolerance it was held to. ``Result.converged`` is True only
    for ``CONVERGED``.

    Examples
    --------
    >>> Status.COMPLETED.message
    'completed: ran the requested steps; the method has no stopping test'
    """

    CONVERGED = "converged"
    MAX_ITER = "max_iter"
    BREAKDOWN = "breakdown"
    DIVERGED = "diverged"
    STOPPED = "stopped"
    NONFINITE = "nonfinite"
    COMPLETED = "completed"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_MESSAGES = {
    Status.CONVERGED: "converged: the stopping rule was met",
    Status.MAX_ITER: "maxiter reached before the stopping rule was met",
    Status.BREAKDOWN: "breakdown: a denominator vanished (is the matrix SPD / nonsingular?)",
    Status.DIVERGED: "diverged: the residual grew past divtol times its initial value",
    Status.STOPPED: "stopped by the callback (StopIteration)",
    Status.NONFINITE: "a NaN or inf appeared in the iterate or residual",
    Status.COMPLETED: "completed: ran the requested steps; the method has no stopping test",
}


@dataclass
class Result:
    """What every method returns.

    Attributes
    ----------
    x : array
        The solution, same array type and device as the input.
    status : Status
        How the solve ended.
    iterations : int
        Number of iterations performed (0 when x0 already satisfied the rule).
    residuals : list of float
        The method's measure (for linear systems the true ``||b - A x||``) at x0
        first, then after every iteration: ``len(residuals) == iterations + 1``.
        Methods that record no such measure (the flow rollouts ``mac-cn``,
        ``neural-stagger``, ``neural-fine``) leave it empty; ``info["stopping_test"]``
        says what, if anything, was tested.
    time : float
        Seconds of wall time inside the method.
    method : str
        Registered name of the method.
    info : dict
        Method-specific extras (omega used, preconditioner, tolerance threshold, ...).

    Examples
    --------
    >>> import unisolve as us
    >>> r = us.solve(us.problems.poisson2d(8), rtol=1e-10)
    >>> r.converged, r.status.name, len(r.residuals) == r.iterations + 1
    (True, 'CONVERGED', True)
    """

    x: Any
    status: Status
    iterations: int
    residuals: list
    time: float = 0.0
    method: str = ""
    info: dict = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """True when the stopping rule was met."""
        return self.status is Status.CONVERGED

    def __repr__(self) -> str:
        # no recorded measure (a flow rollout): say so rather than print nan
        last = f"{self.residuals[-1]:.3e}" if self.residuals else "n/a"
        return (
            f"Result(method={self.method!r}, status={self.status.name}, "
            f"iterations={self.iterations}, residual={last}, time={self.time:.3g}s)"
        )


@dataclass
class SequenceResult:
    """One :class:`Result` per instance of a sequence, in order, plus totals.

    Where the time went (seconds, summed over the steps):

    * :attr:`solve_time` — the solves: iterations and their glue;
    * :attr:`setup_time` — building preconditioners (AMG hierarchies, IC(0)
      factors), charged to the step that built;
    * :attr:`learner_time` — choosing and learning ω or the configuration
      (``omega="auto"``, ``method="auto"``, including the bandit's one-time
      warm-up of its candidates);
    * :attr:`assembly_time` — building the instances (``seq.instance(t, prev)``);
    * :attr:`total_time` — their sum, which is exactly the loop's measured time of
      every step (instance + solve call); :attr:`wall_time` is the whole loop,
      the progress bar included.

    ``info["times"]`` has the per-step arrays (keys ``"solve"``, ``"setup"``,
    ``"learner"``, ``"assembly"``). A ``SequenceResult`` built by hand without
    them counts ``Result.time`` (minus ``info["setup_time"]``) as solve time and
    no assembly.

    Examples
    --------
    >>> import unisolve as us
    >>> seq = us.problems.shifted_laplacian_sequence(T=3, seed=0)
    >>> rs = us.solve(seq, method="cg", progress=False)
    >>> len(rs.results), rs.total_iterations == sum(r.iterations for r in rs.results)
    (3, True)
    >>> parts = rs.solve_time + rs.setup_time + rs.learner_time + rs.assembly_time
    >>> abs(rs.total_time - parts) < 1e-12, rs.setup_time
    (True, 0.0)
    """

    results: list
    info: dict = field(default_factory=dict)

    @property
    def total_iterations(self) -> int:
        return sum(r.iterations for r in self.results)

    def _part(self, name: str) -> float:
        times = self.info.get("times")
        if times is not None:
            return float(sum(times[name]))
        setup = sum(float(r.info.get("setup_time", 0.0)) for r in self.results)
        if name == "setup":
            return setup
        if name == "learner":
            return sum(float(r.info.get("learner_time", 0.0)) for r in self.results)
        if name == "solve":
            return sum(r.time for r in self.results) - setup
        return 0.0  # assembly: not measured outside the loop

    @property
    def solve_time(self) -> float:
        """Seconds in the solves (iterations and glue), without set-up and learner."""
        return self._part("solve")

    @property
    def setup_time(self) -> float:
        """Seconds building preconditioners (hierarchies, factors)."""
        return self._part("setup")

    @property
    def learner_time(self) -> float:
        """Seconds choosing / learning ω or the configuration."""
        return self._part("learner")

    @property
    def assembly_time(self) -> float:
        """Seconds building the instances (``seq.instance``)."""
        return self._part("assembly")

    @property
    def total_time(self) -> float:
        """``solve_time + setup_time + learner_time + assembly_time``."""
        return self.solve_time + self.setup_time + self.learner_time + self.assembly_time

    @property
    def wall_time(self) -> float:
        """Seconds of the whole loop, progress bar included (``total_time`` if unknown)."""
        return float(self.info.get("wall_time", self.total_time))

    @property
    def converged(self) -> bool:
        return all(r.converged for r in self.results)

    @property
    def iterations(self) -> list[int]:
        return [r.iterations for r in self.results]

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        n_conv = sum(r.converged for r in self.results)
        method = self.info.get("method") or (self.results[0].method if self.results else "")
        return (
            f"SequenceResult(method={method!r}, instances={len(self.results)}, "
            f"converged={n_conv}, total_iterations={self.total_iterations}, "
            f"total_time={self.total_time:.3g}s = solve {self.solve_time:.3g} + setup "
            f"{self.setup_time:.3g} + learner {self.learner_time:.3g} + assembly "
            f"{self.assembly_time:.3g})"
        )


@dataclass
class IterationState:
    """What ``callback(state)`` receives: iteration number, iterate, residual norm."""

    iteration: int
    x: Any
    residual: float


class IterationMonitor:
    """Residual history, callback, stopping rule and status for one linear solve.

    ``start(x, rnorm)`` records the measure at x0; ``step(x, rnorm)`` records one
    iteration. Both return a :class:`Status` when the solve must end, else None.

    Parameters
    ----------
    bnorm : float
        ``||b||``.
    rtol, atol : float
        Stop when ``rnorm <= max(rtol * bnorm, atol)``.
    maxiter : int
        Iteration cap (``MAX_ITER`` when reached).
    callback : callable or None
        Called with an :class:`IterationState` at x0 and after every iteration;
        raising ``StopIteration`` ends the solve with ``Status.STOPPED``.
    divtol : float
        ``DIVERGED`` when ``rnorm > divtol * max(r0, threshold)``.

    Examples
    --------
    >>> m = IterationMonitor(bnorm=1.0, rtol=1e-3, atol=0.0, maxiter=10)
    >>> m.start(None, 1.0) is None, m.step(None, 1e-4)
    (True, <Status.CONVERGED: 'converged'>)
    >>> m.residuals, m.iterations
    ([1.0, 0.0001], 1)
    """

    def __init__(
        self,
        bnorm: float,
        rtol: float,
        atol: float,
        maxiter: int,
        callback: Callable[[IterationState], Any] | None = None,
        divtol: float = 1e8,
    ) -> None:
        self.threshold = max(rtol * bnorm, atol)
        self.maxiter = maxiter
        self.callback = callback
        self.divtol = divtol
        self.residuals: list[float] = []
        self.iterations = 0
        self._ref = 0.0

    def _check(self, x: Any, rnorm: float) -> Status | None:
        rnorm = float(rnorm)
        self.residuals.append(rnorm)
        if not math.isfinite(rnorm):
            return Status.NONFINITE
        if self.callback is not None:
            try:
                self.callback(IterationState(self.iterations, x, rnorm))
            except StopIteration:
                return Status.STOPPED
        if rnorm <= self.threshold:
            return Status.CONVERGED
        if rnorm > self.divtol * self._ref:
            return Status.DIVERGED
        if self.iterations >= self.maxiter:
            return Status.MAX_ITER
        return None

    def start(self, x: Any, rnorm: float) -> Status | None:
        """Record the measure at x0 (iteration 0)."""
        self._ref = max(float(rnorm), self.threshold)
        return self._check(x, rnorm)

    def step(self, x: Any, rnorm: float) -> Status | None:
        """Record the measure after one more iteration."""
        self.iterations += 1
        return self._check(x, rnorm)

    def replace_last(self, rnorm: float) -> None:
        """Overwrite the last recorded measure (e.g. by the true residual at the end).

        Examples
        --------
        >>> m = IterationMonitor(bnorm=1.0, rtol=0.1, atol=0.0, maxiter=5)
        >>> _ = m.start(None, 1.0); m.replace_last(0.5); m.residuals
        [0.5]
        """
        self.residuals[-1] = float(rnorm)

    def result(self, x: Any, status: Status, method: str, **info: Any) -> Result:
        """Package the run as a :class:`Result` (time is filled in by ``solve``)."""
        info.setdefault("threshold", self.threshold)
        info.setdefault("maxiter", self.maxiter)
        return Result(
            x=x,
            status=status,
            iterations=self.iterations,
            residuals=list(self.residuals),
            method=method,
            info=info,
        )

"""Preconditioner reuse across a sequence: ``solve(seq, method="pcg", reuse=...)``.

A simulation's systems change a little from step to step, and an AMG hierarchy or
an IC(0) factor built for ``A_s`` stays a good preconditioner for ``A_t``, t > s,
for a while. It also stays a correct one: a preconditioner built from an SPD
``A_s`` is itself SPD (a symmetric V-cycle with a convergent smoother; ``L Lᵀ``
of IC(0); ``D``; SSOR's ``M``), and PCG with any SPD M converges for any SPD A
to the same stopping rule (the true residual ``‖b − A_t x‖ ≤ max(rtol‖b‖, atol)``).
Only the speed changes: a stale M needs more iterations.

``reuse`` picks when to rebuild:

* ``"never"`` reuse: a new M for every system (what ``pcg`` does on its own);
* ``"always"`` reuse: the M of the first system for all of them;
* ``"auto"`` (the default on sequences): keep M while it pays, by the ski-rental
  rule of :class:`RebuildRule`. With S the seconds the last build took, ``k₀``
  the iterations of the first solve after it and τ the seconds per iteration
  since it, step j pays the rent ``max(0, k_j − k₀) τ`` (the solve time a fresh
  M would have saved, had it kept the first solve's iteration count); rebuild
  before the next solve once the rent paid since the build reaches S. For rent
  growing linearly in j this rebuilds after ``√(2S/c)`` steps, the cycle length
  that minimises the average cost per step ``(S + Σ solve)/steps``; whatever the
  growth, it pays at most twice what the best rebuild schedule in hindsight pays
  on one cycle (the ski-rental bound). Counting the rent in iterations times τ,
  not in raw solve seconds, keeps timer noise (which would only ever add rent)
  out of the decision.

  A solve with a stale M is also capped at ``k₀ + max(k₀, (S − rent)/τ)``
  iterations (no callback given): past that the rent would exceed S within
  this one step. If the stale solve hits the cap or fails (breakdown, NaN,
  ``maxiter``), M is rebuilt from this step's A and the solve continues from
  where it stopped (or from x0, if that iterate is not finite). The step's
  Result then counts both solves (iterations, residual history, time) and
  ``info["stale_attempt"]`` says what happened.

Each step's ``Result.info`` has ``"setup_time"`` (seconds of the build it paid,
0.0 when it reused M) and ``"rebuilt"``; the sequence's ``info["rebuilt"]`` lists
the steps that built, ``info["setup_times"]`` their seconds.

:class:`ReusingPCG` is the object: one per sequence, ``solve(problem)`` per
system; the configuration bandit (``method="auto"``) keeps one per candidate.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from ..options import check_common
from ..result import Result, Status
from ..sequence import run_sequence
from .krylov import pcg
from .preconditioners import PRECONDITIONERS, make_preconditioner

__all__ = ["REUSE_MODES", "RebuildRule", "ReusingPCG", "check_reuse", "solve_sequence"]

#: Values of the ``reuse`` option.
REUSE_MODES = ("auto", "always", "never")


def check_reuse(reuse: Any) -> str:
    """``reuse`` itself when it is one of :data:`REUSE_MODES`, else a ValueError.

    Examples
    --------
    >>> check_reuse("auto")
    'auto'
    >>> check_reuse("sometimes")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: reuse must be one of 'auto', 'always', 'never' ...
    """
    if not isinstance(reuse, str) or reuse not in REUSE_MODES:
        raise ValueError(
            f"reuse must be one of {', '.join(map(repr, REUSE_MODES))} (keep the "
            f"preconditioner while it pays / build it once / build it for every system), "
            f"got {reuse!r}"
        )
    return reuse


class RebuildRule:
    """The ski-rental rule of ``reuse="auto"`` (module docstring), as plain bookkeeping.

    Call :meth:`built` after each build and :meth:`observe` after each solve with
    the current M; :attr:`due` says whether to rebuild before the next solve.

    Examples
    --------
    Set-up 10 s, 1 s per iteration; the first solve takes 5 iterations, then
    the stale M costs 2, 4, 6 extra iterations: 2 + 4 = 6 < 10, 2 + 4 + 6 ≥ 10.

    >>> rule = RebuildRule()
    >>> rule.built(10.0)
    >>> for its in (5, 7, 9, 11):
    ...     rule.observe(seconds=float(its), iterations=its)
    ...     print(its, rule.rent, rule.due)
    5 0.0 False
    7 2.0 False
    9 6.0 False
    11 12.0 True
    """

    def __init__(self) -> None:
        self.setup = 0.0
        self.base: int | None = None  # k₀: iterations of the first solve after the build
        self.rent = 0.0  # Σ max(0, k_j − k₀) τ since the build
        self._seconds = 0.0  # Σ solve seconds since the build
        self._iterations = 0  # Σ iterations since the build

    def built(self, setup_seconds: float) -> None:
        """A new M was built in ``setup_seconds``: start a new cycle."""
        self.setup = float(setup_seconds)
        self.base = None
        self.rent = 0.0
        self._seconds = 0.0
        self._iterations = 0

    @property
    def seconds_per_iteration(self) -> float | None:
        """τ: solve seconds per iteration since the build (None before an iteration)."""
        return self._seconds / self._iterations if self._iterations else None

    def observe(self, seconds: float, iterations: int) -> None:
        """Record one solve with the current M: its seconds and iterations."""
        self._seconds += float(seconds)
        self._iterations += int(iterations)
        if self.base is None:
            if iterations > 0:
                self.base = int(iterations)  # k₀
            return
        tau = self.seconds_per_iteration
        if tau is not None:
            self.rent += max(0, int(iterations) - self.base) * tau  # rent of this step

    @property
    def due(self) -> bool:
        """True when the rent paid since the build has reached the build's cost."""
        return self.base is not None and self.rent >= self.setup

    def iteration_cap(self) -> int | None:
        """Iterations a solve with the current (stale) M may take before it must rebuild.

        ``k₀ + max(k₀, ⌈(S − rent)/τ⌉)``; None before the first solve after a build.

        Examples
        --------
        >>> rule = RebuildRule()
        >>> rule.built(10.0)
        >>> rule.observe(seconds=4.0, iterations=4)     # k₀ = 4, τ = 1
        >>> rule.iteration_cap()                        # 4 + max(4, 10)
        14
        """
        tau = self.seconds_per_iteration
        if self.base is None or tau is None or tau <= 0:
            return None
        budget = math.ceil(max(self.setup - self.rent, 0.0) / tau)
        return self.base + max(self.base, budget)


def _finite(x: Any) -> bool:
    try:
        return bool(np.all(np.isfinite(x)))
    except TypeError:  # an array type numpy cannot inspect: trust it
        return True


class ReusingPCG:
    """PCG over a stream of systems, keeping the preconditioner while it pays.

    Parameters
    ----------
    preconditioner : {'amg', 'ic0', 'jacobi', 'ssor'}
        Which M to build (see :mod:`unisolve.solvers.preconditioners`).
    reuse : {'auto', 'always', 'never'}
        When to rebuild (module docstring).
    omega : float
        SSOR weight (only for 'ssor').
    rule : RebuildRule, optional
        The decision rule of ``reuse="auto"`` (a fresh :class:`RebuildRule` by
        default; tests inject their own).
    clock : callable
        Seconds (``time.perf_counter``).
    **pcg_options
        ``rtol``, ``atol``, ``maxiter``, ``callback``, ``residual``: passed to
        every :func:`~unisolve.solvers.krylov.pcg` solve.

    Attributes
    ----------
    rebuilt : list of int
        The calls (0-based) that built M.
    setup_times : list of float
        Seconds of each of those builds.

    Examples
    --------
    >>> import unisolve as us
    >>> seq = us.problems.heat_sequence(nx=16, steps=6)
    >>> solver = ReusingPCG("ic0", reuse="always")
    >>> x = None
    >>> for t in range(6):
    ...     r = solver.solve(seq.instance(t, x))
    ...     x = r.x
    >>> solver.rebuilt, r.converged, r.info["setup_time"]
    ([0], True, 0.0)
    """

    def __init__(self, preconditioner: str = "amg", reuse: str = "auto", *,
                 omega: float = 1.0, rule: RebuildRule | None = None,
                 clock: Callable[[], float] = time.perf_counter, **pcg_options: Any) -> None:
        spd_names = [name for name in PRECONDITIONERS if name not in ("sor", "ilu0", "ilut")]
        if not isinstance(preconditioner, str) or preconditioner not in spd_names:
            raise ValueError(
                f"preconditioner reuse in PCG needs the name of an SPD preconditioner, one of "
                f"{', '.join(map(repr, spd_names))}; got {preconditioner!r} (a callable "
                "M⁻¹ is applied as given to every system: pass it without reuse; 'sor', "
                "'ilu0' and 'ilut' are not symmetric: use them with method='gmres')"
            )
        self.preconditioner = preconditioner
        self.reuse = check_reuse(reuse)
        self.omega = omega
        self.rule = RebuildRule() if rule is None else rule
        self.clock = clock
        unknown = set(pcg_options) - {"rtol", "atol", "maxiter", "callback", "residual",
                                      "seed", "x0"}
        if unknown:
            raise TypeError(f"ReusingPCG got unknown option(s) {sorted(unknown)}")
        check_common(pcg_options)  # the checks of solve(): rtol, atol, maxiter, callback
        self.options = pcg_options
        self.M: Any = None
        self._shape: tuple | None = None
        self.calls = 0
        self.rebuilt: list[int] = []
        self.setup_times: list[float] = []

    def _build(self, A: Any) -> float:
        t0 = self.clock()
        self.M = make_preconditioner(self.preconditioner, A, omega=self.omega)
        seconds = self.clock() - t0
        self._shape = tuple(A.shape)
        self.rebuilt.append(self.calls)
        self.setup_times.append(seconds)
        self.rule.built(seconds)
        return seconds

    def _pcg(self, problem: Any, x0: Any, maxiter: Any) -> Result:
        options = dict(self.options)
        options.pop("x0", None)
        if maxiter is not None:
            options["maxiter"] = maxiter
        # the bound method, not the object: pcg applies it as M⁻¹ and names it below
        result = pcg(problem, preconditioner=self.M.__call__, x0=x0, **options)
        result.info["preconditioner"] = self.M.name
        if self.M.name == "ssor":
            result.info["omega"] = self.M.omega
        return result

    def solve(self, problem: Any, x0: Any = None) -> Result:
        """Solve one system with the kept M, rebuilding it when the mode says so.

        Parameters
        ----------
        problem : LinearProblem
            The system (its ``x0`` is the warm start unless ``x0`` is given).
        x0 : array, optional
            Initial guess.

        Returns
        -------
        Result
            ``time`` covers the build and every solve of this call;
            ``info["setup_time"]`` is the build's share (0.0 when M was reused),
            ``info["rebuilt"]`` whether this call built.
        """
        start = self.clock()
        x0 = self.options.get("x0") if x0 is None else x0
        setup = 0.0
        fresh = (self.M is None or self._shape != tuple(problem.A.shape)
                 or self.reuse == "never" or (self.reuse == "auto" and self.rule.due))
        if fresh:
            setup = self._build(problem.A)
        maxiter = self.options.get("maxiter")
        capped = False
        if self.reuse == "auto" and not fresh and self.options.get("callback") is None:
            cap = self.rule.iteration_cap()
            user_cap = 10 * problem.n if maxiter is None else maxiter  # pcg's default
            if cap is not None and cap < user_cap:
                maxiter, capped = cap, True
        t0 = self.clock()
        result = self._pcg(problem, x0, maxiter)
        seconds = self.clock() - t0
        stale_failed = (self.reuse == "auto" and not fresh
                        and result.status not in (Status.CONVERGED, Status.STOPPED))
        if stale_failed:  # rebuild from this A and go on from where the stale M stopped
            attempt = {"iterations": result.iterations, "status": result.status.name,
                       "seconds": seconds, "capped_at": maxiter if capped else None}
            setup = self._build(problem.A)
            restart = result.x if _finite(result.x) else x0
            second = self._pcg(problem, restart, self.options.get("maxiter"))
            # not observed: a continuation's count is no k₀; the next solve sets it
            if not _finite(result.x):  # restarted at x0: its residual replaces the NaN
                residuals = list(result.residuals[:-1]) + list(second.residuals)
                attempt["restarted_from_x0"] = True
            else:  # second.residuals[0] is the true residual at result.x = residuals[-1]
                residuals = list(result.residuals) + list(second.residuals[1:])
            second.iterations += result.iterations
            second.residuals = residuals
            second.info["stale_attempt"] = attempt
            result = second
        else:
            self.rule.observe(seconds, result.iterations)
        result.time = self.clock() - start
        result.method = "pcg"
        result.info["setup_time"] = setup
        result.info["rebuilt"] = fresh or stale_failed
        result.info["reuse"] = self.reuse
        self.calls += 1
        return result

    def __repr__(self) -> str:
        return (f"ReusingPCG(preconditioner={self.preconditioner!r}, reuse={self.reuse!r}, "
                f"calls={self.calls}, builds={len(self.rebuilt)})")


def solve_sequence(seq: Any, *, options: dict, progress: bool) -> Any:
    """``solve(seq, method="pcg", preconditioner=<name>, reuse=...)`` (``solve()`` calls this).

    Returns ``NotImplemented`` for a callable preconditioner (the plain loop
    applies the user's M to every system; ``reuse="never"`` is refused there,
    since a callable cannot be rebuilt).

    Examples
    --------
    >>> import unisolve as us
    >>> seq = us.problems.heat_sequence(nx=16, steps=8)
    >>> rs = us.solve(seq, method="pcg", preconditioner="ic0", reuse="never", progress=False)
    >>> rs.converged, rs.info["rebuilt"]
    (True, [0, 1, 2, 3, 4, 5, 6, 7])
    >>> rs = us.solve(seq, method="pcg", preconditioner="ic0", reuse="always", progress=False)
    >>> rs.info["rebuilt"], rs.setup_time == rs.info["setup_times"][0]
    ([0], True)
    """
    options = dict(options)
    reuse = check_reuse(options.pop("reuse", "auto"))
    preconditioner = options.pop("preconditioner", "jacobi")
    if not isinstance(preconditioner, str):
        if reuse == "never":
            raise ValueError(
                "reuse='never' rebuilds the preconditioner for every system, but a callable "
                "or LinearOperator M⁻¹ cannot be rebuilt: pass a name ('amg', 'ic0', ...) "
                "or leave reuse out"
            )
        return NotImplemented
    solver = ReusingPCG(preconditioner, reuse, **options)
    rs = run_sequence(seq, solver.solve, f"pcg {preconditioner} reuse={reuse}", progress)
    rs.info.update({"method": "pcg", "preconditioner": preconditioner, "reuse": reuse,
                    "rebuilt": list(solver.rebuilt), "setup_times": list(solver.setup_times),
                    "solver": solver})
    return rs


pcg.solve_sequence = solve_sequence
pcg.sequence_options = {"reuse": check_reuse}

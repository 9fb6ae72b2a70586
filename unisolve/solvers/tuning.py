"""ω learned while solving: :class:`OmegaTuner` and sequences with ``omega=<learner>``.

A simulation code that produces systems one at a time keeps one tuner::

    tuner = unisolve.OmegaTuner(method="ssor-pcg", learner="auto", context_range=(a, b))
    for step in range(T):
        A, b = assemble(step)
        result = tuner.solve(A, b, x0=u, context=kappa(step))   # picks ω, solves, learns
        u = result.x

and ``unisolve.solve(sequence, method="sor" | "ssor" | "ssor-pcg", omega=...)``
does the same over a :class:`~unisolve.problems.LinearSequence`, with
``omega`` a learner name (``"auto"``, ``"tsallis"``, ``"tsallis-cb"``,
``"chebcb"``), a learner object, or ``"optimal"`` (Young's ω* of every
instance, :func:`~unisolve.solvers.young.optimal_omega`); and for a nonsymmetric
sequence ``solve(seq, method="gmres", preconditioner="sor" | "ssor", omega="auto")``
learns the weight of GMRES's preconditioner with the same learners. The cost the learner
sees is the iteration count; a solve that does not converge costs ``maxiter``
(so a learner never prefers a weight that fails fast).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..options import check_common, working_precision
from ..problems.linear import LinearProblem
from ..registry import get_method
from ..result import Result, SequenceResult
from ..scaling import run_linear
from ..sequence import run_sequence
from .gmres import gmres
from .krylov import ssor_pcg
from .omega import ALIASES, LEARNERS, OmegaLearner, make_learner
from .relaxation import sor, ssor
from .young import jacobi_radius_estimate, optimal_omega

__all__ = ["OmegaTuner", "solve_sequence"]

#: Methods whose ``omega`` a tuner can learn.
TUNABLE = ("sor", "ssor", "ssor-pcg", "gmres")
#: Krylov methods for nonsymmetric systems: ω is that of their SOR / SSOR preconditioner.
PRECONDITIONED = ("gmres",)
OMEGA_PRECONDITIONERS = ("sor", "ssor")
COSTS = ("iterations", "time")


def problem_and_context(A: Any, b: Any, context: Any, x0: Any = None
                        ) -> tuple[LinearProblem, Any]:
    """What a tuner's ``solve(A, b)`` / ``solve(problem)`` was given, as a problem.

    A :class:`LinearProblem` passed as ``A`` (``b`` omitted) brings its own context
    unless one is given; ``A`` and ``b`` make a new problem (with ``x0``).

    Examples
    --------
    >>> import numpy as np
    >>> p, c = problem_and_context(np.eye(2), np.ones(2), None)
    >>> p.n, c
    (2, None)
    >>> problem_and_context(p, np.ones(2), None)
    Traceback (most recent call last):
    ...
    TypeError: pass either a LinearProblem or A and b, not both
    """
    if isinstance(A, LinearProblem):
        if b is not None:
            raise TypeError("pass either a LinearProblem or A and b, not both")
        return A, A.context if context is None else context
    if b is None:
        raise TypeError("solve(A, b): the right-hand side b is missing")
    return LinearProblem(A, b, x0=x0), context


class OmegaTuner:
    """Pick ω for each solve with an online learner, solve, feed back the cost.

    Parameters
    ----------
    method : {'ssor-pcg', 'sor', 'ssor', 'gmres'}
        The solver whose relaxation weight is learned; for ``'gmres'`` (nonsymmetric
        systems) the weight of its preconditioner, so ``preconditioner='sor'`` or
        ``'ssor'`` must be among the solver options.
    learner : str or OmegaLearner
        ``'auto'`` (default), ``'tsallis'``, ``'tsallis-cb'``, ``'chebcb'``, a
        learner object (e.g. one restored from a ``state_dict``), or
        ``'optimal'`` for Young's ω* of each system (no learning).
    grid : sequence of float, optional
        The candidate weights (default ``linspace(1, 1.95, 20)``).
    context_range : (float, float), optional
        Interval of the scalar context passed to :meth:`solve`; needed by the
        contextual learners, and makes ``'auto'`` contextual.
    seed : int
        Seed of the learner.
    cost : {'iterations', 'time'}
        What the learner minimises: iterations, or wall time (measured in
        units of the first solve's seconds per iteration, so the learners see
        costs on the same scale, ``1 + time/unit``; the first system is solved
        once untimed before, so that loading compiled kernels is not counted).
    prime : bool
        Before the first choice, hand a learner that wants one (``'auto'``, see
        :meth:`AutoOmega.prime <unisolve.solvers.omega.AutoOmega.prime>`) the
        Jacobi spectral radius of the first system
        (:func:`~unisolve.solvers.young.jacobi_radius_estimate`: closed form for
        a stencil, 40 Lanczos steps for a symmetric matrix; nothing for a
        nonsymmetric one). It is kept in ``prime_beta``. ``False``: no estimate.
    **solver_options
        Passed to every solve (``rtol``, ``atol``, ``maxiter``, ...).

    Examples
    --------
    >>> import unisolve as us
    >>> seq = us.problems.shifted_laplacian_sequence(T=40, seed=0)
    >>> tuner = us.OmegaTuner(method="sor", learner="auto", context_range=seq.context_range)
    >>> for t in range(len(seq)):
    ...     p = seq.instance(t)
    ...     r = tuner.solve(p.A, p.b, context=p.context)
    >>> r.converged, len(tuner.omegas), 1.0 <= r.info["omega"] <= 1.95
    (True, 40, True)
    >>> us.OmegaTuner(method="cg")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: OmegaTuner learns the relaxation weight of 'sor', 'ssor', ...; got method='cg'
    """

    def __init__(self, method: str = "ssor-pcg", learner: Any = "auto", *,
                 grid: Any = None, context_range: Any = None, seed: int = 0,
                 cost: str = "iterations", prime: bool = True,
                 **solver_options: Any) -> None:
        if method not in TUNABLE:
            raise ValueError(
                f"OmegaTuner learns the relaxation weight of "
                f"{', '.join(map(repr, TUNABLE))}; got method={method!r}"
            )
        if cost not in COSTS:
            raise ValueError(f"cost must be 'iterations' or 'time', got {cost!r}")
        if "omega" in solver_options:
            raise TypeError("OmegaTuner chooses omega itself: do not pass omega=")
        if method in PRECONDITIONED and solver_options.get("preconditioner") not in (
                OMEGA_PRECONDITIONERS):
            raise ValueError(
                f"method {method!r} has a relaxation weight only through its preconditioner: "
                "pass preconditioner='sor' or 'ssor' to learn omega, got "
                f"preconditioner={solver_options.get('preconditioner')!r}"
            )
        self.spec = get_method(method)
        self.spec.check_options(solver_options)
        check_common(solver_options)  # the checks of solve(): rtol, atol, maxiter, callback
        self.method = method
        self.solver_options = solver_options
        self.cost = cost
        self.prime = bool(prime)
        self.prime_beta: float | None = None  # β handed to the learner, if any
        self._time_unit: float | None = None
        if isinstance(learner, OmegaLearner):
            self.learner: OmegaLearner | None = learner
        elif learner == "optimal":
            self.learner = None
        elif isinstance(learner, str):
            self.learner = make_learner(learner, grid=grid, context_range=context_range,
                                        seed=seed)
        else:
            raise TypeError(
                f"learner must be one of {', '.join(map(repr, [*LEARNERS, 'optimal']))} "
                f"or an OmegaLearner, got {type(learner).__name__}"
            )
        self.omegas: list[float] = []
        self.costs: list[float] = []

    @property
    def name(self) -> str:
        """The learner's name (``'optimal'`` for Young's ω*)."""
        return "optimal" if self.learner is None else self.learner.name

    def choose(self, problem: LinearProblem, context: Any = None) -> float:
        """The ω the next solve of ``problem`` will use (draws from the learner)."""
        if self.learner is None:
            return optimal_omega(problem)
        if self.prime and self.learner.wants_prime:  # the learner's prior, once
            self.prime_beta = jacobi_radius_estimate(problem)
            if self.prime_beta is not None:
                self.learner.prime(self.prime_beta)
        return self.learner.choose(context if self.learner.uses_context else None)

    def solve(self, A: Any, b: Any = None, *, x0: Any = None, context: Any = None) -> Result:
        """Choose ω, solve ``A x = b`` with it, and teach the learner the cost.

        Parameters
        ----------
        A : matrix or LinearProblem
            The system matrix, or a whole problem (then ``b`` is omitted and
            ``context`` defaults to ``problem.context``).
        b : array, optional
            Right-hand side.
        x0 : array, optional
            Initial guess (a warm start from the previous step, typically).
        context : float, optional
            The scalar the contextual learners condition on.

        Returns
        -------
        Result
            ``info['omega']`` is the weight used, ``info['learner']`` the learner.
        """
        problem, context = problem_and_context(A, b, context)
        problem, precision = working_precision(problem)  # np.longdouble -> float64, said
        omega = self.choose(problem, context)
        options = dict(self.solver_options)
        if x0 is not None:
            options["x0"] = x0
        if self.cost == "time" and self._time_unit is None:
            # warm-up, untimed: the first call in a process also loads compiled kernels
            self.spec.func(problem, omega=omega, **options)
        t0 = time.perf_counter()
        # equilibrated when out of range, float32 certified, as solve() does (scaling.py)
        result = run_linear(self.spec, problem, {**options, "omega": omega})
        result.time = time.perf_counter() - t0
        result.method = self.method
        cost = self._cost(result)
        if self.learner is not None:
            self.learner.update(cost)
        self.omegas.append(float(omega))
        self.costs.append(cost)
        result.info["omega"] = float(omega)
        result.info["learner"] = self.name
        if precision is not None:
            result.info["precision"] = precision
        return result

    def _cost(self, result: Result) -> float:
        cap = float(result.info["maxiter"])  # the solver's own iteration cap
        iterations = float(result.iterations) if result.converged else max(
            cap, float(result.iterations))
        if self.cost == "iterations":
            return iterations
        if self._time_unit is None:
            self._time_unit = result.time / max(result.iterations, 1)
        seconds = result.time if result.converged else result.time * iterations / max(
            result.iterations, 1)
        return 1.0 + seconds / self._time_unit

    def state_dict(self) -> dict:
        """The learner's state plus the tuner's record (resume with :meth:`load_state_dict`)."""
        return {"method": self.method, "cost": self.cost, "time_unit": self._time_unit,
                "omegas": list(self.omegas), "costs": list(self.costs),
                "learner": None if self.learner is None else self.learner.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` output into a tuner built with the same learner."""
        if state["method"] != self.method:
            raise ValueError(f"state is for method {state['method']!r}, not {self.method!r}")
        self.cost, self._time_unit = state["cost"], state["time_unit"]
        self.omegas, self.costs = list(state["omegas"]), list(state["costs"])
        if state["learner"] is not None:
            if self.learner is None:
                raise ValueError("state has a learner but this tuner uses omega='optimal'")
            self.learner.load_state_dict(state["learner"])

    def __repr__(self) -> str:
        return f"OmegaTuner(method={self.method!r}, learner={self.learner or 'optimal'!r})"


def solve_sequence(seq: Any, *, method: str, options: dict, progress: bool
                   ) -> SequenceResult | Any:
    """Solve a :class:`LinearSequence` with ω from a learner (``solve()`` calls this).

    Returns ``NotImplemented`` for a numeric ``omega`` (the plain loop of
    :func:`unisolve.solve` handles it). Each step's ``info["learner_time"]`` is
    the tuner's time outside the solve (choosing ω, learning from the cost).
    """
    options = dict(options)
    omega = options.pop("omega", None)
    if not isinstance(omega, (str, OmegaLearner)):
        return NotImplemented
    if isinstance(omega, str) and omega not in (*LEARNERS, *ALIASES, "optimal"):
        raise ValueError(
            f"omega must be a number in (0, 2) or a learner: "
            f"{', '.join(map(repr, [*LEARNERS, 'optimal']))}, got {omega!r}"
        )
    seed = options.pop("seed", None)
    tuner = OmegaTuner(method, omega, context_range=seq.context_range,
                       seed=0 if seed is None else seed, **options)
    contexts: list[float] = []

    def solve_one(problem: LinearProblem) -> Result:
        contexts.append(np.nan if problem.context is None else float(problem.context))
        t0 = time.perf_counter()
        result = tuner.solve(problem, context=problem.context)
        # the tuner's own time: choosing ω and learning (the solve is result.time)
        result.info["learner_time"] = max(time.perf_counter() - t0 - result.time, 0.0)
        return result

    rs = run_sequence(seq, solve_one, f"{method} ω={tuner.name}", progress)
    rs.info.update({
        "method": method, "learner": tuner.learner if tuner.learner else "optimal",
        "tuner": tuner, "omegas": np.asarray(tuner.omegas),
        "contexts": np.asarray(contexts),
    })
    return rs


for _func, _name in ((sor, "sor"), (ssor, "ssor"), (ssor_pcg, "ssor-pcg"), (gmres, "gmres")):
    _func.solve_sequence = (
        lambda seq, *, options, progress, _name=_name:
        solve_sequence(seq, method=_name, options=options, progress=progress))

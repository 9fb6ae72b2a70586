"""``method="auto"``: a bandit over solver configurations that learns from wall time.

Like PCGBandit (Khodak et al. 2025, arXiv 2509.08765), which picks PCG
configurations by wall time inside OpenFOAM, a :class:`SolverTuner` keeps a
set of candidate configurations ``(method, options)`` and, for every system of
a sequence, picks one, solves, and learns from the seconds it took:

    i_t     = bandit.choose(context_t)             # a configuration
    result  = arm_i.solve(A_t, b_t)                # its own state: ω learner, kept M
    cost_t  = wall seconds of that solve (set-up it paid included)
    bandit.update(cost_t)

The default candidates are CG, SSOR-PCG with the learned ω (``omega="auto"``:
an :class:`~unisolve.solvers.tuning.OmegaTuner` inside the arm), and PCG with
IC(0) and with AMG, both with ``reuse="auto"`` (a
:class:`~unisolve.solvers.reuse.ReusingPCG` inside the arm). Every arm keeps its
state while others play, so switching arms rebuilds nothing.

The bandit, :class:`ConfigBandit`, is inverse-gap weighting (SquareCB, Foster &
Rakhlin 2020) on a per-arm mean cost, the scheme of
:class:`~unisolve.solvers.omega.AutoOmega`:

    g_i = (ĉ_i − ĉ*)/ĉ*,   p_i = 1/(d + η_t g_i) for i ≠ i*,   p_{i*} = 1 − Σ_{i≠i*} p_i,
    η_t = γ √t,

an arm never played has g = 0 (each is tried early). ``ĉ_i`` is the arithmetic
mean of the arm's costs (set-up spikes included: that is what the arm costs on
average), discounted (``λ = 1 − 1/50`` per play of the arm: an arm's cost
drifts as its ω learner improves and its kept preconditioner ages); with a
context, the mean of the arm in the context's bin, shrunk towards the arm's
overall mean, ``(Σ_bin + k ĉ_i)/(n_bin + k)``. Pure Python over d ≈ 4 arms: a
few microseconds a round (``AutoOmega`` spends 0.1–0.3 ms in NumPy
calls on d-element arrays, too much beside 1 ms solves). An arm with relative
gap g is then played about ``2√T/(γ g)`` times in T rounds: for an arm 3×
slower than the best, a handful.

Wall-time costs are noisy and the first call of a compiled kernel in a process
loads it: before the first system the tuner solves a 16-unknown copy (same
dtypes, same stencil form) once with every candidate, untimed for the bandit,
so no arm is charged for loading code. Those seconds are learner overhead
(``info["learner_time"]`` of the first step). An arm's first play also pays
one-time costs (its first preconditioner build, its ω learner's start): the
bandit's first cost of an arm leaves out the set-up and learner seconds of that
play, so a stateful arm is not condemned by its start-up; every later play is
charged in full, rebuilds included. A solve that does not converge
costs its seconds times ``maxiter / iterations`` (what reaching ``maxiter``
would cost), so a configuration that fails fast is never the cheap one.

On a single :class:`~unisolve.problems.LinearProblem` there is nothing to learn
from: ``method="auto"`` solves it with the default method of linear systems
(CG), or with the first of ``candidates`` when given, and says so in
``info["chosen_because"]``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..options import check_common
from ..problems.linear import LinearProblem, Stencil
from ..registry import default_method, get_method, method
from ..result import IterationState, Result
from ..scaling import run_linear
from ..sequence import run_sequence
from .omega import OmegaLearner
from .reuse import ReusingPCG, check_reuse
from .tuning import TUNABLE, OmegaTuner, problem_and_context

__all__ = ["DEFAULT_CANDIDATES", "ConfigBandit", "SolverTuner", "auto", "check_candidates"]

#: The configurations ``method="auto"`` chooses among by default.
DEFAULT_CANDIDATES: tuple = (
    ("cg", {}),
    ("ssor-pcg", {"omega": "auto"}),
    ("pcg", {"preconditioner": "ic0", "reuse": "auto"}),
    ("pcg", {"preconditioner": "amg", "reuse": "auto"}),
)

COSTS = ("time", "iterations")
_SOLVE_OPTIONS = ("rtol", "atol", "maxiter", "callback")


# ------------------------------------------------------------------ candidates


def _linear_kinds() -> dict[str, tuple]:
    """Every registered method's kinds, lazily registered ones included (none imported)."""
    from ..registry import methods

    return {m.name: m.kinds for m in methods()}


def check_candidates(candidates: Any) -> list[tuple[str, dict]]:
    """Candidates as a list of ``(method, options)`` pairs, else a clear error.

    A bare method name stands for ``(name, {})``.

    Raises
    ------
    ValueError
        No candidates, a repeated one, or a method that does not solve linear
        systems (the message lists those that do).
    TypeError
        Something that is not a ``(method name, options dict)`` pair, or options
        the method does not accept.

    Examples
    --------
    >>> check_candidates(["cg", ("pcg", {"preconditioner": "ic0"})])
    [('cg', {}), ('pcg', {'preconditioner': 'ic0'})]
    >>> check_candidates([])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: candidates is empty: ...
    """
    if isinstance(candidates, (str, dict)) or not isinstance(candidates, Sequence):
        raise TypeError(
            "candidates must be a list of (method, options) pairs, e.g. "
            f"[('cg', {{}}), ('pcg', {{'preconditioner': 'amg'}})], got {candidates!r}"
        )
    if len(candidates) == 0:
        raise ValueError(
            "candidates is empty: give at least one (method, options) pair, or leave it "
            "out for the defaults (CG, SSOR-PCG with the learned ω, PCG + IC(0), PCG + AMG)"
        )
    kinds = _linear_kinds()
    out: list[tuple[str, dict]] = []
    for candidate in candidates:
        if isinstance(candidate, str):
            candidate = (candidate, {})
        if (not isinstance(candidate, (tuple, list)) or len(candidate) != 2
                or not isinstance(candidate[0], str) or not isinstance(candidate[1], dict)):
            raise TypeError(
                f"each candidate must be a (method name, options dict) pair such as "
                f"('pcg', {{'preconditioner': 'amg'}}), got {candidate!r}"
            )
        name, options = candidate[0], dict(candidate[1])
        if "linear" not in kinds.get(name, ()) or name == "auto":
            linear = [m for m, k in kinds.items() if "linear" in k and m != "auto"]
            raise ValueError(
                f"candidate {name!r} is not a method for linear systems; method='auto' "
                f"chooses among these: {', '.join(linear)}"
            )
        get_method(name).check_options(options)
        if (name, options) in out:
            raise ValueError(f"candidate ({name!r}, {options!r}) is listed twice")
        out.append((name, options))
    return out


def _label(name: str, options: dict) -> str:
    """A short name for a configuration: 'pcg amg reuse=auto', 'ssor-pcg ω=auto'."""
    parts = [name]
    for key, value in options.items():
        if key == "preconditioner":
            parts.append(value if isinstance(value, str) else getattr(value, "name", "M"))
        elif key == "omega":
            parts.append(f"ω={value if isinstance(value, str) else getattr(value, 'name', value)}")
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)


# ------------------------------------------------------------------ the arms


class _Arm:
    """One configuration with its own state; ``solve`` returns (Result, learner seconds)."""

    def __init__(self, name: str, options: dict, common: dict, context_range: Any,
                 seed: int) -> None:
        self.name = name
        self.label = _label(name, options)
        self.spec = get_method(name)
        merged = {**common, **options}
        omega = merged.get("omega")
        self.tuner: OmegaTuner | None = None
        self.reusing: ReusingPCG | None = None
        # the options a tiny copy can take (a user's callable M⁻¹ is sized for the real A)
        self.warm_options: dict | None = {k: v for k, v in options.items()
                                          if k in self.spec.options and k != "omega"}
        if not all(isinstance(v, (str, int, float)) for v in self.warm_options.values()):
            self.warm_options = None
        if name in TUNABLE and isinstance(omega, (str, OmegaLearner)):
            rest = {k: v for k, v in merged.items() if k not in ("omega", "seed")}
            self.tuner = OmegaTuner(name, omega, context_range=context_range, seed=seed, **rest)
        elif name == "pcg" and isinstance(merged.get("preconditioner", "jacobi"), str):
            rest = {k: v for k, v in merged.items() if k not in ("preconditioner", "reuse")}
            self.reusing = ReusingPCG(merged.get("preconditioner", "jacobi"),
                                      check_reuse(merged.get("reuse", "auto")), **rest)
            if self.warm_options is not None:
                self.warm_options["preconditioner"] = self.reusing.preconditioner
        else:
            self.options = {k: v for k, v in merged.items() if k in self.spec.options
                            or k in ("rtol", "atol", "maxiter", "callback", "seed")}
        if (isinstance(omega, (int, float)) and not isinstance(omega, bool)
                and self.warm_options is not None):
            self.warm_options["omega"] = omega

    def solve(self, problem: LinearProblem, x0: Any, context: Any,
              clock: Callable[[], float]) -> tuple[Result, float]:
        if self.tuner is not None:
            t0 = clock()
            result = self.tuner.solve(problem, x0=x0, context=context)
            return result, max(clock() - t0 - result.time, 0.0)  # the inner ω learner
        if self.reusing is not None:
            return self.reusing.solve(problem, x0=x0), 0.0
        t0 = clock()
        options = dict(self.options)
        if x0 is not None:
            options["x0"] = x0
        # equilibrated when out of range, float32 certified, as solve() does (scaling.py)
        result = run_linear(self.spec, problem, options)
        result.time = clock() - t0
        return result, 0.0

    def warm_up(self, tiny: LinearProblem) -> None:
        """Solve a tiny system once: loads compiled kernels, learns nothing.

        Best effort: a candidate that cannot take the tiny copy (a user's
        callable M⁻¹, a learned method with fixed grid sizes) is warmed by its
        first real solve instead, and any error there is the real one.
        """
        if self.warm_options is None:
            return
        omega = {"omega": 1.5} if self.tuner is not None else {}
        try:
            self.spec.func(tiny, maxiter=50, **self.warm_options, **omega)
        except Exception:  # best effort, see the docstring
            return


def _tiny_copy(problem: LinearProblem) -> LinearProblem | None:
    """A 16-unknown SPD system stored like ``problem`` (dtypes, stencil form, x0)."""
    A = problem.A
    stencil = problem.stencil
    if stencil is not None:
        small = Stencil(shape=(4,) * len(stencil.shape), diagonal=stencil.diagonal,
                        offdiagonal=stencil.offdiagonal)
    else:
        small = Stencil(shape=(4, 4), diagonal=4.0, offdiagonal=-1.0)
    csr = small.to_csr()
    if sp.issparse(A):
        csr = sp.csr_array((csr.data.astype(A.dtype), csr.indices.astype(A.indices.dtype),
                            csr.indptr.astype(A.indptr.dtype)), shape=csr.shape)
        tiny_A: Any = csr
    elif isinstance(A, np.ndarray):
        tiny_A = csr.toarray().astype(A.dtype)
    else:  # LinearOperator, GPU arrays: nothing to warm here
        return None
    b = np.ones(csr.shape[0], dtype=np.result_type(problem.b.dtype, np.float32))
    x0 = None if problem.x0 is None else np.zeros_like(b)
    return LinearProblem(tiny_A, b, x0=x0, stencil=None if stencil is None else small,
                         grid_shape=None if stencil is None else small.shape, spd=True)


# ------------------------------------------------------------------ the bandit


class ConfigBandit:
    """Inverse-gap weighting over d arms on their mean cost (module docstring).

    Parameters
    ----------
    d : int
        Number of arms.
    context_range : (float, float), optional
        Makes the cost model contextual: ``bins`` equal bins of this interval.
    bins : int
        Number of context bins.
    gamma : float
        γ in ``η_t = γ√t`` (as in :class:`~unisolve.solvers.omega.AutoOmega`).
    shrink : float
        k: a bin's mean is shrunk towards the arm's overall mean as if it had k
        more samples of it.
    memory : int or None
        The means forget: each new cost of an arm weighs ``1/memory`` of the
        old ones' total (exponential discount ``λ = 1 − 1/memory`` per play of
        that arm), since an arm's cost drifts (its ω learner improves, a kept
        preconditioner ages, the systems change). None: plain running means.
    seed : int
        Seed of the sampling stream.

    Examples
    --------
    >>> bandit = ConfigBandit(3, seed=0)
    >>> for t in range(300):              # arm 1 costs 1, the others 5
    ...     arm = bandit.choose()
    ...     bandit.update(1.0 if arm == 1 else 5.0)
    >>> int(np.argmax(bandit.probabilities())), bandit.arms.count(1) > 270
    (1, True)
    """

    def __init__(self, d: int, *, context_range: Any = None, bins: int = 4,
                 gamma: float = 10.0, shrink: float = 2.0, memory: int | None = 50,
                 seed: int = 0) -> None:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"d must be a positive number of arms, got {d!r}")
        if not (isinstance(gamma, (int, float)) and gamma > 0 and math.isfinite(gamma)):
            raise ValueError(f"gamma must be a positive number, got {gamma!r}")
        self.d = int(d)
        self.gamma = float(gamma)
        self.shrink = float(shrink)
        if memory is not None and (isinstance(memory, bool) or not isinstance(memory, int)
                                   or memory < 1):
            raise ValueError(f"memory must be a positive integer or None, got {memory!r}")
        self.decay = 1.0 if memory is None else 1.0 - 1.0 / memory  # λ
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.context_range: tuple[float, float] | None = None
        if context_range is not None:
            lo, hi = (float(v) for v in context_range)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(
                    f"context_range must be finite with low < high, got {context_range!r}")
            self.context_range = (lo, hi)
        self.bins = int(bins) if self.context_range is not None else 1
        self.total = [0.0] * self.d  # discounted Σ cost per arm
        self.count = [0.0] * self.d  # discounted number of costs per arm
        self.bin_total = [[0.0] * self.d for _ in range(self.bins)]
        self.bin_count = [[0.0] * self.d for _ in range(self.bins)]
        self.plays = [0] * self.d
        self.arms: list[int] = []
        self.costs: list[float] = []
        self._pending: tuple[int, int] | None = None

    @property
    def uses_context(self) -> bool:
        """Whether the cost model depends on the context."""
        return self.context_range is not None

    @property
    def t(self) -> int:
        """Completed rounds."""
        return len(self.costs)

    def _bin(self, context: Any) -> int:
        if self.context_range is None or context is None:
            return 0
        lo, hi = self.context_range
        z = (float(context) - lo) / (hi - lo)  # in [0, 1] inside the range
        return min(max(int(z * self.bins), 0), self.bins - 1)

    def estimates(self, context: Any = None) -> list[float | None]:
        """Mean cost of every arm (in the context's bin, shrunk); None if never played."""
        b = self._bin(context)
        k = self.shrink
        out: list[float | None] = []
        for i in range(self.d):
            n = self.count[i]
            if n == 0:
                out.append(None)
                continue
            mean = self.total[i] / n
            if self.bins > 1:  # (Σ_bin + k ĉ_i) / (n_bin + k)
                mean = (self.bin_total[b][i] + k * mean) / (self.bin_count[b][i] + k)
            out.append(mean)
        return out

    def _weights(self, estimates: list[float | None]) -> list[float]:
        played = [c for c in estimates if c is not None]
        if not played:
            return [1.0 / self.d] * self.d
        best_cost = min(played)
        best = estimates.index(best_cost)
        eta = self.gamma * math.sqrt(self.t + 1)  # η_t = γ√t
        scale = max(best_cost, 1e-300)
        p = [1.0 / (self.d + eta * ((c - best_cost) / scale if c is not None else 0.0))
             for c in estimates]  # p_i = 1/(d + η g_i), g_i the relative gap
        p[best] = 0.0
        p[best] = 1.0 - sum(p)
        return p

    def probabilities(self, context: Any = None) -> np.ndarray:
        """The distribution :meth:`choose` samples from now."""
        return np.asarray(self._weights(self.estimates(context)))

    def choose(self, context: Any = None) -> int:
        """Pick an arm (index) for the next solve."""
        p = self._weights(self.estimates(context))
        u = self.rng.random()
        arm, acc = self.d - 1, 0.0
        for i, pi in enumerate(p):  # inverse CDF
            acc += pi
            if u < acc:
                arm = i
                break
        self._pending = (arm, self._bin(context))
        return arm

    def update(self, cost: float) -> None:
        """Feed back the cost of the solve run with the last choice."""
        if self._pending is None:
            raise RuntimeError("update(cost) must follow choose(): no arm is pending")
        cost = float(cost)
        if not math.isfinite(cost) or cost < 0:
            raise ValueError(f"cost must be finite and >= 0, got {cost!r}")
        arm, b = self._pending
        self._pending = None
        self.plays[arm] += 1
        lam = self.decay  # Σ ← λ Σ + cost, n ← λ n + 1
        self.total[arm] = lam * self.total[arm] + cost
        self.count[arm] = lam * self.count[arm] + 1.0
        self.bin_total[b][arm] = lam * self.bin_total[b][arm] + cost
        self.bin_count[b][arm] = lam * self.bin_count[b][arm] + 1.0
        self.arms.append(arm)
        self.costs.append(cost)

    def __repr__(self) -> str:
        return (f"ConfigBandit(arms={self.d}, rounds={self.t}, "
                f"contextual={self.uses_context}, seed={self.seed})")


# ------------------------------------------------------------------ the tuner


class SolverTuner:
    """Pick a solver configuration for each system by wall time, solve, learn.

    The sibling of :class:`~unisolve.OmegaTuner` that chooses the whole
    configuration, for a simulation that produces systems one at a time::

        tuner = unisolve.SolverTuner(context_range=(a, b), rtol=1e-8)
        for step in range(T):
            A, b = assemble(step)
            result = tuner.solve(A, b, x0=u, context=kappa(step))
            u = result.x

    ``solve(sequence, method="auto")`` runs one over a sequence.

    Parameters
    ----------
    candidates : list of (method, options), optional
        The configurations (default :data:`DEFAULT_CANDIDATES`). ``omega`` given
        as a learner name (``"auto"``, ...) learns ω inside the arm; ``pcg`` with
        a named preconditioner keeps it with ``reuse`` (default ``"auto"``).
    context_range : (float, float), optional
        Interval of the scalar context passed to :meth:`solve`: makes the bandit
        (and the arms' ω learners) contextual.
    seed : int
        Seed of the bandit and of the arms' learners.
    cost : {'time', 'iterations'} or callable
        What the bandit minimises: the wall seconds of the step's solve (set-up it
        paid included; the default), the iteration count, or ``cost(result)``
        for a :class:`Result` whose ``time`` is those seconds (tests inject a
        cost table this way). A solve that did not converge costs as if it had
        run to ``maxiter``.
    gamma : float
        Exploration: γ in ``η_t = γ√t``.
    clock : callable
        Seconds (``time.perf_counter``).
    **solver_options
        ``rtol``, ``atol``, ``maxiter``, ``callback``: passed to every candidate.

    Examples
    --------
    >>> import unisolve as us
    >>> seq = us.problems.heat_sequence(nx=12, steps=20)
    >>> tuner = us.SolverTuner([("cg", {}), ("pcg", {"preconditioner": "ic0"})],
    ...                        cost="iterations", rtol=1e-8)
    >>> u = None
    >>> for t in range(20):
    ...     r = tuner.solve(seq.instance(t, u))
    ...     u = r.x
    >>> r.converged, tuner.labels, len(tuner.choices)
    (True, ['cg', 'pcg ic0'], 20)
    >>> tuner.labels[int(np.argmax(tuner.learner.probabilities()))]   # fewer iterations
    'pcg ic0'
    """

    def __init__(self, candidates: Any = None, *, context_range: Any = None, seed: int = 0,
                 cost: Any = "time", gamma: float = 10.0,
                 clock: Callable[[], float] = time.perf_counter,
                 **solver_options: Any) -> None:
        pairs = check_candidates(DEFAULT_CANDIDATES if candidates is None else candidates)
        if not callable(cost) and cost not in COSTS:
            raise ValueError(
                f"cost must be 'time', 'iterations' or a callable cost(result), got {cost!r}")
        unknown = set(solver_options) - set(_SOLVE_OPTIONS)
        if unknown:
            raise TypeError(
                f"SolverTuner got unknown option(s) {', '.join(map(repr, sorted(unknown)))}; "
                f"options for every candidate are: {', '.join(_SOLVE_OPTIONS)} (put "
                "method options in the candidates)"
            )
        check_common(solver_options)  # the checks of solve(): rtol, atol, maxiter, callback
        self.candidates = pairs
        self.cost = cost
        self.clock = clock
        self.context_range = context_range
        self.arms = [_Arm(name, options, solver_options, context_range, seed)
                     for name, options in pairs]
        self.labels = [arm.label for arm in self.arms]
        self.learner = ConfigBandit(len(self.arms), context_range=context_range, gamma=gamma,
                                    seed=seed)
        self.choices: list[int] = []
        self.costs: list[float] = []
        self.warmed = False

    def warm_up(self, problem: LinearProblem) -> float:
        """Solve a tiny copy of ``problem`` once with every candidate; return the seconds.

        Called by the first :meth:`solve`: the first call of a compiled kernel in
        a process loads it, and that must not count as the candidate's cost.
        """
        t0 = self.clock()
        tiny = _tiny_copy(problem)
        if tiny is not None:
            for arm in self.arms:
                arm.warm_up(tiny)
        self.warmed = True
        return self.clock() - t0

    def _cost(self, result: Result, seconds: float) -> float:
        if callable(self.cost):
            return float(self.cost(result))
        cap = float(result.info.get("maxiter", result.iterations))
        its = max(result.iterations, 1)
        scale = 1.0 if result.converged else max(cap, float(its)) / its
        if self.cost == "iterations":
            return float(result.iterations) * scale
        return seconds * scale  # what running to maxiter would have cost

    def solve(self, A: Any, b: Any = None, *, x0: Any = None, context: Any = None) -> Result:
        """Choose a configuration, solve ``A x = b`` with it, and teach the bandit the cost.

        Parameters
        ----------
        A : matrix or LinearProblem
            The system matrix, or a whole problem (then ``b`` is omitted and
            ``context`` defaults to ``problem.context``).
        b : array, optional
            Right-hand side.
        x0 : array, optional
            Initial guess (default: the problem's ``x0``).
        context : float, optional
            The scalar the contextual bandit conditions on.

        Returns
        -------
        Result
            ``time``: seconds of the chosen configuration's solve (set-up
            included, learners not); ``info["config"]`` the configuration,
            ``info["arm"]`` its index, ``info["setup_time"]`` the build it paid,
            ``info["learner_time"]`` the bandit's and the arm's ω learner's seconds.
        """
        problem, context = problem_and_context(A, b, context, x0)
        if self.context_range is not None and context is None:
            raise ValueError(
                "this SolverTuner was given a context_range: pass context=... to every "
                "solve (or build it without context_range)"
            )
        clock = self.clock
        warm = 0.0 if self.warmed else self.warm_up(problem)
        t0 = clock()
        arm = self.learner.choose(context if self.learner.uses_context else None)
        first = self.learner.plays[arm] == 0
        t1 = clock()
        result, inner = self.arms[arm].solve(problem, x0, context, clock)
        t2 = clock()
        seconds = t2 - t1  # what this configuration cost this step
        result.time = seconds - inner
        result.info["config"] = self.labels[arm]
        result.info["arm"] = arm
        result.info.setdefault("setup_time", 0.0)
        if first and self.cost == "time":  # leave out the one-time start-up (docstring)
            seconds -= float(result.info["setup_time"]) + inner
        cost = self._cost(result, seconds)
        self.learner.update(cost)
        self.choices.append(arm)
        self.costs.append(cost)
        result.info["learner_time"] = warm + (t1 - t0) + inner + (clock() - t2)
        return result

    def __repr__(self) -> str:
        return f"SolverTuner(candidates={self.labels}, rounds={self.learner.t})"


# ------------------------------------------------------------------ the method


@method("auto", kinds=("linear",), matrix="SPD")
def auto(
    problem: LinearProblem,
    *,
    candidates: Any = None,
    cost: Any = "time",
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
) -> Result:
    """Choose the solver configuration: a wall-time bandit on sequences (one system: CG).

    On a sequence, a :class:`SolverTuner` picks among ``candidates`` for every
    system (module docstring); ``rs.info["choices"]`` lists the configuration
    of every step. On one system there is nothing to learn from: it is solved
    by the default method of linear systems (CG), or by the first candidate
    when ``candidates`` is given; ``info["chosen_because"]`` says which.

    Parameters
    ----------
    problem : LinearProblem
        The system (for sequences ``solve()`` runs the bandit instead).
    candidates : list of (method, options), optional
        The configurations (default :data:`DEFAULT_CANDIDATES`).
    cost : {'time', 'iterations'} or callable
        What the bandit minimises on a sequence (see :class:`SolverTuner`).
    rtol, atol, maxiter, x0, callback, seed
        As for every linear method; ``seed`` seeds the bandit.

    Examples
    --------
    >>> import unisolve as us
    >>> seq = us.problems.heat_sequence(nx=12, steps=12)
    >>> rs = us.solve(seq, method="auto", progress=False)
    >>> rs.converged, len(rs.info["choices"]), set(rs.info["choices"]) <= set(rs.info["candidates"])
    (True, 12, True)
    >>> r = us.solve(us.problems.poisson2d(8), method="auto")
    >>> r.converged, r.info["config"]
    (True, 'cg')
    """
    if candidates is None:
        name, options = default_method("linear"), {}
        because = "one system: nothing to learn from, so the default method of linear systems"
    else:
        name, options = check_candidates(candidates)[0]
        because = "one system: nothing to learn from, so the first of the candidates"
    if cost not in COSTS and not callable(cost):
        raise ValueError(
            f"cost must be 'time', 'iterations' or a callable cost(result), got {cost!r}")
    spec = get_method(name)
    common = {"rtol": rtol, "atol": atol, "maxiter": maxiter, "x0": x0, "callback": callback,
              "seed": seed}
    options = {k: v for k, v in {**common, **options}.items() if k in spec.options}
    result = spec.func(problem, **options)
    result.info["config"] = _label(name, {k: v for k, v in options.items() if k not in common})
    result.info["chosen_because"] = because
    return result


def solve_sequence(seq: Any, *, options: dict, progress: bool) -> Any:
    """``solve(seq, method="auto", ...)``: the configuration bandit over the sequence.

    ``info``: ``"candidates"`` (labels), ``"choices"`` (the label of every step),
    ``"arms"`` (their indices), ``"costs"`` (what the bandit saw), ``"rebuilt"``
    (steps where a reuse arm built its preconditioner), ``"tuner"``, ``"learner"``.
    """
    options = dict(options)
    candidates = options.pop("candidates", None)
    cost = options.pop("cost", "time")
    seed = options.pop("seed", None)
    x0 = options.pop("x0", None)
    tuner = SolverTuner(candidates, context_range=seq.context_range,
                        seed=0 if seed is None else seed, cost=cost, **options)
    contexts: list[float] = []

    def solve_one(problem: LinearProblem) -> Result:
        contexts.append(np.nan if problem.context is None else float(problem.context))
        return tuner.solve(problem, x0=x0, context=problem.context)

    rs = run_sequence(seq, solve_one, "auto", progress)
    rs.info.update({
        "method": "auto", "candidates": list(tuner.labels),
        "choices": [tuner.labels[i] for i in tuner.choices],
        "arms": np.asarray(tuner.choices), "costs": np.asarray(tuner.costs),
        "rebuilt": [t for t, r in enumerate(rs.results) if r.info.get("rebuilt")],
        "contexts": np.asarray(contexts), "tuner": tuner, "learner": tuner.learner,
    })
    return rs


auto.solve_sequence = solve_sequence

"""Online learners for the relaxation weight ω across a sequence of linear systems.

Khodak, Chow, Balcan, Talwalkar, "Learning to Relax: Setting Solver Parameters
Across a Sequence of Linear System Instances" (ICLR 2024). A simulation solves
systems ``A_t x = b_t``, t = 1..T, one after another; before each solve a
learner picks ω from a grid (default ``linspace(1, 1.95, 20)``), then sees the
cost of that one solve (bandit feedback: the iteration count). The protocol is

    ω_t = learner.choose(context_t)       # context_t: e.g. the diagonal shift c_t
    cost_t = iterations of the solve with ω_t
    learner.update(cost_t)

Learners (costs are assumed ≥ 1, the cost of the cheapest possible solve):

* :class:`TsallisINF` — online mirror descent with the ½-Tsallis entropy
  (Zimmert & Seldin 2021), as in the paper's reference code:

      η_t = 2 / √t
      p_i = 4 (η_t (K̂_i / s − x))⁻²,  x the normaliser with Σ p_i = 1 (Newton)
      after playing arm i:  K̂_i += (cost − 1) / p_i     (importance weighting)
      s = mean(costs so far) − 1                         (cost scale)

* :class:`TsallisINFCB` — the context interval cut into ``bins`` equal bins,
  one independent :class:`TsallisINF` per bin.
* :class:`ChebCB` — per arm a least-squares model of the scaled cost on the
  Chebyshev features ``T_0..T_{m−1}`` of the context mapped to [−1, 1]; play
  with inverse-gap weighting (Abe & Long 1999, Foster & Rakhlin 2020)

      p_i = 1 / (d + η (ŷ_i − ŷ*))  for i ≠ i*,   p_{i*} = 1 − Σ_{i≠i*} p_i

  with η growing about linearly in t.
* :class:`AutoOmega` — this project's default (``omega="auto"``); see its
  docstring for the design and the guarantee it keeps. Primed with the Jacobi
  spectral radius β̂ of the first system (``learner.prime(β̂)``, which
  :class:`~unisolve.OmegaTuner` calls), it models cost against ω with Young's
  SOR law over a mixture of system types, so that it is near the best fixed ω
  from the first tens of solves.

Every learner has ``choose(context=None) -> ω``, ``update(cost)``,
``prime(beta)`` (a hint before the first choice, ignored by the learners
without a cost model; ``wants_prime`` says whether it would be used),
``probabilities(context=None)`` (the distribution ``choose`` samples from),
``state_dict()`` / ``load_state_dict()`` (plain Python data, so a simulation
can stop and resume), and a ``seed``. The record of play is in ``omegas``,
``costs`` and ``contexts``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "ALIASES",
    "DEFAULT_GRID",
    "LEARNERS",
    "AutoOmega",
    "ChebCB",
    "OmegaLearner",
    "TsallisINF",
    "TsallisINFCB",
    "chebyshev_features",
    "make_learner",
    "sor_convergence_factor",
]

#: The paper's action grid: 20 weights from 1 to 1.95.
DEFAULT_GRID = np.linspace(1.0, 1.95, 20)


def _check_grid(grid: Any) -> np.ndarray:
    g = np.asarray(DEFAULT_GRID if grid is None else grid, dtype=float).ravel()
    if g.size == 0:
        raise ValueError("the omega grid is empty: pass at least one weight in (0, 2)")
    if not np.all(np.isfinite(g)) or np.any(g <= 0.0) or np.any(g >= 2.0):
        bad = g[~(np.isfinite(g) & (g > 0.0) & (g < 2.0))][0]
        raise ValueError(
            f"every omega in the grid must lie in (0, 2) (SOR cannot converge outside it, "
            f"Kahan 1958); got {bad!r}"
        )
    if np.unique(g).size != g.size:
        raise ValueError("the omega grid has repeated values: each arm must be distinct")
    return g


def _check_range(context_range: Any, name: str) -> tuple[float, float]:
    if context_range is None:
        raise ValueError(
            f"learner {name!r} uses a context and needs context_range=(low, high), the "
            "interval the contexts lie in (a LinearSequence declares it as .context_range)"
        )
    try:
        lo, hi = (float(v) for v in context_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"context_range must be a pair (low, high), got {context_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"context_range must be finite with low < high, got {context_range!r}")
    return lo, hi


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_cost(cost: Any) -> float:
    if isinstance(cost, bool) or not isinstance(cost, (int, float, np.integer, np.floating)):
        raise TypeError(f"cost must be a real number (e.g. an iteration count), got {cost!r}")
    cost = float(cost)
    if not math.isfinite(cost) or cost < 0:
        raise ValueError(f"cost must be finite and >= 0, got {cost!r}")
    return cost


def _checked_context(name: str, context: Any, context_range: tuple[float, float]) -> float:
    """The context as a float inside ``context_range``, else a clear error."""
    if context is None:
        raise ValueError(
            f"learner {name!r} needs a context for every choice (e.g. the diagonal "
            "shift or diffusivity of the system): choose(context=...)"
        )
    if isinstance(context, bool) or not isinstance(
            context, (int, float, np.integer, np.floating)):
        raise TypeError(f"context must be a real number, got {context!r}")
    c = float(context)
    lo, hi = context_range
    slack = 1e-9 * (hi - lo)
    if not (lo - slack <= c <= hi + slack):
        raise ValueError(
            f"context {c!r} lies outside the declared context_range ({lo!r}, {hi!r}): "
            "widen context_range when creating the learner"
        )
    return min(max(c, lo), hi)


def _sample(rng: np.random.Generator, p: np.ndarray) -> int:
    """Index drawn from the distribution ``p`` by one uniform number (inverse CDF)."""
    cdf = np.cumsum(p)
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), p.size - 1))


def chebyshev_features(z: float, m: int) -> np.ndarray:
    """``[T_0(z), ..., T_{m−1}(z)]`` by the recurrence ``T_{k+1} = 2 z T_k − T_{k−1}``.

    Examples
    --------
    >>> chebyshev_features(0.5, 4)          # 1, z, 2z² − 1, 4z³ − 3z
    array([ 1. ,  0.5, -0.5, -1. ])
    """
    out = np.empty(m)
    out[0] = 1.0
    if m > 1:
        out[1] = z
    for k in range(2, m):
        out[k] = 2.0 * z * out[k - 1] - out[k - 2]
    return out


class OmegaLearner:
    """Base class: the grid, the random stream, the record of play.

    Subclasses implement ``probabilities(context)``, ``_learn(arm, cost, context)``
    and the ``_state`` / ``_load`` pair for their own statistics.

    Parameters
    ----------
    grid : sequence of float, optional
        The arms: relaxation weights in (0, 2) (default :data:`DEFAULT_GRID`).
    seed : int
        Seed of the learner's own random stream.
    """

    name = "base"
    uses_context = False

    def __init__(self, grid: Sequence[float] | None = None, seed: int = 0) -> None:
        self.grid = _check_grid(grid)
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.omegas: list[float] = []
        self.costs: list[float] = []
        self.contexts: list[float | None] = []
        self.arms: list[int] = []
        self._pending: tuple[int, float | None] | None = None

    @property
    def d(self) -> int:
        """Number of arms."""
        return int(self.grid.size)

    @property
    def t(self) -> int:
        """Number of completed rounds (``update`` calls)."""
        return len(self.costs)

    def _context(self, context: Any) -> float | None:
        """Validate the context (subclasses that use one override this)."""
        return None if context is None else float(context)

    @property
    def wants_prime(self) -> bool:
        """Whether :meth:`prime` would use a hint now (the base learner never does)."""
        return False

    def prime(self, beta: float) -> None:
        """A hint before the first choice: the Jacobi spectral radius of a typical system.

        Learners without a cost model ignore it (:class:`AutoOmega` builds its
        prior from it). :class:`~unisolve.OmegaTuner` computes β only for a
        learner whose :attr:`wants_prime` is true.
        """

    def probabilities(self, context: Any = None) -> np.ndarray:
        """The distribution over the grid that :meth:`choose` samples from now."""
        raise NotImplementedError

    def choose(self, context: Any = None) -> float:
        """Pick ω for the next solve (one sample from :meth:`probabilities`)."""
        c = self._context(context)
        arm = _sample(self.rng, self.probabilities(c))
        self._pending = (arm, c)
        return float(self.grid[arm])

    def update(self, cost: float) -> None:
        """Feed back the cost (e.g. iterations) of the solve run with the last choice."""
        if self._pending is None:
            raise RuntimeError("update(cost) must follow choose(): no omega is pending")
        cost = _check_cost(cost)
        arm, c = self._pending
        self._pending = None
        self._learn(arm, cost, c)
        self.arms.append(arm)
        self.omegas.append(float(self.grid[arm]))
        self.costs.append(cost)
        self.contexts.append(c)

    def _learn(self, arm: int, cost: float, context: float | None) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------ persistence

    def state_dict(self) -> dict:
        """Everything needed to resume: plain Python data (JSON-serialisable).

        Examples
        --------
        >>> a = TsallisINF(seed=3)
        >>> for cost in (120, 80, 95):
        ...     _ = a.choose(); a.update(cost)
        >>> b = TsallisINF(seed=99)
        >>> b.load_state_dict(a.state_dict())
        >>> a.choose() == b.choose(), b.t
        (True, 3)
        """
        return {
            "name": self.name,
            "grid": self.grid.tolist(),
            "seed": self.seed,
            "rng": self.rng.bit_generator.state,
            "omegas": list(self.omegas),
            "costs": list(self.costs),
            "contexts": list(self.contexts),
            "arms": list(self.arms),
            "pending": None if self._pending is None else list(self._pending),
            "stats": self._state(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (the learner class must match)."""
        if state.get("name") != self.name:
            raise ValueError(
                f"this state belongs to learner {state.get('name')!r}, not {self.name!r}"
            )
        self.grid = _check_grid(state["grid"])
        self.seed = state["seed"]
        self.rng = np.random.default_rng()
        self.rng.bit_generator.state = state["rng"]
        self.omegas = [float(v) for v in state["omegas"]]
        self.costs = [float(v) for v in state["costs"]]
        self.contexts = list(state["contexts"])
        self.arms = [int(v) for v in state["arms"]]
        self._pending = None if state["pending"] is None else (
            int(state["pending"][0]), state["pending"][1])
        self._load(state["stats"])

    def _state(self) -> dict:
        raise NotImplementedError

    def _load(self, stats: dict) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(arms={self.d}, grid=[{self.grid[0]:g}..{self.grid[-1]:g}]"
                f", rounds={self.t}, seed={self.seed})")


# ------------------------------------------------------------------ Tsallis-INF


class TsallisINF(OmegaLearner):
    """½-Tsallis-INF over the ω grid, exactly the update of the paper's code.

    Round t (1-based) with learning rate ``η = 2/√t``: the play distribution is

        p_i = 4 (η (K̂_i / s − x))⁻²,

    ``x`` the normaliser with ``Σ p_i = 1``, found by Newton's method on the
    convex increasing ``f(x) = Σ p_i(x) − 1`` (``f′ = η Σ p_i^{3/2}``). After
    playing arm i with cost c: ``K̂_i += (c − 1)/p_i`` and the scale ``s`` becomes
    the mean cost so far minus 1.

    Newton starts at ``x₀ = min_i K̂_i/s − 2/η``, where the smallest-loss arm has
    ``p = 1`` so ``f(x₀) ≥ 0``: from there the iteration decreases monotonically
    to the root (f is convex), to ``|Σp − 1| < 1e-13``. The reference code
    starts at ``x = −1`` for 20 steps; that start lies LEFT of the root as soon
    as ``min K̂/s > 2/η − 1`` (after a hundred-odd rounds on the paper's
    problems), Newton then jumps past a pole and settles on a spurious root
    between poles, which puts mass on arms whose estimate is near x rather than
    on the best ones. ``normaliser="reference"`` reproduces that loop (weights
    sampled in proportion, importance weights the raw Newton weights) for the
    paper-reproduction benchmark; the default ``"exact"`` is the algorithm of
    Zimmert & Seldin. ``s`` stays 1 while every cost so far is 1.

    Parameters
    ----------
    grid : sequence of float, optional
        Relaxation weights (default ``linspace(1, 1.95, 20)``).
    seed : int
        Seed of the sampling stream.
    normaliser : {'exact', 'reference'}
        How x is found (see above).

    Examples
    --------
    >>> import numpy as np
    >>> learner = TsallisINF(seed=0)
    >>> omega = learner.choose()
    >>> learner.update(150)          # the SOR solve with that omega took 150 iterations
    >>> p = learner.probabilities()
    >>> bool(np.isclose(p.sum(), 1.0)), p.shape
    (True, (20,))
    """

    name = "tsallis"

    def __init__(self, grid: Sequence[float] | None = None, seed: int = 0,
                 normaliser: str = "exact") -> None:
        super().__init__(grid, seed)
        if normaliser not in ("exact", "reference"):
            raise ValueError(f"normaliser must be 'exact' or 'reference', got {normaliser!r}")
        self.normaliser = normaliser
        self.K = np.zeros(self.d)  # importance-weighted cumulative loss estimates K̂_i
        self.scale = 1.0
        self._cost_sum = 0.0
        self._round_weights: tuple[int, np.ndarray] | None = None

    def _weights(self) -> np.ndarray:
        """``p_i = 4 (η (K̂_i/s − x))⁻²`` at the Newton normaliser x (once per round)."""
        if self._round_weights is not None and self._round_weights[0] == self.t:
            return self._round_weights[1]  # choose() and update() of one round share it
        p = self._newton_weights()
        self._round_weights = (self.t, p)
        return p

    def _newton_weights(self) -> np.ndarray:
        eta = 2.0 / math.sqrt(self.t + 1)  # η_t = 2/√t, t the 1-based round
        k = self.K / self.scale
        if self.normaliser == "reference":  # the published loop: x = −1, 20 steps
            x = -1.0
            for _ in range(20):
                p = 4.0 / (eta * (k - x)) ** 2
                x -= (p.sum() - 1.0) / (eta * np.sum(p**1.5))
            return p
        x = float(k.min()) - 2.0 / eta  # there p_min = 1, so f(x) ≥ 0: right of the root
        for _ in range(100):
            p = 4.0 / (eta * (k - x)) ** 2  # p_i = 4 (η (K̂_i/s − x))⁻²
            excess = p.sum() - 1.0
            if abs(excess) < 1e-13:
                break
            x -= excess / (eta * np.sum(p**1.5))  # Newton: f′(x) = η Σ p_i^{3/2}
        return p

    def probabilities(self, context: Any = None) -> np.ndarray:
        p = self._weights()
        if not np.all(np.isfinite(p)):  # only the reference loop can get here
            return np.full(self.d, 1.0 / self.d)
        return p / p.sum()

    def _learn(self, arm: int, cost: float, context: float | None) -> None:
        # importance-weighted loss estimate of (cost − 1); the reference divides by
        # its raw Newton weight, the exact normaliser's weights already sum to 1
        p = self._weights()[arm] if self.normaliser == "reference" else (
            self.probabilities()[arm])
        if math.isfinite(p) and p > 0:
            self.K[arm] += (cost - 1.0) / p
        self._cost_sum += cost
        mean_minus_one = self._cost_sum / (self.t + 1) - 1.0  # s = mean(costs) − 1
        self.scale = mean_minus_one if mean_minus_one > 0 else 1.0

    def _state(self) -> dict:
        return {"K": self.K.tolist(), "scale": self.scale, "cost_sum": self._cost_sum,
                "normaliser": self.normaliser}

    def _load(self, stats: dict) -> None:
        self.normaliser = stats["normaliser"]
        self._round_weights = None
        self.K = np.asarray(stats["K"], dtype=float)
        self.scale = float(stats["scale"])
        self._cost_sum = float(stats["cost_sum"])


# -------------------------------------------------------------- contextual ones


class _ContextualLearner(OmegaLearner):
    """A learner that needs a scalar context in a declared interval."""

    uses_context = True

    def __init__(self, grid: Sequence[float] | None, context_range: Any, seed: int) -> None:
        super().__init__(grid, seed)
        self.context_range = _check_range(context_range, self.name)

    def _context(self, context: Any) -> float:
        return _checked_context(self.name, context, self.context_range)

    def _unit(self, c: float) -> float:
        """The context mapped affinely to [−1, 1]."""
        lo, hi = self.context_range
        return 2.0 * (c - lo) / (hi - lo) - 1.0


class TsallisINFCB(_ContextualLearner):
    """Tsallis-INF per context bin: the interval cut into ``bins`` equal parts.

    A context goes to the bin whose centre ``a + (b − a)(j + ½)/m`` is nearest;
    each bin runs its own :class:`TsallisINF` (seeded from ``seed``).

    Parameters
    ----------
    grid : sequence of float, optional
        Relaxation weights.
    context_range : (float, float)
        Interval of the contexts.
    bins : int
        Number of bins (5 in the paper's SOR experiment, 6 in the heat one).
    seed : int
        Seed.

    Examples
    --------
    >>> learner = TsallisINFCB(context_range=(0.0, 1.0), bins=4, seed=0)
    >>> omega = learner.choose(context=0.9); learner.update(40)
    >>> [b.t for b in learner.experts]     # only the last bin has learned
    [0, 0, 0, 1]
    """

    name = "tsallis-cb"

    def __init__(self, grid: Sequence[float] | None = None, context_range: Any = None,
                 bins: int = 5, seed: int = 0) -> None:
        super().__init__(grid, context_range, seed)
        self.bins = _check_positive_int(bins, "bins")
        seeds = np.random.SeedSequence(seed).spawn(self.bins)
        self.experts = [TsallisINF(self.grid, seed=int(np.random.default_rng(s).integers(2**31)))
                        for s in seeds]
        self._bin: int | None = None

    def bin_of(self, context: float) -> int:
        """Index of the bin whose centre is nearest to the context."""
        z = (self._unit(context) + 1.0) / 2.0 * self.bins  # position in units of bins
        return int(min(max(math.floor(z), 0), self.bins - 1))

    def probabilities(self, context: Any = None) -> np.ndarray:
        return self.experts[self.bin_of(self._context(context))].probabilities()

    def choose(self, context: Any = None) -> float:
        c = self._context(context)
        self._bin = self.bin_of(c)
        omega = self.experts[self._bin].choose()
        self._pending = (self.experts[self._bin]._pending[0], c)
        return omega

    def _learn(self, arm: int, cost: float, context: float | None) -> None:
        self.experts[self._bin].update(cost)

    def _state(self) -> dict:
        return {"bins": self.bins, "bin": self._bin,
                "experts": [e.state_dict() for e in self.experts]}

    def _load(self, stats: dict) -> None:
        self.bins = int(stats["bins"])
        self._bin = stats["bin"]
        self.experts = [TsallisINF(self.grid) for _ in range(self.bins)]
        for e, s in zip(self.experts, stats["experts"], strict=True):
            e.load_state_dict(s)


class ChebCB(_ContextualLearner):
    """Chebyshev contextual bandit (the paper's ChebCB), inverse-gap weighting.

    Each arm i has a model ``ŷ_i(c) = θ_iᵀ φ(c)``, ``φ = (T_0, ..., T_{m−1})`` of
    the context mapped to [−1, 1], fitted by least squares (minimum norm) to
    the scaled costs ``(cost − 1)/S`` of the rounds that played it, with the
    coefficients boxed by ``|θ_0| ≤ 1/N``, ``|θ_j| ≤ 2(b − a)L/(S j)`` (a
    bounded least-squares fit when the plain one leaves the box). Here
    ``K = max cost``, ``L = (max − min cost)/(b − a)``,
    ``N = 2 + 4(b − a)L(1 + log m)/K`` and ``S = K N``. Play

        p_i = 1 / (d + η (ŷ_i − ŷ*)),  i ≠ i* = argmin ŷ,   p_{i*} = 1 − Σ_{i≠i*} p_i,

    with ``η = 2t √(d t / (R − r + 2α² t))`` after round t, ``R`` the squared
    error of past predictions, ``r`` the residual of the last boxed fit and
    ``α = (π + (2/π) log(2m + 1)) (b − a) L / (2 S (m + 1))`` — the published
    schedule, which grows about linearly in t.

    Parameters
    ----------
    grid : sequence of float, optional
        Relaxation weights.
    context_range : (float, float)
        Interval of the contexts.
    degree : int
        ``m``, the number of Chebyshev features (degree < m; 6 in the paper).
    seed : int
        Seed.

    Examples
    --------
    >>> import numpy as np
    >>> learner = ChebCB(context_range=(-1.0, 1.0), seed=0)
    >>> for t in range(30):
    ...     c = np.sin(t)
    ...     omega = learner.choose(context=c)
    ...     learner.update(10 + 50 * (omega - 1.5 - 0.3 * c) ** 2)
    >>> p = learner.probabilities(context=0.2)
    >>> bool(np.isclose(p.sum(), 1.0)), bool((p >= 0).all())
    (True, True)
    """

    name = "chebcb"

    def __init__(self, grid: Sequence[float] | None = None, context_range: Any = None,
                 degree: int = 6, seed: int = 0) -> None:
        super().__init__(grid, context_range, seed)
        self.m = _check_positive_int(degree, "degree")
        self.theta = np.zeros((self.d, self.m))
        # sufficient statistics per arm, so a round costs O(d m²), not O(t):
        # Gram Σφφᵀ, moment Σφ(cost − 1), Σ(cost − 1)²
        self.gram = np.zeros((self.d, self.m, self.m))
        self.moment = np.zeros((self.d, self.m))
        self.square = np.zeros(self.d)
        # for R = Σ (prediction − cost/S)²: Σ pred², Σ pred·cost, Σ cost²
        self.sums = np.zeros(3)
        self.eta = 0.0
        self.S = 0.0  # the cost scale K N

    def model(self, context: Any) -> np.ndarray:
        """Predicted scaled cost ``ŷ_i(c)`` of every arm (cost ≈ 1 + S ŷ)."""
        return self.theta @ chebyshev_features(self._unit(self._context(context)), self.m)

    def probabilities(self, context: Any = None) -> np.ndarray:
        yhat = self.model(context)
        best = int(np.argmin(yhat))
        p = 1.0 / (self.d + self.eta * (yhat - yhat[best]))  # inverse-gap weighting
        p[best] = 0.0
        p[best] = 1.0 - p.sum()
        return p

    def _fit(self, i: int, ub: np.ndarray) -> float | None:
        """Refit arm i: minimum-norm least squares of (cost − 1)/S on φ, boxed to |θ| ≤ ub.

        From the arm's normal equations ``G θ = h`` (``G = Σφφᵀ``, ``h = Σφ y``):
        their minimum-norm solution is the minimum-norm least-squares fit. When it
        leaves the box, the bounded fit minimises ``θᵀGθ − 2θᵀh`` (= ‖Xθ − y‖² up to
        a constant) as ``‖Cθ − C⁻ᵀh‖²`` with ``G = CᵀC``. Returns the boxed fit's
        squared residual, None when no box was needed.
        """
        G, h = self.gram[i], self.moment[i] / self.S
        theta = np.linalg.lstsq(G, h, rcond=None)[0]
        if np.all(np.abs(theta) <= ub):
            self.theta[i] = theta
            return None
        from scipy.linalg import cholesky, solve_triangular
        from scipy.optimize import lsq_linear

        C = cholesky(G + 1e-12 * np.trace(G) * np.eye(self.m))  # G = CᵀC
        target = solve_triangular(C, h, trans="T")
        free = ub > 0  # a zero bound pins that coefficient at 0
        theta = np.zeros(self.m)
        if free.any():
            theta[free] = lsq_linear(C[:, free], target, bounds=(-ub[free], ub[free]),
                                     method="bvls").x
        self.theta[i] = theta
        return float(theta @ G @ theta - 2.0 * theta @ h + self.square[i] / self.S**2)

    def _learn(self, arm: int, cost: float, context: float | None) -> None:
        phi = chebyshev_features(self._unit(context), self.m)
        prediction = float(self.theta[arm] @ phi)  # the model's guess when it played
        self.gram[arm] += np.outer(phi, phi)
        self.moment[arm] += phi * (cost - 1.0)
        self.square[arm] += (cost - 1.0) ** 2
        self.sums += (prediction**2, prediction * cost, cost**2)
        t = self.t + 1
        span = self.context_range[1] - self.context_range[0]
        K = max(cost, max(self.costs, default=cost))  # the largest cost so far
        L = (K - min(cost, min(self.costs, default=cost))) / span
        N = 2.0 + 4.0 * span * L / K * (1.0 + math.log(self.m))
        rescaled = self.S != K * N
        self.S = K * N
        ub = np.concatenate([[1.0 / N], 2.0 * span * L / self.S / np.arange(1, self.m)])
        boxed_residual = 0.0
        for i in range(self.d) if rescaled else (arm,):
            if self.gram[i, 0, 0] > 0:  # the arm has been played
                r = self._fit(i, ub)
                if r is not None:
                    boxed_residual = r
        alpha = (math.pi + 2.0 / math.pi * math.log(2 * self.m + 1)) / (
            2.0 * self.S * (self.m + 1)) * span * L
        p2, pc, c2 = self.sums
        R = p2 - 2.0 * pc / self.S + c2 / self.S**2  # Σ (prediction − cost/S)²
        denom = max(R - boxed_residual + 2.0 * alpha**2 * t, 1e-300)
        self.eta = 2.0 * t * math.sqrt(self.d * t / denom)

    def _state(self) -> dict:
        return {"m": self.m, "theta": self.theta.tolist(), "gram": self.gram.tolist(),
                "moment": self.moment.tolist(), "square": self.square.tolist(),
                "sums": self.sums.tolist(), "eta": self.eta, "S": self.S,
                "context_range": list(self.context_range)}

    def _load(self, stats: dict) -> None:
        self.m = int(stats["m"])
        self.theta = np.asarray(stats["theta"], dtype=float).reshape(self.d, self.m)
        self.gram = np.asarray(stats["gram"], dtype=float).reshape(self.d, self.m, self.m)
        self.moment = np.asarray(stats["moment"], dtype=float).reshape(self.d, self.m)
        self.square = np.asarray(stats["square"], dtype=float)
        self.sums = np.asarray(stats["sums"], dtype=float)
        self.eta = float(stats["eta"])
        self.S = float(stats["S"])
        self.context_range = tuple(stats["context_range"])


# ------------------------------------------------------------------ the default


def sor_convergence_factor(omega: Any, beta: Any) -> np.ndarray:
    """Young's ``ρ(SOR_ω)`` for a Jacobi spectral radius ``β`` (consistently ordered A).

    With ``ω* = 2 / (1 + √(1 − β²))`` (D. M. Young 1950; Varga, *Matrix Iterative
    Analysis*, Thm. 4.27)::

        ρ = ω − 1                                     for ω ≥ ω*
        ρ = ((ω β + √(ω² β² − 4 (ω − 1))) / 2)²        for ω < ω*

    Broadcasts over ``omega`` and ``beta``. :class:`AutoOmega` builds its cost
    model on it (iterations ∝ 1/(−log ρ)); it lives here rather than in
    :mod:`~unisolve.solvers.young` so that the learners import no solver module.

    Examples
    --------
    >>> import numpy as np
    >>> beta = np.cos(np.pi / 11)             # 2D Laplacian, 10 x 10 interior points
    >>> w = 2 / (1 + np.sqrt(1 - beta**2))     # Young's ω*
    >>> sor_convergence_factor([1.0, w, 1.9], beta).round(4)   # β², ω* − 1, ω − 1
    array([0.9206, 0.5604, 0.9   ])
    """
    w = np.asarray(omega, dtype=float)
    b = np.asarray(beta, dtype=float)
    w_star = 2.0 / (1.0 + np.sqrt(np.maximum(1.0 - b * b, 0.0)))  # ω* = 2/(1 + √(1 − β²))
    disc = np.maximum(w * w * b * b - 4.0 * (w - 1.0), 0.0)
    below = ((w * b + np.sqrt(disc)) / 2.0) ** 2  # ((ωβ + √(ω²β² − 4(ω − 1)))/2)²
    return np.where(w >= w_star, w - 1.0, below)


class AutoOmega(OmegaLearner):
    """The default learner (``omega="auto"``): inverse-gap weighting on a cost model.

    The paper's learners are built for adversarial costs. Sequences from
    simulations are kinder: instances come from a fixed (or slowly moving)
    distribution, and cost is smooth in ω. ``AutoOmega`` is SquareCB (Foster &
    Rakhlin, ICML 2020): keep a regression model ``ĉ_i`` of the cost of each
    arm, play

        g_i = (ĉ_i − ĉ*)/ĉ*            (relative gap to the best predicted arm)
        p_i = 1 / (d + η_t g_i),  i ≠ i*,   p_{i*} = 1 − Σ_{i≠i*} p_i,   η_t = γ √t.

    **Primed** — :meth:`prime` with the Jacobi spectral radius ``β̂`` of a
    typical system (:class:`~unisolve.OmegaTuner` and ``solve(sequence,
    omega="auto")`` compute it on the first system: closed form for a stencil,
    a few Lanczos steps otherwise). Every arm then has a prediction from the
    first round on, from a model that pools all arms:

    * the systems are a mixture of 48 latent types k (Young's ω*_k from 1 to
      1.99, Jacobi radius ``β_k``) with weights ``w_k``; a type-k solve with
      weight ω costs ``log c = ℓ + log N(ω, β_k) + ε``, ``ε ~ N(0, σ²)``, σ = 0.3,
      where ``N = 1/(−log ρ)`` with ρ from :func:`sor_convergence_factor`,
      times ``exp(0.2 [ω ≥ ω*_k] + 0.25 exp(−|ω − ω*_k|/0.07))`` — the excess
      over the asymptotic rate measured on the shifted-Laplacian and heat
      sequences (no fast transient above ω*, the Jordan block at ω*); the log
      cost then lies within 0.05–0.15 (s.d.) of the model;
    * the prime sets the prior of ``w``: around ``ω*(β̂)`` a Gaussian in ω* of
      width 0.1 below and 0.02 above, plus 1% spread over the lighter types
      (ω*_k ≤ ω*(β̂)) and 0.01% over the heavier ones, worth 5 observations.
      Lopsided on purpose: a solve with ω ≥ ω* of its system costs the same
      under every type lighter than ω (Young: ρ = ω − 1), so data cannot take
      back weight that the prior put on types heavier than the sequence's
      systems, while a solve with ω < ω* of its system does reveal a heavier
      one. A prior centred on a near-singular first system left the learner
      stuck at ω = 1.95 (3.3× the best fixed ω on one shifted-Laplacian
      sequence). ``w`` and the scale ``ℓ``
      are fitted by EM to every (ω, cost) seen — the whole record every round up
      to round 16, then whenever the record has grown by 1/8, with one online EM
      step per round in between — so each solve informs all arms;
    * without a context: ``ĉ_i = (S_i + κ m_i)/(n_i + κ)``, the running mean
      cost ``S_i/n_i`` of the arm shrunk towards the mixture's mean
      ``m_i = e^{ℓ + σ²/2} Σ_k w_k N(ω_i, β_k)`` (capped at 10× the largest cost
      seen) with weight κ = 30 — arithmetic
      means: across systems the cost is heavy-tailed (near-singular systems take
      thousands of iterations), and the arm with the fewest total iterations is
      not the arm with the best geometric mean;
    * with ``context_range``: mixture weights per context bin (16 bins,
      Gaussian-kernel smoothing of width 0.1 of the interval, shrunk towards
      the pooled ``w`` with weight 3), and per arm a ridge regression (weight 3)
      of the residual ``log c − log m_i(c)`` on the Chebyshev features
      ``φ = T_0..T_{m−1}`` of the context: ``ĉ_i(c) = m_i(c) exp(θ_iᵀφ(c))``.
      With few rounds near a context the residual fit is ~0 and the bin's
      mixture is the pooled one. Both this model and the pooled one above
      predict the played arm's cost before each update; the learner plays with
      the one whose squared prediction errors sum lower so far, so a context
      that says nothing about the cost (or too little for its extra freedom to
      pay yet) leaves it playing the non-contextual model — within 1.5% of it
      at T = 200 on synthetic SOR costs with a random context, while the shift
      as context takes the shifted-Laplacian sequence from 1.09× to 0.81× the
      best fixed ω (T = 200, mean of 10 seeds).

    The primed model assumes relaxation-like costs (SOR's law; SSOR and
    SSOR-PCG costs have the same shape in ω and measured as well). For a cost of
    another shape the running means still take over in the long run, but the
    contextual model can mislead: a symmetric quadratic cost with heavy noise is
    not followed across contexts in 800 rounds. Leave the learner unprimed
    there (``OmegaTuner(prime=False)``).

    **Not primed**, the model is the plain per-arm one, and an arm never played
    has ``g = 0`` (each is tried early): the running arithmetic mean per arm
    without a context; with one, per arm a ridge regression of ``log cost`` on
    ``φ(c)`` (``ĉ_i = exp(θ_iᵀφ)``).

    Guarantee: with a regression oracle of square-loss regret ``R(T)``,
    inverse-gap weighting with ``η ≈ √(dT/R)`` has regret ``O(√(d T R))``
    (Foster & Rakhlin 2020, Thm. 1); ``η_t = γ√t`` is the anytime schedule.
    Running means of costs bounded by ``maxiter`` (B) have ``R = O(d B² log T)``.
    Primed, every prediction lies in ``[0, 10B]`` (the cap), so the
    non-contextual prediction of an arm played ``n_i`` times differs from its
    running mean by at most ``10κB/(n_i + κ)``, whatever the mixture says; that
    adds ``O(κ d B² log T)`` to R, and the learner stays no-regret,
    ``O(d √(T log T))``, against the best fixed arm — the prime and the mixture
    change the first rounds and the constant, not the order of the bound. The
    contextual learner keeps the guarantee when the log-cost (residual) of each
    arm is (close to) a polynomial of degree < m in the context
    (realizability); otherwise it is a well-behaved heuristic, and
    ``omega="tsallis-cb"`` is the learner that assumes nothing.

    Parameters
    ----------
    grid : sequence of float, optional
        Relaxation weights (default ``linspace(1, 1.95, 20)``).
    context_range : (float, float), optional
        Give it to learn ω as a function of a scalar context (then every
        ``choose`` needs a context in this interval); leave it out to learn one ω.
    gamma : float, optional
        γ in ``η_t = γ√t``: larger exploits sooner. Default 60 when primed (the
        pooled model informs the arms not yet played; 40–60 measured best at
        T = 200) and 10 when not (unprimed, 5–20 all land within 1.12× of the
        best fixed ω on the paper's sequence at T = 5000).
    degree : int
        Number of Chebyshev features of the contextual model.
    ridge : float
        Ridge weight of the unprimed contextual regression.
    seed : int
        Seed.

    Examples
    --------
    >>> import numpy as np
    >>> learner = AutoOmega(seed=0)
    >>> rng = np.random.default_rng(0)
    >>> for t in range(2000):        # cost smallest at omega = 1.7, heavy-tailed noise
    ...     omega = learner.choose()
    ...     learner.update(1 + rng.pareto(3.0) * 100 * (1 + 10 * (omega - 1.7) ** 2))
    >>> float(learner.grid[np.argmax(learner.probabilities())])
    1.7

    Primed with the Jacobi radius of a system, the learner starts at that
    system's ω* (here the 2D Laplacian on 10 x 10 points, ω* = 1.56):

    >>> learner = AutoOmega(seed=0)
    >>> learner.prime(np.cos(np.pi / 11))
    >>> round(float(learner.grid[np.argmax(learner.probabilities())]), 2)
    1.55
    """

    name = "auto"
    #: Young's ω* of the latent system types of the primed model
    TYPES = np.linspace(1.0, 1.99, 48)
    SIGMA = 0.3  # s.d. of the log cost around the model
    KAPPA = 30.0  # weight of the model's mean in an arm's estimate (in observations)
    PRIOR_WEIGHT = 5.0  # weight of the prime's prior in the mixture (in observations)
    PRIOR_WIDTH = 0.1  # width of the prior, in ω*
    PRIOR_ABOVE = 0.02  # its width above ω*(β̂)
    BINS, BANDWIDTH, BIN_WEIGHT, RESIDUAL_RIDGE = 16, 0.1, 3.0, 3.0
    EM_STEPS, EVERY_ROUND_UNTIL, REFIT_GROWTH = 5, 16, 8
    CLIP = 10.0  # predictions are capped at CLIP x the largest cost seen

    def __init__(self, grid: Sequence[float] | None = None, context_range: Any = None,
                 gamma: float | None = None, degree: int = 6, ridge: float = 1e-2,
                 seed: int = 0) -> None:
        super().__init__(grid, seed)
        self.context_range = None if context_range is None else _check_range(
            context_range, self.name)
        self.uses_context = self.context_range is not None
        if gamma is not None and (isinstance(gamma, bool) or not isinstance(
                gamma, (int, float)) or not (gamma > 0 and math.isfinite(gamma))):
            raise ValueError(f"gamma must be a positive number or None, got {gamma!r}")
        _check_positive_int(degree, "degree")
        if not (isinstance(ridge, (int, float)) and ridge > 0):
            raise ValueError(f"ridge must be a positive number, got {ridge!r}")
        self.gamma = None if gamma is None else float(gamma)
        self.m, self.ridge = int(degree), float(ridge)
        self.count = np.zeros(self.d)
        self.total = np.zeros(self.d)  # sum of costs per arm (non-contextual model)
        self.gram = np.tile(self.ridge * np.eye(self.m), (self.d, 1, 1))  # Σ φφᵀ + λI
        self.moment = np.zeros((self.d, self.m))  # Σ φ log(cost)
        self.beta: float | None = None  # the prime; None: not primed
        self._build_model()

    # ------------------------------------------------------ the primed model

    def _build_model(self) -> None:
        """The model's constants (from the grid) and empty mixture statistics."""
        types = self.TYPES
        betas = np.sqrt(np.maximum(1.0 - (2.0 / types - 1.0) ** 2, 0.0))  # β of ω*
        rho = np.clip(sor_convergence_factor(self.grid[:, None], betas[None, :]),
                      1e-3, 1.0 - 1e-12)
        delta = self.grid[:, None] - types[None, :]
        # log N(ω_i, β_k) = −log(−log ρ) + the measured excess over the asymptotic count
        self._log_n = (-np.log(-np.log(rho)) + 0.2 * (delta >= 0.0)
                       + 0.25 * np.exp(-np.abs(delta) / 0.07))
        self._n = np.exp(self._log_n)
        centres = (np.arange(self.BINS) + 0.5) / self.BINS
        self._kernel = np.exp(-0.5 * ((centres[:, None] - centres[None, :])
                                      / self.BANDWIDTH) ** 2)
        k = types.size
        self._prior = np.full(k, 1.0 / k)
        self.weights = self._prior.copy()  # mixture weights w_k
        self.ell: float | None = None  # log scale ℓ (None before the first cost)
        self.r_sum = np.zeros(k)  # Σ_t r_tk (EM sufficient statistics)
        self.ell_sum = 0.0  # Σ_t Σ_k r_tk (log c_t − log N_tk)
        self.bin_r = np.zeros((self.BINS, k))  # Σ r_tk over the rounds of each bin
        self.bin_n = np.zeros(self.BINS)
        self.bin_weights = np.tile(self.weights, (self.BINS, 1))
        self.rgram = np.tile(self.RESIDUAL_RIDGE * np.eye(self.m), (self.d, 1, 1))
        self.rmoment = np.zeros((self.d, self.m))  # Σ φ (log c − log m_i(c))
        self.theta = np.zeros((self.d, self.m))
        self.next_refit = 1
        # Σ (cost − prediction)² of the pooled and the contextual model, each
        # predicting the played arm before it learns the cost
        self.pooled_loss = 0.0
        self.context_loss = 0.0
        self.cost_max = 0.0  # the largest cost seen (caps the model's predictions)

    @property
    def primed(self) -> bool:
        """Whether :meth:`prime` gave the learner a Jacobi spectral radius."""
        return self.beta is not None

    @property
    def wants_prime(self) -> bool:
        """True until the first choice of an unprimed learner (:meth:`prime` is possible)."""
        return self.beta is None and self.t == 0 and self._pending is None

    def prime(self, beta: float) -> None:
        """Start from a model: ``beta`` is the Jacobi spectral radius of a typical system.

        Call before the first :meth:`choose` (:class:`~unisolve.OmegaTuner` does,
        with β of its first system). The mixture's prior is then centred on
        Young's ``ω*(β)``; see the class docstring.
        """
        if not self.wants_prime:
            raise RuntimeError("prime(beta) must come once, before the first choose()")
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)):
            raise TypeError(f"beta must be a real number, got {beta!r}")
        if not 0.0 <= float(beta) < 1.0:
            raise ValueError(
                f"beta is a Jacobi spectral radius in [0, 1), got {beta!r}; for a system "
                "whose Jacobi iteration diverges leave the learner unprimed")
        self.beta = float(beta)
        self._set_prior()
        self.weights = self._prior.copy()
        self.bin_weights = np.tile(self.weights, (self.BINS, 1))

    def _set_prior(self) -> None:
        w0 = 2.0 / (1.0 + math.sqrt(1.0 - self.beta**2))  # Young's ω*(β̂)
        width = np.where(self.TYPES <= w0, self.PRIOR_WIDTH, self.PRIOR_ABOVE)
        prior = np.exp(-0.5 * ((self.TYPES - w0) / width) ** 2)
        lighter = self.TYPES <= w0
        prior[lighter] += 0.01 * prior.sum() / max(lighter.sum(), 1)  # 1% spread below
        prior[~lighter] += 1e-4 * prior.sum() / max((~lighter).sum(), 1)  # 0.01% above
        self._prior = prior / prior.sum()

    def _bin(self, c: float) -> int:
        lo, hi = self.context_range
        return min(max(int((c - lo) / (hi - lo) * self.BINS), 0), self.BINS - 1)

    def _unit(self, c: Any) -> Any:
        lo, hi = self.context_range
        return 2.0 * (np.asarray(c, dtype=float) - lo) / (hi - lo) - 1.0

    def _features(self, c: float) -> np.ndarray:
        return chebyshev_features(float(self._unit(c)), self.m)

    def _mixture_mean(self, weights: np.ndarray) -> np.ndarray:
        """``m_i = e^{ℓ + σ²/2} Σ_k w_k N(ω_i, β_k)`` (relative, ℓ = 0, before any cost)."""
        scale = 1.0 if self.ell is None else math.exp(self.ell + 0.5 * self.SIGMA**2)
        return scale * (self._n @ weights)

    def _responsibilities(self, arms: np.ndarray, y: np.ndarray,
                          prior: np.ndarray) -> np.ndarray:
        """E-step: ``r_tk ∝ w_k exp(−(y_t − ℓ − log N(ω_t, β_k))² / (2σ²))``."""
        z = (y[:, None] - self.ell - self._log_n[arms]) / self.SIGMA
        logr = np.log(prior + 1e-300) - 0.5 * z * z
        logr -= logr.max(axis=1, keepdims=True)
        r = np.exp(logr)
        return r / r.sum(axis=1, keepdims=True)

    def _m_step(self, rounds: int) -> None:
        """``w = (Σ r + 5 prior)/(t + 5)``, ``ℓ`` the responsibility-weighted mean; per bin."""
        self.weights = (self.r_sum + self.PRIOR_WEIGHT * self._prior) / (
            rounds + self.PRIOR_WEIGHT)
        self.ell = self.ell_sum / rounds
        if self.uses_context:  # kernel-smoothed over bins, shrunk towards the pooled w
            num = self._kernel @ self.bin_r + self.BIN_WEIGHT * self.weights
            self.bin_weights = num / (self._kernel @ self.bin_n + self.BIN_WEIGHT)[:, None]

    def _bins(self, contexts: np.ndarray) -> np.ndarray:
        lo, hi = self.context_range
        return np.clip(((contexts - lo) / (hi - lo) * self.BINS).astype(int), 0, self.BINS - 1)

    def _fit_record(self, arms: np.ndarray, y: np.ndarray, contexts: np.ndarray | None
                    ) -> None:
        """EM on the whole record, then the residual regressions from scratch.

        Rounds with the same (arm, context bin, cost) have the same
        responsibilities, so EM runs on the distinct ones with their counts.
        """
        if self.ell is None:  # first cost: the scale at which the prior's mean fits it
            self.ell = float(y[0] - math.log(self._n[arms[0]] @ self.weights))
        bins = np.zeros(y.size, dtype=int) if contexts is None else self._bins(contexts)
        rows, inverse, counts = np.unique(np.column_stack([arms, bins, y]), axis=0,
                                          return_inverse=True, return_counts=True)
        u_arm, u_bin, u_y = rows[:, 0].astype(int), rows[:, 1].astype(int), rows[:, 2]
        counts = counts.astype(float)
        for _ in range(self.EM_STEPS):
            prior = self.weights[None, :] if contexts is None else self.bin_weights[u_bin]
            r = counts[:, None] * self._responsibilities(u_arm, u_y, prior)
            self.r_sum = r.sum(axis=0)
            self.ell_sum = float(np.sum(r * (u_y[:, None] - self._log_n[u_arm])))
            if contexts is not None:
                self.bin_r = np.zeros_like(self.bin_r)
                np.add.at(self.bin_r, u_bin, r)
                self.bin_n = np.bincount(u_bin, weights=counts, minlength=self.BINS)
            self._m_step(y.size)
        if contexts is not None:
            phi = np.polynomial.chebyshev.chebvander(self._unit(contexts), self.m - 1)
            means = np.einsum("uk,uk->u", self._n[u_arm], self.bin_weights[u_bin])
            residual = (u_y - self.ell - 0.5 * self.SIGMA**2 - np.log(means))[inverse.ravel()]
            onehot = np.zeros((arms.size, self.d))
            onehot[np.arange(arms.size), arms] = 1.0  # Σ over the rounds of each arm:
            self.rgram = self.RESIDUAL_RIDGE * np.eye(self.m) + np.einsum(
                "ta,ti,tj->aij", onehot, phi, phi, optimize=True)  # λI + Σ φφᵀ
            self.rmoment = onehot.T @ (phi * residual[:, None])  # Σ φ (log c − log m)
            self.theta = np.linalg.solve(self.rgram, self.rmoment[..., None])[..., 0]

    def _fit_one(self, arm: int, y: float, context: float | None, rounds: int) -> None:
        """One online EM step for the newest round, and its residual regression."""
        b = None if context is None else self._bin(context)
        prior = self.weights if b is None else self.bin_weights[b]
        r = self._responsibilities(np.array([arm]), np.array([y]), prior[None, :])[0]
        self.r_sum += r
        self.ell_sum += float(r @ (y - self._log_n[arm]))
        if b is not None:
            self.bin_r[b] += r
            self.bin_n[b] += 1.0
        self._m_step(rounds)
        if b is not None:
            phi = self._features(context)
            residual = y - math.log(self._mixture_mean(self.bin_weights[b])[arm])
            self.rgram[arm] += np.outer(phi, phi)
            self.rmoment[arm] += phi * residual
            self.theta[arm] = np.linalg.solve(self.rgram[arm], self.rmoment[arm])

    def _learn_model(self, arm: int, cost: float, context: float | None) -> None:
        rounds = self.t + 1  # this round included (the record is appended after _learn)
        y = math.log(max(cost, 1.0))
        if rounds >= self.next_refit:
            ctx = None if context is None else np.array([*self.contexts, context], dtype=float)
            self._fit_record(np.array([*self.arms, arm]),
                             np.log(np.maximum([*self.costs, cost], 1.0)), ctx)
            self.next_refit = rounds + (1 if rounds < self.EVERY_ROUND_UNTIL
                                        else rounds // self.REFIT_GROWTH)
        else:
            self._fit_one(arm, y, context, rounds)

    # ------------------------------------------------------------ the learner

    def _context(self, context: Any) -> float | None:
        if self.context_range is None:
            return None  # a context given to the non-contextual learner is ignored
        return _checked_context(self.name, context, self.context_range)

    def model(self, context: Any = None) -> np.ndarray:
        """Predicted cost ``ĉ_i`` of every arm (unprimed: NaN for arms never played)."""
        c = self._context(context)
        if self.primed:
            if c is None or self.pooled_loss < self.context_loss:
                return self._pooled_model()
            return self._context_model(c)
        played = self.count > 0
        if c is None:
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(played, self.total / self.count, np.nan)
        theta = np.linalg.solve(self.gram, self.moment[..., None])[..., 0]
        return np.where(played, np.exp(theta @ self._features(c)), np.nan)

    def _clip(self, cost: np.ndarray) -> np.ndarray:
        """Predictions capped at the largest cost seen (none before the first cost)."""
        return cost if self.ell is None else np.minimum(cost, self.CLIP * self.cost_max)

    def _pooled_model(self) -> np.ndarray:
        """``ĉ_i = (S_i + κ m_i)/(n_i + κ)``: running mean shrunk to the mixture's mean."""
        m = self._clip(self._mixture_mean(self.weights))
        return (self.total + self.KAPPA * m) / (self.count + self.KAPPA)

    def _context_model(self, c: float) -> np.ndarray:
        """``ĉ_i(c) = m_i(c) exp(θ_iᵀφ(c))``: the bin's mixture mean times the residual fit."""
        m = self._mixture_mean(self.bin_weights[self._bin(c)])
        return self._clip(m * np.exp(self.theta @ self._features(c)))

    def probabilities(self, context: Any = None) -> np.ndarray:
        cost = self.model(context)
        if self.primed:  # every arm has a prediction
            best = int(np.argmin(cost))
            gap = (cost - cost[best]) / max(float(cost[best]), 1e-300)
        else:
            played = ~np.isnan(cost)
            if not played.any():
                return np.full(self.d, 1.0 / self.d)
            best_cost = np.nanmin(cost)
            gap = np.where(played, (cost - best_cost) / max(best_cost, 1e-300), 0.0)
            best = int(np.nanargmin(cost))
        gamma = self.gamma if self.gamma is not None else 60.0 if self.primed else 10.0
        eta = gamma * math.sqrt(self.t + 1)  # η_t = γ√t
        p = 1.0 / (self.d + eta * gap)  # inverse-gap weighting
        p[best] = 0.0
        p[best] = 1.0 - p.sum()
        return p

    def _learn(self, arm: int, cost: float, context: float | None) -> None:
        self.count[arm] += 1
        self.total[arm] += cost
        if context is not None:
            phi = self._features(context)
            self.gram[arm] += np.outer(phi, phi)
            self.moment[arm] += phi * math.log(max(cost, 1.0))
        if self.primed:
            self.cost_max = max(self.cost_max, cost)
            if context is not None:  # score both models on this cost before learning it
                self.pooled_loss += (cost - self._pooled_model()[arm]) ** 2
                self.context_loss += (cost - self._context_model(context)[arm]) ** 2
            self._learn_model(arm, cost, context)

    def _state(self) -> dict:
        state = {"context_range": None if self.context_range is None else list(
                     self.context_range),
                 "gamma": self.gamma, "m": self.m, "ridge": self.ridge,
                 "count": self.count.tolist(), "total": self.total.tolist(),
                 "gram": self.gram.tolist(), "moment": self.moment.tolist(),
                 "beta": self.beta}
        if self.primed:
            state.update(
                weights=self.weights.tolist(), ell=self.ell, r_sum=self.r_sum.tolist(),
                ell_sum=self.ell_sum, bin_r=self.bin_r.tolist(), bin_n=self.bin_n.tolist(),
                bin_weights=self.bin_weights.tolist(), rgram=self.rgram.tolist(),
                rmoment=self.rmoment.tolist(), theta=self.theta.tolist(),
                next_refit=self.next_refit, pooled_loss=self.pooled_loss,
                context_loss=self.context_loss)
        return state

    def _load(self, stats: dict) -> None:
        cr = stats["context_range"]
        self.context_range = None if cr is None else tuple(cr)
        self.uses_context = self.context_range is not None
        self.gamma, self.m, self.ridge = stats["gamma"], stats["m"], stats["ridge"]
        self.count = np.asarray(stats["count"], dtype=float)
        self.total = np.asarray(stats["total"], dtype=float)
        self.gram = np.asarray(stats["gram"], dtype=float)
        self.moment = np.asarray(stats["moment"], dtype=float)
        self._build_model()
        self.beta = stats.get("beta")
        if self.beta is None:
            return
        self._set_prior()
        self.weights = np.asarray(stats["weights"], dtype=float)
        self.ell = stats["ell"]
        self.r_sum = np.asarray(stats["r_sum"], dtype=float)
        self.ell_sum = float(stats["ell_sum"])
        self.bin_r = np.asarray(stats["bin_r"], dtype=float)
        self.bin_n = np.asarray(stats["bin_n"], dtype=float)
        self.bin_weights = np.asarray(stats["bin_weights"], dtype=float)
        self.rgram = np.asarray(stats["rgram"], dtype=float)
        self.rmoment = np.asarray(stats["rmoment"], dtype=float)
        self.theta = np.asarray(stats["theta"], dtype=float)
        self.next_refit = int(stats["next_refit"])
        self.pooled_loss = float(stats["pooled_loss"])
        self.context_loss = float(stats["context_loss"])
        self.cost_max = max(self.costs, default=0.0)


#: Learner names accepted by ``omega=`` and :func:`make_learner`.
LEARNERS = {
    "auto": AutoOmega,
    "tsallis": TsallisINF,
    "tsallis-cb": TsallisINFCB,
    "chebcb": ChebCB,
}

#: Other names accepted for a learner (``"bandit"`` is DESIGN.md's spelling of the default).
ALIASES = {"bandit": "auto"}


def make_learner(name: str, *, grid: Sequence[float] | None = None,
                 context_range: Any = None, seed: int = 0, **options: Any) -> OmegaLearner:
    """A learner by name: 'auto' (alias 'bandit'), 'tsallis', 'tsallis-cb' or 'chebcb'.

    ``'auto'`` is contextual when ``context_range`` is given; ``'tsallis'``
    ignores it; the other two need it.

    Examples
    --------
    >>> make_learner("chebcb", context_range=(0.0, 1.0), seed=1)
    ChebCB(arms=20, grid=[1..1.95], rounds=0, seed=1)
    >>> make_learner("exp3")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown omega learner 'exp3'; choose one of 'auto', 'tsallis', ...
    """
    name = ALIASES.get(name, name)
    if name not in LEARNERS:
        raise ValueError(
            f"unknown omega learner {name!r}; choose one of "
            f"{', '.join(map(repr, LEARNERS))}"
        )
    cls = LEARNERS[name]
    if cls is TsallisINF:
        return cls(grid=grid, seed=seed, **options)
    return cls(grid=grid, context_range=context_range, seed=seed, **options)

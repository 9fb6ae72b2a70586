"""Finite-sum monotone inclusions 0 ∈ F(z) + N_C(z) and fixed points z = T(z).

The test problems of Cai, Alacaoglu and Diakonikolas, "Variance Reduced Halpern
Iteration for Finite-Sum Monotone Inclusions" (ICLR 2024); facts read from the
paper's code (zephyr-cai/Finite-Sum-Halpern-Iteration):

* :func:`matrix_game`   the policeman–burglar game min_{x∈Δ} max_{y∈Δ} yᵀAx,
  A_ij = w_j (1 − exp(−0.8 |i − j|)), w = |randn(n)|; residual ‖z − Π_C(z − F(z))‖;
* :func:`constrained_qp` the hard linearly constrained QP min ½xᵀHx − hᵀx s.t. Ax = b,
  F(x, y) = (Hx − h − Aᵀy, Ax − b) on R^{2n}; residual ‖F(z)‖;
* :class:`FixedPointProblem` z = T(z) for a user's nonexpansive map; residual ‖z − T(z)‖.

Both inclusions have an affine operator F(z) = Mz + q with M + Mᵀ ⪰ 0, written as
a finite sum F = (1/n) Σᵢ Fᵢ by splitting the columns of M among n components,

    Fᵢ(z) = n · M[:, Iᵢ] z[Iᵢ] + q,        ∪ᵢ Iᵢ = all coordinates, disjoint,

so E_i Fᵢ(z) = F(z) for i uniform; a component owns one coordinate of each block (xᵢ
and yᵢ). One "oracle call" is one evaluation of one Fᵢ; a full F costs n; an epoch is
n calls. This is the split the paper's code uses (it samples rows of A for the x-part
and columns for the y-part with one index).

The projections :func:`project_simplex` and :func:`project_box` live here, with the
sets, because the residual of a constrained problem needs them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.optimize as so

__all__ = ["Box", "FiniteSumProblem", "FixedPointProblem", "Product", "Simplex", "Whole",
           "bilinear_game", "constrained_qp", "matrix_game", "project_box",
           "project_simplex"]

_EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------- projections
def project_simplex(v: Any, radius: float = 1.0) -> np.ndarray:
    """Euclidean projection onto the simplex {x ≥ 0, Σxᵢ = radius}, sort-based, O(n log n).

    With u = v sorted in decreasing order, ρ = max{j : u_j − (Σ_{i≤j} u_i − r)/j > 0} and
    τ = (Σ_{i≤ρ} u_i − r)/ρ, the projection is max(v − τ, 0) (Held, Wolfe, Crowder 1974).
    A point already on the simplex (to rounding, n·eps·r) is returned unchanged, so the
    projection is exact there and idempotent: Π(Π(v)) == Π(v) bit for bit.

    Parameters
    ----------
    v : array_like, shape (n,)
    radius : float
        r > 0.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> project_simplex([0.5, 0.2, -1.0]).round(12).tolist()
    [0.65, 0.35, 0.0]
    >>> p = np.array([0.25, 0.75])
    >>> bool(np.array_equal(project_simplex(p), p))  # feasible: returned as it is
    True
    """
    v = np.asarray(v, dtype=float)
    if v.ndim != 1 or v.size == 0:
        raise ValueError(f"project_simplex takes a non-empty 1-D array, got shape {v.shape}")
    if not (np.isfinite(radius) and radius > 0):
        raise ValueError(f"the simplex radius must be a finite number > 0, got {radius!r}")
    if not np.all(np.isfinite(v)):  # let NaN/inf through: the solver reports NONFINITE
        return np.full_like(v, np.nan)
    if v.min() >= 0.0 and abs(v.sum() - radius) <= v.size * _EPS * radius:
        return v.copy()
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - radius
    j = np.arange(1, v.size + 1)
    rho = np.flatnonzero(u - css / j > 0)[-1]  # the condition holds for j = 1 always
    tau = css[rho] / (rho + 1)
    return np.maximum(v - tau, 0.0)


def project_box(v: Any, lo: Any = 0.0, hi: Any = 1.0) -> np.ndarray:
    """Euclidean projection onto the box {lo ≤ x ≤ hi} (componentwise clipping).

    Exact and idempotent: a point in the box is returned unchanged.

    Examples
    --------
    >>> project_box([-1.0, 0.3, 2.0], 0.0, 1.0).tolist()
    [0.0, 0.3, 1.0]
    """
    v = np.asarray(v, dtype=float)
    lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
    if np.any(lo > hi):
        raise ValueError("the box needs lo <= hi in every coordinate")
    return np.minimum(np.maximum(v, lo), hi)


class Whole:
    """C = Rᵈ: no constraint, Π = identity.

    Examples
    --------
    >>> Whole().project(np.array([1.0, -2.0])).tolist()
    [1.0, -2.0]
    """

    def project(self, z: np.ndarray) -> np.ndarray:
        """Return z unchanged."""
        return z

    def contains(self, z: np.ndarray) -> bool:
        """Every finite point is in Rᵈ."""
        return bool(np.all(np.isfinite(z)))


@dataclass(frozen=True)
class Simplex:
    """{x ≥ 0, Σxᵢ = radius}.

    Examples
    --------
    >>> Simplex().project(np.array([2.0, 0.0])).tolist()
    [1.0, 0.0]
    """

    radius: float = 1.0

    def project(self, z: np.ndarray) -> np.ndarray:
        """Euclidean projection (:func:`project_simplex`)."""
        return project_simplex(z, self.radius)

    def contains(self, z: np.ndarray) -> bool:
        """Feasible to rounding."""
        return bool(z.min() >= 0 and abs(z.sum() - self.radius) <= z.size * _EPS * self.radius)


@dataclass(frozen=True)
class Box:
    """{lo ≤ x ≤ hi}.

    Examples
    --------
    >>> Box(-1.0, 1.0).project(np.array([3.0, -0.5])).tolist()
    [1.0, -0.5]
    """

    lo: Any = 0.0
    hi: Any = 1.0

    def project(self, z: np.ndarray) -> np.ndarray:
        """Euclidean projection (:func:`project_box`)."""
        return project_box(z, self.lo, self.hi)

    def contains(self, z: np.ndarray) -> bool:
        """lo ≤ z ≤ hi."""
        return bool(np.all(z >= self.lo) and np.all(z <= self.hi))


class Product:
    """C₁ × C₂ × …: each set acts on its own consecutive slice of z.

    Examples
    --------
    >>> C = Product([Simplex(), Simplex()], [2, 3])
    >>> C.project(np.array([1.0, 1.0, 3.0, 0.0, 0.0])).tolist()
    [0.5, 0.5, 1.0, 0.0, 0.0]
    """

    def __init__(self, sets: Sequence[Any], sizes: Sequence[int]) -> None:
        if len(sets) != len(sizes):
            raise ValueError("Product needs one size per set")
        self.sets = list(sets)
        self.bounds = np.cumsum([0, *sizes])

    def project(self, z: np.ndarray) -> np.ndarray:
        """Project every slice onto its set."""
        out = np.empty_like(z)
        for s, a, b in zip(self.sets, self.bounds[:-1], self.bounds[1:], strict=True):
            out[a:b] = s.project(z[a:b])
        return out

    def contains(self, z: np.ndarray) -> bool:
        """Every slice in its set."""
        return all(s.contains(z[a:b]) for s, a, b in
                   zip(self.sets, self.bounds[:-1], self.bounds[1:], strict=True))


# ----------------------------------------------------------------------------- problems
@dataclass(eq=False)
class FiniteSumProblem:
    """0 ∈ F(z) + N_C(z), F(z) = Mz + q = (1/n) Σᵢ Fᵢ(z), Fᵢ(z) = n M[:, Iᵢ] z[Iᵢ] + q.

    Parameters
    ----------
    M : (d, d) ndarray
        Monotone: M + Mᵀ ⪰ 0 (checked; a ``ValueError`` otherwise).
    q : (d,) ndarray
    owner : (d,) int ndarray
        ``owner[j]`` = the component i whose Iᵢ holds coordinate j (values 0 … n−1,
        each used).
    constraint : Whole, Simplex, Box or Product
        The closed convex set C (``Whole()`` for an equation F(z) = 0).
    z0 : (d,) ndarray
        Starting point (and the Halpern anchor); projected onto C.
    z_star : (d,) ndarray, optional
        A reference solution.

    Attributes
    ----------
    n : int        number of components;  dim : int   d.
    lipschitz : float      L = ‖M‖₂ (F is L-Lipschitz).
    lipschitz_avg : float  L_Q with E_i‖Fᵢ(z) − Fᵢ(w)‖² ≤ L_Q²‖z − w‖²: √n maxᵢ‖M[:, Iᵢ]‖₂.

    Examples
    --------
    >>> M = np.array([[0.0, 1.0], [-1.0, 0.0]]); q = np.array([-1.0, 2.0])
    >>> p = FiniteSumProblem(M, q, owner=np.array([0, 1]), constraint=Whole(), z0=np.zeros(2))
    >>> p.n, p.residual(np.array([2.0, 1.0]))  # F(2, 1) = 0
    (2, 0.0)
    >>> (p.component(np.ones(2), 0) + p.component(np.ones(2), 1)).tolist() == (2 * p.operator(
    ...     np.ones(2))).tolist()
    True
    """

    M: np.ndarray
    q: np.ndarray
    owner: np.ndarray
    constraint: Any
    z0: np.ndarray
    z_star: np.ndarray | None = None
    name: str = "monotone"
    meta: dict = field(default_factory=dict)
    kind = "monotone"

    def __post_init__(self) -> None:
        self.M = np.asarray(self.M, dtype=float)
        d = self.M.shape[0]
        if self.M.ndim != 2 or self.M.shape != (d, d) or d == 0:
            raise ValueError(f"M must be a non-empty square matrix, got shape {self.M.shape}")
        if not np.all(np.isfinite(self.M)):
            raise ValueError("M has NaN or inf entries")
        self.q = np.asarray(self.q, dtype=float)
        self.owner = np.asarray(self.owner)
        for name, a in (("q", self.q), ("owner", self.owner)):
            if a.shape != (d,):
                raise ValueError(f"{name} must have shape ({d},), got {a.shape}")
        if not np.issubdtype(self.owner.dtype, np.integer):
            raise TypeError("owner must be an integer array (component index per coordinate)")
        self.n = int(self.owner.max()) + 1
        counts = np.bincount(self.owner, minlength=self.n)
        if self.owner.min() < 0 or np.any(counts == 0):
            raise ValueError("owner must use every component index 0 … n−1 at least once")
        sym_min = float(np.linalg.eigvalsh(0.5 * (self.M + self.M.T))[0])
        scale = max(1.0, float(np.abs(self.M).max()))
        if sym_min < -1e-10 * scale * d:
            raise ValueError(f"F is not monotone: the symmetric part of M has eigenvalue "
                             f"{sym_min:.3g} < 0; Halpern and extragradient methods need "
                             "M + Mᵀ ⪰ 0")
        self.dim = d
        order = np.argsort(self.owner, kind="stable")
        self._ptr = np.concatenate([[0], np.cumsum(counts)])
        self._idx = order
        self._MT = np.ascontiguousarray(self.M.T)  # row j = column j of M
        self.z0 = self.constraint.project(np.asarray(self.z0, dtype=float).copy())
        if self.z0.shape != (d,):
            raise ValueError(f"z0 must have shape ({d},), got {self.z0.shape}")
        self._lipschitz: float | None = None
        self._lipschitz_avg: float | None = None
        self._lu: dict[float, Any] = {}

    # -- oracles -----------------------------------------------------------------------
    def coords(self, idx: Any) -> np.ndarray:
        """The coordinates I = ∪_{i ∈ idx} Iᵢ owned by the components ``idx``."""
        idx = np.atleast_1d(idx)
        if idx.size == 1:
            i = int(idx[0])
            return self._idx[self._ptr[i]:self._ptr[i + 1]]
        return np.concatenate([self._idx[self._ptr[i]:self._ptr[i + 1]] for i in idx])

    def operator(self, z: np.ndarray) -> np.ndarray:
        """The full F(z) = Mz + q (n oracle calls)."""
        return self.M @ z + self.q

    def component(self, z: np.ndarray, i: int) -> np.ndarray:
        """One component Fᵢ(z) = n M[:, Iᵢ] z[Iᵢ] + q (one oracle call)."""
        I = self.coords(i)
        return self.n * (z[I] @ self._MT[I]) + self.q

    def component_diff(self, z: np.ndarray, w: np.ndarray, batch: Any) -> np.ndarray:
        """(1/|B|) Σ_{i∈B} [Fᵢ(z) − Fᵢ(w)] = (n/|B|) M[:, I_B](z − w)[I_B] (2|B| calls).

        ``batch`` holds distinct component indices (a batch drawn without replacement);
        for one index pass an int.
        """
        batch = np.atleast_1d(batch)
        I = self.coords(batch)
        return (self.n / batch.size) * ((z[I] - w[I]) @ self._MT[I])

    def project(self, z: np.ndarray) -> np.ndarray:
        """Π_C(z)."""
        return self.constraint.project(z)

    def residual(self, z: np.ndarray, Fz: np.ndarray | None = None) -> float:
        """The operator residual ‖z − Π_C(z − F(z))‖ (= ‖F(z)‖ when C = Rᵈ)."""
        Fz = self.operator(z) if Fz is None else Fz
        if isinstance(self.constraint, Whole):
            return float(np.linalg.norm(Fz))
        return float(np.linalg.norm(z - self.project(z - Fz)))

    # -- constants ----------------------------------------------------------------------
    @property
    def lipschitz(self) -> float:
        """L = ‖M‖₂."""
        if self._lipschitz is None:
            self._lipschitz = float(np.linalg.norm(self.M, 2))
        return self._lipschitz

    @property
    def lipschitz_avg(self) -> float:
        """L_Q = √n maxᵢ ‖M[:, Iᵢ]‖₂ ≥ the mean-square Lipschitz constant of the Fᵢ."""
        if self._lipschitz_avg is None:
            worst = 0.0
            for i in range(self.n):
                G = self._MT[self.coords(i)]  # ‖M[:, I]‖² = λ_max(M[:, I]ᵀM[:, I])
                worst = max(worst, float(np.linalg.eigvalsh(G @ G.T)[-1]))
            self._lipschitz_avg = float(np.sqrt(self.n * worst))
        return self._lipschitz_avg

    def resolvent(self, z: np.ndarray, eta: float, tol: float = 1e-13,
                  maxiter: int = 100_000) -> tuple[np.ndarray, int]:
        """J_{η(F + N_C)}(z): the u with 0 ∈ u − z + η F(u) + N_C(u); also the full-F count.

        C = Rᵈ: one LU solve of (I + ηM) u = z − ηq, counted by flops: one full F per
        solve, plus ⌈d/3⌉ for the factorisation (once per η; it is cached).
        Otherwise the strongly monotone inclusion is solved by projected forward steps
        u ← Π_C(u − τ(u − z + ηF(u))), τ = 1/(1 + ηL)², a contraction with factor
        √(1 − τ); it stops when a step moves u by ≤ tol·max(1, ‖u‖).
        """
        if isinstance(self.constraint, Whole):
            full = 1  # a triangular solve pair costs 2d² flops, as one F(z) does
            if eta not in self._lu:
                self._lu[eta] = sla.lu_factor(np.eye(self.dim) + eta * self.M)
                full += -(-self.dim // 3)  # the factorisation, (2/3)d³ flops = d/3 F's
            return sla.lu_solve(self._lu[eta], z - eta * self.q), full
        tau = 1.0 / (1.0 + eta * self.lipschitz) ** 2
        u = z.copy()
        for k in range(1, maxiter + 1):
            new = self.project(u - tau * (u - z + eta * self.operator(u)))
            moved = float(np.linalg.norm(new - u))
            u = new
            if moved <= tol * max(1.0, float(np.linalg.norm(u))):
                return u, k
        return u, maxiter


def bilinear_game(A: Any, *, z0: Any = None, name: str = "matrix-game") -> FiniteSumProblem:
    """The matrix game min_{x∈Δ_m} max_{y∈Δ_n} xᵀAy as 0 ∈ F(z) + N_{Δ×Δ}(z).

    z = (x, y), F(x, y) = (Ay, −Aᵀx): M = [[0, A], [−Aᵀ, 0]] is skew, so F is monotone,
    not cocoercive. Component i owns xᵢ and yᵢ; a non-square A has max(m, n) components
    (the extra ones own a coordinate of the longer block only). ``meta`` holds the game
    value (by linear programming, scipy's HiGHS) and :meth:`duality_gap` is available
    through ``meta["gap"]``.

    Parameters
    ----------
    A : (m, n) array_like
        Payoff of the column player (the row player pays it).
    z0 : (m + n,) array_like, optional
        Default: both strategies uniform.

    Examples
    --------
    >>> p = bilinear_game([[0.0, 1.0], [1.0, 0.0]])  # matching pennies: value 1/2
    >>> round(p.meta["value"], 12), p.meta["gap"](p.z0)
    (0.5, 0.0)
    """
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.size == 0:
        raise ValueError(f"the payoff matrix must be a non-empty 2-D array, got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError("the payoff matrix has NaN or inf entries")
    m, n = A.shape
    M = np.zeros((m + n, m + n))
    M[:m, m:] = A
    M[m:, :m] = -A.T
    owner = np.concatenate([np.arange(m), np.arange(n)])
    if z0 is None:
        z0 = np.concatenate([np.full(m, 1.0 / m), np.full(n, 1.0 / n)])

    def gap(z: np.ndarray) -> float:
        """max_j (Aᵀx)_j − min_i (Ay)_i ≥ 0, zero exactly at a saddle point."""
        return float(np.max(A.T @ z[:m]) - np.min(A @ z[m:]))

    value = _game_value(A)
    return FiniteSumProblem(M, np.zeros(m + n), owner, Product([Simplex(), Simplex()], [m, n]),
                            np.asarray(z0, dtype=float), name=name,
                            meta={"A": A, "value": value, "gap": gap, "shape": (m, n)})


def _game_value(A: np.ndarray) -> float:
    """min_{x∈Δ} max_j (Aᵀx)_j as the LP min t s.t. Aᵀx ≤ t, Σx = 1, x ≥ 0."""
    m, n = A.shape
    c = np.zeros(m + 1)
    c[-1] = 1.0
    res = so.linprog(c, A_ub=np.hstack([A.T, -np.ones((n, 1))]), b_ub=np.zeros(n),
                     A_eq=np.concatenate([np.ones(m), [0.0]])[None, :], b_eq=[1.0],
                     bounds=[(0, None)] * m + [(None, None)], method="highs")
    return float(res.fun)


def matrix_game(n: int = 500, seed: int | None = 0, theta: float = 0.8) -> FiniteSumProblem:
    """The policeman–burglar game of the paper: min_{x∈Δ} max_{y∈Δ} yᵀAx,

    A_ij = w_j (1 − exp(−θ|i − j|)), w = |randn(n)|, n = 500 and θ = 0.8 in the paper.
    The orientation is the paper's code's (F(x, y) = (Aᵀy, −Ax): x weights the columns
    of A, whose scale is w), i.e. :func:`bilinear_game` of Aᵀ; ``meta["A"]`` is A.

    Parameters
    ----------
    n : int
        A is n × n: 2n unknowns, n components.
    seed : int or None
        Seed of the draw of w.
    theta : float
        Decay rate θ.

    Examples
    --------
    >>> p = matrix_game(50, seed=1)
    >>> p.dim, p.n, bool(p.meta["value"] > 0)
    (100, 50, True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    w = np.abs(np.random.default_rng(seed).standard_normal(n))
    i = np.arange(n)
    A = w[None, :] * (1.0 - np.exp(-theta * np.abs(i[:, None] - i[None, :])))
    p = bilinear_game(A.T, name=f"policeman-burglar-{n}")
    p.meta["A"] = A
    return p


def constrained_qp(n: int = 200) -> FiniteSumProblem:
    """The hard linearly constrained QP: min ½xᵀHx − hᵀx s.t. Ax = b, as F(z) = 0.

    A_{i, n−1−i} = 1, A_{i, n−2−i} = −1, A ← A/4, H = 2AᵀA, b = 𝟙/4, h = e_n/4 (the
    lower-bound instance of Ouyang and Xu); F(x, y) = (Hx − h − Aᵀy, Ax − b) is the
    saddle operator of the Lagrangian, monotone with a singular-looking, badly
    conditioned M = [[H, −Aᵀ], [A, 0]]. z0 = 𝟙/n (the paper's start); ``z_star`` from
    a dense solve of Mz = −q. Component i owns xᵢ and yᵢ.

    Examples
    --------
    >>> p = constrained_qp(20)
    >>> p.dim, p.residual(p.z_star) < 1e-13
    (40, True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an int >= 2, got {n!r}")
    A = np.zeros((n, n))
    i = np.arange(n)
    A[i, n - 1 - i] = 1.0
    A[i[:-1], n - 2 - i[:-1]] = -1.0
    A /= 4.0
    H = 2.0 * A.T @ A
    b = np.full(n, 0.25)
    h = np.zeros(n)
    h[-1] = 0.25
    M = np.block([[H, -A.T], [A, np.zeros((n, n))]])
    q = np.concatenate([-h, -b])
    z_star = np.linalg.solve(M, -q)
    owner = np.concatenate([i, i])
    return FiniteSumProblem(M, q, owner, Whole(), np.full(2 * n, 1.0 / n), z_star=z_star,
                            name=f"constrained-qp-{n}", meta={"A": A, "H": H, "b": b, "h": h})


@dataclass(eq=False)
class FixedPointProblem:
    """Find z = T(z) for a nonexpansive map T (‖T(u) − T(v)‖ ≤ ‖u − v‖).

    Parameters
    ----------
    T : callable
        ``T(z) -> ndarray`` of the same shape (e.g. an averaged operator, a resolvent, a
        proximal-gradient step).
    z0 : (d,) array_like
        Start and Halpern anchor.
    z_star : (d,) ndarray, optional
        A known fixed point (for error curves).

    Examples
    --------
    >>> import numpy as np
    >>> R = np.array([[0.0, -1.0], [1.0, 0.0]])  # a rotation: nonexpansive, fixed point 0
    >>> p = FixedPointProblem(lambda z: R @ z, np.array([1.0, 0.0]))
    >>> p.residual(p.z0) == np.sqrt(2)
    np.True_
    """

    T: Callable[[np.ndarray], np.ndarray]
    z0: Any
    z_star: np.ndarray | None = None
    name: str = "fixed-point"
    meta: dict = field(default_factory=dict)
    kind = "fixed-point"

    def __post_init__(self) -> None:
        if not callable(self.T):
            raise TypeError(f"T must be callable as T(z), got {type(self.T).__name__}")
        self.z0 = np.asarray(self.z0, dtype=float)
        if self.z0.ndim != 1 or self.z0.size == 0 or not np.all(np.isfinite(self.z0)):
            raise ValueError("z0 must be a non-empty finite 1-D array")
        self.dim = self.z0.size
        self.apply(self.z0.copy(), "z0")

    def apply(self, z: np.ndarray, where: str = "z") -> np.ndarray:
        """T(z), checked: a real float array of z's shape, else an error naming T.

        Every method calls T through this on every iteration (a shape test, cheap
        beside T itself); NaN or inf pass through (the method reports NONFINITE).

        Examples
        --------
        >>> import numpy as np
        >>> p = FixedPointProblem(lambda z: 0.5 * z, np.ones(2))
        >>> p.apply(np.array([2.0, 4.0])).tolist()
        [1.0, 2.0]
        >>> try:
        ...     FixedPointProblem(lambda z: z[:1], np.ones(2))
        ... except ValueError as err:
        ...     print(str(err)[:58])
        T(z0) returned an array of shape (1,), expected shape (2,)
        """
        Tz = self.T(z)
        if Tz is None:
            raise TypeError(f"T({where}) returned None, expected an array of shape "
                            f"({self.dim},) (did T forget to return its value?)")
        try:
            arr = np.asarray(Tz)
        except Exception as err:  # a ragged list and the like
            raise TypeError(f"T({where}) returned {type(Tz).__name__} that is not an array "
                            f"({err}), expected shape ({self.dim},)") from None
        if np.iscomplexobj(arr):
            raise TypeError(f"T({where}) returned complex values: T must be a real map")
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise TypeError(f"T({where}) returned {type(Tz).__name__} of dtype {arr.dtype}, "
                            f"expected a float array of shape ({self.dim},)")
        if arr.shape != (self.dim,):
            kind = "a scalar" if arr.shape == () else f"an array of shape {arr.shape}"
            raise ValueError(f"T({where}) returned {kind}, expected shape ({self.dim},) (the "
                             "shape of z0): T must map a vector to a vector of the same length "
                             "at every z, not only at z0")
        return arr.astype(float, copy=False)

    def residual(self, z: np.ndarray, Tz: np.ndarray | None = None) -> float:
        """‖z − T(z)‖ (T's output checked by :meth:`apply`)."""
        Tz = self.apply(z) if Tz is None else Tz
        return float(np.linalg.norm(z - Tz))

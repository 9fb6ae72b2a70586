"""Block coordinate descent with greedy rules, variable blocks and tree (message-passing) blocks.

Nutini, Laradji, Schmidt, "Let's Make Block Coordinate Descent Converge Faster" (JMLR
2022). For min f(x) + r(x) (:class:`~unisolve.problems.composite.CompositeProblem`)
each iteration picks a block b of coordinates and updates only x_b.

Partitions (``partition=``), fixed unless said otherwise:

* ``"contiguous"`` blocks of ``block_size`` consecutive coordinates;
* ``"sorted"``  coordinates sorted by Lᵢ, then cut into blocks (similar Lᵢ together);
* ``"avg"``     sorted by Lᵢ and interleaved largest/smallest, so every block has a
  similar mean Lᵢ;
* ``"variable"`` a new block of ``block_size`` coordinates chosen every iteration by
  the rule (GS: top |gᵢ|; GSL: top |gᵢ|/√Lᵢ; GSQ: ~10 iterative-hard-thresholding
  steps on min gᵀd + ½dᵀMd, ‖d‖₀ ≤ k);
* ``"red-black"``, ``"forest"`` (quadratic problems on a graph): the two colour
  classes of a bipartite graph, or a greedy partition of the nodes into forests.
  Every block's Hessian is then tree-structured and ``update="newton"`` solves it
  exactly by message passing (:func:`.kernels.bcd.tree_solve`) in O(|b|).

Rules (``rule=``) for fixed blocks: ``cyclic``, ``random`` (uniform), ``lipschitz``
(P(b) ∝ L_b), and the greedy Gauss–Southwell family on g = ∇f(x):

    GS  max ‖g_b‖,   GSL  max ‖g_b‖/√L_b,   GSD  max Σ_{i∈b} |gᵢ|/√Lᵢ,   GSQ  max g_bᵀM_b⁻¹g_b,

with M_b ≽ ∇²_bb f a fixed matrix bound and L_b = λ_max(M_b).

Updates (``update=``): ``gradient`` x_b ← x_b − g_b/L_b; ``newton`` the matrix update
x_b ← x_b − M_b⁻¹g_b (exact block Newton on quadratics and least squares; message
passing on tree blocks); ``newton-ls`` x_b ← x_b − α H_bb⁻¹g_b with the true block
Hessian and Armijo backtracking on f; for x ≥ 0 with λΣxᵢ (``nnls_l1``):
``projected`` x_b ← max(0, x_b − (g_b + λ)/L_b) and ``tmp``, the two-metric
projection: a Newton step with M_b on the coordinates that are free (xᵢ > 0 or
gᵢ + λ < 0), projected onto x ≥ 0, with backtracking.

One coordinate chosen by gs-s / gs-r / gs-q on least squares with the elastic net (LASSO,
ridge) and no callback runs the whole loop in numba (:func:`.kernels.bcd.greedy_prox_ls`):
the same iterates as the Python loop, O(n) per update with AᵀA columns cached
(``info["kernel"]`` is True); a callback keeps the Python loop. ``working_set=True`` runs
that loop on a growing working set (the nonzeros and violators) with (AᵀA)_WW, O(|W|) per
update, and an exact gradient over all n between rounds.

The measure is first-order optimality: ‖∇f‖ (or, with x ≥ 0, ‖x − max(0, x − ∇f − λ)‖),
recomputed at every iteration; ``info["f_history"]`` holds the objective at x0 and
after every iteration. The stopping test is relative to the measure at x0:
measure(x) ≤ max(rtol·measure(x0), atol), default rtol = 1e-5. Since f − f* grows like
the square of the gradient near a minimiser (f − f* = ½ gᵀH⁻¹g for a quadratic), a
gradient reduced 1e5-fold is a relative suboptimality (f − f*)/(f(x0) − f*) of about
1e-9 on the paper's problems (1.8e-9 on D, 3.3e-9 on A in the tests' runs); the old
default rtol = 1e-10 asked for ~1e-20, which no run met (MAX_ITER at 4.5e-8).
"""

from __future__ import annotations

import math
import warnings
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from ..problems.composite import CompositeProblem
from ..registry import method
from ..result import IterationMonitor, IterationState, Result, Status
from .kernels import bcd as kernels

__all__ = ["bcd", "forest_partition", "red_black_partition"]

PARTITIONS = ("contiguous", "sorted", "avg", "variable", "red-black", "forest")
RULES = ("cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq", "gs-s", "gs-r", "gs-q")
UPDATES = ("gradient", "newton", "newton-ls", "projected", "tmp", "prox")
_SCORE = {"gs": kernels.GS, "gsl": kernels.GSL, "gsd": kernels.GSD, "gsq": kernels.GSQ}
_PROX_SCORE = {"gs-s": kernels.GS_S, "gs-r": kernels.GS_R, "gs-q": kernels.GS_Q}
_GRAM_BYTES = 2.5e8  # cache of AᵀA columns for the incremental gradient (prox, least squares)
_GRAM_PREFETCH = 16  # Gram columns computed together on a miss of the numba loop
_HISTORY_CHUNK = 100_000  # the numba loop's history arrays start this long and double
_WS_MIN = 100  # a working set grows by at least this many coordinates (or doubles)
_WS_NEAR = 1.0  # candidates: |∇ᵢf| ≥ _WS_NEAR·λ at xᵢ = 0 (1: the violators only)
_WS_ROUND = 50  # at most this many updates per coordinate of W between exact gradients
_WS_KEEP = 0.9  # a zero leaves W when |∇ᵢf| < _WS_KEEP·λ at an exact gradient (0: never)
_WS_INNER = 0.1  # the loop on W runs until its measure is this fraction of the outer one
_REFRESH_MIN, _REFRESH_PER_ROW = 10_000, 100  # exact ∇f every max(MIN, PER_ROW·m) updates


# ----------------------------------------------------------------------------- partitions
def _fixed_blocks(order: np.ndarray, block_size: int) -> list[np.ndarray]:
    return [np.sort(order[k:k + block_size]) for k in range(0, order.size, block_size)]


def red_black_partition(graph: Any) -> list[np.ndarray]:
    """The two colour classes of a bipartite graph (each an independent set).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> path = sp.diags_array([[1.0] * 3, [1.0] * 3], offsets=[-1, 1])  # 4-node path
    >>> [b.tolist() for b in red_black_partition(path)]
    [[0, 2], [1, 3]]
    """
    G = sp.csr_array(graph)
    n = G.shape[0]
    colour = np.full(n, -1)
    for start in range(n):
        if colour[start] >= 0:
            continue
        colour[start] = 0
        queue = deque([start])
        while queue:
            i = queue.popleft()
            for j in G.indices[G.indptr[i]:G.indptr[i + 1]]:
                if colour[j] < 0:
                    colour[j] = 1 - colour[i]
                    queue.append(j)
                elif colour[j] == colour[i]:
                    raise ValueError("the graph is not bipartite (it has an odd cycle): use "
                                     "partition='forest'")
    return [np.flatnonzero(colour == c) for c in (0, 1) if np.any(colour == c)]


def forest_partition(graph: Any) -> list[np.ndarray]:
    """Greedy partition of the nodes into induced forests (acyclic blocks).

    Node by node (in order of decreasing degree), join the first forest in which the
    node's neighbours lie in pairwise different trees — so adding it makes no cycle
    (union–find per forest); open a new forest when none fits.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> tri = sp.csr_array(np.ones((3, 3)) - np.eye(3))  # a triangle: 2 forests
    >>> [b.tolist() for b in forest_partition(tri)]
    [[0, 1], [2]]
    """
    G = sp.csr_array(graph)
    n = G.shape[0]
    degree = np.diff(G.indptr)
    forest_of = np.full(n, -1)
    roots: list[np.ndarray] = []  # union–find parent array per forest

    def find(par: np.ndarray, i: int) -> int:
        while par[i] != i:
            par[i] = par[par[i]]
            i = par[i]
        return i

    for v in np.argsort(-degree, kind="stable"):
        nbrs = G.indices[G.indptr[v]:G.indptr[v + 1]]
        for k, par in enumerate(roots):
            inside = nbrs[forest_of[nbrs] == k]
            trees = [find(par, int(j)) for j in inside]
            if len(set(trees)) == len(trees):  # no two neighbours in one tree: no cycle
                forest_of[v] = k
                for t in trees:
                    par[t] = v
                break
        else:
            roots.append(np.arange(n))
            forest_of[v] = len(roots) - 1
    return [np.flatnonzero(forest_of == k) for k in range(len(roots))]


class _Tree:
    """Leaves-first order, parents and H[i, parent(i)] of a forest-structured block."""

    def __init__(self, H: sp.csr_array) -> None:
        n = H.shape[0]
        parent = np.full(n, -1)
        seen = np.zeros(n, dtype=bool)
        bfs: list[int] = []
        for root in range(n):
            if seen[root]:
                continue
            seen[root] = True
            queue = deque([root])
            while queue:
                i = queue.popleft()
                bfs.append(i)
                for j in H.indices[H.indptr[i]:H.indptr[i + 1]]:
                    if j != i and not seen[j]:
                        seen[j], parent[j] = True, i
                        queue.append(j)
                    elif j != i and parent[i] != j:
                        raise ValueError("a block's graph has a cycle: message passing needs "
                                         "forest blocks (partition='forest' or 'red-black')")
        self.order = np.array(bfs[::-1], dtype=np.int64)  # reversed BFS: leaves first
        self.parent = parent
        self.diag = H.diagonal().astype(float)
        self.off = np.array([H[i, parent[i]] if parent[i] >= 0 else 0.0 for i in range(n)])

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        return kernels.tree_solve(self.order, self.parent, self.diag, self.off, rhs)


# ----------------------------------------------------------------------------- state
class _State:
    """x with ``problem.product(x)``, kept current by :meth:`move` (O(nnz of a block))."""

    def __init__(self, p: CompositeProblem, x: np.ndarray) -> None:
        self.p, self.x = p, x
        A = p.A
        self.AT = sp.csr_array(A.T) if sp.issparse(A) else A.T  # Aᵀ, formed once
        self.aux = p.product(x)
        self.gram: dict[int, np.ndarray] = {}

    def gram_columns(self, block: np.ndarray) -> np.ndarray:
        """(AᵀA)[:, block] for least squares, columns cached while they fit in _GRAM_BYTES:
        after x_b += d the gradient Aᵀ(Ax − b) changes by (AᵀA)[:, b] d."""
        A, cap = self.p.A, int(_GRAM_BYTES // (8 * self.p.n))
        if block.size == 1 and int(block[0]) in self.gram:
            return self.gram[int(block[0])][:, None]
        cols = []
        for j in block.tolist():
            c = self.gram.get(j)
            if c is None:
                aj = A[:, [j]].toarray().ravel() if sp.issparse(A) else A[:, j]
                c = np.asarray(self.AT @ aj, dtype=float)
                if len(self.gram) < cap:
                    self.gram[j] = c
            cols.append(c)
        return np.column_stack(cols)

    def gram_block(self, block: np.ndarray) -> np.ndarray:
        """(AᵀA)[:, block] = Aᵀ A[:, block] in one product (least squares), not cached."""
        Ab = self.p.A[:, block]
        Ab = Ab.toarray() if sp.issparse(Ab) else np.asarray(Ab)
        return np.asarray(self.AT @ Ab, dtype=float).reshape(self.p.n, block.size)

    def grad(self) -> np.ndarray:
        return self.p.grad_at(self.aux, self.AT)

    def value(self) -> float:
        return self.p.smooth_at(self.x, self.aux) + self.p.penalty(self.x)

    def move(self, block: np.ndarray, d: np.ndarray) -> None:
        """x_b ← x_b + d, and the product with it."""
        p = self.p
        self.x[block] += d
        if p.loss == "softmax":
            feat, cls = np.divmod(block, p.classes)
            cols = p.A[:, feat]
            cols = cols.toarray() if sp.issparse(cols) else cols
            np.add.at(self.aux.T, cls, (cols * d).T)
        elif sp.issparse(p.A):
            A = p.A
            kernels.csc_axpy(A.indptr, A.indices, A.data, block.astype(np.int64),
                             np.ascontiguousarray(d, dtype=float), self.aux)
        else:
            self.aux += p.A[:, block] @ d


# ----------------------------------------------------------------------------- solver
def _choice(name: str, value: Any, allowed: tuple) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _measure(p: CompositeProblem, x: np.ndarray, g: np.ndarray, L: np.ndarray) -> float:
    if p.nonneg:  # ‖x − Π(x − ∇F)‖: zero exactly at the KKT points of x ≥ 0
        return float(np.linalg.norm(x - np.maximum(0.0, x - g - p.l1)))
    if p.proximal:  # the prox-gradient mapping ‖L ⊙ (x − prox_{r/L}(x − g/L))‖ (= ‖g‖ at r = 0)
        _, d = _prox_scores(p, x, g, 1.0 / L, kernels.GS_R)
        return float(np.linalg.norm(L * d))
    return float(np.linalg.norm(g))


def _prox_scores(p: CompositeProblem, x: np.ndarray, g: np.ndarray, step: np.ndarray,
                 kind: int) -> tuple[np.ndarray, np.ndarray]:
    """Every coordinate's greedy score and prox step dᵢ = prox_{tᵢrᵢ}(xᵢ − tᵢgᵢ) − xᵢ."""
    if p.prox is None:
        d = np.empty_like(x)
        return kernels.elastic_net_scores(x, g, step, float(p.l1), float(p.l2), kind, d), d
    d = p.prox_r(x - step * g, step) - x
    if kind == kernels.GS_R:
        return d * d, d
    if kind == kernels.GS_S:
        raise ValueError("rule='gs-s' needs the subgradient of r: with a custom prox= use "
                         "'gs-r' or 'gs-q'")
    # GS-q: −[gᵢdᵢ + dᵢ²/(2tᵢ) + rᵢ(xᵢ + dᵢ) − rᵢ(xᵢ)], at least dᵢ²/(2tᵢ) (the model is
    # 1/tᵢ-strongly convex and minimised by dᵢ); below the rounding of rᵢ(xᵢ + dᵢ) − rᵢ(xᵢ)
    # (a custom r is only known by its values) that lower bound is the score.
    r1, r0, quad = p.penalty_terms(x + d), p.penalty_terms(x), 0.5 * d * d / step
    q = -(g * d + quad + r1 - r0)
    noise = 8 * np.finfo(float).eps * (np.abs(r1) + np.abs(r0) + np.abs(g * d) + quad)
    return np.where(q > noise, q, quad), d


@method("bcd", kinds=("composite",), default_for=("composite",))
def bcd(
    problem: CompositeProblem,
    *,
    partition: str | None = None,
    rule: str | None = None,
    update: str | None = None,
    block_size: int | None = None,
    rtol: float = 1e-5,
    atol: float = 0.0,
    maxiter: int | None = None,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = 0,
    working_set: bool | None = None,
) -> Result:
    """Block coordinate descent: greedy / random / cyclic blocks, gradient or Newton updates.

    Parameters
    ----------
    problem : CompositeProblem
        From :mod:`unisolve.problems.composite`.
    partition : {"contiguous", "sorted", "avg", "variable", "red-black", "forest"}
        How coordinates are grouped (module docstring). Tree partitions need a
        quadratic problem with a ``graph``. Default: ``"sorted"``; for least squares with
        an elastic-net term (LASSO, ridge, elastic net) and no callback, ``"variable"``
        with ``block_size=1`` and ``working_set=True`` — the greedy numba loop, the
        fastest route measured (benchmarks/lasso.py).
    rule : {"cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq", "gs-s", "gs-r", "gs-q"}
        Block selection; with ``partition="variable"`` only the greedy ones. The
        non-smooth rules gs-s / gs-r / gs-q go with ``update="prox"``. Default: ``"gs-q"``
        for a problem with a prox (LASSO, ridge, elastic net, ``prox=``), else ``"gsl"``.
    update : {"gradient", "newton", "newton-ls", "projected", "tmp", "prox"}
        Block update; problems with x ≥ 0 take ``projected`` or ``tmp`` only, problems
        with a prox (signed L1, L2, ``prox=``) take ``prox`` only. Default: ``"prox"``,
        ``"projected"`` (x ≥ 0) or ``"gradient"``.
    block_size : int
        Coordinates per block (fixed and variable partitions; ≤ n). Default 5 (1 for the
        LASSO default above).
    rtol, atol : float
        Stop when the first-order measure ≤ max(rtol·measure(x0), atol) (with a prox:
        the prox-gradient mapping ‖L ⊙ (x − prox_{r/L}(x − ∇f/L))‖, Lᵢ coordinatewise). The
        default rtol = 1e-5 on the gradient is about 1e-9 in relative suboptimality
        (f − f*)/(f(x0) − f*) (the gap shrinks like the gradient squared); pass a
        smaller rtol, with a larger maxiter, for more.
    maxiter : int
        Iteration cap (``MAX_ITER`` when reached). Default 1000 (block iterations);
        100·n coordinate updates for the LASSO default, whose iterations are single
        coordinates (1000 × 10000 at λ = 0.02·λ_max needs about 8·10⁵ for 1e-8).
    x0, callback, seed
        As for every method; ``seed`` drives the random rules.
    working_set : bool
        Default: True when ``partition`` and ``block_size`` are both left to the LASSO
        default above, else False. Only for the numba loop (one coordinate, gs-s / gs-r /
        gs-q, least squares with the elastic net, no callback; else a ValueError): run the
        greedy rule on a working set W — the nonzeros and the coordinates whose prox step is
        nonzero at an exact gradient (W at most doubles per round; zeros with |∇ᵢf| < 0.9λ
        leave it) — with the Gram block (AᵀA)_WW, O(|W|) per update instead of O(n), and
        recompute ∇f exactly (and grow W) whenever the measure on W has dropped tenfold. The
        greedy choice is the full one as long as no coordinate outside W becomes a violator
        between two exact gradients; the stopping test is always on the exact measure over
        all coordinates.
        ``info["full_gradients"]`` counts the exact gradients; ``residuals`` between two
        of them hold the measure on W.

    Returns
    -------
    Result
        ``info``: ``f`` (final objective), ``f_history``, ``blocks`` (number of fixed
        blocks), ``partition``, ``rule``, ``update``, ``stopping_test``.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.problems.composite import least_squares
    >>> p = least_squares(60, 40, seed=1)
    >>> r = us.solve(p, method="bcd", rule="gsq", update="newton", block_size=5, maxiter=2000)
    >>> bool((r.info["f"] - p.f_star) <= 1e-6 * (p.f(p.x0) - p.f_star))
    True

    Your own LASSO, ½‖Xw − y‖² + λ‖w‖₁, by greedy (GS-q) coordinate prox steps:

    >>> import numpy as np
    >>> from unisolve.problems.composite import CompositeProblem
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 20)); y = X[:, :3] @ [1.0, -2.0, 3.0]
    >>> lam = 0.1 * np.max(np.abs(X.T @ y))  # λ_max = ‖Xᵀy‖_∞ gives w = 0
    >>> lasso = CompositeProblem("least_squares", X, y, l1=lam)
    >>> r = us.solve(lasso, method="bcd", partition="variable", rule="gs-q", block_size=1,
    ...              rtol=1e-8, maxiter=5000)
    >>> r.status.name, np.flatnonzero(np.abs(r.x) > 1e-8).tolist()
    ('CONVERGED', [0, 1, 2])
    """
    if not isinstance(problem, CompositeProblem):
        raise TypeError(f"bcd solves a CompositeProblem (unisolve.problems.composite), got "
                        f"{type(problem).__name__}")
    # LASSO / ridge / elastic net on least squares: by default the greedy numba loop on a
    # working set (one coordinate per update), the route benchmarks/lasso.py measured fastest
    lasso = (problem.proximal and problem.loss == "least_squares" and problem.prox is None
             and not problem.nonneg and callback is None)
    lasso_default = lasso and partition is None and block_size is None
    if partition is None:
        partition = "variable" if lasso_default else "sorted"
    if block_size is None:
        block_size = 1 if lasso_default else 5
    if working_set is None:
        working_set = lasso_default and rule in (None, "gs-s", "gs-r", "gs-q") \
            and update in (None, "prox")
    if maxiter is None:
        maxiter = 100 * problem.n if lasso_default else 1000
    if rule is None:
        rule = "gs-q" if problem.proximal else "gsl"
    if update is None:
        update = "prox" if problem.proximal else "projected" if problem.nonneg else "gradient"
    partition = _choice("partition", partition, PARTITIONS)
    rule = _choice("rule", rule, RULES)
    update = _choice("update", update, UPDATES)
    n = problem.n
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) \
            or not 1 <= block_size <= n:
        raise ValueError(f"block_size must be an int in [1, n = {n}], got {block_size!r}")
    if partition == "variable" and rule not in ("gs", "gsl", "gsq", "gs-s", "gs-r", "gs-q"):
        raise ValueError(f"variable blocks are chosen greedily: rule must be gs, gsl, gsq, "
                         f"gs-s, gs-r or gs-q, got {rule!r}")
    if problem.nonneg and update not in ("projected", "tmp"):
        raise ValueError(f"{problem.name} has x >= 0: use update='projected' or 'tmp', not "
                         f"{update!r}")
    if not problem.nonneg and update in ("projected", "tmp"):
        raise ValueError(f"update={update!r} is for problems with x >= 0 (nnls_l1)")
    if problem.proximal and update != "prox":
        raise ValueError(f"{problem.name} has a non-smooth or prox term (l1 / l2 / prox=): use "
                         f"update='prox', not {update!r}")
    if update == "prox" and problem.nonneg:
        raise ValueError("update='prox' is for problems without x >= 0: use 'projected' or "
                         "'tmp'")
    if rule in _PROX_SCORE and update != "prox":
        raise ValueError(f"rule={rule!r} scores prox steps: use it with update='prox'")
    if update == "prox" and rule in _SCORE:
        raise ValueError(f"with update='prox' the greedy rules are gs-s, gs-r, gs-q (the "
                         f"non-smooth Gauss–Southwell rules), not {rule!r}")
    if update == "prox" and partition in ("red-black", "forest"):
        raise ValueError("update='prox' takes fixed or variable blocks, not tree partitions")
    rng = np.random.default_rng(seed)
    L = np.maximum(problem.lipschitz, 1e-300)

    # -- fixed blocks and what the rules need of them ---------------------------------
    trees: list[_Tree] | None = None
    if partition in ("red-black", "forest"):
        if problem.graph is None or problem.loss != "quadratic":
            raise ValueError(f"partition={partition!r} needs a quadratic problem on a graph "
                             "(label_propagation_lattice / _moons)")
        blocks = (red_black_partition if partition == "red-black" else
                  forest_partition)(problem.graph)
        if update == "newton":
            A = sp.csr_array(problem.A)
            trees = [_Tree(sp.csr_array(A[b][:, b])) for b in blocks]
    elif partition == "variable":
        blocks = []
    else:
        order = {"contiguous": np.arange(n), "sorted": np.argsort(L, kind="stable")}.get(
            partition)
        if order is None:  # "avg": largest and smallest Lᵢ alternate
            s = np.argsort(L, kind="stable")
            order = np.empty(n, dtype=np.int64)
            order[0::2], order[1::2] = s[: (n + 1) // 2], s[::-1][: n // 2]
        blocks = _fixed_blocks(order, block_size)
    nb = len(blocks)
    flat = np.concatenate(blocks).astype(np.int64) if nb else np.zeros(0, np.int64)
    offsets = np.cumsum([0] + [b.size for b in blocks]).astype(np.int64)
    bmax = max((b.size for b in blocks), default=1)
    Minv = np.zeros((nb, bmax, bmax)) if rule == "gsq" and nb else np.zeros((1, 1, 1))
    keep_bounds = update in ("newton", "tmp") and trees is None
    bounds: list[np.ndarray] = []
    Lb = np.zeros(nb)
    for k, b in enumerate(blocks):  # M_b once per block: L_b, M_b⁻¹ (GSQ), the update
        M = problem.block_bound(b)
        Lb[k] = np.linalg.eigvalsh(M)[-1]
        if keep_bounds:
            bounds.append(M)
        if rule == "gsq":
            Minv[k, :b.size, :b.size] = np.linalg.pinv(M)
    glob_L = None  # ‖M‖ for the IHT steps of variable GSQ

    x = (problem.x0 if x0 is None else np.asarray(x0, dtype=float)).astype(float).copy()
    if x.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},), got {x.shape}")
    if problem.nonneg and np.any(x < 0):
        raise ValueError("x0 must satisfy x >= 0 for a problem with x >= 0")
    state = _State(problem, x)
    g = state.grad()
    f_hist = [state.value()]
    prox_kind = _PROX_SCORE.get(rule, kernels.GS_R)
    # variable blocks by a prox rule: the scores and the measure share one pass over x
    shared = update == "prox" and partition == "variable" and rule in _PROX_SCORE
    invL = 1.0 / L

    def measure_at(g: np.ndarray) -> tuple[float, np.ndarray | None]:
        if not shared:
            return _measure(problem, x, g, L), None
        score, d_all = _prox_scores(problem, x, g, invL, prox_kind)
        return float(np.linalg.norm(L * d_all)), score

    measure0, score = measure_at(g)
    incremental = update == "prox" and problem.loss == "least_squares"
    if update == "prox" and nb:  # each coordinate's step in a fixed block: 1/L_b
        block_step = np.empty(n)
        for j, b in enumerate(blocks):
            block_step[b] = 1.0 / max(Lb[j], 1e-300)
    if not math.isfinite(measure0) or not math.isfinite(f_hist[0]):
        raise ValueError("the objective or its gradient is not finite at x0")
    monitor = IterationMonitor(measure0, rtol, atol, maxiter, callback)
    hot = (shared and block_size == 1 and callback is None and problem.prox is None
           and problem.loss == "least_squares")
    if working_set and not hot:
        raise ValueError("working_set=True is for the numba loop: partition='variable', "
                         "block_size=1, rule gs-s/gs-r/gs-q, least squares with l1/l2 (no "
                         "prox=), and no callback")
    if hot:  # the whole loop in numba
        if working_set:
            return _greedy_prox_working_set(problem, state, g, L, invL, prox_kind, f_hist[0],
                                            measure0, rtol, monitor, partition, rule, update)
        return _greedy_prox_kernel(problem, state, g, L, invL, prox_kind, f_hist[0], measure0,
                                   rtol, monitor, partition, rule, update)
    status = monitor.start(x, measure0)
    k = 0
    while status is None:
        # -- choose the block ----------------------------------------------------------
        gsel = g
        if problem.nonneg:  # score the projected step: no credit for pushing at x = 0
            gsel = g + problem.l1
            gsel = np.where((x <= 0) & (gsel > 0), 0.0, gsel)
        if update == "prox" and rule in _PROX_SCORE:
            if partition == "variable":
                block = (np.array([int(np.argmax(score))]) if block_size == 1 else
                         np.sort(np.argpartition(-score, block_size - 1)[:block_size]))
                if block_size == 1 and problem.loss != "softmax":  # M_b = Lⱼ for one coordinate
                    M, Lblk = None, float(L[block[0]])
                else:
                    M = problem.block_bound(block)
                    Lblk = float(np.linalg.eigvalsh(M)[-1])
            else:
                score, _ = _prox_scores(problem, x, g, block_step, prox_kind)
                j = int(np.argmax(np.add.reduceat(score[flat], offsets[:-1])))
                block, Lblk = blocks[j], Lb[j]
            tree = None
        elif partition == "variable":
            if rule == "gsq":
                if glob_L is None:
                    glob_L = _power_norm(problem, rng)
                block = _iht_block(problem, gsel, block_size, glob_L)
            else:
                score = np.abs(gsel) if rule == "gs" else np.abs(gsel) / np.sqrt(L)
                block = np.sort(np.argpartition(-score, block_size - 1)[:block_size])
            M = problem.block_bound(block)
            Lblk = float(np.linalg.eigvalsh(M)[-1])
            tree = None
        else:
            if rule == "cyclic":
                j = k % nb
            elif rule == "random":
                j = int(rng.integers(nb))
            elif rule == "lipschitz":
                j = int(rng.choice(nb, p=Lb / Lb.sum()))
            else:
                scores = kernels.block_scores(gsel, flat, offsets, L, Lb, Minv, _SCORE[rule])
                j = int(np.argmax(scores))
            block, Lblk = blocks[j], Lb[j]
            M = bounds[j] if bounds else None
            tree = trees[j] if trees is not None else None
        gb = g[block]
        # -- update it -------------------------------------------------------------------
        if update == "gradient":
            d = -gb / Lblk
        elif update == "newton":
            d = tree.solve(-gb) if tree is not None else _solve_psd(M, -gb)
        elif update == "newton-ls":
            d = _solve_psd(problem.block_hessian(x, block), -gb)
            d = _armijo(state, block, d, gb, f_hist[-1])
        elif update == "projected":
            d = np.maximum(0.0, x[block] - (gb + problem.l1) / Lblk) - x[block]
        elif update == "prox":  # x_b ← prox_{r/L_b}(x_b − g_b/L_b)
            t = 1.0 / max(Lblk, 1e-300)
            d = problem.prox_r(x[block] - t * gb, t) - x[block]
        else:  # two-metric projection
            d = _two_metric(state, block, gb + problem.l1, M, Lblk, f_hist[-1])
        if update != "newton-ls" and update != "tmp":
            state.move(block, d)
        if incremental:  # ∇f += (AᵀA)[:, b] d; exact recomputation before stopping
            g = g + state.gram_columns(block) @ d
            measure, score = measure_at(g)
            if measure <= monitor.threshold or k % 1000 == 999:
                g = state.grad()
                measure, score = measure_at(g)
        else:
            g = state.grad()
            measure, score = measure_at(g)
        f_hist.append(state.value())
        k += 1
        status = monitor.step(x, measure)
    test = (f"first-order measure <= max(rtol * measure(x0), atol) = "
            f"{monitor.threshold:.3g} (rtol = {rtol:g}, measure(x0) = {measure0:.3g})")
    return monitor.result(x, status, "bcd", f=f_hist[-1], f_history=f_hist, blocks=nb,
                          partition=partition, rule=rule, update=update, stopping_test=test)


def _greedy_prox_kernel(p: CompositeProblem, state: _State, g: np.ndarray, L: np.ndarray,
                        invL: np.ndarray, kind: int, f0: float, measure0: float, rtol: float,
                        monitor: IterationMonitor, partition: str, rule: str,
                        update: str) -> Result:
    """One-coordinate greedy prox steps on least squares + elastic net, the loop in numba
    (:func:`.kernels.bcd.greedy_prox_ls`): the same iterates as the Python loop, O(n) per
    update. Here it fills the Gram store on a miss — the missing column with up to
    ``_GRAM_PREFETCH − 1`` uncached coordinates of the highest score in one product
    Aᵀ[a_j, …] (round-robin eviction when the store is full) — and recomputes ∇f and F
    exactly from x before it declares convergence and every ``refresh`` updates."""
    n, m, x = p.n, p.A.shape[0], state.x
    cap = int(min(n, max(1, _GRAM_BYTES // (8 * n))))
    gram = np.empty((cap, n))
    slot_of = np.full(n, -1, dtype=np.int64)
    owner = np.full(cap, -1, dtype=np.int64)
    nxt = 0
    size = min(monitor.maxiter, _HISTORY_CHUNK) + 1
    f_hist, m_hist = np.empty(size), np.empty(size)
    ctl = np.array([0, 1, 0, -1, 0], dtype=np.int64)  # k, exact, since, pending slot, j
    fl = np.array([f0, 0.0])
    divcap = monitor.divtol * max(measure0, monitor.threshold)  # as IterationMonitor
    # an exact gradient costs about m updates' time: every 100 m updates is ≤ 1 % of it
    refresh = max(_REFRESH_MIN, _REFRESH_PER_ROW * m)
    g = np.ascontiguousarray(g, dtype=float)
    l1, l2 = float(p.l1), float(p.l2)
    while True:
        code = kernels.greedy_prox_ls(x, g, L, invL, l1, l2, kind, gram, slot_of, ctl, fl,
                                      f_hist, m_hist, monitor.maxiter, monitor.threshold,
                                      divcap, refresh)
        if code == kernels.NEED_EXACT:  # ∇f = Aᵀ(Ax − b) and F from x, exactly
            state.aux = p.product(x)
            g[:] = state.grad()
            fl[0] = state.value()
            ctl[1], ctl[2], ctl[3] = 1, 0, -1
        elif code == kernels.MISS:
            j = int(ctl[4])
            batch = [j]
            if cap > 1:  # prefetch the likeliest next picks: one matrix product, not several
                d = np.empty(n)
                score = kernels.elastic_net_scores(x, g, invL, l1, l2, kind, d)
                score[slot_of >= 0] = -np.inf
                score[j] = -np.inf
                top = min(_GRAM_PREFETCH, cap) - 1
                cand = np.argpartition(-score, top - 1)[:top] if top < n else np.arange(n)
                batch += [int(i) for i in cand if np.isfinite(score[i]) and score[i] > 0]
            cols = state.gram_block(np.asarray(batch, dtype=np.int64))
            for t, i in enumerate(batch):
                if owner[nxt] >= 0:
                    slot_of[owner[nxt]] = -1
                gram[nxt] = cols[:, t]
                owner[nxt], slot_of[i] = i, nxt
                nxt = (nxt + 1) % cap
        elif code == kernels.GROW:
            grow = min(monitor.maxiter + 1, 2 * f_hist.size)
            f_hist = np.concatenate([f_hist, np.empty(grow - f_hist.size)])
            m_hist = np.concatenate([m_hist, np.empty(grow - m_hist.size)])
        else:
            break
    k = int(ctl[0])
    return _kernel_result(p, state, monitor, _KERNEL_STATUS[code], k, f_hist, m_hist, rtol,
                          measure0, partition, rule, update)


def _greedy_prox_working_set(p: CompositeProblem, state: _State, g: np.ndarray,
                             L: np.ndarray, invL: np.ndarray, kind: int, f0: float,
                             measure0: float, rtol: float, monitor: IterationMonitor,
                             partition: str, rule: str, update: str) -> Result:
    """:func:`_greedy_prox_kernel` on a growing working set W (``working_set=True``).

    Outer step: ∇f and F exactly from x, every coordinate's prox step (one pass over n),
    the exact measure; stop when it passes the test; else drop from W the zeros with
    |∇ᵢf| < _WS_KEEP·λ, and W ← W ∪ {xᵢ ≠ 0} ∪ {dᵢ ≠ 0} (the violators of largest |∇ᵢf|
    first, at most max(_WS_MIN, |W|) of them); (AᵀA)_WW keeps the rows and columns that
    stay and grows by the new columns A_Wᵀ A_new. Inner: the numba loop on W
    with (AᵀA)_WW as its Gram store (no misses), until the measure on W is _WS_INNER of
    the outer one (or half the threshold). When (AᵀA)_WW would not fit in _GRAM_BYTES
    the plain numba loop over all n takes over (with a RuntimeWarning)."""
    n, x = p.n, state.x
    l1, l2 = float(p.l1), float(p.l2)
    in_w = np.zeros(n, dtype=bool)
    W = np.zeros(0, dtype=np.int64)
    G = np.zeros((0, 0))
    size = min(monitor.maxiter, _HISTORY_CHUNK) + 1
    f_hist, m_hist = np.empty(size), np.empty(size)
    divcap = monitor.divtol * max(measure0, monitor.threshold)  # as IterationMonitor
    g = np.ascontiguousarray(g, dtype=float)
    f, k, outer = f0, 0, 0
    d = np.empty(n)
    max_w = int(math.sqrt(_GRAM_BYTES / 8))
    while True:
        # -- outer: the exact gradient, measure and W -----------------------------------
        if outer:  # Ax − b from the nonzeros of x only
            nz = np.flatnonzero(x)
            state.aux = (p.A[:, nz] @ x[nz] if nz.size < n // 2 else p.A @ x) - p.b
            g = np.ascontiguousarray(state.grad(), dtype=float)
            f = state.value()
        outer += 1
        kernels.elastic_net_scores(x, g, invL, l1, l2, kind, d)
        meas = float(np.linalg.norm(L * d))  # ‖L ⊙ (prox step)‖ over all n
        f_hist[k], m_hist[k] = f, meas
        if not math.isfinite(meas):
            code = kernels.NONFINITE
        elif meas <= monitor.threshold:
            code = kernels.CONVERGED
        elif k > 0 and meas > divcap:
            code = kernels.DIVERGED
        elif k >= monitor.maxiter:
            code = kernels.MAX_ITER
        else:
            code = None
        if code is not None:
            break
        if _WS_KEEP > 0 and W.size:  # drop from W the zeros well inside |∇ᵢf| < _WS_KEEP·λ
            keep = (x[W] != 0) | (np.abs(g[W]) >= _WS_KEEP * l1)
            if not keep.all():
                in_w[W[~keep]] = False
                W, G = W[keep], G[np.ix_(keep, keep)]
        # the nonzeros, then the violators (dᵢ ≠ 0; |∇ᵢf| ≥ _WS_NEAR·λ) of largest
        # |∇ᵢf| — at most max(_WS_MIN, |W|) of those: W at most doubles per round
        out = ~in_w
        new = np.flatnonzero(out & (x != 0))
        cand = np.flatnonzero(out & (x == 0) & ((d != 0) | (np.abs(g) >= _WS_NEAR * l1)))
        room = max(_WS_MIN, W.size)
        if cand.size > room:
            cand = cand[np.argpartition(-np.abs(g[cand]), room - 1)[:room]]
        new = np.concatenate([new, cand])
        if W.size + new.size > max_w:  # (AᵀA)_WW would not fit: the loop over all n
            warnings.warn("working set too large for the Gram store: continuing without it",
                          RuntimeWarning, stacklevel=3)
            rest = _greedy_prox_kernel(p, state, g, L, invL, kind, f, meas, rtol,
                                       IterationMonitor(meas, 0.0, monitor.threshold,
                                                        monitor.maxiter - k),
                                       partition, rule, update)
            f_hist = np.concatenate([f_hist[:k], rest.info["f_history"]])
            m_hist = np.concatenate([m_hist[:k], rest.residuals])
            k += rest.iterations
            status = rest.status
            break
        if new.size:  # (AᵀA)_WW grows by A_Wᵀ A_new (and its transpose)
            Wn = np.concatenate([W, new])
            Gn = np.empty((Wn.size, Wn.size))
            Gn[:W.size, :W.size] = G
            C = _gram_rows(p.A, Wn, new)  # (AᵀA)[Wn, new] = A_Wnᵀ A_new
            Gn[:, W.size:] = C
            Gn[W.size:, :W.size] = C[:W.size].T
            W, G = Wn, Gn
            in_w[new] = True
        # -- inner: the numba loop on W -------------------------------------------------
        xw, gw = x[W], g[W]
        ctl = np.array([0, 1, 0, -1, 0], dtype=np.int64)
        fl = np.array([f, 0.0])
        inner_tol = max(_WS_INNER * meas, 0.5 * monitor.threshold)
        slot_of = np.arange(W.size, dtype=np.int64)
        # at most _WS_ROUND·|W| updates before the next exact gradient: the measure on W
        # cannot pass inner_tol when the rounding of the updated gradient is above it
        budget = min(monitor.maxiter - k, max(1000, _WS_ROUND * W.size))
        while True:
            code = kernels.greedy_prox_ls(xw, gw, L[W], invL[W], l1, l2, kind, G, slot_of,
                                          ctl, fl, f_hist[k:], m_hist[k:], budget,
                                          inner_tol, divcap, 2 ** 62)
            if code != kernels.GROW:
                break
            grow = min(monitor.maxiter + 1, 2 * f_hist.size)
            f_hist = np.concatenate([f_hist, np.empty(grow - f_hist.size)])
            m_hist = np.concatenate([m_hist, np.empty(grow - m_hist.size)])
        x[W] = xw
        k += int(ctl[0])
        f = float(fl[0])
        if code in (kernels.NONFINITE, kernels.DIVERGED):
            break
        # NEED_EXACT (W solved to inner_tol) or MAX_ITER: back to the exact outer step
    if code is not None:
        status = _KERNEL_STATUS[code]
    return _kernel_result(p, state, monitor, status, k, f_hist, m_hist, rtol, measure0,
                          partition, rule, update, working_set=int(W.size),
                          full_gradients=outer)


_KERNEL_STATUS = {kernels.CONVERGED: Status.CONVERGED, kernels.MAX_ITER: Status.MAX_ITER,
                  kernels.DIVERGED: Status.DIVERGED, kernels.NONFINITE: Status.NONFINITE}


def _kernel_result(p: CompositeProblem, state: _State, monitor: IterationMonitor,
                   status: Status, k: int, f_hist: np.ndarray, m_hist: np.ndarray,
                   rtol: float, measure0: float, partition: str, rule: str, update: str,
                   **extra: Any) -> Result:
    """The Result of a numba run of k updates: the exact F at the end (the kernel's is
    updated in O(1)), the measures as the residual history."""
    x = state.x
    state.aux = p.product(x)
    f_hist[k] = state.value()
    monitor.residuals = m_hist[:k + 1].tolist()
    monitor.iterations = k
    test = (f"first-order measure <= max(rtol * measure(x0), atol) = "
            f"{monitor.threshold:.3g} (rtol = {rtol:g}, measure(x0) = {measure0:.3g})")
    return monitor.result(x, status, "bcd", f=float(f_hist[k]),
                          f_history=f_hist[:k + 1].tolist(), blocks=0, partition=partition,
                          rule=rule, update=update, stopping_test=test, kernel=True, **extra)


def _gram_rows(A: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """(AᵀA)[rows, cols] = A[:, rows]ᵀ A[:, cols], dense."""
    Ar, Ac = A[:, rows], A[:, cols]
    if sp.issparse(A):
        return np.asarray((Ar.T @ Ac).toarray(), dtype=float)
    return Ar.T @ Ac


def _solve_psd(M: np.ndarray, r: np.ndarray) -> np.ndarray:
    """M d = r for a symmetric positive semi-definite M (least squares when singular)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", sla.LinAlgWarning)
        try:
            return sla.solve(M, r, assume_a="pos")
        except (np.linalg.LinAlgError, sla.LinAlgWarning):  # singular or nearly: least squares
            return np.linalg.lstsq(M, r, rcond=None)[0]


def _armijo(state: _State, block: np.ndarray, d: np.ndarray, gb: np.ndarray,
            f0: float) -> np.ndarray:
    """Backtrack α = 1, ½, … until f(x + α d) ≤ f(x) + 10⁻⁴ α g_bᵀd; applies the step."""
    slope = float(gb @ d)
    if not slope < 0:  # not a descent direction (indefinite block Hessian): use −g_b
        d, slope = -gb, -float(gb @ gb)
    alpha, moved = 1.0, 0.0
    for _ in range(60):
        state.move(block, (alpha - moved) * d)
        moved = alpha
        if state.value() <= f0 + 1e-4 * alpha * slope:
            return alpha * d
        alpha *= 0.5
    state.move(block, -moved * d)
    return np.zeros_like(d)


def _two_metric(state: _State, block: np.ndarray, gb: np.ndarray, M: np.ndarray,
                Lb: float, f0: float) -> np.ndarray:
    """Two-metric projection on x ≥ 0 (gb includes λ): Newton with M on the free set,
    gradient on the rest, projected, with backtracking on f.

    The projected-gradient step p = max(0, x_b − g_b/L_b) − x_b decreases F by at least
    (L_b/2)‖p‖² (F(x + p) ≤ F(x) + g_bᵀp + (L_b/2)‖p‖² and g_bᵀp ≤ −L_b‖p‖²), and p = 0
    only at a KKT point of the block. When the two-metric step decreases F by less than
    that bound — no descent direction, every backtracking trial rejected, or a (near-)zero
    step from a singular M on the free set (the pair u, v of a split x = u − v, whose
    least-squares Newton step ignores the λ(u + v) part) — p is taken instead, so the
    greedy rule cannot pick the same block forever."""
    xb = state.x[block].copy()
    free = (xb > 0) | (gb < 0)
    pg = np.maximum(0.0, xb - gb / Lb) - xb  # projected-gradient step
    bound = 0.5 * Lb * float(pg @ pg)  # its guaranteed decrease
    step = -gb / Lb
    if np.any(free):
        step[free] = _solve_psd(M[np.ix_(free, free)], -gb[free])
    alpha = 1.0
    for _ in range(60):
        d = np.maximum(0.0, xb + alpha * step) - xb
        slope = float(gb @ d)
        if not slope < 0:  # no descent in this direction: fall back
            break
        state.move(block, d)
        f = state.value()
        if f <= f0 + 1e-4 * slope:
            if f0 - f >= bound:
                return d
            state.move(block, -d)  # accepted but worse than the projected-gradient bound
            break
        state.move(block, -d)
        alpha *= 0.5
    state.move(block, pg)
    return pg


def _power_norm(p: CompositeProblem, rng: np.random.Generator) -> float:
    """λ_max of the global bound M (20 power steps, 10 % margin) for the IHT step size."""
    v = rng.standard_normal(p.n)
    for _ in range(20):
        w = _bound_matvec(p, v)
        v = w / np.linalg.norm(w)
    return 1.1 * float(v @ _bound_matvec(p, v))


def _bound_matvec(p: CompositeProblem, v: np.ndarray) -> np.ndarray:
    """M v for the global bound M ≽ ∇²f of :meth:`CompositeProblem.block_bound`."""
    A = p.A
    if p.loss == "quadratic":
        return A @ v
    if p.loss == "softmax":
        return 0.5 * (A.T @ (A @ v.reshape(-1, p.classes))).ravel()
    return (1.0 if p.loss == "least_squares" else 0.25) * (A.T @ (A @ v))


def _iht_block(p: CompositeProblem, g: np.ndarray, k: int, Lg: float) -> np.ndarray:
    """GSQ over all k-subsets, approximately: 10 iterative-hard-thresholding steps on
    min_d gᵀd + ½dᵀMd with ‖d‖₀ ≤ k; the support of d is the block."""
    d = np.zeros(p.n)
    for _ in range(10):
        u = d - (g + _bound_matvec(p, d)) / Lg
        keep = np.argpartition(-np.abs(u), k - 1)[:k]
        d = np.zeros(p.n)
        d[keep] = u[keep]
    return np.sort(keep)

"""Block-coordinate test problems: min F(x) = f(x) + r(x), f smooth, r separable.

The six problems of Nutini, Laradji and Schmidt, "Let's Make Block Coordinate
Descent Converge Faster" (JMLR 2022), generated from a seed as in the paper's code
(facts read from IssamLaradji/BlockCoordinateDescent):

* A :func:`least_squares`     f = ½‖Ax − b‖²
* A-L1 :func:`nnls_l1`        f = ½‖Ax − b‖²,  r = λ Σᵢ xᵢ + ι(x ≥ 0)   (= λ‖x‖₁ on x ≥ 0)
* B :func:`logistic`          f = Σᵢ log(1 + exp(−bᵢ aᵢᵀx)),  10 % of the labels flipped
* C :func:`softmax`           f = Σᵢ [log Σ_c exp(aᵢᵀX_c) − aᵢᵀX_{yᵢ}],  X ∈ R^{n×classes}
* D :func:`label_propagation_lattice`   f = ½ xᵀAx − bᵀx on a 50 × 50 lattice
* E :func:`label_propagation_moons`     the same on a two-moons 5-nearest-neighbour graph

A, B and C share one data generator: A = (randn(m, n) + 1) · diag(10 randn(n)), each
entry kept with probability 10 log(m)/m; a truth w with 10 % nonzero N(0, 1) entries.
D and E are the quadratic label-propagation criterion ½ Σᵢⱼ wᵢⱼ (yᵢ − yⱼ)² over the
unlabelled nodes, i.e. A_ii = Σⱼ wᵢⱼ, A_ij = −wᵢⱼ (both unlabelled), bᵢ = Σ_{j labelled} wᵢⱼ yⱼ.

Every problem carries its reference optimum ``f_star``, computed by a trusted
solver: LSQR (A), L-BFGS-B with bounds (A-L1), a sparse direct solve
(D, E), L-BFGS-B (B, C) — or the infimum 0 when the data are linearly separable,
certified by a least-norm solve that puts every margin at 1 (then no minimiser exists).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.optimize as so
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla
from scipy.special import logsumexp

__all__ = ["CompositeProblem", "label_propagation_lattice", "label_propagation_moons",
           "least_squares", "logistic", "nnls_l1", "softmax"]

LOSSES = ("least_squares", "logistic", "softmax", "quadratic")


@dataclass(eq=False)
class CompositeProblem:
    """min f(x) + r(x), r separable, with the structure BCD exploits.

    r(x) = λ‖x‖₁ + (μ/2)‖x‖² (LASSO: ``l1=λ``; ridge: ``l2=μ``; elastic net: both), or
    λΣxᵢ on x ≥ 0 (``nonneg=True``), or any separable r given by its prox (``prox=``).

    Parameters
    ----------
    loss : {"least_squares", "logistic", "softmax", "quadratic"}
        The smooth part ½‖Ax − b‖², Σ log(1 + e^{−bᵢaᵢᵀx}), the multinomial loss with one-hot
        ``b`` (x is the n × classes matrix X, raveled row-major: coordinate (j, c) is
        ``j * classes + c``), or ½ xᵀAx − bᵀx (A symmetric positive definite).
    A : (m, n) sparse or dense matrix; b : labels / targets (see ``loss``).
    l1 : float
        λ ≥ 0 of the separable term; with ``nonneg`` it is λ Σ xᵢ on x ≥ 0.
    nonneg : bool
        Constrain x ≥ 0.
    f_star : float, optional
        Reference optimum of F (an infimum when ``meta["separable"]``).
    graph : sparse matrix, optional
        The dependency graph of the variables (D, E): the nonzero pattern of A.
    l2 : float
        μ ≥ 0 of the term (μ/2)‖x‖² (ridge; elastic net with ``l1``).
    prox, prox_value : callables, optional
        A custom separable r: ``prox(v, step)`` returns argmin_u r(u) + ‖u − v‖²/(2·step)
        elementwise (``step`` a scalar or an array like ``v``), ``prox_value(x)`` returns
        the elementwise values rᵢ(xᵢ) (their sum enters the objective). Replaces ``l1``,
        ``l2`` and ``nonneg``; bcd then takes ``update="prox"``.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]); b = np.array([1.0, 0.0, 1.0])
    >>> p = CompositeProblem("least_squares", A, b, name="tiny")
    >>> p.n, p.f(np.zeros(2)), p.grad(np.zeros(2)).tolist()
    (2, 1.0, [-6.0, -8.0])

    A box constraint −1 ≤ xᵢ ≤ 1 through the hook (its prox is the clip, its value 0):

    >>> box = CompositeProblem("least_squares", A, b, prox=lambda v, t: np.clip(v, -1, 1),
    ...                        prox_value=lambda x: np.zeros_like(x))
    >>> box.proximal, box.prox_r(np.array([3.0, -0.5]), 0.1).tolist()
    (True, [1.0, -0.5])
    """

    loss: str
    A: Any
    b: np.ndarray
    l1: float = 0.0
    nonneg: bool = False
    f_star: float | None = None
    x0: np.ndarray | None = None
    name: str = "composite"
    graph: Any = None
    meta: dict = field(default_factory=dict)
    l2: float = 0.0
    prox: Callable[[np.ndarray, Any], np.ndarray] | None = None
    prox_value: Callable[[np.ndarray], np.ndarray] | None = None
    kind = "composite"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if not (np.isfinite(self.l1) and self.l1 >= 0):
            raise ValueError(f"the L1 weight λ must be a finite number >= 0, got {self.l1!r}")
        if not (np.isfinite(self.l2) and self.l2 >= 0):
            raise ValueError(f"the L2 weight μ must be a finite number >= 0, got {self.l2!r}")
        if (self.prox is None) != (self.prox_value is None):
            raise ValueError("pass prox= and prox_value= together: prox(v, step) for the "
                             "update and prox_value(x) (elementwise r(xᵢ)) for the objective")
        if self.prox is not None and (self.l1 > 0 or self.l2 > 0 or self.nonneg):
            raise ValueError("a custom prox= replaces l1=, l2= and nonneg=: fold them into it")
        if self.nonneg and self.l2 > 0:
            raise ValueError("l2= with nonneg=True is not supported: pass prox= with "
                             "prox(v, t) = max(0, v - t*l1) / (1 + t*l2)")
        self.A = sp.csc_array(self.A) if sp.issparse(self.A) else np.asarray(self.A, float)
        self.b = np.asarray(self.b, dtype=float)
        m, p = self.A.shape
        self.classes = self.b.shape[1] if self.loss == "softmax" else 1
        if self.b.shape[0] != m:
            raise ValueError(f"b has {self.b.shape[0]} rows, A has {m}")
        self.n = p * self.classes
        self.x0 = np.zeros(self.n) if self.x0 is None else np.asarray(self.x0, float)
        if self.x0.shape != (self.n,):
            raise ValueError(f"x0 must have shape ({self.n},), got {self.x0.shape}")
        if self.prox is not None:
            r0 = np.asarray(self.prox_value(self.x0), dtype=float)
            if r0.shape != (self.n,):
                raise ValueError(f"prox_value(x) must return the elementwise values r(xᵢ), "
                                 f"shape ({self.n},); got shape {r0.shape}")
        col_sq = np.asarray(self.A.multiply(self.A).sum(axis=0) if sp.issparse(self.A)
                            else np.einsum("ij,ij->j", self.A, self.A)).ravel()  # no m×n temp
        # coordinate Lipschitz constants Lᵢ of ∂ᵢf (the paper's code uses the same bounds)
        if self.loss == "quadratic":
            self.lipschitz = np.asarray(self.A.diagonal(), dtype=float)
        elif self.loss == "least_squares":
            self.lipschitz = col_sq
        else:  # σ' ≤ 1/4, and p(1 − p) ≤ 1/4 for every softmax probability
            self.lipschitz = np.repeat(0.25 * col_sq, self.classes)

    # -- the objective ---------------------------------------------------------
    def _X(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(-1, self.classes)

    def product(self, x: np.ndarray) -> np.ndarray:
        """The product the loss is a function of: Ax − b (least squares; for the quadratic
        it is the gradient itself), the margins Ax (logistic), the scores AX (softmax).
        Block methods keep it up to date column by column."""
        if self.loss == "logistic":
            return self.A @ x
        if self.loss == "softmax":
            return self.A @ self._X(x)
        return self.A @ x - self.b

    def smooth_at(self, x: np.ndarray, z: np.ndarray) -> float:
        """The smooth part from the product z = ``product(x)``."""
        if self.loss == "least_squares":
            return 0.5 * float(z @ z)
        if self.loss == "logistic":
            return float(np.sum(np.logaddexp(0.0, -self.b * z)))
        if self.loss == "softmax":
            return float(np.sum(logsumexp(z, axis=1)) - np.sum(z * self.b))
        return 0.5 * float(x @ (z - self.b))  # ½xᵀAx − bᵀx with z = Ax − b

    def grad_at(self, z: np.ndarray, AT: Any = None) -> np.ndarray:
        """The gradient of the smooth part from the product z; ``AT`` a stored Aᵀ."""
        AT = self.A.T if AT is None else AT
        if self.loss == "least_squares":
            return AT @ z
        if self.loss == "logistic":
            # ∇ = −Aᵀ(b σ(−b Ax)),  σ(t) = 1/(1 + e^{−t})
            return -(AT @ (self.b * _sigmoid(-self.b * z)))
        if self.loss == "softmax":
            return (AT @ (_softmax(z) - self.b)).ravel()
        return z.copy()

    @property
    def proximal(self) -> bool:
        """True when r is handled by its prox (signed L1, L2, or a custom ``prox``); False for
        r = 0 and for λΣxᵢ on x ≥ 0 (projected updates)."""
        return (self.l1 > 0 and not self.nonneg) or self.l2 > 0 or self.prox is not None

    def penalty(self, x: np.ndarray) -> float:
        """r(x) = λΣ|xᵢ| + (μ/2)Σxᵢ² (= λΣxᵢ on x ≥ 0), or Σ prox_value(x)."""
        if self.prox is not None:
            return float(np.sum(self.prox_value(x)))
        return self.l1 * float(np.sum(np.abs(x))) + 0.5 * self.l2 * float(x @ x)

    def penalty_terms(self, x: np.ndarray) -> np.ndarray:
        """The separable r elementwise: rᵢ(xᵢ) = λ|xᵢ| + (μ/2)xᵢ² (or ``prox_value(x)``)."""
        if self.prox is not None:
            return np.asarray(self.prox_value(x), dtype=float)
        return self.l1 * np.abs(x) + 0.5 * self.l2 * x * x

    def prox_r(self, v: np.ndarray, step: Any) -> np.ndarray:
        """prox_{t r}(v) = argmin_u r(u) + ‖u − v‖²/(2t), elementwise, t = ``step`` (a scalar
        or an array like v). Elastic net: S_{tλ}(v)/(1 + tμ), S_a(v) = sign(v)max(|v| − a, 0).

        Examples
        --------
        >>> import numpy as np
        >>> p = CompositeProblem("least_squares", np.eye(3), np.ones(3), l1=1.0, l2=1.0)
        >>> p.prox_r(np.array([3.0, -0.5, -2.0]), 1.0).tolist()
        [1.0, -0.0, -0.5]
        """
        if self.prox is not None:
            return np.asarray(self.prox(v, step), dtype=float)
        t = np.asarray(step, dtype=float)
        # S_{tλ}(v) / (1 + tμ)
        return np.sign(v) * np.maximum(np.abs(v) - t * self.l1, 0.0) / (1.0 + t * self.l2)

    def smooth(self, x: np.ndarray) -> float:
        """The smooth part of the objective (without the L1 term)."""
        return self.smooth_at(x, self.product(x))

    def f(self, x: np.ndarray) -> float:
        """The objective: the smooth part + r(x) (+∞ outside x ≥ 0 when ``nonneg``)."""
        if self.nonneg and np.any(x < 0):
            return float("inf")
        return self.smooth(x) + self.penalty(x)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """Gradient of the smooth part."""
        return self.grad_at(self.product(x))

    def block_hessian(self, x: np.ndarray, block: np.ndarray) -> np.ndarray:
        """∇²_bb f(x), the dense |b| × |b| block of the Hessian on coordinates ``block``."""
        block = np.asarray(block)
        if self.loss == "quadratic":
            return _dense(self.A[block][:, block])
        if self.loss == "softmax":
            feat, cls = np.divmod(block, self.classes)
            P = _softmax(self.A @ self._X(x))
            AF = _dense(self.A[:, feat])
            PC = P[:, cls]
            U = AF * PC
            # H_jk = Σᵢ A_i,fj A_i,fk (δ_{cj ck} P_i,cj − P_i,cj P_i,ck)
            same = cls[:, None] == cls[None, :]
            return np.where(same, AF.T @ U, 0.0) - U.T @ U
        Ab = _dense(self.A[:, block])
        if self.loss == "least_squares":
            return Ab.T @ Ab
        s = _sigmoid(self.b * (self.A @ x))
        return (Ab.T * (s * (1 - s))) @ Ab

    def block_lipschitz(self, block: np.ndarray) -> float:
        """L_b = λ_max(M_b) ≥ λ_max(∇²_bb f(x)) for every x: the step 1/L_b of the block
        gradient update (M_b from :meth:`block_bound`)."""
        return float(np.linalg.eigvalsh(self.block_bound(block))[-1])

    def block_bound(self, block: np.ndarray) -> np.ndarray:
        """M_b ≽ ∇²_bb f(x) for every x: the matrix of the paper's "matrix update" and GSQ."""
        block = np.asarray(block)
        if self.loss == "quadratic":
            M = _dense(self.A[block][:, block])
        elif self.loss == "softmax":
            feat, cls = np.divmod(block, self.classes)
            AF = _dense(self.A[:, feat])
            # ∇²f ≼ ½ AᵀA ⊗ I (λ_max(diag p − ppᵀ) ≤ ½), restricted to the block
            M = 0.5 * np.where(cls[:, None] == cls[None, :], AF.T @ AF, 0.0)
        else:
            Ab = _dense(self.A[:, block])
            M = (Ab.T @ Ab) * (1.0 if self.loss == "least_squares" else 0.25)
        return M

    def __repr__(self) -> str:
        fs = "?" if self.f_star is None else f"{self.f_star:.10g}"
        return f"CompositeProblem({self.name}, loss={self.loss}, n={self.n}, f*={fs})"


# ----------------------------------------------------------------------------- helpers
def _dense(M: Any) -> np.ndarray:
    return M.toarray() if sp.issparse(M) else np.asarray(M)


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * t))  # = 1/(1 + e^{−t}), without overflow


def _softmax(S: np.ndarray) -> np.ndarray:
    E = np.exp(S - S.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _check_sizes(**sizes: Any) -> None:
    for label, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{label} must be a positive int, got {v!r}")


def _design(m: int, n: int, rng: np.random.Generator) -> tuple[sp.csc_array, np.ndarray]:
    """The paper's A (biased Gaussian, column scales 10·N(0,1), density 10 log m / m) and
    its sparse truth w (10 % of the entries N(0, 1))."""
    A = rng.standard_normal((m, n)) + 1.0
    A *= 10.0 * rng.standard_normal(n)
    A *= rng.random((m, n)) < min(1.0, 10.0 * np.log(m) / m)
    w = rng.standard_normal(n) * (rng.random(n) < 0.1)
    return sp.csc_array(A), w


def _lbfgsb(F: Callable, G: Callable, x0: np.ndarray, bounds: Any = None) -> float:
    res = so.minimize(lambda x: (F(x), G(x)), x0, jac=True, method="L-BFGS-B",
                      bounds=bounds, options={"maxiter": 100_000, "maxfun": 200_000,
                                              "ftol": 1e-15, "gtol": 1e-10})
    return float(res.fun)


def _separable(A: sp.csc_array, T: np.ndarray) -> bool:
    """True when some X has A X = T exactly (least-norm solve): then the margins the
    targets T encode are attained and scaling X drives a logistic / softmax loss to 0."""
    X = np.linalg.lstsq(A.toarray(), T, rcond=None)[0]  # dense: the sizes here are ≤ 1e7
    return bool(np.max(np.abs(A @ X - T)) < 0.5)


# ----------------------------------------------------------------------------- A, A-L1, B, C
def least_squares(m: int = 1000, n: int = 10000, seed: int | None = 0) -> CompositeProblem:
    """Problem A: ½‖Ax − b‖², b = Aw + N(0, I) noise.

    ``f_star`` from LSQR (0 up to rounding when m < n: b lies in the range of A).

    Examples
    --------
    >>> from unisolve.problems.composite import least_squares
    >>> p = least_squares(60, 40, seed=1)
    >>> p.n, p.loss, p.f_star > 0
    (40, 'least_squares', True)
    """
    _check_sizes(m=m, n=n)
    rng = np.random.default_rng(seed)
    A, w = _design(m, n, rng)
    b = A @ w + rng.standard_normal(m)
    x = spla.lsqr(A, b, atol=1e-15, btol=1e-15, iter_lim=50_000)[0]
    return CompositeProblem("least_squares", A, b, f_star=0.5 * float(np.sum((A @ x - b) ** 2)),
                            name=f"A: least squares {m}x{n}",
                            meta={"w": w, "x_star": x, "seed": seed})


def nnls_l1(m: int = 1000, n: int = 10000, lam: float = 50000.0,
            seed: int | None = 0) -> CompositeProblem:
    """Problem A-L1: ½‖Ax − b‖² + λ‖x‖₁ subject to x ≥ 0 (the data of :func:`least_squares`).

    On x ≥ 0 the L1 term is the linear λΣxᵢ, so ``f_star`` comes from L-BFGS-B with
    bounds. λ = 50000 is the paper's value for its 1000 × 10000 data.

    Examples
    --------
    >>> from unisolve.problems.composite import nnls_l1
    >>> p = nnls_l1(60, 40, lam=10.0, seed=1)
    >>> p.nonneg, p.l1, bool(p.f(p.meta["x_star"]) <= p.f(p.x0))
    (True, 10.0, True)
    """
    _check_sizes(m=m, n=n)
    if not (np.isfinite(lam) and lam >= 0):
        raise ValueError(f"lam (the L1 weight λ) must be a finite number >= 0, got {lam!r}")
    p = least_squares(m, n, seed)
    A, b = p.A, p.b

    def F(x):
        return 0.5 * float(np.sum((A @ x - b) ** 2)) + lam * float(np.sum(x))

    def G(x):
        return A.T @ (A @ x - b) + lam

    res = so.minimize(lambda x: (F(x), G(x)), np.zeros(A.shape[1]), jac=True,
                      method="L-BFGS-B", bounds=[(0, None)] * A.shape[1],
                      options={"maxiter": 100_000, "maxfun": 200_000, "ftol": 1e-15,
                               "gtol": 1e-10})
    return CompositeProblem("least_squares", A, b, l1=float(lam), nonneg=True,
                            f_star=float(res.fun), name=f"A-L1: NNLS + L1 {m}x{n}",
                            meta={"w": p.meta["w"], "x_star": res.x, "seed": seed})


def logistic(m: int = 1000, n: int = 10000, seed: int | None = 0) -> CompositeProblem:
    """Problem B: Σ log(1 + exp(−bᵢ aᵢᵀx)), b = sign(Aw) with 10 % of the signs flipped.

    With m ≤ n the data are separable (certified): ``f_star`` = 0 is an infimum and
    ``meta["separable"]`` is True; otherwise ``f_star`` is L-BFGS-B's minimum.

    Examples
    --------
    >>> from unisolve.problems.composite import logistic
    >>> p = logistic(200, 20, seed=0)
    >>> p.meta["separable"], bool(p.f_star > 0)
    (False, True)
    """
    _check_sizes(m=m, n=n)
    rng = np.random.default_rng(seed)
    A, w = _design(m, n, rng)
    b = np.sign(A @ w)
    b[b == 0] = 1.0
    b *= np.where(rng.random(m) < 0.1, -1.0, 1.0)
    p = CompositeProblem("logistic", A, b, name=f"B: logistic {m}x{n}",
                         meta={"w": w, "seed": seed})
    separable = _separable(A, b[:, None])
    p.meta["separable"] = separable
    p.f_star = 0.0 if separable else _lbfgsb(p.smooth, p.grad, p.x0)
    return p


def softmax(m: int = 1000, n: int = 1000, classes: int = 50,
            seed: int | None = 0) -> CompositeProblem:
    """Problem C: multinomial logistic regression, labels argmax(AW + N(0, 1)), W ~ N(0, 1).

    x is the n × classes weight matrix raveled row-major. With m ≤ n the data are
    separable (certified) and ``f_star`` = 0 is an infimum; otherwise ``f_star`` is
    L-BFGS-B's minimum (close to 0 when the data happen to be separable anyway).

    Examples
    --------
    >>> from unisolve.problems.composite import softmax
    >>> p = softmax(300, 5, classes=3, seed=0)
    >>> p.n, p.b.shape, p.meta["separable"], round(p.f_star, 4)
    (15, (300, 3), False, 136.0945)
    """
    _check_sizes(m=m, n=n, classes=classes)
    if classes < 2:
        raise ValueError(f"classes must be >= 2, got {classes}")
    rng = np.random.default_rng(seed)
    A, _ = _design(m, n, rng)
    W = rng.standard_normal((n, classes))
    labels = np.argmax(A @ W + rng.standard_normal((m, classes)), axis=1)
    Y = np.eye(classes)[labels]
    p = CompositeProblem("softmax", A, Y, name=f"C: softmax {m}x{n}, {classes} classes",
                         meta={"labels": labels, "seed": seed})
    separable = _separable(A, 2.0 * Y - 1.0)  # margin targets: +1 own class, −1 others
    p.meta["separable"] = separable
    p.f_star = 0.0 if separable else _lbfgsb(p.smooth, p.grad, p.x0)
    return p


# ----------------------------------------------------------------------------- D, E
def _label_propagation(W: sp.csr_array, y: np.ndarray, labelled: np.ndarray, name: str,
                       meta: dict) -> CompositeProblem:
    """½ Σᵢⱼ wᵢⱼ (xᵢ − xⱼ)² over the unlabelled nodes, as ½ xᵀAx − bᵀx."""
    n_nodes = W.shape[0]
    free = np.setdiff1d(np.arange(n_nodes), labelled)
    degree = np.asarray(W.sum(axis=1)).ravel()
    L = sp.csr_array(sp.diags_array(degree) - W)
    A = sp.csc_array(L[free][:, free])
    b = np.asarray(W[free][:, labelled] @ y[labelled]).ravel()
    x_star = spla.spsolve(A, b)
    f_star = -0.5 * float(b @ x_star)  # min ½xᵀAx − bᵀx = −½ bᵀA⁻¹b
    graph = sp.csr_array(W[free][:, free])
    return CompositeProblem("quadratic", A, b, f_star=f_star, name=name, graph=graph,
                            meta={**meta, "x_star": x_star, "free": free,
                                  "labelled": labelled, "y": y})


def label_propagation_lattice(side: int = 50, labelled: int = 100, seed: int | None = 0,
                              weight: float = 1e5) -> CompositeProblem:
    """Problem D: label propagation on a side × side lattice (4 neighbours, wᵢⱼ = 1e5).

    ``labelled`` random nodes get labels 10·N(0, 1); the variables are the others.

    Examples
    --------
    >>> from unisolve.problems.composite import label_propagation_lattice
    >>> p = label_propagation_lattice(10, 5, seed=0)
    >>> p.n, p.graph.shape, int(p.graph.sum(axis=1).max() / 1e5) <= 4
    (95, (95, 95), True)
    """
    _check_sizes(side=side, labelled=labelled)
    if not 1 <= labelled < side * side:
        raise ValueError(f"labelled must be in [1, {side * side - 1}], got {labelled}")
    rng = np.random.default_rng(seed)
    path = sp.diags_array([np.ones(side - 1), np.ones(side - 1)], offsets=[-1, 1])
    eye = sp.identity(side)
    W = sp.csr_array(weight * (sp.kron(eye, path) + sp.kron(path, eye)))
    nodes = rng.choice(side * side, labelled, replace=False)
    y = np.zeros(side * side)
    y[nodes] = 10.0 * rng.standard_normal(labelled)
    return _label_propagation(W, y, np.sort(nodes), f"D: lattice {side}x{side}",
                              {"side": side, "seed": seed})


def label_propagation_moons(nodes: int = 2000, labelled: int = 100, seed: int | None = 0,
                            neighbours: int = 5) -> CompositeProblem:
    """Problem E: label propagation on a two-moons k-nearest-neighbour graph (wᵢⱼ = 1).

    Points: half on (cos φ, sin φ), half on (1 + cos φ, 0.5 − sin φ), φ ~ U(0, π),
    plus N(0, 0.04 I) noise; i ~ j when either is among the other's ``neighbours``
    nearest. Labels 1 / 2 on ``labelled`` nodes; every connected component of the
    graph gets at least one of them, so that A is positive definite.

    Examples
    --------
    >>> from unisolve.problems.composite import label_propagation_moons
    >>> p = label_propagation_moons(200, 10, seed=0)
    >>> p.n, p.meta["points"].shape
    (190, (200, 2))
    """
    _check_sizes(nodes=nodes, labelled=labelled, neighbours=neighbours)
    if not 1 <= labelled < nodes or neighbours >= nodes:
        raise ValueError(f"need 1 <= labelled < nodes and neighbours < nodes, got "
                         f"labelled={labelled}, neighbours={neighbours}, nodes={nodes}")
    rng = np.random.default_rng(seed)
    first = rng.random(nodes) < 0.5
    phi = np.pi * rng.random(nodes)
    pts = np.where(first[:, None], np.column_stack([np.cos(phi), np.sin(phi)]),
                   np.column_stack([1 + np.cos(phi), 0.5 - np.sin(phi)]))
    pts = pts + 0.2 * rng.standard_normal((nodes, 2))
    d2 = np.sum((pts[:, None, :] - pts[None, :, :]) ** 2, axis=2)
    np.fill_diagonal(d2, np.inf)
    near = np.argpartition(d2, neighbours, axis=1)[:, :neighbours]
    K = sp.csr_array((np.ones(near.size), (np.repeat(np.arange(nodes), neighbours),
                                           near.ravel())), shape=(nodes, nodes))
    W = sp.csr_array(((K + K.T) > 0).astype(float))
    _, comp = csgraph.connected_components(W, directed=False)
    # one random node per component first, then random others up to ``labelled``
    firsts = np.array([rng.choice(np.flatnonzero(comp == c)) for c in np.unique(comp)])
    if firsts.size > labelled:
        raise ValueError(f"the graph has {firsts.size} components: label at least that many")
    rest = rng.permutation(np.setdiff1d(np.arange(nodes), firsts))[: labelled - firsts.size]
    chosen = np.sort(np.concatenate([firsts, rest]))
    y = np.zeros(nodes)
    y[chosen] = np.where(first[chosen], 1.0, 2.0)
    return _label_propagation(W, y, chosen, f"E: two moons, {nodes} nodes",
                              {"points": pts, "classes": np.where(first, 1, 2),
                               "components": int(comp.max()) + 1, "seed": seed})

"""Two equality-constrained model problems of the sketch-Newton paper, generated here.

* :func:`pde_constrained` — discretised optimal control of Poisson's equation:

      min ½‖w − w_t‖² + 0.05‖z‖²   s.t.   Δ_h w + z = 0,

  on the N×N interior nodes of [−1, 1]² (h = 2/(N+1), zero Dirichlet values, the
  5-point Laplacian), unknowns x = (w, z) ∈ R^{2N²}, N² constraints. Target
  w_t[i, j] = sin(4 + s(i − (N+1)/2)) + cos(3 + s(j − (N+1)/2)), s = 0.1/√15, and the
  start x0 = 1, λ0 = 1, as in the paper's code. It is a convex QP, so the exact
  optimum comes from one sparse solve of its KKT system.
* :func:`constrained_logistic` — logistic regression on the unit sphere and an
  affine subspace:

      min (1/N) Σᵢ log(1 + exp(−yᵢ aᵢᵀw))   s.t.   C w = d,  ‖w‖² = 1,

  C a k×n Gaussian matrix (k = 10 by default). The paper draws d Gaussian too;
  here d = C w₀ for a random unit w₀, so the feasible set is never empty.

Both return :class:`~unisolve.problems.constrained.EqualityConstrainedProblem` with
sparse (PDE) or dense (logistic) derivatives.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .constrained import EqualityConstrainedProblem

__all__ = ["constrained_logistic", "pde_constrained"]


def _laplacian_2d(N: int, h: float) -> sp.csr_array:
    """5-point Δ_h on the N×N interior nodes, zero Dirichlet values, row-major nodes."""
    T = sp.diags_array([np.ones(N - 1), -2 * np.ones(N), np.ones(N - 1)], offsets=[-1, 0, 1])
    eye = sp.identity(N)
    return sp.csr_array((sp.kron(eye, T) + sp.kron(T, eye)) / h ** 2)


def pde_constrained(N: int = 16, alpha: float = 0.05) -> EqualityConstrainedProblem:
    """Optimal control of Poisson's equation, min ½‖w − w_t‖² + α‖z‖² s.t. Δ_h w + z = 0.

    Parameters
    ----------
    N : int
        Interior nodes per direction (3 ≤ N; the paper's benchmarks go to 64):
        n = 2N² unknowns (w then z, each row-major), m = N² constraints.
    alpha : float
        Control cost (0.05, i.e. 0.1/2, in the paper).

    Returns
    -------
    EqualityConstrainedProblem
        Sparse Jacobian [Δ_h  I] and Hessian diag(1, 2α); ``f_star``, ``x_star`` and
        ``meta["lam_star"]`` from a sparse LU solve of the KKT system; ``meta`` also
        holds ``N``, ``h`` and ``w_target`` (N×N).

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems import pde_constrained
    >>> p = pde_constrained(8)
    >>> p.n, p.m
    (128, 64)
    >>> bool(p.kkt_residual(p.x_star, p.meta["lam_star"]) < 1e-9)
    True
    """
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 3:
        raise ValueError(f"N must be an int >= 3 (interior nodes per direction), got {N!r}")
    if not (np.isfinite(alpha) and alpha > 0):
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    N = int(N)
    n2 = N * N
    h = 2.0 / (N + 1)
    s = 0.1 / np.sqrt(15.0)
    idx = np.arange(1, N + 1) - (N + 1) / 2
    w_t = (np.sin(4 + s * idx)[:, None] + np.cos(3 + s * idx)[None, :]).ravel()
    L = _laplacian_2d(N, h)
    G = sp.csr_array(sp.hstack([L, sp.identity(n2)]))
    weights = np.concatenate([np.ones(n2), np.full(n2, 2 * alpha)])  # ∇²f = diag(1, 2α)
    H = sp.csr_array(sp.diags_array(weights))

    def f(x):
        return 0.5 * float(np.sum((x[:n2] - w_t) ** 2)) + alpha * float(np.sum(x[n2:] ** 2))

    def grad(x):
        return np.concatenate([x[:n2] - w_t, 2 * alpha * x[n2:]])

    # exact optimum: [H Gᵀ; G 0] (x, λ) = (∇f(0) negated, 0) = ((w_t, 0), 0)
    K = sp.bmat([[H, G.T], [G, None]], format="csc")
    rhs = np.concatenate([w_t, np.zeros(n2), np.zeros(n2)])
    sol = spla.splu(K).solve(rhs)
    x_star, lam_star = sol[:2 * n2], sol[2 * n2:]
    return EqualityConstrainedProblem(
        f=f, grad=grad, c=lambda x: G @ x, jac=lambda x: G.copy(),
        hess_lag=lambda x, lam: H.copy(), x0=np.ones(2 * n2), lam0=np.ones(n2),
        f_star=f(x_star), x_star=x_star, name=f"PDE-control N={N}",
        source="Hong, Na, Mahoney, Kolar (ICML 2023), PDE-constrained experiment",
        meta={"N": N, "h": h, "w_target": w_t.reshape(N, N), "lam_star": lam_star,
              "alpha": alpha},
    )


def constrained_logistic(n_samples: int = 500, n_features: int = 50, *, k: int = 10,
                         seed: int | None = 0, dataset: str | None = None
                         ) -> EqualityConstrainedProblem:
    """Logistic regression with k random linear constraints and ‖w‖² = 1.

    Parameters
    ----------
    n_samples, n_features : int
        Size of the synthetic data (ignored when ``dataset`` is given), e.g. LIBSVM's a9a
        size 32561 × 123 as in ``benchmarks/constrained.py``: rows aᵢ ~ N(0, I),
        labels yᵢ = sign(aᵢᵀw_true + 0.5 ε) (ε standard normal noise).
    k : int
        Number of Gaussian linear constraints C w = d (10 in the paper); needs
        k + 1 < n_features.
    seed : int, optional
        Seed of the data, C and w₀ (d = C w₀, ‖w₀‖ = 1).
    dataset : {None, "breast_cancer"}
        A real dataset that ships with scikit-learn (569 samples, 30 standardised
        features, labels ±1); needs ``pip install scikit-learn``.

    Returns
    -------
    EqualityConstrainedProblem
        x0 = w₀ + a Gaussian perturbation (infeasible); ``meta``: ``A``, ``y``, ``C``, ``d``.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.problems import constrained_logistic
    >>> p = constrained_logistic(200, 20, seed=1)
    >>> p.n, p.m
    (20, 11)
    >>> r = us.solve(p, method="newton-kkt", atol=1e-8)
    >>> r.converged, bool(abs(r.x @ r.x - 1) < 1e-8)
    (True, True)
    """
    rng = np.random.default_rng(seed)
    if dataset is None:
        for label, v in (("n_samples", n_samples), ("n_features", n_features)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2:
                raise ValueError(f"{label} must be an int >= 2, got {v!r}")
        A = rng.standard_normal((n_samples, n_features))
        w_true = rng.standard_normal(n_features)
        y = np.sign(A @ w_true + 0.5 * rng.standard_normal(n_samples))
        y[y == 0] = 1.0
        name = f"logistic {n_samples}x{n_features}"
    elif dataset == "breast_cancer":
        try:
            from sklearn.datasets import load_breast_cancer
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("dataset='breast_cancer' needs scikit-learn: "
                              "pip install scikit-learn") from err
        data = load_breast_cancer()
        A = (data.data - data.data.mean(0)) / data.data.std(0)
        y = np.where(data.target == 1, 1.0, -1.0)
        name = "logistic breast_cancer"
    else:
        raise ValueError(f"dataset must be None or 'breast_cancer', got {dataset!r}")
    N, n = A.shape
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < n - 1:
        raise ValueError(f"k must be an int with 0 <= k < n_features - 1 = {n - 1}, got {k!r}")
    C = rng.standard_normal((k, n))
    w0 = rng.standard_normal(n)
    w0 /= np.linalg.norm(w0)
    d = C @ w0
    x0 = w0 + 0.1 * rng.standard_normal(n)

    def f(w):
        return float(np.mean(np.logaddexp(0.0, -y * (A @ w))))

    def grad(w):
        # ∇f = −(1/N) Aᵀ (y σ(−yAw)),  σ(t) = 1/(1 + e^{−t})
        return -(A.T @ (y * _sigmoid(-y * (A @ w)))) / N

    def hess_lag(w, lam):
        # ∇²f = (1/N) Aᵀ diag(σ(z)σ(−z)) A, z = yAw; ∇²(‖w‖² − 1) = 2I
        z = y * (A @ w)
        D = _sigmoid(z) * _sigmoid(-z)
        return (A.T * D) @ A / N + 2 * lam[-1] * np.eye(n)

    return EqualityConstrainedProblem(
        f=f, grad=grad, c=lambda w: np.concatenate([C @ w - d, [w @ w - 1]]),
        jac=lambda w: np.vstack([C, 2 * w]), hess_lag=hess_lag, x0=x0, f_star=None,
        name=name, source="Hong, Na, Mahoney, Kolar (ICML 2023), constrained logistic "
        "regression", meta={"A": A, "y": y, "C": C, "d": d},
    )


def _sigmoid(t: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * t))  # = 1/(1 + e^{−t}), without overflow

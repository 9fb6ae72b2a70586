"""Derivatives for free: gradient, Jacobian and Hessian of the Lagrangian from f and c alone.

:meth:`EqualityConstrainedProblem.from_callables
<unisolve.problems.constrained.EqualityConstrainedProblem.from_callables>` calls
:func:`derivatives` to turn an objective ``f`` and constraints ``c`` into the five
callables the constrained methods evaluate:

* ``"autograd"`` (default) — reverse-mode automatic differentiation by torch
  (imported lazily, float64 on the CPU): ∇f by one backward pass, the Jacobian
  G = ∂c/∂x by one backward pass per constraint, and the Hessian of the Lagrangian

      ∇²ₓL(x, λ) = ∇²f(x) + Σᵢ λᵢ ∇²cᵢ(x)  =  ∂/∂x [∇ₓ(f + λᵀc)]

  by differentiating the gradient of the scalar L = f + λᵀc once more (n backward
  passes). Exact to rounding: no step size. ``f`` and ``c`` receive a 1-D float64
  ``torch.Tensor`` and must use torch operations (``torch.sin``, ``x @ x``, indexing);
  ``c`` may return a tensor or a list of scalar tensors.
* ``"fd"`` — central finite differences of ``f`` and ``c`` called on numpy arrays,
  for callables torch cannot trace. First derivatives with the step
  hᵢ = ε^{1/3} max(1, |xᵢ|) ≈ 6.1e-6 max(1, |xᵢ|) (truncation O(h²) + rounding O(ε/h):
  about 1e-10 relative error), the Hessian of L from values of L with
  hᵢ = ε^{1/4} max(1, |xᵢ|) ≈ 1.2e-4 max(1, |xᵢ|):

      ∂²L/∂xᵢ∂xⱼ ≈ [L(x+hᵢeᵢ+hⱼeⱼ) − L(x+hᵢeᵢ−hⱼeⱼ) − L(x−hᵢeᵢ+hⱼeⱼ) + L(x−hᵢeᵢ−hⱼeⱼ)] / (4hᵢhⱼ)

  (about 1e-8 relative error; 2n(n+1) evaluations of f and c per Hessian, so meant
  for small n).

The values at the last point are cached, so a method that asks for f, ∇f, c and G at
the same x pays one forward and one backward sweep.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["FD_STEP_FIRST", "FD_STEP_SECOND", "derivatives"]

EPS = float(np.finfo(float).eps)
FD_STEP_FIRST = EPS ** (1 / 3)   # central first differences: h = ε^{1/3} max(1, |xᵢ|)
FD_STEP_SECOND = EPS ** (1 / 4)  # second differences of L: h = ε^{1/4} max(1, |xᵢ|)

_MODES = ("autograd", "fd")


def derivatives(f: Callable, c: Callable, n: int, mode: str = "autograd") -> dict[str, Callable]:
    """The callables ``f, grad, c, jac, hess_lag`` on numpy arrays, built from ``f`` and ``c``.

    Parameters
    ----------
    f : callable x -> scalar
        The objective. For ``mode="autograd"`` it receives a 1-D float64 torch tensor.
    c : callable x -> (m,) vector
        The constraints c(x) = 0 (a tensor, or a list/tuple of scalars, for autograd).
    n : int
        Number of variables.
    mode : {"autograd", "fd"}
        Automatic differentiation by torch, or central finite differences.

    Returns
    -------
    dict
        ``{"f", "grad", "c", "jac", "hess_lag"}``: numpy in, numpy (float64) out.

    Raises
    ------
    ValueError
        An unknown ``mode``.

    Examples
    --------
    >>> import numpy as np
    >>> from unisolve.problems.autodiff import derivatives
    >>> d = derivatives(lambda x: x[0] ** 3 + x[1] ** 2, lambda x: [x[0] * x[1] - 1], 2)
    >>> d["grad"](np.array([1.0, 2.0])), d["jac"](np.array([1.0, 2.0]))
    (array([3., 4.]), array([[2., 1.]]))
    >>> d["hess_lag"](np.array([1.0, 2.0]), np.array([0.5]))
    array([[6. , 0.5],
           [0.5, 2. ]])
    """
    if mode not in _MODES:
        raise ValueError(f"derivatives must be one of {list(_MODES)} (torch automatic "
                         f"differentiation, or central finite differences), got {mode!r}")
    return _autograd(f, c, n) if mode == "autograd" else _finite_differences(f, c, n)


# ----------------------------------------------------------------------------- autograd
def _trace_error(name: str, err: Exception) -> TypeError:
    return TypeError(
        f"{name}(x) could not be evaluated on a torch tensor ({type(err).__name__}: {err}). "
        f"With derivatives='autograd', {name} must use torch operations on its 1-D tensor "
        f"argument (torch.sin, torch.exp, x @ x, x[0] * x[1]; not np.sin or np.array), or "
        f"pass derivatives='fd' for central finite differences")


def _autograd(f: Callable, c: Callable, n: int) -> dict[str, Callable]:
    import torch  # lazily: problems without autograd never import torch

    def as_tensor(x: np.ndarray) -> Any:
        return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64,
                            requires_grad=True)

    def f_of(x: Any) -> Any:
        try:
            v = f(x)
        except Exception as err:  # numpy calls on a tensor that requires grad, and the like
            raise _trace_error("f", err) from err
        v = torch.as_tensor(v, dtype=torch.float64)
        if v.numel() != 1:
            raise ValueError(f"f(x) returned {v.numel()} values, expected a scalar")
        return v.reshape(())

    def c_of(x: Any) -> Any:
        try:
            v = c(x)
        except Exception as err:
            raise _trace_error("c", err) from err
        if isinstance(v, (list, tuple)):
            v = torch.stack([torch.as_tensor(vi, dtype=torch.float64).reshape(()) for vi in v])
        return torch.as_tensor(v, dtype=torch.float64).reshape(-1)

    def first(fun: Callable, x: Any) -> list:
        """∂(fun)/∂x as rows, one per output (zero rows for outputs not depending on x)."""
        out = fun(x).reshape(-1)
        rows = []
        for i in range(out.numel()):
            if out[i].requires_grad:
                (g,) = torch.autograd.grad(out[i], x, retain_graph=True, allow_unused=True)
            else:
                g = None
            rows.append(torch.zeros(n, dtype=torch.float64) if g is None else g)
        return [out.detach().numpy().copy(), rows]

    cache: dict[str, tuple] = {}

    def cached(key: str, fun: Callable, x: np.ndarray) -> list:
        x = np.asarray(x, dtype=np.float64)
        hit = cache.get(key)
        if hit is not None and hit[0].shape == x.shape and np.array_equal(hit[0], x):
            return hit[1]
        value = first(fun, as_tensor(x))
        cache[key] = (x.copy(), value)
        return value

    def f_np(x: np.ndarray) -> float:
        return float(cached("f", f_of, x)[0][0])

    def grad_np(x: np.ndarray) -> np.ndarray:
        return cached("f", f_of, x)[1][0].numpy().copy()

    def c_np(x: np.ndarray) -> np.ndarray:
        return cached("c", c_of, x)[0].copy()

    def jac_np(x: np.ndarray) -> np.ndarray:
        rows = cached("c", c_of, x)[1]
        return torch.stack(rows).numpy().copy() if rows else np.zeros((0, n))

    def hess_lag_np(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
        xt = as_tensor(x)
        lt = torch.as_tensor(np.asarray(lam, dtype=np.float64))
        lagrangian = f_of(xt) + lt @ c_of(xt)  # L = f + λᵀc
        if not lagrangian.requires_grad:
            return np.zeros((n, n))
        (g,) = torch.autograd.grad(lagrangian, xt, create_graph=True, allow_unused=True)
        if g is None:
            return np.zeros((n, n))
        H = np.zeros((n, n))
        for i in range(n):  # row i of ∇²L = ∂(∂L/∂xᵢ)/∂x
            if g[i].requires_grad:
                (row,) = torch.autograd.grad(g[i], xt, retain_graph=True, allow_unused=True)
                if row is not None:
                    H[i] = row.numpy()
        return 0.5 * (H + H.T)  # symmetric to rounding already; exactly so here

    return {"f": f_np, "grad": grad_np, "c": c_np, "jac": jac_np, "hess_lag": hess_lag_np}


# ----------------------------------------------------------------------------- differences
def _finite_differences(f: Callable, c: Callable, n: int) -> dict[str, Callable]:
    def f_np(x: np.ndarray) -> float:
        return float(np.asarray(f(np.asarray(x, dtype=np.float64)), dtype=np.float64))

    def c_np(x: np.ndarray) -> np.ndarray:
        return np.asarray(c(np.asarray(x, dtype=np.float64)), dtype=np.float64).reshape(-1)

    def steps(x: np.ndarray, base: float) -> np.ndarray:
        return base * np.maximum(1.0, np.abs(x))

    def grad_np(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        h = steps(x, FD_STEP_FIRST)
        g = np.empty(n)
        for i in range(n):
            e = np.zeros(n)
            e[i] = h[i]
            g[i] = (f_np(x + e) - f_np(x - e)) / (2 * h[i])  # (f(x+h) − f(x−h)) / 2h
        return g

    def jac_np(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        h = steps(x, FD_STEP_FIRST)
        cols = []
        for i in range(n):
            e = np.zeros(n)
            e[i] = h[i]
            cols.append((c_np(x + e) - c_np(x - e)) / (2 * h[i]))
        return np.stack(cols, axis=1)

    def hess_lag_np(x: np.ndarray, lam: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        lam = np.asarray(lam, dtype=np.float64)
        h = steps(x, FD_STEP_SECOND)

        def L(z: np.ndarray) -> float:
            return f_np(z) + float(lam @ c_np(z))  # L = f + λᵀc

        H = np.empty((n, n))
        for i in range(n):
            for j in range(i, n):
                ei, ej = np.zeros(n), np.zeros(n)
                ei[i], ej[j] = h[i], h[j]
                H[i, j] = H[j, i] = (L(x + ei + ej) - L(x + ei - ej) - L(x - ei + ej)
                                     + L(x - ei - ej)) / (4 * h[i] * h[j])
        return H

    return {"f": f_np, "grad": grad_np, "c": c_np, "jac": jac_np, "hess_lag": hess_lag_np}

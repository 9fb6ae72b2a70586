"""The fused greedy prox pass of the LASSO loop (``greedy_prox_step``) against its numpy
twin: the same gradient update, prox steps, argmax, measure and change of F."""

from __future__ import annotations

import numpy as np
import pytest

from unisolve.solvers.kernels import bcd as kernels


@pytest.mark.parametrize("kind", [kernels.GS_S, kernels.GS_R, kernels.GS_Q])
@pytest.mark.parametrize(("l1", "l2"), [(0.7, 0.0), (0.3, 2.0), (0.0, 0.5)])
def test_greedy_prox_step_matches_its_twin(kind, l1, l2):
    rng = np.random.default_rng(10 + kind)
    n = 40
    x = rng.standard_normal(n)
    x[::3] = 0.0
    g = 2 * rng.standard_normal(n)
    L = rng.random(n) + 0.5
    gram = rng.standard_normal((3, n))
    dp = 0.3
    x1, g1, x2, g2 = x.copy(), g.copy(), x.copy(), g.copy()
    meas, j, dj = kernels.greedy_prox_step(x1, g1, L, 1.0 / L, l1, l2, kind, gram, 1, dp)
    meas2, j2, dj2, df = kernels.greedy_prox_step_reference(x2, g2, L, l1, l2, kind, gram[1], dp)
    assert j == j2
    np.testing.assert_allclose(g1, g2, rtol=1e-14, atol=1e-14)  # g += (AᵀA)[:, j'] d'
    np.testing.assert_allclose([meas, dj], [meas2, dj2], rtol=1e-13, atol=1e-14)
    assert df <= 1e-14  # the exact coordinate minimiser never increases F (L_j = ‖a_j‖²)


def test_objective_change_of_one_step_is_exact():
    """ΔF = d g_j + ½d²‖a_j‖² + r_j(x_j + d) − r_j(x_j) equals F(x + d e_j) − F(x)."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((15, 8))
    b = rng.standard_normal(15)
    l1, l2 = 0.4, 0.2
    x = rng.standard_normal(8)
    x[2] = 0.0

    def F(x):
        return 0.5 * np.sum((A @ x - b) ** 2) + l1 * np.abs(x).sum() + 0.5 * l2 * x @ x

    L = (A ** 2).sum(axis=0)
    g = A.T @ (A @ x - b)
    before = F(x)
    for kind in (kernels.GS_S, kernels.GS_R, kernels.GS_Q):
        x0 = x.copy()
        _, j, dj, df = kernels.greedy_prox_step_reference(x0, g.copy(), L, l1, l2, kind,
                                                          np.zeros(8), 0.0)
        np.testing.assert_allclose(df, F(x0) - before, rtol=1e-12)
        assert x0[j] - x[j] == pytest.approx(dj)

"""Fused CG vector kernels (numba) against their plain-numpy references."""

from __future__ import annotations

import numpy as np
import pytest

import unisolve as us
from unisolve.solvers.kernels import cg_fused


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_csr_matvec_dot_matches_reference(dtype):
    A = us.problems.poisson2d(13, coeff=lambda x, y: 1 + x + y * y).A.astype(dtype)
    p = np.random.default_rng(0).standard_normal(A.shape[0]).astype(dtype)
    q = np.empty_like(p)
    pq = cg_fused.csr_matvec_dot(A, p, q)
    q_ref, pq_ref = cg_fused.csr_matvec_dot_reference(A, p)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(q, q_ref, rtol=tol, atol=tol * np.abs(q_ref).max())
    assert pq == pytest.approx(pq_ref, rel=tol)


def test_cg_update_dot_and_xpby_match_references():
    rng = np.random.default_rng(1)
    p, q, x, r, z = (rng.standard_normal(1001) for _ in range(5))
    x_ref, r_ref, rr_ref = cg_fused.cg_update_dot_reference(0.37, p, q, x, r)
    rr = cg_fused.cg_update_dot(0.37, p, q, x, r)
    np.testing.assert_allclose(x, x_ref, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(r, r_ref, rtol=1e-15, atol=1e-15)
    assert rr == pytest.approx(rr_ref, rel=1e-13)
    p_ref = cg_fused.xpby_reference(z, -1.25, p)
    cg_fused.xpby(z, -1.25, p)
    np.testing.assert_allclose(p, p_ref, rtol=1e-15, atol=1e-15)
    assert cg_fused.dot(z, x) == pytest.approx(float(z @ x), rel=1e-12)

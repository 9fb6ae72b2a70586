"""The numba kernels of BiCGSTAB and MINRES against their plain-numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from unisolve.solvers.kernels import bicgstab as kb
from unisolve.solvers.kernels import minres as km


@pytest.fixture(params=["int32", "int64"])
def matrix(request):
    rng = np.random.default_rng(0)
    A = sp.random(300, 300, density=0.03, random_state=1, format="csr") + sp.identity(300)
    A = sp.csr_array(A)
    A.data[:] = rng.standard_normal(A.nnz)
    if request.param == "int64":
        A.indices, A.indptr = A.indices.astype(np.int64), A.indptr.astype(np.int64)
    return A


def vectors(k, n=300, seed=2):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n) for _ in range(k)]


def test_compact_csr(matrix):
    indptr, indices, data = kb.compact_csr(matrix)
    assert indices.dtype == np.uint32 and indptr.dtype == np.int32
    np.testing.assert_array_equal(indices.astype(np.int64), matrix.indices)
    np.testing.assert_array_equal(indptr, matrix.indptr)
    assert data is matrix.data


def test_csr_kernels(matrix):
    csr = kb.compact_csr(matrix)
    x, p, b = vectors(3)
    y = np.empty(300)
    kb.csr_matvec(*csr, x, y)
    np.testing.assert_allclose(y, kb.csr_matvec_reference(matrix, x), rtol=1e-13, atol=1e-13)
    r = np.empty(300)
    rr = kb.csr_residual(*csr, x, b, r)
    r_ref, rr_ref = kb.csr_residual_reference(matrix, x, b)
    np.testing.assert_allclose(r, r_ref, rtol=1e-13, atol=1e-13)
    assert rr == pytest.approx(rr_ref, rel=1e-13)
    rr = kb.csr_residual_shifted(*csr, x, 0.7, p, b, r)
    r_ref, rr_ref = kb.csr_residual_shifted_reference(matrix, x, 0.7, p, b)
    np.testing.assert_allclose(r, r_ref, rtol=1e-12, atol=1e-12)
    assert rr == pytest.approx(rr_ref, rel=1e-12)
    assert kb.csr_residual_shifted(*csr, x, 0.0, p, b, r) == pytest.approx(
        kb.csr_residual(*csr, x, b, y), rel=1e-15)


def test_vector_kernels():
    r, v, p, x, s, t, rhat, phat = vectors(8)
    assert kb.dot2(r, v, p) == pytest.approx(kb.dot2_reference(r, v, p), rel=1e-13)
    expected = kb.direction_update_reference(r, 0.3, 0.7, v, p)
    q = p.copy()
    kb.direction_update(r, 0.3, 0.7, v, q)
    np.testing.assert_allclose(q, expected, rtol=1e-13, atol=1e-15)
    s_ref, ss_ref = kb.half_step_reference(0.4, v, r)
    r2 = r.copy()
    assert kb.half_step(0.4, v, r2) == pytest.approx(ss_ref, rel=1e-13)
    np.testing.assert_allclose(r2, s_ref, rtol=1e-13, atol=1e-15)
    x_ref, rn_ref, rr_ref, hr_ref = kb.full_step_reference(0.4, phat, 0.9, s, x, s, t, rhat)
    x2, s2 = x.copy(), s.copy()
    rr, hr = kb.full_step(0.4, phat, 0.9, s2, x2, s2, t, rhat)  # ŝ aliases s (no M)
    np.testing.assert_allclose(x2, x_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(s2, rn_ref, rtol=1e-13, atol=1e-15)
    assert (rr, hr) == pytest.approx((rr_ref, hr_ref), rel=1e-12)


def test_minres_kernels():
    q, r1, r2, y, w2, w1, x, r = vectors(8, seed=4)
    out_ref, oo_ref = km.lanczos_update_reference(q, 0.5, 0.3, r1, 1.7, r2)
    out = np.empty(300)
    assert km.lanczos_update(q, 0.5, 0.3, r1, 1.7, r2, out) == pytest.approx(oo_ref, rel=1e-13)
    np.testing.assert_allclose(out, out_ref, rtol=1e-13, atol=1e-15)
    r1c = r1.copy()  # out may be r₁'s own array
    km.lanczos_update(q, 0.5, 0.3, r1c, 1.7, r2, r1c)
    np.testing.assert_allclose(r1c, out_ref, rtol=1e-13, atol=1e-15)
    args = (y, 0.25, 0.1, -0.6, 1.3)
    w_ref, x_ref = km.solution_update_reference(*args, w2, w1, 0.8, x)
    w2c, xc = w2.copy(), x.copy()
    km.solution_update(*args, w2c, w1, 0.8, xc)
    np.testing.assert_allclose(w2c, w_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(xc, x_ref, rtol=1e-13, atol=1e-15)
    w_ref, x_ref, r_ref, rr_ref = km.solution_residual_update_reference(
        *args, w2, w1, 0.8, x, 0.36, 0.45, r2, r)
    w2c, xc, rc = w2.copy(), x.copy(), r.copy()
    rr = km.solution_residual_update(*args, w2c, w1, 0.8, xc, 0.36, 0.45, r2, rc)
    np.testing.assert_allclose(w2c, w_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(xc, x_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(rc, r_ref, rtol=1e-13, atol=1e-15)
    assert rr == pytest.approx(rr_ref, rel=1e-13)

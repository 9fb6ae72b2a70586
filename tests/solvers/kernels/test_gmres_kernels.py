"""GMRES Arnoldi kernels (numba) against their plain-numpy references."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
from unisolve.solvers.kernels import bicgstab as kb
from unisolve.solvers.kernels import gmres as k
from unisolve.solvers.kernels.sor_csr import unsigned_indices


def _matrix(index_dtype=np.int32):
    A = us.problems.convection_diffusion_system(9, peclet=30.0).A  # n = 81, nonsymmetric
    A = sp.csr_array((A.data, A.indices.astype(index_dtype), A.indptr.astype(index_dtype)),
                     shape=A.shape)
    return A, (A.indptr, unsigned_indices(A.indices), A.data)


def _basis(n=81, rows=9, seed=0):
    """Random rows with scales: the kernels take v_i = s_i V[i]."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((rows, n)), rng.uniform(0.5, 2.0, rows)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_csr_products_match_references(index_dtype):
    A, csr = _matrix(index_dtype)
    V, s = _basis()
    j = 3
    w_ref, ww_ref, d0_ref = k.csr_matvec_first_reference(A, V, s, j)
    ww, d0 = k.csr_matvec_first(*csr, V, s, j)
    np.testing.assert_allclose(V[j + 1], w_ref, rtol=1e-14, atol=1e-14 * np.abs(w_ref).max())
    assert ww == pytest.approx(ww_ref, rel=1e-13) and d0 == pytest.approx(d0_ref, rel=1e-12)

    x, b = V[0], V[1]
    r = np.empty(A.shape[0])
    # gmres uses the shared CSR kernels of kernels/bicgstab.py on this storage
    r_ref, rr_ref = kb.csr_residual_reference(A, x, b)
    assert kb.csr_residual(*csr, x, b, r) == pytest.approx(rr_ref, rel=1e-13)
    np.testing.assert_allclose(r, r_ref, rtol=1e-14, atol=1e-13)
    y = np.empty(A.shape[0])
    kb.csr_matvec(*csr, x, y)
    np.testing.assert_allclose(y, kb.csr_matvec_reference(A, x), rtol=1e-14, atol=1e-13)


def test_scale_first_matches_reference():
    V, s = _basis()
    w_ref, ww_ref, d0_ref = k.scale_first_reference(V, s, 4, 0.37)
    ww, d0 = k.scale_first(V, s, 4, 0.37)
    np.testing.assert_allclose(V[5], w_ref, rtol=1e-15)
    assert ww == pytest.approx(ww_ref, rel=1e-13) and d0 == pytest.approx(d0_ref, rel=1e-12)


@pytest.mark.parametrize("j", range(8))  # all remainders of the four-row blocks
def test_project_and_subtract_match_references(j):
    V, s = _basis()
    h = np.zeros(9)
    k.project(V, s, j, 0, h)
    np.testing.assert_allclose(h[: j + 1], k.project_reference(V, s, j), rtol=1e-12, atol=1e-12)
    h_partial = np.full(9, -7.0)
    k.project(V, s, j, 1, h_partial)  # i0 = 1 leaves h_0 alone
    assert h_partial[0] == -7.0
    np.testing.assert_allclose(h_partial[1: j + 1], h[1: j + 1], rtol=1e-13, atol=1e-14)

    coef = np.zeros(9)
    w_ref, ww_ref = k.subtract_reference(V, s, j, h)
    ww = k.subtract(V, s, j, h, coef)
    np.testing.assert_allclose(V[j + 1], w_ref, rtol=1e-12, atol=1e-12)
    assert ww == pytest.approx(ww_ref, rel=1e-12)


@pytest.mark.parametrize("j", [0, 1, 5])
def test_mgs_sweep_matches_reference(j):
    V, s = _basis(seed=1)
    w_ref, h_ref, ww_ref, d0_ref = k.mgs_sweep_reference(V, s, j)
    h0 = float(s[0] * V[0] @ V[j + 1])
    h = np.zeros(9)
    ww, d0 = k.mgs_sweep(V, s, j, h0, h)
    np.testing.assert_allclose(h[: j + 1], h_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(V[j + 1], w_ref, rtol=1e-12, atol=1e-12)
    assert ww == pytest.approx(ww_ref, rel=1e-12)
    assert d0 == pytest.approx(d0_ref, abs=1e-12 * np.sqrt(ww_ref))


def _orthonormal_basis(n, rows, seed):
    """Rows of an orthonormal basis stored unnormalised: V[i] = q_i / s_i."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, rows)))
    s = rng.uniform(0.5, 2.0, rows)
    return Q.T / s[:, None], s


@pytest.mark.parametrize("orthogonalization", ["mgs", "cgs"])
@pytest.mark.parametrize("reorthogonalize", ["never", "ifneeded", "always"])
def test_arnoldi_step_matches_reference(orthogonalization, reorthogonalize):
    n, m, j = 60, 8, 4
    Q, sq = _orthonormal_basis(n, j + 1, seed=2)
    V, s = np.zeros((m + 1, n)), np.zeros(m + 1)
    V[: j + 1], s[: j + 1] = Q, sq
    rng = np.random.default_rng(3)
    # mostly inside span(v_0 … v_j): cancellation makes the test (3) ask for a second pass
    w = (sq[: j + 1] * rng.standard_normal(j + 1)) @ Q + 1e-3 * rng.standard_normal(n)
    h_ref, v_ref, again = k.arnoldi_step_reference(w, V, s, j, orthogonalization,
                                                   reorthogonalize)
    H = np.zeros((m + 1, m))
    cs, sn, g = np.ones(m), np.zeros(m), np.zeros(m + 1)  # earlier rotations: identities
    g[j] = 1.0
    V[j + 1] = w / 0.5
    stats = np.zeros(1, np.int64)
    res, code = k.arnoldi_step(V, s, H, cs, sn, g, j, k.ORTHOGONALIZATIONS[orthogonalization],
                               k.REORTHOGONALIZE[reorthogonalize], 0.5, np.zeros(m + 1),
                               np.zeros(m + 1), stats)
    assert code == k.OK and stats[0] == int(again)
    assert again == (reorthogonalize != "never")
    np.testing.assert_allclose(H[:j, j], h_ref[:j], rtol=1e-10, atol=1e-12)
    # rotation j: R_jj = hypot(h_jj, h_{j+1,j}), residual |g_{j+1}| = |s_j| = h_{j+1,j} / R_jj
    assert H[j, j] == pytest.approx(np.hypot(h_ref[j], h_ref[j + 1]), rel=1e-10)
    assert res == pytest.approx(h_ref[j + 1] / np.hypot(h_ref[j], h_ref[j + 1]), rel=1e-8)
    np.testing.assert_allclose(s[j + 1] * V[j + 1], v_ref, rtol=1e-8, atol=1e-10)
    basis = s[: j + 2, None] * V[: j + 2]
    assert np.abs(basis @ basis.T - np.eye(j + 2)).max() < 1e-12


def test_givens_column_matches_reference():
    rng = np.random.default_rng(4)
    m, j = 6, 4
    H = rng.standard_normal((m + 1, m))
    ang = rng.uniform(0, 2 * np.pi, m)
    cs, sn, g = np.cos(ang), np.sin(ang), rng.standard_normal(m + 1)
    H_ref, cs_ref, sn_ref, g_ref, res_ref = k.givens_column_reference(H, cs, sn, g, j)
    res = k.givens_column(H, cs, sn, g, j)
    assert res == pytest.approx(res_ref, rel=1e-13)
    np.testing.assert_allclose(H[:, j], H_ref[:, j], rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose([cs[j], sn[j]], [cs_ref[j], sn_ref[j]], rtol=1e-13)
    np.testing.assert_allclose(g, g_ref, rtol=1e-13, atol=1e-14)


def test_givens_column_marks_a_singular_column():
    H = np.zeros((3, 2))
    H[0, 0], H[1, 0] = 1.0, 1.0  # column 1 is zero: h_11 = h_21 = 0
    cs, sn, g = np.zeros(2), np.zeros(2), np.array([2.0, 0.0, 0.0])
    k.givens_column(H, cs, sn, g, 0)
    g_before = g[1]
    res = k.givens_column(H, cs, sn, g, 1)
    assert H[1, 1] == 0.0 and (cs[1], sn[1]) == (0.0, 1.0)
    assert res == pytest.approx(abs(g_before))  # no progress, honestly reported


def test_back_substitution_and_combination_match_references():
    rng = np.random.default_rng(5)
    m = 7
    H = np.triu(rng.standard_normal((m + 1, m))) + 3 * np.eye(m + 1, m)
    g = rng.standard_normal(m + 1)
    V, s = _basis(n=50, rows=m + 1, seed=6)
    for kk in range(1, m + 1):
        y = np.zeros(m)
        k.back_substitution(H, g, kk, y)
        np.testing.assert_allclose(y[:kk], k.back_substitution_reference(H, g, kk), rtol=1e-12)
        x = rng.standard_normal(50)
        x_ref = k.add_combination_reference(V, s, y, kk, x)
        k.add_combination(V, s, y, kk, x)
        np.testing.assert_allclose(x, x_ref, rtol=1e-13, atol=1e-13)


def test_back_substitution_zero_pivot_gives_zero():
    H = np.array([[2.0, 1.0], [0.0, 0.0]])
    y = np.full(2, 9.0)
    k.back_substitution(H, np.array([4.0, 0.0]), 2, y)
    np.testing.assert_array_equal(y, [2.0, 0.0])


@pytest.mark.parametrize("orthogonalization", ["mgs", "cgs"])
def test_cycle_equals_steps_and_keeps_the_arnoldi_relation(orthogonalization):
    A, csr = _matrix()
    n, m = A.shape[0], 12
    orth = k.ORTHOGONALIZATIONS[orthogonalization]
    b = np.random.default_rng(7).standard_normal(n)

    def fresh():
        V, s = np.zeros((m + 1, n)), np.zeros(m + 1)
        V[0], s[0] = b, 1 / np.linalg.norm(b)
        g = np.zeros(m + 1)
        g[0] = np.linalg.norm(b)
        return V, s, np.zeros((m + 1, m)), np.zeros(m), np.zeros(m), g

    V1, s1, H1, cs1, sn1, g1 = fresh()
    res = np.zeros(m)
    st = np.zeros(1, np.int64)
    steps, code = k.arnoldi_cycle_csr(*csr, V1, s1, H1, cs1, sn1, g1, 0, m, 0.0, orth, 1,
                                      np.zeros(m + 1), np.zeros(m + 1), res, st)
    assert (steps, code) == (m, k.OK)
    V2, s2, H2, cs2, sn2, g2 = fresh()
    for j in range(m):
        value, _ = k.arnoldi_step_csr(*csr, V2, s2, H2, cs2, sn2, g2, j, orth, 1,
                                      np.zeros(m + 1), np.zeros(m + 1), st)
        assert value == res[j]
    np.testing.assert_array_equal(V1, V2)
    np.testing.assert_array_equal(H1, H2)
    # residuals are the least-squares residuals of the unrotated Hessenberg problem
    Q = s1[:, None] * V1
    assert np.abs(Q @ Q.T - np.eye(m + 1)).max() < 1e-13
    Hu = Q @ (A @ Q[:m].T)  # V_{m+1}ᵀ A V_m: the Hessenberg matrix before rotations
    for kk in range(1, m + 1):
        rhs = np.zeros(kk + 1)
        rhs[0] = np.linalg.norm(b)
        y = np.linalg.lstsq(Hu[: kk + 1, :kk], rhs, rcond=None)[0]
        assert res[kk - 1] == pytest.approx(np.linalg.norm(rhs - Hu[: kk + 1, :kk] @ y),
                                            rel=1e-9)

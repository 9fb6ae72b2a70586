"""Block-coordinate problems A–E: derivatives, Lipschitz bounds, reference optima, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp

from unisolve.problems import composite as c

SMALL = {
    "A": lambda: c.least_squares(60, 40, seed=1),
    "A-L1": lambda: c.nnls_l1(60, 40, lam=10.0, seed=1),
    "B": lambda: c.logistic(200, 20, seed=0),
    "C": lambda: c.softmax(300, 5, classes=3, seed=0),
    "D": lambda: c.label_propagation_lattice(8, 6, seed=0),
    "E": lambda: c.label_propagation_moons(150, 10, seed=0),
}


def _fd_grad(f, x, h=1e-6):
    g = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("name", list(SMALL))
def test_gradient_and_block_hessian_match_finite_differences(name):
    p = SMALL[name]()
    rng = np.random.default_rng(0)
    x = 0.01 * rng.standard_normal(p.n) / np.sqrt(np.maximum(p.lipschitz, 1e-12))
    g = p.grad(x)
    fd = _fd_grad(p.smooth, x, h=1e-7 * max(1.0, np.abs(x).max()))
    assert np.linalg.norm(g - fd) <= 1e-5 * max(1.0, np.linalg.norm(g))
    block = rng.choice(p.n, size=min(6, p.n), replace=False)
    H = p.block_hessian(x, block)
    for j, i in enumerate(block):  # column j of H_bb = ∂(∇_b f)/∂x_i by differences
        e = np.zeros(p.n)
        e[i] = 1e-6
        col = (p.grad(x + e)[block] - p.grad(x - e)[block]) / 2e-6
        assert np.allclose(H[:, j], col, rtol=1e-4, atol=1e-6 * max(1.0, np.abs(H).max()))
    np.testing.assert_allclose(H, H.T, atol=1e-10 * max(1.0, np.abs(H).max()))


@pytest.mark.parametrize("name", list(SMALL))
def test_lipschitz_constants_bound_the_hessian_everywhere(name):
    p = SMALL[name]()
    rng = np.random.default_rng(1)
    block = rng.choice(p.n, size=min(5, p.n), replace=False)
    Lb = p.block_lipschitz(block)
    for scale in (0.0, 0.01, 1.0):
        x = scale * rng.standard_normal(p.n)
        H = p.block_hessian(x, block)
        assert np.linalg.eigvalsh(H)[-1] <= Lb * (1 + 1e-10)
        np.testing.assert_array_less(np.diag(H), p.lipschitz[block] * (1 + 1e-10) + 1e-12)
    single = p.block_lipschitz(block[:1])
    assert single <= p.lipschitz[block[0]] * (1 + 1e-12) or p.loss == "softmax"


def test_least_squares_optimum_matches_lstsq_and_the_paper_generator():
    p = c.least_squares(60, 40, seed=1)
    A = p.A.toarray()
    x = np.linalg.lstsq(A, p.b, rcond=None)[0]
    assert p.f_star == pytest.approx(0.5 * np.sum((A @ x - p.b) ** 2), rel=1e-9)
    big = c.least_squares(200, 400, seed=2)  # m < n: b is in the range, f* = 0
    assert big.f_star < 1e-12 * big.f(big.x0)
    density = big.A.nnz / (200 * 400)
    assert density == pytest.approx(10 * np.log(200) / 200, rel=0.1)
    assert np.mean(big.meta["w"] != 0) == pytest.approx(0.1, abs=0.05)


def test_nnls_l1_optimum_is_a_kkt_point():
    p = c.nnls_l1(60, 40, lam=10.0, seed=1)
    x = p.meta["x_star"]
    g = p.grad(x) + p.l1  # gradient of f + λΣx on x ≥ 0
    assert np.all(x >= 0) and p.f(x) == pytest.approx(p.f_star, rel=1e-12)
    active = x <= 1e-10
    assert np.all(g[active] >= -1e-5 * np.abs(g).max())  # multipliers ≥ 0 on the bound
    assert np.max(np.abs(g[~active])) <= 1e-5 * max(1.0, np.abs(g).max())
    ref = so.nnls(np.vstack([p.A.toarray(), np.zeros((1, 40))]), np.r_[p.b, 0.0])[0]
    assert p.f_star <= p.f(ref) + 1e-9 * abs(p.f(ref))  # the λ term only adds to NNLS's


def test_separable_data_have_the_infimum_zero():
    p = c.logistic(60, 200, seed=3)
    assert p.meta["separable"] and p.f_star == 0.0
    # the certificate: a least-norm X with all margins 1, scaled, drives F to 0
    x = np.linalg.lstsq(p.A.toarray(), p.b, rcond=None)[0]
    assert p.f(30 * x) < 1e-10
    q = c.softmax(40, 80, classes=4, seed=3)
    assert q.meta["separable"] and q.f_star == 0.0


def test_not_separable_optima_agree_with_bfgs():
    for p in (c.logistic(200, 20, seed=0), c.softmax(300, 5, classes=3, seed=0)):
        res = so.minimize(p.smooth, p.x0, jac=p.grad, method="BFGS", options={"gtol": 1e-9})
        assert p.f_star == pytest.approx(res.fun, rel=1e-7)


def test_label_propagation_lattice_structure_and_optimum():
    p = c.label_propagation_lattice(8, 6, seed=0)
    assert p.n == 58 and p.loss == "quadratic"
    A = p.A.toarray()
    assert np.all(np.linalg.eigvalsh(A) > 0)
    assert np.all(np.count_nonzero(p.graph.toarray(), axis=1) <= 4)
    x = np.linalg.solve(A, p.b)
    assert p.f_star == pytest.approx(-0.5 * p.b @ x, rel=1e-12)
    # the criterion itself: ½ Σ_{i~j} w (yᵢ − yⱼ)² with y = labels ∪ x, up to a constant
    W = 1e5 * (sp.kron(sp.identity(8), sp.diags_array([np.ones(7), np.ones(7)], offsets=[-1, 1]))
               + sp.kron(sp.diags_array([np.ones(7), np.ones(7)], offsets=[-1, 1]),
                         sp.identity(8))).toarray()

    def criterion(z):  # each edge appears twice in W: ½ · ½ Σᵢⱼ
        yy = p.meta["y"].copy()
        yy[p.meta["free"]] = z
        return 0.25 * np.sum(W * (yy[:, None] - yy[None, :]) ** 2)

    const = criterion(np.zeros(p.n))
    z = np.random.default_rng(0).standard_normal(p.n)
    assert criterion(z) == pytest.approx(p.smooth(z) + const, rel=1e-9)


def test_label_propagation_moons_graph():
    p = c.label_propagation_moons(150, 10, seed=0)
    assert p.n == 140 and np.all(np.linalg.eigvalsh(p.A.toarray()) > 0)
    G = p.graph.toarray()
    np.testing.assert_array_equal(G, G.T)
    assert set(np.unique(G)) <= {0.0, 1.0}
    np.testing.assert_allclose(p.A.toarray() + G, np.diag(np.diag(p.A.toarray())))
    cls = p.meta["classes"]
    assert set(np.unique(cls)) == {1, 2}
    x = p.meta["x_star"]  # labels 1 / 2 propagate: most unlabelled nodes round to their moon
    agree = np.mean(np.where(x < 1.5, 1, 2) == cls[p.meta["free"]])
    assert agree > 0.8


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match=r"lam .* >= 0"):
        c.nnls_l1(20, 10, lam=-1.0)
    with pytest.raises(ValueError, match="m must be a positive int"):
        c.least_squares(0, 10)
    with pytest.raises(ValueError, match="classes must be >= 2"):
        c.softmax(20, 5, classes=1)
    with pytest.raises(ValueError, match="labelled must be in"):
        c.label_propagation_lattice(4, 16)
    with pytest.raises(ValueError, match="loss must be one of"):
        c.CompositeProblem("hinge", np.eye(2), np.ones(2))
    with pytest.raises(ValueError, match="L1 weight"):
        c.CompositeProblem("least_squares", np.eye(2), np.ones(2), l1=-1.0)
    with pytest.raises(ValueError, match="x0 must have shape"):
        c.CompositeProblem("least_squares", np.eye(2), np.ones(2), x0=np.ones(3))

"""Block coordinate descent: monotone decrease, convergence to scipy's optima, message
passing against dense solves, partitions, kernels and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse as sp

import unisolve as us
from unisolve.problems.composite import (
    CompositeProblem,
    label_propagation_lattice,
    label_propagation_moons,
    least_squares,
    nnls_l1,
)
from unisolve.solvers.bcd import forest_partition, red_black_partition
from unisolve.solvers.kernels import bcd as kernels

FIXED_RULES = ["cyclic", "random", "lipschitz", "gs", "gsl", "gsd", "gsq"]
VARIABLE_RULES = ["gs", "gsl", "gsq"]
CASES = [("sorted", r) for r in FIXED_RULES] + [("variable", r) for r in VARIABLE_RULES]


def random_quadratic(n=12, seed=0):
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    A = M @ M.T + 0.5 * np.eye(n)
    b = rng.standard_normal(n)
    x = np.linalg.solve(A, b)
    return CompositeProblem("quadratic", A, b, f_star=-0.5 * b @ x, name="quadratic",
                            meta={"x_star": x})


def small_least_squares(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((30, 8))
    b = rng.standard_normal(30)
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    return CompositeProblem("least_squares", A, b, f_star=0.5 * np.sum((A @ x - b) ** 2),
                            name="ls 30x8")


def small_logistic(seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((80, 6))
    b = np.sign(A @ rng.standard_normal(6) + 1.5 * rng.standard_normal(80))
    p = CompositeProblem("logistic", A, b, name="logistic 80x6")
    p.f_star = so.minimize(p.smooth, p.x0, jac=p.grad, method="BFGS",
                           options={"gtol": 1e-12}).fun
    return p


@pytest.mark.parametrize(("partition", "rule"), CASES)
def test_every_rule_decreases_f_monotonically_with_the_1_over_lb_update(partition, rule):
    p = random_quadratic()
    r = us.solve(p, method="bcd", partition=partition, rule=rule, update="gradient",
                 block_size=3, maxiter=200, seed=1)
    f = np.array(r.info["f_history"])
    assert np.all(np.diff(f) <= 1e-12 * np.abs(f).max()), np.diff(f).max()
    assert f[-1] < f[0] - 0.5 * (f[0] - p.f_star)  # and it made real progress
    np.testing.assert_allclose(f[0], p.f(p.x0))
    np.testing.assert_allclose(r.info["f"], p.f(r.x), rtol=1e-12)  # the state tracks x


@pytest.mark.parametrize("update", ["gradient", "newton", "newton-ls"])
@pytest.mark.parametrize(("partition", "rule"), CASES)
@pytest.mark.parametrize("make", [small_least_squares, small_logistic], ids=["ls", "logistic"])
def test_every_rule_and_update_reaches_scipys_optimum(make, partition, rule, update):
    p = make()
    r = us.solve(p, method="bcd", partition=partition, rule=rule, update=update, block_size=2,
                 maxiter=4000, rtol=1e-9, seed=0)
    gap = (r.info["f"] - p.f_star) / (p.f(p.x0) - p.f_star)
    assert gap <= 1e-8, (gap, r.status)


@pytest.mark.parametrize("update", ["projected", "tmp"])
@pytest.mark.parametrize(("partition", "rule"), CASES)
def test_nonnegative_l1_updates_reach_the_bounded_lbfgs_optimum(partition, rule, update):
    p = nnls_l1(40, 10, lam=10.0, seed=1)
    r = us.solve(p, method="bcd", partition=partition, rule=rule, update=update, block_size=2,
                 maxiter=3000, rtol=1e-10, seed=0)
    assert np.all(r.x >= 0)
    gap = (r.info["f"] - p.f_star) / (p.f(p.x0) - p.f_star)
    assert gap <= 1e-8, gap


def test_paper_generator_least_squares_with_gsq_matrix_updates():
    p = least_squares(60, 40, seed=1)
    r = us.solve(p, method="bcd", partition="sorted", rule="gsq", update="newton",
                 block_size=5, maxiter=2000)
    assert (r.info["f"] - p.f_star) <= 1e-6 * (p.f(p.x0) - p.f_star)


# ----------------------------------------------------------------------------- trees
def random_tree_matrix(n, seed):
    """SPD matrix whose graph is a random tree (plus a disconnected second tree)."""
    rng = np.random.default_rng(seed)
    H = np.zeros((n, n))
    for i in range(1, n):
        if i == n // 2:
            continue  # node n/2 starts a second tree
        j = int(rng.integers(0, i)) if i < n // 2 else int(rng.integers(n // 2, i))
        H[i, j] = H[j, i] = rng.standard_normal()
    H += np.diag(np.abs(H).sum(axis=1) + rng.random(n))
    return H


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_message_passing_equals_the_dense_solve(seed):
    from unisolve.solvers.bcd import _Tree

    H = random_tree_matrix(40, seed)
    rhs = np.random.default_rng(seed).standard_normal(40)
    tree = _Tree(sp.csr_array(H))
    d = tree.solve(rhs)
    np.testing.assert_allclose(d, np.linalg.solve(H, rhs), rtol=0, atol=1e-10)
    twin = kernels.tree_solve_reference(tree.order, tree.parent, tree.diag, tree.off, rhs)
    np.testing.assert_allclose(d, twin, rtol=1e-14, atol=1e-14)


def test_message_passing_refuses_a_cycle():
    from unisolve.solvers.bcd import _Tree

    H = sp.csr_array(4 * np.eye(3) - (np.ones((3, 3)) - np.eye(3)))
    with pytest.raises(ValueError, match="cycle"):
        _Tree(H)


def test_red_black_and_forest_partitions_of_a_lattice():
    p = label_propagation_lattice(10, 5, seed=0)
    G = sp.csr_array(p.graph)
    rb = red_black_partition(G)
    assert len(rb) == 2 and sorted(np.concatenate(rb).tolist()) == list(range(p.n))
    for b in rb:  # independent sets: no edge inside a colour class
        assert G[b][:, b].nnz == 0
    forests = forest_partition(G)
    assert sorted(np.concatenate(forests).tolist()) == list(range(p.n))
    for b in forests:  # acyclic: a forest has fewer edges than nodes per component
        sub = G[b][:, b]
        from scipy.sparse.csgraph import connected_components

        ncomp, _ = connected_components(sub, directed=False)
        assert sub.nnz // 2 == b.size - ncomp
    assert len(forests) <= 3


@pytest.mark.parametrize("partition", ["red-black", "forest"])
def test_tree_blocks_with_message_passing_solve_label_propagation(partition):
    for p in (label_propagation_lattice(12, 8, seed=0), label_propagation_moons(200, 12, seed=0)):
        if partition == "red-black" and p.name.startswith("E"):
            with pytest.raises(ValueError, match="not bipartite"):
                us.solve(p, method="bcd", partition=partition, rule="gs", update="newton")
            continue
        r = us.solve(p, method="bcd", partition=partition, rule="gsl", update="newton",
                     maxiter=3000, rtol=1e-9)
        gap = (r.info["f"] - p.f_star) / (p.f(p.x0) - p.f_star)
        assert gap <= 1e-9, (p.name, gap)
        np.testing.assert_allclose(r.x, p.meta["x_star"], atol=1e-5 * np.abs(
            p.meta["x_star"]).max())


# ----------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("kind", [kernels.GS, kernels.GSL, kernels.GSD, kernels.GSQ])
def test_block_scores_kernel_matches_its_twin(kind):
    rng = np.random.default_rng(kind)
    n = 23
    g, L = rng.standard_normal(n), rng.random(n) + 0.1
    order = rng.permutation(n).astype(np.int64)
    offsets = np.array([0, 5, 10, 15, 20, 23], dtype=np.int64)
    Lb = rng.random(5) + 1.0
    Minv = np.zeros((5, 5, 5))
    for k in range(5):
        size = offsets[k + 1] - offsets[k]
        Q = rng.standard_normal((size, size))
        Minv[k, :size, :size] = Q @ Q.T
    a = kernels.block_scores(g, order, offsets, L, Lb, Minv, kind)
    b = kernels.block_scores_reference(g, order, offsets, L, Lb, Minv, kind)
    np.testing.assert_allclose(a, b, rtol=1e-13)


def test_csc_axpy_matches_scipy():
    A = sp.random(30, 20, density=0.3, random_state=0, format="csc")
    cols = np.array([3, 7, 19], dtype=np.int64)
    d = np.array([1.5, -2.0, 0.25])
    out = np.ones(30)
    kernels.csc_axpy(A.indptr, A.indices, A.data, cols, d, out)
    np.testing.assert_allclose(out, 1 + A[:, cols] @ d, rtol=1e-14)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_names_the_fix():
    p = small_least_squares()
    with pytest.raises(ValueError, match=r"block_size must be an int in \[1, n = 8\]"):
        us.solve(p, method="bcd", block_size=9)
    with pytest.raises(ValueError, match="rule must be one of"):
        us.solve(p, method="bcd", rule="gauss")
    with pytest.raises(ValueError, match="variable blocks are chosen greedily"):
        us.solve(p, method="bcd", partition="variable", rule="cyclic")
    with pytest.raises(ValueError, match="update='projected' is for problems with x >= 0"):
        us.solve(p, method="bcd", update="projected")
    with pytest.raises(ValueError, match="needs a quadratic problem on a graph"):
        us.solve(p, method="bcd", partition="forest")
    q = nnls_l1(20, 6, lam=1.0, seed=0)
    with pytest.raises(ValueError, match="use update='projected' or 'tmp'"):
        us.solve(q, method="bcd", update="gradient")
    with pytest.raises(ValueError, match="x0 must satisfy x >= 0"):
        us.solve(q, method="bcd", update="projected", x0=-np.ones(6))
    with pytest.raises(ValueError, match=r"lam \(the L1 weight"):
        nnls_l1(20, 6, lam=-1.0)
    with pytest.raises(TypeError, match="CompositeProblem"):
        from unisolve.solvers.bcd import bcd

        bcd(us.problems.poisson2d(4))

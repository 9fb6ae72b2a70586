"""Issue 26 item 19: ``for problem in seq`` over a LinearSequence.

Before the fix ``iter(seq)`` raised ``TypeError: 'LinearSequence' object is not
iterable`` (only ``len(seq)`` and ``seq.instance(t, previous)`` existed).
"""

import numpy as np
import scipy.sparse.linalg as spla

import unisolve as us


def test_item19_linear_sequence_iterates_cold_instances():
    seq = us.problems.shifted_laplacian_sequence(T=4, seed=1)
    problems = list(seq)  # was: TypeError, not iterable
    assert len(problems) == len(seq) == 4
    for t, p in enumerate(problems):
        cold = seq.instance(t, None)
        assert p.name == cold.name == f"shifted-laplacian[{t}]"
        np.testing.assert_array_equal(p.b, cold.b)
        assert abs(p.A - cold.A).max() == 0
        r = us.solve(p, method="cg", rtol=1e-10)
        ref = spla.spsolve(p.A.tocsc(), p.b)  # trusted reference
        assert r.converged
        np.testing.assert_allclose(r.x, ref, rtol=1e-8, atol=1e-10)


def test_item19_time_stepping_iteration_is_cold_not_the_trajectory():
    seq = us.problems.heat_sequence(nx=6, steps=3)
    cold = list(seq)
    assert len(cold) == 3
    # every cold instance is built from the initial state: instance(t, None)
    for t, p in enumerate(cold):
        np.testing.assert_array_equal(p.b, seq.instance(t, None).b)
    # a warm instance (fed the previous solution) differs from the cold one after t = 0
    x = spla.spsolve(cold[0].A.tocsc(), cold[0].b)
    warm1 = seq.instance(1, x)
    assert not np.allclose(warm1.b, cold[1].b)

"""Issue 26 item 10: every user callable's output is checked on every call, by name.

Before the fix a constrained objective that returned a vector once x left x0 ended
``sketch-newton`` / ``newton-kkt`` in ``TypeError: only 0-dimensional arrays can be
converted to Python scalars`` (no callable named), and a ``FixedPointProblem`` map that
changed shape after z0 ended ``halpern`` in numpy's ``ValueError: operands could not be
broadcast together with shapes (2,) (3,)``. (The monotone inclusions and BCD problems
take matrices, not callables: nothing else to check.)
"""

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
from unisolve.problems.constrained import EqualityConstrainedProblem, check_output
from unisolve.problems.monotone import FixedPointProblem

X0 = np.zeros(2)


def _at_start(x):
    return np.array_equal(x, X0)


def _problem(**bad):
    """min x² + y² s.t. x + y = 1, with one callable replaced by ``bad``."""
    good = dict(f=lambda x: float(x @ x), grad=lambda x: 2 * x,
                c=lambda x: np.array([x.sum() - 1]), jac=lambda x: np.ones((1, 2)),
                hess_lag=lambda x, lam: 2 * np.eye(2))
    good.update(bad)
    return EqualityConstrainedProblem(x0=X0, **good)


# each callable turns bad only after x0 (the problem's own check at x0 passes)
LATE = {
    "f": (lambda x: x @ x if _at_start(x) else 2 * x, ValueError, r"f\(x\) returned an array "
          r"of shape \(2,\), expected a real scalar"),
    "grad": (lambda x: 2 * x if _at_start(x) else np.ones(3), ValueError,
             r"grad\(x\) returned an array of shape \(3,\), expected a real vector of shape "
             r"\(2,\)"),
    "c": (lambda x: np.array([x.sum() - 1]) if _at_start(x) else np.ones(2), ValueError,
          r"c\(x\) returned an array of shape \(2,\).*shape \(1,\)"),
    "jac": (lambda x: np.ones((1, 2)) if _at_start(x) else np.ones((2, 1)), ValueError,
            r"jac\(x\) returned an array of shape \(2, 1\).*\(1, 2\)"),
    "hess_lag": (lambda x, lam: 2 * np.eye(2) if _at_start(x) else None, TypeError,
                 r"hess_lag\(x, lam\) returned None"),
    "f-complex": (lambda x: float(x @ x) if _at_start(x) else complex(1, 1), TypeError,
                  r"f\(x\) returned complex"),
}


@pytest.mark.parametrize("method", ["sketch-newton", "newton-kkt"])
@pytest.mark.parametrize("which", sorted(LATE))
def test_item10_constrained_callables_checked_after_x0(method, which):
    fn, err, msg = LATE[which]
    p = _problem(**{which.split("-")[0]: fn})
    with pytest.raises(err, match=msg):
        us.solve(p, method=method, maxiter=5)


def test_item10_sparse_jacobian_of_the_wrong_shape_is_named():
    def jac(x):
        return sp.csr_array(np.ones((1, 2)) if _at_start(x) else np.ones((1, 3)))

    with pytest.raises(ValueError, match=r"jac\(x\) returned an array of shape \(1, 3\)"):
        us.solve(_problem(jac=jac), method="newton-kkt")


def test_item10_nan_after_x0_is_still_a_status_not_an_error():
    # finite-or-reported: NaN from a callable at every trial point is a status (the line
    # search shortens the step until it gives up), not an exception, as before
    p = _problem(grad=lambda x: 2 * x if _at_start(x) else np.full(2, np.nan))
    r = us.solve(p, method="newton-kkt")
    assert r.status in (us.Status.NONFINITE, us.Status.BREAKDOWN) and r.info["reason"]


def test_item10_good_problem_still_solves_to_the_closed_form():
    r = us.solve(_problem(), method="newton-kkt", atol=1e-12)
    assert r.converged
    np.testing.assert_allclose(r.x, [0.5, 0.5], atol=1e-12)  # closed form


def test_item10_kkt_residual_and_lagrangian_grad_check_too():
    p = _problem(grad=lambda x: 2 * x if _at_start(x) else np.ones(3))
    with pytest.raises(ValueError, match=r"grad\(x\) returned an array of shape \(3,\)"):
        p.kkt_residual(np.ones(2), np.zeros(1))


def test_item10_problem_construction_names_the_callable_at_x0():
    with pytest.raises(ValueError, match=r"f\(x0\) has shape \(2,\), expected \(\)"):
        _problem(f=lambda x: 2 * x)
    with pytest.raises(TypeError, match=r"c\(x0\) returned None"):
        _problem(c=lambda x: None)
    with pytest.raises(TypeError, match=r"grad\(x0\) returned str"):
        _problem(grad=lambda x: "ab")


def test_item10_check_output_passes_good_values():
    assert check_output("f", np.float64(1.5), ()) == 1.5
    out = check_output("jac", sp.csr_array(np.eye(2)), (2, 2))
    assert sp.issparse(out) and out.dtype == np.float64


# ----------------------------------------------------------------------------- fixed points
Z0 = np.ones(3)


@pytest.mark.parametrize(("T", "err", "msg"), [
    (lambda z: 0.5 * z if np.array_equal(z, Z0) else 0.5 * z[:2], ValueError,
     r"T\(z_1\) returned an array of shape \(2,\), expected shape \(3,\)"),
    (lambda z: 0.5 * z if np.array_equal(z, Z0) else None, TypeError, r"T\(z_1\) returned None"),
    (lambda z: 0.5 * z if np.array_equal(z, Z0) else 0.5j * z, TypeError, r"T\(z_1\) returned "
     r"complex"),
    (lambda z: 0.5 * z if np.array_equal(z, Z0) else np.float64(1.0), ValueError,
     r"T\(z_1\) returned a scalar"),
])
def test_item10_fixed_point_map_checked_after_z0(T, err, msg):
    p = FixedPointProblem(T, Z0)
    with pytest.raises(err, match=msg):
        us.solve(p, method="halpern")


def test_item10_fixed_point_map_checked_at_z0_and_in_residual():
    with pytest.raises(ValueError, match=r"T\(z0\) returned an array of shape \(1,\)"):
        FixedPointProblem(lambda z: z[:1], Z0)
    p = FixedPointProblem(lambda z: 0.5 * z if np.array_equal(z, Z0) else z[:2], Z0)
    with pytest.raises(ValueError, match=r"T\(z\) returned an array of shape \(2,\)"):
        p.residual(np.zeros(3))


def test_item10_good_fixed_point_map_still_converges():
    p = FixedPointProblem(lambda z: 0.5 * (z - 2.0) + 2.0, Z0)  # contraction, fixed point 2
    r = us.solve(p, method="halpern", rtol=1e-3)  # Halpern: O(1/k), even on a contraction
    assert r.converged
    np.testing.assert_allclose(r.x, 2.0, atol=1e-3)

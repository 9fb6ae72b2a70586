"""Bad input gets a clear ValueError / TypeError naming the fix — never a kernel traceback."""

import numpy as np
import pytest
import scipy.sparse as sp

import unisolve as us
from unisolve.problems import LinearProblem


def _spd(n=4):
    return us.problems.poisson2d(2).A if n == 4 else us.problems.poisson2d(3).A


def test_non_square():
    with pytest.raises(ValueError, match="square"):
        LinearProblem(sp.random(4, 5, density=0.5, format="csr"), np.ones(4))


def test_b_wrong_length():
    with pytest.raises(ValueError, match="length 4"):
        LinearProblem(_spd(), np.ones(5))
    with pytest.raises(ValueError, match="x0"):
        LinearProblem(_spd(), np.ones(4), x0=np.ones(3))
    p = LinearProblem(_spd(), np.ones(4))
    with pytest.raises(ValueError, match="length 4"):
        us.solve(p, x0=np.ones(7))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_matrix_or_rhs(bad):
    A = _spd().copy()
    A.data[2] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        LinearProblem(A, np.ones(4))
    b = np.ones(4)
    b[1] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        LinearProblem(_spd(), b)
    dense = _spd().toarray()
    dense[0, 0] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        LinearProblem(dense, np.ones(4))


def test_complex_and_text():
    with pytest.raises(TypeError, match="complex"):
        LinearProblem(_spd().astype(complex), np.ones(4))
    with pytest.raises(TypeError, match="floating"):
        LinearProblem(_spd(), np.array(["a", "b", "c", "d"]))


@pytest.mark.parametrize("omega", [0.0, 2.0, -0.5, 2.5, float("nan")])
@pytest.mark.parametrize("method", ["sor", "ssor", "ssor-pcg"])
def test_omega_outside_open_interval(method, omega):
    with pytest.raises(ValueError, match=r"omega"):
        us.solve(us.problems.poisson2d(4), method=method, omega=omega)


def test_zero_on_diagonal_for_sor():
    A = sp.csr_array(np.array([[0.0, 1.0], [1.0, 2.0]]))
    for method in ("sor", "gauss-seidel", "ssor", "jacobi"):
        with pytest.raises(ValueError, match="diagonal"):
            us.solve(LinearProblem(A, np.ones(2)), method=method)


def test_unknown_method_lists_registered():
    with pytest.raises(ValueError, match=r"unknown method .sro.*sor"):
        us.solve(us.problems.poisson2d(3), method="sro")


def test_unknown_option_lists_accepted():
    with pytest.raises(TypeError, match=r"unknown option\(s\) 'omgea'.*omega"):
        us.solve(us.problems.poisson2d(3), method="sor", omgea=1.5)


@pytest.mark.parametrize(("opt", "val"), [("rtol", -1.0), ("atol", float("nan")),
                                          ("maxiter", -3), ("maxiter", 2.5)])
def test_bad_common_options(opt, val):
    with pytest.raises(ValueError, match=opt):
        us.solve(us.problems.poisson2d(3), **{opt: val})


def test_callback_not_callable_and_not_a_problem():
    with pytest.raises(TypeError, match="callback"):
        us.solve(us.problems.poisson2d(3), callback=3)
    with pytest.raises(TypeError, match="LinearProblem"):
        us.solve(np.eye(3))

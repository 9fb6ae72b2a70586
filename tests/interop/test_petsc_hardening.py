"""Issue 26, PETSc items 4, 5, 6 and 11: every petsc-* method takes any non-negative int
maxiter and numpy scalars, turns PETSc errors into a ValueError naming the fix or a status,
restarts KSP types that refuse a nonzero guess, and records one residual and one callback
call per iteration. Each test notes what today's main did before the fix."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

PETSc = pytest.importorskip(
    "petsc4py.PETSc",
    reason="petsc4py is not installed: `make petsc` or pip install 'unisolve[petsc]'")

import unisolve as us  # noqa: E402
from unisolve.interop import petsc as up  # noqa: E402
from unisolve.problems import LinearProblem  # noqa: E402

METHODS = ("petsc", "petsc-cg", "petsc-gmres", "petsc-sor")


def _no_diagonal():
    A = sp.csr_array([[0.0, 1.0], [1.0, 2.0]])
    A.eliminate_zeros()  # row 0 has no stored (0, 0) entry
    return A


def _check_contract(r, calls):
    """len(residuals) == iterations + 1; the callback saw x0 and each iteration once."""
    assert len(r.residuals) == r.iterations + 1
    assert [k for k, _, _ in calls] == list(range(r.iterations + 1))


def _recorder(problem):
    calls = []

    def callback(state):  # (iteration, reported residual, true residual of state.x)
        calls.append((state.iteration, state.residual,
                      np.linalg.norm(problem.b - problem.A @ state.x)))
    return calls, callback


# ----------------------------------------------------------------------------- item 4
@pytest.mark.parametrize("maxiter", [10**12, 2**70])
def test_item4_huge_maxiter_is_clamped_to_petscint(maxiter):
    """Before: OverflowError 'value too large to convert to PetscInt' (10**12) and
    'Python int too large to convert to C long' (2**70) from every petsc-* method."""
    p = us.problems.poisson2d(4)
    for method in METHODS:
        r = us.solve(p, method=method, maxiter=maxiter)
        ref = us.solve(p, method=method)
        assert r.converged and r.iterations == ref.iterations, method
        assert len(r.residuals) == r.iterations + 1  # nothing sized by maxiter
        assert r.info["maxiter"] == up.PETSC_INT_MAX == np.iinfo(PETSc.IntType).max
        assert "clamped" in r.info["maxiter_note"]
        np.testing.assert_allclose(r.x, spla.spsolve(sp.csc_array(p.A), p.b), rtol=1e-6)


# ----------------------------------------------------------------------------- item 5
@pytest.mark.parametrize("omega", [np.float64(1.5), np.float32(1.5), np.int64(1)])
def test_item5_petsc_sor_accepts_numpy_scalar_omega(omega):
    """Before: omega=np.float64(1.5) wrote '-pc_sor_omega np.float64(1.5)' and PETSc raised
    PETSc.Error 63 (no real value)."""
    p = us.problems.poisson2d(6)
    r = us.solve(p, method="petsc-sor", omega=omega)
    plain = us.solve(p, method="petsc-sor", omega=float(omega))
    ours = us.solve(p, method="sor", omega=float(omega))
    assert r.converged and r.iterations == plain.iterations == ours.iterations
    np.testing.assert_array_equal(r.residuals, plain.residuals)


def test_item5_petsc_sor_rejects_omega_outside_0_2_clearly():
    p = us.problems.poisson2d(4)
    for bad in (np.float64(2.0), 0.0, -1, np.float64(np.nan), float("inf")):
        with pytest.raises(ValueError, match=r"omega must be a number in \(0, 2\).*omega=1.5"):
            us.solve(p, method="petsc-sor", omega=bad)
    for bad in ("1.5", None, True, 1.5j):
        with pytest.raises(TypeError, match="omega must be a real number"):
            us.solve(p, method="petsc-sor", omega=bad)


# ----------------------------------------------------------------------------- item 6
@pytest.mark.parametrize("A", [_no_diagonal(), sp.csr_array((3, 3))],
                         ids=["no-stored-diagonal", "all-zero"])
@pytest.mark.parametrize("method", ["petsc", "petsc-sor"])
def test_item6_missing_diagonal_is_a_value_error_naming_the_fix(A, method):
    """Before: raw PETSc.Error 73 ('Matrix is missing diagonal entries' from ILU, 'must have
    all diagonal locations' from MatSOR)."""
    with pytest.raises(ValueError, match=r"no stored diagonal entry.*rows 0.*Add the missing "
                                         r"diagonal entries.*-pc_type none"):
        us.solve(LinearProblem(A, np.ones(A.shape[0])), method=method)


def test_item6_the_suggested_fix_for_a_missing_diagonal_works():
    A, b = _no_diagonal(), np.array([1.0, 3.0])
    r = us.solve(LinearProblem(A, b), method="petsc", options="-pc_type none", rtol=1e-12)
    assert r.converged
    np.testing.assert_allclose(r.x, spla.spsolve(sp.csc_array(A), b), rtol=1e-10)


@pytest.mark.parametrize("option, listed", [("-ksp_type foo", "-ksp_type to one of"),
                                            ("-pc_type foo", "-pc_type to one of")])
def test_item6_unknown_ksp_or_pc_type_lists_the_valid_ones(option, listed):
    """Before: raw PETSc.Error 86 ('Unable to find requested KSP type foo')."""
    with pytest.raises(ValueError, match=rf"no (KSP|PC) type 'foo'.*{listed}") as err:
        us.solve(us.problems.poisson2d(4), method="petsc", options=option)
    names = str(err.value).split("one of ", 1)[1]
    assert ("cg" in names and "gmres" in names) if "ksp" in option else (
        "jacobi" in names and "sor" in names)


def test_item6_other_bad_options_are_value_errors_with_petscs_reason():
    """Before: raw PETSc.Error 63 ('Input string abc has no integer value')."""
    with pytest.raises(ValueError, match=r"PETSc rejected.*abc has no integer value"):
        us.solve(us.problems.poisson2d(4), method="petsc", options="-ksp_gmres_restart abc")


def test_item6_errors_of_python_contexts_are_value_errors():
    """Before: raw PETSc.Error 101 (the Python exception only as its __cause__)."""
    A = sp.csr_array((np.array([0.0, 1.0, 1.0, 2.0]), np.array([0, 1, 0, 1]),
                      np.array([0, 2, 4])), shape=(2, 2))  # a stored zero on the diagonal
    p = LinearProblem(A, np.ones(2))
    with pytest.raises(ValueError, match="BanditSOR divides by diag"):
        us.solve(p, method="petsc", options="-pc_type python -pc_python_type "
                                            "unisolve.interop.petsc.BanditSOR")
    with pytest.raises(ValueError, match=r"raised ModuleNotFoundError.*-pc_python_type"):
        us.solve(p, method="petsc", options="-pc_type python -pc_python_type nosuch.PC")


def test_item6_preonly_is_restarted_on_the_residual_equation():
    """Before: PETSc.Error 83 ('preonly ... doesn't make sense with nonzero initial guess')
    on the restart after the true-residual check, and on the first solve with x0 != 0."""
    p = us.problems.poisson2d(4)
    exact = spla.spsolve(sp.csc_array(p.A), p.b)
    lu = us.solve(p, method="petsc", options="-ksp_type preonly -pc_type lu",
                  x0=np.ones(p.n), rtol=1e-12)
    assert lu.converged and lu.iterations == 1
    np.testing.assert_allclose(lu.x, exact, rtol=1e-12)
    calls, callback = _recorder(p)
    jac = us.solve(p, method="petsc", options="-ksp_type preonly -pc_type jacobi",
                   callback=callback)
    # each restart is one Jacobi sweep: 1 solve + 10 restarts, then an honest MAX_ITER
    assert jac.status is us.Status.MAX_ITER and jac.iterations == 11
    assert jac.info["restarts"] == 10 and "restart_note" in jac.info
    _check_contract(jac, calls)
    assert jac.residuals[-1] == pytest.approx(np.linalg.norm(p.b - p.A @ jac.x), rel=1e-12)
    # the same 11 Jacobi sweeps by hand: x <- x + D^-1 (b - A x)
    x, d = np.zeros(p.n), p.A.diagonal()
    for _ in range(11):
        x = x + (p.b - p.A @ x) / d
    np.testing.assert_allclose(jac.x, x, rtol=1e-12)


@pytest.mark.parametrize("rtol", [1.0, 5.0])
def test_item6_rtol_at_least_one_converges_at_x0_like_cg(rtol):
    """Before: every petsc-* method raised PETSc.Error 63 from KSPSetTolerances
    ('Relative tolerance ... must be less than 1.0')."""
    p = us.problems.poisson2d(4)
    ours = us.solve(p, method="cg", rtol=rtol)
    assert ours.converged and ours.iterations == 0
    for method in METHODS:
        r = us.solve(p, method=method, rtol=rtol)
        assert r.converged and r.iterations == 0, method
        assert r.residuals == pytest.approx([np.linalg.norm(p.b)])


def test_item6_a_numerical_petsc_error_is_a_status():
    """Before: -ksp_error_if_not_converged made KSPSolve raise a raw PETSc.Error 91 (CG on an
    indefinite matrix). PETSc raises it for DIVERGED_ITS only once per process, so the test
    uses a breakdown, which it raises every time."""
    A, b = sp.diags([1.0, -1.0, 2.0, 3.0]).tocsr(), np.ones(4)
    plain = us.solve(LinearProblem(A, b), method="petsc-cg")
    for _ in range(2):  # the KSP's right-hand side stays usable after the error
        r = us.solve(LinearProblem(A, b), method="petsc-cg",
                     options="-ksp_error_if_not_converged")
        assert r.status is us.Status.BREAKDOWN and r.iterations == plain.iterations == 2
        assert r.info["reason"] == plain.info["reason"] == "DIVERGED_INDEFINITE_MAT"
        assert "91" in r.info["petsc_error"] and "indefinite" in r.info["petsc_error"]
        _check_contract(r, [(k, 0, 0) for k in range(r.iterations + 1)])
        np.testing.assert_array_equal(r.x, plain.x)
        assert r.residuals[-1] == pytest.approx(np.linalg.norm(b - A @ r.x), rel=1e-12)


def test_item6_a_failed_preconditioner_is_a_breakdown_with_a_finite_x():
    """A singular matrix under LU: BREAKDOWN, PETSc's reasons in info, x left finite (before:
    the KSP's NaN solution came back with residuals [inf])."""
    A = sp.csr_array(np.array([[1.0, 1.0], [1.0, 1.0]]))
    r = us.solve(LinearProblem(A, np.array([1.0, 0.0])), method="petsc",
                 options="-ksp_type preonly -pc_type lu")
    assert r.status is us.Status.BREAKDOWN
    assert r.info["reason"] == "DIVERGED_PCSETUP_FAILED"
    assert r.info["pc_failed_reason"].startswith("FACTOR")
    assert np.isfinite(r.x).all() and r.iterations == 0 and r.residuals == [1.0]


# ----------------------------------------------------------------------------- item 11
def test_item11_gmres_restarts_add_no_residual_and_no_callback_call():
    """Before (poisson2d(32), petsc-gmres): 234 iterations, 242 residuals and 242 callback
    calls (one extra at each of the 8 restarts of the GMRES(30) cycle)."""
    p = us.problems.poisson2d(32)
    for method, options in (("petsc-gmres", ""), ("petsc", "-pc_type none")):
        calls, callback = _recorder(p)
        r = us.solve(p, method=method, options=options, callback=callback)
        assert r.converged and r.iterations == 234
        _check_contract(r, calls)
        # every callback x is the iterate whose (true, right-preconditioned) norm was reported
        for k, reported, true in calls:
            assert true == pytest.approx(reported, rel=1e-6, abs=1e-12), k


def test_item11_contract_at_rtol_0_breakdown():
    """Before: rtol=0 on poisson2d(12) ended in BREAKDOWN at 120 iterations with 124
    residuals (one extra per GMRES restart)."""
    p = us.problems.poisson2d(12)
    calls, callback = _recorder(p)
    r = us.solve(p, method="petsc-gmres", rtol=0.0, callback=callback)
    assert not r.converged
    _check_contract(r, calls)


@pytest.mark.parametrize("method, options", [
    ("petsc-cg", ""), ("petsc-sor", ""), ("petsc", "-ksp_type bcgs -pc_type ilu"),
    ("petsc", "-ksp_type gmres -ksp_gmres_restart 5 -pc_type jacobi"),
    ("petsc", "-ksp_type fgmres -ksp_gmres_restart 4 -pc_type sor"),
])
def test_item11_one_residual_and_one_callback_per_iteration(method, options):
    p = us.problems.poisson2d(8)
    calls, callback = _recorder(p)
    r = us.solve(p, method=method, options=options, callback=callback, x0=np.ones(p.n))
    assert r.converged
    _check_contract(r, calls)
    assert calls[0][2] == pytest.approx(np.linalg.norm(p.b - p.A @ np.ones(p.n)))
    assert r.residuals[-1] == pytest.approx(np.linalg.norm(p.b - p.A @ r.x), rel=1e-12)


def test_item11_true_residual_restarts_call_the_callback_once_per_iteration():
    """The restart after the true-residual check. Before: each of the 10 restarts called the
    callback again on its start (64 calls for 53 iterations) and overwrote the true entry."""
    p = us.problems.poisson2d(16)
    calls, callback = _recorder(p)
    r = us.solve(p, method="petsc", rtol=1e-10, callback=callback,
                 options="-ksp_type cg -pc_type jacobi -ksp_norm_type preconditioned")
    assert r.info["restarts"] == 10 and r.status is us.Status.MAX_ITER
    _check_contract(r, calls)
    assert r.info["true_residual_indices"] == [0, r.iterations]
    assert r.residuals[-1] == pytest.approx(np.linalg.norm(p.b - p.A @ r.x), rel=1e-12)

"""PETSc interop: Mat/Vec round trips, PETSc objects through solve(), the petsc-* methods
against our own solvers, the Python PC contexts inside KSP, and bad input."""

import subprocess
import sys

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


def _nonsymmetric(n=30, seed=0):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=0.2, random_state=seed, format="csr") + 4 * sp.identity(n)
    return sp.csr_array(A), rng.standard_normal(n)


def _ksp(A, pc_context=None, ksp_type="cg", rtol=1e-10):
    ksp = PETSc.KSP().create(PETSc.COMM_SELF)
    ksp.setOperators(up.to_petsc(A))
    ksp.setType(ksp_type)
    ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=1000)
    if pc_context is not None:
        ksp.getPC().setType("python")
        ksp.getPC().setPythonContext(pc_context)
    return ksp


def _iterates(ksp, b):
    """Solve with the KSP, recording every iterate (KSPBuildSolution) and residual norm."""
    xs = []
    ksp.setMonitor(lambda k, its, rnorm: xs.append(k.buildSolution().getArray().copy()))
    x = up.to_petsc(np.zeros(b.size))
    ksp.solve(up.to_petsc(b), x)
    return xs, x.getArray().copy()


def _our_iterates(problem, method, **options):
    xs = []
    us.solve(problem, method=method, callback=lambda s: xs.append(np.array(s.x)), **options)
    return xs


# ----------------------------------------------------------------------------- conversion
def test_mat_and_vec_round_trip_exactly():
    A, b = _nonsymmetric()
    M = up.to_petsc(A)
    assert M.getType() == "seqaij" and M.getSize() == A.shape and M.isAssembled()
    back = up.mat_to_csr(M)
    assert (back != A).nnz == 0 and back.dtype == np.float64
    v = up.to_petsc(b)
    np.testing.assert_array_equal(up.vec_to_numpy(v), b)
    np.testing.assert_array_equal(up.vec_like(2 * b, v).getArray(), 2 * b)
    dense = up.to_petsc(A.toarray())
    np.testing.assert_array_equal(up.mat_to_csr(dense).toarray(), A.toarray())


def test_problem_from_petsc_objects_solves_and_returns_a_vec():
    p = us.problems.poisson2d(12)
    A, b = up.to_petsc(p.A), up.to_petsc(p.b)
    problem = LinearProblem(A, b, x0=up.to_petsc(np.ones(p.n)))
    assert sp.issparse(problem.A) and problem.meta["petsc"]["A"] is A
    np.testing.assert_array_equal(problem.x0, np.ones(p.n))
    exact = spla.spsolve(sp.csc_array(p.A), p.b)
    for method in ("cg", "sor", "petsc-cg", "petsc-gmres"):
        r = us.solve(problem, method=method, rtol=1e-10, **({"omega": 1.7} if method == "sor"
                                                           else {}))
        assert isinstance(r.x, PETSc.Vec), method
        assert r.x.getSizes() == b.getSizes()
        x = up.vec_to_numpy(r.x)
        assert r.converged and np.linalg.norm(x - exact) <= 1e-8 * np.linalg.norm(exact)


def test_numpy_in_numpy_out_for_petsc_methods():
    p = us.problems.poisson2d(10)
    r = us.solve(p, method="petsc-cg")
    assert isinstance(r.x, np.ndarray)
    assert np.linalg.norm(p.b - p.A @ r.x) <= 1e-8 * np.linalg.norm(p.b)
    assert r.residuals[-1] == pytest.approx(np.linalg.norm(p.b - p.A @ r.x), rel=1e-10)


# ----------------------------------------------------------------------------- methods
def test_petsc_cg_has_the_iterates_of_our_cg():
    p = us.problems.poisson2d(16)
    ours = _our_iterates(p, "cg", rtol=1e-10)
    theirs = _our_iterates(p, "petsc-cg", rtol=1e-10)
    assert len(ours) == len(theirs) > 30
    for k in range(30):
        assert np.linalg.norm(ours[k] - theirs[k]) <= 1e-10 * np.linalg.norm(ours[-1]), k


def test_petsc_sor_takes_our_sor_steps():
    p = us.problems.poisson2d(12)
    for symmetric, ours_method in ((False, "sor"), (True, "ssor")):
        ours = us.solve(p, method=ours_method, omega=1.6, rtol=1e-9)
        theirs = us.solve(p, method="petsc-sor", omega=1.6, symmetric=symmetric, rtol=1e-9)
        assert theirs.iterations == ours.iterations
        np.testing.assert_allclose(theirs.residuals, ours.residuals, rtol=1e-6,
                                   atol=1e-14 * ours.residuals[0])
        np.testing.assert_allclose(theirs.x, ours.x, rtol=0, atol=1e-12)


def test_gmres_and_any_pair_meet_the_true_residual_rule():
    A, b = _nonsymmetric(60)
    p = LinearProblem(A, b)
    for method, options in (("petsc-gmres", ""), ("petsc", "-ksp_type bcgs -pc_type ilu"),
                            ("petsc", "-ksp_type gmres -pc_type jacobi"),
                            ("petsc", "-ksp_type preonly -pc_type lu")):
        r = us.solve(p, method=method, options=options, rtol=1e-9)
        assert r.converged, (method, options)
        assert np.linalg.norm(b - A @ r.x) <= 1e-9 * np.linalg.norm(b)
        assert len(r.residuals) == r.iterations + 1


def test_options_stay_private_to_the_solve():
    p = us.problems.poisson2d(8)
    before = PETSc.Options().getAll()
    r = us.solve(p, method="petsc", options="-ksp_type cg -pc_type jacobi -ksp_gmres_restart 7")
    assert r.info["ksp_type"] == "cg" and r.info["pc_type"] == "jacobi"
    assert PETSc.Options().getAll() == before
    default = us.solve(p, method="petsc")  # nothing given: PETSc's defaults
    assert default.info["ksp_type"] == "gmres" and default.converged


def test_ksp_monitor_and_view_are_honoured(capfd):
    p = us.problems.poisson2d(8)
    us.solve(p, method="petsc-cg", options="-ksp_monitor -ksp_view")
    out = capfd.readouterr().out
    assert "KSP Residual norm" in out and "type: cg" in out


def test_callback_maxiter_and_stop():
    p = us.problems.poisson2d(16)
    seen = []
    r = us.solve(p, method="petsc-cg", maxiter=5, callback=lambda s: seen.append(s.iteration))
    assert r.status is us.Status.MAX_ITER and r.iterations == 5 and len(r.residuals) == 6
    assert seen == [0, 1, 2, 3, 4, 5]

    def stop(state):
        if state.iteration == 3:
            raise StopIteration

    r = us.solve(p, method="petsc-cg", callback=stop)
    assert r.status is us.Status.STOPPED and r.iterations == 3
    r = us.solve(p, method="petsc-cg", maxiter=0)
    assert r.iterations == 0 and r.status is us.Status.MAX_ITER and len(r.residuals) == 1


def test_indefinite_matrix_is_a_breakdown_not_a_result():
    A = sp.diags([1.0, -1.0, 2.0, 3.0]).tocsr()
    r = us.solve(LinearProblem(A, np.ones(4)), method="petsc-cg")
    assert r.status in (us.Status.BREAKDOWN, us.Status.MAX_ITER) and not r.converged


# ----------------------------------------------------------------------------- bad input
def test_unassembled_nonsquare_and_non_aij_mats_get_clear_errors():
    M = PETSc.Mat().createAIJ(size=(4, 4), nnz=1, comm=PETSc.COMM_SELF)
    M.setValue(0, 0, 1.0)
    with pytest.raises(ValueError, match=r"not assembled: call A.assemble\(\)"):
        LinearProblem(M, np.ones(4))
    R = up.to_petsc(sp.csr_array(np.ones((3, 4))))
    with pytest.raises(ValueError, match="must be square, got a 3 x 4 PETSc Mat"):
        LinearProblem(R, np.ones(3))
    D = PETSc.Mat().createDense((3, 3), comm=PETSc.COMM_SELF)
    D.setUp()
    D.assemble()
    with pytest.raises(TypeError, match=r"convert it with A.convert\('aij'\)"):
        LinearProblem(D, np.ones(3))
    with pytest.raises(ValueError, match="b has shape"):
        LinearProblem(up.to_petsc(sp.identity(3, format="csr")), up.to_petsc(np.ones(4)))
    with pytest.raises(TypeError, match="options must be a string"):
        us.solve(us.problems.poisson2d(4), method="petsc-cg", options=["-ksp_monitor"])
    with pytest.raises(ValueError, match="omega must be a number in"):
        us.solve(us.problems.poisson2d(4), method="petsc-sor", omega=2.5)


def test_package_imports_and_explains_without_petsc4py():
    code = (
        "import sys; sys.modules['petsc4py'] = None\n"
        "import unisolve as us\n"
        "assert 'petsc-cg' in [m.name for m in us.methods('linear')]\n"
        "try:\n"
        "    us.solve(us.problems.poisson2d(4), method='petsc-cg')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "pip install 'unisolve[petsc]'" in out
    light = subprocess.run([sys.executable, "-c", "import sys, unisolve as us; "
                            "us.solve(us.problems.poisson2d(4)); "
                            "print('petsc4py' in sys.modules)"],
                           capture_output=True, text=True, check=True).stdout
    assert light.strip() == "False"


# ----------------------------------------------------------------------------- Python PCs
def test_unisolve_pc_in_ksp_has_the_iterates_of_our_ssor_pcg():
    p = us.problems.poisson2d(16)
    ours = _our_iterates(p, "ssor-pcg", omega=1.5, rtol=1e-10)
    theirs, _ = _iterates(_ksp(p.A, up.UnisolvePC("ssor", omega=1.5)), p.b)
    assert abs(len(theirs) - len(ours)) <= 1 and len(ours) > 20
    for k in range(20):
        assert np.linalg.norm(ours[k] - theirs[k]) <= 1e-10 * np.linalg.norm(ours[-1]), k


def test_bandit_sor_with_a_fixed_omega_is_petscs_ssor_in_our_pcg():
    p = us.problems.poisson2d(16)
    ours = _our_iterates(p, "ssor-pcg", omega=1.3, rtol=1e-10)
    theirs, _ = _iterates(_ksp(p.A, up.BanditSOR(omega=1.3)), p.b)
    assert abs(len(theirs) - len(ours)) <= 1
    for k in range(20):
        assert np.linalg.norm(ours[k] - theirs[k]) <= 1e-9 * np.linalg.norm(ours[-1]), k


def test_python_pcs_from_the_options_database(capfd):
    p = us.problems.poisson2d(16)
    for options, expect in (
        ("-pc_type python -pc_python_type unisolve.interop.petsc.BanditSOR "
         "-pc_bandit_omega 1.4 -ksp_view", "fixed omega = 1.4"),
        ("-pc_type python -pc_python_type unisolve.interop.petsc.UnisolvePC "
         "-pc_unisolve_type ic0 -ksp_view", "zero-fill incomplete Cholesky"),
    ):
        r = us.solve(p, method="petsc-cg", options=options, rtol=1e-10)
        assert r.converged and r.info["pc_type"] == "python"
        out = capfd.readouterr().out
        assert expect in out and "unisolve.interop.petsc." in out
    ic0 = us.solve(p, method="pcg", preconditioner="ic0", rtol=1e-10)
    assert r.iterations == ic0.iterations


def test_bandit_sor_learns_omega_over_a_heat_sequence():
    seq = us.problems.heat_sequence(nx=24, steps=150, seed=1)
    reference = seq.reference()[-1]

    def run(omega):
        bandit = up.BanditSOR(omega=omega, seed=0)
        ksp = _ksp(seq.instance(0).A, bandit, rtol=1e-8)
        ksp.setInitialGuessNonzero(True)
        u = None
        for t in range(len(seq)):
            problem = seq.instance(t, u)
            ksp.setOperators(up.to_petsc(problem.A))
            x = up.to_petsc(problem.x0)
            ksp.solve(up.to_petsc(problem.b), x)
            u = x.getArray().copy()
        assert np.linalg.norm(u - reference) <= 1e-6 * np.linalg.norm(reference)
        return bandit

    fixed = {w: sum(run(w).iterations) for w in (1.0, 1.3, 1.6, 1.9)}
    learned = run("auto")
    assert len(learned.omegas) == len(seq) and len(set(learned.omegas)) > 3  # it explored
    assert sum(learned.iterations) <= 1.15 * min(fixed.values())
    assert sum(learned.iterations) < max(fixed.values())
    assert learned.learner.t == len(seq)


def test_bandit_sor_view_reset_and_bad_settings():
    p = us.problems.poisson2d(8)
    bandit = up.BanditSOR(omega="tsallis", seed=3)
    ksp = _ksp(p.A, bandit)
    _iterates(ksp, p.b)
    viewer = PETSc.Viewer().createASCII("/dev/null")
    ksp.view(viewer)  # runs BanditSOR.view without error
    assert bandit.P is not None and len(bandit.omegas) == 1
    ksp.reset()
    assert bandit.P is None
    with pytest.raises(ValueError, match="omega must lie in"):
        up.BanditSOR(omega=2.0)
    with pytest.raises(ValueError, match="omega must be a weight in"):
        up.BanditSOR(omega="exp3")
    with pytest.raises(ValueError, match="needs a context"):
        up.BanditSOR(omega="chebcb")
    with pytest.raises(ValueError, match="needs grid_shape"):
        up.UnisolvePC("dcdm")
    with pytest.raises(ValueError, match="unknown preconditioner 'ilu'"):
        up.UnisolvePC("ilu")


def test_bandit_sor_rejects_a_zero_diagonal():
    A = sp.csr_array(np.array([[0.0, 1.0], [1.0, 2.0]]))
    ksp = _ksp(A, up.BanditSOR(omega=1.0), ksp_type="gmres")
    with pytest.raises(PETSc.Error):
        ksp.setUp()


def test_unisolve_pc_runs_a_dcdm_network_in_flexible_cg():
    pytest.importorskip("torch")
    p = us.problems.poisson2d(32)
    pc = up.UnisolvePC("dcdm", grid_shape=p.grid_shape)
    ksp = _ksp(p.A, pc, ksp_type="fcg", rtol=1e-6)
    _, x = _iterates(ksp, p.b)
    assert ksp.getConvergedReason() > 0
    assert np.linalg.norm(p.b - p.A @ x) <= 1e-6 * np.linalg.norm(p.b)
    cg = us.solve(p, method="cg", rtol=1e-6)
    assert ksp.getIterationNumber() < cg.iterations / 2
    ksp.reset()
    assert pc.M is None


def test_heat_on_a_dmda_is_the_heat_sequence():
    from unisolve.interop.petsc_heat import heat_dmda

    run = heat_dmda(nx=20, steps=25, rtol=1e-12, omega=1.5)
    ref = us.problems.heat_sequence(nx=20, steps=25).reference()[-1]
    assert np.linalg.norm(run.u - ref) <= 1e-10 * np.linalg.norm(ref)
    assert run.converged == 25 and np.all(run.omegas == 1.5)

"""Regression tests of issue 26, items 3, 4, 7, 8 and 9 (non-PETSc part).

Each test names its item and the behaviour of main before the fix (8f3ab89),
reproduced by hand with ``p = us.problems.poisson2d(4)``.
"""

from __future__ import annotations

import importlib.util
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import unisolve as us
from unisolve import api, options
from unisolve.problems import LinearProblem, LinearSequence, Stencil
from unisolve.solvers import relaxation
from unisolve.solvers.kernels.red_black import red_black_sor_solve
from unisolve.solvers.kernels.sor_csr import (
    SOLVE_CONVERGED,
    SOLVE_MAX_ITER,
    inverse_diagonal,
    sor_iterations_csr,
    sor_solve_csr,
    sor_sweep_reference,
    unsigned_indices,
)
from unisolve.solvers.reuse import ReusingPCG
from unisolve.solvers.young import jacobi_radius_estimate, optimal_omega, stencil_mismatch

HAS_PETSC = importlib.util.find_spec("petsc4py") is not None
#: Every registered linear method but dcdm (a network per iteration: seconds each here).
LINEAR = [m.name for m in us.methods() if "linear" in m.kinds and m.name != "dcdm"
          and (HAS_PETSC or not m.name.startswith("petsc"))]


def poisson():
    return us.problems.poisson2d(4)


# ------------------------------------------------------------------ item 3


@pytest.mark.parametrize("name", LINEAR)
def test_item3_longdouble_is_solved_in_float64_by_every_linear_method(name):
    """Old: numba TypingError (sor, gauss-seidel, ssor, cg, pcg, minres, ssor-pcg, auto);
    gmres/bicgstab/jacobi ran in float128, petsc-* converted silently: now every method
    converts to float64 and says so in info['precision']."""
    p = poisson()
    q = LinearProblem(p.A.astype(np.longdouble), p.b.astype(np.longdouble), stencil=p.stencil)
    r = us.solve(q, method=name, rtol=1e-10)
    assert r.status is us.Status.CONVERGED
    assert r.x.dtype == np.float64
    assert r.info["precision"].startswith("float64: the input (longdouble")
    exact = spla.spsolve(sp.csc_array(p.A), p.b)  # float64 reference
    np.testing.assert_allclose(r.x, exact, rtol=1e-8)


def test_item3_direct_calls_and_warm_starts_convert_too():
    """Old: relaxation.sor(problem) with longdouble raised numba TypingError."""
    p = poisson()
    q = LinearProblem(p.A.astype(np.longdouble), p.b.astype(np.longdouble), stencil=p.stencil)
    for func in (relaxation.sor, relaxation.ssor, relaxation.gauss_seidel, relaxation.jacobi):
        r = func(q, rtol=1e-10)
        assert r.converged and r.x.dtype == np.float64 and "precision" in r.info
    rb = relaxation.sor(q, omega=1.3, ordering="red-black", rtol=1e-10)
    assert rb.converged
    warm = us.solve(q, method="cg", x0=np.ones(16, dtype=np.longdouble), rtol=1e-10)
    np.testing.assert_allclose(warm.x, spla.spsolve(sp.csc_array(p.A), p.b), rtol=1e-8)


@pytest.mark.parametrize(("name", "extra"), [
    ("sor", {"omega": "optimal"}), ("sor", {"omega": "auto"}),
    ("gmres", {"preconditioner": "sor", "omega": "auto"}), ("auto", {}),
    ("pcg", {"preconditioner": "ic0"})], ids=str)
def test_item3_longdouble_sequences_through_the_learners(name, extra):
    """Old: omega='optimal' raised numba TypingError; gmres with a learned omega ran in
    float128 while the other methods failed or converted silently."""
    base = us.problems.shifted_laplacian_sequence(T=2, seed=0)

    def make(t, previous):
        p = base.instance(t, previous)
        return LinearProblem(p.A.astype(np.longdouble), p.b.astype(np.longdouble),
                             stencil=p.stencil, context=p.context)

    seq = LinearSequence(length=2, make_instance=make, context_range=base.context_range)
    rs = us.solve(seq, method=name, progress=False, **extra)
    for t, r in enumerate(rs.results):
        p = base.instance(t)
        assert r.converged and r.x.dtype == np.float64 and "precision" in r.info
        assert np.linalg.norm(p.b - p.A @ r.x) <= 1e-8 * np.linalg.norm(p.b) * 1.01


def test_item3_float16_dense_and_the_untouched_dtypes():
    p = poisson()
    q = LinearProblem(p.A.toarray().astype(np.float16), p.b.astype(np.float16))
    r = us.solve(q, method="sor", omega=1.3)
    assert r.converged and r.info["precision"].startswith("float64: the input (float16)")
    for dtype in (np.float32, np.float64):  # computed in their own precision: no conversion
        r = us.solve(LinearProblem(p.A.astype(dtype), p.b.astype(dtype)), method="sor",
                     rtol=1e-5)
        assert r.converged and r.x.dtype == dtype
        assert "converted" not in r.info.get("precision", "")


def test_item3_complex_is_refused_alike_by_every_method():
    p = poisson()
    with pytest.raises(TypeError, match="complex"):
        LinearProblem(p.A.astype(np.clongdouble), p.b.astype(np.clongdouble))


# ------------------------------------------------------------------ item 4


@pytest.mark.parametrize("maxiter", [10**12, 2**70], ids=["1e12", "2**70"])
@pytest.mark.parametrize("name", LINEAR)
def test_item4_huge_maxiter_is_a_cap_not_an_allocation(name, maxiter):
    """Old: sor/ssor/gauss-seidel MemoryError 'Unable to allocate 7.28 TiB' (10**12) and
    'Maximum allowed dimension exceeded' (2**70); ssor-pcg OverflowError at 2**70."""
    p = poisson()
    r = us.solve(p, method=name, maxiter=maxiter)
    ref = us.solve(p, method=name)
    assert r.status is us.Status.CONVERGED
    assert r.iterations == ref.iterations and len(r.residuals) == r.iterations + 1


@pytest.mark.parametrize("ordering", ["natural", "red-black"])
@pytest.mark.parametrize("callback", [None, lambda state: None], ids=["compiled", "loop"])
def test_item4_sor_paths_with_huge_maxiter(ordering, callback):
    p = poisson()
    r = us.solve(p, method="ssor", omega=1.2, ordering=ordering, maxiter=2**70,
                 callback=callback)
    assert r.converged and len(r.residuals) == r.iterations + 1


@pytest.mark.parametrize("name", ["sor", "ssor", "gauss-seidel", "jacobi", "cg", "pcg",
                                  "ssor-pcg", "gmres", "bicgstab", "minres"])
def test_item4_memory_does_not_grow_with_maxiter(name):
    """A solve that stops after a few iterations allocates far less than maxiter floats."""
    p = poisson()
    us.solve(p, method=name, maxiter=10)  # compile / import outside the measurement
    tracemalloc.start()
    try:
        r = us.solve(p, method=name, maxiter=10**7)  # old sor family: 80 MB buffer
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.converged
    assert peak < 2_000_000, f"{name}: peak {peak} bytes for maxiter=10**7"


def test_item4_sor_kernel_chunks_agree_with_one_buffer_and_the_reference():
    """sor_iterations_csr in chunks of 3 == one chunk == the plain-numpy sweeps."""
    A = us.problems.convection_diffusion_system(5).A
    b = np.linspace(1.0, 2.0, A.shape[0])
    args = (A.indptr, unsigned_indices(A.indices), A.data, inverse_diagonal(A))
    runs = []
    for chunk in (3, 4096):
        x = np.zeros_like(b)
        its, code, res = sor_solve_csr(*args, x, b, 1.3, True, True, 0.0, 10, 1e8,
                                       chunk=chunk)
        assert (its, code, len(res)) == (10, SOLVE_MAX_ITER, 11)
        runs.append((x, res))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    x, history = np.zeros_like(b), [np.linalg.norm(b)]
    n = A.shape[0]
    for _ in range(10):  # symmetric sweep = forward then backward rows
        sor_sweep_reference(A, x, b, 1.3, range(n))
        sor_sweep_reference(A, x, b, 1.3, range(n - 1, -1, -1))
        history.append(np.linalg.norm(b - A @ x))
    np.testing.assert_allclose(runs[0][0], x, rtol=1e-12)
    np.testing.assert_allclose(runs[0][1], history, rtol=1e-10)
    # the compiled call reports where it stopped (converged inside the buffer) and, started
    # at iteration 0, the divergence limit divtol · max(‖r₀‖, threshold) for the next call
    x = np.zeros_like(b)
    buf = np.empty(500)
    last, code, limit = sor_iterations_csr(*args, x, b, 1.3, True, False, 1e-8, 1e8, np.inf,
                                           0, buf)
    assert code == SOLVE_CONVERGED and buf[last] <= 1e-8 < buf[last - 1]
    assert limit == 1e8 * np.linalg.norm(b) and buf[0] == pytest.approx(np.linalg.norm(b))
    x = np.zeros_like(b)
    last, code, _ = sor_iterations_csr(*args, x, b, 1.3, True, False, 0.0, 1e8, limit, 0,
                                       buf[:4])
    assert (last, code) == (3, -1)  # buffer full: x0 and 3 iterations, the solve goes on
    last, code, _ = sor_iterations_csr(*args, x, b, 1.3, True, False, 0.0, 1e8, limit, 4,
                                       buf[:2])
    assert (last, code) == (5, -1)


def test_item4_red_black_list_and_array_residuals_agree():
    shape = (12, 10)
    b = np.ones(shape)
    x1, x2, res = np.zeros(shape), np.zeros(shape), np.empty(301)
    hist: list = []
    its1, code1 = red_black_sor_solve(x1, b, 4.0, -1.0, 1.5, "forward", 1e-9, 300, 1e8, res)
    its2, code2 = red_black_sor_solve(x2, b, 4.0, -1.0, 1.5, "forward", 1e-9, 10**15, 1e8,
                                      hist)
    assert (its1, code1) == (its2, code2) and code1 == SOLVE_CONVERGED
    np.testing.assert_array_equal(x1, x2)
    assert hist == res[: its1 + 1].tolist()


# ------------------------------------------------------------------ item 7

BAD_PRECONDITIONERS = {
    # old (pcg): silently DIVERGED; gmres: numpy broadcast error; bicgstab: CONVERGED
    "wrong length": (lambda r: r[:-1], ValueError, r"shape \(15,\) for r of shape \(16,\)"),
    # old (pcg): numba TypingError getitem(none, int64); gmres/bicgstab/minres: NONFINITE
    "None": (lambda r: None, TypeError, "returned None"),
    # old (pcg): TypeError: float() argument must be ... not 'complex'; others CONVERGED
    "complex": (lambda r: r + 0j, TypeError, "complex values"),
    # old (pcg): numba TypingError iadd(float64, array); others CONVERGED
    "column": (lambda r: r[:, None], ValueError, r"reshape it: z.reshape\(\(16,\)\)"),
    "text": (lambda r: "M", TypeError, "returned str"),
}


@pytest.mark.parametrize("case", list(BAD_PRECONDITIONERS))
@pytest.mark.parametrize("name", ["pcg", "gmres", "bicgstab", "minres"])
def test_item7_bad_preconditioner_output_is_a_clear_error(name, case):
    func, error, message = BAD_PRECONDITIONERS[case]
    with pytest.raises(error, match=message) as info:
        us.solve(poisson(), method=name, preconditioner=func)
    assert "preconditioner <lambda>" in str(info.value)
    assert "must return M⁻¹ r" in str(info.value)


@pytest.mark.parametrize("name", ["pcg", "gmres", "bicgstab", "minres"])
def test_item7_lists_and_integer_arrays_are_converted(name):
    p = poisson()
    d = p.A.diagonal()
    r = us.solve(p, method=name, preconditioner=lambda r: list(r / d), rtol=1e-10)
    ref = us.solve(p, method=name, preconditioner=lambda r: r / d, rtol=1e-10)
    assert r.converged and r.iterations == ref.iterations
    np.testing.assert_array_equal(r.x, ref.x)


# ------------------------------------------------------------------ item 8


def _with_stencil(diagonal, offdiagonal=-1.0):
    p = poisson()
    return LinearProblem(p.A, p.b, stencil=Stencil((4, 4), diagonal, offdiagonal))


def test_item8_zero_stencil_diagonal_in_optimal_omega():
    """Old: ZeroDivisionError (float division by zero) in OmegaTuner(learner='optimal')."""
    with pytest.raises(ValueError, match="diagonal 0"):
        us.OmegaTuner(method="sor", learner="optimal").solve(_with_stencil(0.0))
    with pytest.raises(ValueError, match="diagonal 0"):
        optimal_omega(_with_stencil(0.0))


def test_item8_zero_stencil_diagonal_in_an_optimal_sequence():
    """Old: ZeroDivisionError in solve(sequence, method='sor', omega='optimal')."""
    seq = LinearSequence(length=2, make_instance=lambda t, prev: _with_stencil(0.0))
    with pytest.raises(ValueError, match="diagonal 0"):
        us.solve(seq, method="sor", omega="optimal", progress=False)


def test_item8_a_learner_primes_without_a_zero_diagonal_stencil():
    """Old: ZeroDivisionError while priming omega='auto' with the stencil's closed form."""
    assert jacobi_radius_estimate(_with_stencil(0.0)) is None
    r = us.OmegaTuner(method="sor", learner="auto").solve(_with_stencil(0.0))
    assert r.converged  # natural ordering sweeps A, whose diagonal is 4


@pytest.mark.parametrize("callback", [None, lambda state: None], ids=["compiled", "loop"])
def test_item8_red_black_refuses_a_stencil_that_contradicts_A(callback):
    """Old: CONVERGED on the stencil's system (diagonal 8), not on A's (false convergence);
    a zero stencil diagonal raised ZeroDivisionError."""
    with pytest.raises(ValueError, match=r"does not describe A.*ordering='natural'"):
        us.solve(_with_stencil(8.0), method="sor", ordering="red-black", omega=1.5,
                 callback=callback)
    with pytest.raises(ValueError, match=r"diagonal 0.*ordering='natural'"):
        us.solve(_with_stencil(0.0), method="sor", ordering="red-black", omega=1.5,
                 callback=callback)
    with pytest.raises(ValueError, match="does not describe A"):
        optimal_omega(_with_stencil(8.0))


def test_item8_a_stencil_equal_to_A_up_to_rounding_is_accepted():
    A = Stencil((5, 4), 4.0, -1.0).to_csr() * 0.1  # 0.4000000000000001 on the diagonal
    st = Stencil((5, 4), 0.4, -0.1)
    assert stencil_mismatch(A, st) is None
    p = LinearProblem(A, np.ones(20), stencil=st)
    r = us.solve(p, method="sor", ordering="red-black", omega=1.3, rtol=1e-10)
    np.testing.assert_allclose(r.x, spla.spsolve(sp.csc_array(A), np.ones(20)), rtol=1e-8)


def test_item8_empty_system_with_the_optimal_learner():
    """Old: 'zero-size array to reduction operation' (dense 0 x 0) or "Young's formula needs
    a Jacobi spectral radius in [0, 1), got 1.0" (sparse); now like solve(): CONVERGED."""
    for A in (sp.csr_array((0, 0)), np.zeros((0, 0))):
        r = us.OmegaTuner(method="sor", learner="optimal").solve(A, np.zeros(0))
        assert r.converged and r.iterations == 0 and r.info["omega"] == 1.0


# ------------------------------------------------------------------ item 9

BAD_OPTIONS = [({"rtol": float("nan")}, ValueError), ({"rtol": -1}, ValueError),
               ({"atol": float("inf")}, ValueError), ({"maxiter": 1.5}, ValueError),
               ({"maxiter": -5}, ValueError), ({"callback": 3}, TypeError)]


def _message(call):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(("bad", "error"), BAD_OPTIONS, ids=lambda v: repr(v))
def test_item9_tuners_check_options_like_solve(bad, error):
    """Old OmegaTuner: rtol=nan ran to MAX_ITER, rtol=-1 ended in BREAKDOWN/MAX_ITER,
    maxiter=1.5 'expected a sequence of integers', maxiter=-5 'negative dimensions are not
    allowed' (at the first solve); SolverTuner / ReusingPCG alike."""
    expected = _message(lambda: us.solve(poisson(), method="sor", **bad))
    assert expected[0] is error
    for make in (lambda: us.OmegaTuner(method="sor", **bad),
                 lambda: us.OmegaTuner(method="ssor-pcg", learner="optimal", **bad),
                 lambda: us.SolverTuner(**bad),
                 lambda: ReusingPCG(**bad)):
        assert _message(make) == expected  # at construction, before any solve


def test_item9_one_check_below_api_and_solvers():
    assert api._check_common is options.check_common
    with pytest.raises(ValueError, match=r"pass e\.g\. maxiter=2"):
        options.check_common({"maxiter": 1.5})
    options.check_common({"rtol": np.float32(1e-6), "maxiter": np.int64(5)})  # numpy scalars

"""The Result contract over EVERY registered method (issue 26, item 11).

``len(residuals) == iterations + 1`` (the measure at x0, then one per
iteration), and ``callback`` is called exactly on x0 and once per iteration,
with ``state.iteration`` = 0, 1, …, iterations. Checked on a converging run, a
capped one (``rtol=0`` and a small ``maxiter``: MAX_ITER after exactly
``maxiter`` iterations), restarted GMRES, and a callback that stops the solve.

Old behaviour (issue 26): ``petsc-gmres`` / ``petsc`` added one residual and
one callback call at every GMRES restart (poisson2d(32): 234 iterations, 242
residuals). A method missing from :data:`CASES` and :data:`SKIPS` fails
:func:`test_every_registered_method_is_covered`, so a new method cannot escape.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import unisolve as us
from unisolve.problems import FixedPointProblem
from unisolve.problems.composite import least_squares
from unisolve.problems.monotone import bilinear_game, constrained_qp

HAS_PETSC = importlib.util.find_spec("petsc4py") is not None

#: Methods left out, with the reason (their Result has no residual history, or
#: they need a trained model / minutes of training).
SKIPS = {
    "mac-cn": "classical flow rollout: a trajectory, no residual history (residuals == [])",
    "fno": "needs a trained neural operator (no shipped default model)",
    "st-fno": "needs a trained neural operator (no shipped default model)",
    "neural-fine": "needs a trained stagger model (no shipped default model)",
    "neural-stagger": "needs a trained stagger model (no shipped default model)",
    "pinn": "trains a network (even 3 epochs take ~10 s here); tests/learned cover it",
    "lpinn": "trains a network (even 3 epochs take ~5 s here); tests/learned cover it",
}

_ROTATION = np.array([[0.0, -1.0], [1.0, 0.0]])


def spd():
    return us.problems.poisson2d(6)


def nonsymmetric():
    return us.problems.convection_diffusion_system(6)


def pressure():
    return us.problems.pressure_poisson(8, seed=0)


def rotation():
    return FixedPointProblem(lambda z: _ROTATION @ (z - 1.0) + 1.0, np.zeros(2))


def qp():
    return constrained_qp(10)


def game():
    return bilinear_game(np.random.default_rng(1).standard_normal((5, 5)))


def lsq():
    return least_squares(30, 20, seed=1)


def hs6():
    return us.problems.constrained.test_set(["HS6"])["HS6"]


CAP = {"rtol": 0.0, "atol": 0.0, "maxiter": 7}
SYMMETRIC_ONLY = ("auto", "cg", "pcg", "ssor-pcg", "minres", "petsc-cg")


def _linear_cases(name: str) -> list:
    cases = [("spd", spd, {}), ("spd capped", spd, CAP)]
    if name not in SYMMETRIC_ONLY:
        cases += [("nonsymmetric", nonsymmetric, {}),
                  ("nonsymmetric capped", nonsymmetric, CAP)]
    return cases


CASES: dict[str, list] = {name: _linear_cases(name) for name in (
    "auto", "bicgstab", "cg", "gauss-seidel", "gmres", "jacobi", "minres", "pcg", "petsc",
    "petsc-cg", "petsc-gmres", "petsc-sor", "sor", "ssor", "ssor-pcg")}
CASES["sor"] += [("red-black", spd, {"omega": 1.5, "ordering": "red-black"}),
                 ("red-black capped", spd, {"ordering": "red-black", **CAP}),
                 ("symmetric sweep capped", nonsymmetric, {"sweep": "symmetric", **CAP})]
CASES["ssor"] += [("red-black capped", spd, {"ordering": "red-black", **CAP})]
CASES["gmres"] += [
    ("restart 3", nonsymmetric, {"restart": 3}),
    ("restart 3 capped", nonsymmetric, {"restart": 3, "rtol": 0.0, "maxiter": 10}),
    ("restart 4 ilu0", nonsymmetric, {"restart": 4, "preconditioner": "ilu0"}),
    ("restart 2 ssor capped", spd, {"restart": 2, "preconditioner": "ssor", **CAP}),
]
CASES["petsc-gmres"] += [
    ("restart 3", nonsymmetric, {"options": "-ksp_gmres_restart 3"}),
    ("restart 3 capped", nonsymmetric, {"options": "-ksp_gmres_restart 3", "rtol": 0.0,
                                        "maxiter": 10}),
]
CASES["petsc"] += [("restart 3", nonsymmetric, {"options": "-ksp_gmres_restart 3"})]
CASES["pcg"] += [("ic0", spd, {"preconditioner": "ic0"}),
                 ("amg capped", spd, {"preconditioner": "amg", **CAP}),
                 ("true residuals", spd, {"residual": "true"})]
CASES["cg"] += [("true residuals capped", spd, {"residual": "true", **CAP})]
CASES["ssor-pcg"] += [("true residuals", spd, {"omega": 1.5, "residual": "true"}),
                      ("pressure (csr kernel)", pressure, {"omega": 1.2})]
CASES["minres"] += [("jacobi", spd, {"preconditioner": "jacobi"})]
CASES["bicgstab"] += [("ilu0", nonsymmetric, {"preconditioner": "ilu0"})]
# one network application costs ~1.5 s on a busy 2-core machine: one iteration only
CASES["dcdm"] = [("pressure capped", pressure, {"rtol": 0.0, "maxiter": 1})]
CASES["halpern"] = [("rotation", rotation, {}), ("qp capped", qp, {"rtol": 0.0, "maxiter": 20})]
for _name in ("eag", "eg", "vr-eg", "vr-halpern"):
    CASES[_name] = [("qp capped", qp, {"rtol": 0.0, "maxiter": 20}),
                    ("game capped", game, {"rtol": 0.0, "maxiter": 20})]
CASES["eg"] += [("game", game, {"rtol": 1e-6})]
CASES["bcd"] = [("least squares capped", lsq, {"rtol": 0.0, "maxiter": 20}),
                ("least squares", lsq, {"rule": "gsq", "update": "newton", "block_size": 5,
                                        "maxiter": 2000})]
CASES["newton-kkt"] = [("hs6", hs6, {"atol": 1e-8}),
                       ("hs6 capped", hs6, {"rtol": 0.0, "atol": 0.0, "maxiter": 2})]
CASES["sketch-newton"] = [("hs6", hs6, {"atol": 1e-8}),
                          ("hs6 capped", hs6, {"rtol": 0.0, "atol": 0.0, "maxiter": 2})]

PARAMS = [pytest.param(name, label, make, options, id=f"{name}: {label}")
          for name, cases in sorted(CASES.items()) for label, make, options in cases]


def _needs(name: str) -> None:
    if name.startswith("petsc") and not HAS_PETSC:
        pytest.skip("petsc4py is not installed: `make petsc` or pip install 'unisolve[petsc]'")
    if name == "dcdm":
        pytest.importorskip("torch", reason="dcdm needs torch (pip install -e .[learned])")


def _solve(name, problem, **options):
    with np.errstate(all="ignore"):
        return us.solve(problem, method=name, progress=False, **options)


def test_every_registered_method_is_covered():
    names = {m.name for m in us.methods()}
    missing = sorted(names - set(CASES) - set(SKIPS))
    assert not missing, f"add contract cases (or a reasoned skip) for {missing}"
    assert not set(CASES) & set(SKIPS)
    assert set(CASES) | set(SKIPS) <= names  # no stale entries


@pytest.mark.parametrize(("name", "label", "make", "options"), PARAMS)
def test_item11_residuals_and_callback_follow_the_iterations(name, label, make, options):
    """len(residuals) == iterations + 1; callback on x0 and once per iteration, in order."""
    _needs(name)
    seen: list[int] = []
    plain = _solve(name, make(), **options)
    run = _solve(name, make(), callback=lambda state: seen.append(state.iteration), **options)
    for r in (plain, run):
        assert len(r.residuals) == r.iterations + 1, (
            f"{name} ({label}): {r.iterations} iterations but {len(r.residuals)} residuals")
    assert seen == list(range(run.iterations + 1)), (
        f"{name} ({label}): callback saw iterations {seen[:5]}...{seen[-3:]} for "
        f"{run.iterations} iterations")
    if options.get("rtol") == 0.0 and "maxiter" in options:
        assert run.status is us.Status.MAX_ITER
        assert run.iterations == options["maxiter"]
    else:  # the callback does not change the iterates
        assert plain.iterations == run.iterations and plain.status is run.status


@pytest.mark.parametrize("name", sorted(CASES))
def test_item11_stop_iteration_keeps_the_contract(name):
    """A callback raising StopIteration at iteration 1: STOPPED, 1 iteration, 2 residuals."""
    _needs(name)
    label, make, options = next((c for c in CASES[name] if "capped" in c[0]), CASES[name][0])
    seen: list[int] = []

    def stop_at_one(state):
        seen.append(state.iteration)
        if state.iteration == 1:
            raise StopIteration

    r = _solve(name, make(), callback=stop_at_one, **options)
    assert r.status is us.Status.STOPPED, f"{name} ({label}): {r.status}"
    assert (r.iterations, len(r.residuals), seen) == (1, 2, [0, 1])

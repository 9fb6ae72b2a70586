"""Preconditioners: each applies exactly its M⁻¹; bad specifications raise clearly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import unisolve as us
from unisolve.solvers.preconditioners import (
    AMGPreconditioner,
    JacobiPreconditioner,
    SSORPreconditioner,
    make_preconditioner,
)


def ssor_matrix(A, omega):
    """M = (D + ωL) D⁻¹ (D + ωU) / (ω(2 − ω)), dense."""
    A = A.toarray()
    D = np.diag(np.diag(A))
    L, U = np.tril(A, -1), np.triu(A, 1)
    return (D + omega * L) @ np.linalg.inv(D) @ (D + omega * U) / (omega * (2 - omega))


@pytest.mark.parametrize("omega", [0.6, 1.0, 1.5, 1.9])
def test_ssor_applies_exactly_the_inverse_of_the_ssor_matrix(omega):
    A = us.problems.poisson2d(6, coeff=lambda x, y: 1 + 3 * x + y).A
    r = np.random.default_rng(0).standard_normal(A.shape[0])
    z = SSORPreconditioner(A, omega=omega)(r)
    z_ref = np.linalg.solve(ssor_matrix(A, omega), r)
    np.testing.assert_allclose(z, z_ref, rtol=1e-12, atol=1e-12 * np.abs(z_ref).max())


def test_jacobi_divides_by_the_diagonal():
    A = us.problems.poisson2d(5, coeff=lambda x, y: 2 + x).A
    r = np.arange(25.0)
    np.testing.assert_allclose(JacobiPreconditioner(A)(r), r / A.diagonal(), rtol=1e-15)
    with pytest.raises(ValueError, match="zero"):
        JacobiPreconditioner(sp.csr_array(np.array([[0.0, 1.0], [1.0, 1.0]])))


def test_amg_preconditioner_is_one_pyamg_v_cycle():
    import pyamg

    A = us.problems.poisson2d(20).A
    r = np.random.default_rng(1).standard_normal(A.shape[0])
    np.random.seed(0)  # noqa: NPY002 -- pyamg estimates spectral radii from a random start vector
    ref = pyamg.smoothed_aggregation_solver(A).aspreconditioner(cycle="V").matvec(r)
    np.random.seed(0)  # noqa: NPY002
    np.testing.assert_allclose(AMGPreconditioner(A)(r), ref, rtol=1e-12, atol=1e-14)


def test_make_preconditioner_validates_its_input():
    A = us.problems.poisson2d(4).A
    with pytest.raises(ValueError, match="choose one of 'jacobi', 'ssor', 'sor', 'ic0', 'ilu0'"):
        make_preconditioner("ilu", A)
    for garbage in (3.0, [1, 2], np.eye(16)):
        with pytest.raises(TypeError, match="callable r -> M⁻¹ r or a scipy LinearOperator"):
            make_preconditioner(garbage, A)
    with pytest.raises(ValueError, match=r"omega must lie in \(0, 2\)"):
        make_preconditioner("ssor", A, omega=0.0)
    with pytest.raises(ValueError, match="n x n"):
        make_preconditioner(spla.aslinearoperator(np.eye(3)), A)
    for name in ("jacobi", "ssor", "ic0", "amg"):
        with pytest.raises(ValueError, match="LinearOperator"):
            make_preconditioner(name, spla.aslinearoperator(A))
    assert make_preconditioner(spla.aslinearoperator(np.eye(16)), A).name == "LinearOperator"

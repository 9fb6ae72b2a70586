"""backend.py: which library an array belongs to, norms and finiteness on each."""

import numpy as np
import pytest
import scipy.sparse as sp

from unisolve import backend


def test_numpy_and_scipy():
    x = np.array([3.0, 4.0])
    assert backend.library_of(x) == "numpy"
    assert backend.library_of(sp.identity(3, format="csr")) == "numpy"
    assert backend.norm(x) == 5.0
    assert backend.all_finite(x) and not backend.all_finite(np.array([1.0, np.nan]))
    A = sp.csr_array(np.array([[1.0, 0.0], [0.0, np.inf]]))
    assert not backend.all_finite(A)


@pytest.mark.filterwarnings("ignore:Sparse CSR tensor support is in beta")
def test_torch_dense_and_sparse():
    torch = pytest.importorskip("torch")
    t = torch.tensor([3.0, 4.0], dtype=torch.float64)
    assert backend.library_of(t) == "torch" and backend.is_torch(t)
    assert backend.norm(t) == 5.0
    np.testing.assert_array_equal(backend.to_numpy(t), [3.0, 4.0])
    dense = torch.tensor([[1.0, 0.0], [0.0, float("nan")]])
    assert not backend.all_finite(dense)
    assert not backend.all_finite(dense.to_sparse())
    assert backend.all_finite(torch.eye(3).to_sparse())
    csr = torch.eye(3, dtype=torch.float64).to_sparse_csr()
    assert backend.all_finite(csr)

"""Deep conjugate direction method (DCDM): method "dcdm".

Kaneda, Akar, Chen, Kala, Hyde, Teran, "A Deep Conjugate Direction Method for
Iteratively Solving Linear Systems", ICML 2023. A convolutional network on the
grid maps a residual to an approximation of ``A⁻¹ r`` (up to a scalar); the
solver uses it as the search direction of a conjugate-direction method:

    q_k   = net(r_k / rms(r_k))                                          (1)
    q_k  ← q_k − Σ_{j=k−s}^{k−1} (q_kᵀ A p_j / p_jᵀ A p_j) p_j,  s = 2     (2)
    α_k   = q_kᵀ r_k / q_kᵀ A q_k                    (exact line search) (3)
    x_{k+1} = x_k + α_k q_k,   p_k = q_k
    r_{k+1} = b − A x_{k+1}                  (the TRUE residual, every k) (4)

(2) is modified Gram–Schmidt in the A inner product against the last ``s``
directions, so consecutive directions are A-orthogonal to rounding error.

The network is trained without any solve, from the scale-invariant loss

    f = net(b),  α = fᵀb / fᵀAf,  loss = mean_batch ‖b − α A f‖²          (5)

over right-hand sides b built from Ritz vectors of A (m Lanczos steps from
``A·randn``): ``b = Σ c_i v_i / ‖·‖`` with ``c_i ~ N(0, 1)``, nine times larger
on the lowest ~55% of the Ritz values, which is where CG is slow.

Network (the paper's 64³ layout, 2D or 3D): a linear 3×3 stem, full-resolution
residual blocks ``h ← h + relu(conv(relu(conv(h))))`` with 16 channels, one
2× average-pooled level of residual blocks, nearest upsampling added to the
full-resolution features (skip), more residual blocks, and a pointwise linear
head: 15 convolutions plus the head. Departures, all for a model that must
serve many obstacle layouts and resolutions rather than the paper's one
matrix: the convolutions have no biases and every layer's features are
multiplied by the fluid mask (``geometry="gate"``), so the net knows where the
walls are, ``net(0) = 0`` and ``net(c r) = c net(r)`` (an input-free part of
the output would be a fixed direction that (2) removes again and again); the
input is scaled to unit RMS rather than unit norm (the same numbers reach
the net at 64² and 256²; the direction's scale is irrelevant to (2)-(3));
the shipped model has more blocks on the pooled level (see :class:`DCDM`).
``geometry="channel"`` keeps the paper's biased layers and feeds the mask as
a second input channel instead.

The shipped models (``weights/dcdm2d_64.pt``, trained on 64² and
``weights/dcdm3d_32.pt``, trained on 32³ :func:`unisolve.problems.pressure_poisson`
layouts) were made by ``benchmarks/train_dcdm.py``; their files record every
training stage (``DCDM.load(path).meta``). :func:`pretrained` loads them and
``method="dcdm"`` uses the 3D one on a 3D grid; on a 2D grid its default is the
multilevel model of :mod:`unisolve.learned.dcdm_multilevel` (``pretrained()`` is
still loadable, ``model=pretrained()``).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn
from torch.nn import functional as F

from .. import backend
from ..registry import get_method, method
from ..result import IterationMonitor, IterationState, Result, Status
from .training import TrainingLog, read_model_file, torch_device
from .training import progress as progress_bar

if TYPE_CHECKING:
    from ..problems.linear import LinearProblem

__all__ = [
    "DCDM",
    "DCDMNet",
    "dcdm",
    "lanczos_ritz",
    "pretrained",
    "ritz_training_vectors",
    "scale_invariant_loss",
]

#: shipped model file per grid dimension (unisolve/learned/weights/)
PRETRAINED_FILES = {2: "dcdm2d_64.pt", 3: "dcdm3d_32.pt"}
PRETRAINED_FILE = PRETRAINED_FILES[2]
#: network kinds of DCDM(kind=...): default channels and blocks ('pooled': DCDMNet,
#: 'multilevel': dcdm_multilevel.MultilevelNet)
NET_KINDS: dict[str, tuple[int, tuple[int, int, int]]] = {
    "pooled": (16, (2, 8, 2)),
    "multilevel": (8, (1, 2, 1)),
}
_FORMAT = "unisolve-dcdm-1"


# ----------------------------------------------------------------------------- network
class _ResidualBlock(nn.Module):
    """``h + relu(conv_b(relu(conv_a(h))))``, 3×3 (3×3×3) convolutions, gated by the mask."""

    def __init__(self, conv: Callable, channels: int) -> None:
        super().__init__()
        self.a = conv(channels, channels)
        self.b = conv(channels, channels)

    def forward(self, h: torch.Tensor, gate: torch.Tensor | float = 1.0) -> torch.Tensor:
        return h + F.relu(self.b(F.relu(self.a(h)) * gate)) * gate


class DCDMNet(nn.Module):
    """The DCDM convolutional network: residual in, ~A⁻¹r (up to a scalar) out.

    The input is ``(batch, 2, *grid)``: channel 0 the residual on the grid
    (zero in solid cells), channel 1 the fluid mask (1 fluid, 0 solid).

    Parameters
    ----------
    dim : {2, 3}
        Grid dimension.
    channels : int
        Feature channels (16 in the paper).
    blocks : tuple of 3 ints
        Residual blocks at full resolution before pooling, at the pooled level,
        and at full resolution after upsampling: (1, 3, 2) gives the paper's
        15 convolutions.
    geometry : {'gate', 'channel'}
        How the net learns where the solids are. 'gate' (default): bias-free
        convolutions whose features are multiplied by the mask after every
        layer (by the pooled mask > 0 on the coarse level), so the net is
        positively homogeneous, ``net(c r) = c net(r)`` for c > 0, and
        ``net(0) = 0``. 'channel': the mask is a second input channel and the
        convolutions have biases (the paper's layers plus a mask input).

    Examples
    --------
    >>> import torch
    >>> net = DCDMNet(dim=2)
    >>> net(torch.zeros(3, 2, 20, 17)).shape
    torch.Size([3, 1, 20, 17])
    >>> sum(isinstance(m, torch.nn.Conv2d) for m in net.modules())
    16
    >>> x = torch.randn(1, 2, 8, 8); x[:, 1] = 1.0        # all fluid
    >>> y = x.clone(); y[:, 0] *= 3.0
    >>> bool(torch.allclose(net(y), 3.0 * net(x), atol=1e-5))  # homogeneous ('gate')
    True
    """

    def __init__(self, dim: int = 2, channels: int = 16, blocks: Sequence[int] = (1, 3, 2),
                 geometry: str = "gate") -> None:
        super().__init__()
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim!r}")
        blocks = tuple(int(v) for v in blocks)
        if len(blocks) != 3 or min(blocks) < 0:
            raise ValueError(f"blocks must be three non-negative ints, got {blocks!r}")
        if geometry not in ("gate", "channel"):
            raise ValueError(f"geometry must be 'gate' or 'channel', got {geometry!r}")
        layer = nn.Conv2d if dim == 2 else nn.Conv3d
        bias = geometry == "channel"

        def conv(c_in: int, c_out: int, size: int = 3) -> nn.Module:
            return layer(c_in, c_out, size, padding=size // 2, bias=bias)

        self.dim, self.channels, self.blocks, self.geometry = dim, int(channels), blocks, geometry
        self.stem = conv(2 if geometry == "channel" else 1, channels)  # linear
        self.enter = conv(channels, channels)
        self.down = nn.ModuleList([_ResidualBlock(conv, channels) for _ in range(blocks[0])])
        self.before_pool = conv(channels, channels)
        self.coarse = nn.ModuleList([_ResidualBlock(conv, channels) for _ in range(blocks[1])])
        self.up = nn.ModuleList([_ResidualBlock(conv, channels) for _ in range(blocks[2])])
        self.head = conv(channels, 1, 1)  # pointwise linear layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = F.avg_pool2d if self.dim == 2 else F.avg_pool3d
        mask = x[:, 1:2]
        if self.geometry == "channel":
            fine, coarse, x = 1.0, 1.0, x
        else:
            fine = mask
            coarse = (pool(mask, 2, ceil_mode=True) > 0).to(x.dtype)
            x = x[:, :1]
        h = F.relu(self.enter(self.stem(x) * fine)) * fine
        for block in self.down:
            h = block(h, fine)
        skip = F.relu(self.before_pool(h)) * fine
        c = pool(skip, 2, ceil_mode=True)  # the one 2x average-pooled level
        for block in self.coarse:
            c = block(c, coarse)
        h = F.interpolate(c, size=skip.shape[2:], mode="nearest") * fine + skip  # up + skip
        for block in self.up:
            h = block(h, fine)
        return self.head(h)


# ----------------------------------------------------------------------------- loss
def scale_invariant_loss(f: torch.Tensor, b: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    """Equation (5): ``mean ‖b − α A f‖²`` with ``α = fᵀb / fᵀAf``, per row of the batch.

    ``f`` and ``b`` are ``(batch, n)``; ``A`` is an ``(n, n)`` torch matrix
    (dense or sparse CSR). Multiplying ``f`` by any nonzero scalar leaves the
    loss unchanged, so the network learns A⁻¹b only up to a scale.

    Examples
    --------
    >>> import torch
    >>> A = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
    >>> b = torch.tensor([[1.0, 1.0]])
    >>> float(scale_invariant_loss(torch.tensor([[0.5, 0.25]]), b, A))  # f = A⁻¹b
    0.0
    >>> l1 = scale_invariant_loss(torch.tensor([[1.0, 2.0]]), b, A)
    >>> bool(torch.isclose(l1, scale_invariant_loss(torch.tensor([[-3.0, -6.0]]), b, A)))
    True
    """
    Af = (A @ f.T).T
    alpha = (f * b).sum(dim=1, keepdim=True) / (f * Af).sum(dim=1, keepdim=True)
    return ((b - alpha * Af) ** 2).sum(dim=1).mean()


# ----------------------------------------------------------------------------- data
def lanczos_ritz(A: Any, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ritz values and vectors of symmetric A from ``m`` Lanczos steps started at ``A·randn``.

    Full reorthogonalisation keeps the basis orthonormal (no ghost copies).

    Returns
    -------
    values : (k,) ndarray, ascending
    vectors : (n, k) ndarray, orthonormal columns

    ``k = m`` unless the Krylov space becomes invariant sooner (A with
    repeated eigenvalues, or ``m`` near ``n``): then ``k < m`` and the Ritz
    pairs are exact eigenpairs.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> A = us.problems.pressure_poisson(10, seed=3, boundary="pinned").A
    >>> vals, vecs = lanczos_ritz(A, m=A.shape[0])  # a simple spectrum: all of it
    >>> bool(np.allclose(vals, np.linalg.eigvalsh(A.toarray())))
    True
    """
    n = A.shape[0]
    m = int(min(m, n))
    rng = np.random.default_rng(seed)
    v = A @ rng.standard_normal(n)
    V = np.zeros((n, m))
    alpha, beta = np.zeros(m), np.zeros(m)
    V[:, 0] = v / np.linalg.norm(v)
    k = m
    for j in range(m):
        w = A @ V[:, j]
        alpha[j] = V[:, j] @ w
        w -= V[:, : j + 1] @ (V[:, : j + 1].T @ w)  # full reorthogonalisation, twice
        w -= V[:, : j + 1] @ (V[:, : j + 1].T @ w)
        if j + 1 == m:
            break
        beta[j] = np.linalg.norm(w)
        if beta[j] <= 1e-12 * abs(alpha[j]) + 1e-300:  # invariant subspace found
            k = j + 1
            break
        V[:, j + 1] = w / beta[j]
    T = np.diag(alpha[:k]) + np.diag(beta[: k - 1], 1) + np.diag(beta[: k - 1], -1)
    values, Y = np.linalg.eigh(T)
    return values, V[:, :k] @ Y


def ritz_training_vectors(A: Any, samples: int, m: int = 600, seed: int = 0,
                          low_weight: float = 9.0, low_fraction: float = 0.55) -> np.ndarray:
    """Normalised right-hand sides for training: random Ritz combinations, low end weighted.

    ``b = Σ c_i v_i / ‖Σ c_i v_i‖`` with ``c_i ~ N(0, 1)`` times ``low_weight``
    for the lowest ``low_fraction·m`` Ritz values (Ritz values below 1e-8, a
    null space, are dropped).

    Returns
    -------
    (samples, n) float32 ndarray with unit rows.

    Examples
    --------
    >>> import numpy as np, unisolve as us
    >>> B = ritz_training_vectors(us.problems.poisson2d(10).A, samples=4, m=30)
    >>> B.shape, bool(np.allclose(np.linalg.norm(B, axis=1), 1, atol=1e-6))
    ((4, 100), True)
    """
    values, vectors = lanczos_ritz(A, m, seed)
    vectors = vectors[:, values >= 1e-8]  # drop a null space (singular Neumann A)
    rng = np.random.default_rng([seed, 7])
    c = rng.standard_normal((vectors.shape[1], samples))
    c[: int(low_fraction * vectors.shape[1])] *= low_weight  # the slow end of the spectrum
    B = (vectors @ c).T
    B /= np.linalg.norm(B, axis=1, keepdims=True)
    return B.astype(np.float32)


# ----------------------------------------------------------------------------- grid plumbing
def _grid_layout(problem: LinearProblem, dim: int | None = None) -> tuple[tuple, np.ndarray]:
    """(grid shape, flat indices of the unknowns) of a grid problem, checked."""
    shape = getattr(problem, "grid_shape", None)
    if shape is None:
        raise ValueError(
            "dcdm needs a grid problem (LinearProblem with grid_shape, e.g. "
            "unisolve.problems.pressure_poisson or poisson2d): its network convolves over "
            "the grid. For a general sparse matrix use method='cg' or 'pcg'."
        )
    if dim is not None and len(shape) != dim:
        raise ValueError(
            f"the model is {dim}D but the problem lives on a {len(shape)}D grid {shape}: "
            f"train a {len(shape)}D model, DCDM.train(problems, dim={len(shape)}, ...)"
        )
    mask = problem.mask
    idx = np.arange(int(np.prod(shape))) if mask is None else np.flatnonzero(np.ravel(mask))
    if idx.size != problem.n:
        raise ValueError(
            f"the problem has {problem.n} unknowns but its grid {shape} / mask hold "
            f"{idx.size} cells: grid_shape and mask must describe the unknowns"
        )
    return tuple(int(s) for s in shape), idx


def _torch_sparse(A: Any) -> torch.Tensor:
    """float32 torch COO copy of a scipy matrix (for A f inside the loss)."""
    A = sp.coo_array(A)
    index = torch.from_numpy(np.vstack([A.row, A.col]).astype(np.int64))
    return torch.sparse_coo_tensor(index, torch.from_numpy(A.data.astype(np.float32)),
                                   size=A.shape, check_invariants=True).coalesce()


class _GridOperator:
    """Scatter vectors of unknowns onto the grid, run the net, gather back."""

    def __init__(self, net: DCDMNet, shape: tuple, idx: np.ndarray, device: Any) -> None:
        self.net, self.shape, self.device = net, shape, device
        self.idx = torch.from_numpy(idx).to(device)
        self.size = int(np.prod(shape))
        mask = torch.zeros(self.size, device=device)
        mask[self.idx] = 1.0
        self.mask = mask.reshape(1, 1, *shape)
        self.scale = math.sqrt(len(idx))  # unit norm -> unit RMS
        self._workspace: dict = {}

    def __call__(self, vectors: torch.Tensor) -> torch.Tensor:
        """(batch, n) unit-norm vectors -> (batch, n) network outputs."""
        batch = vectors.shape[0]
        if not torch.is_grad_enabled():  # solving: one reused (residual, mask) workspace
            work = self._workspace.get((batch, vectors.dtype))
            if work is None:
                work = torch.zeros(batch, 2, self.size, device=self.device, dtype=vectors.dtype)
                work[:, 1] = self.mask.reshape(1, self.size)
                self._workspace[(batch, vectors.dtype)] = work
            work[:, 0, self.idx] = vectors * self.scale  # cells off idx stay 0
            out = self.net(work.reshape(batch, 2, *self.shape))
            return out.reshape(batch, self.size)[:, self.idx]
        grid = torch.zeros(batch, self.size, device=self.device, dtype=vectors.dtype)
        grid[:, self.idx] = vectors * self.scale
        x = torch.cat([grid.reshape(batch, 1, *self.shape),
                       self.mask.expand(batch, 1, *self.shape)], dim=1)
        return self.net(x).reshape(batch, self.size)[:, self.idx]


# ----------------------------------------------------------------------------- model
class DCDM:
    """A trained DCDM network and the solver that uses it (a solver object).

    Parameters
    ----------
    dim : {2, 3}
        Grid dimension of the problems it will solve.
    channels, blocks, geometry
        Network shape, see :class:`DCDMNet`. The default ``blocks=(2, 8, 2)``
        (the shipped model's) puts 8 residual blocks on the pooled level: 27
        convolutions with a receptive field of ±45 cells, at the cost of about
        15 full-resolution ones (a pooled convolution costs 1/4 in 2D).
        Default: 16 channels and (2, 8, 2) for ``kind="pooled"``, 8 channels and
        (1, 2, 1) for ``kind="multilevel"``.
    seed : int
        Seed of the initial weights.
    kind : {'pooled', 'multilevel'}
        The network: 'pooled' is :class:`DCDMNet` (one 2× pooled level, the
        shipped ``dcdm2d_64.pt``); 'multilevel' is
        :class:`unisolve.learned.dcdm_multilevel.MultilevelNet`, a learned V-cycle
        with ⌊log₂ n⌋ − 2 levels sharing one set of weights, whose receptive field
        grows with the grid.

    Examples
    --------
    >>> import unisolve as us
    >>> from unisolve.learned.dcdm import DCDM
    >>> p = us.problems.pressure_poisson(16, seed=0)
    >>> model = DCDM.train([p], epochs=3, samples=40, m=60, lr=1e-3, seed=0, progress=False)
    >>> model.log.train_loss[-1] < model.log.train_loss[0]
    True
    >>> r = us.solve(p, method=model, rtol=1e-6, maxiter=500)  # or method="dcdm", model=model
    >>> r.method, r.residuals[-1] < r.residuals[0]
    ('dcdm', True)
    """

    def __init__(self, dim: int = 2, channels: int | None = None,
                 blocks: Sequence[int] | None = None, geometry: str = "gate", seed: int = 0,
                 kind: str = "pooled") -> None:
        if kind not in NET_KINDS:
            raise ValueError(f"kind must be one of {sorted(NET_KINDS)}, got {kind!r}")
        default_channels, default_blocks = NET_KINDS[kind]
        net_class: Any = DCDMNet
        if kind == "multilevel":  # imported here, when first used
            from .dcdm_multilevel import MultilevelNet as net_class
        with torch.random.fork_rng():  # seeded weights, the caller's torch RNG untouched
            torch.manual_seed(int(seed))
            self.net = net_class(dim, default_channels if channels is None else channels,
                                 default_blocks if blocks is None else blocks, geometry)
        self.kind = kind
        self.meta: dict = {"seed": int(seed)}
        self.log = TrainingLog()

    @property
    def dim(self) -> int:
        return self.net.dim

    def __repr__(self) -> str:
        n_params = sum(p.numel() for p in self.net.parameters())
        trained = self.meta.get("training", {})
        kind = "" if self.kind == "pooled" else f"kind={self.kind!r}, "
        return (f"DCDM({kind}dim={self.dim}, channels={self.net.channels}, "
                f"blocks={self.net.blocks}, params={n_params}, "
                f"epochs={trained.get('epochs', 0)})")

    # -- training --------------------------------------------------------------------
    @classmethod
    def train(cls, problems: Sequence[LinearProblem], epochs: int = 10, seed: int = 0,
              dim: int | None = None, **options: Any) -> DCDM:
        """Build a model and train it on Ritz-vector data of ``problems`` (see :meth:`fit`).

        ``dim`` defaults to the problems' grid dimension; ``channels``, ``blocks``
        and ``geometry`` in ``options`` shape the network, the rest go to
        :meth:`fit`. Returns the model (see the class example).
        """
        problems = list(problems)
        if not problems:
            raise ValueError("DCDM.train needs at least one grid problem to train on")
        dim = len(_grid_layout(problems[0])[0]) if dim is None else dim
        net_opts = {k: options.pop(k) for k in ("channels", "blocks", "geometry", "kind")
                    if k in options}
        model = cls(dim=dim, seed=seed, **net_opts)
        return model.fit(problems, epochs=epochs, seed=seed, **options)

    def fit(self, problems: Sequence[LinearProblem], epochs: int = 10, seed: int = 0, *,
            samples: int = 1000, m: int = 600, batch_size: int = 10, lr: float = 1e-4,
            lr_decay: float = 1.0, validation: float = 0.1, time_limit: float | None = None,
            progress: bool = True, device: str = "cpu",
            rhs: Sequence[np.ndarray] | None = None) -> DCDM:
        """Train (or keep training) on the loss (5) with Adam.

        Parameters
        ----------
        problems : sequence of LinearProblem
            Grid problems (e.g. pressure_poisson layouts); each contributes
            ``samples`` Ritz-vector right-hand sides from ``m`` Lanczos steps.
        epochs : int
            Passes over the training vectors.
        seed : int
            Seeds the data, the shuffling and (via the constructor) the weights.
        batch_size, lr : int, float
            Adam batches (all vectors of a batch share one problem) and step size.
        lr_decay : float
            The step size is multiplied by this after every epoch.
        validation : float
            Fraction of the vectors held out; their loss is logged each epoch.
        time_limit : float, optional
            Stop after the first epoch that ends past this many seconds.
        progress : bool
            Show a progress bar (tqdm) with the running loss.
        device : str
            torch device that trains ("cpu", "cuda"); the Ritz vectors are
            computed on the CPU, and the network is back on the CPU afterwards.
        rhs : sequence of ndarray, optional
            Precomputed training right-hand sides, one ``(samples, n)`` array
            per problem (e.g. :func:`ritz_training_vectors`, or residuals from
            your own solver runs); each row is normalised. Default: Ritz
            vectors from ``m`` Lanczos steps, seeded by ``seed``.

        Returns
        -------
        DCDM
            ``self``; ``meta['training']`` records epochs, losses and seconds.

        Examples
        --------
        >>> import unisolve as us
        >>> p = us.problems.pressure_poisson(8, seed=0)
        >>> model = DCDM(blocks=(0, 1, 0)).fit([p], epochs=2, samples=20, m=20, progress=False)
        >>> model.fit([p], epochs=1, samples=20, m=20, progress=False).log.epochs  # continues
        3
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {epochs!r}")
        if not 0 <= validation < 1:
            raise ValueError(f"validation must be a fraction in [0, 1), got {validation!r}")
        problems = list(problems)
        if rhs is not None:
            rhs = [np.asarray(B, dtype=np.float32) for B in rhs]
            if len(rhs) != len(problems):
                raise ValueError(f"rhs holds {len(rhs)} arrays for {len(problems)} problems: "
                                 "give one (samples, n) array per problem")
            same_samples = len({len(B) for B in rhs}) == 1
            for p, B in zip(problems, rhs, strict=True):
                if B.ndim != 2 or B.shape[1] != p.n or not same_samples:
                    raise ValueError(f"rhs arrays must all be (samples, n) with the same samples "
                                     f"and n = each problem's unknowns; got {B.shape} for n={p.n}")
            samples = rhs[0].shape[0]
        n_val = round(validation * samples)
        if samples - n_val < 1:
            raise ValueError(
                f"samples={samples} with validation={validation} leaves no training vector: "
                "raise samples or lower validation"
            )
        device = torch_device(device)  # a clear error for 'cuda' on a CPU-only torch
        rng = np.random.default_rng(seed)  # shuffling; the data take their own seeds
        data = []
        for i, p in enumerate(progress_bar(problems, "Ritz vectors", disable=not progress)):
            shape, idx = _grid_layout(p, self.dim)
            if rhs is None:
                B = ritz_training_vectors(p.A, samples, m, seed=seed + 1000 * i)
            else:
                B = rhs[i] / np.linalg.norm(rhs[i], axis=1, keepdims=True)
            B = torch.from_numpy(np.ascontiguousarray(B, dtype=np.float32))
            data.append((_GridOperator(self.net, shape, idx, device),
                         _torch_sparse(p.A).to(device), B.to(device)))
        batches = [(k, j) for k in range(len(data))
                   for j in range(0, samples - n_val, batch_size)]
        self.net.to(device)
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        schedule = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=lr_decay)
        log = self.log
        self.net.train()
        for _ in range(epochs):
            order = rng.permutation(len(batches))
            total = torch.zeros((), dtype=torch.float64, device=device)  # no per-step sync
            bar = progress_bar(order, f"DCDM epoch {log.epochs + 1}", disable=not progress)
            for step, b in enumerate(bar, 1):
                k, j = batches[b]
                op, A, B = data[k]
                rhs = B[j: min(j + batch_size, samples - n_val)]
                loss = scale_invariant_loss(op(rhs), rhs, A)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.detach()
                if progress and step % 50 == 0:
                    bar.set_postfix(loss=f"{total.item() / step:.4f}", refresh=False)
            val = None
            if n_val:
                with torch.no_grad():
                    val = float(np.mean([scale_invariant_loss(op(B[-n_val:]), B[-n_val:], A).item()
                                         for op, A, B in data]))
            log.add(total.item() / len(batches), val)
            schedule.step()
            if time_limit is not None and log.seconds > time_limit:
                break
        self.net.eval().to("cpu")
        self.meta["training"] = {**log.as_dict(), "problems": [p.name for p in problems],
                                 "samples": samples, "m": m, "batch_size": batch_size,
                                 "lr": lr, "lr_decay": lr_decay, "seed": seed,
                                 "device": str(device),
                                 "torch": str(torch.__version__)}
        return self

    # -- persistence -----------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the weights, the network shape and the training record to ``path``.

        Examples
        --------
        >>> import tempfile, os
        >>> m = DCDM(dim=2)
        >>> f = m.save(os.path.join(tempfile.mkdtemp(), "m.pt"))
        >>> DCDM.load(f).dim
        2
        """
        path = Path(path)
        torch.save({
            "format": _FORMAT,
            "config": {"dim": self.dim, "channels": self.net.channels,
                       "blocks": list(self.net.blocks), "geometry": self.net.geometry,
                       "kind": self.kind},
            "state_dict": self.net.state_dict(),
            "meta": self.meta,
        }, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> DCDM:
        """Read a model written by :meth:`save` (weights only: no code is unpickled)."""
        blob = read_model_file(path, _FORMAT, "DCDM")
        model = cls(**blob["config"])
        model.net.load_state_dict(blob["state_dict"])
        model.net.eval()
        model.meta = dict(blob.get("meta", {}))
        return model

    # -- solving ---------------------------------------------------------------------
    def solve(self, problem: LinearProblem, **options: Any) -> Result:
        """Solve a grid problem with this model: ``unisolve.solve(p, method=model)``."""
        get_method("dcdm").check_options(options)  # unknown options -> TypeError listing them
        if "model" in options:
            raise TypeError("model.solve() uses this model: do not pass model=")
        return dcdm(problem, model=self, **options)

    def preconditioner(self, grid_shape: Sequence[int], mask: Any = None,
                       device: str = "cpu") -> Callable[[np.ndarray], np.ndarray]:
        """The network as a preconditioner: ``z = ‖r‖ · net(r/‖r‖) ≈ A⁻¹r`` up to scale.

        It is nonlinear in r, so use it inside a flexible Krylov method (PETSc's
        ``fcg`` or ``fgmres``); FCG that keeps two previous directions is the
        DCDM iteration of :func:`dcdm`.

        Parameters
        ----------
        grid_shape : sequence of int
            Grid the unknowns live on (C order).
        mask : array of bool, optional
            True where an unknown lives (cells removed elsewhere).
        device : str
            torch device that runs the network.

        Examples
        --------
        >>> import numpy as np, unisolve as us
        >>> p = us.problems.poisson2d(16)
        >>> M = pretrained().preconditioner(p.grid_shape)
        >>> z = M(p.b)
        >>> z.shape, bool(z @ (p.A @ z) > 0)
        ((256,), True)
        """
        device = torch_device(device)
        cells = int(np.prod(grid_shape))
        n = cells if mask is None else int(np.count_nonzero(mask))
        layout = SimpleNamespace(grid_shape=tuple(grid_shape), mask=mask, n=n)
        shape, idx = _grid_layout(layout, self.dim)
        op = _GridOperator(self.net.to(device), shape, idx, device)

        def apply(r: np.ndarray) -> np.ndarray:
            rnorm = float(np.linalg.norm(r))
            if rnorm == 0.0:
                return np.zeros_like(r, dtype=np.float64)
            with torch.inference_mode():
                inp = torch.from_numpy((r / rnorm).astype(np.float32)).to(device)[None]
                return rnorm * op(inp)[0].double().cpu().numpy()  # z = ‖r‖ net(r/‖r‖)

        apply.name = "dcdm"
        return apply


_PRETRAINED: dict[int, DCDM] = {}


def pretrained(dim: int = 2) -> DCDM:
    """A model shipped inside the package: 2D (trained on 64² layouts) or 3D (on 32³).

    Loaded once per dimension and cached.

    Examples
    --------
    >>> model = pretrained()
    >>> model.dim, model.meta["training"]["epochs"] > 0
    (2, True)
    >>> pretrained(3).dim
    3
    """
    if dim not in PRETRAINED_FILES:
        raise ValueError(
            f"unisolve ships DCDM models for dim 2 and 3, not dim={dim!r}: train one with "
            f"DCDM.train(problems, dim=...) and pass model=..."
        )
    if dim not in _PRETRAINED:
        ref = resources.files("unisolve.learned").joinpath("weights", PRETRAINED_FILES[dim])
        with resources.as_file(ref) as path:
            _PRETRAINED[dim] = DCDM.load(path)
    return _PRETRAINED[dim]


# ----------------------------------------------------------------------------- solver
def _check_model(model: Any, problem: LinearProblem) -> DCDM:
    if model is None:  # the shipped default of the problem's grid dimension
        shape = getattr(problem, "grid_shape", None)
        dim = 3 if shape is not None and len(shape) == 3 else 2
        from .dcdm_multilevel import MIN_CELLS, pretrained_multilevel

        if shape is not None and len(shape) == dim and min(shape) >= MIN_CELLS:
            # the multilevel model: fewer wall seconds than pretrained(dim) at every size
            # measured (benchmarks/dcdm_safeguard.py, dcdm_scaling.py: in 3D its application
            # is 0.0013 s against 0.68 s at 32³); below its 8-cell minimum, the pooled one
            return pretrained_multilevel(dim)
        return pretrained(dim)
    if isinstance(model, (str, Path)):
        return DCDM.load(model)
    if not isinstance(model, DCDM):
        raise TypeError(
            f"model must be a DCDM (unisolve.learned.dcdm.DCDM.load(path) or DCDM.train(...)) "
            f"or a path to a saved one, got {type(model).__name__}"
        )
    return model


def _a_orthogonal(A: Any, q: np.ndarray, previous: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """(2): q ← q − Σ (qᵀAp_j / p_jᵀAp_j) p_j (modified Gram–Schmidt); returns q, Aq, qᵀAq."""
    for p_j, Ap_j, pAp_j in previous:
        q -= (q @ Ap_j) / pAp_j * p_j
    Aq = A @ q
    return q, Aq, float(q @ Aq)


def _classical(A: Any, name: str) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    """The safeguard's preconditioner ``z = M⁻¹ r``: IC(0), or Jacobi where IC(0) breaks down."""
    from ..solvers.preconditioners import make_preconditioner

    try:
        return make_preconditioner(name, A), name
    except ValueError:  # IC(0) breakdown (A not an M-matrix): the diagonal always exists
        if name == "jacobi":
            raise
        return make_preconditioner("jacobi", A), "jacobi"


def _check_safeguard(safeguard: Any, patience: Any) -> str | None:
    if safeguard is True:
        safeguard = "jacobi"
    if safeguard is False or safeguard is None:
        safeguard = None
    elif safeguard not in ("ic0", "jacobi"):
        raise ValueError(f"safeguard must be True (Jacobi), 'jacobi', 'ic0', or False / None "
                         f"(the paper's plain method), got {safeguard!r}")
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise ValueError(f"patience must be an int >= 1 (iterations), got {patience!r}")
    return safeguard


@method("dcdm", kinds=("linear",), matrix="SPD (grid Poisson)")
def dcdm(
    problem: LinearProblem,
    *,
    model: Any = None,
    k: int = 2,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int | None = None,
    x0: Any = None,
    callback: Callable[[IterationState], Any] | None = None,
    seed: int | None = None,
    device: str = "cpu",
    keep_directions: bool = False,
    safeguard: bool | str = True,
    patience: int = 3,
) -> Result:
    """Deep conjugate directions (Kaneda et al. 2023): a CNN proposes A⁻¹r.

    With ``safeguard=False``: equations (1)-(4) of the module docstring, the
    paper's method. Stops when ``‖b − A x‖ ≤ max(rtol‖b‖, atol)`` with the true
    residual, which is recomputed at every iteration.

    The safeguard (default) makes it never worse than preconditioned CG: a
    PCG iteration (Jacobi, ``M = diag(A)``, by default; IC(0) with
    ``safeguard='ic0'``, Jacobi where IC(0) breaks down) runs beside the
    network's, one step each per iteration, from the same x0:

        z = M⁻¹ r_s,  p ← z − (zᵀAp / pᵀAp) p,  x_s ← x_s + (pᵀr_s / pᵀAp) p,
        r_s = b − A x_s                                                   (S1)

    and the two iterates are compared in the energy norm, which both methods
    lower monotonically. With ``φ(x) = ½xᵀAx − bᵀx = ½‖x − x*‖²_A + const``
    and ``A(x − x_s) = r_s − r``,

        φ(x) − φ(x_s) = −½ (x − x_s)ᵀ(r + r_s)                            (S2)

    (no matvec, no cancellation of large terms). The network's iterate is
    the answer while it is as close to x* as PCG's; the network is dropped for
    the rest of the solve, and the iteration continues as the PCG, when (S2)
    has been positive for ``patience`` iterations in a row, when the PCG
    iterate meets the stopping test first, or when the network's direction
    breaks down (an output that is not finite, or ``q̃ᵀAq̃ ≤ 0`` after (2)):
    a fallback, not a stop. So the solve returns after at most as many
    iterations as PCG with M needs (exactly as many once the network is
    dropped), and converges whenever that PCG does. Measured alternatives
    that did not hold this: stepping over ``span{z̃, q̃}`` every iteration
    slowed the trained family (64² layouts: 54-83 iterations against 41-49
    for the network alone), and switching to a restarted PCG when the
    network's line-search gain ``(q̃ᵀr)²/q̃ᵀAq̃`` fell below 5 % of the PCG
    direction's kept a network that gained as much per step as IC(0) but
    converged slower than CG (3D model on a 12³ Dirichlet box: 47 iterations,
    CG 37).

    Why Jacobi by default: the guarantee is "at most as many iterations as the
    side PCG", and the issue's target is CG's count; Jacobi-PCG needs at most
    CG's iterations on every grid Poisson problem measured (exactly CG's where
    ``diag(A)`` is constant, as in a Dirichlet box: PCG with ``M = cI`` is CG;
    fewer with walls or varying coefficients, 2.4x fewer for e^N(0, 1.5²)
    coefficients at 64²). While the network is kept, the safeguard costs per
    iteration

        2 matvecs + M⁻¹ r_s + 5 dots/axpys of length n                    (S3)

    which with ``M = diag(A)`` is about one CG iteration, so over a solve it
    adds about (DCDM's iterations / CG's) x CG's time plus the vector
    operations. IC(0)'s two triangular solves cost about 6 matvecs on this
    CPU, and its factorisation is paid at every solve. Measured in one run
    (benchmarks/dcdm_safeguard.py, multilevel model, unseen 256² layouts):
    0.81-1.55x CG's wall time with Jacobi, 0.98-1.73x with IC(0), 0.62-0.96x
    unguarded. IC(0) drops a poor network in favour of a method with 3-4x
    fewer iterations than CG, so ``safeguard='ic0'`` pays where the network
    is expected to fail (64² maze: the network, 4 % ahead of Jacobi-PCG, is
    kept for 1297 iterations, 46x CG's time; with IC(0) 404 iterations, 3x). Running
    the side PCG only every few iterations would break the lockstep that the
    bound rests on (a catch-up PCG may have met the stopping test at an
    earlier iteration than the network's) for a saving of at most (S3).
    After the drop an iteration costs what one of PCG does.

    Parameters
    ----------
    problem : LinearProblem
        SPD system, or a consistent positive semi-definite one (the default
        ``pressure_poisson``), on a grid (``grid_shape``, and ``mask`` when
        cells are removed), numpy / scipy data.
    model : DCDM or path, optional
        The network; default a shipped model of the grid's dimension: in 2D
        the multilevel one (:func:`~unisolve.learned.dcdm_multilevel.
        pretrained_multilevel`; :func:`pretrained` below 8 cells a side), in 3D
        :func:`pretrained` (trained on 32³); ``model=pretrained()`` is the
        pooled 2D model (fewer iterations at 64², each 13-28x dearer). Any model
        whose network maps a residual grid to a direction.
    k : int
        Number of previous directions each new one is A-orthogonalised against (2).
    rtol, atol, maxiter, x0, callback, seed
        As for every linear method; ``maxiter`` defaults to ``min(n, 1000)``
        (a network application costs dozens of matvecs); ``seed`` is
        unused (the solve is deterministic). ``callback`` and the residual
        history see the returned sequence: the network's iterates, then
        PCG's from the drop on.
    device : str
        torch device that runs the network ("cpu", "cuda").
    keep_directions : bool
        Store the search directions of the returned iterate in
        ``info['directions']`` (the network's, or PCG's from x0 when PCG's
        iterate is returned; memory: n per iteration).
    safeguard : bool or {'jacobi', 'ic0'}
        The PCG run beside the network: True (default) is 'jacobi'; False or
        None is the paper's plain method, equations (1)-(4).
    patience : int
        Iterations in a row with PCG's iterate closer before the network is
        dropped (3).

    Returns
    -------
    Result
        ``info['network_seconds']``: time spent in the network;
        ``info['network_directions']``: network directions in the returned
        iterate (0 when PCG's is returned); ``info['network_applications']``:
        network calls made; ``info['fallback']``: why and when the network
        was dropped (empty if never); ``info['safeguard']``: the PCG's
        preconditioner (None: plain DCDM).

    Raises
    ------
    ValueError
        Not a grid problem, model/grid dimension mismatch, bad ``k``,
        ``safeguard`` or ``patience``.
    TypeError
        Non-numpy data, or ``model`` not a DCDM.

    Examples
    --------
    >>> import unisolve as us
    >>> p = us.problems.pressure_poisson(64, seed=3)
    >>> r = us.solve(p, method="dcdm", rtol=1e-5)             # the shipped model
    >>> r.converged, r.iterations < us.solve(p, method="cg", rtol=1e-5).iterations / 5
    (True, True)
    >>> r.info["network_directions"] == r.iterations, r.info["fallback"]
    (True, [])
    >>> box = us.problems.poisson2d(48)                       # outside its family
    >>> r = us.solve(box, method="dcdm", rtol=1e-6)
    >>> r.iterations <= us.solve(box, method="cg", rtol=1e-6).iterations  # Jacobi-PCG's bound
    True
    """
    model = _check_model(model, problem)
    device = torch_device(device)  # 'cuda' on a CPU-only torch: ValueError naming the fix
    shape, idx = _grid_layout(problem, model.dim)
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k (directions to A-orthogonalise against) must be an int >= 0, "
                         f"got {k!r}")
    safeguard = _check_safeguard(safeguard, patience)
    if problem.spd is False:
        raise ValueError("dcdm needs a symmetric positive definite A (problem.spd is False)")
    if backend.library_of(problem.b) != "numpy" or backend.library_of(problem.A) != "numpy":
        raise TypeError("dcdm runs on numpy / scipy data: move CuPy or torch inputs to the host "
                        "first (the network itself can run on a GPU with device='cuda')")
    A = problem.A
    b = np.asarray(problem.b, dtype=np.float64)
    x = problem.initial_guess(x0).astype(np.float64)
    maxiter = min(problem.n, 1000) if maxiter is None else maxiter
    net = model.net.to(device)
    op = _GridOperator(net, shape, idx, device)
    monitor = IterationMonitor(float(np.linalg.norm(b)), rtol, atol, maxiter, callback)
    r = b - A @ x
    rnorm = float(np.linalg.norm(r))
    status = monitor.start(x, rnorm)
    previous: deque = deque(maxlen=max(k, 1))
    directions: list[np.ndarray] = []
    info: dict = {"k": k, "model": repr(model), "safeguard": safeguard}
    net_seconds, applications, kept = 0.0, 0, 0
    use_net, events = True, []
    if safeguard is not None:  # (S1): the PCG beside the network, from the same x0
        M, info["safeguard"] = _classical(A, safeguard)
        x_s, r_s, s_norm, p_s = x.copy(), r.copy(), rnorm, None
        s_directions: list[np.ndarray] = []
        pcg_alive, behind = True, 0

    def drop(reason: str) -> None:
        nonlocal use_net
        use_net = False
        events.append(f"iteration {monitor.iterations + 1}: {reason}: continuing as "
                      f"{info['safeguard']}-PCG")

    while status is None:
        if safeguard is not None and pcg_alive:  # one PCG step, (S1); its cost (S3)
            z, Az, zAz = _a_orthogonal(A, np.asarray(M(r_s), dtype=np.float64),
                                       () if p_s is None else (p_s,))
            if zAz > 0:
                alpha_s = float(z @ r_s) / zAz
                x_s += alpha_s * z
                r_s = b - A @ x_s  # the true residual, as in (4)
                s_norm = float(np.linalg.norm(r_s))
                p_s = (z, Az, zAz)
                if keep_directions:
                    s_directions.append(z)
            else:  # z̃ᵀAz̃ ≤ 0: A is not SPD on r_s; the network goes on alone
                pcg_alive = False
                if not use_net:
                    status = Status.NONFINITE if math.isnan(zAz) else Status.BREAKDOWN
                    info["breakdown"] = f"PCG's pᵀAp = {zAz:.3g}: A is not positive definite"
                    break
        if use_net:
            t0 = time.perf_counter()
            with torch.inference_mode():
                inp = torch.from_numpy((r / rnorm).astype(np.float32)).to(device)[None]
                q = op(inp)[0].double().cpu().numpy()  # (1) q = net(r/‖r‖)
            net_seconds += time.perf_counter() - t0
            applications += 1
            q, Aq, qAq = _a_orthogonal(A, q, previous if k else ())  # (2)
            if not qAq > 0:  # not finite (NaN fails the test too), or vanished after (2)
                if safeguard is None or not pcg_alive:
                    status = Status.NONFINITE if math.isnan(qAq) else Status.BREAKDOWN
                    info["breakdown"] = (f"qᵀAq = {qAq:.3g}: the network's direction vanished "
                                         "after A-orthogonalisation (or A is not positive "
                                         "(semi-)definite)")
                    break
                drop(f"the network's direction broke down (q̃ᵀAq̃ = {qAq:.3g})")
            else:
                alpha = float(q @ r) / qAq  # (3) exact line search
                x += alpha * q
                r = b - A @ x  # (4) the true residual
                rnorm = float(np.linalg.norm(r))
                previous.append((q, Aq, qAq))
                kept += 1
                if keep_directions:
                    directions.append(q)
                if safeguard is not None and pcg_alive:
                    # (S2): φ(x) − φ(x_s) = −½ (x − x_s)ᵀ(r + r_s) > 0: PCG's iterate is closer
                    behind = behind + 1 if float((x - x_s) @ (r + r_s)) < 0 else 0
                    if s_norm <= monitor.threshold < rnorm:
                        drop("PCG's iterate met the stopping test first")
                    elif behind >= patience:
                        drop(f"PCG's iterate was closer to x* in the energy norm for "
                             f"{patience} iterations in a row")
        status = monitor.step(x, rnorm) if use_net else monitor.step(x_s, s_norm)
    if safeguard is not None and not use_net:  # the answer is the PCG's
        x, directions = x_s, s_directions
    info.update(network_seconds=net_seconds, network_applications=applications,
                network_directions=kept if use_net else 0, fallback=events)
    if keep_directions:
        info["directions"] = directions
    return monitor.result(x, status, method="dcdm", **info)

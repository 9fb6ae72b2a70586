"""How many threads unisolve's parallel numba kernels may use, and when they use them.

The parallel kernels (today the matrix-free red-black SOR sweeps of
:mod:`unisolve.solvers.kernels.red_black`) split a grid into one band per
thread. Their thread count is, in this order of precedence:

1. :func:`set_num_threads` / the :func:`num_threads` context manager;
2. ``NUMBA_NUM_THREADS``, else ``OMP_NUM_THREADS``, from the environment;
3. one thread under MPI (each rank is one process; ranks are detected from the
   launchers' environment: ``OMPI_COMM_WORLD_SIZE``, ``PMI_SIZE``, ``PMIX_RANK``,
   ``MPI_LOCALNRANKS``, ``MV2_COMM_WORLD_SIZE``, ... without importing mpi4py);
4. the CPUs this process may run on (``os.sched_getaffinity``).

It never exceeds numba's pool, which numba sizes once, at its first parallel
launch, from ``NUMBA_NUM_THREADS`` or the CPU count.

Threads only pay when the other cores are free: one thread on a core that
another process also wants holds every band barrier for a scheduler time slice.
:class:`SerialOrParallel` therefore times both versions of a kernel while it
runs and keeps the faster one, probing the other one now and then (at
exponentially growing intervals while it keeps losing). The two versions give
bitwise-identical results, so the choice changes only the time.

This module imports neither numba nor numpy (``import unisolve`` stays light).

Examples
--------
>>> import unisolve as us
>>> with us.num_threads(1):
...     us.get_num_threads()
1
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "MPI_ENV_VARS",
    "SerialOrParallel",
    "default_num_threads",
    "get_num_threads",
    "max_threads",
    "mpi_detected",
    "num_threads",
    "passive_openmp_wait",
    "set_num_threads",
]

#: Environment variables that MPI launchers set in every rank (Open MPI, MPICH /
#: Intel MPI (Hydra, PMI), PMIx, MVAPICH2, Slurm's srun with several tasks).
MPI_ENV_VARS = (
    "OMPI_COMM_WORLD_SIZE",
    "OMPI_COMM_WORLD_RANK",
    "PMI_SIZE",
    "PMI_RANK",
    "PMIX_RANK",
    "MPI_LOCALNRANKS",
    "MPI_LOCALRANKID",
    "MV2_COMM_WORLD_SIZE",
    "HYDRA_CONTROL_FD",
)

_requested: int | None = None  # set_num_threads(); None: the default


def _env_int(name: str) -> int | None:
    """A positive integer from the environment (the first one of a list such as '4,2')."""
    value = os.environ.get(name, "").split(",")[0].strip()
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 1 else None


def mpi_detected() -> bool:
    """True when this process looks like one rank of an MPI job (launcher variables).

    Slurm counts when it runs several tasks (``SLURM_NTASKS`` > 1 with a
    ``SLURM_PROCID``); mpi4py is not imported.

    Examples
    --------
    >>> isinstance(mpi_detected(), bool)
    True
    """
    if any(name in os.environ for name in MPI_ENV_VARS):
        return True
    return "SLURM_PROCID" in os.environ and (_env_int("SLURM_NTASKS") or 1) > 1


def max_threads() -> int:
    """Size of numba's thread pool: ``NUMBA_NUM_THREADS``, else the CPU count.

    Computed the way numba does, without importing it.

    Examples
    --------
    >>> max_threads() >= 1
    True
    """
    return _env_int("NUMBA_NUM_THREADS") or os.cpu_count() or 1


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def default_num_threads() -> int:
    """Thread count when :func:`set_num_threads` was not called (see the module docstring).

    Examples
    --------
    >>> 1 <= default_num_threads() <= max_threads()
    True
    """
    n = _env_int("NUMBA_NUM_THREADS") or _env_int("OMP_NUM_THREADS")
    if n is None:
        n = 1 if mpi_detected() else _available_cpus()
    return max(1, min(n, max_threads()))


def get_num_threads() -> int:
    """Threads the parallel kernels use now: the last :func:`set_num_threads`, else the default.

    Examples
    --------
    >>> get_num_threads() >= 1
    True
    """
    return default_num_threads() if _requested is None else _requested


def _check_count(n: object) -> int:
    if isinstance(n, bool):
        raise TypeError(f"the thread count must be an int >= 1, got {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(
            f"the thread count must be an int >= 1, got {type(n).__name__} {n!r}: "
            "pass e.g. set_num_threads(1)"
        ) from None
    if n < 1:
        raise ValueError(f"the thread count must be >= 1, got {n}: use 1 for serial kernels")
    limit = max_threads()
    if n > limit:
        raise ValueError(
            f"numba's thread pool has {limit} threads and {n} were asked: set the "
            f"environment variable NUMBA_NUM_THREADS={n} before the first parallel "
            f"kernel runs (best: before starting Python), or ask for at most {limit}"
        )
    return n


def set_num_threads(n: int | None) -> int:
    """Set the threads of unisolve's parallel kernels; returns the previous count.

    Parameters
    ----------
    n : int or None
        ``1`` runs every kernel serially; ``None`` goes back to the default
        (environment, MPI, CPUs). At most :func:`max_threads`.

    Returns
    -------
    int
        The count in force before the call.

    Raises
    ------
    TypeError
        ``n`` is not an integer.
    ValueError
        ``n < 1``, or more than numba's pool holds (the message names
        ``NUMBA_NUM_THREADS``).

    Examples
    --------
    >>> previous = set_num_threads(1)
    >>> get_num_threads()
    1
    >>> _ = set_num_threads(None)      # back to the default
    """
    global _requested
    previous = get_num_threads()
    _requested = None if n is None else _check_count(n)
    return previous


@contextmanager
def num_threads(n: int | None) -> Iterator[int]:
    """Context manager: :func:`set_num_threads` inside the block, the old setting after it.

    Examples
    --------
    >>> with num_threads(1) as n:
    ...     n, get_num_threads()
    (1, 1)
    """
    global _requested
    saved = _requested
    set_num_threads(n)
    try:
        yield get_num_threads()
    finally:
        _requested = saved


@contextmanager
def passive_openmp_wait() -> Iterator[None]:
    """``OMP_WAIT_POLICY=PASSIVE`` in the environment for the duration of the block.

    Wrap the first parallel numba launch in it: numba's OpenMP threading layer
    loads libgomp then, and libgomp reads the variable once, at load. By default
    its idle threads spin (up to 300 000 iterations) between parallel regions;
    beside another busy process the spinning threads use up their share of the
    core and a region waits a scheduler time slice for them (measured on
    2 cores: 3-60× slower than serial; passive: about 1×). Does nothing when the
    user set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``; the variable is removed
    again afterwards, so child processes do not inherit it.

    Examples
    --------
    >>> with passive_openmp_wait():
    ...     pass
    """
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        yield
        return
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    try:
        yield
    finally:
        os.environ.pop("OMP_WAIT_POLICY", None)


class SerialOrParallel:
    """Chooses, call by call, a kernel's serial twin or its parallel version by measured time.

    Both versions must give identical results. ``pick(threads)`` returns 1
    (serial) or ``threads``; the caller runs that version and hands its time
    to ``record``. Each version's cost (seconds per unit of work) is an
    exponential moving average (weight ``smoothing`` on the newest time), so a
    core that becomes busy shows up within a call or two. The slower version
    is probed again after ``probe_every`` calls; every probe it loses doubles
    that interval (up to ``max_probe_every``), a probe it wins makes it the
    choice and resets the interval. A probe also waits until the calls since
    the last one took ``1 / probe_share`` times as long as that probe, so
    probes of a version that has become very slow cost at most about
    ``probe_share`` of the run time.

    Parameters
    ----------
    probe_every, max_probe_every : int
        First and largest number of calls between probes of the slower version.
    smoothing : float
        Weight of the newest time in the moving average, in (0, 1].
    probe_share : float
        Largest share of the run time spent on probes, in (0, 1].

    Examples
    --------
    >>> chooser = SerialOrParallel()
    >>> chooser.pick(2)                 # nothing measured yet: try the parallel one
    2
    >>> chooser.record(2, 30.0)         # a busy core: it took 30 time units
    >>> chooser.pick(2)                 # now the serial one
    1
    >>> chooser.record(1, 10.0)
    >>> chooser.pick(2)                 # the serial one is faster: keep it
    1
    """

    def __init__(self, probe_every: int = 8, max_probe_every: int = 1024,
                 smoothing: float = 0.5, probe_share: float = 0.05) -> None:
        if not (isinstance(probe_every, int) and isinstance(max_probe_every, int)
                and 1 <= probe_every <= max_probe_every):
            raise ValueError("need integers 1 <= probe_every <= max_probe_every")
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"smoothing must be in (0, 1], got {smoothing!r}")
        if not 0.0 < probe_share <= 1.0:
            raise ValueError(f"probe_share must be in (0, 1], got {probe_share!r}")
        self.probe_every, self.max_probe_every = probe_every, max_probe_every
        self.smoothing, self.probe_share = smoothing, probe_share
        self.cost: dict[int, float] = {}   # threads -> moving average of seconds per unit
        self.interval = self.countdown = probe_every
        self.probing = False
        self.threads = 1
        self.probe_seconds = 0.0           # what the last probe took
        self.since_probe = 0.0             # seconds run since then

    def best(self, threads: int) -> int:
        """The version with the lower measured cost: 1 or ``threads`` (1 on a tie)."""
        serial, parallel = self.cost.get(1), self.cost.get(threads)
        if parallel is None:
            return 1
        if serial is None:
            return threads
        return threads if parallel < serial else 1

    def pick(self, threads: int) -> int:
        """The version to run next: 1 or ``threads`` (an unmeasured one first, probes on time)."""
        self.threads = threads
        if threads <= 1:
            return 1
        for arm in (threads, 1):  # measure each version once before choosing
            if arm not in self.cost:
                self.probing = True
                return arm
        best = self.best(threads)
        self.countdown -= 1
        if self.countdown <= 0 and self.since_probe * self.probe_share >= self.probe_seconds:
            self.probing = True
            return threads if best == 1 else 1
        self.probing = False
        return best

    def record(self, threads: int, seconds: float, units: float = 1.0) -> None:
        """Fold one run of ``units`` of work in ``seconds`` into that version's average."""
        old = self.cost.get(threads)
        t, a = seconds / units, self.smoothing
        self.cost[threads] = t if old is None else a * t + (1.0 - a) * old  # c ← a t + (1 − a) c
        if not self.probing:
            self.since_probe += seconds
            return
        self.probing = False
        # a probe that lost doubles the wait before the next one; one that won resets it
        won = self.best(self.threads) == threads
        self.interval = (self.probe_every if won
                         else min(2 * self.interval, self.max_probe_every))
        self.countdown = self.interval
        self.probe_seconds, self.since_probe = seconds, 0.0

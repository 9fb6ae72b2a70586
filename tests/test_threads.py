"""unisolve.threads: thread-count settings, environment and MPI defaults, the serial/parallel
chooser."""

import subprocess
import sys

import numpy as np
import pytest

import unisolve as us
from unisolve import threads
from unisolve.threads import SerialOrParallel

ENV = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "SLURM_PROCID", "SLURM_NTASKS",
       *threads.MPI_ENV_VARS)


@pytest.fixture
def clean_env(monkeypatch):
    """No thread or MPI variables, 4 CPUs, no set_num_threads in force."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads, "_available_cpus", lambda: 4)
    monkeypatch.setattr(threads, "_requested", None)
    return monkeypatch


def test_default_is_the_available_cpus(clean_env):
    assert us.get_num_threads() == threads.max_threads() == 4


@pytest.mark.parametrize(("env", "expected"), [
    ({"NUMBA_NUM_THREADS": "3"}, 3),
    ({"OMP_NUM_THREADS": "2"}, 2),
    ({"OMP_NUM_THREADS": "2,1"}, 2),                # nested list: the outer level
    ({"OMP_NUM_THREADS": "16"}, 4),                 # never past numba's pool
    ({"NUMBA_NUM_THREADS": "3", "OMP_NUM_THREADS": "1"}, 3),
    ({"OMP_NUM_THREADS": "many"}, 4),               # unreadable: ignored
])
def test_environment_variables_are_honoured(clean_env, env, expected):
    for name, value in env.items():
        clean_env.setenv(name, value)
    assert us.get_num_threads() == expected


@pytest.mark.parametrize("env", [
    {"OMPI_COMM_WORLD_SIZE": "4"},
    {"PMI_RANK": "0", "PMI_SIZE": "2"},
    {"PMIX_RANK": "1"},
    {"MPI_LOCALNRANKS": "2"},
    {"SLURM_PROCID": "0", "SLURM_NTASKS": "8"},
])
def test_mpi_ranks_default_to_one_thread(clean_env, env):
    for name, value in env.items():
        clean_env.setenv(name, value)
    assert threads.mpi_detected()
    assert us.get_num_threads() == 1
    clean_env.setenv("OMP_NUM_THREADS", "2")        # an explicit request still wins
    assert us.get_num_threads() == 2


def test_a_single_slurm_task_is_not_mpi(clean_env):
    clean_env.setenv("SLURM_PROCID", "0")
    clean_env.setenv("SLURM_NTASKS", "1")
    assert not threads.mpi_detected() and us.get_num_threads() == 4


def test_set_num_threads_is_honoured_and_restorable(clean_env):
    assert us.set_num_threads(2) == 4               # returns the previous count
    assert us.get_num_threads() == 2
    with us.num_threads(1) as n:
        assert n == 1 and us.get_num_threads() == 1
    assert us.get_num_threads() == 2
    us.set_num_threads(None)
    assert us.get_num_threads() == 4


def test_context_manager_restores_after_an_error(clean_env):
    with pytest.raises(RuntimeError), us.num_threads(1):
        raise RuntimeError
    assert us.get_num_threads() == 4


@pytest.mark.parametrize(("bad", "error", "match"), [
    (0, ValueError, "must be >= 1"),
    (-2, ValueError, "must be >= 1"),
    (2.0, TypeError, "must be an int"),
    ("2", TypeError, "must be an int"),
    (True, TypeError, "must be an int"),
    (5, ValueError, "NUMBA_NUM_THREADS=5"),         # more than the pool of 4
])
def test_bad_thread_counts_are_refused(clean_env, bad, error, match):
    with pytest.raises(error, match=match):
        us.set_num_threads(bad)
    assert us.get_num_threads() == 4                # unchanged


def test_numpy_integers_are_accepted(clean_env):
    us.set_num_threads(np.int64(3))
    assert us.get_num_threads() == 3 and type(us.get_num_threads()) is int


def test_mpi_default_in_a_fresh_process_without_numba():
    """A fresh rank of an MPI job: one thread, and neither numba nor mpi4py imported."""
    code = ("import sys, unisolve as us; print(us.get_num_threads(), "
            "'numba' in sys.modules, 'mpi4py' in sys.modules)")
    env = {k: v for k, v in __import__("os").environ.items() if k not in ENV}
    env["PMI_SIZE"] = "2"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    assert out == ["1", "False", "False"]


# ------------------------------------------------------------------ the chooser

def run(chooser, costs, calls, threads=2):
    """Drive the chooser against fixed per-version costs; the versions it picked."""
    picked = []
    for _ in range(calls):
        arm = chooser.pick(threads)
        picked.append(arm)
        chooser.record(arm, costs[arm])
    return picked


def test_chooser_keeps_the_faster_version_and_probes_less_and_less():
    chooser = SerialOrParallel(probe_every=4, max_probe_every=64, probe_share=1.0)
    picked = run(chooser, {1: 1.0, 2: 3.0}, 200)   # parallel is slow (busy core)
    assert picked[:2] == [2, 1]
    probes = [i for i, arm in enumerate(picked) if arm == 2][1:]
    gaps = np.diff(probes)
    assert list(gaps[:4]) == [8, 16, 32, 64] and set(gaps[4:]) == {64}
    assert chooser.best(2) == 1


@pytest.mark.parametrize("slowdown", [3.0, 50.0])
def test_probes_of_a_very_slow_version_cost_a_bounded_share(slowdown):
    """A parallel kernel that collapsed (50× slower) is probed so rarely that the probes
    cost about probe_share of the run time."""
    chooser = SerialOrParallel(probe_every=4, max_probe_every=1 << 20, probe_share=0.05)
    costs = {1: 1.0, 2: slowdown}
    picked = run(chooser, costs, 5000)
    total = sum(costs[arm] for arm in picked)
    probe_time = sum(costs[arm] for arm in picked[2:] if arm == 2)
    assert picked[2:].count(2) >= 2                 # it keeps looking
    assert probe_time <= 0.06 * total


def test_chooser_follows_a_change_of_load():
    chooser = SerialOrParallel(probe_every=4, max_probe_every=16)
    run(chooser, {1: 1.0, 2: 0.5}, 20)              # idle: parallel pays
    assert chooser.best(2) == 2
    picked = run(chooser, {1: 1.0, 2: 5.0}, 3)      # a burner starts: one slow call suffices
    assert picked[-1] == 1
    picked = run(chooser, {1: 1.0, 2: 0.5}, 40)     # the burner stops: found at a probe
    assert picked[-1] == 2 and chooser.best(2) == 2


def test_chooser_with_one_thread_is_serial():
    chooser = SerialOrParallel()
    assert run(chooser, {1: 1.0}, 5, threads=1) == [1] * 5


@pytest.mark.parametrize("kwargs", [{"probe_every": 0}, {"probe_every": 8, "max_probe_every": 4},
                                    {"smoothing": 0.0}, {"smoothing": 1.5},
                                    {"probe_share": 0.0}])
def test_chooser_refuses_bad_settings(kwargs):
    with pytest.raises(ValueError):
        SerialOrParallel(**kwargs)


def test_threads_benchmark_runs_quick(capsys):
    """benchmarks/threads.py at smoke size, its burner stopped afterwards (no timing asserted)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "threads.py"
    spec = importlib.util.spec_from_file_location("bench_threads", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--quick", "--no-write", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "busy core vs idle" in out and "automatic vs pyamg sor (CSR)" in out

"""Shared helpers of the benchmark scripts: timing, machine line, BENCHMARKS.md sections.

Writing into the checkout (docs/BENCHMARKS.md, docs/img/) is opt-in: a script writes only
when run with ``--write`` (``make bench`` passes it); by default it prints its tables and
leaves docs/ alone (issue 26, item 16). :func:`add_write_options` adds the flags, and
:func:`write_section` / :func:`save_figure` do nothing unless ``--write`` was given.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"
IMG = DOCS.parent / "img"
#: Whether write_section / save_figure touch docs/: set by the script's --write (off by default).
WRITE = False


class _WriteFlag(argparse.Action):
    """``--write`` turns writing on, ``--no-write`` off; both set ``args.no_write``."""

    def __call__(self, parser, namespace, values, option_string=None):
        global WRITE
        WRITE = option_string == "--write"
        namespace.no_write = not WRITE


def add_write_options(ap: argparse.ArgumentParser) -> None:
    """Add ``--write`` (results into docs/BENCHMARKS.md and docs/img/) and ``--no-write``.

    Not writing is the default; ``--no-write`` stays accepted for old command lines.
    Sets ``args.no_write`` (True unless ``--write``) and this module's :data:`WRITE`.
    """
    global WRITE
    WRITE = False  # each main() starts from "do not write"
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--write", action=_WriteFlag, nargs=0,
                       help="write the results into docs/BENCHMARKS.md and docs/img/ "
                            "(off by default; `make bench` passes it)")
    group.add_argument("--no-write", action=_WriteFlag, nargs=0,
                       help="do not touch docs/ (the default)")
    ap.set_defaults(no_write=True)


def machine() -> str:
    """One line describing the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numba
    import numpy
    import scipy

    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {numpy.__version__}, scipy {scipy.__version__}, numba {numba.__version__}")


def median_times(fns: dict[str, Callable[[], object]], repeats: int, setup=None) -> dict:
    """Median wall time of each callable, runs interleaved so drift hits all alike."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if setup is not None:
                setup()
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section ``name`` of docs/BENCHMARKS.md (only with ``--write``)."""
    if not WRITE:
        return
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else \
        text.rstrip() + "\n\n" + block + "\n"
    DOCS.write_text(text)


def ratio_table(rows: list[tuple], peer: str = "peer") -> list[str]:
    """Markdown lines of a timing table: rows of (what, comparison, unisolve time, peer time,
    ratio, target, notes); the ratio in bold."""
    lines = [f"| what | comparison | unisolve | {peer} | ratio | target | notes |",
             "|---|---|---:|---:|---:|---|---|"]
    lines += [f"| {what} | {comp} | {ours} | {theirs} | **{ratio:.2f}** | {target} | {note} |"
              for what, comp, ours, theirs, ratio, target, note in rows]
    return lines


def header(command: str) -> str:
    return (f"- date: {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}\n"
            f"- machine: {machine()}\n"
            f"- command: `{command}`\n")


def command_line() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])


def save_figure(fig, name: str) -> str:
    """Write a matplotlib figure to docs/img/NAME (tight layout, 120 dpi) and close it.

    Without ``--write`` the figure is only closed; the path it would have is returned.
    """
    import matplotlib.pyplot as plt

    path = IMG / name
    if not WRITE:
        plt.close(fig)
        return str(path)
    IMG.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)

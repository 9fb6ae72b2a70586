"""Shared helpers of the benchmark scripts: timing, machine line, BENCHMARKS.md sections."""

from __future__ import annotations

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
    """Replace (or append) the section ``name`` of docs/BENCHMARKS.md."""
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
    """Write a matplotlib figure to docs/img/NAME (tight layout, 120 dpi) and close it."""
    import matplotlib.pyplot as plt

    IMG.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    path = IMG / name
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)

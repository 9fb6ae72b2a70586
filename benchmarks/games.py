"""Matrix games at the defaults (issue 27 item 2): epochs to duality gap 1e-6.

Every game min_{x∈Δ} max_{y∈Δ} xᵀAy is solved with ``us.solve(game)`` (no method, no
step: the chooser of :mod:`unisolve.solvers.halpern`) and, for comparison, with the
default before issue 27 (``vr-halpern`` Algorithm 1), ``vr-eg`` at its default step,
``eg`` at the old default step 1/L and at its fixed default 0.9/L, and the heuristic
``eag`` with the line search and adaptive restarts (no proof). The gap
max_j (Aᵀx)_j − min_i (Ay)_i is computed from A at every checkpoint (every iteration
for EG, every epoch for the stochastic methods); the table gives the first epoch at
which it is ≤ 1e-6 and the gap after 20,000 epochs (oracle calls / n). Games:
rock–paper–scissors–lizard–Spock from the pure start (rock, paper) (the uniform start
is its solution), seeded Gaussian rectangular games, and the paper's policeman–burglar
game (``matrix_game``, seed 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

import unisolve as us
from unisolve.problems.monotone import bilinear_game, matrix_game

BUDGET = 20_000
TARGET = 1e-6


def rpsls() -> np.ndarray:
    """RPSLS payoff: the row player pays 1 to a column that beats it, gets 1 otherwise."""
    A = np.zeros((5, 5))
    for i, losers in {0: (2, 3), 1: (0, 4), 2: (1, 3), 3: (4, 1), 4: (2, 0)}.items():
        for j in losers:
            A[i, j], A[j, i] = -1.0, 1.0
    return A


def games(quick: bool) -> list[tuple[str, np.ndarray, object]]:
    z0 = np.zeros(10)
    z0[0] = z0[6] = 1.0
    out = [("RPSLS", rpsls(), bilinear_game(rpsls(), z0=z0))]
    sizes = [(10, 15)] if quick else [(10, 15), (50, 80)]
    for m, n in sizes:
        for seed in (0, 1):
            A = np.random.default_rng(seed).standard_normal((m, n))
            out.append((f"Gaussian {m}×{n}, seed {seed}", A, bilinear_game(A)))
    for n in ([5] if quick else [5, 10, 50]):
        p = matrix_game(n, seed=1)
        out.append((f"policeman–burglar n = {n}", p.M[:n, n:], p))
    return out


def run(A: np.ndarray, game, **options) -> tuple[str, float | None, float]:
    m = A.shape[0]
    gaps: list[float] = []

    def gap(z: np.ndarray) -> float:
        return float(np.max(A.T @ z[:m]) - np.min(A @ z[m:]))

    r = us.solve(game, rtol=0.0, maxiter=10 ** 9, max_epochs=BUDGET,
                 callback=lambda s: gaps.append(gap(s.x)), **options)
    ep, g = np.array(r.info["epochs"]), np.array(gaps)
    hit = np.flatnonzero(g <= TARGET)
    name = r.method + (f" (variant {r.info['variant']})" if "variant" in r.info else "") + (
        " + line search" if r.info.get("line_search") else "")
    return name, (float(ep[hit[0]]) if hit.size else None), float(g[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small games only (smoke test)")
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    lines = ["| game | default (now) | epochs to 1e-6 | gap at 20k | old default "
             "(vr-halpern 1) | gap at 20k | vr-eg | gap at 20k | eg η = 1/L | gap at 20k "
             "| eg η = 0.9/L | gap at 20k | eag + line search + restart 0.2 | gap at 20k |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    fmt = lambda e: "—" if e is None else f"{e:,.0f}"  # noqa: E731
    for label, A, game in games(args.quick):
        new = run(A, game)
        cells = [label, new[0], fmt(new[1]), f"{new[2]:.1e}"]
        for opts in ({"method": "vr-halpern"}, {"method": "vr-eg"},
                     {"method": "eg", "step": 1.0 / game.lipschitz}, {"method": "eg"},
                     {"method": "eag", "line_search": True, "restart": 0.2}):
            _, e, g = run(A, game, **opts)
            cells += [fmt(e), f"{g:.1e}"]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    body = ("## Matrix games at the defaults (issue 27)\n\n"
            + _report.header(_report.command_line()) + "\n" + "\n".join(lines) + "\n")
    _report.write_section("games", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

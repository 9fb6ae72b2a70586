"""Matrix games at the defaults (issue 27 item 2): epochs to duality gap 1e-6, against an LP.

Every game min_{x∈Δ} max_{y∈Δ} xᵀAy is solved with ``us.solve(game)`` (no method, no
step: the chooser of :mod:`unisolve.solvers.halpern`) and, for comparison, with the
default before this round (``eg`` with its line search) and the default before issue 27
(``vr-halpern`` Algorithm 1); ``--all`` adds ``vr-eg`` at its default step and ``eg`` at
the fixed steps 1/L and 0.9/L. The gap max_j (Aᵀx)_j − min_i (Ay)_i is computed from A at
every checkpoint (every iteration for the deterministic methods, every epoch for the
stochastic ones); the table gives the first epoch at which it is ≤ 1e-6 and the gap after
20,000 epochs (oracle calls / n).

Same-run peer: a matrix game is a linear program, min v s.t. Aᵀx ≤ v𝟙, 𝟙ᵀx = 1, x ≥ 0,
whose duals on Aᵀx ≤ v𝟙 are the column player's y. ``scipy.optimize.linprog(method=
"highs")`` solves it from A (its gap is in the table too); the default solves it from A with
``maxiter`` set to the iterations it needed for gap 1e-6 (found in the epoch run, so the
timed run does no gap checks). Both times include building the problem from A, are the
minimum of ``--repeats`` runs interleaved, after one untimed warm-up (numba's compilation);
ratio = ours / linprog.

Games: rock–paper–scissors–lizard–Spock from the pure start (rock, paper) (the uniform
start is its solution), seeded Gaussian rectangular games (10×15, 50×80, 100×60, 200×300,
seeds 0–4), games with uniform [0, 1) entries (50×80, 100×60, seeds 0–2), and the
paper's policeman–burglar game (``matrix_game``, seed 1; n = 5, 10, 50 and the paper's
500).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.optimize as so

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


def _rpsls_game(A: np.ndarray):
    z0 = np.zeros(10)
    z0[0] = z0[6] = 1.0
    return bilinear_game(A, z0=z0)


def _pb_game(n: int):
    return lambda A: matrix_game(n, seed=1)


def games(quick: bool) -> list[tuple[str, np.ndarray, object]]:
    """(label, payoff A, build) with build(A) the problem (timed as part of each solve)."""
    out = [("RPSLS", rpsls(), _rpsls_game)]
    gauss = [(10, 15)] if quick else [(10, 15), (50, 80), (100, 60), (200, 300)]
    for m, n in gauss:
        for seed in ((0, 1) if quick else range(5)):
            A = np.random.default_rng(seed).standard_normal((m, n))
            out.append((f"Gaussian {m}×{n}, seed {seed}", A, bilinear_game))
    for m, n in ([] if quick else [(50, 80), (100, 60)]):
        for seed in range(3):
            A = np.random.default_rng(seed).uniform(size=(m, n))
            out.append((f"uniform {m}×{n}, seed {seed}", A, bilinear_game))
    for n in ([5] if quick else [5, 10, 50, 500]):
        out.append((f"policeman–burglar n = {n}", matrix_game(n, seed=1).M[:n, n:],
                    _pb_game(n)))
    return out


def gap(A: np.ndarray, z: np.ndarray) -> float:
    m = A.shape[0]
    return float(np.max(A.T @ z[:m]) - np.min(A @ z[m:]))


def run(A: np.ndarray, game, **options) -> tuple[str, float | None, float, int | None]:
    """(label, epochs to the target or None, gap at the budget, iterations to the target)."""
    gaps: list[float] = []
    r = us.solve(game, rtol=0.0, maxiter=10 ** 9, max_epochs=BUDGET,
                 callback=lambda s: gaps.append(gap(A, s.x)), **options)
    ep, g = np.array(r.info["epochs"]), np.array(gaps)
    hit = np.flatnonzero(g <= TARGET)
    name = r.method + (f" (variant {r.info['variant']})" if "variant" in r.info else "") + (
        " + line search" if r.info.get("line_search") else "") + (
        f" + restart {r.info['restart']:g}" if "restart" in r.info else "")
    # gaps[j] is at residuals[j]: for the deterministic methods j is the iteration count
    return (name, (float(ep[hit[0]]) if hit.size else None), float(g[-1]),
            (int(hit[0]) if hit.size else None))


def lp(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The game by HiGHS: x from the primal, y from the duals of Aᵀx ≤ v𝟙."""
    m, n = A.shape
    res = so.linprog(np.r_[np.zeros(m), 1.0], A_ub=np.c_[A.T, -np.ones(n)], b_ub=np.zeros(n),
                     A_eq=np.r_[np.ones(m), 0.0][None], b_eq=[1.0],
                     bounds=[(0, None)] * m + [(None, None)], method="highs")
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    return res.x[:m], -res.ineqlin.marginals


def timed(A: np.ndarray, build, iterations: int, repeats: int) -> tuple[float, float, float]:
    """(ours s, linprog s, linprog's gap): min of ``repeats`` interleaved runs."""
    ours, peer = [], []

    def solve_ours() -> None:
        us.solve(build(A), rtol=0.0, maxiter=iterations)

    solve_ours()  # warm-up: numba compilation, imports
    for _ in range(repeats):
        t0 = time.perf_counter()
        solve_ours()
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        x, y = lp(A)
        peer.append(time.perf_counter() - t0)
    return min(ours), min(peer), gap(A, np.r_[x, y])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small games only (smoke test)")
    ap.add_argument("--all", action="store_true",
                    help="also vr-eg and eg at the fixed steps 1/L and 0.9/L")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each (min taken)")
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    others = [("eg + line search (before)", {"method": "eg", "line_search": True}),
              ("vr-halpern 1 (before issue 27)", {"method": "vr-halpern"})]
    if args.all:
        others += [("vr-eg", {"method": "vr-eg"}),
                   ("eg η = 1/L", {"method": "eg", "step": "1/L"}),
                   ("eg η = 0.9/L", {"method": "eg"})]
    head = ["game", "default (now)", "epochs to 1e-6", "gap at 20k", "time to 1e-6 (s)",
            "linprog HiGHS (s)", "ratio ours/linprog", "linprog gap"]
    for label, _ in others:
        head += [label, "gap at 20k"]
    lines = ["| " + " | ".join(head) + " |",
             "|---|---|" + "---:|" * (len(head) - 2)]
    fmt = lambda e: "—" if e is None else f"{e:,.0f}"  # noqa: E731
    for label, A, build in games(args.quick):
        game = build(A)
        name, e, g, its = run(A, game)
        cells = [label, name, fmt(e), f"{g:.1e}"]
        if its is not None:
            ours, peer, lp_gap = timed(A, build, its, args.repeats)
            cells += [f"{ours:.3g}", f"{peer:.3g}", f"{ours / peer:.3g}", f"{lp_gap:.0e}"]
        else:
            _, peer, lp_gap = timed(A, build, 1, args.repeats)
            cells += ["— (not reached)", f"{peer:.3g}", "—", f"{lp_gap:.0e}"]
        for _, opts in others:
            opts = dict(opts)
            if opts.get("step") == "1/L":
                opts["step"] = 1.0 / game.lipschitz
            _, e2, g2, _ = run(A, game, **opts)
            cells += [fmt(e2), f"{g2:.1e}"]
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    body = ("## Matrix games at the defaults (issue 27)\n\n"
            + _report.header(_report.command_line()) + "\n" + "\n".join(lines) + "\n")
    _report.write_section("games", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

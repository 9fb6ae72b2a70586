"""Restarted (reflected) Halpern PDHG on the 31 games of benchmarks/games.py (issue 30).

The question: does ``halpern`` with ``operator="pdhg", restart="adaptive"`` (and
``reflect=True``), at its default step 0.9/L, reach duality gap 1e-6 within 20,000 epochs
on every game where the monotone default (``choose_monotone``: eag + line search +
restart 0.1) does, and on the one it misses (uniform 100 × 60, seed 0)? Same games,
budget, target and gap measurement as benchmarks/games.py (its ``run``); the default runs
in the same process for the comparison. ``--quick``: the small games only. ``--centred``:
every game built from A − mean(A) (the same equilibria and duality gap on the simplices, since
xᵀ(c𝟙𝟙ᵀ)y = c there; ‖A‖ drops, e.g. 38.8 → 5.0 on uniform 100 × 60), the gap still
measured with A.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report
import numpy as np
from games import BUDGET, TARGET, games, run

from unisolve.problems.monotone import bilinear_game

VARIANTS = [
    ("default (eag + line search + restart 0.1)", {}),
    ("halpern pdhg, restarted", {"method": "halpern", "operator": "pdhg",
                                 "restart": "adaptive"}),
    ("halpern pdhg, restarted + reflected", {"method": "halpern", "operator": "pdhg",
                                             "restart": "adaptive", "reflect": True}),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small games only (smoke test)")
    ap.add_argument("--variants", default="", help="comma-separated indices into VARIANTS")
    ap.add_argument("--centred", action="store_true",
                    help="solve the game of A - mean(A) (same equilibria and gap)")
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    chosen = [VARIANTS[int(i)] for i in args.variants.split(",") if i] or VARIANTS
    head = ["game"]
    for label, _ in chosen:
        head += [f"{label}: epochs to {TARGET:g}", "gap at 20k"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    reached = [0] * len(chosen)
    count = 0
    for label, A, build in games(args.quick):
        cells = [label]
        if args.centred:
            z0 = np.r_[1.0, np.zeros(5), 1.0, np.zeros(3)] if label == "RPSLS" else None
            game = bilinear_game(A - A.mean(), z0=z0)
        for j, (_, opts) in enumerate(chosen):
            _, e, g, _ = run(A, game if args.centred else build(A), **opts)
            reached[j] += e is not None
            cells += ["—" if e is None else f"{e:,.0f}", f"{g:.1e}"]
        count += 1
        lines.append("| " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    summary = ", ".join(f"{label}: {k}/{count}" for (label, _), k in zip(chosen, reached,
                                                                        strict=True))
    lines += ["", f"Reached gap {TARGET:g} within {BUDGET:,} epochs: {summary}."]
    print(lines[-1])
    body = ("## Restarted Halpern PDHG on the games (issue 30)\n\n"
            + _report.header(_report.command_line()) + "\n" + "\n".join(lines) + "\n")
    _report.write_section("halpern-games", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

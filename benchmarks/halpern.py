"""Halpern (plain, restarted, reflected), VR-Halpern, EG, EAG and VR-EG on the paper's problems.

Cai, Alacaoglu, Diakonikolas (ICLR 2024), issues 7 and 30: the operator residual
‖z − Π(z − F(z))‖ of the last iterate against epochs (oracle calls / n) on

* the policeman–burglar matrix game, n = 500 (seed 1, as in the paper's code),
  target residual 1e-4;
* the hard linearly constrained QP, n = 200, target residual 1e-3.

Methods: EG, EAG, VR-EG, VR-Halpern Algorithms 1 and 2, Halpern on the resolvent
(issue 7), and the restarted variants of issue 30 (adaptive rule, β = 0.2, β_n = 0.5):
VR-Halpern Algorithm 1 restarted; Halpern restarted and restarted + reflected (2T − I),
with T the resolvent on the QP and the PDHG map on the game (one full F per step).

Tuning, the same for every method: a grid of multiples of a reference step (the paper's
code's tuned value; Halpern's 1/L on the QP, EG's on the game, where the PDHG map shares
EG's scale). Every multiple runs to the target or the tuning budget; the multiple that
reaches the target in the fewest epochs wins, else the smallest residual over the last
fifth; a winner that did not reach the target is run once more on the whole budget.
On the game every method's best multiple is the grid's largest (epochs ∝ 1/step up to
~×10⁴–10⁵: the equilibrium's x is the pure strategy of the smallest column weight, found
faster the longer the step); ``--game-grid`` widens the grid for every method alike,
``--problems game`` runs the game alone.

Same-run classical peer (wall time): the game is a linear program, solved by
``scipy.optimize.linprog(method="highs")`` (benchmarks/games.py's formulation); the QP's
saddle point is the linear system Mz = −q, solved by ``scipy.linalg.solve`` (LU). Each
method's wall time is its single tuned run (residual recording included); the peer's the
minimum of 3.

Targets (issue 30): on the QP a restarted Halpern variant needs ≤ 0.5 × tuned EG's epochs
to 1e-3; on the game ≤ 1.0 × VR-EG's epochs to 1e-4. The plots (``--write`` or
``--plots``) go to docs/img/halpern_restart_*.png with the restarts marked. ``--quick`` runs small
sizes (a smoke test).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg as sla

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report
from games import lp

import unisolve as us
from unisolve.problems.monotone import FiniteSumProblem, constrained_qp, matrix_game

LABELS = {"eg": "EG", "eag": "EAG", "vr-eg": "VR-EG",
          "alg1": "VR-Halpern, Algorithm 1", "alg2": "VR-Halpern, Algorithm 2",
          "halpern": "Halpern (resolvent)", "alg1-r": "VR-Halpern 1, restarted",
          "halpern-r": "Halpern (T), restarted", "halpern-rr": "Halpern (T), restarted + reflected"}
RESTARTED = ("alg1-r", "halpern-r", "halpern-rr")
ADAPTIVE = {"restart": "adaptive"}
WINDOW = 5000  # epochs in which VR-Halpern may not plateau
PAPER_STEPS = ("eg", "eag", "alg1")  # also shown at the paper's code's steps (×1)
#: the game's step multiples, the same for every method (``--game-grid`` widens it for all)
GAME_GRID = (1, 4, 16, 64, 256)


def _factors(text: str) -> list[float]:
    """``--game-grid``: comma-separated positive step multiples."""
    try:
        out = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"step multiples must be numbers, got {text!r}") from None
    if not out or not all(math.isfinite(f) and f > 0 for f in out):
        raise argparse.ArgumentTypeError(f"step multiples must be finite and > 0, got {text!r}")
    return out


def reference_steps(kind: str, p: FiniteSumProblem) -> dict[str, tuple[str, dict, float]]:
    """Label → (method, fixed options, reference step) for one problem."""
    n = p.n
    pp = 1.0 / n
    if kind == "game":
        A = p.meta["A"]
        op, fro = np.linalg.norm(A, 2), np.linalg.norm(A)
        inner = 5 * math.sqrt(pp * (1 - pp)) / (math.sqrt(n) + 1)
        T = {"operator": "pdhg"}  # the resolvent's inner loop costs ~100 epochs a step
        return {"eg": ("eg", {}, 5 / op), "eag": ("eag", {}, 5 / op),
                "vr-eg": ("vr-eg", {}, 3 * math.sqrt(pp) / fro),
                "alg1": ("vr-halpern", {"variant": 1}, 5 / fro),
                "alg2": ("vr-halpern", {"variant": 2, "inner_step": inner}, math.sqrt(n) / fro),
                "halpern": ("halpern", {}, 5 / op),
                "alg1-r": ("vr-halpern", {"variant": 1, **ADAPTIVE}, 5 / fro),
                "halpern-r": ("halpern", {**T, **ADAPTIVE}, 5 / op),
                "halpern-rr": ("halpern", {**T, **ADAPTIVE, "reflect": True}, 5 / op)}
    L = p.lipschitz
    return {"eg": ("eg", {}, 0.5), "eag": ("eag", {}, 0.3),
            "vr-eg": ("vr-eg", {}, 0.01),
            "alg1": ("vr-halpern", {"variant": 1}, 0.3),
            "alg2": ("vr-halpern", {"variant": 2, "inner_step": 0.001}, math.sqrt(n)),
            "halpern": ("halpern", {}, 1 / L),
            "alg1-r": ("vr-halpern", {"variant": 1, **ADAPTIVE}, 0.3),
            "halpern-r": ("halpern", ADAPTIVE, 1 / L),
            "halpern-rr": ("halpern", {**ADAPTIVE, "reflect": True}, 1 / L)}


def run(p: FiniteSumProblem, method: str, opts: dict, step: float, target: float,
        epochs: float, check: float) -> dict:
    kw = dict(opts)
    if method in ("vr-halpern", "vr-eg"):
        kw["check_every"] = check
        kw["seed"] = 0
    t0 = time.perf_counter()
    r = us.solve(p, method=method, step=step, atol=target, rtol=0.0, max_epochs=epochs,
                 maxiter=10 ** 9, **kw)
    wall = time.perf_counter() - t0
    ep, res = np.array(r.info["epochs"]), np.array(r.residuals)
    hit = np.flatnonzero(res <= target)
    return {"epochs": ep, "res": res, "to_target": float(ep[hit[0]]) if hit.size else None,
            "final": float(res[-1]), "time": wall, "step": step, "status": r.status.name,
            "restarts": list(r.info.get("restart_epochs", [])), "budget": epochs}


def _tail_min(r: dict) -> float:
    tail = r["res"][r["epochs"] >= 0.8 * r["epochs"][-1]]
    v = float(np.min(tail)) if tail.size else math.inf
    return v if math.isfinite(v) else math.inf


def _score(r: dict) -> tuple:
    """Reached the target first (fewest epochs), else the smallest tail residual."""
    return (0, r["to_target"]) if r["to_target"] is not None else (1, _tail_min(r))


def tuned(kind: str, p: FiniteSumProblem, target: float, budget: float, short: float,
          grid: list[float], caps: dict, check: float, log: list[str],
          only: set[str] | None) -> dict[str, dict]:
    out = {}
    for label, (method, opts, ref) in reference_steps(kind, p).items():
        if only and label not in only:
            continue
        cap = caps.get(label, budget)
        tries = {f: run(p, method, opts, f * ref, target, min(short, cap), check) for f in grid}
        best = min(tries, key=lambda f: (_score(tries[f]), f))
        chosen = tries[best]
        if chosen["to_target"] is None and cap > short:
            chosen = run(p, method, opts, best * ref, target, cap, check)
        chosen["factor"] = best
        out[label] = chosen
        if label in PAPER_STEPS:  # ×1: the paper's code's step (its tuning-budget run)
            out[f"{label}@paper"] = dict(tries[1.0] if 1.0 in tries else chosen, factor=1.0)
        shown = ", ".join(
            f"×{f:g}: " + (f"{r['to_target']:,.0f} ep" if r["to_target"] is not None
                           else f"{_tail_min(r):.1e}") for f, r in tries.items())
        log.append(f"| {LABELS[label]} | {shown} | ×{best:g} = {best * ref:.4g} |")
        print(log[-1], flush=True)
    return out


def peer(kind: str, p: FiniteSumProblem, repeats: int = 3) -> tuple[str, float, float]:
    """(name, seconds, residual of its answer): min of ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        if kind == "game":
            m = int(p.constraint.bounds[1])
            x, y = lp(p.M[:m, m:])  # the bilinear form's payoff (matrix_game's is Aᵀ)
            z = np.r_[x, y]
        else:
            z = sla.solve(p.M, -p.q)
        times.append(time.perf_counter() - t0)
    res = float(np.linalg.norm(z - p.project(z - p.operator(z))))
    name = "scipy linprog (HiGHS)" if kind == "game" else "scipy.linalg.solve (LU) of Mz = −q"
    return name, min(times), res


def table(name: str, rows: dict, target: float, peer_row: tuple[str, float, float],
          kind: str) -> str:
    pname, ptime, pres = peer_row
    what = "the PDHG map" if kind == "game" else "the resolvent (exact LU solve, counted)"
    lines = [f"#### {name}", "", f"T of the restarted Halpern rows: {what}.", "",
             f"| method | step (× reference) | epochs to {target:g} | restarts | residual at "
             f"the end (epochs) | wall time | ÷ {pname} |", "|---|---|---|---|---|---|---|"]
    for label, r in rows.items():
        if label.endswith("@paper"):
            continue
        to = f"{r['to_target']:,.0f}" if r["to_target"] is not None else f"> {r['budget']:,.0f}"
        rs = str(len(r["restarts"])) if label in RESTARTED else "—"
        lines.append(f"| {LABELS[label]} | {r['step']:.4g} (×{r['factor']:g}) | {to} | {rs} | "
                     f"{r['final']:.2e} ({r['epochs'][-1]:,.0f}) | {r['time']:.2f} s | "
                     f"{r['time'] / ptime:.3g} |")
    lines += ["", f"Peer: {pname}, {ptime * 1e3:.1f} ms (min of 3), residual {pres:.1e}.",
              "", "At the paper's code's own steps (no tuning; the tuning-budget run):", "",
              f"| method | step | epochs to {target:g} | residual at the end (epochs) |",
              "|---|---|---|---|"]
    for label in PAPER_STEPS:
        r = rows.get(f"{label}@paper")
        if r is None:
            continue
        to = f"{r['to_target']:,.0f}" if r["to_target"] is not None else f"> {r['budget']:,.0f}"
        lines.append(f"| {LABELS[label]} | {r['step']:.4g} | {to} | {r['final']:.2e} "
                     f"({r['epochs'][-1]:,.0f}) |")
    return "\n".join(lines)


def no_plateau(r: dict, window: float = WINDOW, parts: int = 5) -> tuple[bool, list[float]]:
    """Smallest residual of each window/parts-epoch block, and whether the run does not
    stall above the target: it reaches the target within the window, or every block's
    minimum is ≤ 0.9 × the previous one's (O(1/k) gives 0.8 for the last two blocks)."""
    edges = np.linspace(0, window, parts + 1)
    mins = []
    for a, b in itertools.pairwise(edges):
        sel = (r["epochs"] > a) & (r["epochs"] <= b)
        mins.append(float(np.min(r["res"][sel])) if np.any(sel) else math.nan)
    if r["to_target"] is not None and r["to_target"] <= window:
        return True, mins
    return all(m2 <= 0.9 * m1 for m1, m2 in itertools.pairwise(mins)), mins


def _epochs(rows: dict, label: str) -> float:
    r = rows.get(label)
    return math.inf if r is None or r["to_target"] is None else r["to_target"]


def verdicts(name: str, rows: dict, kind: str) -> list[str]:
    out = []
    best = min((lab for lab in RESTARTED if lab in rows), key=lambda lab: _epochs(rows, lab),
               default=None)
    if best is not None:
        mine = _epochs(rows, best)
        peer_label, factor = ("eg", 0.5) if kind == "qp" else ("vr-eg", 1.0)
        theirs = _epochs(rows, peer_label)
        ok = math.isfinite(mine) and mine <= factor * theirs
        ratio = mine / theirs if math.isfinite(mine) and math.isfinite(theirs) else math.nan
        out.append(f"| {name}: the best restarted Halpern ({LABELS[best]}) needs ≤ {factor:g} × "
                   f"tuned {LABELS[peer_label]}'s epochs | ≤ {factor:g}× | "
                   f"{'met' if ok else 'NOT met'}: {mine:,.0f} vs {theirs:,.0f} "
                   f"(×{ratio:.3g}) |")
    if all(f"{k}@paper" in rows for k in PAPER_STEPS):
        fin = {k: _epochs(rows, f"{k}@paper") for k in PAPER_STEPS}
        ok = math.isfinite(fin["alg1"]) and fin["alg1"] < min(fin["eg"], fin["eag"])
        out.append(f"| {name}, at the paper's steps (tuning budget): {LABELS['alg1']} needs "
                   f"fewer epochs than EG and EAG (issue 7) | fewer | "
                   f"{'met' if ok else 'NOT met'}: {fin['alg1']:,.0f} vs EG {fin['eg']:,.0f}, "
                   f"EAG {fin['eag']:,.0f} |")
    for label in ("alg1", "alg2"):
        if label not in rows:
            continue
        mine = _epochs(rows, label)
        ok = math.isfinite(mine) and mine < min(_epochs(rows, "eg"), _epochs(rows, "eag"))
        out.append(f"| {name}, every step tuned: {LABELS[label]} needs fewer epochs than EG "
                   f"and EAG (issue 7) | fewer | {'met' if ok else 'NOT met'}: {mine:,.0f} vs "
                   f"EG {_epochs(rows, 'eg'):,.0f}, EAG {_epochs(rows, 'eag'):,.0f} |")
        r = rows[label]
        window = min(WINDOW, r["epochs"][-1])
        ok, mins = no_plateau(r, window)
        out.append(f"| {name}: {LABELS[label]} does not stall above the target within "
                   f"{window:,.0f} epochs (issue 7) | reaches it, or each fifth of the window "
                   f"≤ 0.9 × the previous | {'met' if ok else 'NOT met'}: minimum per fifth "
                   + ", ".join(f"{m:.1e}" for m in mins) + " |")
    return [v.replace("inf", "not reached").replace(" (×nan)", "") for v in out]


def plot(name: str, title: str, rows: dict, target: float) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    for label, r in rows.items():
        if label.endswith("@paper"):
            continue
        ep, res = r["epochs"], r["res"]
        keep = np.unique(np.geomspace(1, ep.size, 4000).astype(int) - 1)  # thin long runs
        line, = ax.semilogy(np.maximum(ep[keep], 1e-1), res[keep], label=LABELS[label],
                            lw=2.2 if label in RESTARTED else 1.2)
        if r["restarts"]:  # the residual where each restart happened
            at = np.searchsorted(ep, r["restarts"], side="right") - 1
            ax.plot(np.maximum(ep[at], 1e-1), res[at], "o", ms=4, mfc="none",
                    color=line.get_color())
    start = max(float(r["res"][0]) for lab, r in rows.items() if not lab.endswith("@paper"))
    ax.set_ylim(top=30 * start)  # a diverging run would flatten every other curve
    ax.axhline(target, color="k", ls=":", lw=1, label=f"target {target:g}")
    ax.plot([], [], "ko", mfc="none", ms=4, label="restart")
    ax.set_xscale("log")
    ax.set_xlabel("epochs (oracle calls / n)")
    ax.set_ylabel("operator residual of the last iterate")
    ax.set_title(title)
    ax.legend(fontsize=7)
    path = _report.IMG / f"halpern_restart_{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return str(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes; writes nothing")
    ap.add_argument("--plots", action="store_true", help="save the plots to docs/img/")
    ap.add_argument("--only", default="", help="comma-separated labels (default: all)")
    ap.add_argument("--game-epochs", type=float, default=20_000)
    ap.add_argument("--qp-epochs", type=float, default=1.2e6,
                    help="budget of EG, EAG and Algorithm 1 on the QP")
    ap.add_argument("--qp-slow-epochs", type=float, default=1e5,
                    help="budget of VR-EG, Algorithm 2 and plain Halpern on the QP")
    ap.add_argument("--game-grid", type=_factors, default=None,
                    help="comma-separated step multiples for every method on the game "
                    "(default 1,4,16,64,256; e.g. 1,4,...,65536 widens it for all)")
    ap.add_argument("--problems", default="game,qp",
                    help="comma-separated subset of game,qp (default both)")
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    q = args.quick
    only = {s for s in args.only.split(",") if s} or None
    specs = [
        ("game", matrix_game(30 if q else 500, seed=1), 1e-4, 300 if q else args.game_epochs,
         100 if q else 2000, args.game_grid or ([1, 16] if q else list(GAME_GRID)),
         # the resolvent's inner loop: one step at a long η costs up to 1e5 epochs
         {} if q else {"alg2": 5000, "halpern": 2000}, 1.0 if q else 10.0),
        ("qp", constrained_qp(20 if q else 200), 1e-3, 2000 if q else args.qp_epochs,
         500 if q else 2e4, [0.5, 1] if q else [0.5, 1, 2, 4, 8],
         {k: (1000 if q else args.qp_slow_epochs) for k in ("alg2", "vr-eg", "halpern")},
         10.0 if q else 100.0),
    ]
    kinds = {s for s in args.problems.split(",") if s}
    if not kinds or not kinds <= {"game", "qp"}:
        ap.error(f"--problems takes a subset of game,qp, got {args.problems!r}")
    specs = [s for s in specs if s[0] in kinds]
    sections, summary, tuning = [], [], []
    for kind, p, target, budget, short, grid, caps, check in specs:
        log = [f"**{p.name}** (tuning budget {short:,.0f} epochs)", "",
               "| method | epochs to the target, or tail residual, per step multiple | chosen |",
               "|---|---|---|"]
        rows = tuned(kind, p, target, budget, short, grid, caps, check, log, only)
        title = f"{p.name} (n = {p.n}, {p.dim} unknowns)"
        text = table(title, rows, target, peer(kind, p), kind)
        print(text, flush=True)
        summary.extend(verdicts(p.name, rows, kind))
        if not q and (args.plots or not args.no_write):
            img = plot(kind, title, rows, target)
            text += f"\n\n![{kind}]({Path(img).relative_to(_report.DOCS.parent)})"
        sections.append(text)
        tuning.append("\n".join(log))
    verdict = "\n".join(["| target | wanted | measured |", "|---|---|---|", *summary])
    print(verdict)
    if q or args.no_write:
        return 0
    body = ("## Halpern, restarted Halpern and variance-reduced Halpern (issues 7, 30)\n\n"
            + _report.header(_report.command_line())
            + "\n### Targets\n\n" + verdict + "\n\n### Per problem\n\n"
            + "\n\n".join(sections) + "\n\n### Step tuning\n\n" + "\n\n".join(tuning) + "\n")
    _report.write_section("halpern", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Halpern, variance-reduced Halpern, EG, EAG and VR-EG on the paper's two problems (issue 7).

Cai, Alacaoglu, Diakonikolas (ICLR 2024): the operator residual of the last iterate
against epochs (oracle calls / n) on

* the policeman–burglar matrix game, n = 500 (seed 1, as in the paper's code),
  target residual 1e-4;
* the hard linearly constrained QP, n = 200, target residual 1e-3.

Every method's step is tuned the same way, on a grid of multiples of the step the
paper's code uses (its tuned values; ``halpern`` takes its default η = 1/L): on the
game the cheap methods (EG, EAG, Algorithm 1) run the whole budget for every multiple
and the one reaching the target first (else the smallest final residual) is kept;
Algorithm 2 and VR-EG, and every method on the QP, are tuned on a short budget (the
smallest residual over the last fifth of it) and then run the whole budget once.
The tables give epochs to the target, the residual at 5000 epochs and at the end,
and the chosen step, and EG, EAG and Algorithm 1 once more at the paper's code's own
steps (the comparison the paper makes); the plots go to docs/img/halpern_*.png.

Targets: VR-Halpern reaches the target in fewer epochs than EG and EAG on both
problems, and does not stall above the target within 5000 epochs (it reaches the target
there, or the smallest residual of every 1000-epoch window is ≤ 0.9 × the previous one's).
``--quick`` runs small sizes (smoke test); ``--write`` puts the results into docs/.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

import unisolve as us
from unisolve.problems.monotone import FiniteSumProblem, constrained_qp, matrix_game

LABELS = {"halpern": "Halpern (resolvent)", "eg": "EG", "eag": "EAG", "vr-eg": "VR-EG",
          "alg1": "VR-Halpern, Algorithm 1", "alg2": "VR-Halpern, Algorithm 2"}
WINDOW = 5000  # epochs in which VR-Halpern may not plateau
PAPER_STEPS = ("eg", "eag", "alg1")  # also compared at the paper's code's steps


def reference_steps(kind: str, p: FiniteSumProblem) -> dict[str, tuple[str, dict, float]]:
    """Label → (method, fixed options, the paper's code's step) for one problem."""
    n = p.n
    pp = 1.0 / n
    if kind == "game":
        A = p.meta["A"]
        op, fro = np.linalg.norm(A, 2), np.linalg.norm(A)
        inner = 5 * math.sqrt(pp * (1 - pp)) / (math.sqrt(n) + 1)
        return {"eg": ("eg", {}, 5 / op), "eag": ("eag", {}, 5 / op),
                "alg1": ("vr-halpern", {"variant": 1}, 5 / fro),
                "alg2": ("vr-halpern", {"variant": 2, "inner_step": inner}, math.sqrt(n) / fro),
                "vr-eg": ("vr-eg", {}, 3 * math.sqrt(pp) / fro),
                "halpern": ("halpern", {}, 1 / p.lipschitz)}
    return {"eg": ("eg", {}, 0.5), "eag": ("eag", {}, 0.3),
            "alg1": ("vr-halpern", {"variant": 1}, 0.3),
            "alg2": ("vr-halpern", {"variant": 2, "inner_step": 0.001}, math.sqrt(n)),
            "vr-eg": ("vr-eg", {}, 0.01), "halpern": ("halpern", {}, 1 / p.lipschitz)}


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
            "final": float(res[-1]), "time": wall, "step": step, "status": r.status.name}


def _score(r: dict) -> tuple:
    """Reached the target first, else the smallest final residual (NaN/inf last)."""
    final = r["final"] if math.isfinite(r["final"]) else math.inf
    return (0, r["to_target"]) if r["to_target"] is not None else (1, final)


def _tail_min(r: dict) -> float:
    tail = r["res"][r["epochs"] >= 0.8 * r["epochs"][-1]]
    v = float(np.min(tail)) if tail.size else math.inf
    return v if math.isfinite(v) else math.inf


def tuned(kind: str, p: FiniteSumProblem, target: float, budget: float, short: float,
          grid: list[float], caps: dict, check: float, log: list[str]) -> dict[str, dict]:
    out = {}
    for label, (method, opts, ref) in reference_steps(kind, p).items():
        cap = caps.get(label, budget)
        if label == "halpern":
            out[label] = run(p, method, opts, ref, target, cap, check)
            out[label]["factor"] = 1.0
            continue
        full_grid = kind == "game" and label in ("eg", "eag", "alg1")
        tries = {}
        for f in grid:
            r = run(p, method, opts, f * ref, target, cap if full_grid else short, check)
            tries[f] = r
        if full_grid:
            best = min(tries, key=lambda f: _score(tries[f]))
            chosen = tries[best]
        else:
            best = min(tries, key=lambda f: (_tail_min(tries[f]), f))
            chosen = run(p, method, opts, best * ref, target, cap, check)
        chosen["factor"] = best
        out[label] = chosen
        if label in PAPER_STEPS:  # the comparison at the paper's code's own steps
            paper = tries[1.0] if full_grid else (
                chosen if best == 1.0 else run(p, method, opts, ref, target, cap, check))
            out[f"{label}@paper"] = dict(paper, factor=1.0)
        what = "full budget" if full_grid else f"{short:g} epochs, tail minimum"
        shown = ", ".join(
            f"×{f:g}: " + (f"{r['to_target']:.0f} ep" if r["to_target"] is not None and full_grid
                           else f"{(_tail_min(r) if not full_grid else r['final']):.1e}")
            for f, r in tries.items())
        log.append(f"| {LABELS[label]} | {what} | {shown} | ×{best:g} = {best * ref:.4g} |")
        print(log[-1], flush=True)
    return out


def at(r: dict, epoch: float) -> float:
    """The last residual recorded at or before ``epoch``."""
    j = np.searchsorted(r["epochs"], epoch, side="right") - 1
    return float(r["res"][max(j, 0)])


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


def table(name: str, rows: dict, target: float, budget: float, caps: dict) -> str:
    lines = [f"#### {name}", "",
             f"| method | step (× paper's) | epochs to {target:g} | residual at {WINDOW} epochs "
             "| residual at the end (epochs) | wall time |", "|---|---|---|---|---|---|"]
    for label, r in rows.items():
        if label.endswith("@paper"):
            continue
        cap = caps.get(label, budget)
        to = f"{r['to_target']:,.0f}" if r["to_target"] is not None else f"> {cap:,.0f}"
        lines.append(f"| {LABELS[label]} | {r['step']:.4g} (×{r['factor']:g}) | {to} | "
                     f"{at(r, WINDOW):.2e} | {r['final']:.2e} ({r['epochs'][-1]:,.0f}) | "
                     f"{r['time']:.1f} s |")
    lines += ["", "At the paper's code's own steps (no tuning):", "",
              f"| method | step | epochs to {target:g} | residual at the end (epochs) |",
              "|---|---|---|---|"]
    for label in PAPER_STEPS:
        r = rows[f"{label}@paper"]
        to = f"{r['to_target']:,.0f}" if r["to_target"] is not None else f"> {budget:,.0f}"
        lines.append(f"| {LABELS[label]} | {r['step']:.4g} | {to} | {r['final']:.2e} "
                     f"({r['epochs'][-1]:,.0f}) |")
    return "\n".join(lines)


def verdicts(name: str, rows: dict, caps: dict, budget: float) -> list[str]:
    out = []

    def epochs(label: str) -> float:
        r = rows[label]
        return r["to_target"] if r["to_target"] is not None else math.inf

    def show(label: str) -> str:
        v = epochs(label)
        return f"{v:,.0f}" if math.isfinite(v) else f"> {caps.get(label, budget):,.0f}"

    paper = {k: rows[f"{k}@paper"]["to_target"] for k in PAPER_STEPS}
    fin = {k: (v if v is not None else math.inf) for k, v in paper.items()}
    shown = {k: f"{v:,.0f}" if math.isfinite(v) else f"> {budget:,.0f}" for k, v in fin.items()}
    met = math.isfinite(fin["alg1"]) and fin["alg1"] < min(fin["eg"], fin["eag"])
    verdict = "met" if met else ("NOT met" if math.isfinite(fin["alg1"]) else
                                 "NOT met (target not reached)")
    out.append(f"| {name}, at the paper's steps: {LABELS['alg1']} needs fewer epochs than EG "
               f"and EAG | fewer | {verdict}: {shown['alg1']} vs EG "
               f"{shown['eg']}, EAG {shown['eag']} |")
    for label in ("alg1", "alg2"):
        mine = epochs(label)
        beats = [mine < epochs(b) for b in ("eg", "eag")]
        undecided = not math.isfinite(mine)
        met = "NOT met (target not reached)" if undecided else (
            "met" if all(beats) else "NOT met")
        out.append(f"| {name}, every step tuned: {LABELS[label]} needs fewer epochs than EG "
                   "and EAG | "
                   f"fewer | {met}: {show(label)} vs EG {show('eg')}, EAG {show('eag')} |")
        r = rows[label]
        stopped_at_target = r["to_target"] is not None and r["to_target"] <= WINDOW
        window = WINDOW if stopped_at_target else min(WINDOW, r["epochs"][-1])
        ok, mins = no_plateau(r, min(WINDOW, r["epochs"][-1]))  # fifths of what ran
        reached = rows[label]["to_target"]
        how = (f"target reached at {reached:,.0f} epochs; " if reached is not None
               and reached <= window else "")
        out.append(f"| {name}: {LABELS[label]} does not stall above the target within "
                   f"{window:,.0f} epochs | reaches it, or each fifth of the window ≤ 0.9 × "
                   f"the previous | {'met' if ok else 'NOT met'}: {how}minimum per fifth "
                   + ", ".join(f"{m:.1e}" for m in mins) + " |")
    return out


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
        ax.semilogy(np.maximum(ep[keep], 1e-1), res[keep], label=LABELS[label],
                    lw=2.2 if label.startswith("alg") else 1.4)
    start = max(float(r["res"][0]) for r in rows.values())
    ax.set_ylim(top=30 * start)  # a diverging run would flatten every other curve
    ax.axhline(target, color="k", ls=":", lw=1, label=f"target {target:g}")
    ax.axvline(WINDOW, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("epochs (oracle calls / n)")
    ax.set_ylabel("operator residual of the last iterate")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return _report.save_figure(fig, f"halpern_{name}.png")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes; writes nothing")
    ap.add_argument("--game-epochs", type=float, default=20_000)
    ap.add_argument("--qp-epochs", type=float, default=5e6)
    ap.add_argument("--qp-slow-epochs", type=float, default=1e6,
                    help="budget of VR-EG, Algorithm 2 and Halpern on the QP (slower per epoch)")
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    q = args.quick
    specs = [
        ("game", matrix_game(30 if q else 500, seed=1), 1e-4, 300 if q else args.game_epochs,
         100 if q else 2000, [1, 4] if q else [1, 2, 4, 8, 16, 32, 64], {}, 1.0 if q else 10.0),
        ("qp", constrained_qp(20 if q else 200), 1e-3, 2000 if q else args.qp_epochs,
         500 if q else 1e5, [0.5, 1] if q else [0.5, 1, 2, 4, 8],
         {k: (1000 if q else args.qp_slow_epochs) for k in ("alg2", "vr-eg", "halpern")},
         10.0 if q else 100.0),
    ]
    sections, summary, tuning = [], [], []
    for kind, p, target, budget, short, grid, caps, check in specs:
        log = [f"**{p.name}**", "", "| method | tuned on | residual (or epochs to target) "
               "per step multiple | chosen |", "|---|---|---|---|"]
        rows = tuned(kind, p, target, budget, short, grid, caps, check, log)
        title = f"{p.name} (n = {p.n}, {p.dim} unknowns)"
        text = table(title, rows, target, budget, caps)
        print(text, flush=True)
        summary.extend(verdicts(p.name, rows, caps, budget))
        if not (q or args.no_write):
            img = plot(kind, title, rows, target)
            text += f"\n\n![{kind}]({Path(img).relative_to(_report.DOCS.parent)})"
        sections.append(text)
        tuning.append("\n".join(log))
    verdict = "\n".join(["| target | wanted | measured |", "|---|---|---|", *summary])
    print(verdict)
    if q or args.no_write:
        return 0
    body = ("## Halpern and variance-reduced Halpern (issue 7)\n\n"
            + _report.header(_report.command_line())
            + "\n### Targets\n\n" + verdict + "\n\n### Per problem\n\n"
            + "\n\n".join(sections) + "\n\n### Step tuning\n\n" + "\n\n".join(tuning) + "\n")
    _report.write_section("halpern", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

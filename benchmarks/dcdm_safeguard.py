"""What DCDM's safeguard costs, by side preconditioner and model, against CG, IC(0)- and AMG-PCG.

Issue 28 items 1 and 3 in 2D. One run, interleaved, the minimum of ``--repeats`` wall
times per method and layout (the whole ``unisolve.solve`` call: IC(0) and AMG include
their set-up), on unseen ``pressure_poisson(n, seed=s)`` layouts (s = 1..``--layouts``;
the models were trained on seeds ≥ 1000) at 64², 128², 256², rtol 1e-6 on the true
residual from x0 = 0, every run checked:

* CG, IC(0)-PCG, AMG-PCG (PyAMG smoothed aggregation, seeded set-up): the peers;
* ``ML plain``: the multilevel model (:func:`~unisolve.learned.dcdm_multilevel.
  pretrained_multilevel`), ``safeguard=False`` (the paper's method);
* ``ML + jacobi`` / ``ML + ic0``: the same with the Jacobi- / IC(0)-PCG run beside it;
* ``old + jacobi`` / ``old + ic0``: the pooled model (:func:`~unisolve.learned.dcdm.
  pretrained`), safeguarded; its application costs 13-28x the multilevel one's, so it
  runs only up to ``--old-max-n`` (default 128) on the first ``--old-layouts`` layouts
  (default 1 above 64²), one timing each.

``--outside`` runs, instead, the 64² 'outside the family' systems of ``benchmarks/dcdm.py
--outside`` (Dirichlet boxes, one large obstacle, thin walls, a maze, a varying
coefficient, a pinned cell): iterations and time of every variant against CG's.

Usage::

    python benchmarks/dcdm_safeguard.py [--sizes 64 128 256] [--layouts 3] [--repeats 3]
                                        [--outside] [--write]

Writes docs/BENCHMARKS.md (section ``dcdm-safeguard``, ``dcdm-safeguard-outside``) with
``--write``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _report  # noqa: E402

import unisolve as us  # noqa: E402

RTOL = 1e-6
PEERS = ("CG", "IC(0)-PCG", "AMG-PCG")
NETS = ("ML plain", "ML + jacobi", "ML + ic0", "old + jacobi", "old + ic0")
METHODS = PEERS + NETS


def options(name: str) -> dict:
    """``unisolve.solve`` options of each row."""
    from unisolve.learned.dcdm import pretrained
    from unisolve.learned.dcdm_multilevel import pretrained_multilevel

    if name in PEERS:
        return {"CG": {"method": "cg"},
                "IC(0)-PCG": {"method": "pcg", "preconditioner": "ic0"},
                "AMG-PCG": {"method": "pcg", "preconditioner": "amg"}}[name]
    model = pretrained_multilevel() if name.startswith("ML") else pretrained()
    guard = name.split()[-1]
    return {"method": "dcdm", "model": model, "safeguard": False if guard == "plain" else guard}


def run(p, name: str, cap: int):
    if name == "AMG-PCG":
        np.random.seed(0)  # noqa: NPY002 -- pyamg draws its spectral-radius guess from here
    extra = {"maxiter": cap} if name in NETS else {}
    return us.solve(p, rtol=RTOL, **options(name), **extra)


def checked(p, r) -> bool:
    rel = float(np.linalg.norm(p.b - p.A @ r.x) / np.linalg.norm(p.b))
    return bool(r.converged and rel <= RTOL * (1 + 1e-9))


def measure(p, names: list[str], repeats: int, once: set[str]) -> dict:
    """Iterations, min wall time, converged, network directions kept of each method on p,
    interleaved; names in ``once`` (and any failed run) are timed once."""
    cap = max(200, 2 * us.solve(p, method="cg", rtol=RTOL).iterations)
    best: dict = {k: np.inf for k in names}
    last: dict = {}
    for i in range(repeats):
        for k in names:
            if i and (k in once or not checked(p, last[k])):
                continue
            t0 = time.perf_counter()
            last[k] = run(p, k, cap)
            best[k] = min(best[k], time.perf_counter() - t0)
    return {k: {"its": last[k].iterations, "time": best[k], "ok": checked(p, last[k]),
                "kept": last[k].info.get("network_directions"),
                "fallback": last[k].info.get("fallback")} for k in names}


def table(rows: list[tuple[str, dict]], names: list[str]) -> list[str]:
    lines = ["| system | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for label, res in rows:
        cg = res["CG"]
        cells = []
        for k in names:
            v = res.get(k)
            if v is None:
                cells.append("—")
                continue
            kept = "" if v["kept"] is None else f", net {v['kept']}"
            cell = (f"{v['its']} its ({v['its'] / cg['its']:.2f}x{kept}), {v['time']:.3g} s "
                    f"({v['time'] / cg['time']:.2f}x)")
            cells.append(cell if v["ok"] else f"**not converged**: {cell}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--layouts", type=int, default=3, help="seeds 1..N (default 3)")
    ap.add_argument("--repeats", type=int, default=3, help="timing repeats, min (default 3)")
    ap.add_argument("--old-max-n", type=int, default=128,
                    help="largest size the pooled (old) model runs at (default 128)")
    ap.add_argument("--old-layouts", type=int, default=1,
                    help="layouts the old model runs on above 64² (default 1)")
    ap.add_argument("--outside", action="store_true",
                    help="the 64² outside-the-family systems of benchmarks/dcdm.py instead")
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    cmd = _report.command_line()
    t_start = time.perf_counter()
    warm = us.problems.pressure_poisson(16, seed=0)
    for k in METHODS:  # numba kernels, torch start-up
        run(warm, k, 100)
    rows, missed = [], []
    for n in [] if args.outside else args.sizes:
        for s in range(1, args.layouts + 1):
            p = us.problems.pressure_poisson(n, seed=s)
            names = [k for k in METHODS if not k.startswith("old") or n <= 64
                     or (n <= args.old_max_n and s <= args.old_layouts)]
            res = measure(p, names, args.repeats, {k for k in names if k.startswith("old")})
            rows.append((f"{n}² seed {s}", res))
            print(f"{n}² seed {s}: " + ", ".join(f"{k} {v['its']} its {v['time']:.3g} s"
                                                 + ("" if v["ok"] else " FAILED")
                                                 for k, v in res.items()), flush=True)
    outside = []
    if args.outside:
        import dcdm as dcdm_bench

        for label, p in dcdm_bench.outside_problems(64, 2)[1:]:
            res = measure(p, list(METHODS), args.repeats, {"old + jacobi", "old + ic0"})
            outside.append((label + " 64²", res))
            print(f"{label}: " + ", ".join(f"{k} {v['its']} its {v['time']:.3g} s"
                                           + ("" if v["ok"] else " FAILED")
                                           for k, v in res.items()), flush=True)
    for label, res in rows + outside:
        for k, v in res.items():
            if k in NETS and k != "ML plain" and not (v["ok"] and v["its"] <= res["CG"]["its"]):
                missed.append(f"{label}: {k}")
    body = "\n".join([
        "## DCDM's safeguard: side preconditioner and model, 2D (`benchmarks/dcdm_safeguard.py`)",
        "", _report.header(cmd).rstrip(),
        f"- unseen `pressure_poisson(n, seed=s)` layouts; rtol {RTOL:g} on the true residual, "
        f"every run checked; cell: iterations (/ CG's) and the min of {args.repeats} "
        "interleaved wall times of the whole `unisolve.solve` call (/ CG's); one torch thread",
        "- ML: `pretrained_multilevel()`; old: `pretrained()` (timed once; not run at 256²: "
        "one solve there takes minutes); `+ jacobi` / `+ ic0`: the PCG run beside the "
        "network; plain: `safeguard=False`; net k: network directions in the returned "
        "iterate (0: the side PCG's iterate was returned)", "",
        *([*table(rows, list(METHODS)), ""] if rows else []),
        *(["Outside the training family (64²):", "", *table(outside, list(METHODS)), ""]
          if outside else []),
        "Target (issue 28 item 1), safeguarded rows: converged in ≤ 1.0x CG's iterations: "
        + ("met everywhere." if not missed else f"**NOT met**: {'; '.join(missed)}."),
        f"\nRun time: {time.perf_counter() - t_start:.0f} s.",
    ])
    print(body)
    _report.write_section("dcdm-safeguard" + "-outside" * args.outside, body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

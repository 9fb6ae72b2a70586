"""Issue 27 item 4: the constrained test set after the robust-start changes.

(a) Every test-set problem from its published start with the three constrained methods at
    their defaults (500 outer iterations, inner cap 1e5, seed 0), KKT tolerance 1e-4 (the
    tolerance of benchmarks/constrained.py): solved fraction over the 44 problems of the
    set before issue 27 and over the whole set, median outer iterations of the solved
    ones, regularised steps and direct-solve fallbacks. ORTHREGB with Gaussian sketches is
    left out (minutes; benchmarks/constrained.py has it).
(b) HS61 (rank-1 Jacobian at x0) and HS111LNP at KKT 1e-8: status, iterations, f and
    its relative error against the published f*.

With ``--baseline DIR`` (a checkout of an older version with this checkout's
unisolve/problems/cutest_*.py copied in, so that both run the same problems) the same
runs there, in a child process with ``PYTHONPATH=DIR``, side by side.

Usage: ``python benchmarks/robust_start.py [--quick] [--write] [--baseline DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report

METHODS = {"sketch-newton RK": ("sketch-newton", {"sketch": "kaczmarz"}),
           "sketch-newton Gauss": ("sketch-newton", {"sketch": "gaussian"}),
           "newton-kkt": ("newton-kkt", {})}
ADDED = {"HS8", "HS9", "HS60", "HS61", "HS63", "HS80", "HS81", "HS100LNP", "HS111LNP",
         "MARATOS"}
QUICK = ["HS6", "BT2", "HS9", "HS61", "HS63"]


def measure(names: list[str] | None) -> dict:
    """Runs of (a) and (b) with whatever ``unisolve`` this process imports."""
    import warnings

    import unisolve as us
    from unisolve.problems.constrained import test_set

    warnings.simplefilter("ignore", RuntimeWarning)  # overflow on far trial points
    out: dict = {"set": {}, "targets": {}}
    for name, p in test_set(names).items():
        row = {}
        for label, (method, opts) in METHODS.items():
            if name == "ORTHREGB" and label.endswith("Gauss"):
                continue
            r = us.solve(p, method=method, atol=1e-4, rtol=0.0, seed=0, **opts)
            row[label] = {"solved": bool(r.converged), "status": r.status.name,
                          "its": r.iterations, "reg": r.info.get("regularized_steps", 0),
                          "direct": r.info.get("full_solve_steps", 0)
                          + r.info.get("line_search_recoveries", 0)}
        out["set"][name] = row
        print(name, {k: (v["status"], v["its"]) for k, v in row.items()}, flush=True)
    for name in [n for n in ("HS61", "HS111LNP") if names is None or n in names]:
        p = test_set([name])[name]
        for label, (method, opts) in METHODS.items():
            r = us.solve(p, method=method, atol=1e-8, seed=0, **opts)
            out["targets"][f"{name} {label}"] = {
                "status": r.status.name, "its": r.iterations, "f": float(r.info["f"]),
                "rel": abs(r.info["f"] - p.f_star) / abs(p.f_star)}
    return out


def summary(res: dict) -> str:
    lines = ["| method | solved, the 44 of before issue 27 | solved, whole set | "
             "median outer its (solved) | regularised steps | direct fallbacks |",
             "|---|---|---|---|---|---|"]
    for label in METHODS:
        rows = {n: r[label] for n, r in res["set"].items() if label in r}
        old = [r for n, r in rows.items() if n not in ADDED]
        its = [r["its"] for r in rows.values() if r["solved"]]
        lines.append(
            f"| {label} | {sum(r['solved'] for r in old)}/{len(old)} | "
            f"{sum(r['solved'] for r in rows.values())}/{len(rows)} "
            f"({100 * sum(r['solved'] for r in rows.values()) / len(rows):.0f} %) | "
            f"{statistics.median(its) if its else '–'} | "
            f"{sum(r['reg'] for r in rows.values())} | "
            f"{sum(r['direct'] for r in rows.values())} |")
    if res["targets"]:
        lines += ["", "| problem, method (KKT 1e-8) | status | outer its | f | |f − f*|/|f*| |",
                  "|---|---|---|---|---|"]
        for key, t in res["targets"].items():
            lines.append(f"| {key} | {t['status']} | {t['its']} | {t['f']:.10g} | "
                         f"{t['rel']:.1e} |")
    failed = [f"{n} {lab}: {r['status']}" for n, row in res["set"].items()
              for lab, r in row.items() if not r["solved"]]
    return "\n".join(lines) + "\n\nNot solved: " + ("; ".join(failed) or "none") + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    ap.add_argument("--baseline", metavar="DIR", help="also run an older checkout")
    ap.add_argument("--json", metavar="FILE", help=argparse.SUPPRESS)  # the child's output
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    names = QUICK if args.quick else None
    if args.json:
        Path(args.json).write_text(json.dumps(measure(names)))
        return 0
    res = measure(names)
    text = "### This checkout\n\n" + summary(res)
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "baseline.json"
            env = {**os.environ, "PYTHONPATH": str(Path(args.baseline).resolve())}
            cmd = [sys.executable, __file__, "--json", str(out)] + (["--quick"] * args.quick)
            subprocess.run(cmd, env=env, check=True, cwd=args.baseline)
            text += "\n### Baseline " + args.baseline + "\n\n" + summary(
                json.loads(out.read_text()))
    print(text)
    _report.write_section("robust_start", "## Robust start of the constrained methods "
                          "(issue 27)\n\n" + _report.header(_report.command_line()) + "\n"
                          + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

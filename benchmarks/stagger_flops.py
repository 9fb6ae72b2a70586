"""Where NeuralStagger's FLOP advantage goes: time and FLOP rate of each decomposition's
network pass, its convolutions alone, and the whole step, before and after the fast
inference pass (issue 29, item 3).

For (s_H, s_W, s_T) = (1,1,1), (2,2,1), (2,2,1) shared and (4,4,1) on decaying
turbulence at 64² and 128² (fine width 32, sub-network width round(32/√(s_H s_W)) and
levels as :func:`unisolve.learned.stagger.train` chooses them; untrained models: the
time does not depend on the weights), at batch 1 and 8, each with 1 and 2 torch threads:

* **conv**: the network's convolutions alone (``F.conv2d`` on the padded inputs the
  pass produces, the combined filters formed beforehand): the kernel's FLOP rate;
* **net**: :meth:`StaggerModel._net_pass` with the reference out-of-place pass
  (``ref``, what main ran before) and the in-place inference pass (``fast``,
  :mod:`unisolve.learned.stagger_conv`);
* **step**: the whole :meth:`StaggerModel.advance` (input features, network, the
  spectral layer rfft/irfft, re-assembly), ``ref`` and ``fast``.

FLOPs are counted analytically, 2·c_in·c_out·k²·cells per convolution (the network
only; GFLOP/s = those FLOPs / time). All times of one (size, batch, threads) block are
measured in one run, interleaved, as the median of ``--repeats`` rounds; the split of
the fast step is conv / pointwise work inside the network (net − conv) / outside the
network (step − net).

    python benchmarks/stagger_flops.py                 # print the tables
    python benchmarks/stagger_flops.py --write         # and write docs/BENCHMARKS.md

``--quick`` runs 16² and 32² only (smoke test).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _report  # noqa: E402

SPEED_TARGET = 3.0
SETTINGS = (((1, 1, 1), False), ((2, 2, 1), False), ((2, 2, 1), True), ((4, 4, 1), False))


def _label(s, shared):
    return f"({s[0]},{s[1]},{s[2]})" + (" shared" if shared else "")


def _convs(net):
    """The TiedConv2d layers of a StaggerNet in the order the pass runs them."""
    return [net.lift, *net.layers, net.out]


def net_flops(net, batch, h, w):
    """2·c_in·c_out·k²·cells of every convolution of one pass over (batch, ·, h, w)."""
    total = 0
    for conv in _convs(net):
        c_out, c_in, k, _ = conv.weight.shape
        total += 2 * c_in * c_out * k * k * h * w * net.groups * batch
    return total


def conv_only(net, x, torch, F, sc):
    """A closure running the pass's convolutions alone on the padded inputs the pass
    produces (captured once; the filters formed beforehand)."""
    calls = []
    with torch.inference_mode():
        z = x
        for i, conv in enumerate(_convs(net)):
            w, b = sc.combined_filters(conv)
            pad = conv.dilation * (conv.kernel // 2)
            zp = F.pad(z, (pad,) * 4, mode="circular") if pad else z
            calls.append((zp, w, b, conv.dilation, conv.groups))
            y = F.conv2d(zp, w, b, dilation=conv.dilation, groups=conv.groups)
            if i == 0:
                z = F.gelu(y)
            elif i <= len(net.layers):
                z = z + F.gelu(y)

    def run():
        for zp, w, b, d, g in calls:
            F.conv2d(zp, w, b, dilation=d, groups=g)

    return run


def measure(n, batch, threads, repeats, timer, stat, torch, st, sc, mf):
    """One block: every setting's conv / net / step times (the median, or min, of
    ``repeats`` interleaved rounds). Returns a list of row dicts."""
    from torch.nn import functional as F

    torch.set_num_threads(threads)
    problem = mf.decaying_turbulence(n, steps=1)
    rows, fns = [], {}
    for s, shared in SETTINGS:
        torch.manual_seed(0)
        model = st.train(problem, s=s, shared=shared, width=32, iterations=1, batch=1,
                         pool=1, progress_bar=False)
        psi0 = torch.as_tensor(
            np.stack([mf.decaying_turbulence(n, seed=k).psi0 for k in range(batch)]),
            dtype=torch.float32)
        p0 = torch.zeros_like(psi0)
        with torch.inference_mode():
            x = model._features(*model._split(psi0, p0))       # (B, G, c, h, w)
            b_, g_, c_, hh, ww = x.shape
            net_x = (model._with_offsets(x, range(g_)).reshape(b_ * g_, -1, hh, ww)
                     if shared else x.reshape(b_, g_ * c_, hh, ww))
        tag = _label(s, shared)

        def fast(f):
            def run():
                with torch.inference_mode():
                    f()
            return run

        def ref(f):
            def run():
                with torch.inference_mode(), sc.use_fast_pass(False):
                    f()
            return run

        fns[(tag, "conv")] = fast(conv_only(model.net, net_x, torch, F, sc))
        fns[(tag, "net ref")] = ref(lambda m=model, x=x: m._net_pass(x))
        fns[(tag, "net fast")] = fast(lambda m=model, x=x: m._net_pass(x))
        fns[(tag, "step ref")] = ref(lambda m=model, a=psi0, b=p0: m.advance(a, b))
        fns[(tag, "step fast")] = fast(lambda m=model, a=psi0, b=p0: m.advance(a, b))
        rows.append({"n": n, "setting": tag, "batch": batch, "threads": threads,
                     "net": f"{model.net.groups} × {model.config['width']}",
                     "flops": net_flops(model.net, net_x.shape[0], hh, ww)})
    clock = time.thread_time if timer == "cpu" and threads == 1 else time.perf_counter
    for f in fns.values():   # warm-up (oneDNN primitives, the cached filters and symbols)
        f()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = clock()
            f()
            times[k].append(clock() - t0)
    reduce = statistics.median if stat == "median" else min
    med = {k: reduce(v) for k, v in times.items()}
    for r in rows:
        for what in ("conv", "net ref", "net fast", "step ref", "step fast"):
            r[what] = med[(r["setting"], what)]
    return rows


def table(rows):
    """Markdown lines of one table; speed-ups against the block's (1,1,1) 'step ref'."""
    lines = ["| grid | setting | nets × width | batch | threads | net GFLOP / step | "
             "conv ms | conv GFLOP/s | net ms ref → fast | net GFLOP/s ref → fast | "
             "step ms ref → fast | fast / ref | step split conv / pointwise / outside net | "
             "vs (1,1,1) ref | vs (1,1,1) fast |",
             "|---|---|---|---:|---:|---:|---:|---:|---|---|---|---:|---|---:|---:|"]
    fine = {(r["n"], r["batch"], r["threads"]): r for r in rows
            if r["setting"] == "(1,1,1)"}
    for r in rows:
        f = fine[(r["n"], r["batch"], r["threads"])]
        gf = r["flops"] / 1e9
        conv, nref, nfast, sref, sfast = (r[k] for k in ("conv", "net ref", "net fast",
                                                         "step ref", "step fast"))
        split = (f"{conv / sfast:.0%} / {max(nfast - conv, 0) / sfast:.0%} / "
                 f"{max(sfast - nfast, 0) / sfast:.0%}")
        lines.append(
            f"| {r['n']}² | {r['setting']} | {r['net']} | {r['batch']} | {r['threads']} | "
            f"{gf:.3f} | {conv * 1e3:.2f} | {gf / conv:.1f} | "
            f"{nref * 1e3:.2f} → {nfast * 1e3:.2f} | {gf / nref:.1f} → {gf / nfast:.1f} | "
            f"{sref * 1e3:.2f} → {sfast * 1e3:.2f} | {sref / sfast:.2f} | {split} | "
            f"{f['step ref'] / sref:.2f} | **{f['step ref'] / sfast:.2f}** |")
    return lines


def targets(rows):
    """The issue's target line per (grid, threads): (2,2,1) vs (1,1,1) at batch 8."""
    out = []
    for r in rows:
        if r["setting"] != "(2,2,1)" or r["batch"] != 8:
            continue
        f = next(q for q in rows if q["setting"] == "(1,1,1)" and q["n"] == r["n"]
                 and q["batch"] == 8 and q["threads"] == r["threads"])
        before, after = f["step ref"] / r["step ref"], f["step fast"] / r["step fast"]
        verdict = "met" if after >= SPEED_TARGET else "MISSED"
        out.append(f"- (2,2,1) vs (1,1,1), {r['n']}², batch 8, {r['threads']} thread(s): "
                   f"{before:.2f}× per step before, **{after:.2f}×** with the fast pass on "
                   f"both (target ≥ {SPEED_TARGET:g}: {verdict})")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="16² and 32², 3 rounds")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=7, help="interleaved rounds (median)")
    ap.add_argument("--timer", choices=("wall", "cpu"), default="wall",
                    help="wall clock, or the thread's CPU time (1-thread blocks only; "
                         "robust on a loaded machine)")
    ap.add_argument("--stat", choices=("median", "min"), default="median",
                    help="how the rounds reduce to one time")
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats = [16, 32], 3
    import torch

    from unisolve.learned import stagger as st
    from unisolve.learned import stagger_conv as sc
    from unisolve.problems import mac_flow as mf

    t0 = time.perf_counter()
    threads_before = torch.get_num_threads()
    rows = []
    try:
        for threads in args.threads:
            for n in args.sizes:
                for batch in args.batches:
                    rows += measure(n, batch, threads, args.repeats, args.timer, args.stat,
                                    torch, st, sc, mf)
    finally:
        torch.set_num_threads(threads_before)
    body = [
        "## NeuralStagger: FLOP rate of the sub-networks (issue 29, item 3)", "",
        _report.header(_report.command_line()).rstrip(),
        f"- timer: {args.timer} (CPU time applies to 1-thread blocks; wall clock for more); "
        f"{args.stat} of {args.repeats} interleaved rounds per (grid, batch, threads) "
        f"block; float32; untrained models (fine width 32); whole run "
        f"{time.perf_counter() - t0:.0f} s",
        "- ref: the out-of-place pass (main before); fast: GELU and the residual add in "
        "place, filters w + δ_g cached (unisolve/learned/stagger_conv.py; equal bit for "
        "bit); speed-ups are against (1,1,1) 'ref' of the same block", "",
        *table(rows), "", *targets(rows)]
    text = "\n".join(body)
    print(text)
    _report.write_section("stagger-flops", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

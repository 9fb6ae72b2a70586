"""NeuralStagger on a GPU (issue 29, item 2's GPU half): time per step of each
decomposition at batch 1 and 8, launched kernel by kernel and replayed as one CUDA
graph, and the trained 128² models per unit of simulated time against mac-cn in the
same run.

    python benchmarks/stagger_gpu.py --models DIR --write     # on a machine with CUDA
    python benchmarks/stagger_gpu.py --device cpu --quick     # smoke test (no graph)

**step**: untrained networks of each shape ((1,1,1), (2,2,1), (2,2,1) shared, (4,4,1);
fine width 32, the sub-network widths and levels as :func:`unisolve.learned.stagger.train`
chooses them, as in ``stagger_flops.py``; the weights do not change the time) at
``--sizes`` (128², 256², 512²): milliseconds per :meth:`StaggerModel.advance` in
float32 under ``torch.inference_mode``, timed with CUDA events around ``--inner``
steps, the median of ``--repeats`` rounds. "eager" launches every kernel from Python
as a rollout does; "graph" captures one step as a CUDA graph and replays it (the
launch cost gone: what the kernels themselves take). Before the timing, every shape's
GPU step is checked against the CPU's on the same state with non-zero weights, in
float32 (the convolutions in TF32, torch's default on the GPU) and in float64.

**unit** (with ``--models``, the 128² files of ``benchmarks/stagger.py``:
``t128_*.pt``): those models and their classical steps alone on the GPU, rolled out
strided to t = 1, against mac-cn's settings on this machine's CPU in the same run
(``stagger.py``'s ``time_case``: seconds per unit of simulated time, error at t = 1).
"""

from __future__ import annotations

import argparse
import copy
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
import stagger as sb  # noqa: E402
from stagger_flops import SETTINGS, _label, net_flops  # noqa: E402

SPEED_TARGET = 3.0


def _median_ms(fn, inner, repeats, torch, device):
    """Median over ``repeats`` rounds of the time of ``inner`` calls of fn, per call (ms):
    CUDA events on a GPU, the wall clock (after a synchronise) elsewhere."""
    fn()
    out = []
    for _ in range(repeats):
        if device.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(inner):
                fn()
            b.record()
            b.synchronize()
            out.append(a.elapsed_time(b) / inner)
        else:
            t0 = time.perf_counter()
            for _ in range(inner):
                fn()
            out.append((time.perf_counter() - t0) / inner * 1e3)
    return statistics.median(out)


def _graph(model, psi, p, torch):
    """One advance captured as a CUDA graph: its replay (the inputs are the static psi, p)."""
    with torch.inference_mode():
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):      # warm-up: cuFFT plans, cached constants, filters
            for _ in range(3):
                model.advance(psi, p)
        torch.cuda.current_stream().wait_stream(side)
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            model.advance(psi, p)
    return g.replay


def _kernels(fn, torch):
    """(kernels launched, their summed device time in ms) of one call of fn, from the
    torch profiler."""
    from torch.profiler import ProfilerActivity, profile

    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    ev = [e for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA]
    busy = sum(getattr(e, "device_time", None) or e.cuda_time for e in ev)
    return len(ev), busy / 1e3


def _perturbed(model, torch, seed=0, scale=0.05):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for q in model.net.parameters():
            q.add_(scale * torch.randn(q.shape, generator=g, dtype=q.dtype).to(q.device))
    return model


def _check(model, psi, p, torch, device):
    """Relative difference of the GPU step's update from the CPU's (same weights, same
    state): float32 as run, and float64."""
    out = {}
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        cpu = _perturbed(copy.deepcopy(model), torch).to("cpu")
        cpu.net.to(dtype)
        dev = copy.deepcopy(cpu).to(device)
        a, b = psi.to("cpu", dtype), p.to("cpu", dtype)
        with torch.inference_mode():
            want = cpu.advance(a, b)[0] - a
            got = dev.advance(a.to(device), b.to(device))[0].cpu() - a
        out[name] = float((got - want).norm() / want.norm())
    return out


def step_rows(sizes, batches, inner, repeats, torch, st, mf, device, quick, kernels=False):
    rows = []
    for n in sizes:
        problem = mf.decaying_turbulence(n, steps=1)
        for batch in batches:
            psi = torch.as_tensor(np.stack([mf.decaying_turbulence(n, seed=k).psi0
                                            for k in range(batch)]), dtype=torch.float32)
            for s, shared in SETTINGS:
                torch.manual_seed(0)
                model = st.train(problem, s=s, shared=shared, width=32, iterations=1,
                                 batch=1, pool=1, progress_bar=False)
                g = s[0] * s[1]
                flops = net_flops(model.net, batch * g if shared else batch,
                                  n // s[0], n // s[1])
                row = {"n": n, "batch": batch, "setting": _label(s, shared),
                       "net": f"{model.net.groups} × {model.config['width']}",
                       "flops": flops}
                if batch == batches[0] and n == sizes[0]:
                    row["check"] = _check(model, psi, torch.zeros_like(psi), torch, device)
                model.to(device)
                x, q = psi.to(device), torch.zeros_like(psi, device=device)
                with torch.inference_mode():
                    row["eager"] = _median_ms(lambda m=model, x=x, q=q: m.advance(x, q),
                                              inner, repeats, torch, device)
                row["graph"] = None
                if kernels and device.type == "cuda":
                    try:
                        with torch.inference_mode():
                            row["kernels"] = _kernels(lambda m=model, x=x, q=q: m.advance(x, q),
                                                      torch)
                    except Exception as exc:
                        print("profiler:", type(exc).__name__, exc, flush=True)
                if device.type == "cuda" and not quick:
                    try:
                        replay = _graph(model, x, q, torch)
                        row["graph"] = _median_ms(replay, inner, repeats, torch, device)
                    except Exception as exc:   # report, do not hide, a capture failure
                        row["graph_error"] = f"{type(exc).__name__}: {exc}"[:120]
                rows.append(row)
                print(row, flush=True)
    return rows


def step_table(rows):
    prof = any("kernels" in r for r in rows)
    lines = ["| grid | setting | nets × width | batch | net GFLOP / step | eager ms | "
             "graph ms | eager vs (1,1,1) | graph vs (1,1,1) | graph net GFLOP/s |"
             + (" kernels / step (busy ms) |" if prof else ""),
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if prof else "")]
    fine = {(r["n"], r["batch"]): r for r in rows if r["setting"] == "(1,1,1)"}
    for r in rows:
        f = fine[(r["n"], r["batch"])]
        gr = r["graph"]
        gtxt = f"{gr:.3f}" if gr else r.get("graph_error", "—")
        gsp = f"**{f['graph'] / gr:.2f}**" if gr and f["graph"] else "—"
        rate = f"{r['flops'] / 1e9 / (gr / 1e3):.0f}" if gr else "—"
        lines.append(f"| {r['n']}² | {r['setting']} | {r['net']} | {r['batch']} | "
                     f"{r['flops'] / 1e9:.3f} | {r['eager']:.3f} | {gtxt} | "
                     f"**{f['eager'] / r['eager']:.2f}** | {gsp} | {rate} |"
                     + (f" {r['kernels'][0]} ({r['kernels'][1]:.3f}) |" if "kernels" in r
                        else " — |" if prof else ""))
    return lines


def step_targets(rows):
    out = []
    for r in rows:
        if r["setting"] != "(2,2,1)":
            continue
        f = next(q for q in rows if q["setting"] == "(1,1,1)" and q["n"] == r["n"]
                 and q["batch"] == r["batch"])
        e = f["eager"] / r["eager"]
        g = f["graph"] / r["graph"] if r["graph"] and f["graph"] else None
        best = max(e, g or 0)
        verdict = "met" if best >= SPEED_TARGET else "MISSED"
        out.append(f"- (2,2,1) vs (1,1,1), {r['n']}², batch {r['batch']}: eager {e:.2f}×, "
                   f"graph {'—' if g is None else f'{g:.2f}×'} (target ≥ {SPEED_TARGET:g}"
                   f"{' at batch 1, 128²' if r['batch'] == 1 and r['n'] == 128 else ''}: "
                   f"{verdict})")
    return out


def check_lines(rows):
    out = []
    for r in rows:
        if "check" in r:
            c = r["check"]
            out.append(f"- {r['setting']}, {r['n']}², batch {r['batch']}: ‖GPU − CPU‖ / "
                       f"‖CPU update‖ = {c['float32']:.1e} (float32, TF32 convolutions), "
                       f"{c['float64']:.1e} (float64)")
    return out


def unit_case(models_dir, tests, repeats, torch, st, mf, device, quick):
    """stagger.py's per-unit-time case with the 128² models (and their skips) on ``device``."""
    n = tests[0].flow.shape[0]
    template = mf.decaying_turbulence(n, steps=tests[0].steps)
    where = "GPU" if device.type == "cuda" else str(device)
    models = {}
    for s, sh, t in sb.TIME_CONFIGS:
        path = models_dir / f"t{n}_{sb._tag(s, sh, tendency=t)}.pt"
        if path.is_file():
            models[f"{_label(s, sh)} + {sb.SCHEME[t]} tendency ({where})"] = \
                st.StaggerModel.load(path).to(device)
        elif quick:
            models[f"{_label(s, sh)} + {sb.SCHEME[t]} tendency ({where}, untrained)"] = \
                st.train(template, s=s, shared=sh, width=8, iterations=1, batch=1, pool=1,
                         tendency=t, progress_bar=False).to(device)
        if s[2] > 1:
            models[f"{_label(s, sh)} {sb.SCHEME[t]} step alone (no network, {where})"] = \
                sb._skip_only(st, template, s, sh, tendency=t).to(device)
    case = sb.time_case(n, models, tests, repeats, torch)
    return sb.time_table(case)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--quick", action="store_true", help="16² and 32², few rounds")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--inner", type=int, default=20, help="steps per timed round")
    ap.add_argument("--repeats", type=int, default=7, help="rounds (median)")
    ap.add_argument("--models", type=Path, default=None,
                    help="folder of stagger.py's t128_*.pt models (the unit table)")
    ap.add_argument("--tests", type=int, default=4, help="test trajectories (unit table)")
    ap.add_argument("--unit-repeats", type=int, default=3)
    ap.add_argument("--kernels", action="store_true",
                    help="count the kernels of one step and their busy time (profiler)")
    ap.add_argument("--cudnn-benchmark", action="store_true",
                    help="torch.backends.cudnn.benchmark = True (cuDNN times its algorithms)")
    ap.add_argument("--save", type=Path, default=None, help="also write the section here")
    _report.add_write_options(ap)
    args = ap.parse_args(argv)
    import torch

    from unisolve.learned import stagger as st
    from unisolve.learned.training import torch_device
    from unisolve.problems import mac_flow as mf

    device = torch_device(args.device)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    if args.quick:
        args.sizes, args.inner, args.repeats, args.unit_repeats = [16, 32], 2, 3, 1
    torch.set_num_threads(1)   # mac-cn is one-threaded NumPy; the GPU needs one host thread
    t0 = time.perf_counter()
    gpu = (f"{torch.cuda.get_device_name(device)} (torch {torch.__version__}, CUDA "
           f"{torch.version.cuda}, cuDNN TF32 {torch.backends.cudnn.allow_tf32}, cuDNN "
           f"benchmark {torch.backends.cudnn.benchmark})"
           if device.type == "cuda" else f"{device} (torch {torch.__version__})")
    rows = step_rows(args.sizes, args.batches, args.inner, args.repeats, torch, st, mf,
                     device, args.quick, args.kernels)
    body = ["## NeuralStagger on a GPU (issue 29, item 2)", "",
            _report.header(_report.command_line()).rstrip(),
            f"- device: {gpu}; host: one torch thread",
            f"- step: float32, inference mode, untrained networks of each shape (fine width "
            f"32); CUDA-event time of {args.inner} steps, median of {args.repeats} rounds; "
            "graph = one step captured as a CUDA graph and replayed", "",
            *step_table(rows), "", *step_targets(rows), "", "GPU step against the CPU's "
            "(same state and non-zero weights):", "", *check_lines(rows), ""]
    if args.models is not None or args.quick:
        n = 16 if args.quick else 128
        steps = 10 if args.quick else 50
        tests = [mf.decaying_turbulence(n, seed=1000 + j, steps=steps)
                 for j in range(2 if args.quick else args.tests)]
        tab, tgt = unit_case(args.models or Path("/nonexistent"), tests, args.unit_repeats,
                             torch, st, mf, device, args.quick)
        body += [f"### decaying turbulence {n}² per unit of simulated time: models on the "
                 f"{'GPU' if device.type == 'cuda' else device}, mac-cn on this machine's "
                 "CPU (one thread), same run", "",
                 f"{len(tests)} test trajectories to t = {steps * tests[0].flow.dt:g}; models "
                 "of `benchmarks/stagger.py` (t128_*.pt), rolled out strided; times are "
                 f"medians of {args.unit_repeats} runs of the network loop alone, synchronised "
                 "at the end.", "", tab, tgt]
    body.append(f"- whole run {time.perf_counter() - t0:.0f} s")
    text = "\n".join(body)
    print(text)
    if args.save is not None:
        args.save.write_text(text)
    if not args.quick:
        _report.write_section("stagger-gpu", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

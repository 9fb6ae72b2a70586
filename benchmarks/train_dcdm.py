"""Train the DCDM model that ships inside the package (unisolve/learned/weights/).

    python benchmarks/train_dcdm.py --write              # the shipped model (overwrites it)
    python benchmarks/train_dcdm.py                      # the same run, into ./dcdm_model.pt
    python benchmarks/train_dcdm.py --layouts 2 --samples 50 --epochs 1 --out /tmp/m.pt
    python benchmarks/train_dcdm.py --device cuda --budget 400   # as many epochs as fit
    python benchmarks/train_dcdm.py --kind multilevel --write    # the multilevel model
    python benchmarks/train_dcdm.py --kind multilevel --init dcdm_ml.pt --budget 600 \
        --out dcdm_ml.pt                                         # resume a run

``--kind multilevel`` trains :class:`unisolve.learned.dcdm_multilevel.MultilevelNet`
(a learned V-cycle whose weights are shared by its levels, 8 channels); with
``--write`` it goes to ``dcdm2d_ml.pt`` (``dcdm3d_ml.pt`` with ``--dim 3``), beside the
single-level model, which stays the default of ``method="dcdm"``.

``--budget S`` times the first epoch and then runs as many more as fit in S
seconds, the step size decaying geometrically from ``--lr`` to ``--lr-final``
over them (the number of epochs it chose is recorded, so ``--epochs N
--lr-final ...`` repeats the run). ``--init FILE`` continues from a saved model.

The 3D multilevel model (``weights/dcdm3d_ml.pt``, 4 channels, no blocks, BPX start)::

    python benchmarks/train_dcdm.py --kind multilevel --dim 3 --n 32 --channels 4 \
        --blocks 0 0 0 --layouts 12 --samples 256 --m 300 --batch-size 8 --threads 1 \
        --budget 360 --lr 5e-4 --lr-final 5e-5 --cache /tmp/ml3/ritz --out dcdm3d_ml.pt

Training layouts are ``pressure_poisson(n, dim=dim, seed=s)`` for ``s = 1000, 1001, ...``;
tests and benchmarks use seeds below 1000, so they only ever see unseen layouts.
The run time, the losses and the settings are stored in the model file
(``DCDM.load(path).meta['training']``) and printed at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import unisolve as us
from unisolve.learned.dcdm import DCDM, PRETRAINED_FILE, ritz_training_vectors

WEIGHTS = Path(us.__file__).resolve().parent / "learned" / "weights" / PRETRAINED_FILE
#: the shipped multilevel models (--kind multilevel --write), per grid dimension
MULTILEVEL_FILES = {2: "dcdm2d_ml.pt", 3: "dcdm3d_ml.pt"}
FIRST_TRAINING_SEED = 1000


def ritz_data(p: us.problems.LinearProblem, args: argparse.Namespace, i: int) -> np.ndarray:
    """The Ritz right-hand sides of training layout i (read from / written to --cache)."""
    seed = args.seed + 1000 * i
    path = None
    if args.cache is not None:
        args.cache.mkdir(parents=True, exist_ok=True)
        layout = f"{args.dim}d_{args.n}_layout{FIRST_TRAINING_SEED + i}"
        path = args.cache / f"ritz_{layout}_{args.samples}x{args.m}_seed{seed}.npy"
        if path.is_file():
            return np.load(path)
    B = ritz_training_vectors(p.A, args.samples, args.m, seed=seed)
    if path is not None:
        np.save(path, B)
    return B


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=64, help="cells per side of the training grids")
    ap.add_argument("--dim", type=int, default=2, choices=(2, 3), help="grid dimension")
    ap.add_argument("--layouts", type=int, default=16, help="random obstacle layouts")
    ap.add_argument("--samples", type=int, default=1000, help="Ritz right-hand sides per layout")
    ap.add_argument("--m", type=int, default=600, help="Lanczos steps per layout")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-decay", type=float, default=0.8, help="per-epoch factor")
    ap.add_argument("--lr-final", type=float, default=None,
                    help="decay from --lr to this over the epochs (overrides --lr-decay)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds of training: epochs = as many as fit after timing the first")
    ap.add_argument("--blocks", type=int, nargs=3, default=None,
                    help="residual blocks before / on / after the pooled level (multilevel: "
                         "pre-smoothing / coarsest level / post-smoothing)")
    ap.add_argument("--kind", default="pooled", choices=("pooled", "multilevel"),
                    help="network: 'pooled' (DCDMNet, one pooled level) or 'multilevel' "
                         "(a learned V-cycle with level-shared weights)")
    ap.add_argument("--channels", type=int, default=None,
                    help="feature channels (default 16 pooled, 8 multilevel)")
    ap.add_argument("--init", type=Path, default=None, help="continue from this model file")
    ap.add_argument("--device", default="cpu", help="torch device that trains (cpu, cuda)")
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=1500.0,
                    help="stop after the epoch that ends past this many seconds")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--cache", type=Path, default=None,
                    help="folder that keeps the Ritz vectors between runs (resumed runs "
                         "then skip the Lanczos steps)")
    ap.add_argument("--out", type=Path, default=None,
                    help="model file (default: ./dcdm_model.pt; with --write the shipped "
                         f"{PRETRAINED_FILE} in unisolve/learned/weights/)")
    ap.add_argument("--write", action="store_true",
                    help="overwrite the shipped model (opt-in, as the benchmarks' --write)")
    args = ap.parse_args(argv)
    if args.out is None:  # never overwrite the shipped model unless asked (issue 26, item 16)
        shipped = WEIGHTS if args.kind == "pooled" and args.dim == 2 else \
            WEIGHTS.with_name(MULTILEVEL_FILES[args.dim] if args.kind == "multilevel"
                              else f"dcdm{args.dim}d_{args.n}.pt")
        args.out = shipped if args.write else Path("dcdm_model.pt")
    if args.threads:
        torch.set_num_threads(args.threads)
    problems = [us.problems.pressure_poisson(args.n, dim=args.dim,
                                             seed=FIRST_TRAINING_SEED + i)
                for i in range(args.layouts)]
    t0 = time.perf_counter()
    rhs = [ritz_data(p, args, i) for i, p in enumerate(problems)]
    data_seconds = time.perf_counter() - t0
    if args.init is not None:
        model = DCDM.load(args.init)
        # every earlier stage stays on record: lineage = [first run, ..., the run loaded here]
        earlier = model.meta.pop("lineage", [])
        model.meta["lineage"] = [*earlier, {"file": str(args.init),
                                            **model.meta.get("training", {})}]
    else:
        net = {} if args.blocks is None else {"blocks": tuple(args.blocks)}
        if args.channels is not None:
            net["channels"] = args.channels
        model = DCDM(dim=len(problems[0].grid_shape), seed=args.seed, kind=args.kind, **net)
        model.meta["start"] = ("BPX: MultilevelNet._bpx_start (net(r) = Σ_l 4^l P^l R^l r)"
                               if args.kind == "multilevel" else "random (seeded)")
    fit = {"samples": args.samples, "m": args.m, "batch_size": args.batch_size,
           "device": args.device, "rhs": rhs, "seed": args.seed}
    epochs = args.epochs
    if args.budget is not None:  # time one epoch at the full step size, then fill the budget
        t1 = time.perf_counter()
        model.fit(problems, epochs=1, lr=args.lr, **fit)
        epoch_seconds = time.perf_counter() - t1
        epochs = max(1, int((args.budget - epoch_seconds) / epoch_seconds))
        model.meta["budget"] = {"seconds": args.budget, "first_epoch_seconds": epoch_seconds}
        print(f"one epoch took {epoch_seconds:.1f} s: {epochs} more fit in {args.budget:.0f} s")
    decay = args.lr_decay
    if args.lr_final is not None:
        decay = (args.lr_final / args.lr) ** (1.0 / max(epochs - 1, 1))
    model.fit(problems, epochs=epochs, lr=args.lr, lr_decay=decay,
              time_limit=None if args.budget else args.time_limit, **fit)
    seconds = time.perf_counter() - t0
    given = sys.argv[1:] if argv is None else list(argv)
    model.meta["training"]["command"] = " ".join(["python benchmarks/train_dcdm.py", *given])
    model.meta["training"]["wall_seconds_with_data"] = seconds
    model.meta["training"]["data_seconds"] = data_seconds
    model.meta["training"]["epochs_total"] = model.log.epochs
    if args.device != "cpu" and torch.cuda.is_available():
        model.meta["training"]["gpu"] = torch.cuda.get_device_name()
    model.meta["training"]["threads"] = torch.get_num_threads()
    model.save(args.out)
    log = model.meta["training"]
    print(f"trained {model.log.epochs} epochs on {args.layouts} layouts x {args.samples} vectors "
          f"in {seconds:.0f} s ({torch.get_num_threads()} threads); "
          f"train loss {log['train_loss'][0]:.4f} -> {log['train_loss'][-1]:.4f}, "
          f"validation {log['val_loss'][-1]:.4f}; wrote {args.out} "
          f"({args.out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

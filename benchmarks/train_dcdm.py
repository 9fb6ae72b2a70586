"""Train the DCDM model that ships inside the package (unisolve/learned/weights/).

    python benchmarks/train_dcdm.py                      # the shipped model
    python benchmarks/train_dcdm.py --layouts 2 --samples 50 --epochs 1 --out /tmp/m.pt

Training layouts are ``pressure_poisson(64, seed=s)`` for ``s = 1000, 1001, ...``;
tests and benchmarks use seeds below 1000, so they only ever see unseen layouts.
The run time, the losses and the settings are stored in the model file
(``DCDM.load(path).meta['training']``) and printed at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

import unisolve as us
from unisolve.learned.dcdm import DCDM, PRETRAINED_FILE

WEIGHTS = Path(us.__file__).resolve().parent / "learned" / "weights" / PRETRAINED_FILE
FIRST_TRAINING_SEED = 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=64, help="cells per side of the training grids")
    ap.add_argument("--layouts", type=int, default=16, help="random obstacle layouts")
    ap.add_argument("--samples", type=int, default=1000, help="Ritz right-hand sides per layout")
    ap.add_argument("--m", type=int, default=600, help="Lanczos steps per layout")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-decay", type=float, default=0.8, help="per-epoch factor")
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=1500.0,
                    help="stop after the epoch that ends past this many seconds")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    problems = [us.problems.pressure_poisson(args.n, seed=FIRST_TRAINING_SEED + i)
                for i in range(args.layouts)]
    t0 = time.perf_counter()
    model = DCDM.train(problems, epochs=args.epochs, seed=args.seed, samples=args.samples,
                       m=args.m, lr=args.lr, lr_decay=args.lr_decay, batch_size=args.batch_size,
                       time_limit=args.time_limit)
    seconds = time.perf_counter() - t0
    model.meta["training"]["command"] = "python " + " ".join(["benchmarks/train_dcdm.py",
                                                              *sys.argv[1:]])
    model.meta["training"]["wall_seconds_with_data"] = seconds
    model.meta["training"]["threads"] = torch.get_num_threads()
    model.save(args.out)
    log = model.meta["training"]
    print(f"trained {log['epochs']} epochs on {args.layouts} layouts x {args.samples} vectors "
          f"in {seconds:.0f} s ({torch.get_num_threads()} threads); "
          f"train loss {log['train_loss'][0]:.4f} -> {log['train_loss'][-1]:.4f}, "
          f"validation {log['val_loss'][-1]:.4f}; wrote {args.out} "
          f"({args.out.stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

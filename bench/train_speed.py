"""Training speed of ``pose2rot train`` (small config by default) on CPU.

Measures optimiser steps per second (forward + losses + backward + Adam) on random 48-frame
windows of the development clips (mixed rigs, padded), for each thread count, against a
baseline measured in the same run: one inference forward pass of the same batch (eval mode,
no gradients). With ``--reach RATIO`` it also trains with the issue's held-out protocol
(dog clip 010 held out, the last 25 % of every other clip held out) and prints the training
time at which the hybrid solver's ``ref`` error on the held-out clips first falls to RATIO x
the geometric solver's (or the curve when it does not within ``--minutes``).

    python bench/train_speed.py [--threads 1 2] [--batch 8] [--config small] [--reach 0.7 --minutes 30]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "bvh"
HELD_OUT = "mann_dog_d1-010-kan01-004"


def measure(threads: int, config: str, batch: int, steps: int) -> tuple[float, float]:
    """(train steps/s, inference forward passes/s) with ``threads`` torch threads."""
    import torch

    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.model.network import Pose2RotMemoryRestModel, batch_to_torch
    from pose2rot_core.training.config import TrainConfig, model_params
    from pose2rot_core.training.data import WindowSampler, load_training_clips
    from pose2rot_core.training.loop import train_step

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    clips = [read_bvh(p) for p in sorted(DATA.glob("*.bvh"))]
    cfg = TrainConfig(steps=1000, batch=batch)
    sampler = WindowSampler(load_training_clips(clips, "hash"), cfg, np.random.default_rng(0))
    batches = [batch_to_torch(sampler.batch()) for _ in range(steps + 1)]
    model = Pose2RotMemoryRestModel(**model_params(config)[0])
    model.embedder = "hash-ngram-v1"
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    def step(b) -> None:
        train_step(model, opt, b, cfg, cfg.fk_max)

    model.train()
    step(batches[0])  # warm-up
    t0 = time.perf_counter()
    for b in batches[1:]:
        step(b)
    train_rate = steps / (time.perf_counter() - t0)
    model.eval()
    with torch.inference_mode():
        model(batches[0])
        t0 = time.perf_counter()
        for b in batches[1:]:
            model(b)
    return train_rate, steps / (time.perf_counter() - t0)


def reach(ratio: float, minutes: float, config: str, batch: int, threads: int, lr: float, eval_every: int,
          steps_per_s: float) -> None:
    """Train with the held-out protocol until hybrid/geometric (ref) <= ratio or the time is up."""
    from pose2rot_core.training.loop import run_training

    steps = max(eval_every, int(minutes * 60 * steps_per_s) // eval_every * eval_every)
    with tempfile.TemporaryDirectory() as tmp:
        res = run_training([DATA], Path(tmp) / "run", config=config, steps=steps, batch=batch, lr=lr,
                           threads=threads, device="cpu", holdout=[HELD_OUT], holdout_split=0.25,
                           eval_every=eval_every, log=lambda m: None, progress=False)
    print(f"\nheld-out curve ({config}, batch {batch}, lr {lr}, {threads} thread(s)); target {ratio}x geometric:")
    print(f"{'step':>6} {'train s':>8} {'hybrid ref °':>13} {'geometric °':>12} {'ratio':>6}")
    hit = None
    for h in res.holdout:
        print(f"{h['step']:6d} {h['train_seconds']:8.0f} {h['hybrid_ref']:13.2f} {h['geometric_ref']:12.2f} "
              f"{h['ratio']:6.3f}")
        if hit is None and h["ratio"] <= ratio:
            hit = h
    print(f"reached {ratio}x after {hit['train_seconds']:.0f} s ({hit['step']} steps)" if hit
          else f"not reached in {steps} steps ({res.seconds:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--config", default="small")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5, help="timed steps per measurement")
    ap.add_argument("--reach", type=float, help="also train to this hybrid/geometric held-out ratio (e.g. 0.7)")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--eval-every", type=int, default=100)
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"needs the development clips in {DATA}", file=sys.stderr)
        return 2
    print(f"config {args.config}, batch {args.batch}, 48-frame windows of the {len(list(DATA.glob('*.bvh')))} dev clips")
    print(f"{'threads':>7} {'train steps/s':>14} {'s/step':>7} {'forward/s':>10} {'step / forward':>15}")
    rates = {}
    for n in args.threads:
        train, fwd = measure(n, args.config, args.batch, args.steps)
        rates[n] = train
        print(f"{n:7d} {train:14.3f} {1 / train:7.2f} {fwd:10.3f} {fwd / train:14.2f}x")
    if args.reach is not None:
        best = max(rates, key=rates.get)
        reach(args.reach, args.minutes, args.config, args.batch, best, args.lr, args.eval_every, rates[best])
    return 0


if __name__ == "__main__":
    sys.exit(main())

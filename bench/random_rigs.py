"""Benchmark: the geometric solver on random trees, rigs that no development clip has.

For ``--rigs`` random trees (``pose2rot_core.variants.random_tree_clip``: 15-40 joints, each
joint's parent among the four before it, End Sites on the leaves, smooth random motion over
``--frames`` frames at 60 fps), per rig and summed:

- clean (``ref`` protocol): rotation error of the default policy and of the plain baseline
  (``--twist swing``), flips, the largest position error (% of the height);
- with Gaussian jitter of ``--noise`` of the height (seed 0): rotation error, flips, jitter against
  the clip's own, mean and largest position error against the clean positions (% of the height).

``--family`` solves a variant of every tree instead (pose2rot_core.variants.FAMILIES: helper
bones, a floor-level root, ...).

    python bench/random_rigs.py [--rigs 12] [--frames 240] [--noise 0.005] [--family helper]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from pose2rot_core.evaluate import evaluate_clip
from pose2rot_core.variants import FAMILIES, make_variant, random_tree_clip

HEAD = (f"{'seed':>4} {'joints':>6} | {'ref°':>6} {'plain°':>6} {'flips':>5} {'pos max %':>9} | "
        f"{'noisy°':>6} {'flips':>5} {'jit x':>6} {'pos mean':>8} {'pos max':>7}")


def row(seed: int, frames: int, noise: float, family: str | None = None) -> np.ndarray:
    """[10] the figures of one random tree (see the module note), or of its ``family`` variant
    (drawn from a stream of its own), its joint count first."""
    joints = int(np.random.default_rng(seed + 1000).integers(15, 41))
    clip = random_tree_clip(joints, frames, seed)
    if family is not None:
        clip = make_variant(clip, family, np.random.default_rng([seed, 1]))
    ours, plain = evaluate_clip(clip, "ref"), evaluate_clip(clip, "ref", twist="swing")
    noisy = evaluate_clip(clip, "ref", noise=noise, seed=0)
    return np.array([joints, ours.mean_angle, plain.mean_angle, ours.flips, ours.position_error_max,
                     noisy.mean_angle, noisy.flips, noisy.jitter_ratio, noisy.position_error_mean,
                     noisy.position_error_max])


def format_row(label: str, r: np.ndarray) -> str:
    return (f"{label} {r[0]:6.0f} | {r[1]:6.2f} {r[2]:6.2f} {r[3]:5.0f} {r[4]:9.2g} | "
            f"{r[5]:6.2f} {r[6]:5.0f} {r[7]:6.2f} {r[8]:8.3f} {r[9]:7.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rigs", type=int, default=12)
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--noise", type=float, default=0.005)
    ap.add_argument("--family", choices=FAMILIES, help="solve this variant of every tree")
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(HEAD)
    rows = []
    for seed in range(args.rigs):
        rows.append(row(seed, args.frames, args.noise, args.family))
        print(format_row(f"{seed:>4}", rows[-1]), flush=True)
    total = np.sum(rows, axis=0)
    mean = np.mean(rows, axis=0)
    print(format_row(" sum", total))
    print(format_row("mean", mean))
    worse = sum(r[1] > r[2] + 0.3 for r in rows)
    print(f"{worse} of {len(rows)} rigs more than 0.3 deg worse than the plain baseline (clean); "
          f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

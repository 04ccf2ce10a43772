"""Noise robustness sweep: rotation error, jitter and position error against added track noise.

Over the development clips (../shared/data/bvh next to the repository; the shipped
examples/cmu_08_01.bvh when absent), ``ref`` protocol, geometric solver: Gaussian jitter of std
0, 0.25, 0.5, 1 and 2 % of the skeleton height on the tracks (seed 0), smoothing ``off`` vs
``auto``, all in one run. Prints one row per (noise, smooth) with means over the clips:
rotation error (°), its ratio to the noise-free figure of the same run, jitter ratio (solution /
clip, see core.evaluate.jitter), flips, position error against the clean positions and the
noisy tracks' own error (% of height), and seconds.

``--levels`` sets other noise levels (fractions of the height, e.g. ``--levels 0.0003 0.0008``
for the light noise of a good capture), ``--smooth auto`` leaves out the rows without smoothing,
and rows then also say in how many clips the solve warned.

    python bench/noise_sweep.py [--clips A.bvh B.bvh ...] [--seed N] [--levels L ...] [--smooth auto]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from pose2rot_core.bvh import read_bvh
from pose2rot_core.evaluate import evaluate_clip

from clips import EXAMPLES, dev_clips

NOISE_LEVELS = (0.0, 0.0025, 0.005, 0.01, 0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", help="BVH clips (default: the development set)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-clip", action="store_true", help="also print every clip's row")
    parser.add_argument("--levels", nargs="*", type=float, default=list(NOISE_LEVELS),
                        help="noise stds, fractions of the height (default: 0 0.0025 0.005 0.01 0.02)")
    parser.add_argument("--smooth", nargs="*", default=["off", "auto"], help="smoothing modes to run")
    args = parser.parse_args()
    levels = sorted(set(args.levels) | {0.0})
    paths = [Path(p) for p in args.clips] if args.clips else dev_clips([EXAMPLES / "cmu_08_01.bvh"])
    clips = [read_bvh(p) for p in paths]
    print(f"{len(clips)} clips: {', '.join(p.stem for p in paths)}; ref protocol, geometric solver, seed {args.seed}")
    head = (f"{'noise':>6} {'smooth':>6} {'rot err °':>9} {'x clean':>8} {'jitter x':>8} {'flips':>6} "
            f"{'pos err %':>9} {'max %':>6} {'tracks err %':>12} {'warned':>6} {'time s':>7}")
    print(head)
    print("-" * len(head))
    base: dict[str, float] = {}
    for noise in levels:
        for smooth in args.smooth:
            t0 = time.perf_counter()
            scores = [evaluate_clip(c, protocol="ref", noise=noise, seed=args.seed, smooth=smooth) for c in clips]
            seconds = time.perf_counter() - t0
            err = float(np.mean([s.mean_angle for s in scores]))
            if noise == 0:
                base[smooth] = err
            print(f"{100 * noise:5.2f}% {smooth:>6} {err:9.2f} {err / base[smooth]:8.2f} "
                  f"{np.nanmean([s.jitter_ratio for s in scores]):8.2f} {sum(s.flips for s in scores):6d} "
                  f"{np.mean([s.position_error_mean for s in scores]):9.3f} "
                  f"{max(s.position_error_max for s in scores):6.2f} "
                  f"{np.mean([s.tracks_error for s in scores]):12.3f} "
                  f"{sum(any(n.startswith('warning') for n in s.notes) for s in scores):6d} {seconds:7.2f}")
            if args.per_clip:
                for p, s in zip(paths, scores):
                    print(f"    {p.stem[:30]:<30} {s.mean_angle:7.2f}° jitter {s.jitter_ratio:7.2f}x flips {s.flips:5d} "
                          f"pos {s.position_error_mean:.3f}% tracks {s.tracks_error:.3f}%")


if __name__ == "__main__":
    main()

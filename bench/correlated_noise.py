"""Noise correlated from one frame to the next (a tracker's own filter, points resampled by smooth
curves) against white noise of the same level: per clip and correlation, the rotation error against
the source (deg, ``ref`` protocol), flips per 1,000 frames, jitter over the clip's own, the mean
distance of the solved joints from the clean positions (percent of the height) and the correlation
the solve read (its note). Clips shorter than ``--frames`` are played forwards and backwards until
they are that long: the correlation is read from the bones' lengths over the clip.

    python bench/correlated_noise.py [--clips A.bvh ...] [--correlations 0 0.3 0.5 0.7] [--noise 0.005]
"""
from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from pose2rot_core.bvh import BvhClip, read_bvh
from pose2rot_core.evaluate import add_noise, count_flips, jitter
from pose2rot_core.rotations import geodesic_angle
from pose2rot_core.solvers import solve
from pose2rot_core.tracks_io import tracks_from_bvh

from clips import EXAMPLES, dev_clips


def back_and_forth(clip: BvhClip, frames: int) -> BvhClip:
    """``clip`` played forwards, backwards, forwards ... until it has at least ``frames`` frames."""
    T = clip.num_frames
    if T >= frames or T < 3:
        return clip
    order = np.concatenate([np.arange(T), np.arange(T - 2, 0, -1)])
    order = np.resize(order, max(frames, T))
    return replace(clip, rotations=clip.rotations[order], root_translation=clip.root_translation[order],
                   local_offsets=clip.local_offsets[order])


def row(clip: BvhClip, noise: float, correlation: float) -> tuple[float, float, float, float, float]:
    """(rotation error deg, flips per 1,000 frames, jitter over the clip's, mean position error %,
    the correlation read) of ``clip`` solved from its tracks under that noise."""
    clean = tracks_from_bvh(clip, reference_frame=0)
    sol = solve(add_noise(clean, noise, 0, correlation=correlation))
    height = clip.skeleton.height
    moved = np.linalg.norm(sol.forward()[1] - clean.positions, axis=-1).mean() / height * 100
    read = re.search(r"correlated from frame to frame by (\d\.\d+)", " ".join(sol.report))
    return (float(np.degrees(geodesic_angle(sol.rotations, clip.rotations)).mean()),
            1000.0 * count_flips(sol.rotations, clip.rotations) / clip.num_frames,
            jitter(sol.rotations) / max(jitter(clip.rotations), 1e-12), float(moved),
            float(read.group(1)) if read else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="*", help="BVH files (default: the development clips)")
    parser.add_argument("--correlations", nargs="*", type=float, default=[0.0, 0.3, 0.5, 0.7])
    parser.add_argument("--noise", type=float, default=0.005)
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()
    paths = [Path(p) for p in args.clips] if args.clips else dev_clips(sorted(EXAMPLES.glob("*.bvh")))
    print(f"{'clip':<32} {'corr':>4} | {'rot°':>6} {'fl/1k':>7} {'jit x':>6} {'pos %':>6} {'read':>5}")
    sums = {c: np.zeros(4) for c in args.correlations}
    for path in paths:
        clip = back_and_forth(read_bvh(path), args.frames)
        for c in args.correlations:
            r = row(clip, args.noise, c)
            sums[c] += np.array(r[:4])
            print(f"{path.stem[:32]:<32} {c:4.2f} | {r[0]:6.2f} {r[1]:7.2f} {r[2]:6.2f} {r[3]:6.3f} {r[4]:5.2f}")
    for c, total in sums.items():
        mean = total / len(paths)
        print(f"{'MEAN':<32} {c:4.2f} | {mean[0]:6.2f} {mean[1]:7.2f} {mean[2]:6.2f} {mean[3]:6.3f}")


if __name__ == "__main__":
    main()

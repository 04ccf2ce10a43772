"""Tracks keyed every few frames: what an animator's empties (Blender's Bezier curves between keys)
do to a solve, read as keyed (``Tracks.keyed``, as Solve Rotations reads empties) and read as if
every sample were set (as tracks from a file are).

For each clip (../shared/data/bvh beside the repository; the shipped examples when absent) and each
``--steps`` (keys every N frames, variants.keyed_every): joints put on their tracks by translation
(location keys in Blender) with every frame keyed, then with sparse keys read as keyed and as set;
the largest miss on the keys and over all frames (% of height); the joints the safety check warns
about (far from their tracks or flipping).

    python bench/sparse_keys.py [--clips A.bvh ...] [--steps 2 4 8]
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from pose2rot_core.bvh import read_bvh
from pose2rot_core.solvers import solve
from pose2rot_core.tracks_io import tracks_from_bvh
from pose2rot_core.variants import keyed_every

from clips import chosen_clips


def figures(tracks, step: int, as_keyed: bool) -> tuple[int, float, float, int]:
    """(translating joints, largest miss on the keys %, largest miss %, warned joints)."""
    keyed = keyed_every(tracks, step)
    on_keys = keyed.keyed.all(axis=1)
    sol = solve(keyed if as_keyed else replace(keyed, keyed=None))
    _, X = sol.forward()
    miss = np.linalg.norm(X - keyed.positions, axis=-1) / tracks.skeleton.height * 100
    warned = int((sol.check.far.any(axis=0) | sol.check.flips.any(axis=0)).sum())
    return int(sol.translating.sum()), float(miss[on_keys].max()), float(miss.max()), warned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="*", help="BVH files (default: the development clips)")
    parser.add_argument("--steps", nargs="*", type=int, default=[2, 4, 8], help="keys every N frames")
    args = parser.parse_args()
    paths = chosen_clips(args.clips)
    print(f"{'clip':<32} {'J':>4} {'all':>4} {'step':>4} | {'keyed: trans':>12} {'keys %':>8} {'max %':>7} "
          f"{'warned':>6} | {'as set: trans':>13} {'keys %':>8} {'max %':>7} {'warned':>6}")
    for path in paths:
        tracks = tracks_from_bvh(read_bvh(path))
        every = int(solve(tracks).translating.sum())
        for step in args.steps:
            a, b = figures(tracks, step, True), figures(tracks, step, False)
            print(f"{path.stem[:32]:<32} {tracks.skeleton.num_joints:4d} {every:4d} {step:4d} | "
                  f"{a[0]:12d} {a[1]:8.2g} {a[2]:7.3f} {a[3]:6d} | {b[0]:13d} {b[1]:8.2g} {b[2]:7.3f} {b[3]:6d}")


if __name__ == "__main__":
    main()

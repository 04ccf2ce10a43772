"""Gaps: what dropped samples do to a solve.

For each clip (../shared/data/bvh beside the repository; the shipped examples when absent), two
cases of lost tracks, clean and with Gaussian jitter of ``--noise`` (default 0.5 %) of the height:

- ``joints``: three joints (the first leaf, a middle leaf, the parent of the last leaf) each lose
  two stretches of 5-30 frames (fixed seed);
- ``limb``: the parent of the last leaf and everything below it lose 1 s in the middle of the clip;
- ``never``: the parent of the last leaf has no data in any frame (a knee or a finger joint
  without a marker; the joints above and below it are tracked).

Per row: mean rotation error against the source (deg, ``ref`` protocol), flips, the largest bone
length change against the rig (% of height: a filled track drifting from its parent must not make
a bone stretch), the mean position error against the clean positions and its maximum over the
samples that were data (% of height), and the warnings the solve gave.

    python bench/gaps.py [--clips A.bvh ...] [--noise 0.005]
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from pose2rot_core.bvh import read_bvh
from pose2rot_core.evaluate import add_noise, score_solution
from pose2rot_core.solvers import solve
from pose2rot_core.tracks_io import tracks_from_bvh

from clips import chosen_clips


def lost_joints(clip) -> np.ndarray:
    """[T,J] the ``joints`` case's lost samples."""
    skel, T = clip.skeleton, clip.num_frames
    leaves = [j for j in range(skel.num_joints) if not skel.children[j]]
    lost = np.zeros((T, skel.num_joints), bool)
    rng = np.random.default_rng(7)
    for j in (leaves[0], leaves[len(leaves) // 2], skel.parents[leaves[-1]]):
        for _ in range(2):
            n = int(rng.integers(5, max(6, min(30, T // 5))))
            start = int(rng.integers(1, T - n - 1))
            lost[start:start + n, j] = True
    return lost


def lost_limb(clip) -> np.ndarray:
    """[T,J] the ``limb`` case's lost samples: a limb for one second mid-clip."""
    skel, T = clip.skeleton, clip.num_frames
    top = skel.parents[[j for j in range(skel.num_joints) if not skel.children[j]][-1]]
    below = np.flatnonzero(skel.ancestor_mask()[:, top])  # the joint and everything below it
    n = min(int(round(clip.fps)), T // 3)
    lost = np.zeros((T, skel.num_joints), bool)
    lost[T // 2 - n // 2:T // 2 - n // 2 + n, below] = True
    return lost


def never_tracked(clip) -> np.ndarray:
    """[T,J] the ``never`` case's lost samples: the parent of the last leaf in every frame."""
    skel = clip.skeleton
    lost = np.zeros((clip.num_frames, skel.num_joints), bool)
    lost[:, skel.parents[[j for j in range(skel.num_joints) if not skel.children[j]][-1]]] = True
    return lost


def row(clip, lost: np.ndarray, noise: float) -> dict:
    """The figures of one clip with ``lost`` [T,J] samples dropped (and their tips with them)."""
    tracks = tracks_from_bvh(clip, reference_frame=0)
    clean = tracks.positions
    if noise:
        tracks = add_noise(tracks, noise, 0)
    P = tracks.positions.copy()
    P[lost] = np.nan
    ends = tracks.end_positions
    if ends is not None:
        ends = ends.copy()
        ends[lost[:, tracks.end_parents]] = np.nan
    sol = solve(replace(tracks, positions=P, end_positions=ends))
    score = score_solution(clip, sol, "ref", 0.0, clean_positions=clean)
    height = clip.skeleton.height
    error = np.linalg.norm(sol.positions - clean, axis=-1) / height * 100
    stretch = np.abs(np.linalg.norm(sol.local_offsets[:, 1:], axis=-1)
                     - np.linalg.norm(clip.local_offsets[:, 1:], axis=-1)).max() / height * 100
    return dict(rot=score.mean_angle, flips=score.flips, stretch=stretch, mean=error.mean(),
                max_data=error[~lost].max(), warnings=sum(line.startswith("warning") for line in sol.report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", type=Path)
    parser.add_argument("--noise", type=float, default=0.005)
    args = parser.parse_args()
    paths = chosen_clips(args.clips)
    print(f"{'clip':32s} {'case':6s} {'noise':>5s} {'rot °':>6s} {'flips':>5s} {'stretch %':>9s} "
          f"{'pos mean %':>10s} {'max at data %':>13s} {'warnings':>8s}")
    for path in paths:
        clip = read_bvh(path)
        for case, lost in (("joints", lost_joints(clip)), ("limb", lost_limb(clip)), ("never", never_tracked(clip))):
            for noise in (0.0, args.noise):
                r = row(clip, lost, noise)
                print(f"{path.stem[:32]:32s} {case:6s} {100 * noise:4.2g}% {r['rot']:6.2f} {r['flips']:5d} "
                      f"{r['stretch']:9.3f} {r['mean']:10.3f} {r['max_data']:13.3f} {r['warnings']:8d}", flush=True)


if __name__ == "__main__":
    main()

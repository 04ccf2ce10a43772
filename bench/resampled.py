"""Tracks sampled every few frames and resampled to the clip's rate: an animator's empties keyed every
few frames (Blender's Bezier curves between keys, read as keyed: ``Tracks.keyed``) and a file whose
tracks were resampled by linear interpolation (nothing says which frames are samples), clean and with
Gaussian jitter on the samples. Per clip and spacing: the rotation error against the source over
every frame and on the samples (deg, ``ref`` protocol), and the same for the samples solved alone at
their own rate (the baseline: what the samples hold); joints put on their tracks by translation.

    python bench/resampled.py [--clips A.bvh ...] [--steps 2 4] [--noise 0.005]
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np

from pose2rot_core.bvh import read_bvh
from pose2rot_core.evaluate import add_noise
from pose2rot_core.rotations import geodesic_angle
from pose2rot_core.solvers import solve
from pose2rot_core.tracks_io import tracks_from_bvh
from pose2rot_core.variants import keyed_every

from clips import chosen_clips


def linear_between(tracks, step: int):
    """``tracks`` with every frame but each ``step``-th the straight line between those (as a file
    resampled to ``step`` times its rate), nothing marked keyed; cut to end on a sample."""
    tracks = tracks.frames(0, (tracks.num_frames - 1) // step * step + 1)
    T = tracks.num_frames
    keys = np.arange(0, T, step)

    def through(x):
        return None if x is None else np.stack([np.stack([np.interp(np.arange(T), keys, x[keys, j, a])
                                                          for a in range(3)], -1) for j in range(x.shape[1])], 1)

    return replace(tracks, positions=through(tracks.positions), end_positions=through(tracks.end_positions))


def samples_alone(tracks, step: int):
    """The samples every ``step``-th frame of ``tracks`` as a clip of their own rate."""
    keys = np.arange(0, tracks.num_frames, step)
    ends = None if tracks.end_positions is None else tracks.end_positions[keys]
    return replace(tracks, positions=tracks.positions[keys], end_positions=ends, fps=tracks.fps / step)


def errors(sol, truth: np.ndarray, keys: np.ndarray) -> tuple[float, float]:
    """(mean rotation error over every frame, over the ``keys`` frames), degrees."""
    err = np.degrees(geodesic_angle(sol.rotations, truth))
    return float(err.mean()), float(err[keys].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", nargs="*", help="BVH files (default: the development clips)")
    parser.add_argument("--steps", nargs="*", type=int, default=[2, 4])
    parser.add_argument("--noise", type=float, default=0.005)
    args = parser.parse_args()
    paths = chosen_clips(args.clips)
    print(f"{'clip':<32} {'step':>4} {'noise':>5} | {'keyed all°':>10} {'keys°':>6} {'tr':>3} | {'linear all°':>11} "
          f"{'keys°':>6} {'tr':>3} | {'samples°':>8}")
    sums = {}
    for path in paths:
        clip = read_bvh(path)
        clean = tracks_from_bvh(clip, reference_frame=0)
        for step in args.steps:
            keys = np.arange(0, clip.num_frames, step)
            for noise in (0.0, args.noise):
                tracks = add_noise(clean, noise, 0) if noise else clean
                keyed, linear = solve(keyed_every(tracks, step)), solve(linear_between(tracks, step))
                alone = solve(samples_alone(tracks, step))
                cut = clip.rotations[:linear.num_frames]
                row = (*errors(keyed, clip.rotations, keys), *errors(linear, cut, keys),
                       errors(alone, clip.rotations[keys], np.arange(len(keys)))[0])
                key = (step, noise)
                sums[key] = sums.get(key, np.zeros(5)) + np.array(row)
                moved = (int(keyed.translating.sum()), int(linear.translating.sum()))
                print(f"{path.stem[:32]:<32} {step:>4} {noise:>5} | {row[0]:10.2f} {row[1]:6.2f} {moved[0]:3d} | "
                      f"{row[2]:11.2f} {row[3]:6.2f} {moved[1]:3d} | {row[4]:8.2f}", flush=True)
    for (step, noise), s in sums.items():
        m = s / len(paths)
        print(f"{'MEAN':<32} {step:>4} {noise:>5} | {m[0]:10.2f} {m[1]:6.2f}     | {m[2]:11.2f} {m[3]:6.2f}     | "
              f"{m[4]:8.2f}")


if __name__ == "__main__":
    main()

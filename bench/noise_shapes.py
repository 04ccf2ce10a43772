"""Noise that is not white and the same in every direction, against white noise of the same level:
correlated from one frame to the next (a tracker's own filter, points resampled by smooth curves)
and stronger along one direction (a camera's depth). Per clip and noise shape, the rotation error
against the source (deg, ``ref`` protocol), flips per 1,000 frames, jitter over the clip's own, the
mean distance of the solved joints from the clean positions (percent of the height) and the
correlation the solve read (its note). Shapes: ``white``, ``corr0.3`` (0.5 % of the height per axis,
frames correlated by 0.3), ``depth-z`` (1.12 % along z, 0.2 % along x and y: 0.67 % over the three).
Clips shorter than ``--frames`` are played forwards and backwards until they are that long: the
noise is read from the bones' lengths over the clip.

    python bench/noise_shapes.py [--clips A.bvh ...] [--shapes white corr0.3 corr0.5 corr0.7 depth-x ...]
"""
from __future__ import annotations

import argparse
import re
from dataclasses import replace

import numpy as np

from pose2rot_core.bvh import BvhClip, read_bvh
from pose2rot_core.evaluate import add_noise, count_flips, jitter
from pose2rot_core.rotations import geodesic_angle
from pose2rot_core.solvers import solve
from pose2rot_core.tracks import Tracks
from pose2rot_core.tracks_io import tracks_from_bvh

from clips import chosen_clips


def back_and_forth(clip: BvhClip, frames: int) -> BvhClip:
    """``clip`` played forwards, backwards, forwards ... until it has at least ``frames`` frames."""
    T = clip.num_frames
    if T >= frames or T < 3:
        return clip
    order = np.concatenate([np.arange(T), np.arange(T - 2, 0, -1)])
    order = np.resize(order, max(frames, T))
    return replace(clip, rotations=clip.rotations[order], root_translation=clip.root_translation[order],
                   local_offsets=clip.local_offsets[order])


def noisy(clean: Tracks, shape: str) -> Tracks:
    """``clean`` with the noise ``shape`` names (see the module), seed 0."""
    if shape == "white":
        return add_noise(clean, 0.005, 0)
    if shape.startswith("corr"):
        return add_noise(clean, 0.005, 0, correlation=float(shape[4:]))
    scale = np.full(3, 0.002 * clean.skeleton.height)
    scale["xyz".index(shape[-1])] = 0.0112 * clean.skeleton.height
    rng = np.random.default_rng(0)
    return replace(clean, positions=clean.positions + rng.normal(size=clean.positions.shape) * scale,
                   end_positions=None if clean.end_positions is None else
                   clean.end_positions + rng.normal(size=clean.end_positions.shape) * scale)


def row(clip: BvhClip, shape: str) -> tuple[float, float, float, float, float]:
    """(rotation error deg, flips per 1,000 frames, jitter over the clip's, mean position error %,
    the correlation read) of ``clip`` solved from its tracks under the noise ``shape``."""
    clean = tracks_from_bvh(clip, reference_frame=0)
    sol = solve(noisy(clean, shape))
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
    parser.add_argument("--shapes", nargs="*", default=["white", "corr0.3", "corr0.5", "corr0.7", "depth-x",
                                                         "depth-y", "depth-z"])
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()
    paths = chosen_clips(args.clips)
    print(f"{'clip':<32} {'noise':>8} | {'rot°':>6} {'fl/1k':>7} {'jit x':>6} {'pos %':>6} {'read':>5}")
    sums = {shape: np.zeros(4) for shape in args.shapes}
    for path in paths:
        clip = back_and_forth(read_bvh(path), args.frames)
        for shape in args.shapes:
            r = row(clip, shape)
            sums[shape] += np.array(r[:4])
            print(f"{path.stem[:32]:<32} {shape:>8} | {r[0]:6.2f} {r[1]:7.2f} {r[2]:6.2f} {r[3]:6.3f} {r[4]:5.2f}")
    for shape, total in sums.items():
        mean = total / len(paths)
        print(f"{'MEAN':<32} {shape:>8} | {mean[0]:6.2f} {mean[1]:7.2f} {mean[2]:6.2f} {mean[3]:6.3f}")


if __name__ == "__main__":
    main()

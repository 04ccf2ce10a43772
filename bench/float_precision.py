"""Do float32 tracks give the rotations of float64 ones? Blender stores positions in float32.

For each clip (../shared/data/bvh beside the repository; the shipped examples when absent), its
tracks (``ref`` protocol: reference frame 0) are moved ``--heights`` skeleton heights along x (a
scene's far corner, where float32 keeps fewer digits), then solved once as they are and once
rounded to float32. Prints, per clip and twist policy, the largest angle between the two solutions'
local rotations over all joints and frames (the issue's bound: 0.1 deg) and where it is.

    python bench/float_precision.py [--clips A.bvh ...] [--heights 0 50] [--twist lookahead swing]
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from pose2rot_core.bvh import read_bvh
from pose2rot_core.rotations import geodesic_angle
from pose2rot_core.solvers import solve
from pose2rot_core.tracks import Tracks
from pose2rot_core.tracks_io import tracks_from_bvh

from clips import chosen_clips


def moved_and_rounded(tracks: Tracks, heights: float) -> tuple[Tracks, Tracks]:
    """The tracks moved ``heights`` skeleton heights along x, in float64 and rounded to float32."""
    shift = np.array([heights * tracks.skeleton.height, 0.0, 0.0])
    far = replace(tracks, positions=tracks.positions + shift,
                  end_positions=None if tracks.end_positions is None else tracks.end_positions + shift)
    rounded = replace(far, positions=_in_float32(far.positions), end_positions=_in_float32(far.end_positions))
    return far, rounded


def _in_float32(values: np.ndarray | None) -> np.ndarray | None:
    """``values`` rounded to float32 numbers (None: none)."""
    return None if values is None else values.astype(np.float32).astype(np.float64)


def largest_difference(tracks: Tracks, heights: float, twist: str) -> tuple[float, str, int]:
    """(degrees, joint, frame) of the largest local-rotation difference, float64 against float32."""
    far, rounded = moved_and_rounded(tracks, heights)
    angle = np.degrees(geodesic_angle(solve(far, twist=twist).rotations, solve(rounded, twist=twist).rotations))
    frame, joint = np.unravel_index(int(np.argmax(angle)), angle.shape)
    return float(angle[frame, joint]), tracks.skeleton.names[joint], int(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", type=Path)
    parser.add_argument("--heights", nargs="*", type=float, default=[0.0, 50.0])
    parser.add_argument("--twist", nargs="*", default=["lookahead", "swing"])
    args = parser.parse_args()
    clips = chosen_clips(args.clips)
    print(f"{'clip':32s} {'twist':10s} " + " ".join(f"{h:>5g} h: max ° (joint, frame)".rjust(36)
                                                     for h in args.heights))
    worst = {(t, h): 0.0 for t in args.twist for h in args.heights}
    for path in clips:
        tracks = tracks_from_bvh(read_bvh(path), reference_frame=0)
        for twist in args.twist:
            cells = []
            for heights in args.heights:
                deg, joint, frame = largest_difference(tracks, heights, twist)
                worst[twist, heights] = max(worst[twist, heights], deg)
                cells.append(f"{deg:8.4f} ({joint}, {frame})".rjust(36))
            print(f"{path.stem[:32]:32s} {twist:10s} " + " ".join(cells))
    for twist in args.twist:
        print(f"{'LARGEST':32s} {twist:10s} " + " ".join(f"{worst[twist, h]:8.4f}".rjust(36)
                                                        for h in args.heights))


if __name__ == "__main__":
    main()

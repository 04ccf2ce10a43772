"""Broken tracker output: how far each defect puts the solve from the true positions, and what it says.

Each case breaks the tracks of one clip (the shipped CMU walk unless ``--clip``; its joint names
are used) the way trackers and exporters do, solves with the default options, and prints the
largest distance of a solved joint from the clip's clean positions (% of the height) and which
report lines came with it: ``W`` a warning, ``gaps`` samples taken for no data, ``-`` nothing.
A defect must never come back far off with ``-``.

    python bench/broken_tracks.py [--clip examples/cmu_08_01.bvh] [--noise 0.003]
"""
from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from pose2rot_core.bvh import read_bvh
from pose2rot_core.evaluate import add_noise
from pose2rot_core.solvers import solve
from pose2rot_core.tracks import Tracks
from pose2rot_core.tracks_io import tracks_from_bvh
from pose2rot_core.units import scale_tracks

from clips import EXAMPLES

HAND, OTHER_HAND, SHOULDER, START = "lHand", "rHand", "lShldr", 100


def _below(tracks: Tracks, name: str) -> np.ndarray:
    """The joint ``name`` and the joints below it."""
    return np.flatnonzero(tracks.skeleton.ancestor_mask()[:, tracks.skeleton.index(name)])


def held(tracks: Tracks, frames: int) -> Tracks:
    """The hand and its fingers held at their last values for ``frames`` frames (a lost hand)."""
    below, P, E = _below(tracks, HAND), tracks.positions.copy(), tracks.end_positions.copy()
    tips = np.isin(tracks.end_parents, below)
    P[START:START + frames, below] = P[START - 1, below]
    E[START:START + frames, tips] = E[START - 1, tips]
    return replace(tracks, positions=P, end_positions=E)


def swapped(tracks: Tracks, frames: int) -> Tracks:
    """The two wrists' tracks exchanged for ``frames`` frames (left/right confusion)."""
    a, b = tracks.skeleton.index(HAND), tracks.skeleton.index(OTHER_HAND)
    P = tracks.positions.copy()
    P[START:START + frames, [a, b]] = P[START:START + frames, [b, a]]
    return replace(tracks, positions=P)


def copied(tracks: Tracks) -> Tracks:
    """The left wrist's column written from the right wrist's (an exporter's mapping error)."""
    P = tracks.positions.copy()
    P[:, tracks.skeleton.index(HAND)] = P[:, tracks.skeleton.index(OTHER_HAND)]
    return replace(tracks, positions=P)


def at_shoulder(tracks: Tracks, frames: int) -> Tracks:
    """The lost wrist written where the shoulder is for ``frames`` frames."""
    P = tracks.positions.copy()
    P[START:START + frames, tracks.skeleton.index(HAND)] = P[START:START + frames, tracks.skeleton.index(SHOULDER)]
    return replace(tracks, positions=P)


def fingers_at_wrist(tracks: Tracks) -> Tracks:
    """Every finger joint and tip written at the wrist (a body tracker that does not follow them)."""
    below, hand = _below(tracks, HAND), tracks.skeleton.index(HAND)
    P, E = tracks.positions.copy(), tracks.end_positions.copy()
    P[:, below[1:]] = P[:, [hand]]
    E[:, np.isin(tracks.end_parents, below[1:])] = P[:, [hand]]
    return replace(tracks, positions=P, end_positions=E)


def dropped(tracks: Tracks, frames: slice, value: float) -> Tracks:
    """The wrist written as (value, value, value) in ``frames`` (a tracker's "not found")."""
    P = tracks.positions.copy()
    P[frames, tracks.skeleton.index(HAND)] = value
    return replace(tracks, positions=P)


def describe(sol, clean: np.ndarray, height: float) -> tuple[float, str]:
    """(largest distance of a solved joint from the clean positions, % of height; what was said)."""
    said = []
    if any(line.startswith("warning") for line in sol.report):
        said.append("W")
    if any("treated as gaps" in line or "outlier samples" in line for line in sol.report):
        said.append("gaps")
    return 100 * float(np.linalg.norm(sol.positions - clean, axis=-1).max() / height), "+".join(said) or "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", type=Path, default=EXAMPLES / "cmu_08_01.bvh")
    ap.add_argument("--noise", type=float, default=0.003, help="jitter of the noisy rows (fraction of the height)")
    args = ap.parse_args()
    clean_tracks = tracks_from_bvh(read_bvh(args.clip), reference_frame=0)
    height, clean = clean_tracks.skeleton.height, clean_tracks.positions
    T = clean_tracks.num_frames
    cases = {"hand held 5 frames": lambda t: held(t, 5), "hand held 30 frames": lambda t: held(t, 30),
             "wrists swapped 3 frames": lambda t: swapped(t, 3), "wrist column copied": copied,
             "wrist at the shoulder, 15 frames": lambda t: at_shoulder(t, 15),
             "fingers written at the wrist": fingers_at_wrist,
             "wrist dropout as 1e-9": lambda t: dropped(t, slice(50, 51), 1e-9),
             "wrist lost for 70 % as 0": lambda t: dropped(t, slice(0, int(0.7 * T)), 0.0)}
    print(f"{'case':<32} {'clean: max err %':>17} {'said':>7} {'jitter: max err %':>18} {'said':>7}")
    for name, make in cases.items():
        row = [describe(solve(make(t)), clean, height)
               for t in (clean_tracks, add_noise(clean_tracks, args.noise, 0))]
        print(f"{name:<32} {row[0][0]:17.2f} {row[0][1]:>7} {row[1][0]:18.2f} {row[1][1]:>7}")
    units = describe(solve(scale_tracks(clean_tracks, 100.0)), 100.0 * clean, 100.0 * height)
    print(f"{'tracks in other units (x100)':<32} {units[0]:17.2f} {units[1]:>7}   (against the tracks, % of their height)")


if __name__ == "__main__":
    main()

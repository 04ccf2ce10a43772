"""Spikes in noisy tracks: samples whose bones jump off their usual length for a few frames and back.

``find_outliers`` marks them, for tracks_io.fill_gaps to fill; a fast real motion keeps its bone
lengths and is never cut. Positions are ``[T,J,3]`` (NaN = missing) in file units.
"""
from __future__ import annotations

import numpy as np

from .noise_estimate import bone_lengths
from .running import running_median
from .stacks import any_axis

#: outliers: a sample whose bones all leave their length around it by more than this many length-noise
#: stds and this fraction of the height, for a few frames only
OUTLIER_Z = 8.0
OUTLIER_MIN_FRACTION = 0.02
#: a spike of several frames takes a point further than this fraction of the height off its bone's
#: usual length (a track leaving the body, as a dropout to the origin does)
OUTLIER_RUN_FRACTION = 0.25
#: a bone's length around a frame is its median over this many frames on either side: a spike of
#: up to this many frames does not move it, a bone that stretches steadily moves it along
OUTLIER_WINDOW = 3


def find_outliers(positions: np.ndarray, parents: np.ndarray, noise: np.ndarray, height: float) -> np.ndarray:
    """[T,J] bool: spikes of positions [T,J,3] (NaN = missing, never an outlier).

    A bone jumps when it leaves its length around that frame (the median over OUTLIER_WINDOW
    frames with data on either side) by more than OUTLIER_Z length-noise stds (from ``noise`` [J],
    per axis) and OUTLIER_MIN_FRACTION of the height in one frame, with frames on its length on
    either side, or for up to OUTLIER_WINDOW frames where it leaves the body (OUTLIER_RUN_FRACTION
    of the height, in and out at once: a dropout to the origin); both its joints' samples are then
    marked (the innocent one is refilled from its own
    track). Real motion, however fast, keeps its bone lengths, and a bone that stretches (a joint
    that translates) changes its length steadily, not for a few frames. First and last frames are
    never spikes."""
    T, J = positions.shape[:2]
    spike = np.zeros((T, J), bool)
    bones = np.flatnonzero(np.asarray(parents) >= 0)
    if T < 3 or bones.size == 0:
        return spike
    par = np.asarray(parents)[bones]
    length = bone_lengths(positions, bones, par)
    dev = np.abs(length - _median_of_data_around(length, OUTLIER_WINDOW))
    limit = np.maximum(OUTLIER_Z * np.hypot(noise[bones], noise[par]), OUTLIER_MIN_FRACTION * height)
    jump = _short_runs(np.nan_to_num(dev, nan=0.0) > limit, OUTLIER_WINDOW, length, dev,
                       OUTLIER_RUN_FRACTION * height)  # [T,B]
    for k, (c, p) in enumerate(zip(bones, par)):  # both ends of a jumping bone become gaps: the
        spike[:, c] |= jump[:, k]                    # neighbour is refilled from its own track
        spike[:, p] |= jump[:, k]
    return spike & ~any_axis(np.isnan(positions))


def _median_of_data_around(x: np.ndarray, r: int) -> np.ndarray:
    """[T,N] running median of each column of x [T,N] over its samples with data: r of them on
    either side, however many frames without data lie between, the end samples repeated (NaN
    where x is)."""
    missing = np.isnan(x)
    if not missing.any():
        return running_median(x, 2 * r + 1, ends="repeat")
    out = np.full_like(x, np.nan)
    for n in np.flatnonzero(~missing.all(axis=0)):
        have = np.flatnonzero(~missing[:, n])
        out[have, n] = running_median(x[have, n, None], 2 * r + 1, ends="repeat")[:, 0]
    return out


def _short_runs(off: np.ndarray, longest: int, x: np.ndarray, dev: np.ndarray, far: float) -> np.ndarray:
    """[T,N] the runs of True in each column of ``off`` [T,N] at most ``longest`` frames long that
    neither start at the first frame nor end at the last; a run of several frames only where its
    values ``x`` [T,N] all deviate (``dev`` [T,N]) by more than ``far`` and jump into it and out of
    it by half that or more: a track that leaves the body for a few frames (a dropout to the
    origin); a length that swells and shrinks over a few frames, as a joint that translates does,
    is motion. A run of one frame only where it comes back (see _comes_back): a length that steps
    (at a cut) and keeps changing is motion too."""
    T = off.shape[0]
    edges = np.diff(np.pad(off, ((1, 1), (0, 0))).astype(np.int8), axis=0)  # +1 at starts, -1 past ends
    out = np.zeros_like(off)
    for n in np.flatnonzero(off.any(axis=0)):
        starts, stops = np.flatnonzero(edges[:, n] == 1), np.flatnonzero(edges[:, n] == -1)
        for a, b in zip(starts, stops):
            if b - a <= longest and a > 0 and b < T and (
                    _comes_back(x[a - 1:a + 2, n]) if b - a == 1 else _left_body(x[a - 1:b + 1, n], dev[a:b, n], far)):
                out[a:b, n] = True
    return out


def _comes_back(x: np.ndarray) -> bool:
    """Whether the middle value of ``x`` [3] leaves and comes back: the values either side of it
    lie nearer each other than it lies to either (where a side has no data, it does)."""
    apart = abs(x[2] - x[0]) - min(abs(x[1] - x[0]), abs(x[1] - x[2]))
    return not apart >= 0.0


def _left_body(x: np.ndarray, dev: np.ndarray, far: float) -> bool:
    """Whether a run (``x`` [m+2]: its values and one on either side) deviates (``dev`` [m]) by
    more than ``far`` in every frame and jumps into it and out of it by at least half that (a side
    without data counts as a jump)."""
    into, out_of = abs(x[1] - x[0]), abs(x[-2] - x[-1])
    return bool(np.nanmin(dev) > far and np.nan_to_num(min(into, out_of), nan=np.inf) >= 0.5 * far)

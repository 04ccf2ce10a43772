"""Reversals: a joint whose tracks turn it over in one frame, and keep it turned.

Sources have them: a finger retargeted the wrong way round from one frame on (Character Creator's
left thumb turns 179.5 degrees between two frames of iclone-cmu_006_05), a take's edit, a tracker
that picked the other side of a bone. Smoothing the rotations over time across such a turn spreads
it over the filter's frames, where no frame is near either side: the bones leave their tracks by
as much as the noise allows for several frames, and the joint and those below it turn through it
in steps the tracks do not call for (flips). The rotation of a joint turned over is smoothed on
either side of the frame instead.

A joint is turned over at a step (frame t to t + 1) when, in the tracks as given, a point below it
(a child or grandchild, the one that moves furthest) jumps, seen from the joint, as jumps.py reads
a jump: JUMP_STEPS times its usual step and JUMP_OVER times its fast steps elsewhere (both read
from the smoothed tracks, so noise is no motion; a fast move is no jump, as fast as the clip's
other fast moves), beyond what the noise explains (CLAMP_STDS stds of both ends); one way (it stays
away for JUMP_FRAMES frames, and had been away from where it lands as long: neither way of a spike,
a tracker's glitch that spikes and gaps handle); its direction, seen from the joint's parent as the solve placed it, turns by more than a
quarter turn (REVERSAL_DEGREES: a parent that turned over carries its children along, and the turn
is the parent's); and the solve turned the joint there by more than a flip (flips.FLIP_DEGREES).
"""
from __future__ import annotations

from typing import Collection

import numpy as np

from .flips import FLIP_DEGREES, rotation_steps, vectors_around
from .jumps import JUMP_FRAMES, JUMP_OVER, JUMP_STEPS
from .kernels import CLAMP_STDS
from .noise_estimate import column_nanmedian
from .rotations import norm
from .tracks import Tracks

#: a joint turned over: the direction to a point below it, seen from its parent, turns by more
#: than this in one frame
REVERSAL_DEGREES = 90.0


def turned_over(given: Tracks, smoothed: Tracks, rotations: np.ndarray, G: np.ndarray, noise: np.ndarray,
                segments: Collection[int] = ()) -> dict[int, list[int]]:
    """{joint: [frames]}: the frames (t + 1 of each step t) where the solution's local ``rotations``
    [T,J,3,3] (global orientations ``G`` [T,J,3,3]) turn a joint over as its tracks do (see the
    module note): the tracks as ``given`` jump, beyond their ``noise`` [J] (std per axis, fraction
    of the height) and the motion their ``smoothed`` version shows elsewhere. The solution's twist
    ``segments`` (Solution.segments) turn with their bone: the points around a joint are read past
    them, and the bone's joint is named, not a segment nor the child past them (a bone turned about
    itself moves no point on its axis, so its turn showed only at that child, one bone further)."""
    steps = rotation_steps(rotations)  # [T-1,J]
    parents = given.skeleton.parents
    segments = frozenset(segments)
    out = {}
    for j in (j for j in np.flatnonzero((steps > FLIP_DEGREES).any(axis=0)) if j not in segments):
        rel, owners = vectors_around(given, int(j), segments)
        if not owners:
            continue
        turns = np.flatnonzero(steps[:, j] > FLIP_DEGREES)
        point_noise = np.sqrt(2.0 * (noise[j] ** 2 + noise[owners] ** 2)) * given.skeleton.height  # of a step
        jumps = _one_way_jumps(rel, vectors_around(smoothed, int(j), segments)[0], point_noise, turns)
        frames = [t + 1 for t, i in jumps
                  if _turn_seen_from(G[[t, t + 1], parents[j]] if j > 0 else None, rel[t:t + 2, i]) > REVERSAL_DEGREES]
        if frames:
            out[int(j)] = frames
    return out


def _one_way_jumps(rel: np.ndarray, motion_rel: np.ndarray, noise: np.ndarray, turns: np.ndarray
                   ) -> list[tuple[int, int]]:
    """[(step t, point i)] for the steps ``turns`` [K] (frame t to t + 1) where the point i of
    ``rel`` [T,n,3] (seen from a joint, tracks as given) that moves furthest jumps one way (see the
    module note): beyond CLAMP_STDS of its steps' ``noise`` std [n] and the motion ``motion_rel``
    [T,n,3] (the same points in the smoothed tracks) shows: its usual steps, and its fast steps
    away from t."""
    moved = norm(rel[1:] - rel[:-1])  # [T-1,n]
    motion = norm(motion_rel[1:] - motion_rel[:-1])
    usual = np.nan_to_num(column_nanmedian(motion))  # [n]
    out = []
    for t in (int(t) for t in turns if np.isfinite(moved[t]).any()):
        i = int(np.nanargmax(moved[t]))
        beyond = max(JUMP_STEPS * usual[i], JUMP_OVER * _fast_elsewhere(motion[:, i], t), CLAMP_STDS * noise[i])
        if moved[t, i] > beyond and _one_way(rel[:, i], t, moved[t, i]):
            out.append((t, i))
    return out


def _one_way(rel: np.ndarray, t: int, jump: float) -> bool:
    """Whether a point seen from a joint at ``rel`` [T,3] jumps by ``jump`` from frame t to t + 1 one
    way: it stays away from where it was for JUMP_FRAMES frames after, and was away from where it
    lands for JUMP_FRAMES frames before (neither way of a spike). Nearer a clip's ends than that,
    no jump tells which way it goes."""
    if t + 1 < JUMP_FRAMES or t + JUMP_FRAMES >= len(rel):
        return False
    after = norm(rel[t + 1:t + 1 + JUMP_FRAMES] - rel[t])
    before = norm(rel[t + 1 - JUMP_FRAMES:t + 1] - rel[t + 1])
    return bool((after > 0.5 * jump).all() and (before > 0.5 * jump).all())


def _fast_elsewhere(moved: np.ndarray, t: int) -> float:
    """The 99th percentile of a point's steps ``moved`` [T-1] more than JUMP_FRAMES steps from step
    ``t`` (a filter spreads a jump over the steps around it; 0 where none is left)."""
    others = np.delete(moved, np.arange(max(t - JUMP_FRAMES, 0), min(t + JUMP_FRAMES + 1, len(moved))))
    others = others[np.isfinite(others)]
    return float(np.percentile(others, 99)) if others.size else 0.0


def _turn_seen_from(frames: np.ndarray | None, v: np.ndarray) -> float:
    """Degrees a vector ``v`` [2,3] (world axes, two frames) turns between its frames, seen from the
    orientations ``frames`` [2,3,3] of the joint's parent (None: the root's, the world)."""
    a, b = (v[0], v[1]) if frames is None else (frames[0].T @ v[0], frames[1].T @ v[1])
    cos = float(a @ b) / max(float(norm(a) * norm(b)), 1e-300)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def turned_over_note(turned: dict[int, list[int]], names: tuple[str, ...], first_frame: int = 0,
                     shown: tuple[int, int] | None = None) -> list[str]:
    """The report line for the joints ``turned`` over ({joint: [frames]}, see turned_over; none: no
    line), named with ``names`` [J], frames counted from ``first_frame``. ``shown``: the frames
    [start, stop) of the clip the output holds (None: all); a turn is named only where both frames
    of its step are among them, as the flip warning names steps (a turn into the first frame shown
    comes from a frame the user does not see)."""
    if shown is not None:
        turned = {j: kept for j, f in turned.items() if (kept := [t for t in f if shown[0] < t < shown[1]])}
    if not turned:
        return []
    from .tracks_io import describe_names

    parts = [f"'{names[j]}' (frame{'s' if len(f) > 1 else ''} {', '.join(str(t + first_frame) for t in f)})"
             for j, f in sorted(turned.items())]
    its, s = ("its", "s") if len(parts) == 1 else ("their", "")
    rotations = "its rotation was" if len(parts) == 1 else "their rotations were"
    where = "that frame, not across it" if sum(map(len, turned.values())) == 1 else "those frames, not across them"
    return [f"{describe_names(parts, noun='joint')} turn{s} over in one frame as {its} tracks do (more than a "
            f"quarter turn, and stay{s} so): {rotations} smoothed over time on either side of {where}"]

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
is the parent's, so a joint below one turned over in the same frame is not named); and either the
solve turned the joint there by more than a flip (flips.FLIP_DEGREES), or one of the points it aims
its own bones at, further from it than noise could turn over (CLAMP_STDS stds of a step), turned
over too. The second reads what the solve did not follow: a short bone's noisy direction leans on
its mean over the clip, which across a half turn is no mean of either side, and held the joint back
(a Character Creator thumb turned 135 of its 180 degrees, its child 99 in one frame). A joint read
turned over seen from a parent the solve did not turn may be the parent's own turn: the parent is
read at that step too, where a point it aims its own bones at turns over as well, however near
(the thumb's bone split by a twist segment the noisy solve did not read as one: the segment was
named, and took the turn). Such a joint's
leans read each side of the frame on its own (solvers.geometric.Problem.breaks), and its rotation is
smoothed over time on either side.
"""
from __future__ import annotations

from typing import Collection

import numpy as np

from .flips import FLIP_DEGREES, rotation_steps, vectors_around
from .jumps import JUMP_FRAMES, JUMP_OVER, JUMP_STEPS
from .kernels import CLAMP_STDS
from .noise_estimate import column_nanmedian
from .rotations import norm
from .stacks import mat_t_vec
from .tracks import Tracks

#: a joint turned over: the direction to a point below it, seen from its parent, turns by more
#: than this in one frame
REVERSAL_DEGREES = 90.0


def turned_over(given: Tracks, smoothed: Tracks, rotations: np.ndarray, G: np.ndarray, noise: np.ndarray,
                segments: Collection[int] = ()) -> dict[int, list[int]]:
    """{joint: [frames]}: the frames (t + 1 of each step t) where the tracks turn a joint over (see the
    module note), seen from its parent at the solution's global orientations ``G`` [T,J,3,3] (local
    ``rotations`` [T,J,3,3]): the tracks as ``given`` jump, beyond their ``noise`` [J] (std per axis,
    fraction of the height) and the motion their ``smoothed`` version shows elsewhere. The solution's
    twist ``segments`` (Solution.segments) turn with their bone: the points around a joint are read past
    them, and the bone's joint is named, not a segment nor the child past them (a bone turned about
    itself moves no point on its axis, so its turn showed only at that child, one bone further)."""
    steps = rotation_steps(rotations)  # [T-1,J]
    parents = given.skeleton.parents
    segments = frozenset(segments)
    step_noise = np.sqrt(2.0) * np.asarray(noise) * given.skeleton.height  # [J] of a point's step, per axis
    reading = _Reading(given, smoothed, G, step_noise, segments)
    out = {}
    for j in (j for j in range(given.skeleton.num_joints) if j not in segments):
        if found := reading.frames(j, np.flatnonzero((steps[:, j] > FLIP_DEGREES) | reading.own_reversals(j, True))):
            out[j] = found
    for j in list(out):  # seen from a parent the solve did not turn: perhaps the parent's own turn, read there
        p = int(parents[j])
        while p >= 0 and p not in segments:
            at = np.array(out[j]) - 1
            if not (found := reading.frames(p, at[reading.own_reversals(p, False)[at]])):
                break
            out[p] = sorted(set(out.get(p, [])) | set(found))
            p = int(parents[p])
    return _carried_turns_left_out(out, given.skeleton.ancestor_mask())


class _Reading:
    """What turned_over reads a joint's turn from: its arguments, and each point's step noise
    ``step_noise`` [J] (file units, per axis)."""

    def __init__(self, given: Tracks, smoothed: Tracks, G: np.ndarray, step_noise: np.ndarray,
                 segments: frozenset) -> None:
        self.given, self.smoothed, self.G, self.step_noise, self.segments = given, smoothed, G, step_noise, segments

    def own_reversals(self, j: int, far: bool) -> np.ndarray:
        """[T-1] the steps where a point joint j aims its own bones at turns by more than
        REVERSAL_DEGREES seen from its parent: with ``far``, only a point further from it than noise
        could turn over (CLAMP_STDS stds of its step, in both frames); else however near."""
        own, owned = vectors_around(self.given, j, self.segments, grandchildren=False)
        least = CLAMP_STDS * np.hypot(self.step_noise[j], self.step_noise[owned]) if far else np.zeros(len(owned))
        parent = self.given.skeleton.parents[j]
        return _turned_over_beyond(own, self.G[:, parent, None] if parent >= 0 else None, least)

    def frames(self, j: int, turns: np.ndarray) -> list[int]:
        """The frames (t + 1) of the steps ``turns`` [K] where the points around joint j jump one way
        beyond the noise and the clip's motion, turning more than REVERSAL_DEGREES seen from its parent."""
        if not len(turns):
            return []
        rel, owners = vectors_around(self.given, j, self.segments)
        if not owners:
            return []
        around = vectors_around(self.smoothed, j, self.segments)[0]
        jumps = _one_way_jumps(rel, around, np.hypot(self.step_noise[j], self.step_noise[owners]), turns)
        parent = self.given.skeleton.parents[j]
        seen_from = (lambda t: self.G[[t, t + 1], parent]) if parent >= 0 else (lambda t: None)
        return [t + 1 for t, i in jumps if _turn_seen_from(seen_from(t), rel[t:t + 2, i]) > REVERSAL_DEGREES]


def _carried_turns_left_out(turned: dict[int, list[int]], above: np.ndarray) -> dict[int, list[int]]:
    """``turned`` ({joint: [frames]}) without a joint's frames where a joint above it (``above`` [J,J]:
    Skeleton.ancestor_mask) turned over too: the parent's turn carries it along (seen from a parent
    the solve did not turn, it turned instead)."""
    out = {}
    for j, frames in turned.items():
        carried = {t for a, at in turned.items() if a != j and above[j, a] for t in at}
        if kept := [t for t in frames if t not in carried]:
            out[j] = kept
    return out


def _turned_over_beyond(rel: np.ndarray, frames: np.ndarray | None, least: np.ndarray) -> np.ndarray:
    """[T-1] the steps where, seen from the orientations ``frames`` [T,1,3,3] (None: the world's), one of
    the vectors ``rel`` [T,n,3] (world axes) longer than ``least`` [n] in both frames turns by more than
    REVERSAL_DEGREES (False everywhere without a vector)."""
    if not rel.shape[1]:
        return np.zeros(max(len(rel) - 1, 0), bool)
    seen = rel if frames is None else mat_t_vec(frames, rel)
    length = norm(seen)
    far = length > least
    cos = (seen[1:] * seen[:-1]).sum(-1) / np.maximum(length[1:] * length[:-1], 1e-300)
    return (far[1:] & far[:-1] & (cos < np.cos(np.radians(REVERSAL_DEGREES)))).any(axis=1)


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

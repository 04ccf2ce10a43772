"""Checking a solution against its tracks, so that no result far from them is written silently.

Two checks, per joint and frame:

- position: how far each solved joint is from its track as given (before any smoothing), against
  what the tracks explain — their noise (NOISE_STDS stds) and bones that keep the rig's length
  where the tracks' typical (median) length differs, as when retargeting (the differences added
  over the bones from the root), or, on tracks followed as given, what their own departures from a
  rigid shape add up to from the root where that is more than their noise; clean tracks that fit
  the rig must come back within CLEAN_TOLERANCE of the height;
- flips: a local turn of more than 30 degrees in one frame that the tracks do not call for (see
  flips.find_flips).

A joint that translates follows its track, so it is never far from it; where its bone keeps one
length in most frames and leaves it in a few by more than the noise explains, the track there is
more likely wrong (held, swapped, mislabelled) than the bone stretching: that is a warning too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .errors import Pose2RotError
from .flips import find_flips
from .fk import end_site_positions
from .kernels import CLAMP_STDS
from .noisy_lengths import median_noise, noisy_median, unbiased_median
from .rotations import best_fit_rotation, norm, normalize
from .names import mirror_pairs
from .noise_estimate import AUTO_THRESHOLD, bone_lengths, column_nanmedian
from .spikes import OUTLIER_MIN_FRACTION
from .skeleton import Skeleton, on_axis
from .solution import Solution
from .stacks import any_axis
from .tracks import Tracks
from .wording import WARNING_PREFIX, counted

#: clean tracks must come back within this fraction of the skeleton height
CLEAN_TOLERANCE = 1e-4
#: a noisy track may be this many noise stds (per axis) from where its joint really is, and the
#: solution as far again: further is more than noise explains
NOISE_STDS = 2 * CLAMP_STDS
#: a track's typical bone length differs from the rig's only beyond this many stds of its median's noise
MEDIAN_STDS = 3.0
#: a 3-vector of noise std s per axis, each axis within CLAMP_STDS of it, is at most this times s long
AXES_STDS = CLAMP_STDS * math.sqrt(3.0)
#: what the position warning says of a joint whose track holds one value in every frame (_held_throughout)
HELD_THROUGHOUT = ("; its track is held at one value in every frame while the others move, "
                   "as a tracker holds a point it lost")
#: the most (fraction of the height) the tracks' own departures from a rigid shape explain of a rigid rig's
#: distance from a track followed as given: what noise the solve leaves unsmoothed (under AUTO_THRESHOLD
#: per axis, at both ends of a bone) reaches in CLAMP_STDS stds; a track further off (pulled away, swapped)
#: is no such departure
OWN_SHAPE_FRACTION = CLAMP_STDS * math.sqrt(2.0) * AUTO_THRESHOLD
#: a joint that translates is warned about where its distance to the parent leaves the one it keeps
#: in most frames by more than this fraction of it (and 2 % of the height, and the noise): a rig's
#: stretch stays under it, a held or swapped track (a wrist 50-500 % off its forearm) does not
STEADY_FRACTION = 0.25
#: a point standing in for a place past a joint the points do not show (a toe tip for the toe base) may
#: leave its bone's median length by this many robust stds of that length over the clip as the joint
#: bends: the generated walks' toe tips go up to 13 (40 seeds), and a tip 15 % of the foot further is 40
#: or more of theirs
BEND_SPREADS = 15.0


class ResultTooFarError(Pose2RotError):
    """A solution ends further from its tracks than the caller allows."""


@dataclass
class SafetyCheck:
    """``error`` [T,J] distance of each solved joint from its track and ``allowed`` [J] (or [T,J]) what
    the tracks explain (fractions of the height; NaN errors for joints without data), ``flips`` [T-1,J]
    sudden turns the tracks do not call for, ``stretched`` [T,J] how far a bone (to the parent) is
    from the length it keeps in most frames where that is more than noise (see _left_steady_length;
    0 elsewhere), what the positions were compared with, the bone tips' part (``tips``, None
    without tips) and ``held`` [J] joints whose track holds one value in every frame while others
    move (_held_throughout; None: none), ``folds`` joints placed between points that fold where the
    points do not (_placed_folds; None: none), ``shape_change`` how far the tracks leave the rig's
    rigid shape where some joint ends far from its track (_shape_change; else 0, and for points
    driving another rig), ``meets`` [T,J] the joints where more of the ``stretched`` bones meet than
    at the other end of any of them (_meeting_joints; None: none); warnings count frames from
    ``first_frame`` (see Tracks); ``targets`` [T,J,3] the track positions ``error`` was measured against (gaps
    filled, left and right swaps traded back: what a caller measuring its own keys must compare with)."""

    error: np.ndarray
    allowed: np.ndarray
    flips: np.ndarray
    against: str
    first_frame: int = 0
    stretched: np.ndarray | None = None
    tips: TipsCheck | None = None
    held: np.ndarray | None = None
    folds: PlacedFolds | None = None
    shape_change: float = 0.0
    meets: np.ndarray | None = None
    targets: np.ndarray | None = None

    @property
    def far(self) -> np.ndarray:
        """[T,J] joints further from their tracks than the tracks explain."""
        return _beyond(self.error, self.allowed)

    @property
    def far_tips(self) -> np.ndarray | None:
        """[T,K] bone tips further from their tracks than the tracks explain (None: no tips)."""
        return None if self.tips is None else _beyond(self.tips.error, self.tips.allowed)

    @property
    def max_error_percent(self) -> float:
        """The largest distance of a joint or bone tip from its track, % of the height."""
        tips = np.nanmax(self.tips.error, initial=0.0) if self.tips is not None else 0.0
        return float(100.0 * max(np.nanmax(self.error, initial=0.0), tips))

    def worst(self, names: tuple[str, ...]) -> tuple[str, int, float]:
        """("joint 'name'" or "bone tip 'name'", frame index, distance as a fraction of the height)
        of the point furthest from its track (``names``: the joints')."""
        error = np.nan_to_num(self.error, nan=0.0)
        t, j = np.unravel_index(int(np.argmax(error)), error.shape)
        if self.tips is not None and np.nanmax(self.tips.error, initial=0.0) > error[t, j]:
            tips = np.nan_to_num(self.tips.error, nan=0.0)
            t, k = np.unravel_index(int(np.argmax(tips)), tips.shape)
            return f"bone tip '{self.tips.names[k]}'", int(t), float(tips[t, k])
        return f"joint '{names[j]}'", int(t), float(error[t, j])

    def past(self, limit: float, names: tuple[str, ...]) -> str:
        """"3 joints end further: 'a' (frames 3-7, up to 4.2 %), ... and N more" for the joints (named
        with ``names``) and bone tips further than ``limit`` (fraction of the height) from their tracks in
        some frame, the furthest first (five named, the rest counted); '' when none is. Every point past a
        limit the caller set, whether or not the noise explains its distance (the warning names those
        it does not)."""
        error, listed, tips = self.error, tuple(names), 0
        if self.tips is not None:
            error, listed = np.concatenate([error, self.tips.error], 1), listed + tuple(self.tips.names)
            tips = int((np.nan_to_num(self.tips.error, nan=0.0) > limit).any(axis=0).sum())
        over = np.nan_to_num(error, nan=0.0) > limit
        if not over.any():
            return ""
        n, text = worst_joints(over, error, listed, self.first_frame)
        noun = "bone tip" if tips == n else "joint" if tips == 0 else "joints and bone tip"
        return f"{counted(n, noun)} end{'s' if n == 1 else ''} further: {text}"

    def lines(self, names: tuple[str, ...]) -> list[str]:
        """Warnings naming the joints (and bone tips) and frames concerned (empty when all is well)."""
        out = []
        far, error, listed_names, noun = self.far, self.error, names, "joint"
        if self.tips is not None and self.far_tips.any():
            noun = "joints and bone tips" if far.any() else "bone tip"
            far, error = np.concatenate([far, self.far_tips], 1), np.concatenate([error, self.tips.error], 1)
            listed_names = tuple(names) + tuple(self.tips.names)
        if far.any():
            held = {} if self.held is None else {int(j): HELD_THROUGHOUT for j in np.flatnonzero(self.held)}
            n, listed = worst_joints(far, error, listed_names, self.first_frame, held)
            whose = f"its {self.against.removesuffix('s')}" if n == 1 else f"their {self.against}"
            counted = f"{noun} ends" if n == 1 else f"{noun.removesuffix('s')}s end"
            out.append(f"{WARNING_PREFIX}{n} {counted} further from "
                       f"{whose} than the noise and bone lengths explain: {listed} (percent of the skeleton height)"
                       + _rigid_shape_note(self.shape_change))
        if self.flips.any():
            joints = np.flatnonzero(self.flips.any(axis=0))
            parts = [f"'{names[j]}' ({_frames(self.flips[:, j], self.first_frame + 1)})" for j in joints[:5]]
            more = f" and {len(joints) - 5} more" if len(joints) > 5 else ""
            out.append(f"{WARNING_PREFIX}{int(self.flips.sum())} sudden turns that the tracks do not call for (flips): "
                       f"{', '.join(parts)}{more}")
        if self.stretched is not None and self.stretched.any():
            out.append(_stretch_warning(self.stretched, names, self.first_frame, self.meets, self.held))
        if self.folds is not None and self.folds.folded.any():
            out.append(self.folds.warning(names, self.first_frame))
        return out


@dataclass
class TipsCheck:
    """The bone tips' part of a SafetyCheck: ``error`` [T,K] distance of each solved tip from its
    track (NaN where the track was no data) and ``allowed`` [K] (or [T,K]) what the tracks explain,
    fractions of the height; ``names`` [K]; ``off_length`` [K] how far each tip's typical track
    length from its joint is from the rig's, beyond what the noise explains (0 within it)."""

    error: np.ndarray
    allowed: np.ndarray
    names: tuple[str, ...]
    off_length: np.ndarray | None = None


@dataclass
class PlacedFolds:
    """Joints placed between points (retargeting) that fold: ``bend`` [T,J] each placed joint's bend
    (degrees, the angle between its bone and the next one towards the point that ends its stretch),
    ``points`` [T,J] the largest bend the points show along that stretch, ``folded`` [T,J] where the
    joint bends back past a right angle and further than the points and its reference bend explain."""

    bend: np.ndarray
    points: np.ndarray
    folded: np.ndarray

    def warning(self, names: tuple[str, ...], first_frame: int) -> str:
        """The warning line naming the folded joints, frames and bends."""
        joints = np.flatnonzero(self.folded.any(axis=0))
        worst = sorted(joints, key=lambda j: -self.bend[self.folded[:, j], j].max())
        parts = []
        for j in worst[:5]:
            t = np.flatnonzero(self.folded[:, j])[np.argmax(self.bend[self.folded[:, j], j])]
            parts.append(f"'{names[j]}' ({_frames(self.folded[:, j], first_frame)}, up to "
                         f"{self.bend[t, j]:.0f}° where the points bend by {self.points[t, j]:.0f}°)")
        more = f" and {len(joints) - 5} more" if len(joints) > 5 else ""
        n = len(joints)
        return (f"{WARNING_PREFIX}{n} {'joint' if n == 1 else 'joints'} of chains placed between points "
                f"{'folds' if n == 1 else 'fold'} back past a right angle where the points along the same stretch "
                f"bend less: {', '.join(parts)}{more} (the rig's chain there does not fit the performer's "
                "stretch between the points: the fold is the fill's, not the performer's; check the map and the "
                "rig's proportions)")


def _rigid_shape_note(shape_change: float) -> str:
    """The warning's closing words where the tracks leave the rig's rigid shape (by
    ``shape_change``, a fraction of the height, see _shape_change); none within the clean
    tolerance."""
    if shape_change <= CLEAN_TOLERANCE:
        return ""
    return (f"; the tracks leave the rig's rigid shape by up to {100 * shape_change:.2g} % of the height at a "
            "joint (bones that change length, points of one part that move apart), and the misses add up "
            "down the chains: stretch='exact' puts every joint on its track")


def _beyond(error: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Where ``error`` is further than ``allowed`` (NaN errors: never; NaN allowances: no bound)."""
    return np.nan_to_num(error, nan=0.0) > np.nan_to_num(allowed, nan=np.inf)


def worst_joints(flagged: np.ndarray, amount: np.ndarray, names: tuple[str, ...], first_frame: int,
                 notes: dict[int, str] | None = None) -> tuple[int, str]:
    """(how many joints have a ``flagged`` [T,J] frame, "'a' (frames 3-7, up to 4.2 %), ... and N
    more": the five with the largest ``amount`` [T,J] (fraction of the height; NaN: none) there,
    frames counted from ``first_frame``, each with its ``notes`` entry, if any, after the figures),
    as the warnings word them; also for a measure taken outside this check (the keys Blender writes,
    where they differ from the solution)."""
    notes = notes or {}
    joints = np.flatnonzero(flagged.any(axis=0))
    worst = sorted(joints, key=lambda j: -np.nanmax(np.where(flagged[:, j], amount[:, j], 0.0)))
    parts = [f"'{names[j]}' ({_frames(flagged[:, j], first_frame)}, "
             f"up to {100 * np.nanmax(amount[flagged[:, j], j]):.3g} %{notes.get(int(j), '')})" for j in worst[:5]]
    more = f" and {len(joints) - 5} more" if len(joints) > 5 else ""
    return len(joints), ", ".join(parts) + more


def _stretch_warning(stretched: np.ndarray, names: tuple[str, ...], first_frame: int,
                     meets: np.ndarray | None = None, held: np.ndarray | None = None) -> str:
    """The warning for bones that leave the length they keep in most frames (``stretched`` [T,J]),
    naming the joints where several of them meet (``meets`` [T,J], see _meeting_joints) as the
    tracks to check first, with HELD_THROUGHOUT where ``held`` [J] says so: a frozen hand shows as
    its forearm and its fingers all leaving their lengths, the fingers furthest, and the hand was
    the one left out of the list."""
    n, listed = worst_joints(stretched > 0, stretched, names, first_frame)
    met = np.flatnonzero(meets.any(axis=0)) if meets is not None else np.zeros(0, np.int64)
    at = [f"'{names[j]}' ({_frames(meets[:, j], first_frame)}"
          f"{HELD_THROUGHOUT if held is not None and held[j] else ''})" for j in met[:5]]
    where = "" if not at else (
        f"; those bones meet at {', '.join(at)}{f' and {len(met) - 5} more' if len(met) > 5 else ''}: one track "
        f"wrong there takes them all off their lengths, so check {'its track' if len(met) == 1 else 'theirs'} first")
    return (f"{WARNING_PREFIX}{n} {'joint is' if n == 1 else 'joints are'} off the distance to "
            f"the parent kept in most frames, further than the noise explains (the solve follows the track there): "
            f"{listed} (percent of the skeleton height{where}; a track held at its last value, swapped "
            "with another, taken from the wrong joint, or slow noise in many tracks looks like this: check those "
            "frames, or use stretch='off' to keep the bones rigid)")


def _meeting_joints(parents: np.ndarray, stretched: np.ndarray) -> np.ndarray:
    """[T,J] where a joint has more ``stretched`` [T,J] bones (each the bone to its parent, by its
    child joint) at it than the other end of one of them has: a track wrong there takes every bone
    at it off its length, the neighbours' other bones keep theirs. Where both ends of a bone have
    as many (a hand moved with its fingers, or its forearm held), the lengths cannot tell which
    track is wrong: neither is named."""
    off = stretched > 0
    child = np.flatnonzero(parents >= 0)
    par = parents[child]
    count = off.astype(np.int64)                      # each joint's own bone ...
    np.add.at(count.T, par, off[:, child].T)          # ... and its children's
    out = np.zeros_like(off)
    np.logical_or.at(out.T, par, (off[:, child] & (count[:, par] > count[:, child])).T)
    out[:, child] |= off[:, child] & (count[:, child] > count[:, par])
    return out


def _frames(mask: np.ndarray, offset: int = 0) -> str:
    """'frames 3-7, 12' for a [T] mask (at most four ranges)."""
    idx = np.flatnonzero(mask) + offset
    runs = np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1)
    text = [f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs[:4]]
    return ("frame " if len(idx) == 1 else "frames ") + ", ".join(text) + (" ..." if len(runs) > 4 else "")


def check_solution(tracks: Tracks, sol: Solution, noise: np.ndarray | None = None,
                   against: str = "tracks", no_data: np.ndarray | None = None, end_noise: np.ndarray | None = None,
                   end_no_data: np.ndarray | None = None, as_given: bool = False,
                   made_up: np.ndarray | None = None, points_noise: np.ndarray | None = None,
                   stand_ins: np.ndarray | None = None, noise_shape: np.ndarray | None = None) -> SafetyCheck:
    """Compare ``sol`` with the (gap-free) ``tracks`` it was solved from, joints and bone tips.
    noise: [J] std per axis (fraction of the height) of the noise in the tracks (None: clean),
    end_noise: [K] the tips' (default: their joints'); no_data: [T,J] (end_no_data: [T,K]) samples
    that were gaps, filled by interpolation: nothing to compare with there (NaN errors).
    as_given: the solve followed the tracks as they are (not smoothed), so a rigid rig's joints
    are also off by what the noise in the bone lengths from the root adds up to (_accumulated), or
    by what the tracks' own departures from a rigid shape add up to, where that is more
    (_off_own_shape; not for points driving another rig, ``made_up``).
    made_up: [J] joints whose tracks were placed between points (retargeting), not seen: like a
    filled gap they call for no turn, so any turn over flips.FLIP_DEGREES in a frame is a flip (a chest
    that tilted by 30-110 degrees within a frame was written without a word: its fitted track called
    for the turn). Given (retargeting), the tracks are another performer's points, and what the rig's
    own shape keeps joints off a rigid performer's points is allowed too (_steady_shape; a joint
    on a point that leaves its rigid place, or further off than the shapes differ, is not), the
    old allowance for bone lengths less the same departures, and such joints that fold back past a
    right angle where the points do not are named on their own line (_placed_folds); points_noise: [J] the noise std
    (fraction of the height) the points showed before the retarget cleaned them (default 0); stand_ins: [J]
    joints whose point stands in for a place past a joint the points do not show (with ``made_up``; see
    _bent_between); noise_shape: [3,3] the noise's covariance over its mean variance per axis where it
    is stronger along some directions (Cleaning.noise_shape): a joint off its track along such a
    direction has that direction's noise to explain it (_along_the_noise)."""
    skel = tracks.skeleton
    G, X = sol.forward()
    off = X - tracks.positions
    error = norm(off) / skel.height  # NaN for joints without data
    if no_data is not None:
        error[no_data] = np.nan
    noise = np.zeros(skel.num_joints) if noise is None else noise
    if tracks.has_ends and end_noise is None:  # tips as noisy as their joints
        end_noise = noise[tracks.end_parents]
    spread, end_spread = (_accumulated(skel.parents, noise, tracks.end_parents, end_noise) if as_given
                          else (noise, end_noise))
    along = _along_the_bones(tracks, sol, noise, no_data)
    explained, end_explained = NOISE_STDS * spread, None if end_spread is None else NOISE_STDS * end_spread
    if noise_shape is not None:
        explained = explained * _along_the_noise(off, noise_shape)
    if as_given and made_up is None:  # or what the tracks' own departures from a rigid shape add up to
        own, end_own = _off_own_shape(tracks, G, X, sol.translating, tracks.unmeasured(no_data), end_no_data)
        explained = np.maximum(explained, own)
        end_explained = None if end_own is None else np.maximum(end_explained, end_own)
    tips = _check_tips(tracks, G, X, noise, end_noise, along, no_data, end_no_data, end_explained, noise_shape)
    base = CLEAN_TOLERANCE + explained
    allowed = base + along
    if made_up is not None:  # another performer's points: what the rig's own shape keeps off them
        points_noise = np.zeros(skel.num_joints) if points_noise is None else np.asarray(points_noise, np.float64)
        bent = _bent_between(tracks, stand_ins, noise, no_data)
        shape, end_shape, off = _steady_shape(tracks, G, X, error, tips, np.asarray(made_up, bool), points_noise,
                                              tracks.unmeasured(no_data), as_given, bent)
        bent_below = _down_the_bones(skel.parents[1:], bent[:, 1:].T).T  # [T,J]
        allowed = base + np.maximum(np.maximum(along + bent_below - off, 0.0), shape)
        if tips is not None:
            tips.allowed = np.maximum(tips.allowed, CLEAN_TOLERANCE + NOISE_STDS * end_spread + end_shape)
    stretched = _left_steady_length(skel, X, noise, no_data)
    check = SafetyCheck(error=error, allowed=allowed,
                        flips=find_flips(tracks, sol, G, _unseen(no_data, made_up, error.shape)), against=against,
                        first_frame=tracks.first_frame, targets=tracks.positions,
                        stretched=stretched, meets=_meeting_joints(skel.parents, stretched), tips=tips,
                        held=_held_throughout(tracks.positions, no_data, skel.height),
                        folds=None if made_up is None else _placed_folds(tracks, X, np.asarray(made_up, bool),
                                                                         points_noise))
    if made_up is None and (check.far.any() or (tips is not None and check.far_tips.any())):  # for the warning
        check.shape_change = _shape_change(tracks, sol, noise, no_data)
    return check


def _along_the_noise(off: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """[T,N] how many times the noise along each departure ``off`` [T,N,3] (solved less tracked) is
    the noise's mean per axis, for noise of covariance ``shape`` [3,3] over that mean (trace 3): the
    root of u^T shape u for its direction u, and never less than 1 (the allowance stays what it is
    across the stronger directions: what the solve does there is read as before)."""
    u = off / np.maximum(norm(off), 1e-300)[..., None]
    return np.sqrt(np.maximum(np.einsum("...i,ij,...j->...", u, shape, u), 1.0))


def _placed_folds(tracks: Tracks, X: np.ndarray, made_up: np.ndarray, noise: np.ndarray) -> PlacedFolds | None:
    """Where joints ``made_up`` [J] (placed between points) of the solved ``X`` [T,J,3] fold: along each
    stretch of them from a joint on a point A to one C (_placed_stretches), a joint q (a placed one, or
    A under a placed joint of another such stretch: between two placed bones) bends back past a
    right angle (the next bone runs back against the one before) by more than its reference bend (the
    tracks' reference pose, else the rig's rest pose) and the largest bend the points show at the
    stretch's ends (between the point above A, A and C, and C and the points below it: between A and
    C the points show no bend) with CLAMP_STDS of the angle the points' ``noise`` [J] (std per axis,
    fraction of the height) turns their chord by. None when nothing folds. A joint q hung from a joint
    with several bones (a collar or neck under a chest, a first spine joint under the hips) lies where
    that joint's frame puts the rig's offset: with a point next (a collar before the shoulder point, a
    CMU buttock before the hip point, a thumb base before the thumb point) its bend is that offset
    against the point, proportions, and it is left out; with a placed joint next (a first spine joint
    under the hips, a neck under the chest below a placed head joint) the bend is the fill's, held to
    its own reference bend as any other. Placed joints on their bone's axis up to the point next (a
    collar split into twist segments, skeleton.on_axis) are that bone: the bend is the offset against
    the point as without them (warned of, the collars of the Mixamo example so split under the
    FreeMoCap walk folded by 92-105 degrees at the chest; the unsplit collars are left out). A bone shorter than CLEAN_TOLERANCE of the height (an iClone
    facial bone 0.0001 units from the head) has no direction to bend and is left out too."""
    from .map_proposal import reference_positions

    skel, P = tracks.skeleton, tracks.positions
    parents = np.asarray(skel.parents)
    rest = reference_positions(skel, tracks.reference_rotations)
    bend, points = np.zeros(P.shape[:2]), np.zeros(P.shape[:2])
    folded = np.zeros(P.shape[:2], bool)
    short = CLEAN_TOLERANCE * skel.height  # a bone shorter than the check sees has no direction to bend
    stretches = _placed_stretches(parents, made_up)
    between = {q for _, path, _ in stretches for q in path}
    twist = made_up & on_axis(parents, rest)                   # placed twist segments: part of their bone
    for a_point, path, c_point in stretches:
        above = int(parents[a_point])
        chain = ([above] if above in between else []) + [a_point] + path + [c_point]
        shown = _points_bend(P, parents, made_up, a_point, c_point)
        chord = norm(P[:, c_point] - P[:, a_point])
        spread = skel.height * math.hypot(noise[a_point], noise[c_point])
        shaken = np.degrees(np.arcsin(np.clip(CLAMP_STDS * spread / np.maximum(chord, 1e-12), 0.0, 1.0)))
        for i, (a, q, b) in enumerate(zip(chain[:-2], chain[1:-1], chain[2:])):
            bone_end = next(j for j in chain[i + 2:] if not twist[j])
            forced = len(skel.children[a]) > 1 and not made_up[bone_end]  # a's frame and a point set its bend
            if forced or min(norm(rest[q] - rest[a]), norm(rest[b] - rest[q])) < short:
                continue
            at_q = _angle_between(X[:, q] - X[:, a], X[:, b] - X[:, q])
            reference = float(_angle_between(rest[q] - rest[a], rest[b] - rest[q]))
            over = (at_q > 90.0) & (at_q > reference + shown + shaken)
            take = over | (~folded[:, q] & (at_q > bend[:, q]))
            bend[:, q] = np.where(take, at_q, bend[:, q])
            points[:, q] = np.where(take, shown, points[:, q])
            folded[:, q] |= over
    return PlacedFolds(bend, points, folded) if folded.any() else None


def _placed_stretches(parents: np.ndarray, made: np.ndarray) -> list[tuple[int, list[int], int]]:
    """(A, [placed joints from A down], C) for each joint C on a point under a ``made`` [J] joint
    whose chain of such joints hangs from a joint A on a point."""
    out = []
    for c in np.flatnonzero(~made & (parents >= 0)):
        path, q = [], int(parents[c])
        if not made[q]:
            continue
        while q >= 0 and made[q]:
            path.append(q)
            q = int(parents[q])
        if q >= 0:
            out.append((q, path[::-1], int(c)))
    return out


def _points_bend(P: np.ndarray, parents: np.ndarray, made: np.ndarray, a: int, c: int) -> np.ndarray:
    """[T] the largest bend (degrees) the points ``P`` [T,J,3] show at the ends of the stretch from the
    joint ``a`` to ``c`` (both on points): between the point above a and the chord a-c, and between
    that chord and each point directly below c (0 where there is none)."""
    above = int(parents[a])
    while above >= 0 and made[above]:
        above = int(parents[above])
    chord = P[:, c] - P[:, a]
    bends = [_angle_between(P[:, a] - P[:, above], chord)] if above >= 0 else []
    bends += [_angle_between(chord, P[:, k] - P[:, c]) for k in np.flatnonzero((parents == c) & ~made)]
    return np.nan_to_num(np.max(bends, axis=0)) if bends else np.zeros(len(P))


def _angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[...] the angle (degrees) between the vectors ``u`` and ``v`` [...,3]."""
    cos = np.einsum("...i,...i->...", u, v) / np.maximum(norm(u) * norm(v), 1e-300)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _held_throughout(positions: np.ndarray, no_data: np.ndarray | None, height: float) -> np.ndarray | None:
    """[J] joints whose track (``positions`` [T,J,3]) stays within CLEAN_TOLERANCE of the ``height``
    of its first sample in every frame with data (not ``no_data`` [T,J]; two or more of them) while
    another track moves: a tracker holding a point it lost for the whole clip (cleaning smooths such
    a track to within rounding of its value), whose joint the check then finds far off where the
    body has moved away (a wrist held while the walker walked on was named 122 % of the height off,
    as if the solve had failed). None where no track is so held. Only said of joints named far."""
    seen = ~any_axis(~np.isfinite(positions))
    if no_data is not None:
        seen &= ~no_data
    data = positions if seen.all() else np.where(seen[..., None], positions, np.nan)
    span = np.fmax.reduce(data, axis=0) - np.fmin.reduce(data, axis=0)  # [J,3] NaN: never seen
    near = (span <= 2.0 * CLEAN_TOLERANCE * height).all(axis=-1)  # the only ones that can be held (a quick screen)
    if not near.any():
        return None
    cols = np.flatnonzero(near)
    sub, seen_sub = positions[:, cols], seen[:, cols]
    first = sub[np.argmax(seen_sub, axis=0), np.arange(len(cols))]  # [C,3] the first sample with data
    same = (np.abs(sub - first[None]) <= CLEAN_TOLERANCE * height).all(axis=-1) | ~seen_sub  # [T,C]
    held = np.zeros(positions.shape[1], bool)
    held[cols] = same.all(axis=0) & (seen_sub.sum(axis=0) >= 2)
    if not held.any() or held.sum() + (seen.sum(axis=0) < 2).sum() == positions.shape[1]:
        return None
    return held


def _steady_shape(tracks: Tracks, G: np.ndarray, X: np.ndarray, error: np.ndarray, tips: TipsCheck | None,
                  made_up: np.ndarray, noise: np.ndarray, unmeasured: np.ndarray | None, as_given: bool = False,
                  bent: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """([T,J], [T,K]) how much of each joint's and bone tip's distance ``r`` from its track the rig's
    own shape explains, where the tracks are another performer's points (``made_up`` [J]: joints
    whose tracks were placed between them; ``noise`` [J]: the points' noise std per axis), and
    [T,J] how far the points are from a rigid performer there (_off_rigid; where the solve followed
    the tracks ``as_given``, also a point hung one placed joint below a joint on a point off every
    sphere about it, _off_sphere); fractions of the height. Explained: |r| less that departure, at
    most how far the performer's shape is from the rig's along the bones from the root
    (_shape_difference). A point off its rigid place by more
    than the noise is not explained (the check stays as strict as without it there), nor a joint
    further off than the shapes differ (a solve gone wrong). Samples without data (NaN ``error``
    [T,J], tips' [T,K]) do not count, nor for the departure ``unmeasured`` [T,J] ones
    (Tracks.unmeasured: between keys the curves bend the points' distances), nor the part ``bent``
    [T,J] of a bone's change of length (to joint j from its parent) that a joint between explains
    (_bent_between); a bone tip's noise and samples are its joint's."""
    P, Y, parents = _with_tips(tracks, G, X)
    seen = np.isfinite(np.concatenate([error, tips.error], 1) if tips is not None else error)
    placed = np.concatenate([made_up, np.zeros(len(parents) - len(made_up), bool)])
    placed = placed[1:] | placed[parents[1:]]  # [N-1] bones with an end placed between points
    r = np.where(seen[..., None], P - Y, np.nan)  # [T,N,3]
    noise = tracks.skeleton.height * np.concatenate([noise, noise[parents[len(noise):]]])  # [N]
    spread = np.hypot(noise[1:], noise[parents[1:]])  # [N-1] a bone's noise std per axis
    J = tracks.skeleton.num_joints
    measured = seen if unmeasured is None else seen & ~unmeasured[:, np.concatenate([np.arange(J), parents[J:]])]
    made = np.concatenate([made_up, np.zeros(len(parents) - J, bool)])
    hung = _off_sphere(P, G, parents, made, measured, noise, tracks.skeleton.height) if as_given else None
    if bent is not None:
        bent = tracks.skeleton.height * np.concatenate([bent[:, 1:], np.zeros((len(bent), len(parents) - J))], 1)
    off = _off_rigid(P, parents, measured, placed, spread, hung, bent)
    explained = np.clip(norm(r) - off, 0.0, _shape_difference(G, P, r, parents, placed, spread, noise[0]))
    explained = np.nan_to_num(explained, nan=0.0) / tracks.skeleton.height
    return explained[:, :J], None if tips is None else explained[:, J:], off[:, :J] / tracks.skeleton.height


def _off_rigid(P: np.ndarray, parents: np.ndarray, seen: np.ndarray, placed: np.ndarray, spread: np.ndarray,
               hung: np.ndarray | None = None, bent: np.ndarray | None = None) -> np.ndarray:
    """[T,N] how far the points ``P`` [T,N,3] are from a rigid performer at each one: the largest
    change of a bone's length from its median over the clip (``seen`` [T,N] samples only) beyond
    CLAMP_STDS of its noise (``spread`` [N-1], per axis, both ends), on the bones from the root down
    to it, less the part ``bent`` [T,N-1] a joint between explains (_bent_between; None: none);
    ``placed`` [N-1] bones left out (their length is the fill's), where ``hung`` [T,N-1]
    (_off_sphere) may tell instead. A point wrong in fewer than half the frames leaves the medians
    where the performer's bones are."""
    kids = np.arange(1, len(parents))
    both = seen[:, kids] & seen[:, parents[kids]] & ~placed
    length = np.where(both, norm(P[:, kids] - P[:, parents[kids]]), np.nan)  # [T,N-1]
    change = np.abs(length - column_nanmedian(length)) - CLAMP_STDS * spread - (0.0 if bent is None else bent)
    change = np.nan_to_num(np.maximum(change, 0.0))
    if hung is not None:
        change = np.maximum(change, hung)
    out = np.zeros(P.shape[:2])
    for n, p in zip(kids, parents[kids]):
        out[:, n] = np.maximum(out[:, p], change[:, n - 1])
    return out


def _bent_between(tracks: Tracks, stand_ins: np.ndarray | None, noise: np.ndarray,
                  no_data: np.ndarray | None) -> np.ndarray:
    """[T,J] how much of the change of each ``stand_ins`` [J] joint's track distance from its parent's
    (fraction of the height; 0 for other joints, the root and samples without data) a joint of the
    performer between them explains: such a point stands in for a place past a joint the points do
    not show (a toe base driven by a toe-tip landmark: the toes bend), so its distance from the
    parent's point leaves its median as that joint bends, by a fraction of a percent of the height in
    a walk. Explained up to what the clip shows that bend to do (_bend_bound): a point held, swapped
    or taken from the wrong place goes further and is still named."""
    skel = tracks.skeleton
    out = np.zeros(tracks.positions.shape[:2])
    joints = np.flatnonzero(np.asarray(stand_ins, bool)[1:]) + 1 if stand_ins is not None else []
    if not len(joints):
        return out
    parents = skel.parents[joints]
    lengths = bone_lengths(tracks.positions, joints, parents, tracks.unmeasured(no_data)) / skel.height  # [T,n]
    median = column_nanmedian(lengths)
    change = np.abs(lengths - median)
    bound = _bend_bound(skel.names, joints, median, change, np.hypot(noise[joints], noise[parents]))
    out[:, joints] = np.nan_to_num(np.minimum(change, bound))
    return out


def _bend_bound(names: Sequence[str], joints: np.ndarray, median: np.ndarray, change: np.ndarray,
                noise: np.ndarray) -> np.ndarray:
    """[n] the most (fraction of the height) the bend about a joint the points do not show explains of
    the change ``change`` [T,n] of the lengths of the bones to ``joints`` [n] (of a rig named ``names``)
    from their medians ``median`` [n]: BEND_SPREADS robust stds of that change over the clip (the
    median's 1.4826 times; a point wrong in fewer than half the frames leaves it as the bend makes it),
    or of its mirror's where that is more (the other foot bends alike, and its points are not the
    wrong ones), or NOISE_STDS stds of both ends' ``noise`` [n]; never more than a track may leave its
    bone's length by before it is called wrong (_between_keys_bound)."""
    spread = 1.4826 * column_nanmedian(change)
    at = {int(j): i for i, j in enumerate(joints)}
    mirrored = spread.copy()
    for a, b in mirror_pairs(names):
        if a in at and b in at:
            mirrored[at[a]], mirrored[at[b]] = spread[at[b]], spread[at[a]]
    bend = BEND_SPREADS * np.fmax(spread, mirrored)
    return np.minimum(_between_keys_bound(median, noise), np.fmax(bend, NOISE_STDS * noise))


def _off_sphere(P: np.ndarray, G: np.ndarray, parents: np.ndarray, made: np.ndarray, seen: np.ndarray,
                noise: np.ndarray, height: float) -> np.ndarray:
    """[T,N-1] for each bone from a ``made`` [N] joint q (placed between points) whose parent a is on a
    point, to a point c: how far c's track (``P`` [T,N,3]), seen from a's solved frame (G [T,J,3,3])
    about a's track, is from the sphere that best fits it there (_off_best_sphere), beyond
    CLAMP_STDS of both points' ``noise`` [N] (per axis, the unit of ``height``); 0 for other bones,
    samples not ``seen`` [T,N], and points noisy enough for the cleaning to smooth them
    (AUTO_THRESHOLD of the height: smoothing shrinks a body that turns fast, and the salsa's H3.6M
    points with 0.5 % jitter, cleaned, left every sphere by up to 1 % of the height in 18 frames).
    The rig holds q's head at one place in a's frame and c one bone from it, so a performer of any
    proportions but the rig's joints keeps c on a sphere about a place fixed to a (its own q): c
    leaving every such sphere is the performer bending where the rig has no joint (a rig without a
    spine under a performer's arms: 8-11 % of the height off), which no proportions explain. Only
    where two or more of a's bones end on points, which then hold its frame (where a holds q alone,
    its frame is the fill's, not the performer's)."""
    out = np.zeros((len(P), len(parents) - 1))
    for c in np.flatnonzero(~made[1:] & made[parents[1:]]) + 1:
        q = parents[c]
        a = parents[q]
        if a < 0 or made[a] or np.count_nonzero((parents == a) & ~made) < 2:
            continue
        if max(noise[c], noise[a]) >= AUTO_THRESHOLD * height:
            continue
        ok = seen[:, c] & seen[:, a]
        if ok.sum() < 5:  # four numbers fix a sphere: with fewer samples any fits
            continue
        y = np.einsum("tba,tb->ta", G[ok, a], P[ok, c] - P[ok, a])  # [n,3]
        out[ok, c - 1] = np.maximum(_off_best_sphere(y) - CLAMP_STDS * math.hypot(noise[c], noise[a]), 0.0)
    return out


def _off_best_sphere(y: np.ndarray, steps: int = 4) -> np.ndarray:
    """[n] how far each of the points ``y`` [n,3] (n >= 5) is from the sphere that best fits the half
    of them nearest to it: a least-squares sphere (|y|^2 = 2 y.centre + k, linear), refitted ``steps``
    times to the half it fits best (concentration steps of a least trimmed squares fit), so that a
    point wrong in fewer than half the samples does not move the sphere off the others."""
    lhs = np.concatenate([2.0 * y, np.ones((len(y), 1))], axis=1)
    rhs = (y * y).sum(-1)
    kept = np.ones(len(y), bool)
    for _ in range(steps + 1):
        centre = np.linalg.lstsq(lhs[kept], rhs[kept], rcond=None)[0][:3]
        distance = norm(y - centre)
        away = np.abs(distance - np.median(distance[kept]))
        kept = away <= np.partition(away, len(y) // 2)[len(y) // 2]
    return away


def _shape_difference(G: np.ndarray, P: np.ndarray, r: np.ndarray, parents: np.ndarray, placed: np.ndarray,
                      spread: np.ndarray, root_noise: float) -> np.ndarray:
    """[T,N] how far the performer's shape is from the rig's, added over the bones from the root: each
    bone's misfit (its track less the rig's bone; ``P`` [T,N,3] the tracks, ``r`` [T,N,3] their
    distances from the solved joints) seen from the solved parent joint (G [T,J,3,3]) as its median
    over the clip, in each frame for ``placed`` [N-1] bones (the fill's compromise) up to that median
    plus what no turn of the parent removes (_unturnable) and AXES_STDS of their noise (a smoothed
    solve leaves each frame's fit by that much), and the root's own median; with AXES_STDS of the
    other bones' noise (``spread`` [N-1], ``root_noise``) added in quadrature."""
    kids = np.arange(1, len(parents))
    frame = G[:, parents[kids]]  # [T,N-1,3,3]
    track = np.einsum("tnba,tnb->tna", frame, P[:, kids] - P[:, parents[kids]])
    bone = np.einsum("tnba,tnb->tna", frame, r[:, kids] - r[:, parents[kids]])
    steady = np.nan_to_num(column_nanmedian(bone.reshape(len(bone), -1)).reshape(-1, 3))  # [N-1,3]
    unturnable = _unturnable(track, track - bone, parents[kids], placed)  # [T,N-1]
    compromise = np.minimum(np.nan_to_num(norm(bone)), norm(steady) + unturnable + AXES_STDS * spread)
    misfit = np.where(placed, compromise, norm(steady))  # [T,N-1]
    root = norm(np.nan_to_num(column_nanmedian(np.einsum("tba,tb->ta", G[:, 0], r[:, 0]))))
    wobble = np.sqrt(root_noise ** 2 + _down_the_bones(parents[kids], np.where(placed, 0.0, spread ** 2)))  # [N]
    return root + _down_the_bones(parents[kids], misfit.T).T + AXES_STDS * wobble


def _unturnable(track: np.ndarray, rig: np.ndarray, parent: np.ndarray, placed: np.ndarray) -> np.ndarray:
    """[T,B] how far each ``placed`` [B] bone's track (``track`` [T,B,3], seen from its solved parent)
    stays from the rig's bone (``rig``) after the turn of the parent that best fits its bones
    (``parent`` [B]) in each frame, the larger of the turns fitting all of them and, with two or more,
    those to joints on points (which the solve holds harder than the fill's); 0 elsewhere (NaN
    tracks: 0). A lone bone keeps the difference of the lengths, a branching joint what no turn fits
    to all its children; a parent turned wrong by the solve is no compromise (with each frame's whole
    misfit allowed, a first spine joint turned 45-90 degrees off its track for 30 frames put the
    hands 20-46 % of the height off their points without a warning)."""
    out = np.zeros(track.shape[:2])
    ok = np.isfinite(track).all(-1) & np.isfinite(rig).all(-1)  # [T,B]
    u, o = np.where(ok[..., None], track, 0.0), np.where(ok[..., None], rig, 0.0)
    for p in np.unique(parent[placed]):
        bones = np.flatnonzero(parent == p)
        fits = [bones] + ([bones[~placed[bones]]] if np.count_nonzero(~placed[bones]) >= 2 else [])
        left = np.zeros((len(u), len(bones)))
        for fit in fits:
            turn = best_fit_rotation(np.einsum("tbi,tbj->tij", u[:, fit], o[:, fit]))  # [T,3,3]
            left = np.maximum(left, norm(np.einsum("tij,tbj->tbi", turn, o[:, bones]) - u[:, bones]))
        out[:, bones] = np.where(placed[bones] & ok[:, bones], left, out[:, bones])
    return out


def _with_tips(tracks: Tracks, G: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tracks [T,N,3], solved [T,N,3], parents [N]) of the joints followed by the bone tips."""
    parents = np.asarray(tracks.skeleton.parents, np.int64)
    if not tracks.has_ends:
        return tracks.positions, X, parents
    ends = np.asarray(tracks.end_parents, np.int64)
    solved = end_site_positions(G, X, ends, tracks.end_rest_offsets)
    return (np.concatenate([tracks.positions, tracks.end_positions], 1), np.concatenate([X, solved], 1),
            np.concatenate([parents, ends]))


def _unseen(no_data: np.ndarray | None, made_up: np.ndarray | None, shape: tuple) -> np.ndarray | None:
    """[T,J] samples whose track shows nothing of the turn: gaps ``no_data`` [T,J] and the joints
    ``made_up`` [J] in every frame (None when neither is given)."""
    if made_up is None or not np.any(made_up):
        return no_data
    placed = np.broadcast_to(np.asarray(made_up, bool), shape)
    return placed if no_data is None else no_data | placed


def _accumulated(parents: np.ndarray, noise: np.ndarray, end_parents: np.ndarray | None,
                 end_noise: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """([J], [K]) the noise (fraction of the height) that NOISE_STDS times explains how far a rigid
    rig following tracks as given ends from each joint's (``noise`` [J]) and bone tip's
    (``end_noise`` [K], tips of the joints ``end_parents``) track: the track may be CLAMP_STDS of its
    own noise from where the point is, and the rig's point CLAMP_STDS of what the length noise of
    the bones from the root (both ends' noise along each) adds up to, as each bone of the rig's
    length lands where its track's length says: the mean of the two."""
    length_var = noise[1:] ** 2 + noise[parents[1:]] ** 2  # [J-1]
    down = _down_the_bones(parents[1:], length_var)  # [J]
    joints = 0.5 * (noise + np.sqrt(down))
    if end_noise is None:
        return joints, None
    return joints, 0.5 * (end_noise + np.sqrt(end_noise ** 2 + noise[end_parents] ** 2 + down[end_parents]))


def _body_bones(skel: Skeleton) -> np.ndarray:
    """[J] the joints whose offset from the parent is a bone of the body: not the root, nor its
    children and the root line (Skeleton.root_line), whose offsets place the body (with a root at
    the origin or the floor: a character standing, then walking off)."""
    out = np.ones(skel.num_joints, bool)
    out[[0, *skel.children[0], *skel.root_line]] = False
    return out


def _left_steady_length(skel: Skeleton, X: np.ndarray, noise: np.ndarray, no_data: np.ndarray | None) -> np.ndarray:
    """[T,J] how far (fraction of the height) each solved joint (X [T,J,3]) is from the distance to
    its parent that it keeps in most frames with data (not ``no_data`` [T,J]), where it is further
    than OUTLIER_MIN_FRACTION of the height, STEADY_FRACTION of that distance and NOISE_STDS noise
    stds of both ends (``noise`` [J]); 0 elsewhere. Rigid bones keep their length in every frame;
    joints that keep no one distance in most frames translate throughout; a rig's stretch (an IK
    arm reaching 20 % further) stays under the bound. Left out: the root's children and the root
    line (Skeleton.root_line): with a root at the origin or the floor their offsets place the body
    (a character standing, then walking off), they are no bones."""
    out = np.zeros(X.shape[:2])
    joints = np.flatnonzero(_body_bones(skel))
    if not joints.size:
        return out
    parents = skel.parents[joints]
    dist = bone_lengths(X, joints, parents, no_data) / skel.height  # [T,n], NaN where no data
    usual = column_nanmedian(dist)
    bound = np.maximum.reduce([np.full(len(joints), OUTLIER_MIN_FRACTION), STEADY_FRACTION * usual,
                               NOISE_STDS * np.hypot(noise[joints], noise[parents])])
    off = np.abs(dist - usual)
    seen = np.isfinite(off)
    kept = (off <= bound).sum(axis=0) >= 0.5 * seen.sum(axis=0)
    out[:, joints] = np.where(kept & seen & (off > bound), off, 0.0)
    return out


def _shape_change(tracks: Tracks, sol: Solution, noise: np.ndarray, no_data: np.ndarray | None) -> float:
    """How far (fraction of the height) the tracks leave the rig's rigid shape in some frame, beyond
    NOISE_STDS of their noise (both ends' ``noise`` [J], fractions of the height): the largest
    distance of a joint's track from where the turn of its parent that best fits the rig's bones
    to all its children's tracks puts it (_unturnable: a bone's change of length, a hand's points
    moving apart), over the bones of the body (_body_bones) the solution keeps rigid (joints that
    do not translate). Samples without data (``no_data`` [T,J]) do not count."""
    skel = tracks.skeleton
    kids = np.arange(1, skel.num_joints)
    rigid = (~sol.translating & _body_bones(skel))[kids]
    if not rigid.any():
        return 0.0
    P = tracks.positions
    if no_data is not None:
        P = np.where(no_data[..., None], np.nan, P)
    track = P[:, kids] - P[:, skel.parents[kids]]
    rig = np.broadcast_to(skel.offsets[kids], track.shape)
    off = _unturnable(track, rig, skel.parents[kids], rigid) / skel.height
    change = off - NOISE_STDS * np.hypot(noise[kids], noise[skel.parents[kids]])
    return float(max(np.nanmax(np.where(rigid, change, 0.0), initial=0.0), 0.0))


def _along_the_bones(tracks: Tracks, sol: Solution, noise: np.ndarray, no_data: np.ndarray | None) -> np.ndarray:
    """[J] rigid bones whose typical track length differs from the rig's (_beyond_median_noise),
    added over the bones from the root to each joint (fraction of the height). The typical length
    is read where both ends were data (not where ``no_data`` [T,J] marks a filled gap, which says
    nothing of the bone, nor between keys); a bone never seen whole keeps the rig's. The root line's
    offsets (Skeleton.root_line) are no bones: they place the body, and the solver moves them with
    their tracks wherever those keep them off the rig, so one left rigid there excuses nothing.
    [T,J] when some samples were interpolated between keys (Tracks.keyed): there a rigid bone's
    track may also leave its typical length, as the interpolation takes its ends along their own
    curves, and that is added too."""
    skel = tracks.skeleton
    P, par = tracks.positions, skel.parents[1:]
    rest = np.linalg.norm(skel.offsets[1:], axis=-1)
    bones = bone_lengths(P, np.arange(1, skel.num_joints), par, tracks.unmeasured(no_data))  # [T,J-1]
    spread = np.hypot(noise[1:], noise[par]) * skel.height  # [J-1] a bone length's noise std
    placing = np.isin(np.arange(1, skel.num_joints), skel.root_line)
    off = np.where(sol.translating[1:] | placing, 0.0, _beyond_median_noise(bones, rest, spread) / skel.height)
    along = _down_the_bones(par, off)
    if tracks.keyed is None:
        return along
    return along + _down_the_bones(par, _off_rigid_between_keys(tracks, sol.translating, noise).T).T


def _beyond_median_noise(lengths: np.ndarray, rest: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """[n] how far the typical (median) track length of n bones (``lengths`` [T,n], NaN where not
    seen), less what the noise adds to it (unbiased_median), is from the rig's ``rest`` [n], where the
    median is further from what a bone of the rig's length reads under that noise (noisy_median)
    than the median's own noise can take it (MEDIAN_STDS of it; ``spread`` [n]: a length's noise
    std per axis); 0 elsewhere, and for bones never seen."""
    seen = np.isfinite(lengths).sum(axis=0)
    median = column_nanmedian(lengths)
    beyond = np.abs(median - noisy_median(rest, spread)) > MEDIAN_STDS * median_noise(spread, seen)
    return np.where((seen > 0) & beyond, np.abs(unbiased_median(median, spread) - rest), 0.0)


def _check_tips(tracks: Tracks, G: np.ndarray, X: np.ndarray, noise: np.ndarray, end_noise: np.ndarray | None,
                along: np.ndarray, no_data: np.ndarray | None, end_no_data: np.ndarray | None,
                explained: np.ndarray | None, noise_shape: np.ndarray | None = None) -> TipsCheck | None:
    """The bone tips' part of the check (None without tips): each solved tip (the rig's End Site
    offset from its solved parent, G [T,J,3,3] and X [T,J,3]) against its track, allowed
    ``explained`` [K] or [T,K] (how far noise, or the tracks' own shape, may take it: see
    check_solution), what the bones down to its parent explain (``along`` [J] or [T,J],
    _along_the_bones) and its own length where the
    tracks keep another (read against its noise ``end_noise`` [K] and its joint's ``noise`` [J]) that
    a performer's proportions give (not _no_performers_length); between keys (Tracks.keyed) also
    what the curves may do to it (_between_keys_bound). ``noise_shape``: as check_solution's (the
    noise along each tip's departure explains it)."""
    if not tracks.has_ends:
        return None
    skel, par = tracks.skeleton, np.asarray(tracks.end_parents, np.int64)
    end_noise = np.asarray(end_noise, np.float64)
    solved = end_site_positions(G, X, par, tracks.end_rest_offsets)
    error = norm(solved - tracks.end_positions) / skel.height
    if noise_shape is not None:
        explained = explained * _along_the_noise(solved - tracks.end_positions, noise_shape)
    unseen = any_axis(np.isnan(tracks.end_positions))
    if end_no_data is not None:
        unseen |= end_no_data
    error[unseen] = np.nan
    parent_unmeasured = tracks.unmeasured(no_data)
    if parent_unmeasured is not None:
        unseen = unseen | parent_unmeasured[:, par]
    lengths = np.where(unseen, np.nan, np.linalg.norm(tracks.end_positions - tracks.positions[:, par], axis=-1))
    rest = np.linalg.norm(tracks.end_rest_offsets, axis=-1)
    spread = np.hypot(end_noise, noise[par]) * skel.height
    own = _beyond_median_noise(lengths, rest, spread) / skel.height
    proportions = np.where(_no_performers_length(tracks, lengths, rest, spread), 0.0, own)
    allowed = CLEAN_TOLERANCE + explained + along[..., par] + proportions
    if tracks.keyed is not None:
        bound = _between_keys_bound(rest / skel.height, np.hypot(end_noise, noise[par]))
        allowed = allowed + np.where(~tracks.keyed[:, par], bound, 0.0)
    return TipsCheck(error=error, allowed=allowed, names=tuple(tracks.end_names), off_length=own)


def _no_performers_length(tracks: Tracks, lengths: np.ndarray, rest: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """[K] bone tips whose typical track length from their joint (``lengths`` [T,K], NaN where not
    seen, less what their noise ``spread`` [K] adds) is no performer's proportions: more than
    UNLIKE_FACTOR times the rig's tip (``rest`` [K], at least STRETCH_FRACTION of the height, as
    an End Site of 0 0 0 that holds the tip on its joint) or less than its 1/UNLIKE_FACTOR, the
    tracks' size (units.bone_scale) allowed for. Such a length is a track taken from elsewhere
    (a toe tip tracked at three times the rig's, a tip 77 % of the height off its joint), not
    another performer's foot, and the rig's tip far from it is named, as the solver names such
    bones (problem._unlike_any_performer)."""
    from .solvers.geometric.problem import STRETCH_FRACTION, UNLIKE_FACTOR
    from .units import bone_scale

    typical = unbiased_median(column_nanmedian(lengths), spread)
    size = bone_scale(tracks).factor * np.maximum(rest, STRETCH_FRACTION * tracks.skeleton.height)
    ratio = typical / size
    return np.isfinite(ratio) & ((ratio > UNLIKE_FACTOR) | (ratio < 1.0 / UNLIKE_FACTOR))


def _off_rigid_between_keys(tracks: Tracks, translating: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """[T,J-1] how far (fraction of the height) each rigid bone's track vector is from the rig's
    bone turned as its joint's bones best fit there (their directions, as the solver fits them),
    where an end of it was interpolated between keys (Tracks.keyed; 0 elsewhere): the interpolation
    takes every point along its own curve, so between keys the bones change length and the angles
    between them, which no turn of the rig reproduces. At most what a track keyed on every frame
    may leave its bone's length by before _left_steady_length calls it wrong (OUTLIER_MIN_FRACTION
    of the height, STEADY_FRACTION of the bone, NOISE_STDS stds of both ends' ``noise`` [J]): a
    curve that takes a point further (a handle dragged off, keys too sparse for the motion) leaves
    the rig missing its empty, and that is named."""
    skel = tracks.skeleton
    par = skel.parents[1:]
    vec = tracks.positions[:, 1:] - tracks.positions[:, par]  # [T,J-1,3]
    rest = skel.offsets[1:]
    between = ~tracks.keyed[:, 1:] | ~tracks.keyed[:, par]
    off = np.linalg.norm(vec - _rig_turned(vec, rest, par), axis=-1) / skel.height
    bound = _between_keys_bound(np.linalg.norm(rest, axis=-1) / skel.height, np.hypot(noise[1:], noise[par]))
    return np.where(between & ~translating[1:], np.minimum(np.nan_to_num(off), bound), 0.0)


def _rig_turned(vec: np.ndarray, rest: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """[T,B,3] the rig's bones ``rest`` [B,3] placed on the tracks' bones ``vec`` [T,B,3] (each from
    its parent joint ``parents`` [B]) as the solver turns them: a lone bone along its track, the bones
    of one joint by the turn that best fits their directions (a bone without data shows none)."""
    from .solvers.geometric.fit import pairwise_alignment

    placed = np.empty_like(vec)
    for p in np.unique(parents):
        bones = np.flatnonzero(parents == p)
        seen = normalize(np.nan_to_num(vec[:, bones]))  # a joint without data shows no direction
        if len(bones) == 1:
            placed[:, bones] = seen * np.linalg.norm(rest[bones], axis=-1)[None, :, None]
            continue
        turn = best_fit_rotation(pairwise_alignment(seen, normalize(rest[bones])[None]))
        placed[:, bones] = np.einsum("tab,nb->tna", turn, rest[bones])
    return placed


def _off_own_shape(tracks: Tracks, G: np.ndarray, X: np.ndarray, translating: np.ndarray, unmeasured: np.ndarray | None,
                   end_no_data: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """([T,J], [T,K] or None without tips) how far (fraction of the height) a rigid rig following the
    tracks as given may end from each joint's and bone tip's track by the tracks' own departures from
    a rigid shape: each bone's track (to a joint or tip from its parent joint) against the rig's bone
    at the track's median length, placed as the solver turns the parent's bones (_rig_turned), added
    over the bones from the root, at most OWN_SHAPE_FRACTION in all. Curves simplified when written
    (an FBX export drops the samples within 0.1 % of the last one kept) leave the shape for a few
    frames at a time, which the noise read frame to frame does not tell. Bones to a ``translating``
    [J] joint (on its track) count nothing, nor samples ``unmeasured`` [T,J] (gaps, between keys: see
    _off_rigid_between_keys) or ``end_no_data`` [T,K]. The median length is the tracks': how far it
    is from the rig's is _along_the_bones' part."""
    skel = tracks.skeleton
    P, _, parents = _with_tips(tracks, G, X)
    J, N = skel.num_joints, len(parents)
    kids = np.arange(1, N)
    seen = ~any_axis(~np.isfinite(P))  # [T,N]
    if unmeasured is not None:
        seen[:, :J] &= ~unmeasured
    if end_no_data is not None:
        seen[:, J:] &= ~end_no_data
    vec = P[:, kids] - P[:, parents[kids]]  # [T,N-1,3]
    both = seen[:, kids] & seen[:, parents[kids]] & ~np.concatenate([translating, np.zeros(N - J, bool)])[kids]
    length = column_nanmedian(np.where(both, norm(vec), np.nan))  # [N-1], NaN: never seen
    rest = np.concatenate([skel.offsets, tracks.end_rest_offsets])[kids] if N > J else skel.offsets[kids]
    rig = normalize(rest) * np.nan_to_num(length)[:, None]
    off = norm(np.where(both[..., None], vec - _rig_turned(vec, rig, parents[kids]), 0.0)) / skel.height
    shape = np.minimum(_down_the_bones(parents[1:], off.T).T, OWN_SHAPE_FRACTION)  # [T,N]
    return shape[:, :J], (shape[:, J:] if N > J else None)


def _between_keys_bound(length: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """[n] the most (fraction of the height) a bone of rest ``length`` [n] (same unit) may be off
    between keys: what a track keyed on every frame may leave its bone's length by before
    _left_steady_length calls it wrong (OUTLIER_MIN_FRACTION of the height, STEADY_FRACTION of the
    bone, NOISE_STDS stds of both ends' ``noise`` [n])."""
    return np.maximum.reduce([np.full(len(length), OUTLIER_MIN_FRACTION), STEADY_FRACTION * length,
                              NOISE_STDS * noise])


def _down_the_bones(parents: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """[J,...] each joint's sum of ``amount`` [J-1,...] (one per non-root joint's bone) over the
    bones from the root to it."""
    out = np.zeros((len(parents) + 1,) + amount.shape[1:])
    for j, p in enumerate(parents, 1):
        out[j] = out[p] + amount[j - 1]
    return out

"""Checks of a bone map against the points it places (warnings, not errors): a body seen as the
mirror image of the rig's, and legs whose points run against the rig's reference pose along the
body (a map's rows swapped, or a reference pose that does not stand); a layout's points seen as
the mirror image of its own skeleton; and tracks on a rig seen as the mirror image of its body.

All read the body's own up (from the middle of its hips to the middle of its shoulders) where the
map places hips and shoulders, else the up axis the points were given: a capture given the wrong up
axis, or a performer upside down, is turned, not mirrored or reversed.
"""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

from .automap import canonical_names, foot_pairs, sided_pairs
from .rotations import cross, normalize
from .tracks_io import describe_spans, frame_spans
from .wording import WARNING_PREFIX

if TYPE_CHECKING:
    from .retarget import RigTargets
    from .tracks import Tracks

#: a body's handedness (see _handedness) counts where its cosine is at least this far from 0, and
#: the points are mirrored against the rig where nearly all (MIRRORED_SHARE) such frames disagree
CLEAR_HANDEDNESS = 0.5
MIRRORED_SHARE = 0.9
#: short of that, runs of at least this many mirrored frames are named (one frame may read a body's
#: sides wrongly where its feet turn across it; a tracker's flip lasts a while)
MIRRORED_RUN = 3
#: the whole body's sided joints, and the limbs read on their own (see _report_mirrored):
#: a map with only the legs' (or arms') left and right rows swapped turned the rig's pelvis (or chest)
#: half a turn without a word, the other limbs outweighing them in the whole body's handedness; with
#: only the hands' rows swapped, the forearms reached across the body to the other wrist's point
BODY_SIDES = ("hip", "shoulder", "knee", "elbow")
LIMB_SIDES = (("legs", ("hip", "knee")), ("arms", ("shoulder", "elbow")), ("hands", ("wrist",)))
#: the limbs that turn the body where their points are mirrored: all of them (those seen) mirrored is
#: the whole body read as one (a mirrored capture), whatever the hands show
TURNING_LIMBS = ("legs", "arms")
#: what the rig does to fit a limb whose points are mirrored (see _say_limb_mirrored)
_LIMB_FIT = {"hands": "the forearms reach across the body to fit them"}
#: what the rig does to fit a part of a limb whose points alone are mirrored (see _say_limb_mirrored)
_PART_FIT = {"elbow": "the upper arms reach across the body to fit them",
             "knee": "the thighs reach across the body to fit them",
             "ankle": "the shins reach across the body to fit them", "wrist": _LIMB_FIT["hands"],
             "foot": "the feet reach across to the other foot to fit them",
             "toe_tip": "the toes reach across to the other foot to fit them",
             "shoulder": "the bones to them reach across the chest to fit them",
             "collar": "the bones to them reach across the chest to fit them"}
#: each limb's sided joints from the body out (canonical names without the side), read one by one
#: (_report_lone_swaps): a map with one joint's rows swapped (a knee, an ankle, a shoulder) was warned of
#: by no limb's handedness, the limb's other joints outweighing it; the joints a limb's warning names
#: (_say_limb_mirrored) are left to it
LIMB_CHAINS = (("hip", "knee", "ankle", "foot", "toe_tip"), ("collar", "shoulder", "elbow", "wrist", "hand"))
_LIMB_JOINTS = {"legs": LIMB_CHAINS[0], "arms": LIMB_CHAINS[1][1:], "hands": ("wrist", "hand")}
#: the joints whose left points stay on the body's left in any motion (the trunk's), so that their mirror
#: image alone tells their rows swapped; knees, elbows, ankles and wrists cross to the other side (legs
#: crossed, arms folded), and only their bones tell
STAY_SIDED = ("hip", "collar", "shoulder")
#: ... where the body as a whole is the mirror image of the rig's in less than this share of the frames
#: (a mirrored capture is not read joint by joint)
SIDES_READ = 0.5
#: a bone between two sided joints tells whether its ends' rows pair as mapped or one of them is swapped
#: where one pairing of their left and right points keeps the bones' lengths at least STEADIER times
#: steadier over the clip than the other, whose lengths vary by at least VARYING of the bones' length, in
#: at least MIN_FRAMES frames (_bone_pairings: the spread from the 10th to the 90th percentile)
STEADIER = 3.0
VARYING = 0.03
MIN_FRAMES = 30
#: the frames each bone's length is averaged over first (_running_mean)
LENGTH_WINDOW = 5
#: the cost of naming one more joint swapped, against one bone's pairing (2) or one joint's handedness (1)
#: that disagrees (_swapped_joints): the fewest swaps that the clip bears out
_SWAP_COST = 0.25
#: a leg bone is checked along the body where the reference pose has it within about 37 degrees of the
#: body's up or down (cosine REST_ALONG), in the frames where the points have it within 60 degrees
#: (CLEAR_ALONG), if those are at least SEEN_SHARE of the frames; reversed where nearly all
#: (MIRRORED_SHARE) of them point the other way
REST_ALONG = 0.8
CLEAR_ALONG = 0.5
SEEN_SHARE = 0.5


def report_map_against_points(targets: RigTargets, up: np.ndarray, report: list[str]) -> None:
    """Warnings (into ``report``) where the points the map places disagree with the rig's reference
    pose as no motion does: mirrored, or legs reversed along the body; ``up`` [3] the points' up."""
    names = targets.skeleton.names
    canon, _ = canonical_names(names, targets.skeleton.parents)
    mapped = targets.direct | targets.soft
    where = {c: names.index(n) for n, c in canon.items() if mapped[names.index(n)]}
    ups = _body_up(targets.reference, where, up), _body_up(targets.positions, where, up)  # the rig's, the points'
    named = _report_mirrored(targets, where, ups, report)
    if named is not None:
        _report_lone_swaps(targets, where, ups, named, report)
    _report_reversed(targets, where, ups, up, report)


def _handedness(P: np.ndarray, sides: list[tuple[int, int]], feet: list[tuple[int, int]], up: np.ndarray
                ) -> np.ndarray:
    """[...] the cosine between a body's left-minus-right offset (the mean over the pairs ``sides``
    of positions P [...,N,3]) and its left as up x forward, forward where its feet point (the mean
    toe-minus-ankle of ``feet``, across ``up`` [3] or [...,3]): near 1 for a body whose left side is
    on its left, near -1 for its mirror image (left and right swapped); NaN where either vanishes."""
    lateral = np.mean([P[..., a, :] - P[..., b, :] for a, b in sides], axis=0)
    forward = np.mean([P[..., t, :] - P[..., a, :] for a, t in feet], axis=0)
    up = np.broadcast_to(up, forward.shape)
    left = cross(up, forward - np.sum(forward * up, axis=-1, keepdims=True) * up)
    size = np.linalg.norm(lateral, axis=-1) * np.linalg.norm(left, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(size > 0, np.sum(lateral * left, axis=-1) / size, np.nan)


def _body_up(P: np.ndarray, where: dict[str, int], up: np.ndarray) -> np.ndarray:
    """[...,3] the body's own up in positions P [...,N,3]: from the middle of its hips to the middle of
    its shoulders (joints by canonical name ``where``); ``up`` [3] where hips or shoulders are not both
    mapped."""
    need = ("left_hip", "right_hip", "left_shoulder", "right_shoulder")
    if not all(n in where for n in need):
        return up
    hips = 0.5 * (P[..., where["left_hip"], :] + P[..., where["right_hip"], :])
    shoulders = 0.5 * (P[..., where["left_shoulder"], :] + P[..., where["right_shoulder"], :])
    return normalize(shoulders - hips, 1e-300)


def _report_mirrored(targets: RigTargets, where: dict[str, int], ups: tuple[np.ndarray, np.ndarray],
                     report: list[str]) -> set[str] | None:
    """A warning where the mapped points are the mirror image of a body against the rig's
    reference pose (see _handedness) in nearly every frame that shows it clearly: a mirrored video,
    or left and right swapped in the map; a rotation cannot undo a mirror, so the rig turns round
    (its pelvis half a turn, its feet twisted back to the front). Short of the whole body, the legs
    (hips and knees), the arms (shoulders and elbows) or the hands (wrists) mirrored on their own are
    named: their rows swapped in the map. Needs a mapped left-right pair and a mapped foot (ankle and toe); says nothing
    otherwise. ``ups``: the body's up in the reference pose [3] and in the points [T,3] (see _body_up).
    Returns the joints named (canonical names without the side: "hip", "knee", ...), None where the whole
    body is called mirrored."""
    shares = {limb: mirrored_share(targets.reference, targets.positions, where, ups, parts)
              for limb, parts in LIMB_SIDES}
    seen = [limb for limb, share in shares.items() if share is not None]
    mirrored = [limb for limb in seen if shares[limb] >= MIRRORED_SHARE]
    turning = [limb for limb in seen if limb in TURNING_LIMBS]
    if mirrored and not (turning and set(turning) <= set(mirrored)):
        return {p for limb in mirrored for p in _say_limb_mirrored(targets, where, ups, limb, shares[limb], report)}
    against = mirrored_share(targets.reference, targets.positions, where, ups)
    if against is None or against < MIRRORED_SHARE:
        return set()
    report.append(f"{WARNING_PREFIX}the points are the mirror image of the rig's body in {100 * against:.0f} % of "
                  f"the frames that show it (their left on the rig's right): a mirrored video, or left and right "
                  "swapped in the map; the rig turns round to fit them (its pelvis half a turn, its feet twisted "
                  "back): mirror the capture or swap the map's left and right points")
    return None


def _say_limb_mirrored(targets: RigTargets, where: dict[str, int], ups: tuple[np.ndarray, np.ndarray], limb: str,
                       share: float, report: list[str]) -> tuple[str, ...]:
    """The warning for one limb (LIMB_SIDES: "legs", "arms" or "hands") whose points alone are the mirror image
    of the rig's in ``share`` of the frames that show them, naming its sided joints (``where``: by
    canonical name): those of its parts (hip, knee, ...) mirrored on their own where only some are (a
    map with only the elbows' rows swapped), the whole limb's otherwise; ``ups`` as _report_mirrored's.
    Returns the joints the warning speaks of (canonical names without the side): the whole limb's
    (_LIMB_JOINTS: the legs' down to the toes) where it names the limb."""
    names = targets.skeleton.names
    parts = dict(LIMB_SIDES)[limb]
    alone = [p for p in parts if len(parts) > 1 and (mirrored_share(targets.reference, targets.positions, where,
                                                                    ups, (p,)) or 0.0) >= MIRRORED_SHARE]
    if alone and len(alone) < len(parts):
        share = min(mirrored_share(targets.reference, targets.positions, where, ups, (p,)) for p in alone)
        what, one, fit = " and ".join(f"{p}s" for p in alone), alone[0], _PART_FIT.get(alone[0], _LIMB_FIT.get(limb))
        covers = tuple(alone)
    else:
        alone, what, one, fit = list(parts), limb, limb[:-1], _LIMB_FIT.get(limb)
        covers = _LIMB_JOINTS[limb]
    joints = ", ".join(f"'{names[j]}'" for pair in sided_pairs(where, alone) for j in pair)
    report.append(f"{WARNING_PREFIX}the points of the {what} ({joints}) are the mirror image of the rig's in "
                  f"{100 * share:.0f} % of the frames that show them (the left {one}'s points on the rig's "
                  f"right), where the rest of the body is not: left and right swapped in the map's rows for the "
                  f"{what}; {fit or 'the rig turns round to fit them'}: swap those rows' left and right points")
    return covers


def _report_lone_swaps(targets: RigTargets, where: dict[str, int], ups: tuple[np.ndarray, np.ndarray],
                       named: set[str], report: list[str]) -> None:
    """Warnings naming the joints of each limb (LIMB_CHAINS) whose rows alone have left and right swapped,
    the joints around them not (a knee, an ankle, a shoulder), other than those ``named`` already (canonical
    names without the side). Read over the whole clip from two things no motion changes: the bones between
    a limb's joints keep their lengths (_bone_pairings), and hips, collars and shoulders stay on their side
    of the body (STAY_SIDED: their handedness on their own, as mirrored_share, taken where the body as a
    whole is the mirror image of the rig's in less than SIDES_READ of the frames). The fewest swapped
    joints that both bear out are named (_swapped_joints); nothing where two choices fit as well.
    ``where``: mapped joints by canonical name (those on a point of their own are read), ``ups`` as
    _report_mirrored's."""
    direct = {c: j for c, j in where.items() if targets.direct[j]}
    P = np.where(targets.gaps[..., None], np.nan, targets.positions)
    body = mirrored_share(targets.reference, targets.positions, where, ups)
    for chain in LIMB_CHAINS:
        parts = tuple(p for p in chain if sided_pairs(direct, (p,)))
        bones = _bone_pairings(P, direct, chain, parts)
        sides = {}
        if body is not None and body < SIDES_READ:
            for p in STAY_SIDED:
                share = mirrored_share(targets.reference, targets.positions, where, ups, (p,)) if p in parts else None
                if share is not None and (share >= MIRRORED_SHARE or share <= 1.0 - MIRRORED_SHARE):
                    sides[p] = (share >= MIRRORED_SHARE, share)
        chosen = _swapped_joints(parts, bones, sides)
        if set(chosen) - named:
            _say_lone_swap(targets, direct, chosen, named, bones, sides, report)


def _bone_pairings(P: np.ndarray, where: dict[str, int], chain: tuple[str, ...], parts: tuple[str, ...]
                   ) -> dict[tuple[str, str], tuple[bool, float]]:
    """{(upper, lower): (crossed, change)} for the bones between neighbours of a limb's ``parts`` (those of
    its ``chain``, LIMB_CHAINS', mapped on both sides) whose pairing of left and right points the clip
    tells: crossed where the bones from each side's upper point to the other side's lower point keep their
    lengths (one of the two joints' rows swapped), not where those as mapped do. A pairing's change is how
    much its bones' lengths (averaged over LENGTH_WINDOW frames) vary over the clip: the larger side's 10th
    to 90th percentile, in the points' units, so that their noise adds alike to both pairings; told where
    the other's is at least STEADIER times as large and VARYING of the bones' length, in at least
    MIN_FRAMES averages. ``change``: the mapped bones', against their length. ``P`` [T,N,3] positions, NaN
    where the points hold no data; ``where``: joints by canonical name."""
    found = {}
    for upper, lower in zip(parts, parts[1:]):
        if chain.index(lower) - chain.index(upper) != 1:
            continue                                                    # a joint between them unmapped: no bone
        (la, ra), (lb, rb) = sided_pairs(where, (upper,))[0], sided_pairs(where, (lower,))[0]
        bones = P[:, [la, ra, la, ra]] - P[:, [lb, rb, rb, lb]]                    # as mapped, then traded
        lengths = _running_mean(np.linalg.norm(bones, axis=-1))
        if len(lengths) < MIN_FRAMES:
            continue
        low, high = np.percentile(lengths, [10, 90], axis=0)
        mapped, traded = max(high[:2] - low[:2]), max(high[2:] - low[2:])
        size = float(np.median(lengths[:, :2]))
        if traded >= VARYING * size and mapped * STEADIER <= traded:
            found[upper, lower] = (False, mapped / size)
        elif mapped >= VARYING * size and traded * STEADIER <= mapped:
            found[upper, lower] = (True, mapped / size)
    return found


def _running_mean(values: np.ndarray) -> np.ndarray:
    """[T',K] the means of ``values`` [T,K] over each run of LENGTH_WINDOW frames that knows all of them
    (the points' noise, new in every frame, averaged down; a limb's motion kept)."""
    known = np.isfinite(values).all(axis=1)
    kernel = np.ones(LENGTH_WINDOW)
    sums = np.stack([np.convolve(np.where(known, v, 0.0), kernel, "valid") for v in values.T], axis=1)
    full = np.convolve(known, kernel, "valid") == LENGTH_WINDOW
    return sums[full] / LENGTH_WINDOW


def _swapped_joints(parts: tuple[str, ...], bones: dict[tuple[str, str], tuple[bool, float]],
                    sides: dict[str, tuple[bool, float]]) -> tuple[str, ...]:
    """The joints among a limb's ``parts`` whose rows alone are swapped: the choice that disagrees least
    with the ``bones`` ({(upper, lower): (crossed, ...)}: crossed where exactly one of the two is swapped;
    2 a bone) and the joints' ``sides`` ({part: (mirrored, ...)}: swapped where mirrored; 1 a joint),
    each joint named swapped costing _SWAP_COST; () where two choices cost as little."""
    costs = {}
    for flags in itertools.product((False, True), repeat=len(parts)):
        swapped = dict(zip(parts, flags))
        cost = sum(2.0 for (a, b), (crossed, _) in bones.items() if (swapped[a] != swapped[b]) != crossed)
        cost += sum(1.0 for p, (mirrored, _) in sides.items() if swapped[p] != mirrored)
        costs[tuple(p for p in parts if swapped[p])] = cost + _SWAP_COST * sum(flags)
    best = min(costs.values())
    found = [choice for choice, cost in costs.items() if cost <= best + 1e-9]
    return found[0] if len(found) == 1 else ()


def _say_lone_swap(targets: RigTargets, where: dict[str, int], chosen: tuple[str, ...], named: set[str],
                   bones: dict[tuple[str, str], tuple[bool, float]], sides: dict[str, tuple[bool, float]],
                   report: list[str]) -> None:
    """The warning naming the joints of one limb whose rows alone are swapped (``chosen``, canonical names
    without the side, from the body out, less those ``named`` already; ``where``: joints by canonical name)
    with what shows it: the bones to them that change length as mapped and keep it with the left and right
    points traded (``bones`` as _bone_pairings'), else their points' mirror image (``sides``: {part:
    (mirrored, share)}), else the bones that join them as mapped to joints named already."""
    names = targets.skeleton.names
    swapped = [p for p in chosen if p not in named]
    what = " and ".join(_plural(p) for p in swapped)
    joints = ", ".join(f"'{names[j]}'" for pair in sided_pairs(where, swapped) for j in pair)
    changing = {b: change for b, (crossed, change) in bones.items() if crossed and set(b) & set(swapped)}
    mirrored = [p for p in swapped if p in sides]
    if changing:
        which = " and ".join(f"from the {_plural(a)} to the {_plural(b)}" for a, b in changing)
        seen = (f"as mapped, the bones {which} change length by up to {100 * max(changing.values()):.0f} % over "
                "the clip, and keep it with those rows' left and right points traded")
    elif mirrored:
        seen = (f"the points of the {' and '.join(_plural(p) for p in mirrored)} are the mirror image of the rig's "
                f"in {100 * min(sides[p][1] for p in mirrored):.0f} % of the frames that show them")
    else:
        a, b = next(b for b, (crossed, _) in bones.items()      # one there is, or chosen would not be the fewest
                    if not crossed and set(b) <= set(chosen) and len(set(b) & set(swapped)) == 1)
        seen = (f"the bones from the {_plural(a)} to the {_plural(b)} keep their length as mapped, with the "
                f"{_plural(a if b in swapped else b)}' rows swapped (above)")
    report.append(f"{WARNING_PREFIX}the map's rows for the {what} ({joints}) have left and right swapped, the rest "
                  f"of the body not: {seen}; {_PART_FIT.get(swapped[0], 'the rig turns round to fit them')}: swap "
                  "those rows' left and right points")


def _plural(part: str) -> str:
    """A joint's canonical name without the side ("knee", "foot", "toe_tip") as the warnings call the pair."""
    return {"foot": "toes", "toe_tip": "toe tips", "hand": "knuckles"}.get(part, f"{part}s")


def mirrored_share(reference: np.ndarray, positions: np.ndarray, where: dict[str, int],
                   ups: tuple[np.ndarray, np.ndarray], parts: tuple[str, ...] = BODY_SIDES) -> float | None:
    """The share of the frames of ``positions`` [T,N,3] that show a body clearly (see _handedness) in
    which it is the mirror image of the body in ``reference`` [N,3]; joints by canonical name ``where``,
    ``ups`` the body's up in each (see _body_up), ``parts`` the sided joints read (hip, knee, ...).
    None where that cannot be told: no left-right pair or no foot (ankle and toe), a reference whose
    sides are not clear, no clear frame."""
    frames = mirrored_frames(reference, positions, where, ups, parts)
    if frames is None:
        return None
    clear, mirrored = frames
    return float(np.mean(mirrored[clear]))


def mirrored_frames(reference: np.ndarray, positions: np.ndarray, where: dict[str, int],
                    ups: tuple[np.ndarray, np.ndarray], parts: tuple[str, ...] = BODY_SIDES
                    ) -> tuple[np.ndarray, np.ndarray] | None:
    """([T] the frames that show a body clearly, [T] those of them in which it is the mirror image of
    the body in ``reference``) (arguments as mirrored_share), or None where that cannot be told."""
    sides, feet = sided_pairs(where, parts), foot_pairs(where)
    if not sides or not feet:
        return None
    own = _handedness(reference, sides, feet, ups[0])
    seen = _handedness(positions, sides, feet, ups[1])
    clear = np.abs(np.nan_to_num(seen)) >= CLEAR_HANDEDNESS
    if not abs(own) >= CLEAR_HANDEDNESS or not clear.any():
        return None
    return clear, clear & (np.sign(seen) != np.sign(own))


def report_layout_mirrored(rest: np.ndarray, positions: np.ndarray, where: dict[str, int], report: list[str]) -> None:
    """A warning (into ``report``) where the joints of a layout's own skeleton, ``positions`` [T,N,3]
    (Y up), are the mirror image of its T-pose ``rest`` [N,3] (left at +X, facing +Z) in nearly every
    frame that shows it: a mirrored video or left and right swapped in the file, which its skeleton
    fits only turned round; ``where``: joints by canonical name."""
    up = np.array([0.0, 1.0, 0.0])
    against = mirrored_share(rest, positions, where, (_body_up(rest, where, up), _body_up(positions, where, up)))
    if against is not None and against >= MIRRORED_SHARE:
        report.append(f"{WARNING_PREFIX}the points are the mirror image of a body in {100 * against:.0f} % of the "
                      "frames that show it (their left where a body's right is): a mirrored video (a selfie camera) "
                      "or left and right swapped in the file; the skeleton turns round to fit them (its pelvis half "
                      "a turn, facing away from where it moves): mirror the capture (negate one horizontal axis) or "
                      "swap its left and right points")


def report_tracks_mirrored(tracks: Tracks, report: list[str], shown: tuple[int, int] | None = None) -> None:
    """A warning (into ``report``) where ``tracks`` named after their rig's joints (and bone tips) are
    the mirror image of the rig's rest pose in nearly every frame that shows a body clearly (see
    mirrored_share; the tips give the feet their toes where the rig has no toe joint): a mirrored video,
    or every left and right label swapped in the file; else in runs of frames it flips into and out
    of (_flipped_runs: a monocular tracker that flips the body's depth for a while), named. No
    rotation undoes a mirror: the rig turns round and misses them, and the position check's advice
    (``--stretch exact``) would put its joints on the mirror image by translation. Says nothing where
    the rig's names give no sides or feet. shown: the frames [start, stop) a solve returns (None: all),
    the only ones the runs are named in."""
    skel, positions = tracks.skeleton, tracks.point_positions
    if tracks.has_ends:
        skel = skel.with_leaves(tracks.end_parents, tracks.end_rest_offsets, tracks.point_names)
    rest, names = skel.rest_positions, list(skel.names)
    canon, _ = canonical_names(names, list(skel.parents))
    where = {c: names.index(n) for n, c in canon.items()}
    up = np.eye(3)["xyz".index(tracks.up_axis)]
    frames = mirrored_frames(rest, positions, where, (_body_up(rest, where, up), _body_up(positions, where, up)))
    if frames is None:
        return
    clear, mirrored = frames
    share = float(np.mean(mirrored[clear]))
    if share >= MIRRORED_SHARE:
        report.append(f"{WARNING_PREFIX}the tracks are the mirror image of the rig's body in {100 * share:.0f} % of "
                      "the frames that show it (their left on the rig's right): a mirrored video (a selfie camera) or "
                      "left and right swapped in the file; no rotation undoes a mirror, so the rig turns round and "
                      "misses them: mirror the tracks (negate one horizontal axis) or swap their left and right joints")
        return
    start, stop = (0, len(mirrored)) if shown is None else shown
    runs = [(max(a, start), min(b, stop - 1)) for a, b in _flipped_runs(clear, mirrored) if a < stop and b >= start]
    if runs:
        report.append(f"{WARNING_PREFIX}the tracks are the mirror image of the rig's body in "
                      f"{describe_spans(runs, first_frame=tracks.first_frame)} (their left on the rig's right): a "
                      "tracker that flipped the body's depth, or swapped its sides, for a while; the rig turns round "
                      "there to fit them and misses them: check those frames of the tracks")


def _flipped_runs(clear: np.ndarray, mirrored: np.ndarray) -> list[tuple[int, int]]:
    """[(first, last)] the runs of MIRRORED_RUN or more ``mirrored`` [T] frames that the body enters
    and leaves in one step, from and to a frame that shows it ``clear`` [T] and not mirrored (or the
    clip's end): a tracker's flip. A body that turns its feet round (kneeling, the feet behind it)
    passes through frames whose sides are not clear, and is no mirror."""
    T = len(mirrored)
    plain = clear & ~mirrored
    return [(a, b) for a, b in frame_spans(mirrored) if b - a + 1 >= MIRRORED_RUN
            and (a == 0 or plain[a - 1]) and (b == T - 1 or plain[b + 1]) and (a > 0 or b < T - 1)]


def _report_reversed(targets: RigTargets, where: dict[str, int], ups: tuple[np.ndarray, np.ndarray],
                     up: np.ndarray, report: list[str]) -> None:
    """A warning naming the leg bones (hip to knee, knee to ankle) that the reference pose has clearly
    along the body's up or down and whose points run the other way in nearly all the frames that show
    them clearly: a knee above its hip for a whole clip, which no motion does but a map with the hip
    and knee rows swapped, or a rig whose reference pose does not stand (legs up), shows. ``ups``: as
    _report_mirrored's; ``up`` the points' up axis, which they are where the body tells none."""
    own_up, seen_up = ups
    along = "along the body (hips to shoulders)" if own_up is not up else "along the up axis"
    found = []
    for side in ("left", "right"):
        for upper, lower in (("hip", "knee"), ("knee", "ankle")):
            a, c = where.get(f"{side}_{upper}"), where.get(f"{side}_{lower}")
            if a is None or c is None:
                continue
            rest = float(np.dot(normalize(targets.reference[c] - targets.reference[a], 1e-300), own_up))
            seen = np.sum(normalize(targets.positions[:, c] - targets.positions[:, a], 1e-300) * seen_up, axis=-1)
            clear = np.abs(np.nan_to_num(seen)) >= CLEAR_ALONG
            if abs(rest) < REST_ALONG or clear.mean() < SEEN_SHARE:
                continue
            against = float(np.mean(np.sign(seen[clear]) != np.sign(rest)))
            if against >= MIRRORED_SHARE:
                found.append((targets.skeleton.names[a], targets.skeleton.names[c], rest < 0, against))
    _say_reversed([f for f in found if not f[2]], along, report)
    _say_reversed([f for f in found if f[2]], along, report)


#: how the warning on a rig whose reference pose has its legs up begins (the interfaces add how to give one)
NOT_STANDING_POSE = "the rig's reference pose does not stand"


def _say_reversed(found: list[tuple[str, str, bool, float]], along: str, report: list[str]) -> None:
    """The warning for legs found reversed (upper joint, lower joint, whether the reference pose stands,
    share of frames): a reference pose with a knee above its hip does not stand; where it stands, the
    points with a knee above its hip are mapped wrong."""
    if not found:
        return
    stands = found[0][2]
    words = "; ".join(f"'{c}' {'above' if stands else 'below'} '{a}' in {100 * share:.0f} % of the frames that show it"
                      for a, c, _, share in found)
    if stands:
        report.append(f"{WARNING_PREFIX}the points put {words}, {along}, where the rig's reference pose has it below: "
                      "check the map's rows for those joints (swapped?)")
    else:
        report.append(f"{WARNING_PREFIX}{NOT_STANDING_POSE}: the points put {words}, {along}, "
                      "where the reference pose has it above; give the rig a standing reference pose")

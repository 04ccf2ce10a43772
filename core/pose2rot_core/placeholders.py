"""Samples a tracker wrote without seeing the point, made gaps before solving.

Trackers mark a lost point in their own ways: a low confidence (``gate_low_confidence``), NaN,
every joint at one place (``lost_frames``), (0, 0, 0) off the bone lengths (``dropped_to_origin``),
a joint written at its parent's place where the rig has a bone (``on_parent_track``), the last
seen sample repeated until a jump (``held_samples``), two points written at one place
(``coinciding_samples``), a whole frame written twice (``repeated_frames``). Positions are
``[T,J,3]`` (NaN = missing) in file units; lengths that decide anything are fractions of the
skeleton height.
"""
from __future__ import annotations

import numpy as np

from .errors import Pose2RotError
from .noise_estimate import AUTO_THRESHOLD, MIN_KEYS, bone_lengths, keyed_rows, noise_on_keys
from .spikes import OUTLIER_MIN_FRACTION
from .stacks import any_axis, joint_planes
from .wording import WARNING_PREFIX, counted

#: samples with a lower confidence are treated as missing
MIN_CONFIDENCE = 0.1
#: a frame whose joints all lie within this fraction of the clip's typical extent holds no pose
COLLAPSED_FRACTION = 0.01
#: a point whose coordinates are within this fraction of the height of 0 sits at the origin
#: (trackers write a lost point as 0 or as a float's rounding of it, such as 1e-9); two points as
#: near each other sit at one place
AT_ORIGIN_FRACTION = 1e-5
#: frames between samples on straight lines (interpolated_frames) bend over time less than this
#: share of the samples' median bend ...
LINE_SHARE = 0.1
#: ... the samples at most this many frames apart (and at least noise_estimate.MIN_KEYS of them)
MAX_SPACING = 16
#: a rig bone this fraction of the height long or longer is a real bone: its child never sits on its
#: parent's place
REAL_BONE_FRACTION = 1e-3
#: a held track: a run of samples that repeat the one before exactly ends in a step HELD_JUMP_RATIO
#: times the largest of the next HELD_AFTER (the motion missed while held)
HELD_AFTER = 3
HELD_JUMP_RATIO = 2.0
#: why the held samples of a noisy point are gaps, in their note (see gaps_note)
HELD_NOTE = "repeating the one before exactly until a jump (a tracker holding a lost point)"


def gate_low_confidence(positions: np.ndarray, confidence: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Positions [T,J,3] with samples of confidence [T,J] below MIN_CONFIDENCE set to NaN; count."""
    if confidence is None:
        return positions, 0
    low = (confidence < MIN_CONFIDENCE) & ~any_axis(np.isnan(positions))
    if not low.any():
        return positions, 0
    out = positions.copy()
    out[low] = np.nan
    return out, int(low.sum())


def lost_frames(positions: np.ndarray) -> np.ndarray:
    """[T] frames whose joints [T,J,3] with data (two or more) all sit within COLLAPSED_FRACTION of
    the clip's typical extent (the median over its frames) of one another: a detection that was
    lost, not a pose (pose estimators write every joint at the origin there; bones that keep their
    lengths never shrink a pose like that). Raises when every frame is such a frame."""
    x = np.ascontiguousarray(joint_planes(positions))  # [J,3,T]: joint after joint, reduced plane by plane
    seen = np.isfinite(x).all(axis=1)  # [J,T]
    if not seen.all():
        low = np.where(seen[:, None], x, np.inf).min(axis=0)
        high = np.where(seen[:, None], x, -np.inf).max(axis=0)
    else:
        low, high = x.min(axis=0), x.max(axis=0)  # [3,T]
    extent = np.where(seen.sum(axis=0) >= 2, (high - low).max(axis=0), np.nan)  # [T]
    typical = np.nanmedian(extent) if np.isfinite(extent).any() else np.nan
    lost = np.isfinite(extent) & (extent <= COLLAPSED_FRACTION * np.nan_to_num(typical, nan=0.0))
    if len(lost) and lost.all():
        raise Pose2RotError("every joint sits at one point in every frame: the tracks hold no pose "
                            "(check that the right columns or keys were read)")
    return lost


def dropped_to_origin(points: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float
                      ) -> np.ndarray:
    """[T,N] samples of points [T,N,3] (joints and bone tips; ``parents`` [N], -1: none) at the
    origin (within AT_ORIGIN_FRACTION of the height) that jump there: the point's nearest samples
    elsewhere, before and after, lie further than OUTLIER_MIN_FRACTION of the height from the
    origin, and a bone of its (to the parent or to a child) is off the length it has in the nearest
    frames where neither end sits there (interpolated between them) by as much: a tracker's "not
    found" written as a point. A point that really moves to or rests at the origin (a root parked
    there, then walking off) arrives and leaves near it, and one that stays there keeps its bones.
    A point at the origin in half its frames or more is dropped there only through a bone that
    keeps its rest length (``rest_lengths`` [N], to the parent) where the point is elsewhere and
    not where it is at the origin (see _at_rest_length_elsewhere)."""
    zero = _every_axis(np.abs(joint_planes(points)) <= AT_ORIGIN_FRACTION * height)
    found = np.zeros_like(zero)
    suspect = zero.any(axis=0) & ~zero.all(axis=0)
    mostly = zero.mean(axis=0) >= 0.5
    parents = np.asarray(parents)
    frames = np.arange(len(points))
    far = OUTLIER_MIN_FRACTION * height
    jumps = {j: _jumps_to_origin(points[:, j], zero[:, j], far) for j in np.flatnonzero(suspect)}
    bones = np.flatnonzero((parents >= 0) & (suspect | suspect[np.maximum(parents, 0)]))
    for child, parent, length in zip(bones, parents[bones], bone_lengths(points, bones, parents[bones]).T):
        data = ~(zero[:, child] | zero[:, parent]) & np.isfinite(length)
        if not data.any():
            continue
        off = np.abs(length - np.interp(frames, frames[data], length[data])) > far
        for end in (child, parent):
            if end in jumps and (not mostly[end] or _at_rest_length_elsewhere(length, rest_lengths[child], data,
                                                                              zero[:, end], far)):
                found[:, end] |= jumps[end] & off
    return found


def _every_axis(planes: np.ndarray) -> np.ndarray:
    """[T,N] C-ordered: whether the conditions ``planes`` [N,3,T] (joint planes) hold on all three axes."""
    return np.ascontiguousarray((planes[:, 0] & planes[:, 1] & planes[:, 2]).T)


def _at_rest_length_elsewhere(length: np.ndarray, rest: float, data: np.ndarray, at_origin: np.ndarray,
                              far: float) -> bool:
    """Whether a bone's ``length`` [T] keeps its ``rest`` length in the frames with data (``data``
    [T]: median within ``far`` of it, median absolute deviation under ``far``) and leaves it in
    those where its end sits at the origin (``at_origin`` [T]: median distance over ``far``): then
    the bone is a bone where the point is elsewhere, and the origin is where it breaks."""
    elsewhere, there = length[data], length[at_origin & np.isfinite(length)]
    if not elsewhere.size or not there.size:
        return False
    middle = np.median(elsewhere)
    return bool(abs(middle - rest) < far and np.median(np.abs(elsewhere - middle)) < far
                and np.median(np.abs(there - rest)) > far)


def on_parent_track(points: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float) -> np.ndarray:
    """[T,N] samples of points [T,N,3] (joints and bone tips; ``parents`` [N], -1: none) that sit
    on their parent's (each coordinate within AT_ORIGIN_FRACTION of the height) where the rig's bone between them
    (``rest_lengths`` [N]) is a real one (REAL_BONE_FRACTION of the height or longer): a joint the
    tracker does not follow, written at its parent's place (as body trackers write the fingers at
    the wrist). It says nothing of the bone's direction. Bones of no length on the rig (twist
    joints at their parent) sit there by right."""
    parents = np.asarray(parents)
    bones = np.flatnonzero((parents >= 0) & (np.asarray(rest_lengths) >= REAL_BONE_FRACTION * height))
    found = np.zeros(points.shape[:2], bool)
    if bones.size:
        x = np.ascontiguousarray(joint_planes(points))  # [N,3,T]
        found[:, bones] = _every_axis(np.abs(x[bones] - x[parents[bones]]) <= AT_ORIGIN_FRACTION * height)
    return found


def held_samples(points: np.ndarray, height: float) -> np.ndarray:
    """[T,N] samples of points [T,N,3] that repeat the sample before bit for bit, where every run
    of such repeats of the point ends in a jump (see _ends_in_jump): a tracker holding a lost point
    at its last value, then finding it again where the motion has taken it meanwhile. The first
    sample of a run is data. A point with a run that ends without a jump (a keyed hold, a resting
    foot in a rounded track, which starts to move with steps like those that follow) repeats by
    nature, and none of its runs is taken. Runs too near the clip's end to tell, and runs in which
    every point repeats (the whole pose held: a still pose, a bind pose before a cut into the
    motion), count for nothing."""
    from .tracks_io import frame_spans

    T, N = points.shape[:2]
    found = np.zeros((T, N), bool)
    x = np.ascontiguousarray(joint_planes(points))  # [N,3,T]
    repeat = _every_axis(x[..., 1:] == x[..., :-1])  # [T-1,N]: sample t+1 repeats sample t
    if not repeat.any():
        return found
    step = np.linalg.norm(points[1:] - points[:-1], axis=-1)  # [T-1,N]
    still = repeat.all(axis=1)  # [T-1]: steps where the whole pose repeats
    for n in np.flatnonzero(repeat.any(axis=0)):
        runs = [(a, last + 1) for a, last in frame_spans(repeat[:, n])  # samples a+1..b repeat sample a
                if last + 1 + HELD_AFTER <= T - 2 and not still[a:last + 1].all()]
        if runs and all(_ends_in_jump(step[b:b + 1 + HELD_AFTER, n], height) for _, b in runs):
            for a, b in runs:
                found[a + 1:b + 1, n] = True
    return found


def _ends_in_jump(after: np.ndarray, height: float) -> bool:
    """Whether the steps ``after`` [1+HELD_AFTER] that follow a run of repeats (the first one ends
    it) start with a jump: further than OUTLIER_MIN_FRACTION of the height and HELD_JUMP_RATIO times
    the largest of the others, which all move (the motion goes on, as after a hold)."""
    rest = after[1:]
    return bool(rest.min() > 0 and after[0] > max(HELD_JUMP_RATIO * rest.max(), OUTLIER_MIN_FRACTION * height))


def coinciding_samples(positions: np.ndarray, rest_positions: np.ndarray, height: float
                       ) -> dict[tuple[int, int], np.ndarray]:
    """{(a, b): [T] frames} of joints a < b whose samples (positions [T,J,3], NaN: no data) are bit
    for bit one point in those frames though the rig puts them further apart than
    OUTLIER_MIN_FRACTION of the height (``rest_positions`` [J,3]; share bones and twist joints
    coincide by right): a track written from another joint's (one column read for two joints, a
    lost joint written where another is). Real joints never meet exactly."""
    T, J = positions.shape[:2]
    key = positions[..., 0] + np.pi * positions[..., 1] + np.e * positions[..., 2]  # [T,J]: one point, one key (NaN: no data)
    frames = np.flatnonzero((np.diff(np.sort(key, axis=1), axis=1) == 0).any(axis=1))  # two joints, one key
    if not frames.size:
        return {}
    order = np.argsort(key[frames], axis=1)
    ranked = np.take_along_axis(key[frames], order, axis=1)
    row, i = np.nonzero(ranked[:, 1:] == ranked[:, :-1])  # neighbours with one key
    t, a, b = frames[row], order[row, i], order[row, i + 1]
    apart = np.linalg.norm(rest_positions[a] - rest_positions[b], axis=-1) > OUTLIER_MIN_FRACTION * height
    hit = apart & (positions[t, a] == positions[t, b]).all(axis=-1)
    found: dict[tuple[int, int], np.ndarray] = {}
    for frame, x, y in zip(t[hit], np.minimum(a, b)[hit], np.maximum(a, b)[hit]):
        found.setdefault((int(x), int(y)), np.zeros(T, bool))[frame] = True
    return found


def coinciding_warning(found: dict[tuple[int, int], np.ndarray], names: tuple[str, ...], first_frame: int, *,
                       shown: tuple[int, int] | None = None) -> list[str]:
    """The warning naming the joints of ``found`` (see coinciding_samples) and their frames (those
    ``shown`` only, see tracks_io.shown_only)."""
    from .tracks_io import describe_spans, frame_spans, shown_only

    found = {pair: seen for pair, frames in found.items() if (seen := shown_only(frames, shown)).any()}
    if not found:
        return []
    parts = [f"'{names[b]}' on '{names[a]}' ({describe_spans(frame_spans(frames), first_frame=first_frame)})"
             for (a, b), frames in list(found.items())[:4]]
    more = f" and {len(found) - 4} more pairs" if len(found) > 4 else ""
    return [f"{WARNING_PREFIX}tracks at another joint's point, though the rig puts them apart: {', '.join(parts)}"
            f"{more} (one column read for two joints, or a lost joint written where another is?): both are solved "
            "onto that point; check which track each joint reads"]


def _jumps_to_origin(x: np.ndarray, zero: np.ndarray, far: float) -> np.ndarray:
    """[T] samples of one point's track ``x`` [T,3] at the origin (``zero`` [T]) whose nearest
    samples elsewhere (with data), before and after where there are any, lie further than ``far``
    from the origin."""
    elsewhere = np.flatnonzero(~zero & np.isfinite(x).all(axis=-1))
    if not elsewhere.size:
        return np.zeros_like(zero)
    distance = np.linalg.norm(x[elsewhere], axis=-1)
    after = np.searchsorted(elsewhere, np.arange(len(x)))
    before_far = np.where(after > 0, distance[np.maximum(after - 1, 0)] > far, True)
    after_far = np.where(after < elsewhere.size, distance[np.minimum(after, elsewhere.size - 1)] > far, True)
    return zero & before_far & after_far


def no_data_as_gaps(positions: np.ndarray, confidence: np.ndarray | None, first_frame: int,
                    report: list[str], *, shown: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(positions [T,N,3] with what is no data set to NaN, lost [T]): samples of ``confidence``
    [T,N] below MIN_CONFIDENCE, and the frames where the detector lost the person (see
    lost_frames); a note for each in ``report`` (frames from ``first_frame``, those ``shown`` only:
    see tracks_io.shown_only). ``positions`` itself when none is."""
    from .tracks_io import describe_spans, frame_spans, shown_only

    P, low = gate_low_confidence(positions, confidence)
    if low:
        report.append(f"{counted(low, 'sample')} with confidence below {MIN_CONFIDENCE:g} treated as gaps")
    lost = lost_frames(P)
    if lost.any():
        P = P.copy() if P is positions else P
        P[lost] = np.nan
    seen = shown_only(lost, shown)
    if seen.any():
        report.append(f"{describe_spans(frame_spans(seen), first_frame=first_frame)}: every joint at one point (a "
                      "lost detection, not a pose), treated as gaps")
    return P, lost


def placeholders_as_gaps(points: np.ndarray, parents: np.ndarray, lengths: np.ndarray, height: float,
                          names: tuple[str, ...], report: list[str], *, shown: tuple[int, int] | None = None
                          ) -> np.ndarray:
    """Points [T,N,3] with the samples a tracker writes for "not found" set to NaN, a note for
    each kind in ``report`` (counting the frames ``shown`` only, see tracks_io.shown_only): at the
    origin (see dropped_to_origin), on the parent's place (see on_parent_track). ``points`` itself
    when there are none."""
    from .tracks_io import shown_only

    dropped = dropped_to_origin(points, parents, lengths, height)
    on_parent = on_parent_track(points, parents, lengths, height) & ~dropped
    on_parent[:, _nodes_of_the_motion(on_parent, points, parents, height)] = False
    n = int(shown_only(dropped, shown).sum())
    if n:
        report.append(f"{n} {'sample' if n == 1 else 'samples'} at (0, 0, 0), off their bone lengths "
                      "(a tracker's 'not found'), treated as gaps")
    seen = shown_only(on_parent, shown)
    if seen.any():
        report.append(gaps_note(seen, names, "on the parent's place, where the rig has a "
                                                                      "bone (a joint the tracker does not follow)"))
    if not (dropped.any() or on_parent.any()):
        return points
    out = points.copy()
    out[dropped | on_parent] = np.nan
    return out


def _nodes_of_the_motion(on_parent: np.ndarray, points: np.ndarray, parents: np.ndarray, height: float
                         ) -> np.ndarray:
    """[k] the points that sit on their parent's place (``on_parent`` [T,N]) in every frame where they
    have data, while a point below them is elsewhere in every such frame: a node the motion itself
    keeps on its parent (a mocap export's 'Solving' node over its root, the hips translating below),
    not a joint the tracker does not follow, whose points below it sit there too or have no data
    (fingers written at the wrist). A placeholder in some frames only stays a gap."""
    known = np.isfinite(points).all(axis=-1)                        # [T,N]
    always = np.flatnonzero((on_parent | ~known).all(axis=0) & on_parent.any(axis=0))
    if not always.size:
        return always
    below = {n: [] for n in always}
    for d in range(len(parents)):
        a = parents[d]
        while a >= 0:
            if a in below:
                below[a].append(d)
            a = parents[a]
    def apart(n: int, d: int) -> bool:                         # d has data off n's place whenever n is there
        rows = on_parent[:, n]
        return bool((np.linalg.norm(points[rows, d] - points[rows, n], axis=-1) > AT_ORIGIN_FRACTION * height).all())

    return np.array([n for n in always if any(apart(n, d) for d in below[n])], np.int64)


def gaps_note(gaps: np.ndarray, names: tuple[str, ...], why: str) -> str:
    """'12 samples of 'a' and 'b' {why}, treated as gaps' for the samples ``gaps`` [T,N] of points
    named ``names`` [N]."""
    from .tracks_io import describe_names

    n, joints = int(gaps.sum()), [f"'{names[k]}'" for k in np.flatnonzero(gaps.any(axis=0))]
    return f"{n} {'sample' if n == 1 else 'samples'} of {describe_names(joints, noun='joint')} {why}, treated as gaps"


def repeated_frames(points: np.ndarray, height: float) -> np.ndarray:
    """[T] the frames of points [T,N,3] in which every point repeats the frame before bit for bit (a
    point missing there missing in both), as where a tracker's frames were written twice: its rate
    converted up (30 to 60 fps, 25 to 30), a frame it dropped filled with the one before. None in a
    run of such frames that ends in a cut (smoothing.find_cuts over the other frames: a pose held
    before the motion starts), and none in frames with no data at all."""
    from .smoothing import find_cuts

    T = len(points)
    repeats = np.zeros(T, bool)
    if T < 2:
        return repeats
    x = points.reshape(T, -1)
    missing = np.isnan(x)
    repeats[1:] = ((x[1:] == x[:-1]) | (missing[1:] & missing[:-1])).all(axis=1) & ~missing[1:].all(axis=1)
    if repeats.any():
        kept = np.flatnonzero(~repeats)
        for cut in find_cuts(points[kept], height):  # the run before a cut holds a pose: data
            repeats[kept[cut - 1] + 1:kept[cut]] = False
    return repeats


def interpolated_frames(points: np.ndarray) -> np.ndarray | None:
    """[T] the frames of points [T,N,3] that lie, every point of them, on straight lines or on cubic
    curves between samples every k-th frame (k >= 2, or 4 for curves; the samples at one phase, at
    least MIN_KEYS of them), as where a track was resampled to k times its rate by linear or cubic
    interpolation (curves keyed every few frames, baked); None where no k fits. Such a frame's
    second difference over time (on a line) or fourth (five frames on one cubic) is, at every point
    with data there, under LINE_SHARE of the median one at the samples (rounding to the digits a
    file keeps leaves that much; real motion and noise bend every frame alike); the largest k that
    fits is the samples' spacing. Frames before the first sample or after the last that hold it
    count as on the lines."""
    T = len(points)
    if T < 2 * MIN_KEYS:
        return None
    bends = [_bend(points, order) for order in (2, 4)]
    for k in range(min(MAX_SPACING, T // MIN_KEYS), 1, -1):
        for phase in range(k):
            offset = (np.arange(T) - phase) % k
            if _flat_between(bends[0], offset > 0, offset == 0) or (
                    k >= 4 and _flat_between(bends[1], (offset >= 2) & (offset <= k - 2), offset == 0)):
                return offset > 0
    return None


def _bend(points: np.ndarray, order: int) -> np.ndarray:
    """[T] the largest size, over the points [T,N,3] and axes with data, of their ``order``-th
    (even) difference over time centred on each frame (NaN where unknown: the clip's ends, frames
    with no data in reach)."""
    T = len(points)
    diff = np.diff(points, n=order, axis=0).reshape(T - order, -1)
    bend = np.full(T, np.nan)
    with np.errstate(invalid="ignore"):
        size = np.abs(diff)
        seen = np.isfinite(size)
        bend[order // 2:T - order // 2] = np.where(seen.any(axis=1), np.max(np.where(seen, size, 0.0), axis=1), np.nan)
    return bend


def _flat_between(bend: np.ndarray, inner: np.ndarray, samples: np.ndarray) -> bool:
    """Whether every ``inner`` [T] frame has a ``bend`` [T] (NaN: unknown) under LINE_SHARE of the
    ``samples``' [T] median one, and that median is not 0."""
    level = bend[samples & np.isfinite(bend)]
    if level.size < MIN_KEYS - 2:
        return False
    rest = bend[inner]
    rest = rest[np.isfinite(rest)]
    median = float(np.median(level))
    return median > 0.0 and bool((rest <= LINE_SHARE * median).all())


def repeated_frames_as_gaps(points: np.ndarray, parents: np.ndarray, lengths: np.ndarray, height: float,
                            keyed: np.ndarray | None, noise: np.ndarray, first_frame: int, report: list[str], *,
                            shown: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(points [T,N,3], noise [N], repeats [T] or None): the repeated frames (repeated_frames) of
    noisy points set to NaN, with a note, the noise (noise_on_keys, with the ``parents``, rest
    ``lengths`` and ``keyed`` frames [T] of the points) read over the other frames, and which frames
    those were: a tracker's noise never repeats, and read over copies it looks smaller than it is
    (half, with every frame written twice), which left such tracks too little smoothed to hold
    their bones still. Filled, such frames lie between the tracker's own samples, as frames
    between keys do (Tracks.keyed). Where the other frames are clean, a frame that repeats is a
    pose held (keyed motion) and nothing changes: ``points``, ``noise`` and None. The first key and
    the frames before it, and those after the last key, are no repeats (_held_outside_keys). The
    note names the frames ``shown`` only (see tracks_io.shown_only)."""
    from .tracks_io import describe_spans, frame_spans, shown_only

    repeats = repeated_frames(points, height) & ~_held_outside_keys(keyed, len(points))
    if not repeats.any():
        return points, noise, None
    read = ~repeats
    distinct = noise_on_keys(points[read], parents, lengths, height, None if keyed is None else keyed[read])
    if (distinct <= AUTO_THRESHOLD * height).all():
        return points, noise, None
    seen = shown_only(repeats, shown)
    if seen.any():
        report.append(f"{describe_spans(frame_spans(seen), first_frame=first_frame)}: every "
                      "point repeats the frame before exactly (a frame written again: a tracker's frame rate "
                      "converted, a frame it dropped filled with the last): treated as gaps, and the noise read "
                      "over the other frames")
    out = points.copy()
    out[repeats] = np.nan
    return out, distinct, repeats


def _held_outside_keys(keyed: np.ndarray | None, T: int) -> np.ndarray:
    """[T] the frames up to the first of the ``keyed`` [T] frames (see noise_estimate.keyed_rows) and
    after the last: where the frames before the first key and after the last hold it (Blender's curves
    past the keys, a resampler's interpolation beyond its samples), each repeats the frame before, the
    first key too, but none is a tracker's frame written twice. All False where no frames are keys."""
    outside = np.zeros(T, bool)
    if keyed_rows(keyed) is not None:
        at = np.flatnonzero(keyed)
        outside[:at[0] + 1] = outside[at[-1] + 1:] = True
    return outside


def held_as_gaps(points: np.ndarray, noise: np.ndarray, height: float, names: tuple[str, ...], first_frame: int,
                 report: list[str], *, shown: tuple[int, int] | None = None) -> np.ndarray:
    """Points [T,N,3] with held samples (see held_samples) of noisy points (``noise`` [N] above
    AUTO_THRESHOLD of the height) set to NaN, with a note; held samples of clean points are kept
    and named in a warning: noisy tracks come from a tracker and never repeat exactly but where it
    held a lost point, while in clean keyed motion a hold that ends in a jump can be meant (a snap,
    a cut between shots). ``points`` itself when nothing is set. The notes tell of the frames
    ``shown`` only (see tracks_io.shown_only)."""
    from .tracks_io import describe_spans, frame_spans, shown_only

    held = held_samples(points, height)
    noisy = held & (noise > AUTO_THRESHOLD * height)[None]
    clean = shown_only(held & ~noisy, shown)
    if clean.any():
        parts = [f"'{names[k]}' ({describe_spans(frame_spans(clean[:, k]), first_frame=first_frame)})"
                 for k in np.flatnonzero(clean.any(axis=0))]
        report.append(f"{WARNING_PREFIX}samples repeating the one before exactly until a jump: {', '.join(parts[:4])}"
                      f"{f' and {len(parts) - 4} more' if len(parts) > 4 else ''} (a tracker holding a lost point, "
                      "or a snap or cut in keyed motion): followed as they are; noisy tracks would make them gaps")
    if not noisy.any():
        return points
    seen = shown_only(noisy, shown)
    if seen.any():
        report.append(gaps_note(seen, names, HELD_NOTE))
    out = points.copy()
    out[noisy] = np.nan
    return out

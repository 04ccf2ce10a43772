"""Gap-filled samples put where the rig holds them: interpolating a track on its own (fill_gaps)
ignores that its joint hangs from its parent at a fixed offset in the parent's frame. Where the
parent's turn is fixed by two or more of its other children with data (not on one line: a hip by
both thighs and the spine, a chest by the collars), a filled sample of the joint is placed at that
offset (its bone at the length it has across the gap, see lengths_across_gaps), so that a dropped
joint does not pull its parent, nor its siblings, off their tracks; where children of no length
with data are at its point (a pelvis's hip joints), it is placed there; where three or more of its
own children with data fix its turn (a hand by its fingers, the root by the hips and spine), it is
placed where they hang from it; where its parent and a joint on its bone hanging from that parent (a
twist joint) are seen and kept it on their line while it was seen, on that line;
between a parent and one child with data (an elbow), on the circle where both bones keep their
lengths, at the side the interpolated sample bends to, as far as that side is clear, or the side of
the line through the child and its one child where it stayed on that line while seen (a twist
segment). Elsewhere the
interpolated sample stays. On noisy tracks a place by the joint's own children or by its parent's
other children is weighed against the interpolated sample by how far each is likely off
(_weighed_against_the_fill)."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .kernels import CLAMP_STDS
from .rotations import best_fit_rotation, smoothstep
from .skeleton import Skeleton
from .noise_estimate import AUTO_THRESHOLD, bone_lengths
from .solvers.geometric.fit import pairwise_alignment

#: rest offsets of a joint's children within this sine of one line cannot say how it turned
ON_ONE_LINE_SIN = 0.05
#: a filled sample tells the side of a line (or plane) its joint bends to once it is this share of
#: the way from there to where the joint would be (an interpolation across a gap cuts the bend's
#: corner, so it falls short of the full way even where the side is plain); nearer, it counts less
SIDE_CLEAR = 0.5
#: a child of no length in the rig whose track stays this near its joint's (fraction of the height;
#: a few noise stds of jitter) is at the joint: where the joint is lost, it is there
AT_CHILD_FRACTION = 0.02


def place_fills_on_the_rig(positions: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, noisy: bool = False,
                           placed: list[int] | tuple = (), noise: np.ndarray | None = None) -> np.ndarray:
    """[T,J,3] ``positions`` (gap-filled) with the samples that were ``gaps`` [T,J] placed where
    the rig holds them (see the module): by their own children, by their parent's other children,
    or between parent and child, each in the frames where the joints it needs were seen (parents
    first, so a placed parent counts for its children). The joints ``placed`` by
    place_untracked_joints (no data in any frame) have bones of the rig's lengths; with ``noisy``
    tracks they stay where that put them: their children and their parent's other children are
    short levers, whose noise turned a chest by tens of degrees from frame to frame, and the side of
    the circle between parent and child flipped with the noise (a hand's finger joint: 30 flips).
    With the tracks' ``noise`` [J] (std per axis, file units), a place that a child seen there
    contradicts (its distance from the joint off the bone's length by more than CLAMP_STDS of both
    ends' noise: _children_disagree) is none: a pelvis turned by its two leg joints, whose offsets
    barely fix its turn about the line between them, had swung a lost spine 5.6 % of the height off
    under 0.5 % jitter. Where no seen child says otherwise (the chest lost as well), such a place is
    weighed against the interpolated sample by how far the noise is likely to have put each off
    (_weighed_against_the_fill): the Bandai walk's spine, lost with its hips and chest, had gone up
    to 15 % of the height off, now under 1 %. So is a place by the joint's own children: the
    shipped walk's chest, hung from its neck and collars, had gone up to 7.7 % off, now 0.7 %."""
    out = np.array(positions, np.float64)
    if skeleton.num_joints < 3:
        return out
    length = _rig_where_never_seen(lengths_across_gaps(bone_lengths(out, np.arange(1, skeleton.num_joints),
                                                                    skeleton.parents[1:], gaps)), skeleton, placed)
    off = None if noise is None else _likely_off(out, gaps, noise)
    for j in np.flatnonzero(gaps.any(axis=0)):  # parents before children
        lost = np.flatnonzero(gaps[:, j])
        left = lost
        for place in () if noisy and j in placed else _PLACERS if j else _ROOT_PLACERS:
            held, done = place(out, gaps, skeleton, j, left, length)
            if off is not None:
                held, spread = _weighed_against_the_fill(place, out, gaps, skeleton, j, left, held, length, noise, off)
                done &= ~_children_disagree(out, gaps, skeleton, j, left, held, length, noise)
                off[left[done], j] = spread[done]
            out[left[done], j] = held[done]
            left = left[~done]
            if not len(left):
                break
        if 0 < len(left) < len(lost):
            _carry_the_correction(out[:, j], positions[:, j], gaps[:, j], left)
    return out


def _children_disagree(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                       held: np.ndarray, length: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """[n] the frames of ``frames`` [n] where joint ``j`` placed at ``held`` [n,3] is further from
    the length of its bone (``length`` [T,J] across the gap) to a child seen there than CLAMP_STDS
    of the noise of that distance (both ends' ``noise`` [J], std per axis, file units) allows."""
    out = np.zeros(len(frames), bool)
    for c in skeleton.children[j]:
        if not skeleton.bone_has_length[c] or not np.isfinite(length[frames, c]).all():
            continue
        seen = ~gaps[frames, c]
        off = np.abs(np.linalg.norm(P[frames, c] - held, axis=-1) - length[frames, c])
        out |= seen & (off > CLAMP_STDS * np.hypot(noise[j], noise[c]))
    return out


def _likely_off(P: np.ndarray, gaps: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """[T,J] how far each sample of the gap-filled tracks ``P`` [T,J,3] is likely off (3D rms, file
    units): a seen one by its noise (``noise`` [J], std per axis), one interpolated across ``gaps``
    [T,J] as _interpolation_off says."""
    out = np.broadcast_to(np.sqrt(3.0) * noise, gaps.shape).copy()
    for j in np.flatnonzero(gaps.any(axis=0)):
        out[gaps[:, j], j] = _interpolation_off(P[:, j], gaps[:, j])[gaps[:, j]]
    return out


def _interpolation_off(track: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """[T] how far each sample of a ``track`` [T,3] that fill_gaps interpolated across its ``gap``
    [T] is likely off (0 where seen; inf where the track was never seen in two frames in a row): its
    speed v around the gap (the median step between seen frames, over the EDGE_FRAMES nearest on
    either side; noise included, as it is in the samples the fill starts from) times k (h - k) / h
    for the sample k frames after the last seen frame before a gap whose seen ends are h frames
    apart: the fill is right at both ends and could be off by as far as the joint moves from the
    nearer one; a gap at the clip's start or end holds one sample, off by v times its distance from
    it. Across the development clips under 0.5 % jitter, gaps of 1 to 32 frames were off by 0.66 to
    0.74 times this (rms). Where the fill strays further than that from the straight line between
    the gap's seen ends, its distance from that line counts instead: its curve leaves the ends along
    tangents read from the seen steps right beside the gap, which the median leaves out, so a jump
    there (garbage frames cut as spikes only in part) swings it far off however slowly the joint
    moves elsewhere (hips cut in two of five frames the body spent 3 heights away: the fill up to 1.7
    heights off, where v alone said 1 % of the height and the line says 1.7 heights). The
    development clips' ratios above move by at most 0.02 with it."""
    from .tracks_io import frame_spans

    out = np.zeros(len(gap))
    step = np.linalg.norm(np.diff(track, axis=0), axis=-1)  # [T-1] from each frame to the next
    pair = ~gap[1:] & ~gap[:-1]
    for first, last in frame_spans(gap):
        before, after = np.flatnonzero(pair[:first]), last + 1 + np.flatnonzero(pair[last + 1:])
        near = np.r_[before[-EDGE_FRAMES:], after[:EDGE_FRAMES]]
        speed = float(np.median(step[near])) if len(near) else np.inf
        t = np.arange(first, last + 1)
        if first == 0 or last == len(gap) - 1:
            out[t] = speed * (last + 1 - t if first == 0 else t - first + 1)
        else:
            h, k = last - first + 2, t - first + 1
            line = track[first - 1] + (k / h)[:, None] * (track[last + 1] - track[first - 1])
            out[t] = np.maximum(speed * k * (h - k) / h, np.linalg.norm(track[t] - line, axis=-1))
    return out


def _weighed_against_the_fill(place: Callable, P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int,
                              frames: np.ndarray, held: np.ndarray, length: np.ndarray, noise: np.ndarray,
                              off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(places [n,3], how far each is likely off [n]) of joint ``j`` in ``frames`` [n], from the
    places ``held`` [n,3] that ``place`` found: where _SPREADS tells how far its place is likely
    off (s, from the noise of what it is fit to), the weighted mean of it and the interpolated
    sample in ``P`` [T,J,3] (off by u, ``off`` [T,J]), by u^2 : s^2 (off by u s / sqrt(u^2 + s^2)): a
    fit that amplifies noise hands over smoothly to the fill, and on clean tracks (s = 0) is all.
    Where u or s is unknown (inf: a track never seen in two frames in a row, a parent placed between
    tracked joints), and for other placers, ``held`` itself, off as far as a seen sample (a place
    fixed by seen joints) there."""
    spread = _SPREADS.get(place)
    if spread is None:
        return held, np.full(len(frames), np.sqrt(3.0) * noise[j])
    s2 = spread(gaps, skeleton, j, frames, length, noise, off) ** 2
    u2 = off[frames, j] ** 2
    w, both = np.ones(len(frames)), s2.copy()
    mixed = np.isfinite(u2) & np.isfinite(s2) & (u2 + s2 > 0.0)
    w[mixed] = u2[mixed] / (u2[mixed] + s2[mixed])
    both[mixed] = w[mixed] * s2[mixed]
    return w[:, None] * held + (1.0 - w[:, None]) * P[frames, j], np.sqrt(both)


def _rig_where_never_seen(length: np.ndarray, skeleton: Skeleton, placed: list[int] | tuple) -> np.ndarray:
    """``length`` [T,J] with the bones to and from the ``placed`` joints (no data in any frame,
    placed by place_untracked_joints) that were never seen whole at the rig's length, scaled as
    the tracks' seen bones are to the rig's (their median ratio)."""
    if not len(placed):
        return length
    rest = np.linalg.norm(skeleton.offsets, axis=-1)
    touching = np.isin(np.arange(skeleton.num_joints), placed) | np.isin(skeleton.parents, placed)
    never = ~np.isfinite(length).any(axis=0) & touching
    never[0] = False
    if not never.any():
        return length
    seen = np.isfinite(length).any(axis=0) & (rest > 0)
    seen[0] = False
    ratio = np.nanmedian(np.nanmedian(length[:, seen], axis=0) / rest[seen]) if seen.any() else 1.0
    out = length.copy()
    out[:, never] = rest[never] * ratio
    return out


#: across a gap, a bone's length goes from its median over this many seen frames before the gap to
#: that after it (one frame alone would hand its noise on to the whole gap)
EDGE_FRAMES = 5


def lengths_across_gaps(lengths: np.ndarray) -> np.ndarray:
    """[T,J] length of every bone to its parent in every frame (NaN for the root, and for a bone
    never seen whole) from the lengths seen in the clip, ``lengths`` [T,J-1] (NaN where either end
    was a gap): as seen where seen; in a gap of n frames, along the line from the median of the
    min(n, EDGE_FRAMES) seen frames before it (at their middle frame) to that of those after it
    (held past the clip's first and last seen frames): a rigid bone keeps its length up to noise,
    one that stretches (a hip joint that translates) keeps stretching through the gap instead of
    snapping back, and a short gap is bridged from the frames beside it."""
    from .tracks_io import frame_spans

    out = np.full((lengths.shape[0], lengths.shape[1] + 1), np.nan)
    out[:, 1:] = lengths
    for b in np.flatnonzero(np.isnan(lengths).any(axis=0) & np.isfinite(lengths).any(axis=0)):
        seen = np.flatnonzero(np.isfinite(lengths[:, b]))
        for first, last in frame_spans(np.isnan(lengths[:, b])):
            edge = min(last - first + 1, EDGE_FRAMES)
            i = np.searchsorted(seen, first)
            windows = [w for w in (seen[max(0, i - edge):i], seen[i:i + edge]) if len(w)]
            times = [float(np.median(w)) for w in windows]
            values = [float(np.median(lengths[w, b])) for w in windows]
            out[first:last + 1, b + 1] = np.interp(np.arange(first, last + 1), times, values)
    return out


def _carry_the_correction(placed: np.ndarray, filled: np.ndarray, gap: np.ndarray, left: np.ndarray) -> None:
    """Move one joint's samples ``left`` [m] (frames of its ``gap`` [T] where nothing could place
    it; ``placed`` [T,3], in place) by what placing moved the fill in the other frames of the same
    gap, interpolated between them (held at either end): a hand placed by its fingers where they
    were seen does not jump back to its fill where they were not. A gap placed nowhere keeps its fill."""
    from .tracks_io import frame_spans

    unplaced = np.zeros(len(gap), bool)
    unplaced[left] = True
    for first, last in frame_spans(gap):
        span = np.arange(first, last + 1)
        done, rest = span[~unplaced[span]], span[unplaced[span]]
        if len(done) and len(rest):
            moved = placed[done] - filled[done]
            for axis in range(3):
                placed[rest, axis] = filled[rest, axis] + np.interp(rest, done, moved[:, axis])


def _by_seen_members(seen: np.ndarray):
    """For a [n,k] mask of which of k joints were seen in each of n frames: (frames [m], members
    [k] mask) for each pattern that occurs (usually one: all seen)."""
    patterns, which = np.unique(seen, axis=0, return_inverse=True)
    return [(np.flatnonzero(which.ravel() == i), members) for i, members in enumerate(patterns)]


def _at_children_of_no_length(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                              length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([n,3], [n] done) joint ``j`` in ``frames`` [n] at its children of no length in the rig
    (a pelvis's hip and spine joints at its point) that have data there and stay within
    AT_CHILD_FRACTION of the height of it across the gap (``length`` [T,J]; a child of no length
    that translates, hips under a floor-level root, tells nothing): their mean."""
    out, done = np.zeros((len(frames), 3)), np.zeros(len(frames), bool)
    long = skeleton.bone_has_length
    kids = [c for c in skeleton.children[j] if not long[c]]
    if not kids:
        return out, done
    near = length[np.ix_(frames, kids)] <= AT_CHILD_FRACTION * skeleton.height  # [n,k]; NaN: not near
    use = near & ~gaps[np.ix_(frames, kids)]
    count = use.sum(axis=1)
    done = count > 0
    out[done] = (np.where(use[..., None], P[np.ix_(frames, kids)], 0.0).sum(axis=1)[done] / count[done, None])
    return out, done


def _held_by_children(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                      length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([n,3], [n] done) where joint ``j`` is in ``frames`` [n] as far as its children with data in
    a frame (three or more, their rest offsets not on one line) hang from it as the rig says (each
    bone at its ``length`` [T,J] across the gap): the turn that best takes their rest offsets,
    about their centre, onto theirs, then the joint where that turn puts it from each of them,
    averaged."""
    out, done = np.zeros((len(frames), 3)), np.zeros(len(frames), bool)
    long = skeleton.bone_has_length
    kids = np.array([c for c in skeleton.children[j] if np.isfinite(length[:, c]).all() and long[c]], np.int64)
    if len(kids) < 3:
        return out, done
    for rows, members in _by_seen_members(~gaps[np.ix_(frames, kids)]):
        used = kids[members]
        if len(used) < 3:
            continue
        at = frames[rows]
        direction = skeleton.offsets[used] / np.linalg.norm(skeleton.offsets[used], axis=-1)[:, None]
        rest = length[at][:, used, None] * direction  # [m,k,3]
        spread = rest - rest.mean(axis=1, keepdims=True)
        if not spans_a_plane(np.median(spread, axis=0)):
            continue
        seen = P[at][:, used]  # [m,k,3]
        turn = best_fit_rotation(pairwise_alignment(seen - seen.mean(axis=1, keepdims=True), spread))
        out[rows] = (seen - np.einsum("nij,nkj->nki", turn, rest)).mean(axis=1)
        done[rows] = True
    return out, done


def _children_spread(gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray, length: np.ndarray,
                     noise: np.ndarray, off: np.ndarray) -> np.ndarray:
    """[n] how far (3D rms, file units) _held_by_children's place of joint ``j`` in ``frames`` [n] is
    likely off from the noise of its children seen there (``noise`` [J], std per axis; ``off``, the
    parent's, does not enter), to first order: the place is their mean less their rest offsets' mean
    turned as their spread about it best fits (see _turn_moves), so offsets that spread little about
    a centre far from the joint (a chest's neck and collars) swing it with their noise; 0 where it
    places nothing."""
    out = np.zeros(len(frames))
    long = skeleton.bone_has_length
    kids = np.array([c for c in skeleton.children[j] if np.isfinite(length[:, c]).all() and long[c]], np.int64)
    if len(kids) < 3:
        return out
    for rows, members in _by_seen_members(~gaps[np.ix_(frames, kids)]):
        used = kids[members]
        if len(used) < 3:
            continue
        direction = skeleton.offsets[used] / np.linalg.norm(skeleton.offsets[used], axis=-1)[:, None]
        rest = length[frames[rows]][:, used, None] * direction  # [m,k,3]
        centre = rest.mean(axis=1)
        if spans_a_plane(np.median(rest - centre[:, None], axis=0)):
            move = np.eye(3) / len(used) + _turn_moves(rest - centre[:, None], -centre)  # per child's noise
            out[rows] = np.sqrt(((move ** 2).sum(axis=(-2, -1)) * noise[used] ** 2).sum(-1))
    return out


def spans_a_plane(v: np.ndarray) -> bool:
    """Whether vectors v [k,3] (not all on one line through the origin) fix a turn."""
    length = np.linalg.norm(v, axis=-1)
    unit = v[length > 1e-12 * max(float(length.max()), 1e-300)]
    unit = unit / np.linalg.norm(unit, axis=-1, keepdims=True)
    return len(unit) >= 2 and np.linalg.norm(np.cross(unit[:, None], unit[None]), axis=-1).max() >= ON_ONE_LINE_SIN


def _held_by_siblings(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                      length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([n,3], [n] done) where joint ``j`` is in ``frames`` [n] as far as it hangs from its parent
    as the rig's rest offset says (at its ``length`` [T,J] across the gap), the parent turned as best
    takes the rest offsets of its other children with data in a frame onto theirs (two or more, not
    on one line)."""
    out, done = np.zeros((len(frames), 3)), np.zeros(len(frames), bool)
    p = skeleton.parents[j]
    long = skeleton.bone_has_length
    others = np.array([c for c in skeleton.children[p] if c != j and long[c]], np.int64)  # one at the joint: no turn
    own = float(np.linalg.norm(skeleton.offsets[j]))
    if len(others) < 2 or not np.isfinite(length[:, j]).all() or not long[j]:
        return out, done
    for rows, members in _by_seen_members(~gaps[np.ix_(frames, others)]):
        rest = skeleton.offsets[others[members]]
        if len(rest) < 2 or not spans_a_plane(rest):
            continue
        at = frames[rows]
        seen = P[at][:, others[members]] - P[at, p][:, None]  # [m,k,3]
        turn = best_fit_rotation(pairwise_alignment(seen, rest[None]))
        out[rows] = P[at, p] + np.einsum("nij,nj->ni", turn, skeleton.offsets[j] * (length[at, j] / own)[:, None])
        done[rows] = True
    return out, done


def _on_a_sibling_s_line(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                         length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([n,3], [n] done) joint ``j`` in ``frames`` [n] at its bone's ``length`` [T,J] across the gap
    from its parent, towards a joint on its bone hanging from that parent (_siblings_on_the_bone: a
    twist joint) that is seen there, where the frames that saw all three kept the joint on that line
    (_on_a_seen_line): the one joint fixes only the parent's swing, which is all a joint on the line
    needs. Off by the angle between their rest offsets (under ON_ONE_LINE_SIN) times the length."""
    out, done = np.zeros((len(frames), 3)), np.zeros(len(frames), bool)
    if not np.isfinite(length[frames, j]).all():
        return out, done
    for s in _siblings_on_the_bone(skeleton, j):
        left = np.flatnonzero(~done)
        place = _on_a_seen_line(P, gaps, skeleton.parents[j], s, j, frames[left], length[frames[left], j])
        known = np.isfinite(place).all(axis=-1)
        out[left[known]], done[left[known]] = place[known], True
    return out, done


def _siblings_on_the_bone(skeleton: Skeleton, j: int) -> list[int]:
    """The joints that hang from ``j``'s parent as its other children do (through children of no
    length at its point too: a twist joint under a node that carries its roll) whose rest offsets
    point as ``j``'s does (_on_one_bone), the nearest in direction first."""
    o = skeleton.offsets
    if not skeleton.bone_has_length[j]:
        return []
    out = [k for k in _hanging_beside(skeleton, j) if _on_one_bone(o[j], o[k])]
    return sorted(out, key=lambda k: _rest_miss(o[j], o[k]))


def _hanging_beside(skeleton: Skeleton, j: int) -> list[int]:
    """The joints with a bone of length that hang from ``j``'s parent as ``j`` does, at offsets
    fixed in its frame: its other children, and those under its children of no length (nodes at
    its point, as twist joints have)."""
    out, stack = [], [int(k) for k in skeleton.children[skeleton.parents[j]] if k != j]
    while stack:
        k = stack.pop()
        if skeleton.bone_has_length[k]:
            out.append(k)
        else:
            stack.extend(int(c) for c in skeleton.children[k])
    return out


def _on_one_bone(u: np.ndarray, v: np.ndarray) -> bool:
    """Whether rest offsets ``u`` and ``v`` [3] point the same way, within ON_ONE_LINE_SIN."""
    return bool(u @ v > 0.0 and _rest_miss(u, v) < ON_ONE_LINE_SIN)


def _rest_miss(u: np.ndarray, v: np.ndarray) -> float:
    """How far apart the directions of rest offsets ``u`` and ``v`` [3] are (unit vectors' distance):
    a joint placed at its bone's length along the other's line misses by this times that length."""
    return float(np.linalg.norm(u / np.linalg.norm(u) - v / np.linalg.norm(v)))


def _on_line_spread(gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray, length: np.ndarray,
                    noise: np.ndarray, off: np.ndarray) -> np.ndarray:
    """[n] how far (3D rms, file units) _on_a_sibling_s_line's place of joint ``j`` in ``frames``
    [n] is likely off, to first order: at reach l from the parent p along the line to a joint at
    distance d, along the line by p's error, across it (two axes) by (1 - l/d) of p's plus l/d of
    the other's (``noise`` [J], std per axis; ``off`` [T,J], 3D rms, for the parent), and by the
    angle between their rest offsets times l (_rest_miss); the nearest on the bone stands for the
    one used."""
    kin = _siblings_on_the_bone(skeleton, j)
    if not kin:
        return np.zeros(len(frames))
    s, p = kin[0], skeleton.parents[j]
    ratio = length[frames, j] / np.maximum(length[frames, s], 1e-300)
    parent = off[frames, p] ** 2 / 3.0
    aside = _rest_miss(skeleton.offsets[j], skeleton.offsets[s]) * length[frames, j]
    return np.sqrt(parent + 2.0 * ((1.0 - ratio) ** 2 * parent + ratio ** 2 * noise[s] ** 2) + aside ** 2)


def _siblings_spread(gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray, length: np.ndarray,
                     noise: np.ndarray, off: np.ndarray) -> np.ndarray:
    """[n] how far (3D rms, file units) _held_by_siblings' place of joint ``j`` in ``frames`` [n] is
    likely off from the noise of what it is fit to: its parent's (``off`` [T,J], 3D rms: its noise
    where seen, how far its fill is likely off where not) and that of the parent's other children
    seen there (``noise`` [J], std per axis), to first order (see _turn_spread); 0 where it places
    nothing."""
    out = np.zeros(len(frames))
    p = skeleton.parents[j]
    others = np.array([c for c in skeleton.children[p] if c != j and skeleton.bone_has_length[c]], np.int64)
    if len(others) < 2:
        return out
    scale = length[frames, j] / float(np.linalg.norm(skeleton.offsets[j]))  # the rig's offsets as placed
    for rows, members in _by_seen_members(~gaps[np.ix_(frames, others)]):
        used = others[members]
        if len(used) >= 2 and spans_a_plane(skeleton.offsets[used]) and np.isfinite(scale[rows]).all():
            o = scale[rows, None, None] * skeleton.offsets[used]  # [m,k,3]
            d = scale[rows, None] * skeleton.offsets[j]
            out[rows] = _turn_spread(o, d, noise[used], off[frames[rows], p] / np.sqrt(3.0))
    return out


def _turn_spread(o: np.ndarray, d: np.ndarray, seen: np.ndarray, parent: np.ndarray) -> np.ndarray:
    """[m] the rms length (3D) of the error of a point at offset ``d`` [m,3] from a parent turned as
    best takes offsets ``o`` [m,k,3] onto where they are seen, from independent noise of std per axis
    ``seen`` [k] on the seen ends and ``parent`` [m] on the parent, to first order (see _turn_moves):
    the point moves by the parent's noise plus the turn's move of ``d``."""
    G = _turn_moves(o, d)
    from_parent = np.eye(3) - G.sum(axis=1)  # each offset's error is its end's noise less the parent's
    variance = parent ** 2 * (from_parent ** 2).sum(axis=(-2, -1)) + ((G ** 2).sum(axis=(-2, -1)) * seen ** 2).sum(-1)
    return np.sqrt(variance)


def _turn_moves(o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """[m,k,3,3] how the least-squares turn that takes offsets ``o`` [m,k,3] onto where they are seen
    moves a point at offset ``d`` [m,3] per error of each seen offset, to first order: a small turn w
    moves an offset o by w x o = -[o]x w, so the turn is w = A^-1 sum_k o_k x e_k with
    A = -sum_k [o_k]x^2 (small across an axis about which the offsets spread little: two thighs
    nearly on one line through the hips) for errors e_k of the offsets, and it moves d by
    w x d = -[d]x w: the move per e_k is -[d]x A^-1 [o_k]x."""
    X = _cross_matrix(o)  # [m,k,3,3]
    A = -np.einsum("mkab,mkbc->mac", X, X)
    return -np.einsum("mab,mbc,mkcd->mkad", _cross_matrix(d), np.linalg.inv(A), X)


def _cross_matrix(v: np.ndarray) -> np.ndarray:
    """[...,3,3] the matrices [v]x with [v]x u = v x u for vectors ``v`` [...,3]."""
    out = np.zeros(v.shape + (3,))
    out[..., 0, 1], out[..., 0, 2], out[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    out[..., 1, 0], out[..., 2, 0], out[..., 2, 1] = v[..., 2], -v[..., 1], v[..., 0]
    return out


def _between_parent_and_child(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                              length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where joint ``j`` is in ``frames`` [n] if both its bones keep their lengths across the gap,
    its parent and its one child with data (an elbow between shoulder and wrist) where their
    tracks say: on the circle of such places, at the side the interpolated sample lies (the bend
    the motion had around the gap), or before the first frame it was seen and after the last, the
    side it pointed to in that frame (see _side_seen). Where the sample lies near the line from
    parent to child (closer than SIDE_CLEAR of the circle's radius), its side says little: the move
    out to the circle shrinks smoothly to none there (the joint stays at the sample's distance from
    the line, at the place along it that the lengths give), so a bend never jumps from one side to
    the other. A twist segment below it (_on_a_seen_line) fixes the side; else a joint seen beside
    it narrows the circle to two places (_kept_from_a_sibling). Only in the frames where the parent
    and the joint's one child (not at the joint) have data: ([n,3], [n] done)."""
    out, done = P[frames, j].copy(), np.zeros(len(frames), bool)
    p = skeleton.parents[j]
    long = skeleton.bone_has_length
    kids = [c for c in skeleton.children[j] if long[c]]
    if p < 0 or len(kids) != 1:
        return out, done
    c = kids[0]
    if np.isfinite(length[:, [j, c]]).all():
        done = ~gaps[frames, p] & ~gaps[frames, c]
        at = frames[done]
        across = _side_seen(P, gaps, skeleton, j, c, at)
        sample = out[done]
        known = np.zeros(len(at), bool)
        grandkids = [g for g in skeleton.children[c] if long[g]]
        if len(grandkids) == 1 and _on_one_bone(skeleton.offsets[c], skeleton.offsets[grandkids[0]]):
            # a twist segment turns only about the line through it, which runs on to the joint
            beyond = _on_a_seen_line(P, gaps, c, grandkids[0], j, at, -length[at, c])
            known = np.isfinite(beyond).all(axis=-1)
            sample[known], across[known] = beyond[known], np.nan
        out[done] = _on_the_circle(P[at, p], P[at, c], sample, length[at, j, None], length[at, c, None], across)
        rows = np.flatnonzero(done)[~known]  # the side still open: a joint beside it may close it
        out[rows] = _kept_from_a_sibling(P, gaps, skeleton, j, c, at[~known], length, out[rows])
    return out, done


def _kept_from_a_sibling(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, c: int, frames: np.ndarray,
                         length: np.ndarray, placed: np.ndarray) -> np.ndarray:
    """[n,3] joint ``j`` (one child ``c``) in ``frames`` [n], ``placed`` [n,3] on its circle between
    parent and child, moved to where a joint hanging beside it (_siblings_at_steady_distance: clean
    tracks) stays as far from it as while both were seen, in the frames where that joint is seen
    and off the line from parent to child (by ON_ONE_LINE_SIN of its distance: nearer, every place
    on the circle is about as far): of the two such places, mirror images across the plane of the
    three seen joints, the one on the side ``placed`` lies, as far as that side is clear
    (_three_spheres). With one such joint the turn of the parent about it is all that is open."""
    out = placed.copy()
    p = skeleton.parents[j]
    left = np.ones(len(frames), bool)
    for k, (distance, _) in _siblings_at_steady_distance(P, gaps, skeleton, j):
        a, b, e = P[frames, k], P[frames, p], P[frames, c]
        u = (e - b) / np.maximum(np.linalg.norm(e - b, axis=-1, keepdims=True), 1e-300)
        off = np.linalg.norm((a - b) - ((a - b) * u).sum(-1, keepdims=True) * u, axis=-1)
        use = left & ~gaps[frames, k] & (off > ON_ONE_LINE_SIN * np.linalg.norm(a - b, axis=-1))
        at = frames[use]
        out[use] = _three_spheres(a[use], b[use], e[use], placed[use], np.full((len(at), 1), distance),
                                  length[at, j, None], length[at, c, None])
        left &= ~use
    return out


def _on_a_seen_line(P: np.ndarray, gaps: np.ndarray, a: int, b: int, j: int, frames: np.ndarray,
                    reach: np.ndarray) -> np.ndarray:
    """[n,3] joint ``j`` in ``frames`` [n] at signed distance ``reach`` [n] from joint ``a`` along
    the line from ``a`` to ``b`` (negative: beyond ``a``, away from ``b``), where both are seen;
    NaN elsewhere, and everywhere unless the frames where all three were seen kept ``j`` on that
    line (see _stays_on_the_line): a joint that never left it while seen (a twist segment's parent
    on the line through it and its child; a joint whose sibling lies on its bone) has no bend that
    could take it off while lost."""
    out = np.full((len(frames), 3), np.nan)
    seen = np.flatnonzero(~gaps[:, [a, b, j]].any(axis=1))
    if len(seen) and len(frames) and _stays_on_the_line(P[seen, a], P[seen, b], P[seen, j], np.sign(reach[0])):
        both = ~gaps[frames, a] & ~gaps[frames, b]
        out[both] = _along(P[frames[both], a], P[frames[both], b], reach[both])
    return out


def _stays_on_the_line(a: np.ndarray, b: np.ndarray, x: np.ndarray, way: float) -> bool:
    """Whether the joint at ``x`` [m,3] lies on the ray from ``a`` [m,3] towards ``b`` [m,3]
    (``way`` +1; -1: away from it) in every frame seen: its miss within ON_ONE_LINE_SIN of its
    distance from ``a`` plus CLAMP_STDS of what noise puts there. The miss per axis
    takes x's noise, a's times 1 - r and b's times r (r = |ax| / |ab| signed by ``way``); the
    noise on the seen distances a-x and a-b (_jitter: 0 on clean tracks) bounds it. A joint that
    bends (or a node at the parent's point that turns, or a bone that stretches) leaves the line."""
    reach = way * np.linalg.norm(x - a, axis=-1)
    miss = np.linalg.norm(_along(a, b, reach) - x, axis=-1)
    apart = np.linalg.norm(b - a, axis=-1)
    r = float(np.median(reach) / max(float(np.median(apart)), 1e-300))
    spread = max(1.0, (1.0 - r) ** 2) * _jitter(np.abs(reach)) + r * r * _jitter(apart)
    return bool((miss <= ON_ONE_LINE_SIN * np.abs(reach) + CLAMP_STDS * np.sqrt(spread)).all())


def _jitter(d: np.ndarray) -> float:
    """The variance of the noise on a distance ``d`` [m] over the frames seen, read from its steps
    from one to the next (half their mean square: white noise doubles in a step), so that a bone
    that stretches smoothly (hips translating from a floor-level root) does not count as noise."""
    return 0.5 * float(np.mean(np.diff(d) ** 2)) if len(d) > 1 else 0.0


def _along(a: np.ndarray, b: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """[n,3] the points at signed distance ``reach`` [n] from ``a`` [n,3] towards ``b`` [n,3]."""
    u = (b - a) / np.maximum(np.linalg.norm(b - a, axis=-1, keepdims=True), 1e-300)
    return a + reach[:, None] * u


def _side_seen(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, c: int, frames: np.ndarray) -> np.ndarray:
    """[n,3] for joint ``j`` (child ``c``) lost in ``frames`` [n] before the first frame it was
    seen in or after the last: the unit direction across the line from its parent to ``c`` in which
    it lay in that nearest seen frame, as an angle about that line from the grandparent's side of
    it: an elbow keeps pointing where it pointed relative to the body, however far the body walked
    (its fill holds the seen sample where it was in the world). NaN in a gap between seen frames
    (its interpolated sample keeps the bend the motion had), where the grandparent is missing, or
    where it lies on the line (its side says nothing)."""
    out = np.full((len(frames), 3), np.nan)
    p = skeleton.parents[j]
    g = skeleton.parents[p] if p >= 0 else -1
    if g < 0 or not len(frames):
        return out
    seen = np.flatnonzero(~gaps[:, [g, p, j, c]].any(axis=1))
    if not len(seen):
        return out
    angle, ok = _angle_about(P[seen, g], P[seen, p], P[seen, c], P[seen, j])
    if not ok.any():
        return out
    turns = np.unwrap(angle[ok])
    usable = ~gaps[frames, g] & ((frames < seen[ok][0]) | (frames > seen[ok][-1]))
    e1, e2, fine = _across_frame(P[frames[usable], g], P[frames[usable], p], P[frames[usable], c])
    theta = np.interp(frames[usable], seen[ok], turns)[:, None]
    out[np.flatnonzero(usable)[fine]] = (np.cos(theta) * e1 + np.sin(theta) * e2)[fine]
    return out


def _across_frame(g: np.ndarray, p: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(e1, e2 [n,3], ok [n]): unit directions across the line p -> c, e1 towards the side of g
    (the grandparent), e2 = u x e1; ok where g lies off the line (by a tenth of its distance)."""
    u = (c - p) / np.maximum(np.linalg.norm(c - p, axis=-1, keepdims=True), 1e-300)
    r = (g - p) - ((g - p) * u).sum(-1, keepdims=True) * u
    size = np.linalg.norm(r, axis=-1)
    e1 = r / np.maximum(size, 1e-300)[:, None]
    return e1, np.cross(u, e1), size > 0.1 * np.linalg.norm(g - p, axis=-1)


def _angle_about(g: np.ndarray, p: np.ndarray, c: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([n] angle, [n] ok) of the joint at ``x`` about the line p -> c, from the side of g (see
    _across_frame); ok where both the frame and the joint's distance from the line tell it."""
    e1, e2, fine = _across_frame(g, p, c)
    u = np.cross(e1, e2)
    v = (x - p) - ((x - p) * u).sum(-1, keepdims=True) * u
    off = np.linalg.norm(v, axis=-1)
    return np.arctan2((v * e2).sum(-1), (v * e1).sum(-1)), fine & (off > 1e-3 * np.linalg.norm(c - p, axis=-1))


def _by_parent_and_two_children(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int, frames: np.ndarray,
                                length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([n,3], [n] done): joint ``j``, lost in ``frames`` [n] where its parent and its two
    children (its only ones not at the joint, their rest offsets not on one line with it) were
    seen, where all three of its bones keep their lengths across the gap: on the circle about the line
    between the children where both child bones keep theirs, at the parent's bone length from the
    parent; of the two such places (mirror images across the plane of the three seen joints), the
    one at the side its interpolated sample lies, as far as that side is clear (closer to that plane
    than the place itself: pulled into the plane smoothly, as between parent and one child)."""
    out, done = P[frames, j].copy(), np.zeros(len(frames), bool)
    p = skeleton.parents[j]
    long = skeleton.bone_has_length
    kids = [c for c in skeleton.children[j] if long[c]]
    if p < 0 or len(kids) != 2 or not spans_a_plane(skeleton.offsets[kids]):
        return out, done
    if not np.isfinite(length[:, [j] + kids]).all():
        return out, done
    done = ~gaps[frames, p] & ~gaps[frames, kids[0]] & ~gaps[frames, kids[1]]
    at = frames[done]
    bones = length[at][:, [j] + kids].T[..., None]  # three [n,1]
    kin = _siblings_at_steady_distance(P, gaps, skeleton, j)
    out[done] = _three_spheres(P[at, p], P[at, kids[0]], P[at, kids[1]], out[done], *bones,
                               kin=[(P[at, k], d, ~gaps[at, k]) for k, d in kin])
    return out, done


def _siblings_at_steady_distance(P: np.ndarray, gaps: np.ndarray, skeleton: Skeleton, j: int
                                 ) -> list[tuple[int, tuple[float, float]]]:
    """[(k, (distance, std))] the joints hanging beside ``j`` (_hanging_beside: at offsets fixed in
    its parent's frame, so their distance from it holds while it is lost: a helper bone beside a
    limb) seen with it in some frames, with the median and std of that distance there, where the
    std is within AUTO_THRESHOLD of the height (clean tracks). Under noise the place between the
    mirror images is a better hedge than either side: over 161 joints of random trees with helper
    and twist bones, under 0.25-1 % jitter, even the true side at full trust left them as far off
    as the fill's side pulled into the plane where unclear, or up to 3 % further."""
    out = []
    for k in _hanging_beside(skeleton, j):
        seen = ~gaps[:, j] & ~gaps[:, k]
        if seen.any():
            d = np.linalg.norm(P[seen, j] - P[seen, k], axis=-1)
            if np.std(d) <= AUTO_THRESHOLD * skeleton.height:
                out.append((k, (float(np.median(d)), float(np.std(d)))))
    return out


def _three_spheres(a: np.ndarray, b: np.ndarray, c: np.ndarray, e: np.ndarray, l0: np.ndarray, l1: np.ndarray,
                   l2: np.ndarray, kin: list | tuple = ()) -> np.ndarray:
    """[n,3] the point at distances ``l1`` from ``b`` and ``l2`` from ``c`` (a circle about the
    line b-c) and ``l0`` from ``a`` (as near as the circle comes), at the side of the plane a, b, c
    where the sample ``e`` [n,3] lies as far as that side is clear (all points [n,3], lengths [n,1]),
    or where the joints ``kin`` (their points [n,3], (distance, std) from the joint, [n] seen) say
    more clearly (see _side_by_kin)."""
    centre, axis, radius = _circle(b, c, l1, l2)
    towards = (a - centre) - ((a - centre) * axis).sum(-1, keepdims=True) * axis  # in the circle's plane
    reach = np.linalg.norm(towards, axis=-1, keepdims=True)
    e1 = towards / np.maximum(reach, 1e-300)
    e2 = np.cross(axis, e1)  # across the plane of a, b, c
    gap = ((a - centre) ** 2).sum(-1, keepdims=True) + radius * radius - l0 * l0
    cos = np.clip(gap / np.maximum(2.0 * radius * reach, 1e-300), -1.0, 1.0)
    sin = np.sqrt(1.0 - cos * cos)
    side = ((e - centre) * e2).sum(-1, keepdims=True)
    sign, trust = np.sign(side), smoothstep(np.abs(side) / np.maximum(SIDE_CLEAR * radius * sin, 1e-300))
    if len(kin):
        base = centre + radius * cos * e1
        told, sure = _side_by_kin(base, radius * sin * e2, kin)
        better = sure >= trust  # seen joints over a fill, where both are clear
        sign[better], trust[better] = told[better], sure[better]
    return centre + radius * (cos * e1 + sign * trust * sin * e2)


def _side_by_kin(base: np.ndarray, half: np.ndarray, kin: list) -> tuple[np.ndarray, np.ndarray]:
    """([n,1] side, [n,1] trust) between the mirror places ``base`` + ``half`` and ``base`` -
    ``half`` ([n,3]) of a joint, from joints at steady distances from it (``kin``: their points
    [n,3], (distance, std) seen, [n] seen now): each misses its distance from one place by m+ and
    from the other by m-; the side is that of the smaller total miss, clear (trust 1) where the
    totals differ by SIDE_CLEAR of how far the places' distances differ and the better place
    misses little against the worse (on clean tracks it misses nothing), each joint counting only
    as far as that difference exceeds CLAMP_STDS of the noise its distance showed while seen (a
    joint nearly as far from either place says nothing)."""
    score, apart, missed = np.zeros(len(base)), np.zeros(len(base)), np.zeros(len(base))
    for at, (distance, std), seen in kin:
        near = np.linalg.norm(base + half - at, axis=-1)
        far = np.linalg.norm(base - half - at, axis=-1)
        differ = np.abs(near - far)
        weight = seen * smoothstep(differ / np.maximum(CLAMP_STDS * std, 1e-300))
        score += weight * (np.abs(far - distance) - np.abs(near - distance))
        apart += weight * differ
        missed += weight * (np.abs(far - distance) + np.abs(near - distance))
    clear = np.abs(score) / np.maximum(missed, 1e-300)  # 1 where the one place misses nothing
    trust = smoothstep(np.abs(score) / np.maximum(SIDE_CLEAR * apart, 1e-300)) * (apart > 0.0)
    trust *= smoothstep((clear - SIDE_CLEAR) / (1.0 - SIDE_CLEAR))
    return np.sign(score)[:, None], trust[:, None]


def _circle(b: np.ndarray, c: np.ndarray, l1: np.ndarray, l2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre [n,3], unit axis [n,3] from b to c, radius [n,1]) of the circle of points at
    distance ``l1`` from ``b`` and ``l2`` from ``c`` ([n,1] each; its nearest stand-in where the spheres miss)."""
    d = np.maximum(np.linalg.norm(c - b, axis=-1), 1e-300)[:, None]
    axis = (c - b) / d
    along = np.clip((d * d + l1 * l1 - l2 * l2) / (2.0 * d), -l1, l1)
    return b + along * axis, axis, np.sqrt(np.maximum(l1 * l1 - along * along, 0.0))


def _on_the_circle(a: np.ndarray, b: np.ndarray, e: np.ndarray, l1: np.ndarray, l2: np.ndarray,
                   across: np.ndarray | None = None) -> np.ndarray:
    """[n,3] the sample ``e`` [n,3] of a joint between its parent at ``a`` and child at ``b`` (both
    [n,3]) moved onto the circle where its bones keep lengths ``l1`` and ``l2``, as far as its side
    of the line from a to b is clear (see _between_parent_and_child); where ``across`` [n,3] (unit
    directions across the line, NaN: none) is given, at that side."""
    centre, u, radius = _circle(a, b, l1, l2)
    side = (e - a) - ((e - a) * u).sum(-1, keepdims=True) * u
    if across is not None:
        known = np.isfinite(across).all(axis=-1)
        side[known] = across[known] * radius[known]
    off = np.linalg.norm(side, axis=-1, keepdims=True)
    trust = smoothstep(off / np.maximum(SIDE_CLEAR * radius, 1e-300))
    # the place along the line is the lengths' (the sample's own may be far off: a gap at the clip's
    # start holds the first seen sample); across it, the sample's side as far as it is clear
    return centre + (1.0 - trust) * side + trust * radius * side / np.maximum(off, 1e-300)


#: the ways a filled sample is placed, tried in turn (the root's: those that need no parent)
_PLACERS = (_at_children_of_no_length, _held_by_children, _held_by_siblings, _between_parent_and_child,
            _by_parent_and_two_children, _on_a_sibling_s_line)
_ROOT_PLACERS = (_at_children_of_no_length, _held_by_children)
#: the placers whose place's likely error is known (see _weighed_against_the_fill)
_SPREADS = {_held_by_children: _children_spread, _held_by_siblings: _siblings_spread,
            _on_a_sibling_s_line: _on_line_spread}

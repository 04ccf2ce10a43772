"""What the geometric solver works on: tracks, reference rotations, aim targets, translating joints.

A joint's *aim targets* are the points whose direction from the joint its rotation must explain:
children with bone length (reached through zero-length children, as in rigs that put the hip joints
at the pelvis) and bone tips (BVH End Sites). Children whose distance to the parent changes over
the clip *translate*: their offset is solved per frame instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, reduce
from typing import Callable

import numpy as np

from ...rotations import norm, normalize, smoothstep
from ...skeleton import Skeleton, has_length
from ...smoothing import segments
from ...noise_estimate import column_nanmedian, keyed_rows
from ...stacks import any_per_point, component_major, empty_vectors, frames_first, joint_planes, mat_mul, mat_vec
from ...tracks import Tracks, keeps_to_rounding
from ...tracks_io import describe_names
from ...wording import WARNING_PREFIX, counted
from .fit import fit_weights

#: a noise variance: one number, or [T] one per frame
Variance = float | np.ndarray

#: a child whose distance to its parent deviates by more than this fraction of its rest length
#: (or which has no rest length but moves away) translates freely and does not aim its parent
FREE_TRANSLATION_FRACTION = 0.25
#: distance changes (fraction of the height) above which a child counts as stretching ...
STRETCH_FRACTION = 1e-3
#: ... and in noisy tracks only above this many stds of the noise left in the bone's length (the
#: spread of a few hundred noisy samples stays within about 6)
STRETCH_NOISE_STDS = 8.0
#: ... and than this many times the spread of the body's median bone against its noise, read over at
#: least MIN_BODY_BONES noisy bones (see _stretch_noise_limit)
BODY_SPREADS = 2.0
MIN_BODY_BONES = 5
#: an offset of the root line (it places the body: no bone) off the rig by more than this share of the
#: height, and than its noise, translates: kept, it puts the whole body that far off its tracks
PLACING_FRACTION = 1e-5
#: a bone whose tracks keep it longer or shorter than the rig's by more than this factor (the tracks'
#: overall size allowed for) is no performer's proportions
UNLIKE_FACTOR = 2.0
#: bones aim from where the solution puts their joint while it is near its track, handing over to
#: aiming from the track by the frame where it is this fraction of the nearest target's distance away
SOLVED_AIM_FRACTION = 0.5


@dataclass(frozen=True)
class Target:
    """An aim target of a joint: the point ``index`` (a joint, or an end site when ``is_end``)
    reached from the joint through the zero-length joints ``chain`` (or, with ``chain_offsets``
    [len(chain),3], the chain's own offsets from their parents, through joints with length: twist
    segments, see twist_chains.past_segments)."""

    index: int
    is_end: bool
    chain: tuple[int, ...]
    offset: np.ndarray  # [3] rest offset of the target from its parent (last of chain or the joint)
    chain_offsets: np.ndarray | None = None


@dataclass(frozen=True)
class Aim:
    """A joint's primary ``targets`` (see Problem.split_targets) with what is known of them before
    solving, worked out for all joints at once: their mean direction in the joint's frame ``axis``
    [1,3] and, for several targets, the trust in their best fit ``weight`` [1] (see fit.fit_weight)
    (both None unless the reference is constant); on clean tracks, for a single target, the unit
    direction [T,3] from the joint's track to the target's, ``direction`` (else None; also with
    the plain "swing" policy, which does not use it)."""

    targets: list[Target]
    axis: np.ndarray | None
    weight: np.ndarray | None
    direction: np.ndarray | None


@dataclass
class Problem:
    """One solve: gap-free ``positions`` [T,J,3] (component-major, see core.stacks), the per-frame
    reference local rotations ``guess``
    [T,J,3,3] (a broadcast view when constant), every joint's aim ``targets``, the ``translating``
    [J] and ``zero_length`` [J] joints, the twist policy and ``noise_var`` [J]: the variance (file
    units squared, per axis) of what noise is left in each joint's track (0 for clean tracks)."""


    tracks: Tracks
    positions: np.ndarray
    guess: np.ndarray
    targets: list[list[Target]]
    translating: np.ndarray
    zero_length: np.ndarray
    twist: str
    noise_var: np.ndarray = field(default_factory=lambda: np.zeros(1))
    #: where each joint is in the solution (filled top-down while solving noisy tracks):
    #: bones then aim from there at their targets' tracks, so track noise does not add up along chains
    solved: np.ndarray | None = None
    #: noise variance of the bone tips [K] (None: as noisy as their joints)
    end_var: np.ndarray | None = None
    #: [T,J] / [T,K] the noise variance of the joints and bone tips in each frame (None: ``noise_var``
    #: / ``end_var`` in every frame): a clip's first and last frames keep more after smoothing
    noise_var_frames: np.ndarray | None = None
    end_var_frames: np.ndarray | None = None
    #: [T,J] / [T,K] how many times the noise variance the smoothing left in each frame exceeds what
    #: the joint's widest kernel leaves there (>= 1; None: never narrowed): the cone widens by it
    narrowing: np.ndarray | None = None
    end_narrowing: np.ndarray | None = None
    #: [J] the share of each joint's frames whose noise varies independently (smoothing spreads
    #: one frame's noise over its neighbours; None: all)
    freedom: np.ndarray | None = None
    #: keep the reference wherever targets stay within this many noise stds of their tracks (0: off)
    cone: float = 0.0
    #: per joint, the mean square (per axis, file units squared) by which the cone may move it
    #: from where the exact solve puts it (None: no limit; see _smoothing_budget)
    shift_var: np.ndarray | None = None
    #: [T,J] samples that were gaps in the tracks, filled by interpolation (None: none): such a
    #: point does not pull a fit over several targets
    gaps: np.ndarray | None = None
    #: per joint, how far its orientation is fixed by its targets rather than a twist policy (0..1,
    #: [T] or [1]); filled in while solving
    determined: dict[int, np.ndarray] = field(default_factory=dict)
    #: per joint whose bone is split by twist segments, the bone's child reached through them (the
    #: point whose bend tells the joint's roll; see twist_chains.past_segments)
    past_segments: dict[int, Target] = field(default_factory=dict)
    #: the bone tips' tracks [T,K,3] (component-major, like ``positions``), None without tips
    ends: np.ndarray | None = None
    #: the pieces [start, stop) of the clip between its cuts (see smoothing.find_cuts): the leans
    #: read what a bone holds and shows over each piece alone (empty: the whole clip is one)
    pieces: list[slice] = field(default_factory=list)
    #: {joint: [frames]} where a joint's tracks turn it over in one frame (reversals.turned_over): its
    #: leans read each side of those frames on its own too (a direction held across a half turn is no
    #: mean of either side)
    breaks: dict[int, list[int]] = field(default_factory=dict)
    #: [T-1] whether the roll carries from frame t to t + 1: False across a cut where the body jumps
    #: to a pose the frames before do not lead to (see tied_steps); None: across every step
    tied: np.ndarray | None = None
    #: sources (constant reference) and observed vectors (clean tracks) already worked out, by targets
    _sources: dict = field(default_factory=dict, repr=False)
    _observed: dict = field(default_factory=dict, repr=False)

    def pieces_of(self, joint: int) -> list[slice]:
        """The pieces (as ``pieces``) over which the leans of ``joint`` read what its bones hold:
        the clip's, split again where the joint turned over (``breaks``)."""
        frames = self.breaks.get(joint)
        if not frames:
            return self.pieces
        return segments(self.num_frames, sorted({p.start for p in self.pieces[1:]} | set(frames)))

    @property
    def skeleton(self) -> Skeleton:
        return self.tracks.skeleton

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    @cached_property
    def sampled_frames(self) -> int:
        """How many frames hold samples of the tracks: those where every joint is a key when the
        tracks were keyed every few frames (Tracks.keyed; the curves between keys carry no noise of
        their own), else every frame."""
        keys = keyed_rows(self.tracks.keyed_frames)
        return self.num_frames if keys is None else int(keys.sum())

    @property
    def constant_guess(self) -> bool:
        """Whether the reference local rotations are the same in every frame."""
        return self.guess.strides[0] == 0

    @cached_property
    def aims(self) -> list[Aim]:
        """[J] every joint's Aim, worked out when first asked for (the problem set up: ``solved``
        and ``end_var`` as the solve uses them)."""
        primary = [self.split_targets(j)[0] for j in range(self.skeleton.num_joints)]
        aiming = [j for j, targets in enumerate(primary) if targets]
        axes: dict[int, np.ndarray] = {}
        weights: dict[int, np.ndarray] = {}
        if self.constant_guess and aiming:
            sums = [self.sources(primary[j])[0].sum(axis=0) for j in aiming]
            axes = dict(zip(aiming, normalize(np.stack(sums))[:, None]))
            several = [j for j in aiming if len(primary[j]) >= 2]
            if several:
                weights = dict(zip(several, fit_weights([self.sources(primary[j]) for j in several],
                                                         [self.offset_var_frames(j, primary[j]) for j in several])))
        directions: dict[int, np.ndarray] = {}
        if self.solved is None and self.twist != "swing":  # the one-target aims of clean tracks
            single = [j for j in aiming if len(primary[j]) == 1]
            x = joint_planes(self.positions)
            ends = None if self.ends is None else joint_planes(self.ends)
            for j in single:  # one at a time: each joint's [3,T] stays in the cache
                target = primary[j][0]
                directions[j] = normalize(frames_first((ends if target.is_end else x)[target.index] - x[j]))
        return [Aim(targets, axes.get(j), weights.get(j), directions.get(j)) for j, targets in enumerate(primary)]

    @cached_property
    def chains(self) -> list[list[tuple[int, Target]]]:
        """[J] for each joint with one primary target, the bones below that target down its
        single children, [(aiming joint, its target)] top down: each a rigid joint with one
        primary target, reached directly or through zero-length joints (they add no bone and no
        point of their own; a tip ends it); [] for the other joints (see chains.lean_with_chains)."""
        return [self._chain_below(aim.targets[0]) if len(aim.targets) == 1 else [] for aim in self.aims]

    def _chain_below(self, target: Target) -> list[tuple[int, Target]]:
        """The chain (see chains) below ``target``."""
        out: list[tuple[int, Target]] = []
        while not target.is_end and not self.translating[target.index]:
            below = self.aims[target.index].targets
            if len(below) != 1 or (not below[0].is_end and self.translating[below[0].index]):
                break
            out.append((target.index, below[0]))
            target = below[0]
        return out

    @cached_property
    def at_rest(self) -> np.ndarray:
        """[J] joints whose reference local rotation is the identity in frame 0 (in every frame
        when the reference is constant)."""
        return (self.guess[0] == np.eye(3)).all(axis=(1, 2))

    def reference_product(self, joints) -> np.ndarray:
        """[T,3,3] (or [3,3] when the reference is constant) product of the reference local
        rotations of ``joints`` (at least one), top down: the reference orientation of the last one
        in the frame of the first one's parent (component-major when per frame, as products
        downstream sum in memory order). Not to be written to (it may be a view)."""
        first, *rest = joints
        if self.constant_guess:
            return reduce(_small_product, (self.guess[0, z] for z in rest), self.guess[0, first])
        return reduce(lambda A, z: mat_mul(A, self.guess[:, z]), rest, component_major(self.guess[:, first]))

    def point(self, target: Target) -> np.ndarray:
        """[T,3] track of a target."""
        return self.ends[:, target.index] if target.is_end else self.positions[:, target.index]

    def observed(self, targets: list[Target], joint: int) -> np.ndarray:
        """[T,n,3] world vectors from ``joint`` (its track, or where the solution puts it) to its
        targets' tracks. Not to be written to (clean tracks: kept for the next call)."""
        key = (joint, _key(targets))
        if self.solved is None and key in self._observed:
            return self._observed[key]
        origin = self.positions[:, joint]
        if self.solved is not None and not np.isnan(self.solved[0, joint, 0]):
            # from where the solution puts the joint (once placed: noise then does not add up along
            # chains), frame by frame as far as that is near the track compared with the targets
            # (short toes seen from a toe base moved as far as they are long point anywhere)
            moved = self.solved[:, joint] - origin
            origin = origin + smoothstep(1.0 - self._aim_turned(targets, origin, moved))[:, None] * moved
        out = empty_vectors((self.num_frames, len(targets)))
        for i, t in enumerate(targets):
            np.subtract(self.point(t), origin, out=out[:, i])
        if self.solved is None:
            self._observed[key] = out
        return out

    def _aim_turned(self, targets: list[Target], track: np.ndarray, moved: np.ndarray) -> np.ndarray:
        """[T] how far aiming from ``track`` + ``moved`` [T,3] (a joint's solved place) instead of from
        its ``track`` [T,3] may turn the aim at ``targets`` or shorten it, in SOLVED_AIM_FRACTION of
        each target's rest distance (the most over the targets): the move across the line to the
        target, or along it towards the target. A move away from the target along that line turns
        nothing and lengthens the lever its noise acts on."""
        out = np.zeros(len(moved))
        for t in targets:
            line = normalize(self.point(t) - track, 1e-300)
            along = (moved * line).sum(axis=-1)
            across = norm(moved - along[:, None] * line)
            reach = max(SOLVED_AIM_FRACTION * float(np.linalg.norm(t.offset)), 1e-300)
            np.maximum(out, np.maximum(across, along) / reach, out=out)
        return out

    def directions(self, targets: list[Target], joint: int) -> np.ndarray:
        """[T,n,3] the unit vectors along observed(targets, joint): for a joint's one primary target
        on clean tracks, its Aim's direction (worked out for all such joints at once, the same
        numbers). Not to be written to."""
        aim = self.aims[joint]
        if aim.direction is not None and len(targets) == 1 and targets[0] is aim.targets[0]:
            return aim.direction[:, None]
        return normalize(self.observed(targets, joint))

    def place(self, joint: int, G: np.ndarray) -> None:
        """Put ``joint`` where the solution so far puts it (its track for the root and translating
        joints); no-op unless aiming from solved positions."""
        if self.solved is None:
            return
        parent = self.skeleton.parents[joint]
        if parent < 0 or self.translating[joint]:
            self.solved[:, joint] = self.positions[:, joint]
        else:
            self.solved[:, joint] = self.solved[:, parent] + mat_vec(G[:, parent], self.skeleton.offsets[joint])

    def sources(self, targets: list[Target]) -> np.ndarray:
        """[T,n,3] target offsets in the aiming joint's frame, zero-length joints at their reference
        ([1,n,3] when the reference is constant: the same in every frame, and kept for the next
        call). Not to be written to."""
        if self.constant_guess:
            key = _key(targets)
            if key not in self._sources:
                self._sources[key] = np.stack([_down_chain(t, lambda z, v: self.guess[0, z] @ v) for t in targets])[None]
            return self._sources[key]
        out = empty_vectors((self.num_frames, len(targets)))
        for i, t in enumerate(targets):
            out[:, i] = _down_chain(t, lambda z, v: mat_vec(self.guess[:, z], v))
        return out

    def offset_var(self, joint: int, targets: list[Target]) -> float:
        """Noise variance (per axis, file units squared) of the vectors from ``joint`` to its
        targets: both ends'."""
        tip = None if self.end_var is None else self.end_var.__getitem__
        return float(_both_ends(joint, targets, self.noise_var.__getitem__, tip))

    def offset_var_frames(self, joint: int, targets: list[Target]) -> np.ndarray:
        """[T] offset_var in each frame, or [1] where the noise is the same in every frame."""
        if self.noise_var_frames is None:
            return np.array([self.offset_var(joint, targets)])
        tip = None if self.end_var is None else lambda k: np.broadcast_to(self.point_var(k, True), self.num_frames)
        return _both_ends(joint, targets, self.point_var, tip)

    def point_var(self, k: int | np.ndarray, is_end: bool = False) -> np.ndarray:
        """The noise variance (per axis, file units squared) left in the track of joint ``k`` (bone
        tip ``k`` with ``is_end``; one without its own is as noisy as its joint): [T] per frame, or
        [1] where the same in every frame; for an array of n points [n,T] or [n,1]."""
        if is_end and self.end_var is None:
            return self.point_var(self.tracks.end_parents[k])
        frames = self.end_var_frames if is_end else self.noise_var_frames
        if frames is not None:
            return frames[:, k].T
        return np.asarray((self.end_var if is_end else self.noise_var)[k])[..., None]

    def cone_var(self, joint: int, targets: list[Target]) -> np.ndarray:
        """[T] offset_var widened in each frame by both ends' ``narrowing`` (a bone tip without
        its own: its joint's), or [1] where no kernel was narrowed."""
        if self.narrowing is None:
            return np.array([self.offset_var(joint, targets)])
        if self.end_var is None or self.end_narrowing is None:
            tip = None if self.end_var is None else lambda k: np.full(self.num_frames, self.end_var[k])
        else:
            tip = lambda k: self.end_var[k] * self.end_narrowing[:, k]  # noqa: E731
        return _both_ends(joint, targets, lambda i: self.noise_var[i] * self.narrowing[:, i], tip)

    def independent_frames(self, joint: int, targets: list[Target]) -> float:
        """How many of the frames of the vectors from ``joint`` to its ``targets`` carry
        independent noise (at least 1): the sampled frames times the share of both ends' (bone
        tips: as their joint's)."""
        if self.freedom is None:
            return float(self.sampled_frames)
        far = [self.freedom[joint if t.is_end else t.index] for t in targets]
        return max(1.0, self.sampled_frames * 0.5 * (self.freedom[joint] + float(np.mean(far))))

    def target_weights(self, joint: int, targets: list[Target]) -> np.ndarray | None:
        """[n] how much each target's direction counts in a best fit: what it tells of the
        direction, its rest distance squared over its noise variance (both ends'; a direction read
        across a distance L with noise sigma is known to about sigma / L), as a share of the
        best-told one's. A target half as far away, or twice as noisy, counts four times less.
        None on clean tracks, where none of the joint's targets carries noise, or where all tell
        as much."""
        if not self.noise_var.any():
            return None
        var = np.array([self.offset_var(joint, [t]) for t in targets])
        floor = 1e-12 * float(self.skeleton.height) ** 2
        if var.max() <= floor:
            return None
        told = np.array([float(np.dot(t.offset, t.offset)) for t in targets]) / (var + floor)
        if told.max() <= 0.0:  # tips of no length only: nothing to tell them apart
            return None
        weights = told / told.max()
        return None if weights.min() > 1.0 - 1e-12 else weights

    def rigid(self, target: Target) -> bool:
        """Whether ``target`` is rigid to its joint: a direct child that does not translate, or a
        bone tip (not reached through zero-length joints, which turn on their own)."""
        return not target.chain and (target.is_end or not self.translating[target.index])

    def split_targets(self, joint: int) -> tuple[list[Target], list[Target]]:
        """(primary, secondary) targets of a joint. Primary: direct rigid children and tips, which
        the joint must hit exactly; secondary (reached through zero-length joints, or stretching)
        only break ties — unless there is no primary target, then they aim the joint."""
        targets = self.targets[joint]
        direct = [t for t in targets if self.rigid(t)]
        others = [t for t in targets if t not in direct]
        return (direct, others) if direct else (others, [])


def _both_ends(joint: int, targets: list[Target], point: Callable[[int], Variance],
               tip: Callable[[int], Variance] | None) -> Variance:
    """The noise variance of the vectors from ``joint`` to its ``targets``: ``point(i)`` of the
    joint i, plus the mean over the targets of theirs (a bone tip's ``tip(k)``; None: as noisy as
    its joint). Scalars, or [T] in each frame, as ``point`` and ``tip`` give them."""
    far = [point(t.index) if not t.is_end else point(joint) if tip is None else tip(t.index) for t in targets]
    return point(joint) + np.mean(far, axis=0)


@dataclass(frozen=True)
class LengthReadings:
    """Bone lengths read from the tracks (file units): ``dist`` [T,J-1] over time (averaged where
    the tracks are noisy, less what noise adds; NaN where either end was a gap), and the std of
    the noise in each average (``noise`` [J-1], or [T,J-1] where it varies) and in their median
    over the clip (``median`` [J-1])."""

    dist: np.ndarray
    noise: np.ndarray
    median: np.ndarray


def classify_translation(skel: Skeleton, lengths: LengthReadings, typical: np.ndarray, missing: np.ndarray,
                         stretch: str, report: list[str], step: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(translating [J], free [J]): joints whose distance to the parent (``lengths.dist``, its
    median over the clip ``typical`` [J-1]) changes over the clip by more than STRETCH_FRACTION of
    the height and STRETCH_NOISE_STDS stds of the noise of its averages (each frame's distance
    read against its own, see _steady) — for "exact":
    differs from the rig's bone length, the tracks' overall scale allowed for — and among them
    those that move too far from their bone length to aim their parent at all (in most frames:
    noise is no reason). A performer of other proportions (every bone a constant factor off) is no
    reason to translate. Offsets that no turn can lengthen (bones of no length) and those of the
    root line (Skeleton.root_line: a root at the floor or the origin, wrappers, a walk's start: they
    place the body) translate where they are off the rig (scaled like the tracks) in most frames,
    in any clip: a single frame or a still clip shows them off as well; the parent still aims at
    or past them, unless they are too far off for that (_placing_offsets). "Most frames" is the
    median over the clip, read against its own noise and the noise a translation per frame would
    take in (that of an average): for bones of no length beyond the larger of that and
    STRETCH_NOISE_STDS of the median's noise; for the root line where holding the offset costs
    more than moving it (its miss, less the median's noise, in quadrature against an average's
    noise: a held root line takes its whole miss into every joint of every frame). ``step``:
    float32's step at the tracks' coordinates (float32_step; bones that keep their length to
    rounding show no noise, see _stretch_noise_limit)."""
    J = skel.num_joints
    translating = np.zeros(J, bool)
    free = np.zeros(J, bool)
    if J < 2:
        return translating, free
    par = skel.parents[1:]
    rest = np.linalg.norm(skel.offsets[1:], axis=-1)
    valid = ~missing[1:] & ~missing[par]
    scale = _tracks_scale(typical, rest, valid, skel.height)
    dist, bone_noise = _steady(lengths.dist, typical, lengths.noise)
    line = _on_root_line(skel)
    noise_limit = np.where(line, np.hypot(bone_noise, lengths.median),
                           np.maximum(bone_noise, STRETCH_NOISE_STDS * lengths.median))
    floor = np.where(line, PLACING_FRACTION, STRETCH_FRACTION) * skel.height
    off_limit = np.maximum(floor, noise_limit)
    if stretch == "off":
        _placing_root_line(skel, typical, rest, scale, valid, off_limit, translating, free, report, lengths.median)
        return translating, free
    spread = _spread(dist, False)
    rigid = keeps_to_rounding(spread, typical, step)  # as noise_estimate reads rigid lengths
    limit = np.maximum(STRETCH_FRACTION * skel.height, _stretch_noise_limit(spread, bone_noise, valid & ~rigid))
    dev = _spread(np.abs(dist - rest[None]), True) if stretch == "exact" else spread
    translating[1:] = valid & (dev > limit)
    held = np.zeros(J - 1, bool)  # [J-1] placing offsets off the rig in most frames (stretch "auto")
    if stretch == "auto":
        held, off, far = _held_offsets(skel, typical, rest, scale, valid, off_limit, lengths.median)
        held &= ~translating[1:]
        translating[1:] |= held
        free[1:] = held & far
        dev = np.where(held, off, dev)
    moving = translating[1:] & ~held
    off_rig = np.zeros(J - 1)  # [J-1] in most frames, against the rig scaled like the tracks (translating ones)
    off_rig[moving] = column_nanmedian(np.abs(dist[:, moving] - scale * rest[moving]))
    free[1:] |= moving & (off_rig > FREE_TRANSLATION_FRACTION * np.maximum(scale * rest, 1e-9)) & (off_rig > limit)
    line = _on_root_line(skel)
    placing = held & line  # these move with stretch "off" as well
    _report_translation(skel, translating, free, dev, held | (stretch == "exact"), placing, report, off_rig)
    body = ~line & ~np.isin(skel.parents[1:], np.append(skel.root_line, 0))  # not placing the body
    report.extend(_loose_tracks(skel, free[1:] & body, _spread(dist, True)))
    return translating, free


def _stretch_noise_limit(spread: np.ndarray, bone_noise: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """[N] how far the averaged distance of a bone to its parent may spread over the clip for noise
    (``spread`` [N]: how far each does, its range; its averages' noise ``bone_noise`` [N]; ``valid``
    [N] bones with data that keep no length to rounding: a spread and a noise of rounding alone have no
    ratio to read, 221 stds on clean float64 tracks against 5 in float32):
    STRETCH_NOISE_STDS of that noise, or BODY_SPREADS times the spread the body's median bone
    shows against its own noise, where that is more. Noise spreads every bone about alike (on a
    0.5 % walk 3.4-4.3 stds, at most 6), while a joint that translates stands out; noise that a
    tracker's own filter carries over a few frames spreads the averages further than their noise
    read frame to frame tells (15-27 stds on that walk with 2-4 frame filters), and every bone of
    the body had been read as translating, following the noise."""
    limit = STRETCH_NOISE_STDS * bone_noise
    noisy = valid & (bone_noise > 0)
    if noisy.sum() < MIN_BODY_BONES:
        return limit
    ratio = spread[noisy] / bone_noise[noisy]
    return np.maximum(limit, BODY_SPREADS * float(np.median(ratio)) * bone_noise)


def _loose_tracks(skel: Skeleton, free: np.ndarray, reach: np.ndarray) -> list[str]:
    """A warning naming the ``free`` [J-1] joints (translating on their own, below the joints that
    place the body: a root or the root line may be anywhere) whose tracks go further from their
    parent's than the rig is tall (``reach`` [J-1], the largest distance over the clip): no bone of
    the rig reaches there, so the track has likely come loose from its joint (a hand's empty left
    behind), and the joint follows it all the same. The furthest first, each with its reach, eight
    named: a hand's empty left behind puts its five fingers' tracks further from it than itself from
    its parent, and four named left the hand out."""
    far = np.flatnonzero(free & (reach > skel.height))
    if not far.size:
        return []
    far = far[np.argsort(-reach[far], kind="stable")]  # the furthest named first
    check = "check that the track follows its joint, or keep the rig's bones (stretch='off')"
    if far.size == 1:
        return [f"{WARNING_PREFIX}'{skel.names[far[0] + 1]}' goes further from the parent than the rig is tall (up "
                f"to {100 * reach[far[0]] / skel.height:.3g} % of its height), following its track: {check}"]
    parts = [f"'{skel.names[i + 1]}' up to {100 * reach[i] / skel.height:.3g} %" for i in far]
    shown = describe_names([parts[0] + " of its height"] + parts[1:], 8, "joint")
    return [f"{WARNING_PREFIX}{far.size} joints go further from the parent than the rig is tall ({shown}), "
            f"following their tracks: {check}"]


def _held_offsets(skel: Skeleton, typical: np.ndarray, rest: np.ndarray, scale: float, valid: np.ndarray,
                  limit: np.ndarray, median_noise: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """([J-1] the placing offsets (_placing_offsets) of ``valid`` [J-1] bones that are off the rig
    scaled like the tracks in most frames by more than ``limit`` [J-1] and than the clip's other
    bones are (_mismatch_floor; for the root line beyond what ``median_noise`` [J-1], the noise of
    each bone's median, explains of them); [J-1] how far each placing offset is off; [J-1] those
    too far off for the parent to aim at or past them). A bone of no length keeps the floor with
    the noise in it: its typical length is read near 0, where the noise it adds cannot be taken
    off without bias, so its miss is no estimate of how far it is off."""
    off, far, unbent = _placing_offsets(skel, typical, rest, scale)
    floor = np.where(_on_root_line(skel), _mismatch_floor(typical, rest, scale, valid & ~unbent, median_noise),
                     _mismatch_floor(typical, rest, scale, valid & ~unbent))
    return valid & (off > np.maximum(limit, floor)), off, far


def _placing_root_line(skel: Skeleton, typical: np.ndarray, rest: np.ndarray, scale: float, valid: np.ndarray,
                       limit: np.ndarray, translating: np.ndarray, free: np.ndarray, report: list[str],
                       median_noise: np.ndarray) -> None:
    """With stretch "off" (rigid bones): the root line's offsets that are off the rig in most
    frames still translate (``translating`` and ``free`` [J], set in place; see _held_offsets): a
    root at the floor or the origin and a walk's start stored as the hips' offset place the body,
    they are no bones (kept rigid, the whole body stayed where the rig's rest pose puts it, a
    height or more off its tracks)."""
    held, _, far = _held_offsets(skel, typical, rest, scale, valid, limit, median_noise)
    held &= _on_root_line(skel)
    if not held.any():
        return
    translating[1:] = held
    free[1:] = held & far
    names = ", ".join(f"'{skel.names[j + 1]}'" for j in np.flatnonzero(held))
    moves = "moves with its track" if held.sum() == 1 else "move with their tracks"
    report.append(f"{names} {moves} with stretch='off' too: the root line places the body (a root at the floor or "
                  "the origin, a walk's start), it has no bones to keep rigid")


def _on_root_line(skel: Skeleton) -> np.ndarray:
    """[J-1] which offsets (of joints 1..J-1) are on the root line (Skeleton.root_line)."""
    return np.isin(np.arange(1, skel.num_joints), skel.root_line)


def _mismatch_floor(typical: np.ndarray, rest: np.ndarray, scale: float, bones: np.ndarray,
                    median_noise: np.ndarray | None = None) -> float:
    """How far an offset must be off the rig scaled like the tracks to stand out from how far the
    clip's other ``bones`` [J-1] are (``typical`` [J-1] against ``rest`` [J-1]): STRETCH_NOISE_STDS
    of their robust spread. Clean tracks of the rig give 0; a few noisy frames, whose noise cannot
    be measured over time, give what the noise does to every bone; another performer's proportions
    what they do. ``median_noise`` [J-1] (the noise of each bone's median): the spread beyond it,
    in quadrature (what proportions do, not the noise)."""
    if not bones.any():
        return 0.0
    spread = 1.4826 * np.median(np.abs(typical[bones] - scale * rest[bones]))
    if median_noise is not None:
        read = median_noise[bones][np.isfinite(median_noise[bones])]
        spread = np.sqrt(max(spread ** 2 - (float(np.median(read ** 2)) if read.size else 0.0), 0.0))
    return float(STRETCH_NOISE_STDS * spread)


def _placing_offsets(skel: Skeleton, typical: np.ndarray, rest: np.ndarray, scale: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """([J-1] how far the offsets that no turn can lengthen (bones of no length) or that place the
    body (the root line) are off the rig scaled like the tracks, in most frames (``typical``
    [J-1]; other bones 0); [J-1] those too far off for the parent to aim at or past them: the
    placed joint (Skeleton.placed_joint), and bones of no length off by more than
    FREE_TRANSLATION_FRACTION of the reach past them (their children's bones); [J-1] which
    offsets those are)."""
    J = skel.num_joints
    zero = ~skel.bone_has_length[1:]
    unbent = zero | _on_root_line(skel)
    off = np.where(unbent, np.abs(typical - scale * rest), 0.0)
    reach = np.zeros(J)  # [J] the bone length a parent aims with past each joint of no length
    for j in range(J - 1, 0, -1):
        p = skel.parents[j]
        reach[p] = max(reach[p], reach[j] if zero[j - 1] else rest[j - 1])
    far = (np.arange(1, J) == skel.placed_joint) | (zero & (off > FREE_TRANSLATION_FRACTION * reach[1:]))
    return off, far, unbent


def _steady(dist: np.ndarray, typical: np.ndarray, bone_noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(dist [T,N], noise [N]): distances ``dist`` whose noise ``bone_noise`` [T,N] varies over the
    frames put on one footing, each frame's departure from ``typical`` [N] scaled to the noise of
    the quietest frame (the average near a clip's end, of fewer samples, strays further by chance
    alone), and that noise (NaN: a frame without an average; 0: a column without any); as given
    where the noise is one per column [N]."""
    if np.ndim(bone_noise) < 2:
        return dist, bone_noise
    quietest = np.nan_to_num(np.fmin.reduce(bone_noise, axis=0), nan=0.0)
    share = np.where(bone_noise > 0, quietest / np.maximum(bone_noise, 1e-300), 1.0)
    return typical + (dist - typical) * share, quietest


def _spread(x: np.ndarray, largest: bool) -> np.ndarray:
    """[N] of x [T,N], over the frames with data (not NaN; 0 for a column without any): its
    largest value when ``largest``, else its range."""
    if not np.isnan(x).any():
        return x.max(axis=0) if largest else np.ptp(x, axis=0)
    top, low = np.fmax.reduce(x, axis=0), np.fmin.reduce(x, axis=0)
    return np.nan_to_num(top if largest else top - low, nan=0.0)


def _tracks_scale(typical: np.ndarray, rest: np.ndarray, valid: np.ndarray, height: float) -> float:
    """The tracks' size against the rig's: the median over bones of track length (``typical``
    [J-1]: each bone's median over the clip) / rest length."""
    usable = valid & (rest > STRETCH_FRACTION * height)
    if not usable.any():
        return 1.0
    return float(np.median(typical[usable] / rest[usable]))


def _report_translation(skel: Skeleton, translating: np.ndarray, free: np.ndarray, dev: np.ndarray,
                        off_rest: np.ndarray, placing: np.ndarray, report: list[str], off_rig: np.ndarray) -> None:
    """Notes on the translating joints: those free to move (named), then the others by how far
    they stretch (``dev`` [J-1]), said as differing from the rig where ``off_rest`` [J-1] marks
    joints judged against its offsets, else as changing over the clip, and then also by how far
    they are off the rig's bone in most frames (``off_rig`` [J-1]) where that is more (a track
    a constant way off its joint: its distance changes little, the joint moves far); rigid bones
    are offered unless all of them are root-line offsets that place the body (``placing`` [J-1]),
    which move with rigid bones too."""
    moving = [skel.names[j] for j in np.where(free)[0]]
    if moving:
        shown = ", ".join(f"'{n}'" for n in moving[:4]) + (f" and {len(moving) - 4} more" if len(moving) > 4 else "")
        report.append(f"{counted(len(moving), 'joint moves', 'joints move')} away from the parent ({shown}): "
                      "the translation is solved per frame")
    stretching = (translating & ~free)[1:]
    n_stretch = int(stretching.sum())
    if n_stretch:
        one = n_stretch == 1
        against_rig = off_rest[stretching].all()
        what = ("differs from the rig's bone length" if one else "differ from the rig's bone length") \
            if against_rig else ("changes its distance to the parent over the clip" if one else
                                 "change their distance to the parent over the clip")
        other = "other " if moving else ""
        hint = ("the root line places the body: it moves with stretch='off' too" if placing[stretching].all()
                else "stretch='off' keeps bones rigid")
        apart = off_rig[stretching].max()
        off = "" if against_rig or apart <= dev[stretching].max() else \
            f", {100 * apart / skel.height:.3g} % of height off the rig's bone length in most frames"
        report.append(f"{n_stretch} {other}{'joint' if one else 'joints'} {what} (up to "
                      f"{100 * dev[stretching].max() / skel.height:.3g} % of height{off}): "
                      f"offsets solved per frame so joint positions match ({hint})")


def end_sites(tracks: Tracks) -> list[tuple[int, int, np.ndarray]]:
    """[(end index, parent joint, rest offset)] for bone tips with data."""
    if not tracks.has_ends:
        return []
    ok = ~any_per_point(np.isnan(tracks.end_positions))
    return [(k, int(p), tracks.end_rest_offsets[k]) for k, p in enumerate(tracks.end_parents) if ok[k]]


def collect_targets(skel: Skeleton, zero_len: np.ndarray, free: np.ndarray, missing: np.ndarray,
                    ends: list[tuple[int, int, np.ndarray]]) -> list[list[Target]]:
    """Aim targets of every joint: children with length (through zero-length children) and tips."""
    children = skel.children
    offsets = skel.offsets
    ends_of: dict[int, list[tuple[int, np.ndarray]]] = {}
    for k, p, off in ends:
        ends_of.setdefault(p, []).append((k, off))

    def gather(j: int, chain: tuple[int, ...]) -> list[Target]:
        out: list[Target] = []
        for c in children[j]:
            if free[c] or missing[c]:
                continue
            if zero_len[c]:
                out.extend(gather(c, chain + (c,)))
            else:
                out.append(Target(c, False, chain, offsets[c]))
        for k, off in ends_of.get(j, []):
            if has_length(off, skel.height):
                out.append(Target(k, True, chain, off))
        return out

    return [[] if missing[j] else gather(j, ()) for j in range(skel.num_joints)]


def report_length_mismatch(skel: Skeleton, mismatch: np.ndarray, missing: np.ndarray, translating: np.ndarray,
                           report: list[str], bone_noise: np.ndarray | None = None, unlike: bool = False) -> None:
    """Note rigid bones whose typical track distance differs from the rest bone length
    (``mismatch`` [J-1]: the median over the clip less the rest length) by more than
    STRETCH_FRACTION of the height and three stds of the noise in it (``bone_noise`` [J-1], file
    units: noise lengthens a distance on average too); with ``unlike``, warn of those that are no
    proportions (see _unlike_any_performer)."""
    if skel.num_joints < 2:
        return
    par = skel.parents[1:]
    dev = np.abs(mismatch) / skel.height
    noise = np.zeros(len(dev)) if bone_noise is None else 3.0 * np.asarray(bone_noise) / skel.height
    off = (dev > np.maximum(STRETCH_FRACTION, noise)) & ~translating[1:] & ~missing[1:] & ~missing[par]
    if off.any():
        report.append(_length_mismatch_note(skel.names, off, dev))
    if unlike:
        report.extend(_unlike_any_performer(skel, mismatch, off))


def _length_mismatch_note(names: tuple[str, ...], off: np.ndarray, dev: np.ndarray) -> str:
    """The note naming every ``off`` [J-1] bone (by its joint, ``names`` [J]) with how far it is off
    its rest length (``dev`` [J-1], fraction of the height), the furthest first."""
    bones = np.flatnonzero(off)
    bones = bones[np.argsort(-dev[bones], kind="stable")]
    shown = describe_names([f"'{names[j + 1]}' by {100 * dev[j]:.3g} %{' of height' if k == 0 else ''}"
                            for k, j in enumerate(bones)], 4, "bone")
    if len(bones) == 1:
        return (f"1 bone differs from its rest length ({shown}): it keeps the rig's bone length, so that joint "
                "follows the rig, not its track (stretch 'exact' moves it onto the track)")
    return (f"{len(bones)} bones differ from their rest length ({shown}): they keep the rig's bone length, so "
            "those joints follow the rig, not their tracks (stretch 'exact' moves them onto the tracks)")


def _unlike_any_performer(skel: Skeleton, mismatch: np.ndarray, off: np.ndarray) -> list[str]:
    """A warning naming the ``off`` [J-1] bones of length whose tracks keep another length than the
    rig's (``mismatch`` [J-1], their median less the rest length) by more than a factor of
    UNLIKE_FACTOR against the tracks' overall size, the furthest first: a performer of other
    proportions lengthens a bone by a share, not several times over, so such a bone likely has
    tracks taken from other joints (two labels swapped), and its joints end far from them."""
    rest = np.linalg.norm(skel.offsets[1:], axis=-1)
    typical = rest + mismatch
    scale = _tracks_scale(typical, rest, np.ones(len(rest), bool), skel.height)
    ratio = typical / np.maximum(scale * rest, 1e-300)
    unlike = np.flatnonzero(off & (rest > STRETCH_FRACTION * skel.height)
                            & ((ratio > UNLIKE_FACTOR) | (ratio < 1.0 / UNLIKE_FACTOR)))
    if not unlike.size:
        return []
    factor = np.maximum(ratio[unlike], 1.0 / np.maximum(ratio[unlike], 1e-300))  # how many times off, either way
    unlike = unlike[np.argsort(-factor, kind="stable")]
    shown = describe_names([f"'{skel.names[skel.parents[j + 1]]}' to '{skel.names[j + 1]}' ({ratio[j]:.2g}x)"
                            for j in unlike], 4, "bone")
    return [f"{WARNING_PREFIX}the tracks keep {counted(unlike.size, 'bone')} at a length no performer's "
            f"proportions give (against the rig's, allowing for the tracks' size: {shown}): tracks taken from other "
            "joints or two labels swapped? Their joints follow the rig and end far from those tracks: check the "
            "tracks' joint names (stretch 'exact' moves the joints onto the tracks)"]


def unit_mean(v: np.ndarray) -> np.ndarray:
    """[T,3]: the length-weighted mean direction of vectors v [T,n,3] (their sum, normalised)."""
    return normalize(v[:, 0] if v.shape[1] == 1 else v.sum(1))


def line_means(src: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([T|1,3], [T,3]) the length-weighted mean directions of a joint's target offsets ``src``
    [T|1,n,3] (joint frame) and of the vectors ``obs`` [T,n,3] to their tracks, each target first
    turned to the side of the farthest one in the rig: targets on both sides of the joint along one
    line (shoulders seen from a neck half way between them) would sum to nothing and aim nowhere;
    targets on one side (share bones, twist joints) are summed as they are."""
    if src.shape[1] == 1:
        return unit_mean(src), unit_mean(obs)
    lengths = norm(src)
    farthest = np.take_along_axis(src, np.argmax(lengths, axis=1)[:, None, None], axis=1)  # [T|1,1,3]
    side = np.where((src * farthest).sum(-1, keepdims=True) < 0.0, -1.0, 1.0)  # [T|1,n,1]
    return normalize((side * src).sum(1)), normalize((side * obs).sum(1))


def _key(targets: list[Target]) -> tuple:
    """What tells a list of targets from another (a point reached through the same chain is the
    target of one joint only)."""
    return tuple((t.index, t.is_end, t.chain, t.chain_offsets is None) for t in targets)


def _down_chain(target: Target, turn) -> np.ndarray:
    """The offset of ``target`` carried up its chain to the aiming joint's frame: at each chain
    joint ``z``, turned by its reference local rotation (``turn(z, v)``) and, with chain offsets,
    shifted by the joint's own offset."""
    if target.chain_offsets is None:
        return reduce(lambda v, z: turn(z, v), reversed(target.chain), target.offset)
    steps = reversed(list(zip(target.chain, target.chain_offsets)))
    return reduce(lambda v, step: turn(step[0], v) + step[1], steps, target.offset)


def _small_product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` for two 3x3 matrices, summed in mat_mul's order (the same numbers)."""
    return A[:, 0, None] * B[0] + A[:, 1, None] * B[1] + A[:, 2, None] * B[2]


def tied_steps(num_frames: int, cuts: list[int] | None, reference_frame: int | None) -> np.ndarray | None:
    """[T-1] the steps, frame t to t + 1, that the roll is carried over (None: every one): not a
    cut's (``cuts``: smoothing.find_cuts, the frames a new piece starts at), where the body jumps to
    a pose the frames before do not lead to (two takes joined, a tracker's garbage frames) and the
    piece starts again from the reference pose; but a cut right after the ``reference_frame``
    keeps its step: that frame shows the reference pose itself (a bind pose before the motion),
    which the piece after it would start from anyway."""
    untied = [c - 1 for c in cuts or [] if 0 < c < num_frames and c - 1 != reference_frame]
    if not untied:
        return None
    tied = np.ones(num_frames - 1, bool)
    tied[untied] = False
    return tied

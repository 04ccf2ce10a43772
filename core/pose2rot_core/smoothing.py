"""Cleaning noisy point tracks before solving: confidence gating, outlier removal, smoothing.

Everything works on positions ``[T,J,3]`` (NaN = missing) in file units, vectorised over frames
and joints; lengths that decide anything are fractions of the skeleton height.

Noise is told from motion by the bones: real motion, however fast and at whatever frame rate,
keeps the distance between a joint and its parent (or changes it slowly, as translating hips or
breathing do), while noise makes it jitter from frame to frame. So:

- ``estimate_noise``: per-joint noise std (per axis) from the robust spread of the fourth
  difference over time of the lengths of the joint's bones; clean mocap gives zero, whatever its
  speed or frame rate.
- ``gate_low_confidence``: samples with confidence below ``MIN_CONFIDENCE`` become gaps.
- ``find_outliers``: spikes — samples whose bones jump off their usual length for a few frames
  and back — become gaps, for ``tracks_io.fill_gaps`` to fill. A fast real motion keeps
  its bone lengths and is never cut.
- ``smooth_positions``: zero-phase local quadratic regression with a Gaussian kernel over time,
  weighted by confidence (symmetric kernel: no lag; quadratic: peaks are kept), its width chosen
  per joint by Stein's unbiased risk estimate among the widths that move (nearly) no sample
  further than ``CLAMP_STDS`` noise stds (the noise it estimated explains no more), and narrowed
  frame by frame where a wider kernel's estimate parts from the narrower ones by more than noise
  does (Lepski's method): a brief fast turn keeps a narrow kernel, still stretches the wide one.

Smoothing modes (``smooth=``): ``"auto"`` (default) filters only joints whose estimated noise is
above ``AUTO_THRESHOLD`` of the height (clean mocap passes through unchanged); ``"off"``; or a
number S > 0: every joint is filtered with a Gaussian kernel of standard deviation S seconds (0
means off). Bone lengths are not forced: joints that really translate keep their translation, and
the solver keeps rigid bones rigid.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import Pose2RotError
from .kernels import CLAMP_STDS, choose_widths, local_quadratic, universal_threshold
from .rotations import matrix_to_quat, norm, quat_continuity, quat_to_matrix, smoothstep
from .running import running_median
from .stacks import all_per_point, any_axis, any_per_point, joint_batches, joint_planes, joint_rows
from .tracks import Tracks
from .wording import WARNING_PREFIX

#: samples with a lower confidence are treated as missing
MIN_CONFIDENCE = 0.1
#: noise std (fraction of the skeleton height) below which ``auto`` leaves a joint untouched,
#: unless it is more than SHORT_BONE_NOISE of a real bone at the point
AUTO_THRESHOLD = 1e-3
#: ``auto`` smooths a point whose noise std is more than this fraction of the length of a bone of
#: SHORT_BONE_FRACTION of the height or longer from or to it: such noise turns the bone by about
#: 2.4 degrees per axis in every frame, and over a long clip by 30 degrees in single frames, while
#: the body's long bones stay still (fingers, fingertips, eyes, toes)
SHORT_BONE_NOISE = 0.03
#: ... bones shorter than this (a face rig's jaw or teeth, a few millimetres on a person) are left
#: out: no tracker follows them, their turns do not show, and the rounding of a file written to a
#: third of a millimetre would read as noise on them
SHORT_BONE_FRACTION = 5e-3
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
#: a frame whose joints all lie within this fraction of the clip's typical extent holds no pose
COLLAPSED_FRACTION = 0.01
#: a point whose coordinates are within this fraction of the height of 0 sits at the origin
#: (trackers write a lost point as 0 or as a float's rounding of it, such as 1e-9); two points as
#: near each other sit at one place
AT_ORIGIN_FRACTION = 1e-5
#: a rig bone this fraction of the height long or longer is a real bone: its child never sits on its
#: parent's place
REAL_BONE_FRACTION = 1e-3
#: a held track: a run of samples that repeat the one before exactly ends in a step HELD_JUMP_RATIO
#: times the largest of the next HELD_AFTER (the motion missed while held)
HELD_AFTER = 3
HELD_JUMP_RATIO = 2.0
#: why the held samples of a noisy point are gaps, in their note (see _gaps_note)
HELD_NOTE = "repeating the one before exactly until a jump (a tracker holding a lost point)"
#: a frame where the whole body moves more than CUT_RATIO times as much as in the frames around it
#: (summed squares over the joints: 5 times as far), and at least CUT_FRACTION of the height per
#: joint, is a cut (a clip starting from a bind pose, two takes joined): no filter reaches across it
CUT_RATIO = 25.0
CUT_FRACTION = 0.05
#: bones shorter than this fraction of the height do not enter the noise estimate (their length is
#: dominated by the noise itself)
NOISE_BONE_FRACTION = 0.01
#: ... nor do bones shorter than this many noise stds (a first estimate from the longer bones)
NOISE_BONE_STDS = 8.0
#: a bone's length jitter counts as noise only while its fourth difference is at least this share of
#: white noise's ratio to the first difference (sqrt(35)); smoother changes are motion
WHITE_RATIO = 0.8
#: std of the fourth difference of white noise, in units of the noise std: sqrt(1+16+36+16+1)
_D4_GAIN = np.sqrt(70.0)
#: a noise std read (as _white_noise_std reads it) from n fourth differences of white noise is off
#: by a factor whose log has about this variance over n: 2.5-2.7 from a few hundred differences on,
#: measured on simulated noise (more than the 1.36 of the median of independent samples: the
#: fourth differences overlap)
MAD_LOG_VARIANCE = 2.6
#: a joint's noise reading this many stds (its sampling's and the joints' real spread) from the
#: clip's median starts to count as its own, and from the second fully, instead of being pulled
#: towards the median: on even noise 99.5-99.9 % of the readings from 10-60 frames stay within 2.5
#: stds (the largest seen: 4.0), while one joint five times noisier is 3-10 stds off from 30 frames on
OWN_STDS = (2.5, 4.0)


@dataclass
class Cleaning:
    """What the cleaning did: ``widths`` [J] kernel std in frames (0 = untouched; the widest: see
    choose_widths), ``noise`` [J]
    estimated noise std (per axis) as a fraction of the height, ``residual`` [J] the noise std
    left after smoothing (same unit; the root mean square over the frames) and ``residual_frames``
    [T,J] that left in each frame (None: as ``residual`` in every frame; a one-sided window at a
    clip's ends leaves more), report lines, the frames where the clip was cut (see find_cuts) so
    no filter reaches across them, ``end_widths`` / ``end_noise`` / ``end_residual`` [K] /
    ``end_residual_frames`` [T,K] for the bone tips (None without tips), ``narrowing`` /
    ``end_narrowing`` [T,J] / [T,K] how many times the noise variance left in each frame exceeds
    the joint's widest kernel's there (>= 1 where choose_widths narrowed it; None: nowhere), the tracks before
    smoothing (gaps filled) once known, and
    ``gaps`` [T,J] / ``end_gaps`` [T,K]: the joints' and bone tips' samples that were no data
    (missing, low confidence or spikes) and were filled (None: none); ``placed``: joints with no
    data in any frame placed between tracked ones (bone_fill.place_untracked_joints)."""

    widths: np.ndarray
    noise: np.ndarray
    residual: np.ndarray
    report: list[str] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)
    end_widths: np.ndarray | None = None
    end_noise: np.ndarray | None = None
    end_residual: np.ndarray | None = None
    residual_frames: np.ndarray | None = None
    end_residual_frames: np.ndarray | None = None
    narrowing: np.ndarray | None = None
    end_narrowing: np.ndarray | None = None
    unsmoothed: Tracks | None = None
    gaps: np.ndarray | None = None
    end_gaps: np.ndarray | None = None
    placed: list[int] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Whether any joint track was filtered."""
        return bool((self.widths > 0).any())

    def frames(self, start: int, stop: int) -> "Cleaning":
        """What the cleaning did to frames [start, stop) of the clip (as Tracks.frames): the same
        noise and kernels, the samples and cuts of those frames."""
        def part(gaps: np.ndarray | None) -> np.ndarray | None:
            return None if gaps is None or not gaps[start:stop].any() else gaps[start:stop]

        def rows(x: np.ndarray | None) -> np.ndarray | None:
            return None if x is None else x[start:stop]

        return replace(self, cuts=[c - start for c in self.cuts if start < c < stop], gaps=part(self.gaps),
                       end_gaps=part(self.end_gaps), residual_frames=rows(self.residual_frames),
                       end_residual_frames=rows(self.end_residual_frames), narrowing=rows(self.narrowing),
                       end_narrowing=rows(self.end_narrowing),
                       unsmoothed=None if self.unsmoothed is None else self.unsmoothed.frames(start, stop))


def parse_smooth(smooth: str | float | None) -> str | float:
    """``"auto"``, ``"off"`` or a width in seconds (float >= 0; 0 -> "off")."""
    if smooth is None:
        return "auto"
    if isinstance(smooth, str):
        text = smooth.strip().lower()
        if text in ("auto", "off"):
            return text
        try:
            smooth = float(text)
        except ValueError:
            raise Pose2RotError(f"smooth must be 'auto', 'off' or a width in seconds (e.g. 0.03), got '{smooth}'") from None
    value = float(smooth)
    if not np.isfinite(value) or value < 0:
        raise Pose2RotError(f"smooth width must be a number of seconds >= 0, got {smooth}")
    return "off" if value == 0 else value


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


def _coinciding_warning(found: dict[tuple[int, int], np.ndarray], names: tuple[str, ...], first_frame: int
                        ) -> list[str]:
    """The warning naming the joints of ``found`` (see coinciding_samples) and their frames."""
    from .tracks_io import describe_spans, frame_spans

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
                    report: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(positions [T,N,3] with what is no data set to NaN, lost [T]): samples of ``confidence``
    [T,N] below MIN_CONFIDENCE, and the frames where the detector lost the person (see
    lost_frames); a note for each in ``report`` (frames from ``first_frame``). ``positions`` itself
    when none is."""
    from .tracks_io import describe_spans, frame_spans

    P, low = gate_low_confidence(positions, confidence)
    if low:
        report.append(f"{low} samples with confidence below {MIN_CONFIDENCE:g} treated as gaps")
    lost = lost_frames(P)
    if lost.any():
        P = P.copy() if P is positions else P
        P[lost] = np.nan
        report.append(f"{describe_spans(frame_spans(lost), first_frame=first_frame)}: every joint at one point "
                      "(a lost detection, not a pose), treated as gaps")
    return P, lost


def estimate_noise(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                   valid: np.ndarray | None = None) -> np.ndarray:
    """[J] noise std per axis (file units) of positions [T,J,3] (NaN = missing), from the bones to
    the parents (-1: none): the robust std of the fourth difference over time of a bone's length is
    sqrt(s_child^2 + s_parent^2) for noise s per axis at either end; each joint takes the median
    over its bones of that std / sqrt(2), pulled towards the clip's typical level as far as few
    frames leave it uncertain (_pooled_where_few). A bone whose rest length (``rest_lengths`` [J], to the
    parent) is shorter than NOISE_BONE_FRACTION of the height or NOISE_BONE_STDS noise stds (than
    every bone read that way) has a length that jitters less than its noise: its std is read from
    the fourth difference of the bone's vector instead (motion moves a short bone's end little),
    where its length is not rigid and the vector's change is white (see _bone_vector_noise).
    Frames where ``valid`` [T,J] is False do not count; clips shorter than 5 frames tell nothing
    (joints without a usable bone take the median of the others)."""
    T, J = positions.shape[:2]
    raw, samples = _bone_length_noise(positions, parents, valid)  # [J]: bone to the parent
    rest = np.asarray(rest_lengths, np.float64)
    long = _noise_bones(raw, rest, height)
    short = np.flatnonzero(~long & (np.asarray(parents) >= 0) & (rest < rest[long].min(initial=np.inf)))
    bone_noise = np.where(long, raw, np.nan)
    if long.any() and len(short):
        bone_noise[short], samples[short] = _bone_vector_noise(positions, short, np.asarray(parents)[short], valid)
    if not np.isfinite(bone_noise).any():
        return np.zeros(J)
    counted = np.where(np.isfinite(bone_noise), samples, 0.0)  # differences behind each bone's reading
    row, child, parent = _bone_rows(np.asarray(parents))
    per_joint = np.full((1 + row.max(initial=0), J), np.nan)  # [bones, J]: to the parent, children's
    read_from = np.zeros_like(per_joint)
    per_joint[0], read_from[0] = bone_noise, counted
    per_joint[row, parent], read_from[row, parent] = bone_noise[child], counted[child]
    out = _pooled_where_few(column_nanmedian(per_joint) / np.sqrt(2.0), read_from.sum(axis=0))
    out = np.where(np.isnan(out), column_nanmedian(bone_noise[:, None])[0] / np.sqrt(2.0), out)
    present = ~all_per_point(np.isnan(positions))
    return np.where(present, out, 0.0)


def _bone_rows(parents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row [B], child [B], parent [B]) of the B bones of ``parents`` [J] (-1: none): each child's
    place among its parent's children in ascending order, counted from 1 (row 0 is the parent's own
    bone)."""
    child = np.flatnonzero(parents >= 0)
    parent = parents[child]
    order = np.argsort(parent, kind="stable")  # siblings stay ascending
    first = np.searchsorted(parent[order], parent[order])  # where each one's sibling group starts
    row = np.empty(len(child), np.int64)
    row[order] = np.arange(len(child)) - first + 1
    return row, child, parent


def _pooled_where_few(noise: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """[J] per-joint noise ``noise`` [J] (NaN: not read), each read from ``samples`` [J] fourth
    differences, pulled towards the clip's typical level as far as its few samples leave it
    uncertain (empirical Bayes on the log scale): a noise read from n differences is off by a
    factor whose log has variance MAD_LOG_VARIANCE / n, and the joints' readings spread by that
    plus what really differs between them (read robustly: the MAD of the readings, less the typical
    sampling variance); each keeps the share of its difference from their median that the real
    differences explain. A reading further from the median than sampling and that spread explain
    (OWN_STDS) is its own: one joint five times noisier than the body, over 30-60 frames. Long clips
    keep their joints' own levels (a hand twice as noisy as the body), while a few frames, which
    read one joint of a body with even noise 3.7 times too noisy, read them all near their median.
    Zero readings (clean tracks) stay."""
    read = np.isfinite(noise) & (noise > 0) & (samples > 0)
    if read.sum() < 3:
        return noise
    x, sampling = np.log(noise[read]), MAD_LOG_VARIANCE / samples[read]
    middle = float(np.median(x))
    real = max(0.0, float((1.4826 * np.median(np.abs(x - middle))) ** 2 - np.median(sampling)))
    z = np.abs(x - middle) / np.sqrt(sampling + real)
    own = smoothstep((z - OWN_STDS[0]) / (OWN_STDS[1] - OWN_STDS[0]))
    out = noise.copy()
    out[read] = np.exp(x - (1.0 - own) * sampling / (real + sampling) * (x - middle))
    return out


def _noise_bones(raw: np.ndarray, rest: np.ndarray, height: float) -> np.ndarray:
    """[J] the bones to read the noise from: at least NOISE_BONE_FRACTION of the height and
    NOISE_BONE_STDS noise stds long (the length of a bone only a few noise stds long jitters less
    than the noise) — or, where no bone is that long, the longest quarter of the bones."""
    seen = np.isfinite(raw) & (rest > 0)
    if not seen.any():
        return seen
    long = seen & (rest >= NOISE_BONE_FRACTION * height)
    if not long.any():
        long = seen & (rest >= np.percentile(rest[seen], 75))
    longer = long & (rest >= NOISE_BONE_STDS * np.median(raw[long]) / np.sqrt(2.0))
    return longer if longer.any() else long & (rest >= np.percentile(rest[long], 75))


def _bone_length_noise(positions: np.ndarray, parents: np.ndarray, valid: np.ndarray | None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """([J] robust std, divided by that of white noise, of the fourth difference of each joint's
    distance to its parent (NaN where there is no parent, too few data, or the distance changes
    more smoothly than noise does: motion; where it keeps one length to rounding, as clean
    tracks do, the rounding's std however smoothly it changes: neither end carries noise), [J]
    how many differences it was read from)."""
    T, J = positions.shape[:2]
    out, samples = np.full(J, np.nan), np.zeros(J)
    bones = np.flatnonzero(np.asarray(parents) >= 0)
    if T < 5 or not bones.size:
        return out, samples
    par = np.asarray(parents)[bones]
    length = bone_lengths(positions, bones, par)  # [T,B]
    ok = ~np.isnan(length)
    if valid is not None:
        ok &= valid[:, bones] & valid[:, par]
    rigid = _rigid(length, ok)
    out[bones], samples[bones] = _white_noise_std(length[..., None], ok, rigid)
    return out, samples


def _rigid(length: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """[B] whether each column of ``length`` [T,B] keeps one value over its frames ``ok`` [T,B] to
    a billionth of it (rounding); False where it has no data."""
    longest = np.where(ok, length, -np.inf).max(axis=0)
    shortest = np.where(ok, length, np.inf).min(axis=0)
    return ok.any(axis=0) & (longest - shortest <= 1e-9 * longest)


def _white_noise_std(x: np.ndarray, ok: np.ndarray, rigid: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """([B] robust std, divided by that of white noise, of the fourth difference over time of each
    of B series x [T,B,k] (its k components pooled), over the frames ``ok`` [T,B]; NaN where there
    are fewer than 5 such differences, or where the series changes more smoothly than noise does
    (but for the ``rigid`` [B] series, which keep one value and change by rounding only, see
    _rigid): white noise has a fourth difference sqrt(35) times its first, while a length or
    vector that changes with the motion (a translating joint, seen at a low frame rate) has a
    smaller ratio; [B] how many differences (times k) each was read from)."""
    d4 = x[4:] - 4 * x[3:-1] + 6 * x[2:-2] - 4 * x[1:-3] + x[:-4]
    ok4 = ok[4:] & ok[3:-1] & ok[2:-2] & ok[1:-3] & ok[:-4]
    ok1 = ok[1:] & ok[:-1]
    mad = _pooled_nanmedian(np.where(ok4[..., None], np.abs(d4), np.nan))
    mad1 = _pooled_nanmedian(np.where(ok1[..., None], np.abs(x[1:] - x[:-1]), np.nan))
    usable = (ok4.sum(axis=0) >= 5) & ((mad >= WHITE_RATIO * np.sqrt(35.0) * mad1) | (
        False if rigid is None else rigid))
    return np.where(usable, 1.4826 * mad / _D4_GAIN, np.nan), ok4.sum(axis=0) * float(x.shape[-1])


def _pooled_nanmedian(x: np.ndarray) -> np.ndarray:
    """[B] column_nanmedian of x [T,B,k] over its frames and components together."""
    return column_nanmedian(x.transpose(0, 2, 1).reshape(-1, x.shape[1]))


def _bone_vector_noise(positions: np.ndarray, joints: np.ndarray, parents: np.ndarray,
                       valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """([B], and how many differences it was read from) robust std, divided by that of white noise, of the fourth difference of the vectors
    from ``parents`` [B] to ``joints`` [B] (each axis): the noise of both ends for a bone short
    enough that its turns move its end less than the noise does. NaN where there are too few data,
    the vector changes more smoothly than noise does (motion: the same whiteness test as for
    lengths), or its length is rigid (clean tracks: noise always moves a bone's length, if less
    than its noise)."""
    v = positions[:, joints] - positions[:, parents]  # [T,B,3]
    ok = ~any_axis(np.isnan(v))
    if valid is not None:
        ok &= valid[:, joints] & valid[:, parents]
    rigid = _rigid(norm(v), ok) | ~ok.any(axis=0)  # no data: rigid too
    std, samples = _white_noise_std(v, ok)
    return np.where(rigid, np.nan, std), samples


def bone_lengths(positions: np.ndarray, joints: np.ndarray, parents: np.ndarray,
                 no_data: np.ndarray | None = None) -> np.ndarray:
    """[T,B] distances of ``joints`` [B] from their ``parents`` [B] in positions [T,J,3] (NaN where
    either is missing, or is a sample ``no_data`` [T,J] marks: a gap filled by interpolation),
    stored bone by bone (each bone's frames together, as medians over the clip like them)."""
    x = np.ascontiguousarray(joint_planes(np.asarray(positions, np.float64)))  # [J,3,T]
    joints, parents = np.asarray(joints, np.int64), np.asarray(parents, np.int64)
    out = np.empty((len(joints), x.shape[-1]))
    for bones in joint_batches(np.arange(len(joints)), x.shape[-1]):
        d = joint_rows(x, joints[bones]) - joint_rows(x, parents[bones])  # [n,3,T]
        out[bones] = norm(np.moveaxis(d, 1, -1))
    if no_data is not None:
        out[(no_data[:, joints] | no_data[:, parents]).T] = np.nan
    return out.T


def column_nanmedian(x: np.ndarray) -> np.ndarray:
    """[N] median of each column of x [T,N] over its non-NaN values (NaN for a column without any):
    np.nanmedian(x, axis=0), by one (partial) sort of all columns at once."""
    if x.shape[0] == 0:
        return np.full(x.shape[1:], np.nan)
    nan = np.isnan(x)
    if not nan.any():
        return _column_median(x)
    n = x.shape[0] - nan.sum(axis=0)
    ordered = np.sort(x, axis=0)  # NaN sort last
    cols = np.arange(x.shape[1])
    low, high = ordered[np.maximum(n - 1, 0) // 2, cols], ordered[np.maximum(n // 2, 0), cols]
    return np.where(n > 0, (low + high) / 2, np.nan)


def _column_median(x: np.ndarray) -> np.ndarray:
    """[N] median of each column of x [T,N] (T > 0, no NaN): one partial sort at the upper middle
    place, whose lower part holds the lower middle value as its largest (a partial sort at both
    places at once takes several times longer)."""
    T = x.shape[0]
    half = T // 2
    ordered = np.partition(x, half, axis=0)
    high = ordered[half]
    low = high if T % 2 else ordered[:half].max(axis=0)
    return (low + high) / 2


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


def clean_positions(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float, fps: float,
                    smooth: str | float = "auto", confidence: np.ndarray | None = None,
                    filled: np.ndarray | None = None, names: tuple[str, ...] | None = None,
                    noise: np.ndarray | None = None, keyed: np.ndarray | None = None) -> tuple[np.ndarray, Cleaning]:
    """Smooth gap-free positions [T,J,3] (joints entirely NaN stay NaN) as ``smooth`` says.

    parents [J] (-1: none) and rest_lengths [J] give the bones the noise is read from; confidence [T,J] weights the
    samples; ``filled`` [T,J] marks samples that were gaps (weight 0, and ignored by the noise
    estimate). noise: [J] estimate_noise of these positions when the caller has measured it already
    (only where no sample was filled or has a confidence); else it is read on the ``keyed`` [T]
    frames when the positions were keyed every few frames (see noise_on_keys). Returns (positions,
    Cleaning).
    """
    mode = parse_smooth(smooth)
    T, J = positions.shape[:2]
    present = ~any_per_point(np.isnan(positions))
    weights = np.ones((T, J)) if confidence is None else np.clip(confidence, 0.0, 1.0).copy()
    if filled is not None:
        weights[filled] = 0.0
    if noise is None:
        noise = noise_on_keys(positions, parents, rest_lengths, height, keyed, weights > 0)
    result = Cleaning(widths=np.zeros(J), noise=noise / height, residual=noise / height)
    if mode == "off":
        return positions, result
    noisy = present & _noticeable(noise, parents, rest_lengths, height) if mode == "auto" else present
    if not noisy.any():
        return positions, result
    P = np.nan_to_num(positions)
    result.cuts = find_cuts(P, height)
    with np.errstate(all="ignore"):  # joints without data give empty windows; they stay NaN below
        out, widths, hat, narrowing = _smooth_pieces(P, weights, noise, noisy, mode, fps, parents, result.cuts)
    out[:, ~present] = np.nan
    result.widths = widths
    result.residual_frames = np.where(widths > 0, noise * np.sqrt(hat), noise) / height  # [T,J]
    result.residual = np.where(widths > 0, noise * np.sqrt(hat.mean(axis=0)), noise) / height
    result.narrowing = narrowing if (narrowing > 1.0).any() else None
    n = int((widths > 0).sum())
    if n:
        label = "" if names is None else " (noisiest: '" + names[int(np.argmax(result.noise))] + "')"
        result.report.append(
            f"smoothed {n} of {J} tracks: noise {100 * np.median(result.noise[widths > 0]):.2g} % of height "
            f"(median), kernel {1000 * np.median(widths[widths > 0]) / fps:.0f} ms{label}")
    return out, result


def _noticeable(noise: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float) -> np.ndarray:
    """[N] points whose ``noise`` [N] (std per axis, file units) is above AUTO_THRESHOLD of the
    height or SHORT_BONE_NOISE of the shortest bone of SHORT_BONE_FRACTION of the height or longer
    (``rest_lengths`` [N] to the ``parents`` [N]) from or to the point."""
    lengths = np.asarray(rest_lengths, np.float64)
    real = (parents >= 0) & (lengths >= SHORT_BONE_FRACTION * height)
    shortest = np.where(real, lengths, np.inf)
    np.minimum.at(shortest, parents[real], lengths[real])
    return (noise > AUTO_THRESHOLD * height) | (noise > SHORT_BONE_NOISE * shortest)


def _smooth_pieces(P: np.ndarray, weights: np.ndarray, noise: np.ndarray, chosen: np.ndarray, mode: str | float,
                   fps: float, parents: np.ndarray, cuts: list[int]
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(smoothed positions [T,J,3], widths [J] in frames, hat diagonal [T,J], narrowing [T,J]: see
    Cleaning) of the pieces of the clip between its cuts, for the ``chosen`` [J] joints: widths
    chosen per joint (narrower in frames where the motion needs it) and held back where they move a
    sample further than its noise (``noise`` [J]) reaches but by rare chance among the joint's
    samples in the piece (the universal threshold of their number, at least CLAMP_STDS: the
    correction of a sample is its noise, and of 3,000 samples some 30 lie beyond CLAMP_STDS,
    each holding back the kernel's width around it) (``mode`` "auto"), or one width of ``mode``
    seconds."""
    T, J = P.shape[:2]
    out, widths, hat, narrowing = P.copy(), np.zeros(J), np.ones((T, J)), np.ones((T, J))
    for seg in segments(T, cuts):
        if seg.stop - seg.start < 5:
            continue
        if mode == "auto":
            w, out[seg], hat[seg], widest = choose_widths(P[seg], weights[seg], np.where(chosen, noise, 0.0), fps,
                                                          parents)
            narrowing[seg] = np.maximum(hat[seg] / np.maximum(widest, 1e-12), 1.0)
            reach = max(universal_threshold(seg.stop - seg.start), CLAMP_STDS)
            held = hold_back(np.linalg.norm(out[seg] - P[seg], axis=-1), reach * noise, w)
            out[seg] = P[seg] + held[..., None] * (out[seg] - P[seg])
        else:
            w = np.where(chosen, min(float(mode) * fps, float(T)), 0.0)  # wider than the clip: as wide
            out[seg], hat[seg] = local_quadratic(P[seg], weights[seg], w)
        widths = np.maximum(widths, w)
    return out, widths, hat, narrowing


def find_cuts(positions: np.ndarray, height: float) -> list[int]:
    """Frames [t] where a new piece of the clip starts: the motion from t-1 to t, summed over the
    joints of positions [T,J,3], is over CUT_RATIO times the median of the steps around it (three
    on either side) and CUT_FRACTION of the height per joint: the body jumps in one frame, where
    real motion, however fast, builds up over several."""
    T, J = positions.shape[:2]
    if T < 3:
        return []
    energy = (np.nan_to_num(positions[1:] - positions[:-1]) ** 2).sum(axis=(1, 2))  # [T-1]
    n, h = len(energy), 3
    pad = np.concatenate([np.full(h, np.nan), energy, np.full(h, np.nan)])
    around = np.lib.stride_tricks.sliding_window_view(pad, 2 * h + 1)
    around = np.concatenate([around[:, :h], around[:, h + 1:]], axis=1)  # the step itself left out
    typical = column_nanmedian(around.T) if n > 1 else energy
    big = (energy > CUT_RATIO * np.nan_to_num(typical)) & (energy > J * (CUT_FRACTION * height) ** 2)
    return [int(t) + 1 for t in np.flatnonzero(big)]


def segments(T: int, cuts: list[int]) -> list[slice]:
    """The pieces [start, stop) of a T-frame clip between its cuts."""
    bounds = [0, *cuts, T]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def hold_back(moved: np.ndarray, limit: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """[T,J] share (0..1) of a smoothing correction to keep, given how far it moves each sample
    (``moved`` [T,J]) against how far noise can explain (``limit`` [J]): 1 where the correction
    stays within the limit; around a sample where it does not (a jump the filter smears, such as
    a clip starting from a bind pose), the share shrinks as needed and recovers smoothly over the
    joint's kernel width (``widths`` [J], frames), so the result gains no jumps of its own."""
    need = np.minimum(1.0, limit[None] / np.maximum(moved, 1e-300))
    if (need >= 1.0).all():
        return need
    out = need.copy()
    dips = np.flatnonzero((need < 1.0).any(axis=0))
    for width in np.unique(widths[dips]):  # the joints of one width together
        cols = dips[widths[dips] == width]
        r = max(1, int(np.ceil(2.0 * width)))
        pad = np.pad(need[:, cols], ((r, r), (0, 0)), mode="edge")
        low = np.lib.stride_tricks.sliding_window_view(pad, 2 * r + 1, axis=0).min(axis=-1)  # hold the dip ...
        out[:, cols] = np.minimum(need[:, cols], gaussian_smooth(low, max(width, 1.0)))  # ... and ease it
    return out


def _with_ends(tracks: Tracks, positions: np.ndarray, ends: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joints and bone tips as one point set: (positions [T,J+K,3], parents [J+K], rest lengths
    of the bones to the parents [J+K])."""
    skel = tracks.skeleton
    parents = np.asarray(skel.parents)
    lengths = np.linalg.norm(skel.offsets, axis=-1) * (parents >= 0)
    if not tracks.has_ends or ends is None:
        return positions, parents, lengths
    return (np.concatenate([positions, ends], 1), np.concatenate([parents, tracks.end_parents]),
            np.concatenate([lengths, np.linalg.norm(tracks.end_rest_offsets, axis=-1)]))


def mark_gaps(tracks: Tracks, smooth: str | float = "auto") -> tuple[Tracks, list[str], np.ndarray]:
    """Tracks with low-confidence samples and outlier spikes of joints and bone tips set to NaN,
    for gap filling, what a tracker swapped between left and right put back (swaps.swap_back,
    unless ``smooth`` is "off": never meant, so also in clean clips) and the frames where the whole
    body jumps away and back made gaps (body_jumps_as_gaps; in clean clips a warning); report lines
    say how many; the noise [J+K] of the joints and bone tips (see estimate_noise) measured before
    the spikes became gaps. Outliers are looked for with a numeric ``smooth``, and with "auto" when
    some joint's noise is above AUTO_THRESHOLD (never on clean clips)."""
    mode = parse_smooth(smooth)
    report: list[str] = []
    P, lost = no_data_as_gaps(tracks.positions, tracks.confidence, tracks.first_frame, report)
    height = tracks.skeleton.height
    J = tracks.skeleton.num_joints
    points, parents, lengths = _with_ends(tracks, P, tracks.end_positions)
    if lost.any() and tracks.has_ends:
        points[lost] = np.nan                         # a fresh array: the bone tips go with their joints
        P = points[:, :J]
    names = _point_names(tracks)
    marked = _placeholders_as_gaps(points, parents, lengths, height, names, report)
    if marked is not points:
        points, P = marked, marked[:, :J]
    report += _coinciding_warning(coinciding_samples(P, tracks.skeleton.rest_positions, height),
                                  tracks.skeleton.names, tracks.first_frame)
    confidence = tracks.confidence
    if mode != "off":  # before the noise is read: a swap is no noise
        put_back, confidence = _sides_put_back(tracks, points, confidence, report)
        if put_back is not points:
            points, P = put_back, put_back[:, :J]
    noise = noise_on_keys(points, parents, lengths, height, _keyed_frames(tracks))
    unheld = _held_as_gaps(points, noise, height, names, tracks.first_frame, report)
    if unheld is not points:
        points, P = unheld, unheld[:, :J]
    clean = mode == "auto" and (noise <= AUTO_THRESHOLD * height).all()
    from .jumps import body_jumps_as_gaps, joint_jumps_as_gaps

    if mode != "off":
        unjumped = body_jumps_as_gaps(points, height, tracks.first_frame, not clean, report)
        if unjumped is not points:
            points, P = unjumped, unjumped[:, :J]
    if clean:
        mode = "off"  # clean clips keep even their rare glitches: auto must not change them
        joint_jumps_as_gaps(points, parents, names, height, tracks.fps, tracks.first_frame, False, report)
    if mode != "off":
        spikes = find_outliers(points, parents, noise, height)
        if spikes.any():
            points = points.copy()
            points[spikes] = np.nan
            report.append(f"removed {int(spikes.sum())} outlier samples (jumps off the bone lengths and "
                          "back) as gaps")
            P = points[:, :J]
        unjumped = joint_jumps_as_gaps(points, parents, names, height, tracks.fps, tracks.first_frame, True,
                                       report)  # what bone lengths do not show
        if unjumped is not points:
            points, P = unjumped, unjumped[:, :J]
    ends = points[:, J:] if tracks.has_ends else tracks.end_positions
    if P is tracks.positions and (ends is tracks.end_positions or not tracks.has_ends):
        return tracks, report, noise
    return replace(tracks, positions=P, end_positions=ends, confidence=confidence), report, noise


def _sides_put_back(tracks: Tracks, points: np.ndarray, confidence: np.ndarray | None, report: list[str]
                    ) -> tuple[np.ndarray, np.ndarray | None]:
    """(points [T,J+K,3], confidence [T,J] or None) with what a tracker swapped between left and right
    put back (swaps.swap_back; the joints' confidence goes with them), ``points`` itself where
    nothing is."""
    from .swaps import swap_back

    J = tracks.skeleton.num_joints
    with_tips = confidence
    if confidence is not None and tracks.has_ends:  # bone tips have no confidence of their own
        with_tips = np.concatenate([confidence, np.ones(tracks.end_positions.shape[:2])], axis=1)
    put_back, with_tips = swap_back(points, with_tips, _point_names(tracks), tracks.skeleton.height,
                                    tracks.first_frame, report)
    if put_back is points:
        return points, confidence
    return put_back, None if with_tips is None else with_tips[:, :J]


def noise_on_keys(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                  keyed: np.ndarray | None, valid: np.ndarray | None = None) -> np.ndarray:
    """estimate_noise of ``positions`` [T,N,3] (the rest as there) read on the ``keyed`` [T] frames
    (every point a key) when some frames are not keys and at least 5 are: between keys the points
    follow the animation's smooth curves, whatever noise the keys hold, so read over every frame
    that noise passes for motion (bones that seem to stretch)."""
    if keyed is None or keyed.all() or keyed.sum() < 5:
        return estimate_noise(positions, parents, rest_lengths, height, valid)
    rows = np.flatnonzero(keyed)
    return estimate_noise(positions[rows], parents, rest_lengths, height, None if valid is None else valid[rows])


def _keyed_frames(tracks: Tracks) -> np.ndarray | None:
    """[T] the frames where every joint of ``tracks`` is a key (Tracks.keyed), or None."""
    return None if tracks.keyed is None else tracks.keyed.all(axis=1)


def _point_names(tracks: Tracks) -> tuple[str, ...]:
    """Names of the joints and bone tips, in _with_ends' order."""
    return tracks.skeleton.names + (tuple(tracks.end_names) if tracks.has_ends else ())


def _placeholders_as_gaps(points: np.ndarray, parents: np.ndarray, lengths: np.ndarray, height: float,
                          names: tuple[str, ...], report: list[str]) -> np.ndarray:
    """Points [T,N,3] with the samples a tracker writes for "not found" set to NaN, a note for
    each kind in ``report``: at the origin (see dropped_to_origin), on the parent's place (see
    on_parent_track). ``points`` itself when there are none."""
    dropped = dropped_to_origin(points, parents, lengths, height)
    on_parent = on_parent_track(points, parents, lengths, height) & ~dropped
    on_parent[:, _nodes_of_the_motion(on_parent, points, parents, height)] = False
    if dropped.any():
        n = int(dropped.sum())
        report.append(f"{n} {'sample' if n == 1 else 'samples'} at (0, 0, 0), off their bone lengths "
                      "(a tracker's 'not found'), treated as gaps")
    if on_parent.any():
        report.append(_gaps_note(on_parent, names, "on the parent's place, where the rig has a bone (a joint the "
                                                   "tracker does not follow)"))
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


def _gaps_note(gaps: np.ndarray, names: tuple[str, ...], why: str) -> str:
    """'12 samples of 'a' and 'b' {why}, treated as gaps' for the samples ``gaps`` [T,N] of points
    named ``names`` [N]."""
    from .tracks_io import describe_names

    n, joints = int(gaps.sum()), [f"'{names[k]}'" for k in np.flatnonzero(gaps.any(axis=0))]
    return f"{n} {'sample' if n == 1 else 'samples'} of {describe_names(joints, noun='joint')} {why}, treated as gaps"


def _held_as_gaps(points: np.ndarray, noise: np.ndarray, height: float, names: tuple[str, ...], first_frame: int,
                  report: list[str]) -> np.ndarray:
    """Points [T,N,3] with held samples (see held_samples) of noisy points (``noise`` [N] above
    AUTO_THRESHOLD of the height) set to NaN, with a note; held samples of clean points are kept
    and named in a warning: noisy tracks come from a tracker and never repeat exactly but where it
    held a lost point, while in clean keyed motion a hold that ends in a jump can be meant (a snap,
    a cut between shots). ``points`` itself when nothing is set."""
    from .tracks_io import describe_spans, frame_spans

    held = held_samples(points, height)
    noisy = held & (noise > AUTO_THRESHOLD * height)[None]
    clean = held & ~noisy
    if clean.any():
        parts = [f"'{names[k]}' ({describe_spans(frame_spans(clean[:, k]), first_frame=first_frame)})"
                 for k in np.flatnonzero(clean.any(axis=0))]
        report.append(f"{WARNING_PREFIX}samples repeating the one before exactly until a jump: {', '.join(parts[:4])}"
                      f"{f' and {len(parts) - 4} more' if len(parts) > 4 else ''} (a tracker holding a lost point, "
                      "or a snap or cut in keyed motion): followed as they are; noisy tracks would make them gaps")
    if not noisy.any():
        return points
    report.append(_gaps_note(noisy, names, HELD_NOTE))
    out = points.copy()
    out[noisy] = np.nan
    return out


def smooth_tracks(tracks: Tracks, gaps: np.ndarray, end_gaps: np.ndarray | None, smooth: str | float = "auto",
                  noise: np.ndarray | None = None) -> tuple[Tracks, Cleaning]:
    """Smooth gap-filled tracks (``gaps`` [T,J] / ``end_gaps`` [T,K]: samples that were filled).
    Joints and bone tips are cleaned together (tips are read through their bones too); the
    Cleaning covers the joints. noise: [J+K] their noise when already measured (clean_positions)."""
    skel = tracks.skeleton
    J = skel.num_joints
    points, parents, lengths = _with_ends(tracks, tracks.positions, tracks.end_positions)
    filled = gaps if not tracks.has_ends else np.concatenate([gaps, end_gaps], 1)
    confidence = tracks.confidence
    if confidence is not None and tracks.has_ends:
        confidence = np.concatenate([confidence, np.ones(end_gaps.shape)], 1)
    names = _point_names(tracks)
    out, cleaning = clean_positions(points, parents, lengths, skel.height, tracks.fps, smooth, confidence, filled,
                                    names, noise, _keyed_frames(tracks))
    frames = cleaning.residual_frames
    narrowing = cleaning.narrowing
    joints = Cleaning(cleaning.widths[:J], cleaning.noise[:J], cleaning.residual[:J], cleaning.report, cleaning.cuts,
                      residual_frames=None if frames is None else frames[:, :J],
                      narrowing=None if narrowing is None else narrowing[:, :J])
    if tracks.has_ends:
        joints.end_widths, joints.end_noise, joints.end_residual = (cleaning.widths[J:], cleaning.noise[J:],
                                                                    cleaning.residual[J:])
        joints.end_residual_frames = None if frames is None else frames[:, J:]
        joints.end_narrowing = None if narrowing is None else narrowing[:, J:]
    if not cleaning.active:
        return tracks, joints
    ends = out[:, J:] if tracks.has_ends else tracks.end_positions
    return replace(tracks, positions=out[:, :J], end_positions=ends), joints


def smooth_rotations(rotations: np.ndarray, widths: np.ndarray | float) -> np.ndarray:
    """Zero-phase smoothing of local rotations [T,J,3,3] over time: sign-continuous quaternions are
    fitted by a local quadratic (peaks are kept, see local_quadratic) with kernel std ``widths``
    (frames; one value or [J], 0 = untouched), renormalised."""
    T, J = rotations.shape[:2]
    widths = np.broadcast_to(np.asarray(widths, np.float64), (J,))
    if T < 3 or not (widths > 0).any():
        return rotations
    q = quat_continuity(matrix_to_quat(rotations), axis=0)  # [T,J,4]
    return quat_to_matrix(local_quadratic(q, np.ones((T, J)), widths)[0])


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing of x [T,...] along time (std ``sigma`` frames; ends extended by
    point reflection, so motion at the ends is not bent back)."""
    T = x.shape[0]
    if sigma <= 0 or T < 3:
        return x
    r = min(int(np.ceil(3.0 * sigma)), T - 1)
    ext = np.concatenate([2 * x[:1] - x[r:0:-1], x, 2 * x[-1:] - x[-2:-r - 2:-1]])
    kernel = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    out = np.zeros_like(x)
    for k, w in enumerate(kernel):
        out += w * ext[k:k + T]
    return out

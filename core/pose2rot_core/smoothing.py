"""Cleaning noisy point tracks before solving: gaps marked, then smoothing.

Everything works on positions ``[T,J,3]`` (NaN = missing) in file units, vectorised over frames
and joints; lengths that decide anything are fractions of the skeleton height.

- ``mark_gaps``: what a tracker wrote without seeing a point (placeholders: low confidence, points
  dropped to the origin, held or copied samples), left and right it swapped (swaps), a body or a
  joint that jumps away and back (jumps) and spikes off the bone lengths (spikes) become gaps, for
  ``tracks_io.fill_gaps`` to fill; the noise is read from the bones first (noise_estimate), and
  clean clips keep even their rare glitches.
- ``clean_positions``: zero-phase local quadratic regression with a Gaussian kernel over time,
  weighted by confidence (symmetric kernel: no lag; quadratic: peaks are kept), its width chosen
  per joint by Stein's unbiased risk estimate among the widths that move (nearly) no sample
  further than ``kernels.CLAMP_STDS`` noise stds (the noise it estimated explains no more), and narrowed
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
from .kernels import choose_widths, clamp_stds, local_quadratic, universal_threshold
from .noise_estimate import (AUTO_THRESHOLD, NOISE_DIFFERENCES, NOISE_FRAMES, bone_lengths, bones_with_length,
                             column_nanmedian, correlated_noise_gain, correlated_share, correlation_on_keys,
                             NoiseDirections, directions_on_keys, keyed_rows, moving_offsets, noise_on_keys,
                             noise_readable)
from .placeholders import (coinciding_samples, coinciding_warning, held_as_gaps, interpolated_frames,
                           no_data_as_gaps, placeholders_as_gaps, repeated_frames_as_gaps)
from .rotations import matrix_to_quat, quat_continuity, quat_to_matrix
from .spikes import find_outliers
from .stacks import any_per_point
from .tracks import Tracks

#: ``auto`` smooths a point whose noise std is more than this fraction of the length of a bone of
#: SHORT_BONE_FRACTION of the height or longer from or to it: such noise turns the bone by about
#: 2.4 degrees per axis in every frame, and over a long clip by 30 degrees in single frames, while
#: the body's long bones stay still (fingers, fingertips, eyes, toes)
SHORT_BONE_NOISE = 0.03
#: ... bones shorter than this (a face rig's jaw or teeth, a few millimetres on a person) are left
#: out: no tracker follows them, their turns do not show, and the rounding of a file written to a
#: third of a millimetre would read as noise on them
SHORT_BONE_FRACTION = 5e-3
#: a frame where the whole body moves more than CUT_RATIO times as much as in the frames around it
#: (summed squares over the joints: 5 times as far), and at least CUT_FRACTION of the height per
#: joint, is a cut (a clip starting from a bind pose, two takes joined): no filter reaches across it
CUT_RATIO = 25.0
CUT_FRACTION = 0.05
#: the fewest frames a piece of the clip is smoothed over (a local quadratic fits three values per
#: axis: fewer frames leave it nothing to average)
SMOOTH_FRAMES = 5

#: how the note on tracks the smoothing could not act on begins (_unsmoothable_note)
UNSMOOTHED_NOTE = "the tracks were not smoothed"


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
    data in any frame placed between tracked ones (untracked.place_untracked_joints);
    ``noise_read``: whether the clip let the noise be read at all (noise_readable; False: it reads
    0, whatever it is); ``noise_from_lengths``: it was read from the spread of the bones' lengths
    (length_spread_noise: under "auto", a clip of SMOOTH_FRAMES frames or more too short for
    NOISE_FRAMES), one level for every joint, which tells nothing of what in the motion is noise;
    ``noise_shape`` [3,3]: where the noise is stronger along some directions
    than others (noise_directions), its covariance over its mean variance per axis (trace 3; None:
    the same in every direction)."""

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
    noise_read: bool = True
    noise_from_lengths: bool = False
    noise_shape: np.ndarray | None = None

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


def clean_positions(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float, fps: float,
                    smooth: str | float = "auto", confidence: np.ndarray | None = None,
                    filled: np.ndarray | None = None, names: tuple[str, ...] | None = None,
                    noise: np.ndarray | None = None, keyed: np.ndarray | None = None,
                    read_from: np.ndarray | None = None, read_lengths: bool = True) -> tuple[np.ndarray, Cleaning]:
    """Smooth gap-free positions [T,J,3] (joints entirely NaN stay NaN) as ``smooth`` says.

    parents [J] (-1: none) and rest_lengths [J] give the bones the noise is read from; confidence [T,J] weights the
    samples; ``filled`` [T,J] marks samples that were gaps (weight 0, and ignored by the noise
    estimate). noise: [J] estimate_noise of these positions when the caller has measured it already
    (only where no sample was filled or has a confidence); else it is read on the ``keyed`` [T]
    frames when the positions were keyed every few frames (see noise_on_keys), from the bones to
    ``read_from`` [J] (parents as for the noise: _noise_parents; None: ``parents``). Under "auto",
    with ``read_lengths``, a clip too short for that reading (fewer than NOISE_FRAMES frames) but
    long enough to smooth (SMOOTH_FRAMES) has it read from the spread of its bones' lengths
    (length_spread_noise; Cleaning.noise_from_lengths): fewer frames can use no level. Returns
    (positions, Cleaning).
    """
    mode = parse_smooth(smooth)
    T, J = positions.shape[:2]
    present = ~any_per_point(np.isnan(positions))
    weights = np.ones((T, J)) if confidence is None else np.clip(confidence, 0.0, 1.0).copy()
    if filled is not None:
        weights[filled] = 0.0
    between = None if keyed_rows(keyed) is None else ~keyed
    if between is not None:  # no samples either: the curves between keys hold only what the keys do
        weights[between] = 0.0
    reading = parents if read_from is None else read_from
    readable = noise_readable(positions, reading, rest_lengths, keyed, weights > 0)
    spread = read_lengths and mode == "auto" and not readable and SMOOTH_FRAMES <= T < NOISE_FRAMES
    if noise is None or spread:
        noise = noise_on_keys(positions, reading, rest_lengths, height, keyed, weights > 0, tree=parents,
                              spread=spread)
    spread = spread and bool(noise.any())
    result = Cleaning(widths=np.zeros(J), noise=noise / height, residual=noise / height,
                      noise_read=readable or spread, noise_from_lengths=spread,
                      cuts=find_cuts(positions, height))  # read whether or not anything is smoothed
    if mode == "off":
        return positions, result
    if not result.noise_read or T < SMOOTH_FRAMES:
        result.report.extend(_unsmoothable_note(positions, parents, rest_lengths, height, mode))
    noisy = present & _noticeable(noise, parents, rest_lengths, height) if mode == "auto" else present
    if not noisy.any():
        return positions, result
    rho = correlation_on_keys(positions, reading, rest_lengths, height, keyed, weights > 0)
    noise = np.where(noisy, noise * correlated_noise_gain(rho), noise)  # as a whole, not only its white part
    result.noise = noise / height
    P = np.nan_to_num(positions)
    directions = None if mode != "auto" else directions_on_keys(positions, reading, rest_lengths, height, keyed,
                                                                   weights > 0)
    if directions is not None and directions.share <= 0.0:
        directions = None  # the same in every direction
    with np.errstate(all="ignore"):  # joints without data give empty windows; they stay NaN below
        smoothed = None if directions is not None and directions.share >= 1.0 else _smooth_pieces(
            P, weights, noise, noisy, mode, fps, parents, result.cuts)
        if directions is not None:
            apart = _smooth_directions(P, weights, noise, noisy, fps, parents, result.cuts, directions)
            smoothed = apart if smoothed is None else _handed_over(smoothed, apart, directions.share)
    out, widths, hat, narrowing = smoothed
    out[:, ~present] = np.nan
    if between is not None:
        hat = _as_at_the_keys(hat, ~between)
    result.widths = widths
    left, left_mean = (x * correlated_share(x, rho) for x in (hat, hat.mean(axis=0)))  # shares of the variance
    result.residual_frames = np.where(widths > 0, noise * np.sqrt(left), noise) / height  # [T,J]
    result.residual = np.where(widths > 0, noise * np.sqrt(left_mean), noise) / height
    result.narrowing = narrowing if (narrowing > 1.0).any() else None
    if directions is not None:
        result.noise_shape = (directions.axes * directions.factors ** 2) @ directions.axes.T
    result.report.extend(_smoothed_note(result, rho, names, T, fps, directions))
    return out, result


def _smoothed_note(result: Cleaning, rho: float, names: tuple[str, ...] | None, T: int, fps: float,
                   directions: NoiseDirections | None = None) -> list[str]:
    """The note on the tracks ``result`` smoothed (none where none was): how many, their noise
    (median, percent of the height; correlated from frame to frame by ``rho`` where it is; stronger
    along one direction where ``directions`` (noise_directions) count at least half), the kernel's width (median,
    ms at ``fps``; the widest direction's) and the noisiest of the ``names``."""
    smoothed = result.widths > 0
    if not smoothed.any():
        return []
    label = "" if names is None or not result.noise_read or result.noise_from_lengths else (
        " (noisiest: '" + names[int(np.argmax(result.noise))] + "')")
    along = f"; correlated from frame to frame by {rho:.2f}" if rho > 0 else ""
    if result.noise_from_lengths:
        along += f"; read from how the bones' lengths spread over {T} frames, too few to tell it from motion"
    if directions is not None and directions.share >= 0.5:
        along += (f"; {directions.factors[-1]:.2g} times as strong along {_direction_words(directions.axes[:, -1])} "
                  "as on average: each direction smoothed for its own")
    shown = (f"noise {100 * np.median(result.noise[smoothed]):.2g} % of height (median{along})" if result.noise_read
             else f"noise not measurable on {T} frames")
    return [f"smoothed {int(smoothed.sum())} of {len(smoothed)} tracks: {shown}, kernel "
            f"{1000 * np.median(result.widths[smoothed]) / fps:.0f} ms{label}"]


def _direction_words(u: np.ndarray) -> str:
    """A unit direction ``u`` [3] in words: the file's axis it lies along within 10 degrees ('the x
    axis'), else its components ('(0.71, 0, 0.71)')."""
    k = int(np.argmax(np.abs(u)))
    if abs(u[k]) >= np.cos(np.radians(10.0)):
        return f"the {'xyz'[k]} axis"
    return "(" + ", ".join(f"{c:.2g}" for c in u + 0.0) + ")"


def _as_at_the_keys(x: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """x [T,N] with the frames between the ``keys`` [T] (bool) interpolated linearly over time from
    the keys around them (held before the first and after the last): what a frame between keys
    holds of the noise is what the keys it comes from hold (a frame with no sample of its own has
    none of its own to keep, so its hat diagonal is 0)."""
    t, at = np.arange(len(x)), np.flatnonzero(keys)
    nxt = np.clip(np.searchsorted(at, t), 1, len(at) - 1)
    share = np.clip((t - at[nxt - 1]) / (at[nxt] - at[nxt - 1]), 0.0, 1.0)[:, None]
    return np.where(keys[:, None], x, (1.0 - share) * x[at[nxt - 1]] + share * x[at[nxt]])


def _unsmoothable_note(positions: np.ndarray, parents: np.ndarray, rest_lengths: np.ndarray, height: float,
                       mode: str | float) -> list[str]:
    """The note for tracks [T,J,3] that smoothing ``mode`` ("auto" or seconds) cannot act on: too
    few frames to read their noise from ("auto": NOISE_FRAMES; see noise_readable) or to smooth
    (SMOOTH_FRAMES). Said when the bones (to ``parents`` [J], of ``rest_lengths`` [J]) change length
    between the frames by more than AUTO_THRESHOLD of the ``height``: noise as small as auto leaves
    alone cannot do more, so other tracks are clean. One frame tells nothing of noise (its bones
    may differ from the rig's for another performer, which the solve reports): it is noted only
    where a width was asked for, which it cannot have."""
    T = len(positions)
    if T == 1:
        return [] if mode == "auto" else [
            f"{UNSMOOTHED_NOTE} with the {float(mode):g} s kernel asked for: one frame cannot be smoothed "
            f"({SMOOTH_FRAMES} frames are needed); they are followed as given"]
    bones = bones_with_length(parents, rest_lengths)
    lengths = bone_lengths(positions, bones, np.asarray(parents)[bones])  # [T,B]
    seen = ~np.isnan(lengths)
    spread = np.where(seen, lengths, -np.inf).max(axis=0) - np.where(seen, lengths, np.inf).min(axis=0)
    worst = float(np.max(np.nan_to_num(spread, nan=0.0, neginf=0.0), initial=0.0)) / height
    if not worst > AUTO_THRESHOLD:
        return []
    few = f"{T} frames"
    if T < SMOOTH_FRAMES:
        why = f"{few} are too few to smooth ({SMOOTH_FRAMES} are needed)"
    elif mode == "auto":
        need = (f"{NOISE_FRAMES} frames with data in a row are needed" if T < NOISE_FRAMES else
                f"no bone has data at both ends in {NOISE_FRAMES} frames in a row, nor in {NOISE_DIFFERENCES} runs of "
                "5 frames in a row")
        why = f"on {few} their noise cannot be told from motion ({need}; a fixed smoothing width smooths them anyway)"
    else:
        return []
    return [f"{UNSMOOTHED_NOTE}: their bone lengths change between the frames by up to {100 * worst:.2g} % "
            f"of the height (noise, or bones that stretch), but {why}; they are followed as given"]


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
    sample (a filled gap is none: see _held_back)
    further than its noise (``noise`` [J]) reaches but by rare chance among the joint's
    samples in the piece (the universal threshold of their number, at least clamp_stds: the
    correction of a sample is its noise, and of 3,000 samples some 30 lie beyond CLAMP_STDS,
    each holding back the kernel's width around it) (``mode`` "auto"), or one width of ``mode``
    seconds."""
    T, J = P.shape[:2]
    out, widths, hat, narrowing = P.copy(), np.zeros(J), np.ones((T, J)), np.ones((T, J))
    for seg in segments(T, cuts):
        if seg.stop - seg.start < SMOOTH_FRAMES:
            continue
        if mode == "auto":
            w, out[seg], hat[seg], widest = choose_widths(P[seg], weights[seg], np.where(chosen, noise, 0.0), fps,
                                                          parents)
            narrowing[seg] = np.maximum(hat[seg] / np.maximum(widest, 1e-12), 1.0)
            reach = max(universal_threshold(seg.stop - seg.start, P.shape[2]), clamp_stds(P.shape[2]))
            out[seg] = P[seg] + _held_back(out[seg] - P[seg], weights[seg] > 0, reach * noise, w)[..., None] * (
                out[seg] - P[seg])
        else:
            w = np.where(chosen, min(float(mode) * fps, float(T)), 0.0)  # wider than the clip: as wide
            out[seg], hat[seg] = local_quadratic(P[seg], weights[seg], w)
        widths = np.maximum(widths, w)
    return out, widths, hat, narrowing


def _handed_over(together: tuple, apart: tuple, share: float) -> tuple:
    """(positions, widths, hat diagonal, narrowing) of _smooth_pieces (``together``: one kernel for a
    joint's three coordinates) and _smooth_directions (``apart``), mixed by ``share`` (0..1: how
    surely the noise is stronger along one direction): noise barely read as uneven is smoothed
    nearly as noise the same in every direction is, with no jump where it starts to count (each
    direction's own kernel reads one coordinate's motion, and a still one picks the widest)."""
    return tuple((1.0 - share) * a + share * b for a, b in zip(together, apart))


def _smooth_directions(P: np.ndarray, weights: np.ndarray, noise: np.ndarray, chosen: np.ndarray, fps: float,
                       parents: np.ndarray, cuts: list[int], directions: NoiseDirections
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """_smooth_pieces ("auto") of positions P [T,J,3] whose noise is stronger in some directions
    than in others (``directions``: the axes [3,3] and factors [3] of noise_directions): each
    direction's coordinate smoothed on its own, for its own noise (``noise`` [J] times its factor),
    so a camera's depth gets the wide kernels its noise needs and the image plane keeps the narrow
    ones its motion needs. Widths and narrowing are each joint's largest; the hat diagonal is that
    of the noise's variance over the directions (what is left of it, as a share of the whole)."""
    axes, factors = directions.axes, directions.factors
    T, J = P.shape[:2]
    Q = (P @ axes).transpose(0, 2, 1).reshape(T, 3 * J, 1)  # column k J + j: joint j along axis k
    rows = np.asarray(parents)
    linked = np.concatenate([np.where(rows >= 0, k * J + rows, -1) for k in range(3)])
    noises = np.concatenate([f * noise for f in factors])  # [3J] each direction's own
    out, widths, hat, narrowing = _smooth_pieces(Q, np.tile(weights, (1, 3)), noises, np.tile(chosen, 3), "auto", fps,
                                                 linked, cuts)
    out = out.reshape(T, 3, J).transpose(0, 2, 1) @ axes.T
    share = (factors[:, None, None] ** 2 * hat.reshape(T, 3, J).transpose(1, 0, 2)).mean(axis=0)  # [T,J]
    return (out, widths.reshape(3, J).max(axis=0), share, narrowing.reshape(T, 3, J).max(axis=1))


def _held_back(moves: np.ndarray, data: np.ndarray, limit: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """[T,J] share of the smoothing's ``moves`` [T,J,3] (estimate less sample) kept: hold_back over
    the samples with ``data`` [T,J]; a filled frame (a gap) keeps its estimate within ``limit`` [J]
    of its fill and comes no further from it, on its own: a fill is no sample whose move could mean
    motion bent around it (placed on the rig by the joints seen, it bounds a temporal estimate that
    knows nothing of the rig; ten frames of a whole body held towards their fill had held the
    frames around them too, over the kernel's width)."""
    moved = np.linalg.norm(moves, axis=-1)
    held = hold_back(np.where(data, moved, 0.0), limit, widths)
    return np.where(data, held, np.minimum(1.0, limit[None] / np.maximum(moved, 1e-300)))


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


def _noise_parents(tracks: Tracks, points: np.ndarray, parents: np.ndarray, lengths: np.ndarray,
                   keyed: np.ndarray | None) -> np.ndarray:
    """``parents`` [J+K] of the ``points`` [T,J+K,3] the noise is read from (see _with_ends, ``lengths``
    [J+K] as there; on the ``keyed`` [T] frames, see noise_on_keys), the root line's joints
    (Skeleton.root_line) whose offset from their parent moves with the motion cut from theirs
    (moving_offsets): those offsets place the body (hips over a floor-level root, a walk's start),
    and their changes are motion, however much they look like noise (a random walk's drift; a video
    capture's hips bobbing at a few frames a second read 3 % noise and smoothed a clean clip). An
    offset that keeps one length but for the jitter of its ends stays a bone the noise is read from."""
    line = np.array(tracks.skeleton.root_line, np.int64)
    if not line.size:
        return parents
    out = np.array(parents, copy=True)
    out[line[moving_offsets(points, parents, line, lengths, tracks.skeleton.height, keyed)]] = -1
    return out


def mark_gaps(tracks: Tracks, smooth: str | float = "auto", shown: tuple[int, int] | None = None
              ) -> tuple[Tracks, list[str], np.ndarray]:
    """Tracks with low-confidence samples and outlier spikes of joints and bone tips set to NaN,
    for gap filling, what a tracker swapped between left and right put back (swaps.swap_back,
    never meant, so also in clean clips; with ``smooth`` "off" a warning names it instead) and the
    frames where the whole body or one joint jumps away and back made gaps (body_jumps_as_gaps,
    joint_jumps_as_gaps; in clean clips a warning, as for a joint that jumps once and not back); report lines
    say how many; the noise [J+K] of the joints and bone tips (see estimate_noise) measured before
    the spikes became gaps. Outliers are looked for with a numeric ``smooth``, and with "auto" when
    some joint's noise is above AUTO_THRESHOLD (never on clean clips). Tracks not keyed (Tracks.keyed)
    interpolated between samples every few frames come back keyed on those samples
    (resampled_samples), as a file resampled to a higher rate is. shown: the frames [start, stop)
    a solve returns (None: all); the notes tell of those only (tracks_io.shown_only), the whole clip is read."""
    from .tracks_io import shown_only

    mode = parse_smooth(smooth)
    report: list[str] = []
    P, lost = no_data_as_gaps(tracks.positions, tracks.confidence, tracks.first_frame, report, shown=shown)
    height = tracks.skeleton.height
    J = tracks.skeleton.num_joints
    points, parents, lengths = _with_ends(tracks, P, tracks.end_positions)
    if lost.any() and tracks.has_ends:
        points[lost] = np.nan                         # a fresh array: the bone tips go with their joints
        P = points[:, :J]
    names = tracks.point_names
    marked = placeholders_as_gaps(points, parents, lengths, height, names, report, shown=shown)
    if marked is not points:
        points, P = marked, marked[:, :J]
    report += coinciding_warning(coinciding_samples(P, tracks.skeleton.rest_positions, height),
                                  tracks.skeleton.names, tracks.first_frame, shown=shown)
    confidence = tracks.confidence
    put_back, confidence = _sides_put_back(tracks, points, confidence, mode == "off", report, shown)
    if put_back is not points:  # before the noise is read: a swap is no noise
        points, P = put_back, put_back[:, :J]
    keyed, keyed_frames = tracks.keyed, tracks.keyed_frames
    if keyed is None:
        keyed_frames = resampled_samples(points, tracks.first_frame, report, shown)
        keyed = None if keyed_frames is None else np.repeat(keyed_frames[:, None], J, axis=1)
    reading = _noise_parents(tracks, points, parents, lengths, keyed_frames)  # moving offsets: motion, no bones
    noise = noise_on_keys(points, reading, lengths, height, keyed_frames, tree=parents)
    if mode != "off":
        points, noise, repeats = repeated_frames_as_gaps(points, parents, lengths, height, keyed_frames, noise,
                                                         tracks.first_frame, report, shown=shown)
        if repeats is not None:
            P = points[:, :J]
            keyed = (np.ones(P.shape[:2], bool) if keyed is None else keyed) & ~repeats[:, None]
    unheld = held_as_gaps(points, noise, height, names, tracks.first_frame, report, shown=shown)
    if unheld is not points:
        points, P = unheld, unheld[:, :J]
    clean = mode == "auto" and (noise <= AUTO_THRESHOLD * height).all()
    from .jumps import body_jumps_as_gaps, joint_jumps_as_gaps

    if mode != "off":
        unjumped = body_jumps_as_gaps(points, height, tracks.fps, tracks.first_frame, not clean, report, shown=shown)
        if unjumped is not points:
            points, P = unjumped, unjumped[:, :J]
    if clean:
        mode = "off"  # clean clips keep even their rare glitches: auto must not change them
        joint_jumps_as_gaps(points, parents, names, height, tracks.fps, tracks.first_frame, False, report,
                            shown=shown)
    if mode != "off":
        spikes = find_outliers(points, reading, noise, height)  # a moving offset's jumps are motion, not spikes
        if spikes.any():
            points = points.copy()
            points[spikes] = np.nan
            P = points[:, :J]
        n = int(shown_only(spikes, shown).sum())
        if n:
            report.append(f"removed {n} outlier samples (jumps off the bone lengths and back) as gaps")
        unjumped = joint_jumps_as_gaps(points, parents, names, height, tracks.fps, tracks.first_frame, True,
                                       report, shown=shown)  # what bone lengths do not show
        if unjumped is not points:
            points, P = unjumped, unjumped[:, :J]
    ends = points[:, J:] if tracks.has_ends else tracks.end_positions
    if P is tracks.positions and (ends is tracks.end_positions or not tracks.has_ends) and keyed is tracks.keyed:
        return tracks, report, noise
    return replace(tracks, positions=P, end_positions=ends, confidence=confidence, keyed=keyed), report, noise


def _sides_put_back(tracks: Tracks, points: np.ndarray, confidence: np.ndarray | None, follow: bool,
                    report: list[str], shown: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(points [T,J+K,3], confidence [T,J] or None) with what a tracker swapped between left and right
    put back (swaps.swap_back; the joints' confidence goes with them; its notes name frames ``shown``
    only), ``points`` itself where nothing is or where the tracks are followed as given (``follow``:
    smooth='off'; a warning names what is swapped)."""
    from .swaps import swap_back

    J = tracks.skeleton.num_joints
    with_tips = confidence
    if confidence is not None and tracks.has_ends:  # bone tips have no confidence of their own
        with_tips = np.concatenate([confidence, np.ones(tracks.end_positions.shape[:2])], axis=1)
    put_back, with_tips = swap_back(points, with_tips, tracks.point_names, tracks.skeleton.height,
                                    tracks.first_frame, report, shown=shown, follow=follow)
    if put_back is points:
        return points, confidence
    return put_back, None if with_tips is None else with_tips[:, :J]


def resampled_samples(points: np.ndarray, first_frame: int, report: list[str],
                      shown: tuple[int, int] | None = None, noun: str = "tracks") -> np.ndarray | None:
    """[T] the samples of points [T,N,3] (NaN = missing) resampled to a higher rate by linear or
    cubic interpolation (see placeholders.interpolated_frames), with a note naming the first samples
    among the frames ``shown`` [start, stop) (None: all; numbered from ``first_frame``; none where
    those lie between two samples) and calling the points ``noun``; None where they were not resampled."""
    from .tracks_io import shown_only

    between = interpolated_frames(points)
    if between is None:
        return None
    samples = np.flatnonzero(~between)
    step = int(samples[1] - samples[0])
    named = samples[shown_only(~between, shown)[samples]]
    frames = ", ".join([str(int(t) + first_frame) for t in named[:3]] + (["..."] if len(named) > 3 else []))
    report.append(f"the {noun} are interpolated between samples {step} frames apart ("
                  + (f"frames {frames}; " if frames else "") + f"straight lines or cubic curves: resampled to {step} "
                  "times their rate, or keys baked): bone lengths and noise are read on the samples alone")
    return ~between


def smooth_tracks(tracks: Tracks, gaps: np.ndarray, end_gaps: np.ndarray | None, smooth: str | float = "auto",
                  noise: np.ndarray | None = None, read_lengths: bool = True) -> tuple[Tracks, Cleaning]:
    """Smooth gap-filled tracks (``gaps`` [T,J] / ``end_gaps`` [T,K]: samples that were filled).
    Joints and bone tips are cleaned together (tips are read through their bones too); the
    Cleaning covers the joints. noise: [J+K] their noise when already measured; read_lengths: see
    clean_positions."""
    skel = tracks.skeleton
    J = skel.num_joints
    points, parents, lengths = _with_ends(tracks, tracks.positions, tracks.end_positions)
    filled = gaps if not tracks.has_ends else np.concatenate([gaps, end_gaps], 1)
    confidence = tracks.confidence
    if confidence is not None and tracks.has_ends:
        confidence = np.concatenate([confidence, np.ones(end_gaps.shape)], 1)
    names = tracks.point_names
    out, cleaning = clean_positions(points, parents, lengths, skel.height, tracks.fps, smooth, confidence, filled,
                                    names, noise, tracks.keyed_frames,
                                    _noise_parents(tracks, points, parents, lengths, tracks.keyed_frames), read_lengths)
    frames = cleaning.residual_frames
    narrowing = cleaning.narrowing
    joints = Cleaning(cleaning.widths[:J], cleaning.noise[:J], cleaning.residual[:J], cleaning.report, cleaning.cuts,
                      residual_frames=None if frames is None else frames[:, :J],
                      narrowing=None if narrowing is None else narrowing[:, :J], noise_read=cleaning.noise_read,
                      noise_from_lengths=cleaning.noise_from_lengths, noise_shape=cleaning.noise_shape)
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

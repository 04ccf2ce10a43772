"""Lengths: how tall a clip is in its file units, a unit guess when one is plausible, and tracks whose
bones are a constant factor off their skeleton's (centimetres against metres, inches, ...).

:func:`scale_problem` decides and words such a mismatch once; each interface adds the fix in its
own words (``--scale`` on the command line, Import Tracks' Scale or a scaled parent of the empties in
Blender); :func:`scaled` applies a factor.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import Pose2RotError
from .noise_estimate import bone_lengths, column_nanmedian
from .tracks import Tracks

#: (unit, metres per unit) for the guess of ``unit_guess``
UNITS = (("metres", 1.0), ("centimetres", 0.01), ("millimetres", 0.001))
#: heights (metres) taken as plausible for a tracked creature; outside, the unit is "unknown"
PLAUSIBLE_HEIGHT_M = (0.3, 3.0)
#: ratios between common length units, to name a scale factor (ratio -> "what against what")
UNIT_RATIOS = {100.0: "centimetres against metres", 1000.0: "millimetres against metres",
               10.0: "millimetres against centimetres", 2.54: "centimetres against inches",
               39.37: "inches against metres", 25.4: "millimetres against inches", 12.0: "inches against feet",
               3.281: "feet against metres", 30.48: "centimetres against feet"}
#: bones count as agreeing with the common factor within this ratio
AGREEMENT = 1.1
#: a bone tells the tracks' scale when its track is at least this many stds of the lengths' noise long: noise
#: across a bone lengthens it by (std / length)^2 of itself (1 % here), while a helper bone a few stds long
#: reads 10-70 % long, and a zero-length one reads the noise alone
SCALE_NOISE_STDS = 10.0
#: tracks whose bones are more than this factor off the skeleton's (either way) are refused
REFUSE_FACTOR = 2.0
#: ... and between NOTE_FACTOR and REFUSE_FACTOR they get a note
NOTE_FACTOR = 1.1


@dataclass
class BoneScale:
    """How the tracks' bone lengths compare with the skeleton's.

    factor: median over bones of (median track length over frames / rest length).
    agreeing: bones within ``AGREEMENT`` of that factor; bones: bones that could be measured.
    """

    factor: float
    agreeing: int
    bones: int

    @property
    def uniform(self) -> bool:
        """Whether most bones (at least 80 %) share the factor: a unit or size difference, not posing."""
        return self.bones > 0 and self.agreeing >= 0.8 * self.bones


def standing_height(positions: np.ndarray, up_axis: str = "y") -> float:
    """Median over frames of the extent of the joints [T,J,3] along the up axis (file units; its sign
    does not matter)."""
    axis = "xyz".index(up_axis.lstrip("+-"))
    up = positions[..., axis]
    known = np.isfinite(up)
    if not known.any():
        return float("nan")
    high = np.where(known, up, -np.inf).max(axis=1)
    low = np.where(known, up, np.inf).min(axis=1)
    seen = known.any(axis=1)
    return float(np.median(high[seen] - low[seen]))


def unit_guess(height: float) -> str:
    """'centimetres (1.43 m tall)' when exactly one unit makes ``height`` plausible, else 'unknown'."""
    fits = [(unit, height * metres) for unit, metres in UNITS
            if np.isfinite(height) and PLAUSIBLE_HEIGHT_M[0] <= height * metres < PLAUSIBLE_HEIGHT_M[1]]
    if len(fits) != 1:
        return "unknown"
    unit, metres = fits[0]
    return f"{unit}? ({metres:.2f} m tall)"


def bone_scale(tracks: Tracks) -> BoneScale:
    """Compare the track length (median over frames) of every bone that can tell the tracks' scale with
    its rest length: under noise, the bones at least SCALE_NOISE_STDS stds of the lengths' noise
    (length_noise) long, as measured on the tracks (in the tracks' units, whatever they are); all bones
    where none is (or the tracks are clean)."""
    sk = tracks.skeleton
    if sk.num_joints < 2:
        return BoneScale(1.0, 0, 0)
    rest = np.linalg.norm(sk.offsets[1:], axis=-1)
    seen = bone_lengths(tracks.positions, np.arange(1, sk.num_joints), sk.parents[1:])  # [T,J-1]
    has = np.isfinite(seen).any(axis=0) & (rest > 1e-6 * sk.height)
    if not has.any():
        return BoneScale(1.0, 0, 0)
    length = column_nanmedian(seen[:, has])
    tells = length >= SCALE_NOISE_STDS * length_noise(seen[:, has])
    if not tells.any():
        tells[:] = True
    ratio = length[tells] / rest[has][tells]
    ratio = ratio[ratio > 0]
    if not ratio.size:
        return BoneScale(1.0, 0, 0)
    factor = float(np.median(ratio))
    agreeing = int((np.abs(np.log(ratio / factor)) <= np.log(AGREEMENT)).sum())
    return BoneScale(factor, agreeing, int(ratio.size))


def length_noise(lengths: np.ndarray) -> float:
    """The std of the noise of a bone's length from frame to frame, in the units of ``lengths`` [T,B]
    (B bones' lengths over T frames, NaN = missing): the median over bones of their lengths' variance
    over frames (unbiased), over the median of such a variance for Gaussian noise of variance 1 (a
    chi-square over its degrees of freedom, after Wilson and Hilferty), so that readings from two or
    three frames, most of them below their mean, are not read low; bones that really change length
    (a translating root) are a minority the median leaves out. 0 where no bone has two frames."""
    frames = np.isfinite(lengths).sum(axis=0)
    read = frames >= 2
    if not read.any():
        return 0.0
    free = frames[read] - 1.0
    median_share = (1.0 - 2.0 / (9.0 * free)) ** 3
    return float(np.sqrt(np.median(np.nanvar(lengths[:, read], axis=0, ddof=1) / median_share)))


def unit_pair(factor: float) -> str:
    """'centimetres against metres' when ``factor`` (or its inverse) is a common unit ratio, else ''."""
    big = max(factor, 1.0 / factor) if factor > 0 else 0.0
    for ratio, words in UNIT_RATIOS.items():
        if abs(big / ratio - 1.0) < 0.03:
            return words if factor > 1 else _swap(words)
    return ""


def _swap(words: str) -> str:
    a, b = words.split(" against ")
    return f"{b} against {a}"


def scale_mismatch(tracks: Tracks) -> BoneScale | None:
    """The tracks' bone scale when most bones are uniformly more than NOTE_FACTOR off the skeleton's
    (refuse them above REFUSE_FACTOR, see ``refused``), else None."""
    scale = bone_scale(tracks)
    if not scale.uniform or max(scale.factor, 1.0 / scale.factor) <= NOTE_FACTOR:
        return None
    return scale


def refused(scale: BoneScale) -> bool:
    """Whether a mismatch is too large to solve without an explicit scale."""
    return max(scale.factor, 1.0 / scale.factor) > REFUSE_FACTOR


@dataclass(frozen=True)
class ScaleProblem:
    """Tracks whose bones are uniformly off the skeleton's (see scale_mismatch). what: the clause that
    says so ("the tracks' bones measure 100× the skeleton's (12 of 12 bones, centimetres against
    metres?)"); factor: tracks / skeleton; refused: above REFUSE_FACTOR (else only a note)."""

    what: str
    factor: float
    refused: bool


def scale_problem(tracks: Tracks, tracks_bones: str = "the tracks' bones",
                  skeleton_bones: str = "the skeleton's") -> ScaleProblem | None:
    """The tracks' scale mismatch in words that call the two sides ``tracks_bones`` and
    ``skeleton_bones`` (the interface's names for them), or None when there is none."""
    scale = scale_mismatch(tracks)
    if scale is None:
        return None
    pair = unit_pair(scale.factor)
    what = (f"{tracks_bones} measure {scale.factor:.4g}× {skeleton_bones} ({scale.agreeing} of {scale.bones} "
            f"bones{', ' + pair + '?' if pair else ''})")
    return ScaleProblem(what, scale.factor, refused(scale))


def scaled(values: np.ndarray, factor: float) -> np.ndarray:
    """``values`` (positions or offsets, any shape [...,3]) multiplied by ``factor``, which must be a
    positive number: the scale that brings tracks in other units to their rig's (the command line's
    ``--scale``, Blender's Import Tracks ``Scale``)."""
    if not (np.isfinite(factor) and factor > 0):
        raise Pose2RotError(f"scale factor must be a positive number, got {factor}")
    return values * factor


def scale_tracks(tracks: Tracks, factor: float) -> Tracks:
    """Tracks with joint and bone-tip positions, and the step of the numbers they were read from,
    multiplied by ``factor`` (see scaled; the skeleton is unchanged)."""
    positions = scaled(tracks.positions, factor)
    ends = None if tracks.end_positions is None else scaled(tracks.end_positions, factor)
    step = None if tracks.coordinate_step is None else tracks.coordinate_step * factor
    return replace(tracks, positions=positions, end_positions=ends, coordinate_step=step)


def auto_scale(tracks: Tracks) -> float:
    """The factor that brings the tracks' bones to the skeleton's lengths (1 when nothing can be measured)."""
    scale = bone_scale(tracks)
    return 1.0 / scale.factor if scale.bones else 1.0

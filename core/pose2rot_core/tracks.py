"""Point tracks on a skeleton: what every solver consumes.

All arrays are in the skeleton's internal joint order (root first, parents before
children). Positions are in file units and file axes; ``up_axis`` says which axis is up
("y" as in BVH, or "z" as in Blender); solvers other than the learned one do not care.
"""
from __future__ import annotations

import numbers
import operator
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import Pose2RotError
from .rotations import rotation_defect
from .skeleton import Skeleton, end_site_names
from .wording import WARNING_PREFIX


@dataclass
class Tracks:
    """Joint-position tracks.

    skeleton: the rig (rest pose = global joint positions with axis-aligned joint frames).
    positions: [T,J,3] float64, NaN where a joint is missing.
    fps: frames per second.
    up_axis: "y" or "z".
    reference_rotations: optional [J,3,3] local rotations of the reference pose, whose bone roll
      the solution keeps; reference_frame: the frame index where the tracks show that pose
      (None when the pose is given without a frame).
    end_positions [T,K,3], end_parents [K] (joint index), end_rest_offsets [K,3]: optional bone
      tips (BVH End Sites) that aim leaf joints.
    confidence: optional [T,J] in 0..1 (NaN: 1 where the position is known, else 0).
    keyed: optional [T,J] bool, False where a position was interpolated between keys (an
      animator's empties keyed every few frames) rather than set: such samples say nothing about
      how a bone's length changes (None: every sample was set). A joint set in no frame counts as
      set in every frame: nothing tells its samples apart.
    rotation_orders: the rig BVH's rotation order per joint ("ZXY"; "" for a joint without
      rotation channels), empty when the tracks did not come with a BVH rig.
    first_frame: the number users know the first frame by (a Blender scene's start frame, the
      start of ``--frames``): notes and warnings name frames counted from it.
    coordinate_step: the step (tracks' units) of the numbers the positions were read from, which
      rounding moved each coordinate by up to half of, where the reader knows it and the positions
      no longer show it (Blender's float32 empties turned into a moved, scaled armature's space);
      None: unknown, read from the positions themselves (solvers.geometric._coordinate_step). What
      scales the positions must scale it.
    """

    skeleton: Skeleton
    positions: np.ndarray
    fps: float = 30.0
    up_axis: str = "y"
    reference_frame: int | None = None
    reference_rotations: np.ndarray | None = None
    end_positions: np.ndarray | None = None
    end_parents: np.ndarray | None = None
    end_rest_offsets: np.ndarray | None = None
    confidence: np.ndarray | None = None
    keyed: np.ndarray | None = None
    end_names: tuple[str, ...] = field(default=())
    rotation_orders: tuple[str, ...] = field(default=())
    first_frame: int = 0
    coordinate_step: float | None = None

    def __post_init__(self) -> None:
        J = self.skeleton.num_joints
        given = np.asarray(self.positions)
        self.positions = np.asarray(given, np.float64)
        if self.positions.ndim != 3 or self.positions.shape[1:] != (J, 3):
            raise Pose2RotError(
                f"tracks: positions must be [T,{J},3] for a {J}-joint skeleton, got {list(self.positions.shape)}")
        if self.positions.shape[0] == 0:
            raise Pose2RotError("tracks: positions has 0 frames; there is nothing to solve")
        self._check_settings()
        _check_no_inf(self.positions, self.skeleton.names, self.first_frame, given.dtype)
        T = self.num_frames
        if self.reference_rotations is not None:
            rr = np.asarray(self.reference_rotations, np.float64)
            if rr.shape != (J, 3, 3):
                raise Pose2RotError(f"tracks: reference rotations must be [{J},3,3], got {list(rr.shape)}")
            if not np.isfinite(rr).all():
                raise Pose2RotError("tracks: reference rotations contain NaN or infinite values")
            off = rotation_defect(rr)
            if (off > 1e-4).any():
                j = int(np.argmax(off))
                raise Pose2RotError(f"tracks: the reference rotation of '{self.skeleton.names[j]}' is not a rotation "
                                    "(rows must be orthonormal with determinant 1; quaternions are normalised "
                                    "for you, matrices are not)")
            self.reference_rotations = rr
        if self.end_positions is not None:
            ep_given = np.asarray(self.end_positions)
            ep = np.asarray(ep_given, np.float64)
            epar = np.asarray(self.end_parents, np.int64).reshape(-1)
            eoff = np.asarray(self.end_rest_offsets, np.float64)
            K = epar.shape[0]
            if ep.shape != (T, K, 3) or eoff.shape != (K, 3):
                raise Pose2RotError(
                    f"tracks: end_positions must be [{T},{K},3] and end_rest_offsets [{K},3], "
                    f"got {list(ep.shape)} and {list(eoff.shape)}")
            if K and (epar.min() < 0 or epar.max() >= J):
                raise Pose2RotError(f"tracks: end_parents must be joint indices in 0..{J - 1}")
            if not self.end_names:
                self.end_names = tuple(end_site_names(self.skeleton.names, epar))
            self.end_names = tuple(str(n) for n in self.end_names)
            if len(self.end_names) != K:
                raise Pose2RotError(f"tracks: {len(self.end_names)} end names for {K} end sites")
            _check_no_inf(ep, self.end_names, self.first_frame, ep_given.dtype)
            if not np.isfinite(eoff).all():
                raise Pose2RotError("tracks: end_rest_offsets contains NaN or infinite values")
            self.end_positions, self.end_parents, self.end_rest_offsets = ep, epar, eoff
        self.rotation_orders = tuple(str(o).upper() for o in self.rotation_orders)
        if self.rotation_orders and len(self.rotation_orders) != J:
            raise Pose2RotError(f"tracks: {len(self.rotation_orders)} rotation orders for {J} joints")
        if self.confidence is not None:
            c = np.asarray(self.confidence, np.float64)
            if c.shape != (T, J):
                raise Pose2RotError(f"tracks: confidence must be [{T},{J}], got {list(c.shape)}")
            # an unknown (NaN) confidence of a sample that has a position trusts the position
            c = np.where(np.isnan(c), np.where(np.isnan(self.positions).any(-1), 0.0, 1.0), c)
            check_confidence_scale(c, self.skeleton.names, self.first_frame)
            self.confidence = np.clip(c, 0.0, 1.0)
        if self.keyed is not None:
            k = np.asarray(self.keyed, bool)
            if k.shape != (T, J):
                raise Pose2RotError(f"tracks: keyed must be [{T},{J}], got {list(k.shape)}")
            k = k | ~k.any(axis=0)
            self.keyed = None if k.all() else k
        if self.coordinate_step is not None:
            step = float(self.coordinate_step)
            if not (np.isfinite(step) and step >= 0):
                raise Pose2RotError(f"tracks: coordinate_step must be 0 or more (None: unknown), "
                                    f"got {self.coordinate_step}")
            self.coordinate_step = step

    def _check_settings(self) -> None:
        """Check (and normalise) the single values: up_axis, fps, first_frame and reference_frame
        (whole numbers: a frame 2.7 is no frame, and was once taken as 2 without a word)."""
        self.up_axis = str(self.up_axis).lower()
        if self.up_axis not in ("y", "z"):
            raise Pose2RotError(f"tracks: up_axis must be 'y' or 'z', got '{self.up_axis}'")
        if not (isinstance(self.fps, numbers.Real) and np.isfinite(self.fps) and self.fps > 0):
            raise Pose2RotError(f"tracks: fps must be a positive number, got {self.fps!r}")
        self.fps = float(self.fps)
        self.first_frame = whole_frame(self.first_frame, "tracks: first_frame")
        if self.reference_frame is not None:
            rf = whole_frame(self.reference_frame, "tracks: reference_frame")
            if not 0 <= rf < self.num_frames:
                raise Pose2RotError(f"tracks: reference frame {rf} is outside the clip (0..{self.num_frames - 1})")
            self.reference_frame = rf

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def has_ends(self) -> bool:
        return self.end_positions is not None and len(self.end_parents) > 0

    @property
    def point_positions(self) -> np.ndarray:
        """[T,J+K,3] the joints' tracks, then the bone tips' where there are any (K = 0 without)."""
        return np.concatenate([self.positions, self.end_positions], axis=1) if self.has_ends else self.positions

    @property
    def point_names(self) -> tuple[str, ...]:
        """[J+K] the names of point_positions: the joints', then the bone tips'."""
        return tuple(self.skeleton.names) + (tuple(self.end_names) if self.has_ends else ())

    @property
    def keyed_frames(self) -> np.ndarray | None:
        """[T] the frames where every joint is a key (see ``keyed``), or None where every sample was set."""
        return None if self.keyed is None else self.keyed.all(axis=1)

    def unmeasured(self, gaps: np.ndarray | None) -> np.ndarray | None:
        """[T,J] samples that say nothing about how bones change length: ``gaps`` [T,J] (filled
        samples; None: none) and those interpolated between keys (see ``keyed``); None when none."""
        if self.keyed is None:
            return gaps
        return ~self.keyed if gaps is None else gaps | ~self.keyed

    def frames(self, start: int, stop: int) -> "Tracks":
        """Frames [start, stop) as new Tracks (the reference frame moves with them when inside)."""
        start, stop = whole_frame(start, "frames: start"), whole_frame(stop, "frames: stop")
        check_frame_range(start, stop, self.num_frames)
        ref_frame, ref_rot = self.reference_frame, self.reference_rotations
        if ref_frame is not None:
            ref_frame = ref_frame - start if start <= ref_frame < stop else None
        sl = slice(start, stop)
        return replace(
            self, positions=self.positions[sl], reference_frame=ref_frame, reference_rotations=ref_rot,
            first_frame=self.first_frame + start,
            end_positions=None if self.end_positions is None else self.end_positions[sl],
            confidence=None if self.confidence is None else self.confidence[sl],
            keyed=None if self.keyed is None else self.keyed[sl])


#: how many float32 steps (at the largest coordinate) a distance read between two points given in
#: float32 may move and still be one distance: each end is rounded by up to half a step per axis
#: (sqrt(3) steps between them at most), and a bone aimed at rounded points turns by about as much again
FLOAT32_STEPS = 4.0


def keeps_to_rounding(spread: np.ndarray, size: np.ndarray, step: float) -> np.ndarray:
    """Whether distances between two points of about ``size`` (any shape) that move by ``spread``
    (alike) over a clip keep one value to rounding: a billionth of it, or FLOAT32_STEPS of the float32
    ``step`` at the points' largest coordinate (float32_step: positions that were float32 numbers on
    the way, as Blender keeps them)."""
    return spread <= np.maximum(1e-9 * size, FLOAT32_STEPS * step)


def float32_step(values: np.ndarray) -> float:
    """float32's spacing at the largest finite magnitude of ``values`` (any shape; 0 when none is
    finite): the step of coordinates stored as float32 numbers there, rounded by up to half of it."""
    finite = np.abs(values[np.isfinite(values)])
    return float(np.spacing(np.float32(finite.max()))) if finite.size else 0.0


def whole_frame(value, what: str) -> int:
    """``value`` as an int where it is a whole number (an int, a numpy integer or a 0-d integer array);
    else a Pose2RotError that ``what`` (e.g. "tracks: reference_frame") must be one."""
    try:
        return operator.index(value)
    except TypeError:
        raise Pose2RotError(f"{what} must be a whole frame number, got {value!r}") from None


def check_frame_range(start: int, stop: int, num_frames: int) -> None:
    """Raise unless 0 <= start < stop <= num_frames (frames [start, stop) of a clip)."""
    if not (0 <= start < stop <= num_frames):
        raise Pose2RotError(f"frame range {start}:{stop} is empty or outside the clip (0:{num_frames})")


#: frame rates (frames per second) clips are taken at, motion capture and video; a rate outside is
#: more likely a misread frame time (milliseconds read as seconds, an exponent off) than a clip's
#: (rate_warning; a CSV time column slower than the lowest is refused: tracks_csv.MIN_TIME_FPS)
USUAL_FPS = (1.0, 1000.0)
#: how the command line takes a clip's frame rate (rate_warning)
FPS_FLAG = "give the clip's frames per second with --fps F"


def usable_rate(fps: float) -> bool:
    """Whether ``fps`` can be a clip's frame rate: finite, above 0, and one over it (the frame time) a
    finite number too (not so for a subnormal rate: a BVH written at it would say 'Frame Time: inf')."""
    return bool(np.isfinite(fps) and fps > 0 and np.isfinite(1.0 / float(fps)))


def rate_warning(fps: float, wanted: str = FPS_FLAG) -> str:
    """A warning (WARNING_PREFIX) where the frame rate ``fps`` lies outside USUAL_FPS, ending with
    ``wanted``: how the interface takes another rate; "" within."""
    low, high = USUAL_FPS
    if low <= fps <= high:
        return ""
    return (f"{WARNING_PREFIX}{fps:.4g} fps (a frame every {1 / fps:.4g} s) is outside the {low:g} to {high:,g} fps "
            f"that clips are taken at: the rate looks wrong; {wanted}")


def rate_replaced(name: str, own: float, given: float | None) -> list[str]:
    """[the note] where the rate ``given`` (the command line's --fps; None: none) replaces another one that
    the file ``name`` gives itself (``own`` fps: its BVH frame time, .npz fps, CSV time column; 0: none):
    its output then plays at ``given``, which one --fps given to every file of a shell loop would do
    unseen; else [], also where the two read the same to the 4 digits the note would print them with
    (a BVH's 'Frame Time: 0.033333' is 30.0003 fps: 30 written with rounding; 29.97 against 30 is not)."""
    if given is None or not (np.isfinite(own) and own > 0) or f"{given:.4g}" == f"{own:.4g}":
        return []
    return [f"{name}: --fps {given:.4g} replaces the {own:.4g} fps the file gives: the output plays at {given:.4g} "
            "fps (leave --fps out to keep the file's rate)"]


#: what to do with scores of another scale: (past 1, below 0)
SCORE_HINTS = ("rescale the scores (a percentage divided by 100) or leave them out",
               "scores given as the argument of a sigmoid (as some MediaPipe models write 'visibility', negative "
               "where a point is likely hidden) become 0-1 scores by 1 / (1 + exp(-v)); or leave them out")


def scores_outside(scores: np.ndarray) -> np.ndarray:
    """Where ``scores`` (any shape; NaN: none given) lie outside 0 (no trust) to 1: below 0, or
    past 1 by more than rounding (1e-6), infinities included."""
    return (scores < 0.0) | (scores > 1.0 + 1e-6)


def check_confidence_scale(confidence: np.ndarray, names: tuple[str, ...], first_frame: int = 0,
                           what: str = "tracks") -> None:
    """Raise where ``confidence`` [T,N] (of the points or joints ``names`` [N]; NaN: unknown) goes
    past 1 by more than rounding, or below 0: a score of another scale (percent, a count, the
    argument of a sigmoid), which clipped to 0..1 would trust every sample alike or drop samples
    at random; ``what`` (the file) and the frame, counted from ``first_frame``, are named."""
    bad = scores_outside(confidence)
    if bad.any():
        t, j = np.argwhere(bad)[0]
        v = confidence[t, j]
        raise Pose2RotError(f"{what}: confidence of '{names[j]}' at frame {t + first_frame} is {v:g} (largest "
                            f"{np.nanmax(confidence):g}, smallest {np.nanmin(confidence):g}); confidence runs from 0 "
                            f"(no trust) to 1: {SCORE_HINTS[int(v < 0)]}")


def _check_no_inf(positions: np.ndarray, names: tuple[str, ...], first_frame: int = 0,
                  given: np.dtype = np.dtype(np.float64)) -> None:
    """Raise on +-inf samples (NaN is the only way to mark a missing sample); frames are named
    from ``first_frame``. ``given``: the type the positions came in; float16 turns any number past
    65504 into an infinity (millimetres of a walk across a room), which the message says."""
    bad = np.isinf(positions)
    if bad.any():
        t, j = np.argwhere(bad.any(-1))[0]
        fix = ("; mark missing samples with NaN (or an empty CSV cell) instead" if given != np.float16 else
               f", as float16 (the type of these positions) makes any number past {float(np.finfo(np.float16).max):g}:"
               " store them as float32 or float64")
        raise Pose2RotError(f"tracks: position of '{names[j]}' at frame {t + first_frame} is infinite{fix}")

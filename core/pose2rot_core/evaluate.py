"""Round-trip accuracy on a BVH clip: FK positions -> solve -> compare with the clip's own rotations.

Protocols: ``rest`` gives the solver no reference pose; ``ref`` gives it the clip's true local
rotations of frame 0 (``reference_quaternions``). Metrics: mean geodesic angle of local rotations
(all joints; joints with children), joint position error in % of the skeleton height, and flips
(frame-to-frame jumps above ``FLIP_DEGREES`` in the solution that exceed the clip's own step at
that frame by more than ``FLIP_MARGIN`` degrees: abrupt turns the motion does not make; an abrupt
turn of the clip's own that the solution makes over the frames around it is none, see count_flips).

Noise (``noise=`` fraction of the skeleton height): seeded Gaussian jitter of that std per axis is
added to the tracks (joints and end sites); positions are still scored against the clean ones.
Jitter: mean over frames and joints of the angle (degrees) between R_t and the constant-velocity
extrapolation R_{t-1} R_{t-2}^T R_{t-1} of the local rotations (a second difference on SO(3));
``jitter_ratio`` is the solution's jitter over the clip's own (NaN where the clip has none: under 3
frames, turning steadily, or still to a file's rounding, STILL_JITTER_DEGREES).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .bvh import BvhClip
from .options import SolveOptions
from .rotations import geodesic_angle
from .flips import FLIP_DEGREES, FLIP_MARGIN, rotation_steps, steps_within_pieces
from .solution import Solution
from .solvers import solve
from .tracks import Tracks
from .tracks_io import tracks_from_bvh

PROTOCOLS = ("rest", "ref")
#: frames that jitter (a second difference) needs: with fewer, a clip's jitter_ratio is NaN and its table shows '-'
JITTER_FRAMES = 3
#: a clip's own jitter at or below this (degrees; a BVH file's six decimals) is no motion: a still clip's
#: reads 1e-16 to 1e-13 from float rounding, and its solution's rounding over it read as jitter 8x
STILL_JITTER_DEGREES = 1e-6


@dataclass
class ClipScore:
    """Accuracy of one solve of one clip (angles in degrees, positions in % of height)."""

    clip: str
    protocol: str
    solver: str
    mean_angle: float
    mean_angle_nonleaf: float  # NaN where no joint has children
    position_error_mean: float
    position_error_max: float
    flips: int
    seconds: float
    frames: int
    joint_names: tuple[str, ...]
    joint_angles: np.ndarray  # [J] mean degrees per joint
    notes: list[str] = field(default_factory=list)
    noise: float = 0.0  # std of the added jitter, fraction of the height
    jitter_ratio: float = float("nan")  # solution jitter / the clip's own; NaN where the clip has none
    tracks_error: float = 0.0  # mean distance of the (noisy) input tracks from the clean positions, % of height
    frame_angles: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [T] mean degrees over joints
    filmstrip: Filmstrip | None = None

    @property
    def file_name(self) -> str:
        """The clip's file name without its folders."""
        return self.clip.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass
class Filmstrip:
    """The clip and the solution at a few frames (the worst ones), for pictures.

    frames: [F] frame indices; parents: [J]; truth_positions / solved_positions: [F,J,3] (file axes);
    truth_rotations / solved_rotations: [F,J,3,3] global joint orientations; joint_angles: [F,J]
    degrees between the solved and the true local rotations; rest_offsets: [J,3] (to show roll).
    """

    frames: np.ndarray
    parents: np.ndarray
    truth_positions: np.ndarray
    solved_positions: np.ndarray
    truth_rotations: np.ndarray
    solved_rotations: np.ndarray
    joint_angles: np.ndarray
    rest_offsets: np.ndarray


def jitter(rotations: np.ndarray) -> float:
    """Mean angle (degrees) between R_t and R_{t-1} R_{t-2}^T R_{t-1} over frames t >= 2 and joints
    of local rotations [T,J,3,3]: how far the motion departs from constant angular velocity."""
    if rotations.shape[0] < JITTER_FRAMES:
        return 0.0
    prev = rotations[1:-1]
    guess = prev @ np.swapaxes(rotations[:-2], -1, -2) @ prev
    return float(np.degrees(geodesic_angle(rotations[2:], guess)).mean())


def add_noise(tracks: Tracks, fraction: float, seed: int = 0, correlation: float = 0.0) -> Tracks:
    """Tracks with Gaussian jitter of std ``fraction`` x skeleton height (per axis) on joints and end
    sites; white, or with ``correlation`` (0..1) from one frame to the next (x_t = c x_(t-1) + e_t,
    as a tracker's own filter leaves it)."""
    rng = np.random.default_rng(seed)
    sigma = fraction * tracks.skeleton.height
    pos = tracks.positions + _jitter(rng, sigma, tracks.positions.shape, correlation)
    ends = tracks.end_positions
    if ends is not None:
        ends = ends + _jitter(rng, sigma, ends.shape, correlation)
    return replace(tracks, positions=pos, end_positions=ends)


def _jitter(rng: np.random.Generator, sigma: float, shape: tuple, correlation: float) -> np.ndarray:
    """[T,...] Gaussian noise of std ``sigma``, its frames correlated by ``correlation``."""
    if not correlation:
        return rng.normal(scale=sigma, size=shape)
    steps = rng.normal(scale=sigma * np.sqrt(1.0 - correlation ** 2), size=shape)
    steps[0] *= 1.0 / np.sqrt(1.0 - correlation ** 2)  # the first frame at the noise's own std
    out = np.empty(shape)
    out[0] = steps[0]
    for t in range(1, shape[0]):
        out[t] = correlation * out[t - 1] + steps[t]
    return out


def count_flips(solved: np.ndarray, truth: np.ndarray, threshold: float = FLIP_DEGREES,
                margin: float = FLIP_MARGIN, steps: np.ndarray | None = None) -> int:
    """Frame-to-frame jumps of ``solved`` [T,J,3,3] above ``threshold`` degrees that exceed the
    step of ``truth`` at the same frame and joint by more than ``margin`` degrees, counted only on
    the ``steps`` [T-1] that are True (e.g. flips.steps_within_pieces: none across a cut; every
    step when None). A turn the truth makes abruptly (over ``threshold`` in one frame) that the
    solution makes over the frames around it is none (see on_the_way)."""
    if solved.shape[0] < 2:
        return 0
    step, true_step = rotation_steps(solved), rotation_steps(truth)
    flips = (step > threshold) & (step > true_step + margin)
    for j in np.flatnonzero(flips.any(axis=0) & (true_step > threshold).any(axis=0)):
        flips[:, j] &= ~on_the_way(solved[:, j], truth[:, j], true_step[:, j] > threshold, threshold)
    if steps is not None:
        flips &= steps[:, None]
    return int(flips.sum())


def on_the_way(solved: np.ndarray, truth: np.ndarray, abrupt: np.ndarray, threshold: float) -> np.ndarray:
    """[T-1] the steps of one joint (``solved``, ``truth`` [T,3,3]) on its way through a turn that
    the truth makes in one frame (its ``abrupt`` [T-1] steps): in a stretch of frames where the
    solution is more than ``threshold`` degrees off the truth around such a step (smoothed noisy
    tracks spread a point's jump over its neighbours), a step before the jump that brings the
    solution nearer where the truth lands, and one after it that brings it nearer the truth.
    The truth's own abrupt steps are not: a solution turning elsewhere as the truth jumps flips."""
    T = len(solved)
    way = np.zeros(T - 1, bool)
    off = np.degrees(geodesic_angle(solved, truth)) > threshold
    edges = np.diff(np.concatenate([[0], off.astype(np.int8), [0]]))
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        touching = np.arange(max(start - 1, 0), min(stop, T - 1))  # the steps with a frame in [start, stop)
        jumps = touching[abrupt[touching]]
        if not len(jumps):
            continue
        for s in touching[~abrupt[touching]]:
            later = jumps[jumps > s]
            towards = truth[later[0] + 1] if len(later) else truth[s + 1]
            way[s] = geodesic_angle(solved[s + 1], towards) < geodesic_angle(solved[s], towards)
    return way


def score_solution(clip: BvhClip, sol: Solution, protocol: str, seconds: float,
                   clean_positions: np.ndarray | None = None, filmstrip_frames: int = 3) -> ClipScore:
    """Compare a solution with the clip's own rotations and positions."""
    skel = clip.skeleton
    truth_G, truth_pos = clip.forward()
    truth_pos = truth_pos if clean_positions is None else clean_positions
    solved_G, solved_pos = sol.forward()
    ang = np.degrees(geodesic_angle(sol.rotations, clip.rotations))  # [T,J]
    nonleaf = np.array([len(c) > 0 for c in skel.children])
    err = np.linalg.norm(solved_pos - truth_pos, axis=-1) / skel.height * 100.0
    worst = worst_frames(ang.mean(axis=1), filmstrip_frames)
    strip = Filmstrip(frames=worst, parents=skel.parents, truth_positions=truth_pos[worst],
                      solved_positions=solved_pos[worst], truth_rotations=truth_G[worst],
                      solved_rotations=solved_G[worst], joint_angles=ang[worst], rest_offsets=skel.offsets)
    return ClipScore(
        clip=clip.name, protocol=protocol, solver=sol.solver, mean_angle=float(ang.mean()),
        mean_angle_nonleaf=float(ang[:, nonleaf].mean()) if nonleaf.any() else float("nan"),
        position_error_mean=float(err.mean()), position_error_max=float(err.max()),
        flips=count_flips(sol.rotations, clip.rotations, steps=steps_within_pieces(truth_pos, skel.height)),
        seconds=seconds, frames=clip.num_frames,
        joint_names=skel.names, joint_angles=ang.mean(axis=0), notes=list(sol.report),
        jitter_ratio=_ratio(jitter(sol.rotations), jitter(clip.rotations)), frame_angles=ang.mean(axis=1),
        filmstrip=strip)


def worst_frames(frame_error: np.ndarray, count: int) -> np.ndarray:
    """Up to ``count`` frames of largest ``frame_error`` [T], at least T/(4*count) frames apart, in time order."""
    T = frame_error.shape[0]
    spacing = max(1, T // (4 * max(count, 1)))
    chosen: list[int] = []
    for t in np.argsort(-frame_error, kind="stable"):
        if len(chosen) == count:
            break
        if all(abs(int(t) - c) >= spacing for c in chosen):
            chosen.append(int(t))
    return np.array(sorted(chosen), np.int64)


def _ratio(a: float, b: float) -> float:
    """a / b, or NaN where ``b`` (a clip's own jitter) is below STILL_JITTER_DEGREES: a still clip's is rounding."""
    return a / b if b > STILL_JITTER_DEGREES else float("nan")


def evaluate_clip(clip: BvhClip, protocol: str = "ref", options: SolveOptions | None = None, noise: float = 0.0,
                  seed: int = 0, reference_frame: int = 0, **changes: Any) -> ClipScore:
    """Round trip of ``clip`` under ``protocol`` ("rest" or "ref": the clip's rotations at
    ``reference_frame`` are the reference), solved as ``options`` (with ``changes`` on top) say;
    with ``noise`` > 0 the tracks get seeded Gaussian jitter of that fraction of the height (see
    add_noise)."""
    if protocol not in PROTOCOLS:
        from .errors import Pose2RotError

        raise Pose2RotError(f"unknown protocol '{protocol}' (choose 'rest' or 'ref')")
    options = SolveOptions.of(options, **changes)
    tracks = tracks_from_bvh(clip, reference_frame=reference_frame if protocol == "ref" else None)
    clean = tracks.positions
    if noise > 0:
        tracks = add_noise(tracks, noise, seed)
    t0 = time.perf_counter()
    sol = solve(tracks, options)
    score = score_solution(clip, sol, protocol, time.perf_counter() - t0, clean_positions=clean)
    score.noise = noise
    score.tracks_error = float(np.linalg.norm(tracks.positions - clean, axis=-1).mean() / clip.skeleton.height * 100)
    return score


def format_table(scores: list[ClipScore]) -> str:
    """A plain-text table, one row per score, with the mean at the end."""
    head = (f"{'clip':<36} {'protocol':<8} {'all °':>7} {'non-leaf °':>10} {'pos err % (max)':>16} {'flips':>6} "
            f"{'time s':>7} {'pos err % mean':>14} {'jitter x':>8} {'tracks err %':>12}")
    rows = [head, "-" * len(head)]
    for s in scores:
        name = s.file_name
        rows.append(f"{name[:36]:<36} {s.protocol:<8} {s.mean_angle:7.2f} {_cell(s.mean_angle_nonleaf, '10.2f')} "
                    f"{s.position_error_max:16.2g} {s.flips:6d} {s.seconds:7.3f} {s.position_error_mean:14.3g} "
                    f"{_cell(s.jitter_ratio, '8.3g')} {s.tracks_error:12.3g}")
    if len(scores) > 1:
        for proto in PROTOCOLS:
            sub = [s for s in scores if s.protocol == proto]
            if len(sub) > 1:
                rows.append(f"{'mean':<36} {proto:<8} {np.mean([s.mean_angle for s in sub]):7.2f} "
                            f"{_cell(_finite_mean([s.mean_angle_nonleaf for s in sub]), '10.2f')} "
                            f"{max(s.position_error_max for s in sub):16.2g} {sum(s.flips for s in sub):6d} "
                            f"{sum(s.seconds for s in sub):7.3f} {np.mean([s.position_error_mean for s in sub]):14.3g} "
                            f"{_cell(_finite_mean([s.jitter_ratio for s in sub]), '8.3g')} "
                            f"{np.mean([s.tracks_error for s in sub]):12.3g}")
    rows.append("angles: solved against the clip's local rotations; pos err: solved joints against the clip's "
                "own (clean) positions, tracks err: the tracks given to the solver against them, % of height; "
                "jitter x: how far the solved turns depart from steady ones, frame to frame, over the clip's own")
    rows += _dash_legend(scores)
    return "\n".join(rows)


def _cell(value: float, spec: str) -> str:
    """``value`` in the format ``spec`` ('8.3g': its width first), or '-' as wide where it is no number."""
    return format(value, spec) if np.isfinite(value) else "-".rjust(int(spec.split(".")[0]))


def _dash_legend(scores: list[ClipScore]) -> list[str]:
    """The line saying why the table shows '-' where it does (none where it does not)."""
    steady = [s for s in scores if not np.isfinite(s.jitter_ratio)]
    reasons = [why for why, shown in (
        ("non-leaf ° of a rig with no joint that has children", any(not np.isfinite(s.mean_angle_nonleaf)
                                                                   for s in scores)),
        (f"jitter x of a clip under {JITTER_FRAMES} frames long (each frame's turn is measured against the two "
         "before it)", any(s.frames < JITTER_FRAMES for s in steady)),
        ("jitter x of a clip that turns steadily itself or stays still (it has no jitter to compare with)",
         any(s.frames >= JITTER_FRAMES for s in steady))) if shown]
    return ["'-' is no value: " + "; ".join(reasons)] if reasons else []


def _finite_mean(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def format_joint_table(score: ClipScore) -> str:
    """Per-joint mean angle, worst first."""
    order = np.argsort(-score.joint_angles)
    lines = [f"{'joint':<32} {'mean °':>8}"]
    lines += [f"{score.joint_names[j][:32]:<32} {score.joint_angles[j]:8.2f}" for j in order]
    return "\n".join(lines)

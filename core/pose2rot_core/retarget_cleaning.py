"""Points that drive a rig cleaned as the solver cleans tracks (retargeting's step before filling).

On the tree of the mapped joints (each under its nearest mapped ancestor): what a tracker read wrong
put right first (left and right swapped, a body or a joint that jumps away and back, placeholder
samples), then the noise read and the points smoothed within it (pose2rot_core.smoothing).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .tracks_io import fill_gaps
from .wording import WARNING_PREFIX

if TYPE_CHECKING:
    from .retarget import RigTargets


def denoise_targets(targets: RigTargets, X: np.ndarray, fps: float, smooth: str | float,
                    report: list[str], keyed: np.ndarray | None = None, first_frame: int = 0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(targets [T,N,3], the noise std per axis left in each [N], 0 where unmapped; rig units)
    cleaned as the solver cleans tracks (pose2rot_core.smoothing), on
    the tree of mapped joints (each under its nearest mapped ancestor), what a tracker read wrong put
    right first (_tracker_glitches_filled; frames from ``first_frame`` in its notes): the noise is
    read from how the distances between them wobble, on the ``keyed`` [T] frames when the points
    were keyed every few frames (see PointSet.keyed; at least 5 of them)."""
    from .noise_estimate import AUTO_THRESHOLD, noise_on_keys
    from .smoothing import clean_positions

    mapped = np.flatnonzero(targets.direct | targets.soft)
    parents = targets.skeleton.parents
    row = {int(j): i for i, j in enumerate(mapped)}
    up_tree = []
    for j in mapped:
        p = parents[j]
        while p >= 0 and int(p) not in row:
            p = parents[p]
        up_tree.append(row.get(int(p), -1))
    up_tree = np.asarray(up_tree, np.int64)
    height = max(float(np.ptp(targets.reference, axis=0).max()), 1e-12)
    names = tuple(targets.skeleton.names[j] for j in mapped)
    sub = X[:, mapped]
    has = up_tree >= 0
    lengths = np.zeros(len(mapped))
    lengths[has] = np.median(np.linalg.norm(sub[:, has] - sub[:, up_tree[has]], axis=-1), axis=0)
    noise = noise_on_keys(sub, up_tree, lengths, height, keyed)
    sub, noise, keyed = _repeated_frames_filled(targets, mapped, sub, up_tree, lengths, height, noise, keyed,
                                                first_frame, report)
    sub, glitched = _tracker_glitches_filled(sub, up_tree, names, height, fps, first_frame, smooth,
                                             bool((noise > AUTO_THRESHOLD * height).any()), report)
    targets.gaps[:, mapped] |= glitched
    if glitched.any():  # read again without them
        lengths[has] = np.median(np.linalg.norm(sub[:, has] - sub[:, up_tree[has]], axis=-1), axis=0)
        noise = noise_on_keys(sub, up_tree, lengths, height, keyed)
    rest = np.where(has, np.linalg.norm(targets.reference[mapped] - targets.reference[mapped[up_tree]], axis=-1), 0.0)
    sub, lost = _placeholders_before_smoothing(sub, up_tree, rest, height, noise, smooth, names, report)
    targets.gaps[:, mapped] |= lost
    cleaned, cleaning = clean_positions(sub, up_tree, lengths, height, fps, smooth, names=names, keyed=keyed,
                                        noise=None if lost.any() or glitched.any() else noise)
    report.extend(f"points: {line}" for line in cleaning.report)
    out, left = X.copy(), np.zeros(X.shape[1])
    out[:, mapped], left[mapped] = cleaned, cleaning.noise * height
    return out, left


def _repeated_frames_filled(targets: RigTargets, mapped: np.ndarray, X: np.ndarray, parents: np.ndarray,
                            lengths: np.ndarray, height: float, noise: np.ndarray, keyed: np.ndarray | None,
                            first_frame: int, report: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """(points [T,M,3], noise [M], keyed [T] or None): the frames of the gap-free points ``X`` of the
    ``mapped`` [M] joints (``parents`` [M] in their tree, rest ``lengths`` [M]) that repeat the frame
    before in every point, in noisy points, made gaps of ``targets`` and filled, their noise read
    over the other frames, which alone are the tracker's own (``keyed``), as the solve reads tracks
    (placeholders.repeated_frames_as_gaps; its note in ``report``, ``points:``)."""
    from .placeholders import repeated_frames_as_gaps

    notes: list[str] = []
    marked, noise, repeats = repeated_frames_as_gaps(X, parents, lengths, height, keyed, noise, first_frame, notes)
    if repeats is None:
        return X, noise, keyed
    report.extend(f"points: {line}" for line in notes)
    targets.gaps[np.ix_(repeats, mapped)] = True
    return fill_gaps(marked)[0], noise, ~repeats if keyed is None else keyed & ~repeats


def _tracker_glitches_filled(X: np.ndarray, parents: np.ndarray, names: tuple[str, ...], height: float, fps: float,
                             first_frame: int, smooth: str | float, noisy: bool, report: list[str]
                             ) -> tuple[np.ndarray, np.ndarray]:
    """(points [T,M,3], [T,M] samples made gaps): the gap-free points ``X`` (``parents`` [M] in the
    tree of mapped joints, ``fps`` frames a second) put right where a tracker read something else (unless ``smooth`` is
    "off"): left and right swapped put back (swaps.swap_back), and where the whole body or one joint
    jumps away and back, gaps where the points will be smoothed (``smooth`` a width, or "auto" and
    ``noisy``; in clean points the solve warns of them: jumps.body_jumps_as_gaps,
    joint_jumps_as_gaps); the samples
    left without data filled as the points' gaps are; their notes in ``report`` (``points:``)."""
    from .jumps import body_jumps_as_gaps, joint_jumps_as_gaps
    from .smoothing import parse_smooth
    from .swaps import swap_back

    mode = parse_smooth(smooth)
    if mode == "off":
        return X, np.zeros(X.shape[:2], bool)
    notes: list[str] = []
    put_right = swap_back(X, None, names, height, first_frame, notes)[0]
    if mode != "auto" or noisy:  # in clean points the solve names such frames in a warning
        put_right = body_jumps_as_gaps(put_right, height, fps, first_frame, True, notes)
        put_right = joint_jumps_as_gaps(put_right, parents, names, height, fps, first_frame, True, notes)
    # the solve reads the rig's joints again, and warns of what is left (a limb's sides swapped untold)
    report.extend(f"points: {line}" for line in notes if not line.startswith(WARNING_PREFIX))
    gaps = np.isnan(put_right).any(axis=-1) & np.isfinite(X).all(axis=-1)
    return (fill_gaps(put_right)[0], gaps) if gaps.any() else (put_right, gaps)


def _placeholders_before_smoothing(X: np.ndarray, parents: np.ndarray, rest: np.ndarray, height: float,
                                   noise: np.ndarray, smooth: str | float, names: tuple[str, ...], report: list[str]
                                   ) -> tuple[np.ndarray, np.ndarray]:
    """(points [T,M,3], [T,M] samples made gaps): where the points will be smoothed (``smooth`` a width,
    or "auto" with a point's ``noise`` [M], std per axis, above AUTO_THRESHOLD of the height), the
    samples a tracker writes for a point it lost, as the solve reads them (smoothing.mark_gaps): at the
    origin or on the point of the mapped ancestor (``parents`` [M]) where the rig has a bone between
    them (``rest`` [M]), and, for such a noisy point, repeating the one before exactly until a jump;
    set to gaps and filled, with the solve's notes (``points:``). The solve looks for them too, but on
    the smoothed points, where a wrist smoothed apart from the elbow it sat on, or a held sample, no
    longer shows (jittered points, a wrist on the elbow's point or held for 20 frames: the hand 29-32 %
    of the height from where the gap puts it, with warnings and flips). Filled as the points' gaps
    are, they solve as if marked missing. Points that are not smoothed are left to the solve."""
    from .noise_estimate import AUTO_THRESHOLD
    from .placeholders import HELD_NOTE, gaps_note, held_samples, placeholders_as_gaps
    from .smoothing import parse_smooth
    from .tracks_io import fill_gaps

    noisy = noise > AUTO_THRESHOLD * height
    mode = parse_smooth(smooth)
    if mode == "off" or mode == "auto" and not noisy.any():
        return X, np.zeros(X.shape[:2], bool)
    notes: list[str] = []
    marked = placeholders_as_gaps(X, parents, rest, height, names, notes)
    held = held_samples(X, height) & noisy[None] & np.isfinite(marked).all(axis=-1)
    if held.any():
        notes.append(gaps_note(held, names, HELD_NOTE))
        marked = np.where(held[..., None], np.nan, marked)
    report.extend(f"points: {line}" for line in notes)
    gaps = np.isnan(marked).any(axis=-1) & np.isfinite(X).all(axis=-1)
    return (fill_gaps(marked)[0], gaps) if gaps.any() else (X, gaps)

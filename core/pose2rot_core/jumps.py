"""Points that jump away for a frame or two and back: a tracker that read something else there.

Real motion builds up over frames; a tracker that reads another person, or flips a bent knee to the
other side of its leg (a monocular tracker's depth ambiguity), moves points in one frame far beyond
how they usually move, and back as suddenly. Bone lengths do not always show it (a knee flipped about
the line from hip to ankle keeps both bones' lengths; a whole body moved keeps every one), so the
spike test of spikes.find_outliers misses it. Here a jump is read from continuity:

- the whole body (most of its points) jumps away and, within JUMP_FRAMES frames, back to where its
  motion leads (jumped_away);
- one joint held between two bones (or a root, the body hanging from it) does, within
  JOINT_JUMP_SECONDS (a monocular tracker may hold a knee on the wrong side for a few frames), alone:
  the points it hangs from and those hanging from it move a JUMP_STEPS-th as far at most
  (joint_jumped_away); or jumps so once, and not back
  (joint_stepped_off: a warning, as the steps cannot tell which side of the jump is wrong).

Either jump takes the points JUMP_STEPS times as far as their usual steps between frames and JUMP_OVER
times as far as they move between other frames (the body: between any two; a joint: its 99th
percentile step), so a fast move is no jump: it is as fast as the clip's other fast moves. In
noisy tracks such frames are gaps, with a note; in clean tracks they are followed (a keyed snap may
be meant, and clean clips keep their rare glitches) and named in a warning.
"""
from __future__ import annotations

import numpy as np

from .rotations import norm
from .noise_estimate import column_nanmedian
from .smoothing import CUT_FRACTION
from .wording import WARNING_PREFIX

#: points that jump away and back within this many frames were not there ...
JUMP_FRAMES = 3
#: ... jumping this many times as far as their usual steps between frames ...
JUMP_STEPS = 5.0
#: ... and this many times as far as their fast moves elsewhere (see the module)
JUMP_OVER = 3.0
#: a joint's jump back may come this many seconds after its jump away (at least JUMP_FRAMES frames)
JOINT_JUMP_SECONDS = 0.25
#: a joint's jump takes it at least this fraction of the height (a bent knee flipped to the other
#: side of its leg moves by about twice its bend's reach)
JOINT_JUMP_FRACTION = 0.02


def jumped_away(positions: np.ndarray, height: float) -> np.ndarray:
    """[T] bool: the frames of positions [T,J,3] where the whole body (the median over its points)
    jumps away and, within JUMP_FRAMES frames, back to where its motion leads (from the frame before
    to the frame after each point moves within JUMP_STEPS of its usual steps a frame), each jump
    CUT_FRACTION of the height, JUMP_STEPS times the points' usual steps and JUMP_OVER times as far
    as the body moves between any other two frames. A cut between two takes does not come back; a
    limb that jumps (swapped sides) is not most of the body."""
    T = positions.shape[0]
    out = np.zeros(T, bool)
    if T < 4:
        return out
    steps = norm(positions[1:] - positions[:-1])  # [T-1,J]
    usual = np.maximum(np.nan_to_num(column_nanmedian(steps)), 1e-12 * height)  # [J]
    body = np.nan_to_num(column_nanmedian(steps.T))  # [T-1] the body's step
    jump = (np.nan_to_num(column_nanmedian((steps / usual).T)) > JUMP_STEPS) & (body > CUT_FRACTION * height)
    for s, e in _away_and_back(jump):
        across = norm(positions[e + 1] - positions[s]) / (usual * (e + 1 - s))
        others = np.delete(body, [s, e]).max()
        if column_nanmedian(across[:, None])[0] <= JUMP_STEPS and min(body[s], body[e]) > JUMP_OVER * others:
            out[s + 1:e + 1] = True
    return out


def joint_jumped_away(positions: np.ndarray, parents: np.ndarray, height: float, fps: float) -> np.ndarray:
    """[T,J] bool: the samples of positions [T,J,3] (NaN: no data; ``parents`` [J], -1 for a root;
    ``fps`` frames a second) where one joint held between its parent and children jumps away and,
    within JOINT_JUMP_SECONDS (at least JUMP_FRAMES frames), back to where its motion leads, alone
    at both jumps (see _lone_steps), each jump also JUMP_OVER times its 99th percentile step
    elsewhere (its other jumps away and back left out: a tracker that flips a knee three times).
    Tips are never read so (see _around)."""
    return _joint_jumps(positions, parents, height, fps)[0]


def joint_stepped_off(positions: np.ndarray, parents: np.ndarray, height: float, fps: float) -> np.ndarray:
    """[T-1,J] bool: the steps between frames t and t + 1 of positions [T,J,3] where one joint jumps
    as joint_jumped_away's jumps do, no way away nor back of a pair (_glitch_pairs): one side of
    the step is a tracker's glitch (a knee flipped to the other side of the leg from the clip's
    start, or from where it was nearly straight and the flip moved it little), and the steps
    cannot tell which."""
    return _joint_jumps(positions, parents, height, fps)[1]


def _joint_jumps(positions: np.ndarray, parents: np.ndarray, height: float, fps: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(joint_jumped_away [T,J], joint_stepped_off [T-1,J]) of positions [T,J,3], read together."""
    T, J = positions.shape[:2]
    away, off = np.zeros((T, J), bool), np.zeros((max(T - 1, 0), J), bool)
    if T < 4:
        return away, off
    steps, jumps = _lone_steps(positions, parents, height)
    paired, flagged = _glitch_pairs(positions, steps, jumps, fps)
    for k, pairs in flagged.items():
        for s, e in pairs:
            away[s + 1:e + 1, k] = True
    for k in np.flatnonzero(jumps.any(axis=0)):
        in_pairs = {t for pair in paired.get(k, []) for t in pair}
        glitches = [t for pair in flagged.get(k, []) for t in pair]
        for s in np.flatnonzero(jumps[:, k]):
            if s not in in_pairs:
                off[s, k] = steps[s, k] > JUMP_OVER * _fast_elsewhere(steps[:, k], [s, *glitches])
    return away, off


def _lone_steps(positions: np.ndarray, parents: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray]:
    """(steps [T-1,J] between frames, jumps [T-1,J]): the steps where a joint held between its
    parent and children (see _around) moves JOINT_JUMP_FRACTION of the height and JUMP_STEPS times
    its usual (median) step, alone: JUMP_STEPS times as far as any of them moves in that frame (a
    tracker's glitch moves one point; real motion moves a joint with the bones it hangs between,
    however fast a limb swings; NaN: not alone)."""
    steps = norm(positions[1:] - positions[:-1])
    usual = np.maximum(np.nan_to_num(column_nanmedian(steps)), 1e-12 * height)
    with np.errstate(invalid="ignore"):
        jump = (steps > JUMP_STEPS * usual) & (steps > JOINT_JUMP_FRACTION * height)
    around = _around(parents)
    for k in np.flatnonzero(jump.any(axis=0)):
        if not around[k]:
            jump[:, k] = False
            continue
        with np.errstate(invalid="ignore"):
            jump[:, k] &= steps[:, k] > JUMP_STEPS * steps[:, around[k]].max(axis=1)
    return steps, jump


def _glitch_pairs(positions: np.ndarray, steps: np.ndarray, jumps: np.ndarray, fps: float
                  ) -> tuple[dict[int, list[tuple[int, int]]], dict[int, list[tuple[int, int]]]]:
    """({joint: [(s, e)]} the ``jumps`` [T-1,J] (``steps`` [T-1,J], see _lone_steps) of positions
    [T,J,3] that pair up as away and back (_away_and_back, within JOINT_JUMP_SECONDS at ``fps``,
    at least JUMP_FRAMES frames; a way back is never the next way away) and come back to where the
    joint's motion leads (within JUMP_STEPS of its usual steps a frame), {joint: [(s, e)]} those of
    them whose jumps are both JUMP_OVER times the joint's 99th percentile step elsewhere, the
    other pairs left out of it)."""
    window = max(JUMP_FRAMES, int(round(JOINT_JUMP_SECONDS * fps)))
    usual = np.nan_to_num(column_nanmedian(steps))
    paired, flagged = {}, {}
    for k in np.flatnonzero(jumps.any(axis=0)):
        pairs: list[tuple[int, int]] = []
        for s, e in _away_and_back(jumps[:, k], window):
            came_back = norm(positions[e + 1, k] - positions[s, k]) <= JUMP_STEPS * usual[k] * (e + 1 - s)
            if came_back and not (pairs and pairs[-1][1] == s):  # a way back is no way away (two flips)
                pairs.append((s, e))
        if not pairs:
            continue
        elsewhere = _fast_elsewhere(steps[:, k], [t for pair in pairs for t in pair])
        paired[int(k)] = pairs
        flagged[int(k)] = [(s, e) for s, e in pairs if min(steps[s, k], steps[e, k]) > JUMP_OVER * elsewhere]
    return paired, flagged


def _fast_elsewhere(steps: np.ndarray, left_out: list[int]) -> float:
    """The 99th percentile of one joint's ``steps`` [T-1] but the ``left_out`` ones and those
    without data (infinite where none is left: no step is a jump against nothing)."""
    kept = np.delete(steps, left_out)
    kept = kept[np.isfinite(kept)]
    return float(np.percentile(kept, 99)) if kept.size else np.inf


def _around(parents: np.ndarray) -> list[list[int]]:
    """For each of J points (``parents`` [J]), the points next to it in the tree: its parent and its
    children where it has both, a root's children (the body it places moves with it: a hips track
    read off the body for a frame leaves its thighs and spine behind); none for a tip: a tip turns
    about its parent as fast as it likes (an elephant's eyebrow out and back in two frames at 10 fps),
    while a joint held between two bones cannot leave its place without them (a knee flipped to the
    other side of the leg)."""
    children: list[list[int]] = [[] for _ in parents]
    for k, p in enumerate(parents):
        if p >= 0:
            children[int(p)].append(k)
    return [[*([int(p)] if p >= 0 else []), *kids] if kids else [] for p, kids in zip(parents, children)]


def _away_and_back(jump: np.ndarray, frames: int = JUMP_FRAMES) -> list[tuple[int, int]]:
    """(s, e) for the steps ``jump`` [T-1] marks in pairs at most ``frames`` apart: away between
    frames s and s + 1, back between e and e + 1, the first jump after s taken as the way back."""
    pairs = []
    for s in np.flatnonzero(jump):
        later = np.flatnonzero(jump[s + 1:s + 1 + frames])
        if len(later) and s + 1 + later[0] < len(jump):
            pairs.append((int(s), int(s + 1 + later[0])))
    return pairs


def body_jumps_as_gaps(points: np.ndarray, height: float, fps: float, first_frame: int, noisy: bool,
                       report: list[str], *, shown: tuple[int, int] | None = None) -> np.ndarray:
    """``points`` [T,N,3] (``fps`` frames a second) with the frames where the whole body jumps away
    and back (jumped_away) as gaps with a note (``noisy`` tracks: a tracker that read something else
    there), or, in clean tracks, followed and named in a warning (a keyed snap may be meant, the
    warning gives the fixed width that makes them gaps: gaps_width); frames from
    ``first_frame``, those ``shown`` only (see tracks_io.shown_only). ``points`` itself where
    nothing is set."""
    from .tracks_io import describe_spans, frame_spans, shown_only

    away = jumped_away(points, height)
    if not away.any():
        return points
    seen = shown_only(away, shown)
    where = describe_spans(frame_spans(seen), first_frame=first_frame)
    if not noisy:
        if seen.any():
            report.append(
                f"{WARNING_PREFIX}{where}: the whole body jumps away and back, followed as given (clean tracks); a "
                f"tracker that read something else there? smooth='auto' treats it as a gap in noisy tracks, "
                f"{gaps_width(fps)} in any")
        return points
    if seen.any():
        report.append(f"{where}: the whole body jumps away and back (a tracker that read something else there), "
                      "treated as gaps")
    out = points.copy()
    out[away] = np.nan
    return out


#: the fixed smoothing width that the warnings of glitches in clean tracks advise, in frames: a width under
#: one frame reaches too few samples beside the gap left by a glitch to fit across it and keeps the gap's fill,
#: two frames smooth across it and the rest of a clean clip by 0.2 % of the height at most
GAPS_WIDTH_FRAMES = 2.0


def gaps_width(fps: float) -> str:
    """The setting that treats glitches in clean tracks as gaps: a fixed smoothing width of
    GAPS_WIDTH_FRAMES at ``fps`` frames a second, in seconds, as the core's notes write it."""
    return f"smooth='{max(GAPS_WIDTH_FRAMES / fps, 0.001):.2g}'"


def joint_jumps_as_gaps(points: np.ndarray, parents: np.ndarray, names: tuple[str, ...], height: float,
                        fps: float, first_frame: int, noisy: bool, report: list[str], *,
                        shown: tuple[int, int] | None = None) -> np.ndarray:
    """``points`` [T,N,3] (``parents`` [N], ``names`` [N], ``fps`` frames a second) with the samples
    where a joint jumps away and back (joint_jumped_away) as gaps with a note naming the joints
    (``noisy`` tracks), or, in clean tracks, followed and named with their frames (from
    ``first_frame``) in a warning (clean clips keep their rare glitches); joints that jump once and
    not back (joint_stepped_off, read without those gaps) named in a warning and followed;
    ``points`` itself where nothing is set. The notes tell of the frames ``shown`` only (see
    tracks_io.shown_only; a jump, where both frames of its step are)."""
    from .placeholders import gaps_note
    from .tracks_io import describe_names, describe_spans, frame_spans, shown_only

    alone, off = _joint_jumps(points, parents, height, fps)
    out, seen = points, shown_only(alone, shown)
    why = (f"away and back while the joints around move 1/{JUMP_STEPS:g} as far at most (a tracker's glitch: "
           "a knee flipped to the other side of the leg, another point read)")
    if alone.any() and noisy:
        if seen.any():
            report.append(gaps_note(seen, names, f"jumping {why}"))
        out = points.copy()
        out[alone] = np.nan
        off = joint_stepped_off(out, parents, height, fps)  # read again without them
    elif seen.any():
        joints = [f"'{names[k]}' ({describe_spans(frame_spans(seen[:, k]), first_frame=first_frame)})"
                  for k in np.flatnonzero(seen.any(axis=0))]
        jump = "jumps" if len(joints) == 1 else "jump"
        report.append(f"{WARNING_PREFIX}{describe_names(joints, noun='joint')} {jump} {why}: followed as given "
                      f"(clean tracks); {gaps_width(fps)} treats such samples as gaps and smooths the rest a little")
    steps = None if shown is None else (shown[0], shown[1] - 1)    # off[t]: the step from frame t into t + 1
    report.extend(_lone_jumps_warning(shown_only(off, steps), out, names, height, first_frame))
    return out


def _lone_jumps_warning(off: np.ndarray, points: np.ndarray, names: tuple[str, ...], height: float,
                        first_frame: int) -> list[str]:
    """The warning naming the joints of ``points`` [T,N,3] (``names`` [N]) that jump without jumping
    back (``off`` [T-1,N], joint_stepped_off) and the frames they jump into (from ``first_frame``);
    none where there is none. The tracks are followed as given."""
    from .tracks_io import describe_names

    if not off.any():
        return []
    size = np.where(off, norm(points[1:] - points[:-1]), 0.0) / height
    joints = [f"'{names[k]}' (into frame{'s' if off[:, k].sum() > 1 else ''} "
              f"{', '.join(str(t + 1 + first_frame) for t in np.flatnonzero(off[:, k])[:4])}, "
              f"{100 * size[:, k].max():.2g} % of the height)" for k in np.flatnonzero(off.any(axis=0))]
    one = len(joints) == 1
    return [f"{WARNING_PREFIX}{describe_names(joints, noun='joint')} jump{'s' if one else ''} in one frame while "
            f"the joints around move 1/{JUMP_STEPS:g} as far at most, and do{'es' if one else ''} not jump back: the "
            "frames on one side of the jump are likely a tracker's glitch (a knee flipped to the other side of the "
            "leg from the clip's start, or from where the flip moved it little), followed as given: check them"]

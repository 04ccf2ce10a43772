"""One interface for all solvers: ``solve(tracks, options) -> Solution``."""
from __future__ import annotations

import operator
from dataclasses import replace
from typing import Any, Callable, Collection

import numpy as np

from ..errors import Pose2RotError
from ..map_checks import report_tracks_mirrored
from ..options import SOLVERS, SolveOptions
from ..rotations import rotation_defect
from ..reversals import turned_over, turned_over_note
from ..safety import ResultTooFarError, SafetyCheck, check_solution
from ..noise_estimate import AUTO_THRESHOLD
from ..smoothing import UNSMOOTHED_NOTE, Cleaning, hold_back, mark_gaps, segments, smooth_rotations, smooth_tracks
from ..solution import Solution
from ..stacks import any_axis, mat_mul
from ..tracks import Tracks, check_frame_range
from ..wording import WARNING_PREFIX
from .joint_smoothing import smoothed_down_the_chain

__all__ = ["SOLVERS", "Network", "Progress", "prepare_tracks", "solve"]

Progress = Callable[[float, str], None]
#: runs the learned model on prepared tracks: (tracks, indices of joints with no data, progress) -> Solution
Network = Callable[[Tracks, np.ndarray, "Progress | None"], Solution]


def prepare_tracks(tracks: Tracks, smooth: str | float = "off", shown: tuple[int, int] | None = None,
                   read_lengths: bool = True) -> tuple[Tracks, np.ndarray, list[str], Cleaning]:
    """Clean the tracks for solving: low-confidence samples and (unless smooth="off") outlier spikes
    become gaps, gaps are filled, then tracks are smoothed as ``smooth`` says ("auto", "off" or a
    kernel width in seconds; see core.smoothing). Joints with no data in any frame but tracked
    joints above and below are placed between those (untracked.place_untracked_joints) and count as
    gaps. Returns (gap-free tracks, indices of joints with no data left, report, what the smoothing
    did). shown: the frames [start, stop) the solve returns (None: all), the only ones its notes name.
    read_lengths: whether a clip too short to read its noise from its changes over time has it read
    from its bones' lengths (smoothing.clean_positions)."""
    from ..bone_fill import place_fills_on_the_rig
    from ..untracked import carry_with_body, place_untracked_joints
    from ..tracks_io import check_root, fill_gaps

    tracks, report, noise = mark_gaps(tracks, smooth, shown)
    check_root(tracks)
    J = tracks.skeleton.num_joints
    gaps = any_axis(np.isnan(tracks.positions))
    ends = tracks.end_positions
    end_gaps = None if ends is None else any_axis(np.isnan(ends))
    filled, fill_report, missing = fill_gaps(tracks.point_positions, tracks.point_names, tracks.first_frame,
                                             shown=shown)
    filled, ends = filled[:, :J], (None if ends is None else filled[:, J:])  # joints and tips lost together: one note
    missing = [j for j in missing if j < J]
    pose = _reference_pose(tracks) if missing else None
    filled, placed, carried = place_untracked_joints(filled, missing, tracks.skeleton, pose)
    if placed:
        gaps = gaps.copy()
        gaps[:, placed] = True
        gaps[:, list(carried)] = False  # nodes that place the body: where the body goes, as its track says
        fill_report = _placed_notes(fill_report, tracks.skeleton.names, missing, placed, carried)
        missing = [j for j in missing if j not in placed]
    report.extend(fill_report)
    if gaps.any():
        noisy = bool((noise > AUTO_THRESHOLD * tracks.skeleton.height).any())
        filled = place_fills_on_the_rig(filled, gaps, tracks.skeleton, placed=placed, noisy=noisy,
                                        noise=noise[:J] if noisy else None)
    gap_free = replace(tracks, positions=filled, end_positions=ends)
    unchanged = not gaps.any() and (end_gaps is None or not end_gaps.any()) and tracks.confidence is None
    prepared, cleaning = smooth_tracks(gap_free, gaps, end_gaps, smooth, noise if unchanged else None, read_lengths)
    if carried:  # with the smoothed joints that carry them, and their noise
        carry_with_body(prepared.positions, carried, tracks.skeleton.rest_positions if pose is None else pose)
        _noise_of_carriers(cleaning, carried)
    cleaning.unsmoothed = gap_free
    cleaning.gaps = gaps if gaps.any() else None
    cleaning.end_gaps = end_gaps if end_gaps is not None and end_gaps.any() else None
    cleaning.placed = placed
    report.extend(cleaning.report)
    return prepared, np.asarray(missing, np.int64), report, cleaning


def _without_placed(network: Network, placed: list[int]) -> Network:
    """``network`` seeing the ``placed`` joints (no data in any frame, placed between tracked ones
    for the geometric solve) as it was trained to: no data."""
    if not placed:
        return network

    def run(tracks: Tracks, missing: np.ndarray, progress: Progress | None) -> Solution:
        P = tracks.positions.copy()
        P[:, placed] = np.nan
        return network(replace(tracks, positions=P), np.union1d(missing, placed).astype(np.int64), progress)

    return run


def _reference_pose(tracks: Tracks) -> np.ndarray | None:
    """[J,3] joint positions of the tracks' reference pose (None: the rest pose is the reference)."""
    if tracks.reference_rotations is None:
        return None
    from ..fk import forward_kinematics

    return forward_kinematics(tracks.skeleton, tracks.reference_rotations[None], np.zeros((1, 3)))[1][0]


def _noise_of_carriers(cleaning: Cleaning, carried: dict[int, list[int]]) -> None:
    """Give each carried joint (in place) the smoothing and noise of the joints that carry it (their
    mean): its track is theirs, moved and turned rigidly (it had none to read its own from)."""
    for m, below in carried.items():
        for column in (cleaning.widths, cleaning.noise, cleaning.residual):
            column[m] = column[below].mean()
        for frames in (cleaning.residual_frames, cleaning.narrowing):
            if frames is not None:
                frames[:, m] = frames[:, below].mean(axis=1)


def _placed_notes(notes: list[str], names: tuple[str, ...], missing: list[int], placed: list[int],
                  carried: Collection[int]) -> list[str]:
    """The gap-filling ``notes`` with the one for joints without data (``missing``) told apart: those
    ``placed`` between tracked joints, those ``carried`` with the body (root-line nodes), and those
    that keep their reference rotation."""
    from ..tracks_io import describe_names, no_data_note

    out = [n for n in notes if n != no_data_note([f"'{names[j]}'" for j in missing])]
    between = [j for j in placed if j not in carried]
    if between:
        out.append("no data in any frame for " + describe_names([f"'{names[j]}'" for j in between], 8, "joint")
                   + ": placed between the tracked joints above and below them as the reference pose bends")
    if carried:
        out.append("no data in any frame for " + describe_names([f"'{names[j]}'" for j in carried], 8, "joint")
                   + ": carried with the tracked joints below as they hold it in the reference pose (it places "
                   "the body over the root, as hips or a pelvis node over a floor-level root)")
    rest = [j for j in missing if j not in placed]
    return out + ([no_data_note([f"'{names[j]}'" for j in rest])] if rest else [])


#: sizes (file units) the solver's tolerances hold for: the smallest rig height and the farthest
#: track from the origin (a nanometre to a billion kilometres, in metres)
SOLVABLE_SIZES = (1e-9, 1e15)


def _refuse_unsolvable_size(tracks: Tracks) -> None:
    """Refuse a rig shorter than SOLVABLE_SIZES[0] units, or taller, or tracks (bone tips included)
    further from the origin than SOLVABLE_SIZES[1]: double precision and the solver's tolerances do
    not reach there (an arm 1e-11 units long stopped with an internal error, one of 1e-200 came back
    60 degrees off without a warning). On a rig of a solvable size, the first far sample is named."""
    low, high = SOLVABLE_SIZES
    height = tracks.skeleton.height
    points, names = tracks.point_positions, tracks.point_names
    reach = np.abs(points).max(axis=-1)  # [T,N] the largest coordinate of each sample; NaN: missing
    known = np.isfinite(reach)
    far = float(reach[known].max()) if known.any() else 0.0
    if low <= height <= high and far <= high:
        return
    if low <= height <= high and 2 * (reach > high).sum() < known.sum():
        raise _far_samples(reach, names, tracks, high)  # a few stray samples: the rest are within reach
    raise Pose2RotError(f"the rig is {height:.3g} units tall and its tracks reach {far:.3g} units from the origin: "
                        f"the solver handles rigs of {low:g} to {high:g} units and tracks within {high:g} of the "
                        "origin; rescale the rig and the tracks (to metres or centimetres)")


def _far_samples(reach: np.ndarray, names: tuple[str, ...], tracks: Tracks, high: float) -> Pose2RotError:
    """The error for samples of ``tracks`` further than ``high`` from the origin (``reach`` [T,N]: the
    largest coordinate of each joint and bone tip, ``names`` [N]) on a rig of a solvable size, most
    samples being within: stray samples (a tracker's 1e300 for a lost marker). It names the first
    (its frame counted from tracks.first_frame) and counts them."""
    far = reach > high
    t, j = np.argwhere(far)[0]
    count = int(far.sum())
    others = "the only sample that far" if count == 1 else f"one of {count} samples that far"
    return Pose2RotError(f"position of '{names[j]}' at frame {t + tracks.first_frame} lies "
                         f"{reach[t, j]:.3g} units from the origin ({others}), on a rig {tracks.skeleton.height:.3g} "
                         f"units tall: the solver handles tracks within {high:g} of the origin; mark stray samples "
                         "missing (NaN, or an empty CSV cell)")


#: the shares of a solve's progress done when its tracks are cleaned (spikes, swaps, gaps, noise read), when its
#: smoothing pass starts (noisy tracks), when the geometric solver's smoothing down the chain starts (its slowest step,
#: see joint_smoothing) and when its result is checked against the tracks: over the CMU walk, the
#: salsa and the dog clip, clean and with 0.5 % jitter, and the walk repeated to 100,000 frames, the cleaning took
#: 27-67 % of the solve's time, which the progress showed as none (a bar at 2 % after 27 s of 77 s)
PREPARED_SHARE = 0.4
SMOOTHING_SHARE = 0.5
CHAIN_SHARE = 0.6
CHECK_SHARE = 0.9


def part_of(progress: Progress | None, start: float, stop: float, prefix: str = "") -> Progress | None:
    """``progress`` for a step that is the part ``start``..``stop`` of a longer job: the step's own
    fraction 0..1 is reported within that part, its messages after ``prefix`` (None stays None)."""
    if progress is None:
        return None
    return lambda fraction, message: progress(start + (stop - start) * fraction, prefix + message)


def _refuse_without_bones(tracks: Tracks, missing: np.ndarray, report: list[str]) -> None:
    """Refuse tracks in which no joint below the root has data left in any frame (``missing``: the
    joints without, after cleaning; ``report``: its notes, which say why): there is no bone to
    solve, and a result checked against nothing would read as exact."""
    skel = tracks.skeleton
    if skel.num_joints == 1 or len(missing) < int((skel.parents >= 0).sum()):
        return
    why = [note for note in report if "gaps" in note or "no data" in note]
    raise Pose2RotError("no joint below the root has data in any frame, so there is no bone to solve"
                        + (f" ({why[0]})" if why else "") + "; check the tracks and their scale")


def selected_tracks(tracks: Tracks, options: SolveOptions) -> Tracks:
    """``tracks`` without the parts ``options`` leaves out (bone tips, reference pose)."""
    if not options.use_ends and tracks.end_positions is not None:
        tracks = replace(tracks, end_positions=None, end_parents=None, end_rest_offsets=None, end_names=())
    if not options.use_reference and tracks.reference_rotations is not None:
        tracks = replace(tracks, reference_rotations=None, reference_frame=None)
    return tracks


def local_network(options: SolveOptions) -> Network:
    """The learned model run in this process with ``options``' model settings."""
    from .learned import solve_learned

    def run(tracks: Tracks, missing: np.ndarray, progress: Progress | None) -> Solution:
        return solve_learned(tracks, missing=missing, progress=progress, **options.learned_options())

    return run


def solve(tracks: Tracks, options: SolveOptions | None = None, *, progress: Progress | None = None,
          network: Network | None = None, twist_guess: np.ndarray | None = None,
          frames: tuple[int, int] | None = None, made_up: np.ndarray | None = None,
          points_noise: np.ndarray | None = None, stand_ins: np.ndarray | None = None,
          units_checked: bool = False, mirror_checked: bool = False, **changes: Any) -> Solution:
    """Solve local rotations for ``tracks`` as ``options`` say (see core.options.SolveOptions;
    ``changes`` are fields applied on top, e.g. ``solve(tracks, solver="hybrid", checkpoint=...)``).

    The tracks are cleaned first (``prepare_tracks``; smoothing "auto" filters only tracks that are
    measurably noisy), and the noise left is handed to the geometric step. A clip too short to read
    its noise from its changes over time may have one level read from its bones' lengths
    (smoothing.clean_positions); where the geometric or hybrid solve with it leaves joints further
    from their tracks than it explains, the clip is solved again as one whose noise reads nothing
    (followed as given, with a note saying why). Every solution is checked
    against the tracks it was solved from (``Solution.check``, see pose2rot_core.safety): joints
    further from them than noise and bone lengths explain, and sudden turns they do not call for,
    are reported as warnings; with ``max_position_error`` (percent of the skeleton height) a joint
    further than that raises ResultTooFarError. network: where the learned model runs (default: in
    this process); the learned and hybrid solvers take the same steps wherever it runs.
    twist_guess: [T,J,3,3] local rotations whose twist the geometric solver follows (retargeting:
    the shared twist of filled chains); geometric solver only. Tracks that are smoothed are solved
    with the solver's own smoothed guess instead (noted in the report).
    frames: (start, stop) the frames of ``tracks`` to return (as Tracks.frames), checked against
    their tracks: all of ``tracks`` is solved (their noise, spikes, gaps and smoothing read over
    all of them), so a part re-solved is what the whole solve gives there (a few frames alone
    cannot tell noise from motion: their noise was followed, bones stretching with it).
    made_up: [J] joints whose tracks were placed between points (retargeting: Retargeted.made_up); the check takes
    their tracks to call for no turn and allows what the rig's own shape keeps joints off the points (see
    safety.check_solution). points_noise: [J] the noise the retarget's cleaning of the points left in the tracks
    (Retargeted.noise; with ``made_up``); stand_ins: [J] joints whose point stands in for another place
    (Retargeted.stand_ins). units_checked: the caller has checked the tracks' units itself (units.scale_problem:
    the command line and Blender refuse or note tracks in other units before solving), so the solve does not warn
    of them again. mirror_checked: the caller has checked whether the tracks are the mirror image of the rig
    (layout_rig.layout_tracks does, in a layout's words); else the solve does (made_up: the map's own check has).
    """
    options = SolveOptions.of(options, **changes)
    _refuse_unsolvable_size(selected_tracks(tracks, options))
    shown = _frame_range(frames, tracks.num_frames)
    given = dict(network=network, twist_guess=twist_guess, made_up=made_up, points_noise=points_noise,
                 stand_ins=stand_ins)
    sol, cleaning, put_right = _solved(tracks, options, shown, progress, **given)
    if cleaning.noise_from_lengths and options.solver != "learned" and sol.check.far.any():
        # the level read does not explain the tracks (a network's misses are its own: no level moves them)
        note = _lengths_noise_dropped(sol.check, cleaning, tracks.num_frames, tracks.skeleton.names)
        sol, cleaning, put_right = _solved(tracks, options, shown, None, read_lengths=False, **given)
        sol.report[:] = _in_place_of_unsmoothed(sol.report, note)
    _refuse_too_far(sol, cleaning.unsmoothed, options.max_position_error)
    if progress is not None:
        progress(1.0, "solved")
    if not units_checked:
        sol.report.extend(units_warning(tracks))
    if made_up is None and not mirror_checked:  # points through a map: map_checks.report_map_against_points
        report_tracks_mirrored(put_right, sol.report, shown)
    sol.report.extend(_tip_notes(sol.check, tracks, cleaning, options.stretch, made_up is not None))
    if isinstance(options.smooth, float) and cleaning.active and sol.check.far.any():
        sol.report.append(_forced_smoothing_note(options.smooth, cleaning, tracks.num_frames / tracks.fps))
    return sol


def _solved(tracks: Tracks, options: SolveOptions, shown: tuple[int, int], progress: Progress | None,
            network: Network | None, twist_guess: np.ndarray | None, made_up: np.ndarray | None,
            points_noise: np.ndarray | None, stand_ins: np.ndarray | None, read_lengths: bool = True
            ) -> tuple[Solution, Cleaning, Tracks]:
    """(the solution of the ``shown`` frames [start, stop) checked against their tracks, the
    cleaning of those frames, the whole clip's tracks as cleaned before smoothing): solve's steps up
    to its check (the other arguments are solve's). read_lengths: whether a clip too short to read
    its noise from its changes over time has it read from its bones' lengths (smoothing.clean_positions);
    then no second pass smooths the rotations over time (Cleaning.noise_from_lengths)."""
    solver = options.solver
    start, stop = shown
    prepared, missing, report, cleaning = prepare_tracks(selected_tracks(tracks, options), options.smooth,
                                                         shown, read_lengths)
    _refuse_without_bones(tracks, missing, report)
    if progress is not None:
        progress(PREPARED_SHARE, "tracks read: gaps, glitches and noise")
    geometric = options.geometric_options()
    geometric.update(filled=cleaning.gaps, points_on_rig=made_up is not None)
    if solver != "learned":
        twist_guess = _noise_told(geometric, cleaning, twist_guess, report)
    # a second pass smooths the rotations over time, where the noise was told from the motion's changes
    smoothed = cleaning.active and solver != "learned" and not cleaning.noise_from_lengths
    first = part_of(progress, PREPARED_SHARE, SMOOTHING_SHARE if smoothed else CHECK_SHARE)
    model = None if solver == "geometric" else _answered_once(_without_placed(
        checked_network(network or local_network(options), options.checkpoint), cleaning.placed))
    sol = _first_pass(prepared, model, solver, twist_guess, missing, first, geometric)
    if smoothed:
        turned = turned_over(cleaning.unsmoothed, prepared, sol.rotations, sol.forward()[0], cleaning.noise,
                             sol.segments)
        if turned:  # solved again, each side of a joint turned over leaned on its own (Problem.breaks)
            geometric["breaks"] = turned
            sol = _first_pass(prepared, model, solver, twist_guess, missing, None, geometric)
        chained = solver == "geometric" and options.smooth == "auto"  # a width given is the user's smoothing
        within = CHAIN_SHARE if chained else CHECK_SHARE
        sol = _smoothest_within_noise(prepared, sol, cleaning, missing, geometric, turned, shown,
                                      part_of(progress, SMOOTHING_SHARE, within, "smoothing over time: "))
        if chained:
            sol = _twist_spread_again(smoothed_down_the_chain(
                prepared, sol, cleaning, turned, part_of(progress, CHAIN_SHARE, CHECK_SHARE, "smoothing down the chain: ")))
    if progress is not None:
        progress(CHECK_SHARE, "checking the result against the tracks")
    sol = _through_gaps(prepared, sol, cleaning, shown)
    sol.report[:0] = report
    put_right = cleaning.unsmoothed  # the whole clip, left and right swaps put back: what the mirror check reads
    if shown != (0, tracks.num_frames):
        sol, cleaning = sol.frames(start, stop), cleaning.frames(start, stop)
    _refuse_non_rotations(sol, tracks.first_frame + start)
    _check(cleaning.unsmoothed, sol, cleaning, made_up, points_noise, stand_ins)
    return sol, cleaning, put_right


def _twist_spread_again(sol: Solution) -> Solution:
    """``sol`` (smoothed down the chain) with its twist joints given their share of their bone's
    twist again (Solution.twist: as the solve it was smoothed from split it, about the same
    reference), no point moved. The smoothing down the chain leaves the split of a twist between a
    bone's twist joints and its child to the motion's prior, which knows nothing of the rig's: a
    hand turning 130 degrees a frame under a forearm split by a twist segment kept the whole turn
    while the segment stayed put."""
    if sol.twist is None:
        return sol
    from .geometric.twist_chains import spread_twist_again

    G, P = sol.forward()
    G = G.copy()
    spread_twist_again(sol.twist, G, P)
    return Solution.from_globals(sol.skeleton, G, sol.root_translation, sol.local_offsets, sol.translating,
                                 report=sol.report, solver=sol.solver, segments=sol.segments, twist=sol.twist)


def _in_place_of_unsmoothed(report: list[str], note: str) -> list[str]:
    """``report`` with ``note`` in place of the cleaning's note on tracks it could not smooth (which says
    why in other words: too few frames to read a noise from), or after it where there is none."""
    if not any(line.startswith(UNSMOOTHED_NOTE) for line in report):
        return [*report, note]
    return [note if line.startswith(UNSMOOTHED_NOTE) else line for line in report]


def _lengths_noise_dropped(check: SafetyCheck, cleaning: Cleaning, frames: int, names: tuple[str, ...]) -> str:
    """The note for a clip whose noise, read from how its bones' lengths spread over its few
    ``frames`` (``cleaning``, Cleaning.noise_from_lengths), left joints further from their tracks
    than it explains (``check``): the tracks were then followed as given."""
    error = np.where(check.far, np.nan_to_num(check.error, nan=0.0), 0.0)  # [T,J]
    worst = int(np.argmax(error.max(axis=0)))
    level, far = 100.0 * float(np.median(cleaning.noise)), int(check.far.any(axis=0).sum())
    return (f"the noise read from how the bones' lengths spread over {frames} frames ({level:.2g} % of the height) "
            f"was not used: solved with it, {far} joint{'s' if far > 1 else ''} ended further from their "
            f"tracks than it explains ('{names[worst]}' by up to {100 * error[:, worst].max():.3g} %), which these "
            "few frames cannot tell from motion; the tracks are followed as given (a fixed smoothing width smooths "
            "them anyway)")


def _answered_once(network: Network) -> Network:
    """``network`` answering every call after the first with the first one's Solution: the first pass
    solved again (a joint turned over) asks it about the same tracks."""
    answers: list[Solution] = []

    def run(tracks: Tracks, missing: np.ndarray, progress: Progress | None) -> Solution:
        if not answers:
            answers.append(network(tracks, missing, progress))
        return answers[0]

    return run


def _first_pass(tracks: Tracks, model: Network | None, solver: str, twist_guess: np.ndarray | None,
                missing: np.ndarray, progress: Progress | None, geometric: dict) -> Solution:
    """The solve of the cleaned ``tracks`` by ``solver`` (``model``: the learned step's network, None for
    the geometric solver), before any smoothing of its rotations over time."""
    if solver == "learned":
        return model(tracks, missing, progress)
    if solver == "geometric":
        from .geometric import solve_geometric

        return solve_geometric(tracks, twist_guess=twist_guess, missing=missing, progress=progress, **geometric)
    from .hybrid import solve_hybrid

    return solve_hybrid(tracks, model, missing=missing, progress=progress, **geometric)


def _noise_told(geometric: dict, cleaning: Cleaning, twist_guess: np.ndarray | None, report: list[str]
                ) -> np.ndarray | None:
    """Hand the geometric step's options (``geometric``, updated) what noise the cleaning left: roll
    cues and lengths within it do not count. Tracks not smoothed are followed as given, with the
    noise they show (rounding: lengths moving within it are no stretch). Returns the twist guess to
    follow: none where the tracks were smoothed (the solver's own smoothed guess is followed, noted
    in ``report``). The clip's cuts go with either (no roll crosses one)."""
    geometric["cuts"] = cleaning.cuts
    if not cleaning.active:
        geometric.update(rounding=cleaning.noise)
        return twist_guess
    geometric.update(noise=cleaning.residual, end_noise=cleaning.end_residual,
                     noise_frames=cleaning.residual_frames, end_noise_frames=cleaning.end_residual_frames,
                     narrowing=cleaning.narrowing, end_narrowing=cleaning.end_narrowing,
                     input_positions=cleaning.unsmoothed.positions, input_noise=cleaning.noise)
    if twist_guess is not None:
        report.append("the tracks were smoothed: the roll follows the solver's own smoothed guess, "
                      "not the given one (retargeting: the shared twist of the joints between mapped ones)")
    return None


def _tip_notes(check: SafetyCheck, tracks: Tracks, cleaning: Cleaning, stretch: str, mapped: bool) -> list[str]:
    """The note on bone tips that keep the rig's offsets while their tracks keep other lengths
    (_tips_keep_the_rig): under stretch "exact" always, else read against the tips' noise; none for
    points through a map (``mapped``: the map's own notes say it)."""
    if stretch == "exact":
        return _tips_keep_the_rig(check)
    if mapped or check.tips is None:
        return []
    return _tips_keep_the_rig(check, _tip_length_noise(tracks, cleaning))


def _tip_length_noise(tracks: Tracks, cleaning: Cleaning) -> np.ndarray:
    """[K] the noise std (fraction of the height, per axis) of each bone tip's distance from its
    joint: the tip's and its joint's noise together (a tip without its own: its joint's)."""
    J = tracks.skeleton.num_joints
    noise = np.zeros(J) if cleaning.noise is None else cleaning.noise
    joints = noise[np.asarray(tracks.end_parents, np.int64)]
    return np.hypot(joints if cleaning.end_noise is None else cleaning.end_noise, joints)


def _tips_keep_the_rig(check: SafetyCheck, noise: np.ndarray | None = None) -> list[str]:
    """The note for bone tips whose tracks keep other lengths than the rig's, each with how far it
    ends off its track, the furthest first (none: no such tip): the rig keeps its tips' offsets, as
    it keeps its bones' lengths (the solver's note names those), so they end off their tracks.
    Under stretch "exact" (no ``noise``) joints translate onto their tracks, but a tip has no joint
    to translate; under the others a tip is named where its length is off by more than three of its
    length's noise stds ``noise`` [K] (fraction of the height, both ends), as the solver names bones
    (report_length_mismatch)."""
    from ..tracks_io import describe_names
    from .geometric.problem import STRETCH_FRACTION

    tips = check.tips
    limit = STRETCH_FRACTION if noise is None else np.maximum(STRETCH_FRACTION, 3.0 * noise)
    if tips is None or tips.off_length is None or not (tips.off_length > limit).any():
        return []
    off = np.flatnonzero(tips.off_length > limit)
    furthest = np.nanmax(np.nan_to_num(tips.error[:, off]), axis=0, initial=0.0)
    why = "under stretch='exact' (a tip has no joint to translate)" if noise is None else \
        "(as rigid bones keep the rig's length)"
    if len(off) == 1:
        return [f"bone tip {tips.names[off[0]]!r} keeps the rig's offset {why} while its track keeps another "
                f"length: up to {100 * furthest[0]:.3g} % of height off its track"]
    order = np.argsort(-furthest, kind="stable")  # the furthest named first
    parts = [f"{tips.names[off[i]]!r} by up to {100 * furthest[i]:.3g} %" for i in order]
    shown = describe_names([parts[0] + " of height"] + parts[1:], 4, "bone tip")
    return [f"{len(off)} bone tips keep the rig's offsets {why} while their tracks keep other lengths, and end off "
            f"those tracks: {shown}"]


def _frame_range(frames: tuple[int, int] | None, num_frames: int) -> tuple[int, int]:
    """(start, stop) of ``frames`` (None: every frame), whole numbers with 0 <= start < stop <= num_frames."""
    if frames is None:
        return 0, num_frames
    try:
        start, stop = (operator.index(f) for f in frames)
    except (TypeError, ValueError):
        raise Pose2RotError(f"frames must be two whole numbers (start, stop), got {frames!r}") from None
    check_frame_range(start, stop, num_frames)
    return start, stop


def _forced_smoothing_note(seconds: float, cleaning: Cleaning, length: float) -> str:
    """Why joints ended far from tracks smoothed with a kernel width the caller chose (``seconds``;
    at most the clip's ``length``, seconds): the width, against the noise the tracks show (clean
    tracks show none, so any move is unexplained; a clip too short to read it from shows none either)."""
    noise = 100.0 * float(np.median(cleaning.noise)) if cleaning.noise is not None and len(cleaning.noise) else 0.0
    shown = f"they show {noise:.2g} % of the height noise (median)" if noise >= 0.01 else "they show no measurable noise"
    if not cleaning.noise_read:
        shown = "too few frames measure their noise"
    width = f"{seconds:g} s as asked" if seconds <= length else f"{length:.3g} s (the clip's length; {seconds:g} s asked)"
    return (f"the tracks were smoothed with a kernel of {width}, though {shown}: the smoothing moved joints off "
            "their tracks (the warning names them); smooth='auto' smooths only noisy tracks, smooth='off' follows them")


def _refuse_non_rotations(sol: Solution, first_frame: int) -> None:
    """Raise when some of ``sol``'s rotations [T,J,3,3] are NaN or not of unit size (a zero matrix):
    a degenerate case no solver step caught must stop the solve, not be written; NaN positions
    would even escape the safety check. Reads one column of each matrix (a few ms on long clips)."""
    R = sol.rotations
    size = R[..., 0, 0] ** 2 + R[..., 1, 0] ** 2 + R[..., 2, 0] ** 2  # [T,J]
    bad = ~(np.abs(size - 1.0) < 1e-6)
    if not bad.any():
        return
    from ..tracks_io import describe_names, describe_spans, frame_spans

    names = describe_names([f"'{sol.skeleton.names[j]}'" for j in np.flatnonzero(bad.any(axis=0))], noun="joint")
    where = describe_spans(frame_spans(bad.any(axis=1)), first_frame=first_frame)
    raise Pose2RotError(f"internal error: the {sol.solver} solver produced values that are not rotations for {names} "
                        f"({where}); nothing was written. Please report it with the tracks")


def checked_network(network: Network, checkpoint: str | None) -> Network:
    """``network`` whose every answer is checked to be made of rotations: a network whose weights
    hold NaN or Inf, or that was never trained, answers with NaN or degenerate 6D rotations, which
    would be written (or handed to the hybrid solver as its twist) as if they were poses."""

    def run(tracks: Tracks, missing: np.ndarray, progress: Progress | None) -> Solution:
        sol = network(tracks, missing, progress)
        bad = ~(rotation_defect(sol.rotations) < 1e-3)
        if bad.any():
            from ..tracks_io import describe_spans, frame_spans

            where = describe_spans(frame_spans(bad.any(axis=1)), first_frame=tracks.first_frame)
            raise Pose2RotError(
                f"the network answered with values that are not rotations (NaN, Inf or degenerate) for "
                f"{int(bad.any(axis=0).sum())} joints, {where}: the checkpoint '{checkpoint or 'given'}' cannot be "
                "used (weights with NaN or Inf, or an untrained model); nothing was written")
        return sol

    return run


def _through_gaps(tracks: Tracks, sol: Solution, cleaning: Cleaning, shown: tuple[int, int]) -> Solution:
    """``sol`` with the rotations of joints that have no data below them in some frames (every
    descendant and bone tip a gap there) turned smoothly across those frames (see through_gaps); the
    note names those among the frames ``shown`` [start, stop) only."""
    from ..tracks_io import shown_only
    from .through_gaps import rotations_through_gaps, subtree_without_data, through_gaps_note

    if cleaning.gaps is None and cleaning.end_gaps is None:
        return sol
    T, J = sol.rotations.shape[:2]
    gaps = np.zeros((T, J), bool) if cleaning.gaps is None else cleaning.gaps
    end_gaps = None if not tracks.has_ends else (
        np.zeros((T, len(tracks.end_parents)), bool) if cleaning.end_gaps is None else cleaning.end_gaps)
    free = subtree_without_data(tracks.skeleton, gaps, tracks.end_parents, end_gaps)
    turned = free.any(axis=0) & ~free.all(axis=0)  # no data below in any frame: left as solved
    if not turned.any():
        return sol
    sol = replace(sol, rotations=rotations_through_gaps(sol.rotations, free, with_rates=not cleaning.active))
    seen = shown_only(free, shown)
    turned &= seen.any(axis=0)
    if not turned.any():
        return sol
    sol.report.append(through_gaps_note(free, np.flatnonzero(turned), tracks.skeleton.names, tracks.first_frame,
                                        shown))
    return sol


def _check(tracks: Tracks, sol: Solution, cleaning: Cleaning, made_up: np.ndarray | None = None,
           points_noise: np.ndarray | None = None, stand_ins: np.ndarray | None = None) -> None:
    """Attach the safety check against the tracks as given (gaps filled, spikes removed, before any
    smoothing) to ``sol`` and its warnings to the report. made_up, points_noise, stand_ins: see
    :func:`solve`."""
    sol.check = check_solution(tracks, sol, cleaning.noise, no_data=cleaning.gaps, end_noise=cleaning.end_noise,
                               end_no_data=cleaning.end_gaps, as_given=not cleaning.active, made_up=made_up,
                               points_noise=points_noise, stand_ins=stand_ins, noise_shape=cleaning.noise_shape)
    sol.report.extend(sol.check.lines(tracks.skeleton.names))
    sol.report.extend(_placed_cause(tracks.skeleton, sol.check.far.any(axis=0), cleaning.placed))


def _refuse_too_far(sol: Solution, tracks: Tracks, max_position_error: float | None) -> None:
    """Raise when a joint of ``sol`` (checked, see _check) is further from its track in ``tracks``
    than ``max_position_error`` percent of the height, naming every joint and bone tip past it
    (SafetyCheck.past)."""
    if max_position_error is not None and sol.check.max_error_percent > max_position_error:
        point, t, error = sol.check.worst(tracks.skeleton.names)
        past = sol.check.past(max_position_error / 100.0, tracks.skeleton.names)
        raise ResultTooFarError(
            f"the solution is {100 * error:.3g} % of the skeleton height from the tracks at {point}, "
            f"frame {t + tracks.first_frame} (allowed: {max_position_error:g} %); {past + '; ' if past else ''}"
            "nothing was written")


def _placed_cause(skeleton, far: np.ndarray, placed: list[int]) -> list[str]:
    """A line naming the joints that had no data and were placed as the reference pose bends them
    (``placed``) whose first tracked joints below end far from their tracks (``far`` [J]): which
    side such a joint bends to is a guess, and one the reference pose has straight has none."""
    from ..untracked import tracked_below
    from ..tracks_io import describe_names

    causes = [m for m in placed if far[tracked_below(skeleton, m, set(placed))].any()]
    if not causes:
        return []
    shown = describe_names([repr(skeleton.names[m]) for m in causes], 4, "joint")
    one = len(causes) == 1
    return [f"{shown}, which had no data in any frame, {'was' if one else 'were'} placed as the reference pose "
            f"bends {'it' if one else 'them'}, and the tracked joints below miss their tracks: the side "
            f"{'it bends' if one else 'they bend'} to is a guess (none where the reference pose is straight); "
            "a reference pose bent the way the tracks bend it tells that side"]


def units_warning(tracks: Tracks) -> list[str]:
    """A warning when the tracks' bones are uniformly so far off the skeleton's that they are in
    other units (see units.scale_problem; the command line and Blender refuse such tracks before
    solving, and the command line says what --scale fixes them when one is given): the rig keeps
    its lengths, and its bone-length allowance would hide how far off the result is."""
    from ..units import scale_problem

    problem = scale_problem(tracks)
    if problem is None or not problem.refused:
        return []
    return [f"{WARNING_PREFIX}{problem.what}: the rig keeps its bone lengths, so the joints end far from their "
            f"tracks; scale the tracks by {1.0 / problem.factor:.4g} (units.scale_tracks) and solve again"]


def _hold_back_rotations(tracks: Tracks, sol: Solution, smooth: np.ndarray, cleaning: Cleaning,
                         widths: np.ndarray) -> np.ndarray:
    """Smoothed local rotations ``smooth`` [T,J,3,3] (of ``sol``'s) turned back towards ``sol``'s
    where they turn a bone (joint to target: child, bone tip) further than the noise explains: its
    target moves, seen from the joint, by over CONE_STDS noise stds of both ends (see
    smoothing.hold_back). Top down: each joint's smoothed local rotation is put under its parent
    as held, and the turn of its bones in the world from ``sol``'s orientation says how much of
    the smoothing it keeps, so a child whose smoothing cancelled its parent's (a helper bone, a
    twist split) is not turned by what is left of the parent's. A roll about targets that lie
    nearly on one line moves them little, so such a roll is smoothed where its swing is held."""
    from .geometric.fit import slerp

    skel = tracks.skeleton
    noise = cleaning.noise * skel.height
    joints = np.concatenate([skel.parents[1:], tracks.end_parents if tracks.has_ends else []]).astype(np.int64)
    offsets = np.concatenate([skel.offsets[1:], tracks.end_rest_offsets if tracks.has_ends else np.zeros((0, 3))])
    tip_noise = noise[tracks.end_parents] if tracks.has_ends else []  # a bone tip: its joint's
    target_noise = np.concatenate([noise[1:], tip_noise])
    limit = CONE_STDS * np.sqrt(noise[joints] ** 2 + target_noise ** 2)
    raw = sol.forward()[0]
    held = np.array(raw)
    held[:, 0] = smooth[:, 0]
    out = smooth.copy()
    for level in skel.levels:
        if level[0] != 0:
            held[:, level] = np.einsum("tkab,tkbc->tkac", held[:, skel.parents[level]], smooth[:, level])
        pairs = np.flatnonzero(np.isin(joints, level))
        column = np.zeros(skel.num_joints, np.int64)
        column[level] = np.arange(len(level))
        moved = np.zeros((len(raw), len(level)))  # [T,n] the worst target's share, per joint of the level
        shift = np.linalg.norm(np.einsum("tkab,kb->tka", held[:, joints[pairs]] - raw[:, joints[pairs]],
                                         offsets[pairs]), axis=-1)
        np.maximum.at(moved.T, column[joints[pairs]], (shift / np.maximum(limit[pairs], 1e-300)).T)
        keep = hold_back(moved, np.ones(len(level)), widths[level])
        for i in np.flatnonzero((keep < 1.0).any(axis=0)):
            j = level[i]
            out[:, j] = slerp(sol.rotations[:, j], smooth[:, j], keep[:, i])
            held[:, j] = out[:, j] if j == 0 else mat_mul(held[:, skel.parents[j]], out[:, j])
    return out


def _smooth_over_time(rotations: np.ndarray, widths: np.ndarray, cuts: list[int], turned: dict[int, list[int]]
                      ) -> np.ndarray:
    """Local ``rotations`` [T,J,3,3] smoothed over time with kernel ``widths`` [J] (frames), no filter
    reaching across the clip's ``cuts`` nor across the frames where a joint turned over ({joint:
    [frames]}, see reversals.turned_over): that joint's rotation is smoothed on either side."""
    smooth = rotations.copy()
    for seg in segments(len(rotations), cuts):
        smooth[seg] = smooth_rotations(rotations[seg], widths)
    for j, frames in turned.items():
        for seg in segments(len(rotations), sorted({*cuts, *frames})):
            smooth[seg, j] = smooth_rotations(rotations[seg, j, None], widths[j])[:, 0]
    return smooth


def _rotation_widths(tracks: Tracks, cleaning: Cleaning) -> np.ndarray:
    """[J] kernel width (frames) for each joint's rotation: the widest of its own track's and its
    children's and tips' (a rotation follows both ends of its bones)."""
    out = cleaning.widths.copy()
    parents = tracks.skeleton.parents
    ends = zip(tracks.end_parents, cleaning.end_widths) if cleaning.end_widths is not None else []
    for p, w in [(parents[j], cleaning.widths[j]) for j in range(1, len(parents))] + list(ends):
        out[p] = max(out[p], w)
    return out


#: the smoothed solution keeps a bone's orientation while its targets stay this many noise stds
#: (per axis) from their tracks: 90 % of 3-D Gaussian noise vectors are shorter
CONE_STDS = 2.5


def _smoothest_within_noise(tracks: Tracks, sol: Solution, cleaning: Cleaning, missing: np.ndarray,
                            geometric: dict, turned: dict[int, list[int]], shown: tuple[int, int],
                            progress: Progress | None = None) -> Solution:
    """The solution of smoothed tracks made smooth over time where the noise left allows it: its
    rotations are filtered as the tracks were (zero phase, on quaternions), then every bone keeps
    the filtered orientation unless a target would leave the cone of CONE_STDS noise stds around
    its track, where it turns just enough to stay inside (positions stay within the noise).
    geometric: the options of the geometric step; turned: {joint: [frames]} where the tracks turn a
    joint over (reversals.turned_over: its rotation is smoothed on either side); shown: the frames
    [start, stop) returned (the note on joints turned over names those only); progress: of its second
    pass."""
    from .geometric import solve_geometric

    widths = _rotation_widths(tracks, cleaning)
    smooth = _smooth_over_time(sol.rotations, widths, cleaning.cuts, turned)
    smooth = _hold_back_rotations(tracks, sol, smooth, cleaning, widths)
    again = solve_geometric(tracks, twist_guess=smooth, missing=missing, within_noise=CONE_STDS, progress=progress,
                            **geometric)
    again.report = sol.report + ["rotations smoothed over time within the noise of the tracks"]
    again.report += turned_over_note(turned, tracks.skeleton.names, tracks.first_frame, shown)
    again.solver = sol.solver
    return again

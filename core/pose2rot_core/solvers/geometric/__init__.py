"""Geometric solver: bones hit their tracks exactly, roll from a reference pose.

Works on global joint orientations ``G_j`` (joint frame -> file axes), top-down:

- a joint with several aim targets (see ``problem``) takes their best-fit rotation where they
  spread enough around their common direction to fix the roll, and the single-aim orientation
  below where they do not (coincident share bones, twist joints on the axis), blended smoothly
  (see ``fit``);
- a joint with one aim target points its bone exactly at it; the roll about the bone follows the
  twist policy (see ``roll``);
- a joint with no target (leaf without tip, or all children missing) keeps its reference rotation;
- joints on a bone's axis (twist joints) then take their share of the twist of the bone's child
  (see ``twist_chains``).

The reference is ``tracks.reference_rotations`` (else the rest pose, identity), or a per-frame
``twist_guess [T,J,3,3]`` (hybrid solver: the learned rotations).

Bone lengths (``stretch=``): with ``"auto"`` joints whose distance to the parent changes over the
clip are *translating*: their parent-local offset is solved per frame so positions still match; a
joint moving far from its rest bone length (a floor-level root with moving hips) is not used to aim
its parent. A bone whose track length differs from the rig's by a constant (tracks of another
performer) keeps the rig's length: rotations only, as in retargeting. ``"exact"`` also translates
those, so every joint lands on its track; ``"off"`` keeps every bone rigid.
"""
from __future__ import annotations

import numpy as np

from ...errors import Pose2RotError
from ...noisy_lengths import median_noise, noisy_mean
from ...rotations import (axis_angle_to_matrix, cross, norm, normalize, rotation_about, rotation_between,
                          rotation_vector, twist_angle)
from ...running import running_mean, running_mean_of_data, running_mean_noise, window_frames
from ...safety import CLEAN_TOLERANCE, NOISE_STDS
from ...noise_estimate import NOISE_FRAMES, bone_lengths, column_nanmedian
from ...smoothing import segments
from ...skeleton import Skeleton
from ...solution import Solution
from ...stacks import (any_per_point, component_major, empty_matrices, empty_vectors, frame_mean, frames_first, frames_last,
                       joint_batches, joint_planes, joint_rows, mat_mul, mat_t_mul, mat_t_vec, mat_vec, planes_vec,
                       side_by_side)
from ...tracks import FLOAT32_STEPS, Tracks, float32_step
from ...tracks_io import check_root
from .chains import lean_with_chains
from .chained_fit import continuous_best_fit
from .fit import best_fit, blend_roll, fit_weight, held_roll, roll_gap, roll_var, slerp
from .lean import LEAN_SECONDS
from .problem import (STRETCH_FRACTION, LengthReadings, Problem, Target, classify_translation, collect_targets,
                      end_sites, line_means, report_length_mismatch, tied_steps, unit_mean)
from .rigid_fit import FIT_STDS, fit_to_lengths, rigid_lengths
from .roll import Aimed, aim_with_roll
from .turn_lean import lean_on_parent
from .twist_chains import TwistSpread, aim_past_segments, find_twist_bones, past_segments, spread_twist, twist_spread

TWIST_POLICIES = ("lookahead", "reference", "transport", "swing")
STRETCH_MODES = ("auto", "exact", "off")
#: noisy tracks' bone lengths are averaged over this long before asking whether joints translate
LENGTH_SECONDS = 0.25


def solve_geometric(tracks: Tracks, twist_guess: np.ndarray | None = None, twist: str = "lookahead",
                    stretch: str = "auto", stretch_tolerance: float = 1e-5, use_ends: bool = True,
                    missing: np.ndarray | None = None, progress=None, noise: float | np.ndarray = 0.0,
                    end_noise: np.ndarray | None = None, within_noise: float = 0.0,
                    input_positions: np.ndarray | None = None, input_noise: np.ndarray | None = None,
                    filled: np.ndarray | None = None, rounding: np.ndarray | None = None,
                    noise_frames: np.ndarray | None = None, end_noise_frames: np.ndarray | None = None,
                    narrowing: np.ndarray | None = None, end_narrowing: np.ndarray | None = None,
                    cuts: list[int] | None = None, points_on_rig: bool = False,
                    breaks: dict[int, list[int]] | None = None) -> Solution:
    """Solve local rotations from (gap-free) tracks.

    tracks: positions [T,J,3] without NaN except joints listed in ``missing`` (all-NaN joints).
    twist_guess: optional [T,J,3,3] local rotations giving the per-frame twist (hybrid).
    twist: one of TWIST_POLICIES. stretch: one of STRETCH_MODES. noise: std (per axis, fraction of
    the skeleton height; one value or [J]) of the noise left in the tracks: roll cues and bone
    directions weaker than it lean on the reference, length changes within it are not stretch;
    end_noise: the same for the bone tips [K] (default: as noisy as their joints).
    noise_frames / end_noise_frames: [T,J] / [T,K] the noise (as ``noise``) left in each frame,
    where smoothing left more in some (a clip's ends): a best fit trusts its targets' spread per
    frame by it (None: ``noise`` in every frame).
    narrowing / end_narrowing: [T,J] / [T,K] where the track smoothing narrowed its kernel, the
    noise variance it left over the widest kernel's (see smoothing.Cleaning): the cone widens by it
    there, and the budget reads the widest kernel's noise, so a few fast frames do not shrink it.
    cuts: the frames where the clip was cut (smoothing.find_cuts: a bind pose before the motion, two
    takes joined): the leans of noisy short bones read each piece between cuts on its own.
    breaks: {joint: [frames]} where the tracks turn a joint over (reversals.turned_over): that joint's
    leans read each side of those frames on its own too.
    within_noise: when > 0, each joint keeps its reference orientation (``twist_guess``: e.g. a
    solution smoothed over time) unless a target leaves the cone of that many noise stds around
    its track; then it turns just enough to bring it back. With ``input_noise``, it also turns
    towards the exact solve where it would move targets further, on average, than the noise the
    smoothing left in or took out of their tracks (see _within_noise).
    input_positions: [T,J,3] the tracks before smoothing, when they were smoothed, with their noise
    ``input_noise`` [J] (as ``noise``): which joints translate, and how long bones are, is read
    from them (smoothing must neither make nor hide it). filled: [T,J] samples that were gaps in the
    tracks, filled by interpolation: they say nothing about how bones change length, nor do
    samples interpolated between keys (Tracks.keyed), though their positions are data.
    rounding: [J] the noise (as ``noise``) that tracks followed as given still show (numbers
    rounded when written): where it matters beyond the clean tolerance, bone lengths and offsets
    are read averaged over LENGTH_SECONDS, and one that moves within what the noise explains is no
    reason to translate.
    points_on_rig: the tracks are another skeleton's points put on the rig through a map (retargeting),
    whose bones need not keep the rig's proportions: no warning of bones no performer has.
    Noisy tracks are first moved to the bones' lengths (_fit_tracks_to_lengths).
    Returns a Solution with exact positions wherever bone lengths agree.
    """
    if twist not in TWIST_POLICIES:
        raise Pose2RotError(f"unknown twist policy '{twist}' (choose from {', '.join(TWIST_POLICIES)})")
    if stretch not in STRETCH_MODES:
        raise Pose2RotError(f"unknown stretch mode '{stretch}' (choose from {', '.join(STRETCH_MODES)})")
    missing_mask = _missing_mask(tracks, missing)
    report: list[str] = []
    length_noise = _raw_bone_noise(tracks.skeleton, input_noise)
    unmeasured = tracks.unmeasured(filled)
    averaged = _rounding_matters(rounding)  # then lengths and offsets are read over quarter seconds
    rounded = _raw_bone_noise(tracks.skeleton, rounding) if averaged else None
    lengths = (_bone_lengths(tracks, tracks.positions, rounded, unmeasured) if averaged
               else _bone_lengths(tracks, input_positions, length_noise, unmeasured))
    problem, mismatch = _build_problem(tracks, twist_guess, twist, stretch, use_ends, missing_mask, noise, report,
                                       lengths)
    _set_pieces(problem, cuts, breaks)
    problem.gaps = filled if filled is not None and filled.any() else None
    _set_noise(problem, noise, end_noise, noise_frames, end_noise_frames, input_noise)
    _fit_tracks_to_lengths(problem, unmeasured, missing_mask)
    _set_cone(problem, within_noise, noise, noise_frames, input_noise, narrowing, end_narrowing)
    G, spread = _orient_all(problem, progress)
    width = _length_window(tracks.fps) if averaged else 1
    kept = averaged and stretch == "auto"  # the tracks' own departure from the rigid shape is no stretch
    shape = _rigid_departure(tracks.skeleton, lengths, problem.translating, missing_mask) if kept else 0.0
    tolerance = _offset_tolerance(tracks.skeleton, stretch_tolerance, rounded, width,
                                  _coordinate_step(tracks, unmeasured), shape)
    local_offsets = _solve_offsets(problem, G, stretch, tolerance, missing_mask, report, unmeasured, width)
    # bones no performer has: on the rig's own tracks, over enough frames to read their noise from
    unlike = not points_on_rig and tracks.num_frames >= NOISE_FRAMES
    report_length_mismatch(tracks.skeleton, mismatch, missing_mask, problem.translating, report, length_noise,
                           unlike)
    aimed_through = tuple(sorted({int(k) for target in problem.past_segments.values() for k in target.chain}))
    return Solution.from_globals(tracks.skeleton, G, problem.positions[:, 0].copy(), local_offsets,
                                 problem.translating, report=report, solver="geometric", segments=aimed_through,
                                 twist=spread if spread.bones else None)


def _set_noise(problem: Problem, noise: float | np.ndarray, end_noise: np.ndarray | None,
               noise_frames: np.ndarray | None, end_noise_frames: np.ndarray | None,
               input_noise: np.ndarray | None) -> None:
    """Put the noise of the tracks (fractions of the height, see solve_geometric) into ``problem``
    as variances in file units: the bone tips', per frame where given, and the share of each
    joint's frames that vary independently."""
    height = problem.tracks.skeleton.height
    if input_noise is not None:
        problem.freedom = _freedom(input_noise, noise)
    if end_noise is not None:
        problem.end_var = (np.asarray(end_noise, np.float64) * height) ** 2
    if noise_frames is not None and problem.noise_var.any():
        problem.noise_var_frames = (np.asarray(noise_frames, np.float64) * height) ** 2
        if end_noise_frames is not None:
            problem.end_var_frames = (np.asarray(end_noise_frames, np.float64) * height) ** 2


def _fit_tracks_to_lengths(problem: Problem, unmeasured: np.ndarray | None, missing: np.ndarray) -> None:
    """On noisy tracks, move ``problem``'s tracks (joints and bone tips) to the nearest points, by
    the noise told, where each bone keeps its length (rigid_fit.fit_to_lengths): read from these
    tracks over the frames that measure them (not ``unmeasured`` [T,J]: filled gaps keep their
    samples too), less the noise left in them (rigid_lengths; the tracks as given carry noise whose
    level is read less surely: a joint read at 2.5 % of the height under depth noise of 0.7 %).
    Bones that translate, have no length, lose an end (``missing`` [J]) or are shorter than FIT_STDS
    noise stds keep their tracks."""
    if not problem.noise_var.any():
        return
    skel, J = problem.skeleton, problem.skeleton.num_joints
    joint_var = problem.point_var(np.arange(J)).T  # [T|1,J]
    parents = np.array(skel.parents)
    lengths = rigid_lengths(problem.positions, parents, problem.noise_var, unmeasured)
    points, var = problem.positions, joint_var
    if problem.ends is not None:
        end_parents = np.asarray(problem.tracks.end_parents, np.int64)
        tip_var = problem.point_var(np.arange(len(end_parents)), True).T  # [T|1,K]
        tips = np.concatenate([points, problem.ends], axis=1)
        tip_parents = np.concatenate([parents, end_parents])
        lengths = np.concatenate([lengths, rigid_lengths(tips, tip_parents, np.concatenate(
            [problem.noise_var, np.asarray(tip_var).mean(axis=0)]))[J:]])
        points, parents = tips, tip_parents
        frames = max(len(joint_var), len(tip_var))
        var = np.concatenate([np.broadcast_to(x, (frames, x.shape[1])) for x in (joint_var, tip_var)], axis=1)
    if unmeasured is not None:  # a filled gap is no sample to fit: its bones keep those frames
        points = np.where(np.pad(unmeasured, ((0, 0), (0, len(parents) - J)))[..., None], np.nan, points)
    held = np.zeros(len(parents), bool)
    held[:J] = problem.translating | problem.zero_length | missing | ~skel.bone_has_length
    held |= (parents >= 0) & missing[np.maximum(parents, 0)]
    ends_var = np.asarray(var).max(axis=0)
    short = ~(lengths >= FIT_STDS * np.sqrt(ends_var + ends_var[np.maximum(parents, 0)]))
    fitted = fit_to_lengths(points, np.where(held | short, -1, parents), lengths, var)
    sampled = ~np.isnan(fitted[..., 0])
    problem.positions[sampled[:, :J]] = fitted[:, :J][sampled[:, :J]]
    if problem.ends is not None:
        problem.ends[sampled[:, J:]] = fitted[:, J:][sampled[:, J:]]


def _set_pieces(problem: Problem, cuts: list[int] | None, breaks: dict[int, list[int]] | None) -> None:
    """Put the clip's ``cuts`` (pieces the leans read on their own, steps no roll carries over) and the
    joints' ``breaks`` (frames a joint turned over, see solve_geometric) into ``problem``."""
    problem.pieces = segments(problem.num_frames, cuts) if cuts else []
    problem.tied = tied_steps(problem.num_frames, cuts, problem.tracks.reference_frame)
    problem.breaks = breaks or {}


def _set_cone(problem: Problem, within_noise: float, noise: float | np.ndarray, noise_frames: np.ndarray | None,
              input_noise: np.ndarray | None, narrowing: np.ndarray | None,
              end_narrowing: np.ndarray | None) -> None:
    """Put the cone of ``within_noise`` noise stds into ``problem`` (see solve_geometric): where the
    track smoothing narrowed it widens, and the budget reads the widest kernel's noise."""
    problem.cone = within_noise
    if within_noise > 0 and narrowing is not None:
        problem.narrowing, problem.end_narrowing = narrowing, end_narrowing
    if within_noise > 0 and input_noise is not None:
        widest = noise if narrowing is None or noise_frames is None else np.sqrt(
            (np.asarray(noise_frames) ** 2 / narrowing).mean(axis=0))
        problem.shift_var = _smoothing_budget(input_noise, widest) * problem.tracks.skeleton.height ** 2


def _orient_all(problem: Problem, progress=None) -> tuple[np.ndarray, TwistSpread]:
    """([T,J,3,3] every joint's global orientation, depth by depth from the root (on noisy tracks
    each joint placed where its parent's orientation puts it first), twist joints last; what
    spread the twist along the bones with twist joints)."""
    skel = problem.tracks.skeleton
    G = empty_matrices((problem.num_frames, skel.num_joints))
    if problem.noise_var.any():  # noise must not add up along chains
        problem.solved = empty_vectors(problem.positions.shape[:2])
        problem.solved.fill(np.nan)  # not placed yet: seen from its track (Problem.observed)
    twist_bones = find_twist_bones(problem) if problem.twist != "swing" else []
    problem.past_segments = past_segments(problem, twist_bones)
    if problem.noise_var.any():
        aim_past_segments(problem)
    done = 0
    for joints in skel.levels:
        for j in joints:
            problem.place(j, G)
        _orient_level(problem, joints, G)
        done += len(joints)
        if progress is not None:
            progress(done / skel.num_joints, f"solved {done}/{skel.num_joints} joints")
    spread = twist_spread(problem, twist_bones)
    spread_twist(spread, G, problem.positions)
    return G, spread


def _missing_mask(tracks: Tracks, missing: np.ndarray | None) -> np.ndarray:
    """[J] joints without data; checks that the root has data and nothing else is NaN."""
    skel = tracks.skeleton
    mask = np.zeros(skel.num_joints, bool)
    if missing is not None:
        mask[np.asarray(missing, np.int64)] = True
    check_root(tracks)
    if (any_per_point(np.isnan(tracks.positions)) & ~mask).any():
        raise Pose2RotError("geometric solver: positions contain NaN; fill gaps first (pose2rot_core.tracks_io.fill_gaps)")
    return mask


def _raw_bone_noise(skel, input_noise: np.ndarray | None) -> np.ndarray | None:
    """[J-1] std (file units) of the noise in each bone's length in the tracks as given."""
    if input_noise is None:
        return None
    raw = np.asarray(input_noise) * skel.height
    return np.hypot(raw[1:], raw[skel.parents[1:]])


def _bone_lengths(tracks: Tracks, input_positions: np.ndarray | None, raw_noise: np.ndarray | None,
                  filled: np.ndarray | None = None) -> LengthReadings:
    """The tracks' bone lengths over time and the noise in them (see LengthReadings), NaN where
    either end was a gap (``filled`` [T,J]): read from the tracks as given (``input_positions``,
    whose bone vectors carry noise of std ``raw_noise`` [J-1] per axis); noisy ones are averaged
    over LENGTH_SECONDS first (over the samples each window has where some are gaps or between keys,
    Tracks.keyed: a window holding a gap would have no average, and a clip shorter than a window no
    reading of the bone at all), so that what remains is how the motion changes them, less what noise adds
    to a bone of the rig's length on average (noisy_lengths.noisy_mean: a bone of no length reads
    as one of 1.6 noise stds), never below no length (ends that share their noise, as a joint
    written at its parent's point and rounded with it, read none). Each frame's average has the
    noise of the samples it takes (more near the clip's ends, where the window counts some twice:
    running_mean_noise)."""
    skel = tracks.skeleton
    bones = np.arange(1, skel.num_joints)
    lengths = bone_lengths(tracks.positions if input_positions is None else input_positions, bones, skel.parents[1:],
                           filled)
    none = np.zeros(skel.num_joints - 1)
    if input_positions is None:
        return LengthReadings(lengths, none, none)
    width = _length_window(tracks.fps)
    raw = none if raw_noise is None else raw_noise
    rest = np.linalg.norm(skel.offsets[1:], axis=-1)
    lengthened = noisy_mean(rest, raw) - rest
    seen = ~np.isnan(lengths)
    if tracks.keyed is None and seen.all():
        everywhere = np.ones((len(lengths), 1), bool)
        averaged, noise = running_mean(lengths, width), raw * running_mean_noise(everywhere, width)
    else:
        averaged, noise = running_mean_of_data(lengths, width), raw * running_mean_noise(seen, width)
    return LengthReadings(np.maximum(averaged - lengthened, 0.0), noise, median_noise(raw, seen.sum(axis=0)))


def _build_problem(tracks: Tracks, twist_guess: np.ndarray | None, twist: str, stretch: str, use_ends: bool,
                   missing: np.ndarray, noise: float, report: list[str],
                   lengths: LengthReadings) -> tuple[Problem, np.ndarray]:
    """(the Problem, every non-root joint's typical track length less the rig's bone length [J-1]);
    ``lengths``: the tracks' bone lengths and the noise in them (see _bone_lengths)."""
    skel, P = tracks.skeleton, tracks.positions
    T, J = P.shape[:2]
    if twist_guess is not None:
        guess = np.asarray(twist_guess, np.float64)
        if guess.shape != (T, J, 3, 3):
            raise Pose2RotError(f"twist guess must be [{T},{J},3,3], got {list(guess.shape)}")
    else:
        ref = tracks.reference_rotations if tracks.reference_rotations is not None else np.eye(3)[None]
        guess = np.broadcast_to(ref, (T, J, 3, 3))
    bone_len = np.linalg.norm(skel.offsets, axis=-1)
    typical = column_nanmedian(lengths.dist) if J > 1 else np.zeros(0)
    typical = np.where(np.isnan(typical), bone_len[1:], typical)  # a bone never seen whole: the rig's
    mismatch = typical - bone_len[1:] if J > 1 else np.zeros(0)
    noise_var = np.broadcast_to((np.asarray(noise, np.float64) * skel.height) ** 2, (J,)).copy()
    translating, free = classify_translation(skel, lengths, typical, missing, stretch, report, float32_step(P))
    no_length = ~skel.bone_has_length
    no_length[0] = False
    zero_len = no_length & ~translating
    # a joint of no length that translates within reach (not free) shows its parent no direction:
    # the parent aims past it, as past any zero-length joint
    targets = collect_targets(skel, no_length & ~free, free, missing, end_sites(tracks) if use_ends else [])
    ends = component_major(tracks.end_positions, matrices=False) if tracks.has_ends else None
    problem = Problem(tracks, component_major(P, matrices=False), guess, targets, translating, zero_len, twist,
                      noise_var=noise_var, ends=ends)
    return problem, mismatch


def _orient_level(problem: Problem, joints: np.ndarray, G: np.ndarray) -> None:
    """Write the global orientations of ``joints`` [n] (one tree depth: their parents already
    there) into ``G`` [T,J,3,3]: those that aim one clean target (see _aims_alone) together, a
    few at a time (core.stacks.joint_batches), the zero-length ones apart (their roll follows no
    child); the other joints with one target (noisy tracks, the cone) likewise (_orient_one_target);
    the rest one by one. The parents' orientations and the reference ones are gathered batch by
    batch, so that a long clip's stacks stay as small as one batch."""
    alone = np.array([_aims_alone(problem, j) for j in joints])
    one = ~alone & (problem.twist != "swing") & np.array([len(problem.aims[j].targets) == 1 for j in joints])
    for same_path in (one & problem.zero_length[joints], one & ~problem.zero_length[joints]):
        for rows in joint_batches(np.flatnonzero(same_path), problem.num_frames):
            _orient_one_target(problem, joints[rows], G)
    for same_path in (alone & problem.zero_length[joints], alone & ~problem.zero_length[joints]):
        for rows in joint_batches(np.flatnonzero(same_path), problem.num_frames):
            batch = joints[rows]
            parent_frames = _parent_frames(problem, batch, G)
            aims = [problem.aims[j] for j in batch]
            axis = side_by_side([unit_mean(problem.sources(a.targets)) if a.axis is None else a.axis for a in aims])
            into = frames_first(joint_rows(joint_planes(G), batch)) if len(batch) == 1 else None  # a view
            solved = _single_aim(problem, batch, axis, side_by_side([a.direction for a in aims]),
                                 _desired(problem, batch, parent_frames), parent_frames, into)
            if into is None:
                joint_planes(G)[batch] = frames_last(solved)
    for j in joints[~alone & ~one, None]:  # [1] each
        parent_frames = _parent_frames(problem, j, G)
        orient_joint(problem, int(j[0]), _desired(problem, j, parent_frames)[:, 0],
                     None if parent_frames is None else parent_frames[:, 0], G)


def _orient_one_target(problem: Problem, joints: np.ndarray, G: np.ndarray) -> None:
    """Write into ``G`` [T,J,3,3] the orientations of ``joints`` [n] (one depth, all zero-length or
    none, one primary target each, not aiming alone: see _aims_alone) as orient_joint does, the
    aim with its roll (_single_aim) for all n at once: each target leaned on the parent on noisy
    tracks (lean_with_chains), each joint kept within the cone (_within_cones) when there is one."""
    parent_frames = _parent_frames(problem, joints, G)
    desired = _desired(problem, joints, parent_frames)
    primary = [problem.aims[j].targets for j in joints]
    src = side_by_side([problem.sources(targets)[:, 0] for targets in primary])  # [T|1,n,3]
    obs = side_by_side([problem.observed(targets, j)[:, 0] for j, targets in zip(joints, primary)])
    var = np.array([problem.offset_var(j, t) for j, t in zip(joints, primary)])  # [n] per axis
    if problem.noise_var.any():
        samples = np.array([problem.independent_frames(j, t) for j, t in zip(joints, primary)])
        obs = lean_with_chains(problem, joints, var, samples, src, obs, desired, parent_frames)
    exact = _single_aim(problem, joints, normalize(src), normalize(obs), desired, parent_frames)
    if problem.cone > 0:
        budget = None if problem.shift_var is None else np.array([_shift_budget(problem, j, t)
                                                                  for j, t in zip(joints, primary)])
        cap = problem.cone * np.sqrt(np.stack([problem.cone_var(j, t) for j, t in zip(joints, primary)], axis=-1))
        exact = _within_cones(cap, budget, normalize(src), src[:, :, None], obs[:, :, None],
                              desired, exact)
    joint_planes(G)[joints] = frames_last(exact)


def _parent_frames(problem: Problem, joints: np.ndarray, G: np.ndarray) -> np.ndarray | None:
    """[T,n,3,3] the orientations in ``G`` of the parents of ``joints`` [n] (one depth; a view for
    one joint), or None for the root."""
    parents = problem.skeleton.parents[joints]
    return None if parents[0] < 0 else frames_first(joint_rows(joint_planes(G), parents))


def _desired(problem: Problem, joints: np.ndarray, parent_frames: np.ndarray | None) -> np.ndarray:
    """[T,n,3,3] the global orientations that keep the reference local rotations of ``joints``
    [n], their parents at ``parent_frames`` [T,n,3,3] (None: the root, alone at its depth)."""
    if parent_frames is None:
        return component_major(problem.guess[:, joints])
    if problem.constant_guess and problem.at_rest[joints].all():
        return parent_frames  # the rest pose: the parents' orientations themselves
    return mat_mul(parent_frames, problem.guess[0, joints] if problem.constant_guess else problem.guess[:, joints])


def _aims_alone(problem: Problem, j: int) -> bool:
    """Whether joint ``j`` points at its one target from its track (clean tracks) with the roll of a
    twist policy, nothing else to weigh."""
    return problem.aims[j].direction is not None and problem.twist != "swing" and problem.cone == 0


def orient_joint(problem: Problem, j: int, desired: np.ndarray, parent_frame: np.ndarray | None,
                 G: np.ndarray) -> None:
    """Write the global orientation [T,3,3] of joint ``j`` into ``G[:, j]``: ``desired`` [T,3,3]
    keeps its reference local rotation, its parent is at ``parent_frame`` [T,3,3] (None: the root)."""
    primary = problem.aims[j].targets
    if not primary:
        G[:, j] = desired
        return
    src, obs = problem.sources(primary), problem.observed(primary, j)
    if problem.noise_var.any():
        obs = lean_on_parent(problem, j, primary, src, obs, desired, parent_frame)
    if problem.twist == "swing":
        G[:, j] = _plain_swing(problem, primary, src, obs, desired)
    elif problem.cone > 0:  # keep the (smooth) reference wherever the tracks' noise explains the difference
        exact = _hit_targets(problem, j, primary, src, obs, desired, parent_frame)
        G[:, j] = _within_noise(problem, j, primary, src, obs, desired, exact)
    else:
        _hit_targets(problem, j, primary, src, obs, desired, parent_frame, out=G[:, j])


def _hit_targets(problem: Problem, j: int, primary: list, src: np.ndarray, obs: np.ndarray,
                 desired: np.ndarray, parent_frame: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
    """[T,3,3] orientation of ``j`` hitting its primary targets: their best fit where they fix the
    roll, the single aim with the twist policy's roll where they do not, blended in between;
    ``parent_frame`` [T,3,3]: the parent's orientation (None for the root). Written into ``out``
    when given. Targets that are gaps in some frames do not pull it there (_seen_targets)."""
    if len(primary) == 1:
        alone = _single_aim(problem, np.array([j]), _alone(unit_mean(src)), _alone(unit_mean(obs)), _alone(desired),
                            _alone(parent_frame))
        return _written(out, alone[:, 0])
    seen = _seen_targets(problem, primary)
    if seen is None:
        return _hit_all_targets(problem, j, primary, src, obs, desired, parent_frame, out)
    G = _hit_all_targets(problem, j, primary, src, obs, desired, parent_frame)
    return _written(out, _without_lost_targets(problem, j, primary, src, obs, G, seen))


def _hit_all_targets(problem: Problem, j: int, primary: list, src: np.ndarray, obs: np.ndarray,
                     desired: np.ndarray, parent_frame: np.ndarray | None, out: np.ndarray | None = None
                     ) -> np.ndarray:
    """_hit_targets with every target taken as data."""
    weight = problem.aims[j].weight
    weight = fit_weight(src, problem.offset_var_frames(j, primary)) if weight is None else weight
    problem.determined[j] = weight
    if weight.min() >= 1.0:
        return _written(out, continuous_best_fit(primary, src, obs, desired, problem.target_weights(j, primary),
                                                 problem.tied))
    axis, direction = line_means(src, obs)  # axis [1,3] when the same in every frame
    along = aim_with_roll(problem, np.array([j]), _alone(axis), _alone(direction), _alone(desired),
                          [_aimed(problem, primary)], _alone(parent_frame))[:, 0]
    if weight.max() <= 0.0:
        return _written(out, along)
    fit = continuous_best_fit(primary, src, obs, desired, problem.target_weights(j, primary), problem.tied)
    gap = roll_gap(along, fit, axis)
    roll = None
    if problem.noise_var.any() and problem.cone == 0:
        roll = held_roll(weight, roll_var(src, problem.offset_var_frames(j, primary)), gap[1],
                         window_frames(LEAN_SECONDS, problem.tracks.fps), problem.independent_frames(j, primary))
    return _written(out, blend_roll(along, fit, axis, weight, gap, roll))


def _seen_targets(problem: Problem, primary: list) -> np.ndarray | None:
    """[T,n] whether each target has data in each frame (gaps filled by interpolation have none;
    a frame where none has any counts them all), or None when all have in every frame."""
    if problem.gaps is None:
        return None
    seen = np.array([np.ones(problem.num_frames, bool) if t.is_end else ~problem.gaps[:, t.index]
                     for t in primary]).T
    if seen.all():
        return None
    seen[~seen.any(axis=1)] = True
    return seen


def _without_lost_targets(problem: Problem, j: int, primary: list, src: np.ndarray, obs: np.ndarray,
                          G: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """[T,3,3] ``G`` (the orientation solved as if every target had data) where some targets are
    gaps (``seen`` [T,n]) turned to follow only the targets with data: their best fit as far as
    they fix the roll (their own fit weight), else ``G`` swung to aim the first of them exactly
    (so a lost point only decides what the others leave open: no jump where the gap begins)."""
    out = np.array(G)
    for pattern in np.unique(seen[~seen.all(axis=1)], axis=0):
        rows = np.flatnonzero((seen == pattern).all(axis=1))
        kept = [t for t, k in zip(primary, pattern) if k]
        s, o = src[:, pattern] if src.shape[0] == 1 else src[rows][:, pattern], obs[rows][:, pattern]
        first = mat_vec(G[rows], normalize(s[:, 0]))
        steady = mat_mul(rotation_between(first, normalize(o[:, 0])), G[rows])
        if len(kept) < 2:
            out[rows] = steady
            continue
        var = problem.offset_var_frames(j, kept)
        weight = np.broadcast_to(fit_weight(s, var if len(var) == 1 else var[rows]), (len(rows),))
        out[rows] = slerp(steady, best_fit(kept, s, o, G[rows]), weight)
    return out


def _single_aim(problem: Problem, joints: np.ndarray, axis: np.ndarray, direction: np.ndarray, desired: np.ndarray,
                parent_frame: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
    """[T,n,3,3] orientations of ``joints`` [n] (see aim_with_roll) each aiming its one target's
    ``axis`` [T|1,n,3] (joint frame) along ``direction`` [T,n,3] (world), with the twist policy's
    roll: nothing else fixes it. Written into ``out`` [T,n,3,3] when given."""
    for j in joints:
        problem.determined[int(j)] = _NOT_FIXED
    aimed = [(problem.past_segments.get(int(j), problem.aims[j].targets[0]),) for j in joints]
    return aim_with_roll(problem, joints, axis, direction, desired, aimed, parent_frame, out)


def _alone(x: np.ndarray | None) -> np.ndarray | None:
    """A stack [T,...] of one joint as a batch [T,1,...] of joints (None stays None)."""
    return None if x is None else x[:, None]


#: the trust in the fit of a joint with one target: none (read-only, shared)
_NOT_FIXED = np.zeros(1)
_NOT_FIXED.flags.writeable = False


def _written(out: np.ndarray | None, x: np.ndarray) -> np.ndarray:
    """``x``, copied into ``out`` when given."""
    if out is None:
        return x
    out[...] = x
    return out


def _aimed(problem: Problem, primary: list[Target]) -> Aimed:
    """The points whose bends may inform the roll of a joint whose targets do not spread (they lie
    on one line: a share bone beside the real child, twist joints on the bone): every target with
    targets of its own, all of them, so that neither the order of the children nor which of them
    lies a little further decides; else the farthest target."""
    informing = tuple(t for t in primary if not t.is_end and problem.targets[t.index])
    return informing or (max(primary, key=lambda t: float(np.linalg.norm(t.offset))),)


def _freedom(input_noise: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """[J] the share of a smoothed track's frames that vary independently: the noise variance the
    smoothing left (``noise`` [J]) over the tracks' own (``input_noise`` [J]), 1 where untouched."""
    raw = np.asarray(input_noise, np.float64) ** 2
    left = np.broadcast_to(np.asarray(noise, np.float64) ** 2, raw.shape)
    return np.where(raw > 0, np.clip(left / np.where(raw > 0, raw, 1.0), 1e-6, 1.0), 1.0)


def _smoothing_budget(input_noise: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """[J] per-axis variance (fraction of the height, squared) by which smoothing the solution may
    move each joint, on average, from the exact solve of the smoothed tracks: half of the noise
    the track smoothing left in (``noise`` [J]: a solution at the true positions moves about that
    far) or of what it took out of the raw tracks (``input_noise`` [J]: a smoothness the tracks do
    not pay for, as in fast motion), whichever is less. A move that does not know where the truth
    is adds its variance to the error: with all of what was taken out, the result would be expected
    as far off as the raw tracks, and past them wherever the noise left is underestimated (a short
    kernel's bias at a low frame rate); with half, midway between the smoothed tracks and them."""
    left = np.asarray(noise, np.float64) ** 2
    return 0.5 * np.minimum(np.maximum(np.asarray(input_noise, np.float64) ** 2 - left, 0.0), left)


def _within_noise(problem: Problem, j: int, primary: list, src: np.ndarray, obs: np.ndarray, desired: np.ndarray,
                  exact: np.ndarray) -> np.ndarray:
    """[T,3,3]: ``desired`` turned towards ``exact`` just enough that no target (rest offsets ``src``
    [T|1,n,3] in the joint frame, seen at ``obs`` [T,n,3]) moves further from where ``exact`` puts
    it than ``problem.cone`` noise stds (both ends' noise). The turn from ``exact`` to ``desired``
    is split into a twist about the targets' common line and a swing of that line; a turn moves a
    target along an arc, the angle times its distance from the turn's axis, so the twist moves
    targets on or near the line little. The twist, which the targets decide least, is kept first
    and the swing takes what the cone leaves: a roll the targets hardly fix is not pulled towards
    the exact solve's, which follows their noise. Then, where the targets would still move further
    on average (mean square, 3 axes) than ``problem.shift_var`` allows, the swing (and, if that is
    not enough, the twist) is scaled down by one factor over the clip, so that the result stays as
    smooth as the smoothing made it instead of following the exact solve wherever it reaches a
    limit."""
    budget = None if problem.shift_var is None else np.array([_shift_budget(problem, j, primary)])
    cap = problem.cone * np.sqrt(problem.cone_var(j, primary))[:, None]
    return _within_cones(cap, budget, line_means(src, obs)[0][:, None], src[:, None], obs[:, None], desired[:, None],
                         exact[:, None])[:, 0]


def _shift_budget(problem: Problem, j: int, primary: list) -> float:
    """The mean square (3 axes, file units squared) by which the cone may move the targets
    ``primary`` of joint ``j`` from where the exact solve puts them (see _within_noise)."""
    return 3.0 * float(np.mean([problem.shift_var[j if t.is_end else t.index] for t in primary]))


def _within_cones(cap: np.ndarray, budget: np.ndarray | None, axis: np.ndarray, src: np.ndarray, obs: np.ndarray,
                  desired: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """[T,n,3,3] _within_noise of n joints at once, each column on its own: ``desired`` turned
    towards ``exact`` (both [T,n,3,3]) so that no target of a joint moves further than its ``cap``
    [n] (file units) nor, on average, than its ``budget`` [n] allows (None: no limit); ``axis``
    [T|1,n,3] the joint's targets' common line, ``src`` [T|1,n,m,3] and ``obs`` [T,n,m,3] its m
    targets' rest offsets and observed vectors (the twist may go further where the targets fit their
    tracks as well: _no_further_than_exact)."""
    rel = mat_t_mul(exact, desired)  # joint frame: exact -> desired = swing @ twist
    axis = np.broadcast_to(axis, rel.shape[:-1])
    twist = twist_angle(rel, axis)
    swing = rotation_vector(mat_mul(rel, rotation_about(axis, -twist)))
    in_cone, twist_move = _kept_turn(twist, _farthest_lever(axis, src, obs), cap)
    kept_twist = _no_further_than_exact(in_cone, twist, axis, src, obs, exact, cap)
    twist_move = np.where(kept_twist > in_cone, cap, twist_move)  # such a twist takes the whole cone
    room = np.maximum(cap - twist_move, 0.0)  # the moves add at most
    kept_swing, swing_move = _kept_turn(norm(swing), _farthest_lever(normalize(swing), src, obs), room)
    if budget is not None:
        kept_swing, kept_twist = _within_budget(swing_move, twist_move, budget, kept_swing, kept_twist)
    turned = mat_mul(exact, axis_angle_to_matrix(swing, norm(swing) * kept_swing))
    return mat_mul(turned, rotation_about(axis, kept_twist * twist))


def _kept_turn(angle: np.ndarray, lever: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(share [...] of a turn by ``angle`` [...] (radians, at most a half turn) kept so that it
    moves a point ``lever`` [...] from its axis no further than ``cap`` [...], the move it then
    makes): a turn moves such a point along the chord 2 lever sin(angle / 2), which the arc (the
    angle times the lever) overstates the more the turn nears a half turn (a roll its targets hardly
    fix, read the opposite way in one frame, was taken a third of the way)."""
    half = 0.5 * np.abs(angle)
    full = 2.0 * lever * np.sin(half)
    within = full <= cap
    reach = np.arcsin(np.clip(cap / np.maximum(2.0 * lever, 1e-300), 0.0, 1.0))
    share = np.where(within, 1.0, reach / np.maximum(half, 1e-300))
    return share, np.where(within, full, cap)


#: shares of a turn tried by _no_further_than_exact (0 is the exact solve's, 1 the desired one's)
TWIST_SHARES = np.linspace(0.0, 1.0, 17)


def _no_further_than_exact(kept: np.ndarray, twist: np.ndarray, axis: np.ndarray, src: np.ndarray,
                           obs: np.ndarray, exact: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """[T,n] the share of the ``twist`` [T,n] (radians, exact -> desired, about the unit targets'
    line ``axis`` [T|1,n,3]) kept: ``kept`` [T,n] (the cone about where the exact solve ``exact``
    [T,n,3,3] puts the targets), or more, up to all of it, where the targets' squared misses of
    their tracks (``obs`` [T,n,m,3], rest offsets ``src`` [T|1,n,m,3]), summed, grow by no more than
    the cone's ``cap`` [T|1,n] squared over the exact solve's: a twist that fits the tracks as well
    within the noise (the likelihood ratio of one turn's angle at the cone's level). Where targets
    lie near one line, noise moves them across it and the exact solve's twist about it reads the
    opposite way for a frame, its targets hardly nearer their tracks; the cone about its placement
    would pull the smooth twist half a turn there."""
    todo = kept < 1.0
    if not todo.any():
        return kept
    t, c = np.nonzero(todo)
    a = np.broadcast_to(axis, todo.shape + (3,))[t, c][:, None, None]  # [k,1,1,3]
    o = mat_t_vec(exact[t, c][:, None], obs[t, c])[:, None]  # [k,1,m,3] in the exact solve's joint frame
    q = normalize(np.broadcast_to(src, obs.shape)[t, c])[:, None] * norm(o)[..., None]
    allowed = np.broadcast_to(cap, todo.shape)[t, c] ** 2 + np.sum((q - o) ** 2, axis=(-1, -2))[:, 0]  # [k]
    angle = (twist[t, c][:, None] * TWIST_SHARES)[..., None, None]  # [k,S,1,1]
    along = a * np.sum(a * q, axis=-1, keepdims=True)
    turned = along + (q - along) * np.cos(angle) + cross(a, q) * np.sin(angle)
    within = np.sum((turned - o) ** 2, axis=(-1, -2)) <= allowed[:, None]  # [k,S]
    best = np.where(within, TWIST_SHARES, 0.0).max(axis=-1)
    out = kept.copy()
    out[t, c] = np.maximum(kept[t, c], best)
    return out


def _farthest_lever(axis: np.ndarray, src: np.ndarray, obs: np.ndarray) -> np.ndarray:
    """[T,...] distance from unit ``axis`` [T,...,3] (joint frame) of the farthest target (rest
    offsets ``src`` [T|1,...,m,3], at their tracks' lengths ``obs`` [T,...,m,3])."""
    return (norm(cross(axis[..., None, :], normalize(src))) * norm(obs)).max(axis=-1)


def _within_budget(swing_shift: np.ndarray, twist_shift: np.ndarray, budget: np.ndarray, kept_swing: np.ndarray,
                   kept_twist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(kept_swing, kept_twist) [T,n] scaled so that the mean square of each column's moves (at
    most the swing's ``swing_shift`` plus the twist's ``twist_shift``, [T,n]) stays within its
    ``budget`` [n]: the swing by the largest factor that does; when the twist alone is over it, no
    swing is kept and the twist is scaled down instead."""
    twist_square = frame_mean(twist_shift * twist_shift)
    a, ab = frame_mean(swing_shift * swing_shift), frame_mean(swing_shift * twist_shift)
    over = twist_square >= budget
    fits = a + 2.0 * ab + twist_square <= budget
    with np.errstate(divide="ignore", invalid="ignore"):  # a root of a f^2 + 2 ab f + b^2 = budget
        factor = (np.sqrt(ab * ab + a * (budget - twist_square)) - ab) / a
        twist_scale = np.where(twist_square <= budget, 1.0, np.sqrt(budget / twist_square))
    return (kept_swing * np.where(over, 0.0, np.where(fits, 1.0, factor)),
            kept_twist * np.where(over, twist_scale, 1.0))


def _offset_residual(seen: np.ndarray, expected: str, rig: np.ndarray, gaps: np.ndarray | None,
                     loose: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """[n] how far offsets ``seen`` [n,3,T] move from their mean over the clip (``expected``
    "auto") or the ``rig`` offsets [n,3] ("exact"), over the frames that are not ``gaps`` [n,T];
    with "auto", for the ``loose`` [n] ones (their parent's roll left open by its targets, see
    _roll_left_open) also how far their direction leaves the rig's, at the track's own length: such
    a parent may miss a child by the same amount in every frame (a short or still clip). Each
    frame's move is scaled by its ``weight`` [n,T] or [1,T] (an average of fewer samples is noisier: see
    _averaged_offsets; None: all 1)."""
    known = None if gaps is None or not gaps.any() else ~gaps[:, None, :]
    if known is None:
        mean = seen.mean(axis=-1) if expected == "auto" else rig
    else:
        count = np.maximum(known.sum(axis=-1), 1)
        mean = np.where(known, seen, 0.0).sum(axis=-1) / count if expected == "auto" else rig
    off = _plane_norm(seen - mean[:, :, None])  # [n,T]
    if expected == "auto" and loose.any():
        seen_loose = seen if loose.all() else seen[loose]
        direction = normalize(rig[loose])[:, :, None] * _plane_norm(seen_loose)[:, None, :]
        off[loose] = np.maximum(off[loose], _plane_norm(seen_loose - direction))
    if weight is not None:
        off *= weight
    return (off if known is None else np.where(gaps, 0.0, off)).max(axis=-1)


def _plane_norm(v: np.ndarray) -> np.ndarray:
    """[n,T] lengths of vectors given as planes v [n,3,T] (norm's sums, on the planes as stored)."""
    return norm(np.moveaxis(v, 1, -1))


def _roll_left_open(problem: Problem, joints: np.ndarray) -> np.ndarray:
    """[n] whether the parent of each of ``joints`` took its roll, in some frame, at least partly
    from a twist policy rather than from its targets (a fit weight below 1, see fit)."""
    parents = problem.skeleton.parents[joints]
    return np.array([float(np.min(problem.determined.get(int(p), 1.0))) < 1.0 for p in parents], bool)


def _plain_swing(problem: Problem, primary: list, src: np.ndarray, obs: np.ndarray,
                 desired: np.ndarray) -> np.ndarray:
    """The plain baseline: best fit of targets that spread at all (more than 0.06 degrees from one
    line), else the smallest swing of their mean direction from the reference; the reference where
    targets of no length (a joint on its parent, as the rig holds it or the tracks show it) give no
    direction."""
    if len(primary) >= 2:
        length = np.linalg.norm(src[0], axis=-1, keepdims=True)
        u = np.divide(src[0], length, out=np.zeros_like(src[0]), where=length > 0)
        if np.abs(np.cross(u[:, None], u[None])).max() > 1e-3:
            return best_fit(primary, src, obs, desired)
    axis, direction = line_means(src, obs)                     # unit, or zero where nothing aims
    swung = mat_mul(rotation_between(mat_vec(desired, axis), direction), desired)
    aimless = np.broadcast_to((axis * axis).sum(-1) < 0.25, swung.shape[:-2]) | ((direction * direction).sum(-1) < 0.25)
    return np.where(aimless[..., None, None], desired, swung) if aimless.any() else swung


def _length_window(fps: float) -> int:
    """The odd number of frames (at least 3) over which lengths and offsets of noisy tracks are
    averaged: LENGTH_SECONDS."""
    return window_frames(LENGTH_SECONDS, fps)


def _rounding_matters(rounding: np.ndarray | None) -> bool:
    """Whether tracks followed as given show noise (``rounding`` [J], fraction of the height) that
    matters beyond the clean tolerance (NOISE_STDS of it): then their bone lengths and offsets are
    read as those of smoothed tracks are, averaged over LENGTH_SECONDS, so that only what outlasts
    the noise is stretch."""
    return rounding is not None and NOISE_STDS * float(np.max(rounding, initial=0.0)) > CLEAN_TOLERANCE


def _offset_tolerance(skel, tolerance: float, bone_noise: np.ndarray | None, width: int, step: float = 0.0,
                      shape: float = 0.0) -> np.ndarray:
    """[J-1] how far (fraction of the height) each joint's offset, averaged over ``width`` frames,
    may move before it translates on tracks followed as given: ``tolerance``, FLOAT32_STEPS of the
    ``step`` the coordinates are given in (file units: _coordinate_step), or what the noise of its
    bone's ends (``bone_noise`` [J-1], file units: _raw_bone_noise), so averaged, explains
    (NOISE_STDS stds), whichever is more; where that noise is given (tracks whose rounding matters),
    also ``shape``, how far the tracks themselves leave the rig's rigid shape (_rigid_departure)."""
    least = max(tolerance, FLOAT32_STEPS * step / skel.height)
    if bone_noise is None:
        return np.full(skel.num_joints - 1, least)
    return np.maximum(max(least, shape), NOISE_STDS * bone_noise / skel.height / np.sqrt(width))


def _rigid_departure(skel: Skeleton, lengths: LengthReadings, translating: np.ndarray, missing: np.ndarray) -> float:
    """How far (fraction of the height, at most STRETCH_FRACTION) the tracks leave the rig's rigid
    shape where no roll plays a part: the largest range over the clip of a bone's length as read
    (``lengths.dist`` [T,J-1], averaged where the tracks' rounding matters) among the bones that keep
    it (no ``translating`` [J] joint, both ends with data: not ``missing`` [J]). An offset that moves
    no further is the tracks' doing, not a roll the parent's targets leave open: curves simplified
    when written (an FBX export drops the samples that differ from the last one kept by under 0.1 %
    of their value, straight lines between those left) leave the rigid shape for several frames at a
    time, which the noise read frame to frame does not tell and an average does not take out."""
    keep = ~translating[1:] & ~missing[1:] & ~missing[skel.parents[1:]]
    dist = lengths.dist[:, keep]
    seen = np.isfinite(dist).any(axis=0)
    if not seen.any():
        return 0.0
    spread = np.nanmax(dist[:, seen], axis=0) - np.nanmin(dist[:, seen], axis=0)
    return min(STRETCH_FRACTION, float(spread.max()) / skel.height)


def _coordinate_step(tracks: Tracks, unmeasured: np.ndarray | None) -> float:
    """The step (file units) of the numbers the tracks [T,J,3] were given in: their coordinate_step
    where the reader knew it (Blender's float32 empties read in a moved, scaled armature's space),
    else read from the positions not ``unmeasured`` [T,J] (gaps filled here are not the tracks'
    numbers): float32's spacing at their largest magnitude where most joints' coordinates are all
    float32 numbers (a float32 .npz, empties of an armature at the origin; a joint placed in float64
    between tracked ones, or carried with the body, is no reader's number), else 0 (float64's is far
    below any tolerance). Rounding to float32 moves a coordinate by up to half a step: 1000 units
    out, 3e-5, which for a body 1.4 units tall is 2e-5 of its height."""
    if tracks.coordinate_step is not None:
        return tracks.coordinate_step
    positions = tracks.positions
    seen = np.isfinite(positions).all(axis=-1)
    if unmeasured is not None:
        seen &= ~unmeasured
    in_float32 = (~seen[..., None] | (positions.astype(np.float32) == positions)).all(axis=(0, 2))  # [J]
    tracked = seen.any(axis=0)
    if 2 * int((in_float32 & tracked).sum()) <= int(tracked.sum()):
        return 0.0
    return float32_step(positions[seen])


def _solve_offsets(problem: Problem, G: np.ndarray, stretch: str, tolerance: np.ndarray,
                   missing: np.ndarray, report: list[str], filled: np.ndarray | None = None, width: int = 1
                   ) -> np.ndarray:
    """[T,J,3] parent-local offsets: the rig's, except translating joints (``problem.translating``,
    updated in place, and said in ``report``: on clean tracks, with stretch "auto" also joints whose
    offset seen in the solved parent frame changes over the clip by more than ``tolerance`` [J-1]
    (fraction of the height) — a parent whose roll its targets do not fix — with "exact" also those
    off the rig's; in the frames where neither end was a gap, ``filled`` [T,J]; offsets averaged
    over ``width`` frames first) whose offsets follow the tracks."""
    skel, P = problem.skeleton, problem.positions
    T, J = P.shape[:2]
    local_offsets = np.broadcast_to(skel.offsets, (T, J, 3)).copy()
    local_offsets[:, 0] = P[:, 0]
    if J < 2:
        return local_offsets
    par = skel.parents[1:]
    check = stretch != "off" and not problem.noise_var.any()  # noisy tracks are not hit exactly anyway
    seen, residual = _offsets_seen(problem, G, stretch if check else None, filled, width)
    translating = problem.translating
    if check:
        valid = ~missing[1:] & ~missing[par]
        added = valid & (residual > tolerance * skel.height) & ~translating[1:]
        translating[1:] |= added
        if added.any():
            names = [skel.names[j + 1] for j in np.flatnonzero(added)]
            shown = ", ".join(f"'{n}'" for n in names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
            report.append(f"{len(names)} more {'joint is' if len(names) == 1 else 'joints are'} put on the track "
                          f"by translation ({shown}): the parent's roll is not fixed by its targets")
    moving = np.flatnonzero(translating[1:])
    local_offsets[:, moving + 1] = seen[moving].transpose(2, 0, 1)
    if problem.solved is not None and moving.size:
        _from_placed_parents(skel, G, P, local_offsets, translating)
    return local_offsets


def _from_placed_parents(skel: Skeleton, G: np.ndarray, P: np.ndarray, local_offsets: np.ndarray,
                         translating: np.ndarray) -> None:
    """Set the offsets [T,J,3] of ``translating`` [J] joints (in place) to put each on its track
    ``P`` [T,J,3] from where the solution (orientations ``G`` [T,J,3,3]) places its parent, not
    from the parent's track: on noisy tracks a parent that keeps its bone length lands off its
    track by the noise it was spared, which the joint and everything below it would carry."""
    placed = np.empty_like(P)
    placed[:, 0] = P[:, 0]
    above = np.zeros(skel.num_joints, bool)  # the translating joints and the joints above them
    for j in np.flatnonzero(translating)[::-1]:
        while j > 0 and not above[j]:
            above[j], j = True, skel.parents[j]
    for j in np.flatnonzero(above):  # parents come first
        p = skel.parents[j]
        if translating[j]:
            local_offsets[:, j] = mat_t_vec(G[:, p], P[:, j] - placed[:, p])
            placed[:, j] = P[:, j]
        else:
            placed[:, j] = placed[:, p] + mat_vec(G[:, p], local_offsets[:, j])


def _offsets_seen(problem: Problem, G: np.ndarray, expected: str | None, filled: np.ndarray | None = None,
                  width: int = 1) -> tuple[np.ndarray, np.ndarray | None]:
    """(every non-root joint's track offset seen in its parent's solved frame [J-1,3,T], and how far
    it moves, averaged over ``width`` frames, from the expected offset [J-1] — its mean over the
    clip for ``expected`` "auto", the rig's for "exact", None for None — over the frames where
    neither end was a gap, ``filled`` [T,J]), a few joints at a time."""
    skel = problem.skeleton
    g, x = np.ascontiguousarray(joint_planes(G)), np.ascontiguousarray(joint_planes(problem.positions))
    T, J = problem.num_frames, skel.num_joints
    seen, residual = np.empty((J - 1, 3, T)), None if expected is None else np.empty(J - 1)
    for joints in joint_batches(np.arange(1, J), T):
        parents = skel.parents[joints]
        offset = joint_rows(x, joints) - joint_rows(x, parents)
        seen[joints - 1] = batch = planes_vec(joint_rows(g, parents), offset, transpose_a=True)  # [n,3,T]
        if expected is not None:
            unknown = None if filled is None else (filled[:, joints] | filled[:, parents]).T
            averaged, weight = _averaged_offsets(batch, unknown, width)
            residual[joints - 1] = _offset_residual(averaged, expected, skel.offsets[joints], unknown,
                                                    _roll_left_open(problem, joints), weight)
    return seen, residual


def _averaged_offsets(seen: np.ndarray, unknown: np.ndarray | None, width: int
                      ) -> tuple[np.ndarray, np.ndarray | None]:
    """(offsets ``seen`` [n,3,T] averaged over ``width`` frames, each over the samples of its window
    that are not ``unknown`` [n,T] (gaps, samples between keys: where a curve interpolates a joint
    between its keys, its bones need not keep their lengths); [n,T] or [1,T] the factor that
    brings each average's noise down to a full window's (fewer samples, or samples counted twice
    by the mirror near the clip's ends: running_mean_noise), None for no average)."""
    if width == 1:
        return seen, None
    if unknown is None or not unknown.any():
        mean = running_mean(np.moveaxis(seen, -1, 0), width)
        noise = running_mean_noise(np.ones((seen.shape[-1], 1), bool), width)
    else:
        mean = running_mean_of_data(np.moveaxis(np.where(unknown[:, None, :], np.nan, seen), -1, 0), width)
        noise = running_mean_noise(~unknown.T, width)
    return np.moveaxis(mean, 0, -1), (1.0 / (np.sqrt(width) * noise)).T

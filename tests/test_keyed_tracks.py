"""Tracks keyed every few frames (an animator's empties, a decimated export): the samples between
keys are the animation's interpolation, which says nothing about how bones change length. The rig
keeps its bone lengths, lands on the keys, and the in-between frames are checked against what the
interpolation itself explains."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pose2rot_core.bvh import read_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.rotations import basic_rotation, geodesic_angle
from pose2rot_core.safety import OUTLIER_MIN_FRACTION, check_solution
from pose2rot_core.solvers import solve
from pose2rot_core.tracks_io import tracks_from_bvh
from pose2rot_core.variants import keyed_every, random_tree_clip

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cmu_08_01.bvh"


def _sparse_solve_checks(tracks, step: int):
    """Keyed every ``step`` frames: the same joints translate as with every frame keyed, the keys
    are hit, reading the keys adds no flip to reading every sample as set (between keys the curves
    can bend a joint's two children enough for it to turn 30 degrees in a frame either way: a random
    rig keyed every 6th frame, none of 180 other draws; named, not silent), and a joint is named far
    from its track only where the curves on its way from the root leave the clip's own (rigid)
    motion by more than the safety check lets a bone's length wander (a fast leg keyed every 8th
    frame, the curve from a bind pose into the motion). Returns the solution."""
    full = solve(tracks)
    keyed = keyed_every(tracks, step)
    assert np.abs(keyed.positions - tracks.positions).max() > 1e-6 * tracks.skeleton.height  # curves, not the clip
    sol = solve(keyed)
    np.testing.assert_array_equal(sol.translating, full.translating)
    on_keys = keyed.keyed.all(axis=1)
    _, X = sol.forward()
    miss = np.linalg.norm(X[on_keys] - tracks.positions[on_keys], axis=-1).max() / tracks.skeleton.height
    assert miss < 1e-4
    as_set = solve(replace(keyed, keyed=None))
    assert not (sol.check.flips & ~as_set.check.flips).any(), sol.report
    left = np.linalg.norm(keyed.positions - tracks.positions, axis=-1) / tracks.skeleton.height
    for j, p in enumerate(tracks.skeleton.parents[1:], 1):
        left[:, j] = np.maximum(left[:, j], left[:, p])
    assert (left[sol.check.far] > OUTLIER_MIN_FRACTION).all(), sol.report
    return sol


@pytest.mark.parametrize("step", [2, 4, 7])
def test_a_walk_keyed_every_few_frames_keeps_its_bones_rigid(step):
    """Read at every frame, the Bezier curves of keys every 4th frame change the CMU walk's bone
    lengths by up to 0.1 % of the height between keys: 39 of its 43 joints used to be put on their
    tracks by translation (location keys on nearly every bone)."""
    sol = _sparse_solve_checks(tracks_from_bvh(read_bvh(EXAMPLE)), step)
    assert not any(line.startswith("warning") for line in sol.report), sol.report


@pytest.mark.parametrize("step", [4, 8])
def test_dev_clips_keyed_every_few_frames(shared_bvh, step):
    _sparse_solve_checks(tracks_from_bvh(read_bvh(shared_bvh)), step)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), J=st.integers(5, 14), step=st.integers(2, 6))
@example(seed=73, J=12, step=6)  # the flip both reads have
def test_random_rigs_keyed_every_few_frames(seed, J, step):
    _sparse_solve_checks(tracks_from_bvh(random_tree_clip(J, 90, seed)), step)


@pytest.mark.parametrize("jitter", [0.0, 0.0025])
def test_a_bone_that_really_stretches_still_translates_between_keys(jitter):
    """Keys every 4th frame of a clip whose forearm stretches by 20 % and back: the keys alone show
    it, so the forearm's child still follows its track by translation, also with jittered keys (a
    noisy bone's lengths are averaged over a quarter second first: there over the keys in it; over
    every frame, every window held a sample between keys, and no joint could translate: a walk's
    hips under a floor root then pinned the body 25-100 % of the height off its tracks)."""
    clip = read_bvh(EXAMPLE)
    j = clip.skeleton.names.index("rHand")
    stretch = 1.0 + 0.2 * np.sin(np.linspace(0.0, np.pi, clip.num_frames))
    clip = replace(clip, local_offsets=clip.local_offsets.copy())
    clip.local_offsets[:, j] *= stretch[:, None]
    clean = tracks_from_bvh(clip)
    rng = np.random.default_rng(2)
    noisy = replace(clean, positions=clean.positions + rng.normal(0.0, jitter * clip.skeleton.height,
                                                                  clean.positions.shape))
    sol = solve(keyed_every(noisy, 4))
    assert sol.translating[j] and sol.translating.sum() == 1, sol.report
    miss = np.linalg.norm(sol.forward()[1][:, j] - clean.positions[:, j], axis=-1) / clip.skeleton.height
    assert miss.max() < 0.02 + 6 * jitter
    assert jitter > 0 or not sol.check.far.any(), sol.report


def test_a_curve_that_leaves_the_body_between_keys_is_warned():
    """A handle dragged off: between two keys one empty swings 25 % of the height away from the arm.
    No turn of the rig follows it, and the rig missing its empty there is named (the allowance
    between keys is at most what the safety check lets a bone's length wander on every frame)."""
    tracks = keyed_every(tracks_from_bvh(read_bvh(EXAMPLE)), 4)
    j = tracks.skeleton.names.index("rHand")
    positions = tracks.positions.copy()
    swing = np.sin(np.linspace(0.0, np.pi, 5))[1:-1] * 0.25 * tracks.skeleton.height
    positions[9:12, j, 0] += swing
    sol = solve(replace(tracks, positions=positions))
    assert sol.check.far[9:12, j].any() and not sol.check.far[:8].any(), sol.report
    assert any(line.startswith("warning") and "further from their tracks" in line for line in sol.report)


def test_a_broken_pose_between_keys_is_still_warned():
    """The allowance between keys is what the interpolation explains, not any miss: a forearm turned
    by 90 degrees in one in-between frame is further from its tracks than that."""
    tracks = keyed_every(tracks_from_bvh(read_bvh(EXAMPLE)), 4)
    sol = solve(tracks)
    j = tracks.skeleton.names.index("rForeArm")
    rotations = sol.rotations.copy()
    rotations[5, j] = rotations[5, j] @ basic_rotation(2, np.pi / 2)
    check = check_solution(tracks, replace(sol, rotations=rotations))
    assert check.far[5].any() and not check.far[4].any() and not check.far[6].any()
    assert np.asarray(check.allowed).shape == tracks.positions.shape[:2]


def test_keyed_is_validated_and_follows_the_frames():
    tracks = tracks_from_bvh(read_bvh(EXAMPLE))
    T, J = tracks.positions.shape[:2]
    with pytest.raises(Pose2RotError, match=r"keyed must be \[" + str(T)):
        replace(tracks, keyed=np.ones((T, J + 1), bool))
    assert replace(tracks, keyed=np.ones((T, J), bool)).keyed is None  # every sample set: as without
    keyed = np.zeros((T, J), bool)
    keyed[::3, 1:] = True  # the root keyed in no frame: nothing tells its samples apart
    got = replace(tracks, keyed=keyed).keyed
    assert got[:, 0].all() and np.array_equal(got[:, 1:], keyed[:, 1:])
    np.testing.assert_array_equal(replace(tracks, keyed=keyed).frames(1, 7).keyed, got[1:7])


@pytest.mark.parametrize("jitter", [0.001, 0.003])
def test_noisy_keys_every_few_frames_keep_the_bones_rigid(jitter):
    """Decimated tracker output: jittered keys every 4th frame. Between keys the curves are smooth
    whatever the keys' noise, so read over every frame the noise passes for stretch (42 of the walk's
    43 joints translated); it is read on the keys, and the rig keeps its bone lengths."""
    clean = tracks_from_bvh(read_bvh(EXAMPLE)).frames(0, 120)
    rng = np.random.default_rng(0)
    noisy = replace(clean, positions=clean.positions + rng.normal(0.0, jitter * clean.skeleton.height,
                                                                  clean.positions.shape))
    sol = solve(keyed_every(noisy, 4))
    assert not sol.translating.any(), sol.report
    assert any(line.startswith("smoothed") for line in sol.report), sol.report
    _, X = sol.forward()
    miss = np.linalg.norm(X - clean.positions, axis=-1) / clean.skeleton.height
    assert miss[::4].mean() < np.linalg.norm(noisy.positions - clean.positions, axis=-1)[::4].mean() / clean.skeleton.height


def test_points_keyed_every_few_frames_drive_a_rig_through_a_bone_map():
    """Points (empties) keyed every 4th frame driving another rig through a bone map: between keys
    the curves bend the points' distances, which the rig's rigid bones cannot follow; read as keyed,
    no joint is named far from its point there, with or without jitter on the keys. Read as every
    frame set, 18-21 joints were, in every in-between frame; the curves are now found between the
    samples (placeholders.interpolated_frames), and none is."""
    from test_retarget import _auto, _points, humanoid, walk
    from pose2rot_core.retarget import retarget_tracks, solve_retargeted
    from pose2rot_core.variants import _through_keys

    rng = np.random.default_rng(3)
    rig, canon = humanoid(rng, spine=3, naming="mixamo")
    R, root = walk(rig, canon, 90, rng, amplitude=0.3)
    points, _ = _points(rig, canon, R, root)
    bone_map = _auto(rig, points, "humanml3d22")
    keys = np.unique(np.append(np.arange(0, 90, 4), 89))
    keyed = np.isin(np.arange(90), keys)
    for jitter in (0.0, 0.003):
        noisy = points.positions + np.random.default_rng(1).normal(0.0, jitter * rig.height, points.positions.shape)
        sparse = replace(points, positions=_through_keys(noisy, keys))
        as_set = solve_retargeted(retarget_tracks(sparse, rig, bone_map))
        sol = solve_retargeted(retarget_tracks(replace(sparse, keyed=keyed), rig, bone_map))
        assert not as_set.check.far[~keyed].any() and not sol.check.far[~keyed].any(), as_set.report
        assert not sol.translating.any()


def test_a_joint_without_data_among_keyed_ones():
    """Keys every 4th frame and a joint with no data at all (a bone without an empty, nothing below
    it) beside another: the check between keys fits their parent to the one with data instead of
    failing on NaN."""
    tracks = tracks_from_bvh(read_bvh(EXAMPLE))
    j = tracks.skeleton.names.index("leftEye")  # beside the other eye: its head is fitted to both
    positions, ends = tracks.positions.copy(), tracks.end_positions.copy()
    positions[:, j] = np.nan
    ends[:, tracks.end_parents == j] = np.nan
    sol = solve(keyed_every(replace(tracks, positions=positions, end_positions=ends), 4))
    assert np.isnan(sol.check.error[:, j]).all() and not sol.check.far.any(), sol.report


def test_a_joint_without_keys_for_a_few_frames_of_rounded_tracks_keeps_its_bones():
    """The shipped arm's CSV (numbers rounded to 0.1 mm, so offsets are read over quarter seconds)
    has no elbow for three frames. Imported as empties, Blender's curve runs straight through them
    between the keys around the gap, off the bones' lengths: the quarter-second average spread that
    into the keyed frames beside it, and the elbow and wrist were put on their tracks by translation
    (location keys in Blender and the batch, none on the command line). Averaged over the keys in
    each window, the bones stay rigid, as the command line keeps them."""
    from pose2rot_core.tracks_io import load_tracks

    examples = Path(__file__).resolve().parents[1] / "examples"
    tracks = load_tracks(examples / "arm_tracks.csv", examples / "arm.bvh")
    gap = np.isnan(tracks.positions).any(-1)
    assert gap.any()
    frames = np.arange(tracks.num_frames)
    positions = tracks.positions.copy()
    for j in np.flatnonzero(gap.any(axis=0)):
        for axis in range(3):
            positions[gap[:, j], j, axis] = np.interp(frames[gap[:, j]], frames[~gap[:, j]], positions[~gap[:, j], j, axis])
    sol = solve(replace(tracks, positions=positions, keyed=~gap))
    cli = solve(tracks)
    assert not sol.translating.any() and not cli.translating.any(), sol.report
    keyed = ~gap.any(axis=1)  # the frames between differ as the two fills do
    assert np.degrees(geodesic_angle(sol.rotations[keyed], cli.rotations[keyed])).max() < 0.5


def _straight_between(x: np.ndarray, step: int, phase: int = 0) -> np.ndarray:
    """x [T,N,3] with every frame but each ``step``-th from ``phase`` on the straight line between
    those (held before the first and after the last), as a file resampled to ``step`` times its rate."""
    T = len(x)
    keys = np.arange(phase, T, step)
    t = np.arange(T)
    return np.stack([np.stack([np.interp(t, keys, x[keys, j, a]) for a in range(3)], -1)
                     for j in range(x.shape[1])], 1)


def _with_samples_straight_between(tracks, step: int):
    """``tracks`` resampled from every ``step``-th frame by straight lines, cut to end on a sample."""
    tracks = tracks.frames(0, (tracks.num_frames - 1) // step * step + 1)
    ends = None if tracks.end_positions is None else _straight_between(tracks.end_positions, step)
    return replace(tracks, positions=_straight_between(tracks.positions, step), end_positions=ends)


def _samples_alone(tracks, step: int):
    keys = np.arange(0, tracks.num_frames, step)
    ends = None if tracks.end_positions is None else tracks.end_positions[keys]
    return replace(tracks, positions=tracks.positions[keys], end_positions=ends, fps=tracks.fps / step)


@settings(max_examples=60, deadline=None)
@given(step=st.integers(2, 12), phase=st.integers(0, 11), curves=st.booleans(),
       decimals=st.sampled_from([None, 6, 4]), seed=st.integers(0, 2 ** 31 - 1))
def test_tracks_resampled_between_samples_are_found_on_their_samples(step, phase, curves, decimals, seed):
    """Samples every ``step``-th frame joined by straight lines (any phase) or by Blender's cubic
    curves (4 frames apart or more: keys baked), the numbers rounded as a file keeps them (curves: to
    6 decimals or more; at 4, a fourth difference of the rounding, up to 8 units of the last digit,
    reaches a tenth of the jittered samples' own here): exactly the frames between the samples are
    found, the largest spacing that fits."""
    from pose2rot_core.placeholders import interpolated_frames
    from pose2rot_core.variants import _through_keys

    curves = curves and step >= 4
    phase = 0 if curves else phase % step
    decimals = 6 if curves and decimals == 4 else decimals
    rng = np.random.default_rng(seed)
    T = 12 * step + 1
    x = np.cumsum(rng.normal(0.0, 0.01, (T, 6, 3)), axis=0) + rng.normal(0.0, 0.003, (T, 6, 3))
    resampled = _through_keys(x, np.arange(0, T, step)) if curves else _straight_between(x, step, phase)
    if decimals is not None:
        resampled = np.round(resampled, decimals)
    found = interpolated_frames(resampled)
    assert found is not None
    np.testing.assert_array_equal(found, np.arange(T) % step != phase)


def _never_resampled(clip) -> None:
    """Neither the clip nor the clip played 3 times faster, clean or jittered, has a frame read as
    lying between samples."""
    from pose2rot_core.evaluate import add_noise
    from pose2rot_core.placeholders import interpolated_frames
    from pose2rot_core.variants import played_faster

    for c in (clip, played_faster(clip, 3)):
        tracks = tracks_from_bvh(c)
        for t in (tracks, add_noise(tracks, 0.005, 0)):
            assert interpolated_frames(t.positions) is None, c.name


def test_tracks_sampled_at_their_own_rate_are_never_read_as_resampled():
    """The shipped clips, random trees, and a pose held still before the motion."""
    from pose2rot_core.placeholders import interpolated_frames

    for clip in [read_bvh(EXAMPLE), read_bvh(EXAMPLE.with_name("arm.bvh"))] + [random_tree_clip(12, 90, s)
                                                                              for s in range(3)]:
        _never_resampled(clip)
    walk = tracks_from_bvh(read_bvh(EXAMPLE)).positions
    assert interpolated_frames(np.concatenate([np.repeat(walk[:1], 40, axis=0), walk])) is None


def test_dev_clips_are_never_read_as_resampled(shared_bvh):
    _never_resampled(read_bvh(shared_bvh))


def test_noisy_tracks_resampled_to_four_times_their_rate_are_solved_from_their_samples():
    """A jittered walk (0.5 % of the height) sampled every 4th frame and resampled by straight lines,
    as from a file: read as every frame, the lines' jitter passed for stretch (42 of the 43 joints
    translated) and motion (nothing smoothed), 22 degrees off the source's rotations against 5.4 for
    the samples solved alone. Read on the samples, it is 5.5 degrees off."""
    from pose2rot_core.evaluate import add_noise

    clip = read_bvh(EXAMPLE)
    noisy = add_noise(tracks_from_bvh(clip, reference_frame=0), 0.005, 0)
    sol = solve(_with_samples_straight_between(noisy, 4))
    note = "interpolated between samples 4 frames apart (frames 0, 4, 8"
    assert any(note in line for line in sol.report), sol.report
    assert not sol.translating.any(), sol.report
    keys = np.arange(0, clip.num_frames, 4)
    alone = solve(_samples_alone(noisy, 4))
    error = np.degrees(geodesic_angle(sol.rotations[keys], clip.rotations[keys])).mean()
    assert error < 1.1 * np.degrees(geodesic_angle(alone.rotations, clip.rotations[keys])).mean()


def test_noisy_keys_every_few_frames_are_solved_nearly_as_near_the_source_as_the_keys_alone():
    """Jittered keys every 4th frame with Blender's curves between them (Tracks.keyed): the frames
    between keys are no samples of the noise. Weighed as samples in the smoothing, with no noise left
    in them, the walk's rotations were 13 degrees off the source against 5.4 for the keys alone; 5.4 now."""
    from pose2rot_core.evaluate import add_noise

    clip = read_bvh(EXAMPLE)
    noisy = add_noise(tracks_from_bvh(clip, reference_frame=0), 0.005, 0)
    sol = solve(keyed_every(noisy, 4))
    keys = np.arange(0, clip.num_frames, 4)
    alone = solve(_samples_alone(noisy, 4))
    error = np.degrees(geodesic_angle(sol.rotations[keys], clip.rotations[keys])).mean()
    assert error < 1.1 * np.degrees(geodesic_angle(alone.rotations, clip.rotations[keys])).mean()


@pytest.mark.parametrize("step", [4, 8])
def test_clean_tracks_resampled_by_straight_lines_keep_the_bones_rigid(step):
    """The walk resampled by straight lines between every ``step``-th frame: the lines shorten bones
    between the samples, which read as every frame put 40 of the 43 joints on their tracks by
    translation; read on the samples, no joint translates and the samples are hit."""
    tracks = tracks_from_bvh(read_bvh(EXAMPLE))
    sol = solve(_with_samples_straight_between(tracks, step))
    assert not sol.translating.any(), sol.report
    _, X = sol.forward()
    keys = np.arange(0, tracks.num_frames, step)
    assert np.linalg.norm(X[keys] - tracks.positions[keys], axis=-1).max() < 1e-4 * tracks.skeleton.height


def test_points_resampled_by_straight_lines_drive_a_rig_as_their_samples_would():
    """Jittered points (0.5 % of the height) sampled every 4th frame and written with straight lines
    between, driving another rig through a bone map: the rig's tracks keep the lines, which the solve
    reads on their samples, and the rig turns as near the walk's rotations as the samples alone drive
    it (read as set, 9.8 degrees off against 8.4; now 8.4)."""
    from test_retarget import _auto, _points, humanoid, walk
    from pose2rot_core.retarget import retarget_tracks, solve_retargeted

    rng = np.random.default_rng(3)
    rig, canon = humanoid(rng, spine=3, naming="mixamo")
    R, root = walk(rig, canon, 121, rng, amplitude=0.3)
    points, _ = _points(rig, canon, R, root)
    bone_map = _auto(rig, points, "humanml3d22")
    noisy = points.positions + np.random.default_rng(1).normal(0.0, 0.005 * rig.height, points.positions.shape)
    keys = np.arange(0, 121, 4)
    sol = solve_retargeted(retarget_tracks(replace(points, positions=_straight_between(noisy, 4)), rig, bone_map))
    alone = solve_retargeted(retarget_tracks(replace(points, positions=noisy[keys], fps=points.fps / 4), rig,
                                             bone_map))
    error = np.degrees(geodesic_angle(sol.rotations[keys], R[keys])).mean()
    assert error < 1.1 * np.degrees(geodesic_angle(alone.rotations, R[keys])).mean()
    assert not sol.translating.any(), sol.report


def _held_after(tracks, frames: int):
    """``tracks`` with their last frame held ``frames`` frames more, those no keys (Tracks.keyed), as
    Blender's curves hold an empty past its last key."""
    def held(x):
        return None if x is None else np.concatenate([x, np.repeat(x[-1:], frames, axis=0)])

    keyed = np.concatenate([tracks.keyed, np.zeros((frames, tracks.skeleton.num_joints), bool)])
    return replace(tracks, positions=held(tracks.positions), end_positions=held(tracks.end_positions), keyed=keyed)


def test_frames_held_before_the_first_sample_or_after_the_last_are_no_frames_written_twice():
    """A jittered walk resampled by straight lines from samples at frames 2, 6, 10, ... (the frames
    before the first sample and after the last hold it, as numpy's and most resamplers' interpolation
    does), and noisy keys every 4th frame with the curves held past the last key (Blender): the
    held frames repeat the frame before bit for bit, but they are no tracker's frames written
    twice. Read so, the first sample was made a gap ('frames 1-2: every point repeats the frame
    before exactly', 43 joints 'have no data below them' there) and the frames past the last key
    too; now the samples are all solved and no note tells of repeats or gaps."""
    from pose2rot_core.evaluate import add_noise

    clip = read_bvh(EXAMPLE)
    noisy = add_noise(tracks_from_bvh(clip, reference_frame=0), 0.005, 0)
    keys = np.arange(2, clip.num_frames, 4)
    ends = _straight_between(noisy.end_positions, 4, 2)
    resampled = replace(noisy, positions=_straight_between(noisy.positions, 4, 2), end_positions=ends)
    held_keys = _held_after(keyed_every(noisy.frames(0, 265), 4), 3)
    found = "interpolated between samples 4 frames apart (frames 2, 6, 10"
    for tracks, note in ((resampled, found), (held_keys, "")):
        sol = solve(tracks)
        assert any(note in line for line in sol.report), sol.report
        assert not any("repeats the frame before" in line or "no data below them" in line or "filled" in line
                       for line in sol.report), sol.report
    sol = solve(resampled)
    alone = solve(replace(noisy, positions=noisy.positions[keys], end_positions=noisy.end_positions[keys],
                          fps=noisy.fps / 4))
    error = np.degrees(geodesic_angle(sol.rotations[keys], clip.rotations[keys])).mean()
    assert error < 1.5 * np.degrees(geodesic_angle(alone.rotations, clip.rotations[keys])).mean()


def test_points_resampled_by_straight_lines_are_found_where_the_map_places_a_joint_between_them():
    """As above, with the map leaving the middle spine joint to be placed between the points around
    it (as most maps leave some): that joint bends off the straight lines, so the rig's tracks read
    as every frame set, the points' jitter went unsmoothed, 10.4 degrees off the walk's rotations
    against 8.7 for the samples alone. The lines are found on the points, with a note."""
    from test_retarget import _auto, _points, humanoid, walk
    from pose2rot_core.retarget import retarget_tracks, solve_retargeted

    rng = np.random.default_rng(3)
    rig, canon = humanoid(rng, spine=3, naming="mixamo")
    R, root = walk(rig, canon, 121, rng, amplitude=0.3)
    points, _ = _points(rig, canon, R, root)
    bone_map = _auto(rig, points, "humanml3d22")
    bone_map = replace(bone_map, bones={b: p for b, p in bone_map.bones.items() if b != "mixamorig:Spine1"})
    noisy = points.positions + np.random.default_rng(1).normal(0.0, 0.005 * rig.height, points.positions.shape)
    keys = np.arange(0, 121, 4)
    report: list[str] = []
    sol = solve_retargeted(retarget_tracks(replace(points, positions=_straight_between(noisy, 4)), rig, bone_map,
                                           report=report))
    alone = solve_retargeted(retarget_tracks(replace(points, positions=noisy[keys], fps=points.fps / 4), rig,
                                             bone_map))
    note = "the points are interpolated between samples 4 frames apart (frames 0, 4, 8, ...; straight lines"
    assert any(line.startswith(note) for line in report), report
    error = np.degrees(geodesic_angle(sol.rotations[keys], R[keys])).mean()
    assert error < 1.1 * np.degrees(geodesic_angle(alone.rotations, R[keys])).mean()


def test_points_keyed_on_every_frame_are_read_for_straight_lines_too():
    """Points resampled by straight lines imported into Blender and driving a rig through a bone map
    have a key on every frame (Import Tracks keys one row per frame): Solve Rotations hands the core
    points keyed throughout (PointSet.keyed all True), which tell no key from the frames between.
    Taken as keys, the lines were never looked for on the points (as Tracks keyed throughout, which
    count as not keyed); they are found there as in a file."""
    from test_retarget import _auto, _points, humanoid, walk
    from pose2rot_core.retarget import retarget_tracks

    rng = np.random.default_rng(3)
    rig, canon = humanoid(rng, spine=3, naming="mixamo")
    R, root = walk(rig, canon, 121, rng, amplitude=0.3)
    points, _ = _points(rig, canon, R, root)
    lines = replace(points, positions=_straight_between(points.positions, 4), keyed=np.ones(121, bool))
    report: list[str] = []
    tracks = retarget_tracks(lines, rig, _auto(rig, points, "humanml3d22"), report=report).tracks
    assert any(line.startswith("the points are interpolated") for line in report), report
    np.testing.assert_array_equal(tracks.keyed.all(axis=1), np.arange(121) % 4 == 0)


@pytest.mark.parametrize("frames, named", [((1250, 1263), "(frames 1253, 1257, 1261; straight lines"),
                                           ((1240, 1265), "(frames 1241, 1245, 1249, ...; straight lines"),
                                           ((1262, 1264), "apart (straight lines")])
def test_the_note_of_straight_lines_names_only_samples_among_the_frames_solved(frames, named):
    """A resampled file numbered from 1001 (samples 1001, 1005, ..., 1265) solved with --frames A:B:
    the note named the sample after the range ('frames 1265, ...' for --frames 1262:1264, which
    solves 1262 and 1263) and went on with '...' past the range's last sample. It names the samples
    among the frames solved, '...' only where more follow there, and none where the range lies
    between two samples."""
    tracks = replace(_with_samples_straight_between(tracks_from_bvh(read_bvh(EXAMPLE)), 4), first_frame=1001)
    start, stop = frames[0] - 1001, frames[1] - 1001
    sol = solve(tracks, frames=(start, stop))
    notes = [line for line in sol.report if "straight lines" in line]
    assert len(notes) == 1 and named in notes[0], notes

"""Left and right put back where a tracker swapped them (pose2rot_core.swaps), and the mirror pairs
read from names (pose2rot_core.names.mirror_pairs)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _humanoid import NAMINGS, humanoid
from hypothesis import given, settings
from hypothesis import strategies as st
from test_geometric import smooth_rotations

from pose2rot_core.bvh import read_bvh
from pose2rot_core.cli import main
from pose2rot_core.evaluate import add_noise
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.names import mirror_pairs
from pose2rot_core.rotations import geodesic_angle
from pose2rot_core.jumps import joint_jumped_away, joint_stepped_off, jumped_away
from pose2rot_core.solvers import solve
from pose2rot_core.swaps import swapped_frames
from pose2rot_core.tracks_io import tracks_from_bvh
from pose2rot_core.variants import played_faster
from pose2rot_core.wording import in_words

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
WALK = EXAMPLES / "cmu_08_01.bvh"


def test_mirror_pairs_read_every_naming_of_sides():
    names = ["LeftUpLeg", "RightUpLeg", "lShldr", "rShldr", "thigh.L", "thigh.R", "DEF_BN_Leg_L_09",
             "DEF_BN_Leg_R_09", "left_knee", "right_knee", "hand_l", "hand_r", "mixamorig:LeftFoot",
             "mixamorig:RightFoot", "Hips", "Spine", "LHipJoint", "RHipJoint", "Leg_L_1", "Leg_R_2"]
    pairs = {(names[a], names[b]) for a, b in mirror_pairs(names)}
    assert pairs == {("LeftUpLeg", "RightUpLeg"), ("lShldr", "rShldr"), ("thigh.L", "thigh.R"),
                     ("DEF_BN_Leg_L_09", "DEF_BN_Leg_R_09"), ("left_knee", "right_knee"), ("hand_l", "hand_r"),
                     ("mixamorig:LeftFoot", "mixamorig:RightFoot"), ("LHipJoint", "RHipJoint")}


def test_a_name_two_others_could_mirror_or_that_repeats_is_in_no_pair():
    assert mirror_pairs(["Left", "left", "Right"]) == []  # 'Left' and 'left' are one name, case aside
    assert mirror_pairs(["L_Leg_L", "R_Leg_L", "L_Leg_R"]) == []  # either side word could be the mirror's


def test_mirror_pairs_read_sides_glued_to_lower_case_names_and_tagged_names():
    """The ASF names of CMU's BVH files (``lfemur``/``rfemur``: a side glued to a word of one case) and
    names an exporter tagged to make them unique (Truebones' ``Bip01_L_Thigh__UfG``, tips
    ``..._end`` after the tag) pair as their untagged, separated forms do."""
    asf = ["hip", "lhipjoint", "lfemur", "ltibia", "rhipjoint", "rfemur", "rtibia", "lowerback", "thorax",
           "LHUMERUS", "RHUMERUS", "lefthand", "righthand", "lthumb_end", "rthumb_end"]
    assert {(asf[a], asf[b]) for a, b in mirror_pairs(asf)} == {
        ("lhipjoint", "rhipjoint"), ("lfemur", "rfemur"), ("ltibia", "rtibia"), ("LHUMERUS", "RHUMERUS"),
        ("lefthand", "righthand"), ("lthumb_end", "rthumb_end")}
    tagged = ["Hips__w4v", "Bip01_L_Thigh__UfG", "Bip01_R_Thigh__qPK", "BN_Tail_L_01__Qcw", "BN_Tail_R_01__vdN",
              "BN_Tail_L_01__Qcw_end", "BN_Tail_R_01__vdN_end", "Bip01_L_Toe21__Dqe", "Bip01_R_Toe2__w2t"]
    assert {(tagged[a], tagged[b]) for a, b in mirror_pairs(tagged)} == {
        ("Bip01_L_Thigh__UfG", "Bip01_R_Thigh__qPK"), ("BN_Tail_L_01__Qcw", "BN_Tail_R_01__vdN"),
        ("BN_Tail_L_01__Qcw_end", "BN_Tail_R_01__vdN_end")}


def test_no_pair_is_read_from_a_coincidence_or_a_tag_that_tells_joints_apart():
    """A lone pair of one-case words that differ by a first l and r (``lip``, ``rip``) is no side
    naming; a tag carried by some names only, or one that is a side, is part of the name (``Arm_L__twist``
    is not the mirror of ``Arm_R__roll``; ``Arm__L`` is of ``Arm__R``)."""
    assert mirror_pairs(["head", "lip", "rip", "LeftArm", "RightArm"]) == [(3, 4)]
    assert mirror_pairs(["Hips", "Arm_L__twist", "Arm_R__roll"]) == []
    assert mirror_pairs(["Hips__a1", "Arm__L", "Arm__R"]) == [(1, 2)]


@pytest.mark.parametrize("rename", [str.lower, lambda n: f"{n}__t{sum(map(ord, n))}"], ids=["lower_case", "tagged"])
def test_a_leg_swapped_is_found_under_lower_case_or_tagged_names(rename):
    """The walk's names lower-cased (``lthigh``, ``rshin``: sides glued as in CMU's ASF names) or
    tagged as Truebones' exports are, each tag its own (``lThigh__t592``): its left leg swapped with its right for 6
    frames is found, in exactly those frames."""
    tracks = tracks_from_bvh(read_bvh(WALK), reference_frame=0)
    points, names = _positions(tracks)
    names = [rename(n) for n in names]
    pairs = mirror_pairs(names)
    rows = _limb_pairs(tracks, pairs, [rename(n) for n in tracks.skeleton.names].index(rename("lThigh")))
    assert len(rows) == 4  # thigh, shin, foot, toe tip
    for k in rows:
        a, b = pairs[k]
        points[100:106, [a, b]] = points[100:106, [b, a]]
    found = swapped_frames(points, pairs, tracks.skeleton.height)[0]
    want = np.zeros_like(found)
    want[100:106, rows] = True
    assert (found == want).all()


def _positions(tracks):
    """Joints and bone tips of ``tracks`` as one point set, with their names."""
    names = list(tracks.skeleton.names) + list(tracks.end_names)
    return np.concatenate([tracks.positions, tracks.end_positions], 1), names


def _limb_pairs(tracks, pairs, root: int) -> list[int]:
    """Indices into ``pairs`` of the pairs whose left point is ``root`` or below it (bone tips too)."""
    skel, below = tracks.skeleton, {root}
    for j in range(skel.num_joints):
        if skel.parents[j] in below:
            below.add(j)
    below |= {skel.num_joints + e for e, p in enumerate(tracks.end_parents) if p in below}
    return [k for k, (a, _) in enumerate(pairs) if a in below]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), noise=st.sampled_from([0.0, 0.005, 0.01]),
       length=st.integers(1, 40), limb=st.sampled_from(["lShldr", "lThigh", "lShin", "lFoot", "lHand"]))
def test_a_limb_swapped_for_some_frames_is_found_exactly(seed, noise, length, limb):
    """The walk's limb and its mirror trade places for 1-40 frames (clean, or with 0.5-1 % jitter):
    exactly those pairs and frames come back as swapped, wherever the two are apart by more than
    2 % of the height and 8 times the jitter (closer, a swap changes little and may pass), and no
    frame outside them is swapped or made a gap."""
    rng = np.random.default_rng(seed)
    tracks = tracks_from_bvh(read_bvh(WALK), reference_frame=0)
    clean, names = _positions(tracks)
    points = _positions(add_noise(tracks, noise, seed))[0] if noise else clean.copy()
    pairs = mirror_pairs(names)
    rows = _limb_pairs(tracks, pairs, names.index(limb))
    start = int(rng.integers(2, len(points) - length - 2))
    for k in rows:
        a, b = pairs[k]
        points[start:start + length, [a, b]] = points[start:start + length, [b, a]]
    found, unsure, _ = swapped_frames(points, pairs, tracks.skeleton.height)
    want = np.zeros_like(found)
    want[start:start + length, rows] = True
    a, b = np.array(pairs).T
    apart = np.linalg.norm(clean[:, a] - clean[:, b], axis=-1) > (0.02 + 8 * noise) * tracks.skeleton.height
    assert not (found & ~want).any() and not (unsure & ~want).any()
    assert (found | ~want | ~apart).all()


@pytest.mark.parametrize("speed", [1, 2, 4])
@pytest.mark.parametrize("noise", [0.0, 0.005, 0.02])
def test_no_swap_is_found_in_motion_without_one(speed, noise):
    """The walk clean or jittered, played up to 4 times faster (30 fps): nothing is swapped."""
    clip = read_bvh(WALK)
    tracks = tracks_from_bvh(played_faster(clip, speed) if speed > 1 else clip, reference_frame=0)
    for seed in range(3):
        points, names = _positions(add_noise(tracks, noise, seed) if noise else tracks)
        assert not np.any(swapped_frames(points, mirror_pairs(names), tracks.skeleton.height)[:2])


def test_no_swap_is_found_in_the_development_clips(shared_bvh):
    """Every development clip (humans, dogs, a crab's eight legs, an elephant), clean or with 1 %
    jitter, at its speed and 3 times faster: nothing is swapped."""
    clip = read_bvh(shared_bvh)
    for c in (clip, played_faster(clip, 3)):
        tracks = tracks_from_bvh(c, reference_frame=0)
        for noisy in (tracks, add_noise(tracks, 0.01, 0)):
            points = noisy.positions if not noisy.has_ends else _positions(noisy)[0]
            names = list(noisy.skeleton.names) + (list(noisy.end_names) if noisy.has_ends else [])
            assert not np.any(swapped_frames(points, mirror_pairs(names), noisy.skeleton.height)[:2])


def _jumping_jacks(noise: float, seed: int) -> tuple[np.ndarray, list[str]]:
    """[120,6,3] points of a body 1 unit tall whose feet, 90 % of the height apart, close to 12 % in
    three frames of 13 % each and stop there (frames 30-33 and 90-93; opening in 60-63), the rest
    still, everything with Gaussian jitter of ``noise`` (a fraction of the height); and their names."""
    names = ["Hips", "LeftHip", "RightHip", "Head", "LeftFoot", "RightFoot"]
    foot = np.full(120, -0.45)
    foot[30:33], foot[33:60] = [-0.32, -0.19, -0.06], -0.06
    foot[60:63], foot[90:93], foot[93:] = [-0.19, -0.32, -0.45], [-0.32, -0.19, -0.06], -0.06
    points = np.zeros((120, 6, 3))
    points[:, :4] = [[0, 0.5, 0], [-0.1, 0.5, 0], [0.1, 0.5, 0], [0, 0.95, 0]]
    points[:, 4, 0], points[:, 5, 0], points[:, 4:, 1] = foot, -foot, 0.02
    return points + np.random.default_rng(seed).normal(size=points.shape) * noise, names


@pytest.mark.parametrize("seed", range(3))
def test_feet_brought_together_fast_and_stopped_are_no_swap(seed):
    """Jumping jacks at a low frame rate: where the feet stop after closing fast, the places they were
    heading for lie past each other, so exchanged they fit those far better, but each stays by its own
    last place, 12 % of the height from the other's: nothing tells a swap, and none is read (h259: a
    LAFAN1-rig take played at 15 fps had its toes swapped back for 244 frames between two such
    closings, 100 % of the height off). A real swap of the closed feet is still found."""
    points, names = _jumping_jacks(0.005, seed)
    found = swapped_frames(points, mirror_pairs(names), 1.0)
    assert not found.swapped.any() and not found.unsure.any() and not found.untold
    points[40:50, [4, 5]] = points[40:50, [5, 4]]
    found = swapped_frames(points, mirror_pairs(names), 1.0)
    want = np.zeros(len(points), bool)
    want[40:50] = True
    feet = mirror_pairs(names).index((4, 5))
    assert (found.swapped[:, feet] == want).all() and found.swapped.sum() == 10


def test_a_solve_puts_the_swapped_legs_back_and_says_so():
    """Tracks of the walk whose legs trade places in frames 100-111 solve as the walk's own tracks,
    with a note naming the frames; with --smooth off (the tracks as given) they are followed, and a
    warning names them (h232: a knee swapped for 3 frames came back 9 % of the height from where
    the knee was, with only a note that bones change length)."""
    tracks = tracks_from_bvh(read_bvh(WALK), reference_frame=0)
    names = tracks.skeleton.names
    legs = [names.index(n) for n in ("lThigh", "lShin", "lFoot", "rThigh", "rShin", "rFoot")]
    P = tracks.positions.copy()
    P[100:112, legs] = P[100:112, legs[3:] + legs[:3]]
    swapped = type(tracks)(**{**tracks.__dict__, "positions": P})
    want = solve(tracks)
    got = solve(swapped)
    assert any("left and right swapped back in frames 100-111: 'lThigh'/'rThigh', 'lShin'/'rShin' and 'lFoot'/'rFoot'"
               in line for line in got.report), got.report
    assert np.degrees(geodesic_angle(got.rotations, want.rotations)).max() < 1e-6
    followed = solve(swapped, smooth="off")
    assert not any("swapped back" in line for line in followed.report)
    assert np.degrees(geodesic_angle(followed.rotations, want.rotations)).max() > 30.0  # the legs cross
    warned = [line for line in followed.report if line.startswith("warning: left and right trade places")]
    assert len(warned) == 1 and "frames 100-111 and back: 'lThigh'/'rThigh', 'lShin'/'rShin' and 'lFoot'/'rFoot'" \
        in warned[0] and "--smooth auto puts them back" in in_words(warned[0], "cli"), warned


def test_a_whole_body_swap_put_back_is_not_called_a_mirror_image():
    """Every left and right track of the walk (joints and bone tips) traded in frames 134-138, as a
    markerless tracker mixing up the sides does: the solve trades them back and lands on the walk,
    yet it also warned that the tracks are the mirror image of the rig there and that the rig turns
    round and misses them (h224, red-team): the mirror check read the tracks before the swap was put
    back. It now reads them after; with --smooth off (the tracks followed as given) it still warns."""
    tracks = tracks_from_bvh(read_bvh(WALK), reference_frame=0)
    P, E = tracks.positions.copy(), tracks.end_positions.copy()
    for pair in mirror_pairs(list(tracks.skeleton.names) + list(tracks.end_names)):
        for points, first in ((P, 0), (E, P.shape[1])):
            a, b = (k - first for k in pair)
            if 0 <= a < points.shape[1] and 0 <= b < points.shape[1]:
                points[134:139, [a, b]] = points[134:139, [b, a]]
    swapped = type(tracks)(**{**tracks.__dict__, "positions": P, "end_positions": E})
    got = solve(swapped)
    assert any("left and right swapped back in frames 134-138" in line for line in got.report), got.report
    assert np.linalg.norm(got.positions - tracks.positions, axis=-1).max() < 1e-6 * tracks.skeleton.height
    assert not any("mirror image" in line for line in got.report), got.report
    followed = solve(swapped, smooth="off")
    assert any("mirror image of the rig's body in frames 134-138" in line for line in followed.report)


def _legs_swapped(tracks, frames: slice):
    """``tracks`` with the walk's left and right leg joints traded in ``frames``, and the leg joints."""
    names = tracks.skeleton.names
    legs = [names.index(n) for n in ("lThigh", "lShin", "lFoot", "rThigh", "rShin", "rFoot")]
    P = tracks.positions.copy()
    P[frames, legs] = tracks.positions[frames][:, legs[3:] + legs[:3]]
    return type(tracks)(**{**tracks.__dict__, "positions": P}), legs


@pytest.mark.parametrize("frames", [slice(200, None), slice(0, 21)], ids=["to the end", "from the start"])
def test_legs_swapped_from_the_start_or_to_the_end_are_put_back(frames):
    """A swap with one end in the clip: the legs' left-to-right direction runs against the body's
    (the arms', eyes', collars') on one side of it and along it on the other, so that side is put
    back."""
    tracks = tracks_from_bvh(read_bvh(WALK), reference_frame=0)
    swapped, _ = _legs_swapped(tracks, frames)
    got = solve(swapped)
    first, last = frames.start, (frames.stop or len(tracks.positions)) - 1
    assert any(f"left and right swapped back in frames {first}-{last}: 'lThigh'/'rThigh'" in line
               for line in got.report), got.report
    assert np.degrees(geodesic_angle(got.rotations, solve(tracks).rotations)).max() < 1e-6


def test_a_swap_that_ends_in_a_gap_goes_back_with_its_limb():
    """The legs swapped in frames 100-111 and the left shin's track lost in 112-115, where the swap
    ends: the shins go back with the thighs and feet, and the gap is filled as a gap."""
    tracks = tracks_from_bvh(read_bvh(WALK), reference_frame=0)
    swapped, legs = _legs_swapped(tracks, slice(100, 112))
    swapped.positions[112:116, legs[1]] = np.nan
    got = solve(swapped)
    assert any("left and right swapped back in frames 100-111: 'lThigh'/'rThigh', 'lShin'/'rShin' and 'lFoot'/'rFoot'"
               in line for line in got.report), got.report
    assert any("filled 1 gap in 'lShin' (frames 112-115)" in line for line in got.report), got.report
    error = np.linalg.norm(got.positions - tracks.positions, axis=-1).max() / tracks.skeleton.height
    assert error < 0.005


def test_retargeted_points_with_swapped_legs_solve_as_the_unswapped(tmp_path, capsys):
    """The shipped FreeMoCap walk with its leg points swapped in frames 40-45 retargets onto the
    Mixamo rig as the walk itself does, and the command line names the swap."""
    walk = EXAMPLES / "retarget" / "freemocap_walk"
    body = np.load(walk / "output_data" / "mediapipe_body_3d_xyz.npy")
    from pose2rot_core.layouts import get_layout

    points = list(get_layout("mediapipe33").points)
    legs = [p for p in points if p.startswith("left_") and any(w in p for w in ("hip", "knee", "ankle", "heel", "foot"))]
    swapped = body.copy()
    for p in legs:
        a, b = points.index(p), points.index(p.replace("left_", "right_"))
        swapped[40:46, [a, b]] = body[40:46, [b, a]]
    (tmp_path / "swapped" / "output_data").mkdir(parents=True)
    np.save(tmp_path / "swapped" / "output_data" / "mediapipe_body_3d_xyz.npy", swapped)
    rig = EXAMPLES / "retarget" / "rig_mixamo.bvh"
    assert main(["map", "--skeleton", str(rig), "--source", str(walk), "--out", str(tmp_path / "map.json")]) == 0
    outs = []
    for source, name in ((walk, "walk.bvh"), (tmp_path / "swapped", "swapped.bvh")):
        capsys.readouterr()
        assert main(["solve", str(source), "--skeleton", str(rig), "--map", str(tmp_path / "map.json"),
                     "--out", str(tmp_path / name)]) == 0
        outs.append((read_bvh(tmp_path / name), capsys.readouterr().err))
    assert "swapped back" not in outs[0][1]
    assert "left and right swapped back in frames 40-45: 'mixamorig:LeftUpLeg'/'mixamorig:RightUpLeg'" in outs[1][1]
    assert np.degrees(geodesic_angle(outs[0][0].rotations, outs[1][0].rotations)).max() < 1e-3


def test_a_limb_swapped_to_the_end_with_nothing_rigid_to_tell_is_named_not_guessed():
    """The FreeMoCap walk's arms below the shoulders swapped from frame 60 to its end: no pair of the
    limb lies across a rigid part of the body (elbows and hands come together and part), so which
    side is which is not guessed: a warning names the frame and the pairs, and nothing is moved. With
    the shoulders swapped too, the shoulders tell, and the whole arm is put back."""
    from pose2rot_core.layouts import get_layout
    from pose2rot_core.swaps import swap_back

    body = np.load(EXAMPLES / "retarget" / "freemocap_walk" / "output_data" / "mediapipe_body_3d_xyz.npy")
    names = list(get_layout("mediapipe33").points)
    height = float(np.ptp(body[..., 2]))
    for parts, put_back in ((("elbow", "wrist", "index", "pinky", "thumb"), False),
                            (("shoulder", "elbow", "wrist", "index", "pinky", "thumb"), True)):
        swapped = body.copy()
        for part in parts:
            a, b = names.index(f"left_{part}"), names.index(f"right_{part}")
            swapped[60:, [a, b]] = body[60:, [b, a]]
        report: list[str] = []
        out, _ = swap_back(swapped, None, names, height, 0, report)
        if put_back:
            np.testing.assert_array_equal(out, body)
            assert report[0].startswith("left and right swapped back in frames 60-89: 'left_shoulder'/'right_shoulder'")
        else:
            assert out is swapped
            assert report == ["warning: left and right trade places at frame 60 and not back: 'left_elbow'/"
                              "'right_elbow', 'left_wrist'/'right_wrist', 'left_pinky'/'right_pinky', "
                              "'left_index'/'right_index' and 'left_thumb'/'right_thumb' (a tracker mixing up the "
                              "sides?); which side is which cannot be told from the tracks: check those frames"]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), amplitude=st.floats(0.3, 2.0), step=st.integers(1, 3),
       noise=st.sampled_from([0.0, 0.005, 0.01]), length=st.integers(1, 20))
def test_generated_humanoids_in_wild_motion_swap_nothing_but_what_was_swapped(seed, amplitude, step, noise, length):
    """Generated humanoids (three naming conventions, random proportions) in random smooth motion up
    to 2 rad about every joint, every frame or every third one, clean or jittered: no swap, no
    warning, no jump of the body or of a joint (away and back, or once); both legs' pairs swapped
    for 1-20 frames: no frame outside them."""
    rng = np.random.default_rng(seed)
    rig, _ = humanoid(rng, spine=1 + seed % 3, naming=list(NAMINGS)[seed % 3])
    root = rig.rest_positions[0] + np.cumsum(rng.normal(size=(90, 3)) * 0.02, axis=0)
    points = forward_kinematics(rig, smooth_rotations(rng, 90, rig.num_joints, amplitude), root)[1][::step]
    points = points + rng.normal(size=points.shape) * noise * rig.height
    pairs = mirror_pairs(rig.names)
    found = swapped_frames(points, pairs, rig.height)
    assert not found.swapped.any() and not found.unsure.any() and not found.untold
    assert not jumped_away(points, rig.height).any()
    assert not joint_jumped_away(points, np.asarray(rig.parents), rig.height, 30.0 / step).any()
    assert not joint_stepped_off(points, np.asarray(rig.parents), rig.height, 30.0 / step).any()
    legs = [k for k, (a, _) in enumerate(pairs) if any(w in rig.names[a].lower() for w in ("leg", "thigh", "calf",
                                                                                          "shin", "foot", "ball", "toe"))]
    assert len(legs) >= 3
    start = int(rng.integers(2, len(points) - length - 2))
    for k in legs:
        a, b = pairs[k]
        points[start:start + length, [a, b]] = points[start:start + length, [b, a]]
    found = swapped_frames(points, pairs, rig.height)
    outside = np.ones(len(points), bool)
    outside[start:start + length] = False
    assert not found.swapped[outside].any() and not found.unsure[outside].any()

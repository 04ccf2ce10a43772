"""The automatic map's setup shared by the command line, Blender and the benchmarks."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _humanoid import humanoid
from pose2rot_core.automap import canonical_names, propose_map
from pose2rot_core.bvh import read_bvh
from pose2rot_core.layouts import get_layout
from pose2rot_core.map_proposal import EndSites, names_and_parents, propose, reference_positions
from pose2rot_core.names import match_names, strip_namespace
from pose2rot_core.skeleton import Skeleton

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_reference_positions_are_the_rest_pose_or_the_posed_joints_and_end_sites():
    clip = read_bvh(EXAMPLES / "cmu_08_01.bvh")
    sk, ends = clip.skeleton, EndSites.of(clip)
    rest = reference_positions(sk, None, ends)
    assert rest.shape == (sk.num_joints + len(ends.names), 3)
    np.testing.assert_array_equal(rest[:sk.num_joints], sk.rest_positions)
    np.testing.assert_allclose(rest[sk.num_joints:], sk.rest_positions[ends.parents] + ends.offsets)
    frame = 100
    posed = np.concatenate([clip.fk()[frame], clip.end_site_positions()[frame]])
    shift = sk.rest_positions[0] - clip.root_translation[frame]          # the proposal's root stays at rest
    np.testing.assert_allclose(reference_positions(sk, clip.rotations[frame], ends), posed + shift, atol=1e-9)
    names, parents = names_and_parents(sk, ends)
    assert names[sk.num_joints:] == list(ends.names) and parents[sk.num_joints:] == list(ends.parents)


def test_a_rig_maps_onto_its_own_joints_and_onto_a_layout():
    clip = read_bvh(EXAMPLES / "retarget" / "rig_mixamo.bvh")
    ends = EndSites.of(clip)
    names, parents = names_and_parents(clip.skeleton, ends)
    own = propose(clip.skeleton, "y", names, point_parents=parents, ends=ends).bone_map.bones
    assert len(own) >= 20 and all(point == bone for bone, point in own.items())
    layout = get_layout("humanml3d22")
    onto = propose(clip.skeleton, "y", layout.points, layout, ends=ends).bone_map.bones
    elbow = next(n for n in clip.skeleton.names if n.endswith("LeftForeArm"))
    assert onto[elbow] == "left_elbow"


def test_an_end_site_on_its_joint_takes_no_point():
    """A zero-length End Site (Bandai's and Xia's Head_end, toe ends) mapped to a head-top point gave
    its joint a target at its own position; a tip away from its joint still takes the point."""
    rig, canon = humanoid(np.random.default_rng(1), spine=3, naming="mixamo")
    head = rig.names.index(canon["head"])
    names, parents = list(rig.names) + ["mixamorig:HeadTop_End"], list(rig.parents) + [head]
    layout = get_layout("h36m17")
    for lift, mapped in ((0.0, False), (0.1, True)):
        reference = np.concatenate([rig.rest_positions, rig.rest_positions[[head]] + [0.0, lift, 0.0]])
        bones = propose_map(names, parents, rig.num_joints, reference, np.array([0.0, 1.0, 0.0]), layout.points,
                            layout.canonical, layout.virtual, layout.landmarks).bone_map.bones
        assert ("mixamorig:HeadTop_End" in bones) == mapped


def test_joints_no_anatomical_name_tells_take_the_point_of_their_own_name():
    """Tracks exported from the rig itself (the shipped arm: shoulder, elbow, wrist, hand) share its
    names, but no anatomical name fits an arm without sides: `pose2rot map` found no joint on any
    point and refused. Each takes the point of its own name; a point already taken by its anatomical
    name stays with that joint."""
    clip = read_bvh(EXAMPLES / "arm.bvh")
    ends = EndSites.of(clip)
    names, parents = names_and_parents(clip.skeleton, ends)
    bones = propose(clip.skeleton, "y", names, ends=ends).bone_map.bones
    assert bones == {n: n for n in names}
    rig = read_bvh(EXAMPLES / "retarget" / "rig_mixamo.bvh")
    elbow = next(n for n in rig.skeleton.names if n.endswith("LeftForeArm"))
    layout = get_layout("humanml3d22")
    points = list(layout.points) + [elbow]  # a point named as the rig's elbow, beside the layout's
    onto = propose(rig.skeleton, "y", points, layout, ends=EndSites.of(rig)).bone_map.bones
    assert onto[elbow] == "left_elbow"


def test_points_without_a_layout_place_the_pelvis_between_their_hips():
    """A point set named as MediaPipe's but not all of it (no face points) is no layout, so it had no
    virtual pelvis: a rig whose root's children have no point (the CMU rig: hip over abdomen and the
    buttocks) got a map every solve refused. The layouts' torso rule now holds for such points too."""
    clip = read_bvh(EXAMPLES / "cmu_08_01.bvh")
    points = ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
              "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]
    bones = propose(clip.skeleton, "y", points).bone_map.bones
    assert bones["hip"] == {"mean": ["left_hip", "right_hip"]} and bones["lShin"] == "left_knee"
    alone = propose(clip.skeleton, "y", ["left_hip", "left_knee", "left_ankle"]).bone_map.bones
    assert "hip" not in alone                                       # one hip: no pelvis between two



def test_points_without_a_layout_place_the_head_between_their_ears():
    """OpenPose's BODY_25 names (no layout) give Nose, LEar and REar but no head: the rig's Head got no
    point and kept its reference pose, where the MediaPipe and COCO layouts place it between the ears.
    Named points now do too; with one ear there is no head between two."""
    rig = read_bvh(EXAMPLES / "retarget" / "rig_mixamo.bvh")
    names = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "MidHip", "RHip",
             "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar", "LBigToe", "LSmallToe",
             "LHeel", "RBigToe", "RSmallToe", "RHeel"]
    proposal = propose(rig.skeleton, "y", names, ends=EndSites.of(rig))
    assert proposal.bone_map.bones["mixamorig:Head"] == {"mean": ["LEar", "REar"]}, proposal.bone_map.bones
    assert "mixamorig:Head" not in proposal.kept + proposal.between
    one_ear = propose(rig.skeleton, "y", [n for n in names if n != "REar"], ends=EndSites.of(rig))
    assert "mixamorig:Head" not in one_ear.bone_map.bones

XSENS = (["Hips", "Chest", "Chest2", "Neck", "Head", "RightCollar", "RightShoulder", "RightElbow", "RightWrist",
          "LeftCollar", "LeftShoulder", "LeftElbow", "LeftWrist", "RightHip", "RightKnee", "RightAnkle", "RightToe",
          "LeftHip", "LeftKnee", "LeftAnkle", "LeftToe"],
         [-1, 0, 1, 2, 3, 2, 5, 6, 7, 2, 9, 10, 11, 0, 13, 14, 15, 0, 17, 18, 19])
BODY25 = (["MidHip", "Neck", "Nose", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "RHip", "RKnee",
           "RAnkle", "RBigToe", "RHeel", "LHip", "LKnee", "LAnkle", "LBigToe", "LHeel", "REye", "LEar"],
          [-1, 0, 1, 1, 3, 4, 1, 6, 7, 0, 9, 10, 11, 11, 0, 14, 15, 16, 16, 2, 2])
ASF = (["hip", "lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes", "rhipjoint", "rfemur", "rtibia", "rfoot", "rtoes",
        "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head", "lclavicle", "lhumerus", "lradius",
        "lwrist", "lhand", "lfingers", "lthumb", "rclavicle", "rhumerus", "rradius", "rwrist", "rhand", "rfingers",
        "rthumb", "ltoes_end", "rtoes_end", "head_end"],
       [-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 15, 13, 17, 18, 19, 20, 21, 20, 13, 24, 25, 26, 27,
        28, 27, 5, 10, 16])
#: MakeHuman's default rig (Z up): helper bones ``__X`` beside or above the bones they help, the
#: collars' helpers on the neck's place, both legs' helpers on one place below the pelvis
MAKEHUMAN = (["Root", "Spine1", "Spine2", "Spine3", "Neck", "Head", "__Clavicle_L", "Clavicle_L", "UpArm_L", "LoArm_L",
              "Hand_L", "__Thumb1_L", "Thumb1_L", "__Index1_L", "Index1_L", "Middle1_L", "__Clavicle_R", "Clavicle_R",
              "UpArm_R", "LoArm_R", "Hand_R", "Hips", "__UpLeg_L", "UpLeg_L", "LoLeg_L", "Foot_L", "Toe_L", "__UpLeg_R",
              "UpLeg_R", "LoLeg_R", "Foot_R", "Toe_R"],
             [-1, 0, 1, 2, 3, 4, 3, 6, 7, 8, 9, 10, 11, 10, 13, 10, 3, 16, 17, 18, 19, 0, 21, 22, 23, 24, 25, 21, 27,
              28, 29, 30])


@pytest.mark.parametrize("names, parents, expect", [
    (*XSENS, {"Hips": "pelvis", "LeftHip": "left_hip", "RightHip": "right_hip", "RightShoulder": "right_shoulder",
              "RightCollar": "right_collar", "LeftToe": "left_foot"}),
    (*BODY25, {"MidHip": "pelvis", "LHip": "left_hip", "RHip": "right_hip", "RShoulder": "right_shoulder",
               "LElbow": "left_elbow", "RBigToe": "right_toe_tip", "LHeel": "left_heel", "Nose": "nose",
               "REye": "right_eye", "LEar": "left_ear"}),
    (*ASF, {"hip": "pelvis", "lfemur": "left_hip", "rtibia": "right_knee", "lfoot": "left_ankle", "ltoes": "left_foot",
            "ltoes_end": "left_toe_tip", "lowerback": "spine1", "upperback": "spine2", "thorax": "spine3",
            "lowerneck": "neck", "head": "head", "lclavicle": "left_collar", "rhumerus": "right_shoulder",
            "lradius": "left_elbow", "lwrist": "left_wrist", "lfingers": "left_index1", "lthumb": "left_thumb1",
            "lhipjoint": None, "lhand": None, "upperneck": None}),
    (*MAKEHUMAN, {"Hips": "pelvis", "UpLeg_L": "left_hip", "UpLeg_R": "right_hip", "LoLeg_L": "left_knee",
                  "Clavicle_L": "left_collar", "UpArm_L": "left_shoulder", "LoArm_R": "right_elbow",
                  "Thumb1_L": "left_thumb1", "Index1_L": "left_index1", "__Clavicle_L": None, "__UpLeg_L": None,
                  "__Thumb1_L": None, "__Index1_L": None}),
], ids=["xsens_mvn", "openpose_body25", "cmu_asf", "makehuman"])
def test_points_named_as_xsens_openpose_or_cmu_asf_drive_the_body(names, parents, expect):
    """Xsens MVN's sided hips (``LeftHip``), OpenPose's ``MidHip`` and one-letter sides before a word
    (``LHip``, ``RShoulder``) and CMU's ASF names (``lfemur``, ``ltibia``, ``lhumerus``: each joint named
    by the bone that starts there) had no anatomical name: the rig's thighs were solved between the
    pelvis and the knees (the pelvis turned 53-56 degrees off the performer's hips), and the OpenPose and
    ASF maps had no root. Every rig joint of those names now takes its point. MakeHuman's helper bones
    (``__Clavicle_L`` on the neck's place, ``__UpLeg_L`` and ``__UpLeg_R`` on one place below the pelvis)
    took the names before the bones they help, and ``UpArm_L``, ``LoArm_L`` and ``LoLeg_L`` had none: the
    rig's thighs hung from that one place, its upper arms, forearms and shins were solved between."""
    canon, _ = canonical_names(names, parents)
    assert {n: canon.get(n) for n in expect} == expect
    rig = read_bvh(EXAMPLES / "retarget" / "rig_mixamo.bvh")
    proposal = propose(rig.skeleton, "y", names, point_parents=parents, ends=EndSites.of(rig))
    hips = {b: proposal.bone_map.bones.get(f"mixamorig:{b}") for b in ("Hips", "LeftUpLeg", "RightUpLeg")}
    point_of = {c: n for n, c in canon.items()}
    want = {"Hips": point_of["pelvis"], "LeftUpLeg": point_of["left_hip"], "RightUpLeg": point_of["right_hip"]}
    assert hips == want and not {"mixamorig:LeftUpLeg", "mixamorig:RightUpLeg"} & set(proposal.between)


@pytest.mark.parametrize("path, prefix", [("cmu_08_01.bvh", "DEF-"), ("cmu_08_01.bvh", "mixamorig:"),
                                          ("cmu_08_01.bvh", "CC_Base_"), ("retarget/rig_mixamo.bvh", "mixamorig7:")])
def test_the_proposal_maps_every_joint_name_matching_maps(path, prefix):
    """A rig whose bones carry a prefix its tracks lack (the CMU rig as ``DEF-hip``, ``mixamorig:hip``,
    ``CC_Base_hip`` driven by ``hip``, ...; the Mixamo rig as ``mixamorig7:Spine`` by points named
    without it, loose, as empties are): Blender's name matching paired every bone, but Automatic Map
    took only the points an anatomical name gave it (not the CMU rig's root, abdomen, chest and
    buttocks; not the Mixamo spine, whose joints are named by the tree, which loose points lack), and
    every solve through that map failed. Every pair name matching finds is in the proposal now, the
    End Sites' tips too."""
    clip = read_bvh(EXAMPLES / path)
    ends = EndSites.of(clip)
    names, parents = names_and_parents(clip.skeleton, ends)
    points = [strip_namespace(n) for n in names]
    renamed = [prefix + p for p in points]
    rig = Skeleton(tuple(renamed[:clip.skeleton.num_joints]), clip.skeleton.parents, clip.skeleton.rest_positions)
    rig_ends = EndSites(ends.parents, ends.offsets, tuple(renamed[clip.skeleton.num_joints:]))
    bones = propose(rig, "y", points, ends=rig_ends).bone_map.bones
    matched = match_names(renamed, points).bone_to_track
    assert len(matched) == len(names) and matched.items() <= bones.items()


def _on_the_chest(rig: Skeleton, canon: dict[str, str]) -> Skeleton:
    """``rig`` with its neck and both collars at the chest's own place (zero-length bones, as the Xia
    and CMU ASF-style rigs have them: ``Neck``, ``LeftShoulder`` and ``RightShoulder`` on ``Spine1``)."""
    rest, above = rig.rest_positions.copy(), rig.ancestor_mask()
    chest = rig.names.index(canon["spine3"])
    for c in ("neck", "left_collar", "right_collar"):
        j = rig.names.index(canon[c])
        rest[above[:, j]] -= rest[j] - rest[chest]
    return Skeleton(rig.names, rig.parents, rest)


def test_points_of_zero_length_bones_drive_no_two_joints_the_rig_holds_apart(tmp_path, capsys):
    """Another skeleton whose neck and collars sit on its chest's place (the Xia rig's ``Spine1``,
    ``Neck``, ``LeftShoulder`` and ``RightShoulder``): pose2rot map --source gave the rig's chest, neck
    and collars that one point, the solve warned that they were on one point and the chest folded and
    flipped (the Xia walk onto the Mixamo rig: 491 flips; onto the CMU rig 23 % of the height off).
    Only the first of them (the chest) keeps the place now; the neck and collars are placed between."""
    from pose2rot_core.bvh import write_bvh
    from pose2rot_core.cli import main
    from _humanoid import walk

    body, canon = humanoid(np.random.default_rng(2), spine=3, naming="mixamo")
    source = _on_the_chest(body, canon)
    R, root = walk(source, canon, 40, np.random.default_rng(3))
    tip = [source.names.index(canon[f"{s}_foot"]) for s in ("left", "right")]
    write_bvh(tmp_path / "source.bvh", source, R, root, end_parents=np.array(tip), end_offsets=np.zeros((2, 3)),
              end_names=[f"{source.names[j]}_end" for j in tip])
    rig, rig_canon = humanoid(np.random.default_rng(5), spine=3, naming="mixamo")
    write_bvh(tmp_path / "rig.bvh", rig, np.eye(3)[None, None].repeat(rig.num_joints, 1), rig.rest_positions[:1])
    assert main(["map", "--skeleton", str(tmp_path / "rig.bvh"), "--source", str(tmp_path / "source.bvh"),
                 "--out", str(tmp_path / "map.json")]) == 0
    bones = json.loads((tmp_path / "map.json").read_text())["bones"]
    assert bones[rig_canon["spine3"]] == canon["spine3"]
    assert not {rig_canon[c] for c in ("neck", "left_collar", "right_collar")} & set(bones), bones
    assert main(["solve", str(tmp_path / "source.bvh"), "--skeleton", str(tmp_path / "rig.bvh"), "--map",
                 str(tmp_path / "map.json"), "--out", str(tmp_path / "o.bvh")]) == 0
    assert "at another joint's point" not in capsys.readouterr().err


def test_a_tracks_file_of_another_skeleton_maps_as_its_bvh_does(tmp_path):
    """``pose2rot tracks CLIP.bvh`` keeps the clip's tree in the .npz, but pose2rot map --source read
    the file as loose points: a spine named only by the tree (``Chest1``, ``Chest2``, ``Chest3``; the
    Bandai walk's ``Chest``) was left unmapped and the rig's spine between the mapped points folded
    (the Bandai walk onto the Mixamo rig: by up to 97 degrees, warned). The tracks file maps as the
    BVH it was made from."""
    from pose2rot_core.bvh import write_bvh
    from pose2rot_core.cli import main
    from _humanoid import walk

    body, canon = humanoid(np.random.default_rng(4), spine=3, naming="generic")
    R, root = walk(body, canon, 30, np.random.default_rng(6))
    write_bvh(tmp_path / "source.bvh", body, R, root)
    assert main(["tracks", str(tmp_path / "source.bvh"), "--out", str(tmp_path / "source.npz")]) == 0
    rig = str(EXAMPLES / "retarget" / "rig_mixamo.bvh")
    maps = {}
    for source in ("source.bvh", "source.npz"):
        assert main(["map", "--skeleton", rig, "--source", str(tmp_path / source), "--out",
                     str(tmp_path / f"{source}.json")]) == 0
        maps[source] = json.loads((tmp_path / f"{source}.json").read_text())["bones"]
    assert maps["source.npz"] == maps["source.bvh"]
    assert maps["source.npz"]["mixamorig:Spine2"] == canon["spine3"]

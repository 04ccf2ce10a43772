"""The automatic map's setup shared by the command line, Blender and the benchmarks."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from _humanoid import humanoid
from pose2rot_core.automap import propose_map
from pose2rot_core.bvh import read_bvh
from pose2rot_core.layouts import get_layout
from pose2rot_core.map_proposal import EndSites, names_and_parents, propose, reference_positions

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

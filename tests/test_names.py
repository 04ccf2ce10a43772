"""Tolerant track-name matching (pose2rot_core.names, used by the Blender extension)."""
from __future__ import annotations

from pose2rot_core import names


def test_exact_then_case_then_canonical():
    m = names.match_names(["Hips", "Spine", "LeftArm"], ["hips", "Spine", "arm_L", "Hips"])
    assert m.bone_to_track == {"Hips": "Hips", "Spine": "Spine", "LeftArm": "arm_L"}
    assert m.unmatched_tracks == ["hips"]


def test_rig_conventions_share_keys():
    key = names.canonical_key
    assert key("mixamorig:LeftUpLeg") == key("upLeg.L") == key("L_UpLeg") == key("DEF-up_leg.l") == "l|upleg"
    assert key("RightHand") == key("hand_R") == key("Bip01 R Hand") == "r|hand"
    assert key("Hips.001") == key("hips") != key("l_hips")


def test_a_one_letter_side_before_a_capitalised_word_is_a_side():
    """OpenPose's ``RShoulder`` and ``LHip`` (and Daz's ``lShldr``) read as ``r|shoulder``, ``l|hip``:
    their one-letter side was lower-cased into the word (``|rshoulder``), so they matched no
    ``shoulder.R`` and no automatic map knew them. A capital before a capital word of its own
    (``RIG``) or a lower-case letter (``Root``) is no side."""
    key = names.canonical_key
    assert key("RShoulder") == key("shoulder.R") == key("Bip01_RShoulder") == "r|shoulder"
    assert key("LHip") == key("hip_l") == "l|hip" and key("lShldr") == "l|shldr"
    assert key("Root") == "|root" and key("RIG") == "|rig" and key("LOD0") == "|lod0"
    assert names.match_names(["hip.L", "shoulder.R"], ["RShoulder", "LHip"]).bone_to_track == {
        "hip.L": "LHip", "shoulder.R": "RShoulder"}


def test_numbered_segments_are_joints_not_duplicates():
    """A Rigify deform rig numbers the segments of one chain ('DEF-spine', 'DEF-spine.001', ...,
    'DEF-thigh.L.001' the thigh's twist segment); empties named as its metarig ('spine.003') or bones
    exported under a namespace ('Armature|Bone.001') matched none: the number was dropped as a
    duplicate's, so every segment shared one key."""
    bones = ["DEF-spine", "DEF-spine.001", "DEF-spine.002", "DEF-thigh.L", "DEF-thigh.L.001"]
    m = names.match_names(bones, ["spine", "spine.001", "spine.002", "thigh.L", "thigh.L.001"])
    assert m.bone_to_track == dict(zip(bones, ["spine", "spine.001", "spine.002", "thigh.L", "thigh.L.001"]))
    assert m.ambiguous == []
    exported = names.match_names(["Bone", "Bone.001", "Bone.002"], ["Armature|Bone.002", "Armature|Bone", "Armature|Bone.001"])
    assert exported.bone_to_track == {"Bone": "Armature|Bone", "Bone.001": "Armature|Bone.001",
                                      "Bone.002": "Armature|Bone.002"}
    assert names.numbered_key("DEF-spine.003") == "|spine.003" and names.numbered_key("thigh.L") == "l|thigh"


def test_ambiguous_keys_match_nothing():
    m = names.match_names(["arm_L"], ["Arm.L", "LeftArm"])
    assert m.bone_to_track == {} and m.ambiguous == ["l|arm"] and m.ambiguous_tracks == ["Arm.L", "LeftArm"]
    twins = names.match_names(["hip", "lHand"], ["mixamorig:hip", "mixamorig:lHand", "mixamorig1:lHand"])
    assert twins.bone_to_track == {"hip": "mixamorig:hip"}  # two characters' hands: neither drives the bone
    assert twins.ambiguous_tracks == ["mixamorig:lHand", "mixamorig1:lHand"]


def test_end_tracks_aim_leaf_bones_only():
    m = names.match_names(["root", "hand", "head"], ["root", "hand", "hand_end", "Head.tail", "root_end"],
                          leaf_bones=["hand", "head"])
    assert m.end_to_track == {"hand": "hand_end", "head": "Head.tail"}
    assert m.unmatched_bones == ["head"]                 # its tail is tracked, its head is not
    assert m.unmatched_tracks == ["root_end"]            # root is not a leaf


def test_duplicate_suffix_on_end_tracks():
    m = names.match_names(["hip", "foot"], ["hip.001", "foot.001", "foot_end.001"], leaf_bones=["foot"])
    assert m.bone_to_track == {"hip": "hip.001", "foot": "foot.001"}
    assert m.end_to_track == {"foot": "foot_end.001"}


def test_of_numbered_tip_tracks_the_last_aims_the_tail():
    """A joint with several End Sites gets one tip track each (``Wrist_end``, ``Wrist_end2``, ...,
    in file order); Blender's BVH importer puts the bone's tail on the last, so the last aims it
    (the first did, 90 degrees from where the tail rests, on a keypoint converter's hand fan)."""
    m = names.match_names(["arm", "Wrist"], ["arm", "Wrist", "Wrist_end", "Wrist_end2", "Wrist_end3.001"],
                          leaf_bones=["Wrist"])
    assert m.end_to_track == {"Wrist": "Wrist_end3.001"}
    assert m.unmatched_tracks == ["Wrist_end", "Wrist_end2"]
    assert names.other_tips("Wrist_end3.001", m.unmatched_tracks + ["arm_end", "Wrist"]) == ["Wrist_end", "Wrist_end2"]
    assert names.further_tips(m, {"Wrist_end2"}) == {"Wrist": ["Wrist_end2"]} and names.further_tips(m, set()) == {}
    one = names.match_names(["Wrist"], ["Wrist", "Wrist_end", "Wrist_end.001"], leaf_bones=["Wrist"])
    assert one.end_to_track == {"Wrist": "Wrist_end"}  # a duplicate is no later End Site


def test_tracks_left_out_by_alike_names_are_warned_of_by_cause():
    """A Rigify-like rig has 'DEF-thigh.L' and 'ORG-thigh.L' for an empty 'thigh.L': the warning blamed
    two sets of empties in one collection; it now names the bones, and keeps the old cause for
    two characters' empties."""
    bones = ["root", "DEF-thigh.L", "ORG-thigh.L", "DEF-shin.L", "ORG-shin.L"]
    rigify = names.match_names(bones, ["thigh.L", "shin.L"])
    (line,) = names.ambiguity_warnings(rigify, bones)
    assert line.startswith("2 empties match two or more bones alike and drive none: 'thigh.L' matches "
                           "'DEF-thigh.L' and 'ORG-thigh.L'"), line
    hands = ["hip", "lHand"]
    twins = names.match_names(hands, ["mixamorig:hip", "mixamorig:lHand", "mixamorig1:lHand"])
    (line,) = names.ambiguity_warnings(twins, hands)
    assert line.startswith("2 empties match one bone alike") and "two sets of empties" in line, line
    assert names.ambiguity_warnings(names.match_names(hands, ["hip", "lHand"]), hands) == []


def test_an_empty_whose_name_is_a_misspelt_bone_s_is_warned_of():
    """The shipped arm's CSV with 'wirst' for 'wrist' is an error on the command line (close matches
    named) but solved quietly in Blender and the batch, the wrist placed between elbow and hand; the
    empty and the bone it was meant for are now named. Sides and numbered segments are not taken
    for misspellings ('thigh.R' is not 'thigh.L', 'Spine3' not 'Spine2')."""
    bones = ["hips", "elbow", "wrist", "mixamorig:LeftHand", "Spine1", "Spine2", "thigh.L"]
    match = names.match_names(bones, ["hips", "elbow", "wirst", "LeftHnad", "Spine1", "Spine3", "thigh.R", "nose"])
    (line,) = names.misspelt_warnings(match)
    assert line.startswith("2 empties drive no bone where a bone of a like name has no empty: 'wirst' (bone "
                           "'wrist'), 'LeftHnad' (bone 'mixamorig:LeftHand'): misspelt?"), line
    assert names.misspelt_warnings(names.match_names(bones, ["hips", "elbow", "wrist", "thigh.R", "Spine3"])) == []


def test_numbered_copies_stand_for_their_points_only_where_one_alone_does():
    """A second take's 'left_hip.001' stands for the map's 'left_hip' when no empty has the plain name
    and no other copy ('left_hip.002') competes; a chain's numbered segment named in the map itself
    ('spine.001') and names the points do not ask for are left as they are."""
    taken = ["left_hip.001", "right_hip.001", "right_hip.002", "nose", "nose.001", "spine.001", "tail.001"]
    wanted = {"left_hip", "right_hip", "nose", "spine.001", "spine"}
    assert names.numbered_copies(taken, wanted) == {"left_hip": "left_hip.001"}
    assert names.numbered_copies([], wanted) == {}


def test_a_rig_rigify_generated_is_told_by_its_three_bone_sets():
    """A rig Rigify generated names deform, original and mechanism bones ('DEF-', 'ORG-', 'MCH-'); its
    metarig names none of them and a deform-only export the 'DEF-' bones alone."""
    generated = ["root", "torso", "MCH-torso.parent", "ORG-spine", "DEF-spine", "thigh_fk.L", "DEF-thigh.L"]
    assert names.rigify_generated(generated)
    assert not names.rigify_generated(["spine", "spine.001", "thigh.L", "shin.L"])
    assert not names.rigify_generated(["DEF-spine", "DEF-thigh.L", "DEF-shin.L"])
    assert not names.rigify_generated([n for n in generated if not n.startswith("MCH-")])

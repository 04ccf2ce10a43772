"""Notes in each interface's own words; the one table of option names."""
from __future__ import annotations

import pytest

from pose2rot_core.bonemap import BoneMap, check_map
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.wording import (OPTION_NAMES, OPTION_VALUES, flags_in_words, in_words, label, notes_for, setting,
                                   steps_in_words, tracks_were_smoothed, value_label)

STRETCH_NOTE = ("3 joints change their distance to the parent over the clip (bone stretch, up to 0.5 % of height): "
                "their offsets are solved per frame so positions match (use stretch='off' for rigid bones)")
MISMATCH_NOTE = ("2 bones differ from their rest length ('knee' by 4 % of height and 'hip' by 2 %): they keep the rig's bone "
                 "length, so those joints follow the rig, not their tracks (stretch 'exact' translates them)")


def test_keywords_become_flags_or_panel_labels():
    assert in_words(STRETCH_NOTE, "cli").endswith("(use --stretch off for rigid bones)")
    assert in_words(STRETCH_NOTE, "blender").endswith("(use Bone lengths: Rigid for rigid bones)")
    assert "(--stretch exact translates them)" in in_words(MISMATCH_NOTE, "cli")
    assert "(Bone lengths: Match the tracks translates them)" in in_words(MISMATCH_NOTE, "blender")
    assert in_words('smooth="off"', "cli") == "--smooth off"
    assert in_words("twist='lookahead'", "blender") == "twist='lookahead'"   # no panel counterpart: left as is


def test_a_smoothing_width_names_the_panel_s_width_field():
    """A width in seconds was 'Smoothing: 0.017' in the panel (no such choice: the width has a field of its
    own), and the glitch warning advised 'Smoothing: Fixed' with no width at all."""
    assert in_words("smooth='0.017' treats them as gaps", "cli") == "--smooth 0.017 treats them as gaps"
    assert in_words("smooth='0.017' treats them as gaps", "blender") == ("Smoothing: Fixed with Width (s) 0.017 "
                                                                         "treats them as gaps")


def test_table_lookups():
    assert label("stretch", "cli") == "--stretch" and label("stretch", "blender") == "Bone lengths"
    assert value_label("stretch", "off", "blender") == "Rigid" and value_label("smooth", "0.05", "blender") == "0.05"
    assert setting("smooth", "auto", "blender") == "Smoothing: Auto"
    with pytest.raises(KeyError, match="no blender counterpart"):
        label("scale", "blender")
    with pytest.raises(ValueError, match="unknown interface"):
        in_words("x", "gui")
    assert all(option in OPTION_NAMES for option, _ in OPTION_VALUES)


def test_notes_come_in_the_interface_words_in_their_order():
    notes = [STRETCH_NOTE, "filled 1 gap in 'x' (frame 3)", MISMATCH_NOTE]
    assert notes_for(notes, "cli") == [in_words(n, "cli") for n in notes]
    assert notes_for(notes, "blender")[2].endswith("(Bone lengths: Match the tracks translates them)")
    assert notes_for(notes + notes[1:2], "cli") == notes_for(notes, "cli")  # each once (a map's gaps: twice)


def test_smoothing_is_recognised():
    assert tracks_were_smoothed(["smoothed 4 of 7 tracks: noise 1 % of height (median), kernel 17 ms"])
    assert not tracks_were_smoothed([STRETCH_NOTE, "rotations smoothed as the tracks were?"])


def test_the_steps_a_map_error_advises_are_the_interface_s_own():
    """A map naming the rig's joints under another prefix, or proposed for other points, advised
    'pose2rot map --skeleton, or Automatic Map in Blender' in both interfaces (Blender's users read
    of a command they do not have). The core names the command line's step; Blender words it as its
    button, and a whole command line a message quotes is left as it is."""
    with pytest.raises(Pose2RotError) as err:
        check_map(BoneMap({"Hips": "a"}), ["mixamorig:Hips"], ["a"])
    message = str(err.value)
    assert message.endswith("or propose a map for this rig with pose2rot map --skeleton"), message
    assert steps_in_words(message, "cli") == message
    assert steps_in_words(message, "blender").endswith("or propose a map for this rig with Automatic Map")
    assert steps_in_words(message + " (the Bone Map is in use)", "blender").endswith("with Automatic Map (the Bone "
                                                                                      "Map is in use)")
    with pytest.raises(Pose2RotError) as err:
        check_map(BoneMap({"mixamorig:Hips": "pelvis"}, extra={"layout": "humanml3d22"}), ["mixamorig:Hips"], ["a"])
    assert in_words(str(err.value), "blender").endswith("propose one for these points with Automatic Map)")
    quoted = "(--map MAP.json, made by: pose2rot map --skeleton RIG.bvh --source x.npz --out MAP.json)"
    assert steps_in_words(quoted, "blender") == quoted


def test_flags_in_words_tells_a_flag_as_the_interface_labels_it():
    """A core error in the command line's words, shown by another interface: each flag of an option that
    interface has is its label, a value after it kept and a placeholder dropped; a flag of an option it
    lacks, a longer flag that starts alike, a flag inside a word and a whole command line's own options
    stay as they are."""
    labels = {"layout": "'Layout' in Import Tracks", "config": "'Config' in Preferences"}
    assert flags_in_words("fits --layout coco17 or --layout h36m17; give --layout NAME", labels) == (
        "fits coco17 as 'Layout' in Import Tracks or h36m17 as 'Layout' in Import Tracks; give 'Layout' in "
        "Import Tracks")
    assert flags_in_words("give the model's --config, or --fps F (command line)", labels) == (
        "give the model's 'Config' in Preferences, or --fps F (command line)")
    assert flags_in_words("--layouts x, a--layout y, --skeleton RIG.bvh", labels) == (
        "--layouts x, a--layout y, --skeleton RIG.bvh")
    assert flags_in_words("no flag here", {}) == "no flag here"

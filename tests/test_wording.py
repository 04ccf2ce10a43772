"""Notes in each interface's own words; the one table of option names."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pose2rot_core.wording import (OPTION_NAMES, OPTION_VALUES, in_words, label, notes_for, setting,
                                   tracks_were_smoothed, value_label)

STRETCH_NOTE = ("3 joints change their distance to the parent over the clip (bone stretch, up to 0.5 % of height): "
                "their offsets are solved per frame so positions match (use stretch='off' for rigid bones)")
MISMATCH_NOTE = ("2 bones differ from their rest length (worst 'knee': 4 % of height): they keep the rig's bone "
                 "length, so those joints follow the rig, not their tracks (stretch 'exact' translates them)")


def free_note(joint: str, amount: float) -> str:
    return (f"joint '{joint}' translates relative to 'hips' (up to {amount:.4g} units from its rest bone length): "
            "its translation is solved per frame")


def test_keywords_become_flags_or_panel_labels():
    assert in_words(STRETCH_NOTE, "cli").endswith("(use --stretch off for rigid bones)")
    assert in_words(STRETCH_NOTE, "blender").endswith("(use Bone lengths: Rigid for rigid bones)")
    assert "(--stretch exact translates them)" in in_words(MISMATCH_NOTE, "cli")
    assert "(Bone lengths: Match the tracks translates them)" in in_words(MISMATCH_NOTE, "blender")
    assert in_words('smooth="off"', "cli") == "--smooth off"
    assert in_words("twist='lookahead'", "blender") == "twist='lookahead'"   # no panel counterpart: left as is


def test_table_lookups():
    assert label("stretch", "cli") == "--stretch" and label("stretch", "blender") == "Bone lengths"
    assert value_label("stretch", "off", "blender") == "Rigid" and value_label("smooth", "0.05", "blender") == "0.05"
    assert setting("smooth", "auto", "blender") == "Smoothing: Auto"
    with pytest.raises(KeyError, match="no blender counterpart"):
        label("scale", "blender")
    with pytest.raises(ValueError, match="unknown interface"):
        in_words("x", "gui")
    assert all(option in OPTION_NAMES for option, _ in OPTION_VALUES)


def test_per_joint_translation_notes_become_one_line_with_consistent_counts():
    notes = [free_note("a", 3.0), free_note("b", 12.5), free_note("c", 1.0), STRETCH_NOTE, "filled 1 gap in 'x' (frame 3)"]
    out = notes_for(notes, "cli")
    assert len(out) == 3
    assert out[0].startswith("3 joints move away from their parent ('a', 'b', 'c'; up to 12.5 units")
    assert out[1].startswith("3 other joints change their distance") and "--stretch off" in out[1]
    assert out[2] == notes[-1]
    assert notes_for([free_note("a", 2.0)], "blender")[0].startswith("1 joint moves away from its parent ('a', up to 2")
    assert notes_for([STRETCH_NOTE], "cli")[0].startswith("3 joints change")      # no free joints: no "other"


@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"]), min_size=1, max_size=8, unique=True))
def test_gathered_line_counts_every_joint(joints):
    out = notes_for([free_note(j, 1.0 + i) for i, j in enumerate(joints)], "cli")
    assert len(out) == 1 and out[0].startswith(f"{len(joints)} joint")
    shown = min(len(joints), 6)
    assert sum(f"'{j}'" in out[0] for j in joints) == shown
    assert (f"and {len(joints) - 6} more" in out[0]) == (len(joints) > 6)


def test_smoothing_is_recognised():
    assert tracks_were_smoothed(["smoothed 4 of 7 tracks: noise 1 % of height (median), kernel 17 ms"])
    assert not tracks_were_smoothed([STRETCH_NOTE, "rotations smoothed as the tracks were?"])

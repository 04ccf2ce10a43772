"""SolveOptions: one home for defaults and valid values; the command line's view of it."""
from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core.bvh import read_bvh
from pose2rot_core.cli import build_parser, option_arguments, solve_options
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.options import OptionError, SolveOptions
from pose2rot_core.solvers import solve
from pose2rot_core.solvers.geometric import STRETCH_MODES, TWIST_POLICIES
from pose2rot_core.tracks_io import tracks_from_bvh
from pose2rot_core.wording import OPTION_NAMES, names, neutral

from test_cli import small_clip

BAD = [
    ("solver", "magic", "solver must be one of geometric, learned, hybrid, got 'magic'"),
    ("twist", "roll", "twist policy must be one of"),
    ("stretch", "yes", "stretch must be one of auto, exact, off, got 'yes'"),
    ("smooth", "soft", "smooth must be 'auto', 'off' or a width in seconds"),
    ("smooth", -1.0, "smooth width must be a number of seconds >= 0"),
    ("precision", "fp8", "precision must be one of fp32, bf16, fp16"),
    ("window", 0, "window must be a whole number of frames >= 1, got 0"),
    ("max_position_error", -2.0, "maximum position error must be a percentage of the height above 0"),
    ("max_position_error", float("nan"), "maximum position error must be a percentage"),
]


@pytest.fixture
def ckpt(tmp_path):
    """An (empty) existing checkpoint file: what the options check before a learned solve."""
    path = tmp_path / "model.pt"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("field, value, words", BAD, ids=[f"{b[0]}={b[1]}" for b in BAD])
def test_each_bad_value_has_one_error_naming_its_field(field, value, words):
    with pytest.raises(OptionError) as err:
        SolveOptions(**{field: value})
    assert err.value.field == field and str(err.value).startswith(words)
    assert str(err.value) == f"{neutral(field)} {err.value.problem}"
    assert str(err.value.worded({field: "Panel Label"})) == f"Panel Label {err.value.problem}"
    assert str(err.value.worded({})) == str(err.value)


def test_model_files_are_checked_for_the_learned_solvers(tmp_path, ckpt):
    assert SolveOptions(solver="geometric", checkpoint=None).checkpoint is None
    for solver in ("learned", "hybrid"):
        with pytest.raises(OptionError, match=f"checkpoint is not set: the {solver} solver needs one"):
            SolveOptions(solver=solver)
        with pytest.raises(OptionError, match="checkpoint '.*nope.pt' does not exist"):
            SolveOptions(solver=solver, checkpoint=str(tmp_path / "nope.pt"))
        with pytest.raises(OptionError, match="checkpoint '.*' is a folder: give the file in it"):
            SolveOptions(solver=solver, checkpoint=str(tmp_path))
    with pytest.raises(OptionError, match="model config '.*c.yaml' does not exist"):
        SolveOptions(solver="hybrid", checkpoint=str(ckpt), config=str(tmp_path / "c.yaml"))
    opts = SolveOptions(solver="hybrid", checkpoint=str(ckpt), window=64)
    assert opts.learned_options()["window"] == 64 and opts.learned_options()["checkpoint"] == str(ckpt)


@pytest.mark.parametrize("stretch, expected", [("auto", "off"), ("exact", "exact"), ("off", "off")])
def test_points_solve_geometric_with_rigid_bones_unless_asked(stretch, expected, ckpt):
    opts = SolveOptions(stretch=stretch, smooth=0.1, twist="swing").for_points()
    assert opts.stretch == expected and opts.smooth == 0.1 and opts.twist == "swing"
    with pytest.raises(OptionError) as err:
        SolveOptions(solver="hybrid", checkpoint=str(ckpt)).for_points()
    assert err.value.field == "solver" and "must be geometric for points" in str(err.value)


def test_stretch_and_twist_reach_only_the_geometric_step(ckpt):
    assert SolveOptions(stretch="exact", twist="transport").geometric_options() == {
        "twist": "transport", "stretch": "exact"}
    assert SolveOptions(solver="learned", checkpoint=str(ckpt), stretch="off").geometric_options() == {}


def test_auto_twist_reads_the_childs_bend_but_keeps_the_networks_twist_in_hybrid(ckpt):
    assert SolveOptions().twist == "auto"
    assert SolveOptions().geometric_options()["twist"] == "lookahead"
    assert SolveOptions(solver="hybrid", checkpoint=str(ckpt)).geometric_options()["twist"] == "reference"
    assert SolveOptions(solver="hybrid", checkpoint=str(ckpt), twist="swing").geometric_options()["twist"] == "swing"


def test_smooth_values_are_normalised_once():
    assert SolveOptions(smooth=" OFF ").smooth == "off"
    assert SolveOptions(smooth="0.03").smooth == pytest.approx(0.03)
    assert SolveOptions(smooth=0).smooth == "off"
    assert SolveOptions.of(SolveOptions(smooth=0.05), twist="transport").smooth == pytest.approx(0.05)


def test_dropping_ends_and_reference_is_the_same_as_tracks_without_them(tmp_path):
    clip = read_bvh(small_clip(tmp_path / "c.bvh"))
    tracks = tracks_from_bvh(clip, reference_frame=3)
    bare = replace(tracks, end_positions=None, end_parents=None, end_rest_offsets=None, end_names=(),
                   reference_rotations=None, reference_frame=None)
    a = solve(tracks, use_ends=False, use_reference=False)
    b = solve(bare)
    np.testing.assert_array_equal(a.rotations, b.rotations)
    assert np.abs(solve(tracks).rotations - a.rotations).max() > 1e-3   # the pose and the tips matter here


options_strategy = st.builds(
    SolveOptions, twist=st.sampled_from(TWIST_POLICIES), stretch=st.sampled_from(STRETCH_MODES),
    smooth=st.one_of(st.sampled_from(["auto", "off"]), st.floats(0.001, 1.0)), use_ends=st.booleans(),
    device=st.just("auto"))  # model flags and settings with the geometric solver are refused (test_cli)


@settings(max_examples=60, deadline=None)
@given(options_strategy)
def test_command_line_arguments_give_the_options_back(options):
    args = build_parser().parse_args(["eval", "clip.bvh"] + option_arguments(options))
    assert solve_options(args) == options


def test_every_option_has_a_neutral_name_and_interface_names_from_one_table():
    assert {f.name for f in fields(SolveOptions)} <= set(OPTION_NAMES)
    assert all(neutral(option) for option in OPTION_NAMES)
    assert names("cli")["max_position_error"] == "--max-position-error"
    assert names("blender")["stretch"] == "Bone lengths" and "twist" not in names("blender")
    with pytest.raises(Pose2RotError):
        solve_options(build_parser().parse_args(["eval", "clip.bvh", "--smooth", "soft"]))

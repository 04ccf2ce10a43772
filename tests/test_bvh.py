"""BVH reading and writing: hand-checked values, malformed files, round trips (real clips and random)."""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pose2rot_core.bvh import channel_rotations, parse_bvh, read_bvh, write_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.rotations import EULER_ORDERS, euler_to_matrix, quat_to_matrix
from pose2rot_core.skeleton import Skeleton


def Rx(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def Ry(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def Rz(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


BASE = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Chest
  {
    OFFSET 0 1 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 1 0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.0333333
0 0 0 0 0 0 0 0 0
1 0 0 10 20 30 40 50 60
2 0 0 -10 -20 -30 -40 -50 -60
"""


def edit(line_no: int, new: str | None) -> str:
    """BASE with line ``line_no`` (1-based) replaced, or deleted when ``new`` is None."""
    lines = BASE.split("\n")
    if new is None:
        del lines[line_no - 1]
    else:
        lines[line_no - 1] = new
    return "\n".join(lines)


def random_rotations(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return quat_to_matrix(rng.normal(size=shape + (4,)))


# ----------------------------------------------------------------------------- reading
def test_small_file_values_by_hand(test_data_dir):
    """Mixed orders, position channels after rotations, 0 channels, 6 channels on a child."""
    clip = read_bvh(test_data_dir / "small_mixed.bvh")
    assert clip.skeleton.names == ("Hips", "Spine", "Neck", "Arm")
    assert clip.orders == ["ZYX", "XYZ", "", "YXZ"]
    assert clip.channels[2] == [] and clip.channels[0][:3] == ["Zrotation", "Yrotation", "Xrotation"]
    assert clip.has_position_channels.tolist() == [True, False, False, True]
    assert clip.fps == pytest.approx(25.0) and clip.frame_time == pytest.approx(0.04)
    np.testing.assert_allclose(clip.skeleton.offsets, [[1, 2, 3], [0, 10, 0], [0, 5, 0], [4, 0, 0]])
    np.testing.assert_allclose(clip.root_translation, [[10, 20, 30], [10, 20, 30]])
    np.testing.assert_allclose(clip.local_offsets[:, 3], [[5, 0, 0], [5, 1, 0]])
    np.testing.assert_allclose(clip.local_offsets[:, 1], [[0, 10, 0], [0, 10, 0]])
    np.testing.assert_allclose(clip.rotations[1, 0], Rz(90), atol=1e-12)
    np.testing.assert_allclose(clip.rotations[1, 1], Rx(90), atol=1e-12)
    np.testing.assert_allclose(clip.rotations[:, 2], np.broadcast_to(np.eye(3), (2, 3, 3)))
    np.testing.assert_allclose(clip.rotations[1, 3], Rz(90), atol=1e-12)
    expected = [[[10, 20, 30], [10, 30, 30], [10, 35, 30], [15, 20, 30]],
                [[10, 20, 30], [0, 20, 30], [0, 20, 35], [9, 25, 30]]]
    np.testing.assert_allclose(clip.fk(), expected, atol=1e-9)
    assert clip.end_parents.tolist() == [2, 3] and clip.end_names == ["Neck_end", "Arm_end"]
    np.testing.assert_allclose(clip.end_site_positions(), [[[10, 37, 30], [18, 20, 30]], [[0, 20, 37], [6, 25, 30]]],
                               atol=1e-9)


def test_euler_is_intrinsic_in_channel_order():
    text = BASE.replace("Zrotation Xrotation Yrotation\n  JOINT", "Yrotation Zrotation Xrotation\n  JOINT")
    clip = parse_bvh(text)
    np.testing.assert_allclose(clip.rotations[1, 0], Ry(10) @ Rz(20) @ Rx(30), atol=1e-12)
    np.testing.assert_allclose(clip.rotations[2, 1], Rz(-40) @ Rx(-50) @ Ry(-60), atol=1e-12)


@pytest.mark.parametrize("order", EULER_ORDERS)
def test_channel_rotations_match_euler_to_matrix(order):
    angles = np.random.default_rng(2).uniform(-7, 7, size=(50, 4, 3))
    np.testing.assert_allclose(channel_rotations(angles, order), euler_to_matrix(angles, order), atol=1e-14)
    np.testing.assert_allclose(channel_rotations(angles[..., :0], ""), np.broadcast_to(np.eye(3), (50, 4, 3, 3)))


def test_crlf_cr_and_tabs_read_like_lf():
    ref = parse_bvh(BASE)
    for text in (BASE.replace("\n", "\r\n"), BASE.replace("\n", "\r"), BASE.replace("  ", "\t \t").replace(" 0 ", "   0\t")):
        clip = parse_bvh(text)
        np.testing.assert_array_equal(clip.rotations, ref.rotations)
        np.testing.assert_array_equal(clip.fk(), ref.fk())


@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_no_break_spaces_read_as_spaces(tmp_path, encoding):
    """No-break spaces (U+00A0, as a word processor or a web page puts between numbers) between the values of
    motion rows stopped the read at the first row ('motion row 1 has 1 values, expected 9'), though the header
    read them as spaces (after a name, between OFFSET numbers) and so does Blender's importer (its rows split
    at any Unicode space: checked with bpy 4.2, which reads such a UTF-8 file whole). Every row reads them as
    spaces; a name that holds one is two words, joined by '_' as Blender joins them."""
    nbsp = "\u00a0"
    head, rows = BASE.split("Frame Time: 0.0333333\n")
    text = (head.replace("ROOT Hips", f"ROOT Hips{nbsp}").replace("JOINT Chest", f"JOINT Upper{nbsp}Chest")
            .replace("OFFSET 0 1 0", f"OFFSET{nbsp}0{nbsp}1 0", 1)
            + "Frame Time: 0.0333333\n" + rows.replace(" ", nbsp))
    if encoding == "utf-8":                     # a thin space too (U+2009), which Latin-1 has not
        text = text.replace(f"10{nbsp}", f"10{nbsp}\u2009")
    (tmp_path / "a.bvh").write_bytes(text.encode(encoding))
    clip, plain = read_bvh(tmp_path / "a.bvh"), parse_bvh(BASE)
    assert clip.skeleton.names == ("Hips", "Upper_Chest")
    np.testing.assert_array_equal(clip.rotations, plain.rotations)
    np.testing.assert_array_equal(clip.fk(), plain.fk())


def test_brace_on_name_line_and_names_with_spaces():
    text = BASE.replace("ROOT Hips\n{", "ROOT Hips {").replace("JOINT Chest\n  {", "JOINT Upper Chest {")
    text = text.replace("End Site\n    {", "End Site {")
    clip = parse_bvh(text)
    assert clip.skeleton.names == ("Hips", "Upper_Chest")
    np.testing.assert_allclose(clip.fk(), parse_bvh(BASE).fk())


def test_braces_stuck_to_names_and_numbers_read_as_braces(tmp_path):
    """'ROOT Hips{' was read as a joint 'Hips{' followed by a missing '{' ("expected '{' after ROOT Hips{,
    found 'OFFSET'"); a brace is a brace wherever it stands, and a name that holds one is refused."""
    ref = parse_bvh(BASE)
    stuck = (BASE.replace("ROOT Hips\n{", "ROOT Hips{")
             .replace("JOINT Chest\n  {\n    OFFSET 0 1 0", "JOINT Chest{OFFSET 0 1 0")
             .replace("End Site\n    {", "End Site{").replace("      OFFSET 0 1 0\n    }\n  }\n}", "OFFSET 0 1 0}}}"))
    clip = parse_bvh(stuck)
    assert clip.skeleton.names == ref.skeleton.names
    np.testing.assert_array_equal(clip.fk(), ref.fk())
    np.testing.assert_array_equal(clip.end_site_positions(), ref.end_site_positions())
    for written, line in (("ROOT Bone{1}", 2), ("ROOT Bone{1} {", 2), ("JOINT Ch}est", 6)):
        old = "ROOT Hips" if written.startswith("ROOT") else "JOINT Chest"
        with pytest.raises(Pose2RotError) as info:
            parse_bvh(BASE.replace(old, written), name="bad.bvh")
        name = written.split()[1]
        assert str(info.value) == (f"bad.bvh: line {line}: joint name '{name}' holds a brace, and BVH reads '{{' and "
                                   "'}' as the braces of its blocks: rename the joint without them")
    R = np.broadcast_to(np.eye(3), (1, 2, 3, 3))
    for name in ("a{b", "b}"):   # the writer writes no name the reader would split
        sk = Skeleton(["root", name], [-1, 0], [[0, 0, 0], [0, 1, 0]])
        with pytest.raises(Pose2RotError, match=f"joint name '{name}' cannot be written to BVH, which reads"):
            write_bvh(tmp_path / "x.bvh", sk, R, np.zeros((1, 3)))
    assert not (tmp_path / "x.bvh").exists()


def test_one_and_two_rotation_channels():
    text = edit(5, "  CHANNELS 5 Xposition Yposition Zposition Xrotation Zrotation")
    text = text.replace("CHANNELS 3 Zrotation Xrotation Yrotation", "CHANNELS 4 Yrotation Xposition Yposition "
                        "Zposition")
    clip = parse_bvh(text)
    assert clip.orders == ["XZ", "Y"]
    np.testing.assert_allclose(clip.rotations[1, 0], Rx(10) @ Rz(20), atol=1e-12)
    np.testing.assert_allclose(clip.rotations[1, 1], Ry(30), atol=1e-12)
    np.testing.assert_allclose(clip.local_offsets[1, 1], [40, 50, 60])


def test_scale_channels_of_one_are_read_and_other_scales_refused():
    """Exporters that write nine channels on every joint (positions, rotations, Xscale..Zscale) once
    got 'unknown channel name 'Xscale''; scale 1 is no scale, any other would move the joints below."""
    nine = BASE.replace("CHANNELS 3 Zrotation Xrotation Yrotation",
                        "CHANNELS 6 Zrotation Xrotation Yrotation Xscale Yscale Zscale")
    rows = ["0 0 0 0 0 0 0 0 0 1 1 1", "1 0 0 10 20 30 40 50 60 1 1.00001 1", "2 0 0 -10 -20 -30 -40 -50 -60 1 1 1"]
    text = nine.split("Frame Time: 0.0333333\n")[0] + "Frame Time: 0.0333333\n" + "\n".join(rows) + "\n"
    clip, base = parse_bvh(text), parse_bvh(BASE)
    assert clip.orders == base.orders and clip.channels[1][3:] == ["Xscale", "Yscale", "Zscale"]
    np.testing.assert_array_equal(clip.rotations, base.rotations)
    np.testing.assert_array_equal(clip.fk(), base.fk())
    with pytest.raises(Pose2RotError) as info:
        parse_bvh(text.replace("60 1 1.00001 1", "60 1 1.2 1"), name="scaled.bvh")
    msg = str(info.value)
    for words in ("scaled.bvh: ", "'Chest'", "Yscale 1.2 in frame 1", "scale 1"):
        assert words in msg, msg


@pytest.mark.parametrize("text, line, words", [
    ("", None, ["empty file"]),
    ("   \n\n", None, ["empty file"]),
    ("foo bar\n1 2 3\n", 1, ["not a BVH", "HIERARCHY"]),
    (edit(21, None), 17, ["truncated", "Frames: 3", "2 motion rows", "line 20"]),
    (edit(21, "2 0 0 -10 -20"), 21, ["truncated", "5 values", "expected 9"]),
    (edit(20, "1 0 0 10 20 30 40 50"), 20, ["row 2", "8 values", "expected 9"]),
    (edit(20, "1 0 0 10 20 30 40 50 60 70"), 20, ["10 values", "expected 9"]),
    (edit(9, "    CHANNELS 3 Zrotation Xrotation Wrotation"), 9, ["unknown channel name 'Wrotation'", "Chest"]),
    (edit(9, "    CHANNELS 3 Zrotation Xrotation"), 9, ["CHANNELS says 3", "lists 2"]),
    (edit(8, None), 6, ["missing OFFSET", "'Chest'"]),
    (edit(12, None), 10, ["missing OFFSET", "End Site of 'Chest'"]),
    (edit(8, "    OFFSET 0 1"), 8, ["OFFSET needs 3 numbers", "found 2"]),
    (edit(8, "    OFFSET 0 one 0"), 8, ["'one'", "not a number"]),
    (edit(14, None), 15, ["unbalanced braces", "'Hips'", "line 2", "MOTION"]),
    (edit(15, "}\n}"), 16, ["unbalanced braces", "without a matching"]),
    (BASE.split("MOTION")[0].replace("}\n}\n", "}\n"), 14, ["unbalanced braces", "never closed"]),
    (edit(20, "1 0 0 10 abc 30 40 50 60"), 20, ["'abc'", "not a number", "value 5"]),
    (edit(17, "Framez: 3"), 17, ["Frames:"]),
    (edit(17, "Frames: three"), 17, ["Frames:", "'three'"]),
    (edit(18, None), 18, ["Frame Time:"]),
    (edit(18, "Frame Time: 0"), 18, ["Frame Time:", "positive"]),
    (edit(17, "Frames: 2"), 21, ["3 motion rows", "line 17", "Frames: 2"]),
    (edit(6, "  JOINT Hips"), 6, ["duplicate joint name 'Hips'", "line 2"]),
    (BASE.split("MOTION")[0], 15, ["no MOTION"]),
    (edit(6, "  ROOT Chest"), 6, ["ROOT inside another joint"]),
    (edit(15, "}\nROOT Other\n{\nOFFSET 0 0 0\n}"), 16, ["second ROOT"]),
    (edit(4, "  OFFSET 0 0 0 bogus"), 4, ["unexpected 'bogus'", "'Hips'"]),
    (edit(4, "  OFFSET 0 0 0 0 90 0"), 4, ["OFFSET of joint 'Hips' has 6 numbers", "has 3 (x y z"]),
    (edit(12, "      OFFSET 0 1 0 5"), 12, ["OFFSET of End Site of 'Chest' has 4 numbers"]),
    (edit(20, "1 0 0 10 nan 30 40 50 60"), 20, ["value 5 'nan'", "not a finite number"]),
    (edit(21, "inf 0 0 -10 -20 -30 -40 -50 -60"), 21, ["value 1 'inf'", "not a finite number"]),
    (edit(20, "1 0 0 10 20 30 40 50 1e400"), 20, ["value 9 '1e400'", "not a finite number"]),
    (edit(18, "Frame Time: -0.04"), 18, ["Frame Time:", "positive", "'-0.04'"]),
    (edit(18, "Frame Time: 0,04"), 18, ["'0,04'", "BVH numbers take a decimal point: 0.04)"]),
    (edit(8, "    OFFSET 0 1,5 0"), 8, ["OFFSET value '1,5'", "BVH numbers take a decimal point: 1.5)"]),
    (edit(8, "    OFFSET 0 nan 0"), 8, ["OFFSET value 'nan'", "not a finite number"]),
    (edit(12, "      OFFSET 0 inf 0"), 12, ["OFFSET value 'inf'", "not a finite number"]),
    (edit(21, "2 0 0 -10 1_0 -30 -40 -50 -60"), 21, ["value 5 '1_0'", "not a number"]),
    (edit(20, "1 0 0 10 20,5 30 40 50 60"), 20, ["value 5 '20,5'", "BVH numbers take a decimal point: 20.5)"]),
    (edit(17, "Frames: 5"), 17, ["truncated", "Frames: 5", "3 motion rows"]),
    (BASE.split("MOTION")[0] * 2, 16, ["second HIERARCHY", "line 1", "one hierarchy"]),
    (BASE + BASE, 22, ["'HIERARCHY'", "3 motion rows", "line 17", "second HIERARCHY", "joined"]),
    (BASE + ";\n", 22, ["';'", "3 motion rows", "line 17", "not a motion row"]),
])
def test_malformed_files_name_line_and_problem(text, line, words):
    with pytest.raises(Pose2RotError) as info:
        parse_bvh(text, name="bad.bvh")
    msg = str(info.value)
    assert msg.startswith("bad.bvh: ")
    if line is not None:
        assert re.search(rf"\bline {line}\b", msg), msg
    for w in words:
        assert w in msg, msg
    assert "\n" not in msg


def test_text_after_the_motion_rows_is_not_blamed_on_the_frames_count():
    """Two clips joined into one file (or a stray line after the rows): fixing the Frames: count, as
    the message once said, only moves the error to the second HIERARCHY."""
    for text in (BASE + BASE, BASE + ";\n"):
        with pytest.raises(Pose2RotError) as info:
            parse_bvh(text, name="bad.bvh")
        assert "Frames: count" not in str(info.value)
    with pytest.raises(Pose2RotError, match="fix the Frames: count"):
        parse_bvh(BASE + "3 0 0 0 0 0 0 0 0\n", name="bad.bvh")


def test_frames_written_on_one_line_are_read_frame_by_frame():
    """A writer that puts a clip's whole motion on one line (a CMU backflip, 403 frames at 120 fps, in a
    student animation tool's files) was refused: 'motion row 1 has 38688 values, expected 96'. Lines
    that each hold whole frames, as many as Frames: says, are read in order; other counts are refused."""
    head, motion = BASE.split("Frame Time: 0.0333333\n")
    rows = motion.split("\n")[:3]
    base = parse_bvh(BASE)
    for layout in (" ".join(rows) + " ", rows[0] + " " + rows[1] + "\n\n" + rows[2] + "\n"):
        clip = parse_bvh(head + "Frame Time: 0.0333333\n" + layout, name="packed.bvh")
        np.testing.assert_array_equal(clip.rotations, base.rotations)
        np.testing.assert_array_equal(clip.fk(), base.fk())
    with pytest.raises(Pose2RotError) as info:
        parse_bvh(head + "Frame Time: 0.0333333\n" + " ".join(rows).replace("10 20", "10 nan"), name="bad.bvh")
    for words in ("bad.bvh: line 19: ", "value 14 'nan'", "not a finite number"):
        assert words in str(info.value), str(info.value)
    with pytest.raises(Pose2RotError, match="line 19: motion row 1 has 27 values, expected 9"):
        parse_bvh(head.replace("Frames: 3", "Frames: 2") + "Frame Time: 0.0333333\n" + " ".join(rows), name="bad.bvh")


def test_read_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(Pose2RotError, match=r"BVH file '.*nope.bvh' does not exist; check the path$"):
        read_bvh(tmp_path / "nope.bvh")


def test_unreadable_directory_binary_and_zip_are_clear_errors(tmp_path, monkeypatch):
    (tmp_path / "dir.bvh").mkdir()
    with pytest.raises(Pose2RotError, match="is a directory, not a BVH file"):
        read_bvh(tmp_path / "dir.bvh")
    (tmp_path / "bin.bvh").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(Pose2RotError, match="not a BVH file: it holds binary data"):
        read_bvh(tmp_path / "bin.bvh")
    (tmp_path / "zip.bvh").write_bytes(b"PK\x03\x04" + b"x" * 100)
    with pytest.raises(Pose2RotError, match=r"zip archive \(an .npz file\?\)"):
        read_bvh(tmp_path / "zip.bvh")
    (tmp_path / "locked.bvh").write_text(BASE)

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(tmp_path), "read_bytes", refuse)
    with pytest.raises(Pose2RotError, match="cannot read BVH file .*locked.bvh.*: Permission denied"):
        read_bvh(tmp_path / "locked.bvh")


@pytest.mark.parametrize("encode", [
    lambda t: b"\xef\xbb\xbf" + t.encode(),  # UTF-8 with BOM (Windows editors)
    lambda t: t.encode("utf-16"),  # UTF-16 with BOM
    lambda t: t.replace("\n", "\r\n").encode() + b"\r\n\r\n  \t\r\n",  # CRLF and trailing blank lines
    lambda t: t.replace("Frame Time: ", "Frame   Time \t:   ").encode(),
])
def test_encodings_and_spacing_read_like_plain_utf8(tmp_path, encode):
    (tmp_path / "a.bvh").write_bytes(encode(BASE))
    clip, plain = read_bvh(tmp_path / "a.bvh"), parse_bvh(BASE)
    assert clip.skeleton.names == plain.skeleton.names
    np.testing.assert_allclose(clip.rotations, plain.rotations)
    assert clip.frame_time == pytest.approx(0.0333333)


def test_all_joints_with_position_channels_and_rootless_position():
    six = BASE.replace("CHANNELS 3 Zrotation Xrotation Yrotation",
                       "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation")
    rows = ["0 0 0 0 0 0 0 1 0 0 0 0", "1 0 0 10 20 30 0 2 0 40 50 60", "2 0 0 -10 -20 -30 0 1 0 -40 -50 -60"]
    clip = parse_bvh(six.split("MOTION")[0] + "MOTION\nFrames: 3\nFrame Time: 0.04\n" + "\n".join(rows) + "\n")
    assert clip.has_position_channels.tolist() == [True, True]
    assert clip.local_offsets[1, 1].tolist() == [0, 2, 0]  # the Chest's position channels replace its OFFSET
    np.testing.assert_allclose(clip.fk()[1, 1], [1, 0, 0] + clip.rotations[1, 0] @ [0, 2, 0])
    root3 = BASE.replace("CHANNELS 6 Xposition Yposition Zposition Zrotation", "CHANNELS 3 Zrotation")
    rows = ["0 0 0 0 0 0", "10 20 30 40 50 60", "-10 -20 -30 -40 -50 -60"]
    clip = parse_bvh(root3.split("MOTION")[0] + "MOTION\nFrames: 3\nFrame Time: 0.04\n" + "\n".join(rows) + "\n")
    assert not clip.has_position_channels[0]
    np.testing.assert_allclose(clip.root_translation, 0.0)  # the root stays at its OFFSET


def test_zero_frames_and_zero_channels_parse():
    clip = parse_bvh(BASE.split("Frames:")[0] + "Frames: 0\nFrame Time: 0.04\n")
    assert clip.num_frames == 0 and clip.fk().shape == (0, 2, 3)
    none = re.sub(r"CHANNELS \d [^\n]*", "CHANNELS 0", BASE.split("MOTION")[0])
    clip = parse_bvh(none + "MOTION\nFrames: 2\nFrame Time: 0.04\n\n\n")
    assert clip.num_frames == 2
    np.testing.assert_allclose(clip.fk()[1], [[0, 0, 0], [0, 1, 0]])


def test_names_with_colons_and_leaf_without_end_site():
    text = BASE.replace("ROOT Hips", "ROOT mixamorig:Hips").replace("JOINT Chest", "JOINT mixamorig:Spine 1")
    text = text.replace("    End Site\n    {\n      OFFSET 0 1 0\n    }\n", "")
    clip = parse_bvh(text)
    assert clip.skeleton.names == ("mixamorig:Hips", "mixamorig:Spine_1")
    assert len(clip.end_parents) == 0 and clip.end_site_positions().shape == (3, 0, 3)


def test_fast_motion_parse_matches_a_plain_parse(shared_dir):
    """Column mapping on a real clip: our values equal a value-by-value reading of the rows."""
    path = shared_dir / "cmu_08_01.bvh"
    clip = read_bvh(path)
    lines = path.read_text().splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.strip().startswith("Frame Time")) + 1
    rows = [[float(v) for v in ln.split()] for ln in lines[start:] if ln.strip()]
    assert len(rows) == clip.num_frames == 268
    t = 100
    row = rows[t]
    np.testing.assert_allclose(clip.root_translation[t], row[0:3])
    # root: Zrotation Yrotation Xrotation; second joint (abdomen): Zrotation Xrotation Yrotation
    np.testing.assert_allclose(clip.rotations[t, 0], Rz(row[3]) @ Ry(row[4]) @ Rx(row[5]), atol=1e-12)
    np.testing.assert_allclose(clip.rotations[t, 1], Rz(row[6]) @ Rx(row[7]) @ Ry(row[8]), atol=1e-12)
    assert clip.orders[0] == "ZYX" and set(clip.orders[1:]) == {"ZXY"}


def test_clip_details_from_sources_md(shared_dir):
    bandai = read_bvh(shared_dir / "bandainamco2_walk_exhausted-021.bvh")
    assert bandai.has_position_channels.all()
    hips = bandai.skeleton.index("Hips")
    # Hips' position channels, not its OFFSET, place it (SOURCES.md)
    assert np.abs(bandai.local_offsets[:, hips] - bandai.skeleton.offsets[hips]).max() > 1.0
    dog = read_bvh(shared_dir / "mann_dog_d1-010-kan01-004.bvh")
    assert dog.num_frames == 360 and dog.fps == pytest.approx(60.0, rel=1e-5)


# ----------------------------------------------------------------------------- round trips
def _other_order(orders: list[str]) -> str:
    return next(o for o in EULER_ORDERS if o not in set(orders))


def test_round_trip_real_clip(shared_bvh, tmp_path):
    clip = read_bvh(shared_bvh)
    order = _other_order(clip.orders)
    out = tmp_path / "rt.bvh"
    write_bvh(out, clip.skeleton, clip.rotations, clip.root_translation, clip.local_offsets,
              clip.has_position_channels, clip.fps, order, clip.end_parents, clip.end_offsets, clip.end_names)
    back = read_bvh(out)
    assert back.skeleton.names == clip.skeleton.names
    np.testing.assert_array_equal(back.skeleton.parents, clip.skeleton.parents)
    assert set(back.orders) == {order}
    assert back.fps == pytest.approx(clip.fps, rel=1e-8)
    h = clip.skeleton.height
    assert np.abs(back.fk() - clip.fk()).max() < 1e-4 * h
    assert np.abs(back.end_site_positions() - clip.end_site_positions()).max() < 1e-4 * h
    assert np.abs(back.rotations - clip.rotations).max() < 1e-5
    np.testing.assert_array_equal(back.has_position_channels, clip.has_position_channels | (np.arange(len(
        clip.orders)) == 0))


def test_written_layout_suits_line_based_importers(tmp_path, test_data_dir):
    """Blender's importer reads one statement per line: '{' alone, OFFSET right after it, then CHANNELS."""
    clip = read_bvh(test_data_dir / "small_mixed.bvh")
    out = tmp_path / "o.bvh"
    write_bvh(out, clip.skeleton, clip.rotations, clip.root_translation, end_parents=clip.end_parents,
              end_offsets=clip.end_offsets)
    lines = [ln.split() for ln in out.read_text().split("\n")]
    assert lines[0] == ["HIERARCHY"]
    for i, words in enumerate(lines):
        if words[:1] in (["ROOT"], ["JOINT"]):
            assert len(words) == 2 and lines[i + 1] == ["{"]
            assert lines[i + 2][0] == "OFFSET" and len(lines[i + 2]) == 4
            assert lines[i + 3][0] == "CHANNELS" and int(lines[i + 3][1]) == len(lines[i + 3]) - 2
        if words == ["End", "Site"]:
            assert lines[i + 1] == ["{"] and lines[i + 2][0] == "OFFSET"
    m = lines.index(["MOTION"])
    assert lines[m + 1] == ["Frames:", "2"] and lines[m + 2][:2] == ["Frame", "Time:"]
    assert all(len(r) == 3 + 4 * 3 for r in lines[m + 3:] if r)


def test_write_non_dfs_skeleton_and_spaces(tmp_path):
    rng = np.random.default_rng(3)
    # breadth-first numbering: 0 -> (1, 2), 1 -> 3, 2 -> 4 ; DFS order is 0 1 3 2 4
    sk = Skeleton(["root", "left leg", "right leg", "left foot", "right foot"], [-1, 0, 0, 1, 2],
                  rng.normal(size=(5, 3)))
    R = random_rotations(rng, (4, 5))
    root = rng.normal(size=(4, 3))
    write_bvh(tmp_path / "b.bvh", sk, R, root, end_parents=[4], end_offsets=[[0, -1, 0]])
    back = read_bvh(tmp_path / "b.bvh")
    assert back.skeleton.names == ("root", "left_leg", "left_foot", "right_leg", "right_foot")
    dfs = [0, 1, 3, 2, 4]
    from pose2rot_core.fk import forward_kinematics
    P = forward_kinematics(sk, R, root)[1]
    np.testing.assert_allclose(back.fk(), P[:, dfs], atol=1e-5)
    np.testing.assert_allclose(back.rotations, R[:, dfs], atol=1e-6)
    assert back.end_parents.tolist() == [4] and back.end_names == ["right_foot_end"]


def _written_motion(path) -> np.ndarray:
    return np.loadtxt(path.read_text().split("Frame Time:")[1].split("\n", 1)[1].splitlines(), ndmin=2)


def test_written_euler_curves_are_continuous(tmp_path):
    """First angle crosses 180 deg (a 2*pi wrap) and the middle one passes 90 deg (the other Euler
    triple): the written curves must follow the input angles, not jump."""
    T = 60
    s = np.linspace(0, 1, T)
    a, b, c = 30 + 200 * s, 60 + 70 * s, -40 + 100 * s
    R = np.stack([Rx(a[t]) @ Ry(b[t]) @ Rz(c[t]) for t in range(T)])[:, None]
    sk = Skeleton(["root"], [-1], np.zeros((1, 3)))
    out = tmp_path / "u.bvh"
    write_bvh(out, sk, R, np.zeros((T, 3)), order="XYZ")
    values = _written_motion(out)
    np.testing.assert_allclose(values[:, 3:], np.stack([a, b, c], 1), atol=1e-5)
    np.testing.assert_allclose(read_bvh(out).rotations, R, atol=1e-7)


def test_write_errors(tmp_path):
    sk = Skeleton(["a", "b"], [-1, 0], [[0, 0, 0], [0, 1, 0]])
    R = np.broadcast_to(np.eye(3), (2, 2, 3, 3))
    with pytest.raises(Pose2RotError, match=r"rotations must be \[T,2,3,3\]"):
        write_bvh(tmp_path / "x.bvh", sk, R[:, :1], np.zeros((2, 3)))
    with pytest.raises(Pose2RotError, match="root_translation must be"):
        write_bvh(tmp_path / "x.bvh", sk, R, np.zeros((3, 3)))
    with pytest.raises(Pose2RotError, match="unknown rotation order 'XXY'"):
        write_bvh(tmp_path / "x.bvh", sk, R, np.zeros((2, 3)), order="XXY")
    bad = R.copy()
    bad[1, 1, 0, 0] = np.nan
    with pytest.raises(Pose2RotError, match="joint 'b' at frame 1"):
        write_bvh(tmp_path / "x.bvh", sk, bad, np.zeros((2, 3)))
    sk2 = Skeleton(["a b", "a_b"], [-1, 0], [[0, 0, 0], [0, 1, 0]])
    with pytest.raises(Pose2RotError, match="both become 'a_b'"):
        write_bvh(tmp_path / "x.bvh", sk2, R, np.zeros((2, 3)))
    with pytest.raises(Pose2RotError, match="cannot write BVH file"):
        write_bvh(tmp_path / "no_dir" / "x.bvh", sk, R, np.zeros((2, 3)))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), J=st.integers(1, 9), T=st.integers(1, 6),
       order=st.sampled_from(EULER_ORDERS), mixed=st.booleans())
def test_random_skeleton_write_read_same_fk(tmp_path_factory, seed, J, T, order, mixed):
    rng = np.random.default_rng(seed)
    parents = [-1] + [int(rng.integers(0, j)) for j in range(1, J)]
    sk = Skeleton([f"j{j}" for j in range(J)], parents, rng.normal(scale=10, size=(J, 3)))
    R = random_rotations(rng, (T, J))
    root = rng.normal(scale=50, size=(T, 3))
    translating = rng.random(J) < 0.3
    local = np.broadcast_to(sk.offsets, (T, J, 3)) + translating[None, :, None] * rng.normal(size=(T, J, 3))
    orders = [EULER_ORDERS[i] for i in rng.integers(0, 6, J)] if mixed else order
    K = int(rng.integers(0, 3))
    end_parents = rng.integers(0, J, K)
    end_offsets = rng.normal(size=(K, 3))
    out = tmp_path_factory.mktemp("rt") / "r.bvh"
    write_bvh(out, sk, R, root, local, translating, 24.0, orders, end_parents, end_offsets)
    back = read_bvh(out)
    idx = [sk.names.index(n) for n in back.skeleton.names]
    from pose2rot_core.fk import forward_kinematics
    G, P = forward_kinematics(sk, R, root, local)
    np.testing.assert_allclose(back.fk(), P[:, idx], atol=1e-4)
    np.testing.assert_allclose(back.rotations, R[:, idx], atol=1e-5)
    ends = P[:, end_parents] + np.einsum("tkab,kb->tka", G[:, end_parents], end_offsets)
    np.testing.assert_allclose(np.sort(back.end_site_positions(), axis=1), np.sort(ends, axis=1), atol=1e-4)
    assert back.fps == pytest.approx(24.0)


def test_two_end_sites_of_one_joint_have_a_name_each(tmp_path):
    """A joint with two End Sites (a hand with a thumb tip and a finger tip) names them
    ``hand_end`` and ``hand_end2``, and an End Site that would take a joint's name gets the next one:
    one CSV column drove both tips of the hand before, pulling the hand between two points."""
    from pose2rot_core.solvers import solve
    from pose2rot_core.tracks_io import load_tracks, tracks_from_bvh

    names, parents = ("root", "arm", "hand", "hand_end"), np.array([-1, 0, 1, 2])
    rest = np.array([[0, 1.0, 0], [0.2, 1.0, 0], [0.5, 1.0, 0], [0.6, 1.0, 0]])
    T = 12
    turn = np.linspace(0, 1, T)[:, None, None] * np.array([0.3, 0.5, 0.2])
    R = euler_to_matrix(np.repeat(turn, 4, axis=1), "ZXY")
    path = tmp_path / "two_tips.bvh"
    write_bvh(path, Skeleton(names, parents, rest), R, np.tile(rest[0], (T, 1)), end_parents=np.array([2, 2, 3]),
              end_offsets=np.array([[0.1, 0, 0], [0, 0.08, 0.03], [0.05, 0, 0]]))
    clip = read_bvh(path)
    assert sorted(zip(clip.end_names, clip.end_parents.tolist())) == [("hand_end2", 2), ("hand_end3", 2),
                                                                      ("hand_end_end", 3)]
    P, ends = clip.fk(), clip.end_site_positions()
    header = ["frame"] + [f"{n}.{a}" for n in names + tuple(clip.end_names) for a in "xyz"]
    rows = [",".join(header)] + [",".join([str(t)] + [f"{v:.9f}" for v in np.concatenate([P[t], ends[t]]).ravel()])
                                 for t in range(T)]
    (tmp_path / "tracks.csv").write_text("\n".join(rows) + "\n")
    tracks = load_tracks(tmp_path / "tracks.csv", path)
    assert tracks.end_names == tuple(clip.end_names)
    np.testing.assert_allclose(tracks.end_positions, ends)
    sol = solve(tracks)
    G, X = sol.forward()
    tips = X[:, tracks.end_parents] + np.einsum("tkij,kj->tki", G[:, tracks.end_parents], tracks.end_rest_offsets)
    np.testing.assert_allclose(tips, ends, atol=1e-9)
    assert tracks_from_bvh(clip).end_names == tuple(clip.end_names)


@pytest.mark.parametrize("height", [1.1e-3, 1.0, 180.0])
def test_written_positions_keep_a_millionth_of_the_height(tmp_path, height):
    """Position channels of a moving root and a translating joint, read back, stay within a
    millionth of the rig's height, however small the rig is in its units (six decimals put a rig
    1.1 mm tall in metres 0.06 % off)."""
    rng = np.random.default_rng(1)
    sk = Skeleton(["root", "spine", "head"], [-1, 0, 1], np.array([[0, 0.5, 0], [0, 0.3, 0], [0, 0.2, 0]]) * height)
    T = 20
    root = sk.offsets[0] + rng.normal(size=(T, 3)) * 0.1 * height
    offsets = np.broadcast_to(sk.offsets, (T, 3, 3)).copy()
    offsets[:, 2] += rng.normal(size=(T, 3)) * 0.01 * height
    turn = rng.normal(size=(T, 3, 3)) * 0.5
    R = euler_to_matrix(turn, "ZXY")
    write_bvh(tmp_path / "x.bvh", sk, R, root, offsets, translating=np.array([False, False, True]))
    back = read_bvh(tmp_path / "x.bvh")
    assert np.abs(back.root_translation - root).max() <= 1e-6 * sk.height
    assert np.abs(back.local_offsets[:, 2] - offsets[:, 2]).max() <= 1e-6 * sk.height

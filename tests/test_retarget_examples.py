"""The commands of docs/RETARGETING.md, run on the shipped examples (generated, no third-party data)."""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from pose2rot_core.bvh import read_bvh
from pose2rot_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RETARGETING.md"


def _commands() -> list[list[str]]:
    """Every ``pose2rot ...`` line of the doc's bash blocks, as argument lists."""
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S)
    return [shlex.split(line)[1:] for block in blocks for line in block.splitlines() if line.startswith("pose2rot ")]


def test_the_documented_commands_run(tmp_path, monkeypatch, capsys):
    commands = _commands()
    assert len(commands) == 5
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()  # as the demo leaves it
    for argv in commands:
        argv = [str(ROOT / a) if a.startswith("examples/") else a for a in argv]   # outputs stay in tmp_path/out
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, (argv, err)
        assert "mirror image" not in err, (argv, err)
    walk = read_bvh(tmp_path / "out" / "humanml3d_walk.bvh")
    assert walk.num_frames == 80 and walk.skeleton.num_joints == 22
    rig = read_bvh(ROOT / "examples" / "retarget" / "rig_mixamo.bvh")
    for name in ("walk_on_rig.bvh", "cmu_on_rig.bvh"):
        solved = read_bvh(tmp_path / "out" / name)
        assert sorted(solved.skeleton.names) == sorted(rig.skeleton.names)
        bone = np.linalg.norm(solved.skeleton.offsets[1:], axis=-1)
        order = [rig.skeleton.names.index(n) for n in solved.skeleton.names[1:]]
        np.testing.assert_allclose(bone, np.linalg.norm(rig.skeleton.offsets[order], axis=-1), rtol=1e-6)
    # a walking spine bends a little: the CMU chest mapped above a Mixamo spine longer than the
    # performer's folded it back by 170 degrees in every frame; the FreeMoCap chest, placed at the
    # rig's distance from the hips, tilted forward about its shoulder line (bends up to 68 degrees),
    # and its head, aimed at the ears from the rig's higher neck, leaned 37 degrees past the performer's
    for name in ("walk_on_rig.bvh", "cmu_on_rig.bvh"):
        solved = read_bvh(tmp_path / "out" / name)
        chain = [solved.skeleton.names.index(f"mixamorig:{n}")
                 for n in ("Hips", "Spine", "Spine1", "Spine2", "Neck", "Head")]
        bones = np.diff(solved.forward()[1][:, chain], axis=1)
        bones /= np.linalg.norm(bones, axis=-1, keepdims=True)
        bend = np.degrees(np.arccos(np.clip((bones[:, 1:] * bones[:, :-1]).sum(-1), -1.0, 1.0)))
        assert bend.max() < 35.0, (name, bend.max(axis=0))
    proposal = json.loads((tmp_path / "out" / "walk_map.json").read_text())
    assert proposal["bones"]["mixamorig:Hips"] == {"mean": ["left_hip", "right_hip"]}
    assert "mixamorig:Spine1" in proposal["solved_between"]


@pytest.mark.parametrize("name", ["humanml3d_walk.npy", "freemocap_walk/output_data/mediapipe_body_3d_xyz.npy",
                                  "rig_mixamo.bvh"])
def test_examples_are_the_generated_ones(name, tmp_path, monkeypatch):
    """make_examples.py reproduces the shipped files byte for byte."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_examples", ROOT / "examples" / "retarget" / "make_examples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    assert (tmp_path / name).read_bytes() == (ROOT / "examples" / "retarget" / name).read_bytes()


def test_a_mirrored_capture_is_warned(tmp_path, capsys):
    """A webcam recording mirrored (its left and right landmarks swapped) cannot be fitted by
    turning bones: the rig turned round, its pelvis half a turn and its feet twisted back to the
    front, with exit status 0 and no warning. The points' handedness (their left-minus-right offset
    against up x where the feet point) is the rig's mirror image in every frame: warned."""
    from pose2rot_core.layouts import get_layout

    walk = ROOT / "examples" / "retarget" / "freemocap_walk"
    names = list(get_layout("mediapipe33").points)
    swapped = [names.index(n.replace("left", "L").replace("right", "left").replace("L", "right")) for n in names]
    mirrored = tmp_path / "mirrored"
    (mirrored / "output_data").mkdir(parents=True)
    np.save(mirrored / "output_data" / "mediapipe_body_3d_xyz.npy",
            np.load(walk / "output_data" / "mediapipe_body_3d_xyz.npy")[:, swapped])
    rig = str(ROOT / "examples" / "retarget" / "rig_mixamo.bvh")
    assert main(["map", "--skeleton", rig, "--source", str(walk), "--out", str(tmp_path / "map.json")]) == 0
    for clip, warned in ((walk, False), (mirrored, True)):
        capsys.readouterr()
        assert main(["solve", str(clip), "--skeleton", rig, "--map", str(tmp_path / "map.json"), "--out",
                     str(tmp_path / "o.bvh")]) == 0
        err = capsys.readouterr().err
        assert ("warning: the points are the mirror image of the rig's body in 100 % of the frames" in err) == warned, err


def test_a_map_with_hip_and_knee_swapped_is_warned(tmp_path, capsys):
    """A map whose left hip and knee rows are swapped put the rig's left foot 26 % of the height off its point
    and the summary explained it as 'other proportions'; the points now run against the rig's reference
    pose along the body (the knee above the hip in every frame), which no motion does: warned, named."""
    walk = ROOT / "examples" / "retarget" / "freemocap_walk"
    rig = str(ROOT / "examples" / "retarget" / "rig_mixamo.bvh")
    assert main(["map", "--skeleton", rig, "--source", str(walk), "--out", str(tmp_path / "map.json")]) == 0
    good = json.loads((tmp_path / "map.json").read_text())
    bones = dict(good["bones"])
    hip, knee = "mixamorig:LeftUpLeg", "mixamorig:LeftLeg"
    bones[hip], bones[knee] = bones[knee], bones[hip]
    (tmp_path / "swapped.json").write_text(json.dumps({"bones": bones}))
    for name, warned in (("map.json", False), ("swapped.json", True)):
        capsys.readouterr()
        assert main(["solve", str(walk), "--skeleton", rig, "--map", str(tmp_path / name), "--out",
                     str(tmp_path / "o.bvh")]) == 0
        err, out = capsys.readouterr()[::-1]
        said = (f"warning: the points put '{knee}' above '{hip}' in 100 % of the frames that show it, along the body "
                "(hips to shoulders), where the rig's reference pose has it below: check the map's rows for those "
                "joints (swapped?)")
        assert (said in err) == warned, err
        assert ("other proportions" in out) != warned and ("see the warnings on stderr" in out) == warned, out


@pytest.mark.parametrize("limb, parts", [("legs", ("UpLeg", "Leg", "Foot", "ToeBase")),
                                         ("arms", ("Arm", "ForeArm", "Hand"))])
def test_a_map_with_one_limbs_sides_swapped_is_warned(tmp_path, capsys, limb, parts):
    """A map whose left and right leg rows (or arm rows) are swapped, the rest of the body as it is:
    the rig's pelvis (or chest) turned half a turn, its feet twisted back, with exit status 0 and no
    word (the CMU walk onto the Mixamo rig the same), the other limbs outweighing these in the whole
    body's handedness. Each limb is read on its own now: warned, its joints named, and not as a
    mirrored capture."""
    walk = ROOT / "examples" / "retarget" / "freemocap_walk"
    rig = str(ROOT / "examples" / "retarget" / "rig_mixamo.bvh")
    assert main(["map", "--skeleton", rig, "--source", str(walk), "--out", str(tmp_path / "map.json")]) == 0
    bones = dict(json.loads((tmp_path / "map.json").read_text())["bones"])
    for part in parts:
        left, right = f"mixamorig:Left{part}", f"mixamorig:Right{part}"
        bones[left], bones[right] = bones[right], bones[left]
    (tmp_path / "swapped.json").write_text(json.dumps({"bones": bones}))
    for name, warned in (("map.json", False), ("swapped.json", True)):
        capsys.readouterr()
        assert main(["solve", str(walk), "--skeleton", rig, "--map", str(tmp_path / name), "--out",
                     str(tmp_path / "o.bvh")]) == 0
        err = capsys.readouterr().err
        said = f"warning: the points of the {limb} ('mixamorig:Left{parts[0]}', 'mixamorig:Right{parts[0]}', "
        assert (said in err) == warned, err
        assert "mirror image of the rig's body" not in err, err



def _made_map(tmp_path: Path, source: str) -> dict:
    """The rows 'pose2rot map' makes for the walk ``source`` onto the Mixamo rig."""
    walk = ROOT / "examples" / ("retarget" if source == "freemocap_walk" else "") / source
    rig = str(ROOT / "examples" / "retarget" / "rig_mixamo.bvh")
    assert main(["map", "--skeleton", rig, "--source", str(walk), "--out", str(tmp_path / "map.json")]) == 0
    return json.loads((tmp_path / "map.json").read_text())["bones"]


def _solved_with_rows_swapped(tmp_path: Path, capsys, source: str, bones: dict, left: str | None,
                              right: str | None) -> str:
    """What 'pose2rot solve' of the walk ``source`` onto the Mixamo rig says on stderr with the map
    ``bones`` whose rows ``left`` and ``right`` (None: none) are traded."""
    walk = ROOT / "examples" / ("retarget" if source == "freemocap_walk" else "") / source
    rig = str(ROOT / "examples" / "retarget" / "rig_mixamo.bvh")
    bones = dict(bones)
    if left is not None:
        bones[left], bones[right] = bones[right], bones[left]
    (tmp_path / "swapped.json").write_text(json.dumps({"bones": bones}))
    capsys.readouterr()
    assert main(["solve", str(walk), "--skeleton", rig, "--map", str(tmp_path / "swapped.json"), "--out",
                 str(tmp_path / "o.bvh")]) == 0
    return capsys.readouterr().err


@pytest.mark.parametrize("source", ["freemocap_walk", "cmu_08_01.bvh"])
def test_a_map_with_only_the_elbows_rows_swapped_names_the_elbows(tmp_path, capsys, source):
    """A map whose left and right elbow rows alone are swapped (the forearms': the rest as made) was warned
    of as the arms' rows swapped, naming the upper arms too ('LeftArm', 'RightArm'): swapping those rows as
    it said would have swapped the shoulders' points, right before. It names the elbows' rows alone now."""
    left, right = "mixamorig:LeftForeArm", "mixamorig:RightForeArm"
    err = _solved_with_rows_swapped(tmp_path, capsys, source, _made_map(tmp_path, source), left, right)
    assert (f"warning: the points of the elbows ('{left}', '{right}') are the mirror image of the rig's in 100 % of "
            "the frames") in err, err
    assert "rows for the elbows; the upper arms reach across the body to fit them" in err, err
    assert "points of the arms" not in err, err


@pytest.mark.parametrize("source, parts", [
    ("freemocap_walk", {"UpLeg": "hips", "Leg": "knees", "Foot": "ankles", "ToeBase": "toes", "Arm": "shoulders"}),
    ("cmu_08_01.bvh", {"Leg": "knees", "Foot": "ankles", "ToeBase": "toes", "Shoulder": "collars",
                       "Arm": "shoulders"})])
def test_a_map_with_one_joints_rows_swapped_names_that_joint(tmp_path, capsys, source, parts):
    """A map with one joint's left and right rows swapped, the rest as made: the shoulders ('...Arm') of
    the CMU walk onto the Mixamo rig solved without a word, as did its collars, knees, ankles and toes,
    and the FreeMoCap walk's hips, knees, ankles and toes (its shoulders only as joints far from their
    points and flips), the limbs' handedness outweighed by their other joints. The bones to a swapped joint
    change length over the clip as mapped and keep it with its left and right points traded (a collar's
    points, on a chest that turns as one, are the mirror image instead): named now; the map as made is not."""
    good = _made_map(tmp_path, source)
    for part, what in {None: None, **parts}.items():
        left, right = (f"mixamorig:Left{part}", f"mixamorig:Right{part}") if part else (None, None)
        err = _solved_with_rows_swapped(tmp_path, capsys, source, good, left, right)
        warned = [line for line in err.splitlines() if "swapped" in line or "mirror image" in line]
        said = (f"warning: the map's rows for the {what} ('{left}', '{right}') have left and right swapped, the rest "
                "of the body not: ")
        if part is None:
            assert warned == [], err
        else:
            assert len(warned) == 1 and warned[0].startswith(said), (part, err)
            assert warned[0].endswith(": swap those rows' left and right points"), err


def test_a_rig_whose_floor_root_bone_is_split_is_placed_by_its_hips(tmp_path, capsys):
    """The Mixamo rig under a floor-level root whose bone to the hips is split in two (a node half way,
    as a rig with twist segments has): `pose2rot map` warned that a solve would stop, and `solve` stopped
    ("the rig's root 'FloorRoot' has no point and none of its children has one", h243), though the hips,
    on the root line, have their point and place the body. A point on any node of the root line does."""
    from pose2rot_core.bvh import write_bvh
    from pose2rot_core.variants import make_variant

    mixamo = read_bvh(ROOT / "examples" / "retarget" / "rig_mixamo.bvh")
    clip = make_variant(mixamo, "floor_root", np.random.default_rng(0))
    clip = make_variant(clip, "twist_segments", np.random.default_rng(0))
    assert clip.skeleton.names[:3] == ("FloorRoot", "FloorRoot_Mid", "mixamorig:Hips")
    rig = tmp_path / "rig.bvh"
    write_bvh(rig, clip.skeleton, clip.rotations, clip.root_translation, clip.local_offsets,
              clip.has_position_channels, clip.fps, end_parents=clip.end_parents, end_offsets=clip.end_offsets,
              end_names=clip.end_names)
    walk = str(ROOT / "examples" / "retarget" / "freemocap_walk")
    assert main(["map", "--skeleton", str(rig), "--source", walk, "--out", str(tmp_path / "map.json")]) == 0
    assert "solve with it stops" not in capsys.readouterr().err
    assert main(["solve", walk, "--skeleton", str(rig), "--map", str(tmp_path / "map.json"), "--out",
                 str(tmp_path / "o.bvh")]) == 0


def test_a_capture_given_the_wrong_up_axis_is_not_called_mirrored(tmp_path, capsys):
    """The Z-up walk told it is -Z up: the up-axis warning is right, but the mirror warning that came
    with it was not (handedness read against the given up turns with it); the body's own up (hips
    to shoulders) tells a mirror now."""
    walk = ROOT / "examples" / "retarget" / "freemocap_walk"
    rig = str(ROOT / "examples" / "retarget" / "rig_mixamo.bvh")
    assert main(["map", "--skeleton", rig, "--source", str(walk), "--out", str(tmp_path / "map.json")]) == 0
    capsys.readouterr()
    main(["solve", str(walk), "--skeleton", rig, "--map", str(tmp_path / "map.json"), "--up-axis=-z", "--out",
          str(tmp_path / "o.bvh")])
    err = capsys.readouterr().err
    assert "--up-axis is -z" in err and "mirror image" not in err, err


def test_the_summary_speaks_of_other_proportions_only_where_the_rig_keeps_its_own(tmp_path, capsys):
    """'(other proportions: the rig keeps its own)' explains joints off their points by a rig's own
    bone lengths: it ended every summary, also a layout's own skeleton (built from the points' bone
    lengths) and --stretch exact (joints on their points)."""
    examples = ROOT / "examples"
    rig = str(examples / "retarget" / "rig_mixamo.bvh")
    walk = str(examples / "cmu_08_01.bvh")
    assert main(["map", "--skeleton", rig, "--source", walk, "--out", str(tmp_path / "m.json")]) == 0
    runs = [(["solve", str(examples / "retarget" / "humanml3d_walk.npy"), "--layout", "humanml3d22"], False),
            (["solve", walk, "--skeleton", rig, "--map", str(tmp_path / "m.json"), "--stretch", "exact"], False),
            (["solve", walk, "--skeleton", rig, "--map", str(tmp_path / "m.json")], True)]
    for argv, said in runs:
        capsys.readouterr()
        assert main(argv + ["--out", str(tmp_path / "o.bvh")]) == 0
        assert ("(other proportions: the rig keeps its own)" in capsys.readouterr().out) == said, argv


def test_a_map_that_cannot_place_the_body_is_warned(tmp_path, capsys):
    """`pose2rot map` from points of one arm wrote a map no solve can use (nothing places the rig's
    root) with exit status 0 and no word; it now warns, naming the root. Given neither --layout nor
    --source it no longer says '(not both)'."""
    X = np.random.default_rng(0).normal(size=(10, 3, 3))
    np.savez(tmp_path / "arm.npz", positions=X, point_names=np.array(["right_shoulder", "right_elbow", "right_wrist"]))
    rig = str(ROOT / "examples" / "retarget" / "rig_mixamo.bvh")
    capsys.readouterr()
    assert main(["map", "--skeleton", rig, "--source", str(tmp_path / "arm.npz"), "--out", str(tmp_path / "m.json")]) == 0
    assert "warning: the map gives the rig's root 'mixamorig:Hips' no point" in capsys.readouterr().err
    assert main(["map", "--skeleton", rig, "--layout", "mediapipe33", "--out", str(tmp_path / "m.json")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["map", "--skeleton", rig, "--out", str(tmp_path / "m.json")]) == 2
    assert capsys.readouterr().err.strip().endswith("--layout NAME or --source FILE")

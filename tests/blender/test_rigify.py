"""A rig Rigify generated from its human metarig (Rigify is bundled with Blender): refused with the way out.

The scenes are built in a child process (rigify_scene.py): Blender 4.2's bpy module crashes on exit once
Rigify has been enabled, which would end this session with the crash."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = Path(__file__).with_name("rigify_scene.py")


def _run(*steps: str) -> list[dict]:
    """What rigify_scene.py reports of ``steps`` (one dict each)."""
    proc = subprocess.run([sys.executable, str(CHILD), *steps], capture_output=True, text=True,
                          env=dict(os.environ), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = [json.loads(line[7:]) for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert len(results) == sum(not s.startswith("delete:") for s in steps), proc.stdout[-2000:]
    return results


def test_a_generated_rigify_rig_is_refused_with_the_way_out():
    """A generated Rigify rig (706 bones: DEF-, ORG-, MCH- and controls; 10 root bones) was refused by
    Automatic Map and Solve Rotations as 'has 10 root bones ...: parent them under one root bone', advice
    that would break the rig; with one root, keys would land on bones its constraints pose. Both now say
    what the rig is and name the metarig to solve onto, leaving the rig as it was; the metarig maps and
    solves."""
    auto, solve, meta_auto, meta_solve = _run("map_auto:rig", "solve_rotations:rig", "map_auto:metarig",
                                              "solve_rotations:metarig")
    for out in (auto, solve):
        assert out["error"].startswith("Error: 'rig' is a rig Rigify generated (DEF-, ORG- and MCH- bones): "), out
        assert "pick the metarig 'metarig' as the armature and solve onto it" in out["error"], out
        assert "\n" not in out["error"] and not out["table"] and not out["action"], out
    assert meta_auto["result"] == ["FINISHED"] and len(meta_auto["table"]) > 30, meta_auto
    assert meta_solve["result"] == ["FINISHED"] and meta_solve["action"], meta_solve


def test_a_generated_rig_without_its_metarig_is_refused_all_the_same():
    """With its metarig deleted (or Rigify disabled) the generated rig is told apart by its bones alone."""
    (solve,) = _run("delete:metarig", "solve_rotations:rig")
    assert "'rig' is a rig Rigify generated" in solve["error"], solve
    assert "pick the metarig it was generated from as the armature" in solve["error"], solve


def test_the_metarig_maps_its_hips_neck_and_head():
    """Blender's human metarig (159 bones, 105 of them its face) onto the CMU walk's empties: Automatic Map
    called it a generic rig ('38 bones and 2 bone tips mapped (generic rig)'), its leaf bones' tips
    counted among its names, and left its hips 'spine', its neck 'spine.004' and its head 'spine.006'
    without a point (solved between the legs, arms and eyes: the head 25 degrees off the neck-head
    tracks). They now take the hips, the neck and the head."""
    (auto,) = _run("map_auto:metarig")
    table = auto["table"]
    assert (table.get("spine"), table.get("spine.004"), table.get("spine.006")) == ("hip", "neck", "head"), table

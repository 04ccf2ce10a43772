"""Learned and hybrid solvers from Blender through the external-Python mode, with a tiny model.

The external interpreter needs torch: POSE2ROT_LEARNED_PYTHON, else the repository's .venv/bin/python
(which scripts/test.sh creates with torch; skipped with a reason otherwise)."""
from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import bpy
import numpy as np
import pytest

from blender_helpers import EXT_NAME, ROOT, import_clip, pose_points, rest_copy, scene_frames, track_empties

MAKE_TINY = """
import sys, torch
from pose2rot_core.checkpoint import save_checkpoint
from pose2rot_core.model import Pose2RotMemoryRestModel
torch.manual_seed(0)
m = Pose2RotMemoryRestModel(q_dim=16, num_heads=2, joint_embed_dim=768, rest_layers=1, pose_layers=1,
                            memory_layers=1, decoder_layers=1, decoder_use_cross_layers=0, temporal_window=3).eval()
m.embedder = "hash-ngram-v1"
save_checkpoint(sys.argv[1], m)
"""


def _torch_python() -> str | None:
    candidates = [os.environ.get("POSE2ROT_LEARNED_PYTHON", ""), str(ROOT / ".venv" / "bin" / "python")]
    for py in candidates:
        if py and Path(py).is_file() and subprocess.run([py, "-c", "import torch"], capture_output=True).returncode == 0:
            return py
    return None


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    py = _torch_python()
    if py is None:
        pytest.skip("no Python with torch for the external mode: set POSE2ROT_LEARNED_PYTHON")
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    env = dict(os.environ, PYTHONPATH=str(Path(__import__("pose2rot_core").__file__).parents[1]))
    subprocess.run([py, "-c", MAKE_TINY, str(path)], check=True, env=env, timeout=300)
    return py, path


@pytest.fixture
def prefs():
    p = bpy.context.preferences.addons[EXT_NAME].preferences
    yield p
    p.checkpoint, p.python, p.runtime, p.cache_dir, p.t5, p.device = "", "", 'AUTO', "", "", "cpu"


def test_learned_and_hybrid_in_external_python(tiny_model, prefs, tmp_path):
    py, ckpt = tiny_model
    prefs.runtime, prefs.python, prefs.checkpoint = 'EXTERNAL', py, str(ckpt)
    prefs.cache_dir, prefs.device = str(tmp_path / "cache"), "cpu"     # hash embedder: nothing cached
    src = import_clip(frames=24)
    track_empties(src)
    frames = scene_frames()
    want = pose_points(src, frames)
    height = np.ptp(want.reshape(-1, 3), axis=0).max()
    learned = rest_copy(src, "Learned")
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", solver='LEARNED') == {'FINISHED'}
    assert learned.animation_data.action.get("pose2rot")
    hybrid = rest_copy(src, "Hybrid")
    assert bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", solver='HYBRID') == {'FINISHED'}
    assert 100 * np.abs(pose_points(hybrid, frames) - want).max() / height < 0.01   # hybrid: exact heads
    got = pose_points(learned, frames)                                              # learned: placed, finite
    assert np.isfinite(got).all() and np.abs(got[:, 0] - want[:, 0]).max() / height < 1e-4


def test_learned_without_torch_says_what_to_install(prefs, tmp_path):
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is importable in this Blender Python")
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"not used")
    prefs.runtime, prefs.python, prefs.checkpoint = 'AUTO', "", str(ckpt)
    src = import_clip(frames=10)
    track_empties(src)
    rest_copy(src)
    with pytest.raises(RuntimeError, match=r"needs torch and transformers.*-m pip install torch"):
        bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", solver='LEARNED')
    assert bpy.ops.pose2rot.show_pip_command() == {'FINISHED'}   # (headless: no clipboard to read back)
    prefs_mod = importlib.import_module(EXT_NAME + ".prefs")
    runtime = importlib.import_module(EXT_NAME + ".runtime")
    cmd = runtime.pip_command(prefs_mod.learned_settings(bpy.context))
    assert cmd.startswith(sys.executable) and "-m pip install torch transformers" in cmd


def test_the_batch_takes_the_model_from_its_flags_in_every_worker(tiny_model, tmp_path):
    """A batch of two clips (each in its own worker process, which starts without saved Preferences)
    solves with hybrid from --checkpoint and --model-python, every bone head on its track; without
    --checkpoint it names that flag (before, every worker failed on 'Checkpoint' in the Preferences,
    and the batch had no flag to give it)."""
    from pose2rot_core.bvh import read_bvh

    from test_batch import _run, zyx_clip

    py, ckpt = tiny_model
    clips = tmp_path / "clips"
    clips.mkdir()
    zyx_clip(clips / "a.bvh")
    zyx_clip(clips / "b.bvh", T=30, seed=1)
    out = tmp_path / "out"
    proc = _run(clips, "--out", out, "--bvh", "--jobs", 2, "--solver", "hybrid", "--checkpoint", ckpt,
                "--model-python", py, "--device", "cpu")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    for name in ("a", "b"):
        written, original = read_bvh(out / f"{name}.bvh"), read_bvh(clips / f"{name}.bvh")
        got, want = written.forward()[1], original.forward()[1]
        assert np.abs(got - want).max() / original.skeleton.height < 1e-4
    missing = _run(clips, "--out", tmp_path / "out2", "--solver", "hybrid")
    assert missing.returncode == 2 and "--checkpoint" in missing.stderr, missing.stderr[-2000:]


def test_a_model_setting_refused_in_the_external_python_names_the_preference(tiny_model, prefs, tmp_path):
    """A T5 folder or a device the external interpreter refused came back as 'external learned solve
    failed: pose2rot: error: ... pass --t5 with ...' / '... use --device cpu': command-line flags Blender
    has none of, prefixes nested. Now the setting as the preferences name it, and the fix in their words."""
    py, ckpt = tiny_model
    bare = tmp_path / "bare.pt"   # records no embedder: T5 is assumed, and read from the T5 folder
    subprocess.run([py, "-c", f"import torch; torch.save(torch.load({str(ckpt)!r})['model_state'], {str(bare)!r})"],
                   check=True, timeout=300)
    prefs.runtime, prefs.python, prefs.checkpoint, prefs.device = 'EXTERNAL', py, str(bare), "cpu"
    prefs.t5 = str(tmp_path / "no_t5")
    src = import_clip(frames=10)
    track_empties(src)
    rest_copy(src)
    with pytest.raises(RuntimeError) as caught:
        bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", solver='HYBRID')
    text = str(caught.value)
    assert f"'T5 encoder' in Preferences > Add-ons > pose2rot '{tmp_path / 'no_t5'}' is no folder that exists" in text
    assert "--t5" not in text and "pose2rot: error" not in text and "external learned solve failed" not in text
    prefs.t5 = ""
    has_gpu = subprocess.run([py, "-c", "import torch, sys; sys.exit(not torch.cuda.is_available())"]).returncode == 0
    if not has_gpu:
        prefs.checkpoint, prefs.device = str(ckpt), "cuda"
        with pytest.raises(RuntimeError, match=r"'Device' in Preferences > Add-ons > pose2rot is 'cuda', but PyTorch "
                                               r"sees no CUDA GPU here: set it to cpu \(or auto\)"):
            bpy.ops.pose2rot.solve_rotations(tracks_collection="tracks", solver='HYBRID')


def test_the_batch_without_torch_says_so_once_before_any_clip(tmp_path):
    """--solver hybrid where Blender's Python has no torch (and no --model-python): every clip failed
    alike with the install message, after the run had started on each (h191, red-team); now the run
    is refused up front, one line, exit 2, nothing written."""
    if importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is importable in this Blender Python")
    from test_batch import _run, zyx_clip

    clips = tmp_path / "clips"
    clips.mkdir()
    zyx_clip(clips / "a.bvh")
    zyx_clip(clips / "b.bvh", T=30, seed=1)
    (tmp_path / "model.pt").write_bytes(b"not read")
    proc = _run(clips, "--out", tmp_path / "out", "--solver", "hybrid", "--checkpoint", tmp_path / "model.pt")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("pose2rot batch: error:")]
    assert len(lines) == 1 and "needs torch and transformers" in lines[0], proc.stderr[-2000:]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())

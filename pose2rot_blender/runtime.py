"""Running the core's solvers from Blender: in-process, or the learned model in an external Python.

Learned/hybrid need torch + transformers. ``INTERNAL`` imports them in Blender's own Python;
``EXTERNAL`` runs the network in another interpreter (one that has them installed) through the
core's command line and files in a temporary folder; the add-on's own copy of ``pose2rot_core`` is
put on that interpreter's ``PYTHONPATH`` so both sides run the same core version. ``AUTO`` picks
INTERNAL when torch imports, else EXTERNAL when an interpreter is configured. For hybrid, only the
network runs outside; its rotations are then refined here by the geometric solver
(``twist_guess``), exactly as the core's hybrid solver does.
"""
from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import pose2rot_core
from pose2rot_core.errors import MissingDependencyError, Pose2RotError
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solution import Solution
from pose2rot_core.tracks import Tracks

#: what the learned model needs on top of numpy (mirrors pose2rot-core's ``learned`` extra)
LEARNED_PACKAGES = ("torch", "transformers", "safetensors", "pyyaml", "tokenizers", "sentencepiece")


@dataclass(frozen=True)
class LearnedSettings:
    """Add-on preferences relevant to the learned model (plain data, no bpy)."""

    checkpoint: str = ""
    config: str = ""
    t5: str = ""
    cache_dir: str = ""
    device: str = "auto"
    runtime: str = "AUTO"          # AUTO, INTERNAL, EXTERNAL
    python: str = ""               # external interpreter


def torch_in_blender() -> bool:
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None


def pip_command(settings: LearnedSettings) -> str:
    """The exact command that installs the learned model's dependencies where they are needed."""
    py = settings.python if settings.runtime != "INTERNAL" and settings.python else sys.executable
    return f"{shlex.quote(py)} -m pip install {' '.join(LEARNED_PACKAGES)}"


def _check_learned_settings(settings: LearnedSettings) -> None:
    if not settings.checkpoint:
        raise Pose2RotError("no checkpoint: set 'Checkpoint' in Preferences > Add-ons > pose2rot "
                            "(or use the geometric solver)")
    if not Path(bpy_abspath(settings.checkpoint)).is_file():
        raise Pose2RotError(f"checkpoint not found: {bpy_abspath(settings.checkpoint)} "
                            "(fix 'Checkpoint' in Preferences > Add-ons > pose2rot)")
    if settings.config and not Path(bpy_abspath(settings.config)).is_file():
        raise Pose2RotError(f"model config not found: {bpy_abspath(settings.config)} "
                            "(fix or clear 'Config' in Preferences > Add-ons > pose2rot)")


def bpy_abspath(path: str) -> str:
    """Resolve Blender's ``//`` relative paths when bpy is around; plain paths otherwise."""
    if path.startswith("//"):
        import bpy

        return bpy.path.abspath(path)
    return os.path.expanduser(path)


def choose_runtime(settings: LearnedSettings) -> str:
    """'INTERNAL' or 'EXTERNAL' for the learned model, or a MissingDependencyError saying what to do."""
    if settings.runtime in ("AUTO", "INTERNAL") and torch_in_blender():
        return "INTERNAL"
    if settings.runtime in ("AUTO", "EXTERNAL") and settings.python:
        if not Path(settings.python).is_file():
            raise Pose2RotError(f"external Python not found: {settings.python} "
                                "(fix 'Python' in Preferences > Add-ons > pose2rot)")
        return "EXTERNAL"
    if settings.runtime == "EXTERNAL":
        raise MissingDependencyError("learned model: no external Python set; give an interpreter with torch in "
                                     "Preferences > Add-ons > pose2rot")
    raise MissingDependencyError(
        f"learned model needs torch and transformers, which Blender's Python lacks: run "
        f"'{pip_command(settings)}' or set an external Python in Preferences > Add-ons > pose2rot")


def _model_options(settings: LearnedSettings) -> dict:
    opts = {"checkpoint": bpy_abspath(settings.checkpoint), "device": settings.device or "cpu"}
    if settings.config:
        opts["config"] = bpy_abspath(settings.config)
    if settings.t5:
        opts["t5"] = bpy_abspath(settings.t5)
    return opts


def solve_tracks(tracks: Tracks, solver: str, settings: LearnedSettings, progress=None,
                 smooth: str | float = "auto", stretch: str | None = None) -> Solution:
    """Solve ``tracks`` with 'geometric', 'learned' or 'hybrid' (see the module docstring).

    smooth: the core's track cleaning ("auto", "off" or a kernel width in seconds); stretch: the
    geometric step's bone lengths (None: the core's default; "exact"; "off")."""
    from pose2rot_core.solvers import solve

    lengths = {} if stretch is None or solver == "learned" else {"stretch": stretch}
    if solver == "geometric":
        return solve(tracks, "geometric", progress=progress, smooth=smooth, **lengths)
    _check_learned_settings(settings)
    runtime = choose_runtime(settings)
    if runtime == "INTERNAL":
        opts = _model_options(settings)
        if settings.cache_dir:
            opts["cache_dir"] = bpy_abspath(settings.cache_dir)
        return solve(tracks, solver, progress=progress, smooth=smooth, **opts, **lengths)
    learned = solve_external(tracks, settings, progress, smooth)
    if solver == "learned":
        return learned
    sol = solve(tracks, "geometric", progress=progress, smooth=smooth, twist_guess=learned.rotations, **lengths)
    sol.report[:0] = learned.report
    sol.solver = "hybrid"
    return sol


def _core_on_path(tmp: Path) -> str:
    """A folder holding (a link to) this add-on's ``pose2rot_core`` package, for PYTHONPATH."""
    src = Path(pose2rot_core.__file__).resolve().parent
    dst = tmp / "pycore"
    dst.mkdir()
    try:
        (dst / "pose2rot_core").symlink_to(src, target_is_directory=True)
    except OSError:
        import shutil

        shutil.copytree(src, dst / "pose2rot_core", ignore=shutil.ignore_patterns("__pycache__"))
    return str(dst)


def solve_external(tracks: Tracks, settings: LearnedSettings, progress=None, smooth: str | float = "auto") -> Solution:
    """Run the learned solver in ``settings.python`` through the core CLI; returns a Solution."""
    from pose2rot_core.rotations import quat_to_matrix
    from pose2rot_core.tracks_io import save_tracks

    with tempfile.TemporaryDirectory(prefix="pose2rot_") as tmp:
        tmp_path = Path(tmp)
        src, out = tmp_path / "tracks.npz", tmp_path / "solution.npz"
        plain = Skeleton(tracks.skeleton.names, tracks.skeleton.parents, tracks.skeleton.rest_positions)
        save_tracks(str(src), replace(tracks, skeleton=plain))
        cmd = [settings.python, "-m", "pose2rot_core.cli", "solve", str(src), "--out", str(out),
               "--solver", "learned", "--smooth", str(smooth)]
        for key, value in _model_options(settings).items():
            cmd += [f"--{key}", str(value)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_core_on_path(tmp_path), env.get("PYTHONPATH")) if p)
        if settings.cache_dir:
            env["POSE2ROT_CACHE"] = bpy_abspath(settings.cache_dir)
        if progress:
            progress(0.1, "running the learned model in the external Python")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0 or not out.is_file():
            lines = [ln for ln in (proc.stderr or proc.stdout or "").strip().splitlines() if ln.strip()]
            detail = lines[-1] if lines else f"exit code {proc.returncode}"
            if "No module named" in detail:
                detail += f" (install with: {pip_command(settings)})"
            raise Pose2RotError(f"external learned solve failed: {detail}")
        data = np.load(out, allow_pickle=False)
        names = [str(n) for n in data["joint_names"]]
        skel = tracks.skeleton
        if sorted(names) != sorted(skel.names):
            raise Pose2RotError("external learned solve returned different joints than it was given")
        order = [names.index(n) for n in skel.names]
        quats = np.asarray(data["quaternions"], np.float64)[:, order]
        local_offsets = (np.asarray(data["local_offsets"], np.float64)[:, order] if "local_offsets" in data
                         else np.broadcast_to(skel.offsets, (tracks.num_frames,) + skel.offsets.shape).copy())
        translating = (np.asarray(data["translating"], bool)[order] if "translating" in data
                       else np.zeros(skel.num_joints, bool))
        return Solution(skeleton=skel, rotations=quat_to_matrix(quats),
                        root_translation=np.asarray(data["root_translation"], np.float64),
                        local_offsets=local_offsets, translating=translating,
                        report=["learned model ran in " + settings.python], solver="learned")

"""Real-Blender tests (bpy module). Run with a bpy venv: ``VENV/bin/python -m pytest tests/blender -q``.

The extension is built (when dist/ has no zip) and installed once per session from its zip into a
temporary BLENDER_USER_RESOURCES, set before bpy is imported; every test starts from an empty
factory-startup file. Under a Python without bpy this folder is not collected.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="pose2rot_blender_user_")

try:
    import bpy
except ImportError:                                  # core-only venv: nothing here can run
    bpy = None
    collect_ignore_glob = ["test_*.py"]

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXT_MODULE = "bl_ext.user_default.pose2rot"


def extension_zip() -> Path:
    zips = sorted((ROOT / "dist").glob("pose2rot-*.zip"))
    if not zips:
        subprocess.run([sys.executable, str(ROOT / "build.py")], check=True, cwd=ROOT)
        zips = sorted((ROOT / "dist").glob("pose2rot-*.zip"))
    return zips[-1]


def install_extension() -> str:
    """Install and enable the built extension (its wheel puts pose2rot_core on sys.path)."""
    result = bpy.ops.extensions.package_install_files(filepath=str(extension_zip()), repo="user_default",
                                                      enable_on_install=True)
    assert result == {'FINISHED'}, result
    bpy.ops.pose2rot.solve_rotations.get_rna_type()       # raises KeyError when not registered
    return EXT_MODULE


if bpy is not None:                                   # before test modules import pose2rot_core
    install_extension()


@pytest.fixture(scope="session")
def installed_extension():
    yield EXT_MODULE


@pytest.fixture(autouse=True)
def empty_file(installed_extension):
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    yield


@pytest.fixture(scope="session")
def ext(installed_extension):
    """The installed extension package (for its helpers: pipeline, keys, names, ...)."""
    import importlib

    return importlib.import_module(installed_extension)

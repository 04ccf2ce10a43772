"""Where the learned model runs from Blender: in Blender's own Python, or in an external one.

Learned/hybrid need torch + transformers. ``INTERNAL`` imports them in Blender's Python; ``EXTERNAL``
runs the network's pass in another interpreter (one that has them installed) through the core's
command line (``pose2rot_core.solvers.external``). ``AUTO`` picks INTERNAL when torch imports, else
EXTERNAL when an interpreter is configured. Either way ``pose2rot_core.solvers.solve`` takes the same
steps (cleaning, the hybrid refinement, smoothing) here in Blender.
"""
from __future__ import annotations

import importlib.util
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from pose2rot_core.errors import MissingDependencyError, Pose2RotError
from pose2rot_core.options import OptionError, SolveOptions
from pose2rot_core.solvers import Network
from pose2rot_core.solvers.external import external_network, pip_install_command

#: where each setting lives in Blender, for error messages about it
PREFERENCES = "Preferences > Add-ons > pose2rot"


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

    def model_options(self) -> dict[str, str | None]:
        """The network's SolveOptions fields, with Blender's ``//`` paths resolved (an OptionError for
        one in a .blend not saved yet, which has no folder to be relative to)."""
        paths = {field: _resolved(field, getattr(self, field)) or None for field in ("checkpoint", "config", "t5",
                                                                                     "cache_dir")}
        return dict(paths, device=self.device or "cpu")


def _resolved(field: str, path: str) -> str:
    """``path`` of the preference ``field`` with Blender's ``//`` (the .blend file's folder) resolved,
    and ``~`` expanded."""
    if not path.startswith("//"):
        return os.path.expanduser(path)
    import bpy

    if not bpy.data.filepath:
        raise OptionError(field, f"is '{path}', relative (//) to the folder of the .blend file, and this .blend "
                                 "is not saved yet: save it first, or give an absolute path")
    return bpy.path.abspath(path)


def torch_in_blender() -> bool:
    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("transformers") is not None


def pip_command(settings: LearnedSettings) -> str:
    """The exact command that installs the learned model's dependencies where they are needed."""
    py = settings.python if settings.runtime != "INTERNAL" and settings.python else sys.executable
    return pip_install_command(shlex.quote(py))


def choose_runtime(settings: LearnedSettings) -> str:
    """'INTERNAL' or 'EXTERNAL' for the learned model, or a MissingDependencyError saying what to do."""
    if settings.runtime in ("AUTO", "INTERNAL") and torch_in_blender():
        return "INTERNAL"
    if settings.runtime in ("AUTO", "EXTERNAL") and settings.python:
        if not Path(settings.python).is_file():
            raise Pose2RotError(f"external Python not found: {settings.python} (fix 'Python' in {PREFERENCES})")
        return "EXTERNAL"
    if settings.runtime == "EXTERNAL":
        raise MissingDependencyError("learned model: no external Python set; give an interpreter with torch in "
                                     + PREFERENCES)
    raise MissingDependencyError(
        f"learned model needs torch and transformers, which Blender's Python lacks: run "
        f"'{pip_command(settings)}' or set an external Python in {PREFERENCES}")


def network(options: SolveOptions, settings: LearnedSettings) -> Network | None:
    """Where ``options``' learned model runs: None (in this process, or no model) or the external one."""
    if options.solver == "geometric" or choose_runtime(settings) == "INTERNAL":
        return None
    return external_network(settings.python, options)

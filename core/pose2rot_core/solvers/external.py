"""The learned model run in another Python interpreter (one that has torch) through the command line.

:func:`external_network` gives a :data:`pose2rot_core.solvers.Network`: ``solve(tracks, options,
network=external_network(python, options))`` takes the same steps as the in-process solve (cleaning,
hybrid refinement, rotation smoothing here), only the network's pass runs in ``python``. The tracks
it gets are already cleaned, so the other side solves them with ``--smooth off``; this package is put
on that interpreter's ``PYTHONPATH`` so both sides run the same core version.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import MissingDependencyError, Pose2RotError
from ..model import pip_install_command
from ..options import SolveOptions
from ..skeleton import Skeleton
from ..solution import Solution
from ..tracks import Tracks

#: the network settings an external solve passes on (cache_dir goes through POSE2ROT_CACHE)
_MODEL_FIELDS = ("checkpoint", "config", "t5", "device", "precision", "window")


def external_network(python: str, options: SolveOptions):
    """A Network that runs the learned model of ``options`` in the interpreter ``python``."""
    from ..cli import option_arguments

    if shutil.which(python) is None:
        raise Pose2RotError(f"external Python '{python}' does not exist (give an interpreter that has torch)")
    learned = SolveOptions(solver="learned", smooth="off", **{f: getattr(options, f) for f in _MODEL_FIELDS})
    arguments = option_arguments(learned)

    def run(tracks: Tracks, missing: np.ndarray, progress=None) -> Solution:
        with tempfile.TemporaryDirectory(prefix="pose2rot_") as tmp:
            src, out = Path(tmp) / "tracks.npz", Path(tmp) / "solution.npz"
            _save_plain(src, tracks)
            if progress:
                progress(0.1, "running the learned model in the external Python")
            cmd = [python, "-m", "pose2rot_core.solvers.external", "solve", str(src), "--out", str(out)] + arguments
            proc = subprocess.run(cmd, capture_output=True, text=True, env=_environment(Path(tmp), options))
            if proc.returncode != 0 or not out.is_file():
                raise _core_error(proc) or Pose2RotError(f"external learned solve failed: {_failure(proc, python)}")
            return _read_solution(out, tracks.skeleton, python)

    return run


def _save_plain(path: Path, tracks: Tracks) -> None:
    """Cleaned tracks as npz, joints in internal order (the confidence has done its work)."""
    from ..tracks_io import save_tracks

    save_tracks(path, replace(tracks, confidence=None))


def _environment(tmp: Path, options: SolveOptions) -> dict[str, str]:
    """This process's environment with this core first on PYTHONPATH and the embedding cache."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_core_on_path(tmp), env.get("PYTHONPATH")) if p)
    if options.cache_dir:
        env["POSE2ROT_CACHE"] = str(options.cache_dir)
    return env


def _core_on_path(tmp: Path) -> str:
    """A folder holding (a link to) this ``pose2rot_core`` package, for PYTHONPATH."""
    src = Path(__file__).resolve().parents[1]
    dst = tmp / "pycore"
    dst.mkdir()
    try:
        (dst / "pose2rot_core").symlink_to(src, target_is_directory=True)
    except OSError:
        shutil.copytree(src, dst / "pose2rot_core", ignore=shutil.ignore_patterns("__pycache__"))
    return str(dst)


#: the start of the line on which the other interpreter hands back the core's error (JSON)
_ERROR_MARK = "pose2rot-core-error: "


def child_main(argv: list[str]) -> int:
    """The other interpreter's side: the command line's ``solve``, with a core error handed back as
    JSON on stderr (an OptionError with its field, so this side words it as its interface names the
    setting: a command-line flag there would be no setting of Blender's)."""
    import json
    import sys

    from ..cli import build_parser
    from ..options import OptionError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except OptionError as e:
        error = {"field": e.field, "problem": e.problem}
    except Pose2RotError as e:
        error = {"message": str(e), "missing": isinstance(e, MissingDependencyError)}
    print(_ERROR_MARK + json.dumps(error), file=sys.stderr)
    return 2


def _core_error(proc: subprocess.CompletedProcess) -> Pose2RotError | None:
    """The core's error the other interpreter handed back (see child_main), as this side's exception;
    None when it ended otherwise (a crash, a missing package, no Python at all)."""
    import json

    from ..options import OptionError

    line = next((ln for ln in reversed((proc.stderr or "").splitlines()) if ln.startswith(_ERROR_MARK)), None)
    if line is None:
        return None
    error = json.loads(line[len(_ERROR_MARK):])
    if "field" in error:
        return OptionError(error["field"], error["problem"])
    return (MissingDependencyError if error.get("missing") else Pose2RotError)(error["message"])


def _failure(proc: subprocess.CompletedProcess, python: str) -> str:
    """The last line the other interpreter printed, with the install command when a module is missing."""
    lines = [ln for ln in (proc.stderr or proc.stdout or "").strip().splitlines() if ln.strip()]
    silent = ("it ended without writing a solution" if proc.returncode == 0 else f"exit code {proc.returncode}") + \
        f" ('{python}' may not be a Python interpreter)"
    detail = lines[-1] if lines else silent
    if "No module named" in detail:
        detail += f" (install with: {pip_install_command(python)})"
    return detail


def _read_solution(path: Path, skel: Skeleton, python: str) -> Solution:
    """The learned Solution written by ``pose2rot solve --out X.npz``, in ``skel``'s joint order."""
    from ..rotations import quat_to_matrix

    with np.load(path, allow_pickle=False) as data:
        names = [str(n) for n in data["joint_names"]]
        if sorted(names) != sorted(skel.names):
            raise Pose2RotError("external learned solve returned different joints than it was given")
        order = [names.index(n) for n in skel.names]
        return Solution(skeleton=skel, rotations=quat_to_matrix(np.asarray(data["quaternions"], np.float64)[:, order]),
                        root_translation=np.asarray(data["root_translation"], np.float64),
                        local_offsets=np.asarray(data["local_offsets"], np.float64)[:, order],
                        translating=np.asarray(data["translating"], bool)[order],
                        report=[f"learned model ran in {python}"], solver="learned")


if __name__ == "__main__":
    import sys

    sys.exit(child_main(sys.argv[1:]))

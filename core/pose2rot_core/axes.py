"""Up axes: BVH files are Y-up, Blender is Z-up. A change of up axis is a rotation ``C`` of the file
axes: positions become ``C p``, rest offsets ``C o``, and local rotations ``C R C^T`` (every joint
frame is axis-aligned with the file axes at rest, so its frames turn with them).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .errors import Pose2RotError
from .solution import Solution

UP_AXES = ("y", "z")
#: signed axis name -> unit vector
AXES = {"x": (1, 0, 0), "y": (0, 1, 0), "z": (0, 0, 1), "-x": (-1, 0, 0), "-y": (0, -1, 0), "-z": (0, 0, -1)}


def nearest_axis(v: np.ndarray) -> tuple[str, float]:
    """(the signed axis of AXES nearest the direction ``v`` [3] (the first of equals), the cosine
    between them: 0.0 for a zero ``v``)."""
    name = max(AXES, key=lambda a: float(np.dot(AXES[a], v)))
    size = float(np.linalg.norm(v))
    return name, float(np.dot(AXES[name], v)) / size if size > 0 else 0.0


def axis_change(up: str, target: str = "y") -> np.ndarray:
    """[3,3] proper rotation taking the signed axis ``up`` onto ``target`` ("y" or "z"): a quarter or
    half turn about a coordinate axis (Z up -> Y up is the BVH/Blender convention
    (x, y, z) -> (x, z, -y))."""
    if up not in AXES or target not in ("y", "z"):
        raise Pose2RotError(f"up axis must be one of {', '.join(AXES)}, got '{up}'")
    u, t = np.asarray(AXES[up], float), np.asarray(AXES[target], float)
    if np.allclose(u, t):
        return np.eye(3)
    if np.allclose(u, -t):  # half turn about X (never the target's axis)
        return np.diag([1.0, -1.0, -1.0])
    k = np.cross(u, t)                                  # quarter turn about u x t
    K = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + K + K @ K


#: file axes Y-up -> Z-up, as Blender's BVH importer does it: (x, y, z) -> (x, -z, y)
Y_UP_TO_Z_UP = axis_change("y", "z")


def up_axis_change(source: str, target: str) -> np.ndarray:
    """[3,3] rotation taking ``source``-up file axes to ``target``-up ones ("y" or "z")."""
    for axis in (source, target):
        if axis not in UP_AXES:
            raise Pose2RotError(f"up axis must be 'y' or 'z', got '{axis}'")
    return axis_change(source, target)


def turn_solution(sol: Solution, C: np.ndarray) -> Solution:
    """``sol`` in file axes turned by ``C`` [3,3] (see the module docstring); ``sol`` itself when
    ``C`` is the identity (the same up axis)."""
    if np.array_equal(C, np.eye(3)):
        return sol
    sk = sol.skeleton
    return replace(sol, skeleton=replace(sk, rest_positions=sk.rest_positions @ C.T),
                   rotations=C @ sol.rotations @ C.T, root_translation=sol.root_translation @ C.T,
                   local_offsets=sol.local_offsets @ C.T)

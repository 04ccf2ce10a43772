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
#: file axes Y-up -> Z-up, as Blender's BVH importer does it: (x, y, z) -> (x, -z, y)
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def up_axis_change(source: str, target: str) -> np.ndarray:
    """[3,3] rotation taking ``source``-up file axes to ``target``-up ones ("y" or "z")."""
    for axis in (source, target):
        if axis not in UP_AXES:
            raise Pose2RotError(f"up axis must be 'y' or 'z', got '{axis}'")
    if source == target:
        return np.eye(3)
    return Y_UP_TO_Z_UP if source == "y" else Y_UP_TO_Z_UP.T


def turn_solution(sol: Solution, C: np.ndarray) -> Solution:
    """``sol`` in file axes turned by ``C`` [3,3] (see the module docstring)."""
    sk = sol.skeleton
    return replace(sol, skeleton=replace(sk, rest_positions=sk.rest_positions @ C.T),
                   rotations=C @ sol.rotations @ C.T, root_translation=sol.root_translation @ C.T,
                   local_offsets=sol.local_offsets @ C.T)

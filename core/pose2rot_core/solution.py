"""What every solver returns: local rotations, root translation, per-frame offsets, and a report."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from .fk import forward_kinematics, global_to_local, joint_positions
from .rotations import matrix_to_quat, quat_continuity
from .skeleton import Skeleton

if TYPE_CHECKING:
    from .safety import SafetyCheck
    from .solvers.geometric.twist_chains import TwistSpread


@dataclass
class Solution:
    """A solved clip, in the skeleton's internal joint order.

    rotations: [T,J,3,3] local rotations (column vectors; root = global orientation).
    root_translation: [T,3] global root position per frame.
    local_offsets: [T,J,3] parent-local offsets per frame; equal to the rest offsets except on
      joints marked ``translating`` (their translation is solved so positions still match).
    translating: [J] bool.
    report: human-readable notes (gaps filled, bone-length mismatches, ...).
    check: how the solution compares with its tracks (see pose2rot_core.safety), when checked.
    segments: the joints the solve aimed a bone through to its child: twist segments (on the bone's
      axis, see solvers.geometric.twist_chains) and any zero-length joints between them; they turn
      with the bone and show no turn of their own.
    twist: what spread the twist along the bones with twist joints (a geometric solve's
      twist_chains.TwistSpread), to spread it again on rotations smoothed later; None without such
      bones, and for a part of the frames.
    The arrays are not changed once solved: :meth:`forward` is computed once (``replace`` makes a new
    Solution, which computes its own).
    """

    skeleton: Skeleton
    rotations: np.ndarray
    root_translation: np.ndarray
    local_offsets: np.ndarray
    translating: np.ndarray
    report: list[str] = field(default_factory=list)
    solver: str = "geometric"
    check: SafetyCheck | None = None
    segments: tuple[int, ...] = ()
    twist: TwistSpread | None = None
    _forward: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False, compare=False)
    #: the global rotations [T,J,3,3] ``rotations`` were made from (from_globals), else None
    _globals: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_globals(cls, skeleton: Skeleton, global_rotations: np.ndarray, root_translation: np.ndarray,
                     local_offsets: np.ndarray, translating: np.ndarray, **fields) -> "Solution":
        """The Solution of a solver that worked out global rotations [T,J,3,3]: their local form
        as ``rotations``, the globals kept for :meth:`forward`, which then only places the joints."""
        sol = cls(skeleton, global_to_local(skeleton, global_rotations), root_translation, local_offsets, translating,
                  **fields)
        sol._globals = global_rotations
        return sol

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def quaternions(self) -> np.ndarray:
        """[T,J,4] w-first local quaternions with continuous signs over time."""
        return quat_continuity(matrix_to_quat(self.rotations), axis=0)

    def forward(self) -> tuple[np.ndarray, np.ndarray]:
        """(global rotations [T,J,3,3], joint positions [T,J,3]) of the solution."""
        if self._forward is None and self._globals is not None:
            self._forward = self._globals, joint_positions(self.skeleton, self._globals, self.root_translation,
                                                           self.local_offsets)
        elif self._forward is None:
            self._forward = forward_kinematics(self.skeleton, self.rotations, self.root_translation, self.local_offsets)
        return self._forward

    @property
    def positions(self) -> np.ndarray:
        return self.forward()[1]

    def frames(self, start: int, stop: int) -> "Solution":
        """Frames [start, stop) as a new Solution, unchecked (check None)."""
        sl = slice(start, stop)
        part = replace(self, rotations=self.rotations[sl], root_translation=self.root_translation[sl],
                       local_offsets=self.local_offsets[sl], report=list(self.report), check=None, twist=None)
        part._globals = None if self._globals is None else self._globals[sl]
        return part

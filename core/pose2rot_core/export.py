"""Writing solutions: BVH in the rig's own rotation orders and a chosen up axis, or npz quaternions."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from .axes import turn_solution, up_axis_change
from .bvh import write_bvh
from .errors import write_whole
from .solution import Solution

#: rotation order of written BVH joints when the rig brings none (npz tracks, Blender rigs)
DEFAULT_ORDER = "ZXY"


def rig_orders(orders: Sequence[str], num_joints: int) -> list[str]:
    """Per-joint rotation orders to write: the rig's own, its most common one for joints without
    rotation channels (""), DEFAULT_ORDER for every joint when the rig brings none. A joint with
    fewer than three rotation channels (a hinge: "Z", "ZX") gets all three, its own first: the
    solved rotation turns about any axis."""
    if not orders:
        return [DEFAULT_ORDER] * num_joints
    full = [_completed(o) for o in orders]
    known = [o for o in full if o]
    common = max(sorted(set(known)), key=known.count) if known else DEFAULT_ORDER
    return [o or common for o in full]


def _completed(order: str) -> str:
    """A rotation order of 0-3 axes with the missing ones appended ("" stays "")."""
    order = order.upper()
    return order + "".join(a for a in DEFAULT_ORDER if a not in order) if order else order


def write_solution(path: str | Path, sol: Solution, fps: float, up_from: str, up_to: str,
                   order: str | Sequence[str] | None = None, end_parents: np.ndarray | None = None,
                   end_offsets: np.ndarray | None = None, end_names: Sequence[str] | None = None) -> None:
    """Write ``sol`` (file axes with ``up_from`` up) to ``.bvh`` or ``.npz`` with ``up_to`` up.

    order: one rotation order for every joint, one per joint (internal order; "" = the most common),
    or None for DEFAULT_ORDER. end_parents [K] / end_offsets [K,3] (``up_from`` axes): End Sites.
    """
    path = Path(path)
    C = up_axis_change(up_from, up_to)
    sol = turn_solution(sol, C)
    if path.suffix.lower() == ".npz":
        save_solution_npz(path, sol, fps, up_to)
        return
    J = sol.skeleton.num_joints
    orders = [order] * J if isinstance(order, str) else rig_orders(order or (), J)
    write_bvh(path, sol.skeleton, sol.rotations, sol.root_translation, sol.local_offsets, sol.translating,
              fps=fps, order=orders, end_parents=end_parents,
              end_offsets=None if end_offsets is None else np.asarray(end_offsets) @ C.T, end_names=end_names)


def save_solution_npz(path: str | Path, sol: Solution, fps: float, up_axis: str) -> None:
    """Solution in the tracks file's joint order: quaternions [T,J,4] (w-first), root_translation
    [T,3], local_offsets [T,J,3], translating [J], joint_names [J], with its frame rate ``fps``
    and ``up_axis`` ("y" or "z", the axes it is written in)."""
    sk = sol.skeleton
    arrays = dict(fps=np.float64(fps), up_axis=np.str_(up_axis), quaternions=sk.to_caller(sol.quaternions, axis=1),
                  root_translation=sol.root_translation, local_offsets=sk.to_caller(sol.local_offsets, axis=1),
                  translating=sk.to_caller(sol.translating, axis=0),
                  joint_names=np.array(sk.to_caller(np.array(sk.names), axis=0), dtype=str))
    # written through a file object: a name np.savez would complete with ".npz" (x.NPZ) stays as given
    write_whole(path, "npz", lambda f: np.savez(f, **arrays), binary=True)

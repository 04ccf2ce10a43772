"""Blender's conventions in plain numpy (no bpy), so they are tested without Blender: its Z-up axes,
the pose-bone channels of a solution, its scene frame rate.

Axes: the core and BVH files are Y-up; Blender is Z-up, and its BVH importer maps file ``(x, y, z)``
to Blender ``(x, -z, y)`` (``axes.Y_UP_TO_Z_UP``).

Pose channels (armature space, column vectors). For bone j: ``M_j`` is its rest orientation
(``bone.matrix_local`` 3x3), ``h_j`` its rest head (``bone.head_local``), ``p`` its parent.
The core's joint j is the bone's head; its frames are aligned with the armature axes at rest, its
local rotation is ``L_j`` and its global rotation ``G_j = G_p L_j``. Blender's pose matrix is
then ``A_j = G_j M_j``, which gives the pose bone's basis (checked against Blender):

- rotation, bone inherits rotation:   ``B_j = M_j^T L_j M_j``
- rotation, "Inherit Rotation" off:   ``B_j = M_j^T G_j M_j``
- location of a non-connected bone whose parent-local offset moved by ``d = o_j(t) - o_j(rest)``:
  ``M_j^T d`` ("Local Location" on, the default) or ``M_p^T d`` (off); the root's ``d`` is
  ``root_translation - h_0`` in armature axes (``M_p`` = identity).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .axes import axis_change
from .bvh import BvhClip, read_bvh
from .rotations import matrix_to_quat, quat_continuity
from .solution import Solution
from .stacks import mat_mul, mat_t_mul
from .units import scaled


@dataclass(frozen=True)
class BoneRest:
    """Rest data of an armature's bones in the core skeleton's internal order.

    rest_rotations: [J,3,3] ``M_j``; inherit_rotation, local_location, connected: [J] bool.
    """

    rest_rotations: np.ndarray
    inherit_rotation: np.ndarray
    local_location: np.ndarray
    connected: np.ndarray


def basis_quaternions(solution: Solution, rest: BoneRest) -> np.ndarray:
    """[T,J,4] w-first pose-bone quaternions (continuous signs over time) for ``solution``. The
    products ``M^T L M`` are summed over component planes (core.stacks), which the solver's rotations
    are stored as and matrix_to_quat then reads without a copy."""
    L = solution.rotations
    M = rest.rest_rotations[None]
    if not rest.inherit_rotation.all():
        G, _ = solution.forward()
        L = np.where(rest.inherit_rotation[None, :, None, None], L, G)
    return quat_continuity(matrix_to_quat(mat_mul(mat_t_mul(M, L), M)), axis=0)


def location_channels(solution: Solution, rest: BoneRest, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Pose-bone locations for the root and translating joints.

    Returns (joint indices [K] that need location keys, locations [T,K,3]). A joint is keyed when
    its displacement exceeds ``tolerance`` in some frame; connected bones are never keyed (the
    caller reports them, see :func:`blocked_translations`).
    """
    skel = solution.skeleton
    T, J = solution.num_frames, skel.num_joints
    d = solution.local_offsets - skel.offsets[None]
    d[:, 0] = solution.root_translation - skel.rest_positions[0]
    moving = np.abs(d).max(axis=0).max(axis=-1) > tolerance
    moving &= ~rest.connected
    idx = np.where(moving)[0]
    frame = rest.rest_rotations.copy()
    parent_frame = np.broadcast_to(np.eye(3), (J, 3, 3)).copy()
    parent_frame[1:] = rest.rest_rotations[skel.parents[1:]]
    axes = np.where(rest.local_location[:, None, None], frame, parent_frame)[idx]   # [K,3,3]
    loc = np.einsum("kba,tkb->tka", axes, d[:, idx]) if len(idx) else np.zeros((T, 0, 3))
    return idx, loc


def blocked_translations(solution: Solution, rest: BoneRest, tolerance: float) -> list[int]:
    """Joints the solution translates but whose bone is connected (Blender cannot move them)."""
    d = solution.local_offsets - solution.skeleton.offsets[None]
    moving = np.abs(d).max(axis=0).max(axis=-1) > tolerance
    moving[0] = False
    return [int(j) for j in np.where(moving & rest.connected)[0]]


def local_rotations_from_pose(pose_rotations: np.ndarray, rest_rotations: np.ndarray,
                              parents: np.ndarray) -> np.ndarray:
    """Armature-space pose rotations ``A_j`` [J,3,3] -> core local rotations ``L_j`` [J,3,3].

    ``G_j = A_j M_j^T`` and ``L_j = G_p^T G_j`` (any bone settings: it reads the final pose).
    """
    G = pose_rotations @ np.swapaxes(rest_rotations, -1, -2)
    L = G.copy()
    L[1:] = np.swapaxes(G[parents[1:]], -1, -2) @ G[1:]
    return L


def lost_between_keys(points: np.ndarray, set_there: np.ndarray) -> np.ndarray:
    """``points`` [T,N,3] with no data (NaN) on the frames between its first and last key where an
    empty keyed on nearly every frame has no key (``set_there`` [T,N] False): a tracker's lost
    samples, which Import Tracks leaves unkeyed (as the command line reads an empty CSV cell), not
    Blender's curve between the keys around them. An empty keyed every few frames (half its keys or
    more apart from the next by more than a frame) keeps its curves (Tracks.keyed), and every empty
    keeps Blender's value before its first key and after its last."""
    gaps = np.zeros(set_there.shape, bool)
    for i in np.flatnonzero(set_there.sum(axis=0) >= 2):
        keys = np.flatnonzero(set_there[:, i])
        if np.median(np.diff(keys)) <= 1:
            gaps[keys[0]:keys[-1], i] = ~set_there[keys[0]:keys[-1], i]
    return points if not gaps.any() else np.where(gaps[..., None], np.nan, points)


#: Blender's limits of a scene's ``render.fps`` (whole frames per second) and ``render.fps_base``
SCENE_FPS_LIMITS = (1, 32767)
SCENE_FPS_BASE_LIMITS = (1e-5, 1e6)
#: a frame rate within this of a whole one is that one (scene_fps)
WHOLE_FPS_TOLERANCE = 1e-3


def scene_fps(fps: float) -> tuple[int, float]:
    """Blender's (``render.fps``, ``render.fps_base``) for a frame rate (fps = fps / fps_base), within
    Blender's limits (SCENE_FPS_LIMITS, SCENE_FPS_BASE_LIMITS: it clamps each): whole rates as they are,
    others as the next whole rate over a base above 1, rates under 1 fps as 1 over a base above 1,
    rates over 32767 fps as 32767 over a base under 1. A rate beyond what the limits allow (under 1e-6
    fps or over about 3.3e9) gets the nearest one a scene can play (scene_fps_beyond tells it)."""
    low, high = SCENE_FPS_LIMITS
    if low <= round(fps) <= high and abs(fps - round(fps)) < WHOLE_FPS_TOLERANCE:
        return int(round(fps)), 1.0
    whole = int(min(max(np.ceil(fps), low), high))
    return whole, float(np.clip(whole / fps, *SCENE_FPS_BASE_LIMITS))


def scene_fps_beyond(fps: float, played: float) -> str:
    """Why a scene playing at ``played`` fps does not play a file's frame rate ``fps``: the file's frame
    time is beyond what a Blender scene can play (scene_fps); "" when it plays it (within
    WHOLE_FPS_TOLERANCE)."""
    if abs(played / fps - 1.0) <= WHOLE_FPS_TOLERANCE:
        return ""
    slowest = SCENE_FPS_LIMITS[0] / SCENE_FPS_BASE_LIMITS[1]
    fastest = SCENE_FPS_LIMITS[1] / SCENE_FPS_BASE_LIMITS[0]
    return (f"the file's frame time, {1.0 / fps:g} s ({fps:g} fps), is beyond the frame rates a Blender scene "
            f"can play ({slowest:g} to {fastest:.3g} fps)")


def file_points(path: str | Path, csv_up_axis: str = "auto", layout: str | None = None, scale: float = 1.0
                ) -> tuple[list[str], np.ndarray, float, str]:
    """(names, positions [T,N,3] in Blender axes, fps or 0 when the file has none, layout name or "") of
    every point of a tracks file: joints and End Sites of ``.npz``/``.bvh`` tracks, every named point
    of a point-set ``.npz`` or a ``.csv``/``.tsv`` (no rig needed; ``csv_up_axis`` says whether its data is "y"-
    or "z"-up, "auto": found from its hips and shoulders, else "y"; its fps from a ``time`` column).
    A ``.npy`` needs ``layout`` (a name of pose2rot_core.layouts); other point sets whose points are
    exactly a layout's, by name, are that layout; FreeMoCap output is read from its recording when
    its body file (``output_data/mediapipe_body_3d_xyz.npy``) is given. Samples of
    confidence below placeholders.MIN_CONFIDENCE are NaN (no data), as the solver counts them. The
    positions are multiplied by ``scale`` (units.scaled: file units to the scene's)."""
    from .layouts import named_layout
    from .pointsets import FREEMOCAP_BODY, PointSet, detect_up, load_points
    from .placeholders import gate_low_confidence
    from .tracks_csv import SUFFIXES as CSV_SUFFIXES
    from .tracks_csv import read_csv_points
    from .tracks_io import tracks_path

    path = Path(path)
    if path.name == FREEMOCAP_BODY or path.suffix.lower() == ".npy":
        names, positions, fps, named = _point_set_points(path, layout)
        return names, scaled(positions, scale), fps, named
    if path.suffix.lower() in CSV_SUFFIXES:
        csv = read_csv_points(tracks_path(path))
        points = PointSet(tuple(csv.names), csv.positions, csv.fps, confidence=csv.confidence, source=path.name,
                          first_frame=csv.first_frame)
        up = (detect_up(points) or "y") if csv_up_axis == "auto" else csv_up_axis
        fps = csv.fps
    else:
        points = load_points(path, check=False)
        up, fps = points.up, points.fps
    positions, _ = gate_low_confidence(points.positions, points.confidence)
    named = points.layout or named_layout(points.names)  # points exported with a layout's own names
    return list(points.names), scaled(positions @ axis_change(up, "z").T, scale), fps, named.name if named else ""


def bvh_of(path: str | Path) -> BvhClip | None:
    """The clip of a tracks file that is a BVH (read once for point_tree and tip_rest_offsets),
    None for any other file."""
    return read_bvh(path) if Path(path).suffix.lower() == ".bvh" else None


def tip_rest_offsets(clip: BvhClip | None, scale: float = 1.0) -> dict[str, list[float]]:
    """{bone tip: its rest offset from its joint [3], Blender axes, times ``scale`` (as file_points
    scales the points)} of the End Sites of a BVH clip (see bvh_of; a joint may have several, which
    Blender's importer keeps only one of, as the bone's tail); {} for no clip."""
    if clip is None:
        return {}
    offsets = scaled(np.asarray(clip.end_offsets, np.float64).reshape(-1, 3) @ axis_change("y", "z").T, scale)
    return {name: [float(v) for v in offset] for name, offset in zip(clip.end_names, offsets)}


def point_tree(clip: BvhClip | None) -> dict[str, str]:
    """{point: its parent point} of the points file_points gives of a BVH clip (see bvh_of; its
    joints and End Sites): the automatic bone map reads another skeleton's joints by where they sit
    in its tree, as the command line's map of a BVH source does; {} for no clip (loose points)."""
    from .map_proposal import EndSites, names_and_parents

    if clip is None:
        return {}
    names, parents = names_and_parents(clip.skeleton, EndSites.of(clip))
    return {name: names[p] for name, p in zip(names, parents) if p >= 0}


def _point_set_points(path: Path, layout: str | None) -> tuple[list[str], np.ndarray, float, str]:
    """file_points of a ``.npy`` with ``layout`` or a FreeMoCap body file (its recording is read)."""
    from .layouts import get_layout
    from .pointsets import FREEMOCAP_BODY, load_points

    source = path.parent if path.name == FREEMOCAP_BODY else path
    points = load_points(source, get_layout(layout) if layout else None)
    return list(points.names), points.oriented("z"), points.fps, points.layout.name

"""Network inputs from a skeleton and tracks (spec/MODEL.md §4.1, §6), numpy only.

Conventions:
- Model frame is Y-up. Tracks with ``up_axis == "z"`` (Blender) are converted with
  ``model (x, y, z) = file (x, z, -y)``, i.e. ``p_model = A p_file`` with :data:`Z_UP_TO_MODEL`;
  rotations convert by conjugation ``R_model = A R Aᵀ``.
- ``position[t,j] = (P[t,j] - P[t,0]) / s`` (root-centred per frame).
- ``offset_a[j] = (O[j] - O[0]) / s`` with ``O`` the parent-local rest offsets
  (``skeleton.offsets``; the root row is the root's rest position). Not global rest positions.
- Scale ``s`` (default rule, :func:`clip_scale`): half the largest axis extent of the
  root-centred joint positions over the clip. Upstream used the root-centred skinned-mesh
  bounding box of the species, which is a little larger; pass ``scale=`` to override (e.g. with
  a mesh-based value) — the value used is returned in :class:`ClipInputs`.
- Graph features from :class:`Skeleton` (hop distance clamped to 5, edge types, ancestor mask).
- Static joints (whose output is replaced by the reference rotation): none by default; name
  them with ``static_joints=``. Upstream marked joints that never rotate in training; for a user
  rig we cannot know, so nothing is frozen unless asked.
- ``ref_rot6d_a``: 6D of the tracks' reference rotations (model frame), identity when absent.
- Memory inputs (read only by models with cross-attention): one slot, a pose with its rotations:
  the tracks at the reference frame with the reference rotations; without a reference frame, the
  rig posed by the reference rotations (the rest pose and identity without any), never a frame
  of the tracks paired with rotations it does not show.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .axes import Y_UP_TO_Z_UP, up_axis_change
from .errors import Pose2RotError
from .rotations import matrix_to_rot6d
from .skeleton import MAX_HOP
from .tracks import Tracks

#: model = Z_UP_TO_MODEL @ file, for Z-up (Blender) data: (x, y, z) -> (x, z, -y) (the Y-up -> Z-up turn undone)
Z_UP_TO_MODEL = Y_UP_TO_Z_UP.T.copy()
IDENTITY_6D = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
#: padding values of the graph tensors (as upstream's collate)
PAD_HOP, PAD_EDGE = MAX_HOP, 4


def model_axes(up_axis: str) -> np.ndarray:
    """[3,3] matrix A with ``p_model = A p_file`` for tracks with this up axis (the model is Y-up)."""
    return up_axis_change(up_axis, "y").copy()


def clip_scale(centred: np.ndarray) -> float:
    """Half the largest axis extent of root-centred positions [T,J,3] (NaN ignored); >0."""
    finite = centred[np.isfinite(centred).all(-1)]
    if finite.size == 0:
        return 1.0
    s = float((finite.max(0) - finite.min(0)).max() / 2.0)
    return s if s > 1e-9 else 1.0


@dataclass
class ClipInputs:
    """Model inputs for one clip. arrays: unbatched tensors (``position [T,J,3]``, ``offset_a [J,3]``,
    ``joint_t5embed [J,E]``, masks, graph, ``ref_rot6d_a [J,6]``, memory ``[1,J,·]``).
    scale: s used; axes: A (model = A @ file); filled: joints whose positions were invented."""

    arrays: dict[str, np.ndarray]
    scale: float
    axes: np.ndarray
    filled: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.arrays["position"].shape[0])


def fill_missing_positions(tracks: Tracks) -> tuple[np.ndarray, np.ndarray]:
    """(positions [T,J,3] without NaN, [J] bool joints with no data at all).

    Gaps are filled as everywhere else (tracks_io.fill_gaps); a joint with no data follows its
    parent rigidly at its rest offset. The root needs at least one frame (tracks_io.check_root)."""
    from .tracks_io import check_root, fill_gaps

    check_root(tracks)
    P, _, missing = fill_gaps(tracks.positions)
    empty = np.zeros(tracks.skeleton.num_joints, bool)
    empty[missing] = True
    offsets = tracks.skeleton.offsets
    for j in missing:  # parents come first, so the parent is already filled
        P[:, j] = P[:, tracks.skeleton.parents[j]] + offsets[j]
    return P, empty


def build_inputs(tracks: Tracks, name_embeddings: np.ndarray, *, scale: float | None = None,
                 static_joints: Sequence[str] = (), embedder: str | None = None) -> ClipInputs:
    """Inputs of one clip. name_embeddings: [J,E] joint-name embeddings (skeleton order).

    embedder: id of the embedder that produced them (checked against the model's)."""
    skel = tracks.skeleton
    J = skel.num_joints
    emb = np.asarray(name_embeddings, np.float32)
    if emb.ndim != 2 or emb.shape[0] != J:
        raise Pose2RotError(f"joint-name embeddings must be [{J},E] for a {J}-joint skeleton, got {list(emb.shape)}")
    A = model_axes(tracks.up_axis)
    P, filled = fill_missing_positions(tracks)
    P = P @ A.T
    centred = P - P[:, :1]
    s = clip_scale(centred) if scale is None else float(scale)
    if not (np.isfinite(s) and s > 0):
        raise Pose2RotError(f"model scale must be a positive number, got {scale}")
    O = skel.offsets @ A.T
    ref = np.broadcast_to(IDENTITY_6D, (J, 6)).copy()
    if tracks.reference_rotations is not None:
        ref = matrix_to_rot6d(A @ tracks.reference_rotations @ A.T)
    static = np.zeros(J, bool)
    for name in static_joints:
        static[skel.index(name)] = True
    position = (centred / s).astype(np.float32)
    arrays = {
        "position": position,
        "offset_a": ((O - O[0]) / s).astype(np.float32),
        "joint_t5embed": emb,
        "joint_mask": np.ones(J, bool),
        "ancestor_mask": skel.ancestor_mask(),
        "graph_hop": skel.hop_distance(),
        "graph_edge": skel.edge_type(),
        "static_rot_joint_mask": static,
        "ref_rot6d_a": ref.astype(np.float32),
        "memory_pose": _memory_pose(tracks, position, A, s),
        "memory_rot6d": ref[None].astype(np.float32),
    }
    if embedder is not None:
        arrays["embedder"] = embedder
    return ClipInputs(arrays, s, A, filled)


def _memory_pose(tracks: Tracks, position: np.ndarray, A: np.ndarray, s: float) -> np.ndarray:
    """[1,J,3] float32 positions of the memory slot, a pose whose rotations are the reference ones (as in
    training, where it is a frame of the clip and its true rotations): the tracks at their reference
    frame, else the rig posed by the reference rotations (the rest pose without any), root-centred,
    model axes, divided by ``s``. position: [T,J,3] the clip's model positions."""
    if tracks.reference_frame is not None:
        return position[tracks.reference_frame:tracks.reference_frame + 1].copy()
    from .fk import forward_kinematics

    J = tracks.skeleton.num_joints
    rotations = np.eye(3)[None].repeat(J, 0) if tracks.reference_rotations is None else tracks.reference_rotations
    pose = forward_kinematics(tracks.skeleton, rotations[None], np.zeros((1, 3)))[1]
    return ((pose @ A.T) / s).astype(np.float32)


def pad_batch(clips: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stack per-clip input dicts into a batch, padding joints (and frames) to the largest.

    Padded joints: masks False, hop 5, edge 4, everything else 0. Clips of different length
    are padded with frames of zeros, which is only right for inspection; give equal-length
    windows for inference. All clips must carry the same ``embedder`` (if any)."""
    if not clips:
        raise Pose2RotError("pad_batch: no clips")
    J = max(c["joint_mask"].shape[0] for c in clips)
    out: dict[str, np.ndarray] = {}
    for key in clips[0]:
        if isinstance(clips[0][key], str):
            ids = {c.get(key) for c in clips}
            if len(ids) != 1:
                raise Pose2RotError(f"pad_batch: clips were embedded with different embedders: {sorted(map(str, ids))}")
            out[key] = clips[0][key]
            continue
        arrs = [np.asarray(c[key]) for c in clips]
        fill = PAD_HOP if key == "graph_hop" else PAD_EDGE if key == "graph_edge" else 0
        joint_axes = _joint_axes(key, arrs[0].ndim)
        shape = list(np.max([a.shape for a in arrs], axis=0))
        for ax in joint_axes:
            shape[ax] = J
        batch = np.full([len(arrs)] + shape, fill, dtype=arrs[0].dtype)
        for b, a in enumerate(arrs):
            batch[(b,) + tuple(slice(0, n) for n in a.shape)] = a
        out[key] = batch
    return out


def _joint_axes(key: str, ndim: int) -> tuple[int, ...]:
    if key in ("ancestor_mask", "graph_hop", "graph_edge"):
        return (0, 1)
    if key in ("position", "memory_pose", "memory_rot6d"):
        return (1,)
    return (0,) if ndim >= 1 else ()

"""Reading an armature object into the core's skeleton (bulk reads, armature space)."""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from pose2rot_core.axes import nearest_axis
from pose2rot_core.blender_space import BoneRest, local_rotations_from_pose
from pose2rot_core.rotations import nearest_rotation
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.map_proposal import EndSites
from pose2rot_core.names import rigify_generated
from pose2rot_core.skeleton import Skeleton

from . import empties

#: relative spread of the object's scale axes above which it counts as non-uniform
SCALE_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Rig:
    """An armature as the core sees it.

    skeleton: joints = bone heads in armature space, internal (root-first) order.
    rest: rest orientations and bone flags in the same order.
    bone_names: names in internal order (== skeleton.names).
    tails: [J,3] rest tails in armature space (internal order).
    leaves: names of bones without children.
    world: 4x4 armature object matrix_world; world_inv its inverse.
    """

    skeleton: Skeleton
    rest: BoneRest
    tails: np.ndarray
    leaves: tuple[str, ...]
    world: np.ndarray
    world_inv: np.ndarray

    @property
    def bone_names(self) -> tuple[str, ...]:
        return self.skeleton.names

    def leaf_ends(self) -> tuple[np.ndarray, np.ndarray]:
        """The leaf bones' tails as End Sites: (joint indices [K], rest offsets from their heads [K,3])."""
        leaves = np.array([self.bone_names.index(n) for n in self.leaves], np.int64)
        return leaves, self.tails[leaves] - self.skeleton.rest_positions[leaves]

    def end_sites(self) -> EndSites:
        """leaf_ends with the names a bone map gives them: ``<bone>_end``."""
        parents, offsets = self.leaf_ends()
        return EndSites(parents, offsets, tuple(f"{self.bone_names[j]}_end" for j in parents))


def up_axis(obj: bpy.types.Object) -> str:
    """The axis of ``obj``'s own space ("z", "-y", ... a key of AXES) nearest the world's up (+Z):
    "z" unless the object is turned (a rig exported Y-up and turned upright by its object's
    rotation has "y")."""
    turn = np.array(obj.matrix_world.to_3x3().normalized(), np.float64)
    up = turn.T @ np.array([0.0, 0.0, 1.0])
    return nearest_axis(up)[0]


def _bulk(collection, attr: str, width: int) -> np.ndarray:
    buf = np.empty(len(collection) * width, np.float32)
    collection.foreach_get(attr, buf)
    return buf.reshape(len(collection), width).astype(np.float64)


def _flags(collection, attr: str) -> np.ndarray:
    """[N] one boolean property of every item of ``collection``, read in bulk."""
    buf = np.empty(len(collection), bool)
    collection.foreach_get(attr, buf)
    return buf


def check_matrices(obj: bpy.types.Object, mw: np.ndarray) -> None:
    """Raise unless the world matrices [...,4,4] of armature ``obj`` have uniform positive scale."""
    m = mw[..., :3, :3]
    scale = np.linalg.norm(m, axis=-2)
    if scale.min() <= 0 or np.linalg.det(m).min() <= 0:
        raise Pose2RotError(f"armature '{obj.name}' is mirrored or has zero scale (a negative or zero scale on it "
                            "or on a parent); apply the scale (Ctrl+A > Scale) or make it positive")
    spread = scale.max(axis=-1) - scale.min(axis=-1)
    bad = spread > SCALE_TOLERANCE * scale.max(axis=-1)
    if bad.any():
        s = scale.reshape(-1, 3)[np.argmax((spread / scale.max(axis=-1)).reshape(-1))]  # the most uneven
        raise Pose2RotError(_uneven_scale(obj, ", ".join(f"{v:.4g}" for v in s)))


def _uneven_scale(obj: bpy.types.Object, scale: str) -> str:
    """The message for armature ``obj`` scaled unevenly in the world (``scale``: its axes' scales in
    words): its own Scale does it, or an object it hangs from (the nearest one whose own Scale is
    uneven, else its parent, through a parent inverse or constraints)."""
    if obj.parent is None or _own_scale_uneven(obj):
        return (f"armature '{obj.name}' has a non-uniform object scale ({scale}); apply it (Ctrl+A > Scale) or "
                "use the same scale on all axes")
    above = obj.parent
    while above.parent is not None and not _own_scale_uneven(above):
        above = above.parent
    if not _own_scale_uneven(above):
        above = obj.parent
    which = "its parent" if above == obj.parent else "a parent above it"
    return (f"armature '{obj.name}' is scaled unevenly ({scale}) by '{above.name}', {which} (the armature's own "
            f"Scale is the same on all axes): give '{above.name}' the same Scale on all axes, or clear the "
            "armature's parent keeping its place (Object > Parent > Clear and Keep Transformation) and apply its "
            "scale (Ctrl+A > Scale)")


def _own_scale_uneven(obj: bpy.types.Object) -> bool:
    """Whether ``obj``'s own Scale (delta scale included) differs between its axes, or is animated."""
    scale = np.abs(np.array(obj.matrix_basis.to_scale()))
    animated = {"scale", "delta_scale"}.intersection(empties.transform_curves(obj))
    return bool(animated) or bool(scale.max() - scale.min() > SCALE_TOLERANCE * scale.max())


def object_matrix(obj: bpy.types.Object) -> np.ndarray:
    """[4,4] matrix_world of ``obj`` after checking its scale is uniform and positive."""
    mw = np.array(obj.matrix_world, np.float64)
    check_matrices(obj, mw)
    return mw


def check_editable(obj: bpy.types.Object, what: str) -> None:
    """Refuse an armature object linked from a library (it cannot be ``what`` here: animated, given
    a Bone Map), naming the library and the way out."""
    if obj.library is not None or not obj.is_editable:
        where = f" from '{obj.library.filepath}'" if obj.library is not None else ""
        raise Pose2RotError(f"armature '{obj.name}' is linked{where} and cannot be {what} here; "
                            "make a library override first (Object > Library Override > Make)")


def check_not_generated(obj: bpy.types.Object, names: list[str]) -> None:
    """Refuse a rig Rigify generated (bone ``names`` with its DEF-, ORG- and MCH- bones): constraints pose
    its deform bones from its controls, so keys on its bones would not move it as solved. The way out
    names the metarig it was generated from where Rigify (enabled) still records it."""
    if not rigify_generated(names):
        return
    metarigs = [o.name for o in bpy.data.objects
                if o.type == 'ARMATURE' and getattr(o.data, "rigify_target_rig", None) == obj]
    metarig = f"the metarig '{metarigs[0]}'" if len(metarigs) == 1 else "the metarig it was generated from"
    raise Pose2RotError(
        f"'{obj.name}' is a rig Rigify generated (DEF-, ORG- and MCH- bones): constraints pose its deform bones "
        f"from its controls, so keys on its bones would not move it as solved; pick {metarig} as the armature "
        "and solve onto it, then carry its motion to the rig's FK controls (docs/RETARGETING.md, "
        "'A generated Rigify rig')")


def read_rig(obj: bpy.types.Object) -> Rig:
    """Read an armature object's rest pose and bone flags (no scene change; in Edit Mode the edit
    bones are synced to the armature first, as leaving Edit Mode would)."""
    if obj is not None and obj.instance_type == 'COLLECTION' and obj.instance_collection is not None and any(
            o.type == 'ARMATURE' for o in obj.instance_collection.all_objects):
        raise Pose2RotError(f"'{obj.name}' is an instance of the collection '{obj.instance_collection.name}', whose "
                            "armature cannot be animated through it: make a library override first (Object > "
                            "Library Override > Make), then select the armature")
    if obj is None:
        raise Pose2RotError("no armature: select an armature object (or pick one in the pose2rot panel)")
    if obj.type != 'ARMATURE':
        kind = obj.type.lower().replace("_", " ")
        raise Pose2RotError(f"'{obj.name}' is {'an' if kind[0] in 'aeiou' else 'a'} {kind}, not an armature: select "
                            "an armature object (or pick one in the pose2rot panel)")
    bones = obj.data.bones
    if len(bones) == 0:
        raise Pose2RotError(f"armature '{obj.name}' has no bones")
    check_editable(obj, "animated")
    if obj.data.is_editmode:
        obj.update_from_editmode()                # Edit Mode changes reach data.bones only on sync
    world = object_matrix(obj)
    names = bones.keys()
    check_not_generated(obj, names)
    parents = [p.name if (p := b.parent) is not None else None for b in bones]
    heads = _bulk(bones, "head_local", 3)
    tails = _bulk(bones, "tail_local", 3)
    rot = nearest_rotation(_bulk(bones, "matrix_local", 16).reshape(-1, 4, 4).transpose(0, 2, 1)[:, :3, :3])
    connected, inherit, local_loc = (_flags(bones, flag) for flag in ("use_connect", "use_inherit_rotation",
                                                                      "use_local_location"))
    roots = [n for n, p in zip(names, parents) if p is None]
    if len(roots) > 1:
        raise Pose2RotError(
            f"armature '{obj.name}' has {len(roots)} root bones ({', '.join(roots[:4])}); "
            "parent them under one root bone")
    skel = Skeleton.from_any_order(names, parents, heads)
    order = skel.caller_order
    rest = BoneRest(rest_rotations=rot[order], inherit_rotation=inherit[order],
                    local_location=local_loc[order], connected=connected[order])
    has_children = set(parents)
    leaves = tuple(n for n in names if n not in has_children)
    return Rig(skeleton=skel, rest=rest, tails=tails[order], leaves=leaves,
               world=world, world_inv=np.linalg.inv(world))


def current_local_rotations(obj: bpy.types.Object, rig: Rig) -> np.ndarray:
    """The armature's current pose as core local rotations [J,3,3] (internal order)."""
    pbones = obj.pose.bones
    pose = _bulk(pbones, "matrix", 16).reshape(-1, 4, 4).transpose(0, 2, 1)[:, :3, :3]
    row = {pb.name: i for i, pb in enumerate(pbones)}
    pose = nearest_rotation(pose[[row[n] for n in rig.bone_names]])
    return local_rotations_from_pose(pose, rig.rest.rest_rotations, rig.skeleton.parents)


def sample_pose(obj: bpy.types.Object, frames) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """World heads [T,N,3], tails [T,N,3] and basis rotations [T,N,3,3] of every pose bone (in
    ``obj.pose.bones`` order) at each of ``frames``, read in bulk per frame."""
    scene = bpy.context.scene
    n = len(obj.pose.bones)
    mw = np.array(obj.matrix_world, np.float64)
    v3, m16 = np.empty(3 * n, np.float32), np.empty(16 * n, np.float32)
    heads, tails = np.empty((len(frames), n, 3)), np.empty((len(frames), n, 3))
    rots = np.empty((len(frames), n, 3, 3))
    for t, f in enumerate(frames):
        scene.frame_set(int(f))
        obj.pose.bones.foreach_get("head", v3)
        heads[t] = v3.reshape(n, 3) @ mw[:3, :3].T + mw[:3, 3]
        obj.pose.bones.foreach_get("tail", v3)
        tails[t] = v3.reshape(n, 3) @ mw[:3, :3].T + mw[:3, 3]
        obj.pose.bones.foreach_get("matrix_basis", m16)
        rots[t] = m16.reshape(n, 4, 4).transpose(0, 2, 1)[:, :3, :3]
    return heads, tails, rots

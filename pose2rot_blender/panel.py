"""The pose2rot tab in the 3D view's sidebar (N-panel)."""
from __future__ import annotations

import bpy
import numpy as np

from pose2rot_core.errors import Pose2RotError
from pose2rot_core.names import match_names
from pose2rot_core.wording import counted

from . import pipeline, rig as rig_io
from .importing import TIPS_KEY

_MATCH_CACHE: dict = {}


def picked_armature(context):
    """The armature picked in the panel while it is in the scene (a deleted one lingers in the
    setting), else None."""
    picked = context.scene.pose2rot.armature
    return picked if picked is not None and context.scene in picked.users_scene else None


def panel_armature(context):
    """The panel's armature (picked_armature), else the active object when it is an armature, else None."""
    obj = picked_armature(context) or context.active_object
    return obj if obj is not None and obj.type == 'ARMATURE' else None


def map_owner(scene: bpy.types.Scene, obj: bpy.types.Object | None) -> bpy.types.ID | None:
    """Where the Bone Map that drives the armature object ``obj`` lives: the armature itself once it
    has rows; else the scene where a file saved by an older version keeps one there (it drove every
    armature, and still drives those without a map of their own); else the armature (None without
    one). What the panel shows, the solve reads and Save Map and Clear Map take."""
    if obj is None or len(obj.pose2rot_map) or not len(scene.pose2rot_map):
        return obj
    return scene


def filled_rows(owner: bpy.types.ID) -> list[tuple[str, str]]:
    """(bone, source) of the rows of ``owner``'s Bone Map table that have both (a row without
    either is no row of the map), stripped."""
    return [(e.bone.strip(), e.source.strip()) for e in owner.pose2rot_map if e.bone.strip() and e.source.strip()]


def map_rows(scene, arm) -> int:
    """How many filled rows the Bone Map that drives the armature object ``arm`` has (see
    map_owner; 0: its bones match empties by name)."""
    return len(filled_rows(map_owner(scene, arm)))


def status_line(scene, arm, collection) -> tuple[str, str]:
    """(text, icon) of the panel's line on how the armature's bones find their empties: through its
    Bone Map when that has rows (the solve then reads it, not the names), else by name."""
    rows = map_rows(scene, arm)
    if rows:
        return f"Bone Map in use: {counted(rows, 'row')} (Clear Map to match by name)", 'GROUP_BONE'
    m = _match_summary(arm, collection)
    return (f"Matched {len(m.bone_to_track)} of {len(arm.data.bones)} bones"
            + (f", {counted(len(m.end_to_track), 'tip')}" if m.end_to_track else ""),
            'CHECKMARK' if m.bone_to_track else 'ERROR')


def _match_summary(arm, collection):
    """How the armature's bones match the empties of ``collection`` as the solve matches them
    (pipeline.solve_match: tip empties included, a joint's further End Sites counted as used),
    cached while what it reads stays the same (names, the tips Import Tracks kept, the rest bones and
    the armature's turn and scale); one _readable_rig cannot read is matched by name, its leaf
    bones' tips only."""
    objects = [o for o in collection.all_objects if o.type == 'EMPTY']
    kept = collection.get(TIPS_KEY)
    key = (tuple(b.name for b in arm.data.bones), tuple(o.name for o in objects),
           tuple(sorted((k, tuple(v)) for k, v in kept.to_dict().items())) if kept else (), _rest_key(arm))
    if key not in _MATCH_CACHE:
        _MATCH_CACHE.clear()
        rig = _readable_rig(arm)
        _MATCH_CACHE[key] = (match_names(key[0], key[1], [b.name for b in arm.data.bones if not b.children])
                             if rig is None else pipeline.solve_match(rig, objects, collection))
    return _MATCH_CACHE[key]


def _readable_rig(arm):
    """``arm``'s rig as the solve reads it, or None where it cannot be read from a panel: in Edit
    Mode (reading syncs the edited bones, which a panel's drawing must not) or where the solve refuses
    the armature (linked, several root bones)."""
    if arm.data.is_editmode:
        return None
    try:
        return rig_io.read_rig(arm)
    except Pose2RotError:
        return None


def _rest_key(arm) -> bytes:
    """The rest heads and tails of ``arm``'s bones and its world turn and scale, as bytes (what the
    tips' match reads of the armature's shape)."""
    bones = arm.data.bones
    ends = np.empty(6 * len(bones), np.float32)
    bones.foreach_get("head_local", ends[:3 * len(bones)])
    bones.foreach_get("tail_local", ends[3 * len(bones):])
    return ends.tobytes() + np.array(arm.matrix_world.to_3x3(), np.float32).tobytes()


def _names_line(layout, label: str, names: list[str], icon: str) -> None:
    if names:
        text = ", ".join(names[:6]) + (f" … (+{len(names) - 6})" if len(names) > 6 else "")
        layout.label(text=f"{label}: {text}", icon=icon)


class SidebarPanel:
    """Where pose2rot's panels are: the pose2rot tab of the 3D view's sidebar."""

    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "pose2rot"


class POSE2ROT_PT_main(SidebarPanel, bpy.types.Panel):
    bl_label = "pose2rot"
    bl_idname = "POSE2ROT_PT_main"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.pose2rot
        col = layout.column()
        col.prop(settings, "armature")
        row = col.row(align=True)
        row.prop(settings, "tracks")
        row.operator("pose2rot.import_tracks", text="", icon='IMPORT')

        arm = panel_armature(context)
        box = col.box()
        if arm is None:
            box.label(text="Select or pick an armature", icon='INFO')
        elif settings.tracks is None:
            box.label(text="Pick a collection of empties, or import tracks", icon='INFO')
        else:
            text, icon = status_line(context.scene, arm, settings.tracks)
            box.label(text=text, icon=icon)
            if map_rows(context.scene, arm) == 0:
                m = _match_summary(arm, settings.tracks)
                _names_line(box, "No track", m.unmatched_bones, 'BONE_DATA')
                _names_line(box, "Unused", m.unmatched_tracks, 'EMPTY_DATA')
                _names_line(box, "Ambiguous", m.ambiguous, 'ERROR')

        col.prop(settings, "solver")
        col.prop(settings, "reference")
        if settings.reference == 'CURRENT_POSE':
            col.prop(settings, "reference_frame")
        row = col.row(align=True)
        row.prop(settings, "smooth")
        if settings.smooth == 'WIDTH':
            row.prop(settings, "smooth_width")
        col.prop(settings, "bone_lengths")
        col.prop(settings, "max_position_error")
        col.prop(settings, "use_scene_range")
        if not settings.use_scene_range:
            row = col.row(align=True)
            row.prop(settings, "frame_start")
            row.prop(settings, "frame_end")

        col.operator("pose2rot.solve_rotations", icon='ARMATURE_DATA')      # reads these settings itself
        restore = col.operator("pose2rot.restore_action", icon='LOOP_BACK')
        restore.armature = arm.name if arm is not None else ""


CLASSES = (POSE2ROT_PT_main,)

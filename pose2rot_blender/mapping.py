"""The bone map in Blender: a table on each armature object (rig bone <-> empty or virtual point).

The table is filled from the core's automatic map (rig-family presets, names and geometry), edited
in the panel, saved and loaded as MAP.json (the command line's file). When it has rows, Solve
Rotations drives the bones through it, so the empties may be named anything (MediaPipe landmarks,
another skeleton's joints): the core fills the joints in between and scales the root
(pose2rot_core.retarget). A virtual point is written in the Source field as its JSON, e.g.
``{"mean": ["left_hip", "right_hip"]}``. Each armature keeps its own map, so a scene may hold several
characters, each driven by its own empties; a map that files of older versions keep on the scene
still drives every armature without one of its own (map_owner).
"""
from __future__ import annotations

import json

import bpy
import numpy as np
from bpy.props import CollectionProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from pose2rot_core.automap import NOT_STANDING
from pose2rot_core.bonemap import BoneMap, load_map, parse_map, renamed_source, save_map, unplaced_root
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.names import numbered_copies
from pose2rot_core.wording import counted

from . import rig as rig_io
from .importing import LAYOUT_KEY, TREE_KEY
from .pipeline import track_objects
from .panel import SidebarPanel, filled_rows, map_owner, map_rows, panel_armature
from .previous import OVERRIDABLE  # a library override of a linked armature keeps its own map too
from .reporting import reports_errors


class POSE2ROT_PG_map_entry(bpy.types.PropertyGroup):
    bone: StringProperty(name="Bone", description="Bone of the armature", override=OVERRIDABLE)
    source: StringProperty(name="Source", description="Empty that drives the bone's head, or a virtual point "
                                                      "as JSON: {\"mean\": [\"a\", \"b\"]} or {\"lerp\": [\"a\", \"b\", 0.5]}",
                           override=OVERRIDABLE)


# ----------------------------------------------------------------------------- table <-> map
def table_map(obj: bpy.types.ID | None) -> BoneMap | None:
    """The map table of ``obj`` (an armature object, or the scene: see map_owner) as a core BoneMap
    (None when it has no rows, or there is no object: the solve names what is missing)."""
    if obj is None:
        return None
    rows = filled_rows(obj)
    if not rows:
        return None
    _check_one_row_each(rows)
    bones = {}
    for bone, source in rows:
        if source.startswith(("{", "[")):  # JSON: a virtual point (a list is refused with the forms that work)
            try:
                bones[bone] = json.loads(source)
            except json.JSONDecodeError:
                raise Pose2RotError(f"bone map: the source of '{bone}' is not valid JSON: {source[:60]}") from None
        else:
            bones[bone] = source
    return parse_map(dict(_map_extra(obj), bones=bones), "bone map")


def _check_one_row_each(rows: list[tuple[str, str]]) -> None:
    """Raise for a bone that has several of the (bone, source) ``rows``, naming their sources and how the
    panel removes a row."""
    sources: dict[str, list[str]] = {}
    for bone, source in rows:
        sources.setdefault(bone, []).append(source)
    for bone, its in sources.items():
        if len(its) > 1:
            others = "the other" if len(its) == 2 else "each of the others"
            raise Pose2RotError(f"bone map: '{bone}' has {len(its)} rows (sources {', '.join(repr(s) for s in its)}); "
                                f"keep one: select {others} in the Bone Map and press − beside the list (Remove Row)")


def in_use(error: Pose2RotError, scene: bpy.types.Scene, owner: bpy.types.ID | None,
           obj: bpy.types.Object | None) -> Pose2RotError:
    """``error`` of a solve of the armature object ``obj`` with where its Bone Map lives (``owner``: see
    map_owner) and what the panel's buttons do, when it is about that map while the map has rows (a
    core map check's 'map: ...', or the table's 'bone map: ...'); else ``error`` itself."""
    if owner is None or not str(error).startswith(("map: ", "bone map: ")) or not filled_rows(owner):
        return error
    whose = "this file keeps on the scene" if owner == scene else f"of '{obj.name}'"
    return Pose2RotError(f"{error} (the Bone Map {whose} is in use: Automatic Map remakes it for these empties, "
                         "Clear Map matches bones to empties by name)")


def _map_extra(obj: bpy.types.ID) -> dict:
    """The map's keys besides its bones (named virtual points, ...) kept with the table; a value
    that is no JSON object (a damaged file, a script's slip) is an error naming where it lives."""
    text = obj.pose2rot_map_extra
    try:
        extra = json.loads(text) if text else {}
    except json.JSONDecodeError:
        extra = None
    if not isinstance(extra, dict):
        raise Pose2RotError(f"bone map: the saved map settings of '{obj.name}' (pose2rot_map_extra) are not a JSON "
                            f"object: {text[:60]}; Clear Map, or Load Map from a file")
    return extra


def set_table(obj: bpy.types.Object, bone_map: BoneMap) -> None:
    """Replace the map table of the armature object ``obj`` with ``bone_map`` (named virtual points
    and other keys kept)."""
    rows = _rows(obj, len(bone_map.bones))
    for entry, (bone, source) in zip(rows, bone_map.bones.items()):
        entry.bone, entry.source = bone, source if isinstance(source, str) else json.dumps(source)
    extra = dict(bone_map.extra, **({"points": bone_map.points} if bone_map.points else {}))
    obj.pose2rot_map_extra = json.dumps(extra) if extra else ""
    obj.pose2rot_map_index = 0


def add_row(owner: bpy.types.ID, armature: bpy.types.Object) -> None:
    """Add a row to the map table of ``owner`` (see map_owner) and select it: for the armature's active
    bone (the one picked in Pose Mode) when no row has it yet, else without a bone; its Source blank."""
    table = owner.pose2rot_map
    active = armature.data.bones.active
    taken = {e.bone.strip() for e in table}
    entry = table.add()
    entry.bone = active.name if active is not None and active.name not in taken else ""
    owner.pose2rot_map_index = len(table) - 1


def remove_row(owner: bpy.types.ID, index: int) -> None:
    """Remove row ``index`` of the map table of ``owner`` and select the one now in its place (else
    the last). A row a library override got from its library cannot be removed: it is blanked (a row
    without bone or source is no row of the map)."""
    table = owner.pose2rot_map
    try:
        table.remove(index)
    except TypeError:                                  # Blender: "not supported for this collection"
        table[index].bone = table[index].source = ""
    owner.pose2rot_map_index = max(0, min(index, len(table) - 1))


def clear_table(owner: bpy.types.ID) -> None:
    """Empty the map table of ``owner`` (an armature object, or the scene: see map_owner)."""
    _rows(owner, 0)
    owner.pose2rot_map_extra = ""


def _rows(owner: bpy.types.ID, n: int):
    """The map table of ``owner`` with room for ``n`` rows and no other filled row: emptied and
    grown to ``n``; rows a library override got from its library cannot be removed, so those past
    ``n`` are blanked (a row without bone or source is no row of the map)."""
    table = owner.pose2rot_map
    table.clear()
    while len(table) < n:
        table.add()
    for entry in list(table)[n:]:
        entry.bone = entry.source = ""
    return table


def map_armature(context: bpy.types.Context) -> bpy.types.Object:
    """The panel's armature, whose Bone Map the map operators edit; an error naming what to do when
    there is none, or it is linked from a library."""
    obj = panel_armature(context)
    if obj is None:
        raise Pose2RotError("no armature: select an armature object (or pick one in the pose2rot panel); "
                            "each armature keeps its own Bone Map")
    rig_io.check_editable(obj, "given a Bone Map")
    return obj


def propose(obj: bpy.types.Object | None, collection: bpy.types.Collection | None):
    """The core's automatic map (a Proposal) of the armature at rest onto the collection's empties:
    their layout (from Import Tracks) names them, else their names, read as a tree where Import
    Tracks kept one (a BVH's joints: its spine joints are told apart by where they sit, as the
    command line's map of a BVH does; joints at one place, its zero-length bones, where the empties
    are now, drive no two bones the armature holds apart), else as loose points."""
    from pose2rot_core.layouts import get_layout
    from pose2rot_core.map_proposal import propose as propose_map

    rig = rig_io.read_rig(obj)
    names = tuple(o.name for o in track_objects(collection))
    layout_name = collection.get(LAYOUT_KEY, "")
    layout = get_layout(layout_name) if layout_name else None
    suffixed = numbered_copies(names, layout.points) if layout is not None else {}
    plain = {empty: point for point, empty in suffixed.items()}
    tree = _point_parents(collection, names)
    where = None if tree is None else np.array([[o.matrix_world.translation[:] for o in track_objects(collection)]])
    proposal = propose_map(rig.skeleton, rig_io.up_axis(obj), tuple(plain.get(n, n) for n in names), layout,
                           tree, rig.end_sites(), point_positions=where)
    return _renamed(proposal, suffixed) if suffixed else proposal


def proposal_warnings(obj: bpy.types.Object, proposal) -> list[str]:
    """What Automatic Map warns of: its doubtful rows (a leg that does not stand in the rest pose,
    which it reads), and a map that a solve would refuse (nothing places the body, or it drives no
    bone but the root)."""
    out = [f"check {bone}: {why}" + (" (the armature's rest pose, in Edit Mode)" if why == NOT_STANDING else "")
           for bone, why in proposal.doubtful.items()]
    skeleton = rig_io.read_rig(obj).skeleton
    stops = unplaced_root(skeleton.names, skeleton.body_placers, proposal.bone_map)
    root = skeleton.names[0]
    if not stops and len(skeleton.names) > 1 and set(proposal.bone_map.bones) == {root}:
        stops = (f"the map puts only the rig's root '{root}' on a point, so a solve with it stops (no bone is "
                 "driven): these empties may track another kind of body; map the bones below the root by hand")
    return out + ([stops.replace("by hand", "by hand (a row of the Bone Map)")] if stops else [])


def counted_rows(obj: bpy.types.Object, bone_map: BoneMap) -> str:
    """The rows of ``bone_map`` in words, as the armature object ``obj`` has them: bones, leaf bones'
    tails ('<bone>_end', a BVH's End Sites) and rows naming neither apart ('22 bones and 2 bone tips')."""
    bones = obj.data.bones
    tails = {f"{b.name}_end" for b in bones if not b.children}
    rows = list(bone_map.bones)
    n_bones = sum(row in bones for row in rows)
    n_tips = sum(row in tails and row not in bones for row in rows)
    other = len(rows) - n_bones - n_tips
    return " and ".join([counted(n_bones, "bone")] + ([counted(n_tips, "bone tip")] if n_tips else [])
                        + ([counted(other, "row naming no bone", "rows naming no bone")] if other else []))


def _foreign_rows(obj: bpy.types.Object, bone_map: BoneMap) -> str | None:
    """Load Map's warning where rows of ``bone_map`` name no bone of the armature object ``obj`` nor a
    leaf bone's tail (``<bone>_end``): a map made for another rig, or bones renamed since; a solve with
    it stops at the first of them. None where every row names one."""
    bones = obj.data.bones
    known = set(bones.keys()) | {f"{b.name}_end" for b in bones if not b.children}
    foreign = [bone for bone in bone_map.bones if bone not in known]
    if not foreign:
        return None
    shown = ", ".join(f"'{b}'" for b in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
    return (f"{len(foreign)} of the map's {len(bone_map.bones)} rows name no bone of '{obj.name}' ({shown}), so "
            "Solve Rotations refuses the map: pick the armature it was made for, fix the Bone field of those "
            "rows, or press Automatic Map")


def _renamed(proposal, empty_of: dict[str, str]):
    """``proposal`` with the layout's point names in its sources and unused points replaced by the
    empties that carry them (see names.numbered_copies)."""
    from dataclasses import replace

    bone_map = proposal.bone_map
    renamed = BoneMap({b: renamed_source(s, empty_of) for b, s in bone_map.bones.items()},
                      {v: renamed_source(s, empty_of) for v, s in bone_map.points.items()}, bone_map.extra)
    return replace(proposal, bone_map=renamed, unused=[empty_of.get(n, n) for n in proposal.unused])


def _point_parents(collection: bpy.types.Collection, names: tuple[str, ...]) -> list[int] | None:
    """The parent index of each of ``names`` in the tree Import Tracks kept on ``collection`` (-1:
    none, or its empty is gone), or None when it kept none."""
    flat = list(collection.get(TREE_KEY, []))
    if not flat:
        return None
    parent = dict(zip(flat[::2], flat[1::2]))
    index = {n: i for i, n in enumerate(names)}
    return [index.get(parent.get(n, ""), -1) for n in names]


# ----------------------------------------------------------------------------- operators
class POSE2ROT_OT_map_auto(bpy.types.Operator):
    """Fill the bone map from the armature's bone names and the empties (rig presets: Mixamo, Rigify, Unreal,
    Character Creator, SMPL, CMU; virtual points where the empties have none)"""

    bl_idname = "pose2rot.map_auto"
    bl_label = "Automatic Map"
    bl_options = {'REGISTER', 'UNDO'}

    @reports_errors
    def execute(self, context):
        obj = map_armature(context)
        proposal = propose(obj, context.scene.pose2rot.tracks)
        if not proposal.bone_map.bones:
            unused, more = proposal.unused, "…" if len(proposal.unused) > 4 else ""
            raise Pose2RotError(
                f"no bone of '{obj.name}' matches an empty of "
                f"'{context.scene.pose2rot.tracks.name}' (empties {', '.join(unused[:4])}{more}); "
                "the map is left as it was: check the armature and the tracks, or write MAP.json by hand and Load Map "
                "(docs/RETARGETING.md)")
        set_table(obj, proposal.bone_map)
        for line in proposal_warnings(obj, proposal):
            self.report({'WARNING'}, line)
        mapped = counted_rows(obj, proposal.bone_map)
        kept = counted(len(proposal.kept), "keeps its pose", "keep their pose")
        self.report({'INFO'}, f"{mapped} mapped ({proposal.family} rig), {len(proposal.between)} solved between them, "
                              f"{kept}")
        return {'FINISHED'}


class POSE2ROT_OT_map_save(bpy.types.Operator, ExportHelper):
    """Save the bone map as MAP.json (the file pose2rot's command line reads)"""

    bl_idname = "pose2rot.map_save"
    bl_label = "Save Map"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={'HIDDEN'})

    @reports_errors
    def execute(self, context):
        obj = map_armature(context)
        bone_map = table_map(map_owner(context.scene, obj))
        if bone_map is None:
            raise Pose2RotError(f"the Bone Map of '{obj.name}' is empty: fill it first (Automatic Map)")
        save_map(bpy.path.abspath(self.filepath), bone_map)
        self.report({'INFO'}, f"saved {counted_rows(obj, bone_map)} to {self.filepath}")
        return {'FINISHED'}


class POSE2ROT_OT_map_load(bpy.types.Operator, ImportHelper):
    """Load a bone map (MAP.json) into the table"""

    bl_idname = "pose2rot.map_load"
    bl_label = "Load Map"
    bl_options = {'REGISTER', 'UNDO'}
    filter_glob: StringProperty(default="*.json", options={'HIDDEN'})

    @reports_errors
    def execute(self, context):
        obj = map_armature(context)
        bone_map = load_map(bpy.path.abspath(self.filepath))
        set_table(obj, bone_map)
        self.report({'INFO'}, f"loaded {counted_rows(obj, bone_map)} into the Bone Map of '{obj.name}'")
        foreign = _foreign_rows(obj, bone_map)
        if foreign:
            self.report({'WARNING'}, foreign)
        return {'FINISHED'}


class POSE2ROT_OT_map_clear(bpy.types.Operator):
    """Empty the bone map (Solve Rotations then matches empties to bones by name)"""

    bl_idname = "pose2rot.map_clear"
    bl_label = "Clear Map"
    bl_options = {'REGISTER', 'UNDO'}

    @reports_errors
    def execute(self, context):
        owner = map_owner(context.scene, map_armature(context))
        clear_table(owner)
        if owner == context.scene:
            self.report({'INFO'}, "cleared the Bone Map this file kept on the scene (an older version's): it drove "
                                  "every armature without a map of its own")
        return {'FINISHED'}


class POSE2ROT_OT_map_add_row(bpy.types.Operator):
    """Add a row to the bone map for a bone it leaves out: the armature's active bone when it has no row yet
    (else double-click the row's bone to type one); type the empty that drives it in its source"""

    bl_idname = "pose2rot.map_add_row"
    bl_label = "Add Row"
    bl_options = {'REGISTER', 'UNDO'}

    @reports_errors
    def execute(self, context):
        obj = map_armature(context)
        add_row(map_owner(context.scene, obj), obj)
        return {'FINISHED'}


class POSE2ROT_OT_map_remove_row(bpy.types.Operator):
    """Remove the selected row from the bone map (its bone is then solved between the mapped ones, or keeps
    its pose)"""

    bl_idname = "pose2rot.map_remove_row"
    bl_label = "Remove Row"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context):
        owner = map_owner(context.scene, panel_armature(context))
        if owner is None or not 0 <= owner.pose2rot_map_index < len(owner.pose2rot_map):
            cls.poll_message_set("No row of the Bone Map is selected")
            return False
        return True

    @reports_errors
    def execute(self, context):
        owner = map_owner(context.scene, map_armature(context))
        remove_row(owner, owner.pose2rot_map_index)
        return {'FINISHED'}


class POSE2ROT_UL_map(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_propname, index=0):
        row = layout.row(align=True)
        row.prop(item, "bone", text="", emboss=False, icon='BONE_DATA')
        row.prop(item, "source", text="", icon='EMPTY_DATA' if not item.source.startswith("{") else 'DOT')


class POSE2ROT_PT_map(SidebarPanel, bpy.types.Panel):
    bl_label = "Bone Map"
    bl_idname = "POSE2ROT_PT_map"
    bl_parent_id = "POSE2ROT_PT_main"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context):
        layout = self.layout
        obj = panel_armature(context)
        if obj is None:
            layout.label(text="Select or pick an armature: each keeps its own map", icon='INFO')
            return
        owner = map_owner(context.scene, obj)
        rows = map_rows(context.scene, obj)
        if owner == context.scene:
            layout.label(text="The scene's map (older version): it drives armatures without their own", icon='INFO')
        layout.label(text=f"{counted(rows, 'row')}: Solve Rotations uses this map" if rows else
                     "Empty: empties are matched to bones by name", icon='INFO')
        row = layout.row()
        row.template_list("POSE2ROT_UL_map", "", owner, "pose2rot_map", owner, "pose2rot_map_index", rows=6)
        side = row.column(align=True)                  # as Blender's lists have them: add, remove, then the rest
        side.operator("pose2rot.map_add_row", text="", icon='ADD')
        side.operator("pose2rot.map_remove_row", text="", icon='REMOVE')
        side.separator()
        side.operator("pose2rot.map_clear", text="", icon='X')
        layout.operator("pose2rot.map_auto", icon='AUTO')
        row = layout.row(align=True)
        row.operator("pose2rot.map_load", icon='FILE_FOLDER')
        row.operator("pose2rot.map_save", icon='FILE_TICK')


CLASSES = (POSE2ROT_PG_map_entry, POSE2ROT_OT_map_auto, POSE2ROT_OT_map_save, POSE2ROT_OT_map_load,
           POSE2ROT_OT_map_clear, POSE2ROT_OT_map_add_row, POSE2ROT_OT_map_remove_row, POSE2ROT_UL_map, POSE2ROT_PT_map)


def register_properties() -> None:
    for owner in (bpy.types.Object, bpy.types.Scene):  # the scene's: older files' map (see map_owner)
        owner.pose2rot_map = CollectionProperty(type=POSE2ROT_PG_map_entry,
                                                override={'LIBRARY_OVERRIDABLE', 'USE_INSERTION', 'NO_PROPERTY_NAME'})
        owner.pose2rot_map_index = IntProperty(default=0, override=OVERRIDABLE)
        owner.pose2rot_map_extra = StringProperty(default="", options={'HIDDEN'}, override=OVERRIDABLE)


def unregister_properties() -> None:
    for owner in (bpy.types.Object, bpy.types.Scene):
        del owner.pose2rot_map_extra
        del owner.pose2rot_map_index
        del owner.pose2rot_map

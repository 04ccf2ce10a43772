"""Operators: Solve Rotations, Restore Previous Action, Import Tracks."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from pose2rot_core.errors import Pose2RotError
from pose2rot_core.tracks_io import FILE_SUFFIXES
from pose2rot_core.wording import label

from . import importing, mapping, pipeline, previous
from .panel import picked_armature
from .prefs import learned_settings
from .reporting import reports_errors
from .props import (SOLVE_PROPERTIES, frame_range, preview_note, solve_annotations, solve_options,  # noqa: F401
                    solve_property)


class _Progress:
    """Core progress callback -> window-manager progress and status bar (quiet in background mode)."""

    def __init__(self, context: bpy.types.Context):
        self.wm = context.window_manager
        self.workspace = getattr(context, "workspace", None)
        self.ui = not bpy.app.background and self.wm is not None
        if self.ui:
            self.wm.progress_begin(0, 100)

    def __call__(self, fraction: float, message: str) -> None:
        if not self.ui:
            return
        self.wm.progress_update(int(100 * max(0.0, min(1.0, fraction))))
        if self.workspace is not None:
            self.workspace.status_text_set(f"pose2rot: {message}")

    def end(self) -> None:
        if self.ui:
            self.wm.progress_end()
            if self.workspace is not None:
                self.workspace.status_text_set(None)


def target_armature(context: bpy.types.Context, name: str = "") -> bpy.types.Object | None:
    """The named object, else the panel's armature, else the active object."""
    if name:
        obj = bpy.data.objects.get(name)
        if obj is None:
            raise Pose2RotError(f"no object named '{name}' (armature={name!r}): give the armature's object name")
        return obj
    return picked_armature(context) or context.active_object


def check_in_scene(obj: bpy.types.Object | None, scene: bpy.types.Scene) -> None:
    """Refuse to solve an armature that is not in ``scene`` (one named by the operator's armature: the
    panel offers the scene's armatures only), saying where it is and what to do."""
    if obj is None or scene in obj.users_scene:
        return
    scenes = sorted(s.name for s in obj.users_scene)
    where = f"it is in {', '.join(repr(n) for n in scenes[:3])}{' …' if len(scenes) > 3 else ''}" if scenes else (
        "it is in no scene")
    raise Pose2RotError(f"the armature '{obj.name}' is not in the scene '{scene.name}' ({where}), where the solve "
                        "would read and key it (the panel offers this scene's armatures only): switch to a scene it is "
                        "in and solve there, or link it into this one (Object > Link/Transfer Data > Link Objects to "
                        "Scene)")


class POSE2ROT_OT_solve_rotations(bpy.types.Operator):
    """Key the armature's bones so their heads follow the empties of the tracks collection"""

    bl_idname = "pose2rot.solve_rotations"
    bl_label = "Solve Rotations"
    bl_options = {'REGISTER', 'UNDO'}

    # the solve settings (solver, reference, smoothing, bone lengths, ...) come from props.SOLVE_PROPERTIES;
    # every property that is not given takes the panel's value (scene.pose2rot), never a remembered one
    armature: StringProperty(name="Armature", default="", options={'SKIP_SAVE'},
                             description="Armature object (empty: the panel's armature, else the active object)")
    tracks_collection: StringProperty(name="Tracks", default="", options={'SKIP_SAVE'},
                                      description="Collection of empties (empty: the one picked in the panel)")
    frame_start: IntProperty(name="Start", default=1, options={'SKIP_SAVE'},
                             description="First frame (default: the panel's range)")
    frame_end: IntProperty(name="End", default=250, options={'SKIP_SAVE'},
                           description="Last frame (default: the panel's range)")

    def _given(self, name: str, panel_value):
        return getattr(self, name) if self.properties.is_property_set(name) else panel_value

    def _span(self, scene: bpy.types.Scene, values: dict) -> pipeline.SceneRange:
        start, end = frame_range(scene.pose2rot, scene)
        return pipeline.SceneRange(frame_start=self._given("frame_start", start), frame_end=self._given("frame_end", end),
                                   reference_frame=values["reference_frame"])

    @reports_errors
    def execute(self, context):
        scene = context.scene
        obj = target_armature(context, self.armature)
        check_in_scene(obj, scene)
        if self.tracks_collection:
            collection = bpy.data.collections.get(self.tracks_collection)
            if collection is None:
                raise Pose2RotError(f"no collection named '{self.tracks_collection}'")
        else:
            collection = scene.pose2rot.tracks
        values = {name: self._given(name, getattr(scene.pose2rot, name)) for name in SOLVE_PROPERTIES}
        span = self._span(scene, values)
        given = any(self.properties.is_property_set(name) for name in ("frame_start", "frame_end"))
        note = "" if given else preview_note(scene.pose2rot, scene)
        for name, value in dict(values, frame_start=span.frame_start, frame_end=span.frame_end).items():
            setattr(self, name, value)                 # the redo panel shows (and reuses) what was solved
        progress, owner = _Progress(context), mapping.map_owner(scene, obj)
        try:
            learned = learned_settings(context)
            options = solve_options(values, learned)
            bone_map = mapping.table_map(owner)
            plan, seconds = pipeline.solve_armature(scene, obj, collection, span, options, learned, progress, bone_map)
        except Pose2RotError as e:
            raise mapping.in_use(e, scene, owner, obj) from None
        finally:
            progress.end()
        for line in ([note] if note else []) + plan.report:
            self.report({'INFO'}, line)
        self.report({'INFO'}, (
            f"pose2rot: {len(plan.bone_names)} bones x {len(plan.frames)} frames ({options.solver}, "
            f"{plan.matched} tracks) in {seconds:.2f} s; bone heads{' as keyed' if plan.overridden else ''} against "
            f"{plan.against}: mean {plan.mean_error_pct:.3g} % / max {plan.max_error_pct:.3g} % of height"
            + (" (the pose shown differs: see the warnings)" if plan.overridden else "")
            + ("" if options.max_position_error is None else f" (allowed: {options.max_position_error:g} %)")))
        for line in plan.warnings:                     # last, so that the status bar shows a warning
            self.report({'WARNING'}, line)
        return {'FINISHED'}


POSE2ROT_OT_solve_rotations.__annotations__.update(solve_annotations(skip_save=True))


class POSE2ROT_OT_restore_action(bpy.types.Operator):
    """Give the armature back the action it had before pose2rot solved it (the solved one is kept)"""

    bl_idname = "pose2rot.restore_action"
    bl_label = "Restore Previous Action"
    bl_options = {'REGISTER', 'UNDO'}

    armature: StringProperty(name="Armature", default="")

    @reports_errors
    def execute(self, context):
        obj = target_armature(context, self.armature)
        if obj is None or obj.type != 'ARMATURE':
            raise Pose2RotError("no armature: select the armature whose action should be restored")
        name, replaced = previous.restore(obj)
        pipeline.show_current_frame(context.scene)
        kept = ""
        if replaced is not None:
            what = "the solved action" if replaced.get(previous.MADE_BY_KEY) else "the action"
            how = "fake user" if replaced.use_fake_user else "used elsewhere"
            kept = f"; {what} '{replaced.name}' is kept ({how})"
        self.report({'INFO'}, (f"restored action '{name}'" if name else "the armature had no action before: it has none "
                               "now") + kept)
        return {'FINISHED'}


class POSE2ROT_OT_import_tracks(bpy.types.Operator, ImportHelper):
    """Import point tracks (.npz, .csv/.tsv, .bvh, .npy with a layout, FreeMoCap output) as keyed empties"""

    bl_idname = "pose2rot.import_tracks"
    bl_label = "Import Tracks"
    bl_options = {'REGISTER', 'UNDO'}

    filter_glob: StringProperty(default=";".join(f"*{s}" for s in FILE_SUFFIXES), options={'HIDDEN'})
    layout: EnumProperty(name=label("layout", "blender"), items=importing.LAYOUT_ITEMS, default='NONE',
                         description="What the points of a .npy file are (FreeMoCap: pick "
                                     "output_data/mediapipe_body_3d_xyz.npy)")
    collection_name: StringProperty(name="Collection", default="", description="Name of the new collection")
    frame_start: IntProperty(name="Start frame", default=1)
    set_scene: BoolProperty(name="Set scene range and fps", default=True)
    csv_up_axis: EnumProperty(name="CSV up axis", items=[('auto', "Auto", "Found from the hips and shoulders "
                                                           "(Y-up where the file has none)"),
                                                           ('y', "Y", "Y-up (BVH style)"), ('z', "Z", "Z-up")],
                              default='auto')
    global_scale: FloatProperty(name="Scale", default=1.0, min=1e-6, soft_min=0.001, soft_max=1000.0,
                                description="Multiply the file's positions by this factor (0.01: a file in "
                                            "centimetres for a rig in metres)")

    @reports_errors
    def execute(self, context):
        before = importing.scene_timing(context.scene)
        col = importing.import_tracks(context, self.filepath, self.collection_name, self.frame_start,
                                      self.set_scene, self.csv_up_axis, self.layout, self.global_scale)
        skipped = list(col.get(importing.NO_DATA_KEY, []))
        note = (f"; no data in any frame for {', '.join(repr(n) for n in skipped[:5])}"
                f"{' and more' if len(skipped) > 5 else ''}: no empty (their bones keep the reference rotation)"
                if skipped else "")
        timing, warn = importing.scene_change_note(before, context.scene, self.frame_start if self.set_scene else None,
                                                   col.get(importing.FPS_KEY, 0.0))
        self.report({'WARNING'} if skipped or warn else {'INFO'},
                    f"imported {len(col.objects)} tracks into '{col.name}'"
                    f"{'' if self.global_scale == 1.0 else f' (positions ×{self.global_scale:g})'}{note}{timing}")
        return {'FINISHED'}


CLASSES = (POSE2ROT_OT_solve_rotations, POSE2ROT_OT_restore_action, POSE2ROT_OT_import_tracks)

"""Operators: Solve Rotations, Restore Previous Action, Import Tracks."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, StringProperty
from bpy_extras.io_utils import ImportHelper

from pose2rot_core.errors import Pose2RotError
from pose2rot_core.wording import label

from . import importing, mapping, pipeline
from .prefs import learned_settings
from .props import BONE_LENGTHS, REFERENCES, SMOOTHING, SOLVERS, smooth_option, stretch_option


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
        return bpy.data.objects.get(name)
    return context.scene.pose2rot.armature or context.active_object


class POSE2ROT_OT_solve_rotations(bpy.types.Operator):
    """Key the armature's bones so their heads follow the empties of the tracks collection"""

    bl_idname = "pose2rot.solve_rotations"
    bl_label = "Solve Rotations"
    bl_options = {'REGISTER', 'UNDO'}

    solver: EnumProperty(name=label("solver", "blender"), items=SOLVERS, default='GEOMETRIC')
    armature: StringProperty(name="Armature", default="", description="Armature object (empty: the panel's armature, else the active object)")
    tracks_collection: StringProperty(name="Tracks", default="",
                                      description="Collection of empties (empty: the one picked in the panel)")
    frame_start: IntProperty(name="Start", default=1, description="First frame (default: scene start)")
    frame_end: IntProperty(name="End", default=250, description="Last frame (default: scene end)")
    reference: EnumProperty(name="Reference", items=REFERENCES, default='REST')
    reference_frame: IntProperty(name="Reference frame", default=1,
                                 description="Frame where the tracks show the current pose (default: current frame)")
    smooth: EnumProperty(name=label("smooth", "blender"), items=SMOOTHING, default='AUTO')
    smooth_width: FloatProperty(name="Width (s)", default=0.05, min=0.001, soft_max=0.5)
    bone_lengths: EnumProperty(name=label("stretch", "blender"), items=BONE_LENGTHS, default='AUTO')

    def _settings(self, scene: bpy.types.Scene) -> pipeline.SolveSettings:
        start = self.frame_start if self.properties.is_property_set("frame_start") else scene.frame_start
        end = self.frame_end if self.properties.is_property_set("frame_end") else scene.frame_end
        ref = self.reference_frame if self.properties.is_property_set("reference_frame") else scene.frame_current
        return pipeline.SolveSettings(solver=self.solver, frame_start=start, frame_end=end,
                                      reference=self.reference, reference_frame=ref,
                                      smooth=smooth_option(self.smooth, self.smooth_width),
                                      stretch=stretch_option(self.bone_lengths), bone_map=mapping.table_map(scene))

    def execute(self, context):
        scene = context.scene
        obj = target_armature(context, self.armature)
        if self.tracks_collection:
            collection = bpy.data.collections.get(self.tracks_collection)
            if collection is None:
                self.report({'ERROR'}, f"no collection named '{self.tracks_collection}'")
                return {'CANCELLED'}
        else:
            collection = scene.pose2rot.tracks
        progress = _Progress(context)
        try:
            plan, seconds = pipeline.solve_armature(scene, obj, collection, self._settings(scene),
                                                    learned_settings(context), progress)
        except Pose2RotError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        finally:
            progress.end()
        for line in plan.report:
            self.report({'INFO'}, line)
        for line in plan.warnings:
            self.report({'WARNING'}, line)
        self.report({'INFO'}, (
            f"pose2rot: {len(plan.bone_names)} bones x {len(plan.frames)} frames ({self.solver.lower()}, "
            f"{plan.matched} tracks) in {seconds:.2f} s; bone heads against their empties: mean "
            f"{plan.mean_error_pct:.3g} % / max {plan.max_error_pct:.3g} % of height"))
        return {'FINISHED'}


class POSE2ROT_OT_restore_action(bpy.types.Operator):
    """Give the armature back the action it had before pose2rot solved it (the solved one is kept)"""

    bl_idname = "pose2rot.restore_action"
    bl_label = "Restore Previous Action"
    bl_options = {'REGISTER', 'UNDO'}

    armature: StringProperty(name="Armature", default="")

    def execute(self, context):
        obj = target_armature(context, self.armature)
        if obj is None or obj.type != 'ARMATURE':
            self.report({'ERROR'}, "no armature: select the armature whose action should be restored")
            return {'CANCELLED'}
        try:
            name = pipeline.restore_previous(obj)
        except Pose2RotError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        context.scene.frame_set(context.scene.frame_current)
        self.report({'INFO'}, f"restored action '{name}'" if name else "removed the solved action (there was none)")
        return {'FINISHED'}


class POSE2ROT_OT_import_tracks(bpy.types.Operator, ImportHelper):
    """Import point tracks (.npz, .csv, .bvh, .npy with a layout, FreeMoCap output) as keyed empties"""

    bl_idname = "pose2rot.import_tracks"
    bl_label = "Import Tracks"
    bl_options = {'REGISTER', 'UNDO'}

    filter_glob: StringProperty(default="*.npz;*.csv;*.bvh;*.npy", options={'HIDDEN'})
    layout: EnumProperty(name="Layout", items=importing.LAYOUT_ITEMS, default='NONE',
                         description="What the points of a .npy file are (FreeMoCap: pick "
                                     "output_data/mediapipe_body_3d_xyz.npy)")
    collection_name: StringProperty(name="Collection", default="", description="Name of the new collection")
    frame_start: IntProperty(name="Start frame", default=1)
    set_scene: BoolProperty(name="Set scene range and fps", default=True)
    csv_up_axis: EnumProperty(name="CSV up axis", items=[('y', "Y", "Y-up (BVH style)"), ('z', "Z", "Z-up")],
                              default='y')

    def execute(self, context):
        try:
            col = importing.import_tracks(context, self.filepath, self.collection_name, self.frame_start,
                                          self.set_scene, self.csv_up_axis, self.layout)
        except Pose2RotError as e:
            self.report({'ERROR'}, str(e))
            return {'CANCELLED'}
        self.report({'INFO'}, f"imported {len(col.objects)} tracks into '{col.name}'")
        return {'FINISHED'}


CLASSES = (POSE2ROT_OT_solve_rotations, POSE2ROT_OT_restore_action, POSE2ROT_OT_import_tracks)

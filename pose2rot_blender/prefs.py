"""Add-on preferences: the learned model's files and how to run it."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, StringProperty

from .batch import command_line
from .runtime import LearnedSettings, pip_command, torch_in_blender

RUNTIMES = [
    ('AUTO', "Automatic", "torch inside Blender when it imports, else the external Python"),
    ('INTERNAL', "Blender's Python", "import torch inside Blender"),
    ('EXTERNAL', "External Python", "run the model in another Python interpreter that has torch"),
]


class POSE2ROT_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    checkpoint: StringProperty(name="Checkpoint", subtype='FILE_PATH',
                               description="Model checkpoint (.pt/.pth/.safetensors) for the learned and hybrid solvers")
    config: StringProperty(name="Config", subtype='FILE_PATH',
                           description="Optional model YAML config (inferred from the checkpoint when empty)")
    t5: StringProperty(name="T5 encoder", default="",
                       description="Folder or id of the t5-base encoder used to embed joint names (empty: the core's default)")
    cache_dir: StringProperty(name="Embedding cache", subtype='DIR_PATH', default="",
                              description="Folder for cached joint-name embeddings (empty: the add-on's user folder)")
    device: StringProperty(name="Device", default="cpu", description="torch device, e.g. cpu or cuda")
    runtime: EnumProperty(name="Run the model in", items=RUNTIMES, default='AUTO')
    python: StringProperty(name="Python", subtype='FILE_PATH',
                           description="External Python interpreter with torch and transformers installed")

    def draw(self, context):
        layout = self.layout
        col = layout.column()
        col.prop(self, "checkpoint")
        col.prop(self, "config")
        col.prop(self, "t5")
        col.prop(self, "cache_dir")
        col.prop(self, "device")
        col.separator()
        col.prop(self, "runtime")
        if self.runtime != 'INTERNAL':
            col.prop(self, "python")
        has_torch = torch_in_blender()
        col.label(text="torch in Blender's Python: " + ("found" if has_torch else "not found"),
                  icon='CHECKMARK' if has_torch else 'INFO')
        if not has_torch:
            col.operator("pose2rot.show_pip_command", icon='COPYDOWN')
        col.separator()
        col.label(text="Batch conversion from a terminal:")
        col.label(text=command_line())
        col.operator("pose2rot.copy_batch_command", icon='COPYDOWN')


def learned_settings(context: bpy.types.Context) -> LearnedSettings:
    """Current preferences as plain data (defaults when the add-on's prefs are unavailable)."""
    addon = context.preferences.addons.get(__package__)
    prefs = addon.preferences if addon else None
    default_cache = bpy.utils.extension_path_user(__package__, path="embeddings", create=True)
    if prefs is None:
        return LearnedSettings(cache_dir=default_cache)
    return LearnedSettings(checkpoint=prefs.checkpoint, config=prefs.config, t5=prefs.t5,
                           cache_dir=prefs.cache_dir or default_cache, device=prefs.device or "cpu",
                           runtime=prefs.runtime, python=prefs.python)


class POSE2ROT_OT_show_pip_command(bpy.types.Operator):
    """Show (and copy to the clipboard) the pip command that installs the learned model's dependencies"""

    bl_idname = "pose2rot.show_pip_command"
    bl_label = "Show pip command"

    def execute(self, context):
        cmd = pip_command(learned_settings(context))
        context.window_manager.clipboard = cmd
        self.report({'INFO'}, f"copied to the clipboard: {cmd}")
        return {'FINISHED'}


class POSE2ROT_OT_copy_batch_command(bpy.types.Operator):
    """Copy the terminal command that converts a folder of clips with this installed extension"""

    bl_idname = "pose2rot.copy_batch_command"
    bl_label = "Copy batch command"

    def execute(self, context):
        context.window_manager.clipboard = command_line()
        self.report({'INFO'}, f"copied to the clipboard: {command_line()}")
        return {'FINISHED'}


CLASSES = (POSE2ROT_AP_preferences, POSE2ROT_OT_show_pip_command, POSE2ROT_OT_copy_batch_command)

"""pose2rot for Blender: solve bone rotations from point tracks (a thin shell over ``pose2rot_core``).

Sidebar > pose2rot: pick an armature and a collection of empties named after its bones, then
"Solve Rotations". The maths lives in the bundled ``pose2rot_core`` wheel; this package only reads
and writes Blender data.
"""
from __future__ import annotations

import bpy

from . import mapping, operators, panel, prefs, previous, props

_CLASSES = props.CLASSES + prefs.CLASSES + operators.CLASSES + panel.CLASSES + mapping.CLASSES


def _menu_import(self, _context):
    self.layout.operator(operators.POSE2ROT_OT_import_tracks.bl_idname,
                         text=f"pose2rot tracks ({'/'.join(operators.FILE_SUFFIXES)})")


def register() -> None:
    for cls in _CLASSES:
        bpy.utils.register_class(cls)
    props.register_properties()
    previous.register_properties()
    mapping.register_properties()
    bpy.types.TOPBAR_MT_file_import.append(_menu_import)


def unregister() -> None:
    bpy.types.TOPBAR_MT_file_import.remove(_menu_import)
    mapping.unregister_properties()
    previous.unregister_properties()
    props.unregister_properties()
    for cls in reversed(_CLASSES):
        bpy.utils.unregister_class(cls)

"""Scene-level settings shown in the pose2rot panel (``scene.pose2rot``).

Keep the ``__future__`` import: with eagerly evaluated property annotations, bpy 4.2 as a module
crashes at interpreter exit (segfault after the add-on registered the scene pointer properties).
"""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty

from pose2rot_core.wording import label, value_label

SOLVERS = [
    ('GEOMETRIC', value_label("solver", "geometric", "blender"), "Bones aim exactly at their tracks; twist from the reference pose (no model needed)"),
    ('LEARNED', value_label("solver", "learned", "blender"), "Rotations predicted by the network (needs a checkpoint and torch)"),
    ('HYBRID', value_label("solver", "hybrid", "blender"), "Network twist, refined so bones hit their tracks exactly (needs a checkpoint and torch)"),
]
SMOOTHING = [
    ('AUTO', value_label("smooth", "auto", "blender"), "Smooth only measurably noisy tracks (clean mocap passes unchanged)"),
    ('OFF', value_label("smooth", "off", "blender"), "Use the tracks as they are"),
    ('WIDTH', "Fixed", "Smooth every track with a Gaussian kernel of the given width"),
]
BONE_LENGTHS = [
    ('AUTO', value_label("stretch", "auto", "blender"), "Bones keep the rig's lengths (tracks of another performer: rotations only); "
                               "joints that move relative to their parent, like hips under a floor-level root, "
                               "still translate"),
    ('EXACT', value_label("stretch", "exact", "blender"), "Bones also translate where their length differs from the tracks, so every "
                                  "bone head lands on its empty"),
    ('OFF', value_label("stretch", "off", "blender"), "No bone translates (only the root follows its empty)"),
]
REFERENCES = [
    ('REST', "Rest pose", "Twist follows the armature's rest pose"),
    ('CURRENT_POSE', "Current pose", "The armature's current pose is the pose the tracks show at the reference frame"),
]


def _is_armature(_self, obj) -> bool:
    return obj.type == 'ARMATURE'


class POSE2ROT_PG_settings(bpy.types.PropertyGroup):
    armature: PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature,
                              description="Armature to solve (empty: the active object)")
    tracks: PointerProperty(name="Tracks", type=bpy.types.Collection,
                            description="Collection of empties, one per tracked joint, named after the bones")
    solver: EnumProperty(name=label("solver", "blender"), items=SOLVERS, default='GEOMETRIC')
    reference: EnumProperty(name="Reference", items=REFERENCES, default='REST')
    reference_frame: IntProperty(name="Reference frame", default=1,
                                 description="Frame at which the tracks show the armature's current pose")
    smooth: EnumProperty(name=label("smooth", "blender"), items=SMOOTHING, default='AUTO')
    bone_lengths: EnumProperty(name=label("stretch", "blender"), items=BONE_LENGTHS, default='AUTO')
    smooth_width: FloatProperty(name="Width (s)", default=0.05, min=0.001, soft_max=0.5,
                                description="Standard deviation of the smoothing kernel in seconds")
    use_scene_range: BoolProperty(name="Scene frame range", default=True)
    frame_start: IntProperty(name="Start", default=1)
    frame_end: IntProperty(name="End", default=250)


CLASSES = (POSE2ROT_PG_settings,)


def register_properties() -> None:
    bpy.types.Scene.pose2rot = PointerProperty(type=POSE2ROT_PG_settings)


def unregister_properties() -> None:
    del bpy.types.Scene.pose2rot


def stretch_option(mode: str) -> str | None:
    """The core's ``stretch=`` value for a bone-lengths mode (None: the core decides, as 'auto')."""
    return None if mode == 'AUTO' else mode.lower()


def smooth_option(mode: str, width: float) -> str | float:
    """The core's ``smooth=`` value for a (mode, width) pair."""
    return width if mode == 'WIDTH' else mode.lower()

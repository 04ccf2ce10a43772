"""The pose2rot settings, declared once: the panel's ``scene.pose2rot`` and the Solve Rotations
operator get their solve properties from :data:`SOLVE_PROPERTIES`, and :func:`solve_options` turns
their values (plus the add-on preferences) into the core's ``SolveOptions``.

Keep the ``__future__`` import and keep methods out of the property group: with eagerly evaluated
property annotations, or with a method on the group, bpy 4.2 as a module crashes at interpreter exit
(segfault after the add-on registered the scene pointer properties).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty

from pose2rot_core.options import SolveOptions
from pose2rot_core.wording import label, names, value_label

from .runtime import PREFERENCES, LearnedSettings

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
    ('OFF', value_label("stretch", "off", "blender"),
     "No bone translates (only the root, and nodes above the hips that place the body, follow their empties)"),
]
REFERENCES = [
    ('REST', "Rest pose", "Twist follows the armature's rest pose"),
    ('CURRENT_POSE', "Current pose", "The armature's current pose is the pose the tracks show at the reference frame"),
]

#: the solve settings shown in the panel and taken by the operator (name -> property maker)
SOLVE_PROPERTIES: dict[str, Callable[..., Any]] = {
    "solver": lambda **kw: EnumProperty(name=label("solver", "blender"), items=SOLVERS, default='GEOMETRIC', **kw),
    "reference": lambda **kw: EnumProperty(name=label("use_reference", "blender"), items=REFERENCES, default='REST',
                                           **kw),
    "reference_frame": lambda **kw: IntProperty(
        name="Reference frame", default=1, description="Frame at which the tracks show the armature's current pose",
        **kw),
    "smooth": lambda **kw: EnumProperty(name=label("smooth", "blender"), items=SMOOTHING, default='AUTO', **kw),
    "smooth_width": lambda **kw: FloatProperty(name=label("smooth_width", "blender"), default=0.05, min=0.001,
                                               soft_max=0.5, description="Standard deviation of the smoothing kernel "
                                               "in seconds", **kw),
    "bone_lengths": lambda **kw: EnumProperty(name=label("stretch", "blender"), items=BONE_LENGTHS, default='AUTO',
                                              **kw),
    "max_position_error": lambda **kw: FloatProperty(
        name=label("max_position_error", "blender"), default=0.0, min=0.0, soft_max=10.0,
        description="Refuse a solve whose bone heads end further than this from their empties, in percent of the "
                    "armature's height (0: report how far they are, refuse nothing)", **kw),
}
#: the SolveOptions fields that the add-on preferences hold (their labels are in the preferences)
_IN_PREFERENCES = ("checkpoint", "config", "t5", "device", "cache_dir")
#: the settings of Import Tracks among the options the core's messages name (wording.OPTION_NAMES)
_IN_IMPORT = ("layout",)


def solve_property(name: str, **options: Any) -> Any:
    """A fresh definition of the solve property ``name`` (see SOLVE_PROPERTIES); ``options``: more
    keywords of the bpy property, e.g. ``options={'SKIP_SAVE'}``."""
    return SOLVE_PROPERTIES[name](**options)


def solve_annotations(skip_save: bool = False) -> dict[str, str]:
    """Annotations declaring every SOLVE_PROPERTIES entry, for a class whose module imports
    :func:`solve_property`. They are strings that Blender evaluates when it registers the class, as
    it does the postponed annotations of the class bodies (see the note at the top). ``skip_save``:
    Blender does not remember the last values (an operator whose unset properties mean "the panel's")."""
    extra = ", options={'SKIP_SAVE'}" if skip_save else ""
    return {name: f"solve_property({name!r}{extra})" for name in SOLVE_PROPERTIES}


def _is_armature(_self, obj) -> bool:
    return obj.type == 'ARMATURE'


class POSE2ROT_PG_settings(bpy.types.PropertyGroup):
    armature: PointerProperty(name="Armature", type=bpy.types.Object, poll=_is_armature,
                              description="Armature to solve (empty: the active object)")
    tracks: PointerProperty(name="Tracks", type=bpy.types.Collection,
                            description="Collection of empties, one per tracked joint, named after the bones")
    use_scene_range: BoolProperty(name="Scene frame range", default=True,
                                  description="Solve the scene's frame range (its preview range while that is on, "
                                              "as the timeline plays it); off: Start and End below")
    frame_start: IntProperty(name="Start", default=1)
    frame_end: IntProperty(name="End", default=250)


POSE2ROT_PG_settings.__annotations__.update(solve_annotations())

CLASSES = (POSE2ROT_PG_settings,)


def frame_range(settings: POSE2ROT_PG_settings, scene: bpy.types.Scene) -> tuple[int, int]:
    """(first, last) frame to solve: the panel's own, else the scene's: its preview range while that is on
    (the frames the timeline plays, as Blender's Bake Action takes them), else its frame range."""
    if not settings.use_scene_range:
        return settings.frame_start, settings.frame_end
    if scene.use_preview_range:
        return scene.frame_preview_start, scene.frame_preview_end
    return scene.frame_start, scene.frame_end


def preview_note(settings: POSE2ROT_PG_settings, scene: bpy.types.Scene) -> str:
    """The report's line when frame_range is the scene's preview range, else ''."""
    if not (settings.use_scene_range and scene.use_preview_range):
        return ""
    return (f"frames {scene.frame_preview_start}..{scene.frame_preview_end}: the scene's preview range (turn it off "
            f"in the Timeline to solve the frame range {scene.frame_start}..{scene.frame_end})")


def register_properties() -> None:
    bpy.types.Scene.pose2rot = PointerProperty(type=POSE2ROT_PG_settings)


def unregister_properties() -> None:
    del bpy.types.Scene.pose2rot


def solve_options(values: Mapping[str, Any], learned: LearnedSettings) -> SolveOptions:
    """The core's SolveOptions for panel/operator ``values`` (by SOLVE_PROPERTIES name) and the
    preferences; a bad value raises OptionError (reporting.reports_errors words it as Blender does)."""
    smooth = values["smooth_width"] if values["smooth"] == 'WIDTH' else values["smooth"].lower()
    return SolveOptions(solver=values["solver"].lower(), stretch=values["bone_lengths"].lower(), smooth=smooth,
                        use_reference=values["reference"] == 'CURRENT_POSE',
                        max_position_error=values["max_position_error"] or None, **learned.model_options())


def option_labels() -> dict[str, str]:
    """SolveOptions field (or another option of wording.OPTION_NAMES) -> how Blender shows it ('Bone lengths';
    'Checkpoint' in the preferences; 'Layout' in Import Tracks)."""
    where = {**dict.fromkeys(_IN_PREFERENCES, f" in {PREFERENCES}"), **dict.fromkeys(_IN_IMPORT, " in Import Tracks")}
    return {field: f"'{name}'{where.get(field, '')}" for field, name in names("blender").items()}

"""Import a tracks file (.npz, .csv, .bvh, .npy) as a collection of keyed empties.

The points come from the core (``pose2rot_core.blender_space.file_points``): ``.npz`` and ``.bvh``
give their joints and End Sites (a BVH its FK joint positions, not Blender's importer), ``.csv``
(columns ``<joint>.x/.y/.z``) needs no rig. A ``.npy`` needs a layout (``humanml3d22``,
``mediapipe33``, ...: the core's point sets), and FreeMoCap output is read from its recording folder
when its ``mediapipe_body_3d_xyz.npy`` is picked; the empties are named after the layout's points and
the collection remembers the layout (for the automatic bone map). Y-up data is turned Z-up the way
Blender's BVH importer does it. Missing samples get no key (Blender interpolates between the
neighbouring keys, and the solve reads the empties as Blender shows them); a point with no data in
any frame gets no empty at all, so its bone is solved as a joint without a track (it keeps the
reference rotation; a root without one is refused), never as an empty resting at the origin.
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from pose2rot_core.blender_space import (bvh_of, file_points, point_tree, scene_fps, scene_fps_beyond,
                                         tip_rest_offsets)
from pose2rot_core.tracks import rate_warning
from pose2rot_core.wording import WARNING_PREFIX

from . import empties

#: custom property of an imported tracks collection naming its layout (read by the automatic bone map)
LAYOUT_KEY = "pose2rot_layout"
#: custom property of an imported tracks collection listing the file's points that had no data (no empty)
NO_DATA_KEY = "pose2rot_no_data"
#: custom property of a collection imported from a BVH: its points' tree, as [point, parent, point, parent, ...]
TREE_KEY = "pose2rot_tree"
#: custom property of a collection imported from a BVH: {bone tip: its rest offset from its joint},
#: Blender axes (a joint's End Sites beyond the one Blender's importer makes the bone's tail aim too)
TIPS_KEY = "pose2rot_tips"
#: collection property: the file's frames per second (where it has one)
FPS_KEY = "pose2rot_fps"
#: how Import Tracks asks for another rate where the file's looks wrong (tracks.rate_warning)
RATE_WANTED = "correct the file's frame time and import it again"

def _layout_items() -> list[tuple[str, str, str]]:
    from pose2rot_core.layouts import LAYOUTS

    return [('NONE', "None", "The file names its points (.npz, .csv, .bvh)")] + [
        (name, name, layout.description) for name, layout in LAYOUTS.items()]


LAYOUT_ITEMS = _layout_items()


def import_tracks(context: bpy.types.Context, path: str | Path, collection_name: str = "",
                  frame_start: int = 1, set_scene: bool = True, csv_up_axis: str = "auto",
                  layout: str = "NONE", scale: float = 1.0) -> bpy.types.Collection:
    """Create a collection of empties keyed at the file's points; returns it.

    set_scene: also set the scene's frame range (and fps when the file has one) to the clip.
    layout: what a .npy file's points are (see the module docstring).
    scale: multiplies the file's positions (and a BVH's End Site offsets): file units to the rig's.
    """
    names, pos, fps, layout_name = file_points(bpy.path.abspath(str(path)), csv_up_axis,
                                               None if layout == 'NONE' else layout, scale)
    T = pos.shape[0]
    scene = context.scene
    col = bpy.data.collections.new(collection_name or f"{Path(str(path)).stem}_tracks")
    scene.collection.children.link(col)
    if layout_name:
        col[LAYOUT_KEY] = layout_name
    if fps > 0:
        col[FPS_KEY] = float(fps)
    finite = pos[np.isfinite(pos).all(axis=-1)]
    extent = float(np.ptp(finite, axis=0).max()) if len(finite) else 1.0
    seen = np.isfinite(pos).all(axis=-1).any(axis=0)
    if not seen.all():
        col[NO_DATA_KEY] = [n for n, k in zip(names, seen) if not k]
    bvh = bvh_of(bpy.path.abspath(str(path)))
    tree = point_tree(bvh)
    if tree:
        col[TREE_KEY] = [name for point, parent in tree.items() for name in (point, parent)]
    tips = tip_rest_offsets(bvh, scale)
    if tips:
        col[TIPS_KEY] = tips
    empties.write_empties(col, [n for n, k in zip(names, seen) if k], pos[:, seen], frame_start,
                          size=max(extent, 1e-6) * 0.01)
    if set_scene:
        scene.frame_start, scene.frame_end = frame_start, frame_start + T - 1
        if fps > 0:
            scene.render.fps, scene.render.fps_base = scene_fps(fps)
    if hasattr(scene, "pose2rot"):
        scene.pose2rot.tracks = col
    return col


def scene_timing(scene: bpy.types.Scene) -> tuple[float, int, int]:
    """(frames per second, first frame, last frame) of ``scene``."""
    return scene.render.fps / scene.render.fps_base, scene.frame_start, scene.frame_end


def _off_rate_note(clip_fps: float, scene_fps_now: float) -> str:
    """The report's words for a scene playing ``scene_fps_now`` keys a second of a file of ``clip_fps``:
    how much longer the motion plays, and what to do (nothing a scene can do where the file's rate is
    beyond every scene's: blender_space.scene_fps_beyond says so, as the batch does)."""
    beyond = scene_fps_beyond(clip_fps, np.divide(*scene_fps(clip_fps)))
    longer = f"with one key per scene frame the motion plays {clip_fps / scene_fps_now:.3g}x as long"
    if beyond:
        return f"; {beyond}: the scene plays {scene_fps_now:g} fps, and {longer}"
    return (f"; the file is {clip_fps:g} fps but the scene {scene_fps_now:g} fps: {longer}; tick 'Set scene range "
            f"and fps' or set the scene's Frame Rate to {clip_fps:g}")


def scene_change_note(before: tuple[float, int, int], scene: bpy.types.Scene, first_key: int | None,
                      clip_fps: float = 0.0) -> tuple[str, bool]:
    """(what Import Tracks changed in the ``scene``'s timing since ``before`` (see scene_timing), as
    the end of its report; whether it calls for a warning: keys from frame ``first_key`` (None: the
    scene was left alone) start before the scene can, so that frames lie outside its range, or the
    file's ``clip_fps`` (0: none) is not the scene's, so one key per scene frame plays it slower or faster, or
    the scene's Time Stretching plays the keys at other frames, or the file's rate looks wrong:
    tracks.rate_warning, as ``pose2rot info`` and ``solve`` say)."""
    after = scene_timing(scene)
    note = ""
    if after != before:
        note = (f"; the scene is now {after[0]:g} fps, frames {after[1]}-{after[2]} (was {before[0]:g} fps, "
                f"frames {before[1]}-{before[2]})")
    off_rate = clip_fps > 0 and abs(clip_fps / after[0] - 1.0) > 0.01
    if off_rate:
        note += _off_rate_note(clip_fps, after[0])
    cut = first_key is not None and first_key < scene.frame_start
    if cut:
        note += (f"; keys from frame {first_key} on, but a scene starts at frame {scene.frame_start} at the "
                 "earliest: the frames before lie outside its range")
    stretched = empties.time_stretching(scene)
    if stretched:
        note += (f"; {stretched}, so the tracks play at other frames than their keys (and the range set): Solve "
                 "Rotations needs Old and New equal (set them so to solve, and back afterwards)")
    odd = rate_warning(clip_fps, RATE_WANTED) if clip_fps > 0 else ""
    if odd:
        note += "; " + odd.removeprefix(WARNING_PREFIX)
    return note, cut or off_rate or bool(stretched) or bool(odd)


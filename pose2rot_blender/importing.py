"""Import a tracks file (.npz, .csv, .bvh) as a collection of keyed empties.

The points come from the core (``pose2rot_core.blender_space.file_points``): ``.npz`` and ``.bvh``
give their joints and End Sites (a BVH its FK joint positions, not Blender's importer), ``.csv``
(columns ``<joint>.x/.y/.z``) needs no rig. Y-up data is turned Z-up the way Blender's BVH importer
does it. Missing samples get no key (Blender interpolates between the neighbouring keys).
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from pose2rot_core.blender_space import file_points, scene_fps

from . import empties


def import_tracks(context: bpy.types.Context, path: str | Path, collection_name: str = "",
                  frame_start: int = 1, set_scene: bool = True, csv_up_axis: str = "y") -> bpy.types.Collection:
    """Create a collection of empties keyed at the file's points; returns it.

    set_scene: also set the scene's frame range (and fps when the file has one) to the clip.
    """
    names, pos, fps = file_points(bpy.path.abspath(str(path)), csv_up_axis)
    T = pos.shape[0]
    scene = context.scene
    col = bpy.data.collections.new(collection_name or f"{Path(str(path)).stem}_tracks")
    scene.collection.children.link(col)
    finite = pos[np.isfinite(pos).all(axis=-1)]
    extent = float(np.ptp(finite, axis=0).max()) if len(finite) else 1.0
    empties.write_empties(col, names, pos, frame_start, size=max(extent, 1e-6) * 0.01)
    if set_scene:
        scene.frame_start, scene.frame_end = frame_start, frame_start + T - 1
        if fps > 0:
            scene.render.fps, scene.render.fps_base = scene_fps(fps)
    if hasattr(scene, "pose2rot"):
        scene.pose2rot.tracks = col
    return col

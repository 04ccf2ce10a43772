"""Import a tracks file (.npz, .csv, .bvh, .npy) as a collection of keyed empties.

``.npz`` and ``.bvh`` go through the core (``load_tracks``; a BVH gives its FK joint positions and
End Sites, not Blender's importer); ``.csv`` (columns ``<joint>.x/.y/.z``) needs no rig. A ``.npy``
needs a layout (``humanml3d22``, ``mediapipe33``, ...: the core's point sets), and FreeMoCap output is
read from its recording folder when its ``mediapipe_body_3d_xyz.npy`` is picked; the empties are named
after the layout's points and the collection remembers the layout (for the automatic bone map).
Y-up data is turned Z-up the way Blender's BVH importer does it: file ``(x, y, z)`` -> Blender
``(x, -z, y)``. Missing samples get no key (Blender interpolates between the neighbouring keys).
"""
from __future__ import annotations

import csv
from pathlib import Path

import bpy
import numpy as np

from pose2rot_core.axes import Y_UP_TO_Z_UP
from pose2rot_core.errors import Pose2RotError

from . import empties


def _layout_items() -> list[tuple[str, str, str]]:
    from pose2rot_core.layouts import LAYOUTS

    return [('NONE', "None", "The file names its points (.npz, .csv, .bvh)")] + [
        (name, name, layout.description) for name, layout in LAYOUTS.items()]


LAYOUT_ITEMS = _layout_items()


def read_csv_points(path: Path) -> tuple[list[str], np.ndarray]:
    """Point names and positions [T,N,3] from a CSV with ``<name>.x``, ``.y``, ``.z`` columns."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise Pose2RotError(f"{path.name}: the CSV needs a header row and at least one frame")
    header = [c.strip() for c in rows[0]]
    col = {h: i for i, h in enumerate(header)}
    names = [h[:-2] for h in header if h.lower().endswith(".x")
             and f"{h[:-2]}.y" in col and f"{h[:-2]}.z" in col]
    if not names:
        raise Pose2RotError(f"{path.name}: no '<joint>.x', '<joint>.y', '<joint>.z' columns in the CSV header")
    idx = [[col[f"{n}.{a}"] for a in "xyz"] for n in names]
    data = np.full((len(rows) - 1, len(header)), np.nan)
    for t, row in enumerate(rows[1:]):
        for i, cell in enumerate(row[: len(header)]):
            cell = cell.strip()
            if cell:
                try:
                    data[t, i] = float(cell)
                except ValueError:
                    raise Pose2RotError(f"{path.name}: line {t + 2}: '{cell}' is not a number") from None
    return names, data[:, np.asarray(idx)]


def read_points(path: str | Path, csv_up_axis: str = "y", layout: str = "NONE"
                ) -> tuple[list[str], np.ndarray, float, str]:
    """(names, Z-up positions [T,N,3] including End Sites, fps or 0 when unknown, layout name or '') of a
    tracks file."""
    from pose2rot_core.layouts import get_layout
    from pose2rot_core.pointsets import FREEMOCAP_BODY, load_points
    from pose2rot_core.tracks_io import load_tracks

    path = Path(bpy.path.abspath(str(path)))
    if not path.is_file():
        raise Pose2RotError(f"tracks file '{path}' does not exist")
    if path.name == FREEMOCAP_BODY or path.suffix.lower() == ".npy":
        source = path.parent if path.name == FREEMOCAP_BODY else path
        points = load_points(source, None if layout == 'NONE' else get_layout(layout))
        return list(points.names), points.oriented("z"), points.fps, points.layout.name
    if path.suffix.lower() == ".csv":
        names, pos = read_csv_points(path)
        up, fps = csv_up_axis, 0.0
    else:
        tracks = load_tracks(path)
        names = list(tracks.skeleton.names)
        pos = tracks.positions
        if tracks.has_ends:
            names += list(tracks.end_names)
            pos = np.concatenate([pos, tracks.end_positions], axis=1)
        up, fps = tracks.up_axis, tracks.fps
    if up == "y":
        pos = pos @ Y_UP_TO_Z_UP.T
    return names, pos, fps, ""


def import_tracks(context: bpy.types.Context, path: str | Path, collection_name: str = "",
                  frame_start: int = 1, set_scene: bool = True, csv_up_axis: str = "y",
                  layout: str = "NONE") -> bpy.types.Collection:
    """Create a collection of empties keyed at the file's points; returns it.

    set_scene: also set the scene's frame range (and fps when the file has one) to the clip.
    layout: what a .npy file's points are (see the module docstring).
    """
    from .mapping import LAYOUT_KEY

    names, pos, fps, layout_name = read_points(path, csv_up_axis, layout)
    T = pos.shape[0]
    scene = context.scene
    col = bpy.data.collections.new(collection_name or f"{Path(str(path)).stem}_tracks")
    scene.collection.children.link(col)
    if layout_name:
        col[LAYOUT_KEY] = layout_name
    finite = pos[np.isfinite(pos).all(axis=-1)]
    extent = float(np.ptp(finite, axis=0).max()) if len(finite) else 1.0
    empties.write_empties(col, names, pos, frame_start, size=max(extent, 1e-6) * 0.01)
    if set_scene:
        scene.frame_start, scene.frame_end = frame_start, frame_start + T - 1
        if fps > 0 and abs(fps - round(fps)) < 1e-3:
            scene.render.fps, scene.render.fps_base = int(round(fps)), 1.0
        elif fps > 0:
            scene.render.fps, scene.render.fps_base = int(np.ceil(fps)), float(np.ceil(fps) / fps)
    if hasattr(scene, "pose2rot"):
        scene.pose2rot.tracks = col
    return col

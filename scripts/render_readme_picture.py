"""Render the README picture: the demo scene solved, drawn at a few frames in one image (Workbench).

    .venv-bpy42/bin/python scripts/render_readme_picture.py [--out docs/walk_solved.png]

Builds the demo scene (examples/blender_demo.py: the CMU walk's tracks as empties, a rest copy of
its armature), runs Solve Rotations from the panel's settings, gives the solved rig a bone-shaped
skin and every empty a small ball, and renders both side on at ``--frames`` moments with Blender's
Workbench engine; the moments are laid over one another (a chronophotograph) into one PNG.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from blender_demo import build_scene, solve_from_panel  # noqa: E402  (sets up bpy first)

import bpy  # noqa: E402
import numpy as np  # noqa: E402

RIG_COLOUR = (0.93, 0.45, 0.13, 1.0)
TRACK_COLOUR = (0.13, 0.35, 0.75, 1.0)


def bone_skin(rig: bpy.types.Object) -> bpy.types.Object:
    """A mesh of one octahedron per bone (Blender's bone shape), skinned to ``rig`` bone by bone."""
    verts, faces, groups = [], [], []
    for bone in rig.data.bones:
        head, tail = np.array(bone.head_local), np.array(bone.tail_local)
        axes = np.array(bone.matrix_local.to_3x3())
        length = float(np.linalg.norm(tail - head))
        ring = head + 0.12 * (tail - head)
        w = 0.1 * length
        base = len(verts)
        verts += [head, tail] + [ring + w * s * axes[:, a] for a, s in ((0, 1), (2, 1), (0, -1), (2, -1))]
        faces += [(base, base + 2 + k, base + 2 + (k + 1) % 4) for k in range(4)]
        faces += [(base + 1, base + 2 + (k + 1) % 4, base + 2 + k) for k in range(4)]
        groups.append((bone.name, list(range(base, base + 6))))
    mesh = bpy.data.meshes.new("bones")
    mesh.from_pydata([tuple(v) for v in verts], [], faces)
    obj = bpy.data.objects.new("Rig skin", mesh)
    bpy.context.scene.collection.objects.link(obj)
    for name, indices in groups:
        obj.vertex_groups.new(name=name).add(indices, 1.0, 'REPLACE')
    obj.modifiers.new("rig", 'ARMATURE').object = rig
    obj.matrix_world = rig.matrix_world.copy()
    obj.color = RIG_COLOUR
    return obj


def track_balls(tracks: bpy.types.Collection, radius: float) -> None:
    """A small ball on every empty of ``tracks`` (empties do not render)."""
    bpy.ops.mesh.primitive_ico_sphere_add(subdivisions=2, radius=radius)
    ball = bpy.context.active_object
    ball.color = TRACK_COLOUR
    for empty in tracks.objects:
        copy = ball.copy()
        bpy.context.scene.collection.objects.link(copy)
        copy.parent = empty
        copy.location = (0.0, 0.0, 0.0)
    bpy.data.objects.remove(ball)


def side_camera(heads: np.ndarray, width: int, height: int) -> None:
    """An orthographic camera looking across the walk, framing every head [T,N,3] of the clip."""
    scene = bpy.context.scene
    lo, hi = heads.reshape(-1, 3).min(axis=0), heads.reshape(-1, 3).max(axis=0)
    centre, size = (lo + hi) / 2, hi - lo
    along = int(np.argmax(size[:2]))                       # the walking direction (x or y)
    # looking along +y from the -y side (walk along x), or along -x from the +x side (walk along y)
    back = np.array([0.0, -1.0, 0.0]) if along == 0 else np.array([1.0, 0.0, 0.0])
    cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
    scene.collection.objects.link(cam)
    cam.data.type = 'ORTHO'
    cam.data.ortho_scale = 1.1 * max(size[along], 1.15 * size[2] * width / height)
    cam.data.clip_end = 10 * float(size.max())
    cam.location = tuple(centre + 3 * float(size.max()) * back)
    cam.rotation_euler = (np.pi / 2, 0.0, np.pi / 2 if along == 1 else 0.0)
    scene.camera = cam
    scene.render.resolution_x, scene.render.resolution_y = width, height


def render_frames(frames: list[int], path: Path) -> None:
    """Render ``frames`` with a transparent background and lay them over a white page, later on top."""
    scene = bpy.context.scene
    scene.render.engine = 'BLENDER_WORKBENCH'
    scene.render.film_transparent = True
    shading = scene.display.shading
    shading.light, shading.color_type = 'STUDIO', 'OBJECT'
    page = np.ones((scene.render.resolution_y, scene.render.resolution_x, 3), np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for f in frames:
            scene.frame_set(f)
            scene.render.filepath = str(Path(tmp) / f"{f}.png")
            bpy.ops.render.render(write_still=True)
            image = bpy.data.images.load(scene.render.filepath)
            rgba = np.array(image.pixels[:], np.float32).reshape(image.size[1], image.size[0], 4)
            bpy.data.images.remove(image)
            alpha = rgba[..., 3:]
            page = alpha * rgba[..., :3] + (1.0 - alpha) * page          # straight alpha, over
    out = bpy.data.images.new("picture", page.shape[1], page.shape[0])
    out.pixels[:] = np.concatenate([page, np.ones_like(page[..., :1])], axis=-1).ravel()
    out.filepath_raw, out.file_format = str(path), 'PNG'
    out.save()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default=str(ROOT / "examples" / "cmu_08_01.bvh"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "walk_solved.png"))
    ap.add_argument("--frames", type=int, default=6, help="moments drawn (default 6)")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=380)
    args = ap.parse_args()
    demo = build_scene(args.clip)
    solve_from_panel()
    demo.clip.hide_render = True
    bone_skin(demo.rig)
    size = float(np.ptp(demo.heads[0], axis=0).max())
    track_balls(demo.tracks, 0.012 * size)
    side_camera(demo.heads, args.width, args.height)
    moments = np.linspace(demo.frames[0], demo.frames[-1], args.frames).round().astype(int).tolist()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    render_frames(moments, Path(args.out))
    print(f"rendered frames {moments} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

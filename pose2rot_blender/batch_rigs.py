"""The batch's rig: the file a run solves onto (``--rig RIG.blend`` or ``RIG.bvh``, the open .blend, or each
clip's own skeleton), checked before any clip, opened afresh for each clip, and what a BVH rig says that
Blender's import of it does not keep (rotation orders, End Sites at their joint)."""
from __future__ import annotations

import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RIG_SUFFIXES = (".blend", ".bvh")


def rig_source(rig: str | None, files: list[Path]) -> Path | None:
    """The rig file (None: each BVH or .npz clip's own skeleton, and the other clips fail alone); checks it
    before any work, and that some clip can be converted."""
    import bpy

    from pose2rot_core.errors import Pose2RotError, missing_file

    path = Path(rig) if rig else (Path(bpy.data.filepath) if bpy.data.filepath else None)
    if path is None:
        if not any(f.suffix.lower() in (".bvh", ".npz") for f in files):
            raise Pose2RotError(_no_rig([f.name for f in files]))
        return None
    if path.suffix.lower() not in RIG_SUFFIXES:
        raise Pose2RotError(f"--rig must be a .blend or a .bvh file, got '{path.name}'")
    if path.is_dir():
        raise Pose2RotError(f"--rig '{path}' is a folder: give a .blend or a .bvh file")
    if not path.is_file():
        raise missing_file(path, "rig")
    return path


def check_rig(rig: Path | None, armature: str) -> None:
    """Refuse, before any clip, a rig that no clip could be solved onto (a Pose2RotError naming --rig or
    --armature): a .blend that Blender cannot open, or whose armature --armature does not name (none, or
    several and none named), a .bvh that cannot be read or that Blender's importer cannot read (each
    clip failed alike, after Blender started for it), and an --armature with no .blend rig to pick it
    in. Opens a .blend rig (each clip opens it afresh)."""
    import bpy

    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.errors import Pose2RotError

    _check_armature_flag(rig, armature)
    if rig is None:
        return
    try:
        if rig.suffix.lower() == ".bvh":
            _check_importable(read_bvh(rig), rig)
            return
        bpy.ops.wm.open_mainfile(filepath=str(rig))               # with its window: the scene it opens on
        said = _into_scene(_find_armature(armature, rig.name), rig.name)
        if said:
            print(f"pose2rot batch: note: --rig: {said}", file=sys.stderr)
    except Pose2RotError as e:
        raise Pose2RotError(f"--rig: {e}") from None
    except RuntimeError as e:                                   # Blender's: not a .blend it can open
        said = str(e).strip().removeprefix("Error: ")
        raise Pose2RotError(f"--rig: cannot open '{rig.name}' as a .blend file: Blender says: {said}") from None


#: how the batch asks for the rate of CSV tracks that have none (tracks_csv.csv_rate; the command line: --fps)
RATE_WANTED = ("write the clips' frame time into the rig BVH ('Frame Time: 0.0333333' for 30 fps) and pass it as "
               "--rig, or give the CSV a 'time' column in seconds")


def check_rates(rig: Path | None, files: list[Path]) -> None:
    """Refuse, before any clip, CSV ``files`` without a 'time' column onto a rig BVH that gives no frame
    rate ('Frame Time: 0'), as ``pose2rot solve`` does (tracks_csv.csv_rate, a Pose2RotError): Blender's
    importer keeps the scene's 24 fps, which was written with no word. A CSV that cannot be read is left
    to fail alone, as its clip."""
    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.errors import Pose2RotError
    from pose2rot_core.tracks_csv import SUFFIXES, csv_rate, read_csv_points

    csvs = [f for f in files if f.suffix.lower() in SUFFIXES]
    if rig is None or rig.suffix.lower() != ".bvh" or not csvs or read_bvh(rig).fps:
        return
    for path in csvs:
        try:
            points = read_csv_points(path)
        except Pose2RotError:
            continue
        csv_rate(points.fps, points.positions.shape[0], path.name, rig.name, RATE_WANTED)


def _check_armature_flag(rig: Path | None, armature: str) -> None:
    """Refuse ``--armature`` where the rig is no .blend (``rig`` None: each clip's own skeleton; or a
    .bvh, which holds one armature): it would be ignored."""
    from pose2rot_core.errors import Pose2RotError

    if not armature or (rig is not None and rig.suffix.lower() == ".blend"):
        return
    given = f"the rig is '{rig.name}', a BVH of one skeleton" if rig else "no --rig is given"
    raise Pose2RotError(f"--armature '{armature}' picks an armature in a .blend rig, but {given}: pass "
                        "--rig RIG.blend, or leave --armature out")


def _no_rig(names: list[str]) -> str:
    return (f"no rig for {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}: pass --rig RIG.blend or "
            "--rig RIG.bvh (BVH and .npz tracks need none: their own skeleton is used)")


def _find_armature(name: str, where: str):
    import bpy

    from pose2rot_core.errors import Pose2RotError

    arms = [o for o in bpy.data.objects if o.type == 'ARMATURE']
    arms.sort(key=lambda o: o.library is not None)  # a library override before the linked armature it stands for
    if name:
        named = [o for o in arms if o.name == name]
        if not named:
            raise Pose2RotError(f"no armature object named '{name}' in {where}")
        return named[0]
    arms = [o for o in arms if o.library is None] or arms
    if len(arms) != 1:
        raise Pose2RotError(f"{where} has {len(arms)} armatures"
                            + (f" ({', '.join(a.name for a in arms[:5])})" if arms else "")
                            + ": name one with --armature")
    return arms[0]


def _into_scene(obj, where: str) -> str | None:
    """Make the armature ``obj`` of the rig file ``where`` (open) part of the scene the clip is solved in
    and the saved .blend opens on, and say how (None: it is in the scene the file opens on): where it is
    only in other scenes, the first of them by name becomes that scene (its frame rate, its meshes); where
    it is in none (kept by a fake user), it is linked into the scene the file opens on. The tracks were
    put in a scene the armature is not in, and the saved .blend opened on the tracks alone."""
    import bpy

    context = bpy.context
    scenes = sorted(obj.users_scene, key=lambda sc: sc.name)
    if context.scene in scenes:
        return None
    said = f"the armature '{obj.name}' of {where} is not in the scene '{context.scene.name}' that the file opens on"
    window = context.window or next(iter(context.window_manager.windows), None)
    if scenes and window is not None:
        window.scene = scenes[0]
        return (f"{said}, but in '{scenes[0].name}'" + (f" (and {len(scenes) - 1} more)" if len(scenes) > 1 else "")
                + ": the clips are solved in that scene, which the saved .blend files open on")
    context.scene.collection.objects.link(obj)
    return f"{said}{'' if scenes else ' nor in any other'}: it is linked into it, with the tracks"


def _bvh_rig(path: Path, clip: bool):
    """A fresh file with the armature of BVH ``path`` (Blender's importer) at rest; a file that is
    not a readable BVH fails with the core reader's words first, and so does a ``clip`` without
    motion (see :func:`_importable` for the files the importer reads through a copy)."""
    import bpy

    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.tracks_io import check_has_motion

    parsed = read_bvh(path)
    if clip:
        check_has_motion(parsed)
    _check_importable(parsed, path)
    bpy.ops.wm.read_homefile(use_empty=True, use_factory_startup=True)
    with tempfile.TemporaryDirectory(prefix="pose2rot_rig_") as tmp:
        source = _importable(path, parsed, Path(tmp))
        # the scene at the BVH's frame rate: tracks that carry none (a CSV without a time column) take
        # it, as the command line gives them its --skeleton's; tracks with their own set the scene to it
        bpy.ops.import_anim.bvh(filepath=str(source), update_scene_fps=True, update_scene_duration=False)
    if not parsed.fps:  # 'Frame Time: 0': tracks of one frame take the core's rate, as on the command line
        _play_rateless(bpy.context.scene)
    from mathutils import Matrix

    obj = bpy.context.active_object
    obj.animation_data_clear()
    for pb in obj.pose.bones:
        pb.matrix_basis = Matrix.Identity(4)
    return obj


def _play_rateless(scene) -> None:
    """Set ``scene`` to the rate the core gives tracks of one frame whose files give none (tracks_csv.RATELESS_FPS:
    the frame time ``pose2rot solve`` writes them at), where a rig BVH says 'Frame Time: 0' and Blender's importer
    keeps the scene's own (24 fps); tracks of more frames without a rate are refused first (check_rates)."""
    from pose2rot_core.blender_space import scene_fps
    from pose2rot_core.tracks_csv import RATELESS_FPS

    scene.render.fps, scene.render.fps_base = scene_fps(RATELESS_FPS)


def _check_importable(parsed, path: Path) -> None:
    """Refuse a BVH (``parsed``, read from ``path``) that Blender's importer cannot read: joints
    with one or two rotation channels (hinges)."""
    from pose2rot_core.errors import Pose2RotError

    hinges = [n for n, o in zip(parsed.skeleton.names, parsed.orders) if 0 < len(o) < 3]
    if hinges:
        shown = ", ".join(f"'{n}'" for n in hinges[:3]) + (f" and {len(hinges) - 3} more" if len(hinges) > 3 else "")
        raise Pose2RotError(f"{path.name}: Blender's BVH importer cannot read joints with fewer than three rotation "
                            f"channels ({shown}); convert this file with the pose2rot command line "
                            "(pose2rot solve), which writes such joints with three")


def _skeleton_bvh(clip: Path, folder: Path) -> Path:
    """A BVH in ``folder`` of the skeleton that the ``.npz`` tracks ``clip`` carry, at rest (Y up,
    as BVH files are), End Sites included: the clip's own rig, as a BVH clip's is."""
    import numpy as np

    from pose2rot_core.axes import axis_change
    from pose2rot_core.bvh import write_bvh
    from pose2rot_core.skeleton import Skeleton
    from pose2rot_core.tracks_io import load_tracks

    tracks = load_tracks(clip)
    turn = axis_change(tracks.up_axis, "y")
    skel = tracks.skeleton
    rest = skel.rest_positions @ turn.T
    ends = tracks.end_rest_offsets @ turn.T if tracks.has_ends else None
    path = folder / f"{clip.stem}_rig.bvh"
    write_bvh(path, Skeleton(skel.names, skel.parents, rest), np.broadcast_to(np.eye(3), (1, skel.num_joints, 3, 3)),
              rest[:1], end_parents=tracks.end_parents if tracks.has_ends else None, end_offsets=ends)
    return path


def _importable(path: Path, parsed, folder: Path) -> Path:
    """The BVH ``path`` (``parsed``) as Blender's importer reads it (UTF-8 text, under a UTF-8 name,
    with motion, every brace of the hierarchy on a line of its own): the file itself, or a copy in
    ``folder`` of its text as the core reads it (UTF-16, Latin-1), braces on their own lines
    (_braces_alone), with one frame of zeros where it has none."""
    from pose2rot_core.bvh import bvh_text

    raw = path.read_bytes()
    text = bvh_text(path)
    laid_out = _braces_alone(text)
    try:
        str(path).encode("utf-8")
        raw.decode("utf-8")
        plain = parsed.num_frames > 0 and not raw.startswith(b"\xef\xbb\xbf") and laid_out == text
    except UnicodeError:
        plain = False
    if plain:
        return path
    text = laid_out
    if not parsed.num_frames:
        zeros = " ".join(["0"] * sum(len(c) for c in parsed.channels))
        text = re.sub(r"Frames:\s*0\b", "Frames: 1", text, count=1).rstrip("\n") + "\n" + zeros + "\n"
    copy = folder / "rig.bvh"
    copy.write_text(text, encoding="utf-8")
    return copy


#: the MOTION keyword as a word of the BVH (set apart by white space or braces, as the core reads them)
_MOTION = re.compile(r"(?<![^\s{}])MOTION(?![^\s{}])")


def _braces_alone(text: str) -> str:
    """BVH ``text`` with each brace of its hierarchy that shares a line with other words ('ROOT Hips{',
    'JOINT Spine {', 'OFFSET 0 10 0 }') put on a line of its own, as Blender's importer needs (it reads
    the line after a joint's as its OFFSET); ``text`` itself where every brace has its line."""
    found = _MOTION.search(text)
    end = found.start() if found else len(text)
    head = text[:end]
    if all(line.strip() in ("{", "}") for line in head.splitlines() if "{" in line or "}" in line):
        return text
    return re.sub(r"\s*([{}])\s*", r"\n\1\n", head) + text[end:]


def load_rig(rig: Path | None, clip: Path, armature: str):
    """Open the rig for ``clip`` and return its armature object."""
    import bpy

    from pose2rot_core.cli_layouts import is_point_set
    from pose2rot_core.errors import Pose2RotError

    if rig is None:
        if clip.suffix.lower() == ".npz" and is_point_set(clip, None):
            raise Pose2RotError(f"no rig for {clip.name}: its points have no skeleton of their own: pass --rig "
                                "RIG.blend or --rig RIG.bvh, with --map MAP.json unless the points are named like its "
                                "bones")
        if clip.suffix.lower() == ".npz":
            with tempfile.TemporaryDirectory(prefix="pose2rot_rig_") as tmp:
                return _bvh_rig(_skeleton_bvh(clip, Path(tmp)), clip=False)
        if clip.suffix.lower() != ".bvh":
            raise Pose2RotError(_no_rig([clip.name]))
        return _bvh_rig(clip, clip=True)
    if rig.suffix.lower() == ".bvh":
        return _bvh_rig(rig, clip=False)
    bpy.ops.wm.open_mainfile(filepath=str(rig))
    obj = _find_armature(armature, rig.name)
    _into_scene(obj, rig.name)                        # check_rig said how
    return obj


@dataclass(frozen=True)
class BvhRig:
    """What a BVH rig says that Blender's import of it does not keep: each joint's rotation order, and its
    End Sites as the file has them (``end_joints``: each one's joint by name; ``end_offsets`` [E,3]: from
    that joint, in the file's Y-up axes; ``end_names``): several at one joint, one at a joint with
    children, one of no length, where Blender's bones give one tail per leaf bone."""

    orders: dict[str, str]
    end_joints: tuple[str, ...] = ()
    end_offsets: tuple[tuple[float, float, float], ...] = ()
    end_names: tuple[str, ...] = ()


def bvh_rig(source: Path) -> BvhRig:
    """The BvhRig of the BVH ``source`` (nothing for a .blend rig)."""
    from pose2rot_core.bvh import read_bvh

    if source.suffix.lower() != ".bvh":
        return BvhRig({})
    bvh = read_bvh(source)
    names = bvh.skeleton.names
    return BvhRig(dict(zip(names, bvh.orders)), tuple(names[j] for j in bvh.end_parents),
                  tuple(tuple(map(float, off)) for off in bvh.end_offsets), tuple(bvh.end_names))


def world_matrices(obj, frames):
    """[T,4,4] the armature object ``obj``'s world matrix on each scene frame of ``frames`` [T] (read
    frame by frame where it moves: a parent, constraints, keys; see empties.read_world)."""
    import bpy
    import numpy as np

    from .empties import moves, read_world

    if not moves(obj):
        return np.broadcast_to(np.array(obj.matrix_world, np.float64), (len(frames), 4, 4))
    return read_world(bpy.context.scene, [], frames, follow=obj)[1]


def in_world(sol, world):
    """(``sol``, solved in the armature's space, placed where the armature object's ``world`` matrices
    [T,4,4] show it: the tracks' space; [3,3] what turns and scales an armature-space offset there,
    as on the first frame). The armature's scale s_t is uniform (the solve checks it): its first
    frame's turn C turns every joint's frame and offset, a moving armature's further turn C_t C^T
    turns the root, and s_t scales the offsets of each frame; where it changes over the frames
    (keyed, or a parent's), every joint below the root translates by it (BVH position channels)."""
    import numpy as np
    from dataclasses import replace

    world = np.asarray(world, np.float64)
    if np.array_equal(world, np.broadcast_to(np.eye(4), world.shape)):
        return sol, np.eye(3)
    m = world[:, :3, :3]
    scale = np.cbrt(np.linalg.det(m))                          # [T]
    turn = m / scale[:, None, None]                            # [T,3,3] rotations
    C, s = turn[0], float(scale[0])
    rotations = C @ sol.rotations @ C.T
    rotations[:, 0] = turn @ C.T @ rotations[:, 0]
    root = np.einsum("tij,tj->ti", m, sol.root_translation) + world[:, :3, 3]
    skeleton = replace(sol.skeleton, rest_positions=s * sol.skeleton.rest_positions @ C.T + world[0, :3, 3])
    translating = sol.translating.copy()
    if _scale_range(scale) is not None:
        translating[1:] = True
    return replace(sol, skeleton=skeleton, rotations=rotations, root_translation=root, translating=translating,
                   local_offsets=scale[:, None, None] * sol.local_offsets @ C.T), s * C


def rescaled(world) -> tuple[float, float] | None:
    """(smallest, largest) uniform scale of the armature object's ``world`` matrices [T,4,4] where it
    changes over the frames by more than rig.SCALE_TOLERANCE of the largest, else None."""
    import numpy as np

    return _scale_range(np.cbrt(np.linalg.det(np.asarray(world, np.float64)[:, :3, :3])))


def _scale_range(scale) -> tuple[float, float] | None:
    """rescaled of the uniform scales ``scale`` [T] the world matrices hold."""
    from .rig import SCALE_TOLERANCE

    low, high = float(scale.min()), float(scale.max())
    return (low, high) if high - low > SCALE_TOLERANCE * high else None


def export_bvh(path: Path, plan, rig: BvhRig, order: str | None, up: str, fps: float, world) -> None:
    """The plan's keys as a BVH, in the tracks' space: the rig's joints (bone heads) where the armature
    object's ``world`` matrices [T,4,4] (world_matrices) put them, and End Sites (those of the rig BVH, as
    it has them, where its joints are the plan's bones; else the leaf bones' tails, at the armature's
    scale on the first frame: a warning in ``plan.warnings`` where that scale changes); in ``order``,
    else the rig's rotation order per joint (none known: the default order)."""
    import numpy as np
    from pose2rot_core.axes import axis_change
    from pose2rot_core.export import write_solution

    orders = [rig.orders.get(n, "") for n in plan.bone_names] if rig.orders else []
    index = {n: j for j, n in enumerate(plan.bone_names)}
    solution, placed = in_world(plan.solution, world)
    if rig.end_joints and all(n in index for n in rig.end_joints):   # the plan is Z up, as Blender is
        parents = np.array([index[n] for n in rig.end_joints], np.int64)
        offsets, names = np.array(rig.end_offsets, float) @ axis_change("y", "z").T, list(rig.end_names)
    else:
        parents, offsets, names = plan.end_parents, plan.end_offsets @ placed.T, None
    write_solution(path, solution, fps, "z", up, order or orders, parents, offsets, names)
    sizes = rescaled(world)
    if sizes is not None and len(parents):
        plan.warnings.append(f"the armature object's scale changes over the clip ({sizes[0]:.4g} to {sizes[1]:.4g}): "
                             "the BVH's joints follow it, but its End Sites, which a BVH cannot scale, keep the "
                             "first frame's; key the armature's scale constant for End Sites that fit every frame")

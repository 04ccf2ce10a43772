"""Command line for point layouts and bone maps.

``pose2rot solve POINTS --layout NAME --out OUT.bvh`` solves a layout on its own (a skeleton from the
layout and the clip's bone lengths); ``pose2rot solve POINTS --skeleton RIG.bvh --map MAP.json
[--reference RIG.bvh --reference-frame N] --out OUT.bvh`` drives the rig's own joints;
``pose2rot map --skeleton RIG.bvh --layout NAME|--source POINTS --out MAP.json`` proposes a map.
"""
from __future__ import annotations

import argparse
import sys
import time
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import Pose2RotError
from .automap import NOT_STANDING, map_legs, standing_frame
from .batch_summary import ClipResult
from .axes import AXES
from .layouts import LAYOUTS, Layout, get_layout
from .options import SolveOptions
from .shared_files import SharedFiles
from .tracks_csv import SUFFIXES as CSV_SUFFIXES, csv_text, point_names
from .tracks_io import POINT_SUFFIXES
from .wording import WARNING_PREFIX, counted, percent


#: what to give for a --layout given empty
LAYOUT_WANTED = "a layout name (pose2rot solve --help lists them), or leave --layout out"


def layout_arg(name: str | None) -> Layout | None:
    """The built-in layout that --layout ``name`` names (any case), None where it is not given; an
    unknown name is refused by the flag that gave it, as the batch refuses it."""
    if not name:
        return None
    if name.strip().lower() not in LAYOUTS:
        raise Pose2RotError(f"--layout must be one of {', '.join(LAYOUTS)}, got '{name}'")
    return get_layout(name)


def add_point_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``solve`` for point sets (layouts, maps); --fps, --order and --up are shared."""
    from .cli import refuse_empty

    refuse_empty(p, p.add_argument("--layout", help=f"what the points are: {', '.join(LAYOUTS)} (needed for .npy "
                                                    "files)"), LAYOUT_WANTED)
    refuse_empty(p, p.add_argument("--map", help="MAP.json: which point drives which joint of --skeleton RIG.bvh"),
                 "a bone map file (MAP.json), or leave --map out", exists=True)
    p.add_argument("--up-axis", choices=("auto",) + tuple(AXES),
                   help="up axis of the points (default: the file's, else found from hips and shoulders); "
                        "a negative one as --up-axis -z")


def wants_points(args: argparse.Namespace) -> bool:
    """True when ``solve`` reads a point set rather than tracks on a skeleton (a map is given, or
    see is_point_set)."""
    return bool(args.map) or is_point_set(Path(args.tracks), args.layout, args.skeleton is None)


def cmd_solve_points(args: argparse.Namespace, options: SolveOptions, out: Path, order: str | None,
                     say: Callable[[str], None], files: SharedFiles) -> tuple[ClipResult, str]:
    """``solve`` for point sets: a layout on its own, or a rig through a map (the rig, reference and map
    read by ``files``), as ``options`` say (made fit for points: SolveOptions.for_points); written to the
    checked ``out``, Y up unless --up says otherwise, in the rig's rotation orders unless ``order``, the
    checked --order; each note goes to ``say``. Returns
    (the batch_summary.ClipResult, the line saying what was solved), as cli.solve_one."""
    from .cli import (_parse_frames, _progress_bar, furthest_from_track, rate_notes, solved_clip, step_shown,
                      warnings_place)
    from .export import write_solution
    from .pointsets import check_points, load_points
    from .wording import cli_line, counted, notes_for

    options = options.for_points()
    _check_point_arguments(args)
    report: list[str] = []
    layout = layout_arg(args.layout)
    with step_shown(f"reading {Path(args.tracks).name}"):
        points = load_points(args.tracks, layout, up=args.up_axis, fps=args.fps, report=report, check=False)
    report += rate_notes(points.fps, args.fps is not None)
    start, stop = _parse_frames(args.frames, points.num_frames, points.first_frame)
    points = points.frames(start, stop)
    check_points(points)
    t0 = time.perf_counter()
    update, close = _progress_bar(f"solve ({options.solver})")
    try:
        if args.map:
            sol, tracks, ends, mapped, orders = _solve_on_rig(args, files, points, options, report, update)
        else:
            sol, tracks, ends, mapped = _solve_layout(points, options, report, update)
            orders = None
    finally:
        close()
    seconds = time.perf_counter() - t0
    with step_shown(f"writing {out.name}"):
        write_solution(out, sol, points.fps, "y", args.up or "y", order or orders, ends[0], ends[1])
    err, furthest = furthest_from_track(sol, tracks, mapped)
    where = None if furthest is None else tracks.skeleton.names[furthest]
    lines = notes_for(report + sol.report, "cli")
    for line in lines:
        say(cli_line(line))
    warned = warnings_place() if any(line.startswith(WARNING_PREFIX) for line in lines) else ""
    on_points = _on_points(err, where, bool(args.map) and options.stretch != 'exact', warned)
    return (solved_clip(sol, tracks.skeleton.num_joints, err, seconds, lines),
            f"solved {counted(sol.num_frames, 'frame')} x {counted(tracks.skeleton.num_joints, 'joint')} "
            f"in {seconds:.3f} s; {on_points} -> {out}")


def _on_points(err: float, where: str | None = None, own_proportions: bool = True, warned: str = "") -> str:
    """The summary's account of the joints on points, ``err`` the largest distance of one from its point
    (% of the height; NaN where no joint is on a point with data: a map of virtual points only) and
    ``where`` that joint's name: where a rig keeps its own proportions (``own_proportions``: a rig
    through a map, its bones not stretched onto the points), a distance the check explains by them
    gives no warning, and the reader checks it against where it is (a rig's trunk shorter than the
    performer's puts its neck that far off); after a warning it points to the warnings instead of
    explaining the distance away (``warned``: where they are, cli.warnings_place; '': none)."""
    if np.isnan(err):
        return "no joint on a point of its own to compare (the map gives only virtual points)"
    at = f" at '{where}'" if where else ""
    kept = (f" (see the warnings {warned})" if warned else
            " (other proportions: the rig keeps its own)" if own_proportions else "")
    return f"joints on points at most {err:.2g} % of the height from them{at}{kept}"


def check_map_rig(args: argparse.Namespace) -> None:
    """Refuse --map without the rig it maps onto (--skeleton)."""
    if args.map and not args.skeleton:
        raise Pose2RotError("--map needs the rig it maps onto: --skeleton RIG.bvh")


def _check_point_arguments(args: argparse.Namespace) -> None:
    """Refuse arguments that do not go with points (one line each)."""
    if args.scale is not None:
        raise Pose2RotError("--scale is for tracks on their own skeleton; points driving a rig are scaled by the "
                            "rig's legs, and a layout's skeleton takes the points' own units")
    check_map_rig(args)
    if args.skeleton and not args.map:
        raise Pose2RotError("--skeleton with points needs --map MAP.json (which point drives which joint); "
                            "or leave --skeleton out to solve the layout's own skeleton")
    if not args.map and (args.reference or args.reference_frame is not None):
        raise Pose2RotError("--reference and --reference-frame pick the rig's reference pose, for points driving "
                            "a rig (--skeleton RIG.bvh --map MAP.json); a layout's own skeleton has a T-pose rest")


def _solve_layout(points, options: SolveOptions, report: list[str], progress=None):
    """(the Solution of the layout's own skeleton on ``points``, its tracks, its End Sites (parents,
    offsets), the joints on points); ``progress`` (fraction, message) as the solve goes."""
    from .layout_rig import layout_tracks, leaf_tips
    from .solvers import solve

    tracks = layout_tracks(points, report)
    sol = solve(tracks, options, progress=progress, mirror_checked=True)  # layout_tracks said it in its words
    return sol, tracks, leaf_tips(tracks.skeleton), np.arange(tracks.skeleton.num_joints)


def _solve_on_rig(args: argparse.Namespace, files: SharedFiles, points, options: SolveOptions, report: list[str],
                  progress=None):
    """(the Solution of --skeleton driven by ``points`` through --map, the retargeted tracks, the rig's End
    Sites (parents, offsets), the joints on points [J] bool, the rig's rotation orders), the rig, reference
    and map read by ``files``; ``progress`` (fraction, message) as the solve goes."""
    from .retarget import retarget_tracks, solve_retargeted

    rig = files.rig()
    reference = _rig_reference(args, files)
    bone_map = files.bone_map()
    result = retarget_tracks(points, rig.skeleton, bone_map, "y", reference_rotations=reference,
                             end_parents=rig.end_parents, end_offsets=rig.end_offsets,
                             end_names=tuple(rig.end_names), rig_name=Path(args.skeleton).name,
                             smooth=options.smooth, report=report)
    _advised_standing(report, args, rig, bone_map)
    sol = solve_retargeted(result, options, progress=progress)
    names = rig.skeleton.names
    mapped = np.array([bone_map.is_direct(n) for n in names])
    return sol, result.tracks, (rig.end_parents, rig.end_offsets), mapped, rig.orders


def _rig_reference(args: argparse.Namespace, files: SharedFiles) -> np.ndarray | None:
    """The rig's reference local rotations: --reference BVH (or the rig file itself) at
    --reference-frame, matched by joint name, both read by ``files``; None (the rest pose) when neither
    is given."""
    if args.reference is None and args.reference_frame is None:
        return None
    rig = files.rig()
    source = files.reference() if args.reference else rig
    frame = args.reference_frame or 0
    if not 0 <= frame < source.num_frames:
        raise Pose2RotError(f"--reference-frame {frame} is outside {Path(source.name).name} "
                            f"(0..{source.num_frames - 1})")
    lookup = {n: i for i, n in enumerate(source.skeleton.names)}
    missing = [n for n in rig.skeleton.names if n not in lookup]
    if missing:
        shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
        raise Pose2RotError(f"--reference {args.reference} lacks {counted(len(missing), 'joint')} of the rig "
                            f"({shown}): give a BVH of the --skeleton rig (its joints named as the rig's), or leave "
                            "--reference out (--reference-frame N alone takes that frame of the rig file)")
    return source.rotations[frame][[lookup[n] for n in rig.skeleton.names]]


# ------------------------------------------------------------------------------ map
#: frames of a point set read for the points that are at one place (map_proposal.point_places)
PLACE_FRAMES = 64


def cmd_map(args: argparse.Namespace) -> int:
    """``pose2rot map``: propose MAP.json for a rig from a layout or another skeleton's points."""
    from .bonemap import save_map, unplaced_root
    from .cli import _output_path

    out = _output_path(args.out, (".json",))
    if not (args.layout or args.source):
        raise Pose2RotError("give the points to map from: --layout NAME or --source FILE")
    proposal, clip = propose_for_rig(args)
    rig = clip.skeleton
    if not any(proposal.bone_map.is_direct(b) for b in proposal.bone_map.bones):  # a virtual root alone drives nothing
        raise Pose2RotError(
            f"no joint of {Path(args.skeleton).name} matches a point of {args.layout or Path(args.source).name} "
            f"(points {', '.join(proposal.unused[:4])}{' ...' if len(proposal.unused) > 4 else ''}); nothing written: "
            "check the rig and the points, or pair them by hand in MAP.json (docs/RETARGETING.md)")
    save_map(out, proposal)
    m = proposal.bone_map
    direct = sum(m.is_direct(b) for b in m.bones)
    print(f"{Path(args.skeleton).name} ({proposal.family} rig): {direct} joints on points, "
          f"{len(m.bones) - direct} on virtual points -> {out}")
    standing = NOT_STANDING in proposal.doubtful.values()  # only then read the rig file's frames
    advice = _standing_advice(args, clip, proposal.legs) if standing else ""
    for bone, why in proposal.doubtful.items():
        print(f"doubtful: {bone}: {why}" + (f" ({advice})" if why == NOT_STANDING else ""))
    if proposal.between:
        print(f"no point, solved between mapped joints: {', '.join(proposal.between)}")
    if proposal.kept:
        print(f"no point, keep the reference pose: {len(proposal.kept)} joints "
              f"({', '.join(proposal.kept[:8])}{' ...' if len(proposal.kept) > 8 else ''})")
    if proposal.unused:
        print(f"points not used: {', '.join(proposal.unused)}")
    stops = unplaced_root(rig.names, rig.body_placers, m)
    if stops:
        print(f"warning: {stops}", file=sys.stderr)
    return 0


def _advised_standing(report: list[str], args: argparse.Namespace, clip, bone_map) -> None:
    """``report``'s warning that the rig's reference pose does not stand (map_checks) with how to give it
    one (_standing_advice: a frame of the rig file that stands, where there is one), in place."""
    from .map_checks import NOT_STANDING_POSE

    for i, line in enumerate(report):
        if NOT_STANDING_POSE in line:
            legs = map_legs(bone_map.bones, clip.skeleton.names, clip.skeleton.parents)
            report[i] = f"{line} ({_standing_advice(args, clip, legs)})"


def _standing_advice(args: argparse.Namespace, clip, legs: list) -> str:
    """How to give the rig (``clip``, read from --skeleton) a standing reference pose: the rig file's own
    frame whose mapped ``legs`` stand straightest (automap.standing_frame), where no --reference or
    --reference-frame was given and one stands; else the flags to give one."""
    frame = None
    if args.reference is None and args.reference_frame is None:
        frame = standing_frame(clip.forward()[1], legs, np.asarray(AXES["y"], float))
    if frame is None:
        return "--reference RIG.bvh --reference-frame N"
    return f"frame {frame} of {Path(args.skeleton).name} stands: add --reference-frame {frame}"


def propose_for_rig(args: argparse.Namespace):
    """(the Proposal for ``--skeleton`` from ``--layout`` or ``--source``, see pose2rot_core.automap;
    the rig's clip as read). Both given: the source's points with data, read as that layout (a .npy
    holds bare numbers, as ``solve POINTS --layout NAME`` reads it)."""
    from .map_proposal import EndSites, propose

    files = SharedFiles(args.skeleton, args.reference, None)
    rig = files.rig()
    reference = _rig_reference(args, files)
    layout = layout_arg(args.layout)
    where = None
    if args.source:
        points, parents, layout, where = _source_points(args.source, layout)
    else:
        points, parents = layout.points, None
    proposal = propose(rig.skeleton, "y", points, layout, parents, EndSites.of(rig), reference, where)
    proposal.bone_map.extra = {"layout": args.layout or Path(args.source).name}
    return proposal, rig


def _source_points(path: str, layout: Layout | None = None
                   ) -> tuple[tuple[str, ...], list[int] | None, Layout | None, np.ndarray]:
    """(point names with data, their parents or None, their layout or None, where they are [F,P,3]) of
    another skeleton's BVH or pose2rot tracks .npz (its joints and End Sites, a tree, at rest: F = 1)
    or a point set (a FreeMoCap folder, .npz, .csv, or .npy read as ``layout``, named by their layout
    when they have one; up to PLACE_FRAMES of its frames); points without any data are left out (a
    FreeMoCap recording without hand files maps the body's hand landmarks)."""
    from .map_proposal import names_and_parents, reference_positions
    from .pointsets import load_points

    tree = _source_tree(Path(path)) if layout is None else None
    if tree is not None:
        skeleton, ends = tree
        names, parents = names_and_parents(skeleton, ends)
        return tuple(names), parents, None, reference_positions(skeleton, None, ends)[None]
    points = load_points(path, layout, check=False)
    has_data = np.isfinite(points.positions).all(-1).any(0)
    present = tuple(n for n, seen in zip(points.names, has_data) if seen)
    if not present:
        raise Pose2RotError(f"{Path(path).name}: no point has data in any frame (every value is NaN, or there are "
                            "no frames): there is nothing to map; give --source points with data")
    frames = np.unique(np.linspace(0, points.num_frames - 1, PLACE_FRAMES).round().astype(int))
    return present, None, points.layout, points.positions[frames][:, has_data]


def _source_tree(path: Path):
    """(skeleton, EndSites or None) of a BVH or of a pose2rot tracks .npz (``joint_names`` and no
    ``point_names``: its joints' tree, which its points alone lose, as ``pose2rot tracks`` writes it; read
    as loose points, a tracks file of the Bandai walk left its ``Chest`` unmapped and the Mixamo spine
    between its ``Spine`` and ``Neck`` folded by up to 97 degrees), else None."""
    from .bvh import read_bvh
    from .map_proposal import EndSites
    from .tracks_npz import load_npz

    suffix = path.suffix.lower()
    if suffix == ".bvh":
        clip = read_bvh(path)
        return clip.skeleton, EndSites.of(clip)
    if suffix != ".npz" or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if "point_names" in data.files or "joint_names" not in data.files:
                return None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):
        pass                                                        # empty, cut short: load_npz says so
    tracks = load_npz(path)
    ends = EndSites(tracks.end_parents, tracks.end_rest_offsets, tracks.end_names) if tracks.has_ends else None
    return tracks.skeleton, ends


def register(sub) -> None:
    """Add the ``map`` subcommand."""
    from .cli import add_command, refuse_empty

    p = add_command(sub, "map", "propose a bone map (MAP.json) for a rig from a layout or another skeleton")
    refuse_empty(p, p.add_argument("--skeleton", required=True, help="the rig (BVH)"), "the rig's BVH file", exists=True)
    refuse_empty(p, p.add_argument("--layout", help=f"the points' layout: {', '.join(LAYOUTS)}"),
                 "a layout name (listed in pose2rot map --help), or --source FILE instead")
    refuse_empty(p, p.add_argument(
        "--source", help="or the points themselves: another skeleton's BVH, a FreeMoCap folder, a point set "
                         ".npz/.csv, a .npy with --layout (points without data are left out)"),
        "a BVH file, FreeMoCap folder or point set file, or --layout NAME instead", exists=True)
    refuse_empty(p, p.add_argument("--reference", help="BVH whose pose at --reference-frame is the rig's "
                                                       "reference pose"), "a BVH file, or leave --reference out",
                 exists=True)
    p.add_argument("--reference-frame", type=int, metavar="N", help="frame of the reference pose (default: the rest "
                                                                    "pose)")
    p.add_argument("--out", required=True, help="MAP.json to write")
    p.set_defaults(func=cmd_map)


def is_point_set(path: Path, layout: str | None, by_names: bool = True) -> bool:
    """Whether ``path`` is read as a point set: any file given with a --layout, a .npy file, a
    FreeMoCap recording folder, a .npz of ``point_names`` (tracks name ``joint_names``), or (``by_names``:
    no rig given for CSV tracks) a .csv point set named exactly as a layout's points (RETARGETING.md:
    read as that layout)."""
    from .layouts import named_layout
    from .pointsets import is_freemocap_folder

    if bool(layout) or path.suffix.lower() in POINT_SUFFIXES or is_freemocap_folder(path):
        return True
    if path.suffix.lower() == ".npz":
        return _names_points(path)
    names = _point_names_of(path) if by_names else []
    return bool(names) and named_layout(names) is not None


def _names_points(path: Path) -> bool:
    """Whether the .npz archive ``path`` has ``point_names`` and no ``joint_names`` (by its list of arrays
    alone: names stored as a pickle are the point set reader's to refuse); False where it cannot be read
    (its reader says why)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return "point_names" in data.files and "joint_names" not in data.files
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, TypeError):  # TypeError: one np.save array, no archive
        return False


def _point_names_of(path: Path) -> list[str]:
    """The point names a .csv file's header (``<point>.x`` columns) gives, read cheaply; [] for anything
    else or what cannot be read (the file's own reader says why)."""
    suffix = path.suffix.lower()
    try:
        if suffix in CSV_SUFFIXES:
            with path.open("rb") as f:
                text = csv_text(f.read(1 << 16), path.name)
            line = next((row for row in text.splitlines() if row.strip()), "")
            return point_names(line.split(max(",;\t", key=line.count)))
    except (OSError, ValueError, EOFError, zipfile.BadZipFile):        # empty, cut short: its reader says so
        return []
    return []


def point_info(path: Path, layout: str | None,
               fps: float | None = None) -> tuple[np.ndarray, str, tuple[str, ...], float]:
    """Print the first line of ``pose2rot info`` for a point set (at ``fps`` where given, else its own
    rate); (positions [T,P,3] along the file's own axes, its up axis without its sign (x, y or z: the height
    along it is the same either way), point names, the frame rate read)."""
    from .placeholders import gate_low_confidence
    from .pointsets import load_points
    from .wording import cli_line, notes_for

    report: list[str] = []
    points = load_points(path, layout_arg(layout), fps=fps, report=report, check=False)
    seen = np.isfinite(gate_low_confidence(points.positions, points.confidence)[0]).all(-1)  # as solve counts them
    some = seen.any(axis=0)  # points without data in any frame (a hand file not written) are counted apart
    missing = 100.0 - seen[:, some].mean() * 100.0 if some.any() else 100.0
    layout_name = f" (layout {points.layout.name})" if points.layout else ""
    empty = f", {int((~some).sum())} without data" if not some.all() else ""
    print(f"{path.name}: points, {len(points.names)} points{layout_name}{empty}, {points.num_frames} frames at "
          f"{points.fps:.4g} fps, up axis {points.up}, {percent(missing)} % samples missing"
          f"{' (of the points with data)' if empty else ''}")
    for line in notes_for(report, "cli"):
        print(cli_line(line))
    return points.positions, points.up.lstrip("+-"), points.names, points.fps

"""Retargeting benchmark: sparse points to a dense rig, one skeleton onto another, speed.

    OMP_NUM_THREADS=1 python bench/retarget.py [--data ../shared/data/bvh] [--frames 20000] [--only speed]
                                               [--repeat 3]

(a) Sparse to dense. From a dense dev clip take only the points a layout would give (the SMPL-22
    joints; MediaPipe-like landmarks, whose map puts the root and neck on means of hips and
    shoulders), drive the clip's own rig through the automatic map, and compare with the clip:
    position error of the joints on points (max, % of height), rotation error (mean local angle)
    of the mapped bones (a joint on a point with a child or tip on a point) and of the joints solved
    in between against a dense solve of the same clip (all joints and End Sites, reference frame 0),
    and flips (frame-to-frame jumps of more than 30 degrees that the clip does not make, none across a
    cut such as a bind-pose first frame); the last column
    compares the mapped bones with the clip's own rotations, for ours and the dense solve. The plain
    baseline gives the solver the same points on their joints and nothing else (no filling, no
    scaling, no shared twist).
(b) Across skeletons: the CMU clip onto the Mixamo rig through the automatic map (--source): flips
    (jumps of more than 30 degrees per frame beyond the source's largest step plus 15), and foot
    sliding: horizontal speed of each ankle in the frames where the source's ankle is planted (near
    its lowest, slow), in % of the height per second, rig against source.
(c) Noise: the points of (a) with seeded Gaussian jitter (0.5 % and 1 % of the height per axis):
    flips, mean position error of the joints on points, jitter of the solution over the clip's own.
(d) Speed: a HumanML3D-style .npy (SMPL-22 joints in metres, 20 fps; the Mixamo clip's joints played
    back and forth) to BVH, every stage on one thread, each stage's best of --repeat runs (wall-clock
    and CPU seconds: on a machine shared with other work the wall clock runs ahead of the CPU time).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "core"))

from pose2rot_core.automap import canonical_names  # noqa: E402
from pose2rot_core.bonemap import BoneMap  # noqa: E402
from pose2rot_core.bvh import BvhClip, read_bvh, write_bvh  # noqa: E402
from pose2rot_core.evaluate import count_flips, rotation_steps  # noqa: E402
from pose2rot_core.flips import steps_within_pieces  # noqa: E402
from pose2rot_core.layout_rig import layout_tracks, leaf_tips  # noqa: E402
from pose2rot_core.layouts import get_layout  # noqa: E402
from pose2rot_core.map_proposal import EndSites, propose, reference_positions  # noqa: E402
from pose2rot_core.map_proposal import names_and_parents as rig_names_and_parents  # noqa: E402
from pose2rot_core.pointsets import PointSet, load_points, tracks_as_points  # noqa: E402
from pose2rot_core.retarget import retarget_tracks, solve_retargeted  # noqa: E402
from pose2rot_core.rotations import geodesic_angle  # noqa: E402
from pose2rot_core.solvers import solve  # noqa: E402
from pose2rot_core.tracks import Tracks  # noqa: E402
from pose2rot_core.tracks_io import tracks_from_bvh  # noqa: E402

DENSE_CLIPS = ("iclone-cmu_006_05", "iclone-cmu_007_03", "mixamo_joe_salsa-dancing-6", "cmu_08_01")
LAYOUTS = ("humanml3d22", "mediapipe33")
SPEED_CLIP = "mixamo_joe_salsa-dancing-6"       # (d): its humanml3d22 joints played back and forth
UP = np.array([0.0, 1.0, 0.0])


def names_and_parents(clip: BvhClip) -> tuple[list[str], list[int]]:
    """Names and parents of the clip's joints, then its End Sites."""
    return rig_names_and_parents(clip.skeleton, EndSites.of(clip))


def layout_points(clip: BvhClip, layout_name: str) -> PointSet:
    """The points of ``layout_name`` that the clip's rig has a joint (or End Site) for, at those joints."""
    layout = get_layout(layout_name)
    names, parents = names_and_parents(clip)
    canon, _ = canonical_names(names, parents)
    joint_of = {c: n for n, c in canon.items()}
    full = tracks_as_points(tracks_from_bvh(clip))
    chosen = [p for p in layout.points if layout.canonical.get(p) in joint_of]
    X = np.stack([full.positions[:, full.names.index(joint_of[layout.canonical[p]])] for p in chosen], axis=1)
    return PointSet(tuple(chosen), X, clip.fps, "y", source=layout_name)


def automatic_map(clip: BvhClip, points: PointSet, layout_name: str | None, reference: int | None,
                  point_parents: list[int] | None = None) -> BoneMap:
    """The automatic map of the clip's rig (in its frame ``reference``, None: at rest) onto ``points``
    (a layout's, or another skeleton's joints and End Sites with ``point_parents``)."""
    return propose(clip.skeleton, "y", points.names, get_layout(layout_name) if layout_name else None, point_parents,
                   EndSites.of(clip), None if reference is None else clip.rotations[reference]).bone_map


def mapped_bones(clip: BvhClip, bone_map: BoneMap) -> tuple[list[int], list[int], list[int]]:
    """(direct joints, mapped bones: direct joints with a direct child or tip, joints solved between)."""
    sk = clip.skeleton
    direct = [j for j, n in enumerate(sk.names) if bone_map.is_direct(n)]
    tips = {int(p) for p, n in zip(clip.end_parents, clip.end_names) if n in bone_map.bones}
    bones = [j for j in direct if j in tips or any(bone_map.is_direct(sk.names[c]) for c in sk.children[j])]
    lead = np.array([n in bone_map.bones for n in sk.names])
    mapped = lead.copy()
    for j in range(sk.num_joints - 1, 0, -1):
        lead[sk.parents[j]] |= lead[j]
    return direct, bones, list(np.flatnonzero(lead & ~mapped))


@dataclass(frozen=True)
class Case:
    """One clip and layout of sections (a) and (c): the layout's points, the automatic map (the clip's
    rig in frame 0) and the clip's joint positions [T,J,3]."""

    clip: BvhClip
    layout: str
    points: PointSet
    bone_map: BoneMap
    positions: np.ndarray


def make_case(clip: BvhClip, layout_name: str, positions: np.ndarray) -> Case:
    """The Case of ``clip`` (joint positions ``positions``, its FK) and ``layout_name``."""
    points = layout_points(clip, layout_name)
    return Case(clip, layout_name, points, automatic_map(clip, points, layout_name, 0), positions)


def sparse_case(clip: BvhClip, layout_name: str, case: Case | None = None) -> dict:
    """Section (a) for one clip and layout: ours and the plain baseline against the dense solve
    (``case``: their Case when it is already made)."""
    case = case or make_case(clip, layout_name, clip.fk())
    points, bone_map = case.points, case.bone_map
    result = retarget_tracks(points, clip.skeleton, bone_map, "y", clip.rotations[0], 0, clip.end_parents,
                             clip.end_offsets, tuple(clip.end_names))
    ours = solve_retargeted(result)
    dense = solve(tracks_from_bvh(clip, reference_frame=0))
    direct, bones, between = mapped_bones(clip, bone_map)
    truth = result.scale * case.positions
    plain = solve(plain_tracks(clip, points, bone_map))
    out = {"clip": Path(clip.name).stem, "layout": case.layout, "points": len(points.names),
           "direct": len(direct), "between": len(between)}
    within = steps_within_pieces(case.positions, clip.skeleton.height)  # no flips across the clip's cuts
    for label, sol, ref_pos, scale in (("ours", ours, truth, result.scale), ("plain", plain, case.positions, 1.0)):
        err = np.linalg.norm(sol.positions[:, direct] - ref_pos[:, direct], axis=-1).max()
        ang = np.degrees(geodesic_angle(sol.rotations, dense.rotations))
        out[label] = {"pos": 100 * err / (clip.skeleton.height * scale), "bones": float(ang[:, bones].mean()),
                      "between": float(ang[:, between].mean()) if between else float("nan"),
                      "flips": count_flips(sol.rotations, clip.rotations, steps=within)}
    out["dense_flips"] = count_flips(dense.rotations, clip.rotations, steps=within)
    out["vs_clip"] = tuple(float(np.degrees(geodesic_angle(s.rotations, clip.rotations))[:, bones].mean())
                           for s in (ours, dense))
    return out


def plain_tracks(clip: BvhClip, points: PointSet, bone_map: BoneMap) -> Tracks:
    """The baseline: every joint mapped straight to a point gets it (virtual points are evaluated the
    same way), all others are missing; reference frame 0."""
    from pose2rot_core.bonemap import evaluate_sources

    values = evaluate_sources(bone_map.bones, points.positions, points.names, bone_map.points)
    sk = clip.skeleton
    P = np.full((clip.num_frames, sk.num_joints, 3), np.nan)
    ends = [k for k, n in enumerate(clip.end_names) if n in values]
    for j, n in enumerate(sk.names):
        if n in values:
            P[:, j] = values[n]
    kw = {}
    if ends:
        kw = dict(end_positions=np.stack([values[clip.end_names[k]] for k in ends], 1),
                  end_parents=clip.end_parents[ends], end_rest_offsets=clip.end_offsets[ends])
    return Tracks(sk, P, fps=clip.fps, reference_frame=0, reference_rotations=clip.rotations[0], **kw)


def noisy_case(case: Case, noise: float) -> dict:
    """Section (c): the points of (a) with seeded Gaussian jitter of ``noise`` x height per axis."""
    from pose2rot_core.evaluate import jitter

    clip, points = case.clip, case.points
    rng = np.random.default_rng(0)
    noisy = replace(points, positions=points.positions + rng.normal(scale=noise * clip.skeleton.height,
                                                                   size=points.positions.shape))
    result = retarget_tracks(noisy, clip.skeleton, case.bone_map, "y", clip.rotations[0], 0, clip.end_parents,
                             clip.end_offsets, tuple(clip.end_names))
    sol = solve_retargeted(result)
    direct = mapped_bones(clip, case.bone_map)[0]
    err = np.linalg.norm(sol.positions[:, direct] - result.scale * case.positions[:, direct], axis=-1).mean()
    flips = count_flips(sol.rotations, clip.rotations, steps=steps_within_pieces(case.positions, clip.skeleton.height))
    return {"flips": flips, "pos": 100 * err / clip.skeleton.height,
            "jitter": jitter(sol.rotations) / jitter(clip.rotations)}


# ----------------------------------------------------------------------------- (b)
def cross_case(source: BvhClip, rig: BvhClip) -> dict:
    """Section (b): the source clip onto the rig (rest pose as the reference)."""
    points = tracks_as_points(tracks_from_bvh(source), Path(source.name).name)
    bone_map = automatic_map(rig, points, None, None, names_and_parents(source)[1])
    result = retarget_tracks(points, rig.skeleton, bone_map, "y", None, None, rig.end_parents, rig.end_offsets,
                             tuple(rig.end_names))
    sol = solve_retargeted(result)
    plain = solve(plain_tracks(_with_frames(rig, source.num_frames, source.fps), points, bone_map))
    src_steps = rotation_steps(source.rotations).max(axis=1)                    # [T-1] largest source step
    out = {"source": Path(source.name).stem, "rig": Path(rig.name).stem, "scale": result.scale}
    feet = _ankles(source, rig, bone_map)
    src_feet = source.fk()[:, [f for f, _ in feet]]
    src_slide = _sliding(src_feet, source.fps, source.skeleton.height)
    contacts, rig_height = _contacts(src_feet, source.fps, source.skeleton.height), _height(rig)
    for label, s in (("ours", sol), ("plain", plain)):
        steps = rotation_steps(s.rotations)
        flips = int(((steps > 30.0) & (steps > src_steps[:, None] + 15.0)).sum())
        rig_slide = _sliding(s.positions[:, [r for _, r in feet]], source.fps, rig_height, contacts=contacts)
        out[label] = {"flips": flips, "slide": rig_slide}
    out["source_slide"] = src_slide
    return out


def _with_frames(rig: BvhClip, frames: int, fps: float) -> BvhClip:
    """The rig with a rest-pose motion of ``frames`` frames (for the baseline's reference)."""
    J = rig.skeleton.num_joints
    return replace(rig, rotations=np.repeat(np.eye(3)[None, None], frames, 0).repeat(J, 1), fps=fps,
                   root_translation=np.zeros((frames, 3)), local_offsets=np.repeat(rig.local_offsets[:1], frames, 0))


def _height(clip: BvhClip) -> float:
    return float(np.ptp(reference_positions(clip.skeleton, None, EndSites.of(clip)) @ UP))


def _ankles(source: BvhClip, rig: BvhClip, bone_map: BoneMap) -> list[tuple[int, int]]:
    """(source joint, rig joint) of both ankles."""
    names, parents = names_and_parents(rig)
    canon, _ = canonical_names(names, parents)
    out = []
    for side in ("left", "right"):
        bone = next(n for n, c in canon.items() if c == f"{side}_ankle")
        out.append((source.skeleton.names.index(bone_map.bones[bone]), rig.skeleton.names.index(bone)))
    return out


def _contacts(feet: np.ndarray, fps: float, height: float) -> np.ndarray:
    """[T-1,F] frames where a foot [T,F,3] is planted: within 2 % of the height of its lowest and
    slower than 20 % of the height per second."""
    h = feet @ UP
    speed = _horizontal_speed(feet, fps)
    low = (h - h.min(axis=0) < 0.02 * height)[1:]
    return low & (speed < 0.2 * height)


def _horizontal_speed(feet: np.ndarray, fps: float) -> np.ndarray:
    step = np.diff(feet, axis=0)
    step -= (step @ UP)[..., None] * UP
    return np.linalg.norm(step, axis=-1) * fps


def _sliding(feet: np.ndarray, fps: float, height: float, contacts: np.ndarray | None = None) -> float:
    """Mean horizontal speed (% of the height per second) of planted feet [T,F,3]."""
    if contacts is None:
        contacts = _contacts(feet, fps, height)
    return float(100 * _horizontal_speed(feet, fps)[contacts].mean() / height)


# ----------------------------------------------------------------------------- (d)
SPEED_STAGES = ("load", "skeleton", "solve", "write")


def speed_case(points: PointSet, frames: int, repeat: int = 3) -> dict:
    """Section (d): seconds per stage for a HumanML3D-style .npy of ``frames`` frames (the clip's
    humanml3d22 ``points`` played back and forth), each stage's best of ``repeat`` runs: wall-clock
    seconds under the stage's name, CPU seconds of this process under ``cpu``."""
    X = points.positions / 100.0                                     # cm -> m
    order = np.concatenate([np.arange(len(X)), np.arange(len(X) - 2, 0, -1)])
    X = X[np.resize(order, frames)]
    with tempfile.TemporaryDirectory() as tmp:
        npy, bvh = Path(tmp) / "motion.npy", Path(tmp) / "motion.bvh"
        np.save(npy, X.astype(np.float32))
        runs = np.array([_speed_run(npy, bvh) for _ in range(repeat)])  # [repeat, 2, stages]
    wall, cpu = runs.min(axis=0)
    out = {"frames": frames, "repeat": repeat, "cpu": dict(zip(SPEED_STAGES, cpu), total=cpu.sum())}
    return {**out, **dict(zip(SPEED_STAGES, wall)), "total": wall.sum()}


def _speed_run(npy: Path, bvh: Path) -> np.ndarray:
    """[2, stages] wall-clock and CPU seconds of each of SPEED_STAGES in one .npy -> BVH conversion
    (as ``pose2rot solve --layout`` runs them)."""
    marks = [(time.perf_counter(), time.process_time())]
    loaded = load_points(npy, get_layout("humanml3d22"))
    marks.append((time.perf_counter(), time.process_time()))
    tracks = layout_tracks(loaded)
    marks.append((time.perf_counter(), time.process_time()))
    sol = solve(tracks, stretch="off")
    marks.append((time.perf_counter(), time.process_time()))
    ends, tips = leaf_tips(sol.skeleton)
    write_bvh(bvh, sol.skeleton, sol.rotations, sol.root_translation, fps=loaded.fps, end_parents=ends,
              end_offsets=tips)
    marks.append((time.perf_counter(), time.process_time()))
    return np.diff(np.array(marks), axis=0).T


# ----------------------------------------------------------------------------- report
def _f(x: float, digits: int = 2) -> str:
    return "–" if not np.isfinite(x) else f"{x:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "bvh"))
    ap.add_argument("--frames", type=int, default=20000, help="frames of the speed test")
    ap.add_argument("--only", choices=("speed",), help="run only one section: speed, (d)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the speed test (each stage's best is shown)")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if args.only == "speed":
        points = layout_points(read_bvh(data / f"{SPEED_CLIP}.bvh"), "humanml3d22")
    else:
        points = report_accuracy(data)
    report_speed(speed_case(points, args.frames, args.repeat))
    return 0


def report_accuracy(data: Path) -> PointSet:
    """Print sections (a) to (c); the humanml3d22 points of the speed clip, for (d)."""
    clips = {name: read_bvh(data / f"{name}.bvh") for name in DENSE_CLIPS}
    cases = {}
    for name, clip in clips.items():
        positions = clip.fk()
        cases.update({(name, layout): make_case(clip, layout, positions) for layout in LAYOUTS})
    print("(a) sparse points -> the clip's own rig; each cell: ours / plain baseline\n")
    print("| clip | layout | points | joints on points / solved between | max position error % | "
          "mapped bones ° vs dense | in-between ° vs dense | flips (dense solve's) | mapped bones ° vs the clip: "
          "ours / dense |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, layout), case in cases.items():
        r = sparse_case(case.clip, layout, case)
        o, p = r["ours"], r["plain"]
        print(f"| {name} | {layout} | {r['points']} | {r['direct']} / {r['between']} | "
              f"{_f(o['pos'], 3)} / {_f(p['pos'], 3)} | {_f(o['bones'])} / {_f(p['bones'])} | "
              f"{_f(o['between'])} / {_f(p['between'])} | {o['flips']} / {p['flips']} ({r['dense_flips']}) | "
              f"{_f(r['vs_clip'][0])} / {_f(r['vs_clip'][1])} |")
    print("\n(b) across skeletons; each cell: ours / plain baseline\n")
    print("| source -> rig | scale | flips | foot sliding, % of height / s (source's) |")
    print("|---|---|---|---|")
    r = cross_case(clips["cmu_08_01"], clips["mixamo_joe_salsa-dancing-6"])
    print(f"| {r['source']} -> {r['rig']} | {r['scale']:.3f} | {r['ours']['flips']} / {r['plain']['flips']} | "
          f"{_f(r['ours']['slide'])} / {_f(r['plain']['slide'])} ({_f(r['source_slide'])}) |")
    print("\n(c) noisy points (Gaussian, per axis, % of the height): flips, mean position error of the joints "
          "on points %, jitter x the clip's\n")
    print("| clip | layout | 0.5 % noise | 1 % noise |")
    print("|---|---|---|---|")
    for (name, layout), case in cases.items():
        cells = [noisy_case(case, n) for n in (0.005, 0.01)]
        print(f"| {name} | {layout} | " + " | ".join(
            f"{c['flips']} flips, {c['pos']:.2f} %, {c['jitter']:.2f}" for c in cells) + " |")
    return cases[SPEED_CLIP, "humanml3d22"].points


def report_speed(s: dict) -> None:
    """Print section (d) from :func:`speed_case`'s seconds per stage."""
    print(f"\n(d) HumanML3D .npy -> BVH, {s['frames']} frames x 22 joints, one thread, best of {s['repeat']} runs\n")
    print("| stage | s | CPU s | frames/s |")
    print("|---|---|---|---|")
    for stage in SPEED_STAGES + ("total",):
        print(f"| {stage} | {s[stage]:.3f} | {s['cpu'][stage]:.3f} | {s['frames'] / s[stage]:,.0f} |")


if __name__ == "__main__":
    sys.exit(main())

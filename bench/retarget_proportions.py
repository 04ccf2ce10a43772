"""Retargeting onto a rig of other proportions: generated walks, each layout's points, a Mixamo-named rig.

    OMP_NUM_THREADS=1 python bench/retarget_proportions.py [--seeds 12] [--noise 0.005]

Performers are the tests' generated humanoids (tests/_humanoid.py: random proportions around a
1.75-unit human, three spine joints, a 90-frame walk at 30 fps, seeds 3, 4, ...); their joint centres
give the points of each layout that has them (no landmarks such as the nose or heels). They drive one
rig of other proportions (Mixamo names, seed 1) through the automatic map, clean and with seeded
Gaussian jitter (``--noise``, fraction of the height per axis). Per layout, over the seeds: the largest
local turn of any joint in one frame (median and worst seed; the performers' own stay under 5
degrees), the turns over 30 degrees, how many of those the safety check reports as flips, and on how
many performers it warns that joints end further from their points than it explains (none should:
the rig's own shape is no fault). Needs no data files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "core"), str(ROOT / "tests")]

from _humanoid import humanoid, walker_points  # noqa: E402
from pose2rot_core.automap import propose_map  # noqa: E402
from pose2rot_core.evaluate import rotation_steps  # noqa: E402
from pose2rot_core.layouts import get_layout  # noqa: E402
from pose2rot_core.pointsets import PointSet  # noqa: E402
from pose2rot_core.retarget import retarget_tracks, solve_retargeted  # noqa: E402

LAYOUTS = ("h36m17", "halpe26", "coco17", "mediapipe33", "humanml3d22")
FLIP = 30.0


def drive(points: PointSet, layout_name: str, noisy: bool) -> tuple[float, int, int, bool]:
    """(largest local turn in one frame, turns over FLIP, of those reported as flips, whether a joint
    is reported further from its point than the check explains) on the rig."""
    rig, _ = humanoid(np.random.default_rng(1), spine=3, naming="mixamo")
    layout = get_layout(layout_name)
    bone_map = propose_map(rig.names, list(rig.parents), rig.num_joints, rig.rest_positions, np.array([0.0, 1, 0]),
                           points.names, layout.canonical, layout.virtual, layout.landmarks).bone_map
    sol = solve_retargeted(retarget_tracks(points, rig, bone_map), smooth="auto" if noisy else "off")
    steps = rotation_steps(sol.rotations)
    big = steps > FLIP
    return float(steps.max()), int(big.sum()), int((big & sol.check.flips).sum()), bool(sol.check.far.any())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=12, help="performers (seeds 3, 4, ...)")
    ap.add_argument("--noise", type=float, default=0.005, help="jitter of the noisy rows (fraction of the height)")
    args = ap.parse_args(argv)
    print("| layout | points | largest turn in a frame, median / worst seed (°) | turns over 30° | reported | "
          "position warnings |")
    print("|---|---|---|---|---|---|")
    for noise in (0.0, args.noise):
        for name in LAYOUTS:
            rows = [drive(walker_points(seed, name, noise), name, noise > 0) for seed in range(3, 3 + args.seeds)]
            largest = [r[0] for r in rows]
            label = "clean" if noise == 0 else f"{100 * noise:g} % jitter"
            print(f"| {name} | {label} | {np.median(largest):.1f} / {max(largest):.1f} | "
                  f"{sum(r[1] for r in rows)} | {sum(r[2] for r in rows)} | {sum(r[3] for r in rows)} of {len(rows)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

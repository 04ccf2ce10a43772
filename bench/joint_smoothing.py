"""Benchmark: what the smoothing down the chain (solvers.joint_smoothing) costs and buys on noisy tracks.

For each clip (``--clips``, default the development clips in ``../shared/data/bvh``) with
``--noise`` jitter (a fraction of the height, seed 0): the full ``solve`` timed on one thread with
and without that last step, in the same process (best of ``--repeats``), its time ratio, and the
mean and largest position error against the clean positions both ways (% of the height). With
``--baseline first-scale`` the baseline is the step with the motion's scale as first read, the round
of the tracks' likelihood that raises it left out (what that round costs and buys).

Run: python bench/joint_smoothing.py [--clips A.bvh ...] [--noise 0.005] [--repeats 1] [--baseline none|first-scale]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import pose2rot_core.solvers as solvers  # noqa: E402
from pose2rot_core.solvers import joint_smoothing  # noqa: E402
from pose2rot_core.bvh import read_bvh  # noqa: E402
from pose2rot_core.evaluate import add_noise  # noqa: E402
from pose2rot_core.options import SolveOptions  # noqa: E402
from pose2rot_core.tracks_io import tracks_from_bvh  # noqa: E402

DEV_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "bvh"
CHAINED = solvers.smoothed_down_the_chain
RAISED = joint_smoothing._raised_by_likelihood


def timed_solve(noisy, chained: bool, repeats: int, baseline: str = "none") -> tuple[float, np.ndarray]:
    """(best seconds of ``repeats`` solves of ``noisy`` with the smoothing down the chain or as the
    ``baseline`` has it (none: without it; first-scale: without the likelihood's round), the solved
    joint positions [T,J,3])."""
    whole = chained or baseline == "first-scale"
    solvers.smoothed_down_the_chain = CHAINED if whole else (lambda tracks, sol, cleaning, turned, progress=None: sol)
    first_scale = lambda data, tree, motion, R, tau, progress: (motion, R, tau)  # noqa: E731
    joint_smoothing._raised_by_likelihood = RAISED if chained else first_scale
    best, positions = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        positions = solvers.solve(noisy, SolveOptions()).forward()[1]
        best = min(best, time.perf_counter() - start)
    return best, positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="*", type=Path)
    parser.add_argument("--noise", type=float, default=0.005)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--baseline", choices=("none", "first-scale"), default="none",
                        help="what 'without' is: no smoothing down the chain, or it with the scale as first read")
    args = parser.parse_args()
    clips = args.clips or sorted(DEV_CLIPS.glob("*.bvh"))
    print(f"{'clip':<34} {'frames':>6} {'joints':>6} | {'without s':>9} {'with s':>8} {'ratio':>6} | "
          f"{'mean % without':>14} {'with':>6} | {'max % without':>13} {'with':>6}")
    ratios = []
    for path in clips:
        clip = read_bvh(path)
        tracks = tracks_from_bvh(clip, reference_frame=0)
        noisy = add_noise(tracks, args.noise, 0)
        (plain, a), (chained, b) = (timed_solve(noisy, on, args.repeats, args.baseline) for on in (False, True))
        off = [np.linalg.norm(x - tracks.positions, axis=-1) / clip.skeleton.height * 100 for x in (a, b)]
        ratios.append(chained / plain)
        print(f"{path.stem[:34]:<34} {clip.num_frames:>6} {clip.skeleton.num_joints:>6} | {plain:>9.2f} {chained:>8.2f} "
              f"{chained / plain:>6.1f} | {off[0].mean():>14.3f} {off[1].mean():>6.3f} | {off[0].max():>13.2f} "
              f"{off[1].max():>6.2f}")
    print(f"time ratio: median {np.median(ratios):.1f}, largest {max(ratios):.1f}")


if __name__ == "__main__":
    main()

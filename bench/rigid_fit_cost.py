"""What moving noisy tracks to the bones' lengths first costs and buys (solvers.geometric.rigid_fit).

For each clip (../shared/data/bvh beside the repository; the shipped examples when absent) under
Gaussian jitter of ``--noise`` of the height (seed 0): the solve's time, best of ``--repeats``, with
the tracks fitted to the bones' lengths and without (every bone left to its tracks), in the same
process, their ratio, and the mean distance of the solved joints from the clean positions (percent
of the height) both ways.

    python bench/rigid_fit_cost.py [--clips A.bvh ...] [--noise 0.005] [--repeats 3]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import pose2rot_core.solvers.geometric as geometric  # noqa: E402
from pose2rot_core.bvh import read_bvh  # noqa: E402
from pose2rot_core.evaluate import add_noise  # noqa: E402
from pose2rot_core.solvers import solve  # noqa: E402
from pose2rot_core.tracks_io import tracks_from_bvh  # noqa: E402

from clips import chosen_clips  # noqa: E402


def timed_solve(tracks, fitted: bool, repeats: int) -> tuple[float, np.ndarray]:
    """(best seconds of ``repeats``, solved positions [T,J,3]) with the fit on or off (a bone is fitted
    only where it is FIT_STDS noise stds long: off, none is)."""
    kept = geometric.FIT_STDS
    geometric.FIT_STDS = kept if fitted else float("inf")
    try:
        best, sol = float("inf"), None
        for _ in range(repeats):
            start = time.perf_counter()
            sol = solve(tracks)
            best = min(best, time.perf_counter() - start)
    finally:
        geometric.FIT_STDS = kept
    return best, sol.forward()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", type=Path)
    parser.add_argument("--noise", type=float, default=0.005)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    paths = chosen_clips(args.clips)
    print(f"{'clip':32s} {'frames':>6s} {'joints':>6s} {'fitted s':>8s} {'as is s':>8s} {'ratio':>6s} "
          f"{'pos fitted %':>12s} {'pos as is %':>11s}")
    for path in paths:
        clip = read_bvh(path)
        clean = tracks_from_bvh(clip, reference_frame=0)
        noisy = add_noise(clean, args.noise, 0)
        height = clip.skeleton.height
        (fit_s, fit_p), (raw_s, raw_p) = (timed_solve(noisy, on, args.repeats) for on in (True, False))
        miss = [float(np.linalg.norm(p - clean.positions, axis=-1).mean() / height * 100) for p in (fit_p, raw_p)]
        print(f"{path.stem[:32]:32s} {clip.num_frames:6d} {clip.skeleton.num_joints:6d} {fit_s:8.3f} {raw_s:8.3f} "
              f"{fit_s / raw_s:6.2f} {miss[0]:12.3f} {miss[1]:11.3f}", flush=True)


if __name__ == "__main__":
    main()

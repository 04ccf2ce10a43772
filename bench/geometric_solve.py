"""Benchmark: geometric solve of 10,000 frames x 60 joints on one thread.

Synthetic random tree (60 joints, End Sites on the leaves) with smooth random local rotations ->
FK positions -> solve. Prints the time of the vectorised solver (``solve_geometric`` on the tracks,
and the full ``solve`` with its default track cleaning), and the ratio against a naive baseline
measured in the same run: a per-frame, per-joint Python loop (Kabsch by ``np.linalg.svd`` for joints
with two or more targets, the smallest swing for one target) timed on 500 frames and extrapolated.

Then, when the development clips are there (``--clips``, default ``../shared/data/bvh`` beside the
repository), the summed CPU time of what Blender's Solve Rotations runs on each of them (``solve`` on
the clip's tracks without a reference frame: cleaning, solve, safety check) next to the bare
``solve_geometric`` on the same prepared tracks, in the same process, best of ``--repeats``.

Run: python bench/geometric_solve.py [--frames 10000] [--joints 60] [--repeats 3] [--clips DIR]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from pose2rot_core.bvh import read_bvh  # noqa: E402
from pose2rot_core.fk import end_site_positions, forward_kinematics  # noqa: E402
from pose2rot_core.options import SolveOptions  # noqa: E402
from pose2rot_core.rotations import axis_angle_to_matrix  # noqa: E402
from pose2rot_core.skeleton import Skeleton  # noqa: E402
from pose2rot_core.solvers import prepare_tracks, solve  # noqa: E402
from pose2rot_core.solvers.geometric import solve_geometric  # noqa: E402
from pose2rot_core.tracks import Tracks  # noqa: E402
from pose2rot_core.tracks_io import tracks_from_bvh  # noqa: E402

BASELINE_FRAMES = 500
DEV_CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "bvh"


def synthetic_tracks(T: int, J: int, seed: int = 0) -> Tracks:
    """Random tree (offsets 0.2..1.2), smooth random rotations, End Sites on every leaf."""
    rng = np.random.default_rng(seed)
    parents = np.array([-1] + [int(rng.integers(max(0, j - 4), j)) for j in range(1, J)])  # deep-ish chains
    rest = np.zeros((J, 3))
    for j in range(1, J):
        d = rng.normal(size=3)
        rest[j] = rest[parents[j]] + d / np.linalg.norm(d) * rng.uniform(0.2, 1.2)
    sk = Skeleton(tuple(f"joint{j}" for j in range(J)), parents, rest)
    t = np.arange(T)[:, None, None] / 60.0
    r = (rng.normal(size=(1, J, 3)) * 0.5
         + rng.normal(size=(1, J, 3)) * 0.6 * np.sin(2 * np.pi * rng.uniform(0.1, 1.0, (1, J, 3)) * t
                                                    + rng.uniform(0, 2 * np.pi, (1, J, 3))))
    R = axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1))
    root = np.cumsum(rng.normal(size=(T, 3)) * 0.01, axis=0)
    G, P = forward_kinematics(sk, R, root)
    leaves = np.array([j for j, c in enumerate(sk.children) if not c])
    end_off = rng.normal(size=(len(leaves), 3)) * 0.3
    ends = end_site_positions(G, P, leaves, end_off)
    return Tracks(skeleton=sk, positions=P, fps=60.0, end_positions=ends, end_parents=leaves,
                  end_rest_offsets=end_off)


def naive_solve(tracks: Tracks) -> np.ndarray:
    """Global rotations [T,J,3,3], one frame and one joint at a time (the baseline)."""
    sk = tracks.skeleton
    P, T, J = tracks.positions, tracks.num_frames, sk.num_joints
    offsets = sk.offsets
    children = sk.children
    ends_of: dict[int, list[int]] = {}
    for k, p in enumerate(tracks.end_parents):
        ends_of.setdefault(int(p), []).append(k)
    G = np.zeros((T, J, 3, 3))
    for t in range(T):
        for j in range(J):
            G_parent = np.eye(3) if j == 0 else G[t, sk.parents[j]]
            src = [offsets[c] for c in children[j]] + [tracks.end_rest_offsets[k] for k in ends_of.get(j, [])]
            obs = [P[t, c] - P[t, j] for c in children[j]] + [tracks.end_positions[t, k] - P[t, j]
                                                              for k in ends_of.get(j, [])]
            if len(src) >= 2:
                M = sum(np.outer(b, a) for a, b in zip(src, obs))
                U, _, Vt = np.linalg.svd(M)
                D = np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt)) or 1.0])
                G[t, j] = U @ D @ Vt
            elif len(src) == 1:
                u = G_parent @ src[0]
                u, v = u / np.linalg.norm(u), obs[0] / np.linalg.norm(obs[0])
                axis, c = np.cross(u, v), float(np.dot(u, v))
                K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
                swing = np.eye(3) + K + K @ K / (1.0 + c) if c > -1 + 1e-9 else -np.eye(3)
                G[t, j] = swing @ G_parent
            else:
                G[t, j] = G_parent
    return G


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cpu_best_of(fns: list, repeats: int) -> list[float]:
    """Best CPU time (seconds) of each of ``fns`` over ``repeats`` rounds, run in alternation:
    steadier than wall time, and alike for all of them, on a shared machine."""
    best = [np.inf] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.process_time()
            fn()
            best[i] = min(best[i], time.process_time() - t0)
    return best


def dev_clips_report(folder: Path, repeats: int) -> None:
    """Summed CPU time over the clips in ``folder`` of the operator's solve and of the bare solver."""
    files = sorted(folder.glob("*.bvh"))
    if not files:
        print(f"development clips: none in {folder} (pass --clips DIR): skipped")
        return
    tracks = [tracks_from_bvh(read_bvh(f), reference_frame=None) for f in files]
    prepared = [prepare_tracks(t, SolveOptions().smooth)[:2] for t in tracks]
    full, bare = cpu_best_of([lambda: [solve(t) for t in tracks],
                              lambda: [solve_geometric(p, missing=m) for p, m in prepared]], repeats)
    frames = sum(t.num_frames * t.skeleton.num_joints for t in tracks)
    print(f"development clips: {len(files)} in {folder} ({frames:,} joint-frames), CPU time, best of {repeats} "
          "in alternation")
    print(f"  solve() as Solve Rotations runs it: {1000 * full:.0f} ms ({frames / full / 1e6:.2f} M joint-frames/s)")
    print(f"  bare solve_geometric (same run)   : {1000 * bare:.0f} ms; cleaning and safety check: "
          f"{1000 * (full - bare):.0f} ms ({full / bare:.2f}x the bare solver)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--joints", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clips", type=Path, default=DEV_CLIPS, help="folder of development BVH clips")
    args = ap.parse_args()
    T, J = args.frames, args.joints
    tracks = synthetic_tracks(T, J)
    prepared, missing, _, _ = prepare_tracks(tracks, "off")

    results = {}
    for policy in ("lookahead", "reference", "transport"):
        results[policy] = best_of(lambda: solve_geometric(prepared, twist=policy, missing=missing), args.repeats)
    full = best_of(lambda: solve(tracks), args.repeats)
    sol = solve(tracks, smooth="off")
    err = np.abs(sol.positions - tracks.positions).max() / tracks.skeleton.height

    sub = tracks.frames(0, min(BASELINE_FRAMES, T))
    naive_sub = best_of(lambda: naive_solve(sub), 1)
    naive = naive_sub * T / sub.num_frames

    print(f"geometric solve, {T} frames x {J} joints (+{len(tracks.end_parents)} end sites), 1 thread")
    for policy, sec in results.items():
        print(f"  solve_geometric twist={policy:<9}: {sec:.3f} s  ({T / sec:,.0f} frames/s, "
              f"{T * J / sec / 1e6:.2f} M joint-frames/s)  speedup vs naive loop: {naive / sec:.0f}x")
    print(f"  solve() with default cleaning    : {full:.3f} s  ({T / full:,.0f} frames/s)")
    print(f"  naive per-frame loop             : {naive_sub:.3f} s on {sub.num_frames} frames "
          f"-> {naive:.2f} s extrapolated ({T / naive:,.0f} frames/s)")
    print(f"  max position error of the solve  : {err:.2g} x height")
    default = SolveOptions().geometric_options()["twist"]
    rate = T * J / results[default] / 1e6
    print(f"  goal >= 3 M joint-frames/s (default policy, {default}): {'met' if rate >= 3.0 else 'NOT met'} "
          f"({rate:.2f})")
    dev_clips_report(args.clips, args.repeats)


if __name__ == "__main__":
    main()

"""Benchmark: BVH read and write of a long clip, against a naive per-value pure-Python parser.

Synthesises a random 60-joint skeleton with smooth random rotations (10,000 frames by default),
writes it to a temporary file, then times ``write_bvh``, ``read_bvh`` and a plain Python parse
of the same file (split every row, ``float()`` every value, then the same numpy Euler-to-matrix
step), interleaved, best of ``--repeat`` each. Prints seconds, frames/s and the read speed-up.

    python bench/bvh_io.py [--frames 10000] [--joints 60] [--repeat 3]
"""
from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from pose2rot_core.bvh import read_bvh, write_bvh
from pose2rot_core.rotations import euler_to_matrix
from pose2rot_core.skeleton import Skeleton


def synth_clip(frames: int, joints: int, seed: int = 0):
    """Random tree, offsets and smooth rotations (sums of a few sines per Euler angle)."""
    rng = np.random.default_rng(seed)
    parents = [-1] + [int(rng.integers(max(0, j - 4), j)) for j in range(1, joints)]
    offsets = rng.normal(scale=10.0, size=(joints, 3))
    rest = offsets.copy()
    for j in range(1, joints):
        rest[j] += rest[parents[j]]
    sk = Skeleton([f"joint_{j:02d}" for j in range(joints)], parents, rest)
    t = np.arange(frames)[:, None, None] / 120.0
    freq = rng.uniform(0.1, 2.0, size=(3, joints, 3))
    phase = rng.uniform(0, 2 * np.pi, size=(3, joints, 3))
    amp = rng.uniform(0.1, 1.2, size=(3, joints, 3))
    angles = sum(amp[i] * np.sin(2 * np.pi * freq[i] * t + phase[i]) for i in range(3))
    rotations = euler_to_matrix(angles, "ZXY")
    root = np.cumsum(rng.normal(scale=0.5, size=(frames, 3)), axis=0)
    return sk, rotations, root


def naive_read(path: Path) -> np.ndarray:
    """Baseline: a straightforward Python reader that converts value by value (``float()`` on
    every token, rows as lists), then builds the rotations with the same numpy Euler code.
    Handles the benchmark's layout only: 6 root channels, 3 rotation channels per other joint."""
    lines = path.read_text().splitlines()
    orders = []
    motion_at = 0
    for i, line in enumerate(lines):
        words = line.split()
        if words and words[0] == "CHANNELS":
            orders.append("".join(w[0] for w in words[2:] if w.endswith("rotation")))
        if words[:2] == ["Frame", "Time:"]:
            motion_at = i + 1
            break
    rows = []
    for line in lines[motion_at:]:
        values = [float(v) for v in line.split()]
        if values:
            rows.append(values)
    angles = np.radians(np.asarray(rows)[:, 3:].reshape(len(rows), len(orders), 3))
    rotations = np.empty(angles.shape + (3,))
    for j, order in enumerate(orders):
        rotations[:, j] = euler_to_matrix(angles[:, j], order)
    return rotations


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--joints", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sk, R, root = synth_clip(args.frames, args.joints)
    T = args.frames
    t_write = t_read = t_naive = math.inf
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.bvh"
        for _ in range(args.repeat):  # interleaved, best of each: fair when the machine is busy
            t_write = min(t_write, timed(lambda: write_bvh(path, sk, R, root, fps=120.0))[0])
            dt, clip = timed(lambda: read_bvh(path))
            t_read = min(t_read, dt)
            dt, naive = timed(lambda: naive_read(path))
            t_naive = min(t_naive, dt)
        size_mb = path.stat().st_size / 1e6
    assert np.abs(naive - clip.rotations).max() < 1e-12, "baseline and read_bvh disagree"
    written = [sk.names.index(n) for n in clip.skeleton.names]  # BVH is written depth-first
    assert np.abs(clip.rotations - R[:, written]).max() < 1e-5, "round trip changed the rotations"
    print(f"BVH I/O: {T} frames x {args.joints} joints, {size_mb:.1f} MB file (best of {args.repeat})")
    print(f"  write_bvh            {t_write:8.3f} s  {T / t_write:10.0f} frames/s")
    print(f"  read_bvh             {t_read:8.3f} s  {T / t_read:10.0f} frames/s")
    print(f"  naive Python read    {t_naive:8.3f} s  {T / t_naive:10.0f} frames/s   (baseline)")
    print(f"  read_bvh speed-up over the naive read: {t_naive / t_read:.1f}x")


if __name__ == "__main__":
    main()

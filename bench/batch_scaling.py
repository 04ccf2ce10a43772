"""Benchmark: batch throughput with --jobs 1 and --jobs N on a folder of clips, in one run.

    VENV/bin/python bench/batch_scaling.py [--clips DIR] [--jobs 2] [--repeat 2]
    PYTHONPATH=core python bench/batch_scaling.py --cli [--clips DIR] [--jobs 2] [--repeat 2]

Runs ``pose2rot_blender/batch.py`` (the bpy module of VENV, the extension from dist/), or with --cli
the command line's ``pose2rot solve`` (this Python's pose2rot_core), on every BVH of the folder
(default: the development clips beside the repository, else examples/) into a temporary folder,
alternating --jobs 1 and --jobs N, and keeps the best wall time of each. Prints clips per minute, the
ratio, and the load average before each run (other work on the machine slows the parallel run most).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from clips import EXAMPLES, SHARED_BVH, dev_clips
from pose2rot_core.batch_files import track_files

ROOT = Path(__file__).resolve().parents[1]


def default_clips() -> Path:
    """The folder of the development clips, else the examples folder."""
    return SHARED_BVH if dev_clips([]) else EXAMPLES


def run_batch(clips: Path, jobs: int, zip_path: Path | None) -> float:
    """Wall seconds of one batch run: the Blender batch with the extension ``zip_path``, or (None) the
    command line's (fails loudly when the batch does)."""
    batch = (["-m", "pose2rot_core.cli", "solve"] if zip_path is None else
             [str(ROOT / "pose2rot_blender" / "batch.py"), "--extension-zip", str(zip_path)])
    with tempfile.TemporaryDirectory(prefix="pose2rot_bench_") as out:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, *batch, str(clips), "--out", out, "--jobs", str(jobs)],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"batch --jobs {jobs} failed:\n{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=Path, default=default_clips(), help="folder of clips (BVH, or any track files the batch reads)")
    ap.add_argument("--jobs", type=int, default=2, help="the parallel run's --jobs (default 2)")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each, the best kept (default 2)")
    ap.add_argument("--cli", action="store_true", help="time pose2rot solve (the command line) instead of Blender's")
    args = ap.parse_args()
    zips = [None] if args.cli else sorted((ROOT / "dist").glob("pose2rot-*.zip"))
    if not zips:
        raise SystemExit("no dist/pose2rot-*.zip: run build.py first")
    n = len(track_files([str(args.clips)], "batch_scaling"))     # every clip the batch converts
    best = {1: float("inf"), args.jobs: float("inf")}
    for _ in range(max(1, args.repeat)):
        for jobs in best:
            load = os.getloadavg()[0]
            seconds = run_batch(args.clips, jobs, zips[-1])
            print(f"--jobs {jobs}: {seconds:6.2f} s ({60 * n / seconds:5.1f} clips/min), load average before "
                  f"{load:.2f} on {os.cpu_count()} cores")
            best[jobs] = min(best[jobs], seconds)
    print(f"{'pose2rot solve' if args.cli else 'Blender batch'}, {n} clips from {args.clips}: best --jobs 1 "
          f"{best[1]:.2f} s, --jobs {args.jobs} {best[args.jobs]:.2f} s, "
          f"throughput x{best[1] / best[args.jobs]:.2f}" + ("" if args.cli else " (goal >= 1.8 for --jobs 2)"))


if __name__ == "__main__":
    main()

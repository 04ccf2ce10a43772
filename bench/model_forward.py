"""Banded vs dense temporal attention: forward time and peak memory of the full network.

Released configuration (29.7 M parameters) with random weights, one clip of J joints and T
frames, ``torch.inference_mode``, float32. Both modes run in the same process and the script
prints their ratio (dense / banded) per T.

Each (mode, T) runs in a fresh child process (model built, warmed up on T=8). Peak memory: on
CPU the child's peak resident set size (VmHWM, reset through /proc/self/clear_refs after the
warm-up) minus its resident size just before the forward, with glibc told to return large
blocks to the system (MALLOC_MMAP_THRESHOLD_) so reuse of freed memory does not hide peaks; on
CUDA ``torch.cuda.max_memory_allocated`` minus the allocation before the forward. Dense attention builds [J·H, T, T] score tensors, so it is
skipped where one such tensor alone would exceed --dense-limit-gb (T=4800 on CPU: 44 GB).

Usage: python bench/model_forward.py [--device cpu|cuda] [--frames 48 240 960 4800] [--joints 60]
       [--threads N] [--precision fp32|bf16]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch

from pose2rot_core.model import Pose2RotMemoryRestModel, RELEASED_PARAMS, batch_to_torch
from pose2rot_core.model_inputs import pad_batch
from pose2rot_core.skeleton import Skeleton


def make_batch(J: int, T: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    parents = np.array([-1] + [int(rng.integers(max(0, j - 4), j)) for j in range(1, J)])
    rest = np.zeros((J, 3))
    for j in range(1, J):
        rest[j] = rest[parents[j]] + rng.normal(size=3)
    sk = Skeleton([f"j{i}" for i in range(J)], parents, rest)
    clip = {
        "position": np.cumsum(rng.normal(scale=0.02, size=(T, J, 3)), 0).astype(np.float32),
        "offset_a": rng.normal(size=(J, 3)).astype(np.float32),
        "joint_t5embed": rng.normal(scale=0.15, size=(J, 768)).astype(np.float32),
        "joint_mask": np.ones(J, bool), "ancestor_mask": sk.ancestor_mask(),
        "graph_hop": sk.hop_distance(), "graph_edge": sk.edge_type(),
    }
    return pad_batch([clip])


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(model, batch, device: str, precision: str, repeats: int) -> tuple[float, float]:
    """(best seconds, peak extra memory in MB) of one forward pass."""
    cuda = device.startswith("cuda")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    best, peak = float("inf"), 0.0
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        else:
            _reset_peak()
            base = _status_kb("VmRSS") * 1024
        t0 = time.perf_counter()
        with torch.inference_mode(), torch.autocast(torch.device(device).type, dtype=dtype,
                                                    enabled=precision != "fp32"):
            out = model(batch)["pred_rot6d"]
        if cuda:
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        used = (torch.cuda.max_memory_allocated() if cuda else _status_kb("VmHWM") * 1024) - base
        del out
        best, peak = min(best, dt), max(peak, used / 2**20)
    return best, peak


def child(args) -> None:
    """Measure one (mode, T) and print 'seconds peak_mb'."""
    torch.manual_seed(0)
    model = Pose2RotMemoryRestModel(**RELEASED_PARAMS).to(args.device).eval()
    model.attention_mode = args.one[0]
    measure(model, batch_to_torch(make_batch(args.joints, 8), args.device), args.device, args.precision, 1)
    T = int(args.one[1])
    batch = batch_to_torch(make_batch(args.joints, T), args.device)
    repeats = 3 if T <= 240 or args.device.startswith("cuda") else 1
    seconds, peak = measure(model, batch, args.device, args.precision, repeats)
    print(f"{seconds} {peak}")


def run_child(args, mode: str, T: int) -> tuple[float, float]:
    cmd = [sys.executable, __file__, "--one", mode, str(T), "--device", args.device, "--joints", str(args.joints),
           "--threads", str(args.threads), "--precision", args.precision]
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="1048576")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode:
        raise SystemExit(f"{mode} T={T} failed:\n{out.stderr[-2000:]}")
    seconds, peak = out.stdout.split()[-2:]
    return float(seconds), float(peak)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--frames", type=int, nargs="+", default=[48, 240, 960, 4800])
    ap.add_argument("--joints", type=int, default=60)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--dense-limit-gb", type=float, default=None,
                    help="skip dense when one [J*H,T,T] float32 score tensor exceeds this (default: memory/4)")
    ap.add_argument("--one", nargs=2, metavar=("MODE", "T"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.one:
        return child(args)
    if args.dense_limit_gb is None:
        if args.device.startswith("cuda"):
            total = torch.cuda.get_device_properties(torch.device(args.device)).total_memory
        else:
            total = _meminfo_total()
        args.dense_limit_gb = total / 4 / 2**30
    H = RELEASED_PARAMS["num_heads"]
    print(f"device {args.device}, threads {args.threads or torch.get_num_threads()}, precision {args.precision}, "
          f"released config (29,700,150 params, random weights), J={args.joints}, B=1")
    print(f"{'T':>6} {'banded s':>10} {'dense s':>10} {'speed-up':>9} {'banded MB':>10} {'dense MB':>10} {'mem ratio':>9}",
          flush=True)
    for T in args.frames:
        tb, mb = run_child(args, "banded", T)
        score_gb = args.joints * H * T * T * 4 / 2**30
        if score_gb > args.dense_limit_gb:
            print(f"{T:>6} {tb:>10.3f} {'skipped':>10} {'-':>9} {mb:>10.0f} {'-':>10} {'-':>9}"
                  f"   (dense: one [J*H,T,T] score tensor alone is {score_gb:.0f} GB)", flush=True)
            continue
        td, md = run_child(args, "dense", T)
        print(f"{T:>6} {tb:>10.3f} {td:>10.3f} {td / tb:>8.2f}x {mb:>10.0f} {md:>10.0f} {mb / max(md, 1e-9):>8.2f}x",
              flush=True)
    print("speed-up = dense time / banded time; mem ratio = banded peak / dense peak")


def _meminfo_total() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 16 * 2**30


if __name__ == "__main__":
    main()

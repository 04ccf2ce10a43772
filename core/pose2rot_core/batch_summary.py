"""The table a batch conversion ends with: one row per clip, failures included."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .safety import FLIP_DEGREES, rotation_steps


@dataclass
class ClipResult:
    """One converted (or failed) clip. max_error_pct: largest distance of a solved joint from its
    track, % of the rig's height; flips: turns above FLIP_DEGREES between two frames; warnings: the
    solve's warning lines (joints far from their tracks, flips, ...); status: "ok" or "failed"
    (message: why)."""

    clip: str
    frames: int = 0
    bones: int = 0
    max_error_pct: float = float("nan")
    flips: int = 0
    seconds: float = 0.0
    warnings: int = 0
    status: str = "ok"
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.status != "ok"


def count_jumps(rotations: np.ndarray, threshold: float = FLIP_DEGREES) -> int:
    """Turns of a joint above ``threshold`` degrees from one frame to the next, in local rotations
    [T,J,3,3] (no ground truth: a fast real motion counts too)."""
    if rotations.shape[0] < 2:
        return 0
    return int((rotation_steps(rotations) > threshold).sum())


def format_summary(results: list[ClipResult]) -> str:
    """A plain-text table of ``results`` and a last line counting converted and failed clips."""
    width = max([len("clip")] + [len(r.clip) for r in results])
    head = (f"{'clip':<{width}}  {'frames':>6}  {'bones':>5}  {'max pos err % (vs tracks)':>25}  {'flips':>5}  "
            f"{'time s':>7}  status")
    rows = [head, "-" * len(head)]
    for r in results:
        if r.failed:
            rows.append(f"{r.clip:<{width}}  {'-':>6}  {'-':>5}  {'-':>25}  {'-':>5}  {r.seconds:7.2f}  "
                        f"failed: {r.message}")
        else:
            warned = f", {r.warnings} {'warning' if r.warnings == 1 else 'warnings'} (above)" if r.warnings else ""
            rows.append(f"{r.clip:<{width}}  {r.frames:6d}  {r.bones:5d}  {r.max_error_pct:25.2g}  {r.flips:5d}  "
                        f"{r.seconds:7.2f}  ok{warned}")
    failed = sum(r.failed for r in results)
    warned = sum(bool(r.warnings) for r in results if not r.failed)
    rows.append(f"{len(results) - failed} of {len(results)} clips converted"
                + (f", {failed} failed" if failed else "") + (f", {warned} with warnings" if warned else "")
                + f" (flips: turns above {FLIP_DEGREES:g}° between two frames)")
    return "\n".join(rows)

"""The table a batch conversion ends with: one row per clip, failures included."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ClipResult:
    """One converted (or failed) clip. max_error_pct: largest distance of a solved joint from its
    track, % of the rig's height; flips: sudden turns the tracks do not call for (the safety
    check's, as its warnings count them: a fast real turn is none); warnings: the solve's warning
    lines (joints far from their tracks, flips, ...); status: "ok" or "failed" (message: why)."""

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


#: the legend of the flips column, a line of its own under the table (not read as part of the count)
FLIPS_LEGEND = "flips = sudden turns the tracks do not call for (a fast real turn is none)"


def format_summary(results: list[ClipResult], warnings_at: str = "above") -> str:
    """A plain-text table of ``results`` closed by a rule, the legend of its flips column, and a last
    line counting converted and failed clips. ``warnings_at``: where a row with warnings sends its reader
    for them ('above': printed before the table, in the same stream)."""
    width = max([len("clip")] + [len(r.clip) for r in results])
    head = (f"{'clip':<{width}}  {'frames':>6}  {'bones':>5}  {'max pos err % (vs tracks)':>25}  {'flips':>5}  "
            f"{'time s':>7}  status")
    rows = [head, "-" * len(head)]
    for r in results:
        if r.failed:
            rows.append(f"{r.clip:<{width}}  {'-':>6}  {'-':>5}  {'-':>25}  {'-':>5}  {r.seconds:7.2f}  "
                        f"failed: {r.message}")
        else:
            warned = (f", {r.warnings} {'warning' if r.warnings == 1 else 'warnings'} ({warnings_at})"
                      if r.warnings else "")
            rows.append(f"{r.clip:<{width}}  {r.frames:6d}  {r.bones:5d}  {r.max_error_pct:25.2g}  {r.flips:5d}  "
                        f"{r.seconds:7.2f}  ok{warned}")
    failed = sum(r.failed for r in results)
    warned = sum(bool(r.warnings) for r in results if not r.failed)
    rows += [rows[1], FLIPS_LEGEND]
    rows.append(f"{len(results) - failed} of {len(results)} clips converted"
                + (f", {failed} failed" if failed else "") + (f", {warned} with warnings" if warned else ""))
    return "\n".join(rows)

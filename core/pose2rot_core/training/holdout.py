"""Held-out evaluation: geometric vs learned vs hybrid on clips the model never saw.

Uses ``core.evaluate`` (the metrics of ``pose2rot eval``): per clip and protocol (``rest``:
no reference pose; ``ref``: frame 0's true rotations) the mean geodesic error of the local
rotations, the position error in % of the height and flips.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..bvh import BvhClip
from ..evaluate import PROTOCOLS, ClipScore, evaluate_clip, format_table
from ..options import SolveOptions

SOLVER_ORDER = ("geometric", "learned", "hybrid")


def evaluate_clips(clips: Sequence[BvhClip], solver: str, checkpoint: str | Path | None = None,
                   protocols: Sequence[str] = PROTOCOLS, device: str = "cpu") -> list[ClipScore]:
    """Scores of ``solver`` on every clip under every protocol (checkpoint for learned/hybrid)."""
    model = {} if solver == "geometric" else {"checkpoint": str(checkpoint), "device": device}
    options = SolveOptions(solver=solver, **model)
    return [evaluate_clip(c, p, options) for c in clips for p in protocols]


def mean_angle(scores: Sequence[ClipScore], solver: str, protocol: str) -> float:
    """Mean over clips of the mean rotation error (degrees) of one solver and protocol."""
    vals = [s.mean_angle for s in scores if s.solver == solver and s.protocol == protocol]
    return float(np.mean(vals)) if vals else float("nan")


def max_position_error(scores: Sequence[ClipScore], solver: str) -> float:
    """Largest position error (% of height) of a solver over all clips and protocols."""
    vals = [s.position_error_max for s in scores if s.solver == solver]
    return float(max(vals)) if vals else float("nan")


def summary_lines(scores: Sequence[ClipScore]) -> list[str]:
    """Mean error per solver and protocol, hybrid/geometric ratios, worst position errors."""
    solvers = [s for s in SOLVER_ORDER if any(x.solver == s for x in scores)]
    lines = [f"{'solver':<10} " + " ".join(f"{p + ' °':>8}" for p in PROTOCOLS) + f" {'max pos err %':>14}"]
    for solver in solvers:
        lines.append(f"{solver:<10} " + " ".join(f"{mean_angle(scores, solver, p):8.2f}" for p in PROTOCOLS)
                     + f" {max_position_error(scores, solver):14.2g}")
    if "geometric" in solvers:
        for solver in solvers[1:]:
            ratios = ", ".join(f"{p} {mean_angle(scores, solver, p) / mean_angle(scores, 'geometric', p):.3f}x"
                               for p in PROTOCOLS)
            lines.append(f"{solver} / geometric: {ratios}")
    return lines


def holdout_report(clips: Sequence[BvhClip], checkpoint: str | Path, device: str = "cpu",
                   geometric: Sequence[ClipScore] | None = None) -> tuple[list[ClipScore], str]:
    """(all scores, printable report) of geometric, learned and hybrid on ``clips``."""
    scores = list(geometric) if geometric is not None else evaluate_clips(clips, "geometric")
    for solver in ("learned", "hybrid"):
        scores += evaluate_clips(clips, solver, checkpoint, device=device)
    parts = []
    for solver in SOLVER_ORDER:
        parts.append(f"[{solver}]\n" + format_table([s for s in scores if s.solver == solver]))
    parts.append("\n".join(summary_lines(scores)))
    return scores, "\n\n".join(parts)

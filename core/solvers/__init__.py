"""One interface for all solvers: ``solve(tracks, solver=...) -> Solution``."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import Pose2RotError
from ..solution import Solution
from ..tracks import Tracks

SOLVERS = ("geometric", "learned", "hybrid")
Progress = Callable[[float, str], None]


def prepare_tracks(tracks: Tracks) -> tuple[Tracks, np.ndarray, list[str]]:
    """Fill gaps in the tracks. Returns (gap-free tracks, indices of joints with no data, report)."""
    from dataclasses import replace

    from ..tracks_io import fill_gaps

    filled, report, missing = fill_gaps(tracks.positions)
    if 0 in missing:
        raise Pose2RotError(f"root joint '{tracks.skeleton.names[0]}' has no data in any frame: "
                            "the root track is required")
    for j in missing:
        report.append(f"joint '{tracks.skeleton.names[j]}' has no data: it keeps its reference/rest rotation")
    ends = tracks.end_positions
    if ends is not None and np.isnan(ends).any():
        ends, end_report, _ = fill_gaps(ends)
        report.extend(end_report)
    return replace(tracks, positions=filled, end_positions=ends), np.asarray(missing, np.int64), report


def solve(tracks: Tracks, solver: str = "geometric", progress: Progress | None = None, **options) -> Solution:
    """Solve local rotations for ``tracks`` with ``solver`` ("geometric", "learned", "hybrid").

    Geometric options: twist, stretch, stretch_tolerance, use_ends (see solvers.geometric).
    Learned/hybrid options: checkpoint, config, t5, device (see solvers.learned).
    """
    if solver not in SOLVERS:
        raise Pose2RotError(f"unknown solver '{solver}' (choose from {', '.join(SOLVERS)})")
    prepared, missing, report = prepare_tracks(tracks)
    if solver == "geometric":
        from .geometric import solve_geometric

        sol = solve_geometric(prepared, missing=missing, progress=progress, **options)
    elif solver == "learned":
        from .learned import solve_learned

        sol = solve_learned(prepared, missing=missing, progress=progress, **options)
    else:
        from .hybrid import solve_hybrid

        sol = solve_hybrid(prepared, missing=missing, progress=progress, **options)
    sol.report[:0] = report
    return sol

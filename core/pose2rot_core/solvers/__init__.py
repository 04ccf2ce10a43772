"""One interface for all solvers: ``solve(tracks, solver=...) -> Solution``."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import Pose2RotError
from ..smoothing import FREE_MIN_FRACTION, Cleaning, mark_gaps, smooth_rotations, smooth_tracks
from ..solution import Solution
from ..tracks import Tracks

SOLVERS = ("geometric", "learned", "hybrid")
Progress = Callable[[float, str], None]



def prepare_tracks(tracks: Tracks, smooth: str | float = "off"
                   ) -> tuple[Tracks, np.ndarray, list[str], Cleaning]:
    """Clean the tracks for solving: low-confidence samples and (unless smooth="off") outlier spikes
    become gaps, gaps are filled, then tracks are smoothed as ``smooth`` says ("auto", "off" or a
    kernel width in seconds; see core.smoothing). Returns (gap-free tracks, indices of joints with
    no data, report, what the smoothing did)."""
    from dataclasses import replace

    from ..tracks_io import fill_gaps

    tracks, report = mark_gaps(tracks, smooth)
    gaps = np.isnan(tracks.positions).any(-1)
    filled, fill_report, missing = fill_gaps(tracks.positions, tracks.skeleton.names)
    report.extend(fill_report)
    if 0 in missing:
        raise Pose2RotError(f"root joint '{tracks.skeleton.names[0]}' has no data in any frame: "
                            "the root track is required")
    ends = tracks.end_positions
    end_gaps = None if ends is None else np.isnan(ends).any(-1)
    if ends is not None and end_gaps.any():
        ends, end_report, _ = fill_gaps(ends, tracks.end_names)
        report.extend(end_report)
    prepared, cleaning = smooth_tracks(replace(tracks, positions=filled, end_positions=ends), gaps, end_gaps, smooth)
    report.extend(cleaning.report)
    return prepared, np.asarray(missing, np.int64), report, cleaning


def solve(tracks: Tracks, solver: str = "geometric", progress: Progress | None = None,
          smooth: str | float = "auto", **options) -> Solution:
    """Solve local rotations for ``tracks`` with ``solver`` ("geometric", "learned", "hybrid").

    smooth: "auto" (filter only tracks that are measurably noisy; clean mocap is untouched),
    "off", or a kernel width in seconds (see core.smoothing). When tracks are smoothed and
    ``stretch`` is not given, the geometric/hybrid solver keeps the rig's bone lengths (joints
    that translate for real, like hips under a floor-level root, still translate).
    Geometric options: twist, stretch, stretch_tolerance, use_ends (see solvers.geometric).
    Learned/hybrid options: checkpoint, config, t5, device (see solvers.learned).
    """
    if solver not in SOLVERS:
        raise Pose2RotError(f"unknown solver '{solver}' (choose from {', '.join(SOLVERS)})")
    if solver != "geometric" and not options.get("checkpoint"):
        raise Pose2RotError(f"the {solver} solver needs a checkpoint (checkpoint=PATH to a pose2rot .pt or "
                            ".safetensors file); the geometric solver needs none")
    prepared, missing, report, cleaning = prepare_tracks(tracks, smooth)
    if cleaning.changed and solver != "learned" and options.get("stretch") is None:
        if cleaning.free[1:].any():  # rigid bones are exact after smoothing; only gross misfits translate
            options.update(stretch="auto", stretch_tolerance=FREE_MIN_FRACTION)
        else:
            options["stretch"] = "off"
    elif options.get("stretch", "") is None:
        del options["stretch"]
    if solver != "learned":
        # single-frame turns of smoothed (noisy) tracks are partly noise: do not share them
        options.setdefault("share_fast_turns", not cleaning.active)
    if solver == "geometric":
        from .geometric import solve_geometric

        sol = solve_geometric(prepared, missing=missing, progress=progress, **options)
    elif solver == "learned":
        from .learned import solve_learned

        sol = solve_learned(prepared, missing=missing, progress=progress, **options)
    else:
        from .hybrid import solve_hybrid

        sol = solve_hybrid(prepared, missing=missing, progress=progress, **options)
    if cleaning.active:
        # what noise is left in short bones turns into swing and roll jitter: filter the rotations
        # over time as the tracks were (zero phase, on quaternions)
        sol.rotations = smooth_rotations(sol.rotations, float(np.median(cleaning.widths[cleaning.widths > 0])))
        sol.report.append("rotations smoothed as the tracks were")
    sol.report[:0] = report
    return sol

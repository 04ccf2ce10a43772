"""One interface for all solvers: ``solve(tracks, options) -> Solution``."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import numpy as np

from ..options import SOLVERS, SolveOptions
from ..smoothing import FREE_MIN_FRACTION, Cleaning, mark_gaps, smooth_rotations, smooth_tracks
from ..solution import Solution
from ..tracks import Tracks

__all__ = ["SOLVERS", "Network", "Progress", "prepare_tracks", "solve"]

Progress = Callable[[float, str], None]
#: runs the learned model on prepared tracks: (tracks, indices of joints with no data, progress) -> Solution
Network = Callable[[Tracks, np.ndarray, "Progress | None"], Solution]


def prepare_tracks(tracks: Tracks, smooth: str | float = "auto"
                   ) -> tuple[Tracks, np.ndarray, list[str], Cleaning]:
    """Clean the tracks for solving: low-confidence samples and (unless smooth="off") outlier spikes
    become gaps, gaps are filled, then tracks are smoothed as ``smooth`` says ("auto", "off" or a
    kernel width in seconds; see core.smoothing). Returns (gap-free tracks, indices of joints with
    no data, report, what the smoothing did)."""
    from ..tracks_io import check_root, fill_gaps

    tracks, report = mark_gaps(tracks, smooth)
    check_root(tracks)
    gaps = np.isnan(tracks.positions).any(-1)
    filled, fill_report, missing = fill_gaps(tracks.positions, tracks.skeleton.names)
    report.extend(fill_report)
    ends = tracks.end_positions
    end_gaps = None if ends is None else np.isnan(ends).any(-1)
    if ends is not None and end_gaps.any():
        ends, end_report, _ = fill_gaps(ends, tracks.end_names)
        report.extend(end_report)
    prepared, cleaning = smooth_tracks(replace(tracks, positions=filled, end_positions=ends), gaps, end_gaps, smooth)
    report.extend(cleaning.report)
    return prepared, np.asarray(missing, np.int64), report, cleaning


def selected_tracks(tracks: Tracks, options: SolveOptions) -> Tracks:
    """``tracks`` without the parts ``options`` leaves out (bone tips, reference pose)."""
    if not options.use_ends and tracks.end_positions is not None:
        tracks = replace(tracks, end_positions=None, end_parents=None, end_rest_offsets=None, end_names=())
    if not options.use_reference and tracks.reference_rotations is not None:
        tracks = replace(tracks, reference_rotations=None, reference_frame=None)
    return tracks


def local_network(options: SolveOptions) -> Network:
    """The learned model run in this process with ``options``' model settings."""
    from .learned import solve_learned

    def run(tracks: Tracks, missing: np.ndarray, progress: Progress | None) -> Solution:
        return solve_learned(tracks, missing=missing, progress=progress, **options.learned_options())

    return run


def solve(tracks: Tracks, options: SolveOptions | None = None, *, progress: Progress | None = None,
          network: Network | None = None, **changes: Any) -> Solution:
    """Solve local rotations for ``tracks`` as ``options`` say (see core.options.SolveOptions;
    ``changes`` are fields applied on top, e.g. ``solve(tracks, solver="hybrid", checkpoint=...)``).

    The tracks are cleaned first (``prepare_tracks``; smoothing "auto" filters only tracks that are
    measurably noisy). When tracks are smoothed and stretch is "auto", the geometric/hybrid solver
    keeps the rig's bone lengths (joints that translate for real, like hips under a floor-level
    root, still translate). network: where the learned model runs (default: in this process); the
    learned and hybrid solvers take the same steps wherever it runs.
    """
    options = SolveOptions.of(options, **changes)
    solver = options.solver
    prepared, missing, report, cleaning = prepare_tracks(selected_tracks(tracks, options), options.smooth)
    geometric = options.geometric_options()
    if cleaning.changed and solver != "learned" and options.stretch == "auto":
        if cleaning.free[1:].any():  # rigid bones are exact after smoothing; only gross misfits translate
            geometric.update(stretch="auto", stretch_tolerance=FREE_MIN_FRACTION)
        else:
            geometric["stretch"] = "off"
    if solver != "learned":
        # single-frame turns of smoothed (noisy) tracks are partly noise: do not share them
        geometric["share_fast_turns"] = not cleaning.active
    if solver == "geometric":
        from .geometric import solve_geometric

        sol = solve_geometric(prepared, missing=missing, progress=progress, **geometric)
    elif solver == "learned":
        sol = (network or local_network(options))(prepared, missing, progress)
    else:
        from .hybrid import solve_hybrid

        sol = solve_hybrid(prepared, network or local_network(options), missing=missing, progress=progress,
                           **geometric)
    if cleaning.active:
        # what noise is left in short bones turns into swing and roll jitter: filter the rotations
        # over time as the tracks were (zero phase, on quaternions)
        sol.rotations = smooth_rotations(sol.rotations, float(np.median(cleaning.widths[cleaning.widths > 0])))
        sol.report.append("rotations smoothed as the tracks were")
    sol.report[:0] = report
    return sol

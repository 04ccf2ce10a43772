"""Hybrid solver: learned twist, exact positions.

The network's rotations (solvers.learned) are handed to the geometric solver as
``twist_guess``: every bone is swung exactly onto its track (positions reproduced like the
geometric solver) while the roll about the bone — what positions cannot tell — comes from the
network. Options not consumed by the learned solver go to ``solve_geometric`` (twist policy,
stretch, use_ends, ...).
"""
from __future__ import annotations

import os
from typing import Callable, Mapping

import numpy as np

from ..solution import Solution
from ..tracks import Tracks
from .learned import solve_learned

_LEARNED_OPTIONS = ("t5", "device", "window", "overlap", "embedder", "cache_dir", "scale", "static_joints", "precision")


def solve_hybrid(tracks: Tracks, checkpoint: str | os.PathLike, config: str | os.PathLike | Mapping | None = None,
                 progress: Callable[[float, str], None] | None = None, missing: np.ndarray | None = None,
                 **options) -> Solution:
    """Learned rotations as the per-frame twist source of the geometric solver.

    Learned options: t5, device, window, overlap, embedder, cache_dir, scale, static_joints,
    precision (see solve_learned); the rest go to solvers.geometric.solve_geometric."""
    from .geometric import solve_geometric

    learned_opts = {k: options.pop(k) for k in _LEARNED_OPTIONS if k in options}
    sub_l = None if progress is None else (lambda f, m: progress(0.7 * f, m))
    sub_g = None if progress is None else (lambda f, m: progress(0.7 + 0.3 * f, m))
    learned = solve_learned(tracks, checkpoint, config, progress=sub_l, missing=missing, **learned_opts)
    guess = learned.rotations
    if tracks.reference_rotations is not None and tracks.reference_frame is not None:
        # anchor the learned motion on the true reference pose: L_t L_ref^T R_ref cancels a constant
        # per-joint offset of the prediction and is exact at the reference frame
        at_ref = guess[tracks.reference_frame]
        guess = guess @ (np.swapaxes(at_ref, -1, -2) @ tracks.reference_rotations)[None]
    sol = solve_geometric(tracks, twist_guess=guess, missing=missing, progress=sub_g, **options)
    sol.report[:0] = learned.report
    sol.solver = "hybrid"
    return sol

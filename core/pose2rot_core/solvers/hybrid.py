"""Hybrid solver: learned twist, exact positions.

The network's rotations (solvers.learned, wherever the network runs) are handed to the geometric
solver as ``twist_guess``: every bone is swung exactly onto its track (positions reproduced like the
geometric solver) while the roll about the bone — what positions cannot tell — comes from the
network, anchored on the reference pose when the tracks show it at a frame.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..solution import Solution
from ..tracks import Tracks


def anchored_on_reference(rotations: np.ndarray, tracks: Tracks) -> np.ndarray:
    """Learned local rotations [T,J,3,3] anchored on the tracks' reference pose.

    ``L_t L_ref^T R_ref`` cancels a constant per-joint offset of the prediction and is exact at the
    reference frame; unchanged when the tracks have no reference pose at a frame."""
    if tracks.reference_rotations is None or tracks.reference_frame is None:
        return rotations
    at_ref = rotations[tracks.reference_frame]
    return rotations @ (np.swapaxes(at_ref, -1, -2) @ tracks.reference_rotations)[None]


def solve_hybrid(tracks: Tracks, network: Callable[..., Solution], missing: np.ndarray | None = None,
                 progress: Callable[[float, str], None] | None = None, **geometric: Any) -> Solution:
    """Learned rotations as the per-frame twist source of the geometric solver.

    network(tracks, missing, progress) -> the learned Solution (see solvers.Network); ``geometric``:
    options of solvers.geometric.solve_geometric (twist, stretch, ...)."""
    from .geometric import solve_geometric

    sub_l = None if progress is None else (lambda f, m: progress(0.7 * f, m))
    sub_g = None if progress is None else (lambda f, m: progress(0.7 + 0.3 * f, m))
    learned = network(tracks, missing, sub_l)
    guess = anchored_on_reference(learned.rotations, tracks)
    sol = solve_geometric(tracks, twist_guess=guess, missing=missing, progress=sub_g, **geometric)
    sol.report[:0] = learned.report
    sol.solver = "hybrid"
    return sol

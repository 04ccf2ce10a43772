"""Hybrid solver: learned twist, exact positions.

The network's rotations (solvers.learned, wherever the network runs) are handed to the geometric
solver as ``twist_guess``: every bone is swung exactly onto its track (positions reproduced like the
geometric solver) while the roll about the bone — what positions cannot tell — comes from the
network, anchored on the reference pose when the tracks show it at a frame. Without such a frame
nothing anchors the network's rolls, and nothing in the tracks can check them: the geometric
solver's own solve is then made too, and a warning names the bones whose roll departs from it by
more than DEPARTURE_DEGREES.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..flips import FLIP_DEGREES
from ..solution import Solution
from ..tracks import Tracks
from ..wording import WARNING_PREFIX

#: a bone whose learned roll departs this far (degrees) from the geometric solver's, where nothing
#: anchors it, is named in a warning: the turn the safety check calls a flip between two frames, a
#: change of pose the eye reads as another pose, not a nuance of the roll
DEPARTURE_DEGREES = FLIP_DEGREES


def anchored_on_reference(rotations: np.ndarray, tracks: Tracks) -> np.ndarray:
    """Learned local rotations [T,J,3,3] anchored on the tracks' reference pose.

    ``L_t L_ref^T R_ref`` cancels a constant per-joint offset of the prediction and is exact at the
    reference frame; unchanged when the tracks have no reference pose at a frame."""
    if not _anchored(tracks):
        return rotations
    at_ref = rotations[tracks.reference_frame]
    return rotations @ (np.swapaxes(at_ref, -1, -2) @ tracks.reference_rotations)[None]


def _anchored(tracks: Tracks) -> bool:
    """Whether the tracks show their reference pose at a frame (the learned rolls are anchored there)."""
    return tracks.reference_rotations is not None and tracks.reference_frame is not None


def solve_hybrid(tracks: Tracks, network: Callable[..., Solution], missing: np.ndarray | None = None,
                 progress: Callable[[float, str], None] | None = None, **geometric: Any) -> Solution:
    """Learned rotations as the per-frame twist source of the geometric solver.

    network(tracks, missing, progress) -> the learned Solution (see solvers.Network); ``geometric``:
    options of solvers.geometric.solve_geometric (twist, stretch, ...). Without a reference pose at a
    frame, the report warns of bones whose roll departs from the geometric solver's (see
    :func:`departure_warning`)."""
    from ..options import AUTO_TWIST
    from . import part_of
    from .geometric import solve_geometric

    anchored = _anchored(tracks)
    shares = (0.7, 1.0) if anchored else (0.6, 0.8)
    learned = network(tracks, missing, part_of(progress, 0.0, shares[0]))
    guess = anchored_on_reference(learned.rotations, tracks)
    sol = solve_geometric(tracks, twist_guess=guess, missing=missing, progress=part_of(progress, *shares), **geometric)
    sol.report[:0] = learned.report
    sol.solver = "hybrid"
    if not anchored:
        policy = AUTO_TWIST["geometric"]
        compare = part_of(progress, shares[1], 1.0, "the geometric solver's rolls, to compare: ")
        own = solve_geometric(tracks, missing=missing, progress=compare, **dict(geometric, twist=policy))
        sol.report.extend(departure_warning(sol, own, policy))
    return sol


def departure_warning(hybrid: Solution, geometric: Solution, policy: str) -> list[str]:
    """A warning naming the bones whose orientation [T,J,3,3] in ``hybrid`` turns more than
    DEPARTURE_DEGREES from ``geometric``'s in some frame (the worst first, at most 4 named, each with
    its largest and mean turn); none: no such bone. Both put every bone on its track, so the turn
    between them is the bone's roll about itself."""
    from ..rotations import geodesic_angle
    from ..tracks_io import describe_names

    turn = np.degrees(geodesic_angle(hybrid.forward()[0], geometric.forward()[0]))  # [T,J]
    worst = turn.max(axis=0)
    far = np.flatnonzero(worst > DEPARTURE_DEGREES)
    if not len(far):
        return []
    far = far[np.argsort(-worst[far], kind="stable")]
    names = hybrid.skeleton.names
    shown = describe_names([f"'{names[j]}' up to {worst[j]:.0f}° ({turn[:, j].mean():.0f}° on average)" for j in far],
                           4, "bone")
    return [f"{WARNING_PREFIX}hybrid: with no reference pose at a frame of the tracks nothing anchors the network's "
            f"rolls, and they turn {len(far)} bone{'s' if len(far) != 1 else ''} more than {DEPARTURE_DEGREES:g}° "
            f"about {'themselves' if len(far) != 1 else 'itself'} from the geometric solver's ('{policy}' roll): "
            f"{shown}. The positions are exact either way, so only these rolls differ: a reference pose the tracks "
            "show at a frame anchors them (reference_frame='N'), and solver='geometric' keeps the geometric solver's"]

"""The automatic map of a rig onto points, set up once for every interface (``pose2rot map``, the
Blender panel's Automatic Map, the benchmarks): the rig's joints and End Sites with their parents,
their reference positions, and the points' canonical names, handed to ``automap.propose_map``.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .automap import Proposal, canonical_names, propose_map
from .axes import AXES
from .bvh import BvhClip
from .fk import end_site_positions, forward_kinematics
from .layouts import Layout
from .skeleton import Skeleton


class EndSites(NamedTuple):
    """A rig's End Sites: parents [K] (joint indices), offsets [K,3] (parent-local), names [K]."""

    parents: np.ndarray
    offsets: np.ndarray
    names: Sequence[str]

    @classmethod
    def of(cls, clip: BvhClip) -> "EndSites":
        return cls(clip.end_parents, clip.end_offsets, tuple(clip.end_names))


def names_and_parents(skeleton: Skeleton, ends: EndSites | None = None) -> tuple[list[str], list[int]]:
    """The names and parent indices of the rig's joints, then of its End Sites."""
    names, parents = list(skeleton.names), list(skeleton.parents)
    if ends is None:
        return names, parents
    return names + list(ends.names), parents + list(ends.parents)


def reference_positions(skeleton: Skeleton, rotations: np.ndarray | None = None,
                        ends: EndSites | None = None) -> np.ndarray:
    """[J+K,3] positions of the joints, then the End Sites, in the pose of local ``rotations``
    [J,3,3] (None: the rest pose)."""
    if rotations is None:
        joints = skeleton.rest_positions
        tips = joints[ends.parents] + ends.offsets if ends is not None else np.zeros((0, 3))
    else:
        G, P = forward_kinematics(skeleton, rotations[None])
        joints = P[0]
        tips = end_site_positions(G, P, ends.parents, ends.offsets)[0] if ends is not None else np.zeros((0, 3))
    return np.concatenate([joints, tips])


def loose_virtual(canon: dict[str, str]) -> dict[str, dict]:
    """Virtual points, as the landmark layouts have them, for points ``canon`` ({point: canonical
    name}) that name both sides but not the joint between: {"pelvis": {"mean": [left hip point, right
    hip point]}} (a rig's root placed from a point set without a pelvis point) and a head between the
    ears (OpenPose's BODY_25 names its nose, eyes and ears, no head: the rig's head kept its reference
    pose). A neck between the shoulders, as the landmark layouts have it, is not added: a rig's neck
    sits above its shoulder joints, and aimed there it pulled the head up to 12 % of the height off."""
    point_of = {c: p for p, c in canon.items()}
    out = {}
    for joint, side in (("pelvis", "hip"), ("head", "ear")):
        left, right = point_of.get(f"left_{side}"), point_of.get(f"right_{side}")
        if left and right and joint not in point_of:
            out[joint] = {"mean": [left, right]}
    return out


#: points closer than this share of the points' size are at one place (a zero-length bone)
ONE_PLACE = 1e-6


def point_places(positions: np.ndarray) -> list[int]:
    """The place of each of the points ``positions`` [F,P,3] (NaN: no data; a skeleton's rest pose,
    F = 1, or frames of a point set): the index of the first point within ONE_PLACE of the points'
    size of it in every frame where both have data (and in at least one), else its own."""
    P = positions.shape[1]
    seen = np.isfinite(positions).all(-1)                                    # [F,P]
    size = float(np.nanmax(np.ptp(np.where(seen[..., None], positions, np.nan), axis=1))) if seen.any() else 0.0
    place = list(range(P))
    for i in range(P):
        for k in range(i):
            both = seen[:, i] & seen[:, k]
            if place[k] == k and both.any() and \
                    np.linalg.norm(positions[both, i] - positions[both, k], axis=-1).max() <= ONE_PLACE * size:
                place[i] = k
                break
    return place


def propose(skeleton: Skeleton, up: str, points: Sequence[str], layout: Layout | None = None,
            point_parents: Sequence[int] | None = None, ends: EndSites | None = None,
            reference_rotations: np.ndarray | None = None, point_positions: np.ndarray | None = None) -> Proposal:
    """The automatic map of a rig onto ``points`` (names).

    The rig: ``skeleton``, its End Sites ``ends`` (or None), its reference pose as local rotations
    [J,3,3] (None: the rest pose) and its up axis ``up`` ("y" or "z"). The points are named by their
    ``layout`` (its canonical names, virtual points and landmarks), else by automap.canonical_names
    as a tree with ``point_parents`` (another skeleton's joints and End Sites) or as loose points, with
    a virtual pelvis between named hips and head between named ears (loose_virtual).
    ``point_positions`` [F,P,3] (None: not known): where the points are (another skeleton's rest pose,
    frames of a point set), so that points at one place (zero-length bones: the Xia rig's ``Spine1``,
    ``Neck`` and both collars) drive no two joints the rig holds apart (automap.one_joint_a_place).
    """
    names, parents = names_and_parents(skeleton, ends)
    reference = reference_positions(skeleton, reference_rotations, ends)
    if layout is not None:
        canon, virtual, landmarks = layout.canonical, layout.virtual, layout.landmarks
    else:
        tree = [-1] * len(points) if point_parents is None else list(point_parents)
        canon, landmarks = canonical_names(points, tree)[0], frozenset()
        virtual = loose_virtual(canon)
    places = None if point_positions is None else dict(zip(points, point_places(point_positions)))
    return propose_map(names, parents, skeleton.num_joints, reference, np.asarray(AXES[up], float), points, canon,
                       virtual, landmarks, places)

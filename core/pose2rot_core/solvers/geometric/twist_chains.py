"""Twist joints: joints that lie on one bone's axis take the roll that the bone's child calls for.

Production rigs put extra joints on a bone's axis — beside the real child (Character Creator's
``*Twist01``/``*Twist02`` under the upper arm) or between the bone and its child (twist segments).
Their positions say nothing about their roll. What does is the child at the end of the bone: the
turn of its orientation about the bone's axis, relative to the reference, is the twist the rig
spreads along the bone, as far as the child's orientation is fixed by its own targets (a child
whose roll comes from a twist policy calls for nothing). A twist joint at fraction ``f`` of the way from the bone's joint to the
child takes the fraction ``f`` of that twist (rotating about its own aim, so every position stays
exact); the bone's joint and the child keep their orientations.

A joint counts as a twist joint of the bone from ``j`` to ``c`` when its track lies on the
segment between their tracks in every frame (within ON_AXIS_FRACTION of the bone length plus what
the noise left in the tracks explains, see _on_axis: jittered tracks show the twist joints clean
ones show), it descends from ``j`` through such joints, and nothing off the axis hangs from it
except through ``c``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...rotations import axis_angle_to_matrix, norm, normalize, twist_angle
from ...skeleton import has_length
from ...stacks import dot, joint_planes, planes_mul, planes_vec
from .lean import LOCAL_STDS
from .problem import Aim, Problem, Target

#: how far (fraction of the bone length) a twist joint may sit from the bone's axis
ON_AXIS_FRACTION = 0.01


@dataclass(frozen=True)
class TwistBone:
    """The bone from ``joint`` to ``child`` and its twist joints with their fractions along it;
    ``segments``: those the joint's aim passes through on its way to the child (twist segments,
    each aiming at the next), in that order."""

    joint: int
    child: int
    twist_joints: tuple[int, ...]
    fractions: tuple[float, ...]
    segments: tuple[int, ...] = ()


def find_twist_bones(problem: Problem) -> list[TwistBone]:
    """Every bone that carries twist joints."""
    aimed = [_aimed_joint(problem, j) for j in range(problem.skeleton.num_joints)]
    bones = []
    claimed: set[int] = set()
    for j in _maybe_twisted(problem, aimed):
        if j in claimed:
            continue
        bone = _twist_bone(problem, j, aimed)
        if bone is not None:
            bones.append(bone)
            claimed.update(bone.twist_joints)
    return bones


def past_segments(problem: Problem, bones: list[TwistBone]) -> dict[int, Target]:
    """For each of ``bones`` split by twist segments (its joint aims at a twist joint, which aims
    on along the axis): the bone's child as a target of the joint, reached through the segments
    with their offsets (their tracks lie on the axis, so they say nothing of the roll; the child's
    bend does)."""
    out = {}
    for bone in (b for b in bones if b.segments):
        links = [problem.aims[k].targets[0] for k in (bone.joint, *bone.segments)]  # each aims at the next
        chain = tuple(z for link in links[:-1] for z in (*link.chain, link.index)) + links[-1].chain
        out[bone.joint] = Target(bone.child, False, chain, links[-1].offset, problem.skeleton.offsets[list(chain)])
    return out


def aim_past_segments(problem: Problem) -> None:
    """On noisy tracks, each joint whose bone twist segments split (``problem.past_segments``) aims
    at the bone's child through them, and the segments then lie on the bone: their tracks tell
    nothing but noise across the bone (they sit on its axis within what the noise explains, see
    _on_axis), while the child's, a bone's length away, tells its direction best. Aiming at the
    first segment put a kink of the segment's noise into the bone and turned the segments about
    it from frame to frame."""
    for j, target in problem.past_segments.items():
        axis = None if problem.aims[j].axis is None else normalize(problem.sources([target])[0])
        problem.aims[j] = Aim([target], axis, None, None)


def _aimed_joint(problem: Problem, j: int) -> int | None:
    """The joint ``j`` points at when it has exactly one primary target and that is a joint."""
    primary = problem.aims[j].targets
    if len(primary) != 1 or primary[0].is_end:
        return None
    return primary[0].index


#: _maybe_twisted lets through what is this much further from the axis than _twist_bone allows
#: (rounding must never keep out a bone _twist_bone would take)
_SCREEN_MARGIN = 1.01


#: the chance that noise alone puts a joint that lies on the axis outside its tolerance in some
#: frame of the clip
ON_AXIS_MISS = 0.01


def _on_axis(problem: Problem, off: np.ndarray, f: np.ndarray, length: np.ndarray, variances: tuple,
             samples: np.ndarray | float, margin: float = 1.0) -> np.ndarray:
    """Whether points ``off`` [...,T] (file units) from the axis of a bone of ``length`` [...,T],
    at fractions ``f`` [...,T] of the way from its joint to the joint it aims at, sit on the axis
    and not behind the joint ([...]): within ON_AXIS_FRACTION of the length, and the noise that
    moves them (the point's own and both ends' as the fraction weighs them; ``variances`` of the
    joint, the aimed joint and the point, per axis, per frame or constant), in every frame, as far
    as keeps the chance that noise alone takes a point further in any of the clip's T frames under
    ON_AXIS_MISS (a distance from a line is 2-D: beyond k stds with chance exp(-k^2 / 2); k = 3.0
    for 1 frame, 4.6 for 384, 5.3 for 10,000); and on average over the clip no further from the
    axis than that noise explains, within LOCAL_STDS of the scatter of a mean of ``samples``
    independent frames (a bend each frame's noise could hide, a thumb's, shows in the mean).
    Clean tracks: within ON_AXIS_FRACTION of the length in every frame. ``margin`` widens the
    tolerances (a screen)."""
    var_joint, var_aimed, var_point = variances
    off_var = var_point + f * f * var_aimed + (1.0 - f) ** 2 * var_joint
    slack = ON_AXIS_FRACTION * length
    stds = np.sqrt(2.0 * np.log(problem.tracks.num_frames / ON_AXIS_MISS))
    tol = margin * (slack + stds * np.sqrt(off_var))
    each = ((off <= tol) & (-f * length < tol)).all(axis=-1)
    explained = (slack * slack).mean(axis=-1) + 2.0 * off_var.mean(axis=-1) * (1.0 + LOCAL_STDS / np.sqrt(samples))
    return each & ((off * off).mean(axis=-1) <= margin * margin * explained)


def _samples(problem: Problem, k: np.ndarray | int, is_end: bool = False) -> np.ndarray | float:
    """How many of the clip's frames carry independent noise in the tracks of joints ``k`` (bone
    tips: their joints')."""
    if problem.freedom is None:
        return float(problem.tracks.num_frames)
    k = problem.tracks.end_parents[k] if is_end else k
    return np.maximum(1.0, problem.tracks.num_frames * problem.freedom[k])


def _maybe_twisted(problem: Problem, aimed: list[int | None]) -> list[int]:
    """The joints (ascending) whose bone may carry twist joints, all at once: a twist joint is
    another child of the joint, or the aimed joint's own aimed joint, near the axis in every frame
    (the test of _twist_bone, with _SCREEN_MARGIN); ``aimed``: each joint's _aimed_joint."""
    children = problem.skeleton.children
    pairs = [(j, a, k) for j, a in enumerate(aimed) if a is not None
             for k in children[j] + [aimed[a]] if k is not None and k != a]
    if not pairs:
        return []
    j, a, k = np.array(pairs).T
    x = np.ascontiguousarray(joint_planes(problem.positions))  # [J,3,T]
    axis, rel = x[a] - x[j], x[k] - x[j]  # [n,3,T]
    length2 = (axis * axis).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero-length bone is no twist bone
        f = (rel * axis).sum(axis=1) / length2
        off = rel - f[:, None] * axis
        off = np.sqrt((off * off).sum(axis=1))
        variances = tuple(problem.point_var(i) for i in (j, a, k))
        near = _on_axis(problem, off, f, np.sqrt(length2), variances, _samples(problem, k), _SCREEN_MARGIN)
    return sorted({int(i) for i in j[near]})


def _twist_bone(problem: Problem, j: int, aimed: list[int | None]) -> TwistBone | None:
    """The bone from ``j`` along its aim, with the joints on its axis, or None; ``aimed``: each
    joint's _aimed_joint."""
    first = aimed[j]
    if first is None:
        return None
    P = problem.positions
    axis = P[:, first] - P[:, j]
    length = norm(axis)
    if length.min() <= 0:
        return None
    ends_var = problem.point_var(j), problem.point_var(first)

    def along(k: int, is_end: bool = False) -> np.ndarray | None:
        """[T] fraction of the way from j to ``first`` where joint k's track (bone tip k's with
        ``is_end``) lies, or None when it leaves the axis."""
        rel = (problem.tracks.end_positions[:, k] if is_end else P[:, k]) - P[:, j]
        f = dot(rel, axis) / (length * length)
        off = norm(rel - f[:, None] * axis)
        variances = (*ends_var, problem.point_var(k, is_end))
        on = _on_axis(problem, off, f, length, variances, _samples(problem, k, is_end))
        return f if on else None

    chain = [first]  # the aimed chain while it stays on the axis: twist segments, then the child
    while (nxt := aimed[chain[-1]]) is not None and along(nxt) is not None:
        chain.append(nxt)
    child = chain[-1]
    on_axis = _on_axis_descendants(problem, j, child, along)
    twist = [k for k in on_axis if k != child]
    if not twist:
        return None
    scale = norm(P[:, child] - P[:, j]) / length
    seen = scale > 0  # frames where the child's track is off the joint's: they tell the fractions
    if not seen.any():
        return None
    fractions = tuple(float(np.clip(np.median(along(k)[seen] / scale[seen]), 0.0, 1.0)) for k in twist)
    return TwistBone(j, child, tuple(twist), fractions, tuple(chain[:-1]))


def _on_axis_descendants(problem: Problem, j: int, child: int, along) -> list[int]:
    """Descendants of ``j`` (``child`` included, its own subtree not) whose tracks stay on the axis
    and from which nothing off the axis hangs except through ``child``."""
    children = problem.skeleton.children
    keep: list[int] = []

    def visit(k: int) -> bool:  # whether k's whole subtree (outside child's) stays on the axis
        if k == child:
            keep.append(k)
            return True
        if along(k) is None:
            return False
        ok = all([visit(c) for c in children[k]]) and _ends_on_axis(problem, k, along)
        if ok:
            keep.append(k)
        return ok

    for c in children[j]:
        visit(c)
    return keep if child in keep else []


def _ends_on_axis(problem: Problem, k: int, along) -> bool:
    """Whether every bone tip of joint ``k`` with length lies on the axis (tips define rolls)."""
    tracks = problem.tracks
    if not tracks.has_ends:
        return True
    for e in np.where(tracks.end_parents == k)[0]:
        long = has_length(tracks.end_rest_offsets[e], problem.skeleton.height)
        if long and np.isfinite(tracks.end_positions[:, e]).all() and along(e, is_end=True) is None:
            return False
    return True


def spread_twist(problem: Problem, G: np.ndarray, bones: list[TwistBone]) -> None:
    """Turn the twist joints of ``bones`` in the global orientations ``G`` [T,J,3,3] (in place) so
    that each takes its fraction of the twist the bone's child has about the bone, relative to the
    reference. Bones that read no joint an earlier one turns are done together."""
    for group in _independent(bones):
        _spread_group(problem, G, group)


def _independent(bones: list[TwistBone]) -> list[list[TwistBone]]:
    """``bones`` in consecutive groups, none of which reads (joint, child, twist joints) a joint
    that a bone before it in the group turns: a group gives what the bones one by one give."""
    groups: list[list[TwistBone]] = []
    turned: set[int] = set()
    for bone in bones:
        if not groups or turned & {bone.joint, bone.child, *bone.twist_joints}:
            groups.append([])
            turned = set()
        groups[-1].append(bone)
        turned.update(bone.twist_joints)
    return groups


def _spread_group(problem: Problem, G: np.ndarray, bones: list[TwistBone]) -> None:
    """spread_twist for bones that do not read each other's twist joints, all at once on joint
    planes (see core.stacks): one row per bone's child, then one per twist joint."""
    g, x = joint_planes(G), joint_planes(problem.positions)  # [J,3,3,T], [J,3,T]
    joints = np.array([b.joint for b in bones])
    rows = [(i, b.child) for i, b in enumerate(bones)] + [(i, k) for i, b in enumerate(bones) for k in b.twist_joints]
    bone_of, turned = np.array([i for i, _ in rows]), np.array([k for _, k in rows])
    axis_world = normalize(np.moveaxis(x[[b.child for b in bones]] - x[joints], 1, -1))  # [n,T,3]
    axis = planes_vec(g[joints], np.moveaxis(axis_world, -1, 1), transpose_a=True)  # [n,3,T] in j's frame
    seen = planes_mul(g[joints[bone_of]], g[turned], transpose_a=True)  # [rows,3,3,T]: seen from j
    paths = [_reference_path(problem, bones[i].joint, k) for i, k in rows]
    against = planes_mul(seen, np.stack([np.moveaxis(np.swapaxes(p, -1, -2), 0, -1) if p.ndim == 3 else p.T[..., None]
                                         for p in paths]))
    twist = np.unwrap(twist_angle(np.moveaxis(against, -1, 1), np.moveaxis(axis, 1, -1)[bone_of]), axis=-1)
    n = len(bones)
    tau = [twist[i] * problem.determined.get(b.child, 0.0) for i, b in enumerate(bones)]  # a policy's roll: none
    fractions = [f for b in bones for f in b.fractions]
    angle = np.stack([f * tau[i] for (i, _), f in zip(rows[n:], fractions)]) - twist[n:]
    turn = axis_angle_to_matrix(axis_world[bone_of[n:]], angle)  # [m,T,3,3]
    g[turned[n:]] = planes_mul(np.moveaxis(turn, 1, -1), g[turned[n:]])


def _reference_path(problem: Problem, j: int, k: int) -> np.ndarray:
    """[T,3,3] (or [3,3]) product of the reference local rotations from ``j`` down to ``k``: the
    reference orientation of k in j's frame."""
    parents = problem.skeleton.parents
    path = []
    while k != j:
        path.append(k)
        k = int(parents[k])
    return problem.reference_product(reversed(path))

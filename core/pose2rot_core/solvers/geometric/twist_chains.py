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

from ...rotations import axis_angle_to_matrix, matrix_to_quat, norm, normalize, smoothstep, wrap_angle
from ...skeleton import has_length
from ...stacks import dot, joint_planes, planes_mul, planes_vec
from .lean import LOCAL_STDS
from .problem import Aim, Problem, Target
from .roll import TRUST_HIGH, continuous_roll, widen_hand_overs, within_step

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


@dataclass(frozen=True)
class TwistSpread:
    """What spreading the twist along ``bones`` reads besides orientations and positions, kept from
    the solve so that rotations smoothed afterwards can have it spread again: the reference
    orientation [T|1,3,3] of each bone's child and twist joints in the bone joint's frame
    (``references``, by (joint, turned joint)), how far each child's orientation is fixed by its
    own targets (``determined``, [T] or [1] or a number, by child: 0 for a policy's roll), the
    clip's ``fps``, the steps the roll carries across (``tied``, Problem.tied) and, by twist joint,
    the one point with an offset from it that its turn carries: a child on its bone (``carries``)
    or a bone tip (``tip_offsets``, its rest offset [3]); ``held``: those that carry several, which
    no turn leaves in place."""

    bones: tuple[TwistBone, ...]
    references: dict[tuple[int, int], np.ndarray]
    determined: dict[int, np.ndarray | float]
    fps: float
    tied: np.ndarray | None
    carries: dict[int, int]
    tip_offsets: dict[int, np.ndarray]
    held: frozenset[int]


def twist_spread(problem: Problem, bones: list[TwistBone]) -> TwistSpread:
    """The TwistSpread of ``bones`` once ``problem`` is solved (its ``determined`` filled in)."""
    references = {(b.joint, k): _reference_path(problem, b.joint, k) for b in bones for k in (b.child, *b.twist_joints)}
    determined = {b.child: problem.determined.get(b.child, 0.0) for b in bones}
    return TwistSpread(tuple(bones), references, determined, problem.tracks.fps, problem.tied, *_carried(problem, bones))


def _carried(problem: Problem, bones: list[TwistBone]) -> tuple[dict[int, int], dict[int, np.ndarray], frozenset[int]]:
    """(carries, tip_offsets, held) of TwistSpread: what each twist joint of ``bones`` carries with
    an offset from it, its children on the bone and its bone tips."""
    skeleton, tracks = problem.skeleton, problem.tracks
    carries, tip_offsets, held = {}, {}, set()
    for bone in bones:
        on_bone = {bone.child, *bone.twist_joints}
        for k in bone.twist_joints:
            children = [c for c in skeleton.children[k]
                        if c in on_bone and has_length(skeleton.offsets[c], skeleton.height)]
            tips = [] if not tracks.has_ends else [o for o in tracks.end_rest_offsets[tracks.end_parents == k]
                                                   if has_length(o, skeleton.height)]
            if len(children) + len(tips) > 1:
                held.add(k)
            elif children:
                carries[k] = children[0]
            elif tips:
                tip_offsets[k] = tips[0]
    return carries, tip_offsets, frozenset(held)


def spread_twist(spread: TwistSpread, G: np.ndarray, positions: np.ndarray) -> None:
    """Turn the twist joints of ``spread.bones`` in the global orientations ``G`` [T,J,3,3] (in
    place) so that each takes its fraction of the twist the bone's child has about the bone (from
    the joint's point to the child's in ``positions`` [T,J,3]), relative to the reference. Bones
    that read no joint an earlier one turns are done together."""
    for group in _independent(list(spread.bones)):
        _spread_group(spread, G, positions, group, exact=False)


def spread_twist_again(spread: TwistSpread, G: np.ndarray, positions: np.ndarray) -> None:
    """spread_twist on orientations ``G`` [T,J,3,3] changed after the solve (smoothed), whose joints
    lie at ``positions`` [T,J,3]: each twist joint turns about its own way to the one point it
    carries (TwistSpread; about the bone where it carries none), so that no point moves, though
    smoothing left the bone a little bent at its segments; one that carries several stays as it is."""
    for group in _independent(list(spread.bones)):
        _spread_group(spread, G, positions, group, exact=True)


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


def _spread_group(spread: TwistSpread, G: np.ndarray, positions: np.ndarray, bones: list[TwistBone],
                  exact: bool) -> None:
    """spread_twist (``exact``: spread_twist_again) for bones that do not read each other's twist
    joints, all at once on joint planes (see core.stacks): one row per bone's child, then one per
    twist joint. Each one's twist about the bone is split from its orientation in the rest pose, as
    rigs' own twist constraints split it, less the reference's (split from the reference's
    orientation, which is far from the rest pose's, the twist turned through a half turn where the
    rest pose's did not: random trees' twist joints came out 0.1-0.5 degrees further from the
    source on average)."""
    g, x = joint_planes(G), joint_planes(positions)  # [J,3,3,T], [J,3,T]
    joints = np.array([b.joint for b in bones])
    rows = [(i, b.child) for i, b in enumerate(bones)] + [(i, k) for i, b in enumerate(bones) for k in b.twist_joints]
    bone_of, turned = np.array([i for i, _ in rows]), np.array([k for _, k in rows])
    axis_world = normalize(np.moveaxis(x[[b.child for b in bones]] - x[joints], 1, -1))  # [n,T,3]
    axis = planes_vec(g[joints], np.moveaxis(axis_world, -1, 1), transpose_a=True)  # [n,3,T] in j's frame
    seen = planes_mul(g[joints[bone_of]], g[turned], transpose_a=True)  # [rows,3,3,T]: seen from j
    T, n = G.shape[0], len(bones)
    seen, along = np.moveaxis(seen, -1, 1), np.moveaxis(axis, 1, -1)[bone_of]  # [rows,T,3,3], [rows,T,3]
    reference = np.stack([np.broadcast_to(spread.references[bones[i].joint, k], (T, 3, 3)) for i, k in rows])
    twist, trust = _twist_and_trust(seen, along)
    twist = wrap_angle(twist - _twist_and_trust(reference, along)[0])  # each split from the rest pose
    twist[:n] = _handed_over(twist[:n], trust[:n], spread.fps, spread.tied)
    twist = np.unwrap(twist, axis=-1)
    tau = [twist[i] * spread.determined[b.child] for i, b in enumerate(bones)]  # a policy's roll: none
    fractions = [f for b in bones for f in b.fractions]
    angle = np.stack([f * tau[i] for (i, _), f in zip(rows[n:], fractions)]) - twist[n:]
    about = axis_world[bone_of[n:]]
    if exact:
        about = _carried_ways(spread, G, positions, turned[n:], about)
        angle[np.isin(turned[n:], list(spread.held))] = 0.0
    turn = axis_angle_to_matrix(about, angle)  # [m,T,3,3]
    g[turned[n:]] = planes_mul(np.moveaxis(turn, 1, -1), g[turned[n:]])


def _carried_ways(spread: TwistSpread, G: np.ndarray, positions: np.ndarray, turned: np.ndarray,
                  bone_ways: np.ndarray) -> np.ndarray:
    """[m,T,3] the unit way from each ``turned`` [m] twist joint to the point it carries
    (TwistSpread) at orientations ``G`` [T,J,3,3] and ``positions`` [T,J,3], or its bone's way
    (``bone_ways`` [m,T,3]) where it carries none."""
    ways = bone_ways.copy()
    for row, k in enumerate(turned.tolist()):
        if k in spread.carries:
            ways[row] = normalize(positions[:, spread.carries[k]] - positions[:, k])
        elif k in spread.tip_offsets:
            ways[row] = normalize(G[:, k] @ spread.tip_offsets[k])
    return ways


def _twist_and_trust(R: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([...] the twist, radians, of rotations R [...,3,3] about the unit ``axis`` [...,3]: the turn
    about it of their swing-twist split; [...] how well it is defined: cos^2 of half the swing,
    the trust the twist policies give a smallest swing of that size (TRUST_HIGH), 0 at a half turn,
    where the quaternion's w and its part along the axis both vanish and rounding picks the twist)."""
    q = matrix_to_quat(R)
    part = dot(q[..., 1:], axis)
    return 2.0 * np.arctan2(part, q[..., 0]), smoothstep((q[..., 0] ** 2 + part ** 2) / TRUST_HIGH)


def _handed_over(twist: np.ndarray, trust: np.ndarray, fps: float, tied: np.ndarray | None) -> np.ndarray:
    """[n,T] the twists ``twist`` [n,T] (radians) of n bones' children, each handed over from the
    frames on either side (continuous_roll, widened as widen_hand_overs says) where it is poorly
    defined (``trust`` [n,T], see _twist_and_trust) and also turns faster than a handed-over roll may
    (within_step): a child swinging past the opposite of its rest direction turns its split's twist
    by up to a half turn in a frame or two, which no motion calls for, while a twist read slowly,
    however poorly defined, is the rig's own. Frame by frame, random trees' twist joints turned by
    34-63 degrees in one frame on clean tracks and their child back by as much."""
    step = np.abs(wrap_angle(np.diff(twist, axis=-1)))  # [n,T-1]
    fastest = np.maximum(np.pad(step, ((0, 0), (1, 0))), np.pad(step, ((0, 0), (0, 1))))  # a frame's either side
    trust = np.maximum(trust, within_step(fastest, 1))
    low = np.flatnonzero(trust.min(axis=1) < 1.0)
    if not len(low):
        return twist
    psi, weight = twist[low].T.copy(), trust[low].T.copy()  # [T,k]
    for k in range(len(low)):
        widen_hand_overs(weight[:, k], psi[:, k])
    out = twist.copy()
    out[low] = continuous_roll(psi, weight, fps, steps=tied).T
    return out


def _reference_path(problem: Problem, j: int, k: int) -> np.ndarray:
    """[T,3,3] (or [3,3]) product of the reference local rotations from ``j`` down to ``k``: the
    reference orientation of k in j's frame."""
    parents = problem.skeleton.parents
    path = []
    while k != j:
        path.append(k)
        k = int(parents[k])
    return problem.reference_product(reversed(path))

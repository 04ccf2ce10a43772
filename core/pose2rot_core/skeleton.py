"""Validated joint trees.

A :class:`Skeleton` stores joints root-first with every parent before its children
(``parents[0] == -1``, ``parents[j] < j``). Callers may give joints in any order;
``Skeleton.from_any_order`` sorts them and remembers the permutation so results can be
written back in the caller's order (:meth:`Skeleton.to_caller`, :meth:`Skeleton.from_caller`).

Rest pose convention (BVH style): ``rest_positions [J,3]`` are global joint positions in
a pose where every joint frame is aligned with the file axes, so the parent-local offset
of joint j is ``rest_positions[j] - rest_positions[parents[j]]``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import numpy as np

from .errors import Pose2RotError

MAX_HOP = 5
#: a joint within this sine of a turn of the line from its parent to its one child is on that bone's axis
#: (rigs write offsets to 6 digits: a twist segment exported so is within 1e-5 of it)
AXIS_TOLERANCE = 1e-3
#: an offset shorter than this fraction of the extent below it is no offset (a wrapper node)
ZERO_OFFSET = 1e-6
#: a root-line offset this many times longer than the extent below it places the body: no bone
#: outreaches all that hangs from it by half as much again (a forearm over a hand: 1.3 times)
PLACEMENT_RATIO = 1.5
#: bones (and tips) shorter than this fraction of the skeleton height have no length: joints on
#: their parent (rigs write such offsets as 1e-7 of the height, not 0), whose direction means nothing
ZERO_LENGTH = 1e-4


def has_length(offsets: np.ndarray, height: float) -> np.ndarray:
    """[...] whether the offsets [...,3] of bones or tips have a length: ZERO_LENGTH of ``height``
    or more."""
    return np.linalg.norm(offsets, axis=-1) >= ZERO_LENGTH * height


@dataclass(frozen=True)
class Skeleton:
    """A tree of joints, root first, parents before children.

    names: J unique joint names; parents: [J] int (-1 for the root);
    rest_positions: [J,3] float64 global rest positions;
    caller_order: [J] int, caller index of each internal joint (identity when the
    input was already sorted).
    """

    names: tuple[str, ...]
    parents: np.ndarray
    rest_positions: np.ndarray
    caller_order: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        names = tuple(str(n) for n in self.names)
        parents = np.asarray(self.parents, dtype=np.int64).reshape(-1)
        rest = np.asarray(self.rest_positions, dtype=np.float64)
        J = len(names)
        if J == 0:
            raise Pose2RotError("skeleton has no joints")
        if parents.shape != (J,):
            raise Pose2RotError(f"skeleton: {J} joint names but {parents.shape[0]} parents")
        if rest.shape != (J, 3):
            raise Pose2RotError(f"skeleton: rest_positions must be [{J},3], got {list(rest.shape)}")
        _check_names(names)
        if not np.isfinite(rest).all():
            bad = names[int(np.where(~np.isfinite(rest).all(axis=1))[0][0])]
            raise Pose2RotError(f"skeleton: rest position of joint '{bad}' is not finite")
        if parents[0] != -1 or (J > 1 and not np.all((parents[1:] >= 0) & (parents[1:] < np.arange(1, J)))):
            raise Pose2RotError(
                "skeleton: joints must be root-first with parents before children; "
                "use Skeleton.from_any_order for other orders")
        order = np.arange(J) if self.caller_order is None else np.asarray(self.caller_order, np.int64)
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "parents", parents)
        object.__setattr__(self, "rest_positions", rest)
        object.__setattr__(self, "caller_order", order)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_any_order(cls, names: Sequence[str], parents: Sequence[int] | Sequence[str],
                       rest_positions: np.ndarray) -> "Skeleton":
        """Build from joints in any order. ``parents`` holds caller indices (-1 = root) or
        parent names (None/"" = root)."""
        names = [str(n) for n in names]
        J = len(names)
        _check_names(names)
        par = _parent_indices(names, parents)
        roots = [j for j in range(J) if par[j] < 0]
        if len(roots) == 0:
            raise Pose2RotError("skeleton has no root joint (every joint has a parent: there is a cycle)")
        if len(roots) > 1:
            raise Pose2RotError(
                "skeleton has several roots: " + ", ".join(names[r] for r in roots[:6])
                + " — give every joint but one a parent")
        children: list[list[int]] = [[] for _ in range(J)]
        for j, p in enumerate(par):
            if p >= 0:
                children[p].append(j)
        if par[0] < 0 and all(0 <= par[j] < j for j in range(1, J)):
            order = list(range(J))  # already root-first with parents before children: keep it
        else:
            order = depth_first(children, roots[0])
        if len(order) != J:
            seen = set(order)
            stuck = [names[j] for j in range(J) if j not in seen]
            raise Pose2RotError("skeleton has a cycle in the parents of: " + ", ".join(stuck[:6]))
        order_arr = np.asarray(order, np.int64)
        inv = np.empty(J, np.int64)
        inv[order_arr] = np.arange(J)
        new_par = np.array([-1 if par[o] < 0 else inv[par[o]] for o in order], np.int64)
        rest = np.asarray(rest_positions, np.float64)
        if rest.shape != (J, 3):
            raise Pose2RotError(f"skeleton: rest_positions must be [{J},3], got {list(rest.shape)}")
        return cls(tuple(names[o] for o in order), new_par, rest[order_arr], order_arr)

    # ------------------------------------------------------------------ order helpers
    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def is_caller_sorted(self) -> bool:
        return bool(np.array_equal(self.caller_order, np.arange(self.num_joints)))

    def from_caller(self, x: np.ndarray, axis: int = -2) -> np.ndarray:
        """Reorder an array whose ``axis`` runs over caller joints into internal order."""
        return np.take(np.asarray(x), self.caller_order, axis=axis)

    def to_caller(self, x: np.ndarray, axis: int = -2) -> np.ndarray:
        """Reorder an array whose ``axis`` runs over internal joints back to caller order."""
        inv = np.empty_like(self.caller_order)
        inv[self.caller_order] = np.arange(self.num_joints)
        return np.take(np.asarray(x), inv, axis=axis)

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise Pose2RotError(f"no joint named '{name}' in the skeleton") from None

    def with_leaves(self, parents: np.ndarray, offsets: np.ndarray, names: Sequence[str]) -> "Skeleton":
        """This skeleton with leaf joints appended (End Sites as joints): ``names`` [J+K] all the
        joints' names, the leaves' ``parents`` [K] and rest ``offsets`` [K,3] from them."""
        if not len(parents):
            return self
        rest = np.concatenate([self.rest_positions, self.rest_positions[parents] + offsets])
        return Skeleton(tuple(names), np.concatenate([self.parents, parents]), rest)

    # ------------------------------------------------------------------ geometry
    @property
    def offsets(self) -> np.ndarray:
        """[J,3] parent-local rest offsets; the root's row is its rest position."""
        off = self.rest_positions.copy()
        off[1:] -= self.rest_positions[self.parents[1:]]
        return off

    @cached_property
    def bone_has_length(self) -> np.ndarray:
        """[J] whether each joint's bone from its parent has a length (has_length; the root's row
        reads its rest position; computed once, read-only)."""
        out = has_length(self.offsets, self.height)
        out.setflags(write=False)
        return out

    @cached_property
    def children(self) -> list[list[int]]:
        """Each joint's children (computed once; not to be changed)."""
        ch: list[list[int]] = [[] for _ in range(self.num_joints)]
        for j in range(1, self.num_joints):
            ch[int(self.parents[j])].append(j)
        return ch

    @cached_property
    def levels(self) -> list[np.ndarray]:
        """The joints [n] at each depth of the tree, top down (the root's first; computed once)."""
        depth = self.depth()
        return [np.flatnonzero(depth == d) for d in range(int(depth.max()) + 1)]

    @cached_property
    def rest_extent(self) -> float:
        """Largest extent of the rest pose, from the placed joint down where there is one (see
        placed_joint); 0 where the joints sit at one point (a rig of one joint)."""
        placed = self.placed_joint
        return _extent(self.rest_positions if placed is None else self.rest_positions[self.ancestor_mask()[:, placed]])

    @property
    def height(self) -> float:
        """rest_extent, a scale for tolerances and % errors; 1 where it is 0 (see rest_extent)."""
        h = self.rest_extent
        return h if h > 0 else 1.0

    @cached_property
    def root_line(self) -> tuple[int, ...]:
        """The joints from the root's one child along single children (_body_child) to the first joint
        with several (the body's hub, included): nodes that place the body (an Armature or floor-level
        root, a walk's start) rather than bones of it; () where the root itself branches or nothing
        does (a chain such as an arm). Leaves on the root beside that child do not count, nor twist
        and share joints on a bone of the line (see _body_child: IK roots and helpers on a
        floor-level root, a 3ds Max Biped's Footsteps, a share bone beside the hips)."""
        line, j = [], _body_child(self.children, self.rest_positions, 0)
        while j is not None:
            line.append(j)
            j = _body_child(self.children, self.rest_positions, j)
        return tuple(line) if line and len(self.children[line[-1]]) > 1 else ()

    @cached_property
    def body_placers(self) -> tuple[int, ...]:
        """The joints below the root that place the body where one has a point or track: the root's
        children and its root line down to the body's hub (a floor root's line may run through a
        node half way to the hips, or an Armature node, before it reaches them)."""
        return tuple(dict.fromkeys((*self.children[0], *self.root_line)))

    @cached_property
    def placed_joint(self) -> int | None:
        """The joint of the root line whose rest offset is a placement, not a bone (a walk's start
        stored as the hips' offset from a root at the origin), else None: its first joint with an
        offset (wrappers at zero offset passed through), when that lies PLACEMENT_RATIO times
        further from its parent than the joints from it down span."""
        rest = self.rest_positions
        for j in self.root_line:
            body = _extent(rest[self.ancestor_mask()[:, j]])  # the joint and every joint below it
            length = float(np.linalg.norm(rest[j] - rest[self.parents[j]]))
            if length > ZERO_OFFSET * body:
                return j if PLACEMENT_RATIO * body < length else None
        return None

    def depth_first_order(self) -> list[int]:
        """Joints in depth-first pre-order from the root, children in index order (BVH's order)."""
        return depth_first(self.children, 0)

    def untargeted(self, tracked: np.ndarray, tipped: np.ndarray) -> np.ndarray:
        """[J] bool: joints with no ``tracked`` [J] joint below them and no tracked tip (``tipped``
        [J]: joints whose bone tip has a track) on them or below: no track tells their rotation."""
        below = np.asarray(tipped, bool).copy()
        tracked = np.asarray(tracked, bool)
        for j in range(self.num_joints - 1, 0, -1):  # parents come before their children
            below[self.parents[j]] |= below[j] | tracked[j]
        return ~below

    def depth(self) -> np.ndarray:
        return tree_depth(self.parents)

    # ------------------------------------------------------------------ graph features
    def ancestor_mask(self) -> np.ndarray:
        """[J,J] bool: [i,j] true iff j == i or j is an ancestor of i."""
        J = self.num_joints
        m = np.eye(J, dtype=bool)
        for j in range(1, J):
            m[j] |= m[self.parents[j]]
        return m

    def hop_distance(self, clamp: int = MAX_HOP) -> np.ndarray:
        """[J,J] int64 undirected tree hop distance, clamped to ``clamp``."""
        anc = self.ancestor_mask()
        depth = self.depth()
        # lowest common ancestor depth = max depth over common ancestors
        common = anc[:, None, :] & anc[None, :, :]
        lca_depth = np.where(common, depth[None, None, :], -1).max(axis=-1)
        hop = depth[:, None] + depth[None, :] - 2 * lca_depth
        return np.minimum(hop, clamp).astype(np.int64)

    def edge_type(self) -> np.ndarray:
        """[J,J] int64: 0 self, 1 j is parent of i, 2 j is child of i, 3 siblings, 4 other."""
        J = self.num_joints
        p = self.parents
        e = np.full((J, J), 4, np.int64)
        sib = (p[:, None] == p[None, :]) & (p[:, None] >= 0)
        e[sib] = 3
        idx = np.arange(1, J)
        e[idx, p[1:]] = 1
        e[p[1:], idx] = 2
        e[np.arange(J), np.arange(J)] = 0
        return e


def marked_or_above(parents: Sequence[int] | np.ndarray, marked: np.ndarray) -> np.ndarray:
    """[N] bool: the ``marked`` [N] joints and every joint above one of them (``parents`` [N],
    parents before children, -1 for the root)."""
    out = np.array(marked, bool)
    for j in range(len(out) - 1, 0, -1):
        out[parents[j]] |= out[j]
    return out


def on_axis(parents: Sequence[int] | np.ndarray, positions: np.ndarray) -> np.ndarray:
    """[N] bool: the joints on their bone's axis (twist segments, a bone split in parts): with one
    child, lying between their parent and it on the straight line through both (within
    AXIS_TOLERANCE of a turn) in the pose ``positions`` [N,3] (``parents`` [N], -1 for a root).
    Between two joints on points such a joint is read as a twist segment, which turns only about the
    bone and so keeps its parent and child at one distance: a joint that bends where the pose holds
    it straight (the elbow of a T-pose) is a limb's joint, and every layout gives those a point."""
    parents = np.asarray(parents, np.int64)
    kids = np.bincount(parents[parents >= 0], minlength=len(parents))
    child = np.full(len(parents), -1)
    child[parents[parents >= 0]] = np.flatnonzero(parents >= 0)
    one = np.flatnonzero((kids == 1) & (parents >= 0))
    a = positions[one] - positions[parents[one]]
    b = positions[child[one]] - positions[one]
    na, nb = np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1)
    sine = np.linalg.norm(np.cross(a, b), axis=-1)
    out = np.zeros(len(parents), bool)
    out[one] = (na > 0) & (nb > 0) & (np.einsum("ni,ni->n", a, b) > 0) & (sine <= AXIS_TOLERANCE * na * nb)
    return out


def tree_depth(parents: np.ndarray) -> np.ndarray:
    """[N] how many steps each node of a forest (``parents`` [N], -1 at a root, each parent before
    its children) lies below its root."""
    d = np.zeros(len(parents), np.int64)
    for j, p in enumerate(parents):
        if p >= 0:
            d[j] = d[p] + 1
    return d


def _body_child(children: Sequence[Sequence[int]], rest: np.ndarray, node: int) -> int | None:
    """The child of ``node`` (``children``: child lists per node; ``rest`` [J,3] rest positions)
    that carries the body: its only child, or its one child that is not beside it, where a child is
    beside another when its whole subtree lies on the bone from ``node`` to that other (twist joints
    of that bone, a share bone at its end) or, below the root only, when it is a leaf (an IK target
    or helper on a floor-level root; further up a leaf off the bones is a limb); None where no child
    or several carry the body (``node`` is the body's hub)."""
    kids = children[node]
    if len(kids) == 1:
        return kids[0]
    carrying = [c for c in kids if (children[c] or node != 0) and not any(
        _on_bone(rest[depth_first(children, c)] - rest[node], rest[b] - rest[node]) for b in kids if b != c)]
    return carrying[0] if len(carrying) == 1 else None


#: joints within this angle (degrees) of a bone, seen from its joint, lie on it (twist joints;
#: as targets within it never decide a roll, geometric.fit.SPREAD_LOW_DEG)
ON_BONE_DEGREES = 0.25


def _on_bone(points: np.ndarray, bone: np.ndarray) -> bool:
    """Whether ``points`` [n,3] (from a bone's joint) all lie on the ``bone`` [3] (from the joint to
    its child): within ON_BONE_DEGREES of its direction, or at the joint, and not past its child."""
    length = float(np.linalg.norm(bone))
    if length == 0.0:
        return False
    along = points @ (bone / length)
    across = np.linalg.norm(points - along[:, None] * (bone / length), axis=-1)
    near = ZERO_OFFSET * length
    return bool(np.all((along >= -near) & (along <= length + near)
                       & (across <= near + np.tan(np.radians(ON_BONE_DEGREES)) * np.abs(along))))


def depth_first(children: Sequence[Sequence[int]], root: int) -> list[int]:
    """Depth-first pre-order of the tree ``children`` (child lists per node) below ``root``,
    children in list order; nodes not reachable from ``root`` are left out."""
    order, stack = [], [root]
    while stack:
        j = stack.pop()
        order.append(j)
        stack.extend(reversed(children[j]))
    return order


def _check_names(names: Sequence[str]) -> None:
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if not n.strip():
            raise Pose2RotError(f"joint {i} has an empty name; every joint needs a name")
        if n in seen:
            raise Pose2RotError(f"duplicate joint name '{n}' (joints {seen[n]} and {i}); joint names must be unique")
        seen[n] = i


def _parent_indices(names: list[str], parents) -> list[int]:
    J = len(names)
    parents = list(parents)
    if len(parents) != J:
        raise Pose2RotError(f"skeleton: {J} joint names but {len(parents)} parents")
    lookup = {n: i for i, n in enumerate(names)}
    out = []
    for j, p in enumerate(parents):
        if p is None or (isinstance(p, str) and p == ""):
            out.append(-1)
        elif isinstance(p, str):
            if p not in lookup:
                raise Pose2RotError(f"joint '{names[j]}' has unknown parent '{p}'")
            out.append(lookup[p])
        else:
            pi = int(p)
            if pi < -1 or pi >= J:
                raise Pose2RotError(f"joint '{names[j]}' has parent index {pi}, outside 0..{J - 1}")
            if pi == j:
                raise Pose2RotError(f"joint '{names[j]}' is its own parent (a cycle)")
            out.append(pi)
    return out


def _extent(points: np.ndarray) -> float:
    """Largest extent along the axes of points [N,3]."""
    return float((points.max(axis=0) - points.min(axis=0)).max())


def end_site_names(names: Sequence[str], end_parents: Sequence[int]) -> list[str]:
    """Names of the End Sites under the joints ``end_parents`` [K] of a rig with joint ``names``:
    ``<joint>_end``; a joint's further End Sites, and any that would take a joint's name,
    ``<joint>_end2``, ``<joint>_end3``, ... (one name, one point)."""
    taken = set(names)
    out = []
    for p in end_parents:
        base, k = f"{names[int(p)]}_end", 1
        name = base
        while name in taken:
            k += 1
            name = f"{base}{k}"
        taken.add(name)
        out.append(name)
    return out

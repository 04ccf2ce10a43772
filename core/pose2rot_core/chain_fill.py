"""Rig joints without a point placed between the mapped ones, top-down (retargeting's step 3).

A chain of such joints between two placed joints (a spine, a neck, a tail, twist segments) is the
rig's reference chain turned with the body, bent evenly to the length the performer shows and swung
onto its chord; a joint with several placed children takes the rigid fit of its rest offsets to
them (see pose2rot_core.retarget for the whole procedure). Positions are [T,J,3] in rig units.
"""
from __future__ import annotations

import numpy as np

from .rotations import (axis_angle_to_matrix, best_fit_rotation, cross, matrix_to_quat, normalize, perpendicular,
                        rotation_between, smoothstep)
from .safety import CLEAN_TOLERANCE
from .skeleton import Skeleton, marked_or_above, on_axis

#: weight of a direct child in a rigid fit (the others' weights are at most 1)
RIGID_WEIGHT = 1e4
#: rounds of the fit that keeps children at bone length from their direct joints
FIT_ROUNDS = 6
#: weight, in a rigid fit, of what lies beyond the nearest turning joint, and of soft targets
FAR_WEIGHT = 1e-3
#: a rigid fit's turn about the weakest axis of its items of weight 1 is handed over to the placed
#: joint above from this share of their pull there taken by their misfit to this one (1: none left)
UNDETERMINED_FROM, UNDETERMINED_TO = 0.25, 0.75
#: ... measured at this percentile of the clip's frames
UNDETERMINED_QUANTILE = 90.0
#: a chain whose median length differs from the rig's by this ratio bends relative to its own median
PROPORTION_TOLERANCE = 0.1
#: bending: per-joint angles searched (radians, either way) and bisection steps
BEND_LIMIT = 2.5
BEND_GRID = 24
BEND_STEPS = 30
#: spans of a chain within this share of its longest are the same (rounding of the segments' turns)
SPAN_ROUNDING = 1e-9
#: a chain bends to a side only where that side is defined to this much (see _bend_axis)
BEND_SIDE = 0.05
#: seconds over which a chain's bend axis follows new evidence (a posture turns, it does not jump)
BEND_SECONDS = 0.1


# ----------------------------------------------------------------------------- filling
def fill_chains(skeleton: Skeleton, reference: np.ndarray, frames: np.ndarray, targets: np.ndarray,
                direct: np.ndarray, soft: np.ndarray, fps: float) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """(positions [T,N,3] of every joint that leads to mapped joints, NaN for joints with nothing mapped
    at or below them; {chain joint: [T,3,3] local rotation guess sharing the chain's bend and twist}).
    reference [N,3] / frames [N,3,3]: the rig's reference pose (global positions and orientations);
    fps: frames per second of ``targets`` [T,N,3]."""
    filler = _Filler(skeleton, reference, frames, targets, direct, soft, fps)
    return filler.run(), filler.guess


class _Filler:
    """Top-down placement of unmapped joints between mapped ones (see :func:`fill_chains`)."""

    def __init__(self, skeleton: Skeleton, reference: np.ndarray, frames: np.ndarray, targets: np.ndarray,
                 direct: np.ndarray, soft: np.ndarray, fps: float):
        self.sk, self.ref, self.X, self.direct, self.soft = skeleton, reference, targets, direct, soft
        self.rest_frames = frames
        self.bend_rate = 1.0 - np.exp(-1.0 / (BEND_SECONDS * fps))   # share of new evidence per frame
        self.guess: dict[int, np.ndarray] = {}
        self.frames: dict[int, np.ndarray] = {}                  # turns of placed joints [T,3,3]
        self.children = skeleton.children
        self.lead = marked_or_above(skeleton.parents, direct | soft)
        #: per joint, its children with something mapped at or below them
        self.lead_children = [[c for c in kids if self.lead[c]] for kids in self.children]
        self.P = np.where(direct[None, :, None], targets, np.nan)
        #: the first mapped joint down from the root (a pelvis, under any unmapped root control bone)
        self.topmost = _first_mapped(skeleton.parents, direct | soft)
        #: unmapped joints hung rigidly, at the performer's scale, from a joint on a point (see _span_ratio)
        self.held: set[int] = set()
        #: twist segments: joints on the straight line from their parent to their one child (see on_axis)
        self.axial = on_axis(skeleton.parents, reference)

    def run(self) -> np.ndarray:
        if not self.direct[0]:
            self.P[:, 0], self.frames[0] = self._fit(0, None)
        else:
            self._hang_root(0)
        self._descend(0)
        return self.P

    def _hang_root(self, h: int) -> None:
        """Place the root h (or a pelvis on a point directly under an unmapped root control bone), on a
        point, by the fit to two or more joints on points it holds (a pelvis and both hips, _held_from) where its
        point lies elsewhere than they put it, by more than PROPORTION_TOLERANCE of their distance
        (median over the clip): the rig hangs them at its own offsets, so where it puts its root
        relative to them is proportions, not pose. Placed on its point, the root carried the performer's
        pelvis-to-hips offset into the rig's: a CMU pelvis a little below the hip line under a Mixamo
        pelvis above it tipped the rig's pelvis upside down in every frame (the rigid fit of three nearly
        collinear points turned over about the hip line: the spine folded back by 160-170 degrees, joints
        15-50 % of the height off their points), and a pelvis higher or lower than the rig's lowered or
        raised the hips, the feet through the floor or above it. Fitted like a root on a virtual point, it
        hangs the hips on their points and its own point only decides what they leave open. Under a
        root control bone the pelvis was fitted rigidly to its point and hips below the root bone and
        turned over the same way (CMU walk's H3.6M points onto the Bandai rig: spine folded back by 173
        degrees, neck 30 % of the height off its point)."""
        kids = self._held_from(h)
        if len(kids) < 2:
            return
        point = self.P[:, h].copy()
        self.P[:, h] = np.nan                                   # its point weighs as a soft target's
        position, turn = self._fit(h, None)
        reach = float(np.linalg.norm(self.ref[kids] - self.ref[h], axis=-1).mean())
        if float(np.median(np.linalg.norm(position - point, axis=-1))) > PROPORTION_TOLERANCE * reach:
            self.P[:, h], self.frames[h] = position, turn
        else:
            self.P[:, h] = point

    def _held_from(self, h: int) -> list[int]:
        """The joints on points that the rig holds at one distance from h: its direct children (at
        their offsets in h's frame) and those one bone below a placed child at h's own place (a
        zero-length hip or lower-back joint of an ASF-style rig, which turns about h: Xia's
        LHipJoint over LeftUpLeg). Left out of them, a root above its hips stayed on a pelvis point
        on the hip line, its hips hung 7.5 % of the height below their points and the spine and
        neck as much lower (the CMU walk's H3.6M points onto the Xia rig: neck 24 % off)."""
        kids = [int(c) for c in self.children[h] if self.direct[c]]
        return kids + [k for c in self.lead_children[h] if (k := self._through_own_place(h, c)) is not None]

    def _through_own_place(self, h: int, c: int) -> int | None:
        """The joint on a point one bone below h's child c where c is an unmapped joint at h's own
        place (a zero-length bone, within CLEAN_TOLERANCE of the height) with that one joint below it,
        or that bone split by joints on its axis (twist segments, skeleton.on_axis: the Xia rig so split
        under the CMU walk put its hands 26 % of the height off their points, 12 % unsplit); None
        elsewhere. The rig holds that joint at one distance from h, whichever way c turns."""
        path = self._walk(c)
        if self.direct[c] or len(path) < 2 or not self.direct[path[-1]] or not self.axial[path[1:-1]].all():
            return None
        at_h = np.linalg.norm(self.ref[c] - self.ref[h]) <= CLEAN_TOLERANCE * self.sk.height
        return int(path[-1]) if at_h else None

    def _hang_control_root(self, k: int, between: list[int]) -> None:
        """Place the hub k directly under the unmapped root (a pelvis on the hips' mean under a root
        control bone, a Bandai-style joint_Root over Hips) as if it were the root, by the fit to its
        own points, and hang the root from it at the rig's offset, turned with the root's fit. The
        root has no point: fitted to a sphere about the root's own fit and then moved along the line
        to the root to the rig's distance, the pelvis wobbled against its hips from frame to frame
        (0.03 % of the height), the legs' steady misfit with it, and clean COCO and MediaPipe walks at
        the performer's own proportions warned of legs 0.1-1.5 % of the height off their points (14
        of 14 rigs with two to four spine bones; none without the root bone). A hub on a point of its
        own is placed as a root on a point is (:meth:`_hang_root`). Joints ``between`` the root and k, on
        the root bone's axis (twist segments, skeleton.on_axis), turn with the root: not taken for a root
        bone, a Bandai rig so split had its pelvis fitted as a hub on a chain from the root, and under the
        CMU walk's H3.6M points its spine folded by up to 172 degrees, the neck 9.4 % of the height off."""
        if self.direct[k]:                                       # on a point: placed as a root on one
            self._hang_root(k)
            if k not in self.frames:
                self.frames[k] = self._fit(k, None)[1]
        else:
            self.P[:, k], self.frames[k] = self._fit(k, None)
        self.P[:, 0] = self.P[:, k] - np.einsum("tij,j->ti", self.frames[0], self.ref[k] - self.ref[0])
        for q in between:
            self.P[:, q] = self.P[:, 0] + np.einsum("tij,j->ti", self.frames[0], self.ref[q] - self.ref[0])
            self.frames[q] = self.frames[0]

    def _walk(self, c: int) -> list[int]:
        """[c, ..., k]: down from c through unmapped joints with one lead child, to the first joint that
        is direct, branching, or has nothing mapped below."""
        path = [c]
        while not self.direct[path[-1]] and len(self.lead_children[path[-1]]) == 1:
            path.append(self.lead_children[path[-1]][0])
        return path

    def _descend(self, a: int) -> None:
        kids = self.lead_children[a]
        if a not in self.frames:
            self.frames[a] = self._frame(a)
        for c in kids:
            start = a
            if len(kids) >= 2 and not self.direct[c]:          # turns rigidly with the branching joint
                held = self.direct[a] or self.topmost[a] and self.soft[a] and len(self.lead_children[c]) == 1
                span = self._span_ratio(c, a) if held else 1.0                           # see _span_ratio
                if held:
                    self.held.add(c)
                self.P[:, c] = self.P[:, a] + np.einsum("tij,j->ti", self.frames[a], span * (self.ref[c] - self.ref[a]))
                if len(self.lead_children[c]) != 1:
                    self._descend(c)
                    continue
                self.frames[c] = self.frames[a]
                start, c = c, self.lead_children[c][0]
            path = self._walk(c)
            k = path[-1]
            if self.lead_children[k] and self.axial[path[:-1]].all() and start == 0 and self.topmost[k]:
                self._hang_control_root(k, path[:-1])                    # under a root control bone
            elif self.direct[k]:
                if len(path) > 1:
                    self._chain(start, path, self.P[:, k])
            elif self.lead_children[k]:                          # a hub
                self.P[:, k], self.frames[k] = self._fit(k, start)
                self._chain(start, path, self.P[:, k], bend=self._pinned(k))
            else:                                                 # ends in a soft target: aim only
                self._chain(start, path, self.X[:, k], bend=False)
            if self.lead_children[k]:
                self._descend(k)

    # ------------------------------------------------------------------ fits
    def _pinned(self, h: int) -> bool:
        """Whether a point places the hub h rigidly (a direct child). Otherwise its fit weighs joints a bone
        away, the reference shape and the chain above kept at its reference length against each other, and
        its distance from the chain's start is that compromise, not a length the performer shows. A chain
        bent to it turns that compromise's centimetres into its bend, and near straight, where a chain's
        span changes with the square of its bend, into tens of degrees that snap straight in a frame when
        the distance passes the chain's length at speed (a body's own chord stops changing there);
        such a chain keeps the bend of the body's turn between its ends."""
        return bool(self.direct[self.lead_children[h]].any())

    def _frontier(self, j: int) -> list[int]:
        """The first direct joints on every path down from j."""
        out = []
        for c in self.lead_children[j]:
            out.extend([c] if self.direct[c] else self._frontier(c))
        return out

    def _turning(self, top: int, bottom: int) -> int:
        """Joints between ``top`` (excluded) and ``bottom`` (excluded) plus one: the joints whose turns
        move ``bottom`` relative to a point fixed to ``top``'s first segment."""
        n, j = 0, self.sk.parents[bottom]
        while j != top and j >= 0:
            n, j = n + 1, self.sk.parents[j]
        return max(n, 1)

    def _one_bone(self, top: int, bottom: int) -> bool:
        """Whether ``bottom`` hangs from ``top`` by one bone: its child, or one bone split in parts."""
        return self.sk.parents[bottom] == top or self._split_bone(top, bottom)

    def _split_bone(self, top: int, bottom: int) -> bool:
        """Whether ``bottom`` hangs from ``top`` by one bone split in parts: ``top`` off its bone's axis
        (a joint the rig's shape bends at) and every joint between on it (twist segments, see
        skeleton.on_axis). Where ``top`` is on the axis too, the joints lie on a straight line through
        it (a spine straight from the hips), which the rig's shape does not tell from one bone."""
        if self.axial[top]:
            return False
        j = self.sk.parents[bottom]
        while j != top and j >= 0 and self.axial[j]:
            j = self.sk.parents[j]
        return j == top

    def _frame(self, a: int) -> np.ndarray:
        """[T,3,3] turn from the reference pose of the placed joint a. With one chain below it and a placed
        joint above: the frame carried from above (see :meth:`_carried`), swung by the smallest turn that
        lays the chain's reference direction (a to the chain's end) where the fit lays it; otherwise (a
        branching joint, or nothing placed above) the fit's turn.

        Positions fix the chain's direction but not a's roll about it. A fit reads that roll off the kink
        between the bone above and the chain, turning a with the side the kink leans to: where the clip's
        kink passes straight (a spine or neck straightening and bending to another side) that is up to a
        half turn about the chain within a frame or two, and the chains below, which start from this
        frame, turn with it. A bend is a swing: carried, a turns with what is above it, as the solver
        rolls a joint with one child (smallest swing from its parent's frame)."""
        above = self._placed_above(a)
        turn = self._fit(a, above)[1]
        kids = self.lead_children[a]
        carried = self._carried(a, above) if len(kids) == 1 else None
        if carried is None:
            return turn
        w = self.ref[self._walk(kids[0])[-1]] - self.ref[a]
        return _swung(carried, w, turn @ w)

    def _fit(self, h: int, above: int | None) -> tuple[np.ndarray, np.ndarray]:
        """([T,3] position, [T,3,3] turn from the reference pose) of joint h from a weighted rigid fit of
        the reference pose, in tiers: direct children (and h itself when placed) must match; a child one
        turning joint away from a direct joint keeps its reference offset from h and its bone length to
        that joint (a sphere, refined over a few rounds); joints n turning joints away (a joint on its
        bone's axis, a twist segment, turns none: skeleton.on_axis), and the placed joint above, stay at
        their reference distance with weight 1/n^2; where they lie in the reference
        pose, and soft targets, weigh FAR_WEIGHT / n^2 and so only decide what the nearer tiers leave free
        (the tilt of a pelvis about its hip line). A joint one bone below ``above``, split in parts or
        not (:meth:`_one_bone`), hangs from it as from its parent: fitted as a chain away, a chest on a
        spine bone split up to it was placed at the rig's offsets instead of the performer's scale
        of them, and turned over about the spine under jittered points."""
        fixed: list[tuple[np.ndarray, np.ndarray, float]] = []     # (offset from h, target [T,3], weight)
        reach: list[tuple[np.ndarray, np.ndarray, float, float]] = []  # (offset, centre [T,3], radius, weight)
        if not np.isnan(self.P[0, h]).any():
            fixed.append((np.zeros(3), self.P[:, h], RIGID_WEIGHT))
        if self.soft[h] or self.direct[h] and np.isnan(self.P[0, h]).any():       # see _hang_root
            fixed.append((np.zeros(3), self.X[:, h], FAR_WEIGHT))
        for c in self.lead_children[h]:
            path, off = self._walk(c), self.ref[c] - self.ref[h]
            k = path[-1]
            if self.direct[c]:
                fixed.append((off, self.X[:, c], RIGID_WEIGHT))
            elif self.direct[k]:
                n = max(1, sum(1 for q in path[:-1] if not self.axial[q]))
                reach.append((off, self.X[:, k], float(np.linalg.norm(self.ref[k] - self.ref[c])), 1.0 / n ** 2))
                fixed.append((self.ref[k] - self.ref[h], self.X[:, k], 1.0 if n == 1 else FAR_WEIGHT / n ** 2))
            elif self.lead_children[k]:
                fixed.extend((self.ref[f] - self.ref[h], self.X[:, f], FAR_WEIGHT / self._turning(h, f) ** 2)
                             for f in self._frontier(k))
            else:
                fixed.append((self.ref[k] - self.ref[h], self.X[:, k], FAR_WEIGHT / len(path) ** 2))
        if above is None:
            return _fit_top(fixed, reach, self.P.shape[0])
        if not self._one_bone(above, h):
            return self._fit_below(fixed, reach, h, above, self._span_ratio(h, above))
        if self.direct[h] or not (self.direct[above] or above in self.held) or not self._frontier(h):
            return self._fit_below(fixed, reach, h, above, 1.0)
        span = self._span_ratio(h, above)                       # see _span_ratio
        scaled = [(span * o, t, w) for o, t, w in fixed], [(span * o, c, span * r, w) for o, c, r, w in reach]
        return self._fit_below(*scaled, h, above, span)

    def _fit_below(self, fixed: list, reach: list, h: int, above: int, span: float) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_fit` of joint h from its items ``fixed`` and ``reach`` and the placed joint ``above``
        at ``span`` times its reference distance (a sphere, and its reference place at a far weight)."""
        n = 1 if self._one_bone(above, h) else self._turning(above, h)
        reach = reach + [(np.zeros(3), self.P[:, above], span * float(np.linalg.norm(self.ref[h] - self.ref[above])),
                          1.0 / n ** 2)]
        fixed = fixed + [(span * (self.ref[above] - self.ref[h]), self.P[:, above], FAR_WEIGHT / n ** 2)]
        return _fit_above(fixed, reach, 1.0 / n ** 2, self.P.shape[0])

    def _span_ratio(self, h: int, above: int) -> float:
        """The performer's distance from the placed joint ``above`` to the first direct joints below
        ``h`` (their mean; median over the clip) over the rig's: a hub a chain away from ``above`` is
        put that much nearer or further, as its chain bends to the performer's length. At the rig's
        distance, a torso longer than the performer's tilted a chest about its shoulder line until it
        reached (the chest 8 cm ahead of the shoulders, the spine kinked by 60 degrees at it).

        Where ``above`` is on a point and the rig hangs h from it rigidly (a chest under a spine point,
        the first spine joint under the hips), the ratio is the performer's proportions measured from
        a point of their own, and h is placed at that scale of the rig's shape around it: at the rig's
        offsets, a torso 0.6 times the rig's (after the legs' scaling) put the chest level with or
        below the spine point it hangs from, or the first spine joint level with the spine point above
        it, and the spine folded there by 100-180 degrees in every frame. A root on the mean of the
        hips' points (or the first mapped joint under an unmapped root control bone, a Bandai-style
        joint_Root over Hips: read off the root's index, such a spine leaned 63-67 degrees from that
        line, now 37-47) is placed by the performer's hips as rigidly, and a first spine joint under it
        that a chain continues from is placed the same way (without a spine point, COCO or MediaPipe,
        the chain above it had too little room: a spine bone 73 degrees from the performer's
        pelvis-to-neck line at a torso 0.6 times the rig's, 155-177 on a two-bone spine at 0.6-0.8); a
        branching joint there is aimed at from where the rig holds it (scaled, a one-bone spine's chest
        kinked 10-24 degrees more). Below a joint the fill placed, the distance is partly the fill's
        own compromise, and h keeps the rig's offsets, except below one hung as above (``held``),
        which lies where the performer's proportions put it as a point would: a chest on a two-bone
        spine, fitted at the rig's distance from it, turned over about the shoulder line under a torso
        0.6-0.8 times the rig's, the spine folded by up to 88-164 degrees (now at most 35)."""
        frontier = self._frontier(h)
        rig = float(np.linalg.norm(self.ref[frontier].mean(axis=0) - self.ref[above])) if frontier else 0.0
        if rig <= 0.0:
            return 1.0
        seen = np.linalg.norm(self.X[:, frontier].mean(axis=1) - self.P[:, above], axis=-1)
        return float(np.median(seen)) / rig

    def _carried(self, a: int, above: int | None) -> np.ndarray | None:
        """[T,3,3] the frame of the placed joint ``above`` a, swung by the smallest turn that lays the bone
        between them onto where they are (None without one): a joint that turns with what is above it."""
        if above is None or above not in self.frames:
            return None
        return _swung(self.frames[above], self.ref[a] - self.ref[above], self.P[:, a] - self.P[:, above])

    def _placed_above(self, a: int) -> int | None:
        j = self.sk.parents[a]
        while j >= 0 and np.isnan(self.P[0, j]).any():
            j = self.sk.parents[j]
        return int(j) if j >= 0 else None

    # ------------------------------------------------------------------ chains
    def _chain(self, a: int, path: list[int], end: np.ndarray, bend: bool = True) -> None:
        """Place the joints of ``path`` (below placed joint a) so the chain runs from a towards ``end``
        [T,3]: each segment turned with the body (between the frame carrying a and, when the chain ends in
        a branching joint, the frame there), bent evenly to the performer's length (relative to the rig's
        when proportions differ; not with ``bend`` False), swung onto the chord, rolled towards soft targets on it. The last
        joint is placed too unless it is direct. The segments' turns give the joints' orientation guess.
        A chain only aimed (``bend`` False) from a joint with a point of its own takes the direction
        from that point to ``end``, the performer's: from where the rig puts the joint, a rig of other
        proportions aims elsewhere (a Mixamo neck above the shoulder points tilted its head towards
        the ears by up to 37 degrees more than the performer's)."""
        joints = [a] + path
        w = self.ref[joints[1:]] - self.ref[joints[:-1]]                   # [n,3] reference segments
        k = path[-1]
        start = self.frames[a]
        finish = self.frames.get(k) if len(self.lead_children[k]) >= 2 else None
        turns = _interpolate(start, finish, len(path))                     # [T,n,3,3]
        v = np.einsum("tnij,nj->tni", turns, w)
        aims_from_point = not bend and (self.direct[a] or self.soft[a])  # the performer's own line
        d = end - (self.X[:, a] if aims_from_point else self.P[:, a])
        groups = self._bending(a, path) if bend and len(path) > 1 else None
        if groups is not None:
            v, bent = _bend(v, _proportional(np.linalg.norm(d, axis=-1), np.linalg.norm(w.sum(0))), d, start,
                            self.bend_rate, groups)
            turns = bent @ turns
        swing = rotation_between(normalize(v.sum(1)), normalize(d))
        v, turns = np.einsum("tij,tnj->tni", swing, v), swing[:, None] @ turns
        inner = [i for i, j in enumerate(path[:-1]) if self.soft[j]]
        if inner:
            roll = self._roll_to_soft(v, [path[i] for i in inner], inner, a, d)
            v, turns = np.einsum("tij,tnj->tni", roll, v), roll[:, None] @ turns
        pos = np.cumsum(v, axis=1)
        if self.direct[k]:  # see _ending_on
            pos = _ending_on(pos, d)
        pos = self.P[:, a, None] + pos
        last = len(path) if not self.direct[k] else len(path) - 1
        self.P[:, path[:last]] = pos[:, :last]
        for i, q in enumerate(path[:-1]):
            self.frames[q] = turns[:, i + 1]
        G = self.rest_frames
        for i in range(1, len(path)):                                      # interior joints: local guess
            q, parent = joints[i], joints[i - 1]
            self.guess[q] = G[parent].T @ np.swapaxes(turns[:, i - 1], -1, -2) @ turns[:, i] @ G[q]

    def _bending(self, a: int, path: list[int]) -> np.ndarray | None:
        """[n] for the n segments down ``path`` (from its placed start a), the part of the chain each
        turns with: a joint on its bone's axis (a twist segment, see skeleton.on_axis) joins the
        segments either side into one, so the chain bends only at the joints the rig's own shape
        bends at, as the chain without those segments does. Where no joint along the way is off the
        axis and the chain ends on a point, or starts at a joint off the axis (one bone split in parts,
        :meth:`_split_bone`, from a spine joint up to the chest), it is one bone: None, it does not bend
        (bent to the performer's stretch between the points, the Mixamo example's collars split in
        two bent at their middle by up to 41 degrees in the solve, a Character Creator clavicle's by
        up to 105 in the fill, from frame to frame; bent to the chest's distance, which its fit and
        the points' noise move about the rig's length, a spine bone split up to the chest turned its
        segment by tens of degrees within a frame). A straight chain through its start, to a chest (a
        spine straight from the hips, its first joint hung from them), shows no joint that bends and
        every joint takes an equal part of the bend, as before: as one bone, that spine would bend
        nowhere."""
        kinks = np.array([0] + [0 if self.axial[q] else 1 for q in path[:-1]])
        if kinks.sum() > 0:
            return np.cumsum(kinks).astype(np.float64)
        if self.direct[path[-1]] or self._split_bone(a, path[-1]):
            return None
        return np.arange(len(path), dtype=np.float64)

    def _roll_to_soft(self, v: np.ndarray, joints: list[int], rows: list[int], a: int, d: np.ndarray) -> np.ndarray:
        """[T,3,3] turn about the chord a->end that brings the soft targets of ``joints`` (chain rows
        ``rows`` of the segments v [T,n,3]) closest to theirs, in as far as they hold it: the roll's
        pull (for one joint, its distance from the chord times its target's) over BEND_SIDE of the
        chain's squared length, smoothly (:func:`_roll_share`). A soft joint on the chord (a head with
        the face bone at its place, at the end of a Character Creator neck chain: 1e-4 of its length
        off) or a target on its line gives the roll no lever: read anyway, it rolled the bent neck
        by up to half a turn within a frame where the target passed the line."""
        axis = normalize(d)
        p = np.cumsum(v, axis=1)[:, rows]
        y = self.X[:, joints] - self.P[:, a, None]
        p_perp = p - np.einsum("tni,ti->tn", p, axis)[..., None] * axis[:, None]
        y_perp = y - np.einsum("tni,ti->tn", y, axis)[..., None] * axis[:, None]
        sin = np.einsum("ti,ti->t", axis, cross(p_perp, y_perp).sum(1))
        cos = np.einsum("tni,tni->t", p_perp, y_perp)
        share = _roll_share(np.hypot(sin, cos), np.linalg.norm(v, axis=-1).sum(1))
        return axis_angle_to_matrix(axis, share * np.arctan2(sin, cos))


def _roll_share(pull: np.ndarray, length: np.ndarray) -> np.ndarray:
    """[T] 0..1: how far a roll about a chain's chord is decided by soft targets whose ``pull`` [T]
    (the amplitude of their cost's turn about the chord: for one, its distance from the chord times
    its target's) is set against the chain's ``length`` [T]: smoothly up to BEND_SIDE of its square,
    as a bend's side is (_bend_axis)."""
    return smoothstep(pull / (BEND_SIDE * length ** 2 + 1e-300))


def _first_mapped(parents: np.ndarray, mapped: np.ndarray) -> np.ndarray:
    """[N] bool: the ``mapped`` [N] joints with no mapped joint above them (``parents`` [N], parents
    before children, -1 for the root)."""
    below = np.zeros(len(mapped), bool)                  # a mapped joint at or above the parent
    for j in range(1, len(mapped)):
        below[j] = mapped[parents[j]] or below[parents[j]]
    return mapped & ~below


def _ending_on(pos: np.ndarray, chord: np.ndarray) -> np.ndarray:
    """[T,n,3] a chain's joint positions ``pos`` (from its start; the last one along ``chord``
    [T,3]) scaled about its start so the last lands on the chord's end: where a chain ends on a
    point, the joints along the way are tracks that the next joint aims from, so each must lie
    where it aims as the rig's chain does. At the rig's lengths, a rig chain longer than the
    performer's put them past that point (a Mixamo spine between a CMU abdomen and chest: the
    middle spine joint beyond the chest, the chest joint aiming back, the spine folded 170 degrees
    in every frame); scaled, every direction is the rig chain's."""
    span = np.linalg.norm(pos[:, -1], axis=-1)
    return pos * (np.linalg.norm(chord, axis=-1) / np.maximum(span, 1e-300))[:, None, None]


def _interpolate(start: np.ndarray, finish: np.ndarray | None, n: int) -> np.ndarray:
    """[T,n,3,3] rotations of n chain segments: ``start`` [T,3,3] turned towards ``finish`` by i/n of
    the way for segment i (slerp), or ``start`` for all when there is no ``finish``."""
    if finish is None:
        return np.repeat(start[:, None], n, axis=1)
    q = matrix_to_quat(np.swapaxes(start, -1, -2) @ finish)                # w >= 0: the shorter way
    half = np.arctan2(np.linalg.norm(q[:, 1:], axis=-1), q[:, 0])
    axis = normalize(q[:, 1:])
    steps = axis_angle_to_matrix(np.repeat(axis[:, None], n, 1), 2.0 * half[:, None] * (np.arange(n) / n))
    return start[:, None] @ steps


def _fit_rounds(fixed: list, reach: list, T: int) -> tuple[np.ndarray, np.ndarray]:
    """Weighted rigid fit (see :meth:`_Filler._fit`) of ``fixed`` (offset, target, weight) items and
    ``reach`` (offset, centre, radius, weight) items, whose target is the point at ``radius`` from the
    centre nearest to where the fit puts the offset. Returns (position [T,3] of offset 0, turn [T,3,3])."""
    if not fixed and not reach:
        return np.full((T, 3), np.nan), np.broadcast_to(np.eye(3), (T, 3, 3)).copy()
    src = np.array([o for o, *_ in fixed] + [o for o, *_ in reach]).reshape(-1, 3)
    w = np.array([x[-1] for x in fixed] + [x[-1] for x in reach])
    obs = np.stack([t for _, t, _ in fixed] + [c for _, c, *_ in reach], axis=1)
    rows = slice(len(fixed), len(fixed) + len(reach))
    radius = np.array([r for *_, r, _ in reach])
    first = w.copy()
    if fixed:                                 # first round: the other items place the reaches
        first[rows] = 0.0
    centre = obs[:, rows].copy()
    for i in range(FIT_ROUNDS if reach else 0):
        position, turn = _weighted_fit(src, obs, first if i == 0 else w)
        seen = position[:, None] + np.einsum("tij,nj->tni", turn, src[rows])
        obs[:, rows] = centre + radius[:, None] * normalize(seen - centre)
    return _weighted_fit(src, obs, w)


def _fit_above(fixed: list, reach: list, weight: float, T: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fit_rounds` of items whose last fixed one is the placed joint above, at a far weight:
    raised towards ``weight`` in as far as the nearer items leave the turn about their weakest axis
    undetermined (:func:`_undetermined_turn`, measured where the joint above holds that turn)."""
    return _fit_handing_over(fixed, reach, [None] * (len(fixed) - 1) + [weight], T)


def _fit_top(fixed: list, reach: list, T: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fit_rounds` of a joint with nothing placed above it (a root), whose far items away from
    it (the joints beyond a chest, a chain away) are raised by 1 / FAR_WEIGHT in as far as the nearer
    items leave the turn about their line undetermined (see :func:`_fit_handing_over`).

    Hips a joint away from the root (a CMU-style pelvis with buttock joints) lie nearly on one line
    through it: their small offsets up or down from the root are proportions, and where the rig's
    lie on the other side of the line than the performer's points (a CMU rig's hips above its root
    under Bandai or Xia points below theirs), the fit turned the pelvis over about the hip line in
    every frame: the spine folded back by 160-177 degrees, joints 11-20 % of the height off their
    points. The spine's far joints hold that turn instead, as they do for a root on a virtual point."""
    raised = [w / FAR_WEIGHT if w <= FAR_WEIGHT and np.linalg.norm(o) > 0 else None for o, _, w in fixed]
    return _fit_handing_over(fixed, reach, raised, T)


def _fit_handing_over(fixed: list, reach: list, raised: list, T: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_fit_rounds` of ``fixed`` items, those with a weight in ``raised`` (None: none) raised from
    their own towards it in as far as the nearer items leave the turn about their weakest axis
    undetermined (:func:`_undetermined_turn`, measured where the raised items hold that turn)."""
    if all(r is None for r in raised):
        return _fit_rounds(fixed, reach, T)

    def weighted(share: float) -> list:
        return [(o, t, w if r is None else w + share * (r - w)) for (o, t, w), r in zip(fixed, raised)]

    share = _undetermined_turn(fixed, *_fit_rounds(weighted(1.0), reach, T))
    return _fit_rounds(fixed if share <= 0.0 else weighted(share), reach, T)


def _undetermined_turn(fixed: list, position: np.ndarray, turn: np.ndarray) -> float:
    """0..1: how far the items of weight between FAR_WEIGHT and RIGID_WEIGHT leave a fitted turn
    ``turn`` [T,3,3] (``position`` [T,3]) without a restoring pull about their weakest axis k (the
    line they lie nearest to, about the rigid items' centre).

    Their pull about k is sum w |u_perp|^2 for their offsets u from that centre; a misfit r (where
    the fit puts them less their targets, in the fit's frame) takes sum w r_perp . u_perp of it away
    (the cost's second derivative about k). Where the rig puts them further from k than the
    performer's points lie (a chest's shoulders a little lower than the performer's, about the
    shoulder line), nothing holds the turn about k and it falls to either side, frame by frame. The
    share taken where it is largest (its UNDETERMINED_QUANTILE over the clip: proportions that leave
    the turn to chance in part of a clip decide it nowhere in it; handed over frame by frame, the
    chest turned by tens of degrees within the frames of the hand-over) hands over from
    UNDETERMINED_FROM to UNDETERMINED_TO, smoothly, times the items' share of all the pull about k
    (items on one line leave it to the far ones, as before)."""
    near = [(o, t, w) for o, t, w in fixed if FAR_WEIGHT < w < RIGID_WEIGHT]
    rigid = [o for o, _, w in fixed if w >= RIGID_WEIGHT]
    if len(near) < 2:
        return 0.0
    src, w = np.array([o for o, *_ in near]), np.array([x[-1] for x in near])
    pivot = np.mean(rigid, axis=0) if rigid else w @ src / w.sum()
    u = src - pivot
    values, vectors = np.linalg.eigh(_spread(u, w))
    k, pull = vectors[:, -1], values[0] + values[1]
    if pull <= 1e-9 * values.sum():                                       # on one line: no lever at all
        return 0.0
    every = _spread(np.array([o for o, *_ in fixed]) - pivot, np.array([x[-1] for x in fixed]))
    share_of_pull = min(pull / (np.trace(every) - k @ every @ k), 1.0)
    seen = position[:, None] + np.einsum("tij,nj->tni", turn, src)
    miss = np.einsum("tji,tnj->tni", turn, seen - np.stack([t for _, t, _ in near], 1))
    u_perp = u - np.outer(u @ k, k)
    taken = np.einsum("n,tni,ni->t", w, miss - np.einsum("tn,i->tni", miss @ k, k), u_perp) / pull
    high = float(np.nanpercentile(taken, UNDETERMINED_QUANTILE)) if np.isfinite(taken).any() else 0.0
    return float(smoothstep((high - UNDETERMINED_FROM) / (UNDETERMINED_TO - UNDETERMINED_FROM))) * share_of_pull


def _spread(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """[3,3] weighted second moment of offsets ``a`` [n,3] (weights [n])."""
    return np.einsum("n,ni,nj->ij", w, a, a)


def _weighted_fit(src: np.ndarray, obs: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position [T,3] of offset 0, turn [T,3,3]) best taking offsets ``src`` [n,3] onto ``obs`` [T,n,3]
    (weights [n]); a tiny pull towards no turn decides what the items leave free."""
    c_src = w @ src / w.sum()
    c_obs = np.einsum("n,tni->ti", w, obs) / w.sum()
    a, b = src - c_src, obs - c_obs[:, None]
    M = np.einsum("n,tni,nj->tij", w, b, a)
    tie = 1e-12 * float(np.einsum("n,ni,ni->", w, a, a)) + 1e-300
    turn = best_fit_rotation(M + tie * np.eye(3))
    return c_obs - np.einsum("tij,j->ti", turn, c_src), turn


def _proportional(length: np.ndarray, rig_length: float) -> np.ndarray:
    """[T] chord lengths for the rig: the performer's ``length`` [T], rescaled so its median is the
    rig's ``rig_length`` in as far as the two differ by more than PROPORTION_TOLERANCE (smoothly:
    small differences are pose, large ones proportions)."""
    median = float(np.median(length))
    if median <= 0 or rig_length <= 0:
        return length
    ratio = np.log(rig_length / median)
    share = min(1.0, abs(ratio) / np.log1p(PROPORTION_TOLERANCE))
    return length * np.exp(share * ratio)


def _bend(v: np.ndarray, target: np.ndarray, chord: np.ndarray, body: np.ndarray,
          rate: float, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(segments [T,n,3], their extra turns [T,n,3,3]): every joint of the chain v [T,n,3] between
    two of its parts (``groups`` [n]: the part of each segment, 0, 1, ... down the chain) turned by
    the same extra angle about its bend axis (see :func:`_bend_axis`; ``body`` [T,3,3] is the frame
    of the chain's start, ``rate`` the share of new evidence a frame takes) so it spans ``target`` [T]. A chain that must get shorter can bend to either
    side of straight: the first frame takes its own side (the nearer solution), every later frame the
    side of the frame before, so the bend never jumps across when the chain passes straight; one that
    must get longer straightens (at most fully)."""
    T, n = v.shape[:2]
    axis, defined = _bend_axis(v, chord, body, rate)
    steps = groups - 0.5 * groups[-1]

    def span(theta: np.ndarray) -> np.ndarray:                             # [T] -> |chord| [T]
        R = axis_angle_to_matrix(np.repeat(axis[:, None], n, 1), theta[:, None] * steps)
        return np.linalg.norm(np.einsum("tnij,tnj->ti", R, v), axis=-1)

    limit = BEND_LIMIT / max(groups[-1], 1.0)
    grid = np.linspace(-limit, limit, 2 * BEND_GRID + 1)
    spans = np.stack([span(np.full(T, g)) for g in grid], axis=1)         # [T,G]
    top = _straightest(spans, grid)
    rows = np.arange(T)
    ahead = spans[:, 1:] <= target[:, None]                                # at or past the target, per step
    cells = np.arange(grid.size - 1)[None]
    right = np.where(ahead & (cells >= top[:, None]), cells, grid.size).min(axis=1)       # first past, up
    left = np.where(ahead[:, ::-1] & (grid.size - 2 - cells < top[:, None]), cells, grid.size).min(axis=1)
    left = grid.size - 2 - left                                            # last below the top, going down
    side = _bend_side(grid, top, left, right)
    lo = np.where(side > 0, grid[np.clip(right, 0, grid.size - 1)], grid[np.clip(left + 1, 0, grid.size - 1)])
    hi = np.where(side > 0, grid[np.clip(right + 1, 0, grid.size - 1)], grid[np.clip(left, 0, grid.size - 1)])
    reachable = np.where(side > 0, right < grid.size - 1, left >= 0) & (target < spans[rows, top])
    for _ in range(BEND_STEPS):                        # from lo (straighter) to hi the span falls past target
        mid = 0.5 * (lo + hi)
        longer = span(mid) > target
        lo, hi = np.where(longer, mid, lo), np.where(longer, hi, mid)
    theta = np.where(reachable, 0.5 * (lo + hi), grid[top])
    theta = grid[top] + (theta - grid[top]) * defined                      # no side to bend to: stay straight
    R = axis_angle_to_matrix(np.repeat(axis[:, None], n, 1), theta[:, None] * steps)
    return np.einsum("tnij,tnj->tni", R, v), R


def _straightest(spans: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """[T] the index into ``grid`` [G] (bend angles) of each frame's longest span (``spans`` [T,G]): the
    chain straight; of spans equal to the longest within rounding, the least bend. A chain whose length
    lies in one segment (the others of zero length: a hand, a zero-length finger base, the index) spans
    the same at every bend; the first grid angle, 143 degrees, had turned the finger base that far and
    the hand back against it, a different way in each frame (a MediaPipe take on the Xia rig: 649 flips)."""
    longest = spans.max(axis=1, keepdims=True)
    equal = spans >= longest - SPAN_ROUNDING * np.maximum(longest, 1e-300)
    return np.argmin(np.where(equal, np.abs(grid)[None], np.inf), axis=1)


def _bend_side(grid: np.ndarray, top: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """[T] +1 to bend on the side of larger angles than straight, -1 on the other: at first the side
    whose solution is nearer no extra bend, then each frame the side whose solution is nearer the
    previous frame's."""
    big = grid.size
    g_right = np.where(right < big - 1, grid[np.clip(right, 0, big - 1)], np.inf)
    g_left = np.where(left >= 0, grid[np.clip(left, 0, big - 1)], -np.inf)
    side = np.empty(len(top))
    previous = 0.0
    for t in range(len(top)):
        side[t] = 1.0 if abs(g_right[t] - previous) <= abs(g_left[t] - previous) else -1.0
        chosen = g_right[t] if side[t] > 0 else g_left[t]
        previous = chosen if np.isfinite(chosen) else grid[top[t]]
    return side


def _bend_axis(v: np.ndarray, chord: np.ndarray, body: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """([T,3] axis to bend segments v [T,n,3] about, [T] how well it is defined, 0..1).

    Each frame's evidence is the chain's curve (summed cross products of consecutive segments) or,
    where the chain is straight, the turn from its chord towards the target ``chord`` [T,3] (a chain
    whose end moved forward bends forward), as far as it is defined (BEND_SIDE: the share of the
    chain's squared length that counts as fully defined). The evidence is averaged over the frames
    before, held in the chain's start frame ``body`` [T,3,3], each frame weighing ``rate`` (1 -
    exp(-frame time / BEND_SECONDS)): a posture turns over time, and where the evidence goes the bend
    fades out over BEND_SECONDS instead of jumping to straight; with none it stays straight rather
    than pick a side at random."""
    curve = cross(v[:, :-1], v[:, 1:]).sum(1)
    own = normalize(v.sum(1))
    scale = np.einsum("tni,tni->t", v, v)

    def defined(x: np.ndarray) -> np.ndarray:
        return smoothstep(np.linalg.norm(x, axis=-1) / (BEND_SIDE * scale + 1e-300))

    raw = curve + (1.0 - defined(curve))[:, None] * scale[:, None] * cross(own, normalize(chord))
    local = np.einsum("tji,tj->ti", body, normalize(raw + 1e-9 * scale[:, None] * perpendicular(own)))
    carried = _average_forward(local, defined(raw), rate)
    axis = np.einsum("tij,tj->ti", body, carried)
    axis = normalize(axis - np.einsum("ti,ti->t", axis, own)[:, None] * own + 1e-9 * perpendicular(own))
    return axis, np.clip(np.linalg.norm(carried, axis=-1), 0.0, 1.0)


def _swung(F: np.ndarray, v: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[T,3,3] the frames F [T,3,3] turned by the smallest rotation that lays F v (``v`` [3]) onto
    ``target`` [T,3]; F itself where v is zero, and in the frames where the target is (two points
    at one place: a performer's spine joint at the hips, which the rig holds apart)."""
    if np.linalg.norm(v) < 1e-12:
        return F
    swung = rotation_between(F @ v, target) @ F
    none = np.linalg.norm(target, axis=-1) <= 1e-12 * max(float(np.linalg.norm(v)), 1e-300)
    return np.where(none[:, None, None], F, swung) if none.any() else swung


def _average_forward(axis: np.ndarray, weight: np.ndarray, rate: float) -> np.ndarray:
    """[T,3]: the running average a_t = b_t / (1 - (1 - r)^(t+1)), b_t = r w_t s_t axis_t + (1 - r)
    b_{t-1} (b_-1 = 0, r = ``rate``), of the unit axes ``axis`` [T,3] scaled by their ``weight`` [T]
    in 0..1, s_t = ±1 turning each to the side of b_{t-1}. Its length says how much evidence stands
    behind it lately (the divisor makes the first frames count fully)."""
    out = []
    ax = ay = az = 0.0
    keep = 1.0 - rate
    for (x, y, z), w in zip(axis.tolist(), weight.tolist()):                # plain floats: a loop
        s = rate * w if x * ax + y * ay + z * az >= 0.0 else -rate * w
        ax, ay, az = s * x + keep * ax, s * y + keep * ay, s * z + keep * az
        out.append((ax, ay, az))
    most = 1.0 - keep ** np.arange(1, len(axis) + 1)
    return np.array(out).reshape(axis.shape) / most[:, None]

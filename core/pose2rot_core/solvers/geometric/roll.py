"""Joints with one aim target: point the bone at it exactly; the roll about the bone, which
positions cannot give, follows the twist policy.

- ``swing``: the smallest swing from the reference local rotation, frame by frame (the plain
  baseline: its roll is undefined where the swing nears a half turn, so it can flip there).
- ``reference``: the same, but where the swing nears a half turn (the bone passing the
  opposite of its reference direction) the roll is carried by parallel transport and handed over
  from the well-conditioned frames on either side, spread evenly (continuous_roll; no jumps).
- ``lookahead`` (default): the roll most likely when the joint and the child it aims at each turn
  away from their reference local rotations about as far as their bones swing over the clip: a
  joint that hardly moves under a swinging child (a clavicle under the upper arm) keeps its
  reference roll, one that moves as much as its child (an upper arm over a bending forearm) turns
  its roll so the child bends near its reference plane; carried the same way where that is
  degenerate. A sudden turn of the child's bend about the bone is shared between the joint's roll
  and the child's swing (share_turns).
- ``transport``: the roll carried frame to frame by the smallest swing (parallel transport),
  anchored at the reference frame; never flips but drifts over long clips.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from ...rotations import (cross, norm, normalize, perpendicular, rotation_about, swing_between_units, unwrap_euler,
                          wrap_angle)
from ...flips import FLIP_DEGREES
from ...stacks import dot, frame_mean, frames_first, frames_last, mat_mul, mat_t_vec, mat_vec, side_by_side
from .fit import smoothstep
from .problem import Problem, Target

#: the point a joint aims at: its target, or the targets at one place (a share bone beside the real
#: child, each perhaps with targets of its own), in any order
Aimed = tuple[Target, ...]

#: continuity of the roll where it is poorly conditioned: a frame of trust w follows its own roll
#: over about CONTINUITY_SECONDS / sqrt(w) (see continuous_roll)
CONTINUITY_SECONDS = 0.1
#: roll-objective confidence (0..1) at or above which a frame's own roll is fully trusted; for the
#: smallest swing, 0.6 is a swing of about 78 degrees
TRUST_HIGH = 0.6
#: (lookahead) the smallest typical turn away from the reference a joint is credited with, as
#: 1 - cos(angle) of about 2 degrees: a bone that never swings is stiff, not infinitely so
MIN_DEVIATION = 1.0 - np.cos(np.radians(2.0))
#: (turn sharing) the smallest typical turn between frames a bone is credited with, as 1 - cos of
#: 0.1 degrees: below it a turn is lost in rounding (float32 positions), not motion
MIN_STEP = 1.0 - np.cos(np.radians(0.1))


def aim_with_roll(problem: Problem, joints: np.ndarray, s_hat: np.ndarray, d_hat: np.ndarray, desired: np.ndarray,
                  aimed: list[Aimed], parent_frame: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
    """Global orientations [T,n,3,3] of ``joints`` [n] (of one tree depth, all zero-length or
    none), each taking the unit direction ``s_hat`` (joint frame; [T,n,3], or [1,n,3] when the
    same in every frame) onto the unit direction ``d_hat`` (world, [T,n,3]) exactly, with the roll
    about the bone chosen by the twist policy. ``desired`` [T,n,3,3]: the orientations that keep
    the reference local rotations; ``aimed`` [n]: the points (see Aimed) whose own targets may
    inform the roll (lookahead); ``parent_frame`` [T,n,3,3]: the parents' orientations (None: the root, whose
    parent is the world). All joints at once: each comes out as it would alone. Written into
    ``out`` [T,n,3,3] when given (overlapping none of the inputs)."""
    # unit again: desired inherits the parents' rounding, which the swing would otherwise double
    # at every depth (a chain of 45 joints drifted 24 % of the height off its tracks)
    from_dir = normalize(mat_vec(desired, s_hat))
    unseen = dot(d_hat, d_hat) < 0.25
    if unseen.any():  # a target on the joint's own track shows no direction: the joint keeps its reference there
        d_hat = np.where(unseen[..., None], from_dir, d_hat)
    swing_cos = dot(from_dir, d_hat)
    swing = swing_between_units(from_dir, d_hat, swing_cos)  # smallest swing: roll angle 0
    if problem.twist == "swing":
        return mat_mul(swing, desired, out=out)
    base = None if problem.twist == "reference" else mat_mul(swing, desired)
    if problem.twist == "transport":
        carried = CarriedRoll(base, s_hat, d_hat, parent_frame, problem.tied)
        return mat_mul(rotation_about(d_hat, carried.whole(anchor=problem.tracks.reference_frame)), base, out=out)
    looks_ahead = problem.twist == "lookahead" and not problem.zero_length[joints[0]]
    if looks_ahead:
        phi, confidence, strength = lookahead_roll(problem, aimed, base, d_hat, swing_cos)
    else:
        confidence = 0.5 * (1.0 + swing_cos)
        phi = np.zeros_like(confidence)
    trust = smoothstep(confidence / TRUST_HIGH)
    if problem.tracks.reference_frame is not None:  # the reference pose itself is exact there
        trust[problem.tracks.reference_frame] = 1.0
        phi[problem.tracks.reference_frame] = 0.0
    poorly_conditioned = np.flatnonzero(trust.min(axis=0) < 1.0)
    if len(poorly_conditioned):
        base = mat_mul(swing, desired) if base is None else base
    carried = None if base is None else CarriedRoll(base, s_hat, d_hat, parent_frame, problem.tied)  # when asked
    if len(poorly_conditioned):  # carried over from well-conditioned frames, on the frames that need it
        _hand_over(phi, trust, carried, poorly_conditioned, problem.tracks.fps, problem.tracks.reference_frame)
    if looks_ahead and problem.constant_guess:
        phi = share_turns(problem, aimed, base, s_hat, phi, strength, carried)
    if not phi.any():
        if base is None:
            return mat_mul(swing, desired, out=out)
        if out is None:
            return base
        out[...] = base
        return out
    return mat_mul(rotation_about(d_hat, phi), base, out=out)


def share_turns(problem: Problem, aimed: list[Aimed], base: np.ndarray, s_hat: np.ndarray, phi: np.ndarray,
                strength: np.ndarray, carry: CarriedRoll) -> np.ndarray:
    """Roll [T,n] (relative to ``base`` [T,n,3,3]; ``phi`` [T,n] left as it is) that shares
    the aimed children's (``aimed`` [n]) sudden turns: where a child's bend turns about the bone
    between frames, the turn is split between the joint's roll and the child's swing as their
    typical per-frame turns make most likely, instead of all of it landing in the child (a forearm
    pronating under a paw). The most likely roll over the clip of: the per-frame roll ``phi`` with
    the lookahead's preference for it (curvature ``strength`` / 2 [T,n]), and turns between frames
    — the joint's roll and the child's swing — each with the per-axis variance that its bone's
    direction shows between frames (the mean of 1 - cos of its step; the joint's seen from its
    parent, the child's from the joint): the lookahead's measure, applied to steps. The child's
    turn counts as far as it bends (the azimuth of its bend weighs sin^2 of the bend angle; a
    straight child leaves only the roll's own step prior, and so does an aimed point with no
    targets of its own, which shows no bend either: a forearm over a hand without finger or tip
    joints moves its roll as continuously as over a straight hand, instead of following the
    smallest swing from its reference frame by frame, whose roll turns fast wherever the bone
    circles that reference direction at a wide angle). That holds where the roll itself is
    carried (the joint's swing near a half turn from its reference): a step needs no known roll,
    only the child's bend; the reference frame keeps its roll. Steps are measured against the roll
    carried from the parent (``carry``: the joints at ``base``, aiming ``s_hat`` [T|1,n,3]), so
    that the step of phi is the joint's own turn. Only for a reference that is the same in every
    frame: a per-frame one (a twist guess) says how each frame's turn is split."""
    if len(phi) < 3:
        return phi
    carried, in_parent = carry.whole(), carry.direction
    tied = np.ones(len(phi) - 1, bool) if problem.tied is None else problem.tied
    roll_link = 1.0 / (2.0 * np.maximum(_tied_mean(1.0 - dot(in_parent[1:], in_parent[:-1]), tied), MIN_STEP))
    stiffness = np.repeat(roll_link[None], len(phi) - 1, axis=0)  # [T-1,n]
    shared = np.zeros_like(phi)
    child = _bending_child(problem, aimed, base, s_hat)
    if child is not None:
        rows, seen, bend = child  # bend: the sine of the bend angle
        across = carry.across[:, rows]
        azimuth = np.arctan2(dot(seen, cross(s_hat[:, rows], across)), dot(seen, across))
        weight_bend = bend[1:] * bend[:-1] * tied[:, None]
        child_link = weight_bend / (2.0 * np.maximum(_tied_mean(1.0 - dot(seen[1:], seen[:-1]), tied), MIN_STEP))
        stiffness[:, rows] += child_link
        turn = _signed_turn(wrap_angle(np.diff(azimuth - carried[:, rows], axis=0)))
        shared[:, rows] = _after_zero(np.cumsum(child_link * turn / stiffness[:, rows], axis=0))
    fixed = np.zeros(carried.shape, bool)
    if problem.tracks.reference_frame is not None:
        fixed[problem.tracks.reference_frame] = True
    own = unwrap_euler(phi - carried) - shared
    return elastic_string(own, np.maximum(strength / 2.0, 1e-9), fixed, np.broadcast_to(tied[:, None], stiffness.shape),
                          stiffness) + shared + carried


def _tied_mean(x: np.ndarray, tied: np.ndarray) -> np.ndarray:
    """[...] the mean over the steps of x [T-1,...] that are ``tied`` [T-1] (Problem.tied)."""
    return frame_mean(x) if tied.all() else frame_mean(x[tied]) if tied.any() else np.zeros(x.shape[1:])


#: (turn sharing) within this angle of a half turn, a step of the child's bend about the bone cannot
#: be told from the opposite step (the child swings through or past the bone's axis)
HALF_TURN_TOLERANCE = np.radians(30.0)


def _signed_turn(turn: np.ndarray) -> np.ndarray:
    """Steps [T-1,...] of a bend's direction about the bone (radians, in [-pi, pi]) as far as their
    sign is known: unchanged up to HALF_TURN_TOLERANCE from a half turn, then fading smoothly to 0
    at the half turn itself, where either sign fits (a finger or elbow passing straight in a plane
    turns its bend by exactly pi, and rounding alone would pick the side)."""
    return turn * smoothstep((np.pi - np.abs(turn)) / HALF_TURN_TOLERANCE)


def _bending_child(problem: Problem, aimed: list[Aimed], base: np.ndarray, s_hat: np.ndarray
                   ) -> tuple[np.ndarray | slice, np.ndarray, np.ndarray] | None:
    """For the joints at ``base`` [T,n,3,3] aiming ``s_hat`` [T|1,n,3] at ``aimed`` [n] (past twist
    segments, see twist_chains.past_segments): ([k] those whose aimed point has targets of its own,
    a slice when all: their stacks are then views, not copies; [T,k,3] the unit direction in which
    they (those of every joint at the point) lie from it, seen in the joint's frame; [T,k] the sine
    of its angle with the bone), or None where none has any."""
    step = {i: [(c.index, primary) for c in point if not c.is_end and (primary := problem.split_targets(c.index)[0])]
            for i, point in enumerate(aimed)}
    step = {i: members for i, members in step.items() if members}
    if not step:
        return None
    rows = slice(None) if len(step) == len(aimed) else np.array(list(step))
    seen = mat_t_vec(base[:, rows], side_by_side([_towards(problem, members) for members in step.values()]))
    return rows, seen, norm(cross(seen, s_hat[:, rows]))


def _towards(problem: Problem, members: list[tuple[int, list[Target]]]) -> np.ndarray:
    """[T,3] the unit direction in which the primary targets of the joints at a point (``members``:
    each joint and its primary targets) lie from it, all summed (one target: its direction)."""
    if len(members) == 1 and len(members[0][1]) == 1:
        c, primary = members[0]
        return problem.directions(primary, c)[:, 0]
    return normalize(sum(problem.observed(primary, c).sum(1) for c, primary in members))


class CarriedRoll:
    """The roll relative to ``base`` [T,n,3,3] that carries each of n joints' orientation frame to
    frame by the smallest swing as seen from its parent (``parent_frame`` [T,n,3,3], None for the
    world; so a parent turning about its own bone takes the child along instead of leaving it
    behind). ``s_hat``: the bones' directions in the joint frames ([T,n,3] or [1,n,3]), ``d_hat``
    [T,n,3] in the world; ``tied`` [T-1]: the steps it carries over (Problem.tied; None: every one),
    starting again from ``base`` after the others. Each step's roll is worked out once, when first
    asked for, and read over the whole clip or on some frames."""

    def __init__(self, base: np.ndarray, s_hat: np.ndarray, d_hat: np.ndarray, parent_frame: np.ndarray | None,
                 tied: np.ndarray | None = None):
        self.base, self.s_hat, self.d_hat, self.parent_frame, self.tied = base, s_hat, d_hat, parent_frame, tied

    @cached_property
    def direction(self) -> np.ndarray:
        """[T,n,3] the bones' directions seen from the parents."""
        return _in_parent(self.parent_frame, self.d_hat)

    @cached_property
    def across(self) -> np.ndarray:
        """[T,n,3] or [1,n,3] (as ``s_hat``): a unit direction across each bone, fixed in the joint frame."""
        return perpendicular(self.s_hat)

    @cached_property
    def steps(self) -> np.ndarray:
        """[T-1,n] the roll of each step, frame t to t + 1 (see transport_steps)."""
        # the direction across the bone where base puts it (seen from the parent) at t-1 and at t
        base, parent_frame = self.base, self.parent_frame
        e = self.across[1:] if len(self.across) > 1 else self.across
        if len(e) == 1:
            across = _in_parent(parent_frame, mat_vec(base, e))
            before, now = across[:-1], across[1:]
        else:
            before = _in_parent(None if parent_frame is None else parent_frame[:-1], mat_vec(base[:-1], e))
            now = _in_parent(None if parent_frame is None else parent_frame[1:], mat_vec(base[1:], e))
        return transport_steps(before, now, self.direction)

    def whole(self, anchor: int | None = None) -> np.ndarray:
        """[T,n] over the clip, anchored (0) at frame ``anchor`` (else the first; worked out once).
        Not to be written to."""
        return self._from_first if anchor is None else roll_from_steps(self.steps, len(self.d_hat), anchor,
                                                                          tied=self.tied)

    @cached_property
    def _from_first(self) -> np.ndarray:
        """[T,n] whole(), anchored at the first frame."""
        return roll_from_steps(self.steps, len(self.d_hat), None, tied=self.tied)

    def on(self, frames: np.ndarray, joints: np.ndarray) -> np.ndarray:
        """[m,k] of the joints ``joints`` [k] (columns) on their ``frames`` [m,k] (see near_frames),
        each carried from the frame before it (see roll_from_steps)."""
        return roll_from_steps(self.steps[:, joints], len(self.d_hat), None, frames, self.tied)


def _in_parent(parent_frame: np.ndarray | None, v: np.ndarray) -> np.ndarray:
    """World vectors v [T,...,3] seen in the parent's frame ``parent_frame`` [T,...,3,3] (None: the world)."""
    return v if parent_frame is None else mat_t_vec(parent_frame, v)


def _hand_over(phi: np.ndarray, trust: np.ndarray, carried: CarriedRoll, joints: np.ndarray, fps: float,
               anchor: int | None = None) -> None:
    """Roll ``phi`` [T,n] (in place) of the ``joints`` [k] (columns) on their frames of low
    ``trust`` [T,n] and those next to them, carried over from the well-conditioned frames on
    either side (continuous_roll; ``carried``: the carried roll of all n), all k at once; a
    hand-over too short for the turn it must make is widened first (widen_hand_overs), never over
    the frame ``anchor`` (the reference pose's own frame, exact)."""
    trust = trust.copy()
    whole = carried.whole()
    for k in joints:
        widen_hand_overs(trust[:, k], phi[:, k] - whole[:, k])
    if anchor is not None:
        trust[anchor] = np.maximum(trust[anchor], 1.0)
    frames = near_frames(trust[:, joints])  # [m,k], -1 past each joint's own: fixed, untied
    real = frames >= 0
    at = np.where(real, frames, 0), np.broadcast_to(joints, frames.shape)
    on_near = carried.on(frames, joints)
    psi = np.where(real, phi[at] - on_near, 0.0)
    rolled = on_near + continuous_roll(psi, np.where(real, trust[at], 1.0), fps, frames, carried.tied)
    phi[at[0][real], at[1][real]] = rolled[real]


#: a roll handed over between well-conditioned frames turns at most this much per frame (radians):
#: half the turn the safety check calls a flip, the other half left to the bone's own swing
MAX_HAND_OVER_STEP = np.radians(FLIP_DEGREES / 2.0)


def widen_hand_overs(trust: np.ndarray, psi: np.ndarray) -> None:
    """Each stretch of ``trust`` [T] below 1 whose hand-over would turn the roll faster than
    MAX_HAND_OVER_STEP per frame (the way the rolls of its frames, ``psi`` [T] relative to the
    carried roll, go from the frame before it to the frame after) turns evenly instead, the shorter
    way, widened by trusted frames on either side, one ring at a time, until that is slow enough
    (in place). Smoothly: a stretch or ring whose turn is a share s past the limit (1 at twice it)
    keeps 1 - smoothstep(s) of its trust, so a roll a little too fast is barely touched. A bone
    that sweeps past the opposite of its reference direction in a few frames turns its reference
    roll by up to a half turn there: handed over in those frames alone, the roll spun by 40-60
    degrees a frame where the bone turned 14. A stretch at the clip's start or end, with one side
    to hand over from, then carries that roll."""
    T, done = len(trust), -1
    low = np.concatenate([[False], trust < 1.0, [False]])
    starts, stops = np.flatnonzero(low[1:] != low[:-1]).reshape(-1, 2).T  # stretches [start, stop)
    lo, hi = np.maximum(starts - 1, 0), np.minimum(stops, T - 1)
    way = unwrap_euler(psi)  # over each stretch, the turn its own unwrapping finds (up to rounding)
    first = within_step(np.abs(way[hi] - way[lo]), hi - lo)  # [k] the trust each stretch keeps at first
    fast = first < 1.0  # only these are widened
    for a, b, keep in zip(starts[fast].tolist(), (stops[fast] - 1).tolist(), first[fast]):
        if a <= done:  # taken into the one before
            continue
        trust[a:b + 1] *= keep
        while a > 0 and b < T - 1:
            keep = within_step(abs(wrap_angle(psi[b + 1] - psi[a - 1])), b - a + 2)
            if keep >= 1.0:
                break
            a, b = a - 1, b + 1
            trust[a], trust[b] = min(trust[a], keep), min(trust[b], keep)
            while b + 1 < T and trust[b + 1] < 1.0:  # met the next stretch: one hand-over
                b += 1
                trust[b] = min(trust[b], keep)
        done = b


def within_step(turn: float | np.ndarray, steps: int | np.ndarray) -> float | np.ndarray:
    """1 - smoothstep of how far a hand-over of ``turn`` radians over ``steps`` frames is past
    MAX_HAND_OVER_STEP per frame, as a share of it (0 from twice the limit on); scalars or [k]."""
    return 1.0 - smoothstep(turn / (MAX_HAND_OVER_STEP * np.maximum(steps, 1)) - 1.0)


def near_frames(trust: np.ndarray) -> np.ndarray:
    """[m,k] for each column of ``trust`` [T,k], the frames whose trust is below 1 and their
    neighbours, ascending (then -1 where it has fewer than m): the frames continuous_roll changes
    and the fully trusted ones it hands over from."""
    low = trust < 1.0
    near = low.copy()
    near[1:] |= low[:-1]
    near[:-1] |= low[1:]
    columns, rows = np.nonzero(near.T)  # by column, then frame
    counts = near.sum(axis=0)
    frames = np.full((max(int(counts.max()), 1), near.shape[1]), -1)
    frames[np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts), columns] = rows
    return frames


def continuous_roll(psi: np.ndarray, trust: np.ndarray, fps: float, frames: np.ndarray | None = None,
                    steps: np.ndarray | None = None) -> np.ndarray:
    """Roll [T] (radians, relative to the transported frame, up to whole turns): ``psi`` [T] where
    ``trust`` [T] (0..1) is 1; where it is lower, handed over from the fully trusted frames on
    either side along the shorter way, spread evenly over the frames that cannot tell: an elastic
    string (stiffness CONTINUITY_SECONDS) pulled towards each frame's own roll with the odds of
    its trust, trust / (1 - trust), so that a long poorly conditioned stretch turns its roll
    slowly instead of jumping and the roll changes smoothly with the trust. ``frames``
    (ascending indices [T] of a longer clip, see near_frames): frames not consecutive there are
    not tied; each stretch may be off by a constant from the transported frame. Columns of
    ``psi``, ``trust`` and ``frames`` [T,k], each on its own. ``steps`` [T-1] (of the whole clip):
    the steps frame to frame that tie (Problem.tied; None: every one). The way (on the unit circle)
    and the roll along it pull the same string: it is reduced once."""
    stiffness = max(1.0, CONTINUITY_SECONDS * fps) ** 2
    tied = np.ones((max(len(psi) - 1, 0),) + psi.shape[1:], bool) if frames is None else np.diff(frames, axis=0) == 1
    if steps is not None:
        tied &= steps.reshape((-1,) + (1,) * (psi.ndim - 1)) if frames is None else \
            steps[np.clip(frames[:-1], 0, len(steps) - 1)]
    fixed = trust >= 1.0
    weight = np.where(fixed, 1.0, np.maximum(trust, 1e-9) / np.maximum(1.0 - trust, 1e-300))
    string = ElasticString(weight, fixed, tied, stiffness)
    way = unwrap_euler(np.angle(string.pulled(np.exp(1j * psi), keep=True)))
    return string.pulled(way + wrap_angle(psi - way))


def elastic_string(u: np.ndarray, weight: np.ndarray, fixed: np.ndarray, tied: np.ndarray,
                   stiffness: float | np.ndarray) -> np.ndarray:
    """[T] (real or complex) x minimising sum weight (x - u)^2 + sum over tied neighbours of
    stiffness (one, or [T-1]) (x[t+1] - x[t])^2, with x = u where ``fixed`` [T]; ``tied`` [T-1]:
    whether frames t and t+1 are tied. Between fixed frames the free ones follow u as far as their weight
    allows, and run straight where it is small. A tridiagonal solve. Several strings at once: every
    argument [T,n] ([T-1,n]), each column on its own."""
    return ElasticString(weight, fixed, tied, stiffness).pulled(u)


class ElasticString:
    """The strings of elastic_string for ``weight``, ``fixed``, ``tied`` and ``stiffness`` (see
    there), pulled towards any u: their tridiagonal system is reduced on the first pull, and kept
    for more when that asks for it."""

    def __init__(self, weight: np.ndarray, fixed: np.ndarray, tied: np.ndarray, stiffness: float | np.ndarray):
        link = np.where(tied & ~(fixed[:-1] & fixed[1:]), stiffness, 0.0)
        below = _after_zero(link)  # tie to the frame before
        above = np.concatenate([link, np.zeros((1,) + link.shape[1:])])  # tie to the frame after
        self.diag = np.where(fixed, 1.0, weight + below + above)
        self.lower, self.upper = np.where(fixed, 0.0, -below), np.where(fixed, 0.0, -above)
        self.scale = np.where(fixed, 1.0, weight)
        self.system: Tridiagonal | None = None

    def pulled(self, u: np.ndarray, keep: bool = False) -> np.ndarray:
        """[T] (or [T,n]; real or complex) the strings pulled towards ``u``; ``keep``: the first
        pull keeps the reduced system for the next ones."""
        if self.system is not None:
            return self.system.solve(self.scale * u)
        if not keep:
            return tridiagonal_solve(self.lower, self.diag, self.upper, self.scale * u)
        self.system = Tridiagonal(self.lower, self.diag, self.upper, self.scale * u, keep)
        return self.system.solution


#: a system of at least this many equations is halved (odd ones eliminated) before its reduction
HALVED_FROM = 1024


def tridiagonal_solve(lower: np.ndarray, diag: np.ndarray, upper: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """[T] solution of the tridiagonal system lower[t] x[t-1] + diag[t] x[t] + upper[t] x[t+1] =
    rhs[t] (lower[0] and upper[-1] unused; [T,n]: n systems); see Tridiagonal. A long system
    (HALVED_FROM) is first halved by cyclic reduction: each even equation takes in its odd
    neighbours, the even ones are solved (halved again while long enough), and the odd ones follow
    from them. Every pass of the parallel reduction costs the whole system; this way the passes run
    on a half or a quarter of it, and the halving itself costs about one pass."""
    a, c = np.array(lower, float), np.array(upper, float)
    a[0] = c[-1] = 0.0
    if len(a) < HALVED_FROM:
        return Tridiagonal(a, diag, c, rhs).solution
    b, d = np.asarray(diag, float), np.asarray(rhs)
    a_odd, b_odd, c_odd, d_odd = a[1::2], b[1::2], c[1::2], d[1::2]
    n_even, n_odd = len(b) - len(b_odd), len(b_odd)
    p = a[2::2] / b_odd[:n_even - 1]  # even equation k takes in odd k - 1 ...
    q = c[:2 * n_odd:2] / b_odd  # ... and odd k (the last even one has none after it when T is odd)
    b_even, d_even = b[::2].copy(), d[::2].copy()
    b_even[1:] -= p * c_odd[:n_even - 1]
    b_even[:n_odd] -= q * a_odd
    d_even[1:] -= p * d_odd[:n_even - 1]
    d_even[:n_odd] -= q * d_odd
    a_even, c_even = np.zeros_like(b_even), np.zeros_like(b_even)
    np.multiply(p, a_odd[:n_even - 1], out=a_even[1:])
    np.multiply(q, c_odd, out=c_even[:n_odd])
    x = np.empty(np.broadcast(b, d).shape, np.result_type(b, d))
    x[::2] = x_even = tridiagonal_solve(-a_even, b_even, -c_even, d_even)
    odd = d_odd - a_odd * x_even[:n_odd]
    odd[:n_even - 1] -= c_odd[:n_even - 1] * x_even[1:]
    x[1::2] = odd / b_odd
    return x


class Tridiagonal:
    """The tridiagonal system lower[t] x[t-1] + diag[t] x[t] + upper[t] x[t+1] = rhs[t] (lower[0]
    and upper[-1] unused; [T,n]: n systems) and its ``solution``, by parallel cyclic reduction: each
    pass eliminates every equation's neighbours at twice the distance, all frames at once (log2 of
    the longest run of coupled equations passes: beyond it no coupling is left, and a pass would
    change nothing; the systems here are diagonally dominant). ``rhs`` goes through each pass as it
    is made (its factors still in the cache); with ``keep`` the factors are kept, so that ``solve``
    takes other right-hand sides through the same steps. In place on copies: after the first pass
    the couplings are kept negated, so that no pass negates (a sign flip is exact)."""

    def __init__(self, lower: np.ndarray, diag: np.ndarray, upper: np.ndarray, rhs: np.ndarray, keep: bool = False):
        a, b, c, d = np.array(lower, float), np.array(diag, float), np.array(upper, float), np.array(rhs)
        a[0] = c[-1] = 0.0
        longest = _longest_coupled_run(a, c)
        self.passes: list[tuple[int, np.ndarray, np.ndarray]] = []  # (stride, p, q): d gains -p d[t - s], -q d[t + s]
        stride = 1
        while stride < longest:  # equation t takes in t - stride and t + stride (none beyond the ends)
            s = stride
            a_hi, b_lo, b_hi, c_lo = a[s:], b[:-s], b[s:], c[:-s]
            p, q = a_hi / b_lo, c_lo / b_hi
            np.subtract(b_hi, p * c_lo, out=b_hi)
            np.subtract(b_lo, q * a_hi, out=b_lo)
            _eliminate(d, s, p, q, np.subtract if s == 1 else np.add)
            np.multiply(p, a[:-s], out=a_hi)  # the couplings at twice the distance, negated (0 from
            np.multiply(q, c[s:], out=c_lo)  # the first 2s equations, and the last: a[:s], c[-s:] were)
            if keep:
                self.passes.append((s, p, q))
            stride = 2 * s
        self.diag = b
        self.solution = d / b

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """[T] (or [T,n]; real or complex) the solution for another ``rhs`` [T] ([T,n]) (kept factors)."""
        d = np.array(rhs)
        for s, p, q in self.passes:
            _eliminate(d, s, p, q, np.subtract if s == 1 else np.add)
        return d / self.diag


def _eliminate(d: np.ndarray, s: int, p: np.ndarray, q: np.ndarray, update: np.ufunc) -> None:
    """One reduction pass on the right-hand side d [T,...] (in place): its neighbours at distance
    ``s``, weighed by the pass's factors p and q, taken in by ``update`` (subtract on the first
    pass, add once the couplings are kept negated)."""
    d_lo, d_hi = d[:-s], d[s:]
    from_before, from_after = p * d_lo, q * d_hi
    update(d_hi, from_before, out=d_hi)
    update(d_lo, from_after, out=d_lo)


def _longest_coupled_run(lower: np.ndarray, upper: np.ndarray) -> int:
    """The most equations [T] (of any column of [T,n]) joined one to the next by a coupling
    (``lower[t + 1]`` or ``upper[t]`` not 0): no coupling reaches that far, however many passes."""
    linked = (lower[1:] != 0) | (upper[:-1] != 0)  # [T-1,...]
    runs = np.zeros((lower[0].size, len(linked) + 2), bool)  # each column's links, False on either side
    runs[:, 1:-1] = linked.reshape(len(linked), len(runs)).T
    edges = np.flatnonzero(runs.ravel()[1:] != runs.ravel()[:-1])
    return int((edges[1::2] - edges[::2]).max(initial=0)) + 1


def lookahead_roll(problem: Problem, aimed: list[Aimed], base: np.ndarray, axis: np.ndarray,
                   swing_cos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(phi [T,n], confidence [T,n] 0..1, strength [T,n]: how strongly the objective prefers phi,
    see best_roll) for n joints: the roll about the bone direction ``axis`` [T,n,3] (world),
    relative to the smallest swing ``base`` [T,n,3,3], most likely when the joint and its aimed
    child (``aimed`` [n]) each turn away from their reference (the orientations ``desired`` that
    keep the reference local rotations; the child at its reference local rotation) by Gaussian
    amounts: the child's swing with per-axis variance s^2, the mean over the clip of 1 - cos of
    its angle; the joint's roll with half the variance its own bone's swing shows (``swing_cos``
    [T,n]: against its reference direction), as turns about a bone are the most limited motion of
    most joints. A roll phi costs phi^2 / s^2 and tr(R^T desired) loses phi^2; a swing alpha costs
    alpha^2 / 2s^2 and a unit alignment loses alpha^2 / 2: both weigh 1/s^2. A joint whose bone
    stays put is stiff, and only a child that moves about as much can turn it. The confidence is
    the preference for phi against the most each term could show: a child whose targets lie on
    the bone's axis (straight, or a twist segment) tells nothing about the roll and does not
    dilute it. A child with one target weighs its cue by the spreads of its swing along and across
    its reference bend plane instead (see hinge_alignment). The joint's own term needs no matrices:
    with base = swing @ desired, tr((Rot(phi) base)^T desired) = tr(Rot(phi)^T swing^T), whose part
    in phi is (1 + cos swing) cos phi (the swing turns about an axis across the bone: no sin phi part)."""
    w_self = 1.0 / np.maximum(frame_mean(1.0 - swing_cos), MIN_DEVIATION)  # [n]
    along = w_self * (1.0 + swing_cos)
    across = np.zeros_like(along)
    total = 2.0 * w_self  # a rotation's alignment with itself is at most 2 away from -1
    child = child_alignment(problem, aimed, base, axis)
    if child is not None:
        along += child[0]
        across += child[1]
        total = total + child[2]
    phi, strength = best_roll(along, across)
    return phi, strength / total, strength


def child_alignment(problem: Problem, aimed: list[Aimed], base: np.ndarray, axis: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """For n joints at ``base`` [T,n,3,3] aiming at ``aimed`` [n] along the unit bone directions
    ``axis`` [T,n,3] (world), the aimed child's cue on the roll, weighed by how far the child
    strays from its reference ([T,n] each: the parts in cos phi and in sin phi, and the most they
    could show; 0 where the aimed point has no targets of its own), or None where no aimed point
    has any. Its own targets are unit directions u from it (world) and s, where they are seen with
    the child at its reference local rotation and the joint at base. With several targets: the
    means over them of the parts of tr((Rot(phi) base)^T alignment) (alignment the mean of u v^T,
    v: s seen in the joint frame): u.s less the parts along the axis, and axis.(s x u), and the
    product of the parts of u and s across the axis, all over the child's isotropic spread, the
    mean over the clip of 1 - u.s. With one target: hinge_alignment."""
    children = [_child_targets(problem, t) for t in aimed]
    if all(c is None for c in children):
        return None
    u, v, count = _side_by_side_padded(children, base.shape[:2])
    hinge = np.array([c is not None and c[0].shape[1] == 1 for c in children])  # [n] one target: hinge_alignment
    several = count > 1
    along, across, facing, reach = (np.zeros(base.shape[1::-1]).T for _ in range(4))  # [T,n], frames fastest
    cue = tuple(np.zeros(base.shape[1::-1]).T for _ in range(3))  # none where the aimed point has no targets
    for k in range(u.shape[2]):
        seen = mat_vec(base, v[:, :, k])  # the k-th targets' reference directions, joint at base
        parts = _across_axis(u[:, :, k], seen, axis)
        if k == 0 and hinge.any():
            _put_columns(cue, hinge, hinge_alignment(*_columns((u[:, :, 0], seen, axis), hinge),
                                                     known=_columns(parts, hinge)))
        if not several.any():
            break
        facing += dot(u[:, :, k], seen)
        along += parts[0]
        across += parts[1]
        reach += parts[2]
    if several.any():
        w_child = 1.0 / (count * np.maximum(1.0 - frame_mean(facing / count), MIN_DEVIATION))  # [n]
        _put_columns(cue, several, _columns(tuple(w_child * part for part in (along, across, reach)), several))
    return cue


def _columns(stacks: tuple[np.ndarray, ...], which: np.ndarray) -> tuple[np.ndarray, ...]:
    """The columns ``which`` ([n] bool) of each stack [T,n,...]: the stacks themselves when all."""
    return stacks if which.all() else tuple(x[:, which] for x in stacks)


def _put_columns(into: tuple[np.ndarray, ...], which: np.ndarray, parts: tuple[np.ndarray, ...]) -> None:
    """Write each of ``parts`` [T,k] into the columns ``which`` ([n] bool, k of them) of ``into`` [T,n]."""
    for out, part in zip(into, parts):
        out[:, which] = part


def hinge_alignment(u: np.ndarray, s: np.ndarray, axis: np.ndarray,
                    known: tuple[np.ndarray, ...] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """([T,n] each) the cue on a joint's roll about the unit bone directions ``axis`` [T,n,3] of a
    child with one target: its unit direction ``u`` [T,n,3] and ``s`` [T,n,3], where the child's
    reference puts it (both world, the joint at its smallest swing). The child's swing is Gaussian
    with its own spread along the two directions across s: in its reference bend plane (the plane
    of the bone and s) and across it, along the way a roll moves s (bend_spreads). Its cost splits
    into an isotropic part with the in-plane spread (the side cue of alignment_parts, as for
    several targets) and a cue on the bend's plane weighing the difference of the two precisions,
    none where the child strays across its plane as much as along it (a ball joint) and most for a
    hinge (a knee under the thigh; a claw). The roll moves s across the plane, not along it: the
    in-plane spread stays clear of the joint's own roll. The plane cue (plane_parts) counts as far
    as the child bends now about as far as in its reference (bend_agreement): a hinge's axis is
    known to within a small tilt from the plane's normal, which moves the child off the plane by
    about that tilt times its change of bend, and reads as a roll of that over its bend. ``known``:
    _across_axis(u, s, axis), when already worked out."""
    along, across, reach, u_across, s_across, s_perp = _across_axis(u, s, axis) if known is None else known
    side = along, across, reach
    # the way a roll moves s, axis x s = -(s x axis) (the same numbers), normalised as normalize does
    way_spread, bend_spread = _spreads(u, s, -s_perp / np.maximum(np.sqrt(s_across), 1e-12)[..., None])
    w_side = 1.0 / np.maximum(np.maximum(bend_spread, way_spread), MIN_DEVIATION)  # [n]
    w_plane = (1.0 / np.maximum(way_spread, MIN_DEVIATION) - w_side) * _agreement(u_across, s_across)
    plane = _plane_from_side(side, u_across)
    return tuple(w_side * a + w_plane * b for a, b in zip(side, plane))


def bend_spreads(u: np.ndarray, s: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """([n], [n]) the mean over the clip of the squared parts of unit ``u`` [T,n,3] (a child's
    target) across its reference direction unit ``s`` [T,n,3]: along the way a roll about the unit
    ``axis`` [T,n,3] moves s (axis x s) and in the plane of axis and s. Both directions are fixed
    in the joint's frame: per-axis variances of the child's swing, as the mean of 1 - u.s is of an
    isotropic one (sin^2 of a turn about one of them; either is 0 where s lies on the axis)."""
    return _spreads(u, s, normalize(cross(axis, s)))


def _spreads(u: np.ndarray, s: np.ndarray, way: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """bend_spreads with the unit direction ``way`` [T,n,3] in which a roll moves s (axis x s) known."""
    return frame_mean(dot(u, way) ** 2), frame_mean(dot(u, cross(way, s)) ** 2)


def plane_parts(u: np.ndarray, s: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(along, across, reach) [...]: the cue of unit ``u`` [...,3] on the plane of the unit
    ``axis`` and unit s [...,3] rather than on s's side of it. A roll phi puts u's part across
    the axis (length a, at delta from s's) off the plane by a sin(delta - phi); Gaussian, its cost
    taken about phi = 0 is (a sin(delta) - a cos(delta) phi)^2: a roll of tan(delta) mod pi, the
    one nearest 0, with curvature (a cos delta)^2. As along cos phi + across sin phi (see
    best_roll), that is a^2 cos(delta) |cos(delta)| (cos delta, sin delta): smooth where the bend
    lies across the plane (delta = +-pi/2, no cue) and flipped past it, where a hinge has bent
    through straight rather than the joint turned by more than a quarter turn; reach a^2."""
    return _plane_from_side(alignment_parts(u, s, axis), _squared_norm(cross(u, axis)))


def _squared_norm(x: np.ndarray) -> np.ndarray:
    """[...] the squared lengths of vectors ``x`` [...,3]."""
    return dot(x, x)


def _plane_from_side(side: tuple[np.ndarray, np.ndarray, np.ndarray], u_across: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """plane_parts from u's ``side`` cue (alignment_parts) and ``u_across`` [...], the squared length
    of u's part across the axis."""
    along, across, reach = side
    r = np.maximum(reach, 1e-300)
    cos_d, sin_d = along / r, across / r
    scale = u_across * cos_d * np.abs(cos_d)
    return np.where(reach > 1e-12, scale * cos_d, 0.0), np.where(reach > 1e-12, scale * sin_d, 0.0), u_across


def bend_agreement(u: np.ndarray, s: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """[...] 2 a b / (a^2 + b^2) for a, b the parts of unit u and s [...,3] across the unit
    ``axis``: 1 where the child bends as far now as in its reference, towards 0 the more its bend
    differs (0 where either is straight)."""
    return _agreement(*(_squared_norm(cross(x, axis)) for x in (u, s)))


def _agreement(a2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """[...] bend_agreement from the squared lengths ``a2``, ``b2`` [...] of u's and s's parts across
    the axis."""
    both = a2 + b2
    return np.where(both > 1e-24, 2.0 * np.sqrt(a2 * b2) / np.maximum(both, 1e-24), 0.0)


def alignment_parts(u: np.ndarray, s: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For unit vectors u, s and a unit ``axis`` [...,3]: (along, across, reach) [...] such that
    u . (Rot(axis, phi) s) = (axis.u)(axis.s) + along cos(phi) + across sin(phi) (Rodrigues:
    along = u.s - (axis.u)(axis.s), the parts across the axis; across = axis.(s x u)), and reach,
    the product of the lengths of those parts, the most a roll can change it."""
    return _across_axis(u, s, axis)[:3]


def _across_axis(u: np.ndarray, s: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, ...]:
    """alignment_parts of u, s and ``axis`` [...,3], then what hinge_alignment reads again: the
    squared lengths [...] of u x axis and s x axis, and s x axis [...,3] itself."""
    u_perp, s_perp = cross(u, axis), cross(s, axis)
    u2, s2 = dot(u_perp, u_perp), dot(s_perp, s_perp)
    return dot(u_perp, s_perp), -dot(u, s_perp), np.sqrt(u2) * np.sqrt(s2), u2, s2, s_perp


def _side_by_side_padded(children: list, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The aimed points' own targets (``children`` [n]: each _child_targets, or None) of n joints
    over T frames (``shape`` (T, n)) side by side: u [T,n,m,3] and v [T|1,n,m,3] zero-padded to the
    most targets m, and [n] how many each has (1 where None). One joint's are its own stacks (views)."""
    if len(children) == 1:
        u, v = children[0]
        return u[:, None], v[:, None], np.array([float(u.shape[1])])
    T, n = shape
    most = max(c[0].shape[1] for c in children if c is not None)
    frames_v = next(c[1].shape[0] for c in children if c is not None)  # 1 when constant
    u, v = np.zeros((n, most, 3, T)), np.zeros((n, most, 3, frames_v))  # joint planes, zero-padded
    count = np.ones(n)
    for i, c in enumerate(children):
        if c is not None:
            count[i] = c[0].shape[1]
            u[i, :c[0].shape[1]], v[i, :c[0].shape[1]] = (frames_last(x) for x in c)
    return frames_first(u), frames_first(v), count


def _child_targets(problem: Problem, aimed: Aimed) -> tuple[np.ndarray, np.ndarray] | None:
    """The aimed point's own targets (of every joint at that point, see Aimed): ([T,m,3] their unit
    directions from it (world), [T,m,3] (or [1,m,3] when the reference is constant) as seen with
    it at its reference local rotation in the aiming joint's frame), or None where it has none."""
    us, vs = [], []
    for t in aimed:
        if t.is_end or not problem.targets[t.index]:
            continue
        to_child = problem.reference_product(t.chain + (t.index,))
        sub = problem.targets[t.index]
        vs.append(normalize(mat_vec(to_child[..., None, :, :], problem.sources(sub))))  # [1,m,3] when constant
        us.append(problem.directions(sub, t.index))
    if not us:
        return None
    u, v = (x[0] if len(x) == 1 else np.concatenate(x, axis=1) for x in (us, vs))
    return u, v


def best_roll(along: np.ndarray, across: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(phi [T,...], amplitude [T,...]): the angle maximising along cos(phi) + across sin(phi) (an
    alignment tr(Rot(axis, phi)^T N) has along = tr(N) - axis.(N axis), across = axis.vee(N - N^T))
    and how strongly it is preferred (0: any roll is as good)."""
    amplitude = np.sqrt(along * along + across * across)
    return np.where(amplitude < 1e-12, 0.0, np.arctan2(across, along)), amplitude


def transport_steps(before: np.ndarray, now: np.ndarray, d_hat: np.ndarray) -> np.ndarray:
    """[T-1,...] the roll of each step k, frame k to k + 1, that carries the orientation frame by
    the smallest swing (parallel transport): ``before`` and ``now`` [T-1,...,3] are a direction
    across the bone, fixed in the joint frame, where the unrolled orientation puts it in frames
    0..T-2 and 1..T-1, ``d_hat`` [T,...,3] the bone's direction; the step is the angle from where ``before``
    lands when swung from d(k) onto d(k + 1) to ``now``. Summed by roll_from_steps."""
    a, b = d_hat[:-1], d_hat[1:]
    return signed_angle(now, swing_across(a, b, before), b)


def roll_from_steps(steps: np.ndarray, T: int, ref_frame: int | None, frames: np.ndarray | None = None,
                    tied: np.ndarray | None = None) -> np.ndarray:
    """Roll [T,...] summing the ``steps`` [T-1,...] (see transport_steps), anchored (0) at
    ``ref_frame`` (the first frame without one). With ``frames`` (indices [m] or [m,...] as
    steps, ascending, see near_frames): the roll [m,...] there, summing only the steps into them
    from the frame before (so stretches of frames are each right up to a constant), anchored at
    the first. ``tied`` [T-1]: the steps summed (None: all); after one that is not, the roll
    starts again at 0, and ``ref_frame`` anchors its own piece only."""
    if T < 2 or (frames is not None and len(frames) < 2):
        return np.zeros((T if frames is None else len(frames),) + steps.shape[1:])
    if tied is not None:
        steps = np.where(tied.reshape((-1,) + (1,) * (steps.ndim - 1)), steps, 0.0)
    into = steps if frames is None else np.take_along_axis(steps, np.maximum(frames[1:] - 1, 0), axis=0)
    phi = _after_zero(np.cumsum(into, axis=0))
    if frames is not None:
        return phi - phi[0]
    if tied is None:
        return phi - phi[0 if ref_frame is None else ref_frame]
    start = np.maximum.accumulate(np.where(np.r_[True, ~tied], np.arange(T), 0))  # [T] each frame's piece's first
    phi = phi - phi[start]
    if ref_frame is not None:
        phi[start == start[ref_frame]] -= phi[ref_frame]
    return phi


def swing_across(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """[...,3]: x, across unit a (x . a = 0), turned by the smallest rotation taking unit a onto
    unit b (all [...,3]; x unchanged where a and b are opposite: any turn is as small). That
    rotation is I - (a + b)(a + b)^T / (1 + a.b) + 2 b a^T: on x across a, x - (b.x) (a + b) / (1 + a.b)."""
    one_plus_c = 1.0 + dot(a, b)
    ok = one_plus_c > 1e-10
    k = np.where(ok, dot(b, x) / np.maximum(one_plus_c, 1e-10), 0.0)
    return x - k[..., None] * (a + b)


def signed_angle(u: np.ndarray, v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """[...] angle (radians) turning u onto v about the unit axis [...,3] (their parts across it)."""
    return np.arctan2(dot(axis, cross(u, v)), dot(u, v) - dot(u, axis) * dot(v, axis))


def _after_zero(x: np.ndarray) -> np.ndarray:
    """[T,...]: a first frame of zeros, then x [T-1,...]."""
    return np.concatenate([np.zeros((1,) + x.shape[1:]), x])

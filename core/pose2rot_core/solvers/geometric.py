"""Geometric solver: bones hit their tracks exactly, twist from a reference pose.

Works on global joint orientations ``G_j`` (joint frame -> file axes), top-down:

- a joint with two or more non-collinear *aim targets* (children with bone length, reached through
  zero-length children, and bone tips) takes the best-fit (Wahba/Kabsch) rotation of all of them;
- a joint with one aim target points that bone exactly at it; the roll about the bone (which
  positions cannot give) follows the twist policy;
- a joint with no target (leaf without tip, or all children missing) keeps its reference rotation.

Twist policies (``twist=``):
- ``"lookahead"``: the roll that keeps this joint's local rotation near the reference *and* lets
  the child joint reach its own targets with a near-reference local rotation — the bend plane of
  elbows and knees, the hand orientation for the forearm. Weighted closed form per frame.
- ``"reference"`` (default: no flips on the dev set, and within 0.2° of lookahead): the smallest
  swing from the reference local rotation.
Both keep the roll continuous where the swing degenerates (a bone passing the opposite of its
reference direction): there it is carried from well-conditioned neighbouring frames.
- ``"transport"``: roll carried frame to frame by the smallest swing (parallel transport),
  anchored at the reference frame; never flips but drifts over long clips.

The reference is ``tracks.reference_rotations`` (else the rest pose, identity), or a per-frame
``twist_guess [T,J,3,3]`` (hybrid solver: the learned rotations).

Bone lengths (``stretch=``): with ``"auto"`` joints whose distance to the parent changes over the
clip by more than ``stretch_tolerance`` (fraction of the skeleton height) are *translating*: their
parent-local offset is solved per frame so positions still match; a joint moving far from its rest
bone length (a floor-level root with moving hips) is not used to aim its parent. A bone whose track
length differs from the rig's by a constant (tracks of another performer) keeps the rig's length:
rotations only, as in retargeting. ``"exact"`` also translates those, so every joint lands on its
track; ``"off"`` keeps every bone rigid.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import Pose2RotError
from ..fk import global_to_local
from ..rotations import (axis_angle_to_matrix, best_fit_rotation, cross, norm, normalize, perpendicular,
                         rotation_between)
from ..skeleton import Skeleton
from ..solution import Solution
from ..tracks import Tracks
from ..tracks_io import check_root

TWIST_POLICIES = ("lookahead", "reference", "transport")
STRETCH_MODES = ("auto", "exact", "off")

#: weight of "stay near the reference local rotation" against "child near its reference"
REFERENCE_WEIGHT = 1.0
#: relative weight of the reference term that breaks ties at collinear branching joints
TIE_BREAK_WEIGHT = 1e-6
#: weight of the reference when a joint's only targets lie behind zero-length joints
CHAINED_WEIGHT = 0.1
#: a child whose distance to its parent deviates by more than this fraction of its rest length
#: (or which has no rest length but moves away) translates freely and does not aim its parent
FREE_TRANSLATION_FRACTION = 0.25
#: distance changes (fraction of the height) above which a child counts as stretching
STRETCH_FRACTION = 1e-3
#: continuity of the roll: blur width (seconds), sharpness of the confidence, weight of a frame's own roll
CONTINUITY_SECONDS = 0.1
#: where the roll is poorly conditioned it is low-passed over this many seconds (ramps, not jumps)
RAMP_SECONDS = 0.1
#: roll-objective confidence (0..1) below which a frame's own roll is not trusted / fully trusted;
#: for the smallest swing, 0.6 is a swing of about 78 degrees
TRUST_LOW = 0.0
TRUST_HIGH = 0.6
#: a child turning about its parent's bone faster than this shares the excess with the parent's roll
FAST_TURN_DEG_PER_S = 600.0
#: ... and the shared roll fades back over this
SHARE_SECONDS = 0.1


@dataclass(frozen=True)
class _Target:
    """An aim target of a joint: the point ``index`` (a joint, or an end site when ``is_end``)
    reached from the joint through the zero-length joints ``chain``."""

    index: int
    is_end: bool
    chain: tuple[int, ...]
    offset: np.ndarray  # [3] rest offset of the target from its parent (last of chain or the joint)


def solve_geometric(tracks: Tracks, twist_guess: np.ndarray | None = None, twist: str = "reference",
                    stretch: str = "auto", stretch_tolerance: float = 1e-5, use_ends: bool = True,
                    missing: np.ndarray | None = None, progress=None, share_fast_turns: bool = True) -> Solution:
    """Solve local rotations from (gap-free) tracks.

    tracks: positions [T,J,3] without NaN except joints listed in ``missing`` (all-NaN joints).
    twist_guess: optional [T,J,3,3] local rotations giving the per-frame twist (hybrid).
    twist: one of TWIST_POLICIES. stretch: one of STRETCH_MODES: "auto" (translate joints whose
    distance to the parent changes over the clip), "exact" (also joints whose track length differs
    from the rig's) or "off" (rigid bones; mismatches are only reported).
    share_fast_turns: a joint takes part of its child's turns about its bone that are faster than
    FAST_TURN_DEG_PER_S (off for smoothed tracks, whose frame-to-frame turns are partly noise).
    Returns a Solution with exact positions wherever bone lengths agree.
    """
    if twist not in TWIST_POLICIES:
        raise Pose2RotError(f"unknown twist policy '{twist}' (choose from {', '.join(TWIST_POLICIES)})")
    if stretch not in STRETCH_MODES:
        raise Pose2RotError(f"unknown stretch mode '{stretch}' (choose from {', '.join(STRETCH_MODES)})")
    skel = tracks.skeleton
    P = tracks.positions
    T, J = P.shape[:2]
    missing_mask = np.zeros(J, bool)
    if missing is not None:
        missing_mask[np.asarray(missing, np.int64)] = True
    check_root(tracks)
    if np.isnan(P[:, ~missing_mask]).any():
        raise Pose2RotError("geometric solver: positions contain NaN; fill gaps first (pose2rot_core.tracks_io.fill_gaps)")

    if twist_guess is not None:
        guess = np.asarray(twist_guess, np.float64)
        if guess.shape != (T, J, 3, 3):
            raise Pose2RotError(f"twist guess must be [{T},{J},3,3], got {list(guess.shape)}")
    elif tracks.reference_rotations is not None:
        guess = np.broadcast_to(tracks.reference_rotations, (T, J, 3, 3))
    else:
        guess = np.broadcast_to(np.eye(3), (T, J, 3, 3))

    report: list[str] = []
    height = skel.height
    offsets = skel.offsets
    bone_len = np.linalg.norm(offsets, axis=-1)
    dist = norm(P[:, 1:] - P[:, skel.parents[1:]])  # [T,J-1] track bone lengths
    mismatch = np.abs(dist - bone_len[None, 1:]).max(axis=0) if J > 1 else np.zeros(0)  # [J-1] vs the rig's
    translating, free = _classify_translation(skel, dist, mismatch, missing_mask, stretch, report)
    zero_len = (bone_len < 1e-6 * height) & ~translating
    zero_len[0] = False
    ends = _end_sites(tracks) if use_ends else []
    targets = _collect_targets(skel, zero_len, free, missing_mask, ends)

    G = np.empty((T, J, 3, 3))
    eye = np.broadcast_to(np.eye(3), (T, 3, 3))
    for j in range(J):
        parent = skel.parents[j]
        G_parent = eye if parent < 0 else G[:, parent]
        desired = _compose(G_parent, guess[:, j])  # orientation that keeps the reference local rotation
        primary, secondary = _split_targets(targets[j], translating)
        if not primary:
            G[:, j] = desired
        else:
            src = _sources(primary, guess)  # [T,n,3] in joint j's frame
            obs = _observed(primary, P, tracks, j)
            if len(primary) >= 2:
                M = _pairwise_alignment(obs, src)
                # targets behind zero-length joints need not be hit exactly (those joints aim
                # themselves): there the reference steadies a poorly conditioned fit
                chained = all(t.chain for t in primary)
                if chained or _collinear(src[0]):  # the fit leaves the roll about the common axis free
                    tie = desired * np.einsum("tni,tni->t", src, src)[:, None, None]
                    if secondary:
                        tie = tie + _alignment(_observed(secondary, P, tracks, j), _sources(secondary, guess))
                    M = M + (CHAINED_WEIGHT if chained else TIE_BREAK_WEIGHT) * tie
                G[:, j] = best_fit_rotation(M)
            else:
                extra = _alignment(_observed(secondary, P, tracks, j), _sources(secondary, guess)) if secondary else None
                G[:, j] = _aim_with_twist(j, src[:, 0], obs[:, 0], desired, primary[0], targets, translating, P,
                                          tracks, guess, twist, extra, bool(zero_len[j]), share_fast_turns)
        if progress is not None and (j % 8 == 7 or j == J - 1):
            progress((j + 1) / J, f"solved {j + 1}/{J} joints")

    R = global_to_local(skel, G)
    local_offsets = np.broadcast_to(offsets, (T, J, 3)).copy()
    local_offsets[:, 0] = P[:, 0]
    if J > 1:
        par = skel.parents[1:]
        seen = np.einsum("tjba,tjb->tja", G[:, par], P[:, 1:] - P[:, par])  # child offsets in parent frames
        if stretch != "off":
            # auto: offsets that change over the clip; exact: offsets that differ from the rig's
            expected = seen.mean(axis=0) if stretch == "auto" else offsets[1:]
            residual = norm(seen - expected).max(axis=0)
            valid = ~missing_mask[1:] & ~missing_mask[par]
            translating[1:] |= valid & (residual > stretch_tolerance * height)
        local_offsets[:, translating] = seen[:, translating[1:]]
    _report_length_mismatch(skel, mismatch, missing_mask, translating, report)
    return Solution(skeleton=skel, rotations=R, root_translation=P[:, 0].copy(), local_offsets=local_offsets,
                    translating=translating, report=report, solver="geometric")


def _compose(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A @ B for [T,3,3] stacks; a B constant over frames (a broadcast view) is one BLAS product."""
    if B.strides[0] == 0:
        return (np.ascontiguousarray(A).reshape(-1, 3) @ B[0]).reshape(A.shape)
    return A @ B


# --------------------------------------------------------------------------- structure
def _classify_translation(skel: Skeleton, dist: np.ndarray, mismatch: np.ndarray, missing: np.ndarray,
                          stretch: str, report: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(stretching [J], free [J]): joints whose distance to the parent changes over the clip (for
    "exact": differs from the rig's bone length) by more than STRETCH_FRACTION of the height (they do
    not aim their parent when rigid children can), and among them those that move too far from their
    rest bone length to aim their parent at all. dist [T,J-1]: track distance of every non-root joint
    to its parent; mismatch [J-1]: its largest difference from the rig's bone length."""
    J = skel.num_joints
    translating = np.zeros(J, bool)
    free = np.zeros(J, bool)
    if stretch == "off" or J < 2:
        return translating, free
    par = skel.parents[1:]
    rest = np.linalg.norm(skel.offsets[1:], axis=-1)
    dev = mismatch if stretch == "exact" else np.ptp(dist, axis=0)
    valid = ~missing[1:] & ~missing[par]
    translating[1:] = valid & (dev > STRETCH_FRACTION * skel.height)
    free[1:] = translating[1:] & (mismatch > FREE_TRANSLATION_FRACTION * np.maximum(rest, 1e-9))
    for j in np.where(free)[0]:
        report.append(f"joint '{skel.names[j]}' translates relative to '{skel.names[skel.parents[j]]}' "
                      f"(up to {mismatch[j - 1]:.4g} units from its rest bone length): its translation is solved per frame")
    n_stretch = int(translating.sum() - free.sum())
    if n_stretch:
        what = "differ from the rig's bone length" if stretch == "exact" else \
            "change their distance to the parent over the clip"
        report.append(f"{n_stretch} joints {what} (bone stretch, up to "
                      f"{100 * dev[(translating & ~free)[1:]].max() / skel.height:.3g} % of height): "
                      "their offsets are solved per frame so positions match (use stretch='off' for rigid bones)")
    return translating, free


def _end_sites(tracks: Tracks) -> list[tuple[int, int, np.ndarray]]:
    """[(end index, parent joint, rest offset)] for bone tips with data."""
    if not tracks.has_ends:
        return []
    ok = ~np.isnan(tracks.end_positions).any(axis=(0, 2))
    return [(k, int(p), tracks.end_rest_offsets[k]) for k, p in enumerate(tracks.end_parents) if ok[k]]


def _collect_targets(skel: Skeleton, zero_len: np.ndarray, free: np.ndarray, missing: np.ndarray,
                     ends: list[tuple[int, int, np.ndarray]]) -> list[list[_Target]]:
    """Aim targets of every joint: children with length (through zero-length children) and tips."""
    children = skel.children
    offsets = skel.offsets
    ends_of: dict[int, list[tuple[int, np.ndarray]]] = {}
    for k, p, off in ends:
        ends_of.setdefault(p, []).append((k, off))
    tips_min = 1e-6 * skel.height

    def gather(j: int, chain: tuple[int, ...]) -> list[_Target]:
        out: list[_Target] = []
        for c in children[j]:
            if free[c] or missing[c]:
                continue
            if zero_len[c]:
                out.extend(gather(c, chain + (c,)))
            else:
                out.append(_Target(c, False, chain, offsets[c]))
        for k, off in ends_of.get(j, []):
            if np.linalg.norm(off) > tips_min:
                out.append(_Target(k, True, chain, off))
        return out

    return [[] if missing[j] else gather(j, ()) for j in range(skel.num_joints)]


def _pairwise_alignment(obs: np.ndarray, src: np.ndarray) -> np.ndarray:
    """[T,3,3] Wahba matrix of targets ``src`` [T,n,3] (joint frame) seen at ``obs`` [T,n,3] (world),
    plus the normals of every pair of targets: the same optimum when the targets are consistent,
    but full rank even for two (or coplanar) targets, so the fast polar fit applies. Summing over
    all pairs keeps the fit independent of the order of the children."""
    a, b = np.triu_indices(obs.shape[1], 1)
    obs_all = np.concatenate([obs, cross(obs[:, a], obs[:, b])], 1)
    src_all = np.concatenate([src, cross(src[:, a], src[:, b])], 1)
    return np.einsum("tni,tnj->tij", obs_all, src_all)


def _collinear(src: np.ndarray, tol: float = 1e-3) -> bool:
    """True when the target offsets [n,3] all lie on one line (no rotation is determined about it)."""
    u = normalize(src)
    return bool(np.abs(cross(u[:, None], u[None])).max() < tol)


def _split_targets(targets: list[_Target], translating: np.ndarray) -> tuple[list[_Target], list[_Target]]:
    """(primary, secondary) targets. Primary: direct rigid children and tips, which the joint must
    hit exactly; secondary (reached through zero-length joints, or stretching) only inform the roll
    — unless there is no primary target, then they aim the joint."""
    direct = [t for t in targets if not t.chain and (t.is_end or not translating[t.index])]
    others = [t for t in targets if t not in direct]
    return (direct, others) if direct else (others, [])


def _point(P: np.ndarray, tracks: Tracks, t: _Target) -> np.ndarray:
    return tracks.end_positions[:, t.index] if t.is_end else P[:, t.index]


def _observed(targets: list[_Target], P: np.ndarray, tracks: Tracks, j: int) -> np.ndarray:
    """[T,n,3] world vectors from joint j to its targets."""
    return np.stack([_point(P, tracks, t) for t in targets], 1) - P[:, j, None]


def _alignment(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """[T,3,3] mean of unit(u) unit(v)^T over targets: the term rewarding G v ~ u."""
    return np.einsum("tni,tnj->tij", normalize(u), normalize(v)) / u.shape[1]


def _sources(targets: list[_Target], guess: np.ndarray) -> np.ndarray:
    """[T,n,3] target offsets in the aiming joint's frame, zero-length joints at their guess rotation."""
    cols = []
    for t in targets:
        v = np.broadcast_to(t.offset, (guess.shape[0], 3))
        for z in reversed(t.chain):
            v = np.einsum("tab,tb->ta", guess[:, z], v)
        cols.append(v)
    return np.stack(cols, 1)


# --------------------------------------------------------------------------- twist
def _aim_with_twist(j: int, src: np.ndarray, obs: np.ndarray, desired: np.ndarray, aimed: _Target,
                    targets: list[list[_Target]], translating: np.ndarray, P: np.ndarray, tracks: Tracks,
                    guess: np.ndarray, twist: str, extra: np.ndarray | None, zero_length: bool,
                    share_fast_turns: bool) -> np.ndarray:
    """Global orientation [T,3,3] taking ``src`` (joint frame) onto ``obs`` (world) exactly, with the
    roll about the bone chosen by the twist policy. ``extra``: alignment terms of secondary targets."""
    s_hat = normalize(src)
    d_hat = normalize(obs)
    # smallest swing from the desired (reference) orientation: roll angle 0
    from_dir = np.einsum("tab,tb->ta", desired, s_hat)
    base = rotation_between(from_dir, d_hat) @ desired
    if twist == "transport":
        return axis_angle_to_matrix(d_hat, _transport_roll(base, s_hat, d_hat, tracks.reference_frame)) @ base
    if twist == "lookahead" and not zero_length:
        M = REFERENCE_WEIGHT * desired + _child_term(aimed, targets, translating, P, tracks, guess)
        bound = 2.0 * REFERENCE_WEIGHT + 1.0  # a mean of unit alignments adds at most 1
        if extra is not None:
            M, bound = M + extra, bound + 1.0
        phi, strength = _best_roll(M, base, d_hat)
        confidence = strength / bound
    else:  # the smallest swing itself; its roll is ill-defined as the swing nears a half turn
        phi = np.zeros(len(base))
        confidence = 0.5 * (1.0 + np.einsum("ta,ta->t", from_dir, d_hat))
    trust = _trust(confidence)
    if tracks.reference_frame is not None:
        trust[tracks.reference_frame] = 1.0  # the reference pose itself is exact there
    if trust.min() < 1.0:
        carried = _transport_roll(base, s_hat, d_hat, tracks.reference_frame)
        carried = carried + _shared_carried_roll(carried, base, s_hat, aimed, targets, P, tracks, guess)
        phi = carried + _continuous_roll(phi - carried, trust, tracks.fps)
    if share_fast_turns and not zero_length:
        phi = phi + _shared_fast_roll(phi, trust, base, s_hat, aimed, targets, P, tracks, guess)
    if not phi.any():
        return base
    return axis_angle_to_matrix(d_hat, phi) @ base


def _trust(confidence: np.ndarray) -> np.ndarray:
    """[T] 1 where the roll objective is well conditioned, 0 where it is degenerate (smoothstep)."""
    x = np.clip((confidence - TRUST_LOW) / (TRUST_HIGH - TRUST_LOW), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _continuous_roll(psi: np.ndarray, trust: np.ndarray, fps: float) -> np.ndarray:
    """Roll [T] (radians, relative to the transported frame) kept where ``trust`` [T] (0..1) is 1
    and taken from well-conditioned neighbouring frames where it is low (a bone passing the
    opposite of its reference direction); the remaining jump is turned into a lag-free ramp."""
    z = trust * np.exp(1j * psi)
    sigma = max(1.0, CONTINUITY_SECONDS * fps)
    blurred = _gaussian_blur(z, sigma)
    kept = np.unwrap(np.angle(z + (1.0 - trust) * blurred + 1e-12 * np.exp(1j * psi)))
    ramp = _gaussian_blur(kept, max(1.0, RAMP_SECONDS * fps))
    return trust * kept + (1.0 - trust) * ramp


def _gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Approximate Gaussian blur along axis 0 by three box filters (edges padded by reflection)."""
    r = max(1, int(round(np.sqrt(12.0 * sigma * sigma / 3.0 + 1.0) / 2.0)))
    for _ in range(3):
        pad = np.concatenate([x[r:0:-1], x, x[-2:-r - 2:-1]]) if x.shape[0] > r + 1 else np.pad(x, (r, r), mode="edge")
        c = np.concatenate([[0], np.cumsum(pad)])
        x = (c[2 * r + 1:] - c[:-2 * r - 1]) / (2 * r + 1)
    return x


def _child_turns(phi: np.ndarray, base: np.ndarray, s_hat: np.ndarray, aimed: _Target,
                 targets: list[list[_Target]], P: np.ndarray, tracks: Tracks, guess: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """How the targets of the child a joint aims turn about the joint's bone, with the joint at roll
    ``phi`` [T] about it: (turn [T-1] radians between frames, their mean direction ``seen`` [T,3]
    and its reference direction ``ref_dir`` [T,3], both in the joint's frame); None when the child
    has no targets."""
    if base.shape[0] < 2 or aimed.is_end or not targets[aimed.index]:
        return None
    c = aimed.index
    sub = targets[c]
    to_child = np.broadcast_to(np.eye(3), (base.shape[0], 3, 3))
    for z in aimed.chain + (c,):
        to_child = to_child @ guess[:, z]
    ref_dir = normalize(np.einsum("tab,tnb->ta", to_child, normalize(_sources(sub, guess))))
    # base^T Rot(d, -phi) u: the targets' world direction u seen from the joint at roll phi
    d = np.einsum("tab,tb->ta", base, s_hat)
    u = normalize(_observed(sub, P, tracks, c)).sum(1)
    cos, sin = np.cos(phi)[:, None], np.sin(phi)[:, None]
    u = cos * u - sin * cross(d, u) + (1.0 - cos) * np.einsum("ta,ta->t", d, u)[:, None] * d
    seen = normalize(np.einsum("tba,tb->ta", base, u))
    return _signed_angle(seen[:-1], seen[1:], s_hat[1:]), seen, ref_dir


def _shared_carried_roll(carried: np.ndarray, base: np.ndarray, s_hat: np.ndarray, aimed: _Target,
                         targets: list[list[_Target]], P: np.ndarray, tracks: Tracks, guess: np.ndarray
                         ) -> np.ndarray:
    """Roll [T] added to a carried roll so that the joint shares every turn of its child's targets
    about the bone: per frame the split minimising (own roll step)^2 + (child's step)^2, the child
    turning about 2 sin(theta/2) per radian at a bend theta from its reference. Without it a carried
    roll leaves every such turn (a wrist flick) to the child. Zero at the reference frame."""
    found = _child_turns(carried, base, s_hat, aimed, targets, P, tracks, guess)
    if found is None:
        return np.zeros(base.shape[0])
    turn, seen, ref_dir = found
    cos_bend = np.clip(np.einsum("ta,ta->t", seen, ref_dir), -1.0, 1.0)
    w = 2.0 * (1.0 - 0.5 * (cos_bend[1:] + cos_bend[:-1]))  # (2 sin(theta/2))^2, mid-step
    along = np.abs(np.einsum("ta,ta->t", seen, s_hat))
    w = w * (along[1:] < 0.999) * (along[:-1] < 0.999)  # no turn to speak of on the bone axis
    phi = np.concatenate([[0.0], np.cumsum(w / (1.0 + w) * turn)])
    return phi - phi[0 if tracks.reference_frame is None else tracks.reference_frame]


def _shared_fast_roll(phi: np.ndarray, trust: np.ndarray, base: np.ndarray, s_hat: np.ndarray, aimed: _Target,
                      targets: list[list[_Target]], P: np.ndarray, tracks: Tracks, guess: np.ndarray
                      ) -> np.ndarray:
    """Roll [T] added to a joint's roll ``phi`` so that the joint shares the part of its child's turns
    about the bone faster than FAST_TURN_DEG_PER_S (a forearm pronating while the paw follows),
    split as in :func:`_shared_carried_roll` with the child's bend measured from the bone axis, in
    frames where the joint's own roll is trusted (``trust`` [T]; elsewhere it is carried and shared
    already); the shared roll fades back over SHARE_SECONDS, so slower turns stay as the twist
    policy has them. Zero at the reference frame."""
    T = base.shape[0]
    found = _child_turns(phi, base, s_hat, aimed, targets, P, tracks, guess)
    if found is None:
        return np.zeros(T)
    turn, seen, _ = found
    # (2 sin(theta/2))^2 for the angle theta to the nearer end of the bone axis: no turn to speak of
    # along the axis, either way
    across = 2.0 * (1.0 - np.abs(np.einsum("ta,ta->t", seen, s_hat)))
    w = np.minimum(across[1:], across[:-1])
    limit = np.radians(FAST_TURN_DEG_PER_S) / tracks.fps
    step = w / (1.0 + w) * np.sign(turn) * np.maximum(np.abs(turn) - limit, 0.0) * np.minimum(trust[1:], trust[:-1])
    decay = np.exp(-1.0 / max(1.0, SHARE_SECONDS * tracks.fps))
    anchor = 0 if tracks.reference_frame is None else tracks.reference_frame
    out = np.zeros(T)
    out[anchor + 1:] = _leaky_sum(step[anchor:], decay)
    out[:anchor] = -_leaky_sum(step[:anchor][::-1], decay)[::-1]
    return out


def _leaky_sum(x: np.ndarray, decay: float) -> np.ndarray:
    """y_t = sum_{s<=t} decay^(t-s) x_s for x [N] (truncated where the weight falls below 1e-6)."""
    if len(x) == 0:
        return x
    taps = decay ** np.arange(min(len(x), int(np.ceil(np.log(1e-6) / np.log(decay))) + 1))
    return np.convolve(x, taps)[:len(x)]


def _child_term(aimed: _Target, targets: list[list[_Target]], translating: np.ndarray, P: np.ndarray,
                tracks: Tracks, guess: np.ndarray) -> np.ndarray:
    """[T,3,3] alignment of the aimed child's own targets as seen with the child at its reference
    local rotation (in this joint's frame) with where they are (world)."""
    T = P.shape[0]
    if aimed.is_end or not targets[aimed.index]:
        return np.zeros((T, 3, 3))
    c = aimed.index
    chain_rot = np.broadcast_to(np.eye(3), (T, 3, 3))
    for z in aimed.chain:
        chain_rot = chain_rot @ guess[:, z]
    to_child = chain_rot @ guess[:, c]
    sub = targets[c]
    v = np.einsum("tab,tnb->tna", to_child, _sources(sub, guess))
    return _alignment(_observed(sub, P, tracks, c), v)


def _best_roll(M: np.ndarray, base: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(phi [T], amplitude [T]): the angle maximising tr((Rot(axis, phi) @ base)^T M) and how
    strongly the objective prefers it (0: any roll is as good)."""
    N = M @ np.swapaxes(base, -1, -2)
    # f(phi) = tr(Rot(phi)^T N) = C + A cos(phi) + B sin(phi)
    trN = np.einsum("tii->t", N)
    aNa = np.einsum("ti,tij,tj->t", axis, N, axis)
    A = trN - aNa
    # sin coefficient: tr(K^T N) with K the cross-product matrix of axis
    B = (axis[:, 0] * (N[:, 2, 1] - N[:, 1, 2]) + axis[:, 1] * (N[:, 0, 2] - N[:, 2, 0])
         + axis[:, 2] * (N[:, 1, 0] - N[:, 0, 1]))
    amplitude = np.sqrt(A * A + B * B)
    return np.where(amplitude < 1e-12, 0.0, np.arctan2(B, A)), amplitude


def _transport_roll(base: np.ndarray, s_hat: np.ndarray, d_hat: np.ndarray, ref_frame: int | None) -> np.ndarray:
    """Roll angles [T] that carry the orientation frame to frame by the smallest swing, relative to
    ``base``, anchored (phi = 0) at the reference frame (frame 0 without one)."""
    T = base.shape[0]
    if T < 2:
        return np.zeros(T)
    # a direction across the bone, fixed in the joint frame, seen at t-1 and swung onto d(t), against
    # where it is at t: the roll of base(t) relative to the transported frame
    e = perpendicular(s_hat[1:])
    before = _swing_vector(d_hat[:-1], d_hat[1:], np.einsum("tab,tb->ta", base[:-1], e))
    now = np.einsum("tab,tb->ta", base[1:], e)
    step = _signed_angle(now, before, d_hat[1:])
    phi = np.concatenate([[0.0], np.cumsum(step)])
    anchor = 0 if ref_frame is None else ref_frame
    return phi - phi[anchor]


def _swing_vector(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """[T,3]: x turned by the smallest rotation taking unit a onto unit b (x unchanged where a and b
    are opposite: any turn is as small)."""
    c = np.einsum("ti,ti->t", a, b)
    w = cross(a, b)
    k = np.where(1.0 + c > 1e-10, 1.0 / np.maximum(1.0 + c, 1e-10), 0.0)
    turned = c[:, None] * x + cross(w, x) + (k * np.einsum("ti,ti->t", w, x))[:, None] * w
    return np.where((1.0 + c > 1e-10)[:, None], turned, x)


def _signed_angle(u: np.ndarray, v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """[T] angle (radians) turning u onto v about the unit axis [T,3] (their parts across it)."""
    ua = np.einsum("ti,ti->t", u, axis)
    va = np.einsum("ti,ti->t", v, axis)
    return np.arctan2(np.einsum("ti,ti->t", axis, cross(u, v)), np.einsum("ti,ti->t", u, v) - ua * va)


def _report_length_mismatch(skel: Skeleton, mismatch: np.ndarray, missing: np.ndarray, translating: np.ndarray,
                            report: list[str]) -> None:
    """Note rigid bones whose track distance differs from the rest bone length (``mismatch`` [J-1])."""
    if skel.num_joints < 2:
        return
    par = skel.parents[1:]
    dev = mismatch / skel.height
    bad = [j + 1 for j in np.where((dev > 1e-3) & ~translating[1:] & ~missing[1:] & ~missing[par])[0]]
    if bad:
        worst = max(bad, key=lambda j: dev[j - 1])
        report.append(f"{len(bad)} bones differ from their rest length (worst '{skel.names[worst]}': "
                      f"{100 * dev[worst - 1]:.3g} % of height): they keep the rig's bone length, so those "
                      "joints follow the rig, not their tracks (stretch 'exact' translates them onto the tracks)")

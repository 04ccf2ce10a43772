"""Joints with one aim target: point the bone at it exactly; the roll about the bone, which
positions cannot give, follows the twist policy.

- ``swing``: the smallest swing from the reference local rotation, frame by frame (the plain
  baseline: its roll is undefined where the swing nears a half turn, so it can flip there).
- ``reference``: the same, but where the swing nears a half turn (the bone passing the
  opposite of its reference direction) the roll is carried from well-conditioned neighbouring
  frames by parallel transport, handing over smoothly (no jumps).
- ``lookahead`` (default): the roll most likely when the joint and the child it aims at each turn
  away from their reference local rotations about as far as their bones swing over the clip: a joint that
  hardly moves under a swinging child (a clavicle under the upper arm) keeps its reference roll,
  one that moves as much as its child (an upper arm over a bending forearm) turns its roll so the
  child bends near its reference plane; carried the same way where that is degenerate.
- ``transport``: the roll carried frame to frame by the smallest swing (parallel transport),
  anchored at the reference frame; never flips but drifts over long clips.
"""
from __future__ import annotations

import numpy as np

from ...rotations import axis_angle_to_matrix, cross, normalize, perpendicular, rotation_between
from ...stacks import dot, mat_mul, mat_mul_t, mat_t_mul, mat_t_vec, mat_vec, outer_sum
from .fit import smoothstep
from .problem import Problem, Target, box_filter

#: continuity of the roll: blur width (seconds) of the neighbouring frames it is carried from
CONTINUITY_SECONDS = 0.1
#: where the roll is poorly conditioned it is low-passed over this many seconds (ramps, not jumps)
RAMP_SECONDS = 0.1
#: roll-objective confidence (0..1) at or above which a frame's own roll is fully trusted; for the
#: smallest swing, 0.6 is a swing of about 78 degrees
TRUST_HIGH = 0.6
#: (lookahead) the smallest typical turn away from the reference a joint is credited with, as
#: 1 - cos(angle) of about 2 degrees: a bone that never swings is stiff, not infinitely so
MIN_DEVIATION = 1.0 - np.cos(np.radians(2.0))


def aim_with_roll(problem: Problem, joint: int, src: np.ndarray, obs: np.ndarray, desired: np.ndarray,
                  aimed: Target) -> np.ndarray:
    """Global orientation [T,3,3] of ``joint`` taking the direction ``src`` (joint frame) onto
    ``obs`` (world), both [T,3], exactly, with the roll about the bone chosen by the twist policy.
    ``desired`` [T,3,3]: the orientation that keeps the reference local rotation; ``aimed``: the
    target whose child may inform the roll (lookahead)."""
    s_hat, d_hat = normalize(src), normalize(obs)
    from_dir = mat_vec(desired, s_hat)
    base = mat_mul(rotation_between(from_dir, d_hat), desired)  # smallest swing: roll angle 0
    ref = problem.tracks.reference_frame
    if problem.twist == "swing":
        return base
    if problem.twist == "transport":
        return mat_mul(axis_angle_to_matrix(d_hat, _carried_roll(problem, joint, base, s_hat, d_hat, desired)), base)
    if problem.twist == "lookahead" and not problem.zero_length[joint]:
        phi, confidence = lookahead_roll(problem, aimed, base, desired, d_hat, dot(from_dir, d_hat))
    else:
        phi = np.zeros(len(base))
        confidence = 0.5 * (1.0 + dot(from_dir, d_hat))
    trust = smoothstep(confidence / TRUST_HIGH)
    if ref is not None:
        trust[ref] = 1.0  # the reference pose itself is exact there
    if trust.min() < 1.0:
        carried = _carried_roll(problem, joint, base, s_hat, d_hat, desired)
        phi = carried + continuous_roll(phi - carried, trust, problem.tracks.fps)
    if not phi.any():
        return base
    return mat_mul(axis_angle_to_matrix(d_hat, phi), base)


def _carried_roll(problem: Problem, joint: int, base: np.ndarray, s_hat: np.ndarray, d_hat: np.ndarray,
                  desired: np.ndarray) -> np.ndarray:
    """Roll [T] relative to ``base`` that carries the joint's orientation frame to frame by the
    smallest swing as seen from its parent (so a parent turning about its own bone takes the child
    along instead of leaving it behind), anchored at the reference frame."""
    parent = mat_mul_t(desired, problem.guess[:, joint])  # desired = parent @ reference local rotation
    return transport_roll(mat_t_mul(parent, base), s_hat, mat_t_vec(parent, d_hat), problem.tracks.reference_frame)


def continuous_roll(psi: np.ndarray, trust: np.ndarray, fps: float) -> np.ndarray:
    """Roll [T] (radians, relative to the transported frame) kept where ``trust`` [T] (0..1) is 1
    and taken from well-conditioned neighbouring frames where it is low; the remaining jump is
    turned into a lag-free ramp."""
    unit = np.exp(1j * psi)
    z = trust * unit
    blurred = gaussian_blur(z, max(1.0, CONTINUITY_SECONDS * fps))
    kept = np.unwrap(np.angle(z + (1.0 - trust) * blurred + 1e-12 * unit))
    ramp = gaussian_blur(kept, max(1.0, RAMP_SECONDS * fps))
    return trust * kept + (1.0 - trust) * ramp


def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Approximate Gaussian blur along axis 0 by three box filters (edges padded by reflection)."""
    r = max(1, int(round(np.sqrt(12.0 * sigma * sigma / 3.0 + 1.0) / 2.0)))
    for _ in range(3):
        x = box_filter(x, 2 * r + 1)
    return x


def lookahead_roll(problem: Problem, aimed: Target, base: np.ndarray, desired: np.ndarray, axis: np.ndarray,
                   swing_cos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(phi [T], confidence [T] 0..1): the roll about the bone direction ``axis`` [T,3] (world),
    relative to the smallest swing ``base`` [T,3,3], most likely when the joint and its aimed child
    each turn away from their reference (``desired`` [T,3,3]; the child at its reference local
    rotation) by Gaussian amounts whose per-axis variance is the mean over the clip of 1 - cos of
    their bone's swing (``swing_cos`` [T]: the joint's own bone against its reference direction).
    A roll phi costs the joint phi^2 / 2s^2; tr(R^T desired) loses phi^2, a unit alignment of the
    child's targets loses alpha^2 / 2: hence the weights 1/2s^2 and 1/s^2. A joint whose bone stays
    put is stiff, and only a child that moves about as much can turn it."""
    child = child_alignment(problem, aimed, base)
    w_self = 0.5 / max(float(np.mean(1.0 - swing_cos)), MIN_DEVIATION)
    M, total = w_self * desired, 2.0 * w_self  # a rotation's alignment with itself is at most 2 away from -1
    if child is not None:
        w_child = 1.0 / max(child[1], MIN_DEVIATION)
        M, total = M + w_child * child[0], total + w_child  # a mean of unit alignments adds at most 1
    phi, strength = best_roll(M, base, axis)
    return phi, strength / total


def child_alignment(problem: Problem, aimed: Target, base: np.ndarray) -> tuple[np.ndarray, float] | None:
    """([T,3,3] alignment of the aimed child's own targets as seen with the child at its reference
    local rotation (in the aiming joint's frame) with where they are (world); the mean of
    1 - cos of their angle with the aiming joint at ``base`` [T,3,3]), or None where the aimed
    point has no targets of its own."""
    if aimed.is_end or not problem.targets[aimed.index]:
        return None
    c = aimed.index
    to_child = problem.reference_product(aimed.chain + (c,))
    sub = problem.targets[c]
    v = normalize(mat_vec(to_child[..., None, :, :], problem.sources(sub)))
    u = normalize(problem.observed(sub, c))
    deviation = float(np.mean(1.0 - dot(u, mat_vec(base[:, None], v))))
    return outer_sum(u, v) / u.shape[1], deviation


def best_roll(M: np.ndarray, base: np.ndarray, axis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(phi [T], amplitude [T]): the angle maximising tr((Rot(axis, phi) @ base)^T M) and how
    strongly the objective prefers it (0: any roll is as good)."""
    N = mat_mul_t(M, base)
    # f(phi) = tr(Rot(phi)^T N) = C + A cos(phi) + B sin(phi)
    A = N[:, 0, 0] + N[:, 1, 1] + N[:, 2, 2] - dot(axis, mat_vec(N, axis))
    B = (axis[:, 0] * (N[:, 2, 1] - N[:, 1, 2]) + axis[:, 1] * (N[:, 0, 2] - N[:, 2, 0])
         + axis[:, 2] * (N[:, 1, 0] - N[:, 0, 1]))
    amplitude = np.sqrt(A * A + B * B)
    return np.where(amplitude < 1e-12, 0.0, np.arctan2(B, A)), amplitude


def transport_roll(base: np.ndarray, s_hat: np.ndarray, d_hat: np.ndarray, ref_frame: int | None) -> np.ndarray:
    """Roll angles [T] that carry the orientation frame to frame by the smallest swing, relative to
    ``base``, anchored (phi = 0) at the reference frame (frame 0 without one)."""
    T = base.shape[0]
    if T < 2:
        return np.zeros(T)
    # a direction across the bone, fixed in the joint frame, seen at t-1 and swung onto d(t), against
    # where it is at t: the roll of base(t) relative to the transported frame
    e = perpendicular(s_hat[1:])
    before = swing_vector(d_hat[:-1], d_hat[1:], mat_vec(base[:-1], e))
    now = mat_vec(base[1:], e)
    phi = np.concatenate([[0.0], np.cumsum(signed_angle(now, before, d_hat[1:]))])
    return phi - phi[0 if ref_frame is None else ref_frame]


def swing_vector(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """[T,3]: x turned by the smallest rotation taking unit a onto unit b (x unchanged where a and b
    are opposite: any turn is as small)."""
    c = dot(a, b)
    w = cross(a, b)
    ok = 1.0 + c > 1e-10
    k = np.where(ok, 1.0 / np.maximum(1.0 + c, 1e-10), 0.0)
    turned = c[:, None] * x + cross(w, x) + (k * dot(w, x))[:, None] * w
    return np.where(ok[:, None], turned, x)


def signed_angle(u: np.ndarray, v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """[T] angle (radians) turning u onto v about the unit axis [T,3] (their parts across it)."""
    return np.arctan2(dot(axis, cross(u, v)), dot(u, v) - dot(u, axis) * dot(v, axis))

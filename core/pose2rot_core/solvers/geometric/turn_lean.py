"""A joint's noisy targets leaned on its parent: one by one, or through the turn they share.

Leaned one by one (lean.wiener_lean), each of a joint's target directions keeps the share of its
way from its held mean that its own noise leaves it; the best fit over them then averages what
each kept. Where three or more targets rigid to the joint over-determine its turn (a hand over
five finger roots, hips over a spine and two thighs), that throws away what they tell together:
a wrist flicked in a few frames moves every finger root alike, and each alone, as noisy as it
is, keeps a third of it, so the hand lags and the fingertips end 3.5 % of the height off (a
Character Creator clip at 0.5 % jitter). Here the turn that takes the held means towards the observed
directions is estimated first, as the most likely turn given its noise and what such turns show
beyond it, axis by axis about the principal axes of its noise (a Wiener estimate solved on
rotations, a few Gauss-Newton steps): the targets' noise pools as their lever arms about each
axis give it, less the joint's own noise, which all its vectors share and which moves them alike
(Woodbury: the weight matrix is ``diag(w) - c w w^T``, ``w`` the targets' inverse variances, ``c``
one over the sum of the joint's inverse variance and theirs). A turn about an axis the targets
fix together is kept as far as it shows beyond their pooled noise; one about an axis they hardly
fix (their common line) is held. Each target then keeps, of its way from where that turn puts
its held mean, the share the single-direction rule keeps. With two targets (a bone and its share
or helper bone) the turn is fixed with one reading to spare, and a shared turn follows that
reading's noise into the roll: they lean one by one. So do targets reached through zero-length
joints (a chest over its neck and collars, all at its end), which turn on their own: their motion
is no turn of the joint.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...rotations import best_fit_rotation, norm, normalize, rotation_about, rotation_vector
from ...running import window_frames
from ...stacks import mat_mul, mat_t_vec, mat_vec
from .lean import LEAN_SECONDS, lean_prior, shown_per_axis, wiener_lean, wiener_share

if TYPE_CHECKING:
    from .problem import Problem, Target

#: a joint with at least this many targets leans them through the turn they share
POOLED_TARGETS = 3
#: Gauss-Newton steps of the shared turn, from the targets' best-fit rotation
TURN_STEPS = 3
#: the variance (radians squared) a turn's motion is read at least (a microradian) and at most
#: (no turn varies by more than a half turn)
TURN_VAR_RANGE = (1e-12, np.pi ** 2)


def lean_on_parent(problem: Problem, j: int, targets: list[Target], src: np.ndarray, obs: np.ndarray,
                   desired: np.ndarray, parent_frame: np.ndarray | None) -> np.ndarray:
    """Observed vectors [T,n,3] from joint ``j`` to its ``targets`` (``obs`` [T,n,3], rest offsets
    ``src`` [T|1,n,3]) leaned on the parent (``parent_frame`` [T,3,3]; None: the world), each held
    mean pulled towards where ``desired`` [T,3,3] (the reference local rotation) puts it: one by one
    (lean.wiener_lean), or, from POOLED_TARGETS targets rigid to the joint (Problem.rigid) on,
    through the turn they share (see the module).
    A bone much longer than the noise follows its track; one shorter than the noise (a tooth, a
    fingertip) holds the reference while it moves within the noise."""
    n = len(targets)
    frames = None if parent_frame is None else parent_frame[:, None]
    prior = lean_prior(problem, np.full(n, problem.offset_var(j, targets)),
                       np.full(n, problem.independent_frames(j, targets)), src, obs, desired[:, None], frames,
                       np.full(n, j))
    if n < POOLED_TARGETS or not all(problem.rigid(t) for t in targets):
        return wiener_lean(prior, obs, frames)
    own = float(problem.noise_var[j])
    noise = TurnNoise.of(own, np.array([problem.offset_var(j, [t]) for t in targets]) - own)
    keep = wiener_share(prior.shown, prior.n2)
    return lean_together(prior.mean, prior.d, keep, obs, frames, noise,
                         window_frames(LEAN_SECONDS, problem.tracks.fps), problem.pieces_of(j))


@dataclass(frozen=True)
class TurnNoise:
    """How the noise of a joint's n target vectors weighs them: the targets' inverse noise
    variances ``w`` [n] (per axis, file units squared) and the share ``shared`` by which the joint's
    own noise, common to every vector, is taken out: weight matrix ``diag(w) - shared w w^T``."""

    w: np.ndarray
    shared: float

    @classmethod
    def of(cls, own_var: float, target_var: np.ndarray) -> TurnNoise:
        """The weights of targets with noise variances ``target_var`` [n] seen from a joint with
        ``own_var`` (each floored at 1e-12 of the largest, so a noiseless end does not divide by 0)."""
        floor = 1e-12 * max(float(np.max(target_var)), own_var, 1e-300)
        w = 1.0 / np.maximum(target_var, floor)
        return cls(w, 1.0 / (1.0 / max(own_var, floor) + float(w.sum())))

    def normal(self, e: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(information [T,3,3], pull [T,3]) of a small turn ``delta`` that moves the vectors ``e``
        [T,n,3] by ``r`` [T,n,3] (``r ~ delta x e``): the Gauss-Newton normal equations."""
        w = self.w[:, None]
        g, h = (w * e).sum(axis=-2), (w * r).sum(axis=-2)
        info = (w[..., None] * _cross_square(e)).sum(axis=-3) - self.shared * _cross_square(g)
        return info, (w * np.cross(e, r)).sum(axis=-2) - self.shared * np.cross(g, h)


def lean_together(mean: np.ndarray, d: np.ndarray, keep: np.ndarray, obs: np.ndarray,
                  parent_frame: np.ndarray | None, noise: TurnNoise, width: int, pieces: list[slice]) -> np.ndarray:
    """[T,n,3] the observed vectors ``obs`` [T,n,3] of one joint leaned through their shared turn:
    held means ``mean`` [1|T,n,3] and observed unit directions ``d`` [T,n,3] (both in the parent's
    frame, ``parent_frame`` [T,1,3,3]; None: the world), each target's own Wiener share ``keep``
    [T,n], their ``noise``, and the ``width`` frames (``pieces`` of the clip) its motion is read
    over (see the module)."""
    m = np.broadcast_to(mean, d.shape)
    length = norm(obs)[..., None]
    held, seen = m * length, d * length
    precision = _turn_precision(held, seen, noise, width, pieces)
    start = best_fit_rotation((noise.w[:, None, None] * (d[..., :, None] * m[..., None, :])).sum(axis=-3))
    turn = _likeliest_turn(held, seen, noise, precision, start)
    rest = mat_t_vec(turn[:, None], d) - m  # each target's way from where the turn puts its held mean
    lean = normalize(mat_vec(turn[:, None], m + keep[..., None] * rest), 1e-300)
    if parent_frame is not None:
        lean = mat_vec(parent_frame, lean)
    return lean * length


def _turn_precision(held: np.ndarray, seen: np.ndarray, noise: TurnNoise, width: int,
                    pieces: list[slice]) -> np.ndarray:
    """[T,3,3] the prior precision of the turn taking the vectors ``held`` [T,n,3] towards ``seen``
    [T,n,3]: about each principal axis of its noise, one over the variance that the small turn
    fitted to them shows beyond that noise (lean.shown_per_axis, about its mean over each of the
    clip's ``pieces``)."""
    info, pull = noise.normal(held, seen - held)
    lam, axes = np.linalg.eigh(info)  # [T,3], [T,3,3]: columns the principal axes
    lam = np.maximum(lam, 1e-12 * lam[..., -1:])
    along = np.einsum('tka,tk->ta', axes, pull) / lam  # the fitted turn about each axis
    moves = along - _piece_means(along, pieces)
    shown = np.clip(shown_per_axis(moves * moves, 1.0 / lam, width), *TURN_VAR_RANGE)
    return np.einsum('tka,ta,tla->tkl', axes, 1.0 / shown, axes)


def _likeliest_turn(held: np.ndarray, seen: np.ndarray, noise: TurnNoise, precision: np.ndarray,
                    start: np.ndarray) -> np.ndarray:
    """[T,3,3] the turn most likely to take ``held`` [T,n,3] to ``seen`` [T,n,3] under a prior of
    ``precision`` [T,3,3] on its rotation vector: TURN_STEPS Gauss-Newton steps from ``start``."""
    turn = start
    for _ in range(TURN_STEPS):
        e = mat_vec(turn[:, None], held)
        info, pull = noise.normal(e, seen - e)
        pull = pull - mat_vec(precision, rotation_vector(turn))
        step = _solved(info + precision, pull)
        turn = mat_mul(rotation_about(normalize(step, 1e-300), norm(step)), turn)
    return turn


def _solved(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[T,3] x with ``A`` x = ``b`` (``A`` [T,3,3] symmetric, ``b`` [T,3]); through the pseudo-inverse
    where some frame's ``A`` is singular in float64: targets that all lie on one line from the joint
    (a source's finger roots on one point) leave the turn about that line to the prior alone, which
    target weights 1e12 apart swamp (the MakeHuman walk's hand onto a CMU rig stopped the solve with
    a singular matrix); the pseudo-inverse does not turn about that line there."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        return (np.linalg.pinv(A, hermitian=True) @ b[..., None])[..., 0]


def _cross_square(v: np.ndarray) -> np.ndarray:
    """[...,3,3] ``[v]x^T [v]x = |v|^2 I - v v^T`` of vectors ``v`` [...,3]."""
    return (v * v).sum(-1)[..., None, None] * np.eye(3) - v[..., :, None] * v[..., None, :]


def _piece_means(x: np.ndarray, pieces: list[slice]) -> np.ndarray:
    """[T|1,...] the mean of ``x`` [T,...] over the clip, or over each of its ``pieces``."""
    if not pieces:
        return x.mean(axis=0, keepdims=True)
    return np.concatenate([np.broadcast_to(x[p].mean(axis=0, keepdims=True), x[p].shape) for p in pieces])

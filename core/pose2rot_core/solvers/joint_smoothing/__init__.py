"""One smoothing of a noisy clip's rotations over time and down the chain together.

After the tracks were smoothed and solved, every active joint's local rotation and the root's
position in every frame are estimated jointly, by Levenberg–Marquardt steps from that solution,
minimising the tracks' misses over their noise plus the turns' (and the root's moves') second
differences over time plus each rotation's spread about its mean (points, prior):
``Σ ρ(|FK(θ)ₜₚ - yₜₚ|_wΣ⁻¹) + Σ ρ(|dₜⱼ|_Qⱼ⁻¹) + Σ zₜⱼᵀ Pⱼ⁻¹ zₜⱼ``, ρ Huber's loss. The tracks ``y``
are those as given (gaps, spikes and swaps put right; filled samples weigh 0) with the noise the
cleaning read, which is white; the scales Q and P are read from the clip (scales). A filter of
each rotation over time leaves errors that add up down the chain; this estimate weighs each
rotation's share of every point below it. Active joints: those whose turn moves a tracked point.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ...rotations import from_rotation_vector, rotation_vector
from ...kernels import chi_square_beyond
from ...safety import AXES_STDS
from ...skeleton import ZERO_LENGTH
from ...smoothing import Cleaning
from ...solution import Solution
from ...tracks import Tracks
from .banded import solve_pentadiagonal
from .likelihood import DRAWS, posterior_draws, raised_scales, second_difference_sums
from .points import (PointData, Subtrees, add_diagonal_blocks, diagonal_blocks, gradient_draws, normal_equations,
                     subtrees)
from .prior import DifferenceTerms, PriorBlocks, about_the_mean, move_differences, spread_jacobian, turn_differences
from .scales import apply_step, marquardt, motion_scales, paths, per_frame_fit_noise, spread_about_mean, stretches

#: Levenberg–Marquardt steps per window at most (each from the last accepted one) ...
STEPS = 4
#: ... stopping early after one that lowers the cost (in noise variances) by less than this per frame:
#: the steps left would move the estimate by a small share of its own uncertainty
SETTLED_DECREASE = 0.01
#: memory for one window's banded factorisation (bytes): a longer clip is solved in windows
WINDOW_BYTES = 512 * 2 ** 20
#: how many times a window is solved again with the second differences its tracks contradict left out
RELEASES = 3
#: the chance that noise alone releases a frame's second differences (_contradicted)
RELEASE_CHANCE = 0.01
#: the share of this smoothing's time the round of the likelihood takes (the progress shown)
LIKELIHOOD_SHARE = 0.4
#: the least noise a track is weighed with (a share of the height): a reading below it is float rounding
#: (a track derived from others exactly), and weighed by it the normal equations overflowed float64's
#: precision (entries of 1e32 whose rounding made the banded system indefinite)
ROUNDING_NOISE = 1e-8
#: frames two windows share, blended across (at least twice the longest lag the scales read)
OVERLAP = 64


@dataclass
class Motion:
    """The motion's terms: ``Qinv`` [T-2,A+1,3,3] each second difference's weight (the root's move,
    then the active joints' turns: scales.motion_scales, loosened where released), ``valid``
    [T-2,A+1] which count (none across a cut or a joint's turn-over), each active joint's rotation's
    ``mean`` [A,3,3], ``Pinv`` [A,3,3] and ``spread`` [A,3,3] about it (scales.spread_about_mean),
    and the frame whose rotations are ``held`` (none, or the reference frame: its pose is known)."""

    Qinv: np.ndarray
    valid: np.ndarray
    mean: np.ndarray
    Pinv: np.ndarray
    spread: np.ndarray
    held: int | None = None

    def frames(self, part: slice) -> "Motion":
        """The terms of the frames ``part`` [start, stop) only."""
        held = self.held - part.start if self.held is not None and part.start <= self.held < part.stop else None
        return replace(self, Qinv=self.Qinv[part.start:part.stop - 2], valid=self.valid[part.start:part.stop - 2],
                       held=held)

    def differences(self, R: np.ndarray, tau: np.ndarray) -> DifferenceTerms:
        """The second differences at the active joints' rotations ``R`` [T,A,3,3] and the root's
        positions ``tau`` [T,3]: the root's move, then the joints' turns ([T-2,A+1,...])."""
        return (move_differences(tau, self.Qinv[:, 0], self.valid[:, 0])
                + turn_differences(R, self.Qinv[:, 1:], self.valid[:, 1:]))

    def blocks(self, R: np.ndarray, tau: np.ndarray) -> PriorBlocks:
        """The terms' quadratic model at ``R``, ``tau`` (differences), over the root's move then the
        joints' turns ([T,A+1,...])."""
        return self.blocks_of(self.differences(R, tau), R)

    def blocks_of(self, differences: DifferenceTerms, R: np.ndarray) -> PriorBlocks:
        """The terms' quadratic model at ``R`` [T,A,3,3] given its ``differences`` there: theirs plus
        the spread about the mean."""
        out = differences.blocks(len(R))
        spread = about_the_mean(R, self.mean, self.Pinv)
        out.D[:, 1:] += spread.D
        out.g[:, 1:] += spread.g
        out.cost += spread.cost
        return out


def smoothed_down_the_chain(tracks: Tracks, sol: Solution, cleaning: Cleaning, turned: dict[int, list[int]],
                            progress: Callable[[float, str], None] | None = None) -> Solution:
    """``sol`` (the solution of the smoothed ``tracks``) with its rotations and root position
    estimated jointly from the tracks as given (``cleaning.unsmoothed``, their noise as the
    ``cleaning`` read it); ``turned``: {joint: [frames]} where the tracks turn a joint over (its
    second differences do not span those frames); ``progress``: (fraction, message) as it goes."""
    data = tracks_as_points(tracks, sol, cleaning)
    active = moving_joints(data, tracks)
    T = sol.num_frames
    if not len(active) or T < 5:
        return sol
    tree = subtrees(data, active)
    R, tau = sol.rotations, sol.root_translation
    fitted, moved, noise = per_frame_fit_noise(data, tree, R, tau)
    stretch = stretches(T, cleaning.cuts, turned, active)
    valid = (stretch[2:] == stretch[:-2]).astype(np.float64)
    scales = motion_scales(paths(fitted[:, active], moved), noise, paths(R[:, active], tau), stretch,
                           _told(data, tree))
    from .. import part_of  # the solvers package imports this module first
    held = tracks.reference_frame if tracks.reference_rotations is not None else None
    motion, R, tau = _raised_by_likelihood(data, tree, _motion(scales, valid, R[:, active], held), R, tau,
                                           part_of(progress, 0.0, LIKELIHOOD_SHARE, "the motion's scale: "))
    R, tau = _in_windows(data, tree, motion, R, tau, part_of(progress, LIKELIHOOD_SHARE, 1.0))
    return replace(sol, rotations=R, root_translation=tau, report=list(sol.report))


def _motion(scales: np.ndarray, valid: np.ndarray, R: np.ndarray, held: int | None) -> Motion:
    """The Motion of the inverse scales ``scales`` [A+1,3,3] (one for every term until loosened), the
    terms ``valid`` [T-2,A+1], the active joints' rotations ``R`` [T,A,3,3] they spread about, and
    the frame whose rotations are ``held`` (the reference frame: its pose is known)."""
    return Motion(np.broadcast_to(scales, valid.shape + scales.shape[1:]), valid, *spread_about_mean(R, scales[1:]),
                  held)


def _raised_by_likelihood(data: PointData, tree: Subtrees, motion: Motion, R: np.ndarray, tau: np.ndarray,
                          progress: Callable[[float, str], None] | None
                          ) -> tuple[Motion, np.ndarray, np.ndarray]:
    """(``motion`` with its scales raised by one round of the tracks' likelihood (likelihood), the
    estimate at the scales as given: rotations [T,J,3,3], root positions [T,3]). The estimate is
    _levenberg's, window by window from ``R``, ``tau``; its second differences and their posterior
    variance are summed over the windows. ``progress`` hears of each window done."""
    rng = np.random.default_rng(0)  # the draws are the same for the same clip: a solve repeats
    sums = [0.0, 0.0, 0.0]
    estimate, moves = R.copy(), tau.copy()
    for part in _windows(len(R), _window_width(tree.size)):
        frames, terms_of = data.frames(part), motion.frames(part)
        estimate[part], moves[part] = Rw, tauw = _levenberg(frames, tree, terms_of, R[part], tau[part])
        Ra = Rw[:, tree.active]
        terms = terms_of.differences(Ra, tauw)
        spread = (spread_jacobian(Ra, motion.mean)[1], motion.Pinv)
        tracks_D = normal_equations(frames, tree, Rw, tauw)[0]
        tracks_draws = gradient_draws(frames, tree, Rw, tauw, rng, DRAWS)
        draws = posterior_draws(tracks_D, tracks_draws, terms_of.blocks_of(terms, Ra), terms, spread, rng)
        sums = [a + b for a, b in zip(sums, second_difference_sums(terms, draws))]
        if progress is not None:
            progress(part.stop / len(R), f"frame {part.stop} of {len(R)}")
    count = np.maximum(sums[2], 1.0)
    scales = raised_scales(motion.Qinv[0], sums[0] / count[:, None, None], sums[1] / count[:, None, None], sums[2])
    return _motion(scales, motion.valid, R[:, tree.active], motion.held), estimate, moves


def _window_width(n: int) -> int:
    """The frames one window holds with ``n`` unknowns per frame (WINDOW_BYTES)."""
    return max(int(WINDOW_BYTES // (32 * n * n)), 2 * OVERLAP + 8)


def _windows(T: int, width: int) -> list[slice]:
    """The clip's ``T`` frames in windows of ``width`` frames, end to end (the last may be shorter, but
    not under 5 frames: a shorter rest joins the one before)."""
    starts = list(range(0, T, width))
    if len(starts) > 1 and T - starts[-1] < 5:
        starts.pop()
    return [slice(s, e) for s, e in zip(starts, starts[1:] + [T])]


def tracks_as_points(tracks: Tracks, sol: Solution, cleaning: Cleaning) -> PointData:
    """The PointData of the clip's tracks as given (before smoothing) with ``sol``'s rig, each
    weighed by one over the noise variance the ``cleaning`` read (its own, or a tip's parent's). A
    track it read no noise in (a root at the floor, which no bone's length tells) is taken to be as
    noisy as the quietest it read, not as no data; joints never tracked (placed) are no data."""
    given, height = cleaning.unsmoothed, tracks.skeleton.height
    y, noise = given.positions, np.broadcast_to(cleaning.noise, given.positions.shape[:2])
    gaps = np.zeros(y.shape[:2], bool) if cleaning.gaps is None else cleaning.gaps.copy()
    gaps[:, cleaning.placed] = True  # joints never tracked, placed between tracked ones: no data
    parents, offsets = np.zeros(0, np.int64), np.zeros((0, 3))
    if tracks.has_ends:
        parents, offsets = np.asarray(tracks.end_parents, np.int64), tracks.end_rest_offsets
        end_noise = cleaning.noise[parents] if cleaning.end_noise is None else cleaning.end_noise
        y = np.concatenate([y, given.end_positions], axis=1)
        noise = np.concatenate([noise, np.broadcast_to(end_noise, given.end_positions.shape[:2])], axis=1)
        end_gaps = np.zeros(given.end_positions.shape[:2], bool) if cleaning.end_gaps is None else cleaning.end_gaps
        gaps = np.concatenate([gaps, end_gaps], axis=1)
    seen = np.isfinite(y).all(axis=-1) & ~gaps
    read = noise[noise > 0]
    noise = np.where(noise > 0, noise, read.min() if len(read) else 1.0)  # unread: as the quietest read
    noise = np.maximum(noise, ROUNDING_NOISE)
    w = np.where(seen, 1.0 / (noise * height) ** 2, 0.0)
    shape = np.eye(3) if cleaning.noise_shape is None else cleaning.noise_shape
    return PointData(tracks.skeleton, sol.local_offsets, parents, offsets, y, w, np.linalg.inv(shape))


def moving_joints(data: PointData, tracks: Tracks) -> np.ndarray:
    """[A] the joints whose turn moves a point with a sample: one below them at a length from them
    (in the rest pose; ZERO_LENGTH of the height)."""
    rest = tracks.skeleton.rest_positions
    points = rest if not len(data.end_parents) else np.concatenate([rest, rest[data.end_parents] + data.end_offsets])
    tree = subtrees(data, np.arange(tracks.skeleton.num_joints))
    far = np.linalg.norm(points[None] - rest[:, None], axis=-1) >= ZERO_LENGTH * tracks.skeleton.height  # [J,P]
    return np.flatnonzero(((tree.below > 0) & far & (data.w > 0).any(axis=0)[None]).any(axis=1))


def _in_windows(data: PointData, tree: Subtrees, motion: Motion, R: np.ndarray, tau: np.ndarray,
                progress: Callable[[float, str], None] | None) -> tuple[np.ndarray, np.ndarray]:
    """(rotations [T,J,3,3], root positions [T,3]) estimated window by window (WINDOW_BYTES), each
    window's from ``R``, ``tau``; two windows' estimates are blended linearly across the OVERLAP
    frames they share. ``progress`` hears of each window done."""
    T, width = len(R), _window_width(tree.size)
    out_R, out_tau = R.copy(), tau.copy()
    start = 0
    while True:
        part = slice(start, min(T, start + width))
        Rw, tauw = _released_where_contradicted(data.frames(part), tree, motion.frames(part), R[part], tau[part])
        shared = 0 if start == 0 else min(OVERLAP, part.stop - start)
        ramp = (np.arange(1, shared + 1) / (shared + 1))[:, None]  # the new window's share
        done = out_R[start:start + shared]
        turn = rotation_vector(Rw[:shared] @ np.swapaxes(done, -1, -2))
        out_R[start:start + shared] = from_rotation_vector(ramp[..., None] * turn) @ done
        out_tau[start:start + shared] += ramp * (tauw[:shared] - out_tau[start:start + shared])
        out_R[start + shared:part.stop], out_tau[start + shared:part.stop] = Rw[shared:], tauw[shared:]
        if progress is not None:
            progress(part.stop / T, f"frame {part.stop} of {T}")
        if part.stop >= T:
            return out_R, out_tau
        start = part.stop - OVERLAP


def _released_where_contradicted(data: PointData, tree: Subtrees, motion: Motion, R: np.ndarray, tau: np.ndarray
                                 ) -> tuple[np.ndarray, np.ndarray]:
    """_levenberg's estimate, solved again (at most RELEASES times) with the second differences the
    tracks contradict (_contradicted) left out or loosened (_loosened): where the points a turn
    moves end further from their tracks than noise explains, the tracks show a turn more abrupt than
    the clip's motion scale allows, which the smoothness must not overrule (a tail's whip, a kick, a
    glitch the source has in one frame)."""
    R, tau = _levenberg(data, tree, motion, R, tau)
    released = np.zeros_like(motion.valid)
    for _ in range(RELEASES):
        beyond, excess = _contradicted(data, tree, R, tau)
        excess = motion.valid * np.maximum(excess * (1.0 - released), beyond * AXES_STDS ** 2)
        if not excess.any():
            break
        released[excess > 0] = 1.0
        motion = replace(motion, Qinv=_loosened(motion.Qinv, excess, data, tree, R, tau, motion.spread))
        R, tau = _levenberg(data, tree, motion, R, tau)
    return R, tau


def _contradicted(data: PointData, tree: Subtrees, R: np.ndarray, tau: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``beyond``, ``excess``) [T-2,A+1] of the second differences (the root's move, then each active
    joint's turn) over the frames they span, of the points that move with them (every point for the
    root, those below a joint but its own: the smoothness of one turn may have moved another's
    point, as fingers held smooth pull the root off its own track):
    ``beyond`` 1 where such a point is further from its track than AXES_STDS of its noise;
    ``excess`` where their squared misses in noise stds, summed, pass the chi-square of 3 degrees
    per point by a chance of RELEASE_CHANCE shared over the frame's A+1 tests, that sum over its
    degrees (the largest of the three frames; 0 where none passes). A limb the smoothness holds
    behind a kick shows in all its points at once (a foot and its toes a few stds off each), one
    point off alone with the few turns just above it."""
    misses = data.misses(data.points(R, tau)[1])
    squared = np.einsum("tp,tpa,ab,tpb->tp", data.w, misses, data.shape_inv, misses)  # [T,P]
    moved = tree.below[tree.active].copy()  # [A,P]; a joint's turn does not move its own point
    moved[np.arange(len(tree.active)), tree.active] = 0.0
    above = np.concatenate([np.ones((1, squared.shape[1])), moved])  # [A+1,P]
    far = ((squared > AXES_STDS ** 2).astype(np.float64) @ above.T > 0).astype(np.float64)  # [T,A+1]
    degrees = 3.0 * ((data.w > 0).astype(np.float64) @ above.T)
    summed = squared @ above.T
    passed = (summed > chi_square_beyond(RELEASE_CHANCE / len(above), degrees)) & (degrees > 0)
    excess = np.where(passed, summed / np.maximum(degrees, 1.0), 0.0)
    return tuple(np.maximum(np.maximum(x[:-2], x[1:-1]), x[2:]) for x in (far, excess))  # frames t, t+1, t+2


def _loosened(Qinv: np.ndarray, excess: np.ndarray, data: PointData, tree: Subtrees, R: np.ndarray,
              tau: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """``Qinv`` [T-2,A+1,3,3] with the terms where ``excess`` [T-2,A+1] > 0 loosened: along each
    eigenvector u of I, the information the tracks of the term's middle frame alone give of that
    turn (or of the root's move) at ``R``, ``tau``, the term's variance grows by c / λ (c the excess:
    their misses' squares over the noise's; λ = uᵀIu), the turn along u that moves the points by the
    misses. Only along the directions the misses can come from: those a turn by the smallest turn
    that explains them moves the points by a noise std at least (c λ ≥ the largest λ), and by at
    most the joint's ``spread`` [A,3,3] about its mean along u (a jump further than the joint moves
    in the whole clip is no motion of it); held as before where no track tells the turn (the roll
    of a bone whose targets lie on its axis). The root's move grows by c / λ in every direction.
    ``Qinv`` itself where nothing is loosened."""
    t, a = np.nonzero(excess)
    if not len(t):
        return Qinv
    info = diagonal_blocks(normal_equations(data, tree, R, tau)[0])  # [T,G,3,3]
    c = excess[t, a]
    lam, U = np.linalg.eigh(info[t + 1, a])
    told = ((c[:, None] * lam >= lam[:, -1:]) | (a == 0)[:, None]) & (lam > 0)
    need = c[:, None] / np.where(told, lam, 1.0)  # the turn along u that moves the points by the misses
    spread_along = np.einsum("nuk,nuv,nvk->nk", U, spread[np.maximum(a - 1, 0)], U)
    need = np.where((a == 0)[:, None], need, np.minimum(need, spread_along))
    add = np.einsum("nik,nk,njk->nij", U, np.where(told, need, 0.0), U)
    out = Qinv.copy()
    out[t, a] = np.linalg.inv(np.linalg.inv(Qinv[t, a]) + add)
    return out


def _levenberg(data: PointData, tree: Subtrees, motion: Motion, R: np.ndarray, tau: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """(rotations [T,J,3,3], root positions [T,3]) after at most STEPS Levenberg–Marquardt steps
    from ``R``, ``tau`` on the tracks' and the motion's terms, damped in each unknown's own units
    (scales.marquardt); a step that does not lower their sum is retried with ten times the damping,
    and the estimate stays where no damping lowers it. The steps stop once one lowers the sum by
    less than SETTLED_DECREASE per frame."""
    active, damping = tree.active, 1e-6
    prior = motion.blocks(R[:, active], tau)
    for _ in range(STEPS):
        D, g, cost = normal_equations(data, tree, R, tau)
        add_diagonal_blocks(D, prior.D)
        g += prior.g.reshape(len(R), -1)
        total = cost + prior.cost
        E, F = prior.E, prior.F
        if motion.held is not None:
            D, g, E, F = _rotations_held(D, g, E, F, motion.held)
        while damping <= 1e3:
            step = solve_pentadiagonal(marquardt(D, damping), E, F, -g)
            R2, tau2 = apply_step(R, tau, step, active)
            moved = motion.blocks(R2[:, active], tau2)  # the next step's model too, where this one is taken
            lowered = total - data.cost(R2, tau2) - moved.cost
            if lowered >= 0.0:
                R, tau, prior, damping = R2, tau2, moved, max(damping / 10, 1e-9)
                break
            damping *= 10
        else:
            break
        if lowered < SETTLED_DECREASE * len(R):
            break
    return R, tau


def _rotations_held(D: np.ndarray, g: np.ndarray, E: np.ndarray, F: np.ndarray, f: int
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The step's system (``D`` [T,n,n], ``g`` [T,n], ``E``, ``F`` [T,A+1,3,3]) with the turns of frame
    ``f`` taken out (their rows and columns an identity, their gradient 0, their couplings to the
    frames around none), so that the step leaves them as they are; the root's move stays. ``D`` and
    ``g`` (built afresh for each step) are changed in place; ``E`` and ``F`` (the prior's, which
    the next step's model reuses) are copied."""
    E, F = E.copy(), F.copy()
    D[f, 3:, :] = 0.0
    D[f, :, 3:] = 0.0
    D[f, 3:, 3:] = np.eye(D.shape[1] - 3)
    g[f, 3:] = 0.0
    for blocks, lag in ((E, 1), (F, 2)):
        blocks[f, 1:] = 0.0
        if f >= lag:
            blocks[f - lag, 1:] = 0.0
    return D, g, E, F


def _told(data: PointData, tree: Subtrees) -> np.ndarray:
    """[T,A+1] whether some point a path moves (every point for the root's) has a sample in each
    frame: where none has, the per-frame fit tells nothing of that path's motion."""
    moved = np.concatenate([np.ones((1, data.w.shape[1])), tree.below[tree.active]]) > 0  # [A+1,P]
    return ((data.w > 0).astype(np.float64) @ moved.T) > 0

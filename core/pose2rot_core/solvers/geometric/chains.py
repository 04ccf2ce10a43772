"""A bone leaned on its parent together with the bones below it (noisy tracks).

lean_on_parent weighs one bone's observed vector against its held direction, the noise of the
bone's two ends against what the bone shows beyond it. Down a chain of single children (a finger)
that loses what the joints below tell: a curl seen along the whole finger is held back bone by
bone, and what each bone gives up adds up at the tip, which then ends further from its track than
the track's own noise. Here the bone vectors of the chain ``v_m`` get the same priors (each its
held direction, the changes beyond the noise as variance ``P_m`` per axis) and the joints' tracks
are observed with their own noise: the vector from the joint to target m is ``v_1 + ... + v_m``
plus the noise of both ends, so the differences ``delta_m`` between successive tracks are
``v_m`` plus noise whose covariance ``N`` is tridiagonal (each inner joint's variance on the
diagonal twice, negative beside it). The first bone keeps the posterior mean
``a_1 + P_1 [(P + N)^-1 (delta - a)]_1``; the joint below is solved the same way from where this
puts it. The bones below are read in the frame of the aiming joint's parent, carried down the
reference pose (their own parents are not solved yet), so their priors hold what they do relative
to the joint above the chain. For a chain of one bone this is lean_on_parent itself.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...rotations import norm, normalize
from ...stacks import mat_mul, mat_vec
from .fit import lean_prior

if TYPE_CHECKING:
    from .problem import Problem, Target


def chain_below(problem: Problem, target: Target) -> list[tuple[int, Target]]:
    """[(aiming joint, its target)] the bones below ``target`` down its single children: each a
    rigid joint with one direct primary target (a tip ends it)."""
    out: list[tuple[int, Target]] = []
    while not target.is_end and not problem.translating[target.index]:
        below = problem.aims[target.index].targets
        if len(below) != 1 or below[0].chain or (not below[0].is_end and problem.translating[below[0].index]):
            break
        out.append((target.index, below[0]))
        target = below[0]
    return out


def lean_along_chain(problem: Problem, j: int, target: Target, src: np.ndarray, obs: np.ndarray,
                     var: float, samples: float, desired: np.ndarray, parent_frame: np.ndarray | None,
                     chain: list[tuple[int, Target]]) -> np.ndarray:
    """[T,3] the observed vector ``obs`` [T,3] of joint ``j`` to its one ``target`` (rest offset
    ``src`` [T|1,3], noise ``var`` per axis over ``samples`` independent frames, reference
    orientation ``desired`` [T,3,3], parent at ``parent_frame`` [T,3,3] or None) leaned on the
    parent together with the ``chain`` below it (chain_below): see the module."""
    frames = [desired]
    vectors, sources, noise, counts = [obs], [src], [var], [samples]
    previous, above = target, [target.index]
    for joint, t in chain:
        frames.append(mat_mul(desired, problem.reference_product(above)))
        vectors.append(problem.point(t) - problem.point(previous))
        sources.append(problem.sources([t])[:, 0])
        noise.append(problem.offset_var(joint, [t]))
        counts.append(problem.independent_frames(joint, [t]))
        previous = t
        above.append(t.index)
    delta = np.stack(vectors, axis=1)  # [T,k,3]
    pf = None if parent_frame is None else np.broadcast_to(parent_frame[:, None], (len(delta), len(frames), 3, 3))
    prior = lean_prior(problem, np.array(noise), np.array(counts), np.stack(sources, axis=1), delta,
                       np.stack([np.broadcast_to(f, (len(delta), 3, 3)) for f in frames], axis=1), pf)
    mean = prior.mean[None] if pf is None else mat_vec(pf, np.broadcast_to(prior.mean, delta.shape))
    a = mean * norm(delta)[..., None]
    moving = prior.shown * norm(np.stack(sources, axis=1)) ** 2  # [T,k] per axis, rest length^2 s^2
    return normalize(_posterior_first(a, delta, moving, _chain_noise(problem, noise, chain)), 1e-300) \
        * norm(obs)[:, None]


def _chain_noise(problem: Problem, noise: list[float], chain: list[tuple[int, Target]]) -> np.ndarray:
    """[k,k] covariance (per axis) of the noise of the chain's k differences between tracks: each
    one's both ends on the diagonal (``noise``), minus the inner joint's variance beside it."""
    cov = np.diag(np.array(noise, np.float64))
    for m, (joint, _) in enumerate(chain):
        cov[m, m + 1] = cov[m + 1, m] = -float(problem.noise_var[joint])
    return cov


def _posterior_first(a: np.ndarray, delta: np.ndarray, moving: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """[T,3] the posterior mean of the first of k bone vectors with priors ``a`` [T,k,3] and
    variances ``moving`` [T,k] per axis, seen as differences ``delta`` [T,k,3] with noise of
    covariance ``cov`` [k,k] per axis."""
    system = cov[None] + moving[:, :, None] * np.eye(len(cov))[None]
    scale = np.trace(cov) / len(cov)
    system += 1e-12 * max(scale, 1e-300) * np.eye(len(cov))
    x = np.linalg.solve(system, np.ascontiguousarray(delta - a))
    return a[:, 0] + moving[:, 0, None] * x[:, 0]

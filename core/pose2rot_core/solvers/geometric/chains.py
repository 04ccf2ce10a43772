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
diagonal twice, negative beside it). The priors' means ``a_m`` have the bones' rest lengths (the
first bone's, whose direction alone is kept, its observed length; see _prior_lengths). The first
bone keeps the posterior mean
``a_1 + P_1 [(P + N)^-1 (delta - a)]_1``; the joint below is solved the same way from where this
puts it. The bones below are read in the frame of the aiming joint's parent, carried down the
reference pose (their own parents are not solved yet; zero-length joints between them too), so
their priors hold what they do relative to the joint above the chain. For a chain of one bone
this is lean_on_parent itself.

A depth's joints are leaned together: the bones below their targets are more columns of one
lean_prior, and the chains, padded to the longest with bones tied to nothing, are solved at once
(the system is tridiagonal: the bones are eliminated from the last up).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ...rotations import norm, normalize
from ...stacks import frames_first, frames_last, joint_planes, mat_vec, side_by_side
from .lean import lean_columns, lean_prior, wiener_lean

if TYPE_CHECKING:
    from .problem import Problem, Target


def lean_with_chains(problem: Problem, joints: np.ndarray, var: np.ndarray, samples: np.ndarray, src: np.ndarray,
                     obs: np.ndarray, desired: np.ndarray, parent_frames: np.ndarray | None) -> np.ndarray:
    """[T,n,3] the observed vectors ``obs`` [T,n,3] of ``joints`` [n] (one depth) to their one
    target each, leaned on the parents as lean_columns leans them (the other arguments are its),
    except where the target leads on down single children (Problem.chains): there together with
    the bones below it (see the module)."""
    chains = [problem.chains[j] for j in joints]
    rows = np.array([i for i, chain in enumerate(chains) if chain], dtype=np.intp)
    if not len(rows):
        return lean_columns(problem, var, samples, src, obs, desired, parent_frames, joints)
    below = _Below.of(problem, rows, joints[rows], [chains[i] for i in rows], var)
    n = len(joints)
    owner = np.concatenate([np.arange(n), below.owner])  # [N] the batch's n columns, then the E bones
    frames = None if parent_frames is None else _gather(parent_frames, owner)
    delta, src = _append(obs, below.delta), _append(src, below.src)  # [T,N,3]
    prior = lean_prior(problem, np.concatenate([var, below.var]), np.concatenate([samples, below.samples]), src,
                       delta, _gather(desired, owner), frames, joints[owner])
    leaned = wiener_lean(prior.first(n), obs, parent_frames)
    mean = prior.mean if frames is None else mat_vec(frames, prior.mean)
    rest = norm(src)  # [T|1,N] rest lengths
    a = mean * _prior_lengths(obs, rest)[..., None]  # [T,N,3] the vectors' prior means, in the world
    moving = prior.shown * rest ** 2  # [T,N] their prior variance per axis: rest length^2 s^2
    g = below.grid
    first = _posterior_first(a[:, g], delta[:, g], moving[:, g], below.diagonal, below.tie)
    leaned[:, rows] = normalize(first, 1e-300) * norm(obs[:, rows])[..., None]
    return leaned


@dataclass
class _Below:
    """The E bones below the targets of m joints of a batch of n, as columns n.. of lean_prior:
    the batch column each hangs from ``owner`` [E], their noise ``var`` [E] (per axis) over
    ``samples`` [E] independent frames, rest offsets ``src`` [T|1,E,3] in the frame of that
    column's joint (through the reference pose), the differences between their ends' tracks
    ``delta`` [T,E,3]; each chain's columns top down ``grid`` [m,k] (its joint's own first),
    padded to the longest by repeating its last, and the covariance of its noise ``diagonal``
    [m,k] and ``tie`` [m,k-1] (_chain_noise)."""

    owner: np.ndarray
    var: np.ndarray
    samples: np.ndarray
    src: np.ndarray
    delta: np.ndarray
    grid: np.ndarray
    diagonal: np.ndarray
    tie: np.ndarray

    @classmethod
    def of(cls, problem: Problem, rows: np.ndarray, tops: np.ndarray, chains: list[list[tuple[int, Target]]],
           var: np.ndarray) -> _Below:
        """The bones of ``chains`` [m] below the targets of the batch joints ``tops`` [m] at ``rows``
        [m], the batch's noise ``var`` [n]."""
        n, k = len(var), 1 + max(len(chain) for chain in chains)
        bones = [bone for chain in chains for bone in chain]  # [E] (aiming joint, its target)
        bone_var = np.array([problem.offset_var(joint, [t]) for joint, t in bones])
        grid, diagonal, tie = np.empty((len(rows), k), np.intp), np.empty((len(rows), k)), np.empty((len(rows), k - 1))
        first = 0
        for r, (i, chain) in enumerate(zip(rows, chains)):
            own = np.arange(first, first + len(chain))  # this chain's bones among the E
            grid[r] = np.concatenate([[i], n + own, np.full(k - 1 - len(chain), n + own[-1])])
            diagonal[r], tie[r] = _chain_noise(np.concatenate([[var[i]], bone_var[own]]),
                                               problem.noise_var[[joint for joint, _ in chain]], k)
            first += len(chain)
        down = [problem.reference_product(_path_below(problem, joint, top)) for top, chain in zip(tops, chains)
                for joint, _ in chain]  # each bone's joint in the frame of its chain's joint
        src = side_by_side([problem.sources([t])[:, 0] for _, t in bones])
        return cls(np.repeat(rows, [len(chain) for chain in chains]), bone_var,
                   np.array([problem.independent_frames(joint, [t]) for joint, t in bones]),
                   mat_vec(np.stack(down) if problem.constant_guess else side_by_side(down), src),
                   side_by_side([problem.point(t) - problem.positions[:, joint] for joint, t in bones]),
                   grid, diagonal, tie)


def _path_below(problem: Problem, joint: int, top: int) -> list[int]:
    """The joints below ``top`` down to its descendant ``joint``, top down: the zero-length joints
    between a chain's bones too (read at their reference, as Problem.sources reads them)."""
    path = [joint]
    while problem.skeleton.parents[path[-1]] != top:
        path.append(int(problem.skeleton.parents[path[-1]]))
    return path[::-1]


def _prior_lengths(obs: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """[T,N] the lengths of the prior means of the batch's n vectors ``obs`` [T,n,3] and of the
    E bones below (``rest`` [T|1,N] rest lengths): the batch's at their observed length (only their
    direction is kept, and a chain of one bone leans as lean_columns leans it), the bones below at
    their rest length. Their differences between tracks are longer by the noise (the square by
    both ends' variance per axis, three times): a prior mean scaled to that length never reaches
    past its difference along the bone, so every bone below would look shorter than its prior,
    and the first bone, summed with them to the tip, would be pulled back along them."""
    n = obs.shape[1]
    below = np.broadcast_to(rest[:, n:], (obs.shape[0], rest.shape[1] - n))
    return np.concatenate([norm(obs), below], axis=1)


def _chain_noise(noise: np.ndarray, inner: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The covariance per axis of the noise of a chain's k' differences between tracks, padded to
    ``k``: its diagonal [k], each difference's both ends ``noise`` [k'] (with a 1e-12 share of their
    mean, so that a chain without noise still solves), then 1; beside it [k-1] the variance of
    the ``inner`` [k'-1] joints, negative, then 0 (a padded bone tied to nothing)."""
    diagonal, tie = np.ones(k), np.zeros(k - 1)
    diagonal[:len(noise)] = noise + 1e-12 * max(float(noise.mean()), 1e-300)
    tie[:len(inner)] = -inner
    return diagonal, tie


def _posterior_first(a: np.ndarray, delta: np.ndarray, moving: np.ndarray, diagonal: np.ndarray,
                     tie: np.ndarray) -> np.ndarray:
    """[T,m,3] the posterior means of the first of the k bone vectors of m chains with priors
    ``a`` [T,m,k,3] and variances ``moving`` [T,m,k] per axis, seen as differences ``delta``
    [T,m,k,3] with noise of tridiagonal covariance per axis (``diagonal`` [m,k], ``tie`` [m,k-1]
    beside it): ``a_1 + P_1 x_1`` for ``(N + P) x = delta - a``, the bones eliminated from the last up."""
    d, b = diagonal + moving, delta - a
    pivot, rhs = d[..., -1], b[..., -1, :]
    for i in range(d.shape[-1] - 2, -1, -1):
        share = tie[:, i] / pivot  # [T,m] of the row below, taken from row i
        pivot = d[..., i] - share * tie[:, i]
        rhs = b[..., i, :] - share[..., None] * rhs
    return a[..., 0, :] + moving[..., 0, None] * rhs / pivot[..., None]


def _append(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """[T,n+E,...] the columns of ``b`` [T,E,...] after those of ``a`` [T,n,...] (or both [1,...]),
    component-major."""
    return frames_first(np.concatenate([frames_last(a), frames_last(b)]))


def _gather(x: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """[T,c,...] the ``columns`` [c] of ``x`` [T,n,...], component-major."""
    return frames_first(joint_planes(x)[columns])

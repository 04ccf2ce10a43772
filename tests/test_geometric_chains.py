"""A bone leaned on its parent together with the bones below it (solvers.geometric.chains)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pose2rot_core.solvers.geometric as geometric
from pose2rot_core.bvh import read_bvh
from pose2rot_core.evaluate import add_noise, evaluate_clip
from pose2rot_core.fk import forward_kinematics
from pose2rot_core.rotations import axis_angle_to_matrix
from pose2rot_core.flips import rotation_steps
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.solvers import solve
from pose2rot_core.solvers.geometric.chains import _chain_noise, _posterior_first
from pose2rot_core.solvers.geometric.lean import lean_prior
from pose2rot_core.solvers.geometric.problem import Problem
from pose2rot_core.tracks import Tracks
from pose2rot_core.tracks_io import tracks_from_bvh
from pose2rot_core.variants import make_variant, played_faster, random_tree_clip

variances = st.floats(1e-3, 10.0)


def _dense(diagonal: np.ndarray, tie: np.ndarray) -> np.ndarray:
    return np.diag(diagonal) + np.diag(tie, 1) + np.diag(tie, -1)


@given(st.lists(variances, min_size=2, max_size=6), st.lists(variances, min_size=6, max_size=6),
       st.integers(0, 2**31 - 1))
def test_the_first_bone_is_the_gaussian_posterior_of_the_whole_chain(point_var, moving_var, seed):
    """Against the posterior written out another way (information form, from the points' own
    noise): bone vectors v with priors N(a, P), the tracks of k + 1 points p_0 + v_1 + ... + v_m
    each with its own noise."""
    k = len(point_var) - 1
    rng = np.random.default_rng(seed)
    sigma2 = np.array(point_var)
    diagonal, tie = _chain_noise(sigma2[:-1] + sigma2[1:], sigma2[1:-1], k)
    diff = np.eye(k + 1)[1:] - np.eye(k + 1)[:-1]  # [k,k+1] successive differences
    cov = diff @ np.diag(sigma2) @ diff.T
    np.testing.assert_allclose(_dense(diagonal, tie), cov, atol=1e-9)
    a, delta = rng.normal(size=(4, 1, k, 3)), rng.normal(size=(4, 1, k, 3))
    moving = np.broadcast_to(np.array(moving_var[:k]), (4, 1, k))
    info = np.linalg.inv(np.diag(moving[0, 0])) + np.linalg.inv(cov)
    expected = np.linalg.solve(info, np.diag(1.0 / moving[0, 0]) @ a[:, 0] + np.linalg.solve(cov, delta[:, 0]))
    out = _posterior_first(a, delta, moving, diagonal[None], tie[None])
    np.testing.assert_allclose(out[:, 0], expected[:, 0], rtol=1e-7, atol=1e-9)


@given(st.lists(variances, min_size=2, max_size=5), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_bones_padded_on_below_a_chain_change_nothing(point_var, padding, seed):
    """A chain solved beside a longer one (padded to its length with bones tied to nothing) ends
    where it does alone, whatever the padded bones hold."""
    k = len(point_var) - 1
    rng = np.random.default_rng(seed)
    sigma2 = np.array(point_var)
    alone = _chain_noise(sigma2[:-1] + sigma2[1:], sigma2[1:-1], k)
    padded = _chain_noise(sigma2[:-1] + sigma2[1:], sigma2[1:-1], k + padding)
    a, delta = rng.normal(size=(3, 1, k + padding, 3)), rng.normal(size=(3, 1, k + padding, 3))
    moving = rng.uniform(0.0, 2.0, size=(3, 1, k + padding))
    expected = _posterior_first(a[:, :, :k], delta[:, :, :k], moving[:, :, :k], alone[0][None], alone[1][None])
    out = _posterior_first(a, delta, moving, padded[0][None], padded[1][None])
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-15)


@given(variances, variances, st.integers(0, 2**31 - 1))
def test_a_chain_of_one_bone_keeps_the_wiener_share(noise, moving, seed):
    """One bone: a + P / (P + N) (delta - a), the share lean_on_parent keeps."""
    rng = np.random.default_rng(seed)
    a, delta = rng.normal(size=(3, 1, 1, 3)), rng.normal(size=(3, 1, 1, 3))
    diagonal, tie = _chain_noise(np.array([noise]), np.zeros(0), 1)
    out = _posterior_first(a, delta, np.full((3, 1, 1), moving), diagonal[None], tie[None])
    np.testing.assert_allclose(out, (a + moving / (moving + noise) * (delta - a))[:, :, 0], rtol=1e-9, atol=1e-12)


def test_a_batch_is_leaned_as_each_joint_alone(monkeypatch):
    """Random rigs under 0.5 % jitter: every batch of joints whose targets lead on down chains of
    different lengths leans each joint as it leans it alone (its own columns, no padding)."""
    batched = geometric.lean_with_chains
    mixed = []

    def each_alone(problem, joints, var, samples, src, obs, desired, frames):
        leaned = batched(problem, joints, var, samples, src, obs, desired, frames)
        lengths = {len(problem.chains[j]) for j in joints}
        if len(lengths) > 1:
            mixed.append(lengths)
            for i in range(len(joints)):
                one = slice(i, i + 1)
                alone = batched(problem, joints[one], var[one], samples[one], src[:, one],
                                obs[:, one], desired[:, one], None if frames is None else frames[:, one])
                np.testing.assert_allclose(leaned[:, one], alone, rtol=1e-9, atol=1e-12 * problem.skeleton.height)
        return leaned

    monkeypatch.setattr(geometric, "lean_with_chains", each_alone)
    for seed in range(3):
        evaluate_clip(random_tree_clip(30, 120, seed), "ref", noise=0.005, seed=0)
    assert mixed


def _curling_finger(frames: int = 60, seed: int = 0) -> tuple[Tracks, np.ndarray]:
    """(tracks of a straight finger of 4 bones (joints 2-6) on a palm (joint 1) curling and
    spreading under jitter of a different std on every joint, those stds [J] as fractions of
    the height); the reference pose turned at every joint."""
    rng = np.random.default_rng(seed)
    rest = np.array([[0, 0, 0], [0, 1.0, 0], [0.4, 1.0, 0], [0.7, 1.0, 0], [0.95, 1.0, 0], [1.15, 1.0, 0],
                     [1.3, 1.0, 0]])
    skeleton = Skeleton(tuple(f"j{j}" for j in range(7)), np.arange(-1, 6), rest)
    t = np.arange(frames)[:, None] / 30.0
    curl = 0.6 + 0.5 * np.sin(2 * np.pi * np.array([0.7, 0.9, 1.1, 1.3]) * t + np.arange(4))  # [T,4]
    spread = 0.3 * np.sin(2 * np.pi * np.array([0.5, 0.6, 0.8, 1.0]) * t)
    r = np.zeros((frames, 7, 3))
    r[:, 2:6, 2], r[:, 2:6, 1] = curl, spread
    _, P = forward_kinematics(skeleton, axis_angle_to_matrix(r, np.linalg.norm(r, axis=-1)), np.zeros((frames, 3)))
    noise = np.array([0.001, 0.002, 0.003, 0.012, 0.002, 0.02, 0.005])
    P = P + rng.normal(size=P.shape) * noise[:, None] * 1.3  # height 1.3
    turn = rng.normal(size=(7, 3)) * 0.5
    return Tracks(skeleton=skeleton, positions=P, fps=30.0,
                  reference_rotations=axis_angle_to_matrix(turn, np.linalg.norm(turn, axis=-1))), noise


def _with_zero_length_joint(tracks: Tracks, noise: np.ndarray, child: int, seed: int = 1) -> tuple[Tracks, np.ndarray]:
    """(tracks, noise [J+1]) with a zero-length joint inserted above ``child`` (its track and
    noise its parent's, its reference turned at random)."""
    skeleton, rng = tracks.skeleton, np.random.default_rng(seed)
    parents = np.insert(np.where(skeleton.parents >= child, skeleton.parents + 1, skeleton.parents), child,
                        skeleton.parents[child])
    parents[child + 1] = child
    turn = rng.normal(size=3) * 0.5
    rest = np.insert(skeleton.rest_positions, child, skeleton.rest_positions[skeleton.parents[child]], axis=0)
    return (Tracks(skeleton=Skeleton((*skeleton.names[:child], "zero", *skeleton.names[child:]), parents, rest),
                   positions=np.insert(tracks.positions, child, tracks.positions[:, skeleton.parents[child]], axis=1),
                   fps=tracks.fps,
                   reference_rotations=np.insert(tracks.reference_rotations, child,
                                                 axis_angle_to_matrix(turn, np.linalg.norm(turn)), axis=0)),
            np.insert(noise, child, noise[skeleton.parents[child]]))


def _joints_between(parents: np.ndarray, top: int, joint: int) -> list[int]:
    """The joints below ``top`` down to its descendant ``joint``, top down."""
    path = [joint]
    while parents[path[-1]] != top:
        path.append(int(parents[path[-1]]))
    return path[::-1]


def _dense_first_bone(problem, joint: int, obs: np.ndarray, var: float, samples: float, src: np.ndarray,
                      desired: np.ndarray, frames: np.ndarray | None) -> np.ndarray:
    """[T,3] the first bone vector of ``joint``'s chain leaned as lean_with_chains leans it, written
    out densely bone by bone from the chain's list: the bones' vectors v [k,3] with priors N(a, P)
    (lean_prior's, world terms), seen as the differences of the k + 1 points' tracks (``obs`` [T,3]
    for the first), each point with its own noise variance. A constant reference pose."""
    assert problem.constant_guess
    chain = problem.chains[joint]
    T, k = len(obs), 1 + len(chain)
    frames = np.broadcast_to(np.eye(3) if frames is None else frames, (T, 3, 3))
    srcs, deltas = [np.broadcast_to(src, (T, 3))], [obs]
    for aiming, target in chain:  # in the frame of the chain's joint, down the reference (zero-length joints too)
        down = problem.reference_product(_joints_between(problem.skeleton.parents, joint, aiming))
        srcs.append(np.broadcast_to(down @ problem.sources([target])[0, 0], (T, 3)))
        deltas.append(problem.point(target) - problem.positions[:, aiming])
    bone_var = np.array([var] + [problem.offset_var(z, [t]) for z, t in chain])
    bone_samples = np.array([samples] + [problem.independent_frames(z, [t]) for z, t in chain])
    src_k, delta = np.stack(srcs, 1), np.stack(deltas, 1)  # [T,k,3]
    prior = lean_prior(problem, bone_var, bone_samples, src_k, delta,
                       np.repeat(desired[:, None], k, 1), np.repeat(frames[:, None], k, 1), np.full(k, joint))
    rest = np.linalg.norm(src_k, axis=-1)  # [T,k]
    lengths = np.concatenate([np.linalg.norm(obs, axis=-1)[:, None], rest[:, 1:]], 1)
    a = np.einsum("tij,kj->tki", frames, prior.mean[0]) * lengths[..., None]
    moving = prior.shown * rest ** 2  # [T,k]
    points = [joint] + [aiming for aiming, _ in chain] + [chain[-1][1].index]
    diff = np.eye(k + 1)[1:] - np.eye(k + 1)[:-1]  # [k,k+1] successive differences
    noise = diff @ np.diag(problem.noise_var[points]) @ diff.T
    out = np.empty((T, 3))
    for f in range(T):  # the posterior mean a + P (P + N)^-1 (delta - a)
        gain = np.diag(moving[f]) @ np.linalg.inv(np.diag(moving[f]) + noise)
        out[f] = (a[f] + gain @ (delta[f] - a[f]))[0]
    return out


def test_a_chain_leans_its_first_bone_as_the_dense_posterior_of_its_bones_top_down(monkeypatch):
    """A curling finger under jitter of a different size on every joint: each chain's first bone
    leans to the Gaussian posterior written out densely from the chain's bones top down (bones,
    points and their noise in another order would lean it elsewhere)."""
    tracks, noise = _curling_finger()
    batched = geometric.lean_with_chains
    checked = []

    def against_dense(problem, joints, var, samples, src, obs, desired, frames):
        leaned = batched(problem, joints, var, samples, src, obs, desired, frames)
        for i, j in enumerate(joints):
            if len(problem.chains[j]) >= 2:
                first = _dense_first_bone(problem, j, obs[:, i], var[i], samples[i], src[:, i], desired[:, i],
                                          None if frames is None else frames[:, i])
                expected = first / np.linalg.norm(first, axis=-1, keepdims=True) * np.linalg.norm(obs[:, i], axis=-1,
                                                                                                   keepdims=True)
                np.testing.assert_allclose(leaned[:, i], expected, rtol=1e-9, atol=1e-11)
                checked.append(len(problem.chains[j]))
        return leaned

    monkeypatch.setattr(geometric, "lean_with_chains", against_dense)
    # the noise as that of tracks as given, so their bone lengths are read averaged (no bone translates)
    geometric.solve_geometric(tracks, noise=noise, input_positions=tracks.positions, input_noise=noise)
    assert 3 in checked


def test_a_chain_leans_on_through_a_zero_length_joint_as_the_dense_posterior(monkeypatch):
    """The curling finger with a zero-length joint (turned at rest) inside it: it adds no bone and
    no point, so the chains above it go on through it, their bones below it read down its reference,
    and each chain's first bone leans to the dense posterior of the whole finger."""
    tracks, noise = _with_zero_length_joint(*_curling_finger(), child=4)
    batched = geometric.lean_with_chains
    checked = {}

    def against_dense(problem, joints, var, samples, src, obs, desired, frames):
        leaned = batched(problem, joints, var, samples, src, obs, desired, frames)
        for i, j in enumerate(joints):
            if problem.chains[j]:
                first = _dense_first_bone(problem, j, obs[:, i], var[i], samples[i], src[:, i], desired[:, i],
                                          None if frames is None else frames[:, i])
                expected = first / np.linalg.norm(first, axis=-1, keepdims=True) * np.linalg.norm(obs[:, i], axis=-1,
                                                                                                   keepdims=True)
                np.testing.assert_allclose(leaned[:, i], expected, rtol=1e-9, atol=1e-11)
                checked[int(j)] = len(problem.chains[j])
        return leaned

    monkeypatch.setattr(geometric, "lean_with_chains", against_dense)
    geometric.solve_geometric(tracks, noise=noise, input_positions=tracks.positions, input_noise=noise)
    assert checked[2] == 3 and checked[3] == 2  # j2, j3 above the zero-length joint: the whole finger below


def test_fingers_behind_zero_length_joints_lean_down_the_same_chains(shared_dir, monkeypatch):
    """A Character Creator clip and its zero_chain variant (two zero-length joints above every
    limb bone's child) under jitter: every joint leans with the bones of the same chain in both
    (bones aimed past twist segments left as they aim: which nearly straight fingers pass for
    segments depends on the noise draw, which the variant's extra joints change)."""
    path = shared_dir / "iclone-cmu_006_05.bvh"
    if not path.exists():
        pytest.skip("needs iclone-cmu_006_05.bvh")
    clip = read_bvh(path)
    batched = geometric.lean_with_chains
    monkeypatch.setattr(geometric, "aim_past_segments", lambda problem: None)
    chains: list[dict] = [{}, {}]

    for seen, c in zip(chains, (clip, make_variant(clip, "zero_chain", np.random.default_rng(0)))):
        names = c.skeleton.names

        def record(problem, joints, *rest, seen=seen, names=names):
            seen.update({names[j]: [names[z] for z, _ in problem.chains[j]] for j in joints})
            return batched(problem, joints, *rest)

        monkeypatch.setattr(geometric, "lean_with_chains", record)
        evaluate_clip(c, "ref", noise=0.005, seed=0)
    assert any(len(chain) >= 2 for chain in chains[0].values())
    for joint, chain in chains[0].items():
        assert chains[1][joint] == chain, joint


def _noisy_steps(clip, monkeypatch, bone_by_bone: bool) -> np.ndarray:
    """[T-1,J] degrees each joint of ``clip`` turns between frames, solved under 0.5 % jitter (seed 0)."""
    if bone_by_bone:
        monkeypatch.setattr(Problem, "chains", property(lambda problem: [[]] * problem.skeleton.num_joints))
    sol = solve(add_noise(tracks_from_bvh(clip, reference_frame=0), 0.005, 0))
    monkeypatch.undo()
    return rotation_steps(sol.rotations)


def _noisy_flips(clip, monkeypatch, bone_by_bone: bool, noise: float = 0.005, seed: int = 0) -> int:
    """Flips of ``clip`` solved under ``noise`` jitter (seeded), as bench/generalization.py counts them."""
    if bone_by_bone:
        monkeypatch.setattr(Problem, "chains", property(lambda problem: [[]] * problem.skeleton.num_joints))
    flips = evaluate_clip(clip, "ref", noise=noise, seed=seed).flips
    monkeypatch.undo()
    return flips


def test_a_finger_leaned_with_the_joints_below_it_flips_less(shared_dir, monkeypatch):
    """A Character Creator clip at a third of its frame rate under 0.5 % jitter, where its source
    reverses the left thumb in one frame: leaned bone by bone, the thumb's middle bone turned 78°
    in one frame that the source does not turn it in; leaned with what the joints below it show,
    about 30°. (The thumb aimed past its middle joint, which the noise lets pass for a twist
    segment, turns it with its first bone: left out, to see the chain's lean.)"""
    path = shared_dir / "iclone-cmu_006_05.bvh"
    if not path.exists():
        pytest.skip("needs iclone-cmu_006_05.bvh")
    clip = played_faster(read_bvh(path), 3)
    thumb = clip.skeleton.index("CC_Base_L_Thumb2")
    own = rotation_steps(clip.rotations[:, [thumb]])
    steps = []
    for bone_by_bone in (False, True):
        monkeypatch.setattr(geometric, "aim_past_segments", lambda problem: None)  # _noisy_steps undoes it
        steps.append(_noisy_steps(clip, monkeypatch, bone_by_bone)[:, [thumb]] - own)
    chained, alone = steps
    assert alone.max() > 60.0 and chained.max() < 0.5 * alone.max()


def test_fingers_under_heavy_jitter_flip_no_more_than_leaned_bone_by_bone(shared_dir, monkeypatch):
    """Mixamo's salsa under 2 % jitter (markerless noise: about half a finger bone): the bones below
    a finger's first bone, whose differences between tracks are longer than the bones by the noise,
    had their prior means scaled to those lengths, looked shorter than them and pulled the first
    bone back along the finger; 6 and 12 flips against 4 and 5 leaned bone by bone."""
    path = shared_dir / "mixamo_joe_salsa-dancing-6.bvh"
    if not path.exists():
        pytest.skip("needs mixamo_joe_salsa-dancing-6.bvh")
    clip = read_bvh(path)
    for seed in (2, 4):
        chained, alone = (_noisy_flips(clip, monkeypatch, bone_by_bone, noise=0.02, seed=seed)
                          for bone_by_bone in (False, True))
        assert chained <= alone

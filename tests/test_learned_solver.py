"""Model inputs from tracks, windowed inference, and the learned/hybrid solvers on a tiny model
trained in this module on one development clip (hash name embedder, CPU)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pose2rot_core.errors import Pose2RotError
from pose2rot_core.model_inputs import Z_UP_TO_MODEL, build_inputs, clip_scale, pad_batch
from pose2rot_core.rotations import geodesic_angle, matrix_to_rot6d, quat_to_matrix
from pose2rot_core.skeleton import Skeleton
from pose2rot_core.tracks import Tracks
from pose2rot_core.tracks_io import fill_gaps

from _torch_helpers import TORCH_REASON, tiny_model

REPO = Path(__file__).resolve().parents[1]
CLIP_CANDIDATES = [REPO / "examples" / "cmu_08_01.bvh", REPO.parent / "shared" / "data" / "bvh" / "cmu_08_01.bvh"]
A = Z_UP_TO_MODEL


def small_tracks(T=6, up="y", seed=0) -> Tracks:
    rng = np.random.default_rng(seed)
    names = ["Root", "Spine", "Head", "LArm", "RArm"]
    rest = np.array([[0.5, 1.0, 0.2], [0.5, 2.0, 0.2], [0.5, 3.0, 0.4], [1.5, 2.0, 0.2], [-0.5, 2.0, 0.2]])
    sk = Skeleton(names, [-1, 0, 1, 1, 1], rest)
    pos = rest[None] + rng.normal(scale=0.1, size=(T, 5, 3))
    ref = quat_to_matrix(rng.normal(size=(5, 4)))
    return Tracks(sk, pos, up_axis=up, reference_rotations=ref)


def to_z_up(tr: Tracks) -> Tracks:
    """The same motion written in Blender axes (file = Aᵀ model)."""
    sk = tr.skeleton
    return replace(tr, skeleton=Skeleton(sk.names, sk.parents, sk.rest_positions @ A), positions=tr.positions @ A,
                   up_axis="z", reference_rotations=A.T @ tr.reference_rotations @ A)


def test_inputs_follow_model_conventions():
    tr = small_tracks()
    emb = np.ones((5, 8), np.float32)
    inp = build_inputs(tr, emb)
    a = inp.arrays
    centred = tr.positions - tr.positions[:, :1]
    s = (centred.reshape(-1, 3).max(0) - centred.reshape(-1, 3).min(0)).max() / 2
    assert inp.scale == pytest.approx(s) == clip_scale(centred)
    np.testing.assert_allclose(a["position"], centred / s, atol=1e-6)
    O = tr.skeleton.offsets  # parent-local offsets, root row = root rest position
    np.testing.assert_allclose(a["offset_a"], (O - O[0]) / s, atol=1e-6)
    assert np.all(a["offset_a"][0] == 0)
    np.testing.assert_array_equal(a["graph_hop"], tr.skeleton.hop_distance())
    np.testing.assert_array_equal(a["graph_edge"][1], [1, 0, 2, 2, 2])  # Spine: parent, self, children
    np.testing.assert_allclose(a["ref_rot6d_a"], matrix_to_rot6d(tr.reference_rotations), atol=1e-6)
    assert not a["static_rot_joint_mask"].any()
    inp2 = build_inputs(replace(tr, reference_rotations=None), emb, scale=2.5, static_joints=["Head"])
    np.testing.assert_array_equal(inp2.arrays["ref_rot6d_a"], np.tile([1, 0, 0, 0, 1, 0], (5, 1)))
    assert inp2.scale == 2.5 and inp2.arrays["static_rot_joint_mask"].tolist() == [0, 0, 1, 0, 0]
    with pytest.raises(Pose2RotError, match="no joint named 'Tail'"):
        build_inputs(tr, emb, static_joints=["Tail"])
    with pytest.raises(Pose2RotError, match=r"must be \[5,E\]"):
        build_inputs(tr, emb[:3])


def test_z_up_tracks_give_the_same_model_inputs():
    tr = small_tracks()
    emb = np.zeros((5, 4), np.float32)
    y, z = build_inputs(tr, emb), build_inputs(to_z_up(tr), emb)
    for k in y.arrays:
        np.testing.assert_allclose(z.arrays[k], y.arrays[k], atol=1e-6, err_msg=k)
    np.testing.assert_allclose(A @ np.array([0.0, 0.0, 1.0]), [0, 1, 0])  # Blender up -> model up


def test_missing_joint_is_filled_and_gaps_interpolated():
    tr = small_tracks(T=5)
    P = tr.positions.copy()
    P[:, 2] = np.nan
    P[2, 3] = np.nan
    inp = build_inputs(replace(tr, positions=P), np.zeros((5, 4), np.float32))
    assert inp.filled.tolist() == [False, False, True, False, False]
    assert np.isfinite(inp.arrays["position"]).all()
    filled, _, missing = fill_gaps(P)                  # the gap is filled as the solvers fill it
    assert missing == [2]
    np.testing.assert_allclose(inp.arrays["position"][2, 3] * inp.scale + P[2, 0], filled[2, 3], atol=1e-5)
    assert np.abs(filled[2, 3] - (P[1, 3] + P[3, 3]) / 2).max() > 1e-3   # a curve, not the straight line
    np.testing.assert_allclose(inp.arrays["position"][:, 2] * inp.scale,           # follows its parent rigidly
                               inp.arrays["position"][:, 1] * inp.scale + tr.skeleton.offsets[2], atol=1e-5)
    with pytest.raises(Pose2RotError, match="root joint 'Root' has no data in any frame"):
        P[:, 0] = np.nan
        build_inputs(replace(tr, positions=P), np.zeros((5, 4), np.float32))


def test_pad_batch_padding_values():
    a = build_inputs(small_tracks(), np.ones((5, 4), np.float32)).arrays
    sk = Skeleton(["r", "c"], [-1, 0], np.array([[0, 0, 0], [0, 1, 0.0]]))
    b = build_inputs(Tracks(sk, np.tile(sk.rest_positions, (6, 1, 1))), np.ones((2, 4), np.float32)).arrays
    batch = pad_batch([a, b])
    assert batch["position"].shape == (2, 6, 5, 3) and batch["graph_hop"].shape == (2, 5, 5)
    assert batch["joint_mask"][1].tolist() == [1, 1, 0, 0, 0]
    assert (batch["graph_hop"][1, 2:] == 5).all() and (batch["graph_hop"][1, :, 2:] == 5).all()
    assert (batch["graph_edge"][1, 2:] == 4).all() and not batch["ancestor_mask"][1, 2:].any()
    assert (batch["position"][1, :, 2:] == 0).all() and (batch["joint_t5embed"][1, 2:] == 0).all()
    with pytest.raises(Pose2RotError, match="different embedders"):
        pad_batch([dict(a, embedder="t5"), dict(b, embedder="hash-ngram-v1")])


# ------------------------------------------------------------------------------- torch parts
torch_mark = pytest.mark.torch


@torch_mark
def test_window_blending_is_exact_for_a_per_frame_model():
    pytest.importorskip("torch", reason=TORCH_REASON)
    from pose2rot_core.solvers.learned import predict_rot6d, window_starts

    class PerFrame:
        def __call__(self, batch):
            p = batch["position"]
            return {"pred_rot6d": torch.cat([p, p.square()], -1)}

    import torch
    assert window_starts(100, 40, 10) == [0, 30, 60]
    assert window_starts(40, 40, 10) == [0]
    with pytest.raises(Pose2RotError, match="overlap"):
        window_starts(10, 4, 4)
    a = build_inputs(small_tracks(T=97), np.zeros((5, 4), np.float32)).arrays
    full = predict_rot6d(PerFrame(), a, window=1000)
    for window, overlap in ((40, 10), (16, 15), (7, 0)):
        np.testing.assert_allclose(predict_rot6d(PerFrame(), a, window=window, overlap=overlap), full, atol=1e-6)


@torch_mark
def test_windowed_network_close_to_single_pass(tmp_path):
    pytest.importorskip("torch", reason=TORCH_REASON)
    from pose2rot_core.solvers.learned import predict_rot6d

    model = tiny_model(joint_embed_dim=4)
    a = build_inputs(small_tracks(T=120), np.zeros((5, 4), np.float32)).arrays
    full = predict_rot6d(model, a, window=1000)
    win = predict_rot6d(model, a, window=50, overlap=24)
    # receptive field ±4 frames: only frames near a window edge (down-weighted) can differ
    assert np.abs(win - full).max() < 0.1 * np.abs(full).max()
    np.testing.assert_allclose(win[:20], full[:20], atol=1e-5)


# ------------------------------------------------------------------------------- training fixture
TRAIN_STEPS = 250


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny model trained for TRAIN_STEPS steps on cmu_08_01 (random 32-frame windows)."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.checkpoint import save_checkpoint
    from pose2rot_core.embeddings import HASH_FAMILY, hash_embed
    from pose2rot_core.model import Pose2RotMemoryRestModel, batch_to_torch
    from pose2rot_core.tracks_io import tracks_from_bvh

    path = next((p for p in CLIP_CANDIDATES if p.is_file()), None)
    if path is None:
        pytest.skip("needs examples/cmu_08_01.bvh or ../shared/data/bvh/cmu_08_01.bvh")
    clip = read_bvh(path)
    tracks = tracks_from_bvh(clip, reference_frame=0)
    inputs = build_inputs(tracks, hash_embed(tracks.skeleton.names), embedder=HASH_FAMILY)
    full = batch_to_torch(pad_batch([inputs.arrays]))
    target = torch.from_numpy(matrix_to_rot6d(clip.rotations).astype(np.float32))  # BVH is Y-up: model frame
    torch.manual_seed(0)
    model = Pose2RotMemoryRestModel(q_dim=32, num_heads=4, rest_layers=1, pose_layers=2, memory_layers=1,
                                    decoder_layers=2, decoder_use_cross_layers=0, temporal_dropout=0.0)
    model.embedder = HASH_FAMILY
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / TRAIN_STEPS)
    rng = np.random.default_rng(0)
    T, L, B = target.shape[0], 32, 2
    model.train()
    for _ in range(TRAIN_STEPS):
        starts = rng.integers(0, T - L, B)
        batch = {k: v.expand(B, *v.shape[1:]) if torch.is_tensor(v) else v for k, v in full.items()}
        batch["position"] = torch.stack([full["position"][0, s:s + L] for s in starts])
        pred = model(batch)["pred_rot6d"]
        loss = torch.nn.functional.smooth_l1_loss(pred, torch.stack([target[s:s + L] for s in starts]), beta=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    ckpt = save_checkpoint(tmp_path_factory.mktemp("trained") / "tiny.pt", model.eval(), epoch=1)
    return clip, tracks, ckpt


@torch_mark
def test_learned_solver_learns_the_clip(trained):
    from pose2rot_core.solvers.learned import solve_learned

    clip, tracks, ckpt = trained
    sol = solve_learned(tracks, ckpt, device="auto")
    assert sol.solver == "learned" and sol.rotations.shape == clip.rotations.shape
    np.testing.assert_allclose(sol.root_translation, tracks.positions[:, 0])
    learned = np.degrees(geodesic_angle(sol.rotations, clip.rotations))
    rest = np.degrees(geodesic_angle(np.eye(3), clip.rotations))
    moving = rest.mean(0) > 5.0
    print(f"geodesic error: learned {learned.mean():.2f} deg vs rest pose {rest.mean():.2f} deg (all joints); "
          f"moving joints {learned[:, moving].mean():.2f} vs {rest[:, moving].mean():.2f}")
    assert learned.mean() < 0.65 * rest.mean()
    assert learned[:, moving].mean() < 0.6 * rest[:, moving].mean()
    # the model refuses inputs embedded with the other embedder
    with pytest.raises(Pose2RotError, match="trained with the 'hash-ngram-v1'"):
        solve_learned(tracks, ckpt, device="cpu", embedder="t5")


@torch_mark
def test_learned_solver_on_z_up_tracks_rotates_back(trained):
    from pose2rot_core.solvers.learned import solve_learned

    clip, tracks, ckpt = trained
    short = tracks.frames(0, 40)
    y = solve_learned(short, ckpt, device="cpu")
    z = solve_learned(to_z_up(short), ckpt, device="cpu")
    np.testing.assert_allclose(z.rotations, A.T @ y.rotations @ A, atol=1e-5)


@torch_mark
def test_hybrid_keeps_learned_twist_and_hits_positions(trained):
    from pose2rot_core.solvers import solve
    from pose2rot_core.solvers.geometric import solve_geometric
    from pose2rot_core.solvers.learned import solve_learned

    clip, tracks, ckpt = trained
    learned = solve_learned(tracks, ckpt, device="cpu")
    hybrid = solve(tracks, solver="hybrid", checkpoint=ckpt, device="cpu")
    assert hybrid.solver == "hybrid"
    height = tracks.skeleton.height
    assert np.abs(hybrid.positions - tracks.positions).max() <= 1e-4 * height
    geometric = solve_geometric(tracks)
    target = learned.rotations
    if tracks.reference_rotations is not None and tracks.reference_frame is not None:
        # hybrid anchors the learned motion on the reference pose: L_t L_ref^T R_ref
        at_ref = target[tracks.reference_frame]
        target = target @ (np.swapaxes(at_ref, -1, -2) @ tracks.reference_rotations)[None]
        assert np.degrees(geodesic_angle(hybrid.rotations[tracks.reference_frame],
                                         tracks.reference_rotations)).max() < 0.5
    twist_h, twist_g = bone_twist(hybrid.rotations, target, tracks.skeleton), \
        bone_twist(geometric.rotations, target, tracks.skeleton)
    gt_h = np.degrees(geodesic_angle(hybrid.rotations, clip.rotations)).mean()
    gt_l = np.degrees(geodesic_angle(learned.rotations, clip.rotations)).mean()
    print(f"twist about single-child bones, difference to learned: hybrid {twist_h:.3f} deg, "
          f"geometric {twist_g:.3f} deg; error vs file: hybrid {gt_h:.2f}, learned {gt_l:.2f}")
    assert twist_h < 0.5 and twist_h < 0.2 * twist_g
    assert gt_h < gt_l + 1.0


def bone_twist(Ra: np.ndarray, Rb: np.ndarray, skeleton) -> float:
    """Mean |twist| (deg) of Raᵀ Rb about the bone to the only child, over single-child joints."""
    from pose2rot_core.rotations import matrix_to_quat

    out = []
    for j, ch in enumerate(skeleton.children):
        if len(ch) == 1 and np.linalg.norm(skeleton.offsets[ch[0]]) > 1e-9:
            axis = skeleton.offsets[ch[0]] / np.linalg.norm(skeleton.offsets[ch[0]])
            q = matrix_to_quat(np.swapaxes(Ra[:, j], -1, -2) @ Rb[:, j])
            ang = np.degrees(np.abs(2 * np.arctan2(q[:, 1:] @ axis, q[:, 0])))
            out.append(np.minimum(ang, 360 - ang).mean())
    return float(np.mean(out))


@torch_mark
def test_solve_interface_with_a_missing_joint(trained):
    from pose2rot_core.solvers import solve

    clip, tracks, ckpt = trained
    short = tracks.frames(0, 30)
    P = short.positions.copy()
    j = short.skeleton.index("leftEye")
    P[:, j] = np.nan
    sol = solve(replace(short, positions=P), solver="learned", checkpoint=ckpt, device="cpu")
    np.testing.assert_allclose(sol.rotations[:, j], np.broadcast_to(short.reference_rotations[j], (30, 3, 3)))
    assert any("leftEye" in line for line in sol.report)

"""Helpers for the learned-model tests (torch imported lazily by the callers' importorskip)."""
from __future__ import annotations

import numpy as np

TORCH_REASON = "needs PyTorch (pip install torch transformers safetensors pyyaml tokenizers sentencepiece)"


def random_tree(J: int, rng: np.random.Generator) -> np.ndarray:
    """Parents [J] of a random tree, root 0, parents before children."""
    return np.array([-1] + [int(rng.integers(0, j)) for j in range(1, J)], np.int64)


def random_batch(params: dict, J_valid: list[int], T: int, rng: np.random.Generator, static: float = 0.0,
                 N: int = 3) -> dict:
    """A padded random forward batch (numpy) for clips with J_valid joints each."""
    from pose2rot_core.model_inputs import pad_batch
    from pose2rot_core.rotations import matrix_to_rot6d
    from pose2rot_core.skeleton import Skeleton

    clips = []
    for J in J_valid:
        parents = random_tree(J, rng)
        rest = np.zeros((J, 3))
        for j in range(1, J):
            rest[j] = rest[parents[j]] + rng.normal(size=3)
        sk = Skeleton(tuple(f"j{i}" for i in range(J)), parents, rest)
        q = rng.normal(size=(J, 4))
        from pose2rot_core.rotations import quat_to_matrix
        ref = matrix_to_rot6d(quat_to_matrix(q)).astype(np.float32)
        clips.append({
            "position": np.cumsum(rng.normal(scale=0.05, size=(T, J, 3)), 0).astype(np.float32),
            "offset_a": rng.normal(size=(J, 3)).astype(np.float32),
            "joint_t5embed": rng.normal(scale=0.15, size=(J, params["joint_embed_dim"])).astype(np.float32),
            "joint_mask": np.ones(J, bool),
            "ancestor_mask": sk.ancestor_mask(),
            "graph_hop": sk.hop_distance(),
            "graph_edge": sk.edge_type(),
            "static_rot_joint_mask": rng.random(J) < static,
            "ref_rot6d_a": ref,
            "memory_pose": rng.normal(size=(N, J, 3)).astype(np.float32),
            "memory_rot6d": np.broadcast_to(ref, (N, J, 6)).copy(),
        })
    return pad_batch(clips)


def perturb_(model, seed: int = 0) -> None:
    """Give LayerNorm affine and biases non-default values (as the golden generator did)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name or "head.0" in name:
                p.add_(0.1 * torch.randn(p.shape, generator=g))


def tiny_model(**params):
    """A small random-weight network (torch seeded 0) in eval mode; ``params`` change its shape."""
    import torch

    from pose2rot_core.model import Pose2RotMemoryRestModel

    torch.manual_seed(0)
    shape = dict(q_dim=16, num_heads=2, rest_layers=1, pose_layers=1, memory_layers=1, decoder_layers=1,
                 decoder_use_cross_layers=0)
    return Pose2RotMemoryRestModel(**dict(shape, **params)).eval()

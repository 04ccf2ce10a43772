"""The four sub-networks: rest encoder, pose encoder, memory encoder, rotation decoder
(spec/MODEL.md §3, §4.3–§4.6). Graph layers use the ancestor (tree) mask iff their index
within their own stack is even.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .attention import GraphAttention
from .blocks import DecoderBlock, FiLM, MemoryLayer, RestLayer, TemporalBlock, masked, per_frame_graph


@dataclass
class GraphInputs:
    """Per-clip skeleton tensors: mask [B,J] bool, tree [B,J,J] bool, hop/edge [B,J,J] int64.

    When every joint is valid (no padding) the joint-mask multiplies are skipped: multiplying
    by 1 changes nothing, so results are identical."""

    mask: torch.Tensor
    tree: torch.Tensor
    hop: torch.Tensor
    edge: torch.Tensor

    def __post_init__(self) -> None:
        self.all_valid = bool(self.mask.all())

    @property
    def graph_mask(self) -> torch.Tensor | None:
        """Key/query mask for graph attention (None: all valid)."""
        return None if self.all_valid else self.mask

    def joint_mask(self, ndim: int) -> torch.Tensor | None:
        """Joint mask broadcastable to a [B,J,D] (ndim 2) or [B,T,J,D] (ndim 3) tensor, or None."""
        if self.all_valid:
            return None
        return self.mask[..., None] if ndim == 2 else self.mask[:, None, :, None]

    def token_mask(self, T: int) -> torch.Tensor | None:
        """[B,T,J] token mask for temporal attention, or None."""
        return None if self.all_valid else self.mask[:, None, :].expand(self.mask.shape[0], T, self.mask.shape[1])


class RestPoseEncoder(nn.Module):
    """Rest offsets + joint names -> rest embedding [B,J,D]."""

    def __init__(self, dim: int, embed_dim: int, num_layers: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.offset_proj = nn.Linear(3, dim)
        self.joint_t5proj = nn.Linear(embed_dim, dim)
        self.layers = nn.ModuleList(RestLayer(dim, num_heads, dropout, l % 2 == 0) for l in range(num_layers))
        self.out_norm = nn.LayerNorm(dim)

    def forward(self, offset_a: torch.Tensor, names: torch.Tensor, g: GraphInputs) -> torch.Tensor:
        m = g.joint_mask(2)
        x = masked(self.offset_proj(offset_a) + self.joint_t5proj(names), m)
        for layer in self.layers:
            x = layer(x, g)
        return masked(self.out_norm(x), m)


class PoseEncoderLite(nn.Module):
    """Root-centred positions -> per-token features q_feat [B,T,J,D].

    Each layer: FiLM (optional), temporal block, graph attention on x itself (no norm, no FFN)."""

    def __init__(self, dim: int, embed_dim: int, num_layers: int, num_heads: int, window: int, dropout: float,
                 film: bool, use_graph: bool) -> None:
        super().__init__()
        self.in_proj = nn.Linear(3, dim)
        self.joint_t5proj = nn.Linear(embed_dim, dim)
        self.rest_film_blocks = nn.ModuleList(FiLM(dim) for _ in range(num_layers)) if film else None
        self.temporal_blocks = nn.ModuleList(
            TemporalBlock(dim, num_heads, window, dropout) for _ in range(num_layers))
        self.graph_blocks = nn.ModuleList(
            GraphAttention(dim, num_heads, dropout, l % 2 == 0) for l in range(num_layers)) if use_graph else None
        self.out_norm = nn.LayerNorm(dim)

    def forward(self, position: torch.Tensor, names: torch.Tensor, rest: torch.Tensor, g: GraphInputs,
                checkpointed=None) -> torch.Tensor:
        m = g.joint_mask(3)
        token_mask = g.token_mask(position.shape[1])
        x = masked(self.in_proj(position) + self.joint_t5proj(names)[:, None], m)
        rest_t = rest[:, None]
        for l, temporal in enumerate(self.temporal_blocks):
            if self.rest_film_blocks is not None:
                x = masked(self.rest_film_blocks[l](x, rest_t), m)
            x = temporal(x, token_mask) if checkpointed is None else checkpointed(temporal, x, token_mask)
            if self.graph_blocks is not None:
                x = masked(x + per_frame_graph(self.graph_blocks[l], x, g), m)
        return masked(self.out_norm(x), m)


class MemoryEncoder(nn.Module):
    """Memory poses and 6D rotations -> mem_feat [B,N,J,D] (read only by cross-attention)."""

    def __init__(self, dim: int, embed_dim: int, num_layers: int, num_heads: int, dropout: float, film: bool) -> None:
        super().__init__()
        self.pose_proj = nn.Linear(3, dim)
        self.rot_proj = nn.Linear(6, dim)
        self.joint_t5proj = nn.Linear(embed_dim, dim)
        self.layers = nn.ModuleList(
            MemoryLayer(dim, num_heads, dropout, l % 2 == 0, film) for l in range(num_layers))
        self.out_norm = nn.LayerNorm(dim)

    def forward(self, memory_pose: torch.Tensor, memory_rot6d: torch.Tensor, names: torch.Tensor,
                rest: torch.Tensor, g: GraphInputs) -> torch.Tensor:
        m = g.joint_mask(3)
        x = masked(self.pose_proj(memory_pose) + self.rot_proj(memory_rot6d) + self.joint_t5proj(names)[:, None], m)
        rest_n = rest[:, None]
        for layer in self.layers:
            x = layer(x, rest_n, g)
        return masked(self.out_norm(x), m)


class RotDecoder(nn.Module):
    """q_feat + joint names -> raw 6D [B,T,J,6] (not orthonormalised)."""

    def __init__(self, dim: int, embed_dim: int, num_layers: int, num_heads: int, window: int, dropout: float,
                 cond_mode: str, film: bool, cross_layers: int) -> None:
        super().__init__()
        self.cond_mode = cond_mode
        self.joint_t5proj = nn.Linear(embed_dim, dim)
        self.init_proj = nn.Linear(2 * dim, dim) if cond_mode == "concat" else None
        self.blocks = nn.ModuleList(
            DecoderBlock(dim, num_heads, window, dropout, l % 2 == 0, film, l < cross_layers)
            for l in range(num_layers))
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, 6))

    def forward(self, q_feat: torch.Tensor, names: torch.Tensor, rest: torch.Tensor, memory: torch.Tensor | None,
                g: GraphInputs, checkpointed=None) -> torch.Tensor:
        m = g.joint_mask(3)
        sem = self.joint_t5proj(names)[:, None]
        if self.init_proj is None:
            x = q_feat + sem
        else:
            x = self.init_proj(torch.cat([q_feat, sem.expand_as(q_feat)], dim=-1))
        x = masked(x, m)
        rest_t = rest[:, None]
        for block in self.blocks:
            x = block(x, rest_t, memory, g) if checkpointed is None else checkpointed(block, x, rest_t, memory, g)
        return masked(self.head(x), m)

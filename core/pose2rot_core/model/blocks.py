"""Building blocks shared by the encoders and the decoder (spec/MODEL.md §2.1, §2.2, §2.5, §3).

Every residual sub-step is followed by a multiply with the joint mask, so padded tokens stay
exactly zero. ``jm`` below is the joint mask broadcast to the tensor (bool, True = valid).
"""
from __future__ import annotations

import torch
from torch import nn

from .attention import GraphAttention, MemoryCrossAttention, TemporalAttention


def masked(x: torch.Tensor, m: torch.Tensor | None) -> torch.Tensor:
    """x times the broadcast bool mask m; x itself when m is None (every joint valid)."""
    return x if m is None else x * m


def feed_forward(dim: int, dropout: float) -> nn.Sequential:
    """Linear D→4D, exact GELU, Dropout, Linear 4D→D, Dropout (keys ffn.0.*, ffn.3.*)."""
    return nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(4 * dim, dim), nn.Dropout(dropout))


class FiLM(nn.Module):
    """``x·(1 + 0.1·scale) + shift`` with (scale, shift) = halves of Linear(LN(c)).

    ``cond`` may be smaller than x and broadcast (the rest embedding [B,1,J,D] is projected
    once per clip instead of once per frame)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.to_scale_shift = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 2 * dim))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.to_scale_shift(cond).chunk(2, dim=-1)
        return x * (1 + 0.1 * scale) + shift


class TemporalBlock(nn.Module):
    """Pre-norm transformer block over time: attention then FFN, each masked."""

    def __init__(self, dim: int, num_heads: int, window: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = TemporalAttention(dim, num_heads, window, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = feed_forward(dim, dropout)

    def forward(self, x: torch.Tensor, token_mask: torch.Tensor) -> torch.Tensor:
        """x [B,T,J,D]; token_mask [B,T,J] bool, None when every token is valid."""
        m = None if token_mask is None else token_mask[..., None]
        x = masked(x + self.attn(self.norm1(x), token_mask), m)
        return masked(x + self.ffn(self.norm2(x)), m)


def per_frame_graph(graph: GraphAttention, x: torch.Tensor, g) -> torch.Tensor:
    """Apply a graph attention to every frame of x [B,T,J,D] -> [B,T,J,D].

    g: the skeleton tensors (GraphInputs) with per-clip hop/edge/mask/tree."""
    B, T, J, D = x.shape
    return graph(x.reshape(B * T, J, D), g.hop, g.edge, g.graph_mask, g.tree, group=T).view(B, T, J, D)


class RestLayer(nn.Module):
    """Rest encoder layer: pre-norm graph attention + pre-norm FFN."""

    def __init__(self, dim: int, num_heads: int, dropout: float, use_tree_mask: bool) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.graph = GraphAttention(dim, num_heads, dropout, use_tree_mask)
        self.ffn_norm = nn.LayerNorm(dim)
        self.ffn = feed_forward(dim, dropout)

    def forward(self, x: torch.Tensor, g) -> torch.Tensor:
        """x [B,J,D]."""
        m = g.joint_mask(2)
        x = masked(x + self.graph(self.norm(x), g.hop, g.edge, g.graph_mask, g.tree), m)
        return masked(x + self.ffn(self.ffn_norm(x)), m)


class MemoryLayer(nn.Module):
    """Memory encoder layer: optional FiLM, pre-norm graph attention, pre-norm FFN."""

    def __init__(self, dim: int, num_heads: int, dropout: float, use_tree_mask: bool, film: bool) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.graph = GraphAttention(dim, num_heads, dropout, use_tree_mask)
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = feed_forward(dim, dropout)
        self.film = FiLM(dim) if film else None

    def forward(self, x: torch.Tensor, rest: torch.Tensor, g) -> torch.Tensor:
        """x [B,N,J,D]; rest [B,1,J,D] (rest embedding, broadcast over N)."""
        m = g.joint_mask(3)
        if self.film is not None:
            x = masked(self.film(x, rest), m)
        x = masked(x + per_frame_graph(self.graph, self.norm1(x), g), m)
        return masked(x + self.ffn(self.norm2(x)), m)


class DecoderBlock(nn.Module):
    """FiLM, temporal block, pre-norm graph, optional memory cross-attention, pre-norm FFN."""

    def __init__(self, dim: int, num_heads: int, window: int, dropout: float, use_tree_mask: bool,
                 film: bool, cross: bool) -> None:
        super().__init__()
        self.film = FiLM(dim) if film else None
        self.temporal = TemporalBlock(dim, num_heads, window, dropout)
        self.graph_norm = nn.LayerNorm(dim)
        self.graph = GraphAttention(dim, num_heads, dropout, use_tree_mask)
        self.cross = MemoryCrossAttention(dim, num_heads, dropout) if cross else None
        self.ffn_norm = nn.LayerNorm(dim)
        self.ffn = feed_forward(dim, dropout)

    def forward(self, x: torch.Tensor, rest: torch.Tensor, memory: torch.Tensor | None, g) -> torch.Tensor:
        """x [B,T,J,D]; rest [B,1,J,D]; memory [B,N,J,D] (read only when this block has cross-attention)."""
        m = g.joint_mask(3)
        if self.film is not None:
            x = masked(self.film(x, rest), m)
        x = self.temporal(x, g.token_mask(x.shape[1]))
        x = masked(x + per_frame_graph(self.graph, self.graph_norm(x), g), m)
        if self.cross is not None:
            x = masked(x + self.cross(x, memory, g.mask), m)
        return masked(x + self.ffn(self.ffn_norm(x)), m)

"""Attention layers of the pose2rot network (spec/MODEL.md §2.3, §2.4, §2.6).

Shapes: ``M`` samples (frames or memory slots) × ``J`` joints × ``D`` channels for graph
attention; ``[B,T,J,D]`` for temporal and cross attention. Heads own contiguous channel
blocks of width ``d = D/H``. Masks are bool, True = valid.
"""
from __future__ import annotations

import torch
from torch import nn

NUM_HOP_BUCKETS = 6   # hop distance clamped to max_path_len = 5
NUM_EDGE_BUCKETS = 6  # self, parent, child, sibling, other, (unused)
ATTENTION_MODES = ("banded", "dense")

# Upper bound on the elements of one [m,H,J,J] score block in inference (graph attention is
# evaluated in chunks of frames so memory stays bounded for long clips).
_GRAPH_CHUNK_ELEMENTS = 1 << 23


def _masked_softmax_fp32(scores: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    """Softmax over the last dim of ``scores`` where ``allowed`` (broadcast) is False -> excluded.

    Upstream fills excluded scores with -inf and turns rows that are entirely -inf into zeros
    (uniform softmax). Filling with the dtype's lowest finite value gives exactly the same
    numbers (exp underflows to 0; an all-excluded row is constant, hence uniform) in one pass.
    Computed in float32 and cast back (upstream does so; it matters under autocast)."""
    if allowed is not None:
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
    return torch.softmax(scores.float(), dim=-1).to(scores.dtype)


class GraphAttention(nn.Module):
    """Skeleton attention over the joints of one frame with hop/edge biases.

    Quirk reproduced from upstream: both bias terms use the projections of the QUERY joint
    i, ``bias[i,j] = q_i·Eqh[hop_ij] + k_i·Ekh[hop_ij] + q_i·Eqe[edge_ij] + k_i·Eke[edge_ij]``,
    added before the ``d^-1/2`` scale. Masks are applied again after the softmax
    (multiplicatively, no renormalisation).
    """

    def __init__(self, dim: int, num_heads: int, dropout: float, use_tree_mask: bool) -> None:
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.use_tree_mask = use_tree_mask
        self.linear_q = nn.Linear(dim, dim)
        self.linear_k = nn.Linear(dim, dim)
        self.linear_v = nn.Linear(dim, dim)
        self.output_layer = nn.Linear(dim, dim)
        self.topology_key_emb = nn.Embedding(NUM_HOP_BUCKETS, dim)
        self.edge_key_emb = nn.Embedding(NUM_EDGE_BUCKETS, dim)
        self.topology_query_emb = nn.Embedding(NUM_HOP_BUCKETS, dim)
        self.edge_query_emb = nn.Embedding(NUM_EDGE_BUCKETS, dim)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        M, J, _ = x.shape
        return x.view(M, J, self.num_heads, self.head_dim).transpose(1, 2)  # [M,H,J,d]

    def _table(self, emb: nn.Embedding) -> torch.Tensor:
        # [R,D] -> [1,H,d,R]: per-head columns, ready for a batched matmul with [M,H,J,d]
        R = emb.weight.shape[0]
        return emb.weight.view(R, self.num_heads, self.head_dim).permute(1, 2, 0).unsqueeze(0)

    def forward(self, x: torch.Tensor, hop: torch.Tensor, edge: torch.Tensor, mask: torch.Tensor,
                tree: torch.Tensor | None, group: int = 1) -> torch.Tensor:
        """x [M,J,D]; hop, edge [M/group,J,J] int64; mask [M/group,J] (None: all valid);
        tree [M/group,J,J] or None.

        ``group``: consecutive samples sharing one skeleton (the frames of one clip), so the
        graph tensors are given once per clip. Returns [M,J,D]."""
        M, J, D = x.shape
        q, k, v = self._heads(self.linear_q(x)), self._heads(self.linear_k(x)), self._heads(self.linear_v(x))
        tables = [self._table(e) for e in (self.topology_query_emb, self.topology_key_emb,
                                           self.edge_query_emb, self.edge_key_emb)]
        tree = tree if self.use_tree_mask else None
        step = M if self.training else max(1, _GRAPH_CHUNK_ELEMENTS // (self.num_heads * J * J))
        outs = []
        for s in range(0, M, step):
            e = min(M, s + step)
            clip = torch.arange(s, e, device=x.device) // group
            outs.append(self._core(q[s:e], k[s:e], v[s:e], tables, hop[clip], edge[clip],
                                   None if mask is None else mask[clip],
                                   None if tree is None else tree[clip]))
        o = outs[0] if len(outs) == 1 else torch.cat(outs, 0)
        return self.output_layer(o.transpose(1, 2).reshape(M, J, D))

    def _core(self, q, k, v, tables, hop, edge, mask, tree):
        """Per-chunk attention: q,k,v [m,H,J,d]; hop/edge/tree [m,J,J]; mask [m,J] or None -> [m,H,J,d]."""
        m, H, J, _ = q.shape
        Tq_h, Tk_h, Tq_e, Tk_e = tables
        # bucket scores [m,H,J,R] gathered at [.., i, idx[i,j]]
        hop_bias = torch.gather(torch.matmul(q, Tq_h) + torch.matmul(k, Tk_h), -1, hop[:, None].expand(m, H, J, J))
        edge_bias = torch.gather(torch.matmul(q, Tq_e) + torch.matmul(k, Tk_e), -1, edge[:, None].expand(m, H, J, J))
        scores = ((torch.matmul(q, k.transpose(-1, -2)) + hop_bias) + edge_bias) * self.head_dim ** -0.5
        if mask is None:
            allowed = None if tree is None else tree[:, None]
        else:
            allowed = mask[:, None, None, :] if tree is None else (tree & mask[:, None, :])[:, None]
        attn = _masked_softmax_fp32(scores, allowed)
        if mask is not None:
            attn = attn * mask[:, None, :, None].to(attn.dtype)
        if tree is not None:
            attn = attn * tree[:, None].to(attn.dtype)
        return torch.matmul(self.dropout(attn), v)


def rope_tables(length: int, head_dim: int, device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Interleaved RoPE tables [T,d]: cos and sign-folded sin of ``t·θ_i``, each frequency twice.

    ``sin`` carries the sign of the pair rotation: ``[-s0, s0, -s1, s1, ...]``."""
    half = head_dim // 2
    inv_freq = 1.0 / (10000.0 ** (torch.arange(half, device=device, dtype=torch.float32) / half))
    ang = torch.arange(length, device=device, dtype=torch.float32)[:, None] * inv_freq[None, :]
    cos = ang.cos().to(dtype).repeat_interleave(2, dim=-1)
    sin = ang.sin().to(dtype).repeat_interleave(2, dim=-1)
    sign = torch.tensor([-1.0, 1.0], device=device, dtype=dtype).repeat(half)
    return cos, sin * sign


def apply_rope(x: torch.Tensor, cos: torch.Tensor, signed_sin: torch.Tensor) -> torch.Tensor:
    """x [...,d]: pairs (2i, 2i+1) rotated by t·θ_i: ``x·cos + rot(x)·sin`` with
    ``rot(x) = [-x1, x0, -x3, x2, ...]`` (the sign lives in ``signed_sin``)."""
    swapped = x.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)
    return x * cos + swapped * signed_sin


class TemporalAttention(nn.Module):
    """Per-joint attention over time within ±W frames, RoPE on q/k, relative bias per head.

    ``mode`` "banded" (default) gathers the 2W+1 neighbour keys of each frame: memory and
    time linear in T. "dense" builds the full T×T score matrix exactly as upstream
    (reference for tests). Both give the same result up to float rounding.
    """

    def __init__(self, dim: int, num_heads: int, window: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.head_dim, self.window = num_heads, dim // num_heads, window
        self.linear_q = nn.Linear(dim, dim)
        self.linear_k = nn.Linear(dim, dim)
        self.linear_v = nn.Linear(dim, dim)
        self.output_layer = nn.Linear(dim, dim)
        self.temporal_bias = nn.Embedding(2 * window + 1, num_heads)
        self.attn_dropout = nn.Dropout(dropout)
        self.out_dropout = nn.Dropout(dropout)
        self.mode = "banded"

    def forward(self, x: torch.Tensor, token_mask: torch.Tensor | None) -> torch.Tensor:
        """x [B,T,J,D]; token_mask [B,T,J] bool (None: all valid) -> [B,T,J,D] (padded tokens zero)."""
        if self.mode == "banded":
            return self._banded(x, token_mask)
        if self.mode == "dense":
            return self._dense(x, token_mask)
        raise ValueError(f"attention mode must be one of {ATTENTION_MODES}, got {self.mode!r}")

    def _dense(self, x: torch.Tensor, token_mask: torch.Tensor | None) -> torch.Tensor:
        """Upstream's computation: per-joint sequences [B·J,T,D] and full T×T scores."""
        B, T, J, D = x.shape
        H, d, W = self.num_heads, self.head_dim, self.window
        if token_mask is None:
            token_mask = torch.ones(B, T, J, dtype=torch.bool, device=x.device)
        seq = x.permute(0, 2, 1, 3).contiguous().view(B * J, T, D)
        m = token_mask.permute(0, 2, 1).reshape(B * J, T)

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(B * J, T, H, d).transpose(1, 2)  # [BJ,H,T,d]

        q, k, v = heads(self.linear_q(seq)), heads(self.linear_k(seq)), heads(self.linear_v(seq))
        cos, sin = rope_tables(T, d, x.device, q.dtype)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        t = torch.arange(T, device=x.device)
        delta = t[:, None] - t[None, :]
        bias = self.temporal_bias(delta.clamp(-W, W) + W).permute(2, 0, 1)  # [H,T,T]
        scores = (torch.matmul(q, k.transpose(-1, -2)) + bias) * d ** -0.5
        inside = delta.abs() <= W
        attn = _masked_softmax_fp32(scores, inside & m[:, None, None, :])
        attn = attn * m[:, None, :, None].to(attn.dtype)
        attn = attn * inside.to(attn.dtype)
        o = torch.matmul(self.attn_dropout(attn), v)
        out = self.out_dropout(self.output_layer(o.transpose(1, 2).reshape(B * J, T, D)))
        out = out * m[..., None].to(out.dtype)
        return out.view(B, J, T, D).permute(0, 2, 1, 3)

    def _banded(self, x: torch.Tensor, token_mask: torch.Tensor | None) -> torch.Tensor:
        """Only the 2W+1 keys u = t + δ (|δ| ≤ W) of each frame, in the [B,T,J,·] layout:
        no T×T tensor, no per-joint transpose; work and memory linear in T."""
        B, T, J, D = x.shape
        H, d, W = self.num_heads, self.head_dim, self.window
        q = self.linear_q(x).view(B, T, J, H, d)
        k = self.linear_k(x).view(B, T, J, H, d)
        v = self.linear_v(x).view(B, T, J, H, d)
        cos, sin = rope_tables(T, d, x.device, q.dtype)
        cos, sin = cos[:, None, None, :], sin[:, None, None, :]
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        lowest = torch.finfo(q.dtype).min
        scores = q.new_full((B, T, J, H, 2 * W + 1), lowest)  # slot i <-> δ = i - W; outside the clip excluded
        ranges = [(i, i - W, max(0, W - i), min(T, T - (i - W))) for i in range(2 * W + 1)]
        for i, delta, lo, hi in ranges:
            if lo >= hi:
                continue
            s = (q[:, lo:hi] * k[:, lo + delta:hi + delta]).sum(-1)  # [B,n,J,H]
            s = (s + self.temporal_bias.weight[W - delta].to(s.dtype)) * d ** -0.5  # row = Δ + W, Δ = t - u = -δ
            if token_mask is not None:
                s = s.masked_fill(~token_mask[:, lo + delta:hi + delta, :, None], lowest)
            scores[:, lo:hi, :, :, i] = s
        attn = _masked_softmax_fp32(scores, None)
        if token_mask is not None:
            attn = attn * token_mask[..., None, None].to(attn.dtype)
        attn = self.attn_dropout(attn)
        o = torch.zeros_like(v)
        for i, delta, lo, hi in ranges:
            if lo < hi:
                o[:, lo:hi] += attn[:, lo:hi, :, :, i, None] * v[:, lo + delta:hi + delta]
        out = self.out_dropout(self.output_layer(o.view(B, T, J, D)))
        return out if token_mask is None else out * token_mask[..., None].to(out.dtype)


class MemoryCrossAttention(nn.Module):
    """Cross-attention from each joint's frames to the same joint's memory slots (MODEL.md §2.6).

    Uses ``torch.nn.MultiheadAttention`` itself for parity. Invalid joints are not evaluated
    (their output is zero on every torch version)."""

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.out_proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, joint_mask: torch.Tensor) -> torch.Tensor:
        """x [B,T,J,D]; memory [B,N,J,D]; joint_mask [B,J] -> [B,T,J,D]."""
        B, T, J, D = x.shape
        N = memory.shape[1]
        qs = self.norm_q(x).permute(0, 2, 1, 3).reshape(B * J, T, D)
        kv = self.norm_kv(memory).permute(0, 2, 1, 3).reshape(B * J, N, D)
        rows = joint_mask.reshape(B * J).nonzero(as_tuple=True)[0]
        y = qs.new_zeros(B * J, T, D)
        if rows.numel():
            sel_kv = kv[rows]
            att, _ = self.attn(qs[rows], sel_kv, sel_kv,
                               key_padding_mask=torch.zeros(rows.numel(), N, dtype=torch.bool, device=x.device),
                               need_weights=False)
            y[rows] = att.to(y.dtype)
        y = self.dropout(self.out_proj(y)).view(B, J, T, D).permute(0, 2, 1, 3)
        return y * joint_mask[:, None, :, None].to(y.dtype)

"""``Pose2RotMemoryRestModel``: the pose2rot network, state-dict compatible with upstream.

Forward contract (spec/MODEL.md §4): ``forward(batch) -> {"pred_rot6d" [B,T,J,6],
"rest_embed" [B,J,D], "q_feat" [B,T,J,D], "mem_feat" [B,N,J,D] or None}``.

Differences from upstream that do not change ``pred_rot6d``:
- the memory encoder runs only when a decoder block reads it (``decoder_use_cross_layers``
  resolves to > 0) or when ``need_memory=True`` is passed; otherwise ``mem_feat`` is None;
- the memory inputs, ``static_rot_joint_mask`` and ``ref_rot6d_a`` are optional (defaults:
  no static joints, identity 6D, memory = the first frame with the reference rotations);
- temporal attention is evaluated inside the ±W band only (``attention_mode = "banded"``);
  ``"dense"`` is the T×T reference computation;
- ``embedder`` names the joint-name embedder the weights were trained with ("t5" for the
  published checkpoints); a batch carrying another ``"embedder"`` string is refused.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..errors import Pose2RotError
from .attention import ATTENTION_MODES, TemporalAttention
from .encoders import GraphInputs, MemoryEncoder, PoseEncoderLite, RestPoseEncoder, RotDecoder
from .params import cross_layer_count, resolve_params

IDENTITY_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
REQUIRED_KEYS = ("offset_a", "joint_t5embed", "joint_mask", "ancestor_mask", "graph_hop", "graph_edge")


class Pose2RotMemoryRestModel(nn.Module):
    """The pose2rot network. Keyword arguments: see :data:`params.DEFAULT_PARAMS`."""

    def __init__(self, **params: Any) -> None:
        super().__init__()
        p = resolve_params(params)
        self.params = p
        D, H, E, W, drop = p["q_dim"], p["num_heads"], p["joint_embed_dim"], p["temporal_window"], p["temporal_dropout"]
        self.cross_layers = cross_layer_count(p)
        self.num_memory = p["num_memory"]
        self.use_grad_checkpoint = p["use_grad_checkpoint"]
        self.embedder = "t5"
        self.rest_encoder = RestPoseEncoder(D, E, p["rest_layers"], H, drop)
        self.pose_encoder = PoseEncoderLite(D, E, p["pose_layers"], H, W, drop, p["pose_rest_film"], p["pose_use_graph"])
        self.memory_encoder = MemoryEncoder(D, E, p["memory_layers"], H, drop, p["memory_rest_film"])
        self.decoder = RotDecoder(D, E, p["decoder_layers"], H, W, drop, p["decoder_cond_mode"],
                                  p["decoder_rest_film"], self.cross_layers)

    # ------------------------------------------------------------------ attention mode
    @property
    def attention_mode(self) -> str:
        """"banded" (default; linear in T) or "dense" (T×T reference)."""
        modes = {m.mode for m in self.modules() if isinstance(m, TemporalAttention)}
        return modes.pop() if len(modes) == 1 else "banded"

    @attention_mode.setter
    def attention_mode(self, mode: str) -> None:
        if mode not in ATTENTION_MODES:
            raise Pose2RotError(f"attention_mode must be one of {', '.join(ATTENTION_MODES)}, got {mode!r}")
        for m in self.modules():
            if isinstance(m, TemporalAttention):
                m.mode = mode

    # ------------------------------------------------------------------ forward
    def forward(self, batch: Mapping[str, torch.Tensor], pose_override: torch.Tensor | None = None, *,
                need_memory: bool | None = None) -> dict[str, torch.Tensor | None]:
        """batch: MODEL.md §4.1 tensors; pose_override replaces batch["position"].

        need_memory: run the memory encoder even when no decoder block reads it (returns mem_feat)."""
        missing = [k for k in REQUIRED_KEYS if k not in batch]
        if pose_override is None and "position" not in batch:
            missing.insert(0, "position")
        if missing:
            raise Pose2RotError(f"model input is missing {', '.join(missing)}")
        emb = batch.get("embedder")
        if isinstance(emb, str) and emb != self.embedder:
            raise Pose2RotError(
                f"these weights were trained with the '{self.embedder}' joint-name embedder but the inputs were "
                f"embedded with '{emb}'; use --embedder {self.embedder}")
        position = batch["position"] if pose_override is None else pose_override
        names = batch["joint_t5embed"]
        g = GraphInputs(batch["joint_mask"].bool(), batch["ancestor_mask"].bool(),
                        batch["graph_hop"].long(), batch["graph_edge"].long())
        B, T, J = position.shape[:3]
        if names.shape[-1] != self.params["joint_embed_dim"]:
            raise Pose2RotError(
                f"joint-name embeddings have width {names.shape[-1]} but the model expects "
                f"{self.params['joint_embed_dim']}; use the embedder the model was trained with")
        ref = batch.get("ref_rot6d_a")
        if ref is None:
            ref = position.new_tensor(IDENTITY_6D).expand(B, J, 6)
        static = batch.get("static_rot_joint_mask")

        ckpt = self._checkpointed if (self.use_grad_checkpoint and self.training and torch.is_grad_enabled()) else None
        rest = self.rest_encoder(batch["offset_a"], names, g)
        q_feat = self.pose_encoder(position, names, rest, g, ckpt)
        mem_feat = None
        if self.cross_layers > 0 or need_memory:
            mem_feat = self._memory(batch, position, ref, names, rest, g)
        y = self.decoder(q_feat, names, rest, mem_feat, g, ckpt)
        if static is not None:
            s = static.bool()[:, None, :, None].to(y.dtype)
            y = y * (1 - s) + ref[:, None].to(y.dtype) * s
        return {"pred_rot6d": y, "rest_embed": rest, "q_feat": q_feat, "mem_feat": mem_feat}

    def _memory(self, batch, position, ref, names, rest, g) -> torch.Tensor:
        mem_pose = batch.get("memory_pose")
        mem_rot = batch.get("memory_rot6d")
        if mem_pose is None or mem_rot is None:
            mem_pose, mem_rot = position[:, :1], ref[:, None]
        if self.num_memory is not None and self.num_memory < mem_pose.shape[1]:
            if self.training:
                keep = torch.randperm(mem_pose.shape[1], device=mem_pose.device)[: self.num_memory].sort().values
            else:
                keep = torch.arange(self.num_memory, device=mem_pose.device)
            mem_pose, mem_rot = mem_pose[:, keep], mem_rot[:, keep]
        return self.memory_encoder(mem_pose, mem_rot, names, rest, g)

    @staticmethod
    def _checkpointed(module: nn.Module, *args):
        return checkpoint(module, *args, use_reentrant=False)


def batch_to_torch(batch: Mapping[str, Any], device: str | torch.device = "cpu",
                   dtype: torch.dtype = torch.float32) -> dict[str, Any]:
    """numpy batch (model_inputs.pad_batch) -> tensors on ``device``: floats as ``dtype``,
    integers as int64, bools as bool; strings pass through."""
    out: dict[str, Any] = {}
    for k, v in batch.items():
        if isinstance(v, str) or v is None:
            out[k] = v
            continue
        t = torch.as_tensor(np.asarray(v)) if not isinstance(v, torch.Tensor) else v
        if t.dtype == torch.bool:
            out[k] = t.to(device)
        elif t.is_floating_point():
            out[k] = t.to(device=device, dtype=dtype)
        else:
            out[k] = t.to(device=device, dtype=torch.int64)
    return out

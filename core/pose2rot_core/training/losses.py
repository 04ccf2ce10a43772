"""Loss terms of the published recipe (spec/MODEL.md §7), in torch.

Every term is a *masked* loss: elementwise loss x mask, summed per sample, divided by the
sample's count of masked elements (at least 1), averaged over the batch. SmoothL1 has beta 1.

- ``rot``: SmoothL1(pred 6D, true 6D) on valid, non-static joints;
- ``vel`` / ``acc``: the same on first / second differences over time;
- ``root``: ``rot`` on joint 0 only;
- ``tvar``: L1 between the time-demeaned pred and true 6D (anti-collapse);
- ``fk``: SmoothL1 between FK of the predicted rotations (per-frame ``fk_offset``, root-centred)
  and ``position``, on valid non-root joints; weight from the ramp (config.TrainConfig.fk_weight);
- ``static`` (not upstream, see config): SmoothL1(raw 6D, true 6D) on static joints.

The network is run with no joint marked static; :func:`blend_static` then does upstream's
replacement ``pred = raw (1 - s) + ref s`` so rot/FK terms see exactly upstream's output.
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F

IDENTITY_6D = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def rot6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """[...,6] -> [...,3,3] Gram–Schmidt, rows b1, b2, b3 = b1 x b2 (spec §6.5)."""
    b1 = F.normalize(x[..., 0:3], dim=-1, eps=1e-12)
    a2 = x[..., 3:6]
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1, eps=1e-12)
    return torch.stack([b1, b2, torch.cross(b1, b2, dim=-1)], dim=-2)


def fk_positions(R: torch.Tensor, offsets: torch.Tensor, parents: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """Root-centred joint positions [B,T,J,3] (spec §6.6): ``G_j = G_parent R_j``,
    ``p_j = p_parent + G_parent O_j``, root at 0.

    R: local rotations [B,T,J,3,3]; offsets: parent-local offsets [B,T,J,3]; parents [B,J]
    (root and padding: any index, they stay at depth 0); depth [B,J] tree depth (root 0)."""
    B, T, J = R.shape[:3]
    G = R
    p = torch.zeros(B, T, J, 3, dtype=R.dtype, device=R.device)
    idx = parents.long()[:, None, :].expand(B, T, J)
    for level in range(1, int(depth.max().item()) + 1):
        sel = (depth == level)[:, None, :]
        Gp = torch.gather(G, 2, idx[..., None, None].expand(B, T, J, 3, 3))
        pp = torch.gather(p, 2, idx[..., None].expand(B, T, J, 3))
        G = torch.where(sel[..., None, None], Gp @ R, G)
        p = torch.where(sel[..., None], pp + (Gp @ offsets[..., None])[..., 0], p)
    return p


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-sample sum of ``values`` x ``mask`` over the sample's masked element count, batch mean.
    values: [B,...]; mask broadcastable to values."""
    m = mask.to(values.dtype).expand_as(values)
    dims = tuple(range(1, values.dim()))
    return ((values * m).sum(dims) / m.sum(dims).clamp(min=1.0)).mean()


def blend_static(raw: torch.Tensor, ref: torch.Tensor, static: torch.Tensor) -> torch.Tensor:
    """Upstream's static replacement: raw [B,T,J,6], ref [B,J,6], static [B,J] bool."""
    s = static[:, None, :, None].to(raw.dtype)
    return raw * (1 - s) + ref[:, None].to(raw.dtype) * s


def loss_terms(raw: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Unweighted loss terms for raw network output [B,T,J,6] (float32) and a training batch."""
    gt = batch["rot6d"]
    valid = batch["joint_mask"].bool()
    static = batch["static_mask"].bool() & valid
    rot_mask = (batch["rot_mask"].bool() & valid)[:, None, :, None]  # [B,1,J,1]
    pred = blend_static(raw, batch["ref_rot6d_a"], static)
    sl1 = lambda a, b: F.smooth_l1_loss(a, b, reduction="none", beta=1.0)  # noqa: E731
    terms = {"rot": masked_mean(sl1(pred, gt), rot_mask)}
    dp, dg = pred.diff(dim=1), gt.diff(dim=1)
    terms["vel"] = masked_mean(sl1(dp, dg), rot_mask)
    terms["acc"] = masked_mean(sl1(dp.diff(dim=1), dg.diff(dim=1)), rot_mask)
    terms["root"] = masked_mean(sl1(pred[:, :, :1], gt[:, :, :1]), rot_mask[:, :, :1])
    terms["tvar"] = masked_mean((pred - pred.mean(1, keepdim=True) - (gt - gt.mean(1, keepdim=True))).abs(), rot_mask)
    ident = pred.new_tensor(IDENTITY_6D)
    safe = torch.where(valid[:, None, :, None], pred, ident)  # padded joints: identity, no NaN gradients
    pos = fk_positions(rot6d_to_matrix(safe), batch["fk_offset"], batch["parents"], batch["depth"])
    pos_mask = valid.clone()
    pos_mask[:, 0] = False
    terms["fk"] = masked_mean(sl1(pos, batch["position"]), pos_mask[:, None, :, None])
    terms["static"] = masked_mean(sl1(raw, gt), static[:, None, :, None])
    return terms


def total_loss(terms: Mapping[str, torch.Tensor], weights: Mapping[str, float], fk_weight: float) -> torch.Tensor:
    """Weighted sum: ``weights`` for every term but fk, ``fk_weight`` for fk."""
    total = terms["fk"] * fk_weight
    for name, w in weights.items():
        if w:
            total = total + terms[name] * w
    return total

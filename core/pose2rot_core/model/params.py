"""Constructor parameters of the pose2rot network (no torch needed).

The 16 keyword arguments of upstream ``Pose2RotMemoryRestModel`` plus ``num_memory``
(spec/MODEL.md §1). :func:`resolve_params` fills defaults, rejects unknown names and
impossible values with a :class:`Pose2RotError`.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..errors import Pose2RotError

#: Upstream defaults (not the released configuration: see RELEASED_PARAMS).
DEFAULT_PARAMS: dict[str, Any] = {
    "q_dim": 256,
    "rest_layers": 2,
    "pose_layers": 2,
    "memory_layers": 2,
    "decoder_layers": 4,
    "num_heads": 8,
    "joint_embed_dim": 768,
    "temporal_window": 2,
    "temporal_dropout": 0.1,
    "decoder_cond_mode": "add",
    "pose_rest_film": True,
    "memory_rest_film": True,
    "decoder_rest_film": True,
    "pose_use_graph": True,
    "use_grad_checkpoint": False,
    "decoder_use_cross_layers": None,
    "num_memory": None,
}

#: The configuration of the published checkpoints (v8b, v9 all-data, v10 held-out).
RELEASED_PARAMS: dict[str, Any] = dict(
    DEFAULT_PARAMS, rest_layers=4, pose_layers=4, memory_layers=4, decoder_layers=10,
    decoder_use_cross_layers=0)
del RELEASED_PARAMS["num_memory"]

_INT_KEYS = ("q_dim", "rest_layers", "pose_layers", "memory_layers", "decoder_layers", "num_heads",
             "joint_embed_dim", "temporal_window")
_BOOL_KEYS = ("pose_rest_film", "memory_rest_film", "decoder_rest_film", "pose_use_graph", "use_grad_checkpoint")


def resolve_params(params: Mapping[str, Any] | None = None, where: str = "model params") -> dict[str, Any]:
    """Validated full parameter dict (defaults filled in). Raises Pose2RotError on bad input."""
    params = dict(params or {})
    unknown = sorted(set(params) - set(DEFAULT_PARAMS))
    if unknown:
        raise Pose2RotError(
            f"{where}: unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(DEFAULT_PARAMS)}")
    out = dict(DEFAULT_PARAMS, **params)
    for k in _INT_KEYS:
        v = out[k]
        if isinstance(v, bool) or not isinstance(v, int):
            raise Pose2RotError(f"{where}: {k} must be an integer, got {v!r}")
        if v < (1 if k in ("q_dim", "num_heads", "joint_embed_dim") else 0):
            raise Pose2RotError(f"{where}: {k} must be positive, got {v}")
    for k in _BOOL_KEYS:
        if not isinstance(out[k], bool):
            raise Pose2RotError(f"{where}: {k} must be true or false, got {out[k]!r}")
    D, H = out["q_dim"], out["num_heads"]
    if D % H or (D // H) % 2:
        raise Pose2RotError(
            f"{where}: q_dim ({D}) must be a multiple of num_heads ({H}) with an even head width (RoPE)")
    if not (isinstance(out["temporal_dropout"], (int, float)) and 0.0 <= out["temporal_dropout"] < 1.0):
        raise Pose2RotError(f"{where}: temporal_dropout must be in [0,1), got {out['temporal_dropout']!r}")
    if out["decoder_cond_mode"] not in ("add", "concat"):
        raise Pose2RotError(f"{where}: decoder_cond_mode must be 'add' or 'concat', got {out['decoder_cond_mode']!r}")
    c = out["decoder_use_cross_layers"]
    if c is not None and (isinstance(c, bool) or not isinstance(c, int)):
        raise Pose2RotError(f"{where}: decoder_use_cross_layers must be an integer or null, got {c!r}")
    k = out["num_memory"]
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, int):
            raise Pose2RotError(f"{where}: num_memory must be an integer or null, got {k!r}")
        if k == -1:
            raise Pose2RotError(f"{where}: num_memory=-1 is a broken upstream option; use null (all) or a count >= 1")
        if k <= 0:
            raise Pose2RotError(f"{where}: num_memory must be >= 1 or null, got {k}")
    return out


def cross_layer_count(params: Mapping[str, Any]) -> int:
    """C: number of leading decoder blocks with memory cross-attention (None = all, clamped)."""
    L = int(params["decoder_layers"])
    c = params.get("decoder_use_cross_layers")
    return L if c is None else max(0, min(int(c), L))


def parameter_count(params: Mapping[str, Any]) -> int:
    """Number of parameters of a model built from ``params`` (MODEL.md §3 formulas), no torch."""
    p = resolve_params(params)
    D, E, W, H = p["q_dim"], p["joint_embed_dim"], p["temporal_window"], p["num_heads"]
    ln, ffn, film = 2 * D, 8 * D * D + 5 * D, 2 * D * D + 4 * D
    graph = 4 * D * D + 28 * D
    temporal_block = 4 * D * D + 4 * D + (2 * W + 1) * H + 2 * ln + ffn
    proj = D * E + D
    rest = 4 * D + proj + p["rest_layers"] * (graph + 2 * ln + ffn) + ln
    pose = 4 * D + proj + ln + p["pose_layers"] * (
        temporal_block + (film if p["pose_rest_film"] else 0) + (graph if p["pose_use_graph"] else 0))
    memory = 4 * D + 7 * D + proj + ln + p["memory_layers"] * (
        graph + 2 * ln + ffn + (film if p["memory_rest_film"] else 0))
    C = cross_layer_count(p)
    block = (film if p["decoder_rest_film"] else 0) + temporal_block + ln + graph + ln + ffn
    decoder = proj + (2 * D * D + D if p["decoder_cond_mode"] == "concat" else 0) \
        + p["decoder_layers"] * block + C * (5 * D * D + 9 * D) + ln + D * D + D + 6 * D + 6
    return rest + pose + memory + decoder

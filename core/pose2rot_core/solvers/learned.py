"""Learned solver: the pose2rot network predicts every joint's local rotation.

Pipeline: tracks -> model inputs (``model_inputs.build_inputs``: Y-up model frame, root
centring, scale) -> network (banded temporal attention, ``torch.inference_mode``) -> raw 6D
-> Gram–Schmidt (``rotations.rot6d_to_matrix``) -> local rotations converted back to the
tracks' axes (``R = Aᵀ R_model A``). Root translation = the tracks' root position.

Clips longer than ``window`` frames run in overlapping windows (``overlap`` frames shared);
in the overlaps the raw 6D is cross-faded linearly before Gram–Schmidt. The network's
temporal attention is relative (RoPE + relative bias), so windows need no position offset.

Positions are not reproduced exactly (the network predicts rotations only); the hybrid solver
adds the exact geometric correction.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..embeddings import HASH_FAMILY, check_embedder, embed_joint_names
from ..errors import Pose2RotError
from ..model import require_torch
from ..model_inputs import build_inputs, pad_batch
from ..options import PRECISIONS
from ..rotations import rot6d_to_matrix
from ..solution import Solution
from ..tracks import Tracks

DEFAULT_WINDOW = 1024
DEFAULT_OVERLAP = 64

_MODELS: dict[tuple, tuple[Any, Any]] = {}


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "cuda" when available, else "cpu"; other values are checked (an OptionError of the
    ``device`` setting, which each interface names)."""
    from ..options import OptionError

    torch = require_torch()
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    dev = str(device)
    if dev.startswith("cuda") and not torch.cuda.is_available():
        raise OptionError("device", f"is '{dev}', but PyTorch sees no CUDA GPU here: set it to cpu (or auto)")
    try:
        kind = torch.device(dev).type
    except RuntimeError:
        kind = None
    if kind not in ("cpu", "cuda"):                 # mps, xla, meta: not a device this solver runs on
        raise OptionError("device", f"'{dev}' is no device this solver runs on (use auto, cpu, cuda or cuda:N)")
    count = torch.cuda.device_count() if kind == "cuda" else 0
    if kind == "cuda" and (torch.device(dev).index or 0) >= count:
        known = ", ".join(f"cuda:{i}" for i in range(count))
        raise OptionError("device", f"is '{dev}', but PyTorch sees {count} CUDA GPU{'s' if count != 1 else ''} here "
                                    f"({known}): give {'one of them' if count > 1 else 'cuda:0'}, cuda or auto")
    return dev


def get_model(checkpoint: str | os.PathLike, config: str | os.PathLike | Mapping | None = None,
              device: str = "cpu"):
    """(model, CheckpointContents), loaded once per (file, config, device) in this process."""
    from ..checkpoint import load_model

    path = Path(checkpoint)
    if not path.is_file():
        raise Pose2RotError(f"checkpoint '{path}' does not exist")
    cfg_key = repr(sorted(config.items())) if isinstance(config, Mapping) else str(config)
    key = (str(path.resolve()), path.stat().st_mtime_ns, cfg_key, device)
    if key not in _MODELS:
        _MODELS[key] = load_model(path, config, device)
    return _MODELS[key]


def assumed_embedder(checkpoint: str | os.PathLike) -> str:
    """What a solve says of weights at ``checkpoint`` that do not record their joint-name embedder
    (read_checkpoint's CheckpointContents.embedder_known), and how to record it."""
    return ("assumed: the checkpoint does not record its joint-name embedder, so t5, the published model's, is "
            f"used; weights trained with the built-in hash embedder need it recorded: 'pose2rot model convert "
            f"{checkpoint} --out NEW.safetensors --embedder hash', or their run's config.yaml (which names it) given "
            "as the model config")


def _assumed(error: Pose2RotError, checkpoint: str | os.PathLike) -> Pose2RotError:
    """``error`` of the T5 embedder of weights that do not record their embedder, saying that T5 was
    only assumed (an OptionError keeps its field, so each interface names it)."""
    from ..options import OptionError

    why = assumed_embedder(checkpoint)
    if isinstance(error, OptionError):
        return OptionError(error.field, f"{error.problem} ({why})")
    return type(error)(f"{error} ({why})")


def _check_width(width: int, contents, family: str, t5: str | os.PathLike | None,
                 checkpoint: str | os.PathLike) -> None:
    """Refuse joint-name embeddings ``width`` wide for weights that take another width
    (``joint_embed_dim``), saying which side is wrong: the T5 encoder given (an OptionError of the
    ``t5`` setting), or, for the hash embedder, whose width is fixed, the file's record."""
    from ..embeddings import HASH_FAMILY, t5_source
    from ..options import OptionError

    wide = contents.params["joint_embed_dim"]
    if width == wide:
        return
    if family == HASH_FAMILY:
        raise Pose2RotError(
            f"checkpoint '{checkpoint}' takes joint-name embeddings {wide} wide (joint_embed_dim), but the hash "
            f"embedder it is recorded with ({contents.config_source}) gives {width}: no weights trained with that "
            "embedder have this shape, so the record is wrong and these weights cannot run as it says (weights "
            f"trained with a T5 encoder {wide} wide need their config's embedder set to 't5')")
    error = OptionError("t5", f"'{t5_source(t5)}' gives joint-name embeddings {width} wide, but checkpoint "
                              f"'{checkpoint}' takes {wide} (joint_embed_dim): give the T5 encoder it was trained with")
    raise error if contents.embedder_known else _assumed(error, checkpoint)


def window_starts(T: int, window: int, overlap: int) -> list[int]:
    """Start frames of windows of ``window`` frames covering 0..T-1, consecutive ones sharing
    at least ``overlap`` frames (the last window ends at T)."""
    if window < 1 or not 0 <= overlap < window:
        raise Pose2RotError(f"window ({window}) must be >= 1 and overlap ({overlap}) in [0, window)")
    if T <= window:
        return [0]
    step = window - overlap
    starts = list(range(0, T - window, step))
    starts.append(T - window)
    return starts


def _fade_weights(length: int, fade_in: int, fade_out: int) -> np.ndarray:
    w = np.ones(length)
    if fade_in:
        w[:fade_in] = (np.arange(fade_in) + 0.5) / fade_in
    if fade_out:
        w[length - fade_out:] = np.minimum(w[length - fade_out:], (np.arange(fade_out)[::-1] + 0.5) / fade_out)
    return w


def predict_rot6d(model, arrays: Mapping[str, np.ndarray], device: str = "cpu", window: int = DEFAULT_WINDOW,
                  overlap: int = DEFAULT_OVERLAP, precision: str = "fp32",
                  progress: Callable[[float, str], None] | None = None) -> np.ndarray:
    """Raw 6D [T,J,6] (float64) for one clip's unbatched inputs, windowed and cross-faded."""
    torch = require_torch()
    from ..model.network import batch_to_torch

    from ..options import OptionError

    if precision not in PRECISIONS:
        raise OptionError("precision", f"must be one of {', '.join(PRECISIONS)}, got '{precision}'")
    dev_type = torch.device(device).type
    if precision != "fp32" and dev_type != "cuda":
        raise OptionError("precision", f"'{precision}' needs a CUDA device: use fp32 on {device}")
    position = np.asarray(arrays["position"])
    T, J = position.shape[:2]
    starts = window_starts(T, window, overlap)
    acc = np.zeros((T, J, 6))
    wsum = np.zeros(T)
    static = {k: v for k, v in arrays.items() if k != "position"}
    for n, s in enumerate(starts):
        e = min(T, s + window)
        clip = dict(static, position=position[s:e])
        batch = batch_to_torch(pad_batch([clip]), device)
        with torch.inference_mode(), torch.autocast(dev_type, dtype=_dtype(torch, precision),
                                                    enabled=precision != "fp32"):
            pred = model(batch)["pred_rot6d"][0].float().cpu().numpy().astype(np.float64)
        fade_in = (starts[n - 1] + window - s) if n > 0 else 0
        fade_out = (e - starts[n + 1]) if n + 1 < len(starts) else 0
        w = _fade_weights(e - s, fade_in, fade_out)
        acc[s:e] += w[:, None, None] * pred
        wsum[s:e] += w
        if progress:
            progress((n + 1) / len(starts), f"network window {n + 1}/{len(starts)}")
    return acc / wsum[:, None, None]


def _dtype(torch, precision: str):
    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def default_overlap(window: int) -> int:
    """Frames shared by consecutive windows of ``window`` frames: DEFAULT_OVERLAP, at most half a
    window (a window as short as the training ones, 48 frames, must still run)."""
    return min(DEFAULT_OVERLAP, max(0, int(window) // 2))


def solve_learned(tracks: Tracks, checkpoint: str | os.PathLike, config: str | os.PathLike | Mapping | None = None,
                  t5: str | os.PathLike | None = None, device: str = "auto", window: int = DEFAULT_WINDOW,
                  overlap: int | None = None, progress: Callable[[float, str], None] | None = None,
                  missing: np.ndarray | None = None, embedder: str | None = None,
                  cache_dir: str | os.PathLike | None = None, scale: float | None = None,
                  static_joints: Sequence[str] = (), precision: str = "fp32") -> Solution:
    """Local rotations [T,J,3,3] predicted by the network for ``tracks``.

    checkpoint/config: weights file and optional upstream YAML; t5: T5 model id or directory;
    device: "auto" (CUDA when available), "cpu", "cuda[:N]"; window/overlap: frames per network
    pass and frames shared by consecutive passes (default: :func:`default_overlap`); embedder:
    "t5"/"hash" (default: the model's); scale: model scale s (default: model_inputs.clip_scale);
    static_joints: names whose rotation is the reference one; precision: "fp32", or "bf16"/"fp16"
    autocast on CUDA.
    Joints without any data (``missing``) keep their reference rotation (identity without one)."""
    require_torch()
    if overlap is None:
        overlap = default_overlap(window)
    dev = resolve_device(device)
    if progress:
        progress(0.0, "loading the model")
    model, contents = get_model(checkpoint, config, dev)
    family = check_embedder(model.embedder, embedder)
    skel = tracks.skeleton
    try:
        names = embed_joint_names(skel.names, family, t5=t5, cache_dir=cache_dir, device=dev)
    except Pose2RotError as e:
        raise e if contents.embedder_known else _assumed(e, checkpoint) from None
    _check_width(names.shape[1], contents, family, t5, checkpoint)
    inputs = build_inputs(tracks, names, scale=scale, static_joints=static_joints, embedder=family)
    sub = None if progress is None else (lambda f, m: progress(0.05 + 0.9 * f, m))
    raw = predict_rot6d(model, inputs.arrays, dev, window, overlap, precision, sub)
    A = inputs.axes
    rotations = A.T @ rot6d_to_matrix(raw) @ A
    no_data = inputs.filled.copy()
    if missing is not None:
        no_data[np.asarray(missing, np.int64)] = True
    if no_data.any():
        ref = tracks.reference_rotations if tracks.reference_rotations is not None else np.eye(3)[None].repeat(skel.num_joints, 0)
        rotations[:, no_data] = ref[no_data]
    root = tracks.positions[:, 0]
    if np.isnan(root).any():
        from ..tracks_io import fill_gaps

        root = fill_gaps(tracks.positions[:, :1])[0][:, 0]
    T, J = rotations.shape[:2]
    local_offsets = np.broadcast_to(skel.offsets, (T, J, 3)).copy()
    local_offsets[:, 0] = root
    assumed = "" if contents.embedder_known else f" ({assumed_embedder(checkpoint)})"
    report = [f"learned: {Path(checkpoint).name} ({contents.config_source}), embedder {family}{assumed}, "
              f"device {dev}, model scale s = {inputs.scale:.6g} file units"]
    if t5 and family == HASH_FAMILY:                   # said, not silently dropped: the user gave it
        report.append(f"learned: the T5 encoder given is not used (t5='{t5}'): this model embeds joint names with "
                      f"the built-in hash embedder ({HASH_FAMILY}), which needs no T5")
    if T > window:
        report.append(f"learned: {len(window_starts(T, window, overlap))} windows of {window} frames "
                      f"({overlap} overlapping)")
    if progress:
        progress(1.0, "learned rotations done")
    return Solution(skel, rotations, root.copy(), local_offsets, np.zeros(J, bool), report, solver="learned")

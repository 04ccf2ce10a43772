"""Training data: BVH clips -> normalised random windows -> padded batches (spec/MODEL.md §6).

Per clip (:func:`prepare_clip`): FK joint positions of the clip become tracks
(``tracks_io.tracks_from_bvh``), and the model inputs come from ``model_inputs.build_inputs``
exactly as at inference (Y-up model frame, root centring, graph features, ``offset_a``); the
targets are the clip's local rotations as 6D (``rotations.matrix_to_rot6d``, first two rows);
``fk_offset`` are the per-frame parent-local offsets (the FK loss reproduces ``position`` with
them). The model scale is ``model_inputs.clip_scale`` of the clip, as at inference.

Per sample (:meth:`WindowSampler.sample`): a clip (uniformly), a random window of
``window`` frames (the whole clip when shorter clips had to be used, see
:func:`choose_window`), a random reference frame in it (``ref_rot6d_a``, memory), a random yaw
``R_y`` (root rotation ``R_0' = R_y R_0``, positions ``p' = R_y p``; offsets unchanged), a scale
jitter, and the static joints (:func:`static_joint_mask`). Batches mix rigs: joints are padded
(``model_inputs.pad_batch`` for the model inputs, zeros for the targets) and masked.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import embeddings
from ..bvh import BvhClip, read_bvh
from ..errors import Pose2RotError
from ..model_inputs import build_inputs, clip_scale, pad_batch
from ..rotations import geodesic_angle, matrix_to_rot6d
from ..tracks_io import tracks_from_bvh
from .config import TrainConfig

#: keys of a batch that are training targets (the rest are model inputs)
TARGET_KEYS = ("rot6d", "fk_offset", "parents", "depth", "rot_mask", "static_mask")


# ------------------------------------------------------------------------------- files and splits
def collect_bvh(paths: Sequence[str | Path]) -> list[Path]:
    """BVH files from files and folders (folders: every ``*.bvh`` below, sorted). An empty or blank
    path is refused: to Python it is the current folder (an unset shell variable), read whole."""
    if any(not str(p).strip() for p in paths):
        raise Pose2RotError("training data: a path is empty (to Python, the current folder): give BVH files or "
                            "folders")
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() == ".bvh")
            if not found:
                raise Pose2RotError(f"folder '{p}' holds no .bvh files")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise Pose2RotError(f"training data '{p}' does not exist (give BVH files or folders)")
    return list(dict.fromkeys(out))


def clip_frames(clip: BvhClip, start: int, stop: int, suffix: str = "") -> BvhClip:
    """The frames ``start:stop`` of a clip as a clip of its own (name gets ``suffix``)."""
    if not 0 <= start < stop <= clip.num_frames:
        raise Pose2RotError(f"{clip.name}: frames {start}:{stop} are outside the clip (0..{clip.num_frames})")
    return replace(clip, rotations=clip.rotations[start:stop], root_translation=clip.root_translation[start:stop],
                   local_offsets=clip.local_offsets[start:stop], name=clip.name + suffix)


def rig_key(clip: BvhClip) -> tuple:
    """Identity of a rig: joint names and parents."""
    return tuple(clip.skeleton.names), tuple(int(p) for p in clip.skeleton.parents)


def split_clips(paths: Sequence[Path], holdout: Sequence[str] = (), holdout_split: float = 0.0
                ) -> tuple[list[BvhClip], list[BvhClip], list[str]]:
    """(training clips, held-out clips, notes).

    holdout: clips held out whole, by file name, stem or path. holdout_split: fraction of frames
    (the end of the clip) held out from every clip whose rig has no whole held-out clip."""
    if not 0.0 <= holdout_split < 1.0:
        raise Pose2RotError(f"--holdout-split must be in [0, 1), got {holdout_split}")
    wanted = {str(h) for h in holdout}
    clips = []
    for p in paths:
        clip = read_bvh(p)
        clip.name = p.stem
        whole = bool(wanted & {p.name, p.stem, str(p)})
        wanted -= {p.name, p.stem, str(p)}
        clips.append((clip, whole))
    if wanted:
        raise Pose2RotError(f"--holdout names clips that are not in the data: {', '.join(sorted(wanted))}")
    held_rigs = {rig_key(c) for c, whole in clips if whole}
    train, held, notes = [], [], []
    for clip, whole in clips:
        if whole:
            held.append(clip)
        elif holdout_split > 0 and rig_key(clip) not in held_rigs:
            cut = clip.num_frames - int(round(holdout_split * clip.num_frames))
            if cut < 3 or cut >= clip.num_frames:
                notes.append(f"{clip.name}: {clip.num_frames} frames are too few to split; used for training only")
                train.append(clip)
                continue
            train.append(clip_frames(clip, 0, cut, f"[0:{cut}]"))
            held.append(clip_frames(clip, cut, clip.num_frames, f"[{cut}:{clip.num_frames}]"))
        else:
            train.append(clip)
    if not train:
        raise Pose2RotError("no training clips left after holding out")
    return train, held, notes


def choose_window(lengths: Sequence[int], window: int) -> int:
    """Window length: ``window``, or the longest clip's length when every clip is shorter
    (clips shorter than the window are skipped)."""
    return min(window, max(lengths))


# ------------------------------------------------------------------------------- per clip
@dataclass
class ClipData:
    """One training clip, unnormalised (file units, model axes, root-centred).

    inputs: ``build_inputs`` arrays at scale 1 (``position`` [T,J,3] root-centred, ``offset_a``
    [J,3], graph, masks, embeddings, ``embedder``). rotations [T,J,3,3] local; fk_offset [T,J,3]
    per-frame parent-local offsets; parents/depth [J]; scale: model scale s of the clip."""

    name: str
    inputs: dict
    rotations: np.ndarray
    fk_offset: np.ndarray
    parents: np.ndarray
    depth: np.ndarray
    scale: float

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.rotations.shape[1])


def prepare_clip(clip: BvhClip, name_embeddings: np.ndarray, embedder: str) -> ClipData:
    """Training arrays of one clip (see module docstring). name_embeddings: [J,E]."""
    tracks = tracks_from_bvh(clip)
    inputs = build_inputs(tracks, name_embeddings, scale=1.0, embedder=embedder)
    A = inputs.axes  # identity for BVH tracks (Y-up); kept for generality
    rotations = A @ clip.rotations @ A.T
    skel = clip.skeleton
    return ClipData(name=clip.name, inputs=inputs.arrays, rotations=rotations,
                    fk_offset=clip.local_offsets @ A.T, parents=np.maximum(skel.parents, 0),
                    depth=skel.depth(), scale=clip_scale(inputs.arrays["position"]))


def embed_rigs(clips: Sequence[BvhClip], embedder: str, t5: str | None = None, device: str = "cpu"
               ) -> list[np.ndarray]:
    """[J,E] joint-name embeddings per clip (each distinct name embedded once)."""
    names = list(dict.fromkeys(n for c in clips for n in c.skeleton.names))
    table = dict(zip(names, embeddings.embed_joint_names(names, embedder, t5=t5, device=device)))
    return [np.stack([table[n] for n in c.skeleton.names]).astype(np.float32) for c in clips]


def static_joint_mask(rotations: np.ndarray, ref: int, degrees: float = 2.0) -> np.ndarray:
    """[J] bool: joints whose local rotation stays within ``degrees`` of frame ``ref``'s over all
    frames of ``rotations`` [T,J,3,3]."""
    ang = np.degrees(geodesic_angle(rotations, rotations[ref][None]))
    return ang.max(axis=0) <= degrees


def yaw_matrix(theta: float) -> np.ndarray:
    """[3,3] rotation by ``theta`` radians about the model's up axis (Y)."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def apply_yaw(position: np.ndarray, rotations: np.ndarray, R_yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions [T,J,3] rotated, local rotations [T,J,3,3] with the root's pre-multiplied)."""
    rot = rotations.copy()
    rot[:, 0] = R_yaw @ rotations[:, 0]
    return position @ R_yaw.T, rot


# ------------------------------------------------------------------------------- sampling
class WindowSampler:
    """Random training samples and padded batches from prepared clips."""

    def __init__(self, clips: Sequence[ClipData], config: TrainConfig, rng: np.random.Generator) -> None:
        if not clips:
            raise Pose2RotError("no training clips")
        self.window = choose_window([c.num_frames for c in clips], config.window)
        if self.window < 3:
            raise Pose2RotError(f"training clips need at least 3 frames (the longest has {self.window})")
        self.skipped = [c.name for c in clips if c.num_frames < self.window]
        self.clips = [c for c in clips if c.num_frames >= self.window]
        self.config = config
        self.rng = rng

    @property
    def notes(self) -> list[str]:
        out = []
        if self.window < self.config.window:
            out.append(f"every clip is shorter than {self.config.window} frames: windows of {self.window} frames")
        out += [f"{n}: shorter than the {self.window}-frame window, skipped" for n in self.skipped]
        return out

    def windows_per_epoch(self) -> int:
        """Number of windows that cover every training clip once (an 'epoch')."""
        return int(sum(int(np.ceil(c.num_frames / self.window)) for c in self.clips))

    def sample(self, clip: ClipData | None = None, start: int | None = None, ref: int | None = None,
               yaw: float | None = None, scale_factor: float | None = None) -> dict[str, np.ndarray]:
        """One sample (unbatched arrays); unspecified choices are random."""
        rng, cfg = self.rng, self.config
        if clip is None:
            clip = self.clips[int(rng.integers(len(self.clips)))]
        W = self.window
        if start is None:
            start = int(rng.integers(clip.num_frames - W + 1))
        if ref is None:
            ref = int(rng.integers(W))
        if yaw is None:
            yaw = float(rng.uniform(0.0, 2 * np.pi)) if cfg.yaw else 0.0
        if scale_factor is None:
            scale_factor = float(np.exp(rng.uniform(-cfg.scale_jitter, cfg.scale_jitter))) if cfg.scale_jitter else 1.0
        s = clip.scale * scale_factor
        win = slice(start, start + W)
        R_yaw = yaw_matrix(yaw)
        position, rotations = apply_yaw(clip.inputs["position"][win], clip.rotations[win], R_yaw)
        rot6d = matrix_to_rot6d(rotations).astype(np.float32)
        position = (position / s).astype(np.float32)
        static = static_joint_mask(clip.rotations, start + ref, cfg.static_degrees)
        sample = {k: v for k, v in clip.inputs.items() if k not in ("position", "memory_pose", "memory_rot6d")}
        sample.update(
            position=position,
            offset_a=(clip.inputs["offset_a"] / s).astype(np.float32),
            ref_rot6d_a=rot6d[ref].copy(),
            memory_pose=position[ref:ref + 1].copy(),
            memory_rot6d=rot6d[ref][None].copy(),
            static_rot_joint_mask=np.zeros(clip.num_joints, bool),  # the losses blend (see losses.py)
            rot6d=rot6d,
            fk_offset=(clip.fk_offset[win] / s).astype(np.float32),
            parents=clip.parents,
            depth=clip.depth,
            static_mask=static,
            rot_mask=~static,
        )
        return sample

    def batch(self, size: int | None = None) -> dict[str, np.ndarray]:
        """A padded batch of ``size`` random samples (default: the configured batch)."""
        return collate([self.sample() for _ in range(size or self.config.batch)])


def collate(samples: Sequence[dict]) -> dict[str, np.ndarray]:
    """Pad samples to the largest joint count: model inputs by ``model_inputs.pad_batch``,
    targets with zeros (masks False, so ``rot_mask`` = valid & not static)."""
    inputs = pad_batch([{k: v for k, v in s.items() if k not in TARGET_KEYS} for s in samples])
    B, T, J = inputs["position"].shape[:3]
    out = dict(inputs)
    for key in TARGET_KEYS:
        first = np.asarray(samples[0][key])
        joint_axis = 1 if key in ("rot6d", "fk_offset") else 0
        shape = list(first.shape)
        shape[joint_axis] = J
        arr = np.zeros([B] + shape, first.dtype)
        for b, s in enumerate(samples):
            a = np.asarray(s[key])
            arr[(b,) + tuple(slice(0, n) for n in a.shape)] = a
        out[key] = arr
    return out


def load_training_clips(clips: Sequence[BvhClip], embedder: str, t5: str | None = None,
                        device: str = "cpu") -> list[ClipData]:
    """Prepared training arrays for every clip (names embedded once per distinct name)."""
    embedder = embeddings.embedder_family(embedder)
    embs = embed_rigs(clips, embedder, t5, device)
    return [prepare_clip(c, e, embedder) for c, e in zip(clips, embs)]

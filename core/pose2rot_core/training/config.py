"""Model presets and the training recipe (spec/MODEL.md §1, §6.7, §7), no torch needed.

Presets (``--config``):
- ``small``: q_dim 64, 4 heads, layers rest/pose/memory/decoder 2/2/1/3, window 2, memory
  cross-attention in every decoder block (912,490 parameters; practical on 2 CPU cores). Unlike the
  released shape it reads the reference pose (the memory), which the ``ref`` protocol and Blender's
  "current pose" reference give: on the dev set this took the learned error from about 45° to 17°;
- ``full``: the released configuration (29,700,150 parameters).
A YAML file in the upstream layout (``model: {target, params}``) gives any other shape.

Recipe (:class:`TrainConfig`), as published unless noted:
- Adam, lr 2e-4, linear warm-up from 0 over ``min(500, 10 % of the steps)`` optimiser steps,
  constant afterwards, gradient-norm clip 1.0, bf16 autocast on CUDA (fp32 on CPU);
- random ``window`` = 48-frame windows with a random reference frame, a uniformly random yaw
  about the up (Y) axis applied to the root rotation and the positions;
- loss weights rot 1, vel 1, acc 1, root 0.1, tvar 2, fk ramped 0 -> 10. Upstream ramped by
  epoch (5 -> 15 of 60); here by step: 0 before 10 % of the steps, linear to 10 at 30 %, 10
  after, so short runs get the same shape;
- joints that stay within ``static_degrees`` = 2° of the reference-frame rotation over the
  whole clip are static: excluded from rot/vel/acc/root/tvar as upstream. Not upstream: their
  raw output is still pulled to the truth by the ``static`` term (weight 1), because inference
  marks no joint static and would otherwise read an unsupervised output for them;
- not upstream: the model scale ``s`` of a clip (``model_inputs.clip_scale``, the same rule as
  inference) is multiplied per sample by ``exp(u)``, ``u ~ U(-scale_jitter, scale_jitter)``,
  because inference computes ``s`` on the clip being solved, whose extent differs a little.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import Pose2RotError
from ..model.params import RELEASED_PARAMS, resolve_params

SMALL_PARAMS: dict[str, Any] = dict(
    RELEASED_PARAMS, q_dim=64, num_heads=4, rest_layers=2, pose_layers=2, memory_layers=1, decoder_layers=3,
    temporal_window=2, decoder_use_cross_layers=None)
PRESETS: dict[str, dict[str, Any]] = {"small": SMALL_PARAMS, "full": dict(RELEASED_PARAMS)}
MODEL_TARGET = "models.v2.pose2rot.model.Pose2RotMemoryRestModel"


def model_params(config: str | None) -> tuple[dict[str, Any], str, str | None]:
    """(resolved constructor params, description, joint-name embedder id) for a preset name or an
    upstream YAML path; the embedder is the one a YAML's ``embedder:`` line names (a run's own
    config.yaml has one), else None (presets, upstream configs)."""
    if config is None or config in PRESETS:
        name = config or "small"
        return resolve_params(PRESETS[name], where=f"preset '{name}'"), f"preset {name}", None
    from ..checkpoint import read_yaml_config_embedder

    params, embedder = read_yaml_config_embedder(config)
    return params, f"config {config}", embedder


def config_settings(config: str | None) -> dict[str, Any]:
    """The training settings (:class:`TrainConfig` fields) a YAML config's ``train:`` section gives (a
    run's config.yaml: the settings it was trained with; its records of the run, data, holdout and
    source, are not settings); {} for presets and configs without one."""
    if config is None or config in PRESETS:
        return {}
    from ..checkpoint import read_yaml_train

    defaults = TrainConfig().to_dict()
    settings = {k: v for k, v in read_yaml_train(config).items() if k in defaults}
    for k, v in settings.items():
        want = defaults[k]
        kind = (bool if isinstance(want, bool) else (int, float) if isinstance(want, (int, float)) else type(want))
        if not isinstance(v, kind) or (isinstance(v, bool) and kind != bool):
            raise Pose2RotError(f"config '{config}': its 'train:' setting '{k}: {v}' is not what a training run "
                                f"writes there (e.g. '{k}: {want}'): put back the run's value, or delete the line")
    return settings


@dataclass
class TrainConfig:
    """Training options (see module docstring). steps: optimiser steps in total."""

    steps: int = 2000
    batch: int = 8
    lr: float = 2e-4
    warmup: int = 500
    warmup_fraction: float = 0.1
    grad_clip: float = 1.0
    window: int = 48
    seed: int = 0
    yaw: bool = True
    scale_jitter: float = 0.1
    static_degrees: float = 2.0
    weights: dict[str, float] = field(default_factory=lambda: {
        "rot": 1.0, "vel": 1.0, "acc": 1.0, "root": 0.1, "tvar": 2.0, "static": 1.0})
    fk_max: float = 10.0
    fk_ramp: tuple[float, float] = (0.1, 0.3)

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1:
            raise Pose2RotError(f"steps ({self.steps}) and batch ({self.batch}) must be at least 1")
        if not 0 < self.lr < float("inf"):
            raise Pose2RotError(f"learning rate must be positive and finite, got {self.lr}")
        if self.window < 3:
            raise Pose2RotError(f"window must be at least 3 frames (velocity and acceleration terms), got {self.window}")

    def warmup_steps(self) -> int:
        """Linear warm-up length: ``min(warmup, warmup_fraction x steps)``, at least 1."""
        return max(1, min(self.warmup, int(self.warmup_fraction * self.steps)))

    def fk_weight(self, step: int) -> float:
        """FK loss weight at optimiser step ``step`` (0-based): 0 -> fk_max between the ramp fractions."""
        a, b = (f * self.steps for f in self.fk_ramp)
        if step < a:
            return 0.0
        if step >= b or b <= a:
            return self.fk_max
        return self.fk_max * (step - a) / (b - a)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["fk_ramp"] = list(self.fk_ramp)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "fk_ramp" in kw:
            kw["fk_ramp"] = tuple(kw["fk_ramp"])
        return cls(**kw)

"""The training loop of ``pose2rot train``: model, optimiser, schedule, checkpoints, curves.

A run directory holds:
- ``last.pt`` (latest) and ``step_NNNNNN.pt`` checkpoints in the upstream container
  ``{model_state, optimizer_state, epoch}`` plus ``step`` and ``config: {params, embedder}``
  (what ``core.checkpoint`` reads), so ``pose2rot solve --solver learned|hybrid --checkpoint
  RUN_DIR/last.pt`` uses the right shape and joint-name embedder;
- ``config.yaml``: upstream layout ``model: {target, params}`` plus ``embedder`` and ``train``;
- ``history.json``: losses per logged step and held-out figures; ``loss_curves.png`` (matplotlib).

Epochs: an epoch is ``ceil(windows / batch)`` steps, where ``windows`` covers every training clip
once with non-overlapping windows; clips are drawn uniformly in any case.
"""
from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..embeddings import HASH_FAMILY, check_embedder, embedder_family
from ..errors import Pose2RotError, write_whole
from ..model import INSTALL_HINT, require_torch
from .config import MODEL_TARGET, PRESETS, TrainConfig, config_settings, model_params
from .data import WindowSampler, clip_frames, collect_bvh, load_training_clips, split_clips
from .holdout import evaluate_clips, holdout_report, mean_angle, max_position_error
from .losses import loss_terms, total_loss

LAST = "last.pt"
LOG_TERMS = ("rot", "vel", "acc", "root", "tvar", "fk", "static")
TRAIN_PROBE_FRAMES = 96  # frames per training clip in the --eval-every train-set figures


@dataclass
class TrainResult:
    """What a run produced. history: logged steps; holdout: held-out figures per evaluation."""

    run_dir: Path
    checkpoint: Path
    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)
    holdout: list[dict] = field(default_factory=list)
    report: str = ""
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------- checkpoints
def save_run_checkpoint(path: Path, model, optimizer, step: int, epoch: int) -> Path:
    """Write the upstream container with ``step`` and our ``config`` entry (weights_only-safe)."""
    torch = require_torch()
    obj = {"model_state": model.state_dict(), "optimizer_state": optimizer.state_dict(), "epoch": int(epoch),
           "step": int(step), "config": {"params": _plain_params(model.params), "embedder": model.embedder}}
    write_whole(path, "checkpoint", lambda f: torch.save(obj, f), binary=True)
    return path


def _plain_params(params: dict) -> dict:
    """Constructor params without ``num_memory`` when unset (absent from upstream configs)."""
    return {k: v for k, v in params.items() if not (k == "num_memory" and v is None)}


def write_config_yaml(path: Path, params: dict, embedder: str, config: TrainConfig, extra: dict) -> None:
    """Upstream-layout YAML (``model: {target, params}``) plus ``embedder`` and ``train``."""
    try:
        import yaml
    except ImportError:
        raise Pose2RotError(f"writing config.yaml needs PyYAML: {INSTALL_HINT}") from None
    doc = {"model": {"target": MODEL_TARGET, "params": _plain_params(params)}, "embedder": embedder,
           "train": dict(config.to_dict(), **extra)}
    write_whole(path, "config", lambda f: f.write(yaml.safe_dump(doc, sort_keys=False)))


def plot_curves(path: Path, history: Sequence[dict], holdout: Sequence[dict]) -> bool:
    """Loss curves (and held-out error when measured) as a PNG; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = 2 if holdout else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.2), squeeze=False)
    ax = axes[0, 0]
    steps = [h["step"] for h in history]
    dots = "o" if len(steps) == 1 else None                  # a line through one point draws nothing (--steps 1)
    for name in ("total",) + LOG_TERMS:
        vals = [h.get(name, float("nan")) for h in history]
        if any(v > 0 for v in vals):
            ax.plot(steps, vals, label=name, lw=1.6 if name == "total" else 1.0, marker=dots)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title("training losses (unweighted terms, weighted total)")
    ax.legend(fontsize=7)
    if holdout:
        ax = axes[0, 1]
        hs = [h["step"] for h in holdout]
        ax.plot(hs, [h["hybrid_ref"] for h in holdout], "o-", label="hybrid (ref)")
        if all("learned_ref" in h for h in holdout):
            ax.plot(hs, [h["learned_ref"] for h in holdout], "s-", label="learned (ref)")
            ax.set_yscale("log")  # the learned error is an order of magnitude above the others
        if all("train_hybrid_ref" in h for h in holdout):
            ax.plot(hs, [h["train_hybrid_ref"] for h in holdout], "o:", color="tab:purple",
                    label="hybrid, training excerpts")
            ax.axhline(holdout[0]["train_geometric_ref"], color="tab:purple", ls="--", lw=0.8,
                       label="geometric, training excerpts")
        ax.axhline(holdout[0]["geometric_ref"], color="k", ls="--", label="geometric (ref)")
        ax.axhline(0.7 * holdout[0]["geometric_ref"], color="g", ls=":", label="0.7 x geometric")
        ax.set_xlabel("step")
        ax.set_ylabel("mean rotation error, ref protocol (°)")
        ax.set_title("held-out and training-excerpt error")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ------------------------------------------------------------------------------- setup
def _resolve_embedder(requested: str | None, init_embedder: str | None, t5: str | None) -> str:
    if init_embedder is not None:
        return check_embedder(init_embedder, requested)
    if requested is not None:
        return embedder_family(requested)
    import os

    return embedder_family("t5") if (t5 or os.environ.get("POSE2ROT_T5")) else HASH_FAMILY


def _build_model(params: dict, state: dict | None, embedder: str, where: str):
    from ..checkpoint import check_state_matches
    from ..model.network import Pose2RotMemoryRestModel

    model = Pose2RotMemoryRestModel(**params)
    if state is not None:
        check_state_matches(model, state, params, where)
        model.load_state_dict(state, strict=True)
    model.embedder = embedder
    return model


def _lr_at(step: int, config: TrainConfig) -> float:
    """Linear warm-up from 0 (first step lr/warm), then constant."""
    return config.lr * min(1.0, (step + 1) / config.warmup_steps())


def _steps_for(steps: int | None, epochs: int | None, sampler: WindowSampler, batch: int, default: int) -> int:
    if steps is not None and epochs is not None:
        raise Pose2RotError("give --steps or --epochs, not both")
    if epochs is not None:
        return epochs * math.ceil(sampler.windows_per_epoch() / batch)
    return default if steps is None else steps


# ------------------------------------------------------------------------------- the run
@dataclass(frozen=True)
class TrainRequest:
    """What a training run is asked for (the options of ``pose2rot train``; see its --help). ``data`` (BVH
    files or folders) and ``holdout`` (clip names) take one item alone as well as a sequence of them."""

    data: str | Path | Sequence[str | Path]
    out: str | Path
    config: str | None = None
    init: str | None = None
    steps: int | None = None
    epochs: int | None = None
    device: str = "auto"
    resume: bool = False
    holdout: str | Sequence[str] = ()
    holdout_split: float = 0.0
    embedder: str | None = None
    t5: str | None = None
    batch: int | None = None
    lr: float | None = None
    seed: int | None = None
    save_every: int | None = None
    eval_every: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        for name in ("data", "holdout"):                 # a str is a sequence too: of one-letter paths
            value = getattr(self, name)
            object.__setattr__(self, name, [value] if isinstance(value, (str, PathLike)) else list(value))


@dataclass
class _Start:
    """Where a run starts: model params and weights (None: new), embedder family, schedule, optimiser
    state, step, the logs so far, a description of the source and notes for the user."""

    params: dict
    state: dict | None
    family: str
    config: TrainConfig
    source: str
    opt_state: dict | None = None
    step: int = 0
    history: list[dict] = field(default_factory=list)
    held_log: list[dict] = field(default_factory=list)
    split: dict | None = None
    notes: list[str] = field(default_factory=list)


def _resumed(req: TrainRequest, last: Path) -> _Start:
    """The run in ``last``'s folder, continued (its schedule, with --batch/--lr overriding; a --seed
    other than the run's own is refused)."""
    from ..checkpoint import read_checkpoint

    if not last.is_file():
        raise Pose2RotError(f"--resume: '{last}' does not exist (nothing to resume in {last.parent})")
    if req.init:
        raise Pose2RotError("--resume continues a run; it cannot be combined with --init")
    if req.config:
        raise Pose2RotError(f"--resume continues the run in '{last.parent}' with its own model shape; drop "
                            f"--config {req.config}, or give another --out to train a new model")
    contents = read_checkpoint(last)
    family = check_embedder(contents.embedder, req.embedder)
    prev = _run_history(last.parent / "history.json")
    overrides = {k: v for k, v in (("batch", req.batch), ("lr", req.lr)) if v is not None}
    try:
        cfg = TrainConfig.from_dict(dict(TrainConfig.from_dict(prev.get("train", {})).to_dict(), **overrides))
    except (TypeError, ValueError) as e:
        raise Pose2RotError(f"--resume: the settings in '{last.parent / 'history.json'}' ('train') are not the run's "
                            f"({e}): put back the file the run wrote, or train a new run with another --out") from None
    if req.seed is not None and req.seed != cfg.seed:          # its draws go on from where they stopped
        raise Pose2RotError(f"--resume continues the run in '{last.parent}' with its own seed (--seed {cfg.seed}): "
                            f"give the same or leave --seed out, or give another --out to train a new run with "
                            f"--seed {req.seed}")
    step = int(contents.extra.get("step") or 0)
    return _Start(contents.params, contents.state, family, cfg, f"resumed from {last} at step {step}",
                  contents.extra.get("optimizer_state"), step, prev.get("history", []), prev.get("holdout", []),
                  prev.get("split"))


def _held_out_choice(req: TrainRequest, stored: dict | None) -> dict:
    """{"holdout": [...], "holdout_split": x}: the request's, or a resumed run's own (``stored``) where the
    request names none; a resumed run given another choice is refused (its held-out clips would be
    trained on, or its held-out figures change meaning)."""
    asked = {"holdout": list(req.holdout), "holdout_split": float(req.holdout_split)}
    if stored is None:
        return asked
    if (asked["holdout"] or asked["holdout_split"]) and asked != stored:
        raise Pose2RotError(f"--resume continues the run with its own held-out data (--holdout "
                            f"{' '.join(stored['holdout']) or '(none)'} --holdout-split {stored['holdout_split']:g}); "
                            "give the same or leave them out")
    return stored


def _fresh(req: TrainRequest, last: Path) -> _Start:
    """A new model (preset or config) or a fine-tuning of ``req.init``. A new model's joint-name embedder:
    --embedder, else the one a config's ``embedder:`` names (--embedder differing from it is noted),
    else the default (_resolve_embedder)."""
    from ..checkpoint import read_checkpoint

    if last.exists():
        raise Pose2RotError(f"'{last.parent}' already holds a run ({LAST}); use --resume to continue it or another --out")
    if req.config is not None and req.config not in PRESETS and not Path(req.config).exists():
        raise Pose2RotError(f"--config '{req.config}' is neither a preset ({', '.join(PRESETS)}) nor a file that "
                            f"exists: give {', '.join(PRESETS)} or the path of a YAML config")
    if req.init and req.config in PRESETS:
        raise Pose2RotError(f"--init fine-tunes '{req.init}' in its own shape, which --config {req.config} cannot "
                            "change: leave --config out (or leave --init out to train a new model of that shape)")
    cfg, notes = _fresh_settings(req)
    if req.init:
        contents = read_checkpoint(req.init, req.config)            # a config.yaml names the run's embedder
        known = contents.embedder if contents.embedder_known or req.embedder is None else req.embedder  # else T5
        return _Start(contents.params, contents.state, _resolve_embedder(req.embedder, known, req.t5),
                      cfg, f"fine-tuning {req.init} ({contents.config_source})", notes=notes)
    params, desc, named = model_params(req.config)
    if named is not None and req.embedder is not None and embedder_family(req.embedder) != named:
        notes.append(f"--embedder {req.embedder} is used, not the joint-name embedder {named} that config "
                     f"'{req.config}' names")
    family = _resolve_embedder(req.embedder if req.embedder is not None else named, None, req.t5)
    return _Start(params, None, family, cfg, f"new model, {desc}", notes=notes)


def _fresh_settings(req: TrainRequest) -> tuple[TrainConfig, list[str]]:
    """The settings of a new run or fine-tuning: the flags given (--steps, --batch, --lr, --seed), else
    those of a YAML --config's ``train:`` section (a run's config.yaml), else the defaults; notes say
    which the config gave and which flags it named otherwise."""
    given = {k: v for k, v in config_settings(req.config).items() if not (k == "steps" and req.epochs is not None)}
    flags = {k: getattr(req, k) for k in ("steps", "batch", "lr", "seed") if getattr(req, k) is not None}
    try:
        cfg = TrainConfig.from_dict({**given, **flags})
    except (TypeError, ValueError, Pose2RotError) as e:        # the flags are checked: the config's values
        raise Pose2RotError(f"config '{req.config}': its 'train:' settings are not a training run's ({e}): put "
                            "back the ones the run wrote, or delete them") from None
    defaults = TrainConfig().to_dict()
    taken = {k: v for k, v in given.items() if k not in flags and v != defaults[k]}
    over = [k for k in flags if k in given and given[k] != flags[k]]
    notes = [f"config '{req.config}' gives the training settings " + ", ".join(f"{k} {v}" for k, v in taken.items())
             + " (its 'train:' section; a flag wins over each)"] if taken else []
    if over:
        notes.append(", ".join(f"--{k} {flags[k]}" for k in over) + " used, not the " + ", ".join(
            f"{k} {given[k]}" for k in over) + f" that config '{req.config}' gives")
    return cfg, notes


@dataclass
class _Run:
    """A prepared run: where it writes, what it trains, on what, and how long."""

    run_dir: Path
    device: str
    start: _Start
    config: TrainConfig
    total: int
    sampler: WindowSampler
    model: Any
    optimizer: Any
    held: "_HeldOut"
    save_every: int | None
    notes: list[str]
    split: dict


def run_training(data: str | Path | Sequence[str | Path], out: str | Path, *, log: Callable[[str], None] = print,
                 progress: bool = True, **options: Any) -> TrainResult:
    """Train (or fine-tune, or resume) on BVH ``data`` (a file or folder, or a sequence of them) into run
    folder ``out``; ``options``: the other fields of :class:`TrainRequest` (see the CLI help of
    ``pose2rot train``)."""
    t_start = time.perf_counter()
    run = _prepare(TrainRequest(data, out, **options), log)
    seconds = _train(run, log, progress)
    total = run.total - run.start.step
    last = run.run_dir / LAST
    log(f"trained {total} step(s) in {seconds:.1f} s ({total / seconds:.2f} steps/s); checkpoint {last}")
    result = TrainResult(run.run_dir, last, run.total, seconds, run.start.history, run.start.held_log, notes=run.notes)
    if run.held.clips:
        _, result.report = holdout_report(run.held.clips, last, run.device, run.held.geometric)
        (run.run_dir / "holdout.txt").write_text(result.report + "\n", encoding="utf-8")
        log("held-out evaluation (geometric vs learned vs hybrid):\n" + result.report)
    if plot_curves(run.run_dir / "loss_curves.png", run.start.history, run.start.held_log):
        log(f"loss curves -> {run.run_dir / 'loss_curves.png'}")
    else:
        log("note: matplotlib is not installed: no loss_curves.png (history.json has the numbers)")
    log(f"total time {time.perf_counter() - t_start:.1f} s")
    return result


def _check_numbers(req: TrainRequest) -> None:
    """Refuse a count below 1, a negative seed (numpy's generators take none) or a learning rate that
    is not positive and finite, by its flag."""
    for name in ("steps", "epochs", "batch", "save_every", "eval_every", "threads"):
        value = getattr(req, name)
        if value is not None and value < 1:
            raise Pose2RotError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if req.seed is not None and req.seed < 0:
        raise Pose2RotError(f"--seed must be 0 or more, got {req.seed}")
    if req.lr is not None and not 0 < req.lr < math.inf:
        raise Pose2RotError(f"--lr must be positive and finite, got {req.lr}")


def _prepare(req: TrainRequest, log: Callable[[str], None]) -> _Run:
    """Everything before the first step: device, start, data, schedule, model, optimiser, config.yaml."""
    torch = require_torch()
    from ..solvers.learned import resolve_device

    if not str(req.out).strip():                              # '' is '.' to Path: the current folder
        raise Pose2RotError("run_training: out (--out) is empty: give a folder for the run's files (it is "
                            "created where missing)")
    _check_numbers(req)
    if req.threads:
        torch.set_num_threads(int(req.threads))
    dev = resolve_device(req.device)
    run_dir = Path(req.out)
    if run_dir.exists() and not run_dir.is_dir():
        raise Pose2RotError(f"--out '{run_dir}' is a file; the run needs a folder (checkpoints, config.yaml, "
                            "history): give a new or existing folder")
    start = _resumed(req, run_dir / LAST) if req.resume else _fresh(req, run_dir / LAST)
    split = _held_out_choice(req, start.split)
    if req.eval_every and not (split["holdout"] or split["holdout_split"]):
        raise Pose2RotError("--eval-every scores the held-out clips, and none are held out: add --holdout CLIP or "
                            "--holdout-split 0.25, or leave --eval-every out")
    paths = collect_bvh(req.data)
    train_clips, held_clips, notes = split_clips(paths, split["holdout"], split["holdout_split"])
    notes = start.notes + notes
    if req.t5 and start.family == HASH_FAMILY:                 # said, not silently dropped: the user gave it
        notes.append(f"--t5 {req.t5} is not used: the run's joint-name embedder is the built-in hash embedder "
                     f"({HASH_FAMILY}), which needs no T5")
    log(f"data: {len(train_clips)} training clip(s), {len(held_clips)} held out; embedder {start.family}; device {dev}")
    cfg = start.config
    sampler = WindowSampler(load_training_clips(train_clips, start.family, req.t5, dev), cfg,
                            np.random.default_rng([cfg.seed, start.step]))
    notes += sampler.notes
    total = _steps_for(req.steps, req.epochs, sampler, cfg.batch, max(cfg.steps, start.step))
    cfg = TrainConfig.from_dict(dict(cfg.to_dict(), steps=total))
    if total <= start.step:
        raise Pose2RotError(f"the run is already at step {start.step}; give --steps larger than that to continue")
    for n in notes:
        log(f"note: {n}")
    torch.manual_seed(cfg.seed + start.step)
    try:
        model = _build_model(start.params, start.state, start.family, req.init or str(run_dir / LAST))
    except Pose2RotError as e:
        if not (req.init and req.config):
            raise
        raise Pose2RotError(f"--init keeps the shape of the weights it fine-tunes, and config '{req.config}' gives "
                            f"another: leave --config out; {e}") from None
    model.to(dev).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    if start.opt_state is not None:
        optimizer.load_state_dict(start.opt_state)
    run_dir.mkdir(parents=True, exist_ok=True)
    extra = {"data": [str(p) for p in paths], "holdout": [c.name for c in held_clips], "window": sampler.window,
             "source": start.source}
    write_config_yaml(run_dir / "config.yaml", start.params, start.family, cfg, extra)
    log(f"model: {sum(p.numel() for p in model.parameters()):,} parameters ({start.source}); "
        f"{total - start.step} step(s) of batch {cfg.batch}, {sampler.window}-frame windows")
    held = _HeldOut.prepare(held_clips, train_clips, req.eval_every)
    return _Run(run_dir, dev, start, cfg, total, sampler, model, optimizer, held, req.save_every, notes, split)


def train_step(model, optimizer, batch: dict, config: TrainConfig, fk_weight: float,
               autocast: dict | None = None) -> tuple[Any, dict]:
    """One optimiser step on a torch ``batch``: forward (under ``autocast``: torch.autocast keywords),
    the loss terms and their weighted total (FK term weighted ``fk_weight``), backward, gradient
    clipping, Adam. Returns (total loss, terms); a loss that is not finite is returned untaken."""
    torch = require_torch()
    with torch.autocast(**(autocast or {"device_type": "cpu", "enabled": False})):
        raw = model(batch)["pred_rot6d"]
    terms = loss_terms(raw.float(), batch)
    loss = total_loss(terms, config.weights, fk_weight)
    if not torch.isfinite(loss):
        return loss, terms
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    return loss, terms


def _train(run: _Run, log: Callable[[str], None], progress: bool) -> float:
    """The optimiser steps with logging, checkpoints and held-out checks; returns training seconds
    (held-out checks excluded)."""
    from ..model.network import batch_to_torch

    torch = require_torch()
    cfg, start, last = run.config, run.start, run.run_dir / LAST
    kind = torch.device(run.device).type
    autocast = dict(device_type=kind, dtype=torch.bfloat16, enabled=kind == "cuda")
    ckpt_every = min([n for n in (run.save_every, run.held.eval_every) if n] or [run.total])
    per_epoch = max(1, math.ceil(run.sampler.windows_per_epoch() / cfg.batch))
    bar = _Bar(run.total, start.step, progress)
    log_every = max(1, (run.total - start.step) // 200)
    t_train, cpu_train, eval_time = time.perf_counter(), time.process_time(), 0.0  # eval_time: held-out checks
    for step in range(start.step, run.total):
        lr_now = _lr_at(step, cfg)
        for g in run.optimizer.param_groups:
            g["lr"] = lr_now
        fk_w = cfg.fk_weight(step)
        loss, terms = train_step(run.model, run.optimizer, batch_to_torch(run.sampler.batch(), run.device), cfg,
                                 fk_w, autocast)
        if not torch.isfinite(loss):
            raise Pose2RotError(f"training diverged at step {step + 1} (loss {loss.item()}); lower --lr")
        done = step + 1
        if done % log_every == 0 or done == run.total or step == start.step:
            rec = {"step": done, "total": float(loss.item()), "lr": lr_now, "fk_weight": fk_w,
                   "seconds": time.perf_counter() - t_train - eval_time, "cpu_seconds": time.process_time() - cpu_train}
            rec.update({k: float(terms[k].item()) for k in LOG_TERMS})
            start.history.append(rec)
            bar.update(done, rec)
        if done % ckpt_every == 0 or done == run.total:
            if not all(bool(torch.isfinite(p).all()) for p in run.model.parameters()):  # a loss from the weights before
                raise Pose2RotError(f"training diverged at step {done} (weights not finite); lower --lr")
            epoch = done // per_epoch
            save_run_checkpoint(last, run.model, run.optimizer, done, epoch)
            if run.save_every and (done % run.save_every == 0 or done == run.total):
                save_run_checkpoint(run.run_dir / f"step_{done:06d}.pt", run.model, run.optimizer, done, epoch)
            if run.held.due(done, run.total):
                t_eval = time.perf_counter()
                start.held_log.append(run.held.check(last, done, t_eval - t_train - eval_time, run.device, log))
                eval_time += time.perf_counter() - t_eval
            _write_json(run.run_dir / "history.json", {"train": cfg.to_dict(), "history": start.history,
                                                       "holdout": start.held_log, "split": run.split})
    bar.close()
    return time.perf_counter() - t_train - eval_time


@dataclass
class _HeldOut:
    """The held-out clips of a run, their geometric scores, and (with --eval-every) the training
    excerpts scored alongside them."""

    clips: list
    geometric: list
    eval_every: int | None = None
    probe: tuple[list, list] | None = None   # (training excerpts, their geometric scores)

    @classmethod
    def prepare(cls, clips: list, train_clips: list, eval_every: int | None) -> "_HeldOut":
        geometric = evaluate_clips(clips, "geometric") if clips else []
        probe = None
        if eval_every and clips:
            excerpts = [clip_frames(c, 0, min(c.num_frames, TRAIN_PROBE_FRAMES)) for c in train_clips]
            probe = (excerpts, evaluate_clips(excerpts, "geometric", protocols=("ref",)))
        return cls(clips, geometric, eval_every, probe)

    def due(self, step: int, total: int) -> bool:
        """Whether the held-out figures are measured after ``step``."""
        return bool(self.eval_every and self.clips and (step % self.eval_every == 0 or step == total))

    def check(self, ckpt: Path, step: int, seconds: float, device: str, log) -> dict:
        """Hybrid and learned (ref protocol) on ``device`` on the held-out clips against the geometric
        baseline.

        The solves are those of ``pose2rot solve --solver hybrid|learned`` (hybrid anchored on the
        reference pose). The same figures on the first frames of every training clip tell over- from
        under-fitting."""
        rec: dict[str, Any] = {"step": step, "train_seconds": seconds,
                               "geometric_ref": mean_angle(self.geometric, "geometric", "ref")}
        for solver in ("hybrid", "learned"):
            scores = evaluate_clips(self.clips, solver, ckpt, protocols=("ref",), device=device)
            rec[f"{solver}_ref"] = mean_angle(scores, solver, "ref")
            if solver == "hybrid":
                rec["hybrid_pos_err_max"] = max_position_error(scores, "hybrid")
                rec["joints"] = {"hybrid": _joint_means(scores), "geometric": _joint_means(self.geometric)}
        rec["ratio"] = rec["hybrid_ref"] / rec["geometric_ref"]
        line = (f"held-out at step {step}: hybrid {rec['hybrid_ref']:.2f}°, learned {rec['learned_ref']:.2f}° vs "
                f"geometric {rec['geometric_ref']:.2f}° (ref) = {rec['ratio']:.3f}x; "
                f"max position error {rec['hybrid_pos_err_max']:.2g} % of height")
        if self.probe is not None:
            train_clips, train_geo = self.probe
            rec["train_geometric_ref"] = mean_angle(train_geo, "geometric", "ref")
            for solver in ("hybrid", "learned"):
                scores = evaluate_clips(train_clips, solver, ckpt, protocols=("ref",), device=device)
                rec[f"train_{solver}_ref"] = mean_angle(scores, solver, "ref")
            line += (f"; train excerpts: hybrid {rec['train_hybrid_ref']:.2f}°, learned "
                     f"{rec['train_learned_ref']:.2f}° vs geometric {rec['train_geometric_ref']:.2f}°")
        log(line)
        return rec


def _joint_means(scores) -> dict[str, list[float]]:
    """Per clip: the mean error of every joint (degrees), in skeleton order (``ref`` scores only)."""
    return {s.clip: [round(float(a), 3) for a in s.joint_angles] for s in scores if s.protocol == "ref"}


class _Bar:
    """tqdm bar with the losses (stderr terminal), else a line every 10 % of the run."""

    def __init__(self, total: int, initial: int, enabled: bool) -> None:
        self.total, self.tqdm, self.next_line, self.enabled = total, None, initial, enabled
        self.step_line = max(1, (total - initial) // 10)
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.tqdm = tqdm(total=total, initial=initial, desc="train", unit="step", file=sys.stderr, dynamic_ncols=True)

    def update(self, step: int, rec: dict) -> None:
        if self.tqdm is not None:
            self.tqdm.n = step
            self.tqdm.set_postfix({k: f"{rec[k]:.3g}" for k in ("total", "rot", "fk")}, refresh=True)
        elif self.enabled and (step >= self.next_line or step == self.total):
            print(f"step {step}/{self.total}: loss {rec['total']:.4g} (rot {rec['rot']:.3g}, vel {rec['vel']:.3g}, "
                  f"acc {rec['acc']:.3g}, tvar {rec['tvar']:.3g}, fk {rec['fk']:.3g} x{rec['fk_weight']:.3g}) "
                  f"{rec['seconds']:.0f} s", file=sys.stderr, flush=True)
            self.next_line = step + self.step_line

    def close(self) -> None:
        if self.tqdm is not None:
            self.tqdm.close()


def _run_history(path: Path) -> dict[str, Any]:
    """A run's ``history.json`` (its settings under 'train', its losses under 'history') for
    --resume: {} where the run wrote none; refused where it is not the object the run wrote (a
    hand edit): read as empty, the run went on with the default settings without a word."""
    if not path.is_file():
        return {}
    try:
        prev = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        prev = None
    if not isinstance(prev, dict) or not isinstance(prev.get("train", {}), dict) \
            or not isinstance(prev.get("history", []), list):
        raise Pose2RotError(f"--resume: '{path}' is not the run's history (a JSON object with its settings under "
                            "'train' and its losses under 'history'): put back the file the run wrote, or train a "
                            "new run with another --out")
    return prev


def _write_json(path: Path, obj: dict) -> None:
    write_whole(path, "history", lambda f: f.write(json.dumps(obj, indent=1)))

"""CLI subcommand ``pose2rot train`` (``register(subparsers)`` adds it; see core.training)."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    """Add ``train`` to an argparse subparsers object."""
    from .cli import refuse_empty

    p = subparsers.add_parser(
        "train", help="train or fine-tune the network on BVH clips (needs torch)",
        description="Train (or fine-tune with --init, or continue with --resume) the pose2rot network on BVH "
                    "clips; checkpoints and config.yaml go to --out and work with solve --solver learned|hybrid.")
    refuse_empty(p, p.add_argument("data", nargs="+", metavar="DATA", help="BVH files or folders (every .bvh below)"),
                 "BVH files or folders of them", exists=True)
    p.add_argument("--out", required=True, help="run directory (checkpoints, config.yaml, history, loss curves)")
    refuse_empty(p, p.add_argument(
        "--config", help="small (default), full (the released shape) or a CONFIG.yaml (upstream layout; a run's "
                         "config.yaml also gives its embedder and its 'train:' settings)"),
        "small, full or a CONFIG.yaml file, or leave --config out (small)")
    refuse_empty(p, p.add_argument("--init", help="fine-tune this checkpoint (strict load; its shape and embedder "
                                                  "are kept)"),
                 "a checkpoint file to fine-tune, or leave --init out to train a new model", exists=True)
    steps = p.add_mutually_exclusive_group()
    steps.add_argument("--steps", type=int, help="optimiser steps (default 2000, or --config's 'train:' steps)")
    steps.add_argument("--epochs", type=int, help="epochs: passes over every clip's windows")
    refuse_empty(p, p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda; bf16 "
                                                                    "autocast on CUDA"),
                 "auto, cpu or cuda, or leave --device out (auto)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    refuse_empty(p, p.add_argument("--holdout", nargs="+", default=[], metavar="CLIP",
                                   help="clips (file name or stem) held out and evaluated at the end"),
                 "the file names or stems of clips in the data, or leave --holdout out")
    p.add_argument("--holdout-split", type=float, default=0.0, metavar="FRACTION",
                   help="hold out the last FRACTION of every clip whose rig has no --holdout clip (e.g. 0.25)")
    p.add_argument("--embedder", choices=("t5", "hash"),
                   help="joint-name embedder (default: the one --config's 'embedder:' line names, else hash, or t5 "
                        "when --t5/$POSE2ROT_T5 is set; --init: its own)")
    refuse_empty(p, p.add_argument("--t5", help="T5 encoder directory or model id (t5 embedder)"),
                 "a T5 encoder folder or model id, or leave --t5 out")
    p.add_argument("--batch", type=int, help="clips per batch (default 8, or --config's 'train:' batch)")
    p.add_argument("--lr", type=float,
                   help="Adam learning rate after warm-up (default 2e-4, or --config's 'train:' lr)")
    p.add_argument("--seed", type=int, help="random seed (default 0, or --config's 'train:' seed)")
    p.add_argument("--save-every", type=int, metavar="N", help="also keep RUN_DIR/step_NNNNNN.pt (the step, six "
                                                                "digits: step_000120.pt) every N steps (default: at "
                                                                "the end)")
    p.add_argument("--eval-every", type=int, metavar="N",
                   help="every N steps, score the hybrid and learned solvers (ref protocol) on the held-out "
                        "clips and on the first frames of every training clip (history.json, loss_curves.png)")
    p.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from dataclasses import fields

    from .cli import _check_writable, given_output
    from .model import require_torch

    out = given_output(args.out, "--out", "a folder for the run's files (it is created where missing)")
    _check_writable(out, "--out", folder=True)   # before any clip is read
    require_torch()  # before the training modules, which import torch: the install line, not a traceback
    from .training.loop import TrainRequest, run_training

    options = {f.name: getattr(args, f.name) for f in fields(TrainRequest) if f.name not in ("data", "out")}
    result = run_training(args.data, args.out, **options)
    print(f"checkpoint: {result.checkpoint} (use: pose2rot solve TRACKS --solver hybrid --checkpoint "
          f"{result.checkpoint})")
    return 0

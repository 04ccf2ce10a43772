"""CLI subcommands for the learned model: ``model info``, ``model convert``, ``embed``.

``register(subparsers)`` adds them to the ``pose2rot`` parser; each sets ``func`` (called with
the parsed args, returns the exit status).
"""
from __future__ import annotations

import argparse

#: what to give for a checkpoint or --config given empty
CHECKPOINT_WANTED = "the path of a checkpoint file (.pt, .pth or .safetensors)"
CONFIG_WANTED = "an upstream config YAML file, or leave --config out"


def register(subparsers) -> None:
    """Add ``model {info,convert}`` and ``embed`` to an argparse subparsers object."""
    from .cli import add_command, refuse_empty

    model = add_command(subparsers, "model", "inspect or convert pose2rot network checkpoints")
    msub = model.add_subparsers(dest="model_command", required=True)

    info = add_command(msub, "info", "print a checkpoint's configuration, parameter count and epoch")
    refuse_empty(info, info.add_argument(
        "checkpoint", metavar="CHECKPOINT", help="checkpoint (.pt/.pth with model_state, bare state dict, or "
                                                 ".safetensors)"), CHECKPOINT_WANTED, exists=True)
    refuse_empty(info, info.add_argument(
        "--config", help="upstream YAML config (model: {target, params}); default: stored or inferred"), CONFIG_WANTED,
        exists=True)
    info.set_defaults(func=_cmd_info)

    conv = add_command(msub, "convert", "write a checkpoint as .safetensors (safe, mmap-able, config included)")
    refuse_empty(conv, conv.add_argument(
        "checkpoint", metavar="CHECKPOINT", help="checkpoint to convert (.pt/.pth with model_state, bare state dict, "
                                                 "or .safetensors)"), CHECKPOINT_WANTED, exists=True)
    conv.add_argument("--out", required=True, help="output .safetensors file")
    refuse_empty(conv, conv.add_argument(
        "--config", help="upstream YAML config; default: stored or inferred from the weights"), CONFIG_WANTED,
        exists=True)
    conv.add_argument("--embedder", choices=("t5", "hash"),
                      help="record the joint-name embedder the model was trained with (default: the one the file "
                           "or --config names; none is recorded when neither does)")
    conv.set_defaults(func=_cmd_convert)

    emb = add_command(subparsers, "embed", "pre-fill the T5 joint-name embedding cache")
    emb.add_argument("names", nargs="*", metavar="NAME", help="joint names (exactly as on the rig)")
    refuse_empty(emb, emb.add_argument("--bvh", help="also embed every joint name of this BVH file"),
                 "a BVH file, or leave --bvh out", exists=True)
    refuse_empty(emb, emb.add_argument("--t5", help="T5 model id or local directory (default: $POSE2ROT_T5 or "
                                                    "t5-base)"), "a T5 encoder folder or model id, or leave --t5 out")
    refuse_empty(emb, emb.add_argument("--cache-dir", help="cache directory (default: $POSE2ROT_CACHE or "
                                                           "~/.cache/pose2rot)"),
                 "a folder for the cache, or leave --cache-dir out")
    emb.set_defaults(func=_cmd_embed)


def _cmd_info(args: argparse.Namespace) -> int:
    from .checkpoint import build_model, describe, read_checkpoint

    contents = read_checkpoint(args.checkpoint, args.config)
    build_model(contents)  # proves the weights load strictly into this configuration
    print("\n".join(describe(contents)))
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from .checkpoint import build_model, convert_to_safetensors, read_checkpoint, with_embedder
    from .cli import _check_file_name, _check_writable, given_output

    out = given_output(args.out, "--out", "a file name ending in .safetensors (NAME.safetensors)")
    _check_file_name(out, (".safetensors",), "--out")  # before the checkpoint is read
    _check_writable(out, "--out")
    contents = with_embedder(read_checkpoint(args.checkpoint, args.config), args.embedder)
    build_model(contents)
    out = convert_to_safetensors(contents, args.out)
    embedder = (f"joint-name embedder {contents.embedder}" if contents.embedder_known else
                "no joint-name embedder: neither the file nor a config names it, so solves assume t5; "
                "add --embedder t5|hash to record it")
    print(f"wrote {out} ({len(contents.state)} tensors, configuration stored in its metadata; {embedder})")
    return 0


def _cmd_embed(args: argparse.Namespace) -> int:
    from .embeddings import default_cache_dir, t5_embed_cached, t5_source
    from .errors import Pose2RotError

    names = list(args.names)
    if args.bvh:
        from .bvh import read_bvh

        names += list(read_bvh(args.bvh).skeleton.names)
    if not names:
        raise Pose2RotError("embed: give joint names or --bvh FILE")
    _check_cache(args.cache_dir)
    vecs = t5_embed_cached(names, args.t5, args.cache_dir)
    print(f"{len(names)} name(s) embedded with {t5_source(args.t5)} ({vecs.shape[1]} dims); "
          f"cache: {default_cache_dir(args.cache_dir) / 'embeddings'}")
    return 0


def _check_cache(cache_dir: str | None) -> None:
    """Refuse, before T5 loads, an embedding cache that cannot be written (filling it is what ``embed``
    is for), naming where its folder came from: --cache-dir, $POSE2ROT_CACHE or the default."""
    import os

    from .embeddings import cache_unwritable, default_cache_dir
    from .errors import Pose2RotError

    root = default_cache_dir(cache_dir)
    why = cache_unwritable(root)
    if why:
        source = ("--cache-dir" if cache_dir else "$POSE2ROT_CACHE" if os.environ.get("POSE2ROT_CACHE")
                  else "the default cache folder")
        raise Pose2RotError(f"{source} '{root}' cannot hold the embedding cache ({why}): give a folder that can be "
                            "written, with --cache-dir DIR")

"""Loading pose2rot checkpoints safely (torch ``.pt`` / ``.pth`` and ``.safetensors``).

Accepted files:
- upstream training checkpoints ``{"model_state": state_dict, "optimizer_state": ..., "epoch": n}``
  (optionally a ``"config"`` entry ``{"params": {...}, "embedder": "..."}`` as written by our own
  tools), a bare state dict, or a DDP state dict (``module.`` prefixes are stripped);
- ``.safetensors`` files whose metadata holds ``pose2rot_config`` (JSON) as written by
  :func:`convert_to_safetensors` (``pose2rot model convert``); without it the config is inferred.

A checkpoint is untrusted input: ``torch.load`` always runs with ``weights_only=True``, so a
file carrying pickled code is refused with a :class:`Pose2RotError` and nothing in it runs.

The configuration comes, in order of preference, from an explicit upstream YAML config
(``model: {target, params}``), from the file itself, or is inferred from state-dict shapes
(:func:`infer_params`; ``temporal_dropout`` and ``use_grad_checkpoint`` cannot be seen in
weights and take their defaults, which have no effect on inference).
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from .errors import Pose2RotError, first_sentence, missing_file, write_whole
from .model import INSTALL_HINT, require_torch
from .model.params import RELEASED_PARAMS, cross_layer_count, resolve_params

_STATE_KEYS = ("model_state", "state_dict", "model")
SAFETENSORS_CONFIG_KEY = "pose2rot_config"
#: a weight every pose2rot network has, by its name in the network
MODEL_MARK = "rest_encoder.offset_proj.weight"


@dataclass
class CheckpointContents:
    """What a checkpoint file holds. state: name -> tensor; params: resolved model params; extra: the
    container's other entries (a training run's ``step`` and ``optimizer_state``); embedder_known:
    whether the file or its config names the embedder (else T5 is assumed, as the published model's);
    config_file: the YAML config the params come from ("" where they come from the file itself)."""

    state: dict
    params: dict[str, Any]
    embedder: str = "t5"
    epoch: int | None = None
    config_source: str = "inferred from weights"
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    embedder_known: bool = True
    config_file: str = ""


# ------------------------------------------------------------------------------- reading files
def read_state(path: str | Path, map_location: str = "cpu") -> tuple[dict, dict[str, Any]]:
    """(state dict, metadata) from a checkpoint file. metadata: epoch, config (if stored), extra (the
    container's other entries)."""
    torch = require_torch()
    path = Path(path)
    if path.is_dir():
        raise Pose2RotError(f"checkpoint '{path}' is a folder: give the checkpoint file in it")
    if not path.is_file():
        raise missing_file(path, "checkpoint")
    with open(path, "rb") as f:
        magic = f.read(9)
    if path.suffix.lower() == ".safetensors" or magic[8:9] == b"{":  # a header length, then its JSON
        return _read_safetensors(path, map_location)
    other = _not_torch(path, magic)
    if other is not None:
        raise Pose2RotError(f"checkpoint '{path}' is {other} a PyTorch checkpoint (a file saved with torch.save, "
                            "or .safetensors)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about pickle protocols before refusing
            obj = torch.load(str(path), map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - classify every failure into one clear line
        msg = str(e)
        if "weights_only" in msg or "Unsupported global" in msg or "Unsupported operand" in msg:
            raise Pose2RotError(
                f"checkpoint '{path}' was refused: it contains pickled objects or code, not only tensors "
                "(loading it could run arbitrary code). Where you trust it, load it and re-save the model with "
                "pose2rot_core.checkpoint.save_checkpoint(PATH, model), which keeps its configuration and joint-name "
                "embedder; weights saved as a bare state dict record no embedder (t5 is then assumed): record it "
                "with 'pose2rot model convert PATH --out NEW.safetensors --embedder t5|hash'") from None
        raise Pose2RotError(
            f"checkpoint '{path}' cannot be read (truncated or corrupt file, or not a PyTorch checkpoint): "
            f"{type(e).__name__}: {first_sentence(msg)}") from None
    return _split_container(obj, path)


def _not_torch(path: Path, magic: bytes) -> str | None:
    """How a refusal says what the file at ``path`` (starting with the bytes ``magic``) is where it is
    no torch.save file ('not', 'a NumPy .npz archive (arrays, such as tracks) and not', 'a zip
    archive and not', before 'a PyTorch checkpoint'); None where it may be one: a pickle (torch
    before 1.6), or a zip archive holding a data.pkl beside the tensors, or one that cannot be
    listed (torch.load then says how it fails)."""
    import zipfile

    if magic.startswith(b"\x80"):
        return None
    if not magic.startswith(b"PK"):
        return "not"
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return None
    if any(m.endswith("data.pkl") for m in members):
        return None
    if members and all(m.endswith(".npy") for m in members):
        return "a NumPy .npz archive (arrays, such as tracks) and not"
    return "a zip archive and not"


def _read_safetensors(path: Path, map_location: str) -> tuple[dict, dict[str, Any]]:
    try:
        from safetensors import safe_open
    except ImportError:
        raise Pose2RotError(f"reading .safetensors needs the safetensors package: {INSTALL_HINT}") from None
    try:
        state = {}
        with safe_open(str(path), framework="pt", device=str(map_location)) as f:
            meta = f.metadata() or {}
            for k in f.keys():
                state[k] = f.get_tensor(k)
    except Exception as e:  # noqa: BLE001
        raise Pose2RotError(f"checkpoint '{path}' cannot be read as safetensors (truncated or corrupt): "
                            f"{first_sentence(str(e))}") from None
    info: dict[str, Any] = {}
    if SAFETENSORS_CONFIG_KEY in meta:
        try:
            info["config"] = json.loads(meta[SAFETENSORS_CONFIG_KEY])
        except ValueError:
            raise Pose2RotError(f"checkpoint '{path}': metadata '{SAFETENSORS_CONFIG_KEY}' is not valid JSON") from None
        if not isinstance(info["config"], (dict, type(None))):
            raise Pose2RotError(f"checkpoint '{path}': metadata '{SAFETENSORS_CONFIG_KEY}' holds "
                                f"{meta[SAFETENSORS_CONFIG_KEY]}, not a JSON object such as "
                                '{"params": {...}, "embedder": "t5"}')
    if meta.get("epoch", "").lstrip("-").isdigit():
        info["epoch"] = int(meta["epoch"])
    return _unwrapped(state), info


def _split_container(obj: Any, path: Path) -> tuple[dict, dict[str, Any]]:
    torch = require_torch()
    if not isinstance(obj, Mapping):
        raise Pose2RotError(f"checkpoint '{path}' holds a {type(obj).__name__}, not a state dict or "
                            "a {'model_state': ...} dictionary")
    info: dict[str, Any] = {}
    state = None
    for key in _STATE_KEYS:
        if isinstance(obj.get(key), Mapping):
            state = obj[key]
            break
    if state is None:
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            state = obj
        else:
            raise Pose2RotError(
                f"checkpoint '{path}' has no weights: expected a 'model_state' entry or a bare state dict, "
                f"found keys {', '.join(map(str, list(obj)[:6]))}")
    else:
        if isinstance(obj.get("epoch"), int):
            info["epoch"] = obj["epoch"]
        if isinstance(obj.get("config"), Mapping):
            info["config"] = dict(obj["config"])
        info["extra"] = {k: v for k, v in obj.items() if k not in (key, "epoch", "config")}
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise Pose2RotError(f"checkpoint '{path}': entry '{bad[0]}' of the weights is not a tensor")
    return _unwrapped(dict(state)), info


def _unwrapped(state: dict) -> dict:
    """``state`` without the prefix a training wrapper gives every name: DDP's ``module.``, and, where
    taking it off every name shows the network's own (MODEL_MARK), any one shared first part, one at a
    time (torch.compile's ``_orig_mod.``, a Lightning module's attribute, ``model.``)."""
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    inner = state
    while inner and MODEL_MARK not in inner and all("." in k for k in inner):
        heads = {k.split(".", 1)[0] for k in inner}
        if len(heads) != 1:
            break
        inner = {k.split(".", 1)[1]: v for k, v in inner.items()}
    return inner if MODEL_MARK in inner else state


def _check_values(state: Mapping, path: str | Path) -> None:
    """Refuse a weight that is no dense real floating-point tensor with values (integer, complex,
    sparse, quantised, or torch's meta device), naming it: loading would cast it with no word or fail
    inside torch."""
    for name, v in state.items():
        if v.is_quantized:
            what = f"quantised values ({str(v.dtype).removeprefix('torch.')})"
        elif v.layout != require_torch().strided:
            what = f"a sparse tensor ({str(v.layout).removeprefix('torch.')})"
        elif v.is_meta:
            what = "no values (a tensor of torch's meta device)"
        elif not v.is_floating_point():
            what = f"{str(v.dtype).removeprefix('torch.')} values"
        else:
            continue
        raise Pose2RotError(f"checkpoint '{path}': weight '{name}' holds {what}, not a dense floating-point tensor: "
                            "save the model's weights as float32, float16 or bfloat16")


def read_yaml_config(path: str | Path) -> dict[str, Any]:
    """Model params from an upstream YAML config (``model: {target, params}``)."""
    return _yaml_model(path)[0]


def read_yaml_config_embedder(path: str | Path) -> tuple[dict[str, Any], str | None]:
    """(model params, the embedder id "t5"/"hash-ngram-v1" its top-level ``embedder:`` names, None
    without one) of a YAML config; an embedder pose2rot does not have is refused, naming the file."""
    params, embedder = _yaml_model(path)
    return params, _embedder_named(embedder, f"config '{path}'")


def read_yaml_train(path: str | Path) -> dict[str, Any]:
    """The ``train:`` section of a YAML config (a run's config.yaml: the settings it was trained with),
    {} without one; refused, naming the file, where it is not a mapping."""
    doc = _yaml_doc(Path(path))
    train = doc.get("train") if isinstance(doc, Mapping) else None
    if train is not None and not isinstance(train, Mapping):
        raise Pose2RotError(f"config '{path}': its 'train:' section is not a mapping of settings (name: value); "
                            "put back the one the run wrote, or delete it")
    return dict(train or {})


def _yaml_model(path: str | Path) -> tuple[dict[str, Any], str | None]:
    """(model params, the joint-name embedder a top-level ``embedder:`` names, as our runs' config.yaml
    does; None without one, as upstream configs) of a YAML config."""
    path = Path(path)
    doc = _yaml_doc(path)
    model = doc.get("model") if isinstance(doc, Mapping) else None
    if not isinstance(model, Mapping) or not isinstance(model.get("params", {}), Mapping):
        raise Pose2RotError(f"config '{path}' has no 'model:' section with 'params:' (upstream layout)")
    target = str(model.get("target", ""))
    if target and not target.endswith("Pose2RotMemoryRestModel"):
        raise Pose2RotError(f"config '{path}': model target '{target}' is not Pose2RotMemoryRestModel")
    embedder = None if doc.get("embedder") is None else str(doc["embedder"])
    return resolve_params(model.get("params") or {}, where=f"config '{path}'"), embedder


def _yaml_doc(path: Path) -> Any:
    """The document of YAML file ``path`` (errors name the file as a config)."""
    try:
        import yaml
    except ImportError:
        raise Pose2RotError(f"reading YAML configs needs PyYAML: {INSTALL_HINT}") from None
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise Pose2RotError(f"cannot read config '{path}': {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise Pose2RotError(f"config '{path}' is not YAML text (not UTF-8; a checkpoint, perhaps): give the "
                            "model's YAML config (model: {target, params})") from None
    except yaml.YAMLError as e:
        raise Pose2RotError(f"config '{path}' is not valid YAML: {str(e).splitlines()[0]}") from None


# ------------------------------------------------------------------------------- inference of params
def _count(state: Mapping, pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in state if (m := rx.match(k))})


def infer_params(state: Mapping) -> dict[str, Any]:
    """Constructor params implied by state-dict names and shapes (MODEL.md §3).

    Heads and window come from a ``temporal_bias.weight [2W+1, H]`` table."""
    need = MODEL_MARK
    if need not in state or "rest_encoder.joint_t5proj.weight" not in state:
        raise Pose2RotError(
            f"these weights do not look like a pose2rot model (no '{need}'); {len(state)} tensors, first: "
            + ", ".join(list(state)[:3]))
    D = int(state[need].shape[0])
    E = int(state["rest_encoder.joint_t5proj.weight"].shape[1])
    bias = next((v for k, v in state.items() if k.endswith("attn.temporal_bias.weight")), None)
    if bias is None:
        raise Pose2RotError("cannot infer num_heads/temporal_window: the weights have no temporal attention layer; "
                            "give the upstream YAML config")
    decoder_layers = _count(state, r"decoder\.blocks\.(\d+)\.")
    cross = _count(state, r"decoder\.blocks\.(\d+)\.cross\.")
    params = {
        "q_dim": D,
        "rest_layers": _count(state, r"rest_encoder\.layers\.(\d+)\."),
        "pose_layers": _count(state, r"pose_encoder\.temporal_blocks\.(\d+)\."),
        "memory_layers": _count(state, r"memory_encoder\.layers\.(\d+)\."),
        "decoder_layers": decoder_layers,
        "num_heads": int(bias.shape[1]),
        "joint_embed_dim": E,
        "temporal_window": (int(bias.shape[0]) - 1) // 2,
        "decoder_cond_mode": "concat" if "decoder.init_proj.weight" in state else "add",
        "pose_rest_film": any(k.startswith("pose_encoder.rest_film_blocks.") for k in state),
        "memory_rest_film": any(re.match(r"memory_encoder\.layers\.\d+\.film\.", k) for k in state),
        "decoder_rest_film": any(re.match(r"decoder\.blocks\.\d+\.film\.", k) for k in state),
        "pose_use_graph": any(k.startswith("pose_encoder.graph_blocks.") for k in state),
        "decoder_use_cross_layers": cross,
    }
    return resolve_params(params, where="parameters inferred from the weights")


# ------------------------------------------------------------------------------- building / loading
#: the config_source of a configuration read from the checkpoint file itself
STORED = "stored in the checkpoint"


def read_checkpoint(path: str | Path, config: str | Path | Mapping | None = None,
                    map_location: str = "cpu") -> CheckpointContents:
    """Read weights and decide the configuration (YAML/mapping > stored config > inferred)."""
    state, info = read_state(path, map_location)
    _check_values(state, path)
    stored = info.get("config") or {}
    embedder = _embedder_named(stored.get("embedder"), f"the config stored in '{path}'")
    if config is not None:
        params, given = (dict(config), None) if isinstance(config, Mapping) else _yaml_model(config)
        given = _embedder_named(given, f"config '{config}'")
        if given is not None and embedder is not None and given != embedder:
            raise Pose2RotError(f"config '{config}' names the joint-name embedder '{given}' but '{path}' was trained "
                                f"with '{embedder}': give the config of the run that made these weights")
        embedder = embedder if embedder is not None else given
        params = resolve_params(params, where="model config")
        source = "given mapping" if isinstance(config, Mapping) else f"config {config}"
    elif isinstance(stored.get("params"), Mapping):
        params = resolve_params(stored["params"], where=f"config stored in '{path}'")
        source = STORED
    else:
        try:
            params = infer_params(state)
        except Pose2RotError as e:  # a damaged file or one of another model: say which file, and the way out
            raise Pose2RotError(f"'{path}' stores no config, and {e} (give the model's --config, or check that the "
                                "file is whole)") from None
        source = "inferred from weights"
    given = str(config) if config is not None and not isinstance(config, Mapping) else ""
    return CheckpointContents(state, params, str(embedder or "t5"), info.get("epoch"), source, str(path),
                              info.get("extra", {}), embedder is not None, given)


def _embedder_named(name: Any, where: str) -> str | None:
    """The embedder id ("t5"/"hash-ngram-v1") that ``name`` (as ``where`` writes it: "hash", "T5", ...)
    names; None for None. Refused, naming ``where``, when it names none."""
    from .embeddings import embedder_family

    if name is None:
        return None
    try:
        return embedder_family(str(name))
    except Pose2RotError:
        raise Pose2RotError(f"{where} names the joint-name embedder '{name}', which pose2rot does not have: "
                            "write 't5' or 'hash'") from None


def build_model(contents: CheckpointContents, device: str = "cpu"):
    """Construct the network and load the weights strictly; clear error on any mismatch, found on
    a model without storage (torch's meta device) before any memory is taken: a config from an
    untrusted file may ask for a network of any size."""
    require_torch()
    import torch

    from .model.network import Pose2RotMemoryRestModel

    with torch.device("meta"):
        shapes_only = Pose2RotMemoryRestModel(**contents.params)
    misfit = state_misfit(shapes_only, contents.state, contents.params)
    if misfit and (contents.config_file or _stored_config_differs(contents)):  # the config is the part to change
        from .options import OptionError

        if contents.config_file:
            raise OptionError("config", f"'{contents.config_file}' does not fit the weights in '{contents.path}': "
                                        f"{misfit}; give the config these weights were trained with, or none: the "
                                        "file's own configuration (stored in it, or read from its weights) is then "
                                        "used")
        raise OptionError("config", f"is needed: the configuration stored in '{contents.path}' does not fit its "
                                    f"weights: {misfit}; give the config of the run that made them (its config.yaml, "
                                    "or a YAML of the parameters the weights imply); 'pose2rot model convert "
                                    f"{contents.path} --config RUN.yaml --out NEW.safetensors' stores it in a new file")
    if misfit:
        raise Pose2RotError(f"weights in '{contents.path}' do not fit the model configuration: {misfit}")
    model = Pose2RotMemoryRestModel(**contents.params)
    model.load_state_dict(contents.state, strict=True)
    model.embedder = contents.embedder
    return model.to(device).eval()


def check_state_matches(model, state: Mapping, params: Mapping[str, Any], where: str = "checkpoint") -> None:
    """Raise Pose2RotError naming missing/unexpected/mis-shaped keys and the config they imply."""
    misfit = state_misfit(model, state, params)
    if misfit:
        raise Pose2RotError(f"weights in '{where}' do not fit the model configuration: {misfit}")


def state_misfit(model, state: Mapping, params: Mapping[str, Any]) -> str:
    """How ``state`` does not fit ``model`` (built with ``params``): missing/unexpected/mis-shaped keys
    and the config they imply; "" where it fits."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in state.items()}
    missing = [k for k in expected if k not in got]
    unexpected = [k for k in got if k not in expected]
    shape = [f"{k} {list(got[k])} vs {list(expected[k])}" for k in expected if k in got and got[k] != expected[k]]
    if not (missing or unexpected or shape):
        return ""
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shape)):
        if items:
            parts.append(f"{len(items)} {label} ({', '.join(items[:3])}{', ...' if len(items) > 3 else ''})")
    try:
        diff = implied_changes(state, params)
        hint = ("the weights imply " + ", ".join(diff)) if diff else "the weights imply the same configuration"
    except Pose2RotError as e:  # a tensor it reads is missing: other weights, or these ones damaged
        kept = len(expected) - len(missing)
        hint = (f"the other {kept} of the model's {len(expected)} tensors are there: the file is damaged or "
                "incomplete (saved from part of the model, or edited); save the whole model again"
                if kept >= len(expected) / 2 else str(e))
    return f"{'; '.join(parts)}; {hint}"


def implied_changes(state: Mapping, params: Mapping[str, Any]) -> list[str]:
    """['q_dim=64', ...]: the parameters the weights ``state`` imply (infer_params, which raises where a
    tensor it reads is missing) where ``params`` ask for others."""
    implied = infer_params(state)
    return [f"{k}={implied[k]!r}" for k in implied
            if k not in ("temporal_dropout", "use_grad_checkpoint", "num_memory") and _differs(k, implied, params)]


def _stored_config_differs(contents: CheckpointContents) -> bool:
    """Whether the configuration stored in a checkpoint asks for another network than its weights imply (then
    the config, not the weights, is the part to change; the same network: the weights are damaged)."""
    if contents.config_source != STORED:
        return False
    try:
        return bool(implied_changes(contents.state, contents.params))
    except Pose2RotError:
        return False


def _differs(key: str, implied: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Whether ``params`` ask for another ``key`` than the weights imply; the cross-attention count is
    compared as the blocks it gives (None, "every block", is the decoder's layer count)."""
    if key == "decoder_use_cross_layers":
        return cross_layer_count(implied) != cross_layer_count(dict(params, decoder_layers=implied["decoder_layers"]))
    return implied[key] != params.get(key)


def load_model(path: str | Path, config: str | Path | Mapping | None = None, device: str = "cpu"):
    """(model in eval mode on ``device``, CheckpointContents without ``extra``: a solve never needs a
    training run's optimiser state, so it is not kept) from a checkpoint file."""
    contents = read_checkpoint(path, config, map_location="cpu")
    return build_model(contents, device), replace(contents, extra={})


def with_embedder(contents: CheckpointContents, embedder: str | None) -> CheckpointContents:
    """``contents`` with the joint-name ``embedder`` the user names ("t5"/"hash"; None: as it is);
    refused when the file or its config names another one."""
    from .embeddings import embedder_family

    if embedder is None:
        return contents
    family = embedder_family(embedder)
    if contents.embedder_known and embedder_family(contents.embedder) != family:
        raise Pose2RotError(f"'{contents.path}' records the joint-name embedder '{contents.embedder}' "
                            f"({contents.config_source}), not '{family}': leave --embedder out")
    return replace(contents, embedder=family, embedder_known=True)


def convert_to_safetensors(contents: CheckpointContents, out: str | Path) -> Path:
    """Write the weights as ``.safetensors`` (mmap-able, no pickle) with the config as metadata (the
    joint-name embedder only where it is known: ``contents.embedder_known``). Written whole or not at
    all (errors.write_whole): a failed write leaves a file already at ``out`` as it was."""
    try:
        from safetensors.torch import save
    except ImportError:
        raise Pose2RotError(f"writing .safetensors needs the safetensors package: {INSTALL_HINT}") from None
    out = Path(out)
    if out.suffix.lower() != ".safetensors":  # any case, as the reader and the command line's check take it
        raise Pose2RotError(f"output '{out}' must end in .safetensors")
    config = {"params": contents.params}
    if contents.embedder_known:  # an assumed embedder is no fact about these weights: left unrecorded
        config["embedder"] = contents.embedder
    meta = {"format": "pt", SAFETENSORS_CONFIG_KEY: json.dumps(config)}
    if contents.epoch is not None:
        meta["epoch"] = str(contents.epoch)
    tensors = {k: v.detach().cpu().contiguous() for k, v in contents.state.items()}
    data = save(tensors, metadata=meta)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_whole(out, "safetensors", lambda f: f.write(data), binary=True)
    return out


def save_checkpoint(path: str | Path, model, epoch: int | None = None, optimizer_state: Mapping | None = None) -> Path:
    """Save ``{model_state, optimizer_state, epoch, config}`` loadable with weights_only=True."""
    torch = require_torch()
    path = Path(path)
    params = {k: v for k, v in model.params.items()}
    obj = {"model_state": model.state_dict(), "epoch": epoch, "config": {"params": params, "embedder": model.embedder}}
    if optimizer_state is not None:
        obj["optimizer_state"] = optimizer_state
    path.parent.mkdir(parents=True, exist_ok=True)
    write_whole(path, "checkpoint", lambda f: torch.save(obj, f), binary=True)
    return path


def describe(contents: CheckpointContents) -> list[str]:
    """Human-readable summary lines (``pose2rot model info``)."""
    n = sum(int(v.numel()) for v in contents.state.values())
    released = all(contents.params.get(k) == v for k, v in RELEASED_PARAMS.items()
                   if k not in ("temporal_dropout", "use_grad_checkpoint"))
    lines = [f"checkpoint: {contents.path}",
             f"epoch: {contents.epoch if contents.epoch is not None else 'unknown'}",
             f"parameters: {n:,} in {len(contents.state)} tensors",
             f"joint-name embedder: {contents.embedder}"
             + ("" if contents.embedder_known else " (assumed: neither the file nor a config names it; "
                f"'pose2rot model convert {contents.path} --out NEW.safetensors --embedder t5|hash' records it)"),
             f"configuration ({contents.config_source}{', the published one' if released else ''}):"]
    lines += [f"  {k}: {json.dumps(v)}" for k, v in contents.params.items()]
    return lines

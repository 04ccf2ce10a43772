"""Joint-name embeddings for the network's ``joint_t5embed`` input, with a disk cache.

Two embedders, chosen by name:

- ``"t5"`` (the published checkpoints): the t5-base encoder through transformers
  (``T5EncoderModel`` + ``AutoTokenizer``), recipe of spec/MODEL.md §6.4: names verbatim (blank
  -> " "), batches of 64, ``padding=True, truncation=True, max_length=32``, mean of
  ``last_hidden_state`` weighted by the attention mask, float32 ``[J,768]``. The encoder is
  ``t5-base`` or any model id / local directory (``t5=`` argument, env ``POSE2ROT_T5``), always
  loaded with ``local_files_only`` (no network at run time: a model id must be in the local
  Hugging Face cache, e.g. after ``hf download t5-base``).
  Results are cached on disk per (encoder id, exact name), so T5 is loaded at most once per new
  name: after the first solve on a rig it is never loaded again.
- ``"hash"`` (id ``hash-ngram-v1``): a deterministic built-in embedder for self-trained models
  when t5-base is not available: the name is split into lower-case words (camelCase, digits,
  separators), then word tokens (weight 2) and character 2-, 3- and 4-grams of the word string
  (with boundary marks) are hashed (BLAKE2b) into ``dim`` signed buckets; the sum is L2-normalised.
  Similar names ("LeftArm", "left_arm") get similar vectors. No cache (it is cheap).

A model records the embedder it was trained with (checkpoint config ``embedder``) and refuses
inputs from the other one.

Cache location: ``cache_dir=`` argument, else env ``POSE2ROT_CACHE``, else
``$XDG_CACHE_HOME/pose2rot``, else ``~/.cache/pose2rot``; files ``embeddings/<hash>.npz`` each
holding one vector with its encoder id and name, written atomically (temp file + rename), so
concurrent processes are safe.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import MissingDependencyError, Pose2RotError, first_sentence
from .model import INSTALL_HINT

T5_FAMILY = "t5"
HASH_FAMILY = "hash-ngram-v1"
EMBEDDERS = (T5_FAMILY, "hash")
DEFAULT_T5 = "t5-base"
T5_BATCH = 64
T5_MAX_LENGTH = 32
HASH_DIM = 768

_T5_CACHE: dict[str, tuple] = {}


# ------------------------------------------------------------------------------- embedder choice
def embedder_family(name: str) -> str:
    """Canonical id of an embedder name ("t5" or "hash-ngram-v1")."""
    n = str(name).strip().lower()
    if n in ("t5", "t5-base"):
        return T5_FAMILY
    if n in ("hash", HASH_FAMILY):
        return HASH_FAMILY
    raise Pose2RotError(f"unknown joint-name embedder '{name}' (choose 't5' or 'hash')")


def check_embedder(model_embedder: str, requested: str | None) -> str:
    """The embedder to use for a model; error if the request contradicts the model's."""
    want = embedder_family(model_embedder)
    if requested is not None and embedder_family(requested) != want:
        raise Pose2RotError(
            f"this model was trained with the '{want}' joint-name embedder, not '{embedder_family(requested)}'; "
            f"drop --embedder or use '{'hash' if want == HASH_FAMILY else 't5'}'")
    return want


def embed_joint_names(names: Sequence[str], embedder: str = T5_FAMILY, t5: str | os.PathLike | None = None,
                      cache_dir: str | os.PathLike | None = None, device: str = "cpu",
                      progress=None) -> np.ndarray:
    """[J,E] float32 embeddings of ``names`` with the chosen embedder (cached for T5)."""
    names = [str(n) for n in names]
    family = embedder_family(embedder)
    if family == HASH_FAMILY:
        return hash_embed(names)
    return t5_embed_cached(names, t5, cache_dir, device, progress)


# ------------------------------------------------------------------------------- hash embedder
def _words(name: str) -> list[str]:
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", name)]


def hash_embed(names: Sequence[str], dim: int = HASH_DIM) -> np.ndarray:
    """[J,dim] float32 deterministic name embeddings (see module docstring)."""
    out = np.zeros((len(names), dim), np.float32)
    for i, name in enumerate(names):
        words = _words(name if name.strip() else " ")
        text = "^" + " ".join(words) + "$"
        feats = [("w:" + w, 2.0) for w in words]
        feats += [(text[a:a + n], 1.0) for n in (2, 3, 4) for a in range(len(text) - n + 1)]
        for feat, weight in feats:
            h = int.from_bytes(hashlib.blake2b(feat.encode("utf-8"), digest_size=8).digest(), "little")
            out[i, h % dim] += weight if (h >> 40) & 1 else -weight
        norm = float(np.linalg.norm(out[i]))
        if norm > 0:
            out[i] /= norm
    return out


# ------------------------------------------------------------------------------- T5 + cache
def default_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Cache root: argument > $POSE2ROT_CACHE > $XDG_CACHE_HOME/pose2rot > ~/.cache/pose2rot."""
    if cache_dir:
        return Path(cache_dir)
    if os.environ.get("POSE2ROT_CACHE"):
        return Path(os.environ["POSE2ROT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pose2rot"


def cache_unwritable(root: Path) -> str | None:
    """Why the embedding cache at ``root`` cannot be written (the system's words), None where it can: its
    folder is made where missing and a file is made in it and removed."""
    folder = root / "embeddings"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        return e.strerror or str(e)
    return None


def t5_source(t5: str | os.PathLike | None = None) -> str:
    """Model id or local directory of the T5 encoder (argument > $POSE2ROT_T5 > t5-base)."""
    src = os.path.expanduser(str(t5) if t5 else os.environ.get("POSE2ROT_T5") or DEFAULT_T5)
    return str(Path(src).resolve()) if os.path.isdir(src) else src


def _entry_path(root: Path, encoder: str, name: str) -> Path:
    key = hashlib.sha256(f"{encoder}\n{name}".encode("utf-8")).hexdigest()[:40]
    return root / "embeddings" / f"{key}.npz"


def _read_entry(path: Path, encoder: str, name: str) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["encoder"]) == encoder and str(z["name"]) == name:
                return np.asarray(z["vector"], np.float32)
    except (OSError, KeyError, ValueError, EOFError):
        pass  # unreadable or foreign entry: recompute and overwrite
    return None


def _write_entry(path: Path, encoder: str, name: str, vector: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, vector=np.asarray(vector, np.float32), encoder=np.array(encoder), name=np.array(name))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def t5_embed_cached(names: Sequence[str], t5: str | os.PathLike | None = None,
                    cache_dir: str | os.PathLike | None = None, device: str = "cpu", progress=None) -> np.ndarray:
    """T5 embeddings of ``names``; only names missing from the disk cache load and run T5."""
    encoder = t5_source(t5)
    root = default_cache_dir(cache_dir)
    found: dict[str, np.ndarray] = {}
    for n in dict.fromkeys(names):
        v = _read_entry(_entry_path(root, encoder, n), encoder, n)
        if v is not None:
            found[n] = v
    todo = [n for n in dict.fromkeys(names) if n not in found]
    if todo:
        if progress:
            progress(0.0, f"embedding {len(todo)} joint name(s) with {encoder}")
        vecs = _t5_embed_named(todo, encoder, device, from_environment=not t5)
        for n, v in zip(todo, vecs):
            found[n] = v
            try:
                _write_entry(_entry_path(root, encoder, n), encoder, n, v)
            except OSError:
                pass  # read-only cache: still return the embeddings
    if not names:
        return np.zeros((0, 0), np.float32)
    return np.stack([found[n] for n in names]).astype(np.float32)


def _t5_embed_named(names: list[str], encoder: str, device: str, from_environment: bool) -> np.ndarray:
    """t5_embed, with a T5 source that cannot be used named as $POSE2ROT_T5 where it came from there
    (``from_environment``: no ``t5`` argument): the interfaces' own word for the setting (--t5, a
    preference) names something the user did not set."""
    from .options import OptionError

    try:
        return t5_embed(names, encoder, device)
    except OptionError as e:
        if e.field == "t5" and from_environment and os.environ.get("POSE2ROT_T5"):
            raise Pose2RotError(f"$POSE2ROT_T5 {e.problem}") from None
        raise


def _looks_like_a_path(source: str) -> bool:
    """Whether a --t5 value names a folder, not a model id ("t5-base", "google-t5/t5-base"): absolute,
    relative with ./ or ../, ~, a backslash, or more than one slash."""
    return (os.path.isabs(source) or source.startswith((".", "~")) or "\\" in source
            or source.count("/") > 1 or os.path.exists(source))


def _check_folder(source: str) -> None:
    """Raise a clear error (an OptionError of the ``t5`` setting, which each interface names) for a T5
    source that names a folder that is not there (transformers would take it for a model id and answer
    about the form of ids)."""
    if os.path.isdir(source) or not _looks_like_a_path(source):
        return
    from .options import OptionError

    what = "is a file, not a folder" if os.path.exists(source) else "is no folder that exists"
    raise OptionError("t5", f"'{source}' {what}: give the folder that holds t5-base (config.json, its weights and "
                            "spiece.model), or a model id such as t5-base")


@contextmanager
def _hub_offline():
    """huggingface_hub's offline mode while T5 loads, then the process's own setting back (Blender's
    Python is shared with other add-ons). local_files_only alone does not keep the hub offline:
    huggingface_hub 2.x looks up huggingface.co to build the headers of a request that it then answers
    from the local cache. Nothing to do without huggingface_hub (transformers then reads no hub)."""
    try:
        from huggingface_hub import constants
    except ImportError:
        yield
        return
    was = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True  # read by the hub at each request
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = was


@contextmanager
def _no_progress_bars():
    """No progress bar of transformers' own while T5 loads (it drew one on stderr, between the command
    line's notes), then the process's own setting back."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()


def _load_t5(source: str, device: str):
    """(tokenizer, encoder) for ``source``, from local files only (a folder, or a model id in the
    local Hugging Face cache): nothing is downloaded at run time. A model id not in the cache used to
    be fetched from the hub, a minute of retries without a network before the error."""
    _check_folder(source)
    try:
        from transformers import AutoTokenizer, T5EncoderModel
    except ImportError:
        raise MissingDependencyError(f"T5 name embeddings need transformers: {INSTALL_HINT}") from None
    try:
        with _hub_offline(), _no_progress_bars():
            tok = AutoTokenizer.from_pretrained(source, local_files_only=True)
            enc = T5EncoderModel.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as e:
        from .options import OptionError

        if isinstance(e, OSError) and not os.path.isdir(source):   # a model id whose files the cache lacks
            raise OptionError("t5", f"'{source}' is not in the local Hugging Face cache{_hub_cache()}, or only part "
                                    "of it is, and pose2rot never downloads while it runs: download it there once "
                                    f"with 'hf download {source}' (HF_HOME moves the cache), or give a local folder "
                                    "holding t5-base") from None
        fetch = "" if os.path.isdir(source) else f"download it once with 'hf download {source}', or "
        raise OptionError("t5", f"'{source}' cannot be loaded from local files ({first_sentence(str(e))}): "
                                f"{fetch}give a local folder holding t5-base") from None
    return tok, enc.to(device).eval()


def _hub_cache() -> str:
    """The Hugging Face cache that model ids are read from, as " ('FOLDER')" (where huggingface_hub says; else "")."""
    try:
        from huggingface_hub import constants
    except ImportError:
        return ""
    return f" ('{constants.HF_HUB_CACHE}')"


def t5_embed(names: Sequence[str], source: str = DEFAULT_T5, device: str = "cpu") -> np.ndarray:
    """[J,E] float32 T5 embeddings (no cache), MODEL.md §6.4 recipe."""
    from .model import require_torch

    torch = require_torch()
    key = f"{source}@{device}"
    if key not in _T5_CACHE:
        _T5_CACHE[key] = _load_t5(source, device)
    tok, enc = _T5_CACHE[key]
    texts = [n if n.strip() else " " for n in names]
    out = []
    with torch.inference_mode():
        for a in range(0, len(texts), T5_BATCH):
            batch = tok(texts[a:a + T5_BATCH], padding=True, truncation=True, max_length=T5_MAX_LENGTH,
                        return_tensors="pt").to(device)
            hidden = enc(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            m = batch["attention_mask"][..., None].to(hidden.dtype)
            out.append(((hidden * m).sum(1) / m.sum(1).clamp(min=1)).float().cpu().numpy())
    return np.concatenate(out, 0) if out else np.zeros((0, 0), np.float32)

"""Joint-name embeddings: hash embedder, T5 recipe through a tiny offline T5, disk cache."""
from __future__ import annotations

import argparse

import numpy as np
import pytest

from _torch_helpers import TORCH_REASON
from pose2rot_core import embeddings
from pose2rot_core.embeddings import (HASH_FAMILY, check_embedder, default_cache_dir, embed_joint_names,
                                      hash_embed, t5_embed_cached)
from pose2rot_core.errors import Pose2RotError

NAMES = ["Hips", "LeftUpLeg", "left_up_leg", "RightHand", "Spine1", "", "Hips"]


def test_hash_embedder_is_deterministic_normalised_and_name_aware():
    a, b = hash_embed(NAMES), hash_embed(list(reversed(NAMES)))
    assert a.shape == (7, 768) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b[::-1])
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    cos = a @ a.T
    assert cos[1, 2] > 0.9            # LeftUpLeg ~ left_up_leg
    assert cos[1, 2] > cos[1, 3] + 0.5  # ... much closer than RightHand
    np.testing.assert_array_equal(embed_joint_names(NAMES, "hash"), a)


def test_embedder_names_and_mismatch():
    assert check_embedder("t5", None) == "t5"
    assert check_embedder(HASH_FAMILY, "hash") == HASH_FAMILY
    with pytest.raises(Pose2RotError, match="trained with the 't5'"):
        check_embedder("t5", "hash")
    with pytest.raises(Pose2RotError, match="unknown joint-name embedder"):
        embed_joint_names(["a"], "word2vec")


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("POSE2ROT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "pose2rot"
    monkeypatch.setenv("POSE2ROT_CACHE", str(tmp_path / "env"))
    assert default_cache_dir() == tmp_path / "env"
    assert default_cache_dir(tmp_path / "arg") == tmp_path / "arg"


# ------------------------------------------------------------------------------- T5 (torch)
@pytest.fixture(scope="module")
def tiny_t5(tmp_path_factory):
    """A tiny random T5 encoder + character-level fast tokenizer saved to a directory (offline)."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    transformers = pytest.importorskip("transformers", reason="needs transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_. ":
        vocab.setdefault(c, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    d = tmp_path_factory.mktemp("tiny_t5")
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                         unk_token="<unk>").save_pretrained(d)
    torch.manual_seed(0)
    cfg = transformers.T5Config(vocab_size=len(vocab), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                                pad_token_id=0, eos_token_id=1, decoder_start_token_id=0)
    transformers.T5EncoderModel(cfg).save_pretrained(d)
    embeddings._T5_CACHE.clear()
    return d


def _reference(d, names):
    """The MODEL.md §6.4 recipe written out directly, one name at a time (no padding)."""
    import torch
    from transformers import AutoTokenizer, T5EncoderModel

    tok = AutoTokenizer.from_pretrained(d)
    enc = T5EncoderModel.from_pretrained(d).eval()
    out = []
    with torch.no_grad():
        for n in names:
            ids = tok([n if n.strip() else " "], return_tensors="pt")
            out.append(enc(**ids).last_hidden_state[0].mean(0).numpy())
    return np.stack(out)


@pytest.mark.torch
def test_t5_recipe_and_cache(tiny_t5, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    loads = []
    real = embeddings._load_t5
    monkeypatch.setattr(embeddings, "_load_t5", lambda *a: loads.append(a) or real(*a))
    embeddings._T5_CACHE.clear()
    first = t5_embed_cached(NAMES, tiny_t5, cache)
    assert first.shape == (7, 16) and len(loads) == 1
    np.testing.assert_allclose(first, _reference(tiny_t5, NAMES), atol=1e-5)  # padding-invariant mean
    assert len(list((cache / "embeddings").glob("*.npz"))) == 6  # one entry per distinct name
    # second call, fresh process state: T5 must not be loaded at all
    embeddings._T5_CACHE.clear()
    monkeypatch.setattr(embeddings, "_load_t5", lambda *a: pytest.fail("T5 loaded although every name is cached"))
    np.testing.assert_array_equal(t5_embed_cached(list(reversed(NAMES)), tiny_t5, cache), first[::-1])
    np.testing.assert_array_equal(embed_joint_names(NAMES, "t5", t5=tiny_t5, cache_dir=cache), first)
    # a new name loads T5 again, for that name only
    monkeypatch.setattr(embeddings, "_load_t5", real)
    got = t5_embed_cached(NAMES + ["Tail3"], tiny_t5, cache)
    np.testing.assert_allclose(got[-1], _reference(tiny_t5, ["Tail3"])[0], atol=1e-5)


@pytest.mark.torch
def test_cache_is_keyed_by_encoder_and_survives_corrupt_entries(tiny_t5, tmp_path):
    cache = tmp_path / "c"
    a = t5_embed_cached(["Neck"], tiny_t5, cache)
    (entry,) = (cache / "embeddings").glob("*.npz")
    entry.write_bytes(b"garbage")
    np.testing.assert_array_equal(t5_embed_cached(["Neck"], tiny_t5, cache), a)  # recomputed, rewritten
    assert not list((cache / "embeddings").glob("*.tmp"))
    other = embeddings._entry_path(cache, "another-encoder", "Neck")
    assert other != entry


@pytest.mark.torch
def test_offline_missing_model_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("torch", reason=TORCH_REASON)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    embeddings._T5_CACHE.clear()
    with pytest.raises(Pose2RotError, match="T5 encoder 'no-such/t5-model' is not in the local Hugging Face cache"):
        t5_embed_cached(["Hips"], "no-such/t5-model", tmp_path / "c")


@pytest.mark.torch
def test_embed_cli_prefills_cache(tiny_t5, tmp_path, capsys):
    from pose2rot_core.cli_model import register

    parser = argparse.ArgumentParser(prog="pose2rot")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["embed", "Hips", "Spine", "--t5", str(tiny_t5), "--cache-dir", str(tmp_path)])
    assert args.func(args) == 0
    assert "2 name(s) embedded" in capsys.readouterr().out
    assert len(list((tmp_path / "embeddings").glob("*.npz"))) == 2


@pytest.mark.torch
def test_a_model_id_not_in_the_local_cache_is_never_fetched(tmp_path, monkeypatch):
    """No network at run time: without HF_HUB_OFFLINE a model id missing from the local cache was
    looked up on the hub (a minute of retries without a network); it is read from local files only,
    and the error says that the cache lacks it, which cache, and how to get it there. It quoted
    transformers' "We couldn't connect to 'https://huggingface.co' to load the files", as though a
    network had been tried and had failed."""
    constants = pytest.importorskip("huggingface_hub.constants", reason="needs huggingface_hub (with transformers)")
    pytest.importorskip("torch", reason=TORCH_REASON)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    embeddings._T5_CACHE.clear()
    with pytest.raises(Pose2RotError) as e:
        t5_embed_cached(["Hips"], "no-such/t5-model", tmp_path / "c")
    assert str(e.value) == (f"T5 encoder 'no-such/t5-model' is not in the local Hugging Face cache "
                            f"('{constants.HF_HUB_CACHE}'), or only part of it is, and pose2rot never downloads while "
                            "it runs: download it there once with 'hf download no-such/t5-model' (HF_HOME moves the "
                            "cache), or give a local folder holding t5-base")


@pytest.mark.torch
def test_loading_t5_from_local_files_never_reaches_for_the_network(tiny_t5, tmp_path, monkeypatch):
    """local_files_only alone did not keep the hub offline: loading a model id (in the local cache or
    not) looked up huggingface.co (huggingface_hub 2.x fetches a registry to build its request headers).
    Every socket this process opens while T5 loads is refused and recorded: there must be none."""
    import socket

    pytest.importorskip("torch", reason=TORCH_REASON)
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network refused by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    constants = pytest.importorskip("huggingface_hub.constants", reason="needs huggingface_hub (with transformers)")
    was = constants.HF_HUB_OFFLINE
    embeddings._T5_CACHE.clear()
    with pytest.raises(Pose2RotError, match="is not in the local Hugging Face cache"):
        t5_embed_cached(["Hips"], "no-such/t5-model", tmp_path / "c")
    assert t5_embed_cached(["Hips"], tiny_t5, tmp_path / "c").shape == (1, 16)
    assert attempts == []
    assert constants.HF_HUB_OFFLINE is was  # the process's own setting is left as it was


@pytest.mark.torch
def test_loading_t5_draws_no_progress_bar_of_its_own(tiny_t5, tmp_path, capsys):
    """Loading T5 drew transformers' 'Loading weights: 100%|####| 11/11' bar on stderr, between the command
    line's notes (and in Blender's console); the load is quiet, and transformers' own setting is put back."""
    from transformers.utils import logging as hf_logging

    was = hf_logging.is_progress_bar_enabled()
    embeddings._T5_CACHE.clear()
    t5_embed_cached(["Hips"], tiny_t5, tmp_path / "c")
    assert "Loading weights" not in capsys.readouterr().err
    assert hf_logging.is_progress_bar_enabled() == was


@pytest.mark.torch
@pytest.mark.parametrize("where", ["a_file", "a_file/below"])
def test_embed_into_a_cache_that_cannot_be_written_is_refused(tiny_t5, tmp_path, capsys, where):
    """'pose2rot embed' exists to fill the cache, yet with a --cache-dir that cannot hold it (a file, or a
    folder under one) it said '2 name(s) embedded ...; cache: a_file/embeddings' and exited 0 with nothing
    cached, so every later solve loaded T5 again. It is refused, before T5 loads, in one line."""
    from pose2rot_core.cli import main

    (tmp_path / "a_file").write_text("not a folder")
    cache = tmp_path / where
    embeddings._T5_CACHE.clear()
    code = main(["embed", "Hips", "Spine", "--t5", str(tiny_t5), "--cache-dir", str(cache)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith(f"pose2rot: error: --cache-dir '{cache}' cannot hold the embedding cache")
    assert "give a folder that can be written" in err
    assert not embeddings._T5_CACHE  # refused before T5 was loaded

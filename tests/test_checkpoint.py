"""Checkpoint loading: containers, safetensors, YAML configs, inference of params, refusals."""
from __future__ import annotations

import argparse
import contextlib
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from _torch_helpers import TORCH_REASON, random_batch

torch = pytest.importorskip("torch", reason=TORCH_REASON)
pytestmark = pytest.mark.torch

from pose2rot_core.checkpoint import (convert_to_safetensors, infer_params, load_model,  # noqa: E402
                                      read_checkpoint, read_yaml_config, save_checkpoint)
from pose2rot_core.cli_model import register  # noqa: E402
from pose2rot_core.errors import Pose2RotError  # noqa: E402
from pose2rot_core.model import Pose2RotMemoryRestModel, batch_to_torch  # noqa: E402

TINY = dict(q_dim=16, num_heads=2, joint_embed_dim=12, rest_layers=1, pose_layers=2, memory_layers=1,
            decoder_layers=2, decoder_use_cross_layers=0, temporal_window=3)
ARM = Path(__file__).resolve().parents[1] / "examples" / "arm.bvh"
YAML = """\
runtime: {{seed: 1}}
model:
  target: models.v2.pose2rot.model.Pose2RotMemoryRestModel
  params:
{params}
train: {{lr: 0.0002}}
"""


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return Pose2RotMemoryRestModel(**TINY).eval()


def outputs(model):
    batch = batch_to_torch(random_batch(model.params, [5], 6, np.random.default_rng(1)))
    with torch.inference_mode():
        return model(batch)["pred_rot6d"]


def write_yaml(path, params):
    body = "\n".join(f"    {k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items())
    path.write_text(YAML.format(params=body))
    return path


def test_upstream_container_with_yaml(tiny, tmp_path):
    ckpt = tmp_path / "up.pt"
    torch.save({"model_state": tiny.state_dict(), "optimizer_state": {"state": {}, "param_groups": []},
                "epoch": 60, "best_test_loss": 0.5}, ckpt)
    model, contents = load_model(ckpt, write_yaml(tmp_path / "c.yaml", TINY))
    assert contents.epoch == 60 and contents.config_source.startswith("config")
    torch.testing.assert_close(outputs(model), outputs(tiny), rtol=0, atol=0)


def test_weights_whose_shapes_do_not_fit_name_the_file(tiny, tmp_path):
    """A damaged file without a stored config (one tensor's rows changed) said only 'parameters
    inferred from the weights: q_dim (17) must be a multiple of num_heads (2)', naming neither the
    file nor the way out."""
    state = dict(tiny.state_dict())
    state["rest_encoder.offset_proj.weight"] = torch.zeros(17, 3)
    torch.save(state, tmp_path / "damaged.pt")
    with pytest.raises(Pose2RotError, match="'.*damaged.pt' stores no config, and parameters inferred from the "
                                            "weights: .*give the model's --config, or check that the file is whole"):
        read_checkpoint(tmp_path / "damaged.pt")


def test_a_runs_config_gives_the_embedder_of_weights_that_lost_theirs(tiny, tmp_path):
    """A bare state dict of a run trained with the hash embedder, given that run's config.yaml (whose
    top-level 'embedder:' names it): the embedder was T5 whatever the config said, so where T5 is
    installed the model would run on other joint-name embeddings. A config contradicting the
    embedder stored in a checkpoint is refused; an upstream config (no 'embedder:') keeps T5."""
    bare = tmp_path / "bare.pt"
    torch.save(tiny.state_dict(), bare)
    run_config = write_yaml(tmp_path / "run.yaml", TINY)
    run_config.write_text(run_config.read_text() + "embedder: hash-ngram-v1\n")
    assert read_checkpoint(bare, run_config).embedder == "hash-ngram-v1"
    assert read_checkpoint(bare, write_yaml(tmp_path / "up.yaml", TINY)).embedder == "t5"
    stored = tmp_path / "stored.pt"
    torch.save({"model_state": tiny.state_dict(), "config": {"params": TINY, "embedder": "t5"}}, stored)
    with pytest.raises(Pose2RotError, match="names the joint-name embedder 'hash-ngram-v1' but .* was trained with 't5'"):
        read_checkpoint(stored, run_config)


def test_a_training_runs_other_entries_are_its_extra(tiny, tmp_path):
    """step and optimizer_state (what --resume needs) come back in ``extra`` from the one weights-only
    read; a solve's load_model does not keep them, and a bare state dict has none."""
    ckpt = tmp_path / "run.pt"
    opt = {"state": {}, "param_groups": [{"lr": 0.001, "params": [0]}]}
    torch.save({"model_state": tiny.state_dict(), "optimizer_state": opt, "epoch": 3, "step": 42}, ckpt)
    config = write_yaml(tmp_path / "c.yaml", TINY)
    contents = read_checkpoint(ckpt, config)
    assert contents.extra == {"optimizer_state": opt, "step": 42} and contents.epoch == 3
    assert load_model(ckpt, config)[1].extra == {}
    torch.save(tiny.state_dict(), tmp_path / "bare.pt")
    assert read_checkpoint(tmp_path / "bare.pt", config).extra == {}


def test_bare_and_ddp_state_dicts_infer_config(tiny, tmp_path):
    for name, state in (("bare.pt", tiny.state_dict()),
                        ("ddp.pt", {"module." + k: v for k, v in tiny.state_dict().items()})):
        torch.save(state, tmp_path / name)
        model, contents = load_model(tmp_path / name)
        assert contents.config_source == "inferred from weights" and contents.epoch is None
        assert {k: contents.params[k] for k in TINY} == TINY
        torch.testing.assert_close(outputs(model), outputs(tiny), rtol=0, atol=0)


def test_infer_params_concat_and_cross():
    m = Pose2RotMemoryRestModel(**dict(TINY, decoder_cond_mode="concat", decoder_use_cross_layers=1,
                                       pose_use_graph=False, memory_rest_film=False))
    p = infer_params(m.state_dict())
    assert p["decoder_cond_mode"] == "concat" and p["decoder_use_cross_layers"] == 1
    assert not p["pose_use_graph"] and not p["memory_rest_film"] and p["pose_rest_film"]


def test_safetensors_roundtrip_keeps_config_without_yaml(tiny, tmp_path):
    src = save_checkpoint(tmp_path / "own.pt", tiny, epoch=7)
    contents = read_checkpoint(src)
    assert contents.config_source == "stored in the checkpoint"
    out = convert_to_safetensors(contents, tmp_path / "m.safetensors")
    model, c2 = load_model(out)
    assert c2.epoch == 7 and c2.config_source == "stored in the checkpoint" and c2.params == contents.params
    torch.testing.assert_close(outputs(model), outputs(tiny), rtol=0, atol=0)
    assert out.read_bytes()[8:9] == b"{"  # safetensors header: plain JSON, no pickle


def test_a_safetensors_name_in_capitals_is_written_and_read(tiny, tmp_path):
    """The command line's up-front check and the reader take the suffix in any case; so does the
    writer (it refused '.SAFETENSORS' after the conversion's work)."""
    out = convert_to_safetensors(read_checkpoint(save_checkpoint(tmp_path / "own.pt", tiny)), tmp_path / "M.SAFETENSORS")
    torch.testing.assert_close(outputs(load_model(out)[0]), outputs(tiny), rtol=0, atol=0)


class _WritesAFile:
    target = ""

    def __reduce__(self):
        return (exec, (f"open({self.target!r}, 'w').write('pwned')",))


def test_pickled_code_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "marker.txt"
    _WritesAFile.target = str(marker)
    bad = tmp_path / "evil.pt"
    torch.save({"model_state": {"w": torch.zeros(1)}, "epoch": _WritesAFile()}, bad)
    assert not marker.exists()
    with pytest.raises(Pose2RotError, match="refused: it contains pickled objects or code"):
        read_checkpoint(bad)
    assert not marker.exists()
    # a plain pickle (not a torch zip) carrying code is refused as well
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_WritesAFile()))
    with pytest.raises(Pose2RotError):
        read_checkpoint(raw)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0.5, 0.95])
def test_truncated_file(tiny, tmp_path, cut):
    good = save_checkpoint(tmp_path / "good.pt", tiny)
    data = good.read_bytes()
    bad = tmp_path / "cut.pt"
    bad.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(Pose2RotError, match="truncated or corrupt"):
        read_checkpoint(bad)
    st = convert_to_safetensors(read_checkpoint(good), tmp_path / "m.safetensors")
    (tmp_path / "cut.safetensors").write_bytes(st.read_bytes()[: int(st.stat().st_size * cut)])
    with pytest.raises(Pose2RotError, match="truncated or corrupt"):
        read_checkpoint(tmp_path / "cut.safetensors")


def test_mismatch_names_keys_and_implied_config(tiny, tmp_path):
    torch.save({"model_state": tiny.state_dict(), "epoch": 1}, tmp_path / "a.pt")
    wrong = dict(TINY, decoder_layers=3, pose_use_graph=False)
    with pytest.raises(Pose2RotError) as e:
        load_model(tmp_path / "a.pt", write_yaml(tmp_path / "w.yaml", wrong))
    msg = str(e.value)
    assert "missing (decoder.blocks.2." in msg and "unexpected (pose_encoder.graph_blocks.0." in msg
    assert "decoder_layers=2" in msg and "pose_use_graph=True" in msg
    state = dict(tiny.state_dict())
    state["decoder.head.3.bias"] = torch.zeros(7)
    torch.save(state, tmp_path / "shape.pt")
    with pytest.raises(Pose2RotError, match=r"1 wrong shape \(decoder.head.3.bias \[7\] vs \[6\]\)"):
        load_model(tmp_path / "shape.pt", dict(TINY))


def test_a_config_asking_for_a_huge_network_is_refused_before_it_is_built(tiny, tmp_path, monkeypatch):
    """A checkpoint of a few hundred bytes whose config asks for a 16,384-wide network (gigabytes):
    the shapes are compared on a model without storage first, so the mismatch is the error and no
    full-size model is ever built."""
    import pose2rot_core.model.network as network

    built = []
    real = network.Pose2RotMemoryRestModel.__init__

    def spy(self, *args, **kwargs):
        built.append(torch.empty(0).device.type)  # the default device while building
        real(self, *args, **kwargs)

    monkeypatch.setattr(network.Pose2RotMemoryRestModel, "__init__", spy)
    torch.save({"a": torch.zeros(1)}, tmp_path / "tiny.pt")
    with pytest.raises(Pose2RotError, match="do not fit the model configuration"):
        load_model(tmp_path / "tiny.pt", dict(TINY, q_dim=16384, num_heads=16))
    assert built == ["meta"]


def test_yaml_errors(tmp_path):
    with pytest.raises(Pose2RotError, match="unknown parameter"):
        read_yaml_config(write_yaml(tmp_path / "u.yaml", dict(TINY, q_dims=3)))
    (tmp_path / "n.yaml").write_text("train: {lr: 1}\n")
    with pytest.raises(Pose2RotError, match="no 'model:' section"):
        read_yaml_config(tmp_path / "n.yaml")
    assert read_yaml_config(write_yaml(tmp_path / "ok.yaml", TINY))["decoder_layers"] == 2


def test_not_weights(tmp_path):
    torch.save({"epoch": 3, "notes": "x"}, tmp_path / "x.pt")
    with pytest.raises(Pose2RotError, match="no weights"):
        read_checkpoint(tmp_path / "x.pt")
    torch.save({"foo.weight": torch.zeros(2)}, tmp_path / "y.pt")
    with pytest.raises(Pose2RotError, match="do not look like a pose2rot model"):
        read_checkpoint(tmp_path / "y.pt")
    with pytest.raises(Pose2RotError, match="does not exist"):
        read_checkpoint(tmp_path / "absent.pt")
    with pytest.raises(Pose2RotError, match="is a folder: give the checkpoint file in it"):
        read_checkpoint(tmp_path)


def test_cli_info_and_convert(tiny, tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="pose2rot")
    register(parser.add_subparsers(dest="command"))
    ckpt = tmp_path / "c.pt"
    torch.save({"model_state": tiny.state_dict(), "optimizer_state": {}, "epoch": 12}, ckpt)
    args = parser.parse_args(["model", "info", str(ckpt)])
    assert args.func(args) == 0
    text = capsys.readouterr().out
    assert "epoch: 12" in text and f"parameters: {sum(p.numel() for p in tiny.parameters()):,}" in text
    assert "decoder_layers: 2" in text
    out = tmp_path / "c.safetensors"
    args = parser.parse_args(["model", "convert", str(ckpt), "--out", str(out)])
    assert args.func(args) == 0 and out.is_file()
    assert read_checkpoint(out).epoch == 12


def test_a_stored_config_that_does_not_fit_its_weights_says_how_to_go_on(tiny, tmp_path, capsys):
    """A checkpoint whose stored configuration asks for another network than its weights (metadata written
    by hand or by another tool) ended in 'weights in ... do not fit the model configuration: ...; the weights
    imply q_dim=16', with nothing to do about it. The message asks for --config, says which file gives it, and
    how to store it; following it, the model loads and converts. Damaged weights (the same network implied)
    keep their own message: no config would help them."""
    from pose2rot_core.cli import main

    ckpt = tmp_path / "odd.pt"
    torch.save({"model_state": tiny.state_dict(), "config": {"params": dict(TINY, q_dim=32)}}, ckpt)
    assert main(["model", "info", str(ckpt)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"pose2rot: error: --config is needed: the configuration stored "
                                                    f"in '{ckpt}' does not fit its weights: "), err
    assert ("the weights imply q_dim=16; give the config of the run that made them (its config.yaml, or a YAML of "
            f"the parameters the weights imply); 'pose2rot model convert {ckpt} --config RUN.yaml --out "
            "NEW.safetensors' stores it in a new file") in err, err
    config = write_yaml(tmp_path / "run.yaml", TINY)
    assert main(["model", "convert", str(ckpt), "--config", str(config), "--out", str(tmp_path / "m.safetensors")]) == 0
    assert main(["model", "info", str(tmp_path / "m.safetensors")]) == 0
    state = dict(tiny.state_dict(), **{"rest_encoder.offset_proj.weight": torch.zeros(16, 4)})
    torch.save({"model_state": state, "config": {"params": TINY}}, tmp_path / "damaged.pt")
    with pytest.raises(Pose2RotError, match="weights in '.*damaged.pt' do not fit the model configuration: 1 wrong "
                                            "shape .*the weights imply the same configuration$"):
        load_model(tmp_path / "damaged.pt")


@pytest.mark.parametrize("text", ["HIERARCHY\nROOT hips\n", "", "{\"model\": 1}"])
def test_a_file_that_is_no_checkpoint_is_called_so(tmp_path, text):
    """A text file (a clip, a config) given as a checkpoint is not "pickled objects or code": it is
    not a checkpoint at all, and the message says so."""
    path = tmp_path / "model.pt"
    path.write_text(text)
    with pytest.raises(Pose2RotError, match="is not a PyTorch checkpoint"):
        read_checkpoint(path)


def test_a_zip_that_is_no_checkpoint_says_what_it_is(tmp_path):
    """A NumPy .npz (a tracks file) given as a checkpoint is a zip archive, as torch.save's are: it was
    handed to torch.load and the message ended in its internals ('[enforce fail at
    inline_container.cc:180]'); it names the kind of file now."""
    import zipfile

    tracks = tmp_path / "walk.npz"
    np.savez(tracks, positions=np.zeros((2, 3, 3)))
    with pytest.raises(Pose2RotError, match="is a NumPy .npz archive .* not a PyTorch checkpoint") as raised:
        read_checkpoint(tracks)
    assert "enforce" not in str(raised.value)
    other = tmp_path / "model.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("notes.txt", "weights elsewhere")
    with pytest.raises(Pose2RotError, match="'.*model.zip' is a zip archive and not a PyTorch checkpoint"):
        read_checkpoint(other)


@pytest.mark.parametrize("name", ["model.bin", "MODEL.SAFETENSORS"])
def test_safetensors_under_another_suffix_are_read_as_such(tiny, tmp_path, name):
    """A .safetensors file renamed (.bin, upper case) is known by its header, not called 'not a
    PyTorch checkpoint'."""
    st = convert_to_safetensors(read_checkpoint(save_checkpoint(tmp_path / "good.pt", tiny)), tmp_path / "m.safetensors")
    (tmp_path / name).write_bytes(st.read_bytes())
    assert read_checkpoint(tmp_path / name).params == read_checkpoint(st).params


def test_convert_keeps_an_unknown_embedder_unknown_and_records_a_named_one(tiny, tmp_path, capsys):
    """'model convert' of weights that do not record their joint-name embedder (a bare state dict) wrote
    the assumed 't5' as fact, so 'model info' said t5 and the run's config naming 'hash' was refused.
    Now the converted file records no embedder (still assumed, and said so) unless --embedder names it;
    --embedder contradicting the file's own record is refused."""
    parser = argparse.ArgumentParser(prog="pose2rot")
    register(parser.add_subparsers(dest="command"))
    bare = tmp_path / "bare.pt"
    torch.save(tiny.state_dict(), bare)
    out = tmp_path / "unknown.safetensors"
    args = parser.parse_args(["model", "convert", str(bare), "--out", str(out)])
    assert args.func(args) == 0
    assert "no joint-name embedder" in capsys.readouterr().out
    assert not read_checkpoint(out).embedder_known
    run_config = write_yaml(tmp_path / "run.yaml", TINY)
    run_config.write_text(run_config.read_text() + "embedder: hash-ngram-v1\n")
    assert read_checkpoint(out, run_config).embedder == "hash-ngram-v1"
    named = tmp_path / "named.safetensors"
    args = parser.parse_args(["model", "convert", str(bare), "--out", str(named), "--embedder", "hash"])
    assert args.func(args) == 0
    contents = read_checkpoint(named)
    assert contents.embedder == "hash-ngram-v1" and contents.embedder_known
    args = parser.parse_args(["model", "convert", str(named), "--out", str(tmp_path / "x.safetensors"),
                              "--embedder", "t5"])
    with pytest.raises(Pose2RotError, match="records the joint-name embedder 'hash-ngram-v1'.*leave --embedder out"):
        args.func(args)


def test_a_checkpoint_missing_a_tensor_is_called_damaged_not_foreign(tiny, tmp_path):
    """A run's checkpoint with one tensor lost ('offset_proj.weight', the one the configuration is read
    from) was said to be '1 missing (...); these weights do not look like a pose2rot model', which
    contradicts itself; now the other tensors are counted and the file is called damaged or incomplete.
    Weights that share few of the model's tensors still do not look like a pose2rot model."""
    state = dict(tiny.state_dict())
    state.pop("rest_encoder.offset_proj.weight")
    torch.save({"model_state": state, "config": {"params": TINY, "embedder": "t5"}}, tmp_path / "lost.pt")
    with pytest.raises(Pose2RotError, match=rf"1 missing \(rest_encoder.offset_proj.weight\); the other "
                                            rf"{len(state)} of the model's {len(state) + 1} tensors are there: the "
                                            "file is damaged or incomplete") as caught:
        load_model(tmp_path / "lost.pt")
    assert "do not look like a pose2rot model" not in str(caught.value)
    few = {k: v for k, v in state.items() if k.startswith("decoder.")}
    torch.save({"model_state": few, "config": {"params": TINY, "embedder": "t5"}}, tmp_path / "few.pt")
    with pytest.raises(Pose2RotError, match="do not look like a pose2rot model"):
        load_model(tmp_path / "few.pt")


def test_a_checkpoint_given_as_the_config_is_named_not_an_internal_error(tiny, tmp_path, capsys):
    """The checkpoint given to --config as well as (or instead of) --checkpoint, or any other binary file,
    ended as 'internal error: UnicodeDecodeError: 'utf-8' codec can't decode byte 0x80' (exit 1) in solve,
    model info and train. It is now one line naming the file as no YAML text, exit 2."""
    from pose2rot_core.cli import main

    ckpt = save_checkpoint(tmp_path / "tiny.pt", tiny, epoch=1)
    arm = str(ARM)
    for command in (["model", "info", str(ckpt)],
                    ["solve", arm, "--solver", "learned", "--checkpoint", str(ckpt), "--out", str(tmp_path / "a.bvh")],
                    ["train", arm, "--out", str(tmp_path / "run"), "--steps", "1"]):
        assert main(command + ["--config", str(ckpt)]) == 2
        err = capsys.readouterr().err
        assert err == (f"pose2rot: error: config '{ckpt}' is not YAML text (not UTF-8; a checkpoint, perhaps): give "
                       "the model's YAML config (model: {target, params})\n")
    assert not (tmp_path / "a.bvh").exists() and not (tmp_path / "run").exists()


@pytest.mark.filterwarnings("ignore:torch.quantize_per_tensor")
@pytest.mark.parametrize("kind", ["int64", "complex", "sparse", "quantised", "meta"])
def test_weights_that_are_not_dense_real_values_are_refused_by_name(tiny, tmp_path, kind):
    """Weights that are not dense real floating-point tensors either ended as an internal error
    (sparse, quantised or meta tensors: 'RuntimeError: Error(s) in loading state_dict', exit 1) or were
    cast on load with no word (integer weights run as their integers; complex ones lost their imaginary
    part). Each is now refused, naming the tensor and what it holds; float16/bfloat16 still load."""
    state = dict(tiny.state_dict())
    name = "rest_encoder.offset_proj.weight"
    w = state[name]
    state[name] = {"int64": lambda: (100 * w).long(), "complex": lambda: torch.complex(w, w),
                   "sparse": w.to_sparse, "meta": lambda: w.to("meta"),
                   "quantised": lambda: torch.quantize_per_tensor(w, 0.01, 0, torch.qint8)}[kind]()
    torch.save({"model_state": state, "config": {"params": tiny.params, "embedder": "hash"}}, tmp_path / "odd.pt")
    what = {"int64": "int64 values", "complex": "complex64 values", "sparse": "a sparse tensor (sparse_coo)",
            "quantised": "quantised values (qint8)", "meta": "no values (a tensor of torch's meta device)"}[kind]
    with pytest.raises(Pose2RotError, match=rf"weight '{name}' holds {re.escape(what)}, not a dense floating-point "
                                            r"tensor: save the model's weights as float32, float16 or bfloat16"):
        read_checkpoint(tmp_path / "odd.pt")
    for dtype in (torch.float16, torch.bfloat16):
        torch.save({k: v.to(dtype) for k, v in tiny.state_dict().items()}, tmp_path / "low.pt")
        assert load_model(tmp_path / "low.pt")[0].params["q_dim"] == TINY["q_dim"]


@pytest.mark.parametrize("stored", ["[1, 2]", '"hash"', "7"])
def test_safetensors_config_metadata_that_is_no_json_object_is_named(tiny, tmp_path, capsys, stored):
    """A .safetensors whose 'pose2rot_config' metadata is valid JSON but no object (a list, a string: a
    hand-written or other tool's metadata) ended as 'internal error: AttributeError: 'list' object has
    no attribute 'get'' (exit 1) in model info and solve. It is now one line naming the metadata entry."""
    from safetensors.torch import save_file

    from pose2rot_core.cli import main

    path = tmp_path / "odd.safetensors"
    save_file({k: v.contiguous() for k, v in tiny.state_dict().items()}, str(path),
              metadata={"pose2rot_config": stored})
    assert main(["model", "info", str(path)]) == 2
    assert capsys.readouterr().err == (f"pose2rot: error: checkpoint '{path}': metadata 'pose2rot_config' holds "
                                       f"{stored}, not a JSON object such as {{\"params\": {{...}}, \"embedder\": "
                                       "\"t5\"}\n")


def test_a_convert_whose_write_fails_keeps_the_file_that_was_there(tiny, tmp_path, capsys):
    """'model convert' wrote --out in place: a write that failed half-way (a full disk, here a file-size
    limit the write runs into) cut the existing file short. Now the file is written beside it and put
    in place whole (errors.write_whole): the old file is as it was, no partial file is left, one line."""
    import errno

    from pose2rot_core.cli import main

    ckpt = save_checkpoint(tmp_path / "c.pt", tiny, epoch=3)
    out = tmp_path / "c.safetensors"
    assert main(["model", "convert", str(ckpt), "--out", str(out)]) == 0
    before = out.read_bytes()
    capsys.readouterr()
    with _disk_full_after(len(before) // 2):
        code = main(["model", "convert", str(ckpt), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert f"cannot write safetensors file '{out}': {os.strerror(errno.EFBIG)}" in err, err
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt", "c.safetensors"]   # no partial file left


@contextlib.contextmanager
def _disk_full_after(size: int):
    """Writes fail past ``size`` bytes a file (a file-size limit, its signal ignored): a disk that fills."""
    import resource
    import signal

    limit, ignored = resource.getrlimit(resource.RLIMIT_FSIZE), signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, limit[1]))
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limit)
        signal.signal(signal.SIGXFSZ, ignored)


def test_a_checkpoint_whose_write_fails_keeps_the_one_that_was_there(tiny, tmp_path):
    """save_checkpoint (and a run's last.pt, config.yaml and history.json) wrote in place: a write that
    failed half-way (h191, red-team) cut the file there short. Now the old checkpoint still loads."""
    path = save_checkpoint(tmp_path / "c.pt", tiny, epoch=3)
    before = path.read_bytes()
    with _disk_full_after(len(before) // 2), pytest.raises(Pose2RotError, match="cannot write checkpoint file"):
        save_checkpoint(path, tiny, epoch=4)
    assert path.read_bytes() == before and read_checkpoint(path).epoch == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


@pytest.mark.parametrize("prefix", ["model.", "_orig_mod.", "module._orig_mod.", "net.model."])
def test_weights_saved_through_a_training_wrapper_load(tiny, tmp_path, prefix):
    """A Lightning .ckpt ({'state_dict': {'model.<name>': ...}, 'hyper_parameters': ...}) or the weights of a
    torch.compile'd network ('_orig_mod.<name>') were called 'not a pose2rot model (no
    rest_encoder.offset_proj.weight)' with a hint to give --config, which cannot help: the prefix every name
    shares is taken off where that shows the network's own names, in .pt and .safetensors alike."""
    from safetensors.torch import save_file

    state = {prefix + k: v for k, v in tiny.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 3, "global_step": 10, "hyper_parameters": {"lr": 1e-3}},
               tmp_path / "run.ckpt")
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "run.safetensors")
    for name in ("run.ckpt", "run.safetensors"):
        model, contents = load_model(tmp_path / name)
        assert {k: contents.params[k] for k in TINY} == TINY
        torch.testing.assert_close(outputs(model), outputs(tiny), rtol=0, atol=0)
    other = {"model.encoder.weight": torch.zeros(2, 2)}  # another network behind the same wrapper: named as it is
    torch.save({"state_dict": other}, tmp_path / "other.ckpt")
    with pytest.raises(Pose2RotError, match=r"no 'rest_encoder.offset_proj.weight'.*first: model\.encoder\.weight"):
        read_checkpoint(tmp_path / "other.ckpt")


def test_a_config_that_does_not_fit_the_weights_names_the_config_and_the_way_out(tiny, tmp_path, capsys):
    """--config of another model (the released YAML beside a self-trained checkpoint) listed the missing
    and unexpected weights and the configuration they imply, and stopped there: nothing said that the
    config was the part to change, nor that leaving it out reads the file's own."""
    from pose2rot_core.cli import main

    torch.save({"model_state": tiny.state_dict(), "epoch": 1}, tmp_path / "a.pt")
    config = write_yaml(tmp_path / "other.yaml", dict(TINY, decoder_layers=3))
    code = main(["model", "info", str(tmp_path / "a.pt"), "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"--config '{config}' does not fit the weights in '{tmp_path / 'a.pt'}'" in err
    assert "missing (decoder.blocks.2." in err and "decoder_layers=2" in err
    assert "give the config these weights were trained with, or none: the file's own configuration" in err

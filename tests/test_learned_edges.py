"""The learned and hybrid solvers as a user drives them: flags with edge values, torch missing,
checkpoint mismatches; a tiny random-weight model with the hash embedder (CPU)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pose2rot_core.cli import main

from _torch_helpers import TORCH_REASON, tiny_model

REPO = Path(__file__).resolve().parents[1]
ARM = REPO / "examples" / "arm.bvh"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """A tiny untrained network for hash-embedded names, saved as a training run saves it."""
    pytest.importorskip("torch", reason=TORCH_REASON)
    from pose2rot_core.checkpoint import save_checkpoint
    from pose2rot_core.embeddings import HASH_DIM, HASH_FAMILY

    model = tiny_model(joint_embed_dim=HASH_DIM)
    model.embedder = HASH_FAMILY
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", model, epoch=1)


@pytest.mark.parametrize("window", ["48", "10", "1"])
def test_a_short_window_runs(checkpoint, tmp_path, window, capsys):
    """--window below the default overlap (64 frames) was refused as 'overlap (64) in [0, window)', a
    setting the command line cannot change; the overlap now shrinks with the window."""
    out = tmp_path / "arm.npz"
    code = main(["solve", str(ARM), "--solver", "hybrid", "--checkpoint", str(checkpoint), "--window", window,
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert out.is_file()


def test_overlap_fits_the_window():
    from pose2rot_core.solvers.learned import DEFAULT_OVERLAP, default_overlap, window_starts

    assert default_overlap(4096) == DEFAULT_OVERLAP
    for window in (1, 2, 10, 48, 127, 1024):
        overlap = default_overlap(window)
        assert 0 <= overlap < window
        starts = window_starts(300, window, overlap)
        assert starts[0] == 0 and starts[-1] + window == max(300, window)


def test_train_without_torch_names_the_install(tmp_path):
    """Without torch, 'pose2rot train' ended as 'internal error: ModuleNotFoundError' (exit 1); now the
    one-line error every other learned command gives (exit 2), and no run folder. The install advice names
    the packages and this interpreter, which works for a wheel install too (it said pip install -e
    "core[learned]" in the pose2rot repository, which a wheel user does not have)."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "from pose2rot_core.cli import main\n"
            f"sys.exit(main(['train', {str(ARM)!r}, '--out', {str(tmp_path / 'run')!r}, '--steps', '1']))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == ("pose2rot: error: the learned model needs PyTorch: install the learned model's "
                                  f"packages into this Python with: {sys.executable} -m pip install torch "
                                  "transformers safetensors pyyaml tokenizers sentencepiece")
    assert not (tmp_path / "run").exists()


def test_a_missing_key_does_not_invent_a_cross_attention_difference(tmp_path):
    """A run's checkpoint (cross-attention in every block: decoder_use_cross_layers null) with one
    tensor missing was said to 'imply decoder_use_cross_layers=3', the very shape it asks for."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    from pose2rot_core.checkpoint import load_model, save_checkpoint
    from pose2rot_core.errors import Pose2RotError

    model = tiny_model(joint_embed_dim=8, decoder_layers=3, decoder_use_cross_layers=None)
    path = save_checkpoint(tmp_path / "run.pt", model, epoch=1)
    saved = torch.load(path, weights_only=True)
    del saved["model_state"]["rest_encoder.out_norm.bias"]
    torch.save(saved, tmp_path / "less.pt")
    with pytest.raises(Pose2RotError) as e:
        load_model(tmp_path / "less.pt")
    msg = str(e.value)
    assert "1 missing (rest_encoder.out_norm.bias)" in msg
    assert msg.endswith("the weights imply the same configuration"), msg
    with pytest.raises(Pose2RotError, match=r"the weights imply decoder_use_cross_layers=3$"):
        load_model(path, dict(model.params, decoder_use_cross_layers=1))


@pytest.mark.parametrize("given", ["missing_folder", "./missing_folder", "a_file.txt"])
def test_a_t5_folder_that_is_not_there_is_named(tmp_path, monkeypatch, capsys, given):
    """--t5 with a folder that does not exist was passed to transformers as a model id, which answered
    'Repo id must use alphanumeric chars ...' (or tried the network); now the folder is named."""
    pytest.importorskip("torch", reason=TORCH_REASON)               # without it: the install line first
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file.txt").write_text("not a model")
    if given == "missing_folder":
        given = str(tmp_path / "models" / "t5-base")
    code = main(["embed", "LeftArm", "--t5", given, "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"pose2rot: error: --t5 '{given}' ")
    assert ("is a file" if given.endswith(".txt") else "is no folder that exists") in err


def test_a_t5_folder_from_the_environment_is_named_as_such(tmp_path, monkeypatch, capsys):
    """A missing T5 folder set by $POSE2ROT_T5 (no --t5 given, as in 'pose2rot train' with the T5 embedder)
    was called "--t5 '...' is no folder that exists", a flag the user never typed; the variable is named."""
    pytest.importorskip("torch", reason=TORCH_REASON)
    missing = str(tmp_path / "models" / "t5-base")
    monkeypatch.setenv("POSE2ROT_T5", missing)
    code = main(["embed", "LeftArm", "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"pose2rot: error: $POSE2ROT_T5 '{missing}' is no folder that exists: "), err


def test_a_truncated_checkpoint_is_reported_in_whole_sentences(checkpoint, tmp_path, capsys):
    """torch's message for a cut file was quoted up to 200 characters and ended in the middle of a
    sentence ('... your checkpoint file is'); now its first sentence."""
    cut = tmp_path / "cut.pt"
    data = checkpoint.read_bytes()
    cut.write_bytes(data[:len(data) // 2])
    assert main(["model", "info", str(cut)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "truncated or corrupt" in err
    assert err.endswith("failed finding central directory"), err


def test_first_sentence():
    from pose2rot_core.errors import first_sentence

    assert first_sentence("Bad header. This is an internal error. More") == "Bad header"
    assert first_sentence("one line\nsecond") == "one line"
    assert first_sentence("") == ""
    assert first_sentence("x" * 300, 20) == "x" * 17 + "..."


@pytest.mark.parametrize("reference", ["none", "rotations only", "at a frame"])
def test_the_memory_slot_is_a_pose_with_its_own_rotations(reference):
    """The memory slot pairs positions with rotations, as in training (a frame and its true
    rotations). Without a reference frame it paired the tracks' frame 0 with the identity (or the
    given reference rotations), a pose those rotations do not make: the rest pose now (the rig
    posed by the reference rotations when they are given)."""
    from dataclasses import replace

    from pose2rot_core.fk import forward_kinematics
    from pose2rot_core.model_inputs import build_inputs
    from pose2rot_core.rotations import axis_angle_to_matrix, rot6d_to_matrix
    from pose2rot_core.skeleton import Skeleton
    from pose2rot_core.tracks import Tracks

    rng = np.random.default_rng(3)
    rest = np.array([[0.0, 1.0, 0.0], [0.0, 1.5, 0.0], [0.0, 2.0, 0.1], [0.4, 1.6, 0.0], [-0.4, 1.6, 0.0]])
    sk = Skeleton(("Hips", "Spine", "Head", "LArm", "RArm"), [-1, 0, 1, 1, 1], rest)
    R = axis_angle_to_matrix(rng.normal(size=(8, 5, 3)), rng.uniform(0.3, 1.2, (8, 5)))
    P = forward_kinematics(sk, R, rng.normal(size=(8, 3)))[1]
    tracks = Tracks(sk, P, up_axis="z")
    if reference == "rotations only":
        tracks = replace(tracks, reference_rotations=R[5])
    elif reference == "at a frame":
        tracks = replace(tracks, reference_rotations=R[5], reference_frame=5)
    inp = build_inputs(tracks, np.zeros((5, 4), np.float32))
    A, s = inp.axes, inp.scale
    rotations = A.T @ rot6d_to_matrix(inp.arrays["memory_rot6d"][0].astype(np.float64)) @ A  # file axes
    posed = forward_kinematics(sk, rotations[None], np.zeros((1, 3)))[1][0]
    np.testing.assert_allclose(inp.arrays["memory_pose"][0], posed @ A.T / s, atol=1e-5)
    assert not np.allclose(inp.arrays["memory_pose"][0], inp.arrays["position"][0], atol=1e-3)


@pytest.mark.parametrize("device", ["mps", "xla", "meta", "gpu"])
def test_a_device_the_solver_does_not_run_on_is_one_error_line(device):
    """--device mps/xla/meta reached torch and ended as 'internal error: RuntimeError: ...' (exit 1)."""
    pytest.importorskip("torch", reason=TORCH_REASON)
    from pose2rot_core.errors import Pose2RotError
    from pose2rot_core.solvers.learned import resolve_device

    with pytest.raises(Pose2RotError, match=rf"device '{device}' is no device this solver runs on \(use auto, cpu, cuda or cuda:N\)"):
        resolve_device(device)
    assert resolve_device("cpu") == "cpu"


def test_weights_that_lost_their_embedder_say_t5_was_assumed_and_how_to_record_it(checkpoint, tmp_path, capsys):
    """A hash-trained model re-saved as the refusal of a pickled module advised (its bare state dict)
    asked for t5-base with no word that T5 was only assumed, and solve could not name the embedder. The
    refusal now advises save_checkpoint, which keeps the embedder (following it, the model solves); a
    bare state dict's T5 error says T5 was assumed and names 'model convert --embedder hash', which,
    followed, makes the weights solve."""
    import torch

    from pose2rot_core.checkpoint import load_model, save_checkpoint

    model = load_model(checkpoint)[0]
    pickled = tmp_path / "module.pt"
    torch.save(model, pickled)
    arm = ["solve", str(ARM), "--solver", "hybrid", "--out", str(tmp_path / "arm.bvh"), "--checkpoint"]
    assert main(arm + [str(pickled)]) == 2
    assert "re-save the model with pose2rot_core.checkpoint.save_checkpoint(PATH, model)" in capsys.readouterr().err
    assert main(arm + [str(save_checkpoint(tmp_path / "resaved.pt", model))]) == 0, capsys.readouterr().err
    bare = tmp_path / "bare.pt"
    torch.save(model.state_dict(), bare)
    assert main(arm + [str(bare), "--t5", str(tmp_path / "no_t5")]) == 2
    err = capsys.readouterr().err
    assert "assumed: the checkpoint does not record its joint-name embedder, so t5" in err
    assert f"'pose2rot model convert {bare} --out NEW.safetensors --embedder hash'" in err
    named = tmp_path / "named.safetensors"
    assert main(["model", "convert", str(bare), "--out", str(named), "--embedder", "hash"]) == 0
    assert main(arm + [str(named)]) == 0, capsys.readouterr().err


def test_an_embedding_width_the_weights_do_not_take_names_the_wrong_side(tmp_path, capsys):
    """Weights 512 wide recorded with the hash embedder (768 wide) were told 'use the embedder the
    model was trained with', which is the one it used. Now: for the hash embedder, whose width is fixed,
    the file's record is wrong; for T5, the encoder given gives another width (the T5 setting named)."""
    import torch

    from pose2rot_core.checkpoint import read_checkpoint, save_checkpoint
    from pose2rot_core.embeddings import HASH_FAMILY
    from pose2rot_core.options import OptionError
    from pose2rot_core.solvers.learned import _check_width

    model = tiny_model(joint_embed_dim=512)
    model.embedder = HASH_FAMILY
    path = save_checkpoint(tmp_path / "w512.pt", model)
    assert main(["solve", str(ARM), "--solver", "hybrid", "--checkpoint", str(path), "--out",
                 str(tmp_path / "a.bvh")]) == 2
    err = capsys.readouterr().err
    assert "takes joint-name embeddings 512 wide (joint_embed_dim), but the hash embedder it is recorded with" in err
    assert "gives 768" in err and "use the embedder the model was trained with" not in err
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    contents = read_checkpoint(tmp_path / "bare.pt")
    with pytest.raises(OptionError, match=r"'t5-base' gives joint-name embeddings 768 wide, but checkpoint .* takes "
                                          r"512 \(joint_embed_dim\): give the T5 encoder it was trained with.*assumed"):
        _check_width(768, contents, "t5", "t5-base", tmp_path / "bare.pt")


def _rolling_network(joint: str, degrees: float):
    """A stand-in network (solvers.Network) that answers with the geometric solution, ``joint`` rolled
    about its bone by ``degrees``: every position the same, only that roll differs."""
    from dataclasses import replace

    from pose2rot_core.rotations import axis_angle_to_matrix
    from pose2rot_core.solvers.geometric import solve_geometric

    def run(tracks, missing, progress):
        sol = solve_geometric(tracks, missing=missing)
        skel = tracks.skeleton
        j = skel.names.index(joint)
        bone = skel.offsets[skel.children[j][0]]
        R = sol.rotations.copy()
        R[:, j] = R[:, j] @ axis_angle_to_matrix(bone / np.linalg.norm(bone), np.radians(degrees))
        return replace(sol, rotations=R, report=[])

    return run


@pytest.mark.parametrize("degrees", [45.0, 20.0])
def test_unanchored_hybrid_rolls_far_from_the_geometric_solvers_are_a_warning(degrees):
    """Hybrid without a reference pose at a frame wrote the network's rolls with no word however far
    they were from the geometric solver's (the cmu walk with a small model: a forearm 66° off the clip,
    positions exact, nothing warned). A bone rolled past a flip's turn (30°) from the geometric solve is
    now named in a warning, with how far; within it, or anchored on a reference frame, no warning."""
    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.solvers.hybrid import solve_hybrid
    from pose2rot_core.tracks_io import tracks_from_bvh
    from pose2rot_core.wording import in_words

    clip = read_bvh(ARM)
    network = _rolling_network("elbow", degrees)
    free = solve_hybrid(tracks_from_bvh(clip), network, twist="reference")
    warned = [n for n in free.report if "nothing anchors the network's rolls" in n]
    assert np.abs(free.positions - tracks_from_bvh(clip).positions).max() < 1e-9
    if degrees > 30:
        assert len(warned) == 1 and warned[0].startswith("warning: hybrid: ")
        assert "'elbow' up to 45°" in warned[0] and "solver='geometric'" in warned[0]
        # what anchors them, as each interface names it (it said 'a reference pose the tracks show')
        assert "anchors them (--reference-frame N)" in in_words(warned[0], "cli")
        assert "anchors them (Reference: Current pose)" in in_words(warned[0], "blender")
    else:
        assert not warned
    anchored = solve_hybrid(tracks_from_bvh(clip, reference_frame=0), network, twist="reference")
    assert not [n for n in anchored.report if "anchors" in n]


@pytest.mark.parametrize("suffix", [".bvh", ".npz"])
def test_the_hybrid_warnings_advice_of_a_reference_pose_fits_the_tracks(checkpoint, tmp_path, capsys, monkeypatch,
                                                                        suffix):
    """The warning of unanchored hybrid rolls advised '--reference-frame N' whatever the tracks: tracks of
    positions alone (.npz, .csv) have no rotations for it to take the pose from, and that advice was refused
    ('--reference-frame without --reference needs BVH tracks'). For them it names --reference POSE.bvh with
    --reference-frame N, which anchors the rolls (the warning goes); BVH tracks keep --reference-frame N."""
    import pose2rot_core.solvers as solvers
    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.tracks_io import save_tracks, tracks_from_bvh

    monkeypatch.setattr(solvers, "local_network", lambda options: _rolling_network("elbow", 45.0))
    tracks = tmp_path / f"arm{suffix}"
    if suffix == ".npz":
        save_tracks(tracks, tracks_from_bvh(read_bvh(ARM)))
    else:
        tracks.write_bytes(ARM.read_bytes())
    argv = ["solve", str(tracks), "--solver", "hybrid", "--checkpoint", str(checkpoint), "--out",
            str(tmp_path / "o.bvh")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    advice = ("--reference-frame N)" if suffix == ".bvh" else "--reference POSE.bvh --reference-frame N, with POSE.bvh "
              "a BVH of the tracks' rig whose frame N holds the pose they show at frame N)")
    assert f"a reference pose the tracks show at a frame anchors them ({advice}, and --solver geometric" in err, err
    given = ["--reference-frame", "0"] + (["--reference", str(ARM)] if suffix == ".npz" else [])
    assert main(argv + given) == 0
    assert "nothing anchors" not in capsys.readouterr().err


def test_the_report_of_weights_that_lost_their_embedder_names_their_file(checkpoint, tmp_path, monkeypatch):
    """A bare state dict solved with T5 assumed: the report line's advice names the checkpoint file
    (it printed the placeholder 'CHECKPOINT' where the error named the file)."""
    import torch

    from pose2rot_core.checkpoint import load_model
    from pose2rot_core.embeddings import HASH_DIM
    from pose2rot_core.options import SolveOptions
    from pose2rot_core.solvers import learned, solve
    from pose2rot_core.tracks_io import load_tracks

    bare = tmp_path / "bare.pt"
    torch.save(load_model(checkpoint)[0].state_dict(), bare)
    monkeypatch.setattr(learned, "embed_joint_names",         # T5 is not here: names of its width
                        lambda names, *args, **kwargs: np.zeros((len(names), HASH_DIM), np.float32))
    sol = solve(load_tracks(ARM), SolveOptions(solver="learned", checkpoint=str(bare), device="cpu"))
    line = next(line for line in sol.report if "assumed:" in line)
    assert f"'pose2rot model convert {bare} --out NEW.safetensors --embedder hash'" in line, line


@pytest.mark.parametrize("spelling", ["hash", "HASH", " Hash-Ngram-V1 "])
def test_an_embedder_spelled_as_the_command_line_spells_it_solves(checkpoint, tmp_path, capsys, spelling):
    """A checkpoint or config naming its embedder 'hash' (as --embedder and the docs spell it) loaded,
    then every solve failed: 'trained with the 'hash' joint-name embedder but the inputs were embedded
    with 'hash-ngram-v1'; use --embedder hash', a flag solve does not have. The name is now read as the
    embedder it names, wherever it is written."""
    import torch

    from pose2rot_core.checkpoint import load_model

    model = load_model(checkpoint)[0]
    stored = tmp_path / "stored.pt"
    torch.save({"model_state": model.state_dict(), "config": {"params": model.params, "embedder": spelling}}, stored)
    bare = tmp_path / "bare.pt"
    torch.save(model.state_dict(), bare)
    config = tmp_path / "config.yaml"
    params = ", ".join(f"{k}: {v}" for k, v in (("q_dim", 16), ("num_heads", 2), ("rest_layers", 1), ("pose_layers", 1),
                                                  ("memory_layers", 1), ("decoder_layers", 1),
                                                  ("decoder_use_cross_layers", 0)))
    config.write_text(f"model:\n  params: {{{params}}}\nembedder: '{spelling}'\n")
    arm = ["solve", str(ARM), "--solver", "learned", "--out", str(tmp_path / "arm.bvh")]
    assert main(arm + ["--checkpoint", str(stored)]) == 0, capsys.readouterr().err
    assert main(arm + ["--checkpoint", str(bare), "--config", str(config)]) == 0, capsys.readouterr().err
    assert main(arm + ["--checkpoint", str(stored), "--config", str(config)]) == 0, capsys.readouterr().err


def test_an_embedder_no_one_knows_is_refused_where_it_is_written(checkpoint, tmp_path, capsys):
    """A config naming the embedder 'foo' passed 'model info' and 'model convert', which wrote it into
    the .safetensors; only a solve refused it, without naming the file. Now each command refuses it,
    naming the config and the embedders there are, and convert writes nothing."""
    import torch

    from pose2rot_core.checkpoint import load_model

    bare = tmp_path / "bare.pt"
    torch.save(load_model(checkpoint)[0].state_dict(), bare)
    config = tmp_path / "config.yaml"
    config.write_text("model:\n  params: {q_dim: 16, num_heads: 2, rest_layers: 1, pose_layers: 1, memory_layers: 1, "
                      "decoder_layers: 1, decoder_use_cross_layers: 0}\nembedder: foo\n")
    out = tmp_path / "foo.safetensors"
    for command in (["model", "info", str(bare)], ["model", "convert", str(bare), "--out", str(out)],
                    ["solve", str(ARM), "--solver", "learned", "--out", str(tmp_path / "a.bvh"), "--checkpoint", str(bare)]):
        assert main(command + ["--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert f"config '{config}' names the joint-name embedder 'foo'" in err and "'t5' or 'hash'" in err, err
    assert not out.exists() and not (tmp_path / "a.bvh").exists()


def test_a_gpu_number_this_machine_does_not_have_is_refused_by_the_device_setting(monkeypatch):
    """On a machine with one GPU, --device cuda:1 passed the device check (only the kind was checked) and
    went on to torch with an ordinal no GPU has. It is now refused by the device setting, saying how many
    GPUs PyTorch sees; cuda:0 and cuda still resolve."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    from pose2rot_core.options import OptionError
    from pose2rot_core.solvers.learned import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(OptionError, match=r"is 'cuda:1', but PyTorch sees 1 CUDA GPU here \(cuda:0\): give cuda:0, "
                                          r"cuda or auto") as error:
        resolve_device("cuda:1")
    assert error.value.field == "device"
    assert resolve_device("cuda:0") == "cuda:0" and resolve_device("cuda") == "cuda"


def test_a_t5_encoder_a_hash_model_does_not_use_is_said(checkpoint, tmp_path, capsys):
    """--t5 given with a checkpoint of the built-in hash embedder was dropped without a word (a folder that
    is not there solved as well as any). One note now says that it is not used and why, in each
    interface's words (the Blender preference's label there)."""
    from pose2rot_core.wording import in_words

    code = main(["solve", str(ARM), "--solver", "hybrid", "--checkpoint", str(checkpoint), "--t5",
                 str(tmp_path / "no-t5"), "--device", "cpu", "--out", str(tmp_path / "arm.bvh")])
    err = capsys.readouterr().err
    assert code == 0, err
    line = (f"note: learned: the T5 encoder given is not used (--t5 {tmp_path / 'no-t5'}): this model embeds joint "
            "names with the built-in hash embedder (hash-ngram-v1), which needs no T5\n")
    assert line in err, err
    note = "learned: the T5 encoder given is not used (t5='/models/t5 base'): this model ..."
    assert in_words(note, "blender") == "learned: the T5 encoder given is not used (T5 encoder: /models/t5 base): " \
                                        "this model ..."


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_a_gpu_precision_on_the_cpu_is_refused_by_its_flag(checkpoint, tmp_path, capsys, precision):
    """--precision bf16 on the CPU said 'precision 'bf16' needs a CUDA device; use fp32 on cpu', naming no
    flag; it is the --precision setting that is refused, in the command line's words, and nothing is written."""
    out = tmp_path / "arm.bvh"
    code = main(["solve", str(ARM), "--solver", "learned", "--checkpoint", str(checkpoint), "--device", "cpu",
                 "--precision", precision, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err == f"pose2rot: error: --precision '{precision}' needs a CUDA device: use fp32 on cpu\n"


@pytest.mark.parametrize("solver", ["learned", "hybrid"])
def test_a_batch_in_two_workers_gives_the_rotations_of_one(checkpoint, tmp_path, solver, capsys):
    """`pose2rot solve --jobs 2` with the network: each worker loads the checkpoint itself and runs torch on
    one thread, so its sums may round otherwise than this process's threads (1e-5 deg apart, not bytes)."""
    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.rotations import geodesic_angle

    clips = [tmp_path / f"{name}.bvh" for name in "abc"]
    for path in clips:
        path.write_text(ARM.read_text())
    for jobs in (1, 2):
        code = main(["solve", *map(str, clips), "--solver", solver, "--checkpoint", str(checkpoint), "--jobs",
                     str(jobs), "--out", str(tmp_path / f"out{jobs}")])
        assert code == 0, capsys.readouterr().err
    source = read_bvh(ARM)
    for path in clips:
        one, two = (read_bvh(tmp_path / f"out{jobs}" / path.name) for jobs in (1, 2))
        assert one.rotations.shape == source.rotations.shape
        assert np.degrees(geodesic_angle(one.rotations, two.rotations)).max() < 1e-3


def test_a_short_noisy_clip_keeps_its_level_when_the_network_misses(checkpoint):
    """A clip of 5-8 noisy frames whose geometric solve the level read from its bones' lengths does
    not explain is solved again following its tracks; the network's misses are its own (no level
    moves them), so the learned solver was run twice and said the level was not used."""
    from pose2rot_core.bvh import read_bvh
    from pose2rot_core.evaluate import add_noise
    from pose2rot_core.solvers import solve
    from pose2rot_core.tracks_io import tracks_from_bvh

    noisy = add_noise(tracks_from_bvh(read_bvh(ARM), reference_frame=0).frames(0, 6), 0.005, 0)
    calls = []
    sol = solve(noisy, solver="learned", checkpoint=checkpoint, device="cpu",
                progress=lambda share, what: calls.append(what))
    assert sol.check.far.any()                                     # the untrained network misses
    assert not any("was not used" in line for line in sol.report), sol.report
    assert any("read from how the bones' lengths spread over 6 frames" in line for line in sol.report), sol.report
    assert calls.count("loading the model") == 1

"""``pose2rot train``: data pipeline (windows, yaw, static joints, mixed-rig batches), loss terms,
schedule, and short end-to-end runs (train -> checkpoint -> solve --solver hybrid; fine-tuning
from the released shape; resume). Synthetic BVH clips written here; CPU, one thread."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from _torch_helpers import TORCH_REASON

torch = pytest.importorskip("torch", reason=TORCH_REASON)

from pose2rot_core.bvh import read_bvh, write_bvh  # noqa: E402
from pose2rot_core.cli import main  # noqa: E402
from pose2rot_core.errors import Pose2RotError  # noqa: E402
from pose2rot_core.rotations import axis_angle_to_matrix  # noqa: E402
from pose2rot_core.skeleton import Skeleton  # noqa: E402
from pose2rot_core.training import data as tdata  # noqa: E402
from pose2rot_core.training.config import TrainConfig, model_params  # noqa: E402
from pose2rot_core.training.losses import fk_positions, loss_terms, rot6d_to_matrix, total_loss  # noqa: E402

torch.set_num_threads(1)


def write_clip(path: Path, J: int, T: int, seed: int, frozen: int | None = None) -> Path:
    """A smooth random motion on a J-joint chain-and-branch rig, written as BVH.
    frozen: a joint that keeps one rotation for the whole clip."""
    rng = np.random.default_rng(seed)
    parents = [-1] + [max(0, j - 1 - (j % 3 == 0)) for j in range(1, J)]
    rest = np.zeros((J, 3))
    for j in range(1, J):
        rest[j] = rest[parents[j]] + rng.normal(size=3) * 0.3 + [0, 1.0, 0]
    sk = Skeleton(tuple(f"{'Arm' if j % 2 else 'Leg'}{j}" for j in range(J)), parents, rest)
    t = np.linspace(0, 2 * np.pi, T)[:, None]
    axes = rng.normal(size=(J, 3))
    axes /= np.linalg.norm(axes, axis=-1, keepdims=True)
    angles = 0.8 * np.sin(t * rng.uniform(0.5, 2.0, J) + rng.uniform(0, 6, J))
    R = axis_angle_to_matrix(np.broadcast_to(axes, (T, J, 3)), angles)
    if frozen is not None:
        R[:, frozen] = R[0, frozen]
    root = np.c_[np.sin(t[:, 0]), 1.0 + 0.1 * np.cos(t[:, 0]), t[:, 0]]
    leaves = [j for j in range(J) if j not in parents]
    write_bvh(path, sk, R, root, fps=30.0, order="ZXY", end_parents=np.array(leaves),
              end_offsets=np.tile([0.0, 0.5, 0.0], (len(leaves), 1)))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clips")
    write_clip(d / "rig_a.bvh", 7, 64, 0, frozen=3)
    write_clip(d / "rig_b.bvh", 11, 56, 1)
    return d


@pytest.fixture(scope="module")
def sampler(clips) -> tdata.WindowSampler:
    prepared = tdata.load_training_clips([read_bvh(clips / "rig_a.bvh"), read_bvh(clips / "rig_b.bvh")], "hash")
    return tdata.WindowSampler(prepared, TrainConfig(steps=10, batch=2), np.random.default_rng(0))


def to_torch(batch: dict) -> dict:
    from pose2rot_core.model.network import batch_to_torch

    return batch_to_torch(batch)


# ------------------------------------------------------------------------------- data pipeline
def test_static_joint_marking(clips, sampler):
    clip = read_bvh(clips / "rig_a.bvh")
    mask = tdata.static_joint_mask(clip.rotations, ref=5, degrees=2.0)
    assert mask.tolist() == [j == 3 for j in range(7)]
    R = np.broadcast_to(np.eye(3), (10, 2, 3, 3)).copy()
    R[:, 1] = axis_angle_to_matrix(np.array([0.0, 0.0, 1.0]), np.radians(np.linspace(0, 2.5, 10)))
    assert tdata.static_joint_mask(R, 0).tolist() == [True, False]  # 2.5° from frame 0 at the end
    assert tdata.static_joint_mask(R, 5).tolist() == [True, True]  # within 2° of the middle frame
    s = sampler.sample(clip=sampler.clips[0])
    assert s["static_mask"].tolist() == mask.tolist() and s["rot_mask"].tolist() == (~mask).tolist()


@pytest.mark.parametrize("yaw", [0.0, 0.7, 2.5, -1.9])
def test_yaw_augmentation_keeps_fk_consistent(sampler, yaw):
    clip = sampler.clips[1]
    s = sampler.sample(clip=clip, start=3, ref=7, yaw=yaw, scale_factor=1.0)
    s0 = sampler.sample(clip=clip, start=3, ref=7, yaw=0.0, scale_factor=1.0)
    R_yaw = tdata.yaw_matrix(yaw)
    np.testing.assert_allclose(s["position"], s0["position"] @ R_yaw.T, atol=1e-5)  # rotated positions
    b = to_torch(tdata.collate([s]))
    pos = fk_positions(rot6d_to_matrix(b["rot6d"].double()), b["fk_offset"].double(), b["parents"], b["depth"])
    np.testing.assert_allclose(pos[0].numpy(), s["position"], atol=1e-5)  # FK of the yawed root rotation
    np.testing.assert_allclose(s["ref_rot6d_a"], s["rot6d"][7])
    assert np.allclose(s["rot6d"][:, 1:], s0["rot6d"][:, 1:])  # only the root rotation changes


def test_batches_mix_rigs_with_padding_and_masks(sampler):
    a = sampler.sample(clip=sampler.clips[0])
    b = sampler.sample(clip=sampler.clips[1])
    batch = tdata.collate([a, b])
    assert batch["position"].shape == (2, 48, 11, 3) and batch["rot6d"].shape == (2, 48, 11, 6)
    assert batch["joint_mask"].sum(1).tolist() == [7, 11]
    assert not batch["rot_mask"][0, 7:].any() and not batch["position"][0, :, 7:].any()
    assert (batch["graph_hop"][0, 7:] == 5).all() and batch["embedder"] == "hash-ngram-v1"
    # per-sample normalisation: padding does not change a sample's loss
    rng = np.random.default_rng(3)
    raw = [torch.as_tensor(x["rot6d"] + rng.normal(scale=0.3, size=x["rot6d"].shape)).float() for x in (a, b)]
    padded = torch.zeros(2, 48, 11, 6)
    padded[0, :, :7], padded[1] = raw[0], raw[1]
    both = loss_terms(padded, to_torch(batch))
    alone = [loss_terms(r[None], to_torch(tdata.collate([x]))) for r, x in zip(raw, (a, b))]
    for k in both:
        assert float(both[k]) == pytest.approx((float(alone[0][k]) + float(alone[1][k])) / 2, rel=1e-4, abs=1e-7)


def test_loss_terms_are_zero_for_a_perfect_prediction(sampler):
    batch = to_torch(sampler.batch(3))
    terms = loss_terms(batch["rot6d"].clone(), batch)
    for name, value in terms.items():
        assert float(value) < 1e-6, name
    noisy = loss_terms(batch["rot6d"] + 0.1, batch)
    assert all(float(noisy[k]) > 1e-4 for k in ("rot", "root", "fk"))
    assert float(total_loss(noisy, TrainConfig().weights, 10.0)) > float(total_loss(noisy, TrainConfig().weights, 0.0))


def test_schedule_warmup_fk_ramp_and_epochs(sampler):
    from pose2rot_core.training.loop import _steps_for

    assert sampler.windows_per_epoch() == 4  # 64 and 56 frames: two 48-frame windows each
    assert _steps_for(None, 3, sampler, 2, 2000) == 6 and _steps_for(None, None, sampler, 2, 2000) == 2000
    with pytest.raises(Pose2RotError, match="not both"):
        _steps_for(5, 3, sampler, 2, 2000)
    cfg = TrainConfig(steps=1000)
    assert cfg.warmup_steps() == 100 and TrainConfig(steps=20000).warmup_steps() == 500
    assert [cfg.fk_weight(s) for s in (0, 99, 100, 200, 300, 999)] == [0.0, 0.0, 0.0, 5.0, 10.0, 10.0]
    from pose2rot_core.training.loop import _lr_at

    assert _lr_at(0, cfg) == pytest.approx(2e-6) and _lr_at(99, cfg) == _lr_at(500, cfg) == 2e-4


def test_holdout_split_and_short_clips(clips, tmp_path):
    paths = tdata.collect_bvh([clips])
    train, held, notes = tdata.split_clips(paths, holdout_split=0.25)
    assert [c.num_frames for c in train] == [48, 42] and [c.num_frames for c in held] == [16, 14]
    s = tdata.WindowSampler(tdata.load_training_clips(train, "hash"), TrainConfig(steps=1), np.random.default_rng(0))
    assert s.window == 48 and s.notes == ["rig_b[0:42]: shorter than the 48-frame window, skipped"]
    train, held, _ = tdata.split_clips(paths, holdout=["rig_a"], holdout_split=0.25)
    assert [c.name for c in held] == ["rig_a", "rig_b[42:56]"]
    with pytest.raises(Pose2RotError, match="not in the data: nope"):
        tdata.split_clips(paths, holdout=["nope"])
    s = tdata.WindowSampler(tdata.load_training_clips(train, "hash"), TrainConfig(steps=1), np.random.default_rng(0))
    assert s.window == 42 and "shorter than 48 frames: windows of 42 frames" in s.notes[0]  # every clip is short


# ------------------------------------------------------------------------------- end to end
def test_train_checkpoint_then_solve_hybrid(clips, tmp_path, capsys):
    from pose2rot_core.checkpoint import read_checkpoint
    from pose2rot_core.solvers import solve
    from pose2rot_core.tracks_io import tracks_from_bvh

    run = tmp_path / "run"
    rc = main(["train", str(clips), "--out", str(run), "--steps", "3", "--batch", "2", "--threads", "1",
               "--holdout-split", "0.25", "--seed", "1"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "hybrid / geometric: rest" in out and (run / "holdout.txt").is_file()
    contents = read_checkpoint(run / "last.pt")
    assert contents.embedder == "hash-ngram-v1" and contents.params == model_params("small")[0]
    blob = torch.load(str(run / "last.pt"), weights_only=True)
    assert {"model_state", "optimizer_state", "epoch", "step"} <= set(blob) and blob["step"] == 3
    import yaml

    doc = yaml.safe_load((run / "config.yaml").read_text())
    assert doc["model"]["params"]["q_dim"] == 64 and doc["embedder"] == "hash-ngram-v1"

    assert main(["tracks", str(clips / "rig_b.bvh"), "--out", str(tmp_path / "t.npz")]) == 0
    rc = main(["solve", str(tmp_path / "t.npz"), "--solver", "hybrid", "--checkpoint", str(run / "last.pt"),
               "--device", "cpu", "--out", str(tmp_path / "o.bvh")])
    assert rc == 0 and (tmp_path / "o.bvh").is_file()
    tracks = tracks_from_bvh(read_bvh(clips / "rig_b.bvh"))
    sol = solve(tracks, solver="hybrid", checkpoint=str(run / "last.pt"), device="cpu")
    err = np.linalg.norm(sol.positions - tracks.positions, axis=-1).max() / tracks.skeleton.height
    assert err < 1e-4  # exact positions (<= 0.01 % of height)

    # resume continues from the last checkpoint, with the run's own held-out frames (it trained on
    # them when no --holdout-split was given again); a second plain run into the same folder is refused
    capsys.readouterr()
    assert main(["train", str(clips), "--out", str(run), "--steps", "4", "--resume", "--threads", "1"]) == 0
    assert torch.load(str(run / "last.pt"), weights_only=True)["step"] == 4
    assert "data: 2 training clip(s), 2 held out" in capsys.readouterr().out
    assert main(["train", str(clips), "--out", str(run), "--steps", "5", "--resume", "--holdout-split", "0.5"]) == 2
    assert "--resume continues the run with its own held-out data (--holdout (none) --holdout-split 0.25)" in \
        capsys.readouterr().err
    assert main(["train", str(clips), "--out", str(tmp_path / "inf"), "--steps", "1", "--lr", "inf"]) == 2
    assert "--lr must be positive and finite, got inf" in capsys.readouterr().err
    assert main(["train", str(clips), "--out", str(tmp_path / "thr"), "--steps", "1", "--threads", "-1"]) == 2
    assert "--threads must be at least 1, got -1" in capsys.readouterr().err
    with pytest.raises(Pose2RotError, match="already holds a run"):
        from pose2rot_core.training.loop import run_training

        run_training([clips], run, steps=1, progress=False, log=lambda m: None)
    # a history.json edited by hand is refused by --resume, the run untouched: read as empty (not JSON)
    # it resumed with the default settings; an array or a wrongly typed setting ended in an internal error
    history = run / "history.json"
    written = history.read_text()
    for edited in ("not json {", "[1]", json.dumps({**json.loads(written), "train": {"batch": "x"}})):
        history.write_text(edited)
        assert main(["train", str(clips), "--out", str(run), "--steps", "5", "--resume", "--threads", "1"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("pose2rot: error: --resume:") and "history.json" in err and err.count("\n") == 1, err
        assert torch.load(str(run / "last.pt"), weights_only=True)["step"] == 4
    history.write_text(written)
    # --config cannot change the shape of a resumed run: refused, not silently ignored (h79)
    with pytest.raises(Pose2RotError, match="--config"):
        run_training([clips], run, resume=True, config="full", steps=5, progress=False, log=lambda m: None)
    assert torch.load(str(run / "last.pt"), weights_only=True)["step"] == 4
    # the hash-trained model refuses the other embedder
    with pytest.raises(Pose2RotError, match="trained with the 'hash-ngram-v1'"):
        run_training([clips], tmp_path / "ft", init=str(run / "last.pt"), embedder="t5", steps=1, log=lambda m: None)


def test_train_out_on_a_file_is_refused_with_one_line(clips, tmp_path, capsys):
    """--out naming an existing file: one clear error before any data is read, the file kept (h79)."""
    out = tmp_path / "notes.txt"
    out.write_text("keep")
    assert main(["train", str(clips), "--out", str(out), "--steps", "1", "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "data:" not in err and out.read_text() == "keep"


def test_eval_every_scores_the_solve_hybrid_path(clips, tmp_path):
    """--eval-every records hybrid (as ``solve --solver hybrid``), learned and training-excerpt figures."""
    import json

    from pose2rot_core.training.holdout import evaluate_clips, mean_angle
    from pose2rot_core.training.loop import run_training

    run = tmp_path / "run"
    run_training([clips], run, steps=2, batch=2, threads=1, holdout_split=0.25, eval_every=2, seed=1,
                 progress=False, log=lambda m: None)
    rec = json.loads((run / "history.json").read_text())["holdout"][-1]
    assert rec["step"] == 2 and {"learned_ref", "train_hybrid_ref", "train_learned_ref", "train_geometric_ref"} <= set(rec)
    _, held, _ = tdata.split_clips(sorted(clips.glob("*.bvh")), holdout_split=0.25)
    hybrid = evaluate_clips(held, "hybrid", run / "last.pt", protocols=("ref",))
    assert rec["hybrid_ref"] == pytest.approx(mean_angle(hybrid, "hybrid", "ref"), rel=1e-6)
    assert set(rec["joints"]["hybrid"]) == set(rec["joints"]["geometric"]) == {c.name for c in held}


def test_fine_tune_from_the_released_shape(clips, tmp_path, monkeypatch):
    """A bare state dict of the full released configuration (random weights) loads strictly and
    trains one step; its T5 embedder is kept (embeddings faked: no t5-base in CI)."""
    from pose2rot_core.checkpoint import read_checkpoint
    from pose2rot_core.model.network import Pose2RotMemoryRestModel
    from pose2rot_core.model.params import RELEASED_PARAMS, parameter_count
    from pose2rot_core.training.loop import run_training

    def fake_t5(names, embedder="t5", **kw):
        assert embedder == "t5"
        return np.stack([np.random.default_rng(abs(hash(n)) % 2**32).normal(size=768) for n in names]).astype(np.float32)

    monkeypatch.setattr(tdata.embeddings, "embed_joint_names", fake_t5)
    torch.manual_seed(0)
    model = Pose2RotMemoryRestModel(**RELEASED_PARAMS)
    assert sum(p.numel() for p in model.parameters()) == parameter_count(RELEASED_PARAMS) == 29_700_150
    init = tmp_path / "released.pt"
    torch.save(model.state_dict(), str(init))
    del model
    result = run_training([clips / "rig_a.bvh"], tmp_path / "ft", init=str(init), steps=1, batch=1,
                          log=lambda m: None, progress=False)
    contents = read_checkpoint(result.checkpoint)
    assert contents.embedder == "t5" and contents.params["decoder_layers"] == 10
    assert contents.params["decoder_use_cross_layers"] == 0
    before = torch.load(str(init), weights_only=True)
    changed = [k for k, v in contents.state.items() if not torch.equal(v, before[k])]
    assert set(contents.state) == set(before) and changed  # same keys, weights moved
    with pytest.raises(Pose2RotError, match="in its own shape, which --config small cannot change"):
        run_training([clips / "rig_a.bvh"], tmp_path / "ft2", init=str(init), config="small", steps=1,
                     log=lambda m: None, progress=False)


def test_fine_tuning_bare_weights_takes_the_embedder_its_config_names(clips, tmp_path, capsys):
    """Weights re-saved as a bare state dict (as the refusal of other containers advises) of a run with
    the hash embedder: --init with the run's config.yaml, or with --embedder hash, tried T5 ('trained with
    the t5 embedder', which nothing said); model info says T5 is assumed."""
    run = tmp_path / "run"
    assert main(["train", str(clips), "--out", str(run), "--steps", "1", "--threads", "1"]) == 0
    bare = tmp_path / "bare.pt"
    torch.save(torch.load(str(run / "last.pt"), weights_only=True)["model_state"], bare)
    for k, extra in enumerate((["--config", str(run / "config.yaml")], ["--embedder", "hash"])):
        capsys.readouterr()
        assert main(["train", str(clips), "--out", str(tmp_path / f"ft{k}"), "--init", str(bare), "--steps", "1",
                     "--threads", "1", *extra]) == 0, capsys.readouterr().err
        assert "embedder hash-ngram-v1" in capsys.readouterr().out
    assert main(["model", "info", str(bare)]) == 0
    assert "joint-name embedder: t5 (assumed: neither the file nor a config names it; " in capsys.readouterr().out


@pytest.mark.parametrize("flag,value", [("--steps", "0"), ("--batch", "0"), ("--batch", "-2"), ("--epochs", "0"),
                                        ("--save-every", "0"), ("--save-every", "-1"), ("--eval-every", "-3"),
                                        ("--lr", "-1"), ("--lr", "nan"), ("--seed", "-1")])
def test_a_count_or_rate_out_of_range_is_refused_by_its_flag(clips, tmp_path, capsys, flag, value):
    """--steps 0 and --batch 0 were refused as 'steps (0) and batch (8) must be at least 1', --lr -1 as
    'learning rate must ...', words the command line does not have; --save-every -1 trained and wrote a
    step_NNNNNN.pt after every step (done % -1 == 0), --save-every 0 and --eval-every -3 were ignored;
    --seed -1 read the clips and ended in 'internal error: ValueError: expected non-negative integer'.
    Each is now refused by its flag before anything is read or written."""
    steps = [] if flag == "--epochs" else ["--steps", "2"]
    out = tmp_path / "run"
    assert main(["train", str(clips), "--out", str(out), *steps, flag, value, "--threads", "1"]) == 2
    err = capsys.readouterr()
    rule = {"--lr": "must be positive and finite", "--seed": "must be 0 or more"}.get(flag, "must be at least 1")
    assert err.err == f"pose2rot: error: {flag} {rule}, got {float(value) if flag == '--lr' else int(value)}\n"
    assert "data:" not in err.out and not out.exists()


def _tiny_config(path: Path, embedder: str | None) -> Path:
    """A YAML config (upstream layout) of a small network, naming the joint-name ``embedder`` (None: no line)."""
    params = "".join(f"    {k}: {v}\n" for k, v in dict(q_dim=16, num_heads=2, rest_layers=1, pose_layers=1,
                                                              memory_layers=1, decoder_layers=1).items())
    path.write_text("model:\n  target: Pose2RotMemoryRestModel\n  params:\n" + params
                    + (f"embedder: {embedder}\n" if embedder else ""), encoding="utf-8")
    return path


def test_a_new_run_takes_the_embedder_its_config_names(clips, tmp_path, capsys, monkeypatch):
    """A new run given --config with an 'embedder:' line (a run's own config.yaml) ignored it: the default
    was used instead (here T5, as $POSE2ROT_T5 is set, which failed on a T5 folder that was not there).
    Now the config's embedder is used when --embedder is not given; --embedder wins over it, and the
    run says so in one note; a config naming an embedder pose2rot does not have is refused."""
    from pose2rot_core.checkpoint import read_checkpoint

    monkeypatch.setenv("POSE2ROT_T5", str(tmp_path / "no-t5-here"))
    hashed = _tiny_config(tmp_path / "hashed.yaml", "hash")
    args = ["train", str(clips / "rig_a.bvh"), "--steps", "1", "--batch", "1", "--threads", "1", "--config"]
    assert main([*args, str(hashed), "--out", str(tmp_path / "a")]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "embedder hash-ngram-v1" in out and "note:" not in out
    assert read_checkpoint(tmp_path / "a" / "last.pt").embedder == "hash-ngram-v1"

    t5 = _tiny_config(tmp_path / "t5.yaml", "t5")
    assert main([*args, str(t5), "--embedder", "hash", "--out", str(tmp_path / "b")]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert f"note: --embedder hash is used, not the joint-name embedder t5 that config '{t5}' names" in out, out
    assert read_checkpoint(tmp_path / "b" / "last.pt").embedder == "hash-ngram-v1"

    odd = _tiny_config(tmp_path / "odd.yaml", "bert")
    assert main([*args, str(odd), "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err == (f"pose2rot: error: config '{odd}' names the joint-name embedder 'bert', which pose2rot does not "
                   "have: write 't5' or 'hash'\n"), err
    assert not (tmp_path / "c").exists()


def test_a_t5_encoder_the_hash_embedder_does_not_use_is_said(clips, tmp_path, capsys):
    """--t5 with --embedder hash (or a config, checkpoint or run of the hash embedder) was dropped
    without a word; the run now says in one note that it is not used and why."""
    out = tmp_path / "run"
    missing = tmp_path / "no-t5"
    assert main(["train", str(clips / "rig_a.bvh"), "--out", str(out), "--steps", "1", "--batch", "1", "--threads",
                 "1", "--embedder", "hash", "--t5", str(missing)]) == 0, capsys.readouterr().err
    assert (f"note: --t5 {missing} is not used: the run's joint-name embedder is the built-in hash embedder "
            "(hash-ngram-v1), which needs no T5\n") in capsys.readouterr().out


def test_init_with_a_config_of_another_shape_says_that_init_keeps_its_own(clips, tmp_path, capsys):
    """--init RUN/last.pt --config full ended in a long list of missing, unexpected and misshapen weights:
    --init fine-tunes the checkpoint in its own shape, which nothing here said. A preset with --init is now
    refused up front in one sentence; a YAML config of another shape says so before the weights' mismatch."""
    run = tmp_path / "run"
    args = ["train", str(clips / "rig_a.bvh"), "--steps", "1", "--batch", "1", "--threads", "1"]
    assert main([*args, "--out", str(run)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    out, init = tmp_path / "ft", str(run / "last.pt")
    assert main([*args, "--out", str(out), "--init", init, "--config", "full"]) == 2
    std = capsys.readouterr()
    assert std.err == (f"pose2rot: error: --init fine-tunes '{init}' in its own shape, which --config full cannot "
                       "change: leave --config out (or leave --init out to train a new model of that shape)\n"), std.err
    assert "data:" not in std.out and not out.exists()
    tiny = _tiny_config(tmp_path / "tiny.yaml", "hash")
    assert main([*args, "--out", str(out), "--init", init, "--config", str(tiny)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pose2rot: error: --init keeps the shape of the weights it fine-tunes, and config '{tiny}' "
                          f"gives another: leave --config out; weights in '{init}' do not fit"), err
    assert err.count("\n") == 1 and not out.exists()


def test_a_one_step_run_draws_its_losses(clips, tmp_path, monkeypatch):
    """`train --steps 1` wrote a loss_curves.png with empty axes: each loss was a line through its one
    logged point, which draws nothing. A single point is now drawn as a dot."""
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from pose2rot_core.training.loop import run_training

    drawn, save = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **kw: (drawn.append(fig), save(fig, *a, **kw))[1])
    run_training([clips / "rig_a.bvh"], tmp_path / "run", steps=1, batch=1, threads=1, progress=False,
                 log=lambda m: None)
    assert (tmp_path / "run" / "loss_curves.png").is_file() and len(drawn) == 1
    lines = drawn[0].axes[0].get_lines()
    assert [line.get_label() for line in lines][:2] == ["total", "rot"]
    assert all(len(line.get_xdata()) > 1 or line.get_marker() not in (None, "None", "", " ") for line in lines)


def test_a_new_run_takes_the_training_settings_its_config_gives(clips, tmp_path, capsys):
    """--config RUN/config.yaml read only the model's shape: its 'train:' section (steps, batch, lr, seed,
    schedule) was ignored without a word, and the run trained 2000 steps of batch 8 at lr 2e-4. Those
    settings are now the defaults under the flags, which win (as --embedder over the config's embedder);
    notes say which the config gave and which flag overrode it; a 'train:' that is no run's is refused."""
    first, second = tmp_path / "first", tmp_path / "second"
    args = ["train", str(clips / "rig_a.bvh"), "--threads", "1"]
    assert main([*args, "--out", str(first), "--steps", "2", "--batch", "1", "--lr", "1e-3", "--seed", "3"]) == 0
    capsys.readouterr()
    config = first / "config.yaml"
    assert main([*args, "--out", str(second), "--config", str(config), "--lr", "5e-4"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    train = json.loads((second / "history.json").read_text())["train"]
    assert (train["steps"], train["batch"], train["lr"], train["seed"]) == (2, 1, 5e-4, 3)
    assert (f"note: config '{config}' gives the training settings steps 2, batch 1, seed 3 (its 'train:' section; "
            "a flag wins over each)\n") in out, out
    assert f"note: --lr 0.0005 used, not the lr 0.001 that config '{config}' gives\n" in out, out
    odd = tmp_path / "odd.yaml"
    odd.write_text(config.read_text().replace("  batch: 1\n", "  batch: many\n"))
    assert main([*args, "--out", str(tmp_path / "third"), "--config", str(odd)]) == 2
    err = capsys.readouterr().err
    assert err == (f"pose2rot: error: config '{odd}': its 'train:' setting 'batch: many' is not what a training run "
                   "writes there (e.g. 'batch: 8'): put back the run's value, or delete the line\n"), err
    assert not (tmp_path / "third").exists()


def test_eval_every_without_held_out_clips_is_refused(clips, tmp_path, capsys):
    """--eval-every without --holdout or --holdout-split trained as if it were not given: nothing was
    scored, and nothing said so. It is refused before any clip is read, with the flags that hold clips out."""
    out = tmp_path / "run"
    assert main(["train", str(clips), "--out", str(out), "--steps", "1", "--eval-every", "1", "--threads", "1"]) == 2
    std = capsys.readouterr()
    assert std.err == ("pose2rot: error: --eval-every scores the held-out clips, and none are held out: add "
                       "--holdout CLIP or --holdout-split 0.25, or leave --eval-every out\n"), std.err
    assert "data:" not in std.out and not out.exists()


@pytest.mark.parametrize("config", ["Small", "tiny"])
def test_a_config_that_is_no_preset_nor_file_names_the_presets(clips, tmp_path, capsys, config):
    """--config Small (or a preset that does not exist) was read as a file name: "cannot read config 'Small':
    No such file or directory", which does not say that small and full are the presets."""
    out = tmp_path / "run"
    assert main(["train", str(clips), "--out", str(out), "--steps", "1", "--config", config]) == 2
    std = capsys.readouterr()
    assert std.err == (f"pose2rot: error: --config '{config}' is neither a preset (small, full) nor a file that "
                       "exists: give small, full or the path of a YAML config\n"), std.err
    assert "data:" not in std.out and not out.exists()


def test_resume_with_another_seed_is_refused_by_its_flag(clips, tmp_path, capsys):
    """--resume --seed 7 on a run trained with --seed 1 trained on with seed 1 and said nothing: --seed was
    dropped. Refused like the other flags that would change a resumed run, the run untouched; the run's
    own seed given again is accepted."""
    run = tmp_path / "run"
    assert main(["train", str(clips), "--out", str(run), "--steps", "1", "--seed", "1", "--threads", "1"]) == 0
    capsys.readouterr()
    assert main(["train", str(clips), "--out", str(run), "--steps", "2", "--seed", "7", "--resume",
                 "--threads", "1"]) == 2
    std = capsys.readouterr()
    assert std.err == (f"pose2rot: error: --resume continues the run in '{run}' with its own seed (--seed 1): "
                       "give the same or leave --seed out, or give another --out to train a new run with --seed "
                       "7\n"), std.err
    assert "data:" not in std.out and torch.load(str(run / "last.pt"), weights_only=True)["step"] == 1
    assert main(["train", str(clips), "--out", str(run), "--steps", "2", "--seed", "1", "--resume",
                 "--threads", "1"]) == 0
    assert torch.load(str(run / "last.pt"), weights_only=True)["step"] == 2


@pytest.mark.parametrize("out", ["", "  "])
def test_the_api_refuses_an_empty_output_folder(clips, tmp_path, monkeypatch, out):
    """run_training(data, "") wrote last.pt, config.yaml and history.json into the current folder ("" is '.'
    to Python), where ``pose2rot train --out ''`` is refused. The API refuses it too, naming the argument."""
    from pose2rot_core.training.loop import run_training

    monkeypatch.chdir(tmp_path)
    with pytest.raises(Pose2RotError, match=r"^run_training: out \(--out\) is empty: give a folder"):
        run_training([clips], out, steps=1, threads=1, progress=False, log=lambda m: None)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("blank", ["", " "])
def test_an_empty_data_path_is_refused_not_read_as_the_current_folder(clips, tmp_path, monkeypatch, capsys, blank):
    """``pose2rot train "$CLIPS" --out run`` with CLIPS unset trained on every .bvh below the current folder
    ('' is '.' to Python), 2000 steps, without a word. Refused, by the command line and the API alike."""
    from pose2rot_core.training.loop import run_training

    (tmp_path / "stray.bvh").write_text((clips / "rig_a.bvh").read_text())
    monkeypatch.chdir(tmp_path)
    assert main(["train", blank, "--out", str(tmp_path / "run"), "--steps", "1", "--threads", "1"]) == 2
    std = capsys.readouterr()
    assert std.err == "pose2rot: error: DATA is empty: give BVH files or folders of them\n", std.err
    assert "data:" not in std.out and not (tmp_path / "run").exists()
    with pytest.raises(Pose2RotError, match="training data: a path is empty"):
        run_training([clips, blank], tmp_path / "run2", steps=1, threads=1, progress=False, log=lambda m: None)


@pytest.mark.parametrize("given", [str, Path])
def test_the_api_takes_one_data_path_given_alone_as_one_path(clips, tmp_path, given):
    """run_training("clips", out) read a str as a sequence of one-letter paths: "training data 'c' does not
    exist". One path (str or Path), a file or a folder, is one item, as out is; so is one --holdout name."""
    from pose2rot_core.training.loop import TrainRequest, run_training

    log: list[str] = []
    result = run_training(given(clips), tmp_path / "run", steps=1, batch=1, threads=1, progress=False,
                          log=log.append)
    assert result.checkpoint.is_file() and any(m.startswith("data: 2 training clip(s)") for m in log), log
    request = TrainRequest(given(clips / "rig_a.bvh"), tmp_path / "r", holdout="rig_b")
    assert (request.data, request.holdout) == ([given(clips / "rig_a.bvh")], ["rig_b"])

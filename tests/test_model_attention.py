"""Banded vs dense temporal attention, cross-attention configs, training mode, parameter checks."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from _torch_helpers import TORCH_REASON, perturb_, random_batch

torch = pytest.importorskip("torch", reason=TORCH_REASON)
pytestmark = pytest.mark.torch

from pose2rot_core.errors import Pose2RotError  # noqa: E402
from pose2rot_core.model import Pose2RotMemoryRestModel, batch_to_torch, parameter_count  # noqa: E402

SMALL = dict(q_dim=32, num_heads=4, joint_embed_dim=24, rest_layers=2, pose_layers=2, memory_layers=2,
             decoder_layers=3, decoder_use_cross_layers=0, temporal_dropout=0.1)


def make(seed=0, **over):
    torch.manual_seed(seed)
    m = Pose2RotMemoryRestModel(**dict(SMALL, **over)).eval()
    perturb_(m, seed)
    return m


def run(model, batch, mode, **kw):
    model.attention_mode = mode
    with torch.inference_mode():
        return model(batch, **kw)


@pytest.mark.parametrize("T,window", [(1, 2), (2, 2), (5, 2), (17, 3), (64, 1), (33, 5)])
def test_banded_matches_dense(T, window):
    model = make(T, temporal_window=window)
    batch = batch_to_torch(random_batch(model.params, [9, 5], T, np.random.default_rng(T), static=0.2))
    d, b = run(model, batch, "dense"), run(model, batch, "banded")
    for key in ("pred_rot6d", "q_feat"):
        np.testing.assert_allclose(b[key].numpy(), d[key].numpy(), atol=1e-5, rtol=1e-5)
    assert b["pred_rot6d"][1, :, 5:].abs().max() == 0  # padded joints exactly zero


def test_invalid_attention_mode():
    with pytest.raises(Pose2RotError, match="attention_mode"):
        make().attention_mode = "flash"


def test_results_do_not_depend_on_padding_width():
    model = make(1)
    rng = np.random.default_rng(3)
    b2 = random_batch(model.params, [7, 11], 9, rng)
    one = {}
    for k, v in b2.items():
        v = v[:1]
        if k in ("ancestor_mask", "graph_hop", "graph_edge"):
            v = v[:, :7, :7]
        elif k in ("position", "memory_pose", "memory_rot6d"):
            v = v[:, :, :7]
        else:
            v = v[:, :7]
        one[k] = v
    full = run(model, batch_to_torch(b2), "banded")["pred_rot6d"][0, :, :7]
    alone = run(model, batch_to_torch(one), "banded")["pred_rot6d"][0]
    np.testing.assert_allclose(full.numpy(), alone.numpy(), atol=1e-6)


@pytest.mark.parametrize("cross", [2, None])
def test_cross_attention_configs(cross):
    model = make(2, decoder_use_cross_layers=cross, decoder_cond_mode="concat", temporal_window=3)
    assert model.cross_layers == (2 if cross == 2 else 3)
    keys = model.state_dict().keys()
    assert "decoder.blocks.1.cross.attn.in_proj_weight" in keys and "decoder.init_proj.weight" in keys
    assert ("decoder.blocks.2.cross.out_proj.bias" in keys) == (cross is None)
    assert sum(p.numel() for p in model.parameters()) == parameter_count(model.params)
    rng = np.random.default_rng(5)
    batch = batch_to_torch(random_batch(model.params, [8, 4], 10, rng, N=4))
    out = run(model, batch, "banded")
    assert out["mem_feat"].shape == (2, 4, 8, 32)
    assert torch.isfinite(out["pred_rot6d"]).all() and out["pred_rot6d"][1, :, 4:].abs().max() == 0
    np.testing.assert_allclose(out["pred_rot6d"].numpy(), run(model, batch, "dense")["pred_rot6d"].numpy(), atol=1e-5)
    # the memory really feeds the prediction
    other = dict(batch, memory_pose=batch["memory_pose"] + 1.0)
    assert (run(model, other, "banded")["pred_rot6d"] - out["pred_rot6d"]).abs().max() > 1e-4


def test_num_memory_keeps_first_slots_in_eval():
    model = make(4, decoder_use_cross_layers=1, num_memory=2)
    batch = batch_to_torch(random_batch(model.params, [6], 5, np.random.default_rng(0), N=5))
    cut = dict(batch, memory_pose=batch["memory_pose"][:, :2], memory_rot6d=batch["memory_rot6d"][:, :2])
    np.testing.assert_array_equal(run(model, batch, "banded")["pred_rot6d"].numpy(),
                                  run(model, cut, "banded")["pred_rot6d"].numpy())


def test_training_mode_backward_and_grad_checkpoint_agree():
    rng = np.random.default_rng(9)
    batch = batch_to_torch(random_batch(SMALL, [7, 5], 12, rng))
    grads = []
    for ckpt in (False, True):
        model = make(7, temporal_dropout=0.0, use_grad_checkpoint=ckpt).train()
        loss = model(batch)["pred_rot6d"].square().mean()
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
    assert grads[0].abs().sum() > 0
    torch.testing.assert_close(grads[0], grads[1], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("bad,match", [
    (dict(unknown_param=1), "unknown parameter"),
    (dict(q_dim=30, num_heads=4), "even head width"),
    (dict(decoder_cond_mode="mul"), "decoder_cond_mode"),
    (dict(num_memory=-1), "broken upstream"),
    (dict(num_memory=0), "num_memory"),
    (dict(pose_layers=1.5), "integer"),
])
def test_bad_params(bad, match):
    with pytest.raises(Pose2RotError, match=match):
        Pose2RotMemoryRestModel(**dict(SMALL, **bad))


def test_wrong_embedder_or_width_refused():
    model = make()
    batch = batch_to_torch(random_batch(model.params, [4], 3, np.random.default_rng(0)))
    with pytest.raises(Pose2RotError, match="trained with the 't5'"):
        model(dict(batch, embedder="hash-ngram-v1"))
    with pytest.raises(Pose2RotError, match="width 5"):
        model(dict(batch, joint_t5embed=batch["joint_t5embed"][..., :5]))
    with pytest.raises(Pose2RotError, match="missing graph_hop"):
        model({k: v for k, v in batch.items() if k != "graph_hop"})


def test_core_imports_without_torch(tmp_path):
    """pose2rot_core, the model params and the geometric solver import with torch blocked;
    the learned model then names the install command."""
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import pose2rot_core, pose2rot_core.model, pose2rot_core.model_inputs, pose2rot_core.embeddings\n"
        "import pose2rot_core.solvers.geometric, pose2rot_core.solvers.learned\n"
        "from pose2rot_core.model import parameter_count, RELEASED_PARAMS\n"
        "assert parameter_count(RELEASED_PARAMS) == 29700150\n"
        "from pose2rot_core.errors import MissingDependencyError\n"
        "try:\n    pose2rot_core.model.Pose2RotMemoryRestModel\nexcept MissingDependencyError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"into this Python with: {sys.executable} -m pip install torch transformers" in out.stdout

"""Golden parity with the upstream network (float32, CPU) and the released checkpoint layout."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from _torch_helpers import TORCH_REASON

torch = pytest.importorskip("torch", reason=TORCH_REASON)
pytestmark = pytest.mark.torch

from pose2rot_core.checkpoint import check_state_matches, infer_params  # noqa: E402
from pose2rot_core.errors import Pose2RotError  # noqa: E402
from pose2rot_core.model import Pose2RotMemoryRestModel, RELEASED_PARAMS, parameter_count  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = sorted((DATA / "golden").glob("*.npz"))
FEATURES = ("rest_embed", "q_feat", "mem_feat")


def load_golden(path: Path):
    z = np.load(path)
    params = json.loads(str(z["params_json"]))
    model = Pose2RotMemoryRestModel(**params).eval()
    state = {k[len("state/"):]: torch.from_numpy(z[k]) for k in z.files if k.startswith("state/")}
    model.load_state_dict(state, strict=True)
    batch = {k[len("in/"):]: torch.from_numpy(z[k]) for k in z.files if k.startswith("in/")}
    expected = {k[len("out/"):]: z[k] for k in z.files if k.startswith("out/")}
    return model, batch, expected


def test_golden_files_are_shipped():
    assert len(GOLDEN) == 3


@pytest.mark.parametrize("mode", ["banded", "dense"])
@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_golden_parity(path, mode):
    model, batch, expected = load_golden(path)
    model.attention_mode = mode
    with torch.inference_mode():
        out = model(batch, need_memory=True)
    np.testing.assert_allclose(out["pred_rot6d"].numpy(), expected["pred_rot6d"], atol=1e-5, rtol=1e-5)
    for key in FEATURES:
        np.testing.assert_allclose(out[key].numpy(), expected[key], atol=5e-5, rtol=5e-5, err_msg=key)


@pytest.mark.parametrize("path", GOLDEN[:1], ids=[p.stem for p in GOLDEN[:1]])
def test_memory_encoder_skipped_without_cross_attention(path):
    model, batch, expected = load_golden(path)
    assert model.cross_layers == 0
    calls = []
    model.memory_encoder.register_forward_hook(lambda *a: calls.append(1))
    with torch.inference_mode():
        out = model(batch)
    assert out["mem_feat"] is None and not calls
    np.testing.assert_allclose(out["pred_rot6d"].numpy(), expected["pred_rot6d"], atol=1e-5, rtol=1e-5)
    # memory inputs are optional when nothing reads them
    slim = {k: v for k, v in batch.items() if not k.startswith("memory_")}
    with torch.inference_mode():
        np.testing.assert_array_equal(model(slim)["pred_rot6d"].numpy(), out["pred_rot6d"].numpy())


def test_golden_detects_a_wrong_gelu():
    """The tolerance is tight enough to catch the tanh GELU approximation."""
    model, batch, expected = load_golden(GOLDEN[0])
    for m in model.modules():
        if isinstance(m, torch.nn.GELU):
            m.approximate = "tanh"
    with torch.inference_mode():
        out = model(batch)["pred_rot6d"].numpy()
    assert np.abs(out - expected["pred_rot6d"]).max() > 1e-5


def released_shapes() -> dict:
    with gzip.open(DATA / "checkpoint_keys_released.json.gz", "rb") as f:
        return json.loads(f.read())


def test_released_layout_loads_strictly():
    spec = released_shapes()
    assert spec["params"] == RELEASED_PARAMS
    model = Pose2RotMemoryRestModel(**spec["params"])
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert ours == spec["state_dict"]
    assert sum(p.numel() for p in model.parameters()) == spec["total_parameters"] == 29_700_150
    assert parameter_count(spec["params"]) == spec["total_parameters"]
    assert not list(model.buffers())
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(shape, generator=g) for k, shape in spec["state_dict"].items()}
    model.load_state_dict(state, strict=True)
    assert infer_params(state) == dict(RELEASED_PARAMS, num_memory=None)


def test_released_layout_rejected_by_default_config():
    """Upstream default decoder_use_cross_layers=None puts cross-attention in every block."""
    spec = released_shapes()
    params = dict(spec["params"], decoder_use_cross_layers=None)
    model = Pose2RotMemoryRestModel(**params)
    state = {k: torch.zeros(shape) for k, shape in spec["state_dict"].items()}
    with pytest.raises(Pose2RotError, match=r"missing.*decoder\.blocks\.0\.cross.*decoder_use_cross_layers=0"):
        check_state_matches(model, state, model.params)

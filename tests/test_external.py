"""The learned model run in another interpreter gives the same solve as in this process: the same
cleaning, the same hybrid step (anchored on the reference pose), only the network's pass elsewhere."""
from __future__ import annotations

import shutil
import sys
from dataclasses import replace

import numpy as np
import pytest

from pose2rot_core.bvh import read_bvh
from pose2rot_core.errors import Pose2RotError
from pose2rot_core.evaluate import add_noise
from pose2rot_core.options import SolveOptions
from pose2rot_core.solvers import solve
from pose2rot_core.solvers.external import external_network, pip_install_command
from pose2rot_core.tracks_io import tracks_from_bvh

from _torch_helpers import TORCH_REASON, tiny_model
from test_cli import small_clip

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A random-weight model (hash name embedder) saved as a checkpoint."""
    pytest.importorskip("torch", reason=TORCH_REASON)
    from pose2rot_core.checkpoint import save_checkpoint

    model = tiny_model(joint_embed_dim=768, temporal_window=3)
    model.embedder = "hash-ngram-v1"
    return str(save_checkpoint(tmp_path_factory.mktemp("model") / "tiny.pt", model))


def _tracks(tmp_path, reference: bool):
    """30 frames of the 7-joint test clip: with frame 4's pose as reference, one joint missing and a
    gap; without reference, noisy (so the tracks and rotations are smoothed)."""
    clip = read_bvh(small_clip(tmp_path / "clip.bvh"))
    tracks = tracks_from_bvh(clip, reference_frame=4 if reference else None)
    if not reference:
        return add_noise(tracks, 0.01, seed=3)
    P = tracks.positions.copy()
    P[:, 2] = np.nan
    P[10:14, 4] = np.nan
    return replace(tracks, positions=P)


@pytest.mark.parametrize("reference", [True, False], ids=["reference", "no-reference"])
@pytest.mark.parametrize("solver", ["hybrid", "learned"])
def test_external_and_internal_paths_agree(tiny_checkpoint, tmp_path, solver, reference):
    tracks = _tracks(tmp_path, reference)
    options = SolveOptions(solver=solver, checkpoint=tiny_checkpoint, device="cpu", smooth="auto")
    internal = solve(tracks, options)
    external = solve(tracks, options, network=external_network(sys.executable, options))
    assert external.solver == internal.solver == solver
    assert any("smoothed" in line for line in internal.report) != reference
    # the network computes in float32, and the two processes may sum in other orders (thread counts)
    np.testing.assert_allclose(external.rotations, internal.rotations, atol=1e-5)
    np.testing.assert_allclose(external.root_translation, internal.root_translation, atol=1e-12)
    np.testing.assert_allclose(external.local_offsets, internal.local_offsets, atol=1e-9)
    if reference and solver == "hybrid":             # anchored: the reference pose at its frame
        np.testing.assert_allclose(internal.rotations[4, [0, 1, 3, 5]],
                                   tracks.reference_rotations[[0, 1, 3, 5]], atol=1e-6)


def test_external_failures_are_one_line(tmp_path):
    pytest.importorskip("torch", reason=TORCH_REASON)  # the external Python here is this one
    tracks = _tracks(tmp_path, reference=False)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    options = SolveOptions(solver="learned", checkpoint=str(junk))
    with pytest.raises(Pose2RotError, match=r"^checkpoint '.*junk.pt' is not a PyTorch checkpoint"):
        solve(tracks, options, network=external_network(sys.executable, options))
    with pytest.raises(Pose2RotError, match="external Python '.*-missing' does not exist"):
        external_network(sys.executable + "-missing", options)
    true = shutil.which("true")
    if true:  # a program that is no Python, ending well without a word
        with pytest.raises(Pose2RotError, match="it ended without writing a solution .* may not be a Python"):
            solve(tracks, options, network=external_network(true, options))
    assert pip_install_command("py").startswith("py -m pip install torch transformers")


def test_a_setting_refused_in_the_external_python_is_named_as_the_interface_names_it(tiny_checkpoint, tmp_path):
    """An error of a model setting in the external interpreter came back as 'external learned solve
    failed: pose2rot: error: --t5 ...' (that interpreter's command-line words, prefixes nested), which
    Blender showed naming a flag it does not have. It now comes back as the core's OptionError of that
    setting, worded by each interface (Blender: 'T5 encoder' in the preferences), no prefix."""
    from pose2rot_core.options import OptionError
    from pose2rot_core.wording import names

    tracks = _tracks(tmp_path, reference=False)
    bare = tmp_path / "bare.pt"
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    torch.save(torch.load(tiny_checkpoint, weights_only=True)["model_state"], bare)  # no embedder: T5 assumed
    options = SolveOptions(solver="learned", checkpoint=str(bare), t5=str(tmp_path / "no_t5"))
    with pytest.raises(OptionError) as caught:
        solve(tracks, options, network=external_network(sys.executable, options))
    assert caught.value.field == "t5" and "--t5" not in caught.value.problem and "pose2rot:" not in str(caught.value)
    worded = str(caught.value.worded(names("blender")))
    assert worded.startswith(f"T5 encoder '{tmp_path / 'no_t5'}' is no folder that exists")

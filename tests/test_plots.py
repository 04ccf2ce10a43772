"""The eval figure: one y-scale for every angle panel, readable labels, per-frame curve, worst frames drawn."""
from __future__ import annotations

import numpy as np
import pytest

from pose2rot_core.bvh import read_bvh
from pose2rot_core.evaluate import evaluate_clip, worst_frames
from test_cli_conventions import metre_clip

matplotlib = pytest.importorskip("matplotlib")

from pose2rot_core.plots import LABEL_SIZE, error_figure, plot_errors  # noqa: E402


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    clip = read_bvh(metre_clip(tmp_path_factory.mktemp("plot") / "clip.bvh", T=60))
    return [evaluate_clip(clip, protocol=p) for p in ("rest", "ref")]


def test_worst_frames_are_spread_and_sorted():
    err = np.zeros(100)
    err[[10, 11, 12, 50, 90]] = [5.0, 6.0, 5.5, 3.0, 1.0]
    assert worst_frames(err, 3).tolist() == [11, 50, 90]
    assert worst_frames(err, 1).tolist() == [11]
    assert len(worst_frames(np.zeros(2), 3)) == 2


def test_figure_panels_share_one_scale_and_explain_the_protocols(scores):
    fig = error_figure(scores)
    axes = fig.axes
    angle_axes = [ax for ax in axes if "(°)" in ax.get_ylabel()]
    assert len(angle_axes) == 4
    assert len({ax.get_ylim() for ax in angle_axes}) == 1
    top = max(max(s.joint_angles.max(), s.frame_angles.max()) for s in scores)
    assert angle_axes[0].get_ylim()[1] >= top
    strips = [ax for ax in axes if ax.get_title().startswith("frame ")]
    assert len(strips) == sum(len(s.filmstrip.frames) for s in scores) == 6
    curves = [ax for ax in axes if ax.get_title() == "error per frame"]
    assert all(len(ax.lines[0].get_xdata()) == 60 for ax in curves)
    labels = angle_axes[0].get_xticklabels()
    assert [t.get_text() for t in labels] == list(scores[0].joint_names)
    assert min(t.get_fontsize() for t in labels) >= LABEL_SIZE - 1 >= 8
    text = fig._suptitle.get_text()
    assert "rest protocol" in text and "ref protocol" in text and "reference pose" in text


def test_plot_writes_png(scores, tmp_path):
    out = tmp_path / "e.png"
    plot_errors(scores, str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

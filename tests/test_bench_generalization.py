"""bench/generalization.py's own bookkeeping: row labels and the acceptance checks it applies."""
from __future__ import annotations

import sys
from pathlib import Path

from pose2rot_core.variants import random_tree_clip

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import generalization  # noqa: E402  (bench/ is no package)


def test_a_clip_of_a_few_frames_labels_each_speed_up_as_asked():
    """Played 2, 3 and 4 times faster, a 2-frame clip keeps one frame at each speed-up: the rows are
    told apart by the speed asked for, not by their frame counts (all three were 'fast x2')."""
    clip = random_tree_clip(6, 2, seed=0, fps=30.0)
    labels = [label for label, _ in generalization.variants(clip, ["original"], [2, 3, 4])]
    assert labels == ["original", "fast x2 15fps", "fast x3 10fps", "fast x4 7.5fps"]


def test_a_solution_as_far_from_the_clean_positions_as_its_tracks_but_for_rounding_passes():
    """The mean position check is 'no further than the noisy tracks': a clip too short to smooth is
    followed as given, equal to its tracks' error up to float rounding, and must not read as a failure."""
    row = dict(ref=1.0, plain=1.0, flips=0, rest_flips=0, pos=0.0, n_flips=0.0, n_jitter=1.0, n_max=1.0,
               n_tracks=0.7834567, n_mean=0.7834567 * (1 + 4e-16))
    assert generalization.failures(row) == "-"
    assert generalization.failures(dict(row, n_mean=0.79)) == "nmean"

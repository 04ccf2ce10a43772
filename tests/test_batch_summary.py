"""The batch summary table."""
from __future__ import annotations

from pose2rot_core.batch_summary import ClipResult, format_summary


def test_summary_lists_every_clip_and_counts_failures():
    results = [ClipResult("walk.bvh", frames=268, bones=43, max_error_pct=1.5e-13, flips=0, seconds=0.31),
               ClipResult("broken.csv", seconds=0.01, status="failed", message="line 3: 'x' is not a number"),
               ClipResult("held.csv", frames=90, bones=22, max_error_pct=0.1, flips=2, seconds=0.2, warnings=2)]
    table = format_summary(results)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["clip", "frames", "bones"] and "vs tracks" in lines[0]
    walk = lines[2].split()
    assert walk[:3] == ["walk.bvh", "268", "43"] and float(walk[3]) == 1.5e-13 and walk[-1] == "ok"
    assert lines[3].startswith("broken.csv") and "failed: line 3: 'x' is not a number" in lines[3]
    assert lines[4].startswith("held.csv") and lines[4].endswith("ok, 2 warnings (above)")
    assert lines[-1] == "2 of 3 clips converted, 1 failed, 1 with warnings"
    assert format_summary(results[:1]).splitlines()[-1] == "1 of 1 clips converted"


def test_the_flips_legend_is_a_line_of_its_own_under_the_table():
    """The legend of the flips column ended the count line ('2 of 3 clips converted, 1 with warnings
    (flips: sudden turns the tracks do not call for)'), where it read as a note on the count. It is now
    a line of its own between a rule closing the table and the count."""
    results = [ClipResult("walk.bvh", frames=268, bones=43, max_error_pct=0.0, flips=3, seconds=0.31, warnings=1)]
    lines = format_summary(results).splitlines()
    assert lines[-3] == lines[1] and set(lines[1]) == {"-"}
    assert lines[-2] == "flips = sudden turns the tracks do not call for (a fast real turn is none)"
    assert lines[-1] == "1 of 1 clips converted, 1 with warnings"

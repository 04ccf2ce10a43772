"""The clips the benchmarks run on: the development BVH clips in ../shared/data/bvh beside the
repository (their licences do not allow shipping them), else the shipped examples."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_BVH = REPO.parent / "shared" / "data" / "bvh"
EXAMPLES = REPO / "examples"


def dev_clips(fallback: list[Path]) -> list[Path]:
    """The development BVH clips (sorted by name), or ``fallback`` when there are none."""
    return sorted(SHARED_BVH.glob("*.bvh")) or fallback


def chosen_clips(given: list | None) -> list[Path]:
    """The clips a benchmark runs on: the ``given`` paths (its --clips), else the development clips,
    else the shipped examples."""
    return [Path(p) for p in given] if given else dev_clips(sorted(EXAMPLES.glob("*.bvh")))

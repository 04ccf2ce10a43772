"""Shared test fixtures.

The development BVH clips live in ``../shared/data/bvh`` next to the repository (their licences
do not allow shipping them). Tests that need them take the ``shared_dir`` fixture (the folder)
or a ``shared_bvh`` argument (parametrised over every clip there); both skip with a clear
reason when the folder is absent.

Property tests draw their examples from a fixed seed (hypothesis profile ``fixed``), so a run of the
suite is repeatable and a check that holds for most random draws of noise, not all, cannot fail CI
at random; ``HYPOTHESIS_PROFILE=explore`` draws new examples each run.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest


def _load_hypothesis_profile() -> None:
    """Property tests draw from a fixed seed unless HYPOTHESIS_PROFILE says otherwise (see above)."""
    try:
        from hypothesis import settings
    except ImportError:  # Blender's test environments run no property tests
        return
    settings.register_profile("fixed", derandomize=True)
    settings.register_profile("explore", derandomize=False)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))


_load_hypothesis_profile()

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_BVH_DIR = REPO_ROOT.parent / "shared" / "data" / "bvh"
TEST_DATA_DIR = Path(__file__).resolve().parent / "data"


def shared_bvh_files() -> list[Path]:
    """The development BVH clips, sorted by name (empty when the folder is absent)."""
    return sorted(SHARED_BVH_DIR.glob("*.bvh")) if SHARED_BVH_DIR.is_dir() else []


def skip_without_shared(reason: str) -> Path:
    """The shared BVH folder, or skip the calling test saying why it was needed."""
    if not shared_bvh_files():
        pytest.skip(f"needs ../shared/data/bvh (not shipped with the repo): {reason}")
    return SHARED_BVH_DIR


@pytest.fixture
def shared_dir(request: pytest.FixtureRequest) -> Path:
    """Path of ../shared/data/bvh; skips the test when it is absent."""
    return skip_without_shared(f"{request.node.name} reads the development BVH clips")


@pytest.fixture
def test_data_dir() -> Path:
    """tests/data: small hand-written files shipped with the repo."""
    return TEST_DATA_DIR


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise a ``shared_bvh`` argument over every development clip (one skipped case if none)."""
    if "shared_bvh" in metafunc.fixturenames:
        files = shared_bvh_files()
        if files:
            metafunc.parametrize("shared_bvh", files, ids=[f.stem for f in files])
        else:
            reason = (f"needs ../shared/data/bvh (not shipped with the repo): {metafunc.function.__name__} "
                      "runs on every development BVH clip")
            metafunc.parametrize("shared_bvh", [pytest.param(None, marks=pytest.mark.skip(reason=reason))],
                                 ids=["no-shared-data"])

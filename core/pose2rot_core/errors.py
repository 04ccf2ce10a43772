"""User-facing errors: one readable line that says what is wrong, where, and how to fix it."""
from __future__ import annotations

from pathlib import Path


class Pose2RotError(ValueError):
    """Bad input or configuration. The message is shown to users as a single line."""


class MissingDependencyError(Pose2RotError):
    """An optional dependency (torch, transformers, matplotlib) is needed for this feature."""


def read_bytes(path: Path, kind: str) -> bytes:
    """The contents of ``path``, or a Pose2RotError saying why a ``kind`` file cannot be read."""
    try:
        return path.read_bytes()
    except OSError as e:
        raise Pose2RotError(f"cannot read {kind} file '{path}': {e.strerror or e}") from None

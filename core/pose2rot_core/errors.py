"""User-facing errors: one readable line that says what is wrong, where, and how to fix it."""
from __future__ import annotations

from pathlib import Path


class Pose2RotError(ValueError):
    """Bad input or configuration. The message is shown to users as a single line."""


class MissingDependencyError(Pose2RotError):
    """An optional dependency (torch, transformers, matplotlib) is needed for this feature."""


def first_sentence(message: str, limit: int = 200) -> str:
    """The first sentence of a library's error ``message`` (its first line up to ". "), at most
    ``limit`` characters: quoted inside one of ours, it must not end in the middle of a sentence."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    cut = line.find(". ")
    line = line if cut < 0 else line[:cut]
    return line if len(line) <= limit else line[:limit - 3].rstrip() + "..."


def read_bytes(path: Path, kind: str) -> bytes:
    """The contents of ``path``, or a Pose2RotError saying why a ``kind`` file cannot be read."""
    try:
        return path.read_bytes()
    except OSError as e:
        raise Pose2RotError(f"cannot read {kind} file '{path}': {e.strerror or e}") from None

"""User-facing errors: one readable line that says what is wrong, where, and how to fix it."""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path
from typing import IO, Callable


class Pose2RotError(ValueError):
    """Bad input or configuration. The message is shown to users as a single line."""


class MissingDependencyError(Pose2RotError):
    """An optional dependency (torch, transformers, matplotlib) is needed for this feature."""


class WriteError(Pose2RotError):
    """A file that could not be written (see write_whole); ``cause``: the system's OSError, for an
    interface that names the file in its own words."""

    def __init__(self, message: str, cause: OSError):
        super().__init__(message)
        self.cause = cause


def first_sentence(message: str, limit: int = 200) -> str:
    """The first sentence of a library's error ``message`` (its first line up to ". "), at most
    ``limit`` characters: quoted inside one of ours, it must not end in the middle of a sentence."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    cut = line.find(". ")
    line = line if cut < 0 else line[:cut]
    return line if len(line) <= limit else line[:limit - 3].rstrip() + "..."


def read_bytes(path: Path, kind: str) -> bytes:
    """The contents of ``path``, or a Pose2RotError saying why a ``kind`` file cannot be read (nothing
    there: worded as :func:`missing_file`)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise missing_file(path, kind) from None
    except OSError as e:
        broken = broken_link(path)
        raise Pose2RotError(f"{kind} file '{path}' {broken}" if broken else
                            f"cannot read {kind} file '{path}': {e.strerror or e}") from None


def broken_link(path: Path) -> str | None:
    """Where ``path`` leads through links to no file, what is wrong and how to fix it, worded to follow
    "'PATH' ": a loop of links (each names the next, none a file; the system's 'Too many levels of
    symbolic links'), or a link to a path where nothing is; else None."""
    try:
        os.stat(path)
        return None
    except OSError as e:
        loop = e.errno == errno.ELOOP
    if loop:
        return ("is a link in a loop of links, which names no file: give the file's own path, or point the "
                "link at the file (ln -sfn FILE LINK)")
    if path.is_symlink():
        return (f"is a link to '{os.readlink(path)}', where there is no file: give the file's own path, or point "
                "the link at the file (ln -sfn FILE LINK)")
    return None


def not_there(path: Path) -> str:
    """Why no file is at ``path``, and how to fix it, worded to follow "'PATH' ": a link that leads to no
    file (:func:`broken_link`), or nothing there ('does not exist; check the path')."""
    return broken_link(path) or "does not exist; check the path"


def missing_file(path: Path, kind: str) -> Pose2RotError:
    """The error for a ``kind`` file (e.g. 'tracks') that is not at ``path`` (see :func:`not_there`)."""
    return Pose2RotError(f"{kind} file '{path}' {not_there(path)}")


#: the byte-order marks of UTF-16 text (a spreadsheet's or an editor's "Unicode")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def unicode_text(raw: bytes, errors: str = "strict") -> str:
    """``raw`` as text: UTF-16 where it starts with a byte-order mark, else UTF-8 (with or without
    one); ``errors`` as bytes.decode takes it."""
    return raw.decode("utf-16" if raw.startswith(UTF16_BOMS) else "utf-8-sig", errors)


def write_target(path: Path) -> tuple[Path, bool]:
    """(the file a write to ``path`` replaces: the one a link names, whether it is written directly:
    an existing path that is not a regular file, a device or a pipe) (see write_whole)."""
    target = path.resolve() if path.is_symlink() else path
    return target, target.exists() and not target.is_file()


def part_file(target: Path, pid: int | None = None) -> Path:
    """The temporary file beside ``target`` (write_target's) that write_whole in the process ``pid``
    (None: this one) writes before it puts it in place."""
    return target.with_name(f".{target.name}.{os.getpid() if pid is None else pid}.part")


def write_whole(path: str | Path, kind: str, write: Callable[[IO], None], binary: bool = False) -> None:
    """Call ``write`` with a file open on a temporary file beside ``path``, then put that file in
    place of ``path``: a write that fails half-way (a full disk, Ctrl-C) leaves an existing ``path``
    as it was and no partial file. A link is followed (the file it names is replaced); a ``path``
    that is not a regular file (a device, a pipe) is written directly. Text is UTF-8 with "\\n"
    line ends. OSErrors become a Pose2RotError naming the ``kind`` of file and ``path``."""
    path = Path(path)
    target, direct = write_target(path)
    part = target if direct else part_file(target)
    text = {} if binary else {"encoding": "utf-8", "newline": "\n"}
    try:
        if target.is_file() and not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        with open(part, "wb" if binary else "w", **text) as f:
            write(f)
        if not direct:
            if target.is_file():
                shutil.copymode(target, part)
            os.replace(part, target)
    except OSError as e:
        raise WriteError(f"cannot write {kind} file '{path}': {e.strerror or e}", e) from None
    finally:
        if not direct:
            with contextlib.suppress(OSError):
                part.unlink()

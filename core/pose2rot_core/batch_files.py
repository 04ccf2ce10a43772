"""The clips of a batch and their output names, shared by ``pose2rot solve`` with several inputs and the
Blender batch: track files given one by one, folders standing for the track files and FreeMoCap
recordings in them, and one output name per clip (its file's stem; ``take_csv`` and ``take_npz`` for
files of one name in one folder)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import Pose2RotError, missing_file
from .pointsets import FREEMOCAP_BODY, freemocap_body
from .tracks_io import FILE_SUFFIXES


def _suffixes_said() -> str:
    return f"{', '.join(FILE_SUFFIXES[:-1])} or {FILE_SUFFIXES[-1]}"


def track_files(items: list[str], who: str) -> list[Path]:
    """Expand folders to their track files and the FreeMoCap recordings in them (sorted; a recording
    folder, or its output_data folder, is one clip: its body landmarks file); check that every file
    exists and is a track file (by its suffix). Other subfolders are not searched: a note, led by the
    program's name ``who``, names them."""
    out: list[Path] = []
    for item in items:
        p = Path(item)
        body = freemocap_body(p)                       # the recording folder or its output_data folder
        if body is not None:
            out.append(body)
        elif p.is_dir():
            found = folder_clips(p, who)
            if not found:
                raise Pose2RotError(f"folder '{p}' has no {_suffixes_said()} track files or FreeMoCap recordings")
            out.extend(found)
        elif p.is_file() and p.suffix.lower() in FILE_SUFFIXES:
            out.append(p)
        elif p.is_file():
            raise Pose2RotError(f"'{p}' is no track file: give {_suffixes_said()} files, folders of them or "
                                "FreeMoCap recordings")
        else:
            raise missing_file(p, "tracks")
    return out


def clip_files(items: list[str], who: str) -> list[Path]:
    """track_files of ``items`` (``who`` as there), each once, as absolute paths (links kept, not
    resolved: an output is named after the link): a clip given twice, or in a folder given too, is
    converted once."""
    return list(dict.fromkeys(Path(os.path.abspath(f)) for f in track_files(items, who)))


def folder_clips(folder: Path, who: str) -> list[Path]:
    """The clips in ``folder``: its track files and the body files of its FreeMoCap recording folders
    (by name); a note on stderr, led by ``who``, names the other subfolders, which are not searched."""
    entries = sorted(folder.iterdir())
    files = [q for q in entries if q.is_file() and q.suffix.lower() in FILE_SUFFIXES]
    recordings = {q: freemocap_body(q) for q in entries if q.is_dir()}
    skipped = [q.name for q, body in recordings.items() if body is None]
    broken = [q.name for q in entries if q.is_symlink() and not q.exists()]
    for what, items, why in (("subfolders not searched", skipped, "give them too to convert the clips in them"),
                             ("links to nothing", broken, "their files are gone")):
        if items:
            print(f"{who}: note: folder '{readable(str(folder))}': {what}: {readable(', '.join(items[:5]))}"
                  f"{' ...' if len(items) > 5 else ''} ({why})", file=sys.stderr)
    return sorted(files + [body for body in recordings.values() if body is not None])


def check_jobs(jobs: int) -> None:
    """Refuse a --jobs (how many clips a batch converts at a time) below 1, as both batches word it."""
    if jobs < 1:
        raise Pose2RotError(f"--jobs must be at least 1, got {jobs}")


#: the thread-count variables of the libraries numpy and torch compute with
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def one_thread_each(environ: dict[str, str] | os._Environ, jobs: int) -> dict[str, str]:
    """The variables of THREAD_VARIABLES that ``environ`` does not set, at 1, for worker processes of a
    batch run ``jobs`` at a time ({} for one at a time): N workers each running a thread on every core
    would fight for the cores; a variable the user set is theirs."""
    return {} if jobs <= 1 else {name: "1" for name in THREAD_VARIABLES if name not in environ}


def output_names(files: list[Path], suffix: str) -> dict[Path, str]:
    """Each clip's output name (clip_name): files of one name in one folder (take.csv beside
    take.npz) take their type too (take_csv, take_npz). Refuses clips that would still write the
    same output files (the same name in two folders, or names that differ in case only): one would
    overwrite the other. ``suffix``: the output's, as the error names it (``.blend``, ``.bvh``)."""
    def grouped(name) -> dict[str, list[Path]]:
        out: dict[str, list[Path]] = {}
        for f in files:
            out.setdefault(name(f).casefold(), []).append(f)  # Walk and walk: one file on Windows and macOS
        return out

    siblings = {f for same in grouped(lambda f: f"{f.parent}/{clip_name(f)}").values() if len(same) > 1 for f in same}
    names = {f: f"{clip_name(f)}_{f.suffix[1:].lower()}" if f in siblings else clip_name(f) for f in files}
    clash = next((paths for paths in grouped(names.get).values() if len(paths) > 1), None)
    if clash:
        raise Pose2RotError(f"clips {' and '.join(repr(readable(str(p))) for p in clash[:3])} would all be written as "
                            f"'{readable(names[clash[0]])}{suffix}': rename them, or convert them with separate --out "
                            "folders")
    return names


def clip_name(path: Path) -> str:
    """A clip's name for its outputs: the file's stem, the recording folder's name for FreeMoCap (its
    bytes as the file system gives them: an output is found under its input's name)."""
    return path.parent.parent.name if path.name == FREEMOCAP_BODY else path.stem


def clip_label(path: Path) -> str:
    """How the summary and the notes name a clip: its file's name, the recording folder's for FreeMoCap
    (readable)."""
    return readable(path.parent.parent.name if path.name == FREEMOCAP_BODY else path.name)


def readable(name: str) -> str:
    """``name`` as Blender and a terminal take it: a file name whose bytes are not UTF-8 (kept by Python
    as surrogates, which neither can show or store) read as Latin-1 (``caf\\xe9`` -> ``café``)."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("latin-1")

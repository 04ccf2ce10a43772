"""Where a batch run writes its outputs: each clip's .blend and BVH are written under the run's own
hidden staged names in --out (staging_stem), then put in place together (put_in_place), with the
folder held, so that two runs into one --out never leave a .blend of one clip beside the BVH of
another. The renames are listed first in a hidden file (``<staged stem>.moving``), so that a process
killed between them leaves what it takes to finish them: the run that sees it ended (remove_staged),
or the next run into that --out (finish_stopped_moves), puts the rest in place (finish_moves), never a
new .blend beside an earlier run's BVH. What a stopped or failed clip left under its staged names is
removed (remove_staged); a clip whose outputs another run replaced while this one ran is failed
(replaced_outputs). Messages name the outputs as the user knows them, and the cause in the system's
words."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from pose2rot_core.batch_files import readable


def output_suffixes(bvh: bool) -> tuple[str, ...]:
    """The suffixes of a clip's outputs: the .blend, and the BVH when ``bvh`` (--bvh)."""
    return (".blend", ".bvh") if bvh else (".blend",)


def put_in_place(staged: list[Path], outputs: list[Path], out: Path) -> list[tuple[int, int] | None]:
    """Move the ``staged`` files onto their ``outputs`` in the folder ``out``, all while the folder is
    held (one run's pair at a time), none when an output's name is a folder there; the renames are
    listed first (the staged stem's ``.moving`` file, removed once they are done: finish_moves completes
    them after a death between them). Returns the (device, inode) of each as put in place (identity)."""
    from pose2rot_core.errors import Pose2RotError

    ours = [identity(p) for p in staged]
    journal = staged[0].with_suffix(MOVING)
    with _folder_held(out):
        folders = [readable(final.name) for final in outputs if final.is_dir()]
        if folders:                                              # checked before any is put in place
            raise Pose2RotError(f"cannot write '{folders[0]}': a folder of that name is in --out")
        try:
            journal.write_text(json.dumps([[done.name, final.name, mine] for done, final, mine in
                                           zip(staged, outputs, ours)]))
        except OSError as e:
            journal.unlink(missing_ok=True)
            raise Pose2RotError(write_failed(outputs[0].name, e)) from None
        for k, (done, final) in enumerate(zip(staged, outputs)):
            try:
                os.replace(done, final)
            except OSError as e:
                if k == 0:                                       # none moved: the earlier outputs stay together
                    journal.unlink()
                raise Pose2RotError(write_failed(final.name, e)) from None
        journal.unlink()
    return ours


#: suffix of the file that lists a clip's renames into --out while they are made (put_in_place)
MOVING = ".moving"


def finish_moves(out: Path, stem: str) -> list[str]:
    """Complete the renames into the folder ``out`` that the staged ``stem``'s ``.moving`` file lists (a
    process killed between them: put_in_place) and remove that file; the names (readable) of the outputs
    it lists that are now in place, [] where there was nothing to finish. A list that cannot be read was
    cut short while written, before any rename: the earlier outputs are still together; where another
    run has since put its own pair in place over a file already moved, that pair stands."""
    journal = out / f"{stem}{MOVING}"
    placed: list[str] = []
    with _folder_held(out):
        try:
            moves = json.loads(journal.read_text())
        except FileNotFoundError:
            return placed
        except (OSError, ValueError):
            moves = []
        moved = [(final, mine) for done, final, mine in moves if not (out / done).exists()]
        if any(identity(out / final) != (mine and tuple(mine)) for final, mine in moved):
            moves = []                                           # another run's pair is there, whole
        for done, final, _ in moves:
            try:
                os.replace(out / done, out / final)
            except FileNotFoundError:                            # moved before the process died
                pass
            except OSError:                                      # cannot be moved: left as it is
                continue
            placed.append(readable(final))
        journal.unlink(missing_ok=True)
    return placed


def finish_stopped_moves(out: Path) -> list[str]:
    """Complete the renames any run killed while putting a clip's outputs in place left listed in the
    folder ``out`` (finish_moves); the names of the outputs put in place."""
    return [name for journal in sorted(out.glob(f".pose2rot-*{MOVING}"))
            for name in finish_moves(out, journal.name[:-len(MOVING)])]


def write_failed(final: str, error: OSError) -> str:
    """The message for an output ``final`` that could not be written: its name and the system's cause."""
    return f"cannot write '{readable(final)}': {_reason(error)}"


def replaced_outputs(results: list, written: dict[str, list]) -> list:
    """``results`` with a clip reported converted whose outputs are no longer the files it put in place
    (``written``: the (device, inode) of each, by clip) failed: another run writing into the same
    --out replaced them with its own while this one ran."""
    out = []
    for r in results:
        gone = [Path(p).name for p, mine in written.get(r.clip, []) if mine and tuple(mine) != identity(Path(p))]
        if not r.failed and gone:
            r = replace(r, status="failed", message=f"another run writing into the same --out replaced "
                        f"{readable(' and '.join(gone))} with its own outputs while this run ran: give each "
                        "run its own --out, or run this one again")
            print(f"{r.clip}: error: {r.message}", file=sys.stderr)
        out.append(r)
    return out


def identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file ``path``, None when there is none: a file put in place by a rename
    keeps it, one put there by another rename has another."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def save_blend(staged: Path, final: str) -> None:
    """Save the open file as a copy to ``staged``, no .blend1 backup; a Pose2RotError naming the output
    file ``final`` when it cannot be written. Blender's own words name no cause (a full disk reads 'No
    such file or directory'): the cause is found by copying a copy saved in the temporary folder."""
    import bpy

    from pose2rot_core.errors import Pose2RotError

    paths = bpy.context.preferences.filepaths
    versions, paths.save_version = paths.save_version, 0
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(staged), copy=True)
        return
    except RuntimeError as e:
        said = str(e).strip()
    finally:
        paths.save_version = versions
    with tempfile.TemporaryDirectory(prefix="pose2rot_save_") as tmp:
        try:
            bpy.ops.wm.save_as_mainfile(filepath=str(Path(tmp) / "clip.blend"), copy=True)
        except RuntimeError:                                     # nowhere to save: Blender's words
            raise Pose2RotError(f"cannot write '{readable(final)}': Blender says: {said}") from None
        try:
            shutil.copyfile(Path(tmp) / "clip.blend", staged)
        except OSError as e:
            staged.unlink(missing_ok=True)
            raise Pose2RotError(write_failed(final, e)) from None


def _reason(error: OSError) -> str:
    """Why a write failed, in the system's words, lower case ('no space left on device')."""
    text = error.strerror or str(error)
    return text[:1].lower() + text[1:]


@contextlib.contextmanager
def _folder_held(folder: Path):
    """Hold ``folder`` (an exclusive lock on it, where the system has them) while inside: two runs
    writing into one --out put their outputs of one clip in place one pair at a time, never a .blend
    of one beside the BVH of the other."""
    try:
        import fcntl
    except ImportError:                                          # Windows: no such locks
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)                                             # releases the lock


def staging_stem(name: str, run: str) -> str:
    """The hidden ASCII stem under which the run ``run`` (Batch.run) writes the outputs of the clip named
    ``name`` in --out before they are put in place (Blender saves under no other names); what a stopped
    run leaves is only these, and another run into the same --out stages under its own."""
    return f".pose2rot-{hashlib.sha1(os.fsencode(name)).hexdigest()[:12]}-{run}"


def remove_staged(out: Path, name: str, run: str) -> bool:
    """Remove what the clip named ``name`` left in ``out`` under the run ``run``'s staged names (Blender's
    ``@`` file and the BVH writer's ``.part`` file of a write cut short included), once the renames it
    had begun are completed (finish_moves); whether there was any left."""
    stem = staging_stem(name, run)
    finish_moves(out, stem)
    left = [p for pattern in (f"{stem}.blend", f"{stem}.blend@", f"{stem}.bvh", f".{stem}.bvh.*.part")
            for p in out.glob(pattern)]
    for leftover in left:
        leftover.unlink(missing_ok=True)
    return bool(left)

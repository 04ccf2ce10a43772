"""Output files are written whole or not at all: a write that fails half-way (a full disk) leaves the
file that was there as it was, and the command line says which file in one line."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from pose2rot_core import bvh as bvh_module
from pose2rot_core.bonemap import BoneMap, save_map
from pose2rot_core.errors import Pose2RotError, write_whole

from test_cli import run, small_clip


def _disk_full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _full_after(limit: int):
    """A write that fails with ENOSPC once more than ``limit`` bytes went to the file."""
    def write(f, data):
        if f.tell() + len(data) > limit:
            _disk_full()
        f.write(data)
    return write


@pytest.mark.parametrize("suffix", [".bvh", ".npz"])
def test_a_solve_whose_write_fails_keeps_the_file_that_was_there(tmp_path, capsys, monkeypatch, suffix):
    clip = small_clip(tmp_path / "clip.bvh")
    out = tmp_path / f"out{suffix}"
    assert run(["solve", clip, "--out", out], capsys)[0] == 0
    before = out.read_bytes()
    if suffix == ".bvh":
        monkeypatch.setattr(bvh_module, "format_rows", _disk_full)   # the header is written, then the disk is full
    else:
        monkeypatch.setattr(np, "savez", _disk_full)
    code, _, err = run(["solve", clip, "--out", out], capsys)
    assert code == 2
    kind = {".bvh": "BVH", ".npz": "npz"}[suffix]
    assert err.count("\n") == 1 and f"cannot write {kind} file '{out}': No space left on device" in err, err
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.bvh", out.name]   # no partial file left


def test_write_whole_replaces_only_after_the_whole_file_is_written(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old\n")
    with pytest.raises(Pose2RotError, match=r"cannot write text file '.*a\.txt': No space left on device"):
        write_whole(path, "text", lambda f: _full_after(8)(f, "new contents\n"))
    assert path.read_text() == "old\n" and os.listdir(tmp_path) == ["a.txt"]
    write_whole(path, "text", lambda f: f.write("new\r\n"))
    assert path.read_bytes() == b"new\r\n"


def test_write_whole_keeps_links_modes_and_read_only_files(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("{}\n")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save_map(link, BoneMap(bones={"hip": "pelvis"}))
    assert link.is_symlink() and '"pelvis"' in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    real.chmod(0o440)
    if os.access(real, os.W_OK):                    # root writes anything: nothing to check
        return
    with pytest.raises(Pose2RotError, match="cannot write map file .*Permission denied"):
        save_map(real, BoneMap(bones={"hip": "root"}))
    assert '"pelvis"' in real.read_text()


def test_sigterm_while_writing_leaves_no_part_file(tmp_path, capsys, monkeypatch):
    """SIGTERM (a job manager's stop) while solve writes its BVH left the hidden half-written .part file
    beside the output; Ctrl-C did not. It now stops as Ctrl-C does, nothing left, one line, exit 143."""
    import signal

    clip = small_clip(tmp_path / "clip.bvh")
    out = tmp_path / "out.bvh"

    def stopped(*_args, **_kwargs):
        os.kill(os.getpid(), signal.SIGTERM)                       # the header is written, then the stop
        return ""

    monkeypatch.setattr(bvh_module, "format_rows", stopped)
    previous = signal.getsignal(signal.SIGTERM)
    code, _, err = run(["solve", clip, "--out", out], capsys)
    assert (code, err.strip()) == (143, "pose2rot: stopped (SIGTERM)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.bvh"]
    assert signal.getsignal(signal.SIGTERM) is previous           # the handler is the command's only


@pytest.mark.parametrize("command", ["solve", "eval", "tracks"])
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys, monkeypatch,
                                                                            command):
    """An --out (or --plot) folder where no file can be created was found only after the whole solve (12 s
    on a long clip): now before any clip is read, in the words of the flag."""
    clip = small_clip(tmp_path / "clip.bvh")
    (tmp_path / "ro").mkdir()
    _unwritable_and_unread(monkeypatch, tmp_path / "ro")
    flag, target = {"solve": ("--out", "x.bvh"), "eval": ("--plot", "x.png"), "tracks": ("--out", "x.npz")}[command]
    out = tmp_path / "ro" / target
    code, _, err = run([command, clip, flag, out], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert f"{flag} {out}: cannot write in the directory '{out.parent}' (Permission denied)" in err, err


def test_an_output_link_into_a_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path, capsys,
                                                                                        monkeypatch):
    """An --out that is a link is written where it points (errors.write_whole): the up-front check
    reads that folder too, not the link's own (a link into an unwritable folder passed the check and
    failed after the solve)."""
    clip = small_clip(tmp_path / "clip.bvh")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro" / "x.bvh").write_text("old")
    (tmp_path / "out.bvh").symlink_to(tmp_path / "ro" / "x.bvh")
    _unwritable_and_unread(monkeypatch, tmp_path / "ro")
    code, _, err = run(["solve", clip, "--out", tmp_path / "out.bvh"], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert f"cannot write in the directory '{tmp_path / 'ro'}' (Permission denied)" in err, err


@pytest.mark.parametrize("link, words", [
    ("gone/x.bvh", "--out {d}/out.bvh is a link to '{d}/gone/x.bvh', whose folder does not exist"),
    ("out.bvh", "--out {d}/out.bvh is a link in a loop of links that names no file")])
def test_an_output_link_that_leads_nowhere_is_refused_before_any_work(tmp_path, capsys, monkeypatch, link, words):
    """An --out link into a folder that is gone passed the up-front check and failed after the solve
    ('cannot write BVH file ...: No such file or directory'); a link that leads back to itself stopped
    solve with 'internal error: RuntimeError: Symlink loop'. Both are refused, in one line, before the solve."""
    clip = small_clip(tmp_path / "clip.bvh")
    (tmp_path / "out.bvh").symlink_to(tmp_path / link)

    def no_work(*_args, **_kwargs):
        raise AssertionError("solved before the output was checked")

    monkeypatch.setattr("pose2rot_core.cli._solve_tracks", no_work)
    code, _, err = run(["solve", clip, "--out", tmp_path / "out.bvh"], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith("pose2rot: error: ") and words.format(d=tmp_path) in err, err


@pytest.mark.parametrize("command, out", [("model convert", "x.safetensors"), ("model convert", "new/x.safetensors"),
                                          ("train", "run"), ("train", "new/run")])
def test_model_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path, capsys, monkeypatch, command,
                                                                         out):
    """model convert and train read a checkpoint or train for minutes before writing --out: an --out in a
    folder where no file can be created is refused first, in one line with exit status 2, as solve's is;
    a folder still missing (created by the command) is checked where it would be created."""
    (tmp_path / "ro").mkdir()
    _unwritable_and_unread(monkeypatch, tmp_path / "ro")

    def no_work(*_args, **_kwargs):
        raise AssertionError("worked before the output was checked")

    monkeypatch.setattr("pose2rot_core.checkpoint.read_checkpoint", no_work)
    monkeypatch.setattr("pose2rot_core.model.require_torch", no_work)
    target = tmp_path / "ro" / out
    code, _, err = run([*command.split(), *([_placeholder(tmp_path / "ck.pt")] if command != "train" else [tmp_path]),
                        "--out", target], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert f"--out {target}: cannot write in the directory '{tmp_path / 'ro'}' (Permission denied)" in err, err



@pytest.mark.parametrize("command, out, says", [
    ("model convert", "folder", "--out {target} is a directory; give a file name in it ending in .safetensors"),
    ("model convert", "x.pt", "--out must end in .safetensors, got 'x.pt'"),
    ("train", "file.txt", "--out {target} is a file, not a folder: give a folder for the run's files")])
def test_model_outputs_of_the_wrong_kind_are_refused_before_any_work(tmp_path, capsys, monkeypatch, command, out,
                                                                    says):
    """model convert --out an existing folder, or a name not ending in .safetensors, read the
    checkpoint and built the model before failing (the up-front check took a folder for a
    target); train --out an existing file, where a run folder is expected, passed too. Each is
    refused first, in one line with exit status 2, as solve's outputs are."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("notes")

    def no_work(*_args, **_kwargs):
        raise AssertionError("worked before the output was checked")

    monkeypatch.setattr("pose2rot_core.checkpoint.read_checkpoint", no_work)
    monkeypatch.setattr("pose2rot_core.model.require_torch", no_work)
    target = tmp_path / out
    code, _, err = run([*command.split(), *([_placeholder(tmp_path / "ck.pt")] if command != "train" else [tmp_path]),
                        "--out", target], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert says.format(target=target) in err, err

def _placeholder(path: Path) -> Path:
    """An empty file at ``path``: an input that exists (every input is refused first where none is), for a
    command that must refuse its output before it reads anything."""
    path.write_bytes(b"")
    return path


def _unwritable_and_unread(monkeypatch, folder: Path) -> None:
    """No file can be created in ``folder`` (root writes anywhere: the refusal is simulated), and
    reading a clip or tracks fails the test: the output must be checked first."""
    import tempfile

    real = tempfile.TemporaryFile

    def refused(*args, **kwargs):
        if kwargs.get("dir") == folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real(*args, **kwargs)

    def no_reading(*_args, **_kwargs):
        raise AssertionError("read before the output was checked")

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    monkeypatch.setattr("pose2rot_core.bvh.read_bvh", no_reading)
    monkeypatch.setattr("pose2rot_core.tracks_io.load_tracks", no_reading)


@pytest.mark.parametrize("command, out", [("model convert", "notes.txt/x.safetensors"), ("train", "notes.txt/run"),
                                          ("train", "notes.txt/new/run"), ("solve", "notes.txt/x.bvh")])
def test_an_output_under_a_file_is_refused_before_any_work(tmp_path, capsys, monkeypatch, command, out):
    """An --out inside a file (notes.txt/x.safetensors: a folder typed where a file is) passed the up-front
    check, which looked only for a folder to write in further up: model convert read the checkpoint and
    train read every clip, then ended in 'File exists: notes.txt' or 'Not a directory: ...'; solve said
    the folder 'notes.txt' does not exist. Each now names the file in the way, before any work."""
    (tmp_path / "notes.txt").write_text("notes")

    def no_work(*_args, **_kwargs):
        raise AssertionError("worked before the output was checked")

    monkeypatch.setattr("pose2rot_core.checkpoint.read_checkpoint", no_work)
    monkeypatch.setattr("pose2rot_core.model.require_torch", no_work)
    monkeypatch.setattr("pose2rot_core.bvh.read_bvh", no_work)
    target = tmp_path / out
    source = {"model convert": [_placeholder(tmp_path / "ck.pt")], "train": [tmp_path],
              "solve": [_placeholder(tmp_path / "clip.bvh")]}[command]
    code, _, err = run([*command.split(), *source, "--out", target], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert f"--out {target}: '{tmp_path / 'notes.txt'}' is a file, not a folder: give --out inside a folder" in err, err


@pytest.mark.parametrize("command, name", [("model convert", ".safetensors"), ("solve", ".bvh"), ("solve", ".NPZ")])
def test_an_output_named_only_by_its_suffix_is_refused_in_words_that_agree(tmp_path, capsys, command, name):
    """--out .safetensors (the name left out) was refused as "--out must end in .safetensors, got
    '.safetensors'", which contradicts itself (to Python the name is a hidden file without a suffix)."""
    target = tmp_path / name
    source = _placeholder(tmp_path / {"model convert": "ck.pt", "solve": "clip.bvh"}[command])
    code, _, err = run([*command.split(), source, "--out", target], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert f"--out {target} has no name before its suffix: give a name such as NAME{name.lower()}" in err, err


LONG = "x" * 300


@pytest.mark.parametrize("argv, option, name", [
    (["solve", "{clip}", "--out", "{d}/" + LONG + ".bvh"], "--out", LONG + ".bvh"),
    (["solve", "{clip}", "--out", "{d}/" + LONG + "/o.bvh"], "--out", LONG),
    (["tracks", "{clip}", "--out", "{d}/new/" + LONG + ".npz"], "--out", LONG + ".npz"),
    (["eval", "{clip}", "--plot", "{d}/" + LONG + ".png"], "--plot", LONG + ".png"),
    (["map", "--skeleton", "{clip}", "--layout", "coco17", "--out", "{d}/" + LONG + ".json"], "--out", LONG + ".json"),
    (["model", "convert", "{clip}", "--out", "{d}/" + LONG + ".safetensors"], "--out", LONG + ".safetensors"),
    (["train", "{d}", "--out", "{d}/" + LONG], "--out", LONG),
])
def test_an_output_name_longer_than_the_file_system_takes_names_its_option(tmp_path, capsys, monkeypatch, argv,
                                                                          option, name):
    """An output whose name is longer than the file system's NAME_MAX (255 bytes) ended in 'pose2rot: error:
    File name too long: xxx...x.bvh', the flag lost (below a folder still missing: 'the directory does not
    exist'). It is refused first, by its flag, with its length and what the system takes."""
    clip = small_clip(tmp_path / "clip.bvh")

    def no_work(*_args, **_kwargs):
        raise AssertionError("worked before the output was checked")

    monkeypatch.setattr("pose2rot_core.checkpoint.read_checkpoint", no_work)
    monkeypatch.setattr("pose2rot_core.model.require_torch", no_work)
    code, _, err = run([a.format(d=tmp_path, clip=clip) for a in argv], capsys)
    assert code == 2 and err.count("\n") == 1, err
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    assert (f"pose2rot: error: {option}: the name '{name[:24]}...{name[-12:]}' is {len(name)} bytes long, more than "
            f"the {limit} that the file system takes for a name: give a shorter name") in err, err


def test_an_output_path_longer_than_the_system_takes_names_its_option(tmp_path, capsys):
    """A path past the system's PATH_MAX, each of its names short enough, ended in 'File name too long'."""
    deep = tmp_path.joinpath(*["y" * 200] * 25, "o.bvh")
    code, _, err = run(["solve", small_clip(tmp_path / "clip.bvh"), "--out", deep], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert f"--out: the path is {len(str(deep))} bytes long, more than the file system takes: give a shorter" in err


@pytest.mark.parametrize("argv, name, given", [
    (["solve", "{d}/" + LONG + ".bvh", "--out", "{d}/o.bvh"], "TRACKS", LONG + ".bvh"),
    (["solve", "{clip}", "--reference", "{d}/" + LONG + ".bvh", "--out", "{d}/o.bvh"], "--reference", LONG + ".bvh"),
    (["solve", "{clip}", "--solver", "learned", "--checkpoint", "{d}/" + LONG + ".pt", "--out", "{d}/o.bvh"],
     "--checkpoint", LONG + ".pt"),
    (["solve", "{clip}", "--solver", "learned", "--checkpoint", "{d}/ck.pt", "--config", "{d}/" + LONG + ".yaml",
      "--out", "{d}/o.bvh"], "--config", LONG + ".yaml"),
    (["solve", "{clip}", "--skeleton", "{clip}", "--map", "{d}/" + LONG + ".json", "--out", "{d}/o.bvh"], "--map",
     LONG + ".json"),
    (["info", "{d}/" + LONG + "/clip.bvh"], "FILE", LONG),
    (["model", "info", "{d}/" + LONG + ".pt"], "CHECKPOINT", LONG + ".pt"),
])
def test_an_input_name_longer_than_the_file_system_takes_names_its_argument(tmp_path, capsys, argv, name, given):
    """An input path with a name longer than the file system's NAME_MAX ended in 'pose2rot: error: File name
    too long: xxx...x.bvh', the flag or argument that gave it lost. The error now names it, as it names
    an output's: its name's length, what the system takes, and that no file can have it."""
    clip = small_clip(tmp_path / "clip.bvh")
    (tmp_path / "ck.pt").write_bytes(b"")
    code, _, err = run([a.format(d=tmp_path, clip=clip) for a in argv], capsys)
    assert code == 2 and err.count("\n") == 1, err
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    assert err == (f"pose2rot: error: {name}: the name '{given[:24]}...{given[-12:]}' is {len(given)} bytes long, "
                   f"more than the {limit} that the file system takes for a name, so no file can have it: check the "
                   "path\n"), err


def test_an_input_path_longer_than_the_system_takes_names_its_argument(tmp_path, capsys):
    """An input path past the system's PATH_MAX, each of its names short enough, ended in 'File name too long'."""
    deep = tmp_path.joinpath(*["y" * 200] * 25, "t.bvh")
    code, _, err = run(["solve", deep, "--out", tmp_path / "o.bvh"], capsys)
    assert code == 2 and err.count("\n") == 1, err
    assert err == (f"pose2rot: error: TRACKS: the path is {len(str(deep))} bytes long, more than the file system "
                   "takes, so no file can be there: check the path\n"), err

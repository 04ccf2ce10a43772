"""``pose2rot solve --jobs N``: a batch's clips solved N at a time in worker processes, writing what one
at a time writes (byte for byte), the summary in the clips' given order, a clip that fails or whose worker
dies failing alone, a stop that ends the workers and names what was written, --jobs below 1 refused."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pose2rot_core import batch_files, cli_batch, cli_workers
from pose2rot_core.shared_files import SharedFiles

from test_cli import run, small_clip
from test_cli_batch import truncated


def _clips(folder: Path) -> list[Path]:
    """Four short clips of different lengths (they end out of order in two workers) and one cut short."""
    clips = [small_clip(folder / f"{name}.bvh", T=T) for name, T in (("d", 30), ("a", 5), ("c", 12), ("b", 8))]
    return [*clips, truncated(folder / "cut.bvh", clips[1])]


@pytest.mark.parametrize("fmt", ["bvh", "npz"])
def test_two_jobs_write_what_one_writes_and_list_the_clips_as_given(tmp_path, capsys, fmt):
    clips = _clips(tmp_path)
    said = {}
    for jobs in (1, 2):
        said[jobs] = run(["solve", *clips, "--out", tmp_path / f"out{jobs}", "--format", fmt, "--jobs", jobs], capsys)
        code, stdout, err = said[jobs]
        assert code == 1 and stdout.splitlines()[-1] == "4 of 5 clips converted, 1 failed", stdout + err
        assert [row.split()[0] for row in stdout.splitlines()[2:7]] == ["d.bvh", "a.bvh", "c.bvh", "b.bvh", "cut.bvh"]
        assert "cut.bvh: error: line 17: unbalanced braces" in err and "[5/5] " in err, err
    names = sorted(p.name for p in (tmp_path / "out1").iterdir())
    assert names == [f"{n}.{fmt}" for n in "abcd"] == sorted(p.name for p in (tmp_path / "out2").iterdir())
    for name in names:
        assert (tmp_path / "out1" / name).read_bytes() == (tmp_path / "out2" / name).read_bytes(), name
    untimed = [re.sub(r" +[0-9.]+  (ok|failed)", r" \1", said[jobs][1]) for jobs in (1, 2)]   # the time column
    assert untimed[0] == untimed[1]


def test_the_batch_s_files_go_to_each_worker_once_not_with_every_clip(tmp_path, capsys, monkeypatch):
    """The rig, reference and map a batch shares (SharedFiles: a --skeleton BVH may hold a long take) were
    pickled and sent with every clip; now once to each worker as it starts."""
    sent = []

    def counted(files):
        sent.append(files)
        return files.__dict__

    monkeypatch.setattr(SharedFiles, "__getstate__", counted, raising=False)
    clips = [small_clip(tmp_path / f"c{i}.bvh", T=5) for i in range(6)]
    code, _, err = run(["solve", *clips, "--out", tmp_path / "out", "--jobs", "2"], capsys)
    assert code == 0 and len(list((tmp_path / "out").iterdir())) == 6, err
    assert 1 <= len(sent) <= 2, len(sent)


def _dies_on_b(path, out):
    """A worker's task that ends its process on the clip b.bvh, as a crash or the system's out-of-memory
    killer does (imported by the workers from this module)."""
    if path.name == "b.bvh":
        os._exit(9)
    return cli_workers._solved_in_worker(path, out)


def test_a_worker_that_dies_fails_its_clip_alone(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_workers, "_solved_in_worker", _dies_on_b)
    clips = _clips(tmp_path)[:4]
    code, stdout, err = run(["solve", *clips, "--out", tmp_path / "out", "--jobs", "2"], capsys)
    assert code == 1 and stdout.splitlines()[-1] == "3 of 4 clips converted, 1 failed", stdout + err
    row = next(r for r in stdout.splitlines() if r.startswith("b.bvh "))
    assert "failed: its worker process ended abruptly" in row and "try fewer --jobs" in row, row
    assert re.search(r"and the pool with it: solved again one at a time, each in a fresh worker: [1-3] clips? it may "
                     r"have been solving(; the rest \(1 clip\) go on 2 at a time)?\n", err), err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.bvh", "c.bvh", "d.bvh"]


def _dies_on_c00_saying_pids(path, out):
    """A worker's task that ends its process on the clip c00.bvh and says, as a line of the other clips,
    which process solved them."""
    if path.name == "c00.bvh":
        os._exit(9)
    result, lines = cli_workers._solved_in_worker(path, out)
    return result, [*lines, f"pid {os.getpid()}"]


def test_the_clips_a_dead_worker_had_not_begun_go_on_in_a_pool(tmp_path, capsys, monkeypatch):
    """A worker that died sent every clip left, 9 of 10 here, to be solved one at a time, each in a
    process of its own: a batch of hundreds lost --jobs from then on. Now only the clips the pool may
    have been solving (--jobs + 1) are solved alone; the others go on in a fresh pool of --jobs."""
    monkeypatch.setattr(cli_workers, "_solved_in_worker", _dies_on_c00_saying_pids)
    clips = [small_clip(tmp_path / f"c{i:02d}.bvh", T=5) for i in range(10)]
    code, stdout, err = run(["solve", *clips, "--out", tmp_path / "out", "--jobs", "2"], capsys)
    assert code == 1 and stdout.splitlines()[-1] == "9 of 10 clips converted, 1 failed", stdout + err
    assert "failed: its worker process ended abruptly" in next(r for r in stdout.splitlines() if r.startswith("c00"))
    assert re.search(r"solved again one at a time, each in a fresh worker: 3 clips it may have been solving; the rest "
                     r"\([4-7] clips\) go on 2 at a time\n", err), err
    pids = set(re.findall(r"^pid (\d+)$", err, re.M))
    assert len(pids) <= 2 + 2 + 2, err           # the first pool, c01 and c02 alone, the fresh pool of 2


def _stopped_on_b(path, out):
    """A worker's task that sends its process SIGTERM on the clip b.bvh, as a user's `kill` of a worker does."""
    if path.name == "b.bvh":
        os.kill(os.getpid(), signal.SIGTERM)
    return cli_workers._solved_in_worker(path, out)


def test_a_worker_stopped_from_outside_fails_its_clip_alone(tmp_path, capsys, monkeypatch):
    """A worker given SIGTERM by another than the batch stopped the whole batch: exit 143 and no summary."""
    monkeypatch.setattr(cli_workers, "_solved_in_worker", _stopped_on_b)
    code, stdout, err = run(["solve", *_clips(tmp_path)[:4], "--out", tmp_path / "out", "--jobs", "2"], capsys)
    assert code == 1 and stdout.splitlines()[-1] == "3 of 4 clips converted, 1 failed", stdout + err
    assert "failed: its worker process ended abruptly" in next(r for r in stdout.splitlines() if r.startswith("b.bvh "))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.bvh", "c.bvh", "d.bvh"]


class _StopInFinaliser:
    """An object whose finaliser sends its process SIGTERM: the stop arrives while a finaliser runs (as
    when a progress bar of the solve is collected), where Python swallows what a handler raises."""

    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)


def _stopped_while_writing(write_whole, how: str):
    """errors.write_whole as the BVH writer calls it, the process stopped once part of the file is
    written: sent SIGTERM ('term'), sent it in a finaliser ('finaliser'), or ended outright ('kill', as
    SIGKILL or the system out of memory ends it)."""
    def write(path, kind, fill, binary=False):
        def part(f):
            f.write("HIERARCHY\n")
            f.flush()
            if how == "finaliser":
                _StopInFinaliser()
            elif how == "term":
                os.kill(os.getpid(), signal.SIGTERM)
            else:
                os._exit(9)
            fill(f)
        write_whole(path, kind, part, binary)
    return write


#: the clips _stopped_writing_b stops as it writes them: how
STOPPED_HOW = {"b": "term", "b1": "finaliser", "b2": "kill"}


def _stopped_writing_b(path, out):
    """A worker's task stopped as it writes the clip b.bvh, b1.bvh or b2.bvh (STOPPED_HOW)."""
    from pose2rot_core import bvh

    if path.stem in STOPPED_HOW:
        bvh.write_whole = _stopped_while_writing(bvh.write_whole, STOPPED_HOW[path.stem])
    return cli_workers._solved_in_worker(path, out)


@pytest.mark.parametrize("stopped", ["b1", "b", "b2"])
def test_a_worker_stopped_in_a_finaliser_or_a_write_ends_leaving_nothing(tmp_path, stopped):
    """A SIGTERM that reached a worker in a finaliser was lost: the clip went on and was written, the stop
    printed as 'Exception ignored' with a traceback (b1); a worker killed outright left its part file
    (b2). Each way the worker ends, the clip fails alone, no file of it is left (not even a part file)
    and stderr holds the batch's lines only (the run is a process of its own: its workers' and
    multiprocessing's resource tracker's stderr are read too)."""
    clips = [small_clip(tmp_path / f"{name}.bvh", T=T) for name, T in (("a", 5), (stopped, 5), ("c", 12))]
    tests = Path(__file__).parent
    script = ("import sys, test_cli_batch_jobs as t; from pose2rot_core import cli, cli_workers; "
              "cli_workers._solved_in_worker = t._stopped_writing_b; sys.exit(cli.main(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(cli_workers.__file__).parents[1]), str(tests)])}
    proc = subprocess.run([sys.executable, "-c", script, "solve", *map(str, clips), "--out", str(tmp_path / "out"),
                           "--jobs", "2"], capture_output=True, text=True, env=env, timeout=120)
    said = proc.stdout + proc.stderr
    assert proc.returncode == 1 and proc.stdout.splitlines()[-1] == "2 of 3 clips converted, 1 failed", said
    assert "failed: its worker process ended abruptly" in next(r for r in proc.stdout.splitlines()
                                                               if r.startswith(f"{stopped}.bvh ")), said
    assert all(line.startswith(("[", "pose2rot: note: ")) for line in proc.stderr.splitlines()), proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.bvh", "c.bvh"]      # no .part file


def _slow_on_b(path, out):
    """A worker's task that takes a minute over the clip b.bvh (a stop must not wait for it)."""
    if path.name == "b.bvh":
        time.sleep(60)
    return cli_workers._solved_in_worker(path, out)


def test_a_stop_ends_the_workers_and_names_what_was_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_workers, "_solved_in_worker", _slow_on_b)
    progress = cli_batch._clip_progress

    def stopped_after_one(total):
        say, counted, close = progress(total)

        def stop(result, out):
            counted(result, out)
            raise KeyboardInterrupt                         # Ctrl-C as the first clip ends

        return say, stop, close

    monkeypatch.setattr(cli_batch, "_clip_progress", stopped_after_one)
    clips = [small_clip(tmp_path / f"{name}.bvh", T=T) for name, T in (("b", 5), ("a", 5), ("c", 30), ("d", 30),
                                                                         ("e", 30), ("f", 30))]
    t0 = time.perf_counter()
    code, stdout, err = run(["solve", *clips, "--out", tmp_path / "out", "--jobs", "2"], capsys)
    assert code == 130 and stdout == "" and time.perf_counter() - t0 < 30, err
    written = sorted(p.name for p in (tmp_path / "out").iterdir())      # a.bvh, and c.bvh if it ended as a stops
    assert written[0] == "a.bvh" and written[1:] in ([], ["c.bvh"]), written
    assert f"pose2rot: {len(written)} of 6 clips written before the stop: {', '.join(written)}\n" in err, err
    assert err.endswith("pose2rot: interrupted\n"), err
    time.sleep(1)                                           # the workers are gone: nothing is written after
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == written


def _saying_threads(path, out):
    """A worker's task that says, as a line of its clip, the thread counts its libraries were started with."""
    result, lines = cli_workers._solved_in_worker(path, out)
    return result, [*lines, f"threads: {[os.environ.get(name) for name in batch_files.THREAD_VARIABLES]}"]


def test_workers_compute_on_one_thread_unless_the_environment_says(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli_workers, "_solved_in_worker", _saying_threads)
    for name in batch_files.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    clips = [small_clip(tmp_path / f"{n}.bvh", T=5) for n in "ab"]
    code, _, err = run(["solve", *clips, "--out", tmp_path / "out", "--jobs", "2"], capsys)
    assert code == 0 and err.count("threads: ['1', '1', '3', '1']") == 2, err
    assert [os.environ.get(name) for name in batch_files.THREAD_VARIABLES] == [None, None, "3", None]


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_jobs_below_one_are_refused_before_any_clip(tmp_path, capsys, jobs):
    clips = [small_clip(tmp_path / f"{n}.bvh", T=5) for n in "ab"]
    for inputs, out in ((clips, tmp_path / "out"), (clips[:1], tmp_path / "one.bvh")):
        code, stdout, err = run(["solve", *inputs, "--out", out, f"--jobs={jobs}"], capsys)
        assert code == 2 and err == f"pose2rot: error: --jobs must be at least 1, got {jobs}\n" and stdout == "", err
    assert not (tmp_path / "out").exists() and not (tmp_path / "one.bvh").exists()


def test_one_thread_each_only_for_several_workers_and_never_over_the_users_setting():
    """Both batches' workers (the command line's and Blender's) take their thread counts from it."""
    environ = {"MKL_NUM_THREADS": "3", "PATH": "/bin"}
    assert batch_files.one_thread_each(environ, 1) == {}
    assert batch_files.one_thread_each(environ, 2) == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                                                      "VECLIB_MAXIMUM_THREADS": "1"}

"""The batch's worker processes: several clips are converted ``--jobs`` at a time, each by the batch
script run again in its own process (Blender in the background, or Python with the bpy module) on a task
file (``--worker=TASK``), which writes its clip's result to a file this process reads; Ctrl-C stops them.
Run more than one at a time, each computes on one thread (batch_files.one_thread_each).
Imported by the batch script once the extension is enabled (functions of batch import it where used)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from . import batch as batch_script
from pose2rot_core.batch_files import clip_label, one_thread_each

from .batch import Batch, clip_ended, clip_job, convert_one
from .batch_outputs import finish_moves, remove_staged, staging_stem

if TYPE_CHECKING:
    import argparse

    from pose2rot_core.options import SolveOptions

    from .runtime import LearnedSettings


def in_workers(batch: Batch, argv: list[str], jobs: int, ended: list, written: dict[str, list], out: Path) -> None:
    """Convert the clips of ``batch`` ``jobs`` at a time, one worker process per clip running this script
    with ``argv``, writing its outputs in the folder ``out`` (--out) under its name in ``batch.names``; each
    clip's ClipResult goes to ``ended`` as it ends, the files it put in place to ``written`` (convert_one),
    and its notes and errors are printed. On Ctrl-C the workers are stopped."""
    from concurrent.futures import as_completed

    files = batch.files
    with tempfile.TemporaryDirectory(prefix="pose2rot_batch_") as tmp, ThreadPoolExecutor(jobs) as pool:
        env = {**os.environ, **one_thread_each(os.environ, jobs)}
        futures = [pool.submit(_worker, f, *_task(batch, f, Path(tmp) / f"{i}"), argv, env,
                               partial(_left_behind, out, batch.names[f], batch.run)) for i, f in enumerate(files)]
        seen: set = set()
        try:
            for future in as_completed(futures):
                seen.add(future)
                result, files_put = future.result()
                written[result.clip] = files_put
                clip_ended(ended, result, len(files))
        except KeyboardInterrupt:
            _STOPPING.set()
            for future in futures:
                future.cancel()
            for proc in list(_RUNNING):
                proc.terminate()
            pool.shutdown(wait=True)
            for future in futures:                           # clips that ended as the run was stopped
                if future not in seen and future.done() and not future.cancelled():
                    ended.append(future.result()[0])
            raise


def _task(batch: Batch, path: Path, stem: Path) -> tuple[Path, Path]:
    """Write what the worker for the clip ``path`` of ``batch`` converts to ``stem``.task.json, as JSON (a
    file name is never read as an option, whatever it starts with): the clip, its output name, the rig, the
    run's token and the file (``stem``.json) for its result; (that task file, the result file)."""
    task, result = stem.with_suffix(".task.json"), stem.with_suffix(".json")
    task.write_text(json.dumps({"clip": str(path), "name": batch.names[path], "rig": batch.rig and str(batch.rig),
                                "run": batch.run, "result": str(result)}))
    return task, result


def _left_behind(out: Path, name: str, run: str) -> list[str]:
    """After the worker for the clip named ``name`` died: the outputs it had begun to put in place in
    ``out`` all put there (finish_moves: the pair is this run's, whole), what else it staged removed; the
    names of those outputs ([]: it had begun none)."""
    placed = finish_moves(out, staging_stem(name, run))
    remove_staged(out, name, run)
    return placed


#: worker processes running, and whether the run is being stopped (Ctrl-C)
_RUNNING: set = set()
_STOPPING = threading.Event()


def _worker(path: Path, task: Path, result: Path, argv: list[str], env: dict[str, str],
            clean: Callable[[], list[str]]):
    """Run one worker (the batch script, in the environment ``env``) for the clip ``path`` (absolute) on
    the ``task`` file (_task) and read (its ClipResult, the files it put in place) from its ``result``
    file; where it wrote none (it died: a crash, killed when the system ran out of memory), ``clean()``
    (_left_behind) finishes putting in place what it had begun to and removes what else it staged; the
    clip fails, saying so."""
    import bpy

    from pose2rot_core.batch_summary import ClipResult

    script = [str(Path(batch_script.__file__).resolve())]
    args = [f"--worker={task}", *argv]                  # first: the batch's own '--' ends the options
    command = ([sys.executable, *script, *args] if not bpy.app.binary_path else
               [bpy.app.binary_path, "-b", "--python-exit-code", "1", "--python", *script, "--", *args])
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                            env=env)
    _RUNNING.add(proc)
    try:
        stdout, stderr = proc.communicate()
    finally:
        _RUNNING.discard(proc)
    label = clip_label(path)
    ended = _read_result(result)                             # the clip may have ended before a stop
    if _STOPPING.is_set() or _interrupted(proc.returncode, stderr):
        return ended or (ClipResult(label, seconds=time.perf_counter() - t0, status="failed", message="interrupted"),
                         [])
    for text, stream in ((stdout, sys.stdout), (stderr, sys.stderr)):  # its notes, not Blender's banner
        print("".join(ln for ln in text.splitlines(True) if ln.startswith(label + ": ")), end="", file=stream,
              flush=True)
    if ended is not None:
        return ended
    print(stderr, end="", file=sys.stderr, flush=True)
    placed = clean()
    done = f"; its {' and '.join(placed)}, already written, are put in place together" if placed else ""
    return ClipResult(label, seconds=time.perf_counter() - t0, status="failed",
                      message=_worker_end(proc.returncode, stderr) + done), []


def _worker_end(returncode: int, stderr: str) -> str:
    """Why a worker that wrote no result ended, from its exit status and its last line of ``stderr``: a
    signal named (SIGKILL: what a system out of memory sends)."""
    last = (stderr.strip().splitlines() or ["no output"])[-1]
    if returncode >= 0:
        return f"the worker process ended with code {returncode} ({last})"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    why = (": the system stops processes so when it runs out of memory; try fewer --jobs at a time"
           if returncode == -getattr(signal, "SIGKILL", 9) else "")
    return f"the worker process was killed by {name}{why} ({last})"


def _interrupted(returncode: int, stderr: str) -> bool:
    """Whether a worker ended by Ctrl-C or a stop signal (a terminal sends Ctrl-C to every process
    of the run: a worker may end from it before this process marks the run as stopping, and its
    'KeyboardInterrupt' must not be printed as a clip's failure)."""
    return (returncode in (-signal.SIGINT, -signal.SIGTERM, 128 + signal.SIGINT)
            or stderr.rstrip().endswith("KeyboardInterrupt"))


def _read_result(result: Path):
    """(the ClipResult, the files put in place) a worker wrote to ``result``, or None where it wrote none
    (or was stopped while writing it)."""
    from pose2rot_core.batch_summary import ClipResult

    try:
        data = json.loads(result.read_text())
        return ClipResult(**data["result"]), data["written"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_worker(args: argparse.Namespace, options: SolveOptions, learned: LearnedSettings) -> int:
    """Convert the clip of the task file ``args.worker`` (_task: an absolute path, onto the checked rig
    the batch passes on, with the model's settings ``learned``) and write (its ClipResult, the files it put
    in place) to the task's result file as JSON: 0, or 1 when it failed."""
    task = json.loads(Path(args.worker).read_text())
    written: dict[str, list] = {}
    job = clip_job(args, options, learned, Path(task["rig"]) if task["rig"] else None, task["run"])
    result = convert_one(Path(task["clip"]), job, task["name"], written)
    Path(task["result"]).write_text(json.dumps({"result": asdict(result), "written": written.get(result.clip, [])}))
    return 1 if result.failed else 0

"""``pose2rot solve --jobs N``: the clips of a batch solved N at a time, in worker processes.

Each worker is a fresh Python (multiprocessing's 'spawn': nothing of this process's state, threads or
thread pools is copied) that solves its clips as the sequential batch does (cli_batch.solve_clip, the
shared files as the batch read them, handed to each worker once as it starts: a rig or reference BVH
with a long take is not sent again with every clip) and writes their files itself. A clip's lines
(notes, warnings, its error) come back with its ClipResult and are printed together when it ends:
clips never interleave.
numpy's (and torch's) thread pools get one thread per worker (OMP/OpenBLAS/MKL/vecLib's variables set to 1
where the environment does not set them): N workers each running every core's threads would fight for
the cores. A worker that dies (a crash, killed when the system runs out of memory) breaks the whole
pool: the clips it may have been solving are solved again one at a time, each in a fresh worker, and
only a clip that ends its worker on its own fails; the clips not begun go on in a fresh pool. A worker
sent SIGTERM (by the batch, or by another) ends so too, after removing the file it was writing
(_stop_worker); what a worker killed outright left half written the batch removes (_remove_parts).
Ctrl-C or SIGTERM stops the workers and goes on to the batch's stop.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable, Iterator

from .batch_files import clip_label, one_thread_each
from .batch_summary import ClipResult
from .errors import part_file, write_target
from .shared_files import SharedFiles
from .wording import counted

#: why a clip failed that ended its worker on its own
WORKER_DIED = ("its worker process ended abruptly (a crash, or killed: a system out of memory stops "
               "processes so; try fewer --jobs at a time)")

#: seconds the batch waits for a clip at most before it looks again for a stop (Ctrl-C, SIGTERM)
SIGNAL_WAIT = 0.2

#: (clip file, its output) -> what is done with the clip's result and its lines as it ends
Ended = Callable[[Path, ClipResult, list[str]], None]


def in_workers(args: argparse.Namespace, shared: SharedFiles, mixed: bool, outputs: dict[Path, Path], jobs: int,
               ended: Ended) -> None:
    """Solve every clip of ``outputs`` {clip file: output} as ``args``, the batch's ``shared`` files and
    ``mixed`` (cli_batch.solve_clip) say, ``jobs`` at a time in worker processes; ``ended(clip, its
    ClipResult, its lines)`` as each ends (in the order they end). A worker that dies takes the pool
    down: the clips it may have been solving (_suspects) are solved again one at a time, each in a
    fresh worker, one that ends its worker alone failing (WORKER_DIED); the clips not begun go on in a
    fresh pool (a note says so)."""
    queue = list(outputs.items())
    while queue:
        suspects, queue = _suspects(_in_pool(args, shared, mixed, queue, jobs, ended), jobs)
        if suspects:
            rest = f"; the rest ({counted(len(queue), 'clip')}) go on {jobs} at a time" if queue else ""
            print(f"pose2rot: note: a worker process ended abruptly, and the pool with it: solved again one at a "
                  f"time, each in a fresh worker: {counted(len(suspects), 'clip')} it may have been solving{rest}",
                  file=sys.stderr, flush=True)
        for path, out in suspects:
            if _in_pool(args, shared, mixed, [(path, out)], 1, ended):
                ended(path, ClipResult(clip_label(path), status="failed", message=WORKER_DIED), [])


def _suspects(left: list[tuple[Path, Path]], jobs: int) -> tuple[list, list]:
    """(the clips a broken pool of ``jobs`` workers may have been solving, the others) of the clips
    ``left`` unsolved, in their given order: a pool hands its clips to its workers in that order, so
    those being solved are among the first not ended; one more than the workers is taken (a clip whose
    result was on its way counts as not ended). A clip that kills its worker and is missed breaks the
    next pool too, and is taken then: only the clips solved alone decide which fail."""
    return left[:jobs + 1], left[jobs + 1:]


def _in_pool(args: argparse.Namespace, shared: SharedFiles, mixed: bool, clips: list[tuple[Path, Path]], jobs: int,
             ended: Ended) -> list[tuple[Path, Path]]:
    """Solve the ``clips`` [(clip file, output)] (``shared``, ``mixed``: as in_workers) in one pool of
    ``jobs`` workers, ``ended`` as each ends; the clips the pool could not solve as a worker died or was
    stopped (in their given order). An interrupt, or an error a worker raised (--debug), stops the workers
    and goes on."""
    before = set(multiprocessing.active_children())
    with _one_thread_each(jobs):
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_started, initargs=(args, shared, mixed))
        futures = {pool.submit(_solved_in_worker, path, out): (path, out) for path, out in clips}
    workers = [p for p in multiprocessing.active_children() if p not in before]      # started by the submits
    taken: set = set()
    order = {future: i for i, future in enumerate(futures)}
    pending = set(futures)
    try:
        while pending:                      # woken often: a signal may reach another thread, not this one
            done, pending = wait(pending, timeout=SIGNAL_WAIT, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=order.get):
                try:
                    result, lines = future.result()
                except BrokenProcessPool:                    # a worker died, or was stopped from outside
                    taken.add(futures[future])
                    continue
                ended(futures[future][0], result, lines)
    except BaseException:
        _stop(pool, workers)
        raise
    pool.shutdown()
    _remove_parts([out for _, out in taken], workers)
    return [clip for clip in clips if clip in taken]


def _remove_parts(outputs: list[Path], workers: list) -> None:
    """Remove what the ended ``workers`` (multiprocessing processes) left half written of the
    ``outputs`` (errors.part_file, by their process ids): a worker killed outright (SIGKILL, the system
    out of memory) cannot remove its own."""
    for out in outputs:
        target, direct = write_target(out)
        if not direct:
            for worker in workers:
                part_file(target, worker.pid).unlink(missing_ok=True)


@contextlib.contextmanager
def _one_thread_each(jobs: int) -> Iterator[None]:
    """While inside (as the workers start, which read it as they import numpy): batch_files.one_thread_each
    for ``jobs`` workers in the environment; as it was after."""
    added = one_thread_each(os.environ, jobs)
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _stop(pool: ProcessPoolExecutor, workers: list) -> None:
    """Stop the ``pool``: clips not begun are dropped, its ``workers`` (multiprocessing processes) told to
    stop (SIGTERM: _worker_started) and waited for."""
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join()
    pool.shutdown(wait=True)


#: in a worker: the output of the clip it is solving ([None] between clips)
_WRITING: list[Path | None] = [None]

#: in a worker: the batch's (parsed arguments, SharedFiles, mixed), set as it starts (_worker_started)
_BATCH: list = []


def _worker_started(args: argparse.Namespace, shared: SharedFiles, mixed: bool) -> None:
    """In a worker as it starts: keeps the batch's ``args``, ``shared`` files and ``mixed`` for every clip
    it solves (_solved_in_worker). Ctrl-C, which a terminal sends to every process of the run, is the
    batch's to handle; SIGTERM (the batch stopping it, or anyone) ends it (_stop_worker). tqdm's bars
    (the solve's, never drawn here: stderr is caught) take a thread lock, not their usual lock between
    processes: a named semaphore, which a worker ended so leaves behind, and the batch's stop would end
    with multiprocessing's warning of 'leaked semaphore objects'."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)
    with contextlib.suppress(ImportError):
        from tqdm import tqdm

        tqdm.set_lock(threading.RLock())
    _BATCH[:] = [args, shared, mixed]


def _stop_worker(signum: int, frame) -> None:
    """SIGTERM in a worker: remove the file of the clip it is writing, half written (errors.write_whole's
    part file), and end the process at once, as SIGTERM ends one. Not an exception: one raised here may
    land in a finaliser, which Python swallows (the stop lost, the clip written after it), or in the
    pool's reading of its queue (a traceback); the pool takes an ended worker as one that died."""
    try:
        target, direct = write_target(_WRITING[0]) if _WRITING[0] is not None else (None, True)
        if not direct:
            part_file(target).unlink(missing_ok=True)
    finally:                                        # ends whatever the removal met
        os._exit(128 + signum)


def _solved_in_worker(path: Path, out: Path) -> tuple[ClipResult, list[str]]:
    """In a worker: (the ClipResult of the clip ``path`` solved to ``out`` as cli_batch.solve_clip solves
    it with the batch's arguments and files (_BATCH), the lines it printed: its notes and warnings, led by
    its name, and whatever else came to stderr), under numpy's error settings as cli.main sets them."""
    import numpy as np

    from .cli_batch import solve_clip

    args, shared, mixed = _BATCH

    caught = io.StringIO()                  # no terminal: no progress bars of its own (they would cross)
    _WRITING[0] = out
    try:
        with contextlib.redirect_stderr(caught), contextlib.nullcontext() if args.debug else np.errstate(all="ignore"):
            result = solve_clip(args, path, out, lambda line: print(line, file=sys.stderr), shared, mixed)
    finally:
        _WRITING[0] = None
    return result, caught.getvalue().splitlines()

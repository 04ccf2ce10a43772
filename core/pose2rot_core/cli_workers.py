"""``pose2rot solve --jobs N``: the clips of a batch solved N at a time, in worker processes.

Each worker is a fresh Python (multiprocessing's 'spawn': nothing of this process's state, threads or
thread pools is copied) that solves its clips as the sequential batch does (cli_batch.solve_clip, the
shared files as the batch read them) and writes their files itself. A clip's lines (notes, warnings,
its error) come back with its ClipResult and are printed together when it ends: clips never interleave.
numpy's (and torch's) thread pools get one thread per worker (OMP/OpenBLAS/MKL/vecLib's variables set to 1
where the environment does not set them): N workers each running every core's threads would fight for
the cores. A worker that dies (a crash, killed when the system runs out of memory) breaks the whole
pool: the clips it took down are solved again one at a time, each in a fresh worker, and only a clip
that ends its worker on its own fails; so are the clips of a worker stopped by a SIGTERM the batch did
not send. Ctrl-C or SIGTERM stops the workers (a file half written is
removed, as errors.write_whole does) and goes on to the batch's stop.
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
    ClipResult, its lines)`` as each ends (in the order they end). Workers that died take their clips
    down: those are solved again one at a time (a note says so), and one that ends its worker alone
    fails (WORKER_DIED)."""
    taken = _in_pool(args, shared, mixed, list(outputs.items()), jobs, ended)
    if taken:
        print(f"pose2rot: note: a worker process ended abruptly, and the pool with it: the "
              f"{counted(len(taken), 'clip')} not yet solved then are solved again one at a time, each in a fresh "
              "worker", file=sys.stderr, flush=True)
    for path, out in taken:
        if _in_pool(args, shared, mixed, [(path, out)], 1, ended):
            ended(path, ClipResult(clip_label(path), status="failed", message=WORKER_DIED), [])


def _in_pool(args: argparse.Namespace, shared: SharedFiles, mixed: bool, clips: list[tuple[Path, Path]], jobs: int,
             ended: Ended) -> list[tuple[Path, Path]]:
    """Solve the ``clips`` [(clip file, output)] (``shared``, ``mixed``: as in_workers) in one pool of
    ``jobs`` workers, ``ended`` as each ends;
    the clips the pool could not solve as a worker died or was stopped (in their given order). An interrupt, or an error
    a worker raised (--debug), stops the workers and goes on."""
    before = set(multiprocessing.active_children())
    with _one_thread_each(jobs):
        pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_started)
        futures = {pool.submit(_solved_in_worker, args, path, out, shared, mixed): (path, out)
                   for path, out in clips}
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
                except (BrokenProcessPool, SystemExit):      # died, or stopped by a SIGTERM not the batch's
                    taken.add(futures[future])
                    continue
                ended(futures[future][0], result, lines)
    except BaseException:
        _stop(pool, workers)
        raise
    pool.shutdown()
    return [clip for clip in clips if clip in taken]


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


#: in a worker: whether the batch has stopped it (SIGTERM)
_STOPPED = threading.Event()


def _worker_started() -> None:
    """In a worker as it starts: Ctrl-C, which a terminal sends to every process of the run, is the
    batch's to handle; SIGTERM (the batch stopping it) raises SystemExit: a clip being solved stops
    (a file being written removed: errors.write_whole), and so does every clip it is given after
    (_solved_in_worker), until the pool lets it end as a process ends (its own cleanup run); between
    clips, it ends at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)


def _stop_worker(signum: int, frame) -> None:
    _STOPPED.set()
    raise SystemExit(128 + signum)


def _solved_in_worker(args: argparse.Namespace, path: Path, out: Path, shared: SharedFiles, mixed: bool
                      ) -> tuple[ClipResult, list[str]]:
    """In a worker: (the ClipResult of the clip ``path`` solved to ``out`` as cli_batch.solve_clip solves
    it, the lines it printed: its notes and warnings, led by its name, and whatever else came to stderr),
    under numpy's error settings as cli.main sets them."""
    import numpy as np

    from .cli_batch import solve_clip

    if _STOPPED.is_set():
        raise SystemExit(128 + signal.SIGTERM)
    caught = io.StringIO()                  # no terminal: no progress bars of its own (they would cross)
    with contextlib.redirect_stderr(caught), contextlib.nullcontext() if args.debug else np.errstate(all="ignore"):
        result = solve_clip(args, path, out, lambda line: print(line, file=sys.stderr), shared, mixed)
    return result, caught.getvalue().splitlines()

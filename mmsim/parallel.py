"""Where a sweep's work runs: in this process, in joblib worker processes, or on a Dask cluster.

A sweep's unit of work is one *column*: one (scenario, kernel) pair classified at every free-slot count (or
``max_map_count`` value) of the sweep, because a column reuses its padded address space and its settled
outcomes from one value to the next (:func:`mmsim.experiments.settled`). Columns are grouped into
*chunks* of contiguous columns, so that a sweep of a million cases is some tens of tasks, not a million:
:func:`chunks` aims at :data:`CHUNKS_PER_WORKER` chunks per worker and keeps each between
:data:`MIN_CHUNK_CASES` and :data:`MAX_CHUNK_CASES` cases (one column is never split). Whatever runs them,
:func:`run_tasks` returns the rows in column order: the frame is the serial run's, row for row.

Dask (``dask.distributed``) is reached through a ``Client`` or a scheduler address; its workers must import
the same mmsim (see ``docs/studies.md``). The profiles are passed by name, so a profile made with
:func:`mmsim.register_profile` at run time is unknown to a worker process: such sweeps run serially.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

__all__ = [
    "CHUNKS_PER_WORKER",
    "MAX_CHUNK_CASES",
    "MIN_CHUNK_CASES",
    "PROGRESS_THRESHOLD",
    "chunks",
    "n_jobs_of",
    "progress_bar",
    "run_tasks",
]

#: Sweeps with more cases than this show a tqdm progress bar unless ``progress=False``.
PROGRESS_THRESHOLD = 2000
#: Chunks per worker a parallel sweep aims at (some balance when columns differ in cost).
CHUNKS_PER_WORKER = 4
#: The fewest cases in a chunk (below this, the cost of a task outweighs its work: see benchmarks/).
MIN_CHUNK_CASES = 200
#: The most cases in a chunk (the progress bar moves at least every this many cases).
MAX_CHUNK_CASES = 20_000

Task = tuple[Any, ...]
Rows = list[tuple[Any, ...]]


@contextmanager
def progress_bar(total: int, progress: bool | None, desc: str) -> Iterator[Any]:
    """A tqdm bar of ``total`` cases: shown if ``progress`` is True, or if it is None and ``total`` exceeds
    :data:`PROGRESS_THRESHOLD`. O(1)."""
    from tqdm.auto import tqdm

    show = total > PROGRESS_THRESHOLD if progress is None else bool(progress)
    with tqdm(total=total, disable=not show, desc=desc, unit="case", leave=False) as bar:
        yield bar


def n_jobs_of(n_jobs: int | None) -> int:
    """The number of worker processes: 1 (serial) for None, N, or every core for -1. O(1).

    >>> n_jobs_of(None), n_jobs_of(3)
    (1, 3)
    >>> n_jobs_of(0)
    Traceback (most recent call last):
    ...
    ValueError: n_jobs must be a positive int or -1 (every core), not 0
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int or -1 (every core), not {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else n_jobs


def chunks(n_tasks: int, per_task: int, workers: int) -> list[range]:
    """Split ``n_tasks`` columns of ``per_task`` cases each into contiguous ranges of column indices for
    ``workers`` workers (see the module docstring for the sizes). O(n_tasks).

    >>> chunks(10, 17, 2)          # 170 cases: fewer than two chunks' worth, so one chunk
    [range(0, 10)]
    >>> [len(c) for c in chunks(300, 31, 2)]   # 9,300 cases: 8 chunks of ~1,160 cases
    [38, 38, 38, 38, 37, 37, 37, 37]
    >>> len(chunks(100_000, 10, 2))            # a million cases: 50 chunks of 20,000
    50
    """
    if n_tasks <= 0:
        return []
    total = n_tasks * max(per_task, 1)
    target = min(max(total // max(workers * CHUNKS_PER_WORKER, 1), MIN_CHUNK_CASES), MAX_CHUNK_CASES)
    n = max(1, min(n_tasks, total // target))
    q, r = divmod(n_tasks, n)
    out, start = [], 0
    for i in range(n):
        stop = start + q + (1 if i < r else 0)
        out.append(range(start, stop))
        start = stop
    return out


def _run_chunk(fn: Callable[..., Rows], tasks: Sequence[Task], extra: tuple[Any, ...]) -> Rows:
    """The rows of the columns ``tasks`` (run in a worker)."""
    rows: Rows = []
    for t in tasks:
        rows.extend(fn(*t, *extra))
    return rows


def run_tasks(fn: Callable[..., Rows], tasks: Sequence[Task], extra: tuple[Any, ...], per_task: int, *,
              n_jobs: int = 1, scheduler: Any = None, progress: bool | None = None,
              desc: str = "sweep") -> Rows:
    """``fn(*task, *extra)`` for every task (a column of ``per_task`` cases), its rows concatenated in task
    order: serially (``n_jobs=1``), in ``n_jobs`` joblib processes, or on the Dask cluster of ``scheduler``
    (a ``distributed.Client`` or a scheduler address such as ``"tcp://10.0.0.5:8786"``). O(cases).

    >>> run_tasks(lambda a, b: [(a, b)], [(1,), (2,)], ("x",), 1)
    [(1, 'x'), (2, 'x')]
    """
    rows: Rows = []
    with progress_bar(len(tasks) * per_task, progress, desc) as bar:
        if scheduler is None and (n_jobs == 1 or len(tasks) < 2):
            for t in tasks:
                rows.extend(fn(*t, *extra))
                bar.update(per_task)
            return rows
        if scheduler is not None:
            return _on_dask(fn, tasks, extra, per_task, scheduler, bar)
        from joblib import Parallel, delayed

        parts = [list(tasks[c.start:c.stop]) for c in chunks(len(tasks), per_task, n_jobs)]
        # return_as="generator" yields results in task order as they complete, so the bar keeps moving.
        results = Parallel(n_jobs=min(n_jobs, len(parts)), return_as="generator")(
            delayed(_run_chunk)(fn, part, extra) for part in parts)
        for part, got in zip(parts, results, strict=True):
            rows.extend(got)
            bar.update(len(part) * per_task)
    return rows


def _on_dask(fn: Callable[..., Rows], tasks: Sequence[Task], extra: tuple[Any, ...], per_task: int,
             scheduler: Any, bar: Any) -> Rows:
    """The chunks as Dask futures; the bar moves as each completes; rows gathered in task order."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError("a sweep on Dask needs dask.distributed: pip install 'mmsim[studies]'") from None
    client = Client(scheduler) if isinstance(scheduler, str) else scheduler
    if not isinstance(client, Client):
        raise TypeError(f"scheduler must be a distributed.Client or a scheduler address, not "
                        f"{type(scheduler).__name__}")
    try:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        parts = [list(tasks[c.start:c.stop]) for c in chunks(len(tasks), per_task, workers)]
        futures = [client.submit(_run_chunk, fn, part, extra, pure=False) for part in parts]
        sizes = {f.key: len(part) * per_task for f, part in zip(futures, parts, strict=True)}
        for f in as_completed(futures):
            bar.update(sizes[f.key])
        rows: Rows = []
        for f in futures:
            rows.extend(f.result())
        return rows
    finally:
        if client is not scheduler:
            client.close()

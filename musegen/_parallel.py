"""Run one function over many files on every core, this process included; a bar over files.

A private leaf module (it imports nothing of musegen): `musegen.io.corpus.load_corpus`
and `musegen.tokens.token_cache.cached_tokens` read their files through it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MIN_ITEMS_PER_PROCESS = 4
"""Fewer items than this per process are done in this process: starting workers costs more."""


def processes_for(workers: int | None, items: int) -> int:
    """How many processes to use for `items` items when `workers` are asked for (None: every core).

    Examples:
        >>> processes_for(8, 10), processes_for(2, 100), processes_for(1, 100)
        (2, 2, 1)
    """
    return max(1, min(workers or os.cpu_count() or 1, items // MIN_ITEMS_PER_PROCESS))


def file_sizes(paths: Sequence[Path]) -> list[int]:
    """Bytes of each file (0 where it cannot be read): `map_unordered` takes the largest first.

    Examples:
        >>> file_sizes([Path("no such file")])
        [0]
    """
    sizes = []
    for path in paths:
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            sizes.append(0)  # the reader reports it
    return sizes


def map_unordered(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    workers: int | None,
    sizes: Sequence[int] | None = None,
) -> Iterator[tuple[int, Result]]:
    """``(index, function(item))`` for every item, in the order they finish.

    With more than one process, ``workers - 1`` worker processes take the items
    from the largest down (by `sizes`, else in order) while this process takes
    them from the smallest up, until it meets one already taken. Each worker
    gets `function` once, when it starts; the items and results travel pickled.
    Garbage collection is paused while `function` runs and catches up between
    items: readers make many objects, and keep most of them until they return.
    When the caller stops early (an error, Ctrl-C, or leaving the loop), the
    items no worker has started are dropped.

    Examples:
        >>> sorted(map_unordered(abs, [-3, 1, -2], workers=1))
        [(0, 3), (1, 1), (2, 2)]
    """
    processes = processes_for(workers, len(items))
    if processes == 1:
        for index, item in enumerate(items):
            yield index, _call(function, item)
        return
    order = list(range(len(items)))
    if sizes is not None:
        order.sort(key=lambda i: -sizes[i])
    pool = ProcessPoolExecutor(
        max_workers=processes - 1, initializer=_start_worker, initargs=(function,)
    )
    try:
        jobs = [(index, pool.submit(_work, items[index])) for index in order]
        while jobs and jobs[-1][1].cancel():  # not started by a worker: this process does it
            index = jobs.pop()[0]
            yield index, _call(function, items[index])
        for index, job in jobs:
            yield index, job.result()
    finally:  # on an error, an interrupt or a caller that stops early: drop what is left
        pool.shutdown(cancel_futures=True)


_worker_function: Callable[[Any], Any] | None = None
"""The function of this worker process (set by `_start_worker`)."""


def _start_worker(function: Callable[[Any], Any]) -> None:
    global _worker_function
    _worker_function = function
    # What the worker inherited from its parent stays out of its garbage collections,
    # which would write to every inherited page (copy-on-write).
    gc.freeze()


def _work(item: Any) -> Any:
    assert _worker_function is not None
    return _call(_worker_function, item)


def _call(function: Callable[[Item], Result], item: Item) -> Result:
    collecting = gc.isenabled()
    gc.disable()
    try:
        return function(item)
    finally:
        if collecting:
            gc.enable()


def file_progress(
    items: Iterable[Item], enabled: bool, desc: str, total: int | None = None
) -> Iterable[Item]:
    """`items` behind a tqdm bar counting files (`items` itself when not `enabled`)."""
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="file", leave=False, total=total)

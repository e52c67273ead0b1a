"""Try a training cluster on one machine: N worker processes on free localhost ports.

`local_cluster` writes the ``TF_CONFIG`` of each worker (the same cluster list,
its own index; worker 0 is the chief). `run_local_workers` starts one process
per worker with its ``TF_CONFIG``, streams their output with a ``[worker i]``
prefix, and stops them all when one fails: a worker whose peer died would
otherwise wait in its next all-reduce. ``musegen train --local-workers N`` is
this with the ``musegen train`` command line.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import IO

__all__ = ["WorkerError", "local_cluster", "run_local_workers"]


class WorkerError(RuntimeError):
    """A worker of a local cluster failed; the others were stopped."""


def local_cluster(count: int, host: str = "localhost") -> list[str]:
    """The ``TF_CONFIG`` of each of `count` workers on free ports of `host`, as JSON.

    Examples:
        >>> configs = [json.loads(c) for c in local_cluster(2)]
        >>> [c["task"] for c in configs]
        [{'type': 'worker', 'index': 0}, {'type': 'worker', 'index': 1}]
        >>> configs[0]["cluster"] == configs[1]["cluster"]
        True
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:  # all bound at once, so no two get the same port
            s.bind((host, 0))
        addresses = [f"{host}:{s.getsockname()[1]}" for s in sockets]
    finally:
        for s in sockets:
            s.close()
    cluster = {"worker": addresses}
    return [
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        for i in range(count)
    ]


def run_local_workers(
    command: Sequence[str],
    count: int,
    *,
    env: Mapping[str, str] | None = None,
    out: IO[str] | None = None,
) -> None:
    """Run `command` as `count` workers of one local cluster; return when all have finished.

    Each line a worker prints reaches `out` (default standard output) as
    ``[worker i] line``; the launcher's own lines start with ``[launcher]``, among
    them each worker's process id.

    Args:
        command: The program and its arguments, the same for every worker.
        count: Number of workers.
        env: The environment (default this process's); each worker gets its own
            ``TF_CONFIG`` in it, and unbuffered Python output.
        out: Where to write the workers' output.

    Raises:
        WorkerError: when a worker exits with a non-zero status (or is killed); the
            others are stopped first, and the message names the worker.

    Examples:
        >>> import io, sys
        >>> buffer = io.StringIO()
        >>> run_local_workers([sys.executable, "-c", "print('hi')"], 2, out=buffer)
        >>> sorted(line for line in buffer.getvalue().splitlines() if "hi" in line)
        ['[worker 0] hi', '[worker 1] hi']
    """
    out = out or sys.stdout
    base = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    lines: queue.Queue[tuple[int, str | None]] = queue.Queue()
    workers: list[subprocess.Popen[str]] = []
    try:
        for index, config in enumerate(local_cluster(count)):
            worker = subprocess.Popen(
                list(command),
                env={**base, "TF_CONFIG": config},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
            workers.append(worker)
            address = json.loads(config)["cluster"]["worker"][index]
            print(f"[launcher] worker {index}: pid {worker.pid}, {address}", file=out, flush=True)
            threading.Thread(target=_forward, args=(worker, index, lines), daemon=True).start()
        _wait(workers, lines, out)
    finally:
        _stop(workers)


def _forward(worker: subprocess.Popen[str], index: int, lines: queue.Queue) -> None:
    """Queue each line of a worker's output, then None when it closes."""
    assert worker.stdout is not None
    for line in worker.stdout:
        lines.put((index, line.rstrip("\n")))
    lines.put((index, None))


def _wait(workers: list[subprocess.Popen[str]], lines: queue.Queue, out: IO[str]) -> None:
    """Print the workers' lines until all have closed; raise when one failed."""
    open_streams = len(workers)
    while open_streams:
        try:
            index, line = lines.get(timeout=0.2)
        except queue.Empty:
            _check(workers)
            continue
        if line is None:
            open_streams -= 1
            workers[index].wait()
            _check(workers)
        else:
            print(f"[worker {index}] {line}", file=out, flush=True)


def _check(workers: list[subprocess.Popen[str]]) -> None:
    """Raise `WorkerError` naming the first worker that ended with a non-zero status."""
    for index, worker in enumerate(workers):
        status = worker.poll()
        if status:
            how = (
                f"was killed by {signal.Signals(-status).name}"
                if status < 0
                else f"exited with status {status}"
            )
            others = sum(w.poll() is None for w in workers)
            raise WorkerError(
                f"worker {index} (pid {worker.pid}) {how}; stopped the other "
                f"{others} running worker{'s' if others != 1 else ''}"
            )


def _stop(workers: list[subprocess.Popen[str]]) -> None:
    """Terminate the workers still running (kill those that do not stop within 10 s)."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()

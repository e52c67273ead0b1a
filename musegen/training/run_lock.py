"""One writer per run directory: `RunLock`, taken before a run reads or writes its folder.

The lock is the file ``<run>/.lock``, holding JSON that names its holder: the
process id, the host and when it took the lock. It is created with
``O_CREAT | O_EXCL``, so of two runs starting together exactly one gets it; the
other is refused in one line naming the holder and the lock file. A lock left
by a run that was killed (on this host, its process gone) is taken over with
one line, and so is one whose process id now names a process that started
after the lock was written (the id was reused, after a reboot; Linux, where
``/proc`` tells when a process started). A lock of another host cannot be
checked from here: it is refused, naming the file to delete once that run is
over (so is one whose process id lives in another container sharing the folder
under the same host name); a live holder's refusal names it too, to delete if
that process is not a musegen run.

On a cluster only the chief writes the run directory (`is_chief_process`), so
only the chief takes the lock; the other workers read the chief's backup.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["LOCK_NAME", "RunLock", "RunLockedError", "is_chief_process"]

LOCK_NAME = ".lock"
"""The lock file's name in the run directory."""

_UNREADABLE_GRACE = 1.0  # seconds a new lock may stay empty (its holder is writing it)
_START_SLACK = 10.0  # seconds a lock's holder may seem to start after it wrote the lock


class RunLockedError(Exception):
    """The run directory is another run's, or its lock cannot be checked from this host.

    Examples:
        >>> str(RunLockedError("runs/a is in use by another run"))
        'runs/a is in use by another run'
    """


class RunLock:
    """The lock of a run directory: `acquire` it before touching the folder, `release` it after.

    Used as a context manager it is released however the block ends (an
    exception, ``KeyboardInterrupt``). A kill leaves the file behind: the next
    run on this host finds its process gone and takes the lock over.

    Args:
        run_dir: The run directory (created if need be).
        progress: Called with the line that says a stale lock was taken over.

    Attributes:
        path: The lock file, ``run_dir / ".lock"``.

    Examples:
        >>> import tempfile, pathlib
        >>> run = pathlib.Path(tempfile.mkdtemp())
        >>> with RunLock(run) as lock:
        ...     sorted(json.loads(lock.path.read_text()))
        ['host', 'pid', 'since', 'token']
        >>> (run / ".lock").exists()
        False
    """

    def __init__(
        self, run_dir: str | os.PathLike[str], *, progress: Callable[[str], object] = print
    ) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.progress = progress
        self._token: str | None = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._token is not None

    def acquire(self) -> RunLock:
        """Take the lock, taking over a stale one (with one line); this lock.

        Raises:
            RunLockedError: when a live run holds it, or one of another host whose
                process cannot be checked from here (naming the file to delete).
        """
        if self.held:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(10):  # each pass creates the file, or clears a stale one for the next
            token = uuid.uuid4().hex
            try:
                handle = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._clear_stale()
                continue
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(json.dumps(_record(token)))
                    out.flush()
                    os.fsync(out.fileno())
            except BaseException:
                self.path.unlink(missing_ok=True)
                raise
            self._token = token
            return self
        raise RunLockedError(f"{self.path}: other runs kept taking the lock; try again")

    def release(self) -> None:
        """Remove the lock file if this object holds it (a no-op otherwise)."""
        token, self._token = self._token, None
        if token is not None and (_read(self.path) or {}).get("token") == token:
            self.path.unlink(missing_ok=True)

    def _clear_stale(self) -> None:
        """Remove the lock found if its holder is gone (one line); raise if it lives, or may."""
        found = _read_settled(self.path)
        if found is None:  # released meanwhile
            return
        run, here = self.path.parent, socket.gethostname()
        holder = _holder(found)
        if found and found.get("host") != here:
            raise RunLockedError(
                f"{run} is locked by {holder}, which cannot be checked from this host "
                f"({here}); if that run has ended, delete {self.path}"
            )
        pid = found.get("pid")
        younger = bool(found) and _started_after(pid, found.get("since"))
        if found and not younger and _alive(pid):
            raise RunLockedError(
                f"{run} is in use by another run ({holder}); wait for it to end or use "
                f"another run directory (if pid {pid} is not a musegen run, delete {self.path})"
            )
        aside = self.path.with_name(f"{LOCK_NAME}.stale.{os.getpid()}.{uuid.uuid4().hex[:8]}")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:  # another run cleared it first
            return
        moved = _read(aside)
        if moved != found:  # another run had cleared it and locked anew: give its lock back
            with contextlib.suppress(OSError):
                os.link(aside, self.path)  # never over a lock taken since
            aside.unlink(missing_ok=True)
            return
        aside.unlink(missing_ok=True)
        if not found:
            what = "an empty lock, left by a run killed as it took it"
        elif younger:
            later = "that pid is now a process started later"
            what = f"the lock of {holder}, a run that ended ({later})"
        else:
            what = f"the lock of {holder}, a run that ended without releasing it"
        self.progress(f"{self.path}: took over {what}")


def is_chief_process(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process writes the run directory: the chief of its ``TF_CONFIG`` cluster.

    The chief is the ``"chief"`` task when the cluster has one, else worker 0 (as
    `musegen.training.custom_loop.is_chief` decides, without starting TensorFlow);
    a process without ``TF_CONFIG`` is its own chief.

    Examples:
        >>> is_chief_process({})
        True
        >>> cluster = {"worker": ["host-a:2222", "host-b:2222"]}
        >>> second = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}})
        >>> is_chief_process({"TF_CONFIG": second})
        False
    """
    config = (os.environ if environ is None else environ).get("TF_CONFIG")
    if not config:
        return True
    try:
        parsed = json.loads(config)
        task, cluster = parsed.get("task") or {}, parsed.get("cluster") or {}
        kind, index = task.get("type"), int(task.get("index") or 0)
    except (ValueError, TypeError, AttributeError):  # TensorFlow refuses it later, in its words
        return True
    if not kind or kind == "chief":
        return True
    return bool(kind == "worker" and index == 0 and "chief" not in cluster)


def _record(token: str) -> dict[str, Any]:
    since = datetime.now().astimezone().isoformat(timespec="seconds")
    return {"pid": os.getpid(), "host": socket.gethostname(), "since": since, "token": token}


def _holder(record: dict[str, Any]) -> str:
    return f"pid {record.get('pid')} on {record.get('host')} since {record.get('since')}"


def _read(path: Path) -> dict[str, Any] | None:
    """The lock's record; ``{}`` when it is not a record (empty, torn); None without a file."""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _read_settled(path: Path) -> dict[str, Any] | None:
    """`_read`, waiting a moment for a lock just created to be written."""
    deadline = time.monotonic() + _UNREADABLE_GRACE
    while True:
        found = _read(path)
        if found != {} or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _started_after(pid: Any, since: Any) -> bool:
    """Whether process `pid` of this host started after `since`, a lock's ISO time.

    Such a process cannot have written that lock: its pid was reused (after a
    reboot, a container's restart).

    False where it cannot be told: no ``/proc`` (not Linux), no such process, a `since`
    that is not a time. `_START_SLACK` seconds allow for the rounding of both times.

    Examples:
        >>> _started_after(os.getpid(), "2999-01-01T00:00:00+00:00")
        False
        >>> _started_after(os.getpid(), "not a time")
        False
    """
    if not isinstance(pid, int) or pid <= 0 or not isinstance(since, str):
        return False
    try:
        written = datetime.fromisoformat(since).timestamp()
        # field 22 of /proc/PID/stat: the start in clock ticks after boot (the name may hold ")")
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        started = boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration, OverflowError):
        return False
    return started > written + _START_SLACK


def _alive(pid: Any) -> bool:
    """Whether process `pid` of this host runs (a zombie does not; unknown counts as alive)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would end it there: cannot tell, so alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, for one
        return True
    try:  # Linux: an exited process not yet reaped by its parent
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields[0] != "Z"

"""Safe files: atomic writes and versioned JSON documents (no pickle anywhere).

A private leaf module: it imports nothing of musegen, so every module may use it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
"""Version of the JSON documents musegen writes; a newer one is refused on load."""


def library_version() -> str:
    """The installed musegen version, or ``"unknown"`` when run from a bare checkout."""
    try:
        return metadata.version("musegen")
    except metadata.PackageNotFoundError:  # pragma: no cover - only outside an install
        return "unknown"


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` through a temporary file and a rename.

    An interrupted write leaves the previous file (or no file) in place, never
    a truncated one.
    """
    return atomic_save(path, lambda tmp: tmp.write_bytes(data))


def atomic_save(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """Have `write` fill a temporary file beside `path`, then rename it into place.

    For writers that want a path rather than bytes (``model.save``,
    ``model.save_weights``): the temporary name ends with the target's name,
    so a writer that checks the suffix (``.keras``, ``.weights.h5``) accepts it.
    A kill at any moment leaves the previous file (or none) at `path`.

    Examples:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> atomic_save(target, lambda tmp: tmp.write_text("hi")).read_text()
        'hi'
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".", suffix=f".tmp.{target.name}", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode(target))  # mkstemp makes it owner-only
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _file_mode(target: Path) -> int:
    """The mode a plain ``open(target, "w")`` would leave: the old file's, or 0o666 less umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically (see `atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def dump_document(kind: str, class_name: str, config: dict[str, Any]) -> str:
    """Wrap a configuration in the versioned JSON document musegen writes."""
    document = {
        "format": f"musegen.{kind}",
        "format_version": FORMAT_VERSION,
        "musegen_version": library_version(),
        "class": class_name,
        "config": config,
    }
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def load_document(text: str, kind: str, source: str = "<string>") -> tuple[str, dict[str, Any]]:
    """Read a document written by `dump_document`; returns ``(class_name, config)``.

    Raises:
        ValueError: naming `source` when the text is not such a document, is of
            another kind, states a format version musegen never wrote (not a
            whole number from 1), or was written by a newer format version.

    Examples:
        >>> load_document(dump_document("vocabulary", "Vocabulary", {"tokens": []}), "vocabulary")
        ('Vocabulary', {'tokens': []})
        >>> try:
        ...     load_document('{"format": "musegen.bundle", "format_version": "1"}', "bundle")
        ... except ValueError as err:
        ...     print(err)
        <string>: format version '1' is not a version musegen writes (a whole number, 1 to 1)
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{source}: not a JSON document ({err})") from None
    except RecursionError:
        raise ValueError(f"{source}: not a JSON document musegen reads (too deep)") from None
    if not isinstance(document, dict) or document.get("format") != f"musegen.{kind}":
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ValueError(f"{source}: expected a musegen.{kind} document, found {found!r}")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(
            f"{source}: format version {version!r} is not a version musegen writes "
            f"(a whole number, 1 to {FORMAT_VERSION})"
        )
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{source}: format version {version!r} is newer than this musegen "
            f"({library_version()}) reads ({FORMAT_VERSION}); upgrade musegen"
        )
    config = document.get("config")
    class_name = document.get("class")
    if not isinstance(config, dict) or not isinstance(class_name, str):
        raise ValueError(f"{source}: document lacks its 'class' or 'config'")
    return class_name, config

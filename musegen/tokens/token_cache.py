"""Tokenize many MIDI files once: an on-disk token cache and parallel corpus tokenizing.

An entry holds the tokens of one file for one tokenizer configuration and one
way of reading the file. Its name is a SHA-256 hash of the file's bytes, the
tokenizer's class and configuration, and the reader options, so a changed file,
tokenizer or option is a miss, never a stale hit; the file's name and place do
not matter. Entries are small JSON documents written atomically (temporary file,
then rename): an interrupted run leaves no partial entry, and an entry that does
not parse is treated as a miss and written again. Nothing is pickled on disk.

Examples:
    >>> from musegen.tokens.tokenizer import Tokenizer
    >>> cache = TokenCache("~/.cache/musegen-tokens")  # doctest: +SKIP
    >>> corpus = cached_tokens(paths, Tokenizer.seed(), cache=cache)  # doctest: +SKIP
    >>> corpus.hits, len(corpus.tokens), corpus.failures  # doctest: +SKIP
    (92, 92, [])
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from musegen._files import atomic_write_text
from musegen._parallel import file_sizes, map_unordered
from musegen._words import plural
from musegen.io.corpus import LoadFailure
from musegen.io.reading import MidiReadError
from musegen.tokens.tokenizer import TokenizerProtocol

__all__ = ["ENTRY_FORMAT", "TokenCache", "TokenizedFiles", "cached_tokens", "tokenize_file"]

ENTRY_FORMAT = "musegen.tokens/1"
"""Format of a cache entry; part of every key, so a new format never reads old entries."""

Engine = Literal["fast", "music21"]


class TokenCache:
    """A folder of token lists, one JSON file per (file contents, tokenizer, reader options).

    Args:
        directory: Where entries live (created when the first one is written).
            ``~`` is expanded.

    Examples:
        >>> import tempfile
        >>> cache = TokenCache(tempfile.mkdtemp())
        >>> key = cache.key(b"MThd...", {"class": "Tokenizer"})
        >>> cache.put(key, ["C4", "rest"])
        >>> cache.get(key)
        ['C4', 'rest']
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory).expanduser()

    @staticmethod
    def key(data: bytes, options: dict[str, Any]) -> str:
        """The entry name for file bytes `data` read and tokenized with JSON-able `options`."""
        digest = hashlib.sha256()
        settings = {"format": ENTRY_FORMAT, "options": options}
        digest.update(json.dumps(settings, sort_keys=True, separators=(",", ":")).encode())
        digest.update(b"\0")
        digest.update(data)
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        """The file of entry `key` (in a sub-folder named by its first two characters)."""
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[str] | None:
        """The tokens stored under `key`, or None when absent, unreadable or corrupt."""
        try:
            document = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(document, dict) or document.get("key") != key:
            return None
        tokens = document.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            return None
        return tokens

    def put(self, key: str, tokens: Sequence[str]) -> None:
        """Store `tokens` under `key`, atomically."""
        document = {"format": ENTRY_FORMAT, "key": key, "tokens": list(tokens)}
        atomic_write_text(self.path(key), json.dumps(document, separators=(",", ":")))


@dataclass
class TokenizedFiles:
    """What `cached_tokens` returns: the tokens of the files that could be read.

    Attributes:
        paths: The files that gave tokens, in the order given.
        tokens: One token list per entry of `paths`.
        failures: The files that could not be read or hold no pitched notes.
        hits: How many token lists came from the cache.

    Examples:
        >>> TokenizedFiles([Path("a.mid")], [["C4"]]).summary()
        '1 file tokenized (0 from the cache), 0 skipped'
    """

    paths: list[Path]
    tokens: list[list[str]]
    failures: list[LoadFailure] = field(default_factory=list)
    hits: int = 0

    def summary(self) -> str:
        """One line: how many files, cache hits and failures."""
        return (
            f"{plural(len(self.tokens), 'file')} tokenized ({self.hits} from the cache), "
            f"{len(self.failures)} skipped"
        )


def tokenize_file(
    path: str | os.PathLike[str],
    tokenizer: TokenizerProtocol,
    *,
    engine: Engine = "fast",
    parts: Literal["all", "first"] = "all",
    drop_drums: bool = True,
) -> list[str]:
    """Read one MIDI file and return its tokens (no cache).

    Args:
        path: The MIDI file.
        tokenizer: Turns the piece into tokens.
        engine: ``"fast"`` reads with `musegen.io.midi_fast.read_midi_fast`;
            ``"music21"`` with `musegen.io.reading.read_midi` (music21's streams, slow).
        parts: As for `musegen.io.reading.read_midi`.
        drop_drums: As for `musegen.io.reading.read_midi`.

    Raises:
        MidiReadError: the file cannot be read, or holds no pitched notes.

    Examples:
        >>> from musegen import datasets
        >>> from musegen.tokens.tokenizer import Tokenizer
        >>> tokenize_file(datasets.path("skuli") / "8.mid", Tokenizer())[:2]
        ['C2,E4,C5', 'G4']
    """
    if engine == "fast":
        from musegen.io.midi_fast import read_midi_fast

        piece = read_midi_fast(path, parts=parts, drop_drums=drop_drums)
    elif engine == "music21":
        from musegen.io.reading import read_midi

        piece = read_midi(path, parts=parts, drop_drums=drop_drums)
    else:
        raise ValueError(f"engine must be 'fast' or 'music21', got {engine!r}")
    if not any(event.pitches for event in piece.events):
        raise MidiReadError(path, "no pitched notes (empty or drums only)")
    return tokenizer.encode(piece)


def cached_tokens(
    paths: Iterable[str | os.PathLike[str]],
    tokenizer: TokenizerProtocol,
    *,
    cache: TokenCache | str | os.PathLike[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
    engine: Engine = "fast",
    parts: Literal["all", "first"] = "all",
    drop_drums: bool = True,
) -> TokenizedFiles:
    """Tokenize MIDI files, reading each from the cache when it is there.

    Files missing from the cache are read in parallel, by this process and
    worker processes (when there are enough files to pay for starting them), and
    their tokens stored. Unreadable files are reported in ``failures``, never cached.

    Args:
        paths: The MIDI files.
        tokenizer: Turns pieces into tokens; its class and ``get_config()`` are
            part of the cache key.
        cache: A `TokenCache` or its folder; None reads every file.
        workers: Processes reading the misses, this one included (2 starts one
            worker process); None uses every core, 1 reads in this process only.
        progress: Show a progress bar on standard error while reading.
        engine: As for `tokenize_file`.
        parts: As for `tokenize_file`.
        drop_drums: As for `tokenize_file`.

    Returns:
        A `TokenizedFiles`.

    Examples:
        >>> from musegen.tokens.tokenizer import Tokenizer
        >>> from musegen import datasets
        >>> files = sorted(datasets.path("skuli").glob("*.mid"))
        >>> cached_tokens(files, Tokenizer(), cache="tokens").summary()  # doctest: +SKIP
        '92 files tokenized (0 from the cache), 0 skipped'
    """
    files = [Path(p) for p in paths]
    store = TokenCache(cache) if isinstance(cache, (str, os.PathLike)) else cache
    reader = {"engine": engine, "parts": parts, "drop_drums": drop_drums}
    options = {
        "tokenizer": type(tokenizer).__qualname__,
        "config": tokenizer.get_config(),
        **reader,
    }
    found: dict[int, list[str]] = {}
    failed: dict[int, str] = {}
    keys: dict[int, str] = {}
    if store is not None:
        for index, file in enumerate(files):
            try:
                keys[index] = store.key(file.read_bytes(), options)
            except OSError:
                continue  # the reader reports the file below
            tokens = store.get(keys[index])
            if tokens is not None:
                found[index] = tokens
    hits = len(found)
    missing = [i for i in range(len(files)) if i not in found]
    for index, result in _read_all(
        [files[i] for i in missing], tokenizer, reader, workers, progress
    ):
        number = missing[index]
        if isinstance(result, str):
            failed[number] = result
            continue
        found[number] = result
        if store is not None and number in keys:
            store.put(keys[number], result)
    order = sorted(found)
    return TokenizedFiles(
        paths=[files[i] for i in order],
        tokens=[found[i] for i in order],
        failures=[LoadFailure(str(files[i]), failed[i]) for i in sorted(failed)],
        hits=hits,
    )


def _read_all(
    files: list[Path],
    tokenizer: TokenizerProtocol,
    reader: dict[str, Any],
    workers: int | None,
    progress: bool,
) -> Iterable[tuple[int, list[str] | str]]:
    """(index, tokens or failure reason) per file, in any order."""
    read = partial(_read_one, tokenizer=tokenizer, reader=reader)
    bar = _progress_bar(len(files), progress)
    try:
        for index, result in map_unordered(read, files, workers, file_sizes(files)):
            yield index, result
            bar.update(1)
    finally:
        bar.close()


def _read_one(file: Path, tokenizer: TokenizerProtocol, reader: dict[str, Any]) -> list[str] | str:
    """Tokens of one file, or why it could not be read (in this process or a worker)."""
    try:
        return tokenize_file(file, tokenizer, **reader)
    except MidiReadError as err:
        return err.reason


def _progress_bar(total: int, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="tokenizing", unit="file", leave=False, disable=not enabled)

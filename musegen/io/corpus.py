"""Corpora: the files a source names, and `load_corpus`, which reads them all.

A source is a folder, a file, ``music21:<composer>`` or ``musegen:<name>``; a file
that cannot be read is reported (`LoadFailure`) and the rest are read. A file of
several tunes (an opus: ABC, Humdrum) gives a piece per tune.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from musegen._parallel import file_progress, file_sizes, map_unordered
from musegen._words import plural
from musegen.events import Piece
from musegen.io._midi_common import MidiReadError, add_counts, not_kept_line
from musegen.io.midi_fast import _read_counted
from musegen.io.reading import (
    _MIDI_SUFFIXES,
    Engine,
    Grouping,
    Parts,
    _is_midi,
    _read_pieces,
    _sustained_piece,
    read_midi,
)

__all__ = ["Corpus", "LoadFailure", "load_corpus", "source_files"]


_MUSIC_SUFFIXES = (*_MIDI_SUFFIXES, ".xml", ".musicxml", ".mxl", ".krn", ".abc")

"""What folder reading finds (in any case: ``.MID``, ``.Mid`` too)."""


@dataclass(frozen=True)
class LoadFailure:
    """A file (or one tune of a file, ``path#n``) `load_corpus` could not use, and why.

    Examples:
        >>> str(LoadFailure("bad.mid", "empty file"))
        'bad.mid: empty file'
    """

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Corpus:
    """Pieces loaded by `load_corpus`, with the files that failed.

    Examples:
        >>> from musegen.events import Event
        >>> Corpus([Piece((Event(0, 1, (60,)),))]).summary()
        '1 piece, 1 event, 0 files skipped'
    """

    pieces: list[Piece]
    failures: list[LoadFailure] = field(default_factory=list)
    not_kept: dict[str, int] = field(default_factory=dict)
    """What the files held that the pieces do not (pitch bends, controllers, ...), counted."""

    def __len__(self) -> int:
        return len(self.pieces)

    def __iter__(self) -> Iterator[Piece]:
        return iter(self.pieces)

    def summary(self) -> str:
        """One line: how many pieces, events, skipped files, and what was not kept."""
        events = sum(len(p) for p in self.pieces)
        pieces, files = plural(len(self.pieces), "piece"), plural(len(self.failures), "file")
        line = f"{pieces}, {plural(events, 'event')}, {files} skipped"
        dropped = not_kept_line(self.not_kept, len(self.pieces))
        return f"{line}; {dropped}" if dropped else line


def load_corpus(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    parts: Parts = "all",
    drop_drums: bool = True,
    grouping: Grouping = "onset",
    limit: int | None = None,
    progress: bool = True,
    engine: Engine = "auto",
    workers: int | None = 1,
    sustain: bool = False,
) -> Corpus:
    """Load many pieces, skipping (and reporting) files that fail.

    Args:
        source: A folder (searched recursively for MIDI, MusicXML and ``.krn``
            files: see `source_files`), a list of files, ``"music21:<composer>"``
            for a corpus bundled with music21 (e.g. ``"music21:bach"``: Bach
            chorales, offline, MusicXML), or
            ``"musegen:<name>"`` for a dataset bundled with musegen
            (``"musegen:skuli"``: the original recipe's 92 MIDI files;
            ``"musegen:jsb"``: the JSB Chorales' train and valid splits, a
            frame per quarter note, ``"musegen:jsb/test"`` the test split;
            see `musegen.datasets`). A file of several tunes (an opus: ABC or
            Humdrum, as ``"music21:oneills1850"``) gives a piece per tune, its
            source the file's name and the tune's place in it
            (``0001-0050.abc#3``); a tune that fails is reported as
            ``path#n`` and the others are kept.
        parts: As for `read_midi`.
        drop_drums: As for `read_midi`.
        grouping: As for `read_midi`.
        limit: Read at most this many files (in sorted order); every tune of an
            opus file is read.
        progress: Show a progress bar on standard error.
        engine: As for `read_midi` (MIDI files only; other formats use music21).
        workers: Processes reading files at once; None uses every core.
        sustain: As for `read_midi` (MIDI files only): notes held as the
            sustain pedal holds them.

    Returns:
        A `Corpus`: the pieces that hold notes, and a `LoadFailure` for each file
        that could not be read or holds no pitched notes, and for each other
        file of a folder.

    Examples:
        >>> corpus = load_corpus("music21:bach", limit=3, progress=False)
        >>> len(corpus.pieces), corpus.failures
        (3, [])
    """
    if isinstance(source, str):
        from musegen.datasets import jsb_source

        chorales = jsb_source(source)
        if chorales is not None:  # frames, not files
            return Corpus(chorales[:limit])
    if sustain and (parts != "all" or grouping != "onset" or engine == "music21"):
        raise ValueError("sustain=True reads with parts='all', grouping='onset' only")
    skipped: list[LoadFailure] = []
    paths = source_files(source, skipped=skipped)
    if limit is not None:
        paths = paths[:limit]
    read = partial(
        _read_one,
        parts=parts,
        drop_drums=drop_drums,
        grouping=grouping,
        engine=engine,
        sustain=sustain,
    )
    per_file: list[list[tuple[Piece, _Counts] | LoadFailure]] = [[] for _ in paths]
    done = map_unordered(read, paths, workers, file_sizes(paths))
    for index, result in file_progress(done, progress, "reading", len(paths)):
        per_file[index] = result
    results = [r for file_results in per_file for r in file_results]
    pieces = [r[0] for r in results if isinstance(r, tuple)]
    not_kept: dict[str, int] = {}
    for read_one in results:
        if isinstance(read_one, tuple):
            add_counts(not_kept, read_one[1])
    failures = [r for r in results if isinstance(r, LoadFailure)]
    return Corpus(pieces, skipped + failures, not_kept)


_Counts = tuple[tuple[str, int], ...]


def _read_one(
    file: Path,
    *,
    parts: Parts,
    drop_drums: bool,
    grouping: Grouping,
    engine: Engine,
    sustain: bool = False,
) -> list[tuple[Piece, _Counts] | LoadFailure]:
    """One file of `load_corpus`: its pieces and what they did not keep, or its failures.

    A piece per tune of an opus (see `_read_pieces`); module level, for worker processes.
    """
    not_kept: _Counts = ()
    try:
        if sustain and _is_midi(file):
            piece, not_kept = _sustained_piece(file, drop_drums=drop_drums)
            return [_checked(file, piece, not_kept)]
        fast = engine == "fast" or (engine == "auto" and parts == "all" and grouping == "onset")
        if _is_midi(file) and fast and grouping == "onset":  # read_midi's fast reading
            piece, not_kept = _read_counted(file, parts=parts, drop_drums=drop_drums)
        elif _is_midi(file):
            piece = read_midi(
                file, parts=parts, drop_drums=drop_drums, grouping=grouping, engine=engine
            )
        else:  # music21's formats: a piece, or one per tune of an opus
            tunes = _read_pieces(file, parts=parts, drop_drums=drop_drums, grouping=grouping)
            return [  # a tune's source is the file's name and "#n": it names the tune
                LoadFailure(t.path, t.reason)
                if isinstance(t, MidiReadError)
                else _checked(f"{file}{t.source[len(file.name) :]}", t, ())
                for t in tunes
            ]
    except MidiReadError as err:
        return [LoadFailure(str(file), err.reason)]
    return [_checked(file, piece, not_kept)]


def _checked(
    file: str | Path, piece: Piece, not_kept: _Counts
) -> tuple[Piece, _Counts] | LoadFailure:
    if not piece.notes:
        return LoadFailure(str(file), "no pitched notes (empty or drums only)")
    return piece, not_kept


def source_files(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    skipped: list[LoadFailure] | None = None,
) -> list[Path]:
    """The files a corpus source names, sorted (see `load_corpus` for the sources).

    A folder is searched recursively for MIDI (``.mid``, ``.midi``), MusicXML
    (``.xml``, ``.musicxml``, ``.mxl``), Humdrum (``.krn``) and ABC (``.abc``) files, the
    suffix in any case (``.MID``, ``.Mid``). Hidden files and folders (a name
    starting with ``.``) are left out.

    Args:
        source: A folder, a file, a list of files, ``"music21:<composer>"`` or
            ``"musegen:<name>"``.
        skipped: A list to which a `LoadFailure` is appended for each other
            file of a folder, naming it and why it is not read.

    Raises:
        FileNotFoundError: for a path that does not exist.
        ValueError: for a music21 composer with no pieces, or an unknown dataset.

    Examples:
        >>> [p.name for p in source_files("musegen:skuli")[:2]]
        ['0fithos.mid', '8.mid']
    """
    if isinstance(source, str) and source.startswith("musegen:"):
        from musegen.datasets import _jsb_split, path

        if _jsb_split(source) is not None:
            raise ValueError(
                f"{source} ships as quarter-note frames, not as files: read it with "
                "load_corpus (musegen train without --tracks)"
            )
        source = path(source.split(":", 1)[1])
    if isinstance(source, str) and source.startswith("music21:"):
        from music21 import corpus

        composer = source.split(":", 1)[1]
        found = [
            Path(p)
            for p in corpus.getComposer(composer)
            if Path(p).suffix.lower() in _MUSIC_SUFFIXES
        ]
        if not found:
            raise ValueError(f"music21's corpus has no pieces for {composer!r}")
        return sorted(found)
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if root.is_dir():
            return _folder_files(root, skipped if skipped is not None else [])
        if root.is_file():
            return [root]
        raise FileNotFoundError(f"no such file or folder: {str(root)!r}")
    return [Path(p) for p in source]


def _folder_files(root: Path, skipped: list[LoadFailure]) -> list[Path]:
    """The music files under `root`, sorted; the other (not hidden) files go to `skipped`."""
    found = []
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if not path.is_file():
            continue
        if path.suffix.lower() in _MUSIC_SUFFIXES:
            found.append(path)
        else:
            known = ", ".join(_MUSIC_SUFFIXES)
            reason = f"its suffix is {path.suffix!r}" if path.suffix else "it has no suffix"
            skipped.append(
                LoadFailure(str(path), f"not a music file musegen reads ({reason}; reads {known})")
            )
    return found

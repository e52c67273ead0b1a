"""What the commands share: the default corpus, reading one, and one-line errors."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from musegen._words import plural
from musegen.io.corpus import Corpus, LoadFailure, load_corpus

DEFAULT_SOURCE = "music21:bach"
WORKERS_HELP = "processes reading the files (default: every core)"


class CommandError(Exception):
    """A user mistake or a failed step: ``musegen`` prints the message in one line and exits.

    Args:
        message: What went wrong, naming the file or option.
        code: The exit status: 2 for bad arguments, 1 for work that failed (the default).
    """

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def load(args: argparse.Namespace) -> Corpus:
    """Read ``args.source`` as the commands do: a summary line, the skipped files named.

    Raises:
        CommandError: for a missing source or one without files (status 2), or one
            whose files gave no piece (1).
    """
    start = time.perf_counter()
    try:
        corpus = load_corpus(
            args.source,
            parts=args.parts,
            limit=args.limit,
            progress=not args.quiet and sys.stderr.isatty(),  # no bar in a log file
            workers=args.workers,
        )
    except (FileNotFoundError, ValueError) as err:  # no such folder, unknown corpus name
        raise CommandError(str(err), 2) from None
    seconds = time.perf_counter() - start
    failures, line = passed_over(corpus.failures)
    corpus = dataclasses.replace(corpus, failures=failures)
    print(f"{args.source}: {corpus.summary()} ({seconds:.1f} s)")
    if line:
        print(f"  {line}")
    for failure in corpus.failures:
        print(f"  skipped {failure}")
    if not corpus.pieces:  # none read (1), or nothing there to read: a bad argument (2)
        raise CommandError(f"no pieces to use in {args.source}", 1 if corpus.failures else 2)
    return corpus


def load_scores(args: argparse.Namespace) -> list[Any]:
    """Read ``args.source`` with each file's tracks apart (`musegen.io.reading.read_tracks`).

    One line counts what the files held that the scores, or the band's tokens
    (`TrackTokenizer.not_kept`), do not keep.

    Raises:
        CommandError: for a missing source or one without files (status 2), or one
            whose files gave no score (1).
    """
    from musegen.io._midi_common import add_counts, not_kept_line
    from musegen.io.corpus import source_files
    from musegen.io.reading import MidiReadError, read_tracks
    from musegen.tokens.track_tokenizer import TrackTokenizer

    others: list[LoadFailure] = []
    try:
        paths = source_files(args.source, skipped=others)[: args.limit]
    except (FileNotFoundError, ValueError) as err:
        raise CommandError(str(err), 2) from None
    others, line = passed_over(others)
    if line:
        print(f"  {line}")
    for failure in others:
        print(f"  skipped {failure}")
    scores = []
    for path in paths:
        try:
            score = read_tracks(path)
        except MidiReadError as err:
            print(f"  skipped {err}")
            continue
        if score.tracks:
            scores.append(score)
    tracks, skipped = sum(len(s.tracks) for s in scores), len(paths) - len(scores) + len(others)
    print(
        f"{args.source}: {plural(len(scores), 'score')}, {plural(tracks, 'track')}, "
        f"{plural(skipped, 'file')} skipped"
    )
    if not scores:  # none read (1), or nothing there to read: a bad argument (2)
        raise CommandError(f"no scores to use in {args.source}", 1 if paths else 2)
    totals: dict[str, int] = {}
    band = TrackTokenizer()  # what `musegen train --tracks` spells them with
    for score in scores:
        add_counts(totals, score.not_kept)
        add_counts(totals, band.not_kept(score))
    if line := not_kept_line(totals, len(scores)):
        print(line)
    return scores


def bundle_dir(where: str) -> Path:
    """The bundle directory of a run directory (``run/bundle``), of a bundle, or ``musegen:<name>``.

    Raises:
        CommandError: (status 2) for ``musegen:<name>`` when no such bundle ships.
    """
    from musegen.training.bundle import BundleError, bundle_path

    try:
        path = bundle_path(where)
    except BundleError as err:
        raise CommandError(str(err), 2) from None
    return path / "bundle" if (path / "bundle").is_dir() else path


def midi_files(paths: list[str]) -> list[Path]:
    """The music files named, folders searched (sorted); the other files of a folder counted.

    A file named that is not music is kept, for `read_pieces` to name it.

    Raises:
        CommandError: (status 2) for a missing path, or when no MIDI file is found.
    """
    from musegen.io.corpus import source_files

    files: list[Path] = []
    skipped: list[LoadFailure] = []
    for name in paths:
        try:
            files += source_files(Path(name), skipped=skipped)  # a file, or a folder searched
        except FileNotFoundError as err:
            raise CommandError(str(err), 2) from None
    skipped, line = passed_over(skipped)
    if line:
        print_error(line)
    for failure in skipped:
        print_error(f"skipped {failure}")
    if not files:
        raise CommandError(f"no MIDI files in {' '.join(paths)}", 2)
    return files


def passed_over(failures: list[LoadFailure]) -> tuple[list[LoadFailure], str | None]:
    """The failures less a folder's files that are not music, and one line counting those.

    A folder's pictures, sounds and notes (``.png``, ``.wav``, ``.json``, ...) are no
    mistake: they are counted in one line, not named one a line.

    Args:
        failures: What `musegen.io.corpus.source_files` or `load_corpus` reported.

    Returns:
        The other failures, and the line (None when no file was passed over).

    Examples:
        >>> reason = "not a music file musegen reads (its suffix is '.png'; reads .mid)"
        >>> passed_over([LoadFailure("a.png", reason), LoadFailure("b.mid", "empty file")])
        ([LoadFailure(path='b.mid', reason='empty file')], \
'passed over 1 file that is not music (.png)')
    """
    others = [f for f in failures if f.reason.startswith("not a music file")]
    if not others:
        return failures, None
    suffixes = sorted({Path(f.path).suffix.lower() or "no suffix" for f in others})
    verb = "is" if len(others) == 1 else "are"
    kinds = ", ".join(suffixes)
    line = f"passed over {plural(len(others), 'file')} that {verb} not music ({kinds})"
    return [f for f in failures if f not in others], line


def read_pieces(files: list[Path]) -> Iterator[tuple[Path, Any]]:
    """(file, piece) per file, MusicXML with its tracks merged; a bad or drums-only file gives None.

    The file is named on standard error with the reason it was skipped.
    """
    from musegen.io.corpus import _MUSIC_SUFFIXES
    from musegen.io.reading import MidiReadError, read_midi, read_tracks

    for file in files:
        if file.suffix.lower() not in _MUSIC_SUFFIXES:  # a picture or a sound named by hand
            known = ", ".join(_MUSIC_SUFFIXES)
            print_error(f"skipped {file}: not a music file musegen reads (reads {known})")
            yield file, None
            continue
        try:
            midi = file.suffix.lower() in (".mid", ".midi")
            piece = read_midi(file) if midi else read_tracks(file).merged()
        except MidiReadError as err:
            print_error(f"skipped {err}")
            yield file, None
            continue
        if piece.notes:
            yield file, piece
        else:  # as load_corpus: nothing to measure, draw or play
            print_error(f"skipped {file}: no pitched notes (empty or drums only)")
            yield file, None


def print_error(message: Any) -> None:
    """``musegen: <message>`` on standard error."""
    print(f"musegen: {message}", file=sys.stderr)


def show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int,
    file: Any = None, line: str | None = None,
) -> None:  # fmt: skip
    """Show musegen's own warnings (a `BundleWarning`) in one line, as its errors; others as ever.

    `musegen.cli.main` shows a command's warnings so (restoring Python's own afterwards).

    Examples:
        >>> from musegen.training.bundle import BundleWarning
        >>> show_warning(BundleWarning("runs/a: saved by musegen 9.0"), BundleWarning, "x.py", 1)
    """
    if category.__module__.partition(".")[0] == "musegen":
        print_error(f"warning: {message}")
    else:
        stream = sys.stderr if file is None else file  # as Python shows it
        stream.write(warnings.formatwarning(message, category, filename, lineno, line))

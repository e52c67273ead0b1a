"""``musegen export``: a music file as engraved MusicXML (key, staves, clefs, spelling)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from musegen.cli._common import CommandError
from musegen.cli._types import existing_file

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """The ``export`` subcommand and its options."""
    export = commands.add_parser(
        "export", help="write a music file as MusicXML for notation (key, staves, clefs)"
    )
    export.add_argument(
        "file", type=existing_file, help="a music file musegen reads (MIDI, MusicXML, ABC, .krn)"
    )
    export.add_argument(
        "--out", default=None, type=_musicxml_file,
        help="the MusicXML file to write, ending in .musicxml or .xml (default: FILE.musicxml "
        "beside FILE; FILE-notation.musicxml for a .musicxml FILE)",
    )  # fmt: skip
    export.add_argument(
        "--title", default=None, help="the title (default: the file's name without its suffix)"
    )
    export.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read ``args.file`` with its tracks apart and write it as MusicXML; 0 on success.

    Raises:
        CommandError: the file cannot be read, or holds no note (status 1).
    """
    from musegen.io.notation import write_musicxml
    from musegen.io.reading import MidiReadError, read_tracks

    file = Path(args.file)
    try:
        score = read_tracks(file)
    except MidiReadError as err:
        raise CommandError(str(err)) from None
    if not any(track.piece.notes for track in score.tracks):
        raise CommandError(f"cannot export {str(file)!r}: it holds no note")
    out = Path(args.out) if args.out else file.with_suffix(".musicxml")
    if not args.out and out.resolve() == file.resolve():  # a MusicXML file: keep it
        out = file.with_name(f"{file.stem}-notation.musicxml")
    if out.resolve() == file.resolve():
        raise CommandError(f"--out {args.out} is the file read: give another name", 2)
    print(f"wrote {write_musicxml(score, out, title=args.title)}")
    return 0


def _musicxml_file(text: str) -> str:
    """A MusicXML file to write: a name ending in ``.musicxml`` or ``.xml``; as given.

    Examples:
        >>> _musicxml_file("song.mid")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: takes a MusicXML file to write, ending in .musicxml or .xml, \
got 'song.mid'
    """
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder: give a file to write, "
                                         f"e.g. {str(Path(text) / 'song.musicxml')!r}")  # fmt: skip
    if Path(text).suffix.lower() not in (".musicxml", ".xml"):
        raise argparse.ArgumentTypeError(
            f"takes a MusicXML file to write, ending in .musicxml or .xml, got {text!r}"
        )
    return text

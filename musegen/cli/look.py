"""``musegen plot`` and ``musegen render``: piano rolls and audio of MIDI files that exist."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from musegen.cli._common import CommandError, midi_files, print_error, read_pieces
from musegen.cli._types import existing_file


def add_parser(commands: Any) -> None:
    """The ``plot`` and ``render`` subcommands and their options."""
    plot = commands.add_parser("plot", help="draw the piano roll of MIDI files (FILE.png)")
    plot.add_argument("files", nargs="+", help="MIDI files or folders of them")
    plot.add_argument(
        "--out", default=None, help="the PNG file, or a folder for them (default: beside)"
    )
    plot.set_defaults(run=run_plot)
    render = commands.add_parser("render", help="play MIDI files to WAV through FluidSynth")
    render.add_argument("files", nargs="+", help="MIDI (or MusicXML) files or folders of them")
    render.add_argument(
        "--out", default=None, help="the WAV file, or a folder for them (default: beside)"
    )
    render.add_argument(
        "--soundfont", type=existing_file, default=None, help="a .sf2 file (default: found)"
    )
    render.set_defaults(run=run_render)


def run_plot(args: argparse.Namespace) -> int:
    """Write ``FILE.png`` for each MIDI file; 0 when all were drawn, else 1."""
    files = midi_files(args.files)
    try:
        from musegen.evaluation.plots import piano_roll, save_png
    except ImportError:
        raise CommandError("plot needs matplotlib (pip install 'musegen[plot]')") from None
    status = 0
    for file, piece in read_pieces(files):
        if piece is None:
            status = 1
            continue
        png = _beside(file, args.out, ".png", len(files))
        print(f"wrote {save_png(piano_roll(piece, title=file.name), png)}")
    return status


def run_render(args: argparse.Namespace) -> int:
    """Write ``FILE.wav`` for each file; 0 when all were rendered, else 1.

    A MIDI file is played as it is (its instruments, drums, tempo changes); a
    MusicXML or ``.krn`` file as its tracks (`musegen.io.reading.read_tracks`).
    """
    from musegen.io.audio import AudioError, find_soundfont, render_wav
    from musegen.io.reading import MidiReadError, read_tracks

    files = midi_files(args.files)
    try:
        soundfont = find_soundfont(args.soundfont)
    except AudioError as err:
        raise CommandError(str(err), 2 if args.soundfont else 1) from None
    status = 0
    for file in files:
        try:
            score = read_tracks(file)  # a bad file is named here, not given to FluidSynth
        except MidiReadError as err:
            print_error(f"skipped {err}")
            status = 1
            continue
        if not score.tracks:
            print_error(f"skipped {file}: no notes")
            status = 1
            continue
        midi = file.suffix.lower() in (".mid", ".midi")
        try:
            wav = render_wav(
                file if midi else score,
                _beside(file, args.out, ".wav", len(files)),
                soundfont=soundfont,
            )
        except AudioError as err:
            raise CommandError(str(err)) from None
        print(f"wrote {wav}")
    return status


def _beside(file: Path, out: str | None, suffix: str, count: int = 1) -> Path:
    """Where ``file``'s output goes: `out` itself when it names a ``suffix`` file, else in it.

    `out` None puts it beside `file`; a folder `out` is created.

    Raises:
        CommandError: (status 2) for an `out` naming one file when `count` files are given.
    """
    if out is None:
        return file.with_suffix(suffix)
    if Path(out).suffix.lower() == suffix:
        if count > 1:
            raise CommandError(f"--out {out} names one file, for {count} files give a folder", 2)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        return Path(out)
    Path(out).mkdir(parents=True, exist_ok=True)
    return Path(out) / file.with_suffix(suffix).name

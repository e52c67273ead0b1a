"""Writing what the commands make: MIDI, and a piano roll and audio beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from musegen.cli._common import print_error


def write_outputs(piece: Any, out: Path, *, png: bool, wav: bool, title: str) -> int:
    """Write a piece or a score as MIDI, and a piano roll / WAV beside it; 1 if one failed.

    A missing optional part (matplotlib, FluidSynth or a soundfont) is named in one
    line; the MIDI file is written in any case. A score's piano roll shows its
    tracks merged; its WAV is rendered from the MIDI file, each track with its
    instrument.
    """
    from musegen.io.tracks import Score
    from musegen.io.writing import write_midi

    write_midi(piece, out)
    print(f"wrote {out}")
    status = 0
    if png:
        try:
            from musegen.evaluation.plots import piano_roll, save_png
        except ImportError:
            print_error("--png needs matplotlib (pip install 'musegen[plot]')")
            status = 1
        else:
            shown = piece.merged(drums=True) if isinstance(piece, Score) else piece
            print(f"wrote {save_png(piano_roll(shown, title=title), out.with_suffix('.png'))}")
    if wav:
        from musegen.io.audio import AudioError, render_wav

        try:
            print(f"wrote {render_wav(out, out.with_suffix('.wav'))}")
        except AudioError as err:
            print_error(f"no WAV for {out.name}: {err}")
            status = 1
    return status


def summary(music: Any, quarters: float) -> str:
    """``66 notes and chords, 8 bars of 4/4 (32.0 quarter lengths, 16.0 s at 120 bpm)``.

    A band's notes are counted per instrument.
    """
    from musegen._metre import bar_length

    if hasattr(music, "tracks"):
        what = ", ".join(f"{t.family} (program {t.program}): {len(t.piece.notes)}"
                         for t in music.tracks)  # fmt: skip
    else:
        what = f"{len(music.notes)} notes and chords"
    bars = round(quarters / bar_length(music.time_signature), 2)
    return (
        f"{what}, {bars:g} bar{'' if bars == 1 else 's'} of {music.time_signature} "
        f"({quarters:.1f} quarter lengths, {quarters * 60 / music.tempo:.1f} s "
        f"at {music.tempo:g} bpm)"
    )

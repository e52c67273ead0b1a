"""Writing what the commands make: MIDI, and a piano roll and audio beside it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from musegen.cli._common import print_error

COMPANIONS = (".png", ".wav", ".musicxml")
"""The files written beside ``NAME.mid``: its piano roll, audio and notation, ``NAME`` + these."""
WRITTEN_WITH = 600.0
"""Seconds after a MIDI file within which a companion of its name counts as written with it."""


def write_outputs(
    piece: Any, out: Path, *, png: bool, wav: bool, title: str, program: int = 0
) -> int:
    """Write a piece or a score as MIDI, and a piano roll / WAV beside it; 1 if one failed.

    A missing optional part (matplotlib, FluidSynth or a soundfont) is named in one
    line; the MIDI file is written in any case. A score's piano roll shows each
    track in a colour of its own, with a legend; its WAV is rendered from the MIDI
    file, each track with its instrument.

    Args:
        piece: A `musegen.events.Piece` or a `musegen.io.tracks.Score`.
        out: The MIDI file to write; ``.png`` and ``.wav`` go beside it.
        png: Also draw the piano roll.
        wav: Also render the audio.
        title: The piano roll's title.
        program: The General MIDI program of a piece (a score's tracks keep theirs).

    Returns:
        0, or 1 when the piano roll or the audio could not be made.
    """
    from musegen.io.writing import write_midi

    write_midi(piece, out, program=program)
    print(f"wrote {out}")
    status = 0
    if png:
        try:
            from musegen.evaluation.plots import piano_roll, save_png
        except ImportError:
            print_error("--png needs matplotlib (pip install 'musegen[plot]')")
            status = 1
        else:
            print(f"wrote {save_png(piano_roll(piece, title=title), out.with_suffix('.png'))}")
    if wav:
        from musegen.io.audio import AudioError, render_wav

        try:
            print(f"wrote {render_wav(out, out.with_suffix('.wav'))}")
        except AudioError as err:
            print_error(f"no WAV for {out.name}: {err}")
            status = 1
    return status


def companions(out: Path, keep: Iterable[Path] = ()) -> dict[Path, tuple[int, int]]:
    """The companions of the MIDI file `out` written with it, each with its identity.

    A companion (`COMPANIONS`: ``NAME.png``, ``.wav``, ``.musicxml``) counts when
    it was last written within `WRITTEN_WITH` seconds after `out` (as generate
    writes them): a file of that name written another time, by someone else, is
    not `out`'s. None counts when `out` does not exist, nor any file in `keep`
    (a file this run reads, such as its ``--prime``). The identity (inode,
    modification time in ns) changes when a file is written again: `remove_stale`
    compares it.

    Examples:
        >>> companions(Path("no/such/folder/song.mid"))
        {}
    """
    try:
        written = out.stat().st_mtime_ns
    except OSError:
        return {}  # a new file replaces nothing
    kept = {Path(k).resolve() for k in keep}
    found = {}
    for suffix in COMPANIONS:
        path = out.with_suffix(suffix)
        try:
            info = path.stat()
        except OSError:
            continue
        after = (info.st_mtime_ns - written) / 1e9
        if path.is_file() and path.resolve() not in kept and -1.0 <= after <= WRITTEN_WITH:
            found[path] = (info.st_ino, info.st_mtime_ns)
    return found


def remove_stale(before: dict[Path, tuple[int, int]]) -> list[Path]:
    """Remove the companions of `before` (from `companions`) not written since; the removed.

    A file that is gone already, or cannot be removed, is left out of the list.
    """
    removed = []
    for path, identity in before.items():
        try:
            if (path.stat().st_ino, path.stat().st_mtime_ns) != identity:
                continue  # written again by this run
            path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def removed_line(removed: list[Path]) -> str | None:
    """The line that says which stale companions were removed, or None for none.

    Examples:
        >>> removed_line([Path("x.png"), Path("x.wav")])
        'removed x.png, x.wav: drawn for the piece this run replaced'
        >>> removed_line([Path("a-1.png"), Path("a-2.png")])
        'removed a-1.png, a-2.png: drawn for the pieces this run replaced'
    """
    if not removed:
        return None
    stems = {path.stem for path in removed}
    what = "the piece" if len(stems) == 1 else "the pieces"
    return f"removed {', '.join(str(p) for p in removed)}: drawn for {what} this run replaced"


def summary(music: Any, quarters: float) -> str:
    """``66 notes and chords, 8 bars of 4/4 (32.0 quarter lengths, 16.0 s at 120 bpm)``.

    A band's notes are counted per track, named as the MIDI file names it
    (``Violin: 32, Violin 2: 34, Viola: 32, Cello: 34, ...``).
    """
    from musegen._metre import bar_length
    from musegen.io._channels import track_names

    if hasattr(music, "tracks"):
        names = track_names([(t.name, t.program, t.is_drum) for t in music.tracks])
        what = ", ".join(
            f"{name}: {len(t.piece.notes)}" for name, t in zip(names, music.tracks, strict=True)
        )
    else:
        what = f"{len(music.notes)} notes and chords"
    bars = round(quarters / bar_length(music.time_signature), 2)
    return (
        f"{what}, {bars:g} bar{'' if bars == 1 else 's'} of {music.time_signature} "
        f"({quarters:.1f} quarter lengths, {quarters * 60 / music.tempo:.1f} s "
        f"at {music.tempo:g} bpm)"
    )

"""What both MIDI readers share: the error, the cheap structure check, chord grouping.

A private leaf module (it imports no other reader), so that `musegen.midi_io`
and `musegen.midi_fast` need not import each other.
"""

from __future__ import annotations

import os
from pathlib import Path

from musegen.events import Event

_EPS = 1e-6

MAX_QUARTER_LENGTH = 10_000.0
"""Longest track `read_midi` accepts, in quarter notes (83 minutes at 120 bpm).

Longer files are refused before music21 translates them: its time grows faster
than the length, so a corrupt delta time could keep it busy for hours.
"""


class MidiReadError(Exception):
    """A file could not be read as music; `path` and `reason` say which and why.

    Examples:
        >>> str(MidiReadError("song.mid", "not a MIDI file"))
        "cannot read 'song.mid': not a MIDI file"
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read {self.path!r}: {reason}")


def check_midi_header(file: Path) -> bytes:
    """Return the bytes after checking the chunks (music21 reads truncated files silently)."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise MidiReadError(file, "no such file") from None
    except OSError as err:
        raise MidiReadError(file, f"cannot open ({err.strerror or err})") from None
    if not data:
        raise MidiReadError(file, "empty file")
    if not data.startswith(b"MThd"):
        raise MidiReadError(file, "not a MIDI file (no 'MThd' header)")
    if len(data) < 14:
        raise MidiReadError(file, "truncated MIDI header")
    header_length = int.from_bytes(data[4:8], "big")
    midi_format = int.from_bytes(data[8:10], "big")
    if midi_format not in (0, 1):
        raise MidiReadError(file, f"MIDI format {midi_format} is not supported (only 0 and 1)")
    declared_tracks = int.from_bytes(data[10:12], "big")
    position, tracks = 8 + header_length, 0
    while tracks < declared_tracks:
        if position + 8 > len(data):
            raise MidiReadError(
                file, f"truncated: header declares {declared_tracks} tracks, file holds {tracks}"
            )
        length = int.from_bytes(data[position + 4 : position + 8], "big")
        if position + 8 + length > len(data):
            raise MidiReadError(
                file,
                f"truncated: a chunk at byte {position} declares {length} bytes, "
                f"{len(data) - position - 8} remain",
            )
        tracks += data[position : position + 4] == b"MTrk"
        position += 8 + length
    return data


def group_onsets(raw: list[tuple[float, float, tuple[int, ...], int]]) -> list[Event]:
    """Merge notes that start together into chords and fill silent gaps with rests."""
    groups: dict[float, list[tuple[float, tuple[int, ...], int]]] = {}
    onsets: dict[float, float] = {}
    for offset, duration, pitches, velocity in raw:
        key = round(offset, 6)
        onsets.setdefault(key, offset)
        groups.setdefault(key, []).append((duration, pitches, velocity))
    events: list[Event] = []
    sounding_until = 0.0
    for key in sorted(groups):
        offset, members = onsets[key], groups[key]
        if offset - sounding_until > _EPS:
            events.append(Event(sounding_until, offset - sounding_until))
        duration = max(m[0] for m in members)
        pitches = tuple(p for m in members for p in m[1])
        velocity = max(m[2] for m in members)
        events.append(Event(offset, duration, pitches, velocity))
        sounding_until = max(sounding_until, offset + duration)
    return events

"""What both MIDI readers share: the error, the cheap structure check, chord grouping.

A private leaf module (it imports no other reader), so that `musegen.io.reading`
and `musegen.io.midi_fast` need not import each other.
"""

from __future__ import annotations

import os
from operator import itemgetter
from pathlib import Path

import numpy as np

from musegen._metre import bar_length, parse_time_signature
from musegen._words import plural
from musegen.events import DEFAULT_VELOCITY, Event, trusted_event

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
    """Return the bytes after checking the header and the chunks.

    music21 reads truncated files silently; a file timed in SMPTE frames
    (which symusic and music21 refuse too) is refused in one line.
    """
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
    if data[12] & 0x80:  # the division is SMPTE frames, not ticks per quarter note
        raise MidiReadError(
            file,
            f"SMPTE time ({256 - data[12]} frames per second, {data[13]} ticks per frame) "
            "is not supported: only ticks per quarter note",
        )
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


def tempo_microseconds(payload: bytes) -> int | None:
    r"""Microseconds per quarter note of a set-tempo meta event's payload; None if it holds none.

    A tempo is three bytes and not 0 (which no player can play): a payload of
    another length or a tempo of 0 is malformed, and every reader skips it.

    Examples:
        >>> tempo_microseconds(bytes([0x07, 0xA1, 0x20])), tempo_microseconds(b"\x07")
        (500000, None)
    """
    if len(payload) != 3:
        return None
    return int.from_bytes(payload, "big") or None


def not_kept_line(counts: dict[str, int], files: int) -> str:
    """One line saying what reading `files` files did not keep, or "" when it kept everything.

    Examples:
        >>> not_kept_line({"pitch bend": 12, "sustain pedal message": 1}, 30)
        'read 30 files: 12 pitch bends and 1 sustain pedal message not kept'
    """
    said = [plural(count, what) for what, count in counts.items() if count]
    if not said:
        return ""
    listed = said[0] if len(said) == 1 else ", ".join(said[:-1]) + " and " + said[-1]
    return f"read {plural(files, 'file')}: {listed} not kept"


def add_counts(total: dict[str, int], counts: tuple[tuple[str, int], ...]) -> None:
    """Add (what, count) pairs to `total`, in place."""
    for what, count in counts:
        total[what] = total.get(what, 0) + count


def group_onsets(raw: list[tuple[float, float, tuple[int, ...], int]]) -> list[Event]:
    """Merge notes that start together into chords and fill silent gaps with rests.

    `raw` holds (offset, duration, pitches, velocity) records with times >= 0 and
    MIDI velocities; a chord takes the longest duration and the loudest velocity.
    """
    records = sorted(raw, key=itemgetter(0))  # stable: the readers' order within an onset
    if not records:
        return []
    offsets = np.array([r[0] for r in records], dtype=np.float64)
    keys = np.round(offsets * 1e6)  # microquarters: offsets this close start together
    firsts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    onsets = offsets[firsts]
    durations = np.maximum.reduceat(np.array([r[1] for r in records], dtype=np.float64), firsts)
    loudest = np.maximum.reduceat(np.array([r[3] for r in records], dtype=np.int64), firsts)
    # what sounds until each onset: the latest end before it, from time 0
    sounding = np.maximum.accumulate(np.concatenate(([0.0], onsets + durations)))[:-1]
    events: list[Event] = []
    append = events.append
    ends = [*firsts[1:].tolist(), len(records)]
    for first, end, offset, duration, velocity, before in zip(
        firsts.tolist(),
        ends,
        onsets.tolist(),
        durations.tolist(),
        np.clip(loudest, 0, 127).tolist(),
        sounding.tolist(),
        strict=True,
    ):
        if end - first == 1:
            pitches = records[first][2]
            if len(pitches) > 1:
                pitches = tuple(sorted(set(pitches)))
        else:
            pitches = tuple(sorted({p for record in records[first:end] for p in record[2]}))
        if offset - before > _EPS:
            append(trusted_event(before, offset - before, (), DEFAULT_VELOCITY))
        append(trusted_event(offset, duration, pitches, velocity))
    return events


def read_pickup(
    time_signature: str, changes: tuple[tuple[float, str], ...]
) -> tuple[str, tuple[tuple[float, str], ...], float]:
    """The metre map of a MIDI file with its pickup: (time signature, changes, pickup).

    MIDI has no pickup: a file writes one as a short first metre, one bar long,
    then the piece's metre. So a first metre that lasts exactly one of its own
    bars and is shorter than the bar of the metre after it is read as a pickup
    of that length in the metre after it; any other map is returned as it is,
    with pickup 0.

    Args:
        time_signature: The metre at the start.
        changes: (offset in quarter notes, metre) after the start, in time order.

    Examples:
        >>> read_pickup("1/4", ((1.0, "4/4"), (9.0, "3/4")))
        ('4/4', ((9.0, '3/4'),), 1.0)
        >>> read_pickup("2/4", ((4.0, "4/4"),))  # two bars of 2/4: no pickup
        ('2/4', ((4.0, '4/4'),), 0.0)
    """
    if changes:
        at, following = changes[0]
        try:
            first, bar = bar_length(time_signature), bar_length(following)
        except ValueError:
            return time_signature, changes, 0.0
        if abs(at - first) < _EPS and first < bar - _EPS:
            return following, changes[1:], float(at)
    return time_signature, changes, 0.0


def pickup_metre(pickup: float, time_signature: str) -> str | None:
    """The short first metre a MIDI file writes a pickup as, or None when MIDI holds none.

    The pickup's length over the denominator of `time_signature`, else over
    the next powers of two up to 64: the first that gives a whole numerator
    (1..255). A pickup of 0, or not shorter than a bar, needs no such metre: None.

    Examples:
        >>> pickup_metre(1.0, "4/4"), pickup_metre(1.5, "3/4"), pickup_metre(1.0, "6/8")
        ('1/4', '3/8', '2/8')
        >>> pickup_metre(0.0, "4/4") is None, pickup_metre(0.1, "4/4") is None
        (True, True)
    """
    try:
        bar = bar_length(time_signature)
        denominator = int(parse_time_signature(time_signature).partition("/")[2])
    except ValueError:
        return None
    if not _EPS < pickup < bar - _EPS:
        return None
    candidates = [denominator, *(2**k for k in range(7) if 2**k > denominator)]
    for candidate in candidates:
        numerator = pickup * candidate / 4
        if abs(numerator - round(numerator)) < _EPS and 1 <= round(numerator) <= 255:
            return f"{round(numerator)}/{candidate}"
    return None

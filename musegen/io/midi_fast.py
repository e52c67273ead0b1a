"""Read MIDI files into `Piece` objects fast, without building music21 streams.

`read_midi_fast` gives the same `Piece` as ``reading.read_midi(path)`` (music21's
stream path) about a hundred times faster: it reads the raw events itself and
repeats, step by step, what music21's MIDI translation does to them before
`musegen.io.reading` turns the stream into events:

1. pair each note-on with the next note-off of its pitch and channel;
2. group notes of one track that start less than a sixteenth apart and end
   together into chords (a chord takes its last note's timing, as in music21);
3. quantize onsets and durations to sixteenths or eighth-note triplets
   (quarter-length divisors 4 and 3), durations towards the next onset;
4. merge every part's notes that start together into one event (the longest
   duration, the loudest velocity) and fill silent gaps with rests.

Percussion (MIDI channel 10) never gives notes, as in music21. See
``docs/performance.md`` for the measured speed and the parity check.
"""

from __future__ import annotations

import bisect
import itertools
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from musegen.events import Piece
from musegen.io._instruments import (
    apply_sustain,
    changes,
    grid_times,
    instrument_parts,
    key_name,
    note_events,
    program_timeline,
)
from musegen.io._midi_common import (
    MAX_QUARTER_LENGTH,
    MidiReadError,
    check_midi_header,
    group_onsets,
    read_pickup,
    tempo_microseconds,
)
from musegen.io.tracks import Score, Track

__all__ = ["read_midi_fast", "read_symusic", "read_tracks_fast"]

_DIVISORS = (4, 3)  # music21's default quantization: sixteenths and eighth-note triplets
_GRID = 12  # quantized times are whole twelfths of a quarter note
_DRUM_CHANNEL = 10  # 1-based, as music21 counts
_MAX_BEAT_POWER = 7  # music21 refuses metres with beats shorter than a 128th


@dataclass
class _Track:
    """The events of one MIDI track that the translation uses, times in ticks."""

    notes: list[int] = field(default_factory=list)
    """Tick, pitch, channel, velocity of each note-on and note-off, flat; velocity 0 is an off."""
    meta_ticks: list[int] = field(default_factory=list)
    """Ticks of the events music21 keeps as stream elements (tempo, metre, key, instrument)."""
    tempos: list[tuple[int, float]] = field(default_factory=list)
    signatures: list[tuple[int, str]] = field(default_factory=list)
    length: int = 0
    program_changes: list[tuple[int, int, int]] = field(default_factory=list)
    """Tick, channel (1-based) and program of each program change."""
    bends: int = 0
    """Pitch-bend messages (not kept)."""
    controllers: dict[int, int] = field(default_factory=dict)
    """Messages per controller number (not kept)."""
    keys: list[tuple[int, int, int]] = field(default_factory=list)
    """Tick, sharps (negative: flats) and minor (1) or major (0) of each key signature."""
    pedal: list[tuple[int, int, int]] = field(default_factory=list)
    """Tick, channel (1-based) and value of each sustain-pedal message (controller 64)."""
    name: str = ""
    """The track name (meta event 0x03), if any."""
    invalid_tempos: int = 0
    """Set-tempo meta events of tempo 0 or not three bytes long (skipped)."""
    microseconds: list[tuple[int, int]] = field(default_factory=list)
    """Tick and microseconds per quarter note of each valid tempo, as the file holds it."""


def read_midi_fast(
    path: str | os.PathLike[str], *, parts: str = "all", drop_drums: bool = True
) -> Piece:
    """Read a MIDI file into a `Piece`, as `read_midi` does with the same arguments, but fast.

    Args:
        path: The MIDI file.
        parts: ``"all"`` merges every track that has notes; ``"first"`` keeps the
            first such track (music21's ``partitionByInstrument``, which
            ``read_midi`` uses for ``"first"``, can merge tracks that share an
            instrument: there the two differ).
        drop_drums: Leave out the notes on MIDI channel 10 (percussion); False
            keeps them as notes of their key numbers.

    Returns:
        The piece; it has no events when the file holds no pitched notes.

    Raises:
        MidiReadError: the file is missing, empty, not MIDI, corrupt (a data
            byte above 127, as in mido and symusic, included), or timed in
            SMPTE frames.

    Examples:
        >>> from musegen import datasets
        >>> piece = read_midi_fast(datasets.path("skuli") / "8.mid")
        >>> piece.events[0]
        Event(offset=0.0, duration=2.0, pitches=(36, 64, 72), velocity=110)
    """
    return _read_counted(path, parts=parts, drop_drums=drop_drums)[0]


def _read_counted(
    path: str | os.PathLike[str], *, parts: str = "all", drop_drums: bool = True
) -> tuple[Piece, tuple[tuple[str, int], ...]]:
    """`read_midi_fast`, and what the piece does not hold, counted (as `Score.not_kept`)."""
    if parts not in ("all", "first"):
        raise ValueError(f"parts must be 'all' or 'first', got {parts!r}")
    file, tpq, tracks = _read(path)
    raw: list[tuple[float, float, tuple[int, ...], int]] = []
    parts_, tempo, signature = _note_tracks(tracks, tpq)
    for track, meter in parts_[:1] if parts == "first" else parts_:
        raw += _track_notes(track, meter, tpq, drop_drums)
    metre, metre_changes, pickup = _metre_map(tracks, tpq, signature or "4/4")
    piece = Piece(
        tuple(group_onsets(raw)),
        tempo=tempo if tempo else 120.0,
        time_signature=metre,
        source=file.name,
        time_signature_changes=metre_changes,
        pickup=pickup,
    )
    return piece, _not_kept(tracks, drums=not drop_drums)


def _metre_map(
    tracks: list[_Track], tpq: int, signature: str
) -> tuple[str, tuple[tuple[float, str], ...], float]:
    """The file's metre map from `signature` on: (time signature, changes, pickup).

    The changes are every track's time signatures where the metre changes
    (on the grid of the notes); a short first metre of one bar is the pickup
    (`read_pickup`), when the file states it at its start: a file whose first
    metre comes later begins in 4/4 by MIDI's default, a whole bar.
    """
    marks = [m for t in tracks for m in t.signatures]
    found = changes(marks, tpq, signature)
    if not any(tick == 0 for tick, _ in marks):
        return signature, found, 0.0
    return read_pickup(signature, found)


def read_tracks_fast(path: str | os.PathLike[str], *, sustain: bool = False) -> Score:
    """Read a MIDI file into a `Score`: a `Track` per instrument, as a player hears the file.

    An instrument is a (channel, program) of a track of the file: a note's
    program is the last program change on its channel at or before it,
    wherever in the file that change sits (often in the first, "conductor"
    track); a track that plays on several channels, or changes program, gives
    a `Track` for each, in the order they first sound; a format-0 file (one
    track) gives a track per channel. Notes on channel 10 are drums, their
    program the kit's. Each note's onset and end go to the nearest sixteenth
    or eighth-note triplet, each note keeps its own velocity (a chord of mixed
    velocities is an event per velocity, at one onset), and rests fill the
    gaps. The tempo map, the metre changes and the key signatures are kept
    (`Score.tempo_changes`, `Score.time_signature_changes`,
    `Score.key_signatures`); a short first metre of one bar (how MIDI writes
    a pickup) is read as `Score.pickup` in the metre after it, and each
    track's piece carries the metre map too. `write_midi` writes the score back as it is read here.

    Args:
        path: The MIDI file.
        sustain: Lengthen the notes the sustain pedal (controller 64) holds, as
            ``note_seq.apply_sustain_control_changes`` does; False (default)
            keeps each note as long as its key is held.

    What the score does not hold (pitch bends, controllers, the sustain pedal
    unless `sustain`, invalid tempos of 0 or of a malformed meta event, which
    are skipped, and notes never switched off, which are dropped as symusic
    and pretty_midi drop them) is counted in `Score.not_kept`.

    Raises:
        MidiReadError: the file is missing, empty, not MIDI, corrupt (a data
            byte above 127, as in mido and symusic, included), or timed in
            SMPTE frames.

    Examples:
        >>> from musegen import datasets
        >>> score = read_tracks_fast(datasets.path("skuli") / "8.mid")
        >>> for track in score.tracks:  # the notes each track sounds (chords counted by note)
        ...     print(track.name, track.program, sum(len(e.pitches) for e in track.piece.notes))
        Piano RH 0 174
        Piano LH 0 46
        Piano RH Echo 0 174
        Piano LH Echo 0 46
    """
    file, tpq, tracks = _read(path)
    timeline = program_timeline([t.program_changes for t in tracks])
    pedals: dict[int, list[tuple[int, int]]] = {}
    if sustain:
        for tick, channel, value in sorted(
            (m for t in tracks for m in t.pedal), key=lambda m: m[0]
        ):
            pedals.setdefault(channel, []).append((tick, value))
    out: list[Track] = []
    note_tracks, tempo, signature = _note_tracks(tracks, tpq)
    tempo, signature = tempo or 120.0, signature or "4/4"
    metre, metre_changes, pickup = _metre_map(tracks, tpq, signature)
    merged = 0
    for track, _ in note_tracks:
        for channel, program, notes in instrument_parts(_pair_notes(track.notes), timeline):
            if channel in pedals:
                notes = apply_sustain(notes, pedals[channel])
            events, lost = note_events(notes, tpq)
            merged += lost
            if events:
                piece = Piece(
                    tuple(events),
                    tempo=tempo,
                    time_signature=metre,
                    time_signature_changes=metre_changes,
                    pickup=pickup,
                )
                is_drum = channel == _DRUM_CHANNEL
                out.append(Track(piece, program=program, name=track.name, is_drum=is_drum))
    keys = [(tick, key_name(sharps, minor)) for t in tracks for tick, sharps, minor in t.keys]
    return Score(
        tuple(out),
        tempo=tempo,
        time_signature=metre,
        source=file.name,
        tempo_changes=changes([m for t in tracks for m in t.tempos], tpq, tempo),
        time_signature_changes=metre_changes,
        pickup=pickup,
        key_signatures=changes(keys, tpq, None),
        not_kept=(
            *_not_kept(tracks, maps=False, pedal=not sustain),
            *((("same-step re-strike", merged),) if merged else ()),
        ),
    )


def _not_kept(
    tracks: list[_Track], *, maps: bool = True, pedal: bool = True, drums: bool = True
) -> tuple[tuple[str, int], ...]:
    """What is read from `tracks` does not hold, counted (only what the file has).

    `maps`: tempo and metre changes and key signatures (which a `Piece` does
    not hold); `pedal`: the sustain pedal's messages; `drums`: count the
    unended notes of channel 10 too (else they are left out anyway). Invalid
    tempos (skipped) and notes never switched off (dropped, as symusic and
    pretty_midi drop them) are always counted.
    """
    controllers: dict[int, int] = {}
    for track in tracks:
        for number, count in track.controllers.items():
            controllers[number] = controllers.get(number, 0) + count
    counts = {
        "pitch bend": sum(t.bends for t in tracks),
        "sustain pedal message": sum(len(t.pedal) for t in tracks) if pedal else 0,
        "other controller message": sum(controllers.values()),
        "invalid tempo": sum(t.invalid_tempos for t in tracks),
        "unended note": sum(_unended(t.notes, None if drums else _DRUM_CHANNEL) for t in tracks),
    }
    if maps:
        counts["key signature"] = sum(len(t.keys) for t in tracks)
        counts["tempo change"] = _changes([t.tempos for t in tracks])
        counts["time signature change"] = _changes([t.signatures for t in tracks])
    return tuple((what, count) for what, count in counts.items() if count)


def _unended(notes: list[int], skip_channel: int | None) -> int:
    """Note-ons of a track's flat note list that no later note-off of their key and channel ends.

    `_pair_notes` drops them; those on `skip_channel` are not counted.
    """
    if not notes:
        return 0
    _, pitches, channels, velocities = np.array(notes, dtype=np.int64).reshape(-1, 4).T
    keys = pitches * 17 + channels  # data bytes are 0..127 (checked), channels 1..16
    index = np.arange(len(keys))
    is_off = velocities == 0
    last_off = np.full(128 * 17, -1)
    np.maximum.at(last_off, keys[is_off], index[is_off])
    unended = ~is_off & (index > last_off[keys]) & (channels != (skip_channel or 0))
    return int(np.count_nonzero(unended))


def _changes(marks: list[list[tuple[int, Any]]]) -> int:
    """How many times the value of (tick, value) marks of every track changes, in time order."""
    values = [value for _, value in sorted({mark for track in marks for mark in track})]
    return sum(a != b for a, b in itertools.pairwise(values))


def read_symusic(path: str | os.PathLike[str]) -> Any:
    """The file as a ``symusic.Score`` (ticks), checked and with its tempos as musegen reads them.

    For the work that keeps a file's every tick (`musegen.io.splice`, a prime's
    last tempo, rendering): a file the readers refuse raises the same
    `MidiReadError`, and the tempos of 0 and malformed tempo events they skip
    (which symusic reads as infinite or as a made-up tempo) are left out.

    Raises:
        MidiReadError: naming the file, for anything the readers refuse.

    Examples:
        >>> import pathlib, tempfile
        >>> from musegen.events import Event, Piece
        >>> from musegen.io.writing import write_midi
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.mid"
        >>> _ = write_midi(Piece((Event(0, 1, (60,)),), tempo=90), out)
        >>> [round(t.qpm) for t in read_symusic(out).tempos]
        [90]
    """
    import symusic

    file, _, tracks = _read(path)
    try:
        score: Any = symusic.Score(str(file))
    except Exception as err:  # symusic raises ValueError / RuntimeError for bad bytes
        raise MidiReadError(file, f"corrupt or unsupported MIDI data ({err})") from None
    if any(t.invalid_tempos for t in tracks):
        valid = sorted((m for t in tracks for m in t.microseconds), key=lambda m: m[0])
        score.tempos.clear()
        score.tempos.extend(symusic.Tempo(tick, 60_000_000 / mspq) for tick, mspq in valid)
    return score


def _read(path: str | os.PathLike[str]) -> tuple[Path, int, list[_Track]]:
    """The file, its ticks per quarter note and its tracks, checked."""
    file = Path(path)
    data = check_midi_header(file)
    try:
        tpq, tracks = _parse_file(data)
    except (IndexError, ValueError, ZeroDivisionError) as err:
        raise MidiReadError(
            file, f"corrupt or unsupported MIDI data ({err or 'truncated'})"
        ) from None
    if not tpq:
        raise MidiReadError(file, "header gives 0 ticks per quarter note")
    if not tracks:
        raise MidiReadError(file, "corrupt or unsupported MIDI data (no tracks)")
    longest = max(t.length for t in tracks) / tpq
    if longest > MAX_QUARTER_LENGTH:
        raise MidiReadError(
            file,
            f"a track lasts {longest:.0f} quarter notes, more than the {MAX_QUARTER_LENGTH:.0f} "
            "read_midi accepts (a corrupt delta time?)",
        )

    return file, tpq, tracks


def _note_tracks(
    tracks: list[_Track], tpq: int
) -> tuple[list[tuple[_Track, list[tuple[int, str]]]], float | None, str | None]:
    """The tracks with notes, each with its metre; the score's tempo and metre.

    Tracks without notes (a conductor track) lend their tempo and metre to the
    tracks after them, as music21 reads them; the first track with notes sets
    the tempo and the metre.
    """
    conductor = _Track()  # meta events of the tracks without notes read so far
    tempo: float | None = None
    signature: str | None = None
    found: list[tuple[_Track, list[tuple[int, str]]]] = []
    for track in tracks:
        if not any(track.notes[3::4]):  # no note-on
            conductor.tempos += track.tempos
            conductor.signatures += track.signatures
            continue
        if tempo is None:
            tempos = sorted(track.tempos + conductor.tempos, key=lambda item: item[0])
            tempo = tempos[0][1] if tempos else None
        meter = conductor.signatures or track.signatures
        if signature is None:
            signature = next((s for t, s in meter if _quantize(t / tpq) == 0), "4/4")
        found.append((track, meter))
    return found, tempo, signature


# -- the raw events ---------------------------------------------------------------------


def _parse_file(data: bytes) -> tuple[int, list[_Track]]:
    """Ticks per quarter note and the tracks of MIDI bytes (checked by `check_midi_header`)."""
    header_length = int.from_bytes(data[4:8], "big")
    declared = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    tpq = 0 if division & 0x8000 else division & 0x7FFF  # SMPTE time has no quarter notes
    tracks: list[_Track] = []
    position = 8 + header_length
    for _ in range(declared):
        if data[position : position + 4] != b"MTrk":
            raise ValueError(f"a chunk at byte {position} is not a track ('MTrk')")
        length = int.from_bytes(data[position + 4 : position + 8], "big")
        start = position + 8
        tracks.append(_parse_track(data, start, start + length))
        position = start + length
    return tpq, tracks


def _parse_track(data: bytes, position: int, end: int) -> _Track:
    """The events of one track chunk, read as music21 reads them (running status included)."""
    track = _Track()
    add_note = track.notes.extend
    tick = 0
    status = 0x90  # music21 assumes a note-on when a track opens with running status
    while position < end:
        delta = data[position]
        position += 1
        if delta & 0x80:  # a delta time of more than one byte
            delta &= 0x7F
            byte = 0x80
            while byte & 0x80:
                byte = data[position]
                position += 1
                delta = (delta << 7) | (byte & 0x7F)
        if position + 1 >= end:  # music21 drops a last event shorter than two bytes
            break
        tick += delta
        byte = data[position]
        if byte >= 0x80:
            position += 1
            if byte != 0xFF:
                status = byte
        else:
            byte = status
        if byte < 0xF0:  # a channel message: note on and off first, the most common
            kind = byte & 0xF0
            if kind == 0x90 or kind == 0x80:
                key, velocity = data[position], data[position + 1]
                if (key | velocity) & 0x80:
                    _bad_data_byte(data, position, 2)
                add_note((tick, key, (byte & 0x0F) + 1, velocity if kind == 0x90 else 0))
                position += 2
                continue
            if data[position] & 0x80 or (kind not in (0xC0, 0xD0) and data[position + 1] & 0x80):
                _bad_data_byte(data, position, 1 if kind in (0xC0, 0xD0) else 2)
            if kind == 0xC0:
                track.meta_ticks.append(tick)
                track.program_changes.append((tick, (byte & 0x0F) + 1, data[position]))
                position += 1
            elif kind == 0xB0:
                number = data[position]
                if number == 64:
                    track.pedal.append((tick, (byte & 0x0F) + 1, data[position + 1]))
                else:
                    track.controllers[number] = track.controllers.get(number, 0) + 1
                position += 2
            elif kind == 0xE0:
                track.bends += 1
                position += 2
            else:
                position += 1 if kind == 0xD0 else 2
            continue
        if byte == 0xFF:  # a meta event
            meta_type = data[position]
            length, position = _read_variable(data, position + 1)
            payload = data[position : position + length]
            position += length
            if meta_type == 0x51:
                mspq = tempo_microseconds(payload)
                if mspq is None:  # 0, or not three bytes: no tempo (reading.py skips it too)
                    track.invalid_tempos += 1
                    continue
                bpm = round(60_000_000 / mspq, 2)
                track.tempos.append((tick, 60 / (60 / bpm)))  # as music21's getQuarterBPM
                track.microseconds.append((tick, mspq))
                track.meta_ticks.append(tick)
            elif meta_type == 0x58:
                if not payload[0] or payload[1] > _MAX_BEAT_POWER:
                    raise ValueError(f"time signature {payload[0]}/2**{payload[1]}")
                track.signatures.append((tick, f"{payload[0]}/{2 ** payload[1]}"))
                track.meta_ticks.append(tick)
            elif meta_type == 0x59:
                if len(payload) < 2:
                    raise ValueError("key signature shorter than 2 bytes")
                track.meta_ticks.append(tick)
                sharps = payload[0] - 256 if payload[0] > 127 else payload[0]
                track.keys.append((tick, sharps, payload[1]))
            elif meta_type in (0x03, 0x04):  # track name, instrument name
                track.meta_ticks.append(tick)
                if meta_type == 0x03 and not track.name:
                    track.name = payload.decode("latin-1").strip()
            continue
        if byte in (0xF0, 0xF7):  # system exclusive
            length, position = _read_variable(data, position)
            position += length
            continue
        raise ValueError(f"unknown MIDI event type {byte:#x}")
    track.length = tick
    return track


def _bad_data_byte(data: bytes, position: int, count: int) -> None:
    """Raise for the first of `count` data bytes at `position` that is above 127."""
    at = next(i for i in range(position, position + count) if data[i] & 0x80)
    raise ValueError(f"byte {data[at]} at offset {at} where a data byte (0..127) is expected")


def _read_variable(data: bytes, position: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = data[position]
        position += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, position


# -- music21's translation ----------------------------------------------------------------


def _track_notes(
    track: _Track, meter: list[tuple[int, str]], tpq: int, drop_drums: bool
) -> list[tuple[float, float, tuple[int, ...], int]]:
    """(offset, duration, pitches, velocity) per note of one part, as `reading` reads the stream.

    Notes are quantized, split at barlines into tied notes and joined again, as
    music21 and ``reading.piece_from_stream`` do: a tie continues only the note
    of its pitch that ends where the continuation starts.
    """
    onsets, ticks, pitches, velocities = _group_chords(
        _pair_notes(track.notes), tpq, _DRUM_CHANNEL if drop_drums else None
    )
    # each chord lasts until the next onset or stream element at most (music21's quantize)
    offsets = np.union1d(grid_times(np.array(track.meta_ticks, dtype=np.int64), tpq), onsets)
    following = np.searchsorted(offsets, onsets, side="right")
    last = len(offsets) - 1
    gaps = np.where(following <= last, offsets[np.minimum(following, last)] - onsets, -1)
    # lengths repeat: quantize each (length, gap) pair once; gap -1: no onset follows
    keys = (np.array(ticks, dtype=np.int64) << 24) | (gaps + 1)
    pairs, which = np.unique(keys, return_inverse=True)
    quantize = _quantize
    lengths = [
        quantize(t / tpq if t > 0 else 0.0, t == 0, g / _GRID if g >= 0 else None)
        for t, g in zip((pairs >> 24).tolist(), ((pairs & 0xFFFFFF) - 1).tolist(), strict=True)
    ]
    elements = [
        (onset, lengths[k], p, v)
        for onset, k, p, v in zip(onsets.tolist(), which.tolist(), pitches, velocities, strict=True)
        if p  # a chord with a percussion note is a stream element, but sounds not here
    ]
    until = max((o + d for o, d, _, _ in elements), default=0)
    starts = _barlines(meter, tpq, until)
    raw = _untied(elements, starts)
    return raw if raw is not None else _join_ties(_split_at_barlines(elements, starts))


def _barlines(meter: list[tuple[int, str]], tpq: int, until: int) -> list[int]:
    """Measure starts in twelfths up to `until`, as music21's ``makeMeasures`` lays them."""
    signatures = sorted(((_quantize(t / tpq), s) for t, s in meter), key=lambda m: m[0])
    if not signatures or signatures[0][0] != 0:
        signatures.insert(0, (0, "4/4"))
    starts = [0]
    index = 0
    while starts[-1] <= until:
        while index + 1 < len(signatures) and signatures[index + 1][0] <= starts[-1]:
            index += 1
        numerator, denominator = signatures[index][1].split("/")
        bar = int(numerator) * _GRID * 4 // int(denominator)
        starts.append(starts[-1] + max(bar, 1))
    return starts


_Segment = tuple[int, int, tuple[int, ...], tuple[int, ...], str | None]
"""(offset, length in twelfths, pitches, velocities, tie type) of a note or chord in a measure."""


def _untied(
    elements: list[tuple[int, int, tuple[int, ...], tuple[int, ...]]], starts: list[int]
) -> list[tuple[float, float, tuple[int, ...], int]] | None:
    """What `_join_ties` of `_split_at_barlines` gives, when cutting and joining change nothing.

    That is so when no pitch of a note that crosses a barline is struck again
    while that note lasts (nor twice in it, as a chord): each tied note then
    joins back into itself. Returns None when that is not so (or the
    onsets are out of order); the caller then cuts and joins.
    """
    raw: list[tuple[float, float, tuple[int, ...], int]] = []
    append = raw.append
    tied_until: dict[int, int] = {}  # pitch -> the latest end of a crossing note holding it
    latest_tie = -1  # the latest of those ends
    previous = 0
    following = 1  # starts[following]: the first barline after the onset
    for onset, length, pitches, velocities in elements:
        if onset < previous:
            return None
        previous = onset
        while starts[following] <= onset:
            following += 1
        end = onset + length
        if onset < latest_tie:
            for pitch in pitches:
                if onset < tied_until.get(pitch, -1):
                    return None  # a tie would be cut: see _join_ties
        if end <= starts[following]:  # the common case: within its measure
            append((onset / _GRID, length / _GRID, pitches, max(velocities)))
            continue
        if len(set(pitches)) < len(pitches):
            return None  # one pitch twice in a tied chord: cut as music21 does
        for pitch in pitches:
            tied_until[pitch] = max(end, tied_until.get(pitch, -1))
        latest_tie = max(latest_tie, end)
        last = starts[bisect.bisect_left(starts, end) - 1]  # the last barline crossed
        duration = last / _GRID + (end - last) / _GRID - onset / _GRID  # as _join_ties adds
        append((onset / _GRID, duration, pitches, max(velocities)))
    return raw


def _split_at_barlines(
    elements: list[tuple[int, int, tuple[int, ...], tuple[int, ...]]], starts: list[int]
) -> list[_Segment]:
    """The notes of a part in music21's flat order after ``makeMeasures`` and ``makeTies``.

    A note crossing a barline (`starts`: the measures' starts) is cut there; the
    rest goes, tied, to the start of the next measure, after the notes that start there.
    """
    measures: dict[int, tuple[list[_Segment], list[_Segment]]] = {}
    for offset, length, pitches, velocity in elements:
        number = bisect.bisect_right(starts, offset) - 1
        measures.setdefault(number, ([], []))[0].append((offset, length, pitches, velocity, None))
    flat: list[_Segment] = []
    number = 0
    while measures:
        if number not in measures:
            number += 1
            continue
        originals, carried = measures.pop(number)
        end = starts[number + 1]
        # music21's order: by offset, grace notes first, then by insertion (carried last)
        if carried or not all(segment[1] for segment in originals):
            originals = sorted(originals + carried, key=lambda item: (item[0], item[1] != 0))
        for segment in originals:
            offset, length, pitches, velocity, tie = segment
            if offset + length > end:
                flat.append((offset, end - offset, pitches, velocity, _TIE_OPEN[tie]))
                rest = (end, offset + length - end, pitches, velocity, "stop")
                measures.setdefault(number + 1, ([], []))[1].append(rest)
            else:
                flat.append(segment)
        number += 1
    return flat


_TIE_OPEN = {None: "start", "start": "start", "stop": "continue", "continue": "continue"}


def _join_ties(segments: list[_Segment]) -> list[tuple[float, float, tuple[int, ...], int]]:
    """Records for `group_onsets`: tied segments joined as ``reading.piece_from_stream`` does.

    A note or chord without a tie is one record (its loudest velocity: `group_onsets`
    takes the loudest of an onset anyway); tied notes are one record per pitch.
    """
    raw: list[tuple[float, float, tuple[int, ...], int]] = []
    # (pitch, where it ends, in twelfths) -> index in raw of the tied note a "stop" there continues
    open_ties: dict[tuple[int, int], int] = {}
    for onset, length, pitches, velocities, tie in segments:
        offset, duration = onset / _GRID, length / _GRID
        if tie is None:
            raw.append((offset, duration, pitches, max(velocities)))
            continue
        for pitch, velocity in zip(pitches, velocities, strict=True):
            if tie != "start":
                held = open_ties.pop((pitch, onset), None)
                if held is not None:
                    start = raw[held][0]
                    raw[held] = (start, offset + duration - start, *raw[held][2:])
                    if tie == "continue":
                        open_ties[(pitch, onset + length)] = held
                    continue
            raw.append((offset, duration, (pitch,), velocity))
            if tie == "start":
                open_ties[(pitch, onset + length)] = len(raw) - 1
    return raw


_Notes = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Paired notes as columns: on tick, off tick, pitch, channel, velocity."""


def _pair_notes(notes: list[int]) -> _Notes:
    """The notes of a track's flat note-on/off list, in the file's order of note-ons.

    Each note-on ends at the next note-off of its pitch and channel (so repeated
    note-ons share one note-off); a note-on that is never switched off is dropped,
    as symusic and pretty_midi drop it (`_unended` counts those).
    """
    ticks, pitches, channels, velocities = np.array(notes, dtype=np.int64).reshape(-1, 4).T
    count = len(ticks)
    keys = pitches * 17 + channels
    order = np.argsort(keys, kind="stable")  # each pitch and channel's events in file order
    keys = keys[order]
    is_off = velocities[order] == 0
    # in that order, the first note-off at or after each event (count: none)
    next_off = np.minimum.accumulate(np.where(is_off, np.arange(count), count)[::-1])[::-1]
    found = np.minimum(next_off, count - 1)
    paired = ~is_off & (next_off < count) & (keys[found] == keys)
    ons, offs = order[paired], order[found[paired]]
    by_onset = np.argsort(ons, kind="stable")
    ons, offs = ons[by_onset], offs[by_onset]
    return ticks[ons], ticks[offs], pitches[ons], channels[ons], velocities[ons]


def _group_chords(
    notes: _Notes, tpq: int, drums: int | None
) -> tuple[np.ndarray, list[int], list[tuple[int, ...]], list[tuple[int, ...]]]:
    """Onsets in twelfths, lengths in ticks, pitches and velocities of each note or chord.

    Notes starting less than a quantization step after a note and ending within
    a step of it join its chord, which takes its last note's length; a chord
    holding a percussion note is unpitched and has no pitches here. Notes are
    cut into runs wherever an onset comes a step or more after the one before;
    a run whose notes all join its first note is one chord, found at once, and
    only the other runs are grouped note by note.
    """
    starts, stops, pitches, channels, velocities = notes
    count = len(starts)
    if not count:
        return np.zeros(0, np.int64), [], [], []
    tolerance = tpq / max(_DIVISORS)
    bounds = np.concatenate(([0], np.flatnonzero(np.diff(starts) >= tolerance) + 1, [count]))
    firsts, sizes = bounds[:-1], np.diff(bounds)
    heads = np.repeat(firsts, sizes)
    joins = (starts - starts[heads] < tolerance) & (np.abs(stops - stops[heads]) <= tolerance)
    whole = np.logical_and.reduceat(joins, firsts)  # the run is one chord
    start, pitch, velocity = starts.tolist(), pitches.tolist(), velocities.tolist()
    ends, run_starts = bounds[1:].tolist(), firsts.tolist()
    # every run as one chord first, in one pass per column ...
    onsets = [start[first] for first in run_starts]
    lengths = (stops - starts)[bounds[1:] - 1].tolist()  # a chord takes its last note's
    chords = [
        (pitch[first],) if end - first == 1 else tuple(pitch[first:end])
        for first, end in zip(run_starts, ends, strict=True)
    ]
    # reading takes the louder of a note's velocity and its chord's (the rounded mean)
    means = np.round(np.add.reduceat(velocities, firsts) / sizes)
    loud = np.maximum(velocities, np.repeat(means, sizes)).astype(np.int64).tolist()
    loudness = [
        (loud[first],) if end - first == 1 else tuple(loud[first:end])
        for first, end in zip(run_starts, ends, strict=True)
    ]
    if drums is not None:
        for run in np.flatnonzero(np.logical_or.reduceat(channels == drums, firsts)).tolist():
            chords[run] = loudness[run] = ()
    # ... then the runs that are not one chord, grouped note by note, in their place
    for run in reversed(np.flatnonzero(~whole).tolist()):
        first, end = run_starts[run], ends[run]
        members = zip(
            start[first:end],
            stops[first:end].tolist(),
            pitch[first:end],
            channels[first:end].tolist(),
            velocity[first:end],
            strict=True,
        )
        grouped = _group_run(list(members), tolerance, drums)
        onsets[run : run + 1] = [chord[0] for chord in grouped]
        lengths[run : run + 1] = [chord[1] for chord in grouped]
        chords[run : run + 1] = [chord[2] for chord in grouped]
        loudness[run : run + 1] = [chord[3] for chord in grouped]
    return grid_times(np.array(onsets, dtype=np.int64), tpq), lengths, chords, loudness


def _chord_velocities(velocities: list[int]) -> tuple[int, ...]:
    """The stream path takes the louder of a note's velocity and its chord's (the mean)."""
    mean = round(sum(velocities) / len(velocities))
    return tuple([v if v > mean else mean for v in velocities])


def _group_run(
    notes: list[tuple[int, int, int, int, int]], tolerance: float, drums: int | None
) -> list[tuple[int, int, tuple[int, ...], tuple[int, ...]]]:
    """(onset tick, length in ticks, pitches, velocities) of the chords of one run, note by note."""
    taken: set[int] = set()
    out: list[tuple[int, int, tuple[int, ...], tuple[int, ...]]] = []
    for i, note in enumerate(notes):
        if i in taken:
            continue
        start, stop = note[0], note[1]
        members = [note]
        for j in range(i + 1, len(notes)):
            if notes[j][0] - start >= tolerance:  # onsets never decrease
                break
            if abs(notes[j][1] - stop) <= tolerance:
                members.append(notes[j])
                taken.add(j)
        starts, stops, pitches, channels, loudness = zip(*members, strict=True)
        if drums in channels:
            out.append((start, stops[-1] - starts[-1], (), ()))
        elif len(members) == 1:
            out.append((start, stop - start, pitches, loudness))
        else:
            out.append((start, stops[-1] - starts[-1], pitches, _chord_velocities(list(loudness))))
    return out


@lru_cache(maxsize=65536)
def _quantize(value: float, zero_allowed: bool = True, gap: float | None = None) -> int:
    """The nearest grid point to `value`, in twelfths, as music21's ``Stream.quantize`` picks it.

    Among sixteenths and
    triplet eighths, music21 prefers the point that fills the `gap` to the next
    onset, then the smaller error, then the finer grid.
    """
    best: tuple[float, float, float, float] | None = None
    for divisor in _DIVISORS:
        tick = 1 / divisor
        match, error = _nearest_multiple(value, tick)
        if not zero_allowed and match == 0.0:
            match, error = tick, abs(round(value - tick, 7))
        remaining = 0.0
        if gap is not None and gap % tick != 0:
            remaining = max(gap - match, 0.0)
        candidate = (remaining, error, tick, match)
        if best is None or candidate < best:
            best = candidate
    assert best is not None
    return round(best[3] * _GRID)


def _nearest_multiple(value: float, unit: float) -> tuple[float, float]:
    """The multiple of `unit` nearest to `value` (the lower on a tie) and the error."""
    low = unit * math.floor(value / unit)
    if low <= value <= low + unit / 2.0:
        return low, round(value - low, 7)
    high = unit * (math.floor(value / unit) + 1)
    return high, round(high - value, 7)

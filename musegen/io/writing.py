"""Write a `Piece` or a `Score` as a MIDI file, or as a music21 stream (MusicXML export)."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from musegen._files import atomic_write_bytes
from musegen._metre import parse_tempo, parse_time_signature
from musegen.events import Event, Piece
from musegen.io._channels import (
    Player,
    channel_plan,
    merge_message,
    set_channels,
    span,
    track_names,
)
from musegen.io._instruments import key_of_name
from musegen.io._midi_common import pickup_metre
from musegen.io.tracks import Score

__all__ = ["MidiWriteWarning", "piece_to_stream", "write_midi"]


class MidiWriteWarning(UserWarning):
    """`write_midi` could not keep every program apart: more sound at once than MIDI has channels.

    The message names each track written on another program's channel.

    Examples:
        >>> import warnings
        >>> warnings.simplefilter("error", MidiWriteWarning)  # make it an error instead
    """


TICKS_PER_QUARTER = 480
"""Resolution `write_midi` writes at: a whole number of ticks for sixteenths and triplets."""


def write_midi(piece: Piece | Score, path: str | os.PathLike[str], *, program: int = 0) -> Path:
    """Write a piece (one track) or a `Score` (a track each), atomically.

    No half-written file is left behind on an interrupt. A score's tracks keep
    their programs, names and each note's velocity; a score's tempo map and
    key signatures are written too, and the metre changes of a piece or a
    score. A pickup is written as MIDI files write one: a short first metre
    one bar long (a pickup of 1 quarter note in 4/4 as 1/4; see
    `musegen.io._midi_common.pickup_metre`), then the metre from the pickup's
    end; a pickup no such metre holds is not written. `read_midi` and
    `read_tracks` read it back as the pickup, and a score they read back the
    same. The bytes are written by symusic, their channels set with mido.

    Channels are laid out as a General MIDI player (and `read_tracks`) reads
    them, a program per channel: each pitched track gets a channel of its own
    (one of the 15 besides channel 10) and every drum track goes to channel
    10 with its kit's program, each kit in a MIDI track of its own. With more
    than 15 pitched tracks, the tracks of one program share a channel; with
    more than 15 pitched programs, a channel is used again by a program that
    starts after the last on it has stopped (its program change just before
    its first note). Programs that cannot be kept apart so (more than 15
    sounding at once, or drum kits of different programs at once) are written
    on the channel of the nearest program sounding then, and read and played
    with it: one `MidiWriteWarning` names those tracks and the program each took.

    A score's track named "" (or ``"p<program>"``, the name a token vocabulary
    gives a program) is written with its General MIDI instrument's name (``"Cello"``
    for program 42, ``"Drums"`` for a kit), a name already given or taken
    getting " 2", " 3" after it; other names are kept.

    Each tempo is written to the nearest whole microsecond per quarter note,
    and each time signature as MIDI holds it (``"3+2/8"`` as 5/8); a tempo or
    time signature MIDI cannot hold is refused before anything is written
    (see `musegen._metre.parse_tempo` and `parse_time_signature`).

    Args:
        piece: What to write; rests produce no sound, zero-length notes a
            note-on and its note-off at one time.
        path: Where to write.
        program: General MIDI program of a piece (0 is the acoustic grand piano).

    Returns:
        The path written.

    Raises:
        ValueError: a tempo outside 3.58 to 60,000,000 bpm (or not finite), a
            time signature other than N/D with N 1..255 and D a power of two
            1..128 (``"4/3"``, ``"300/4"``), or an unknown key; the file at
            `path`, if any, is left as it was.

    Examples:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "c.mid"
        >>> from musegen.io.reading import read_midi, read_tracks
        >>> _ = write_midi(Piece((Event(0, 1, (60, 64, 67), 81),)), out)
        >>> read_midi(out).events[0].pitches
        (60, 64, 67)
        >>> _ = write_midi(Piece((Event(0, 1, (67,)), Event(1, 4, (72,))), pickup=1.0), out)
        >>> back = read_midi(out)
        >>> back.time_signature, back.pickup, back.bar_lines()
        ('4/4', 1.0, [1.0])
        >>> from musegen.io.tracks import Track
        >>> line = Piece((Event(0, 1, (48,)),))
        >>> band = Score(tuple(Track(line, program=p) for p in (42, 42, 0)) + (
        ...     Track(line, name="p40", program=40), Track(line, name="kit", is_drum=True)))
        >>> [t.name for t in read_tracks(write_midi(band, out)).tracks]
        ['Cello', 'Cello 2', 'Acoustic Grand Piano', 'Violin', 'kit']
        >>> write_midi(Piece((Event(0, 1, (60,)),), tempo=0.5), out)
        Traceback (most recent call last):
        ...
        ValueError: tempo 0.5 bpm cannot be written to MIDI: MIDI holds 3.58 to 60000000 bpm
    """
    import symusic

    tempos: list[tuple[float, float]] = [(0.0, piece.tempo)]
    signatures = _signatures(piece.time_signature, piece.time_signature_changes, piece.pickup)
    keys: list[tuple[float, str]] = []
    if isinstance(piece, Score):
        tracks = [(t.piece, t.program, t.name, t.is_drum) for t in piece.tracks]
        tempos += piece.tempo_changes
        keys = list(piece.key_signatures)
    else:
        tracks = [(piece, program, "", False)]
    # checked before anything is built: MIDI holds them, or nothing is written
    tempos = [(at, parse_tempo(bpm)) for at, bpm in tempos]
    metres = [(at, parse_time_signature(s).partition("/")) for at, s in signatures]
    score: Any = symusic.Score(TICKS_PER_QUARTER)  # symusic's stubs name no attributes
    # symusic rounds to the nearest microsecond per quarter note
    score.tempos.extend(symusic.Tempo(_tick(at), bpm) for at, bpm in tempos)
    score.time_signatures.extend(
        symusic.TimeSignature(_tick(at), int(numerator), int(denominator))
        for at, (numerator, _, denominator) in metres
    )
    for at, key in keys:
        sharps, minor = key_of_name(key)
        score.key_signatures.append(symusic.KeySignature(_tick(at), sharps, minor))
    names = (  # a piece's one track stays unnamed, as before: music21 reads a named track's
        # name as a second instrument (and its first-part reading of the file as empty)
        track_names([(name, number, is_drum) for _, number, name, is_drum in tracks])
        if isinstance(piece, Score)
        else [""]
    )
    players: list[Player] = []
    for (events, number, _, is_drum), name in zip(tracks, names, strict=True):
        track: Any = symusic.Track(name=name, program=number, is_drum=is_drum)
        notes = [  # velocity 0 would be a note-off: 1, the softest
            (_tick(start), _tick(start + length) - _tick(start), pitch, max(1, v))
            for start, length, pitch, v in _note_spans(events)
        ]
        track.notes.extend(symusic.Note(*note) for note in notes)
        score.tracks.append(track)
        players.append(Player(name, number, is_drum, span(notes)))
    if not tracks:  # symusic 0.6 writes the maps of a score with no track unsorted
        score.tracks.append(symusic.Track())
    plan, merged = channel_plan(players)
    if merged:
        warnings.warn(merge_message(merged, players), MidiWriteWarning, stacklevel=2)
    return atomic_write_bytes(path, set_channels(score.dumps_midi(), plan))


def _tick(time: float) -> int:
    return round(time * TICKS_PER_QUARTER)


def _signatures(
    time_signature: str, changes: tuple[tuple[float, str], ...], pickup: float
) -> list[tuple[float, str]]:
    """The (offset, metre) a MIDI file writes for a metre map: a pickup as a short first metre.

    A pickup is written as one bar of `pickup_metre` and the metre from the
    pickup's end on, when MIDI holds such a metre and no change comes at or
    before that end; else the metre from 0 (the pickup is then not kept).

    Examples:
        >>> _signatures("4/4", ((9.0, "3/4"),), 1.0)
        [(0.0, '1/4'), (1.0, '4/4'), (9.0, '3/4')]
        >>> _signatures("4/4", (), 0.1)
        [(0.0, '4/4')]
    """
    later = [(float(at), s) for at, s in changes if at > 0]
    short = pickup_metre(pickup, time_signature)
    if short is not None and all(at > pickup + 1e-9 for at, _ in later):
        return [(0.0, short), (float(pickup), time_signature), *later]
    return [(0.0, time_signature), *later]


def piece_to_stream(piece: Piece | Score, *, program: int = 0) -> Any:
    """`piece` as a music21 ``Part``: chords, voices, tempo and metre, as music21 reads it back.

    For a score to read (a title, the key signature, pitches spelt in the key,
    staves from the range, a part per track) use
    `musegen.io.notation.write_musicxml` or `to_notation`; a `Score` given
    here is `to_notation`'s.

    The inverse of `piece_from_stream`. Each event is one ``Chord`` (a ``Note``
    for one pitch) with its velocity. Events that overlap go to voices of their
    own (music21 ``Voice`` objects); each voice is filled with rests (hidden
    but in the first), so bars add up to the metre. The metre changes are
    time signatures where they start. A piece with a pickup comes in measures
    (music21's ``makeNotation``), the pickup a short measure 0 (with
    ``paddingLeft``) so that measure 1 starts where the pickup ends, as
    notation shows it. Use music21's own tools on it: ``.show()`` for
    notation, ``.write("musicxml", path)`` (`read_tracks` reads the file back
    as the same events and metre map), analysis (``.analyze("key")``).

    Args:
        piece: The piece.
        program: General MIDI program of the part's instrument (0: piano).

    Examples:
        >>> piece = Piece((Event(0, 2, (60, 64), 90), Event(1, 1, (72,)), Event(2, 2, (62,))))
        >>> from musegen.io.reading import piece_from_stream
        >>> part = piece_to_stream(piece)
        >>> for voice in part.voices:  # a rest has no pitches
        ...     print([(n.offset, [p.nameWithOctave for p in n.pitches]) for n in voice])
        [(0.0, ['C4', 'E4']), (2.0, ['D4'])]
        [(0.0, []), (1.0, ['C5']), (2.0, [])]
        >>> piece_from_stream(part).events == piece.events
        True
        >>> [p.midi for p in piece_to_stream(Piece((Event(0, 1, (0, 11)),))).notes[0].pitches]
        [0, 11]
        >>> upbeat = Piece((Event(0, 1, (67,)), Event(1, 4, (72,))), pickup=1.0)
        >>> [(m.number, m.offset) for m in piece_to_stream(upbeat).getElementsByClass("Measure")]
        [(0, 0.0), (1, 1.0)]
    """
    from music21 import chord, note, pitch

    if isinstance(piece, Score):
        from musegen.io.notation import to_notation

        return to_notation(piece)

    def pitches(numbers: tuple[int, ...]) -> list[Any]:  # Pitch(n) reads n < 12 as C4..B4
        made = []
        for number in numbers:
            made.append(pitch.Pitch())
            made[-1].midi = number
        return made

    def element(event: Event) -> Any:
        made = (
            note.Note(pitches(event.pitches)[0], quarterLength=event.duration)
            if len(event.pitches) == 1
            else chord.Chord(pitches(event.pitches), quarterLength=event.duration)
        )
        made.volume.velocity = event.velocity
        return made

    part = _part(piece, program)
    voices = _voices(piece.notes)
    last_end = max((v[-1].offset + v[-1].duration for v in voices), default=0.0)
    _fill_voices(part, voices, _bar_end(part, last_end), element)
    metres = _signatures(piece.time_signature, piece.time_signature_changes, piece.pickup)
    if metres[0][1] != piece.time_signature:  # a pickup, as a short first metre
        return _with_pickup(part)
    return part


def _fill_voices(
    part: Any, voices: list[list[Event]], end: float, element: Callable[[Event], Any]
) -> list[Any]:
    """Each voice's events into `part` (into music21 voices of it when there are several).

    Rests fill the gaps and run to `end` (the last bar line); only the first
    voice's rests are drawn. `element` makes the music21 note of an event.
    Returns where each voice went (`part` itself for a single voice).
    """
    from music21 import note, stream

    targets = []
    for number, events in enumerate(voices):
        target = stream.Voice() if len(voices) > 1 else part

        def rest(length: float, hidden: bool = number > 0) -> Any:
            made = note.Rest(quarterLength=length)
            made.style.hideObjectOnPrint = hidden
            return made

        at = 0.0
        for event in events:
            if event.offset > at + 1e-9:
                target.insert(at, rest(event.offset - at))
            target.insert(event.offset, element(event))
            at = event.offset + event.duration
        if end > at + 1e-9:
            target.insert(at, rest(end - at))
        if target is not part:
            part.insert(0, target)
        targets.append(target)
    return targets


def _bar_end(part: Any, end: float) -> float:
    """The first bar line at or after `end`, by the time signatures of `part` (4/4 if none)."""
    from music21 import meter

    marks = [
        (float(t.offset), float(t.barDuration.quarterLength))
        for t in part.getElementsByClass(meter.TimeSignature)
    ] or [(0.0, 4.0)]
    at = 0.0
    for i, (start, bar) in enumerate(marks):
        at = max(at, start)
        stop = marks[i + 1][0] if i + 1 < len(marks) else math.inf
        while at < min(end, stop) - 1e-9:
            at += bar
        if at >= end - 1e-9:
            break
    return max(at, end)


def _with_pickup(part: Any) -> Any:
    """`part` in measures, its short first metre made a pickup: measure 0 with ``paddingLeft``.

    `part` starts with a short metre one bar long and the piece's metre after
    it; music21 lays the measures (``makeNotation``: ties, beams), then the
    first measure becomes measure 0 in the piece's metre, padded on the left,
    so that measure 1 starts where the pickup ends.
    """
    from music21 import stream

    measured = part.makeNotation()
    measures = list(measured.getElementsByClass(stream.Measure))
    if len(measures) < 2 or measures[1].timeSignature is None:
        return measured
    first, second = measures[0], measures[1]
    signature = second.timeSignature
    second.remove(signature)
    if first.timeSignature is not None:
        first.remove(first.timeSignature)
    first.insert(0, signature)
    first.paddingLeft = float(signature.barDuration.quarterLength - first.highestTime)
    for measure in measures:
        measure.number -= 1
    return measured


def _part(piece: Piece, program: int) -> Any:
    """An empty music21 ``Part`` with the instrument, tempo and metre of `piece`."""
    from music21 import instrument, meter, stream, tempo

    part = stream.Part()
    part.insert(0, instrument.instrumentFromMidiProgram(program))
    part.insert(0, tempo.MetronomeMark(number=piece.tempo))
    for at, text in _signatures(piece.time_signature, piece.time_signature_changes, piece.pickup):
        try:
            part.insert(at, meter.TimeSignature(text))
        except Exception:  # an unusual metre string: keep music21's default
            pass
    return part


def _voices(events: Iterable[Event]) -> list[list[Event]]:
    """The sounding `events` (zero-length ones left out) in voices that each follow one another.

    An event goes to the first voice that has stopped sounding by its onset.
    """
    voices: list[list[Event]] = []
    for event in sorted(events, key=lambda e: e.offset):
        if event.duration <= 0:
            continue
        for voice in voices:
            last = voice[-1]
            if last.offset + last.duration <= event.offset + 1e-9:
                voice.append(event)
                break
        else:
            voices.append([event])
    return voices


def _note_spans(piece: Piece) -> list[tuple[float, float, int, int]]:
    """One (offset, duration, pitch, velocity) per note of `piece`, as MIDI can hold it.

    MIDI ends every sounding note of a pitch at its next note-off: overlapping
    notes of one pitch that end together are kept as they are (two note-ons,
    then the note-offs), and where they end apart the earlier note is cut
    where the pitch starts again (and left out if nothing of it remains).
    Zero-length notes are kept.
    """
    spans: list[tuple[float, float, int, int]] = []
    cut: set[int] = set()
    last_index: dict[int, int] = {}
    for event in piece.notes:
        for pitch in event.pitches:
            previous = last_index.get(pitch)
            if previous is not None:
                start, length, _, velocity = spans[previous]
                end = start + length
                if end > event.offset + 1e-9 and abs(end - event.end) > 1e-9:
                    spans[previous] = (start, event.offset - start, pitch, velocity)
                    cut.add(previous)
            last_index[pitch] = len(spans)
            spans.append((event.offset, event.duration, pitch, event.velocity))
    return [span for i, span in enumerate(spans) if span[1] > 1e-9 or i not in cut]

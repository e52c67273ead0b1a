"""Write a `Piece` or a `Score` as a MIDI file, or as a music21 stream (MusicXML export)."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from musegen._files import atomic_write_bytes
from musegen.events import Event, Piece
from musegen.io.tracks import Score

__all__ = ["piece_to_stream", "write_midi"]


def write_midi(piece: Piece | Score, path: str | os.PathLike[str], *, program: int = 0) -> Path:
    """Write a piece (one track) or a `Score` (a track each), atomically.

    No half-written file is left behind on an interrupt. A score's tracks keep
    their programs and names; drum tracks go to channel 10. `read_tracks`
    reads them back.

    Args:
        piece: What to write; rests and zero-length events produce no sound.
        path: Where to write.
        program: General MIDI program of a piece (0 is the acoustic grand piano).

    Returns:
        The path written.

    Examples:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "c.mid"
        >>> from musegen.io.reading import read_midi
        >>> _ = write_midi(Piece((Event(0, 1, (60, 64, 67), 81),)), out)
        >>> read_midi(out).events[0].pitches
        (60, 64, 67)
    """
    from music21 import instrument, midi, stream

    if isinstance(piece, Score):
        whole = stream.Score()
        for track in piece.tracks:
            part = _midi_part(
                replace(track.piece, tempo=piece.tempo, time_signature=piece.time_signature),
                track.program,
            )
            if track.is_drum:  # a kit on channel 10 (0-based 9); music21 maps channels by
                part.remove(part.getInstrument())  # program, so it gets none (the GM kit)
                kit = instrument.Percussion()
                kit.midiChannel, kit.midiProgram = 9, None
                part.insert(0, kit)
            part.getInstrument().partName = track.name or track.family
            whole.insert(0, part)
        data = midi.translate.streamToMidiFile(whole).writestr()
    else:
        data = midi.translate.streamToMidiFile(_midi_part(piece, program)).writestr()
    return atomic_write_bytes(path, data)


def piece_to_stream(piece: Piece, *, program: int = 0) -> Any:
    """`piece` as a music21 ``Part`` for notation: chords, voices, tempo and metre.

    The inverse of `piece_from_stream`. Each event is one ``Chord`` (a ``Note``
    for one pitch) with its velocity. Events that overlap go to voices of their
    own (music21 ``Voice`` objects); each voice is filled with rests (hidden
    but in the first), so bars add up to the metre. Use music21's own tools on it: ``.show()`` for
    notation, ``.write("musicxml", path)`` (`read_tracks` reads the file back
    as the same events), analysis (``.analyze("key")``).

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
    """
    from music21 import chord, meter, note, stream

    part = _part(piece, program)
    signatures = part.getElementsByClass(meter.TimeSignature)
    bar = float(signatures[0].barDuration.quarterLength) if signatures else 4.0
    voices = _voices(piece)
    last_end = max((v[-1].offset + v[-1].duration for v in voices), default=0.0)
    whole_bars = math.ceil(last_end / bar - 1e-9) * bar
    for number, events in enumerate(voices):
        voice = stream.Voice() if len(voices) > 1 else part

        def rest(length: float, hidden: bool = number > 0) -> Any:
            element = note.Rest(quarterLength=length)
            element.style.hideObjectOnPrint = hidden  # only the first voice's rests are drawn
            return element

        at = 0.0
        for event in events:
            if event.offset > at + 1e-9:
                voice.insert(at, rest(event.offset - at))
            element = (
                note.Note(event.pitches[0], quarterLength=event.duration)
                if len(event.pitches) == 1
                else chord.Chord(list(event.pitches), quarterLength=event.duration)
            )
            element.volume.velocity = event.velocity
            voice.insert(event.offset, element)
            at = event.offset + event.duration
        if whole_bars > at + 1e-9:  # rests to the end of the last bar
            voice.insert(at, rest(whole_bars - at))
        if voice is not part:
            part.insert(0, voice)
    return part


def _part(piece: Piece, program: int) -> Any:
    """An empty music21 ``Part`` with the instrument, tempo and metre of `piece`."""
    from music21 import instrument, meter, stream, tempo

    part = stream.Part()
    part.insert(0, instrument.instrumentFromMidiProgram(program))
    part.insert(0, tempo.MetronomeMark(number=piece.tempo))
    try:
        part.insert(0, meter.TimeSignature(piece.time_signature))
    except Exception:  # an unusual metre string: keep music21's default
        pass
    return part


def _voices(piece: Piece) -> list[list[Event]]:
    """The sounding events of `piece` in voices: each voice's events follow one another.

    An event goes to the first voice that has stopped sounding by its onset.
    """
    voices: list[list[Event]] = []
    for event in sorted(piece.notes, key=lambda e: e.offset):
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


def _midi_part(piece: Piece, program: int) -> Any:
    """`piece` as a music21 ``Part`` of single notes for `write_midi` (see `_note_spans`)."""
    from music21 import note

    part = _part(piece, program)
    for offset, duration, pitch, velocity in _note_spans(piece):
        element = note.Note(pitch, quarterLength=duration)
        element.volume.velocity = velocity
        part.insert(offset, element)
    return part


def _note_spans(piece: Piece) -> list[tuple[float, float, int, int]]:
    """One (offset, duration, pitch, velocity) per sounding note.

    A note is cut where the same pitch starts again: MIDI cannot hold two
    overlapping notes of one pitch.
    """
    spans: list[tuple[float, float, int, int]] = []
    last_index: dict[int, int] = {}
    for event in piece.events:
        if event.duration <= 0:
            continue
        for pitch in event.pitches:
            previous = last_index.get(pitch)
            if previous is not None:
                start, length, _, vel = spans[previous]
                if start + length > event.offset:
                    spans[previous] = (start, event.offset - start, pitch, vel)
            last_index[pitch] = len(spans)
            spans.append((event.offset, event.duration, pitch, event.velocity))
    return [s for s in spans if s[1] > 0]

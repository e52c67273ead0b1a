"""Read and write MIDI files, and load corpora, as `Piece` objects (through music21).

This is the only module that parses or writes music files. A file that cannot be
read raises `MidiReadError` naming the file and the cause; `load_corpus` reports
such files and goes on with the rest.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal

from musegen._files import atomic_write_bytes
from musegen._midi_common import (
    MAX_QUARTER_LENGTH,
    MidiReadError,
    check_midi_header,
    group_onsets,
)
from musegen._parallel import file_sizes, map_unordered
from musegen._words import plural
from musegen.events import DEFAULT_VELOCITY, Event, Piece
from musegen.midi_fast import read_midi_fast
from musegen.tracks import Score, Track

__all__ = [
    "MAX_QUARTER_LENGTH",
    "Corpus",
    "LoadFailure",
    "MidiReadError",
    "load_corpus",
    "piece_from_stream",
    "piece_to_stream",
    "read_midi",
    "read_tracks",
    "score_from_stream",
    "source_files",
    "write_midi",
]

Parts = Literal["all", "first"]
Grouping = Literal["onset", "stream"]
Engine = Literal["auto", "fast", "music21"]

_MIDI_SUFFIXES = (".mid", ".midi")
_MUSIC_SUFFIXES = (*_MIDI_SUFFIXES, ".xml", ".musicxml", ".mxl", ".krn")
"""What folder reading finds (in any case: ``.MID``, ``.Mid`` too)."""


def _is_midi(file: Path) -> bool:
    return file.suffix.lower() in _MIDI_SUFFIXES


def read_midi(
    path: str | os.PathLike[str],
    *,
    parts: Parts = "all",
    drop_drums: bool = True,
    grouping: Grouping = "onset",
    engine: Engine = "auto",
) -> Piece:
    """Read a MIDI file into a `Piece`.

    Args:
        path: The MIDI file.
        parts: ``"all"`` merges every part; ``"first"`` keeps the first part after
            music21's ``partitionByInstrument`` (what the original recipe reads).
        drop_drums: Leave out percussion (MIDI channel 10) notes; False keeps them
            as notes of their key numbers.
        grouping: ``"onset"`` (default) merges all notes that start together into
            one chord event, joins tied notes and fills gaps with rests.
            ``"stream"`` keeps one event per music21 note or chord, in the
            stream's order, with no rests: the original recipe's view of a file.
        engine: ``"fast"`` reads the events with `musegen.midi_fast` (much
            faster: see docs/performance.md; the same piece except where music21
            moves notes while splitting parts into voices);
            ``"music21"`` builds music21 streams. ``"auto"`` (default) is
            ``"fast"`` for ``parts="all", grouping="onset"``, else ``"music21"``.

    Returns:
        The piece; it has no events when the file holds no pitched notes.

    Raises:
        MidiReadError: the file is missing, empty, not MIDI, or corrupt.

    Examples:
        >>> from musegen import datasets
        >>> piece = read_midi(datasets.path("skuli") / "8.mid")
        >>> piece.events[0]
        Event(offset=0.0, duration=2.0, pitches=(36, 64, 72), velocity=110)
    """
    if engine not in ("auto", "fast", "music21"):
        raise ValueError(f"engine must be 'auto', 'fast' or 'music21', got {engine!r}")
    if engine == "fast" and grouping != "onset":
        raise ValueError("engine='fast' reads with grouping='onset' only")
    if engine == "fast" or (engine == "auto" and parts == "all" and grouping == "onset"):
        return read_midi_fast(path, parts=parts, drop_drums=drop_drums)
    file = Path(path)
    score = _parse_midi(file, check_midi_header(file))
    return piece_from_stream(
        score, parts=parts, drop_drums=drop_drums, grouping=grouping, source=file.name
    )


def _parse_midi(file: Path, data: bytes) -> Any:
    """Parse MIDI bytes (checked by `check_midi_header`) into a music21 score.

    The events are read first and the longest track measured, since music21's
    translation takes time growing faster than the length: one enormous delta
    time would keep it busy for hours.
    """
    from music21 import midi

    midi_file = midi.MidiFile()
    try:
        midi_file.readstr(data)
    except Exception as err:  # music21 raises many types for corrupt data
        raise MidiReadError(file, f"corrupt or unsupported MIDI data ({_describe(err)})") from None
    if not midi_file.ticksPerQuarterNote:
        raise MidiReadError(file, "header gives 0 ticks per quarter note")
    ticks = max(
        (sum(e.time for e in t.events if isinstance(e, midi.DeltaTime)) for t in midi_file.tracks),
        default=0,
    )
    length = ticks / midi_file.ticksPerQuarterNote
    if length > MAX_QUARTER_LENGTH:
        raise MidiReadError(
            file,
            f"a track lasts {length:.0f} quarter notes, more than the {MAX_QUARTER_LENGTH:.0f} "
            "read_midi accepts (a corrupt delta time?)",
        )
    try:
        return midi.translate.midiFileToStream(midi_file)
    except Exception as err:
        raise MidiReadError(file, f"corrupt or unsupported MIDI data ({_describe(err)})") from None


def _describe(err: Exception) -> str:
    return str(err).strip() or type(err).__name__


def _parse(file: Path) -> Any:
    from music21 import converter

    try:
        # forceSource/storePickle: never read or write music21's pickle cache.
        return converter.parseFile(file, forceSource=True, storePickle=False)
    except RecursionError:
        raise MidiReadError(file, "too deeply nested to parse") from None
    except Exception as err:  # music21 raises many types for corrupt data
        raise MidiReadError(file, f"corrupt or unsupported MIDI data ({_describe(err)})") from None


def piece_from_stream(
    score: Any,
    *,
    parts: Parts = "all",
    drop_drums: bool = True,
    grouping: Grouping = "onset",
    source: str = "",
) -> Piece:
    """Turn a parsed music21 stream (MIDI, MusicXML, ...) into a `Piece`.

    Arguments are as for `read_midi`.

    Examples:
        >>> from music21 import stream, note
        >>> s = stream.Stream([note.Note("C4", quarterLength=2)])
        >>> piece_from_stream(s).events
        (Event(offset=0.0, duration=2.0, pitches=(60,), velocity=64),)
    """
    from music21 import chord, instrument, meter, note, tempo

    if parts not in ("all", "first"):
        raise ValueError(f"parts must be 'all' or 'first', got {parts!r}")
    if grouping not in ("onset", "stream"):
        raise ValueError(f"grouping must be 'onset' or 'stream', got {grouping!r}")
    containers: list[Any]
    if parts == "first":
        try:
            partitioned: Any = instrument.partitionByInstrument(score)
            containers = [partitioned.parts[0]]
        except Exception:  # no instrument parts: a flat stream, as in the original recipe
            containers = [score]
    else:
        containers = list(getattr(score, "parts", [])) or [score]

    unisons: list[bool] = []  # grouping="stream": a chord of one pitch struck twice
    raw: list[tuple[float, float, tuple[int, ...], int]] = []
    for container in containers:
        # (pitch, where it ends) -> index in raw of the tied note a "stop" there continues:
        # another voice may strike the same pitch at that moment
        open_ties: dict[tuple[int, float], int] = {}
        flat = container.flatten()  # absolute offsets (recurse's offsets can mislead)
        for element in flat.notes:
            if isinstance(element, note.Note):
                members = [element]
            elif isinstance(element, chord.Chord):
                members = list(element.notes)
            elif drop_drums:  # percussion (MIDI channel 10), which music21 makes unpitched
                continue
            else:
                members = list(getattr(element, "notes", [element]))
            offset = float(element.getOffsetInHierarchy(flat))
            duration = float(element.duration.quarterLength)
            if grouping == "stream":  # one event per music21 element, ties kept apart
                velocity = _velocity([*members, element])
                pitches = tuple(_key_number(m) for m in members)
                unisons.append(len(pitches) > 1 and len(set(pitches)) == 1)
                raw.append((offset, duration, pitches, velocity))
                continue
            for member in members:  # one record per note; tied notes join into one
                midi = _key_number(member)
                tie = member.tie.type if member.tie is not None else None
                end = round(offset + duration, 6)
                if tie in ("stop", "continue"):
                    held = open_ties.pop((midi, round(offset, 6)), None)
                    if held is not None:
                        start = raw[held][0]
                        raw[held] = (start, offset + duration - start, *raw[held][2:])
                        if tie == "continue":
                            open_ties[(midi, end)] = held
                        continue
                raw.append((offset, duration, (midi,), _velocity([member, element])))
                if tie == "start":
                    open_ties[(midi, end)] = len(raw) - 1
    if len(containers) > 1 or grouping == "onset":
        order = sorted(range(len(raw)), key=lambda i: raw[i][0])  # stable, as list.sort
        raw = [raw[i] for i in order]
        unisons = [unisons[i] for i in order] if unisons else unisons

    if grouping == "stream":
        events = [Event(o, d, p, v, u) for (o, d, p, v), u in zip(raw, unisons, strict=True)]
    else:
        events = group_onsets(raw)

    marks = list(score.recurse().getElementsByClass(tempo.MetronomeMark))
    signatures = list(score.recurse().getElementsByClass(meter.TimeSignature))
    bpm = marks[0].getQuarterBPM() if marks else None
    return Piece(
        tuple(events),
        tempo=float(bpm) if bpm else 120.0,
        time_signature=signatures[0].ratioString if signatures else "4/4",
        source=source,
    )


def _velocity(elements: list[Any]) -> int:
    """The loudest velocity stated on any of `elements` (notes, then their chord)."""
    known = [e.volume.velocity for e in elements if e.volume.velocity is not None]
    return int(max(known)) if known else DEFAULT_VELOCITY


def _key_number(element: Any) -> int:
    """The MIDI key of a music21 note, pitched or (percussion) unpitched."""
    if hasattr(element, "pitch"):
        return int(element.pitch.midi)
    stored = getattr(element, "storedInstrument", None)
    key = getattr(stored, "percMapPitch", None)
    return int(key) if key is not None else int(element.displayPitch().midi)


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


def read_tracks(path: str | os.PathLike[str]) -> Score:
    """Read a MIDI file keeping its tracks apart: a `Score` of `Track` objects.

    Each track with notes gives a `Track` with its General MIDI program, its name
    and whether it is percussion (the notes of channel 10 become a drum track of
    their own). Read by the fast reader (`musegen.midi_fast.read_tracks_fast`);
    `read_midi` stays the merged reading. Other formats music21 reads
    (MusicXML, ``.krn``) go through `score_from_stream`: a part's program is
    its ``<midi-program>``, and a percussion part is a drum track, each note
    the key its ``<midi-unpitched>`` names.

    Raises:
        MidiReadError: the file is missing, empty, not MIDI, or corrupt.

    Examples:
        >>> import tempfile, pathlib
        >>> from musegen.tracks import Track
        >>> band = Score((Track(Piece((Event(0, 1, (60, 64)),)), program=0, name="keys"),
        ...               Track(Piece((Event(0, 2, (36,)),)), program=33, name="bass"),
        ...               Track(Piece((Event(0, 1, (38,)),)), name="kit", is_drum=True)))
        >>> out = write_midi(band, pathlib.Path(tempfile.mkdtemp()) / "band.mid")
        >>> [(t.name, t.program, t.is_drum) for t in read_tracks(out).tracks]
        [('keys', 0, False), ('bass', 33, False), ('kit', 0, True)]
    """
    from musegen.midi_fast import read_tracks_fast

    file = Path(path)
    if _is_midi(file):
        return read_tracks_fast(file)
    parsed = _parse(file)
    return score_from_stream(parsed, source=file.name, drum_keys=_drum_keys(file))


def score_from_stream(
    parsed: Any, *, source: str = "", drum_keys: dict[str, dict[str, int]] | None = None
) -> Score:
    """A music21 score as a `Score`: a `Track` per part with notes.

    The program is the one the file states (MusicXML ``<midi-program>``, read
    by music21), else that of the instrument music21 names after the part
    (``instrument.fromString``: "Violin I" gives 40, "Viola" 41, "Soprano"
    53), else 0. A percussion part (unpitched notes, or MIDI channel 10) is a
    drum track; its notes are the drum keys `drum_keys` gives (see
    `read_tracks`), else those of music21's instrument or display position.

    Args:
        parsed: A music21 score (or part).
        source: The file's name, for the score and its tracks.
        drum_keys: Per part name: the drum key of each display position
            (``"F4"``) of its unpitched notes.

    Examples:
        >>> from music21 import stream, note
        >>> viola = stream.Part([note.Note("C4", quarterLength=2)])
        >>> viola.partName = "Viola"
        >>> [(t.name, t.program) for t in score_from_stream(stream.Score([viola])).tracks]
        [('Viola', 41)]
    """
    from music21 import instrument, note

    tracks = []
    for part in getattr(parsed, "parts", None) or [parsed]:
        name = getattr(part, "partName", None) or ""
        own = part.getInstrument(returnDefault=False)
        program = getattr(own, "midiProgram", None)
        if program is None:
            try:
                program = instrument.fromString(name).midiProgram
            except Exception:  # a name music21 does not know
                program = None
        unpitched = [n for n in part.recurse().notes if isinstance(n, note.Unpitched)]
        drums = bool(unpitched) or getattr(own, "midiChannel", None) == 9
        keys = (drum_keys or {}).get(name, {})
        for element in unpitched:
            key = keys.get(f"{element.displayStep}{element.displayOctave}")
            if key is not None:
                element.storedInstrument = instrument.UnpitchedPercussion()
                element.storedInstrument.percMapPitch = key
        piece = piece_from_stream(part, source=source, drop_drums=not drums)
        if piece.notes:
            program = 0 if drums or program is None else program
            tracks.append(Track(piece, program=int(program), name=name, is_drum=drums))
    tempo = tracks[0].piece.tempo if tracks else 120.0
    signature = tracks[0].piece.time_signature if tracks else "4/4"
    return Score(tuple(tracks), tempo=tempo, time_signature=signature, source=source)


def _drum_keys(file: Path) -> dict[str, dict[str, int]]:
    """Per part name of a MusicXML file: the drum key of each display position of its drums.

    music21 keeps one instrument per part and no key on an unpitched note, so
    each note's ``<instrument id>`` is looked up in its part's
    ``<midi-unpitched>`` (1-based) here. Not MusicXML, or unreadable: ``{}``.
    """
    import xml.etree.ElementTree as ET
    import zipfile

    try:
        if zipfile.is_zipfile(file):  # .mxl: the container names the score
            with zipfile.ZipFile(file) as archive:
                container = ET.fromstring(archive.read("META-INF/container.xml"))
                rootfile = container.find(".//rootfile")
                if rootfile is None:
                    return {}
                root = ET.fromstring(archive.read(rootfile.get("full-path", "")))
        else:
            root = ET.parse(file).getroot()
    except (OSError, KeyError, ET.ParseError, zipfile.BadZipFile):
        return {}
    keys: dict[str, dict[str, int]] = {}
    for score_part in root.iter("score-part"):
        unpitched = {
            midi.get("id"): int(midi.findtext("midi-unpitched", "0").strip() or 0) - 1
            for midi in score_part.iter("midi-instrument")
        }
        name = score_part.findtext("part-name", "").strip()
        part = root.find(f"part[@id='{score_part.get('id')}']")
        for mx_note in part.iter("note") if part is not None else ():
            display = mx_note.find("unpitched")
            instrument = mx_note.find("instrument")
            key = unpitched.get(instrument.get("id") if instrument is not None else None, -1)
            if display is not None and key >= 0:
                step = display.findtext("display-step", "")
                where = f"{step.strip()}{display.findtext('display-octave', '').strip()}"
                keys.setdefault(name, {}).setdefault(where, key)
    return keys


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


@dataclass(frozen=True)
class LoadFailure:
    """A file `load_corpus` could not use, and why.

    Examples:
        >>> str(LoadFailure("bad.mid", "empty file"))
        'bad.mid: empty file'
    """

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Corpus:
    """Pieces loaded by `load_corpus`, with the files that failed.

    Examples:
        >>> Corpus([Piece((Event(0, 1, (60,)),))]).summary()
        '1 piece, 1 event, 0 files skipped'
    """

    pieces: list[Piece]
    failures: list[LoadFailure] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pieces)

    def __iter__(self) -> Iterator[Piece]:
        return iter(self.pieces)

    def summary(self) -> str:
        """One line: how many pieces, events, and skipped files."""
        events = sum(len(p) for p in self.pieces)
        pieces, files = plural(len(self.pieces), "piece"), plural(len(self.failures), "file")
        return f"{pieces}, {plural(events, 'event')}, {files} skipped"


def load_corpus(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    parts: Parts = "all",
    drop_drums: bool = True,
    grouping: Grouping = "onset",
    limit: int | None = None,
    progress: bool = True,
    engine: Engine = "auto",
    workers: int | None = 1,
) -> Corpus:
    """Load many pieces, skipping (and reporting) files that fail.

    Args:
        source: A folder (searched recursively for MIDI, MusicXML and ``.krn``
            files: see `source_files`), a list of files, ``"music21:<composer>"``
            for a corpus bundled with music21 (e.g. ``"music21:bach"``: Bach
            chorales, offline, MusicXML), or
            ``"musegen:<name>"`` for a dataset bundled with musegen
            (``"musegen:skuli"``: the original recipe's 92 MIDI files; see
            `musegen.datasets`).
        parts: As for `read_midi`.
        drop_drums: As for `read_midi`.
        grouping: As for `read_midi`.
        limit: Read at most this many files (in sorted order).
        progress: Show a progress bar on standard error.
        engine: As for `read_midi` (MIDI files only; other formats use music21).
        workers: Processes reading files at once; None uses every core.

    Returns:
        A `Corpus`: the pieces that hold notes, and a `LoadFailure` for each file
        that could not be read or holds no pitched notes, and for each other
        file of a folder.

    Examples:
        >>> corpus = load_corpus("music21:bach", limit=3, progress=False)
        >>> len(corpus.pieces), corpus.failures
        (3, [])
    """
    skipped: list[LoadFailure] = []
    paths = source_files(source, skipped=skipped)
    if limit is not None:
        paths = paths[:limit]
    read = partial(_read_one, parts=parts, drop_drums=drop_drums, grouping=grouping, engine=engine)
    results: list[Piece | LoadFailure | None] = [None] * len(paths)
    done = map_unordered(read, paths, workers, file_sizes(paths))
    for index, result in _progress(done, progress, len(paths)):
        results[index] = result
    pieces = [r for r in results if isinstance(r, Piece)]
    failures = [r for r in results if isinstance(r, LoadFailure)]
    return Corpus(pieces, skipped + failures)


def _read_one(
    file: Path, *, parts: Parts, drop_drums: bool, grouping: Grouping, engine: Engine
) -> Piece | LoadFailure:
    """One file of `load_corpus` (module level, so worker processes can run it)."""
    try:
        if _is_midi(file):
            piece = read_midi(
                file, parts=parts, drop_drums=drop_drums, grouping=grouping, engine=engine
            )
        else:
            piece = _read_any(file, parts, drop_drums, grouping)
    except MidiReadError as err:
        return LoadFailure(str(file), err.reason)
    if not piece.notes:
        return LoadFailure(str(file), "no pitched notes (empty or drums only)")
    return piece


def _read_any(file: Path, parts: Parts, drop_drums: bool, grouping: Grouping) -> Piece:
    """Read a non-MIDI file music21 understands (MusicXML, Humdrum, ...)."""
    if not file.is_file():
        raise MidiReadError(file, "no such file")
    score = _parse(file)
    return piece_from_stream(
        score, parts=parts, drop_drums=drop_drums, grouping=grouping, source=file.name
    )


def source_files(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    skipped: list[LoadFailure] | None = None,
) -> list[Path]:
    """The files a corpus source names, sorted (see `load_corpus` for the sources).

    A folder is searched recursively for MIDI (``.mid``, ``.midi``), MusicXML
    (``.xml``, ``.musicxml``, ``.mxl``) and Humdrum (``.krn``) files, the
    suffix in any case (``.MID``, ``.Mid``). Hidden files and folders (a name
    starting with ``.``) are left out.

    Args:
        source: A folder, a file, a list of files, ``"music21:<composer>"`` or
            ``"musegen:<name>"``.
        skipped: A list to which a `LoadFailure` is appended for each other
            file of a folder, naming it and why it is not read.

    Raises:
        FileNotFoundError: for a path that does not exist.
        ValueError: for a music21 composer with no pieces, or an unknown dataset.

    Examples:
        >>> [p.name for p in source_files("musegen:skuli")[:2]]
        ['0fithos.mid', '8.mid']
    """
    if isinstance(source, str) and source.startswith("musegen:"):
        from musegen.datasets import path

        source = path(source.split(":", 1)[1])
    if isinstance(source, str) and source.startswith("music21:"):
        from music21 import corpus

        composer = source.split(":", 1)[1]
        found = [
            Path(p)
            for p in corpus.getComposer(composer)
            if Path(p).suffix.lower() in _MUSIC_SUFFIXES
        ]
        if not found:
            raise ValueError(f"music21's corpus has no pieces for {composer!r}")
        return sorted(found)
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if root.is_dir():
            return _folder_files(root, skipped if skipped is not None else [])
        if root.is_file():
            return [root]
        raise FileNotFoundError(f"no such file or folder: {str(root)!r}")
    return [Path(p) for p in source]


def _folder_files(root: Path, skipped: list[LoadFailure]) -> list[Path]:
    """The music files under `root`, sorted; the other (not hidden) files go to `skipped`."""
    found = []
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        if not path.is_file():
            continue
        if path.suffix.lower() in _MUSIC_SUFFIXES:
            found.append(path)
        else:
            known = ", ".join(_MUSIC_SUFFIXES)
            reason = f"its suffix is {path.suffix!r}" if path.suffix else "it has no suffix"
            skipped.append(
                LoadFailure(str(path), f"not a music file musegen reads ({reason}; reads {known})")
            )
    return found


def _progress(items: Iterable[Any], enabled: bool, total: int) -> Iterable[Any]:
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc="reading", unit="file", leave=False, total=total)

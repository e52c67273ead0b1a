"""Read and write MIDI files, and load corpora, as `Piece` objects (through music21).

This is the only module that parses or writes music files. A file that cannot be
read raises `MidiReadError` naming the file and the cause; `load_corpus` reports
such files and goes on with the rest.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from musegen._files import atomic_write_bytes
from musegen.events import DEFAULT_VELOCITY, Event, Piece

__all__ = [
    "MAX_QUARTER_LENGTH",
    "Corpus",
    "LoadFailure",
    "MidiReadError",
    "load_corpus",
    "piece_from_stream",
    "read_midi",
    "write_midi",
]

Parts = Literal["all", "first"]
Grouping = Literal["onset", "stream"]

_MIDI_SUFFIXES = (".mid", ".midi", ".MID", ".MIDI")
_EPS = 1e-6

MAX_QUARTER_LENGTH = 10_000.0
"""Longest track `read_midi` accepts, in quarter notes (83 minutes at 120 bpm).

Longer files are refused before music21 translates them: its time grows faster
than the length, so a corrupt delta time could keep it busy for hours.
"""


class MidiReadError(Exception):
    """A file could not be read as music; `path` and `reason` say which and why.

    Example:
        >>> str(MidiReadError("song.mid", "not a MIDI file"))
        "cannot read 'song.mid': not a MIDI file"
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read {self.path!r}: {reason}")


def read_midi(
    path: str | os.PathLike[str],
    *,
    parts: Parts = "all",
    drop_drums: bool = True,
    grouping: Grouping = "onset",
) -> Piece:
    """Read a MIDI file into a `Piece`.

    Args:
        path: The MIDI file.
        parts: ``"all"`` merges every part; ``"first"`` keeps the first part after
            music21's ``partitionByInstrument`` (what the original recipe reads).
        drop_drums: Leave out percussion (MIDI channel 10) notes.
        grouping: ``"onset"`` (default) merges all notes that start together into
            one chord event, joins tied notes and fills gaps with rests.
            ``"stream"`` keeps one event per music21 note or chord, in the
            stream's order, with no rests: the original recipe's view of a file.

    Returns:
        The piece; it has no events when the file holds no pitched notes.

    Raises:
        MidiReadError: the file is missing, empty, not MIDI, or corrupt.

    Example:
        >>> piece = read_midi("../shared/data/skuli-midi/8.mid")  # doctest: +SKIP
        >>> piece.events[0]  # doctest: +SKIP
        Event(offset=0.0, duration=1.0, pitches=(72,), velocity=105)
    """
    file = Path(path)
    score = _parse_midi(file, _check_midi_header(file))
    return piece_from_stream(
        score, parts=parts, drop_drums=drop_drums, grouping=grouping, source=file.name
    )


def _check_midi_header(file: Path) -> bytes:
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


def _parse_midi(file: Path, data: bytes) -> Any:
    """Parse MIDI bytes (checked by `_check_midi_header`) into a music21 score.

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

    Example:
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

    raw: list[tuple[float, float, tuple[int, ...], int]] = []
    for container in containers:
        if drop_drums and _is_drum_part(container, instrument):
            continue
        open_ties: dict[int, int] = {}  # pitch -> index in raw of the note its tie continues
        flat = container.flatten()  # absolute offsets (recurse's offsets can mislead)
        for element in flat.notes:
            if isinstance(element, note.Note):
                members = [element]
            elif isinstance(element, chord.Chord):
                members = list(element.notes)
            else:  # unpitched percussion
                continue
            offset = float(element.getOffsetInHierarchy(flat))
            duration = float(element.duration.quarterLength)
            if grouping == "stream":  # one event per music21 element, ties kept apart
                velocity = _velocity([*members, element])
                raw.append((offset, duration, tuple(m.pitch.midi for m in members), velocity))
                continue
            for member in members:  # one record per note; tied notes join into one
                midi = member.pitch.midi
                tie = member.tie.type if member.tie is not None else None
                held = open_ties.pop(midi, None)
                if held is not None and tie in ("stop", "continue"):
                    start = raw[held][0]
                    raw[held] = (start, offset + duration - start, *raw[held][2:])
                    if tie == "continue":
                        open_ties[midi] = held
                    continue
                raw.append((offset, duration, (midi,), _velocity([member, element])))
                if tie == "start":
                    open_ties[midi] = len(raw) - 1
    if len(containers) > 1 or grouping == "onset":
        raw.sort(key=lambda item: item[0])

    if grouping == "stream":
        events = [Event(o, d, p, v) for o, d, p, v in raw]
    else:
        events = _group_onsets(raw)

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


def _is_drum_part(container: Any, instrument: Any) -> bool:
    for inst in container.getInstruments(recurse=True):
        if isinstance(inst, instrument.UnpitchedPercussion) or inst.midiChannel == 9:
            return True
    return False


def _group_onsets(raw: list[tuple[float, float, tuple[int, ...], int]]) -> list[Event]:
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


def write_midi(piece: Piece, path: str | os.PathLike[str], *, program: int = 0) -> Path:
    """Write `piece` as a one-track MIDI file (atomically: no half-written file on interrupt).

    Args:
        piece: What to write; rests and zero-length events produce no sound.
        path: Where to write.
        program: General MIDI program (0 is the acoustic grand piano).

    Returns:
        The path written.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "c.mid"
        >>> _ = write_midi(Piece((Event(0, 1, (60, 64, 67), 81),)), out)
        >>> read_midi(out).events[0].pitches
        (60, 64, 67)
    """
    from music21 import instrument, meter, midi, note, stream, tempo

    part = stream.Part()
    inst = instrument.instrumentFromMidiProgram(program)
    part.insert(0, inst)
    part.insert(0, tempo.MetronomeMark(number=piece.tempo))
    try:
        part.insert(0, meter.TimeSignature(piece.time_signature))
    except Exception:  # an unusual metre string: keep music21's default
        pass
    for offset, duration, pitch, velocity in _note_spans(piece):
        element = note.Note(pitch, quarterLength=duration)
        element.volume.velocity = velocity
        part.insert(offset, element)
    data = midi.translate.streamToMidiFile(part).writestr()
    return atomic_write_bytes(path, data)


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

    Example:
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

    Example:
        >>> Corpus([Piece((Event(0, 1, (60,)),))]).summary()
        '1 pieces, 1 events, 0 files skipped'
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
        return f"{len(self.pieces)} pieces, {events} events, {len(self.failures)} files skipped"


def load_corpus(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    parts: Parts = "all",
    drop_drums: bool = True,
    grouping: Grouping = "onset",
    limit: int | None = None,
    progress: bool = True,
) -> Corpus:
    """Load many pieces, skipping (and reporting) files that fail.

    Args:
        source: A folder (searched recursively for ``.mid``/``.midi``), a list of
            files, or ``"music21:<composer>"`` for a corpus bundled with music21
            (e.g. ``"music21:bach"``: Bach chorales, offline, MusicXML).
        parts: As for `read_midi`.
        drop_drums: As for `read_midi`.
        grouping: As for `read_midi`.
        limit: Read at most this many files (in sorted order).
        progress: Show a progress bar on standard error.

    Returns:
        A `Corpus`: the pieces that hold notes, and a `LoadFailure` for each file
        that could not be read or holds no pitched notes.

    Example:
        >>> corpus = load_corpus("music21:bach", limit=3, progress=False)
        >>> len(corpus.pieces), corpus.failures
        (3, [])
    """
    paths = _resolve_source(source)
    if limit is not None:
        paths = paths[:limit]
    pieces: list[Piece] = []
    failures: list[LoadFailure] = []
    for file in _progress(paths, progress):
        try:
            if file.suffix in _MIDI_SUFFIXES:
                piece = read_midi(file, parts=parts, drop_drums=drop_drums, grouping=grouping)
            else:
                piece = _read_any(file, parts, drop_drums, grouping)
        except MidiReadError as err:
            failures.append(LoadFailure(str(file), err.reason))
            continue
        if not piece.notes:
            failures.append(LoadFailure(str(file), "no pitched notes (empty or drums only)"))
            continue
        pieces.append(piece)
    return Corpus(pieces, failures)


def _read_any(file: Path, parts: Parts, drop_drums: bool, grouping: Grouping) -> Piece:
    """Read a non-MIDI file music21 understands (MusicXML, Humdrum, ...)."""
    if not file.is_file():
        raise MidiReadError(file, "no such file")
    score = _parse(file)
    return piece_from_stream(
        score, parts=parts, drop_drums=drop_drums, grouping=grouping, source=file.name
    )


def _resolve_source(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Path]:
    if isinstance(source, str) and source.startswith("music21:"):
        from music21 import corpus

        composer = source.split(":", 1)[1]
        found = [
            Path(p)
            for p in corpus.getComposer(composer)
            if Path(p).suffix in (".mxl", ".xml", ".musicxml", ".krn", *_MIDI_SUFFIXES)
        ]
        if not found:
            raise ValueError(f"music21's corpus has no pieces for {composer!r}")
        return sorted(found)
    if isinstance(source, (str, os.PathLike)):
        root = Path(source)
        if root.is_dir():
            return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _MIDI_SUFFIXES)
        if root.is_file():
            return [root]
        raise FileNotFoundError(f"no such file or folder: {str(root)!r}")
    return [Path(p) for p in source]


def _progress(paths: list[Path], enabled: bool) -> Iterable[Path]:
    if not enabled:
        return paths
    from tqdm.auto import tqdm

    return tqdm(paths, desc="reading", unit="file", leave=False)

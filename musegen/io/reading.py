"""Read MIDI, MusicXML and the other files music21 knows as a `Piece` or a `Score`.

A file that cannot be read raises `MidiReadError` naming the file and the cause.
"""

from __future__ import annotations

import os
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from musegen._metre import parse_time_signature
from musegen.events import DEFAULT_VELOCITY, Event, Piece
from musegen.io._midi_common import (
    MAX_QUARTER_LENGTH,
    MidiReadError,
    check_midi_header,
    group_onsets,
    tempo_microseconds,
)
from musegen.io.midi_fast import _metre_map, _note_tracks, _read, read_midi_fast
from musegen.io.tracks import Score, Track

__all__ = [
    "MAX_QUARTER_LENGTH",
    "MidiReadError",
    "piece_from_stream",
    "read_midi",
    "read_piece",
    "read_tracks",
    "score_from_stream",
]


Parts = Literal["all", "first"]

Grouping = Literal["onset", "stream"]

Engine = Literal["auto", "fast", "music21"]

_MIDI_SUFFIXES = (".mid", ".midi")


def _is_midi(file: Path) -> bool:
    return file.suffix.lower() in _MIDI_SUFFIXES


def read_midi(
    path: str | os.PathLike[str],
    *,
    parts: Parts = "all",
    drop_drums: bool = True,
    grouping: Grouping = "onset",
    engine: Engine = "auto",
    sustain: bool = False,
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
        engine: ``"fast"`` reads the events with `musegen.io.midi_fast` (much
            faster: see docs/performance.md; the same piece except where music21
            moves notes while splitting parts into voices);
            ``"music21"`` builds music21 streams. ``"auto"`` (default) is
            ``"fast"`` for ``parts="all", grouping="onset"``, else ``"music21"``.
        sustain: Hold the notes as the sustain pedal holds them: the piece is
            ``read_tracks(path, sustain=True).merged(drums=not drop_drums)``
            (each note on the grid on its own, not music21's quantization);
            with ``parts="all"``, ``grouping="onset"`` and no ``engine="music21"``.

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
    if sustain:
        if parts != "all" or grouping != "onset" or engine == "music21":
            raise ValueError("sustain=True reads with parts='all', grouping='onset' only")
        return _sustained_piece(path, drop_drums=drop_drums)[0]
    if engine == "fast" or (engine == "auto" and parts == "all" and grouping == "onset"):
        return read_midi_fast(path, parts=parts, drop_drums=drop_drums)
    file = Path(path)
    _, tpq, tracks = _read(file)  # the fast reader's checks: a file it refuses is refused here
    score = _parse_midi(file, check_midi_header(file))
    piece = piece_from_stream(
        score, parts=parts, drop_drums=drop_drums, grouping=grouping, source=file.name
    )
    # the metre map as the file holds it (music21 can lay its measures elsewhere), a short
    # first metre of one bar read as the pickup: as the fast reader reads it
    signature = _note_tracks(tracks, tpq)[2] or piece.time_signature
    signature, signature_changes, pickup = _metre_map(tracks, tpq, signature)
    return replace(
        piece,
        time_signature=signature,
        time_signature_changes=signature_changes,
        pickup=pickup,
    )


def _sustained_piece(
    path: str | os.PathLike[str], *, drop_drums: bool = True
) -> tuple[Piece, tuple[tuple[str, int], ...]]:
    """`read_midi(path, sustain=True)` and what it does not keep (as `Score.not_kept`)."""
    from musegen.io.midi_fast import read_tracks_fast

    file = Path(path)
    score = read_tracks_fast(file, sustain=True)
    return replace(score.merged(drums=not drop_drums), source=file.name), score.not_kept


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
    for track in midi_file.tracks:  # a tempo of 0 or not of three bytes: none (as midi_fast)
        for event in track.events:
            data = event.data if isinstance(event.data, bytes) else b""
            if event.type == midi.MetaEvents.SET_TEMPO and tempo_microseconds(data) is None:
                event.type = midi.MetaEvents(0x07)  # a cue point: music21 makes nothing of it
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


def read_piece(
    path: str | os.PathLike[str],
    *,
    parts: Parts = "all",
    drop_drums: bool = True,
    grouping: Grouping = "onset",
) -> Piece:
    """Read any music file into a `Piece`: MIDI with `read_midi`, else music21 (MusicXML, ...).

    Args:
        path: The file.
        parts: As for `read_midi`.
        drop_drums: As for `read_midi`.
        grouping: As for `read_midi`.

    Raises:
        MidiReadError: the file is missing, empty, corrupt or of a format music21 cannot read,
            or holds several pieces (an opus: an ABC or Humdrum file of several tunes,
            which `musegen.io.corpus.load_corpus` reads tune by tune).

    Examples:
        >>> from musegen import datasets
        >>> read_piece(datasets.path("skuli") / "8.mid").events[0].pitches
        (36, 64, 72)
    """
    file = Path(path)
    if _is_midi(file):
        return read_midi(file, parts=parts, drop_drums=drop_drums, grouping=grouping)
    if not file.is_file():
        raise MidiReadError(file, "no such file")
    return piece_from_stream(
        _parse(file), parts=parts, drop_drums=drop_drums, grouping=grouping, source=file.name
    )


def _midi_metre(signature: Any) -> str:
    """A music21 ``TimeSignature`` as a metre MIDI can hold: ``2/4+3/8`` as its bar, ``7/8``.

    Examples:
        >>> from music21 import meter
        >>> [_midi_metre(meter.TimeSignature(t)) for t in ("3/4", "2/4+3/8", "C")]
        ['3/4', '7/8', '4/4']
    """
    try:
        return parse_time_signature(signature.ratioString)
    except ValueError:
        pass
    quarters = Fraction(signature.barDuration.quarterLength).limit_denominator(32)
    bar = quarters / 4  # in whole notes: N/D with D the smallest power of two that holds it
    denominator = next((d for d in (1, 2, 4, 8, 16, 32, 64, 128) if (bar * d).denominator == 1), 0)
    numerator = int(bar * denominator)
    if denominator and 1 <= numerator <= 255:
        return f"{numerator}/{denominator}"
    return "4/4"  # no bar MIDI can hold: the default metre


def _describe(err: Exception) -> str:
    return str(err).strip() or type(err).__name__


_FORMATS = {".xml": "MusicXML", ".musicxml": "MusicXML", ".mxl": "MusicXML", ".krn": "Humdrum"}
"""The format each suffix music21 reads names, for the errors (``.abc``: ABC)."""


def _parse_any(file: Path, *, text: str | None = None, where: str | None = None) -> Any:
    """A file music21 reads as a music21 stream; `MidiReadError` names the file and its format.

    An opus (a file of several tunes) is a music21 ``Opus``. With `text`, the
    ABC text of one tune of `file` is read, and an error names `where`.

    Compressed MusicXML is told by its contents, not the case of its suffix:
    music21 opens ``.mxl`` as an archive but reads ``.MXL`` as plain XML.

    Examples:
        >>> from music21 import corpus
        >>> len(_parse_any(corpus.getWork("bach/bwv66.6")).parts)
        4
    """
    import zipfile

    from music21 import converter

    kind = _FORMATS.get(file.suffix.lower(), file.suffix.lstrip(".").upper() or "music")
    try:
        if text is not None:  # one tune of an ABC file
            parsed: Any = converter.parseData(text, format="abc")
        elif file.suffix.lower() == ".mxl" and file.suffix != ".mxl" and zipfile.is_zipfile(file):
            parsed = converter.parseData(_archived_score(file), format="musicxml")
        else:  # forceSource/storePickle: never read or write music21's pickle cache.
            parsed = converter.parseFile(file, forceSource=True, storePickle=False)
    except RecursionError:
        raise MidiReadError(where or file, "too deeply nested to parse") from None
    except Exception as err:  # music21 raises many types for corrupt data
        raise MidiReadError(
            where or file, f"corrupt or unsupported {kind} data ({_describe(err)})"
        ) from None
    return parsed


def _parse(file: Path) -> Any:
    """`_parse_any`, refusing an opus: a file of several pieces (see `_read_pieces`)."""
    from music21 import stream

    parsed = _parse_any(file)
    if isinstance(parsed, stream.Opus):  # an ABC or Humdrum file of several tunes
        raise MidiReadError(
            file,
            f"holds {len(parsed.scores)} pieces (an opus), and one piece a file is read here; "
            "load_corpus (musegen train) reads every piece",
        )
    return parsed


def _read_pieces(
    file: Path, *, parts: Parts = "all", drop_drums: bool = True, grouping: Grouping = "onset"
) -> list[Piece | MidiReadError]:
    r"""Every piece of a file music21 reads (not MIDI): one, or one per tune of an opus.

    An opus is an ABC or Humdrum file of several tunes. Each tune is read as a
    file of that one tune is (`piece_from_stream`); its source is the file's
    name and its place among the file's tunes, from 1 (``0001-0050.abc#3``).
    An ABC file is cut at its ``X:`` lines, the lines before the first one
    (the file's header) heading each tune, as music21 heads them, so that a
    tune music21 cannot read costs that tune only.

    Args:
        file: The file.
        parts: As for `read_midi`.
        drop_drums: As for `read_midi`.
        grouping: As for `read_midi`.

    Returns:
        A piece per tune, or the `MidiReadError` (its path ``file#n``) of a tune
        that could not be read.

    Raises:
        MidiReadError: the file is missing or cannot be read at all.

    Examples:
        >>> import pathlib, tempfile
        >>> tune = "X:{}\nM:3/4\nL:1/4\nK:C\nC D E|]\n"
        >>> file = pathlib.Path(tempfile.mkdtemp()) / "two.abc"
        >>> _ = file.write_text(tune.format(1) + "\n" + tune.format(2))
        >>> [(p.source, p.time_signature) for p in _read_pieces(file)]
        [('two.abc#1', '3/4'), ('two.abc#2', '3/4')]
    """
    from music21 import stream

    if not file.is_file():
        raise MidiReadError(file, "no such file")
    tunes: list[Any] = []  # a music21 score, or the text of an ABC tune
    if file.suffix.lower() == ".abc":
        tunes = _abc_tunes(file)
    if not tunes:
        parsed = _parse_any(file)
        if not isinstance(parsed, stream.Opus):
            return [
                piece_from_stream(
                    parsed, parts=parts, drop_drums=drop_drums, grouping=grouping, source=file.name
                )
            ]
        tunes = list(parsed.scores)
    pieces: list[Piece | MidiReadError] = []
    for number, tune in enumerate(tunes, 1):
        where = f"{file}#{number}"
        try:
            score = _parse_any(file, text=tune, where=where) if isinstance(tune, str) else tune
            pieces.append(
                piece_from_stream(
                    score,
                    parts=parts,
                    drop_drums=drop_drums,
                    grouping=grouping,
                    source=f"{file.name}#{number}",
                )
            )
        except MidiReadError as err:
            pieces.append(err)
        except Exception as err:  # music21 leaves streams that fail in many ways
            pieces.append(MidiReadError(where, f"cannot read this tune ({_describe(err)})"))
    return pieces


def _abc_tunes(file: Path) -> list[str]:
    """The tunes of an ABC file of several, each as the text of a file of one; else ``[]``.

    A tune starts at an ``X:`` line; the lines before the first (the file's
    header: ``%abc-2.1``, a common ``M:``, ...) open each tune's text.

    Raises:
        MidiReadError: the file is not UTF-8 text (as music21 reads it).
    """
    import re

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise MidiReadError(file, f"corrupt or unsupported ABC data ({_describe(err)})") from None
    starts = [m.start() for m in re.finditer(r"^X:", text, flags=re.MULTILINE)]
    if len(starts) < 2:
        return []
    header = text[: starts[0]]
    return [header + text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def piece_from_stream(
    score: Any,
    *,
    parts: Parts = "all",
    drop_drums: bool = True,
    grouping: Grouping = "onset",
    source: str = "",
) -> Piece:
    """Turn a parsed music21 stream (MIDI, MusicXML, ...) into a `Piece`.

    Arguments are as for `read_midi`. The piece keeps the stream's metre map:
    its first time signature, the later ones that change the metre
    (`Piece.time_signature_changes`) and a pickup, a short first measure
    (`Piece.pickup`: music21's measure 0, e.g. one quarter note in the
    chorale ``bach/bwv1.6``).

    Examples:
        >>> from music21 import stream, note
        >>> s = stream.Stream([note.Note("C4", quarterLength=2)])
        >>> piece_from_stream(s).events
        (Event(offset=0.0, duration=2.0, pitches=(60,), velocity=64),)
    """
    from music21 import chord, instrument, note, tempo

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
                tied = member.tie if member.tie is not None else _drum_chord_tie(element)
                tie = tied.type if tied is not None else None
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
    bpm = marks[0].getQuarterBPM() if marks else None
    signature, signature_changes, pickup = _stream_metre(score)
    return Piece(
        tuple(events),
        tempo=float(bpm) if bpm else 120.0,
        time_signature=signature,
        source=source,
        time_signature_changes=signature_changes,
        pickup=pickup,
    )


def _stream_metre(score: Any) -> tuple[str, tuple[tuple[float, str], ...], float]:
    """The metre map of a music21 stream: (time signature, changes, pickup).

    The time signature is the first the stream holds (``"4/4"`` if none); a
    change is a later one (its offset in the flattened stream) that differs
    from the metre in force, of any part (the first part's where parts
    disagree at one offset). The pickup is the length of a first measure
    shorter than its bar (music21's measure 0, with ``paddingLeft``) that
    another measure follows, in the first part with measures.

    Examples:
        >>> from music21 import corpus
        >>> _stream_metre(corpus.parse("bach/bwv1.6"))
        ('4/4', (), 1.0)
        >>> _stream_metre(corpus.parse("bach/bwv27.6"))
        ('4/4', ((56.0, '3/2'),), 0.0)
    """
    from music21 import meter, stream

    found: dict[float, str] = {}
    for signature in score.recurse().getElementsByClass(meter.TimeSignature):
        at = round(float(signature.getOffsetInHierarchy(score)), 6)
        found.setdefault(at, _midi_metre(signature))
    ordered = sorted(found.items())
    first = ordered[0][1] if ordered else "4/4"
    changes: list[tuple[float, str]] = []
    in_force = first
    for at, metre in ordered[1:]:
        if at > 0 and metre != in_force:
            changes.append((at, metre))
            in_force = metre
    pickup = 0.0
    for part in [*getattr(score, "parts", []), score]:
        measures = list(part.getElementsByClass(stream.Measure))
        if not measures:
            continue
        if len(measures) > 1:
            length = float(measures[1].offset - measures[0].offset)
            bar = float(measures[0].barDuration.quarterLength)
            if 0 < length < bar - 1e-6:
                pickup = length
        break
    return first, tuple(changes), pickup


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


def read_tracks(path: str | os.PathLike[str], *, sustain: bool = False) -> Score:
    """Read a MIDI file keeping its tracks apart: a `Score` of `Track` objects.

    A MIDI file is read as a player hears it, by the fast reader
    (`musegen.io.midi_fast.read_tracks_fast`): a `Track` per channel and
    program of each track, the program the last program change on the
    channel before the notes, wherever it sits; channel 10 is drums. Each
    note keeps its velocity; the tempo map, metre changes and key signatures
    are kept, and `Score.not_kept` counts what is not (pitch bends,
    controllers). `read_midi` stays the merged reading. Other formats music21
    reads (MusicXML, ``.krn``) go through `score_from_stream`: a part's
    program is its ``<midi-program>``, and a percussion part is a drum track,
    each note the key its ``<midi-unpitched>`` names.

    Args:
        path: The file.
        sustain: MIDI only: lengthen the notes the sustain pedal holds, as
            ``note_seq.apply_sustain_control_changes`` does.

    Raises:
        MidiReadError: the file is missing, empty, not MIDI, or corrupt.

    Examples:
        >>> import tempfile, pathlib
        >>> from musegen.io.tracks import Track
        >>> band = Score((Track(Piece((Event(0, 1, (60, 64)),)), program=0, name="keys"),
        ...               Track(Piece((Event(0, 2, (36,)),)), program=33, name="bass"),
        ...               Track(Piece((Event(0, 1, (38,)),)), name="kit", is_drum=True)))
        >>> from musegen.io.writing import write_midi
        >>> out = write_midi(band, pathlib.Path(tempfile.mkdtemp()) / "band.mid")
        >>> [(t.name, t.program, t.is_drum) for t in read_tracks(out).tracks]
        [('keys', 0, False), ('bass', 33, False), ('kit', 0, True)]
    """
    from musegen.io.midi_fast import read_tracks_fast

    file = Path(path)
    if _is_midi(file):
        return read_tracks_fast(file, sustain=sustain)
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
    The score and each track's piece keep the metre map of the whole stream
    (time signature, changes and pickup, as `piece_from_stream` reads them).

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
    from music21 import instrument, note, percussion

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
        unpitched = [  # the hits of a drum chord too
            hit
            for n in part.recurse().notes
            for hit in (n.notes if isinstance(n, percussion.PercussionChord) else [n])
            if isinstance(hit, note.Unpitched)
        ]
        drums = bool(unpitched) or getattr(own, "midiChannel", None) == 9
        keys = (drum_keys or {}).get(name, {})
        for element in unpitched:
            where = f"{element.displayStep}{element.displayOctave}"
            key = keys.get(f"{where}/{element.notehead}", keys.get(where))
            if key is not None:
                element.storedInstrument = instrument.UnpitchedPercussion()
                element.storedInstrument.percMapPitch = key
        piece = piece_from_stream(part, source=source, drop_drums=not drums)
        if piece.notes:
            program = 0 if drums or program is None else program
            tracks.append(Track(piece, program=int(program), name=name, is_drum=drums))
    tempo = tracks[0].piece.tempo if tracks else 120.0
    signature, signature_changes, pickup = _stream_metre(parsed)
    tracks = [  # each track's piece carries the score's metre map
        replace(
            t,
            piece=replace(
                t.piece,
                time_signature=signature,
                time_signature_changes=signature_changes,
                pickup=pickup,
            ),
        )
        for t in tracks
    ]
    return Score(
        tuple(tracks),
        tempo=tempo,
        time_signature=signature,
        source=source,
        time_signature_changes=signature_changes,
        pickup=pickup,
    )


def _drum_chord_tie(element: Any) -> Any:
    """The tie of a drum chord (music21 ties a ``PercussionChord``, not its hits), else None."""
    from music21 import percussion

    return element.tie if isinstance(element, percussion.PercussionChord) else None


def _drum_keys(file: Path) -> dict[str, dict[str, int]]:
    """Per part name of a MusicXML file: the drum key of each display position of its drums.

    A position is keyed with its notehead too (``G5/circle-x``: an open hi-hat
    where ``G5/x`` is a closed one), and alone (``G5``: its first key).

    music21 keeps one instrument per part and no key on an unpitched note, so
    each note's ``<instrument id>`` is looked up in its part's
    ``<midi-unpitched>`` (1-based) here. Not MusicXML, or unreadable: ``{}``.
    """
    import xml.etree.ElementTree as ET
    import zipfile

    try:
        if zipfile.is_zipfile(file):  # .mxl: the container names the score
            root = ET.fromstring(_archived_score(file))
        else:
            root = ET.parse(file).getroot()
    except (OSError, KeyError, ValueError, ET.ParseError, zipfile.BadZipFile):
        return {}
    parts = {part.get("id"): part for part in root.iter("part")}  # ids hold any character
    keys: dict[str, dict[str, int]] = {}
    for score_part in root.iter("score-part"):
        unpitched = {
            midi.get("id"): _midi_number(midi.findtext("midi-unpitched")) - 1
            for midi in score_part.iter("midi-instrument")
        }
        name = score_part.findtext("part-name", "").strip()
        part = parts.get(score_part.get("id"))
        for mx_note in part.iter("note") if part is not None else ():
            display = mx_note.find("unpitched")
            instrument = mx_note.find("instrument")
            key = unpitched.get(instrument.get("id") if instrument is not None else None, -1)
            if display is not None and 0 <= key <= 127:
                step = display.findtext("display-step", "")
                where = f"{step.strip()}{display.findtext('display-octave', '').strip()}"
                head = (mx_note.findtext("notehead") or "normal").strip()
                keys.setdefault(name, {}).setdefault(f"{where}/{head}", key)  # open hi-hat
                keys[name].setdefault(where, key)  # a place alone: its first key
    return keys


def _archived_score(file: Path) -> bytes:
    """The score of a compressed MusicXML file: the one its container names, else its first XML.

    Raises:
        KeyError, ValueError, zipfile.BadZipFile: not such an archive.
    """
    import posixpath
    import xml.etree.ElementTree as ET
    import zipfile

    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        if "META-INF/container.xml" in names:
            rootfile = ET.fromstring(archive.read("META-INF/container.xml")).find(".//rootfile")
            if rootfile is not None and rootfile.get("full-path") in names:
                return archive.read(rootfile.get("full-path", ""))
        for name in names:  # as music21: the first MusicXML file outside META-INF
            if not name.startswith("META-INF") and posixpath.splitext(name)[1].lower() in (
                ".xml",
                ".musicxml",
            ):
                return archive.read(name)
    raise ValueError("a zip archive without a MusicXML score")


def _midi_number(text: str | None) -> int:
    """A MusicXML MIDI field's number (1-based, as written), or 0 when it holds no whole number.

    Examples:
        >>> _midi_number(" 37 "), _midi_number("abc"), _midi_number(None), _midi_number("1.5")
        (37, 0, 0, 0)
    """
    try:
        return int((text or "0").strip() or 0)
    except ValueError:
        return 0

"""Notation: a `Piece` or a `Score` as an engraved music21 score, and as a MusicXML file.

`piece_to_stream` (`musegen.io.writing`) is the lower level: one music21
part of a piece's events as they are, for analysis and for music21's own
tools. `to_notation` is what a reader of the score wants to see, and
`write_musicxml` writes it:

- a title (the one given, else the source file's name, else ``"musegen"``);
- a key signature: the file's own (`Score.key_signatures`), else the key
  music21 finds in the notes (``analyze("key")``), and each pitch spelt in
  it (F# and C# in B minor, never Gb and Db; a chromatic note with the key's
  own accidental: sharps in a sharp key, flats in a flat key), the
  accidentals music21 draws (``makeAccidentals``) only where the key and the
  bar call for them;
- staves from the range: a piece on one staff with the clef that suits it,
  else on a piano's two staves (treble and bass, braced, each chord split
  between them); a score a staff per track, named by the track (else its
  General MIDI instrument), its clef from its range, a keyboard that needs
  two staves on two; four tracks of voices (Soprano, Alto, Tenor, Bass) on
  treble, treble, tenor-treble (8vb) and bass clefs; drums on a percussion
  staff;
- bars that add up (a pickup as a short measure 0), notes tied across bar
  lines, overlapping notes in voices of their own; a zero-length note as a
  grace note, and pitches 0 to 11 kept as they are (octave -1).

music21 lays out the measures, ties and accidentals (``makeNotation``); this
module chooses what it cannot: the key, the spelling, the staves and clefs.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from musegen._files import atomic_save
from musegen.events import Event, Piece
from musegen.io._channels import PLACEHOLDER
from musegen.io.tracks import Score, Track
from musegen.io.writing import _bar_end, _fill_voices, _signatures, _voices, _with_pickup

__all__ = ["to_notation", "write_musicxml"]

_EPS = 1e-9
_LETTERS = "CDEFGAB"
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_STEP_OF_PC = (0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6)  # the diatonic step of a pitch class, sharps
_STAFF_LINES = {  # clef: the diatonic step (octave * 7 + step) of its bottom and top lines
    "treble": (4 * 7 + 2 + 7, 5 * 7 + 3 + 7),  # E4 .. F5
    "bass": (2 * 7 + 4 + 7, 3 * 7 + 5 + 7),  # G2 .. A3
    "alto": (3 * 7 + 3 + 7, 4 * 7 + 4 + 7),  # F3 .. G4
    "treble8vb": (3 * 7 + 2 + 7, 4 * 7 + 3 + 7),  # E3 .. F4 (sounding)
}
_MOST_LEDGER_LINES = 3
"""The most ledger lines a note may need for its music to go on one staff."""
_VOICE_NAMES = ("soprano", "alto", "tenor", "bass")
_VOICE_PROGRAMS = {0, 52, 53, 54}  # piano (no program stated), choir aahs, voice oohs, synth voice
_KEYBOARDS = set(range(0, 8)) | set(range(16, 24))  # pianos, organs: two staves when needed
_DRUM_DISPLAY = {  # General MIDI drum key: (display position, notehead) on a percussion staff
    35: ("F4", "normal"), 36: ("F4", "normal"), 37: ("C5", "x"), 38: ("C5", "normal"),
    39: ("D5", "x"), 40: ("C5", "normal"), 41: ("A4", "normal"), 42: ("G5", "x"),
    43: ("A4", "normal"), 44: ("D4", "x"), 45: ("B4", "normal"), 46: ("G5", "circle-x"),
    47: ("D5", "normal"), 48: ("E5", "normal"), 49: ("A5", "x"), 50: ("E5", "normal"),
    51: ("F5", "x"), 52: ("B5", "x"), 53: ("F5", "diamond"), 54: ("E5", "x"),
    55: ("B5", "x"), 56: ("E5", "triangle"), 57: ("A5", "x"), 59: ("F5", "x"),
}  # fmt: skip


@dataclass
class _Staff:
    """One staff to engrave: its events, clef and instrument."""

    events: list[Event]
    clef: str
    name: str = ""
    program: int = 0
    is_drum: bool = False
    group: int | None = None  # staves of one instrument (a piano's two) share a group number
    drums: dict[int, tuple[str, str]] | None = None  # drum key: (display, notehead), all apart


def to_notation(music: Piece | Score, *, title: str | None = None) -> Any:
    """`music` as a music21 ``Score`` laid out for reading: key, staves, clefs, spelling, bars.

    See the module's description for what is chosen; music21 lays the
    measures, ties, beams and accidentals. Show it with ``.show()``, write it
    with ``.write("musicxml", path)`` (or `write_musicxml`).

    Args:
        music: A piece (one instrument: on one staff, or on a piano's two) or a
            score (a staff per track).
        title: The title; default: the stem of ``music.source`` (the file it
            was read from), else ``"musegen"``.

    Returns:
        A music21 ``stream.Score``, its parts in measures.

    Examples:
        >>> chorale = Piece((Event(0, 2, (45, 57, 64, 73)), Event(2, 2, (40, 56, 64, 71)),
        ...                  Event(4, 4, (45, 57, 64, 73))))
        >>> score = to_notation(chorale, title="Two chords")
        >>> score.metadata.title, len(score.parts)
        ('Two chords', 2)
        >>> [part.recurse().getElementsByClass("Clef").first().sign for part in score.parts]
        ['G', 'F']
        >>> score.parts[0].recurse().getElementsByClass("KeySignature").first().sharps
        3
    """
    return _engraved(music, title)[0]


def _engraved(music: Piece | Score, title: str | None) -> tuple[Any, list[_Staff]]:
    """`to_notation`'s score, and the staves it laid out (`write_musicxml` keys their drums)."""
    from music21 import instrument, layout, metadata, stream, tempo

    score = stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = _title(music, title)
    staves = _staves(music)
    keys = _keys(music)
    metre = (music.time_signature, music.time_signature_changes, music.pickup)
    groups: dict[int, list[Any]] = {}
    for number, staff in enumerate(staves):
        part = _part(staff, keys, metre)
        if number == 0:
            tempos = [(0.0, music.tempo)]
            if isinstance(music, Score):
                tempos += list(music.tempo_changes)
            for at, bpm in tempos:
                _insert_in_measure(part, at, tempo.MetronomeMark(number=round(bpm, 2)))
        if staff.group is not None:
            groups.setdefault(staff.group, []).append(part)
        score.insert(0, part)
    for members in groups.values():
        if len(members) > 1:
            group = layout.StaffGroup(members, symbol="brace", barTogether=True)
            group.name = members[0].partName
            score.insert(0, group)
    if not staves:  # nothing to show: one staff of rests
        part = stream.Part()
        part.insert(0, instrument.Piano())
        score.insert(0, part)
    return score, staves


def write_musicxml(
    music: Piece | Score, path: str | os.PathLike[str], *, title: str | None = None
) -> Path:
    """Write `music` as a MusicXML file laid out by `to_notation`, atomically.

    No half-written file is left behind: music21 writes a temporary file
    beside `path`, which then takes its place.

    Args:
        music: A piece or a score.
        path: Where to write (``.musicxml``; ``.xml`` works too).
        title: The title; default: the source file's stem, else ``"musegen"``.

    Returns:
        The path written.

    Examples:
        >>> import tempfile, pathlib
        >>> from music21 import converter
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> tune = Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([62, 66, 69, 73, 74])))
        >>> out = write_musicxml(tune, folder / "tune.musicxml", title="Scale")
        >>> back = converter.parse(out)
        >>> back.metadata.bestTitle
        'Scale'
        >>> back.recurse().getElementsByClass("KeySignature").first().sharps
        2
        >>> [n.pitch.nameWithOctave for n in back.recurse().notes]
        ['D4', 'F#4', 'A4', 'C#5', 'D5']
    """
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    score, staves = _engraved(music, title)
    with contextlib.redirect_stderr(io.StringIO()) as said:  # a band of over 16 parts: its
        data = GeneralObjectExporter(score).parse()  # bytes, as .write("musicxml") writes them
    for line in said.getvalue().splitlines():  # warnings of midi channels it runs out of
        if line.strip() and "out of midi channels" not in line:
            print(line, file=sys.stderr)
    data = _with_drum_keys(data, [s.drums or {} for s in staves if s.is_drum])
    # music21 names itself the composer of a score that names none: no one is named
    data = re.sub(rb"\s*<creator type=\"composer\">Music21</creator>", b"", data, count=1)
    return atomic_save(path, lambda tmp: tmp.write_bytes(data))


# -- what to show: the title, the keys ------------------------------------------------------------


def _title(music: Piece | Score, title: str | None) -> str:
    if title:
        return title
    stem = Path(music.source).stem if music.source else ""
    return stem or "musegen"


def _keys(music: Piece | Score) -> list[tuple[float, Any]]:
    """(offset, music21 ``Key``): the file's key signatures, else the key of the notes."""
    from music21 import key

    stated = list(music.key_signatures) if isinstance(music, Score) else []
    found = []
    for at, name in stated:
        tonic, _, mode = name.partition(" ")
        try:
            found.append((float(at), key.Key(tonic.replace("b", "-"), mode or "major")))
        except Exception:  # a name music21 does not read: left to the analysis
            continue
    if found:
        if found[0][0] > _EPS:  # the first stated key holds from the start
            found[0] = (0.0, found[0][1])
        return found
    return [(0.0, _analysed_key(music))]


def _analysed_key(music: Piece | Score) -> Any:
    """The key music21 finds in the pitched notes (Krumhansl-Schmuckler), C major for none."""
    from music21 import chord, key, stream

    piece = music.merged() if isinstance(music, Score) else music
    notes: Any = stream.Stream()
    for event in piece.notes:
        if event.duration <= 0:
            continue
        element = chord.Chord(quarterLength=event.duration)
        element.add(list(_pitches(event.pitches, {})))
        notes.insert(event.offset, element)
    if not notes:
        return key.Key("C")
    try:
        return notes.analyze("key")
    except Exception:  # an analysis music21 cannot make
        return key.Key("C")


def _spelling(found: Any) -> dict[int, tuple[str, int]]:
    """Pitch class: (letter, alteration) in the key `found`: its scale, else its direction.

    A minor key's raised sixth and seventh are its own; a note outside the key
    is a natural where one is, else sharp in a sharp key (and C major, A minor:
    C#, F#, G#; Eb, Bb), flat in a flat key.

    Examples:
        >>> from music21 import key
        >>> table = _spelling(key.Key("b"))
        >>> [table[pc] for pc in (6, 1, 10, 0, 3)]
        [('F', 1), ('C', 1), ('A', 1), ('C', 0), ('D', 1)]
        >>> [table[pc] for pc in (1, 3, 6, 8, 11)] == [table[pc] for pc in (1, 3, 6, 8, 11)]
        True
        >>> _spelling(key.Key("F"))[6], _spelling(key.Key("g"))[6]
        (('G', -1), ('F', 1))
    """
    table: dict[int, tuple[str, int]] = {}
    degrees = [(p.step, int(p.alter)) for p in found.pitches[:7]]
    for letter, alter in degrees:
        table[(_LETTER_PC[letter] + alter) % 12] = (letter, alter)
    if found.mode == "minor":  # the raised sixth and seventh
        for letter, alter in degrees[5:7]:
            table.setdefault((_LETTER_PC[letter] + alter + 1) % 12, (letter, alter + 1))
    sharps = int(found.sharps)
    plain = {1: ("C", 1), 3: ("E", -1), 6: ("F", 1), 8: ("G", 1), 10: ("B", -1)}
    for pc in range(12):
        if pc in table:
            continue
        naturals = [letter for letter in _LETTERS if _LETTER_PC[letter] == pc]
        if naturals:
            table[pc] = (naturals[0], 0)
        elif sharps > 0:
            table[pc] = (_LETTERS[_STEP_OF_PC[pc]], 1)
        elif sharps < 0:
            table[pc] = (_LETTERS[(_STEP_OF_PC[pc] + 1) % 7], -1)
        else:
            table[pc] = plain[pc]
    return table


def _pitches(pitches: Sequence[int], table: dict[int, tuple[str, int]]) -> list[Any]:
    """music21 pitches of MIDI numbers, spelt by `table` (sharps where it has none).

    Each pitch is built from its letter, alteration and octave, never from a
    number (music21 reads a number under 12 as a pitch class of octave 4).

    Examples:
        >>> [p.nameWithOctave for p in _pitches([0, 11, 61, 70], {10: ("B", -1)})]
        ['C-1', 'B-1', 'C#4', 'B-4']
        >>> [p.midi for p in _pitches([0, 11, 61, 70], {10: ("B", -1)})]
        [0, 11, 61, 70]
    """
    from music21 import pitch

    made = []
    for midi in pitches:
        plain = _LETTERS[_STEP_OF_PC[midi % 12]]
        letter, alter = table.get(midi % 12) or (plain, midi % 12 - _LETTER_PC[plain])
        p = pitch.Pitch(letter)
        if alter:
            p.accidental = pitch.Accidental(alter)
        p.octave = (midi - _LETTER_PC[letter] - alter) // 12 - 1
        assert p.midi == midi, (midi, letter, alter)
        made.append(p)
    return made


# -- which staves: clefs from the range, a piano's two staves, voices, drums ----------------------


def _step(midi: int) -> int:
    """The diatonic step of a MIDI pitch (octave * 7 + step, C-1 is 0), spelt with sharps."""
    return (midi // 12) * 7 + _STEP_OF_PC[midi % 12]


def _ledger_lines(midi: int, clef: str) -> int:
    """Ledger lines a pitch needs on a staff of `clef`.

    Examples:
        >>> [_ledger_lines(m, "treble") for m in (64, 62, 60, 57, 81, 84)]
        [0, 0, 1, 2, 1, 2]
        >>> [_ledger_lines(m, "bass") for m in (43, 40, 57, 60, 64)]
        [0, 1, 0, 1, 2]
    """
    bottom, top = _STAFF_LINES[clef]
    step = _step(midi)
    return max(bottom - step, step - top, 0) // 2


def _best_clef(pitches: Sequence[int], candidates: Sequence[str]) -> tuple[str, int]:
    """The clef of `candidates` asking the fewest ledger lines of `pitches`, and the most one needs.

    Of clefs asking as few, the first; with no pitches, the first.
    """
    if not pitches:
        return candidates[0], 0
    scored = [(sum(_ledger_lines(p, c) for p in pitches), i, c) for i, c in enumerate(candidates)]
    _, _, clef = min(scored)
    return clef, max(_ledger_lines(p, clef) for p in pitches)


def _staves(music: Piece | Score) -> list[_Staff]:
    if isinstance(music, Piece):
        return _pitched_staves(list(music.notes), "", 0, group=0)
    tracks = _ordered([t for t in music.tracks if t.piece.notes])
    bars = music.merged(drums=True).bar_lines(music.duration + 1.0)
    if _is_choir(tracks):
        return [
            _Staff(list(t.piece.notes), clef, _name(t), t.program)
            for t, clef in zip(tracks, ("treble", "treble", "treble8vb", "bass"), strict=True)
        ]
    staves: list[_Staff] = []
    names = _numbered([_name(t) for t in tracks])
    for number, (track, name) in enumerate(zip(tracks, names, strict=True)):
        events = list(track.piece.notes)
        if track.is_drum:
            keys = {p for e in events for p in e.pitches}
            hits = _drum_hits(events, bars)
            staves.append(
                _Staff(hits, "percussion", name, track.program, True, drums=_drum_positions(keys))
            )
            continue
        staves += _pitched_staves(events, name, track.program, group=number)
    return staves


def _pitched_staves(events: list[Event], name: str, program: int, group: int) -> list[_Staff]:
    """One staff for `events` where a clef holds them, else a piano's two (a keyboard, a piece)."""
    pitches = [p for e in events for p in e.pitches]
    candidates = ["treble", "bass"]
    if program == 41:  # the viola reads the alto clef
        candidates = ["alto", "treble"]
    elif 24 <= program <= 31:  # guitars are written an octave up, on a treble-8vb clef
        candidates = ["treble8vb", "treble", "bass"]
    clef, most = _best_clef(pitches, candidates)
    keyboard = not name or program in _KEYBOARDS
    if most <= _MOST_LEDGER_LINES or not keyboard:
        return [_Staff(events, clef, name, program)]
    upper, lower = _split(events)
    return [
        _Staff(upper, "treble", name, program, group=group),
        _Staff(lower, "bass", name, program, group=group),
    ]


def _split(events: list[Event]) -> tuple[list[Event], list[Event]]:
    """`events` on a piano's two staves: each chord split where the fewest ledger lines are drawn.

    Of splits as good, the one nearest an even split of the chord; a pitch at
    or above middle C alone goes up. Each part keeps the event's time and velocity.

    Examples:
        >>> events = [Event(0, 1, (45, 57, 64, 73)), Event(1, 1, (60,)), Event(2, 1, (55,))]
        >>> up, down = _split(events)
        >>> [e.pitches for e in up], [e.pitches for e in down]
        ([(64, 73), (60,)], [(45, 57), (55,)])
    """
    upper: list[Event] = []
    lower: list[Event] = []
    for event in events:
        pitches = event.pitches
        best: tuple[float, int] | None = None
        for cut in range(len(pitches) + 1):
            cost = sum(_ledger_lines(p, "bass") for p in pitches[:cut])
            cost += sum(_ledger_lines(p, "treble") for p in pitches[cut:])
            balance = abs(len(pitches) - 2 * cut) if len(pitches) > 1 else 0
            low_c = len(pitches) == 1 and pitches[0] >= 60 and cut  # middle C and up: the treble
            score = cost + 2.0 * balance + (0.5 if low_c else 0.0)
            if best is None or score < best[0]:
                best = (score, cut)
        cut = best[1] if best else 0
        if cut:
            lower.append(Event(event.offset, event.duration, pitches[:cut], event.velocity))
        if cut < len(pitches):
            upper.append(Event(event.offset, event.duration, pitches[cut:], event.velocity))
    return upper, lower


def _ordered(tracks: list[Track]) -> list[Track]:
    """The tracks in score order: as given, the tracks of one family high to low, drums last.

    A band's strings written cello first are shown violin first.
    """
    pitched = [t for t in tracks if not t.is_drum]
    by_family: dict[str, list[Track]] = {}
    for track in pitched:
        by_family.setdefault(track.family, []).append(track)
    for members in by_family.values():
        members.sort(key=lambda t: -statistics.median(p for e in t.piece.notes for p in e.pitches))
    ordered = [by_family[t.family].pop(0) for t in pitched]
    return ordered + [t for t in tracks if t.is_drum]


def _is_choir(tracks: list[Track]) -> bool:
    """Four tracks of voices: named Soprano, Alto, Tenor, Bass, or sung lines high to low."""
    if len(tracks) != 4 or any(t.is_drum for t in tracks):
        return False
    names = [re.sub(r"[^a-z]", "", t.name.lower()) for t in tracks]
    if all(n.startswith(v) for n, v in zip(names, _VOICE_NAMES, strict=True)):
        return True
    if any(t.program not in _VOICE_PROGRAMS for t in tracks):
        return False
    medians = [statistics.median(p for e in t.piece.notes for p in e.pitches) for t in tracks]
    lines = all(len(e.pitches) == 1 for t in tracks for e in t.piece.notes)
    ranges = [(min(p for e in t.piece.notes for p in e.pitches),
               max(p for e in t.piece.notes for p in e.pitches)) for t in tracks]  # fmt: skip
    high_to_low = medians == sorted(medians, reverse=True)
    return lines and high_to_low and ranges[3][0] >= 36 and ranges[0][1] <= 84


def _name(track: Track) -> str:
    """The track's name, else its General MIDI instrument's (a name like ``p40`` says nothing)."""
    if not PLACEHOLDER.fullmatch(track.name):  # the rule write_midi names tracks by
        return track.name
    if track.is_drum:
        return "Drums"
    from music21 import instrument

    try:
        return str(instrument.instrumentFromMidiProgram(track.program).instrumentName)
    except Exception:
        return f"Program {track.program}"


# -- one staff as a music21 part ------------------------------------------------------------------


def _part(
    staff: _Staff,
    keys: list[tuple[float, Any]],
    metre: tuple[str, tuple[tuple[float, str], ...], float],
) -> Any:
    """`staff` as a music21 part in measures: instrument, clef, keys, metre, voices, ties."""
    from music21 import clef, instrument, meter, stream

    part = stream.PartStaff() if staff.group is not None else stream.Part()
    if staff.is_drum:
        own: Any = instrument.UnpitchedPercussion()
        own.midiChannel = 9
    else:
        try:
            own = instrument.instrumentFromMidiProgram(staff.program)
        except Exception:
            own = instrument.Piano()
        if isinstance(own, instrument.UnpitchedPercussion):  # an agogo, a taiko: pitched in MIDI
            pitched = instrument.Instrument(str(own.instrumentName))
            pitched.midiProgram = staff.program
            own = pitched
        own.transposition = None  # a score in concert pitch: the notes are the sounding ones
    if staff.name:
        own.partName = staff.name
        part.partName = staff.name
        own.partAbbreviation = part.partAbbreviation = _abbreviation(staff.name, own)
    part.insert(0, own)
    part.insert(0, {
        "treble": clef.TrebleClef, "bass": clef.BassClef, "alto": clef.AltoClef,
        "treble8vb": clef.Treble8vbClef, "percussion": clef.PercussionClef,
    }[staff.clef]())  # fmt: skip
    if not staff.is_drum:
        for at, found in keys:
            part.insert(at, found.__class__(found.tonic.name, found.mode))
    time_signature, changes, pickup = metre
    for at, text in _signatures(time_signature, changes, pickup):
        try:
            part.insert(at, meter.TimeSignature(text))
        except Exception:  # a metre music21 does not read: its default
            pass
    _fill(part, staff, keys)
    measured = (
        _with_pickup(part)
        if _signatures(time_signature, changes, pickup)[0][1] != time_signature
        else part.makeNotation()
    )
    _plain_rests(measured)
    if staff.is_drum:
        return measured
    measured.makeAccidentals(inPlace=True, cautionaryNotImmediateRepeat=False)
    return measured


def _plain_rests(part: Any) -> None:
    """Split each rest of two dots or more into rests on the beat (an eighth, a quarter, a half).

    A rest of 3.5 quarter notes after an eighth note reads as an eighth, a
    quarter and a half rest, not a double-dotted half.
    """
    from music21 import note

    for rest in list(part.recurse().getElementsByClass(note.Rest)):
        if rest.duration.dots < 2 or rest.duration.isGrace:
            continue
        site, at, left = rest.activeSite, float(rest.offset), float(rest.quarterLength)
        pieces = []
        while left > _EPS:
            size = next(
                (
                    d
                    for d in (4.0, 2.0, 1.0, 0.5, 0.25, 0.125)
                    if d <= left + _EPS and at % d < _EPS
                ),
                None,
            )
            if size is None:
                break
            pieces.append((at, size))
            at, left = at + size, left - size
        if left > _EPS:  # not on the grid of halves: left as it is
            continue
        site.remove(rest)
        for start, size in pieces:
            plain = note.Rest(quarterLength=size)
            plain.style.hideObjectOnPrint = rest.style.hideObjectOnPrint
            site.insert(start, plain)


def _fill(part: Any, staff: _Staff, keys: list[tuple[float, Any]]) -> None:
    """The staff's events into `part` (or its voices), rests between, zero-length ones as graces."""
    tables = [(at, _spelling(found)) for at, found in keys]
    chords: dict[tuple[float, float], Event] = {}  # notes that differ only in loudness: a chord
    for e in staff.events:
        if e.duration > _EPS:
            key = (round(e.offset, 6), round(e.duration, 6))
            both = chords.get(key)
            chords[key] = (
                e
                if both is None
                else Event(
                    e.offset, e.duration, both.pitches + e.pitches, max(both.velocity, e.velocity)
                )
            )
    sounding = list(chords.values())
    graces = [e for e in staff.events if e.duration <= _EPS]
    voices = _voices(sounding)
    last_end = max((v[-1].end for v in voices), default=0.0)
    last_end = max([last_end, *(g.offset for g in graces)])
    whole_bars = _bar_end(part, last_end) if last_end > 0 else 0.0
    if not voices and graces:
        voices = [[]]
    targets = _fill_voices(part, voices, whole_bars, lambda e: _element(e, staff, tables))
    for event in graces:  # in the first voice, before what starts there
        targets[0].insert(event.offset, _element(event, staff, tables).getGrace())


def _element(
    event: Event, staff: _Staff, tables: list[tuple[float, dict[int, tuple[str, int]]]]
) -> Any:
    """A music21 note or chord of `event` (unpitched on a drum staff), spelt in the key there."""
    from music21 import chord, note, percussion

    length = max(event.duration, 0.0)
    if staff.is_drum:
        hits = []
        for key_number in event.pitches:
            display, head = (staff.drums or {}).get(key_number) or _drum_positions([key_number])[
                key_number
            ]
            hit = note.Unpitched(displayName=display, quarterLength=length)
            hit.notehead = head
            hits.append(hit)
        element: Any = (
            hits[0] if len(hits) == 1 else percussion.PercussionChord(hits, quarterLength=length)
        )
    else:
        table = next(t for at, t in reversed(tables) if at <= event.offset + _EPS) if tables else {}
        pitches = _pitches(event.pitches, table)
        if len(pitches) == 1:
            element = note.Note(pitches[0], quarterLength=length)
        else:
            element = chord.Chord(pitches, quarterLength=length)
    element.volume.velocity = event.velocity
    return element


def _insert_in_measure(part: Any, at: float, element: Any) -> None:
    """Put `element` in the measure of `part` that holds offset `at`."""
    from music21 import stream

    for measure in part.getElementsByClass(stream.Measure):
        start = float(measure.offset)
        length = float(measure.highestTime or measure.barDuration.quarterLength)
        if start - _EPS <= at < start + length - _EPS:
            measure.insert(at - start, element)
            return
    measures = list(part.getElementsByClass(stream.Measure))
    if measures:
        measures[-1].insert(0, element)


# -- names and drums ------------------------------------------------------------------------------


def _numbered(names: list[str]) -> list[str]:
    """Names that repeat numbered, as a score names its parts: ``Violin 1``, ``Violin 2``.

    Examples:
        >>> _numbered(["Violin", "Violin", "Viola", "Drums"])
        ['Violin 1', 'Violin 2', 'Viola', 'Drums']
    """
    counts = {n: names.count(n) for n in names}
    seen: dict[str, int] = {}
    numbered = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        numbered.append(f"{name} {seen[name]}" if counts[name] > 1 else name)
    return numbered


def _abbreviation(name: str, played: Any = None) -> str:
    """A staff's short name on the later systems: the instrument's (``Vla``, ``Vln 2``), else cut.

    A name that starts with its instrument's name (`played`, a music21
    instrument) gets that instrument's abbreviation, and its number; another
    name its first three letters (``Sop.``), or itself when short.

    Examples:
        >>> from music21 import instrument as i
        >>> _abbreviation("Violin 2", i.Violin()), _abbreviation("Viola", i.Viola())
        ('Vln 2', 'Vla')
        >>> _abbreviation("Soprano"), _abbreviation("Oud")
        ('Sop.', 'Oud')
    """
    own = str(getattr(played, "instrumentName", "") or "")
    short = str(getattr(played, "instrumentAbbreviation", "") or "")
    if own and short and name.startswith(own):
        return f"{short}{name[len(own) :]}"
    return name if len(name) <= 4 else name[:3] + "."


def _drum_positions(keys: Any) -> dict[int, tuple[str, str]]:
    """Each drum key's display position and notehead on one staff, no two keys alike.

    A key goes where `_DRUM_DISPLAY` puts it (an unknown key at E4), moved up a
    step while another key of the staff holds that place, so that the file
    can say which key each note is.

    Examples:
        >>> _drum_positions([35, 36, 42])
        {35: ('F4', 'normal'), 36: ('G4', 'normal'), 42: ('G5', 'x')}
    """
    taken: set[tuple[str, str]] = set()
    places = {}
    for key in sorted(keys):
        display, head = _DRUM_DISPLAY.get(key, ("E4", "normal"))
        step = int(display[1:]) * 7 + _LETTERS.index(display[0])
        while (display, head) in taken:
            step += 1
            display = f"{_LETTERS[step % 7]}{step // 7}"
        taken.add((display, head))
        places[key] = (display, head)
    return places


def _drum_name(key: int) -> str:
    """The General MIDI name of a drum key, as music21 knows it (``Drum 80`` else)."""
    from music21.midi.percussion import PercussionMapper

    try:
        return str(PercussionMapper().midiPitchToInstrument(key).instrumentName)
    except Exception:  # a key General MIDI names no drum for
        return f"Drum {key}"


def _with_drum_keys(data: bytes, staves: list[dict[int, tuple[str, str]]]) -> bytes:
    """The MusicXML `data` with each drum note's key: an instrument per key, as MusicXML says it.

    music21 keeps one instrument per part and no key on an unpitched note;
    each drum part here gets a ``<score-instrument>`` and ``<midi-instrument>``
    (``<midi-unpitched>``, 1-based) per key, and each of its notes the
    ``<instrument id>`` of its key, found by its place and notehead on the
    staff (`_drum_positions`). `staves` holds the drum staves' places in the
    order of the file's drum parts.
    """
    import xml.etree.ElementTree as ET

    if not any(staves):
        return data
    start = data.index(b"<score-partwise")
    root = ET.fromstring(data[start:])
    drum_parts = [part for part in root.iter("part") if part.find(".//unpitched") is not None]
    score_parts = {part.get("id"): part for part in root.iter("score-part")}
    for part, places in zip(drum_parts, staves, strict=False):
        number = part.get("id", "P")
        listed = score_parts.get(number)
        if listed is None:
            continue
        old = [c for c in listed if c.tag in ("score-instrument", "midi-instrument")]
        at = list(listed).index(old[0]) if old else len(listed)
        for child in old:
            listed.remove(child)
        ids = {place: f"{number}-I{key + 1}" for key, place in sorted(places.items())}
        made = []
        for key, place in sorted(places.items()):
            named = ET.Element("score-instrument", id=ids[place])
            ET.SubElement(named, "instrument-name").text = _drum_name(key)
            made.append(named)
        for key, place in sorted(places.items()):
            midi = ET.Element("midi-instrument", id=ids[place])
            ET.SubElement(midi, "midi-channel").text = "10"
            ET.SubElement(midi, "midi-unpitched").text = str(key + 1)
            made.append(midi)
        for offset, element in enumerate(made):
            listed.insert(at + offset, element)
        for mx_note in part.iter("note"):
            display = mx_note.find("unpitched")
            if display is None:
                continue
            step, octave = (
                display.findtext("display-step", ""),
                display.findtext("display-octave", ""),
            )
            where = f"{step}{octave}"
            found = ids.get((where, mx_note.findtext("notehead", "normal")))
            if found is None:
                continue
            for stale in mx_note.findall("instrument"):
                mx_note.remove(stale)
            children = list(mx_note)
            after = [i for i, c in enumerate(children) if c.tag in ("unpitched", "duration", "tie")]
            mx_note.insert(max(after) + 1, ET.Element("instrument", id=found))
    return data[:start] + ET.tostring(root, encoding="unicode").encode()


def _drum_hits(events: list[Event], bars: list[float]) -> list[Event]:
    """Drum events as a drummer reads them: the hits at one onset one chord, none tied.

    A drum sounds as struck: each chord lasts until the next hit (at most its
    own length), and stops at the bar line, so that no hit is split and tied
    into two (music21 reads a tied drum chord back as two hits).

    Examples:
        >>> hits = _drum_hits([Event(0, 1, (36,)), Event(0, 0.25, (42,)), Event(3.5, 1, (38,))],
        ...                   [0.0, 4.0])
        >>> [(e.offset, e.duration, e.pitches) for e in hits]
        [(0.0, 1.0, (36, 42)), (3.5, 0.5, (38,))]
    """
    onsets: dict[float, list[Event]] = {}
    for event in events:
        onsets.setdefault(round(event.offset, 6), []).append(event)
    starts = sorted(onsets)
    hits = []
    for i, key in enumerate(starts):
        together = onsets[key]
        at = together[0].offset  # as the events have it: music21 splits a note 1e-7 off a third
        until = [max(e.duration for e in together)]
        if i + 1 < len(starts):
            until.append(onsets[starts[i + 1]][0].offset - at)
        until += [bar - at for bar in bars if bar > at + _EPS][:1]
        pitches = tuple(sorted({p for e in together for p in e.pitches}))
        velocity = max(e.velocity for e in together)
        length = round(max(min(until), 0.0) * 48) / 48  # 1/12, not 0.0833..26 (music21 splits it)
        hits.append(Event(at, length, pitches, velocity))
    return hits

"""Notation export on real music, each file read back by music21 (an independent reader).

The music: Bach's chorale BWV 66.6 and bars 1-8 of Haydn's quartet op. 74/1 iii
from music21's corpus, and a D-major tune of Aird's Airs, each written to MIDI by
music21 and read by musegen as a user's file is; a generated chorale.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from musegen.cli import main
from musegen.events import Event, Piece
from musegen.io.notation import to_notation, write_musicxml
from musegen.io.reading import read_midi, read_tracks
from musegen.io.tracks import Score, Track


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The corpus pieces as MIDI files, written by music21."""
    from music21 import corpus

    folder = tmp_path_factory.mktemp("notation")
    made = {
        "chorale": corpus.parse("bach/bwv66.6"),
        "quartet": corpus.parse("haydn/opus74no1/movement3").measures(1, 8),
        "tune": corpus.parse("airdsAirs/book1.abc", number=22),  # Jackson's Morning Brush, D
    }
    return {
        name: Path(music.write("midi", fp=folder / f"{name}.mid")) for name, music in made.items()
    }


def read_back(path: Path) -> Any:
    from music21 import converter

    return converter.parse(path, format="musicxml", forceSource=True)


def sounding(part: Any) -> list[tuple[float, int, float]]:
    """(onset, MIDI pitch, length) of each pitch of a music21 part or score, tied notes joined.

    Each note of a chord is joined on its own tie (music21's ``stripTies`` joins
    chords only where all their notes are tied).
    """
    found: list[tuple[float, int, float]] = []
    held: dict[int, list[float]] = {}  # pitch: [onset, length] of a note tied on
    for element in sorted(part.flatten().notes, key=lambda n: n.offset):
        onset, length = float(element.offset), float(element.quarterLength)
        for one in element.notes if element.isChord else [element]:
            midi, kind = one.pitch.midi, one.tie.type if one.tie is not None else None
            start = held.get(midi)
            if kind in ("stop", "continue") and start and abs(sum(start) - onset) < 1e-6:
                start[1] += length
            else:
                if start:
                    found.append((start[0], midi, start[1]))
                held[midi] = [onset, length]
            if kind in (None, "stop"):
                first, total = held.pop(midi)
                found.append((first, midi, total))
    found += [(start[0], midi, start[1]) for midi, start in held.items()]
    return sorted((round(at, 6), midi, round(length, 6)) for at, midi, length in found)


def expected(piece: Piece) -> list[tuple[float, int, float]]:
    return sorted(
        (round(e.offset, 6), p, round(e.duration, 6)) for e in piece.notes for p in e.pitches
    )


def clefs(score: Any) -> list[tuple[str, int]]:
    found = []
    for part in score.parts:
        first = part.recurse().getElementsByClass("Clef").first()
        found.append((first.sign, first.octaveChange))
    return found


def sharps(score: Any) -> set[int]:
    return {k.sharps for k in score.recurse().getElementsByClass("KeySignature")}


def test_a_chorale_piece_goes_on_a_treble_and_a_bass_staff_in_its_key(files, tmp_path) -> None:
    piece = read_midi(files["chorale"])
    assert min(p for e in piece.notes for p in e.pitches) < 48  # too wide for one staff
    back = read_back(write_musicxml(piece, tmp_path / "chorale.musicxml"))
    assert back.metadata.bestTitle == "chorale"  # the source file's name
    assert clefs(back) == [("G", 0), ("F", 0)]
    assert sharps(back) == {3}  # F# minor, found in the notes
    assert sounding(back) == expected(piece)
    names = {p.name for n in back.recurse().notes for p in n.pitches}
    assert not names & {"G-", "D-", "A-", "E-", "B-"}  # sharps in a sharp key


def test_a_chorale_of_four_tracks_goes_on_four_staves_of_voices(files, tmp_path) -> None:
    score = read_tracks(files["chorale"])
    assert score.key_signatures == ((0.0, "F# minor"),)
    back = read_back(write_musicxml(score, tmp_path / "satb.musicxml", title="BWV 66.6"))
    assert back.metadata.bestTitle == "BWV 66.6"
    assert [p.partName for p in back.parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert clefs(back) == [("G", 0), ("G", 0), ("G", -1), ("F", 0)]
    assert sharps(back) == {3}
    for part, track in zip(back.parts, score.tracks, strict=True):
        assert sounding(part) == expected(track.piece), track.name
    for part in back.parts:  # the bars add up to the metre
        for measure in part.getElementsByClass("Measure"):
            assert measure.duration.quarterLength == 4.0


def test_a_string_quartet_keeps_its_instruments_and_their_clefs(files, tmp_path) -> None:
    score = read_tracks(files["quartet"])
    back = read_back(write_musicxml(score, tmp_path / "quartet.musicxml"))
    assert [p.partName for p in back.parts] == ["Violin 1", "Violin 2", "Viola", "Violoncello"]
    assert clefs(back) == [("G", 0), ("G", 0), ("C", 0), ("F", 0)]
    assert sharps(back) == {0}  # the file's own key, C major
    for part, track in zip(back.parts, score.tracks, strict=True):
        assert sounding(part) == expected(track.piece), track.name
    programs = [i.midiProgram for p in back.parts for i in p.getInstruments()]
    assert programs == [40, 40, 41, 42]


def test_a_d_major_tune_shows_no_needless_accidental(files, tmp_path) -> None:
    piece = read_midi(files["tune"])
    back = read_back(write_musicxml(piece, tmp_path / "tune.musicxml"))
    assert len(back.parts) == 1 and clefs(back) == [("G", 0)]
    assert sharps(back) == {2}
    assert sounding(back) == expected(piece)
    in_key = {"D", "E", "F#", "G", "A", "B", "C#"}
    shown = 0
    for measure in back.parts[0].getElementsByClass("Measure"):
        altered: dict[tuple[str, int], float] = {}  # (step, octave): the alteration in force
        for element in measure.flatten().notes:
            for pitch in element.pitches:
                displayed = pitch.accidental is not None and pitch.accidental.displayStatus
                place = (pitch.step, pitch.octave)
                if displayed:
                    shown += 1
                    assert pitch.name not in in_key or place in altered, (measure.number, pitch)
                altered[place] = pitch.alter
    assert shown == 0  # the tune has no chromatic note


def test_pitches_are_spelt_in_the_key_the_file_states() -> None:
    tune = Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([71, 74, 78, 73, 70, 71, 66, 65])))
    score = Score((Track(tune, program=40, name="fiddle"),), key_signatures=((0.0, "B minor"),))
    notation = to_notation(score)
    names = [n.pitch.name for n in notation.recurse().notes]
    assert names == ["B", "D", "F#", "C#", "A#", "B", "F#", "F"]
    assert notation.metadata.title == "musegen"


def test_low_pitches_and_zero_length_notes_are_kept(tmp_path) -> None:
    piece = Piece((Event(0, 1, (0,)), Event(1, 1, (11,)), Event(2, 0, (67,)), Event(2, 2, (72,))))
    back = read_back(write_musicxml(piece, tmp_path / "edge.musicxml"))
    assert sounding(back) == expected(piece)
    graces = [n for n in back.recurse().notes if n.duration.isGrace]
    assert [(n.pitch.midi, float(n.getOffsetInHierarchy(back))) for n in graces] == [(67, 2.0)]


def test_a_pickup_is_measure_zero_and_notes_are_tied_across_bar_lines(tmp_path) -> None:
    piece = Piece((Event(0, 1, (67,)), Event(1, 3, (72,)), Event(4, 2, (74,))), pickup=1.0)
    back = read_back(write_musicxml(piece, tmp_path / "upbeat.musicxml"))
    measures = list(back.parts[0].getElementsByClass("Measure"))
    assert [m.number for m in measures] == [0, 1, 2]
    assert sounding(back) == expected(piece)
    tied = [n for n in back.recurse().notes if n.tie is not None]
    assert [(n.pitch.midi, n.tie.type) for n in tied] == [(74, "start"), (74, "stop")]


def test_drums_go_on_a_percussion_staff(tmp_path) -> None:
    from music21 import note

    beat = Piece(tuple(Event(i / 2, 0.5, (36, 42) if i % 4 == 0 else (42,)) for i in range(8)))
    bass = Piece((Event(0, 4, (40,)),))
    score = Score((Track(bass, program=33, name="bass"), Track(beat, name="kit", is_drum=True)))
    back = read_back(write_musicxml(score, tmp_path / "band.musicxml"))
    assert clefs(back) == [("F", 0), ("percussion", 0)]
    drums = back.parts[1].recurse().notes
    hits = [hit for n in drums for hit in getattr(n, "notes", [n])]
    assert len(drums) == 8 and len(hits) == 10 and all(isinstance(h, note.Unpitched) for h in hits)
    again = read_tracks(tmp_path / "band.musicxml").tracks
    assert [t.is_drum for t in again] == [False, True]
    # each hit keeps its key (review: hi-hat 42 came back as 79, kick 36 as 65)
    assert [(e.offset, e.pitches) for e in again[1].piece.notes] == [
        (e.offset, e.pitches) for e in beat.notes
    ]


def test_drums_that_share_a_place_and_a_pitched_agogo_read_back_as_themselves(tmp_path) -> None:
    """Kicks 35 and 36 on one staff stay apart; program 113 (an agogo) is pitched in MIDI.

    Review: a fill of triplet sixteenths and 32nds (1/6, then 1/12 that a float
    makes 0.0833...26) was split and shifted every later bar of the file; an
    open hi-hat (46, G5 circle-x) read back as a closed one (42, G5 x).
    """
    kit = Piece(
        (Event(0, 1, (35,)), Event(1, 1, (36,)), Event(2, 1, (81,)), Event(3.5, 1 / 6, (40,)),
         Event(3 + 2 / 3, 1 / 12, (40,)), Event(3.75, 0.25, (42,)), Event(4, 1, (46,)),
         Event(9, 1, (36,)))
    )  # fmt: skip
    agogo = Piece((Event(0, 1, (72,)), Event(1, 1, (74,))))
    score = Score((Track(agogo, program=113, name="Aux"), Track(kit, is_drum=True)))
    again = read_tracks(write_musicxml(score, tmp_path / "kit.musicxml")).tracks
    assert [(t.program, t.is_drum) for t in again] == [(113, False), (0, True)]
    assert [(round(e.offset, 6), e.pitches) for e in again[1].piece.notes] == [
        (round(e.offset, 6), e.pitches) for e in kit.notes
    ]
    assert [e.pitches for e in again[0].piece.notes] == [(72,), (74,)]


def test_a_transposing_instrument_is_written_at_concert_pitch(tmp_path) -> None:
    """Review: MuseScore played a trumpet and a tenor sax part a tone and a ninth too low."""
    line = Piece((Event(0, 1, (72,)), Event(1, 1, (74,))))
    score = Score((Track(line, program=56, name="Trumpet"), Track(line, program=66, name="Sax")))
    out = write_musicxml(score, tmp_path / "horns.musicxml")
    assert "<transpose>" not in out.read_text()
    assert [[e.pitches for e in t.piece.notes] for t in read_tracks(out).tracks] == [
        [(72,), (74,)],
        [(72,), (74,)],
    ]


def test_parts_of_one_name_are_numbered_and_a_chord_of_two_loudnesses_is_one_chord(
    tmp_path,
) -> None:
    """Review: two violins both read "Violin"; notes differing in velocity went to two voices."""
    first = Piece((Event(0, 1, (76,), 90), Event(0, 1, (79,), 60), Event(1, 1, (74,))))
    second = Piece((Event(0, 2, (67,)),))
    score = Score((Track(first, program=40), Track(second, program=40)))
    back = read_back(write_musicxml(score, tmp_path / "violins.musicxml"))
    assert [part.partName for part in back.parts] == ["Violin 1", "Violin 2"]
    assert not list(back.parts[0].recurse().getElementsByClass("Voice"))
    assert [len(n.pitches) for n in back.parts[0].recurse().notes] == [2, 1]


def test_the_export_command_writes_musicxml_and_names_a_bad_file(files, tmp_path, capsys) -> None:
    out = tmp_path / "bach.musicxml"
    assert main(["export", str(files["chorale"]), "--out", str(out), "--title", "BWV 66.6"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    back = read_back(out)
    assert back.metadata.bestTitle == "BWV 66.6" and len(back.parts) == 4
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a MIDI file at all")
    assert main(["export", str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("musegen: cannot read ") and "bad.mid" in err[0]
    assert not bad.with_suffix(".musicxml").exists()
    assert main(["export", str(out)]) == 0  # a MusicXML file: written beside it, not over it
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'bach-notation.musicxml'}"
    with pytest.raises(SystemExit) as refused:  # argparse: before anything is read
        main(["export", str(files["chorale"]), "--out", str(tmp_path / "x.mid")])
    assert refused.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0]


def test_generate_writes_the_notation_beside_the_midi_file(tmp_path, capsys) -> None:
    song = tmp_path / "song.mid"
    argv = ["generate", "musegen:chorales", "--bars", "2", "--seed", "0", "--musicxml"]
    assert main([*argv, "--out", str(song)]) == 0
    assert f"wrote {song.with_suffix('.musicxml')}" in capsys.readouterr().out
    back = read_back(song.with_suffix(".musicxml"))
    assert back.metadata.bestTitle == "song"
    assert sounding(back) == expected(read_midi(song))

"""`musegen infill` splices the new bars into the user's MIDI file: all else as symusic reads it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
import symusic

from musegen.events import Event
from musegen.io.reading import MidiReadError
from musegen.io.splice import bar_span, splice_gap, time_signature_at

Q = 480  # ticks per quarter of the band file


@pytest.fixture(scope="module")
def chorale(tmp_path_factory) -> Path:
    """Bach's BWV 66.6 written by music21 with its four parts: four named tracks."""
    from music21 import corpus

    path = tmp_path_factory.mktemp("chorale") / "chorale.mid"
    corpus.parse("bach/bwv66.6").write("midi", fp=path)
    return path


@pytest.fixture(scope="module")
def band(tmp_path_factory) -> Path:
    """Piano, bass, strings and drums (channel 10) under 64 tempo changes, two keys and a
    4/4 -> 3/4 change at bar 5, with sustain pedal and pitch bends."""
    score: Any = symusic.Score(Q)
    score.tempos.extend(symusic.Tempo(i * Q // 2, 90 + (i * 7) % 40) for i in range(64))
    score.key_signatures.extend(
        [symusic.KeySignature(0, 2, 0), symusic.KeySignature(28 * Q, -3, 1)]
    )
    score.time_signatures.extend(
        [symusic.TimeSignature(0, 4, 4), symusic.TimeSignature(16 * Q, 3, 4)]
    )
    parts = [
        ("Piano", 0, (64, 67, 71), Q),
        ("Bass", 33, (38, 45), Q),
        ("Strings", 48, (74, 79), 2 * Q),
    ]
    for name, program, pitches, step in parts:
        track: Any = symusic.Track(name, program, False)
        track.notes.extend(
            symusic.Note(t, step - Q // 8, pitches[(t // step) % len(pitches)], 60 + (t // Q) % 50)
            for t in range(0, 40 * Q, step)
        )
        track.controls.extend(
            symusic.ControlChange(t, 64, 127 * (t // Q % 2)) for t in range(0, 40 * Q, Q)
        )
        track.pitch_bends.extend(
            symusic.PitchBend(t + Q // 3, 512 * (t // Q % 3)) for t in range(0, 40 * Q, 4 * Q)
        )
        score.tracks.append(track)
    drums: Any = symusic.Track("Drums", 0, True)
    drums.notes.extend(
        symusic.Note(t, Q // 4, (36, 38, 42)[t // (Q // 2) % 3], 100)
        for t in range(0, 40 * Q, Q // 2)
    )
    score.tracks.append(drums)
    path = tmp_path_factory.mktemp("band") / "band.mid"
    score.dump_midi(str(path))
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path, start: float, end: float) -> dict[str, Any]:
    """What symusic reads of a file, in quarter notes: per track the notes outside and
    inside the gap, and the file's tracks, tempos, keys and time signatures."""
    score = symusic.Score(str(path))
    tpq = score.ticks_per_quarter

    def notes(track: Any, inside: bool) -> list[tuple[float, float, int, int]]:
        return sorted(
            (n.time / tpq, n.duration / tpq, n.pitch, n.velocity)
            for n in track.notes
            if (start <= n.time / tpq < end) == inside
        )

    return {
        "tracks": [(t.name, t.program, t.is_drum) for t in score.tracks],
        "outside": [notes(t, False) for t in score.tracks],
        "inside": [notes(t, True) for t in score.tracks],
        "tempos": [(t.time / tpq, round(t.qpm, 3)) for t in score.tempos],
        "keys": [(k.time / tpq, k.key, k.tonality) for k in score.key_signatures],
        "metres": [(m.time / tpq, m.numerator, m.denominator) for m in score.time_signatures],
        "controls": [[(c.time / tpq, c.number, c.value) for c in t.controls] for t in score.tracks],
        "bends": [[(b.time / tpq, b.value) for b in t.pitch_bends] for t in score.tracks],
    }


def _assert_spliced(source: Path, out: Path, start: float, end: float) -> tuple[dict, dict]:
    """Everything of `source` outside the gap is in `out` as it was; the gap's notes differ."""
    before, after = _read(source, start, end), _read(out, start, end)
    for key in ("tracks", "tempos", "keys", "metres", "controls", "bends"):
        assert after[key] == before[key], f"{key}: {before[key]} became {after[key]}"
    for name, old, new in zip(before["tracks"], before["outside"], after["outside"], strict=True):
        assert new == old, f"notes outside the gap of track {name} changed"
    assert after["inside"] != before["inside"]
    return before, after


def _chords_in(path: Path, start: float, end: float, shift: int) -> list[Event]:
    """The file's pitched notes that start in the gap, a chord per onset, moved `shift` semitones."""
    score = symusic.Score(str(path))
    tpq = score.ticks_per_quarter
    onsets: dict[int, list[Any]] = {}
    for track in score.tracks:
        for n in track.notes:
            if not track.is_drum and start <= n.time / tpq < end:
                onsets.setdefault(n.time, []).append(n)
    return [
        Event(t / tpq, min(n.duration for n in ns) / tpq, tuple(n.pitch + shift for n in ns), 70)
        for t, ns in sorted(onsets.items())
    ]


def test_bars_are_read_from_the_files_own_time_signatures(chorale, band) -> None:
    assert bar_span(chorale, 3, 4) == (8.0, 16.0)
    assert bar_span(band, 1, 4) == (0.0, 16.0)
    assert bar_span(band, 5, 6) == (16.0, 22.0)  # 3/4 from bar 5
    assert time_signature_at(band, 17.0) == "3/4" and time_signature_at(chorale, 9.0) == "4/4"
    with pytest.raises(ValueError, match="bar 20 is past the end of the music"):
        bar_span(band, 18, 20)
    with pytest.raises(ValueError, match="1 <= first <= last"):
        bar_span(band, 4, 3)


def test_a_chorales_new_notes_go_back_to_its_four_parts_and_nothing_else_moves(
    chorale, tmp_path
) -> None:
    start, end = bar_span(chorale, 3, 4)
    digest = _digest(chorale)
    new = _chords_in(chorale, start, end, shift=2)
    out = tmp_path / "out.mid"
    report = splice_gap(chorale, new, start, end, out, velocity="events")
    assert _digest(chorale) == digest
    before, after = _assert_spliced(chorale, out, start, end)
    assert [name for name, *_ in after["tracks"]] == ["Soprano", "Alto", "Tenor", "Bass"]
    wanted = sorted((e.offset, p) for e in new for p in e.pitches)
    assert sorted((t, p) for notes in after["inside"] for t, _, p, _ in notes) == wanted
    assert report.removed == sum(map(len, before["inside"])) and report.added == len(wanted)
    voices = {}  # (onset, pitch): the track it went to
    for index, notes in enumerate(after["inside"]):
        voices.update({(t, p): index for t, _, p, _ in notes})
    chords = [e for e in new if len(e.pitches) == 4]  # S, A, T and B at once, no unison
    assert len(chords) >= 8
    for e in chords:  # the soprano's note to the soprano, ..., the bass's to the bass
        assert [voices[e.offset, p] for p in e.pitches] == [3, 2, 1, 0]


def test_a_band_file_keeps_its_tempo_map_keys_metres_and_drums(band, tmp_path) -> None:
    start, end = bar_span(band, 6, 7)  # two bars of 3/4
    assert (start, end) == (19.0, 25.0)
    digest = _digest(band)
    new = [
        Event(19, 1, (40, 65, 75)),
        Event(20, 2, (43, 69)),
        Event(22.5, 2.5, (47, 76)),
        Event(24, 1, ()),
    ]
    out = tmp_path / "out.mid"
    report = splice_gap(band, new, start, end, out)
    assert _digest(band) == digest
    before, after = _assert_spliced(band, out, start, end)
    assert len(after["tempos"]) == 64 and len(after["keys"]) == 2
    assert after["inside"][3] == before["inside"][3]  # the drums' own, untouched
    import mido

    channels = {
        str(track.name): {m.channel for m in track if m.type == "note_on"}
        for track in mido.MidiFile(out).tracks
        if any(m.type == "note_on" for m in track)
    }
    assert channels["Drums"] == {9} and 9 not in channels["Piano"] | channels["Bass"]
    piano, bass, strings = ([p for _, _, p, _ in notes] for notes in after["inside"][:3])
    assert (sorted(bass), sorted(piano), sorted(strings)) == ([40, 43, 47], [65, 69], [75, 76])
    velocities = {v for notes in after["inside"][:3] for *_, v in notes}
    removed = [round(sum(v for *_, v in n) / len(n)) for n in before["inside"][:3]]
    assert velocities == set(removed)  # no velocity from the model: the removed notes' mean
    assert [(t.name, t.removed, t.added) for t in report.tracks] == [
        ("Piano", 6, 2), ("Bass", 6, 3), ("Strings", 3, 2)
    ]  # fmt: skip


def test_a_new_note_never_overlaps_a_kept_note_of_its_pitch(band, tmp_path) -> None:
    score = symusic.Score(str(band))
    held = next(n for n in score.tracks[2].notes if n.time < 19 * Q < n.time + n.duration)
    new = [Event(19.5, 1, (held.pitch,)), Event(24.5, 10, (64,))]  # held on; into the next 64
    report = splice_gap(band, new, 19, 25, tmp_path / "out.mid")
    assert report.added == 1
    spliced = symusic.Score(str(tmp_path / "out.mid"))
    (note,) = [n for n in spliced.tracks[0].notes if n.time == int(24.5 * Q)]
    following = min(n.time for n in score.tracks[0].notes if n.pitch == 64 and n.time > 25 * Q)
    assert note.pitch == 64 and note.time + note.duration == following == 27 * Q


def test_it_never_writes_over_the_source_and_refuses_events_outside_the_gap(
    chorale, tmp_path
) -> None:
    digest = _digest(chorale)
    for same in (chorale, chorale.parent / "." / chorale.name):
        with pytest.raises(ValueError, match="is the source file"):
            splice_gap(chorale, [Event(8, 1, (60,))], 8, 16, same)
    with pytest.raises(ValueError, match="start outside the gap"):
        splice_gap(chorale, [Event(16, 1, (60,))], 8, 16, tmp_path / "x.mid")
    assert _digest(chorale) == digest and not (tmp_path / "x.mid").exists()
    (tmp_path / "not.mid").write_text("not MIDI")
    with pytest.raises(MidiReadError, match=r"not\.mid.*not a MIDI file"):  # as the readers say
        splice_gap(tmp_path / "not.mid", [], 8, 16, tmp_path / "x.mid")


def test_the_infill_command_splices_into_the_chorales_four_tracks(
    chorale, tmp_path, capsys
) -> None:
    from musegen.cli import main

    out = tmp_path / "out.mid"
    digest = _digest(chorale)
    args = ["infill", "musegen:chorales", str(chorale), "--bars", "3:4", "--candidates", "4"]
    assert main([*args, "--seed", "0", "--out", str(out), "--png"]) == 0
    _, after = _assert_spliced(chorale, out, 8.0, 16.0)
    printed = capsys.readouterr().out
    assert re.search(
        r"bars 3-4: replaced 41 notes with \d+ in 4 tracks; everything else kept", printed
    )
    assert _digest(chorale) == digest and out.with_suffix(".png").is_file()
    assert len(after["tracks"]) == 4 and all(after["inside"])  # every voice sings in the gap
    assert main([*args, "--out", str(chorale)]) == 2
    assert "is the source file" in capsys.readouterr().err
    xml = tmp_path / "chorale.musicxml"
    xml.write_text("<score-partwise/>")
    assert main([*args[:2], str(xml), *args[3:], "--out", str(out)]) == 2
    assert "infill splices into MIDI files" in capsys.readouterr().err
    assert main([*args[:3], "--bars", "30:40", "--out", str(out)]) == 2
    assert "bar 40 is past the end of the music" in capsys.readouterr().err


@pytest.fixture(scope="module")
def quartet(tmp_path_factory) -> Path:
    """Eight bars of a Haydn quartet (3/4, four string tracks), as music21 writes it."""
    from music21 import corpus

    path = tmp_path_factory.mktemp("quartet") / "quartet.mid"
    corpus.parse("haydn/opus74no1/movement3").measures(1, 8).write("midi", fp=path)
    return path


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("which", ["chorale", "quartet"])
def test_infill_with_chords_keeps_the_file_and_fills_the_gap_on_the_chords(
    which, seed, chorale, quartet, tmp_path
) -> None:
    """Several seeds on two real multi-track files: the rest of the file as symusic read it,
    and every new note of the gap on the chord sounding at its onset (a bar each from the gap)."""
    from musegen.cli import main
    from musegen.generation.processors import ChordProgression

    source, metre, (start, end) = {
        "chorale": (chorale, "4/4", (8.0, 16.0)),
        "quartet": (quartet, "3/4", (6.0, 12.0)),
    }[which]
    out = tmp_path / "out.mid"
    args = ["infill", "musegen:chorales", str(source), "--bars", "3:4", "--candidates", "4",
            "--chords", "Am F", "--seed", str(seed), "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    _, after = _assert_spliced(source, out, start, end)
    chords = ChordProgression("Am F", time_signature=metre)
    new = [(t, p) for track in after["inside"] for t, _, p, _ in track]
    assert new and all(
        p % 12 in chords.pitch_classes[int(chords.chord_at(t - start))] for t, p in new
    )


def test_a_pickup_is_bar_0_as_scores_number_it() -> None:
    """Review: with a pickup, --bars 3:4 regenerated score measures 2-3."""
    import symusic

    score = symusic.Score(480)
    score.time_signatures.append(symusic.TimeSignature(0, 1, 4))  # how MIDI writes a pickup
    score.time_signatures.append(symusic.TimeSignature(480, 4, 4))
    track = symusic.Track("piano", 0, False)
    track.notes.append(symusic.Note(0, 480 * 20, 60, 80))
    score.tracks.append(track)
    assert bar_span(score, 1, 1) == (1.0, 5.0) and bar_span(score, 3, 4) == (9.0, 17.0)
    score.time_signatures[0] = symusic.TimeSignature(0, 2, 4)  # two bars of 2/4: no pickup
    score.time_signatures[1] = symusic.TimeSignature(960 * 2, 4, 4)
    assert bar_span(score, 1, 1) == (0.0, 2.0)

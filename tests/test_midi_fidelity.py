"""Real music in, the same music out: small MIDI files made here by mido, read by musegen,
compared with an independent reader (symusic, pretty_midi), written back and read again.

Each case compares the instruments (program, drums), the notes of each instrument
(onset, end, pitch, velocity, in quarter notes) and the end time, then checks that
`write_midi` of the score read gives back exactly that score.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from musegen.io._channels import track_names
from musegen.io.corpus import load_corpus
from musegen.io.reading import read_midi, read_tracks
from musegen.io.tracks import Score
from musegen.io.writing import write_midi

mido = pytest.importorskip("mido")
symusic = pytest.importorskip("symusic")

TPQ = 480


def midi_file(path: Path, *tracks: list[tuple[int, object]], kind: int = 1) -> Path:
    """A MIDI file of `tracks`, each a list of (tick, mido message) in time order."""
    file = mido.MidiFile(type=kind, ticks_per_beat=TPQ)
    for events in tracks:
        track, last = mido.MidiTrack(), 0
        for tick, message in events:
            track.append(message.copy(time=tick - last))
            last = tick
        file.tracks.append(track)
    file.save(path)
    return path


def note(
    channel: int, pitch: int, on: int, off: int, velocity: int = 80
) -> list[tuple[int, object]]:
    return [
        (on, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)),
        (off, mido.Message("note_off", channel=channel, note=pitch)),
    ]


def timed(*groups: list[tuple[int, object]]) -> list[tuple[int, object]]:
    """Messages of several notes in one track, in time order (note-offs first at a tick)."""
    events = [event for group in groups for event in group]
    return sorted(events, key=lambda e: (e[0], e[1].type != "note_off"))


def program(channel: int, number: int, tick: int = 0) -> tuple[int, object]:
    return (tick, mido.Message("program_change", channel=channel, program=number))


def ours(score: Score) -> list[tuple[int, bool, list[tuple[float, float, int, int]]]]:
    """Per instrument of a `Score`: program, drums, notes (onset, end, pitch, velocity), sorted."""
    return sorted(
        (
            t.program,
            t.is_drum,
            sorted((e.offset, e.end, p, e.velocity) for e in t.piece.notes for p in e.pitches),
        )
        for t in score.tracks
    )


def symusic_reads(path: Path) -> list[tuple[int, bool, list[tuple[float, float, int, int]]]]:
    """The same, as symusic (MidiTok's C++ reader) reads the file."""
    score = symusic.Score(str(path))
    tpq = score.ticks_per_quarter
    return sorted(
        (
            t.program,
            t.is_drum,
            sorted((n.time / tpq, n.end / tpq, n.pitch, n.velocity) for n in t.notes),
        )
        for t in score.tracks
        if len(t.notes)
    )


def pretty_midi_notes(path: Path) -> list[tuple[float, float, int, int]]:
    """The notes of a one-instrument file at 120 bpm as pretty_midi reads them, in quarter notes."""
    pretty_midi = pytest.importorskip("pretty_midi")
    (instrument,) = pretty_midi.PrettyMIDI(str(path)).instruments
    return sorted((n.start * 2, n.end * 2, n.pitch, n.velocity) for n in instrument.notes)


def end_time(instruments: list[tuple[int, bool, list[tuple[float, float, int, int]]]]) -> float:
    return max(end for *_, notes in instruments for _, end, _, _ in notes)


def named(score: Score) -> Score:
    """`score` with the names `write_midi` writes: an unnamed track its instrument's ("Cello")."""
    names = track_names([(t.name, t.program, t.is_drum) for t in score.tracks])
    tracks = tuple(replace(t, name=n) for t, n in zip(score.tracks, names, strict=True))
    return replace(score, tracks=tracks)


def assert_written_back_the_same(score: Score, folder: Path) -> None:
    again = read_tracks(write_midi(score, folder / f"again-{score.source}"))
    assert [(t.program, t.is_drum, t.name) for t in again.tracks] == [
        (t.program, t.is_drum, t.name) for t in named(score).tracks
    ]
    assert [t.piece.events for t in again.tracks] == [t.piece.events for t in score.tracks]
    assert (again.tempo, again.time_signature) == (score.tempo, score.time_signature)


def test_a_program_change_in_the_conductor_track_sets_its_channel_everywhere(tmp_path):
    conductor = [(0, mido.MetaMessage("set_tempo", tempo=600_000)), program(1, 33), program(2, 40)]
    bass = timed(note(1, 36, 0, 960, 100), note(1, 43, 960, 1920, 90))
    strings = [program(3, 48), *timed(note(2, 64, 0, 1920, 70), note(3, 67, 0, 1920, 60))]
    path = midi_file(tmp_path / "conductor.mid", conductor, bass, strings)
    score = read_tracks(path)
    # symusic (and pretty_midi) give a track's notes the programs of that track only (0 here);
    # a synthesizer plays the merged tracks: symusic reading them merged is the reference
    merged = mido.MidiFile(type=0, ticks_per_beat=TPQ)
    merged.tracks.append(mido.merge_tracks(mido.MidiFile(path).tracks))
    merged.save(tmp_path / "merged.mid")
    reference = symusic_reads(tmp_path / "merged.mid")
    assert [p for p, *_ in reference] == [33, 40, 48]
    assert ours(score) == reference
    assert [p for p, *_ in symusic_reads(path)] == [0, 0, 48]  # what a per-track reading says
    assert score.duration == end_time(reference) == 4.0 and score.tempo == 100.0
    assert_written_back_the_same(score, tmp_path)


def test_one_track_on_several_channels_and_programs_gives_an_instrument_each(tmp_path):
    track = timed(
        [program(0, 40), program(1, 33)],
        note(0, 72, 0, 480, 80),
        note(1, 36, 0, 960, 100),
        [program(0, 73, 480)],  # the violinist takes a flute for the second beat
        note(0, 74, 480, 960, 70),
    )
    path = midi_file(tmp_path / "several.mid", track)
    score = read_tracks(path)
    assert [t.program for t in score.tracks] == [40, 33, 73]  # in the order they first sound
    assert ours(score) == symusic_reads(path)
    assert_written_back_the_same(score, tmp_path)


def test_a_format_0_file_gives_a_track_per_channel(tmp_path):
    events = [program(c, c * 8) for c in range(9)]
    for c in range(9):
        events += note(c, 48 + c, c * 240, c * 240 + 480, 60 + c)
    events += note(9, 36, 0, 240, 110) + note(9, 42, 240, 480, 90)  # drums on channel 10
    path = midi_file(tmp_path / "zero.mid", timed(events), kind=0)
    score = read_tracks(path)
    assert len(score.tracks) == 10 and [t.is_drum for t in score.tracks].count(True) == 1
    assert ours(score) == symusic_reads(path)
    assert score.duration == end_time(symusic_reads(path))
    assert_written_back_the_same(score, tmp_path)


def test_drums_are_channel_10_and_keep_their_kit(tmp_path):
    kit = [program(9, 25), *timed(note(9, 36, 0, 240, 110), note(9, 38, 480, 720, 100))]
    piano = timed(note(0, 60, 0, 960))
    path = midi_file(tmp_path / "Trio.MID", piano, kit)  # an upper-case suffix reads as well
    score = read_tracks(path)
    assert [(t.program, t.is_drum) for t in score.tracks] == [(0, False), (25, True)]
    assert ours(score) == symusic_reads(path)
    assert_written_back_the_same(score, tmp_path)  # the kit's program written and read back


def test_overlapping_notes_of_one_pitch_and_zero_length_notes_are_kept(tmp_path):
    track = [
        (0, mido.Message("note_on", note=60, velocity=80)),
        (480, mido.Message("note_on", note=60, velocity=70)),  # struck again while it sounds
        (480, mido.Message("note_on", note=64, velocity=50)),  # a zero-length note
        (480, mido.Message("note_off", note=64)),
        (960, mido.Message("note_off", note=60)),  # both notes of 60 released at beat 3
        (960, mido.Message("note_off", note=60)),
        *note(0, 67, 2400, 2880, 90),  # the last note, long after the others (past their bar)
    ]
    path = midi_file(tmp_path / "overlap.mid", track)
    score = read_tracks(path)
    # note-offs: the second note-on of 60 ends with the first at tick 960
    assert (
        ours(score)
        == symusic_reads(path)
        == [
            (
                0,
                False,
                [(0.0, 2.0, 60, 80), (1.0, 1.0, 64, 50), (1.0, 2.0, 60, 70), (5.0, 6.0, 67, 90)],
            )
        ]
    )
    assert score.duration == 6.0
    assert_written_back_the_same(score, tmp_path)


def test_notes_of_one_pitch_that_end_apart_are_read_as_players_pair_them(tmp_path):
    # 60 on at 0 and at 1, off at 2 and at 3: the first note-off ends both (as pretty_midi
    # and music21 read it; symusic pairs them first in, first out)
    track = [
        (0, mido.Message("note_on", note=60, velocity=80)),
        (480, mido.Message("note_on", note=60, velocity=70)),
        (960, mido.Message("note_off", note=60)),
        (1440, mido.Message("note_off", note=60)),
    ]
    path = midi_file(tmp_path / "apart.mid", track)
    score = read_tracks(path)
    reference = pretty_midi_notes(path)
    assert ours(score) == [(0, False, reference)]  # 120 bpm: a second is two quarter notes
    assert_written_back_the_same(score, tmp_path)


def test_a_chord_of_mixed_velocities_keeps_each_notes_velocity(tmp_path):
    chord = timed(note(0, 36, 0, 960, 110), note(0, 60, 0, 960, 70), note(0, 64, 0, 480, 70))
    path = midi_file(tmp_path / "chord.mid", [program(0, 4), *chord])
    score = read_tracks(path)
    assert ours(score) == symusic_reads(path)  # the hi-hat stays at 70, not the chord's 110
    (track,) = score.tracks
    assert [(e.pitches, e.velocity, e.duration) for e in track.piece.notes] == [
        ((36,), 110, 2.0), ((60,), 70, 2.0), ((64,), 70, 1.0)
    ]  # fmt: skip
    assert_written_back_the_same(score, tmp_path)
    # the merged reading (the recipe's) still gives the chord one event, the loudest velocity
    assert [(e.pitches, e.velocity) for e in read_midi(path).notes] == [((36, 60, 64), 110)]


def test_what_is_not_kept_is_counted_and_said_once_per_read(tmp_path):
    track = timed(note(0, 60, 0, 960), note(0, 62, 960, 1920))
    track += [
        (0, mido.MetaMessage("key_signature", key="Bb")),
        (0, mido.MetaMessage("set_tempo", tempo=600_000)),
        (960, mido.MetaMessage("set_tempo", tempo=430_000)),
        (100, mido.Message("pitchwheel", pitch=2000)),
        (200, mido.Message("pitchwheel", pitch=0)),
        (0, mido.Message("control_change", control=64, value=127)),
        (900, mido.Message("control_change", control=64, value=0)),
        (0, mido.Message("control_change", control=7, value=100)),
    ]
    path = midi_file(tmp_path / "bends.mid", sorted(track, key=lambda e: e[0]))
    plain = midi_file(tmp_path / "plain.mid", timed(note(0, 60, 0, 960)))
    # symusic reads the same pitch bends and controllers (the pedal's among them)
    reference = symusic.Score(str(path)).tracks[0]
    assert (len(reference.pitch_bends), len(reference.controls)) == (2, 3)
    assert read_tracks(path).not_kept == (  # a Score keeps the key and the tempo map
        ("pitch bend", 2), ("sustain pedal message", 2), ("other controller message", 1)
    )  # fmt: skip
    assert read_tracks(plain).not_kept == ()
    corpus = load_corpus([path, plain, path], progress=False)  # a Piece keeps neither
    assert corpus.summary() == (
        "3 pieces, 5 events, 0 files skipped; read 3 files: 4 pitch bends, 4 sustain pedal "
        "messages, 2 other controller messages, 2 key signatures and 2 tempo changes not kept"
    )


def test_the_tempo_map_metre_changes_and_key_signatures_are_kept_and_written_back(tmp_path):
    conductor = [
        (0, mido.MetaMessage("set_tempo", tempo=600_000)),  # 100 bpm
        (0, mido.MetaMessage("time_signature", numerator=4, denominator=4)),
        (0, mido.MetaMessage("key_signature", key="Bb")),
        (1920, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(140))),  # bar 2: 140 bpm
        (3840, mido.MetaMessage("time_signature", numerator=3, denominator=4)),  # bar 3: 3/4
        (3840, mido.MetaMessage("key_signature", key="F#m")),
    ]
    melody = timed(*(note(0, 60 + i, i * 960, i * 960 + 960) for i in range(6)))
    path = midi_file(tmp_path / "changes.mid", conductor, melody)
    score = read_tracks(path)
    reference = symusic.Score(str(path))
    tpq = reference.ticks_per_quarter
    assert (score.tempo, score.time_signature) == (100.0, "4/4")
    assert score.tempo_changes == tuple(
        (t.time / tpq, round(t.qpm, 2)) for t in reference.tempos[1:]
    ) == ((4.0, 140.0),)  # fmt: skip
    assert score.time_signature_changes == tuple(
        (t.time / tpq, f"{t.numerator}/{t.denominator}") for t in reference.time_signatures[1:]
    ) == ((8.0, "3/4"),)  # fmt: skip
    assert [(k.time / tpq, k.key, k.tonality) for k in reference.key_signatures] == [
        (0.0, -2, 0), (8.0, 3, 1)
    ]  # fmt: skip
    assert score.key_signatures == ((0.0, "Bb major"), (8.0, "F# minor"))
    assert score.not_kept == ()
    assert_written_back_the_same(score, tmp_path)
    again = read_tracks(write_midi(score, tmp_path / "changes-again.mid"))
    assert replace(again, source=score.source) == named(score)  # the maps take part in equality
    assert replace(again, tempo_changes=()) != again
    # 12 quarters, 4 at 100 bpm and 8 at 140: how long a player plays the file written back
    written = symusic.Score(str(tmp_path / "changes-again.mid")).to("second")
    assert max(n.end for t in written.tracks for n in t.notes) == pytest.approx(
        4 * 60 / 100 + 8 * 60 / 140
    )


def test_the_sustain_pedal_lengthens_held_notes_as_note_seq_does(tmp_path):
    track = [
        (0, mido.Message("control_change", control=64, value=127)),  # pedal down at 0
        *note(0, 60, 0, 240, 80),  # released at a sixteenth: sounds until the pedal lifts
        *note(0, 64, 480, 720, 70),  # struck again at 2 while the pedal holds it ...
        *note(0, 64, 960, 1200, 75),  # ... so the first 64 ends there
        (1440, mido.Message("control_change", control=64, value=0)),  # pedal up at beat 3
        *note(0, 67, 1440, 1680, 90),  # after the pedal: as long as the key is held
    ]
    path = midi_file(tmp_path / "pedal.mid", sorted(track, key=lambda e: e[0]))
    held = read_tracks(path, sustain=True)
    assert ours(held) == [
        (0, False, [(0.0, 3.0, 60, 80), (1.0, 2.0, 64, 70), (2.0, 3.0, 64, 75), (3.0, 3.5, 67, 90)])
    ]
    assert held.not_kept == ()
    plain = read_tracks(path)  # the default: each note as long as its key is held
    assert ours(plain) == symusic_reads(path)
    pedals = [p for t in symusic.Score(str(path)).tracks for p in t.pedals]
    assert [(p.time, p.end) for p in pedals] == [(0, 1440)]  # symusic sees the same pedal
    assert plain.not_kept == (("sustain pedal message", 2),)
    assert_written_back_the_same(held, tmp_path)


def test_a_key_struck_twice_at_once_is_two_notes_as_the_other_readers_count(tmp_path):
    track = [  # a melody doubled in its chord: 72 twice at 0, one note-off ends both
        (0, mido.Message("note_on", note=72, velocity=100)),
        (0, mido.Message("note_on", note=72, velocity=110)),
        (0, mido.Message("note_on", note=64, velocity=110)),
        (480, mido.Message("note_off", note=72)),
        (480, mido.Message("note_off", note=64)),
        (480, mido.Message("note_off", note=72)),
    ]
    path = midi_file(tmp_path / "doubled.mid", track)
    score = read_tracks(path)
    reference = pretty_midi_notes(path)
    assert ours(score) == [(0, False, reference)] == symusic_reads(path)
    assert len(reference) == 3
    assert_written_back_the_same(score, tmp_path)


@pytest.mark.parametrize("name", ["8.mid", "AT.mid", "Oppressed.mid", "caitsith.mid"])
def test_files_of_the_corpus_read_as_pretty_midi_reads_them_and_write_back(
    skuli_midi, name, tmp_path
):
    pretty_midi = pytest.importorskip("pretty_midi")
    path = skuli_midi / name  # 8.mid doubles notes; AT.mid is format 0 on 14 channels
    score = read_tracks(path)
    reference = pretty_midi.PrettyMIDI(str(path)).instruments
    assert sorted(
        (t.program, t.is_drum, sum(len(e.pitches) for e in t.piece.notes)) for t in score.tracks
    ) == sorted((i.program, i.is_drum, len(i.notes)) for i in reference if i.notes)
    assert_written_back_the_same(score, tmp_path)


def test_merged_reading_and_corpora_hold_the_pedal_on_request(tmp_path):
    track = [
        (0, mido.Message("control_change", control=64, value=100)),
        *note(0, 48, 0, 240, 80),
        *note(0, 52, 480, 720, 70),
        (1920, mido.Message("control_change", control=64, value=10)),
    ]
    path = midi_file(tmp_path / "pedal.mid", sorted(track, key=lambda e: e[0]))
    held = read_midi(path, sustain=True)
    assert [(e.offset, e.duration, e.pitches) for e in held.notes] == [
        (0.0, 4.0, (48,)), (1.0, 3.0, (52,))
    ]  # fmt: skip
    assert held == read_tracks(path, sustain=True).merged() and held.source == "pedal.mid"
    assert [e.duration for e in read_midi(path).notes] == [0.5, 0.5]  # the recipe's reading
    corpus = load_corpus([path], progress=False, sustain=True)
    assert corpus.pieces == [held] and corpus.not_kept == {}
    assert "2 sustain pedal messages not kept" in load_corpus([path], progress=False).summary()
    with pytest.raises(ValueError, match="sustain=True reads with parts='all'"):
        read_midi(path, sustain=True, parts="first")


def test_musegen_train_tracks_says_what_its_reading_did_not_keep(tmp_path, capsys):
    import argparse

    from musegen.cli._common import load_scores

    track = [*timed(note(0, 60, 0, 960)), (100, mido.Message("pitchwheel", pitch=2000))]
    folder = tmp_path / "songs"
    folder.mkdir()
    midi_file(folder / "bend.mid", sorted(track, key=lambda e: e[0]))
    midi_file(folder / "plain.mid", timed(note(0, 62, 0, 960)))
    scores = load_scores(argparse.Namespace(source=str(folder), limit=None))
    assert len(scores) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "read 2 files: 1 pitch bend not kept"

"""The metre map (time signature changes and pickup) as the readers read it and the writers write it.

On real music from music21's corpus: the chorale bwv1.6 starts with a pickup of
one quarter note in 4/4, bwv10.7 on a bar line; bwv27.6 changes from 4/4 to 3/2
at quarter 56; bwv362 has a pickup and changes from 4/4 to 3/4 at quarter 61.
MIDI files written here are read back with independent readers (mido, and
pretty_midi) and with the library's own.
"""

from __future__ import annotations

import functools

import mido
import pytest

pytest.importorskip("music21")

from music21 import corpus, stream

from musegen.events import Event, Piece
from musegen.io.reading import read_midi, read_piece, read_tracks
from musegen.io.tracks import Score, Track
from musegen.io.writing import piece_to_stream, write_midi


@functools.cache
def _chorale(name: str) -> Piece:
    return read_piece(corpus.getWork(f"bach/{name}"))


def _signatures(path) -> list[tuple[int, int, int]]:
    """(absolute tick, numerator, denominator) of every time signature, read with mido."""
    found = []
    for track in mido.MidiFile(path).tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "time_signature":
                found.append((tick, message.numerator, message.denominator))
    return sorted(found)


def test_a_chorale_with_a_pickup_keeps_its_bar_lines() -> None:
    piece = _chorale("bwv1.6")
    assert (piece.time_signature, piece.time_signature_changes, piece.pickup) == ("4/4", (), 1.0)
    lines = piece.bar_lines()
    assert lines[:4] == [1.0, 5.0, 9.0, 13.0]
    assert lines[-1] == 77.0 and piece.duration == 80.0  # the last bar completes the pickup
    assert _chorale("bwv10.7").pickup == 0.0
    assert _chorale("bwv10.7").bar_lines()[:3] == [0.0, 4.0, 8.0]


def test_read_tracks_gives_the_score_and_each_track_the_metre_map() -> None:
    score = read_tracks(corpus.getWork("bach/bwv362"))
    assert (score.time_signature, score.time_signature_changes, score.pickup) == (
        "4/4",
        ((61.0, "3/4"),),
        1.0,
    )
    for piece in [score.merged(), *(t.piece for t in score.tracks)]:
        assert (piece.time_signature_changes, piece.pickup) == (((61.0, "3/4"),), 1.0)
    lines = score.merged().bar_lines()
    assert [line for line in lines if 53 <= line <= 70] == [53.0, 57.0, 61.0, 64.0, 67.0, 70.0]


def test_a_chorale_that_changes_metre() -> None:
    piece = _chorale("bwv27.6")
    assert (piece.time_signature, piece.time_signature_changes, piece.pickup) == (
        "4/4",
        ((56.0, "3/2"),),
        0.0,
    )
    assert [line for line in piece.bar_lines() if 48 <= line <= 70] == [
        48.0,
        52.0,
        56.0,
        62.0,
        68.0,
    ]


def test_write_midi_writes_a_pickup_as_a_short_first_metre(tmp_path) -> None:
    pretty_midi = pytest.importorskip("pretty_midi")
    piece = _chorale("bwv362")
    out = write_midi(piece, tmp_path / "bwv362.mid")
    assert _signatures(out) == [(0, 1, 4), (480, 4, 4), (61 * 480, 3, 4)]
    midi = pretty_midi.PrettyMIDI(str(out))
    assert [
        (midi.time_to_tick(ts.time), ts.numerator, ts.denominator)
        for ts in midi.time_signature_changes
    ] == [(0, 1, 4), (480, 4, 4), (61 * 480, 3, 4)]
    for engine in ("fast", "music21"):
        back = read_midi(out, engine=engine)
        assert (back.time_signature, back.time_signature_changes, back.pickup) == (
            "4/4",
            ((61.0, "3/4"),),
            1.0,
        ), engine
    fast = read_midi(out)
    assert fast.events == piece.events
    assert fast.bar_lines() == piece.bar_lines()
    score = read_tracks(out)
    assert (score.pickup, score.tracks[0].piece.pickup) == (1.0, 1.0)
    again = write_midi(score, tmp_path / "again.mid")  # a score writes its pickup too
    assert _signatures(again) == _signatures(out)


@pytest.mark.parametrize(
    ("metre", "pickup", "written"),
    [("6/8", 1.5, (3, 8)), ("3/4", 0.5, (1, 8)), ("4/4", 0.25, (1, 16)), ("2/2", 1.0, (1, 4))],
)
def test_a_pickup_round_trips_through_midi(tmp_path, metre, pickup, written) -> None:
    piece = Piece(
        (Event(0, pickup, (67,)), Event(pickup, 4, (72,))), time_signature=metre, pickup=pickup
    )
    out = write_midi(piece, tmp_path / "p.mid")
    assert _signatures(out)[0] == (0, *written)
    back = read_midi(out)
    assert (back.time_signature, back.pickup, back.time_signature_changes) == (metre, pickup, ())


def test_a_pickup_midi_cannot_hold_is_left_out(tmp_path) -> None:
    piece = Piece((Event(0, 4, (60,)),), pickup=0.1)  # no metre of a power-of-two beat is 0.1
    out = write_midi(piece, tmp_path / "p.mid")
    assert _signatures(out) == [(0, 4, 4)]
    assert read_midi(out).pickup == 0.0


def test_metre_changes_of_a_piece_round_trip_through_midi(tmp_path) -> None:
    changes = ((6.0, "6/8"), (12.0, "2/4"), (16.0, "5/8"))
    piece = Piece(
        (Event(0, 1, (67,)), Event(1, 20, (60,))),
        time_signature="3/4",
        time_signature_changes=changes,
        pickup=1.0,
    )
    out = write_midi(piece, tmp_path / "changes.mid")
    assert _signatures(out) == [(0, 1, 4), (480, 3, 4), (2880, 6, 8), (5760, 2, 4), (7680, 5, 8)]
    for back in (read_midi(out), read_midi(out, engine="music21"), read_tracks(out).merged()):
        assert (back.time_signature, back.time_signature_changes, back.pickup) == (
            "3/4",
            changes,
            1.0,
        )
        assert back.bar_lines(21.0) == [1.0, 4.0, 6.0, 9.0, 12.0, 14.0, 16.0, 18.5]


def test_a_short_first_metre_is_a_pickup_only_when_it_lasts_one_bar(tmp_path) -> None:
    """Files written elsewhere (mido here): 2/4 for two bars, then 4/4, is no pickup."""
    for first_bars, expected in ((1, ("4/4", (), 2.0)), (2, ("2/4", ((4.0, "4/4"),), 0.0))):
        midi = mido.MidiFile(ticks_per_beat=96)
        track = mido.MidiTrack()
        midi.tracks.append(track)
        track.append(mido.MetaMessage("time_signature", numerator=2, denominator=4, time=0))
        track.append(mido.Message("note_on", note=60, velocity=80, time=0))
        track.append(
            mido.MetaMessage("time_signature", numerator=4, denominator=4, time=192 * first_bars)
        )
        track.append(mido.Message("note_off", note=60, velocity=0, time=384))
        path = tmp_path / f"{first_bars}.mid"
        midi.save(path)
        back = read_midi(path)
        assert (back.time_signature, back.time_signature_changes, back.pickup) == expected
        assert Score((Track(back),), pickup=back.pickup).merged().pickup == back.pickup


def test_a_first_metre_stated_late_is_no_pickup(tmp_path) -> None:
    """Review: data/skuli-midi's VincentPiano.mid states 5/4 at quarter 4 and nothing at 0; its
    first bar (MIDI's default 4/4) was read as a pickup of 4 quarters."""
    midi = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.Message("note_on", note=60, velocity=80, time=0))
    track.append(mido.MetaMessage("time_signature", numerator=5, denominator=4, time=384))
    track.append(mido.Message("note_off", note=60, velocity=0, time=480))
    midi.save(tmp_path / "late.mid")
    back = read_midi(tmp_path / "late.mid")
    assert (back.time_signature, back.time_signature_changes, back.pickup) == (
        "4/4", ((4.0, "5/4"),), 0.0)  # fmt: skip
    assert back.bar_lines(10.0) == [0.0, 4.0, 9.0]


def test_notation_starts_measure_1_after_the_pickup(tmp_path) -> None:
    piece = _chorale("bwv362")
    part = piece_to_stream(piece)  # a piece with a pickup comes in measures
    measures = list(part.getElementsByClass(stream.Measure))
    assert [(m.number, float(m.offset)) for m in measures[:3]] == [(0, 0.0), (1, 1.0), (2, 5.0)]
    assert measures[0].paddingLeft == 3.0 and measures[0].timeSignature.ratioString == "4/4"
    changed = next(m for m in measures if m.timeSignature is not None and m.number > 0)
    assert (float(changed.offset), changed.timeSignature.ratioString) == (61.0, "3/4")
    out = part.write("musicxml", tmp_path / "bwv362.musicxml")
    back = read_piece(out)
    assert back.events == piece.events
    assert (back.time_signature_changes, back.pickup) == (((61.0, "3/4"),), 1.0)

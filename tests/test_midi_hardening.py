"""MIDI that is out of range or malformed, at the writer and at every reader (issue 35, 3, 4, 6).

The writer writes the tempo and the metre asked for or refuses them before
writing anything; every reader (the fast ones, music21's, the track reader)
reads a file with an invalid tempo, unended notes or a data byte above 127 the
same way: the rest of the music, or one `MidiReadError` naming the file.
Independent readers (mido, symusic) say what the file holds.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from _midi_bytes import midi, note, tempo

from musegen.events import Event, Piece
from musegen.io.corpus import load_corpus
from musegen.io.midi_fast import _read_counted, read_midi_fast, read_tracks_fast
from musegen.io.reading import MidiReadError, read_midi, read_tracks
from musegen.io.tracks import Score, Track
from musegen.io.writing import write_midi

mido = pytest.importorskip("mido")
symusic = pytest.importorskip("symusic")


# -- raw MIDI bytes (what mido and symusic refuse to write) ------------------------------------


PieceReader = Callable[[Path], Piece]
PIECE_READERS: dict[str, PieceReader] = {
    "read_midi": read_midi,
    "read_midi_fast": read_midi_fast,
    "read_midi(engine='music21')": lambda p: read_midi(p, engine="music21"),
    "read_midi(parts='first')": lambda p: read_midi(p, parts="first"),
    "read_midi(grouping='stream')": lambda p: read_midi(p, grouping="stream"),
    "read_midi(sustain=True)": lambda p: read_midi(p, sustain=True),
    "read_tracks().merged()": lambda p: read_tracks(p).merged(),
    "read_tracks_fast().merged()": lambda p: read_tracks_fast(p).merged(),
}


def notes_of(piece: Piece) -> list[tuple[float, float, tuple[int, ...]]]:
    return [(e.offset, e.duration, e.pitches) for e in piece.notes]


# -- 3: tempos the writer cannot hold ----------------------------------------------------------


def one_note(**kwargs) -> Piece:
    return Piece((Event(0, 1, (60,)),), **kwargs)


def set_tempos(path: Path) -> list[int]:
    """The microseconds per quarter note of every set_tempo message, as mido reads them."""
    return [m.tempo for t in mido.MidiFile(path).tracks for m in t if m.type == "set_tempo"]


@pytest.mark.parametrize("bpm", [0.5, 3.5, math.inf, 1e9, 1e-9, math.nan, 60_000_001])
def test_write_midi_refuses_a_tempo_midi_cannot_hold_and_leaves_the_file(tmp_path, bpm):
    out = tmp_path / "kept.mid"
    out.write_bytes(b"what was there")
    with pytest.raises(ValueError, match=r"bpm cannot be written to MIDI: MIDI holds 3\.58 to"):
        write_midi(one_note(tempo=bpm), out)
    assert out.read_bytes() == b"what was there"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.mid"]  # no temporary file left


def test_write_midi_refuses_a_tempo_change_midi_cannot_hold(tmp_path):
    score = Score((Track(one_note()),), tempo=120.0, tempo_changes=((4.0, 0.5),))
    with pytest.raises(ValueError, match=r"tempo 0\.5 bpm"):
        write_midi(score, tmp_path / "out.mid")
    assert not (tmp_path / "out.mid").exists()


@pytest.mark.parametrize("bpm", [4, 120, 1000, 96.5, 3.58, 7, 60_000_000])
def test_a_tempo_midi_holds_is_written_to_the_microsecond(tmp_path, bpm):
    out = write_midi(one_note(tempo=bpm), tmp_path / "t.mid")
    assert set_tempos(out) == [round(60_000_000 / bpm)]


def test_a_score_tempo_map_is_written_to_the_microsecond(tmp_path):
    score = Score((Track(one_note()),), tempo=4.0, tempo_changes=((1.0, 1000.0), (2.0, 120.0)))
    assert set_tempos(write_midi(score, tmp_path / "t.mid")) == [15_000_000, 60_000, 500_000]


# -- 4a: time signatures the writer cannot hold ------------------------------------------------


@pytest.mark.parametrize("signature", ["4/3", "300/4", "0/4", "4/0", "4/256", "C", ""])
def test_write_midi_refuses_a_time_signature_midi_cannot_hold(tmp_path, signature):
    out = tmp_path / "kept.mid"
    out.write_bytes(b"what was there")
    with pytest.raises(ValueError, match=r"cannot be written to MIDI: MIDI holds N/D"):
        write_midi(one_note(time_signature=signature), out)
    assert out.read_bytes() == b"what was there"
    changes = Score((Track(one_note()),), time_signature_changes=((4.0, signature),))
    with pytest.raises(ValueError, match=r"cannot be written to MIDI"):
        write_midi(changes, out)
    assert out.read_bytes() == b"what was there"


@pytest.mark.parametrize(("signature", "written"), [("3+2/8", (5, 8)), ("6/8", (6, 8))])
def test_a_time_signature_is_written_as_midi_holds_it(tmp_path, signature, written):
    out = write_midi(one_note(time_signature=signature), tmp_path / "m.mid")
    found = [
        (m.numerator, m.denominator)
        for t in mido.MidiFile(out).tracks
        for m in t
        if m.type == "time_signature"
    ]
    assert found == [written]


# -- 4b, 4c: invalid tempos in a file ---------------------------------------------------------


@pytest.mark.parametrize("reader", sorted(PIECE_READERS))
def test_a_tempo_of_zero_is_skipped_and_the_rest_read(tmp_path, reader):
    path = tmp_path / "zero.mid"
    path.write_bytes(midi([[tempo(0), *note(60), tempo(600_000), *note(64)]]))
    assert [m.tempo for m in mido.MidiFile(path).tracks[0] if m.type == "set_tempo"] == [0, 600_000]
    piece = PIECE_READERS[reader](path)
    assert piece.tempo == 100.0
    assert [p for e in piece.notes for p in e.pitches] == [60, 64]


def test_invalid_tempos_are_counted_as_not_kept(tmp_path):
    path = tmp_path / "zero.mid"
    path.write_bytes(midi([[tempo(0), *note(60), (0, (0xFF, 0x51, 1, 7)), *note(64)]]))
    assert ("invalid tempo", 2) in read_tracks(path).not_kept
    assert ("invalid tempo", 2) in _read_counted(path)[1]
    assert "2 invalid tempos not kept" in load_corpus([path], progress=False).summary()


@pytest.mark.parametrize("reader", sorted(PIECE_READERS))
def test_a_tempo_payload_of_one_byte_is_not_a_tempo(tmp_path, reader):
    path = tmp_path / "short.mid"
    path.write_bytes(midi([[(0, (0xFF, 0x51, 1, 7)), *note(60)]]))
    piece = PIECE_READERS[reader](path)
    assert piece.tempo == 120.0  # MIDI's default: the file states no tempo
    assert notes_of(piece) == [(0.0, 1.0, (60,))]


# -- 4d: SMPTE time ----------------------------------------------------------------------------

SMPTE_25 = ((256 - 25) << 8) | 40  # 25 frames per second, 40 ticks per frame


def test_symusic_and_music21_do_not_read_smpte_time_either(tmp_path):
    path = tmp_path / "smpte.mid"
    path.write_bytes(midi([note(60) + note(64)], division=SMPTE_25))
    with pytest.raises(RuntimeError, match="not ticks per quarter"):
        symusic.Score(str(path))
    assert mido.MidiFile(path).ticks_per_beat == SMPTE_25 - 0x10000  # mido: the raw division


@pytest.mark.parametrize("reader", sorted(PIECE_READERS))
def test_smpte_time_is_refused_in_one_named_line(tmp_path, reader):
    path = tmp_path / "smpte.mid"
    path.write_bytes(midi([note(60) + note(64)], division=SMPTE_25))
    with pytest.raises(MidiReadError) as caught:
        PIECE_READERS[reader](path)
    assert caught.value.path == str(path)
    assert caught.value.reason == (
        "SMPTE time (25 frames per second, 40 ticks per frame) is not supported: "
        "only ticks per quarter note"
    )


# -- 4e: notes never switched off --------------------------------------------------------------

UNENDED = [
    [(0, (0x90, 60, 80)), (480, (0x90, 64, 80)), (480, (0x80, 64, 0)), (480, (0x90, 67, 80))]
]


def test_notes_never_switched_off_are_dropped_as_symusic_and_pretty_midi_drop_them(tmp_path):
    path = tmp_path / "unended.mid"
    path.write_bytes(midi(UNENDED))
    reference = [
        (n.time / 480, n.end / 480, n.pitch) for n in symusic.Score(str(path)).tracks[0].notes
    ]
    assert reference == [(1.0, 2.0, 64)]
    pretty_midi = pytest.importorskip("pretty_midi")
    assert [n.pitch for n in pretty_midi.PrettyMIDI(str(path)).instruments[0].notes] == [64]
    for name, reader in PIECE_READERS.items():
        assert notes_of(reader(path)) == [(1.0, 1.0, (64,))], name


def test_notes_never_switched_off_are_counted_as_not_kept(tmp_path):
    path = tmp_path / "unended.mid"
    path.write_bytes(midi(UNENDED))
    assert read_tracks(path).not_kept == (("unended note", 2),)
    assert read_tracks(path, sustain=True).not_kept == (("unended note", 2),)
    assert _read_counted(path)[1] == (("unended note", 2),)
    assert load_corpus([path], progress=False).summary() == (
        "1 piece, 2 events, 0 files skipped; read 1 file: 2 unended notes not kept"
    )


def test_a_note_off_ends_every_note_before_it_so_only_the_last_are_unended(tmp_path):
    path = tmp_path / "unended.mid"
    # 60 struck twice, one note-off ends both; struck a third time, never ended
    on, off = (0x90, 60, 80), (0x80, 60, 0)
    path.write_bytes(midi([[(0, on), (240, on), (240, off), (0, on), *note(62, delta=480)]]))
    assert read_tracks(path).not_kept == (("unended note", 1),)


# -- 6: data bytes above 127 -------------------------------------------------------------------

BAD_DATA: dict[str, bytes] = {
    "key": midi([[(0, (0x90, 200, 80)), (480, (0x80, 200, 0)), *note(60)]]),
    "velocity": midi([[(0, (0x90, 60, 200)), (480, (0x80, 60, 0)), *note(62)]]),
    "note-off key": midi([[(0, (0x90, 60, 80)), (480, (0x80, 188, 0)), *note(62)]]),
    "program": midi([[(0, (0xC0, 130)), *note(60)]]),
    "controller": midi([[(0, (0xB0, 7, 255)), *note(60)]]),
    "pitch bend": midi([[(0, (0xE0, 0, 0xC0)), *note(60)]]),
}


@pytest.mark.parametrize("where", sorted(BAD_DATA))
def test_independent_readers_refuse_a_data_byte_above_127(tmp_path, where):
    path = tmp_path / "bad.mid"
    path.write_bytes(BAD_DATA[where])
    with pytest.raises(OSError, match=r"data byte must be in range 0\.\.127"):
        mido.MidiFile(path)


@pytest.mark.parametrize("where", sorted(BAD_DATA))
@pytest.mark.parametrize("reader", [*sorted(PIECE_READERS), "read_tracks"])
def test_a_data_byte_above_127_is_a_corrupt_file(tmp_path, where, reader):
    path = tmp_path / "bad.mid"
    path.write_bytes(BAD_DATA[where])
    read = read_tracks if reader == "read_tracks" else PIECE_READERS[reader]
    with pytest.raises(MidiReadError) as caught:
        read(path)
    assert caught.value.path == str(path)
    assert re.fullmatch(
        r"corrupt or unsupported MIDI data \(byte (1[3-9][0-9]|2[0-5][0-9]) at offset \d+ "
        r"where a data byte \(0\.\.127\) is expected\)",
        caught.value.reason,
    ), caught.value.reason


def test_a_corpus_skips_the_file_with_a_data_byte_above_127(tmp_path):
    (tmp_path / "good.mid").write_bytes(midi([note(60) + note(64)]))
    (tmp_path / "bad.mid").write_bytes(BAD_DATA["key"])
    corpus = load_corpus(tmp_path, progress=False)
    assert [p.source for p in corpus.pieces] == ["good.mid"]
    assert [f.path for f in corpus.failures] == [str(tmp_path / "bad.mid")]
    assert corpus.summary() == "1 piece, 2 events, 1 file skipped"


# -- found by tests/test_reader_properties.py: a score without tracks ------------------------


def test_a_score_without_tracks_is_written_with_its_maps_in_time_order(tmp_path):
    # symusic 0.6 writes the conductor events of a score with no tracks unsorted: the
    # tempo at 0 after the key at beat 1, a negative delta time wrapped to 559,241 quarters
    score = Score(key_signatures=((1.0, "C major"),), tempo_changes=((4.0, 60.0),))
    out = write_midi(score, tmp_path / "maps.mid")
    found, now = [], 0
    for message in mido.MidiFile(out).tracks[0]:
        now += message.time
        if message.type in ("set_tempo", "key_signature"):
            found.append((message.type, now))
    assert found == [("set_tempo", 0), ("key_signature", 480), ("set_tempo", 1920)]
    assert read_tracks(out) == replace(score, source="maps.mid")


def test_key_signatures_at_one_tick_read_the_same_whatever_the_hash_seed():
    """Two keys on one tick: the file's last counts (a set's order changed with PYTHONHASHSEED)."""
    import subprocess
    import sys

    code = (
        "from musegen.io.reading import read_tracks;"
        "print(read_tracks('data/skuli-midi/path_of_repentance.mid').key_signatures)"
    )
    root = Path(__file__).resolve().parents[1]
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout
        for seed in (0, 1, 2, 3)
    }  # fmt: skip
    assert seen == {"((0.0, 'B minor'),)\n"}


# -- the tick-keeping paths (splice, a prime's last tempo, render) skip bad tempos too ---------

BAD_TEMPOS = {
    "zero": [tempo(500_000), tempo(0, delta=960), *note(60, delta=0), *note(62)],
    "one byte": [tempo(500_000), (960, (0xFF, 0x51, 1, 7)), *note(60), *note(62)],
}


@pytest.mark.parametrize("kind", sorted(BAD_TEMPOS))
def test_symusic_paths_keep_only_the_tempos_the_readers_read(tmp_path, kind):
    """symusic reads a tempo of 0 as infinite and a 1-byte one as a made-up tempo; read_symusic not."""
    from musegen.generation.compose import _at_the_end
    from musegen.io.audio import _playable
    from musegen.io.midi_fast import read_symusic

    path = tmp_path / "bad.mid"
    path.write_bytes(midi([BAD_TEMPOS[kind]]))
    assert len(symusic.Score(str(path)).tempos) == 2  # symusic keeps the bad one
    assert [(t.time, t.mspq) for t in read_symusic(path).tempos] == [(0, 500_000)]
    assert _at_the_end(path)["tempo"] == 120.0  # the last tempo the readers read
    copy = _playable(path, tmp_path / "copy.mid")  # what FluidSynth plays
    assert copy != path
    assert [m.tempo for t in mido.MidiFile(copy).tracks for m in t if m.type == "set_tempo"] == [
        500_000
    ]


def test_a_splice_into_a_file_with_a_tempo_of_zero_writes_no_tempo_of_zero(tmp_path):
    from musegen.io.splice import splice_gap

    path = tmp_path / "zero.mid"
    path.write_bytes(midi([[tempo(0), *note(60), *note(62), *note(64), *note(65)]]))
    out = tmp_path / "out.mid"
    splice_gap(path, [Event(1, 1, (67,))], 1.0, 2.0, out)
    tempos = [m.tempo for t in mido.MidiFile(out).tracks for m in t if m.type == "set_tempo"]
    assert 0 not in tempos
    assert pretty_midi_end(out) == pytest.approx(2.0)  # four quarters at 120 bpm


def pretty_midi_end(path: Path) -> float:
    pretty_midi = pytest.importorskip("pretty_midi")
    return float(pretty_midi.PrettyMIDI(str(path)).get_end_time())


def test_infill_on_a_file_the_readers_refuse_exits_1_naming_it(tmp_path):
    from musegen.cli import main

    path = tmp_path / "bad.mid"
    path.write_bytes(midi([[(0, (0x90, 200, 80)), (480, (0x80, 60, 0))]]))
    assert main(["infill", "musegen:chorales", str(path), "--bars", "1:1", "--out",
                 str(tmp_path / "out.mid")]) == 1  # fmt: skip
    assert not (tmp_path / "out.mid").exists()

import pytest

from musegen.events import Event, Piece
from musegen.io.corpus import Corpus, load_corpus
from musegen.io.reading import MidiReadError, read_midi
from musegen.io.writing import write_midi

PIECE = Piece(
    (
        Event(0.0, 1.0, (60, 64, 67), 81),
        Event(1.0, 0.5, (62,), 59),
        Event(2.0, 2.0, (48, 72), 102),
        Event(3.0, 1.0, (70,), 31),
        Event(4.0, 1 / 3, (65,), 81),
        Event(4 + 1 / 3, 2 / 3, (67,), 81),
    ),
    tempo=96.0,
    time_signature="3/4",
)


def test_write_then_read_round_trip(tmp_path):
    path = write_midi(PIECE, tmp_path / "song.mid")
    piece = read_midi(path)
    assert piece.source == "song.mid"
    assert piece.tempo == pytest.approx(96.0)
    assert piece.time_signature == "3/4"
    assert [(e.offset, e.pitches, e.velocity) for e in piece.notes] == [
        (pytest.approx(e.offset), e.pitches, e.velocity) for e in PIECE.events
    ]
    assert [e.duration for e in piece.notes] == [pytest.approx(e.duration) for e in PIECE.events]
    # the silent half beat after D4 comes back as a rest event
    assert [(e.offset, e.duration) for e in piece.events if e.is_rest] == [(1.5, 0.5)]


def test_same_pitch_restart_cuts_the_earlier_note_only_where_they_end_apart(tmp_path):
    piece = Piece((Event(0, 3.0, (60,)), Event(1.0, 1.0, (60,))))
    back = read_midi(write_midi(piece, tmp_path / "x.mid"))
    assert [(e.offset, e.duration, e.pitches) for e in back.events] == [
        (0.0, 1.0, (60,)),
        (1.0, 1.0, (60,)),
    ]
    # ending together, both notes fit in MIDI (two note-ons, then the note-offs): kept
    piece = Piece((Event(0, 2.0, (60,)), Event(1.0, 1.0, (60,))))
    back = read_midi(write_midi(piece, tmp_path / "y.mid"))
    assert back.events == piece.events
    assert back == read_midi(tmp_path / "y.mid", engine="music21")


def test_write_leaves_no_temporary_files(tmp_path):
    write_midi(PIECE, tmp_path / "a.mid")
    assert [p.name for p in tmp_path.iterdir()] == ["a.mid"]


def test_stream_grouping_keeps_music21_elements(tmp_path):
    path = write_midi(PIECE, tmp_path / "song.mid")
    events = read_midi(path, grouping="stream").events
    assert all(not e.is_rest for e in events)
    assert {e.pitches for e in events} >= {(62,), (70,)}


def test_text_file_named_mid_raises(tmp_path):
    path = tmp_path / "notes.mid"
    path.write_text("these are not the notes you are looking for\n")
    with pytest.raises(MidiReadError, match=r"notes\.mid.*not a MIDI file") as info:
        read_midi(path)
    assert info.value.path == str(path)


def test_truncated_midi_raises(tmp_path):
    data = write_midi(PIECE, tmp_path / "whole.mid").read_bytes()
    cut = tmp_path / "cut.mid"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(MidiReadError, match=r"cut\.mid"):
        read_midi(cut)


@pytest.mark.parametrize(
    ("content", "reason"), [(b"", "empty file"), (b"MThd\x00", "truncated MIDI header")]
)
def test_empty_and_tiny_files_raise(tmp_path, content, reason):
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(MidiReadError, match=reason):
        read_midi(path)


def test_missing_file_raises(tmp_path):
    with pytest.raises(MidiReadError, match="no such file"):
        read_midi(tmp_path / "nope.mid")


def test_bad_options_are_refused(tmp_path):
    path = write_midi(PIECE, tmp_path / "song.mid")
    with pytest.raises(ValueError, match="parts"):
        read_midi(path, parts="second")  # type: ignore[arg-type]


def drum_file(path):
    from music21 import instrument, midi, note, stream

    part = stream.Part()
    part.insert(0, instrument.BassDrum())
    for i in range(4):
        part.insert(i, note.Unpitched(displayName="C2"))
    for track in (mf := midi.translate.streamToMidiFile(part)).tracks:
        for event in track.events:
            if event.channel is not None:
                event.channel = 10
    mf.open(str(path), "wb")
    mf.write()
    mf.close()
    return path


def test_load_corpus_skips_and_reports_bad_files(tmp_path):
    write_midi(PIECE, tmp_path / "good.mid")
    (tmp_path / "text.mid").write_text("hello")
    (tmp_path / "empty.mid").write_bytes(b"")
    drum_file(tmp_path / "drums.mid")
    (tmp_path / "readme.txt").write_text("named: not a music file")
    corpus = load_corpus(tmp_path, progress=False)
    assert isinstance(corpus, Corpus)
    assert [p.source for p in corpus.pieces] == ["good.mid"]
    reasons = {f.path.rsplit("/", 1)[-1]: f.reason for f in corpus.failures}
    assert reasons == {
        "drums.mid": "no pitched notes (empty or drums only)",
        "empty.mid": "empty file",
        "text.mid": "not a MIDI file (no 'MThd' header)",
        "readme.txt": "not a music file musegen reads (its suffix is '.txt'; reads "
        ".mid, .midi, .xml, .musicxml, .mxl, .krn, .abc)",
    }
    assert corpus.summary() == "1 piece, 7 events, 4 files skipped"


def test_load_corpus_in_parallel_gives_the_same_corpus_in_order(tmp_path):
    for number in range(9):  # different lengths: the workers take the largest first
        events = tuple(Event(i * 0.5, 0.5, (60 + number,), 80) for i in range(3 + 4 * number))
        write_midi(Piece(events), tmp_path / f"song{number}.mid")
    (tmp_path / "text.mid").write_text("hello")
    one = load_corpus(tmp_path, progress=False, workers=1)
    two = load_corpus(tmp_path, progress=False, workers=2)
    assert [p.source for p in two.pieces] == [f"song{n}.mid" for n in range(9)]
    assert two.pieces == one.pieces and two.failures == one.failures
    assert [f.path.rsplit("/", 1)[-1] for f in two.failures] == ["text.mid"]


def test_load_corpus_from_music21_bundled_corpus():
    corpus = load_corpus("music21:bach", limit=2, progress=False)
    assert len(corpus) == 2 and not corpus.failures
    assert all(len(p.notes) > 20 for p in corpus)
    # the voices sound together: chords of four (or more, with an instrument part)
    assert max(len(e.pitches) for p in corpus for e in p.notes) >= 4


def test_load_corpus_unknown_source():
    with pytest.raises(FileNotFoundError):
        load_corpus("no/such/folder", progress=False)
    with pytest.raises(ValueError, match="no pieces"):
        load_corpus("music21:nobody-at-all", progress=False)


def test_first_part_of_a_real_file(skuli_midi):
    piece = read_midi(skuli_midi / "FF6epitaph_piano.mid", parts="first")
    assert piece.source == "FF6epitaph_piano.mid"
    assert len(piece.notes) > 100
    assert all(a.offset <= b.offset for a, b in zip(piece.events, piece.events[1:], strict=False))


def test_drop_drums_leaves_out_channel_10_notes_not_the_whole_track(skuli_midi):
    # AT.mid's piano track also plays a few notes on channel 10
    for engine in ("fast", "music21"):
        with_drums = read_midi(skuli_midi / "AT.mid", drop_drums=False, engine=engine)
        without = read_midi(skuli_midi / "AT.mid", engine=engine)
        assert len(without.notes) > 500
        # the hi-hat (key 42) sounds only on channel 10 in this file
        assert 42 not in {p for e in without.notes for p in e.pitches}
        assert 42 in {p for e in with_drums.notes for p in e.pitches}


def test_pieces_go_to_music21_streams_and_back(skuli_midi, tmp_path):
    from musegen.io.reading import piece_from_stream
    from musegen.io.writing import piece_to_stream

    held = Piece(
        (Event(0, 2, (48, 64, 67), 90), Event(1, 0.5, (72,), 40), Event(1.5, 1.5, (71,)),
         Event(3, 1, (50, 65, 69, 74), 100)),
        tempo=96.0, time_signature="3/4",
    )  # fmt: skip
    back = piece_from_stream(piece_to_stream(held))
    assert (back.events, back.tempo, back.time_signature) == (held.events, 96.0, "3/4")
    piece = read_midi(skuli_midi / "8.mid")
    part = piece_to_stream(piece)
    back = piece_from_stream(part)  # a note is cut where its pitch starts again, as in MIDI
    assert len(back.events) == len(piece.events)
    assert piece_from_stream(piece_to_stream(back)).events == back.events
    assert part.flatten().getElementsByClass("MetronomeMark")[0].number == piece.tempo
    xml = part.write("musicxml", tmp_path / "8.musicxml")  # notation, with music21's own tools
    assert xml.stat().st_size > 1000


def test_a_note_of_velocity_0_is_written_as_the_softest_note_not_a_note_off(tmp_path):
    piece = Piece((Event(0, 1, (60,), 0), Event(1, 1, (62,), 90)))
    back = read_midi(write_midi(piece, tmp_path / "soft.mid"))
    assert [(e.pitches, e.velocity) for e in back.notes] == [((60,), 1), ((62,), 90)]

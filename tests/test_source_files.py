"""Folder reading: every music file musegen reads is found, whatever the case of its suffix,
and what is left out is named with the reason."""

from music21 import note, stream

from musegen.events import Event, Piece
from musegen.io.corpus import LoadFailure, load_corpus, source_files
from musegen.io.reading import read_tracks
from musegen.io.tracks import Score, Track
from musegen.io.writing import write_midi

TRIO = Score(
    (
        Track(Piece((Event(0, 1, (60, 64)), Event(1, 1, (62,)))), program=0, name="keys"),
        Track(Piece((Event(0, 2, (36,)),)), program=33, name="bass"),
        Track(Piece((Event(0, 1, (38,)), Event(1, 1, (42,)))), name="kit", is_drum=True),
    )
)


def _musicxml(path):
    part = stream.Part([note.Note("C4", quarterLength=1), note.Note("E4", quarterLength=1)])
    part.partName = "Flute"
    return stream.Score([part]).write("musicxml", path)


def test_a_folder_gives_midi_musicxml_and_kern_in_any_case_and_names_the_rest(tmp_path):
    for name in ("a.mid", "b.MID", "c.Mid", "d.midi", "e.MIDI"):
        write_midi(TRIO, tmp_path / name)
    _musicxml(tmp_path / "f.musicxml")
    _musicxml(tmp_path / "g.xml")
    (tmp_path / "sub").mkdir()
    _musicxml(tmp_path / "sub" / "h.XML")
    (tmp_path / "i.krn").write_text("**kern\n4c\n4e\n*-\n")
    (tmp_path / "notes.txt").write_text("not music")
    (tmp_path / ".hidden.mid").write_bytes(b"")
    skipped: list[LoadFailure] = []
    found = source_files(tmp_path, skipped=skipped)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.mid", "b.MID", "c.Mid", "d.midi", "e.MIDI", "f.musicxml", "g.xml", "i.krn", "sub/h.XML",
    ]  # fmt: skip
    assert [str(s) for s in skipped] == [
        f"{tmp_path / 'notes.txt'}: not a music file musegen reads (its suffix is '.txt'; "
        "reads .mid, .midi, .xml, .musicxml, .mxl, .krn, .abc)"
    ]
    corpus = load_corpus(tmp_path, progress=False)
    assert len(corpus.pieces) == 9
    assert [f.path for f in corpus.failures] == [str(tmp_path / "notes.txt")]


def test_an_upper_case_midi_suffix_reads_as_midi_with_its_drum_kit(tmp_path):
    lower = write_midi(TRIO, tmp_path / "Trio.mid")
    upper = tmp_path / "Trio.Mid"
    upper.write_bytes(lower.read_bytes())
    tracks = [(t.name, t.program, t.is_drum, t.piece.events) for t in read_tracks(lower).tracks]
    assert [t[:3] for t in tracks] == [("keys", 0, False), ("bass", 33, False), ("kit", 0, True)]
    assert [(t.name, t.program, t.is_drum, t.piece.events) for t in read_tracks(upper).tracks] == (
        tracks
    )
    assert load_corpus([upper], progress=False).pieces[0].events == (
        load_corpus([lower], progress=False).pieces[0].events
    )


TUNE = "X:{n}\nT:Tune {n}\nM:4/4\nL:1/4\nK:G\nG A B c|d2 B2|]\n"


def test_an_abc_tune_reads_and_an_abc_file_of_several_tunes_reads_tune_by_tune(tmp_path):
    (tmp_path / "one.abc").write_text(TUNE.format(n=1))
    (tmp_path / "two.abc").write_text(TUNE.format(n=1) + "\n" + TUNE.format(n=2))
    corpus = load_corpus(tmp_path, progress=False)
    piece, *tunes = corpus.pieces
    assert [(e.offset, e.duration, e.pitches) for e in piece.events] == [
        (0.0, 1.0, (67,)), (1.0, 1.0, (69,)), (2.0, 1.0, (71,)), (3.0, 1.0, (72,)),
        (4.0, 2.0, (74,)), (6.0, 2.0, (71,)),
    ]  # fmt: skip
    assert corpus.failures == []
    assert [p.source for p in corpus.pieces] == ["one.abc", "two.abc#1", "two.abc#2"]
    assert all(t.events == piece.events for t in tunes)
    assert any(p.suffix == ".abc" for p in source_files("music21:ryansMammoth")[:5])

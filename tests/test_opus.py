"""Files of many tunes (an opus: music21's folk collections) load tune by tune."""

from pathlib import Path

import pytest
from music21 import converter, meter

from musegen.io.corpus import load_corpus, source_files
from musegen.io.reading import MidiReadError, piece_from_stream, read_piece


@pytest.fixture(scope="module")
def oneills() -> tuple[Path, object]:
    """The first file of music21's O'Neill's 1850 collection, and music21's opus of it."""
    first = source_files("music21:oneills1850")[0]
    return first, converter.parse(first, forceSource=True, storePickle=False)


def test_the_first_file_of_oneills_loads_as_its_tunes(oneills):
    file, opus = oneills
    corpus = load_corpus([file], progress=False)
    assert corpus.failures == []
    assert len(corpus.pieces) == len(opus.scores) > 1
    sources = [p.source for p in corpus.pieces]
    assert sources[:2] == [f"{file.name}#1", f"{file.name}#2"]
    assert len(set(sources)) == len(sources)
    metres = [next(iter(s.recurse().getElementsByClass(meter.TimeSignature))) for s in opus.scores]
    assert [p.time_signature for p in corpus.pieces] == [m.ratioString for m in metres]
    assert {"6/8", "3/4"} <= {p.time_signature for p in corpus.pieces}
    assert sum(p.pickup > 0 for p in corpus.pieces) > len(corpus.pieces) // 2  # most start so
    third = piece_from_stream(opus.scores[2], source=f"{file.name}#3")
    assert corpus.pieces[2] == third  # notes, metre map and all, as music21's own opus gives


def test_read_piece_of_an_opus_refuses_and_names_load_corpus(oneills):
    file, opus = oneills
    with pytest.raises(MidiReadError, match=f"holds {len(opus.scores)} pieces.*load_corpus"):
        read_piece(file)


TUNE = "X:{n}\nT:Tune {n}\nM:{metre}\nL:1/8\nK:G\n{body}\n"


def test_a_broken_tune_is_skipped_and_named_and_the_others_kept(tmp_path):
    good = TUNE.format(n=1, metre="3/4", body="D2|G2 B2 d2|c2 A2 F2|G6|]")
    broken = TUNE.format(n=2, metre="4/4", body="C0 D/0|]")  # a zero length: music21 fails
    later = TUNE.format(n=3, metre="6/8", body="GAB c2d|]")
    file = tmp_path / "three.abc"
    file.write_text("%abc-2.1\n\n" + "\n".join([good, broken, later]))
    corpus = load_corpus(tmp_path, progress=False)
    assert [(p.source, p.time_signature) for p in corpus.pieces] == [
        ("three.abc#1", "3/4"),
        ("three.abc#3", "6/8"),
    ]
    assert corpus.pieces[0].pickup == 1.0  # the D2 before the first bar line
    assert corpus.pieces[0].notes[0].pitches == (62,)
    (failure,) = corpus.failures
    assert failure.path == f"{file}#2"
    assert "ABC" in failure.reason
    (tmp_path / "one.abc").write_text(good)  # the good tune in a file of its own reads the same
    alone = load_corpus([tmp_path / "one.abc"], progress=False).pieces[0]
    assert alone.events == corpus.pieces[0].events
    assert alone.source == "one.abc"


def test_a_tune_without_notes_is_named_and_limit_counts_files(tmp_path):
    good = TUNE.format(n=1, metre="3/4", body="G2 B2 d2|]")
    (tmp_path / "a.abc").write_text(good + "\n" + TUNE.format(n=2, metre="3/4", body=""))
    (tmp_path / "b.abc").write_text(good)
    corpus = load_corpus(tmp_path, progress=False, limit=1)
    assert [p.source for p in corpus.pieces] == ["a.abc#1"]
    assert [str(f) for f in corpus.failures] == [
        f"{tmp_path / 'a.abc'}#2: no pitched notes (empty or drums only)"
    ]

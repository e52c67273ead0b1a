"""A band's tokens keep every note of every part, on real quartets; what they cannot keep is counted."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import pytest

from musegen.events import Event, Piece
from musegen.io.reading import read_tracks
from musegen.io.tracks import Score, Track
from musegen.io.writing import write_midi
from musegen.tokens.track_tokenizer import TrackTokenizer

GRID = 0.25  # the shortest of the default duration buckets: a sixteenth


def _notes(track: Track) -> int:
    return sum(len(e.pitches) for e in track.piece.notes)


def _on_grid(track: Track) -> set[tuple[float, int]]:
    return {(round(e.offset / GRID) * GRID, p) for e in track.piece.notes for p in e.pitches}


@pytest.fixture(scope="module", params=["beethoven/opus18no1/movement2", "mozart/k156/movement1"])
def quartet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Score:
    """A string quartet movement's first 60 bars as music21 writes it to MIDI, read back by track.

    Beethoven's parts are programs 40, 40, 41, 42; Mozart's all 48 (string ensemble).
    """
    from music21 import corpus

    path = tmp_path_factory.mktemp("quartet") / "quartet.mid"
    corpus.parse(request.param).measures(1, 60).write("midi", fp=path)
    return read_tracks(path)


@pytest.mark.parametrize("spelling", ["token", "qualified"])
@pytest.mark.parametrize("families", [False, True])
def test_every_part_keeps_its_notes_and_the_count_says_what_it_cannot(
    quartet: Score, spelling: str, families: bool
) -> None:
    tokenizer = TrackTokenizer(spelling=spelling, families=families)
    back = tokenizer.decode_score(tokenizer.encode_score(quartet))
    names = tokenizer.part_names(quartet)
    assert len(set(names)) == 4 == len(back.tracks)  # the two violins stay apart
    assert tokenizer.part_names(back) == names
    lost = 0
    for before, after in zip(quartet.tracks, back.tracks, strict=True):
        if families:  # a part is its family's: the viola comes back a violin, as strings
            assert after.family == before.family
        else:
            assert (after.program, after.is_drum) == (before.program, before.is_drum)
        assert {(e.offset, p) for e in after.piece.notes for p in e.pitches} == _on_grid(before)
        lost += _notes(before) - _notes(after)
    assert lost == dict(tokenizer.not_kept(quartet)).get("doubled band note", 0)


def test_the_decoded_band_written_reads_back_with_every_note(
    quartet: Score, tmp_path: Path
) -> None:
    """Checked with mido: a track per part, its note-ons the decoded part's notes."""
    mido = pytest.importorskip("mido")
    tokenizer = TrackTokenizer()
    back = tokenizer.decode_score(tokenizer.encode_score(quartet))
    path = write_midi(back, tmp_path / "band.mid")
    counts = [
        sum(m.type == "note_on" and m.velocity > 0 for m in track)
        for track in mido.MidiFile(path).tracks
    ]
    assert [c for c in counts if c] == [_notes(t) for t in back.tracks]


def test_violins_sharing_a_program_are_two_parts_in_the_tokens() -> None:
    first = Track(Piece((Event(0, 1, (76,)), Event(1, 1, (74,)))), program=40, name="Violin I")
    second = Track(Piece((Event(0, 2, (67,)),)), program=40, name="Violin II")
    tokenizer = TrackTokenizer()
    tokens = tokenizer.encode_score(Score((first, second)))
    assert tokens == [
        "@p40",
        "E5",
        "4th",
        "+0",
        "@p40.2",
        "G4",
        "half",
        "+4th",
        "@p40",
        "D5",
        "4th",
    ]
    back = tokenizer.decode_score(tokens)
    assert [(t.program, [(e.offset, e.pitches) for e in t.piece.notes]) for t in back.tracks] == [
        (40, [(0.0, (76,)), (1.0, (74,))]),
        (40, [(0.0, (67,))]),
    ]
    qualified = TrackTokenizer(spelling="qualified")
    assert qualified.encode_score(Score((first, second)))[2:4] == ["+0", "p40.2:G4"]
    assert qualified.describe("p40.2:G4").instrument == "p40.2"
    assert qualified.describe("p40.1:G4").kind == "unknown"  # the first part has no number
    assert tokenizer.describe("@p40.x").kind == "unknown"


def test_long_silences_and_odd_gaps_are_spelt_exactly() -> None:
    """No drift: a rest of 9 quarter notes, a gap of a quarter and a sixteenth inside a long note."""
    piano = Track(Piece((Event(9, 4, (60,)), Event(10.25, 1, (64,)), Event(30, 1, (67,)))))
    tokenizer = TrackTokenizer()
    tokens = tokenizer.encode_score(Score((piano,)))
    assert tokens[:6] == ["rest", "whole", "rest", "whole", "rest", "4th"]
    back = tokenizer.decode_score(tokens)
    assert [e.offset for e in back.tracks[0].piece.notes] == [9.0, 10.25, 30.0]


def test_reading_a_band_corpus_counts_the_notes_its_tokens_cannot_keep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from musegen.cli._common import load_scores

    # a pitch struck twice within a sixteenth, each a twelfth long
    doubled = Piece((Event(0, 1 / 12, (60,)), Event(1 / 12, 1 / 12, (60,)), Event(1, 1, (62,))))
    write_midi(Score((Track(doubled, program=0), Track(doubled, program=33))), tmp_path / "a.mid")
    scores = load_scores(argparse.Namespace(source=str(tmp_path), limit=None))
    assert len(scores) == 1
    assert "read 1 file: 2 doubled band notes not kept" in capsys.readouterr().out


def test_the_clock_reads_a_quartet_as_the_decoder_does(quartet: Score) -> None:
    """Composing's clock, id by id over a real quartet's tokens: each event's onset is the decoder's."""
    import numpy as np

    from musegen.generation._clock import Clock
    from musegen.tokens.token_table import TokenTable

    tokenizer = TrackTokenizer()
    tokens = tokenizer.encode_score(quartet)[:600]
    vocab = tokenizer.build_vocabulary([quartet])
    clock = Clock(TokenTable.build(tokenizer, vocab))
    piece, _, runs = tokenizer._decode_runs([t for t in tokens if not t.startswith("@")])
    onsets = iter(e.offset for e, _ in zip(piece.events, runs, strict=True))
    time = clock.empty(1)
    for k, token in enumerate(tokens):
        opens = tokenizer.describe(token).kind in ("instrument", "rest")
        if opens and (k == 0 or not tokens[k - 1].startswith("@")):
            assert time.time[0] == pytest.approx(next(onsets), abs=1e-9), tokens[max(0, k - 6) : k]
        time = clock.advance(time, np.array([vocab.encode([token])[0]]))


def test_triplet_durations_keep_every_onset_on_their_grid() -> None:
    """Review: with sixteenths and triplets as durations, onsets drifted off (99.9167 for 100)."""
    from musegen.tokens.tokenizer import DurationBuckets

    values = (0.25, 1 / 3, 0.5, 2 / 3, 1.0, 2.0)
    names = ("16th", "8th3", "8th", "4th3", "4th", "half")
    edges = tuple((a + b) / 2 for a, b in itertools.pairwise(values))
    tokenizer = TrackTokenizer(durations=DurationBuckets(edges, names, values))
    onsets = [0, 1 / 3, 2 / 3, 1, 1.25, 1.75, 2, 7 / 3, 3.5, 100, 100 + 2 / 3]
    lengths = [1 / 3, 1 / 3, 1 / 3, 0.25, 0.5, 0.25, 1 / 3, 1.0, 0.5, 2 / 3, 1 / 3]
    line = Piece(
        tuple(Event(t, d, (60 + i,)) for i, (t, d) in enumerate(zip(onsets, lengths, strict=True)))
    )
    back = tokenizer.decode_score(tokenizer.encode_score(Score((Track(line),))))
    assert [e.offset for e in back.tracks[0].piece.notes] == pytest.approx(onsets, abs=1e-9)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_quartet_bundle_continues_a_real_quartet_its_parts_apart(
    seed: int, tmp_path: Path
) -> None:
    """Primed with 8 bars of a Haydn quartet (two violins of one program), read by symusic."""
    symusic = pytest.importorskip("symusic")
    from music21 import corpus

    from musegen.cli import main

    prime = tmp_path / "haydn.mid"
    corpus.parse("haydn/opus74no1/movement3").measures(1, 8).write("midi", fp=prime)
    out = tmp_path / "out.mid"
    args = ["generate", "musegen:quartets", "--prime", str(prime), "--bars", "4"]
    assert main([*args, "--seed", str(seed), "--out", str(out)]) == 0
    written = symusic.Score(str(out))
    pitched = [t for t in written.tracks if not t.is_drum and len(t.notes)]
    assert sorted(t.program for t in pitched) == [40, 40, 41, 42]  # Violin 1 and 2 apart
    names = sorted(t.name for t in pitched)
    assert names == sorted({*names}) and len(names) == 4
    assert all(len(t.notes) >= 2 for t in pitched)

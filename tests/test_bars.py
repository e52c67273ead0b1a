"""Metre in the tokens: ``NoteTokenizer(bars=True)``, its clock, `BarConstraint` and compose.

Real music: music21's Bach chorales (most begin with a one-quarter pickup, some
are in 3/4, one changes metre), read with the library's readers, decoded and
written, and read back with mido.
"""

from __future__ import annotations

import mido
import numpy as np
import pytest

from musegen.events import Event, Piece
from musegen.generation._clock import Clock
from musegen.generation.compose import compose
from musegen.generation.decoding import generate
from musegen.generation.processors import BarConstraint
from musegen.io.reading import read_piece
from musegen.io.writing import write_midi
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.token_table import BAR, INSTRUMENT, METRE, PITCH, REST, TokenTable
from musegen.training.bundle import Bundle
from musegen.training.model import build_lstm

BARS = NoteTokenizer(holds=True, bars=True)


def _chorales(names: list[str]) -> list[Piece]:
    from music21 import corpus

    return [read_piece(corpus.getWork(f"bach/{n}")) for n in names]


def test_a_pickup_comes_before_the_first_bar_and_each_bar_resets_the_time() -> None:
    piece = Piece(
        (Event(0, 1, (67,)), Event(1, 2, (60, 64)), Event(2, 1, (74,)), Event(3, 1, (72,)),
         Event(4.5, 1.5, (71,)), Event(9, 1, (60,))),
        pickup=1.0,
    )  # fmt: skip
    tokens = BARS.encode(piece)
    assert tokens == [
        "G4", "4th", "bar", "4/4", "C4", "E4", "half", "+4th", "D5", "4th", "C5", "4th",
        "rest", "8th", "B4", "4th.", "bar", "bar", "C4", "4th",
    ]  # fmt: skip
    decoded = BARS.decode(tokens)
    assert decoded.notes == piece.notes
    assert decoded.pickup == 1.0 and decoded.bar_lines(10.0) == [1.0, 5.0, 9.0]
    assert BARS.encode(decoded) == tokens


def test_a_bar_moves_the_time_to_the_bar_line_whatever_came_before() -> None:
    # the first bar is over-full (5 quarters): the second bar still starts at 4
    tokens = ["bar", "3/4", "C4", "half.", "D4", "half", "bar", "E4", "4th"]
    piece, skipped = BARS.decode_with_skipped(tokens)
    assert skipped == [] and [e.offset for e in piece.notes] == [0.0, 3.0, 3.0]
    assert piece.time_signature == "3/4" and piece.bar_lines(4.0) == [0.0, 3.0]
    # a metre change at the third bar, and a bar token inside an open run drops the run
    tokens = ["bar", "4/4", "C4", "whole", "bar", "6/8", "D4", "bar", "E4", "4th"]
    piece, skipped = BARS.decode_with_skipped(tokens)
    assert [e.offset for e in piece.notes] == [0.0, 7.0]
    assert piece.time_signature_changes == ((4.0, "6/8"),)
    assert skipped == [(6, "D4")]


def test_metre_changes_and_pickups_of_real_chorales_survive_the_tokens() -> None:
    # bwv1.6: pickup in 4/4; bwv11.6: 3/4; bwv27.6: 4/4 then 3/2; bwv362: pickup, 4/4 then 3/4
    pieces = _chorales(["bwv1.6", "bwv11.6", "bwv27.6", "bwv362"])
    assert [p.pickup for p in pieces] == [1.0, 0.0, 0.0, 1.0]
    for piece in pieces:
        tokens = BARS.encode(piece)
        decoded = BARS.decode(tokens)
        end = max(e.offset for e in piece.notes) + 1e-6
        assert decoded.bar_lines(end) == piece.bar_lines(end), piece.source
        assert tokens.count("bar") == len(piece.bar_lines(end))
        assert (decoded.time_signature, decoded.time_signature_changes) == (
            piece.time_signature, piece.time_signature_changes)  # fmt: skip
        # each note keeps its bar and its place in it (the chorales hold no triplets)
        assert [e.offset for e in decoded.notes] == [e.offset for e in piece.notes]
        assert BARS.encode(decoded) == tokens


def test_the_clock_and_the_grammar_read_bars_and_metres() -> None:
    vocab = BARS.build_vocabulary(_chorales(["bwv1.6", "bwv11.6"]))
    table = TokenTable.build(BARS, vocab)
    bar, three = vocab.encode(["bar", "3/4"])
    assert table.kinds[bar] == BAR and table.durations[three] == 3.0
    clock = Clock(table)
    time = clock.run(np.array([vocab.encode(["C4", "half", "bar", "3/4", "C4", "4th", "bar"])]))
    assert (time.time[0], time.bar_at[0], time.bar_length[0]) == (5.0, 5.0, 3.0)
    after_bar = table.allowed_next(np.array([[bar]]))[0]
    assert after_bar[three] and after_bar[vocab.encode(["C4"])[0]]
    assert not table.allowed_next(np.array([[three]]))[0][three]  # a metre only after a bar
    assert not table.allowed_next(np.array([vocab.encode(["C4"])]))[0][bar]  # not inside an event


def test_bar_constraint_keeps_an_untrained_model_inside_its_bars() -> None:
    vocab = BARS.build_vocabulary(_chorales(["bwv1.6", "bwv11.6"]))
    table = TokenTable.build(BARS, vocab)
    model = build_lstm(len(vocab), units=(8,))
    prime = vocab.encode(["bar", "3/4"])
    rows = generate(model, prime, 300, "categorical", processors=[BarConstraint()], table=table,
                    seed=0, batch_size=4)  # fmt: skip
    clock = Clock(table)
    opening = (table.kinds == PITCH) | (table.kinds == REST) | (table.kinds == INSTRUMENT)
    bars_seen = 0
    for row in rows:
        ids = [*prime, *(int(i) for i in row)]
        time = clock.run(np.array([ids[:2]]))
        for i in ids[2:]:
            if opening[i] and time.between[0]:
                assert time.time[0] < time.bar_at[0] + time.bar_length[0] - 1e-9
            bars_seen += table.kinds[i] == BAR
            time = clock.advance(time, np.array([i]))
    assert bars_seen > 10
    with pytest.raises(ValueError, match="holds=True"):
        NoteTokenizer(bars=True)
    assert NoteTokenizer.from_config(BARS.get_config()).bars


@pytest.fixture(scope="module")
def bars_bundle() -> Bundle:
    """An untrained model over the tokens of chorales in 4/4 and 3/4 (it knows both metres)."""
    vocab = BARS.build_vocabulary(_chorales(["bwv1.6", "bwv11.6"]))
    return Bundle(build_lstm(len(vocab), units=(8,)), BARS, vocab)


def test_compose_writes_whole_bars_of_the_metre_asked_for(bars_bundle: Bundle, tmp_path) -> None:
    prime = _chorales(["bwv1.6"])[0]  # 4/4 with a pickup: the new music starts on a bar line
    pieces = [
        piece
        for seed in (0, 1, 2)
        for piece in compose(bars_bundle, prime, bars=4, time_signature="3/4", seed=seed, num=2,
                             sampler="categorical", processors=["grammar"], steps=400).pieces
    ]  # fmt: skip
    for piece in pieces:
        music = piece.music
        assert piece.length == 12.0 and music.time_signature == "3/4" and music.pickup == 0.0
        assert music.bar_lines(12.0) == [0.0, 3.0, 6.0, 9.0]
        assert all(e.offset < 12.0 for e in music.events)
        path = write_midi(music, tmp_path / "made.mid")
        signatures = [
            (m.numerator, m.denominator) for track in mido.MidiFile(path).tracks for m in track
            if m.type == "time_signature"
        ]  # fmt: skip
        assert signatures == [(3, 4)]
        import symusic  # a second independent reader: every note inside the 4 bars of 3/4

        score = symusic.Score(str(path), ttype="quarter")
        assert [(t.numerator, t.denominator) for t in score.time_signatures] == [(3, 4)]
        notes = [n for track in score.tracks for n in track.notes]
        assert notes and max(n.time + n.duration for n in notes) <= 12.0 + 1e-6
    with pytest.raises(ValueError, match=r"never learnt the metre 6/8: it knows 3/4, 4/4"):
        compose(bars_bundle, prime, bars=4, time_signature="6/8", seed=0)


def test_infill_with_bars_keeps_the_music_around_the_gap(bars_bundle: Bundle) -> None:
    from musegen.generation.infill import _leading_to, infill

    piece = _chorales(["bwv1.6"])[0]  # a pickup of one quarter: bar lines at 1, 5, 9, 13, ...
    before = piece.with_events([e for e in piece.events if e.offset < 9.0])
    prime = _leading_to(BARS, before, 9.0)
    assert prime[-1] == "bar" and BARS.decode(prime).bar_lines(10.0)[-1] == 9.0  # the gap's bar
    filled = infill(bars_bundle.model, BARS, bars_bundle.vocabulary, piece, 9.0, 17.0,
                    candidates=4, seed=0, processors=["grammar"])  # fmt: skip
    outside = [e for e in filled.piece.events if not 9.0 <= e.offset < 17.0]
    assert outside == [e for e in piece.events if not 9.0 <= e.offset < 17.0]
    assert all(e.end <= 17.0 + 1e-9 for e in filled.piece.events if 9.0 <= e.offset < 17.0)
    assert filled.piece.pickup == 1.0


def test_a_pickup_in_three_four_decodes_as_three_four_from_the_start() -> None:
    piece = Piece((Event(0, 1, (67,)), Event(1, 3, (60,)), Event(4, 3, (62,))),
                  time_signature="3/4", pickup=1.0)  # fmt: skip
    decoded = BARS.decode(BARS.encode(piece))
    assert (decoded.time_signature, decoded.time_signature_changes, decoded.pickup) == (
        "3/4", (), 1.0)  # fmt: skip


def test_a_band_refuses_bars_in_one_line() -> None:
    from musegen.tokens.track_tokenizer import TrackTokenizer
    from musegen.training.recipe import Recipe, RecipeError

    with pytest.raises(ValueError, match="no bar tokens"):
        TrackTokenizer(bars=True)
    with pytest.raises(RecipeError, match="--encoding notes-bars with --tracks"):
        Recipe(tracks=True, encoding="notes-bars")


def test_a_model_without_bars_says_the_metre_only_labels_its_file() -> None:
    notes = NoteTokenizer(holds=True)
    vocab = notes.build_vocabulary(_chorales(["bwv1.6"]))
    bundle = Bundle(build_lstm(len(vocab), units=(4,)), notes, vocab)
    made = compose(bundle, ["C4", "4th"], bars=1, time_signature="3/4", seed=0)
    assert any("without bar tokens: 3/4 is written" in line for line in made.messages)
    assert made.pieces[0].music.time_signature == "3/4"


def test_a_bar_cut_short_by_a_metre_change_keeps_every_later_note_in_place() -> None:
    # review: 4/4 changing to 2/4 at 6 cuts the second bar to 2 quarters; the tokens said
    # nothing of it and every later note came back 2 quarters late
    piece = Piece(tuple(Event(i, 1, (60 + i,)) for i in range(10)),
                  time_signature_changes=((6.0, "2/4"),))  # fmt: skip
    tokens = BARS.encode(piece)
    assert tokens[10:12] == ["bar", "2/4"]  # the short bar is a 2/4 bar of its own
    decoded = BARS.decode(tokens)
    assert [e.offset for e in decoded.notes] == [float(i) for i in range(10)]
    assert decoded.bar_lines(10.0) == piece.bar_lines(10.0) == [0.0, 4.0, 6.0, 8.0]


def test_folk_tunes_with_short_bars_keep_their_bar_lines() -> None:
    from musegen.io.corpus import load_corpus

    tunes = load_corpus("music21:oneills1850", limit=1, progress=False).pieces  # 50 tunes
    odd = [t for t in tunes if t.time_signature_changes]  # music21's short bars: 1/16, 1/8 ...
    assert len(odd) >= 5
    for tune in tunes:
        decoded = BARS.decode(BARS.encode(tune))
        end = max(e.offset for e in tune.notes) + 1e-6
        assert decoded.bar_lines(end) == tune.bar_lines(end), tune.source


def test_compose_keeps_the_metre_it_starts_in(bars_bundle: Bundle) -> None:
    prime = _chorales(["bwv11.6"])[0]  # 3/4; the model knows 4/4 and 3/4 and may not switch
    made = compose(bars_bundle, prime, bars=6, seed=1, num=4, sampler="categorical",
                   processors=["grammar"], steps=600)  # fmt: skip
    table = TokenTable.build(BARS, bars_bundle.vocabulary)
    for piece in made.pieces:
        assert piece.music.time_signature == "3/4" and piece.music.time_signature_changes == ()
        assert piece.length == 18.0
        assert not any(table.kinds[i] == METRE for i in piece.ids)


def test_infill_by_bars_with_a_bars_model_keeps_the_users_notes(
    bars_bundle: Bundle, tmp_path
) -> None:
    import symusic

    from musegen.cli import main
    from musegen.training.bundle import save_bundle

    bundle = save_bundle(tmp_path / "bundle", bars_bundle.model, BARS, bars_bundle.vocabulary)
    song = write_midi(_chorales(["bwv1.6"])[0], tmp_path / "bwv1.6.mid")  # a pickup: bar 0

    def notes(path, inside: bool) -> list[tuple[float, float, int]]:
        score = symusic.Score(str(path), ttype="quarter")
        return sorted((n.time, n.end, n.pitch) for t in score.tracks for n in t.notes
                      if (9.0 <= n.time < 17.0) == inside)  # fmt: skip

    for seed in (0, 1):
        out = tmp_path / f"filled-{seed}.mid"
        args = ["infill", str(bundle), str(song), "--bars", "3:4", "--candidates", "4"]
        assert main([*args, "--grammar", "--seed", str(seed), "--out", str(out)]) == 0
        assert notes(out, False) == notes(song, False)
        assert all(end <= 17.0 + 1e-6 for _, end, _ in notes(out, True))

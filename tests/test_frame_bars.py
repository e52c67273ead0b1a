"""FrameTokenizer(bars=True) (``frames-bars``): bar and metre tokens on the frame grid."""

from __future__ import annotations

import numpy as np
import pytest

from musegen import datasets
from musegen.events import Event, Piece
from musegen.generation._clock import Clock
from musegen.tokens.encodings import encodings
from musegen.tokens.frame_tokenizer import FrameTokenizer
from musegen.tokens.token_table import BAR, METRE, TokenTable
from musegen.tokens.vocabulary import Vocabulary

BARS = FrameTokenizer(bars=True)

# a one-quarter pickup in 3/4, then two bars and a half-bar of frames, a rest among them
PICKUP = Piece(
    (
        Event(0, 1, (67,)),
        Event(1, 3, (60, 64)),
        Event(4, 1, (62,)),
        Event(6, 2, (60,)),
    ),
    time_signature="3/4",
    pickup=1.0,
)


def test_a_pickup_comes_before_the_first_bar_and_the_metre_after_it() -> None:
    assert BARS.encode(PICKUP) == [
        "start", "G4", "4th",
        "bar", "3/4", "C4", "E4", "4th", "C4", "E4", "4th", "C4", "E4", "4th",
        "bar", "D4", "4th", "rest", "4th", "C4", "4th",
        "bar", "C4", "4th",
    ]  # fmt: skip
    decoded = BARS.decode(BARS.encode(PICKUP))
    assert BARS.frames(decoded) == BARS.frames(PICKUP)
    assert (decoded.time_signature, decoded.pickup, decoded.time_signature_changes) == (
        "3/4", 1.0, ())  # fmt: skip
    assert decoded.bar_lines(8.0) == PICKUP.bar_lines(8.0) == [1.0, 4.0, 7.0]
    # without bars the tokens are today's frames
    plain = [t for t in BARS.encode(PICKUP) if t not in ("bar", "3/4")]
    assert FrameTokenizer().encode(PICKUP) == plain


def test_a_metre_change_is_written_after_its_bar_and_read_back() -> None:
    piece = Piece((Event(0, 9, (60,)),), time_signature_changes=((4.0, "3/4"), (7.0, "2/4")))
    tokens = BARS.encode(piece)
    assert tokens == [
        "start", "bar", "4/4", *["C4", "4th"] * 4, "bar", "3/4", *["C4", "4th"] * 3,
        "bar", "2/4", *["C4", "4th"] * 2,
    ]  # fmt: skip
    decoded = BARS.decode(tokens)
    assert decoded.time_signature_changes == ((4.0, "3/4"), (7.0, "2/4"))
    assert decoded.pickup == 0.0 and decoded.bar_lines(9.0) == [0.0, 4.0, 7.0]


def test_bars_off_the_grid_cannot_be_written_and_a_pickup_between_frames_rounds_up() -> None:
    with pytest.raises(ValueError, match="whole steps"):
        BARS.encode(Piece((Event(0, 8, (60,)),), time_signature="7/8"))
    late = Piece((Event(0, 6, (60,)),), pickup=1.5)
    assert BARS.bar_frames(late) == {2: "4/4"}
    assert BARS.decode(BARS.encode(late)).pickup == 2.0
    assert BARS.encode(Piece()) == ["start"]


def test_config_encoding_and_token_table() -> None:
    assert encodings()["frames-bars"] == BARS != FrameTokenizer()
    assert FrameTokenizer.from_config(FrameTokenizer().get_config()) == FrameTokenizer()
    assert "bars" not in FrameTokenizer().get_config()  # older configurations read the same
    assert FrameTokenizer.from_config(BARS.get_config()).bars
    vocab = Vocabulary(["start", "rest", "4th", "bar", "3/4", "G4", "C4", "E4", "D4"])
    table = TokenTable.build(BARS, vocab)
    bar, three = vocab.encode(["bar", "3/4"])
    assert (table.kinds[bar], table.kinds[three], table.durations[three]) == (BAR, METRE, 3.0)
    ids = np.array([vocab.encode(BARS.encode(PICKUP))])
    time = Clock(table).run(ids)
    assert (time.time[0], time.bar_at[0], time.bar_length[0]) == (8.0, 7.0, 3.0)
    allowed = np.ones(len(vocab), bool)
    for k in range(ids.shape[1]):  # the grammar accepts every token
        assert allowed[ids[0, k]]
        allowed = table.allowed_next(ids[:, : k + 1])[0]


def test_a_matched_jsb_chorale_round_trips_its_frames_and_bar_lines() -> None:
    metres = datasets.jsb_metres("test")
    index = next(i for i, m in enumerate(metres) if m is not None and m["pickup"] > 0)
    song = datasets.jsb_chorales("test", metre=True)[index]
    plain = datasets.jsb_chorales("test")[index]
    assert song.events == plain.events and song.pickup == metres[index]["pickup"]
    tokens = BARS.encode(song)
    frames = len(song.events)
    assert tokens.count("bar") == len(song.bar_lines(float(frames)))
    assert len([t for t in tokens if t == "4th"]) == frames  # the same frames, bars besides
    decoded = BARS.decode(tokens)
    assert BARS.frames(decoded) == BARS.frames(song)
    assert decoded.bar_lines(float(frames)) == song.bar_lines(float(frames))
    assert (decoded.time_signature, decoded.pickup) == (song.time_signature, song.pickup)
    assert BARS.encode(decoded) == tokens


def test_every_shipped_metre_can_be_written() -> None:
    for split in datasets.JSB_SPLITS:
        for song in datasets.jsb_chorales(split, metre=True):
            frames = len(song.events)
            decoded = BARS.decode(BARS.encode(song))
            assert decoded.bar_lines(float(frames)) == song.bar_lines(float(frames)), song.source


def test_a_bar_cut_short_by_a_metre_change_is_a_bar_of_its_own_metre() -> None:
    """BWV 171.6 changes to 3/4 a beat into a 4/4 bar (as music21's corpus has it)."""
    from music21 import corpus

    from musegen.io.corpus import load_corpus

    chorale = load_corpus(str(corpus.getWork("bach/bwv171.6")), progress=False).pieces[0]
    assert chorale.time_signature_changes[0] == (96.0, "3/4")
    assert 93.0 in chorale.bar_lines(100.0)  # the 4/4 bar from 93 is cut short at 96
    tokens = BARS.encode(chorale)
    bar_of = [i for i, t in enumerate(tokens) if t == "bar"]
    assert tokens[bar_of[23] + 1] == "3/4"  # the 24th bar (93..96): its own metre
    decoded = BARS.decode(tokens)
    end = chorale.duration
    assert decoded.bar_lines(end) == chorale.bar_lines(end)
    notes = encodings()["notes-bars"]
    assert notes.decode(notes.encode(chorale)).bar_lines(end) == chorale.bar_lines(end)

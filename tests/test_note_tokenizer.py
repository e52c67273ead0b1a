"""The note-level spelling: exact tokens, round trips, and decoding that never raises."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from musegen.events import Event, Piece
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.tokenizer import DurationBuckets, Tokenizer, VelocityBuckets
from musegen.tokens.vocabulary import Vocabulary

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEED_NOTES = NoteTokenizer(durations=DurationBuckets.seed(), velocities=VelocityBuckets.seed())

# C major triad, D4, a silent half beat, a C3+C5 octave cut short by B-flat 4.
PIECE = Piece(
    (
        Event(0.0, 1.0, (60, 64, 67), 100),
        Event(1.0, 0.5, (62,), 50),
        Event(2.0, 2.0, (48, 72), 80),
        Event(3.0, 1.0, (70,), 30),
    )
)


def test_exact_tokens_with_the_seed_information():
    assert SEED_NOTES.encode(PIECE) == [
        *("C4", "E4", "G4", "medium", "v102"),
        *("D4", "short", "v59"),
        *("rest", "short"),
        *("C3", "C5", "medium", "v81"),
        *("B-4", "medium", "v31"),
    ]


def test_exact_tokens_with_fine_durations_and_no_velocities():
    piece = Piece((Event(0, 0.75, (67, 60)), Event(0.75, 0.25, (62,)), Event(2, 3, (40,))))
    assert NoteTokenizer.fine().encode(piece) == [
        *("C4", "G4", "8th."),
        *("D4", "16th"),
        *("rest", "4th"),
        *("E2", "half."),
    ]


def test_exact_round_trip_equals_the_compound_spelling():
    # every duration and gap is a bucket value and every velocity a level: nothing snaps
    exact = Piece(
        (
            Event(0.0, 1.0, (60, 64, 67), 102),
            Event(1.0, 0.5, (62,), 59),
            Event(2.0, 2.0, (48, 72), 81),
            Event(4.0, 1.0, (70,), 31),
        )
    )
    back, skipped = SEED_NOTES.decode_with_skipped(SEED_NOTES.encode(exact))
    assert skipped == []
    assert back.notes == exact.notes
    assert back == Tokenizer.seed().decode(Tokenizer.seed().encode(exact))
    assert SEED_NOTES.decode(SEED_NOTES.encode(PIECE)) == Tokenizer.seed().decode(
        Tokenizer.seed().encode(PIECE)
    )


def test_stray_and_incomplete_runs_are_skipped_and_reported():
    tokens = ["v59", "medium", "C4", "E4", "medium", "G4", "short", "v81", "rest", "C4", "long"]
    piece, skipped = SEED_NOTES.decode_with_skipped(tokens)
    # "C4 E4 medium" lacks its velocity; "rest" lacks its duration
    assert [(e.offset, e.duration, e.pitches, e.velocity) for e in piece.events] == [
        (0.0, 0.5, (67,), 81)
    ]
    assert skipped == [
        (0, "v59"),
        (1, "medium"),
        (2, "C4"),
        (3, "E4"),
        (4, "medium"),
        (8, "rest"),
        (9, "C4"),
        (10, "long"),
    ]


def test_pitches_in_any_order_merge_into_one_chord():
    piece = NoteTokenizer.fine().decode(["G4", "C4", "G4", "4th", "<unk>", "rest", "8th"])
    assert [(e.offset, e.pitches) for e in piece.events] == [(0.0, (60, 67)), (1.0, ())]


def test_vocabulary_stays_near_pitches_plus_buckets():
    pieces = [PIECE, PIECE.transpose(5)]
    vocabulary = SEED_NOTES.build_vocabulary(pieces)
    pitches = {p for piece in pieces for e in piece.events for p in e.pitches}
    # reserved ids, pitches, rest, the two buckets used (short, medium), four velocity levels
    assert len(vocabulary) == 2 + len(pitches) + 1 + 2 + 4


def test_configuration_round_trips_through_json():
    for tokenizer in (SEED_NOTES, NoteTokenizer.fine(), NoteTokenizer(holds=True)):
        again = Tokenizer.from_json(tokenizer.to_json())
        assert type(again) is NoteTokenizer and again == tokenizer


@pytest.mark.parametrize(
    "options",
    [
        {"chord_octaves": False},
        {"durations": DurationBuckets((1.0,), ("C4", "long"), (0.5, 2.0))},
        {"durations": DurationBuckets((1.0,), ("rest", "long"), (0.5, 2.0))},
        {
            "durations": DurationBuckets((1.0,), ("v1", "long"), (0.5, 2.0)),
            "velocities": VelocityBuckets.seed(),
        },
    ],
)
def test_ambiguous_configurations_are_refused(options):
    with pytest.raises(ValueError):
        NoteTokenizer(**options)


# -- properties ------------------------------------------------------------------------

TOKENS = st.sampled_from(
    [
        *("C4", "E-4", "G#9", "B-1", "C-1", "C4,E4", "rest", "short", "medium", "long"),
        *("16th", "8th.", "whole", "v31", "v59", "v0", "v128", "v", "<pad>", "<unk>", "", "x"),
    ]
)


@pytest.mark.parametrize("tokenizer", [SEED_NOTES, NoteTokenizer.fine()], ids=["seed", "fine"])
@FAST
@given(tokens=st.lists(st.one_of(TOKENS, st.text(max_size=6)), max_size=30))
def test_decode_of_any_token_sequence_never_raises(tokenizer, tokens):
    piece, skipped = tokenizer.decode_with_skipped(tokens)
    assert all(e.offset >= 0 and e.duration > 0 for e in piece.events)
    assert [p for p, _ in skipped] == sorted({p for p, _ in skipped})  # each position once
    assert all(tokens[p] == t for p, t in skipped)
    assert tokenizer.decode(tokens) == piece


PITCHES = st.lists(st.integers(0, 127), min_size=1, max_size=4, unique=True).map(tuple)


@st.composite
def pieces(draw: st.DrawFn) -> Piece:
    times = st.floats(0, 32, allow_nan=False).map(lambda t: round(t, 3))
    return Piece(
        tuple(
            Event(draw(times), draw(times), draw(PITCHES), draw(st.integers(0, 127)))
            for _ in range(draw(st.integers(0, 10)))
        )
    )


@FAST
@given(piece=pieces())
def test_both_spellings_decode_to_the_same_piece(piece):
    back, skipped = SEED_NOTES.decode_with_skipped(SEED_NOTES.encode(piece))
    assert skipped == []
    assert back == Tokenizer.seed().decode(Tokenizer.seed().encode(piece))


@FAST
@given(piece=pieces())
def test_every_token_is_in_a_vocabulary_built_from_the_piece(piece):
    tokens = NoteTokenizer.fine().encode(piece)
    assert Vocabulary.build([tokens]).decode(Vocabulary.build([tokens]).encode(tokens)) == tokens


# -- holds: events keep their own length ---------------------------------------------

HOLDING = NoteTokenizer(holds=True)


def test_exact_tokens_when_a_voice_holds_while_another_moves():
    piece = Piece(
        (
            Event(0, 2, (48, 55, 64, 72)),  # four voices, the lower three held for a half note
            Event(1, 1, (74,)),  # the soprano moves on beat 2
            Event(2, 1, (50,)),
            Event(4, 1, (60,)),  # after a quarter rest
        )
    )
    assert HOLDING.encode(piece) == [
        *("C3", "G3", "E4", "C5", "half", "+4th"),
        *("D5", "4th"),
        *("D3", "4th"),
        *("rest", "4th"),
        *("C4", "4th"),
    ]
    back, skipped = HOLDING.decode_with_skipped(HOLDING.encode(piece))
    assert skipped == []
    assert back.notes == piece.notes  # lengths and onsets exactly, the held chord included


def test_a_step_token_out_of_place_is_skipped():
    tokens = ["+4th", "C4", "+4th", "4th", "rest", "4th", "+8th", "E4", "half", "+4th", "+4th"]
    piece, skipped = HOLDING.decode_with_skipped(tokens)
    assert [(e.offset, e.duration, e.pitches) for e in piece.events] == [
        (0.0, 1.0, (60,)),
        (1.0, 1.0, ()),
        (2.0, 2.0, (64,)),
    ]
    assert skipped == [(0, "+4th"), (2, "+4th"), (6, "+8th"), (10, "+4th")]
    # without holds a step token is just unknown
    assert NoteTokenizer.fine().decode_with_skipped(["C4", "4th", "+4th"])[1] == [(2, "+4th")]


GRID = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)  # the fine buckets' values


@st.composite
def holding_pieces(draw: st.DrawFn) -> Piece:
    """Lengths, steps and silences of bucket values; events may overlap the next onset."""
    events, time = [], draw(st.sampled_from((0.0, *GRID)))
    for _ in range(draw(st.integers(0, 10))):
        length = draw(st.sampled_from(GRID))
        events.append(Event(time, length, draw(PITCHES), 64))
        shorter = [g for g in GRID if g < length]
        if shorter and draw(st.booleans()):
            time += draw(st.sampled_from(shorter))  # the next onset comes while this one sounds
        else:
            time += length + draw(st.sampled_from((0.0, *GRID)))  # then maybe a silence
    return Piece(tuple(events))


@FAST
@given(piece=holding_pieces())
def test_holding_round_trip_keeps_onsets_and_lengths(piece):
    back, skipped = HOLDING.decode_with_skipped(HOLDING.encode(piece))
    assert skipped == []
    assert [(e.offset, e.duration, e.pitches) for e in back.notes] == [
        (e.offset, e.duration, e.pitches) for e in piece.notes
    ]


@FAST
@given(
    tokens=st.lists(st.one_of(TOKENS, st.sampled_from(["+4th", "+16th", "+whole"])), max_size=30)
)
def test_holding_decode_never_raises(tokens):
    piece, skipped = HOLDING.decode_with_skipped(tokens)
    assert all(e.offset >= 0 and e.duration > 0 for e in piece.events)
    assert [e.offset for e in piece.events] == sorted(e.offset for e in piece.events)
    assert all(tokens[p] == t for p, t in skipped)

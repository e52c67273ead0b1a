"""Properties that must hold for any input: decoding never raises, round trips are exact.

Hypothesis draws the inputs; `max_examples` is kept small so the file runs in seconds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from musegen.events import Event, Piece
from musegen.tokens.tokenizer import Tokenizer, seed_configurations
from musegen.tokens.vocabulary import PAD_TOKEN, UNK_TOKEN, Vocabulary

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENIZERS = {**seed_configurations(), "no rests": Tokenizer(rests=False)}
DURATION_VALUES = (0.5, 1.0, 2.0)  # the seed's bucket values
VELOCITY_LEVELS = (31, 59, 81, 102)  # the seed's velocity levels

# Fragments real tokens are made of, so that the drawn strings come close to valid ones.
FRAGMENTS = st.sampled_from(
    [
        *("C4", "E-4", "G#9", "B-1", "C-1", "c4", "Cbb4", "A##3", "H4", "C", "4", "-1", "99"),
        *("0", "11", "12", "0.4.7", "rest", "short", "medium", "long", "v81", "v0", "v128", "v"),
        *("_", ",", ".", "", " ", "<pad>", "<unk>", "\x00", "é"),
    ]
)
TOKEN_LIKE = st.lists(FRAGMENTS, max_size=6).map("".join)
ANY_TOKEN = st.one_of(TOKEN_LIKE, st.text(max_size=12))


def check_piece(piece: Piece) -> None:
    assert all(e.offset >= 0 and e.duration >= 0 for e in piece.events)
    assert all(0 <= p <= 127 for e in piece.events for p in e.pitches)
    offsets = [e.offset for e in piece.events]
    assert offsets == sorted(offsets)


# -- Tokenizer.decode ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@FAST
@given(tokens=st.lists(ANY_TOKEN, max_size=20))
def test_decode_never_raises(name: str, tokens: list[str]) -> None:
    tokenizer = TOKENIZERS[name]
    piece, skipped = tokenizer.decode_with_skipped(tokens)
    check_piece(piece)
    assert len(piece.events) + len(skipped) == len(tokens)
    assert tokenizer.decode(tokens) == piece


# -- encode / decode round trips -----------------------------------------------------------

PITCHES = st.lists(st.integers(0, 127), min_size=1, max_size=4, unique=True).map(tuple)


@pytest.mark.parametrize("pitch", [4, 11, 27, 34])
def test_the_lowest_octave_encodes(pitch: int) -> None:
    piece = Piece((Event(0, 1, (pitch,)),))
    assert sounding(Tokenizer().decode(Tokenizer().encode(piece))) == [(pitch,)]


@st.composite
def sequential_pieces(draw: st.DrawFn) -> Piece:
    """Pieces whose notes never overlap, with durations and gaps of bucket values."""
    events = []
    time = draw(st.sampled_from((0.0, *DURATION_VALUES)))  # maybe a leading rest
    for _ in range(draw(st.integers(0, 12))):
        duration = draw(st.sampled_from(DURATION_VALUES))
        velocity = draw(st.sampled_from(VELOCITY_LEVELS))
        events.append(Event(time, duration, draw(PITCHES), velocity))
        time += duration + draw(st.sampled_from((0.0, 0.0, *DURATION_VALUES)))
    return Piece(tuple(events))


@st.composite
def any_pieces(draw: st.DrawFn) -> Piece:
    """Pieces with notes anywhere: overlapping, simultaneous, zero-length, any velocity."""
    times = st.floats(0, 64, allow_nan=False).map(lambda t: round(t, 3))
    events = [
        Event(draw(times), draw(times), draw(PITCHES), draw(st.integers(0, 127)))
        for _ in range(draw(st.integers(0, 12)))
    ]
    return Piece(tuple(events))


def sounding(piece: Piece) -> list[tuple[int, ...]]:
    return [e.pitches for e in piece.events if e.pitches]


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@FAST
@given(piece=sequential_pieces())
def test_round_trip_keeps_pitches(name: str, piece: Piece) -> None:
    tokenizer = TOKENIZERS[name]
    back = tokenizer.decode(tokenizer.encode(piece))
    if tokenizer.chord_octaves:
        assert sounding(back) == sounding(piece)
    else:  # the original recipe keeps a chord's pitch classes only
        for got, sent in zip(sounding(back), sounding(piece), strict=True):
            assert (
                got == sent if len(sent) == 1 else {p % 12 for p in got} == {p % 12 for p in sent}
            )


@pytest.mark.parametrize("name", ["+durations", "final"])
@FAST
@given(piece=sequential_pieces())
def test_round_trip_keeps_onsets_and_durations_of_bucket_values(name: str, piece: Piece) -> None:
    tokenizer = TOKENIZERS[name]
    back = tokenizer.decode(tokenizer.encode(piece))
    assert [(e.offset, e.duration) for e in back.notes] == [
        (e.offset, e.duration) for e in piece.notes
    ]
    if tokenizer.velocities is not None:
        assert [e.velocity for e in back.notes] == [e.velocity for e in piece.notes]


@pytest.mark.parametrize("name", sorted(TOKENIZERS))
@FAST
@given(piece=any_pieces())
def test_every_encoded_token_decodes(name: str, piece: Piece) -> None:
    tokenizer = TOKENIZERS[name]
    tokens = tokenizer.encode(piece)
    back, skipped = tokenizer.decode_with_skipped(tokens)
    assert skipped == []
    check_piece(back)
    # every pitch that sounds comes back (as a pitch class for the recipe's chords)
    assert {p % 12 for ps in sounding(back) for p in ps} == {
        p % 12 for ps in sounding(piece) for p in ps
    }


# -- Vocabulary ----------------------------------------------------------------------------

VOCAB_TOKENS = st.text(min_size=1, max_size=8).filter(lambda t: t not in (PAD_TOKEN, UNK_TOKEN))


@FAST
@given(sequences=st.lists(st.lists(VOCAB_TOKENS, max_size=10), max_size=5), data=st.data())
def test_vocabulary_encode_and_decode_are_inverse(sequences: list[list[str]], data) -> None:
    vocab = Vocabulary.build(sequences)
    for seq in sequences:
        ids = vocab.encode(seq, unknown="error")
        assert all(i >= 2 for i in ids)
        assert vocab.decode(ids) == seq
    ids = data.draw(st.lists(st.integers(2, len(vocab) - 1), max_size=10)) if len(vocab) > 2 else []
    assert vocab.encode(vocab.decode(ids)) == ids
    assert Vocabulary.from_json(vocab.to_json()) == vocab
    stranger = data.draw(VOCAB_TOKENS.filter(lambda t: t not in vocab))
    assert vocab.encode([stranger]) == [vocab.unk_id]
    assert vocab.encode([stranger], unknown="skip") == []


# -- samplers ------------------------------------------------------------------------------

samplers = pytest.importorskip("musegen.generation.samplers")
SAMPLERS = [
    samplers.ArgmaxSampler(),
    samplers.CategoricalSampler(),
    samplers.TopKSampler(k=3),
    samplers.TopPSampler(p=0.8),
]


@st.composite
def logit_batches(draw: st.DrawFn) -> np.ndarray:
    """[batch, vocab] logits, some -inf, each row with a finite logit outside ids 0 and 1."""
    batch, vocab = draw(st.integers(1, 4)), draw(st.integers(3, 24))
    finite = st.floats(-1e300, 1e300, allow_nan=False)
    logits = draw(
        hnp.arrays(np.float64, (batch, vocab), elements=st.one_of(finite, st.just(-np.inf)))
    )
    for row in range(batch):
        logits[row, draw(st.integers(2, vocab - 1))] = draw(finite)
    return logits


@pytest.mark.parametrize("sampler", SAMPLERS, ids=repr)
@FAST
@given(
    logits=logit_batches(),
    temperature=st.floats(0.05, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_samplers_return_valid_unreserved_ids(sampler, logits, temperature, seed) -> None:
    sampler = type(sampler).from_config({**sampler.get_config(), "temperature": temperature})
    ids = sampler(logits, np.random.default_rng(seed))
    assert ids.shape == (len(logits),)
    for row, i in enumerate(ids.tolist()):
        assert 2 <= i < logits.shape[1]
        assert math.isfinite(logits[row, i])


@pytest.mark.parametrize("sampler", SAMPLERS, ids=repr)
@FAST
@given(logits=logit_batches(), data=st.data())
def test_samplers_reject_nan_rows_naming_them(sampler, logits, data) -> None:
    row = data.draw(st.integers(0, len(logits) - 1))
    logits[row, data.draw(st.integers(0, logits.shape[1] - 1))] = np.nan
    with pytest.raises(ValueError, match=rf"rows \[{row}\] hold NaN"):
        sampler(logits, np.random.default_rng(0))

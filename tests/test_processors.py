"""Logits processors: their effect on hand-made logits, and on a small model of chorales."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from _steering import steer_like_a_beam

from musegen.generation import processors
from musegen.generation.decoding import generate
from musegen.generation.processors import (
    GrammarConstraint,
    KeyConstraint,
    MelodyConstraint,
    NoRepeatNGram,
    PitchRange,
    RepetitionPenalty,
)
from musegen.keys import best_key, scale
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.token_table import TokenTable
from musegen.tokens.tokenizer import DurationBuckets, Tokenizer, VelocityBuckets
from musegen.tokens.vocabulary import Vocabulary

NOTE_VOCAB = Vocabulary(["C4", "E4", "G4", "C#4", "4th", "half", "rest", "v81", "+8th"])


def _allowed(
    processor: processors.BaseProcessor, vocab: Vocabulary, tokens: list[str]
) -> list[str]:
    ids = np.array([vocab.encode(tokens)], dtype=np.int64).reshape(1, -1)
    out = processor(np.zeros((1, len(vocab))), ids, 0)
    return [t for t in vocab.decode(np.flatnonzero(out[0] > -np.inf)) if not t.startswith("<")]


def test_repetition_penalty_lowers_recent_ids_by_log_penalty() -> None:
    logits = np.array([[0.0, 0.0, 1.0, 2.0, 3.0]])
    out = RepetitionPenalty(penalty=np.e, window=2)(logits, np.array([[4, 3, 2, 2]]), 0)
    assert out.tolist() == [[0.0, 0.0, 0.0, 2.0, 3.0]]  # only the last two ids (2 and 2) count
    assert logits.tolist() == [[0.0, 0.0, 1.0, 2.0, 3.0]]  # the caller's array is kept
    assert RepetitionPenalty(1.0)(logits, np.array([[2, 3]]), 0).tolist() == logits.tolist()


def test_repetition_penalty_only_pitches_leaves_durations_alone() -> None:
    table = TokenTable.build(NoteTokenizer(holds=True), NOTE_VOCAB)
    penalty = RepetitionPenalty(2.0, window=8, only_pitches=True).bind(table)
    ids = np.array([NOTE_VOCAB.encode(["C4", "4th", "E4", "4th"])])
    out = penalty(np.zeros((1, len(NOTE_VOCAB))), ids, 0)[0]
    lowered = [NOTE_VOCAB.decode([i])[0] for i in np.flatnonzero(out < 0)]
    assert lowered == ["C4", "E4"]
    with pytest.raises(RuntimeError, match="bind it"):
        RepetitionPenalty(2.0, only_pitches=True)(np.zeros((1, 3)), ids[:, :1] * 0, 0)


def test_no_repeat_ngram_forbids_completing_a_seen_ngram() -> None:
    ids = np.array([[5, 6, 7, 5, 6], [5, 6, 7, 8, 9]])
    out = NoRepeatNGram(3)(np.zeros((2, 10)), ids, 0)
    assert np.flatnonzero(out[0] == -np.inf).tolist() == [7]  # 5 6 7 happened: 7 may not follow 5 6
    assert np.isfinite(out[1]).all()  # 8 9 never happened before
    out = NoRepeatNGram(2)(np.zeros((1, 10)), np.array([[3, 4, 3, 5, 3]]), 0)
    assert np.flatnonzero(out[0] == -np.inf).tolist() == [4, 5]


def test_no_repeat_ngram_yields_rather_than_leave_nothing() -> None:
    logits = np.full((1, 4), -np.inf)
    logits[0, 2] = 0.0  # only id 2 is allowed (by an earlier constraint)
    out = NoRepeatNGram(1)(logits, np.array([[2]]), 0)
    assert out[0, 2] == 0.0


def test_the_chain_gives_the_same_logits_in_any_order() -> None:
    table = TokenTable.build(NoteTokenizer(holds=True), NOTE_VOCAB)
    everything = [
        GrammarConstraint(),
        NoRepeatNGram(1),
        RepetitionPenalty(3.0, window=4, only_pitches=True),
        MelodyConstraint([(64, 1.0), (67, 2.0)]),
        NoRepeatNGram(2),
    ]
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, len(NOTE_VOCAB)))
    rows = (["4th", "half", "rest"], ["E4", "4th", "C4"], ["E4", "half", "C4"])
    ids = np.array([NOTE_VOCAB.encode(row) for row in rows])  # after a rest: 4th or half, both seen
    outs = []
    for order in itertools.permutations(range(len(everything))):
        chain = processors.prepare([everything[i] for i in order], table, len(NOTE_VOCAB))
        outs.append(processors.apply(chain, logits, ids, 1, reserved=(0, 1)))
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])
    assert np.isfinite(outs[0]).any(axis=1).all()  # the n-grams gave way to the grammar


def test_no_repeat_ngram_gives_way_before_the_reserved_ids_are_all_that_is_left() -> None:
    vocab = Vocabulary(["C4", "E4"])  # ids 2 and 3; 0 and 1 are never picked
    ids = generate(_tiny_model(len(vocab)), [2], 12, "argmax", processors=[NoRepeatNGram(1)])
    assert ids.shape == (1, 12)


class _Spy(processors.BaseProcessor):
    """Forbids nothing; records how many ids each step was given."""

    lookback = 3

    def __init__(self) -> None:
        self.widths: list[int] = []

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        self.widths.append(ids.shape[1])
        return logits


def test_a_step_reads_the_last_lookback_ids_only() -> None:
    from musegen.generation.beam import beam_search

    model, spy = _tiny_model(12), _Spy()
    generate(model, list(range(2, 12)) * 3, 40, "argmax", processors=[spy], batch_size=2)
    beam_search(model, list(range(2, 12)) * 3, 40, 3, processors=[spy])
    assert len(spy.widths) == 80 and max(spy.widths) == 3, spy.widths[-3:]


def test_the_state_kept_step_by_step_equals_reading_every_id() -> None:
    table = TokenTable.build(NoteTokenizer(holds=True), NOTE_VOCAB)
    rng = np.random.default_rng(1)
    chain = processors.prepare(
        [NoRepeatNGram(3), NoRepeatNGram(1), MelodyConstraint([(64, 1.0), (67, 2.0)] * 20),
         GrammarConstraint(), RepetitionPenalty(2.0, window=5)],
        table, len(NOTE_VOCAB),
    )  # fmt: skip
    ids = np.array([NOTE_VOCAB.encode(["C4", "E4", "4th"])] * 4)
    steer_like_a_beam(chain, ids, 60, len(NOTE_VOCAB), rng)


def _tiny_model(vocab_size: int):
    import keras

    from musegen.training.model import build_lstm

    keras.utils.set_random_seed(0)
    return build_lstm(vocab_size, units=(4,), embedding_dim=2, return_sequences=True)


def test_key_constraint_forbids_ids_with_an_outside_pitch() -> None:
    vocab = Vocabulary(["D4,F4,A4", "D4,F#4,A4", "C#5", "C5", "rest", "B-3"])
    table = TokenTable.build(Tokenizer(), vocab)
    assert _allowed(KeyConstraint("D minor").bind(table), vocab, []) == [
        "D4,F4,A4", "C5", "rest", "B-3"
    ]  # fmt: skip
    assert _allowed(KeyConstraint("D harmonic minor").bind(table), vocab, []) == [
        "D4,F4,A4", "C#5", "rest", "B-3"
    ]  # fmt: skip
    assert _allowed(KeyConstraint(pitch_classes=[1, 2, 6, 9]).bind(table), vocab, []) == [
        "D4,F#4,A4", "C#5", "rest"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown key 'D lydian'"):
        KeyConstraint("D lydian")
    with pytest.raises(ValueError, match="not both"):
        KeyConstraint("D minor", pitch_classes=[2])


def test_pitch_range_forbids_ids_with_a_pitch_out_of_range() -> None:
    vocab = Vocabulary(["B2", "C3", "C3,C6", "C3,C#6", "rest"])
    table = TokenTable.build(Tokenizer(), vocab)
    assert _allowed(PitchRange("C3", "C6").bind(table), vocab, []) == ["C3", "C3,C6", "rest"]
    assert PitchRange(48, 84) == PitchRange("C3", "C6") == PitchRange("48", "84")
    with pytest.raises(ValueError, match="above"):
        PitchRange("C6", "C3")
    with pytest.raises(ValueError, match="cannot read pitch 'H3'"):
        PitchRange("H3", "C6")


def test_grammar_of_the_note_level_spelling() -> None:
    table = TokenTable.build(
        NoteTokenizer(holds=True, velocities=VelocityBuckets.seed()), NOTE_VOCAB
    )
    grammar = GrammarConstraint().bind(table)
    opening = ["C4", "E4", "G4", "C#4", "rest"]
    assert _allowed(grammar, NOTE_VOCAB, []) == opening
    assert _allowed(grammar, NOTE_VOCAB, ["C#4"]) == ["E4", "G4", "4th", "half"]  # rising
    assert _allowed(grammar, NOTE_VOCAB, ["C4", "4th"]) == ["v81"]
    assert _allowed(grammar, NOTE_VOCAB, ["C4", "4th", "v81"]) == [*opening, "+8th"]
    assert _allowed(grammar, NOTE_VOCAB, ["C4", "4th", "v81", "+8th"]) == opening
    assert _allowed(grammar, NOTE_VOCAB, ["rest"]) == ["4th", "half"]
    assert _allowed(grammar, NOTE_VOCAB, ["rest", "half"]) == opening  # no step after a rest


def test_grammar_of_the_compound_spelling_allows_every_known_event() -> None:
    vocab = Vocabulary(["C4_short", "rest_long", "junk"])
    table = TokenTable.build(Tokenizer(durations=DurationBuckets.seed()), vocab)
    assert _allowed(GrammarConstraint().bind(table), vocab, ["C4_short"]) == [
        "C4_short",
        "rest_long",
    ]


def test_melody_constraint_on_hand_made_steps() -> None:
    vocab = Vocabulary(["C3", "G3", "E4", "G4", "4th", "half", "rest", "v81"])
    table = TokenTable.build(NoteTokenizer(velocities=VelocityBuckets.seed()), vocab)
    melody = MelodyConstraint([(67, 1.0), (None, 2.0), (64, 2.2)]).bind(table)
    assert _allowed(melody, vocab, []) == ["C3", "G3", "E4", "G4"]
    assert _allowed(melody, vocab, ["C3", "E4"]) == ["G4"]  # rising, the melody note on top
    assert _allowed(melody, vocab, ["C3", "G4"]) == ["4th"]  # the melody's duration
    assert _allowed(melody, vocab, ["C3", "G4", "4th"]) == ["v81"]
    assert _allowed(melody, vocab, ["C3", "G4", "4th", "v81"]) == ["rest"]
    assert _allowed(melody, vocab, ["C3", "G4", "4th", "v81", "rest"]) == ["half"]
    # 2.2 quarter notes are written as a half note; then the melody is used up: anything goes
    assert _allowed(melody, vocab, ["C3", "G4", "4th", "v81", "rest", "half"]) == ["C3", "G3", "E4"]
    done = ["C3", "G4", "4th", "v81", "rest", "half", "E4", "half", "v81"]
    assert _allowed(melody, vocab, done) == ["C3", "G3", "E4", "G4", "rest"]


def test_melody_constraint_compound_spelling() -> None:
    vocab = Vocabulary(["C3,G4_medium", "C3,G4_long", "G4_medium", "E4,A4_medium", "rest_medium"])
    table = TokenTable.build(Tokenizer(durations=DurationBuckets.seed()), vocab)
    melody = MelodyConstraint([(67, 1.0), (None, 1.0)]).bind(table)
    assert _allowed(melody, vocab, []) == ["C3,G4_medium", "G4_medium"]
    assert _allowed(melody, vocab, ["G4_medium"]) == ["rest_medium"]


def test_processors_serialize_and_reject_bad_use() -> None:
    chain = [
        RepetitionPenalty(1.3, 16, only_pitches=True), NoRepeatNGram(3), KeyConstraint("G major"),
        KeyConstraint(pitch_classes=[0, 7]), PitchRange(40, 90), GrammarConstraint(),
        MelodyConstraint([(60, 1.0), (None, 0.5)]),
    ]  # fmt: skip
    for processor in chain:
        assert processors.deserialize(processors.serialize(processor)) == processor
    assert processors.get("no_repeat_ngram", n=2) == NoRepeatNGram(2)
    with pytest.raises(ValueError, match="unknown processor 'loud'"):
        processors.get("loud")
    table = TokenTable.build(Tokenizer(), Vocabulary(["C4"]))
    with pytest.raises(ValueError, match="the model gives 5 logits"):
        processors.prepare([GrammarConstraint()], table, 5)
    with pytest.raises(ValueError, match="KeyConstraint needs table="):
        processors.prepare([KeyConstraint("C major")], None, 3)


def test_contradicting_constraints_are_named() -> None:
    vocab = Vocabulary(["C#4", "4th"])
    table = TokenTable.build(NoteTokenizer(), vocab)
    chain = processors.prepare([GrammarConstraint(), KeyConstraint("C major")], table, len(vocab))
    with pytest.raises(ValueError, match=r"GrammarConstraint, KeyConstraint\) leave no id"):
        processors.apply(chain, np.zeros((1, len(vocab))), np.zeros((1, 0), np.int64), 0)


# -- on a small model trained on real music -------------------------------------------------


def test_no_repeat_ngram_never_repeats_over_a_long_run(chorale_model) -> None:
    model, _, _, prime = chorale_model
    ids = generate(model, prime, 400, "argmax", processors=[NoRepeatNGram(4)], batch_size=3)
    for row in np.concatenate([np.tile(prime, (3, 1)), ids], axis=1):
        grams = [tuple(row[i : i + 4]) for i in range(len(row) - 3)]
        for end in range(len(prime), len(row)):  # each n-gram that ends on a generated id is new
            assert grams[end - 3] not in grams[: end - 3]
    looping = generate(model, prime, 400, "argmax")[0]
    grams = [tuple(looping[i : i + 4]) for i in range(len(looping) - 3)]
    assert len(set(grams)) < len(grams)  # argmax alone does repeat itself


def test_key_constraint_never_yields_an_out_of_key_pitch(chorale_model) -> None:
    model, tokenizer, vocab, prime = chorale_model
    table = TokenTable.build(tokenizer, vocab)
    key = KeyConstraint("E- major")
    ids = generate(
        model, prime, 400, "categorical", processors=[key], table=table, seed=0, batch_size=4
    )
    outside = set(range(128)) - {p for p in range(128) if p % 12 in scale("E- major")}
    for row in ids:
        piece = tokenizer.decode(vocab.decode(row))
        assert piece.notes
        assert not {p for e in piece.events for p in e.pitches} & outside
        assert best_key(piece) in ("E- major", "C minor")


def test_grammar_output_decodes_with_nothing_skipped(chorale_model) -> None:
    model, tokenizer, vocab, prime = chorale_model
    table = TokenTable.build(tokenizer, vocab)
    kwargs = {"table": table, "seed": 3, "batch_size": 6}
    free = generate(model, prime, 300, "categorical", **kwargs)
    ids = generate(model, prime, 300, "categorical", processors=[GrammarConstraint()], **kwargs)
    skipped_free = 0
    for row_free, row in zip(free, ids, strict=True):
        tokens = vocab.decode([*prime, *row])
        _, skipped = tokenizer.decode_with_skipped(tokens)
        last_close = np.flatnonzero(table.closes(np.array([[*prime, *row]]))[0]).max()
        assert all(position > last_close for position, _ in skipped)  # only an unfinished event
        assert len(tokens) - 1 - last_close <= 6
        skipped_free += len(tokenizer.decode_with_skipped(vocab.decode([*prime, *row_free]))[1])
    assert skipped_free > 0  # full sampling without the grammar does leave stray tokens


def test_melody_constraint_on_a_trained_model(chorale_model) -> None:
    model, tokenizer, vocab, prime = chorale_model
    table = TokenTable.build(tokenizer, vocab)
    melody = [(72, 1.0), (71, 1.0), (69, 2.0), (None, 1.0), (67, 0.5), (69, 0.5), (71, 2.0)]
    ids = generate(
        model, prime, 60, "categorical", processors=[MelodyConstraint(melody)], table=table,
        seed=0, batch_size=4,
    )  # fmt: skip
    prime_events = len(tokenizer.decode(vocab.decode(prime)).events)
    for row in ids:
        events = tokenizer.decode(vocab.decode([*prime, *row])).events[prime_events:]
        got = [(max(e.pitches) if e.pitches else None, e.duration) for e in events[: len(melody)]]
        assert got == melody
        assert any(len(e.pitches) > 1 for e in events[: len(melody)])  # the model adds voices


def test_processors_keep_generation_reproducible(chorale_model) -> None:
    model, tokenizer, vocab, prime = chorale_model
    table = TokenTable.build(tokenizer, vocab)
    chain = [GrammarConstraint(), RepetitionPenalty(1.5, only_pitches=True), NoRepeatNGram(6)]
    runs = [
        generate(model, prime, 50, "top_k", processors=chain, table=table, seed=9) for _ in "ab"
    ]
    np.testing.assert_array_equal(*runs)


def test_high_first_spelling_round_trips_and_its_grammar_falls() -> None:
    from musegen.events import Event, Piece

    piece = Piece((Event(0, 1, (48, 55, 64, 72)), Event(1, 0.5, (74,)), Event(1.5, 0.5, (71, 55))))
    high, low = NoteTokenizer(holds=True, high_first=True), NoteTokenizer(holds=True)
    assert high.encode(piece)[:5] == ["C5", "E4", "G3", "C3", "4th"]
    assert high.decode(high.encode(piece)) == low.decode(low.encode(piece))
    assert NoteTokenizer.from_config(high.get_config()) == high
    vocab = Vocabulary(["C3", "G3", "E4", "G4", "4th", "half", "rest", "+8th"])
    table = TokenTable.build(high, vocab)
    assert _allowed(GrammarConstraint().bind(table), vocab, ["E4"]) == ["C3", "G3", "4th", "half"]
    melody = MelodyConstraint([(67, 2.0)]).bind(table)
    assert _allowed(melody, vocab, []) == ["G4"]  # the melody note opens the event
    assert _allowed(melody, vocab, ["G4"]) == ["C3", "G3", "E4", "half"]  # then voices below
    assert _allowed(melody, vocab, ["G4", "C3"]) == ["half"]


@pytest.mark.parametrize(
    "encoding", ["skuli", "final", "notes", "notes-cut", "notes-seed", "notes-high", "frames"]
)
def test_every_processor_steers_every_shipped_encoding(encoding: str) -> None:
    from musegen.events import Event, Piece
    from musegen.tokens.encodings import encodings

    tokenizer = encodings()[encoding]
    chords = [(60, 64, 67), (62, 65, 69), (59, 62, 67), (61,), (48, 60, 72)]
    piece = Piece(tuple(Event(i * 1.0, 1.0, c, 80) for i, c in enumerate(chords * 3)))
    vocab = tokenizer.build_vocabulary([piece])
    table = TokenTable.build(tokenizer, vocab)
    model = _tiny_model(len(vocab))
    prime = vocab.encode(tokenizer.encode(piece)[:10])
    prime = prime[: np.flatnonzero(table.closes(np.array([prime]))[0])[-1] + 1]  # whole events
    melody = MelodyConstraint([(67, 1.0), (69, 1.0), (72, 1.0)])
    for chain in ([GrammarConstraint()], [KeyConstraint("C major"), PitchRange("C3", "C5")],
                  [NoRepeatNGram(3), RepetitionPenalty(2.0, only_pitches=True)], [melody]):  # fmt: skip
        try:
            ids = generate(model, prime, 40, "top_k", processors=chain, table=table, seed=0)
        except ValueError as error:  # refused: one line that names why
            assert "\n" not in str(error) and type(chain[0]).__name__ in str(error)
            assert "contradict" not in str(error), error  # the cause, not the symptom
            continue
        pitches = table.pitches[ids[0]].any(axis=0)
        if isinstance(chain[0], KeyConstraint):
            assert not pitches[[p for p in range(128) if p % 12 in (1, 3, 6, 8, 10)]].any()
            assert not pitches[:48].any() and not pitches[73:].any()

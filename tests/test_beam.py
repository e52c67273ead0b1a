"""Beam search: width 1 is argmax, wider beams find likelier sequences, processors apply."""

from __future__ import annotations

import itertools

import keras
import numpy as np
import pytest

from musegen.generation.beam import beam_search
from musegen.generation.decoding import generate
from musegen.generation.processors import (
    GrammarConstraint,
    MelodyConstraint,
    NoRepeatNGram,
    prepare,
    run,
)
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.token_table import TokenTable
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.model import build_lstm


def _log_prob(model: keras.Model, prime: list[int], ids: np.ndarray) -> float:
    """The summed log-probability of `ids` after `prime`, from Keras' own forward pass."""
    sequence = np.array([[*prime, *ids]])
    out = keras.ops.convert_to_numpy(model(sequence[:, :-1]))[0, len(prime) - 1 :]
    probs = out if (out >= 0).all() else np.exp(out - out.max(axis=1, keepdims=True))
    probs[:, :2] = 0.0  # the reserved ids are never chosen: renormalise without them
    probs /= probs.sum(axis=1, keepdims=True)
    return float(np.log(probs[np.arange(len(ids)), ids]).sum())


def test_width_one_is_argmax(chorale_model) -> None:
    model, tokenizer, vocab, prime = chorale_model
    table = TokenTable.build(tokenizer, vocab)
    ids, _ = beam_search(model, prime, 80, width=1)
    np.testing.assert_array_equal(ids, generate(model, prime, 80, "argmax"))
    chain = [GrammarConstraint(), NoRepeatNGram(3)]
    ids, _ = beam_search(model, prime, 80, width=1, processors=chain, table=table)
    np.testing.assert_array_equal(
        ids, generate(model, prime, 80, "argmax", processors=chain, table=table)
    )


def test_wider_beams_are_at_least_as_likely(chorale_model) -> None:
    model, _, _, prime = chorale_model
    primes = [prime, prime[4:] + prime[:4], prime[::-1]]
    _, greedy_lp = beam_search(model, primes, 40, width=1)
    for width in (2, 4, 8):
        ids, log_probs = beam_search(model, primes, 40, width=width)
        assert (log_probs >= greedy_lp - 1e-9).all()
        for row, stream_prime, log_prob in zip(ids, primes, log_probs, strict=True):
            assert _log_prob(model, stream_prime, row) == pytest.approx(log_prob, abs=1e-3)
    assert (log_probs > greedy_lp + 1e-6).any()  # and here a wide one finds a likelier one


def test_beam_search_with_a_grammar_decodes(chorale_model) -> None:
    model, tokenizer, vocab, prime = chorale_model
    table = TokenTable.build(tokenizer, vocab)
    ids, _ = beam_search(model, prime, 120, 4, processors=[GrammarConstraint()], table=table)
    tokens = vocab.decode([*prime, *ids[0]])
    last_close = np.flatnonzero(table.closes(np.array([[*prime, *ids[0]]]))[0]).max()
    assert all(p > last_close for p, _ in tokenizer.decode_with_skipped(tokens)[1])


def test_beam_search_on_a_window_model_and_bad_arguments() -> None:
    keras.utils.set_random_seed(1)
    model = build_lstm(12, units=(8,), embedding_dim=4, seq_len=5, return_sequences=False)
    prime = [2, 3, 4, 5, 6]
    ids, _ = beam_search(model, prime, 6, width=1)
    np.testing.assert_array_equal(ids, generate(model, prime, 6, "argmax"))
    assert beam_search(model, prime, 6, width=3)[0].shape == (1, 6)
    with pytest.raises(ValueError, match="width must be >= 1"):
        beam_search(model, prime, 6, width=0)
    with pytest.raises(ValueError, match="reads 5"):
        beam_search(model, prime[:3], 6, width=2)


TINY_VOCAB = Vocabulary(["C4", "E4", "4th"])  # 5 ids with the reserved two


def _exhaustive(model: keras.Model, prime: list[int], steps: int, chain: list, table) -> dict:
    """The log-probability of every sequence of `steps` ids after `prime`, by the sequence."""
    choices = np.array(list(itertools.product(range(2, len(TINY_VOCAB)), repeat=steps)))
    ids = np.concatenate([np.repeat([prime], len(choices), 0), choices], axis=1)
    out = keras.ops.convert_to_numpy(model(ids[:, :-1]))[:, len(prime) - 1 :]
    total = np.zeros(len(ids))
    for t in range(steps):
        logits = np.log(out[:, t]) if (out >= 0).all() else out[:, t].astype(np.float64)
        logits = run(prepare(chain, table, len(TINY_VOCAB)), logits, ids[:, : len(prime) + t],
                     len(prime), reserved=(0, 1))  # fmt: skip
        with np.errstate(invalid="ignore"):
            log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        picked = log_probs[np.arange(len(ids)), choices[:, t]]
        total += np.where(np.isnan(picked), -np.inf, picked)  # NaN: nothing was allowed
    return dict(zip(map(tuple, choices.tolist()), total.tolist(), strict=True))


@pytest.mark.parametrize(
    "chain",
    [[], [GrammarConstraint()], [NoRepeatNGram(2)], [MelodyConstraint([(64, 1.0), (60, 1.0)])]],
    ids=["none", "grammar", "no-repeat", "melody"],
)
def test_beam_search_against_exhaustive_search(chain: list) -> None:
    keras.utils.set_random_seed(3)
    model = build_lstm(len(TINY_VOCAB), units=(6,), embedding_dim=3, return_sequences=True)
    table = TokenTable.build(NoteTokenizer(), TINY_VOCAB)
    prime = TINY_VOCAB.encode(["E4", "4th", "C4"])  # ends mid-chord
    every = _exhaustive(model, prime, 8, chain, table)
    best = max(every.values())
    for width in (1, 2, 5, 32, 3**7):
        ids, log_probs = beam_search(model, prime, 8, width, processors=chain, table=table)
        assert every[tuple(ids[0].tolist())] == pytest.approx(log_probs[0], abs=1e-5)
        assert log_probs[0] <= best + 1e-6
        if width == 3**7:  # every sequence is kept to the last step: the search is exhaustive
            assert log_probs[0] == pytest.approx(best, abs=1e-5)

"""PitchClassHistogram: a soft control toward a target pitch-class histogram."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from musegen.generation.decoding import generate
from musegen.generation.processors import PitchClassHistogram, deserialize, get, serialize
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.token_table import TokenTable
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.model import build_lstm

A_MINOR_TRIAD = [0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0]  # E once, A twice


def _distance(ids: np.ndarray, table: TokenTable, target: np.ndarray) -> float:
    """Total variation distance of the generated pitch-class histogram from `target`."""
    counts = table.pitches[ids.reshape(-1)].sum(axis=0)
    hist = np.bincount(np.arange(128) % 12, weights=counts, minlength=12)
    hist = hist / hist.sum()
    return float(np.abs(hist - target).sum() / 2)


def test_the_generated_histogram_moves_toward_the_target_as_the_strength_grows() -> None:
    tokenizer = NoteTokenizer()
    names = [tokenizer.pitches_to_text((p,)) for p in range(48, 84)]
    vocab = Vocabulary([*names, "4th", "8th", "rest"])
    table = TokenTable.build(tokenizer, vocab)
    keras.utils.set_random_seed(0)
    model = build_lstm(len(vocab), units=(8,), dense_units=None)  # untrained: near uniform
    target = np.asarray(A_MINOR_TRIAD, float) / 3
    distances = []
    for strength in (0.0, 0.25, 0.5, 1.0):
        control = PitchClassHistogram(A_MINOR_TRIAD, strength=strength)
        ids = generate(model, [[2]] * 4, 200, "categorical", processors=[control], table=table,
                       seed=0)  # fmt: skip
        distances.append(_distance(ids, table, target))
    assert distances == sorted(distances, reverse=True), distances
    assert distances[0] > 0.6 and distances[-1] < 0.15, distances
    sharp = PitchClassHistogram(A_MINOR_TRIAD, strength=8.0)  # past 1: the mode only
    ids = generate(model, [[2]] * 4, 200, "categorical", processors=[sharp], table=table, seed=0)
    assert _distance(ids, table, target) > distances[-1]


def test_bias_config_and_bad_targets() -> None:
    tokenizer = NoteTokenizer()
    vocab = Vocabulary(["C4", "E4", "C4,E4", "4th"])
    control = PitchClassHistogram([1] + [0] * 3 + [1] + [0] * 7, strength=2.0)
    bound = control.bind(TokenTable.build(tokenizer, vocab))
    out = bound(np.zeros((1, len(vocab))), np.zeros((1, 0), int))
    assert out[0, vocab.encode(["C4"])[0]] == pytest.approx(2 * np.log(6))
    assert out[0, vocab.encode(["4th"])[0]] == 0.0  # ids without pitches untouched
    assert deserialize(serialize(control)) == control
    assert get("pitch_classes", target=[1] * 12).strength == 1.0
    with pytest.raises(ValueError, match="12 non-negative weights"):
        PitchClassHistogram([1, 2, 3])
    with pytest.raises(ValueError, match="12 non-negative weights"):
        PitchClassHistogram([0] * 12)
    with pytest.raises(ValueError, match="strength must be >= 0"):
        PitchClassHistogram([1] * 12, strength=-1)

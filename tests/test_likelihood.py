"""Held-out NLL per quarter note on a model whose predictions are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musegen.evaluation.likelihood import nll_per_quarter, token_nll
from musegen.training.model import build_lstm, scale_ids

PROBABILITIES = np.array([0.05, 0.05, 0.5, 0.25, 0.15])  # ids 0..4


@pytest.fixture(scope="module")
def fixed_model():
    """A model that predicts PROBABILITIES at every position, whatever it reads."""
    model = build_lstm(5, units=(3,), embedding_dim=2, dense_units=None, return_sequences=True)
    out = model.get_layer("dense_out")
    kernel, _ = out.get_weights()
    out.set_weights([np.zeros_like(kernel), np.log(PROBABILITIES).astype(np.float32)])
    return model


def test_token_nll_by_hand(fixed_model):
    got = token_nll(fixed_model, [2, 3, 4, 2])
    assert got == pytest.approx([-math.log(0.25), -math.log(0.15), -math.log(0.5)], rel=1e-5)


def test_nll_per_quarter_by_hand(fixed_model):
    songs = [[2, 3, 4, 2], [4, 4], [3]]  # the last: one id, nothing to predict
    quarters = [2.0, 0.5, 1.0]
    first = -(math.log(0.25) + math.log(0.15) + math.log(0.5)) / 2.0
    second = -math.log(0.15) / 0.5
    expected = (first + second) / 2  # a song without a prediction is left out, not counted 0
    assert nll_per_quarter(fixed_model, songs, quarters) == pytest.approx(expected, rel=1e-5)
    # batched in any grouping, the same figure
    assert nll_per_quarter(fixed_model, songs, quarters, batch_size=1) == pytest.approx(
        expected, rel=1e-5
    )
    with pytest.raises(ValueError, match="two ids"):
        nll_per_quarter(fixed_model, [[3], [4]], [1.0, 1.0])


def test_a_scaled_input_model_reads_ids_over_vocab_size():
    import keras

    keras.utils.set_random_seed(0)
    model = build_lstm(7, units=(4,), input_mode="scaled", dense_units=None, return_sequences=True)
    song = [2, 6, 3, 5, 4, 6]
    logits = np.asarray(model(scale_ids([song[:-1]], 7)), dtype=np.float64)[0]
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    expected = -log_p[np.arange(5), song[1:]]
    assert token_nll(model, song) == pytest.approx(expected, rel=1e-5)
    assert nll_per_quarter(model, [song], [2.0]) == pytest.approx(expected.sum() / 2, rel=1e-5)


def test_a_model_that_learned_scores_lower():
    songs = [[2, 3, 4, 5] * 8] * 6
    model = build_lstm(6, units=(16,), embedding_dim=8, return_sequences=True, learning_rate=1e-2)
    before = nll_per_quarter(model, songs, [8.0] * 6)
    x = np.array([s[:-1] for s in songs])
    y = np.array([s[1:] for s in songs])
    model.fit(x, y, epochs=30, verbose=0)
    assert nll_per_quarter(model, songs, [8.0] * 6) < before / 2


def test_bad_input_is_named(fixed_model):
    with pytest.raises(ValueError, match="lengths"):
        nll_per_quarter(fixed_model, [[2, 3]], [1.0, 2.0])
    with pytest.raises(ValueError, match="> 0"):
        nll_per_quarter(fixed_model, [[2, 3]], [0.0])
    with pytest.raises(ValueError, match="id 9"):
        token_nll(fixed_model, [2, 9])
    window_model = build_lstm(5, units=(3,), return_sequences=False)
    with pytest.raises(ValueError, match="chunk model"):
        token_nll(window_model, [2, 3])

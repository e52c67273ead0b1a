"""The library's own signatures take their defaults from `musegen.defaults` (one place)."""

from __future__ import annotations

import inspect

import keras
import pytest

from musegen.defaults import GENERATION, TRAINING
from musegen.generation import samplers
from musegen.generation.decoding import generate
from musegen.training.dataset import SequenceDataset
from musegen.training.fitting import TimeBudget, fit
from musegen.training.model import build_lstm
from musegen.training.shards import ShardedDataset


def default(function, name: str):
    return inspect.signature(function).parameters[name].default


def test_signatures_read_their_defaults_from_musegen_defaults() -> None:
    # the same objects, not copies: changing a default is one edit, in musegen.defaults
    assert default(build_lstm, "units") is TRAINING.units
    assert default(build_lstm, "learning_rate") is TRAINING.learning_rate
    assert default(build_lstm, "return_sequences") is (TRAINING.shape == "chunks")
    assert default(fit, "batch_size") is TRAINING.batch_size
    assert default(TimeBudget, "minutes") is TRAINING.minutes
    assert default(build_lstm, "dropout") is TRAINING.dropout
    assert default(build_lstm, "layer_dropout") is TRAINING.layer_dropout
    # the dataset moves songs only when asked: the caller's vocabulary must hold what it moves
    assert default(SequenceDataset.from_pieces, "transpose") is None
    assert default(SequenceDataset.from_pieces, "normalize_keys") is False
    for dataset in (SequenceDataset, SequenceDataset.from_ids, SequenceDataset.from_pieces,
                    ShardedDataset):  # fmt: skip
        assert default(dataset, "seq_len") is TRAINING.seq_len, dataset
        assert default(dataset, "shape") is TRAINING.shape, dataset
    assert default(generate, "sampler") == samplers.get(
        GENERATION.sampler, temperature=GENERATION.temperature, **GENERATION.options
    )


def test_the_defaults_build_the_measured_model_and_data() -> None:
    model = build_lstm(20)
    lstms = [layer.units for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert tuple(lstms) == TRAINING.units == (128, 128)
    assert model.output_shape == (None, None, 20)  # a chunk model: every position predicts
    assert float(model.optimizer.learning_rate) == pytest.approx(TRAINING.learning_rate)
    rates = {layer.name: layer.rate for layer in model.layers
             if isinstance(layer, keras.layers.Dropout)}  # fmt: skip
    assert rates == {"lstm_dropout_1": 0.3}  # between the LSTMs; none in the head
    data = SequenceDataset.from_ids([range(2, 20)] * 4, 20, val_fraction=0)
    assert (data.shape, data.seq_len) == ("chunks", TRAINING.seq_len)
    ids = generate(model, [2, 3], 4, seed=0)
    top_p = generate(model, [2, 3], 4, samplers.TopPSampler(p=0.9), seed=0)
    assert ids.tolist() == top_p.tolist()

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from musegen.training.model import build_lstm, scale_ids, skuli_lstm

VOCAB = 12


@pytest.mark.parametrize("input_mode", ["ids", "scaled"])
@pytest.mark.parametrize(
    ("return_sequences", "shape"), [(False, (2, VOCAB)), (True, (2, 6, VOCAB))]
)
def test_output_shapes(input_mode: str, return_sequences: bool, shape: tuple[int, ...]) -> None:
    model = build_lstm(
        VOCAB,
        units=(8, 8),
        embedding_dim=4,
        dense_units=8,
        seq_len=6,
        return_sequences=return_sequences,
        input_mode=input_mode,  # type: ignore[arg-type]
    )
    ids = np.random.default_rng(0).integers(0, VOCAB, (2, 6))
    x = ids if input_mode == "ids" else scale_ids(ids, VOCAB)
    assert model.input_shape == ((None, 6) if input_mode == "ids" else (None, 6, 1))
    assert tuple(model(x).shape) == shape


def test_any_length_without_seq_len() -> None:
    model = build_lstm(VOCAB, units=(8,), embedding_dim=4, return_sequences=True)
    assert tuple(model(np.ones((1, 9), "int32")).shape) == (1, 9, VOCAB)


def test_output_is_logits_or_probabilities() -> None:
    ids = np.arange(2, 8)[None]
    logits = build_lstm(VOCAB, units=(8,), embedding_dim=4)
    probs = build_lstm(VOCAB, units=(8,), embedding_dim=4, output="probabilities")
    assert logits.loss.get_config()["from_logits"] is True
    assert probs.loss.get_config()["from_logits"] is False
    np.testing.assert_allclose(np.asarray(probs(ids)).sum(axis=-1), 1.0, rtol=1e-5)


def test_skuli_preset_layers() -> None:
    model = skuli_lstm(50)
    layers = [(type(layer).__name__, layer.name) for layer in model.layers]
    assert [kind for kind, _ in layers] == [
        "InputLayer",
        "LSTM",
        "LSTM",
        "LSTM",
        "BatchNormalization",
        "Dropout",
        "Dense",
        "Activation",
        "BatchNormalization",
        "Dropout",
        "Dense",
        "Activation",
    ]
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.units for layer in lstms] == [512, 512, 512]
    assert [layer.recurrent_dropout for layer in lstms] == [0.3, 0.3, 0.0]
    assert [layer.return_sequences for layer in lstms] == [True, True, False]
    dropouts = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert dropouts == [0.3, 0.3]
    hidden, out = (layer for layer in model.layers if isinstance(layer, keras.layers.Dense))
    assert (hidden.units, out.units) == (256, 50)
    activations = [
        layer.get_config()["activation"]
        for layer in model.layers
        if layer.name in ("relu", "softmax")
    ]
    assert activations == ["relu", "softmax"]
    assert model.input_shape == (None, 100, 1)
    assert model.output_shape == (None, 50)
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)


def test_skuli_preset_overrides() -> None:
    model = skuli_lstm(30, seq_len=10, units=(8, 8), input_mode="ids")
    lstms = [layer for layer in model.layers if isinstance(layer, keras.layers.LSTM)]
    assert [layer.recurrent_dropout for layer in lstms] == [0.3, 0.0]
    assert model.input_shape == (None, 10)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_loss_falls_on_a_repetitive_sequence(return_sequences: bool) -> None:
    keras.utils.set_random_seed(0)
    ids = np.array([2, 3, 4, 5, 6] * 40)
    n = 5
    windows = np.stack([ids[i : i + n + 1] for i in range(len(ids) - n)])
    x = windows[:, :n]
    y = windows[:, 1:] if return_sequences else windows[:, n]
    model = build_lstm(
        8,
        units=(16,),
        embedding_dim=8,
        dense_units=None,
        dropout=0.0,
        return_sequences=return_sequences,
        learning_rate=1e-2,
    )
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = skuli_lstm(20, seq_len=7, units=(8, 8, 8), dense_units=8)
    x = scale_ids(np.random.default_rng(0).integers(0, 20, (3, 7)), 20)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)


def test_scale_ids_divides_once() -> None:
    assert scale_ids([[3, 6]], 12).tolist() == [[[0.25], [0.5]]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"vocab_size": 2}, "vocab_size"),
        ({"units": ()}, "units"),
        ({"input_mode": "onehot"}, "input_mode"),
        ({"output": "softmax"}, "output"),
        ({"units": (4, 4), "recurrent_dropout": (0.1,)}, "recurrent_dropout"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_lstm(**{"vocab_size": VOCAB, **kwargs})


def test_layer_dropout_sits_between_lstms_and_generate_runs_it() -> None:
    from musegen.generation.decoding import generate

    model = build_lstm(VOCAB, units=(8, 8, 8), embedding_dim=4, layer_dropout=0.2)
    names = [layer.name for layer in model.layers]
    assert names[:7] == [
        "ids", "embedding", "lstm_1", "lstm_dropout_1", "lstm_2", "lstm_dropout_2", "lstm_3"
    ]  # fmt: skip
    ids = np.arange(2, 8)[None]
    np.testing.assert_allclose(model(ids), model(ids))  # inference: dropout is off
    assert generate(model, [2, 3, 4], 3, "argmax", seed=0).shape == (1, 3)

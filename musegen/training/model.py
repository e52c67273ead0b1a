"""`build_lstm`: the Keras LSTM factory, and `skuli_lstm`, the original recipe's network.

Models are plain, compiled `keras.Model` objects (no Lambda or custom layers), so
``model.save("x.keras")`` and ``keras.models.load_model("x.keras", safe_mode=True)``
round-trip them. Labels are sparse integer ids, never one-hot.

Two shapes:

- ``return_sequences=False``: the window model (many-to-one, the seed's). It reads a
  window of ids and predicts the id after it; output ``[batch, vocab_size]``.
- ``return_sequences=True`` (the default): the chunk model (many-to-many). Every
  position predicts its next id; output ``[batch, seq_len, vocab_size]``.

Two inputs:

- ``input_mode="ids"``: integer ids ``[batch, seq_len]`` into an ``Embedding``.
- ``input_mode="scaled"``: Skuli's floats ``id / vocab_size``, shape
  ``[batch, seq_len, 1]`` (see `scale_ids`).

The last layer gives logits (``output="logits"``, the default: numerically stable
training) or probabilities (``output="probabilities"``, a final softmax, as in
Skuli's recipe). `musegen.generation.decoding.generate` handles both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import keras
import numpy as np

from musegen.defaults import TRAINING

__all__ = ["build_lstm", "scale_ids", "skuli_lstm"]


def scale_ids(ids: Any, vocab_size: int) -> np.ndarray:
    """Skuli's input scaling: ids as floats ``id / vocab_size``, with a trailing axis of 1.

    Apply it exactly once, to ids (the two bugs the seed write-up describes are
    scaling twice and feeding back an unscaled id).

    Examples:
        >>> scale_ids([[0, 2, 4]], 8).tolist()
        [[[0.0], [0.25], [0.5]]]
    """
    return (np.asarray(ids, dtype=np.float32) / np.float32(vocab_size))[..., None]


def build_lstm(
    vocab_size: int,
    *,
    units: Sequence[int] = TRAINING.units,
    embedding_dim: int = 128,
    dropout: float = TRAINING.dropout,
    layer_dropout: float = TRAINING.layer_dropout,
    recurrent_dropout: float | Sequence[float] = 0.0,
    dense_units: int | None = 256,
    batch_norm: bool = False,
    return_sequences: bool = TRAINING.shape == "chunks",
    input_mode: Literal["ids", "scaled"] = "ids",
    seq_len: int | None = None,
    output: Literal["logits", "probabilities"] = "logits",
    optimizer: str = "adam",
    learning_rate: float = TRAINING.learning_rate,
    jit_compile: bool | str = "auto",
    name: str = "musegen_lstm",
) -> keras.Model:
    """Build and compile a stacked-LSTM next-id model.

    The defaults are the measured ones of `musegen.defaults.TRAINING` (2 x LSTM 128,
    a chunk model, Adam at 5e-3, which `musegen train` anneals to 0 over its time
    budget with `musegen.training.time_budget.TimeBudget`); `skuli_lstm` is the seed's network.

    Layers in order: input (``Embedding`` for ids), one ``LSTM`` per entry of `units`
    (with a ``Dropout`` between two LSTMs when `layer_dropout` > 0), then the head:
    [``BatchNormalization``], ``Dropout``, ``Dense(dense_units)``, ``relu``,
    [``BatchNormalization``], ``Dropout``, ``Dense(vocab_size)`` [, ``softmax``].
    Brackets mark optional layers; with ``dense_units=None`` the head is just
    ``Dropout`` and the output ``Dense``.

    Args:
        vocab_size: Number of ids (``len(vocabulary)``, reserved ids included).
        units: Units of each LSTM layer, first to last (default ``TRAINING.units``).
        embedding_dim: Embedding width (``input_mode="ids"`` only).
        dropout: Rate of the head's ``Dropout`` layers (0 leaves them out).
        layer_dropout: Rate of a ``Dropout`` between stacked LSTM layers (0: none).
            Cheap, unlike `recurrent_dropout`, which makes every step slower.
        recurrent_dropout: LSTM recurrent dropout, one rate for all layers or one per layer.
        dense_units: Width of the hidden ``Dense`` layer of the head, or None for none.
        batch_norm: Add Skuli's ``BatchNormalization`` layers to the head.
        return_sequences: True for the chunk model (every position predicts, the
            default: ``TRAINING.shape``), False for the window model (the last
            position predicts, the seed's).
        input_mode: ``"ids"`` (integer ids into an ``Embedding``) or ``"scaled"``
            (Skuli's ``id / vocab_size`` floats, shape ``[seq_len, 1]``).
        seq_len: Fixed sequence length, or None to accept any length.
        output: ``"logits"`` (no final activation) or ``"probabilities"`` (final softmax).
        optimizer: A Keras optimizer name, e.g. ``"adam"`` or ``"rmsprop"``.
        learning_rate: The optimizer's learning rate (default ``TRAINING.learning_rate``).
        jit_compile: Compile the training step with XLA: True, False, or ``"auto"``
            (Keras' choice: off on a CPU-only machine). On 2 CPU cores XLA made
            2 x LSTM 128 four to five times slower and 2 x LSTM 256 1.2 to 1.4
            times faster (``bench/train_speed.py --sweep``).
        name: The model's name.

    Returns:
        A compiled `keras.Model` with loss sparse categorical cross-entropy
        (``from_logits`` matching `output`) and sparse categorical accuracy.

    Raises:
        ValueError: naming the bad argument.

    Examples:
        >>> build_lstm(20, units=(16,), seq_len=8).output_shape  # a chunk model
        (None, 8, 20)
        >>> build_lstm(20, units=(16,), seq_len=8, return_sequences=False).output_shape
        (None, 20)
    """
    units = tuple(int(u) for u in units)
    rates = _per_layer(recurrent_dropout, len(units))
    if vocab_size < 3:
        raise ValueError(f"vocab_size must be >= 3 (two reserved ids + a token), got {vocab_size}")
    if not units or min(units) < 1:
        raise ValueError(f"units must be one or more positive sizes, got {units}")
    if input_mode not in ("ids", "scaled"):
        raise ValueError(f"input_mode must be 'ids' or 'scaled', got {input_mode!r}")
    if output not in ("logits", "probabilities"):
        raise ValueError(f"output must be 'logits' or 'probabilities', got {output!r}")

    if input_mode == "ids":
        inputs = keras.Input(shape=(seq_len,), dtype="int32", name="ids")
        x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    else:
        inputs = keras.Input(shape=(seq_len, 1), dtype="float32", name="scaled_ids")
        x = inputs
    for i, (size, rate) in enumerate(zip(units, rates, strict=True), start=1):
        last = i == len(units)
        sequences = return_sequences or not last
        x = keras.layers.LSTM(
            size, return_sequences=sequences, recurrent_dropout=rate, name=f"lstm_{i}"
        )(x)
        if layer_dropout > 0 and not last:
            x = keras.layers.Dropout(layer_dropout, name=f"lstm_dropout_{i}")(x)

    def regularise(x: Any, i: int) -> Any:
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{i}")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
        return x

    x = regularise(x, 1)
    if dense_units is not None:
        x = keras.layers.Dense(dense_units, name="dense_hidden")(x)
        x = keras.layers.Activation("relu", name="relu")(x)
        x = regularise(x, 2)
    x = keras.layers.Dense(vocab_size, name="dense_out")(x)
    if output == "probabilities":
        x = keras.layers.Activation("softmax", name="softmax")(x)

    model = keras.Model(inputs, x, name=name)
    return _compiled(model, optimizer, learning_rate, output, jit_compile)


def skuli_lstm(vocab_size: int, seq_len: int | None = 100, **overrides: Any) -> keras.Model:
    """Skuli's "Classical Piano Composer" network, with sparse labels.

    LSTM 512 x 3 (recurrent dropout 0.3 on the first two), BatchNorm, Dropout 0.3,
    Dense 256, relu, BatchNorm, Dropout 0.3, Dense `vocab_size`, softmax; rmsprop;
    input Skuli's scaled floats (`scale_ids`), windows of `seq_len`. Any `build_lstm`
    argument in `overrides` replaces the recipe's value (e.g. ``input_mode="ids"``).

    Examples:
        >>> model = skuli_lstm(50, units=(8, 8, 8))
        >>> model.input_shape, model.layers[-1].name
        ((None, 100, 1), 'softmax')
    """
    layers = len(overrides.get("units", (512, 512, 512)))
    recipe: dict[str, Any] = {
        "units": (512, 512, 512),
        "recurrent_dropout": (0.3,) * (layers - 1) + (0.0,),
        "dropout": 0.3,
        "layer_dropout": 0.0,  # the seed drops out inside its LSTMs, not between them
        "dense_units": 256,
        "batch_norm": True,
        "return_sequences": False,
        "input_mode": "scaled",
        "seq_len": seq_len,
        "output": "probabilities",
        "optimizer": "rmsprop",
        "learning_rate": 1e-3,
        "name": "skuli_lstm",
    }
    return build_lstm(vocab_size, **{**recipe, **overrides})


def _per_layer(rate: float | Sequence[float], layers: int) -> tuple[float, ...]:
    """One recurrent dropout rate per LSTM layer."""
    if isinstance(rate, (int, float)):
        return (float(rate),) * layers
    rates = tuple(float(r) for r in rate)
    if len(rates) != layers:
        raise ValueError(f"recurrent_dropout has {len(rates)} rates for {layers} LSTM layers")
    return rates


def _compiled(
    model: keras.Model, optimizer: str, learning_rate: float, output: str, jit_compile: bool | str
) -> keras.Model:
    """`model` compiled as every next-id model of musegen is: sparse cross-entropy, accuracy."""
    model.compile(
        optimizer=keras.optimizers.get(
            {"class_name": optimizer, "config": {"learning_rate": learning_rate}}
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=output == "logits"),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=jit_compile,
    )
    return model

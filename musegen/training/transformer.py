"""`build_transformer`: a small causal Transformer next-id model, beside `build_lstm`.

The model keeps `musegen.training.model.build_lstm`'s contract: ids ``[batch,
seq_len]`` in, next-id logits ``[batch, seq_len, vocab_size]`` out (or ``[batch,
vocab_size]`` for a window model), compiled with the same loss (sparse categorical
cross-entropy), metric (``accuracy``) and optimizer, so `musegen.training.fitting.fit`,
the checkpoints, `musegen.training.time_budget.TimeBudget` and
`musegen.evaluation.likelihood` take it unchanged.

Layers: ``Embedding`` of the ids plus a learned `PositionEmbedding` (the one custom
layer, registered, so ``keras.saving.load_model(..., safe_mode=True)`` reads it back
once this module is imported), then `layers` pre-norm blocks (``LayerNormalization``,
causal ``MultiHeadAttention``, ``LayerNormalization``, a ``Dense`` feed-forward of 4 x
`width`, residual connections), a final ``LayerNormalization`` and ``Dense(vocab_size)``.

A Transformer reads at most `context` ids: a longer input raises a ValueError (an
``InvalidArgumentError`` with the same message inside a traced TensorFlow function).
It carries no recurrent state: generation re-reads the last `context` ids at each
step (`transformer_context` tells a runner how many).
"""

from __future__ import annotations

from typing import Any, Literal

import keras

from musegen.defaults import TRAINING
from musegen.training.model import _compiled

__all__ = ["PositionEmbedding", "build_transformer", "transformer_context"]


@keras.saving.register_keras_serializable(package="musegen")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per position to ``[batch, time, width]`` inputs.

    Args:
        context: The most positions it has vectors for.
        width: The width of the vectors (the input's last axis).
        **kwargs: Keras layer options (``name``, ``dtype``, ...).

    Raises:
        ValueError: when called on more than `context` positions.

    Examples:
        >>> import numpy as np
        >>> layer = PositionEmbedding(4, 2)
        >>> layer(np.zeros((1, 3, 2))).shape
        TensorShape([1, 3, 2])
        >>> layer(np.zeros((1, 5, 2)))
        Traceback (most recent call last):
        ValueError: this Transformer reads at most 4 ids at once, got 5
    """

    def __init__(self, context: int, width: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if context < 1 or width < 1:
            raise ValueError(f"context and width must be >= 1, got {context} and {width}")
        self.context = int(context)
        self.width = int(width)

    def build(self, input_shape: Any) -> None:
        """Make the ``[context, width]`` table of position vectors."""
        self.positions = self.add_weight(
            shape=(self.context, self.width),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="positions",
        )

    def call(self, inputs: Any) -> Any:
        """`inputs` plus the vectors of positions ``0 .. time - 1``."""
        length = inputs.shape[1]
        if length is not None and length > self.context:
            error = ValueError(self._too_long(length))
            error._keras_call_info_injected = True  # type: ignore[attr-defined]  # Keras: raise as is
            raise error
        if length is None:  # unknown until run: check it then (TensorFlow backend)
            length = keras.ops.shape(inputs)[1]
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.debugging.assert_less_equal(length, self.context, message=self._too_long("more"))
        table = keras.ops.slice(self.positions, (0, 0), (length, self.width))
        return inputs + keras.ops.cast(table, inputs.dtype)[None]

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input's shape."""
        return input_shape

    def get_config(self) -> dict[str, Any]:
        """The layer's config: `context` and `width` beside Keras' own."""
        return {**super().get_config(), "context": self.context, "width": self.width}

    def _too_long(self, length: object) -> str:
        return f"this Transformer reads at most {self.context} ids at once, got {length}"


def build_transformer(
    vocab_size: int,
    *,
    layers: int = 2,
    width: int = 128,
    heads: int = 4,
    context: int = 64,
    dropout: float = 0.1,
    seq_len: int | None = None,
    return_sequences: bool = TRAINING.shape == "chunks",
    output: Literal["logits", "probabilities"] = "logits",
    optimizer: str = "adam",
    learning_rate: float = 1e-3,
    jit_compile: bool | str = "auto",
    name: str = "musegen_transformer",
) -> keras.Model:
    """Build and compile a causal Transformer next-id model (`build_lstm`'s contract).

    Every position attends to itself and the positions before it only
    (``use_causal_mask=True``), so output ``t`` predicts id ``t + 1`` from ids
    ``0..t``, as a chunk LSTM's does.

    Args:
        vocab_size: Number of ids (``len(vocabulary)``, reserved ids included).
        layers: Number of Transformer blocks.
        width: The model width (embedding and attention output); divisible by `heads`.
        heads: Attention heads per block.
        context: The most ids the model reads at once (its position table's size).
            Train on chunks of at most this many ids (``seq_len`` of the dataset).
        dropout: Rate of the dropout after attention, feed-forward and embedding (0: none).
        seq_len: Fixed input length (at most `context`), or None for any length up to it.
        return_sequences: True for the chunk model (every position predicts, the
            default: ``TRAINING.shape``); False for the window model (the last position
            predicts), which needs a fixed `seq_len`.
        output: ``"logits"`` (no final activation) or ``"probabilities"`` (final softmax).
        optimizer: A Keras optimizer name, e.g. ``"adam"``.
        learning_rate: The optimizer's learning rate.
        jit_compile: Compile the training step with XLA: True, False or ``"auto"``.
        name: The model's name.

    Returns:
        A compiled `keras.Model` with loss sparse categorical cross-entropy
        (``from_logits`` matching `output`) and sparse categorical accuracy.

    Raises:
        ValueError: naming the bad argument.

    Examples:
        >>> model = build_transformer(20, layers=1, width=16, heads=2, context=8)
        >>> model.input_shape, model.output_shape
        ((None, None), (None, None, 20))
        >>> build_transformer(20, width=16, heads=2, context=8, seq_len=8,
        ...                   return_sequences=False).output_shape
        (None, 20)
        >>> build_transformer(20, width=10, heads=4)
        Traceback (most recent call last):
        ValueError: width 10 is not divisible by heads 4
    """
    if vocab_size < 3:
        raise ValueError(f"vocab_size must be >= 3 (two reserved ids + a token), got {vocab_size}")
    if layers < 1 or width < 1 or heads < 1 or context < 1:
        raise ValueError(
            f"layers, width, heads and context must be >= 1, got {layers}, {width}, {heads}, "
            f"{context}"
        )
    if width % heads:
        raise ValueError(f"width {width} is not divisible by heads {heads}")
    if seq_len is not None and not 1 <= seq_len <= context:
        raise ValueError(f"seq_len must be in 1..context ({context}), got {seq_len}")
    if not return_sequences and seq_len is None:
        raise ValueError("a window model (return_sequences=False) needs a fixed seq_len")
    if output not in ("logits", "probabilities"):
        raise ValueError(f"output must be 'logits' or 'probabilities', got {output!r}")

    def dropped(x: Any, label: str) -> Any:
        return keras.layers.Dropout(dropout, name=label)(x) if dropout > 0 else x

    inputs = keras.Input(shape=(seq_len,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, width, name="embedding")(inputs)
    x = PositionEmbedding(context, width, name="positions")(x)
    x = dropped(x, "embedding_dropout")
    for i in range(1, layers + 1):
        h = keras.layers.LayerNormalization(epsilon=1e-5, name=f"attention_norm_{i}")(x)
        h = keras.layers.MultiHeadAttention(
            heads, width // heads, dropout=dropout, name=f"attention_{i}"
        )(h, h, use_causal_mask=True)
        x = keras.layers.Add(name=f"attention_residual_{i}")(
            [x, dropped(h, f"attention_dropout_{i}")]
        )
        h = keras.layers.LayerNormalization(epsilon=1e-5, name=f"feed_forward_norm_{i}")(x)
        h = keras.layers.Dense(4 * width, activation="gelu", name=f"feed_forward_{i}")(h)
        h = keras.layers.Dense(width, name=f"feed_forward_out_{i}")(h)
        x = keras.layers.Add(name=f"feed_forward_residual_{i}")(
            [x, dropped(h, f"feed_forward_dropout_{i}")]
        )
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    if not return_sequences:
        assert seq_len is not None  # checked above
        x = keras.layers.Cropping1D((seq_len - 1, 0), name="last_position")(x)
        x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(vocab_size, name="dense_out")(x)
    if output == "probabilities":
        x = keras.layers.Activation("softmax", name="softmax")(x)

    model = keras.Model(inputs, x, name=name)
    return _compiled(model, optimizer, learning_rate, output, jit_compile)


def transformer_context(model: keras.Model) -> int | None:
    """The most ids `model` reads at once when it holds a `PositionEmbedding`, else None.

    A generation runner reads a Transformer's last `context` ids at each step;
    an LSTM (None here) carries its state instead.

    Examples:
        >>> transformer_context(build_transformer(10, width=8, heads=2, context=16))
        16
        >>> from musegen.training.model import build_lstm
        >>> transformer_context(build_lstm(10, units=(4,))) is None
        True
    """
    found = [layer.context for layer in model.layers if isinstance(layer, PositionEmbedding)]
    return found[0] if found else None

"""`LSTMRunner`: a Keras LSTM model's layers run in numpy, one step per new id.

`LSTMRunner` copies the model's weights into numpy float32 arrays once and runs
the layers itself: one LSTM step costs a few small matrix products, with none of
the per-call overhead of ``model.predict``. It measured faster than a compiled
``tf.function`` step on CPU (see ``bench/generate_speed.py``).

- Chunk models (``return_sequences=True``): the prime is read once, then the LSTM
  state is carried from token to token, one step per token.
- Window models (many-to-one): every token re-reads the window of the last
  ``seq_len`` ids from a zero state, exactly as the model was trained.

Ids are fed as ids; a model with Skuli's scaled input gets ``id / vocab_size``,
computed once, at the model's input (`musegen.training.model.scale_ids`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from musegen.training.model import scale_ids

__all__ = ["LSTMRunner"]

State = list[tuple[np.ndarray, np.ndarray]]
"""The (h, c) arrays of every LSTM layer, each ``[batch, units]``."""

_IDENTITY_LAYERS = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout")
_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0, dtype=np.float32),
    "tanh": np.tanh,
    "sigmoid": lambda x: 0.5 * np.tanh(0.5 * x) + 0.5,
}


class LSTMRunner:
    """A model's layers as numpy float32 arrays; ``runner(ids, state)`` reads ids on.

    Call it with ids ``[batch, time]`` and the state returned by the previous call
    (None for a zero state). It returns the logits after the last id ``[batch, vocab]``
    (a model's final softmax is left out: samplers take logits) and the new state.

    Args:
        model: A chain of Embedding / LSTM / Dense / BatchNormalization / Activation /
            Dropout layers, its input ids or Skuli's scaled ids.

    Raises:
        ValueError: naming a layer it cannot run.

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> model = build_lstm(20, units=(8, 8), embedding_dim=4, return_sequences=False)
        >>> runner = LSTMRunner(model)
        >>> logits, state = runner(np.array([[2, 3, 4]]))
        >>> logits.shape, runner.chunk
        ((1, 20), False)
    """

    def __init__(self, model: keras.Model) -> None:
        layers = _chain(model)
        self.vocab_size = int(model.outputs[0].shape[-1])
        self.chunk = len(model.outputs[0].shape) == 3
        self.window: int | None = model.inputs[0].shape[1]
        self.scaled = type(layers[0]).__name__ != "Embedding"
        if self.scaled and tuple(model.inputs[0].shape[2:]) != (1,):
            raise ValueError(
                f"model {model.name!r} must start with an Embedding or read scaled ids"
            )
        self._ops: list[Callable[[np.ndarray], np.ndarray]] = []
        # per LSTM layer: [kernel; recurrent] in one array (a step is one product),
        # the kernel's rows, the bias, and the Embedding's projection table if it has one
        self._lstms: list[tuple[np.ndarray, int, np.ndarray, np.ndarray | None]] = []
        embedding: np.ndarray | None = None
        if type(layers[-1]).__name__ == "Activation" and _is_softmax(layers[-1]):
            layers = layers[:-1]  # keep logits; samplers apply the softmax
        for i, layer in enumerate(layers):
            kind = type(layer).__name__
            weights = [np.asarray(w, dtype=np.float32) for w in layer.get_weights()]
            if kind == "Embedding" and i == 0:
                embedding = weights[0]
            elif kind == "LSTM":
                self._add_lstm(layer, weights, None if self._lstms else embedding)
            elif kind == "Dense":
                self._add_dense(layer, weights, last=i == len(layers) - 1)
            elif kind == "BatchNormalization":
                self._add_batch_norm(layer)
            elif kind == "Activation":
                self._ops.append(_activation(layer, layer.activation))
            elif kind not in _IDENTITY_LAYERS:
                raise ValueError(f"generate cannot run layer {layer.name!r} ({kind})")
        if not self._lstms:
            raise ValueError(f"model {model.name!r} has no LSTM layer")

    def __call__(self, ids: np.ndarray, state: State | None = None) -> tuple[np.ndarray, State]:
        """Read `ids` ``[batch, time]`` from `state`; return (logits, new state)."""
        if state is None:
            units = [len(bias) // 4 for _, _, bias, _ in self._lstms]  # 4 gates per unit
            state = [(np.zeros((len(ids), u), np.float32),) * 2 for u in units]
        x: np.ndarray = scale_ids(ids, self.vocab_size) if self.scaled else ids
        new_state: State = []
        for i, (stacked, inputs, bias, table) in enumerate(self._lstms):
            h, c = state[i]
            if x.shape[1] == 1 and table is None:  # one step: one product of [input, h]
                h, c = _lstm_step(np.concatenate([x[:, 0], h], axis=1) @ stacked + bias, c)
                new_state.append((h, c))
                x = h[:, None]
                continue
            # input projection of every time step at once; an Embedding is a table lookup
            if table is not None:
                z = table[x]
            else:  # as one 2-D product: numpy runs a 3-D one as many small ones
                z = (x.reshape(-1, x.shape[-1]) @ stacked[:inputs] + bias).reshape(*x.shape[:2], -1)
            recurrent = stacked[inputs:]
            hs = []
            for t in range(z.shape[1]):
                h, c = _lstm_step(z[:, t] + h @ recurrent, c)
                hs.append(h)
            new_state.append((h, c))
            x = np.stack(hs, axis=1)
        x = x[:, -1]  # the head reads the last step only
        for op in self._ops:
            x = op(x)
        return x, new_state

    def _add_lstm(
        self, layer: Any, weights: list[np.ndarray], embedding: np.ndarray | None
    ) -> None:
        if layer.go_backwards or not layer.use_bias:
            raise ValueError(f"generate cannot run LSTM {layer.name!r} (go_backwards / no bias)")
        _activation(layer, layer.activation, "tanh")
        _activation(layer, layer.recurrent_activation, "sigmoid")
        if self._ops:
            raise ValueError(f"generate cannot run LSTM {layer.name!r} after other layers")
        kernel, recurrent, bias = weights
        stacked = np.concatenate([kernel, recurrent], axis=0)
        scale = _gate_scale(stacked.shape[1])
        stacked *= scale
        bias = bias * scale
        inputs = len(kernel)
        table = None if embedding is None else embedding @ stacked[:inputs] + bias
        self._lstms.append((stacked, inputs, bias, table))

    def _add_dense(self, layer: Any, weights: list[np.ndarray], last: bool) -> None:
        kernel, bias = weights if layer.use_bias else (weights[0], np.float32(0))
        self._ops.append(lambda x: x @ kernel + bias)
        if not (last and _is_softmax(layer)):  # a final softmax is left to the sampler
            self._ops.append(_activation(layer, layer.activation))

    def _add_batch_norm(self, layer: Any) -> None:
        if layer.axis not in (-1, len(layer.input.shape) - 1):
            raise ValueError(f"generate cannot run {layer.name!r}: normalises axis {layer.axis}")
        scale = 1 / np.sqrt(np.asarray(layer.moving_variance) + layer.epsilon)
        if layer.gamma is not None:
            scale = scale * np.asarray(layer.gamma)
        shift = -np.asarray(layer.moving_mean) * scale
        if layer.beta is not None:
            shift = shift + np.asarray(layer.beta)
        scale, shift = scale.astype(np.float32), shift.astype(np.float32)
        self._ops.append(lambda x: x * scale + shift)


def _gate_scale(width: int) -> np.ndarray:
    """Per column of an LSTM's weights: 0.5 for the gates i, f, o, 1 for the cell input.

    The runner keeps its LSTM weights scaled so: one ``tanh`` of the scaled
    pre-activations then gives every gate (``sigmoid(z) = 0.5 * tanh(z / 2) + 0.5``,
    with no overflow). Halving is exact in floating point, so the results are
    bit for bit those of the unscaled weights.
    """
    scale = np.full(width, 0.5, np.float32)
    scale[width // 2 : 3 * width // 4] = 1.0
    return scale


def _lstm_step(z: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Keras LSTM step from the scaled gate pre-activations `z` (see `_gate_scale`)."""
    units = c.shape[1]
    t = np.tanh(z)
    gates = 0.5 * t + 0.5  # the sigmoid gates i, f, o (the cell input's slice is unused)
    c = gates[:, units : 2 * units] * c + gates[:, :units] * t[:, 2 * units : 3 * units]
    return gates[:, 3 * units :] * np.tanh(c), c


def _chain(model: keras.Model) -> list[Any]:
    """The model's layers, checking they form one chain from its input to its output."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if len(model.inputs) != 1 or len(model.outputs) != 1 or not layers:
        raise ValueError(f"generate needs a single-input, single-output model, not {model.name!r}")
    previous = model.inputs[0]
    for layer in layers:
        if layer.input is not previous:
            raise ValueError(f"generate needs a chain of layers; {layer.name!r} branches")
        previous = layer.output
    return layers


def _is_softmax(layer: Any) -> bool:
    activation = getattr(layer, "activation", None)
    return activation is not None and keras.activations.serialize(activation) == "softmax"


def _activation(
    layer: Any, function: Any, expected: str | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    name = keras.activations.serialize(function)
    if name not in _ACTIVATIONS or (expected is not None and name != expected):
        raise ValueError(f"generate cannot run activation {name!r} of layer {layer.name!r}")
    return _ACTIVATIONS[name]

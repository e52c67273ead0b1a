"""`generate`: fast, batched, seeded decoding of an LSTM model; `prime_ids` for token primes.

`generate` copies the model's weights into numpy float32 arrays once and runs the
layers itself (`LSTMRunner`): one LSTM step costs a few small matrix products,
with none of the per-call overhead of ``model.predict``. It measured faster than
a compiled ``tf.function`` step on CPU (see ``bench/generate_speed.py``).

- Chunk models (``return_sequences=True``): the prime is read once, then the LSTM
  state is carried from token to token, one step per token.
- Window models (many-to-one): every token re-reads the window of the last
  ``seq_len`` ids from a zero state, exactly as the model was trained.

Ids are fed as ids; a model with Skuli's scaled input gets ``id / vocab_size``,
computed once, at the model's input (`musegen.training.model.scale_ids`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Literal, Protocol

import keras
import numpy as np
from threadpoolctl import ThreadpoolController

from musegen.defaults import GENERATION
from musegen.events import Piece
from musegen.generation import processors as _processors
from musegen.generation import samplers
from musegen.generation._clock import Clock, LengthStop
from musegen.generation.views import TranspositionViews, _MixedRunner
from musegen.tokens.token_table import TokenTable
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.model import scale_ids

_DEFAULT_SAMPLER = samplers.get(
    GENERATION.sampler, temperature=GENERATION.temperature, **GENERATION.options
)
"""The measured sampler of `musegen.defaults.GENERATION` (top-p 0.9)."""

__all__ = ["LSTMRunner", "generate", "prime_ids"]

State = list[tuple[np.ndarray, np.ndarray]]
"""The (h, c) arrays of every LSTM layer, each ``[batch, units]``."""

_IDENTITY_LAYERS = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout")
_ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, 0, dtype=np.float32),
    "tanh": np.tanh,
    "sigmoid": lambda x: 0.5 * np.tanh(0.5 * x) + 0.5,
}


def generate(
    model: keras.Model,
    prime: Sequence[int] | Sequence[Sequence[int]] | np.ndarray,
    steps: int | None,
    sampler: samplers.Sampler | str | dict[str, Any] = _DEFAULT_SAMPLER,
    *,
    processors: Sequence[_processors.LogitsProcessor | str | dict[str, Any]] = (),
    table: TokenTable | None = None,
    seed: int | None = None,
    batch_size: int | None = None,
    window: int | None = None,
    blas_threads: int | Literal["auto"] | None = "auto",
    quarters: float | None = None,
    views: TranspositionViews | None = None,
) -> np.ndarray:
    """Generate `steps` new ids for each stream; returns them, ``[batch, steps]`` int64.

    With `quarters`, each stream stops instead where its decoded music reaches
    that many quarter notes (counted from the prime's end), on a whole event:
    its last event starts before the length, and no event starts at or after
    it. The rows are as long as the longest stream's, the others padded with
    the pad id (0), which decoders skip. A stream that has not reached the
    length after `steps` ids ends there (None: 64 ids per quarter note).

    Args:
        model: A model from `musegen.training.model.build_lstm` (or any chain of Embedding,
            LSTM, Dense, BatchNormalization, Activation, Dropout layers).
        prime: Ids to start from: one sequence (shared by all streams) or one row
            per stream (all rows the same length). See `prime_ids` for tokens.
        steps: How many ids to generate per stream (with `quarters`: at most).
        sampler: A sampler, or a name / config for `musegen.generation.samplers.get`; by default
            the measured one, `musegen.defaults.GENERATION` (top-p 0.9).
        processors: Logits processors (`musegen.generation.processors`), applied to every
            step's logits before the sampler (in any order: `musegen.generation.processors.apply`).
        table: The vocabulary's `TokenTable`, for processors that read what ids
            mean (`musegen.generation.processors.KeyConstraint`, ...).
        seed: Seed of the random generator; the same seed gives the same output.
        batch_size: Number of streams decoded together; defaults to the prime's rows.
        window: Window length for a window model built with ``seq_len=None``
            (defaults to the prime's length); ignored for chunk models.
        blas_threads: Threads numpy's BLAS may use while decoding (restored
            after, through threadpoolctl), or None to leave numpy's setting
            (every core). ``"auto"`` (the default): every core when the machine
            has a core to spare (load average below the number of cores less
            one half), else one: on idle cores every core decoded one stream
            1.6 to 2 times faster, while on a busy machine competing BLAS
            threads made these small products many times slower
            (see bench/generate_speed.py).
        quarters: The length of music to generate per stream, in quarter notes
            (needs `table`, which knows each token's length); None: `steps` ids.
        views: Sample from the mixture of the model reading the music in several
            keys (`musegen.generation.views.TranspositionViews`; each step costs
            one LSTM step per view); None: the model alone.

    Raises:
        ValueError: for a bad prime (naming the bad id or length), a layer the
            runner does not support (naming it), a processor that needs a table
            without one, or processors that leave nothing to pick.

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> model = build_lstm(20, units=(8,), embedding_dim=4, return_sequences=True)
        >>> ids = generate(model, [2, 3, 4], steps=5, sampler="top_k", seed=0, batch_size=2)
        >>> ids.shape
        (2, 5)
    """
    if steps is None:
        if quarters is None:
            raise ValueError("give steps (ids per stream) or quarters (a length of music)")
        steps = int(64 * quarters) + 64
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if quarters is not None and table is None:
        raise ValueError("quarters= needs table=TokenTable.build(tokenizer, vocabulary)")
    runner: Any = LSTMRunner(model)  # the model's weights as numpy arrays
    if views is not None:
        runner = _MixedRunner(runner, views, model.name)
    pick = samplers.get(sampler)
    chain = _processors.prepare(processors, table, runner.vocab_size)
    reserved = getattr(pick, "reserved_ids", ())  # the processors give way to these too
    rng = np.random.default_rng(seed)
    context = _prime_batch(prime, batch_size, runner.vocab_size)  # [batch, prime length]
    width = runner.window or window or context.shape[1]
    if not runner.chunk and context.shape[1] < width:
        raise ValueError(f"prime has {context.shape[1]} ids; this window model reads {width}")
    start = context.shape[1]  # ids[:, start:] are the generated ones
    ids = np.concatenate([context, np.zeros((len(context), steps), np.int64)], axis=1)
    steer = _processors.Chain(chain, context, start, reserved)  # keeps its state per stream
    stop = None if quarters is None or table is None else _length_stop(table, context, quarters)
    with _blas_limit(_auto_threads() if blas_threads == "auto" else blas_threads):
        if runner.chunk:  # read the whole prime once (once for all if shared), keep the state
            shared = bool((context == context[0]).all())
            logits, state = runner(context[:1] if shared else context)
            if shared:
                logits, state = _repeat((logits, state), len(context))
        for t in range(start, start + steps):
            if not runner.chunk:
                logits, _ = runner(ids[:, t - width : t])  # re-read the window from zero state
            if chain:  # constraints and penalties, from each stream's state
                logits = steer(logits)
                _processors.check(chain, logits, t)
            ids[:, t] = pick(logits, rng)  # choose the next id of every stream
            if stop is not None and stop.update(ids[:, t], t - start):
                break  # every stream has reached its length
            if chain:
                steer.advance(ids[:, t])
            if runner.chunk and t + 1 < start + steps:
                logits, state = runner(ids[:, t : t + 1], state)  # one LSTM step, the new id
    if stop is None:
        return ids[:, start:]
    ends = np.where(stop.ends < 0, steps, stop.ends)  # the streams that ran out of steps
    out = ids[:, start : start + int(ends.max(initial=0))].copy()
    out[np.arange(out.shape[1])[None] >= ends[:, None]] = Vocabulary.pad_id
    return out


def _length_stop(table: TokenTable, prime: np.ndarray, quarters: float) -> LengthStop:
    """The `LengthStop` of streams that begin after `prime` ``[batch, length]``."""
    clock = Clock(table)
    return LengthStop(clock, clock.run(prime), quarters)


def prime_ids(
    prime: Sequence[str] | Piece,
    vocabulary: Vocabulary,
    *,
    tokenizer: _Encoder | None = None,
    unknown: Literal["error", "skip"] = "error",
) -> list[int]:
    """Ids of a prime given as tokens, or as a `Piece` encoded with `tokenizer`.

    Args:
        prime: Tokens, or a `Piece` (e.g. from ``read_midi``) when `tokenizer` is given.
        vocabulary: The vocabulary the model was trained with.
        tokenizer: Anything with ``encode(piece) -> list[str]``; needed for a `Piece`.
        unknown: ``"error"`` raises on a token missing from the vocabulary, naming it;
            ``"skip"`` leaves it out.

    Raises:
        musegen.tokens.vocabulary.UnknownTokenError: naming the missing token and its position.
        ValueError: if no token is left.

    Examples:
        >>> vocab = Vocabulary(["C4", "E4"])
        >>> prime_ids(["C4", "F9", "E4"], vocab, unknown="skip")
        [2, 3]
    """
    if unknown not in ("error", "skip"):
        raise ValueError(f"unknown must be 'error' or 'skip', got {unknown!r}")
    if isinstance(prime, Piece):
        if tokenizer is None:
            raise ValueError("a Piece prime needs a tokenizer to turn it into tokens")
        prime = tokenizer.encode(prime)
    ids = vocabulary.encode(prime, unknown=unknown)
    if not ids:
        raise ValueError("the prime has no token of the vocabulary")
    return ids


class _Encoder(Protocol):
    def encode(self, piece: Piece) -> list[str]: ...


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


@cache
def _threadpools() -> ThreadpoolController:
    """The thread pools of the loaded libraries, found once (a search costs milliseconds)."""
    return ThreadpoolController()


def _auto_threads() -> int | None:
    """None (numpy's own setting) when a core is free, else 1; see `generate`."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this platform: assume a free core
        return None
    return None if load < cores - 0.5 else 1


def _blas_limit(threads: int | None) -> contextlib.AbstractContextManager[Any]:
    """Limit the BLAS threads to `threads` inside the block (None: leave them as they are)."""
    if threads is None:
        return contextlib.nullcontext()
    return _threadpools().limit(limits=threads, user_api="blas")


def _repeat(tree: Any, times: int) -> Any:
    """Every array in `tree` (nested tuples and lists) repeated `times` along axis 0."""
    if isinstance(tree, (tuple, list)):
        return type(tree)(_repeat(part, times) for part in tree)
    return np.repeat(tree, times, axis=0)


def _prime_batch(prime: Any, batch_size: int | None, vocab_size: int) -> np.ndarray:
    """The prime as int64 ids ``[batch, length]``, checked against the vocabulary."""
    try:
        ids = np.asarray(prime, dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"prime must be ids, or rows of ids of one length: {error}") from None
    if ids.ndim == 1:
        ids = np.repeat(ids[None], batch_size or 1, axis=0)
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(f"prime must be a non-empty sequence of ids, got shape {ids.shape}")
    if batch_size is not None and batch_size != len(ids):
        raise ValueError(f"batch_size={batch_size} but the prime has {len(ids)} rows")
    bad = ids[(ids < 0) | (ids >= vocab_size)]
    if bad.size:
        raise ValueError(f"prime id {int(bad[0])} is outside the vocabulary (0..{vocab_size - 1})")
    return ids

"""How likely a trained model finds real songs: token NLLs and NLL per quarter note.

Per-token loss cannot compare encodings: a spelling with more, easier tokens
(one per pitch) has a lower loss per token for the same music. Dividing a song's
summed token NLL by its length in quarter notes makes every encoding pay for the
same music, so `nll_per_quarter` compares tokenizers, models and budgets.

Examples:
    >>> from musegen.training.model import build_lstm
    >>> model = build_lstm(10, units=(4,), return_sequences=True)
    >>> song = [2, 3, 4, 5]
    >>> token_nll(model, song).shape
    (3,)
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from musegen.generation.lstm_runner import _is_softmax
from musegen.generation.views import TranspositionViews
from musegen.training.model import scale_ids

__all__ = ["nll_per_quarter", "token_nll"]


def token_nll(
    model: keras.Model, ids: Sequence[int] | np.ndarray, *, views: TranspositionViews | None = None
) -> np.ndarray:
    """The NLL, in nats, of each id of a song after the first, given the ids before it.

    ``nll[t] = -log p(ids[t + 1] | ids[: t + 1])`` for a chunk model
    (``build_lstm(..., return_sequences=True)``), read in one pass from a zero
    state, as in training. The first id has no prediction and is not counted.
    A model with Skuli's scaled input (``build_lstm(..., input_mode="scaled")``)
    reads ``id / vocab_size``, as `SequenceDataset` fed it in training.

    Args:
        model: A chunk model giving logits or probabilities ``[batch, time, vocab]``.
        ids: The song's ids.
        views: Score the mixture of the model reading the song in several keys
            (`musegen.generation.views.TranspositionViews`), or None: the model alone.

    Returns:
        float64 array of ``len(ids) - 1`` NLLs (empty for a song of one id).

    Raises:
        ValueError: for a window model (many-to-one), or an id outside the model's vocabulary.

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> model = build_lstm(8, units=(4,), return_sequences=True)
        >>> bool(np.all(token_nll(model, [2, 3, 4]) > 0))
        True
    """
    return _nll_batch(model, [np.asarray(ids, dtype=np.int64).reshape(-1)], views)[0]


def nll_per_quarter(
    model: keras.Model,
    songs: Sequence[Sequence[int] | np.ndarray],
    quarters: Sequence[float],
    *,
    batch_size: int = 16,
    views: TranspositionViews | None = None,
) -> float:
    """Mean over songs of the song's summed token NLL per quarter note of music (nats).

    ``mean_s( sum_t nll_s[t] / quarters_s )`` with `token_nll` for each song.
    A song of one id has no prediction and is left out of the mean.
    Lower is better; an untrained model over ``V`` ids scores about
    ``log(V) * tokens / quarters``. Give each song's length from the real piece
    (``piece.duration``), not from its decoded tokens, so every encoding is
    divided by the same number.

    Args:
        model: A chunk model.
        songs: Each song's ids.
        quarters: Each song's length in quarter notes (> 0).
        batch_size: Songs read together.
        views: Score the mixture of the model reading each song in several keys
            (`musegen.generation.views.TranspositionViews`), or None: the model alone.

    Raises:
        ValueError: when `songs` and `quarters` differ in length, a length is not
            positive, or no song has two ids.

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> model = build_lstm(6, units=(4,), return_sequences=True)
        >>> songs, quarters = [[2, 3, 4, 5], [5, 4, 3]], [2.0, 1.0]
        >>> per_song = [token_nll(model, s).sum() / q for s, q in zip(songs, quarters)]
        >>> bool(np.isclose(nll_per_quarter(model, songs, quarters), np.mean(per_song)))
        True
    """
    if len(songs) != len(quarters):
        raise ValueError(f"{len(songs)} songs but {len(quarters)} lengths")
    if quarters and min(quarters) <= 0:
        raise ValueError(f"song lengths must be > 0 quarter notes, got {min(quarters)}")
    arrays = [np.asarray(s, dtype=np.int64).reshape(-1) for s in songs]
    pairs = [(a, float(q)) for a, q in zip(arrays, quarters, strict=True) if len(a) > 1]
    if not pairs:
        raise ValueError("nll_per_quarter needs a song of two ids or more (one has no prediction)")
    arrays = [a for a, _ in pairs]
    order = np.argsort([len(a) for a in arrays])  # similar lengths together: less padding
    totals = np.zeros(len(arrays))
    for begin in range(0, len(order), batch_size):
        index = order[begin : begin + batch_size]
        for i, nll in zip(index, _nll_batch(model, [arrays[i] for i in index], views), strict=True):
            totals[i] = nll.sum()
    return float(np.mean(totals / np.array([q for _, q in pairs])))


_COMPILED: weakref.WeakKeyDictionary[keras.Model, dict[tuple[int, str], Any]] = (
    weakref.WeakKeyDictionary()
)


def _forward(model: keras.Model, inputs: np.ndarray) -> np.ndarray:
    """The model's output on `inputs`, through a compiled function kept per model.

    20 to 30 times faster than an eager call on chorale-length sequences (76 JSB
    chorales: 1.6 s instead of 32 s on 2 cores). A plain ``tf.function`` rather
    than ``predict_on_batch``: under a cluster's strategy the chief alone scores,
    and ``predict_on_batch`` would wait in collective ops for the other workers.
    """
    import tensorflow as tf

    functions = _COMPILED.setdefault(model, {})
    key = (inputs.ndim, str(inputs.dtype))
    if key not in functions:
        spec = tf.TensorSpec([None] * inputs.ndim, tf.as_dtype(inputs.dtype))
        functions[key] = tf.function(
            lambda x: model(x, training=False), input_signature=[spec], reduce_retracing=True
        )
    return np.asarray(functions[key](inputs))


def _windowed_forward(model: keras.Model, inputs: np.ndarray) -> np.ndarray:
    """`_forward`, for a model that reads at most ``context`` ids (`build_transformer`) too.

    A longer song is read in windows of ``context`` ids, each half a context
    after the one before; every position is taken from the window that gives it
    the most ids before it (at least half a context once the song is longer).
    """
    from musegen.training.transformer import transformer_context

    context = transformer_context(model)
    width = inputs.shape[1]
    if context is None or width <= context:
        return _forward(model, inputs)
    half = max(context // 2, 1)
    parts, begin, first = [], 0, 0
    while True:
        parts.append(_forward(model, inputs[:, begin : begin + context])[:, first:])
        if begin + context >= width:
            return np.concatenate(parts, axis=1)
        begin, first = begin + half, context - half


def _nll_batch(
    model: keras.Model, songs: list[np.ndarray], views: TranspositionViews | None = None
) -> list[np.ndarray]:
    """`token_nll` of several songs in one padded pass."""
    if len(model.outputs[0].shape) != 3:
        raise ValueError(
            f"model {model.name!r} predicts one id per window; token NLLs need a chunk "
            "model (build_lstm(..., return_sequences=True))"
        )
    vocab_size = int(model.outputs[0].shape[-1])
    for song in songs:
        bad = song[(song < 0) | (song >= vocab_size)]
        if bad.size:
            raise ValueError(
                f"id {int(bad[0])} is outside the model's vocabulary (0..{vocab_size - 1})"
            )
    width = max(len(s) for s in songs) - 1
    if width < 1:
        return [np.zeros(0) for _ in songs]
    inputs = np.zeros((len(songs), width), np.int32)
    for row, song in enumerate(songs):
        inputs[row, : len(song) - 1] = song[:-1]
    ok = None
    if views is not None:
        views.check(vocab_size, model.name)
        inputs, ok = views.inputs(inputs)  # every view of every song, view-major
    scaled = len(model.inputs[0].shape) == 3  # Skuli's floats [batch, time, 1], not ids
    fed = scale_ids(inputs, vocab_size) if scaled else inputs
    out = np.asarray(_windowed_forward(model, fed), dtype=np.float64)
    if _is_softmax(model.layers[-1]):
        log_p = np.log(np.clip(out, 1e-12, 1.0))
    else:
        shifted = out - out.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    if views is not None and ok is not None:
        log_p = views.mix(log_p, ok)
    return [-log_p[row, np.arange(len(song) - 1), song[1:]] for row, song in enumerate(songs)]

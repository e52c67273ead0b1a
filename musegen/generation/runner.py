"""The decoding seam: a `Runner` turns ids and a state into next-id logits and a new state.

`musegen.generation.decoding.generate`, `musegen.generation.beam.beam_search` and
`musegen.generation.infill.infill` never call a model themselves: they call a
runner, built once by `runner_for`. So sampling, beam search and infill read
the same distribution (the model alone, or the model read in several keys), and
any next-token model can be plugged in beside the LSTM:

- `musegen.generation.lstm_runner.LSTMRunner`: a Keras LSTM run in numpy,
  its state carried from id to id (a step costs the same at the 10th and the
  10,000th id);
- `KerasRunner`: any Keras model that maps ids ``[batch, time]`` to next-id
  scores, re-read over its context at every step (slower, but general);
- the views' runner (`musegen.generation.views.TranspositionViews`): a runner
  read in several keys, its predictions mixed.

A runner's state is a tree (tuples and lists) of arrays whose first axis is the
batch, so `take_state` picks streams (beams reordered, one prime shared) the
same way for every runner.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any, Literal

import keras
import numpy as np
from threadpoolctl import ThreadpoolController
from typing_extensions import Protocol, runtime_checkable

from musegen.generation.lstm_runner import LSTMRunner, _is_softmax
from musegen.generation.views import TranspositionViews

__all__ = ["KerasRunner", "Runner", "join_states", "runner_for", "take_state"]


@runtime_checkable
class Runner(Protocol):
    """Reads ids on from a state; returns the next id's logits and the new state.

    Attributes:
        vocab_size: The ids it reads and predicts.
        chunk: True when a state carries the past (read each id once); False
            for a window model, called on its whole window at every step.
        window: The ids a window model reads (None: any length).

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> isinstance(runner_for(build_lstm(8, units=(4,))), Runner)
        True
    """

    vocab_size: int
    chunk: bool
    window: int | None

    def __call__(self, ids: np.ndarray, state: Any = None) -> tuple[np.ndarray, Any]:
        """Logits ``[batch, vocab]`` after `ids` ``[batch, time]`` from `state`; the new state."""
        ...


class KerasRunner:
    """Any Keras next-token model as a `Runner`: it re-reads the ids so far at every step.

    The model maps ids ``[batch, time]`` to scores ``[batch, time, vocab]`` (or
    ``[batch, vocab]`` for the last step); a final softmax is read back as
    log-probabilities. The state is the ids read so far (at most `context`), so
    a step costs more as the music grows: use it for models `LSTMRunner` cannot
    run (attention, convolutions), not for speed.

    Args:
        model: The Keras model.
        context: The most ids it reads at once (default: the model's input
            length, else all of them).

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> runner = KerasRunner(build_lstm(8, units=(4,), return_sequences=True))
        >>> logits, state = runner(np.array([[2, 3]]))
        >>> logits.shape, state.shape
        ((1, 8), (1, 2))
    """

    chunk = True

    def __init__(self, model: keras.Model, context: int | None = None) -> None:
        self.model = model
        self.vocab_size = int(model.outputs[0].shape[-1])
        self.window: int | None = None
        self.context = context or model.inputs[0].shape[1]
        self._softmax = bool(model.layers) and _is_softmax(model.layers[-1])

    def __call__(self, ids: np.ndarray, state: Any = None) -> tuple[np.ndarray, Any]:
        """Read `ids` after the ids in `state`; the last step's logits, and every id so far."""
        ids = np.asarray(ids, dtype=np.int64)
        seen = ids if state is None else np.concatenate([state, ids], axis=1)
        if self.context:
            seen = seen[:, -self.context :]
        scores = np.asarray(self.model(seen, training=False), dtype=np.float32)
        last = scores[:, -1] if scores.ndim == 3 else scores
        return (np.log(np.maximum(last, 1e-30)) if self._softmax else last), seen


def runner_for(model: keras.Model | Runner, views: TranspositionViews | None = None) -> Runner:
    """The runner that reads `model`, in each of `views`' keys when given.

    A Keras model that `LSTMRunner` can run (Embedding, LSTM, Dense, ...) is
    run in numpy; another Keras model gets a `KerasRunner` (a `build_transformer`
    model reading its last ``context`` ids at every step); a runner is used as it is.

    Raises:
        ValueError: when `views` map another number of ids than the model predicts.

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> type(runner_for(build_lstm(8, units=(4,)))).__name__
        'LSTMRunner'
    """
    runner: Any
    if isinstance(model, keras.Model):
        from musegen.training.transformer import transformer_context

        context = transformer_context(model)
        try:
            runner = LSTMRunner(model)
        except ValueError:  # a Transformer reads its last `context` ids at every step
            runner = KerasRunner(model, context=context)
        name = model.name
    else:
        runner, name = model, type(model).__name__
    return runner if views is None else _ViewsRunner(runner, views, name)


def take_state(state: Any, rows: np.ndarray) -> Any:
    """The state of streams `rows` (an index array; repeats allowed) of a runner's state.

    Examples:
        >>> state = [(np.arange(3), np.arange(3) * 10)]
        >>> take_state(state, np.array([2, 2, 0]))
        [(array([2, 2, 0]), array([20, 20,  0]))]
    """
    return _map_state(lambda array: np.asarray(array)[rows], state)


def join_states(states: Sequence[Any]) -> Any:
    """One state of the streams of each of `states`, in order (as `take_state` would give).

    Examples:
        >>> join_states([[(np.arange(2),)], [(np.arange(1),)]])
        [(array([0, 1, 0]),)]
    """
    return _map_state(lambda *arrays: np.concatenate(arrays), *states)


def _map_state(function: Callable[..., Any], *states: Any) -> Any:
    """`function` of the arrays at each place of `states` (trees of the same shape; None stays)."""
    first = states[0]
    if isinstance(first, (tuple, list)):
        return type(first)(_map_state(function, *parts) for parts in zip(*states, strict=True))
    return None if first is None else function(*states)


class _ViewsRunner:
    """A runner whose logits mix an inner runner's readings in several keys (`TranspositionViews`).

    Its state is, per stream (the first axis), the inner runner's state of every
    view and whether each view still takes part.
    """

    def __init__(self, runner: Any, views: TranspositionViews, model: str) -> None:
        views.check(runner.vocab_size, model)
        self.runner, self.views = runner, views
        self.vocab_size, self.chunk, self.window = runner.vocab_size, runner.chunk, runner.window

    def __call__(self, ids: np.ndarray, state: Any = None) -> tuple[np.ndarray, Any]:
        moved, ok = self.views.inputs(ids)
        ok = ok[..., -1]  # [views, batch]: the views that read every id of `ids`
        inner, taking_part = (None, None) if state is None else state
        if taking_part is not None:
            ok &= taking_part.T  # a view that lacked an id stays out
        count = len(self.views)
        # the inner runner reads every view of every stream, view-major, as `inputs` gives them
        inner = _map_state(lambda a: np.swapaxes(a, 0, 1).reshape(-1, *a.shape[2:]), inner)
        logits, inner = self.runner(moved, inner)
        streams_first = _map_state(  # [views * batch, ...] -> [batch, views, ...]
            lambda a: np.swapaxes(a.reshape(count, -1, *a.shape[1:]), 0, 1), inner
        )
        return self.views.mix(logits, ok).astype(np.float32), (streams_first, ok.T.copy())


# -- shared by the decoders ----------------------------------------------------------------


@cache
def _threadpools() -> ThreadpoolController:
    """The thread pools of the loaded libraries, found once (a search costs milliseconds)."""
    return ThreadpoolController()


def _auto_threads() -> int | None:
    """None (numpy's own setting) when a core is free, else 1 (see `generate`)."""
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on this platform: assume a free core
        return None
    return None if load < cores - 0.5 else 1


def blas_limit(threads: int | Literal["auto"] | None) -> contextlib.AbstractContextManager[Any]:
    """Limit the BLAS threads inside the block: a count, ``"auto"``, or None (leave them)."""
    threads = _auto_threads() if threads == "auto" else threads
    if threads is None:
        return contextlib.nullcontext()
    return _threadpools().limit(limits=threads, user_api="blas")


def prime_batch(prime: Any, batch_size: int | None, vocab_size: int) -> np.ndarray:
    """The prime as int64 ids ``[batch, length]``, checked against the vocabulary.

    Raises:
        ValueError: for ids outside the vocabulary, an empty prime or rows of
            several lengths.
    """
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

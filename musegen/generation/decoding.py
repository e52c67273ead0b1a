"""`generate`: fast, batched, seeded sampling from any `Runner`; `prime_ids` for token primes.

The loop reads top to bottom: read the prime once, then per step let the
processors reshape the logits, let the sampler pick, and read the picked id on.
The model is called through a `musegen.generation.runner.Runner` (the LSTM in
numpy by default, see `musegen.generation.lstm_runner`), the same one beam
search and infill read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import keras
import numpy as np

from musegen.defaults import GENERATION
from musegen.events import Piece
from musegen.generation import processors as _processors
from musegen.generation import samplers
from musegen.generation._clock import Clock, LengthStop
from musegen.generation.lstm_runner import LSTMRunner
from musegen.generation.runner import Runner, blas_limit, prime_batch, runner_for, take_state
from musegen.generation.views import TranspositionViews
from musegen.tokens.token_table import TokenTable
from musegen.tokens.vocabulary import Vocabulary

_DEFAULT_SAMPLER = samplers.get(
    GENERATION.sampler, temperature=GENERATION.temperature, **GENERATION.options
)
"""The measured sampler of `musegen.defaults.GENERATION` (top-p 0.9)."""

__all__ = ["generate", "prime_ids"]

_ = LSTMRunner  # importable from here too, as before


def generate(
    model: keras.Model | Runner,
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
            LSTM, Dense, BatchNormalization, Activation, Dropout layers, run in numpy),
            another Keras next-token model, or a `musegen.generation.runner.Runner`.
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
        steps = _steps_for(quarters)
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if quarters is not None and table is None:
        raise ValueError("quarters= needs table=TokenTable.build(tokenizer, vocabulary)")
    runner = runner_for(model, views)  # e.g. the LSTM's weights as numpy arrays
    pick = samplers.get(sampler)
    chain = _processors.prepare(processors, table, runner.vocab_size)
    reserved = getattr(pick, "reserved_ids", ())  # the processors give way to these too
    rng = np.random.default_rng(seed)
    context = prime_batch(prime, batch_size, runner.vocab_size)  # [batch, prime length]
    width = runner.window or window or context.shape[1]
    if not runner.chunk and context.shape[1] < width:
        raise ValueError(f"prime has {context.shape[1]} ids; this window model reads {width}")
    start = context.shape[1]  # ids[:, start:] are the generated ones
    ids = np.concatenate([context, np.zeros((len(context), steps), np.int64)], axis=1)
    steer = _processors.Chain(chain, context, start, reserved)  # keeps its state per stream
    stop = None if quarters is None or table is None else _length_stop(table, context, quarters)
    with blas_limit(blas_threads):
        if runner.chunk:  # read the whole prime once (once for all if shared), keep the state
            shared = bool((context == context[0]).all())
            logits, state = runner(context[:1] if shared else context)
            if shared:
                logits, state = take_state((logits, state), np.zeros(len(context), np.int64))
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


def _steps_for(quarters: float) -> int:
    """The most ids a stream may take to write `quarters` (64 per quarter note, and 64 more)."""
    return int(64 * quarters) + 64


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

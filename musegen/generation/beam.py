"""`beam_search`: deterministic decoding that keeps the `width` likeliest sequences per stream.

At every step each kept sequence (a *beam*) is extended by every id; of all
``width x vocab`` extensions of a stream the `width` with the highest total
log-probability are kept. With width 1 this is argmax decoding. Each beam
keeps back-pointers (its last id, the beam it extends), not its history, and
the processors keep their state per beam (`musegen.generation.processors.chain.Chain`),
so a step costs the same however long the sequences grow. All beams of
all streams run as one batch through the runner sampling reads
(`musegen.generation.runner.runner_for`: the model alone or read in several keys),
and the logits processors (`musegen.generation.processors`) apply to every beam, so a
key, a grammar or a melody constrain beam search as they do sampling.

The log-probability of a sequence is summed over its ids from the
distributions the model gives *after* the processors (renormalised over the
allowed ids), as text-generation libraries do.

A wider beam can lose the sequence a narrower one finds (it fills up with
extensions that look better early and turn out worse), so the argmax path
runs beside the beams, one row more per stream: the result is never less
likely than argmax decoding's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import keras
import numpy as np

from musegen.generation import processors as _processors
from musegen.generation.runner import Runner, blas_limit, prime_batch, runner_for, take_state
from musegen.generation.views import TranspositionViews
from musegen.tokens.token_table import TokenTable

__all__ = ["beam_search"]


def beam_search(
    model: keras.Model | Runner,
    prime: Sequence[int] | Sequence[Sequence[int]] | np.ndarray,
    steps: int,
    width: int = 4,
    *,
    processors: Sequence[_processors.LogitsProcessor | str | dict[str, Any]] = (),
    table: TokenTable | None = None,
    reserved_ids: Sequence[int] = (0, 1),
    batch_size: int | None = None,
    window: int | None = None,
    blas_threads: int | Literal["auto"] | None = "auto",
    views: TranspositionViews | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The likeliest `steps` ids found by a beam of `width`, per stream, and their log-probability.

    Args:
        model: As for `musegen.generation.decoding.generate`.
        prime: Ids to start from: one sequence, or one row per stream.
        steps: How many ids to generate per stream.
        width: Beams kept per stream (1: argmax decoding).
        processors: Logits processors applied to every beam's logits, in order.
        table: The vocabulary's `TokenTable`, for processors that read it.
        reserved_ids: Ids never chosen (padding and unknown).
        batch_size: Number of streams; defaults to the prime's rows.
        window: As for `musegen.generation.decoding.generate`.
        blas_threads: As for `musegen.generation.decoding.generate`.
        views: Search the mixture of the model read in several keys, as
            `musegen.generation.decoding.generate` samples it; None: the model alone.

    Returns:
        ``(ids, log_probs)``: the best sequence of each stream ``[batch, steps]``
        (int64) and its summed log-probability ``[batch]``.

    Raises:
        ValueError: for ``width < 1``, a bad prime, or processors that leave
            nothing to pick in every beam of a stream (naming the stream).

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> model = build_lstm(20, units=(8,), embedding_dim=4, return_sequences=True)
        >>> ids, log_probs = beam_search(model, [2, 3, 4], steps=5, width=3)
        >>> ids.shape, log_probs.shape
        ((1, 5), (1,))
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    runner = runner_for(model, views)
    chain = _processors.prepare(processors, table, runner.vocab_size)
    context = prime_batch(prime, batch_size, runner.vocab_size)
    streams, start, vocab = len(context), context.shape[1], runner.vocab_size
    width_ = runner.window or window or start
    if not runner.chunk and start < width_:
        raise ValueError(f"prime has {start} ids; this window model reads {width_}")
    # row s * rows + b is beam b of stream s (at first only beam 0 is alive); with a beam
    # wider than one, row s * rows + width is the stream's argmax path
    rows = width + (width > 1)
    scores = np.full((streams, rows), -np.inf)
    scores[:, 0] = scores[:, width:] = 0.0
    reserved = [i for i in reserved_ids if 0 <= i < vocab]
    base = np.arange(streams)[:, None] * rows
    # back-pointers: the id each row chose at each step, and the row it extended
    tokens = np.zeros((steps, streams * rows), np.int64)
    parents = np.zeros((steps, streams * rows), np.int64)
    recent = np.repeat(context[:, start - min(width_, start) :], rows, 0)  # a window model's
    steer = _processors.Chain(chain, np.repeat(context, rows, 0), start, reserved)
    with blas_limit(blas_threads):
        if runner.chunk:
            logits, state = runner(context)
            logits, state = take_state((logits, state), np.repeat(np.arange(streams), rows))
        for step in range(steps):
            if not runner.chunk:
                logits, _ = runner(recent)
            logits = np.array(logits, dtype=np.float64)
            if chain:  # on the live beams only: a dead one's history may contradict them
                live = np.flatnonzero(np.isfinite(scores).ravel())
                steered = steer(logits[live], live)
                logits[:] = -np.inf
                logits[live] = steered
            logits[:, reserved] = -np.inf
            with np.errstate(invalid="ignore"):  # -inf - -inf: a row with nothing allowed
                log_probs = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
            log_probs[np.isnan(log_probs)] = -np.inf  # a dead beam, or one the processors end
            log_probs = log_probs.reshape(streams, rows, vocab)
            total = scores[:, :, None] + log_probs
            beams = total[:, :width].reshape(streams, width * vocab)
            if width == 1:
                best = beams.argmax(axis=1)[:, None]  # the first of equals, as argmax sampling
            else:
                best = np.argpartition(-beams, width - 1, axis=1)[:, :width]
                order = np.argsort(-np.take_along_axis(beams, best, 1), axis=1, kind="stable")
                best = np.take_along_axis(best, order, 1)
                greedy = total[:, width].argmax(axis=1)[:, None]
                best = np.concatenate([best, width * vocab + greedy], axis=1)
            scores = np.take_along_axis(total.reshape(streams, rows * vocab), best, 1)
            if not np.isfinite(scores[:, 0]).all():
                dead = np.flatnonzero(~np.isfinite(scores[:, 0])).tolist()
                raise ValueError(f"no id can be chosen in streams {dead} at step {step}")
            chosen = (base + best // vocab).ravel()
            tokens[step], parents[step] = (best % vocab).ravel(), chosen
            if chain:
                steer.advance(tokens[step], chosen)
            if not runner.chunk:
                recent = np.concatenate([recent[chosen, 1:], tokens[step, :, None]], axis=1)
            elif step + 1 < steps:
                state = take_state(state, chosen)
                logits, state = runner(tokens[step, :, None], state)
    winner = scores.argmax(axis=1)  # beams are kept best first: the first beam or argmax's path
    row = base[:, 0] + winner
    ids = np.zeros((streams, steps), np.int64)
    for step in range(steps - 1, -1, -1):  # follow the back-pointers from the last step
        ids[:, step] = tokens[step, row]
        row = parents[step, row]
    return ids, scores[np.arange(streams), winner]

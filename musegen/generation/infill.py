"""`infill`: regenerate a span of a piece so that it leads into the music after it.

A continuation model reads left to right, so it cannot see what follows a
gap. `infill` asks it anyway, by sampling and scoring: it samples candidates
for the gap from the music before it (all in one batch, with any
processors), then scores each by the model's log-likelihood of the music
*after* the gap read on from the candidate, and keeps the best. The events
outside the span are the piece's own, untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import keras
import numpy as np

from musegen.events import Event, Piece
from musegen.generation import processors as _processors
from musegen.generation import samplers
from musegen.generation._clock import Clock
from musegen.generation.decoding import _DEFAULT_SAMPLER, generate
from musegen.generation.processors import BarConstraint
from musegen.generation.runner import Runner, join_states, runner_for
from musegen.generation.views import TranspositionViews
from musegen.tokens.token_table import BAR, TokenTable
from musegen.tokens.tokenizer import Tokenizer
from musegen.tokens.vocabulary import Vocabulary

__all__ = ["Infill", "infill"]

_EPS = 1e-9


@dataclass(frozen=True)
class Infill:
    """What `infill` found: the piece with its gap filled, and every candidate's score.

    Attributes:
        piece: The piece: its own events before `start` and from `end` on, the
            chosen candidate's between (cut at `end`).
        start: Where the gap begins, in quarter notes.
        end: Where it ends.
        scores: ``float [candidates]``: each candidate's log-likelihood of the
            music after the gap (nats; higher is likelier).
        chosen: The index of the candidate kept (the best score).
        candidates: Each candidate's generated ids, in the order of `scores`.
    """

    piece: Piece
    start: float
    end: float
    scores: np.ndarray
    chosen: int
    candidates: tuple[np.ndarray, ...]


def infill(
    model: keras.Model,
    tokenizer: Tokenizer,
    vocabulary: Vocabulary,
    piece: Piece,
    start: float,
    end: float,
    *,
    candidates: int = 64,
    sampler: samplers.Sampler | str | dict[str, Any] = _DEFAULT_SAMPLER,
    processors: Sequence[_processors.LogitsProcessor | str | dict[str, Any]] = (),
    seed: int | None = None,
    steps: int | None = None,
    views: TranspositionViews | None = None,
) -> Infill:
    """Fill the span `start` .. `end` (quarter notes) of `piece` with the likeliest of candidates.

    The events that start before `start` are kept as the piece has them (one
    may sound on into the gap), and so are those that start at `end` or later.
    The candidates are generated with ``generate(..., quarters=...)`` from the
    tokens of the music before the gap until they reach `end`; each is scored
    by the summed log-probability of the tokens of the music after the gap,
    read on from it.

    Args:
        model: A chunk model (``return_sequences=True``), as `generate` runs.
        tokenizer: The model's tokenizer (a single-track one, not a band's).
        vocabulary: The model's vocabulary.
        piece: The piece to fill.
        start: Where the gap begins, in quarter notes (> 0: a prime is needed).
        end: Where it ends (> `start`; music after it scores the candidates).
        candidates: How many candidates to sample, in one batch.
        sampler: As for `generate`.
        processors: Processors applied to the gap, as for `generate`.
        seed: Seed of the sampling.
        steps: The most ids a candidate may take (default: 64 per quarter note).
        views: Sample and score with the model read in several keys, as
            `generate` and `musegen.generation.beam.beam_search` do; None: the model alone.

    Raises:
        ValueError: for a bad span, nothing before or after it, a band's
            tokenizer, or a window model.

    Examples:
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> from musegen.training.model import build_lstm
        >>> tokenizer = NoteTokenizer()
        >>> piece = Piece(tuple(Event(i, 1, (60 + i % 5,)) for i in range(12)))
        >>> vocab = tokenizer.build_vocabulary([piece])
        >>> model = build_lstm(len(vocab), units=(8,), embedding_dim=4)
        >>> filled = infill(model, tokenizer, vocab, piece, 4, 8, candidates=4, seed=0)
        >>> filled.scores.shape, filled.piece.events[:4] == piece.events[:4]
        ((4,), True)
    """
    if hasattr(tokenizer, "decode_score"):
        raise ValueError("infill fills a single-track piece: a band's tokenizer is not supported")
    if not 0 < start < end:
        raise ValueError(f"the gap must have 0 < start < end, got {start:g} .. {end:g}")
    if candidates < 1:
        raise ValueError(f"candidates must be >= 1, got {candidates}")
    before = piece.with_events([e for e in piece.events if e.offset < start - _EPS])
    after = piece.metre_from(end).with_events(
        [replace(e, offset=e.offset - end) for e in piece.events if e.offset >= end - _EPS]
    )
    if not before.events:
        raise ValueError(f"no music before the gap at {start:g} quarter notes to start from")
    if not after.events:
        raise ValueError(f"no music after the gap at {end:g} quarter notes to score it by")
    runner = runner_for(model, views)  # one distribution for sampling and scoring
    if not runner.chunk:
        raise ValueError("infill scores with a chunk model (return_sequences=True)")
    table = TokenTable.build(tokenizer, vocabulary)
    if (table.kinds == BAR).any() and not any(isinstance(p, BarConstraint) for p in processors):
        processors = [BarConstraint(), *processors]  # the gap keeps the model's bars
    prime = vocabulary.encode(_leading_to(tokenizer, before, start), unknown="skip")
    following = vocabulary.encode(tokenizer.encode(after), unknown="skip")
    if not prime or not following:
        raise ValueError("the music before or after the gap has no token of the vocabulary")
    zero = float(Clock(table).run(np.asarray([prime])).time[0])  # the gap's start, in tokens
    rows = generate(
        runner, prime, steps, sampler, processors=processors, table=table, seed=seed,
        batch_size=candidates, quarters=end - start,
    )  # fmt: skip
    found = tuple(row[row != Vocabulary.pad_id] for row in rows)
    scores = _score_after(runner, prime, found, following)
    chosen = int(np.argmax(scores))
    gap = _decoded_gap(tokenizer, vocabulary, prime, found[chosen], start - zero, start, end)
    kept = [e for e in piece.events if e.offset < start - _EPS or e.offset >= end - _EPS]
    return Infill(piece.with_events([*kept, *gap]), start, end, scores, chosen, found)


def _score_after(
    runner: Runner,
    prime: Sequence[int],
    candidates: Sequence[np.ndarray],
    following: Sequence[int],
) -> np.ndarray:
    """Per candidate: the summed log-probability of `following` after `prime` and it (nats).

    The prime is read once; each candidate from the prime's state; then the
    tokens that follow are read for all candidates together, one step each.

    Examples:
        >>> from musegen.training.model import build_lstm
        >>> runner = runner_for(build_lstm(6, units=(4,), embedding_dim=2))
        >>> scores = _score_after(runner, [2, 3], [np.array([4]), np.array([5, 4])], [3, 2])
        >>> scores.shape, bool((scores < 0).all())
        ((2,), True)
    """
    logits, state = runner(np.asarray([prime], dtype=np.int64))
    ends = []
    for ids in candidates:
        if len(ids):
            ends.append(runner(np.asarray([ids], dtype=np.int64), state))
        else:
            ends.append((logits, state))
    logits = np.concatenate([lg for lg, _ in ends])
    state = join_states([s for _, s in ends])
    total = np.zeros(len(candidates))
    for token in following:
        shifted = logits - logits.max(axis=1, keepdims=True)
        total += shifted[:, token] - np.log(np.exp(shifted).sum(axis=1))
        column = np.full((len(candidates), 1), token, np.int64)
        logits, state = runner(column, state)
    return total


def _leading_to(tokenizer: Tokenizer, before: Piece, start: float) -> list[str]:
    """The tokens of `before` and of the time from its last event to `start` (a rest or a step).

    The tokens of a note at `start` are left off the encoding of `before` with it.
    """
    mark = Event(start, 1.0, (60,))
    tokens = tokenizer.encode(before.with_events([*before.events, mark]))
    own = tokenizer.encode(Piece((replace(mark, offset=0.0),)))
    if getattr(tokenizer, "bars", False):  # the mark's own tokens, not its bar and metre
        own = [t for t in own if tokenizer.describe(t).kind not in ("bar", "metre")]
    return tokens[: len(tokens) - len(own)]


def _decoded_gap(
    tokenizer: Tokenizer,
    vocabulary: Vocabulary,
    prime: list[int],
    ids: np.ndarray,
    shift: float,
    start: float,
    end: float,
) -> list[Event]:
    """The candidate's events moved by `shift` to their times in the piece, within the gap."""
    whole = tokenizer.decode(vocabulary.decode([*prime, *ids.tolist()])).events
    new = whole[len(tokenizer.decode(vocabulary.decode(prime)).events) :]
    events = []
    for event in new:
        onset = event.offset + shift
        if start - _EPS <= onset < end - _EPS and event.pitches:
            events.append(replace(event, offset=onset, duration=min(event.duration, end - onset)))
    return events

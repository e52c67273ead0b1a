"""`BarConstraint`: with bar tokens, no event starts past the next bar line without its ``bar``."""

from __future__ import annotations

from typing import Any

import numpy as np

from musegen.generation._clock import Clock, Time
from musegen.generation.processors.base import BaseProcessor, forbid
from musegen.tokens.token_table import INSTRUMENT, METRE, PITCH, REST, TokenTable

__all__ = ["BarConstraint"]

_EPS = 1e-6


class BarConstraint(BaseProcessor):
    """Forbid opening an event at or past the next bar line: a ``bar`` must come first.

    A spelling with bar tokens (``NoteTokenizer(bars=True)``) moves the time to
    the bar line at each ``bar``; a model that writes more than a bar holds
    before it would make the next bar begin under notes already played. Once
    the time of a stream (its `musegen.generation._clock.Clock`) reaches the
    next bar line, only ``bar`` (or a step back, or a token that finishes the
    open event) may come. An early ``bar`` stays allowed: it ends the bar with
    a rest. Before the first ``bar`` of a stream nothing is forbidden.
    `musegen.generation.compose.compose` adds it by itself for such a vocabulary, with
    `keep_metre`: the new music stays in the metre it starts in, so that ``bars=N``
    counts bars of that metre.

    Args:
        keep_metre: Also forbid every metre id in the new music: it stays in the
            metre the prime ends in (what ``--time-signature`` asks for).

    Examples:
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["bar", "3/4", "C4", "half", "4th"])
        >>> table = TokenTable.build(NoteTokenizer(holds=True, bars=True), vocab)
        >>> bars = BarConstraint().bind(table)
        >>> ids = np.array([vocab.encode(["bar", "3/4", "C4", "half", "C4", "4th"])])
        >>> vocab.decode(np.flatnonzero(bars(np.zeros((1, len(vocab))), ids, start=6) == 0))
        ['<pad>', '<unk>', 'bar', '3/4', 'half', '4th']
    """

    needs_table = True
    hard = True

    def __init__(self, keep_metre: bool = False) -> None:
        self.keep_metre = bool(keep_metre)

    def get_config(self) -> dict[str, Any]:
        """JSON-able arguments; `from_config` rebuilds an equal processor."""
        return {"keep_metre": self.keep_metre}

    _clock: Clock | None = None
    _opening: Any = None  # [vocab]: ids that open an event
    _metre: Any = None  # [vocab]: metre ids

    def bind(self, table: TokenTable) -> BarConstraint:
        """A copy reading `table`."""
        bound = super().bind(table)
        bound._clock = Clock(table)
        kinds = table.kinds
        bound._opening = (kinds == PITCH) | (kinds == REST) | (kinds == INSTRUMENT)
        bound._metre = kinds == METRE
        return bound

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Forbid the ids that would open an event past the next bar line."""
        return self.step(logits, ids, start, self.begin(ids, start))

    def begin(self, ids: np.ndarray, start: int) -> Time:
        """Per stream: the music's time after `ids`."""
        assert self._clock is not None
        return self._clock.run(ids)

    def advance(self, state: Time, ids: np.ndarray) -> Time:
        """The time once the last id is read."""
        assert self._clock is not None
        return self._clock.advance(state, ids[:, -1])

    def take(self, state: Time, rows: np.ndarray) -> Time:
        """The states of rows `rows`."""
        return state.take(rows)

    def step(self, logits: np.ndarray, ids: np.ndarray, start: int, state: Time) -> np.ndarray:
        """`process` from the time of each stream (`state`)."""
        full = state.between & (state.time >= state.bar_at + state.bar_length - _EPS)
        if not (full.any() or self.keep_metre):
            return logits
        allowed = np.ones(logits.shape, bool)
        allowed[full] = ~self._opening
        if self.keep_metre:
            allowed[:, self._metre] = False
        return forbid(logits, allowed)

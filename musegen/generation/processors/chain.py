"""`Chain`: processors run step by step over a batch of streams, each keeping its state per stream.

`musegen.generation.decoding.generate` and `musegen.generation.beam.beam_search` build one on the
prime and then, at every step, steer the logits (``chain(logits)``) and hand
it the ids chosen (``chain.advance(ids, parents)``). A processor reads only
the last `BaseProcessor.lookback` ids and its own state (`BaseProcessor.begin`,
`advance`, `take`), so a step costs the same at the 10th and the 10,000th id;
beam search reorders the states with the beams (``parents``). A processor that
is only a callable (the `LogitsProcessor` protocol) is given every id so far.

The outcome does not depend on the processors' order: the reserved ids go
first, then the constraints (``hard``), then the others in their order, and
the processors that yield (`NoRepeatNGram`) are decided last, once, over what
all the rest leave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from musegen.generation.processors.base import BaseProcessor, LogitsProcessor, give_way

__all__ = ["Chain"]


class Chain:
    """The processors of a chain, bound to the streams of one decoding run.

    Args:
        processors: Prepared processors (`musegen.generation.processors.prepare`).
        ids: The prime, ``[batch, time]`` int ids; one row per stream (or beam).
        start: Where the generated ids begin (the prime's length).
        reserved: Ids no sampler picks: forbidden before any processor.

    Examples:
        >>> from musegen.generation.processors import NoRepeatNGram
        >>> chain = Chain([NoRepeatNGram(2)], np.array([[2, 3, 2]]), 3)
        >>> chain(np.zeros((1, 5))).tolist()  # 2 was followed by 3
        [[0.0, 0.0, 0.0, -inf, 0.0]]
        >>> chain.advance(np.array([4]))
        >>> chain(np.zeros((1, 5))).tolist()  # now 4 was never followed
        [[0.0, 0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(
        self,
        processors: Sequence[LogitsProcessor],
        ids: np.ndarray,
        start: int,
        reserved: Sequence[int] = (),
    ) -> None:
        ids = np.asarray(ids, dtype=np.int64)
        ordered = sorted(processors, key=lambda p: not getattr(p, "hard", False))
        self._yielding = [p for p in ordered if isinstance(p, BaseProcessor) and p.yields]
        self._others = [p for p in ordered if p not in self._yielding]
        self.start, self.reserved = start, tuple(reserved)
        backs = [p.lookback if isinstance(p, BaseProcessor) else None for p in self._others]
        backs += [p.lookback for p in self._yielding]
        self._keep = None if None in backs else max((b or 0 for b in backs), default=0)
        self._ids = self._window(ids)
        self._all: list[LogitsProcessor] = [*self._others, *self._yielding]
        self._states = [_begin(p, ids, start) for p in self._all]

    def _window(self, ids: np.ndarray) -> np.ndarray:
        """The ids the processors read: the last `_keep` (all when one reads all)."""
        if self._keep is None:
            return ids
        return ids[:, ids.shape[1] - min(self._keep, ids.shape[1]) :]

    def __call__(self, logits: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """New logits ``[len(rows), vocab]`` for the streams `rows` (default: all).

        A row may be left with nothing allowed (every logit ``-inf``): the
        caller decides what that means (an error, or a beam that ends).
        """
        out = np.array(logits, dtype=np.float64)
        out[:, [i for i in self.reserved if 0 <= i < out.shape[1]]] = -np.inf
        ids = self._ids if rows is None else self._ids[rows]
        banned = np.zeros(out.shape, bool) if self._yielding else None
        for processor, state in zip(self._all, self._states, strict=True):
            if not isinstance(processor, BaseProcessor):
                out = np.asarray(processor(out, ids, self.start), dtype=np.float64)
                continue
            state = state if rows is None else processor.take(state, rows)
            if banned is not None and processor.yields:  # they come last
                banned |= processor.banned(ids, self.start, out.shape[1], state)
                continue
            processor.check(out, ids)
            out = processor.step(out, ids, self.start, state)
        if banned is not None:  # one decision over what everything else leaves
            out = give_way(out, banned)
        return out

    def advance(self, chosen: np.ndarray, parents: np.ndarray | None = None) -> None:
        """Append `chosen` ``[batch]``, the next id of each row, continuing row `parents`.

        `parents` (beam search) gives for each new row the row it extends; by
        default row i extends row i.
        """
        pairs = zip(self._all, self._states, strict=True)
        if parents is not None:
            self._ids = self._ids[parents]
            pairs = zip(self._all, [_take(p, s, parents) for p, s in pairs], strict=True)
        chosen = np.asarray(chosen, dtype=np.int64)[:, None]
        self._ids = self._window(np.concatenate([self._ids, chosen], axis=1))
        self._states = [_advance(p, s, self._ids) for p, s in pairs]


def _begin(processor: LogitsProcessor, ids: np.ndarray, start: int) -> Any:
    return processor.begin(ids, start) if isinstance(processor, BaseProcessor) else None


def _take(processor: LogitsProcessor, state: Any, rows: np.ndarray) -> Any:
    return processor.take(state, rows) if isinstance(processor, BaseProcessor) else None


def _advance(processor: LogitsProcessor, state: Any, ids: np.ndarray) -> Any:
    return processor.advance(state, ids) if isinstance(processor, BaseProcessor) else None

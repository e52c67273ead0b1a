"""`NoRepeatNGram`: forbid an id that would complete an n-gram the stream already holds."""

from __future__ import annotations

from typing import Any

import numpy as np

from musegen.generation.processors.base import BaseProcessor, give_way

__all__ = ["NoRepeatNGram"]


class NoRepeatNGram(BaseProcessor):
    """No n ids in a row occur twice in one stream (the prime's ids count).

    At each step the last ``n - 1`` ids of a row are looked up among all its
    earlier runs of ``n - 1`` ids, kept as the stream grows (the state of a
    `musegen.generation.processors.chain.Chain`); the id that followed each match is
    forbidden. A row whose every allowed id would be forbidden keeps them
    (the constraint yields rather than leave nothing to pick); in a chain it
    yields to everything the rest of the chain forbids, wherever it stands.

    Args:
        n: The n-gram length, at least 1 (1 forbids any id already used).

    Examples:
        >>> import numpy as np
        >>> out = NoRepeatNGram(2)(np.zeros((1, 5)), np.array([[2, 3, 4, 2]]))
        >>> out.tolist()  # 2 was followed by 3 once: 2, 3 may not come again
        [[0.0, 0.0, 0.0, -inf, 0.0]]
    """

    yields = True

    def __init__(self, n: int = 4) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.n = int(n)
        self.lookback = self.n  # the newest n-gram; the older ones are in the state

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Set the logits of the ids that would repeat an n-gram to ``-inf``, where it can."""
        state = self.begin(ids, start)
        return give_way(logits, self.banned(ids, start, logits.shape[1], state))

    def begin(self, ids: np.ndarray, start: int) -> list[Grams]:
        """Per row, every ``n - 1`` ids so far and the ids that followed them."""
        n = self.n
        state: list[Grams] = []
        for row in np.asarray(ids).tolist():
            follow: dict[tuple[int, ...], frozenset[int]] = {}
            for j in range(len(row) - n + 1):
                gram = tuple(row[j : j + n - 1])
                follow[gram] = follow.get(gram, frozenset()) | {row[j + n - 1]}
            state.append((follow,) if follow else ())
        return state

    def advance(self, state: list[Grams], ids: np.ndarray) -> list[Grams]:
        """Add each row's newest n-gram (its last `n` ids)."""
        n = self.n
        if ids.shape[1] < n:
            return state
        return [
            _added(grams, tuple(row[:-1]), row[-1])
            for grams, row in zip(state, ids[:, -n:].tolist(), strict=True)
        ]

    def take(self, state: list[Grams], rows: np.ndarray) -> list[Grams]:
        """The tables of rows `rows` (shared, never changed in place)."""
        return [state[i] for i in np.asarray(rows).tolist()]

    def banned(self, ids: np.ndarray, start: int, vocab: int, state: list[Grams]) -> np.ndarray:
        """``bool [batch, vocab]``: the ids that would repeat an n-gram."""
        n = self.n
        banned = np.zeros((len(ids), vocab), bool)
        if ids.shape[1] < n - 1:
            return banned
        lasts = ids[:, ids.shape[1] - (n - 1) :].tolist()
        for b, (grams, last) in enumerate(zip(state, lasts, strict=True)):
            gram = tuple(last)
            follow = [x for layer in grams for x in layer.get(gram, ())]
            banned[b, follow] = True
        return banned

    def get_config(self) -> dict[str, Any]:
        """`n`."""
        return {"n": self.n}


Grams = tuple[dict[tuple[int, ...], frozenset[int]], ...]
"""One stream's n-grams: layers of ``{first n - 1 ids: the ids that followed}``, never changed
in place (beams share them), each at most half the size of the one before."""


def _added(grams: Grams, gram: tuple[int, ...], follower: int) -> Grams:
    """`grams` with `follower` after `gram`: a new layer, merged down while not smaller.

    Each n-gram is copied into a larger layer O(log length) times in all, so a
    step costs O(log length) on average.
    """
    layers = (*grams, {gram: frozenset((follower,))})
    while len(layers) > 1 and len(layers[-1]) >= len(layers[-2]):
        merged = dict(layers[-2])
        for key, follow in layers[-1].items():
            seen = merged.get(key)
            merged[key] = follow if seen is None else seen | follow
        layers = (*layers[:-2], merged)
    return layers

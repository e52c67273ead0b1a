"""`NoRepeatNGram`: forbid an id that would complete an n-gram the stream already holds."""

from __future__ import annotations

from typing import Any

import numpy as np

from musegen.processors.base import BaseProcessor, give_way

__all__ = ["NoRepeatNGram"]


class NoRepeatNGram(BaseProcessor):
    """No n ids in a row occur twice in one stream (the prime's ids count).

    At each step the last ``n - 1`` ids of a row are looked up among all its
    earlier runs of ``n - 1`` ids; the id that followed each match is
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

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Set the logits of the ids that would repeat an n-gram to ``-inf``, where it can."""
        return give_way(logits, self.banned(ids, start, logits.shape[1]))

    def banned(self, ids: np.ndarray, start: int, vocab: int) -> np.ndarray:
        """``bool [batch, vocab]``: the ids that would repeat an n-gram."""
        n, time = self.n, ids.shape[1]
        banned = np.zeros((len(ids), vocab), bool)
        if n == 1:
            np.put_along_axis(banned, ids, True, axis=1)
        elif time >= n:
            # windows[b, j] = ids[b, j : j + n - 1], for every j whose next id exists
            windows = np.lib.stride_tricks.sliding_window_view(ids[:, :-1], n - 1, axis=1)
            match = (windows == ids[:, None, time - n + 1 :]).all(axis=2)
            rows, starts = np.nonzero(match)
            banned[rows, ids[rows, starts + n - 1]] = True
        return banned

    def get_config(self) -> dict[str, Any]:
        """`n`."""
        return {"n": self.n}

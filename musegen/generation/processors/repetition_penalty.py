"""`RepetitionPenalty`: make ids played in the last few steps less likely (against loops)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from musegen.generation.processors.base import BaseProcessor
from musegen.tokens.token_table import TokenTable

__all__ = ["RepetitionPenalty"]


class RepetitionPenalty(BaseProcessor):
    """Divide the probability of every id among the last `window` ids by `penalty`.

    Each such id's logit is lowered by ``log(penalty)``, once however often it
    occurred; the sampler's softmax then renormalises. Unlike the penalty of
    text libraries (which divides positive logits and multiplies negative ones)
    this does not depend on where the logits' zero lies.

    Args:
        penalty: At least 1; 1 changes nothing.
        window: How many of the last ids count (the prime's included).
        only_pitches: Penalise only ids that carry pitches (needs a `TokenTable`):
            in a note-level spelling the duration ids recur in every event and
            are no sign of a loop.

    Examples:
        >>> import numpy as np
        >>> logits = np.log(np.array([[0.1, 0.1, 0.4, 0.4]]))
        >>> out = RepetitionPenalty(penalty=4.0, window=8)(logits, np.array([[2, 2, 2]]))
        >>> np.exp(out - np.logaddexp.reduce(out, axis=1, keepdims=True)).round(3).tolist()
        [[0.143, 0.143, 0.143, 0.571]]
    """

    def __init__(self, penalty: float = 1.5, window: int = 32, only_pitches: bool = False) -> None:
        if not 1 <= penalty < math.inf:
            raise ValueError(f"penalty must be finite and >= 1, got {penalty}")
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.penalty = float(penalty)
        self.window = int(window)
        self.lookback = self.window
        self.only_pitches = bool(only_pitches)
        self.needs_table = self.only_pitches

    def bind(self, table: TokenTable) -> RepetitionPenalty:
        """A copy reading `table`, with which ids carry pitches found once."""
        bound = super().bind(table)
        bound._penalised = table.pitches.any(axis=1) if self.only_pitches else None
        return bound

    _penalised: Any = None

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Lower the logits of the ids among the last `window` of each row."""
        recent = ids[:, -self.window :]
        seen = np.zeros(logits.shape, bool)
        np.put_along_axis(seen, recent, True, axis=1)
        if self._penalised is not None:
            seen &= self._penalised
        logits[seen] -= math.log(self.penalty)
        return logits

    def get_config(self) -> dict[str, Any]:
        """`penalty`, `window` and `only_pitches`."""
        return {"penalty": self.penalty, "window": self.window, "only_pitches": self.only_pitches}

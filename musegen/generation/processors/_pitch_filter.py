"""`PitchFilter`: the shared body of the constraints that allow some pitches only."""

from __future__ import annotations

from typing import Any

import numpy as np

from musegen.generation.processors.base import BaseProcessor, forbid
from musegen.tokens.token_table import TokenTable


class PitchFilter(BaseProcessor):
    """Forbid every id carrying a pitch outside `allowed_pitches` (rests and others stay)."""

    needs_table = True
    hard = True
    lookback = 0
    _allowed: Any = None

    def allowed_pitches(self) -> np.ndarray:
        """``bool [128]``: the MIDI pitches allowed."""
        raise NotImplementedError(f"{type(self).__name__} must implement allowed_pitches()")

    def bind(self, table: TokenTable) -> Any:
        """A copy reading `table`, with the ids that carry a forbidden pitch found once."""
        bound = super().bind(table)
        bound._allowed = ~(table.pitches & ~self.allowed_pitches()).any(axis=1)
        return bound

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Set the logits of ids carrying a forbidden pitch to ``-inf``."""
        return forbid(logits, self._allowed)

"""`IdBias`: the shared body of the soft controls that add one fixed bias to each id."""

from __future__ import annotations

from typing import Any

import numpy as np

from musegen.generation.processors.base import BaseProcessor
from musegen.tokens.token_table import TokenTable


class IdBias(BaseProcessor):
    """Add `id_bias` of the bound table to the logits at every step (nothing is forbidden)."""

    needs_table = True
    lookback = 0
    _bias: Any = None

    def id_bias(self, table: TokenTable) -> np.ndarray:
        """``float [vocab]``: what each id of `table` gets added."""
        raise NotImplementedError(f"{type(self).__name__} must implement id_bias()")

    def bind(self, table: TokenTable) -> Any:
        """A copy reading `table`, with each id's bias computed once."""
        bound = super().bind(table)
        bound._bias = self.id_bias(table)
        return bound

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Add each id's bias."""
        return logits + self._bias

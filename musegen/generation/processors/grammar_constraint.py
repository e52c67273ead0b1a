"""`GrammarConstraint`: only ids that keep the sequence decodable (the spelling's grammar)."""

from __future__ import annotations

import numpy as np

from musegen.generation.processors.base import BaseProcessor, forbid

__all__ = ["GrammarConstraint"]


class GrammarConstraint(BaseProcessor):
    """Forbid every id that would leave a token the tokenizer skips when decoding.

    In a note-level spelling an event's pitches must rise, then come its
    duration, its velocity (when the tokenizer has velocities) and maybe a
    step (``holds=True``); a rest is followed by its duration. In the compound
    spelling every known event token is allowed. The rules are the tokenizer's
    (see `musegen.tokens.token_table`), looked up from the last two ids of each row.

    Every generated sequence then decodes with nothing skipped, except an event
    still open when the steps run out (its pitches before their duration), which
    the decoder drops.

    Examples:
        >>> import numpy as np
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> from musegen.tokens.token_table import TokenTable
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["C4", "E4", "4th", "rest"])
        >>> grammar = GrammarConstraint().bind(TokenTable.build(NoteTokenizer(), vocab))
        >>> vocab.decode(np.flatnonzero(grammar(np.zeros((1, 6)), np.array([[5]])) == 0))
        ['4th']
    """

    needs_table = True
    hard = True
    lookback = 2  # the grammar's context is the last two ids

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Set the logits of the ids the grammar does not allow next to ``-inf``."""
        assert self.table is not None
        return forbid(logits, self.table.allowed_next(ids))

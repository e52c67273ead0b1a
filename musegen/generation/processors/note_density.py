"""`NoteDensity`: a soft control biasing the rhythm toward a number of notes per quarter note."""

from __future__ import annotations

from typing import Any

import numpy as np

from musegen.generation.processors._id_bias import IdBias
from musegen.tokens.token_table import DURATION, EVENT, REST, STEP, TokenTable

__all__ = ["NoteDensity"]


class NoteDensity(IdBias):
    """Raise the ids whose lengths strike notes at the target rate, lower the others.

    A soft control in the manner of Performance RNN's note-density conditioning,
    done on the logits of a model trained without it. **Density** is onsets per
    quarter note: the times at which something new is struck, a chord (or
    held voices starting together) counting once, as a musician counts the
    rhythm, whatever the number of voices. At `target` onsets per quarter the
    time from one onset to the next is ``1 / target``, so each id that sets
    that time (a compound event, a duration, a step > 0) gets
    ``-strength * |log2(length * target)|``, less the same for the nearest
    value of its kind the vocabulary has: 0 at the note value nearest the
    target, -1 per octave of length further from it (lengths clipped to 1/8 ..
    8 quarter notes), so that durations as a whole lose nothing against the
    pitches they follow. A rest strikes nothing: its id also gets
    ``-strength * log2(1 + target)`` (the denser the target, the rarer the
    rests). Pitches, zero steps and instruments are left alone; no id is ever
    forbidden. In the ``frames`` encoding every frame is one quarter note, so
    only its rests (silent frames) move.

    Args:
        target: Onsets per quarter note, > 0: 1 for a quarter-note pulse, 2 for
            eighths, 0.5 for half notes.
        strength: How hard to push (0: not at all).

    Raises:
        ValueError: for a target that is not > 0, or a negative strength.

    Examples:
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["C4", "8th", "4th", "half", "rest"])
        >>> control = NoteDensity(2.0).bind(TokenTable.build(NoteTokenizer(), vocab))
        >>> control(np.zeros((1, 7)), np.zeros((1, 0), int)).round(2).tolist()
        [[0.0, 0.0, 0.0, 0.0, -1.0, -2.0, -1.58]]
    """

    def __init__(self, target: float, strength: float = 1.0) -> None:
        if not float(target) > 0:
            raise ValueError(f"target must be > 0 notes per quarter note, got {target}")
        if not float(strength) >= 0:
            raise ValueError(f"strength must be >= 0, got {strength}")
        self.target, self.strength = float(target), float(strength)

    def id_bias(self, table: TokenTable) -> np.ndarray:
        """``-strength`` times each timing id's octaves off ``1 / target`` and the rests' cost."""
        kinds = table.kinds
        length = np.clip(np.nan_to_num(table.durations, nan=1.0), 0.125, 8.0)
        timing = (kinds == EVENT) | (kinds == DURATION) | ((kinds == STEP) & (table.durations > 0))
        off = np.where(timing, np.abs(np.log2(length * self.target)), 0.0)
        for kind in (EVENT, DURATION, STEP):  # the nearest value the vocabulary has: 0
            group = timing & (kinds == kind)
            off[group] -= off[group].min() if group.any() else 0.0
        rests = (kinds == REST) | ((kinds == EVENT) & ~table.pitches.any(axis=1))
        off = np.where(rests, off + np.log2(1 + self.target), off)
        return -self.strength * off

    def get_config(self) -> dict[str, Any]:
        """`target` and `strength`."""
        return {"target": self.target, "strength": self.strength}

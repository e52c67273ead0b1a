"""`PitchRange`: only ids whose pitches all lie between a lowest and a highest pitch."""

from __future__ import annotations

from typing import Any

import numpy as np

from musegen.generation.processors._pitch_filter import PitchFilter
from musegen.tokens.tokenizer import Tokenizer

__all__ = ["PitchRange"]


class PitchRange(PitchFilter):
    """Forbid every id that carries a pitch below `low` or above `high` (both allowed).

    Args:
        low: The lowest pitch allowed: a MIDI number (or its digits) or a name (``"C3"``).
        high: The highest pitch allowed, likewise.

    Raises:
        ValueError: for an unreadable name, or `low` above `high`.

    Examples:
        >>> import numpy as np
        >>> from musegen.tokens.token_table import TokenTable
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["C3", "C4,G4", "C4,C6", "C7", "rest"])
        >>> keep = PitchRange("C3", "C6").bind(TokenTable.build(Tokenizer(), vocab))
        >>> vocab.decode(np.flatnonzero(keep(np.zeros((1, 7)), np.zeros((1, 0), int)) == 0)[2:])
        ['C3', 'C4,G4', 'C4,C6', 'rest']
    """

    def __init__(self, low: int | str = 0, high: int | str = 127) -> None:
        self.low, self.high = _midi(low), _midi(high)
        if self.low > self.high:
            raise ValueError(f"low ({low}) is above high ({high})")

    def allowed_pitches(self) -> np.ndarray:
        """The pitches from `low` to `high`."""
        return (np.arange(128) >= self.low) & (np.arange(128) <= self.high)

    def get_config(self) -> dict[str, Any]:
        """`low` and `high` as MIDI numbers."""
        return {"low": self.low, "high": self.high}


def _midi(pitch: int | str) -> int:
    if isinstance(pitch, str) and pitch.strip().isdigit():  # "48", as a command line gives it
        pitch = int(pitch)
    if isinstance(pitch, str):
        try:
            (number,) = Tokenizer().text_to_pitches(pitch.strip())
        except (ValueError, KeyError) as error:
            raise ValueError(f"cannot read pitch {pitch!r}: {error}") from None
        return number
    if not 0 <= int(pitch) <= 127:
        raise ValueError(f"a MIDI pitch is 0..127, got {pitch}")
    return int(pitch)

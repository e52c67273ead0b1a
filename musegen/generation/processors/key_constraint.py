"""`KeyConstraint`: only ids whose pitches all lie in a key (rests and other ids stay allowed)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from musegen.generation.processors._pitch_filter import PitchFilter
from musegen.keys import scale

__all__ = ["KeyConstraint"]


class KeyConstraint(PitchFilter):
    """Forbid every id that carries a pitch outside the key: a note, or a chord with one.

    Args:
        key: A key name for `musegen.keys.scale` (``"D minor"``, ``"F# major"``,
            ``"A harmonic minor"``), or None to give `pitch_classes`.
        pitch_classes: The allowed pitch classes (0 = C), instead of a key.

    Raises:
        ValueError: for an unknown key, or neither / both of `key` and `pitch_classes`.

    Examples:
        >>> import numpy as np
        >>> from musegen.tokens.tokenizer import Tokenizer
        >>> from musegen.tokens.token_table import TokenTable
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["C4", "C#4", "C4,E4", "C4,E-4", "rest"])
        >>> key = KeyConstraint("C major").bind(TokenTable.build(Tokenizer(), vocab))
        >>> vocab.decode(np.flatnonzero(key(np.zeros((1, 7)), np.zeros((1, 0), int)) == 0))
        ['<pad>', '<unk>', 'C4', 'C4,E4', 'rest']
    """

    def __init__(self, key: str | None = None, pitch_classes: Iterable[int] | None = None) -> None:
        if (key is None) == (pitch_classes is None):
            raise ValueError("give a key (e.g. 'D minor') or pitch_classes, not both")
        self.key = key
        classes = (
            scale(key) if key is not None else frozenset(int(pc) for pc in pitch_classes or ())
        )
        if not classes or not classes <= set(range(12)):
            raise ValueError(f"pitch classes must be some of 0..11, got {sorted(classes)}")
        self.pitch_classes = tuple(sorted(classes))

    def allowed_pitches(self) -> np.ndarray:
        """The pitches whose class is in the key."""
        return np.isin(np.arange(128) % 12, self.pitch_classes)

    def get_config(self) -> dict[str, Any]:
        """The key, or the pitch classes."""
        if self.key is not None:
            return {"key": self.key}
        return {"pitch_classes": list(self.pitch_classes)}

"""`PitchClassHistogram`: a soft control biasing pitches toward a target pitch-class histogram."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from musegen.generation.processors._id_bias import IdBias
from musegen.keys import scale
from musegen.tokens.token_table import TokenTable

__all__ = ["PitchClassHistogram"]


class PitchClassHistogram(IdBias):
    """Raise the logits of pitches whose class the target holds often, lower the others.

    A soft control in the manner of Performance RNN's pitch-class conditioning,
    done on the logits of a model trained without it: each id carrying pitches
    gets ``strength * mean(log(12 * target[pc]))`` over its pitches' classes
    (a uniform target changes nothing); ids without pitches are left alone.
    Strength 1 multiplies each pitch's probability by 12 times its class's
    share, which turns a model indifferent to pitch classes into one playing
    the target; from 0 to 1 the generated histogram moves toward the target,
    and past 1 it sharpens toward the target's most frequent classes. No id is
    ever forbidden.

    Args:
        target: 12 non-negative weights, C to B (normalised here), e.g. a
            piece's `musegen.evaluation.metrics.pitch_class_histogram`.
        strength: How hard to push (0: not at all).
        floor: The smallest share a pitch class counts as (so that a class the
            target lacks is lowered, not forbidden).

    Raises:
        ValueError: for a target that is not 12 non-negative weights with a
            positive sum, or a negative strength.

    Examples:
        >>> import numpy as np
        >>> from musegen.tokens.tokenizer import Tokenizer
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["C4", "C#4", "rest"])
        >>> major = [1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1]
        >>> control = PitchClassHistogram(major, strength=1.0).bind(
        ...     TokenTable.build(Tokenizer(), vocab))
        >>> control(np.zeros((1, 5)), np.zeros((1, 0), int)).round(2).tolist()
        [[0.0, 0.0, 0.54, -2.12, 0.0]]
    """

    def __init__(self, target: Sequence[float], strength: float = 1.0, floor: float = 0.01) -> None:
        weights = np.asarray(target, dtype=np.float64).reshape(-1)
        if weights.shape != (12,) or (weights < 0).any() or not weights.sum() > 0:
            raise ValueError(
                "target must be 12 non-negative weights (C to B) with a positive sum, "
                f"got {target!r}"
            )
        if not strength >= 0:
            raise ValueError(f"strength must be >= 0, got {strength}")
        if not 0 < floor < 1:
            raise ValueError(f"floor must lie in (0, 1), got {floor}")
        self.target = tuple(float(w) for w in weights / weights.sum())
        self.strength = float(strength)
        self.floor = float(floor)

    @classmethod
    def of_key(cls, key: str, strength: float = 1.0) -> PitchClassHistogram:
        """A pull toward the pitch classes of `key`'s scale, the others lowered alike.

        `musegen generate` leans a model read in several keys toward its prime's
        key with it (``--key-strength``, docs/steering.md).

        Examples:
            >>> [round(w, 3) for w in PitchClassHistogram.of_key("G major").target][5:8]
            [0.0, 0.143, 0.143]
        """
        classes = scale(key)
        return cls([1.0 if pc in classes else 0.0 for pc in range(12)], strength)

    def id_bias(self, table: TokenTable) -> np.ndarray:
        """Each id's mean ``strength * log(12 * share)`` over its pitches' classes; 0 without."""
        share = np.log(12 * np.maximum(np.asarray(self.target), self.floor))  # [12]
        per_pitch = share[np.arange(128) % 12]
        counts = table.pitches.sum(axis=1)
        sums = table.pitches.astype(np.float64) @ per_pitch
        return self.strength * np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)

    def get_config(self) -> dict[str, Any]:
        """`target`, `strength` and `floor`."""
        return {"target": list(self.target), "strength": self.strength, "floor": self.floor}

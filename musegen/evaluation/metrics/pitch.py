"""Pitch metrics of one piece: range, pitch classes, entropy, key.

Each is a plain function ``metric(piece) -> float`` (NaN when undefined);
every pitch of a chord counts as one note and rests are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from musegen.events import Piece
from musegen.keys import SCALES, scale

__all__ = [
    "in_key_share",
    "n_pitch_classes_used",
    "pitch_class_entropy",
    "pitch_range",
    "scale_consistency",
]

_EPS = 1e-9


def _pitches(piece: Piece) -> list[int]:
    return [p for event in piece.notes for p in event.pitches]


def _pitch_class_counts(pitches: Iterable[int]) -> np.ndarray:
    return np.bincount([p % 12 for p in pitches], minlength=12).astype(float)


def _entropy_bits(counts: np.ndarray) -> float:
    prob = counts[counts > 0] / counts.sum()
    return float(-(prob * np.log2(prob)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


def pitch_range(piece: Piece) -> float:
    """Distance in semitones from the lowest to the highest pitch.

    ``pitch_range = max(pitch) - min(pitch)``, in 0..127; NaN when no note sounds.

    Examples:
        >>> from musegen.events import Event
        >>> pitch_range(Piece((Event(0, 1, (60, 64)), Event(1, 1, (72,)))))
        12.0
    """
    pitches = _pitches(piece)
    return float(max(pitches) - min(pitches)) if pitches else math.nan


def n_pitch_classes_used(piece: Piece) -> float:
    """Number of distinct pitch classes (C, C#, ..., B) that sound.

    ``#{pitch mod 12}``, in 1..12; NaN when no note sounds.

    Examples:
        >>> from musegen.events import Event
        >>> n_pitch_classes_used(Piece((Event(0, 1, (60, 72)), Event(1, 1, (67,)))))
        2.0
    """
    pitches = _pitches(piece)
    return float(len({p % 12 for p in pitches})) if pitches else math.nan


def pitch_class_entropy(piece: Piece) -> float:
    """Shannon entropy, in bits, of the piece's pitch-class histogram.

    ``-sum_c P(c) log2 P(c)`` over the 12 pitch classes, each note (every pitch
    of a chord) counting once. In 0..log2(12) (about 3.585): 0 when one pitch
    class is used, log2(12) when all twelve are used equally. NaN when no note sounds.

    Examples:
        >>> from musegen.events import Event
        >>> pitch_class_entropy(Piece((Event(0, 1, (60,)), Event(1, 1, (62,)))))
        1.0
    """
    pitches = _pitches(piece)
    return _entropy_bits(_pitch_class_counts(pitches)) if pitches else math.nan


def scale_consistency(piece: Piece) -> float:
    """Share of notes in the best-fitting major or minor scale.

    ``max over the 24 major and natural-minor scales S of #(notes in S) / #(notes)``,
    in 0..1 (in practice at least 7/12 or so); NaN when no note sounds.

    Examples:
        >>> from musegen.events import Event
        >>> scale_consistency(Piece((Event(0, 1, (60, 61, 62)),)))  # no scale holds C, C# and D
        0.6666666666666666
    """
    pitches = _pitches(piece)
    if not pitches:
        return math.nan
    counts = _pitch_class_counts(pitches)
    return float((SCALES @ counts).max() / counts.sum())


def in_key_share(piece: Piece, key: str) -> float:
    """Share of notes whose pitch class belongs to `key` (a `musegen.keys.scale` name).

    ``#(notes in the key) / #(notes)``, in 0..1; NaN when no note sounds. Unlike
    `scale_consistency` the key is given, not the best-fitting one.

    Examples:
        >>> from musegen.events import Event
        >>> in_key_share(Piece((Event(0, 1, (62, 65, 69)), Event(1, 1, (61,)))), "D minor")
        0.75
    """
    pitches = _pitches(piece)
    if not pitches:
        return math.nan
    allowed = scale(key)
    return sum(p % 12 in allowed for p in pitches) / len(pitches)

"""Histograms over sets of pieces, and the Jensen-Shannon distance between two of them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from musegen.evaluation.metrics.metre import bar_position_histogram
from musegen.evaluation.metrics.pitch import _pitch_class_counts, _pitches
from musegen.events import Piece

__all__ = [
    "DURATION_EDGES",
    "HISTOGRAMS",
    "duration_histogram",
    "interval_histogram",
    "jensen_shannon",
    "pitch_class_histogram",
    "velocity_histogram",
]

DURATION_EDGES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, math.inf)
"""Bin edges, in quarter lengths, of `duration_histogram`: bin ``i`` is ``[edge i, edge i+1)``."""


def pitch_class_histogram(pieces: Iterable[Piece]) -> np.ndarray:
    """Count of notes per pitch class (index 0 is C) over all `pieces`, shape (12,).

    Examples:
        >>> from musegen.events import Event
        >>> pitch_class_histogram([Piece((Event(0, 1, (60, 64, 72)),))])[[0, 4]]
        array([2., 1.])
    """
    return _pitch_class_counts(p for piece in pieces for p in _pitches(piece))


def duration_histogram(pieces: Iterable[Piece]) -> np.ndarray:
    """Count of notes and chords per duration bin (`DURATION_EDGES`), shape (9,).

    Examples:
        >>> from musegen.events import Event
        >>> duration_histogram([Piece((Event(0, 0.5, (60,)), Event(1, 1, (62,))))])[:5]
        array([0., 0., 1., 0., 1.])
    """
    durations = [e.duration for piece in pieces for e in piece.notes]
    return np.histogram(durations, bins=DURATION_EDGES)[0].astype(float)


def velocity_histogram(pieces: Iterable[Piece]) -> np.ndarray:
    """Count of notes and chords per velocity bin of width 16 (0-15, ..., 112-127), shape (8,).

    Examples:
        >>> from musegen.events import Event
        >>> velocity_histogram([Piece((Event(0, 1, (60,), 81),))])
        array([0., 0., 0., 0., 0., 1., 0., 0.])
    """
    velocities = [e.velocity for piece in pieces for e in piece.notes]
    return np.bincount(np.array(velocities, dtype=int) // 16, minlength=8).astype(float)


def interval_histogram(pieces: Iterable[Piece]) -> np.ndarray:
    """Count of melodic intervals per size, -12..+12 semitones, shape (25,).

    The interval is taken between the top pitches of consecutive notes or chords
    (rests skipped); leaps beyond an octave count as +-12. Index 12 is the unison.

    Examples:
        >>> from musegen.events import Event
        >>> hist = interval_histogram([Piece((Event(0, 1, (60,)), Event(1, 1, (64,))))])
        >>> int(hist[12 + 4])
        1
    """
    steps = [np.diff([e.pitches[-1] for e in piece.notes]) for piece in pieces]
    leaps = np.clip(np.concatenate([np.zeros(0), *steps]), -12, 12).astype(int)
    return np.bincount(leaps + 12, minlength=25).astype(float)


HISTOGRAMS: dict[str, Callable[[Iterable[Piece]], np.ndarray]] = {
    "pitch_class": pitch_class_histogram,
    "duration": duration_histogram,
    "velocity": velocity_histogram,
    "interval": interval_histogram,
    "bar_position": bar_position_histogram,
}
"""The histograms `evaluate` compares with a reference set (as ``js_<name>`` rows)."""


def jensen_shannon(p: Sequence[float] | np.ndarray, q: Sequence[float] | np.ndarray) -> float:
    """Jensen-Shannon distance between two histograms (normalised here to sum to 1).

    With ``M = (P + Q) / 2`` and ``KL`` in bits,
    ``JS(P, Q) = sqrt((KL(P || M) + KL(Q || M)) / 2)``. Symmetric, in 0..1: 0 for
    histograms of the same shape, 1 for ones with no bin in common. NaN when
    either histogram is all zeros.

    Raises:
        ValueError: the histograms differ in length or hold a negative count.

    Examples:
        >>> jensen_shannon([1, 1], [2, 2])
        0.0
        >>> jensen_shannon([1, 0], [0, 1])
        1.0
    """
    a, b = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"histograms differ in shape: {a.shape} and {b.shape}")
    if (a < 0).any() or (b < 0).any():
        raise ValueError("histograms must not hold negative counts")
    if a.sum() <= 0 or b.sum() <= 0:
        return math.nan
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: np.ndarray) -> float:
        mask = x > 0
        return float((x[mask] * np.log2(x[mask] / m[mask])).sum())

    divergence = (kl(a) + kl(b)) / 2
    return math.sqrt(min(1.0, max(0.0, divergence)))

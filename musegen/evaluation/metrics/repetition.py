"""Repetition metrics of one piece: repeated n-grams of events, the longest repeat."""

from __future__ import annotations

import math

import numpy as np

from musegen.events import Piece

__all__ = ["longest_repeat", "repetition_rate"]


def _event_ids(piece: Piece) -> np.ndarray:
    """One integer per event; equal ids for equal (pitches, duration), rests included."""
    ids: dict[tuple[tuple[int, ...], float], int] = {}
    keys = [(e.pitches, round(e.duration, 6)) for e in piece.events]
    return np.array([ids.setdefault(key, len(ids)) for key in keys], dtype=np.int64)


def _n_distinct_windows(ids: np.ndarray, n: int) -> tuple[int, int]:
    """(number of length-`n` windows, number of distinct ones)."""
    windows = np.lib.stride_tricks.sliding_window_view(ids, n)
    return len(windows), len({w.tobytes() for w in windows})


def repetition_rate(piece: Piece, n: int = 4) -> float:
    """Share of the piece's n-grams of events that already occurred earlier in it.

    Events are compared by pitches and duration (rests included, velocity
    ignored). With ``N`` n-grams of which ``D`` are distinct,
    ``repetition_rate = (N - D) / N``, in 0..1: 0 when no n-gram repeats, close
    to 1 for a piece that loops one short phrase. NaN when the piece has fewer
    than `n` events.

    Args:
        piece: The piece.
        n: Length of the n-grams, in events.

    Examples:
        >>> from musegen.events import Event
        >>> loop = Piece(tuple(Event(i, 1, (60 + i % 2,)) for i in range(10)))  # C C# C C# ...
        >>> repetition_rate(loop, n=2)  # 9 bigrams, 2 distinct
        0.7777777777777778
    """
    if n < 1:
        raise ValueError(f"repetition_rate needs n >= 1, got {n}")
    ids = _event_ids(piece)
    if len(ids) < n:
        return math.nan
    total, distinct = _n_distinct_windows(ids, n)
    return (total - distinct) / total


def longest_repeat(piece: Piece) -> float:
    """Length, in events, of the longest run of events that occurs twice in the piece.

    Events are compared by pitches and duration (rests included, velocity
    ignored); the two occurrences may overlap, so a phrase of ``p`` events
    played ``k`` times in a row gives ``(k - 1) * p``. In 0..(#events - 1): 0
    when no event repeats. NaN when the piece has no events.

    Examples:
        >>> from musegen.events import Event
        >>> riff = [(60,), (64,), (67,)] * 3  # C E G played three times
        >>> longest_repeat(Piece(tuple(Event(i, 1, p) for i, p in enumerate(riff))))
        6.0
    """
    ids = _event_ids(piece)
    if len(ids) == 0:
        return math.nan
    # A run of length L repeats => its prefix of length L - 1 repeats: binary search on L.
    low, high = 0, len(ids) - 1
    while low < high:
        mid = (low + high + 1) // 2
        total, distinct = _n_distinct_windows(ids, mid)
        if distinct < total:
            low = mid
        else:
            high = mid - 1
    return float(low)

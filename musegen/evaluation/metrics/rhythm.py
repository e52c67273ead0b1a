"""Texture and time metrics of one piece: polyphony, empty beats."""

from __future__ import annotations

import math

import numpy as np

from musegen.evaluation.metrics.pitch import _EPS
from musegen.events import Piece

__all__ = ["empty_beat_rate", "polyphony"]


def polyphony(piece: Piece) -> float:
    """Mean number of distinct pitches that start together.

    ``#(pitches starting at each onset) / #(onsets)``, over the onsets at which
    at least one pitch starts; in 1..128: 1 for a melody, 3 for a sequence of
    triads. Held notes are not counted again at later onsets. NaN when no note sounds.

    Examples:
        >>> from musegen.events import Event
        >>> polyphony(Piece((Event(0, 1, (60, 64, 67)), Event(1, 1, (62,)))))
        2.0
    """
    onsets: dict[float, set[int]] = {}
    for event in piece.notes:
        onsets.setdefault(round(event.offset, 6), set()).update(event.pitches)
    if not onsets:
        return math.nan
    return float(np.mean([len(pitches) for pitches in onsets.values()]))


def empty_beat_rate(piece: Piece) -> float:
    """Share of beats in which no note sounds.

    A beat is one quarter length: beat ``i`` spans ``[i, i + 1)``, and the piece
    has ``ceil(piece.duration)`` beats (trailing rests count). A beat is empty
    when no note overlaps it. ``#(empty beats) / #(beats)``, in 0..1; NaN when
    the piece has no length.

    Examples:
        >>> from musegen.events import Event
        >>> empty_beat_rate(Piece((Event(0, 1, (60,)), Event(1, 3), Event(4, 1, (62,)))))
        0.6
    """
    n_beats = math.ceil(piece.duration - _EPS)
    if n_beats <= 0:
        return math.nan
    sounding = np.zeros(n_beats, dtype=bool)
    for event in piece.notes:
        start = math.floor(event.offset + _EPS)
        stop = max(start + 1, math.ceil(event.end - _EPS))
        sounding[start:stop] = True
    return float(1.0 - sounding.mean())

"""Metrics that read the metre: where notes fall in their bar, and how alike bars are.

Every function reads the piece's own bar lines (`Piece.bar_lines`: its time
signature, metre changes and pickup), never an assumed 4/4. A position in a bar
is the onset minus the bar line before it; a note before the first bar line (in
the pickup) is placed where it falls in the full bar before that line: the bar's
length minus the time left to the line. A piece whose metre cannot be read
gives NaN (and is left out of `bar_position_histogram`).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable

import numpy as np

from musegen._metre import bar_length, parse_time_signature
from musegen.events import Piece

__all__ = [
    "BAR_POSITION_BINS",
    "bar_position_histogram",
    "groove_consistency",
    "strong_beat_long_notes",
]

BAR_POSITION_BINS = 24
"""Sixteenth-note bins of `bar_position_histogram` (6 quarter notes, the bar of 12/8 or 6/4):
every metre shares the same bins, so a 3/4 piece fills bins 0-11 and a 4/4 one 0-15."""

_TOLERANCE = 1e-6
_STEPS_PER_QUARTER = 4  # sixteenth notes


class _Bars:
    """A piece's bars: the bar lines up to its end, each with its metre's bar length."""

    def __init__(self, piece: Piece) -> None:
        self.pickup = float(piece.pickup)
        last_onset = max((e.offset for e in piece.events), default=0.0)
        end = max(piece.duration, last_onset + _TOLERANCE)  # a line at the last onset counts
        self.lines = piece.bar_lines(end)
        metres = [(0.0, piece.time_signature)]
        metres += [(float(at), text) for at, text in piece.time_signature_changes if at > 0]
        self._metre_starts = [at for at, _ in metres]
        self._metres = [text for _, text in metres]
        self._lengths = {text: bar_length(text) for text in self._metres}  # ValueError: unread
        self.end = piece.duration

    def metre_at(self, offset: float) -> str:
        """The time signature in force at `offset`."""
        index = bisect.bisect_right(self._metre_starts, offset + _TOLERANCE) - 1
        return self._metres[max(index, 0)]

    def nominal(self, offset: float) -> float:
        """Quarter notes in a full bar of the metre in force at `offset`."""
        return self._lengths[self.metre_at(offset)]

    def locate(self, offset: float) -> tuple[float, float]:
        """(bar line at or before `offset`, position of `offset` in that bar).

        Before the first bar line, the bar line is the first one minus a full bar.
        """
        index = bisect.bisect_right(self.lines, offset + _TOLERANCE) - 1
        if index >= 0:
            return self.lines[index], offset - self.lines[index]
        first = self.lines[0] if self.lines else self.pickup
        full = self.nominal(0.0)
        position = (full - (first - offset)) % full
        if position > full - _TOLERANCE:
            position = 0.0
        return first - full, position

    def spans(self) -> list[tuple[float, float, float]]:
        """Each bar as (offset its notes start from, grid length in quarters, grid origin).

        A pickup is a bar of its own, aligned to the end of its full bar. A bar cut
        short by a metre change is as long as it lasts; others, the last included,
        are as long as their metre's bar.
        """
        spans: list[tuple[float, float, float]] = []
        first = self.lines[0] if self.lines else self.pickup
        if first > _TOLERANCE:
            full = self.nominal(0.0)
            spans.append((0.0, full, first - full))
        for i, line in enumerate(self.lines):
            length = self.nominal(line)
            if i + 1 < len(self.lines):
                length = min(length, self.lines[i + 1] - line)
            spans.append((line, length, line))
        return spans


def _bars(piece: Piece) -> _Bars | None:
    try:
        return _Bars(piece)
    except ValueError:  # a time signature bar_length cannot read
        return None


def _normalized(time_signature: str) -> str | None:
    """``N/D``, also for a metre music21 names otherwise (``C`` is 4/4, ``C|`` 2/2)."""
    try:
        return parse_time_signature(time_signature)
    except ValueError:
        pass
    try:
        from music21 import meter

        return parse_time_signature(meter.TimeSignature(time_signature).ratioString)
    except Exception:  # music21 raises several kinds for text it cannot read
        return None


def _numerator(time_signature: str) -> int | None:
    text = _normalized(time_signature)
    return None if text is None else int(text.partition("/")[0])


def _step(position: float) -> int:
    return math.floor(position * _STEPS_PER_QUARTER + _TOLERANCE)


def bar_position_histogram(pieces: Iterable[Piece]) -> np.ndarray:
    """Share of note onsets per position in their bar, in sixteenth notes, shape (24,).

    One count per note or chord (rests left out) at bin
    ``floor(4 * (onset - bar line before it))``; a note in the pickup counts at
    ``bar length - (first bar line - onset)``. The bins (`BAR_POSITION_BINS`) are
    the same for every metre, so a 3/4 piece fills bins 0-11 and a 4/4 one 0-15;
    a position past the last bin (bars longer than 6 quarter notes) counts in
    it. Normalized to sum to 1 over all `pieces`; all zeros when no note sounds
    (`jensen_shannon` then gives NaN). Pieces whose metre cannot be read are
    left out.

    Examples:
        >>> from musegen.events import Event
        >>> waltz = Piece((Event(0, 1, (60,)), Event(1, 1, (64,)), Event(2, 1, (67,))),
        ...               time_signature="3/4", pickup=1.0)
        >>> hist = bar_position_histogram([waltz])
        >>> [int(i) for i in np.flatnonzero(hist)], float(hist.sum())
        ([0, 4, 8], 1.0)
    """
    counts = np.zeros(BAR_POSITION_BINS)
    for piece in pieces:
        notes = piece.notes
        bars = _bars(piece) if notes else None
        if bars is None:
            continue
        for event in notes:
            _, position = bars.locate(event.offset)
            counts[min(max(_step(position), 0), BAR_POSITION_BINS - 1)] += 1
    total = counts.sum()
    return counts / total if total > 0 else counts


def strong_beat_long_notes(piece: Piece, min_length: float = 2.0) -> float:
    """Share of long notes that start on a strong beat of their bar.

    ``#(notes of at least min_length quarters on a strong beat) / #(notes of at
    least min_length quarters)``, counting a chord as one note, in 0..1. The
    strong beats are the bar line and, for metres whose numerator is 4, 6 or
    12, the middle of the bar (4/4: beats 1 and 3; 6/8: 0 and 1.5 quarters;
    12/8: 0 and 3); 2/2 has beats 1 and 2 (0 and 2 quarters); 3/4, 2/4, 3/8 and
    the others only the downbeat. Within 1e-6 quarters. NaN when the piece
    has no such note or its metre cannot be read.

    Args:
        piece: The piece.
        min_length: Shortest duration, in quarter notes, of a long note.

    Examples:
        >>> from musegen.events import Event
        >>> halves = Piece(tuple(Event(t, 2, (60,)) for t in (0, 2, 5)))
        >>> round(strong_beat_long_notes(halves), 3)  # beats 1 and 3 of bar 1; beat 2 of bar 2
        0.667
    """
    long_notes = [e for e in piece.notes if e.duration >= min_length - _TOLERANCE]
    bars = _bars(piece) if long_notes else None
    if bars is None:
        return math.nan
    strong = 0
    for event in long_notes:
        line, position = bars.locate(event.offset)
        metre = bars.metre_at(max(line, 0.0))
        beats = [0.0]
        if _numerator(metre) in (4, 6, 12) or _normalized(metre) == "2/2":
            beats.append(bars.nominal(max(line, 0.0)) / 2)
        strong += any(abs(position - beat) <= _TOLERANCE for beat in beats)
    return strong / len(long_notes)


def groove_consistency(piece: Piece) -> float:
    """One minus the mean Hamming distance between the onset grids of consecutive bars.

    As MusPy's ``groove_consistency`` (Wu and Yang, ISMIR 2020), but with the
    piece's own bars: each bar's grid has a cell per sixteenth note, set when a
    note or chord starts in it. ``1 - mean_i d(G_i, G_i+1)``, where ``d`` is the
    number of differing cells over the grid length; bars of different lengths
    are compared over the longer grid (the shorter padded with empty cells). A
    pickup is a bar of its own, its notes at their places in the full bar; the
    bars run to the end of the piece (empty ones and the last, partial one
    included), each as long as its metre's bar unless a metre change cuts it
    short. In 0..1: 1 when every bar has the same onsets. NaN with fewer than
    two bars, no note, or a metre that cannot be read.

    Examples:
        >>> from musegen.events import Event
        >>> quarters = Piece(tuple(Event(t, 1, (60,)) for t in range(8)))
        >>> groove_consistency(quarters)
        1.0
        >>> groove_consistency(quarters.with_events([Event(t, 1, (60,)) for t in range(6)]))
        0.875
    """
    bars = _bars(piece)
    if bars is None or not piece.notes:  # no onset, no groove
        return math.nan
    spans = bars.spans()
    if len(spans) < 2:
        return math.nan
    grids = [np.zeros(max(1, _step(length)), dtype=bool) for _, length, _ in spans]
    begins = [begin for begin, _, _ in spans]
    origins = [origin for _, _, origin in spans]
    for event in piece.notes:
        index = max(bisect.bisect_right(begins, event.offset + _TOLERANCE) - 1, 0)
        grid = grids[index]
        grid[min(max(_step(event.offset - origins[index]), 0), len(grid) - 1)] = True
    distances = []
    for a, b in itertools.pairwise(grids):
        width = max(len(a), len(b))
        padded_a = np.pad(a, (0, width - len(a)))
        padded_b = np.pad(b, (0, width - len(b)))
        distances.append(np.count_nonzero(padded_a != padded_b) / width)
    return float(1.0 - np.mean(distances))

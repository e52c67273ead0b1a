"""Objective metrics for pieces, and distances between sets of pieces.

Each metric is a plain function ``metric(piece) -> float`` (modelled on MusPy's):
its docstring states the formula, the range, and when it is undefined, in which
case it returns NaN rather than raising. Pitch metrics count every pitch of a
chord as one note and leave rests out.

`evaluate` averages the metrics over a set of pieces and, given a reference set,
adds the Jensen-Shannon distance between their histograms of pitch classes,
durations, velocities and melodic intervals; `compare` puts several sets side
by side in one table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from musegen.events import Piece
from musegen.keys import SCALES, scale

__all__ = [
    "DURATION_EDGES",
    "HISTOGRAMS",
    "METRICS",
    "Comparison",
    "EvaluationTable",
    "Stat",
    "compare",
    "duration_histogram",
    "empty_beat_rate",
    "evaluate",
    "in_key_share",
    "interval_histogram",
    "jensen_shannon",
    "longest_repeat",
    "n_pitch_classes_used",
    "pitch_class_entropy",
    "pitch_class_histogram",
    "pitch_range",
    "polyphony",
    "repetition_rate",
    "scale_consistency",
    "velocity_histogram",
]

_EPS = 1e-9


def _pitches(piece: Piece) -> list[int]:
    return [p for event in piece.notes for p in event.pitches]


def _pitch_class_counts(pitches: Iterable[int]) -> np.ndarray:
    return np.bincount([p % 12 for p in pitches], minlength=12).astype(float)


def _entropy_bits(counts: np.ndarray) -> float:
    prob = counts[counts > 0] / counts.sum()
    return float(-(prob * np.log2(prob)).sum()) + 0.0  # + 0.0 turns -0.0 into 0.0


# --------------------------------------------------------------------------- metrics


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


METRICS: dict[str, Callable[[Piece], float]] = {
    "pitch_range": pitch_range,
    "n_pitch_classes_used": n_pitch_classes_used,
    "pitch_class_entropy": pitch_class_entropy,
    "scale_consistency": scale_consistency,
    "polyphony": polyphony,
    "empty_beat_rate": empty_beat_rate,
    "repetition_rate": repetition_rate,
    "longest_repeat": longest_repeat,
}
"""The metrics `evaluate` reports by default, by name, in table order."""

# ------------------------------------------------------------------------- histograms

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


# ----------------------------------------------------------------------------- tables


class Stat(NamedTuple):
    """Mean and (population) standard deviation of a metric over pieces.

    A distance between two sets is one number: its `std` is NaN.

    Examples:
        >>> Stat(2.0, 0.5).mean
        2.0
    """

    mean: float
    std: float


@dataclass(frozen=True)
class EvaluationTable(Mapping[str, Stat]):
    """Metric name -> `Stat` for one set of pieces; ``str()`` gives an aligned text table.

    Attributes:
        stats: The rows, in order: the metrics, then ``js_<histogram>`` distances
            to the reference set when one was given.
        n_pieces: How many pieces were evaluated.
        name: Column heading.

    Examples:
        >>> from musegen.events import Event
        >>> table = evaluate([Piece((Event(0, 1, (60,)), Event(1, 1, (67,))))])
        >>> table["pitch_range"]
        Stat(mean=7.0, std=0.0)
    """

    stats: dict[str, Stat]
    n_pieces: int
    name: str = "pieces"

    def __getitem__(self, key: str) -> Stat:
        return self.stats[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.stats)

    def __len__(self) -> int:
        return len(self.stats)

    def to_dict(self) -> dict[str, dict[str, float]]:
        """The rows as plain data, e.g. for JSON: ``{metric: {"mean": m, "std": s}}``.

        Examples:
            >>> EvaluationTable({"polyphony": Stat(1.0, 0.0)}, 3).to_dict()
            {'polyphony': {'mean': 1.0, 'std': 0.0}}
        """
        return {key: stat._asdict() for key, stat in self.stats.items()}

    def __str__(self) -> str:
        return _format_tables([self])


@dataclass(frozen=True)
class Comparison(Mapping[str, EvaluationTable]):
    """Several `EvaluationTable` s by name; ``str()`` prints them as columns of one table.

    Examples:
        >>> from musegen.events import Event
        >>> sets = {"a": [Piece((Event(0, 1, (60,)),))], "b": [Piece((Event(0, 1, (60, 64)),))]}
        >>> compare(sets)["b"]["polyphony"].mean
        2.0
    """

    tables: dict[str, EvaluationTable]

    def __getitem__(self, key: str) -> EvaluationTable:
        return self.tables[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    def __str__(self) -> str:
        return _format_tables(list(self.tables.values()))


def _mean_std(values: Sequence[float]) -> Stat:
    defined = np.array([v for v in values if not math.isnan(v)], dtype=float)
    if defined.size == 0:
        return Stat(math.nan, math.nan)
    return Stat(float(defined.mean()), float(defined.std()))


def evaluate(
    pieces: Iterable[Piece],
    reference: Iterable[Piece] | None = None,
    *,
    metrics: Mapping[str, Callable[[Piece], float]] | None = None,
    name: str = "pieces",
) -> EvaluationTable:
    """Average each metric over `pieces`; add distances to `reference` when given.

    Pieces on which a metric is undefined (NaN) are left out of its mean and
    standard deviation; a metric undefined on every piece gives NaN.

    Args:
        pieces: The pieces to evaluate (e.g. generated ones).
        reference: Pieces to compare with (e.g. the training set): adds one
            ``js_<name>`` row per histogram in `HISTOGRAMS`, the Jensen-Shannon
            distance between the two sets' histograms.
        metrics: Name -> metric function; defaults to `METRICS`.
        name: Column heading of the table.

    Returns:
        The table of metric name -> `Stat` (mean, std).

    Examples:
        >>> from musegen.events import Event
        >>> scale = Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([60, 62, 64, 65])))
        >>> table = evaluate([scale], reference=[scale])
        >>> table["scale_consistency"].mean, table["js_pitch_class"].mean
        (1.0, 0.0)
        >>> str(table).splitlines()[0].split()
        ['metric', 'pieces', '(n=1)']
    """
    pieces = list(pieces)
    metrics = METRICS if metrics is None else metrics
    stats = {key: _mean_std([fn(piece) for piece in pieces]) for key, fn in metrics.items()}
    if reference is not None:
        reference = list(reference)
        for key, histogram in HISTOGRAMS.items():
            distance = jensen_shannon(histogram(pieces), histogram(reference))
            stats[f"js_{key}"] = Stat(distance, math.nan)
    return EvaluationTable(stats, len(pieces), name)


def compare(
    sets: Mapping[str, Iterable[Piece]],
    reference: Iterable[Piece] | None = None,
    *,
    metrics: Mapping[str, Callable[[Piece], float]] | None = None,
) -> Comparison:
    """Evaluate several sets of pieces (e.g. one per sampler) into one table.

    With a `reference`, every set gets its distances to it, and the reference's
    own metrics come as a last column named ``"reference"``.

    Args:
        sets: Column name -> pieces.
        reference: Pieces to compare every set with.
        metrics: Name -> metric function; defaults to `METRICS`.

    Examples:
        >>> from musegen.events import Event
        >>> melody = Piece(tuple(Event(i, 1, (60 + i,)) for i in range(8)))
        >>> chords = Piece(tuple(Event(i, 1, (60, 64, 67)) for i in range(8)))
        >>> table = compare({"melody": [melody], "chords": [chords]}, reference=[melody])
        >>> list(table)
        ['melody', 'chords', 'reference']
        >>> print(str(table).splitlines()[5])
        polyphony              1.000 ± 0.000   3.000 ± 0.000   1.000 ± 0.000
    """
    reference = None if reference is None else list(reference)
    tables = {
        key: evaluate(pieces, reference, metrics=metrics, name=key) for key, pieces in sets.items()
    }
    if reference is not None:
        tables["reference"] = evaluate(reference, metrics=metrics, name="reference")
    return Comparison(tables)


def _format_cell(stat: Stat | None) -> str:
    if stat is None:
        return ""
    if math.isnan(stat.std):
        return f"{stat.mean:.3f}"
    return f"{stat.mean:.3f} ± {stat.std:.3f}"


def _format_tables(tables: Sequence[EvaluationTable]) -> str:
    rows = list(dict.fromkeys(key for table in tables for key in table))
    header = ["metric", *(f"{table.name} (n={table.n_pieces})" for table in tables)]
    body = [[key, *(_format_cell(table.stats.get(key)) for table in tables)] for key in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *body]
    )

"""`evaluate` and `compare`: the metrics averaged over sets of pieces, as aligned tables."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from musegen.evaluation.metrics.histograms import HISTOGRAMS, jensen_shannon
from musegen.evaluation.metrics.metre import groove_consistency, strong_beat_long_notes
from musegen.evaluation.metrics.pitch import (
    n_pitch_classes_used,
    pitch_class_entropy,
    pitch_range,
    scale_consistency,
)
from musegen.evaluation.metrics.repetition import longest_repeat, repetition_rate
from musegen.evaluation.metrics.rhythm import empty_beat_rate, polyphony
from musegen.events import Piece

__all__ = ["Comparison", "EvaluationTable", "METRICS", "Stat", "compare", "evaluate"]

METRICS: dict[str, Callable[[Piece], float]] = {
    "pitch_range": pitch_range,
    "n_pitch_classes_used": n_pitch_classes_used,
    "pitch_class_entropy": pitch_class_entropy,
    "scale_consistency": scale_consistency,
    "polyphony": polyphony,
    "empty_beat_rate": empty_beat_rate,
    "repetition_rate": repetition_rate,
    "longest_repeat": longest_repeat,
    "strong_beat_long_notes": strong_beat_long_notes,
    "groove_consistency": groove_consistency,
}
"""The metrics `evaluate` reports by default, by name, in table order."""


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
            distance between the two sets' histograms (``js_velocity`` is NaN
            when either set plays every note at one velocity: a file written
            without dynamics cannot be compared on them).
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
        >>> table["js_velocity"].mean  # every note at one velocity: no dynamics to compare
        nan
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
            if key == "velocity" and not (_dynamic(pieces) and _dynamic(reference)):
                distance = math.nan  # music at one velocity says nothing of its dynamics
            stats[f"js_{key}"] = Stat(distance, math.nan)
    return EvaluationTable(stats, len(pieces), name)


def _dynamic(pieces: list[Piece]) -> bool:
    """Whether `pieces` play their notes at more than one velocity."""
    return len({e.velocity for piece in pieces for e in piece.notes}) > 1


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
        polyphony                1.000 ± 0.000   3.000 ± 0.000   1.000 ± 0.000
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

"""Objective metrics for pieces, and distances between sets of pieces.

Each metric is a plain function ``metric(piece) -> float`` (modelled on MusPy's):
its docstring states the formula, the range, and when it is undefined, in which
case it returns NaN rather than raising. Pitch metrics count every pitch of a
chord as one note and leave rests out.

`evaluate` averages the metrics over a set of pieces and, given a reference set,
adds the Jensen-Shannon distance between their histograms of pitch classes,
durations, velocities, melodic intervals and positions in the bar; `compare` puts several sets side
by side in one table.

By family, as MusPy arranges its metrics: `musegen.evaluation.metrics.pitch`,
`musegen.evaluation.metrics.rhythm`, `musegen.evaluation.metrics.metre` (bars from the
piece's own metre), `musegen.evaluation.metrics.repetition`,
`musegen.evaluation.metrics.histograms`
(sets of pieces and their distances) and `musegen.evaluation.metrics.table` (`evaluate`, `compare`).
"""

from __future__ import annotations

from musegen.evaluation.metrics.histograms import (
    DURATION_EDGES,
    HISTOGRAMS,
    duration_histogram,
    interval_histogram,
    jensen_shannon,
    pitch_class_histogram,
    velocity_histogram,
)
from musegen.evaluation.metrics.metre import (
    BAR_POSITION_BINS,
    bar_position_histogram,
    groove_consistency,
    strong_beat_long_notes,
)
from musegen.evaluation.metrics.pitch import (
    in_key_share,
    n_pitch_classes_used,
    pitch_class_entropy,
    pitch_range,
    scale_consistency,
)
from musegen.evaluation.metrics.repetition import longest_repeat, repetition_rate
from musegen.evaluation.metrics.rhythm import empty_beat_rate, polyphony
from musegen.evaluation.metrics.table import (
    METRICS,
    Comparison,
    EvaluationTable,
    Stat,
    compare,
    evaluate,
)

__all__ = [
    "BAR_POSITION_BINS",
    "DURATION_EDGES",
    "HISTOGRAMS",
    "METRICS",
    "Comparison",
    "EvaluationTable",
    "Stat",
    "bar_position_histogram",
    "compare",
    "duration_histogram",
    "empty_beat_rate",
    "evaluate",
    "groove_consistency",
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
    "strong_beat_long_notes",
    "velocity_histogram",
]

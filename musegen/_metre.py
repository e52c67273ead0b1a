"""The length of a bar, read from a time signature by music21 (a private helper of every stage)."""

from __future__ import annotations


def bar_length(time_signature: str) -> float:
    """Quarter notes in one bar of `time_signature`, as music21 reads it.

    Raises:
        ValueError: for a time signature music21 cannot read, or a bar of no length.

    Examples:
        >>> bar_length("4/4"), bar_length("6/8"), bar_length("3/4")
        (4.0, 3.0, 3.0)
    """
    from music21 import meter

    try:
        bar = float(meter.TimeSignature(time_signature).barDuration.quarterLength)
    except Exception:  # music21 raises several kinds for text it cannot read
        raise ValueError(f"bad time signature {time_signature!r}") from None
    if not bar > 0:
        raise ValueError(f"bad time signature {time_signature!r}")
    return bar

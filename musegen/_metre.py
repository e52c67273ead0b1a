"""Time signatures and tempos MIDI can hold, and the length of a bar (private to every stage)."""

from __future__ import annotations

import re

_SIGNATURE = re.compile(r"\s*(\d{1,9}(?:\s*\+\s*\d{1,9})*)\s*/\s*(\d{1,9})\s*", re.ASCII)
_HOLDS = "MIDI holds N/D with N from 1 to 255 and D a power of two from 1 to 128, e.g. '3/4'"


def parse_time_signature(text: str) -> str:
    """`text` as the time signature a MIDI file can hold, normalized (``"3/4"``).

    A MIDI time signature stores the numerator in one byte and the denominator
    as a power of two, so ``N/D`` is accepted for 1 <= N <= 255 and D one of 1,
    2, 4, ..., 128. An additive numerator (``"3+2/8"``, as music21 reads it
    too) is read as its sum: ``"5/8"`` (MIDI keeps no grouping of the beats).
    Spaces around the parts are dropped; leading zeros too.

    Args:
        text: The time signature, e.g. ``"6/8"`` or ``"2+2+3/8"``.

    Returns:
        ``"N/D"`` with plain decimal numbers.

    Raises:
        ValueError: for anything else (``"4/3"``, ``"300/4"``, ``"0/4"``,
            ``"4/4.5"``, ``"C"``, ``""``), naming the value and what MIDI can hold.

    Examples:
        >>> [parse_time_signature(text) for text in ("3/4", " 6 / 8 ", "3+2/8", "2+2+3/8")]
        ['3/4', '6/8', '5/8', '7/8']
        >>> parse_time_signature("4/3")
        Traceback (most recent call last):
        ...
        ValueError: time signature '4/3' cannot be written to MIDI: MIDI holds N/D with N from 1 \
to 255 and D a power of two from 1 to 128, e.g. '3/4'
    """
    match = _SIGNATURE.fullmatch(text) if isinstance(text, str) else None
    if match is not None:
        numerator = sum(int(part) for part in match.group(1).split("+"))
        denominator = int(match.group(2))
        power_of_two = denominator & (denominator - 1) == 0
        if 1 <= numerator <= 255 and 1 <= denominator <= 128 and power_of_two:
            return f"{numerator}/{denominator}"
    raise ValueError(f"time signature {text!r} cannot be written to MIDI: {_HOLDS}")


# A MIDI tempo is a whole number of microseconds per quarter note in three bytes.
MIDI_TEMPO_MICROSECONDS = (1, 2**24 - 1)
MIDI_TEMPO_RANGE = (
    60_000_000 / MIDI_TEMPO_MICROSECONDS[1],
    60_000_000 / MIDI_TEMPO_MICROSECONDS[0],
)


def parse_tempo(value: float | str) -> float:
    """`value` as a tempo in quarter notes per minute that a MIDI file can hold.

    MIDI stores a tempo as microseconds per quarter note in three bytes, so
    it holds from about 3.58 bpm (16,777,215 microseconds) to 60,000,000 bpm
    (one microsecond). Anything outside, or not a finite number, is refused
    rather than written wrapped around or as an invalid tempo of 0.

    Args:
        value: The tempo, e.g. ``120`` or ``"96.5"``.

    Returns:
        The tempo as a float.

    Raises:
        ValueError: naming the value and the range MIDI can hold.

    Examples:
        >>> parse_tempo("96.5"), parse_tempo(4)
        (96.5, 4.0)
        >>> parse_tempo(0.5)
        Traceback (most recent call last):
        ...
        ValueError: tempo 0.5 bpm cannot be written to MIDI: MIDI holds 3.58 to 60000000 bpm
    """
    try:
        bpm = float(value)
    except (TypeError, ValueError):
        bpm = float("nan")
    low, high = MIDI_TEMPO_RANGE
    if not low <= bpm <= high:  # also refuses nan
        shown = value if isinstance(value, str) else f"{value:g}"
        raise ValueError(
            f"tempo {shown} bpm cannot be written to MIDI: MIDI holds {low:.2f} to {high:.0f} bpm"
        )
    return bpm


def bar_length(time_signature: str) -> float:
    """Quarter notes in one bar of `time_signature`, as music21 reads it.

    A signature `parse_time_signature` accepts is counted directly (``4 * N / D``,
    what music21 gives too); any other is left to music21's ``TimeSignature``,
    which also reads e.g. ``"C"`` and ``"2/4+3/8"`` (but such a metre cannot be
    written to MIDI as it is).

    Raises:
        ValueError: for a time signature music21 cannot read, or a bar of no length.

    Examples:
        >>> bar_length("4/4"), bar_length("6/8"), bar_length("3/4"), bar_length("3+2/8")
        (4.0, 3.0, 3.0, 2.5)
    """
    try:
        numerator, _, denominator = parse_time_signature(time_signature).partition("/")
    except ValueError:
        pass
    else:
        return 4.0 * int(numerator) / int(denominator)
    from music21 import meter

    try:
        bar = float(meter.TimeSignature(time_signature).barDuration.quarterLength)
    except Exception:  # music21 raises several kinds for text it cannot read
        raise ValueError(f"bad time signature {time_signature!r}") from None
    if not bar > 0:
        raise ValueError(f"bad time signature {time_signature!r}")
    return bar


def bar_lines(
    time_signature: str,
    changes: tuple[tuple[float, str], ...] | list[tuple[float, str]] = (),
    pickup: float = 0.0,
    end: float = 0.0,
) -> list[float]:
    """Offsets of the bar lines before `end`: from `pickup`, bars of the metre in force.

    Args:
        time_signature: The metre at the start.
        changes: (offset, metre) after the start, in time order; each starts a bar
            (the bar before it is cut short when it does not fit).
        pickup: Quarter notes before the first bar line.
        end: Bar lines at or after it are left out.

    Raises:
        ValueError: for a metre `bar_length` cannot read.

    Examples:
        >>> bar_lines("4/4", end=9.0)
        [0.0, 4.0, 8.0]
        >>> bar_lines("4/4", ((4.0, "6/8"),), pickup=1.0, end=12.0)
        [1.0, 4.0, 7.0, 10.0]
    """
    metres = [(0.0, time_signature), *((float(at), s) for at, s in changes if at > 0)]
    lines: list[float] = []
    at = float(pickup)
    for i, (start, signature) in enumerate(metres):
        length = bar_length(signature)
        if i:
            at = max(start, float(pickup))
        stop = metres[i + 1][0] if i + 1 < len(metres) else float("inf")
        if stop <= at + 1e-9:
            continue
        while at < min(end, stop) - 1e-9:
            if not lines or at > lines[-1] + 1e-9:
                lines.append(round(at, 9))
            at += length
        if at >= end - 1e-9:
            break
    return lines


def metre_of_length(length: float, signature: str) -> str:
    """`signature`, or for a bar of another `length` the metre of that length, when MIDI holds it.

    Its denominator, or a finer one: 2 quarters in 4/4 is 2/4; 1.5 quarters in 3/4 is 3/8.

    Examples:
        >>> [metre_of_length(length, "4/4") for length in (4.0, 2.0, 1.5, 0.1)]
        ['4/4', '2/4', '3/8', '4/4']
    """
    if abs(length - bar_length(signature)) <= 1e-6:
        return signature
    denominator = int(signature.rpartition("/")[2])
    while denominator <= 64:
        count = length * denominator / 4
        if abs(count - round(count)) <= 1e-6 and 1 <= round(count) <= 255:
            return f"{round(count)}/{denominator}"
        denominator *= 2
    return signature

"""Plain data for music: an `Event` is a note, a chord or a rest; a `Piece` is events in time.

Times are in quarter lengths (a quarter note is 1.0), pitches are MIDI numbers
(middle C is 60). This module imports nothing from music21 or the rest of musegen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from operator import attrgetter

__all__ = ["DEFAULT_VELOCITY", "Event", "Piece"]

DEFAULT_VELOCITY = 64
"""Velocity given to notes whose source states none (MIDI's "mezzo")."""


@dataclass(frozen=True)
class Event:
    """One note, chord or rest.

    Attributes:
        offset: Onset in quarter lengths from the start of the piece.
        duration: Length in quarter lengths.
        pitches: MIDI numbers sounding together, sorted low to high; an empty
            tuple is a rest.
        velocity: MIDI velocity (1-127) of the event; ignored for rests.
        unison: Read from a chord whose notes share one pitch (two parts striking
            the same key at once), which the original recipe names as a chord
            (``'8'``, not ``'G#4'``). Only ``piece_from_stream(grouping="stream")``
            sets it; it takes no part in equality.

    Examples:
        >>> Event(0.0, 1.0, (60, 64, 67)).is_chord
        True
        >>> Event(1.0, 0.5).is_rest
        True
    """

    offset: float
    duration: float
    pitches: tuple[int, ...] = ()
    velocity: int = DEFAULT_VELOCITY
    unison: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.duration < 0:
            raise ValueError(f"Event duration must be >= 0, got {self.duration}")
        if self.offset < 0:
            raise ValueError(f"Event offset must be >= 0, got {self.offset}")
        pitches = tuple(sorted(set(int(p) for p in self.pitches)))
        if any(not 0 <= p <= 127 for p in pitches):
            raise ValueError(f"MIDI pitches must lie in 0..127, got {pitches}")
        object.__setattr__(self, "pitches", pitches)
        object.__setattr__(self, "offset", float(self.offset))
        object.__setattr__(self, "duration", float(self.duration))
        object.__setattr__(self, "velocity", int(min(127, max(0, self.velocity))))

    @property
    def is_rest(self) -> bool:
        """True when nothing sounds."""
        return not self.pitches

    @property
    def is_chord(self) -> bool:
        """True when two or more pitches sound together."""
        return len(self.pitches) > 1

    @property
    def end(self) -> float:
        """Offset at which the event stops sounding."""
        return self.offset + self.duration


def trusted_event(offset: float, duration: float, pitches: tuple[int, ...], velocity: int) -> Event:
    """An `Event` built without `Event`'s checks, about nine times faster, for MIDI readers.

    The caller guarantees what the checks would enforce: float times >= 0, pitches
    sorted low to high without repeats, in 0..127, and an int velocity in 0..127.
    (Not exported: everyone else builds events with ``Event(...)``.)
    """
    event = _new(Event)
    fields = event.__dict__  # filled in place: frozen only forbids setting attributes
    fields["offset"] = offset
    fields["duration"] = duration
    fields["pitches"] = pitches
    fields["velocity"] = velocity
    return event


_new = object.__new__
_by_offset = attrgetter("offset")


@dataclass(frozen=True)
class Piece:
    """A piece of music: events sorted by offset, with tempo and metre.

    Events at the same offset keep the order they were given in.

    Attributes:
        events: The notes, chords and rests, sorted by offset.
        tempo: Quarter notes per minute.
        time_signature: Metre as text, e.g. ``"4/4"``.
        source: Where the piece came from (file name or corpus entry), or ``""``.
        time_signature_changes: Where the metre changes after the start: (offset in
            quarter notes, metre such as ``"3/4"``), in time order; each starts a bar.
        pickup: Quarter notes before the first bar line (an anacrusis: the first
            bar is short), 0 when the piece starts on a bar line.

    Examples:
        >>> piece = Piece((Event(1.0, 1.0, (64,)), Event(0.0, 1.0, (60,))))
        >>> [e.pitches for e in piece.events]
        [(60,), (64,)]
        >>> piece.duration
        2.0
        >>> Piece(time_signature="3/4", pickup=1.0).bar_lines(8.0)
        [1.0, 4.0, 7.0]
    """

    events: tuple[Event, ...] = ()
    tempo: float = 120.0
    time_signature: str = "4/4"
    source: str = ""
    time_signature_changes: tuple[tuple[float, str], ...] = ()
    pickup: float = 0.0

    def __post_init__(self) -> None:
        if self.tempo <= 0:
            raise ValueError(f"Piece tempo must be > 0, got {self.tempo}")
        if not self.pickup >= 0:
            raise ValueError(f"Piece pickup must be >= 0 quarter notes, got {self.pickup}")
        events = tuple(sorted(self.events, key=_by_offset))
        object.__setattr__(self, "events", events)

    def __len__(self) -> int:
        return len(self.events)

    @property
    def duration(self) -> float:
        """Length of the piece in quarter lengths (end of the last event to end)."""
        return max((e.end for e in self.events), default=0.0)

    @property
    def notes(self) -> tuple[Event, ...]:
        """The events that sound (rests left out)."""
        return tuple(e for e in self.events if not e.is_rest)

    def bar_lines(self, end: float | None = None) -> list[float]:
        """Offsets of the bar lines before `end` (default: the piece's end), from the metre map.

        Bar lines run from the pickup (0 without one) in bars of the metre in
        force; a metre change starts a bar of its own.

        Examples:
            >>> Piece(time_signature_changes=((6.0, "3/4"),)).bar_lines(13.0)
            [0.0, 4.0, 6.0, 9.0, 12.0]
        """
        from musegen._metre import bar_lines

        return bar_lines(
            self.time_signature,
            self.time_signature_changes,
            self.pickup,
            self.duration if end is None else end,
        )

    def metre_from(self, start: float) -> Piece:
        """This piece with its metre map as heard from `start` on (the events unchanged).

        The metre in force at `start`, the changes after it and the time to the
        next bar line (the pickup), all counted from `start`: for music cut or
        continued there.

        Examples:
            >>> piece = Piece(time_signature_changes=((8.0, "3/4"),), pickup=1.0)
            >>> later = piece.metre_from(6.0)
            >>> later.time_signature, later.pickup, later.time_signature_changes
            ('4/4', 2.0, ((2.0, '3/4'),))
        """
        if start <= 1e-6:
            return self
        metres = [(0.0, self.time_signature), *self.time_signature_changes]
        in_force = [text for at, text in metres if at <= start + 1e-6][-1]
        lines = [line for line in self.bar_lines(start + 64.0) if line >= start - 1e-6]
        pickup = lines[0] - start if lines else 0.0
        return replace(
            self,
            time_signature=in_force,
            time_signature_changes=tuple(
                (at - start, text) for at, text in metres[1:] if at > start + 1e-6
            ),
            pickup=pickup if pickup > 1e-6 else 0.0,
        )

    def with_events(self, events: tuple[Event, ...] | list[Event]) -> Piece:
        """Return a copy of this piece holding other events.

        Examples:
            >>> Piece(source="a.mid").with_events([Event(0, 1, (60,))]).source
            'a.mid'
        """
        return replace(self, events=tuple(events))

    def transpose(self, semitones: int) -> Piece:
        """Return the piece moved by `semitones`; raises ValueError past MIDI's 0..127.

        Examples:
            >>> Piece((Event(0, 1, (60, 64)),)).transpose(2).events[0].pitches
            (62, 66)
        """
        return self.with_events(
            [replace(e, pitches=tuple(p + semitones for p in e.pitches)) for e in self.events]
        )

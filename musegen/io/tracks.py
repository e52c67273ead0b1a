"""`Track` and `Score`: a piece for several instruments, each track with its General MIDI program.

Tracks are plain data, like `Piece`: a `Track` is the events of one instrument
(times from the start of the score) with its program, name and whether it is
percussion; a `Score` is its tracks with the tempo and metre they share.
`musegen.io.reading.read_tracks` reads one from a MIDI file and
`musegen.io.writing.write_midi` writes one back, a track per instrument.

Examples:
    >>> from musegen.events import Event
    >>> piano = Track(Piece((Event(0, 1, (60, 64)),)), program=0, name="piano")
    >>> bass = Track(Piece((Event(0, 2, (36,)),)), program=33, name="bass")
    >>> score = Score((piano, bass), tempo=100.0)
    >>> [t.family for t in score.tracks]
    ['piano', 'bass']
    >>> score.merged().events
    (Event(offset=0.0, duration=2.0, pitches=(36, 60, 64), velocity=64),)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from musegen.events import Piece
from musegen.io._midi_common import group_onsets

__all__ = ["FAMILIES", "Score", "Track", "family"]

FAMILIES = (
    "piano", "chromatic percussion", "organ", "guitar", "bass", "strings", "ensemble", "brass",
    "reed", "pipe", "synth lead", "synth pad", "synth effects", "ethnic", "percussive",
    "sound effects",
)  # fmt: skip
"""The 16 General MIDI families, eight programs each: ``FAMILIES[program // 8]``."""


def family(program: int, is_drum: bool = False) -> str:
    """The General MIDI family of a program (``"drums"`` for percussion on channel 10).

    Examples:
        >>> family(0), family(33), family(40), family(0, is_drum=True)
        ('piano', 'bass', 'strings', 'drums')
    """
    if is_drum:
        return "drums"
    if not 0 <= program <= 127:
        raise ValueError(f"a General MIDI program is 0..127, got {program}")
    return FAMILIES[program // 8]


@dataclass(frozen=True)
class Track:
    """One instrument's events.

    Attributes:
        piece: The events, offsets from the start of the score (the piece's
            tempo and metre are the score's).
        program: General MIDI program, 0..127 (0: acoustic grand piano); for
            drums, the kit (usually 0).
        name: The track's name in the file, or "".
        is_drum: Percussion (MIDI channel 10): pitches are drum sounds.
    """

    piece: Piece
    program: int = 0
    name: str = ""
    is_drum: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.program <= 127:
            raise ValueError(f"a General MIDI program is 0..127, got {self.program}")

    @property
    def family(self) -> str:
        """The program's General MIDI family, or ``"drums"``."""
        return family(self.program, self.is_drum)


@dataclass(frozen=True)
class Score:
    """Tracks that sound together, with the tempo and metre they share.

    Attributes:
        tracks: The tracks, in file order.
        tempo: Quarter notes per minute.
        time_signature: The metre, e.g. ``"4/4"``.
        source: The file it was read from, or "".
        tempo_changes: Where the tempo changes after the start: (offset in
            quarter notes, quarter notes per minute), in time order.
        time_signature_changes: Where the metre changes after the start:
            (offset, metre such as ``"3/4"``).
        key_signatures: The key signatures the file states: (offset, key such
            as ``"Bb major"`` or ``"F# minor"``).
        pickup: Quarter notes before the first bar line (an anacrusis), 0 when
            the score starts on a bar line.
        not_kept: What the file held that the score does not, counted:
            ``(("pitch bend", 12), ("sustain pedal message", 4))``; empty for a
            score made in code. It takes no part in equality.
    """

    tracks: tuple[Track, ...] = field(default_factory=tuple)
    tempo: float = 120.0
    time_signature: str = "4/4"
    source: str = ""
    tempo_changes: tuple[tuple[float, float], ...] = ()
    time_signature_changes: tuple[tuple[float, str], ...] = ()
    key_signatures: tuple[tuple[float, str], ...] = ()
    not_kept: tuple[tuple[str, int], ...] = field(default=(), compare=False)
    pickup: float = 0.0

    def __post_init__(self) -> None:
        if not self.pickup >= 0:
            raise ValueError(f"Score pickup must be >= 0 quarter notes, got {self.pickup}")

    @property
    def duration(self) -> float:
        """Quarter notes until the last track's last event ends (0 for no track)."""
        return max((t.piece.duration for t in self.tracks), default=0.0)

    def merged(self, *, drums: bool = False) -> Piece:
        """Every track's notes in one piece, notes that start together in one event.

        Args:
            drums: Keep the percussion tracks' notes (as their key numbers).

        The piece keeps the score's tempo and metre map (time signature, its
        changes and the pickup).

        Examples:
            >>> from musegen.events import Event
            >>> score = Score((Track(Piece((Event(0, 1, (67,)),))),), pickup=1.0)
            >>> score.merged().bar_lines(6.0)
            [1.0, 5.0]
        """
        raw = [
            (e.offset, e.duration, e.pitches, e.velocity)
            for t in self.tracks
            if drums or not t.is_drum
            for e in t.piece.notes
        ]
        return Piece(
            tuple(group_onsets(raw)),
            tempo=self.tempo,
            time_signature=self.time_signature,
            source=self.source,
            time_signature_changes=self.time_signature_changes,
            pickup=self.pickup,
        )

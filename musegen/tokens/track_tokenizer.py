"""`TrackTokenizer`: a band's tracks interleaved by time in one token stream, and back.

The note-level spelling (`musegen.tokens.note_tokenizer.NoteTokenizer`, ``holds=True``)
of every track's notes together, each pitch tagged with its instrument, so
that one model learns the whole band. Notes of all tracks that start together
form one event with its own duration; the next instrument's event at the
same onset follows a zero step (``+0``).
Two spellings of the instrument, measured against each other in docs/tracks.md:

- ``"token"`` (the default): an instrument token opens each event:
  ``@p33 C2 half +0 @p0 C4 E4 G4 4th``;
- ``"qualified"``: every pitch token names its instrument:
  ``p33:C2 half +0 p0:C4 p0:E4 p0:G4 4th``.

Instruments are General MIDI programs (``p0`` .. ``p127``, and ``drums``) by
default; ``families=True`` names the 16 General MIDI families instead
(`musegen.io.tracks.FAMILIES`: ``@bass``, ``@strings``), for corpora with many
programs. Programs measured the lower held-out NLL on quartets and chorales
(docs/tracks.md). Decoding returns a `Score`, a track per instrument (a
family's first program).

Examples:
    >>> from musegen.events import Event, Piece
    >>> from musegen.io.tracks import Score, Track
    >>> band = Score((Track(Piece((Event(0, 1, (60, 64)),)), program=0),
    ...               Track(Piece((Event(0, 2, (36,)),)), program=33)))
    >>> TrackTokenizer().encode_score(band)
    ['@p0', 'C4', 'E4', '4th', '+0', '@p33', 'C2', 'half']
    >>> TrackTokenizer(spelling="qualified", families=True).encode_score(band)
    ['bass:C2', 'half', '+0', 'piano:C4', 'piano:E4', '4th']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from musegen.events import Event, Piece
from musegen.io.tracks import FAMILIES, Score, Track, family
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.tokenizer import _EPS, DurationBuckets, TokenInfo, VelocityBuckets

__all__ = ["TrackTokenizer"]


class TrackTokenizer(NoteTokenizer):
    """Every track's notes in one note-level stream, each pitch tagged with its instrument.

    Args:
        spelling: ``"token"`` (an instrument token before each instrument's
            pitches in an event) or ``"qualified"`` (``family:pitch`` tokens).
        families: Name instruments by General MIDI family (16, and ``drums``)
            instead of by program (``p0`` .. ``p127``, and ``drums``).
        durations: As for `NoteTokenizer` (default: eight note values).
        velocities: As for `NoteTokenizer` (default: none).

    Raises:
        ValueError: for an unknown spelling.
    """

    instrument_prefix = "@"
    """Marks an instrument token in the ``"token"`` spelling."""

    def __init__(
        self,
        *,
        spelling: str = "token",
        families: bool = False,
        durations: DurationBuckets | None = None,
        velocities: VelocityBuckets | None = None,
        **options: Any,
    ) -> None:
        if spelling not in ("token", "qualified"):
            raise ValueError(f"spelling must be 'token' or 'qualified', got {spelling!r}")
        options.pop("holds", None)
        if options.get("bars"):
            raise ValueError(
                "a band's tokens (TrackTokenizer) have no bar tokens: bars=True is "
                "for one track (NoteTokenizer, FrameTokenizer)"
            )
        super().__init__(durations=durations, velocities=velocities, holds=True, **options)
        self.spelling = spelling
        self.families = bool(families)
        self._step_of[self.zero_step] = 0.0

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration; `from_config` rebuilds an equal tokenizer."""
        return {**super().get_config(), "spelling": self.spelling, "families": self.families}

    # -- instruments ---------------------------------------------------------------------

    def instrument_of(self, track: Track) -> str:
        """The instrument name a track's pitches carry (its family, or ``p<program>``)."""
        if track.is_drum:
            return "drums"
        return family(track.program).replace(" ", "-") if self.families else f"p{track.program}"

    def track_of(self, instrument: str) -> Track:
        """An empty track for an instrument name: the family's first program, or drums."""
        if instrument == "drums":
            return Track(Piece(()), program=0, name="drums", is_drum=True)
        if instrument.startswith("p") and instrument[1:].isdigit():
            return Track(Piece(()), program=int(instrument[1:]), name=instrument)
        index = FAMILIES.index(instrument.replace("-", " "))
        return Track(Piece(()), program=8 * index, name=instrument.replace("-", " "))

    # -- encoding ------------------------------------------------------------------------

    def encode(self, piece: Piece | Score) -> list[str]:
        """`encode_score` of a `Score`; a `Piece` is a score of one piano track.

        So the dataset and vocabulary helpers that call ``encode`` take scores.

        Examples:
            >>> TrackTokenizer().encode(Piece((Event(0, 1, (60,)),)))
            ['@p0', 'C4', '4th']
        """
        if isinstance(piece, Score):
            return self.encode_score(piece)
        return self.encode_score(Score((Track(piece),), tempo=piece.tempo))

    def encode_score(self, score: Score) -> list[str]:
        """The tokens of every track of `score`, interleaved by time.

        Each instrument's notes that start together are one event with its own
        duration; an event of another instrument at the same onset follows
        after a zero step (``+0``).

        Examples:
            >>> from musegen.io.tracks import Score, Track
            >>> solo = Score((Track(Piece((Event(1, 1, (62,)),)), program=40),))
            >>> TrackTokenizer(families=True).encode_score(solo)
            ['rest', '4th', '@strings', 'D4', '4th']
        """
        assert self.durations is not None
        buckets, names = self.durations, self.durations.names
        slots: dict[tuple[float, str], list[Any]] = {}  # (onset, instrument) -> [d, v, pitches]
        for track in score.tracks:
            instrument = self.instrument_of(track)
            for event in track.piece.notes:
                slot = slots.setdefault((round(event.offset, 6), instrument), [0.0, 0, set()])
                slot[0] = max(slot[0], event.duration)
                slot[1] = max(slot[1], event.velocity)
                slot[2].update(event.pitches)
        keys = sorted(slots)
        tokens: list[str] = []
        if keys and self.rests and keys[0][0] > _EPS:
            tokens += [self.rest_text, names[buckets.index(keys[0][0])]]
        for i, (onset, instrument) in enumerate(keys):
            duration, velocity, pitches = slots[(onset, instrument)]
            tokens += self._spell(instrument, sorted(pitches, reverse=self.high_first))
            length = buckets.index(duration)
            tokens.append(names[length])
            if self.velocities is not None:
                tokens.append(self.velocity_to_text(self.velocities.nearest(velocity)))
            if i + 1 == len(keys):
                break
            gap = keys[i + 1][0] - onset
            if gap <= _EPS:  # another instrument starts at the same time
                tokens.append(self.zero_step)
            elif gap < duration - _EPS and buckets.index(gap) != length:
                tokens.append(self.step_prefix + names[buckets.index(gap)])
            elif self.rests and gap - duration > _EPS:
                tokens += [self.rest_text, names[buckets.index(gap - duration)]]
        return tokens

    @property
    def zero_step(self) -> str:
        """The step token of events that start together (``+0``)."""
        return self.step_prefix + "0"

    def _spell(self, instrument: str, pitches: list[int]) -> list[str]:
        names = [self.pitches_to_text((p,)) for p in pitches]
        if self.spelling == "qualified":
            return [f"{instrument}:{name}" for name in names]
        return [self.instrument_prefix + instrument, *names]

    # -- what a token means --------------------------------------------------------------

    def describe(self, token: str) -> TokenInfo:
        """What `token` is: a `NoteTokenizer` kind, an ``"instrument"``, or a qualified pitch.

        Examples:
            >>> tok = TrackTokenizer(spelling="qualified")
            >>> tok.describe("p33:C2"), tuple(TrackTokenizer().describe("@p33"))
            (TokenInfo(kind='pitch', pitches=(36,), duration=None, instrument='p33'), \
('instrument', (), None, 'p33'))
        """
        if self.spelling == "token" and token.startswith(self.instrument_prefix):
            name = token[len(self.instrument_prefix) :]
            return (
                TokenInfo("instrument", instrument=name)
                if _instrument(name)
                else TokenInfo("unknown")
            )
        if self.spelling == "qualified" and ":" in token:
            name, text = token.split(":", 1)
            info = super().describe(text)
            if info.kind != "pitch" or not _instrument(name):
                return TokenInfo("unknown")
            return info._replace(instrument=name)
        return super().describe(token)

    # -- decoding ------------------------------------------------------------------------

    def decode_score(self, tokens: Iterable[str]) -> Score:
        """A `Score` from tokens: a track per instrument, in order of first appearance.

        Tokens out of place are skipped, as `NoteTokenizer.decode_with_skipped` does;
        pitches before any instrument token belong to the piano (program 0).

        Examples:
            >>> tok = TrackTokenizer()
            >>> tokens = ["@bass", "C2", "half", "+0", "@piano", "C4", "4th", "@piano", "D4", "4th"]
            >>> score = tok.decode_score(tokens)
            >>> [(t.family, [(e.offset, e.duration, e.pitches) for e in t.piece.notes])
            ...  for t in score.tracks]
            [('bass', [(0.0, 2.0, (36,))]), ('piano', [(0.0, 1.0, (60,)), (1.0, 1.0, (62,))])]
        """
        plain: list[str] = []  # the tokens with instruments taken out, for NoteTokenizer
        owners: list[str] = []  # per plain token, the instrument named last
        instrument = self._default_instrument
        for token in tokens:
            text = token if isinstance(token, str) else repr(token)
            if self.spelling == "token" and text.startswith(self.instrument_prefix):
                instrument = text[len(self.instrument_prefix) :]
                continue
            if self.spelling == "qualified" and ":" in text:
                instrument, text = text.split(":", 1)
            plain.append(text)
            owners.append(instrument)
        piece, skipped = self.decode_with_skipped(plain)
        return self._split(piece, plain, {position for position, _ in skipped}, owners)

    def _split(self, piece: Piece, plain: list[str], dropped: set[int], owners: list[str]) -> Score:
        """The events of `piece` divided among instruments by the pitches' owners."""
        per_event: list[dict[int, str]] = []
        current: dict[int, str] = {}
        for i, text in enumerate(plain):
            if i in dropped:
                continue
            kind, value = self._classify(text)
            if kind == "pitch":
                for p in value:
                    current[p] = owners[i]
            elif kind == "rest":
                current = {}
            elif kind in ("duration", "velocity") and current and self._closes(kind):
                per_event.append(current)
                current = {}
        tracks: dict[str, list[Event]] = {}
        pitched = [e for e in piece.events if e.pitches]
        for event, owner in zip(pitched, per_event, strict=False):
            groups: dict[str, list[int]] = {}
            for p in event.pitches:
                groups.setdefault(owner.get(p, self._default_instrument), []).append(p)
            for instrument, pitches in groups.items():
                tracks.setdefault(instrument, []).append(
                    Event(event.offset, event.duration, tuple(pitches), event.velocity)
                )
        return Score(
            tuple(
                Track(Piece(tuple(events)), t.program, t.name, t.is_drum)
                for instrument, events in tracks.items()
                for t in [self.track_of(instrument)]
            )
        )

    @property
    def _default_instrument(self) -> str:
        """Where pitches before any instrument go: the piano (program 0)."""
        return "piano" if self.families else "p0"

    def _closes(self, kind: str) -> bool:
        return kind == "velocity" or (kind == "duration" and self.velocities is None)


def _instrument(name: str) -> bool:
    """Whether `name` names an instrument: ``drums``, ``p0`` .. ``p127`` or a family."""
    if name.startswith("p") and name[1:].isdigit():
        return 0 <= int(name[1:]) <= 127
    return name == "drums" or name.replace("-", " ") in FAMILIES

"""`TrackTokenizer`: a band's tracks interleaved by time in one token stream, and back.

The note-level spelling (`musegen.tokens.note_tokenizer.NoteTokenizer`, ``holds=True``)
of every track's notes together, each pitch tagged with its part, so that one
model learns the whole band. A part's notes that start together and last alike
form one event; the next event at the same onset follows a zero step (``+0``).
Onsets lie on the grid of the shortest duration bucket and every note a score
holds is kept there (`TrackTokenizer.not_kept` counts the few that cannot be:
a pitch repeated by its part at one grid onset). Parts that share an
instrument stay apart: the second part of program 40 is ``p40.2``.
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
    ['piano:C4', 'piano:E4', '4th', '+0', 'bass:C2', 'half']
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

from musegen.events import Event, Piece
from musegen.io.tracks import FAMILIES, Score, Track, family
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.tokenizer import DurationBuckets, TokenInfo, VelocityBuckets

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
        """An empty track for an instrument name: its program (a family's first), or drums.

        A program's track and a drum kit are unnamed (`musegen.io.writing.write_midi`
        names them after their General MIDI instrument, ``Violin 2``,
        ``Drums``); a family's is named after the family, its part number after
        it (``strings 2``).

        Examples:
            >>> TrackTokenizer().track_of("p40.2")
            Track(piece=Piece(events=(), ...), program=40, name='', is_drum=False)
            >>> TrackTokenizer(families=True).track_of("strings.2").name
            'strings 2'
        """
        base, _, number = instrument.partition(".")
        suffix = f" {number}" if number else ""
        if base == "drums":
            return Track(Piece(()), program=0, is_drum=True)
        if base.startswith("p") and base[1:].isdigit():
            return Track(Piece(()), program=int(base[1:]))
        index = FAMILIES.index(base.replace("-", " "))
        return Track(Piece(()), program=8 * index, name=base.replace("-", " ") + suffix)

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

        Each part's notes that start together and last alike (one duration
        bucket) are one event; events at one onset follow one another after a
        zero step (``+0``), in the score's track order, the longer first. Onsets
        lie on the grid of the shortest duration bucket (a sixteenth by
        default) and the time between them is spelt exactly (a step, then rests
        for what the step leaves), so the stream never drifts. What a note
        cannot keep is counted by `not_kept`.

        Examples:
            >>> from musegen.io.tracks import Score, Track
            >>> solo = Score((Track(Piece((Event(1, 1, (62,)),)), program=40),))
            >>> TrackTokenizer(families=True).encode_score(solo)
            ['rest', '4th', '@strings', 'D4', '4th']
            >>> violins = Score((Track(Piece((Event(0, 2, (67, 76)), Event(2, 1, (74,)))), 40),
            ...                  Track(Piece((Event(0, 5, (60,)),)), 40)))
            >>> print(" ".join(TrackTokenizer().encode_score(violins)))
            @p40 G4 E5 half +0 @p40.2 C4 whole +half @p40 D5 4th
        """
        return self._encode(score)[0]

    def not_kept(self, score: Score) -> tuple[tuple[str, int], ...]:
        """What `encode_score` cannot keep of `score`'s notes, counted (empty when it keeps all).

        A note that repeats a pitch of its part at the same grid onset and
        length (``"doubled band note"``) is one note in the tokens.

        Examples:
            >>> from musegen.io.tracks import Score, Track
            >>> twice = Piece((Event(0, 1, (60,)), Event(0.05, 1, (60,)), Event(1, 1, (62,))))
            >>> TrackTokenizer().not_kept(Score((Track(twice),)))
            (('doubled band note', 1),)
        """
        doubled = self._encode(score)[1]
        return (("doubled band note", doubled),) if doubled else ()

    def part_names(self, score: Score) -> list[str]:
        """The part each track's notes are tagged with: ``p40``, ``p40.2`` for a second violin.

        Parts that share a program (Violin I and II, two guitars) stay apart:
        the second, third... of an instrument in the score's track order carry
        ``.2``, ``.3``.

        Examples:
            >>> from musegen.io.tracks import Score, Track
            >>> quartet = Score(tuple(Track(Piece(()), p) for p in (40, 40, 41, 42)))
            >>> TrackTokenizer().part_names(quartet)
            ['p40', 'p40.2', 'p41', 'p42']
        """
        seen: dict[str, int] = {}
        names = []
        for track in score.tracks:
            base = self.instrument_of(track)
            seen[base] = seen.get(base, 0) + 1
            names.append(base if seen[base] == 1 else f"{base}.{seen[base]}")
        return names

    def _encode(self, score: Score) -> tuple[list[str], int]:
        """`encode_score`'s tokens and the number of notes doubled on the grid."""
        assert self.durations is not None
        buckets, names = self.durations, self.durations.names
        units = self._units
        grid = math.gcd(*units) / _UNITS  # every length a whole number of grid steps
        # (onset on the grid, track order, longer first, bucket) -> [velocity, pitches, part]
        slots: dict[tuple[float, int, int, int], list[Any]] = {}
        sounding: dict[tuple[float, int], set[int]] = {}  # the pitches of a part at an onset
        doubled = 0
        parts = zip(score.tracks, self.part_names(score), strict=True)
        for order, (track, part) in enumerate(parts):
            for event in track.piece.notes:
                onset = round(event.offset / grid) * grid
                length = buckets.index(event.duration)
                taken = sounding.setdefault((onset, order), set())
                new = set(event.pitches) - taken
                doubled += len(event.pitches) - len(new)
                if not new:
                    continue
                taken |= new
                slot = slots.setdefault((onset, order, -units[length], length), [0, set(), part])
                slot[0] = max(slot[0], event.velocity)
                slot[1] |= new
        tokens: list[str] = []
        time = 0  # where the decoder's clock stands, in units
        last: int | None = None  # the bucket of the event before, while a step may follow it
        for key in sorted(slots):
            onset, length = round(key[0] * _UNITS), key[3]
            velocity, pitches, part = slots[key]
            moved, time = self._reach(onset, time, last)
            tokens += moved
            tokens += self._spell(part, sorted(pitches, reverse=self.high_first))
            tokens.append(names[length])
            if self.velocities is not None:
                tokens.append(self.velocity_to_text(self.velocities.nearest(velocity)))
            last = length
        return tokens, doubled

    @functools.cached_property
    def _units(self) -> tuple[int, ...]:
        """Each duration bucket's value in units of 1/96 quarter note."""
        assert self.durations is not None
        return tuple(max(1, round(v * _UNITS)) for v in self.durations.values)

    def _reach(self, onset: int, time: int, last: int | None) -> tuple[list[str], int]:
        """Tokens that move the decoder from the event at `time` (bucket `last`) to `onset`.

        The event's own length, or a step (``+0`` for the same onset), then
        rests: exactly where a way exists (the length first, then the longest
        step), else as near as rests reach. Returns the tokens and the time
        they reach, in units.
        """
        assert self.durations is not None
        units, steps = self._units, [self.step_prefix + n for n in self.durations.names]
        if last is None:  # the start: rests from 0
            spelt, left = self._rests(onset - time)
            return spelt, onset - left
        gap = onset - time
        if gap == 0:
            return [self.zero_step], time
        moves: list[tuple[list[str], int]] = [([], units[last])] if units[last] <= gap else []
        moves += [([steps[i]], u) for i, u in sorted(enumerate(units), key=lambda b: -b[1])
                  if u <= gap and u != units[last]]  # fmt: skip
        best: tuple[list[str], int] | None = None
        for step, by in moves:
            spelt, left = self._rests(gap - by)
            if best is None or left < onset - best[1]:
                best = (step + spelt, onset - left)
            if left == 0:
                break
        return best if best is not None else ([], time + units[last])

    def _rests(self, length: int) -> tuple[list[str], int]:
        """Rest tokens that add up to `length` units, and what they leave (0: none).

        The longest rests first, as many as fit; where that leaves a remainder
        (triplet and sixteenth values), the fewest rests that add up exactly,
        else as near as rests reach.
        """
        assert self.durations is not None
        if not self.rests or length <= 0:
            return [], max(length, 0)
        units, names = self._units, self.durations.names
        longest = max(range(len(units)), key=units.__getitem__)
        table = _fewest(units, 5 * units[longest])
        tokens: list[str] = []
        while length > 4 * units[longest]:  # a long silence: whole bars first
            tokens += [self.rest_text, names[longest]]
            length -= units[longest]
        spelt, rest = [], length
        for bucket in sorted(range(len(units)), key=lambda b: -units[b]):  # the longest first
            while rest >= units[bucket]:
                spelt.append(bucket)
                rest -= units[bucket]
        if rest:  # what the longest-first spelling leaves, the fewest rests that add up
            reach = max(n for n in range(length + 1) if n == 0 or table[n] is not None)
            rest, spelt = length - reach, []
            while reach:
                found = table[reach]
                assert found is not None
                spelt.append(found)
                reach -= units[found]
        left = rest
        for bucket in sorted(spelt, key=lambda b: -units[b]):  # the longest first
            tokens += [self.rest_text, names[bucket]]
        return tokens, left

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
        piece, _, runs = self._decode_runs(plain)
        tracks: dict[str, list[Event]] = {}
        for event, run in zip(piece.events, runs, strict=True):
            groups: dict[str, list[int]] = {}
            for position in run:
                kind, pitches = self._classify(plain[position])
                if kind == "pitch":
                    groups.setdefault(owners[position], []).extend(pitches)
            for owner, pitches in groups.items():
                tracks.setdefault(owner, []).append(
                    Event(event.offset, event.duration, tuple(pitches), event.velocity)
                )
        bases = list(dict.fromkeys(name.partition(".")[0] for name in tracks))

        def part_order(name: str) -> tuple[int, int]:  # so that `part_names` names them again
            base, _, number = name.partition(".")
            return bases.index(base), int(number or 1)

        return Score(
            tuple(
                Track(Piece(tuple(tracks[instrument])), t.program, t.name, t.is_drum)
                for instrument in sorted(tracks, key=part_order)
                for t in [self.track_of(instrument)]
            )
        )

    @property
    def _default_instrument(self) -> str:
        """Where pitches before any instrument go: the piano (program 0)."""
        return "piano" if self.families else "p0"


_UNITS = 96
"""Units per quarter note in which the encoder counts time: sixteenths, triplets and 32nds whole."""


@functools.lru_cache(maxsize=16)
def _fewest(units: tuple[int, ...], length: int) -> list[int | None]:
    """Per amount 0..length: the bucket a fewest-rests spelling of it ends with (None: none).

    Amount 0 needs no rest (its entry is None too).

    Examples:
        >>> table = _fewest((24, 32), 60)
        >>> [n for n in range(1, 61) if table[n] is not None]
        [24, 32, 48, 56]
    """
    tokens = [0.0] + [math.inf] * length
    last: list[int | None] = [None] * (length + 1)
    for n in range(1, length + 1):
        for bucket, unit in enumerate(units):
            if unit <= n and tokens[n - unit] + 1 < tokens[n]:
                tokens[n], last[n] = tokens[n - unit] + 1, bucket
    return last


def _instrument(name: str) -> bool:
    """Whether `name` names an instrument: ``drums``, ``p0`` .. ``p127`` or a family.

    A part number may follow (``p40.2``, ``strings.2``: the second part of it).
    """
    name, dot, number = name.partition(".")
    if dot and not (number.isdigit() and int(number) >= 2):
        return False
    if name.startswith("p") and name[1:].isdigit():
        return 0 <= int(name[1:]) <= 127
    return name == "drums" or name.replace("-", " ") in FAMILIES

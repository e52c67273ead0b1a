"""`NoteTokenizer`: the seed's information spelt one token per pitch, duration and velocity.

The compound spelling of `musegen.tokens.tokenizer.Tokenizer` gives each event one token
(``C4,E4,G4_medium_v81``), so every voicing x duration x velocity is a class of
its own: thousands of classes, most seen once. The note-level spelling writes the
same event as a run of small tokens, its pitches low to high, closed by its
duration and, with velocities on, its velocity::

    C4 E4 G4 medium v81        a chord
    rest short                 a rest (no velocity)

The vocabulary stays near the number of pitches used plus the buckets, and both
spellings decode to the same `Piece` (the timing rules are the compound
tokenizer's: an event is shortened to the next onset).

With ``holds=True`` an event keeps its own length instead: when the next onset
comes before it ends (a voice holds while another moves), its duration token is
followed by a step token giving the time to that onset::

    C3 G3 E4 C5 half +4th      four voices, the next onset a quarter later
    D5 4th                     only the soprano moves; the others sound on

With ``bars=True`` (and ``holds=True``) the tokens also know the bar: a ``bar``
token at each bar line, followed by the metre (``4/4``) at the first bar and
wherever it changes. A ``bar`` moves the time to the bar line (one bar of the
metre in force after the last one), whatever the events before it added up to,
so a stream cannot drift off the beat; positions within the bar are the
durations, steps and rests since the bar line. A pickup's notes come before the
first ``bar``::

    G4 4th bar 4/4 C4 E4 half +4th D5 4th ...   a one-quarter pickup in 4/4

Decoding never raises: a stray token (a duration or velocity with
no pitches before it) and an incomplete run (pitches never closed by a duration,
or a pitched event missing its velocity) are skipped and reported by
`NoteTokenizer.decode_with_skipped`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from musegen._metre import bar_length as bar_length_of
from musegen._metre import metre_of_length, parse_time_signature
from musegen.events import DEFAULT_VELOCITY, Event, Piece
from musegen.tokens.tokenizer import (
    _EPS,
    DurationBuckets,
    TokenInfo,
    Tokenizer,
    VelocityBuckets,
    _merge_onsets,
)

__all__ = ["NoteTokenizer"]


class NoteTokenizer(Tokenizer):
    """One token per pitch, closed by a duration token and, with velocities, a velocity token.

    Args:
        durations: Duration buckets (required: the duration token closes an
            event); defaults to `DurationBuckets.fine`, eight note values.
        velocities: Velocity levels, or None to leave velocity tokens out.
        chord_octaves: Must stay True (pitches are named with their octave).
        rests: Emit a ``rest`` token and its duration for silent gaps.
        holds: Keep each event's own length; a step token (``+`` and a bucket
            name, e.g. ``+8th``) gives the time to the next onset when that comes
            first. False shortens the event to the next onset, as the seed did.
        high_first: Spell an event's pitches from the highest down (the melody
            note first), so that a model chooses the voices below knowing the
            one above: what harmonising a given melody needs
            (`musegen.generation.processors.MelodyConstraint`). Decoding reads either order.
        bars: Write a ``bar`` token at each bar line and the metre (``3/4``) at
            the first bar and wherever it changes (needs ``holds=True`` and ``rests=True``).
        default_duration: Unused (durations are always on); kept for `from_config`.
        default_velocity: Velocity of a decoded event when velocities are off.

    Raises:
        ValueError: for ``chord_octaves=False``, ``durations=None``, a bucket
            name that could be read as a pitch, a velocity or a rest, or
            ``bars=True`` without ``holds`` and ``rests``.

    Examples:
        >>> piece = Piece((Event(0, 1, (60, 64, 67), 80), Event(2, 0.5, (62,), 30)))
        >>> tok = NoteTokenizer(durations=DurationBuckets.seed(),
        ...                     velocities=VelocityBuckets.seed())
        >>> tok.encode(piece)
        ['C4', 'E4', 'G4', 'medium', 'v81', 'rest', 'medium', 'D4', 'short', 'v31']
        >>> tok.decode(tok.encode(piece)) == Tokenizer.seed().decode(Tokenizer.seed().encode(piece))
        True
    """

    def __init__(
        self,
        *,
        durations: DurationBuckets | None = None,
        velocities: VelocityBuckets | None = None,
        chord_octaves: bool = True,
        rests: bool = True,
        holds: bool = False,
        high_first: bool = False,
        bars: bool = False,
        default_duration: float = 0.5,
        default_velocity: int = DEFAULT_VELOCITY,
    ) -> None:
        durations = DurationBuckets.fine() if durations is None else durations
        self.holds = bool(holds)
        self.high_first = bool(high_first)
        self.bars = bool(bars)
        if self.bars and not (self.holds and rests):
            raise ValueError(
                "bars=True needs holds=True and rests=True (positions are steps and rests)"
            )
        super().__init__(
            chord_octaves=chord_octaves,
            rests=rests,
            durations=durations,
            velocities=velocities,
            default_duration=default_duration,
            default_velocity=default_velocity,
        )
        if not chord_octaves:
            raise ValueError("NoteTokenizer names pitches with octaves: chord_octaves must be True")
        for name in durations.names:
            if name == self.rest_text or _parses(self.text_to_pitches, name):
                raise ValueError(f"duration name {name!r} reads as a pitch or a rest")
            if velocities is not None and _parses(self.text_to_velocity, name):
                raise ValueError(f"duration name {name!r} reads as a velocity")
        self._duration_of = {name: durations.values[i] for i, name in enumerate(durations.names)}
        self._step_of = {self.step_prefix + n: v for n, v in self._duration_of.items()}
        if set(self._step_of) & set(self._duration_of):
            raise ValueError(f"a duration name starts with {self.step_prefix!r}")

    step_prefix = "+"
    """Marks a step token: ``+`` and a duration bucket's name (``holds=True``)."""

    bar_text = "bar"
    """The token of a bar line (``bars=True``)."""

    @classmethod
    def fine(cls) -> NoteTokenizer:
        """Eight note values from a sixteenth to a whole note, no velocity tokens.

        Examples:
            >>> NoteTokenizer.fine().encode(Piece((Event(0, 0.75, (60, 67)),)))
            ['C4', 'G4', '8th.']
        """
        return cls(durations=DurationBuckets.fine())

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration; `from_config` rebuilds an equal tokenizer."""
        config = {**super().get_config(), "holds": self.holds, "high_first": self.high_first}
        if self.bars:  # a tokenizer of an older release reads configurations without it
            config["bars"] = True
        return config

    # -- encoding -------------------------------------------------------------------

    def encode(self, piece: Piece) -> list[str]:
        """The tokens of `piece`: per event its pitches, then duration [, velocity].

        The compound tokens are computed first and each distinct one is split
        once: its pitch field at ``,``, then its other fields.

        Examples:
            >>> NoteTokenizer(durations=DurationBuckets.seed()).encode(
            ...     Piece((Event(1, 2, (67, 60)),)))
            ['rest', 'medium', 'C4', 'G4', 'long']
        """
        if self.bars:
            return self._encode_bars(piece)
        if self.holds:
            return self._encode_holding(piece)
        runs: dict[str, tuple[str, ...]] = {}
        tokens: list[str] = []
        for compound in super().encode(piece):
            run = runs.get(compound)
            if run is None:
                head, *fields = compound.split(self.separator)
                names = (head,) if head == self.rest_text else tuple(head.split(","))
                if self.high_first:
                    names = names[::-1]
                run = runs[compound] = (*names, *fields)
            tokens.extend(run)
        return tokens

    def _encode_holding(self, piece: Piece) -> list[str]:
        """`encode` with ``holds=True``: events keep their length, steps give the onsets."""
        assert self.durations is not None
        buckets, names = self.durations, self.durations.names
        spell = self._speller()
        events = _merge_onsets(piece.events)
        tokens: list[str] = []
        if events and self.rests and events[0].offset > _EPS:
            tokens += [self.rest_text, names[buckets.index(events[0].offset)]]
        for i, event in enumerate(events):
            length = buckets.index(event.duration)
            tokens += spell(event.pitches)
            tokens.append(names[length])
            if self.velocities is not None:
                tokens.append(self.velocity_to_text(self.velocities.nearest(event.velocity)))
            if i + 1 == len(events):
                break
            gap = events[i + 1].offset - event.offset
            if gap < event.duration - _EPS and buckets.index(gap) != length:
                tokens.append(self.step_prefix + names[buckets.index(gap)])
            elif self.rests and gap - event.duration > _EPS:
                tokens += [self.rest_text, names[buckets.index(gap - event.duration)]]
        return tokens

    def _encode_bars(self, piece: Piece) -> list[str]:
        """`encode` with ``bars=True``: `_encode_holding`'s tokens with the bar lines between.

        The times are counted as the decoder will read them (a bar token moves
        the time to the bar line), so that a rounded duration never carries over
        into the next bar.
        """
        assert self.durations is not None
        buckets, names = self.durations, self.durations.names
        spell = self._speller()
        values = buckets.values
        events = _merge_onsets(piece.events)
        if not events:
            return []
        last_onset = events[-1].offset
        lines = piece.bar_lines(end=last_onset + 2 * _EPS)
        ahead = piece.bar_lines(end=last_onset + 64.0)  # each bar line's next, for its length
        metres = [(0.0, piece.time_signature)] + [
            (float(at), s) for at, s in piece.time_signature_changes if at > 0
        ]
        tokens: list[str] = []
        time = 0.0  # the decoded time: where the decoder's next event would start
        held: tuple[float, int] | None = None  # decoded onset, duration bucket of a closed event
        shift = 0.0  # decoded minus written time within the current bar
        bar_length: float | None = None  # the decoded bar's length (None before the first bar)
        bar_at = 0.0
        metre = ""
        line = 0

        def reach(target: float) -> None:
            """Steps or rests that move the decoded time to `target` (rounded to the buckets)."""
            nonlocal time, held
            if held is not None:
                onset, length = held
                gap = target - onset
                if gap < values[length] - _EPS and buckets.index(gap) != length:
                    step = buckets.index(gap)
                    tokens.append(self.step_prefix + names[step])
                    time = onset + values[step]
                held = None
            while target - time > values[0] / 2:
                rest = buckets.index(target - time)
                tokens.extend((self.rest_text, names[rest]))
                time += values[rest]

        for event in events:
            while line < len(lines) and lines[line] <= event.offset + _EPS:
                written = lines[line]
                if bar_length is None:
                    reach(written)  # the first bar line: where the pickup ends
                    bar_at = time
                else:
                    bar_at += bar_length
                held, time = None, bar_at
                shift = bar_at - written
                tokens.append(self.bar_text)
                signature = [s for at, s in metres if at <= written + _EPS][-1]
                if line + 1 < len(ahead):  # a bar cut short (or lengthened): a metre of its own
                    signature = metre_of_length(ahead[line + 1] - written, signature)
                bar_length = bar_length_of(signature)
                if signature != metre:
                    tokens.append(signature)
                    metre = signature
                line += 1
            reach(event.offset + shift)
            length = buckets.index(event.duration)
            tokens += spell(event.pitches)
            tokens.append(names[length])
            if self.velocities is not None:
                tokens.append(self.velocity_to_text(self.velocities.nearest(event.velocity)))
            held, time = (time, length), time + values[length]
        return tokens

    def _speller(self) -> Callable[[tuple[int, ...]], list[str]]:
        """A function spelling an event's pitches as tokens in the tokenizer's order.

        Each pitch's name is computed once per `_speller` (one piece).
        """
        pitch_names: dict[int, str] = {}

        def spell(pitches: tuple[int, ...]) -> list[str]:
            out = []
            for p in pitches:
                name = pitch_names.get(p)
                if name is None:
                    name = pitch_names[p] = self.pitches_to_text((p,))
                out.append(name)
            return out[::-1] if self.high_first else out

        return spell

    # -- decoding -------------------------------------------------------------------

    def decode_with_skipped(self, tokens: Iterable[str]) -> tuple[Piece, list[tuple[int, str]]]:
        """A piece from tokens, and the skipped tokens with their positions.

        Pitches of one run may come in any order (repeats merge); a run is
        skipped whole when it is left incomplete. Never raises.

        Examples:
            >>> tok = NoteTokenizer(durations=DurationBuckets.seed())
            >>> piece, skipped = tok.decode_with_skipped(["long", "C4", "E4", "short", "G4"])
            >>> [(e.offset, e.duration, e.pitches) for e in piece.events]
            [(0.0, 0.5, (60, 64))]
            >>> skipped
            [(0, 'long'), (4, 'G4')]
        """
        piece, skipped, _ = self._decode_runs(tokens)
        return piece, skipped

    def _decode_runs(
        self, tokens: Iterable[str]
    ) -> tuple[Piece, list[tuple[int, str]], list[list[int]]]:
        """`decode_with_skipped`, and per event of the piece (in time order) its tokens' positions.

        A band's decoder (`musegen.tokens.track_tokenizer.TrackTokenizer`) gives
        each pitch to the instrument its token was written for.
        """
        events: list[Event] = []
        runs: list[list[int]] = []  # per event, the positions of the tokens it was read from
        skipped: list[tuple[int, str]] = []
        run: list[tuple[int, str]] = []  # the tokens of the event being read
        pitches: list[int] = []
        rest = False
        duration: float | None = None
        time = 0.0
        last_onset: float | None = None  # of the event just closed, when a step may follow
        bar_at: float | None = None  # where the current bar began (bars=True)
        first_bar: float | None = None
        bar_length, metres = 4.0, [(0.0, "4/4")]  # the metre in force, and where each began

        def drop_run() -> None:
            nonlocal rest, duration
            skipped.extend(run)
            run.clear()
            pitches.clear()
            rest, duration = False, None

        def close(velocity: int) -> None:
            nonlocal time, rest, duration, last_onset
            assert duration is not None
            events.append(Event(time, duration, tuple(pitches), velocity))
            runs.append([position for position, _ in run])
            last_onset = None if rest else time
            time += duration
            run.clear()
            pitches.clear()
            rest, duration = False, None

        for position, token in enumerate(tokens):
            text = token if isinstance(token, str) else repr(token)
            kind, value = self._classify(text)
            closed_before, last_onset = last_onset, None
            if kind == "step" and closed_before is not None and not run:
                time = closed_before + value  # the next onset comes before the event ends
            elif kind == "bar":
                drop_run()
                bar_at = time if bar_at is None else bar_at + bar_length
                time = bar_at
                first_bar = time if first_bar is None else first_bar
            elif kind == "metre" and not run:
                signature, bar_length = value
                at = 0.0 if bar_at is None or bar_at == first_bar else bar_at  # the first: from 0
                metres = [m for m in metres if m[0] < at - _EPS] or [(0.0, signature)]
                if metres[-1][1] != signature:
                    metres.append((at, signature))
            elif kind == "pitch":
                if rest or duration is not None:  # the previous run never closed
                    drop_run()
                run.append((position, text))
                pitches.extend(value)
            elif kind == "rest":
                if run:
                    drop_run()
                run.append((position, text))
                rest = True
            elif kind == "duration" and (pitches or rest) and duration is None:
                run.append((position, text))
                duration = value
                if rest or self.velocities is None:
                    close(self.default_velocity)
            elif kind == "velocity" and pitches and duration is not None:
                run.append((position, text))
                close(value)
            else:  # unknown, or a duration / velocity / step out of place
                skipped.append((position, text))
        drop_run()
        skipped.sort()
        order = sorted(range(len(events)), key=lambda i: events[i].offset)  # as Piece sorts them
        runs = [runs[i] for i in order]
        if not self.bars:
            return Piece(tuple(events)), skipped, runs
        return (
            Piece(
                tuple(events),
                time_signature=metres[0][1],
                time_signature_changes=tuple(metres[1:]),
                pickup=first_bar or 0.0,
            ),
            skipped,
            runs,
        )

    def describe(self, token: str) -> TokenInfo:
        """What `token` is: a ``"pitch"``, ``"rest"``, ``"duration"``, ``"velocity"`` or ``"step"``.

        Examples:
            >>> tok = NoteTokenizer(holds=True)
            >>> for token in ("E4", "8th.", "+4th", "rest", "v81"):
            ...     print(tuple(tok.describe(token))[:3])
            ('pitch', (64,), None)
            ('duration', (), 0.75)
            ('step', (), 1.0)
            ('rest', (), None)
            ('unknown', (), None)
        """
        kind, value = self._classify(token)
        if kind == "pitch":
            return TokenInfo(kind, tuple(value))
        if kind in ("duration", "step"):
            return TokenInfo(kind, (), value)
        if kind == "metre":  # its duration: the length of its bar
            return TokenInfo(kind, (), value[1])
        return TokenInfo(kind)

    def _classify(self, text: str) -> tuple[str, Any]:
        """What a token is (its kind in `describe`, or unknown) and its value."""
        if text == self.rest_text:
            return "rest", None
        if self.bars:
            if text == self.bar_text:
                return "bar", None
            if "/" in text:
                try:
                    signature = parse_time_signature(text)
                except ValueError:
                    return "unknown", None
                return (
                    ("metre", (signature, bar_length_of(signature)))
                    if signature == text
                    else ("unknown", None)
                )
        length = self._duration_of.get(text)
        if length is not None:
            return "duration", length
        step = self._step_of.get(text)
        if step is not None and self.holds:
            return "step", step
        if self.velocities is not None:
            try:
                velocity = self.text_to_velocity(text)
            except (ValueError, TypeError):
                pass
            else:
                return ("velocity", velocity) if 0 < velocity <= 127 else ("unknown", None)
        try:
            return "pitch", self.text_to_pitches(text)
        except (ValueError, KeyError, TypeError, AttributeError):
            return "unknown", None


def _parses(parse: Any, text: str) -> bool:
    try:
        parse(text)
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    return True

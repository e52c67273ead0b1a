"""`Tokenizer`: turns a `Piece` into text tokens and back, in the seed's encoding.

One token is one event: a note (``C4``), a chord with octaves (``C4,E4,G4``, low
to high) or a rest (``rest``), optionally followed by a duration bucket and a
velocity level: ``C4,E4,G4_long_v81``, ``rest_short``.

Timing: time advances by each token's duration. When the next onset comes
before an event ends, the event is shortened to the gap so that onsets stay
where they were; silent gaps become rest tokens (when rests are on). Without
durations every token decodes to ``default_duration`` (0.5, as in the original
recipe). Round trips keep pitches exactly, and onsets and durations exactly when
the durations equal bucket values; other durations snap to their bucket's value
and later onsets move with them.

Subclass `Tokenizer` and override one of the small text hooks
(`pitches_to_text`, `text_to_pitches`, `duration_to_text`, `text_to_duration`,
`velocity_to_text`, `text_to_velocity`) to change one part of the encoding;
implement `TokenizerProtocol` for a tokenizer written from scratch.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

from typing_extensions import Protocol, Self, runtime_checkable

from musegen._files import atomic_write_text, dump_document, load_document
from musegen.events import DEFAULT_VELOCITY, Event, Piece
from musegen.tokens.vocabulary import Vocabulary

__all__ = [
    "DurationBuckets",
    "TokenInfo",
    "Tokenizer",
    "TokenizerProtocol",
    "VelocityBuckets",
    "seed_configurations",
]

# music21's default spelling of the 12 pitch classes (what it gives notes read from MIDI).
_PITCH_CLASS_NAMES = ("C", "C#", "D", "E-", "E", "F", "F#", "G", "G#", "A", "B-", "B")
# music21 spells E and B of octave -1 (MIDI 4, 11) like E-flat 1 and B-flat 1 ("E-1", "B-1"):
# give those two unambiguous names instead.
_MIDI_TO_NAME = {m: f"{_PITCH_CLASS_NAMES[m % 12]}{m // 12 - 1}" for m in range(128)}
_MIDI_TO_NAME.update({4: "Fb-1", 11: "Cb0"})
_NAME_TO_MIDI = {n: m for m, n in _MIDI_TO_NAME.items()}
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_PITCH_RE = re.compile(r"^([A-Ga-g])(#{1,2}|-{1,2}|b{1,2})?(-?\d+)$")
_EPS = 1e-6


class TokenInfo(NamedTuple):
    """What one token means (see `Tokenizer.describe`).

    Attributes:
        kind: ``"event"`` (a whole event: pitches, or none for a rest, with its
            duration), ``"pitch"``, ``"rest"``, ``"duration"``, ``"velocity"``,
            ``"step"`` (the parts of an event in a note-level spelling),
            ``"instrument"`` (a band's ``@p33``) or ``"unknown"``.
        pitches: The MIDI pitches the token carries.
        duration: Its length in quarter notes (an event, a duration or a step), else None.
        instrument: The instrument the token names (``"p33"`` of ``@p33`` or ``p33:C2``), or None.
    """

    kind: str
    pitches: tuple[int, ...] = ()
    duration: float | None = None
    instrument: str | None = None


@dataclass(frozen=True)
class DurationBuckets:
    """Duration classes: a duration falls in the bucket whose range holds it.

    With ``edges=(0.75, 1.5)``: short < 0.75 <= medium < 1.5 <= long (quarter
    lengths). Each bucket decodes to its representative length in `values`.

    Examples:
        >>> b = DurationBuckets.seed()
        >>> [b.names[b.index(d)] for d in (0.25, 0.75, 1.0, 4.0)]
        ['short', 'medium', 'medium', 'long']
        >>> b.values
        (0.5, 1.0, 2.0)
    """

    edges: tuple[float, ...] = (0.75, 1.5)
    names: tuple[str, ...] = ("short", "medium", "long")
    values: tuple[float, ...] = (0.5, 1.0, 2.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", tuple(float(e) for e in self.edges))
        object.__setattr__(self, "names", tuple(str(n) for n in self.names))
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        if not (len(self.names) == len(self.values) == len(self.edges) + 1):
            raise ValueError("DurationBuckets needs one name and one value per bucket")
        if list(self.edges) != sorted(set(self.edges)):
            raise ValueError(f"DurationBuckets edges must increase, got {self.edges}")
        if len(set(self.names)) != len(self.names) or any(
            not n or "_" in n or "," in n for n in self.names
        ):
            raise ValueError(
                f"bucket names must be distinct, non-empty, without '_' or ',': {self.names}"
            )
        if any(v <= 0 for v in self.values):
            raise ValueError(f"bucket values must be > 0, got {self.values}")

    @classmethod
    def seed(cls) -> Self:
        """The seed's three buckets: short < 0.75 <= medium < 1.5 <= long."""
        return cls()

    @classmethod
    def fine(cls) -> Self:
        """Eight note values, sixteenth to whole, dotted ones included; edges halfway between.

        Examples:
            >>> b = DurationBuckets.fine()
            >>> [b.names[b.index(d)] for d in (0.25, 1 / 3, 0.75, 1.0, 3.0, 8.0)]
            ['16th', '16th', '8th.', '4th', 'half.', 'whole']
        """
        values = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
        names = ("16th", "8th", "8th.", "4th", "4th.", "half", "half.", "whole")
        edges = tuple((a + b) / 2 for a, b in pairwise(values))
        return cls(edges, names, values)

    def index(self, duration: float) -> int:
        """The bucket number of `duration`."""
        return bisect.bisect_right(self.edges, duration + _EPS)

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration."""
        return {"edges": list(self.edges), "names": list(self.names), "values": list(self.values)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild from `get_config` output."""
        return cls(tuple(config["edges"]), tuple(config["names"]), tuple(config["values"]))


@dataclass(frozen=True)
class VelocityBuckets:
    """Velocity levels: a velocity becomes the nearest level (the lower one on a tie).

    Examples:
        >>> v = VelocityBuckets.seed()
        >>> [v.nearest(x) for x in (1, 45, 70, 127)]
        [31, 31, 59, 102]
    """

    levels: tuple[int, ...] = (31, 59, 81, 102)

    def __post_init__(self) -> None:
        levels = tuple(int(v) for v in self.levels)
        if (
            not levels
            or list(levels) != sorted(set(levels))
            or not all(1 <= v <= 127 for v in levels)
        ):
            raise ValueError(f"velocity levels must increase within 1..127, got {self.levels}")
        object.__setattr__(self, "levels", levels)

    @classmethod
    def seed(cls) -> Self:
        """The four velocities of the seed's data: 31, 59, 81, 102."""
        return cls()

    def nearest(self, velocity: int) -> int:
        """The level nearest to `velocity`."""
        if isinstance(velocity, int) and 0 <= velocity <= 127:
            return self._table[velocity]
        return _nearest_level(self.levels, velocity)

    @cached_property
    def _table(self) -> tuple[int, ...]:
        """The nearest level of each MIDI velocity 0..127."""
        return tuple(_nearest_level(self.levels, v) for v in range(128))

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration."""
        return {"levels": list(self.levels)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild from `get_config` output."""
        return cls(tuple(config["levels"]))


@runtime_checkable
class TokenizerProtocol(Protocol):
    """What musegen needs of a tokenizer written from scratch.

    Examples:
        >>> isinstance(Tokenizer(), TokenizerProtocol)
        True
    """

    def encode(self, piece: Piece) -> list[str]:
        """Tokens of a piece."""
        ...

    def decode(self, tokens: Iterable[str]) -> Piece:
        """A piece from tokens; must not raise on a generated sequence."""
        ...

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration."""
        ...


class Tokenizer:
    """The seed's encoding of notes, chords, rests, durations and velocities.

    Args:
        chord_octaves: Chords as pitch names with octaves, low to high
            (``C4,E4,G4``); False gives the original recipe's normal-order pitch
            classes (``0.4.7``).
        rests: Emit rest tokens for silent gaps.
        durations: Duration buckets to add to every token, or None.
        velocities: Velocity levels to add to note and chord tokens, or None.
        default_duration: Length of a decoded event when durations are off.
        default_velocity: Velocity of a decoded event when velocities are off.

    Examples:
        >>> piece = Piece((Event(0, 1, (60, 64, 67), 80), Event(2, 0.5, (62,), 30)))
        >>> Tokenizer().encode(piece)
        ['C4,E4,G4', 'rest', 'D4']
        >>> tok = Tokenizer.seed()
        >>> tok.encode(piece)
        ['C4,E4,G4_medium_v81', 'rest_medium', 'D4_short_v31']
        >>> [e.offset for e in tok.decode(tok.encode(piece)).events]
        [0.0, 1.0, 2.0]
    """

    rest_text = "rest"
    """Pitch field of a rest token."""
    separator = "_"
    """Joins the fields of a token (pitches, duration, velocity)."""

    def __init__(
        self,
        *,
        chord_octaves: bool = True,
        rests: bool = True,
        durations: DurationBuckets | None = None,
        velocities: VelocityBuckets | None = None,
        default_duration: float = 0.5,
        default_velocity: int = DEFAULT_VELOCITY,
    ) -> None:
        if default_duration <= 0:
            raise ValueError(f"default_duration must be > 0, got {default_duration}")
        self.chord_octaves = chord_octaves
        self.rests = rests
        self.durations = durations
        self.velocities = velocities
        self.default_duration = float(default_duration)
        self.default_velocity = int(default_velocity)

    # -- presets -------------------------------------------------------------------

    @classmethod
    def skuli(cls) -> Self:
        """The original recipe's tokens: note names, normal-order chords, nothing else.

        Read files with ``read_midi(path, parts="first", grouping="stream")`` to get
        the recipe's tokens exactly.

        Examples:
            >>> Tokenizer.skuli().encode(Piece((Event(0, 1, (64, 60, 67)), Event(1, 1, (61,)))))
            ['0.4.7', 'C#4']
        """
        return cls(chord_octaves=False, rests=False)

    @classmethod
    def seed(cls) -> Self:
        """The seed's final encoding: chords with octaves, rests, 3 durations, 4 velocities."""
        return cls(durations=DurationBuckets.seed(), velocities=VelocityBuckets.seed())

    # -- text hooks: override one to change one part of the encoding -------------------

    def pitches_to_text(self, pitches: tuple[int, ...]) -> str:
        """Text of the pitches of a note or chord (never empty)."""
        if not self.chord_octaves and len(pitches) > 1:
            return ".".join(str(pc) for pc in _normal_order(frozenset(p % 12 for p in pitches)))
        return ",".join(_MIDI_TO_NAME[p] for p in pitches)

    def text_to_pitches(self, text: str) -> tuple[int, ...]:
        """Inverse of `pitches_to_text`; raises ValueError on malformed text."""
        if not self.chord_octaves and ("." in text or text.isdigit()):
            classes = [int(pc) for pc in text.split(".")]
            if any(not 0 <= pc < 12 for pc in classes):
                raise ValueError(f"pitch class out of range in {text!r}")
            return tuple(60 + pc for pc in classes)  # octave 4, as the recipe decodes
        return tuple(_parse_pitch(name) for name in text.split(","))

    def duration_to_text(self, bucket: int) -> str:
        """Text of duration bucket number `bucket`."""
        assert self.durations is not None
        return self.durations.names[bucket]

    def text_to_duration(self, text: str) -> float:
        """Length in quarter lengths of a duration text."""
        assert self.durations is not None
        return self.durations.values[self.durations.names.index(text)]

    def velocity_to_text(self, level: int) -> str:
        """Text of a velocity level."""
        return f"v{level}"

    def text_to_velocity(self, text: str) -> int:
        """Velocity of a velocity text; raises ValueError on malformed text."""
        if not text.startswith("v"):
            raise ValueError(f"velocity text must start with 'v': {text!r}")
        return int(text[1:])

    # -- encoding ---------------------------------------------------------------------

    def encode(self, piece: Piece) -> list[str]:
        """The tokens of `piece`, one per event (see the module docs for timing).

        Examples:
            >>> Tokenizer(rests=False).encode(Piece((Event(0, 1, (67, 60)),)))
            ['C4,G4']
        """
        memo: dict[tuple[tuple[int, ...], float, int], str] = {}  # tokens repeat within a piece
        names: dict[tuple[int, ...], str] = {}  # and so do pitches, with other timing

        def token(pitches: tuple[int, ...], duration: float, velocity: int) -> str:
            key = (pitches, duration, velocity)
            text = memo.get(key)
            if text is None:
                name = names.get(pitches)
                if name is None:
                    name = names[pitches] = (
                        self.pitches_to_text(pitches) if pitches else self.rest_text
                    )
                text = memo[key] = self._token(name, pitches, duration, velocity)
            return text

        if not self.rests and self.durations is None:
            # Time is not encoded: one token per sounding event, in order. A unison chord
            # (one pitch struck twice) is a chord to the recipe: its pitch class ('8').
            return [
                token(e.pitches * 2 if e.unison and not self.chord_octaves else e.pitches,
                      0.0, e.velocity)
                for e in piece.events
                if e.pitches
            ]  # fmt: skip
        events = _merge_onsets(piece.events)
        tokens: list[str] = []
        append = tokens.append
        rests = self.rests
        if events and rests and events[0].offset > _EPS:
            append(token((), events[0].offset, 0))
        for event, following in pairwise(events):  # every event but the last
            until_next = following.offset - event.offset
            duration = min(event.duration, until_next)
            append(token(event.pitches, duration, event.velocity))
            if rests and until_next - duration > _EPS:
                append(token((), until_next - duration, 0))
        if events:
            append(token(events[-1].pitches, events[-1].duration, events[-1].velocity))
        return tokens

    def _token(self, name: str, pitches: tuple[int, ...], duration: float, velocity: int) -> str:
        """The token of an event whose pitches (or rest) have the text `name`."""
        fields = [name]
        if self.durations is not None:
            fields.append(self.duration_to_text(self.durations.index(duration)))
        if self.velocities is not None and pitches:
            fields.append(self.velocity_to_text(self.velocities.nearest(velocity)))
        return self.separator.join(fields)

    # -- decoding ---------------------------------------------------------------------

    def decode(self, tokens: Iterable[str]) -> Piece:
        """A piece from tokens. Never raises: malformed or unknown tokens are skipped.

        Examples:
            >>> Tokenizer().decode(["C4", "<unk>", "rest", "E4,G4"]).events[-1]
            Event(offset=1.0, duration=0.5, pitches=(64, 67), velocity=64)
        """
        return self.decode_with_skipped(tokens)[0]

    def decode_with_skipped(self, tokens: Iterable[str]) -> tuple[Piece, list[tuple[int, str]]]:
        """Like `decode`, also returning the skipped tokens with their positions.

        Examples:
            >>> Tokenizer().decode_with_skipped(["C4", "X9", "<pad>"])[1]
            [(1, 'X9'), (2, '<pad>')]
        """
        events: list[Event] = []
        skipped: list[tuple[int, str]] = []
        time = 0.0
        for position, token in enumerate(tokens):
            try:
                pitches, duration, velocity = self._parse_token(token)
            except (ValueError, IndexError, KeyError, TypeError, AttributeError):
                skipped.append((position, token if isinstance(token, str) else repr(token)))
                continue
            events.append(Event(time, duration, pitches, velocity))
            time += duration
        return Piece(tuple(events)), skipped

    def _parse_token(self, token: str) -> tuple[tuple[int, ...], float, int]:
        fields = token.split(self.separator)
        head = fields.pop(0)
        pitches: tuple[int, ...] = () if head == self.rest_text else self.text_to_pitches(head)
        duration = self.default_duration
        if self.durations is not None:
            duration = self.text_to_duration(fields.pop(0))
        velocity = self.default_velocity
        if self.velocities is not None and pitches:
            velocity = self.text_to_velocity(fields.pop(0))
            if not 0 < velocity <= 127:
                raise ValueError(f"velocity out of range in {token!r}")
        if fields:
            raise ValueError(f"extra fields in {token!r}")
        return pitches, duration, velocity

    def describe(self, token: str) -> TokenInfo:
        """What `token` means on its own: a whole ``"event"`` here, or ``"unknown"``.

        Logits processors (`musegen.generation.processors`) read these descriptions, once
        per vocabulary, through `musegen.tokens.token_table.TokenTable`. A subclass
        with other kinds of tokens overrides this.

        Examples:
            >>> Tokenizer.seed().describe("C4,E4_long_v81")
            TokenInfo(kind='event', pitches=(60, 64), duration=2.0, instrument=None)
            >>> Tokenizer.seed().describe("rest_short").pitches, Tokenizer().describe("<unk>").kind
            ((), 'unknown')
        """
        try:
            pitches, duration, _ = self._parse_token(token)
        except (ValueError, IndexError, KeyError, TypeError, AttributeError):
            return TokenInfo("unknown")
        return TokenInfo("event", pitches, duration)

    # -- vocabulary and configuration -------------------------------------------------

    def build_vocabulary(self, pieces: Iterable[Piece], *, min_count: int = 1) -> Vocabulary:
        """A `Vocabulary` of the tokens of `pieces`.

        Examples:
            >>> Tokenizer().build_vocabulary([Piece((Event(0, 1, (60,)),))]).tokens
            ['C4']
        """
        return Vocabulary.build((self.encode(p) for p in pieces), min_count=min_count)

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration; `from_config` rebuilds an equal tokenizer."""
        return {
            "chord_octaves": self.chord_octaves,
            "rests": self.rests,
            "durations": self.durations.get_config() if self.durations else None,
            "velocities": self.velocities.get_config() if self.velocities else None,
            "default_duration": self.default_duration,
            "default_velocity": self.default_velocity,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild a tokenizer from `get_config` output."""
        config = dict(config)
        if config.get("durations") is not None:
            config["durations"] = DurationBuckets.from_config(config["durations"])
        if config.get("velocities") is not None:
            config["velocities"] = VelocityBuckets.from_config(config["velocities"])
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Tokenizer)
            and type(self) is type(other)
            and (self.get_config() == other.get_config())
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.get_config())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def to_json(self) -> str:
        """The tokenizer as a versioned JSON document (class name, library version, config)."""
        return dump_document("tokenizer", type(self).__name__, self.get_config())

    @classmethod
    def from_json(cls, text: str, *, source: str = "<string>") -> Tokenizer:
        """Rebuild a tokenizer from `to_json` output.

        The document's class must be this class or one of its subclasses already
        imported; otherwise a ValueError names it.
        """
        class_name, config = load_document(text, "tokenizer", source)
        target = _find_subclass(cls, class_name)
        if target is None:
            raise ValueError(
                f"{source}: tokenizer class {class_name!r} is not {cls.__name__} or a "
                "subclass of it that has been imported"
            )
        return target.from_config(config)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the tokenizer's JSON to `path` (atomically)."""
        return atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Read a tokenizer written by `save`.

        Examples:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "tok.json"
            >>> _ = Tokenizer.seed().save(p)
            >>> Tokenizer.load(p) == Tokenizer.seed()
            True
        """
        return cls.from_json(Path(path).read_text(encoding="utf-8"), source=str(path))


def _find_subclass(base: type[Tokenizer], name: str) -> type[Tokenizer] | None:
    pending: list[type[Tokenizer]] = [base]
    while pending:
        current = pending.pop()
        if current.__name__ == name:
            return current
        pending.extend(current.__subclasses__())
    return None


def _nearest_level(levels: Sequence[int], velocity: float) -> int:
    """The level nearest to `velocity`, the lower one on a tie."""
    return min(levels, key=lambda level: (abs(level - velocity), level))


def _merge_onsets(events: Sequence[Event]) -> list[Event]:
    """Sounding events with events of the same onset merged into one chord."""
    merged: list[Event] = []
    for event in events:
        if not event.pitches:
            continue
        if merged and abs(merged[-1].offset - event.offset) <= _EPS:
            last = merged[-1]
            merged[-1] = Event(
                last.offset,
                max(last.duration, event.duration),
                last.pitches + event.pitches,
                max(last.velocity, event.velocity),
            )
        else:
            merged.append(event)
    return merged


def _parse_pitch(name: str) -> int:
    exact = _NAME_TO_MIDI.get(name)
    if exact is not None:
        return exact
    match = _PITCH_RE.match(name)
    if match is None:
        raise ValueError(f"not a pitch name: {name!r}")
    letter, accidental, octave = match.groups()
    shift = 0
    if accidental:
        shift = len(accidental) if accidental[0] == "#" else -len(accidental)
    midi = 12 * (int(octave) + 1) + _LETTER_PC[letter.upper()] + shift
    if not 0 <= midi <= 127:
        raise ValueError(f"pitch outside MIDI's range: {name!r}")
    return midi


@lru_cache(maxsize=4096)
def _normal_order(pitch_classes: frozenset[int]) -> tuple[int, ...]:
    """music21's normal order of a set of pitch classes (cached: music21 is slow here)."""
    from music21 import chord

    return tuple(chord.Chord(sorted(pitch_classes)).normalOrder)


def seed_configurations() -> dict[str, Tokenizer]:
    """The tokenizers of the seed's experiments, in the order the write-up adds features.

    Examples:
        >>> list(seed_configurations())
        ['skuli', 'octaves+rests', '+durations', '+velocities', 'final']
    """
    return {
        "skuli": Tokenizer.skuli(),
        "octaves+rests": Tokenizer(),
        "+durations": Tokenizer(durations=DurationBuckets.seed()),
        "+velocities": Tokenizer(velocities=VelocityBuckets.seed()),
        "final": Tokenizer.seed(),
    }

"""`ChordProgression`: the pitches of the chord sounding at each step's time (a backing chart)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from musegen._metre import bar_length
from musegen.events import Event, Piece
from musegen.generation._clock import Clock, Time
from musegen.generation.processors.base import BaseProcessor, forbid
from musegen.tokens.token_table import DURATION, PITCH, TokenTable

__all__ = ["ChordProgression"]

_LOWEST = (None, "root", "bass")
# a note name as lead sheets write it: a letter, then a flat or sharp (doubled, or music21's "-")
_NOTE = r"[A-Ga-g](?:bb|b|--|-|##|#|\u266d\u266d|\u266d|\u266f\u266f|\u266f)?"
_SYMBOL = re.compile(rf"({_NOTE})([^/]*)(?:/(.*))?", re.DOTALL)
_FLATS = {"b": "-", "\u266d": "-", "\u266f": "#"}  # to music21's spelling: B- for Bb
_SPELLINGS = "'Am', 'Bb7', 'Ebmaj7', 'F#m7b5', 'Gsus4', 'Cdim7', 'C/G', 'Bb/D' (or music21's 'B-7')"


class ChordProgression(BaseProcessor):
    """Only the pitch classes of the chord sounding where the music stands (or more of them).

    The music's time is kept per stream from the table's durations and steps
    (every shipped spelling: compound tokens, note-level ones, bands), counted
    from where the prime ends. **The chord at an event's onset governs the
    whole event**: an event that begins under ``C`` and lasts past the change
    to ``G`` holds C's pitches only; the next event, starting under ``G``,
    takes G's. An event a step places before the prime's end counts as at 0.
    The progression repeats when the music outlasts it.

    Args:
        chords: Lead-sheet chord symbols (``"Am F C G"``, ``"Bb7"``,
            ``"Ebm7"``, ``"F#m7b5"``, ``"C/G"``, ``"Bb/D"``), each optionally
            with its length in quarter notes (``"Am:2 F:2 C:4"``). A ``b``
            right after the root's letter (or the bass's, after ``/``) is a
            flat, given to music21's ``harmony.ChordSymbol`` as its ``-``
            (``Bb7`` as ``B-7``; music21's own ``B-7`` is read too); a ``b``
            further on is music21's alteration (``m7b5``, ``7b9``). The
            chord kinds are music21's (``m``, ``7``, ``maj7``, ``m7b5``,
            ``dim7``, ``sus4``, ``add9``, ...). `readings` shows what each
            symbol was read as.
        per: The length of a chord given without one: ``"bar"`` (of
            `time_signature`) or a number of quarter notes.
        time_signature: The metre a ``"bar"`` is counted in.
        strength: None for a constraint (no other pitch class is ever
            played); a number > 0 to raise the logits of the ids carrying only
            chord tones by it instead (a bias: other pitches stay possible).
        lowest: ``"root"`` or ``"bass"``: the lowest pitch of every event is
            the chord's root (or its bass, for a slash chord ``C/E``); refused
            for a band, whose events are one instrument's each.

    Raises:
        ValueError: naming a symbol music21 cannot read (or reads with
            another root or bass than written), a bad length, metre, strength
            or `lowest`.

    Examples:
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["C4", "E4", "G4", "B4", "half", "4th"])
        >>> chords = ChordProgression("C:2 G:2").bind(TokenTable.build(NoteTokenizer(), vocab))
        >>> def allowed(tokens):
        ...     ids = np.array([vocab.encode(tokens)], dtype=np.int64).reshape(1, -1)
        ...     out = chords(np.zeros((1, 8)), ids, 0)
        ...     return [t for t in vocab.decode(np.flatnonzero(out[0] > -np.inf)) if t[0] != "<"]
        >>> allowed([]), allowed(["C4", "4th"]), allowed(["C4", "half"])
        (['C4', 'E4', 'G4', 'half', '4th'], ['C4', 'E4', 'G4', 'half', '4th'], \
['G4', 'B4', 'half', '4th'])
        >>> ChordProgression("Bb7 Ebm F#m7b5 Bb/D").readings
        ('Bb7 = Bb D F Ab', 'Ebm = Eb Gb Bb', 'F#m7b5 = F# A C E', 'Bb/D = D F Bb')
    """

    needs_table = True
    lookback = 1  # the time of each stream is its state, moved on by the last id

    def __init__(
        self,
        chords: str,
        per: str | float = "bar",
        *,
        time_signature: str = "4/4",
        strength: float | None = None,
        lowest: str | None = None,
    ) -> None:
        try:
            bar = bar_length(time_signature)
        except ValueError:
            raise ValueError(f"bad time signature {time_signature!r} (give e.g. '3/4')") from None
        default = bar if per == "bar" else _length(per, "per")
        if strength is not None and not float(strength) > 0:
            raise ValueError(f"strength must be > 0 (or None for a constraint), got {strength}")
        if lowest not in _LOWEST:
            raise ValueError(f"lowest must be 'root', 'bass' or None, got {lowest!r}")
        self.chords, self.per, self.time_signature = str(chords), per, time_signature
        self.strength = None if strength is None else float(strength)
        self.lowest = lowest
        self.hard = strength is None
        symbols, lengths, classes, roots, basses, readings = [], [], [], [], [], []
        for item in str(chords).split():
            symbol, sep, length = item.partition(":")
            chord = _read_symbol(symbol, str(chords))
            pcs = tuple(sorted(set(chord.pitchClasses)))
            if not pcs:
                raise ValueError(f"chord symbol {symbol!r} has no pitches")
            symbols.append(symbol)
            lengths.append(_length(length, f"the length of {symbol!r}") if sep else default)
            classes.append(pcs)
            roots.append(chord.root().pitchClass)
            basses.append(chord.bass().pitchClass)
            names = " ".join(_lead_sheet(p.name) for p in chord.pitches)
            readings.append(f"{symbol} = {names}")
        if not symbols:
            raise ValueError("the chord progression has no chords")
        self.symbols = tuple(symbols)
        """The chord symbols, in order."""
        self.lengths = tuple(lengths)
        """Each chord's length in quarter notes."""
        self.pitch_classes = tuple(classes)
        """Each chord's pitch classes (0 = C)."""
        self.targets = tuple(roots if lowest != "bass" else basses)
        """Each chord's pitch class for the lowest voice (its root, or its bass)."""
        self.readings = tuple(readings)
        """What each symbol was read as: its pitches from the bass up, flats as ``b``.

        E.g. ``"Bb7 = Bb D F Ab"``, ``"C/G = G C E"`` (for a command line to
        show: ``", ".join(chords.readings)``).
        """
        self._basses = tuple(basses)
        self._ends = np.cumsum(self.lengths)

    @property
    def duration(self) -> float:
        """The length of the progression once through, in quarter notes."""
        return float(self._ends[-1])

    def chord_at(self, quarters: float | np.ndarray) -> np.ndarray:
        """The index of the chord sounding `quarters` after the start (repeating; 0 before it).

        Examples:
            >>> chords = ChordProgression("Am:2 F:2 C:4")
            >>> chords.chord_at(np.array([0, 1.99, 2, 7.5, 8, 10])).tolist()
            [0, 0, 1, 2, 0, 1]
        """
        at = np.mod(np.maximum(np.asarray(quarters, dtype=np.float64), 0.0), self.duration)
        index = np.searchsorted(self._ends, at + 1e-6, side="right")
        return np.minimum(index, len(self.symbols) - 1)

    def to_piece(self, quarters: float, *, octave: int = 3, velocity: int = 64) -> Piece:
        """The chords as block chords over `quarters` (repeating), e.g. a second track.

        Each chord is its pitch classes stacked upwards from its bass in `octave`.

        Examples:
            >>> piece = ChordProgression("C:2 G/B:2").to_piece(4)
            >>> [(e.offset, e.duration, e.pitches) for e in piece.events]
            [(0.0, 2.0, (48, 52, 55)), (2.0, 2.0, (47, 50, 55))]
        """
        events, at, i = [], 0.0, 0
        while at < quarters - 1e-9:
            bass = self._basses[i % len(self.symbols)]
            base = 12 * (octave + 1) + bass
            base -= 12 if base > 12 * (octave + 1) + 6 else 0  # the bass near the octave's C
            pitches = [base + (pc - bass) % 12 for pc in self.pitch_classes[i % len(self.symbols)]]
            length = min(self.lengths[i % len(self.symbols)], quarters - at)
            events.append(Event(at, length, tuple(sorted(pitches)), velocity))
            at += self.lengths[i % len(self.symbols)]
            i += 1
        return Piece(tuple(events))

    # -- binding and steps ---------------------------------------------------------------

    _clock: Clock | None = None
    _fits: Any = None  # [chords, vocab]: the id carries only chord tones (or no pitch)
    _lowest_ok: Any = None  # [chords, vocab]: its lowest pitch is the chord's target
    _carries: Any = None  # [vocab]: the id carries a pitch
    _bottom: Any = None  # [vocab]: the id's lowest pitch, 128 for none

    def bind(self, table: TokenTable) -> ChordProgression:
        """A copy reading `table`, each chord's allowed ids found once.

        Raises:
            ValueError: for `lowest` with a band's vocabulary.
        """
        if self.lowest and table.band:
            raise ValueError(
                "ChordProgression(lowest=...) cannot steer a band (TrackTokenizer): each event "
                "is one instrument's, so no event holds the lowest voice of the whole band"
            )
        bound = super().bind(table)
        bound._clock = Clock(table)
        inside = np.zeros((len(self.symbols), 128), bool)
        for i, pcs in enumerate(self.pitch_classes):
            inside[i] = np.isin(np.arange(128) % 12, pcs)
        bound._fits = ~(table.pitches[None] & ~inside[:, None]).any(axis=2)
        bound._carries = table.pitches.any(axis=1)
        bound._bottom = np.where(bound._carries, table.pitches.argmax(axis=1), 128)
        bottom = np.where(bound._carries, bound._bottom % 12, -1)
        bound._lowest_ok = (bottom[None] < 0) | (bottom[None] == np.array(self.targets)[:, None])
        return bound

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Forbid (or, with a strength, lower the others below) the ids off the sounding chord."""
        return self.step(logits, ids, start, self.begin(ids, start))

    def begin(self, ids: np.ndarray, start: int) -> tuple[Time, np.ndarray]:
        """Per stream: the music's time after `ids`, and where the prime ended (the chords' 0)."""
        assert self._clock is not None
        prime = self._clock.run(ids[:, :start])
        return self._clock.run(ids[:, start:], prime), prime.time.copy()

    def advance(self, state: tuple[Time, np.ndarray], ids: np.ndarray) -> tuple[Time, np.ndarray]:
        """The time once the last id is read."""
        assert self._clock is not None
        return self._clock.advance(state[0], ids[:, -1]), state[1]

    def take(self, state: tuple[Time, np.ndarray], rows: np.ndarray) -> tuple[Time, np.ndarray]:
        """The states of rows `rows`."""
        return state[0].take(rows), state[1][rows]

    def step(
        self, logits: np.ndarray, ids: np.ndarray, start: int, state: tuple[Time, np.ndarray]
    ) -> np.ndarray:
        """`process` from the time of each stream (`state`)."""
        table = self.table
        assert table is not None and self._fits is not None
        time, zero = state
        chord = self.chord_at(time.time - zero)  # [batch]: the chord at the next onset
        allowed = self._fits[chord]
        if self.lowest:
            allowed = allowed & self._lowest_rule(time, chord, table)
        if self.strength is None:
            return forbid(logits, allowed)
        logits[allowed & self._carries[None]] += self.strength
        return logits

    def _lowest_rule(self, time: Time, chord: np.ndarray, table: TokenTable) -> np.ndarray:
        """``bool [batch, vocab]``: the ids that keep the chord's target the lowest pitch."""
        if not table.note_level:
            return self._lowest_ok[chord]
        target = np.array(self.targets)[chord][:, None]
        bottom = self._bottom[None]
        kinds = table.kinds[None]
        # a pitch after a rest or a pending duration opens a new event: nothing below it yet
        fresh = time.rest | ~np.isnan(time.length) | ~time.pitched
        low = np.where(fresh, 128, time.low)[:, None]
        if table.high_first:  # pitches fall: the event may close only on its target
            closing = (kinds == DURATION) & time.pitched[:, None] & np.isnan(time.length)[:, None]
            low_ok = (low % 12 == target) | (low == 128)
            return ~closing | low_ok
        # pitches rise: the first of an event, or any below it, must be the target
        return (kinds != PITCH) | (bottom >= low) | (bottom % 12 == target)

    def get_config(self) -> dict[str, Any]:
        """The chords, their default length, the metre, the strength and the lowest voice."""
        return {
            "chords": self.chords,
            "per": self.per,
            "time_signature": self.time_signature,
            "strength": self.strength,
            "lowest": self.lowest,
        }


def _read_symbol(symbol: str, chords: str) -> Any:
    """music21's ``ChordSymbol`` of the lead-sheet `symbol` (of `chords`), or a ValueError.

    The flat ``b`` of the root and of a slash bass becomes music21's ``-``
    (``Bb7`` -> ``B-7``, ``C/Gb`` -> ``C/G-``); the rest is left as written. A
    symbol music21 reads with another root or bass than written is refused.
    """
    from music21 import harmony

    def refuse(why: str) -> ValueError:
        return ValueError(
            f"cannot read chord symbol {symbol!r} in {chords!r}: {why}; write e.g. {_SPELLINGS}"
        )

    match = _SYMBOL.fullmatch(symbol)
    if match is None:
        raise refuse("it must begin with a root A-G")
    root, kind, bass = _music21_note(match[1]), match[2], match[3]
    if bass is not None and re.fullmatch(_NOTE, bass) is None:
        raise refuse(f"the bass after '/' must be a note name, got {bass!r}")
    bass = None if bass is None else _music21_note(bass)
    try:
        chord = harmony.ChordSymbol(root + kind + ("" if bass is None else "/" + bass))
        read_root, read_bass = chord.root().name, chord.bass().name
    except Exception as err:  # music21 raises several kinds for text it cannot read
        unknown = "Invalid chord abbreviation" in str(err)
        raise refuse(
            f"music21 knows no chord kind {kind!r}" if unknown else "music21 cannot read it"
        ) from None
    if read_root != root or (bass is not None and read_bass != bass):
        heard = f"{_lead_sheet(read_root)}" + (f"/{_lead_sheet(read_bass)}" if bass else "")
        raise refuse(f"music21 reads it as a chord on {heard}")
    return chord


def _music21_note(name: str) -> str:
    """A lead-sheet note name in music21's spelling: ``"Bb"`` -> ``"B-"``, ``"f#"`` -> ``"F#"``."""
    return name[0].upper() + "".join(_FLATS.get(c, c) for c in name[1:])


def _lead_sheet(name: str) -> str:
    """A music21 note name as lead sheets write it: ``"B-"`` -> ``"Bb"``, ``"B--"`` -> ``"Bbb"``."""
    return name.replace("-", "b")


def _length(value: Any, what: str) -> float:
    """A length in quarter notes > 0, or a ValueError naming `what`."""
    try:
        length = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be 'bar' or a number of quarter notes, got {value!r}"
        ) from None
    if not length > 0:
        raise ValueError(f"{what} must be > 0 quarter notes, got {value!r}")
    return length

"""`Clock`: the time of the music each stream of ids has written so far, kept id by id.

A token's length is its `TokenTable` duration; the clock follows the
tokenizers' decoders exactly, so the time it gives a stream is the onset its
next event gets when the ids are decoded:

- compound spelling (`musegen.tokens.tokenizer.Tokenizer`): every event token
  moves the time on by its duration (0.5 without durations, as the decoder);
- note-level spelling (`musegen.tokens.note_tokenizer.NoteTokenizer`, bands):
  a pitched run or a rest moves it on by its duration when it closes (after its
  velocity, with velocities); a step right after a closed pitched event sets it
  to that event's onset plus the step; runs the decoder drops (a pitch after
  a pending duration, a rest in a run) move nothing, and instrument tokens
  (which the band decoder takes out before decoding) leave everything as it is;
- with bars (``NoteTokenizer(bars=True)``): a ``bar`` sets it to the bar line, one
  bar of the metre in force after the last one (the time itself at the first
  bar), dropping an open run; a metre id sets the length of the bars from there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from musegen.tokens.token_table import (
    BAR,
    DURATION,
    EVENT,
    INSTRUMENT,
    METRE,
    PITCH,
    REST,
    STEP,
    VELOCITY,
    TokenTable,
)

_EPS = 1e-6


@dataclass(frozen=True)
class Time:
    """Per stream: where the music stands, and what the event being written holds so far.

    Attributes:
        time: ``float [batch]``: the onset of the open event, or of the next one.
        last: Onset of the pitched event the last id closed (a step may follow); NaN else.
        pitched: The open event has pitches.
        rest: The open event is a rest.
        length: The open event's duration, given and awaiting its velocity; NaN else.
        low: The lowest pitch of the open event, 128 when it has none.
        bar_at: Where the current bar began; NaN before the first bar.
        bar_length: The length of the bars of the metre in force (4 before a metre id).
    """

    time: np.ndarray
    last: np.ndarray
    pitched: np.ndarray
    rest: np.ndarray
    length: np.ndarray
    low: np.ndarray
    bar_at: np.ndarray
    bar_length: np.ndarray

    @property
    def between(self) -> np.ndarray:
        """``bool [batch]``: no event is open (the last one closed, or none began)."""
        return ~(self.pitched | self.rest)

    def take(self, rows: np.ndarray) -> Time:
        """The streams `rows` (an index array)."""
        return Time(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


class Clock:
    """Advances a `Time` by one id per stream, as the table's tokenizer decodes.

    Args:
        table: The vocabulary's `TokenTable`.

    Examples:
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["C4", "E4", "half", "4th", "+4th"])
        >>> clock = Clock(TokenTable.build(NoteTokenizer(holds=True), vocab))
        >>> clock.run(np.array([vocab.encode(["C4", "E4", "half", "+4th", "C4", "4th"])])).time
        array([2.])
    """

    def __init__(self, table: TokenTable) -> None:
        self.table = table
        self._kinds = table.kinds
        self._lengths = np.nan_to_num(table.durations)
        has = table.pitches.any(axis=1)
        self._bottom = np.where(has, table.pitches.argmax(axis=1), 128)

    def empty(self, batch: int) -> Time:
        """The time of `batch` streams before any id: 0, no event open."""
        nan = np.full(batch, np.nan)
        no = np.zeros(batch, bool)
        return Time(
            np.zeros(batch), nan, no, no, nan.copy(), np.full(batch, 128), nan.copy(),
            np.full(batch, 4.0),
        )  # fmt: skip

    def run(self, ids: np.ndarray, time: Time | None = None) -> Time:
        """The time after `ids` ``[batch, length]`` (from `time`, else from the start)."""
        time = self.empty(len(ids)) if time is None else time
        for column in np.asarray(ids, dtype=np.int64).T:
            time = self.advance(time, column)
        return time

    def advance(self, time: Time, ids: np.ndarray) -> Time:
        """The time once each stream has one id more (`ids` ``[batch]``)."""
        kind = self._kinds[ids]
        length = self._lengths[ids]
        if not self.table.note_level:
            return Time(
                time.time + np.where(kind == EVENT, length, 0.0),
                time.last, time.pitched, time.rest, time.length, time.low, time.bar_at,
                time.bar_length,
            )  # fmt: skip
        open_run = time.pitched | time.rest
        # a step right after a closed pitched event moves the next onset
        step = (kind == STEP) & ~np.isnan(time.last) & ~open_run
        onset = np.where(step, time.last + length, time.time)
        # a pitch after a rest or a pending duration, or a rest in a run: the decoder drops the run
        dropped = ((kind == PITCH) & (time.rest | ~np.isnan(time.length))) | (
            (kind == REST) & open_run
        )
        pitched = np.where(dropped, False, time.pitched)
        rest = np.where(dropped, False, time.rest)
        pending = np.where(dropped, np.nan, time.length)
        low = np.where(dropped, 128, time.low)
        pitched = pitched | (kind == PITCH)
        low = np.where(kind == PITCH, np.minimum(low, self._bottom[ids]), low)
        rest = rest | (kind == REST)
        takes = (kind == DURATION) & (pitched | rest) & np.isnan(pending)
        pending = np.where(takes, length, pending)
        closes = (takes & (rest | (not self.table.velocities))) | (
            (kind == VELOCITY) & pitched & ~np.isnan(pending)
        )
        last = np.where(closes & pitched, onset, np.nan)
        onset = np.where(closes, onset + np.nan_to_num(pending), onset)
        # instrument ids (the band decoder takes these out first) and metre ids move nothing
        transparent = (kind == INSTRUMENT) | (kind == METRE)
        bar = kind == BAR  # drops an open run, moves the time to the bar line
        bar_at = np.where(
            bar, np.where(np.isnan(time.bar_at), time.time, time.bar_at + time.bar_length),
            time.bar_at,
        )  # fmt: skip
        metre = (kind == METRE) & ~open_run
        return Time(
            np.where(bar, bar_at, np.where(transparent, time.time, onset)),
            np.where(bar | (kind == METRE), np.nan, np.where(transparent, time.last, last)),
            np.where(transparent, time.pitched, pitched & ~closes & ~bar),
            np.where(transparent, time.rest, rest & ~closes & ~bar),
            np.where(
                bar | (~transparent & closes), np.nan, np.where(transparent, time.length, pending)
            ),
            np.where(transparent, time.low, np.where(closes | bar, 128, low)),
            bar_at,
            np.where(metre, length, time.bar_length),
        )

    def may_step(self, time: Time) -> np.ndarray:
        """``bool [batch]``: a step could still move the next onset (one just closed)."""
        return ~np.isnan(time.last) if self.table.holds else np.zeros(len(time.time), bool)


class LengthStop:
    """Where each stream's music reaches a length, ending on a whole event.

    A stream ends after the id that closes its last event once no event of it
    can start before `quarters` (counted from `zero`, the time after the prime):
    its next event would begin at or after the length. With steps
    (``holds=True``, bands) that is known one id later: the id after a closed
    event may be a step back into the length.

    Args:
        clock: The stream's `Clock`.
        time: The streams' `Time` after the prime.
        quarters: The length in quarter notes (> 0).

    Examples:
        >>> from musegen.tokens.tokenizer import Tokenizer
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["C4", "E4"])  # half a quarter each, without durations
        >>> clock = Clock(TokenTable.build(Tokenizer(), vocab))
        >>> stop = LengthStop(clock, clock.empty(1), 1.0)
        >>> [stop.update(np.array([2]), t) for t in range(3)], stop.ends.tolist()
        ([False, True, True], [2])
    """

    def __init__(self, clock: Clock, time: Time, quarters: float) -> None:
        if not quarters > 0:
            raise ValueError(f"the length must be > 0 quarter notes, got {quarters}")
        self.clock, self.time, self.zero = clock, time, time.time.copy()
        self.quarters = float(quarters)
        batch = len(time.time)
        self.ends = np.full(batch, -1)
        """Per stream: how many generated ids it keeps (-1 while it runs on)."""
        self._pending = np.full(batch, -1)  # a closed event's position, awaiting a step or not

    def update(self, ids: np.ndarray, position: int) -> bool:
        """Take each stream's id at generated `position`; True once every stream has ended."""
        running = self.ends < 0
        was_pending = self._pending >= 0
        self.time = self.clock.advance(self.time, ids)
        reached = self.time.time - self.zero >= self.quarters - _EPS
        # a pending end stands unless this id was a step back into the length
        settled = running & was_pending & ~(self.clock._kinds[ids] == STEP)
        settled |= running & was_pending & reached & self.time.between
        self.ends[settled] = self._pending[settled]
        self._pending[settled | ~reached] = -1
        at_end = running & ~settled & reached & self.time.between
        wait = at_end & self.clock.may_step(self.time)
        self._pending[wait] = position + 1
        done = at_end & ~wait
        self.ends[done] = position + 1
        return bool((self.ends >= 0).all())

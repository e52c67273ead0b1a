"""`TokenTable`: what every id of a vocabulary means, as arrays, for logits processors.

Built once per (tokenizer, vocabulary) from `Tokenizer.describe`, it answers the
questions a processor asks at every step with array lookups only: which pitches
an id carries, which ids are durations, which ids may come next (the
spelling's grammar), and where events close.

The grammar of a note-level spelling (`musegen.tokens.note_tokenizer.NoteTokenizer`)::

    event  := [instrument] pitch+ duration [velocity] [step]   pitches rising (or falling)
            | rest duration
            | bar [metre]                                      (``bars=True``)

Pitches fall instead with ``high_first``; an instrument token opens a band's
event (`musegen.tokens.track_tokenizer.TrackTokenizer`). A velocity comes after the
duration exactly when the tokenizer has velocities; a step only with
``holds=True`` and only after a pitched event. What may come next depends on
the last two ids alone, so the table keeps one row of allowed ids per
*context*: the last id, or ``rest + duration`` (a closed rest), or the start.
In the compound spelling (`musegen.tokens.tokenizer.Tokenizer`) every token is a whole
event, so every known event token may come at any time.

Examples:
    >>> from musegen.tokens.note_tokenizer import NoteTokenizer
    >>> from musegen.tokens.vocabulary import Vocabulary
    >>> tokenizer = NoteTokenizer()
    >>> vocab = Vocabulary(["C4", "E4", "4th", "rest"])
    >>> table = TokenTable.build(tokenizer, vocab)
    >>> [vocab.decode([i])[0] for i in np.flatnonzero(table.allowed_next(np.array([[2]]))[0])]
    ['E4', '4th']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from musegen.tokens.tokenizer import DurationBuckets, Tokenizer
from musegen.tokens.vocabulary import Vocabulary

__all__ = ["KINDS", "TokenTable"]

KINDS = (
    "unknown", "event", "pitch", "rest", "duration", "velocity", "step", "instrument", "bar",
    "metre",
)  # fmt: skip
"""Kind codes of `TokenTable.kinds`: its values index this tuple."""
UNKNOWN, EVENT, PITCH, REST, DURATION, VELOCITY, STEP, INSTRUMENT, BAR, METRE = range(len(KINDS))


@dataclass(frozen=True, eq=False)
class TokenTable:
    """Per id of a vocabulary: its kind, pitches and duration; and the spelling's grammar.

    Attributes:
        kinds: ``int8 [vocab]``, an index into `KINDS` (reserved ids are unknown).
        pitches: ``bool [vocab, 128]``: the MIDI pitches each id carries.
        durations: ``float64 [vocab]``: the length of an event, duration or step id, the
            bar length of a metre id; NaN else.
        note_level: The ids are parts of events (pitches, durations, ...), not whole events.
        velocities: A note-level pitched event ends with a velocity id.
        holds: A note-level pitched event may be followed by a step id.
        high_first: A note-level event spells its pitches from the highest down.
        buckets: The tokenizer's duration buckets, or None.
        band: Ids name instruments (`musegen.tokens.track_tokenizer.TrackTokenizer`): an
            event is one instrument's, and events at one onset follow a zero step.

    Examples:
        >>> from musegen.tokens.tokenizer import Tokenizer
        >>> table = TokenTable.build(Tokenizer.seed(), Vocabulary(["C4,E4_long_v81", "rest_short"]))
        >>> [KINDS[k] for k in table.kinds], table.top.tolist()
        (['unknown', 'unknown', 'event', 'event'], [-1, -1, 64, -1])
    """

    kinds: np.ndarray
    pitches: np.ndarray
    durations: np.ndarray
    note_level: bool
    velocities: bool
    holds: bool
    high_first: bool = False
    buckets: DurationBuckets | None = None
    band: bool = False

    @classmethod
    def build(cls, tokenizer: Tokenizer, vocabulary: Vocabulary) -> TokenTable:
        """The table of `vocabulary`'s ids as `tokenizer` reads them (`Tokenizer.describe`).

        Raises:
            TypeError: if the tokenizer has no ``describe`` (a custom tokenizer
                that does not subclass `Tokenizer`).
        """
        describe = getattr(tokenizer, "describe", None)
        if describe is None:
            raise TypeError(
                f"{type(tokenizer).__name__} has no describe(token): processors that read "
                "pitches or a grammar need a musegen Tokenizer (or a subclass)"
            )
        size = len(vocabulary)
        kinds = np.zeros(size, np.int8)
        pitches = np.zeros((size, 128), bool)
        durations = np.full(size, np.nan)
        reserved = set(vocabulary.reserved_ids)
        band = False
        for i, token in enumerate(vocabulary.decode(range(size))):
            if i in reserved:
                continue
            info = describe(token)
            band = band or info.instrument is not None
            kinds[i] = KINDS.index(info.kind)
            pitches[i, list(info.pitches)] = True
            if info.duration is not None:
                durations[i] = info.duration
        note_level = bool(np.isin(kinds, (PITCH, DURATION)).any())
        return cls(
            kinds,
            pitches,
            durations,
            note_level=note_level,
            velocities=note_level and tokenizer.velocities is not None,
            holds=note_level and bool(getattr(tokenizer, "holds", False)),
            high_first=note_level and bool(getattr(tokenizer, "high_first", False)),
            buckets=tokenizer.durations,
            band=band,
        )

    def __len__(self) -> int:
        return len(self.kinds)

    @cached_property
    def top(self) -> np.ndarray:
        """``int [vocab]``: the highest pitch of each id, -1 for ids without pitches."""
        return np.where(self.pitches.any(axis=1), 127 - self.pitches[:, ::-1].argmax(axis=1), -1)

    def snap(self, duration: float) -> float:
        """The length a duration is written as: its bucket's value (itself without buckets).

        Examples:
            >>> from musegen.tokens.note_tokenizer import NoteTokenizer
            >>> TokenTable.build(NoteTokenizer(), Vocabulary(["C4"])).snap(0.9)
            1.0
        """
        if self.buckets is None:
            return float(duration)
        return self.buckets.values[self.buckets.index(duration)]

    # -- the grammar --------------------------------------------------------------------

    @cached_property
    def _follow(self) -> np.ndarray:
        """``bool [vocab + 2, vocab]``: ids allowed after each context (see `contexts`)."""
        size = len(self)
        kinds = self.kinds
        if not self.note_level:  # whole events: any known event, any time
            return np.broadcast_to(kinds == EVENT, (size + 2, size))
        pitch, rest = kinds == PITCH, kinds == REST
        opening = pitch | rest | (kinds == INSTRUMENT) | (kinds == BAR)  # what may start an event
        after_pitched = opening | (kinds == STEP) if self.holds else opening
        follow = np.zeros((size + 2, size), bool)
        follow[:] = opening  # the start, unknown ids, steps, a closed rest
        by_id = follow[:size]  # a view: the rows of the contexts that are the last id
        by_id[rest] = kinds == DURATION
        by_id[kinds == DURATION] = (kinds == VELOCITY) if self.velocities else after_pitched
        by_id[kinds == VELOCITY] = after_pitched
        top = self.top
        onward = top[None, :] > top[:, None]  # [last pitch, next pitch]: rising
        if self.high_first:
            onward = (top[None, :] < top[:, None]) & (top[None, :] >= 0)
        by_id[pitch] = ((onward & pitch) | (kinds == DURATION))[pitch]
        by_id[kinds == INSTRUMENT] = pitch  # an instrument token opens its pitches
        by_id[kinds == BAR] = opening | (kinds == METRE)  # a metre only right after a bar
        by_id[kinds == METRE] = opening
        return follow

    def contexts(self, ids: np.ndarray) -> np.ndarray:
        """``int [batch]``: the grammar context after each row of `ids` ``[batch, time]``.

        The last id, or ``vocab`` after a rest and its duration, or ``vocab + 1`` at the start.
        """
        size = len(self)
        if ids.shape[1] == 0:
            return np.full(len(ids), size + 1)
        last = ids[:, -1]
        if ids.shape[1] == 1 or not self.note_level:
            return last
        closed_rest = (self.kinds[last] == DURATION) & (self.kinds[ids[:, -2]] == REST)
        return np.where(closed_rest, size, last)

    def allowed_next(self, ids: np.ndarray) -> np.ndarray:
        """``bool [batch, vocab]``: the ids that keep each row of `ids` decodable."""
        return self._follow[self.contexts(ids)]

    def closes(self, ids: np.ndarray) -> np.ndarray:
        """``bool [batch, time]``: True where an id completes an event.

        An event token; in a note-level spelling, a velocity, or a duration after
        a rest (or after a pitch when there are no velocities).
        """
        kinds = self.kinds[ids]
        if not self.note_level:
            return kinds == EVENT
        before = np.concatenate([np.full((len(ids), 1), UNKNOWN, np.int8), kinds[:, :-1]], axis=1)
        closing_before = (before == REST) | ((before == PITCH) & (not self.velocities))
        return (kinds == VELOCITY) | ((kinds == DURATION) & closing_before)

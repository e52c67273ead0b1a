"""`MelodyConstraint`: each generated event carries the melody's next note on top (harmonising)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from musegen.events import Piece
from musegen.generation.processors.base import BaseProcessor, forbid
from musegen.tokens.token_table import DURATION, EVENT, PITCH, REST, VELOCITY, TokenTable

__all__ = ["MelodyConstraint"]


class MelodyConstraint(BaseProcessor):
    """The k-th generated event has the melody's k-th pitch as its top note and its duration.

    The model chooses everything else: the pitches below the melody note (the
    other voices) and, with velocities, the velocity. A melody rest makes a
    rest of its length.

    Harmonising works best with a spelling that writes each event from its
    highest pitch down (``NoteTokenizer(high_first=True)``, the ``notes-high``
    encoding): the melody note comes first and the model chooses the voices
    below knowing it. Spelt low to high, the voices below are chosen before the
    model sees the melody note; where it would close the chord before reaching
    it (or rest), that probability moves to the melody note, which completes
    the chord on top. Events are counted from the first generated id, so the
    prime should end with a complete event; once the melody is used up the
    model goes on freely. The spelling's grammar (`GrammarConstraint`) applies
    too, and steps (``holds=True``) are forbidden: every voice moves with the
    melody.

    Args:
        melody: ``(pitch, duration)`` per melody event: a MIDI pitch, or None
            for a rest, and its length in quarter notes (written as the
            tokenizer's nearest duration bucket).

    Raises:
        ValueError: for an empty melody, a pitch outside 0..127 or a duration <= 0.

    Examples:
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> from musegen.tokens.vocabulary import Vocabulary
        >>> vocab = Vocabulary(["C3", "G3", "E4", "G4", "4th", "half", "rest"])
        >>> melody = MelodyConstraint([(67, 1.0), (64, 2.0)])
        >>> melody = melody.bind(TokenTable.build(NoteTokenizer(), vocab))
        >>> def allowed(tokens):
        ...     ids = np.array([vocab.encode(tokens)], dtype=np.int64)
        ...     return vocab.decode(np.flatnonzero(melody(np.zeros((1, 9)), ids, 0) > -np.inf))
        >>> allowed([]), allowed(["C3", "G4"]), allowed(["C3", "G4", "4th"])
        (['C3', 'G3', 'E4', 'G4'], ['4th'], ['C3', 'G3', 'E4'])
    """

    needs_table = True
    hard = True
    lookback = 2  # the grammar's context; the events so far are counted in the state

    def __init__(self, melody: Iterable[Sequence[Any]]) -> None:
        notes = [(None if p is None else int(p), float(d)) for p, d in melody]
        if not notes:
            raise ValueError("the melody has no events")
        for pitch, duration in notes:
            if (pitch is not None and not 0 <= pitch <= 127) or not duration > 0:
                raise ValueError(
                    f"bad melody event ({pitch}, {duration}): "
                    "give a pitch 0..127 or None, and a duration > 0"
                )
        self.melody = notes

    @classmethod
    def from_piece(cls, piece: Piece) -> MelodyConstraint:
        """The melody of a one-voice piece: each event's top pitch (None for a rest) and duration.

        Examples:
            >>> from musegen.events import Event
            >>> MelodyConstraint.from_piece(Piece((Event(0, 1, (67,)), Event(1, 2)))).melody
            [(67, 1.0), (None, 2.0)]
        """
        return cls([(max(e.pitches) if e.pitches else None, e.duration) for e in piece.events])

    _pitch: np.ndarray | None = None
    _duration: np.ndarray | None = None

    def bind(self, table: TokenTable) -> MelodyConstraint:
        """A copy reading `table`; the melody's durations become the tokenizer's buckets.

        Raises:
            ValueError: for a band's vocabulary (a `TrackTokenizer`'s), or a
                melody event no id of the vocabulary can write (naming it).
        """
        if table.band:
            raise ValueError(
                "MelodyConstraint cannot steer a band (TrackTokenizer): each of its events is "
                "one instrument's, so no event carries the whole harmony under the melody note"
            )
        bound = super().bind(table)
        bound._pitch = np.array([-1 if p is None else p for p, _ in self.melody])
        bound._duration = np.array([table.snap(d) for _, d in self.melody])
        _check_writable(table, bound._pitch, bound._duration)
        return bound

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Forbid what the grammar forbids, and what would not give the melody's next event."""
        return self.step(logits, ids, start, self.begin(ids, start))

    def begin(self, ids: np.ndarray, start: int) -> tuple[np.ndarray, int]:
        """Per row, the events generated so far; and how many ids were generated."""
        assert self.table is not None
        return self.table.closes(ids[:, start:]).sum(axis=1), ids.shape[1] - start

    def advance(self, state: tuple[np.ndarray, int], ids: np.ndarray) -> tuple[np.ndarray, int]:
        """Count the event the last id closes (the first generated id has nothing before it)."""
        assert self.table is not None
        events, generated = state
        last = self.table.closes(ids[:, -2:] if generated else ids[:, -1:])[:, -1]
        return events + last, generated + 1

    def take(self, state: tuple[np.ndarray, int], rows: np.ndarray) -> tuple[np.ndarray, int]:
        """The counts of rows `rows`."""
        return state[0][rows], state[1]

    def step(
        self, logits: np.ndarray, ids: np.ndarray, start: int, state: tuple[np.ndarray, int]
    ) -> np.ndarray:
        """`process` from the events counted so far (`state`) and the last two ids."""
        table = self.table
        assert table is not None and self._pitch is not None and self._duration is not None
        allowed = table.allowed_next(ids)
        k = state[0]  # events generated so far, per row
        active = k < len(self._pitch)
        if not active.any():
            return forbid(logits, allowed)
        k = np.minimum(k, len(self._pitch) - 1)
        pitch, duration = self._pitch[k][:, None], self._duration[k][:, None]  # [batch, 1]
        kinds, top = table.kinds[None], table.top[None]
        right_length = np.isclose(table.durations[None], duration)
        if not table.note_level:
            melody = (kinds == EVENT) & (top == pitch) & right_length
        else:
            last = ids[:, -1] if ids.shape[1] else np.full(len(ids), -1)
            context = table.contexts(ids)
            last_kind = np.where(
                context < len(table), table.kinds[np.minimum(context, len(table) - 1)], -1
            )
            last_top = np.where(last_kind == PITCH, table.top[last], -1)[:, None]
            if table.high_first:  # the melody note first, then the voices below (the grammar)
                opening = np.where(pitch < 0, kinds == REST, (kinds == PITCH) & (top == pitch))
                in_chord = (kinds == PITCH) | ((kinds == DURATION) & right_length)
            else:  # the voices below first, rising, then the melody note
                opening = np.where(pitch < 0, kinds == REST, (kinds == PITCH) & (top <= pitch))
                in_chord = np.where(
                    last_top == pitch,
                    (kinds == DURATION) & right_length,
                    (kinds == PITCH) & (top <= pitch),
                )
            melody = np.select(
                [
                    (last_kind == PITCH)[:, None],
                    (last_kind == REST)[:, None],
                    ((last_kind == DURATION) & table.velocities)[:, None],
                ],
                [in_chord, (kinds == DURATION) & right_length, kinds == VELOCITY],
                default=opening,
            )
            if not table.high_first:  # closing the chord (or resting) before the melody note
                target = (kinds == PITCH) & (top == pitch) & melody & active[:, None]
                closing = allowed & ~melody & np.isin(kinds, (DURATION, REST))
                _move_probability(logits, closing & target.any(axis=1, keepdims=True), target)
        return forbid(logits, allowed & (melody | ~active[:, None]))

    def get_config(self) -> dict[str, Any]:
        """The melody as ``[pitch or None, duration]`` pairs."""
        return {"melody": [[p, d] for p, d in self.melody]}


def _move_probability(logits: np.ndarray, source: np.ndarray, target: np.ndarray) -> None:
    """Give each row's `target` id (one at most) the probability of itself and its `source` ids.

    In place, on logits: the target's logit becomes the log-sum-exp of the logits of
    the target and sources (the sources are forbidden afterwards by the caller).
    """
    pooled = np.where(source | target, logits, -np.inf)
    peak = pooled.max(axis=1, keepdims=True)
    rows = np.flatnonzero(target.any(axis=1) & np.isfinite(peak[:, 0]))
    if rows.size:
        total = peak[rows, 0] + np.log(np.exp(pooled[rows] - peak[rows]).sum(axis=1))
        logits[rows, target[rows].argmax(axis=1)] = total


def _check_writable(table: TokenTable, pitches: np.ndarray, durations: np.ndarray) -> None:
    """Raise, naming the first melody event whose pitch, rest or length no id can write."""
    kinds = table.kinds
    whole = kinds == EVENT if not table.note_level else kinds == DURATION
    lengths = np.unique(table.durations[whole & ~np.isnan(table.durations)])
    for i, (pitch, length) in enumerate(zip(pitches.tolist(), durations.tolist(), strict=True)):
        if not np.isclose(lengths, length).any():
            raise ValueError(
                f"MelodyConstraint: melody event {i} lasts {length:g} quarter notes, a length no "
                f"token of this vocabulary has (its lengths: {lengths.tolist()})"
            )
        if pitch < 0:
            rest = kinds == REST if table.note_level else (kinds == EVENT) & (table.top < 0)
            if not rest.any():
                raise ValueError(f"MelodyConstraint: melody event {i} is a rest, and no token is")
        elif not (table.top == pitch).any():
            raise ValueError(
                f"MelodyConstraint: melody event {i} has pitch {pitch}, which no token carries"
            )

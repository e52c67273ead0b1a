"""`FrameTokenizer`: music on a grid, each step spelt as the pitches sounding then.

The polyphonic-music benchmarks (the JSB Chorales of Boulanger-Lewandowski et
al. 2012, `musegen.datasets.jsb_chorales`) see music as frames: one per quarter
note, each the set of pitches sounding at that time, held and repeated notes
alike. `FrameTokenizer` spells a frame note by note, its pitches low to high,
closed by a step token (``4th`` for quarter-note frames); a silent frame is
``rest 4th``; a start token opens each piece, so that the first frame is
predicted too and a model's NLL per frame counts every frame::

    start C3 G3 E4 C5 4th C3 G3 E4 D5 4th ...

With ``bars=True`` a ``bar`` token comes before the first frame of each bar,
and the metre (``4/4``) after the first ``bar`` and wherever it changes, as
`NoteTokenizer` writes them with ``bars=True``; a pickup's frames come before
the first ``bar``::

    start G4 4th bar 4/4 C3 G3 E4 C5 4th ... 4th bar C3 ...   a one-quarter pickup

It is a `musegen.tokens.note_tokenizer.NoteTokenizer` with one duration bucket,
so every processor, the grammar and `TokenTable` work on it unchanged (the
``bar`` and metre tokens too: a ``bar`` moves the decoded time to the next bar
line, as `musegen.generation._clock.Clock` follows it); decoding gives one event
per frame (a frame's notes last one step) and, with bars, the metre map.

Examples:
    >>> from musegen.events import Event, Piece
    >>> tok = FrameTokenizer()
    >>> piece = Piece((Event(0, 2, (48, 64)), Event(1, 1, (67,))))
    >>> tok.encode(piece)
    ['start', 'C3', 'E4', '4th', 'C3', 'E4', 'G4', '4th']
    >>> [e.pitches for e in tok.decode(tok.encode(piece)).events]
    [(48, 64), (48, 64, 67)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from typing_extensions import Self

from musegen._metre import bar_length as bar_length_of
from musegen._metre import metre_of_length
from musegen.events import DEFAULT_VELOCITY, Piece
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.tokenizer import _EPS, DurationBuckets

__all__ = ["FrameTokenizer"]

_STEP_NAMES = {1.0: "4th", 0.5: "8th", 0.25: "16th", 2.0: "half"}


class FrameTokenizer(NoteTokenizer):
    """Frames of a grid: each step's sounding pitches low to high, then a step token.

    A pitch sounds in the frame at time ``t`` when its event starts at or before
    ``t`` and ends after it, so a note shorter than a step between two grid
    times is not seen (the benchmarks' convention).

    With ``bars=True`` the piece's bar lines (`Piece.bar_lines`) are written as
    ``bar`` tokens before the frames they fall on, a bar line between two grid
    times before the frame after it. Decoding moves each ``bar`` one bar of the
    metre in force after the one before (the first ``bar`` sits where the pickup's
    frames end), so every bar must be a whole number of steps long: a metre such
    as 7/8 on a quarter-note grid, or a bar cut short by a metre change, cannot be
    written (ValueError). A pickup between two grid times is rounded up to the
    grid.

    Args:
        step: The grid's step in quarter notes (1.0: the JSB benchmark's frames).
        start: Open each piece with `start_text`.
        bars: Write a ``bar`` token at each bar line and the metre at the first bar
            and where it changes (encoding ``frames-bars``).
        default_velocity: Velocity of the decoded notes.

    Raises:
        ValueError: for a step that is not positive.

    Examples:
        >>> from musegen.events import Event, Piece
        >>> FrameTokenizer(0.5, start=False).encode(Piece((Event(0, 0.5, (60,)),
        ...                                                Event(1, 0.5, (62,)))))
        ['C4', '8th', 'rest', '8th', 'D4', '8th']
        >>> waltz = Piece((Event(0, 4, (67,)),), time_signature="3/4", pickup=1.0)
        >>> FrameTokenizer(bars=True).encode(waltz)
        ['start', 'G4', '4th', 'bar', '3/4', 'G4', '4th', 'G4', '4th', 'G4', '4th']
    """

    start_text = "start"
    """The token that opens a piece (``start=True``)."""

    def __init__(
        self,
        step: float = 1.0,
        *,
        start: bool = True,
        bars: bool = False,
        default_velocity: int = DEFAULT_VELOCITY,
    ) -> None:
        if not step > 0:
            raise ValueError(f"step must be > 0 quarter notes, got {step}")
        self.step = float(step)
        self.start = bool(start)
        name = _STEP_NAMES.get(self.step, f"step{self.step:g}")
        super().__init__(
            durations=DurationBuckets((), (name,), (self.step,)),
            rests=True,
            default_velocity=default_velocity,
        )
        self.bars = bool(bars)  # NoteTokenizer's bar and metre tokens, without its steps

    @property
    def step_text(self) -> str:
        """The token that closes a frame (``4th`` for quarter-note frames)."""
        assert self.durations is not None
        return self.durations.names[0]

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration; `from_config` rebuilds an equal tokenizer."""
        config: dict[str, Any] = {"step": self.step, "start": self.start}
        if self.bars:  # a tokenizer of an older release reads configurations without it
            config["bars"] = True
        return {**config, "default_velocity": self.default_velocity}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild a tokenizer from `get_config` output."""
        return cls(**config)

    def frames(self, piece: Piece) -> list[tuple[int, ...]]:
        """The pitches sounding at each grid time of `piece`, low to high.

        The piece lasts ``ceil(piece.duration / step)`` frames (rests count).

        Examples:
            >>> from musegen.events import Event, Piece
            >>> FrameTokenizer().frames(Piece((Event(0, 1.5, (60,)), Event(0.5, 2, (64,)))))
            [(60,), (60, 64), (64,)]
        """
        count = max(0, math.ceil(piece.duration / self.step - _EPS))
        frames: list[set[int]] = [set() for _ in range(count)]
        for event in piece.events:
            if not event.pitches:
                continue
            first = math.ceil(event.offset / self.step - _EPS)
            last = math.ceil(event.end / self.step - _EPS)  # frames first..last-1
            for k in range(first, min(last, count)):
                frames[k].update(event.pitches)
        return [tuple(sorted(f)) for f in frames]

    def encode(self, piece: Piece) -> list[str]:
        """The tokens of `piece`: [start], then per frame its pitches and the step token.

        Examples:
            >>> from musegen.events import Event, Piece
            >>> FrameTokenizer().encode(Piece((Event(1, 1, (60, 67)),)))
            ['start', 'rest', '4th', 'C4', 'G4', '4th']
        """
        names: dict[int, str] = {}
        tokens = [self.start_text] if self.start else []
        step, rest = self.step_text, self.rest_text
        frames = self.frames(piece)
        bars = self.bar_frames(piece, len(frames)) if self.bars else {}
        for k, frame in enumerate(frames):
            if k in bars:
                tokens.append(self.bar_text)
                if bars[k]:
                    tokens.append(bars[k])
            if not frame:
                tokens += (rest, step)
                continue
            for p in frame:
                name = names.get(p)
                if name is None:
                    name = names[p] = self.pitches_to_text((p,))
                tokens.append(name)
            tokens.append(step)
        return tokens

    def bar_frames(self, piece: Piece, count: int | None = None) -> dict[int, str]:
        """The frames a bar begins at: frame index -> the metre written after its ``bar``.

        The metre is ``""`` where it does not change. `count` is the number of
        frames (default: all of `piece`'s).

        Raises:
            ValueError: when a bar is not a whole number of steps long (the decoder
                could not put its ``bar`` back on the grid).

        Examples:
            >>> from musegen.events import Event, Piece
            >>> piece = Piece((Event(0, 9, (60,)),), pickup=1.0,
            ...               time_signature_changes=((5.0, "2/4"),))
            >>> FrameTokenizer().bar_frames(piece)
            {1: '4/4', 5: '2/4', 7: ''}
        """
        count = len(self.frames(piece)) if count is None else count
        metres = [(0.0, piece.time_signature)] + [
            (float(at), s) for at, s in piece.time_signature_changes if at > 0
        ]
        found: dict[int, str] = {}
        decoded: float | None = None  # where the decoder will put this bar line
        length, metre = 0.0, ""
        ahead = piece.bar_lines(end=count * self.step + 64.0)  # each bar line's next
        for index, line in enumerate(piece.bar_lines(end=count * self.step)):
            k = math.ceil(line / self.step - _EPS)
            if k >= count:
                break
            if decoded is None:  # the first bar line: where the pickup's frames end
                decoded = k * self.step
            else:
                decoded += length
                if abs(decoded - k * self.step) > _EPS:
                    raise ValueError(
                        f"the bar line at {line:g} quarter notes falls at frame {k}, but a bar "
                        f"of {metre} after the one before ends at {decoded:g}: bars=True needs "
                        f"bars of whole steps of {self.step:g} (source {piece.source!r})"
                    )
            signature = [s for at, s in metres if at <= line + _EPS][-1]
            if index + 1 < len(ahead):  # a bar cut short (or lengthened): a metre of its own
                signature = metre_of_length(ahead[index + 1] - line, signature)
            length = bar_length_of(signature)
            found[k] = signature if signature != metre else ""
            metre = signature
        return found

    def decode_with_skipped(self, tokens: Iterable[str]) -> tuple[Piece, list[tuple[int, str]]]:
        """A piece of one event per frame, and the skipped tokens (start tokens are not).

        Examples:
            >>> piece, skipped = FrameTokenizer().decode_with_skipped(
            ...     ["start", "C4", "4th", "4th", "E4", "4th"])
            >>> [(e.offset, e.pitches) for e in piece.events], skipped
            ([(0.0, (60,)), (1.0, (64,))], [(3, '4th')])
        """
        piece, skipped = super().decode_with_skipped(tokens)
        skipped = [(i, t) for i, t in skipped if t != self.start_text]
        changes = piece.time_signature_changes
        if changes and piece.pickup > 0 and abs(changes[0][0] - piece.pickup) < _EPS:
            # the metre after the first bar is the piece's, its pickup's too (NoteTokenizer
            # reads it as a change at the first bar line: the same bar lines)
            piece = replace(piece, time_signature=changes[0][1], time_signature_changes=changes[1:])
        return piece, skipped

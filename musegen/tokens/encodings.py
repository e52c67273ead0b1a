"""The encodings by name: the seed's tokenizers and the note-level ones.

`musegen train --encoding NAME`, the benches and the examples pick a tokenizer
from here; `musegen.defaults.TRAINING.encoding` names the default one.

Examples:
    >>> from musegen.defaults import TRAINING
    >>> TRAINING.encoding in encodings()
    True
"""

from __future__ import annotations

from musegen.tokens.frame_tokenizer import FrameTokenizer
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.tokenizer import (
    DurationBuckets,
    Tokenizer,
    VelocityBuckets,
    seed_configurations,
)

__all__ = ["encodings"]


def encodings() -> dict[str, Tokenizer]:
    """Tokenizers by name: the seed's five (`seed_configurations`) and the note-level ones.

    - ``notes``: one token per pitch, eight note values, no velocity, and each
      event keeps its own length (``NoteTokenizer(holds=True)``).
    - ``notes-cut``: the same with the seed's timing (an event is shortened to
      the next onset; `NoteTokenizer.fine`).
    - ``notes-seed``: the seed's final information (3 duration buckets, 4 velocity
      levels) spelt one token per pitch / duration / velocity.
    - ``notes-high``: ``notes`` with each event's pitches from the highest down,
      for harmonising a melody (``examples/harmonize.py``).
    - ``notes-bars``: ``notes`` with a ``bar`` token at each bar line and the metre
      (``3/4``) at the first bar and where it changes (``NoteTokenizer(bars=True)``).
    - ``frames``: a frame per quarter note, its sounding pitches then a step
      token (`FrameTokenizer`, the JSB benchmark's view: ``bench/jsb.py``).
    - ``frames-bars``: ``frames`` with ``bar`` and metre tokens as ``notes-bars``.

    Examples:
        >>> from musegen.events import Event, Piece
        >>> list(encodings())[4:]  # doctest: +NORMALIZE_WHITESPACE
        ['final', 'notes', 'notes-cut', 'notes-seed', 'notes-high', 'notes-bars', 'frames',
         'frames-bars']
        >>> encodings()["notes"].encode(Piece((Event(0, 1, (60, 64)),)))
        ['C4', 'E4', '4th']
    """
    return {
        **seed_configurations(),
        "notes": NoteTokenizer(holds=True),
        "notes-cut": NoteTokenizer.fine(),
        "notes-seed": NoteTokenizer(
            durations=DurationBuckets.seed(), velocities=VelocityBuckets.seed()
        ),
        "notes-high": NoteTokenizer(holds=True, high_first=True),
        "notes-bars": NoteTokenizer(holds=True, bars=True),
        "frames": FrameTokenizer(),
        "frames-bars": FrameTokenizer(bars=True),
    }

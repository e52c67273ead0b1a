"""Song structure: a ``bar`` token at the start of every measure (the seed's first "further work").

    python examples/song_structure.py

The seed's tokens are one continuous stream of notes; its write-up suggests
giving the network the music's structure, "such as bars and measures". This
recipe does it with a small `Tokenizer` subclass, `BarTokenizer`:

- ``encode`` tokenizes each measure on its own (the parent's encoding, rests
  included, timed from the bar line) and puts a ``bar`` token before it;
- ``decode_with_skipped`` (which ``decode`` calls) decodes each measure with
  the parent's decoder and starts it on its bar line, so durations that do not
  fill a measure exactly no longer shift everything after them;
- ``get_config`` adds ``bar_length``, so ``save``/``load`` and bundles keep it.

For the library's note-level spelling the same idea is built in:
``NoteTokenizer(holds=True, bars=True)`` (``musegen train --encoding notes-bars``)
reads each piece's own metre, pickup and metre changes, and generation keeps the
model's bars (docs/tokenizer.md, "Bars and metre"). This recipe shows how to
add such a token to a tokenizer of your own.

The text hooks of `Tokenizer` (``pitches_to_text`` and friends) change how one
event is written; a token that is not an event, like ``bar``, needs ``encode``
and ``decode_with_skipped`` overridden, as here.

The script keeps the pieces whose time signature has bars of ``--bar-length``
quarter notes (4/4 by default), trains a chunk model, generates with top-k 7,
and prints how full the generated measures are: a model that learned the
structure fills each one with about ``--bar-length`` quarter notes.

The tokens are the seed's chords with octaves, rests and 3 duration buckets
(durations are what fill a measure). Defaults take a few minutes on 2 CPU
cores (all 92 files, LSTM 256, at most 20 epochs of batches of 32 chunks of 32
tokens).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any

import _common

from musegen.events import Event, Piece
from musegen.generation.decoding import generate
from musegen.generation.samplers import TopKSampler
from musegen.tokens.tokenizer import DurationBuckets, Tokenizer
from musegen.training.dataset import SequenceDataset
from musegen.training.fitting import fit
from musegen.training.model import build_lstm


class BarTokenizer(Tokenizer):
    """The seed's tokens, measure by measure, each measure after a ``bar`` token.

    Args:
        bar_length: Length of a measure in quarter notes (4.0 for 4/4).
        **options: `Tokenizer` options.

    Example:
        >>> tok = BarTokenizer(bar_length=2.0)
        >>> tok.encode(Piece((Event(0, 1, (60,)), Event(3, 1, (62,)))))
        ['bar', 'C4', 'bar', 'rest', 'D4']
    """

    bar_text = "bar"

    def __init__(self, *, bar_length: float = 4.0, **options: Any) -> None:
        super().__init__(**options)
        self.bar_length = float(bar_length)

    def encode(self, piece: Piece) -> list[str]:
        measures: dict[int, list[Event]] = {}  # measure number -> its events, from its bar line
        for event in piece.notes:
            number = int((event.offset + 1e-6) // self.bar_length)
            start = number * self.bar_length
            measures.setdefault(number, []).append(replace(event, offset=event.offset - start))
        tokens: list[str] = []
        for number in range(max(measures, default=-1) + 1):
            tokens.append(self.bar_text)
            tokens += super().encode(Piece(tuple(measures.get(number, ()))))
        return tokens

    def measures(self, tokens: Iterable[str]) -> list[list[tuple[int, str]]]:
        """The tokens between ``bar`` tokens, with their positions, measure by measure."""
        measures: list[list[tuple[int, str]]] = [[]]
        for position, token in enumerate(tokens):
            if token == self.bar_text:
                measures.append([])
            else:
                measures[-1].append((position, token))
        return measures[1:] if not measures[0] else measures

    def decode_with_skipped(self, tokens: Iterable[str]) -> tuple[Piece, list[tuple[int, str]]]:
        events: list[Event] = []
        skipped: list[tuple[int, str]] = []
        for number, measure in enumerate(self.measures(tokens)):
            piece, bad = super().decode_with_skipped([token for _, token in measure])
            start = number * self.bar_length
            events += [replace(e, offset=e.offset + start) for e in piece.events]
            skipped += [(measure[i][0], token) for i, token in bad]
        return Piece(tuple(events)), skipped

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "bar_length": self.bar_length}


def bar_length(time_signature: str) -> float:
    """Quarter notes per measure: ``"4/4"`` -> 4.0, ``"6/8"`` -> 3.0."""
    return float(Fraction(time_signature) * 4)


def measure_fill(tokenizer: BarTokenizer, tokens: Sequence[str]) -> list[float]:
    """Quarter notes that the events of each complete measure span, in order."""
    measures = tokenizer.measures(tokens)[1:-1]  # the first and last may be cut off
    return [tokenizer.decode([t for _, t in m]).duration for m in measures]


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = _common.parser("song_structure", __doc__, limit=92, units=(256,), epochs=20, batch_size=32)
    p.add_argument("--bar-length", type=float, default=4.0, help="quarter notes per measure")
    p.add_argument("--seq-len", type=int, default=32, help="chunk length")
    p.add_argument("--min-count", type=int, default=3, help="rarer tokens become unknown")
    p.add_argument("--steps", type=int, default=300, help="tokens to generate")
    args = p.parse_args(argv)

    # 1. Pieces whose measures have the chosen length.
    pieces = _common.load_pieces(args)
    kept = [piece for piece in pieces if bar_length(piece.time_signature) == args.bar_length]
    print(f"{len(kept)} of {len(pieces)} pieces have bars of {args.bar_length} quarter notes")
    if len(kept) < 2:
        raise SystemExit("need at least 2 pieces with that bar length")

    # 2. Chords with octaves, rests and durations, measure by measure; tokens seen
    #    fewer than --min-count times share the unknown id (never generated).
    tokenizer = BarTokenizer(bar_length=args.bar_length, durations=DurationBuckets.seed())
    vocab = tokenizer.build_vocabulary(kept, min_count=args.min_count)
    data = SequenceDataset.from_pieces(
        kept, tokenizer, vocab, seq_len=args.seq_len, shape="chunks", unknown="map"
    )
    print(f"vocabulary: {len(vocab)} ids; {data}")

    # 3. A chunk model: every position predicts the next token, bar tokens included.
    model = build_lstm(
        len(vocab), units=args.units, return_sequences=True, learning_rate=_common.LEARNING_RATE
    )
    history = fit(
        model, data, epochs=args.epochs, batch_size=args.batch_size, run_dir=args.out, verbose=2
    )

    # 4. Generate, then see whether the generated measures are as full as real ones.
    prime = data.prime(16, seed=args.seed)
    tokens = vocab.decode(generate(model, prime, args.steps, TopKSampler(k=7), seed=args.seed)[0])
    real = [f for piece in kept for f in measure_fill(tokenizer, tokenizer.encode(piece))]
    made = measure_fill(tokenizer, tokens)
    result = {
        "loss": history.history["loss"][-1],
        "measures": float(len(made)),
        "real_fill": statistics.fmean(real) if real else float("nan"),
        "generated_fill": statistics.fmean(made) if made else float("nan"),
    }
    print(
        f"final loss {result['loss']:.4f}; {len(made)} complete measures generated; "
        f"quarter notes per measure: corpus {result['real_fill']:.2f}, "
        f"generated {result['generated_fill']:.2f} (bar length {args.bar_length})"
    )
    _common.save_piece(tokenizer.decode(tokens), args.out / "generated", title="with bar tokens")
    return result


if __name__ == "__main__":
    main()

"""Several instruments: one token stream per part, each opened by a token naming its part.

    python examples/several_instruments.py
    python examples/several_instruments.py --data path/to/multi-track/midi

The seed's model reads one stream of piano notes; its write-up suggests more
instruments. This recipe keeps it modest: every part of a score (a voice of a
chorale, a track of a MIDI file) becomes its own token sequence, opened by a
``part=<name>`` token, and one model learns them all. To generate, each part
gets its own stream, primed with its part token and the opening of a held-out
piece's part; the streams are decoded together in one batch.

Limits, plainly: the parts are generated independently (a voice does not hear
the others), and their timing only lines up as well as the duration buckets
keep it. `musegen.midi_io.write_midi` writes one track, so each part is written
to its own MIDI file with its instrument's General MIDI program, plus one
``all_parts.mid`` with every part merged on a piano.

musegen's readers merge the parts of a file (``read_midi(parts="all")``) or
keep the first; to keep each part, this script parses with music21 and turns
each part into a `Piece` with `musegen.midi_io.piece_from_stream`.

The default data is music21's Bach chorales (four voices, no download). Defaults
take a few minutes on 2 CPU cores (40 chorales, LSTM 128, 15 epochs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _common
import numpy as np

from musegen.dataset import SequenceDataset
from musegen.events import Piece
from musegen.generation import generate
from musegen.midi_io import piece_from_stream, write_midi
from musegen.model import build_lstm
from musegen.samplers import TopKSampler
from musegen.tokenizer import DurationBuckets, Tokenizer
from musegen.training import fit
from musegen.vocabulary import Vocabulary

Part = tuple[str, int, Piece]
"""A part: its name, its General MIDI program, its notes."""


def read_parts(source: str, limit: int) -> list[list[Part]]:
    """Each score of `source` (a MIDI folder or ``music21:<composer>``) as its list of parts."""
    from music21 import converter, corpus

    if source.startswith("music21:"):
        paths = sorted(corpus.getComposer(source.split(":", 1)[1]))[:limit]
    else:
        paths = sorted(p for p in Path(source).rglob("*") if p.suffix.lower() in (".mid", ".midi"))
        paths = paths[:limit]
    scores = []
    for path in paths:
        parts: list[Part] = []
        score: Any = converter.parse(path)
        for number, part in enumerate(score.parts):
            piece = piece_from_stream(part, source=Path(path).name)  # drums are left out
            if piece.notes:
                parts.append((part_name(part, number), program(part), piece))
        scores.append(parts)
    print(f"{source}: {len(scores)} scores, {sum(len(s) for s in scores)} parts")
    return scores


def part_name(part: Any, number: int) -> str:
    """The part's name (or its instrument's), as one token-safe word."""
    instrument = part.getInstrument(returnDefault=False)
    name = part.partName or (instrument and instrument.instrumentName) or f"part{number}"
    return "".join(c if c.isalnum() else "-" for c in name)


def program(part: Any) -> int:
    """The part's General MIDI program (0, the piano, when it gives none)."""
    instrument = part.getInstrument(returnDefault=False)
    return int(getattr(instrument, "midiProgram", None) or 0)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = _common.parser("several_instruments", __doc__, data="music21:bach", limit=40, epochs=15)
    p.add_argument("--seq-len", type=int, default=32, help="chunk length")
    p.add_argument("--steps", type=int, default=64, help="tokens to generate per part")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of scores held out")
    args = p.parse_args(argv)

    # 1. Every part of every score, with its name and instrument.
    scores = read_parts(args.data, args.limit)
    n_val = max(1, round(len(scores) * args.val_fraction))
    if len(scores) - n_val < 1:
        raise SystemExit(f"{args.data}: need at least 2 scores")

    # 2. One token sequence per part, opened by its part token; one vocabulary for all.
    tokenizer = Tokenizer(durations=DurationBuckets.seed())
    streams = [[[f"part={n}", *tokenizer.encode(piece)] for n, _, piece in s] for s in scores]
    vocab = Vocabulary.build(seq for s in streams for seq in s)

    def ids(score_streams: list[list[str]]) -> list[np.ndarray]:
        return [np.asarray(vocab.encode(seq), np.int32) for seq in score_streams]

    # 3. Whole scores, not single parts, are held out (the last n_val scores).
    train = [a for s in streams[:-n_val] for a in ids(s)]
    val = [a for s in streams[-n_val:] for a in ids(s)]
    data = SequenceDataset(train, val, len(vocab), seq_len=args.seq_len, shape="chunks")
    print(f"vocabulary: {len(vocab)} ids; {data}")

    # 4. One chunk model learns every part.
    model = build_lstm(len(vocab), units=args.units, return_sequences=True)
    history = fit(
        model, data, epochs=args.epochs, batch_size=args.batch_size, run_dir=args.out, verbose=2
    )

    # 5. One stream per part of the first held-out score, primed by its opening.
    parts = scores[-n_val]
    prime_len = min(8, *(len(a) for a in ids(streams[-n_val])))
    primes = [a[:prime_len].tolist() for a in ids(streams[-n_val])]
    out = generate(model, primes, args.steps, TopKSampler(k=7), seed=args.seed)
    generated = {
        f"{i}_{name}": tokenizer.decode(vocab.decode(row))
        for i, ((name, _, _), row) in enumerate(zip(parts, out, strict=True))
    }

    # 6. One MIDI file per part (with its program), one with all parts, piano rolls.
    from musegen import plots

    args.out.mkdir(parents=True, exist_ok=True)
    for (_, prog, _), (name, piece) in zip(parts, generated.items(), strict=True):
        write_midi(piece, args.out / f"{name}.mid", program=prog)
    merged = Piece(tuple(e for piece in generated.values() for e in piece.events))
    write_midi(merged, args.out / "all_parts.mid")
    plots.piano_rolls(generated, path=args.out / "parts.png")
    print(f"wrote {len(generated)} parts, all_parts.mid and parts.png under {args.out}")
    return {"vocab": len(vocab), "loss": history.history["loss"][-1], "parts": list(generated)}


if __name__ == "__main__":
    main()

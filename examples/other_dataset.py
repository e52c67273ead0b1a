"""Another dataset: Bach chorales from music21's bundled corpus (no download).

    python examples/other_dataset.py
    python examples/other_dataset.py --data path/to/your/midi/folder

The seed's write-up wondered how the output changes with the dataset. Any
folder of MIDI files works with ``--data``; the default, ``music21:bach``,
reads the Bach chorales that ship inside music21 (MusicXML, four voices merged
into one stream of chords), so a first run needs no data of one's own.

Chorales have no dynamics (every note has the same velocity), so the default
encoding is the seed's ``+durations`` (octaves, rests, 3 duration buckets).
Four voices merged into chords give many kinds of tokens (the first 60
chorales: 5,058 tokens of 1,901 kinds, 1,140 of them seen once), so tokens seen
once share the unknown id, which is never generated. Training uses chunks
(many-to-many), the fast shape; ``--transpose 3`` also trains on each chorale
moved by -3..+3 semitones (seven times the data and a far larger vocabulary).
Generation carries the LSTM state from token to token. It prints the vocabulary
size, the final losses and a metric table of the generated pieces against the
chorales, and writes MIDI and PNGs.

Defaults take a few minutes on 2 CPU cores (60 chorales, LSTM 128, at most 20
epochs of batches of 16).
All 400-odd chorales: ``--limit 1000 --transpose 3 --units 256,256 --epochs 50``.
"""

from __future__ import annotations

import _common

from musegen.evaluation.metrics import compare
from musegen.generation.decoding import generate
from musegen.generation.samplers import TopKSampler
from musegen.tokens.tokenizer import seed_configurations
from musegen.training.dataset import SequenceDataset, transposed
from musegen.training.fitting import fit
from musegen.training.model import build_lstm


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = _common.parser(
        "other_dataset", __doc__, data="music21:bach", limit=60, epochs=20, batch_size=16
    )
    p.add_argument("--encoding", choices=list(seed_configurations()), default="+durations")
    p.add_argument("--transpose", type=int, default=0, help="also train on chorales moved ±N")
    p.add_argument("--seq-len", type=int, default=32, help="chunk length")
    p.add_argument("--pieces", type=int, default=4, help="pieces to generate")
    p.add_argument("--steps", type=int, default=64, help="tokens per generated piece")
    args = p.parse_args(argv)

    # 1. The chorales, their tokens and vocabulary (tokens seen once share the unknown
    #    id, never generated); with --transpose, moved copies of the training chorales.
    pieces = _common.load_pieces(args)
    tokenizer = seed_configurations()[args.encoding]
    shifts = (-args.transpose, args.transpose)
    vocab = tokenizer.build_vocabulary(transposed(pieces, *shifts), min_count=2)
    data = SequenceDataset.from_pieces(
        pieces,
        tokenizer,
        vocab,
        seq_len=args.seq_len,
        shape="chunks",
        transpose=shifts,
        unknown="map",
    )
    print(f"vocabulary: {len(vocab)} ids; {data}")

    # 2. A chunk model, trained with early stopping on the held-out chorales.
    model = build_lstm(
        len(vocab), units=args.units, return_sequences=True, learning_rate=_common.LEARNING_RATE
    )
    history = fit(
        model, data, epochs=args.epochs, batch_size=args.batch_size, run_dir=args.out, verbose=2
    )
    h = history.history
    print(f"final loss {h['loss'][-1]:.4f}, val_loss {h['val_loss'][-1]:.4f}")

    # 3. Several pieces at once (one batch), each primed by a stretch of a held-out chorale.
    primes = [data.prime(8, seed=args.seed + i).tolist() for i in range(args.pieces)]
    ids = generate(model, primes, args.steps, TopKSampler(k=7), seed=args.seed)
    generated = [tokenizer.decode(vocab.decode(row)) for row in ids]

    # 4. How they compare with the chorales (cut to the same number of tokens).
    reference = [tokenizer.decode(tokenizer.encode(p)[: args.steps]) for p in pieces]
    print(compare({"generated": generated}, reference=reference))
    for i, piece in enumerate(generated):
        _common.save_piece(piece, args.out / f"generated_{i}", title=f"chorale-like {i}")
    return {"vocab": len(vocab), "loss": h["loss"][-1], "val_loss": h["val_loss"][-1]}


if __name__ == "__main__":
    main()

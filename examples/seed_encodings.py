"""The seed write-up's encoding steps: chords with octaves and rests, then durations, velocities.

    python examples/seed_encodings.py --encoding final
    python examples/seed_encodings.py --encoding all          # every step, one table

One script for the write-up's four models, since they differ only in the
tokenizer (`musegen.tokens.tokenizer.seed_configurations`):

    octaves+rests   chords as pitch names with octaves (C4,E4,G4), rest tokens
    +durations      ... and 3 duration buckets (short, medium, long)
    +velocities     ... and 4 velocity levels instead of durations
    final           octaves, rests, durations and velocities

As in the seed: windows of 10 tokens (many-to-one, a new window every token)
predict the next token. For each step it prints the vocabulary size and the
final training and validation loss (validation songs are held out whole), then
writes a generated piece (top-k 7) as MIDI and a piano-roll PNG under --out.

Defaults are small (8 files, one LSTM of 128 units, 5 epochs: a few minutes on
2 CPU cores). The seed's own runs, about a GPU-day for all four:

    python examples/seed_encodings.py --encoding all --limit 92 --model skuli \\
        --units 512,512,512 --epochs 200

``--model skuli`` is the network the seed kept from Skuli (scaled float input,
BatchNorm, softmax); the default ``lstm`` reads ids through an Embedding.
``--shape chunks`` trains many-to-many on chunks of 10 instead: each token is
a label once per epoch, far faster than windows, with the same loss.
"""

from __future__ import annotations

import argparse

import _common

from musegen.events import Piece
from musegen.generation.decoding import generate
from musegen.generation.samplers import TopKSampler
from musegen.tokens.tokenizer import Tokenizer, seed_configurations
from musegen.training.dataset import SequenceDataset
from musegen.training.fitting import fit
from musegen.training.model import build_lstm, skuli_lstm

ENCODINGS = ["octaves+rests", "+durations", "+velocities", "final"]


def run(name: str, tokenizer: Tokenizer, pieces: list[Piece], args: argparse.Namespace) -> dict:
    """Train one encoding's model and write one generated piece; return its figures."""
    # 1. Tokens -> vocabulary -> training windows, split by song.
    vocab = tokenizer.build_vocabulary(pieces)
    scaled = args.model == "skuli"
    data = SequenceDataset.from_pieces(
        pieces,
        tokenizer,
        vocab,
        seq_len=args.seq_len,
        shape=args.shape,
        stride=args.stride,
        val_fraction=args.val_fraction,
        seed=args.seed,
        input_mode="scaled" if scaled else "ids",
    )
    print(f"\n[{name}] vocabulary: {len(vocab)} ids; {data}")

    # 2. The model: Skuli's network (scaled floats) or the Embedding LSTM.
    chunks = args.shape == "chunks"
    if scaled:
        model = skuli_lstm(len(vocab), args.seq_len, units=args.units, return_sequences=chunks)
    else:
        model = build_lstm(
            len(vocab), units=args.units, seq_len=args.seq_len, return_sequences=chunks,
            learning_rate=_common.LEARNING_RATE,
        )  # fmt: skip

    # 3. Train; the run folder keeps best.keras and history.csv.
    history = fit(
        model,
        data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        run_dir=args.out / name,
        verbose=2,
    )
    loss = history.history["loss"][-1]
    val_loss = history.history.get("val_loss", [float("nan")])[-1]  # nan: nothing held out

    # 4. Generate from a stretch of a validation song, decode, write MIDI and PNG.
    prime = data.prime(seed=args.seed)
    ids = generate(model, prime, args.steps, TopKSampler(k=7), seed=args.seed)[0]
    piece = tokenizer.decode(vocab.decode(ids))
    _common.save_piece(piece, args.out / name / "generated", title=f"{name}, top-k 7")
    return {"vocab": len(vocab), "loss": loss, "val_loss": val_loss}


def main(argv: list[str] | None = None) -> dict[str, dict]:
    p = _common.parser("seed_encodings", __doc__)
    p.add_argument("--encoding", choices=[*ENCODINGS, "all"], default="final")
    p.add_argument("--model", choices=["lstm", "skuli"], default="lstm")
    p.add_argument("--shape", choices=["windows", "chunks"], default="windows")
    p.add_argument("--seq-len", type=int, default=10)
    p.add_argument("--stride", type=int, default=1, help="tokens between window starts")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--steps", type=int, default=200, help="tokens to generate")
    args = p.parse_args(argv)

    pieces = _common.load_pieces(args)  # all parts, notes starting together form a chord
    names = ENCODINGS if args.encoding == "all" else [args.encoding]
    tokenizers = seed_configurations()
    results = {name: run(name, tokenizers[name], pieces, args) for name in names}

    print(f"\n{'encoding':<15}{'vocabulary':>12}{'loss':>10}{'val_loss':>10}")
    for name, r in results.items():
        print(f"{name:<15}{r['vocab']:>12}{r['loss']:>10.4f}{r['val_loss']:>10.4f}")
    return results


if __name__ == "__main__":
    main()

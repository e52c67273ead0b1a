"""Skuli's "Classical Piano Composer" recipe, with the two generation bugs the seed fixed.

    python examples/skuli_baseline.py

The original recipe, step by step, in musegen's parts:

- each file's first part, one token per music21 note or chord, no rests
  (``read_midi(parts="first", grouping="stream")`` and `Tokenizer.skuli`:
  ``C#4`` for a note, ``0.4.7`` for a chord's normal-order pitch classes);
- windows of 100 tokens, each predicting the next one (a new window per token),
  fed as Skuli's scaled floats ``id / vocab_size``;
- Skuli's network (`musegen.training.model.skuli_lstm`: 3 LSTM layers, BatchNorm,
  Dropout, softmax, rmsprop).

The seed found two bugs in the recipe's generation: the prime was divided by
the vocabulary size a second time, and each predicted id was fed back without
scaling. `musegen.generation.decoding.generate` takes plain ids and scales them once, at
the model's input, so neither can happen. Generation is shown with Skuli's
argmax and with the seed's top-k 7; both pieces are written as MIDI.

Unlike the original, validation songs are held out whole (``--val-fraction``)
and windows never cross from one song into the next.

Defaults are small (8 files, LSTM 3 x 64, 3 epochs: a few minutes on 2 CPU
cores). The original run (hours on a GPU):

    python examples/skuli_baseline.py --limit 92 --units 512,512,512 --epochs 200 \\
        --val-fraction 0 --steps 500
"""

from __future__ import annotations

import _common

from musegen.generation.decoding import generate
from musegen.generation.samplers import ArgmaxSampler, TopKSampler
from musegen.tokens.tokenizer import Tokenizer
from musegen.training.dataset import SequenceDataset
from musegen.training.fitting import fit
from musegen.training.model import skuli_lstm

SEQ_LEN = 100


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = _common.parser("skuli_baseline", __doc__, units=(64, 64, 64), epochs=3)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--steps", type=int, default=200, help="tokens to generate")
    args = p.parse_args(argv)

    # 1. The recipe's view of each file: first part, one event per note or chord.
    pieces = _common.load_pieces(args, parts="first", grouping="stream")

    # 2. Skuli's tokens, their vocabulary, and windows of 100 scaled floats.
    tokenizer = Tokenizer.skuli()
    vocab = tokenizer.build_vocabulary(pieces)
    data = SequenceDataset.from_pieces(
        pieces,
        tokenizer,
        vocab,
        seq_len=SEQ_LEN,
        shape="windows",
        val_fraction=args.val_fraction,
        seed=args.seed,
        input_mode="scaled",
    )
    print(f"vocabulary: {len(vocab)} ids; {data}")

    # 3. Skuli's network, trained on the windows.
    model = skuli_lstm(len(vocab), SEQ_LEN, units=args.units)
    history = fit(
        model,
        data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        run_dir=args.out,
        verbose=2,
    )
    loss = history.history["loss"][-1]
    print(f"final loss {loss:.4f}")

    # 4. Generate from the same prime with argmax (Skuli's) and top-k 7 (the seed's).
    #    The prime is plain ids: generate scales every window once, at the model's input.
    prime = data.prime(source="val" if data.num_val_songs else "train", seed=args.seed)
    for name, sampler in {"argmax": ArgmaxSampler(), "top_k7": TopKSampler(k=7)}.items():
        ids = generate(model, prime, args.steps, sampler, seed=args.seed)[0]
        piece = tokenizer.decode(vocab.decode(ids))
        distinct = len(set(ids.tolist()))
        print(f"{name}: {distinct} distinct tokens in {len(ids)} generated")
        _common.save_piece(piece, args.out / name, title=f"Skuli's recipe, {name}")
    return {"vocab": len(vocab), "loss": loss}


if __name__ == "__main__":
    main()

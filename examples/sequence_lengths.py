"""How long a window should be: sequence lengths 5, 10, 100 and 200 on the same budget.

    python examples/sequence_lengths.py
    python examples/sequence_lengths.py --seq-lens 5,10,20,50

The seed trained windows of 5, 10, 100 and 200 tokens for 200 epochs each and
compared their final training loss (2.1154, 0.1130, 0.0758, 0.0960); it chose
10. A training loss rewards memorising, so this script also holds out whole
songs and reports the validation loss: for each length it trains the same
model for the same number of epochs on windows (many-to-one, a new window
every ``--stride`` tokens) and prints one row per length.

Each length's validation loss is measured over the tokens its windows can
predict: those after the first ``seq_len`` tokens of every validation song. A
length that no validation song is long enough for shows ``n/a``. Longer windows
cost more per epoch; the seconds column says how much.

Defaults take a few minutes on 2 CPU cores (8 files, a window every 4 tokens,
LSTM 64, 3 epochs, the seed's octaves+rests encoding). Closer to the seed:

    python examples/sequence_lengths.py --limit 92 --stride 1 --units 512,512,512 --epochs 200
"""

from __future__ import annotations

import math
import time

import _common

from musegen.tokens.tokenizer import seed_configurations
from musegen.training.dataset import SequenceDataset
from musegen.training.fitting import fit
from musegen.training.model import build_lstm


def main(argv: list[str] | None = None) -> dict[int, dict]:
    p = _common.parser("sequence_lengths", __doc__, units=(64,), epochs=3)
    p.add_argument("--seq-lens", type=_common.units, default=(5, 10, 100, 200))
    p.add_argument("--encoding", choices=list(seed_configurations()), default="octaves+rests")
    p.add_argument("--stride", type=int, default=4, help="tokens between window starts")
    p.add_argument("--val-fraction", type=float, default=0.2)
    args = p.parse_args(argv)

    # 1. One corpus, one tokenizer, one vocabulary for every length.
    pieces = _common.load_pieces(args)
    tokenizer = seed_configurations()[args.encoding]
    vocab = tokenizer.build_vocabulary(pieces)
    print(f"vocabulary: {len(vocab)} ids ({args.encoding})")

    results = {}
    for seq_len in args.seq_lens:
        # 2. Windows of this length; the same seed holds out the same songs each time.
        data = SequenceDataset.from_pieces(
            pieces,
            tokenizer,
            vocab,
            seq_len=seq_len,
            shape="windows",
            stride=args.stride,
            val_fraction=args.val_fraction,
            seed=args.seed,
        )
        print(f"\nseq_len {seq_len}: {data}")
        if len(data) == 0:
            print("  no training song is that long; skipped")
            continue

        # 3. The same model and budget (epochs) for every length.
        model = build_lstm(
            len(vocab), units=args.units, seq_len=seq_len, return_sequences=False,
            learning_rate=_common.LEARNING_RATE,
        )  # fmt: skip
        start = time.perf_counter()
        history = fit(
            model,
            data,
            epochs=args.epochs,
            batch_size=args.batch_size,
            run_dir=args.out / f"seq_len_{seq_len}",
            patience=None,  # the same number of epochs for all
            verbose=2,
        )
        h = history.history
        results[seq_len] = {
            "windows": len(data),
            "loss": h["loss"][-1],
            "val_loss": h["val_loss"][-1] if "val_loss" in h else float("nan"),
            "val_accuracy": h["val_accuracy"][-1] if "val_accuracy" in h else float("nan"),
            "seconds": time.perf_counter() - start,
        }

    # 4. One row per length.
    print(f"\n{'seq_len':>7} {'windows':>8} {'loss':>8} {'val_loss':>9} {'val_acc':>8} {'s':>6}")
    for seq_len, r in results.items():
        val = "n/a" if math.isnan(r["val_loss"]) else f"{r['val_loss']:.4f}"
        acc = "n/a" if math.isnan(r["val_accuracy"]) else f"{r['val_accuracy']:.3f}"
        print(
            f"{seq_len:>7} {r['windows']:>8} {r['loss']:>8.4f} {val:>9} {acc:>8} "
            f"{r['seconds']:>6.0f}"
        )
    return results


if __name__ == "__main__":
    main()

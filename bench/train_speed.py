"""Training speed: the original recipe against musegen's chunk training, in one run.

Command (from the repository root)::

    nice python bench/train_speed.py                 # all of data/skuli-midi
    nice python bench/train_speed.py --files 20 --steps 5

Both models have the same size (3 x LSTM 512, Dense 256) and see batches of the
same shape (128 sequences of 100). The original recipe trains Skuli's network on
windows of 100 scaled-float ids with stride 1 and one-hot labels: one next-token
prediction per window. musegen trains the same stack on ids through an Embedding,
on chunks of 100 where every position predicts its next id (`SequenceDataset`,
shape "chunks"). Each does one warm-up
step, then `--steps` timed steps; the figure is next-token predictions (labels
the loss sees) per second. It also reports the peak Python memory of building
each training set from the same token lists (tracemalloc).

``--sweep`` instead measures what sets the default training configuration's
throughput: the default encoding (`musegen.defaults`) on the same files, chunks
of the default length, for each model width x batch size x XLA (``jit_compile``)
setting, in predictions per second::

    nice python bench/train_speed.py --sweep --steps 20
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import _recipe
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=None, help="read only the first N files")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per recipe")
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--recipe-batch", type=int, default=128)
    parser.add_argument("--chunk-batch", type=int, default=128)
    parser.add_argument("--sweep", action="store_true", help="width x batch x XLA of the default")
    args = parser.parse_args()
    if args.sweep:
        sweep(args)
        return

    import keras

    from musegen.tokens.vocabulary import Vocabulary
    from musegen.training.dataset import SequenceDataset
    from musegen.training.model import build_lstm, skuli_lstm

    print(_recipe.load_average())
    songs, parse_s = _recipe.load_skuli_tokens(args.files)
    tokens = sum(len(s) for s in songs)
    print(f"corpus: {len(songs)} songs, {tokens} tokens (parsed in {parse_s:.0f} s)")

    # --- memory of building each training set from the same token lists ---------
    notes = [t for song in songs for t in song]
    vocab = Vocabulary.build(songs)

    def musegen_data(songs: list[list[str]]) -> SequenceDataset:
        ids = [vocab.encode(song) for song in songs]
        return SequenceDataset.from_ids(
            ids, len(vocab), seq_len=args.seq_len, shape="chunks", val_fraction=0
        )

    musegen_data(songs[:1])  # warm-up: one-time allocations are not the dataset's
    _recipe.recipe_arrays(notes[: 2 * args.seq_len], args.seq_len)
    (x, y), recipe_peak = _recipe.peak_memory(lambda: _recipe.recipe_arrays(notes, args.seq_len))
    data, musegen_peak = _recipe.peak_memory(lambda: musegen_data(songs))
    print(
        f"dataset peak memory: recipe {_recipe.describe(recipe_peak)} "
        f"({len(x)} windows), musegen {_recipe.describe(musegen_peak)} ({len(data)} chunks); "
        f"ratio {recipe_peak / max(musegen_peak, 1):.0f}x"
    )

    needed = (args.steps + 1) * args.recipe_batch
    if len(x) < needed or len(data) < args.chunk_batch:
        raise SystemExit(
            f"corpus has {len(x)} windows and {len(data)} chunks; {needed} and "
            f"{args.chunk_batch} needed: read more files"
        )

    # --- the original recipe: windows, scaled floats, one-hot labels ------------
    recipe = skuli_lstm(y.shape[1], seq_len=args.seq_len)
    recipe.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=[])
    b = args.recipe_batch
    recipe.train_on_batch(x[:b], y[:b])  # warm-up: traces and compiles the step
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        recipe.train_on_batch(x[step * b : (step + 1) * b], y[step * b : (step + 1) * b])
    recipe_rate = args.steps * b / (time.perf_counter() - start)
    print(f"recipe : {recipe_rate:10.1f} predictions/s (batch {b} windows, 1 label each)")
    del x, y

    # --- musegen: chunks, ids, sparse labels ------------------------------------
    keras.backend.clear_session()
    model = build_lstm(
        len(vocab), units=(512, 512, 512), return_sequences=True, seq_len=args.seq_len
    )
    chunk_rate, _ = chunk_speed(model, data, args.chunk_batch, args.steps, warm_up=1)
    print(
        f"musegen: {chunk_rate:10.1f} predictions/s "
        f"(batch {args.chunk_batch} chunks of {args.seq_len}, padded positions not counted)"
    )
    print(f"speed-up: {chunk_rate / recipe_rate:.1f}x (goal >= 60)")
    print(f"peak RSS {_recipe.max_rss_mib():.0f} MiB; {_recipe.load_average()}")


def chunk_speed(model: Any, data: Any, batch: int, steps: int, warm_up: int) -> tuple[float, float]:
    """(next-token predictions per second, steps per second) of chunk training.

    `warm_up` untimed steps first trace and compile the step; padded positions
    are not counted as predictions.
    """
    batches = iter(data.batches(batch, drop_remainder=True).repeat())
    for _ in range(warm_up):
        xs, ys, ws = next(batches)
        model.train_on_batch(xs, ys, sample_weight=ws)
    labels = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        xs, ys, ws = next(batches)
        model.train_on_batch(xs, ys, sample_weight=ws)
        labels += float(np.sum(ws))
    seconds = time.perf_counter() - start
    return labels / seconds, steps / seconds


def sweep(args: argparse.Namespace) -> None:
    """Predictions/s of the default configuration's model for each width, batch and XLA."""
    import keras

    from musegen.defaults import TRAINING
    from musegen.tokens.encodings import encodings
    from musegen.training.dataset import SequenceDataset
    from musegen.training.model import build_lstm

    print(_recipe.load_average())
    pieces, _ = _recipe.load_skuli_pieces(args.files)
    tokenizer = encodings()[TRAINING.encoding]
    vocab = tokenizer.build_vocabulary(pieces)
    data = SequenceDataset.from_pieces(
        pieces, tokenizer, vocab, seq_len=TRAINING.seq_len, shape="chunks", val_fraction=0
    )
    print(f"{TRAINING.encoding} encoding, {len(vocab)} ids, {len(data)} chunks of {data.seq_len}")
    print(f"{'units':>10} {'batch':>6} {'XLA':>5} {'predictions/s':>14} {'steps/s':>8}")
    for units in ((128, 128), (256, 256)):
        for batch in (16, 32, 64):
            for jit in (False, True):
                keras.backend.clear_session()
                model = build_lstm(len(vocab), units=units, return_sequences=True, jit_compile=jit)
                rate, steps_per_second = chunk_speed(model, data, batch, args.steps, warm_up=2)
                print(
                    f"{'x'.join(map(str, units)):>10} {batch:>6} {'on' if jit else 'off':>5} "
                    f"{rate:>14.0f} {steps_per_second:>8.1f}",
                    flush=True,
                )
    print(_recipe.load_average())


if __name__ == "__main__":
    main()

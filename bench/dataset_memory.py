"""Peak memory of training data: the original recipe's arrays against musegen's datasets.

Command (from the repository root)::

    nice python bench/dataset_memory.py
    nice python bench/dataset_memory.py --sizes 250000 500000 1000000 --recipe-sizes 100000 200000

The token stream: every file of ``data/skuli-midi`` read with
`read_midi_fast` (first part) and `Tokenizer.skuli()`, transposed by -6..+5
semitones, repeated until the largest size; each size takes the first songs
that hold that many ids (the last one cut). Rows, each measured in a fresh
subprocess as peak RSS (``ru_maxrss``) above the RSS after importing numpy,
TensorFlow, Keras and musegen:

- recipe: ``prepare_sequences`` of ``../shared/reference/skuli_lstm.py`` (windows
  of 100, float64 inputs ``[n, 100, 1]``, one-hot labels) via
  ``bench/_recipe.recipe_arrays``, from the note list; only built, not iterated.
  Measured at ``--recipe-sizes`` and extrapolated linearly to ``--sizes``.
- musegen memory: `SequenceDataset.from_ids` (windows of 100, stride 1), then one
  pass over its training and validation batches.
- musegen shards: `write_shards` (songs streamed from a memory-mapped id file),
  then `ShardedDataset` (windows of 100), one pass over its batches.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _recipe
import numpy as np

SEQ_LEN = 100


def make_stream(folder: Path, tokens: int) -> int:
    """Write the id stream (``ids.npy``, ``lengths.npy``); return the vocabulary size."""
    from musegen.io.midi_fast import read_midi_fast
    from musegen.tokens.tokenizer import Tokenizer
    from musegen.tokens.vocabulary import Vocabulary

    tokenizer = Tokenizer.skuli()
    pieces = [read_midi_fast(f, parts="first") for f in sorted(_recipe.CORPUS.glob("*.mid"))]
    songs: list[list[str]] = []
    for shift in range(-6, 6):
        for piece in pieces:
            try:
                encoded = tokenizer.encode(piece.transpose(shift) if shift else piece)
            except ValueError:  # a pitch would leave 0..127
                continue
            if encoded:
                songs.append(encoded)
    vocabulary = Vocabulary.build(songs)
    one_pass = [np.asarray(vocabulary.encode(s), dtype=np.int32) for s in songs]
    total = sum(len(s) for s in one_pass)
    repeats = -(-tokens // total)
    print(
        f"{len(pieces)} files x 12 transpositions = {len(one_pass)} songs, {total} ids, "
        f"repeated {repeats}x; vocabulary {len(vocabulary)}"
    )
    stream = one_pass * repeats
    np.save(folder / "ids.npy", np.concatenate(stream))
    np.save(folder / "lengths.npy", np.array([len(s) for s in stream], dtype=np.int64))
    return len(vocabulary)


def songs_of(folder: Path, tokens: int) -> list[np.ndarray]:
    """The first songs holding `tokens` ids (views of the memory-mapped stream)."""
    ids = np.load(folder / "ids.npy", mmap_mode="r")
    bounds = np.concatenate([[0], np.cumsum(np.load(folder / "lengths.npy"))])
    out = []
    for begin, end in itertools.pairwise(bounds):
        if begin >= tokens:
            break
        out.append(ids[begin : min(end, tokens)])
    return out


def measure(kind: str, folder: Path, tokens: int, vocab_size: int, batch: int) -> dict:
    """One row, in this process (run through a fresh subprocess by `main`)."""
    import keras  # noqa: F401
    import tensorflow as tf  # noqa: F401

    from musegen.training.dataset import SequenceDataset
    from musegen.training.shards import ShardedDataset, write_shards

    baseline = _recipe.max_rss_mib()
    start = time.perf_counter()
    examples = 0
    if kind == "recipe":
        flat = np.load(folder / "ids.npy", mmap_mode="r")[:tokens]
        notes = [str(i) for i in flat.tolist()]
        x, _ = _recipe.recipe_arrays(notes, SEQ_LEN)
        examples = len(x)
        del notes
    else:
        if kind == "memory":
            data = SequenceDataset.from_ids(
                [np.array(s) for s in songs_of(folder, tokens)], vocab_size, seq_len=SEQ_LEN,
                shape="windows",
            )  # fmt: skip
        else:
            shards = Path(tempfile.mkdtemp(dir=folder))
            write_shards(
                songs_of(folder, tokens), shards, vocabulary=vocab_size, shard_tokens=100_000
            )
            data = ShardedDataset(shards, seq_len=SEQ_LEN, shape="windows")
        for split in ("train", "val"):
            for x, _ in data.batches(batch, split=split):  # type: ignore[arg-type]
                examples += int(x.shape[0])
    return {
        "peak_mib": _recipe.max_rss_mib() - baseline,
        "seconds": time.perf_counter() - start,
        "examples": examples,
    }


def run_row(kind: str, folder: Path, tokens: int, vocab_size: int, batch: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--row",
        kind,
        str(folder),
        str(tokens),
        str(vocab_size),
        str(batch),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode:
        raise SystemExit(f"{kind} at {tokens} ids failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250_000, 500_000, 1_000_000])
    parser.add_argument("--recipe-sizes", type=int, nargs="+", default=[100_000, 200_000])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--row", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.row:
        kind, folder, tokens, vocab, batch = args.row
        print(json.dumps(measure(kind, Path(folder), int(tokens), int(vocab), int(batch))))
        return
    if not _recipe.CORPUS.is_dir():
        raise SystemExit(f"corpus not found: {_recipe.CORPUS} (data/skuli-midi)")
    print(_recipe.load_average())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        vocab = make_stream(folder, max(args.sizes + args.recipe_sizes))
        print(f"{'data':<16} {'ids':>9} {'examples':>9} {'peak MiB':>9} {'B/id':>7} {'s':>6}")
        recipe = []
        for tokens in args.recipe_sizes:
            row = run_row("recipe", folder, tokens, vocab, args.batch_size)
            recipe.append((tokens, row["peak_mib"]))
            show("recipe", tokens, row)
        slope, intercept = (
            np.polyfit(*zip(*recipe, strict=True), 1)
            if len(recipe) > 1
            else (recipe[0][1] / recipe[0][0], 0.0)
        )
        for tokens in args.sizes:
            mib = intercept + slope * tokens
            print(
                f"{'recipe (extrap.)':<16} {tokens:>9} {'':>9} {mib:>9.0f} "
                f"{mib * 2**20 / tokens:>7.0f} {'':>6}"
            )
        for kind in ("memory", "shards"):
            for tokens in args.sizes:
                show(
                    f"musegen {kind}", tokens, run_row(kind, folder, tokens, vocab, args.batch_size)
                )
    print(
        f"recipe rows above {max(args.recipe_sizes)} ids are a straight line through the "
        f"measured ones (peak MiB = {intercept:.1f} + {slope * 1e6:.1f} per 1M ids); "
        f"{_recipe.load_average()}"
    )


def show(name: str, tokens: int, row: dict) -> None:
    mib = row["peak_mib"]
    print(
        f"{name:<16} {tokens:>9} {row['examples']:>9} {mib:>9.0f} "
        f"{mib * 2**20 / tokens:>7.0f} {row['seconds']:>6.1f}",
        flush=True,
    )


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()

"""Helpers shared by the training benchmarks (not part of the library).

`recipe_arrays` rebuilds the original recipe's training arrays the way
``prepare_sequences`` in ``../shared/reference/skuli_lstm.py`` does (all songs
concatenated, windows of 100 with stride 1, inputs scaled by the vocabulary size,
one-hot labels), so that its memory and speed can be measured against musegen's.
"""

from __future__ import annotations

import os
import resource
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "skuli-midi"
"""The original recipe's 92 MIDI files, as shipped with musegen (``musegen:skuli``)."""

T = TypeVar("T")


def load_skuli_tokens(files: int | None) -> tuple[list[list[str]], float]:
    """The original recipe's tokens, one list per song, and the seconds parsing took."""
    from musegen.tokens.tokenizer import Tokenizer

    pieces, seconds = load_skuli_pieces(files)
    tokenizer = Tokenizer.skuli()
    return [tokenizer.encode(piece) for piece in pieces], seconds


def load_skuli_pieces(files: int | None) -> tuple[list[Any], float]:
    """The pieces the original recipe reads, and the seconds parsing took.

    Files are read as the recipe reads them: the first instrument part, one token
    per music21 note or chord (``parts="first", grouping="stream"``), with
    `Tokenizer.skuli()`; files that give no notes that way are left out, as the
    recipe leaves them out.
    """
    from musegen.io.corpus import load_corpus
    from musegen.tokens.tokenizer import Tokenizer

    if not CORPUS.is_dir():
        raise SystemExit(f"corpus not found: {CORPUS} (expected data/skuli-midi)")
    start = time.perf_counter()
    corpus = load_corpus(CORPUS, parts="first", grouping="stream", limit=files, progress=False)
    tokenizer = Tokenizer.skuli()
    pieces = [piece for piece in corpus.pieces if tokenizer.encode(piece)]
    return pieces, time.perf_counter() - start


def recipe_arrays(notes: list[str], seq_len: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """The recipe's training arrays from its flat note list (every song concatenated).

    Inputs: float64 ``[windows, seq_len, 1]`` of ``id / n_vocab``; labels: one-hot
    float32 ``[windows, n_vocab]``. Python lists first, then numpy, as in the recipe.
    """
    import keras

    names = sorted(set(notes))
    n_vocab = len(names)
    to_int = {name: number for number, name in enumerate(names)}
    inputs: list[list[int]] = []
    outputs: list[int] = []
    for i in range(len(notes) - seq_len):
        inputs.append([to_int[n] for n in notes[i : i + seq_len]])
        outputs.append(to_int[notes[i + seq_len]])
    x = np.reshape(inputs, (len(inputs), seq_len, 1)) / float(n_vocab)
    y = keras.utils.to_categorical(outputs, num_classes=n_vocab)  # recipe: width from data
    return x, y


def peak_memory(build: Callable[[], T]) -> tuple[T, int]:
    """Run `build` and return its result and the peak bytes Python allocated meanwhile."""
    tracemalloc.start()
    try:
        result = build()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def max_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> str:
    """The machine's 1-minute load average and core count, for the record."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def describe(value: Any) -> str:
    """Bytes as MiB text."""
    return f"{value / 2**20:.1f} MiB"


def fit_keeping_best(model: Any, data: Any, batch: int, budget: Any) -> dict[str, Any]:
    """Train `model` on `data` until `budget` (a `TimeBudget`) ends, validating every epoch.

    Returns the lowest valid loss seen at the end of an epoch, that epoch, the
    epochs trained and that epoch's weights (kept in memory): ``{"loss", "epoch",
    "epochs", "weights"}``. A budget that ends an epoch early still validates it.
    """
    import keras

    best: dict[str, Any] = {"loss": float("inf"), "epoch": 0, "epochs": 0, "weights": None}

    def keep_best(epoch: int, logs: dict[str, float]) -> None:
        best["epochs"] = epoch + 1
        if logs["val_loss"] < best["loss"]:
            best.update(loss=logs["val_loss"], epoch=epoch + 1, weights=model.get_weights())

    model.fit(
        data.batches(batch),
        validation_data=data.batches(batch, split="val"),
        epochs=1_000_000,
        callbacks=[budget, keras.callbacks.LambdaCallback(on_epoch_end=keep_best)],
        shuffle=False,
        verbose=0,
    )
    return best


def variant(table: dict[str, T], name: str) -> T:
    """A row named ``base+field=value+...``: the dataclass `table[base]` with those fields changed.

    Examples: ``default+batch=64+dropout=0``, ``t3+units=(256,256)``.
    """
    import ast
    import dataclasses

    base, *changes = name.split("+")
    if base not in table:
        raise SystemExit(f"unknown row {name!r}; choose from {list(table)}")
    row: Any = table[base]
    fields = {}
    for change in changes:
        key, _, value = change.partition("=")
        if key not in {f.name for f in dataclasses.fields(row)}:
            raise SystemExit(f"{name}: {type(row).__name__} has no field {key!r}")
        fields[key] = ast.literal_eval(value)
    return dataclasses.replace(row, **fields)

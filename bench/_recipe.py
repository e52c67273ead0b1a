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

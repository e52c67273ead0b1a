"""Shared fixtures: the original recipe's MIDI files, when the checkout has them beside it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def skuli_midi() -> Path:
    """The original recipe's 92 MIDI files, shipped with musegen (`musegen.datasets`)."""
    from musegen.datasets import path

    return path("skuli")


@pytest.fixture(scope="session")
def chorale_model() -> tuple[Any, Any, Any, list[int]]:
    """A note-level model trained a few seconds on eight chorales, its tokenizer, vocabulary
    and a prime (the first 24 tokens of the first chorale): it has learnt their grammar."""
    import keras

    from musegen.io.corpus import load_corpus
    from musegen.tokens.encodings import encodings
    from musegen.training.dataset import SequenceDataset
    from musegen.training.model import build_lstm

    pieces = load_corpus("music21:bach", limit=8, progress=False).pieces
    tokenizer = encodings()["notes"]
    vocab = tokenizer.build_vocabulary(pieces)
    data = SequenceDataset.from_pieces(pieces, tokenizer, vocab, seq_len=32, shape="chunks", seed=0)
    keras.utils.set_random_seed(0)
    model = build_lstm(  # head dropout 0.3: the model the steering tests were measured on
        len(vocab), units=(48,), embedding_dim=16, return_sequences=True, dropout=0.3
    )
    model.fit(data.batches(8), epochs=6, verbose=0, shuffle=False)
    prime = vocab.encode(tokenizer.encode(pieces[0])[:24])
    return model, tokenizer, vocab, prime


@pytest.fixture(scope="session")
def copy_repository() -> Callable[[Path], Path]:
    """Copy the files git tracks (and new ones it would track) to a folder: a fresh clone."""
    root = Path(__file__).resolve().parents[1]

    def copy(to: Path) -> Path:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        for name in listed:
            if (root / name).is_file():
                (to / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / name, to / name)
        return to

    return copy

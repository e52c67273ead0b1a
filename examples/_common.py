"""What every example shares: the usual command-line options, loading a corpus, saving a piece.

Each example stays readable on its own; only these few lines are common to all.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's start-up messages

from musegen.events import Piece
from musegen.io.corpus import load_corpus
from musegen.io.writing import write_midi

DEFAULT_DATA = "musegen:skuli"
"""The original recipe's 92 piano MIDI files, shipped with musegen (`musegen.datasets`)."""

LEARNING_RATE = 1e-3
"""Adam's rate, held for all epochs, in the seed's runs and the runs docs/examples.md quotes.

The library's default (`musegen.defaults.TRAINING`) is the measured 5e-3, annealed
to 0 over a time budget (`musegen.training.time_budget.TimeBudget`), as `musegen train` does.
"""


def units(text: str) -> tuple[int, ...]:
    """``"512,512,512"`` -> ``(512, 512, 512)``: the LSTM layer sizes, first to last."""
    return tuple(int(u) for u in text.split(","))


def parser(name: str, doc: str | None, **defaults: Any) -> argparse.ArgumentParser:
    """An argument parser with the options all examples take; `defaults` override ours.

    Options: ``--data`` (a folder of MIDI files, a file, or ``music21:bach``),
    ``--limit`` (files to read), ``--units``, ``--epochs``, ``--batch-size``,
    ``--seed`` and ``--out`` (default ``out/<name>``).
    """
    p = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data",
        default=DEFAULT_DATA,
        help="MIDI folder or file, music21:bach, or musegen:skuli (the default)",
    )
    p.add_argument("--limit", type=int, default=8, help="read at most this many files")
    p.add_argument("--units", type=units, default=(128,), help="LSTM sizes, e.g. 512,512,512")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("out") / name)
    p.set_defaults(**defaults)
    return p


def load_pieces(args: argparse.Namespace, **read_options: Any) -> list[Piece]:
    """Read ``args.data`` (at most ``args.limit`` files); print what was read and skipped."""
    corpus = load_corpus(args.data, limit=args.limit, **read_options)
    print(f"{args.data}: {corpus.summary()}")
    for failure in corpus.failures:
        print(f"  skipped {failure}")
    if len(corpus.pieces) < 2:
        raise SystemExit(f"{args.data}: need at least 2 pieces (one to validate on)")
    return corpus.pieces


def save_piece(piece: Piece, path: Path, *, title: str | None = None) -> None:
    """Write `piece` as ``<path>.mid`` and its piano roll as ``<path>.png``."""
    from musegen.evaluation import plots

    path.parent.mkdir(parents=True, exist_ok=True)
    write_midi(piece, path.with_suffix(".mid"))
    plots.piano_roll(piece, path=path.with_suffix(".png"), title=title or path.stem)
    print(f"wrote {path.with_suffix('.mid')} and {path.with_suffix('.png')}")

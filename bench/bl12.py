"""The four polyphonic benchmarks of Boulanger-Lewandowski et al. (ICML 2012), through musegen.

JSB Chorales, Nottingham, MuseData and Piano-midi.de: their published splits,
one frame per time step holding the MIDI pitches sounding then (``musegen
download bl12``; `musegen.datasets.load_bl12`). Each frame becomes an event of
length 1 and `musegen.FrameTokenizer` spells it as ``bench/jsb.py`` does: the
frame's pitches low to high, then a step (a rest token for a silent frame), a
start token before each piece, so every frame is predicted. The vocabulary is
the tokens plus all 88 piano keys: a test pitch unseen in training costs what
the model gives it.

The model trains on ``train`` under a wall-clock budget; ``valid`` chooses the
weights (the epoch of the lowest valid loss); ``test`` is scored once per row.
The score is the **total** negative log-likelihood of the test tokens divided
by the **total** number of test frames, in nats (every frame of every piece
counts, the first one too: the start token predicts it). ``bench/jsb.py``
averages per chorale instead; on JSB the two differ by a few hundredths.

Rows (`rows`): ``default`` (musegen's training defaults: 2 x LSTM 128, songs
also moved -3..+3 semitones and the model read in those 7 keys; the columns
without "views" read the same weights in the data's key alone),
``transformer`` (`musegen.build_transformer`: 2 layers of width 128, context
64, on the same spelling, data, keys, budget and scoring; a piece longer than
its context is scored window by window, each id with half a context or more
before it), and variants named
``default+field=value`` as in ``bench/jsb.py``. The data come transposed as
BL12 prepared them (mostly to C major / C minor), so reading in 7 keys averages
over keys the test set is rarely in; the columns without views say what that adds.

Every row records its steps, its seconds and this machine's speed (`calibrate`:
the default model's training steps per second on random ids, measured before
the rows), so a figure from another machine can be read in steps too.

Run ``python bench/bl12.py --data PATH --datasets all --rows default,transformer --minutes 3``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, replace
from typing import Any

import _recipe
import numpy as np

from musegen.defaults import TRAINING

PUBLISHED = {
    "RNN-RBM (Boulanger-Lewandowski et al. 2012, approximate)": (6.27, 2.39, 6.01, 7.09),
    "RNN-NADE, Hessian-free (Boulanger-Lewandowski et al. 2012)": (5.56, 2.31, 5.60, 7.05),
    "LSTM, independent sigmoids (Chung et al. 2014)": (8.67, 3.20, 6.23, 9.03),
    "GRU, independent sigmoids (Chung et al. 2014)": (8.54, 3.23, 5.99, 8.82),
    "TCN, independent sigmoids (Bai et al. 2018)": (8.10, 3.07, None, None),
}
"""Test NLL per frame as published (nats), JSB / Nottingham / MuseData / Piano-midi.de."""

NAMES = ("JSB_Chorales", "Nottingham", "MuseData", "Piano_midi")


@dataclass(frozen=True)
class Row:
    """One configuration: the model, the data's keys and the budget."""

    model: str = "lstm"  # or "transformer"
    units: tuple[int, ...] = TRAINING.units
    dropout: float = TRAINING.dropout
    layer_dropout: float = TRAINING.layer_dropout
    seq_len: int = TRAINING.seq_len
    batch: int = TRAINING.batch_size
    learning_rate: float = TRAINING.learning_rate
    transpose: tuple[int, int] | None = TRAINING.transpose
    views: int = TRAINING.views  # > 0: also score the mixture of its views -views..+views
    layers: int = 2  # the Transformer's
    width: int = 128
    heads: int = 4
    attention_dropout: float = 0.1
    minutes: float | None = None  # None: --minutes


def rows() -> dict[str, Row]:
    """The configurations by name; ``default`` is `musegen.defaults.TRAINING`'s."""
    default = Row()
    return {
        "default": default,
        "transformer": replace(default, model="transformer", learning_rate=1e-3),
    }


def pieces_of(frames: list[list[tuple[int, ...]]]) -> list[Any]:
    """Each piece's frames as a `Piece` of one event of length 1 per frame (a rest if silent)."""
    from musegen.events import Event, Piece

    return [
        Piece(tuple(Event(float(i), 1.0, tuple(f)) for i, f in enumerate(piece)), source="bl12")
        for piece in frames
    ]


def calibrate(seconds: float = 10.0) -> float:
    """This machine's speed: training steps per second of the default model on random ids."""
    import keras

    from musegen.training.model import build_lstm

    keras.utils.set_random_seed(0)
    vocab = 96
    model = build_lstm(vocab, units=TRAINING.units, learning_rate=TRAINING.learning_rate)
    rng = np.random.default_rng(0)
    x = rng.integers(0, vocab, size=(TRAINING.batch_size, TRAINING.seq_len), dtype=np.int32)
    model.train_on_batch(x, x)  # compiles
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        model.train_on_batch(x, x)
        steps += 1
    return steps / (time.perf_counter() - start)


def run_row(
    dataset: str, name: str, row: Row, minutes: float, seed: int, folder: str
) -> dict[str, Any]:
    """Train one row on one dataset; score its best weights on valid and test (nats per frame)."""
    import keras

    from musegen.datasets import load_bl12
    from musegen.evaluation.likelihood import nll_per_quarter
    from musegen.generation.views import TranspositionViews
    from musegen.tokens.frame_tokenizer import FrameTokenizer
    from musegen.tokens.vocabulary import Vocabulary
    from musegen.training.dataset import SequenceDataset, transposed
    from musegen.training.model import build_lstm
    from musegen.training.time_budget import TimeBudget
    from musegen.training.transformer import build_transformer

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    tokenizer = FrameTokenizer()
    split = {s: pieces_of(f) for s, f in load_bl12(dataset, folder).items()}
    train = list(transposed(split["train"], *row.transpose)) if row.transpose else split["train"]
    keys = [tokenizer.pitches_to_text((p,)) for p in range(21, 109)]
    vocabulary = Vocabulary([tokenizer.start_text, tokenizer.rest_text, tokenizer.step_text, *keys])

    def ids(pieces: list[Any]) -> list[np.ndarray]:
        return [
            np.asarray(vocabulary.encode(tokenizer.encode(p), unknown="map"), np.int32)
            for p in pieces
        ]

    songs = {s: ids(p) for s, p in split.items()}
    train_ids = ids(train)
    data = SequenceDataset(
        train_ids, songs["valid"], len(vocabulary), seq_len=row.seq_len, shape="chunks", seed=seed
    )
    if row.model == "transformer":
        model = build_transformer(
            len(vocabulary),
            layers=row.layers,
            width=row.width,
            heads=row.heads,
            context=row.seq_len,
            dropout=row.attention_dropout,
            learning_rate=row.learning_rate,
        )
    else:
        model = build_lstm(
            len(vocabulary),
            units=row.units,
            dropout=row.dropout,
            layer_dropout=row.layer_dropout,
            learning_rate=row.learning_rate,
        )
    budget = TimeBudget(row.minutes or minutes, started_at=start)
    best = _recipe.fit_keeping_best(model, data, row.batch, budget)
    trained = time.perf_counter() - start
    model.set_weights(best["weights"])
    frames = {s: sum(len(p.events) for p in pieces) for s, pieces in split.items()}

    def score(which: str, views: Any = None) -> float:
        pieces = songs[which]
        per = [frames[which] / len(pieces)] * len(pieces)  # mean of totals / per = total / frames
        return nll_per_quarter(model, pieces, per, batch_size=16, views=views)

    result: dict[str, Any] = {
        "dataset": dataset, "row": name, "minutes": round(trained / 60, 2),
        "seconds": round(trained, 1), "steps": budget.steps, "epochs": best["epochs"],
        "best_epoch": best["epoch"], "valid": score("valid"), "test": score("test"),
        "train_frames": frames["train"], "test_frames": frames["test"],
    }  # fmt: skip
    views = TranspositionViews.around(tokenizer, vocabulary, row.views) if row.views else None
    if views is not None:
        result["views_valid"], result["views_test"] = score("valid", views), score("test", views)
    return result


def main() -> None:
    table = rows()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the folder `musegen download bl12` wrote")
    parser.add_argument("--datasets", default="all", help=f"comma-separated from {NAMES}")
    parser.add_argument("--rows", default="default")
    parser.add_argument("--minutes", type=float, default=TRAINING.minutes)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    datasets = NAMES if args.datasets == "all" else tuple(args.datasets.split(","))
    names = args.rows.split(",")
    table.update({n: _recipe.variant(table, n) for n in names})
    from musegen._quiet import start_tensorflow

    start_tensorflow()  # without its CUDA chatter on a CPU machine
    speed = calibrate()
    print(
        f"BL12 benchmarks {list(datasets)}; budget {args.minutes:g} min per row unless the row "
        f"says; {os.cpu_count()} cores; {_recipe.load_average()}; calibration: the default model "
        f"trains {speed:.1f} steps/s here",
        flush=True,
    )
    results = []
    for dataset in datasets:
        for name in names:
            result = run_row(dataset, name, table[name], args.minutes, args.seed, args.data)
            result["calibration_steps_per_s"] = round(speed, 2)
            results.append(result)
            print(f"{dataset} {name}: {table[name]}\n  {result}", flush=True)
    print()
    print("| dataset | row | minutes | steps | steps / calibration | valid | test "
          "| valid (views) | test (views) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        views = f"{r['views_valid']:.2f} | {r['views_test']:.2f}" if "views_valid" in r else "- | -"
        print(
            f"| {r['dataset']} | {r['row']} | {r['minutes']:.1f} | {r['steps']} | "
            f"{r['steps'] / speed:.0f} s | {r['valid']:.2f} | {r['test']:.2f} | {views} |"
        )


if __name__ == "__main__":
    main()

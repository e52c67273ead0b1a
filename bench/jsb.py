"""The JSB Chorales benchmark: NLL per frame on the test chorales, chosen on the valid ones.

The benchmark of Boulanger-Lewandowski, Vincent and Bengio (ICML 2012), as the
literature runs it: 229 train, 76 valid and 77 test chorales, one frame per
quarter note (`musegen.datasets.jsb_chorales`), spelt frame by frame by
`musegen.FrameTokenizer` (each frame's pitches low to high, then a step token; a
start token opens each chorale, so every frame is predicted). The model trains on
``train`` only, under a wall-clock budget; ``valid`` chooses everything (the
epoch whose weights are kept, the configuration); ``test`` is scored once per
configuration. The score is the negative log-likelihood of a chorale's tokens
summed and divided by its frames, averaged over chorales, in nats: the
published table's measure (docs/quality.md has it beside ours).

The ``bars`` row spells the same frames with ``frames-bars``
(``FrameTokenizer(bars=True)``): a ``bar`` token before the first frame of each
bar, the metre after the first and where it changes, from each chorale's music21
source (`musegen.datasets.jsb_metres`; a chorale without one is 4/4 with no
pickup). Its NLL counts every token, bars and metres too, over the same frames,
so it stands beside ``default``'s. Every row also reports ``best_test_matched``:
the test NLL per frame over the chorales whose metre is known.

Each row trains once and reports two configurations: the weights at the
deadline (``last``) and those of the lowest valid loss seen at the end of an
epoch (``best``). The vocabulary is the training tokens plus all 88 piano keys,
so a test pitch unseen in training costs what the model gives it, never an
``<unk>``.

Run ``python bench/jsb.py --rows default,t3 --minutes 3`` (rows in `rows`;
``--minutes`` is each row's budget unless the row sets its own; a row named
``default+batch=64+dropout=0`` is ``default`` with those fields changed).
"""

from __future__ import annotations

import argparse
import math
import os
import time
from dataclasses import dataclass, replace
from typing import Any

import _recipe
import numpy as np

from musegen.defaults import TRAINING

PUBLISHED = (
    ("LSTM (Chung et al. 2014)", 8.67),
    ("GRU (Chung et al. 2014)", 8.54),
    ("LSTM (Bai et al. 2018)", 8.45),
    ("TCN (Bai et al. 2018)", 8.10),
    ("RNN-RBM (Boulanger-Lewandowski et al. 2012)", 6.27),
    ("RNN-NADE, Hessian-free (Boulanger-Lewandowski et al. 2012)", 5.56),
    ("Coconet (Huang et al. 2017)", 5.0),
)
"""Test NLL per frame reported on the quarter-note split (nats; lower is better)."""


@dataclass(frozen=True)
class Row:
    """One configuration: the model, the data and the budget."""

    units: tuple[int, ...] = TRAINING.units
    dropout: float = TRAINING.dropout  # the head's Dropout layers
    layer_dropout: float = TRAINING.layer_dropout  # between stacked LSTMs
    embedding_dropout: float = 0.0
    dense_units: int | None = 256
    seq_len: int = TRAINING.seq_len
    batch: int = TRAINING.batch_size
    learning_rate: float = TRAINING.learning_rate
    weight_decay: float = 0.0
    transpose: tuple[int, int] | None = TRAINING.transpose
    normalize_keys: bool = TRAINING.normalize_keys  # chorales moved to C major / A minor
    ema: float = 0.0  # > 0: Adam's moving average of the weights (this momentum) replaces them
    bars: bool = False  # frames-bars: a bar token at each bar line, the metre after the first
    views: int = TRAINING.views  # > 0: also score the mixture of its views -views..+views
    minutes: float | None = None  # None: --minutes


def rows() -> dict[str, Row]:
    """The configurations by name; ``default`` is `musegen.defaults.TRAINING`'s.

    The others are named by how they differ from ``before``, the default when the
    JSB measurements began (2 x LSTM 128, head dropout 0.3, songs in their keys).
    """
    default = Row()
    before = Row(dropout=0.3, layer_dropout=0.0, transpose=None, normalize_keys=False, views=0)
    return {
        "default": default,
        "bars": replace(default, bars=True),
        "before": before,
        "head-0.3": replace(before, dropout=0.3),
        "no-dropout": replace(before, dropout=0.0, layer_dropout=0.0),
        "layer-0.3": replace(before, dropout=0.0, layer_dropout=0.3),
        "both-0.3": replace(before, dropout=0.3, layer_dropout=0.3),
        "t3": replace(before, transpose=(-3, 3)),
        "t6": replace(before, transpose=(-6, 5)),
        "t3-no-dropout": replace(before, dropout=0.0, layer_dropout=0.0, transpose=(-3, 3)),
        "t3-layer-0.3": replace(before, dropout=0.0, layer_dropout=0.3, transpose=(-3, 3)),
        "t3-seq128": replace(before, transpose=(-3, 3), seq_len=128),
        "t3-seq256": replace(before, transpose=(-3, 3), seq_len=256),
        "t3-wd": replace(before, transpose=(-3, 3), weight_decay=1e-2),
        "t3-emb0.2": replace(before, transpose=(-3, 3), embedding_dropout=0.2),
        "t3-256": replace(before, units=(256, 256), transpose=(-3, 3), learning_rate=3e-3),
        "t3-256-layer-0.3": replace(
            before, units=(256, 256), layer_dropout=0.3, transpose=(-3, 3), learning_rate=3e-3
        ),
        "t3-3x192": replace(before, units=(192, 192, 192), transpose=(-3, 3), learning_rate=3e-3),
        "b64": replace(before, batch=64),
        "b128": replace(before, batch=128),
        "b128-lr1e-2": replace(before, batch=128, learning_rate=1e-2),
        "b64-no-dropout": replace(before, batch=64, dropout=0.0, layer_dropout=0.0),
        "t3-b64-no-dropout": replace(
            before, batch=64, dropout=0.0, layer_dropout=0.0, transpose=(-3, 3)
        ),
        "t3-b64": replace(before, batch=64, transpose=(-3, 3)),
        "keynorm": replace(before, normalize_keys=True),
        "keynorm-no-dropout": replace(before, normalize_keys=True, dropout=0.0),
        "keynorm-t3-no-dropout": replace(
            before, normalize_keys=True, dropout=0.0, transpose=(-3, 3)
        ),
        "keynorm-t3-layer-0.3": replace(
            before, normalize_keys=True, dropout=0.0, layer_dropout=0.3, transpose=(-3, 3)
        ),
        "t6-no-dropout": replace(before, dropout=0.0, transpose=(-6, 5)),
        "t6-layer-0.3": replace(before, dropout=0.0, layer_dropout=0.3, transpose=(-6, 5)),
        "ema": replace(before, ema=0.99),
        "no-dropout-ema": replace(before, dropout=0.0, ema=0.99),
    }


def run_row(name: str, row: Row, minutes: float, seed: int) -> dict[str, Any]:
    """Train one row and score its last and best weights on valid and test (nats per frame)."""
    import keras

    from musegen.datasets import jsb_chorales, jsb_metres
    from musegen.evaluation.likelihood import nll_per_quarter
    from musegen.generation.views import TranspositionViews
    from musegen.tokens.frame_tokenizer import FrameTokenizer
    from musegen.tokens.vocabulary import Vocabulary
    from musegen.training.dataset import SequenceDataset, normalized, transposed
    from musegen.training.model import build_lstm
    from musegen.training.time_budget import TimeBudget

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    tokenizer = FrameTokenizer(bars=row.bars)
    split = {s: jsb_chorales(s, metre=row.bars) for s in ("train", "valid", "test")}
    matched = {s: [i for i, m in enumerate(jsb_metres(s)) if m is not None] for s in split}
    if row.normalize_keys:
        split = {s: list(normalized(pieces)) for s, pieces in split.items()}
    train = list(transposed(split["train"], *row.transpose)) if row.transpose else split["train"]
    keys = [tokenizer.pitches_to_text((p,)) for p in range(21, 109)]
    metres = sorted({p.time_signature for ps in split.values() for p in ps} | {
        s for ps in split.values() for p in ps for _, s in p.time_signature_changes
    }) if row.bars else []  # fmt: skip
    marks = [tokenizer.bar_text, *metres] if row.bars else []
    vocabulary = Vocabulary(
        [tokenizer.start_text, tokenizer.rest_text, tokenizer.step_text, *marks, *keys]
    )
    assert not set(Vocabulary.build(tokenizer.encode(p) for p in train).tokens) - set(
        vocabulary.tokens
    )

    def ids(pieces: list[Any]) -> list[np.ndarray]:
        return [
            np.asarray(vocabulary.encode(tokenizer.encode(p), unknown="error"), np.int32)
            for p in pieces
        ]

    songs = {s: ids(p) for s, p in split.items()}
    songs["test_matched"] = [songs["test"][i] for i in matched["test"]]
    data = SequenceDataset(
        ids(train), songs["valid"], len(vocabulary), seq_len=row.seq_len, shape="chunks", seed=seed
    )
    model = build_lstm(
        len(vocabulary),
        units=row.units,
        dropout=row.dropout,
        layer_dropout=row.layer_dropout,
        dense_units=row.dense_units,
        learning_rate=row.learning_rate,
    )
    if row.embedding_dropout or row.weight_decay or row.ema:
        model = _with_options(model, row)
    budget = TimeBudget(row.minutes or minutes, started_at=start)
    best = _recipe.fit_keeping_best(model, data, row.batch, budget)
    trained = time.perf_counter() - start
    frames = {s: [float(len(p.events)) for p in pieces] for s, pieces in split.items()}
    frames["test_matched"] = [frames["test"][i] for i in matched["test"]]

    def score(which: str, views: Any = None) -> float:
        nll = nll_per_quarter(model, songs[which], frames[which], batch_size=16, views=views)
        if row.normalize_keys:  # the key shift, at log(12) nats a chorale, is not predicted
            nll += float(np.mean([math.log(12) / n for n in frames[which]]))
        return nll

    result: dict[str, Any] = {
        "row": name, "minutes": trained / 60, "steps": budget.steps, "epochs": best["epochs"],
        "best_epoch": best["epoch"], "last_valid": score("valid"), "last_test": score("test"),
    }  # fmt: skip
    model.set_weights(best["weights"])
    result["best_valid"], result["best_test"] = score("valid"), score("test")
    # the test songs with a known metre only (the others are 4/4 from their start in ``bars``)
    result["best_test_matched"] = score("test_matched")
    result["matched"] = {s: len(matched[s]) for s in split}
    views = TranspositionViews.around(tokenizer, vocabulary, row.views)
    if views is not None:
        result["views_valid"], result["views_test"] = score("valid", views), score("test", views)
    return result


def _with_options(model: Any, row: Row) -> Any:
    """`model` with dropout on its embedding's output, AdamW weight decay and / or weight EMA."""
    import keras

    if row.embedding_dropout:
        inputs = model.inputs[0]
        x = model.get_layer("embedding")(inputs)
        x = keras.layers.Dropout(row.embedding_dropout, name="embedding_dropout")(x)
        for layer in model.layers[2:]:
            x = layer(x)
        model = keras.Model(inputs, x, name=model.name)
    ema = {"use_ema": True, "ema_momentum": row.ema} if row.ema else {}
    optimizer = (
        keras.optimizers.AdamW(row.learning_rate, weight_decay=row.weight_decay, **ema)
        if row.weight_decay
        else keras.optimizers.Adam(row.learning_rate, **ema)
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def main() -> None:
    table = rows()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="default")
    parser.add_argument("--minutes", type=float, default=TRAINING.minutes)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    names = args.rows.split(",")
    unknown = [n for n in names if n.split("+")[0] not in table]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; choose from {list(table)}")
    table.update({n: _recipe.variant(table, n) for n in names if "+" in n})
    print(
        f"JSB Chorales, quarter-note frames: 229 train / 76 valid / 77 test; budget "
        f"{args.minutes:g} min per row unless the row says; {os.cpu_count()} cores; "
        f"{_recipe.load_average()}",
        flush=True,
    )
    results = []
    for name in names:
        row = table[name]
        result = run_row(name, row, args.minutes, args.seed)
        results.append(result)
        print(f"{name}: {row}\n  {result}", flush=True)
    print()
    print("| row | minutes | steps | epochs | best epoch | valid (last) | test (last) "
          "| valid (best) | test (best) | valid (best, views) | test (best, views) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        views = f"{r['views_valid']:.2f} | {r['views_test']:.2f}" if "views_valid" in r else "- | -"
        print(
            f"| {r['row']} | {r['minutes']:.1f} | {r['steps']} | {r['epochs']} | "
            f"{r['best_epoch']} | {r['last_valid']:.2f} | {r['last_test']:.2f} | "
            f"{r['best_valid']:.2f} | {r['best_test']:.2f} | {views} |"
        )
    print()
    print("| published (test NLL per frame) | |")
    print("|---|---|")
    for label, value in PUBLISHED:
        print(f"| {label} | {value:.2f} |")


if __name__ == "__main__":
    main()

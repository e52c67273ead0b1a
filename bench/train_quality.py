"""Held-out validation loss reached in the same wall-clock budget, recipe against musegen.

Command (from the repository root; not run in CI)::

    nice python bench/train_quality.py --minutes 10
    nice python bench/train_quality.py --minutes 2 --files 30 --configs recipe,chunk-2x256

Every configuration trains for `--minutes` of wall-clock time (model building and
compilation included) on the same training songs, then is scored on the same task:
the next token after each 100-token window of the held-out validation songs
(windows every `--eval-stride` tokens), as mean cross-entropy in nats. Tokens are
the original recipe's (`Tokenizer.skuli()`, first part of each file); songs are
split 90/10 with seed 0.

Configurations:

- ``recipe``: Skuli's network and training, windows of 100 across the concatenated
  training songs, stride 1, scaled-float input, one-hot labels, rmsprop, batch 128.
- ``chunk-3x512``: musegen chunks of 100, 3 x LSTM 512 on ids, Adam 1e-3, batch 64.
- ``chunk-2x256``: 2 x LSTM 256, Adam 3e-3, batch 32.
- ``chunk-2x256-aug``: as chunk-2x256, training songs also transposed by -3..+3.
- ``chunk-2x256-aug6``: as chunk-2x256, training songs in all 12 keys (-5..+6).
- ``chunk-2x256-aug6-b64``: as chunk-2x256-aug6 with batches of 64.
- ``chunk-2x256-aug6-cos``: as chunk-2x256-aug6, the learning rate annealed to 0
  by the deadline (`musegen.training.time_budget.TimeBudget`, cosine).
- ``chunk-2x256-aug6-cos-drop``: as chunk-2x256-aug6-cos with ``layer_dropout=0.2``.
- ``chunk-2x256-aug6-cos-5e-3``: as chunk-2x256-aug6-cos, starting at 5e-3.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import Any

import _recipe
import numpy as np

SEQ_LEN = 100


@dataclass(frozen=True)
class Config:
    units: tuple[int, ...]
    learning_rate: float
    batch: int
    transpose: tuple[int, int] | None = None
    anneal: bool = False
    layer_dropout: float = 0.0


CONFIGS: dict[str, Config | None] = {
    "recipe": None,
    "chunk-3x512": Config((512, 512, 512), 1e-3, 64),
    "chunk-2x256": Config((256, 256), 3e-3, 32),
    "chunk-2x256-aug": Config((256, 256), 3e-3, 32, transpose=(-3, 3)),
    "chunk-2x256-aug6": Config((256, 256), 3e-3, 32, transpose=(-5, 6)),
    "chunk-2x256-aug6-b64": Config((256, 256), 3e-3, 64, transpose=(-5, 6)),
    "chunk-2x256-aug6-cos": Config((256, 256), 3e-3, 32, transpose=(-5, 6), anneal=True),
    "chunk-2x256-aug6-cos-drop": Config(
        (256, 256), 3e-3, 32, transpose=(-5, 6), anneal=True, layer_dropout=0.2
    ),
    "chunk-2x256-aug6-cos-5e-3": Config((256, 256), 5e-3, 32, transpose=(-5, 6), anneal=True),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--files", type=int, default=None, help="read only the first N files")
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated names")
    parser.add_argument("--eval-stride", type=int, default=5)
    args = parser.parse_args()
    names = args.configs.split(",")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        raise SystemExit(f"unknown configs {unknown}; choose from {list(CONFIGS)}")

    import keras

    from musegen.tokens.tokenizer import Tokenizer
    from musegen.tokens.vocabulary import Vocabulary
    from musegen.training.dataset import SequenceDataset
    from musegen.training.time_budget import TimeBudget

    print(_recipe.load_average())
    pieces, parse_s = _recipe.load_skuli_pieces(args.files)
    tokenizer = Tokenizer.skuli()
    songs = [tokenizer.encode(p) for p in pieces]
    vocab = Vocabulary.build(songs)
    split = SequenceDataset.from_ids(
        [vocab.encode(s) for s in songs], len(vocab), seq_len=SEQ_LEN, shape="windows",
        val_fraction=0.1, seed=0,
    )  # fmt: skip
    windows = SequenceDataset.from_ids(
        split.val_ids, len(vocab), seq_len=SEQ_LEN, shape="windows", stride=args.eval_stride,
        val_fraction=0,
    )  # fmt: skip
    batches = list(windows.batches(4096, shuffle=False).as_numpy_iterator())
    eval_x = np.concatenate([x for x, _ in batches])
    eval_y = np.concatenate([y for _, y in batches])
    print(
        f"corpus: {len(songs)} songs ({parse_s:.0f} s to parse), vocab {len(vocab)}; "
        f"train {split.num_train_songs} songs, val {split.num_val_songs} songs, "
        f"{len(eval_y)} eval windows; budget {args.minutes} min each"
    )

    for name in names:
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        config = CONFIGS[name]
        start = time.perf_counter()
        stop = TimeBudget(
            args.minutes, anneal=config is not None and config.anneal, started_at=start
        )
        if config is None:
            model, ids_input = train_recipe(split.train_ids, len(vocab), stop), False
        else:
            data = SequenceDataset.from_pieces(
                pieces, tokenizer, vocab, seq_len=SEQ_LEN, shape="chunks", val_fraction=0.1,
                seed=0, transpose=config.transpose,
            )  # fmt: skip
            assert [v.tolist() for v in data.val_ids] == [v.tolist() for v in split.val_ids]
            model = train_chunks(data, config, stop)
            ids_input = True
        trained = time.perf_counter() - start
        loss = evaluate(model, eval_x, eval_y, len(vocab), ids_input)
        print(
            f"{name:16s} val loss {loss:.3f} after {stop.steps} steps in {trained / 60:.1f} min "
            f"({model.count_params() / 1e6:.1f} M params); {_recipe.load_average()}",
            flush=True,
        )


def train_recipe(train_ids: list[np.ndarray], vocab_size: int, stop: Any) -> Any:
    """Skuli's training: windows across the concatenated songs, one-hot labels, batch 128."""
    import keras

    from musegen.training.model import skuli_lstm

    flat = np.concatenate(train_ids)
    starts = np.arange(len(flat) - SEQ_LEN)
    x = flat[starts[:, None] + np.arange(SEQ_LEN)][..., None] / float(vocab_size)
    y = keras.utils.to_categorical(flat[starts + SEQ_LEN], num_classes=vocab_size)
    model = skuli_lstm(vocab_size, seq_len=SEQ_LEN)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=[])
    model.fit(x, y, batch_size=128, epochs=10_000, callbacks=[stop], verbose=0)
    return model


def train_chunks(data: Any, config: Config, stop: Any) -> Any:
    """musegen's chunk training of a `build_lstm` model."""
    from musegen.training.model import build_lstm

    model = build_lstm(
        data.vocab_size,
        units=config.units,
        layer_dropout=config.layer_dropout,
        return_sequences=True,
        learning_rate=config.learning_rate,
    )
    model.fit(data.batches(config.batch), epochs=10_000, callbacks=[stop], shuffle=False, verbose=0)
    return model


def evaluate(model: Any, x: np.ndarray, y: np.ndarray, vocab_size: int, ids: bool) -> float:
    """Mean cross-entropy (nats) of the token after each window, from the last position."""
    inputs = x if ids else x[..., None] / float(vocab_size)
    out = np.asarray(model.predict(inputs, batch_size=256, verbose=0), dtype=np.float64)
    if out.ndim == 3:
        out = out[:, -1, :]
    if model.layers[-1].name == "softmax":
        log_p = np.log(np.clip(out, 1e-12, 1.0))
    else:
        shifted = out - out.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


if __name__ == "__main__":
    main()

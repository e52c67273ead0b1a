"""Training on a cluster: next-token predictions per second with 1 and 2 local workers.

Command (from the repository root)::

    nice python bench/multi_worker.py                  # defaults of `musegen train`
    nice python bench/multi_worker.py --steps 20 --units 64

Every row trains the default configuration (`musegen.defaults.TRAINING`: encoding,
LSTM sizes, chunk length, batch) on `data/skuli-midi`, in fresh processes:

- ``keras fit``: one process, TensorFlow's default strategy, Keras' ``model.fit``
  (what ``musegen train`` runs without ``TF_CONFIG``);
- ``1 worker``: the custom loop (`musegen.training.custom_loop`) under
  `MultiWorkerMirroredStrategy`, a cluster of one (`musegen.training.launch`);
- ``2 workers``: two worker processes on localhost, the same global batch (each
  worker computes half of it);
- ``2 workers, 2x batch``: each worker computes the one-worker batch.

Each runs ``--warmup`` steps, then ``--steps`` timed ones; the figure is
next-token predictions (chunk positions the loss sees) per second over all workers.
On one machine the workers share its cores, so this measures the cluster's
overhead, not a speed-up; on several machines each worker brings its own.

Bytes per step, all workers together: ``all-reduce`` is the dense gradients summed
across workers (one float32 per trainable weight outside the embedding, plus the
step's four sums); ``all-gather`` is the embedding's gradient, which TensorFlow
sends as one row per token of the global batch (``IndexedSlices``: the embedding
width in float32 plus an int32 index), so it grows with the batch; ``loopback`` is
measured, the bytes the loopback interface carried during the timed steps divided
by the steps. A ring all-reduce over two workers sends twice the all-reduce bytes
(each worker sends about all of it once), an all-gather its bytes once.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _recipe
import keras

HERE = Path(__file__).resolve()


def main() -> None:
    from musegen.defaults import TRAINING

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per row")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--units", type=int, nargs="+", default=list(TRAINING.units))
    parser.add_argument("--seq-len", type=int, default=TRAINING.seq_len)
    parser.add_argument("--batch-size", type=int, default=TRAINING.batch_size)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        work(args)
        return

    from musegen.training.launch import run_local_workers

    print(_recipe.load_average())
    options = ["--steps", str(args.steps), "--warmup", str(args.warmup), "--units"]
    options += [*map(str, args.units), "--seq-len", str(args.seq_len)]
    rows = [
        ("keras fit", 0, args.batch_size),
        ("1 worker", 1, args.batch_size),
        ("2 workers", 2, args.batch_size),
        ("2 workers, 2x batch", 2, 2 * args.batch_size),
    ]
    print(
        f"LSTM {'x'.join(map(str, args.units))}, chunks of {args.seq_len}, "
        f"{args.warmup} + {args.steps} steps per row\n"
    )
    columns = ["row", "global batch", "predictions/s", "ratio"]
    columns += ["all-reduce B/step", "all-gather B/step", "loopback B/step"]
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")
    first = None
    for name, workers, batch in rows:
        command = [sys.executable, str(HERE), "--worker", *options, "--batch-size", str(batch)]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        if workers:
            out = io.StringIO()
            run_local_workers(command, workers, env=env, out=out)
            text = out.getvalue()
        else:
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            text = done.stdout
        result = json.loads(text.split("RESULT ", 1)[1].splitlines()[0])
        speed = result["predictions"] / result["seconds"]
        first = first or speed
        traffic = ["", "", ""]  # one process: nothing to send
        if workers:
            gathered = batch * args.seq_len * result["row_bytes"]
            traffic = [f"{result['reduced']:,}", f"{gathered:,}"]
            traffic.append(f"{result['loopback'] / args.steps:,.0f}")
        cells = [name, str(batch), f"{speed:,.0f}", f"{speed / first:.2f}", *traffic]
        print("| " + " | ".join(cells) + " |")
    print(f"\n{_recipe.load_average()}")


def work(args: argparse.Namespace) -> None:
    """One process of a row: train, time the steps after the warm-up, report from the chief."""
    from musegen.training.fitting import distribution_strategy, fit

    strategy = distribution_strategy()  # multi-worker when TF_CONFIG is set
    from musegen.defaults import TRAINING
    from musegen.io.corpus import load_corpus
    from musegen.tokens.encodings import encodings
    from musegen.training.custom_loop import is_chief
    from musegen.training.dataset import SequenceDataset
    from musegen.training.model import build_lstm

    pieces = load_corpus("musegen:skuli", progress=False).pieces
    tokenizer = encodings()[TRAINING.encoding]
    vocabulary = tokenizer.build_vocabulary(pieces)
    data = SequenceDataset.from_pieces(
        pieces, tokenizer, vocabulary, seq_len=args.seq_len, shape="chunks", val_fraction=0.0
    )
    with strategy.scope():
        model = build_lstm(len(vocabulary), units=tuple(args.units), return_sequences=True)
    clock = Clock(args.warmup, args.steps)
    with tempfile.TemporaryDirectory() as folder:  # the chief's run directory
        fit(model, data, epochs=10**6, run_dir=folder, batch_size=args.batch_size, verbose=0,
            callbacks=[clock], patience=None)  # fmt: skip
    if is_chief(strategy):
        table = model.get_layer("embedding").embeddings
        weights = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
        report = {
            "seconds": clock.seconds,
            "predictions": args.steps * args.batch_size * args.seq_len,
            "reduced": 4 * (weights - int(keras.ops.size(table))) + 4 * 4,
            "row_bytes": 4 * int(table.shape[1]) + 4,
            "loopback": clock.loopback,
        }
        print("RESULT " + json.dumps(report), flush=True)


class Clock(keras.callbacks.Callback):
    """Times the steps after the warm-up and reads the loopback counter; stops the run."""

    def __init__(self, warmup: int, steps: int) -> None:
        super().__init__()
        self.warmup, self.steps = warmup, steps
        self.step = 0
        self.seconds = 0.0
        self.loopback = 0
        self._start = 0.0

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self.step += 1
        if self.step == self.warmup:
            self._start, self.loopback = time.perf_counter(), -_loopback_bytes()
        elif self.step == self.warmup + self.steps:
            self.seconds = time.perf_counter() - self._start
            self.loopback += _loopback_bytes()
            self.model.stop_training = True


def _loopback_bytes() -> int:
    """Bytes sent on the loopback interface so far (Linux), else 0."""
    try:
        for line in Path("/proc/net/dev").read_text().splitlines():
            name, _, counters = line.partition(":")
            if name.strip() == "lo":
                return int(counters.split()[8])  # transmitted bytes
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    main()

"""Training helpers: Keras' own callbacks wired for a run directory, and a thin `fit`.

A run directory holds:

- ``best.keras``: the model with the best validation loss so far,
- ``history.csv``: one row of metrics per epoch (appended to on resume),
- ``backup/``: the state `keras.callbacks.BackupAndRestore` needs to resume an
  interrupted run from its last finished epoch; removed when training ends,
- ``weight_shapes.json``: written by `fit`, so that it can refuse to resume the
  backup of a different model.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras

from musegen._files import atomic_write_text

if TYPE_CHECKING:
    from musegen.dataset import SequenceDataset

__all__ = ["TimeBudget", "distribution_strategy", "fit", "training_callbacks"]


def distribution_strategy(kind: str = "auto") -> Any:
    """A `tf.distribute` strategy; build and compile the model inside its ``scope()``.

    Args:
        kind: ``"multi_worker"`` (`MultiWorkerMirroredStrategy`, reads ``TF_CONFIG``;
            Keras 3.15's ``model.fit`` fails under it, keras-team/keras#20585: use
            it with a custom loop over ``strategy.run``),
            ``"mirrored"`` (every local GPU, or every CPU device when there is none),
            ``"default"`` (no distribution), or ``"auto"``: multi-worker when
            ``TF_CONFIG`` is set, mirrored with two or more GPUs, else default.

    Examples:
        >>> distribution_strategy("default").num_replicas_in_sync
        1
    """
    import tensorflow as tf

    if kind == "auto":  # TF_CONFIG first: listing devices would start TensorFlow too early
        if os.environ.get("TF_CONFIG"):
            kind = "multi_worker"
        else:
            kind = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"
    if kind == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if kind == "default":
        return tf.distribute.get_strategy()
    raise ValueError(f"kind must be 'auto', 'multi_worker', 'mirrored' or 'default', got {kind!r}")


class TimeBudget(keras.callbacks.Callback):
    """Stop training after a wall-clock budget, annealing the learning rate to it.

    The clock starts when training starts. After each batch the callback checks the
    time: past the budget it stops training (at the end of that batch, mid-epoch if
    need be). With ``anneal=True`` it also sets the optimizer's learning rate to a
    cosine decay from its starting value down to ``final_fraction`` of it at the
    deadline, so a run that is cut by time ends with small, careful steps (on the
    Skuli corpus this lowers the held-out loss reached in 10 minutes; see the
    training guide).

    Args:
        minutes: The budget, in minutes of wall-clock time.
        anneal: Decay the learning rate with the clock (else leave it alone).
        final_fraction: Learning rate at the deadline, as a fraction of the first.
        started_at: A `time.perf_counter()` reading to count the budget from (e.g.
            taken before building the dataset and model), or None: when training starts.

    Attributes:
        steps: Batches trained so far.

    Examples:
        >>> budget = TimeBudget(minutes=10)
        >>> model.fit(data.batches(32), epochs=1000, callbacks=[budget])  # doctest: +SKIP
        >>> budget.learning_rate_at(0.5), TimeBudget(1, final_fraction=0.1).learning_rate_at(1.0)
        (0.5, 0.1)
    """

    def __init__(
        self,
        minutes: float,
        *,
        anneal: bool = True,
        final_fraction: float = 0.0,
        started_at: float | None = None,
    ):
        super().__init__()
        if not minutes > 0:
            raise ValueError(f"minutes must be > 0, got {minutes}")
        if not 0.0 <= final_fraction <= 1.0:
            raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}")
        self.seconds = 60.0 * minutes
        self.anneal = anneal
        self.final_fraction = final_fraction
        self.steps = 0
        self.started_at = started_at
        self._start = 0.0
        self._first_rate = 0.0

    def learning_rate_at(self, elapsed: float) -> float:
        """The learning rate, as a fraction of the first, after `elapsed` of the budget (0-1)."""
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(max(elapsed, 0.0), 1.0)))
        return self.final_fraction + (1.0 - self.final_fraction) * cosine

    def on_train_begin(self, logs: Any = None) -> None:
        """Start the clock (unless `started_at` was given); note the first learning rate."""
        self._start = time.perf_counter() if self.started_at is None else self.started_at
        self._first_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        """Count the step, stop past the deadline, set the annealed learning rate."""
        self.steps += 1
        elapsed = (time.perf_counter() - self._start) / self.seconds
        if elapsed >= 1.0:
            self.model.stop_training = True
        if self.anneal:
            self.model.optimizer.learning_rate.assign(
                self._first_rate * self.learning_rate_at(elapsed)
            )


def training_callbacks(
    run_dir: str | os.PathLike[str],
    *,
    monitor: str = "val_loss",
    patience: int | None = 5,
    restore_best_weights: bool = True,
    resume: bool = True,
) -> list[keras.callbacks.Callback]:
    """Checkpoint the best model, stop early, log to CSV and make the run resumable.

    Args:
        run_dir: Folder for ``best.keras``, ``history.csv`` and ``backup/`` (created).
        monitor: The metric that decides "best" and early stopping (lower is better).
        patience: Epochs without improvement before stopping, or None to never stop early.
        restore_best_weights: When stopping early, give the model back its best weights.
        resume: Add `keras.callbacks.BackupAndRestore`, so that running the same
            `fit` again after an interruption continues from the last finished epoch.

    Returns:
        Keras callbacks to pass to ``model.fit(..., callbacks=...)``.

    Examples:
        >>> import tempfile
        >>> [type(c).__name__ for c in training_callbacks(tempfile.mkdtemp())]
        ['ModelCheckpoint', 'EarlyStopping', 'CSVLogger', 'BackupAndRestore']
    """
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    callbacks: list[keras.callbacks.Callback] = [
        keras.callbacks.ModelCheckpoint(
            str(folder / "best.keras"), monitor=monitor, mode="min", save_best_only=True
        )
    ]
    if patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                mode="min",
                patience=patience,
                restore_best_weights=restore_best_weights,
            )
        )
    callbacks.append(keras.callbacks.CSVLogger(str(folder / "history.csv"), append=True))
    if resume:
        callbacks.append(keras.callbacks.BackupAndRestore(str(folder / "backup")))
    return callbacks


def fit(
    model: keras.Model,
    data: SequenceDataset,
    *,
    epochs: int,
    run_dir: str | os.PathLike[str],
    batch_size: int = 64,
    verbose: int | str = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
    **callback_options: Any,
) -> keras.callbacks.History:
    """Train `model` on `data` with `training_callbacks` (validation on the held-out songs).

    Args:
        model: A compiled Keras model whose input and output fit the dataset's shape.
        data: The dataset; its validation songs give ``val_loss``.
        epochs: Most epochs to train.
        run_dir: The run directory (see `training_callbacks`).
        batch_size: Examples per batch.
        verbose: Keras' progress output (0 silent, 1 bar, 2 a line per epoch).
        callbacks: More callbacks to run, e.g. a `TimeBudget`.
        **callback_options: Passed to `training_callbacks` (``patience``, ``monitor``, ...).

    Returns:
        The Keras `History` of this call.

    Raises:
        ValueError: when `run_dir` holds the backup of an interrupted run of a
            different model (which Keras would fail to restore into this one).

    Examples:
        >>> import tempfile
        >>> from musegen.dataset import SequenceDataset
        >>> from musegen.model import build_lstm
        >>> data = SequenceDataset.from_ids([list(range(2, 12))] * 4, 12, seq_len=4,
        ...                                 shape="chunks", val_fraction=0.25)
        >>> model = build_lstm(12, units=(8,), return_sequences=True)
        >>> history = fit(model, data, epochs=1, run_dir=tempfile.mkdtemp(), verbose=0)
        >>> sorted(history.history)
        ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """
    _check_same_model(Path(run_dir), model)
    validation = data.batches(batch_size, split="val") if data.num_val else None
    options = {"monitor": "val_loss" if validation is not None else "loss", **callback_options}
    return model.fit(
        data.batches(batch_size),
        validation_data=validation,
        epochs=epochs,
        callbacks=[*training_callbacks(run_dir, **options), *callbacks],
        shuffle=False,  # the dataset reshuffles itself every epoch
        verbose=verbose,
    )


def _check_same_model(run_dir: Path, model: keras.Model) -> None:
    """Record the model's weight shapes in the run; refuse to resume another model's backup."""
    architecture = json.dumps([list(w.shape) for w in model.weights])
    record = run_dir / "weight_shapes.json"
    if (run_dir / "backup").exists() and record.is_file():
        if record.read_text(encoding="utf-8") != architecture:
            raise ValueError(
                f"{run_dir} holds the backup of an interrupted run of a different model; "
                "use another run directory, or delete its backup/ folder to start afresh"
            )
    atomic_write_text(record, architecture)

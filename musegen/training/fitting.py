"""Training helpers: Keras' own callbacks wired for a run directory, and a thin `fit`.

A run directory holds:

- ``best.keras``: the model with the best validation loss so far,
- ``history.csv``: one row of metrics and the learning rate per epoch (a resumed
  run replaces the rows of the epochs it trains again),
- ``backup/``: the state `musegen.training.checkpoints.Backup` needs to resume an
  interrupted run from its last finished epoch (on a cluster, the chief's
  `tf.train.Checkpoint`, see `musegen.training.custom_loop`); removed when training ends,
- ``weight_shapes.json``: written by `fit`, so that it can refuse to resume the
  backup of a different model.

Each is written to a temporary file and renamed into place (`musegen.training.checkpoints`),
so a run killed at any moment resumes from its last finished epoch.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras

from musegen._files import atomic_write_text
from musegen.defaults import TRAINING
from musegen.training.checkpoints import Backup, BestCheckpoint, HistoryLog
from musegen.training.custom_loop import fit_custom, is_chief, needs_custom_loop
from musegen.training.time_budget import BudgetProgress, TimeBudget

if TYPE_CHECKING:
    from musegen.training.dataset import SequenceDataset

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


def training_callbacks(
    run_dir: str | os.PathLike[str],
    *,
    monitor: str = "val_loss",
    patience: int | None = 5,
    restore_best_weights: bool = True,
    resume: bool = True,
    chief: bool = True,
    budget: TimeBudget | None = None,
    keep_backup: bool = False,
) -> list[keras.callbacks.Callback]:
    """Checkpoint the best model, stop early, log to CSV and make the run resumable.

    Args:
        run_dir: Folder for ``best.keras``, ``history.csv`` and ``backup/`` (created).
        monitor: The metric that decides "best" and early stopping (lower is better).
        patience: Epochs without improvement before stopping, or None to never stop early.
        restore_best_weights: When stopping early, give the model back its best weights.
        resume: Add a `musegen.training.checkpoints.Backup`, so that running the same
            `fit` again after an interruption continues from the last finished epoch.
        chief: False on the other workers of a cluster: only the callbacks that
            write nothing (early stopping), and no folder is created.
        budget: The run's `TimeBudget`, whose clock and first learning rate the
            backup keeps (so a resumed run ends at the same deadline and schedule).
        keep_backup: Leave ``backup/`` when training ends, for a caller that removes
            it once it has written what it makes of the model (``musegen train``).

    Returns:
        Keras callbacks to pass to ``model.fit(..., callbacks=...)``.

    Examples:
        >>> import tempfile
        >>> [type(c).__name__ for c in training_callbacks(tempfile.mkdtemp())]
        ['BestCheckpoint', 'EarlyStopping', 'HistoryLog', 'Backup']
    """
    stopping = (
        [
            keras.callbacks.EarlyStopping(
                monitor=monitor,
                mode="min",
                patience=patience,
                restore_best_weights=restore_best_weights,
            )
        ]
        if patience is not None
        else []
    )
    if not chief:
        return stopping
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in [*folder.glob(".*.tmp.*"), *folder.glob("backup/.*.tmp.*")]:
        stale.unlink(missing_ok=True)  # the temporary file of a write that was killed
    history = folder / "history.csv"
    best = BestCheckpoint(folder / "best.keras", monitor, history)
    backup = Backup(folder / "backup", budget, keep=keep_backup, callbacks=[best, *stopping])
    return [  # the backup last: an epoch is logged before the backup says it is done
        best,
        *stopping,
        HistoryLog(history),
        *([backup] if resume else []),
    ]


def fit(
    model: keras.Model,
    data: SequenceDataset,
    *,
    epochs: int,
    run_dir: str | os.PathLike[str],
    batch_size: int = TRAINING.batch_size,
    verbose: int | str = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
    **callback_options: Any,
) -> keras.callbacks.History:
    """Train `model` on `data` with `training_callbacks` (validation on the held-out songs).

    Under the strategy the model was built in (``strategy.scope()``) Keras' ``fit``
    trains, except where it cannot: under `MultiWorkerMirroredStrategy`
    `musegen.training.custom_loop.fit_custom` runs the same training with a custom step.
    There every worker calls `fit` alike; only the chief writes the run directory
    (its checkpoint in ``backup/`` must be readable by all workers to resume).

    Args:
        model: A compiled Keras model whose input and output fit the dataset's shape.
        data: The dataset; its validation songs give ``val_loss``.
        epochs: Most epochs to train.
        run_dir: The run directory (see `training_callbacks`).
        batch_size: Examples per batch (default ``TRAINING.batch_size``).
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
        >>> from musegen.training.dataset import SequenceDataset
        >>> from musegen.training.model import build_lstm
        >>> data = SequenceDataset.from_ids([list(range(2, 12))] * 4, 12, seq_len=4,
        ...                                 shape="chunks", val_fraction=0.25)
        >>> model = build_lstm(12, units=(8,), return_sequences=True)
        >>> history = fit(model, data, epochs=1, run_dir=tempfile.mkdtemp(), verbose=0)
        >>> sorted(history.history)
        ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """
    strategy = model.distribute_strategy
    chief = is_chief(strategy)  # a process without a cluster is its own chief
    if chief:
        _check_same_model(Path(run_dir), model)
    options = {"monitor": "val_loss" if data.num_val else "loss", **callback_options}
    budgets = [c for c in callbacks if isinstance(c, TimeBudget)]
    options.setdefault("budget", budgets[0] if budgets else None)
    if (
        budgets and verbose != 0 and chief
    ):  # a line per epoch with the time left, not "Epoch 1/1000000"
        callbacks = [*callbacks, BudgetProgress(budgets[0])]
    if needs_custom_loop(strategy):
        return fit_custom(
            model,
            data,
            strategy=strategy,
            epochs=epochs,
            batch_size=batch_size,
            backup_dir=Path(run_dir) / "backup",
            callbacks=[
                *training_callbacks(run_dir, **options, resume=False, chief=chief),
                *callbacks,
            ],
            verbose=verbose,
        )
    batches = data.batches(batch_size)
    return model.fit(
        batches,
        validation_data=data.batches(batch_size, split="val") if data.num_val else None,
        epochs=epochs,
        callbacks=[
            *_in_order(training_callbacks(run_dir, **options), callbacks),
            _Reshuffled(batches),
        ],
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


def _in_order(
    own: Sequence[keras.callbacks.Callback], given: Sequence[keras.callbacks.Callback]
) -> list[keras.callbacks.Callback]:
    """`own` and `given`, the given early stopping (or best checkpoint) before the backup.

    The backup keeps their state: it saves it once they have seen the epoch, and
    restores it once their ``on_train_begin`` has reset it.
    """
    watched = [c for c in given if isinstance(c, (keras.callbacks.EarlyStopping, BestCheckpoint))]
    backups = [c for c in own if isinstance(c, Backup)]
    for backup in backups:
        backup.callbacks.extend(watched)
    first = [c for c in own if not isinstance(c, Backup)]
    return [*first, *watched, *backups, *(c for c in given if c not in watched)]


class _Reshuffled(keras.callbacks.Callback):
    """A resumed run's first epoch reads the training examples in that epoch's order.

    The dataset reshuffles on every pass, from its seed: each pass started draws
    the next order. Keras 3 starts two passes an epoch over a dataset of known
    length (one as the epoch begins, after ``on_epoch_begin``, one when it ends)
    and one over a dataset of unknown length; starting (and dropping) as many per
    epoch already trained gives the resumed epochs the orders the whole run saw.
    """

    def __init__(self, batches: Any) -> None:
        super().__init__()
        self.batches = batches
        self.started = False

    def on_train_begin(self, logs: Any = None) -> None:
        self.started = False

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        if not self.started:
            self.started = True
            passes = 2 if (self.params or {}).get("steps") else 1
            for _ in range(epoch * passes):
                iter(self.batches)

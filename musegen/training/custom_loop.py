"""A training loop over `tf.distribute` for the strategies Keras' ``model.fit`` cannot run.

Keras 3's ``fit`` stops in its first step under `MultiWorkerMirroredStrategy`
(keras-team/keras#20585). `fit_custom` trains there instead, with TensorFlow's own
engine: each step is ``strategy.run`` of a replica step (forward pass, the
model's compiled loss weighted by the dataset's sample weights, the optimizer's
``apply_gradients``, which all-reduces the gradients), then one
``strategy.reduce`` of the step's sums. `musegen.training.fitting.fit` calls it for such
strategies and Keras' ``fit`` for the others, so user code does not change.

What it keeps from the one-machine path:

- **Input:** each worker reads its own share of a `SequenceDataset` or
  `ShardedDataset` (``batches(..., pipeline=(index, count))``). An epoch is
  ``len(data) // batch_size`` steps on every worker, so none waits for ever (a
  share of fewer batches is read again). Before the first step the workers
  all-reduce their data and share sizes: a worker without a batch of its own
  stops them all with one `ValueError`.
- **Losses:** the same figures as Keras' ``fit``: the weighted token losses (and
  hits, for ``accuracy``) summed, over the number of tokens, padding included.
  The validation loss is computed by each worker on its share of the validation
  songs, then summed across workers.
- **Callbacks** run on every worker with the same logs, so `EarlyStopping` stops
  all workers at the same epoch. A `TimeBudget` reads the chief's clock (sent
  with each step's sums), so all workers stop at the same step with the same
  learning rate.
- **Resuming:** after each epoch every worker saves a `tf.train.Checkpoint`
  (model, optimizer, epoch, budget spent): the chief into ``backup_dir``,
  the others into a scratch folder they delete at once. A rerun of the same
  cluster restores the chief's checkpoint on every worker (so ``backup_dir`` must
  be on storage every worker reads) and goes on from the next epoch. The
  checkpoint is removed when training ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras

from musegen.training.time_budget import TimeBudget

if TYPE_CHECKING:
    import tensorflow as tf

    from musegen.training.dataset import SequenceDataset

__all__ = ["barrier", "fit_custom", "is_chief", "needs_custom_loop", "worker_count"]

_LOSS, _CORRECT, _ELEMENTS, _CLOCK = range(4)  # what every step reduces


def needs_custom_loop(strategy: Any) -> bool:
    """Whether Keras' ``model.fit`` cannot train under `strategy` (multi-worker strategies).

    Examples:
        >>> import tensorflow as tf
        >>> needs_custom_loop(tf.distribute.get_strategy())
        False
    """
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def worker_count(strategy: Any) -> int:
    """Number of worker processes in `strategy`'s cluster (1 without a cluster).

    Examples:
        >>> import tensorflow as tf
        >>> worker_count(tf.distribute.get_strategy())
        1
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None:
        return 1
    spec = resolver.cluster_spec().as_dict()
    return max(sum(len(spec.get(job, ())) for job in ("chief", "worker")), 1)


def is_chief(strategy: Any) -> bool:
    """Whether this process is the chief of `strategy`'s cluster: the one that writes files.

    The chief is the ``"chief"`` task when the cluster has one, else worker 0; a
    process without a cluster is its own chief.

    Examples:
        >>> import tensorflow as tf
        >>> is_chief(tf.distribute.get_strategy())
        True
    """
    return _worker_index(strategy) == 0


def barrier(strategy: Any) -> None:
    """Wait until every worker of `strategy`'s cluster gets here (one all-reduce).

    A worker that ends while another still works (the chief writing its files)
    is reported by TensorFlow as crashed; ending after a barrier, they leave together.

    Examples:
        >>> import tensorflow as tf
        >>> barrier(tf.distribute.get_strategy())  # no cluster: returns at once
    """
    import tensorflow as tf

    if worker_count(strategy) > 1:
        _all_workers_sum(strategy)(tf.zeros(1))


def fit_custom(
    model: keras.Model,
    data: SequenceDataset,
    *,
    strategy: Any,
    epochs: int,
    batch_size: int,
    backup_dir: str | os.PathLike[str] | None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """Train `model` on `data` under `strategy` with a custom step (see the module's notes).

    Args:
        model: A compiled Keras model built inside ``strategy.scope()``.
        data: A `SequenceDataset` or `ShardedDataset`; every worker builds the same one.
        strategy: The `tf.distribute` strategy, e.g. `MultiWorkerMirroredStrategy`.
        epochs: Most epochs to train.
        batch_size: The global batch: examples per step over all replicas.
        backup_dir: The chief's checkpoint folder (for resuming), or None for none.
        callbacks: Keras callbacks, run on every worker (at most one `TimeBudget`).
        verbose: Keras' progress output on the chief (0 silent, 1 bar, 2 a line per
            epoch, ``"auto"`` 1); the other workers print nothing.

    Returns:
        The Keras `History` of this call (epochs numbered from the resumed one).

    Raises:
        ValueError: when the batch does not split evenly between the replicas, a
            worker's share of the data holds no batch (every worker raises the same
            line, naming that worker and its shards' sizes, before the first step),
            the workers built different data, more than one `TimeBudget` is given,
            or the workers found different checkpoints.

    Examples:
        >>> import tensorflow as tf
        >>> from musegen.training.dataset import SequenceDataset
        >>> from musegen.training.model import build_lstm
        >>> data = SequenceDataset.from_ids([list(range(2, 12))] * 4, 12, seq_len=4,
        ...                                 shape="chunks", val_fraction=0.25)
        >>> model = build_lstm(12, units=(8,), return_sequences=True)
        >>> history = fit_custom(model, data, strategy=tf.distribute.get_strategy(),
        ...                      epochs=2, batch_size=2, backup_dir=None, verbose=0)
        >>> sorted(history.history), history.epoch
        (['accuracy', 'loss', 'val_accuracy', 'val_loss'], [0, 1])
    """
    import tensorflow as tf

    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(f"batch_size {batch_size} does not split between {replicas} replicas")
    total = _all_workers_sum(strategy)
    _check_shares(data, batch_size, strategy, total)
    steps = len(data) // batch_size  # the same on every worker, as they hold the same data
    if steps == 0:
        raise ValueError(
            f"{len(data)} training examples give no full batch of {batch_size} "
            f"to each of {worker_count(strategy)} workers; use a smaller batch"
        )
    budgets = [c for c in callbacks if isinstance(c, TimeBudget)]
    if len(budgets) > 1:
        raise ValueError("fit_custom takes at most one TimeBudget")
    budget = budgets[0] if budgets else None
    chief = is_chief(strategy)
    listed = keras.callbacks.CallbackList(
        [c for c in callbacks if c is not budget],
        add_history=True,
        add_progbar=chief and verbose != 0,
        model=model,
        verbose=1 if verbose == "auto" else verbose,
        epochs=epochs,
        steps=steps,
    )
    elements = batch_size * (data.seq_len if data.shape == "chunks" else 1)

    def pipeline_input(context: tf.distribute.InputContext) -> tf.data.Dataset:
        return data.batches(
            context.get_per_replica_batch_size(batch_size),
            pipeline=(context.input_pipeline_id, context.num_input_pipelines),
            drop_remainder=True,
        ).repeat()

    batches = iter(strategy.distribute_datasets_from_function(pipeline_input))
    sums = _batch_sums(model)

    @tf.function
    def train_step(iterator: Any, clock: tf.Tensor) -> tf.Tensor:
        def replica(batch: Any, clock: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                totals = sums(batch, training=True)
                loss = totals[_LOSS] / elements
                if model.losses:  # regularisation, split between the replicas
                    loss += tf.add_n(model.losses) / replicas
            variables = model.trainable_variables
            gradients = tape.gradient(loss, variables)
            model.optimizer.apply_gradients(zip(gradients, variables, strict=True))
            first = tf.distribute.get_replica_context().replica_id_in_sync_group == 0
            return tf.concat([totals, [tf.where(first, clock, 0.0)]], 0)  # the chief's clock

        return strategy.reduce("SUM", strategy.run(replica, args=(next(iterator), clock)), None)

    local_sums = tf.function(lambda batch: sums(batch, training=False))
    state = _TrainingState(model, strategy, backup_dir, chief, total)
    first_epoch = state.restore()
    spent = float(state.spent.numpy())

    listed.on_train_begin()
    if budget is not None:
        budget.set_model(model)
        budget.resume(spent, float(state.first_rate.numpy()))  # not the restored, annealed rate
        budget.on_train_begin()
    model.stop_training = False
    logs: dict[str, float] = {}
    for epoch in range(first_epoch, epochs):
        listed.on_epoch_begin(epoch)
        totals = tf.zeros(4)
        for step in range(steps):
            listed.on_train_batch_begin(step)
            clock = budget.elapsed() if budget is not None and chief else 0.0
            reduced = train_step(batches, tf.constant(clock, tf.float32))
            totals += reduced
            if budget is not None:
                spent = float(reduced[_CLOCK])
                budget.advance(spent)
            listed.on_train_batch_end(step, _logs(totals))
            if model.stop_training:
                break
        logs = _logs(totals)
        if data.num_val:
            logs.update(_logs(_validate(data, batch_size, strategy, local_sums, total), "val_"))
        listed.on_epoch_end(epoch, logs)
        state.save(epoch + 1, spent)
        if model.stop_training:
            break
    listed.on_train_end(logs)
    state.finish()
    return model.history


def _batch_sums(model: keras.Model) -> Any:
    """A function of a batch giving [weighted loss, weighted correct, elements]."""
    import tensorflow as tf

    loss = keras.losses.get(model.loss)  # a name, a function or a `Loss`
    per_token = loss.call if isinstance(loss, keras.losses.Loss) else loss

    def sums(batch: Any, *, training: bool) -> tf.Tensor:
        x, y, *rest = batch
        weights = rest[0] if rest else tf.ones(tf.shape(y), tf.float32)
        predicted = model(x, training=training)
        losses = tf.cast(per_token(y, predicted), tf.float32) * weights
        right = tf.cast(
            tf.argmax(predicted, -1, output_type=tf.int32) == tf.cast(y, tf.int32), tf.float32
        )
        return tf.stack(
            [
                tf.reduce_sum(losses),
                tf.reduce_sum(right * weights),
                tf.cast(tf.size(y), tf.float32),
            ]
        )

    return sums


def _logs(totals: Any, prefix: str = "") -> dict[str, float]:
    """Keras-style logs (``loss``, ``accuracy``) from summed totals."""
    values = [float(v) for v in totals]
    return {
        f"{prefix}loss": values[_LOSS] / max(values[_ELEMENTS], 1.0),
        f"{prefix}accuracy": values[_CORRECT] / max(values[_ELEMENTS], 1.0),
    }


def _check_shares(data: Any, batch_size: int, strategy: Any, total: Any) -> None:
    """Before the first step, agree that every worker has the same data and a step to make.

    Each worker all-reduces the size of the data and of its share, so all raise
    the same error (a worker without a batch would leave the others' collectives
    unmatched).
    """
    import numpy as np
    import tensorflow as tf

    from musegen.training.shards import ShardedDataset

    workers = worker_count(strategy)
    if workers == 1:  # the one share is all of the data: steps >= 1 is enough
        return

    def share(worker: int) -> dict[str, int]:  # training examples per shard of a worker's share
        if isinstance(data, ShardedDataset):
            return data.share((worker, workers))
        return {"": len(range(worker, len(data), workers))}

    me = _worker_index(strategy)
    table = np.zeros((workers, 2))
    table[me] = len(data), sum(share(me).values())
    sizes, examples_of = total(tf.constant(table)).numpy().round().astype(int).T.tolist()
    if len(set(sizes)) > 1:
        raise ValueError(
            f"the workers built different training data ({', '.join(map(str, sizes))} "
            "examples): every worker must build the same dataset"
        )
    replicas = strategy.num_replicas_in_sync
    per_replica, local = batch_size // replicas, replicas // workers
    for worker, examples in enumerate(examples_of):
        if examples < per_replica * local:
            shards = ", ".join(f"{f}: {n}" for f, n in share(worker).items() if f)
            replicas_named = f" ({local} replicas)" if local > 1 else ""
            raise ValueError(
                f"worker {worker} of {workers} reads {examples} training examples"
                f"{f' ({shards})' if shards else ''}, no full batch of {per_replica} per "
                f"replica{replicas_named}; {'write smaller shards or ' if shards else ''}"
                "use a smaller batch"
            )


def _validate(data: Any, batch_size: int, strategy: Any, local_sums: Any, total: Any) -> Any:
    """Validation sums over all workers: each reads its own share, then one all-reduce."""
    import tensorflow as tf

    workers = worker_count(strategy)
    sums = tf.zeros(3)
    for batch in data.batches(batch_size, split="val", pipeline=(_worker_index(strategy), workers)):
        sums += local_sums(batch)
    return total(sums)


def _all_workers_sum(strategy: Any) -> Any:
    """A function giving the sum of a float tensor over all workers (one all-reduce)."""
    import tensorflow as tf

    local_replicas = strategy.num_replicas_in_sync // worker_count(strategy)

    @tf.function
    def total(values: tf.Tensor) -> tf.Tensor:
        per_replica = strategy.run(lambda v: v / local_replicas, args=(values,))
        return strategy.reduce("SUM", per_replica, None)

    return total


def _worker_index(strategy: Any) -> int:
    """This process's place in the cluster: 0 for the chief (or without a cluster), then 1, ..."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type or resolver.task_type == "chief":
        return 0
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return int(resolver.task_id) + (1 if has_chief else 0)


class _TrainingState:
    """The checkpoint a cluster resumes from: model, optimizer, epoch, budget spent, first rate.

    The chief keeps its two newest checkpoints (TensorFlow writes each to temporary
    files and renames them); one that cannot be read is set aside with one line and
    the one before it (or a fresh start) is used instead.
    """

    def __init__(self, model: keras.Model, strategy: Any, backup_dir: Any, chief: bool, total: Any):
        import tensorflow as tf

        self.strategy = strategy
        self.total = total
        self.backup_dir = Path(backup_dir) if backup_dir is not None else None
        self.chief = chief
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.spent = tf.Variable(0.0, dtype=tf.float32, trainable=False)
        rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        self.first_rate = tf.Variable(rate, dtype=tf.float32, trainable=False)
        with strategy.scope():  # the optimizer's slots exist before a restore fills them
            model.optimizer.build(model.trainable_variables)
        self.checkpoint = tf.train.Checkpoint(
            model=model,
            optimizer=model.optimizer,
            epoch=self.epoch,
            spent=self.spent,
            first_rate=self.first_rate,
        )

    def restore(self) -> int:
        """Restore the chief's last readable checkpoint on this worker; the epoch to go on from."""
        import tensorflow as tf

        if self.backup_dir is None:
            return 0
        latest = None
        for prefix in self._checkpoints():
            try:
                self.checkpoint.restore(str(prefix)).expect_partial()
            except Exception as err:  # a torn, truncated or foreign file: any error
                if self.chief:
                    self._set_aside(prefix, err)
                continue
            latest = prefix
            break
        epoch = float(self.epoch.numpy())  # 0 without a checkpoint
        found = self.total(tf.constant([epoch, epoch * epoch]))
        workers = worker_count(self.strategy)
        if abs(workers * float(found[1]) - float(found[0]) ** 2) > 0.5:  # not all equal
            raise ValueError(
                f"the workers found different checkpoints in {self.backup_dir}: the run "
                "directory must be on storage every worker reads (a shared disk)"
            )
        if latest is not None and self.chief:
            print(f"resuming from {latest} (epoch {int(self.epoch.numpy())})", flush=True)
        return int(self.epoch.numpy())

    def _checkpoints(self) -> list[Path]:
        """The checkpoint prefixes in the backup folder, newest first (by their files)."""
        assert self.backup_dir is not None
        numbered = []
        for index in self.backup_dir.glob("ckpt-*.index"):
            number = index.name[len("ckpt-") : -len(".index")]
            if number.isdigit():
                numbered.append((int(number), index.with_suffix("")))
        return [prefix for _, prefix in sorted(numbered, reverse=True)]

    def _set_aside(self, prefix: Path, err: Exception) -> None:
        """Move an unreadable checkpoint's files aside, saying so and what happens instead."""
        assert self.backup_dir is not None
        aside = self.backup_dir.parent / f"{self.backup_dir.name}.unreadable"
        aside.mkdir(exist_ok=True)
        for path in self.backup_dir.glob(f"{prefix.name}.*"):
            os.replace(path, aside / path.name)
        older = self._checkpoints()
        instead = f"resuming from {older[0]}" if older else "starting afresh"
        cause = str(err).splitlines()[0] if str(err) else type(err).__name__
        print(f"{prefix}: unreadable checkpoint ({cause}); moved to {aside}, {instead}")

    def save(self, epoch: int, spent: float) -> None:
        """Save on every worker (a collective): the chief's copy is the one that counts."""
        import tensorflow as tf

        if self.backup_dir is None:
            return
        self.epoch.assign(epoch)
        self.spent.assign(spent)
        if self.chief:  # numbered files, renamed into place: a kill leaves the last two
            tf.train.CheckpointManager(self.checkpoint, str(self.backup_dir), 2).save(epoch)
        else:
            with tempfile.TemporaryDirectory(prefix="musegen-worker-") as scratch:
                self.checkpoint.write(str(Path(scratch) / "ckpt"))

    def finish(self) -> None:
        """Training ended: the checkpoint is no longer needed (the chief removes it)."""
        if self.chief and self.backup_dir is not None:
            shutil.rmtree(self.backup_dir, ignore_errors=True)

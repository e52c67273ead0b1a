"""The custom training loop in one process (TensorFlow's default strategy).

The cluster itself is tested in test_multi_worker.py; here the loop's step is
held against Keras' own, and its resuming, budget and errors are checked fast.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from musegen.training.custom_loop import fit_custom, is_chief, needs_custom_loop, worker_count
from musegen.training.dataset import SequenceDataset
from musegen.training.model import build_lstm
from musegen.training.shards import ShardedDataset, write_shards
from musegen.training.time_budget import TimeBudget

SONGS = [[2 + (i + k) % 4 for i in range(40)] for k in range(12)]


def tiny_data() -> SequenceDataset:
    # 9 training songs x 5 chunks = 45 examples: 5 full batches of 9, none dropped
    return SequenceDataset.from_ids(SONGS, 8, seq_len=8, shape="chunks", val_fraction=0.25)


def tiny_model(output: str = "logits") -> keras.Model:
    return build_lstm(
        8, units=(16,), embedding_dim=8, dense_units=None, dropout=0.0,
        return_sequences=True, learning_rate=0.03, jit_compile=False, output=output,
    )  # fmt: skip


def default_strategy():
    import tensorflow as tf

    return tf.distribute.get_strategy()


@pytest.mark.parametrize("loss", ["object", "sparse_categorical_crossentropy"])
def test_the_custom_step_is_keras_step(loss: str) -> None:
    keras.utils.set_random_seed(0)
    output = "logits" if loss == "object" else "probabilities"  # what the name expects
    ours, theirs = tiny_model(output), tiny_model(output)
    if loss != "object":  # a loss given by name, as Keras' compile takes it
        for model in (ours, theirs):
            model.compile(optimizer=keras.optimizers.Adam(0.03), loss=loss, metrics=["accuracy"])
    theirs.set_weights(ours.get_weights())
    data = tiny_data()
    history = fit_custom(
        ours, data, strategy=default_strategy(), epochs=1, batch_size=9, backup_dir=None, verbose=0
    )
    reference = theirs.fit(
        data.batches(9), validation_data=data.batches(9, split="val"), epochs=1, verbose=0,
        shuffle=False,
    )  # fmt: skip
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=2e-5)
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert history.history[key] == pytest.approx(reference.history[key], rel=1e-3), key


def test_shards_train_through_the_custom_loop(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    write_shards(SONGS, tmp_path, vocabulary=8, shard_tokens=80)
    shards = ShardedDataset(tmp_path, seq_len=8, shape="chunks", val_fraction=0.25)
    history = fit_custom(
        tiny_model(), shards, strategy=default_strategy(), epochs=3, batch_size=8,
        backup_dir=None, verbose=0,
    )  # fmt: skip
    losses = history.history["val_loss"]
    assert losses[-1] < losses[0], losses


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if epoch == 1:
            raise KeyboardInterrupt


def test_an_interrupted_run_resumes_with_its_optimizer(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    backup = tmp_path / "backup"
    options = {"strategy": default_strategy(), "batch_size": 9, "backup_dir": backup, "verbose": 0}
    first = tiny_model()
    with pytest.raises(KeyboardInterrupt):
        fit_custom(first, tiny_data(), epochs=4, callbacks=[Interrupt()], **options)
    assert (backup / "checkpoint").is_file()  # epoch 0 was saved; epoch 1 never finished
    weights = first.get_weights()

    second = tiny_model()  # a fresh process would build a fresh model
    history = fit_custom(second, tiny_data(), epochs=3, **options)
    assert history.epoch == [1, 2]
    assert int(second.optimizer.iterations.numpy()) == 3 * 5  # restored 5, then 10 more
    assert not backup.exists()  # training ended: the checkpoint is gone
    assert not any(np.array_equal(a, b) for a, b in zip(weights, second.get_weights(), strict=True))


def test_a_time_budget_stops_the_loop_and_anneals() -> None:
    model = tiny_model()
    budget = TimeBudget(0.05, started_at=time.perf_counter() - 2.9)  # 0.1 s of 3 s left
    history = fit_custom(
        model, tiny_data(), strategy=default_strategy(), epochs=10_000, batch_size=9,
        backup_dir=None, callbacks=[budget], verbose=0,
    )  # fmt: skip
    assert 1 <= budget.steps and len(history.epoch) < 10_000
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) < 0.03 * 0.01


def test_bad_calls_are_refused() -> None:
    options = {"strategy": default_strategy(), "epochs": 1, "backup_dir": None}
    with pytest.raises(ValueError, match="45 training examples give no full batch of 64"):
        fit_custom(tiny_model(), tiny_data(), batch_size=64, **options)
    with pytest.raises(ValueError, match="at most one TimeBudget"):
        fit_custom(
            tiny_model(), tiny_data(), batch_size=9, callbacks=[TimeBudget(1), TimeBudget(2)],
            **options,
        )  # fmt: skip


def test_the_workers_agree_on_their_data_before_the_first_step() -> None:
    import tensorflow as tf

    from musegen.training.custom_loop import _check_shares

    # worker 0 of two, each with one replica; `total` adds the row worker 1 sends
    cluster = tf.train.ClusterSpec({"worker": ["localhost:1", "localhost:2"]})
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(cluster, "worker", 0)
    strategy = SimpleNamespace(cluster_resolver=resolver, num_replicas_in_sync=2)

    def peer(row: list[float]):
        return lambda table: table + tf.constant([[0.0, 0.0], row], tf.float64)

    data = tiny_data()  # 45 examples: worker 0 reads 23, worker 1 22
    _check_shares(data, 44, strategy, peer([45, 22]))  # 22 per replica: both have a batch
    with pytest.raises(ValueError, match=r"different training data \(45, 46 examples\)"):
        _check_shares(data, 44, strategy, peer([46, 23]))
    line = "worker 1 of 2 reads 22 training examples, no full batch of 23 per replica; use a"
    with pytest.raises(ValueError, match=line):
        _check_shares(data, 46, strategy, peer([45, 22]))


def test_one_process_is_its_own_chief() -> None:
    strategy = default_strategy()
    assert not needs_custom_loop(strategy)
    assert worker_count(strategy) == 1 and is_chief(strategy)


class InterruptAfterTwo(keras.callbacks.Callback):
    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if epoch == 2:  # checkpoints of epochs 1 and 2 are on disk, 3 never is
            raise KeyboardInterrupt


def test_an_unreadable_checkpoint_is_set_aside_in_one_line(tmp_path, capsys) -> None:
    keras.utils.set_random_seed(0)
    backup = tmp_path / "backup"
    options = {"strategy": default_strategy(), "batch_size": 9, "backup_dir": backup, "verbose": 0}
    with pytest.raises(KeyboardInterrupt):
        fit_custom(tiny_model(), tiny_data(), epochs=4, callbacks=[InterruptAfterTwo()], **options)
    (data,) = backup.glob("ckpt-2.data-*")
    data.write_bytes(data.read_bytes()[:100])  # truncated: a disk error, a torn copy
    capsys.readouterr()
    history = fit_custom(tiny_model(), tiny_data(), epochs=4, **options)
    unreadable, resuming = capsys.readouterr().out.splitlines()
    assert unreadable.startswith(f"{backup / 'ckpt-2'}: unreadable checkpoint (")
    assert unreadable.endswith(f"moved to {tmp_path / 'backup.unreadable'}, resuming from "
                               f"{backup / 'ckpt-1'}")  # fmt: skip
    assert resuming == f"resuming from {backup / 'ckpt-1'} (epoch 1)"
    assert history.epoch == [1, 2, 3]

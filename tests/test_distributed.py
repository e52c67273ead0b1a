"""The same training code under tf.distribute: MirroredStrategy on two logical CPU devices.

Logical devices must be configured before TensorFlow initializes its devices, so
the training runs in one fresh Python subprocess that reports back as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, tempfile
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
from musegen.training.custom_loop import fit_custom
from musegen.training.dataset import SequenceDataset
from musegen.training.model import build_lstm
from musegen.training.shards import ShardedDataset, write_shards
from musegen.training.fitting import distribution_strategy, fit

strategy = distribution_strategy("mirrored")
songs = [[2 + (i + k) % 6 for i in range(40)] for k in range(8)]
global_batch = 4 * strategy.num_replicas_in_sync  # per-replica batch x replicas


def tiny_model():
    with strategy.scope():  # variables and optimizer state are mirrored on every replica
        return build_lstm(
            10, units=(16,), embedding_dim=8, dense_units=None, dropout=0.0,
            return_sequences=True, learning_rate=0.02,
        )


# 1. The same `fit` call as on one device, with the global batch size.
memory = SequenceDataset.from_ids(songs, 10, seq_len=8, shape="chunks", val_fraction=0.25)
history = fit(tiny_model(), memory, epochs=3, run_dir=tempfile.mkdtemp(),
              batch_size=global_batch, verbose=0)
report = {"replicas": strategy.num_replicas_in_sync, "memory": history.history["val_loss"]}

# 2. Shards through musegen's per-pipeline input (the cluster's loop, docs/scale.md).
folder = tempfile.mkdtemp()
write_shards(songs, folder, vocabulary=10, shard_tokens=80)
shards = ShardedDataset(folder, seq_len=8, shape="chunks", val_fraction=0.25)
history = fit_custom(tiny_model(), shards, strategy=strategy, epochs=3, batch_size=global_batch,
                     backup_dir=None, verbose=0)
report["shards"] = history.history["val_loss"]
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def report() -> dict:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mirrored_strategy_has_two_replicas(report):
    assert report["replicas"] == 2


def test_fit_under_mirrored_strategy_lowers_val_loss(report):
    losses = report["memory"]
    assert losses[-1] < losses[0], losses


def test_shards_per_input_pipeline_train_under_mirrored_strategy(report):
    losses = report["shards"]
    assert losses[-1] < losses[0], losses

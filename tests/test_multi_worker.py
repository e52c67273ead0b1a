"""Training on a cluster: two worker processes on localhost under MultiWorkerMirroredStrategy.

Each test starts real worker processes with their own ``TF_CONFIG`` (through
`musegen.training.launch`), as two machines would run them.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from musegen.training.launch import WorkerError, local_cluster, run_local_workers
from musegen.training.shards import write_shards

ROOT = Path(__file__).resolve().parents[1]

WORKER = """
import json, os, sys
from musegen.training.fitting import distribution_strategy, fit

strategy = distribution_strategy()  # MultiWorkerMirroredStrategy: TF_CONFIG is set
import keras
import numpy as np
from musegen.training.dataset import SequenceDataset
from musegen.training.model import build_lstm

out = sys.argv[1]
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
report = {}


def tiny_model():
    with strategy.scope():
        return build_lstm(10, units=(16,), embedding_dim=8, dense_units=None, dropout=0.0,
                          return_sequences=True, learning_rate=0.02)


# 1. Shards of which worker 1's hold no batch: every worker stops before the first step.
from musegen.training.custom_loop import fit_custom
from musegen.training.shards import ShardedDataset

uneven = ShardedDataset(os.path.join(out, "uneven"), seq_len=8, shape="chunks", val_fraction=0)
try:
    fit_custom(tiny_model(), uneven, strategy=strategy, epochs=1, batch_size=8, backup_dir=None,
               verbose=0)
except ValueError as err:
    report["uneven"] = str(err)

# 2. One step of SGD on a global batch of 8 (4 per worker), from saved weights.
keras.utils.set_random_seed(0)
step = tiny_model()
with strategy.scope():
    step.compile(optimizer=keras.optimizers.SGD(1.0), loss=step.loss)
np.savez(os.path.join(out, f"before-{index}.npz"), *step.get_weights())
batch = SequenceDataset.from_ids([[2 + (i * k) % 7 for i in range(13)] for k in range(1, 5)], 10,
                                 seq_len=8, shape="chunks", val_fraction=0)
fit_custom(step, batch, strategy=strategy, epochs=1, batch_size=8, backup_dir=None, verbose=0)
np.savez(os.path.join(out, f"after-{index}.npz"), *step.get_weights())

# 3. Four epochs of 5 steps.
songs = [[2 + (i + k) % 6 for i in range(40)] for k in range(12)]
data = SequenceDataset.from_ids(songs, 10, seq_len=8, shape="chunks", val_fraction=0.25)
model = tiny_model()


class Checksums(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.sums = []

    def on_train_batch_end(self, batch, logs=None):
        self.sums.append(float(sum(np.sum(w, dtype=np.float64) for w in self.model.get_weights())))


checksums = Checksums()
history = fit(model, data, epochs=4, run_dir=os.path.join(out, "run"), batch_size=8,
              verbose=2, callbacks=[checksums])
with open(os.path.join(out, f"worker-{index}.json"), "w") as f:
    json.dump({**report, "sums": checksums.sums, "val_loss": history.history["val_loss"],
               "replicas": strategy.num_replicas_in_sync}, f)
"""


def test_local_cluster_gives_each_worker_its_own_free_port():
    configs = [json.loads(c) for c in local_cluster(3)]
    addresses = configs[0]["cluster"]["worker"]
    assert len(set(addresses)) == 3
    assert [c["task"]["index"] for c in configs] == [0, 1, 2]
    assert all(c["cluster"] == configs[0]["cluster"] for c in configs)
    with pytest.raises(ValueError, match="count"):
        local_cluster(0)


def test_a_failing_worker_stops_the_others_and_is_named():
    script = (
        "import json, os, sys, time\n"
        "if json.loads(os.environ['TF_CONFIG'])['task']['index'] == 1: sys.exit(3)\n"
        "time.sleep(60)"
    )
    out = io.StringIO()
    started = time.perf_counter()
    with pytest.raises(WorkerError, match=r"worker 1 \(pid \d+\) exited with status 3; stopped"):
        run_local_workers([sys.executable, "-c", script], 2, out=out)
    assert time.perf_counter() - started < 30  # worker 0 was stopped, not waited for
    assert "[launcher] worker 0: pid" in out.getvalue()


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory) -> tuple[Path, str]:
    """Two workers train the tiny model above for 4 epochs of 5 steps."""
    folder = tmp_path_factory.mktemp("cluster")
    scratch = folder / "scratch"
    scratch.mkdir()
    script = folder / "worker.py"
    script.write_text(WORKER)
    # shard 0 (worker 0): one song of 25 chunks; shard 1 (worker 1): one of 2 chunks. 27
    # examples make 3 global batches of 8, but worker 1 has no batch of 4 of its own.
    songs = [[2 + i % 6 for i in range(201)], list(range(2, 10)) * 2]
    write_shards(songs, folder / "uneven", vocabulary=10, shard_tokens=100)
    out = io.StringIO()
    env = {**os.environ, "TMPDIR": str(scratch), "TF_CPP_MIN_LOG_LEVEL": "2"}
    try:
        run_local_workers([sys.executable, str(script), str(folder)], 2, env=env, out=out)
    except WorkerError as err:
        pytest.fail(f"{err}\n{out.getvalue()[-2000:]}")
    return folder, out.getvalue()


def test_both_workers_hold_the_same_weights_after_every_step(cluster_run):
    folder, _ = cluster_run
    chief, other = (json.loads((folder / f"worker-{i}.json").read_text()) for i in (0, 1))
    assert chief["replicas"] == 2
    assert len(chief["sums"]) == 4 * 5  # 4 epochs of 30 examples // 8 per step
    assert chief["sums"] == other["sums"]  # bit for bit: the gradients were all-reduced
    assert len(set(chief["sums"])) == len(chief["sums"])  # and every step moved them


def test_a_worker_whose_shards_hold_no_batch_stops_every_worker_with_one_line(cluster_run):
    folder, _ = cluster_run
    line = (
        "worker 1 of 2 reads 2 training examples (shard-00001.npy: 2), no full batch of 4 per "
        "replica; write smaller shards or use a smaller batch"
    )
    for i in (0, 1):
        assert json.loads((folder / f"worker-{i}.json").read_text()).get("uneven") == line


def test_a_two_worker_step_is_the_single_device_step_on_the_same_batch(cluster_run):
    import keras
    import numpy as np

    from musegen.training.dataset import SequenceDataset
    from musegen.training.model import build_lstm

    folder, _ = cluster_run
    before, after, other = (
        list(np.load(folder / name).values())
        for name in ("before-0.npz", "after-0.npz", "after-1.npz")
    )
    model = build_lstm(
        10, units=(16,), embedding_dim=8, dense_units=None, dropout=0.0, return_sequences=True,
        jit_compile=False,
    )  # fmt: skip
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss=model.loss)
    model.set_weights(before)
    songs = [[2 + (i * k) % 7 for i in range(13)] for k in range(1, 5)]  # 8 chunks, 4 padded
    batch = SequenceDataset.from_ids(songs, 10, seq_len=8, shape="chunks", val_fraction=0)
    model.fit(batch.batches(8, shuffle=False), epochs=1, shuffle=False, verbose=0)  # Keras: 1 step
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(after, before, strict=True))
    off = max(float(np.max(np.abs(a - b))) for a, b in zip(after, model.get_weights(), strict=True))
    print(f"largest weight change of the step {moved:.3g}; largest difference {off:.3g}")
    assert all(np.array_equal(a, b) for a, b in zip(after, other, strict=True))
    assert moved > 0.05
    assert off < 1e-3 * moved  # a gradient half or twice the size would be off by moved / 2


def test_the_cluster_lowers_the_validation_loss(cluster_run):
    folder, _ = cluster_run
    losses = json.loads((folder / "worker-0.json").read_text())["val_loss"]
    assert losses[-1] < 0.6 * losses[0], losses
    assert losses == json.loads((folder / "worker-1.json").read_text())["val_loss"]


def test_only_the_chief_writes_and_the_others_clean_their_scratch(cluster_run):
    folder, log = cluster_run
    run = folder / "run"
    assert sorted(p.name for p in run.iterdir()) == [
        "best.keras",
        "history.csv",
        "weight_shapes.json",
    ]  # the checkpoint of every epoch is gone once training ended
    assert len((run / "history.csv").read_text().splitlines()) == 1 + 4
    assert list((folder / "scratch").iterdir()) == []
    assert "[worker 0] Epoch 4/4" in log
    assert "[worker 1] Epoch" not in log  # progress from the chief only


def _train(out: Path, epochs: int, *extra: str, **env: str) -> subprocess.Popen[str]:
    """``musegen train`` of a tiny model on 10 files, for `epochs` at most (no time budget)."""
    command = [sys.executable, "-m", "musegen.cli", "train", "musegen:skuli", "--limit", "10"]
    command += ["--out", str(out), "--minutes", "0", "--epochs", str(epochs), "--units", "16"]
    command += ["--seq-len", "16", "--batch-size", "8", *extra]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
    )


def test_killing_a_worker_stops_the_cluster_and_a_rerun_resumes(tmp_path):
    out = tmp_path / "run"
    launcher = _train(out, 100, "--local-workers", "2")
    checkpoint = out / "backup" / "checkpoint"
    deadline = time.monotonic() + 240
    while not checkpoint.exists():  # the chief saved the end of an epoch
        assert launcher.poll() is None, launcher.communicate()[0]
        assert time.monotonic() < deadline, "no checkpoint within 4 minutes"
        time.sleep(0.05)
    # the launcher prints each worker's pid first; kill worker 1 mid-run
    assert launcher.stdout is not None
    lines = []
    while len(lines) < 2:
        lines.append(launcher.stdout.readline())
    pids = [int(re.search(r"pid (\d+)", line).group(1)) for line in lines]  # type: ignore[union-attr]
    os.kill(pids[1], 9)
    log = launcher.communicate(timeout=60)[0]
    assert launcher.returncode == 1, log
    assert f"musegen: worker 1 (pid {pids[1]}) was killed by SIGKILL; stopped the other 1" in log
    with pytest.raises(ProcessLookupError):  # the chief is gone too
        os.kill(pids[0], 0)
    assert not (out / "bundle").exists()
    saved = int(re.search(r"ckpt-(\d+)", checkpoint.read_text()).group(1))  # type: ignore[union-attr]

    rerun = _train(out, saved + 2, "--local-workers", "2")
    log = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, log
    assert f"[worker 0] resuming from {out / 'backup'}/ckpt-{saved} (epoch {saved})" in log
    assert f"[worker 0] Epoch {saved + 1}/{saved + 2}" in log
    assert "Epoch 1/" not in log
    epochs = [row.split(",")[0] for row in (out / "history.csv").read_text().splitlines()[1:]]
    assert epochs == [str(e) for e in range(saved + 2)]  # one row per epoch, none repeated
    assert (out / "bundle" / "model.keras").is_file()
    names = sorted(p.name for p in out.iterdir())  # the chief's files; the checkpoint is gone
    assert names == ["best.keras", "bundle", "history.csv", "weight_shapes.json"]
    assert "[worker 1] trained in" in log and "the chief writes the bundle" in log
    assert "held-out NLL" in log


def test_without_a_launcher_a_worker_that_loses_its_peer_says_so(tmp_path):
    # two machines' way: each worker started by hand with its TF_CONFIG
    workers = [_train(tmp_path / "run", 100, TF_CONFIG=config) for config in local_cluster(2)]
    deadline = time.monotonic() + 240
    while not (tmp_path / "run" / "backup" / "checkpoint").exists():  # both are training
        assert workers[0].poll() is None, workers[0].communicate()[0]
        assert time.monotonic() < deadline, "no checkpoint within 4 minutes"
        time.sleep(0.05)
    workers[1].kill()
    workers[1].wait()
    log = workers[0].communicate(timeout=120)[0]
    assert workers[0].returncode == 1, log
    assert "musegen: lost contact with another worker of the cluster; start every worker" in log
    assert f"resume from {tmp_path / 'run' / 'backup'}" in log

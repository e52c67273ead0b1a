"""Kill a training run (SIGKILL) at many moments, then run the same command again.

Each moment is the k-th call of a function that writes training files: inside an
HDF5 write (Keras' ``H5IOStore.close``), a JSON write (``json.dumps``), a zip write
(``ZipFile.close``: ``best.keras``), or between a temporary file and its rename
(``os.replace``). For each, in a fresh run folder, the command (a tiny model, 6
epochs with the run-directory callbacks, then a bundle) is paused there and
killed; then the same command runs unpaused. Outcomes:

- ``resumed``: it finished with a bundle that loads and one history row for each
  of the epochs 0-5;
- ``history``: it finished, but ``history.csv`` repeats or lacks an epoch;
- ``failed``: it stopped; the last line of its error is shown.

Usage (from the repository root; ``--root`` runs another checkout's musegen)::

    python bench/kill_resume.py [--root PATH]

Measured on 2 shared CPU cores: with Keras' ``BackupAndRestore``, ``ModelCheckpoint``
and ``CSVLogger``, 16 of the 18 moments were reached: 8 resumed, 4 failed (3 x
h5py ``OSError: Unable to synchronously open file (bad object header version
number)``, a torn ``backup/latest.weights.h5``; 1 x ``JSONDecodeError``, an empty
``training_metadata.json``) and 4 repeated all six epochs in ``history.csv`` (killed
while saving the bundle, after training: the rerun trained again and appended).
With `musegen.training.checkpoints`: 18 of 18 reached, 18 resumed.
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = """
import importlib, os, pathlib, sys, time
spec = os.environ.get("PAUSE_AT")
if spec:  # pause at the k-th call of owner.name: write the marker, sleep until killed
    where, name, skip = spec.split(":")
    module, _, attribute = where.partition("/")
    owner = importlib.import_module(module)
    owner = getattr(owner, attribute) if attribute else owner
    original, calls = getattr(owner, name), [0]
    def paused(*args, **kwargs):
        calls[0] += 1
        if calls[0] > int(skip):
            pathlib.Path(os.environ["PAUSE_MARKER"]).write_text(spec)
            time.sleep(120)
        return original(*args, **kwargs)
    setattr(owner, name, paused)

import keras
from musegen.training.bundle import save_bundle
from musegen.training.dataset import SequenceDataset
from musegen.training.model import build_lstm
from musegen.tokens.tokenizer import Tokenizer
from musegen.training.fitting import fit
from musegen.tokens.vocabulary import Vocabulary

run = pathlib.Path(sys.argv[1])
keras.utils.set_random_seed(0)
songs = [[2 + (i + k) % 4 for i in range(40)] for k in range(12)]
data = SequenceDataset.from_ids(songs, 8, seq_len=8, shape="chunks", val_fraction=0.25)
model = build_lstm(8, units=(16,), embedding_dim=8, dense_units=None, dropout=0.0,
                   return_sequences=True, learning_rate=0.03)
fit(model, data, epochs=6, run_dir=run, batch_size=8, verbose=0, patience=None)
save_bundle(run / "bundle", model, Tokenizer(), Vocabulary([f"t{i}" for i in range(6)]))
"""

MOMENTS = [
    *(f"keras.src.saving.saving_lib/H5IOStore:close:{k}" for k in (0, 1, 2, 3, 5)),
    *(f"json:dumps:{k}" for k in (2, 4, 6, 8, 10)),
    *(f"zipfile/ZipFile:close:{k}" for k in (0, 2)),
    *(f"os:replace:{k}" for k in (1, 2, 3, 4, 6, 9)),
]


def run_command(run: Path, env: dict[str, str], pause: str | None) -> tuple[str, str]:
    """Run the command (paused and killed at `pause`, if given); its outcome and detail."""
    marker = run.parent / "paused.marker"
    marker.unlink(missing_ok=True)
    child_env = {**env, "PAUSE_MARKER": str(marker)}
    if pause:
        child_env["PAUSE_AT"] = pause
    child = subprocess.Popen(
        [sys.executable, "-c", COMMAND, str(run)],
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if pause:
        while not marker.exists() and child.poll() is None:
            time.sleep(0.02)
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.communicate()
            return "killed", ""
        return "not reached", ""
    _, err = child.communicate()
    if child.returncode:
        lines = [line for line in err.splitlines() if line.strip()]
        return "failed", lines[-1] if lines else f"exit {child.returncode}"
    with open(run / "history.csv", newline="") as handle:
        epochs = [row["epoch"] for row in csv.DictReader(handle)]
    if epochs != [str(e) for e in range(6)]:
        return "history", f"epochs {epochs}"
    check = subprocess.run(
        [sys.executable, "-c", "import sys; from musegen.training.bundle import load_bundle; "
         "load_bundle(sys.argv[1])", str(run / "bundle")],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    return ("resumed", "") if check.returncode == 0 else ("failed", "bundle does not load")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": args.root, "TF_CPP_MIN_LOG_LEVEL": "2"}
    counts: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as scratch:
        for number, moment in enumerate(MOMENTS):
            run = Path(scratch) / f"run{number}"
            state, _ = run_command(run, env, moment)
            if state != "killed":
                print(f"{moment:48} {state} (the run ended before it)", flush=True)
                continue
            outcome, detail = run_command(run, env, None)
            counts[outcome] += 1
            print(f"{moment:48} {outcome} {detail}", flush=True)
    print(", ".join(f"{n} {outcome}" for outcome, n in counts.most_common()))


if __name__ == "__main__":
    main()

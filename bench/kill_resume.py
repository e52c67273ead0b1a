"""Kill a training run (SIGKILL) at many moments, run it again, and compare it with an unkilled run.

The command is ``musegen train`` as a library call (`musegen.training.recipe.train`):
a tiny model on ten songs, by time with ``keep="best"``, 6 epochs; the held-out
song's loss is lowest at epoch 2, so the kept weights are not the last. The
budget's clock is frozen (its deadline never comes and its learning rate stays
put), so that runs repeat exactly and can be compared.

Each moment is the k-th call of a function that writes training files: inside an
HDF5 write (Keras' ``H5IOStore.close``), a JSON write (``json.dumps``: the run's
lock, a backup's record, Keras' configs, the bundle's metadata), a zip write
(``ZipFile.close``: ``best.keras``, the bundle's model), or between a temporary
file and its rename (``os.replace``). For each, in a fresh run folder, the
command is paused there and killed; then the same command runs unpaused, and
is compared with the same command run once without a kill. Outcomes:

- ``same``: it finished, keeping the same epoch's weights (equal arrays), with the
  same history (every epoch, values within 1e-6) and the same count of steps;
- ``differs``: it finished, but kept another epoch, or other weights, history or steps;
- ``history``: it finished, but ``history.csv`` repeats or lacks an epoch;
- ``failed``: it stopped; the last line of its error is shown.

Usage (from the repository root; ``--root`` runs another checkout's musegen)::

    python bench/kill_resume.py [--root PATH] [--moments N [N ...]]

``--moments`` runs only those moments (their numbers in the list printed).

Measured on 2 shared CPU cores (the fit-and-save command of before, 6 epochs):
with Keras' ``BackupAndRestore``, ``ModelCheckpoint`` and ``CSVLogger``, 16 of
the 18 moments were reached: 8 resumed, 4 failed (3 x h5py ``OSError: Unable to
synchronously open file (bad object header version number)``, a torn
``backup/latest.weights.h5``; 1 x ``JSONDecodeError``, an empty
``training_metadata.json``) and 4 repeated all six epochs in ``history.csv``
(killed while saving the bundle, after training: the rerun trained again and
appended). With `musegen.training.checkpoints`: 18 of 18 reached, 18 resumed.

``musegen train`` before its backup kept the early stopping's state, the
steps and each epoch's order of examples (``--root`` a checkout of that commit,
its moments one ``json.dumps`` later): 23 of 23 moments reached, 6 same, 16
differs (after every kill during training it kept epoch 1 instead of 2, with
other weights, and its history and steps counted the epochs after the restart
only; after a kill once training had ended, it said "6 epochs (before the
restart)" instead of 84 steps) and 1 failed (``KeyError: 'val_loss'``: killed
while saving the trained weights, the rerun trained no epoch and read Keras'
empty ``History``). After: 23 of 23 reached, 23 same (4.4 minutes).
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COMMAND = """
import importlib, json, os, pathlib, sys, time
dumps, unpause = json.dumps, lambda: None
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
    unpause = lambda: setattr(owner, name, original)

import keras
import numpy as np
import musegen.training.time_budget
from musegen.events import Event, Piece
from musegen.training.bundle import load_bundle
from musegen.training.recipe import Recipe, train

class Frozen:  # the budget's clock: it never ends the run nor anneals, so runs repeat
    def perf_counter(self):
        return 0.0

musegen.training.time_budget.time = Frozen()
run = pathlib.Path(sys.argv[1])
keras.utils.set_random_seed(0)
songs = [Piece(tuple(Event(i, 1, (60 + (i * k) % 12,)) for i in range(48))) for k in range(1, 11)]
recipe = Recipe(units=(32,), seq_len=8, batch_size=8, learning_rate=0.02, transpose=(0, 0),
                minutes=5, epochs=6)
result = train(songs, run, recipe, verbose=0)
unpause()  # what follows reads the result: no moment of the run
bundle = load_bundle(run / "bundle")
weights = bundle.model.get_weights()
np.save(run.parent / f"{run.name}.weights.npy", np.concatenate([w.ravel() for w in weights]))
kept = {"history": bundle.metadata["history"], "kept_epoch": result.kept_epoch}
(run.parent / f"{run.name}.kept.json").write_text(dumps(kept))
"""

MOMENTS = [
    "json:dumps:0",  # the lock's record: an empty lock is left
    "json:dumps:1",  # weight_shapes.json
    *(f"keras.src.saving.saving_lib/H5IOStore:close:{k}" for k in (0, 1, 3, 5, 8, 9)),
    *(f"json:dumps:{k}" for k in (4, 7, 10, 12, 14, 21)),
    *(f"zipfile/ZipFile:close:{k}" for k in (1, 3, 5)),
    *(f"os:replace:{k}" for k in (1, 5, 9, 13, 20, 26)),
]
"""The k-th call (from 0) of each: during the 6 epochs, then saving the trained
weights (``trained.json``: ``json.dumps`` 12), then the bundle (``H5IOStore.close``
9, ``ZipFile.close`` 5, ``json.dumps`` 14 and 21, ``os.replace`` 26). A musegen
without the run's lock calls ``json.dumps`` once less: its moments come one later."""


def run_command(run: Path, env: dict[str, str], pause: str | None) -> tuple[str, str, str]:
    """Run the command (paused and killed at `pause`, if given); its outcome, detail and output."""
    marker = run.parent / "paused.marker"
    marker.unlink(missing_ok=True)
    child_env = {**env, "PAUSE_MARKER": str(marker)}
    if pause:
        child_env["PAUSE_AT"] = pause
    child = subprocess.Popen(
        [sys.executable, "-c", COMMAND, str(run)],
        cwd=run.parent,  # not the checkout: `python -c` would import its musegen before --root's
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
            return "killed", "", ""
    out, err = child.communicate()
    if child.returncode:
        lines = [line for line in err.splitlines() if line.strip()]
        return "failed", lines[-1] if lines else f"exit {child.returncode}", out
    if pause:
        return "not reached", "", out
    with open(run / "history.csv", newline="") as handle:
        epochs = [row["epoch"] for row in csv.DictReader(handle)]
    if epochs != [str(e) for e in range(6)]:
        return "history", f"epochs {epochs}", out
    return "finished", "", out


def decided(run: Path, out: str) -> dict[str, object]:
    """What a finished run kept: its epoch, history, steps and weights."""
    steps = re.search(r"^trained (\d+) steps?", out, re.MULTILINE)
    return {
        **json.loads(run.with_name(f"{run.name}.kept.json").read_text()),
        "steps": int(steps.group(1)) if steps else None,
        "weights": np.load(run.with_name(f"{run.name}.weights.npy")),
    }


def differences(got: dict[str, object], whole: dict[str, object]) -> list[str]:
    """How a resumed run's decisions differ from the unkilled run's (none: the same)."""
    found = []
    if got["kept_epoch"] != whole["kept_epoch"]:
        found.append(f"kept epoch {got['kept_epoch']}, not {whole['kept_epoch']}")
    if got["steps"] != whole["steps"]:
        found.append(f"{got['steps']} steps, not {whole['steps']}")
    history, expected = got["history"], whole["history"]
    assert isinstance(history, dict) and isinstance(expected, dict)
    if history.keys() != expected.keys() or any(
        len(history[k]) != len(v) or not np.allclose(history[k], v, rtol=1e-6, atol=0)
        for k, v in expected.items()
    ):
        epochs = len(next(iter(history.values()), []))
        found.append(f"history of {epochs} epochs differs")
    weights, reference = np.asarray(got["weights"]), np.asarray(whole["weights"])
    if weights.shape != reference.shape or not np.array_equal(weights, reference):
        gap = float(np.abs(weights - reference).max()) if weights.shape == reference.shape else 0
        found.append(f"weights differ (by up to {gap:.3g})")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument(
        "--moments", type=int, nargs="+", default=None, help="run only these moments (numbers)"
    )
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": args.root, "TF_CPP_MIN_LOG_LEVEL": "2"}
    chosen = args.moments if args.moments is not None else range(len(MOMENTS))
    counts: collections.Counter[str] = collections.Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        whole_run = Path(scratch) / "whole"
        outcome, detail, out = run_command(whole_run, env, None)
        if outcome != "finished":
            sys.exit(f"the unkilled run did not finish: {outcome} {detail}")
        whole = decided(whole_run, out)
        print(
            f"unkilled run: kept epoch {whole['kept_epoch']} of "
            f"{len(whole['history']['val_loss'])}, {whole['steps']} steps",  # type: ignore[index]
            flush=True,
        )
        for number in chosen:
            moment = MOMENTS[number]
            run = Path(scratch) / f"run{number}"
            state, detail, _ = run_command(run, env, moment)
            if state != "killed":
                why = f"before the kill: {detail}" if detail else "(the run ended before it)"
                print(f"{number:2} {moment:48} {state} {why}", flush=True)
                continue
            outcome, detail, out = run_command(run, env, None)
            if outcome == "finished":
                found = differences(decided(run, out), whole)
                outcome, detail = ("differs", "; ".join(found)) if found else ("same", "")
            counts[outcome] += 1
            print(f"{number:2} {moment:48} {outcome} {detail}", flush=True)
    summary = ", ".join(f"{n} {outcome}" for outcome, n in counts.most_common())
    print(f"{summary} ({(time.perf_counter() - started) / 60:.1f} min)")


if __name__ == "__main__":
    main()

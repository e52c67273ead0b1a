"""Run-directory callbacks that a kill at any moment cannot spoil.

Every file is written to a temporary file and renamed into place
(`musegen._files.atomic_save`), so a killed run leaves each one complete:

- `Backup`: the training state after each epoch (weights with the optimizer, the
  epoch, the `TimeBudget`'s spent share, first learning rate and steps, the
  early stopping's best value, epoch, wait and weights), keeping the previous
  epoch's copy too; a copy that cannot be read is set aside with one line and
  the run goes on from the one before (or from the start).
- `BestCheckpoint`: the model of the lowest monitored value so far.
- `HistoryLog`: one CSV row per epoch, with the learning rate; a resumed run
  replaces the rows of the epochs it trains again, so none appears twice
  (`run_history` reads it: the whole run's history).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras

from musegen._files import atomic_save, atomic_write_text
from musegen.training.time_budget import TimeBudget

__all__ = ["Backup", "BestCheckpoint", "HistoryLog", "run_history"]


class Backup(keras.callbacks.Callback):
    """Back up the training state after every epoch; restore it when training starts.

    Epoch ``N``'s state is ``epoch-N.weights.h5`` and ``epoch-N.json`` (written last:
    the epoch, the weights' SHA-256, the budget's state and steps, whether training
    had stopped, and the state of `callbacks`); the two newest states are kept,
    with the weights of an older epoch that one of them holds as its best. When
    training ends the folder is removed, unless `keep` says that the caller
    removes it once what it makes of the trained model is safely written.

    A resumed run decides as the whole run would have: each `EarlyStopping` of
    `callbacks` gets back its best value, best epoch, wait and best weights (those
    of that epoch), each `BestCheckpoint` its lowest value, the budget its steps;
    a run that had stopped (early, or at the budget's deadline) trains no further
    epoch. The backup saves their state once they have seen the epoch: put it
    after them in the callback list, and before the budget
    (`musegen.training.fitting.fit` does).

    Args:
        folder: The backup folder (created on the first save).
        budget: A `TimeBudget` whose spent time, first learning rate and steps go with
            the backup, so that a resumed run keeps the same schedule and deadline.
        keep: Leave the folder in place when training ends.
        callbacks: `EarlyStopping` and `BestCheckpoint` callbacks whose state goes
            with the backup (`musegen.training.fitting.training_callbacks` gives its own).

    Examples:
        >>> import tempfile
        >>> Backup(tempfile.mkdtemp()).folder.name.startswith("tmp")
        True
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        budget: TimeBudget | None = None,
        *,
        keep: bool = False,
        callbacks: Sequence[keras.callbacks.Callback] = (),
    ):
        super().__init__()
        self.folder = Path(folder)
        self.budget = budget
        self.keep = keep
        self.callbacks = list(callbacks)
        self._digests: dict[str, str] = {}  # weights file -> SHA-256, of the states known

    def on_train_begin(self, logs: Any = None) -> None:
        """Restore the newest readable state (Keras then trains from its next epoch)."""
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:  # slots exist before weights fill them
            optimizer.build(self.model.trainable_variables)
        state = _restore_newest(self.folder, self._load)
        if state is None:
            return
        epoch = int(state["epoch"])
        if state.get("stopped"):  # it had stopped there: the epochs left are not trained
            epoch = max(epoch, int((self.params or {}).get("epochs", epoch)))
        self.model._initial_epoch = epoch
        if self.budget is not None:
            if state.get("budget"):  # before the budget's own on_train_begin: put it after
                self.budget.resume(**state["budget"])
            self.budget.steps = int(state.get("steps") or 0)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        """Save the state of `epoch` finished, then drop all but it and the one before."""
        epoch += 1
        weights = atomic_save(self.folder / f"epoch-{epoch}.weights.h5", self.model.save_weights)
        self._digests[weights.name] = _sha256(weights)
        states = [_state_of(callback) for callback in self.callbacks]
        best = {s["best_weights"] for s in states if s.get("best_weights")}
        state = {
            "epoch": epoch,
            "weights": weights.name,
            "sha256": self._digests[weights.name],
            "budget": self.budget.state() if self.budget is not None else None,
            "steps": self.budget.steps if self.budget is not None else None,
            "stopped": bool(self.model.stop_training),
            "callbacks": states,
            "files": {name: self._digest(name) for name in sorted(best)},
        }
        atomic_write_text(self.folder / f"epoch-{epoch}.json", json.dumps(state))
        self._prune()

    def on_train_end(self, logs: Any = None) -> None:
        """Training ended: the backup is no longer needed (unless it is to be kept)."""
        self.model._initial_epoch = None  # a later fit of this model starts from its epoch 0
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _load(self, state: dict[str, Any]) -> None:
        """Check and load a state's weights, and give `callbacks` their state."""
        files = {state["weights"]: state["sha256"], **(state.get("files") or {})}
        for name, digest in files.items():
            if _sha256(self.folder / name) != digest:
                raise ValueError(f"its weights ({name}) do not match its record")
        best = {}
        for name in state.get("files") or {}:  # another epoch's weights, taken in passing
            self.model.load_weights(self.folder / name)
            best[name] = self.model.get_weights()
        self.model.load_weights(self.folder / state["weights"])
        for callback, saved in zip(self.callbacks, state.get("callbacks") or [], strict=False):
            _set_state(callback, saved, best)
        self._digests.update(files)

    def _digest(self, name: str) -> str:
        if name not in self._digests:
            self._digests[name] = _sha256(self.folder / name)
        return self._digests[name]

    def _prune(self) -> None:
        """Keep the two newest states, and the weights files they name."""
        states = _states(self.folder)
        needed = set()
        for record, _ in states[:2]:
            try:
                state = json.loads(record.read_text(encoding="utf-8"))
                needed |= {state["weights"], *(state.get("files") or {})}
            except Exception:  # unreadable: a resume sets it aside, keep what it may name
                needed.add(record.with_suffix(".weights.h5").name)
        for record, _ in states[2:]:
            record.unlink(missing_ok=True)
        for weights in self.folder.glob("epoch-*.weights.h5"):
            if weights.name not in needed:
                weights.unlink(missing_ok=True)
                self._digests.pop(weights.name, None)


def _state_of(callback: keras.callbacks.Callback) -> dict[str, Any]:
    """What a backup keeps of a callback's state (its best weights as an epoch's file)."""
    if isinstance(callback, keras.callbacks.EarlyStopping):
        has_weights = callback.best_weights is not None
        return {
            "type": "EarlyStopping",
            "monitor": callback.monitor,
            "wait": int(callback.wait),
            "stopped_epoch": int(callback.stopped_epoch),
            "best": None if callback.best is None else float(callback.best),
            "best_epoch": int(callback.best_epoch),
            "best_weights": f"epoch-{callback.best_epoch + 1}.weights.h5" if has_weights else None,
        }
    if isinstance(callback, BestCheckpoint):
        return {"type": "BestCheckpoint", "monitor": callback.monitor, "best": callback.best}
    return {"type": type(callback).__name__}


def _set_state(
    callback: keras.callbacks.Callback, saved: dict[str, Any], weights: dict[str, list[Any]]
) -> None:
    """Give `callback` the state `_state_of` saved (if it is the same kind, watching the same)."""
    if saved.get("monitor") != getattr(callback, "monitor", None):
        return
    kind = saved.get("type")
    if isinstance(callback, keras.callbacks.EarlyStopping) and kind == "EarlyStopping":
        callback.wait = int(saved["wait"])
        callback.stopped_epoch = int(saved["stopped_epoch"])
        callback.best = saved["best"]
        callback.best_epoch = int(saved["best_epoch"])
        if callback.restore_best_weights:
            callback.best_weights = weights.get(saved["best_weights"] or "")
    elif isinstance(callback, BestCheckpoint) and kind == "BestCheckpoint":
        callback.best = saved["best"]


def _restore_newest(
    folder: Path, load: Callable[[dict[str, Any]], object]
) -> dict[str, Any] | None:
    """Load the newest readable state in `folder` with `load(record)`; its record.

    `load` checks and loads the state's files, raising on any fault. A state that
    cannot be read is moved into ``<folder>.unreadable/`` with one line saying so and
    what the run does instead; None when no state is left.
    """
    for record, epoch in _states(folder):
        try:
            state = json.loads(record.read_text(encoding="utf-8"))
            if state["epoch"] != epoch:
                raise ValueError("its epoch does not match its name")
            load(state)
        except Exception as err:  # a torn, truncated or foreign file: any error
            older = [e for _, e in _states(folder) if e < epoch]
            instead = f"resuming from epoch {older[0]}" if older else "starting afresh"
            aside = _set_aside(folder, record)
            print(f"{record}: unreadable backup ({_cause(err)}); moved to {aside}, {instead}")
            continue
        return dict(state)
    return None


def _states(folder: Path) -> list[tuple[Path, int]]:
    """The state records in `folder` with their epochs, newest first."""
    found = []
    for record in folder.glob("epoch-*.json"):
        number = record.name[len("epoch-") : -len(".json")]
        if number.isdigit():
            found.append((record, int(number)))
    return sorted(found, key=lambda item: item[1], reverse=True)


def _set_aside(folder: Path, record: Path) -> Path:
    aside = folder.parent / f"{folder.name}.unreadable"
    aside.mkdir(exist_ok=True)
    for path in (record, record.with_suffix(".weights.h5")):
        if path.exists():
            os.replace(path, aside / path.name)
    return aside


def _cause(err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_history(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The columns and rows of a history CSV, or none when there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], []
    reader = csv.DictReader(io.StringIO(text))
    rows = [row for row in reader if (row.get("epoch") or "").isdigit()]
    return list(reader.fieldnames or []), rows


def run_history(path: str | os.PathLike[str]) -> dict[str, list[float]]:
    """Each metric per epoch of a whole run, from its `HistoryLog` file (the learning rate aside).

    Keras' ``History`` of a resumed run holds only the epochs it trained; this file
    holds them all. A value missing from a row is NaN; no file gives ``{}``.

    Examples:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "history.csv"
        >>> _ = path.write_text(chr(10).join(["epoch,learning_rate,loss", "0,0.1,2.5", "1,0.1,2"]))
        >>> run_history(path)
        {'loss': [2.5, 2.0]}
    """
    columns, rows = _read_history(Path(path))
    rows = sorted(rows, key=lambda row: int(row["epoch"]))
    names = [c for c in columns if c not in ("epoch", "learning_rate")]
    return {
        name: [
            float(row[name]) if row.get(name) not in (None, "", "NA") else math.nan for row in rows
        ]
        for name in names
    }


class HistoryLog(keras.callbacks.Callback):
    """Write one CSV row per epoch (the logs and the learning rate), the whole file each time.

    Rows of the epochs this run trains (again, after a resume) replace the old ones.

    Args:
        path: The CSV file.

    Examples:
        >>> import tempfile, pathlib
        >>> HistoryLog(pathlib.Path(tempfile.mkdtemp()) / "history.csv").path.name
        'history.csv'
    """

    def __init__(self, path: str | os.PathLike[str]):
        super().__init__()
        self.path = Path(path)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        """Rewrite the file with the rows before `epoch` and this epoch's row."""
        columns, rows = _read_history(self.path)
        row = {"epoch": str(epoch), **{k: str(float(v)) for k, v in (logs or {}).items()}}
        rate = getattr(self.model.optimizer, "learning_rate", None)
        if rate is not None:
            row["learning_rate"] = str(float(keras.ops.convert_to_numpy(rate)))
        columns = ["epoch", *sorted({*columns, *row} - {"epoch"})]
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, restval="NA", lineterminator="\n")
        writer.writeheader()
        writer.writerows([r for r in rows if int(r["epoch"]) < epoch] + [row])
        atomic_write_text(self.path, out.getvalue())


class BestCheckpoint(keras.callbacks.Callback):
    """Save the model whenever `monitor` reaches a new low (a resumed run knows the old low).

    Args:
        path: The ``.keras`` file.
        monitor: The metric to minimise, e.g. ``"val_loss"``.
        history: A `HistoryLog` file: on resume, the lowest value of the epochs
            before the first one trained here is the one to beat.

    Examples:
        >>> BestCheckpoint("best.keras", "val_loss").monitor
        'val_loss'
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        monitor: str,
        history: str | os.PathLike[str] | None = None,
    ):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.history = Path(history) if history is not None else None
        self.best: float | None = None

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        """On the first epoch of this run, read the low to beat from the history."""
        if self.best is not None or self.history is None or not self.path.exists():
            return
        earlier = [
            float(row[self.monitor])
            for row in _read_history(self.history)[1]
            if int(row["epoch"]) < epoch and row.get(self.monitor) not in (None, "", "NA")
        ]
        self.best = min(earlier, default=None)

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        """Save the model if this epoch's value is the lowest yet."""
        value = (logs or {}).get(self.monitor)
        if value is None or (self.best is not None and not float(value) < self.best):
            return
        self.best = float(value)
        atomic_save(self.path, self.model.save)

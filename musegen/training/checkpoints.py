"""Run-directory callbacks that a kill at any moment cannot spoil.

Every file is written to a temporary file and renamed into place
(`musegen._files.atomic_save`), so a killed run leaves each one complete:

- `Backup`: the training state after each epoch (weights with the optimizer, the
  epoch, the `TimeBudget`'s spent share and first learning rate), keeping the
  previous epoch's copy too; a copy that cannot be read is set aside with one
  line and the run goes on from the one before (or from the start).
- `BestCheckpoint`: the model of the lowest monitored value so far.
- `HistoryLog`: one CSV row per epoch, with the learning rate; a resumed run
  replaces the rows of the epochs it trains again, so none appears twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import keras

from musegen._files import atomic_save, atomic_write_text
from musegen.training.time_budget import TimeBudget

__all__ = ["Backup", "BestCheckpoint", "HistoryLog"]


class Backup(keras.callbacks.Callback):
    """Back up the training state after every epoch; restore it when training starts.

    Epoch ``N``'s state is ``epoch-N.weights.h5`` and ``epoch-N.json`` (written last:
    the epoch, the weights' SHA-256 and the budget's state); the two newest states
    are kept. When training ends the folder is removed, unless `keep` says that
    the caller removes it once what it makes of the trained model is safely written.

    Args:
        folder: The backup folder (created on the first save).
        budget: A `TimeBudget` whose spent time and first learning rate go with
            the backup, so that a resumed run keeps the same schedule and deadline.
        keep: Leave the folder in place when training ends.

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
    ):
        super().__init__()
        self.folder = Path(folder)
        self.budget = budget
        self.keep = keep

    def on_train_begin(self, logs: Any = None) -> None:
        """Restore the newest readable state (Keras then trains from its next epoch)."""
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:  # slots exist before weights fill them
            optimizer.build(self.model.trainable_variables)
        state = _restore_newest(self.folder, self.model.load_weights)
        if state is None:
            return
        self.model._initial_epoch = state["epoch"]
        if self.budget is not None and state.get("budget"):
            self.budget.resume(**state["budget"])

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        """Save the state of `epoch` finished, then drop all but it and the one before."""
        epoch += 1
        weights = atomic_save(self.folder / f"epoch-{epoch}.weights.h5", self.model.save_weights)
        state = {
            "epoch": epoch,
            "weights": weights.name,
            "sha256": _sha256(weights),
            "budget": self.budget.state() if self.budget is not None else None,
        }
        atomic_write_text(self.folder / f"epoch-{epoch}.json", json.dumps(state))
        for older, _ in _states(self.folder)[2:]:
            older.with_suffix(".weights.h5").unlink(missing_ok=True)
            older.unlink(missing_ok=True)

    def on_train_end(self, logs: Any = None) -> None:
        """Training ended: the backup is no longer needed (unless it is to be kept)."""
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)


def _restore_newest(folder: Path, load: Any) -> dict[str, Any] | None:
    """Load the newest readable state in `folder` with `load(weights_path)`; its record.

    A state that cannot be read is moved into ``<folder>.unreadable/`` with one line
    saying so and what the run does instead; None when no state is left.
    """
    for record, epoch in _states(folder):
        try:
            state = json.loads(record.read_text(encoding="utf-8"))
            weights = folder / state["weights"]
            if state["epoch"] != epoch or _sha256(weights) != state["sha256"]:
                raise ValueError("its weights do not match its record")
            load(weights)
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

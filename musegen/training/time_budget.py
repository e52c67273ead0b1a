"""`TimeBudget`: stop training after a wall-clock budget, annealing the learning rate to it."""

from __future__ import annotations

import math
import time
from typing import Any

import keras

from musegen.defaults import TRAINING

__all__ = ["BudgetProgress", "TimeBudget"]


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
        minutes: The budget, in minutes of wall-clock time (default ``TRAINING.minutes``).
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
        minutes: float = TRAINING.minutes,
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
        self._resumed: tuple[float, float] | None = None

    def learning_rate_at(self, elapsed: float) -> float:
        """The learning rate, as a fraction of the first, after `elapsed` of the budget (0-1)."""
        cosine = 0.5 * (1.0 + math.cos(math.pi * min(max(elapsed, 0.0), 1.0)))
        return self.final_fraction + (1.0 - self.final_fraction) * cosine

    def elapsed(self) -> float:
        """The share of the budget spent so far by this process's clock (1.0 at the deadline)."""
        return (time.perf_counter() - self._start) / self.seconds

    def state(self) -> dict[str, float]:
        """What a backup keeps to resume the budget: the share spent and the first rate."""
        return {"spent": self.elapsed(), "first_rate": self._first_rate}

    def resume(self, spent: float, first_rate: float) -> None:
        """Go on from a backup: `spent` of the budget is gone, annealing from `first_rate`.

        Call it before training starts. The first rate is the saved one, not the
        annealed rate the backup put back in the optimizer.
        """
        self._resumed = (spent, first_rate)

    def advance(self, elapsed: float) -> None:
        """Count a step at `elapsed`: stop past the deadline, set the annealed learning rate.

        `on_train_batch_end` calls it with this process's clock; a loop over several
        workers calls it with one worker's clock, so that all stop at the same step.
        """
        self.steps += 1
        if elapsed >= 1.0:
            self.model.stop_training = True
        if self.anneal:
            self.model.optimizer.learning_rate.assign(
                self._first_rate * self.learning_rate_at(elapsed)
            )

    def on_train_begin(self, logs: Any = None) -> None:
        """Start the clock (unless `started_at` was given); note the first learning rate.

        After `resume` the clock starts that much earlier and the first rate is the saved one.
        """
        self._start = time.perf_counter() if self.started_at is None else self.started_at
        self._first_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        if self._resumed is not None:
            spent, self._first_rate = self._resumed
            self._start -= spent * self.seconds

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        """Count the step by this process's clock (see `advance`)."""
        self.advance(self.elapsed())


class BudgetProgress(keras.callbacks.ProgbarLogger):
    """Keras' progress bar whose epoch line tells the time left in a `TimeBudget`.

    A budgeted run has no last epoch (Keras would print ``Epoch 1/1000000``): each
    epoch's first line says instead how much of the budget is left, e.g.
    ``Epoch 3 (2:06 of 3:00 left)``. `fit` adds it whenever a budget is given.

    Args:
        budget: The budget whose clock it reads.

    Examples:
        >>> progress = BudgetProgress(TimeBudget(minutes=3))
        >>> progress.budget.seconds
        180.0
    """

    def __init__(self, budget: TimeBudget) -> None:
        super().__init__()
        self.budget = budget

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        """Start the epoch's bar after a line with the time left."""
        self.epochs = 1  # Keras' own "Epoch N/M" line is printed only for more than one epoch
        super().on_epoch_begin(epoch, logs)
        if self.verbose:
            left = max(0.0, 1.0 - self.budget.elapsed()) * self.budget.seconds
            print(f"Epoch {epoch + 1} ({_clock(left)} of {_clock(self.budget.seconds)} left)")

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        """End the bar at the step where the budget stopped the epoch, and say so."""
        full: int | None = getattr(self, "target", None)  # Keras sets it in set_params
        cut = full is not None and 0 < self.seen < full
        if cut and self.progbar is not None:
            self.target = self.progbar.target = self.seen
        super().on_epoch_end(epoch, logs)
        self.target = full
        if cut and self.verbose:
            print(f"(the budget ended epoch {epoch + 1} after {self.seen} of its {full} steps)")


def _clock(seconds: float) -> str:
    """Seconds as minutes and seconds, e.g. ``2:05``, or hours too, e.g. ``1:02:05``."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

from __future__ import annotations

import csv
import itertools
import os
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import pytest

from musegen.training.dataset import SequenceDataset
from musegen.training.fitting import TimeBudget, fit, training_callbacks
from musegen.training.model import build_lstm


def tiny_data() -> SequenceDataset:
    # 12 songs of one repeated 4-id motif: easy to learn, validation loss falls fast
    songs = [[2 + (i + k) % 4 for i in range(40)] for k in range(12)]
    return SequenceDataset.from_ids(songs, 8, seq_len=8, shape="chunks", val_fraction=0.25)


def tiny_model() -> keras.Model:
    return build_lstm(
        8,
        units=(16,),
        embedding_dim=8,
        dense_units=None,
        dropout=0.0,
        return_sequences=True,
        learning_rate=0.03,
    )


def read_history(path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_fit_writes_the_run_dir_and_validation_loss_falls(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    history = fit(tiny_model(), tiny_data(), epochs=4, run_dir=tmp_path, batch_size=8, verbose=0)
    losses = history.history["val_loss"]
    assert losses[-1] < losses[0]
    assert (tmp_path / "best.keras").is_file()
    rows = read_history(tmp_path / "history.csv")
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2, 3]
    assert "val_loss" in rows[0]
    best = keras.saving.load_model(tmp_path / "best.keras", safe_mode=True)
    assert best.output_shape == (None, None, 8)
    assert not (tmp_path / "backup").exists()  # removed once training finished


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if epoch == 1:
            raise KeyboardInterrupt


def test_an_interrupted_run_resumes_from_its_last_epoch(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    data = tiny_data()
    model = tiny_model()
    callbacks = training_callbacks(tmp_path, patience=None)
    with pytest.raises(KeyboardInterrupt):
        model.fit(
            data.batches(8),
            validation_data=data.batches(8, split="val"),
            epochs=4,
            callbacks=[*callbacks, Interrupt()],
            shuffle=False,
            verbose=0,
        )
    assert (tmp_path / "backup").exists()
    resumed = fit(tiny_model(), data, epochs=4, run_dir=tmp_path, batch_size=8, verbose=0)
    # epochs 0 and 1 finished (and were backed up) before the interruption
    assert len(resumed.history["loss"]) == 2
    assert [int(r["epoch"]) for r in read_history(tmp_path / "history.csv")] == [0, 1, 2, 3]


def test_early_stopping_can_be_left_out(tmp_path) -> None:
    names = [type(c).__name__ for c in training_callbacks(tmp_path, patience=None, resume=False)]
    assert names == ["BestCheckpoint", "HistoryLog"]


def test_resuming_a_different_models_backup_is_refused(tmp_path):
    import pytest

    from musegen.training.dataset import SequenceDataset
    from musegen.training.fitting import fit
    from musegen.training.model import build_lstm

    data = SequenceDataset.from_ids(
        [list(range(2, 12))] * 4, 12, seq_len=4, shape="chunks", val_fraction=0.25
    )
    fit(
        build_lstm(12, units=(8,), return_sequences=True),
        data,
        epochs=1,
        run_dir=tmp_path,
        verbose=0,
    )
    (tmp_path / "backup").mkdir()  # as an interrupted run leaves it
    with pytest.raises(ValueError, match="different model"):
        fit(
            build_lstm(12, units=(16,), return_sequences=True),
            data,
            epochs=1,
            run_dir=tmp_path,
            verbose=0,
        )
    # the same architecture may resume
    fit(
        build_lstm(12, units=(8,), return_sequences=True),
        data,
        epochs=1,
        run_dir=tmp_path,
        verbose=0,
    )


def test_time_budget_anneals_with_a_cosine() -> None:
    budget = TimeBudget(1, final_fraction=0.1)
    rates = [budget.learning_rate_at(t / 10) for t in range(11)]
    assert rates[0] == pytest.approx(1.0) and rates[-1] == pytest.approx(0.1)
    assert rates[5] == pytest.approx(0.55)
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert budget.learning_rate_at(3.0) == pytest.approx(0.1)  # past the deadline: stays


def test_time_budget_stops_training_and_lowers_the_learning_rate() -> None:
    keras.utils.set_random_seed(0)
    model = tiny_model()
    budget = TimeBudget(0.05, started_at=time.perf_counter() - 2.9)  # 0.1 s of 3 s left
    history = model.fit(tiny_data().batches(8), epochs=10_000, callbacks=[budget], verbose=0)
    assert 1 <= budget.steps < 10_000 and len(history.history["loss"]) < 10_000
    rate = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    assert rate < 0.03 * 0.01  # near 0 at the deadline (started at 0.03)


def test_time_budget_can_leave_the_learning_rate_alone() -> None:
    model = tiny_model()
    budget = TimeBudget(0.001, anneal=False)
    model.fit(tiny_data().batches(8), epochs=10_000, callbacks=[budget], verbose=0)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.03)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"minutes": 0}, "minutes must be > 0"),
        ({"minutes": 1, "final_fraction": 2}, "in \\[0, 1\\]"),
    ],
)
def test_time_budget_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TimeBudget(**kwargs)


def test_a_budgeted_fit_says_the_time_left_each_epoch_not_the_epoch_cap(tmp_path, capsys) -> None:
    keras.utils.set_random_seed(0)
    budget = TimeBudget(0.5, started_at=time.perf_counter() - 27.0)  # 3 s of 30 s left
    fit(
        tiny_model(),
        tiny_data(),
        epochs=1_000_000,
        run_dir=tmp_path,
        batch_size=8,
        verbose=2,
        callbacks=[budget],
    )
    out = capsys.readouterr().out
    heads = [line for line in out.splitlines() if line.startswith("Epoch")]
    assert heads and all(re.fullmatch(r"Epoch \d+ \(0:0[0-3] of 0:30 left\)", h) for h in heads), (
        out
    )
    assert heads[0].startswith("Epoch 1 (")
    assert "/1000000" not in out
    assert re.search(r"\d+/\d+ - .*loss", out)  # Keras' own line per epoch still follows


def test_an_unbudgeted_fit_keeps_keras_epoch_count(tmp_path, capsys) -> None:
    fit(tiny_model(), tiny_data(), epochs=2, run_dir=tmp_path, batch_size=8, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "left)" not in out


def test_an_epoch_the_budget_ends_early_is_counted_in_the_steps_it_made(capsys) -> None:
    from musegen.training.time_budget import BudgetProgress

    progress = BudgetProgress(TimeBudget(1))
    progress.set_params({"verbose": 2, "epochs": 1_000_000, "steps": 130})
    progress.on_train_begin()
    for epoch, steps in ((0, 130), (1, 36)):  # the second is stopped after 36 steps
        progress.on_epoch_begin(epoch)
        for batch in range(steps):
            progress.on_train_batch_end(batch, {"loss": 1.0})
        progress.on_epoch_end(epoch, {"loss": 1.0})
    out = capsys.readouterr().out
    assert "130/130 - " in out and "36/36 - " in out and "/1000000" not in out
    assert "(the budget ended epoch 2 after 36 of its 130 steps)" in out
    assert out.count("the budget ended") == 1

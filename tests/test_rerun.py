"""A rerun in a run directory: resumed only with the options of the run it interrupted.

``musegen train`` keeps the options that shape training in ``<out>/recipe.json``;
a rerun that finds a backup with other options is refused in one line naming each
of them, a rerun on a finished run says that its bundle is replaced, and a
``--min-count`` that leaves no token is refused in one line.
"""

from __future__ import annotations

import json
import re

import pytest

from musegen.cli import main
from musegen.events import Event, Piece
from musegen.training.checkpoints import Backup
from musegen.training.recipe import Recipe, RecipeError, TrainingError, train
from musegen.training.run_lock import RunLock

RECIPE = Recipe(units=(4,), seq_len=8, minutes=0, epochs=3, transpose=(0, 0), learning_rate=0.02)
READ = {"source": "songs", "limit": 8, "parts": "all"}


def songs() -> list[Piece]:
    return [
        Piece(tuple(Event(i, 1, (60 + (i * k) % 12,)) for i in range(40))) for k in (1, 2, 3, 5)
    ]


def interrupted(out, monkeypatch) -> None:
    """A run of `RECIPE` killed after the backup of its first epoch."""
    save = Backup.on_epoch_end

    def after_backup(self, epoch, logs=None):
        save(self, epoch, logs)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Backup, "on_epoch_end", after_backup)
        with pytest.raises(KeyboardInterrupt):
            train(songs(), out, RECIPE, read=READ, verbose=0, progress=lambda line: None)
    assert (out / "backup").is_dir()


def test_a_rerun_with_other_options_is_refused_naming_each(tmp_path, monkeypatch) -> None:
    run = tmp_path / "run"
    interrupted(run, monkeypatch)
    assert json.loads((run / "recipe.json").read_text())["recipe"]["learning_rate"] == 0.02
    other = Recipe(**{**RECIPE.__dict__, "learning_rate": 0.01})
    with pytest.raises(TrainingError) as refused:
        train(songs(), run, other, read={**READ, "limit": 12}, verbose=0, progress=print)
    assert str(refused.value) == (
        f"{run} holds an interrupted run with --limit 8 (here 12), --learning-rate 0.02 "
        "(here 0.01): rerun it with the same options to resume, or use another --out"
    )
    assert (run / "backup").is_dir() and not (run / ".lock").exists()
    lines: list[str] = []  # the same options, the number of reading processes aside: resumed
    result = train(songs(), run, RECIPE, read={**READ, "workers": 3}, verbose=0,
                   progress=lines.append)  # fmt: skip
    assert len(result.history["loss"]) == 3 and not (run / "backup").exists()


def test_a_rerun_may_train_to_another_number_of_epochs(tmp_path, monkeypatch) -> None:
    run = tmp_path / "run"
    interrupted(run, monkeypatch)
    more = Recipe(**{**RECIPE.__dict__, "epochs": 4})
    result = train(songs(), run, more, read=READ, verbose=0, progress=lambda line: None)
    assert len(result.history["loss"]) == 4


def test_a_rerun_on_a_finished_run_says_its_bundle_is_replaced(tmp_path) -> None:
    run = tmp_path / "run"
    quiet = {"verbose": 0, "progress": lambda line: None}
    train(songs(), run, RECIPE, read=READ, **quiet)
    lines: list[str] = []
    train(songs(), run, RECIPE, read=READ, verbose=0, progress=lines.append)
    assert lines[0] == (
        f"{run / 'bundle'} holds the bundle of a finished run: training anew, it is replaced "
        "when this run ends"
    )


def test_train_accepts_the_lock_its_caller_holds(tmp_path) -> None:
    run = tmp_path / "run"
    with RunLock(run) as lock:
        train(songs(), run, RECIPE, lock=lock, verbose=0, progress=lambda line: None)
        assert lock.held and (run / ".lock").exists()
    assert not (run / ".lock").exists()


def test_a_min_count_that_leaves_no_token_is_refused_in_one_line(tmp_path) -> None:
    with pytest.raises(RecipeError) as refused:
        train(songs(), tmp_path / "run", Recipe(**{**RECIPE.__dict__, "min_count": 10**6}),
              verbose=0, progress=lambda line: None)  # fmt: skip
    assert str(refused.value).startswith("--min-count 1000000 leaves no token of the training ")
    assert str(refused.value).endswith(" times)")


TRAIN = ["train", "musegen:skuli", "--limit", "2", "--units", "4", "--seq-len", "16",
         "--epochs", "1", "--minutes", "0", "--quiet"]  # fmt: skip


def test_musegen_train_locks_before_reading_the_corpus(tmp_path, monkeypatch, capsys) -> None:
    import musegen.cli.train

    run = tmp_path / "run"
    seen: list[bool] = []
    real = musegen.cli.train.load

    def load(args):
        seen.append((run / ".lock").is_file())
        return real(args)

    monkeypatch.setattr(musegen.cli.train, "load", load)
    assert main([*TRAIN, "--out", str(run)]) == 0
    assert seen == [True] and not (run / ".lock").exists()


def test_a_seed_repeats_a_run(tmp_path) -> None:
    """Same seed, same epochs: the same history and weights (the seed was only the split's)."""
    import numpy as np

    from musegen.training.bundle import load_bundle

    runs = []
    for name in ("a", "b"):
        result = train(songs(), tmp_path / name, RECIPE, verbose=0, progress=lambda line: None)
        weights = load_bundle(tmp_path / name).model.get_weights()
        runs.append((result.history, weights))
    (history_a, weights_a), (history_b, weights_b) = runs
    assert history_a == history_b
    assert all(np.array_equal(x, y) for x, y in zip(weights_a, weights_b, strict=True))


def test_train_says_how_the_songs_it_reads_become_the_songs_it_trains_on(tmp_path) -> None:
    """Transposed copies are counted as what they are (a user reads "126 songs" from 20 files)."""
    lines: list[str] = []
    moved = Recipe(**{**RECIPE.__dict__, "transpose": (-1, 1), "epochs": 1})
    train(songs(), tmp_path / "run", moved, verbose=0, progress=lines.append)
    data = next(line for line in lines if line.startswith("notes encoding"))
    assert re.search(
        r"; 3 training songs, each also moved -1\.\.\+1 semitones \(--transpose\): 9 songs, "
        r"\d+ examples of 8 tokens$",
        data,
    ), data
    lines.clear()
    train(songs(), tmp_path / "plain", RECIPE, verbose=0, progress=lines.append)
    data = next(line for line in lines if line.startswith("notes encoding"))
    assert re.search(r"; 3 training songs, \d+ examples of 8 tokens$", data), data


def test_train_says_the_songs_were_moved_to_c_major_or_a_minor(tmp_path) -> None:
    lines: list[str] = []
    moved = Recipe(**{**RECIPE.__dict__, "normalize_keys": True, "epochs": 1})
    train(songs(), tmp_path / "run", moved, verbose=0, progress=lines.append)
    data = next(line for line in lines if line.startswith("notes encoding"))
    assert "; 3 training songs, each moved to C major or A minor (--normalize-keys), " in data

"""Interrupted work and safe files: SIGKILL a real process at a chosen point, then look.

The child process runs a snippet that pauses at the chosen call (it writes a marker
file and sleeps); the parent waits for the marker, kills the child with SIGKILL and
checks what is left on disk. Every file musegen writes must be JSON, or a Keras zip
of JSON and HDF5: nothing is unpickled on load.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest

from musegen.events import Event, Piece
from musegen.io.reading import read_midi
from musegen.io.writing import write_midi
from musegen.tokens.vocabulary import Vocabulary

REPO = Path(__file__).resolve().parents[1]

# Run first in every child: `pause_before(owner, "name")` makes owner.name write the
# marker and sleep when called (the `skip` first calls go through untouched).
PRELUDE = """
import os, sys, time, pathlib
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
marker = pathlib.Path(sys.argv[1])

def pause_before(owner, name, skip=0):
    original, calls = getattr(owner, name), []
    def paused(*args, **kwargs):
        calls.append(1)
        if len(calls) > skip:
            marker.write_text(name)
            time.sleep(120)
        return original(*args, **kwargs)
    setattr(owner, name, paused)
"""


def kill_at_marker(
    snippet: str,
    tmp_path: Path,
    *,
    setup: str = "",
    wait_s: float = 120,
    args: tuple[str, ...] = (),
) -> None:
    """Run `setup` then `snippet` in a child Python, SIGKILL it once it writes the marker."""
    marker = tmp_path / "paused.marker"
    child = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + setup + textwrap.dedent(snippet), str(marker), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + wait_s
    while not marker.exists():
        if child.poll() is not None:
            _, err = child.communicate()
            pytest.fail(f"child ended ({child.returncode}) before the pause:\n{err.decode()}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail("child never reached the pause")
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL
    marker.unlink()


def leftovers(folder: Path, keep: str) -> list[str]:
    """Names in `folder` other than `keep` that are not hidden temporary files."""
    return [p.name for p in folder.iterdir() if p.name != keep and not p.name.startswith(".")]


# -- atomic writes -----------------------------------------------------------------------


@pytest.mark.parametrize("pause_at", ["fsync", "replace"])
def test_a_killed_atomic_write_keeps_the_previous_file(tmp_path: Path, pause_at: str) -> None:
    target = tmp_path / "out" / "data.bin"
    target.parent.mkdir()
    target.write_bytes(b"previous")
    kill_at_marker(
        f"""
        from musegen._files import atomic_write_bytes
        pause_before(os, {pause_at!r})
        atomic_write_bytes({str(target)!r}, b"x" * 50_000_000)
        """,
        tmp_path,
    )
    assert target.read_bytes() == b"previous"
    assert leftovers(target.parent, "data.bin") == []


def test_a_killed_first_write_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "vocab.json"
    kill_at_marker(
        f"""
        from musegen.tokens.vocabulary import Vocabulary
        pause_before(os, "replace")
        Vocabulary(["C4", "D4"]).save({str(target)!r})
        """,
        tmp_path,
    )
    assert not target.exists()


def test_a_killed_vocabulary_save_and_midi_write_keep_the_previous_files(tmp_path: Path) -> None:
    vocab_path, midi_path = tmp_path / "vocab.json", tmp_path / "song.mid"
    Vocabulary(["C4"]).save(vocab_path)
    write_midi(Piece((Event(0, 1, (60,)),)), midi_path)
    kill_at_marker(
        f"""
        from musegen.events import Event, Piece
        from musegen.io.writing import write_midi
        from musegen.tokens.vocabulary import Vocabulary
        pause_before(os, "replace", skip=1)  # the vocabulary goes through, the MIDI file pauses
        Vocabulary([f"t{{i}}" for i in range(1000)]).save({str(vocab_path)!r})
        write_midi(Piece(tuple(Event(i, 1, (62,)) for i in range(200))), {str(midi_path)!r})
        """,
        tmp_path,
    )
    assert len(Vocabulary.load(vocab_path)) == 1002  # the finished save is complete
    assert [e.pitches for e in read_midi(midi_path).notes] == [(60,)]  # the killed one is old
    assert sorted(leftovers(tmp_path, "")) == ["song.mid", "vocab.json"]


# -- bundles and training (Keras) ----------------------------------------------------------

TINY = """
from musegen.training.dataset import SequenceDataset
from musegen.training.model import build_lstm
from musegen.tokens.tokenizer import Tokenizer
from musegen.tokens.vocabulary import Vocabulary

def tiny_model():
    return build_lstm(8, units=(16,), embedding_dim=8, dense_units=None, dropout=0.0,
                      return_sequences=True, learning_rate=0.03)

def tiny_data():
    songs = [[2 + (i + k) % 4 for i in range(40)] for k in range(12)]
    return SequenceDataset.from_ids(songs, 8, seq_len=8, shape="chunks", val_fraction=0.25)

VOCAB = Vocabulary([f"t{i}" for i in range(6)])
"""


@pytest.fixture(scope="module")
def keras_bits():
    pytest.importorskip("musegen.training.bundle")
    import keras

    from musegen.training import bundle
    from musegen.training import fitting as training

    namespace: dict = {}
    exec(TINY, namespace)
    return keras, bundle, training, namespace


def test_a_killed_bundle_save_keeps_the_previous_bundle(tmp_path: Path, keras_bits) -> None:
    _, bundle, _, tiny = keras_bits
    target = tmp_path / "b"
    bundle.save_bundle(target, tiny["tiny_model"](), tiny["Tokenizer"](), tiny["VOCAB"], run=1)
    kill_at_marker(
        f"""
        import musegen.training.bundle as bundle
        pause_before(bundle, "_replace_dir")  # the new bundle is complete beside the old one
        bundle.save_bundle({str(target)!r}, tiny_model(), Tokenizer(), VOCAB, run=2)
        """,
        tmp_path,
        setup=TINY,
    )
    assert bundle.load_bundle(target).metadata["run"] == 1
    assert leftovers(tmp_path, "b") == []


def test_a_bundle_save_killed_between_its_renames_keeps_a_bundle(
    tmp_path: Path, keras_bits
) -> None:
    _, bundle, _, tiny = keras_bits
    target = tmp_path / "b"
    bundle.save_bundle(target, tiny["tiny_model"](), tiny["Tokenizer"](), tiny["VOCAB"], run=1)
    kill_at_marker(
        f"""
        import musegen.training.bundle as bundle
        bundle.os = type(os)("os_with_a_pause")  # pause at the second os.replace of _replace_dir
        bundle.os.__dict__.update(os.__dict__)
        pause_before(bundle.os, "replace", skip=1)
        bundle.save_bundle({str(target)!r}, tiny_model(), Tokenizer(), VOCAB, run=2)
        """,
        tmp_path,
        setup=TINY,
    )
    # the old bundle was moved aside when the kill came: load_bundle finds it there
    assert bundle.load_bundle(target).metadata["run"] == 1
    bundle.save_bundle(target, tiny["tiny_model"](), tiny["Tokenizer"](), tiny["VOCAB"], run=3)
    assert bundle.load_bundle(target).metadata["run"] == 3
    assert [p.name for p in tmp_path.glob(".b.*.old")] == []  # the next save cleans it up


def test_killed_training_resumes_from_the_last_finished_epoch(tmp_path: Path, keras_bits) -> None:
    keras, _, training, tiny = keras_bits
    run = tmp_path / "run"
    kill_at_marker(
        f"""
        import keras
        from musegen.training.fitting import training_callbacks

        class PauseAt(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                if self.epoch == 2 and batch == 1:
                    marker.write_text("epoch 2, batch 1")
                    time.sleep(120)
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

        keras.utils.set_random_seed(0)
        data = tiny_data()
        tiny_model().fit(
            data.batches(8), validation_data=data.batches(8, split="val"), epochs=4,
            callbacks=[*training_callbacks({str(run)!r}, patience=None), PauseAt()],
            shuffle=False, verbose=0,
        )
        """,
        tmp_path,
        setup=TINY,
    )
    assert (run / "backup").is_dir()
    keras.utils.set_random_seed(0)
    resumed = training.fit(
        tiny["tiny_model"](), tiny["tiny_data"](), epochs=4, run_dir=run, batch_size=8,
        verbose=0, patience=None,
    )  # fmt: skip
    assert len(resumed.history["loss"]) == 2  # epochs 2 and 3 only: 0 and 1 were backed up
    with open(run / "history.csv") as handle:
        assert [row.split(",")[0] for row in handle.read().split()[1:]] == ["0", "1", "2", "3"]
    assert not (run / "backup").exists()


# Each moment pauses the k-th call of a function that writes training files: inside an
# HDF5 write, inside the backup's JSON record, inside the best.keras zip, or between a
# temporary file and its rename (os.replace: weight_shapes.json, then per epoch
# best.keras, history.csv, the backup's weights and record).
KILL_MOMENTS = [
    ("os", "replace", 1),
    ("os", "replace", 2),
    ("os", "replace", 3),
    ("os", "replace", 4),
    ("H5IOStore", "close", 1),
    ("json", "dumps", 3),
    ("ZipFile", "close", 0),
]

TRAIN_RUN = """
import json, zipfile
import keras
from keras.src.saving.saving_lib import H5IOStore
from musegen.training.fitting import fit
keras.utils.set_random_seed(0)
owners = {"os": os, "json": json, "H5IOStore": H5IOStore, "ZipFile": zipfile.ZipFile}
pause_before(owners[sys.argv[2]], sys.argv[3], skip=int(sys.argv[4]))
fit(tiny_model(), tiny_data(), epochs=6, run_dir=sys.argv[5], batch_size=8, verbose=0,
    patience=None)
"""


def history_epochs(run: Path) -> list[int]:
    import csv

    with open(run / "history.csv", newline="") as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


def test_training_killed_inside_each_write_resumes(tmp_path: Path, keras_bits) -> None:
    keras, bundle, training, tiny = keras_bits
    run = tmp_path / "run"
    for owner, name, skip in KILL_MOMENTS:  # each run resumes the last one, then is killed
        kill_at_marker(TRAIN_RUN, tmp_path, setup=TINY, args=(owner, name, str(skip), str(run)))
        if (run / "history.csv").exists():  # no epoch twice, none missing
            assert history_epochs(run) == list(range(len(history_epochs(run))))
    keras.utils.set_random_seed(0)
    model = tiny["tiny_model"]()
    training.fit(model, tiny["tiny_data"](), epochs=6, run_dir=run, batch_size=8, verbose=0,
                 patience=None)  # fmt: skip
    assert history_epochs(run) == [0, 1, 2, 3, 4, 5]
    bundle.save_bundle(run / "bundle", model, tiny["Tokenizer"](), tiny["VOCAB"])
    assert bundle.load_bundle(run / "bundle").model.output_shape == (None, None, 8)
    # no backup was ever unreadable (none set aside), no temporary file is left
    assert sorted(p.name for p in run.iterdir()) == [
        "best.keras", "bundle", "history.csv", "weight_shapes.json",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("damage", "instead"),
    [
        ({"epoch-3.weights.h5": "truncate"}, "resuming from epoch 2"),
        ({"epoch-3.json": "empty", "epoch-2.weights.h5": "truncate"}, "starting afresh"),
    ],
)
def test_an_unreadable_backup_is_set_aside_in_one_line(
    tmp_path: Path, keras_bits, capsys, damage: dict, instead: str
) -> None:
    keras, _, training, tiny = keras_bits

    class InterruptAfter(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs=None) -> None:
            if epoch == 2:  # after the backup of epoch 2 (three epochs done)
                raise KeyboardInterrupt

    run = tmp_path / "run"
    options = {"epochs": 5, "run_dir": run, "batch_size": 8, "verbose": 0, "patience": None}
    with pytest.raises(KeyboardInterrupt):
        training.fit(tiny["tiny_model"](), tiny["tiny_data"](), callbacks=[InterruptAfter()],
                     **options)  # fmt: skip
    backup = run / "backup"
    assert sorted(p.name for p in backup.iterdir() if not p.name.startswith(".")) == [
        "epoch-2.json", "epoch-2.weights.h5", "epoch-3.json", "epoch-3.weights.h5",
    ]  # fmt: skip
    for name, how in damage.items():
        data = (backup / name).read_bytes()
        (backup / name).write_bytes(data[: len(data) // 2] if how == "truncate" else b"")
    capsys.readouterr()
    resumed = training.fit(tiny["tiny_model"](), tiny["tiny_data"](), **options)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(damage) and "Traceback" not in "".join(lines)
    assert lines[-1].endswith(instead) and "unreadable backup" in lines[-1]
    assert str(run / "backup.unreadable") in lines[-1]
    assert resumed.epoch == ([2, 3, 4] if "epoch 2" in instead else [0, 1, 2, 3, 4])
    assert history_epochs(run) == [0, 1, 2, 3, 4]


# `musegen train`, noting when each process's budget started (by the wall clock) and
# when its training ended
CLI_RUN = """
from musegen.cli import main
from musegen.training.time_budget import TimeBudget
log, begin = open(sys.argv[2], "a"), TimeBudget.on_train_begin
def on_train_begin(self, logs=None):
    begin(self, logs)
    started = time.perf_counter() if self.started_at is None else self.started_at
    print("begin", time.time() - (time.perf_counter() - started), file=log, flush=True)
def on_train_end(self, logs=None):
    print("end", time.time(), file=log, flush=True)
TimeBudget.on_train_begin, TimeBudget.on_train_end = on_train_begin, on_train_end
sys.exit(main(sys.argv[3:]))
"""


def budget_spent(backup: Path) -> float:
    """The largest share of the budget a backup record in `backup` says was spent."""
    spent = 0.0
    for record in backup.glob("epoch-*.json"):
        try:
            spent = max(spent, json.loads(record.read_text())["budget"]["spent"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # removed meanwhile, or not this format
    return spent


def test_musegen_train_killed_at_half_its_budget_keeps_it(tmp_path: Path, keras_bits) -> None:
    minutes, run, log = 0.4, tmp_path / "run", tmp_path / "times.log"
    argv = [
        "train", "musegen:skuli", "--limit", "4", "--minutes", str(minutes), "--units", "16",
        "--seq-len", "16", "--quiet", "--out", str(run),
    ]  # fmt: skip
    command = [sys.executable, "-c", PRELUDE + CLI_RUN, str(tmp_path / "unused"), str(log), *argv]
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while budget_spent(run / "backup") < 0.5:
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"the run never backed up half its budget:\n{child.communicate()[1]!r}")
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    killed_at = time.time()
    child.communicate()
    before = history_epochs(run)
    again = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    times = [float(line.split()[1]) for line in log.read_text().splitlines()]
    assert len(times) == 3  # begin, (killed), begin, end
    total = (killed_at - times[0]) + (times[2] - times[1])
    print(f"trained {killed_at - times[0]:.1f} s + {times[2] - times[1]:.1f} s = {total:.1f} s")
    assert abs(total - 60 * minutes) <= 0.1 * 60 * minutes
    import csv

    with open(run / "history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == list(range(len(rows))) and len(rows) > len(before)
    rates = [float(r["learning_rate"]) for r in rows]
    print("rates around the restart", rates[len(before) - 2 : len(before) + 2])
    assert all(b <= a for a, b in itertools.pairwise(rates))  # one cosine, no restart
    assert rates[-1] < 0.05 * rates[0]  # and it reached its end at the deadline
    assert (run / "bundle" / "model.keras").is_file()


def test_musegen_train_killed_while_writing_its_bundle_does_not_train_again(
    tmp_path: Path, keras_bits
) -> None:
    _, bundle, _, _ = keras_bits
    run = tmp_path / "run"
    argv = [
        "train", "musegen:skuli", "--limit", "3", "--minutes", "0", "--epochs", "2",
        "--units", "8", "--seq-len", "16", "--quiet", "--out", str(run),
    ]  # fmt: skip
    snippet = f"""
    import musegen.training.bundle as bundle
    pause_before(bundle, "save_bundle")
    from musegen.cli import main
    sys.exit(main({argv!r}))
    """
    kill_at_marker(snippet, tmp_path)
    rows = (run / "history.csv").read_text()
    assert (run / "trained.json").is_file() and not (run / "backup").exists()
    again = subprocess.run(
        [sys.executable, "-m", "musegen.cli", *argv], cwd=REPO, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "training had ended before the bundle was written" in again.stdout
    assert (run / "history.csv").read_text() == rows  # no epoch trained again
    names = sorted(p.name for p in run.iterdir())
    assert names == ["best.keras", "bundle", "history.csv", "weight_shapes.json"]
    assert len(bundle.load_bundle(run / "bundle").metadata["history"]["loss"]) == 2


# -- safe formats ------------------------------------------------------------------------


def assert_keras_archive(path: Path) -> None:
    """A .keras file: a zip of JSON documents and HDF5 weights, nothing else."""
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert names <= {"config.json", "metadata.json", "model.weights.h5"}, names
        for name in names - {"model.weights.h5"}:
            json.loads(archive.read(name))
        assert archive.read("model.weights.h5")[:8] == b"\x89HDF\r\n\x1a\n"


def test_every_file_musegen_writes_is_json_or_a_keras_zip(tmp_path: Path, keras_bits) -> None:
    keras, bundle, training, tiny = keras_bits
    target = tmp_path / "b"
    bundle.save_bundle(target, tiny["tiny_model"](), tiny["Tokenizer"].seed(), tiny["VOCAB"])
    for name in ("tokenizer.json", "vocabulary.json", "metadata.json"):
        assert json.loads((target / name).read_text())["format"].startswith("musegen.")
    assert_keras_archive(target / "model.keras")
    keras.utils.set_random_seed(0)
    training.fit(
        tiny["tiny_model"](), tiny["tiny_data"](), epochs=1, run_dir=tmp_path / "run",
        batch_size=8, verbose=0,
    )  # fmt: skip
    assert_keras_archive(tmp_path / "run" / "best.keras")
    run_files = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert run_files == ["best.keras", "history.csv", "weight_shapes.json"]
    json.loads((tmp_path / "run" / "weight_shapes.json").read_text())


def test_tampered_bundles_give_named_errors(tmp_path: Path, keras_bits) -> None:
    _, bundle, _, tiny = keras_bits
    target = tmp_path / "b"
    bundle.save_bundle(target, tiny["tiny_model"](), tiny["Tokenizer"](), tiny["VOCAB"])
    vocabulary = (target / "vocabulary.json").read_text()
    (target / "vocabulary.json").write_text(vocabulary[: len(vocabulary) // 2])
    with pytest.raises(bundle.BundleError, match=r"vocabulary\.json: not a JSON document"):
        bundle.load_bundle(target)
    (target / "vocabulary.json").write_text(vocabulary.replace('"t0"', '"t1"'))
    with pytest.raises(bundle.BundleError, match="repeats a token"):
        bundle.load_bundle(target)
    (target / "vocabulary.json").write_text(vocabulary)
    document = json.loads((target / "tokenizer.json").read_text())
    (target / "tokenizer.json").write_text(json.dumps({**document, "format_version": 2}))
    with pytest.raises(bundle.BundleError, match=r"tokenizer\.json: format version 2 is newer"):
        bundle.load_bundle(target)
    (target / "tokenizer.json").write_text(json.dumps(document))
    with zipfile.ZipFile(target / "model.keras", "a") as archive:
        archive.writestr("extra.pkl", b"\x80\x04N.")
    bundle.load_bundle(target)  # an extra member is ignored, never unpickled
    (target / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(bundle.BundleError, match=r"model\.keras: cannot load the model"):
        bundle.load_bundle(target)

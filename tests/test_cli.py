"""The ``musegen`` command end to end: train a tiny model on three chorales, generate from it."""

from __future__ import annotations

import re

from musegen.cli import main
from musegen.defaults import GENERATION, TRAINING
from musegen.events import Event, Piece
from musegen.io.corpus import load_corpus
from musegen.io.reading import read_midi
from musegen.io.writing import write_midi
from musegen.tokens.encodings import encodings
from musegen.tokens.tokenizer import seed_configurations
from musegen.training.bundle import load_bundle
from musegen.training.dataset import normalized


def test_train_then_generate(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    status = main(
        ["train", "music21:bach", "--limit", "3", "--encoding", "final", "--epochs", "2", "--units", "8",
         "--seq-len", "16", "--batch-size", "4", "--minutes", "5", "--min-count", "2",
         "--transpose", "0", "0", "--out", str(run), "--quiet"]
    )  # fmt: skip
    assert status == 0
    metadata = load_bundle(run / "bundle").metadata
    assert metadata["training"]["minutes"] == 5 and len(metadata["history"]["loss"]) == 2
    vocabulary = load_bundle(run / "bundle").vocabulary
    tokens = [
        t for p in read_corpus_tokens(normalize=metadata["training"]["normalize_keys"]) for t in p
    ]
    assert all(tokens.count(t) >= 2 for t in vocabulary.tokens)  # --min-count 2
    song = tmp_path / "song.mid"
    assert main(["generate", str(run), "--steps", "30", "--seed", "0", "--out", str(song)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert read_midi(song).notes  # a MIDI file with notes
    again = tmp_path / "again.mid"
    main(["generate", str(run), "--steps", "30", "--seed", "0", "--out", str(again)])
    assert read_midi(again).events == read_midi(song).events  # same seed, same music


def read_corpus_tokens(normalize: bool = False) -> list[list[str]]:
    pieces = load_corpus("music21:bach", limit=3, progress=False).pieces
    tokenizer = seed_configurations()["final"]
    return [tokenizer.encode(piece) for piece in (normalized(pieces) if normalize else pieces)]


def test_defaults_train_by_time_and_generate_with_a_piano_roll(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    status = main(
        ["train", "music21:bach", "--limit", "3", "--units", "8", "--seq-len", "16",
         "--minutes", "0.05", "--out", str(run), "--quiet"]
    )  # fmt: skip
    assert status == 0
    out = capsys.readouterr().out
    assert re.search(r"trained \d+ steps? in", out)  # one step only on a loaded machine
    bundle = load_bundle(run / "bundle")
    assert type(bundle.tokenizer) is type(encodings()[TRAINING.encoding])  # the default encoding
    assert bundle.metadata["generation"] == GENERATION.to_dict()
    assert bundle.metadata["training"]["minutes"] == 0.05
    song = tmp_path / "song.mid"
    assert (
        main(["generate", str(run), "--steps", "40", "--seed", "1", "--png", "--out", str(song)])
        == 0
    )
    assert song.is_file() and song.with_suffix(".png").is_file()
    assert song.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"

    # steering: constraints hold in the written file; beam search runs; bad options exit 2
    # (primed in range: new tokens that complete the prime's last chord keep its pitches)
    prime = write_midi(
        Piece(tuple(Event(i, 1, (60 + 2 * i,)) for i in range(4))), tmp_path / "p.mid"
    )
    steered = tmp_path / "steered.mid"
    assert main(["generate", str(run), "--steps", "60", "--seed", "1", "--key", "C major",
                 "--pitch-range", "C4:C6", "--grammar", "--no-repeat-ngram", "6",
                 "--repetition-penalty", "1.5", "--prime", str(prime), "--out", str(steered)]) == 0  # fmt: skip
    pitches = {p for e in read_midi(steered).events for p in e.pitches}
    assert pitches and all(p % 12 in (0, 2, 4, 5, 7, 9, 11) and 60 <= p <= 84 for p in pitches)
    assert ", 0 tokens skipped" in capsys.readouterr().out
    beam = tmp_path / "beam.mid"
    assert main(["generate", str(run), "--steps", "30", "--beam", "3", "--out", str(beam)]) == 0
    assert beam.is_file() and "wrote" in capsys.readouterr().out
    for bad in (["--key", "H major"], ["--pitch-range", "C3"], ["--beam", "0"]):
        with pytest.raises(SystemExit) as exit_:  # argparse refuses them: one line, status 2
            main(["generate", str(run), "--steps", "5", "--out", str(beam), *bad])
        assert exit_.value.code == 2
        assert capsys.readouterr().err.startswith(f"musegen generate: error: argument {bad[0]}: ")


def test_sampler_options_override_the_bundles(tmp_path) -> None:
    import argparse

    from musegen.cli.generate import _sampler

    saved = {"name": "top_k", "temperature": 0.9, "k": 5}
    args = argparse.Namespace(sampler=None, temperature=None, k=None, p=None)
    assert _sampler(args, saved) == saved
    assert _sampler(args, None) == GENERATION.to_dict()
    args = argparse.Namespace(sampler="top_p", temperature=None, k=3, p=0.5)
    assert _sampler(args, saved) == {"name": "top_p", "temperature": 0.9, "p": 0.5}
    args = argparse.Namespace(sampler=None, temperature=1.2, k=3, p=None)
    assert _sampler(args, saved) == {"name": "top_k", "temperature": 1.2, "k": 3}


def test_tensorflow_start_up_chatter_is_hidden_and_the_rest_kept(capfd) -> None:
    import os

    from musegen._quiet import _filtered_stderr

    with _filtered_stderr():
        os.write(2, b"E0000 cuda_platform.cc:52] failed call to cuInit: UNKNOWN ERROR (303)\n")
        os.write(2, b"I0000 cudart_stub.cc:31] Could not find cuda drivers on your machine\n")
        os.write(2, b"something that matters\n")
    err = capfd.readouterr().err
    assert "cuInit" not in err and "cuda drivers" not in err
    assert "something that matters" in err


def test_tokenize_prints_every_encoding(capsys) -> None:
    assert main(["tokenize", "music21:bach", "--limit", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    pieces = load_corpus("music21:bach", limit=2, progress=False).pieces
    for name, tokenizer in encodings().items():
        sequences = [tokenizer.encode(p) for p in pieces]
        vocabulary = len({t for s in sequences for t in s})
        row = next(line for line in out.splitlines() if line.split()[:1] == [name])
        assert row.split()[1:] == [str(vocabulary), str(sum(map(len, sequences)))]


def test_training_by_time_keeps_the_weights_of_the_best_validation_loss(tmp_path, capsys) -> None:
    import keras
    import numpy as np

    run = tmp_path / "run"
    args = ["train", "music21:bach", "--limit", "10", "--units", "8", "--seq-len", "16",
            "--learning-rate", "0.05", "--minutes", "0.15", "--keep", "best", "--quiet"]  # fmt: skip
    assert main([*args, "--out", str(run)]) == 0
    assert "kept the weights of epoch" in capsys.readouterr().out
    kept = load_bundle(run / "bundle").model.get_weights()
    best = keras.saving.load_model(run / "best.keras").get_weights()  # the checkpoint
    assert all(np.array_equal(a, b) for a, b in zip(kept, best, strict=True))
    history = load_bundle(run / "bundle").metadata["history"]["val_loss"]
    assert len(history) >= 2  # more than one epoch to choose from


def test_new_tokens_that_complete_the_primes_last_event_are_kept() -> None:
    from musegen.generation.compose import continuation
    from musegen.tokens.note_tokenizer import NoteTokenizer
    from musegen.tokens.vocabulary import Vocabulary
    from musegen.training.bundle import Bundle
    from musegen.training.model import build_lstm

    tokenizer = NoteTokenizer(holds=True)
    prime = ["C3", "4th", "C4", "E4"]  # ends mid-chord
    new = ["half", "+4th", "G4", "8th", "v99"]  # v99 means nothing here: skipped
    vocab = Vocabulary(sorted(set(prime + new)))
    bundle = Bundle(build_lstm(len(vocab), units=(4,)), tokenizer, vocab)
    made = continuation(bundle, vocab.encode(prime), vocab.encode(new))
    assert [(e.offset, e.duration, e.pitches) for e in made.music.events] == [
        (0.0, 2.0, (60, 64)),
        (1.0, 0.5, (67,)),
    ]
    assert made.skipped == ((4, "v99"),)


# -- the first hour: generate several, evaluate, plot, render; user mistakes ---------------------


import json  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A run directory: the default encoding and model, trained a few seconds on 3 chorales."""
    run = tmp_path_factory.mktemp("first-hour") / "run"
    args = ["train", "music21:bach", "--limit", "3", "--units", "8", "--seq-len", "16"]
    assert main([*args, "--minutes", "0.05", "--out", str(run), "--quiet"]) == 0
    return run


def test_generate_several_then_evaluate_and_plot_them(tiny_run, tmp_path, capsys) -> None:
    out = tmp_path / "gen" / "song.mid"
    assert main(["generate", str(tiny_run), "--num", "2", "--png", "--steps", "60",
                 "--seed", "0", "--out", str(out)]) == 0  # fmt: skip
    written = sorted(p.name for p in out.parent.iterdir())
    assert written == ["song-1.mid", "song-1.png", "song-2.mid", "song-2.png"]
    assert (
        read_midi(out.parent / "song-1.mid").events != read_midi(out.parent / "song-2.mid").events
    )
    capsys.readouterr()

    assert main(["evaluate", str(out.parent), "--reference", "music21:bach", "--limit", "3"]) == 0
    table = capsys.readouterr().out
    assert "2 generated pieces (0 skipped)" in table
    header = next(line for line in table.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "generated", "(n=2)", "reference", "(n=3)"]
    for row in ("scale_consistency", "polyphony", "js_pitch_class", "js_interval"):
        assert any(line.startswith(row) for line in table.splitlines())
    assert main(["evaluate", str(out.parent / "song-1.mid"), "--reference", "music21:bach",
                 "--limit", "2", "--json"]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert set(rows["polyphony"]) == {"generated", "reference"}
    assert rows["js_duration"]["generated"]["std"] is None
    assert main(["evaluate", str(out.parent), "--reference", "music21:bach", "--limit", "2",
                 "--csv"]) == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "metric,column,mean,std" and lines[1].startswith("pitch_range,generated,")

    assert main(["plot", str(out.parent / "song-1.mid"), "--out", str(tmp_path / "pngs")]) == 0
    assert (tmp_path / "pngs" / "song-1.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["plot", str(out.parent / "song-1.mid"), "--out", str(tmp_path / "a.png")]) == 0
    assert (tmp_path / "a.png").is_file()  # a file named, not a folder of that name
    assert main(["plot", str(out.parent), "--out", str(tmp_path / "b.png")]) == 2  # two songs
    assert "names one file, for 2 files give a folder" in capsys.readouterr().err


def test_render_writes_wav_or_names_what_is_missing(tiny_run, tmp_path, capsys) -> None:
    song = tmp_path / "song.mid"
    assert main(["generate", str(tiny_run), "--steps", "30", "--out", str(song)]) == 0
    capsys.readouterr()
    status = main(["render", str(song)])
    if shutil.which("fluidsynth"):
        assert status == 0 and song.with_suffix(".wav").read_bytes()[:4] == b"RIFF"
    else:
        assert status == 1
        assert capsys.readouterr().err.count("\n") == 1  # one line naming what is missing


def test_user_mistakes_exit_non_zero_with_one_line(tiny_run, tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    text = tmp_path / "notes.mid"
    text.write_text("not a MIDI file")
    song = tmp_path / "song.mid"
    good = tmp_path / "good.mid"
    write_midi(Piece((Event(0, 1, (60, 64)), Event(1, 1, (62,)))), good)
    mistakes = {
        2: [
            ["generate", str(tmp_path / "no-run"), "--out", str(song)],
            ["evaluate", str(good), "--reference", str(empty)],
            ["evaluate", str(tmp_path / "none"), "--reference", "music21:bach"],
            ["plot", str(empty)],
        ],
        1: [
            ["generate", str(tiny_run), "--prime", str(text), "--out", str(song)],
            ["evaluate", str(text), "--reference", "music21:bach"],
        ],
    }
    for code, commands in mistakes.items():
        for command in commands:
            assert main(command) == code, command
            err = capsys.readouterr().err.strip().splitlines()
            assert err[-1].startswith("musegen: ") and "Traceback" not in "".join(err), err
    for command in (
        ["generate"],  # argparse: a missing argument
        ["generate", str(tiny_run), "--sampler", "loudest", "--out", str(song)],
        ["generate", str(tiny_run), "--prime", str(tmp_path / "none.mid"), "--out", str(song)],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(command)
        assert exit_.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("musegen generate: error: "), err


def test_the_real_command_prints_no_traceback(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "musegen.cli", "generate", str(tmp_path / "missing"), "--out",
         str(tmp_path / "x.mid")], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"musegen: no such run or bundle directory: '{tmp_path / 'missing'}'"
    )
    version = subprocess.run(
        [sys.executable, "-m", "musegen.cli", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("musegen ")


def drums_and_songs(folder):
    """A folder of two short songs and one drums-only file; returns the drums file."""
    from musegen.io.tracks import Score, Track

    folder.mkdir()
    for i in range(2):
        write_midi(Piece((Event(0, 1, (60 + i, 64)), Event(1, 1, (62,)), Event(2, 1, (65,)))),
                   folder / f"song{i}.mid")  # fmt: skip
    kit = Track(Piece((Event(0, 1, (38,)), Event(1, 1, (36,)))), name="kit", is_drum=True)
    return write_midi(Score((kit,)), folder / "drums.mid")


def test_evaluate_and_plot_skip_a_drums_only_file_naming_it(tmp_path, capsys) -> None:
    drums = drums_and_songs(tmp_path / "songs")
    (tmp_path / "reference").mkdir()
    for song in ("song0.mid", "song1.mid"):
        shutil.copy(tmp_path / "songs" / song, tmp_path / "reference")
    assert (
        main(["evaluate", str(tmp_path / "songs"), "--reference", str(tmp_path / "reference")]) == 0
    )
    out, err = capsys.readouterr()
    assert err.strip().splitlines() == [
        f"musegen: skipped {drums}: no pitched notes (empty or drums only)"
    ]
    assert "2 generated pieces (1 skipped)" in out
    header = next(line for line in out.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "generated", "(n=2)", "reference", "(n=2)"]
    assert main(["plot", str(drums), "--out", str(tmp_path / "pngs")]) == 1
    assert capsys.readouterr().err.strip().endswith(f"skipped {drums}: no pitched notes "
                                                    "(empty or drums only)")  # fmt: skip
    assert not (tmp_path / "pngs" / "drums.png").exists()


def test_an_empty_folder_is_a_bad_argument_to_every_command(tmp_path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    commands = [
        ["tokenize", str(empty)],
        ["train", str(empty), "--out", str(tmp_path / "run")],
        ["train", str(empty), "--tracks", "--out", str(tmp_path / "run")],
        ["plot", str(empty)],
        ["render", str(empty)],
        ["evaluate", str(empty), "--reference", "musegen:skuli"],
    ]
    for command in commands:
        assert main(command) == 2, command
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("musegen: no ") and str(empty) in err[0], err


def test_counts_are_spelt_in_the_singular_for_one(tmp_path, capsys) -> None:
    drums_and_songs(tmp_path / "songs")
    assert main(["tokenize", str(tmp_path / "songs"), "--limit", "2", "--quiet"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'songs'}: 1 piece, 3 events, 1 file skipped"), first


def test_train_refuses_another_models_backup_in_one_line(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    (run / "backup").mkdir(parents=True)
    (run / "weight_shapes.json").write_text("[[1, 2]]")
    code = main(
        ["train", "musegen:skuli", "--limit", "2", "--units", "4", "--seq-len", "16",
         "--epochs", "1", "--minutes", "0", "--out", str(run)]
    )  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith(f"musegen: {run} holds the backup of an interrupted run")
    assert "Traceback" not in "\n".join(err)

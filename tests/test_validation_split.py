"""Validation on small folders: what is held out, what the log says, and the held-out NLL."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from musegen.cli import main
from musegen.evaluation.likelihood import nll_per_quarter
from musegen.events import Event, Piece
from musegen.io.corpus import load_corpus
from musegen.io.writing import write_midi
from musegen.tokens.tokenizer import Tokenizer
from musegen.training.bundle import load_bundle
from musegen.training.dataset import SequenceDataset, normalized, split_songs

MODEL = [
    "--units",
    "4",
    "--seq-len",
    "32",
    "--batch-size",
    "64",
    "--transpose",
    "0",
    "0",
    "--quiet",
]
TINY = [*MODEL, "--minutes", "0", "--epochs", "1"]


def scale(start: int, length: int) -> Piece:
    return Piece(tuple(Event(i, 1, (start + i % 7,)) for i in range(length)))


def folder_of(tmp_path, count: int):
    """`count` MIDI files of 24 notes, each song with pitches of its own."""
    folder = tmp_path / "songs"
    folder.mkdir()
    for i in range(count):
        write_midi(scale(40 + 5 * i, 24), folder / f"{i}.mid")
    return folder


def test_a_single_song_holds_out_its_last_part() -> None:
    song = scale(60, 40)
    tokenizer = Tokenizer()
    vocabulary = tokenizer.build_vocabulary([song])
    data = SequenceDataset.from_pieces(
        [song], tokenizer, vocabulary, seq_len=4, shape="chunks", val_fraction=0.1
    )
    assert data.num_train_songs == 1 and data.num_val_songs == 1 and data.num_val > 0
    whole = vocabulary.encode(tokenizer.encode(song))
    train, held = data.train_ids[0].tolist(), data.val_ids[0].tolist()
    assert len(held) < len(train) and len(train) + len(held) <= len(whole)
    assert whole[-len(held) :] == held  # the end of the song, not a copy of its start


def test_two_songs_or_more_hold_out_a_whole_song() -> None:
    songs = [scale(60 + i, 12) for i in range(3)]
    tokenizer = Tokenizer()
    vocabulary = tokenizer.build_vocabulary(songs)
    for count in (2, 3):
        data = SequenceDataset.from_pieces(
            songs[:count], tokenizer, vocabulary, seq_len=4, shape="chunks", val_fraction=0.1
        )
        assert (data.num_train_songs, data.num_val_songs) == (count - 1, 1)
        held = data.val_ids[0].tolist()
        assert held in [vocabulary.encode(tokenizer.encode(s)) for s in songs[:count]]


@pytest.mark.parametrize("count", [1, 2, 3, 8])
def test_train_on_a_small_folder_validates_and_prints_the_held_out_nll(
    count, tmp_path, capsys
) -> None:
    run = tmp_path / "run"
    args = ["train", str(folder_of(tmp_path, count)), *TINY, "--out", str(run)]
    assert main(args) == 0
    out = capsys.readouterr().out
    if count == 1:
        assert re.search(
            r"validation: the last [\d.]+ of [\d.]+ quarter notes of the only song", out
        )
    else:
        assert f"validation: 1 of {count} songs held out" in out
    assert re.search(r"[\d.]+% of their tokens are not in the training vocabulary", out)
    assert re.search(r"held-out NLL [\d.]+ nats per quarter note", out)
    assert load_bundle(run / "bundle").metadata["held_out_nll_per_quarter"] > 0


@pytest.mark.parametrize("keys", ["--no-normalize-keys", "--normalize-keys"])
def test_the_vocabulary_and_the_held_out_nll_come_from_unseen_songs(
    keys: str, tmp_path, capsys
) -> None:
    folder = folder_of(tmp_path, 8)
    run = tmp_path / "run"
    assert main(["train", str(folder), *TINY, keys, "--out", str(run)]) == 0
    bundle = load_bundle(run / "bundle")
    pieces = load_corpus(str(folder), progress=False).pieces
    if bundle.normalizes_keys:  # the default: the songs are learnt and scored in C / A minor
        pieces = list(normalized(pieces))
    train_index, val_index = split_songs(len(pieces), 0.1, 0)
    tokenizer, vocabulary = bundle.tokenizer, bundle.vocabulary
    seen = {t for i in train_index for t in tokenizer.encode(pieces[i])}
    assert set(vocabulary.tokens) == seen  # none from the held-out song alone
    held = [pieces[i] for i in val_index]
    ids = [vocabulary.encode(tokenizer.encode(p), unknown="map") for p in held]
    unknown = float(np.mean(np.concatenate(ids) == vocabulary.unk_id))
    assert bundle.normalizes_keys == (keys == "--normalize-keys")
    assert (unknown > 0 or bundle.normalizes_keys) and vocabulary.unk_id not in bundle.metadata[
        "prime"
    ]
    out = capsys.readouterr().out
    assert f"{100 * unknown:.1f}% of their tokens are not in the training vocabulary" in out
    expected = nll_per_quarter(bundle.model, ids, [p.duration for p in held])
    if bundle.normalizes_keys:  # and each song's key shift costs log(12) nats
        expected += float(np.mean([math.log(12) / p.duration for p in held]))
    assert bundle.metadata["held_out_nll_per_quarter"] == pytest.approx(expected, rel=1e-5)


def test_no_validation_data_is_said_in_one_line_and_keep_best_is_refused(tmp_path, capsys) -> None:
    folder = tmp_path / "songs"
    folder.mkdir()
    write_midi(Piece((Event(0, 4, (60, 64, 67)),)), folder / "chord.mid")  # one onset: no cut
    run = tmp_path / "run"
    assert main(["train", str(folder), *TINY, "--out", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    lines = [line for line in out if re.match("(no )?validation", line)]
    assert len(lines) == 1 and lines[0].startswith("no validation data")
    by_time = ["train", str(folder), *MODEL, "--minutes", "0.02"]
    assert main([*by_time, "--out", str(tmp_path / "default")]) == 0  # the default falls back
    out = capsys.readouterr().out
    assert "the last weights are kept" in out and "kept the weights of epoch" not in out
    refused = [*by_time, "--keep", "best"]
    assert main([*refused, "--out", str(tmp_path / "best")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("musegen: ") and "--keep best" in err[0]

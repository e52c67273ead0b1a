"""The ``musegen`` command end to end: train a tiny model on three chorales, generate from it."""

from __future__ import annotations

from musegen.bundle import load_bundle
from musegen.cli import main
from musegen.midi_io import load_corpus, read_midi
from musegen.tokenizer import seed_configurations


def test_train_then_generate(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    status = main(
        ["train", "music21:bach", "--limit", "3", "--epochs", "2", "--units", "8",
         "--seq-len", "16", "--batch-size", "4", "--minutes", "5", "--min-count", "2",
         "--out", str(run), "--quiet"]
    )  # fmt: skip
    assert status == 0
    metadata = load_bundle(run / "bundle").metadata
    assert metadata["training"]["minutes"] == 5 and len(metadata["history"]["loss"]) == 2
    vocabulary = load_bundle(run / "bundle").vocabulary
    tokens = [t for p in read_corpus_tokens() for t in p]
    assert all(tokens.count(t) >= 2 for t in vocabulary.tokens)  # --min-count 2
    song = tmp_path / "song.mid"
    assert main(["generate", str(run), "--steps", "30", "--seed", "0", "--out", str(song)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert read_midi(song).notes  # a MIDI file with notes
    again = tmp_path / "again.mid"
    main(["generate", str(run), "--steps", "30", "--seed", "0", "--out", str(again)])
    assert read_midi(again).events == read_midi(song).events  # same seed, same music


def read_corpus_tokens() -> list[list[str]]:
    corpus = load_corpus("music21:bach", limit=3, progress=False)
    tokenizer = seed_configurations()["final"]  # musegen train's default encoding
    return [tokenizer.encode(piece) for piece in corpus.pieces]

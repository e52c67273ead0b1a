"""Smoke tests of examples/: every recipe imports, and the quickest ones run end to end."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

from musegen.events import Event, Piece
from musegen.io.writing import write_midi

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))


def load(name: str) -> ModuleType:
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def midi_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three short MIDI files: melodies with a chord and a rest now and then."""
    folder = tmp_path_factory.mktemp("midi")
    for song in range(3):
        events = []
        for i in range(40):
            pitches: tuple[int, ...] = (60 + (i * (song + 2)) % 12,)
            if i % 5 == 0:
                pitches = (48, 55, 64)
            if i % 7 != 3:  # every seventh beat is silent
                events.append(Event(i * 0.5, 0.5, pitches, 40 + 20 * (i % 4)))
        write_midi(Piece(tuple(events)), folder / f"song{song}.mid")
    return folder


@pytest.mark.parametrize("name", NAMES)
def test_every_example_imports_and_has_main(name: str) -> None:
    module = load(name)
    assert callable(module.main)
    assert "python examples/" in (module.__doc__ or ""), "the docstring gives the command"


def test_seed_encodings_runs_end_to_end(midi_folder: Path, tmp_path: Path) -> None:
    args = ["--data", str(midi_folder), "--limit", "3", "--epochs", "1", "--units", "8"]
    args += ["--steps", "12", "--out", str(tmp_path), "--encoding", "final"]
    results = load("seed_encodings").main(args)
    assert list(results) == ["final"]
    assert results["final"]["vocab"] > 2 and results["final"]["loss"] > 0
    assert (tmp_path / "final" / "generated.mid").is_file()
    assert (tmp_path / "final" / "generated.png").is_file()


def test_compare_samplers_runs_end_to_end(midi_folder: Path, tmp_path: Path) -> None:
    args = ["--data", str(midi_folder), "--limit", "3", "--epochs", "1", "--units", "8"]
    args += ["--seq-len", "8", "--pieces", "2", "--steps", "12", "--prime", "4"]
    args += ["--min-count", "1", "--no-audio", "--out", str(tmp_path)]
    table = load("compare_samplers").main(args)
    header = table.splitlines()[0]
    for column in ("argmax", "categorical", "top_k7", "top_p0.9", "reference"):
        assert column in header
    assert (tmp_path / "piano_rolls.png").is_file()
    assert len(list((tmp_path / "top_k7").glob("*.mid"))) == 2
    reloaded = ["--bundle", str(tmp_path / "bundle"), "--out", str(tmp_path / "again")]
    again = load("compare_samplers").main(args + reloaded)
    assert again.splitlines()[0].split() == header.split()


def test_bar_tokenizer_starts_every_measure_on_its_bar_line() -> None:
    module = load("song_structure")
    tok = module.BarTokenizer(bar_length=4.0)
    piece = Piece((Event(0, 1, (60,)), Event(1, 2, (64,)), Event(5, 1, (67,)), Event(8, 1, (72,))))
    tokens = tok.encode(piece)
    assert tokens.count("bar") == 3
    # without durations every token lasts 0.5, yet each measure still starts on its bar line
    decoded = tok.decode(tokens)
    assert [e.offset for e in decoded.notes] == [0.0, 0.5, 4.5, 8.0]
    assert type(tok).from_json(tok.to_json()) == tok


def test_harmonize_puts_the_melody_on_top_of_every_event(tmp_path: Path) -> None:
    args = ["--data", "music21:bach", "--limit", "20", "--minutes", "0.05", "--chorales", "2"]
    args += ["--notes", "10", "--tries", "2", "--out", str(tmp_path)]
    out = load("harmonize").main(args)
    assert len(out["results"]) >= 2
    for result in out["results"]:
        events = result["generated"].events
        melody = [(max(e.pitches) if e.pitches else None, e.duration) for e in events]
        assert melody == result["melody"]  # the melody's pitch on top, its duration, every event
        assert result["bach"].duration == pytest.approx(sum(d for _, d in result["melody"]))
    assert 0 <= out["bass_exact"] <= out["bass_pitch_class"] <= 1
    assert (tmp_path / "report.txt").is_file() and list(tmp_path.glob("*.png"))
    assert (tmp_path / f"{out['results'][0]['name']}.mid").is_file()


def test_the_seeds_windows_run_end_to_end(midi_folder: Path, tmp_path: Path) -> None:
    # the seed's settings are passed by name, whatever the library's defaults are
    long = tmp_path / "long"  # songs longer than the recipe's windows of 100
    long.mkdir()
    for song in range(3):
        notes = tuple(Event(i * 0.5, 0.5, (60 + (i * (song + 2)) % 12,)) for i in range(110))
        write_midi(Piece(notes), long / f"song{song}.mid")
    args = ["--data", str(long), "--epochs", "1", "--units", "4,4,4", "--steps", "4"]
    results = load("skuli_baseline").main([*args, "--out", str(tmp_path / "skuli")])
    assert results["vocab"] > 2 and results["loss"] > 0
    args = ["--data", str(midi_folder), "--limit", "3", "--epochs", "1", "--units", "8"]
    rows = load("sequence_lengths").main([*args, "--seq-lens", "5", "--out", str(tmp_path)])
    assert list(rows) == [5]

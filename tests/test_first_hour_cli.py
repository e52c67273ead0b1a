"""Two first-hour details: the seed a generation drew, and folders with pictures beside MIDI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import mido

from musegen.cli import main
from musegen.datasets import path as dataset_path


def _notes(file: Path) -> list[tuple[int, int, int, int]]:
    """(absolute tick, track, note, velocity) of each note-on, read by mido (not musegen)."""
    notes = []
    for number, track in enumerate(mido.MidiFile(file).tracks):
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                notes.append((tick, number, message.note, message.velocity))
    return sorted(notes)


def test_generate_prints_the_seed_it_drew_and_the_seed_repeats_the_take(tmp_path, capsys) -> None:
    first = tmp_path / "x.mid"
    assert main(["generate", "musegen:folk", "--bars", "2", "--out", str(first)]) == 0
    out = capsys.readouterr().out
    found = re.findall(
        r"^seed (\d+) \(rerun with --seed (\d+) to hear this take again\)$", out, re.M
    )
    assert len(found) == 1 and found[0][0] == found[0][1], out
    again = tmp_path / "y.mid"
    assert main(["generate", "musegen:folk", "--bars", "2", "--seed", found[0][0],
                 "--out", str(again)]) == 0  # fmt: skip
    assert "rerun with --seed" not in capsys.readouterr().out  # given: not said back
    assert _notes(first) and _notes(again) == _notes(first)


def _folder(tmp_path: Path) -> Path:
    """Two MIDI files with a picture and a sound beside them, as the first hour leaves them."""
    folder = tmp_path / "runs"
    folder.mkdir()
    for name in ("8.mid", "AT.mid"):
        shutil.copy(dataset_path("skuli") / name, folder / name)
    (folder / "8.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (folder / "8.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVE")
    return folder


def test_evaluate_passes_over_pictures_and_sounds_in_a_folder(tmp_path, capsys) -> None:
    folder = _folder(tmp_path)
    assert main(["evaluate", str(folder), "--reference", str(folder)]) == 0
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert "skipped" not in both.replace("(0 skipped)", "").replace("0 files skipped", ""), both
    assert "not a music file" not in both
    assert "passed over 2 files that are not music (.png, .wav)" in captured.err
    assert "2 generated pieces (0 skipped)" in captured.out


def test_a_file_named_that_is_not_music_still_gets_its_line(tmp_path, capsys) -> None:
    folder = _folder(tmp_path)
    assert main(["evaluate", str(folder / "8.mid"), str(folder / "8.png"),
                 "--reference", str(folder)]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert len(re.findall(r"skipped .*8\.png", err)) == 1, err
    assert f"skipped {folder / '8.png'}: not a music file musegen reads (reads .mid" in err
    assert "corrupt" not in err  # a picture is not damaged music

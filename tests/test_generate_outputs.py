"""``musegen generate``'s outputs: a readable title, stale companions, --include-prime,
--program and --velocity (files read back with mido, not with musegen)."""

from __future__ import annotations

import os
from pathlib import Path

import mido
import pytest

from musegen.cli import main
from musegen.generation import samplers
from musegen.generation.compose import _describe


def _notes(file: Path) -> list[tuple[float, int, int]]:
    """(onset in quarter notes, pitch, velocity) of each note, sorted, as mido reads the file."""
    midi = mido.MidiFile(file)
    found = []
    for track in midi.tracks:
        tick = 0
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                found.append((round(tick / midi.ticks_per_beat, 4), message.note, message.velocity))
    return sorted(found)


def _programs(file: Path) -> list[int]:
    return [m.program for t in mido.MidiFile(file).tracks for m in t if m.type == "program_change"]


@pytest.mark.parametrize(
    ("sampler", "expected"),
    [
        (samplers.get("argmax"), "greedy"),
        (samplers.get("greedy", temperature=2.0), "greedy"),
        (samplers.get("categorical"), "plain sampling"),
        (samplers.get("top_k", k=7), "top-k 7"),
        (samplers.get("top_p", p=0.9), "top-p 0.9"),
        (samplers.get("top_p", p=0.9, temperature=1.3), "top-p 0.9, temperature 1.3"),
        (samplers.get("categorical", temperature=0.5), "plain sampling, temperature 0.5"),
    ],
)
def test_every_sampler_is_described_without_class_names_or_defaults(sampler, expected) -> None:
    said = _describe(sampler)
    assert said == expected
    assert "Sampler" not in said and "=" not in said and "(" not in said


def test_the_piano_roll_title_reads_as_words(tmp_path, monkeypatch, capsys) -> None:
    from musegen.evaluation import plots

    titles: list[str] = []
    drawn = plots.piano_roll

    def spy(piece, *args, **kwargs):
        titles.append(kwargs["title"])
        return drawn(piece, *args, **kwargs)

    monkeypatch.setattr(plots, "piano_roll", spy)
    out = tmp_path / "c.mid"
    args = ["generate", "musegen:chorales", "--bars", "1", "--seed", "1", "--png"]
    assert main([*args, "--out", str(out)]) == 0
    assert main([*args, "--beam", "2", "--out", str(out)]) == 0
    assert main([*args, "--sampler", "top_k", "--k", "5", "--temperature", "1.5",
                 "--views", "0", "--out", str(out)]) == 0  # fmt: skip
    assert titles[0].startswith("c.mid · top-p ") and titles[0].endswith(", read in 7 keys")
    assert titles[1] == "c.mid · beam search, width 2, read in 7 keys"
    assert titles[2] == "c.mid · top-k 5, temperature 1.5"
    assert not [t for t in titles if "Sampler" in t or "temperature=" in t]


def test_a_replaced_midi_files_stale_companions_are_removed(tmp_path, capsys) -> None:
    out = tmp_path / "x.mid"
    stale = {s: tmp_path / f"x{s}" for s in (".png", ".wav", ".musicxml")}
    others = [tmp_path / "x.txt", tmp_path / "x-1.png", tmp_path / "y.png"]
    for path in [*stale.values(), *others]:
        path.write_bytes(b"old")
    args = ["generate", "musegen:folk", "--bars", "1", "--seed", "1", "--out", str(out)]
    assert main(args) == 0  # no MIDI file before: nothing is removed
    first = capsys.readouterr().out
    assert "removed" not in first
    assert all(path.read_bytes() == b"old" for path in [*stale.values(), *others])
    written = out.stat().st_mtime
    for path in [*stale.values(), *others]:  # as if written with x.mid, a second after it
        os.utime(path, (written + 1, written + 1))
    assert main([*args, "--png"]) == 0  # replaces x.mid: x.png is drawn again, the rest is stale
    said = capsys.readouterr().out
    lines = [line for line in said.splitlines() if line.startswith("removed")]
    assert lines == [f"removed {stale['.wav']}, {stale['.musicxml']}: drawn for the piece this "
                     "run replaced"]  # fmt: skip
    assert stale[".png"].read_bytes().startswith(b"\x89PNG")
    assert not stale[".wav"].exists() and not stale[".musicxml"].exists()
    assert all(path.read_bytes() == b"old" for path in others)
    assert main(args) == 0  # now x.png is stale too
    assert f"removed {stale['.png']}: drawn for" in capsys.readouterr().out
    assert not stale[".png"].exists()


def test_a_file_of_a_companions_name_that_generate_did_not_write_is_kept(tmp_path, capsys) -> None:
    """A picture the user made later, or the score read as --prime, is not a stale companion."""
    music21 = pytest.importorskip("music21")
    out = tmp_path / "song.mid"
    args = ["generate", "musegen:folk", "--bars", "1", "--seed", "1", "--out", str(out)]
    assert main(args) == 0
    mine = out.with_suffix(".png")
    mine.write_bytes(b"my own drawing")
    later = out.stat().st_mtime + 3600  # an hour after the MIDI file
    os.utime(mine, (later, later))
    score = out.with_suffix(".musicxml")
    music21.corpus.parse("bach/bwv66.6").write("musicxml", fp=str(score))
    os.utime(score, (out.stat().st_mtime, out.stat().st_mtime))  # even written with it
    capsys.readouterr()
    assert main([*args, "--prime", str(score)]) == 0
    assert "removed" not in capsys.readouterr().out
    assert mine.read_bytes() == b"my own drawing" and score.is_file()


def test_out_over_the_prime_is_refused_before_anything_is_written(tmp_path, capsys) -> None:
    music21 = pytest.importorskip("music21")
    prime = tmp_path / "mine.mid"
    music21.corpus.parse("bach/bwv66.6").write("midi", fp=str(prime))
    before = prime.read_bytes()
    args = ["generate", "musegen:chorales", "--bars", "1", "--prime", str(prime)]
    assert main([*args, "--out", str(prime)]) == 2
    assert "--out would write over the --prime file" in capsys.readouterr().err
    numbered = tmp_path / "mine-1.mid"
    numbered.write_bytes(before)
    assert main([*args, "--prime", str(numbered), "--num", "2", "--out", str(prime)]) == 2
    assert prime.read_bytes() == before and numbered.read_bytes() == before


def test_include_prime_writes_the_prime_then_the_continuation(tmp_path, capsys) -> None:
    music21 = pytest.importorskip("music21")
    prime = tmp_path / "bwv66.6.mid"
    music21.corpus.parse("bach/bwv66.6").write("midi", fp=str(prime))
    given = _notes(prime)
    prime_end = 36.0  # the chorale's 9 bars of 4/4, as music21 writes them
    assert max(onset for onset, _, _ in given) < prime_end
    out, alone = tmp_path / "with.mid", tmp_path / "alone.mid"
    args = ["generate", "musegen:chorales", "--bars", "2", "--seed", "3", "--prime", str(prime)]
    assert main([*args, "--include-prime", "--out", str(out)]) == 0
    assert "written after the prime, 36 quarter notes of it first" in capsys.readouterr().out
    assert main([*args, "--out", str(alone)]) == 0  # without the flag: as before
    written, new = _notes(out), _notes(alone)
    # pitches, onsets, velocities; two voices on one pitch at once are one note of a piece
    assert sorted(set(n for n in written if n[0] < prime_end)) == sorted(set(given))
    after = [(onset - prime_end, pitch, velocity) for onset, pitch, velocity in written
             if onset >= prime_end]  # fmt: skip
    assert after == new and new and new[0][0] == 0.0


def test_program_and_velocity_of_a_single_track_piece(tmp_path, capsys) -> None:
    out = tmp_path / "v.mid"
    args = ["generate", "musegen:folk", "--bars", "2", "--seed", "1", "--out", str(out)]
    assert main(args) == 0
    assert _programs(out) in ([], [0]) and {v for _, _, v in _notes(out)} == {64}
    assert main([*args, "--program", "violin", "--velocity", "100"]) == 0
    assert _programs(out) == [40] and {v for _, _, v in _notes(out)} == {100}
    assert main([*args, "--program", "73"]) == 0
    assert _programs(out) == [73]


def test_program_is_refused_for_a_band_and_bad_values_at_parse_time(tmp_path, capsys) -> None:
    out = tmp_path / "q.mid"
    assert main(["generate", "musegen:quartets", "--bars", "1", "--program", "40",
                 "--out", str(out)]) == 2  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].endswith(
        "--program sets a single-track piece's instrument; a band's tracks keep theirs"
    )
    assert not out.exists()
    for option, value in (("--program", "128"), ("--program", "kazoo"), ("--velocity", "0"),
                          ("--velocity", "128"), ("--velocity", "loud")):  # fmt: skip
        with pytest.raises(SystemExit) as stop:
            main(["generate", "musegen:folk", option, value])
        assert stop.value.code == 2
        error = capsys.readouterr().err.strip().splitlines()
        assert error[-1].startswith(f"musegen generate: error: argument {option}: takes ")

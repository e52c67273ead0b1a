"""Bad MIDI input: every file gives a valid `Piece` or a `MidiReadError` naming it, never a hang.

The corpus is built here from raw bytes, so each defect is exactly the one named.
Every read runs under a time limit (SIGALRM), so a hang fails the test instead
of stalling the run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _midi_bytes import midi, note, time_limit

from musegen.cli import main
from musegen.events import Piece
from musegen.io.corpus import load_corpus
from musegen.io.reading import MidiReadError, read_midi
from musegen.tokens.tokenizer import Tokenizer

LIMIT_S = 30


# -- raw MIDI bytes --------------------------------------------------------------------------


GOOD = midi([note(60) + note(64)])
LONG = midi([[event for i in range(24) for event in note(60 + i % 12)]])

# name -> bytes; "expected" below says what each must give
BAD_BYTES: dict[str, bytes] = {
    "zero_bytes.mid": b"",
    "header_only.mid": midi([]),
    "text.mid": b"these are not the notes you are looking for\n",
    "truncated.mid": LONG[: len(LONG) // 2],
    "drums_only.mid": midi([note(36, channel=9) + note(38, channel=9)]),
    "zero_velocity.mid": midi([[(0, (0x90, 60, 0)), (480, (0x90, 64, 0))]]),
    "no_notes.mid": midi([[(0, (0xFF, 0x51, 3, 0x07, 0xA1, 0x20))]]),  # a tempo, nothing else
    "huge_delta.mid": midi([note(60) + note(62, delta=0x0FFFFFFF)]),  # the largest delta MIDI holds
    "format_2.mid": midi([note(60)], fmt=2),
    "zero_division.mid": midi([note(60)], division=0),
    "bad_time_signature.mid": midi([[(0, (0xFF, 0x58, 4, 0, 0xFF, 24, 8)), *note(60)]]),
    "garbage_track.mid": GOOD[:14] + b"MTrk" + (16).to_bytes(4, "big") + bytes(range(200, 216)),
    "notes_never_end.mid": midi([[(0, (0x90, 60, 80)), (480, (0x90, 64, 80))]]),
}
TEMPO_ZERO = midi([[(0, (0xFF, 0x51, 3, 0, 0, 0)), *note(60)]])  # skipped: the note is read
OVERLAP = midi(
    [[(0, (0x90, 60, 80)), (240, (0x90, 60, 80)), (240, (0x80, 60, 0)), (240, (0x80, 60, 0))]]
)

# name -> (regex the MidiReadError reason must match) or None (a Piece without notes)
EXPECTED: dict[str, str | None] = {
    "zero_bytes.mid": r"^empty file$",
    "header_only.mid": r"corrupt or unsupported MIDI data \(no tracks",
    "text.mid": r"not a MIDI file",
    "truncated.mid": r"^truncated: a chunk at byte 14 declares \d+ bytes, \d+ remain$",
    "drums_only.mid": None,
    "zero_velocity.mid": None,
    "no_notes.mid": None,
    "huge_delta.mid": r"a track lasts 55924[0-9] quarter notes, more than the 10000",
    "format_2.mid": r"MIDI format 2 is not supported",
    "zero_division.mid": r"0 ticks per quarter note",
    "bad_time_signature.mid": r"corrupt or unsupported MIDI data",
    "garbage_track.mid": r"corrupt or unsupported MIDI data",
    "notes_never_end.mid": None,
}


def read_guarded(path: Path) -> Piece | MidiReadError:
    """`read_midi` under the time limit; a MidiReadError is returned, anything else raised."""
    with time_limit(LIMIT_S):
        try:
            return read_midi(path)
        except MidiReadError as err:
            return err


def assert_valid(piece: Piece, path: Path) -> None:
    assert piece.source == path.name
    assert piece.tempo > 0
    offsets = [e.offset for e in piece.events]
    assert offsets == sorted(offsets)
    assert all(e.offset >= 0 and e.duration >= 0 for e in piece.events)
    assert all(0 <= p <= 127 for e in piece.events for p in e.pitches)
    assert all(1 <= e.velocity <= 127 for e in piece.notes)
    Tokenizer.seed().decode(Tokenizer.seed().encode(piece))  # and it tokenizes


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    for name, data in BAD_BYTES.items():
        (folder / name).write_bytes(data)
    (folder / "good.mid").write_bytes(GOOD)
    (folder / "overlap.mid").write_bytes(OVERLAP)
    (folder / "tempo_zero.mid").write_bytes(TEMPO_ZERO)
    return folder


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_file_gives_a_piece_or_a_named_error(bad_folder: Path, name: str) -> None:
    path = bad_folder / name
    result = read_guarded(path)
    expected = EXPECTED[name]
    if expected is None:
        assert isinstance(result, Piece), result
        assert_valid(result, path)
        assert result.notes == ()
    else:
        assert isinstance(result, MidiReadError), result
        assert result.path == str(path)
        assert name in str(result)
        assert re.search(expected, result.reason), result.reason


def test_overlapping_same_pitch_notes_give_two_events(bad_folder: Path) -> None:
    piece = read_guarded(bad_folder / "overlap.mid")
    assert isinstance(piece, Piece)
    assert_valid(piece, bad_folder / "overlap.mid")
    assert [(e.offset, e.pitches) for e in piece.notes] == [(0.0, (60,)), (0.5, (60,))]


def test_three_hundred_tracks_merge_into_one_piece(tmp_path: Path) -> None:
    path = tmp_path / "many_tracks.mid"
    path.write_bytes(midi([note(60 + i % 12) for i in range(300)]))
    piece = read_guarded(path)
    assert isinstance(piece, Piece)
    assert_valid(piece, path)
    assert [(e.offset, e.duration, e.pitches) for e in piece.events] == [
        (0.0, 1.0, tuple(range(60, 72)))
    ]


def test_a_directory_named_like_a_midi_file(tmp_path: Path) -> None:
    folder = tmp_path / "x.mid"
    folder.mkdir()
    (folder / "inside.mid").write_bytes(GOOD)
    result = read_guarded(folder)
    assert isinstance(result, MidiReadError)
    assert result.reason == "cannot open (Is a directory)"
    # searching a folder skips the directory itself but reads the files inside it
    corpus = load_corpus(tmp_path, progress=False)
    assert [p.source for p in corpus.pieces] == ["inside.mid"] and corpus.failures == []
    # named explicitly, it is reported
    corpus = load_corpus([folder], progress=False)
    assert [(f.path, f.reason) for f in corpus.failures] == [
        (str(folder), "cannot open (Is a directory)")
    ]


def test_a_file_without_read_permission(tmp_path: Path) -> None:
    path = tmp_path / "locked.mid"
    path.write_bytes(GOOD)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root (or similar): the file stays readable")
        result = read_guarded(path)
        assert isinstance(result, MidiReadError)
        assert result.reason == "cannot open (Permission denied)"
    finally:
        path.chmod(0o644)


def test_a_missing_file(tmp_path: Path) -> None:
    result = read_guarded(tmp_path / "gone.mid")
    assert isinstance(result, MidiReadError) and result.reason == "no such file"


def test_load_corpus_skips_and_reports_each_bad_file(bad_folder: Path) -> None:
    with time_limit(LIMIT_S * 2):
        corpus = load_corpus(bad_folder, progress=False)
    assert sorted(p.source for p in corpus.pieces) == ["good.mid", "overlap.mid", "tempo_zero.mid"]
    reasons = {Path(f.path).name: f.reason for f in corpus.failures}
    assert sorted(reasons) == sorted(EXPECTED)
    for name, expected in EXPECTED.items():
        assert re.search(expected or r"^no pitched notes", reasons[name]), (name, reasons[name])


def test_the_command_line_lists_each_skipped_file_and_exits_0(
    bad_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with time_limit(LIMIT_S * 2):
        status = main(["tokenize", str(bad_folder), "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
    skipped = [line for line in out.splitlines() if line.startswith("  skipped ")]
    assert len(skipped) == len(EXPECTED)
    for name in EXPECTED:
        (line,) = [s for s in skipped if f"{os.sep}{name}: " in s]
        assert line.startswith(f"  skipped {bad_folder / name}: ")
    assert f"3 pieces, 5 events, {len(EXPECTED)} files skipped" in out


def test_the_installed_command_exits_1_when_no_file_is_good(tmp_path: Path) -> None:
    (tmp_path / "text.mid").write_bytes(BAD_BYTES["text.mid"])
    (tmp_path / "zero.mid").write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "-m", "musegen.cli", "tokenize", str(tmp_path), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert f"skipped {tmp_path / 'text.mid'}: not a MIDI file" in done.stdout
    assert f"skipped {tmp_path / 'zero.mid'}: empty file" in done.stdout
    assert "musegen: no pieces" in done.stderr
    assert "Traceback" not in done.stderr

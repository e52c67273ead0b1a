"""Named datasets: the repository's copy, and the download checked by SHA-256 (a local server)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from musegen import datasets
from musegen.cli import main

ROOT = Path(__file__).resolve().parents[1]
FILES = ROOT / "data" / "skuli-midi"


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The recipe's repository layout (``midi_songs/*.mid``, ``LICENSE``) on a localhost server."""
    served = tmp_path / "served"
    (served / "midi_songs").mkdir(parents=True)
    for file in FILES.glob("*.mid"):
        shutil.copy(file, served / "midi_songs" / file.name)
    shutil.copy(FILES / "LICENSE", served / "LICENSE")
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", served
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_the_checksum_list_matches_the_repository_copy() -> None:
    files = datasets.DATASETS["skuli"].files
    assert len(files) == 93 and sum(name.endswith(".mid") for name in files) == 92
    for name, (_, digest) in files.items():
        assert datasets._sha256((FILES / name).read_bytes()) == digest, name


def test_a_clone_finds_the_repository_copy() -> None:
    assert datasets.path("skuli") == FILES


def test_download_fetches_every_file_and_then_path_finds_it(
    mirror: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = mirror
    monkeypatch.setattr(datasets, "_REPOSITORY", tmp_path / "no-clone")
    monkeypatch.setenv("MUSEGEN_DATA", str(tmp_path / "cache"))
    with pytest.raises(datasets.DatasetNotFoundError, match="musegen download skuli"):
        datasets.path("skuli")
    folder = datasets.download("skuli", url=url, progress=False)
    assert folder == tmp_path / "cache" / "skuli-midi"
    assert sorted(p.name for p in folder.iterdir()) == sorted(datasets.DATASETS["skuli"].files)
    assert (folder / "Zelda_Overworld.mid").read_bytes() == (
        FILES / "Zelda_Overworld.mid"
    ).read_bytes()
    assert datasets.path("skuli") == folder


def test_a_corrupt_file_is_refused_and_nothing_bad_is_left(
    mirror: tuple[str, Path], tmp_path: Path
) -> None:
    url, served = mirror
    (served / "midi_songs" / "8.mid").write_bytes(b"MThd not really")
    with pytest.raises(ValueError, match=r"8\.mid from .*8\.mid has SHA-256 .* expected"):
        datasets.download("skuli", tmp_path / "to", url=url, progress=False)
    folder = tmp_path / "to" / "skuli-midi"
    assert not (folder / "8.mid").exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary left
    # The files before it were kept, and a second try fetches only what is missing.
    (served / "midi_songs" / "8.mid").write_bytes((FILES / "8.mid").read_bytes())
    kept = folder / "0fithos.mid"
    kept_time = kept.stat().st_mtime_ns
    datasets.download("skuli", tmp_path / "to", url=url, progress=False)
    assert kept.stat().st_mtime_ns == kept_time
    assert (folder / "8.mid").read_bytes() == (FILES / "8.mid").read_bytes()


def test_the_command_downloads_and_names_an_unreachable_mirror(
    mirror: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = mirror
    assert main(["download", "skuli", "--to", str(tmp_path), "--url", url]) == 0
    assert "musegen:skuli: 93 files in" in capsys.readouterr().out
    assert main(["download", "skuli", "--to", str(tmp_path / "x"), "--url", url + "gone/"]) == 1
    assert "could not fetch " + url + "gone/" in capsys.readouterr().err


def test_an_unknown_dataset_names_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown dataset 'nope'; musegen knows: \['bl12', 'skuli'\]"
    ):
        datasets.path("nope")

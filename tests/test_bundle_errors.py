"""A damaged bundle is one clear error naming the bundle and the file (issue 35, item 9).

Each case copies a real bundle (a tiny model saved by `save_bundle`), damages
one file, and loads it: `load_bundle` raises one `BundleError` of one line
naming the bundle's folder and the file, and ``musegen generate`` exits 1
with that line, no traceback. A bundle saved by a newer musegen loads with one
`BundleWarning` line.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import pytest

from musegen.cli import main
from musegen.tokens.tokenizer import Tokenizer
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.bundle import BundleError, BundleWarning, load_bundle, save_bundle
from musegen.training.model import build_lstm


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    vocab = Vocabulary(["C4", "D4", "E4", "rest"])
    keras.utils.set_random_seed(0)
    model = build_lstm(
        len(vocab), units=(8,), embedding_dim=4, dense_units=None, return_sequences=True
    )
    return save_bundle(tmp_path_factory.mktemp("saved") / "bundle", model, Tokenizer(), vocab)


def _edit(name: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        document = json.loads((folder / name).read_text())
        change(document)
        (folder / name).write_text(json.dumps(document))

    return edit


def _truncate(folder: Path) -> None:
    data = (folder / "model.keras").read_bytes()
    (folder / "model.keras").write_bytes(data[: len(data) // 2])


DAMAGE: dict[str, tuple[str, Callable[[Path], object]]] = {
    "tokenizer not JSON": ("tokenizer.json", lambda f: (f / "tokenizer.json").write_text("{oops")),
    "tokenizer not UTF-8": (
        "tokenizer.json",
        lambda f: (f / "tokenizer.json").write_bytes(b"\xff"),
    ),
    "tokenizer unknown option": (
        "tokenizer.json",
        _edit("tokenizer.json", lambda d: d["config"].update(colour="red")),
    ),
    "tokenizer durations not a table": (
        "tokenizer.json",
        _edit("tokenizer.json", lambda d: d["config"].update(durations={"edges": 1})),
    ),
    "tokenizer velocities not numbers": (
        "tokenizer.json",
        _edit("tokenizer.json", lambda d: d["config"].update(velocities={"levels": "abc"})),
    ),
    "tokenizer class unknown": (
        "tokenizer.json",
        _edit("tokenizer.json", lambda d: d.update({"class": "Nope"})),
    ),
    "vocabulary tokens not a list": (
        "vocabulary.json",
        _edit("vocabulary.json", lambda d: d.update(config={"tokens": 5})),
    ),
    "metadata deeply nested": (
        "metadata.json",
        lambda f: (f / "metadata.json").write_text("[" * 100_000 + "]" * 100_000),
    ),
    "format version a string": (
        "metadata.json",
        _edit("metadata.json", lambda d: d.update(format_version="1")),
    ),
    "format version 0": (
        "metadata.json",
        _edit("metadata.json", lambda d: d.update(format_version=0)),
    ),
    "format version true": (
        "metadata.json",
        _edit("metadata.json", lambda d: d.update(format_version=True)),
    ),
    "tokenizer format version 0": (
        "tokenizer.json",
        _edit("tokenizer.json", lambda d: d.update(format_version=0)),
    ),
    "model truncated": ("model.keras", _truncate),
    "model empty": ("model.keras", lambda f: (f / "model.keras").write_bytes(b"")),
}


def _damaged(saved: Path, tmp_path: Path, case: str) -> tuple[Path, str]:
    folder = Path(shutil.copytree(saved, tmp_path / "damaged"))
    name, damage = DAMAGE[case]
    damage(folder)
    return folder, name


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_bundle_is_one_error_naming_the_bundle_and_the_file(case, saved, tmp_path):
    folder, name = _damaged(saved, tmp_path, case)
    with pytest.raises(BundleError) as caught:
        load_bundle(folder)
    message = str(caught.value)
    assert str(folder / name) in message, message
    assert "\n" not in message and "newer" not in message and "File not found" not in message


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("format version a string", r"format version '1' is not a version musegen writes"),
        ("format version 0", r"format version 0 is not a version musegen writes"),
        (
            "model truncated",
            r"model\.keras: cannot load the model: not a complete \.keras archive .*truncated",
        ),
        ("tokenizer unknown option", r"tokenizer\.json: not a tokenizer .*'colour'"),
    ],
)
def test_the_error_says_what_is_wrong(case, says, saved, tmp_path):
    folder, _ = _damaged(saved, tmp_path, case)
    with pytest.raises(BundleError, match=says):
        load_bundle(folder)


@pytest.mark.parametrize(
    "case",
    ["tokenizer unknown option", "format version a string", "format version 0", "model truncated"],
)
def test_musegen_generate_exits_1_with_one_line(case, saved, tmp_path, capsys):
    folder, name = _damaged(saved, tmp_path, case)
    capsys.readouterr()
    status = main(["generate", str(folder), "--steps", "4", "--out", str(tmp_path / "x.mid")])
    err = capsys.readouterr().err
    assert status == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("musegen: "), err
    assert str(folder / name) in lines[0] and "Traceback" not in err
    assert not (tmp_path / "x.mid").exists()


def _saved_by(version: str) -> Callable[[dict], None]:
    def change(document: dict) -> None:
        document["musegen_version"] = version
        document["config"]["musegen_version"] = version

    return change


@pytest.mark.parametrize("version", ["99.0", "0.2.0", "1.0.0rc1"])
def test_a_bundle_from_a_newer_musegen_loads_with_one_warning_line(version, saved, tmp_path):
    folder = Path(shutil.copytree(saved, tmp_path / "newer"))
    _edit("metadata.json", _saved_by(version))(folder)
    with pytest.warns(BundleWarning) as caught:
        bundle = load_bundle(folder)
    assert bundle.metadata["musegen_version"] == version
    assert len(caught) == 1
    message = str(caught[0].message)
    assert str(folder) in message and f"musegen {version}" in message and "\n" not in message


@pytest.mark.parametrize("version", ["0.1.0", "0.1.7", "0.0.9", "unknown", "x"])
def test_a_bundle_from_this_or_an_older_musegen_loads_quietly(version, saved, tmp_path):
    folder = Path(shutil.copytree(saved, tmp_path / "older"))
    _edit("metadata.json", _saved_by(version))(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BundleWarning)
        assert load_bundle(folder).metadata["musegen_version"] == version


def test_the_cli_shows_a_bundle_warning_in_one_line(capsys):
    from musegen.cli import _common

    _common.show_warning(BundleWarning("b: saved by musegen 99.0"), BundleWarning, "x.py", 1)
    assert capsys.readouterr().err == "musegen: warning: b: saved by musegen 99.0\n"


def test_the_shipped_bundles_load_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error", BundleWarning)
        assert len(load_bundle("musegen:folk").vocabulary) > 4

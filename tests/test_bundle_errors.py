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
from musegen.training.bundle import (
    BundleError,
    BundleWarning,
    load_bundle,
    save_bundle,
    shipped_bundles,
)
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


# -- values a bundle's documents hold (issue 35, review of s05_bundles) ---------------------------


@pytest.fixture(scope="module")
def shipped() -> Path:
    return shipped_bundles()["chorales"]


def _set(name: str, path: tuple[str, ...], value: object) -> Callable[[Path], None]:
    def change(document: dict) -> None:
        for key in path[:-1]:
            document = document[key]
        document[path[-1]] = value

    return _edit(name, change)


def _nan_duration(folder: Path) -> None:
    text = (folder / "tokenizer.json").read_text()
    (folder / "tokenizer.json").write_text(text.replace("0.25", "NaN", 1))


VALUES: dict[str, tuple[str, str, Callable[[Path], object]]] = {
    # case: (file at fault, field the message names, damage)
    "prime id past the vocabulary": (
        "metadata.json",
        "config.prime",
        _set("metadata.json", ("config", "prime"), [9999, 1]),
    ),
    "prime id negative": (
        "metadata.json",
        "config.prime",
        _set("metadata.json", ("config", "prime"), [-1, 2]),
    ),
    "prime a string": (
        "metadata.json",
        "config.prime",
        _set("metadata.json", ("config", "prime"), "abc"),
    ),
    "prime ids not whole": (
        "metadata.json",
        "config.prime",
        _set("metadata.json", ("config", "prime"), [2, 3.5]),
    ),
    "prime id true": (
        "metadata.json",
        "config.prime",
        _set("metadata.json", ("config", "prime"), [True, 2]),
    ),
    "sampler unknown": (
        "metadata.json",
        "config.generation",
        _set("metadata.json", ("config", "generation"), {"name": "bogus"}),
    ),
    "sampler p 5": (
        "metadata.json",
        "config.generation",
        _set("metadata.json", ("config", "generation"), {"name": "top_p", "p": 5}),
    ),
    "sampler temperature 0": (
        "metadata.json",
        "config.generation",
        _set(
            "metadata.json",
            ("config", "generation"),
            {"name": "top_p", "temperature": 0, "p": 0.8},
        ),
    ),
    "sampler a string": (
        "metadata.json",
        "config.generation",
        _set("metadata.json", ("config", "generation"), "top_p"),
    ),
    "sampler unknown option": (
        "metadata.json",
        "config.generation",
        _set("metadata.json", ("config", "generation"), {"name": "top_p", "q": 1}),
    ),
    "training a string": (
        "metadata.json",
        "config.training",
        _set("metadata.json", ("config", "training"), "x"),
    ),
    "views a string": (
        "metadata.json",
        "config.training.views",
        _set("metadata.json", ("config", "training", "views"), "x"),
    ),
    "views too many": (
        "metadata.json",
        "config.training.views",
        _set("metadata.json", ("config", "training", "views"), 40),
    ),
    "views negative": (
        "metadata.json",
        "config.training.views",
        _set("metadata.json", ("config", "training", "views"), -2),
    ),
    "normalize_keys a string": (
        "metadata.json",
        "config.training.normalize_keys",
        _set("metadata.json", ("config", "training", "normalize_keys"), "no"),
    ),
    "release a number": (
        "metadata.json",
        "musegen_version",
        _set("metadata.json", ("musegen_version",), 5),
    ),
    "release in config a number": (
        "metadata.json",
        "config.musegen_version",
        _set("metadata.json", ("config", "musegen_version"), 5),
    ),
    "duration value NaN": ("tokenizer.json", "config.durations.values", _nan_duration),
    "duration edge infinite": (
        "tokenizer.json",
        "config.durations.edges",
        _set(
            "tokenizer.json",
            ("config", "durations", "edges"),
            [0.375, 0.625, 0.875, 1.25, 1.75, 2.5, 1e400],
        ),
    ),
    "default duration NaN": (
        "tokenizer.json",
        "config.default_duration",
        _set("tokenizer.json", ("config", "default_duration"), float("nan")),
    ),
    "default velocity 300": (
        "tokenizer.json",
        "config.default_velocity",
        _set("tokenizer.json", ("config", "default_velocity"), 300),
    ),
    "default velocity not whole": (
        "tokenizer.json",
        "config.default_velocity",
        _set("tokenizer.json", ("config", "default_velocity"), 64.5),
    ),
    "holds a string": (
        "tokenizer.json",
        "config.holds",
        _set("tokenizer.json", ("config", "holds"), "no"),
    ),
    "high_first a number": (
        "tokenizer.json",
        "config.high_first",
        _set("tokenizer.json", ("config", "high_first"), 1),
    ),
}


BUILT = {"sampler unknown", "sampler p 5", "sampler temperature 0", "sampler unknown option"}
"""Sampler records of the right shape that no sampler builds: refused where one is built."""


def _load_and_build(folder: Path, case: str) -> None:
    """Load the bundle; for a sampler record, build its sampler as generation does."""
    from musegen.generation.compose import _stored_sampler

    bundle = load_bundle(folder)
    if case in BUILT:
        _stored_sampler(bundle, folder / "metadata.json")


def _valued(shipped: Path, tmp_path: Path, case: str) -> tuple[Path, str, str]:
    folder = Path(shutil.copytree(shipped, tmp_path / "damaged"))
    name, named, damage = VALUES[case]
    damage(folder)
    return folder, name, named


@pytest.mark.parametrize("case", list(VALUES))
def test_a_bad_value_is_one_error_naming_the_file_and_the_field(case, shipped, tmp_path):
    folder, name, named = _valued(shipped, tmp_path, case)
    with pytest.raises(BundleError) as caught:
        _load_and_build(folder, case)
    message = str(caught.value)
    assert message.startswith(f"{folder / name}: {named} "), message
    assert "\n" not in message, message


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("prime id past the vocabulary", r"config\.prime takes .*0 to 75.* got \[9999, 1\]"),
        ("prime a string", r"config\.prime takes .* got 'abc'"),
        ("sampler unknown", r"config\.generation .*unknown sampler 'bogus'"),
        ("sampler p 5", r"config\.generation .*p must be in \(0, 1\], got 5"),
        ("sampler a string", r"config\.generation takes .* got 'top_p'"),
        ("views a string", r"config\.training\.views takes a whole number, 0 to 11, got 'x'"),
        ("release a number", r"musegen_version takes .* got 5"),
        ("duration value NaN", r"config\.durations\.values takes finite numbers, got \[nan"),
        (
            "default velocity 300",
            r"config\.default_velocity takes a whole number, 1 to 127, got 300",
        ),
        ("holds a string", r"config\.holds takes true or false, got 'no'"),
    ],
)
def test_the_error_says_what_the_field_takes(case, says, shipped, tmp_path):
    folder, _, _ = _valued(shipped, tmp_path, case)
    with pytest.raises(BundleError, match=says):
        _load_and_build(folder, case)


@pytest.mark.parametrize("case", list(VALUES))
def test_musegen_generate_exits_1_naming_the_field(case, shipped, tmp_path, capsys):
    folder, name, named = _valued(shipped, tmp_path, case)
    capsys.readouterr()
    status = main(["generate", str(folder), "--steps", "4", "--out", str(tmp_path / "x.mid")])
    err = capsys.readouterr().err
    assert status == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"musegen: {folder / name}: {named} "), err
    assert "Traceback" not in err
    assert not (tmp_path / "x.mid").exists()


SOUND = {
    "no prime": _edit("metadata.json", lambda d: d["config"].pop("prime")),
    "empty prime": _set("metadata.json", ("config", "prime"), []),
    "no sampler": _set("metadata.json", ("config", "generation"), None),
    "argmax sampler": _set("metadata.json", ("config", "generation"), {"name": "argmax"}),
    "no training record": _set("metadata.json", ("config", "training"), None),
    "views 2": _set("metadata.json", ("config", "training", "views"), 2),
    "normalized keys": _set("metadata.json", ("config", "training", "normalize_keys"), True),
    "no release": _edit("metadata.json", lambda d: d.pop("musegen_version")),
}


@pytest.mark.parametrize("case", list(SOUND))
def test_sound_values_still_load(case, shipped, tmp_path):
    folder = Path(shutil.copytree(shipped, tmp_path / "sound"))
    SOUND[case](folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BundleWarning)
        assert len(load_bundle(folder).vocabulary) == 76


@pytest.mark.parametrize("name", sorted(shipped_bundles()))
def test_every_shipped_bundle_loads_quietly(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", BundleWarning)
        bundle = load_bundle(f"musegen:{name}")
    assert len(bundle.vocabulary) == bundle.metadata["vocab_size"]

"""The wheel carries the library and what it may; its shipped bundles play from a fresh install."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import symusic
from _players import needs_fluidsynth

SHIPPED = ("chorales", "folk", "quartets")
CAN_PLAY = not needs_fluidsynth.args[0]  # FluidSynth and a soundfont are installed


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory, copy_repository) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    source = copy_repository(folder / "source")  # a build/ of an older tree would leak in
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(folder), str(source)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (built,) = folder.glob("musegen-*.whl")
    return built


def test_the_wheel_holds_every_module_and_no_midi_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    root = Path(__file__).resolve().parents[1]
    modules = {str(p.relative_to(root)) for p in (root / "musegen").rglob("*.py")}
    assert modules == {n for n in names if n.endswith(".py")}
    assert "musegen/data/skuli-midi.sha256" in names
    assert "musegen/data/jsb-chorales-quarter.json.gz" in names  # the JSB benchmark ships
    for name in SHIPPED:
        for file in ("model.keras", "tokenizer.json", "vocabulary.json", "metadata.json"):
            assert f"musegen/data/bundles/{name}/{file}" in names
    assert not [n for n in names if n.lower().endswith((".mid", ".midi"))]
    assert wheel.stat().st_size < 2_500_000  # the library, the JSB split and three bundles


def test_each_shipped_bundle_records_how_it_was_trained_and_scored() -> None:
    from musegen.training.bundle import shipped_bundles

    for name, folder in shipped_bundles().items():
        metadata = json.loads((folder / "metadata.json").read_text())["config"]
        record = metadata["record"]
        assert record["name"] == name and record["command"].startswith("python bench/bundles.py")
        assert metadata["training"]["source"].startswith("music21:")
        assert record["held_out_nll_per_quarter"] == metadata["held_out_nll_per_quarter"] > 0
        assert [c["check"] for c in record["checks"]] == [
            "polyphony", "scale", "js_pitch_class", "js_interval", "js_duration"
        ]  # fmt: skip
        assert (folder / "model.keras").stat().st_size < 1_000_000


def test_each_shipped_bundle_plays_from_a_fresh_install_of_the_wheel(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    (site,) = (venv / "lib").glob("python3*/site-packages")
    # the dependencies (TensorFlow, music21, ...) from this interpreter's site-packages, but
    # not its musegen: a path a .pth file adds has its own .pth files (an editable install) unread
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    where = subprocess.run(
        [str(python), "-c", "import musegen; print(musegen.__file__)"],
        cwd=tmp_path, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert Path(where).resolve().is_relative_to(venv.resolve()), where
    for name in SHIPPED:  # the chorales as the README says, the others shorter
        bars, extra = (
            (8, ["--png", "--wav"] if CAN_PLAY else ["--png"])
            if name == "chorales"
            else (2, ["--png", "--out", f"{name}.mid"])
        )
        done = subprocess.run(
            [str(venv / "bin" / "musegen"), "generate", f"musegen:{name}", "--bars", str(bars),
             "--seed", "0", *extra],
            cwd=tmp_path, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        score = symusic.Score(str(tmp_path / f"{name}.mid"))  # an independent reader
        notes = [n for t in score.tracks for n in t.notes]
        assert notes and max(n.time for n in notes) < bars * 4 * score.ticks_per_quarter
        assert max(n.time for n in notes) >= (bars - 1) * 4 * score.ticks_per_quarter
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
    assert len(symusic.Score(str(tmp_path / "quartets.mid")).tracks) >= 2  # a band
    if CAN_PLAY:
        assert (tmp_path / "chorales.wav").stat().st_size > 44_100  # more than a second

"""The wheel carries the library and what it may: no MIDI file of the original recipe."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path


def test_the_wheel_holds_every_module_and_no_midi_file(tmp_path: Path, copy_repository) -> None:
    source = copy_repository(tmp_path / "source")  # a build/ of an older tree would leak in
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("musegen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {str(p.relative_to(source)) for p in (source / "musegen").rglob("*.py")}
    assert modules == {n for n in names if n.endswith(".py")}
    assert "musegen/data/skuli-midi.sha256" in names
    assert "musegen/data/jsb-chorales-quarter.json.gz" in names  # the JSB benchmark ships
    assert not [n for n in names if n.lower().endswith((".mid", ".midi"))]
    assert wheel.stat().st_size < 300_000  # the library and the JSB split (44 kB): 266 kB

"""Skip marks for tests that need a program of the outside world (FluidSynth, MuseScore)."""

from __future__ import annotations

import shutil

import pytest

from musegen.io.audio import AudioError, find_soundfont


def _has_soundfont() -> bool:
    try:
        find_soundfont()
    except AudioError:
        return False
    return True


needs_fluidsynth = pytest.mark.skipif(
    shutil.which("fluidsynth") is None or not _has_soundfont(),
    reason="needs the fluidsynth program and a GM soundfont (apt-get install fluidsynth "
    "fluid-soundfont-gm)",
)

"""Shared fixtures: the original recipe's MIDI files, when the checkout has them beside it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SKULI_MIDI = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "skuli-midi"


@pytest.fixture(scope="session")
def skuli_midi() -> Path:
    """The folder ../shared/data/skuli-midi (relative to the repository root)."""
    if not SKULI_MIDI.is_dir():
        pytest.skip("../shared/data/skuli-midi is not beside this checkout")
    return SKULI_MIDI

"""musegen.show keeps a saved notebook small: the picture once, the audio mono at a low rate."""

from __future__ import annotations

import base64
import io
import wave

import pytest

pytest.importorskip("matplotlib", reason="the piano roll needs matplotlib")

from musegen.evaluation import display
from musegen.events import Event, Piece
from musegen.io import audio

PIECE = Piece(tuple(Event(i, 1, (60 + i % 12,)) for i in range(16)), source="x.mid")


def test_ipython_outputs_hold_the_picture_once() -> None:
    outputs = display.show(PIECE, audio=False).outputs()
    pictures = [o for o in outputs if "image/png" in o]
    assert len(pictures) == 1
    assert base64.b64decode(pictures[0]["image/png"])[:4] == b"\x89PNG"
    assert not [o for o in outputs if "<img" in o.get("text/html", "")]


@pytest.mark.skipif(not audio.shutil.which("fluidsynth"), reason="FluidSynth is not installed")
def test_the_audio_is_mono_at_the_low_rate() -> None:
    shown = display.show(PIECE)
    sound, why = shown.wav
    if sound is None:
        pytest.skip(why)
    with wave.open(io.BytesIO(sound)) as reader:
        assert (reader.getnchannels(), reader.getframerate()) == (1, display.AUDIO_RATE)
    html = shown.outputs()[-1]["text/html"]
    assert '<audio controls src="data:audio/wav;base64,' in html

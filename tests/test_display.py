"""musegen.show in a notebook: a piano roll, audio when FluidSynth is there, and no error without them."""

from __future__ import annotations

import base64
import sys

import pytest

from musegen.evaluation.display import show
from musegen.events import Event, Piece
from musegen.io import audio

PIECE = Piece(
    (Event(0, 1, (60, 64, 67)), Event(1, 1, (62,)), Event(2, 2, (59, 67))), source="x.mid"
)


def test_show_gives_html_png_and_text() -> None:
    bundle = show(PIECE, audio=False)._repr_mimebundle_()
    assert bundle["text/plain"] == "Piece: 3 events, 3 notes and chords, 4 quarter notes"
    assert base64.b64decode(bundle["image/png"])[:4] == b"\x89PNG"
    assert 'alt="piano roll"' in bundle["text/html"] and "<audio" not in bundle["text/html"]
    assert show(PIECE).title == "x.mid"


def test_show_without_fluidsynth_says_why(monkeypatch) -> None:
    def missing(*args, **kwargs):
        raise audio.AudioError("the 'fluidsynth' program was not found on PATH")

    monkeypatch.setattr(audio, "render_wav", missing)
    html = show(PIECE)._repr_html_()
    assert "<img" in html and "no audio: the &#x27;fluidsynth&#x27; program was not found" in html


def test_show_without_matplotlib_still_shows_text(monkeypatch) -> None:
    monkeypatch.setitem(
        sys.modules, "musegen.evaluation.plots", None
    )  # import fails as if not installed
    shown = show(PIECE, audio=False)
    assert shown.png is None and shown._repr_png_() is None
    assert "pip install 'musegen[plot]'" in shown._repr_html_()
    assert "image/png" not in shown._repr_mimebundle_()


@pytest.mark.skipif(not audio.shutil.which("fluidsynth"), reason="FluidSynth is not installed")
def test_show_with_fluidsynth_has_an_audio_player() -> None:
    html = show(PIECE)._repr_html_()
    assert '<audio controls src="data:audio/wav;base64,' in html

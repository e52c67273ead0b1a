"""`show`: a piece in a notebook, as a piano roll and an audio player.

``musegen.show(piece)`` as the last line of a Jupyter cell draws the piano roll
(matplotlib, the ``[plot]`` extra) and, when FluidSynth and a soundfont are
installed, adds an audio player. Without matplotlib it shows a line of text;
without FluidSynth, the piano roll and a line saying why there is no sound.
Nothing raises for a missing optional part.

Examples:
    >>> from musegen.events import Event, Piece
    >>> shown = show(Piece((Event(0, 1, (60, 64, 67)),)), audio=False)
    >>> shown
    Piece: 1 event, 1 note and chords, 1 quarter notes
    >>> "<img" in shown._repr_html_()
    True
"""

from __future__ import annotations

import base64
import html
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

from musegen._words import plural
from musegen.events import Piece

__all__ = ["PieceDisplay", "show"]


def show(piece: Piece, *, title: str | None = None, audio: bool = True) -> PieceDisplay:
    """What a notebook displays for `piece`: its piano roll and, if it can be rendered, audio.

    Args:
        piece: The piece.
        title: A title over the piano roll (default: the piece's source file).
        audio: Also render audio through FluidSynth, when it is installed.

    Examples:
        >>> from musegen.events import Event, Piece
        >>> show(Piece((Event(0, 2, (62,)),)), title="one D", audio=False).title
        'one D'
    """
    return PieceDisplay(piece, title=title if title is not None else piece.source, audio=audio)


class PieceDisplay:
    """A piece with the rich representations Jupyter looks for (HTML, PNG, plain text).

    Args:
        piece: The piece.
        title: A title over the piano roll.
        audio: Render audio through FluidSynth when it is installed.
    """

    def __init__(self, piece: Piece, *, title: str = "", audio: bool = True) -> None:
        self.piece = piece
        self.title = title
        self.audio = audio

    def __repr__(self) -> str:
        piece = self.piece
        return (
            f"Piece: {plural(len(piece.events), 'event')}, "
            f"{plural(len(piece.notes), 'note')} and chords, {piece.duration:g} quarter notes"
        )

    @cached_property
    def png(self) -> bytes | None:
        """The piano roll as PNG bytes, or None without matplotlib."""
        try:
            from musegen.evaluation.plots import piano_roll, save_png
        except ImportError:
            return None
        with tempfile.TemporaryDirectory() as folder:
            figure = piano_roll(self.piece, title=self.title or None)
            return save_png(figure, Path(folder) / "p.png").read_bytes()

    @cached_property
    def wav(self) -> tuple[bytes | None, str]:
        """The audio as WAV bytes (or None) and, without it, why."""
        if not self.audio:
            return None, "audio not asked for"
        from musegen.io.audio import AudioError, render_wav

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = render_wav(self.piece, Path(folder) / "p.wav", sample_rate=22050)
            except AudioError as err:
                return None, str(err)
            return path.read_bytes(), ""

    def _repr_png_(self) -> bytes | None:
        return self.png

    def _repr_html_(self) -> str:
        parts = [f"<div><p>{html.escape(repr(self))}</p>"]
        if self.png is None:
            parts.append("<p>(no piano roll: pip install 'musegen[plot]')</p>")
        else:
            data = base64.b64encode(self.png).decode()
            parts.append(f'<img src="data:image/png;base64,{data}" alt="piano roll"/>')
        sound, why = self.wav
        if sound is not None:
            data = base64.b64encode(sound).decode()
            parts.append(f'<audio controls src="data:audio/wav;base64,{data}"></audio>')
        elif self.audio:
            parts.append(f"<p>(no audio: {html.escape(why)})</p>")
        return "".join(parts) + "</div>"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": repr(self), "text/html": self._repr_html_()}
        if self.png is not None:
            bundle["image/png"] = base64.b64encode(self.png).decode()
        return bundle

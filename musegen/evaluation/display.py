"""`show`: a piece in a notebook, as a piano roll and an audio player.

``musegen.show(piece)`` as the last line of a Jupyter cell draws the piano roll
(matplotlib, the ``[plot]`` extra) and, when FluidSynth and a soundfont are
installed, adds an audio player. Without matplotlib it shows a line of text;
without FluidSynth, the piano roll and a line saying why there is no sound.
Nothing raises for a missing optional part.

A saved notebook stays small: in IPython the piano roll is one ``image/png``
output (every frontend shows it, nbconvert too) and the player another,
``text/html``, so the picture is stored once; the audio is mono at
`AUDIO_RATE` samples a second (about 32 kB a second of music).

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

AUDIO_RATE = 16000
"""Samples per second of the audio `show` embeds (mono, 16 bits): enough for a sketch."""


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
        """The audio as mono WAV bytes at `AUDIO_RATE` (or None) and, without it, why."""
        if not self.audio:
            return None, "audio not asked for"
        from musegen.io.audio import AudioError, render_wav

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = render_wav(self.piece, Path(folder) / "p.wav", sample_rate=AUDIO_RATE)
            except AudioError as err:
                return None, str(err)
            return _mono(path.read_bytes()), ""

    def _repr_png_(self) -> bytes | None:
        return self.png

    def _repr_html_(self) -> str:
        """The whole display as one piece of HTML: the line, the piano roll and the player."""
        return self._html(picture=True)

    def _html(self, *, picture: bool) -> str:
        """The line, the piano roll (when `picture`) and the audio player, as HTML."""
        parts = [f"<div><p>{html.escape(repr(self))}</p>"]
        if self.png is None:
            parts.append("<p>(no piano roll: pip install 'musegen[plot]')</p>")
        elif picture:
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
        """One output for a frontend that is not IPython: HTML, the PNG for plain ones, text."""
        bundle: dict[str, Any] = {"text/plain": repr(self), "text/html": self._repr_html_()}
        if self.png is not None:
            bundle["image/png"] = base64.b64encode(self.png).decode()
        return bundle

    def outputs(self) -> list[dict[str, Any]]:
        """The outputs IPython shows, each a mime bundle: the picture once, then the player.

        The piano roll is an ``image/png`` output of its own (with its line as
        ``text/plain``); the line, the player (or why there is none) follow as
        ``text/html``. Without matplotlib, only the HTML output.

        Examples:
            >>> from musegen.events import Event, Piece
            >>> [sorted(o) for o in show(Piece((Event(0, 1, (60,)),)), audio=False).outputs()]
            [['image/png', 'text/plain'], ['text/html', 'text/plain']]
        """
        shown: list[dict[str, Any]] = []
        if self.png is not None:
            picture = base64.b64encode(self.png).decode()
            shown.append({"text/plain": f"piano roll: {self.title or repr(self)}",
                          "image/png": picture})  # fmt: skip
        shown.append({"text/plain": repr(self), "text/html": self._html(picture=False)})
        return shown

    def _ipython_display_(self) -> None:
        """Show `outputs` in IPython: a notebook stores the piano roll once."""
        from IPython.display import display

        for bundle in self.outputs():
            display(bundle, raw=True)


def _mono(wav: bytes) -> bytes:
    """A 16-bit WAV file's bytes with its channels averaged into one (a mono file as it is).

    Examples:
        >>> import io, wave
        >>> buffer = io.BytesIO()
        >>> with wave.open(buffer, "wb") as out:
        ...     out.setparams((2, 2, 8000, 0, "NONE", "not compressed"))
        ...     out.writeframes(bytes([0, 1, 0, 3]))  # left 256, right 768
        >>> with wave.open(io.BytesIO(_mono(buffer.getvalue()))) as back:
        ...     back.getnchannels(), list(back.readframes(1))
        (1, [0, 2])
    """
    import io
    import wave

    import numpy as np

    with wave.open(io.BytesIO(wav)) as reader:
        params = reader.getparams()
        frames = reader.readframes(params.nframes)
    if params.nchannels == 1 or params.sampwidth != 2:
        return wav
    samples = np.frombuffer(frames, dtype="<i2").reshape(-1, params.nchannels)
    mixed = np.round(samples.astype(np.float64).mean(axis=1)).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(params.framerate)
        writer.writeframes(mixed.tobytes())
    return buffer.getvalue()

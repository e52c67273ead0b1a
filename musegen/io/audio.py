"""Render a piece, a score or a MIDI file to a WAV file with FluidSynth.

Needs the ``fluidsynth`` program and a General MIDI soundfont (``.sf2``). On
Debian or Ubuntu: ``apt-get install fluidsynth fluid-soundfont-gm``; on macOS:
``brew install fluid-synth`` plus a soundfont of your choice. The soundfont is,
in order: the ``soundfont=`` argument, the ``MUSEGEN_SOUNDFONT`` environment
variable, or the first of `SOUNDFONT_CANDIDATES` that exists.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from musegen._files import atomic_write_bytes
from musegen.events import Piece
from musegen.io.tracks import Score

__all__ = [
    "PEAK_DBFS",
    "SOUNDFONT_CANDIDATES",
    "SOUNDFONT_ENV",
    "AudioError",
    "find_soundfont",
    "render_wav",
]

PEAK_DBFS = -1.0
"""The level `render_wav` brings a file's loudest sample to: 1 dB under full scale."""

SOUNDFONT_ENV = "MUSEGEN_SOUNDFONT"
"""Environment variable naming the soundfont to use when none is passed."""

SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)
"""Where the usual packages install a General MIDI soundfont, searched in this order."""

_INSTALL_HINT = (
    "install FluidSynth and a General MIDI soundfont (Debian/Ubuntu: "
    "'apt-get install fluidsynth fluid-soundfont-gm'; macOS: 'brew install fluid-synth')"
)


class AudioError(RuntimeError):
    """FluidSynth or a soundfont is missing, or rendering failed; the message says how to fix it.

    Examples:
        >>> raise AudioError("no soundfont found")
        Traceback (most recent call last):
        ...
        musegen.io.audio.AudioError: no soundfont found
    """


def find_soundfont(soundfont: str | os.PathLike[str] | None = None) -> Path:
    """The soundfont to render with: `soundfont`, else ``$MUSEGEN_SOUNDFONT``, else a usual place.

    Raises:
        AudioError: the named file does not exist, or none was named and none
            is installed in the usual places.

    Examples:
        >>> find_soundfont()  # doctest: +SKIP
        PosixPath('/usr/share/sounds/sf2/FluidR3_GM.sf2')
    """
    named = soundfont if soundfont is not None else os.environ.get(SOUNDFONT_ENV) or None
    if named is not None:
        path = Path(named).expanduser()
        if not path.is_file():
            origin = "soundfont" if soundfont is not None else f"${SOUNDFONT_ENV}"
            raise AudioError(f"{origin} {str(path)!r} is not a file")
        return path
    for candidate in SOUNDFONT_CANDIDATES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise AudioError(
        f"no soundfont found: pass soundfont=, set ${SOUNDFONT_ENV} to an .sf2 file, "
        f"or {_INSTALL_HINT}"
    )


def _fluidsynth() -> str:
    program = shutil.which("fluidsynth")
    if program is None:
        raise AudioError(f"the 'fluidsynth' program was not found on PATH: {_INSTALL_HINT}")
    return program


def render_wav(
    source: Piece | Score | str | os.PathLike[str],
    wav_path: str | os.PathLike[str],
    *,
    soundfont: str | os.PathLike[str] | None = None,
    sample_rate: int = 44100,
    peak_dbfs: float | None = PEAK_DBFS,
) -> Path:
    """Render a piece, a score or a MIDI file to a 16-bit stereo WAV file (written atomically).

    Args:
        source: A `Piece` or a `Score` (written to a temporary MIDI file with
            `musegen.io.writing.write_midi`: a score keeps its programs and drums),
            or the path of a MIDI file, which FluidSynth plays as it is (its
            instruments, drums and tempo changes; tempos of 0 and malformed
            tempo events, which the readers skip, are left out of a copy).
        wav_path: Where to write the WAV file.
        soundfont: The ``.sf2`` file to play with; see `find_soundfont`.
        sample_rate: Samples per second, 8000 to 96000.
        peak_dbfs: The loudest sample's level in the file, in dB below full
            scale (-1: just under it, never clipped); None keeps FluidSynth's
            own level (its default gain leaves music at -33 to -24 dBFS).

    Returns:
        The path written.

    Raises:
        AudioError: FluidSynth or a soundfont is missing (the message says how to
            install them), or FluidSynth failed (its message is included).
        FileNotFoundError: `source` is a path that does not exist.
        MidiReadError: `source` is a MIDI file the readers refuse (named).
        ValueError: `sample_rate` is out of FluidSynth's range, or `peak_dbfs`
            is not a finite number <= 0.

    Examples:
        >>> from musegen.events import Event
        >>> piece = Piece((Event(0, 1, (60, 64, 67)),))
        >>> render_wav(piece, "chord.wav")  # doctest: +SKIP
        PosixPath('chord.wav')
    """
    if not 8000 <= sample_rate <= 96000:
        raise ValueError(
            f"sample_rate must lie in 8000..96000 (FluidSynth's range), got {sample_rate}"
        )
    if peak_dbfs is not None and not (-120.0 <= peak_dbfs <= 0.0):  # also refuses nan
        raise ValueError(f"peak_dbfs must lie in -120..0 dBFS (0: full scale), got {peak_dbfs}")
    program = _fluidsynth()
    font = find_soundfont(soundfont)
    if not isinstance(source, (Piece, Score)) and not Path(source).is_file():
        raise FileNotFoundError(f"no MIDI file at {str(source)!r}")
    with tempfile.TemporaryDirectory(prefix="musegen-audio-") as work:
        if isinstance(source, (Piece, Score)):
            from musegen.io.writing import write_midi

            midi = write_midi(source, Path(work) / "piece.mid")
        else:
            midi = _playable(Path(source), Path(work) / "tempos.mid")
        rendered = Path(work) / "out.wav"
        command = [program, "-ni", "-q", "-F", str(rendered), "-T", "wav"]
        command += ["-r", str(sample_rate), str(font), str(midi)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        messages = (result.stderr + result.stdout).strip()
        # FluidSynth skips a file it cannot read (exit code 0, silent output): catch that too.
        skipped = "not a SoundFont or MIDI file" in messages
        if result.returncode != 0 or skipped or not rendered.is_file():
            detail = messages[-500:] or "no output"
            raise AudioError(
                f"fluidsynth could not render {midi.name!r} with {str(font)!r} "
                f"(exit code {result.returncode}): {detail}"
            )
        if peak_dbfs is not None:
            _normalize(rendered, peak_dbfs)
        return atomic_write_bytes(wav_path, rendered.read_bytes())


def _playable(path: Path, copy: Path) -> Path:
    """`path`, or for a MIDI file with tempos the readers skip, a copy at `copy` without them."""
    if path.suffix.lower() not in (".mid", ".midi"):
        return path
    from musegen.io.midi_fast import _read, read_symusic

    _, _, tracks = _read(path)
    if not any(t.invalid_tempos for t in tracks):
        return path  # FluidSynth plays the file's own bytes
    copy.write_bytes(read_symusic(path).dumps_midi())
    return copy


def _normalize(path: Path, peak_dbfs: float) -> None:
    """Scale the 16-bit WAV at `path` so its loudest sample is at `peak_dbfs` (silence stays)."""
    import wave

    import numpy as np

    with wave.open(str(path), "rb") as reader:
        params = reader.getparams()
        samples = np.frombuffer(reader.readframes(params.nframes), dtype="<i2")
    loudest = int(np.abs(samples.astype(np.int32)).max(initial=0))
    if params.sampwidth != 2 or not loudest:
        return
    target = 32767 * 10 ** (peak_dbfs / 20)
    scaled = np.clip(np.round(samples * (target / loudest)), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setparams(params)
        writer.writeframes(scaled.tobytes())

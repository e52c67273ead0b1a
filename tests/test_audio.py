import wave

import numpy as np
import pytest
from _players import needs_fluidsynth

from musegen.events import Event, Piece
from musegen.io.audio import SOUNDFONT_ENV, AudioError, find_soundfont, render_wav
from musegen.io.reading import MidiReadError

# Eight quarter notes at 120 quarters per minute: 4 seconds.
PIECE = Piece(tuple(Event(i, 1.0, (60 + 2 * i,), 90) for i in range(8)), tempo=120)


def read_wav(path):
    with wave.open(str(path)) as wav:
        frames = wav.readframes(wav.getnframes())
        assert wav.getsampwidth() == 2
        samples = np.frombuffer(frames, dtype=np.int16).reshape(-1, wav.getnchannels())
        return samples, wav.getframerate()


@needs_fluidsynth
def test_renders_a_piece_to_a_non_silent_wav_of_about_its_length(tmp_path):
    out = render_wav(PIECE, tmp_path / "out" / "piece.wav", sample_rate=22050)
    assert out == tmp_path / "out" / "piece.wav"
    samples, rate = read_wav(out)
    assert rate == 22050
    seconds = len(samples) / rate
    # The notes last 4 s; FluidSynth adds the instruments' release (a few seconds at most).
    assert 4.0 <= seconds <= 8.0
    assert np.abs(samples.astype(float)).max() > 100
    assert not list((tmp_path / "out").glob(".*.tmp"))


@needs_fluidsynth
def test_renders_a_midi_file(tmp_path):
    from musegen.io.writing import write_midi

    midi = write_midi(PIECE, tmp_path / "piece.mid")
    samples, rate = read_wav(render_wav(midi, tmp_path / "piece.wav"))
    assert rate == 44100
    assert 4.0 <= len(samples) / rate <= 8.0


def test_missing_fluidsynth_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(AudioError, match=r"'fluidsynth' program was not found.*apt-get install"):
        render_wav(PIECE, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()


def test_rejects_a_sample_rate_fluidsynth_cannot_use(tmp_path):
    with pytest.raises(ValueError, match=r"sample_rate .* got 1000"):
        render_wav(PIECE, tmp_path / "out.wav", sample_rate=1000)


def test_soundfont_lookup(tmp_path, monkeypatch):
    font = tmp_path / "mine.sf2"
    font.write_bytes(b"RIFF")
    monkeypatch.setenv(SOUNDFONT_ENV, str(font))
    assert find_soundfont() == font
    assert find_soundfont(font) == font
    monkeypatch.setenv(SOUNDFONT_ENV, str(tmp_path / "gone.sf2"))
    with pytest.raises(AudioError, match=r"\$MUSEGEN_SOUNDFONT .*gone\.sf2"):
        find_soundfont()
    with pytest.raises(AudioError, match=r"soundfont .*nope\.sf2.* is not a file"):
        find_soundfont(tmp_path / "nope.sf2")


def test_no_soundfont_anywhere_says_how_to_install_one(monkeypatch):
    monkeypatch.delenv(SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr("musegen.io.audio.SOUNDFONT_CANDIDATES", ())
    with pytest.raises(AudioError, match=r"no soundfont found.*fluid-soundfont-gm"):
        find_soundfont()


@needs_fluidsynth
def test_missing_midi_file_and_a_broken_soundfont(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"absent\.mid"):
        render_wav(tmp_path / "absent.mid", tmp_path / "out.wav")
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"not a soundfont")
    with pytest.raises(AudioError, match=r"fluidsynth could not render"):
        render_wav(PIECE, tmp_path / "out.wav", soundfont=broken)
    not_midi = tmp_path / "not.mid"
    not_midi.write_bytes(b"garbage")
    with pytest.raises(MidiReadError, match=r"not\.mid.*not a MIDI file"):  # as the readers say
        render_wav(not_midi, tmp_path / "out.wav")
    assert not (tmp_path / "out.wav").exists()


@needs_fluidsynth
def test_a_rendered_file_peaks_just_under_full_scale_and_keeps_its_shape(tmp_path):
    """FluidSynth's own gain left the shipped bundles' music at -33 to -24 dBFS: too quiet."""
    from musegen.io.audio import PEAK_DBFS

    raw, _ = read_wav(render_wav(PIECE, tmp_path / "raw.wav", peak_dbfs=None))
    loud, _ = read_wav(render_wav(PIECE, tmp_path / "loud.wav"))
    peak = 20 * np.log10(np.abs(loud.astype(float)).max() / 32767)
    assert peak == pytest.approx(PEAK_DBFS, abs=0.05)
    assert 20 * np.log10(np.abs(raw.astype(float)).max() / 32767) < PEAK_DBFS - 6
    assert np.corrcoef(raw.ravel(), loud.ravel())[0, 1] > 0.9999  # scaled, not reshaped


@pytest.mark.parametrize("peak", [0.5, float("nan"), -200.0])
def test_a_peak_level_above_full_scale_or_not_a_number_is_refused(tmp_path, peak):
    with pytest.raises(ValueError, match=r"peak_dbfs must lie in -120\.\.0"):
        render_wav(PIECE, tmp_path / "x.wav", peak_dbfs=peak)
    assert not (tmp_path / "x.wav").exists()

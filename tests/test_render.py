"""``musegen render`` plays the file it is given: its instruments, its drums, its tempo changes."""

import subprocess
import wave

import numpy as np
from _players import needs_fluidsynth

from musegen.cli import main
from musegen.io.audio import find_soundfont
from musegen.io.reading import read_tracks

pytestmark = needs_fluidsynth


def _band(path, *, drums_only=False):
    """Piano, electric bass and violin with a drum kit on channel 10, at 60 then 240 beats a
    minute (four beats each: 5 seconds), written by music21 (not musegen)."""
    from music21 import chord, instrument, stream, tempo

    def part(kind, notes):
        line = stream.Part()
        line.insert(0, kind)
        for offset, pitches, length in notes:
            line.insert(offset, chord.Chord(pitches, quarterLength=length))
        return line

    kit = instrument.Percussion()
    kit.midiChannel, kit.midiProgram = 9, None
    parts = [part(kit, [(i, [36 if i % 2 == 0 else 38], 1) for i in range(8)])]
    if not drums_only:
        parts += [
            part(instrument.Piano(), [(i, [60, 64, 67], 1) for i in range(8)]),
            part(instrument.ElectricBass(), [(i, [36], 1) for i in range(8)]),
            part(instrument.Violin(), [(0, [76], 4), (4, [79], 4)]),
        ]
    parts[0].insert(0, tempo.MetronomeMark(number=60))
    parts[0].insert(4, tempo.MetronomeMark(number=240))
    return stream.Score(parts).write("midi", path)


def _file_events(path):
    """(programs per channel, channels with notes) of a MIDI file, read by music21's parser."""
    from music21 import midi

    file = midi.MidiFile()
    file.open(str(path))
    file.read()
    file.close()
    events = [e for t in file.tracks for e in t.events if not isinstance(e, midi.DeltaTime)]
    programs = {e.channel: e.data for e in events if e.type.name == "PROGRAM_CHANGE"}
    return programs, {e.channel for e in events if e.type.name == "NOTE_ON" and e.velocity}


def _samples(path):
    with wave.open(str(path)) as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
        return frames.reshape(-1, wav.getnchannels()), wav.getframerate()


def _fluidsynth(midi, wav):
    """What FluidSynth plays from the file itself, brought to render's peak level."""
    from musegen.io.audio import PEAK_DBFS, _normalize

    command = ["fluidsynth", "-ni", "-q", "-F", str(wav), "-T", "wav", "-r", "44100"]
    subprocess.run([*command, str(find_soundfont()), str(midi)], check=True, capture_output=True)
    _normalize(wav, PEAK_DBFS)
    return _samples(wav)


def test_render_plays_three_programs_the_drums_and_the_tempo_change_of_the_file(tmp_path):
    band = _band(tmp_path / "band.mid")
    programs, channels = _file_events(band)
    assert sorted(p for c, p in programs.items() if c != 10) == [0, 33, 40]  # channels 1-based
    assert len(channels) == 4 and 10 in channels
    assert main(["render", str(band), "--out", str(tmp_path / "wav")]) == 0
    samples, rate = _samples(tmp_path / "wav" / "band.wav")
    direct, _ = _fluidsynth(band, tmp_path / "direct.wav")
    assert np.array_equal(samples, direct)  # what FluidSynth plays from the file itself
    assert np.abs(samples.astype(float)).max() > 1000
    assert 5.0 <= len(samples) / rate < 8.0  # 5 s of music and a release; 8 s at 60 beats only


def test_render_of_a_drums_only_file_is_not_silent(tmp_path, capsys):
    drums = _band(tmp_path / "Drums.MID", drums_only=True)
    assert main(["render", str(drums)]) == 0
    samples, _ = _samples(tmp_path / "Drums.wav")
    assert np.abs(samples.astype(float)).max() > 1000
    assert np.array_equal(samples, _fluidsynth(drums, tmp_path / "direct.wav")[0])


def test_render_of_a_musicxml_file_plays_its_parts(tmp_path):
    from music21 import instrument, note, stream

    flute = stream.Part(
        [instrument.Flute(), *(note.Note(72 + i, quarterLength=1) for i in range(4))]
    )
    xml = stream.Score([flute]).write("musicxml", tmp_path / "flute.musicxml")
    assert main(["render", str(xml)]) == 0
    samples, rate = _samples(tmp_path / "flute.wav")
    assert np.abs(samples.astype(float)).max() > 300 and len(samples) / rate >= 2.0
    assert [t.program for t in read_tracks(xml).tracks] == [73]  # what was written: a flute


def test_render_names_a_file_that_is_not_midi_and_goes_on(tmp_path, capsys):
    bad = tmp_path / "bad.mid"
    bad.write_text("not a MIDI file")
    good = _band(tmp_path / "good.mid", drums_only=True)
    assert main(["render", str(bad), str(good)]) == 1
    assert (
        capsys.readouterr().err.strip()
        == f"musegen: skipped cannot read {str(bad)!r}: not a MIDI file (no 'MThd' header)"
    )
    assert (tmp_path / "good.wav").is_file() and not (tmp_path / "bad.wav").exists()

"""The fast MIDI reader against an independent one (symusic, the C++ reader MidiTok uses)."""

from __future__ import annotations

from collections import Counter

import pytest

from musegen.io.midi_fast import read_midi_fast

symusic = pytest.importorskip("symusic")

# Files whose notes the reader keeps one for one (no doubled notes to merge).
ONE_FOR_ONE = ("Oppressed.mid", "waltz_de_choco.mid", "pkelite4.mid", "VincentPiano.mid")


def _notes(path):
    score = symusic.Score(str(path))
    tpq = score.ticks_per_quarter
    return [
        (n.time / tpq, (n.time + n.duration) / tpq, n.pitch)
        for track in score.tracks
        if not track.is_drum
        for n in track.notes
    ]


@pytest.mark.parametrize("name", ONE_FOR_ONE)
def test_same_pitches_and_end_as_symusic(skuli_midi, name):
    reference = _notes(skuli_midi / name)
    piece = read_midi_fast(skuli_midi / name)
    assert Counter(p for e in piece.events for p in e.pitches) == Counter(p for *_, p in reference)
    end = max(stop for _, stop, _ in reference)
    # music21's quantization (to quarters of 4 and 3) moves a time by 1/12 of a quarter at most
    assert abs(piece.events[-1].offset + piece.events[-1].duration - end) <= 1 / 12 + 1e-9


def test_a_chord_held_across_barlines_lasts_as_the_file_says(skuli_midi):
    # lurk_in_dark.mid: a chord struck at beat 4, three of its notes released at 11.75
    # (the fourth, 68, at 15.75). music21 cuts them at barlines into tied notes; they are
    # joined again into one event of 11.75 quarter notes (it used to come back as 8).
    reference = {
        (p, stop) for start, stop, p in _notes(skuli_midi / "lurk_in_dark.mid") if start == 4
    }
    assert {(52, 11.75), (72, 11.75), (79, 11.75)} <= reference
    (chord,) = [e for e in read_midi_fast(skuli_midi / "lurk_in_dark.mid").events if e.offset == 4]
    assert (chord.pitches, chord.duration) == ((52, 68, 72, 79), 11.75)

"""compose: one composing path and one clock, checked on real music with symusic.

The chorale and the quartet are music21's corpus written to MIDI with all their
parts; the written files are read back by symusic, never by musegen's reader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musegen.generation.compose import compose, with_chord_track
from musegen.generation.processors import ChordProgression
from musegen.io.writing import write_midi

PROGRESSIONS = ("Am F C G", "C:1.5 G:2.5 Am:1 F:3", "Bb Eb/G F7 Bb")  # the second: mid-bar


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict[str, Path]:
    """BWV 66.6 (four tracks, MIDI and MusicXML) and 8 bars of a Haydn quartet (four tracks)."""
    from music21 import corpus

    folder = tmp_path_factory.mktemp("real")
    chorale = corpus.parse("bach/bwv66.6")
    chorale.write("midi", fp=folder / "chorale.mid")
    chorale.write("musicxml", fp=folder / "chorale.musicxml")
    quartet = corpus.parse("haydn/opus74no1/movement3").measures(1, 8)
    quartet.write("midi", fp=folder / "quartet.mid")
    return {
        "chorale": folder / "chorale.mid",
        "musicxml": folder / "chorale.musicxml",
        "quartet": folder / "quartet.mid",
    }


@pytest.fixture(scope="module")
def bundles() -> dict[str, object]:
    from musegen.training.bundle import load_bundle

    return {name: load_bundle(f"musegen:{name}") for name in ("chorales", "folk", "quartets")}


def _symusic_notes(path: Path) -> list[tuple[str, float, float, int]]:
    import symusic

    score = symusic.Score(str(path), ttype="quarter")
    return [(t.name, n.time, n.end, n.pitch) for t in score.tracks for n in t.notes]


def _off_chord(path: Path, chords: ChordProgression) -> list[tuple[float, int]]:
    """The notes of the file (read by symusic) off the chord sounding at their onset."""
    return [
        (start, pitch)
        for name, start, _, pitch in _symusic_notes(path)
        if name != "chords" and pitch % 12 not in chords.pitch_classes[int(chords.chord_at(start))]
    ]


@pytest.mark.parametrize("name", ["chorales", "folk", "quartets"])
@pytest.mark.parametrize("metre", ["4/4", "3/4"])
def test_hard_chords_hold_at_every_onset_of_the_written_file(
    name, metre, bundles, real, tmp_path
) -> None:
    """8 pieces x 3 progressions, with and without a real prime: every written note belongs to
    the chord sounding at its onset in the file, and to the chord track written beside it."""
    bundle = bundles[name]
    prime = real["quartet" if name == "quartets" else "chorale"]
    checked = 0
    for symbols in PROGRESSIONS:
        for primed in (None, prime):
            chords = ChordProgression(symbols, time_signature=metre)
            made = compose(bundle, primed, bars=4, time_signature=metre, processors=[chords],
                           num=8, seed=0)  # fmt: skip
            for i, piece in enumerate(made.pieces):
                path = write_midi(piece.music, tmp_path / f"{i}.mid")
                assert _off_chord(path, chords) == [], (symbols, primed, i)
                checked += len(_symusic_notes(path))
                if i == 0:  # the chord track counts from the same zero
                    both = write_midi(with_chord_track(piece.music, chords, piece.length),
                                      tmp_path / "track.mid")  # fmt: skip
                    notes = _symusic_notes(both)
                    backing = [(s, e, p) for n, s, e, p in notes if n == "chords"]
                    for n, start, _, pitch in notes:
                        sounding = {p % 12 for s, e, p in backing if s <= start + 1e-6 < e}
                        assert n == "chords" or pitch % 12 in sounding, (n, start, pitch)
    assert checked > 300


def test_key_keeps_an_unfinished_prime_chord_out(bundles) -> None:
    """--key 'Eb major' played an E natural on beat 1: the stored prime ended mid-chord."""
    bundle = bundles["chorales"]
    stored = list(bundle.metadata["prime"])
    made = compose(bundle, key="Eb major", bars=2, num=6, seed=0)
    scale = {3, 5, 7, 8, 10, 0, 2}
    for piece in made.pieces:
        assert {p % 12 for e in piece.music.events for p in e.pitches} <= scale
    assert len(made.prime) <= len(stored)


def test_beam_reads_what_sampling_reads(bundles) -> None:
    bundle = bundles["chorales"]
    beam = compose(bundle, bars=2, beam=1, views=2)
    argmax = compose(bundle, bars=2, sampler="argmax", views=2)
    assert beam.how.endswith("read in 5 keys") and argmax.how.endswith("read in 5 keys")
    np.testing.assert_array_equal(beam.pieces[0].ids, argmax.pieces[0].ids)
    assert beam.pieces[0].music == argmax.pieces[0].music


def test_a_length_not_reached_says_so(bundles) -> None:
    made = compose(bundles["chorales"], bars=16, steps=20, seed=0)
    piece = made.pieces[0]
    assert not piece.reached and piece.length < 16 * 4
    assert piece.music.duration <= piece.length + 1e-9
    assert any("steps ran out" in line for line in made.messages)


def test_a_musicxml_prime_continues_a_single_track_bundle(bundles, real) -> None:
    made = compose(bundles["chorales"], real["musicxml"], bars=2, seed=0)
    from_midi = compose(bundles["chorales"], real["chorale"], bars=2, seed=0)
    assert made.pieces[0].music.notes and from_midi.pieces[0].music.notes
    assert made.pieces[0].music.time_signature == "4/4"


def test_a_bundles_sampler_record_and_run_directory_are_taken_as_they_are(tmp_path) -> None:
    from musegen.generation.decoding import generate
    from musegen.tokens.note_tokenizer import NoteTokenizer
    from musegen.tokens.vocabulary import Vocabulary
    from musegen.training.bundle import load_bundle, save_bundle
    from musegen.training.model import build_lstm

    vocab = Vocabulary(["C4", "E4", "4th"])
    record = {"name": "top_k", "temperature": 1.0, "k": 2}
    save_bundle(tmp_path / "run" / "bundle", build_lstm(len(vocab), units=(4,)), NoteTokenizer(),
                vocab, generation=record)  # fmt: skip
    bundle = load_bundle(tmp_path / "run")  # the run directory, as the CLI takes it
    ids = generate(bundle.model, [2], 5, bundle.metadata["generation"], seed=0)
    assert ids.shape == (1, 5)


def test_no_length_gives_the_default_number_of_steps(bundles, tmp_path) -> None:
    """A regression the review found: sampling with no length refused to run."""
    from musegen.cli import main
    from musegen.generation.compose import DEFAULT_STEPS

    made = compose(bundles["folk"], seed=0)
    assert 0 < len(made.pieces[0].ids) <= DEFAULT_STEPS and made.pieces[0].reached
    assert main(["generate", "musegen:folk", "--seed", "0", "--out", str(tmp_path / "a.mid")]) == 0


def test_a_prime_is_continued_in_the_tempo_and_metre_it_ends_in(bundles, tmp_path) -> None:
    """A pickup written as a 1/4 bar, then 4/4 at a new tempo: the music goes on in 4/4 at it."""
    import symusic

    score = symusic.Score(480)
    track = symusic.Track("melody", 0, False)
    for i, pitch in enumerate([67, 72, 71, 72, 74, 76, 74, 72, 71]):
        track.notes.append(symusic.Note(i * 480, 480, pitch, 80))
    score.tracks.append(track)
    score.time_signatures.extend([symusic.TimeSignature(0, 1, 4), symusic.TimeSignature(480, 4, 4)])
    score.tempos.extend([symusic.Tempo(0, 80.0), symusic.Tempo(480 * 5, 100.0)])
    score.dump_midi(str(tmp_path / "pickup.mid"))
    made = compose(bundles["chorales"], tmp_path / "pickup.mid", bars=2, seed=0)
    written = write_midi(made.pieces[0].music, tmp_path / "out.mid")
    back = symusic.Score(str(written), ttype="quarter")
    assert [(t.numerator, t.denominator) for t in back.time_signatures] == [(4, 4)]
    assert [round(t.qpm) for t in back.tempos] == [100]
    assert back.end() <= 8 + 1e-6


def test_lengths_and_views_no_run_can_use_exit_2(tmp_path, capsys) -> None:
    from musegen.cli import main

    out = str(tmp_path / "x.mid")
    for bad, said in ((["--bars", "1e308"], "argument --bars: takes a finite number > 0 and "),
                      (["--views", "-1"], "argument --views: takes a whole number from 0")):  # fmt: skip
        with pytest.raises(SystemExit) as exit_:  # argparse's one line, before the bundle loads
            main(["generate", "musegen:folk", *bad, "--out", out])
        assert exit_.value.code == 2
        assert said in capsys.readouterr().err

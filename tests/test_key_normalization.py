"""Key normalization: songs moved to C major / A minor to train, music moved back to write."""

from __future__ import annotations

import pytest

from musegen.cli import main
from musegen.events import Event, Piece
from musegen.io.reading import read_midi
from musegen.io.writing import write_midi
from musegen.keys import KEYS, best_key, key_shift, scale, tonic
from musegen.tokens.frame_tokenizer import FrameTokenizer
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.tokenizer import Tokenizer
from musegen.tokens.track_tokenizer import TrackTokenizer
from musegen.tokens.transposition import transpose_token, transposed_vocabulary
from musegen.training.bundle import load_bundle
from musegen.training.dataset import SequenceDataset, normalized


def in_key(key: str, octave: int = 60) -> Piece:
    """A tune of the key's scale that leans on its tonic triad, so `best_key` finds it."""
    root = tonic(key)
    steps = sorted((pc - root) % 12 for pc in scale(key))
    triad = (0, steps[2], steps[4])
    degrees = [*triad, *steps, *triad, 0]
    return Piece(tuple(Event(i, 1, (octave + root + d,)) for i, d in enumerate(degrees)))


@pytest.mark.parametrize("key", KEYS)
def test_every_key_moves_to_c_major_or_a_minor_by_at_most_six_semitones(key: str) -> None:
    piece = in_key(key)
    assert best_key(piece) == key
    shift = key_shift(piece)
    assert -6 <= shift <= 5
    assert best_key(piece.transpose(shift)) == ("A minor" if "minor" in key else "C major")
    assert key_shift(key) == shift  # by name, as by its notes


def test_vocabulary_read_in_another_key_keeps_every_id_and_moves_the_pitches() -> None:
    tokenizer = NoteTokenizer(holds=True)
    c_major = in_key("C major")
    vocabulary = tokenizer.build_vocabulary([c_major, Piece((Event(0, 0.5, (48, 55)),))])
    in_d = transposed_vocabulary(tokenizer, vocabulary, 2)
    assert len(in_d) == len(vocabulary)
    d_tokens = tokenizer.encode(c_major.transpose(2))
    assert in_d.encode(d_tokens) == vocabulary.encode(tokenizer.encode(c_major))  # same ids
    assert tokenizer.decode(in_d.decode(vocabulary.encode(tokenizer.encode(c_major)))) == (
        tokenizer.decode(d_tokens)
    )  # what the model writes in C comes out in D
    durations = [t for t in vocabulary.tokens if not tokenizer.describe(t).pitches]
    assert durations and all(in_d.id_of(t) == vocabulary.id_of(t) for t in durations)


def test_compound_and_frame_tokens_move_and_a_band_is_refused() -> None:
    assert transpose_token(Tokenizer.seed(), "C4,E4,G4_medium_v81", 3) == "E-4,G4,B-4_medium_v81"
    assert transpose_token(Tokenizer.seed(), "rest_long", 3) == "rest_long"
    frames = FrameTokenizer()
    assert transpose_token(frames, frames.start_text, 2) == frames.start_text
    assert transpose_token(frames, "A4", -2) == "G4"
    assert transpose_token(Tokenizer(), "G9", 1) is None  # 128 is no MIDI pitch
    top = transposed_vocabulary(
        Tokenizer(), Tokenizer().build_vocabulary([Piece((Event(0, 1, (127,)),))]), 1
    )
    assert top.tokens == ["<out of range: G9>"]
    with pytest.raises(ValueError, match="drums"):
        transpose_token(TrackTokenizer(), "@p0", 1)


def test_the_dataset_moves_training_and_validation_songs_and_refuses_transpose_too() -> None:
    songs = [in_key(k) for k in ("D major", "F minor", "A- major", "B minor")]
    tokenizer = NoteTokenizer()
    moved = list(normalized(songs))
    assert {best_key(p) for p in moved} == {"C major", "A minor"}
    vocabulary = tokenizer.build_vocabulary(moved)
    data = SequenceDataset.from_pieces(
        songs, tokenizer, vocabulary, seq_len=4, val_fraction=0.25, normalize_keys=True
    )
    encoded = {tuple(vocabulary.encode(tokenizer.encode(p))) for p in moved}
    assert {tuple(ids) for ids in data.train_ids + data.val_ids} == encoded
    with pytest.raises(ValueError, match="choose one"):
        SequenceDataset.from_pieces(
            songs, tokenizer, vocabulary, seq_len=4, normalize_keys=True, transpose=(0, 1)
        )


def test_a_pitch_at_the_edge_moves_an_octave_the_other_way() -> None:
    high = in_key("G major", octave=108)  # up by 5 would pass 127: down by 7
    (moved,) = normalized([high])
    assert best_key(moved) == "C major" and max(max(e.pitches) for e in moved.events) <= 127


def test_a_key_normalized_run_writes_in_the_primes_key(tmp_path, capsys) -> None:
    run = tmp_path / "run"
    args = ["train", "music21:bach", "--limit", "3", "--units", "8", "--seq-len", "16",
            "--batch-size", "4", "--minutes", "0", "--epochs", "1", "--quiet"]  # fmt: skip
    assert main([*args, "--normalize-keys", "--out", str(run)]) == 0
    assert "held-out NLL" in capsys.readouterr().out
    bundle = load_bundle(run / "bundle")
    assert bundle.normalizes_keys
    for prime_key, file in (("C major", "c.mid"), ("E- major", "e-flat.mid")):
        write_midi(in_key(prime_key), tmp_path / file)
    songs = {}
    for file in ("c.mid", "e-flat.mid"):
        out = tmp_path / f"out-{file}"
        assert main(["generate", str(run), "--prime", str(tmp_path / file), "--steps", "40",
                     "--seed", "3", "--out", str(out)]) == 0  # fmt: skip
        songs[file] = read_midi(out)
    assert songs["c.mid"].notes  # the same ids were drawn; in E-flat they sound 3 up
    assert songs["e-flat.mid"].events == songs["c.mid"].transpose(3).events
    import symusic  # and as an independent reader hears the two files

    heard = {
        f: sorted(
            (n.time, n.duration, n.pitch)
            for t in symusic.Score(str(tmp_path / f"out-{f}")).tracks
            for n in t.notes
        )
        for f in songs
    }
    assert heard["c.mid"] and heard["e-flat.mid"] == [(t, d, p + 3) for t, d, p in heard["c.mid"]]
    for bad in (["--transpose", "1", "2"], ["--tracks"]):
        assert main([*args, "--normalize-keys", *bad, "--out", str(tmp_path / "x")]) == 2
        assert "choose one" in capsys.readouterr().err


def test_keys_are_named_as_their_key_signatures_spell_them() -> None:
    """The key-lean line said ``G# major`` for the Maple Leaf Rag and ``E- major`` for E-flat."""
    from musegen.keys import key_name

    named = [key_name(key) for key in KEYS]
    assert named == [
        "C major", "Db major", "D major", "Eb major", "E major", "F major", "F# major", "G major",
        "Ab major", "A major", "Bb major", "B major",
        "C minor", "C# minor", "D minor", "Eb minor", "E minor", "F minor", "F# minor", "G minor",
        "G# minor", "A minor", "Bb minor", "B minor",
    ]  # fmt: skip
    assert all("-" not in name for name in named)
    assert [scale(name) for name in named] == [scale(key) for key in KEYS]


def test_a_key_takes_the_flat_and_sharp_signs() -> None:
    """``--chords "B♭maj7"`` took the signs; ``--key "B♭ major"`` did not."""
    from musegen.cli._types import key_name as key_option

    assert scale("B\u266d major") == scale("Bb major")
    assert tonic("F\u266f minor") == tonic("F# minor") == 6
    assert key_option("B\u266d major") == "Bb major"

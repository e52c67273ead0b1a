import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from musegen.events import Event, Piece
from musegen.io.reading import read_midi
from musegen.tokens.tokenizer import (
    DurationBuckets,
    Tokenizer,
    TokenizerProtocol,
    VelocityBuckets,
    seed_configurations,
)

# C major triad, D4, a silent half beat, a C3+C5 octave cut short by B-flat 4.
PIECE = Piece(
    (
        Event(0.0, 1.0, (60, 64, 67), 100),
        Event(1.0, 0.5, (62,), 50),
        Event(2.0, 2.0, (48, 72), 80),
        Event(3.0, 1.0, (70,), 30),
    )
)

EXPECTED = {
    "skuli": ["0.4.7", "D4", "0", "B-4"],
    "octaves+rests": ["C4,E4,G4", "D4", "rest", "C3,C5", "B-4"],
    "+durations": ["C4,E4,G4_medium", "D4_short", "rest_short", "C3,C5_medium", "B-4_medium"],
    "+velocities": ["C4,E4,G4_v102", "D4_v59", "rest", "C3,C5_v81", "B-4_v31"],
    "final": [
        "C4,E4,G4_medium_v102",
        "D4_short_v59",
        "rest_short",
        "C3,C5_medium_v81",
        "B-4_medium_v31",
    ],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_exact_tokens_in_every_seed_configuration(name):
    assert seed_configurations()[name].encode(PIECE) == EXPECTED[name]


def test_leading_silence_and_explicit_rest_events():
    piece = Piece(
        (Event(0, 1.0), Event(1.0, 2.0, (60,), 81), Event(3.0, 1.0), Event(4.0, 0.5, (62,)))
    )
    assert Tokenizer.seed().encode(piece) == [
        "rest_medium",
        "C4_long_v81",
        "rest_medium",
        "D4_short_v59",
    ]
    assert Tokenizer(rests=False).encode(piece) == ["C4", "D4"]


def test_simultaneous_events_merge_into_one_chord_when_time_is_encoded():
    piece = Piece((Event(0, 1.0, (60,), 40), Event(0, 2.0, (55,), 90), Event(2, 1.0, (57,))))
    assert Tokenizer.seed().encode(piece) == ["G3,C4_long_v81", "A3_medium_v59"]
    # without time in the tokens, every event is its own token (the original recipe)
    assert Tokenizer.skuli().encode(piece) == ["C4", "G3", "A3"]


def test_round_trip_is_exact_when_durations_are_bucket_values():
    tok = Tokenizer.seed()
    piece = Piece(
        (
            Event(0.0, 1.0, (60, 64, 67), 102),
            Event(1.0, 0.5, (62,), 59),
            Event(2.0, 2.0, (48, 72), 81),
            Event(4.0, 0.5, (70,), 31),
        )
    )
    decoded = tok.decode(tok.encode(piece))
    assert decoded.notes == piece.notes
    assert [(e.offset, e.duration) for e in decoded.events if e.is_rest] == [(1.5, 0.5)]


def test_round_trip_snaps_durations_and_velocities_to_buckets():
    tok = Tokenizer.seed()
    piece = Piece((Event(0.0, 0.25, (61,), 72), Event(0.25, 3.0, (49, 53), 120)))
    decoded = tok.decode(tok.encode(piece))
    assert [e.pitches for e in decoded.notes] == [(61,), (49, 53)]
    assert [(e.offset, e.duration, e.velocity) for e in decoded.notes] == [
        (0.0, 0.5, 81),
        (0.5, 2.0, 102),
    ]


def test_round_trip_keeps_pitches_in_every_configuration():
    for name, tok in seed_configurations().items():
        decoded = tok.decode(tok.encode(PIECE))
        pitches = [e.pitches for e in decoded.notes]
        if name == "skuli":  # chords keep pitch classes only, in octave 4
            assert pitches == [(60, 64, 67), (62,), (60,), (70,)]
        else:
            assert pitches == [e.pitches for e in PIECE.notes]


def test_without_durations_tokens_decode_half_a_beat_apart():
    decoded = Tokenizer().decode(["C4", "rest", "E4,G4"])
    assert [(e.offset, e.duration, e.pitches) for e in decoded.events] == [
        (0.0, 0.5, (60,)),
        (0.5, 0.5, ()),
        (1.0, 0.5, (64, 67)),
    ]


def test_decode_skips_and_reports_malformed_tokens():
    tok = Tokenizer.seed()
    tokens = [
        "C4_short_v81",
        "C4",
        "H4_short_v81",
        "C4_tiny_v81",
        "C4_short_v200",
        "<unk>",
        "rest_long",
        "E4_long_v31_x",
    ]
    piece, skipped = tok.decode_with_skipped(tokens)
    assert [p for p, _ in skipped] == [1, 2, 3, 4, 5, 7]
    assert [(e.offset, e.pitches) for e in piece.events] == [(0.0, (60,)), (0.5, ())]


def test_decode_accepts_other_spellings():
    assert Tokenizer().decode(["Db4,F#4,Bb4"]).events[0].pitches == (61, 66, 70)
    assert Tokenizer().decode(["C-1"]).events[0].pitches == (0,)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=12), st.sampled_from(EXPECTED["final"]))))
def test_decode_never_raises(tokens):
    for tok in (Tokenizer.seed(), Tokenizer.skuli()):
        piece = tok.decode(tokens)
        assert all(e.duration > 0 for e in piece.events)


def test_pitch_names_match_music21():
    from music21 import pitch

    tok = Tokenizer()
    for midi in range(12, 128):
        assert tok.pitches_to_text((midi,)) == pitch.Pitch(midi=midi).nameWithOctave


class DynamicsTokenizer(Tokenizer):
    """Velocities as dynamics marks instead of numbers."""

    marks = {31: "pp", 59: "mp", 81: "f", 102: "ff"}

    def velocity_to_text(self, level: int) -> str:
        return self.marks[level]

    def text_to_velocity(self, text: str) -> int:
        return {v: k for k, v in self.marks.items()}[text]


def test_subclass_changes_only_the_velocity_text(tmp_path):
    tok = DynamicsTokenizer(durations=DurationBuckets.seed(), velocities=VelocityBuckets.seed())
    assert tok.encode(PIECE) == [
        "C4,E4,G4_medium_ff",
        "D4_short_mp",
        "rest_short",
        "C3,C5_medium_f",
        "B-4_medium_pp",
    ]
    assert tok.decode(tok.encode(PIECE)).notes == Tokenizer.seed().decode(EXPECTED["final"]).notes
    loaded = Tokenizer.load(tok.save(tmp_path / "tok.json"))
    assert type(loaded) is DynamicsTokenizer and loaded == tok


def test_json_save_load_round_trip(tmp_path):
    for tok in seed_configurations().values():
        path = tok.save(tmp_path / "tok.json")
        document = json.loads(path.read_text())
        assert document["class"] == "Tokenizer" and document["musegen_version"]
        assert Tokenizer.load(path) == tok
        assert Tokenizer.load(path).encode(PIECE) == tok.encode(PIECE)


def test_custom_buckets_round_trip_through_config():
    tok = Tokenizer(
        durations=DurationBuckets((1.0,), ("s", "l"), (0.5, 2.0)),
        velocities=VelocityBuckets((40, 100)),
    )
    assert tok.encode(PIECE)[:2] == ["C4,E4,G4_l_v100", "D4_s_v40"]
    assert Tokenizer.from_config(json.loads(json.dumps(tok.get_config()))) == tok


def test_unknown_class_in_document_is_refused():
    text = Tokenizer().to_json().replace('"class": "Tokenizer"', '"class": "Evil"')
    with pytest.raises(ValueError, match="'Evil'"):
        Tokenizer.from_json(text)


@pytest.mark.parametrize(
    "make",
    [
        lambda: DurationBuckets((1.0, 0.5), ("a", "b", "c"), (1, 2, 3)),
        lambda: DurationBuckets((1.0,), ("a",), (1,)),
        lambda: DurationBuckets((1.0,), ("a_b", "c"), (1, 2)),
        lambda: VelocityBuckets((100, 50)),
        lambda: VelocityBuckets((0, 200)),
        lambda: Tokenizer(default_duration=0),
    ],
)
def test_bad_configuration_is_refused(make):
    with pytest.raises(ValueError):
        make()


def test_tokenizer_satisfies_protocol():
    assert isinstance(Tokenizer.seed(), TokenizerProtocol)


def test_build_vocabulary_from_pieces():
    vocab = Tokenizer.seed().build_vocabulary([PIECE, PIECE])
    assert sorted(vocab.tokens) == sorted(EXPECTED["final"])


def recipe_tokens(path):
    """The original recipe's get_notes for one file (the oracle, kept in the test)."""
    from music21 import chord, converter, instrument, note

    midi = converter.parse(path, forceSource=True)
    try:
        notes_to_parse = instrument.partitionByInstrument(midi).parts[0].recurse()
    except Exception:
        notes_to_parse = midi.flatten().notes
    tokens = []
    for element in notes_to_parse:
        if isinstance(element, note.Note):
            tokens.append(str(element.pitch))
        elif isinstance(element, chord.Chord):
            tokens.append(".".join(str(n) for n in element.normalOrder))
    return tokens


@pytest.mark.parametrize(
    "name",
    ["FF6epitaph_piano.mid", "DOS.mid", "FF3_Battle_(Piano).mid", "FF4.mid", "8.mid",
     "Fierce_Battle_(Piano).mid", "OTD5YA.mid"],  # the last two: unison chords ('2', '7')
)  # fmt: skip
def test_skuli_tokens_equal_the_original_recipe(skuli_midi, name):
    path = skuli_midi / name
    expected = recipe_tokens(path)
    got = Tokenizer.skuli().encode(read_midi(path, parts="first", grouping="stream"))
    assert got == expected
    assert name == "8.mid" or len(got) > 200

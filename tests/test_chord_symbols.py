"""Lead-sheet chord symbols in `ChordProgression`: flats written ``b``, slash basses, readings."""

from __future__ import annotations

import pytest

from musegen.generation.processors import ChordProgression

# symbol: (pitch classes, root, bass), worked out by hand (C = 0, Bb = 10)
LEAD_SHEET = {
    "Bb7": ({10, 2, 5, 8}, 10, 10),  # Bb D F Ab
    "Bb": ({10, 2, 5}, 10, 10),  # Bb D F
    "Ebm": ({3, 6, 10}, 3, 3),  # Eb Gb Bb
    "Ebm7": ({3, 6, 10, 1}, 3, 3),  # Eb Gb Bb Db
    "F#m7b5": ({6, 9, 0, 4}, 6, 6),  # F# A C E
    "C/G": ({0, 4, 7}, 0, 7),  # C E G over G
    "Db": ({1, 5, 8}, 1, 1),  # Db F Ab
    "Dbmaj7": ({1, 5, 8, 0}, 1, 1),  # Db F Ab C
    "Bb/D": ({10, 2, 5}, 10, 2),  # Bb D F over D
    "Ab7": ({8, 0, 3, 6}, 8, 8),  # Ab C Eb Gb
    "Gsus4": ({7, 0, 2}, 7, 7),  # G C D
    "Cdim7": ({0, 3, 6, 9}, 0, 0),  # C Eb Gb Bbb
    "E-": ({3, 7, 10}, 3, 3),  # music21's spelling of Eb: Eb G Bb
    "B-7": ({10, 2, 5, 8}, 10, 10),  # music21's spelling of Bb7
    "Gb": ({6, 10, 1}, 6, 6),  # Gb Bb Db
    "Cb": ({11, 3, 6}, 11, 11),  # Cb Eb Gb
    "Ebmaj7": ({3, 7, 10, 2}, 3, 3),  # Eb G Bb D
    "Bbm7b5": ({10, 1, 4, 8}, 10, 10),  # Bb Db Fb Ab
    "C7b9": ({0, 4, 7, 10, 1}, 0, 0),  # C E G Bb Db
    "Eb7#9": ({3, 7, 10, 1, 6}, 3, 3),  # Eb G Bb Db F#
    "Am/Gb": ({9, 0, 4, 6}, 9, 6),  # A C E over Gb
    "F#m7": ({6, 9, 1, 4}, 6, 6),  # F# A C# E
    "Abm6": ({8, 11, 3, 5}, 8, 8),  # Ab Cb Eb F
    "Bbsus2": ({10, 0, 5}, 10, 10),  # Bb C F
    "Ebdim": ({3, 6, 9}, 3, 3),  # Eb Gb Bbb
    "Bbaug": ({10, 2, 6}, 10, 10),  # Bb D F#
    "Dbadd9": ({1, 5, 8, 3}, 1, 1),  # Db F Ab Eb
    "C#m": ({1, 4, 8}, 1, 1),  # C# E G#
    "B\u266d7": ({10, 2, 5, 8}, 10, 10),  # the flat sign itself
    "G7": ({7, 11, 2, 5}, 7, 7),  # G B D F
}


@pytest.mark.parametrize("symbol", LEAD_SHEET)
def test_lead_sheet_symbol_pitch_classes(symbol: str) -> None:
    pcs, root, bass = LEAD_SHEET[symbol]
    root_chords = ChordProgression(symbol, lowest="root")
    assert set(root_chords.pitch_classes[0]) == pcs
    assert root_chords.targets == (root,)
    assert ChordProgression(symbol, lowest="bass").targets == (bass,)


def test_readings_name_the_pitches_from_the_bass_up() -> None:
    chords = ChordProgression("Bb7:2 Ebm F#m7b5 C/G Bb/D Cdim7 E-")
    assert chords.readings == (
        "Bb7 = Bb D F Ab",
        "Ebm = Eb Gb Bb",
        "F#m7b5 = F# A C E",
        "C/G = G C E",
        "Bb/D = D F Bb",
        "Cdim7 = C Eb Gb Bbb",
        "E- = Eb G Bb",
    )
    assert chords.symbols == ("Bb7", "Ebm", "F#m7b5", "C/G", "Bb/D", "Cdim7", "E-")
    assert chords.lengths == (2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0)


def test_to_piece_plays_flat_roots_and_basses() -> None:
    piece = ChordProgression("Bb:2 Eb/G:2").to_piece(4)
    assert [e.pitches for e in piece.events] == [(46, 50, 53), (43, 46, 51)]


@pytest.mark.parametrize(
    ("chords", "why"),
    [
        ("Am Hm7", "it must begin with a root A-G"),
        ("N.C.", "it must begin with a root A-G"),
        ("C7/b9", "the bass after '/' must be a note name, got 'b9'"),
        ("C6/9", "the bass after '/' must be a note name, got '9'"),
        ("Cmaj9", "music21 knows no chord kind 'maj9'"),
        ("Ebm(maj7)", "music21 knows no chord kind 'm(maj7)'"),
    ],
)
def test_refused_symbols_name_the_symbol_and_the_spellings(chords: str, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        ChordProgression(chords)
    message = str(caught.value)
    symbol = chords.split()[-1]
    assert message.startswith(f"cannot read chord symbol {symbol!r} in {chords!r}: {why}")
    assert "'Bb7'" in message and "'F#m7b5'" in message and "'C/G'" in message
    assert "\n" not in message


def test_config_round_trip_keeps_the_lead_sheet_spelling() -> None:
    chords = ChordProgression("Bb7:2 Ebm7:2 F#m7b5 Bb/D", per=3.0, strength=1.5, lowest="bass")
    config = chords.get_config()
    assert config["chords"] == "Bb7:2 Ebm7:2 F#m7b5 Bb/D"
    again = ChordProgression.from_config(config)
    assert again == chords
    assert again.readings == chords.readings
    assert again.pitch_classes == chords.pitch_classes and again.targets == chords.targets

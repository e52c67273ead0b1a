"""`musegen._metre`: the time signatures MIDI can hold, and the length of a bar."""

from __future__ import annotations

import pytest

from musegen._metre import bar_length, parse_time_signature


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("4/4", "4/4"),
        ("3/4", "3/4"),
        ("6/8", "6/8"),
        ("7/16", "7/16"),
        ("1/1", "1/1"),
        ("255/128", "255/128"),
        ("1/128", "1/128"),
        ("3+2/8", "5/8"),
        ("2+2+3/8", "7/8"),
        (" 3 + 3 + 2 / 8 ", "8/8"),
        ("04/04", "4/4"),
        ("128+127/4", "255/4"),
    ],
)
def test_parse_time_signature_accepts_what_midi_holds(text: str, normal: str) -> None:
    assert parse_time_signature(text) == normal


@pytest.mark.parametrize(
    "text",
    [
        "4/3",  # MIDI stores the denominator as a power of two
        "4/6",
        "4/256",
        "300/4",  # the numerator is one byte
        "128+128/4",
        "256/4",
        "0/4",
        "0+0/4",
        "4/0",
        "abc",
        "inf/4",
        "nan/4",
        "4/4.5",
        "3.5/4",
        "-3/4",
        "+3/4",
        "3+/4",
        "3/4/",
        "2/4+3/8",
        "C",
        "4",
        "/4",
        "4/",
        "",
        " ",
        "\u0663/\u0664",  # Arabic-Indic digits: not what a MIDI file's text means
        "9" * 5000 + "/4",
    ],
)
def test_parse_time_signature_refuses_the_rest(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_time_signature(text)
    message = str(caught.value)
    assert message.startswith(f"time signature {text!r} cannot be written to MIDI")
    assert "power of two" in message and "255" in message and "\n" not in message


def test_parse_time_signature_refuses_what_is_not_text() -> None:
    with pytest.raises(ValueError, match="cannot be written to MIDI"):
        parse_time_signature(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("numerator", [1, 2, 3, 5, 7, 12, 255])
@pytest.mark.parametrize("denominator", [1, 2, 4, 8, 16, 32, 64, 128])
def test_bar_length_of_what_midi_holds_is_music21s(numerator: int, denominator: int) -> None:
    from music21 import meter

    text = f"{numerator}/{denominator}"
    expected = float(meter.TimeSignature(text).barDuration.quarterLength)
    assert bar_length(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "quarters"),
    [
        ("4/4", 4.0),
        ("3/4", 3.0),
        ("6/8", 3.0),
        ("3+2/8", 2.5),
        ("2+2+3/8", 3.5),
        # what music21 alone reads keeps its length (not writable to MIDI as it is)
        ("4/3", 16 / 3),
        ("2/4+3/8", 3.5),
        ("C", 4.0),
    ],
)
def test_bar_length_keeps_what_it_read_before(text: str, quarters: float) -> None:
    assert bar_length(text) == pytest.approx(quarters)


@pytest.mark.parametrize("text", ["", "abc", "0/4", "4/0", "x/4", "4/256"])
def test_bar_length_refuses_what_music21_cannot_read(text: str) -> None:
    with pytest.raises(ValueError, match="bad time signature"):
        bar_length(text)

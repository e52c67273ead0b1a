import pytest

from musegen.events import Event, Piece


def test_event_sorts_and_dedupes_pitches():
    event = Event(0, 1, (67, 60, 64, 60))
    assert event.pitches == (60, 64, 67)
    assert event.is_chord and not event.is_rest
    assert event.end == 1.0


def test_rest_is_empty_pitches():
    assert Event(2, 0.5).is_rest
    assert not Event(2, 0.5).is_chord


@pytest.mark.parametrize(
    "kwargs",
    [
        {"offset": -1, "duration": 1},
        {"offset": 0, "duration": -0.5},
        {"offset": 0, "duration": 1, "pitches": (128,)},
    ],
)
def test_event_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        Event(**kwargs)


def test_piece_sorts_events_stably_and_measures_duration():
    a, b, c = Event(1, 1, (60,)), Event(0, 3, (50,)), Event(1, 0.5, (70,))
    piece = Piece((a, b, c))
    assert piece.events == (b, a, c)
    assert piece.duration == 3.0
    assert piece.notes == (b, a, c)


def test_piece_is_frozen_and_transposes():
    piece = Piece((Event(0, 1, (60, 64)), Event(1, 1)), source="x.mid")
    with pytest.raises(AttributeError):
        piece.tempo = 90  # type: ignore[misc]
    up = piece.transpose(3)
    assert [e.pitches for e in up.events] == [(63, 67), ()]
    assert up.source == "x.mid"
    with pytest.raises(ValueError):
        piece.transpose(100)


def test_piece_rejects_bad_tempo():
    with pytest.raises(ValueError):
        Piece(tempo=0)

"""The metre metrics read each piece's own bar lines: positions in the bar, strong beats, groove."""

from __future__ import annotations

import math

import numpy as np
import pytest

from musegen.evaluation.metrics import (
    BAR_POSITION_BINS,
    HISTOGRAMS,
    METRICS,
    bar_position_histogram,
    compare,
    groove_consistency,
    jensen_shannon,
    strong_beat_long_notes,
)
from musegen.events import Event, Piece


def _notes(onsets: list[float], duration: float = 0.25, **metre: object) -> Piece:
    return Piece(tuple(Event(t, duration, (60,)) for t in onsets), **metre)  # type: ignore[arg-type]


# ------------------------------------------------------------------ bar_position_histogram


def test_a_three_four_piece_fills_only_the_first_twelve_bins() -> None:
    sixteenths = _notes([i / 4 for i in range(4 * 12)], time_signature="3/4")  # four bars
    hist = bar_position_histogram([sixteenths])
    assert hist.shape == (BAR_POSITION_BINS,) == (24,)
    assert np.allclose(hist[:12], 1 / 12) and not hist[12:].any()
    assert hist.sum() == pytest.approx(1.0)


def test_a_four_four_piece_fills_the_first_sixteen_bins() -> None:
    hist = bar_position_histogram([_notes([i / 4 for i in range(32)])])
    assert np.allclose(hist[:16], 1 / 16) and not hist[16:].any()


def test_a_pickup_shifts_the_positions() -> None:
    quarters = [0.0, 1.0, 2.0, 3.0, 4.0]
    plain = bar_position_histogram([_notes(quarters)])
    assert np.flatnonzero(plain).tolist() == [0, 4, 8, 12]
    # one quarter of pickup: the note at 0 is the last beat of the bar before the line at 1
    upbeat = bar_position_histogram([_notes(quarters, pickup=1.0)])
    assert upbeat[12] == pytest.approx(2 / 5)  # the pickup note and the one at 4
    assert upbeat[0] == upbeat[4] == upbeat[8] == pytest.approx(1 / 5)
    # a half-bar pickup in 3/4: the notes at 0 and 1 sit on beats 2 and 3
    waltz = bar_position_histogram([_notes([0.0, 1.0, 2.0], time_signature="3/4", pickup=2.0)])
    assert np.flatnonzero(waltz).tolist() == [0, 4, 8]


def test_positions_follow_a_metre_change() -> None:
    # 4/4 bar, then 3/4 from 4: the onsets at 4, 5, 6, 7 are beats 1, 2, 3, 1
    piece = _notes([4.0, 5.0, 6.0, 7.0], time_signature_changes=((4.0, "3/4"),))
    assert np.flatnonzero(bar_position_histogram([piece])).tolist() == [0, 4, 8]


def test_bar_position_histogram_of_no_notes_is_zeros_and_its_distance_nan() -> None:
    empty = bar_position_histogram([Piece((Event(0, 4),))])
    assert not empty.any()
    assert math.isnan(jensen_shannon(empty, bar_position_histogram([_notes([0.0])])))


def test_js_bar_position_is_a_compare_row() -> None:
    assert "bar_position" in HISTOGRAMS
    four = _notes([float(i) for i in range(8)])
    waltz = _notes([float(i) for i in range(9)], time_signature="3/4")
    table = compare({"four": [four], "waltz": [waltz]}, reference=[four])
    assert table["four"]["js_bar_position"].mean == pytest.approx(0.0, abs=1e-12)
    assert table["waltz"]["js_bar_position"].mean > 0.2
    assert "js_bar_position" not in table["reference"]


# ------------------------------------------------------------------ strong_beat_long_notes


def test_half_notes_on_beats_two_and_four_score_zero_and_on_one_and_three_one() -> None:
    off = _notes([1.0, 3.0, 5.0, 7.0], duration=2.0)
    on = _notes([0.0, 2.0, 4.0, 6.0], duration=2.0)
    assert strong_beat_long_notes(off) == 0.0
    assert strong_beat_long_notes(on) == 1.0


def test_strong_beats_in_six_eight_are_zero_and_a_dotted_quarter() -> None:
    six_eight = {"time_signature": "6/8"}
    assert strong_beat_long_notes(_notes([0.0, 1.5, 3.0, 4.5], 1.5, **six_eight), 1.5) == 1.0
    assert strong_beat_long_notes(_notes([0.5, 2.0, 3.5], 1.5, **six_eight), 1.5) == 0.0


def test_three_four_has_only_the_downbeat_and_two_two_has_two_beats() -> None:
    waltz = _notes([0.0, 3.0, 7.0], 2.0, time_signature="3/4")  # 7 is beat 2 of the third bar
    assert strong_beat_long_notes(waltz) == pytest.approx(2 / 3)
    assert strong_beat_long_notes(_notes([1.5], 2.0, time_signature="3/4")) == 0.0
    assert strong_beat_long_notes(_notes([0.0, 2.0, 4.0, 6.0], 2.0, time_signature="2/2")) == 1.0
    assert strong_beat_long_notes(_notes([1.0, 2.0], 2.0, time_signature="2/4")) == 0.5


def test_a_pickup_moves_the_strong_beats() -> None:
    # bar lines at 1, 5: the notes at 1 and 3 are beats 1 and 3, the one at 0 is beat 4
    piece = _notes([0.0, 1.0, 3.0], 2.0, pickup=1.0)
    assert strong_beat_long_notes(piece) == pytest.approx(2 / 3)


def test_strong_beat_long_notes_tolerates_float_noise_and_ignores_short_notes() -> None:
    piece = Piece((Event(2.0 + 1e-9, 2.0, (60,)), Event(1.0, 1.0, (62,)), Event(3.0, 2.0)))
    assert strong_beat_long_notes(piece) == 1.0  # the quarter and the rest left out


def test_strong_beat_long_notes_is_nan_without_long_notes() -> None:
    assert math.isnan(strong_beat_long_notes(_notes([0.0, 1.0], 1.0)))
    assert math.isnan(strong_beat_long_notes(Piece()))
    assert strong_beat_long_notes(_notes([1.0], 1.0), min_length=1.0) == 0.0


# -------------------------------------------------------------------- groove_consistency


def test_groove_of_identical_bars_is_one() -> None:
    bar = [0.0, 1.0, 1.5, 3.0]
    assert groove_consistency(_notes([b + 4 * k for k in range(4) for b in bar])) == 1.0
    waltz = [0.0, 2.0]
    assert groove_consistency(_notes([b + 3 * k for k in range(3) for b in waltz], 1.0,
                                     time_signature="3/4")) == 1.0  # fmt: skip


def test_groove_of_a_full_bar_against_an_empty_bar_is_zero() -> None:
    full_then_empty = Piece((*(Event(i / 4, 0.25, (60,)) for i in range(16)), Event(4.0, 4.0)))
    assert groove_consistency(full_then_empty) == 0.0


def test_groove_averages_the_normalized_distances() -> None:
    # bars: quarters; half notes (2 of 16 cells differ); quarters again (2 of 16)
    piece = _notes([0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 9.0, 10.0, 11.0])
    assert groove_consistency(piece) == pytest.approx(1 - 2 / 16)


def test_groove_reads_the_metre_not_four_four() -> None:
    # one note per 3/4 bar is perfectly regular in 3/4, not when read in 4/4
    onsets = [3.0 * k for k in range(8)]
    assert groove_consistency(_notes(onsets, time_signature="3/4")) == 1.0
    assert groove_consistency(_notes(onsets)) < 1.0


def test_groove_compares_bars_of_different_lengths_over_the_longer_grid() -> None:
    # a 2/4 bar with onsets on both beats, then a 4/4 bar with onsets on the same two beats
    piece = _notes(
        [0.0, 1.0, 2.0, 3.0], time_signature="2/4", time_signature_changes=((2.0, "4/4"),)
    )
    assert groove_consistency(piece) == 1.0
    # an onset on beat 3 of the 4/4 bar is the one cell of 16 that differs
    longer = _notes([0.0, 1.0, 2.0, 3.0, 4.0], time_signature="2/4",
                    time_signature_changes=((2.0, "4/4"),))  # fmt: skip
    assert groove_consistency(longer) == pytest.approx(1 - 1 / 16)


def test_a_pickup_is_a_bar_of_its_own_at_the_end_of_its_full_bar() -> None:
    # pickup quarter at 0 (beat 4), then one bar of quarters: beat 4 is shared, 3 cells differ
    piece = _notes([0.0, 1.0, 2.0, 3.0, 4.0], pickup=1.0)
    assert groove_consistency(piece) == pytest.approx(1 - 3 / 16)


def test_groove_is_nan_with_fewer_than_two_bars() -> None:
    assert math.isnan(groove_consistency(_notes([0.0, 1.0, 2.0, 3.0])))
    assert math.isnan(groove_consistency(Piece()))


def test_an_unreadable_metre_gives_nan() -> None:
    piece = _notes([0.0, 4.0], 2.0, time_signature="not a metre")
    assert math.isnan(strong_beat_long_notes(piece))
    assert math.isnan(groove_consistency(piece))
    assert not bar_position_histogram([piece]).any()


def test_the_per_piece_metre_metrics_are_in_metrics() -> None:
    assert METRICS["strong_beat_long_notes"] is strong_beat_long_notes
    assert METRICS["groove_consistency"] is groove_consistency


# --------------------------------------------------------------------------- real music


def test_metre_metrics_on_bach_chorales_are_finite_shares() -> None:
    pytest.importorskip("music21")
    from musegen.io.corpus import load_corpus

    pieces = [p for p in load_corpus("music21:bach", limit=3, progress=False).pieces if p.notes]
    assert pieces
    for piece in pieces:
        for metric in (strong_beat_long_notes, groove_consistency):
            value = metric(piece)
            assert math.isfinite(value) and 0.0 <= value <= 1.0, (metric.__name__, value)
    hist = bar_position_histogram(pieces)
    assert hist.sum() == pytest.approx(1.0) and (hist >= 0).all()


def test_common_time_has_the_strong_beats_of_four_four_and_rests_have_no_groove() -> None:
    halves = tuple(Event(t, 2, (60,)) for t in (0, 2, 4, 6))
    assert strong_beat_long_notes(Piece(halves, time_signature="C")) == 1.0
    assert math.isnan(groove_consistency(Piece((Event(0, 4), Event(4, 4)))))

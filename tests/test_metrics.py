import math

import numpy as np
import pytest

from musegen.evaluation.metrics import (
    METRICS,
    Stat,
    compare,
    duration_histogram,
    empty_beat_rate,
    evaluate,
    interval_histogram,
    jensen_shannon,
    longest_repeat,
    n_pitch_classes_used,
    pitch_class_entropy,
    pitch_class_histogram,
    pitch_range,
    polyphony,
    repetition_rate,
    scale_consistency,
    velocity_histogram,
)
from musegen.events import Event, Piece

C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


def melody(pitches, duration=1.0, velocity=64):
    return Piece(
        tuple(Event(i * duration, duration, (p,), velocity) for i, p in enumerate(pitches))
    )


def chords(*groups):
    return Piece(tuple(Event(i, 1.0, group) for i, group in enumerate(groups)))


SCALE = melody(C_MAJOR)
SAME_NOTE = melody([60] * 8)
TRIADS = chords((60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67))
EMPTY = Piece()
ONLY_RESTS = Piece((Event(0, 4.0),))


# ------------------------------------------------------------------ metrics on pieces


def test_c_major_scale():
    assert pitch_range(SCALE) == 12
    assert n_pitch_classes_used(SCALE) == 7
    # C twice, six other classes once: P = 2/8 and 6 x 1/8.
    expected = -(2 / 8) * math.log2(2 / 8) - 6 * (1 / 8) * math.log2(1 / 8)
    assert pitch_class_entropy(SCALE) == pytest.approx(expected)
    assert scale_consistency(SCALE) == 1.0
    assert polyphony(SCALE) == 1.0
    assert empty_beat_rate(SCALE) == 0.0
    assert repetition_rate(SCALE) == 0.0
    assert longest_repeat(SCALE) == 0


def test_single_repeated_note():
    assert pitch_range(SAME_NOTE) == 0
    assert n_pitch_classes_used(SAME_NOTE) == 1
    assert pitch_class_entropy(SAME_NOTE) == 0.0
    assert scale_consistency(SAME_NOTE) == 1.0
    assert polyphony(SAME_NOTE) == 1.0
    # 8 events -> 5 four-grams, all the same: 4 of 5 repeat an earlier one.
    assert repetition_rate(SAME_NOTE, n=4) == pytest.approx(4 / 5)
    assert repetition_rate(SAME_NOTE, n=1) == pytest.approx(7 / 8)
    # events 0..6 and 1..7 are the same run of seven notes.
    assert longest_repeat(SAME_NOTE) == 7


def test_chord_sequence():
    assert pitch_range(TRIADS) == 74 - 60
    # pitch classes: C E G | F A C | G B D | C E G -> C x3, E x2, G x3, F, A, B, D.
    assert n_pitch_classes_used(TRIADS) == 7
    counts = np.array([3, 2, 3, 1, 1, 1, 1]) / 12
    assert pitch_class_entropy(TRIADS) == pytest.approx(-(counts * np.log2(counts)).sum())
    assert scale_consistency(TRIADS) == 1.0
    assert polyphony(TRIADS) == 3.0
    assert longest_repeat(TRIADS) == 1  # only the C major triad comes back


def test_polyphony_merges_events_that_start_together():
    piece = Piece((Event(0, 1, (60,)), Event(0, 2, (64, 67)), Event(1, 1, (62,))))
    assert polyphony(piece) == pytest.approx((3 + 1) / 2)


def test_scale_consistency_of_a_chromatic_cluster():
    # No major or minor scale holds three consecutive semitones.
    assert scale_consistency(chords((60, 61, 62))) == pytest.approx(2 / 3)
    chromatic = melody(range(60, 72))
    assert scale_consistency(chromatic) == pytest.approx(7 / 12)
    assert pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))


def test_empty_beat_rate_counts_rests_and_partial_beats():
    piece = Piece((Event(0, 0.5, (60,)), Event(0.5, 2.5), Event(3, 0.25, (62,)), Event(3.25, 1.75)))
    # 5 beats: beat 0 and beat 3 sound; 1, 2 and 4 are empty.
    assert empty_beat_rate(piece) == pytest.approx(3 / 5)
    assert empty_beat_rate(ONLY_RESTS) == 1.0


@pytest.mark.parametrize("metric", list(METRICS.values()), ids=list(METRICS))
def test_every_metric_is_nan_on_an_empty_piece(metric):
    assert math.isnan(metric(EMPTY))


@pytest.mark.parametrize(
    "metric", [pitch_range, n_pitch_classes_used, pitch_class_entropy, scale_consistency, polyphony]
)
def test_pitch_metrics_are_nan_without_notes(metric):
    assert math.isnan(metric(ONLY_RESTS))


def test_repetition_is_high_for_a_loop_and_low_for_a_non_repeating_line():
    phrase = [60, 64, 67, 72, 71, 67]
    loop = melody(phrase * 6)
    rng = np.random.default_rng(0)
    wandering = melody(60 + np.cumsum(rng.choice([-2, -1, 1, 2, 3], size=36)) % 24)
    assert repetition_rate(loop) > 0.8
    assert repetition_rate(wandering) < 0.2
    assert longest_repeat(loop) == len(phrase) * 5
    assert longest_repeat(wandering) < 6


def test_repetition_compares_durations_and_rests():
    same_pitch_other_length = Piece(
        tuple(Event(float(i), 0.5 if i % 2 else 1.0, (60,)) for i in range(6))
    )
    assert repetition_rate(same_pitch_other_length, n=2) == pytest.approx(3 / 5)
    with_rest = Piece((Event(0, 1, (60,)), Event(1, 1), Event(2, 1, (60,)), Event(3, 1)))
    assert longest_repeat(with_rest) == 2


def test_repetition_rate_is_nan_when_too_short_and_rejects_bad_n():
    assert math.isnan(repetition_rate(melody([60, 62]), n=4))
    with pytest.raises(ValueError, match="n >= 1"):
        repetition_rate(SCALE, n=0)


# ------------------------------------------------------------------------- histograms


def test_histograms_count_by_hand():
    piece = Piece((Event(0, 0.5, (60, 64), 100), Event(0.5, 1.5, (67,), 40), Event(2, 1)))
    assert pitch_class_histogram([piece]).tolist() == [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]
    assert duration_histogram([piece]).tolist() == [0, 0, 1, 0, 0, 1, 0, 0, 0]
    assert velocity_histogram([piece]).tolist() == [0, 0, 1, 0, 0, 0, 1, 0]
    intervals = interval_histogram([piece, melody([60, 80, 40])])
    assert intervals.sum() == 3
    assert intervals[12 + 3] == 1  # E4 (top of the first chord) -> G4
    assert intervals[12 + 12] == 1 and intervals[12 - 12] == 1  # leaps clipped to an octave


def test_jensen_shannon_distance():
    p, q = [3, 1, 0, 2], [1, 1, 1, 1]
    assert jensen_shannon(p, p) == 0.0
    assert jensen_shannon(p, [6, 2, 0, 4]) == pytest.approx(0.0, abs=1e-12)
    assert jensen_shannon(p, q) > 0
    assert jensen_shannon(p, q) == pytest.approx(jensen_shannon(q, p))
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)
    # by hand: P = (1, 0), Q = (1/2, 1/2), M = (3/4, 1/4)
    kl_p = math.log2(4 / 3)
    kl_q = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    assert jensen_shannon([1, 0], [1, 1]) == pytest.approx(math.sqrt((kl_p + kl_q) / 2))
    assert math.isnan(jensen_shannon([0, 0], [1, 1]))
    with pytest.raises(ValueError, match="shape"):
        jensen_shannon([1, 2], [1, 2, 3])


# ----------------------------------------------------------------------------- tables


def test_evaluate_averages_and_skips_undefined_pieces():
    table = evaluate([SCALE, SAME_NOTE, EMPTY])
    assert table.n_pieces == 3
    assert list(table) == list(METRICS)
    assert table["pitch_range"] == Stat(6.0, 6.0)  # mean and population std of 12 and 0
    assert table["polyphony"].mean == 1.0
    assert math.isnan(evaluate([EMPTY])["pitch_range"].mean)


def test_evaluate_with_reference_adds_distances():
    identical = evaluate([SCALE, TRIADS], reference=[TRIADS, SCALE])
    distances = {k: v for k, v in identical.items() if k.startswith("js_")}
    assert set(distances) == {
        "js_pitch_class",
        "js_duration",
        "js_velocity",
        "js_interval",
        "js_bar_position",
    }
    assert math.isnan(distances.pop("js_velocity").mean)  # all at one velocity: no dynamics
    assert all(stat.mean == pytest.approx(0.0, abs=1e-12) for stat in distances.values())
    assert all(math.isnan(stat.std) for stat in distances.values())
    different = evaluate([SAME_NOTE], reference=[SCALE])
    assert different["js_pitch_class"].mean > 0
    assert different["js_interval"].mean > 0
    assert different["js_duration"].mean == pytest.approx(0.0, abs=1e-12)


def test_table_prints_aligned_rows():
    text = str(evaluate([SCALE], reference=[SAME_NOTE], name="generated"))
    lines = text.splitlines()
    assert lines[0].split() == ["metric", "generated", "(n=1)"]
    assert len(lines) == 1 + len(METRICS) + 5  # 5 histograms: the js_* rows
    column = lines[0].index("generated")
    assert all(line[column - 1] == " " and line[column] != " " for line in lines)
    assert "pitch_range" in text and "12.000 ± 0.000" in text
    assert evaluate([SCALE]).to_dict()["pitch_range"] == {"mean": 12.0, "std": 0.0}


def test_compare_puts_sets_side_by_side():
    table = compare({"scale": [SCALE], "loop": [SAME_NOTE]}, reference=[SCALE])
    assert list(table) == ["scale", "loop", "reference"]
    assert table["loop"]["longest_repeat"].mean == 7
    assert table["scale"]["js_pitch_class"].mean == pytest.approx(0.0, abs=1e-12)
    assert "js_pitch_class" not in table["reference"]
    lines = str(table).splitlines()
    assert lines[0].split() == ["metric", "scale", "(n=1)", "loop", "(n=1)", "reference", "(n=1)"]
    js_row = next(line for line in lines if line.startswith("js_pitch_class"))
    assert len(js_row.split()) == 3  # the reference column stays blank


def test_js_velocity_cannot_compare_music_written_at_one_velocity() -> None:
    """First hour: generated chorales at one velocity read 1.000 (the worst) against real ones."""
    import math

    from musegen.evaluation.metrics import evaluate
    from musegen.events import Event, Piece

    flat = Piece(tuple(Event(i, 1, (60 + i,), 64) for i in range(4)))
    loud = Piece(tuple(Event(i, 1, (60 + i,), 100) for i in range(4)))
    played = Piece(tuple(Event(i, 1, (60 + i,), 40 + 20 * i) for i in range(4)))
    assert math.isnan(evaluate([flat], reference=[loud])["js_velocity"].mean)
    assert math.isnan(evaluate([played], reference=[flat])["js_velocity"].mean)
    assert evaluate([played], reference=[played])["js_velocity"].mean == 0.0

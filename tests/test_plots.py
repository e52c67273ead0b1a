import builtins

import pytest

pytest.importorskip(
    "matplotlib", reason="musegen.evaluation.plots needs matplotlib (the [plot] extra)"
)

from musegen.evaluation import plots
from musegen.events import Event, Piece

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

PIECE = Piece(
    (
        Event(0, 1, (60, 64, 67), 100),
        Event(1, 0.5, (62,), 40),
        Event(1.5, 0.5),
        Event(2, 2, (72,), 81),
    ),
    source="test.mid",
)


def assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 2000


def test_piano_roll_writes_a_png(tmp_path):
    figure = plots.piano_roll(PIECE, path=tmp_path / "roll.png")
    assert_png(tmp_path / "roll.png")
    ax = figure.axes[0]
    assert ax.get_title() == "test.mid"
    assert [label.get_text() for label in ax.get_yticklabels()] == ["C4", "C5"]
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_piano_roll_draws_into_given_axes_and_handles_an_empty_piece(tmp_path):
    figure = plots.piano_rolls({"a": PIECE, "b": Piece(), "c": PIECE.transpose(3)}, ncols=2)
    titles = [ax.get_title() for ax in figure.axes if ax.get_visible()]
    assert titles[:3] == ["a", "b", "c"]
    plots.piano_roll(Piece(), ax=figure.axes[0])
    plots.save_png(figure, tmp_path / "rolls.png")
    assert_png(tmp_path / "rolls.png")
    with pytest.raises(ValueError, match="at least one"):
        plots.piano_rolls({})


def test_histograms_write_pngs(tmp_path):
    figure = plots.duration_histogram([PIECE, PIECE], path=tmp_path / "durations.png")
    heights = {p.get_x() + p.get_width() / 2: p.get_height() for p in figure.axes[0].patches}
    assert heights == pytest.approx({0.5: 2, 1.0: 2, 2.0: 2})
    assert_png(tmp_path / "durations.png")
    figure = plots.velocity_histogram(PIECE, path=tmp_path / "velocities.png")
    assert sorted(p.get_height() for p in figure.axes[0].patches) == [1, 1, 1]
    assert_png(tmp_path / "velocities.png")


def test_training_curves_from_a_csv_logger_file(tmp_path):
    log = tmp_path / "training.csv"
    log.write_text("epoch,accuracy,loss,val_loss\n0,0.1,4.0,4.1\n1,0.2,3.0,3.5\n2,0.3,2.5,3.4\n")
    figure = plots.training_curves(log, path=tmp_path / "curves.png")
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["loss", "val_loss"]
    assert list(lines[1].get_ydata()) == [4.1, 3.5, 3.4]
    assert_png(tmp_path / "curves.png")


def test_training_curves_name_a_bad_file(tmp_path):
    bad = tmp_path / "notes.csv"
    bad.write_text("step,accuracy\n0,0.5\n")
    with pytest.raises(ValueError, match=r"notes\.csv.*'epoch'"):
        plots.training_curves(bad)
    bad.write_text("epoch,loss\n0,oops\n")
    with pytest.raises(ValueError, match=r"notes\.csv.*not a number"):
        plots.training_curves(bad)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r'pip install "musegen\[plot\]"'):
        plots.piano_roll(PIECE)


def test_piano_roll_draws_a_line_at_each_bar_of_the_metre():
    from musegen.events import Event

    waltz = Piece(tuple(Event(i, 1, (60 + i % 5,)) for i in range(10)), time_signature="3/4")
    figure = plots.piano_roll(waltz)
    (lines,) = [c for c in figure.axes[0].collections if c.get_gid() == "bars"]
    assert [segment[0][0] for segment in lines.get_segments()] == [3.0, 6.0, 9.0]
    assert "3/4" in figure.axes[0].get_xlabel()


def test_bar_lines_follow_the_pickup_and_the_metre_changes() -> None:
    from musegen.evaluation.plots import piano_roll
    from musegen.events import Event, Piece

    piece = Piece(tuple(Event(i, 1, (60 + i % 7,)) for i in range(14)), pickup=1.0,
                  time_signature_changes=((9.0, "3/4"),))  # fmt: skip
    figure = piano_roll(piece)
    (lines,) = [c for c in figure.axes[0].collections if c.get_gid() == "bars"]
    assert [round(seg[0][0], 6) for seg in lines.get_segments()] == [1.0, 5.0, 9.0, 12.0]

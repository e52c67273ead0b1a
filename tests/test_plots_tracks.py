"""A band's piano roll: a colour and a legend entry per track; a single piece keeps its look."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib", reason="musegen.evaluation.plots needs matplotlib")

from musegen.evaluation import plots
from musegen.events import Event, Piece
from musegen.io.tracks import Score, Track


def _part(pitch: int, velocity: int = 80) -> Piece:
    return Piece(tuple(Event(i, 1, (pitch + i,), velocity) for i in range(4)))


BAND = Score((
    Track(_part(72), program=40, name="Violin I"),
    Track(_part(67, 40), program=40, name="Violin II"),
    Track(_part(60), program=41, name=""),
    Track(_part(36, 120), program=0, name="Kit", is_drum=True),
))  # fmt: skip


def test_a_four_track_score_has_a_legend_of_its_tracks_and_colours_apart(tmp_path) -> None:
    figure = plots.piano_roll(BAND, path=tmp_path / "band.png")
    ax = figure.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["Violin I", "Violin II", "Viola", "Kit"]
    assert len(figure.axes) == 1  # no velocity colour bar for a band
    colours = {tuple(c[:3]) for c in ax.collections[0].get_facecolors()}
    assert len(colours) == 4  # one colour a track
    alphas = sorted({round(float(c[3]), 3) for c in ax.collections[0].get_facecolors()})
    assert alphas[0] < alphas[-1]  # louder notes more opaque
    assert (tmp_path / "band.png").read_bytes().startswith(b"\x89PNG")


def test_a_single_track_piece_or_score_has_no_legend_but_a_colour_bar() -> None:
    for music in (_part(60), Score((Track(_part(60), program=40, name="Violin"),))):
        figure = plots.piano_roll(music)
        assert figure.axes[0].get_legend() is None
        assert len(figure.axes) == 2  # the axes and the velocity colour bar

"""Figures: piano rolls, duration and velocity histograms, training curves.

Needs matplotlib (``pip install "musegen[plot]"``), imported only when a function
is called. Figures are built without pyplot (no window opens, no global figure
list grows), so they work on headless machines; in a notebook, a returned
figure displays itself. Given ``path=``, each function also saves the figure as
a PNG, atomically.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from musegen._files import atomic_write_bytes
from musegen.events import Piece
from musegen.io.tracks import Score

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "duration_histogram",
    "piano_roll",
    "piano_rolls",
    "save_png",
    "training_curves",
    "velocity_histogram",
]

_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
PathLike = str | os.PathLike[str]


def _new_figure(figsize: tuple[float, float], ncols: int = 1, nrows: int = 1) -> tuple[Any, Any]:
    """A figure (not registered with pyplot) and its axes."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            'musegen.evaluation.plots needs matplotlib: pip install "musegen[plot]"'
        ) from None
    figure = Figure(figsize=figsize, layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False)
    return figure, axes


def _figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return cast("Figure", ax.figure), ax
    figure, axes = _new_figure(figsize)
    return figure, axes[0, 0]


def save_png(figure: Figure, path: PathLike, *, dpi: int = 100) -> Path:
    """Save `figure` as a PNG at `path`, atomically; returns the path.

    Examples:
        >>> from musegen.events import Event
        >>> figure = piano_roll(Piece((Event(0, 1, (60,)),)))
        >>> save_png(figure, "roll.png")  # doctest: +SKIP
        PosixPath('roll.png')
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return atomic_write_bytes(path, buffer.getvalue())


def _finish(figure: Figure, path: PathLike | None) -> Figure:
    if path is not None:
        save_png(figure, path)
    return figure


def _as_list(pieces: Piece | Iterable[Piece]) -> list[Piece]:
    return [pieces] if isinstance(pieces, Piece) else list(pieces)


def _velocity_shades() -> tuple[Any, Any]:
    """Colour map for velocities: light blue (quiet) to dark blue (loud), never white."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap, Normalize

    blues = colormaps["Blues"]
    return ListedColormap(blues([0.3 + 0.7 * i / 255 for i in range(256)])), Normalize(0, 127)


def piano_roll(
    piece: Piece | Score,
    ax: Axes | None = None,
    path: PathLike | None = None,
    *,
    title: str | None = None,
    colorbar: bool = True,
) -> Figure:
    """Draw `piece` as a piano roll: one bar per note, darker for louder.

    Time runs left to right in quarter lengths, with a thin line at each bar
    of the piece's metre; pitches run bottom to top, with each C labelled
    (``C4`` is MIDI 60). A `Score` of several tracks (a band) draws each track
    in its own colour (matplotlib's ``tab10``), louder notes more opaque, with
    a legend naming the tracks (drums included, at their key numbers) and no
    velocity colour bar; a score of one track is drawn as a piece.

    Args:
        piece: What to draw: a piece, or a score of tracks.
        ax: Axes to draw into; a new figure when None.
        path: Also save the figure there as a PNG.
        title: Axes title; defaults to the piece's source, if any.
        colorbar: Add a velocity colour bar beside the axes (a piece's only).

    Returns:
        The figure holding the plot.

    Examples:
        >>> from musegen.events import Event
        >>> figure = piano_roll(Piece((Event(0, 1, (60, 64, 67), 90), Event(1, 2, (62,), 40))))
        >>> figure.axes[0].get_xlabel()
        'time (quarter lengths; a line at each bar of 4/4)'
        >>> from musegen.io.tracks import Track
        >>> band = Score((Track(Piece((Event(0, 1, (67,)),)), 40, "violin"),
        ...               Track(Piece((Event(0, 1, (36,)),)), 0, "kit", is_drum=True)))
        >>> [t.get_text() for t in piano_roll(band).axes[0].get_legend().get_texts()]
        ['violin', 'kit']
    """
    figure, ax = _figure_and_axes(ax, (10, 4))
    from matplotlib.collections import PolyCollection

    tracks = _tracks(piece)
    whole = piece.merged(drums=True) if isinstance(piece, Score) else piece
    ax.set_title(whole.source if title is None else title)
    boxes, shades, colours = [], [], []
    for index, (_, notes) in enumerate(tracks):
        for event in notes.notes:
            x0, x1 = event.offset, event.offset + max(event.duration, 0.05)
            for pitch in event.pitches:
                y0, y1 = pitch - 0.4, pitch + 0.4
                boxes.append([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
                shades.append(event.velocity)
                colours.append(index)
    if len(tracks) > 1:
        bars = PolyCollection(boxes, facecolors=_track_colours(colours, shades), edgecolors="none")
    else:
        cmap, norm = _velocity_shades()
        bars = PolyCollection(boxes, cmap=cmap, norm=norm, edgecolors="none")
        bars.set_array(shades)
    ax.add_collection(bars)
    if not boxes:
        ax.text(0.5, 0.5, "no notes", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
        return _finish(figure, path)
    pitches = [p for e in whole.notes for p in e.pitches]
    low, high = min(pitches), max(pitches)
    ax.set_xlim(0, max(whole.duration, 1.0))
    ax.set_ylim(low - 1.5, high + 1.5)
    ticks = [p for p in range(low - 1, high + 2) if p % 12 == 0] or [low]
    ax.set_yticks(ticks, [f"{_NOTE_NAMES[p % 12]}{p // 12 - 1}" for p in ticks])
    ax.set_xlabel("time (quarter lengths)")
    ax.set_ylabel("pitch")
    ax.grid(axis="y", alpha=0.3)
    _bar_lines(ax, whole, low - 1.5, high + 1.5)
    if len(tracks) > 1:
        from matplotlib.patches import Patch

        handles = [Patch(color=_track_colour(i % 10), label=name)
                   for i, (name, _) in enumerate(tracks)]  # fmt: skip
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small",
                  title="tracks (louder: darker)", title_fontsize="small")  # fmt: skip
    elif colorbar:
        figure.colorbar(bars, ax=ax, label="velocity", pad=0.01)
    return _finish(figure, path)


def _tracks(piece: Piece | Score) -> list[tuple[str, Piece]]:
    """The parts to colour apart: a score's tracks, named, or the piece (or lone track) as one.

    Each track is named as `musegen.io.writing.write_midi` names it in the file:
    its own name, else its General MIDI instrument's (``Drums`` for a kit), a
    name taken already numbered (``Violin 2``).
    """
    if not isinstance(piece, Score) or len(piece.tracks) < 2:
        return [("", piece.merged(drums=True) if isinstance(piece, Score) else piece)]
    from musegen.io._channels import track_names

    names = track_names([(t.name, t.program, t.is_drum) for t in piece.tracks])
    return [(name, track.piece) for name, track in zip(names, piece.tracks, strict=True)]


def _track_colour(index: int) -> tuple[float, float, float, float]:
    """The ``tab10`` colour of track `index` (0..9; more tracks repeat the colours)."""
    from matplotlib import colormaps

    return cast("tuple[float, float, float, float]", colormaps["tab10"](index % 10))


def _track_colours(indices: list[int], velocities: list[int]) -> list[tuple[float, ...]]:
    """Each box's track colour, more opaque the louder its note (velocity 0: 0.3, 127: 1)."""
    return [
        (*_track_colour(i)[:3], 0.3 + 0.7 * min(max(v, 0), 127) / 127)
        for i, v in zip(indices, velocities, strict=True)
    ]


def _bar_lines(ax: Axes, piece: Piece, bottom: float, top: float) -> None:
    """A thin grey line at each bar line of `piece` after 0 (pickup, changes; gid ``"bars"``)."""
    try:
        starts = [line for line in piece.bar_lines(max(piece.duration, 1.0)) if line > 0]
    except ValueError:  # a metre music21 cannot read: no bar lines
        return
    lines = ax.vlines(starts, bottom, top, colors="0.6", linewidth=0.8, zorder=0.5)
    lines.set_gid("bars")
    ax.set_xlabel(f"time (quarter lengths; a line at each bar of {piece.time_signature})")


def piano_rolls(
    pieces: Mapping[str, Piece],
    path: PathLike | None = None,
    *,
    ncols: int = 2,
) -> Figure:
    """Draw several pieces side by side, titled by name (e.g. one per sampler).

    Args:
        pieces: Title -> piece.
        path: Also save the figure there as a PNG.
        ncols: Plots per row.

    Returns:
        The figure.

    Raises:
        ValueError: `pieces` is empty.

    Examples:
        >>> from musegen.events import Event
        >>> a, b = Piece((Event(0, 1, (60,)),)), Piece((Event(0, 1, (67,)),))
        >>> [ax.get_title() for ax in piano_rolls({"top_k": a, "top_p": b}).axes[:2]]
        ['top_k', 'top_p']
    """
    if not pieces:
        raise ValueError("piano_rolls needs at least one piece")
    ncols = max(1, min(ncols, len(pieces)))
    nrows = math.ceil(len(pieces) / ncols)
    figure, axes = _new_figure((6 * ncols, 3.5 * nrows), ncols=ncols, nrows=nrows)
    for ax, (name, piece) in zip(axes.flat, pieces.items(), strict=False):
        piano_roll(piece, ax=ax, title=name, colorbar=False)
    used = list(axes.flat)[: len(pieces)]
    for ax in list(axes.flat)[len(pieces) :]:
        ax.set_visible(False)
    from matplotlib.cm import ScalarMappable

    cmap, norm = _velocity_shades()
    figure.colorbar(ScalarMappable(norm, cmap), ax=used, label="velocity", shrink=0.8)
    return _finish(figure, path)


def _bar_counts(
    values: list[float],
    ax: Axes | None,
    path: PathLike | None,
    xlabel: str,
    title: str,
    width: float,
) -> Figure:
    figure, ax = _figure_and_axes(ax, (7, 3.5))
    counts = Counter(values)
    keys = sorted(counts)
    ax.bar(keys, [counts[k] for k in keys], width=width, color="tab:blue")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    if not keys:
        ax.text(0.5, 0.5, "no notes", ha="center", va="center", transform=ax.transAxes)
    return _finish(figure, path)


def duration_histogram(
    pieces: Piece | Iterable[Piece],
    ax: Axes | None = None,
    path: PathLike | None = None,
    *,
    title: str = "Note durations",
) -> Figure:
    """Bar chart of how often each note duration occurs (rests left out).

    One bar per distinct duration (rounded to 1/1000 of a quarter length), at
    its value in quarter lengths.

    Args:
        pieces: A piece or several.
        ax: Axes to draw into; a new figure when None.
        path: Also save the figure there as a PNG.
        title: Axes title.

    Examples:
        >>> from musegen.events import Event
        >>> figure = duration_histogram(Piece((Event(0, 0.5, (60,)), Event(1, 1, (62,)))))
        >>> len(figure.axes[0].patches)
        2
    """
    durations = [round(e.duration, 3) for p in _as_list(pieces) for e in p.notes]
    return _bar_counts(durations, ax, path, "duration (quarter lengths)", title, width=0.08)


def velocity_histogram(
    pieces: Piece | Iterable[Piece],
    ax: Axes | None = None,
    path: PathLike | None = None,
    *,
    title: str = "Note velocities",
) -> Figure:
    """Bar chart of how often each MIDI velocity (0-127) occurs (rests left out).

    Args:
        pieces: A piece or several.
        ax: Axes to draw into; a new figure when None.
        path: Also save the figure there as a PNG.
        title: Axes title.

    Examples:
        >>> from musegen.events import Event
        >>> figure = velocity_histogram(Piece((Event(0, 1, (60,), 81), Event(1, 1, (62,), 81))))
        >>> [int(patch.get_height()) for patch in figure.axes[0].patches]
        [2]
    """
    velocities = [float(e.velocity) for p in _as_list(pieces) for e in p.notes]
    return _bar_counts(velocities, ax, path, "velocity", title, width=1.5)


def training_curves(
    csv_path: PathLike,
    ax: Axes | None = None,
    path: PathLike | None = None,
    *,
    title: str = "Training",
) -> Figure:
    """Plot every ``*loss`` column of a Keras ``CSVLogger`` file against its epoch column.

    Args:
        csv_path: The CSV file (columns such as ``epoch``, ``loss``, ``val_loss``).
        ax: Axes to draw into; a new figure when None.
        path: Also save the figure there as a PNG.
        title: Axes title.

    Raises:
        FileNotFoundError: `csv_path` does not exist.
        ValueError: naming the file, when it has no ``epoch`` or no loss column,
            or a value is not a number.

    Examples:
        >>> figure = training_curves("training.csv")  # doctest: +SKIP
        >>> [line.get_label() for line in figure.axes[0].get_lines()]  # doctest: +SKIP
        ['loss', 'val_loss']
    """
    source = Path(csv_path)
    with source.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns = list(rows[0]) if rows else []
    losses = [c for c in columns if c.endswith("loss")]
    if "epoch" not in columns or not losses:
        raise ValueError(
            f"{source}: expected a Keras CSVLogger file with an 'epoch' column and a "
            f"'loss' column, found columns {columns}"
        )
    figure, ax = _figure_and_axes(ax, (7, 4))
    try:
        epochs = [int(float(row["epoch"])) for row in rows]
        for column in losses:
            ax.plot(epochs, [float(row[column]) for row in rows], marker=".", label=column)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: a value is not a number ({err})") from None
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return _finish(figure, path)

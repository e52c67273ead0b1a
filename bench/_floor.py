"""The real-vs-real floor shared by bench/quality.py and bench/readme_job.py (not the library).

Distances between sets of pieces shrink as the sets grow, so a generated set is
judged against real music cut to the same number and length of pieces: the
floor is the distance from such real sets (drawn at random from the training
songs) to the held-out songs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np


def cut(piece: Any, start: float, length: float) -> Any:
    """The events of `piece` starting in [start, start + length), moved to start at 0.

    Events that sound past the end are shortened to it.
    """
    end = start + length
    return piece.with_events(
        tuple(
            replace(e, offset=e.offset - start, duration=min(e.duration, end - e.offset))
            for e in piece.events
            if start - 1e-6 <= e.offset < end - 1e-6
        )
    )


def floor(
    train: list[Any],
    held_out: list[Any],
    *,
    pieces: int,
    quarters: float,
    draws: int,
    seed: int,
    encoding: Any = None,
) -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]] | None, Any]:
    """Mean and std over `draws` of `compare` rows of real excerpts against `held_out`.

    Returns:
        (floor, round_trip_floor, reference table): the second is the same real
        excerpts after a round trip through `encoding` (None without one).
    """
    from musegen.metrics import compare

    rng = np.random.default_rng(seed)
    long_train = [p for p in train if p.duration >= quarters]
    tables = []
    for _ in range(draws):
        chosen = rng.choice(len(long_train), size=pieces, replace=pieces > len(long_train))
        real = []
        for i in chosen:
            song = long_train[int(i)]
            start = float(rng.integers(0, int(song.duration - quarters) + 1))
            real.append(cut(song, start, quarters))
        sets = {"real": real}
        if encoding is not None:
            sets["trip"] = [encoding.decode(encoding.encode(p)) for p in real]
        tables.append(compare(sets, reference=held_out))

    def summary(column: str) -> dict[str, tuple[float, float]]:
        keys = list(tables[0][column])
        values = {k: [t[column][k].mean for t in tables] for k in keys}
        return {k: (float(np.nanmean(v)), float(np.nanstd(v))) for k, v in values.items()}

    trip = summary("trip") if encoding is not None else None
    return summary("real"), trip, tables[0]["reference"]

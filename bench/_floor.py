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
    excerpt = piece.with_events(
        tuple(
            replace(e, offset=e.offset - start, duration=min(e.duration, end - e.offset))
            for e in piece.events
            if start - 1e-6 <= e.offset < end - 1e-6
        )
    )
    return with_metre(excerpt, piece, start)


def with_metre(piece: Any, source: Any, start: float) -> Any:
    """`piece` with the bars of `source` from `start` on: its metre there, pickup and changes.

    So an excerpt (or a continuation from `start`) keeps the bar lines it had in
    its song, which the metre metrics read.
    """
    metre = source.metre_from(start)
    return replace(
        piece,
        time_signature=metre.time_signature,
        time_signature_changes=metre.time_signature_changes,
        pickup=metre.pickup,
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
    from musegen.evaluation.metrics import compare

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


def longest_shared_run(tokens: list[str], songs: list[list[str]]) -> int:
    """Length of the longest run of `tokens` that also occurs in one of `songs`.

    Runs are compared by a 64-bit rolling hash (collisions are negligible at
    these sizes); binary search on the length, since a shared run's prefixes
    are shared too.
    """
    index: dict[str, int] = {}

    def prefix_hashes(seq: list[str]) -> np.ndarray:
        ids = [index.setdefault(t, len(index)) + 1 for t in seq]
        out = np.zeros(len(ids) + 1, dtype=np.uint64)
        for i, x in enumerate(ids):
            out[i + 1] = out[i] * _BASE + np.uint64(x)
        return out

    with np.errstate(over="ignore"):  # the hashes wrap around 2**64 on purpose
        mine = prefix_hashes(tokens)
        theirs = [prefix_hashes(s) for s in songs]

    def grams(prefix: np.ndarray, n: int) -> np.ndarray:
        return prefix[n:] - prefix[:-n] * (_BASE ** np.uint64(n))

    def shared(n: int) -> bool:
        pool = [grams(p, n) for p in theirs if len(p) > n]
        return bool(pool) and bool(np.isin(grams(mine, n), np.concatenate(pool)).any())

    low, high = 0, len(tokens)
    with np.errstate(over="ignore"):
        while low < high:
            mid = (low + high + 1) // 2
            if shared(mid):
                low = mid
            else:
                high = mid - 1
    return low


_BASE = np.uint64(1_000_003)

"""``musegen tokenize``: read a corpus, print its vocabulary size under every encoding."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence
from typing import Any

from musegen.cli._common import DEFAULT_SOURCE, WORKERS_HELP, load
from musegen.cli._types import positive_int, whole_number
from musegen.events import Piece
from musegen.tokens.encodings import encodings


def add_parser(commands: Any) -> None:
    """The ``tokenize`` subcommand and its options."""
    tokenize = commands.add_parser(
        "tokenize", help="read a corpus and summarize its tokens under the seed's encodings"
    )
    tokenize.add_argument(
        "source",
        nargs="?",
        default=DEFAULT_SOURCE,
        help=f"a folder of MIDI files or music21:<composer> (default {DEFAULT_SOURCE})",
    )
    tokenize.add_argument("--limit", type=positive_int, default=None, help="read at most N files")
    tokenize.add_argument("--parts", choices=("all", "first"), default="all")
    tokenize.add_argument("--workers", type=whole_number(1, 4_096), default=None, help=WORKERS_HELP)
    tokenize.add_argument("--quiet", action="store_true", help="no progress bar")
    tokenize.add_argument(
        "--tracks",
        action="store_true",
        help="also read each file's tracks apart and print the band encodings' vocabularies",
    )
    tokenize.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Summarise the corpus's tokens; 0 on success."""
    corpus = load(args)
    print()
    print(f"{'encoding':<16}{'vocabulary':>12}{'tokens':>10}")
    for name, tokenizer in encodings().items():
        sequences = [tokenizer.encode(p) for p in corpus.pieces]
        vocabulary = len({t for seq in sequences for t in seq})
        print(f"{name:<16}{vocabulary:>12}{sum(map(len, sequences)):>10}")
    if args.tracks:
        _band_encodings(args)
    print()
    print(_histogram("durations (quarter lengths)", _durations(corpus.pieces)))
    print()
    print(_histogram("velocities", Counter(e.velocity for p in corpus.pieces for e in p.notes)))
    return 0


BAND_ENCODINGS: dict[str, dict[str, Any]] = {
    "band-token": {"spelling": "token", "families": False},
    "band-qualified": {"spelling": "qualified", "families": False},
    "band-token-families": {"spelling": "token", "families": True},
    "band-qualified-families": {"spelling": "qualified", "families": True},
}
"""The `TrackTokenizer` options ``--tracks`` prints."""


def _band_encodings(args: argparse.Namespace) -> None:
    """Vocabulary and token counts of every band encoding, the files read as tracks."""
    from musegen.io.corpus import source_files
    from musegen.io.reading import MidiReadError, read_tracks
    from musegen.tokens.track_tokenizer import TrackTokenizer

    scores = []
    for path in source_files(args.source)[: args.limit]:
        try:
            scores.append(read_tracks(path))
        except MidiReadError:
            continue  # named above, when the corpus was read
    programs = Counter((t.program, t.is_drum) for s in scores for t in s.tracks)
    print(
        f"\ntracks: {sum(len(s.tracks) for s in scores)} in {len(scores)} files; programs "
        + ", ".join(f"{'drums' if d else p}: {n}" for (p, d), n in sorted(programs.items()))
    )
    for name, options in BAND_ENCODINGS.items():
        sequences = [TrackTokenizer(**options).encode_score(s) for s in scores]
        vocabulary = len({t for seq in sequences for t in seq})
        print(f"{name:<24}{vocabulary:>12}{sum(map(len, sequences)):>10}")


def _durations(pieces: Sequence[Piece]) -> Counter[float]:
    return Counter(round(e.duration, 3) for p in pieces for e in p.notes)


def _histogram(title: str, counts: Counter[float] | Counter[int], *, rows: int = 12) -> str:
    """Text bars of the most common values, in value order."""
    top = sorted(counts.most_common(rows))
    total = sum(counts.values())
    widest = max((n for _, n in top), default=1)
    lines = [f"{title}: {len(counts)} distinct values, top {len(top)} shown"]
    for value, n in top:
        bar = "#" * max(1, round(40 * n / widest))
        lines.append(f"  {value:>8g} {n:>7} {100 * n / total:5.1f}% {bar}")
    return "\n".join(lines)

"""The ``musegen`` command: thin wrappers over the library.

Example:
    $ musegen tokenize                       # music21's Bach chorales, no downloads
    $ musegen tokenize ../shared/data/skuli-midi --parts first
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence

from musegen.events import Piece
from musegen.midi_io import load_corpus
from musegen.tokenizer import seed_configurations

__all__ = ["main"]

DEFAULT_SOURCE = "music21:bach"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Example:
        >>> main(["tokenize", "music21:bach", "--limit", "2", "--quiet"])  # doctest: +SKIP
        0
    """
    parser = argparse.ArgumentParser(prog="musegen", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    tokenize = commands.add_parser(
        "tokenize", help="read a corpus and summarize its tokens under the seed's encodings"
    )
    tokenize.add_argument(
        "source",
        nargs="?",
        default=DEFAULT_SOURCE,
        help=f"a folder of MIDI files or music21:<composer> (default {DEFAULT_SOURCE})",
    )
    tokenize.add_argument("--limit", type=int, default=None, help="read at most N files")
    tokenize.add_argument("--parts", choices=("all", "first"), default="all")
    tokenize.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.command == "tokenize":
        return _tokenize(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


def _tokenize(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    try:
        corpus = load_corpus(
            args.source, parts=args.parts, limit=args.limit, progress=not args.quiet
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"musegen: {err}", file=sys.stderr)
        return 1
    seconds = time.perf_counter() - start
    print(f"{args.source}: {corpus.summary()} ({seconds:.1f} s)")
    for failure in corpus.failures:
        print(f"  skipped {failure}")
    if not corpus.pieces:
        print("musegen: no pieces to tokenize", file=sys.stderr)
        return 1
    print()
    print(f"{'encoding':<16}{'vocabulary':>12}{'tokens':>10}")
    for name, tokenizer in seed_configurations().items():
        sequences = [tokenizer.encode(p) for p in corpus.pieces]
        vocabulary = len({t for seq in sequences for t in seq})
        print(f"{name:<16}{vocabulary:>12}{sum(map(len, sequences)):>10}")
    print()
    print(_histogram("durations (quarter lengths)", _durations(corpus.pieces)))
    print()
    print(_histogram("velocities", Counter(e.velocity for p in corpus.pieces for e in p.notes)))
    return 0


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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

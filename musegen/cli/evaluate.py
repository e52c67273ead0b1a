"""``musegen evaluate``: the metrics of MIDI files against a reference corpus, as a table."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import sys
from typing import Any

from musegen._words import plural
from musegen.cli._common import (
    CommandError,
    midi_files,
    passed_over,
    print_error,
    read_pieces,
)
from musegen.cli._types import positive_int


def add_parser(commands: Any) -> None:
    """The ``evaluate`` subcommand and its options."""
    evaluate = commands.add_parser(
        "evaluate",
        help="metrics of MIDI files against a reference corpus (musegen.evaluation.metrics)",
        description="The metrics table (musegen.evaluation.metrics) of the given MIDI files, "
        "the reference's own "
        "column beside it, and the Jensen-Shannon distances of their histograms.",
    )
    evaluate.add_argument("files", nargs="+", help="generated MIDI files, or folders of them")
    evaluate.add_argument(
        "--reference",
        required=True,
        help="a folder of MIDI files, music21:<composer> or musegen:skuli",
    )
    evaluate.add_argument(
        "--limit", type=positive_int, default=None, help="read at most N reference files"
    )
    form = evaluate.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the table as JSON")
    form.add_argument("--csv", action="store_true", help="print the table as CSV")
    evaluate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the comparison; 0 on success."""
    from musegen.evaluation.metrics import compare
    from musegen.io.corpus import load_corpus

    files = midi_files(args.files)
    pieces = [piece for _, piece in read_pieces(files) if piece is not None]
    if not pieces:
        raise CommandError("none of the files could be read")
    try:
        reference = load_corpus(args.reference, limit=args.limit, progress=False)
    except (FileNotFoundError, ValueError) as err:
        raise CommandError(f"--reference: {err}", 2) from None
    failures, line = passed_over(reference.failures)
    reference = dataclasses.replace(reference, failures=failures)
    if line:
        print_error(f"--reference: {line}")
    for failure in reference.failures:
        print_error(f"skipped {failure}")
    if not reference.pieces:
        raise CommandError(f"--reference {args.reference}: no pieces to compare with", 2)
    table = compare({"generated": pieces}, reference=reference.pieces)
    if args.json:
        json.dump(_rows(table), sys.stdout, indent=1)
        print()
    elif args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["metric", "column", "mean", "std"])
        for metric, columns in _rows(table).items():
            for column, stat in columns.items():
                writer.writerow([metric, column, stat["mean"], stat["std"]])
    else:
        print(
            f"{plural(len(pieces), 'generated piece')} ({len(files) - len(pieces)} skipped) "
            f"against {args.reference}: {reference.summary()}\n"
        )
        print(table)
    return 0


def _rows(table: Any) -> dict[str, dict[str, dict[str, float | None]]]:
    """Metric -> column -> {"mean", "std"}; NaN becomes None (JSON has no NaN)."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for column, stats in table.items():
        for metric, stat in stats.items():
            out.setdefault(metric, {})[column] = {
                "mean": None if math.isnan(stat.mean) else stat.mean,
                "std": None if math.isnan(stat.std) else stat.std,
            }
    return out

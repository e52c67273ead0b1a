"""``musegen download``: fetch a named dataset that the package does not carry.

``musegen download skuli`` fetches the original recipe's MIDI files; ``musegen download
bl12`` the four polyphonic benchmarks of Boulanger-Lewandowski et al. 2012, converted to
gzipped JSON for `musegen.datasets.load_bl12`.
"""

from __future__ import annotations

import argparse
from typing import Any

from musegen.cli._common import CommandError
from musegen.cli._types import output_folder


def add_parser(commands: Any) -> None:
    """The ``download`` subcommand and its options."""
    from musegen.datasets import DATASETS

    parser = commands.add_parser(
        "download", help="fetch a dataset by name (checked by SHA-256) for musegen:NAME"
    )
    parser.add_argument(
        "name", choices=sorted(DATASETS),
        help="; ".join(f"{name}: {DATASETS[name].description}" for name in sorted(DATASETS)),
    )  # fmt: skip
    parser.add_argument(
        "--to", type=output_folder, default=None,
        help="folder to put it in (default: $MUSEGEN_DATA, else ~/.cache/musegen)",
    )  # fmt: skip
    parser.add_argument("--url", default=None, help="a mirror serving the same files")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Download the dataset and print its folder; 1 when a file could not be had."""
    from musegen.datasets import BL12_NAMES, DATASETS, download

    try:
        folder = download(args.name, args.to, url=args.url)
    except (OSError, ValueError) as err:
        raise CommandError(str(err), code=1) from None
    print(f"musegen:{args.name}: {len(DATASETS[args.name].files)} files in {folder}")
    if args.name == "bl12":
        print(f"read one with musegen.datasets.load_bl12(NAME, {str(folder)!r}), NAME one of")
        print("  " + ", ".join(BL12_NAMES))
    if args.to is not None:
        hint = f"set MUSEGEN_DATA={args.to} for musegen:{args.name} to find it"
        print(f"give that folder as the source, or {hint}")
    return 0

"""``musegen bundles``: the trained bundles that ship, what each learnt and how to play it."""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """The ``bundles`` subcommand (no options)."""
    bundles = commands.add_parser(
        "bundles", help="list the trained bundles that ship with musegen (musegen:<name>)"
    )
    bundles.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print each shipped bundle: its name, corpus, training and a command that plays it; 0.

    Examples:
        >>> run(argparse.Namespace())  # doctest: +ELLIPSIS
        musegen:chorales  the Bach chorales music21 ships
        ...
    """
    from musegen.training.bundle import shipped_bundles

    for name, folder in shipped_bundles().items():
        config = json.loads((folder / "metadata.json").read_text())["config"]
        record = config.get("record", {})
        about = str(record.get("corpus") or config.get("corpus") or "").split(":")[0].split(" (")[0]
        print(f"musegen:{name:<9} {about}")
        if record:
            print(f"  trained {record.get('trained', '?')}; held-out NLL "
                  f"{float(record.get('held_out_nll_per_quarter', float('nan'))):.2f} nats per "
                  f"quarter note; {record.get('defaults', '')}")  # fmt: skip
        print(f"  musegen generate musegen:{name} --bars 8 --png --wav")
    return 0

"""The ``musegen`` command: thin wrappers over the library, one module per subcommand.

Examples:
    $ musegen bundles                        # the trained bundles that ship, to play at once
    $ musegen tokenize                       # music21's Bach chorales, no downloads
    $ musegen download skuli                 # the original recipe's files, once
    $ musegen tokenize musegen:skuli --parts first
    $ musegen train music21:bach --limit 100 --out runs/bach
    $ musegen generate runs/bach --num 4 --png --wav --out runs/bach/bach.mid
    $ musegen infill runs/bach song.mid --bars 9:12 --candidates 64 --out filled.mid
    $ musegen evaluate runs/bach/*.mid --reference music21:bach --limit 100
    $ musegen plot song.mid && musegen render song.mid
    $ musegen export song.mid --out song.musicxml   # notation: key, staves, clefs
    $ musegen train music21:bach --limit 100 --out runs/two --local-workers 2

Errors are one line on standard error, with exit status 2 for bad arguments and
1 for work that failed; no traceback for a user mistake. An option value no run
can use is refused by argparse before any file is read (``musegen generate:
error: argument --bars: ...``); the rest say ``musegen: ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from musegen._files import library_version
from musegen.cli import bundles, download, evaluate, export, generate, infill, look, tokenize, train
from musegen.cli._common import CommandError, print_error, show_warning
from musegen.cli._types import Parser

__all__ = ["CommandError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``musegen`` parser and its subcommands; every option value is checked by its type.

    A value no run can use (``--bars inf``, ``--seed -1``, an existing folder as
    ``--out``) makes it exit 2 with one line, ``musegen generate: error:
    argument --bars: ...`` (`musegen.cli._types`), before any file is read.

    Examples:
        >>> build_parser().parse_args(["generate", "musegen:folk", "--bars", "8"]).bars
        8.0
    """
    parser = Parser(prog="musegen", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"musegen {library_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (tokenize, train, generate, infill, evaluate, look, export, download, bundles):
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (argparse exits 2 on bad arguments).

    Examples:
        >>> main(["plot", "no-such-file.mid"])
        2
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for commands that rerun it
    try:
        with warnings.catch_warnings():  # restores Python's own showwarning afterwards
            warnings.showwarning = show_warning  # musegen's warnings: one line each
            return int(args.run(args))
    except CommandError as err:
        print_error(err)
        return err.code
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""``musegen train``: the options of `musegen.training.recipe.train`, the corpus read, its news."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from musegen.cli._common import DEFAULT_SOURCE, WORKERS_HELP, CommandError, load, load_scores
from musegen.cli._types import (
    SemitoneRange,
    finite_float,
    output_folder,
    positive_int,
    whole_number,
)
from musegen.defaults import TRAINING
from musegen.tokens.encodings import encodings
from musegen.training.recipe import (
    MAX_TRANSPOSE,
    NUMBER_RANGES,
    WHOLE_RANGES,
    Recipe,
    RecipeError,
    TrainingError,
    check_rerun,
    train,
)
from musegen.training.run_lock import RunLock, RunLockedError, is_chief_process

MAX_WORKERS = 4_096
"""The most processes reading files (``--workers``) or training (``--local-workers``)."""


def _whole(field: str) -> Any:
    """The argparse type of a `Recipe` whole number: the range `Recipe` checks."""
    return whole_number(*WHOLE_RANGES[field])


def _number(field: str) -> Any:
    """The argparse type of a `Recipe` number: the range `Recipe` checks."""
    low, high, low_open = NUMBER_RANGES[field]
    return finite_float(low, high, low_open=low_open)


def add_parser(commands: Any) -> None:
    """The ``train`` subcommand and its options."""
    parser = commands.add_parser(
        "train",
        help="train an LSTM on a corpus for a time budget and save a bundle",
        description="Train with the configuration that measured best per CPU minute "
        "(bench/quality.py, docs/quality.md) unless told otherwise.",
    )
    parser.add_argument("source", nargs="?", default=DEFAULT_SOURCE, help="as for tokenize")
    parser.add_argument(
        "--out", required=True, type=output_folder, help="run directory (bundle, checkpoints, log)"
    )
    parser.add_argument(
        "--encoding",
        choices=list(encodings()),
        default=TRAINING.encoding,
        help=f"token encoding (default {TRAINING.encoding}; the seed's are 'skuli' .. 'final')",
    )
    parser.add_argument("--limit", type=positive_int, default=None, help="read at most N files")
    parser.add_argument("--parts", choices=("all", "first"), default="all")
    parser.add_argument(
        "--workers", type=whole_number(1, MAX_WORKERS), default=None, help=WORKERS_HELP
    )
    parser.add_argument(
        "--seq-len", type=_whole("seq_len"), default=TRAINING.seq_len,
        help="tokens per training chunk",
    )  # fmt: skip
    parser.add_argument(
        "--units", type=_whole("units"), nargs="+", default=list(TRAINING.units),
        help="LSTM sizes",
    )  # fmt: skip
    parser.add_argument(
        "--minutes",
        type=_number("minutes"),
        default=TRAINING.minutes,
        help="train for this many minutes, annealing the learning rate to 0 by then "
        f"(default {TRAINING.minutes:g}); 0 trains by --epochs alone",
    )
    parser.add_argument(
        "--epochs",
        type=_whole("epochs"),
        default=None,
        help="most epochs to train (default: as many as --minutes allows; 20 with "
        "--minutes 0, stopping early when the validation loss stops falling)",
    )
    parser.add_argument(
        "--keep",
        choices=("best", "last"),
        default=None,
        help="with --minutes: the weights of the lowest validation loss, or the last "
        f"(default {TRAINING.keep}; last when nothing can be held out for validation)",
    )
    parser.add_argument("--batch-size", type=_whole("batch_size"), default=TRAINING.batch_size)
    parser.add_argument(
        "--learning-rate", type=_number("learning_rate"), default=TRAINING.learning_rate,
        help=f"Adam's first learning rate, > 0 and at most 1 (default {TRAINING.learning_rate:g})",
    )  # fmt: skip
    parser.add_argument(
        "--transpose",
        type=whole_number(-MAX_TRANSPOSE, MAX_TRANSPOSE),
        action=SemitoneRange,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="also train on the songs moved LO..HI semitones, LO <= HI, each from "
        f"-{MAX_TRANSPOSE} to {MAX_TRANSPOSE} (-5 6: all 12 keys; 0 0: none; "
        f"default {TRAINING.transpose}, none with --normalize-keys or --tracks)",
    )
    parser.add_argument(
        "--normalize-keys",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train on every song moved to C major / A minor, instead of moving them by "
        "--transpose; generate then writes in the prime's key or --key's (default "
        f"{TRAINING.normalize_keys}; never with --tracks)",
    )
    parser.add_argument(
        "--views",
        type=_whole("views"),
        default=None,
        metavar="N",
        help="read the trained model in the keys N semitones each way around the music's, its "
        f"predictions averaged, for the held-out NLL and in generate (0 to "
        f"{WHOLE_RANGES['views'][1]}; default {TRAINING.views} with --transpose, at most as far "
        "as it moves the songs each way; else 0; docs/training.md)",
    )
    parser.add_argument(
        "--min-count",
        type=_whole("min_count"),
        default=1,
        help="keep tokens seen at least this often; rarer ones become <unk> (never generated)",
    )
    parser.add_argument(
        "--tracks",
        action="store_true",
        help="one model for the band: each file's tracks apart, tagged with their instruments "
        "(TrackTokenizer; generate then writes a multi-track file)",
    )
    parser.add_argument(
        "--local-workers",
        type=whole_number(1, MAX_WORKERS),
        default=None,
        metavar="N",
        help="train as a cluster of N worker processes on this machine (to try "
        "multi-machine training; on several machines set TF_CONFIG instead, docs/scale.md)",
    )
    parser.add_argument("--seed", type=_whole("seed"), default=0, help="0 to 2**32 - 1")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train and save the bundle; 0 on success.

    With ``TF_CONFIG`` set this process is one worker of a cluster
    (`MultiWorkerMirroredStrategy`); only the chief writes the run directory,
    and locks it before the corpus is read, so that a run refused (the folder
    is another run's, or holds an interrupted run of other options) reads nothing.
    """
    if args.local_workers is not None:
        return _launch(args)
    try:  # the options checked before the corpus is read
        options = {f.name: getattr(args, f.name) for f in fields(Recipe)}  # the same names
        moves = {"transpose": tuple(args.transpose)} if args.transpose is not None else {}
        recipe = Recipe(**{**options, "units": tuple(args.units), **moves})
    except RecipeError as err:
        raise CommandError(str(err), 2) from None
    read = {k: getattr(args, k) for k in ("source", "limit", "parts", "workers")}
    new = not os.path.exists(args.out)
    lock = RunLock(args.out) if is_chief_process() else None
    try:
        if lock is not None:
            lock.acquire()
            check_rerun(args.out, recipe, read)
        return _train(args, recipe, read, lock)
    except RunLockedError as err:
        raise CommandError(str(err), 1) from None
    except TrainingError as err:
        raise CommandError(str(err), 1) from None
    finally:
        if lock is not None:
            lock.release()
        if new:  # refused, or the corpus could not be read: leave no empty folder behind
            with contextlib.suppress(OSError):
                os.rmdir(args.out)


def _train(
    args: argparse.Namespace, recipe: Recipe, read: dict[str, Any], lock: RunLock | None
) -> int:
    """Read the corpus and train, in the run directory `lock` holds (None: not the chief's)."""
    # first: reading forks worker processes, before TensorFlow starts
    music: Any = load_scores(args) if args.tracks else load(args)
    from musegen._quiet import start_tensorflow

    start_tensorflow()  # before the scorer's imports start it without hiding its chatter
    from musegen.evaluation.likelihood import nll_per_quarter
    from musegen.generation.views import TranspositionViews

    verbose = 0 if args.quiet else (1 if sys.stdout.isatty() else 2)  # a bar on a terminal
    try:
        train(
            music,
            args.out,
            recipe,
            read=read,
            scorer=nll_per_quarter,
            views_of=TranspositionViews.around,
            verbose=verbose,
            lock=lock,
        )
    except RecipeError as err:
        raise CommandError(str(err), 2) from None
    return 0


def _launch(args: argparse.Namespace) -> int:
    """Run this command line as ``--local-workers`` workers of one local cluster."""
    from musegen.training.launch import WorkerError, run_local_workers

    if args.local_workers < 1:
        raise CommandError(f"--local-workers must be >= 1, got {args.local_workers}", 2)
    if os.environ.get("TF_CONFIG"):
        raise CommandError("--local-workers starts its own cluster: unset TF_CONFIG", 2)
    argv = _without_option(args.argv, "--local-workers")
    try:
        run_local_workers([sys.executable, "-m", "musegen.cli", *argv], args.local_workers)
    except WorkerError as err:
        raise CommandError(str(err), 1) from None
    return 0


def _without_option(argv: Sequence[str], option: str) -> list[str]:
    """`argv` less `option` and its value (``--opt N``, ``--opt=N``, or argparse's abbreviations).

    Examples:
        >>> _without_option(["train", "--local-w", "2", "--out", "r"], "--local-workers")
        ['train', '--out', 'r']
    """
    kept: list[str] = []
    skip = False
    for arg in argv:
        name, has_value, _ = arg.partition("=")
        if skip:
            skip = False
        elif len(name) > 2 and option.startswith(name):  # argparse took it for `option`
            skip = not has_value
        else:
            kept.append(arg)
    return kept

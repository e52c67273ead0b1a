"""``musegen train``: train an LSTM on a corpus for a time budget and save a bundle."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from musegen._files import atomic_save, atomic_write_text
from musegen._quiet import start_tensorflow
from musegen._words import plural
from musegen.cli._common import DEFAULT_SOURCE, WORKERS_HELP, CommandError, load, load_scores
from musegen.defaults import GENERATION, TRAINING
from musegen.tokens.encodings import encodings


def add_parser(commands: Any) -> None:
    """The ``train`` subcommand and its options."""
    train = commands.add_parser(
        "train",
        help="train an LSTM on a corpus for a time budget and save a bundle",
        description="Train with the configuration that measured best per CPU minute "
        "(bench/quality.py, docs/quality.md) unless told otherwise.",
    )
    train.add_argument("source", nargs="?", default=DEFAULT_SOURCE, help="as for tokenize")
    train.add_argument("--out", required=True, help="run directory (bundle, checkpoints, log)")
    train.add_argument(
        "--encoding",
        choices=list(encodings()),
        default=TRAINING.encoding,
        help=f"token encoding (default {TRAINING.encoding}; the seed's are 'skuli' .. 'final')",
    )
    train.add_argument("--limit", type=int, default=None, help="read at most N files")
    train.add_argument("--parts", choices=("all", "first"), default="all")
    train.add_argument("--workers", type=int, default=None, help=WORKERS_HELP)
    train.add_argument(
        "--seq-len", type=int, default=TRAINING.seq_len, help="tokens per training chunk"
    )
    train.add_argument(
        "--units", type=int, nargs="+", default=list(TRAINING.units), help="LSTM sizes"
    )
    train.add_argument(
        "--minutes",
        type=float,
        default=TRAINING.minutes,
        help="train for this many minutes, annealing the learning rate to 0 by then "
        f"(default {TRAINING.minutes:g}); 0 trains by --epochs alone",
    )
    train.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="most epochs to train (default: as many as --minutes allows; 20 with "
        "--minutes 0, stopping early when the validation loss stops falling)",
    )
    train.add_argument(
        "--keep",
        choices=("best", "last"),
        default=None,
        help="with --minutes: the weights of the lowest validation loss, or the last "
        f"(default {TRAINING.keep}; last when nothing can be held out for validation)",
    )
    train.add_argument("--batch-size", type=int, default=TRAINING.batch_size)
    train.add_argument("--learning-rate", type=float, default=TRAINING.learning_rate)
    train.add_argument(
        "--transpose",
        type=int,
        nargs=2,
        default=None,
        metavar=("LO", "HI"),
        help="also train on the songs moved LO..HI semitones (-5 6: all 12 keys; 0 0: none; "
        f"default {TRAINING.transpose}, none with --normalize-keys or --tracks)",
    )
    train.add_argument(
        "--normalize-keys",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train on every song moved to C major / A minor, instead of moving them by "
        "--transpose; generate then writes in the prime's key or --key's (default "
        f"{TRAINING.normalize_keys}; never with --tracks)",
    )
    train.add_argument(
        "--views",
        type=int,
        default=None,
        metavar="N",
        help="read the trained model in the keys N semitones each way around the music's, its "
        "predictions averaged, for the held-out NLL and in generate (default "
        f"{TRAINING.views} with --transpose, at most as far as it moves the songs each way; "
        "else 0; docs/training.md)",
    )
    train.add_argument(
        "--min-count",
        type=int,
        default=1,
        help="keep tokens seen at least this often; rarer ones become <unk> (never generated)",
    )
    train.add_argument(
        "--tracks",
        action="store_true",
        help="one model for the band: each file's tracks apart, tagged with their instruments "
        "(TrackTokenizer; generate then writes a multi-track file)",
    )
    train.add_argument(
        "--local-workers",
        type=int,
        default=None,
        metavar="N",
        help="train as a cluster of N worker processes on this machine (to try "
        "multi-machine training; on several machines set TF_CONFIG instead, docs/scale.md)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(run=run)


VAL_FRACTION = 0.1  # of the songs; at least one whole song, or the end of a single one
_NOT_SAVED = ("quiet", "run", "argv", "local_workers")  # options that do not shape the model


def run(args: argparse.Namespace) -> int:
    """Train and save the bundle; 0 on success.

    With ``TF_CONFIG`` set this process is one worker of a cluster
    (`MultiWorkerMirroredStrategy`); only the chief writes the run directory.
    """
    if args.local_workers is not None:
        return _launch(args)
    if args.tracks and args.transpose:
        raise CommandError("--tracks does not transpose: leave out --transpose", 2)
    if args.transpose is None:  # the default moves the songs, unless one key or a band is asked
        one_key = args.normalize_keys or (args.normalize_keys is None and TRAINING.normalize_keys)
        default = TRAINING.transpose if not (args.tracks or one_key) else None
        args.transpose = list(default) if default else None
    moved = bool(args.transpose) and list(args.transpose) != [0, 0]
    if args.normalize_keys and (args.tracks or moved):
        what = "--tracks does not transpose" if args.tracks else "--transpose moves songs out of it"
        raise CommandError(f"--normalize-keys moves songs to one key and {what}: choose one", 2)
    if args.normalize_keys is None:  # the default, unless the songs may not (or must not) move
        args.normalize_keys = TRAINING.normalize_keys and not (args.tracks or moved)
    if args.views is not None and args.views < 0:
        raise CommandError(f"--views takes semitones >= 0, got {args.views}", 2)
    if args.views and args.tracks:
        raise CommandError("--tracks does not transpose: leave out --views", 2)
    if args.views is None:  # a model that learnt several keys is read in those it learnt
        args.views = min(TRAINING.views, -args.transpose[0], args.transpose[1]) if moved else 0
        args.views = max(args.views, 0)
    if args.tracks:  # a band: every file's tracks apart, in one stream per file
        pieces: Any = load_scores(args)
        summary = f"{len(pieces)} scores, {sum(len(s.tracks) for s in pieces)} tracks"
    else:
        corpus = load(args)  # first: reading forks worker processes, before TensorFlow starts
        pieces, summary = corpus.pieces, corpus.summary()
    start_tensorflow()
    from musegen.training.bundle import save_bundle
    from musegen.training.custom_loop import barrier, is_chief
    from musegen.training.dataset import (
        SequenceDataset,
        normalized,
        split_pieces,
        transposed,
    )
    from musegen.training.fitting import TimeBudget, distribution_strategy, fit
    from musegen.training.model import build_lstm

    # a worker of a cluster when TF_CONFIG is set; otherwise one device, as always
    strategy = distribution_strategy("multi_worker" if os.environ.get("TF_CONFIG") else "default")

    started = time.perf_counter()
    if args.tracks:
        from musegen.tokens.track_tokenizer import TrackTokenizer

        tokenizer: Any = TrackTokenizer()
        args.encoding = "band"
    else:
        tokenizer = encodings()[args.encoding]
    shifts = tuple(args.transpose) if moved else None
    # the vocabulary of the training songs: a held-out token it lacks is <unk>, as in a new song
    train_pieces, val_pieces = split_pieces(pieces, VAL_FRACTION, args.seed)
    sources = transposed(train_pieces, *shifts) if shifts else train_pieces
    sources = normalized(sources) if args.normalize_keys else sources
    vocabulary = tokenizer.build_vocabulary(sources, min_count=args.min_count)
    data = SequenceDataset.from_pieces(
        pieces,
        tokenizer,
        vocabulary,
        seq_len=args.seq_len,
        shape="chunks",
        val_fraction=VAL_FRACTION,
        seed=args.seed,
        transpose=shifts,
        normalize_keys=args.normalize_keys,
        unknown="map",  # a token rarer than --min-count is still a step in time
    )
    print(f"{args.encoding} encoding: {len(vocabulary)} ids; {data}")
    print(_validation_line(data, pieces, val_pieces, by_time=args.minutes > 0))
    if args.minutes > 0 and args.keep == "best" and not data.num_val:
        raise CommandError("--keep best needs validation data and this run has none", 2)
    if args.keep is None:  # the default: best where there is validation data to choose by
        args.keep = TRAINING.keep if data.num_val else "last"
    with strategy.scope():
        model = build_lstm(
            len(vocabulary),
            units=tuple(args.units),
            return_sequences=True,
            learning_rate=args.learning_rate,
        )
    by_time = args.minutes > 0
    budget = TimeBudget(args.minutes, started_at=started) if by_time else None
    epochs = args.epochs if args.epochs is not None else (1_000_000 if by_time else 20)
    if args.quiet:
        verbose: int | str = 0
    else:
        verbose = 1 if sys.stdout.isatty() else 2  # a bar on a terminal, else a line per epoch
    callbacks: list[Any] = [budget] if budget else []
    keep_best = by_time and args.keep == "best"
    if keep_best:  # a time budget outlasts the best epoch on a small corpus: keep that one
        import keras

        callbacks.append(keras.callbacks.EarlyStopping(patience=10**9, restore_best_weights=True))
    import tensorflow as tf

    trained = _Trained(Path(args.out)) if is_chief(strategy) else None
    history = trained.restore(model) if trained is not None else None
    try:
        if history is None:  # else the training had ended and only its bundle was missing
            history = fit(
                model,
                data,
                epochs=epochs,
                run_dir=args.out,
                batch_size=args.batch_size,
                verbose=verbose,
                callbacks=callbacks,
                patience=None if by_time else 5,
                keep_backup=True,  # until the trained weights are saved (a cluster's goes at once)
            )
            if trained is not None:
                trained.save(model, history.history)
    except ValueError as err:  # another model's backup, a cluster share without a batch
        raise CommandError(str(err)) from None
    except tf.errors.UnavailableError:  # a peer of the cluster went away mid-step
        raise CommandError(
            "lost contact with another worker of the cluster; start every worker again "
            f"with the same command to resume from {Path(args.out) / 'backup'}"
        ) from None
    if keep_best:
        losses = history.history["val_loss"]
        best = min(range(len(losses)), key=losses.__getitem__)
        print(f"kept the weights of epoch {best + 1} of {len(losses)} (lowest validation loss)")
    seconds = time.perf_counter() - started
    if not is_chief(strategy):
        print(f"trained in {seconds / 60:.1f} min; the chief writes the bundle")
        barrier(strategy)
        return 0
    from musegen.generation.views import TranspositionViews

    views = TranspositionViews.around(tokenizer, vocabulary, args.views)
    nll = _held_out_nll(data, val_pieces, model, keys_normalized=args.normalize_keys, views=views)
    steps = plural(budget.steps, "step") if budget else plural(len(history.epoch), "epoch")
    if budget and not budget.steps and history.epoch:
        steps = f"{plural(len(history.epoch), 'epoch')} (before the restart)"
    print(
        f"trained {steps} in {seconds / 60:.1f} min"
        + (f"; held-out NLL {nll:.2f} nats per quarter note" if nll is not None else "")
        + (f", the model read in {len(views)} keys" if views and nll is not None else "")
        + (" (on the songs that chose the weights)" if keep_best and nll is not None else "")
    )
    prime = _prime(data, min(args.seq_len, 16), args.seed)
    path = save_bundle(
        Path(args.out) / "bundle",
        model,
        tokenizer,
        vocabulary,
        prime=prime,
        training={k: v for k, v in vars(args).items() if k not in _NOT_SAVED},
        generation=GENERATION.to_dict(),
        corpus=summary,
        held_out_nll_per_quarter=nll,
        history={k: [float(x) for x in v] for k, v in history.history.items()},
    )
    print(f"saved {path}")
    if trained is not None:
        trained.finish()
    barrier(strategy)  # the workers leave together: one gone early reads as a crash to the rest
    return 0


def _validation_line(
    data: Any, pieces: Sequence[Any], val_pieces: Sequence[Any], by_time: bool
) -> str:
    """One line on what is held out for validation, or that nothing is and what that costs."""
    import numpy as np

    if not data.num_val:
        why = (
            "the held-out songs are too short to give an example (2 tokens each)"
            if val_pieces
            else "the only song cannot be cut in two (its notes start together)"
        )
        then = (
            "the last weights are kept (--keep best is refused)"
            if by_time
            else "early stopping watches the training loss"
        )
        return f"no validation data: {why}; no held-out NLL, and {then}"
    if len(pieces) == 1:
        what = (
            f"the last {val_pieces[0].duration:.1f} of {pieces[0].duration:.1f} quarter notes "
            "of the only song held out"
        )
    else:
        what = f"{len(val_pieces)} of {len(pieces)} songs held out"
    unknown = 100 * float(np.mean(np.concatenate(data.val_ids) == data.vocabulary.unk_id))
    return (
        f"validation: {what}, {data.num_val} examples; {unknown:.1f}% of their tokens "
        "are not in the training vocabulary"
    )


def _held_out_nll(
    data: Any,
    val_pieces: Sequence[Any],
    model: Any,
    keys_normalized: bool = False,
    views: Any = None,
) -> float | None:
    """Held-out NLL per quarter note of the validation songs, or None without any.

    A key-normalized model is scored on the songs moved to its key, plus each
    song's key shift at ``log(12)`` nats, so that the figure compares with a
    model of the songs as they are.
    """
    from musegen.evaluation.likelihood import nll_per_quarter

    songs = [(ids, p.duration) for ids, p in zip(data.val_ids, val_pieces, strict=True)]
    songs = [(ids, q) for ids, q in songs if q > 0 and len(ids) > 1]
    if not songs:
        return None
    nll = nll_per_quarter(
        model, [s for s, _ in songs], [q for _, q in songs], batch_size=4, views=views
    )
    if keys_normalized:
        nll += sum(math.log(12) / q for _, q in songs) / len(songs)
    return nll


def _prime(data: Any, length: int, seed: int) -> list[int] | None:
    """A stretch of a validation song (else a training song) to prime generation with.

    One without ``<unk>`` where a few draws find one: a held-out song may hold
    tokens the training songs lack, and a model never learnt what follows them.
    """
    found: list[list[int]] = []
    for source in ("val", "train"):
        for draw in range(8):
            try:
                ids = [int(i) for i in data.prime(length, source=source, seed=seed + draw)]
            except ValueError:  # no song of that split is long enough (or there is none)
                break
            if data.vocabulary.unk_id not in ids:
                return ids
            found.append(ids)
    return found[0] if found else None


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


class _Trained:
    """The weights and history a finished training leaves until its bundle is written.

    ``fit`` keeps its backup when training ends; `save` writes the trained model's
    weights and history here, then removes the backup; the bundle comes next. A
    run killed before the bundle is written finds them on the rerun (`restore`)
    and writes the bundle without training again.
    """

    def __init__(self, run_dir: Path):
        self.weights = run_dir / "trained.weights.h5"
        self.record = run_dir / "trained.json"
        self.backup = run_dir / "backup"

    def save(self, model: Any, history: dict[str, list[float]]) -> None:
        atomic_save(self.weights, model.save_weights)
        floats = {k: [float(x) for x in v] for k, v in history.items()}
        atomic_write_text(self.record, json.dumps({"history": floats}))  # last: the marker
        shutil.rmtree(self.backup, ignore_errors=True)

    def restore(self, model: Any) -> Any:
        """The history of the training that ended (its weights loaded), or None."""
        if not self.record.is_file():
            self.remove()  # a leftover of a kill while saving: the backup is still there
            return None
        try:
            history = json.loads(self.record.read_text(encoding="utf-8"))["history"]
            model.load_weights(self.weights)
        except Exception as err:  # a foreign or damaged file: train again
            print(f"{self.record}: unreadable ({type(err).__name__}); training again")
            self.remove()
            return None
        epochs = len(next(iter(history.values()), []))
        print(f"training had ended before the bundle was written: writing it from {self.weights}")
        return SimpleNamespace(history=history, epoch=list(range(epochs)))

    def remove(self) -> None:
        self.record.unlink(missing_ok=True)
        self.weights.unlink(missing_ok=True)

    def finish(self) -> None:
        """The bundle is written: nothing of the training is needed any more."""
        self.remove()
        shutil.rmtree(self.backup, ignore_errors=True)

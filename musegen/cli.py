"""The ``musegen`` command: thin wrappers over the library.

Examples:
    $ musegen tokenize                       # music21's Bach chorales, no downloads
    $ musegen tokenize musegen:skuli --parts first
    $ musegen train music21:bach --limit 100 --epochs 5 --out runs/bach
    $ musegen train my-midi/ --transpose -5 6 --minutes 10 --epochs 1000 --out runs/mine
    $ musegen generate runs/bach --steps 300 --sampler top_k --out bach.mid
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from musegen._quiet import start_tensorflow
from musegen.defaults import GENERATION, TRAINING, encodings
from musegen.events import Piece
from musegen.midi_io import Corpus, load_corpus

__all__ = ["main"]

DEFAULT_SOURCE = "music21:bach"
_WORKERS_HELP = "processes reading the files (default: every core)"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Examples:
        >>> main(["tokenize", "music21:bach", "--limit", "2", "--quiet"])  # doctest: +SKIP
        0
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter
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
    tokenize.add_argument("--workers", type=int, default=None, help=_WORKERS_HELP)
    tokenize.add_argument("--quiet", action="store_true", help="no progress bar")
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
    train.add_argument("--workers", type=int, default=None, help=_WORKERS_HELP)
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
        default=TRAINING.keep,
        help="with --minutes: the weights of the lowest validation loss, or the last "
        f"(default {TRAINING.keep})",
    )
    train.add_argument("--batch-size", type=int, default=TRAINING.batch_size)
    train.add_argument("--learning-rate", type=float, default=TRAINING.learning_rate)
    train.add_argument(
        "--transpose",
        type=int,
        nargs=2,
        default=list(TRAINING.transpose) if TRAINING.transpose else None,
        metavar=("LO", "HI"),
        help="also train on the songs moved LO..HI semitones (-5 6: all 12 keys; 0 0: none; "
        f"default {TRAINING.transpose})",
    )
    train.add_argument(
        "--min-count",
        type=int,
        default=1,
        help="keep tokens seen at least this often; rarer ones become <unk> (never generated)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    generate = commands.add_parser("generate", help="generate a MIDI file from a trained bundle")
    generate.add_argument("bundle", help="a bundle directory or the run directory holding one")
    generate.add_argument("--out", required=True, help="MIDI file to write")
    generate.add_argument("--steps", type=int, default=500, help="tokens to generate")
    generate.add_argument(
        "--sampler",
        default=None,
        help="argmax, categorical, top_k, top_p (default: the bundle's, else "
        f"{GENERATION.sampler} {GENERATION.options})",
    )
    generate.add_argument("--k", type=int, default=None, help="k of the top_k sampler (7)")
    generate.add_argument("--p", type=float, default=None, help="p of the top_p sampler (0.9)")
    generate.add_argument("--temperature", type=float, default=None)
    generate.add_argument("--prime", default=None, help="a MIDI file to continue")
    generate.add_argument("--seed", type=int, default=None)
    generate.add_argument(
        "--png", action="store_true", help="also draw the piano roll beside the MIDI file"
    )
    steer = generate.add_argument_group("steering (logits processors, applied before the sampler)")
    steer.add_argument(
        "--key", default=None, help="only pitches of this key, e.g. 'D minor', 'F# major'"
    )
    steer.add_argument(
        "--pitch-range",
        default=None,
        metavar="LOW:HIGH",
        help="only pitches from LOW to HIGH, e.g. C3:C6",
    )
    steer.add_argument(
        "--grammar", action="store_true", help="only tokens that keep the output decodable"
    )
    steer.add_argument(
        "--no-repeat-ngram", type=int, default=None, metavar="N", help="no N tokens in a row twice"
    )
    steer.add_argument(
        "--repetition-penalty",
        type=float,
        default=None,
        metavar="X",
        help="divide the probability of the last --penalty-window tokens' pitches by X",
    )
    steer.add_argument("--penalty-window", type=int, default=32, metavar="N")
    steer.add_argument(
        "--beam",
        type=int,
        default=None,
        metavar="WIDTH",
        help="beam search of this width instead of sampling (deterministic)",
    )
    args = parser.parse_args(argv)
    handlers = {"tokenize": _tokenize, "train": _train, "generate": _generate}
    return handlers[args.command](args)


def _load(args: argparse.Namespace) -> Corpus | None:
    start = time.perf_counter()
    try:
        corpus = load_corpus(
            args.source,
            parts=args.parts,
            limit=args.limit,
            progress=not args.quiet and sys.stderr.isatty(),  # no bar in a log file
            workers=args.workers,
        )
    except (FileNotFoundError, ValueError) as err:
        print(f"musegen: {err}", file=sys.stderr)
        return None
    seconds = time.perf_counter() - start
    print(f"{args.source}: {corpus.summary()} ({seconds:.1f} s)")
    for failure in corpus.failures:
        print(f"  skipped {failure}")
    if not corpus.pieces:
        print("musegen: no pieces to use", file=sys.stderr)
        return None
    return corpus


def _train(args: argparse.Namespace) -> int:
    corpus = _load(args)  # first: reading forks worker processes, best before TensorFlow starts
    if corpus is None:
        return 1
    start_tensorflow()
    from musegen.bundle import save_bundle
    from musegen.dataset import SequenceDataset, transposed
    from musegen.model import build_lstm
    from musegen.training import TimeBudget, fit

    started = time.perf_counter()
    tokenizer = encodings()[args.encoding]
    shifts = tuple(args.transpose) if args.transpose else None
    vocabulary = tokenizer.build_vocabulary(
        transposed(corpus.pieces, *shifts) if shifts else corpus.pieces, min_count=args.min_count
    )
    val_fraction = 0.1 if len(corpus.pieces) >= 10 else 0.0
    data = SequenceDataset.from_pieces(
        corpus.pieces,
        tokenizer,
        vocabulary,
        seq_len=args.seq_len,
        shape="chunks",
        val_fraction=val_fraction,
        seed=args.seed,
        transpose=shifts,
        unknown="map",  # a token rarer than --min-count is still a step in time
    )
    print(f"{args.encoding} encoding: {len(vocabulary)} ids; {data}")
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
    keep_best = by_time and args.keep == "best" and data.num_val > 0
    if keep_best:  # a time budget outlasts the best epoch on a small corpus: keep that one
        import keras

        callbacks.append(keras.callbacks.EarlyStopping(patience=10**9, restore_best_weights=True))
    history = fit(
        model,
        data,
        epochs=epochs,
        run_dir=args.out,
        batch_size=args.batch_size,
        verbose=verbose,
        callbacks=callbacks,
        patience=None if by_time else 5,
    )
    if keep_best:
        losses = history.history["val_loss"]
        best = min(range(len(losses)), key=losses.__getitem__)
        print(f"kept the weights of epoch {best + 1} of {len(losses)} (lowest validation loss)")
    seconds = time.perf_counter() - started
    nll = _held_out_nll(data, corpus.pieces, val_fraction, args.seed, model)
    steps = f"{budget.steps} steps" if budget else f"{len(history.epoch)} epochs"
    print(
        f"trained {steps} in {seconds / 60:.1f} min"
        + (f"; held-out NLL {nll:.2f} nats per quarter note" if nll is not None else "")
    )
    prime = _prime(data, min(args.seq_len, 16), args.seed)
    path = save_bundle(
        Path(args.out) / "bundle",
        model,
        tokenizer,
        vocabulary,
        prime=prime,
        training={k: v for k, v in vars(args).items() if k != "quiet"},
        generation=GENERATION.to_dict(),
        corpus=corpus.summary(),
        held_out_nll_per_quarter=nll,
        history={k: [float(x) for x in v] for k, v in history.history.items()},
    )
    print(f"saved {path}")
    return 0


def _held_out_nll(
    data: Any, pieces: Sequence[Piece], val_fraction: float, seed: int, model: Any
) -> float | None:
    """Held-out NLL per quarter note of the validation songs, or None without any."""
    from musegen.dataset import split_songs
    from musegen.likelihood import nll_per_quarter

    _, val_index = split_songs(len(pieces), val_fraction, seed)
    songs = [(ids, pieces[i].duration) for ids, i in zip(data.val_ids, val_index, strict=True)]
    songs = [(ids, q) for ids, q in songs if q > 0 and len(ids) > 1]
    if not songs:
        return None
    return nll_per_quarter(model, [s for s, _ in songs], [q for _, q in songs], batch_size=4)


def _prime(data: Any, length: int, seed: int) -> list[int] | None:
    """A stretch of a validation song (else a training song) to prime generation with."""
    for source in ("val", "train"):
        try:
            return [int(i) for i in data.prime(length, source=source, seed=seed)]
        except ValueError:  # no song of that split is long enough (or there is none)
            continue
    return None


def _generate(args: argparse.Namespace) -> int:
    start_tensorflow()
    from musegen import samplers
    from musegen.bundle import BundleError, load_bundle
    from musegen.generation import generate, prime_ids
    from musegen.midi_io import MidiReadError, read_midi, write_midi
    from musegen.token_table import TokenTable

    where = Path(args.bundle)
    if (where / "bundle").is_dir():
        where = where / "bundle"
    try:
        bundle = load_bundle(where)
    except BundleError as err:
        print(f"musegen: {err}", file=sys.stderr)
        return 1
    try:
        config = _sampler_config(args, bundle.metadata.get("generation"))
        sampler = samplers.get(config.pop("name"), **config)
        chain = _steering(args)
    except (ValueError, TypeError) as err:
        print(f"musegen: {err}", file=sys.stderr)
        return 2
    if args.prime:
        try:
            tokens = bundle.tokenizer.encode(read_midi(args.prime))
        except MidiReadError as err:
            print(f"musegen: {err}", file=sys.stderr)
            return 1
        prime = prime_ids(tokens, bundle.vocabulary, unknown="skip")
    else:
        prime = list(bundle.metadata.get("prime") or [2])
    table = TokenTable.build(bundle.tokenizer, bundle.vocabulary) if chain else None
    try:
        if args.beam:
            from musegen.beam import beam_search

            ids = beam_search(
                bundle.model, prime, args.steps, args.beam, processors=chain, table=table
            )[0][0]
        else:
            ids = generate(
                bundle.model, prime, args.steps, sampler, processors=chain, table=table,
                seed=args.seed,
            )[0]  # fmt: skip
    except (ValueError, TypeError) as err:  # a processor that cannot read this tokenizer
        print(f"musegen: {err}", file=sys.stderr)
        return 1
    piece, skipped = _continuation(
        bundle.tokenizer, bundle.vocabulary.decode(prime), bundle.vocabulary.decode(ids)
    )
    write_midi(piece, args.out)
    print(
        f"wrote {args.out}: {len(piece.notes)} notes and chords, "
        f"{piece.duration:.1f} quarter lengths ({len(skipped)} tokens skipped)"
    )
    if args.png:
        try:
            from musegen.plots import piano_roll, save_png
        except ImportError:
            print("musegen: --png needs matplotlib (pip install 'musegen[plot]')", file=sys.stderr)
            return 1
        png = Path(args.out).with_suffix(".png")
        how = f"beam {args.beam}" if args.beam else repr(sampler)
        save_png(piano_roll(piece, title=f"{Path(args.out).name} ({how})"), png)
        print(f"wrote {png}")
    return 0


def _continuation(
    tokenizer: Any, prime: list[str], new: list[str]
) -> tuple[Piece, list[tuple[int, str]]]:
    """The piece the new tokens make after the prime, and the new tokens skipped.

    The prime and the new tokens are decoded together, so that new tokens that
    complete an event the prime began (a prime may end mid-chord) are not
    orphaned; then the prime's own events are dropped and the rest moved to 0.
    """
    whole, skipped = tokenizer.decode_with_skipped([*prime, *new])
    events = whole.events[len(tokenizer.decode(prime).events) :]
    start = events[0].offset if events else 0.0
    moved = tuple(replace(e, offset=e.offset - start) for e in events)
    return whole.with_events(moved), [(i - len(prime), t) for i, t in skipped if i >= len(prime)]


def _steering(args: argparse.Namespace) -> list[Any]:
    """The processors the options ask for: hard constraints first, then the penalties."""
    from musegen import processors

    chain: list[Any] = []
    if args.grammar:
        chain.append(processors.GrammarConstraint())
    if args.key:
        chain.append(processors.KeyConstraint(args.key))
    if args.pitch_range:
        low, sep, high = args.pitch_range.partition(":")
        if not sep:
            raise ValueError(f"--pitch-range takes LOW:HIGH (e.g. C3:C6), got {args.pitch_range!r}")
        chain.append(processors.PitchRange(*(int(x) if x.isdigit() else x for x in (low, high))))
    if args.no_repeat_ngram is not None:
        chain.append(processors.NoRepeatNGram(args.no_repeat_ngram))
    if args.repetition_penalty is not None:
        chain.append(
            processors.RepetitionPenalty(
                args.repetition_penalty, args.penalty_window, only_pitches=True
            )
        )
    if args.beam is not None and args.beam < 1:
        raise ValueError(f"--beam takes a width >= 1, got {args.beam}")
    return chain


def _sampler_config(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    """The sampler: the bundle's (else the library default), with the options given here."""
    config = dict(saved) if saved else GENERATION.to_dict()
    if args.sampler is not None and args.sampler != config.get("name"):
        config = {"name": args.sampler, "temperature": config.get("temperature", 1.0)}
    if args.temperature is not None:
        config["temperature"] = args.temperature
    if args.k is not None and config["name"] == "top_k":
        config["k"] = args.k
    if args.p is not None and config["name"] == "top_p":
        config["p"] = args.p
    return config


def _tokenize(args: argparse.Namespace) -> int:
    corpus = _load(args)
    if corpus is None:
        return 1
    print()
    print(f"{'encoding':<16}{'vocabulary':>12}{'tokens':>10}")
    for name, tokenizer in encodings().items():
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

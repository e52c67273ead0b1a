"""``musegen infill``: regenerate bars of a MIDI file so that they lead into the music after them.

The model reads the file's tracks merged; the notes it writes for the bars are
spliced into the file's own tracks (`musegen.io.splice`), everything else kept.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from musegen._words import plural
from musegen.cli import _steering
from musegen.cli._common import CommandError, bundle_dir, print_error
from musegen.cli._types import bar_range, existing_file, output_file, seed, whole_number

MAX_CANDIDATES = 10_000
"""The most candidates sampled for the gap (``--candidates``)."""


def add_parser(commands: Any) -> None:
    """The ``infill`` subcommand and its options."""
    infill = commands.add_parser(
        "infill", help="regenerate bars of a MIDI file, keeping the rest of it"
    )
    infill.add_argument(
        "bundle", help="a bundle directory, the run directory holding one, or musegen:NAME"
    )
    infill.add_argument("file", type=existing_file, help="the MIDI file to fill")
    infill.add_argument(
        "--bars", required=True, type=bar_range, metavar="FIRST:LAST",
        help="the bars to regenerate, e.g. 9:12",
    )  # fmt: skip
    infill.add_argument(
        "--out", required=True, type=output_file,
        help="MIDI file to write (not FILE: it is never written over)",
    )  # fmt: skip
    infill.add_argument(
        "--candidates", type=whole_number(1, MAX_CANDIDATES), default=64,
        help=f"candidates sampled for the gap (64; at most {MAX_CANDIDATES})",
    )  # fmt: skip
    infill.add_argument("--seed", type=seed, default=None, help="0 to 2**32 - 1")
    _steering.add_options(infill, full=False)  # --key, --chords, --grammar: for the gap
    infill.add_argument("--png", action="store_true", help="also draw the piano roll")
    infill.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Fill ``--bars`` of the file with the best of ``--candidates``, spliced in; 0 on success."""
    bars = args.bars  # (first, last), checked by its type
    where = bundle_dir(args.bundle)
    if not where.exists():
        raise CommandError(f"no such run or bundle directory: {args.bundle!r}", 2)
    if Path(args.file).suffix.lower() not in (".mid", ".midi"):
        raise CommandError(f"{args.file}: infill splices into MIDI files (.mid, .midi) only", 2)
    from musegen.io._midi_common import MidiReadError
    from musegen.io.splice import bar_span, check_target, splice_gap, time_signature_at

    try:
        out = check_target(args.file, args.out)
        start, end = bar_span(args.file, *bars)
    except MidiReadError as err:  # the file, not the arguments
        raise CommandError(str(err)) from None
    except ValueError as err:
        raise CommandError(f"{args.file}: {err}", 2) from None
    metre = time_signature_at(args.file, start)
    chain = _steering.processors(args, metre)  # --grammar, --chords: a bar each from the gap
    from musegen.generation.processors import ChordProgression, KeyConstraint

    if args.key:
        try:
            chain.insert(int(args.grammar), KeyConstraint(args.key))
        except ValueError as err:
            raise CommandError(f"--key: {err}", 2) from None
    for processor in chain:
        if isinstance(processor, ChordProgression):
            print("read --chords as: " + ", ".join(processor.readings))
    from musegen._quiet import start_tensorflow

    start_tensorflow()
    from musegen.generation.compose import key_lean
    from musegen.generation.infill import infill
    from musegen.generation.views import TranspositionViews
    from musegen.io.reading import read_midi
    from musegen.training.bundle import BundleError, load_bundle

    try:
        bundle = load_bundle(where)
        piece = read_midi(args.file)  # the model's context: every track merged
    except (BundleError, MidiReadError) as err:
        raise CommandError(str(err)) from None
    bundle = bundle.in_key(piece)  # a model of one key fills the gap in the file's key
    views = TranspositionViews.of_bundle(bundle)  # the distribution musegen generate reads
    lean = None if args.key else key_lean(bundle, piece)
    if lean is not None:
        if lean[0] is not None:  # None: the file has no clear key to lean toward
            chain.append(lean[0])
        print(lean[1].replace("the prime", "the file"))
    try:
        filled = infill(
            bundle.model, bundle.tokenizer, bundle.vocabulary, piece, start, end,
            candidates=args.candidates, processors=chain, seed=args.seed, views=views,
        )  # fmt: skip
    except ValueError as err:
        raise CommandError(f"{args.file}: {err}") from None
    scores = sorted(filled.scores.tolist())
    gap = [e for e in filled.piece.notes if start <= e.offset < end]
    print(
        f"bars {bars[0]}-{bars[1]} of {metre} (quarter notes {start:g} to "
        f"{end:g}): {plural(args.candidates, 'candidate')}, kept #{filled.chosen + 1} with "
        f"{plural(len(gap), 'note')} and chords; log-likelihood of the music after the gap "
        f"{scores[-1]:.1f} (median candidate {scores[len(scores) // 2]:.1f}, "
        f"worst {scores[0]:.1f})"
    )
    own = getattr(bundle.tokenizer, "velocities", None) is not None  # else the removed notes'
    try:
        done = splice_gap(args.file, gap, start, end, out, velocity="events" if own else "removed")
    except (ValueError, OSError) as err:
        raise CommandError(f"{args.out}: {err}") from None
    print(
        f"bars {bars[0]}-{bars[1]}: replaced {plural(done.removed, 'note')} with {done.added} "
        f"in {plural(len(done.tracks), 'track')}; everything else kept as it was"
    )
    print(f"wrote {out}")
    return _piano_roll(out) if args.png else 0


def _piano_roll(out: Path) -> int:
    """Draw the written file's piano roll beside it (its tracks merged); 1 without matplotlib."""
    try:
        from musegen.evaluation.plots import piano_roll, save_png
    except ImportError:
        print_error("--png needs matplotlib (pip install 'musegen[plot]')")
        return 1
    from musegen.io.reading import read_midi

    shown = read_midi(out, drop_drums=False)
    print(f"wrote {save_png(piano_roll(shown, title=str(out)), out.with_suffix('.png'))}")
    return 0

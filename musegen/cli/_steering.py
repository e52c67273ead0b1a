"""The steering options `generate` and `infill` share, parsed into logits processors."""

from __future__ import annotations

import argparse
import math
from typing import Any

from musegen.cli._common import CommandError


def add_options(parser: Any, *, full: bool = True) -> None:
    """The steering options: the key, chords, grammar; with `full` the penalties and beams too."""
    steer = parser.add_argument_group("steering (logits processors, applied before the sampler)")
    steer.add_argument(
        "--key", default=None, help="only pitches of this key, e.g. 'D minor', 'Bb major'"
    )
    steer.add_argument(
        "--chords",
        default=None,
        metavar="SYMBOLS",
        help="only the pitches of the sounding chord, in lead-sheet symbols: 'Am F C G' "
        "(one a bar), 'Bb7:2 Eb7:2 F7:4' (in quarter notes)",
    )
    steer.add_argument(
        "--grammar", action="store_true", help="only tokens that keep the output decodable"
    )
    if not full:
        return
    steer.add_argument(
        "--pitch-range", default=None, metavar="LOW:HIGH",
        help="only pitches from LOW to HIGH, e.g. C3:C6",
    )  # fmt: skip
    steer.add_argument(
        "--no-repeat-ngram", type=int, default=None, metavar="N", help="no N tokens in a row twice"
    )
    steer.add_argument(
        "--repetition-penalty", type=float, default=None, metavar="X",
        help="divide the probability of the last --penalty-window tokens' pitches by X",
    )  # fmt: skip
    steer.add_argument("--penalty-window", type=int, default=32, metavar="N")
    steer.add_argument(
        "--chord-strength", type=float, default=None, metavar="X",
        help="raise the chord's pitches by X instead of allowing only them",
    )  # fmt: skip
    steer.add_argument(
        "--chord-lowest", choices=("root", "bass"), default=None,
        help="the lowest pitch of every event is the chord's root (or bass)",
    )  # fmt: skip
    steer.add_argument(
        "--chords-track", action="store_true", help="write the chords as a second track"
    )
    steer.add_argument(
        "--density", type=float, default=None, metavar="N",
        help="lean toward N notes (onsets, a chord once) per quarter note",
    )  # fmt: skip
    steer.add_argument(
        "--density-strength", type=float, default=None, metavar="X",
        help="how hard --density leans (default 1; 4 reaches the target on chorales)",
    )  # fmt: skip
    steer.add_argument(
        "--beam", type=int, default=None, metavar="WIDTH",
        help="beam search of this width instead of sampling (deterministic)",
    )  # fmt: skip


def processors(args: argparse.Namespace, time_signature: str = "4/4") -> list[Any]:
    """The processors the options ask for (not ``--key``: `compose` takes it); exit 2 if bad.

    Raises:
        CommandError: (status 2) naming the option and what it takes.
    """
    from musegen.generation import processors as p

    chain: list[Any] = []
    try:
        if args.grammar:
            chain.append(p.GrammarConstraint())
        if getattr(args, "pitch_range", None):
            low, sep, high = args.pitch_range.partition(":")
            if not sep:
                raise ValueError(f"--pitch-range takes LOW:HIGH (e.g. C3:C6), got {low!r}")
            chain.append(p.PitchRange(low, high))
        if getattr(args, "no_repeat_ngram", None) is not None:
            chain.append(p.NoRepeatNGram(args.no_repeat_ngram))
        if getattr(args, "repetition_penalty", None) is not None:
            _finite("--repetition-penalty", args.repetition_penalty)
            chain.append(p.RepetitionPenalty(args.repetition_penalty, args.penalty_window,
                                             only_pitches=True))  # fmt: skip
        density, strength = getattr(args, "density", None), getattr(args, "density_strength", None)
        if density is not None:
            _finite("--density", density)
            lean = 1.0 if strength is None else _finite("--density-strength", strength)
            chain.append(p.NoteDensity(density, lean))
        elif strength is not None:
            raise ValueError("--density-strength steers the --density: give it")
        chords = chord_progression(args, time_signature)
        if chords is not None:
            chain.append(chords)
        if getattr(args, "beam", None) is not None and args.beam < 1:
            raise ValueError(f"--beam takes a width >= 1, got {args.beam}")
    except ValueError as err:
        raise CommandError(str(err), 2) from None
    return chain


def chord_progression(args: argparse.Namespace, time_signature: str = "4/4") -> Any:
    """The `ChordProgression` of ``--chords`` (a chord a bar of the metre), or None."""
    from musegen.generation.processors import ChordProgression

    strength, lowest = getattr(args, "chord_strength", None), getattr(args, "chord_lowest", None)
    if args.chords is None:
        if strength is not None or lowest is not None or getattr(args, "chords_track", False):
            raise ValueError("--chord-strength, --chord-lowest and --chords-track steer the "
                             "--chords: give them")  # fmt: skip
        return None
    if strength is not None:
        _finite("--chord-strength", strength)
    try:
        return ChordProgression(args.chords, time_signature=time_signature, strength=strength,
                                lowest=lowest)  # fmt: skip
    except ValueError as err:
        raise ValueError(f"--chords: {err}") from None


def _finite(option: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{option} takes a finite number, got {value:g}")
    return value

"""The steering options `generate` and `infill` share, parsed into logits processors."""

from __future__ import annotations

import argparse
from typing import Any

from musegen.cli._common import CommandError
from musegen.cli._types import (
    chord_symbols,
    finite_float,
    key_name,
    pitch_range,
    positive_int,
    whole_number,
)

MAX_STRENGTH = 100.0
"""The strongest lean (``--key-strength``, ``--chord-strength``, ``--density-strength``): the
strengths add to the logits (nats), and 100 already forbids what they lower."""
STRENGTH = finite_float(0, MAX_STRENGTH)
"""A strength from 0 (no lean) to `MAX_STRENGTH`."""
DENSITY = finite_float(0.01, 100)
"""Notes per quarter note, from one every 100 quarter notes to 100 (``--density``)."""
MAX_BEAM = 1_000
"""The widest beam (``--beam``)."""


def add_options(parser: Any, *, full: bool = True) -> None:
    """The steering options: the key, chords, grammar; with `full` the penalties and beams too."""
    steer = parser.add_argument_group("steering (logits processors, applied before the sampler)")
    steer.add_argument(
        "--key",
        default=None,
        type=key_name,
        help="only pitches of this key, e.g. 'D minor', 'Bb major'",
    )
    steer.add_argument(
        "--chords",
        default=None,
        type=chord_symbols,
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
        "--pitch-range", default=None, type=pitch_range, metavar="LOW:HIGH",
        help="only pitches from LOW to HIGH, e.g. C3:C6",
    )  # fmt: skip
    steer.add_argument(
        "--no-repeat-ngram", type=positive_int, default=None, metavar="N",
        help="no N tokens in a row twice",
    )  # fmt: skip
    steer.add_argument(
        "--repetition-penalty", type=finite_float(1), default=None, metavar="X",
        help="divide the probability of the last --penalty-window tokens' pitches by X (>= 1)",
    )  # fmt: skip
    steer.add_argument(
        "--penalty-window", type=positive_int, default=None, metavar="N",
        help="the tokens --repetition-penalty looks back over (default 32)",
    )  # fmt: skip
    steer.add_argument(
        "--chord-strength", type=finite_float(0, MAX_STRENGTH, low_open=True), default=None,
        metavar="X",
        help="raise the chord's pitches by X nats instead of allowing only them (up to "
        f"{MAX_STRENGTH:g})",
    )  # fmt: skip
    steer.add_argument(
        "--chord-lowest", choices=("root", "bass"), default=None,
        help="the lowest pitch of every event is the chord's root (or bass)",
    )  # fmt: skip
    steer.add_argument(
        "--chords-track", action="store_true", help="write the chords as a second track"
    )
    steer.add_argument(
        "--density", type=DENSITY, default=None, metavar="N",
        help="lean toward N notes (onsets, a chord once) per quarter note, 0.01 to 100",
    )  # fmt: skip
    steer.add_argument(
        "--density-strength", type=STRENGTH, default=None, metavar="X",
        help="how hard --density leans (default 1; 4 reaches the target on chorales; up to "
        f"{MAX_STRENGTH:g})",
    )  # fmt: skip
    steer.add_argument(
        "--beam", type=whole_number(1, MAX_BEAM), default=None, metavar="WIDTH",
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
        window = getattr(args, "penalty_window", None)
        if getattr(args, "repetition_penalty", None) is not None:
            chain.append(p.RepetitionPenalty(args.repetition_penalty,
                                             32 if window is None else window,
                                             only_pitches=True))  # fmt: skip
        elif window is not None:
            raise ValueError("--penalty-window is the window of the --repetition-penalty: "
                             "give it")  # fmt: skip
        density, strength = getattr(args, "density", None), getattr(args, "density_strength", None)
        if density is not None:
            chain.append(p.NoteDensity(density, 1.0 if strength is None else strength))
        elif strength is not None:
            raise ValueError("--density-strength steers the --density: give it")
        chords = chord_progression(args, time_signature)
        if chords is not None:
            chain.append(chords)
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
    try:
        return ChordProgression(args.chords, time_signature=time_signature, strength=strength,
                                lowest=lowest)  # fmt: skip
    except ValueError as err:
        raise ValueError(f"--chords: {err}") from None

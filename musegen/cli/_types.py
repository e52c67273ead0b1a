"""The argparse ``type=`` of the ``musegen`` options: a value no run can use stops at the door.

Each type takes the text of one option value and returns it as the run uses it,
or raises `argparse.ArgumentTypeError`; argparse then exits 2 with one line
(`Parser`), before any file is read and before TensorFlow starts::

    musegen generate: error: argument --bars: takes a finite number > 0 and at most 100000, \
got 'inf'

The bounds are those of what the run can use: what MIDI can write (tempos,
metres), what numpy takes as a seed, strengths on the logits' scale (100 nats
already forbids), and counts that fit in memory.

Examples:
    >>> positive_int("3"), finite_float(0, 1)("-0.0"), seed("4294967295")
    (3, 0.0, 4294967295)
    >>> finite_float(0, 100)("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: takes a finite number from 0 to 100, got 'nan'
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "MAX_SEED",
    "Parser",
    "SemitoneRange",
    "bar_range",
    "chord_symbols",
    "existing_file",
    "finite_float",
    "key_name",
    "non_negative_int",
    "output_file",
    "output_folder",
    "pitch_range",
    "positive_int",
    "probability",
    "seed",
    "tempo",
    "time_signature",
    "whole_number",
]

MAX_SEED = 2**32 - 1
"""The largest seed: numpy's and Keras's seeds are 32-bit."""


class Parser(argparse.ArgumentParser):
    r"""An `argparse.ArgumentParser` whose error is one line on standard error, status 2.

    ``musegen generate: error: argument --bars: ...``, without the usage lines
    (``--help`` prints them). Its subcommands' parsers are of this class too.

    Examples:
        >>> import contextlib, io
        >>> parser = Parser(prog="musegen demo")
        >>> _ = parser.add_argument("--n", type=positive_int)
        >>> err = io.StringIO()
        >>> with contextlib.redirect_stderr(err):
        ...     try:
        ...         parser.parse_args(["--n", "0"])
        ...     except SystemExit as exit_:
        ...         print(exit_.code)
        2
        >>> err.getvalue()
        "musegen demo: error: argument --n: takes a whole number >= 1, got '0'\n"
    """

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE`` in one line and exit 2."""
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())}\n")


def _refuse(takes: str, text: str) -> NoReturn:
    raise argparse.ArgumentTypeError(f"takes {takes}, got {text!r}")


def whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    """The type of a whole number from `low` to `high` (None: no upper bound).

    Examples:
        >>> whole_number(0, 11)("11"), whole_number(1)(" 7 ")
        (11, 7)
        >>> whole_number(0, 11)("12")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: takes a whole number from 0 to 11, got '12'
    """
    takes = f"a whole number >= {low}" if high is None else f"a whole number from {low} to {high}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except (TypeError, ValueError):  # "1.5", "", or past int()'s 4300 digits
            _refuse(takes, text)
        if value < low or (high is not None and value > high):
            _refuse(takes, text)
        return value

    parse.__name__ = "whole number"
    return parse


positive_int = whole_number(1)
"""A whole number >= 1 (counts: ``--limit``, ``--workers``, ``--min-count``, ...)."""

non_negative_int = whole_number(0)
"""A whole number >= 0."""

seed = whole_number(0, MAX_SEED)
"""A seed numpy and Keras take: 0 to 2**32 - 1."""


def finite_float(
    low: float, high: float = math.inf, *, low_open: bool = False
) -> Callable[[str], float]:
    """The type of a finite number from `low` (excluded with `low_open`) to `high`.

    ``-0.0`` is read as 0.0.

    Examples:
        >>> finite_float(0, 100_000, low_open=True)("1e3")
        1000.0
        >>> finite_float(1)("inf")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: takes a finite number >= 1, got 'inf'
    """
    first = f"> {low:g}" if low_open else f">= {low:g}"
    if high == math.inf:
        takes = f"a finite number {first}"
    elif low_open:
        takes = f"a finite number {first} and at most {high:g}"
    else:
        takes = f"a finite number from {low:g} to {high:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except (TypeError, ValueError):
            _refuse(takes, text)
        if not (math.isfinite(value) and value <= high):
            _refuse(takes, text)
        if value < low or (low_open and value == low):
            _refuse(takes, text)
        return value + 0.0  # -0.0 as 0.0

    parse.__name__ = "number"
    return parse


probability = finite_float(0, 1, low_open=True)
"""A number in (0, 1] (``--p`` of the top_p sampler)."""


def time_signature(text: str) -> str:
    """A metre MIDI can write, normalized (`musegen._metre.parse_time_signature`).

    Examples:
        >>> time_signature("3+2/8")
        '5/8'
    """
    from musegen._metre import parse_time_signature

    if text.strip() in ("C", "c", "C|", "c|", "\U0001d134", "\U0001d135"):  # 𝄴, 𝄵
        _refuse("N/D: write common time as 4/4, cut time as 2/2", text)
    try:
        return parse_time_signature(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def tempo(text: str) -> float:
    """A tempo in quarter notes per minute that MIDI can write (`musegen._metre.parse_tempo`).

    Examples:
        >>> tempo("96")
        96.0
        >>> tempo("120bpm")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: takes a number of quarter notes per minute (e.g. 120), got \
'120bpm'
    """
    from musegen._metre import parse_tempo

    try:
        float(text)
    except ValueError:
        _refuse("a number of quarter notes per minute (e.g. 120)", text)
    try:
        return parse_tempo(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def key_name(text: str) -> str:
    """A key `musegen.keys.scale` reads, e.g. ``"D minor"``, ``"Bb major"``, ``"B♭ major"``.

    Returned as given, with ``♭`` and ``♯`` as ``b`` and ``#``.

    Examples:
        >>> key_name("F# minor"), key_name("E\u266d major")
        ('F# minor', 'Eb major')
    """
    from musegen.keys import scale

    try:
        scale(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text.replace("\u266d", "b").replace("\u266f", "#")


def chord_symbols(text: str) -> str:
    """Lead-sheet chord symbols `musegen.generation.processors.ChordProgression` reads.

    Returned as given: the run reads them again in the music's metre.

    Examples:
        >>> chord_symbols("Am F C G")
        'Am F C G'
    """
    from musegen.generation.processors import ChordProgression

    try:
        ChordProgression(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def pitch_range(text: str) -> str:
    """``LOW:HIGH``, pitch names or MIDI numbers, LOW not above HIGH; returned as given.

    Examples:
        >>> pitch_range("C3:C6")
        'C3:C6'
    """
    from musegen.generation.processors import PitchRange

    low, sep, high = text.partition(":")
    if not sep:
        _refuse("LOW:HIGH (e.g. C3:C6)", text)
    try:
        PitchRange(low, high)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{err} in {text!r}") from None
    return text


def bar_range(text: str) -> tuple[int, int]:
    """``FIRST:LAST`` (or one bar ``N``) as the bars (first, last), 1 <= FIRST <= LAST.

    Examples:
        >>> bar_range("9:12"), bar_range("3")
        ((9, 12), (3, 3))
    """
    first, sep, last = text.partition(":")
    try:
        bars = (int(first), int(last) if sep else int(first))
    except ValueError:
        _refuse("FIRST:LAST (e.g. 9:12)", text)
    if not 1 <= bars[0] <= bars[1]:
        _refuse("FIRST:LAST with 1 <= FIRST <= LAST", text)
    return bars


def existing_file(text: str) -> str:
    """The name of a file that exists (not a folder); returned as given.

    Examples:
        >>> existing_file("no/such.mid")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: no such file: 'no/such.mid'
    """
    path = _path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder: give a file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return text


def output_file(text: str) -> str:
    """A MIDI file to write: a name ending in ``.mid`` or ``.midi``, not a folder's; as given.

    ``-`` (no standard output: MIDI is bytes) and other endings are refused:
    ``--out song.wav`` would hold MIDI bytes, while ``generate --wav`` and
    ``--png`` write the audio and the piano roll beside the MIDI file.

    Examples:
        >>> output_file(".")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: '.' is a folder: give a file to write, e.g. 'song.mid'
        >>> output_file("song.wav")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: takes a MIDI file to write, ending in .mid or .midi (for \
audio give generate --wav: it writes song.wav beside song.mid), got 'song.wav'
    """
    if _path(text).is_dir():
        example = str(Path(text) / "song.mid")
        raise argparse.ArgumentTypeError(f"{text!r} is a folder: give a file to write, "
                                         f"e.g. {example!r}")  # fmt: skip
    if Path(text).suffix.lower() not in (".mid", ".midi"):
        stem = Path(text).stem if text.strip() != "-" and Path(text).stem else "song"
        _refuse(f"a MIDI file to write, ending in .mid or .midi (for audio give generate --wav: "
                f"it writes {stem}.wav beside {stem}.mid)", text)  # fmt: skip
    return text


def output_folder(text: str) -> str:
    """A folder to write in (made when missing): any name but an existing file's.

    Examples:
        >>> output_folder("runs/bach")
        'runs/bach'
    """
    path = _path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a file: give a folder")
    return text


def _path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"takes a path, got {text!r}")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"a path holds no NUL character, got {text!r}")
    return Path(text)


class SemitoneRange(argparse.Action):
    """``LO HI`` (``nargs=2``, each of ``type=``): refused unless LO <= HI.

    Examples:
        >>> parser = Parser(prog="musegen demo")
        >>> _ = parser.add_argument("--transpose", nargs=2, type=whole_number(-12, 12),
        ...                         action=SemitoneRange)
        >>> parser.parse_args(["--transpose", "-3", "3"]).transpose
        (-3, 3)
    """

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        """Store ``(lo, hi)``, or refuse a reversed range in argparse's words."""
        low, high = tuple(values or (0, 0))
        if low > high:
            raise argparse.ArgumentError(
                self, f"takes LO HI with LO <= HI (e.g. -3 3), got {low} {high}"
            )
        setattr(namespace, self.dest, (low, high))

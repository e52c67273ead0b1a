"""``musegen generate``: MIDI files (and piano rolls, audio) from a trained bundle."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from musegen._metre import bar_length
from musegen._quiet import start_tensorflow
from musegen._words import plural
from musegen.cli._common import CommandError, bundle_dir, print_error
from musegen.defaults import GENERATION
from musegen.events import Piece


def add_parser(commands: Any) -> None:
    """The ``generate`` subcommand and its options."""
    generate = commands.add_parser("generate", help="generate a MIDI file from a trained bundle")
    generate.add_argument(
        "bundle",
        help="a bundle directory, the run directory holding one, or musegen:NAME for a bundle "
        "that ships with musegen (chorales, folk, quartets)",
    )
    generate.add_argument(
        "--out",
        default=None,
        help="MIDI file to write, numbered with --num (default: NAME.mid here, NAME the bundle's "
        "or its run directory's)",
    )
    generate.add_argument(
        "--steps",
        type=int,
        default=None,
        help="tokens to generate (default 500; with --bars or --quarters: at most this many)",
    )
    length = generate.add_mutually_exclusive_group()
    length.add_argument(
        "--bars", type=float, default=None, metavar="N", help="stop each piece after N bars"
    )
    length.add_argument(
        "--quarters", type=float, default=None, metavar="N", help="stop after N quarter notes"
    )
    generate.add_argument(
        "--tempo",
        type=float,
        default=None,
        metavar="BPM",
        help="the file's tempo (default: the prime's, else 120)",
    )
    generate.add_argument(
        "--time-signature",
        default=None,
        metavar="N/D",
        help="the file's metre, e.g. 3/4; bars are counted in it (default: the prime's, else 4/4)",
    )
    generate.add_argument(
        "--sampler",
        default=None,
        help="argmax, categorical, top_k, top_p (default: the bundle's, else "
        f"{GENERATION.sampler} {GENERATION.options})",
    )
    generate.add_argument("--k", type=int, default=None, help="k of the top_k sampler (7)")
    generate.add_argument("--p", type=float, default=None, help="p of the top_p sampler (0.9)")
    generate.add_argument("--temperature", type=float, default=None)
    generate.add_argument(
        "--views",
        type=int,
        default=None,
        metavar="N",
        help="sample from the model read in the keys N semitones each way around the music's "
        "(default: as the bundle was trained; 0: the model alone; docs/training.md)",
    )
    generate.add_argument(
        "--key-strength",
        type=float,
        default=None,
        metavar="X",
        help="lean softly toward the prime's key (a PitchClassHistogram of its scale; default "
        f"{GENERATION.key_strength:g} for a model read in several keys, else 0; --key forbids "
        "other pitches instead)",
    )
    generate.add_argument("--prime", default=None, help="a MIDI file to continue")
    generate.add_argument("--seed", type=int, default=None)
    generate.add_argument(
        "--num", type=int, default=1, help="pieces to generate, in one batch (song-1.mid, ...)"
    )
    generate.add_argument(
        "--png", action="store_true", help="also draw the piano roll beside each MIDI file"
    )
    generate.add_argument(
        "--wav", action="store_true", help="also render each piece to WAV (needs FluidSynth)"
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
        "--chords",
        default=None,
        metavar="SYMBOLS",
        help="only the pitches of the sounding chord: 'Am F C G' (one a bar), 'Am:2 F:2 C:4' "
        "(in quarter notes)",
    )
    steer.add_argument(
        "--chord-strength",
        type=float,
        default=None,
        metavar="X",
        help="raise the chord's pitches by X instead of allowing only them",
    )
    steer.add_argument(
        "--chord-lowest",
        choices=("root", "bass"),
        default=None,
        help="the lowest pitch of every event is the chord's root (or bass)",
    )
    steer.add_argument(
        "--chords-track", action="store_true", help="write the chords as a second track"
    )
    steer.add_argument(
        "--density",
        type=float,
        default=None,
        metavar="N",
        help="lean toward N notes (onsets, a chord once) per quarter note",
    )
    steer.add_argument(
        "--density-strength",
        type=float,
        default=None,
        metavar="X",
        help="how hard --density leans (default 1; 4 reaches the target on chorales)",
    )
    steer.add_argument(
        "--beam",
        type=int,
        default=None,
        metavar="WIDTH",
        help="beam search of this width instead of sampling (deterministic)",
    )
    generate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Generate ``--num`` pieces and write them (and their pictures, audio); 0 on success."""
    if args.num < 1:
        raise CommandError(f"--num takes a count >= 1, got {args.num}", 2)
    for option in ("steps", "bars", "quarters", "tempo"):
        value = getattr(args, option)
        if value is not None and not value > 0:
            raise CommandError(f"--{option} takes a number > 0, got {value:g}", 2)
    if args.chords_track and not args.chords:
        raise CommandError("--chords-track writes the --chords: give them too", 2)
    where = bundle_dir(args.bundle)
    if not where.exists():
        raise CommandError(f"no such run or bundle directory: {args.bundle!r}", 2)
    if args.prime and not Path(args.prime).is_file():
        raise CommandError(f"no such prime file: {args.prime!r}", 2)
    start_tensorflow()
    from musegen.generation import samplers
    from musegen.generation.decoding import generate, prime_ids
    from musegen.generation.views import TranspositionViews
    from musegen.io.reading import MidiReadError, read_midi, read_tracks
    from musegen.training.bundle import BundleError, load_bundle

    try:
        bundle = load_bundle(where)
        config = _sampler_config(args, bundle.metadata.get("generation"))
        sampler = samplers.get(config.pop("name"), **config)
        chain = _steering(args)
        views = TranspositionViews.of_bundle(bundle, args.views)  # the ids as trained
    except BundleError as err:
        raise CommandError(str(err)) from None
    except (ValueError, TypeError) as err:
        raise CommandError(str(err), 2) from None
    if args.beam and args.num > 1:
        raise CommandError("beam search is deterministic: --num would give copies of one piece", 2)
    if args.beam and args.views:
        raise CommandError("beam search reads the model alone: leave out --views or use 0", 2)
    band = hasattr(bundle.tokenizer, "decode_score")  # a TrackTokenizer: several instruments
    music: Any = None
    if args.prime:
        try:
            music = read_tracks(args.prime) if band else read_midi(args.prime)
        except (MidiReadError, ValueError) as err:
            raise CommandError(f"--prime: {err}") from None
    # a model of one key writes in the prime's key, else in --key's (else C major / A minor)
    bundle = bundle.in_key(music if music is not None else args.key)
    if args.prime:
        try:
            tokens = bundle.tokenizer.encode(music)
            prime = prime_ids(tokens, bundle.vocabulary, unknown="skip")
        except (MidiReadError, ValueError) as err:
            raise CommandError(f"--prime: {err}") from None
    else:
        prime = list(bundle.metadata.get("prime") or [2])
    metre = _Metre.of(args, music)
    table = _table(bundle.tokenizer, bundle.vocabulary)
    lean = _key_lean(args, bundle, views, music, prime, table, band)
    chain += [lean] if lean is not None else []
    quarters = args.quarters if args.bars is None else args.bars * metre.bar
    chords = _chords(args, metre)
    chain += [chords] if chords is not None else []
    if (chain or quarters) and table is None:
        raise CommandError(
            f"{type(bundle.tokenizer).__name__} cannot be steered or measured (no describe())"
        )
    if chords is not None and table is not None:  # an event the prime began keeps its pitches:
        ends = np.flatnonzero(table.closes(np.asarray([prime]))[0])  # begin after whole events
        prime = prime[: ends[-1] + 1] if ends.size else prime
    steps = args.steps or (500 if quarters is None else int(64 * quarters) + 64)
    try:
        if args.beam:
            from musegen.generation.beam import beam_search

            rows: Any = beam_search(
                bundle.model, prime, steps, args.beam, processors=chain, table=table
            )[0]
            if quarters is not None:
                rows = _cut(table, prime, rows, quarters)
        else:
            rows = generate(
                bundle.model, prime, steps, sampler, processors=chain, table=table,
                seed=args.seed, batch_size=args.num, quarters=quarters,
                views=views,
            )  # fmt: skip
    except (ValueError, TypeError) as err:  # a processor that cannot read this tokenizer
        raise CommandError(str(err)) from None
    how = f"beam {args.beam}" if args.beam else repr(sampler)
    if views is not None and not args.beam:
        how += f", read in {len(views)} keys"
        print(f"the model read in {len(views)} keys around the music's (--views 0: alone)")
    zero = None
    if table is not None:  # the generated music begins where the prime's ends
        from musegen.generation._clock import Clock

        zero = float(Clock(table).run(np.asarray([prime])).time[0])
    failed = 0
    for i, ids in enumerate(rows):
        out = _numbered(Path(args.out) if args.out else _default_out(where), i, args.num)
        reached = quarters is not None  # the music's clock reached the length (a rest may end it)
        if table is not None:  # leave out an event still open when the steps ran out
            closes = np.flatnonzero(table.closes(np.asarray([[*prime, *ids]]))[0]) - len(prime)
            ids = ids[: closes.max() + 1] if closes.size and closes.max() >= 0 else ids
            if quarters is not None and len(ids) >= steps:
                print_error(f"{out.name}: the {steps} --steps ran out before the length")
                reached = False
        words = (bundle.vocabulary.decode(prime), bundle.vocabulary.decode(ids))
        if band:
            score = _band_continuation(bundle.tokenizer, *words, start=zero)
            score = metre.apply(_fit(score, quarters))
            if chords is not None and args.chords_track:
                score = _with_chords(score, chords, quarters or score.duration)
            failed |= write_outputs(score, out, png=args.png, wav=args.wav, title=f"{out.name}")
            print("  " + ", ".join(
                f"{t.family} (program {t.program}): {len(t.piece.notes)}" for t in score.tracks
            ) + f"; {metre.describe(quarters if reached else score.duration)}")  # fmt: skip
            continue
        piece, skipped = _continuation(bundle.tokenizer, *words, start=zero)
        piece = metre.apply(_fit(piece, quarters))
        written: Any = piece
        if chords is not None and args.chords_track:
            written = _with_chords(piece, chords, quarters or piece.duration)
        failed |= write_outputs(
            written, out, png=args.png, wav=args.wav, title=f"{out.name} ({how})"
        )
        length = quarters if reached else piece.duration
        print(f"  {len(piece.notes)} notes and chords, {metre.describe(length)}, "
              f"{plural(len(skipped), 'token')} skipped")  # fmt: skip
    return failed


@dataclass(frozen=True)
class _Metre:
    """The written file's tempo and metre, and the length of its bar in quarter notes."""

    tempo: float
    time_signature: str
    bar: float

    @classmethod
    def of(cls, args: argparse.Namespace, prime: Any) -> _Metre:
        """The options' tempo and metre, else the prime's, else 120 bpm in 4/4."""
        tempo = args.tempo or (prime.tempo if prime is not None else 120.0)
        signature = args.time_signature or (prime.time_signature if prime is not None else "4/4")
        try:
            bar = bar_length(signature)
        except ValueError:
            raise CommandError(
                f"--time-signature takes e.g. 3/4 or 6/8, got {signature!r}", 2
            ) from None
        return cls(float(tempo), signature, bar)

    def apply(self, music: Any) -> Any:
        """`music` (a piece or a score) with this tempo and metre."""
        return replace(music, tempo=self.tempo, time_signature=self.time_signature)

    def describe(self, quarters: float) -> str:
        """``8 bars of 4/4 (32.0 quarter lengths, 16.0 s at 120 bpm)``."""
        bars = round(quarters / self.bar, 2)
        return (
            f"{bars:g} bar{'' if bars == 1 else 's'} of {self.time_signature} "
            f"({quarters:.1f} quarter lengths, {quarters * 60 / self.tempo:.1f} s "
            f"at {self.tempo:g} bpm)"
        )


def _chords(args: argparse.Namespace, metre: _Metre) -> Any:
    """The `ChordProgression` of ``--chords`` (a chord a bar of the metre), or None."""
    from musegen.generation.processors import ChordProgression

    if args.chords is None:
        if args.chord_strength is not None or args.chord_lowest is not None:
            raise CommandError(
                "--chord-strength and --chord-lowest steer the --chords: give them", 2
            )
        return None
    try:
        return ChordProgression(
            args.chords, time_signature=metre.time_signature, strength=args.chord_strength,
            lowest=args.chord_lowest,
        )  # fmt: skip
    except ValueError as err:
        raise CommandError(f"--chords: {err}", 2) from None


def _cut(table: Any, prime: list[int], rows: np.ndarray, quarters: float) -> list[np.ndarray]:
    """Each row up to where its music reaches `quarters` (as ``generate(quarters=...)``)."""
    from musegen.generation._clock import Clock, LengthStop

    clock = Clock(table)
    stop = LengthStop(clock, clock.run(np.asarray([prime] * len(rows))), quarters)
    for position, column in enumerate(np.asarray(rows).T):  # every row at once, id by id
        if stop.update(column, position):
            break
    return [row[:end] if end >= 0 else row for row, end in zip(rows, stop.ends, strict=True)]


def _fit(music: Any, quarters: float | None) -> Any:
    """`music` (a piece or a score) with no event past `quarters`: the last ones cut there."""
    from musegen.io.tracks import Score

    if quarters is None:
        return music
    if isinstance(music, Score):
        return replace(
            music, tracks=tuple(replace(t, piece=_fit(t.piece, quarters)) for t in music.tracks)
        )
    kept = [
        replace(e, duration=min(e.duration, quarters - e.offset))
        for e in music.events
        if e.offset < quarters - 1e-9
    ]
    return music.with_events(kept)


def _with_chords(music: Any, chords: Any, quarters: float) -> Any:
    """A score of `music` (a piece, or a band's tracks) and the chords as a track of their own."""
    from musegen.io.tracks import Score, Track

    backing = Track(chords.to_piece(quarters), program=0, name="chords")
    if isinstance(music, Score):
        return replace(music, tracks=(*music.tracks, backing))
    return Score(
        (Track(music, program=0, name="music"), backing),
        tempo=music.tempo,
        time_signature=music.time_signature,
    )


def _default_out(bundle: Path) -> Path:
    """``NAME.mid`` in the current folder: the shipped bundle's or the run directory's name.

    Examples:
        >>> str(_default_out(Path("runs/bach/bundle"))), str(_default_out(Path("data/chorales")))
        ('bach.mid', 'chorales.mid')
    """
    name = bundle.parent.name if bundle.name == "bundle" else bundle.name
    return Path(f"{name or 'generated'}.mid")


def write_outputs(piece: Any, out: Path, *, png: bool, wav: bool, title: str) -> int:
    """Write a piece or a score as MIDI, and a piano roll / WAV beside it; 1 if one failed.

    A missing optional part (matplotlib, FluidSynth or a soundfont) is named in one
    line; the MIDI file is written in any case. A score's piano roll shows its
    tracks merged; its WAV is rendered from the MIDI file, each track with its
    instrument.
    """
    from musegen.io.tracks import Score
    from musegen.io.writing import write_midi

    write_midi(piece, out)
    print(f"wrote {out}")
    status = 0
    if png:
        try:
            from musegen.evaluation.plots import piano_roll, save_png
        except ImportError:
            print_error("--png needs matplotlib (pip install 'musegen[plot]')")
            status = 1
        else:
            shown = piece.merged(drums=True) if isinstance(piece, Score) else piece
            print(f"wrote {save_png(piano_roll(shown, title=title), out.with_suffix('.png'))}")
    if wav:
        from musegen.io.audio import AudioError, render_wav

        try:
            print(f"wrote {render_wav(out, out.with_suffix('.wav'))}")
        except AudioError as err:
            print_error(f"no WAV for {out.name}: {err}")
            status = 1
    return status


def _band_continuation(
    tokenizer: Any, prime: list[str], new: list[str], start: float | None = None
) -> Any:
    """The tracks the new tokens make after `start` (the prime's end), moved to start at 0."""
    from musegen.io.tracks import Score, Track

    whole = tokenizer.decode_score([*prime, *new])
    start = tokenizer.decode_score(prime).duration if start is None else start
    tracks = []
    for track in whole.tracks:
        after = [e for e in track.piece.events if e.offset >= start - 1e-9]
        events = tuple(replace(e, offset=e.offset - start) for e in after)
        if events:
            tracks.append(Track(track.piece.with_events(events), track.program, track.name,
                                track.is_drum))  # fmt: skip
    return Score(tuple(tracks))


def _table(tokenizer: Any, vocabulary: Any) -> Any:
    """The vocabulary's `TokenTable`, or None for a tokenizer that cannot describe its tokens."""
    from musegen.tokens.token_table import TokenTable

    try:
        return TokenTable.build(tokenizer, vocabulary)
    except TypeError:
        return None


def _numbered(out: Path, index: int, count: int) -> Path:
    """``song.mid`` for one piece; ``song-1.mid`` .. ``song-N.mid`` for several."""
    return out if count == 1 else out.with_name(f"{out.stem}-{index + 1}{out.suffix or '.mid'}")


def _continuation(
    tokenizer: Any, prime: list[str], new: list[str], start: float | None = None
) -> tuple[Piece, list[tuple[int, str]]]:
    """The piece the new tokens make after the prime, and the new tokens skipped.

    The prime and the new tokens are decoded together, so that new tokens that
    complete an event the prime began (a prime may end mid-chord) are not
    orphaned; then the prime's own events are dropped and the rest moved so
    that `start` (where the prime ends; by default the first new event) is 0.
    """
    whole, skipped = tokenizer.decode_with_skipped([*prime, *new])
    events = whole.events[len(tokenizer.decode(prime).events) :]
    if start is None or (events and events[0].offset < start):  # (a step back: from there)
        start = events[0].offset if events else 0.0
    moved = tuple(replace(e, offset=e.offset - start) for e in events)
    return whole.with_events(moved), [(i - len(prime), t) for i, t in skipped if i >= len(prime)]


def _key_lean(
    args: argparse.Namespace,
    bundle: Any,
    views: Any,
    music: Any,
    prime: list[int],
    table: Any,
    band: bool,
) -> Any:
    """A soft pull toward the prime's key, for a model that learnt several keys; else None.

    Such a model reads the key from the music and, writing, drifts with the
    notes it draws (docs/quality.md); a model of one key needs no pull.
    """
    strength = args.key_strength
    if strength is None:
        strength = GENERATION.key_strength if views is not None else 0.0
    if strength < 0:
        raise CommandError(f"--key-strength takes a number >= 0, got {strength:g}", 2)
    if not strength or args.key or band or table is None:
        return None
    from musegen.generation.processors import PitchClassHistogram
    from musegen.keys import best_key

    heard = music if music is not None else bundle.tokenizer.decode(bundle.vocabulary.decode(prime))
    if not any(e.pitches for e in heard.events):
        return None
    key = best_key(heard)
    print(f"leaning toward {key}, the prime's key (--key-strength {strength:g}; 0: not at all)")
    return PitchClassHistogram.of_key(key, strength)


def _steering(args: argparse.Namespace) -> list[Any]:
    """The processors the options ask for: hard constraints first, then the penalties."""
    from musegen.generation import processors

    chain: list[Any] = []
    if args.grammar:
        chain.append(processors.GrammarConstraint())
    if args.key:
        chain.append(processors.KeyConstraint(args.key))
    if args.pitch_range:
        low, sep, high = args.pitch_range.partition(":")
        if not sep:
            raise ValueError(f"--pitch-range takes LOW:HIGH (e.g. C3:C6), got {args.pitch_range!r}")
        chain.append(processors.PitchRange(low, high))
    if args.no_repeat_ngram is not None:
        chain.append(processors.NoRepeatNGram(args.no_repeat_ngram))
    if args.repetition_penalty is not None:
        chain.append(
            processors.RepetitionPenalty(
                args.repetition_penalty, args.penalty_window, only_pitches=True
            )
        )
    if args.density is not None:
        strength = 1.0 if args.density_strength is None else args.density_strength
        chain.append(processors.NoteDensity(args.density, strength))
    elif args.density_strength is not None:
        raise ValueError("--density-strength steers the --density: give it")
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

"""``musegen generate``: MIDI files (and piano rolls, audio) from a trained bundle."""

from __future__ import annotations

import argparse
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from musegen._quiet import start_tensorflow
from musegen._words import plural
from musegen.cli import _steering
from musegen.cli._common import CommandError, bundle_dir
from musegen.cli._outputs import companions, remove_stale, removed_line, summary, write_outputs
from musegen.cli._types import (
    MAX_SEED,
    existing_file,
    finite_float,
    output_file,
    probability,
    seed,
    tempo,
    time_signature,
    whole_number,
)
from musegen.defaults import GENERATION
from musegen.training.recipe import MAX_VIEWS

__all__ = ["add_parser", "run", "write_outputs"]

MAX_LENGTH = 100_000
"""The most bars or quarter notes of a piece (``--bars``, ``--quarters``)."""
MAX_STEPS = 1_000_000
"""The most tokens of a piece (``--steps``)."""
MAX_PIECES = 1_000
"""The most pieces of one batch (``--num``)."""
SAMPLERS = ("argmax", "greedy", "categorical", "top_k", "top_p")
"""The names `musegen.generation.samplers.get` takes."""


def add_parser(commands: Any) -> None:
    """The ``generate`` subcommand and its options."""
    generate = commands.add_parser("generate", help="generate a MIDI file from a trained bundle")
    generate.add_argument(
        "bundle",
        help="a bundle directory, the run directory holding one, or musegen:NAME for a bundle "
        "that ships with musegen (chorales, folk, quartets)",
    )
    generate.add_argument(
        "--out", default=None, type=output_file,
        help="MIDI file to write, ending in .mid or .midi, numbered with --num (default: NAME.mid "
        "here, NAME the bundle's or its run directory's; --wav and --png write beside it)",
    )  # fmt: skip
    generate.add_argument(
        "--steps", type=whole_number(1, MAX_STEPS), default=None,
        help="tokens to generate (default 500; with --bars or --quarters: at most this many)",
    )  # fmt: skip
    length = generate.add_mutually_exclusive_group()
    size = finite_float(0, MAX_LENGTH, low_open=True)
    length.add_argument("--bars", type=size, metavar="N", help="stop each piece after N bars")
    length.add_argument("--quarters", type=size, metavar="N", help="stop after N quarter notes")
    generate.add_argument(
        "--tempo", type=tempo, default=None, metavar="BPM",
        help="the file's tempo (default: the prime's, else 120; MIDI holds 3.58 to 60000000; "
        "--qpm as in Magenta)",
    )  # fmt: skip
    generate.add_argument(
        "--time-signature", type=time_signature, default=None, metavar="N/D",
        help="the file's metre, e.g. 3/4; bars are counted in it (default: the prime's, else 4/4)",
    )  # fmt: skip
    generate.add_argument(
        "--sampler", default=None, choices=SAMPLERS,
        help="argmax (or greedy), categorical, top_k, top_p (default: the bundle's, else "
        f"{GENERATION.sampler} {GENERATION.options})",
    )  # fmt: skip
    generate.add_argument(
        "--k", type=whole_number(1), default=None, help="k of the top_k sampler (7)"
    )
    generate.add_argument(
        "--p", type=probability, default=None, help="p of the top_p sampler, in (0, 1] (0.9)"
    )
    generate.add_argument(
        "--temperature", type=finite_float(0.001, 1000), default=None,
        help="divide the logits by it, from 0.001 to 1000 (default: the bundle's, else 1)",
    )  # fmt: skip
    generate.add_argument(
        "--views", type=whole_number(0, MAX_VIEWS), default=None, metavar="N",
        help="read the model in the keys N semitones each way around the music's, for sampling "
        f"and beams alike, 0 to {MAX_VIEWS} (default: as the bundle was trained; 0: the model "
        "alone)",
    )  # fmt: skip
    generate.add_argument(
        "--key-strength", type=_steering.STRENGTH, default=None, metavar="X",
        help="lean softly toward the prime's key (a PitchClassHistogram of its scale; default "
        f"{GENERATION.key_strength:g} for a model read in several keys, else 0; up to "
        f"{_steering.MAX_STRENGTH:g}; --key forbids other pitches instead)",
    )  # fmt: skip
    generate.add_argument(
        "--prime", default=None, type=existing_file,
        help="a music file to continue (MIDI, MusicXML, ...; --primer_midi as in Magenta)",
    )  # fmt: skip
    generate.add_argument(
        "--include-prime", action="store_true",
        help="write the prime (--prime's music, else the bundle's own prime) at the start of "
        "each file, the new music from where it ends (default: the new music alone)",
    )  # fmt: skip
    generate.add_argument(
        "--seed", type=seed, default=None,
        help="0 to 2**32 - 1 (default: one drawn and printed, to hear the take again)",
    )  # fmt: skip
    generate.add_argument(
        "--num", type=whole_number(1, MAX_PIECES), default=1,
        help=f"pieces to generate, in one batch (song-1.mid, ...; at most {MAX_PIECES}; "
        "--num_outputs as in Magenta)",
    )  # fmt: skip
    magenta = [("--qpm", "tempo", tempo), ("--primer_midi", "prime", existing_file),
               ("--num_outputs", "num", whole_number(1, MAX_PIECES))]  # fmt: skip
    for spelling, ours, kind in magenta:  # Magenta's names, said in the options' help
        generate.add_argument(spelling, dest=ours, type=kind, help=argparse.SUPPRESS)
    generate.add_argument(
        "--program", type=program, default=None, metavar="P",
        help="the instrument of a single-track piece: a General MIDI program 0 to 127 or its "
        "name, e.g. 40 or violin (default 0, the piano); a band's tracks keep theirs",
    )  # fmt: skip
    generate.add_argument(
        "--velocity", type=whole_number(1, 127), default=None, metavar="V",
        help="every note's velocity (loudness), 1 to 127, the prime's too with --include-prime; "
        "it replaces any velocity the model wrote (default: the model's, else 64)",
    )  # fmt: skip
    generate.add_argument("--png", action="store_true", help="also draw the piano roll")
    generate.add_argument("--wav", action="store_true", help="also render to WAV (FluidSynth)")
    generate.add_argument(
        "--musicxml", action="store_true",
        help="also write the notation: NAME.musicxml beside NAME.mid (see musegen export)",
    )  # fmt: skip
    _steering.add_options(generate)
    generate.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Generate ``--num`` pieces and write them (and their pictures, audio); 0 on success."""
    _check(args)
    chain = _steering.processors(args)
    where = bundle_dir(args.bundle)
    if not where.exists():
        raise CommandError(f"no such run or bundle directory: {args.bundle!r}", 2)
    outs = [_numbered(Path(args.out) if args.out else _default_out(where), i, args.num)
            for i in range(args.num)]  # fmt: skip
    prime_file = Path(args.prime).resolve() if args.prime is not None else None
    if prime_file is not None and prime_file in {o.resolve() for o in outs}:
        raise CommandError(
            f"--out would write over the --prime file {args.prime}, the music it continues; "
            "choose another --out (--include-prime writes the prime into the new file)", 2
        )  # fmt: skip
    from musegen.generation.processors import ChordProgression

    chords = next((p for p in chain if isinstance(p, ChordProgression)), None)
    if chords is not None:
        print("read --chords as: " + ", ".join(chords.readings))
    start_tensorflow()
    from musegen.generation import samplers
    from musegen.generation.compose import _stored_sampler, compose, with_chord_track
    from musegen.io.reading import MidiReadError
    from musegen.training.bundle import BundleError, load_bundle

    try:
        bundle = load_bundle(where)
        stored = _stored_sampler(bundle, Path(where) / "metadata.json")
    except BundleError as err:
        raise CommandError(str(err)) from None
    if args.program is not None and hasattr(bundle.tokenizer, "decode_score"):
        raise CommandError("--program sets a single-track piece's instrument; a band's tracks "
                           "keep theirs", 2)  # fmt: skip
    config = _sampler(args, stored)
    _check_sampler_options(args, str(config.get("name")))
    try:
        sampler = samplers.get(config)
    except (ValueError, TypeError) as err:
        raise CommandError(str(err), 2) from None
    from musegen.generation.compose import _table, _unreachable

    unreachable = _unreachable(_table(bundle), chain)
    if unreachable:
        raise CommandError(f"--pitch-range {args.pitch_range}: {unreachable}", 2)
    if args.key_strength is not None and hasattr(bundle.tokenizer, "decode_score"):
        print(f"--key-strength {args.key_strength:g} is ignored: a band is never leaned "
              "toward a key")  # fmt: skip
    elif args.key_strength is not None and args.key is not None:
        print(f"--key-strength {args.key_strength:g} is ignored: --key allows only its pitches")
    if args.seed is None and args.beam is None:  # drawn, so that the take can be heard again
        args.seed = secrets.randbelow(MAX_SEED + 1)
        print(f"seed {args.seed} (rerun with --seed {args.seed} to hear this take again)")
    try:
        made = compose(
            bundle, args.prime, bars=args.bars, quarters=args.quarters, steps=args.steps,
            tempo=args.tempo, time_signature=args.time_signature, key=args.key,
            processors=chain, key_strength=args.key_strength, views=args.views,
            sampler=sampler, beam=args.beam,
            num=args.num, seed=args.seed,
        )  # fmt: skip
    except MidiReadError as err:
        raise CommandError(f"--prime: {err}") from None
    except (ValueError, TypeError) as err:
        raise CommandError(str(err)) from None
    if made.views > 1:
        print(f"the model read in {made.views} keys around the music's (--views 0: alone)")
    for line in made.messages:
        print(line)
    prime = _prime_music(bundle, args, made) if args.include_prime else None
    failed, removed = 0, []
    for i, (out, piece) in enumerate(zip(outs, made.pieces, strict=False)):
        music: Any = piece.music
        if args.chords_track and chords is not None:
            music = with_chord_track(music, chords, piece.length)
        if prime is not None:
            music = with_prime(prime[0], music, prime[1])
        if args.velocity is not None:
            music = _with_velocity(music, args.velocity)
        music, program = _with_program(music, args.program)
        before = companions(out, keep=[prime_file] if prime_file else [])
        failed |= write_outputs(
            music, out, png=args.png, wav=args.wav, title=f"{out.name} · {made.how}",
            program=program,
        )  # fmt: skip
        if args.musicxml:
            from musegen.io.notation import write_musicxml

            print(f"wrote {write_musicxml(music, out.with_suffix('.musicxml'), title=out.stem)}")
        removed += remove_stale(before)
        print(f"  {summary(piece.music, piece.length)}, "
              f"{plural(len(piece.skipped), 'token')} skipped")  # fmt: skip
        if prime is not None:
            print(f"  written after the prime, {prime[1]:g} quarter notes of it first")
        if not _notes(piece.music):
            print(f"  piece {i + 1} is empty: it holds no note (give more --steps, or fewer "
                  "constraints)")  # fmt: skip
    said = removed_line(removed)
    if said is not None:
        print(said)
    return failed


def program(text: str) -> int:
    """A General MIDI program: a number 0 to 127, or its instrument's name (any case).

    A name is the General MIDI name, spaces, hyphens and underscores alike
    (``"violin"``, ``"acoustic-grand-piano"``, ``"Electric Bass (finger)"``).

    Examples:
        >>> program("40"), program("Violin"), program("acoustic_grand_piano")
        (40, 40, 0)
        >>> program("kazoo")
        Traceback (most recent call last):
        ...
        argparse.ArgumentTypeError: takes a General MIDI program 0 to 127 or its name (e.g. \
violin), got 'kazoo'
    """
    from musegen.io._channels import GM_NAMES

    if text.strip().lstrip("+-").isdigit():
        return whole_number(0, 127)(text)
    names = {_name_key(name): number for number, name in enumerate(GM_NAMES)}
    found = names.get(_name_key(text))
    if found is None:
        raise argparse.ArgumentTypeError(
            f"takes a General MIDI program 0 to 127 or its name (e.g. violin), got {text!r}"
        )
    return found


def _name_key(name: str) -> str:
    """An instrument name as `program` matches it: lower case, words joined by one space."""
    return " ".join(name.lower().replace("-", " ").replace("_", " ").split())


def _prime_music(bundle: Any, args: argparse.Namespace, made: Any) -> tuple[Any, float]:
    """The prime as ``--include-prime`` writes it, and where the new music starts in it.

    The prime is ``--prime``'s music as the readers read it (every note, its own
    velocities), else the bundle's own prime decoded from the ids the model read
    (``made.prime``). The new music starts where the model's clock put the
    prime's end (`Composition.prime_end`: on the next bar line for a model with
    bar tokens), and never before the prime's last note has ended.
    """
    band = hasattr(bundle.tokenizer, "decode_score")
    if args.prime is not None:
        from musegen.io.reading import read_piece, read_tracks

        music: Any = read_tracks(args.prime) if band else read_piece(args.prime)
    else:
        reader = bundle.in_key(args.key)
        words = reader.vocabulary.decode([int(i) for i in made.prime])
        decode = reader.tokenizer.decode_score if band else reader.tokenizer.decode
        music = decode(words)
    return music, max(made.prime_end or 0.0, float(music.duration))


def with_prime(prime: Any, music: Any, start: float) -> Any:
    """`prime` followed by `music` (a piece or a score), `music`'s 0 moved to `start`.

    The prime keeps its notes, velocities, pickup and metre changes; the file
    takes `music`'s tempo, and its metre from `start` when it differs. A
    score's new notes go to the prime's track of the same instrument (and name,
    when one matches), else to a track of their own; a piece's prime that meets
    a score (``--chords-track``) goes to the score's first track.

    Examples:
        >>> from musegen.events import Event, Piece
        >>> both = with_prime(Piece((Event(0, 1, (60,)),)), Piece((Event(0, 2, (64,)),)), 4.0)
        >>> [(e.offset, e.pitches) for e in both.events]
        [(0.0, (60,)), (4.0, (64,))]
    """
    from dataclasses import replace

    from musegen.io.tracks import Score, Track

    if isinstance(music, Score):
        if not isinstance(prime, Score):
            first = music.tracks[0] if music.tracks else Track(prime)
            prime = Score((replace(first, piece=prime),), tempo=prime.tempo,
                          time_signature=prime.time_signature, pickup=prime.pickup,
                          time_signature_changes=prime.time_signature_changes)  # fmt: skip
        tracks = list(prime.tracks)
        taken: set[int] = set()
        for track in music.tracks:
            same = [i for i, t in enumerate(tracks) if i not in taken
                    and (t.program, t.is_drum) == (track.program, track.is_drum)]  # fmt: skip
            named = [i for i in same if tracks[i].name == track.name]
            moved = _moved(track.piece.events, start)
            if named or same:
                at = (named or same)[0]
                taken.add(at)
                whole = (*tracks[at].piece.events, *moved)
                tracks[at] = replace(tracks[at], piece=tracks[at].piece.with_events(whole))
            else:
                tracks.append(replace(track, piece=track.piece.with_events(moved)))
        return replace(
            prime, tracks=tuple(tracks), tempo=music.tempo, tempo_changes=(),
            time_signature_changes=_metres(prime, music, start), source="",
        )  # fmt: skip
    if isinstance(prime, Score):
        prime = prime.merged(drums=True)
    return replace(
        prime, events=(*prime.events, *_moved(music.events, start)), tempo=music.tempo,
        time_signature_changes=_metres(prime, music, start), source="",
    )  # fmt: skip


def _moved(events: Sequence[Any], start: float) -> tuple[Any, ...]:
    """`events` each moved `start` quarter notes later."""
    from dataclasses import replace

    return tuple(replace(event, offset=event.offset + start) for event in events)


def _metres(prime: Any, music: Any, start: float) -> tuple[tuple[float, str], ...]:
    """The prime's metre changes, and `music`'s metre at `start` when the prime ends in another."""
    changes = tuple(c for c in prime.time_signature_changes if c[0] < start)
    ending = changes[-1][1] if changes else prime.time_signature
    if music.time_signature != ending and start > 0:
        changes += ((start, music.time_signature),)
    return changes


def _with_velocity(music: Any, velocity: int) -> Any:
    """`music` (a piece or a score) with every note at `velocity`."""
    from dataclasses import replace

    def loud(piece: Any) -> Any:
        return piece.with_events(
            [replace(e, velocity=velocity) if e.pitches else e for e in piece.events]
        )

    if hasattr(music, "tracks"):
        return replace(music, tracks=tuple(replace(t, piece=loud(t.piece)) for t in music.tracks))
    return loud(music)


def _with_program(music: Any, chosen: int | None) -> tuple[Any, int]:
    """`music` and the program a piece is written with: `chosen`, else 0 (a piano).

    A piece that ``--chords-track`` made a score of plays `chosen` on its
    music track (the first); the chords stay on the piano.
    """
    if chosen is None:
        return music, 0
    if hasattr(music, "tracks"):
        from dataclasses import replace

        first = replace(music.tracks[0], program=chosen)
        return replace(music, tracks=(first, *music.tracks[1:])), 0
    return music, chosen


def _notes(music: Any) -> int:
    """The notes and chords of a piece, or of a band's tracks together."""
    if hasattr(music, "tracks"):
        return sum(len(track.piece.notes) for track in music.tracks)
    return len(music.notes)


def _check(args: argparse.Namespace) -> None:
    """Refuse, in one line with status 2, option values that do not go together.

    Each value alone was checked by its argparse type (`musegen.cli._types`).
    """
    if args.beam is not None and args.num > 1:
        raise CommandError("beam search is deterministic: --num would give copies of one piece", 2)
    if args.sampler is not None:
        _check_sampler_options(args, args.sampler)


def _check_sampler_options(args: argparse.Namespace, name: str) -> None:
    """Refuse ``--k`` or ``--p`` for a sampler that does not take it (status 2).

    Examples:
        >>> _check_sampler_options(argparse.Namespace(k=5, p=None), "top_p")
        Traceback (most recent call last):
        ...
        musegen.cli._common.CommandError: --k is an option of --sampler top_k; the sampler is \
top_p
    """
    for option, owner in (("k", "top_k"), ("p", "top_p")):
        if getattr(args, option) is not None and name != owner:
            raise CommandError(f"--{option} is an option of --sampler {owner}; the sampler is "
                               f"{name}", 2)  # fmt: skip


def _default_out(bundle: Path) -> Path:
    """``NAME.mid`` in the current folder: the shipped bundle's or the run directory's name.

    Examples:
        >>> str(_default_out(Path("runs/bach/bundle"))), str(_default_out(Path("data/chorales")))
        ('bach.mid', 'chorales.mid')
    """
    name = bundle.parent.name if bundle.name == "bundle" else bundle.name
    return Path(f"{name or 'generated'}.mid")


def _numbered(out: Path, index: int, count: int) -> Path:
    """``song.mid`` for one piece; ``song-1.mid`` .. ``song-N.mid`` for several."""
    return out if count == 1 else out.with_name(f"{out.stem}-{index + 1}{out.suffix or '.mid'}")


def _sampler(args: argparse.Namespace, saved: dict[str, Any] | None) -> dict[str, Any]:
    """The sampler: the bundle's (else the library default), with the options given here.

    An option of another sampler is left out here; `run` refuses it (`_check_sampler_options`).
    """
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

"""Harmonise a tune: the soprano of held-out Bach chorales in, four voices out, against Bach's own.

    python examples/harmonize.py                        # trains its model (3 CPU minutes)
    python examples/harmonize.py --bundle out/harmonize/bundle --sampler top_p --tries 3
    python examples/harmonize.py --bundle runs/bach     # the README's model (low to high)

An LSTM trained on the chorales writes the other voices under a given melody:
`musegen.generation.processors.MelodyConstraint` makes the k-th generated event carry the
melody's k-th pitch as its top note, with its duration, and lets the model
choose the voices below. DeepBach and Coconet do this with models of their
own; here it is an LSTM like the one that composes freely, steered at
sampling time.

The model is the default one (`musegen.defaults`) with two changes, both
measured in docs/steering.md: the ``notes-high`` encoding, which spells each
event from its highest pitch down, so the model picks the voices below knowing
the melody note; and the training songs in all 12 keys (``--transpose -5 6``):
the melody fixes the key, and a model that has seen every key overfits less in
its 3 minutes.

For each held-out chorale with four parts (the songs ``musegen train`` holds
out: a 90/10 split of ``--limit`` chorales with ``--seed``):

1. the prime is the real chorale, all voices, up to its ``--prime-notes``-th
   soprano note; the melody is the soprano from there, ``--notes`` notes long;
2. the model harmonises the melody (``--sampler``: beam search of width 4 by
   default; a sampler with ``--tries`` seeds);
3. the harmonisation is compared with Bach's over the same notes:
   `musegen.evaluation.metrics.compare` against Bach's chords at the melody's onsets
   (what sounds in his score when each melody note starts, held for that note:
   his harmony in the texture this recipe writes), with his score as written
   beside it; and how often the bass (the lowest note at each melody onset) is
   Bach's note, or his pitch class;
4. MIDI files of both and a piano roll of each pair go to ``--out``.

Each melody note gets a chord of its own (every voice moves with it), so the
texture is plainer than Bach's, whose voices move between the melody's notes.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import _common
import keras

from musegen.defaults import GENERATION, TRAINING
from musegen.evaluation.metrics import compare
from musegen.events import Event, Piece
from musegen.generation import samplers
from musegen.generation.beam import beam_search
from musegen.generation.compose import continuation
from musegen.generation.decoding import generate
from musegen.generation.processors import MelodyConstraint
from musegen.io.corpus import load_corpus
from musegen.io.reading import piece_from_stream
from musegen.io.writing import write_midi
from musegen.keys import best_key, tonic
from musegen.tokens.encodings import encodings
from musegen.tokens.token_table import TokenTable
from musegen.training.bundle import Bundle, load_bundle, save_bundle
from musegen.training.dataset import SequenceDataset, split_songs, transposed
from musegen.training.fitting import TimeBudget, fit
from musegen.training.model import build_lstm


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = _common.parser(
        "harmonize", __doc__, data="music21:bach", limit=100, units=TRAINING.units,
        batch_size=TRAINING.batch_size, epochs=10**6,
    )  # fmt: skip
    p.add_argument("--bundle", help="a trained bundle (or run directory) instead of training")
    p.add_argument(
        "--encoding",
        default="notes-high",
        help="encoding to train with: notes-high (the melody note first in each event), "
        "notes (low to high, the default of musegen train), ...",
    )
    p.add_argument("--minutes", type=float, default=TRAINING.minutes, help="training budget")
    p.add_argument(
        "--transpose",
        type=int,
        nargs=2,
        default=(-5, 6),
        metavar=("LO", "HI"),
        help="also train on the songs moved by LO..HI semitones (default -5 6: all 12 keys)",
    )
    p.add_argument("--keep", choices=("best", "last"), default="last", help="weights to keep")
    p.add_argument("--chorales", type=int, default=5, help="held-out chorales to harmonise")
    p.add_argument(
        "--prime-notes", type=int, default=2, help="soprano notes given with Bach's chords"
    )
    p.add_argument("--notes", type=int, default=32, help="soprano notes to harmonise")
    p.add_argument("--tries", type=int, default=1, help="harmonisations per chorale (seeds)")
    p.add_argument(
        "--sampler",
        default="beam",
        help="beam (width 4, the default), argmax, categorical, top_k, top_p",
    )
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. The chorales, all voices merged; the held-out ones (as `musegen train` holds them out).
    chorales = load_corpus(args.data, limit=args.limit)
    pieces = chorales.pieces
    print(f"{args.data}: {chorales.summary()}")
    _, held_index = split_songs(len(pieces), 0.1, args.seed)
    held_out = [pieces[i] for i in held_index]

    # 2. A model: the given bundle, or the default model trained on the training songs.
    if args.bundle:
        where = Path(args.bundle)
        bundle = load_bundle(where)  # a bundle, or the run directory holding one
        model, tokenizer, vocab = bundle.model, bundle.tokenizer, bundle.vocabulary
    else:
        model, tokenizer, vocab = train(args, pieces)
    table = TokenTable.build(tokenizer, vocab)

    # 3. Harmonise the soprano of each held-out chorale; keep Bach's harmonisation beside it.
    results: list[dict[str, Any]] = []
    for chorale in held_out:
        if len({r["chorale"] for r in results}) == args.chorales:
            break
        soprano = soprano_of(args.data, chorale.source)
        if soprano is None or len(soprano) <= args.prime_notes + 1:
            continue  # not four voices, or too short
        start = soprano[args.prime_notes].offset
        melody_events = soprano[args.prime_notes : args.prime_notes + args.notes]
        melody = [(max(e.pitches) if e.pitches else None, e.duration) for e in melody_events]
        end = melody_events[-1].end
        prime_tokens = tokenizer.encode(excerpt(chorale, 0.0, start))
        prime = vocab.encode(prime_tokens, unknown="map")
        bach = excerpt(chorale, start, end)
        for attempt in range(args.tries):
            events = harmonise(args, model, tokenizer, vocab, table, prime, melody, attempt)
            piece = Piece(tuple(events), tempo=chorale.tempo)
            name = f"{Path(chorale.source).stem}-{attempt}"
            onsets = [e.offset - start for e in melody_events]
            results.append(
                {"chorale": chorale.source, "name": name, "melody": melody, "generated": piece,
                 "bach": bach, "onsets": onsets, "chords": chords_at(bach, onsets, melody)}
            )  # fmt: skip
            write_midi(piece, args.out / f"{name}.mid")
            if attempt == 0:
                write_midi(bach, args.out / f"{Path(chorale.source).stem}-bach.mid")
                draw(piece, bach, args.out / f"{Path(chorale.source).stem}.png", name)
    if not results:
        raise SystemExit("no held-out chorale is long enough: lower --prime-notes")

    # 4. Compare with Bach: the metric table, and the bass at every melody onset.
    # Bach's voices move between the melody's notes; ours all move with it. So the reference
    # is Bach's harmony in our texture: what sounds in his score at each melody onset, held
    # for that melody note. His score as written is the second column.
    table_ = compare(
        {
            "musegen": [r["generated"] for r in results],
            "Bach as written": [r["bach"] for r in results],
        },
        reference=[r["chords"] for r in results],
    )
    exact, pitch_class, on_tonic = bass_agreement(results)
    report = (
        f"{table_}\n\nbass (lowest note at each melody onset) equal to Bach's: "
        f"{exact:.1%} of onsets; same pitch class: {pitch_class:.1%} "
        f"(Bach's bass is the key's tonic at {on_tonic:.1%}) "
        f"({len(results)} harmonisations of {len(results) // args.tries} chorales, "
        f"{args.notes} notes each at most, sampler {args.sampler})"
    )
    print(f"\n{report}")
    (args.out / "report.txt").write_text(report + "\n", encoding="utf-8")
    return {
        "results": results, "bass_exact": exact, "bass_pitch_class": pitch_class,
        "bass_on_tonic": on_tonic,
    }  # fmt: skip


def train(args: Any, songs: list[Piece]) -> tuple[Any, Any, Any]:
    """``--encoding`` and the default model trained for ``--minutes``, as ``musegen train`` does.

    The songs are split as in `main` (the held-out ones validate), and the vocabulary
    comes from all of them, as ``musegen train`` builds it.
    """
    started = time.perf_counter()
    tokenizer = encodings()[args.encoding]
    shifts = tuple(args.transpose) if args.transpose else None
    vocab = tokenizer.build_vocabulary(transposed(songs, *shifts) if shifts else songs)
    data = SequenceDataset.from_pieces(
        songs, tokenizer, vocab, seq_len=TRAINING.seq_len, shape="chunks",
        val_fraction=0.1, seed=args.seed, unknown="map", transpose=shifts,
    )  # fmt: skip
    model = build_lstm(
        len(vocab), units=args.units, return_sequences=True,
        learning_rate=TRAINING.learning_rate,
    )  # fmt: skip
    callbacks: list[Any] = [TimeBudget(args.minutes, started_at=started)]
    if args.keep == "best":  # the weights of the lowest validation loss
        callbacks.append(keras.callbacks.EarlyStopping(patience=10**9, restore_best_weights=True))
    fit(
        model, data, epochs=args.epochs, batch_size=args.batch_size, run_dir=args.out / "run",
        callbacks=callbacks, patience=None, verbose=2,
    )  # fmt: skip
    save_bundle(args.out / "bundle", model, tokenizer, vocab)
    return model, tokenizer, vocab


def harmonise(
    args: Any, model: Any, tokenizer: Any, vocab: Any, table: TokenTable,
    prime: list[int], melody: list[tuple[int | None, float]], attempt: int,
) -> list[Event]:  # fmt: skip
    """The events the model writes under `melody` after `prime`, starting at 0."""
    steps = 8 * len(melody)  # enough for chords of up to 6 notes, a duration and a velocity
    constraint = [MelodyConstraint(melody)]
    if args.sampler == "beam":
        ids = beam_search(model, prime, steps, 4, processors=constraint, table=table)[0][0]
    else:
        sampler = samplers.get(args.sampler, **_options(args.sampler))
        ids = generate(
            model, prime, steps, sampler, processors=constraint, table=table,
            seed=args.seed + attempt,
        )[0]  # fmt: skip
    made = continuation(Bundle(model, tokenizer, vocab), prime, ids)  # 0: the prime's end
    return list(made.music.events[: len(melody)])


def _options(name: str) -> dict[str, Any]:
    return dict(GENERATION.options) if name == GENERATION.sampler else {}


def soprano_of(data: str, source: str) -> list[Event] | None:
    """The soprano of a four-part chorale (its part named Soprano, or its first), rests included.

    None when the score has not four parts (some chorales add trumpets and timpani).
    """
    from music21 import converter, corpus

    score = (
        corpus.parse(Path(source).stem)
        if data.startswith("music21:")
        else converter.parse(Path(data) / source)
    )
    parts = list(score.parts)
    if len(parts) != 4:
        return None
    named = [p for p in parts if (p.partName or "").lower().startswith("soprano")]
    return with_rests(piece_from_stream((named or parts)[:1][0]).events)


def with_rests(events: tuple[Event, ...]) -> list[Event]:
    """A melody's events with its silent gaps as rest events; leading silence left out."""
    out: list[Event] = []
    for event in events:
        if not out and not event.pitches:
            continue
        if out and event.offset > out[-1].end + 1e-9:
            out.append(Event(out[-1].end, event.offset - out[-1].end))
        out.append(event)
    return out


def excerpt(piece: Piece, start: float, end: float) -> Piece:
    """The events sounding in ``[start, end)``, clipped to it and moved to start at 0."""
    events = []
    for e in piece.events:
        if e.end > start + 1e-9 and e.offset < end - 1e-9:
            onset = max(e.offset, start)
            events.append(replace(e, offset=onset - start, duration=min(e.end, end) - onset))
    return piece.with_events(tuple(e for e in events if e.duration > 1e-9))


def chords_at(bach: Piece, onsets: list[float], melody: list[tuple[int | None, float]]) -> Piece:
    """Bach's harmony in block chords: the pitches sounding at each melody onset, for its length."""
    events = []
    for onset, (_, duration) in zip(onsets, melody, strict=True):
        sounding = {p for e in bach.events if e.offset <= onset + 1e-9 < e.end for p in e.pitches}
        events.append(Event(onset, duration, tuple(sorted(sounding))))
    return bach.with_events(tuple(events))


def bass_agreement(results: list[dict[str, Any]]) -> tuple[float, float, float]:
    """Shares of melody onsets where the generated bass is Bach's pitch, and his pitch class.

    And, for scale, the share where Bach's bass is the tonic of the excerpt's key
    (`musegen.keys.best_key`): what a bass always on the tonic would match.
    """
    exact = same_class = on_tonic = total = 0
    for r in results:
        key_tonic = tonic(best_key(r["bach"]))
        for event, onset in zip(r["generated"].events, r["onsets"], strict=False):
            sounding = [
                p for e in r["bach"].events if e.offset <= onset + 1e-9 < e.end for p in e.pitches
            ]
            if not sounding or not event.pitches:
                continue
            ours, his = min(event.pitches), min(sounding)
            total += 1
            exact += ours == his
            same_class += ours % 12 == his % 12
            on_tonic += his % 12 == key_tonic
    if not total:
        return float("nan"), float("nan"), float("nan")
    return exact / total, same_class / total, on_tonic / total


def draw(ours: Piece, bach: Piece, path: Path, title: str) -> None:
    """Piano rolls of our harmonisation above Bach's."""
    from musegen.evaluation import plots

    plots.piano_rolls({f"musegen ({title})": ours, "Bach": bach}, path=path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""Quality per CPU minute: configurations trained under one wall-clock budget, in one run.

Command (from the repository root; not run in CI)::

    nice python bench/quality.py --corpus bach --minutes 3
    nice python bench/quality.py --corpus skuli --minutes 3 --rows default,final,remi
    nice python bench/quality.py --corpus folk --rows default,bars --prime-metres 3/4,6/8

Corpora: ``bach`` is music21's bundled Bach chorales (the first 100, as the
README's main job reads them); ``skuli`` is ``data/skuli-midi``; ``folk`` is
O'Neill's 1850 collection of Irish tunes that music21 ships (2009 tunes: jigs in
6/8, reels in 2/2 and 4/4, airs and waltzes in 3/4). With ``--prime-metres 3/4,6/8``
the pieces are primed in those metres in turn, and a second table gives, per
metre, how far the bar positions of its pieces are from real songs in that
metre and in 4/4. Three splits
by song, each a seeded 90/10 split (`split_pieces`, seed 0): 10% of the songs are
held out and scored; of the rest, 10% are validation songs, which choose the
weights of the rows that keep the best ones and are never scored; the others
train every row. The vocabulary comes from the training songs only, so a
held-out token it lacks maps to ``<unk>`` (the ``unk`` column gives their share:
a compound encoding's NLL is flattered by them).

Every row trains a chunk model for ``--minutes`` of wall-clock time (building the
model included), then reports:

- ``valid nll/qn``: the same on the validation songs (what a choice between rows reads).
- ``nll/qn``: held-out NLL per quarter note of music (`musegen.evaluation.likelihood`):
  each held-out song's summed token NLL over its length in quarter notes,
  averaged over songs. Every encoding pays for the same music.
- for each of its samplers, `musegen.evaluation.metrics.compare` of ``--pieces`` generated
  pieces against the held-out songs: each held-out song in turn (with a new seed
  when they run out) primes one piece with its first ``--prime-quarters``
  quarter notes; the continuation is cut to ``--quarters`` quarter notes.
- ``copied``: the longest run of ``notes`` tokens a generated piece shares with
  a training song (mean over pieces; for the held-out songs, their first
  ``--quarters`` quarter notes): memorization, which the distances miss.
- the **real-vs-real floor**: the same distances between real training songs,
  cut to as many pieces of the same length at random places (mean ± std over
  ``--floor-draws`` draws), and the held-out songs; and the same real pieces
  after a round trip through the default encoding, which shows what the
  encoding itself loses.

Rows:

- ``readme-0.1``: the seed's ``final`` compound tokens as the README shipped them
  before the defaults were measured: 2 x LSTM 256, chunks of 100, batch 32, Adam
  3e-3 without annealing, top-k 7.
- ``final``, ``final-12keys``: ``final`` compound tokens with the default model,
  training and sampler; the second also trains on the songs in all 12 keys.
- ``notes-seed``, ``notes-seed-12keys``: the same information (3 durations, 4
  velocities) spelt one token per pitch / duration / velocity (`NoteTokenizer`).
- ``notes``, ``notes-5keys``, ``notes-12keys``: note-level with eight note
  values, no velocities, each event keeping its own length (``holds=True``); the
  training songs as they are, moved by -2..+2 semitones, or in all 12 keys.
- ``notes-cut``, ``notes-cut-12keys``: the same with the seed's timing (events
  shortened to the next onset).
- ``default``: exactly what ``musegen train`` / ``musegen generate`` do by default
  (`musegen.defaults`).
- ``bars``: ``default`` with a ``bar`` token at each bar line and the metre at the
  first bar and where it changes (``notes-bars``); generated with `BarConstraint`.
- ``remi``: MidiTok's REMI tokens (default configuration) through the default
  model, transposition, budget and sampler (``pip install miditok``; REMI spells timing more
  finely: positions in 8ths of a beat).
- ``notes-best``: ``notes`` keeping the weights of the lowest validation loss
  (on the validation songs, every epoch) instead of the last ones.
- ``last-0.3``: the model before the JSB measurements (head dropout 0.3, the
  last weights, no transposition); ``best``, ``best-0.3``, ``t3-best``,
  ``t3-last``: keeping the best weights, with and without the head's dropout and
  the -3..+3 transposition (``bench/jsb.py`` found both worth more than any change
  of model); ``t3-best-seq256``: ``t3-best`` on chunks of 256 tokens (does a
  longer context let a transposed model hold its key?).
- ``keynorm``, ``keynorm-no-dropout``: the default of the stop before seven
  keys (head dropout 0.3, no transposition) with every song moved to C
  major / A minor (`musegen.keys.key_shift`) for training and scoring; a piece
  is primed in its prime's key moved there and moved back after. Its NLL
  columns add each song's ``log(12)`` nats (the shift the model is not asked
  to predict) over the song's quarter notes, so they compare with the others.
  ``copied`` is counted in the normalized key, against the normalized songs.
- ``ema``, ``keynorm-ema``: Adam keeps an exponential moving average of the
  weights (momentum 0.99), which replace them when training ends; these rows keep
  that average, not the best epoch's weights (Keras restores those after it).
- ``t3-views``, ``t3-layer-views`` (= ``default`` now), ``keynorm-t3``,
  ``keynorm-t3-no-dropout``, ``keynorm-t3-layer-views``: trained in seven keys
  (around the songs' own, or around C after normalizing), with no dropout or
  0.3 between the LSTMs; a row with ``views`` is scored and sampled twice, alone
  and read in its 7 keys (`musegen.generation.views.TranspositionViews`), and a
  row read in several keys leans toward its prime's key as ``musegen generate``
  does (``--key-strengths`` to compare strengths).
- ``default-2x256``, ``default-b64``, ``default-aug2``, ``notes-seq100``: variations
  of the default, for choosing it.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import _floor
import _recipe
import numpy as np

from musegen.defaults import TRAINING

SAMPLERS: dict[str, dict[str, Any]] = {
    "top-k 7": {"name": "top_k", "k": 7},
    "top-k 7, T 0.8": {"name": "top_k", "k": 7, "temperature": 0.8},
    "top-k 3": {"name": "top_k", "k": 3},
    "top-p 0.9": {"name": "top_p", "p": 0.9},
    "top-p 0.8, T 0.8": {"name": "top_p", "p": 0.8, "temperature": 0.8},
    "top-p 0.9, T 0.9": {"name": "top_p", "p": 0.9, "temperature": 0.9},
    "top-p 0.8": {"name": "top_p", "p": 0.8},
    "top-p 0.95, T 0.8": {"name": "top_p", "p": 0.95, "temperature": 0.8},
}


@dataclass(frozen=True)
class Row:
    encoding: str  # a musegen.tokens.encodings.encodings() name, or "remi"
    units: tuple[int, ...]
    seq_len: int
    batch: int
    learning_rate: float
    anneal: bool = True
    transpose: tuple[int, int] | None = None
    samplers: tuple[str, ...] = ()  # SAMPLERS names; () means the default sampler
    best: bool = False  # keep the weights of the lowest validation loss, not the last
    dropout: float = TRAINING.dropout
    layer_dropout: float = TRAINING.layer_dropout
    normalize_keys: bool = False  # every song moved to C major / A minor (`key_shift`)
    ema: float = 0.0  # > 0: Adam keeps a moving average of the weights (its momentum), kept
    views: int = 0  # > 0: also scored and sampled as the mixture of -views..+views semitones


CORPORA = {
    "bach": ("music21:bach", 100),  # the README job's chorales
    "skuli": (str(_recipe.CORPUS), None),
    "folk": ("music21:oneills1850", None),  # O'Neill's 1850: 663 jigs in 6/8, 218 tunes in 3/4
}
"""``--corpus`` name -> (source, most songs read)."""


def rows() -> dict[str, Row]:
    from musegen.defaults import GENERATION

    default = Row(
        TRAINING.encoding,
        TRAINING.units,
        TRAINING.seq_len,
        TRAINING.batch_size,
        TRAINING.learning_rate,
        transpose=TRAINING.transpose,
        best=TRAINING.keep == "best",
        normalize_keys=TRAINING.normalize_keys,
        views=TRAINING.views if TRAINING.transpose else 0,
    )
    # the default of the stop before transposition and views (songs moved to one key)
    keynorm = replace(
        default, transpose=None, normalize_keys=True, dropout=0.3, layer_dropout=0.0, views=0
    )
    keys = (-5, 6)
    table = {
        "readme-0.1": Row(
            "final", (256, 256), 100, 32, 3e-3, anneal=False, samplers=("top-k 7",), dropout=0.3
        ),
        "final": replace(default, encoding="final", transpose=None),
        "final-12keys": replace(default, encoding="final", transpose=keys),
        "notes-seed": replace(default, encoding="notes-seed", transpose=None),
        "notes-seed-12keys": replace(default, encoding="notes-seed", transpose=keys),
        "notes": replace(default, encoding="notes", transpose=None, best=False),
        "notes-12keys": replace(default, encoding="notes", transpose=keys),
        "notes-5keys": replace(default, encoding="notes", transpose=(-2, 2)),
        "notes-best": replace(default, encoding="notes", transpose=None, best=True),
        "notes-cut": replace(default, encoding="notes-cut", transpose=None),
        "notes-cut-12keys": replace(default, encoding="notes-cut", transpose=keys),
        "default": default,
        "bars": replace(default, encoding="notes-bars"),
        "remi": replace(default, encoding="remi"),
        "default-2x256": replace(default, units=(256, 256), learning_rate=3e-3),
        "default-b64": replace(default, batch=64),
        "default-aug2": replace(default, transpose=(-2, 2)),
        "notes-2x256": replace(default, encoding="notes", units=(256, 256), learning_rate=3e-3),
        "notes-2x256-12keys": replace(
            default, encoding="notes", units=(256, 256), learning_rate=3e-3, transpose=keys
        ),
        "notes-2x256-aug2": replace(
            default, encoding="notes", units=(256, 256), learning_rate=3e-3, transpose=(-2, 2)
        ),
        "notes-2x128-12keys-3e-3": replace(
            default, encoding="notes", units=(128, 128), learning_rate=3e-3, transpose=keys
        ),
        "notes-seq100": replace(default, encoding="notes", seq_len=100),
        "default-samplers": replace(default, samplers=tuple(SAMPLERS)),
        "last-0.3": replace(
            default,
            encoding="notes",
            transpose=None,
            best=False,
            dropout=0.3,
            layer_dropout=0,
            normalize_keys=False,
        ),
        "best": replace(
            default, encoding="notes", transpose=None, best=True, dropout=0, layer_dropout=0
        ),
        "best-0.3": replace(
            default, encoding="notes", transpose=None, best=True, dropout=0.3, layer_dropout=0,
            normalize_keys=False,
        ),
        "t3-best": replace(
            default, encoding="notes", transpose=(-3, 3), best=True, dropout=0, layer_dropout=0,
            views=0,
        ),
        "t3-last": replace(
            default, encoding="notes", transpose=(-3, 3), best=False, dropout=0, layer_dropout=0,
            views=0,
        ),
        "t3-best-seq256": replace(
            default, encoding="notes", transpose=(-3, 3), best=True, dropout=0, layer_dropout=0,
            seq_len=256, views=0,
        ),
        "keynorm": keynorm,
        "keynorm-no-dropout": replace(keynorm, dropout=0),
        "ema": replace(keynorm, normalize_keys=False, ema=0.99, best=False),
        "keynorm-ema": replace(keynorm, ema=0.99, best=False),
    }  # fmt: skip
    # a transposed row keeps its songs in their keys (normalizing would undo what it moves)
    # and one that does not move them is read in its own key alone
    table = {
        n: replace(r, normalize_keys=False) if r.transpose else replace(r, views=0)
        for n, r in table.items()
    }
    # ... unless it moves them around C major / A minor after normalizing
    table["keynorm-t3"] = replace(keynorm, transpose=(-3, 3))
    table["keynorm-t3-no-dropout"] = replace(table["keynorm-t3"], dropout=0)
    table["keynorm-t3-layer-views"] = replace(
        table["keynorm-t3"], dropout=0, layer_dropout=0.3, views=3
    )
    table["t3-views"] = replace(table["t3-best"], views=3)
    table["t3-layer-views"] = replace(table["t3-views"], layer_dropout=0.3)  # the default now
    return table, GENERATION


class Remi:
    """MidiTok's REMI through temporary MIDI files, with musegen's reserved ids avoided."""

    def __init__(self) -> None:
        import miditok

        self.tokenizer = miditok.REMI()
        self.folder = Path(tempfile.mkdtemp())

    def __len__(self) -> int:
        return len(self.tokenizer)

    def encode(self, piece: Any) -> np.ndarray:
        from symusic import Score

        from musegen.io.writing import write_midi

        path = self.folder / "piece.mid"
        write_midi(piece, path)
        sequences = self.tokenizer.encode(Score(str(path)))
        if isinstance(sequences, list):
            sequences = sequences[0]
        return np.asarray(sequences.ids, dtype=np.int64)

    def decode(self, ids: np.ndarray) -> Any:
        from musegen.io.reading import read_midi

        path = self.folder / "out.mid"
        score = self.tokenizer.decode([[int(i) for i in ids]])
        score.dump_midi(str(path))
        try:
            return read_midi(path)
        except Exception:
            from musegen.events import Piece

            return Piece(())


def main() -> None:
    table, generation = rows()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=tuple(CORPORA), default="bach")
    parser.add_argument(
        "--prime-metres",
        default="",
        help="comma-separated metres (e.g. 3/4,6/8): the pieces are primed by held-out songs in "
        "each in turn, and each metre's generated bar positions are compared with real songs "
        "in it and in 4/4",
    )
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--rows", default="readme-0.1,final,notes-seed,notes,default,remi")
    parser.add_argument("--pieces", type=int, default=8)
    parser.add_argument("--quarters", type=float, default=32.0)
    parser.add_argument("--prime-quarters", type=float, default=4.0)
    parser.add_argument("--floor-draws", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--judge",
        choices=("held-out", "valid"),
        default="held-out",
        help="the songs that prime the generated pieces and that they are compared with: "
        "'valid' to choose a sampler (the held-out songs stay unseen), 'held-out' to report",
    )
    parser.add_argument(
        "--extra-samplers",
        default="",
        help="rows (comma-separated, or 'default') that also generate with every sampler",
    )
    parser.add_argument(
        "--key-strengths",
        type=lambda text: [float(x) for x in text.split(",")],
        default=None,
        help="strengths of a PitchClassHistogram toward the prime's key's scale (0: none; "
        "default: GENERATION.key_strength for a row read in several keys, as musegen "
        "generate does, else 0)",
    )
    args = parser.parse_args()
    names = args.rows.split(",")
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; choose from {list(table)}")
    if "remi" in names and importlib.util.find_spec("miditok") is None:
        raise SystemExit("the remi row needs MidiTok (pip install miditok), or leave it out")

    import keras

    from musegen.evaluation.likelihood import nll_per_quarter
    from musegen.evaluation.metrics import compare
    from musegen.events import Piece
    from musegen.generation.compose import continuation
    from musegen.generation.decoding import generate
    from musegen.generation.processors import BarConstraint, PitchClassHistogram
    from musegen.generation.samplers import get as get_sampler
    from musegen.generation.views import TranspositionViews
    from musegen.io.corpus import load_corpus
    from musegen.keys import best_key, key_shift
    from musegen.tokens.encodings import encodings
    from musegen.tokens.token_table import BAR, TokenTable
    from musegen.training.bundle import Bundle
    from musegen.training.dataset import (
        SequenceDataset,
        normalized,
        split_pieces,
        split_songs,
        transposed,
    )
    from musegen.training.model import build_lstm
    from musegen.training.time_budget import TimeBudget

    source, limit = CORPORA[args.corpus]
    shown_source = "data/skuli-midi" if args.corpus == "skuli" else source
    corpus = load_corpus(source, limit=limit, progress=False)
    pieces = [p for p in corpus.pieces if p.notes]
    train_index, val_index = split_songs(len(pieces), 0.1, args.seed)
    held_out = [pieces[i] for i in val_index]  # scored, never seen
    train, valid = split_pieces([pieces[i] for i in train_index], 0.1, args.seed)
    quarters = [p.duration for p in held_out]
    judged = valid if args.judge == "valid" else held_out  # primes and reference of the music
    long_enough = [p for p in judged if p.duration >= args.prime_quarters + args.quarters]
    if not long_enough:
        raise SystemExit("no held-out song is long enough: lower --quarters")
    primed = [long_enough[i % len(long_enough)] for i in range(args.pieces)]  # seeds differ
    metres = [m for m in args.prime_metres.split(",") if m]
    if metres:  # the primes' metres in turn
        by_metre = {m: [p for p in long_enough if p.time_signature == m] for m in metres}
        empty = [m for m, songs in by_metre.items() if not songs]
        if empty:
            raise SystemExit(f"no held-out song long enough in {', '.join(empty)}")
        primed = [
            by_metre[metres[i % len(metres)]][
                (i // len(metres)) % len(by_metre[metres[i % len(metres)]])
            ]
            for i in range(args.pieces)
        ]
    print(
        f"corpus {shown_source}: {len(pieces)} songs, {len(train)} training, "
        f"{len(valid)} validation (choose the weights), {len(held_out)} held out (scored) "
        f"({len(long_enough)} long enough to prime {args.prime_quarters:g} + continue "
        f"{args.quarters:g} quarter notes); budget {args.minutes:g} min per row; "
        f"{_recipe.load_average()}; {os.cpu_count()} cores",
        flush=True,
    )

    round_trip_name = table["default"].encoding
    floor, trip_floor, reference = _floor.floor(
        train, judged, pieces=args.pieces, quarters=args.quarters, draws=args.floor_draws,
        seed=args.seed, encoding=encodings()[round_trip_name],
    )  # fmt: skip
    cut = _floor.cut

    notes = encodings()["notes"]  # copying is counted in one encoding for every row
    train_notes = [notes.encode(p) for p in train]
    train_notes_in_key = [notes.encode(p) for p in normalized(train)]
    real_copied = np.mean(
        [_floor.longest_shared_run(notes.encode(_floor.cut(p, 0.0, args.quarters)), train_notes)
         for p in judged]
    )  # fmt: skip
    results: list[tuple[str, dict[str, Any]]] = []
    for name in names:
        row = table[name]
        if name == "default" and any(table[n] == row for n in names if n != name):
            continue  # measured under its other name, labelled "= default" there
        keras.backend.clear_session()
        keras.utils.set_random_seed(args.seed)
        start = time.perf_counter()
        if row.encoding == "remi":
            remi = Remi()
            sources = transposed(train, *row.transpose) if row.transpose else train
            train_ids = [remi.encode(p) for p in sources]
            val_ids = [remi.encode(p) for p in held_out]
            vocab_size = len(remi)
            unk_share = 0.0
            decode = remi.decode
            prime_of = remi.encode
            data = SequenceDataset(
                train_ids, [remi.encode(p) for p in valid], vocab_size, seq_len=row.seq_len,
                shape="chunks", seed=args.seed,
            )  # fmt: skip
            sampler_reserved: tuple[int, ...] = (0, 1, 2, 3)
            tables = None
        else:
            tokenizer = encodings()[row.encoding]
            in_key = (lambda ps: list(normalized(ps))) if row.normalize_keys else list
            train_, valid_, held_out_ = in_key(train), in_key(valid), in_key(held_out)
            sources = list(transposed(train_, *row.transpose)) if row.transpose else train_
            vocabulary = tokenizer.build_vocabulary(sources)

            def ids_of(
                pieces: list[Piece], tokenizer: Any = tokenizer, vocabulary: Any = vocabulary
            ) -> list[np.ndarray]:
                return [
                    np.asarray(vocabulary.encode(tokenizer.encode(p), unknown="map"), np.int32)
                    for p in pieces
                ]

            data = SequenceDataset(
                ids_of(list(sources)), ids_of(valid_), len(vocabulary), seq_len=row.seq_len,
                shape="chunks", seed=args.seed,
            )  # fmt: skip
            val_ids = ids_of(held_out_)
            vocab_size = len(vocabulary)
            unk_share = float(np.mean(np.concatenate(val_ids) == 1))  # <unk> is id 1

            def decode(
                ids: np.ndarray, tokenizer: Any = tokenizer, vocabulary: Any = vocabulary
            ) -> Piece:
                return tokenizer.decode(vocabulary.decode([int(i) for i in ids]))

            def prime_of(
                piece: Piece, tokenizer: Any = tokenizer, vocabulary: Any = vocabulary
            ) -> np.ndarray:
                ids = vocabulary.encode(tokenizer.encode(piece), unknown="map")
                return np.asarray(ids, dtype=np.int64)

            sampler_reserved = (0, 1)
            tables = TokenTable.build(tokenizer, vocabulary)
        model = build_lstm(
            vocab_size, units=row.units, return_sequences=True, learning_rate=row.learning_rate,
            dropout=row.dropout, layer_dropout=row.layer_dropout,
        )  # fmt: skip
        if row.ema:
            model.compile(
                optimizer=keras.optimizers.Adam(
                    row.learning_rate, use_ema=True, ema_momentum=row.ema
                ),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
            )
        budget = TimeBudget(args.minutes, anneal=row.anneal, started_at=start)
        callbacks: list[Any] = [budget]
        if row.best:  # validation every epoch (not on the scored songs), the best weights kept
            callbacks.append(
                keras.callbacks.EarlyStopping(patience=10**9, restore_best_weights=True)
            )
        model.fit(
            data.batches(row.batch),
            validation_data=data.batches(row.batch, split="val") if row.best else None,
            epochs=100_000,
            callbacks=callbacks,
            shuffle=False,
            verbose=0,
        )
        trained = time.perf_counter() - start
        valid_quarters = [p.duration for p in valid]
        for view_count in (0, row.views) if row.views else (0,):
            views = TranspositionViews.around(tokenizer, vocabulary, view_count)
            nll = nll_per_quarter(model, val_ids, quarters, batch_size=4, views=views)
            valid_nll = nll_per_quarter(
                model, data.val_ids, valid_quarters, batch_size=4, views=views
            )  # what a choice between rows may read; nll/qn is reported, not chosen on
            if row.normalize_keys:  # the key shift of each song, at its log(12) nats
                nll += float(np.mean([math.log(12) / q for q in quarters]))
                valid_nll += float(np.mean([math.log(12) / q for q in valid_quarters]))
            tokens_per_quarter = sum(len(v) for v in val_ids) / sum(quarters)
            steps = math.ceil(1.6 * tokens_per_quarter * args.quarters) + 8
            samplers = row.samplers or ("default",)
            extra = args.extra_samplers.split(",")
            if name in extra or ("default" in extra and row == table["default"]):
                samplers = ("default", *SAMPLERS)
            strengths = args.key_strengths or [generation.key_strength if views else 0.0]
            runs = [(n, k) for n in samplers for k in strengths]
            for sampler_name, strength in runs:
                config = (
                    {"name": generation.sampler, "temperature": generation.temperature,
                     **generation.options}
                    if sampler_name == "default"
                    else SAMPLERS[sampler_name]
                )  # fmt: skip
                config = dict(config)
                kind = config.pop("name")
                sampler = get_sampler(kind, reserved_ids=sampler_reserved, **config)
                generated = []
                as_trained = []  # in the key the model learnt them in
                short = 0
                for i, song in enumerate(primed):
                    prime_piece = cut(song, 0.0, args.prime_quarters)
                    shift = key_shift(prime_piece) if row.normalize_keys else 0
                    prime = prime_of(prime_piece.transpose(shift))
                    steer = []  # lean toward the prime's key (its scale), softly
                    if tables is not None and (tables.kinds == BAR).any():
                        steer.append(BarConstraint().bind(tables))  # as compose does
                    if strength and tables is not None:
                        key = best_key(prime_piece.transpose(shift))
                        steer = [PitchClassHistogram.of_key(key, strength).bind(tables)]
                    new = generate(
                        model, prime, steps, sampler, seed=args.seed + i, views=views,
                        processors=steer,
                    )[0]  # fmt: skip
                    if row.encoding == "remi":  # the bench's own spelling: bars from the prime's
                        whole = decode(np.concatenate([prime, new]))
                        piece = cut(whole, args.prime_quarters, args.quarters)
                    else:  # the library's one clock: 0 where the prime's music ends
                        made = continuation(Bundle(model, tokenizer, vocabulary), prime, new)
                        piece = cut(made.music, 0.0, args.quarters)
                    piece = _floor.with_metre(piece, song, args.prime_quarters)  # the song's bars
                    short += piece.duration < args.quarters - 1e-6
                    as_trained.append(piece)
                    generated.append(piece.transpose(-shift))
                copied_from = train_notes_in_key if row.normalize_keys else train_notes
                copied = np.mean(
                    [_floor.longest_shared_run(notes.encode(p), copied_from) for p in as_trained]
                )
                table_ = compare({"gen": generated}, reference=judged)["gen"]
                by_metre_js = _metre_check(metres, primed, generated, train, args)
                title = (
                    f"{name} = default" if name != "default" and row == table["default"] else name
                )
                title += f" [{len(views)} views]" if views else ""
                label = f"{title} [{sampler_name}]" if len(samplers) > 1 else title
                label += f" [key {strength:g}]" if len(strengths) > 1 else ""
                results.append((label, {
                    "vocab": vocab_size, "steps": budget.steps, "minutes": trained / 60,
                    "nll": nll, "valid_nll": valid_nll, "unk": unk_share, "short": short,
                    "copied": copied,
                    **{k: table_[k].mean for k in table_}, **by_metre_js,
                }))  # fmt: skip
                print(f"{label}: {results[-1][1]}", flush=True)
        print(f"  {_recipe.load_average()}", flush=True)

    # --- the table ------------------------------------------------------------------
    per_piece = ["polyphony", "scale_consistency", "pitch_range", "empty_beat_rate",
                 "repetition_rate", "strong_beat_long_notes", "groove_consistency"]  # fmt: skip
    distances = ["js_pitch_class", "js_interval", "js_duration", "js_bar_position"]
    shown = per_piece + distances
    head = (
        "| row | vocab | steps | valid nll/qn | nll/qn | unk | copied | "
        + " | ".join(shown) + " |"
    )  # fmt: skip
    print()
    print(f"budget {args.minutes:g} min per row; {_recipe.load_average()}")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for label, r in results:
        cells = [f"{r[k]:.3f}" for k in shown]
        print(
            f"| {label} | {r['vocab']} | {r['steps']} | {r['valid_nll']:.2f} | {r['nll']:.2f} | "
            f"{100 * r['unk']:.1f}% | "
            f"{r['copied']:.0f} | "
            + " | ".join(cells) + " |"
        )  # fmt: skip
    held = [f"{reference[k].mean:.3f} ± {reference[k].std:.3f}" for k in per_piece]
    songs = "validation songs" if args.judge == "valid" else "held-out songs"
    blanks = " |" * len(distances)
    print(f"| {songs} | | | | | | {real_copied:.0f} | {' | '.join(held)} |{blanks}")
    floor_cells = [f"{floor[k][0]:.3f} ± {floor[k][1]:.3f}" for k in shown]
    print(f"| real vs {songs.split()[0]} (floor) | | | | | | | {' | '.join(floor_cells)} |")
    assert trip_floor is not None
    trip_cells = [f"{trip_floor[k][0]:.3f} ± {trip_floor[k][1]:.3f}" for k in shown]
    trip = f"the same through `{round_trip_name}` and back"
    print(f"| {trip} | | | | | | | {' | '.join(trip_cells)} |")
    if metres:
        columns = [k for k in results[0][1] if k.startswith("bar positions ")]
        print()
        print("| row | " + " | ".join(columns) + " |")
        print("|" + "---|" * (len(columns) + 1))
        for label, r in results:
            print(f"| {label} | " + " | ".join(f"{r[k]:.3f}" for k in columns) + " |")
        real = _metre_check(metres, primed, None, train, args)
        print("| real held-out songs | " + " | ".join(f"{real[k]:.3f}" for k in columns) + " |")


def _metre_check(
    metres: list[str],
    primed: list[Any],
    generated: list[Any] | None,
    train: list[Any],
    args: argparse.Namespace,
) -> dict[str, float]:
    """Per prime metre M: the Jensen-Shannon distance of the bar positions of the pieces primed
    in M to those of real training songs in M and in 4/4 (excerpts of the same length).

    With `generated` None, the held-out songs' own continuations (after the prime) are judged.
    """
    from musegen.evaluation.metrics import bar_position_histogram, jensen_shannon

    rng = np.random.default_rng(args.seed)

    def excerpts(metre: str) -> list[Any]:
        songs = [p for p in train if p.time_signature == metre and p.duration >= args.quarters]
        out = []
        for _ in range(64):
            song = songs[int(rng.integers(len(songs)))]
            start = float(rng.integers(0, int(song.duration - args.quarters) + 1))
            out.append(_floor.cut(song, start, args.quarters))
        return out

    found: dict[str, float] = {}
    for metre in metres:
        if generated is None:
            mine = [_floor.cut(p, args.prime_quarters, args.quarters)
                    for p in primed if p.time_signature == metre]  # fmt: skip
        else:
            mine = [g for p, g in zip(primed, generated, strict=True) if p.time_signature == metre]
        ours = bar_position_histogram(mine)
        for real in (metre, "4/4"):
            theirs = bar_position_histogram(excerpts(real))
            found[f"bar positions {metre} vs real {real}"] = jensen_shannon(ours, theirs)
    return found


if __name__ == "__main__":
    main()

"""Steering one trained model: samplers, logits processors and beam search side by side.

Command (from the repository root; not run in CI)::

    musegen train music21:bach --limit 100 --out runs/bach      # the README's main job
    nice python bench/steering.py --bundle runs/bach

The bundle's held-out songs (``musegen train``'s 90/10 split of the first
``--limit`` chorales with ``--seed``) prime ``--pieces`` pieces per row, as
bench/quality.py does: each held-out song in turn (a new seed when they run
out) gives its first ``--prime-quarters`` quarter notes, and the continuation
is cut to ``--quarters`` quarter notes. Every row uses the same primes and seeds.

Columns:

- repetition rate (4-grams of events) and longest repeat (events), over the
  continuation; scale consistency (the best-fitting key's share of notes);
  **in key**: the share of notes in the key of the song that primed the piece
  (`musegen.keys.best_key` of the whole song), the key the key constraint is given;
- polyphony and the Jensen-Shannon distances of pitch classes, intervals and
  durations to the held-out songs (`musegen.evaluation.metrics.compare`);
- copied: the longest run of tokens a generated piece shares with a training
  song (mean over pieces; for the held-out songs, their continuations):
  memorisation, which the distances miss;
- skipped: generated tokens the decoder skipped, per piece, leaving out the
  event still open when the steps ran out (every row has one now and then);
- tok/s: generated tokens per second of generation (one stream at a time,
  processors included), on this machine, in this run.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path
from typing import Any

import _floor
import _recipe
import numpy as np

ROWS: dict[str, dict[str, Any]] = {
    "argmax": {"sampler": "argmax"},
    "argmax + repetition penalty 1.5": {
        "sampler": "argmax", "processors": [("repetition_penalty", {"penalty": 1.5, "window": 32})],
    },
    "argmax + repetition penalty 1.5 (pitches)": {
        "sampler": "argmax",
        "processors": [
            ("repetition_penalty", {"penalty": 1.5, "window": 32, "only_pitches": True})
        ],
    },
    "argmax + no-repeat 12-gram": {
        "sampler": "argmax", "processors": [("no_repeat_ngram", {"n": 12})],
    },
    "top-k 7": {"sampler": "top_k", "options": {"k": 7}},
    "top-k 7 + key": {"sampler": "top_k", "options": {"k": 7}, "processors": [("key", "song")]},
    "top-p 0.9 (default)": {"sampler": "top_p", "options": {"p": 0.9}},
    "top-p 0.9 + grammar": {"sampler": "top_p", "options": {"p": 0.9},
                            "processors": [("grammar", {})]},
    "top-p 0.9 + key + grammar": {"sampler": "top_p", "options": {"p": 0.9},
                                  "processors": [("grammar", {}), ("key", "song")]},
    "top-p 0.9 + chords (hard)": {"sampler": "top_p", "options": {"p": 0.9},
                                  "processors": [("chords", {})]},
    "top-p 0.9 + chords (soft 1)": {"sampler": "top_p", "options": {"p": 0.9},
                                    "processors": [("chords", {"strength": 1.0})]},
    "top-p 0.9 + chords (soft 3)": {"sampler": "top_p", "options": {"p": 0.9},
                                    "processors": [("chords", {"strength": 3.0})]},
    "beam 4": {"beam": 4},
    "beam 4 + repetition penalty 1.5 (pitches)": {
        "beam": 4,
        "processors": [
            ("repetition_penalty", {"penalty": 1.5, "window": 32, "only_pitches": True})
        ],
    },
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", required=True, help="a bundle, or the run directory of one")
    parser.add_argument("--corpus", default="music21:bach", help="the bundle's training corpus")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--quarters", type=float, default=32.0)
    parser.add_argument("--prime-quarters", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated row names")
    parser.add_argument("--infill", type=int, default=6, help="held-out songs to fill (0: none)")
    parser.add_argument("--candidates", type=int, default=16, help="infill candidates per song")
    parser.add_argument("--gap", default="16:24", help="the infill gap, START:END in quarters")
    args = parser.parse_args()

    from musegen.evaluation.metrics import compare, in_key_share
    from musegen.generation import processors
    from musegen.generation._clock import Clock
    from musegen.generation.beam import beam_search
    from musegen.generation.decoding import generate
    from musegen.generation.samplers import get as get_sampler
    from musegen.io.corpus import load_corpus
    from musegen.keys import best_key
    from musegen.tokens.token_table import TokenTable
    from musegen.training.bundle import load_bundle
    from musegen.training.dataset import split_songs

    where = Path(args.bundle)
    bundle = load_bundle(where / "bundle" if (where / "bundle").is_dir() else where)
    model, tokenizer, vocab = bundle.model, bundle.tokenizer, bundle.vocabulary
    table = TokenTable.build(tokenizer, vocab)
    pieces = [p for p in load_corpus(args.corpus, limit=args.limit, progress=False).pieces]
    _, held_index = split_songs(len(pieces), 0.1, args.seed)
    held_out = [pieces[i] for i in held_index]
    train_tokens = [tokenizer.encode(p) for i, p in enumerate(pieces) if i not in held_index]
    long_enough = [p for p in held_out if p.duration >= args.prime_quarters + args.quarters]
    primed = [long_enough[i % len(long_enough)] for i in range(args.pieces)]
    keys = [best_key(song) for song in primed]
    progressions = [_progression(k) for k in keys]
    primes = [
        vocab.encode(tokenizer.encode(_floor.cut(s, 0.0, args.prime_quarters)), unknown="map")
        for s in primed
    ]
    held_ids = [vocab.encode(tokenizer.encode(p), unknown="map") for p in held_out]
    per_quarter = sum(map(len, held_ids)) / sum(p.duration for p in held_out)
    steps = math.ceil(1.6 * per_quarter * args.quarters) + 8
    reference = [_floor.cut(p, args.prime_quarters, args.quarters) for p in long_enough]
    print(
        f"bundle {args.bundle}: {tokenizer!r}, {len(vocab)} ids; {len(held_out)} held-out songs "
        f"({len(long_enough)} long enough); {args.pieces} pieces of {args.quarters:g} quarter "
        f"notes ({steps} tokens each); {_recipe.load_average()}; {os.cpu_count()} cores",
        flush=True,
    )

    results: dict[str, dict[str, float]] = {}
    for name in args.rows.split(","):
        row = ROWS[name]
        generated, skipped, seconds, tones = [], 0, 0.0, []
        for i, prime in enumerate(primes):
            chain = [
                processors.get(kind, **_options(kind, config, keys[i], progressions[i]))
                for kind, config in row.get("processors", [])
            ]
            start = time.perf_counter()
            if "beam" in row:
                new = beam_search(model, prime, steps, row["beam"], processors=chain, table=table)
                ids = new[0][0]
            else:
                sampler = get_sampler(row["sampler"], **row.get("options", {}))
                ids = generate(
                    model, prime, steps, sampler, processors=chain, table=table,
                    seed=args.seed + i,
                )[0]  # fmt: skip
            seconds += time.perf_counter() - start
            every = np.array([[*prime, *ids]])
            whole, dropped = tokenizer.decode_with_skipped(vocab.decode(every[0]))
            closes = np.flatnonzero(table.closes(every)[0])
            last = closes.max() if closes.size else -1  # what follows is the unfinished event
            skipped += sum(len(prime) <= position < last for position, _ in dropped)
            offset = tokenizer.decode(vocab.decode(prime)).duration
            generated.append(_floor.cut(whole, offset, args.quarters))
            zero = float(Clock(table).run(np.asarray([prime])).time[0])  # the chords' 0
            tones.append(_chord_tones(whole, progressions[i], zero, args.quarters))
        stats = compare({"gen": generated}, reference=held_out)["gen"]
        in_key = np.nanmean([in_key_share(p, k) for p, k in zip(generated, keys, strict=True)])
        copied = np.mean(
            [_floor.longest_shared_run(tokenizer.encode(p), train_tokens) for p in generated]
        )
        results[name] = {
            **{k: stats[k].mean for k in stats}, "in_key": float(in_key), "copied": copied,
            "skipped": skipped / len(primes), "tok_s": steps * len(primes) / seconds,
            "chord_tones": float(np.nanmean(tones)),
        }  # fmt: skip
        print(f"{name}: {results[name]}", flush=True)
    real = compare({"real": reference}, reference=held_out)["real"]
    real_in_key = np.nanmean(
        [in_key_share(p, best_key(s)) for p, s in zip(reference, long_enough, strict=True)]
    )
    results["held-out songs (continuations; no distances: they are the reference)"] = {
        **{k: math.nan if k.startswith("js_") else real[k].mean for k in real},
        "in_key": float(real_in_key), "skipped": math.nan, "tok_s": math.nan,
        "chord_tones": float(np.nanmean([
            _chord_tones(s, p, args.prime_quarters, args.quarters)
            for s, p in zip(long_enough, map(_progression, map(best_key, long_enough)),
                            strict=True)
        ])),
        "copied": np.mean([_floor.longest_shared_run(tokenizer.encode(p), train_tokens)
                           for p in reference]),
    }  # fmt: skip

    shown = ["repetition_rate", "longest_repeat", "scale_consistency", "in_key", "chord_tones",
             "polyphony",
             "js_pitch_class", "js_interval", "js_duration", "copied", "skipped",
             "tok_s"]  # fmt: skip
    print(f"\n{_recipe.load_average()}")
    print("| row | " + " | ".join(shown) + " |")
    print("|---|" + "---|" * len(shown))
    for name, r in results.items():
        cells = [
            "" if math.isnan(r[k]) else f"{r[k]:.0f}" if k in ("tok_s", "copied") else f"{r[k]:.3f}"
            for k in shown
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.infill:
        _infill_rows(args, model, tokenizer, vocab, long_enough)


def _progression(key: str) -> str:
    """I vi IV V of a major key, i VI iv V of a minor one: chord symbols, one a bar."""
    from music21 import key as m21key

    tonic, mode = key.split()
    scale = m21key.Key(tonic, mode)
    kinds = ("", "m", "", "") if mode == "major" else ("m", "", "m", "")
    return " ".join(
        scale.pitchFromDegree(degree).name + kind
        for degree, kind in zip((1, 6, 4, 5), kinds, strict=True)
    )


def _options(kind: str, config: Any, key: str, progression: str) -> dict[str, Any]:
    """A row's processor options, the song's key or progression filled in."""
    if kind == "key" and config == "song":
        return {"key": key}
    if kind == "chords":
        return {"chords": progression, **config}
    return dict(config)


def _chord_tones(piece: Any, progression: str, zero: float, quarters: float) -> float:
    """Share of the notes starting in [zero, zero + quarters) whose class is in the chord then."""
    from musegen.generation.processors import ChordProgression

    chords = ChordProgression(progression)
    inside = [
        pitch % 12 in chords.pitch_classes[int(chords.chord_at(event.offset - zero))]
        for event in piece.events
        if zero - 1e-6 <= event.offset < zero + quarters - 1e-6
        for pitch in event.pitches
    ]
    return float(np.mean(inside)) if inside else math.nan


def _infill_rows(args: Any, model: Any, tokenizer: Any, vocab: Any, songs: list[Any]) -> None:
    """The music after a gap: its log-likelihood given the chosen candidate vs a single sample."""
    from musegen.generation.infill import infill
    from musegen.generation.processors import GrammarConstraint

    start, end = (float(x) for x in args.gap.split(":"))
    chosen = [s for s in songs if s.duration >= end + 4][: args.infill]
    rows: dict[str, list[float]] = {"chosen": [], "single": [], "mean": [], "worst": []}
    for i, song in enumerate(chosen):
        filled = infill(model, tokenizer, vocab, song, start, end, candidates=args.candidates,
                        processors=[GrammarConstraint()], seed=args.seed + i)  # fmt: skip
        per = 1.0 / (song.duration - end)  # nats per quarter note of the music after the gap
        scores = filled.scores * per
        rows["chosen"].append(float(scores.max()))
        rows["single"].append(float(scores[0]))  # the candidates are independent samples
        rows["mean"].append(float(scores.mean()))
        rows["worst"].append(float(scores.min()))
        after = song.duration - end
        print(f"infill {i}: {after:g} quarters after the gap; chosen {scores.max():.4f}, "
              f"first {scores[0]:.4f} nats/quarter", flush=True)  # fmt: skip
    print(f"\ninfill: {len(chosen)} held-out songs, quarters {start:g} to {end:g} regenerated "
          f"({args.candidates} candidates, grammar); log-likelihood of the real music after the "
          "gap, nats per quarter note (higher is likelier), mean over songs")  # fmt: skip
    print("| given | nats per quarter |\n|---|---|")
    names = {
        "chosen": f"the chosen candidate (best of {args.candidates})",
        "single": "a single sample (the first candidate)",
        "mean": "a single sample (mean over the candidates)",
        "worst": "the worst candidate",
    }
    for key, label in names.items():
        print(f"| {label} | {np.mean(rows[key]):.4f} |")
    gain = np.subtract(rows["chosen"], rows["single"])
    print(f"chosen minus single: {gain.mean():.4f} ± {gain.std():.4f} nats per quarter")


if __name__ == "__main__":
    main()

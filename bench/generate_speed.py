"""Generation speed: the original recipe's decoding loop against `musegen.generate`.

Run from the repository root:

    TF_CPP_MIN_LOG_LEVEL=2 python bench/generate_speed.py [--steps 1000] [--batch 64]

One model, Skuli's network (LSTM 512 x 3, vocabulary 400, random weights), in
two twins sharing every weight: the window model (many-to-one, windows of 100
ids, exactly the recipe's) and the chunk model (the same layers with the last
LSTM returning sequences). Timed in this one run, on this machine:

1. the recipe's loop (as in ``skuli_predict.py``): window of 100, ``model.predict``
   per token, argmax — on the window model;
2. ``generate`` on the chunk model (LSTM state carried token to token), one stream
   and `--batch` streams;
3. ``generate`` on the window model (exact sliding-window semantics, every token
   re-reads 100 ids), one stream and `--batch` streams.

All decode with argmax. Ratios are against (1), measured in the same run. The
recipe loop and the window rows run once; each chunk-model row runs three times
and its best time counts.

``--processors`` measures instead what logits processors and beam search cost:
the default model (LSTM 128 x 2, `musegen.defaults`) over the default
encoding's vocabulary of every pitch (``notes``: 128 pitches, a rest, 8
durations, 8 steps), random weights, top-k 7, with no processor, each
processor alone, all of them, and beam search, for one stream and ``--batch``
streams. Ratios are against no processor, in the same run.

``--processors --lengths 1000 4000 16000`` measures the cost of one step of
the no-repeat n-gram, the melody constraint and beam search after that many
ids (`length_rows`).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from musegen.generation import samplers
from musegen.generation.decoding import generate
from musegen.generation.samplers import ArgmaxSampler
from musegen.training.model import skuli_lstm

VOCAB, WINDOW = 400, 100
REPEAT = 3
LENGTH_STEPS = 128
"""Steps per row of `length_rows`."""
"""Runs of each chunk-model row; the best counts, the run least disturbed by other jobs."""


def recipe_loop(model, pattern: list[int], steps: int) -> list[int]:
    """The recipe's decoding: re-run the window through model.predict for every token."""
    out = []
    for _ in range(steps):
        x = np.reshape(pattern, (1, len(pattern), 1)) / float(VOCAB)
        index = int(np.argmax(model.predict(x, verbose=0)))
        out.append(index)
        pattern = [*pattern[1:], index]
    return out


def timed(label: str, tokens: int, run, repeat: int = 1) -> tuple[float, object]:
    """Tokens per second of `run`, the best of `repeat` runs (as timeit reports)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    rate = tokens / best
    print(f"{label:<62} {tokens:>6} tokens  {rate:>9.1f} tokens/s")
    return rate, result


def processor_rows(args: argparse.Namespace) -> None:
    """Tokens/s of generate with each processor, all of them, and beam search (see the docs)."""
    from musegen.defaults import TRAINING
    from musegen.generation import processors
    from musegen.generation.beam import beam_search
    from musegen.tokens.encodings import encodings
    from musegen.tokens.token_table import TokenTable
    from musegen.tokens.vocabulary import Vocabulary
    from musegen.training.model import build_lstm

    tokenizer = encodings()["notes"]
    assert tokenizer.durations is not None
    names = [tokenizer.pitches_to_text((p,)) for p in range(128)] + [tokenizer.rest_text]
    names += list(tokenizer.durations.names) + ["+" + n for n in tokenizer.durations.names]
    vocab = Vocabulary(names)
    table = TokenTable.build(tokenizer, vocab)
    model = build_lstm(len(vocab), units=TRAINING.units, return_sequences=True)
    rng = np.random.default_rng(0)
    prime = vocab.encode(["C3", "G3", "E4", "C5", "4th"] * 4)
    melody = [(int(p), 1.0) for p in rng.integers(60, 80, args.steps)]
    chains = {
        "no processor": [],
        "repetition penalty 1.5 (pitches)": [processors.RepetitionPenalty(1.5, only_pitches=True)],
        "no-repeat 12-gram": [processors.NoRepeatNGram(12)],
        "key (D minor)": [processors.KeyConstraint("D minor")],
        "pitch range": [processors.PitchRange("C2", "C6")],
        "grammar": [processors.GrammarConstraint()],
        "melody": [processors.MelodyConstraint(melody)],
        "grammar + key + range + no-repeat + penalty": [
            processors.GrammarConstraint(), processors.KeyConstraint("D minor"),
            processors.PitchRange("C2", "C6"), processors.NoRepeatNGram(12),
            processors.RepetitionPenalty(1.5, only_pitches=True),
        ],
    }  # fmt: skip
    sampler = samplers.TopKSampler(k=7)
    print(f"model: LSTM {TRAINING.units}, vocabulary {len(vocab)}; top-k 7; {args.steps} tokens")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for streams in (1, args.batch):
        steps = args.steps if streams == 1 else args.batch_steps
        rates = {}
        for name, chain in chains.items():
            rates[name], _ = timed(
                f"{name}, {streams} stream(s)",
                streams * steps,
                lambda c=chain, s=streams, n=steps: generate(
                    model, prime, n, sampler, processors=c, table=table, seed=0, batch_size=s
                ),
                REPEAT,
            )
        for width in (4,):
            label = f"beam search, width {width}"
            rates[label], _ = timed(
                f"{label}, {streams} stream(s)",
                streams * steps,
                lambda s=streams, n=steps, w=width: beam_search(
                    model, [prime] * s, n, w, processors=[processors.GrammarConstraint()],
                    table=table,
                ),
                REPEAT,
            )  # fmt: skip
        base = rates["no processor"]
        print(f"\n{streams} stream(s): ratio to no processor")
        for label, rate in rates.items():
            print(f"  {label:<50} {rate:>9.0f} tokens/s {rate / base:>6.2f}x")
        print()
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


def _steer(chain: list, ids: np.ndarray, logits: np.ndarray) -> float:
    """Seconds for ``len(logits)`` steps of `chain` after `ids`, as generate runs them."""
    from musegen.generation import processors

    begin = time.perf_counter()
    steer = processors.Chain(chain, ids, 0, reserved=(0, 1))
    built = time.perf_counter()
    for step in logits:
        out = steer(step)
        steer.advance(out.argmax(axis=1))
    return time.perf_counter() - built if len(logits) else built - begin


def length_rows(args: argparse.Namespace) -> None:
    """Microseconds per step of the no-repeat n-gram, the melody and beam search, by length.

    The processors' rows time `LENGTH_STEPS` steps of the processor alone (as
    `generate` runs it, random logits, the likeliest id chosen) after each of
    `args.lengths` ids of a random piece. The beam row decodes `LENGTH_STEPS`
    ids after a prime of each length on a small window model (LSTM 16 reading
    the last 8 ids), whose step costs the same at every length. Best of `REPEAT`.
    """
    from musegen.events import Event, Piece
    from musegen.generation import processors
    from musegen.generation.beam import beam_search
    from musegen.tokens.encodings import encodings
    from musegen.tokens.token_table import TokenTable
    from musegen.training.model import build_lstm

    tokenizer = encodings()["notes"]
    rng = np.random.default_rng(0)
    longest = max(args.lengths)
    chords = [
        tuple(int(p) for p in rng.integers(48, 84, rng.integers(1, 4))) for _ in range(longest)
    ]
    piece = Piece(tuple(Event(i * 0.5, 0.5, chord) for i, chord in enumerate(chords)))
    tokens = tokenizer.encode(piece)
    vocab = tokenizer.build_vocabulary([piece])
    table = TokenTable.build(tokenizer, vocab)
    model = build_lstm(len(vocab), units=(16,), embedding_dim=8)
    closes = np.flatnonzero(table.closes(np.array([vocab.encode(tokens)]))[0])
    melody = [(int(p), 0.5) for p in rng.integers(60, 72, longest + LENGTH_STEPS)]
    chains = {
        "no-repeat 12-gram": [processors.NoRepeatNGram(12)],
        "melody": [processors.MelodyConstraint(melody)],
    }
    print(f"vocabulary {len(vocab)}; {LENGTH_STEPS} steps per row; beam: LSTM 16, window 8")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'us per step':<40}" + "".join(f"{f'{n} ids':>10}" for n in args.lengths))
    for streams in (1, args.batch):
        per_step: dict[str, list[float]] = {name: [] for name in [*chains, "beam search, width 4"]}
        for length in args.lengths:
            end = closes[np.searchsorted(closes, length - 1)] + 1  # a whole event last
            prime = vocab.encode(tokens[:end])
            ids = np.repeat(np.array([prime]), streams, axis=0)
            logits = rng.normal(size=(LENGTH_STEPS, streams, len(vocab)))
            for name, chain in chains.items():
                prepared = processors.prepare(chain, table, len(vocab))
                best = min(_steer(prepared, ids, logits) for _ in range(REPEAT))
                per_step[name].append(1e6 * best / LENGTH_STEPS)
            best = []
            for _ in range(REPEAT):
                begin = time.perf_counter()
                beam_search(model, ids, LENGTH_STEPS, 4, window=8)
                best.append(time.perf_counter() - begin)
            per_step["beam search, width 4"].append(1e6 * min(best) / LENGTH_STEPS)
        for name, costs in per_step.items():
            label = f"{name}, {streams} stream(s)"
            print(f"{label:<40}" + "".join(f"{c:>10.0f}" for c in costs))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="tokens per stream, chunk mode")
    parser.add_argument("--batch", type=int, default=64, help="streams decoded together")
    parser.add_argument("--batch-steps", type=int, default=200, help="tokens per stream, batch")
    parser.add_argument("--recipe-steps", type=int, default=20, help="tokens, recipe loop")
    parser.add_argument("--window-steps", type=int, default=10, help="tokens, window mode")
    parser.add_argument(
        "--processors", action="store_true", help="measure processors and beam search instead"
    )
    parser.add_argument(
        "--lengths",
        type=int,
        nargs="+",
        help="with --processors: the cost per step at these lengths",
    )
    args = parser.parse_args()
    if args.processors and args.lengths:
        length_rows(args)
        return
    if args.processors:
        processor_rows(args)
        return

    window_model = skuli_lstm(VOCAB, seq_len=WINDOW)
    chunk_model = skuli_lstm(VOCAB, seq_len=None, return_sequences=True)
    chunk_model.set_weights(window_model.get_weights())
    rng = np.random.default_rng(0)
    prime = rng.integers(2, VOCAB, WINDOW).tolist()
    argmax = ArgmaxSampler()
    print(f"model: {window_model.name}, LSTM 512 x 3, vocabulary {VOCAB}, window {WINDOW}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    window_model.predict(np.zeros((1, WINDOW, 1)), verbose=0)  # build predict once, untimed
    n = args.recipe_steps
    base, recipe_ids = timed(
        "recipe loop (model.predict per token)",
        n,
        lambda: recipe_loop(window_model, list(prime), n),
    )

    rates = {}
    for threads, named in ((1, "1 BLAS thread"), (None, "all BLAS threads")):
        n = args.steps
        label = f"generate, chunk model, 1 stream, {named}"
        rates[label], _ = timed(
            label,
            n,
            lambda n=n, t=threads: generate(chunk_model, prime, n, argmax, blas_threads=t),
            REPEAT,
        )
        b, n = args.batch, args.batch_steps
        label = f"generate, chunk model, {b} streams, {named}"
        rates[label], _ = timed(
            f"{label} (total)",
            b * n,
            lambda b=b, n=n, t=threads: generate(
                chunk_model, prime, n, argmax, batch_size=b, blas_threads=t
            ),
            REPEAT,
        )
    n = args.window_steps
    rates["generate, window model, 1 stream"], window_ids = timed(
        "generate, window model, 1 stream", n, lambda: generate(window_model, prime, n, argmax)
    )
    rates[f"generate, window model, {b} streams"], _ = timed(
        f"generate, window model, {b} streams (total)",
        b * n,
        lambda: generate(window_model, prime, n, argmax, batch_size=b),
    )
    m = min(n, args.recipe_steps)
    same = np.asarray(window_ids)[0, :m].tolist() == list(recipe_ids)[:m]
    print(f"generate's window-mode ids equal the recipe loop's (first {m}): {same}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    print("\nratio to the recipe loop:")
    for label, rate in rates.items():
        print(f"  {label:<60} {rate / base:>9.1f}x")


if __name__ == "__main__":
    main()

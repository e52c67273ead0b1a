"""Generation speed: the original recipe's decoding loop against `musegen.generation.generate`.

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
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from musegen.generation import generate
from musegen.model import skuli_lstm
from musegen.samplers import ArgmaxSampler

VOCAB, WINDOW = 400, 100
REPEAT = 3
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="tokens per stream, chunk mode")
    parser.add_argument("--batch", type=int, default=64, help="streams decoded together")
    parser.add_argument("--batch-steps", type=int, default=200, help="tokens per stream, batch")
    parser.add_argument("--recipe-steps", type=int, default=20, help="tokens, recipe loop")
    parser.add_argument("--window-steps", type=int, default=10, help="tokens, window mode")
    args = parser.parse_args()

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

"""Argmax, categorical, top-k and top-p sampling from ONE trained model, measured side by side.

    python examples/compare_samplers.py
    python examples/compare_samplers.py --bundle out/compare_samplers/bundle   # reuse the model

The seed found that argmax (always the likeliest token) falls into loops, that
sampling from the whole distribution (categorical) sometimes plays a wrong
note, and that top-k 7 (sample among the 7 likeliest) balances the two. This
script makes the comparison measurable:

1. train a small chunk model (many-to-many: every position predicts its next
   token), or load one with ``--bundle``;
2. generate ``--pieces`` pieces per sampler from the same primes and seeds;
3. print `musegen.evaluation.metrics.compare` against excerpts of the corpus as the
   tokenizer sees it (durations and velocities snapped to the buckets), cut to
   the generated length, since repetition metrics grow with length;
4. write one piano roll per sampler side by side (``piano_rolls.png``), every
   piece as MIDI, and WAV files when FluidSynth and a soundfont are installed.

Defaults train for a few minutes on 2 CPU cores (all 92 files, LSTM 256,
at most 20 epochs of batches of 32 chunks of 32 tokens) on Skuli's encoding,
the one the seed compared samplers on: its 92 files give some 600 kinds of
tokens, few enough for a few minutes of training to learn something. The seed's
final encoding (``--encoding final``) gives 6,700 kinds, most seen once or
twice, and needs far more training. Tokens seen fewer than ``--min-count``
times (default 3) share the unknown id, which is never sampled.
Larger: ``--units 512,512 --epochs 50``.
"""

from __future__ import annotations

from pathlib import Path

import _common

from musegen.evaluation.metrics import compare
from musegen.events import Piece
from musegen.generation import samplers
from musegen.generation.decoding import generate, prime_ids
from musegen.io.writing import write_midi
from musegen.tokens.tokenizer import seed_configurations
from musegen.training.bundle import load_bundle, save_bundle
from musegen.training.dataset import SequenceDataset
from musegen.training.fitting import fit
from musegen.training.model import build_lstm

SAMPLERS = {
    "argmax": samplers.ArgmaxSampler(),
    "categorical": samplers.CategoricalSampler(),
    "top_k7": samplers.TopKSampler(k=7),
    "top_p0.9": samplers.TopPSampler(p=0.9),
}


def main(argv: list[str] | None = None) -> str:
    p = _common.parser(
        "compare_samplers", __doc__, limit=92, units=(256,), epochs=20, batch_size=32
    )
    p.add_argument("--bundle", help="a saved bundle to sample from instead of training")
    p.add_argument("--encoding", choices=list(seed_configurations()), default="skuli")
    p.add_argument("--seq-len", type=int, default=32, help="chunk length when training")
    p.add_argument("--min-count", type=int, default=3, help="rarer tokens become unknown")
    p.add_argument("--pieces", type=int, default=8, help="pieces per sampler")
    p.add_argument("--steps", type=int, default=200, help="tokens per piece")
    p.add_argument("--prime", type=int, default=16, help="tokens of a real piece to start from")
    p.add_argument("--no-audio", action="store_true", help="do not render WAV files")
    args = p.parse_args(argv)
    pieces = _common.load_pieces(args)
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. A model: load the bundle, or train one on chunks and save it as a bundle.
    if args.bundle:
        bundle = load_bundle(args.bundle)
        model, tokenizer, vocab = bundle.model, bundle.tokenizer, bundle.vocabulary
        songs = [prime_ids(p, vocab, tokenizer=tokenizer, unknown="skip") for p in pieces]
        primes = [songs[i % len(songs)][: args.prime] for i in range(args.pieces)]
    else:
        tokenizer = seed_configurations()[args.encoding]
        # tokens seen fewer than --min-count times share the unknown id (never sampled)
        vocab = tokenizer.build_vocabulary(pieces, min_count=args.min_count)
        data = SequenceDataset.from_pieces(
            pieces,
            tokenizer,
            vocab,
            seq_len=args.seq_len,
            shape="chunks",
            seed=args.seed,
            unknown="map",
        )
        print(f"vocabulary: {len(vocab)} ids; {data}")
        model = build_lstm(
            len(vocab), units=args.units, return_sequences=True, learning_rate=_common.LEARNING_RATE
        )
        history = fit(
            model,
            data,
            epochs=args.epochs,
            batch_size=args.batch_size,
            run_dir=args.out / "run",
            verbose=2,
        )
        print(f"final loss {history.history['loss'][-1]:.4f}, ", end="")
        print(f"val_loss {history.history['val_loss'][-1]:.4f}")
        save_bundle(args.out / "bundle", model, tokenizer, vocab, encoding=args.encoding)
        # primes: stretches of the held-out songs, one per piece
        primes = [data.prime(args.prime, seed=args.seed + i).tolist() for i in range(args.pieces)]
    if min(len(row) for row in primes) < args.prime:
        raise SystemExit(f"a song has fewer than --prime {args.prime} known tokens")

    # 2. The same primes and seed for every sampler: only the sampling differs.
    generated = {}
    for name, sampler in SAMPLERS.items():
        ids = generate(model, primes, args.steps, sampler, seed=args.seed)
        generated[name] = [tokenizer.decode(vocab.decode(row)) for row in ids]

    # 3. Metrics against corpus excerpts of the same number of tokens.
    reference = [tokenizer.decode(tokenizer.encode(p)[: args.steps]) for p in pieces]
    table = str(compare(generated, reference=reference))
    print(f"\n{table}")
    (args.out / "metrics.txt").write_text(table + "\n", encoding="utf-8")

    # 4. Piano rolls of each sampler's first piece; MIDI (and WAV) of every piece.
    from musegen.evaluation import plots

    first = {name: group[0] for name, group in generated.items()}
    plots.piano_rolls(first, path=args.out / "piano_rolls.png")
    print(f"wrote {args.out / 'piano_rolls.png'}")
    for name, group in generated.items():
        for i, piece in enumerate(group):
            write_midi(piece, args.out / name / f"{i}.mid")
    if not args.no_audio:
        render(first, args.out)
    return table


def render(pieces: dict[str, Piece], out: Path) -> None:
    """WAV files of the pieces, when FluidSynth and a soundfont are installed."""
    from musegen.io.audio import AudioError, render_wav

    try:
        for name, piece in pieces.items():
            print(f"wrote {render_wav(piece, out / f'{name}.wav')}")
    except AudioError as err:
        print(f"no audio: {err}")


if __name__ == "__main__":
    main()

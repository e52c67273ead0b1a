"""Several instruments: one model for the band, primed with one part, continuing all of them.

    python examples/several_instruments.py
    python examples/several_instruments.py --data path/to/multi-track/midi --spelling qualified

The seed's model reads one stream of piano notes; its write-up suggests more
instruments. Here every file is read with its tracks apart
(`musegen.io.reading.read_tracks`: a `Score` of tracks, each with its General MIDI
program; MusicXML parts too), and `musegen.tokens.track_tokenizer.TrackTokenizer`
interleaves the tracks by time in one note-level token stream, every event
tagged with its instrument's family (``@strings D4 F4 4th +0 @brass ...``, or
``strings:D4`` with ``--spelling qualified``). One model learns the whole band.

To generate, the model is primed with **one part** of a held-out score (its
first track's opening), and continues: the tokens it writes name any
instrument, so the continuation is a band again. `decode_score` turns the
tokens back into tracks, and `write_midi` writes them as one multi-track MIDI
file, each track with its program (drums on channel 10).

The default data is music21's Bach chorales (four voices; some add trumpets,
timpani, oboes or strings), no download. Defaults take a few minutes on 2 CPU
cores (40 chorales, LSTM 128, 15 epochs).
"""

from __future__ import annotations

from typing import Any

import _common

from musegen.generation.decoding import generate
from musegen.generation.samplers import TopPSampler
from musegen.io.corpus import source_files
from musegen.io.reading import MidiReadError, read_tracks
from musegen.io.tracks import Score
from musegen.io.writing import write_midi
from musegen.tokens.track_tokenizer import TrackTokenizer
from musegen.training.dataset import SequenceDataset, split_songs
from musegen.training.fitting import fit
from musegen.training.model import build_lstm


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = _common.parser("several_instruments", __doc__, data="music21:bach", limit=40, epochs=15)
    p.add_argument("--spelling", choices=("token", "qualified"), default="token")
    p.add_argument("--seq-len", type=int, default=64, help="chunk length")
    p.add_argument("--steps", type=int, default=300, help="tokens to generate")
    p.add_argument("--prime-quarters", type=float, default=4.0, help="of the priming part")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. Every score with its tracks apart.
    scores = []
    for path in source_files(args.data)[: args.limit]:
        try:
            scores.append(read_tracks(path))
        except MidiReadError as err:
            print(f"  skipped {err}")
    scores = [s for s in scores if s.tracks]
    families = sorted({t.family for s in scores for t in s.tracks})
    print(f"{args.data}: {len(scores)} scores, {sum(len(s.tracks) for s in scores)} tracks")
    print(f"instrument families: {', '.join(families)}")
    if len(scores) < 2:
        raise SystemExit(f"{args.data}: need at least 2 scores (one to validate on)")

    # 2. One token stream per score, the tracks interleaved; one vocabulary for the band.
    tokenizer = TrackTokenizer(spelling=args.spelling)  # its encode() takes a Score
    vocab = tokenizer.build_vocabulary(scores)
    data = SequenceDataset.from_pieces(
        scores, tokenizer, vocab, seq_len=args.seq_len, shape="chunks", val_fraction=0.1,
        seed=args.seed,
    )  # fmt: skip
    first = " ".join(tokenizer.encode(scores[0])[:10])
    print(f"vocabulary: {len(vocab)} ids; {data}; tokens start: {first}")

    # 3. Train one model on the band.
    model = build_lstm(
        len(vocab), units=args.units, return_sequences=True, learning_rate=_common.LEARNING_RATE
    )
    history = fit(
        model, data, epochs=args.epochs, batch_size=args.batch_size, run_dir=args.out / "run",
        verbose=2,
    )  # fmt: skip
    print(f"final val_loss {history.history['val_loss'][-1]:.3f}")

    # 4. Prime with one part of a held-out score; the model continues the band.
    held = scores[split_songs(len(scores), 0.1, args.seed)[1][0]]  # a held-out score
    part = held.tracks[0]
    opening = part.piece.with_events(
        tuple(e for e in part.piece.events if e.offset < args.prime_quarters)
    )
    solo = Score((type(part)(opening, part.program, part.name, part.is_drum),), tempo=held.tempo)
    prime = vocab.encode(tokenizer.encode_score(solo), unknown="map")
    new = generate(model, prime, args.steps, TopPSampler(p=0.9), seed=args.seed)[0]
    band = tokenizer.decode_score(vocab.decode([*prime, *new]))
    band = Score(band.tracks, tempo=held.tempo, time_signature=held.time_signature)
    path = write_midi(band, args.out / "band.mid")
    summary = {f"{t.family} (program {t.program})": len(t.piece.notes) for t in band.tracks}
    print(f"primed with {part.family} ({part.name or 'unnamed'}), {len(prime)} tokens")
    print(f"wrote {path}:")
    for name, notes in summary.items():
        print(f"  {name}: {notes} notes and chords")
    written = read_tracks(path)
    from musegen.evaluation import plots

    plots.piano_rolls({t.family: t.piece for t in written.tracks}, path=args.out / "band.png")
    print(f"wrote {args.out / 'band.png'}")
    return {"tracks": summary, "families": families, "vocab": len(vocab)}


if __name__ == "__main__":
    main()

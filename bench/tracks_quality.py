"""Several instruments: the TrackTokenizer's options on a multi-track corpus, under one budget.

Command (from the repository root; not run in CI)::

    nice python bench/tracks_quality.py --minutes 3

The corpus is offline: music21's string quartets (``--quartets``: Haydn's and
Mozart's, MusicXML; Beethoven's are slow to parse) and the first ``--chorales``
Bach chorales (four voices, some with trumpets, timpani, oboes or strings).
Each score's parts become tracks with the General MIDI program of their
instrument (music21's ``instrument.fromString`` of the part name: violin 40,
viola 41, cello 42, voices 53, trumpet 56, ...), are written as a multi-track
MIDI file (`write_midi`) and read back with `read_tracks`, the path a user's
files take. Scores are split 90/10 (seed 0).

Rows, each training the default model (`musegen.defaults`) for ``--minutes``:

- ``merged``: every track in one piece (`Score.merged`), the default note-level
  encoding: no instruments (the baseline a band model must not lose much to);
- ``token-families`` / ``qualified-families``: `TrackTokenizer`'s two spellings
  of the instrument, naming General MIDI families; ``token-programs`` /
  ``qualified-programs``: the same naming each program (the default).

Columns: vocabulary size, training steps, held-out NLL per quarter note
(`musegen.evaluation.likelihood`; every option pays for the same music, but ``merged``
does not pay for the instruments), the notes the band's tokens keep
(`TrackTokenizer.not_kept`; the merged stream is not counted), and for each row
one generated piece primed with the first 4 quarter notes of a held-out score:
its parts (``p40.2``: the second part of program 40) and their notes.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import _recipe
import numpy as np

_DOUBLED = "doubled band note"
"""What `TrackTokenizer.not_kept` counts: a pitch its part repeats within one grid step."""

ROWS = {
    "merged": None,
    "token-families": {"spelling": "token", "families": True},
    "qualified-families": {"spelling": "qualified", "families": True},
    "token-programs": {"spelling": "token", "families": False},
    "qualified-programs": {"spelling": "qualified", "families": False},
}


def corpus(composers: list[str], chorales: int, folder: Path) -> list[Any]:
    """The multi-track scores, written to `folder` as MIDI and read back with `read_tracks`."""
    from music21 import corpus as m21
    from music21 import instrument

    from musegen.io.reading import piece_from_stream, read_tracks
    from musegen.io.tracks import Score, Track
    from musegen.io.writing import write_midi

    paths = [p for c in composers for p in m21.getComposer(c)]
    paths = [p for p in paths if str(p).endswith((".mxl", ".xml"))]
    paths += list(m21.getComposer("bach"))[:chorales]
    scores = []
    for i, path in enumerate(paths):
        parsed = m21.parse(path)
        tracks = []
        for part in parsed.parts:
            try:
                program = instrument.fromString(part.partName or "").midiProgram or 0
            except Exception:  # an unknown part name: a piano
                program = 0
            piece = piece_from_stream(part)
            if piece.notes:
                tracks.append(Track(piece, program=program, name=part.partName or ""))
        if tracks:
            score = Score(tuple(tracks), tempo=tracks[0].piece.tempo)
            scores.append(read_tracks(write_midi(score, folder / f"{i:03d}.mid")))
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--chorales", type=int, default=60)
    parser.add_argument(
        "--quartets", default="haydn,mozart", help="music21 composers whose quartets to read"
    )
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import keras

    from musegen.defaults import GENERATION, TRAINING
    from musegen.evaluation.likelihood import nll_per_quarter
    from musegen.generation.decoding import generate
    from musegen.generation.samplers import get as get_sampler
    from musegen.tokens.encodings import encodings
    from musegen.tokens.track_tokenizer import TrackTokenizer
    from musegen.training.dataset import SequenceDataset, split_songs
    from musegen.training.model import build_lstm
    from musegen.training.time_budget import TimeBudget

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        scores = corpus(args.quartets.split(","), args.chorales, Path(folder))
        seconds = time.perf_counter() - start
    programs: dict[int, int] = {}
    for score in scores:
        for track in score.tracks:
            programs[track.program] = programs.get(track.program, 0) + 1
    print(
        f"{len(scores)} scores, {sum(len(s.tracks) for s in scores)} tracks, programs "
        f"{dict(sorted(programs.items()))} (written and read back in {seconds:.0f} s); "
        f"{_recipe.load_average()}; {os.cpu_count()} cores",
        flush=True,
    )
    train_index, val_index = split_songs(len(scores), 0.1, args.seed)
    quarters = [max(t.piece.duration for t in scores[i].tracks) for i in val_index]
    results = []
    for name in args.rows.split(","):
        options = ROWS[name]
        keras.backend.clear_session()
        keras.utils.set_random_seed(args.seed)
        started = time.perf_counter()
        if options is None:
            tokenizer: Any = encodings()[TRAINING.encoding]

            def encode(score: Any, tokenizer: Any = tokenizer) -> list[str]:
                return tokenizer.encode(score.merged(drums=True))
        else:
            tokenizer = TrackTokenizer(**options)

            def encode(score: Any, tokenizer: Any = tokenizer) -> list[str]:
                return tokenizer.encode_score(score)

        from musegen.tokens.vocabulary import Vocabulary

        tokens = [encode(s) for s in scores]
        notes = sum(len(e.pitches) for s in scores for t in s.tracks for e in t.piece.notes)
        lost = 0 if options is None else sum(dict(tokenizer.not_kept(s)).get(_DOUBLED, 0)
                                             for s in scores)  # fmt: skip
        vocab = Vocabulary.build(tokens[i] for i in train_index)
        ids = [np.asarray(vocab.encode(t, unknown="map"), np.int64) for t in tokens]
        data = SequenceDataset(
            [ids[i] for i in train_index], [ids[i] for i in val_index], len(vocab),
            seq_len=TRAINING.seq_len, shape="chunks", seed=args.seed,
        )  # fmt: skip
        model = build_lstm(
            len(vocab), units=TRAINING.units, return_sequences=True,
            learning_rate=TRAINING.learning_rate,
        )  # fmt: skip
        budget = TimeBudget(args.minutes, started_at=started)
        model.fit(data.batches(TRAINING.batch_size), epochs=10**6, callbacks=[budget], verbose=0)
        nll = nll_per_quarter(model, [ids[i] for i in val_index], quarters, batch_size=4)
        held = val_index[0]
        prime = ids[held][: max(8, int(len(ids[held]) * 4 / quarters[0]))]
        sampler = get_sampler(GENERATION.sampler, **GENERATION.options)
        new = generate(model, prime, 400, sampler, seed=args.seed)[0]
        words = vocab.decode([*prime, *new])
        if options is None:
            band = f"one piece, {len(tokenizer.decode(words).notes)} notes and chords"
        else:
            score = tokenizer.decode_score(words)
            band = ", ".join(
                f"{part} ({t.family}): {len(t.piece.notes)}"
                for part, t in zip(tokenizer.part_names(score), score.tracks, strict=True)
            )
        kept = "not counted" if options is None else f"{notes - lost} of {notes}"
        results.append((name, len(vocab), budget.steps, nll, kept, band))
        print(f"{name}: vocab {len(vocab)}, {budget.steps} steps, NLL/qn {nll:.2f}, "
              f"notes kept {kept}; {band}")  # fmt: skip

    print(f"\nbudget {args.minutes:g} min per row; {_recipe.load_average()}")
    print("| option | vocabulary | steps | held-out NLL / quarter note | notes kept by the tokens "
          "| a generated piece |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, size, steps, nll, kept, band in results:
        print(f"| {name} | {size} | {steps} | {nll:.2f} | {kept} | {band} |")
    assert not math.isnan(results[0][3])


if __name__ == "__main__":
    main()

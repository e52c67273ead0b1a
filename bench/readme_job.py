"""Judge the README main job's output against the held-out songs of its run.

Command (from the repository root, after the README's set-up command)::

    python bench/readme_job.py runs/bach/bach.mid --run runs/bach

Reads the run's training options from its bundle (source, --limit, --seed),
loads the same corpus, splits it as `musegen train` did, and compares the
generated piece with the held-out songs: polyphony and scale consistency
against the held-out songs' mean and standard deviation, and the
Jensen-Shannon distances of pitch classes, intervals and durations against the
real-vs-real floor (one piece of the same length cut from a training song, 50
draws). Prints each criterion with its verdict.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import _floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generated", type=Path, help="the generated MIDI file")
    parser.add_argument("--run", type=Path, required=True, help="the run directory")
    parser.add_argument("--draws", type=int, default=50)
    args = parser.parse_args()
    for text, ok in judge(args.generated, args.run, draws=args.draws, show=True):
        print(f"  {'pass' if ok else 'FAIL'}: {text}")


def split(run: Path) -> tuple[list[Any], list[Any]]:
    """The training and held-out songs of `run`, read and split as ``musegen train`` did."""
    from musegen.io.corpus import load_corpus
    from musegen.training.dataset import split_songs

    metadata = json.loads((run / "bundle" / "metadata.json").read_text())
    options = (metadata.get("config") or metadata)["training"]
    corpus = load_corpus(
        options["source"], parts=options["parts"], limit=options["limit"], progress=False
    )
    pieces = corpus.pieces
    val_fraction = 0.1 if len(pieces) >= 10 else 0.0
    train_index, val_index = split_songs(len(pieces), val_fraction, options["seed"])
    return [pieces[i] for i in train_index], [pieces[i] for i in val_index]


def judge(
    generated_file: Path,
    run: Path,
    *,
    draws: int = 50,
    show: bool = False,
    songs: tuple[list[Any], list[Any]] | None = None,
) -> list[Any]:
    """Each criterion's text and verdict for `generated_file` against `run`'s held-out songs.

    `songs` is `split(run)` where the caller has it already.
    """
    from musegen.evaluation.metrics import compare
    from musegen.io.reading import read_midi

    train, held_out = songs or split(run)
    generated = read_midi(generated_file)
    table = compare({"generated": [generated]}, reference=held_out)
    floor, _, reference = _floor.floor(
        train, held_out, pieces=1, quarters=generated.duration, draws=draws, seed=0
    )
    if show:
        print(table)
        print(
            f"\n{generated_file}: {len(generated.notes)} notes and chords over "
            f"{generated.duration:.1f} quarter notes; {len(held_out)} held-out songs"
        )
    gen = table["generated"]
    poly, scale = reference["polyphony"], reference["scale_consistency"]
    checks = [
        (
            f"polyphony {gen['polyphony'].mean:.3f} within held-out "
            f"{poly.mean:.3f} ± {poly.std:.3f}",
            abs(gen["polyphony"].mean - poly.mean) <= poly.std,
        ),
        (
            f"scale consistency {gen['scale_consistency'].mean:.3f} >= held-out mean - std "
            f"{scale.mean - scale.std:.3f}",
            gen["scale_consistency"].mean >= scale.mean - scale.std,
        ),
    ]
    for key in ("js_pitch_class", "js_interval", "js_duration"):
        mean, std = floor[key]
        checks.append(
            (
                f"{key} {gen[key].mean:.3f} <= 2 x floor {mean:.3f} (± {std:.3f}) = {2 * mean:.3f}",
                gen[key].mean <= 2 * mean,
            )
        )
    return checks


if __name__ == "__main__":
    main()

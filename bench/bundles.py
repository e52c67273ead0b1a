"""Train, judge and ship the bundles ``musegen generate musegen:<name>`` plays with no training.

Command (from the repository root; not run in CI)::

    nice python bench/bundles.py --minutes 8                 # all three, in turn
    nice python bench/bundles.py chorales --minutes 8

Each bundle is trained by ``musegen train`` with the library's defaults on a
public-domain corpus that music21 ships (``BUNDLES``), in ``runs/bundles/<name>``;
its best weights are chosen on 10% of the songs held out. Then 4 pieces of 16
bars are generated from it with the generation defaults and judged against the
held-out songs as bench/readme_job.py judges the README job (polyphony and scale
consistency against the held-out mean and std, Jensen-Shannon distances against
twice the real-vs-real floor). The bundle is written to
``musegen/data/bundles/<name>`` with its weights in float16 (half the size;
probabilities move by about 1e-3), and its ``metadata.json`` holds the training
options and history as ``musegen train`` wrote them plus a ``record``: the corpus,
this command, the steps and minutes, the epoch kept, the held-out NLL per
quarter note, each check with its verdict, and the size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import readme_job

ROOT = Path(__file__).resolve().parents[1]

BUNDLES: dict[str, dict[str, Any]] = {
    "chorales": {
        "sources": ["music21:bach"],
        "about": "the Bach chorales music21 ships (four voices, MusicXML)",
        "options": [],
        # measured on its held-out chorales, 8 pieces of 16 bars (seed 1): top-p 0.9 kept the
        # key in 1 of 8 (scale consistency 0.866), top-p 0.8 in 4 (0.920), every distance
        # within twice the floor for both; temperature 0.9 gave 5 of 8 but lost polyphony
        "generation": {"name": "top_p", "temperature": 1.0, "p": 0.8},
    },
    "folk": {
        "sources": ["music21:ryansMammoth"],
        "about": "Ryan's Mammoth Collection (1883) of fiddle tunes, one melody each (ABC)",
        "options": [],
    },
    "quartets": {
        "sources": ["music21:haydn", "music21:mozart", "music21:beethoven"],
        "about": "the string quartets of Haydn, Mozart and Beethoven music21 ships, one track a "
        "part, its program set from the part's name (MusicXML; not Mozart's piano sonata K. 545, "
        "nor the Humdrum copies of op. 18 no. 1)",
        "options": ["--tracks"],
        "leave_out": ("k545", ".krn"),
        "programs_by_part": True,
        # measured on its held-out movements' 64-quarter-note excerpts (polyphony 2.267 +- 0.423),
        # 12 pieces of 16 bars (seed 0): top-p 0.9 wrote all four parts at once (3.00 +- 0.62,
        # 2 of 12 within), top-p 0.95 2.74 (8 of 12), plain sampling 2.25 +- 0.43 (7 of 12) and
        # scale consistency 0.82 (held-out mean - std 0.76)
        "generation": {"name": "categorical", "temperature": 1.0},
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"of {', '.join(BUNDLES)} (default: all)")
    parser.add_argument("--minutes", type=float, default=8.0, help="training budget per bundle")
    parser.add_argument("--runs", type=Path, default=Path("runs/bundles"))
    parser.add_argument("--pieces", type=int, default=4, help="pieces generated to judge it")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument(
        "--reuse", action="store_true", help="judge and ship a run trained before, if there is one"
    )
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(BUNDLES))
    if unknown:
        parser.error(f"no bundle named {', '.join(unknown)}; there are {', '.join(BUNDLES)}")
    for name in args.names or BUNDLES:
        ship(name, args)


def ship(name: str, args: argparse.Namespace) -> None:
    spec = BUNDLES[name]
    run = args.runs / name
    source = _source(spec["sources"], run, spec.get("leave_out", ()))
    if spec.get("programs_by_part"):
        source = _programs_by_part(Path(source), run / "midi")
    command = ["train", source, "--out", str(run), "--minutes", str(args.minutes)]
    log_file = run / "train.log"
    if args.reuse and log_file.is_file() and (run / "bundle" / "metadata.json").is_file():
        log = log_file.read_text()
        print(f"{name}: reusing {run}, trained before")
    else:
        log = _musegen([*command, "--seed", "0", "--quiet", *spec["options"]])
        log_file.write_text(log)
    trained_line = re.search(r"trained (\d+) steps? in ([\d.]+) min", log)
    steps, minutes = int(trained_line.group(1)), float(trained_line.group(2))  # type: ignore[union-attr]

    generation = spec.get("generation")
    sampler = _sampler_options(generation) if generation else []
    sample = run / "sample.mid"
    _musegen(
        ["generate", str(run), "--bars", str(args.bars), "--num", str(args.pieces),
         "--seed", "0", "--png", "--out", str(sample), *sampler]
    )  # fmt: skip
    samples = [sample.with_name(f"sample-{i + 1}.mid") for i in range(args.pieces)]
    songs = readme_job.split(run)  # read once for every sample
    checks = [readme_job.judge(s, run, songs=songs) for s in samples]
    verdicts = [
        {"check": texts[0][0].split(" ")[0], "passed": sum(ok for _, ok in texts), "of": len(texts)}
        for texts in zip(*checks, strict=True)
    ]
    for texts in checks:
        for text, ok in texts:
            print(f"  {'pass' if ok else 'FAIL'}: {text}")

    from musegen.training.bundle import load_bundle, save_bundle

    trained = load_bundle(run / "bundle")
    metadata = dict(trained.metadata)
    for key in ("vocab_size", "musegen_version"):  # save_bundle adds them again
        metadata.pop(key, None)
    metadata["training"] = {**metadata["training"], "source": " + ".join(spec["sources"]),
                            "out": f"runs/bundles/{name}"}  # fmt: skip
    if generation:  # the bundle's own sampler, measured on its held-out songs (BUNDLES)
        metadata["generation"] = generation
    losses = metadata["history"]["val_loss"]
    record = {
        "name": name,
        "corpus": f"{spec['about']}: {metadata['corpus']}",
        "command": f"python bench/bundles.py {name} --minutes {args.minutes:g}",
        "trained": f"{steps} steps in {minutes:.1f} min on {os.cpu_count()} CPU cores",
        "kept_epoch": f"{min(range(len(losses)), key=losses.__getitem__) + 1} of {len(losses)}",
        "held_out_nll_per_quarter": metadata["held_out_nll_per_quarter"],
        "judged": f"{args.pieces} pieces of {args.bars} bars against the held-out songs",
        "sampler": metadata["generation"],
        "defaults": _defaults(metadata["training"]),
        "checks": verdicts,
        "weights": "float16",
    }
    target = ROOT / "musegen" / "data" / "bundles" / name
    save_bundle(
        target, trained.model, trained.tokenizer, trained.vocabulary, weights="float16",
        **{**metadata, "record": record},
    )  # fmt: skip
    size = sum(p.stat().st_size for p in target.iterdir())
    print(f"{name}: {json.dumps(record, indent=1)}\nwrote {target} ({size / 1000:.0f} kB)")


def _defaults(training: dict[str, Any]) -> str:
    """What the run's encoding, keys and views were, and whether they are musegen's defaults."""
    from musegen.defaults import TRAINING

    shifts = training.get("transpose")
    moved = f"songs transposed by {shifts}" if shifts else "songs in their own keys"
    said = f"encoding {training['encoding']}, {moved}, " + (
        f"read in {2 * training['views'] + 1} keys" if training.get("views") else "read in its key"
    )
    band = bool(training.get("tracks"))  # a band is neither transposed nor read in other keys
    default = (
        training.get("encoding") == ("band" if band else TRAINING.encoding)
        and tuple(training.get("transpose") or ()) == (() if band else tuple(TRAINING.transpose))
        and training.get("views") == (0 if band else TRAINING.views)
    )
    return said + (": musegen train's defaults" if default else ": not musegen train's defaults")


def _sampler_options(generation: dict[str, Any]) -> list[str]:
    """``musegen generate``'s options for a bundle's ``generation`` record."""
    options = ["--sampler", generation["name"], "--temperature", str(generation["temperature"])]
    for key in ("k", "p"):
        if key in generation:
            options += [f"--{key}", str(generation[key])]
    return options


def _source(sources: list[str], run: Path, leave_out: tuple[str, ...] = ()) -> str:
    """One source for ``musegen train``: the corpus, or a folder linking several corpora's files.

    A file whose path holds one of `leave_out` is left out.
    """
    if len(sources) == 1 and not leave_out:
        return sources[0]
    from musegen.io.corpus import source_files

    folder = run / "source"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for source in sources:
        for file in source_files(source):
            if not any(part in str(file) for part in leave_out):
                link = folder / f"{source.split(':')[1]}-{file.parent.name}-{file.name}"
                link.symlink_to(file)
    return str(folder)


def _programs_by_part(folder: Path, out: Path) -> str:
    """MIDI copies of `folder`'s scores, each part's program the one its name says.

    The quartets' files state programs that disagree (Mozart's every part 48,
    string ensemble; one Haydn quartet 0, piano; some Beethoven parts a cello
    for a violin), and the band tokenizer tags notes by program: named by the
    part ("Violin II", "Viola", "Violoncello"), violins are 40, violas 41,
    cellos 42 (the two violins two parts of program 40, `@p40` and `@p40.2`).
    """
    from dataclasses import replace

    from music21 import instrument

    from musegen.io.reading import read_tracks
    from musegen.io.writing import write_midi

    out.mkdir(parents=True, exist_ok=True)
    for file in sorted(folder.iterdir()):
        target = out / f"{file.stem}.mid"
        if target.exists():
            continue
        score = read_tracks(file)
        tracks = []
        for track in score.tracks:
            try:
                program = instrument.fromString(track.name).midiProgram
            except instrument.InstrumentException:
                program = None
            tracks.append(replace(track, program=track.program if program is None else program))
        write_midi(replace(score, tracks=tuple(tracks)), target)
    return str(out)


def _musegen(argv: list[str]) -> str:
    """Run ``musegen ARGV`` in its own process, echoing its output; the output."""
    print("$ musegen " + " ".join(argv), flush=True)
    done = subprocess.run(
        [sys.executable, "-m", "musegen.cli", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    )  # fmt: skip
    print(done.stdout, end="", flush=True)
    if done.returncode:
        raise SystemExit(f"musegen {argv[0]} failed ({done.returncode})")
    return done.stdout


if __name__ == "__main__":
    main()

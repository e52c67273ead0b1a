"""Tokenizing speed: the original recipe, MidiTok and musegen on the same files, in one run.

Command (from the repository root)::

    nice python bench/tokenize_speed.py                       # all of data/skuli-midi
    nice python bench/tokenize_speed.py --recipe-files 10     # time the recipe on 10 files only
    nice python bench/tokenize_speed.py --profile             # where musegen's cold run goes
    nice python bench/tokenize_speed.py --baseline main       # reading before (main) and after

Rows, each over every file of the corpus (the recipe's over ``--recipe-files``,
extrapolated per file to the corpus when fewer):

- recipe: music21's ``converter.parse`` (``forceSource=True``: music21's own cache
  off) and the original recipe's note loop (first instrument part, note names and
  normal-order chords);
- MidiTok REMI: ``miditok.REMI()`` encoding each file (symusic reads it); skipped
  with a message when miditok is not installed (``pip install miditok``);
- musegen encode: `Tokenizer.encode` alone on the pieces already read;
- musegen cold, 1 process / N processes: `read_midi_fast` and `Tokenizer.seed()`
  through `cached_tokens` with no cache;
- musegen warm: `cached_tokens` again, every file served by a filled `TokenCache`.
- musegen read merged / read tracks: `read_midi_fast` (every track in one piece)
  against `read_tracks_fast` (a `Score`, one track per instrument), 1 process;
  MidiTok's own reading (``symusic.Score``, tracks kept) beside them, and
  musegen's byte parser alone (`midi_fast._parse_file`, what symusic would replace);
- with ``--baseline REV``: the same two reading rows of musegen as it was at the
  git revision REV (extracted to a temporary folder) beside this checkout's,
  each timed in a fresh process, in turns, three turns, the best of each:
  before and after come from one run, under the same load.

Every row imports its libraries before its clock starts. The recipe row runs once;
every other row runs three times and its best time counts (as ``timeit`` reports),
the run least disturbed by other jobs on the machine. Before each cold run the
fast reader's quantization cache is emptied.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _recipe

REPEAT = 3
"""Runs of each fast row; the best counts (as timeit does): the least disturbed by other jobs."""

ROUNDS = 3
"""With --baseline: turns of (reading now, reading at the baseline), each REPEAT runs."""


def timed(
    run: Callable[[], Any], repeat: int = 1, before: Callable[[], Any] = lambda: None
) -> tuple[Any, float]:
    """The result of `run` and its best time over `repeat` runs (`before` runs off the clock)."""
    best = float("inf")
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - start)
    return result, best


def recipe_notes(files: list[Path]) -> list[str]:
    """The original recipe's parsing: converter.parse, then its note loop (no music21 cache)."""
    from music21 import chord, converter, instrument, note

    notes: list[str] = []
    for file in files:
        score = converter.parse(file, forceSource=True, storePickle=False)
        try:
            elements = instrument.partitionByInstrument(score).parts[0].recurse()
        except Exception:  # the recipe's bare except: a flat file
            elements = score.flatten().notes
        for element in elements:
            if isinstance(element, note.Note):
                notes.append(str(element.pitch))
            elif isinstance(element, chord.Chord):
                notes.append(".".join(str(n) for n in element.normalOrder))
    return notes


def reading_rows(files: list[Path]) -> dict[str, float]:
    """Best seconds of the merged and the track reading of `files` by the musegen imported."""
    from musegen.io.midi_fast import _quantize, read_midi_fast, read_tracks_fast

    forget = _quantize.cache_clear  # cold: nothing remembered from earlier reads
    forget()
    _, merged_s = timed(lambda: [read_midi_fast(f) for f in files], REPEAT, forget)
    _, tracks_s = timed(lambda: [read_tracks_fast(f) for f in files], REPEAT, forget)
    return {"merged": merged_s, "tracks": tracks_s}


def rows_in_subprocess(package_root: str, files: list[Path]) -> dict[str, float]:
    """`reading_rows` in a fresh process importing musegen from `package_root`."""
    env = {**os.environ, "PYTHONPATH": package_root}
    command = [sys.executable, __file__, "--reading-json", *map(str, files)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1])


def before_and_after(revision: str, files: list[Path]) -> tuple[dict[str, float], dict[str, float]]:
    """`reading_rows` of musegen at git `revision` and of this checkout, best of ROUNDS turns.

    Each in a fresh process (this one holds every row's results by now, which
    slows Python's garbage collector), in turns, so both see the same load.
    """
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "archive", revision, "musegen"], cwd=root, capture_output=True, check=True
    ).stdout
    before: dict[str, float] = {}
    after: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        for _ in range(ROUNDS):
            for best, package in ((before, folder), (after, str(root))):
                for key, seconds in rows_in_subprocess(package, files).items():
                    best[key] = min(best.get(key, seconds), seconds)
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe-files", type=int, default=None, help="recipe row on N files")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--profile", action="store_true", help="profile the cold 1-process run")
    parser.add_argument("--baseline", metavar="REV", help="time reading at git revision REV too")
    parser.add_argument("--reading-json", nargs="+", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # music21's notes on odd track names
    if args.reading_json:  # the subprocess of --baseline
        import musegen

        assert Path(musegen.__file__).is_relative_to(os.environ["PYTHONPATH"]), musegen.__file__
        print(json.dumps(reading_rows(args.reading_json)))
        return

    import music21  # noqa: F401  (imports outside the clocks)

    from musegen.io.midi_fast import _quantize, read_midi_fast
    from musegen.tokens.token_cache import TokenCache, cached_tokens
    from musegen.tokens.tokenizer import Tokenizer

    if not _recipe.CORPUS.is_dir():
        raise SystemExit(f"corpus not found: {_recipe.CORPUS} (data/skuli-midi)")
    files = sorted(_recipe.CORPUS.glob("*.mid"))
    print(_recipe.load_average())
    print(f"corpus: {len(files)} files, {sum(f.stat().st_size for f in files) / 1024:.0f} KiB")
    rows: dict[str, float] = {}

    recipe_files = files[: args.recipe_files] if args.recipe_files else files
    _, seconds = timed(lambda: recipe_notes(recipe_files))
    rows["recipe (music21 parse + note loop)"] = seconds * len(files) / len(recipe_files)
    if len(recipe_files) < len(files):
        print(
            f"recipe timed on {len(recipe_files)} files ({seconds:.1f} s), "
            f"extrapolated per file to {len(files)}"
        )

    try:
        import miditok
    except ImportError:
        print("MidiTok REMI: skipped (pip install miditok to measure it)")
    else:
        remi = miditok.REMI()
        _, rows["MidiTok REMI (symusic read + encode)"] = timed(
            lambda: [remi.encode(f) for f in files], REPEAT
        )

    tokenizer = Tokenizer.seed()
    pieces = [read_midi_fast(f) for f in files]
    _, rows["musegen Tokenizer.encode only"] = timed(
        lambda: [tokenizer.encode(p) for p in pieces], REPEAT
    )
    forget = _quantize.cache_clear  # cold: nothing remembered from earlier reads
    _, rows["musegen cold, 1 process"] = timed(
        lambda: cached_tokens(files, tokenizer, workers=1, progress=False), REPEAT, forget
    )
    cold, rows[f"musegen cold, {args.workers} processes"] = timed(
        lambda: cached_tokens(files, tokenizer, workers=args.workers, progress=False),
        REPEAT,
        forget,
    )
    with tempfile.TemporaryDirectory() as folder:
        cache = TokenCache(folder)
        cached_tokens(files, tokenizer, cache=cache, workers=args.workers, progress=False)
        warm, rows["musegen warm (token cache)"] = timed(
            lambda: cached_tokens(files, tokenizer, cache=cache, progress=False), REPEAT
        )
    assert warm.tokens == cold.tokens and warm.hits == len(warm.tokens)
    print(f"musegen: {cold.summary()}; {sum(len(t) for t in cold.tokens)} tokens")

    if args.baseline:
        before, reading = before_and_after(args.baseline, files)
    else:
        reading = reading_rows(files)
    merged_s, tracks_s = reading["merged"], reading["tracks"]
    rows["musegen read merged (read_midi_fast)"] = merged_s
    rows["musegen read tracks (read_tracks_fast)"] = tracks_s
    if args.baseline:
        rows[f"  the same at {args.baseline}: merged"] = before["merged"]
        rows[f"  the same at {args.baseline}: tracks"] = before["tracks"]
        print(
            f"reading against {args.baseline}: merged {merged_s / before['merged']:.2f} x, "
            f"tracks {tracks_s / before['tracks']:.2f} x the time"
        )
    from musegen.io.midi_fast import _parse_file

    datas = [f.read_bytes() for f in files]
    _, rows["musegen's byte parser alone (_parse_file)"] = timed(
        lambda: [_parse_file(d) for d in datas], REPEAT
    )
    try:
        import symusic
    except ImportError:
        pass
    else:
        _, rows["MidiTok's reader (symusic.Score)"] = timed(
            lambda: [symusic.Score(str(f)) for f in files], REPEAT
        )
        _, rows["symusic parsing bytes (Score.from_midi)"] = timed(
            lambda: [symusic.Score.from_midi(d) for d in datas], REPEAT
        )
    print(f"tracks kept / merged: {tracks_s / merged_s:.2f} x the time")

    recipe = rows["recipe (music21 parse + note loop)"]
    miditok_s = rows.get("MidiTok REMI (symusic read + encode)")
    print(f"\n{'row':<42} {'seconds':>8} {'x recipe':>9} {'x MidiTok':>10}")
    for name, seconds in rows.items():
        against = f"{miditok_s / seconds:>10.1f}" if miditok_s else f"{'-':>10}"
        print(f"{name:<42} {seconds:>8.3f} {recipe / seconds:>9.1f} {against}")
    print("(x recipe, x MidiTok: how many times faster than that row)")

    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(cached_tokens, files, tokenizer, workers=1, progress=False)
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()

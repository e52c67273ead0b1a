"""Regenerate ``musegen/data/jsb-metres.json.gz``: each JSB chorale's metre, from music21's.

The JSB Chorales benchmark (`musegen.datasets.jsb_chorales`) holds frames only:
no time signature, no bar lines. Its chorales are music21's Bach chorales, so
each benchmark song is matched to its music21 source and takes that source's
metre map (time signature, changes, pickup):

1. every music21 Bach chorale (``music21.corpus.getComposer("bach")``, the
   MusicXML ones; the roman-numeral analyses ``.rntxt`` are left out) is read
   with `musegen.io.reading.read_piece` and cut into quarter-note frames with
   ``FrameTokenizer().frames``, as the benchmark's frames were;
2. a benchmark song and a source are compared as piano rolls, the source moved
   by a transposition (within 2 semitones of the difference of their mean
   pitches) and by a shift of up to 2 frames: the score is the Jaccard overlap of
   the two rolls' (frame, pitch) cells, the frames past the shorter counting as
   misses. Sources less than half or more than twice as long are not tried;
3. the best source (the lowest name among equal scores) is the song's when its
   score is at least `THRESHOLD` (real matches score about 0.8 to 1: the
   benchmark sampled the notes a little differently; the next best source
   scores far lower unless it is the same harmonisation). A song below it keeps
   no entry (`musegen.datasets.jsb_chorales` reads it as 4/4 with no pickup).

The song's bar lines are its source's moved by the shift. The file lists, per
split and per song (in the benchmark's order), the metre map and where it came
from; it is small and shipped, so nobody parses the 400 MusicXML files again.

Run ``python bench/jsb_metres.py`` (a minute or two to read music21's files and
about five to match, on one busy core); ``--check`` prints what would change
without writing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

THRESHOLD = 0.6
"""The least score (Jaccard overlap of the piano rolls) that counts as a match."""

OUT = Path(__file__).resolve().parents[1] / "musegen" / "data" / "jsb-metres.json.gz"


def music21_chorales() -> dict[str, dict[str, Any]]:
    """music21's Bach chorales by variant name: frames, bar lines and metre.

    A chorale is read as written (``bach/bwv1.6``), with its repeats expanded
    by music21 where it marks them (``bach/bwv1.6+repeats``); the benchmark
    plays the repeats. Its bar lines are its measures' starts (music21's
    measure 0, a pickup, starts none; two short measures that make one bar, as
    around a repeat sign, start one).
    """
    import music21
    from music21 import bar, stream

    from musegen.io.reading import piece_from_stream, read_piece
    from musegen.tokens.frame_tokenizer import FrameTokenizer

    tok = FrameTokenizer()
    found: dict[str, dict[str, Any]] = {}
    for file in map(Path, music21.corpus.getComposer("bach")):
        if file.suffix == ".rntxt":  # roman-numeral analyses, not the chorales' notes
            continue
        score = music21.converter.parse(file)
        variants = [("", read_piece(file), score)]
        if any(True for _ in score.recurse().getElementsByClass(bar.Repeat)):
            try:
                expanded = score.expandRepeats()
            except music21.repeat.ExpanderException:  # badly formed: the repeat model tries
                pass
            else:
                variants.append(("+repeats", piece_from_stream(expanded), expanded))
        for suffix, piece, parsed in variants:
            part = parsed.parts[0] if getattr(parsed, "parts", None) else parsed
            starts = [float(m.offset) for m in part.getElementsByClass(stream.Measure)]
            found[f"bach/{file.stem}{suffix}"] = {
                "frames": tok.frames(piece),
                "time_signature": piece.time_signature,
                "changes": [list(c) for c in piece.time_signature_changes],
                "starts": starts or [0.0],
                "end": piece.duration,
            }
    return dict(sorted(found.items()))


def repeated(source: dict[str, Any], length: int) -> dict[str, Any]:
    """`source` with its first `length` frames played twice (a repeat music21 does not mark)."""
    return {
        "frames": source["frames"][:length] + source["frames"],
        "time_signature": source["time_signature"],
        "changes": [[at + length, s] for at, s in source["changes"]],
        "starts": [s for s in source["starts"] if s < length]
        + [s + length for s in source["starts"]],
        "end": source["end"] + length,
    }


def metre_map(source: dict[str, Any], shift: int, frames: int) -> dict[str, Any] | None:
    """The metre map of a song whose frame k is `source`'s frame k + `shift`, from its measures.

    Bars of the written metre are the metre; a bar of another length (a
    fermata's extra beats, a short bar) is a change to ``n/4`` (``n/8``) and back.
    None when the map does not give back the measures' bar lines on the song's frames.
    """
    from musegen._metre import bar_length
    from musegen.events import Piece

    nominal = [(0.0, source["time_signature"]), *map(tuple, source["changes"])]
    starts, end = source["starts"], source["end"]
    lengths = [b - a for a, b in zip(starts, [*starts[1:], end], strict=True)]
    lines = []
    for i, (at, length) in enumerate(zip(starts, lengths, strict=True)):
        bar = bar_length([s for t, s in nominal if t <= at + 1e-6][-1])
        if i == 0 and length < bar - 1e-6:
            continue  # a pickup
        if lines and 0 < lengths[i - 1] < bar - 1e-6 and lines[-1] == starts[i - 1]:
            if abs(lengths[i - 1] + length - bar) < 1e-6 and i + 1 < len(starts):
                continue  # the second half of a bar split by a repeat sign
        lines.append(at)
    lines = [line - shift for line in lines if line - shift >= 0]
    if not lines:
        return None
    metres: list[tuple[float, str]] = []
    for at, after in zip(lines, [*lines[1:], None], strict=True):
        written = [s for t, s in nominal if t <= at + shift + 1e-6][-1]
        length = bar_length(written) if after is None else after - at
        text = written if abs(bar_length(written) - length) < 1e-6 else _metre_of(length)
        if not metres or metres[-1][1] != text:
            metres.append((at, text))
    changes = [[at, text] for at, text in metres[1:]]
    piece = Piece(
        time_signature=metres[0][1],
        time_signature_changes=tuple(map(tuple, changes)),
        pickup=lines[0],
    )
    if piece.bar_lines(float(frames)) != [line for line in lines if line < frames]:
        return None
    return {"time_signature": metres[0][1], "pickup": lines[0], "changes": changes}


def _metre_of(length: float) -> str:
    """A metre of a bar of `length` quarter notes: ``3/4``, ``7/8``."""
    return f"{round(length)}/4" if abs(length - round(length)) < 1e-6 else f"{round(2 * length)}/8"


def roll(frames: list[tuple[int, ...]]) -> np.ndarray:
    """``bool [frames, 128]``: the pitches of each frame."""
    out = np.zeros((len(frames), 128), bool)
    for k, frame in enumerate(frames):
        out[k, list(frame)] = True
    return out


def overlap(song: np.ndarray, source: np.ndarray, semitones: int, shift: int) -> float:
    """Jaccard overlap of `song` and `source` up `semitones`, song frame k ~ source k+shift."""
    moved = np.roll(source, semitones, axis=1)
    if semitones > 0:
        moved[:, :semitones] = False
    elif semitones < 0:
        moved[:, semitones:] = False
    moved = moved[shift:] if shift >= 0 else np.concatenate([np.zeros((-shift, 128), bool), moved])
    n = min(len(song), len(moved))
    both = int((song[:n] & moved[:n]).sum())
    either = int((song[:n] | moved[:n]).sum()) + int(song[n:].sum()) + int(moved[n:].sum())
    return both / max(either, 1)


def match(songs: list[np.ndarray], sources: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """For each song its best source: name, first frames repeated, score, runner-up, moves."""
    rolls = {name: roll(s["frames"]) for name, s in sources.items()}
    means = {name: np.nonzero(r)[1].mean() for name, r in rolls.items()}
    found = []
    for song in songs:
        mean = np.nonzero(song)[1].mean()
        scored = []
        for name, source in rolls.items():
            if not 0.5 <= len(source) / len(song) <= 2.0:
                continue
            near = round(mean - means[name])
            extra = len(song) - 1 - len(source)  # the benchmark's songs end a frame later
            for repeat in [0, *(k for k in (extra - 1, extra, extra + 1) if 0 < k < len(source))]:
                played = np.concatenate([source[:repeat], source]) if repeat else source
                best = max(
                    (overlap(song, played, t, d), -abs(d), t, d)
                    for t in range(near - 2, near + 3)
                    for d in range(-2, 3)
                )
                scored.append((-best[0], name, repeat, best[2], best[3]))
        scored.sort()
        (score, name, repeat, semitones, shift) = scored[0]
        runner = next((r for r in scored if r[1].split("+")[0] != name.split("+")[0]), None)
        found.append(
            {
                "source": name,
                "repeat": repeat,
                "score": round(-score, 3),
                "runner_up": [runner[1], round(-runner[0], 3)] if runner else None,
                "transpose": semitones,
                "shift": shift,
            }
        )
    return found


def main() -> None:
    from musegen.datasets import JSB_SPLITS, jsb_chorales
    from musegen.tokens.frame_tokenizer import FrameTokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print, do not write")
    args = parser.parse_args()
    started = time.perf_counter()
    sources = music21_chorales()
    print(f"{len(sources)} music21 chorales read in {time.perf_counter() - started:.0f} s")
    tok = FrameTokenizer()
    table: dict[str, Any] = {
        "about": "JSB Chorales songs (musegen.datasets.jsb_chorales) matched to music21's "
        "Bach chorales; regenerate with bench/jsb_metres.py",
        "threshold": THRESHOLD,
    }
    for split in JSB_SPLITS:
        songs = [roll(tok.frames(p)) for p in jsb_chorales(split)]
        entries: list[dict[str, Any] | None] = []
        for found in match(songs, sources):
            if found["score"] < THRESHOLD:
                entries.append(None)
                print(f"  {split}/{len(entries) - 1:03d}: no match (best {found})")
                continue
            source = sources[found["source"]]
            if found["repeat"]:
                source = repeated(source, found["repeat"])
            metre = metre_map(source, found["shift"], len(songs[len(entries)]))
            if metre is None:
                entries.append(None)
                print(f"  {split}/{len(entries) - 1:03d}: irregular bars ({found})")
                continue
            entries.append({**metre, **found})
        table[split] = entries
        matched = [e for e in entries if e is not None]
        metres = sorted({e["time_signature"] for e in matched})
        print(
            f"{split}: {len(matched)} of {len(entries)} matched (scores "
            f"{min(e['score'] for e in matched):.3f}..{max(e['score'] for e in matched):.3f}; "
            f"shifts {sorted({e['shift'] for e in matched})}; metres {metres}; "
            f"{sum(e['pickup'] > 0 for e in matched)} with a pickup, "
            f"{sum(bool(e['changes']) for e in matched)} with metre changes)",
            flush=True,
        )
    print(f"matched in {time.perf_counter() - started:.0f} s")
    data = json.dumps(table, indent=0, separators=(",", ":")).encode()
    if args.check:
        old = json.loads(gzip.decompress(OUT.read_bytes())) if OUT.is_file() else None
        print("unchanged" if old == json.loads(data) else f"{OUT.name} would change")
        return
    OUT.write_bytes(gzip.compress(data, mtime=0))
    print(f"wrote {OUT.relative_to(OUT.parents[2])} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

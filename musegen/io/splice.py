"""Splice new notes into a span of a MIDI file, keeping everything else of the file as it is.

`splice_gap` reads the user's file with symusic, removes the notes of its
pitched tracks that start in the gap, puts the new notes into the tracks
nearest them in pitch and writes the result to another file: every other
note, track, program, name, tempo, key and time signature stays as symusic
reads it. `bar_span` finds the gap of a run of bars from the file's own
time-signature map. Times are quarter notes: ticks / ticks per quarter, at
any tempo.
"""

from __future__ import annotations

import itertools
import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from musegen._files import atomic_write_bytes
from musegen.events import Event
from musegen.io.midi_fast import read_symusic

__all__ = [
    "SpliceReport",
    "TrackSplice",
    "bar_span",
    "check_target",
    "splice_gap",
    "time_signature_at",
]

Source = str | os.PathLike[str]

FALLBACK_VELOCITY = 80
"""Velocity of the new notes when the gap removed none to take it from."""

_CROWDING = 24
"""Semitones a chord's note may move further to get a track that plays one note at a time
to itself (a chorale's voices): a chord's notes go to such tracks a note each where they can."""


@dataclass(frozen=True)
class TrackSplice:
    """What `splice_gap` did to one track.

    Attributes:
        index: The track's position among the file's tracks as symusic reads them.
        name: Its name.
        program: Its General MIDI program.
        removed: Its notes that started in the gap, taken out.
        added: New notes put in.

    Examples:
        >>> TrackSplice(0, "Soprano", 0, removed=8, added=7).added
        7
    """

    index: int
    name: str
    program: int
    removed: int
    added: int


@dataclass(frozen=True)
class SpliceReport:
    """What `splice_gap` wrote.

    Attributes:
        out: The file written.
        start: Where the gap begins, in quarter notes.
        end: Where it ends (exclusive).
        tracks: One entry per track that lost or gained notes, in file order.

    Examples:
        >>> report = SpliceReport(Path("out.mid"), 8.0, 16.0,
        ...                       (TrackSplice(0, "S", 0, 8, 7), TrackSplice(3, "B", 0, 6, 6)))
        >>> report.removed, report.added
        (14, 13)
    """

    out: Path
    start: float
    end: float
    tracks: tuple[TrackSplice, ...]

    @property
    def removed(self) -> int:
        """Notes taken out of the gap, all tracks together."""
        return sum(t.removed for t in self.tracks)

    @property
    def added(self) -> int:
        """New notes put in, all tracks together."""
        return sum(t.added for t in self.tracks)


def _score(source: Source | Any) -> Any:
    """`source` read by symusic at tick resolution (a symusic score is taken as it is)."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"no such MIDI file: {str(path)!r}")
    return read_symusic(path)  # MidiReadError for what the readers refuse; valid tempos only


def _metres(score: Any) -> list[tuple[Fraction, int, int]]:
    """The time-signature map as (quarter note, numerator, denominator), 4/4 until the first."""
    tpq = score.ticks_per_quarter
    changes: dict[Fraction, tuple[int, int]] = {Fraction(0): (4, 4)}
    for sig in sorted(score.time_signatures, key=lambda s: s.time):  # the last at a tick wins
        if sig.numerator > 0 and sig.denominator > 0:
            changes[Fraction(sig.time, tpq)] = (sig.numerator, sig.denominator)
    return [(at, *changes[at]) for at in sorted(changes)]


def _has_pickup(score: Any, metres: list[tuple[Fraction, int, int]]) -> bool:
    """Whether the file opens with a pickup: a metre stated at 0, one bar, then a longer bar."""
    from musegen.io._midi_common import read_pickup

    if not any(sig.time == 0 for sig in score.time_signatures) or len(metres) < 2:
        return False
    changes = tuple((float(at), f"{n}/{d}") for at, n, d in metres[1:])
    return read_pickup(f"{metres[0][1]}/{metres[0][2]}", changes)[2] > 0


def _music_end(score: Any) -> Fraction:
    """Where the last note of any track stops sounding, in quarter notes."""
    ends = [n.time + n.duration for t in score.tracks for n in t.notes]
    return Fraction(max(ends, default=0), score.ticks_per_quarter)


def bar_span(source: Source | Any, first: int, last: int) -> tuple[float, float]:
    """The quarter notes from the start of bar `first` to the end of bar `last` of a MIDI file.

    Bars are counted from 1 at the file's start, in its own time signatures
    (4/4 before the first, or throughout when it has none); a time signature
    that changes mid-bar starts a new bar there. A pickup (a short first metre
    one bar long, as MIDI writes one: `musegen.io.midi_fast` reads it so) is bar
    0, as scores number it: bar 1 is the first whole bar.

    Args:
        source: The MIDI file, or a ``symusic.Score`` read from it (tick resolution).
        first: The first bar of the span (1-based).
        last: The last bar of the span (inclusive).

    Returns:
        ``(start, end)`` in quarter notes (ticks / ticks per quarter).

    Raises:
        ValueError: for bars not ``1 <= first <= last``, ``last`` past the end
            of the music, or a file that is not MIDI.

    Examples:
        >>> import symusic
        >>> score = symusic.Score(480)
        >>> score.time_signatures.append(symusic.TimeSignature(480 * 8, 3, 4))  # 3/4 from bar 3
        >>> track = symusic.Track("piano", 0, False)
        >>> track.notes.append(symusic.Note(0, 480 * 20, 60, 80))
        >>> score.tracks.append(track)
        >>> bar_span(score, 3, 4)
        (8.0, 14.0)
        >>> bar_span(score, 5, 7)
        Traceback (most recent call last):
        ...
        ValueError: bar 7 is past the end of the music (20 quarter notes, 6 bars)
    """
    if not 1 <= first <= last:
        raise ValueError(f"bars take 1 <= first <= last, got {first}..{last}")
    score = _score(source)
    metres, music_end = _metres(score), _music_end(score)
    bar, at, starts = (0 if _has_pickup(score, metres) else 1), Fraction(0), {}
    while bar <= last + 1:
        starts[bar] = at
        if bar == last + 1:
            break
        _, numerator, denominator = [m for m in metres if m[0] <= at][-1]
        following = [m[0] for m in metres if m[0] > at]
        at = min([at + Fraction(4 * numerator, denominator), *following])
        bar += 1
    if starts[last] >= music_end:
        count = sum(1 for b, s in starts.items() if s < music_end)
        raise ValueError(
            f"bar {last} is past the end of the music ({float(music_end):g} quarter notes, "
            f"{count} bars)"
        )
    return float(starts[first]), float(starts[last + 1])


def time_signature_at(source: Source | Any, quarter: float) -> str:
    """The time signature in force at `quarter` notes into a MIDI file, e.g. ``"3/4"``.

    Examples:
        >>> import symusic
        >>> score = symusic.Score(480)
        >>> score.time_signatures.append(symusic.TimeSignature(480 * 8, 3, 4))
        >>> time_signature_at(score, 0), time_signature_at(score, 8)
        ('4/4', '3/4')
    """
    _, numerator, denominator = [m for m in _metres(_score(source)) if m[0] <= quarter][-1]
    return f"{numerator}/{denominator}"


def check_target(source: Source, out: Source) -> Path:
    """`out` as a path, refused when it is the `source` file itself (never written over).

    Raises:
        ValueError: `out` names `source` (the same path, or a link to the same file).

    Examples:
        >>> check_target("song.mid", "song-filled.mid").name
        'song-filled.mid'
        >>> check_target("song.mid", "./song.mid")
        Traceback (most recent call last):
        ...
        ValueError: the output './song.mid' is the source file: write the spliced music elsewhere
    """
    target = Path(out)
    same = target.resolve() == Path(source).resolve()
    if not same and target.exists() and Path(source).exists():
        same = os.path.samefile(target, source)
    if same:
        raise ValueError(
            f"the output {str(out)!r} is the source file: write the spliced music elsewhere"
        )
    return target


def _reference(notes: Sequence[Any], lo: int, hi: int) -> tuple[float, bool] | None:
    """The median pitch of the notes sounding in ticks [lo, hi), and if they sound one at a time.

    None if none sound there.
    """
    near = sorted(
        (n.time, n.time + n.duration, n.pitch)
        for n in notes
        if n.time < hi and n.time + n.duration > lo
    )
    if not near:
        return None
    single = all(b[0] >= a[1] for a, b in itertools.pairwise(near))
    return float(statistics.median(p for *_, p in near)), single


def _references(tracks: Sequence[Any], lo: int, hi: int) -> dict[int, tuple[float, bool]]:
    """The tracks that may take new notes, by index into `tracks`, each as `_reference` has it.

    Those playing in or around ticks [lo, hi) (a gap's length either side), else
    those with notes anywhere, else the first.
    """
    for window in (hi - lo, 1 << 62):
        refs = {}
        for i, track in enumerate(tracks):
            near = _reference(track.notes, lo - window, hi + window)
            if near is not None:
                refs[i] = near
        if refs:
            return refs
    return {0: (60.0, False)} if tracks else {}


def _voices(pitches: Sequence[int], refs: Sequence[tuple[float, bool]]) -> list[int]:
    """Each pitch's track, an index into `refs` (pitch, single voice; sorted low to high).

    The closest in pitch, low notes to low tracks, and a chord's notes to
    single-voice tracks a note each where that moves them less than `_CROWDING`
    semitones further.
    """
    crowding = [_CROWDING if single else 0 for _, single in refs]
    cost = [[abs(pitches[0] - r) for r, _ in refs]]
    back: list[list[int]] = [[-1] * len(refs)]
    for p in pitches[1:]:
        row, moves = [], []
        for j, (r, _) in enumerate(refs):  # the pitch below went to a track k <= j
            came = min(range(j + 1), key=lambda k: cost[-1][k] + (crowding[j] if k == j else 0))
            row.append(cost[-1][came] + (crowding[j] if came == j else 0) + abs(p - r))
            moves.append(came)
        cost.append(row)
        back.append(moves)
    j = min(range(len(refs)), key=lambda k: cost[-1][k])
    chosen = [j]
    for moves in reversed(back[1:]):
        j = moves[j]
        chosen.append(j)
    return chosen[::-1]


def splice_gap(
    source: Source,
    events: Iterable[Event],
    start: float,
    end: float,
    out: Source,
    *,
    velocity: int | Literal["removed", "events"] = "removed",
) -> SpliceReport:
    """Replace the notes that start in ``[start, end)`` of a MIDI file with `events`.

    The file is read with symusic; the notes of its pitched tracks whose onset
    lies in the gap are removed (a note that starts before the gap and sounds
    into it is kept as it is; drum tracks are not touched), and each pitch of
    each event goes into the pitched track whose notes around the gap are
    closest in pitch (a chord's notes to different tracks where they are
    near: a chorale's soprano to the soprano). A new note is shortened so as
    not to sound into a later note of its pitch in its track, and left out
    where a kept note of its pitch still sounds. Everything else (every other
    note, the tracks, their programs and names, controls, tempos, key and
    time signatures) is written as read. The file is written atomically to
    `out`, never over `source`.

    Args:
        source: The user's MIDI file (read, never written).
        events: The new notes and chords (rests are skipped), offsets in the gap.
        start: Where the gap begins, in quarter notes (ticks / ticks per quarter).
        end: Where it ends (exclusive).
        out: The MIDI file to write.
        velocity: ``"removed"``: the mean velocity of the notes the gap removed
            from the track (of all of them if it lost none, else
            `FALLBACK_VELOCITY`), for events from a model that has no
            velocities; ``"events"``: each event's own; or one velocity for all.

    Returns:
        What was removed and added, per track.

    Raises:
        MidiReadError: `source` is not a MIDI file the readers read (named).
        ValueError: `out` is `source`,
            ``start >= end``, or an event starts outside the gap.

    Examples:
        >>> import pathlib, tempfile, symusic
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> score = symusic.Score(480)
        >>> for name, pitch in [("high", 72), ("low", 48)]:
        ...     track = symusic.Track(name, 0, False)
        ...     track.notes.extend(symusic.Note(480 * i, 480, pitch, 90) for i in range(8))
        ...     score.tracks.append(track)
        >>> score.dump_midi(str(folder / "in.mid"))
        >>> new = [Event(4, 2, (50, 70))]
        >>> report = splice_gap(folder / "in.mid", new, 4, 6, folder / "out.mid")
        >>> [(t.name, t.removed, t.added) for t in report.tracks]
        [('high', 2, 1), ('low', 2, 1)]
        >>> [n.pitch for n in symusic.Score(str(folder / "out.mid")).tracks[1].notes]
        [48, 48, 48, 48, 50, 48, 48]
    """
    target = check_target(source, out)
    if not start < end:
        raise ValueError(f"the gap must have start < end, got {start:g} .. {end:g}")
    import symusic

    score = _score(source)
    tpq = score.ticks_per_quarter
    lo, hi = round(start * tpq), round(end * tpq)
    new = [e for e in events if e.pitches]
    outside = [e for e in new if not lo <= round(e.offset * tpq) < hi]
    if outside:
        raise ValueError(
            f"{len(outside)} events start outside the gap {start:g} .. {end:g}, "
            f"the first at {outside[0].offset:g}"
        )
    pitched = [i for i, t in enumerate(score.tracks) if not t.is_drum]
    if not pitched and new:  # drums alone: the new notes get a piano track of their own
        score.tracks.append(symusic.Track("infill", 0, False))
        pitched = [len(score.tracks) - 1]
    kept: dict[int, list[Any]] = {}
    removed: dict[int, list[int]] = {}
    for i in pitched:
        notes = list(score.tracks[i].notes)
        kept[i] = [n for n in notes if not lo <= n.time < hi]
        removed[i] = [n.velocity for n in notes if lo <= n.time < hi]
    everything = [v for vs in removed.values() for v in vs]
    refs = _references([score.tracks[i] for i in pitched], lo, hi)
    order = sorted(refs, key=lambda i: (refs[i], i))
    added: dict[int, list[tuple[int, int, int, int | None]]] = {i: [] for i in pitched}
    for event in new:
        on, off = round(event.offset * tpq), round(event.end * tpq)
        pitches = list(event.pitches)
        for pitch, voice in zip(pitches, _voices(pitches, [refs[i] for i in order]), strict=True):
            own = event.velocity if velocity == "events" else None
            added[pitched[order[voice]]].append((on, max(off, on + 1), pitch, own))
    counts = []
    for i in pitched:
        track = score.tracks[i]
        mean = statistics.fmean(removed[i] or everything or [FALLBACK_VELOCITY])
        notes = _fit(kept[i], added[i], velocity if isinstance(velocity, int) else round(mean))
        if removed[i] or notes:
            track.notes.clear()
            track.notes.extend(kept[i] + notes)
            track.notes.sort()
            counts.append(TrackSplice(i, track.name, track.program, len(removed[i]), len(notes)))
    atomic_write_bytes(target, score.dumps_midi())
    return SpliceReport(target, float(start), float(end), tuple(counts))


def _fit(kept: Sequence[Any], new: Sequence[tuple[int, int, int, int | None]], v: int) -> list[Any]:
    """The new notes of one track as symusic notes, velocity `v` where they bring none.

    None where a kept note of its pitch still sounds; each cut where a later note
    of its pitch starts (kept or new).
    """
    import symusic

    longest: dict[tuple[int, int], tuple[int, int | None]] = {}  # (onset, pitch): one note
    for on, off, pitch, own in new:
        if off > longest.get((on, pitch), (-1, None))[0]:
            longest[on, pitch] = (off, own)
    onsets: dict[int, list[int]] = {}
    for n in kept:
        onsets.setdefault(n.pitch, []).append(n.time)
    for on, pitch in longest:
        onsets.setdefault(pitch, []).append(on)
    notes = []
    for (on, pitch), (off, own) in sorted(longest.items()):
        if any(n.pitch == pitch and n.time <= on < n.time + n.duration for n in kept):
            continue
        later = [t for t in onsets[pitch] if t > on]
        stop = min([off, *later])
        velocity = max(1, min(127, own if own is not None else v))
        notes.append(symusic.Note(on, stop - on, pitch, velocity))
    return notes

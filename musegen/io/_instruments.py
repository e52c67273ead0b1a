"""Notes of a MIDI file as a player hears them: by channel and program, each note on the grid.

A private leaf module for `musegen.io.midi_fast` (numpy only):

- `program_timeline`: every program change of the file, by channel, in time
  order (a change in one track sets the program of that channel's notes in
  every track, as a synthesizer plays them: General MIDI has one program per
  channel, not per track);
- `instrument_parts`: the paired notes of one track split by (channel,
  program), each note's program the last change on its channel at or before
  its onset;
- `note_events`: one part's notes as events, onset and end of each note on
  the grid (`grid_times`, which the merged reading uses for onsets too) on
  their own, each note's own velocity;
- `apply_sustain`: notes held by the sustain pedal (on request);
- `changes`, `key_name`: the tempo map, metres and keys a `Score` keeps.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np

from musegen.events import DEFAULT_VELOCITY, Event, trusted_event

V = TypeVar("V")

_GRID = 12  # quantized times are whole twelfths of a quarter note

Notes = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Paired notes as columns: on tick, off tick, pitch, channel (1-based), velocity."""

Timeline = dict[int, tuple[np.ndarray, np.ndarray]]
"""Per channel (1-based): the ticks of its program changes, sorted, and the programs."""


def program_timeline(changes: list[list[tuple[int, int, int]]]) -> Timeline:
    """Each channel's program changes in time order, from every track's (tick, channel, program).

    Changes at one tick keep the file's order (tracks in order), as a player
    merging the tracks meets them.
    """
    by_channel: dict[int, list[tuple[int, int]]] = {}
    for track in changes:
        for tick, channel, program in track:
            by_channel.setdefault(channel, []).append((tick, program))
    timeline: Timeline = {}
    for channel, found in by_channel.items():
        found.sort(key=lambda change: change[0])  # stable: file order within a tick
        ticks, programs = zip(*found, strict=True)
        timeline[channel] = (np.array(ticks, np.int64), np.array(programs, np.int64))
    return timeline


def instrument_parts(notes: Notes, timeline: Timeline) -> list[tuple[int, int, Notes]]:
    """(channel, program, notes) per instrument of one track, in the order they first sound.

    A note's program is the last program change on its channel at or before
    its onset, wherever in the file it sits; 0 before the first.
    """
    starts, _, _, channels, _ = notes
    programs = np.zeros(len(starts), np.int64)
    for channel in np.unique(channels).tolist():
        if channel not in timeline:
            continue
        ticks, changes = timeline[channel]
        on = channels == channel
        last = np.searchsorted(ticks, starts[on], side="right") - 1
        programs[on] = np.where(last >= 0, changes[np.maximum(last, 0)], 0)
    keys = channels * 128 + programs
    unique, first = np.unique(keys, return_index=True)
    parts = []
    for key in unique[np.argsort(first)].tolist():
        chosen = keys == key
        part = (starts[chosen], *(column[chosen] for column in notes[1:]))
        parts.append((key // 128, key % 128, part))
    return parts


def grid_times(ticks: np.ndarray, tpq: int) -> np.ndarray:
    """Each tick at the nearest sixteenth or eighth-note triplet, in twelfths of a quarter.

    The lower point wins a tie within a grid, and sixteenths a tie between the
    grids (music21's rule for onsets); a time already on the grid stays there.
    """
    low, remainder = np.divmod(ticks * 4, tpq)  # in sixteenths
    up = 2 * remainder > tpq
    error = np.where(up, tpq - remainder, remainder) * 3
    sixteenths = (low + up) * 3
    low, remainder = np.divmod(ticks * 3, tpq)  # in triplet eighths
    up = 2 * remainder > tpq
    triplet_error = np.where(up, tpq - remainder, remainder) * 4
    return np.where(triplet_error < error, (low + up) * 4, sixteenths)


def note_events(notes: Notes, tpq: int) -> tuple[list[Event], int]:
    """The notes of one instrument as events, silent gaps filled with rests.

    Each note's onset and end go to the nearest grid point (`grid_times`) on
    their own; a note that had length and would lose it lasts one step of its
    grid (a sixteenth, or a triplet eighth), a note of no length keeps none.
    Notes with the same onset, end and velocity are one event (a chord): a
    chord of mixed velocities or lengths is an event per velocity and
    length, all at its onset. A pitch struck twice at one onset (two note-ons
    of one key, which the next note-off both ends) is two notes: the second
    goes to an event of its own. A note that comes to the onset of a longer
    note of its pitch on the grid (struck and struck again within a grid
    step) is left out, since MIDI cannot hold the two: the count of those
    comes with the events.
    """
    starts, stops, pitches, _, velocities = notes
    if not len(starts):
        return [], 0
    onset, end = grid_times(starts, tpq), grid_times(stops, tpq)
    lost = (end <= onset) & (stops > starts)
    end = np.where(lost, onset + np.where(onset % 3 == 0, 3, 4), end)
    # the notes of one onset and pitch keep the longest end (and all notes of that end)
    order = np.lexsort((-end, pitches, onset))
    onset, end, pitches, velocities = onset[order], end[order], pitches[order], velocities[order]
    first = np.concatenate(([True], (onset[1:] != onset[:-1]) | (pitches[1:] != pitches[:-1])))
    longest = end[np.maximum.accumulate(np.where(first, np.arange(len(end)), 0))]
    keep = end == longest
    merged = int(len(keep) - keep.sum())
    onset, end, pitches, velocities = onset[keep], end[keep], pitches[keep], velocities[keep]
    # each note's rank among the notes of its onset, end, velocity and pitch (0: the first)
    order = np.lexsort((pitches, -end, -velocities, onset))
    onset, end, pitches, velocities = onset[order], end[order], pitches[order], velocities[order]
    new = np.concatenate(
        ([True], (onset[1:] != onset[:-1]) | (end[1:] != end[:-1])
         | (velocities[1:] != velocities[:-1]) | (pitches[1:] != pitches[:-1]))
    )  # fmt: skip
    index = np.arange(len(onset))
    rank = index - np.maximum.accumulate(np.where(new, index, 0))
    # one event per (onset, end, velocity, rank), louder first, then longer
    order = np.lexsort((pitches, rank, -end, -velocities, onset))
    onset, end, pitches = onset[order], end[order], pitches[order]
    velocities, rank = velocities[order], rank[order]
    firsts = np.flatnonzero(
        np.concatenate(
            ([True], (onset[1:] != onset[:-1]) | (end[1:] != end[:-1])
             | (velocities[1:] != velocities[:-1]) | (rank[1:] != rank[:-1]))
        )
    )  # fmt: skip
    ends = [*firsts[1:].tolist(), len(onset)]
    pitch = pitches.tolist()
    events: list[Event] = []
    sounding = 0  # the latest end so far, in twelfths
    for first, last, at, until, velocity in zip(
        firsts.tolist(),
        ends,
        onset[firsts].tolist(),
        end[firsts].tolist(),
        np.clip(velocities[firsts], 0, 127).tolist(),
        strict=True,
    ):
        if at > sounding:
            events.append(
                trusted_event(sounding / _GRID, (at - sounding) / _GRID, (), DEFAULT_VELOCITY)
            )
        events.append(
            trusted_event(at / _GRID, (until - at) / _GRID, tuple(pitch[first:last]), velocity)
        )
        sounding = max(sounding, until)
    return events, merged


MAJOR_KEYS = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
MINOR_KEYS = ("Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#")
"""Key names by the sharps of a MIDI key signature (-7..7, flats negative), from index 0: -7."""


def key_name(sharps: int, minor: int) -> str:
    """A MIDI key signature as text: ``key_name(-2, 0)`` is ``"Bb major"``."""
    names = MINOR_KEYS if minor else MAJOR_KEYS
    return f"{names[max(-7, min(7, sharps)) + 7]} {'minor' if minor else 'major'}"


def key_of_name(name: str) -> tuple[int, int]:
    """(sharps, minor) of a key named as `key_name` names it; ValueError for another name."""
    tonic, _, mode = name.partition(" ")
    names = {"major": MAJOR_KEYS, "minor": MINOR_KEYS}.get(mode)
    if names is None or tonic not in names:
        raise ValueError(f"a key is named like 'Bb major' or 'F# minor', got {name!r}")
    return names.index(tonic) - 7, int(mode == "minor")


def changes(marks: list[tuple[int, V]], tpq: int, first: V | None) -> tuple[tuple[float, V], ...]:
    """(offset, value) where the value of (tick, value) `marks` changes, from `first` on.

    Offsets are on the grid of the notes (`grid_times`); of marks at one grid
    point the last in time counts. With a `first` value (the score's tempo or
    metre), nothing at offset 0 is a change; with None, a mark at 0 is one.
    """
    if not marks:
        return ()
    # stable: of marks at one tick the file's last counts (a set's order changed run to run)
    ordered = sorted(dict.fromkeys(marks), key=lambda mark: mark[0])
    points = grid_times(np.array([t for t, _ in ordered], np.int64), tpq).tolist()
    by_point = dict(zip(points, (value for _, value in ordered), strict=True))
    found: list[tuple[float, V]] = []
    last = first
    for point, value in by_point.items():
        if value != last and (point or first is None):
            found.append((point / _GRID, value))
            last = value
    return tuple(found)


_DOWN, _UP, _ON, _OFF = 0, 1, 2, 3
"""Sustain-pedal and note events in the order they are met at one tick (as note_seq's)."""


def apply_sustain(notes: Notes, pedal: list[tuple[int, int]]) -> Notes:
    """Notes of one channel as the sustain pedal holds them (as note_seq's sustain does).

    The rule of ``note_seq.apply_sustain_control_changes``: `pedal` holds
    (tick, value) of the channel's controller-64 messages, 64 and more press
    the pedal. While it is down a released note sounds on until the pedal is
    lifted, or until its pitch is struck again; at one tick the pedal moves
    first, then notes start, then they end. A note still held at the end of
    the file ends with the last note or pedal message.
    """
    starts, stops, pitches, channels, velocities = notes
    if not pedal or not len(starts):
        return notes
    events = [(t, _DOWN if v >= 64 else _UP, -1) for t, v in pedal]
    events += [(t, _ON, i) for i, t in enumerate(starts.tolist())]
    events += [(t, _OFF, i) for i, t in enumerate(stops.tolist())]
    events.sort(key=lambda e: (e[0], e[1]))
    ends = stops.copy()
    keep = np.ones(len(starts), bool)
    active: list[int] = []  # notes sounding: held, or released under the pedal
    released: set[int] = set()
    down = False
    pitch = pitches.tolist()
    last = 0
    for tick, kind, i in events:
        last = max(last, tick)
        if kind == _DOWN:
            down = True
        elif kind == _UP:
            down = False
            for j in [j for j in active if j in released]:
                ends[j] = tick
                active.remove(j)
        elif kind == _ON:
            if down:
                for j in [j for j in active if pitch[j] == pitch[i]]:
                    ends[j] = tick
                    active.remove(j)
                    keep[j] = keep[j] and starts[j] != tick
            active.append(i)
        elif i in active:  # a note-off: under the pedal the note sounds on
            if down:
                released.add(i)
            else:
                active.remove(i)
    for j in active:
        if j in released:
            ends[j] = last
    return starts[keep], ends[keep], pitches[keep], channels[keep], velocities[keep]

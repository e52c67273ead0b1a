"""Notes of a MIDI file as a player hears them: by channel and program, each note on the grid.

A private leaf module for `musegen.io.midi_fast.read_tracks_fast` (numpy only):

- `program_timeline`: every program change of the file, by channel, in time
  order (a change in one track sets the program of that channel's notes in
  every track, as a synthesizer plays them: General MIDI has one program per
  channel, not per track);
- `instrument_parts`: the paired notes of one track split by (channel,
  program), each note's program the last change on its channel at or before
  its onset;
- `note_events`: one part's notes as events, onset and end of each note on
  the grid on their own, each note's own velocity.
"""

from __future__ import annotations

import numpy as np

from musegen.events import DEFAULT_VELOCITY, Event, trusted_event

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


def note_events(notes: Notes, tpq: int) -> list[Event]:
    """The notes of one instrument as events, silent gaps filled with rests.

    Each note's onset and end go to the nearest grid point (`grid_times`) on
    their own; a note that had length and would lose it lasts one step of its
    grid (a sixteenth, or a triplet eighth), a note of no length keeps none.
    Notes with the same onset, end and velocity are one event (a chord): a
    chord of mixed velocities or lengths is an event per velocity and
    length, all at its onset. One pitch struck twice at one onset (which a
    channel cannot sound twice) is one note, the longest and the loudest.
    """
    starts, stops, pitches, _, velocities = notes
    if not len(starts):
        return []
    onset, end = grid_times(starts, tpq), grid_times(stops, tpq)
    lost = (end <= onset) & (stops > starts)
    end = np.where(lost, onset + np.where(onset % 3 == 0, 3, 4), end)
    # one note per (onset, pitch): the longest, then the loudest, first in this order
    order = np.lexsort((-velocities, -end, pitches, onset))
    onset, end, pitches, velocities = onset[order], end[order], pitches[order], velocities[order]
    keep = np.concatenate(([True], (onset[1:] != onset[:-1]) | (pitches[1:] != pitches[:-1])))
    onset, end, pitches, velocities = onset[keep], end[keep], pitches[keep], velocities[keep]
    # one event per (onset, end, velocity), louder first, then longer
    order = np.lexsort((pitches, -end, -velocities, onset))
    onset, end, pitches, velocities = onset[order], end[order], pitches[order], velocities[order]
    firsts = np.flatnonzero(
        np.concatenate(
            ([True], (onset[1:] != onset[:-1]) | (end[1:] != end[:-1])
             | (velocities[1:] != velocities[:-1]))
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
    return events

"""How `musegen.io.writing.write_midi` lays a score's tracks out for a General MIDI player.

A private leaf module: General MIDI has one program per channel, 15 channels
for pitched instruments and channel 10 for drums, so a score of many tracks
needs a plan:

- `track_names`: the name each track is written with (an unnamed track its
  General MIDI instrument's, ``"Cello"``, ``"Violin 2"``);
- `channel_plan`: each track's channel and where its program change goes
  (a channel each; beyond 15, shared by program, then reused over time), and
  the programs that could not be kept apart (`merge_message` says which);
- `set_channels`: the bytes symusic wrote, their channels and program changes
  set to the plan (with mido).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

_PITCHED_CHANNELS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15)
"""The channels (0-based) for pitched instruments: all but 9, channel 10 of General MIDI drums."""

_DRUM_CHANNEL = 9

GM_NAMES = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone",
    "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ",
    "Reed Organ", "Accordion", "Harmonica", "Tango Accordion",
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)",
    "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar",
    "Distortion Guitar", "Guitar Harmonics",
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass",
    "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    "Violin", "Viola", "Cello", "Contrabass",
    "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani",
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2",
    "Choir Aahs", "Voice Oohs", "Synth Voice", "Orchestra Hit",
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet",
    "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2",
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax",
    "Oboe", "English Horn", "Bassoon", "Clarinet",
    "Piccolo", "Flute", "Recorder", "Pan Flute",
    "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)",
    "Lead 5 (charang)", "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)",
    "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)",
    "FX 5 (brightness)", "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    "Sitar", "Banjo", "Shamisen", "Koto",
    "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock",
    "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet",
    "Telephone Ring", "Helicopter", "Applause", "Gunshot",
)  # fmt: skip
"""The General MIDI (level 1) instrument of each program, 0..127: the name an unnamed track gets."""

PLACEHOLDER = re.compile(r"\s*|p\d{1,3}")
"""Track names that name no instrument: none, or ``p40`` (a program's name among tokens)."""


@dataclass(frozen=True)
class Player:
    """A track as channels are laid out for it: its name, program, kind and when it sounds."""

    name: str
    program: int
    is_drum: bool
    span: tuple[int, int] | None
    """Tick of the first note-on and the tick after the last sound; None: no notes."""


@dataclass(frozen=True)
class Unit:
    """Tracks (indices) that take one channel together, all of one program."""

    tracks: tuple[int, ...]
    program: int
    span: tuple[int, int] | None


Plan = list[tuple[int, int | None]]
"""Per track: its channel (0-based) and the tick of its program change (None: it writes none)."""


def track_names(tracks: list[tuple[str, int, bool]]) -> list[str]:
    """The name each (name, program, is_drum) track is written with.

    A name of `PLACEHOLDER` gives way to the General MIDI instrument's name
    ("Drums" for a kit); a name taken already gets " 2", " 3" after it. Other
    names are kept as they are.

    Examples:
        >>> track_names([("", 42, 0), ("p42", 42, 0), ("", 0, 1), ("Oud", 0, 0)])
        ['Cello', 'Cello 2', 'Drums', 'Oud']
    """
    derived = [PLACEHOLDER.fullmatch(name) is not None for name, _, _ in tracks]
    taken = {name for (name, _, _), own in zip(tracks, derived, strict=True) if not own}
    names = []
    for (name, program, is_drum), placeholder in zip(tracks, derived, strict=True):
        if placeholder:
            base = "Drums" if is_drum else GM_NAMES[program]
            name, number = base, 1
            while name in taken:
                number += 1
                name = f"{base} {number}"
            taken.add(name)
        names.append(name)
    return names


def span(notes: list[tuple[int, int, int, int]]) -> tuple[int, int] | None:
    """(first onset, tick after the last sound) of (tick, duration, pitch, velocity) notes.

    A note of no length counts as sounding for one tick, so that a program
    change after it comes after its note-on.
    """
    if not notes:
        return None
    return min(n[0] for n in notes), max(n[0] + max(n[1], 1) for n in notes)


def channel_plan(players: list[Player]) -> tuple[Plan, list[tuple[Unit, Unit]]]:
    """The channel of each track and when its program change comes, and the programs merged.

    Pitched tracks get a channel each while there are 15 or fewer (symusic's
    own choice, track by track, where it gives them distinct channels);
    beyond, the tracks of one program share one (`_schedule`). Drum tracks
    share channel 10 (index 9), a kit to a program.

    Examples:
        >>> piano, kit = Player("", 0, False, (0, 9)), Player("", 0, True, (0, 9))
        >>> channel_plan([piano, kit, piano])[0]
        [(0, 0), (9, 0), (2, 0)]
        >>> plan, merged = channel_plan([Player("", p, False, (0, 9)) for p in range(17)])
        >>> plan[-3:], [(m.tracks, host.tracks) for m, host in merged]
        ([(15, 0), (15, None), (15, None)], [((15,), (14,)), ((16,), (14,))])
    """
    plan: Plan = [(_DRUM_CHANNEL, 0)] * len(players)
    pitched = [i for i, p in enumerate(players) if not p.is_drum]
    drums = [i for i, p in enumerate(players) if p.is_drum]
    merged: list[tuple[Unit, Unit]] = []
    if len(pitched) <= len(_PITCHED_CHANNELS):
        channels = [_PITCHED_CHANNELS[i % len(_PITCHED_CHANNELS)] for i in pitched]
        if len(set(channels)) < len(channels):
            channels = list(_PITCHED_CHANNELS[: len(pitched)])
        for i, channel in zip(pitched, channels, strict=True):
            plan[i] = (channel, 0)
    else:
        merged += _schedule(_by_program(pitched, players), _PITCHED_CHANNELS, plan)
    merged += _schedule(_by_program(drums, players), (_DRUM_CHANNEL,), plan)
    return plan, merged


def _by_program(indices: list[int], players: list[Player]) -> list[Unit]:
    """The tracks at `indices` by program, in the order the programs first come."""
    groups: dict[int, list[int]] = {}
    for i in indices:
        groups.setdefault(players[i].program, []).append(i)
    units = []
    for program, members in groups.items():
        spans = [s for s in (players[i].span for i in members) if s is not None]
        span = (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None
        units.append(Unit(tuple(members), program, span))
    return units


def _schedule(units: list[Unit], channels: tuple[int, ...], plan: Plan) -> list[tuple[Unit, Unit]]:
    """Lay `units` out on `channels` in `plan`; the (unit, host) pairs that could not be kept apart.

    A unit to a channel while there are channels enough. Else in the order
    they start, each unit takes a channel never used (its program change at
    0) or one whose last unit has stopped by its first note (its program
    change at that note): the fewest channels intervals can be laid out on.
    A unit that finds none goes to the channel of the nearest program
    sounding (`_distance`), writing no program change: it plays as that one.
    Units with no notes take a channel left over, else one without a program
    change.
    """
    if len(units) <= len(channels):
        for unit, channel in zip(units, channels, strict=False):
            _place(plan, unit, channel, 0)
        return []
    busy: dict[int, tuple[int, Unit]] = {}  # channel: (tick it is free from, unit it plays)
    merged: list[tuple[Unit, Unit]] = []
    sounding = [u for u in units if u.span is not None]
    for unit in sorted(sounding, key=lambda u: (u.span or (0, 0))[0]):
        start, end = unit.span or (0, 0)
        free = [c for c in channels if c not in busy] or [
            c for c in channels if busy[c][0] <= start
        ]
        if free:
            _place(plan, unit, free[0], start if free[0] in busy else 0)
            busy[free[0]] = (end, unit)
            continue
        channel = min(channels, key=lambda c: (_distance(unit.program, busy[c][1].program), c))
        until, host = busy[channel]
        busy[channel] = (max(until, end), host)
        _place(plan, unit, channel, None)
        merged.append((unit, host))
    for unit in (u for u in units if u.span is None):
        unused = [c for c in channels if c not in busy]
        _place(plan, unit, unused[0] if unused else channels[0], 0 if unused else None)
        if unused:
            busy[unused[0]] = (0, unit)
    return merged


def _place(plan: Plan, unit: Unit, channel: int, change: int | None) -> None:
    for i in unit.tracks:
        plan[i] = (channel, change)


def _distance(program: int, other: int) -> tuple[bool, int]:
    """How far two programs sound apart: another General MIDI family first, then the numbers."""
    return program // 8 != other // 8, abs(program - other)


def merge_message(merged: list[tuple[Unit, Unit]], players: list[Player]) -> str:
    """The warning that names the tracks written on another program's channel, and that program."""

    def named(unit: Unit) -> str:
        kind = "drum kit" if players[unit.tracks[0]].is_drum else "program"
        names = ", ".join(repr(players[i].name) for i in unit.tracks)
        return f"{names} ({kind} {unit.program})"

    moves = "; ".join(f"{named(unit)} as {named(host)}" for unit, host in merged)
    return (
        "write_midi: more programs sound at once than MIDI has channels for (15 for pitched "
        "instruments, channel 10 for one drum kit at a time); these tracks are written on the "
        f"channel of another program and play as it (read_tracks reads them back so; readers "
        f"that take a track's own program changes, as pretty_midi, read program 0): {moves}"
    )


def set_channels(data: bytes, plan: Plan) -> bytes:
    """The MIDI file `data` with the channels and program changes of `plan`, a track each.

    symusic chooses channels itself (channel 10 for drums, else the next of the
    other 15 by the track's place, starting over after 15) and writes each
    track's program change at tick 0. The tracks of `plan` (the file's last
    ones) are rewritten with mido where that is not the plan: every channel
    message on the planned channel, and the program change at its tick (before
    the notes of that tick), or none. A file already as planned is returned as
    it is.

    Examples:
        >>> import mido, symusic
        >>> score = symusic.Score(480)
        >>> track = symusic.Track(program=5)
        >>> track.notes.append(symusic.Note(960, 480, 60, 90))
        >>> score.tracks.append(track)
        >>> moved = mido.MidiFile(file=io.BytesIO(set_channels(score.dumps_midi(), [(3, 960)])))
        >>> [(m.type, m.channel) for m in moved.tracks[-1] if not m.is_meta]
        [('program_change', 3), ('note_on', 3), ('note_off', 3)]
    """
    import mido

    data = bytes(data)
    midi = mido.MidiFile(file=io.BytesIO(data))
    tracks = midi.tracks[-len(plan) :] if plan else []
    changed = False
    for index, (track, (channel, change)) in enumerate(zip(tracks, plan, strict=True)):
        first = next((m for m in track if not m.is_meta and hasattr(m, "channel")), None)
        if (
            change == 0
            and first is not None
            and first.type == "program_change"
            and (first.channel == channel)
        ):
            continue  # symusic wrote it as planned
        midi.tracks[len(midi.tracks) - len(plan) + index] = _rechannel(track, channel, change)
        changed = True
    if not changed:
        return data
    out = io.BytesIO()
    midi.save(file=out)
    return out.getvalue()


def _rechannel(track: object, channel: int, change: int | None) -> object:
    """A mido track on `channel`, its program change at tick `change` (None: none)."""
    import mido

    timed, tick, program = [], 0, None
    for message in track:  # type: ignore[attr-defined]
        tick += message.time
        if message.type == "program_change":
            program = message.program if program is None else program
            continue
        if hasattr(message, "channel"):
            message = message.copy(channel=channel)
        timed.append((tick, message))
    if change is not None and program is not None:
        at = next(
            (i for i, (t, m) in enumerate(timed)
             if t > change or (t == change and not m.is_meta) or m.type == "end_of_track"),
            len(timed),
        )  # fmt: skip
        timed.insert(at, (change, mido.Message("program_change", channel=channel, program=program)))
    rebuilt, last = mido.MidiTrack(), 0
    for t, message in timed:
        rebuilt.append(message.copy(time=t - last))
        last = t
    return rebuilt

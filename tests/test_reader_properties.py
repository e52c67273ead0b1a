"""Every MIDI reader, on any bytes: music, or one `MidiReadError` naming the file (issue 35).

Hypothesis draws three kinds of file: (i) random bytes, bare or behind a MIDI
header; (ii) real MIDI files (music21 corpus chorales written with all their
parts, two of the recipe's files, a file `write_midi` wrote) with bytes
flipped, set, inserted, deleted or cut off; (iii) files mido writes with
extreme values (tempos of 0 and 16,777,215 microseconds, malformed tempo
events, time signatures up to 255/512, pitches 0 and 127, velocity 0,
zero-length and overlapping notes of one pitch, a resolution of 1 tick,
SMPTE time). Each file goes to every reader; what is read must tokenize,
decode, and be written back by `write_midi` into a file the fast reader
reads. Run with ``--hypothesis-show-statistics`` to see the outcomes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _midi_bytes import time_limit
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from musegen.events import Piece
from musegen.io.midi_fast import read_midi_fast, read_tracks_fast
from musegen.io.reading import MidiReadError, read_midi, read_tracks
from musegen.io.tracks import Score
from musegen.io.writing import write_midi
from musegen.tokens.tokenizer import Tokenizer

mido = pytest.importorskip("mido")

READERS: dict[str, Callable[[Path], Piece | Score]] = {
    "read_midi": read_midi,
    "read_midi_fast": read_midi_fast,
    "read_midi(sustain=True)": lambda p: read_midi(p, sustain=True),
    "read_tracks": read_tracks,
    "read_tracks_fast": read_tracks_fast,
    "read_tracks(sustain=True)": lambda p: read_tracks(p, sustain=True),
    "read_midi(engine='music21')": lambda p: read_midi(p, engine="music21"),
    "read_midi(parts='first')": lambda p: read_midi(p, parts="first"),
    "read_midi(grouping='stream')": lambda p: read_midi(p, grouping="stream"),
}
FAST_READERS = ("read_midi", "read_midi_fast", "read_tracks", "read_tracks_fast")
TOKENIZER = Tokenizer.seed()
LIMIT_S = 20  # per file, all readers together


def check_piece(piece: Piece, back: Path) -> None:
    assert all(e.offset >= 0 and e.duration >= 0 for e in piece.events)
    assert all(0 <= p <= 127 for e in piece.events for p in e.pitches)
    assert all(0 <= e.velocity <= 127 for e in piece.events)
    TOKENIZER.decode(TOKENIZER.encode(piece))
    write_midi(piece, back)
    read_midi_fast(back)


def read_everywhere(data: bytes, folder: Path, *, record: bool = True) -> dict[str, str]:
    """Each reader's outcome on `data`: "music" or the error's reason; checks the properties."""
    path = folder / "drawn.mid"
    path.write_bytes(data)
    back = folder / "back.mid"
    outcomes: dict[str, str] = {}
    with time_limit(LIMIT_S):
        for name, read in READERS.items():
            try:
                result = read(path)
            except MidiReadError as err:
                assert err.path == str(path) and str(path) in str(err), err
                assert "\n" not in str(err)
                outcomes[name] = err.reason
                continue
            if isinstance(result, Score):
                for track in result.tracks:
                    check_piece(track.piece, back)
                write_midi(result, back)
                assert read_tracks_fast(back).tracks or not result.tracks
            else:
                check_piece(result, back)
            outcomes[name] = "music"
    fast = {outcomes[name] == "music" for name in FAST_READERS}
    assert len(fast) == 1, outcomes  # the fast readers read or refuse a file together
    if outcomes["read_midi"] != "music":  # what they refuse, music21's path refuses too
        assert all(reason != "music" for reason in outcomes.values()), outcomes
    if record:  # hypothesis's statistics
        event("music" if "music" in outcomes.values() else "one MidiReadError per reader")
        if outcomes["read_midi"] != "music":
            event("refused: " + _shape(outcomes["read_midi"]))
        music21 = outcomes["read_midi(engine='music21')"]
        if outcomes["read_midi"] == "music" != music21:
            event("music21's path refuses what the fast reader reads: " + _shape(music21))
    return outcomes


def _shape(reason: str) -> str:
    """A reason with its numbers left out, for hypothesis's statistics."""
    return re.sub(r"\d+", "N", reason)[:70]


PROPERTY = settings(
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# -- (i) random bytes --------------------------------------------------------------------------


def header(fmt: int, tracks: int, division: int) -> bytes:
    return b"MThd\x00\x00\x00\x06" + b"".join(n.to_bytes(2, "big") for n in (fmt, tracks, division))


DIVISIONS = st.one_of(
    st.sampled_from([480, 96, 1, 0x7FFF, 0, ((256 - 25) << 8) | 40, ((256 - 30) << 8) | 80]),
    st.integers(0, 0xFFFF),
)
RANDOM_FILES = st.one_of(
    st.binary(max_size=64),
    st.binary(max_size=64).map(lambda rest: b"MThd" + rest),
    st.builds(
        lambda fmt, division, body: (
            header(fmt, 1, division) + b"MTrk" + len(body).to_bytes(4, "big") + body
        ),
        st.sampled_from([0, 1, 2]),
        DIVISIONS,
        st.binary(max_size=256),
    ),
)


@settings(PROPERTY, max_examples=400)
@given(data=RANDOM_FILES)
def test_random_bytes_give_music_or_one_error_naming_the_file(data, tmp_path):
    read_everywhere(data, tmp_path)


# -- (ii) real files, mutated -----------------------------------------------------------------


@pytest.fixture(scope="session")
def real_files(tmp_path_factory, skuli_midi) -> list[bytes]:
    """Real MIDI: chorales music21 writes with all parts, two of the recipe's files, and
    the first chorale as `write_midi` writes what `read_tracks` read."""
    from music21 import corpus

    folder = tmp_path_factory.mktemp("real")
    found = []
    for name in ("bach/bwv66.6", "bach/bwv4.8"):
        path = folder / (name.replace("/", "_") + ".mid")
        corpus.parse(name).write("midi", fp=path)
        found.append(path)
    found += [skuli_midi / "lurk_in_dark.mid", skuli_midi / "Oppressed.mid"]
    found.append(write_midi(read_tracks(found[0]), folder / "written.mid"))
    for path in found:  # unmutated, each reads as music everywhere
        assert set(read_everywhere(path.read_bytes(), folder, record=False).values()) == {
            "music"
        }, path
    return [path.read_bytes() for path in found]


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "flip", "set", "insert", "delete", "truncate"]),
        st.integers(0, 2**32),  # where, modulo the length
        st.integers(1, 255),  # the xor mask, the byte set or inserted, how many deleted
    ),
    min_size=1,
    max_size=4,
)


def mutated(data: bytes, changes: list[tuple[str, int, int]], in_tracks: bool) -> bytes:
    """`data` changed; `in_tracks`: each track's events, the chunk lengths made to fit."""
    if not in_tracks:
        return _changed(data, changes)
    out, position = bytearray(data[:14]), 14
    while position + 8 <= len(data):
        length = int.from_bytes(data[position + 4 : position + 8], "big")
        body = _changed(data[position + 8 : position + 8 + length], changes)
        out += data[position : position + 4] + len(body).to_bytes(4, "big") + body
        position += 8 + length
    return bytes(out)


def _changed(data: bytes, changes: list[tuple[str, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, value in changes:
        at = where % (len(out) + (kind == "insert")) if out or kind == "insert" else 0
        if kind == "flip" and out:
            out[at] ^= value
        elif kind == "set" and out:
            out[at] = value
        elif kind == "insert":
            out[at:at] = bytes([value])
        elif kind == "delete":
            del out[at : at + 1 + value % 4]
        elif kind == "truncate":
            del out[at:]
    return bytes(out)


@settings(PROPERTY, max_examples=100)
@given(which=st.integers(0, 4), changes=MUTATIONS, in_tracks=st.booleans())
def test_mutated_real_files_give_music_or_one_error_naming_the_file(
    real_files, which, changes, in_tracks, tmp_path
):
    read_everywhere(mutated(real_files[which], changes, in_tracks), tmp_path)


# -- (iii) extreme values, written by mido ---------------------------------------------------

CHANNELS = st.sampled_from([0, 1, 9, 15])
PITCHES = st.one_of(st.sampled_from([0, 127, 60]), st.integers(0, 127))
VELOCITIES = st.sampled_from([0, 1, 64, 127])


def messages(tpq: int) -> st.SearchStrategy[list[tuple[int, Any]]]:
    """(tick, message) runs: notes (zero-length, overlapping), tempos, metres, keys, controls."""
    ticks = st.one_of(st.sampled_from([0, 1, tpq, 4 * tpq]), st.integers(0, 8 * tpq))
    note = st.builds(
        lambda at, length, pitch, velocity, channel: [
            (at, mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)),
            (at + length, mido.Message("note_off", note=pitch, channel=channel)),
        ],
        ticks,
        st.sampled_from([0, 0, 1, tpq]),
        PITCHES,
        VELOCITIES,
        CHANNELS,
    )
    overlapping = st.builds(  # one key struck twice, released twice (or once)
        lambda at, pitch, channel, offs: [
            (at, mido.Message("note_on", note=pitch, velocity=80, channel=channel)),
            (at + 1, mido.Message("note_on", note=pitch, velocity=90, channel=channel)),
            *[
                (at + tpq * (i + 1), mido.Message("note_off", note=pitch, channel=channel))
                for i in range(offs)
            ],
        ],
        ticks,
        PITCHES,
        CHANNELS,
        st.integers(0, 2),
    )
    meta = st.one_of(
        st.builds(
            lambda at, tempo: [(at, mido.MetaMessage("set_tempo", tempo=tempo))],
            ticks,
            st.one_of(st.sampled_from([0, 1, 500_000, 2**24 - 1]), st.integers(0, 2**24 - 1)),
        ),
        st.builds(  # a tempo event of the wrong length
            lambda at, data: [(at, mido.UnknownMetaMessage(type_byte=0x51, data=data))],
            ticks,
            st.lists(st.integers(0, 255), max_size=5).filter(lambda d: len(d) != 3).map(tuple),
        ),
        st.builds(
            lambda at, numerator, power: [
                (at, mido.MetaMessage("time_signature", numerator=numerator, denominator=2**power))
            ],
            ticks,
            st.sampled_from([0, 1, 3, 4, 5, 7, 255]),
            st.integers(0, 9),
        ),
        st.builds(
            lambda at, key: [(at, mido.MetaMessage("key_signature", key=key))],
            ticks,
            st.sampled_from(["C", "Cb", "C#", "A#m", "Abm", "F"]),
        ),
        st.builds(
            lambda at, channel, number, value: [
                (at, mido.Message("control_change", channel=channel, control=number, value=value))
            ],
            ticks,
            CHANNELS,
            st.sampled_from([7, 64, 121]),
            st.sampled_from([0, 63, 64, 127]),
        ),
        st.builds(
            lambda at, channel, program: [
                (at, mido.Message("program_change", channel=channel, program=program))
            ],
            ticks,
            CHANNELS,
            st.sampled_from([0, 33, 127]),
        ),
        st.builds(
            lambda at, pitch: [(at, mido.Message("pitchwheel", pitch=pitch))],
            ticks,
            st.sampled_from([-8192, 0, 8191]),
        ),
        st.builds(
            lambda at, name: [(at, mido.MetaMessage("track_name", name=name))],
            ticks,
            st.sampled_from(["", "Piano", "\xe9t\xe9"]),
        ),
    )
    return st.lists(st.one_of(note, overlapping, meta), max_size=12).map(
        lambda runs: sorted((m for run in runs for m in run), key=lambda m: m[0])
    )


@st.composite
def extreme_files(draw) -> tuple[bytes, list[tuple[int, int]]]:
    """A file's bytes and its time signatures (numerator, denominator)."""
    tpq = draw(st.sampled_from([1, 3, 96, 480, 0x7FFF]))
    tracks = draw(st.lists(messages(tpq), min_size=1, max_size=3))
    file = mido.MidiFile(type=1 if len(tracks) > 1 else draw(st.sampled_from([0, 1])))
    file.ticks_per_beat = tpq
    for events in tracks:
        track, last = mido.MidiTrack(), 0
        for tick, message in events:
            track.append(message.copy(time=tick - last))
            last = tick
        file.tracks.append(track)
    out = io.BytesIO()
    file.save(file=out)
    data = out.getvalue()
    metres = [
        (message.numerator, message.denominator)
        for events in tracks
        for _, message in events
        if message.type == "time_signature"
    ]
    if draw(st.sampled_from(range(10))) == 9:  # SMPTE: 24, 25, 29.97 or 30 frames, some ticks each
        fps = draw(st.sampled_from([24, 25, 29, 30]))
        data = data[:12] + bytes([256 - fps, draw(st.sampled_from([4, 40, 80]))]) + data[14:]
    return data, metres


@settings(PROPERTY, max_examples=120)
@given(drawn=extreme_files())
def test_extreme_midi_gives_music_or_one_error_naming_the_file(drawn, tmp_path):
    data, metres = drawn
    outcomes = read_everywhere(data, tmp_path)
    if data[12] & 0x80:
        assert outcomes["read_midi"].startswith("SMPTE time ("), outcomes
    elif all(numerator and denominator <= 128 for numerator, denominator in metres):
        # only metres MIDI can hold: read, whatever the tempos (0, malformed) and notes
        assert outcomes["read_midi"] == "music", outcomes

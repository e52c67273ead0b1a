"""`write_midi` with more tracks than MIDI has channels: each track read back under its program.

The scores are real music (a Bach chorale and a Haydn quartet movement from
music21's corpus, their parts copied, transposed and moved in time); the
files are checked by `read_tracks` and by mido, a reader independent of
symusic, which writes the bytes.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

from musegen.events import Event, Piece
from musegen.io.reading import read_tracks, score_from_stream
from musegen.io.tracks import Score, Track
from musegen.io.writing import write_midi

mido = pytest.importorskip("mido")
corpus = pytest.importorskip("music21.corpus")

Note = tuple[float, int, float]
"""(onset, pitch, duration) of one note."""


@pytest.fixture(scope="module")
def lines() -> list[Piece]:
    """The four voices of Bach's BWV 66.6, then the first 48 quarter notes of Haydn's four parts."""
    bach = score_from_stream(corpus.parse("bach/bwv66.6"))
    haydn = score_from_stream(corpus.parse("haydn/opus74no1/movement3"))
    return [t.piece for t in bach.tracks] + [_window(t.piece, 0.0, 48.0) for t in haydn.tracks]


def _window(piece: Piece, start: float, stop: float) -> Piece:
    """The notes of `piece` that start in [start, stop), from `start`."""
    return Piece(
        tuple(
            Event(e.offset - start, e.duration, e.pitches, e.velocity)
            for e in piece.notes
            if start <= e.offset < stop
        )
    )


def _moved(piece: Piece, by: float = 0.0, transpose: int = 0) -> Piece:
    """`piece` later by `by` quarter notes and `transpose` semitones higher."""
    return Piece(
        tuple(
            Event(e.offset + by, e.duration, tuple(p + transpose for p in e.pitches), e.velocity)
            for e in piece.notes
        )
    )


def _kit(piece: Piece, key: int, by: float = 0.0) -> Piece:
    """A drum part on the rhythm of `piece`: drum `key` at each of its onsets."""
    return Piece(tuple(Event(e.offset + by, 0.25, (key,), 100) for e in piece.notes))


def _notes(piece: Piece) -> list[Note]:
    return sorted(
        (round(e.offset, 6), p, round(e.duration, 6)) for e in piece.notes for p in e.pitches
    )


def _write(score: Score, path: Path) -> tuple[Score, list[warnings.WarningMessage]]:
    """`score` written to `path` and read back, and the warnings writing gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_midi(score, path)
    return read_tracks(path), [w for w in caught if issubclass(w.category, UserWarning)]


def _mido_tracks(path: Path) -> list[dict[str, object]]:
    """Per MIDI track (by mido): its name, its note channels, its program changes (tick, ...)."""
    found = []
    for track in mido.MidiFile(path).tracks:
        tick, changes, channels, onsets = 0, [], set(), []
        for message in track:
            tick += message.time
            if message.type == "program_change":
                changes.append((tick, message.channel, message.program))
            elif message.type == "note_on" and message.velocity > 0:
                channels.add(message.channel)
                onsets.append((tick, message.channel))
        found.append(
            {"name": track.name, "channels": channels, "changes": changes, "onsets": onsets}
        )
    return found


def _heard_programs(found: list[dict[str, object]]) -> list[set[int]]:
    """Per track: the programs a General MIDI player plays its notes with (mido's reading).

    A note sounds with the last program change on its channel at or before
    it, in any track.
    """
    timeline: dict[int, list[tuple[int, int]]] = {}
    for track in found:
        for tick, channel, program in track["changes"]:  # type: ignore[attr-defined]
            timeline.setdefault(channel, []).append((tick, program))
    for changes in timeline.values():
        changes.sort(key=lambda change: change[0])
    heard = []
    for track in found:
        programs = set()
        for tick, channel in track["onsets"]:  # type: ignore[attr-defined]
            before = [p for t, p in timeline.get(channel, []) if t <= tick]
            programs.add(before[-1] if before else 0)
        heard.append(programs)
    return heard


def _twenty(lines: list[Piece]) -> Score:
    """20 tracks: 18 pitched programs, 2 kits; Bach's nine tracks end before Haydn's nine start."""
    bach, haydn = lines[:4], lines[4:]
    later = 40.0  # Bach's chorale lasts 36 quarter notes
    pitched = [_moved(bach[i % 4], 0.0, 12 * (i // 4)) for i in range(9)]
    pitched += [_moved(haydn[i % 4], later, -12 * (i // 4)) for i in range(9)]
    programs = [52, 53, 54, 32, 0, 1, 4, 6, 73, 40, 41, 42, 43, 48, 60, 70, 71, 24]
    tracks = [
        Track(piece, program, name="" if i % 3 else f"line {i}")
        for i, (piece, program) in enumerate(zip(pitched, programs, strict=True))
    ]
    tracks.insert(5, Track(_kit(bach[3], 36), 0, name="kit", is_drum=True))
    tracks.append(Track(_kit(haydn[3], 42, later), 25, name="", is_drum=True))
    return Score(tuple(tracks), tempo=96.0)


def _assert_read_back(score: Score, back: Score, merged: frozenset[int] = frozenset()) -> None:
    """Each track of `score` read back in order with its notes, kind and program (but `merged`)."""
    assert len(back.tracks) == len(score.tracks)
    for i, (written, read) in enumerate(zip(score.tracks, back.tracks, strict=True)):
        assert _notes(read.piece) == _notes(written.piece), (i, written.name)
        assert read.is_drum == written.is_drum
        if i not in merged:
            assert read.program == written.program, (i, written.name)


def test_twenty_tracks_reuse_channels_over_time(lines: list[Piece], tmp_path: Path) -> None:
    score = _twenty(lines)
    back, caught = _write(score, tmp_path / "twenty.mid")
    assert caught == []
    _assert_read_back(score, back)
    found = _mido_tracks(tmp_path / "twenty.mid")
    assert [set(track["channels"]) for track in (found[5], found[-1])] == [{9}, {9}]
    pitched = [t for t, written in zip(found, score.tracks, strict=True) if not written.is_drum]
    assert all(len(t["channels"]) == 1 and 9 not in t["channels"] for t in pitched)
    assert len({c for t in pitched for c in t["channels"]}) == 15  # every pitched channel
    heard = _heard_programs(found)
    assert heard == [{t.program} for t in score.tracks]
    # a channel used again: its new program just before the later track's first note
    reused = [t for t in found if t["changes"] and t["changes"][0][0] > 0]
    assert len(reused) == 4  # three pitched programs and the second kit
    for track in reused:
        ((tick, channel, _),) = track["changes"]
        assert tick == min(at for at, _ in track["onsets"])
        earlier = [t for t in found if channel in t["channels"] and t is not track]
        assert all(at < tick for t in earlier for at, _ in t["onsets"])


def test_twenty_tracks_read_by_pretty_midi_keep_their_programs_and_notes(
    lines: list[Piece], tmp_path: Path
) -> None:
    """pretty_midi, a reader of its own, finds each track's program, kit and every note."""
    pretty_midi = pytest.importorskip("pretty_midi")
    score = _twenty(lines)
    write_midi(score, tmp_path / "twenty.mid")
    read = pretty_midi.PrettyMIDI(str(tmp_path / "twenty.mid")).instruments
    assert sorted((i.program, i.is_drum, len(i.notes)) for i in read) == sorted(
        (t.program, t.is_drum, sum(len(e.pitches) for e in t.piece.notes)) for t in score.tracks
    )
    onsets = {(i.program, i.is_drum): sorted(n.pitch for n in i.notes) for i in read}
    for track in score.tracks:
        pitches = sorted(p for e in track.piece.notes for p in e.pitches)
        assert onsets[(track.program, track.is_drum)] == pitches


def test_twenty_tracks_names(lines: list[Piece], tmp_path: Path) -> None:
    score = _twenty(lines)
    _write(score, tmp_path / "twenty.mid")
    names = [t["name"] for t in _mido_tracks(tmp_path / "twenty.mid")]
    assert names[:6] == [
        "line 0",
        "Voice Oohs",
        "Synth Voice",
        "line 3",
        "Acoustic Grand Piano",
        "kit",
    ]
    assert names[-1] == "Drums"
    assert [t.name for t in read_tracks(tmp_path / "twenty.mid").tracks] == names


def test_seventeen_tracks_share_channels_by_program(lines: list[Piece], tmp_path: Path) -> None:
    programs = [40, 40, 41, 42, 52, 52, 53, 53, 0, 40, 41, 42, 0, 73, 73, 71, 42]
    tracks = tuple(
        Track(_moved(lines[i % 8], 0.0, 12 * (i // 8)), program)
        for i, program in enumerate(programs)
    )
    score = Score(tracks)
    back, caught = _write(score, tmp_path / "seventeen.mid")
    assert caught == []
    _assert_read_back(score, back)
    found = _mido_tracks(tmp_path / "seventeen.mid")
    channel_of = {}
    for track, program in zip(found, programs, strict=True):
        (channel,) = track["channels"]
        assert channel != 9
        assert channel_of.setdefault(program, channel) == channel  # one channel a program
        assert track["changes"] == [(0, channel, program)]
    assert len(set(channel_of.values())) == len(set(programs))  # a program a channel
    assert _heard_programs(found) == [{p} for p in programs]
    # tracks of a program keep apart, named after their instrument
    assert [t.name for t in back.tracks][:4] == ["Violin", "Violin 2", "Viola", "Cello"]


def test_sixteen_tracks_drums_among_them_keep_their_programs(
    lines: list[Piece], tmp_path: Path
) -> None:
    """15 pitched tracks and a kit in the middle: symusic alone put the 16th on channel 1."""
    programs = [60, 48, 55, 48, 47, 48, 50, 61, 44, 44, 44, 48, 48, 48, 48]
    tracks = [Track(_moved(lines[i % 8], 0.0, i // 8), p) for i, p in enumerate(programs)]
    tracks.insert(8, Track(_kit(lines[3], 38), is_drum=True))
    score = Score(tuple(tracks))
    back, caught = _write(score, tmp_path / "sixteen.mid")
    assert caught == []
    _assert_read_back(score, back)
    found = _mido_tracks(tmp_path / "sixteen.mid")
    channels = [next(iter(t["channels"])) for t in found]
    assert channels[8] == 9 and len(set(channels)) == 16
    assert _heard_programs(found) == [{t.program} for t in score.tracks]


def test_two_kits_read_back_apart(lines: list[Piece], tmp_path: Path) -> None:
    kits = (
        Track(_kit(lines[3], 36), name="kick", is_drum=True),
        Track(_kit(lines[0], 42), name="", is_drum=True),
        Track(lines[0], 73, name="p73"),
    )
    score = Score(kits)
    back, caught = _write(score, tmp_path / "kits.mid")
    assert caught == []
    _assert_read_back(score, back)
    assert [(t.name, t.is_drum) for t in back.tracks] == [
        ("kick", True), ("Drums", True), ("Flute", False)
    ]  # fmt: skip


def test_too_many_programs_at_once_warns_once(lines: list[Piece], tmp_path: Path) -> None:
    """18 pitched programs and two kits all at once: the programs merged, one warning names them."""
    score = _twenty(lines)
    haydn = [t.piece.notes[0].offset >= 40.0 for t in score.tracks]
    at_once = Score(
        tuple(
            Track(_window(t.piece, 40.0, 88.0) if late else t.piece, t.program, t.name, t.is_drum)
            for t, late in zip(score.tracks, haydn, strict=True)
        )
    )
    back, caught = _write(at_once, tmp_path / "crowded.mid")
    assert len(caught) == 1
    message = str(caught[0].message)
    moves = re.findall(r"'([^']+)' \((?:program|drum kit) (\d+)\) as '([^']+)' \(", message)
    found = _mido_tracks(tmp_path / "crowded.mid")
    heard = _heard_programs(found)
    changed = {
        i for i, (t, programs) in enumerate(zip(at_once.tracks, heard, strict=True))
        if programs != {t.program}
    }  # fmt: skip
    assert len(changed) == 4  # 18 - 15 pitched programs, and one of the two kits
    names = [t["name"] for t in found]
    assert sorted((names[i], str(at_once.tracks[i].program)) for i in changed) == sorted(
        (name, program) for name, program, _ in moves
    )
    for name, _, host in moves:  # each plays, and reads back, as the track it names
        i, j = names.index(name), names.index(host)
        assert back.tracks[i].program == back.tracks[j].program == at_once.tracks[j].program
        assert heard[i] == {at_once.tracks[j].program}
    _assert_read_back(at_once, back, merged=frozenset(changed))
    assert all(back.tracks[i].program == t.program
               for i, t in enumerate(at_once.tracks) if i not in changed)  # fmt: skip


def test_a_piece_and_a_small_score_write_as_before(tmp_path: Path) -> None:
    """A score that fits keeps symusic's own channels: a track each, drums on channel 10."""
    line = Piece((Event(0, 1, (48,)), Event(1, 1, (50,))))
    band = Score((Track(line, 33), Track(line, is_drum=True), Track(line, 0, name="keys")))
    write_midi(band, tmp_path / "band.mid")
    found = _mido_tracks(tmp_path / "band.mid")
    assert [t["changes"] for t in found] == [[(0, 0, 33)], [(0, 9, 0)], [(0, 2, 0)]]
    assert [t["name"] for t in found] == ["Electric Bass (finger)", "Drums", "keys"]
    write_midi(line, tmp_path / "piece.mid", program=42)
    assert _mido_tracks(tmp_path / "piece.mid")[0]["changes"] == [(0, 0, 42)]

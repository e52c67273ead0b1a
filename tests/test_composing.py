"""Composing: the music's clock, chords per step, lengths in music, tempo and metre in the file."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from _steering import steer_like_a_beam

from musegen.events import Event, Piece
from musegen.generation._clock import Clock
from musegen.generation.decoding import generate
from musegen.generation.processors import (
    ChordProgression,
    GrammarConstraint,
    deserialize,
    serialize,
)
from musegen.tokens.encodings import encodings
from musegen.tokens.token_table import TokenTable
from musegen.tokens.track_tokenizer import TrackTokenizer
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.model import build_lstm

ENCODINGS = [*encodings(), "band"]


def _tokenizer(encoding: str):
    return TrackTokenizer() if encoding == "band" else encodings()[encoding]


def _piece() -> Piece:
    """Chords of several lengths, a rest, and a held bass under moving voices."""
    events = [Event(0, 2, (48,)), Event(0, 1, (60, 64, 67)), Event(1, 0.5, (62, 65)),
              Event(1.5, 0.5, (64, 67)), Event(2.5, 1, (55, 59, 62)), Event(3.5, 1.5, (57, 60)),
              Event(5, 0.25, (59,)), Event(5.25, 0.75, (60, 64))]  # fmt: skip
    return Piece(tuple(events * 1))


def _decoded(tokenizer, tokens: list[str]) -> list[Event]:
    """Every event the tokens decode to, in onset order (a band's tracks merged)."""
    if hasattr(tokenizer, "decode_score"):
        return sorted(
            (e for t in tokenizer.decode_score(tokens).tracks for e in t.piece.events),
            key=lambda e: e.offset,
        )
    return list(tokenizer.decode(tokens).events)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_the_clock_gives_the_onset_the_decoder_gives_the_next_event(encoding: str) -> None:
    tokenizer = _tokenizer(encoding)
    piece = _piece()
    vocab = tokenizer.build_vocabulary([piece])
    table = TokenTable.build(tokenizer, vocab)
    clock = Clock(table)
    rng = np.random.default_rng(0)
    real = vocab.encode(tokenizer.encode(piece))
    probe = ["C#7"]  # a pitch of no other event, then a whole event's closing tokens
    if table.note_level:
        probe += [tokenizer.durations.names[-1], *(["v81"] if tokenizer.velocities else [])]
        probe = (["@p0"] if encoding == "band" else []) + probe
    for ids in (real, rng.integers(0, len(vocab), 60).tolist()):  # real music, and noise
        time = clock.empty(1)
        for k in range(len(ids) + 1):
            if k:
                time = clock.advance(time, np.array(ids[k - 1 : k]))
            tokens = vocab.decode(ids[:k])
            if table.note_level:
                onset = [e.offset for e in _decoded(tokenizer, tokens + probe) if 97 in e.pitches]
            else:  # each event token lasts its duration
                onset = [sum(e.duration for e in tokenizer.decode(tokens).events)]
            assert onset[-1] == pytest.approx(time.time[0], abs=1e-9), (encoding, tokens[-5:])


def test_chord_progression_reads_symbols_lengths_and_bars() -> None:
    chords = ChordProgression("Am F:2 C/E G7", time_signature="3/4")
    assert chords.lengths == (3.0, 2.0, 3.0, 3.0)
    assert chords.pitch_classes[0] == (0, 4, 9) and chords.pitch_classes[3] == (2, 5, 7, 11)
    assert ChordProgression("C/E G", lowest="bass").targets == (4, 7)
    assert ChordProgression("C/E G", lowest="root").targets == (0, 7)
    assert chords.chord_at(np.array([0, 2.9, 3, 5, 8, 10.9, 11, 14])).tolist() == [
        0, 0, 1, 2, 3, 3, 0, 1,
    ]  # fmt: skip
    assert deserialize(serialize(chords)) == chords
    for bad, message in [
        ("Am Hx", "cannot read chord symbol 'Hx'"),
        ("Am:0", "must be > 0"),
        ("", "no chords"),
    ]:
        with pytest.raises(ValueError, match=message):
            ChordProgression(bad)
    with pytest.raises(ValueError, match="bad time signature"):
        ChordProgression("C", time_signature="x/4")
    with pytest.raises(ValueError, match="cannot steer a band"):
        ChordProgression("C", lowest="root").bind(
            TokenTable.build(TrackTokenizer(), Vocabulary(["@p0", "C4", "4th"]))
        )


@pytest.mark.parametrize("high_first", [False, True])
def test_the_chord_state_kept_step_by_step_equals_reading_every_id(high_first: bool) -> None:
    from musegen.generation import processors
    from musegen.tokens.note_tokenizer import NoteTokenizer

    vocab = Vocabulary(
        ["C3", "E3", "A3", "C4", "E4", "F4", "G4", "B4", "4th", "8th", "+8th", "rest"]
    )
    table = TokenTable.build(NoteTokenizer(holds=True, high_first=high_first), vocab)
    rng = np.random.default_rng(2)
    chain = processors.prepare(
        [ChordProgression("C:1.5 Am:1 F:0.5 G", lowest="root"), GrammarConstraint(),
         ChordProgression("Am F", per=1.0, strength=2.0)],
        table, len(vocab),
    )  # fmt: skip
    ids = np.array([vocab.encode(["C3", "E4", "8th"])] * 4)
    ids = steer_like_a_beam(chain, ids, 80, len(vocab), rng)
    events = _decoded(NoteTokenizer(holds=True), vocab.decode(ids[0]))[1:]
    chords = ChordProgression("C:1.5 Am:1 F:0.5 G")
    for event in [e for e in events if e.pitches]:  # the time 0 is the prime's end: 0.5
        chord = int(chords.chord_at(event.offset - 0.5))
        assert {p % 12 for p in event.pitches} <= set(chords.pitch_classes[chord])
        assert min(event.pitches) % 12 == chords.targets[chord]


PROGRESSION = "C:1.5 Am:1.5 F:2 G:3"  # changes at 1.5 and 3: in the middle of quarter notes


def _events_after_prime(tokenizer, vocab, prime, row) -> tuple[list[Event], float]:
    """The generated events, and where the prime's music ends (the chords' time 0)."""
    table = TokenTable.build(tokenizer, vocab)
    zero = Clock(table).run(np.array([prime])).time[0]
    ids = [i for i in row if i != Vocabulary.pad_id]
    events = _decoded(tokenizer, vocab.decode([*prime, *ids]))
    return events[len(_decoded(tokenizer, vocab.decode(prime))) :], zero


def test_hard_chords_never_play_a_pitch_class_off_the_chord_at_the_onset(chorale_model) -> None:
    model, tokenizer, vocab, prime = chorale_model
    table = TokenTable.build(tokenizer, vocab)
    prime = prime[: np.flatnonzero(table.closes(np.array([prime]))[0])[-1] + 1]  # whole events
    chords = ChordProgression(PROGRESSION)
    ids = generate(
        model, prime, 300, "categorical", processors=[chords, GrammarConstraint()], table=table,
        seed=0, batch_size=4,
    )  # fmt: skip
    straddling, used = 0, set()
    for row in ids:
        events, zero = _events_after_prime(tokenizer, vocab, prime, row)
        assert len(events) > 20
        for event in events:
            at = event.offset - zero
            chord = int(chords.chord_at(at))
            assert {p % 12 for p in event.pitches} <= set(chords.pitch_classes[chord]), event
            used.add(chord)
            straddling += int(chords.chord_at(at + event.duration - 1e-6)) != chord
    assert used == {0, 1, 2, 3} and straddling > 0  # every chord, and events across a change
    free = generate(model, prime, 300, "categorical", table=table, seed=0, batch_size=4)
    off = sum(
        not {p % 12 for p in e.pitches}
        <= set(chords.pitch_classes[int(chords.chord_at(e.offset - z))])
        for row in free
        for events, z in [_events_after_prime(tokenizer, vocab, prime, row)]
        for e in events
    )
    assert off > 0  # without the processor the model does play off the chords


def test_the_lowest_voice_is_the_root_and_soft_chords_raise_the_chord_tone_share(
    chorale_model,
) -> None:
    model, tokenizer, vocab, prime = chorale_model
    table = TokenTable.build(tokenizer, vocab)
    prime = prime[: np.flatnonzero(table.closes(np.array([prime]))[0])[-1] + 1]
    chords = ChordProgression("C/E Am F G", per=2, lowest="bass")
    ids = generate(
        model, prime, 200, "categorical", processors=[chords, GrammarConstraint()], table=table,
        seed=1, batch_size=3,
    )  # fmt: skip
    for row in ids:
        events, zero = _events_after_prime(tokenizer, vocab, prime, row)
        for event in [e for e in events if e.pitches]:
            assert (
                min(event.pitches) % 12 == chords.targets[int(chords.chord_at(event.offset - zero))]
            )
    shares = []
    for strength in (None, 1.0, 4.0):
        processors = [] if strength is None else [ChordProgression(PROGRESSION, strength=strength)]
        rows = generate(model, prime, 300, "categorical", processors=processors, table=table,
                        seed=2, batch_size=4)  # fmt: skip
        chords = ChordProgression(PROGRESSION)
        tones = total = 0
        for row in rows:
            events, zero = _events_after_prime(tokenizer, vocab, prime, row)
            for e in events:
                allowed = chords.pitch_classes[int(chords.chord_at(e.offset - zero))]
                tones += sum(p % 12 in allowed for p in e.pitches)
                total += len(e.pitches)
        shares.append(tones / total)
    assert shares[0] < shares[1] < shares[2] < 1.0, shares


def _untrained(encoding: str):
    tokenizer = _tokenizer(encoding)
    piece = _piece()
    vocab = tokenizer.build_vocabulary([piece, piece.transpose(2)])
    keras.utils.set_random_seed(0)
    model = build_lstm(len(vocab), units=(8,), embedding_dim=4, return_sequences=True)
    return model, tokenizer, vocab


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_quarters_stop_each_stream_on_a_whole_event_at_the_length(encoding: str) -> None:
    model, tokenizer, vocab = _untrained(encoding)
    table = TokenTable.build(tokenizer, vocab)
    prime = [2]
    kwargs = {"processors": [GrammarConstraint()], "table": table, "seed": 0, "batch_size": 3}
    ids = generate(model, prime, None, "categorical", quarters=12.0, **kwargs)
    longer = generate(model, prime, ids.shape[1] + 200, "categorical", **kwargs)
    for row, free in zip(ids, longer, strict=True):
        kept = row[row != Vocabulary.pad_id]
        np.testing.assert_array_equal(kept, free[: len(kept)])  # the same stream, stopped
        events, zero = _events_after_prime(tokenizer, vocab, prime, kept)
        assert events and all(e.offset - zero < 12.0 - 1e-9 for e in events)  # none after it
        # the stream went on to write its next event at or after the length, not before
        more = _events_after_prime(tokenizer, vocab, prime, free)[0]
        assert len(more) > len(events) and more[: len(events)] == events
        assert all(e.offset - zero >= 12.0 - 1e-9 for e in more[len(events) :])
    with pytest.raises(ValueError, match="needs table="):
        generate(model, prime, None, quarters=4.0)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_a_beams_rows_are_cut_where_generate_would_stop_them(encoding: str) -> None:
    from musegen.generation.compose import _whole_events  # beams cannot stop early

    def _cut(table, prime, rows, quarters):
        from musegen.generation._clock import Clock

        after = Clock(table).run(np.asarray([prime]))
        return [_whole_events(table, prime, after, row, quarters) for row in rows]

    model, tokenizer, vocab = _untrained(encoding)
    table = TokenTable.build(tokenizer, vocab)
    kwargs = {"processors": [GrammarConstraint()], "table": table, "seed": 0, "batch_size": 3}
    stopped = generate(model, [2], None, "categorical", quarters=6.0, **kwargs)
    free = generate(model, [2], stopped.shape[1] + 100, "categorical", **kwargs)
    for row, cut in zip(stopped, _cut(table, [2], free, 6.0), strict=True):
        np.testing.assert_array_equal(cut, row[row != Vocabulary.pad_id])


# -- the command line: --bars, --tempo, --time-signature, --chords ---------------------------


def _bundle(tmp_path, encoding: str):
    from musegen.training.bundle import save_bundle

    model, tokenizer, vocab = _untrained(encoding)
    return save_bundle(tmp_path / f"bundle-{encoding}", model, tokenizer, vocab)


def _notes(path) -> list[tuple[str, float, float, int]]:
    """(track, start, end, pitch) of every note in the file, in quarter notes, as symusic reads it."""
    import symusic

    score = symusic.Score(str(path), ttype="quarter")
    return [(t.name, n.time, n.end, n.pitch) for t in score.tracks for n in t.notes]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_bars_write_exactly_that_many_bars(encoding: str, tmp_path, capsys) -> None:
    from musegen.cli import main

    song = tmp_path / "song.mid"
    args = ["generate", str(_bundle(tmp_path, encoding)), "--bars", "8", "--grammar"]
    assert main([*args, "--seed", "0", "--out", str(song)]) == 0
    notes = _notes(song)
    assert notes and all(start < 32 - 1e-6 and end <= 32 + 1e-6 for _, start, end, _ in notes)
    assert max(end for _, _, end, _ in notes) > 28  # the music sounds in bar 8
    assert "8 bars of 4/4 (32.0 quarter lengths, 16.0 s at 120 bpm)" in capsys.readouterr().out


def test_tempo_metre_and_a_chords_track_are_read_back_by_symusic(tmp_path, capsys) -> None:
    import symusic

    from musegen.cli import main

    song = tmp_path / "song.mid"
    args = ["generate", str(_bundle(tmp_path, "notes")), "--bars", "4", "--tempo", "92",
            "--time-signature", "3/4", "--chords", "Am F", "--chords-track", "--grammar"]  # fmt: skip
    assert main([*args, "--seed", "0", "--out", str(song)]) == 0
    assert "4 bars of 3/4 (12.0 quarter lengths, 7.8 s at 92 bpm)" in capsys.readouterr().out
    score = symusic.Score(str(song), ttype="quarter")
    assert [round(t.qpm, 3) for t in score.tempos] == [92.0]
    assert [(t.numerator, t.denominator) for t in score.time_signatures] == [(3, 4)]
    notes = _notes(song)
    chords = ChordProgression("Am F", time_signature="3/4")
    am, f = (
        [(s, s + 3, p) for s in (0, 6) for p in (45, 48, 52)],
        [(s, s + 3, p) for s in (3, 9) for p in (53, 57, 60)],
    )  # A C E and F A C, a bar each, twice
    assert sorted((s, e, p) for name, s, e, p in notes if name == "chords") == sorted(am + f)
    music = [(s, p) for name, s, _, p in notes if name == "music"]
    assert music and all(p % 12 in chords.pitch_classes[int(chords.chord_at(s))] for s, p in music)
    assert max(s for s, _ in music) < 12


def test_a_primes_tempo_and_metre_are_kept_and_bars_counted_in_it(tmp_path, capsys) -> None:
    import symusic

    from musegen.cli import main
    from musegen.io.writing import write_midi

    prime = write_midi(
        Piece(_piece().events, tempo=100.0, time_signature="6/8"), tmp_path / "p.mid"
    )
    song = tmp_path / "song.mid"
    args = ["generate", str(_bundle(tmp_path, "final")), "--bars", "3", "--prime", str(prime)]
    assert main([*args, "--seed", "0", "--out", str(song)]) == 0
    assert "3 bars of 6/8 (9.0 quarter lengths, 5.4 s at 100 bpm)" in capsys.readouterr().out
    score = symusic.Score(str(song), ttype="quarter")
    assert [round(t.qpm, 3) for t in score.tempos] == [100.0]
    assert [(t.numerator, t.denominator) for t in score.time_signatures] == [(6, 8)]
    assert max(n.end for t in score.tracks for n in t.notes) <= 9 + 1e-6
    for bad, message in [(["--bars", "0"], "argument --bars: takes a finite number > 0"),
                         (["--bars", "inf"], "argument --bars: takes a finite number > 0"),
                         (["--time-signature", "x"], "--time-signature: time signature 'x'"),
                         (["--time-signature", "4/3"], "cannot be written to MIDI"),
                         (["--chords", "Am Hx"], "--chords: cannot read chord symbol 'Hx'")]:  # fmt: skip
        with pytest.raises(SystemExit) as exit_:  # argparse's one line
            main([*args[:2], *bad, "--out", str(song)])
        assert exit_.value.code == 2
        assert message in capsys.readouterr().err
    assert main([*args[:2], "--chords-track", "--out", str(song)]) == 2  # options that go together
    assert "--chords-track steer the --chords: give them" in capsys.readouterr().err

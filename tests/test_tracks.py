"""Several instruments: tracks read apart, written back, merged reading unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from musegen.events import Event, Piece
from musegen.io.midi_fast import read_midi_fast, read_tracks_fast
from musegen.io.reading import read_midi, read_tracks
from musegen.io.tracks import Score, Track, family
from musegen.io.writing import write_midi

PIANO = Piece(
    (Event(0, 1, (60, 64, 67), 80), Event(1, 1, (62, 65, 69), 70), Event(2, 2, (59, 62, 67), 90))
)
BASS = Piece((Event(0, 2, (36,), 100), Event(2, 1, (43,), 100), Event(3, 1, (31,), 100)))
DRUMS = Piece(tuple(Event(i * 0.5, 0.5, (36,) if i % 2 == 0 else (38, 42), 110) for i in range(8)))
BAND = Score(
    (Track(PIANO, 0, "piano"), Track(BASS, 33, "bass"), Track(DRUMS, 0, "drums", is_drum=True)),
    tempo=100.0,
)


@pytest.fixture(scope="module")
def band_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_midi(BAND, tmp_path_factory.mktemp("band") / "band.mid")


def test_a_three_track_file_keeps_its_tracks_programs_and_notes(band_file: Path) -> None:
    score = read_tracks(band_file)
    assert [(t.name, t.program, t.is_drum, t.family) for t in score.tracks] == [
        ("piano", 0, False, "piano"), ("bass", 33, False, "bass"), ("drums", 0, True, "drums")
    ]  # fmt: skip
    for read, written in zip(score.tracks, BAND.tracks, strict=True):
        assert read.piece.notes == written.piece.notes
    assert (score.tempo, score.time_signature, score.source) == (100.0, "4/4", "band.mid")
    again = read_tracks(write_midi(score, band_file.with_name("again.mid")))
    assert [t.piece.notes for t in again.tracks] == [t.piece.notes for t in score.tracks]


def test_merged_reading_of_the_same_file_is_unchanged(band_file: Path) -> None:
    merged = read_midi(band_file)
    assert merged == read_midi(band_file, engine="music21")  # the stream path agrees
    assert merged.events == read_tracks(band_file).merged().events  # drums left out, as merged
    with_drums = read_midi_fast(band_file, drop_drums=False)
    assert with_drums.events == read_tracks_fast(band_file).merged(drums=True).events


def test_a_format_0_file_gives_a_track_per_channel_as_symusic_reads_it(skuli_midi: Path) -> None:
    symusic = pytest.importorskip("symusic")
    # AT.mid: one track, 14 channels (drums on 10), a program change for each at the start
    reference = symusic.Score(str(skuli_midi / "AT.mid"))
    score = read_tracks(skuli_midi / "AT.mid")
    assert len(score.tracks) == len(reference.tracks) == 14
    assert sorted(
        (t.program, t.is_drum, sum(len(e.pitches) for e in t.piece.notes)) for t in score.tracks
    ) == sorted((t.program, t.is_drum, len(t.notes)) for t in reference.tracks)


def test_tracks_check_their_program() -> None:
    with pytest.raises(ValueError, match=r"0\.\.127"):
        Track(PIANO, program=128)
    assert family(40) == "strings" and family(127) == "sound effects"


@pytest.mark.parametrize("spelling", ["token", "qualified"])
def test_the_band_tokenized_and_decoded_keeps_every_track(spelling: str, band_file: Path) -> None:
    from musegen.tokens.track_tokenizer import TrackTokenizer

    tokenizer = TrackTokenizer(spelling=spelling)
    score = read_tracks(band_file)
    tokens = tokenizer.encode_score(score)
    decoded = {t.family: t for t in tokenizer.decode_score(tokens).tracks}
    assert sorted(decoded) == ["bass", "drums", "piano"]
    for track in score.tracks:
        assert [(e.offset, e.duration, e.pitches) for e in decoded[track.family].piece.notes] == [
            (e.offset, e.duration, e.pitches) for e in track.piece.notes
        ]
    assert (decoded["bass"].program, decoded["drums"].is_drum) == (33, True)
    written = read_tracks(write_midi(tokenizer.decode_score(tokens), band_file.with_name("t.mid")))
    assert sorted(t.family for t in written.tracks) == ["bass", "drums", "piano"]
    vocabulary = tokenizer.build_vocabulary([score])  # encode() takes scores
    # 12 pitch names (13 instrument:pitch pairs), 3 instruments, 3 durations, the step +0 (each
    # onset's last event, the drums' eighth, ends at the next onset: no other step)
    expected = {"token": 12 + 3 + 3 + 1, "qualified": 13 + 3 + 1}[spelling]
    assert len(vocabulary.tokens) == expected, vocabulary.tokens


def test_tokenize_prints_the_band_encodings(band_file: Path, tmp_path: Path, capsys) -> None:
    import shutil

    from musegen.cli import main

    shutil.copy(band_file, tmp_path / "band.mid")
    assert main(["tokenize", str(tmp_path), "--tracks", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "tracks: 3 in 1 files; programs 0: 1, drums: 1, 33: 1" in out
    rows = {
        line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("band-")
    }
    assert rows["band-token"][0] == "19" and rows["band-qualified"][0] == "17"
    assert list(rows) == [
        "band-token",
        "band-qualified",
        "band-token-families",
        "band-qualified-families",
    ]


def test_music21_scores_become_tracks_with_their_instruments() -> None:
    from music21 import corpus

    from musegen.io.reading import score_from_stream

    score = score_from_stream(corpus.parse("bwv120.8-a"))
    assert [(t.name, t.program) for t in score.tracks][:4] == [
        ("Trumpet 1", 56), ("Trumpet 2", 56), ("Trumpet 3", 56), ("Timpani", 47)
    ]  # fmt: skip
    # General MIDI files timpani (47) with the strings
    assert {t.family for t in score.tracks} == {"brass", "strings", "ensemble"}


def test_train_a_band_and_continue_it_from_one_part(tmp_path: Path, capsys) -> None:
    from musegen.cli import main

    folder = tmp_path / "bands"
    folder.mkdir()
    for shift in range(4):  # four short band files
        moved = [Track(t.piece.transpose(shift) if not t.is_drum else t.piece, t.program, t.name,
                       t.is_drum) for t in BAND.tracks]  # fmt: skip
        write_midi(Score(tuple(moved), tempo=100.0), folder / f"band{shift}.mid")
    run = tmp_path / "run"
    args = ["train", str(folder), "--tracks", "--units", "8", "--seq-len", "16"]
    assert main([*args, "--minutes", "0.05", "--out", str(run), "--quiet"]) == 0
    assert "4 scores, 12 tracks" in capsys.readouterr().out
    prime = write_midi(Score((BAND.tracks[0],)), tmp_path / "piano.mid")  # one part
    out = tmp_path / "band.mid"
    assert main(["generate", str(run), "--prime", str(prime), "--steps", "80", "--seed", "0",
                 "--png", "--out", str(out)]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert out.with_suffix(".png").is_file()
    written = read_tracks(out)
    counts = ", ".join(f"{t.name}: {len(t.piece.notes)}" for t in written.tracks)
    assert f"  {counts}, " in printed  # each track as the file names it, with its notes
    assert written.tracks and {t.family for t in written.tracks} <= {"piano", "bass", "drums"}
    assert main([*args, "--transpose", "-1", "1", "--out", str(run)]) == 2


@pytest.mark.parametrize("spelling", ["token", "qualified"])
def test_every_processor_steers_a_band_or_is_refused_in_one_line(spelling: str) -> None:
    import keras
    import numpy as np

    from musegen.generation.decoding import generate
    from musegen.generation.processors import (
        GrammarConstraint,
        KeyConstraint,
        MelodyConstraint,
        NoRepeatNGram,
        PitchRange,
        RepetitionPenalty,
    )
    from musegen.tokens.token_table import KINDS, TokenTable
    from musegen.tokens.track_tokenizer import TrackTokenizer
    from musegen.training.model import build_lstm

    tokenizer = TrackTokenizer(spelling=spelling)
    vocab = tokenizer.build_vocabulary([BAND])
    table = TokenTable.build(tokenizer, vocab)
    kinds = dict(zip(vocab.tokens, (KINDS[k] for k in table.kinds[2:]), strict=True))
    bass_c2 = {"token": "C2", "qualified": "p33:C2"}[spelling]
    assert kinds[bass_c2] == "pitch" and table.pitches[vocab.encode([bass_c2])[0], 36]
    assert "unknown" not in kinds.values(), kinds
    keras.utils.set_random_seed(0)
    model = build_lstm(len(vocab), units=(8,), embedding_dim=4, return_sequences=True)
    prime = vocab.encode(tokenizer.encode_score(BAND)[:4])

    def run(*chain):
        ids = generate(model, prime, 120, "top_k", processors=chain, table=table, seed=0)
        return vocab.decode(ids[0])

    tokens = run(GrammarConstraint())
    last_close = np.flatnonzero(table.closes(np.array([vocab.encode(tokens)]))[0]).max()
    plain_skipped = tokenizer.decode_with_skipped(
        [t.split(":")[-1] for t in tokens if not t.startswith("@")]
    )[1]
    assert not [p for p, _ in plain_skipped if p <= last_close], tokens
    families = {t.family for t in tokenizer.decode_score(tokens).tracks}
    assert len(families) >= 2, tokens  # the band does not collapse onto one instrument
    steered = run(KeyConstraint("C major"), PitchRange("C3", "C6"))
    pitched = [t for t in steered if kinds[t] == "pitch"]
    assert pitched and all(48 <= tokenizer.describe(t).pitches[0] <= 84 for t in pitched)
    assert all(tokenizer.describe(t).pitches[0] % 12 in (0, 2, 4, 5, 7, 9, 11) for t in pitched)
    assert run(NoRepeatNGram(6), RepetitionPenalty(2.0, only_pitches=True))
    with pytest.raises(ValueError, match="MelodyConstraint") as refused:
        run(MelodyConstraint([(64, 1.0)]))
    assert "\n" not in str(refused.value)


def test_track_tokenizer_high_first_spells_each_event_from_its_highest_pitch() -> None:
    from musegen.tokens.track_tokenizer import TrackTokenizer

    assert TrackTokenizer(high_first=True).encode_score(Score((BAND.tracks[0],)))[:4] == [
        "@p0", "G4", "E4", "C4"
    ]  # fmt: skip

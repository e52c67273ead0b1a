"""FrameTokenizer (a grid spelling) and the shipped JSB Chorales benchmark split."""

from __future__ import annotations

import gzip
import json
from importlib import resources

import numpy as np
import pytest

from musegen import datasets
from musegen.events import Event, Piece
from musegen.generation.decoding import generate
from musegen.generation.processors import GrammarConstraint
from musegen.io.corpus import load_corpus, source_files
from musegen.tokens.frame_tokenizer import FrameTokenizer
from musegen.tokens.token_table import TokenTable
from musegen.tokens.tokenizer import Tokenizer
from musegen.training.model import build_lstm


def test_frames_spell_each_grid_time_low_to_high_with_rests_and_a_start() -> None:
    piece = Piece(
        (
            Event(0, 2, (64, 48)),  # held over two frames
            Event(1, 0.5, (67,)),  # sounds at 1 only
            Event(1.5, 0.25, (72,)),  # between grid times: not seen
            Event(4, 1, (60,)),  # after a silent frame at 3 (and 2 is empty too)
        )
    )
    tok = FrameTokenizer()
    assert tok.frames(piece) == [(48, 64), (48, 64, 67), (), (), (60,)]
    assert tok.encode(piece) == [
        "start", "C3", "E4", "4th", "C3", "E4", "G4", "4th", "rest", "4th", "rest", "4th",
        "C4", "4th",
    ]  # fmt: skip
    decoded = tok.decode(tok.encode(piece))
    assert [(e.offset, e.duration, e.pitches) for e in decoded.events] == [
        (0.0, 1.0, (48, 64)), (1.0, 1.0, (48, 64, 67)), (2.0, 1.0, ()), (3.0, 1.0, ()),
        (4.0, 1.0, (60,)),
    ]  # fmt: skip
    assert FrameTokenizer(0.5, start=False).encode(Piece((Event(0, 1, (60,)),))) == [
        "C4", "8th", "C4", "8th",
    ]  # fmt: skip


def test_decoding_skips_stray_tokens_but_not_start_tokens() -> None:
    piece, skipped = FrameTokenizer().decode_with_skipped(
        ["start", "4th", "C4", "4th", "start", "E4", "X9", "4th"]
    )
    assert [(e.offset, e.pitches) for e in piece.events] == [(0.0, (60,)), (1.0, (64,))]
    assert skipped == [(1, "4th"), (6, "X9")]


def test_config_round_trips_through_a_file(tmp_path) -> None:
    tok = FrameTokenizer(0.25, start=False)
    assert FrameTokenizer.from_config(tok.get_config()) == tok
    assert Tokenizer.load(tok.save(tmp_path / "tok.json")) == tok
    assert tok != FrameTokenizer()
    with pytest.raises(ValueError, match="step must be > 0"):
        FrameTokenizer(0)


def test_the_shipped_split_is_the_published_one_and_round_trips() -> None:
    counts = {s: len(datasets.jsb_chorales(s)) for s in datasets.JSB_SPLITS}
    assert counts == {"train": 229, "valid": 76, "test": 77}
    raw = json.loads(
        gzip.decompress((resources.files("musegen") / "data" / "jsb-chorales-quarter.json.gz")
                        .read_bytes())
    )  # fmt: skip
    tok = FrameTokenizer()
    for split in datasets.JSB_SPLITS:
        for chorale, frames in zip(datasets.jsb_chorales(split), raw[split], strict=True):
            assert tok.frames(chorale) == [tuple(sorted(f)) for f in frames]
            assert tok.frames(tok.decode(tok.encode(chorale))) == tok.frames(chorale)
    assert len(load_corpus("musegen:jsb")) == 305  # train and valid: test stays out
    assert [p.source for p in load_corpus("musegen:jsb/test", limit=2)] == [
        "jsb/test/000", "jsb/test/001",
    ]  # fmt: skip


def test_a_damaged_file_and_an_unknown_split_are_refused(monkeypatch) -> None:
    with pytest.raises(ValueError, match="unknown JSB split 'dev'"):
        datasets.jsb_chorales("dev")
    with pytest.raises(ValueError, match="unknown JSB split 'dev'"):
        load_corpus("musegen:jsb/dev")
    with pytest.raises(ValueError, match="musegen:jsb ships as quarter-note frames, not as files"):
        source_files("musegen:jsb")  # what musegen train --tracks reads
    monkeypatch.setattr(datasets, "_JSB_SHA256", "0" * 64)
    with pytest.raises(ValueError, match=r"jsb-chorales-quarter\.json\.gz has SHA-256 2db9329f"):
        datasets.jsb_chorales("test")


def test_generation_under_the_grammar_decodes_to_whole_frames() -> None:
    tok = FrameTokenizer()
    chorales = datasets.jsb_chorales("valid")[:4]
    vocab = tok.build_vocabulary(chorales)
    table = TokenTable.build(tok, vocab)
    model = build_lstm(len(vocab), units=(8,), dense_units=None)
    prime = np.array(vocab.encode(["start"]))
    ids = generate(model, prime, 60, "categorical", processors=[GrammarConstraint()],
                   table=table, seed=3)[0]  # fmt: skip
    tokens = vocab.decode([int(i) for i in ids])
    piece, skipped = tok.decode_with_skipped(["start", *tokens])
    last_close = len(tokens) - tokens[::-1].index("4th")  # its position after "start"
    assert all(position > last_close for position, _ in skipped)  # an unfinished last frame only
    assert all(e.duration == 1.0 for e in piece.events) and len(piece.events) >= 1
    for event in piece.events:  # pitches of a frame rise: each spelt once
        assert list(event.pitches) == sorted(set(event.pitches))

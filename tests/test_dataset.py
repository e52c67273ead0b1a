from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from musegen.events import Event, Piece
from musegen.tokens.tokenizer import Tokenizer
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.dataset import SequenceDataset


def examples(data: SequenceDataset, split: str = "train") -> list[tuple[list, ...]]:
    """Every example of a split, as lists, in song order."""
    ds = data.batches(1000, split=split, shuffle=False)  # type: ignore[arg-type]
    out: list[tuple[list, ...]] = []
    for batch in ds.as_numpy_iterator():
        for row in zip(*batch, strict=True):
            out.append(tuple(np.asarray(part).tolist() for part in row))
    return out


def test_windows_are_exact() -> None:
    data = SequenceDataset.from_ids(
        [[2, 3, 4, 5, 6]], 8, seq_len=3, shape="windows", val_fraction=0
    )
    assert examples(data) == [([2, 3, 4], 5), ([3, 4, 5], 6)]
    assert len(data) == 2


def test_windows_with_stride() -> None:
    data = SequenceDataset.from_ids(
        [range(2, 10)], 10, seq_len=2, shape="windows", stride=3, val_fraction=0
    )
    # starts 0 and 3; a window at 6 would have no label left in the song
    assert examples(data) == [([2, 3], 4), ([5, 6], 7)]


def test_chunks_overlap_by_one_and_pad_the_tail() -> None:
    data = SequenceDataset.from_ids(
        [[2, 3, 4, 5, 6, 7]], 8, seq_len=2, shape="chunks", val_fraction=0
    )
    assert examples(data) == [
        ([2, 3], [3, 4], [1.0, 1.0]),
        ([4, 5], [5, 6], [1.0, 1.0]),
        ([6, 7], [7, 0], [1.0, 0.0]),
    ]


def test_chunks_use_every_label_once() -> None:
    song = list(range(2, 30))
    data = SequenceDataset.from_ids([song], 30, seq_len=5, shape="chunks", val_fraction=0)
    labels = [y for _, ys, ws in examples(data) for y, w in zip(ys, ws, strict=True) if w]
    assert labels == song[1:]


def test_nothing_crosses_a_song_boundary() -> None:
    songs = [[2, 3, 4, 5], [6, 7, 8], [9, 10, 11, 12, 13]]
    windows = SequenceDataset.from_ids(songs, 14, seq_len=2, shape="windows", val_fraction=0)
    assert examples(windows) == [
        ([2, 3], 4),
        ([3, 4], 5),
        ([6, 7], 8),
        ([9, 10], 11),
        ([10, 11], 12),
        ([11, 12], 13),
    ]
    chunks = SequenceDataset.from_ids(songs, 14, seq_len=3, shape="chunks", val_fraction=0)
    assert examples(chunks) == [
        ([2, 3, 4], [3, 4, 5], [1.0, 1.0, 1.0]),
        ([6, 7, 8], [7, 8, 0], [1.0, 1.0, 0.0]),
        ([9, 10, 11], [10, 11, 12], [1.0, 1.0, 1.0]),
        ([12, 13, 0], [13, 0, 0], [1.0, 0.0, 0.0]),
    ]


def test_short_songs_give_no_windows() -> None:
    data = SequenceDataset.from_ids(
        [[2, 3], [4, 5, 6, 7]], 8, seq_len=3, shape="windows", val_fraction=0
    )
    assert examples(data) == [([4, 5, 6], 7)]


def test_scaled_inputs_are_ids_over_vocab_size() -> None:
    data = SequenceDataset.from_ids(
        [[2, 4, 6]], 8, seq_len=2, shape="windows", val_fraction=0, input_mode="scaled"
    )
    assert examples(data) == [([[0.25], [0.5]], 6)]


def test_unbatched_train_holds_every_example() -> None:
    data = SequenceDataset.from_ids(
        [range(2, 12)], 12, seq_len=3, shape="windows", val_fraction=0, seed=3
    )
    seen = sorted((x.tolist(), int(y)) for x, y in data.train.as_numpy_iterator())
    assert seen == [(list(range(s, s + 3)), s + 3) for s in range(2, 9)]


def test_song_split_keeps_each_song_on_one_side() -> None:
    songs = [[100 + i, 2, 3, 4, 5] for i in range(20)]  # the first id names the song
    data = SequenceDataset.from_ids(
        songs, 200, seq_len=2, shape="windows", val_fraction=0.25, seed=7
    )
    train_names = {int(s[0]) for s in data.train_ids}
    val_names = {int(s[0]) for s in data.val_ids}
    assert len(val_names) == 5 and len(train_names) == 15
    assert not train_names & val_names
    assert train_names | val_names == set(range(100, 120))
    other = SequenceDataset.from_ids(
        songs, 200, seq_len=2, shape="windows", val_fraction=0.25, seed=8
    )
    assert {int(s[0]) for s in other.val_ids} != val_names


def test_stride_is_for_windows_only() -> None:
    with pytest.raises(ValueError, match="stride applies to windows only"):
        SequenceDataset.from_ids([[2, 3, 4]], 8, seq_len=1, shape="chunks", stride=2)


def test_bad_id_names_the_song() -> None:
    with pytest.raises(ValueError, match="song 1: id 9"):
        SequenceDataset.from_ids([[2, 3], [4, 9]], 8, seq_len=1, shape="windows")


def melody(base: int, n: int = 8) -> Piece:
    return Piece(tuple(Event(i, 1, (base + i % 4,)) for i in range(n)), source=f"m{base}")


def test_transposition_touches_training_songs_only() -> None:
    pieces = [melody(60 + 5 * i) for i in range(6)]
    tok = Tokenizer()
    vocab = tok.build_vocabulary([p.transpose(k) for p in pieces for k in range(-2, 3)])
    plain = SequenceDataset.from_pieces(
        pieces, tok, vocab, seq_len=3, shape="windows", val_fraction=0.34
    )
    moved = SequenceDataset.from_pieces(
        pieces, tok, vocab, seq_len=3, shape="windows", val_fraction=0.34, transpose=(-2, 2)
    )
    assert moved.num_train_songs == 5 * plain.num_train_songs
    assert [v.tolist() for v in moved.val_ids] == [v.tolist() for v in plain.val_ids]
    assert len(moved) == 5 * len(plain)
    originals = {tuple(s.tolist()) for s in plain.train_ids}
    assert originals <= {tuple(s.tolist()) for s in moved.train_ids}


def test_transposition_skips_shifts_past_midi_range_and_unknown_tokens() -> None:
    high = Piece((Event(0, 1, (126,)), Event(1, 1, (127,)), Event(2, 1, (125,))))
    tok = Tokenizer()
    vocab = tok.build_vocabulary([high])
    data = SequenceDataset.from_pieces(
        [high], tok, vocab, seq_len=1, shape="windows", val_fraction=0, transpose=(-1, 1)
    )
    # +1 leaves MIDI's range: skipped; -1 gives a pitch (124) the vocabulary lacks: dropped
    assert data.num_train_songs == 2
    assert [len(s) for s in data.train_ids] == [2, 3]
    mapped = SequenceDataset.from_pieces(
        [high],
        tok,
        vocab,
        seq_len=1,
        shape="windows",
        val_fraction=0,
        transpose=(-1, 0),
        unknown="map",
    )
    assert [s.tolist().count(Vocabulary.unk_id) for s in mapped.train_ids] == [1, 0]


def test_prime_comes_from_a_validation_song() -> None:
    songs = [[100 + i] * 6 for i in range(10)]
    data = SequenceDataset.from_ids(
        songs, 200, seq_len=4, shape="windows", val_fraction=0.2, seed=1
    )
    val_names = {int(s[0]) for s in data.val_ids}
    seed_ids = data.prime(seed=0)
    assert len(seed_ids) == 4 and len(set(seed_ids.tolist())) == 1
    assert int(seed_ids[0]) in val_names
    assert data.prime(seed=0).tolist() == seed_ids.tolist()
    with pytest.raises(ValueError, match="no val song has 7 ids"):
        data.prime(7)


def test_prime_from_a_midi_file(tmp_path) -> None:
    from musegen.io.writing import write_midi

    piece = melody(60, 12)
    tok = Tokenizer()
    vocab = tok.build_vocabulary([piece])
    data = SequenceDataset.from_pieces([piece, piece], tok, vocab, seq_len=5, shape="windows")
    path = write_midi(piece, tmp_path / "prime.mid")
    assert data.prime(source=path).tolist() == vocab.encode(tok.encode(piece))[:5]


def test_repr_and_steps() -> None:
    data = SequenceDataset.from_ids(
        [range(2, 12)] * 4, 12, seq_len=3, shape="windows", val_fraction=0.25
    )
    assert data.steps_per_epoch(4) == 6  # 3 songs x 7 windows = 21 windows
    assert "windows" in repr(data) and "21 examples from 3 songs" in repr(data)


def test_repr_spells_one_in_the_singular() -> None:
    data = SequenceDataset.from_ids([[2, 3, 4]], 5, seq_len=2, val_fraction=0)
    assert "train=1 example from 1 song / 3 tokens" in repr(data), repr(data)

"""Sharded token files: writing, the index, and streaming the same examples as SequenceDataset."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import pytest

from musegen.tokens.vocabulary import Vocabulary
from musegen.training.dataset import SequenceDataset
from musegen.training.shards import INDEX_NAME, ShardedDataset, ShardIndex, write_shards

VOCAB = 80
# Song k uses ids 10k+2 .. 10k+9 only, so an example mixing songs would show.
LENGTHS = [7, 1, 0, 12, 5, 3, 9, 4]
SONGS = [[10 * k + 2 + (i * 3 + k) % 8 for i in range(n)] for k, n in enumerate(LENGTHS)]


def rows(ds) -> list[tuple]:
    """Every element as a hashable tuple, sorted (order is not part of the contract)."""
    out = []
    for element in ds.as_numpy_iterator():
        out.append(tuple(np.asarray(part).round(6).tobytes() for part in element))
    return sorted(out)


@pytest.fixture
def folder(tmp_path):
    write_shards(SONGS, tmp_path, vocabulary=VOCAB, shard_tokens=8)
    return tmp_path


@pytest.mark.parametrize(
    "options",
    [
        {"seq_len": 3, "shape": "windows"},
        {"seq_len": 2, "shape": "windows", "stride": 2},
        {"seq_len": 4, "shape": "chunks"},
        {"seq_len": 3, "shape": "chunks", "input_mode": "scaled"},
    ],
)
def test_same_examples_and_split_as_sequence_dataset(folder, options):
    memory = SequenceDataset.from_ids(SONGS, VOCAB, val_fraction=0.3, seed=3, **options)
    sharded = ShardedDataset(folder, val_fraction=0.3, seed=3, **options)
    assert (len(sharded), sharded.num_val) == (len(memory), memory.num_val)
    assert (sharded.num_train_songs, sharded.num_val_songs) == (
        memory.num_train_songs,
        memory.num_val_songs,
    )
    assert rows(sharded.train) == rows(memory.train)
    assert rows(sharded.val) == rows(memory.val)
    assert rows(sharded.batches(3).unbatch()) == rows(memory.train)
    assert sharded.train.element_spec == memory.train.element_spec


def test_nothing_crosses_a_song_boundary(folder):
    data = ShardedDataset(folder, seq_len=4, shape="chunks", val_fraction=0)
    for x, y, w in data.train.as_numpy_iterator():
        real = np.concatenate([x[x > 0], y[w > 0]])  # real ids are >= 2, padding is 0
        assert len(set((real - 2) // 10)) == 1, (x, y, w)
    windows = ShardedDataset(folder, seq_len=3, shape="windows", val_fraction=0)
    for x, y in windows.train.as_numpy_iterator():
        assert len(set((np.append(x, y) - 2) // 10)) == 1


def test_songs_stay_whole_and_shards_hold_about_shard_tokens(folder):
    index = ShardIndex.load(folder)
    assert index.song_lengths().tolist() == LENGTHS
    assert all(s.tokens >= 8 for s in index.shards[:-1])
    stored = np.concatenate([np.load(folder / s.file) for s in index.shards])
    assert stored.dtype == np.int32
    assert stored.tolist() == [i for song in SONGS for i in song]


def test_index_round_trip(folder):
    index = ShardIndex.load(folder)
    document = json.loads((folder / INDEX_NAME).read_text())
    assert document["format"] == "musegen.shards"
    assert ShardIndex.load(folder) == index
    assert (index.vocab_size, index.num_songs, index.num_tokens, index.complete) == (
        VOCAB,
        len(SONGS),
        sum(LENGTHS),
        True,
    )
    assert [len(s["offsets"]) - 1 for s in document["config"]["shards"]] == [
        s.songs for s in index.shards
    ]


def test_newer_format_version_is_refused(folder):
    path = folder / INDEX_NAME
    document = json.loads(path.read_text())
    document["format_version"] = 99
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match=r"index\.json.*newer"):
        ShardIndex.load(folder)


def test_vocabulary_is_saved_beside_the_shards(tmp_path):
    vocab = Vocabulary.build([["C4", "D4", "E4"]])
    index = write_shards([[2, 3, 4]], tmp_path, vocabulary=vocab)
    assert index.vocab_size == len(vocab)
    assert Vocabulary.load(tmp_path / "vocabulary.json").get_config() == vocab.get_config()


def test_bad_id_names_the_song(tmp_path):
    with pytest.raises(ValueError, match=r"song 1: id 9 is outside"):
        write_shards([[2, 3], [4, 9]], tmp_path, vocabulary=5)


def test_interrupted_write_lists_only_whole_shards(tmp_path):
    def songs() -> Iterator[list[int]]:
        yield from SONGS[:5]
        raise KeyboardInterrupt  # the corpus reader dies half way

    with pytest.raises(KeyboardInterrupt):
        write_shards(songs(), tmp_path, vocabulary=VOCAB, shard_tokens=8)
    index = ShardIndex.load(tmp_path)
    assert not index.complete and index.num_shards >= 1
    assert not list(tmp_path.glob("*.tmp"))
    listed = index.song_lengths().tolist()
    assert listed == LENGTHS[: len(listed)]
    with pytest.raises(ValueError, match="unfinished"):
        ShardedDataset(tmp_path, seq_len=3, shape="windows")
    partial = ShardedDataset(
        tmp_path, seq_len=3, shape="windows", val_fraction=0, allow_partial=True
    )
    memory = SequenceDataset.from_ids(
        SONGS[: len(listed)], VOCAB, seq_len=3, shape="windows", val_fraction=0
    )
    assert rows(partial.train) == rows(memory.train)


def test_rewriting_a_folder_replaces_its_index(folder):
    write_shards([[2, 3, 4]], folder, vocabulary=VOCAB)
    assert ShardIndex.load(folder).song_lengths().tolist() == [3]


def test_corrupt_shard_is_named(folder):
    shard = folder / ShardIndex.load(folder).shards[1].file
    shard.write_bytes(shard.read_bytes()[:-8])
    with pytest.raises(ValueError, match=shard.name):
        ShardedDataset(folder, seq_len=3, shape="windows")


def test_pipelines_split_the_shards_between_them(folder):
    data = ShardedDataset(folder, seq_len=2, shape="windows", val_fraction=0)
    parts = [data.batches(4, pipeline=(i, 2)) for i in range(2)]
    assert sorted(rows(parts[0].unbatch()) + rows(parts[1].unbatch())) == rows(data.train)
    assert sum(int(p.cardinality()) for p in parts) >= data.steps_per_epoch(4)
    with pytest.raises(ValueError, match="input pipelines"):
        data.batches(4, pipeline=(0, 99))


def test_reshuffles_every_pass(folder):
    data = ShardedDataset(folder, seq_len=1, shape="windows", val_fraction=0, shuffle_buffer=1)
    train = data.train
    passes = [[int(y) for _, y in train.as_numpy_iterator()] for _ in range(4)]
    assert all(sorted(p) == sorted(passes[0]) for p in passes)
    assert len({tuple(p) for p in passes}) > 1

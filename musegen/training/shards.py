"""Sharded token files: corpora larger than memory, streamed into `tf.data` one shard at a time.

`write_shards` stores songs of token ids as ``shard-00000.npy``, ``shard-00001.npy``, ...
(flat int32 arrays, no pickle) and an ``index.json`` naming each shard with its
song offsets. A song never straddles two shards. Every file is written atomically,
and the index is rewritten after each finished shard, so an interrupted write
leaves an index (marked unfinished) that lists only whole shards.

`ShardedDataset` reads such a folder as `musegen.training.dataset.SequenceDataset` reads
memory: the same windows or chunks, the same song split for the same seed, the
same element shapes. It keeps only the index and the shards being read in memory:
each shard is memory-mapped, its example starts are computed, and the examples are
gathered in blocks.

Examples:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> write_shards([[2, 3, 4, 5], [6, 7, 8]], folder, vocabulary=9, shard_tokens=4).num_shards
    2
    >>> data = ShardedDataset(folder, seq_len=2, shape="windows", val_fraction=0)
    >>> sorted((x.tolist(), int(y)) for x, y in data.train.as_numpy_iterator())
    [([2, 3], 4), ([3, 4], 5), ([6, 7], 8)]
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from musegen._files import atomic_write_bytes, atomic_write_text, dump_document, load_document
from musegen._words import plural
from musegen.defaults import TRAINING
from musegen.tokens.vocabulary import Vocabulary
from musegen.training.dataset import InputMode, Shape, _check_options, split_songs

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["INDEX_NAME", "ShardIndex", "ShardInfo", "ShardedDataset", "write_shards"]

INDEX_NAME = "index.json"
"""The index file of a shard folder."""

_BLOCK = 512
"""Examples gathered at once from a memory-mapped shard."""


@dataclass(frozen=True)
class ShardInfo:
    """One shard: its file and where each of its songs starts.

    Attributes:
        file: File name inside the shard folder.
        offsets: Start of each song in the shard's id array, then its length
            (``songs + 1`` entries).

    Examples:
        >>> ShardInfo("shard-00000.npy", (0, 4, 7)).songs
        2
    """

    file: str
    offsets: tuple[int, ...]

    @property
    def songs(self) -> int:
        """Songs in the shard."""
        return len(self.offsets) - 1

    @property
    def tokens(self) -> int:
        """Ids in the shard."""
        return self.offsets[-1]


@dataclass(frozen=True)
class ShardIndex:
    """The contents of ``index.json``: vocabulary size and the shards, in song order.

    Attributes:
        directory: The shard folder.
        vocab_size: Number of ids; every stored id lies in ``0..vocab_size-1``.
        shards: The shards, in order; song numbers run on across them.
        complete: False when the writing was interrupted (only whole shards are listed).

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_shards([[2, 3], [4]], folder, vocabulary=5)
        >>> index = ShardIndex.load(folder)
        >>> index.num_songs, index.num_tokens, index.complete
        (2, 3, True)
    """

    directory: Path
    vocab_size: int
    shards: tuple[ShardInfo, ...]
    complete: bool = True

    @property
    def num_shards(self) -> int:
        """Shards listed."""
        return len(self.shards)

    @property
    def num_songs(self) -> int:
        """Songs in all shards."""
        return sum(s.songs for s in self.shards)

    @property
    def num_tokens(self) -> int:
        """Ids in all shards."""
        return sum(s.tokens for s in self.shards)

    def song_lengths(self) -> np.ndarray:
        """The length of every song, in song order (int64)."""
        parts = [np.diff(np.asarray(s.offsets, dtype=np.int64)) for s in self.shards]
        return np.concatenate([*parts, np.zeros(0, np.int64)])

    def to_json(self) -> str:
        """The index as a versioned musegen JSON document."""
        config = {
            "vocab_size": self.vocab_size,
            "complete": self.complete,
            "shards": [{"file": s.file, "offsets": list(s.offsets)} for s in self.shards],
        }
        return dump_document("shards", "ShardIndex", config)

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> ShardIndex:
        """Read ``index.json`` from `directory`.

        Raises:
            FileNotFoundError: when the folder has no index.
            ValueError: naming the file when the index is not a shard index, was
                written by a newer musegen format version, or is malformed.
        """
        folder = Path(directory)
        path = folder / INDEX_NAME
        _, config = load_document(path.read_text(encoding="utf-8"), "shards", str(path))
        try:
            shards = tuple(
                ShardInfo(str(s["file"]), tuple(int(o) for o in s["offsets"]))
                for s in config["shards"]
            )
            return cls(folder, int(config["vocab_size"]), shards, bool(config["complete"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: malformed shard index ({err!r})") from None


def write_shards(
    songs: Iterable[Sequence[int] | np.ndarray],
    directory: str | os.PathLike[str],
    *,
    vocabulary: Vocabulary | int,
    shard_tokens: int = 1_000_000,
) -> ShardIndex:
    """Write songs of token ids into a shard folder, one shard file at a time.

    Songs are read from `songs` one by one (it may be a generator over a corpus
    larger than memory) and gathered into a shard until it holds at least
    `shard_tokens` ids; a longer song makes a shard of its own. Each shard is an
    int32 ``.npy`` file; ``index.json`` is rewritten after each shard, and marked
    complete at the end. With a `Vocabulary`, it is saved as ``vocabulary.json``.

    Args:
        songs: Token ids, one sequence per song.
        directory: The folder (created; an existing index in it is replaced).
        vocabulary: The `Vocabulary` of the ids, or just its size.
        shard_tokens: Ids per shard (the memory one reader holds per open shard).

    Returns:
        The written `ShardIndex`.

    Raises:
        ValueError: naming the song and id when an id lies outside the vocabulary.

    Examples:
        >>> import tempfile
        >>> index = write_shards([[2, 3, 4]] * 5, tempfile.mkdtemp(), vocabulary=5,
        ...                      shard_tokens=6)
        >>> [s.songs for s in index.shards]
        [2, 2, 1]
    """
    if shard_tokens < 1:
        raise ValueError(f"shard_tokens must be >= 1, got {shard_tokens}")
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_size = len(vocabulary) if isinstance(vocabulary, Vocabulary) else int(vocabulary)
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be >= 2, got {vocab_size}")
    if isinstance(vocabulary, Vocabulary):
        vocabulary.save(folder / "vocabulary.json")
    written: list[ShardInfo] = []
    pending: list[np.ndarray] = []
    size = 0

    def flush(complete: bool) -> ShardIndex:
        nonlocal pending, size
        if pending:
            name = f"shard-{len(written):05d}.npy"
            buffer = BytesIO()
            np.save(buffer, np.concatenate(pending).astype(np.int32), allow_pickle=False)
            atomic_write_bytes(folder / name, buffer.getvalue())
            offsets = np.concatenate([[0], np.cumsum([len(p) for p in pending])])
            written.append(ShardInfo(name, tuple(int(o) for o in offsets)))
            pending, size = [], 0
        index = ShardIndex(folder, vocab_size, tuple(written), complete)
        atomic_write_text(folder / INDEX_NAME, index.to_json())
        return index

    flush(complete=False)  # an empty, unfinished index replaces any older one
    for number, song in enumerate(songs):
        ids = np.asarray(song, dtype=np.int64).reshape(-1)
        bad = ids[(ids < 0) | (ids >= vocab_size)]
        if bad.size:
            raise ValueError(
                f"song {number}: id {int(bad[0])} is outside the vocabulary (0..{vocab_size - 1})"
            )
        pending.append(ids.astype(np.int32))
        size += len(ids)
        if size >= shard_tokens:
            flush(complete=False)
    return flush(complete=True)


class ShardedDataset:
    """Windows or chunks streamed from a shard folder, split by song like `SequenceDataset`.

    The elements, the song split (for the same `seed` and `val_fraction`) and the
    examples per epoch equal those of `SequenceDataset.from_ids` over the same
    songs; only the order differs. Training data is shuffled by shard order, by a
    fresh permutation of each shard's examples every pass, by interleaving
    `cycle_length` shards and by a `shuffle_buffer` of examples.

    Args:
        directory: A folder written by `write_shards`.
        seq_len: Length of each input sequence (default ``TRAINING.seq_len``).
        shape: ``"chunks"`` (many-to-many, the default: ``TRAINING.shape``) or
            ``"windows"`` (many-to-one, the seed's).
        stride: Ids between the starts of consecutive windows (windows only).
        val_fraction: Share of the songs held out for validation.
        seed: Seed of the song split and of the shuffling.
        input_mode: ``"ids"`` or ``"scaled"`` (``id / vocab_size`` floats).
        cycle_length: Shards read at the same time (memory grows with it).
        shuffle_buffer: Examples mixed across the shards being read.
        allow_partial: Read the whole shards of an interrupted `write_shards`.

    Raises:
        ValueError: naming the folder when its index is unfinished (without
            `allow_partial`) or a shard file does not match the index.

    Examples:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> _ = write_shards([range(2, 12)] * 4, folder, vocabulary=12, shard_tokens=20)
        >>> data = ShardedDataset(folder, seq_len=3, shape="chunks", val_fraction=0.25)
        >>> len(data), data.num_val, data.steps_per_epoch(4)
        (9, 3, 3)
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        seq_len: int = TRAINING.seq_len,
        shape: Shape = TRAINING.shape,
        stride: int = 1,
        val_fraction: float = 0.1,
        seed: int = 0,
        input_mode: InputMode = "ids",
        cycle_length: int = 2,
        shuffle_buffer: int = 10_000,
        allow_partial: bool = False,
    ) -> None:
        _check_options(shape, input_mode, seq_len, stride)
        self.index = ShardIndex.load(directory)
        if not self.index.complete and not allow_partial:
            raise ValueError(
                f"{self.index.directory}: the shard index is unfinished (write_shards was "
                "interrupted); write the shards again or pass allow_partial=True"
            )
        self._check_files()
        self.vocab_size = self.index.vocab_size
        self.seq_len = int(seq_len)
        self.shape: Shape = shape
        self.stride = int(stride)
        self.input_mode: InputMode = input_mode
        self.seed = int(seed)
        self.cycle_length = int(cycle_length)
        self.shuffle_buffer = int(shuffle_buffer)
        lengths = self.index.song_lengths()
        train, val = split_songs(len(lengths), val_fraction, seed)
        self._is_val = np.zeros(len(lengths), dtype=bool)
        self._is_val[val] = True
        self._first_song = np.cumsum([0, *(s.songs for s in self.index.shards)])
        counts = self._examples_per_song(lengths)
        shard_of_song = np.repeat(np.arange(self.index.num_shards), np.diff(self._first_song))
        self._shard_counts = np.zeros((self.index.num_shards, 2), dtype=np.int64)
        np.add.at(self._shard_counts, (shard_of_song, self._is_val.astype(np.int64)), counts)
        self._train_count = int(self._shard_counts[:, 0].sum())
        self._val_count = int(self._shard_counts[:, 1].sum())
        self.num_train_songs, self.num_val_songs = len(train), len(val)

    def _check_files(self) -> None:
        for shard in self.index.shards:
            path = self.index.directory / shard.file
            try:
                ids = np.load(path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as err:
                raise ValueError(f"{path}: unreadable shard ({err})") from None
            if ids.shape != (shard.tokens,) or ids.dtype != np.int32:
                raise ValueError(
                    f"{path}: holds {ids.dtype} {ids.shape}, the index says int32 ({shard.tokens},)"
                )

    def _examples_per_song(self, lengths: np.ndarray) -> np.ndarray:
        if self.shape == "windows":
            return np.maximum(-(-(lengths - self.seq_len) // self.stride), 0)
        return np.maximum(-(-(lengths - 1) // self.seq_len), 0)

    # ------------------------------------------------------------------ sizes

    def __len__(self) -> int:
        """Number of training examples per epoch."""
        return self._train_count

    @property
    def num_val(self) -> int:
        """Number of validation examples."""
        return self._val_count

    def steps_per_epoch(self, batch_size: int) -> int:
        """Batches in one epoch of training data (the last one may be short)."""
        return math.ceil(len(self) / batch_size)

    def __repr__(self) -> str:
        return (
            f"ShardedDataset({str(self.index.directory)!r}, shape={self.shape!r}, "
            f"seq_len={self.seq_len}, shards={self.index.num_shards}, "
            f"train={plural(len(self), 'example')} from {plural(self.num_train_songs, 'song')}, "
            f"val={plural(self.num_val, 'example')} from {plural(self.num_val_songs, 'song')})"
        )

    # ------------------------------------------------------------------ tf.data

    @property
    def train(self) -> tf.data.Dataset:
        """Training examples, one per element, reshuffled on every pass."""
        return self._examples("train", shuffle=True)

    @property
    def val(self) -> tf.data.Dataset:
        """Validation examples, one per element, in song order."""
        return self._examples("val", shuffle=False)

    def batches(
        self,
        batch_size: int,
        *,
        split: Literal["train", "val"] = "train",
        shuffle: bool | None = None,
        drop_remainder: bool = False,
        pipeline: tuple[int, int] = (0, 1),
    ) -> tf.data.Dataset:
        """Batched, prefetched examples.

        Args:
            batch_size: Examples per batch.
            split: ``"train"`` or ``"val"``.
            shuffle: Reshuffle on every pass; by default only the training split is.
            drop_remainder: Leave out the last, short batch.
            pipeline: ``(index, count)``: read only shards ``index, index + count, ...``
                (one input pipeline of several, e.g. one per worker; see
                ``docs/scale.md``). Needs at least `count` shards.

        Examples:
            >>> import tempfile
            >>> folder = tempfile.mkdtemp()
            >>> _ = write_shards([range(2, 12)], folder, vocabulary=12)
            >>> data = ShardedDataset(folder, seq_len=3, shape="chunks", val_fraction=0)
            >>> x, y, w = next(iter(data.batches(2, shuffle=False)))
            >>> x.shape.as_list(), w.numpy()[1].tolist()
            ([2, 3], [1.0, 1.0, 1.0])
        """
        import tensorflow as tf

        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        ds = self._examples(
            split, shuffle=split == "train" if shuffle is None else shuffle, pipeline=pipeline
        )
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        return ds.prefetch(tf.data.AUTOTUNE)

    def share(self, pipeline: tuple[int, int]) -> dict[str, int]:
        """Training examples in each shard that one input pipeline reads (see `batches`).

        Examples:
            >>> import tempfile
            >>> folder = tempfile.mkdtemp()
            >>> _ = write_shards([range(2, 12)] * 3, folder, vocabulary=12, shard_tokens=20)
            >>> ShardedDataset(folder, seq_len=3, shape="chunks", val_fraction=0).share((0, 2))
            {'shard-00000.npy': 6}
        """
        return {
            self.index.shards[s].file: int(self._shard_counts[s, 0])
            for s in self._pipeline_shards(pipeline)
        }

    def _pipeline_shards(self, pipeline: tuple[int, int]) -> np.ndarray:
        first, count = pipeline
        if not 0 <= first < count:
            raise ValueError(
                f"pipeline must be (index, count) with 0 <= index < count, got {pipeline}"
            )
        if self.index.num_shards < count:
            raise ValueError(
                f"{self.index.directory}: {self.index.num_shards} shards cannot feed "
                f"{count} input pipelines; write smaller shards"
            )
        return np.arange(first, self.index.num_shards, count, dtype=np.int64)

    def _examples(
        self, split: str, *, shuffle: bool, pipeline: tuple[int, int] = (0, 1)
    ) -> tf.data.Dataset:
        import tensorflow as tf

        shards = self._pipeline_shards(pipeline)
        passes = itertools.count()
        want_val = split == "val"
        signature = self._signature(tf)

        def examples(shard: np.int64) -> Iterator[tuple[np.ndarray, ...]]:
            yield from self._shard_blocks(int(shard), want_val, shuffle, next(passes))

        def read(shard: tf.Tensor) -> tf.data.Dataset:
            return tf.data.Dataset.from_generator(
                examples, args=(shard,), output_signature=signature
            ).unbatch()

        ds = tf.data.Dataset.from_tensor_slices(shards)
        if shuffle and len(shards):
            ds = ds.shuffle(len(shards), seed=self.seed, reshuffle_each_iteration=True)
        ds = ds.interleave(read, cycle_length=max(1, self.cycle_length), block_length=1)
        if shuffle and self.shuffle_buffer > 1:
            ds = ds.shuffle(self.shuffle_buffer, seed=self.seed, reshuffle_each_iteration=True)
        total = int(self._shard_counts[shards, int(want_val)].sum())
        return ds.apply(tf.data.experimental.assert_cardinality(total))

    def _signature(self, tf: Any) -> tuple[Any, ...]:
        block = (None, self.seq_len)
        if self.input_mode == "scaled":
            x = tf.TensorSpec((*block, 1), tf.float32)
        else:
            x = tf.TensorSpec(block, tf.int32)
        if self.shape == "windows":
            return x, tf.TensorSpec((None,), tf.int32)
        return x, tf.TensorSpec(block, tf.int32), tf.TensorSpec(block, tf.float32)

    def _shard_blocks(
        self, shard: int, want_val: bool, shuffle: bool, epoch: int
    ) -> Iterator[tuple[np.ndarray, ...]]:
        """Blocks of examples of one shard's songs of one split."""
        info = self.index.shards[shard]
        ids = np.load(self.index.directory / info.file, mmap_mode="r", allow_pickle=False)
        offsets = np.asarray(info.offsets, dtype=np.int64)
        first = self._first_song[shard]
        chosen = np.flatnonzero(self._is_val[first : first + info.songs] == want_val)
        begins, ends = offsets[chosen], offsets[chosen + 1]
        counts = self._examples_per_song(ends - begins)
        step = self.stride if self.shape == "windows" else self.seq_len
        song = np.repeat(np.arange(len(chosen)), counts)
        within = np.arange(len(song), dtype=np.int64) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        starts = begins[song] + within * step
        stops = ends[song]
        del song, within
        if shuffle:
            order = np.random.default_rng([self.seed, shard, epoch]).permutation(len(starts))
            starts, stops = starts[order], stops[order]
        span = np.arange(self.seq_len + 1, dtype=np.int64)
        for at in range(0, len(starts), _BLOCK):
            index = starts[at : at + _BLOCK, None] + span
            valid = index < stops[at : at + _BLOCK, None]
            block = np.where(valid, ids[np.minimum(index, len(ids) - 1)], 0).astype(np.int32)
            x = self._inputs(block[:, :-1])
            if self.shape == "windows":
                yield x, block[:, -1]
            else:
                yield x, block[:, 1:], valid[:, 1:].astype(np.float32)

    def _inputs(self, ids: np.ndarray) -> np.ndarray:
        if self.input_mode == "ids":
            return ids
        return (ids.astype(np.float32) / np.float32(self.vocab_size))[..., None]

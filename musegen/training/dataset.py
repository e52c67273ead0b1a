"""`SequenceDataset`: token ids cut into training examples, split by song, served lazily.

Two training shapes:

- ``"windows"`` (many-to-one, the original recipe): ``seq_len`` ids predict the
  id that follows; a new window starts every ``stride`` ids.
- ``"chunks"`` (many-to-many): consecutive chunks of ``seq_len + 1`` ids that
  overlap by one; each of the first ``seq_len`` ids predicts the id after it, so
  every token is a label exactly once per epoch. A song's short last chunk is
  padded with id 0 and its padded positions get sample weight 0.

No example crosses a song boundary. Songs, not examples, are split between
training and validation (`from_pieces` holds out the end of a single song).
Memory stays O(tokens): the dataset keeps one flat int32 array of ids and the
start index of each example, and `tf.data` gathers the examples while training.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from musegen._words import plural
from musegen.defaults import TRAINING
from musegen.events import Piece
from musegen.keys import key_shift
from musegen.tokens.tokenizer import TokenizerProtocol
from musegen.tokens.vocabulary import Vocabulary

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["SequenceDataset", "normalized", "split_pieces", "split_songs", "transposed"]

Shape = Literal["windows", "chunks"]
InputMode = Literal["ids", "scaled"]


class _Split:
    """The songs of one split as one flat id array with song bounds and example starts."""

    def __init__(
        self, songs: Sequence[np.ndarray], *, seq_len: int, shape: Shape, stride: int
    ) -> None:
        lengths = np.array([len(s) for s in songs], dtype=np.int64)
        self.ids = np.concatenate([*songs, np.zeros(0, np.int32)]).astype(np.int32)
        self.bounds = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        self.num_songs = len(songs)
        starts: list[np.ndarray] = []
        ends: list[np.ndarray] = []
        for begin, n in zip(self.bounds[:-1], lengths, strict=True):
            if shape == "windows":
                local = np.arange(0, max(n - seq_len, 0), stride, dtype=np.int64)
            else:
                local = np.arange(0, max(n - 1, 0), seq_len, dtype=np.int64)
            starts.append(begin + local)
            ends.append(np.full(len(local), begin + n, dtype=np.int64))
        self.starts = np.concatenate([*starts, np.zeros(0, np.int64)])
        self.ends = np.concatenate([*ends, np.zeros(0, np.int64)])

    def song(self, index: int) -> np.ndarray:
        return self.ids[self.bounds[index] : self.bounds[index + 1]]


class SequenceDataset:
    """Training and validation examples of next-token prediction, split by song.

    Build it with `from_pieces` (pieces, a tokenizer and a vocabulary) or
    `from_ids` (id sequences, one per song); the constructor takes songs already
    split into training and validation id arrays. `train` and `val` are
    `tf.data.Dataset`s of ``(inputs, labels)`` for windows and
    ``(inputs, labels, sample_weights)`` for chunks, one example per element;
    `batches` gives batched, prefetched ones.

    Inputs are int32 ids of shape ``(seq_len,)``, or with ``input_mode="scaled"``
    the original recipe's floats ``id / vocab_size`` of shape ``(seq_len, 1)``.
    Labels are sparse int32 ids: shape ``()`` for windows, ``(seq_len,)`` for chunks.
    The defaults (chunks of `musegen.defaults.TRAINING`'s length) are the measured ones.

    Examples:
        >>> data = SequenceDataset.from_ids(
        ...     [[2, 3, 4, 5, 6]], 8, seq_len=2, shape="windows", val_fraction=0)
        >>> sorted((x.tolist(), int(y)) for x, y in data.train.as_numpy_iterator())
        [([2, 3], 4), ([3, 4], 5), ([4, 5], 6)]
        >>> len(data)
        3
    """

    def __init__(
        self,
        train_songs: Sequence[np.ndarray],
        val_songs: Sequence[np.ndarray],
        vocab_size: int,
        *,
        seq_len: int = TRAINING.seq_len,
        shape: Shape = TRAINING.shape,
        stride: int = 1,
        input_mode: InputMode = "ids",
        seed: int = 0,
        tokenizer: TokenizerProtocol | None = None,
        vocabulary: Vocabulary | None = None,
        unknown: Literal["drop", "map"] = "drop",
    ) -> None:
        _check_options(shape, input_mode, seq_len, stride)
        if vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2, got {vocab_size}")
        self.vocab_size = int(vocab_size)
        self.seq_len = int(seq_len)
        self.shape: Shape = shape
        self.stride = int(stride)
        self.input_mode: InputMode = input_mode
        self.seed = int(seed)
        self.tokenizer = tokenizer
        self.vocabulary = vocabulary
        self.unknown = unknown
        self._train = _Split(train_songs, seq_len=seq_len, shape=shape, stride=stride)
        self._val = _Split(val_songs, seq_len=seq_len, shape=shape, stride=stride)

    # ------------------------------------------------------------------ building

    @classmethod
    def from_ids(
        cls,
        songs: Sequence[Sequence[int] | np.ndarray],
        vocab_size: int,
        *,
        seq_len: int = TRAINING.seq_len,
        shape: Shape = TRAINING.shape,
        stride: int = 1,
        val_fraction: float = 0.1,
        seed: int = 0,
        input_mode: InputMode = "ids",
    ) -> SequenceDataset:
        """Build a dataset from id sequences, one per song.

        Args:
            songs: The songs' token ids, each in ``0..vocab_size-1``.
            vocab_size: Number of ids (the model's output size).
            seq_len: Length of each input sequence (default ``TRAINING.seq_len``).
            shape: ``"chunks"`` (many-to-many, the default: ``TRAINING.shape``) or
                ``"windows"`` (many-to-one, the seed's).
            stride: Ids between the starts of consecutive windows (windows only).
            val_fraction: Share of the songs held out for validation.
            seed: Seed of the song split and of the shuffling.
            input_mode: ``"ids"`` or ``"scaled"`` (``id / vocab_size`` floats).

        Raises:
            ValueError: naming the song and id when an id lies outside the vocabulary.

        Examples:
            >>> data = SequenceDataset.from_ids([[2, 3, 4]] * 10, 5, seq_len=2)
            >>> data.num_train_songs, data.num_val_songs
            (9, 1)
        """
        arrays = [np.asarray(s, dtype=np.int64).reshape(-1) for s in songs]
        for index, song in enumerate(arrays):
            bad = song[(song < 0) | (song >= vocab_size)]
            if bad.size:
                raise ValueError(
                    f"song {index}: id {int(bad[0])} is outside the vocabulary "
                    f"(0..{vocab_size - 1})"
                )
        train_index, val_index = split_songs(len(arrays), val_fraction, seed)
        return cls(
            [arrays[i].astype(np.int32) for i in train_index],
            [arrays[i].astype(np.int32) for i in val_index],
            vocab_size,
            seq_len=seq_len,
            shape=shape,
            stride=stride,
            input_mode=input_mode,
            seed=seed,
        )

    @classmethod
    def from_pieces(
        cls,
        pieces: Sequence[Piece],
        tokenizer: TokenizerProtocol,
        vocabulary: Vocabulary,
        *,
        seq_len: int = TRAINING.seq_len,
        shape: Shape = TRAINING.shape,
        stride: int = 1,
        val_fraction: float = 0.1,
        seed: int = 0,
        transpose: tuple[int, int] | None = None,
        normalize_keys: bool = False,
        unknown: Literal["drop", "map"] = "drop",
        input_mode: InputMode = "ids",
    ) -> SequenceDataset:
        """Tokenize pieces, split them by song, and optionally transpose the training songs.

        Args:
            pieces: The songs.
            tokenizer: Turns a `Piece` into tokens (`encode`).
            vocabulary: Turns tokens into ids; its length is the vocabulary size.
            seq_len: Length of each input sequence (default ``TRAINING.seq_len``).
            shape: ``"chunks"`` (many-to-many, the default: ``TRAINING.shape``) or
                ``"windows"`` (many-to-one, the seed's).
            stride: Ids between the starts of consecutive windows (windows only).
            val_fraction: Share of the songs held out for validation (`split_pieces`:
                of a single song, its last part).
            seed: Seed of the song split and of the shuffling.
            transpose: ``(lo, hi)`` semitones: each training song is added once
                per shift in ``lo..hi`` (the untransposed song is always kept).
                A shift that takes a pitch outside MIDI's 0..127 is skipped for
                that song. Validation songs are never transposed. Off unless asked
                for here, because the vocabulary must hold the moved tokens;
                `musegen train` moves them by ``TRAINING.transpose``.
            normalize_keys: Move every song, training and validation, to C major
                or A minor (`musegen.keys.key_shift`) before tokenizing: the
                model learns one key, and writes in any through
                `musegen.tokens.transposition.transposed_vocabulary`. Build the
                vocabulary from the moved songs (`normalized`). Not with `transpose`.
                Off unless asked for here, because the vocabulary must match;
                `musegen train` turns it on (``TRAINING.normalize_keys``).
            unknown: Tokens missing from the vocabulary are ``"drop"``-ped or
                ``"map"``-ped to the unknown id.
            input_mode: ``"ids"`` or ``"scaled"`` (``id / vocab_size`` floats).

        Examples:
            >>> from musegen.events import Event
            >>> from musegen.tokens.tokenizer import Tokenizer
            >>> song = Piece(tuple(Event(i, 1, (60 + i % 3,)) for i in range(6)))
            >>> tok = Tokenizer()
            >>> vocab = tok.build_vocabulary([song, song.transpose(1)])
            >>> data = SequenceDataset.from_pieces(
            ...     [song], tok, vocab, seq_len=3, val_fraction=0, transpose=(0, 1))
            >>> data.num_train_songs, len(data)  # two chunks of 3 from each 6-token song
            (2, 4)
        """
        if unknown not in ("drop", "map"):
            raise ValueError(f"unknown must be 'drop' or 'map', got {unknown!r}")
        if transpose is not None and (len(transpose) != 2 or transpose[0] > transpose[1]):
            raise ValueError(f"transpose must be (lo, hi) with lo <= hi, got {transpose!r}")
        if normalize_keys and transpose is not None:
            raise ValueError(
                "normalize_keys moves every song to one key and transpose moves them out of it: "
                "choose one"
            )
        if normalize_keys:
            pieces = list(normalized(pieces))
        policy: Literal["skip", "map"] = "skip" if unknown == "drop" else "map"

        def encode(piece: Piece) -> np.ndarray:
            ids = vocabulary.encode(tokenizer.encode(piece), unknown=policy)
            return np.asarray(ids, dtype=np.int32)

        train_pieces, val_pieces = split_pieces(pieces, val_fraction, seed)
        shifts = [0] if transpose is None else sorted({0, *range(transpose[0], transpose[1] + 1)})
        train_songs: list[np.ndarray] = []
        for piece in train_pieces:
            for shift in shifts:
                try:
                    moved = piece.transpose(shift) if shift else piece
                except ValueError:  # a pitch would leave 0..127
                    continue
                train_songs.append(encode(moved))
        return cls(
            train_songs,
            [encode(piece) for piece in val_pieces],
            len(vocabulary),
            seq_len=seq_len,
            shape=shape,
            stride=stride,
            input_mode=input_mode,
            seed=seed,
            tokenizer=tokenizer,
            vocabulary=vocabulary,
            unknown=unknown,
        )

    # ------------------------------------------------------------------ sizes

    def __len__(self) -> int:
        """Number of training examples (windows or chunks) per epoch."""
        return len(self._train.starts)

    @property
    def num_val(self) -> int:
        """Number of validation examples."""
        return len(self._val.starts)

    @property
    def num_train_songs(self) -> int:
        """Training songs, transposed copies included."""
        return self._train.num_songs

    @property
    def num_val_songs(self) -> int:
        """Validation songs."""
        return self._val.num_songs

    @property
    def train_ids(self) -> list[np.ndarray]:
        """The training songs' ids, one array per song (transposed copies included)."""
        return [self._train.song(i) for i in range(self._train.num_songs)]

    @property
    def val_ids(self) -> list[np.ndarray]:
        """The validation songs' ids, one array per song."""
        return [self._val.song(i) for i in range(self._val.num_songs)]

    def steps_per_epoch(self, batch_size: int) -> int:
        """Batches in one epoch of training data (the last one may be short).

        Examples:
            >>> SequenceDataset.from_ids([range(2, 12)], 12, seq_len=3,
            ...                          val_fraction=0).steps_per_epoch(2)  # 3 chunks
            2
        """
        return math.ceil(len(self) / batch_size)

    def __repr__(self) -> str:
        return (
            f"SequenceDataset(shape={self.shape!r}, seq_len={self.seq_len}, "
            f"stride={self.stride}, vocab_size={self.vocab_size}, "
            f"train={plural(len(self), 'example')} from {plural(self.num_train_songs, 'song')} / "
            f"{plural(len(self._train.ids), 'token')}, "
            f"val={plural(self.num_val, 'example')} from {plural(self.num_val_songs, 'song')} / "
            f"{plural(len(self._val.ids), 'token')})"
        )

    # ------------------------------------------------------------------ tf.data

    @property
    def train(self) -> tf.data.Dataset:
        """Training examples, one per element, reshuffled on every pass."""
        return self._dataset(self._train, batch_size=None, shuffle=True)

    @property
    def val(self) -> tf.data.Dataset:
        """Validation examples, one per element, in song order."""
        return self._dataset(self._val, batch_size=None, shuffle=False)

    def batches(
        self,
        batch_size: int,
        *,
        split: Literal["train", "val"] = "train",
        shuffle: bool | None = None,
        drop_remainder: bool = False,
        pipeline: tuple[int, int] = (0, 1),
    ) -> tf.data.Dataset:
        """Batched, prefetched examples (faster than ``train.batch(n)``: one gather per batch).

        Args:
            batch_size: Examples per batch.
            split: ``"train"`` or ``"val"``.
            shuffle: Reshuffle on every pass; by default only the training split is.
            drop_remainder: Leave out the last, short batch.
            pipeline: ``(index, count)``: read only examples ``index, index + count, ...``
                of the split (one input pipeline of several, e.g. one per worker; the
                pipelines share no example and together read them all).

        Examples:
            >>> data = SequenceDataset.from_ids([range(2, 12)], 12, seq_len=3,
            ...                                 shape="chunks", val_fraction=0)
            >>> x, y, w = next(iter(data.batches(2, shuffle=False)))
            >>> x.shape.as_list(), w.numpy()[1].tolist()
            ([2, 3], [1.0, 1.0, 1.0])
            >>> [len(list(data.batches(1, pipeline=(i, 2)))) for i in (0, 1)]
            [2, 1]
        """
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        first, count = pipeline
        if not 0 <= first < count:
            raise ValueError(
                f"pipeline must be (index, count) with 0 <= index < count, got {pipeline}"
            )
        part = self._train if split == "train" else self._val
        return self._dataset(
            part,
            batch_size=batch_size,
            shuffle=split == "train" if shuffle is None else shuffle,
            drop_remainder=drop_remainder,
            examples=slice(first, None, count),
        )

    def _dataset(
        self,
        part: _Split,
        *,
        batch_size: int | None,
        shuffle: bool,
        drop_remainder: bool = False,
        examples: slice = slice(None),
    ) -> tf.data.Dataset:
        import tensorflow as tf

        flat = tf.constant(part.ids)
        seq_len = self.seq_len
        offsets = tf.range(seq_len + 1, dtype=tf.int64)  # the inputs and the id after them
        scale = float(self.vocab_size)
        scaled = self.input_mode == "scaled"

        def inputs(ids: tf.Tensor) -> tf.Tensor:
            if not scaled:
                return ids
            return tf.expand_dims(tf.cast(ids, tf.float32) / scale, -1)

        def window(start: tf.Tensor, end: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            del end  # a window always fits in its song
            ids = tf.gather(flat, tf.expand_dims(start, -1) + offsets)
            return inputs(ids[..., :seq_len]), ids[..., seq_len]

        def chunk(start: tf.Tensor, end: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
            index = tf.expand_dims(start, -1) + offsets
            valid = index < tf.expand_dims(end, -1)
            last = tf.size(flat, tf.int64) - 1
            ids = tf.where(valid, tf.gather(flat, tf.minimum(index, last)), 0)
            weights = tf.cast(valid[..., 1:], tf.float32)
            return inputs(ids[..., :-1]), ids[..., 1:], weights

        starts, ends = part.starts[examples], part.ends[examples]
        ds = tf.data.Dataset.from_tensor_slices((starts, ends))
        if shuffle and len(starts):
            ds = ds.shuffle(len(starts), seed=self.seed, reshuffle_each_iteration=True)
        if batch_size is not None:
            ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        fn: Any = window if self.shape == "windows" else chunk
        ds = ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE) if batch_size is not None else ds

    # ------------------------------------------------------------------ priming

    def prime(
        self,
        n: int | None = None,
        *,
        source: Literal["val", "train"] | str | os.PathLike[str] = "val",
        seed: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """A seed sequence of `n` ids (default ``seq_len``) to start generation from.

        Args:
            n: Number of ids.
            source: ``"val"`` (a random stretch of a random validation song),
                ``"train"``, or the path of a MIDI file, read with
                `musegen.io.reading.read_midi` and this dataset's tokenizer and
                vocabulary (its first `n` ids).
            seed: Seed or generator choosing the song and the stretch.

        Raises:
            ValueError: when no song of the source has `n` ids (naming the file).

        Examples:
            >>> data = SequenceDataset.from_ids([[2, 3, 4, 5]] * 4, 6, seq_len=2,
            ...                                 val_fraction=0.5)
            >>> len(data.prime(seed=0))
            2
        """
        length = self.seq_len if n is None else int(n)
        rng = np.random.default_rng(seed)
        if source in ("val", "train"):
            part = self._val if source == "val" else self._train
            fits = [i for i in range(part.num_songs) if len(part.song(i)) >= length]
            if not fits:
                raise ValueError(f"no {source} song has {length} ids to prime from")
            song = part.song(fits[int(rng.integers(len(fits)))])
            start = int(rng.integers(len(song) - length + 1))
            return song[start : start + length].copy()
        return self._prime_from_file(Path(source), length)

    def _prime_from_file(self, path: Path, length: int) -> np.ndarray:
        if self.tokenizer is None or self.vocabulary is None:
            raise ValueError(f"{path}: priming from a file needs a dataset built with from_pieces")
        from musegen.io.reading import read_midi

        policy: Literal["skip", "map"] = "skip" if self.unknown == "drop" else "map"
        tokens = self.tokenizer.encode(read_midi(path))
        ids = np.asarray(self.vocabulary.encode(tokens, unknown=policy), dtype=np.int32)
        if len(ids) < length:
            raise ValueError(f"{path}: has {len(ids)} known tokens, {length} needed to prime")
        return ids[:length]


def _check_options(shape: str, input_mode: str, seq_len: int, stride: int) -> None:
    """Refuse example options that make no sense, naming them (shared with the shards)."""
    if shape not in ("windows", "chunks"):
        raise ValueError(f"shape must be 'windows' or 'chunks', got {shape!r}")
    if input_mode not in ("ids", "scaled"):
        raise ValueError(f"input_mode must be 'ids' or 'scaled', got {input_mode!r}")
    if seq_len < 1 or stride < 1:
        raise ValueError(f"seq_len and stride must be >= 1, got {seq_len} and {stride}")
    if shape == "chunks" and stride != 1:
        raise ValueError(f"stride applies to windows only; chunks got stride={stride}")


def split_songs(count: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Song indices for training and validation: a seeded shuffle, at least one of each.

    At least one song goes to validation when ``val_fraction > 0`` and there are
    two songs or more. `SequenceDataset` and ``musegen train`` split so: the same
    count, fraction and seed name the same held-out songs.

    Examples:
        >>> split_songs(10, 0.2, seed=0)
        ([0, 1, 2, 3, 5, 7, 8, 9], [4, 6])
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction}")
    order = np.random.default_rng(seed).permutation(count)
    n_val = round(count * val_fraction)
    if val_fraction > 0 and count >= 2:
        n_val = min(max(n_val, 1), count - 1)
    return sorted(order[n_val:].tolist()), sorted(order[:n_val].tolist())


def split_pieces(
    pieces: Sequence[Piece], val_fraction: float, seed: int
) -> tuple[list[Piece], list[Piece]]:
    """Training and validation pieces: whole songs (`split_songs`), or the end of a single song.

    With two songs or more the songs are split as `split_songs` splits them. A
    single song with ``val_fraction > 0`` is cut at the first onset at or after
    ``(1 - val_fraction)`` of its length: its start trains (notes sounding past
    the cut are shortened to it), its end, moved to start at 0, is held out. A
    song whose notes all start together cannot be cut and holds nothing out.
    `SequenceDataset.from_pieces` splits so; build the vocabulary from the
    training pieces, so a held-out token it lacks is unknown, as in a new song.

    Examples:
        >>> from musegen.events import Event
        >>> song = Piece(tuple(Event(i, 1, (60 + i,)) for i in range(10)))
        >>> train, held = split_pieces([song], 0.2, seed=0)
        >>> train[0].duration, [e.pitches for e in held[0].events]
        (8.0, [(68,), (69,)])
    """
    if len(pieces) != 1 or val_fraction <= 0 or not isinstance(pieces[0], Piece):
        train_index, val_index = split_songs(len(pieces), val_fraction, seed)
        return [pieces[i] for i in train_index], [pieces[i] for i in val_index]
    song = pieces[0]
    onsets = sorted({e.offset for e in song.events})[1:]  # a cut before the first trains nothing
    if not onsets:
        return [song], []
    cut = next((t for t in onsets if t >= (1 - val_fraction) * song.duration), onsets[-1])
    head = [
        replace(e, duration=min(e.duration, cut - e.offset)) for e in song.events if e.offset < cut
    ]
    tail = [replace(e, offset=e.offset - cut) for e in song.events if e.offset >= cut]
    return [song.with_events(head)], [song.with_events(tail)]


def normalized(pieces: Iterable[Piece]) -> Iterator[Piece]:
    """Each piece moved to C major or A minor (`musegen.keys.key_shift`).

    Build the vocabulary from these when the dataset normalizes keys
    (``SequenceDataset.from_pieces(..., normalize_keys=True)``).

    Examples:
        >>> from musegen.events import Event
        >>> g_major = Piece(tuple(Event(i, 1, (p,)) for i, p in enumerate([67, 71, 74, 66, 67])))
        >>> [e.pitches[0] for e in next(normalized([g_major])).events]
        [72, 76, 79, 71, 72]
    """
    for piece in pieces:
        shift = key_shift(piece)
        try:
            yield piece.transpose(shift)
        except ValueError:  # a pitch would leave 0..127: the same key an octave the other way
            yield piece.transpose(shift - 12 if shift > 0 else shift + 12)


def transposed(pieces: Iterable[Piece], low: int, high: int) -> Iterator[Piece]:
    """Every piece moved by every shift in ``low..high`` that keeps it in MIDI's range.

    Build the vocabulary from these when the dataset transposes its training
    songs (``SequenceDataset.from_pieces(..., transpose=(low, high))``), so the
    moved tokens are not dropped as unknown.

    Examples:
        >>> from musegen.events import Event
        >>> [p.events[0].pitches for p in transposed([Piece((Event(0, 1, (1,)),))], -2, 1)]
        [(0,), (1,), (2,)]
    """
    for piece in pieces:
        for shift in range(low, high + 1):
            try:
                yield piece.transpose(shift)
            except ValueError:  # a pitch would leave 0..127
                continue

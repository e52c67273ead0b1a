"""`TranspositionViews`: one model read in several keys at once, its predictions averaged.

A model trained on songs moved by a few semitones (``transpose=(-3, 3)``) has
learnt each song in several keys, never exactly the same way. Reading the music
moved by each of `semitones` and averaging the model's next-id distributions,
read back in the music's own key, is a mixture of those readings: a proper
next-id distribution, so `musegen.evaluation.likelihood.nll_per_quarter` scores
it like any model and `musegen.generation.decoding.generate` samples from it.
On the JSB Chorales (`bench/jsb.py`), a 2 x LSTM 128 trained in 7 keys for 3
minutes scored 4.78 nats per frame on the test chorales alone and 4.40 read in
its 7 keys.

A view whose music would need a token the vocabulary does not have (a pitch off
MIDI's range, a chord never seen in that key) drops out of the mixture for that
stream from that id on; the view at 0 semitones never does.

Examples:
    >>> from musegen.tokens.note_tokenizer import NoteTokenizer
    >>> from musegen.tokens.vocabulary import Vocabulary
    >>> vocab = Vocabulary(["C4", "C#4", "D4", "4th"])
    >>> views = TranspositionViews(NoteTokenizer(), vocab, range(-1, 2))
    >>> views.ids[:, 2:].tolist()  # each view's id of C4, C#4, D4, 4th (-1: none)
    [[-1, 2, 3, 5], [2, 3, 4, 5], [3, 4, -1, 5]]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from musegen.tokens.transposition import transpose_token
from musegen.tokens.vocabulary import Vocabulary

__all__ = ["TranspositionViews"]


class TranspositionViews:
    """The id maps of the music moved by each of `semitones`, and the mixture of their readings.

    Args:
        tokenizer: The tokenizer of `vocabulary` (it must describe and spell
            pitches, as `musegen.tokens.transposition.transpose_token` needs).
        vocabulary: The model's vocabulary.
        semitones: The moves, 0 included (default -3..+3).

    Raises:
        ValueError: when `semitones` is empty, repeats a move or leaves out 0.

    Examples:
        >>> from musegen.tokens.note_tokenizer import NoteTokenizer
        >>> views = TranspositionViews(NoteTokenizer(), Vocabulary(["C4", "D4"]), (-2, 0, 2))
        >>> views.semitones, views.ids.shape
        ((-2, 0, 2), (3, 4))
    """

    def __init__(
        self, tokenizer: Any, vocabulary: Vocabulary, semitones: Iterable[int] = range(-3, 4)
    ) -> None:
        self.semitones = tuple(int(s) for s in semitones)
        if 0 not in self.semitones or len(set(self.semitones)) != len(self.semitones):
            raise ValueError(f"semitones must hold 0 once and each move once, got {self.semitones}")
        reserved = list(Vocabulary.reserved_ids)
        rows = []
        for shift in self.semitones:
            moved = (transpose_token(tokenizer, t, shift) for t in vocabulary.tokens)
            rows.append(reserved + [-1 if m is None or m not in vocabulary else
                                    vocabulary.id_of(m) for m in moved])  # fmt: skip
        self.ids = np.array(rows, dtype=np.int64)
        """``ids[v, i]``: the id of id `i`'s token moved by ``semitones[v]``, or -1."""

    @classmethod
    def around(
        cls, tokenizer: Any, vocabulary: Vocabulary, reach: int
    ) -> TranspositionViews | None:
        """The views -`reach`..+`reach` semitones around the music's key, or None for 0.

        Raises:
            ValueError: for a negative reach, or a tokenizer whose tokens do not
                move (a band's).

        Examples:
            >>> from musegen.tokens.note_tokenizer import NoteTokenizer
            >>> vocab = Vocabulary(["C4", "D4"])
            >>> TranspositionViews.around(NoteTokenizer(), vocab, 1).semitones
            (-1, 0, 1)
            >>> print(TranspositionViews.around(NoteTokenizer(), vocab, 0))
            None
        """
        if reach < 0:
            raise ValueError(f"views must be >= 0 semitones each way, got {reach}")
        return cls(tokenizer, vocabulary, range(-reach, reach + 1)) if reach else None

    @classmethod
    def of_bundle(cls, bundle: Any, semitones: int | None = None) -> TranspositionViews | None:
        """A bundle's model read in the keys `semitones` each way, or None for 0 (`around`).

        None for `semitones` is the reach the bundle was trained with
        (`musegen.training.bundle.Bundle.view_semitones`, ``musegen train --views``).

        Examples:
            >>> from musegen.tokens.note_tokenizer import NoteTokenizer
            >>> from musegen.training.bundle import Bundle
            >>> from musegen.training.model import build_lstm
            >>> vocab = Vocabulary(["C4", "D4", "4th"])
            >>> bundle = Bundle(build_lstm(len(vocab), units=(4,)), NoteTokenizer(), vocab,
            ...                 {"training": {"views": 2}})
            >>> TranspositionViews.of_bundle(bundle).semitones
            (-2, -1, 0, 1, 2)
            >>> print(TranspositionViews.of_bundle(bundle, 0))
            None
        """
        reach = bundle.view_semitones if semitones is None else int(semitones)
        return cls.around(bundle.tokenizer, bundle.vocabulary, reach)

    def __len__(self) -> int:
        return len(self.semitones)

    def __repr__(self) -> str:
        return f"TranspositionViews(semitones={self.semitones}, vocab_size={self.ids.shape[1]})"

    def check(self, vocab_size: int, model: str) -> None:
        """Raise ValueError unless these views map the `vocab_size` ids `model` predicts."""
        if self.ids.shape[1] != vocab_size:
            raise ValueError(
                f"the views map {self.ids.shape[1]} ids; model {model!r} predicts {vocab_size}"
            )

    def inputs(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each view's ids of `ids` ``[batch, time]``, and where each view can read them.

        Returns:
            ``(moved, ok)``: `moved` ``[views * batch, time]`` (view-major; an id a
            view lacks is read as the pad id) and `ok` ``[views, batch, time]``:
            whether the view has every id up to and including that one. A view
            takes part in a prediction only where it read every id before it, so
            the mixture never looks ahead.

        Examples:
            >>> from musegen.tokens.note_tokenizer import NoteTokenizer
            >>> views = TranspositionViews(NoteTokenizer(), Vocabulary(["C4", "D4"]), (0, 2))
            >>> moved, ok = views.inputs(np.array([[2, 3, 2]]))
            >>> moved.tolist(), ok.tolist()
            ([[2, 3, 2], [3, 0, 3]], [[[True, True, True]], [[True, False, False]]])
        """
        ids = np.asarray(ids, dtype=np.int64)
        moved = self.ids[:, ids]  # [views, batch, time]
        ok = np.logical_and.accumulate(moved >= 0, axis=-1)
        return np.maximum(moved, 0).reshape(-1, ids.shape[-1]), ok

    def mix(self, logits: np.ndarray, ok: np.ndarray) -> np.ndarray:
        """The mixture's log-probabilities ``[batch, ..., vocab]`` from each view's logits.

        Args:
            logits: The model's outputs on `inputs`' ids, ``[views * batch, ..., vocab]``
                (logits or log-probabilities).
            ok: ``[views, batch, ...]``: where each view takes part, per stream
                (and time step, as `inputs` gives it).

        Examples:
            >>> from musegen.tokens.note_tokenizer import NoteTokenizer
            >>> views = TranspositionViews(NoteTokenizer(), Vocabulary(["C4", "D4"]), (0, 2))
            >>> logits = np.log(np.array([[.1, .1, .5, .3], [.1, .1, .2, .6]]))  # [2 views, 4]
            >>> np.exp(views.mix(logits, np.array([[True], [True]]))).round(3).tolist()
            [[0.113, 0.113, 0.625, 0.15]]
        """
        count, batch = ok.shape[:2]
        x = np.asarray(logits, dtype=np.float64).reshape(count, batch, *logits.shape[1:])
        x = x - x.max(axis=-1, keepdims=True)
        x = x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
        # view v's log-probability of each id, read in the music's key
        read = np.stack([x[v][..., np.maximum(self.ids[v], 0)] for v in range(count)])
        missing = (self.ids < 0).reshape(count, *([1] * (x.ndim - 2)), -1)
        read = np.where(missing, -np.inf, read)
        read = read - np.logaddexp.reduce(read, axis=-1, keepdims=True)  # renormalized
        weight = np.where(ok, 0.0, -np.inf)[..., None]
        mixed = np.logaddexp.reduce(read + weight, axis=0)
        return mixed - np.log(ok.sum(axis=0))[..., None]

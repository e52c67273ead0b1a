"""The `LogitsProcessor` protocol and `BaseProcessor`, the thin base every processor builds on.

A processor reshapes a batch of logits before a sampler picks from them: it
lowers some (a penalty) or sets them to ``-inf`` (a constraint). It reads the
ids generated so far, one row per stream, and draws no randomness, so a seeded
`musegen.generation.decoding.generate` stays reproducible with any processors.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from typing_extensions import Protocol, Self, runtime_checkable

from musegen.tokens.token_table import TokenTable

__all__ = ["BaseProcessor", "LogitsProcessor"]


@runtime_checkable
class LogitsProcessor(Protocol):
    """Anything that turns logits ``[batch, vocab]`` into new logits, given the ids so far.

    Examples:
        >>> from musegen.generation.processors import NoRepeatNGram
        >>> isinstance(NoRepeatNGram(3), LogitsProcessor)
        True
    """

    def __call__(self, logits: np.ndarray, ids: np.ndarray, start: int = 0) -> np.ndarray:
        """New logits for `logits` ``[batch, vocab]``, given `ids` ``[batch, time]``.

        ``ids[:, start:]`` are the generated ones, ``ids[:, :start]`` the prime.
        """
        ...


class BaseProcessor:
    """Shape checks, binding to a `TokenTable`, configuration; subclasses only `process`.

    A processor whose class sets ``needs_table = True`` reads what ids mean
    (pitches, kinds, the grammar): `bind` gives it the table of the model's
    vocabulary (`musegen.generation.decoding.generate` does this when given ``table=``).

    Decoding runs processors through a `musegen.generation.processors.chain.Chain`, which
    gives `step` the last `lookback` ids only (all of them by default) and the
    processor's state per stream: one that needs more than the last few ids
    (every n-gram so far, the events so far) keeps it incrementally in
    `begin` (from the prime), `advance` (one id more) and `take` (beams
    reordered), so that a step costs the same at the 10th and the 10,000th id.

    Examples:
        >>> import numpy as np
        >>> from musegen.generation.processors import RepetitionPenalty
        >>> penalty = RepetitionPenalty(penalty=2.0, window=2)
        >>> penalty(np.zeros((1, 4)), np.array([[3, 2]])).round(3).tolist()
        [[0.0, 0.0, -0.693, -0.693]]
    """

    needs_table: bool = False
    """Whether `process` reads `table`."""

    hard: bool = False
    """A constraint (it forbids ids outright): a chain runs these first, then the rest."""

    yields: bool = False
    """It forbids ids only where others stay allowed: a chain decides this last, over
    what the whole chain leaves (see `banned`)."""

    table: TokenTable | None = None
    """The table of the vocabulary, once bound."""

    lookback: int | None = None
    """How many of the last ids `step` and `advance` read (None: all of them)."""

    def __call__(self, logits: np.ndarray, ids: np.ndarray, start: int = 0) -> np.ndarray:
        """Check the shapes, then `process` a float64 copy of `logits` (the caller's is kept).

        Raises:
            ValueError: for logits that are not ``[batch, vocab]``, ids with
                another batch, or a table of another vocabulary size.
            RuntimeError: for a processor that needs a table and has none.
        """
        logits = np.array(logits, dtype=np.float64)
        ids = np.asarray(ids, dtype=np.int64)
        self.check(logits, ids)
        return self.process(logits, ids, start)

    def check(self, logits: np.ndarray, ids: np.ndarray) -> None:
        """Raise for logits and ids that do not fit (see `__call__`)."""
        if logits.ndim != 2 or ids.ndim != 2 or len(ids) != len(logits):
            raise ValueError(
                f"{type(self).__name__} needs logits [batch, vocab] and ids [batch, time], "
                f"got shapes {logits.shape} and {ids.shape}"
            )
        if self.needs_table:
            if self.table is None:
                raise RuntimeError(
                    f"{type(self).__name__} reads what ids mean: bind it to a TokenTable first "
                    "(generate(..., table=TokenTable.build(tokenizer, vocabulary)))"
                )
            if len(self.table) != logits.shape[1]:
                raise ValueError(
                    f"{type(self).__name__}: the vocabulary has {len(self.table)} ids but the "
                    f"model gives {logits.shape[1]} logits: a bundle's vocabulary and model differ"
                )

    def process(self, logits: np.ndarray, ids: np.ndarray, start: int) -> np.ndarray:
        """Return new logits; may change `logits` (a float64 copy) in place.

        The one hook for subclasses. `ids` ``[batch, time]`` are every id so far
        (the prime's, then the generated ones from column `start`).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement process()")

    # -- per-stream state, for a `musegen.generation.processors.chain.Chain` ----------------

    def begin(self, ids: np.ndarray, start: int) -> Any:
        """The state of each row after `ids` ``[batch, time]`` (None: this processor keeps none)."""
        return None

    def advance(self, state: Any, ids: np.ndarray) -> Any:
        """The state once `ids` (the last `lookback` at least) end with one id more."""
        return state

    def take(self, state: Any, rows: np.ndarray) -> Any:
        """The state of rows `rows` (an index array: beams reordered, or a subset)."""
        return state

    def step(self, logits: np.ndarray, ids: np.ndarray, start: int, state: Any) -> np.ndarray:
        """`process` from `state` and the last `lookback` ids; by default `process` itself."""
        return self.process(logits, ids, start)

    def banned(self, ids: np.ndarray, start: int, vocab: int, state: Any) -> np.ndarray:
        """``bool [batch, vocab]``: the ids a yielding processor forbids where it can."""
        raise NotImplementedError(f"{type(self).__name__} does not yield")

    def bind(self, table: TokenTable) -> Self:
        """A copy of this processor reading `table` (this one is left unbound).

        Examples:
            >>> from musegen.generation.processors import KeyConstraint
            >>> from musegen.tokens.tokenizer import Tokenizer
            >>> from musegen.tokens.vocabulary import Vocabulary
            >>> table = TokenTable.build(Tokenizer(), Vocabulary(["C4", "C#4"]))
            >>> KeyConstraint("C major").bind(table).table is table
            True
        """
        bound = copy.copy(self)
        bound.table = table
        return bound

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration; ``from_config`` rebuilds an equal (unbound) processor."""
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild a processor from `get_config` output."""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.get_config())))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def forbid(logits: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Set to ``-inf`` the logits where `allowed` (broadcast to ``[batch, vocab]``) is False."""
    logits[~np.broadcast_to(allowed, logits.shape)] = -np.inf
    return logits


def give_way(logits: np.ndarray, banned: np.ndarray) -> np.ndarray:
    """Set the `banned` logits to ``-inf``, except in rows where nothing else would be left."""
    banned = banned & (np.isfinite(logits) & ~banned).any(axis=1)[:, None]
    logits[banned] = -np.inf
    return logits

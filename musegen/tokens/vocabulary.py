"""`Vocabulary`: maps tokens to integer ids and back, with reserved padding and unknown ids."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from musegen._files import atomic_write_text, dump_document, load_document

__all__ = ["PAD_TOKEN", "UNK_TOKEN", "UnknownTokenError", "Vocabulary"]

PAD_TOKEN = "<pad>"
"""Token of id 0, used to pad sequences; never produced by a tokenizer."""
UNK_TOKEN = "<unk>"
"""Token of id 1, standing for any token the vocabulary does not hold."""


class UnknownTokenError(KeyError):
    """A token is not in the vocabulary (the message names it and its position)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown token"


class Vocabulary:
    """Token <-> id mapping; ids 0 and 1 are reserved for padding and unknown tokens.

    Tokens get ids 2, 3, ... in the order given (repeats dropped). `build` sorts
    them, so the same token set always gives the same ids, whatever order the
    corpus was read in.

    Args:
        tokens: The tokens in id order (reserved tokens are added, not repeated).

    Examples:
        >>> vocab = Vocabulary.build([["C4", "E4", "C4"], ["G4"]])
        >>> len(vocab), vocab.encode(["C4", "G4", "B9"])
        (5, [2, 4, 1])
        >>> vocab.decode([2, 3])
        ['C4', 'E4']
    """

    pad_id = 0
    unk_id = 1
    reserved_ids = (0, 1)

    def __init__(self, tokens: Iterable[str]) -> None:
        distinct = list(dict.fromkeys(t for t in tokens if t not in (PAD_TOKEN, UNK_TOKEN)))
        for token in distinct:
            if not isinstance(token, str) or not token:
                raise ValueError(f"vocabulary tokens must be non-empty strings, got {token!r}")
        self._id_to_token: list[str] = [PAD_TOKEN, UNK_TOKEN, *distinct]
        self._token_to_id = {t: i for i, t in enumerate(self._id_to_token)}

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], *, min_count: int = 1) -> Vocabulary:
        """Build a vocabulary from token sequences, keeping tokens seen `min_count` times.

        Examples:
            >>> Vocabulary.build([["a", "a", "b"]], min_count=2).tokens
            ['a']
        """
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        counts: Counter[str] = Counter()
        for seq in sequences:
            counts.update(seq)
        return cls(sorted(t for t, n in counts.items() if n >= min_count))

    def __len__(self) -> int:
        return len(self._id_to_token)

    def __contains__(self, token: object) -> bool:
        return token in self._token_to_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._id_to_token == other._id_to_token

    def __hash__(self) -> int:
        return hash(tuple(self._id_to_token))

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} ids)"

    @property
    def tokens(self) -> list[str]:
        """The tokens in id order, reserved tokens left out."""
        return self._id_to_token[2:]

    def id_of(self, token: str) -> int:
        """The id of `token`; raises `UnknownTokenError` naming it when absent."""
        try:
            return self._token_to_id[token]
        except KeyError:
            raise UnknownTokenError(f"token {token!r} is not in the vocabulary") from None

    def encode(
        self, tokens: Iterable[str], *, unknown: Literal["map", "skip", "error"] = "map"
    ) -> list[int]:
        """Turn tokens into ids.

        Args:
            tokens: Tokens to encode.
            unknown: What to do with a token not in the vocabulary: ``"map"`` it to
                the unknown id, ``"skip"`` it, or raise an ``"error"``.

        Raises:
            UnknownTokenError: with ``unknown="error"``, naming the token and its position.

        Examples:
            >>> Vocabulary(["x"]).encode(["x", "y"], unknown="skip")
            [2]
        """
        if unknown not in ("map", "skip", "error"):
            raise ValueError(f"unknown must be 'map', 'skip' or 'error', got {unknown!r}")
        ids: list[int] = []
        lookup = self._token_to_id
        for position, token in enumerate(tokens):
            found = lookup.get(token)
            if found is None or found < 2:
                if unknown == "error":
                    raise UnknownTokenError(
                        f"token {token!r} at position {position} is not in the vocabulary"
                    )
                if unknown == "skip":
                    continue
                found = self.unk_id
            ids.append(found)
        return ids

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Turn ids into tokens; reserved ids give ``"<pad>"`` / ``"<unk>"``.

        Raises:
            ValueError: naming the first id outside ``0..len(self)-1``.

        Examples:
            >>> Vocabulary(["x"]).decode([2, 1])
            ['x', '<unk>']
        """
        table = self._id_to_token
        out: list[str] = []
        for i in ids:
            index = int(i)
            if not 0 <= index < len(table):
                raise ValueError(f"id {index} is outside the vocabulary (0..{len(table) - 1})")
            out.append(table[index])
        return out

    def get_config(self) -> dict[str, Any]:
        """JSON-able configuration; `from_config` rebuilds an equal vocabulary."""
        return {"tokens": self.tokens}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Vocabulary:
        """Rebuild a vocabulary from `get_config` output."""
        tokens = config.get("tokens")
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError("vocabulary config needs 'tokens', a list of strings")
        if len(set(tokens)) != len(tokens):
            raise ValueError("vocabulary config repeats a token")
        return cls(tokens)

    def to_json(self) -> str:
        """The vocabulary as a versioned JSON document."""
        return dump_document("vocabulary", type(self).__name__, self.get_config())

    @classmethod
    def from_json(cls, text: str, *, source: str = "<string>") -> Vocabulary:
        """Read a vocabulary from `to_json` output; errors name `source`."""
        _, config = load_document(text, "vocabulary", source)
        return cls.from_config(config)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the vocabulary as JSON to `path` (atomically)."""
        return atomic_write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vocabulary:
        """Read a vocabulary saved with `save`.

        Examples:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "vocab.json"
            >>> _ = Vocabulary(["C4"]).save(p)
            >>> Vocabulary.load(p).tokens
            ['C4']
        """
        return cls.from_json(Path(path).read_text(encoding="utf-8"), source=str(path))

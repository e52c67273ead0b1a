"""Logits processors: reshape a batch of logits before a sampler picks (penalties, constraints).

A chain's result does not depend on its order (`apply`); processors compose with
any sampler: `musegen.generation.decoding.generate` and `musegen.generation.beam.beam_search` take
``processors=[...]``. Those that read what ids mean (pitches, the grammar) take
the vocabulary's `musegen.tokens.token_table.TokenTable` (``table=``).

`get` turns a name, a config dict or an instance into a processor; `serialize`
and `deserialize` go to and from JSON-able dicts; `apply` runs a chain once,
and `Chain` runs it step by step, keeping each processor's state per stream.

Examples:
    >>> from musegen import processors
    >>> chain = [processors.get("repetition_penalty", penalty=1.3), processors.NoRepeatNGram(4)]
    >>> [processors.serialize(p)["class_name"] for p in chain]
    ['RepetitionPenalty', 'NoRepeatNGram']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from musegen import _registry
from musegen.generation.processors.bar_constraint import BarConstraint
from musegen.generation.processors.base import BaseProcessor, LogitsProcessor
from musegen.generation.processors.chain import Chain
from musegen.generation.processors.chord_progression import ChordProgression
from musegen.generation.processors.grammar_constraint import GrammarConstraint
from musegen.generation.processors.key_constraint import KeyConstraint
from musegen.generation.processors.melody_constraint import MelodyConstraint
from musegen.generation.processors.no_repeat_ngram import NoRepeatNGram
from musegen.generation.processors.note_density import NoteDensity
from musegen.generation.processors.pitch_class_histogram import PitchClassHistogram
from musegen.generation.processors.pitch_range import PitchRange
from musegen.generation.processors.repetition_penalty import RepetitionPenalty
from musegen.tokens.token_table import TokenTable

__all__ = [
    "BarConstraint",
    "BaseProcessor",
    "Chain",
    "ChordProgression",
    "GrammarConstraint",
    "KeyConstraint",
    "LogitsProcessor",
    "MelodyConstraint",
    "NoRepeatNGram",
    "NoteDensity",
    "PitchClassHistogram",
    "PitchRange",
    "RepetitionPenalty",
    "apply",
    "check",
    "deserialize",
    "get",
    "prepare",
    "run",
    "serialize",
]

_BY_NAME: dict[str, type[BaseProcessor]] = {
    "repetition_penalty": RepetitionPenalty,
    "no_repeat_ngram": NoRepeatNGram,
    "key": KeyConstraint,
    "pitch_range": PitchRange,
    "grammar": GrammarConstraint,
    "melody": MelodyConstraint,
    "chords": ChordProgression,
    "pitch_classes": PitchClassHistogram,
    "density": NoteDensity,
    "bars": BarConstraint,
}
_BY_NAME.update({cls.__name__: cls for cls in set(_BY_NAME.values())})


def get(identifier: str | dict[str, Any] | LogitsProcessor, **kwargs: Any) -> LogitsProcessor:
    """Resolve a processor name, `serialize` dict or processor instance into a processor.

    Names: ``"repetition_penalty"``, ``"no_repeat_ngram"``, ``"key"``,
    ``"pitch_range"``, ``"grammar"``, ``"melody"``, ``"chords"``, ``"pitch_classes"``,
    ``"density"``, or a class name.

    Raises:
        ValueError: naming an unknown processor and the known names.

    Examples:
        >>> get("key", key="D minor")
        KeyConstraint(key='D minor')
    """
    return _registry.resolve(identifier, kwargs, _BY_NAME, "processor", LogitsProcessor)


def serialize(processor: BaseProcessor) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``, JSON-able.

    Examples:
        >>> serialize(NoRepeatNGram(3))
        {'class_name': 'NoRepeatNGram', 'config': {'n': 3}}
    """
    return {"class_name": type(processor).__name__, "config": processor.get_config()}


def deserialize(config: dict[str, Any]) -> BaseProcessor:
    """Rebuild a processor from `serialize` output.

    Raises:
        ValueError: if the dict lacks ``class_name`` or names an unknown processor.

    Examples:
        >>> deserialize({"class_name": "PitchRange", "config": {"low": 48, "high": 84}})
        PitchRange(low=48, high=84)
    """
    return _registry.rebuild(config, _BY_NAME, "processor")


def prepare(
    processors: Iterable[str | dict[str, Any] | LogitsProcessor],
    table: TokenTable | None,
    vocab_size: int,
) -> list[LogitsProcessor]:
    """Resolve each processor with `get` and bind those that read a table to `table`.

    Raises:
        ValueError: when a processor needs a table and none is given, or the
            table's vocabulary is not the model's (`vocab_size` logits).

    Examples:
        >>> key = {"class_name": "KeyConstraint", "config": {"key": "C major"}}
        >>> prepare(["no_repeat_ngram", key], None, 10)
        Traceback (most recent call last):
        ...
        ValueError: KeyConstraint needs table=TokenTable.build(tokenizer, vocabulary)
    """
    chain = [get(p) for p in processors]
    if table is not None and len(table) != vocab_size:
        raise ValueError(
            f"the table's vocabulary has {len(table)} ids but the model gives {vocab_size} "
            "logits: the vocabulary is not the model's"
        )
    for i, processor in enumerate(chain):
        if isinstance(processor, BaseProcessor) and processor.needs_table:
            if processor.table is None and table is None:
                raise ValueError(
                    f"{type(processor).__name__} needs "
                    "table=TokenTable.build(tokenizer, vocabulary)"
                )
            if processor.table is None:
                chain[i] = processor.bind(table)  # type: ignore[arg-type]
    return chain


def apply(
    chain: Sequence[LogitsProcessor],
    logits: np.ndarray,
    ids: np.ndarray,
    start: int,
    reserved: Sequence[int] = (),
) -> np.ndarray:
    """Run the processors of `chain` on `logits` ``[batch, vocab]``: the same in any order.

    The `reserved` ids (which no sampler picks) are forbidden first, then the
    constraints (``hard``) run, then the others in their order; a processor
    that yields (`NoRepeatNGram`) gives way to all of them.

    Raises:
        ValueError: when the processors leave a row with no allowed id (they
            contradict each other, e.g. a key that excludes the melody's note).

    Examples:
        >>> apply([NoRepeatNGram(1)], np.zeros((1, 3)), np.array([[0, 2]]), 0).tolist()
        [[-inf, 0.0, -inf]]
    """
    out = run(chain, logits, ids, start, reserved)
    check(chain, out, ids.shape[1])
    return out


def check(chain: Sequence[LogitsProcessor], logits: np.ndarray, time: int) -> None:
    """Raise, naming the streams, when the processors left a row of `logits` nothing.

    Examples:
        >>> try:
        ...     check([NoRepeatNGram(1)], np.full((1, 3), -np.inf), 4)
        ... except ValueError as error:
        ...     print(str(error)[:65])
        the processors (NoRepeatNGram) leave no id to pick in streams [0]
    """
    dead = np.flatnonzero(~(logits > -np.inf).any(axis=1))
    if dead.size:
        names = ", ".join(type(p).__name__ for p in chain)
        raise ValueError(
            f"the processors ({names}) leave no id to pick in streams {dead.tolist()} "
            f"after {time} ids: they contradict each other"
        )


def run(
    chain: Sequence[LogitsProcessor],
    logits: np.ndarray,
    ids: np.ndarray,
    start: int,
    reserved: Sequence[int] = (),
) -> np.ndarray:
    """`apply` without its check: a row may be left with no allowed id (all ``-inf``).

    Examples:
        >>> run([NoRepeatNGram(1)], np.zeros((1, 3)), np.array([[0, 2]]), 0).tolist()
        [[-inf, 0.0, -inf]]
    """
    return Chain(chain, ids, start, reserved)(logits)

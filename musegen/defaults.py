"""The configuration `musegen train`, `musegen generate` and the library use unless told otherwise.

Every value here was chosen by measuring quality per CPU minute with
``bench/quality.py`` (held-out NLL per quarter note, and generated music against
held-out songs with the real-vs-real floor beside it); docs/quality.md holds the
tables. The library's own signatures read their defaults from here
(`musegen.training.model.build_lstm`, `musegen.training.dataset.SequenceDataset`,
`musegen.training.fitting.fit`, `musegen.generation.decoding.generate`), so a default changes in
one place. The seed's settings stay available by name: its encodings
(`musegen.tokens.encodings.encodings`, `musegen.tokens.tokenizer.seed_configurations`)
and its network
(`musegen.training.model.skuli_lstm`).

Plain values only (it imports nothing of musegen), so every stage may read it.

Examples:
    >>> TRAINING.units, GENERATION.sampler
    ((128, 128), 'top_p')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["GENERATION", "TRAINING", "GenerationDefaults", "TrainingDefaults"]


@dataclass(frozen=True)
class TrainingDefaults:
    """What `musegen train` does by default.

    Attributes:
        encoding: A name from `encodings`.
        units: LSTM sizes, first to last.
        dropout: Rate of the ``Dropout`` layers of the model's head (none: with the
            songs transposed, dropout between the LSTMs measured better).
        layer_dropout: Rate of a ``Dropout`` between stacked LSTM layers.
        shape: ``"chunks"`` (every position predicts its next token: held-out loss
            5.05 against 5.79 for the seed's windows, scaled input and rmsprop in
            the same 2 minutes, docs/training.md) or ``"windows"`` (the seed's).
        seq_len: Tokens per training chunk.
        batch_size: Chunks per batch.
        learning_rate: Adam's first learning rate, annealed (cosine) to 0 at the deadline.
        minutes: Wall-clock training budget.
        transpose: ``(lo, hi)`` semitones the training songs are also moved by, or None.
            With `views`, in 3 minutes on 2 cores: 4.43 nats per frame on the JSB
            Chorales' test split against 5.01 for the songs in their keys and
            head dropout (`bench/jsb.py`), and 10.07 against 11.07 nats per
            quarter note on the chorales' validation songs (`bench/quality.py`).
        normalize_keys: Train on every song moved to C major / A minor
            (`musegen.keys.key_shift`) instead of transposing them; `musegen
            generate` moves the music to the prime's key (or ``--key``'s). The
            default of the stop before `transpose` and `views` measured better.
        views: With `transpose`, the trained model is read in the keys this many
            semitones each way around the music's and its predictions averaged
            (`musegen.generation.views.TranspositionViews`), for the held-out NLL
            and in `musegen generate`; 0: the model alone.
        keep: ``"best"``: the weights of the lowest validation loss seen while
            training by time (`musegen train` falls back to the last ones when
            nothing can be held out); ``"last"``: the weights at the deadline. On
            the JSB Chorales a run that memorizes scored 7.80 nats per frame with
            its last weights and 5.06 with its best (on a machine four times
            faster than the one of docs/quality.md's JSB table, where 3 minutes
            are too short to memorize and both are the same).
    """

    encoding: str = "notes"
    units: tuple[int, ...] = (128, 128)
    dropout: float = 0.0
    layer_dropout: float = 0.3
    shape: Literal["windows", "chunks"] = "chunks"
    seq_len: int = 64
    batch_size: int = 32
    learning_rate: float = 5e-3
    minutes: float = 3.0
    transpose: tuple[int, int] | None = (-3, 3)
    normalize_keys: bool = False
    keep: str = "best"
    views: int = 3


@dataclass(frozen=True)
class GenerationDefaults:
    """What `musegen generate` samples with by default.

    Attributes:
        sampler: A `musegen.generation.samplers.get` name.
        options: The sampler's own arguments (e.g. ``{"k": 7}``).
        temperature: Logits are divided by it before sampling.
        key_strength: `musegen generate` leans a model read in several keys
            (``--views``) toward the prime's key with a
            `musegen.generation.processors.PitchClassHistogram` of the key's
            scale at this strength (``--key-strength``).
    """

    sampler: str = "top_p"
    options: dict[str, Any] = field(default_factory=lambda: {"p": 0.9})
    temperature: float = 1.0
    key_strength: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        """The sampler's name and arguments as plain data (kept in a bundle's metadata).

        Examples:
            >>> GenerationDefaults("top_k", {"k": 3}, 0.5).to_dict()
            {'name': 'top_k', 'temperature': 0.5, 'k': 3}
        """
        return {"name": self.sampler, "temperature": self.temperature, **self.options}


TRAINING = TrainingDefaults()
"""The training defaults (see `TrainingDefaults`)."""

GENERATION = GenerationDefaults()
"""The generation defaults (see `GenerationDefaults`)."""

"""musegen: generate music with LSTM networks, from parts you wire together.

Every public name is importable from here. The parts that need TensorFlow
(dataset, model, training, bundles, generation) are imported on first use, so
``import musegen`` stays quick for tokenizing alone.

Examples:
    >>> from musegen import Event, Piece, Tokenizer
    >>> Tokenizer.seed().encode(Piece((Event(0, 1, (60, 64, 67), 81),)))
    ['C4,E4,G4_medium_v81']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from musegen import datasets, processors, samplers
from musegen._files import library_version
from musegen.display import show
from musegen.events import Event, Piece
from musegen.midi_io import (
    Corpus,
    LoadFailure,
    MidiReadError,
    load_corpus,
    piece_from_stream,
    piece_to_stream,
    read_midi,
    read_tracks,
    score_from_stream,
    write_midi,
)
from musegen.note_tokenizer import NoteTokenizer
from musegen.processors import (
    GrammarConstraint,
    KeyConstraint,
    MelodyConstraint,
    NoRepeatNGram,
    PitchRange,
    RepetitionPenalty,
)
from musegen.samplers import (
    ArgmaxSampler,
    BaseSampler,
    CategoricalSampler,
    Sampler,
    TopKSampler,
    TopPSampler,
)
from musegen.token_table import TokenTable
from musegen.tokenizer import (
    DurationBuckets,
    Tokenizer,
    TokenizerProtocol,
    VelocityBuckets,
    seed_configurations,
)
from musegen.track_tokenizer import TrackTokenizer
from musegen.tracks import Score, Track
from musegen.vocabulary import UnknownTokenError, Vocabulary

if TYPE_CHECKING:
    from musegen.beam import beam_search
    from musegen.bundle import Bundle, BundleError, load_bundle, save_bundle
    from musegen.dataset import SequenceDataset
    from musegen.generation import generate, prime_ids
    from musegen.likelihood import nll_per_quarter, token_nll
    from musegen.model import build_lstm, scale_ids, skuli_lstm
    from musegen.shards import ShardedDataset, write_shards
    from musegen.time_budget import TimeBudget
    from musegen.training import distribution_strategy, fit, training_callbacks

__version__ = library_version()

_LAZY = {
    "Bundle": "musegen.bundle",
    "BundleError": "musegen.bundle",
    "load_bundle": "musegen.bundle",
    "save_bundle": "musegen.bundle",
    "SequenceDataset": "musegen.dataset",
    "ShardedDataset": "musegen.shards",
    "write_shards": "musegen.shards",
    "TimeBudget": "musegen.time_budget",
    "distribution_strategy": "musegen.training",
    "generate": "musegen.generation",
    "beam_search": "musegen.beam",
    "nll_per_quarter": "musegen.likelihood",
    "token_nll": "musegen.likelihood",
    "prime_ids": "musegen.generation",
    "build_lstm": "musegen.model",
    "scale_ids": "musegen.model",
    "skuli_lstm": "musegen.model",
    "fit": "musegen.training",
    "training_callbacks": "musegen.training",
}


def __getattr__(name: str) -> Any:
    """Import the TensorFlow-backed names on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'musegen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "score_from_stream",
    "read_tracks",
    "TrackTokenizer",
    "Track",
    "Score",
    "show",
    "piece_from_stream",
    "piece_to_stream",
    "datasets",
    "processors",
    "beam_search",
    "TokenTable",
    "RepetitionPenalty",
    "PitchRange",
    "NoRepeatNGram",
    "MelodyConstraint",
    "KeyConstraint",
    "GrammarConstraint",
    "ArgmaxSampler",
    "BaseSampler",
    "Bundle",
    "BundleError",
    "CategoricalSampler",
    "Corpus",
    "DurationBuckets",
    "Event",
    "LoadFailure",
    "MidiReadError",
    "NoteTokenizer",
    "Piece",
    "Sampler",
    "SequenceDataset",
    "ShardedDataset",
    "TimeBudget",
    "Tokenizer",
    "TokenizerProtocol",
    "TopKSampler",
    "TopPSampler",
    "UnknownTokenError",
    "VelocityBuckets",
    "Vocabulary",
    "__version__",
    "build_lstm",
    "distribution_strategy",
    "fit",
    "generate",
    "load_bundle",
    "load_corpus",
    "nll_per_quarter",
    "prime_ids",
    "read_midi",
    "samplers",
    "save_bundle",
    "scale_ids",
    "seed_configurations",
    "skuli_lstm",
    "token_nll",
    "training_callbacks",
    "write_midi",
    "write_shards",
]

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

from musegen import datasets
from musegen._files import library_version
from musegen.evaluation.display import show
from musegen.events import Event, Piece
from musegen.generation import processors, samplers
from musegen.generation.processors import (
    ChordProgression,
    GrammarConstraint,
    KeyConstraint,
    MelodyConstraint,
    NoRepeatNGram,
    NoteDensity,
    PitchClassHistogram,
    PitchRange,
    RepetitionPenalty,
)
from musegen.generation.samplers import (
    ArgmaxSampler,
    BaseSampler,
    CategoricalSampler,
    Sampler,
    TopKSampler,
    TopPSampler,
)
from musegen.generation.views import TranspositionViews
from musegen.io.corpus import Corpus, LoadFailure, load_corpus
from musegen.io.reading import (
    MidiReadError,
    piece_from_stream,
    read_midi,
    read_tracks,
    score_from_stream,
)
from musegen.io.tracks import Score, Track
from musegen.io.writing import piece_to_stream, write_midi
from musegen.tokens.frame_tokenizer import FrameTokenizer
from musegen.tokens.note_tokenizer import NoteTokenizer
from musegen.tokens.token_table import TokenTable
from musegen.tokens.tokenizer import (
    DurationBuckets,
    Tokenizer,
    TokenizerProtocol,
    VelocityBuckets,
    seed_configurations,
)
from musegen.tokens.track_tokenizer import TrackTokenizer
from musegen.tokens.transposition import transposed_vocabulary
from musegen.tokens.vocabulary import UnknownTokenError, Vocabulary

if TYPE_CHECKING:
    from musegen.evaluation.likelihood import nll_per_quarter, token_nll
    from musegen.generation.beam import beam_search
    from musegen.generation.decoding import generate, prime_ids
    from musegen.generation.infill import Infill, infill
    from musegen.training.bundle import (
        Bundle,
        BundleError,
        bundle_path,
        load_bundle,
        save_bundle,
        shipped_bundles,
    )
    from musegen.training.dataset import SequenceDataset
    from musegen.training.fitting import distribution_strategy, fit, training_callbacks
    from musegen.training.model import build_lstm, scale_ids, skuli_lstm
    from musegen.training.shards import ShardedDataset, write_shards
    from musegen.training.time_budget import TimeBudget

__version__ = library_version()

_LAZY = {
    "Bundle": "musegen.training.bundle",
    "BundleError": "musegen.training.bundle",
    "load_bundle": "musegen.training.bundle",
    "save_bundle": "musegen.training.bundle",
    "bundle_path": "musegen.training.bundle",
    "shipped_bundles": "musegen.training.bundle",
    "SequenceDataset": "musegen.training.dataset",
    "ShardedDataset": "musegen.training.shards",
    "write_shards": "musegen.training.shards",
    "TimeBudget": "musegen.training.time_budget",
    "distribution_strategy": "musegen.training.fitting",
    "generate": "musegen.generation.decoding",
    "beam_search": "musegen.generation.beam",
    "infill": "musegen.generation.infill",
    "Infill": "musegen.generation.infill",
    "nll_per_quarter": "musegen.evaluation.likelihood",
    "token_nll": "musegen.evaluation.likelihood",
    "prime_ids": "musegen.generation.decoding",
    "build_lstm": "musegen.training.model",
    "scale_ids": "musegen.training.model",
    "skuli_lstm": "musegen.training.model",
    "fit": "musegen.training.fitting",
    "training_callbacks": "musegen.training.fitting",
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
    "transposed_vocabulary",
    "TranspositionViews",
    "Track",
    "Score",
    "show",
    "piece_from_stream",
    "piece_to_stream",
    "datasets",
    "processors",
    "beam_search",
    "infill",
    "Infill",
    "TokenTable",
    "RepetitionPenalty",
    "PitchRange",
    "NoRepeatNGram",
    "NoteDensity",
    "MelodyConstraint",
    "KeyConstraint",
    "GrammarConstraint",
    "ChordProgression",
    "PitchClassHistogram",
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
    "FrameTokenizer",
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
    "bundle_path",
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
    "shipped_bundles",
    "skuli_lstm",
    "token_nll",
    "training_callbacks",
    "write_midi",
    "write_shards",
]
